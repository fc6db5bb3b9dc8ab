#!/usr/bin/env bash
# Embeddings and scores of one encoder on the emotional trial lists (a guarded step, one job of --cmd):
# <out-dir>/scores/test_*.{score,metrics.json} (embspace.bin.emotion_eval, --nj processes in the job).
# Usage: steps/emotion/eval_model.sh [--cmd "$train_cmd"] [--nj 2] [--inputs "files the cuts read"]
#          [--force false] <name> <marker> <model.pt> <eval-cuts> <trials-dir> <out-dir>
set -euo pipefail
cmd=${train_cmd:-"$(dirname "$0")/../../utils/run.py"}
nj=2
inputs=
force=false
. "$(dirname "$0")/../../utils/parse_options.sh"
. "$(dirname "$0")/../lib.sh"
[ $# -eq 6 ] || die "Usage: $0 [options] <name> <marker> <model.pt> <eval-cuts> <trials-dir> <out-dir>"
name=$1; marker=$2; model=$3; cuts=$4; trials=$5; out=$6
read -r -a extra <<< "$inputs"
run_stage --name "$name" --marker "$marker" --inputs "$model" "$cuts" "$trials" "${extra[@]}" \
  --outputs "$out/scores/test_merged.metrics.json" -- \
  steps/job.sh --cmd "$cmd" --gpus 0 "$out/log/eval.log" \
    python -m embspace.bin.emotion_eval --model "$model" --cuts "$cuts" --trials-dir "$trials" --out-dir "$out" --nj "$nj"
