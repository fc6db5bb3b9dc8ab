#!/usr/bin/env bash
# INSIDE data expansion with Kokoro-82M: the source identities are Kokoro's stock voices.
#   1. the voices as INSIDE sources (embspace.bin.kokoro_sources) -> <dir>/sources/
#      (mean style vectors to pair, whole packs to interpolate, spk2gender from the voice names)
#   2. steps/inside/expand.sh with the kokoro backend: nearest-neighbour pairs, SLERP of the flattened
#      packs with the parents' mean length, synthesis through $cmd (resumable), filters, data
#      -> <dir>/cuts_train.jsonl.gz, <dir>/data_report.json
# Usage: steps/inside/kokoro_expand.sh [options] <real-cuts> <dir>
#   --kokoro-dir DIR        model + voices/ (python local/prepare_kokoro.py --kokoro-dir DIR)
#   --languages ab          voice language letters (a American, b British English, j Japanese ...)
#   --threads 1             onnxruntime threads per synthesis job
#   --identity-opts "--num-identities 40 --k 4 --seed 0 ..."   more inside_identities options
#   --synth-dir DIR --synth-opts "..." --data-opts "..." --corpus NAME --manifest-dir DIR --kaldi-dir DIR
#   --fbank-dir DIR --cmd utils/run.py --nj 2                  as in steps/inside/expand.sh
set -euo pipefail
cmd=utils/run.py
nj=1
kokoro_dir=
languages=ab
threads=1
identity_opts=
synth_dir=
synth_opts=
data_opts=
corpus=inside_kokoro
manifest_dir=
kaldi_dir=
fbank_dir=
. "$(dirname "$0")/../../utils/parse_options.sh"
if [ $# -ne 2 ] || [ -z "$kokoro_dir" ]; then
  echo "Usage: $0 --kokoro-dir DIR [--languages ab] [--identity-opts ...] ... <real-cuts> <dir>" >&2
  exit 1
fi
real_cuts=$1; dir=$2
if [ ! -f "$kokoro_dir/kokoro-v1.0.int8.onnx" ]; then
  echo "$0: no Kokoro model in $kokoro_dir: run python local/prepare_kokoro.py --kokoro-dir '$kokoro_dir'" >&2
  exit 1
fi
python -m embspace.bin.kokoro_sources --kokoro-dir "$kokoro_dir" --languages "$languages" --out-dir "$dir/sources"
"$(dirname "$0")/expand.sh" --cmd "$cmd" --nj "$nj" --synth-dir "$synth_dir" \
  --tts-backend kokoro --backend-opts "kokoro_dir=$kokoro_dir num_threads=$threads" \
  --identity-opts "--mode nn --bank-scp $dir/sources/bank.scp --rescale-norm true --prefix kokoro_ $identity_opts" \
  --synth-opts "$synth_opts" --data-opts "$data_opts" --corpus "$corpus" --manifest-dir "$manifest_dir" \
  --kaldi-dir "$kaldi_dir" --fbank-dir "$fbank_dir" \
  "$dir/sources/spk_xvector.scp" "$dir/sources/spk2gender" "$real_cuts" "$dir"
