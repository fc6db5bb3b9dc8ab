#!/usr/bin/env bash
# Extract embeddings of a split with --nj jobs through $cmd, then merge them:
#   <out-dir>/xvector.scp, mean.vec, and (with a data dir) spk_xvector.scp, num_utts.ark.
# Usage: steps/extract_embeddings.sh [--cmd utils/run.py] [--nj 2] [--use-gpu false] [--batch-size 1]
#          <model.pt|ge2e> <cuts.jsonl.gz> <data-dir> <out-dir>
set -euo pipefail
cmd=utils/run.py
nj=1
use_gpu=false
batch_size=1
num_threads=1
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--cmd CMD] [--nj N] [--use-gpu true|false] <model.pt|ge2e> <cuts> <data-dir> <out-dir>" >&2
  exit 1
fi
model=$1; cuts=$2; data=$3; dir=$4
mkdir -p "$dir/log"
gpu_opt=""
if [ "$use_gpu" = true ]; then gpu_opt="--gpu 1"; fi
# shellcheck disable=SC2086
$cmd $gpu_opt JOB=1:"$nj" "$dir/log/extract.JOB.log" \
  python -m embspace.bin.extract --model "$model" --cuts "$cuts" --out-dir "$dir" \
    --job JOB --nj "$nj" --batch-size "$batch_size" --use-gpu "$use_gpu" --num-threads "$num_threads"
python -m embspace.bin.merge_embeddings --dir "$dir" --nj "$nj" --utt2spk "$data/utt2spk"
