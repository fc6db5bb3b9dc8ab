#!/usr/bin/env bash
# Run one command as one job of a launcher (utils/run.py, utils/slurm.py, utils/queue.py) and show its
# log while it runs; exit with the job's status. For the single heavy steps of a recipe (SEED, NESSA,
# condnet training): the same path locally and on a cluster.
# Usage: steps/job.sh [--cmd "$cuda_cmd"] [--gpus 1] [--num-threads N] <log> <command> [args...]
# --gpus: GPUs asked of the launcher (0 for a CPU job); --num-threads: CPUs asked (0: the launcher's default).
set -euo pipefail
cmd=${cuda_cmd:-"$(dirname "$0")/../utils/run.py"}
gpus=1
num_threads=0
. "$(dirname "$0")/../utils/parse_options.sh"
[ $# -ge 2 ] || { echo "Usage: $0 [--cmd CMD] [--gpus N] [--num-threads N] <log> <command> [args...]" >&2; exit 1; }
log=$1; shift
opts=(--gpu "$gpus")
[ "$num_threads" = 0 ] || opts+=(--num-threads "$num_threads")
mkdir -p "$(dirname "$log")"
rm -f "$log"
# shellcheck disable=SC2086
$cmd "${opts[@]}" "$log" "$@" &
pid=$!
trap 'kill "$pid" 2>/dev/null; exit 130' INT TERM HUP
tail -n +1 -F --pid="$pid" "$log" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
if [ "$rc" -ne 0 ]; then  # the job's last words on stderr too (an error message of the command, say)
  grep -v '^#' "$log" 2>/dev/null | tail -n 3 | sed 's/^/  /' >&2 || true
fi
exit "$rc"
