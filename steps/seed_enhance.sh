#!/usr/bin/env bash
# Enhance an embedding set with a trained SEED model in --nj jobs through $cmd, then merge:
#   <out-dir>/xvector.scp, mean.vec, and (with a data dir) spk_xvector.scp, num_utts.ark.
# Usage: steps/seed_enhance.sh [--cmd utils/run.py] [--nj 1] [--use-gpu false] [--eval-seed 1]
#          [--t-star N] [--num-draws K] [--ddim-steps S] [--extractor model.pt|ge2e]
#          <seed_model.pt> <in-emb-dir> <data-dir|-> <out-emb-dir>
set -euo pipefail
cmd=utils/run.py
nj=1
use_gpu=false
eval_seed=1
t_star=
num_draws=
ddim_steps=
extractor=
num_threads=1
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--cmd CMD] [--nj N] [--use-gpu true|false] [--eval-seed S] [--t-star T] [--extractor X] <seed_model.pt> <in-emb-dir> <data-dir|-> <out-emb-dir>" >&2
  exit 1
fi
model=$1; in_dir=$2; data=$3; dir=$4
mkdir -p "$dir/log"
gpu_opt=""
if [ "$use_gpu" = true ]; then gpu_opt="--gpu 1"; fi
opts=()
[ -z "$t_star" ] || opts+=(--t-star "$t_star")
[ -z "$num_draws" ] || opts+=(--num-draws "$num_draws")
[ -z "$ddim_steps" ] || opts+=(--ddim-steps "$ddim_steps")
[ -z "$extractor" ] || opts+=(--extractor "$extractor")
# shellcheck disable=SC2086
$cmd $gpu_opt JOB=1:"$nj" "$dir/log/enhance.JOB.log" \
  python -m embspace.bin.seed_enhance --model "$model" --in-scp "$in_dir/xvector.scp" --out-dir "$dir" \
    --job JOB --nj "$nj" --eval-seed "$eval_seed" --use-gpu "$use_gpu" --num-threads "$num_threads" "${opts[@]}"
spk_opts=()
[ "$data" = - ] || spk_opts=(--utt2spk "$data/utt2spk")
python -m embspace.bin.merge_embeddings --dir "$dir" --nj "$nj" "${spk_opts[@]}"
