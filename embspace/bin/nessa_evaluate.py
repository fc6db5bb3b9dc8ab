"""Score an old/new model pair symmetrically and asymmetrically (raw cosine, logit space, NESSA) and report G.

    python -m embspace.bin.nessa_evaluate \\
        --old ge2e=exp/ge2e/embeddings/test/xvector.scp --old-mean exp/ge2e/embeddings/train/mean.vec \\
        --new ecapa_mini=exp/ecapa_mini/embeddings/test/xvector.scp --new-mean exp/ecapa_mini/embeddings/train/mean.vec \\
        --mapper nessa=exp/nessa/ge2e-ecapa_mini/nessa/mapper.pt --mapper logit=exp/nessa/ge2e-ecapa_mini/logit/mapper.pt \\
        --trials mini_test=data/test/trials \\
        --profile-trials mini_test_profiles=data/test/trials_profiles --profiles data/test/profiles \\
        --out-dir exp/nessa/ge2e-ecapa_mini/eval --results exp/results.json

Systems on every trial list: ``old`` and ``new`` (symmetric; cosine after subtracting the training
mean, as the backbone scores them), and for both asymmetric configurations, ``old/new`` (old
model enrolled, new at runtime) and ``new/old``: ``.raw`` cosine (when the dimensions agree) and
one system per ``--mapper`` (each trained with X = old, Y = new). Profiles (enrollment = several
utterances) are averaged in each ``--profile-modes`` (systems of later modes get the mode as a
suffix); ``--profile-modes dev`` scores each mapper only in the mode nessa_train chose on its dev
profile list (``<system>.<chosen mode>``, ``profile_mode_selected_on: dev``), so no choice is made
on test trials. Writes ``<out-dir>/<trials>/<system>.score`` and ``.metrics.json`` and ``<out-dir>/rows.json``, adds one row per
system and trial list to ``--results`` (asymmetric rows: ``method nessa``, ``baseline`` = the old
symmetric system, ``gain_fraction`` G = (EER(old) - EER(asym)) / (EER(old) - EER(new)) and
``gain_fraction_mindcf`` on minDCF(0.01)), and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from embspace.cli.args import cli_parser, name_path
from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, read_vector
from embspace.nessa import (PROFILE_MODES, Aligner, aligner_config, check_dim, gain_fraction, load_aligner,
                            read_profiles, score_sides)
from embspace.nessa.scoring import metrics_of
from embspace.report import add_rows, load_rows
from embspace.scoring.cosine import write_scores
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("nessa_evaluate", __doc__)
    p.add_argument("--old", type=name_path, required=True, metavar="NAME=SCP", help="old model A: name and test embeddings")
    p.add_argument("--new", type=name_path, required=True, metavar="NAME=SCP", help="new model B: name and test embeddings")
    p.add_argument("--old-mean", required=True, help="A's training mean (mean.vec), for symmetric and raw scoring")
    p.add_argument("--new-mean", required=True, help="B's training mean (mean.vec)")
    p.add_argument("--mapper", type=name_path, action="append", default=[], metavar="LABEL=MAPPER",
                   help="a mapper.pt trained with X = old, Y = new (repeatable): its systems are named <E>/<R>.LABEL")
    p.add_argument("--trials", type=name_path, action="append", default=[], metavar="NAME=FILE",
                   help="single-utterance trial list (repeatable)")
    p.add_argument("--profile-trials", type=name_path, action="append", default=[], metavar="NAME=FILE",
                   help="profile trial list: '<profile> <test utt> target|nontarget' (repeatable; needs --profiles)")
    p.add_argument("--profiles", help="enrollment profiles: '<profile> <utt> <utt>...'")
    p.add_argument("--profile-modes", nargs="+", default=["map_then_average"], choices=PROFILE_MODES + ("dev",),
                   help="profile averaging modes to score; the first gives the plain system names. 'dev' (alone): "
                        "each mapper in the mode chosen on the dev list by nessa_train --dev-profiles, named "
                        "<system>.<mode>")
    p.add_argument("--out-dir", required=True, help="score and metrics files go here")
    p.add_argument("--results", required=True, help="results JSON to add the rows to (results.md beside it)")
    return p


def _identity(dim: int, x_mean: np.ndarray, y_mean: np.ndarray) -> Aligner:
    """Plain cosine after subtracting each side's own training mean."""
    aligner = Aligner(aligner_config("identity", "x_to_y", dim, dim))
    aligner.set_means(x_mean, y_mean)
    return aligner.eval()


