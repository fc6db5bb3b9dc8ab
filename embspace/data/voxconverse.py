"""VoxConverse speaker-verification segments (the "VC-Mix" non-target trials of Heo et al. 2023).

The user supplies the segment folder and its trial list (``trials_wo_overlap.txt``: lines
``<label> <path> <path>`` with paths relative to the folder, label 0 for two different speakers
of the same recording). VC-Mix = the target trials of Vox1-O + the label-0 trials of that list:
every non-target pair shares a session, so scores that follow the channel are punished.

A segment ``<dirs>/<name>.wav`` gets the id ``<dirs joined by '-'>-<name>`` and the speaker label
``<dirs joined by '-'>`` (the folder it lies in; only used to fill Kaldi's utt2spk).
"""

from __future__ import annotations

import os
from pathlib import Path

from lhotse import RecordingSet, SupervisionSet

from embspace.data.manifests import build_manifests
from embspace.data.voxceleb import read_labelled_pairs
from embspace.utils.errors import DataError


def segment_ids(rel_path: str) -> tuple[str, str]:
    """``(utterance id, speaker label)`` of a segment path relative to the VoxConverse folder."""
    parts = [p for p in Path(rel_path).with_suffix("").parts if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError(f"bad segment path {rel_path!r}")
    return "-".join(parts), "-".join(parts[:-1]) or parts[-1]


def read_sv_trials(trial_file: str | os.PathLike) -> list[tuple[str, str, bool, int]]:
    """``(path, path, is_target, line)`` of every trial; a malformed line is a DataError naming it."""
    return read_labelled_pairs(trial_file, "VoxConverse trial list", "1|0 <segment path> <segment path>")


def prepare_vcmix_segments(root: str | os.PathLike, trial_file: str | os.PathLike
                           ) -> tuple[RecordingSet, SupervisionSet, list[tuple[str, str]]]:
    """Manifests of the segments of the list's non-target trials, and those trials as id pairs."""
    root = Path(root)
    entries: dict[str, dict] = {}
    pairs = []
    for a, b, target, n in read_sv_trials(trial_file):
        if target:
            continue
        ids = []
        for p in (a, b):
            try:
                utt, spk = segment_ids(p)
            except ValueError as e:
                raise DataError(str(e), trial_file, n) from None
            if not (root / p).is_file():
                raise DataError(f"segment {p} not found under {root}", trial_file, n, utt)
            entries.setdefault(utt, {"utt": utt, "speaker": spk, "path": p})
            ids.append(utt)
        pairs.append((ids[0], ids[1]))
    if not pairs:
        raise DataError("no non-target (label 0) trials", trial_file)
    recs, sups = build_manifests(sorted(entries.values(), key=lambda e: e["utt"]), root)
    return recs, sups, pairs
