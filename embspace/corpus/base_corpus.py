"""The design of a rendered mini corpus, read back from its ``config.json`` and ``speakers.jsonl`` and
checked against its plan. Derived corpora (the emotional styles, SEED's mismatch additions) start from
it and never touch the base corpus."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from embspace.corpus.mini import MiniConfig, Speaker, plan_speakers
from embspace.utils.errors import DataError


def mini_config_from_json(cfg: dict[str, Any], path: str | Path | None = None) -> MiniConfig:
    """A :class:`MiniConfig` from a corpus ``config.json`` (lists back to tuples); unknown keys are errors
    (naming ``path``)."""
    names = {f.name for f in dataclasses.fields(MiniConfig)}
    unknown = sorted(set(cfg) - names)
    if unknown:
        raise DataError(f"unknown corpus design field(s): {', '.join(unknown)}", path, key=unknown[0])
    try:
        return MiniConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg.items()})
    except (TypeError, ValueError) as e:
        raise DataError(f"not a mini corpus design: {e}", path) from None


def read_base_corpus(corpus_dir: str | Path) -> tuple[dict[str, Any], MiniConfig, list[Speaker]]:
    """``(design as stored, MiniConfig, planned speakers)`` of the corpus in ``corpus_dir``; every row of
    ``speakers.jsonl`` must equal the plan of ``config.json`` (else: another corpus version)."""
    corpus_dir = Path(corpus_dir)
    cfg_path, spk_path = corpus_dir / "config.json", corpus_dir / "speakers.jsonl"
    for p in (cfg_path, spk_path):
        if not p.is_file():
            raise DataError("base corpus file not found (run the corpus stage first)", p)
    try:
        design = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"not valid JSON ({e.msg})", cfg_path) from None
    if not isinstance(design, dict):
        raise DataError("not a mini corpus design (expected a JSON object)", cfg_path)
    cfg = mini_config_from_json(design, cfg_path)
    speakers = plan_speakers(cfg)
    planned = {s.speaker: dataclasses.asdict(s) for s in speakers}
    seen = 0
    with open(spk_path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"not valid JSON ({e.msg})", spk_path, n) from None
            if not isinstance(row, dict) or planned.get(row.get("speaker")) != row:
                raise DataError("speaker differs from the plan of config.json (another corpus version?)", spk_path, n,
                                row.get("speaker") if isinstance(row, dict) else None)
            seen += 1
    if seen != len(planned):
        raise DataError(f"{seen} speakers, the design of config.json plans {len(planned)}", spk_path)
    return design, cfg, speakers
