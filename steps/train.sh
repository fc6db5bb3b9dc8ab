#!/usr/bin/env bash
# Train a speaker encoder as one job of the GPU launcher (--cmd, default $cuda_cmd of cmd.sh): torchrun
# inside the job, --nproc processes on the job's host, resuming from <exp-dir>/models/checkpoint_latest.pt;
# then average the last N epoch models into <exp-dir>/models/avg_model.pt.
# Usage: steps/train.sh [--cmd "$cuda_cmd"] [--nproc 1] [--device auto] [--num-avg 3] [--num-threads 0]
#          [--gpus auto] [--nnodes 1] <config.yaml> <train-cuts> <exp-dir>
# --gpus: GPUs asked of the launcher (auto: --nproc, or 0 with --device cpu; on a host without GPUs the
# local launcher warns and training runs on CPU, the same path). --nnodes N > 1 (a Slurm launcher whose
# site config maps --nodes, as conf/slurm.conf does): one job of N tasks, one per node; srun starts
# torchrun on each, and they meet at a c10d rendezvous on the first node of the allocation
# (--gpus and --nproc per node). See README.md, "Running on a cluster".
# The config is checked against the cuts first (embspace.bin.check_train_config): a bad one fails with
# one line, before the job starts and before <exp-dir> is created. <exp-dir>/train.log keeps every
# run, each between a header (command, host, start time) and a footer (exit code, end time); the job's
# own log is <exp-dir>/log/train.log, shown while it runs.
set -euo pipefail
cmdline="$0 $*"
cmd=${cuda_cmd:-"$(dirname "$0")/../utils/run.py"}
nproc=1
device=auto
num_avg=3
num_threads=0
gpus=auto
nnodes=1
rdzv_port=29400
seed=                 # training seed (embspace.bin.train --seed); empty: the config's
. "$(dirname "$0")/../utils/parse_options.sh"
if [ $# -ne 3 ]; then
  echo "Usage: $0 [--cmd CMD] [--nproc N] [--device auto|cpu|cuda] [--num-avg N] [--gpus N] [--seed N] <config.yaml> <train-cuts> <exp-dir>" >&2
  exit 1
fi
config=$1; cuts=$2; exp_dir=$3
python -m embspace.bin.check_train_config --config "$config" --cuts "$cuts"
mkdir -p "$exp_dir/log"
if [ "$gpus" = auto ]; then
  if [ "$device" = cpu ]; then gpus=0; else gpus=$nproc; fi
fi
train=(-m embspace.bin.train --config "$config" --cuts "$cuts" --exp-dir "$exp_dir" --device "$device"
       --num-threads "$num_threads")
[ -z "$seed" ] || train+=(--seed "$seed")
nodes_opt=()
if [ "$nnodes" -gt 1 ]; then
  # one shell string, so that the node list and job id are read inside the job
  launch=("srun --kill-on-bad-exit=1 torchrun --nnodes $nnodes --nproc_per_node $nproc --rdzv_backend c10d \
--rdzv_endpoint \$(scontrol show hostnames \"\$SLURM_JOB_NODELIST\" | head -n 1):$rdzv_port --rdzv_id \$SLURM_JOB_ID \
$(printf '%q ' "${train[@]}")")
  nodes_opt=(--nodes "$nnodes")
else
  # --standalone: a free local port per run, so two trainings on one host do not collide
  launch=(torchrun --standalone --nnodes 1 --nproc_per_node "$nproc" "${train[@]}")
fi
joblog=$exp_dir/log/train.log
log=$exp_dir/train.log
printf '# %s\n# Running on %s\n# Started at %s\n' "$cmdline" "$(hostname)" "$(date)" >> "$log"
rm -f "$joblog"
# shellcheck disable=SC2086
$cmd --gpu "$gpus" "${nodes_opt[@]}" "$joblog" "${launch[@]}" &
job_pid=$!
trap 'kill "$job_pid" 2>/dev/null; echo "# Ended (killed) at $(date)" >> "$log"; exit 130' INT TERM HUP
tail -n +1 -F --pid="$job_pid" "$joblog" 2>/dev/null || true  # the job's output while it runs
set +e
wait "$job_pid"
rc=$?
set -e
trap - INT TERM HUP
cat "$joblog" >> "$log" 2>/dev/null || true
echo "# Ended (code $rc) at $(date)" >> "$log"
[ "$rc" -eq 0 ] || { echo "$0: training failed (exit code $rc); see $log" >&2; exit "$rc"; }
python -m embspace.bin.average_model --model-dir "$exp_dir/models" --num "$num_avg" \
  --out "$exp_dir/models/avg_model.pt"
