"""Train the conditioning network of the espeak backend on random voices rendered and embedded.

    python -m embspace.bin.inside_train_condnet --out-dir exp/inside/condnet --encoder ge2e \
        --num-voices 800 --utts-per-voice 2 --nj 2 --espeak-data-dir exp/inside/espeak-ng-data

Draws ``--num-voices`` random voices (half male, half female: one shipped espeak-ng variant or a
blend of two, an accent, pitch/rate and colouring in the mini corpus's ranges), renders
``--utts-per-voice`` random prompts of each (recorded in simulated sessions unless ``--record
false``), embeds them with ``--encoder`` (``ge2e`` or a trained encoder's model file), and fits
the network (embedding -> voice). Rendered embeddings are cached in ``<out-dir>/voices.<key>.npz``
(key: every option that changes them), so retraining with other network options is cheap.
Writes ``<out-dir>/model.pt`` and ``<out-dir>/summary.json``.
"""

from __future__ import annotations

import argparse
import sys

from embspace.cli.args import add_bool, cli_parser
from embspace.inside.condnet import CondNetOptions
from embspace.inside.voices import train_on_voices
from embspace.utils.errors import cli_main


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = cli_parser("inside_train_condnet", __doc__)
    p.add_argument("--out-dir", required=True, help="model.pt, summary.json and the rendered-voice cache go here")
    p.add_argument("--encoder", default="ge2e", help="'ge2e' or an encoder model file: the conditioning space")
    v = p.add_argument_group("random voices")
    v.add_argument("--num-voices", type=int, default=800, help="random voices to render (default 800)")
    v.add_argument("--utts-per-voice", type=int, default=2, help="utterances rendered per voice (default 2)")
    v.add_argument("--pure-fraction", type=float, default=0.5,
                   help="share of voices that are one shipped variant rather than a blend of two (default 0.5)")
    add_bool(v, "--record", True, "record the voices in simulated sessions (channel, noise) as the corpus does")
    v.add_argument("--espeak-data-dir", help="private espeak-ng data folder (default: a per-user temporary one)")
    v.add_argument("--nj", type=int, default=1, help="parallel rendering processes")
    n = p.add_argument_group("network")
    d = CondNetOptions()
    n.add_argument("--hidden", type=int, default=d.hidden, help=f"hidden units (default {d.hidden})")
    n.add_argument("--layers", type=int, default=d.layers, help=f"hidden layers (default {d.layers})")
    n.add_argument("--dropout", type=float, default=d.dropout, help=f"dropout (default {d.dropout})")
    n.add_argument("--epochs", type=int, default=d.epochs, help=f"full-batch epochs (default {d.epochs})")
    n.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    n.add_argument("--weight-decay", type=float, default=d.weight_decay, help=f"AdamW weight decay (default {d.weight_decay})")
    n.add_argument("--blend-top", type=int, default=d.blend_top,
                   help=f"anchors blended at synthesis, by renormalised probability (default {d.blend_top})")
    add_bool(n, "--utterance-inputs", True, "also train on single-utterance embeddings besides each voice's mean")
    p.add_argument("--seed", type=int, default=0, help="seed of the voices, texts and training")
    return p


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Render (or reuse) the voices, fit the network, write model.pt and summary.json."""
    train_on_voices(build_parser().parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
