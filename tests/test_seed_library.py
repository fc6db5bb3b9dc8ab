"""SEED's library steps that the CLIs run: evaluation of trial lists (seed/evaluate.py, through
bin/seed_evaluate) and the augmented copies of one job (seed/copies.py, through bin/extract)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from lhotse import Recording, SupervisionSegment

from embspace.bin import seed_evaluate
from embspace.embio import read_embeddings
from embspace.seed.copies import job_copies
from embspace.seed.evaluate import index_scores
from tests.test_seed import tables, trained  # noqa: F401  (module fixtures)


@pytest.fixture(scope="module")
def eval_inputs(tables, tmp_path_factory):  # noqa: F811
    root = tmp_path_factory.mktemp("seedeval")
    keys, emb = read_embeddings(tables["clean"])
    (tables["clean"].parent / "mean.vec").write_text(" ".join(map(str, emb.mean(axis=0))) + "\n")
    spk = dict(line.split() for line in tables["utt2spk"].read_text().splitlines())
    lines = [f"{a} {b} {'target' if spk[a] == spk[b] else 'nontarget'}\n"
             for i, a in enumerate(keys) for b in keys[i + 1:i + 6]]
    (root / "trials").write_text("".join(lines))
    return root, keys, emb


def test_seed_evaluate_writes_scores_metrics_sweep_and_rows(trained, tables, eval_inputs, capsys):  # noqa: F811
    root, keys, emb = eval_inputs
    rc = seed_evaluate.main([str(a) for a in (
        "--model", trained / "seed_model.pt", "--extractor", tables["extractor"], "--train-dir", tables["clean"].parent,
        "--test-scp", tables["clean"], "--trials", f"t={root / 'trials'}", "--eval-seeds", "1,2", "--sweep", "5,10",
        "--out-dir", root / "scores", "--baseline-out-dir", root / "base", "--results", root / "results.json",
        "--system", "seed", "--baseline", "base", "--baseline-rows", "t")])
    assert rc == 0
    m = json.loads((root / "scores" / "t.metrics.json").read_text())
    assert m["eval_seeds"] == [1, 2] and len(m["runs"]) == 2
    assert m["eer"] == pytest.approx(np.mean([r["eer"] for r in m["runs"]]))
    sweep = json.loads((root / "scores" / "sweep.json").read_text())
    assert list(sweep["sweep"]) == ["5", "10"] and sweep["settings"]["eval_seeds"] == [1, 2]
    assert (root / "scores" / "sweep.md").read_text().startswith("| t* | t EER (%) |")
    # the baseline: cosine after subtracting the training mean, as index_scores computes it
    lines = (root / "base" / "t.score").read_text().split("\n")[:3]
    idx = {k: i for i, k in enumerate(keys)}
    mean = emb.mean(axis=0)
    for line in lines:
        a, b, score, _ = line.split()
        expect = index_scores(emb, mean, np.array([idx[a]]), np.array([idx[b]]))[0]
        assert float(score) == pytest.approx(float(expect), abs=1e-4)
    rows = json.loads((root / "results.json").read_text())
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert {r["system"] for r in rows} == {"seed", "base"}
    assert "seed_evaluate: t: EER" in capsys.readouterr().err


def test_seed_evaluate_rejects_a_bad_trials_option(trained, tables, eval_inputs, capsys):  # noqa: F811
    root, _, _ = eval_inputs
    with pytest.raises(SystemExit) as e:
        seed_evaluate.main([str(a) for a in (
            "--model", trained / "seed_model.pt", "--train-dir", tables["clean"].parent, "--test-scp", tables["clean"],
            "--trials", root / "trials", "--out-dir", root / "x", "--baseline-out-dir", root / "y")])
    assert e.value.code == 2 and "--trials expects NAME=FILE" in capsys.readouterr().err
    assert not (root / "x").exists()


def _cuts(tmp_path, num_spk: int = 6, utts: int = 3):
    import soundfile as sf

    rng = np.random.default_rng(0)
    cuts = []
    for s in range(num_spk):
        for u in range(utts):
            key = f"s{s}-u{u}"
            sf.write(tmp_path / f"{key}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 16000)
            cut = Recording.from_file(tmp_path / f"{key}.wav", recording_id=key).to_cut()
            cut.supervisions = [SupervisionSegment(key, key, 0, cut.duration, speaker=f"s{s}")]
            cuts.append(cut)
    return cuts


def test_copies_of_a_job_do_not_depend_on_the_number_of_jobs(tmp_path):
    cfg = tmp_path / "seed.yaml"
    cfg.write_text(yaml.safe_dump({"seed": 3, "data": {"dev_speakers": 2, "aug_utts_per_speaker": 2,
                                                       "dev_utts_per_speaker": 2},
                                   "augment": {"num_noises": 2, "num_music": 2, "num_rirs": 2}}))
    cuts = _cuts(tmp_path)
    whole = list(job_copies(cuts, str(cfg), 1, 1))
    parts = [job_copies(cuts, str(cfg), j, 2) for j in (1, 2)]
    assert sum(len(p) for p in parts) == len(whole) > 0
    split = [c for p in parts for c in p]
    assert [c.id for c in split] == [c.id for c in whole]
    assert all(c.id.count("@") == 2 for c in whole)
    np.testing.assert_array_equal(split[-1].load_audio(), whole[-1].load_audio())
