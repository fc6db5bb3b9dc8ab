"""Cosine scoring, AS-norm and the score CLI."""

from __future__ import annotations

import numpy as np
import pytest

from embspace.bin import score as score_cli
from embspace.embio import write_embeddings
from embspace.scoring.cosine import score_trials
from embspace.scoring.norm import score_trials_asnorm
from embspace.utils.errors import DataError


def _data(n_utt: int = 40, n_trials: int = 300, dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    keys = [f"u{i:03d}" for i in range(n_utt)]
    emb = rng.standard_normal((n_utt, dim)).astype(np.float32) + 0.5
    pairs = np.divmod(rng.choice(n_utt * n_utt, size=n_trials, replace=False), n_utt)  # distinct trials
    pairs = np.stack(pairs, axis=1)
    trials = [(keys[a], keys[b], bool(rng.random() < 0.3)) for a, b in pairs]
    return keys, emb, trials


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_cosine_equals_loop_with_mean():
    keys, emb, trials = _data()
    mean = emb.mean(axis=0)
    got = score_trials(trials, keys, emb, mean=mean)
    row = dict(zip(keys, emb))
    want = [_cos(row[e] - mean, row[t] - mean) for e, t, _ in trials]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_cosine_per_speaker_enrollment():
    keys, emb, _ = _data()
    rng = np.random.default_rng(1)
    spk_keys = ["spkA", "spkB"]
    spk_emb = rng.standard_normal((2, emb.shape[1])).astype(np.float32)
    trials = [("spkB", keys[3], True), ("spkA", keys[7], False)]
    got = score_trials(trials, keys, emb, enroll_keys=spk_keys, enroll_emb=spk_emb)
    np.testing.assert_allclose(got, [_cos(spk_emb[1], emb[3]), _cos(spk_emb[0], emb[7])], atol=1e-6)


def _naive_asnorm(trials, row, cohort, top_n):
    def stats(x):
        s = np.array([_cos(x, c) for c in cohort])
        s = np.sort(s)[::-1][: (len(s) if top_n <= 0 else min(top_n, len(s)))]
        return s.mean(), s.std()

    out = []
    for e, t, _ in trials:
        s = _cos(row[e], row[t])
        (me, se), (mt, st) = stats(row[e]), stats(row[t])
        out.append(0.5 * ((s - me) / se + (s - mt) / st))
    return np.array(out)


@pytest.mark.parametrize("top_n", [5, 0, 1000])
def test_asnorm_equals_naive(top_n):
    keys, emb, trials = _data(n_trials=60)
    cohort = np.random.default_rng(2).standard_normal((25, emb.shape[1])).astype(np.float32)
    got = score_trials_asnorm(trials, keys, emb, cohort, top_n=top_n)
    want = _naive_asnorm(trials, dict(zip(keys, emb)), cohort, top_n)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_asnorm_separate_enrollment_equals_naive():
    keys, emb, trials = _data(n_trials=50)
    rng = np.random.default_rng(3)
    enroll_keys = [f"e{i}" for i in range(4)]
    enroll = rng.standard_normal((4, emb.shape[1])).astype(np.float32)
    trials = [(enroll_keys[i % 4], t, y) for i, (_, t, y) in enumerate(trials)]
    cohort = rng.standard_normal((30, emb.shape[1])).astype(np.float32)
    got = score_trials_asnorm(trials, keys, emb, cohort, 7, enroll_keys, enroll)
    want = _naive_asnorm(trials, {**dict(zip(keys, emb)), **dict(zip(enroll_keys, enroll))}, cohort, 7)
    np.testing.assert_allclose(got, want, atol=1e-4)


def test_unknown_key_names_file_and_line(tmp_path):
    keys, emb, _ = _data()
    path = tmp_path / "trials"
    path.write_text(f"{keys[0]} {keys[1]} target\n\n{keys[2]} nobody nontarget\n")
    trials = [(keys[0], keys[1], True), (keys[2], "nobody", False)]
    with pytest.raises(DataError) as e:
        score_trials(trials, keys, emb, trials_path=path)
    assert (e.value.path, e.value.line, e.value.key) == (path, 3, "nobody")
    assert f"{path}:3" in str(e.value)


@pytest.fixture
def scp_dir(tmp_path):
    keys, emb, trials = _data(n_utt=10, n_trials=30)
    write_embeddings(tmp_path / "x.ark", tmp_path / "x.scp", zip(keys, emb))
    (tmp_path / "trials").write_text("".join(f"{e} {t} {'target' if y else 'nontarget'}\n" for e, t, y in trials))
    return tmp_path, keys, emb, trials


def test_score_cli_writes_scores(scp_dir):
    d, keys, emb, trials = scp_dir
    rc = score_cli.main(["--trials", str(d / "trials"), "--test-scp", str(d / "x.scp"),
                         "--mean-scp", str(d / "x.scp"), "--output", str(d / "scores")])
    assert rc == 0
    lines = (d / "scores").read_text().splitlines()
    assert len(lines) == len(trials)
    row, mean = dict(zip(keys, emb)), emb.astype(np.float64).mean(axis=0)
    for line, (e, t, y) in zip(lines, trials):
        f = line.split()
        assert f[0] == e and f[1] == t and f[3] == ("target" if y else "nontarget")
        assert abs(float(f[2]) - _cos(row[e] - mean, row[t] - mean)) < 1e-5


def test_score_cli_error_leaves_output_untouched(scp_dir, capsys):
    d, keys, *_ = scp_dir
    (d / "scores").write_text("old\n")
    with open(d / "trials", "a") as f:
        f.write(f"{keys[0]} ghost target\n")
    with pytest.raises(SystemExit) as e:
        score_cli.main(["--trials", str(d / "trials"), "--test-scp", str(d / "x.scp"),
                        "--cohort-scp", str(d / "x.scp"), "--top-n", "3", "--output", str(d / "scores")])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("score: error:") and f"{d / 'trials'}:31" in err and "'ghost'" in err
    assert (d / "scores").read_text() == "old\n"
