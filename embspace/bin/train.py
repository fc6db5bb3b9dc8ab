"""Train a speaker encoder with a margin softmax head (single process or under torchrun).

Example (steps/train.sh runs it so, after python -m embspace.bin.check_train_config):
    python -m embspace.bin.train --config conf/ecapa.yaml --cuts data/fbank/mini_cuts_train.jsonl.gz --exp-dir exp/ecapa
    torchrun --standalone --nproc_per_node 1 -m embspace.bin.train --config conf/ecapa.yaml \
        --cuts data/fbank/mini_cuts_train.jsonl.gz --exp-dir exp/ecapa
    python -m embspace.bin.train --config conf/emotion_ft.yaml --init exp/ecapa/models/avg_model.pt \
        --cuts data/emotion/finetune_cuts.jsonl.gz --exp-dir exp/emotion/ft_all    # fine-tune
Rerunning resumes from ``<exp-dir>/models/checkpoint_latest.pt`` and continues exactly.
``--seed N`` replaces the config's ``seed:`` (one run per seed: one exp-dir per seed); the seed in
effect is in ``<exp-dir>/config.yaml`` and the checkpoints, so a rerun with another seed is refused.
At the end ``model_<epoch>.pt`` files hold the encoder weights (average them with average_model).

Fine-tuning: ``--init`` (or ``init:`` in the config) starts the encoder from a model file; the
architecture is the file's (a ``model:`` section, if any, must agree), the head is new: random, or
(``head_init: class_means``) each class's mean embedding under the starting encoder.
An ``emotion:`` section trains on parallel pairs with CopyPaste, the ERL cosine term and
emotion-aware masking, each switchable (see ``embspace.emotion``).

``portable_numerics: true`` pins MKL, oneDNN and ATen to their AVX2 code paths and the thread count
(needs ``--num-threads N``) before torch is imported, so that x86 machines train the same encoder
(docs/reproducibility.md). The log's ``numerics:`` line says what was in effect.
"""

from __future__ import annotations

import sys

from embspace.cli.args import add_device, cli_parser, setup_logging
from embspace.training.config import load_config
from embspace.training.numerics import CONFIG_KEY, apply_portable_env, wants_portable
from embspace.utils.errors import DataError, cli_main


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Read the options and the config, set the numerics environment, train."""
    p = cli_parser("train", __doc__)
    p.add_argument("--config", required=True, help="training config (YAML: model, loss, optimizer, data, epochs...)")
    p.add_argument("--cuts", required=True, help="training cuts with features (or audio, with augmentation)")
    p.add_argument("--exp-dir", required=True, help="experiment dir: models/, config.yaml, spk2id.json")
    add_device(p, "auto", "auto: CUDA when available")
    p.add_argument("--num-threads", type=int, default=0, help="torch threads per process (0: leave as is)")
    p.add_argument("--init", default=None, help="start the encoder from this model file (overrides 'init:' of the config)")
    p.add_argument("--seed", type=int, default=None,
                   help="training seed (overrides 'seed:' of the config; recorded in <exp-dir>/config.yaml)")
    args = p.parse_args(argv)
    setup_logging()

    cfg = load_config(args.config)
    if args.seed is not None:
        cfg["seed"] = args.seed
    try:
        if wants_portable(cfg):  # before torch is imported (below): the libraries read it once
            apply_portable_env(args.num_threads)
    except (ValueError, RuntimeError) as e:
        raise DataError(str(e), args.config, key=CONFIG_KEY) from None
    import embspace.emotion.training  # noqa: F401  (registers the emotion: section; imports torch)
    from embspace.training.run import train_encoder

    train_encoder(cfg, args.config, args.cuts, args.exp_dir, args.device, args.num_threads, args.init)
    return 0


if __name__ == "__main__":
    sys.exit(main())
