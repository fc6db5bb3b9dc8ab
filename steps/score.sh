#!/usr/bin/env bash
# Score one trials list with one embedding set; write <out-prefix>.score, .metrics.json, .det.png
# (and, with AS-norm, .scoring.json: the cohort size and top-N used, which reach the results row).
# Usage: steps/score.sh [--norm none|asnorm] [--top-n 300] [--system NAME] <trials> <test-emb-dir> <cohort-emb-dir> <out-prefix>
# Mean subtraction uses <cohort-emb-dir>/mean.vec (e.g. the training set); AS-norm uses its
# speaker means (<cohort-emb-dir>/spk_xvector.scp) as the cohort. --system labels the DET curve
# (default: <sys> of <test-emb-dir> = .../<sys>/embeddings/<set>, plus _asnorm with AS-norm).
set -euo pipefail
norm=none
top_n=300
system=
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--norm none|asnorm] [--top-n N] [--system NAME] <trials> <test-emb-dir> <cohort-emb-dir> <out-prefix>" >&2
  exit 1
fi
trials=$1; emb=$2; cohort=$3; out=$4
mkdir -p "$(dirname "$out")"
if [ -z "$system" ]; then
  system=$(basename "$(dirname "$(dirname "$emb")")")
  [ "$norm" = none ] || system=${system}_$norm
fi
norm_opts=()
info_opts=()
case "$norm" in
  none) ;;
  asnorm) norm_opts=(--cohort-scp "$cohort/spk_xvector.scp" --top-n "$top_n" --info-json "$out.scoring.json")
          info_opts=(--scoring-info "$out.scoring.json") ;;
  *) echo "$0: --norm must be none or asnorm, got '$norm'" >&2; exit 1 ;;
esac
python -m embspace.bin.score --trials "$trials" --test-scp "$emb/xvector.scp" \
  --mean-vec "$cohort/mean.vec" "${norm_opts[@]}" --output "$out.score"
python -m embspace.bin.compute_metrics --scores "$out.score" --json "$out.metrics.json" --det-png "$out.det.png" \
  --name "$system" --title "$(basename "$trials")" "${info_opts[@]}"
