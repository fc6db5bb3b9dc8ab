#!/usr/bin/env bash
# Train a speaker encoder through torchrun (resumes from <exp-dir>/models/checkpoint_latest.pt),
# then average the last N epoch models into <exp-dir>/models/avg_model.pt.
# Usage: steps/train.sh [--nproc 1] [--device auto] [--num-avg 3] [--num-threads 0] <config.yaml> <train-cuts> <exp-dir>
# The config is checked against the cuts first (embspace.bin.check_train_config): a bad one fails with
# one line, before torchrun starts and before <exp-dir> is created. <exp-dir>/train.log keeps every
# run, each between a header (command, host, start time) and a footer (exit code, end time).
set -euo pipefail
cmdline="$0 $*"
nproc=1
device=auto
num_avg=3
num_threads=0
master_port=0
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 3 ]; then
  echo "Usage: $0 [--nproc N] [--device auto|cpu|cuda] [--num-avg N] <config.yaml> <train-cuts> <exp-dir>" >&2
  exit 1
fi
config=$1; cuts=$2; exp_dir=$3
python -m embspace.bin.check_train_config --config "$config" --cuts "$cuts"
mkdir -p "$exp_dir"
if [ "$master_port" = 0 ]; then
  # a free port per run so that two recipes on one machine do not collide
  master_port=$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
log=$exp_dir/train.log
printf '# %s\n# Running on %s\n# Started at %s\n' "$cmdline" "$(hostname)" "$(date)" >> "$log"
trap 'echo "# Ended (killed) at $(date)" >> "$log"; exit 130' INT TERM HUP
set +e
torchrun --nnodes 1 --nproc_per_node "$nproc" --master_addr 127.0.0.1 --master_port "$master_port" \
  -m embspace.bin.train --config "$config" --cuts "$cuts" --exp-dir "$exp_dir" \
  --device "$device" --num-threads "$num_threads" 2>&1 | tee -a "$log"
rc=${PIPESTATUS[0]}
set -e
trap - INT TERM HUP
echo "# Ended (code $rc) at $(date)" >> "$log"
[ "$rc" -eq 0 ] || { echo "$0: training failed (exit code $rc); see $log" >&2; exit "$rc"; }
python -m embspace.bin.average_model --model-dir "$exp_dir/models" --num "$num_avg" \
  --out "$exp_dir/models/avg_model.pt"
