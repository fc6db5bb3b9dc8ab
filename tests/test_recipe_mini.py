"""End to end: egs/mini/v1/run.sh with a tiny configuration, a no-op rerun, a changed option,
and a SIGKILL in the middle of training followed by a rerun that reproduces the clean run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch

from embspace.embio import read_embeddings
from tests.conftest import REPO

RECIPE = REPO / "egs" / "mini" / "v1"
SMALL = ["--num-speakers", "16", "--num-test-speakers", "6", "--utts-per-speaker", "6", "--num-avg", "2",
         "--top-n", "8",
         # INSIDE: a conditioning network from 16 voices, 2 utterances per identity, no ablations
         "--inside-num-voices", "16", "--inside-voice-utts", "1", "--inside-utts", "2", "--inside-ablations", "false",
         "--inside-gender-speakers", "2",
         "--nessa-encoders", "conf/tiny_old.yaml", "--nessa-dev-speakers", "2",
         "--nessa-utts-per-profile", "2", "--nessa-profiles-per-speaker", "1",
         # SEED (stages 20-25): a small mismatch corpus and model
         "--seed-config", "conf/seed_tiny.yaml", "--seed-degraded-per-speaker", "3",
         "--seed-conversations-per-speaker", "1", "--seed-segments-per-speaker", "2",
         "--seed-paper-config", "conf/seed_paper_tiny.yaml",
         # block 40-49 (emotion): one utterance per emotion, 2 dev speakers, a tiny fine-tuning, the cumulative rows
         "--emotion-utts", "1", "--emotion-dev-speakers", "2", "--emotion-ft-config", "conf/emotion_tiny.yaml",
         "--emotion-rows", "base,cp,cp_erl,all"]
BACKBONE_LISTS = ("mini_test", "mini_test_same_gender")
SEEDS = ("--seeds", "1,2", "--seeds-blocks", "inside")  # the clean run: encoder and INSIDE system under two seeds too

pytestmark = pytest.mark.slow


def _config(root: Path) -> Path:
    """Each run's own copy of conf/tiny.yaml (system name 'tiny'), so a test may change its content."""
    path = root / "conf" / "tiny.yaml"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((RECIPE / "conf" / "tiny.yaml").read_text())
    return path


def _start(root: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen(["bash", str(RECIPE / "run.sh"), "--data", str(root / "data"), "--exp-root", str(root / "exp"),
                             "--train-config", str(_config(root)), *SMALL, *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)


def _run(root: Path, *extra: str) -> str:
    proc = _start(root, *extra)
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-5000:]
    return out


def _eer_of_score_file(path: Path) -> tuple[float, float]:
    """EER (%) of a scored trial list, computed here without the package: the threshold where the
    larger of the miss and false-alarm rates is smallest; and its tolerance (one trial of each kind)."""
    cols = [line.split() for line in Path(path).read_text().splitlines()]
    scores = np.array([float(c[2]) for c in cols])
    target = np.array([c[3] == "target" for c in cols])
    thresholds = np.unique(scores)  # accept a trial when its score >= t
    miss = np.searchsorted(np.sort(scores[target]), thresholds, side="left") / target.sum()
    fa = 1 - np.searchsorted(np.sort(scores[~target]), thresholds, side="left") / (~target).sum()
    best = 100 * float(np.min(np.maximum(miss, fa)))
    return best, 100 * (1 / target.sum() + 1 / (~target).sum())


@contextlib.contextmanager
def _restored_afterwards(root: Path) -> Iterator[None]:
    """Whatever a test changes in the shared run's exp/ and config, the other tests see the clean run:
    both are copied first and put back afterwards (stage markers included, so nothing reruns)."""
    exp, cfg = root / "exp", _config(root)
    keep, config_text = root / "exp.kept", cfg.read_text()
    shutil.copytree(exp, keep, symlinks=True)
    try:
        yield
    finally:
        cfg.write_text(config_text)
        shutil.rmtree(exp)
        keep.rename(exp)


def _rows(root: Path) -> dict[tuple[str, str], dict]:
    rows = json.loads((root / "exp" / "results.json").read_text())["rows"]
    return {(r["system"], r["trials"]): r for r in rows}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory) -> tuple[Path, str]:
    root = tmp_path_factory.mktemp("clean")
    return root, _run(root, *SEEDS)


