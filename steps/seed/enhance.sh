#!/usr/bin/env bash
# Enhance embedding sets with a trained SEED model in --nj jobs through $cmd (each job takes its
# share of every set), then merge each set: <out-root>/<set>/xvector.scp, mean.vec, and with
# --data-root (<data-root>/<set>/utt2spk) spk_xvector.scp, num_utts.ark.
# Usage: steps/seed/enhance.sh [--cmd "$train_cmd"] [--gpu-cmd "$cuda_cmd"] [--nj 1] [--use-gpu false] [--eval-seed 1]
#          [--t-star N] [--num-draws K] [--ddim-steps S] [--extractor model.pt|ge2e] [--data-root data]
#          <seed_model.pt> <in-root> <out-root> <set>...
set -euo pipefail
cmd=${train_cmd:-"$(dirname "$0")/../../utils/run.py"}  # CPU jobs (cmd.sh's train_cmd)
gpu_cmd=${cuda_cmd:-"$(dirname "$0")/../../utils/run.py --gpu 1"}  # GPU jobs (--use-gpu true; cmd.sh's cuda_cmd)
nj=1
use_gpu=false
eval_seed=1
t_star=
num_draws=
ddim_steps=
extractor=
data_root=
num_threads=1
. "$(dirname "$0")/../../utils/parse_options.sh"
if [ $# -lt 4 ]; then
  echo "Usage: $0 [--cmd CMD] [--nj N] [--use-gpu true|false] [--eval-seed S] [--t-star T] [--extractor X] [--data-root D] <seed_model.pt> <in-root> <out-root> <set>..." >&2
  exit 1
fi
model=$1; in_root=$2; out_root=$3; shift 3
mkdir -p "$out_root/log"
launcher=$cmd
[ "$use_gpu" = false ] || launcher=$gpu_cmd
opts=()
[ -z "$t_star" ] || opts+=(--t-star "$t_star")
[ -z "$num_draws" ] || opts+=(--num-draws "$num_draws")
[ -z "$ddim_steps" ] || opts+=(--ddim-steps "$ddim_steps")
[ -z "$extractor" ] || opts+=(--extractor "$extractor")
# shellcheck disable=SC2086
$launcher JOB=1:"$nj" "$out_root/log/enhance.JOB.log" \
  python -m embspace.bin.seed_enhance --model "$model" --in-root "$in_root" --out-root "$out_root" \
    --job JOB --nj "$nj" --eval-seed "$eval_seed" --use-gpu "$use_gpu" --num-threads "$num_threads" "${opts[@]}" "$@"
for set in "$@"; do
  spk_opts=()
  [ -z "$data_root" ] || spk_opts=(--utt2spk "$data_root/$set/utt2spk")
  python -m embspace.bin.merge_embeddings --dir "$out_root/$set" --nj "$nj" "${spk_opts[@]}"
done
