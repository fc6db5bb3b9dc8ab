"""How many test speakers a comparison needs: the 95 % interval half-width and the smallest detectable
change of a method vs its baseline as a function of the number of test speakers.

For each size below the run's number of test speakers, random speaker subsets (without replacement)
are drawn, the trial list is cut to the trials among them (for an all-pairs list this is the list an
evaluation of those speakers would have), and the paired speaker bootstrap of
``embspace.scoring.bootstrap`` gives the standard error SE of the EER difference. Beyond the run's
size SE is extrapolated with ``SE^2 = a / n + b / n^2``, fitted to the measured sizes: the variance of
a statistic of all speaker pairs (Hoeffding: a per-speaker term and a per-pair term), so SE falls
like ``1 / sqrt(n)`` once the speaker term dominates and faster before (the free log-log slope is
printed as a check). The speaker counts a change needs are also given from plain ``1 / sqrt(n)``
anchored at the run's size, an upper bound when the pair term still matters there.
Half-width = 1.96 SE, detectable change = 2.80 SE (80 % power, two-sided 5 % level); relative
figures are percent of the baseline's EER on the whole list.

Run from the recipe folder (score paths in results.json are relative to it):

    cd egs/mini/v1 && python ../../../bench/detectable_change.py --results exp/results.json \\
        --system ecapa_mini_inside --trials mini_test --utt2spk data/test/utt2spk
    python bench/detectable_change.py --method m.score --baseline b.score --utt2spk utt2spk   # score files

A few seconds per comparison on 2 cores (all pairs of 40 x 20 utterances, 500 resamples).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # a source checkout that is not pip-installed

from embspace.data.tables import read_table  # noqa: E402
from embspace.report import load_rows, score_files  # noqa: E402
from embspace.scoring.bootstrap import (align, compare, detectable_change, read_keyed_scores,  # noqa: E402
                                        restrict_to_speakers, trials_from_scores)
from embspace.utils.errors import DataError  # noqa: E402

Z_HALF = detectable_change(1.0, power=0.5)  # 1.96: the half-width of a 95 % interval, in SEs
Z_DETECT = detectable_change(1.0)  # 2.80: the detectable change, in SEs


def row_score_files(results: str, system: str, trials: str, root: Path) -> tuple[list[Path], list[Path], str]:
    """Score files of ``system`` on ``trials`` and of its baseline row, and the baseline's name."""
    rows = {(r["system"], r["trials"]): r for r in load_rows(results)}
    row = rows.get((system, trials))
    if row is None:
        raise DataError(f"no row ({system}, {trials})", results)
    base = rows.get((row.get("baseline"), trials))
    if base is None:
        raise DataError(f"row ({system}, {trials}) has no baseline row on its list", results)
    return [root / f for f in score_files(row)], [root / f for f in score_files(base)], base["system"]


def measure(method: list[np.ndarray], base: list[np.ndarray], trials, sizes: list[int], subsets: int,
            resamples: int, seed: int) -> list[tuple[int, int, float, float]]:
    """``(size, subsets, RMS standard error of the EER difference, mean relative half-width of the
    percentile interval)`` per size (the variances of the subsets are averaged)."""
    rng = np.random.default_rng(seed)
    out = []
    for n in sizes:
        draws = 1 if n == trials.num_speakers else subsets
        ses, halves = [], []
        for _ in range(draws):
            keep, sub = restrict_to_speakers(trials, rng.permutation(trials.num_speakers)[:n])
            c = compare([s[keep] for s in method], [s[keep] for s in base], sub, resamples, int(rng.integers(1 << 31)))
            ses.append(c.diff_se)
            halves.append((c.ci_high - c.ci_low) / 2.0)
        out.append((n, draws, float(np.sqrt(np.mean(np.square(ses)))), float(np.mean(halves))))
    return out


def fit_variance(sizes: np.ndarray, se: np.ndarray) -> tuple[float, float]:
    """``(a, b)`` of ``se^2 = a / n + b / n^2``, least squares in relative terms, both >= 0 (``b = 0``
    when the free fit makes it negative, or with one size)."""
    var = np.square(se)
    design = np.stack([1.0 / sizes, 1.0 / sizes ** 2], axis=1) / var[:, None]
    if len(sizes) > 1:
        (a, b), *_ = np.linalg.lstsq(design, np.ones(len(sizes)), rcond=None)
        if a > 0.0 and b >= 0.0:
            return float(a), float(b)
    x = design[:, 0]
    return float(np.dot(x, np.ones(len(sizes))) / np.dot(x, x)), 0.0


