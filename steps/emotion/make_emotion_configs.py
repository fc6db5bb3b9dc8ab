#!/usr/bin/env python3
"""One fine-tuning config per ablation row, from one emotion fine-tuning YAML.

    python steps/emotion/make_emotion_configs.py --config conf/emotion_ft.yaml --init exp/ecapa_mini/models/avg_model.pt \
        --summary data/emotion/summary.json --out-dir exp/emotion/configs
Writes ``<out-dir>/{base,cp,erl,em,cp_erl,all}.yaml``: the config with ``init:`` set and the three
components of its ``emotion:`` section switched (base: none; cp: CopyPaste; erl: the cosine term; em:
masking; cp_erl: CopyPaste and ERL; all: the three), every other option as given. ``--rows`` picks a
subset: ``base,cp,erl,em,all`` are the single-component rows, ``base,cp,cp_erl,all`` the paper's
cumulative ablation (``CUMULATIVE``). A row with ERL but without CopyPaste has no CopyPaste pairs, so
its ERL term uses every parallel pair (``erl.pairs: all``); the other rows keep ``erl.pairs`` as given
(``copypaste`` in conf/emotion_ft.yaml: ERL on CopyPaste pairs, as in the paper). ``spk_per_batch``
is capped at the number of fine-tuning speakers (``summary.json`` of emotion_prepare), with a note.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import yaml

from embspace.training.config import load_config
from embspace.emotion.config import emotion_options
from embspace.utils.atomic import atomic_write_text
from embspace.utils.errors import DataError, cli_main

ROWS = {"base": (), "cp": ("copypaste",), "erl": ("erl",), "em": ("em",), "cp_erl": ("copypaste", "erl"),
        "all": ("copypaste", "erl", "em")}
SINGLE = ("base", "cp", "erl", "em", "all")  # one component at a time, then the three
CUMULATIVE = ("base", "cp", "cp_erl", "all")  # the paper's ablation: each row adds one component


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="make_emotion_configs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, help="fine-tuning YAML with an 'emotion:' section")
    p.add_argument("--init", required=True, help="pre-trained encoder (model file) every row starts from")
    p.add_argument("--summary", default="", help="summary.json of emotion_prepare (caps spk_per_batch)")
    p.add_argument("--rows", default=",".join(ROWS), help=f"comma list from {','.join(ROWS)}")
    p.add_argument("--out-dir", required=True, type=Path, help="where <row>.yaml go")
    args = p.parse_args(argv)
    cfg = load_config(args.config)
    if "emotion" not in cfg:
        raise DataError("no 'emotion:' section", args.config)
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in ROWS]
    if unknown or not rows:
        raise DataError(f"unknown row(s) {', '.join(unknown)} (choose from {', '.join(ROWS)})", key="rows")
    data = dict(cfg.get("data", {}))
    if args.summary:
        speakers = int(json.loads(Path(args.summary).read_text())["finetune"]["speakers"])
        if int(data.get("spk_per_batch", 32)) > speakers:
            print(f"make_emotion_configs: spk_per_batch {data.get('spk_per_batch', 32)} capped at the "
                  f"{speakers} fine-tuning speakers", file=sys.stderr)
            data["spk_per_batch"] = speakers
    for row in rows:
        out = copy.deepcopy(cfg)
        out["init"] = args.init
        out["data"] = data
        emo = dict(out["emotion"])
        for comp in ("copypaste", "erl", "em"):
            emo[comp] = {**dict(emo.get(comp) or {}), "enable": comp in ROWS[row]}
        if "copypaste" not in ROWS[row]:
            emo["erl"]["pairs"] = "all"  # no CopyPaste pairs to restrict the term to
        out["emotion"] = emo
        try:
            emotion_options(emo, int(data.get("num_frames", 200)))
        except ValueError as e:
            raise DataError(str(e), args.config) from None
        atomic_write_text(args.out_dir / f"{row}.yaml", yaml.safe_dump(out, sort_keys=False))
    print(f"make_emotion_configs: {', '.join(rows)} -> {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
