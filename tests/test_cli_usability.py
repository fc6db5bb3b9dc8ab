"""What a newcomer hit: config checks before torchrun, train.log per run, AS-norm cohort
in the results, DET plots of every system by name, help texts, and a clean way to start a recipe."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import pkgutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

import embspace.bin
from embspace.embio import write_embeddings
from tests.conftest import REPO, make_tiny_corpus
from tests.test_training import TINY_CONFIG

ENV = dict(os.environ, PYTHONPATH=str(REPO), PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1")


def _config(tmp_path: Path, name: str = "c.yaml", **changes) -> Path:
    cfg = json.loads(json.dumps(TINY_CONFIG))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = cfg
        for p in parents:
            node = node[p]
        node[leaf] = value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.parametrize("change, expected", [
    (None, "config not found"),
    ({"data__spk_per_batch": 32}, "data.spk_per_batch = 32 but the training cuts have 5 speakers"),
    ({"data__utts_per_spk": 40}, "asks for 160 utterances per batch but the training cuts have 30"),
    ({"model__type": "transformer"}, "model: unknown model type 'transformer'"),
    ({"loss__type": "arcface2"}, "loss: unknown loss type 'arcface2'"),
    ({"model__feat_dim": 80}, "model.feat_dim = 80 but the features of the training cuts have 40 dimensions"),
    ({"optimizer__type": "lion"}, "optimizer: unknown optimizer 'lion'"),
])
def test_check_train_config_one_clear_line(tiny_data, tmp_path, capsys, change, expected):
    from embspace.bin.check_train_config import main

    cfg = tmp_path / "missing.yaml" if change is None else _config(tmp_path, **change)
    with pytest.raises(SystemExit) as e:
        main(["--config", str(cfg), "--cuts", str(tiny_data["train_cuts"])])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.count("\n") == 1 and err.startswith("check_train_config: error: ")
    assert expected in err and str(cfg) in err


def test_check_train_config_accepts_a_good_config(tiny_data, tmp_path, capsys):
    from embspace.bin.check_train_config import main

    assert main(["--config", str(_config(tmp_path)), "--cuts", str(tiny_data["train_cuts"])]) == 0
    assert "5 speakers, 30 utterances" in capsys.readouterr().err


def test_train_sh_checks_before_torchrun_and_logs_each_run(tiny_data, tmp_path):
    exp = tmp_path / "exp" / "bad"
    bad = _config(tmp_path, "bad.yaml", data__spk_per_batch=32)
    proc = subprocess.run(["bash", str(REPO / "steps/train.sh"), str(bad), str(tiny_data["train_cuts"]), str(exp)],
                          capture_output=True, text=True, env=ENV)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr + proc.stdout
    assert proc.stderr.strip().splitlines()[-1].startswith("check_train_config: error:")
    assert not exp.exists() and not exp.parent.exists()
    # a run that fails inside torchrun (a damaged checkpoint) is logged between its own header and footer
    exp = tmp_path / "exp" / "good"
    (exp / "models").mkdir(parents=True)
    (exp / "models" / "checkpoint_latest.pt").write_bytes(b"not a checkpoint")
    (exp / "train.log").write_text("Traceback (most recent call last): an earlier run\n")
    good = _config(tmp_path, "good.yaml")
    proc = subprocess.run(["bash", str(REPO / "steps/train.sh"), "--num-avg", "1", str(good), str(tiny_data["train_cuts"]),
                           str(exp)], capture_output=True, text=True, env=ENV)
    assert proc.returncode != 0 and "training failed" in proc.stderr
    log = (exp / "train.log").read_text().replace(str(REPO) + "/", "")
    header = f"# steps/train.sh --num-avg 1 {good} {tiny_data['train_cuts']} {exp}\n# Running on "
    assert log.startswith("Traceback (most recent call last): an earlier run\n" + header)
    assert "checkpoint" in log and log.rstrip().splitlines()[-1].startswith("# Ended (code 1) at ")


def _embeddings(d: Path, keys: list[str], rng: np.random.Generator) -> None:
    write_embeddings(d / "xvector.ark", d / "xvector.scp", ((k, rng.standard_normal(8)) for k in keys))


def test_asnorm_cohort_smaller_than_top_n_is_warned_and_reported(tmp_path):
    rng = np.random.default_rng(0)
    test_keys = [f"s{s}-{u}" for s in range(4) for u in range(3)]
    _embeddings(tmp_path / "test", test_keys, rng)
    cohort = tmp_path / "train"
    write_embeddings(cohort / "spk_xvector.ark", cohort / "spk_xvector.scp", ((f"c{i}", rng.standard_normal(8)) for i in range(5)))
    (cohort / "mean.vec").write_text(" [ " + " ".join(["0.01"] * 8) + " ]\n")
    trials = tmp_path / "trials"
    trials.write_text("".join(f"{a} {b} {'target' if a[:2] == b[:2] else 'nontarget'}\n"
                              for i, a in enumerate(test_keys) for b in test_keys[i + 1:]))
    out = tmp_path / "exp" / "sysA" / "scores_asnorm" / "t"
    proc = subprocess.run(["bash", str(REPO / "steps/score.sh"), "--norm", "asnorm", "--top-n", "100", str(trials),
                           str(tmp_path / "test"), str(cohort), str(out)], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert "warning: --top-n 100 exceeds the AS-norm cohort of 5" in proc.stderr
    metrics = json.loads(Path(f"{out}.metrics.json").read_text())
    assert (metrics["cohort_size"], metrics["top_n"]) == (5, 5)
    from embspace.bin.report import main as report

    res = tmp_path / "exp" / "results.json"
    report(["--results", str(res), "--system", "sysA_asnorm", "--method", "baseline", "--trials", "t", "--metrics",
            f"{out}.metrics.json", "--score-file", f"{out}.score"])
    row = json.loads(res.read_text())["rows"][0]
    assert (row["cohort_size"], row["top_n"]) == (5, 5)


def test_det_plot_of_every_system_in_the_results(tmp_path, monkeypatch):
    from embspace.bin import report as report_cli

    rng = np.random.default_rng(1)
    res = tmp_path / "exp" / "results.json"
    for system in ("ecapa_mini", "ecapa_mini_asnorm", "resnet_mini", "ge2e"):
        for trials in ("mini_test", "mini_test_same_gender"):
            score = tmp_path / "exp" / system / f"{trials}.score"
            score.parent.mkdir(parents=True, exist_ok=True)
            y = rng.random(200) < 0.3
            score.write_text("".join(f"e{i} t{i} {s:.4f} {'target' if t else 'nontarget'}\n"
                                     for i, (s, t) in enumerate(zip(rng.standard_normal(200) + 2 * y, y))))
            metrics = tmp_path / "m.json"
            metrics.write_text(json.dumps({"eer": 10.0, "mindcf_0.01": 0.5, "mindcf_0.05": 0.3}))
            report_cli.main(["--results", str(res), "--system", system, "--method", "baseline", "--trials", trials,
                             "--metrics", str(metrics), "--score-file", str(score.relative_to(tmp_path))])
    drawn = {}
    monkeypatch.setattr("embspace.scoring.det.plot_det", lambda curves, png, title=None: drawn.update(curves=curves, png=png))
    monkeypatch.chdir(tmp_path)  # score files are relative to the recipe dir
    report_cli.main(["--det-png", "exp/det_mini_test.png", "--from-results", "exp/results.json", "--trials", "mini_test"])
    assert sorted(drawn["curves"]) == ["ecapa_mini", "ecapa_mini_asnorm", "ge2e", "resnet_mini"]
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)
    report_cli.main(["--det-png", "exp/det_mini_test.png", "--from-results", "exp/results.json", "--trials", "mini_test"])
    assert (tmp_path / "exp" / "det_mini_test.png").stat().st_size > 10_000
    with pytest.raises(SystemExit):
        report_cli.main(["--det-png", "x.png", "--from-results", "exp/results.json", "--trials", "nosuch"])
    report_cli.main(["--det-dir", "plots", "--from-results", "exp/results.json"])  # every list at once
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["det_mini_test.png", "det_mini_test_same_gender.png"]


def test_compute_metrics_labels_the_curve_with_the_system(tmp_path, monkeypatch):
    from embspace.bin import compute_metrics

    score = tmp_path / "t.score"
    score.write_text("a b 0.9 target\na c 0.1 nontarget\nb c 0.3 nontarget\na d 0.8 target\n")
    drawn = {}
    monkeypatch.setattr("embspace.scoring.det.plot_det", lambda curves, png, title=None: drawn.update(curves=curves, title=title))
    compute_metrics.main(["--scores", str(score), "--det-png", str(tmp_path / "d.png"), "--name", "ecapa_mini_asnorm"])
    assert list(drawn["curves"]) == ["ecapa_mini_asnorm"]


def _bin_modules() -> list[str]:
    names = [m.name for m in pkgutil.iter_modules(embspace.bin.__path__) if not m.name.startswith("_")]
    return sorted(set(names) - {"run_stage"})  # run_stage belongs to the stage machinery


def _check_help(main, example: str, monkeypatch) -> None:
    """The parser ``main`` builds: every option has a help text, and the help shows ``example``."""
    parsers = []

    def capture(self, args=None, namespace=None):
        parsers.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        main(["--help"])
    undocumented = [a.option_strings or a.dest for a in parsers[0]._actions if not a.help and a.dest != "help"]
    assert not undocumented, f"options without help: {undocumented}"
    assert example in parsers[0].format_help(), "--help shows no example"


@pytest.mark.parametrize("name", _bin_modules())
def test_every_cli_option_has_help_and_the_help_an_example(name, monkeypatch):
    _check_help(importlib.import_module(f"embspace.bin.{name}").main, f"python -m embspace.bin.{name} ", monkeypatch)


# utils/ and steps/ scripts (their examples name them from the repository or a recipe folder, the same
# path through the links), and the recipes' own local/ scripts (named from their recipe folder)
SCRIPTS = sorted(str(p.relative_to(REPO)) for pattern in ("utils/*.py", "steps/**/*.py", "egs/*/v1/local/*.py")
                 for p in REPO.glob(pattern) if "ArgumentParser" in p.read_text())


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_option_has_help_and_the_help_an_example(script, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "utils"))  # utils scripts import their _bootstrap
    spec = importlib.util.spec_from_file_location(f"script_{Path(script).stem}", REPO / script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    _check_help(mod.main, f"{script.split('/v1/', 1)[-1]} ", monkeypatch)


def test_new_recipe_then_readme_example(tmp_path):
    """README 'Bring your own corpus': a recipe from egs/TEMPLATE/v1, local/prepare_data.sh on a
    <speaker>/<utt>.wav folder, stage 1; a plain ./run.sh never makes a corpus of its own."""
    dst = tmp_path / "egs" / "mycorpus" / "v1"
    proc = subprocess.run(["bash", str(REPO / "utils/new_recipe.sh"), str(dst)], capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in dst.iterdir()}
    assert {"run.sh", "cmd.sh", "path.sh", "conf", "local", "steps", "utils", "README.md"} <= names
    assert not names & {"data", "exp"} and (dst / "local" / "prepare_data.sh").is_file()
    for link in ("steps", "utils"):
        assert (dst / link).is_symlink() and (dst / link).resolve() == (REPO / link).resolve()
    again = subprocess.run(["bash", str(REPO / "utils/new_recipe.sh"), str(dst)], capture_output=True, text=True, env=ENV)
    assert again.returncode == 1 and "exists" in again.stderr
    # nothing given: an error naming what to give, and no corpus made
    proc = subprocess.run(["./run.sh"], cwd=dst, capture_output=True, text=True, env=ENV)
    assert proc.returncode == 1 and "--corpus-dir" in proc.stderr and not (dst / "data" / "corpus").exists()
    # a folder of <speaker>/<utt>.wav (no split, no gender), then stage 1 as written
    make_tiny_corpus(tmp_path / "corpus", num_speakers=6, utts=2)
    proc = subprocess.run(["./run.sh", "--corpus-dir", str(tmp_path / "corpus" / "wav"), "--stage", "1", "--stop-stage", "1"],
                          cwd=dst, capture_output=True, text=True, env=ENV)
    assert proc.returncode == 0, proc.stderr
    meta = [json.loads(x) for x in (dst / "data" / "corpus" / "metadata.jsonl").read_text().splitlines()]
    assert len(meta) == 12 and meta[0]["utt"].startswith(meta[0]["speaker"] + "-")
    assert (dst / "data" / "manifests" / "mycorpus_supervisions_test.jsonl.gz").is_file()
    assert (dst / "data" / "test" / "utt2spk").is_file() and not (dst / "data" / "test" / "spk2gender").exists()