def _mean(path: str, dim: int, name: str) -> np.ndarray:
    mean = read_vector(path)
    if mean.shape[0] != dim:
        raise DataError(f"dimension {mean.shape[0]} differs from the {name} embeddings' {dim}", path)
    return mean


System = tuple[str, str, str, str, Aligner, dict]  # (name, enrollment side, test side, scoring, aligner, row info)


def build_systems(old: str, new: str, emb: dict, path: dict, means: dict, mappers: list[tuple[str, str]]) -> list[System]:
    """The symmetric systems, raw cosine (equal dimensions), and both asymmetric directions of every mapper
    (whose input dimensions are checked against the embeddings)."""
    name = {"x": old, "y": new}
    dims = {s: emb[s][1].shape[1] for s in "xy"}
    systems: list[System] = [(old, "x", "x", "cosine", _identity(dims["x"], means["x"], means["x"]), {}),
                             (new, "y", "y", "cosine", _identity(dims["y"], means["y"], means["y"]), {})]
    mapped = []
    if dims["x"] == dims["y"]:
        mapped.append(("raw", _identity(dims["x"], means["x"], means["y"]), {}))
    for label, mapper_path in mappers:
        aligner, info = load_aligner(mapper_path)
        for s in "xy":
            trained = aligner.config.get(f"{s}_name", s)
            check_dim(emb[s][1], aligner.dim(s), path[s], emb[s][0][0], f"the {s} input of {mapper_path} (trained with {trained})")
            if trained not in (s, name[s]):
                print(f"nessa_evaluate: warning: {mapper_path} was trained with {s} = '{trained}', used for '{name[s]}'",
                      file=sys.stderr)
        chosen = info.get("profile_mode", {}).get("chosen")
        mapped.append((label, aligner, {"mapper": aligner.config["kind"], "direction": aligner.config["direction"],
                                        **({"dev_eer": round(info["dev"]["dev_eer"], 3)} if "dev" in info else {}),
                                        **({"dev_profile_mode": chosen} if chosen else {}), "mapper_file": mapper_path}))
    for label, aligner, info in mapped:
        for e, t in (("x", "y"), ("y", "x")):
            systems.append((f"{name[e]}/{name[t]}.{label}", e, t, label, aligner, info))
    return systems


def dev_mode(system: str, aligner: Aligner, info: dict) -> tuple[str, str]:
    """``(profile mode, system name)`` under ``--profile-modes dev``: the mode chosen on the dev list
    (recorded in the mapper file by nessa_train) and ``<system>.<mode>``; identity maps (both modes
    are the same) keep the plain name."""
    if aligner.config["kind"] == "identity":
        return "map_then_average", system
    if "dev_profile_mode" not in info:
        raise DataError("no profile mode chosen on a dev list in this mapper (train it with nessa_train "
                        "--dev-profiles --dev-profile-trials)", info["mapper_file"])
    return info["dev_profile_mode"], f"{system}.{info['dev_profile_mode']}"


