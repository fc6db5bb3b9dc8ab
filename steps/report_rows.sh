#!/usr/bin/env bash
# Add the baseline rows of systems to <exp-root>/results.json (and results.md): one row per trial
# list, system and norm, from <exp-root>/<system>/scores_<norm>/<list>.metrics.json; each a guarded
# step. Rows of <system> with AS-norm are named <system>_asnorm.
# Usage: steps/report_rows.sh [--norms "none asnorm"] [--marker-prefix <exp-root>/.done/report]
#          [--force false] <exp-root> "<list-name>..." <system>...
set -euo pipefail
norms="none asnorm"
marker_prefix=
force=false
. "$(dirname "$0")/../utils/parse_options.sh"
. "$(dirname "$0")/lib.sh"
[ $# -ge 3 ] || die "Usage: $0 [--norms \"none asnorm\"] <exp-root> \"<list-name>...\" <system>..."
exp_root=$1; names=$2; shift 2
marker_prefix=${marker_prefix:-$exp_root/.done/report}
for name in $names; do
  for sys in "$@"; do
    for norm in $norms; do
      label=$sys; [ "$norm" = none ] || label=${sys}_$norm
      out=$exp_root/$sys/scores_$norm/$name
      run_stage --name "report-$label-$name" --marker "$marker_prefix.$label.$name" \
        --inputs "$out.metrics.json" --outputs "$exp_root/results.json" -- \
        python -m embspace.bin.report --results "$exp_root/results.json" --system "$label" --method baseline \
          --trials "$name" --metrics "$out.metrics.json" --score-file "$out.score" --extra "norm=$norm"
    done
  done
done
