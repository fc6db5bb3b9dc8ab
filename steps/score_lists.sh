#!/usr/bin/env bash
# Score a system's test embeddings on trial lists, without and with AS-norm, each list and norm a
# guarded step: <exp-root>/<system>/scores_<norm>/<name>.{score,metrics.json,det.png}.
# Usage: steps/score_lists.sh [--norms "none asnorm"] [--top-n 300] [--test-set test] [--cohort-set train]
#          [--marker-prefix <exp-root>/.done/score] [--force false] <exp-root> <system> <name=trials>...
# Mean subtraction and the AS-norm cohort come from <exp-root>/<system>/embeddings/<cohort-set>;
# only AS-norm reads --top-n, so a new --top-n rescored only the AS-norm lists.
set -euo pipefail
norms="none asnorm"
top_n=300
test_set="test"
cohort_set=train
marker_prefix=
force=false
. "$(dirname "$0")/../utils/parse_options.sh"
. "$(dirname "$0")/lib.sh"
[ $# -ge 3 ] || die "Usage: $0 [--norms \"none asnorm\"] [--top-n N] <exp-root> <system> <name=trials>..."
exp_root=$1; sys=$2; shift 2
marker_prefix=${marker_prefix:-$exp_root/.done/score}
emb=$exp_root/$sys/embeddings
for norm in $norms; do
  for item in "$@"; do
    name=${item%%=*}; list=${item#*=}
    out=$exp_root/$sys/scores_$norm
    norm_opts=(--norm "$norm")
    [ "$norm" = none ] || norm_opts+=(--top-n "$top_n")
    run_stage --name "score-$sys-$norm-$name" --marker "$marker_prefix.$sys.$norm.$name" \
      --inputs "$list" "$emb/$test_set/xvector.scp" "$emb/$cohort_set/mean.vec" "$emb/$cohort_set/spk_xvector.scp" \
      --outputs "$out/$name.metrics.json" -- \
      steps/score.sh "${norm_opts[@]}" "$list" "$emb/$test_set" "$emb/$cohort_set" "$out/$name"
  done
done
