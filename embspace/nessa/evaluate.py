"""What ``embspace.bin.nessa_evaluate`` does with its options: build the symmetric and asymmetric
systems of an old/new model pair, score every trial list, and write scores, metrics and rows."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from embspace.data.tables import read_trials
from embspace.embio import read_embeddings, read_vector
from embspace.nessa.aligner import Aligner, aligner_config, load_aligner
from embspace.nessa.data import check_dim, read_profiles
from embspace.nessa.scoring import gain_fraction, metrics_of, score_sides
from embspace.report import add_rows, load_rows
from embspace.scoring.cosine import write_scores
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError

System = tuple[str, str, str, str, Aligner, dict]  # (name, enrollment side, test side, scoring, aligner, row info)


def _identity(dim: int, x_mean: np.ndarray, y_mean: np.ndarray) -> Aligner:
    """Plain cosine after subtracting each side's own training mean."""
    aligner = Aligner(aligner_config("identity", "x_to_y", dim, dim))
    aligner.set_means(x_mean, y_mean)
    return aligner.eval()


def _mean(path: str, dim: int, name: str) -> np.ndarray:
    """A training mean of ``dim`` values (the embeddings of ``name``)."""
    mean = read_vector(path)
    if mean.shape[0] != dim:
        raise DataError(f"dimension {mean.shape[0]} differs from the {name} embeddings' {dim}", path)
    return mean


def _mapped(name: dict, emb: dict, path: dict, means: dict, mappers: list[tuple[str, str]]) -> list[tuple]:
    """``(label, aligner, row info)`` of raw cosine (equal dimensions) and of every mapper, whose input
    dimensions are checked against the embeddings."""
    dims = {s: emb[s][1].shape[1] for s in "xy"}
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
    return mapped


def build_systems(old: str, new: str, emb: dict, path: dict, means: dict, mappers: list[tuple[str, str]]) -> list[System]:
    """The symmetric systems, raw cosine (equal dimensions), and both asymmetric directions of every mapper
    (whose input dimensions are checked against the embeddings)."""
    name = {"x": old, "y": new}
    dims = {s: emb[s][1].shape[1] for s in "xy"}
    systems: list[System] = [(old, "x", "x", "cosine", _identity(dims["x"], means["x"], means["x"]), {}),
                             (new, "y", "y", "cosine", _identity(dims["y"], means["y"], means["y"]), {})]
    for label, aligner, info in _mapped(name, emb, path, means, mappers):
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


def rows_to_report(rows: list[dict], existing: list[dict], out_dir: Path) -> list[dict]:
    """The rows for results.json: a symmetric row never replaces one another step wrote for the same
    (system, trials) (the backbone's scoring stage owns those), only one this evaluation wrote before."""
    owner = {(r["system"], r["trials"]): str(r.get("score_file", "")) for r in existing}
    prefix = str(out_dir).rstrip("/") + "/"

    def ours_or_new(row: dict) -> bool:
        key = (row["system"], row["trials"])
        return key not in owner or owner[key].startswith(prefix)

    return [r for r in rows if r["method"] != "baseline" or ours_or_new(r)]


def _row(system: System, sys_name: str, list_name: str, m: dict, stem: Path, old: str, new: str) -> dict:
    """The results row of one system on one list (profile fields are added by the caller)."""
    _, e, t, scoring, _, info = system
    row = {"system": sys_name, "method": "baseline" if e == t else "nessa", "baseline": None if e == t else old,
           "trials": list_name, **{key: m[key] for key in ("eer", "mindcf_0.01", "mindcf_0.05")},
           "score_file": f"{stem}.score", "enroll": (old, new)[e == "y"], "runtime": (old, new)[t == "y"],
           "scoring": scoring, **info}
    if e == t:
        row["norm"] = "none"  # the same system and scoring as the backbone's symmetric rows
    return row


