"""EER, minDCF, DET curves and the compute_metrics CLI."""

from __future__ import annotations

import json
from statistics import NormalDist

import numpy as np
import pytest

from embspace.bin import compute_metrics as metrics_cli
from embspace.scoring.det import plot_det, probit
from embspace.scoring.metrics import compute_eer, compute_min_dcf, det_curve, read_scores
from embspace.utils.errors import DataError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _labelled(tgt, non):
    return np.r_[tgt, non].astype(float), np.r_[np.ones(len(tgt), bool), np.zeros(len(non), bool)]


def test_eer_gaussian_matches_analytic():
    rng = np.random.default_rng(0)
    mu = 2.0
    s, y = _labelled(rng.normal(mu, 1, 200_000), rng.normal(0, 1, 200_000))
    eer, thr = compute_eer(s, y)
    assert eer == pytest.approx(100 * NormalDist().cdf(-mu / 2), abs=0.25)
    assert thr == pytest.approx(mu / 2, abs=0.02)


def test_eer_hand_computed():
    # thresholds 3 -> (pmiss 1/3, pfa 1/2), 4 -> (1/3, 0): crossing at pfa = 1/3, a third of the way
    eer, thr = compute_eer(*_labelled([2, 4, 5], [1, 3]))
    assert eer == pytest.approx(100 / 3) and thr == pytest.approx(3 + 1 / 3)
    assert compute_eer(*_labelled([3, 4], [1, 2])) == (0.0, 3.0)
    assert compute_eer(*_labelled([1, 1], [1, 1, 1]))[0] == pytest.approx(50.0)
    assert compute_eer(*_labelled([0], [1]))[0] == pytest.approx(100.0)


def _brute_min_dcf(s, y, p, c_miss, c_fa):
    best = (np.inf, None)
    for t in np.r_[np.unique(s), np.inf]:
        pmiss = np.mean(s[y] < t)
        pfa = np.mean(s[~y] >= t)
        best = min(best, (c_miss * p * pmiss + c_fa * (1 - p) * pfa, t), key=lambda b: b[0])
    return best[0] / min(c_miss * p, c_fa * (1 - p)), best[1]


@pytest.mark.parametrize("seed,decimals", [(0, None), (1, 1), (2, 3)])
@pytest.mark.parametrize("p,c_miss,c_fa", [(0.01, 1, 1), (0.05, 1, 1), (0.3, 10, 1)])
def test_min_dcf_matches_brute_force(seed, decimals, p, c_miss, c_fa):
    rng = np.random.default_rng(seed)
    s, y = _labelled(rng.normal(1, 1, 60), rng.normal(0, 1, 300))
    if decimals is not None:
        s = np.round(s, decimals)  # ties between target and non-target scores
    got, thr = compute_min_dcf(s, y, p, c_miss, c_fa)
    want, _ = _brute_min_dcf(s, y, p, c_miss, c_fa)
    assert got == pytest.approx(want, abs=1e-12)
    pmiss, pfa = np.mean(s[y] < thr), np.mean(s[~y] >= thr)  # the threshold reaches it
    assert (c_miss * p * pmiss + c_fa * (1 - p) * pfa) / min(c_miss * p, c_fa * (1 - p)) == pytest.approx(got)


def test_det_curve_monotone_and_ends():
    rng = np.random.default_rng(3)
    s, y = _labelled(np.round(rng.normal(1, 1, 500), 1), np.round(rng.normal(0, 1, 2000), 1))
    pmiss, pfa, thr = det_curve(s, y)
    assert (np.diff(pmiss) >= 0).all() and (np.diff(pfa) <= 0).all() and (np.diff(thr) > 0).all()
    assert (pmiss[0], pfa[0], pmiss[-1], pfa[-1], thr[-1]) == (0, 1, 1, 0, np.inf)
    assert len(thr) == len(np.unique(s)) + 1


def test_no_targets_or_nontargets():
    for y in (np.zeros(4, bool), np.ones(4, bool)):
        with pytest.raises(DataError, match="target"):
            compute_eer(np.arange(4.0), y)
    with pytest.raises(DataError):
        compute_min_dcf(np.array([np.nan, 1.0]), np.array([True, False]), 0.01)


def test_probit():
    np.testing.assert_allclose(probit(np.array([0.01, 0.5, 0.975])),
                               [NormalDist().inv_cdf(0.01), 0.0, NormalDist().inv_cdf(0.975)], atol=1e-9)


def test_plot_det_writes_png(tmp_path):
    rng = np.random.default_rng(4)
    s, y = _labelled(rng.normal(2, 1, 20_000), rng.normal(0, 1, 20_000))
    pmiss, pfa, _ = det_curve(s, y)
    plot_det({"sys": (pmiss, pfa), "worse": det_curve(s * 0.5 + rng.normal(0, 1, len(s)), y)[:2]},
             tmp_path / "det.png", title="test")
    assert (tmp_path / "det.png").read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in tmp_path.iterdir()] == ["det.png"]


def _write_scores(path, s, y, blank=False):
    lines = [f"e{i} t{i} {v:.6f} {'target' if t else 'nontarget'}" for i, (v, t) in enumerate(zip(s, y))]
    if blank:
        lines.insert(1, "")
    path.write_text("\n".join(lines) + "\n")


def test_read_scores_fast_and_slow_paths(tmp_path):
    s, y = _labelled([0.5, 0.25], [-0.125])
    _write_scores(tmp_path / "a", s, y)
    _write_scores(tmp_path / "b", s, y, blank=True)
    for name in "ab":
        got_s, got_y = read_scores(tmp_path / name)
        np.testing.assert_array_equal(got_s, s)
        np.testing.assert_array_equal(got_y, y)
    (tmp_path / "c").write_text("e t 0.1 target\n\ne t nan nontarget\n")
    with pytest.raises(DataError) as e:
        read_scores(tmp_path / "c")
    assert e.value.line == 3
    (tmp_path / "d").write_text("e t 0.1 target\ne t 0.2 maybe\n")
    with pytest.raises(DataError) as e:
        read_scores(tmp_path / "d")
    assert e.value.line == 2


def test_compute_metrics_cli(tmp_path, capsys):
    rng = np.random.default_rng(5)
    s, y = _labelled(rng.normal(2, 1, 2000), rng.normal(0, 1, 8000))
    _write_scores(tmp_path / "scores", s, y)
    rc = metrics_cli.main(["--scores", str(tmp_path / "scores"), "--json", str(tmp_path / "m.json"),
                           "--det-png", str(tmp_path / "det.png")])
    assert rc == 0
    m = json.loads((tmp_path / "m.json").read_text())
    assert set(m) == {"eer", "mindcf_0.01", "mindcf_0.05", "eer_threshold", "num_target", "num_nontarget"}
    assert (m["num_target"], m["num_nontarget"]) == (2000, 8000)
    assert m["eer"] == pytest.approx(compute_eer(np.round(s, 6), y)[0])
    assert "EER" in capsys.readouterr().out
    assert (tmp_path / "det.png").read_bytes()[:8] == PNG_MAGIC


def test_compute_metrics_cli_error_keeps_json(tmp_path):
    _write_scores(tmp_path / "scores", [0.1, 0.2], [False, False])
    (tmp_path / "m.json").write_text("{}")
    with pytest.raises(SystemExit) as e:
        metrics_cli.main(["--scores", str(tmp_path / "scores"), "--json", str(tmp_path / "m.json")])
    assert e.value.code == 1 and (tmp_path / "m.json").read_text() == "{}"
