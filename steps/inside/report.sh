#!/usr/bin/env bash
# Add one INSIDE system's rows to the results table: a verification row per trial list, from
# <score-dir>/<list>.{metrics.json,score}, with KEY=VALUE extras and, with --data-report, the size of
# its synthetic data set (kept identities and utterances, filtered, synthetic fraction). With
# --gender-dir instead: the two gender classification rows (<gender-dir>/{real,inside}.metrics.json).
# Usage: steps/inside/report.sh --results exp/results.json --trials "mini_test mini_test_same_gender"
#          --system S [--method inside] [--baseline B] --score-dir DIR [--data-report FILE] [KEY=VALUE ...]
#        steps/inside/report.sh --results exp/results.json --gender-dir DIR [--gender-trials mini_test]
set -euo pipefail
results=
trials=
system=
method=inside
baseline=
score_dir=
data_report=
gender_dir=
gender_trials=mini_test
. "$(dirname "$0")/../../utils/parse_options.sh"
usage="Usage: $0 --results FILE (--trials \"NAMES\" --system S --score-dir DIR [--baseline B] [--data-report F] [KEY=VALUE...] | --gender-dir DIR)"
[ -n "$results" ] || { echo "$usage" >&2; exit 1; }
report() { python -m embspace.bin.report --results "$results" "$@"; }
if [ -n "$gender_dir" ]; then
  report --system gender_real --method baseline --task gender --trials "$gender_trials" \
    --metrics "$gender_dir/real.metrics.json" --score-file "$gender_dir/real.predictions"
  report --system gender_inside --method inside --baseline gender_real --task gender --trials "$gender_trials" \
    --metrics "$gender_dir/inside.metrics.json" --score-file "$gender_dir/inside.predictions"
  exit 0
fi
[ -n "$trials" ] && [ -n "$system" ] && [ -n "$score_dir" ] || { echo "$usage" >&2; exit 1; }
extras=()
for kv in "$@"; do
  [[ "$kv" == ?*=* ]] || { echo "$0: expected KEY=VALUE, got '$kv'" >&2; exit 1; }
  extras+=(--extra "$kv")
done
if [ -n "$data_report" ]; then  # the kept identities/utterances of its data set
  sizes=$(python - "$data_report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r.get("combined", {})
print(f"identities={r['kept_identities']} synthetic_utts={r['kept_utterances']} "
      f"filtered={sum(r['removed'].values())} synthetic_fraction={c.get('synthetic_fraction', '')}")
PY
  )
  for kv in $sizes; do extras+=(--extra "$kv"); done
fi
base=(); [ -z "$baseline" ] || base=(--baseline "$baseline")
for t in $trials; do
  report --system "$system" --method "$method" "${base[@]}" --trials "$t" --metrics "$score_dir/$t.metrics.json" \
    --score-file "$score_dir/$t.score" "${extras[@]}"
done