def speakers_for(se_target: float, a: float, b: float) -> float:
    """The ``n`` with ``a / n + b / n^2 = se_target^2``."""
    v = se_target ** 2
    return (a + math.sqrt(a * a + 4.0 * b * v)) / (2.0 * v)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", help="results.json of a run (with --system and --trials)")
    p.add_argument("--system", help="the method row")
    p.add_argument("--trials", help="its trial list")
    p.add_argument("--root", type=Path, default=Path("."), help="folder the score paths are relative to")
    p.add_argument("--method", nargs="+", default=[], help="score files of the method (one per seed)")
    p.add_argument("--baseline", nargs="+", default=[], help="score files of the baseline (one per seed, or one)")
    p.add_argument("--utt2spk", nargs="+", required=True, help="utt2spk files naming every trial side's speaker")
    p.add_argument("--sizes", type=int, nargs="+", help="speaker counts to measure (default: 1/4, 1/2, 3/4, all)")
    p.add_argument("--subsets", type=int, default=10, help="random speaker subsets per size")
    p.add_argument("--resamples", type=int, default=500, help="bootstrap resamples per subset")
    p.add_argument("--extrapolate", type=int, nargs="+", default=[80, 160, 320, 640, 1280],
                   help="speaker counts to extrapolate to")
    p.add_argument("--effects", type=float, nargs="+", default=[3.0, 5.0, 10.0],
                   help="relative EER changes (percent) whose required speaker counts are printed")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    label = "files"
    if args.results:
        if not (args.system and args.trials) or args.method or args.baseline:
            p.error("--results goes with --system and --trials (instead of --method/--baseline)")
        method_files, base_files, base_name = row_score_files(args.results, args.system, args.trials, args.root)
        label = f"{args.system} vs {base_name} on {args.trials}"
    elif not (args.method and args.baseline):
        p.error("give --results/--system/--trials, or --method and --baseline score files")
    else:
        method_files, base_files = [Path(f) for f in args.method], [Path(f) for f in args.baseline]
    from embspace.utils.machine import describe_machine

    print(describe_machine())
    t0 = time.perf_counter()
    utt2spk: dict[str, str] = {}
    for f in args.utt2spk:
        utt2spk.update(read_table(f))
    ref = read_keyed_scores(base_files[0])
    trials = trials_from_scores(ref, utt2spk, base_files[0])
    base = [ref.scores] + [align(ref, read_keyed_scores(f), f) for f in base_files[1:]]
    method = [align(ref, read_keyed_scores(f), f) for f in method_files]
    total = trials.num_speakers
    sizes = sorted(set(args.sizes or [max(4, round(total * q)) for q in (0.25, 0.5, 0.75)] + [total]))
    if sizes[-1] > total or sizes[0] < 2:
        p.error(f"--sizes must lie in [2, {total}] (the run's test speakers)")
    full = compare(method, base, trials, args.resamples, args.seed)
    eer_b = full.baseline_eer
    print(f"{label}: {total} test speakers, {len(trials.labels)} trials, {len(method)} method run(s), "
          f"{len(base)} baseline run(s); baseline EER {eer_b:.3f} %, change {full.rel_change:+.1f} % "
          f"[{full.ci_low:+.1f}, {full.ci_high:+.1f}]")
    rows = measure(method, base, trials, sizes, args.subsets, args.resamples, args.seed)
    n_meas, se_meas = np.array([r[0] for r in rows], float), np.array([r[2] for r in rows])
    a, b = fit_variance(n_meas, se_meas)
    slope = float(np.polyfit(np.log(n_meas), np.log(se_meas), 1)[0]) if len(rows) > 1 else float("nan")
    c_run = se_meas[-1] * math.sqrt(total)  # plain 1/sqrt(n) through the run's own figure
    fitted = ", ".join(f"{n:g}: {math.sqrt(a / n + b / n ** 2):.3f}" for n in n_meas)
    print(f"fit: SE^2 = {a:.4g} / n + {b:.4g} / n^2 (EER points^2; speaker term {100 * a / total / (a / total + b / total ** 2):.0f} % "
          f"of the variance at {total}); fitted SE {fitted}; free log-log slope {slope:+.2f}")
    print("\n| speakers | source | SE (pts) | 95 % half-width (pts) | half-width (rel.) | percentile half-width (rel.) "
          "| detectable (pts) | detectable (rel.) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for n, draws, se, half in rows:
        src = "measured (all)" if draws == 1 else f"measured ({draws} subsets)"
        print(f"| {n} | {src} | {se:.3f} | {Z_HALF * se:.3f} | {100 * Z_HALF * se / eer_b:.1f} % | {half:.1f} % "
              f"| {Z_DETECT * se:.3f} | {100 * Z_DETECT * se / eer_b:.1f} % |")
    for n in [n for n in args.extrapolate if n > total]:
        se = math.sqrt(a / n + b / n ** 2)
        print(f"| {n} | extrapolated | {se:.3f} | {Z_HALF * se:.3f} | {100 * Z_HALF * se / eer_b:.1f} % | "
              f"| {Z_DETECT * se:.3f} | {100 * Z_DETECT * se / eer_b:.1f} % |")
    print()
    for effect in args.effects:
        points = effect / 100.0 * eer_b
        need_detect, need_half = speakers_for(points / Z_DETECT, a, b), speakers_for(points / Z_HALF, a, b)
        plain = (Z_DETECT * c_run / points) ** 2
        print(f"a {effect:g} % change ({points:.3f} EER points): detectable (80 % power) from {math.ceil(need_detect)} "
              f"test speakers ({math.ceil(plain)} by plain 1/sqrt(n) from {total}); "
              f"95 % half-width below it from {math.ceil(need_half)}")
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    try:
        main()
    except (DataError, OSError) as e:
        sys.exit(f"detectable_change: error: {e}")
