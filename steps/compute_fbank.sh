#!/usr/bin/env bash
# Compute and store lhotse fbank features for one split of a corpus in --nj jobs of the launcher
# (--cmd, default $train_cmd of cmd.sh): a prepare step, $cmd JOB=1:N (each job its fixed 500-cut shards,
# into a folder they share), then a final step that checks every shard, names the version and swaps in
# <out-dir>/<corpus>_cuts_<split>.jsonl.gz. The bytes do not depend on --nj. Job logs:
# <out-dir>/log/fbank_<corpus>_<split>.JOB.log.
# Usage: steps/compute_fbank.sh [--cmd "$train_cmd"] [--nj 2] [--num-mel-bins 80] <manifest-dir> <corpus> <split> <out-dir>
set -euo pipefail
cmd=${train_cmd:-"$(dirname "$0")/../utils/run.py"}
nj=1
num_mel_bins=80
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--cmd CMD] [--nj N] [--num-mel-bins M] <manifest-dir> <corpus> <split> <out-dir>" >&2
  exit 1
fi
opts=(--manifest-dir "$1" --corpus "$2" --split "$3" --out-dir "$4" --num-mel-bins "$num_mel_bins")
python -m embspace.bin.compute_fbank "${opts[@]}" --prepare-jobs
# shellcheck disable=SC2086
$cmd JOB=1:"$nj" "$4/log/fbank_$2_$3.JOB.log" python -m embspace.bin.compute_fbank "${opts[@]}" --job JOB --nj "$nj"
python -m embspace.bin.compute_fbank "${opts[@]}" --finish-jobs
