#!/usr/bin/env bash
# Compute and store lhotse fbank features for one split of a corpus.
# Usage: steps/compute_fbank.sh [--nj 2] [--num-mel-bins 80] <manifest-dir> <corpus> <split> <out-dir>
set -euo pipefail
nj=1
num_mel_bins=80
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--nj N] [--num-mel-bins M] <manifest-dir> <corpus> <split> <out-dir>" >&2
  exit 1
fi
python -m embspace.bin.compute_fbank --manifest-dir "$1" --corpus "$2" --split "$3" \
  --out-dir "$4" --num-mel-bins "$num_mel_bins" --nj "$nj"
