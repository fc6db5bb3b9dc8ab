#!/usr/bin/env bash
# INSIDE data expansion for one set of identities:
#   1. pair + interpolate  (embspace.bin.inside_identities)  -> <dir>/identities/
#   2. synthesise           ($cmd JOB=1:N, resumable per identity) -> <synth-dir>/
#   3. filters, manifests, Kaldi dir, fbank, real + synthetic cuts (embspace.bin.inside_make_data)
#      -> <dir>/cuts_train.jsonl.gz, <dir>/data_report.json
# Usage: steps/inside/expand.sh [options] <spk-scp> <spk2gender> <real-cuts> <dir>
#   --identity-opts "--mode nn --k 4 --identities-factor 1.0 ..."   options of inside_identities
#   --synth-dir DIR         synthesis folder (identities made from the same inputs share its audio)
#   --tts-backend espeak    built-in backend (inside_synthesize), or 'command' (external TTS, see --tts-command)
#   --backend-opts "K=V ..."   options of the built-in backend (espeak: model=... data_dir=...)
#   --tts-command "CMD"     command backend: run as '$cmd JOB=1:N log CMD jobs.JOB.jsonl'
#   --resample false        command backend: accept other sampling rates and resample them
#   --synth-opts "..."      text and recording options (--utts-per-identity, --record, --text-source, --language ...)
#   --data-opts "..."       options of inside_make_data (filters, --encoder, --real-spk-scp, --mix-ratio ...)
#   --corpus NAME --manifest-dir DIR --kaldi-dir DIR   where the synthetic set goes
#   --fbank-dir DIR         store fbank there and combine with real cuts that have stored features;
#                           '' combines audio cuts (on-the-fly features and augmentation)
#   --cmd utils/run.py --nj 2
set -euo pipefail
cmd=utils/run.py
nj=1
identity_opts=
synth_dir=
tts_backend=espeak
backend_opts=
tts_command=
resample=false
synth_opts=
data_opts=
corpus=inside
manifest_dir=
kaldi_dir=
fbank_dir=
. "$(dirname "$0")/../../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--identity-opts ...] [--synth-dir DIR] [--tts-backend espeak|command] ... <spk-scp> <spk2gender> <real-cuts> <dir>" >&2
  exit 1
fi
spk_scp=$1; spk2gender=$2; real_cuts=$3; dir=$4
[ -n "$synth_dir" ] || synth_dir=$dir/synth
[ -n "$manifest_dir" ] && [ -n "$kaldi_dir" ] || { echo "$0: --manifest-dir and --kaldi-dir are required" >&2; exit 1; }
fbank_opt=(); [ -z "$fbank_dir" ] || fbank_opt=(--fbank-dir "$fbank_dir")
mkdir -p "$dir/log" "$synth_dir/log"

# shellcheck disable=SC2086
python -m embspace.bin.inside_identities --spk-scp "$spk_scp" --spk2gender "$spk2gender" $identity_opts \
  --out-dir "$dir/identities"

if [ "$tts_backend" = command ]; then
  [ -n "$tts_command" ] || { echo "$0: --tts-backend command needs --tts-command" >&2; exit 1; }
  work=$synth_dir/tts
  # shellcheck disable=SC2086
  python -m embspace.bin.inside_command_jobs write --identities "$dir/identities" --work-dir "$work" \
    --out-dir "$synth_dir" --nj "$nj" $synth_opts
  failed=0
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$work/log/tts.JOB.log" $tts_command "$work/jobs.JOB.jsonl" || failed=1
  # collect even after a failure: identities whose outputs are all good are kept for the rerun
  # shellcheck disable=SC2086
  python -m embspace.bin.inside_command_jobs collect --identities "$dir/identities" --work-dir "$work" \
    --out-dir "$synth_dir" --nj "$nj" --resample "$resample" $synth_opts
  [ "$failed" = 0 ] || { echo "$0: the TTS command failed (logs: $work/log/tts.*.log)" >&2; exit 1; }
else
  bopts=()
  for kv in $backend_opts; do bopts+=(--backend-opt "$kv"); done
  # shellcheck disable=SC2086
  $cmd JOB=1:"$nj" "$synth_dir/log/synth.JOB.log" \
    python -m embspace.bin.inside_synthesize --identities "$dir/identities" --out-dir "$synth_dir" \
      --tts-backend "$tts_backend" "${bopts[@]}" $synth_opts --job JOB --nj "$nj"
fi

# shellcheck disable=SC2086
python -m embspace.bin.inside_make_data --identities "$dir/identities" --synth-dir "$synth_dir" \
  --corpus "$corpus" --manifest-dir "$manifest_dir" --kaldi-dir "$kaldi_dir" "${fbank_opt[@]}" \
  --real-cuts "$real_cuts" --combined-cuts "$dir/cuts_train.jsonl.gz" --report "$dir/data_report.json" --nj "$nj" $data_opts \
  2>&1 | tee "$dir/log/make_data.log"
