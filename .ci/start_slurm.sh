#!/usr/bin/env bash
# Install and start a single-node Slurm cluster (munge + slurmctld + slurmd) on this machine.
#
# Must run as root (Debian/Ubuntu: packages slurm-wlm and munge). Idempotent: packages, the munge
# key, the config and the daemons are only installed, written or started when missing, so calling it
# twice is safe. Ends once `sinfo` shows the node usable (idle, mixed or allocated).
# Used by the tests marked `slurm` (tests/test_slurm.py), which skip when no controller answers.
set -euo pipefail

say() { echo "start_slurm: $*"; }
die() { echo "start_slurm: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root"

host=$(hostname -s)
conf_dir=/etc/slurm
conf="$conf_dir/slurm.conf"

# 1. Packages.
if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
    && command -v sbatch >/dev/null; then
  say "slurm-wlm and munge already installed"
else
  say "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# 2. Munge: runtime/log dirs owned by munge, a key, the daemon running as user munge.
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge /var/lib/munge
if [ ! -s /etc/munge/munge.key ]; then
  say "creating munge key"
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile=/etc/munge/munge.key --force
  elif command -v create-munge-key >/dev/null; then
    create-munge-key -f
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  say "munged already running"
else
  say "starting munged"
  runuser -u munge -- munged
  for _ in $(seq 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.1
  done
  munge -n | unmunge >/dev/null || die "munged does not answer"
fi

# 3. One-node slurm.conf (rewritten only when its content changes).
cpus=$(nproc)
mem_mb=$(free -m | awk '/^Mem:/ {print $2}')
real_mem=$(( mem_mb > 2048 ? mem_mb - 1024 : mem_mb * 3 / 4 ))
install -d -m 0755 "$conf_dir" /var/spool/slurmd /var/spool/slurmctld /var/log/slurm
new_conf=$(cat <<EOF
# Written by embspace .ci/start_slurm.sh: a single-node test cluster.
ClusterName=embspace
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
NodeName=$host CPUs=$cpus RealMemory=$real_mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
)
conf_changed=0
if [ -f "$conf" ] && [ "$(cat "$conf")" = "$new_conf" ]; then
  say "$conf up to date"
else
  say "writing $conf (node $host, CPUs=$cpus, RealMemory=$real_mem MB)"
  printf '%s\n' "$new_conf" > "$conf.tmp"
  mv "$conf.tmp" "$conf"
  conf_changed=1
fi

# 4. Daemons (restarted when the config changed).
stop_daemon() {  # name pidfile
  if [ -s "$2" ] && kill -0 "$(cat "$2")" 2>/dev/null; then
    say "stopping $1 (config changed)"
    kill "$(cat "$2")"
    for _ in $(seq 100); do kill -0 "$(cat "$2")" 2>/dev/null || break; sleep 0.1; done
  fi
}
running() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if [ "$conf_changed" = 1 ]; then
  stop_daemon slurmd /run/slurmd.pid
  stop_daemon slurmctld /run/slurmctld.pid
fi
if running /run/slurmctld.pid; then
  say "slurmctld already running"
else
  say "starting slurmctld"
  slurmctld
fi
if running /run/slurmd.pid; then
  say "slurmd already running"
else
  say "starting slurmd"
  slurmd
fi

# 5. Wait for the node.
state=""
for _ in $(seq 120); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null | head -n 1 || true)
  case "$state" in
    idle|mix|alloc|comp) break ;;
    down*|drain*|drng*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mix|alloc|comp) say "node $host is $state; sbatch is ready" ;;
  *) die "node $host not ready (state '${state:-no answer}'); see /var/log/slurm/*.log" ;;
esac
sinfo