def _score_all(args: argparse.Namespace, systems: list[System], emb: dict, path: dict) -> tuple[list[dict], list]:
    """Rows and ``(stem, trials, scores, metrics)`` of every system on every list and profile mode."""
    old, new = args.old[0], args.new[0]
    profiles = read_profiles(args.profiles) if args.profiles else None
    lists = [(n, f, None) for n, f in args.trials] + [(n, f, profiles) for n, f in args.profile_trials]
    trials = {n: read_trials(f) for n, f, _ in lists}
    for n, f, _ in lists:
        if not trials[n]:
            raise DataError("no trials", f)
    out_dir = Path(args.out_dir)
    rows, outputs = [], []
    for list_name, list_path, prof in lists:
        for system in systems:
            name, e, t, _, aligner, info = system
            for k, mode in enumerate(args.profile_modes if prof is not None else [None]):
                if k > 0 and aligner.config["kind"] == "identity":
                    continue  # identity maps: both modes are the same system
                sys_name = name if k == 0 else f"{name}.{mode}"
                if mode == "dev":
                    mode, sys_name = dev_mode(name, aligner, info)
                scores = score_sides(aligner, trials[list_name], e, *emb[e], t, *emb[t], prof,
                                     mode or "map_then_average", list_path, args.profiles or "", path[e])
                m = metrics_of(scores, trials[list_name])
                stem = out_dir / list_name / sys_name.replace("/", "-")
                outputs.append((stem, trials[list_name], scores, m))
                row = _row(system, sys_name, list_name, m, stem, old, new)
                if prof is not None and aligner.config["kind"] != "identity":
                    row["profile_mode"] = mode
                    if args.profile_modes == ["dev"]:
                        row["profile_mode_selected_on"] = "dev"
                rows.append(row)
    return rows, outputs


def _fmt(g: float | None) -> str:
    return "n/a" if g is None else f"{g:5.2f}"


def print_table(rows: list[dict]) -> None:
    """One line per row on stdout: EER, minDCF(0.01) and, for asymmetric rows, G."""
    width = max(len(r["system"]) for r in rows)
    for r in rows:
        g = "" if r["method"] != "nessa" else f"  G(EER) {_fmt(r['gain_fraction'])}  G(minDCF) {_fmt(r['gain_fraction_mindcf'])}"
        print(f"{r['trials']:<20} {r['system']:<{width}}  EER {r['eer']:6.2f}%  minDCF(0.01) {r['mindcf_0.01']:.4f}{g}")


def evaluate_pair(args: argparse.Namespace) -> list[dict]:
    """Read and check everything the options of ``nessa_evaluate`` name, score every system, then
    write scores, metrics, ``rows.json`` and the results rows (with ``--results``), and print the table.
    Returns the rows."""
    (old, old_scp), (new, new_scp) = args.old, args.new
    existing = load_rows(args.results) if args.results else []  # a damaged results file fails now, before anything is written
    emb = {"x": read_embeddings(old_scp), "y": read_embeddings(new_scp)}
    path = {"x": old_scp, "y": new_scp}
    means = {"x": _mean(args.old_mean, emb["x"][1].shape[1], old), "y": _mean(args.new_mean, emb["y"][1].shape[1], new)}
    systems = build_systems(old, new, emb, path, means, args.mapper)
    rows, outputs = _score_all(args, systems, emb, path)
    add_gain_fractions(rows, old, new)
    out_dir = Path(args.out_dir)
    for stem, trial_list, scores, m in outputs:  # everything was read and scored: now write
        write_scores(f"{stem}.score", trial_list, scores)
        atomic_write_text(f"{stem}.metrics.json", json.dumps(m, indent=2) + "\n")
    atomic_write_text(out_dir / "rows.json", json.dumps({"rows": rows}, indent=2) + "\n")
    if args.results:
        add_rows(args.results, rows_to_report(rows, existing, out_dir))
    print_table(rows)
    return rows
