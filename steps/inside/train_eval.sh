#!/usr/bin/env bash
# Train an encoder on (real + synthetic) training cuts, extract embeddings of the REAL training and
# test sets with it, and score trial lists: the evaluation of one INSIDE system (or its real-only
# baseline). The real training embeddings give the mean for mean subtraction and the AS-norm cohort,
# exactly as in the baseline recipe, so systems differ only in what the encoder was trained on.
# Usage: steps/inside/train_eval.sh [--cmd utils/run.py] [--nj 2] [--nproc 1] [--device auto] [--num-avg 3]
#          [--num-threads 2] [--norms "none asnorm"] [--top-n 100] [--equal-steps false] [--seed N]
#          <config.yaml> <train-cuts> <exp-dir> <real-train-cuts> <real-train-data> <test-cuts> <test-data> NAME=TRIALS...
# --equal-steps true: as many batches per epoch as one pass over <real-train-cuts> gives (the real-only
# baseline's number), whatever the size of <train-cuts>: an equal-compute comparison (config written
# to <exp-dir>/train_config.yaml).
# Writes <exp-dir>/models/avg_model.pt, <exp-dir>/embeddings/{train,test}/, <exp-dir>/scores_<norm>/NAME.{score,metrics.json}.
set -euo pipefail
cmd=utils/run.py
nj=1
nproc=1
device=auto
num_avg=3
num_threads=0
norms=none
top_n=300
equal_steps=false
seed=          # training seed (steps/train.sh --seed); empty: the config's
. "$(dirname "$0")/../../utils/parse_options.sh"
if [ $# -lt 8 ]; then
  echo "Usage: $0 [options] <config> <train-cuts> <exp-dir> <real-train-cuts> <real-train-data> <test-cuts> <test-data> NAME=TRIALS..." >&2
  exit 1
fi
config=$1; cuts=$2; dir=$3; train_cuts=$4; train_data=$5; test_cuts=$6; test_data=$7
shift 7
steps=$(dirname "$0")/..  # the steps folder
if [ "$equal_steps" = true ]; then
  mkdir -p "$dir"
  python "$steps/make_train_config.py" --config "$config" --out "$dir/train_config.yaml" \
    --batches-like "$train_cuts" > /dev/null
  config=$dir/train_config.yaml
fi

seed_opt=(); [ -z "$seed" ] || seed_opt=(--seed "$seed")
"$steps/train.sh" --nproc "$nproc" --device "$device" --num-avg "$num_avg" "${seed_opt[@]}" --num-threads "$num_threads" \
  "$config" "$cuts" "$dir"
"$steps/extract_embeddings.sh" --cmd "$cmd" --nj "$nj" "$dir/models/avg_model.pt" "$train_cuts" "$train_data" \
  "$dir/embeddings/train"
"$steps/extract_embeddings.sh" --cmd "$cmd" --nj "$nj" "$dir/models/avg_model.pt" "$test_cuts" "$test_data" \
  "$dir/embeddings/test"
for item in "$@"; do
  name=${item%%=*}; trials=${item#*=}
  for norm in $norms; do
    "$steps/score.sh" --norm "$norm" --top-n "$top_n" "$trials" "$dir/embeddings/test" "$dir/embeddings/train" \
      "$dir/scores_$norm/$name"
  done
done