def test_full_run_writes_report(clean_run):
    root, out = clean_run
    rows = {(s, t): r for (s, t), r in _rows(root).items()  # the backbone's systems (NESSA adds tiny_old, profiles; SEED adds *_seed)
            if r["method"] == "baseline" and s != "tiny_old" and t in BACKBONE_LISTS and "task" not in r
            and "seeds" not in r}
    assert {s for s, _ in rows} == {"tiny", "tiny_asnorm", "ge2e", "ge2e_asnorm"}
    for row in rows.values():
        eer, tol = _eer_of_score_file(Path(row["score_file"]))
        assert row["eer"] == pytest.approx(eer, abs=tol)
    assert (root / "exp" / "results.md").read_text().count("| tiny") >= 2
    assert (root / "exp" / "det_mini_test.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the pretrained GE2E encoder separates these synthetic voices far better than chance
    assert rows[("ge2e", "mini_test")]["eer"] < 30


def test_inside_block(clean_run):
    """Stages 10-15 with tiny settings: fidelity figures, identities, filtered data, rows, map."""
    root, out = clean_run
    exp = root / "exp"
    fid = json.loads((exp / "tiny" / "inside" / "fidelity.json").read_text())
    assert {"target_cos", "nearest_other_cos", "between_parents_fraction", "self_cos", "real_self_cos"} <= set(fid)
    assert fid["num_targets"] == 6 and fid["space"] == "ge2e-256"
    data = exp / "tiny" / "inside" / "data" / "nn_x1"
    idents = [json.loads(x) for x in (data / "identities" / "identities.jsonl").read_text().splitlines()]
    assert len(idents) == 10 and all(i["id"].startswith(f"inside_{i['gender']}_") for i in idents)
    assert {"parent_a", "parent_b", "theta_deg", "alpha", "mode", "group", "seed"} <= set(idents[0])
    report = json.loads((data / "data_report.json").read_text())
    assert set(report["removed"]) == {"duration", "self_sim", "too_few_utts", "privacy"}
    assert report["combined"]["real_utterances"] == 60 and report["combined"]["synthetic_speakers"] >= 1
    assert "filters removed" in out
    kaldi = root / "data" / "inside_tiny_nn_x1"
    assert set((kaldi / "spk2gender").read_text().split()[1::2]) <= {"m", "f"}
    rows = _rows(root)
    for t in ("mini_test", "mini_test_same_gender"):
        assert rows[("tiny_inside", t)]["method"] == "inside" and rows[("tiny_inside", t)]["baseline"] == "tiny"
        assert "eer_rel_change" in rows[("tiny_inside", t)]
        assert rows[("tiny_inside_asnorm", t)]["baseline"] == "tiny_asnorm"
    g = rows[("gender_inside", "mini_test")]
    assert g["task"] == "gender" and g["baseline"] == "gender_real"
    predictions = [line.split() for line in Path(g["score_file"]).read_text().splitlines()]
    wrong = sum(p[1] != p[2] for p in predictions)
    assert g["error_rate"] == pytest.approx(100 * wrong / len(predictions), abs=1e-3)
    md = (exp / "results.md").read_text()
    assert "## Classification" in md and "| gender_inside |" in md
    assert (exp / "tiny" / "inside" / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_emotion_block_rows_and_report(clean_run):
    root, _ = clean_run
    rows = _rows(root)
    for trials in ("mini_emo_nn", "mini_emo_merged"):
        assert rows[("tiny", trials)]["method"] == "baseline"
        assert rows[("tiny_emo_base", trials)]["baseline"] == "tiny"
        assert rows[("tiny_emo_all", trials)]["baseline"] == "tiny_emo_base"
        assert rows[("tiny_emo_all", trials)]["method"] == "emotion"
        assert rows[("tiny_emo_all", trials)]["components"] == "cp+erl+em"
        assert rows[("tiny_emo_cp_erl", trials)]["components"] == "cp+erl"
    report = (root / "exp" / "emotion" / "report.md").read_text()
    assert "## Cumulative ablation, EER (%)" in report
    assert "test_merged" in report and "dev_merged" in report and "Emotion classifier" in report
    check = json.loads((root / "exp" / "emotion" / "style_check.json").read_text())
    assert check["classifier"]["raw"]["classes"] == ["angry", "happy", "neutral", "sad", "surprised"]
    assert set(check["eer"]) >= {"nn", "merged"}


def test_nessa_block(clean_run):
    """Stages 30-33: an old x-vector trained and extracted, dev/profile lists, mappers, rows with G."""
    root, out = clean_run
    exp = root / "exp"
    assert (exp / "tiny_old" / "embeddings" / "test" / "xvector.scp").is_file()
    assert (root / "data" / "nessa" / "dev" / "trials").is_file() and (root / "data" / "test" / "profiles").is_file()
    rows = _rows(root)
    for old in ("ge2e", "tiny_old"):
        for trials in ("mini_test", "mini_test_profiles"):
            assert rows[(old, trials)]["method"] == "baseline" and ("tiny", trials) in rows
            for e, t in ((old, "tiny"), ("tiny", old)):
                for scoring in ("nessa", "logit"):
                    name = f"{e}/{t}.{scoring}"
                    if trials == "mini_test_profiles":  # scored in the profile mode chosen on the dev profiles
                        (name,) = [s for s, lst in rows if lst == trials and s.startswith(f"{name}.")]
                        assert rows[(name, trials)]["profile_mode_selected_on"] == "dev"
                        assert name.rsplit(".", 1)[1] == rows[(name, trials)]["profile_mode"]
                    r = rows[(name, trials)]
                    assert r["method"] == "nessa" and r["baseline"] == old and Path(r["score_file"]).is_file()
                    assert "gain_fraction" in r and "gain_fraction_mindcf" in r
    # equal dimensions (64): raw cosine rows; both trained with a classifier: its logit space too
    assert ("tiny_old/tiny.raw", "mini_test") in rows and ("ge2e/tiny.raw", "mini_test") not in rows
    assert ("tiny/tiny_old.logit_classifier", "mini_test") in rows
    assert (root / "data" / "nessa" / "dev" / "profiles").is_file() and (root / "data" / "nessa" / "dev" / "trials_profiles").is_file()
    summary = json.loads((exp / "nessa" / "ge2e-tiny" / "nessa" / "summary.json").read_text())
    assert summary["num_train_speakers"] == 8 and summary["dev_history"][0]["epoch"] == 0
    assert summary["profile_mode"]["chosen"] in ("map_then_average", "average_then_map")


def test_rerun_is_a_noop(clean_run):
    root, _ = clean_run
    before = {p: p.stat().st_mtime_ns for p in (root / "exp").rglob("*") if p.is_file()}
    out = _run(root)
    assert "failed" not in out
    assert out.count("skipping") >= 20
    after = {p: p.stat().st_mtime_ns for p in (root / "exp").rglob("*") if p.is_file()}
    assert before == after


def test_changed_option_reruns_only_what_depends_on_it(clean_run):
    root, _ = clean_run
    with _restored_afterwards(root):
        out = _run(root, "--top-n", "4")
    ran = [line for line in out.splitlines() if line.startswith("score: wrote")]
    assert len(ran) == 6, "only the AS-norm scores (tiny, ge2e, tiny_inside x 2 trial lists) depend on --top-n"
    assert "[train-tiny] already done" in out


BACKBONE = ("--stop-stage", "6")  # the tests below are about stages 0-6; the method blocks ran in clean_run


def test_sigkill_during_training_then_rerun_matches_clean_run(clean_run, tmp_path):
    clean_root, _ = clean_run
    proc = _start(tmp_path, *BACKBONE)
    latest = tmp_path / "exp" / "tiny" / "models" / "checkpoint_latest.pt"
    deadline = time.time() + 600
    while time.time() < deadline and not latest.exists() and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert latest.exists(), "the kill must land during training"
    assert not (tmp_path / "exp" / "results.json").exists()
    out = _run(tmp_path, *BACKBONE)
    assert "resumed from" in out
    for split in ("train", "test"):
        ka, ea = read_embeddings(clean_root / "exp" / "tiny" / "embeddings" / split / "xvector.scp")
        kb, eb = read_embeddings(tmp_path / "exp" / "tiny" / "embeddings" / split / "xvector.scp")
        assert ka == kb and np.array_equal(ea, eb)
    a, b = _rows(clean_root), _rows(tmp_path)
    for key in b:
        assert a[key]["eer"] == b[key]["eer"] and a[key]["mindcf_0.01"] == b[key]["mindcf_0.01"]


def test_redoing_stage_1_with_unchanged_data_skips_everything_after_it(clean_run):
    root, _ = clean_run
    out = _run(root, "--stage", "1", "--stop-stage", "1", "--force", "true")
    assert "prepare_manifests:" in out, "--force must rerun the selected stage"
    out = _run(root, "--stage", "2", "--stop-stage", "6")
    assert "[fbank-train] already done" in out and "[train-tiny] already done" in out
    assert "score: wrote" not in out


def test_changed_config_content_reruns_scoring_and_report(clean_run):
    """Same config file name, new content: the report must show the new model's EER, not the old one."""
    from embspace.data.tables import read_trials
    from embspace.embio import read_vector
    from embspace.scoring.metrics import compute_eer

    root, _ = clean_run
    before = _rows(root)[("tiny", "mini_test")]["eer"]
    cfg = _config(root)
    with _restored_afterwards(root):
        cfg.write_text(cfg.read_text().replace("seed: 42", "seed: 7").replace("epochs: 2", "epochs: 3"))
        out = _run(root, *BACKBONE)
        reported = _rows(root)[("tiny", "mini_test")]["eer"]
        emb = root / "exp" / "tiny" / "embeddings"  # the EER of the new model's embeddings, computed here
        keys, x = read_embeddings(emb / "test" / "xvector.scp")
        x = x - read_vector(emb / "train" / "mean.vec")
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        index = {k: i for i, k in enumerate(keys)}
        trials = read_trials(root / "data" / "test" / "trials")
        scores = np.array([x[index[e]] @ x[index[t]] for e, t, _ in trials])
        labels = np.array([is_target for _, _, is_target in trials])
    assert "[train-tiny] already done" not in out and "[score-tiny-none-mini_test] already done" not in out
    assert reported == pytest.approx(compute_eer(scores, labels)[0], abs=1e-3)
    assert reported != before, "a retrained model with another seed gives another EER"


def test_seed_block(clean_run):
    """Stages 20-25: the mismatch corpus, both extractors' SEED models, rows on the three lists."""
    from embspace.data.tables import read_trials

    root, _ = clean_run
    meta = [json.loads(x) for x in (root / "data" / "corpus_seed" / "metadata.jsonl").read_text().splitlines()]
    assert sorted({m["condition"] for m in meta}) == ["babble", "conversation", "noise", "reverb"]
    assert len(meta) == 6 * 3 + 3 * 2 * 2  # 3 degraded per test speaker (one per condition); 3 conversations
    base = {json.loads(x)["utt"] for x in (root / "data" / "corpus" / "metadata.jsonl").read_text().splitlines()}
    assert not base & {m["utt"] for m in meta}
    session = {m["utt"]: m["session_id"] for m in meta}
    for e, t, target in read_trials(root / "data" / "test_seed" / "trials_vcmix"):
        if not target:  # non-target trials only within a shared session
            assert session[e] == session[t] and e.split("-")[0] != t.split("-")[0]
    rows = _rows(root)
    for sys in ("tiny", "ge2e"):
        for seed_sys in (f"{sys}_seed", f"{sys}_seed_paper"):  # tuned and published configuration
            for name in ("mini_test", "mini_test_mismatch", "mini_test_vcmix"):
                row = rows[(seed_sys, name)]
                assert row["method"] == "seed" and row["baseline"] == sys and row["eval_seeds"] == "1,2,3"
                per_seed = [_eer_of_score_file(root / "exp" / seed_sys / "scores" / f"{name}.seed{k}.score")
                            for k in (1, 2, 3)]  # mean and spread over the three evaluation seeds
                eers, tol = [e for e, _ in per_seed], per_seed[0][1]
                assert row["eer"] == pytest.approx(np.mean(eers), abs=tol)
                assert row["eer_std"] == pytest.approx(np.std(eers), abs=2 * tol)
                base = rows[(sys, name)]["eer"]
                assert row["eer_rel_change"] == pytest.approx(100 * (row["eer"] - base) / base, abs=0.01)
            assert (root / "exp" / seed_sys / "scores" / "sweep.md").read_text().count("\n") == 7
            model = torch.load(root / "exp" / seed_sys / "seed_model.pt", weights_only=True)
            assert model["extractor"]["kind"] == ("ge2e" if sys == "ge2e" else "encoder")
        paper = torch.load(root / "exp" / f"{sys}_seed_paper" / "seed_model.pt", weights_only=True)
        assert paper["seed"]["skip"] is False and paper["seed"]["normalisation"] == "official"


def test_seeds_train_the_baseline_and_the_inside_system_per_seed(clean_run):
    """--seeds 1,2: the encoder and the INSIDE system trained under each seed; rows of per-seed results,
    the INSIDE row compared with the per-seed baseline row, with an interval paired by seed."""
    tmp_path, _ = clean_run
    rows = _rows(tmp_path)
    for t in BACKBONE_LISTS:
        base, inside = rows[("tiny_seeds", t)], rows[("tiny_inside_seeds", t)]
        assert inside["method"] == "inside" and inside["baseline"] == "tiny_seeds"
        for row, prefix in ((base, "tiny_trainseed"), (inside, "tiny_inside_trainseed")):
            assert [r["seed"] for r in row["seeds"]] == [1, 2]
            eers = []
            for r in row["seeds"]:
                assert Path(r["score_file"]) == tmp_path / "exp" / f"{prefix}{r['seed']}" / "scores_none" / f"{t}.score"
                eer, tol = _eer_of_score_file(Path(r["score_file"]))
                assert r["eer"] == pytest.approx(eer, abs=tol)
                eers.append(r["eer"])
            assert row["eer"] == pytest.approx(np.mean(eers), abs=1e-5)
        assert inside["eer_rel_change"] == pytest.approx(100 * (inside["eer"] - base["eer"]) / base["eer"], abs=0.01)
    assert not [k for k in rows if k[0].endswith("_seeds") and "inside" not in k[0] and k[0] != "tiny_seeds"], \
        "--seeds-blocks inside: the other blocks train no per-seed systems"
    one, two = (torch.load(tmp_path / "exp" / f"tiny_inside_trainseed{n}" / "models" / "avg_model.pt", weights_only=True)
                for n in (1, 2))
    assert any(not torch.equal(one["model"][k], two["model"][k]) for k in one["model"])
    comps = {(c["system"], c["trials"]): c for c in json.loads((tmp_path / "exp" / "comparisons.json").read_text())["comparisons"]}
    assert comps[("tiny_inside_seeds", "mini_test")]["signature"]["score_files"] == [r["score_file"] for r in rows[("tiny_inside_seeds", "mini_test")]["seeds"]]


def _check_seed_runs(row: dict, score_file_of) -> None:
    """A row of per-seed runs 1 and 2: each seed's score file where expected, its EER recomputed, the mean."""
    assert [r["seed"] for r in row["seeds"]] == [1, 2]
    for r in row["seeds"]:
        assert Path(r["score_file"]) == score_file_of(r["seed"])
        eer, tol = _eer_of_score_file(Path(r["score_file"]))
        assert r["eer"] == pytest.approx(eer, abs=tol)
    assert row["eer"] == pytest.approx(np.mean([r["eer"] for r in row["seeds"]]), abs=1e-5)


def test_seeds_train_seed_nessa_and_emotion_systems_per_seed(clean_run):
    """--seeds 1,2 in the other method blocks (one extractor, one pair, two rows, to keep it short): a SEED
    network, a NESSA mapper and the fine-tuned emotion rows trained under each seed (the frozen extractors
    stay one run); rows of per-seed results; NESSA's G from the mean over seeds; the emotion rows compared
    with the per-seed fine-tuning baseline."""
    root, _ = clean_run
    exp = root / "exp"
    with _restored_afterwards(root):
        _run(root, "--stage", "23", "--seeds", "1,2", "--seeds-blocks", "seed,nessa,emotion", "--seed-extractors", "system",
             "--seed-paper", "false", "--nessa-pairs", "tiny_old:tiny", "--emotion-seed-rows", "base,cp")
        _check_block_seed_rows(exp)


def _check_block_seed_rows(exp: Path) -> None:
    rows = _rows(exp.parent)
    for t in ("mini_test", "mini_test_mismatch", "mini_test_vcmix"):
        row = rows[("tiny_seed_seeds", t)]
        assert row["method"] == "seed" and row["baseline"] == "tiny"
        _check_seed_runs(row, lambda n: exp / f"tiny_seed_trainseed{n}" / "scores" / f"{t}.seed{n}.score")
    for n in (1, 2):
        assert json.loads((exp / f"tiny_seed_trainseed{n}" / "selection.json").read_text())["train_seed"] == n
    assert ("ge2e_seed_seeds", "mini_test") not in rows and ("tiny_seed_paper_seeds", "mini_test") not in rows
    one, two = (torch.load(exp / f"tiny_seed_trainseed{n}" / "seed_model.pt", weights_only=True)["model"] for n in (1, 2))
    assert any(not torch.equal(one[k], two[k]) for k in one)
    for e, t in (("tiny_old", "tiny"), ("tiny", "tiny_old")):
        row = rows[(f"{e}/{t}.nessa_seeds", "mini_test")]
        assert row["method"] == "nessa" and row["baseline"] == "tiny_old" and (row["enroll"], row["runtime"]) == (e, t)
        _check_seed_runs(row, lambda n: exp / "nessa" / "tiny_old-tiny" / f"eval_trainseed{n}" / "mini_test" / f"{e}-{t}.nessa.score")
        a, b = rows[("tiny_old", "mini_test")]["eer"], rows[("tiny", "mini_test")]["eer"]
        assert row["gain_fraction"] == pytest.approx((a - row["eer"]) / (a - b), abs=1e-4)
    for t in ("mini_emo_merged", "mini_emo_nn"):
        for r, base in (("base", "tiny"), ("cp", "tiny_emo_base_seeds")):
            row = rows[(f"tiny_emo_{r}_seeds", t)]
            assert row["method"] == "emotion" and row["baseline"] == base
            _check_seed_runs(row, lambda n: exp / "emotion" / f"trainseed{n}" / r / "scores" / f"test_{t.split('_')[-1]}.score")
    comps = {(c["system"], c["trials"]): c for c in json.loads((exp / "comparisons.json").read_text())["comparisons"]}
    assert comps[("tiny_emo_cp_seeds", "mini_emo_merged")]["seeds"] == [1, 2]
    assert "gain_ci_low" in comps[("tiny_old/tiny.nessa_seeds", "mini_test")]