def add_gain_fractions(rows: list[dict], old: str, new: str) -> None:
    """``gain_fraction`` (EER) and ``gain_fraction_mindcf`` (minDCF 0.01) of every asymmetric row."""
    by_key = {(r["system"], r["trials"]): r for r in rows}
    for row in rows:
        if row["method"] == "nessa":
            o, n = by_key[(old, row["trials"])], by_key[(new, row["trials"])]
            for key, metric in (("gain_fraction", "eer"), ("gain_fraction_mindcf", "mindcf_0.01")):
                g = gain_fraction(o[metric], n[metric], row[metric])
                row[key] = None if g is None else round(g, 4)


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Read and check everything, score every system, then write scores, metrics and rows."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.profile_trials and not args.profiles:
        p.error("--profile-trials needs --profiles")
    if not args.trials and not args.profile_trials:
        p.error("give --trials and/or --profile-trials")
    if "dev" in args.profile_modes and len(args.profile_modes) > 1:
        p.error("--profile-modes dev cannot be combined with other modes")
    (old, old_scp), (new, new_scp) = args.old, args.new
    if old == new:
        p.error("--old and --new need different names")
    existing = load_rows(args.results)  # a damaged results file fails now, before anything is written
    emb = {"x": read_embeddings(old_scp), "y": read_embeddings(new_scp)}
    path = {"x": old_scp, "y": new_scp}
    means = {"x": _mean(args.old_mean, emb["x"][1].shape[1], old), "y": _mean(args.new_mean, emb["y"][1].shape[1], new)}
    systems = build_systems(old, new, emb, path, means, args.mapper)
    profiles = read_profiles(args.profiles) if args.profiles else None
    lists = [(n, f, None) for n, f in args.trials] + [(n, f, profiles) for n, f in args.profile_trials]
    trials = {n: read_trials(f) for n, f, _ in lists}
    for n, f, _ in lists:
        if not trials[n]:
            raise DataError("no trials", f)

    out_dir = Path(args.out_dir)
    rows, outputs = [], []
    for list_name, list_path, prof in lists:
        for system, e, t, scoring, aligner, info in systems:
            for k, mode in enumerate(args.profile_modes if prof is not None else [None]):
                if k > 0 and aligner.config["kind"] == "identity":
                    continue  # identity maps: both modes are the same system
                sys_name = system if k == 0 else f"{system}.{mode}"
                if mode == "dev":
                    mode, sys_name = dev_mode(system, aligner, info)
                scores = score_sides(aligner, trials[list_name], e, *emb[e], t, *emb[t], prof,
                                     mode or "map_then_average", list_path, args.profiles or "", path[e])
                m = metrics_of(scores, trials[list_name])
                stem = out_dir / list_name / sys_name.replace("/", "-")
                outputs.append((stem, trials[list_name], scores, m))
                row = {"system": sys_name, "method": "baseline" if e == t else "nessa",
                       "baseline": None if e == t else old, "trials": list_name,
                       **{key: m[key] for key in ("eer", "mindcf_0.01", "mindcf_0.05")}, "score_file": f"{stem}.score",
                       "enroll": (old, new)[e == "y"], "runtime": (old, new)[t == "y"], "scoring": scoring, **info}
                if e == t:
                    row["norm"] = "none"  # the same system and scoring as the backbone's symmetric rows
                if prof is not None and aligner.config["kind"] != "identity":
                    row["profile_mode"] = mode
                    if args.profile_modes == ["dev"]:
                        row["profile_mode_selected_on"] = "dev"
                rows.append(row)
    add_gain_fractions(rows, old, new)
    for stem, trial_list, scores, m in outputs:  # everything was read and scored: now write
        write_scores(f"{stem}.score", trial_list, scores)
        atomic_write_text(f"{stem}.metrics.json", json.dumps(m, indent=2) + "\n")
    atomic_write_text(out_dir / "rows.json", json.dumps({"rows": rows}, indent=2) + "\n")
    add_rows(args.results, rows_to_report(rows, existing, out_dir))
    width = max(len(r["system"]) for r in rows)
    for r in rows:
        g = "" if r["method"] != "nessa" else f"  G(EER) {_fmt(r['gain_fraction'])}  G(minDCF) {_fmt(r['gain_fraction_mindcf'])}"
        print(f"{r['trials']:<20} {r['system']:<{width}}  EER {r['eer']:6.2f}%  minDCF(0.01) {r['mindcf_0.01']:.4f}{g}")
    print(f"nessa_evaluate: {len(rows)} rows -> {args.results}", file=sys.stderr)
    return 0


def rows_to_report(rows: list[dict], existing: list[dict], out_dir: Path) -> list[dict]:
    """The rows for results.json: a symmetric row never replaces one another step wrote for the same
    (system, trials) (the backbone's scoring stage owns those), only one this evaluation wrote before."""
    owner = {(r["system"], r["trials"]): str(r.get("score_file", "")) for r in existing}
    prefix = str(out_dir).rstrip("/") + "/"

    def ours_or_new(row: dict) -> bool:
        key = (row["system"], row["trials"])
        return key not in owner or owner[key].startswith(prefix)

    return [r for r in rows if r["method"] != "baseline" or ours_or_new(r)]


def _fmt(g: float | None) -> str:
    return "n/a" if g is None else f"{g:5.2f}"


if __name__ == "__main__":
    sys.exit(main())
