#!/bin/sh
# Starts a single-node Slurm cluster (munged + slurmctld + slurmd) whose state,
# sockets, logs and slurm.conf live in one temporary directory, for the Slurm
# executor's integration tests (tests/cluster/slurm.rs) and for trying
# `flowinfer sbi --executor slurm` on one machine (docs/CLUSTER.md).
#
#   scripts/slurm-local.sh start [DIR]   # default DIR: /tmp/flowinfer-slurm
#   scripts/slurm-local.sh stop  [DIR]
#   scripts/slurm-local.sh status [DIR]
#
# Needs Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge) and root
# (SlurmUser=root). The node is `localhost` with CPUs=2 in a partition `debug`. The
# script prints `export SLURM_CONF=DIR/slurm.conf`; it also links
# /etc/slurm/slurm.conf to it when that file does not exist yet, so that sbatch,
# squeue, scancel and sinfo find the cluster without the variable.
set -eu

action=${1:-start}
dir=${2:-/tmp/flowinfer-slurm}
cpus=${SLURM_LOCAL_CPUS:-2}
ctld_port=${SLURM_LOCAL_PORT:-16817}
slurmd_port=$((ctld_port + 1))

stop() {
    for pid in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munge/munged.pid; do
        if [ -f "$pid" ]; then
            kill "$(cat "$pid")" 2>/dev/null || true
            rm -f "$pid"
        fi
    done
}

case "$action" in
stop)
    stop
    if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$dir/slurm.conf" ]; then
        rm -f /etc/slurm/slurm.conf
    fi
    echo "stopped the local Slurm cluster in $dir"
    exit 0
    ;;
status)
    SLURM_CONF=$dir/slurm.conf sinfo -h -o "%P %a %D %t" && exit 0
    exit 1
    ;;
start) ;;
*)
    echo "usage: $0 start|stop|status [DIR]" >&2
    exit 2
    ;;
esac

for tool in munged slurmctld slurmd sbatch sinfo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: \`$tool\` not found; install Slurm with: apt-get install -y slurm-wlm munge" >&2
        exit 3
    fi
done

stop
mkdir -p "$dir/munge" "$dir/state" "$dir/spool" "$dir/log"
chmod 700 "$dir/munge"
if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 2>/dev/null
fi
chmod 400 "$dir/munge/munge.key"
munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" \
    --seed-file="$dir/munge/munged.seed"

mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)
cat >"$dir/slurm.conf" <<CONF
# Written by scripts/slurm-local.sh: a single-node test cluster.
ClusterName=flowinfer
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MaxArraySize=100001
SchedulerParameters=sched_interval=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

export SLURM_CONF="$dir/slurm.conf"
if [ ! -e /etc/slurm/slurm.conf ] && [ -d /etc/slurm ] && [ -w /etc/slurm ]; then
    ln -s "$dir/slurm.conf" /etc/slurm/slurm.conf
fi
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N localhost

# Wait until the node accepts jobs.
i=0
while [ $i -lt 60 ]; do
    state=$(sinfo -h -n localhost -o "%t" 2>/dev/null || true)
    case "$state" in
    idle*|mix*|alloc*)
        echo "export SLURM_CONF=$SLURM_CONF"
        exit 0
        ;;
    esac
    i=$((i + 1))
    sleep 0.5
done
echo "error: the local Slurm node did not become idle (state: ${state:-unknown}); see $dir/log/" >&2
tail -n 5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
exit 4
