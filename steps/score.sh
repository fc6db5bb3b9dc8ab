#!/usr/bin/env bash
# Score one trials list with one embedding set and add the result to the report.
# Usage: steps/score.sh [--norm none|asnorm] [--top-n 300] [--method baseline] [--baseline SYS]
#          <system> <trials-name> <trials> <test-emb-dir> <cohort-emb-dir> <out-dir> <results.json>
# Mean subtraction uses <cohort-emb-dir>/mean.vec (the training set); AS-norm uses its
# speaker means (spk_xvector.scp) as cohort.
set -euo pipefail
norm=none
top_n=300
method=baseline
baseline=
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 7 ]; then
  echo "Usage: $0 [--norm none|asnorm] [--top-n N] [--method M] [--baseline SYS] <system> <trials-name> <trials> <test-emb-dir> <cohort-emb-dir> <out-dir> <results.json>" >&2
  exit 1
fi
system=$1; trials_name=$2; trials=$3; emb=$4; cohort=$5; out=$6; results=$7
mkdir -p "$out"
norm_opts=()
if [ "$norm" = asnorm ]; then norm_opts=(--cohort-scp "$cohort/spk_xvector.scp" --top-n "$top_n"); fi
python -m embspace.bin.score --trials "$trials" --test-scp "$emb/xvector.scp" \
  --mean-vec "$cohort/mean.vec" "${norm_opts[@]}" --output "$out/${trials_name}.score"
python -m embspace.bin.compute_metrics --scores "$out/${trials_name}.score" \
  --json "$out/${trials_name}.metrics.json" --det-png "$out/${trials_name}.det.png"
report_opts=(--method "$method")
if [ -n "$baseline" ]; then report_opts+=(--baseline "$baseline"); fi
python -m embspace.bin.report --results "$results" --system "$system" --trials "$trials_name" \
  --metrics "$out/${trials_name}.metrics.json" --score-file "$out/${trials_name}.score" "${report_opts[@]}" \
  --extra "norm=$norm"
