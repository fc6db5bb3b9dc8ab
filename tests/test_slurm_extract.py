"""steps/extract_embeddings.sh through Slurm (utils/slurm.py) and locally (utils/run.py) gives the same
vectors. Needs a Slurm controller (.ci/start_slurm.sh); skipped without one."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from embspace.embio import read_embeddings
from tests.conftest import REPO
from tests.test_training import TINY_CONFIG, _train

pytestmark = pytest.mark.slurm  # skipped without a controller; an error in CI (tests/conftest.py)


@pytest.fixture(scope="module")
def tiny_model(tiny_data, tmp_path_factory) -> Path:
    """An x-vector trained for one epoch on the tiny corpus."""
    exp = tmp_path_factory.mktemp("slurm_extract") / "exp"
    proc = _train(dict(TINY_CONFIG, epochs=1, save_every_steps=0, log_every=0), tiny_data["train_cuts"], exp)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    return exp / "models" / "model_1.pt"


def _extract(recipe: Path, cmd: str, model: Path, tiny_data: dict, out_dir: Path) -> None:
    """Run the step from a recipe-like folder (steps/ and utils/ linked), as egs/*/*/run.sh does.

    The package is found through PYTHONPATH only (the folder is not the repository root), so a Slurm
    task must receive it from the launcher.
    """
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", EMBSPACE_LOG_WAIT="30")
    r = subprocess.run(["bash", "steps/extract_embeddings.sh", "--cmd", cmd, "--nj", "2", str(model),
                        str(tiny_data["test_cuts"]), str(tiny_data["data"] / "test"), str(out_dir)],
                       cwd=recipe, env=env, capture_output=True, text=True, timeout=300)
    logs = "".join(p.read_text() for p in sorted((out_dir / "log").glob("extract.*.log")))
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}\n{logs}"


def test_slurm_and_local_extraction_agree(tiny_model, tiny_data, tmp_path):
    recipe = tmp_path / "recipe"
    recipe.mkdir()
    for name in ("steps", "utils"):
        (recipe / name).symlink_to(REPO / name)
    _extract(recipe, "utils/slurm.py", tiny_model, tiny_data, tmp_path / "slurm")
    _extract(recipe, "utils/run.py", tiny_model, tiny_data, tmp_path / "local")

    for job in (1, 2):  # the Slurm tasks really ran under Slurm
        head = (tmp_path / "slurm" / "log" / f"extract.{job}.log").read_text()
        assert re.search(r"^# Running on \S+, job \d+$", head, re.M), head
        assert "# Ended (code 0)" in head
    keys_s, emb_s = read_embeddings(tmp_path / "slurm" / "xvector.scp")
    keys_l, emb_l = read_embeddings(tmp_path / "local" / "xvector.scp")
    assert len(keys_s) == 18 and emb_s.shape == (18, 16)
    assert keys_s == keys_l
    assert np.array_equal(emb_s, emb_l)
    spk_s, spk_emb_s = read_embeddings(tmp_path / "slurm" / "spk_xvector.scp")
    spk_l, spk_emb_l = read_embeddings(tmp_path / "local" / "spk_xvector.scp")
    assert spk_s == spk_l and np.array_equal(spk_emb_s, spk_emb_l)


def test_tasks_receive_pythonpath_but_not_the_whole_environment(tmp_path):
    """The built-in config exports PATH and PYTHONPATH (a source checkout), not everything."""
    env = dict(os.environ, PYTHONPATH=f"{REPO}:/some/where", EMBSPACE_PROBE="leaked", EMBSPACE_LOG_WAIT="30")
    r = subprocess.run([str(REPO / "utils" / "slurm.py"), "JOB=1:1", "log/env.JOB.log", "bash", "-c",
                        'echo "pp=$PYTHONPATH probe=${EMBSPACE_PROBE:-none}"; python -c "import embspace"'],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    text = (tmp_path / "log" / "env.1.log").read_text()
    assert r.returncode == 0, r.stderr + text
    assert f"pp={REPO}:/some/where probe=none" in text
