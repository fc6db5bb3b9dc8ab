#!/usr/bin/env bash
# Add the INSIDE rows to the results table: one verification row per system and trial list (rows
# given as "SYSTEM|METHOD|BASELINE|SCORE_DIR|KEY=VALUE ..."), with the size of its synthetic data
# set when KEY variant=NAME names one (<data-dir>/NAME/data_report.json), and the two gender
# classification rows (<gender-dir>/{real,inside}.metrics.json).
# Usage: steps/inside/report.sh --results exp/results.json --trials "mini_test mini_test_same_gender"
#          --data-dir exp/ecapa_mini/inside/data [--gender-dir DIR] [--gender-trials mini_test] ROW...
set -euo pipefail
results=
trials=
data_dir=
gender_dir=
gender_trials=mini_test
. "$(dirname "$0")/../../utils/parse_options.sh"
[ -n "$results" ] && [ -n "$trials" ] || { echo "Usage: $0 --results FILE --trials \"NAMES\" [--data-dir DIR] [--gender-dir DIR] ROW..." >&2; exit 1; }
report() { python -m embspace.bin.report --results "$results" "$@"; }
size_extras() {  # the kept identities/utterances of a data set, from its report
  python - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
c = r.get("combined", {})
print(f"identities={r['kept_identities']} synthetic_utts={r['kept_utterances']} "
      f"filtered={sum(r['removed'].values())} synthetic_fraction={c.get('synthetic_fraction', '')}")
PY
}
for row in "$@"; do
  IFS='|' read -r system method baseline sdir extra <<< "$row"
  extras=()
  for kv in $extra; do
    extras+=(--extra "$kv")
    if [ "${kv%%=*}" = variant ] && [ -n "$data_dir" ]; then
      for s in $(size_extras "$data_dir/${kv#*=}/data_report.json"); do extras+=(--extra "$s"); done
    fi
  done
  base=(); [ -z "$baseline" ] || base=(--baseline "$baseline")
  for t in $trials; do
    report --system "$system" --method "$method" "${base[@]}" --trials "$t" --metrics "$sdir/$t.metrics.json" \
      --score-file "$sdir/$t.score" "${extras[@]}"
  done
done
if [ -n "$gender_dir" ]; then
  report --system gender_real --method baseline --task gender --trials "$gender_trials" \
    --metrics "$gender_dir/real.metrics.json" --score-file "$gender_dir/real.predictions"
  report --system gender_inside --method inside --baseline gender_real --task gender --trials "$gender_trials" \
    --metrics "$gender_dir/inside.metrics.json" --score-file "$gender_dir/inside.predictions"
fi
