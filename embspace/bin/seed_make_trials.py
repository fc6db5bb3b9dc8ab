"""Trial lists of the mismatched mini test conditions (``seed_make_corpus``).

    python -m embspace.bin.seed_make_trials --base-metadata data/corpus/metadata.jsonl \
        --metadata data/corpus_seed/metadata.jsonl --mismatch-out data/test_seed/trials_mismatch \
        --vcmix-out data/test_seed/trials_vcmix

``mismatch``: every original test utterance (enrollment) against every degraded utterance,
except an utterance against its own degraded copy. ``vcmix`` (VC-Mix-like): target trials are
same-speaker pairs from different sessions (original sessions and conversations); non-target
trials are different speakers of the same conversation only.
"""

from __future__ import annotations

import itertools
import sys

from embspace.cli.args import cli_parser
from embspace.data.manifests import read_metadata
from embspace.data.tables import write_lines
from embspace.utils.errors import DataError, cli_main


def _label(a: str, b: str) -> str:
    return "target" if a == b else "nontarget"


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = cli_parser("seed_make_trials", __doc__)
    p.add_argument("--base-metadata", required=True, help="metadata.jsonl of the base corpus")
    p.add_argument("--metadata", required=True, help="metadata.jsonl of the additions")
    p.add_argument("--base-split", default="test", help="split of the base corpus the additions extend")
    p.add_argument("--mismatch-out", required=True, help="clean enrollment vs degraded test")
    p.add_argument("--vcmix-out", required=True, help="cross-session targets, within-session non-targets")
    args = p.parse_args(argv)
    base = [e for e in read_metadata(args.base_metadata) if e.get("split") == args.base_split]
    extra = read_metadata(args.metadata)
    if not base:
        raise DataError(f"no '{args.base_split}' utterances", args.base_metadata)
    for n, e in enumerate(extra, 1):
        if "condition" not in e or "session_id" not in e:
            raise DataError("entry lacks 'condition' or 'session_id' (not made by seed_make_corpus?)",
                            args.metadata, n, e["utt"])
    spk = {e["utt"]: e["speaker"] for e in base + extra}
    degraded = [e for e in extra if e["condition"] != "conversation"]
    segments = [e for e in extra if e["condition"] == "conversation"]
    if not degraded or not segments:
        raise DataError(f"need degraded utterances and conversations, got {len(degraded)} and {len(segments)}",
                        args.metadata)
    mismatch = [f"{b['utt']} {d['utt']} {_label(b['speaker'], d['speaker'])}"
                for b in sorted(base, key=lambda e: e["utt"]) for d in sorted(degraded, key=lambda e: e["utt"])
                if b["utt"] != d["source_utt"]]
    sessions = {e["utt"]: f"{e['speaker']}-s{e['session']}" for e in base}
    sessions.update({e["utt"]: e["session_id"] for e in segments})
    pool = sorted(sessions)
    vcmix = []
    for a, b in itertools.combinations(pool, 2):
        same_spk, same_sess = spk[a] == spk[b], sessions[a] == sessions[b]
        if same_spk and not same_sess:
            vcmix.append(f"{a} {b} target")
        elif not same_spk and same_sess:
            vcmix.append(f"{a} {b} nontarget")
    write_lines(args.mismatch_out, mismatch)
    write_lines(args.vcmix_out, vcmix)
    n_t = sum(x.endswith(" target") for x in vcmix)
    print(f"seed_make_trials: mismatch {len(mismatch)} trials -> {args.mismatch_out}; vcmix {n_t} target + "
          f"{len(vcmix) - n_t} non-target -> {args.vcmix_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
