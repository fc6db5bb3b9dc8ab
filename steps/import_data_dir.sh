#!/usr/bin/env bash
# Import a Kaldi data dir of one split: validated and checked (embspace.bin.import_data_dir) into lhotse
# manifests <manifest-dir>/<corpus>_{recordings,supervisions}_<split>.jsonl.gz, and copied to <out-dir>
# (wav.scp, utt2spk, spk2utt and the optional tables) for the steps that read Kaldi dirs.
# Usage: steps/import_data_dir.sh [--nj 4] <kaldi-dir> <corpus> <split> <manifest-dir> <out-dir>
set -euo pipefail
nj=4
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 5 ]; then
  echo "Usage: $0 [--nj N] <kaldi-dir> <corpus> <split> <manifest-dir> <out-dir>" >&2
  exit 1
fi
src=$1; corpus=$2; split=$3; manifests=$4; out=$5
python -m embspace.bin.import_data_dir --data-dir "$src" --corpus "$corpus" --split "$split" \
  --manifest-dir "$manifests" --nj "$nj"
[ "$(cd "$src" && pwd -P)" != "$(mkdir -p "$out" && cd "$out" && pwd -P)" ] || exit 0  # already in place
tmp="$(dirname "$out")/.tmp.$(basename "$out").$$"
rm -rf "$tmp"; mkdir -p "$tmp"
for f in wav.scp utt2spk segments spk2gender text utt2lang utt2dur reco2dur; do
  [ ! -f "$src/$f" ] || cp "$src/$f" "$tmp/$f"
done
python "$(dirname "$0")/../utils/utt2spk_to_spk2utt.py" "$tmp/utt2spk" > "$tmp/spk2utt"
rm -rf "$out.old"; [ ! -e "$out" ] || mv "$out" "$out.old"
mv "$tmp" "$out"; rm -rf "$out.old"
