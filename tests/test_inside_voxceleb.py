"""egs/voxceleb/v1 INSIDE stages (10-12) with the command backend, on the miniature VoxCeleb tree of
test_voxceleb_recipe: a failing TTS command stops the stage with a clear error; the example TTS
(writing 22.05 kHz, resampled explicitly) then gives synthetic speakers, a trained system and rows."""

from __future__ import annotations

import json

import pytest
import soundfile as sf

from embspace.data.tables import read_table
from tests.test_voxceleb_recipe import make_corpora, run_recipe

pytestmark = pytest.mark.slow

TINY = """seed: 1
model: {type: xvector, feat_dim: 80, embed_dim: 16, channels: 16, hidden: 32}
loss: {type: aam, margin: 0.1, scale: 16}
optimizer: {type: adam}
lr_schedule: {initial_lr: 0.005, final_lr: 0.001, warmup_epochs: 0}
data: {num_frames: 40, spk_per_batch: 2, utts_per_spk: 2}
epochs: 1
"""


def test_voxceleb_inside_command_backend(tmp_path):
    c = make_corpora(tmp_path / "corpora")
    (tmp_path / "tiny.yaml").write_text(TINY)
    common = ["--voxceleb1-root", str(c["vox1"]), "--voxceleb2-root", str(c["vox2"]), "--vox2-ext", "wav",
              "--trials-dir", str(c["lists"]), "--data", str(tmp_path / "data"), "--exp", str(tmp_path / "exp"),
              "--nj", "1", "--train-config", str(tmp_path / "tiny.yaml"), "--num-avg", "1", "--top-n", "2",
              # the miniature training set has two male speakers and one female: pair the males
              "--inside-groups", "m", "--inside-factor", "0.5", "--inside-utts", "2"]
    proc = run_recipe("--stage", "1", "--stop-stage", "10", *common, "--inside-tts-command", "false")
    assert proc.returncode != 0
    assert "1 identity failed (0 saved" in proc.stderr and "wrote nothing" in proc.stderr
    proc = run_recipe("--stage", "10", "--stop-stage", "12", *common, "--inside-resample", "true",
                      "--inside-tts-command", "steps/inside/tts_espeak.py --rate 22050")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    idir = tmp_path / "exp" / "tiny_inside"
    idents = [json.loads(x) for x in (idir / "data" / "identities" / "identities.jsonl").read_text().splitlines()]
    assert len(idents) == 1 and {idents[0]["parent_a"], idents[0]["parent_b"]} == {"id00012", "id00016"}
    kaldi = tmp_path / "data" / "inside_tiny"
    assert read_table(kaldi / "spk2gender") == {"inside_m_000001": "m"}
    for path in read_table(kaldi / "wav.scp").values():
        assert sf.info(path).samplerate == 16000
    rows = {(r["system"], r["trials"]): r for r in json.loads((tmp_path / "exp" / "results.json").read_text())["rows"]}
    for t in ("vox1_O", "vox1_E", "vox1_H"):
        assert rows[("tiny_inside", t)]["baseline"] == "tiny" and rows[("tiny_inside", t)]["method"] == "inside"
        assert rows[("tiny_inside_asnorm", t)]["baseline"] == "tiny_asnorm"
    assert rows[("tiny_inside", "vox1_O")]["identities"] == 1
