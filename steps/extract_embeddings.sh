#!/usr/bin/env bash
# Extract embeddings of a split with --nj jobs through $cmd, then merge them:
#   <out-dir>/xvector.scp, mean.vec, and (with a data dir) spk_xvector.scp, num_utts.ark.
# Usage: steps/extract_embeddings.sh [--cmd "$train_cmd"] [--gpu-cmd "$cuda_cmd"] [--nj 2] [--use-gpu false] [--batch-size 1]
#          [--copies-config conf/seed.yaml [--noise-manifest M] [--music-manifest M] [--rir-manifest M]]
#          <model.pt|ge2e> <cuts.jsonl.gz> <data-dir|-> <out-dir>
# With --copies-config: embeddings of augmented copies (SEED training data), keyed <utt>@<kind>@<draw>;
# give '-' as the data dir (no speaker means).
set -euo pipefail
cmd=${train_cmd:-"$(dirname "$0")/../utils/run.py"}  # CPU jobs (cmd.sh's train_cmd)
gpu_cmd=${cuda_cmd:-"$(dirname "$0")/../utils/run.py --gpu 1"}  # GPU jobs (--use-gpu true; cmd.sh's cuda_cmd)
nj=1
use_gpu=false
batch_size=1
num_threads=1
copies_config=
noise_manifest=
music_manifest=
rir_manifest=
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 4 ]; then
  echo "Usage: $0 [--cmd CMD] [--nj N] [--use-gpu true|false] [--copies-config YAML] <model.pt|ge2e> <cuts> <data-dir|-> <out-dir>" >&2
  exit 1
fi
model=$1; cuts=$2; data=$3; dir=$4
# Built under a temporary name and swapped in whole by merge_embeddings (the old folder stays
# complete until then); leftovers of killed runs go first (a running extraction's are kept).
tmp="$(dirname "$dir")/.tmp.$(basename "$dir").$$"
python -m embspace.bin.clean_leftovers "$dir"
mkdir -p "$tmp/log"
launcher=$cmd
[ "$use_gpu" = false ] || launcher=$gpu_cmd
copy_opts=()
[ -z "$copies_config" ] || copy_opts+=(--copies-config "$copies_config")
[ -z "$noise_manifest" ] || copy_opts+=(--noise-manifest "$noise_manifest")
[ -z "$music_manifest" ] || copy_opts+=(--music-manifest "$music_manifest")
[ -z "$rir_manifest" ] || copy_opts+=(--rir-manifest "$rir_manifest")
# shellcheck disable=SC2086
$launcher JOB=1:"$nj" "$tmp/log/extract.JOB.log" \
  python -m embspace.bin.extract --model "$model" --cuts "$cuts" --out-dir "$tmp" \
    --job JOB --nj "$nj" --batch-size "$batch_size" --use-gpu "$use_gpu" --num-threads "$num_threads" "${copy_opts[@]}"
spk_opts=()
[ "$data" = - ] || spk_opts=(--utt2spk "$data/utt2spk")
python -m embspace.bin.merge_embeddings --dir "$tmp" --nj "$nj" "${spk_opts[@]}" --final-dir "$dir"
