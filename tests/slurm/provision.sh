#!/usr/bin/env bash
# Provision what the slurm-marked tests need: a real Slurm cluster on this one host (Debian's
# slurmd, slurmctld, slurm-client and munge), daemons started in the background without
# systemd. By default it emulates two nodes (node1, node2: one slurmd each, `slurmd -N`), so
# `srun -N 2` spans two nodes; SLURM_CI_NODES=1 gives one node named after the host.
# Idempotent: running daemons are kept; the config is rewritten (and only the daemons this
# script started are restarted) when it changes. Runs as root.
#
#   bash tests/slurm/provision.sh [start|status|stop]
#
# Finished jobs are forgotten 5 s after they end (MinJobAge, SLURM_CI_MIN_JOB_AGE), which makes
# `sbatch --wait` poll every 2 s instead of every 8 s: a short job returns in 2-4 s.
# Facts: srun/sbatch export the caller's environment and cwd to the tasks; no accounting
# database (no sacct); with two emulated nodes `hostname` in a task prints the real host name,
# $SLURMD_NODENAME the node's. Logs: /var/log/slurm/, /var/log/munge/munged.log.
set -euo pipefail

ACTION="${1:-start}"
NODES="${SLURM_CI_NODES:-2}"
export SLURM_CI_MIN_JOB_AGE="${SLURM_CI_MIN_JOB_AGE:-5}"
CONF=/etc/slurm/slurm.conf
RUNDIR=/run/slurm-ci                  # PIDs of the daemons THIS script started
LOGDIR=/var/log/slurm
CTLD_PIDFILE=/run/slurmctld.pid
MUNGE_PIDFILE=/run/munge/munged.pid
HN="$(hostname -s)"

log() { echo "slurm-provision: $*"; }
die() {
    echo "slurm-provision: ERROR: $*" >&2
    for f in "$LOGDIR"/slurmctld.log "$LOGDIR"/slurmd-*.log /var/log/munge/munged.log; do
        [ -f "$f" ] && { echo "---- last lines of $f" >&2; tail -n 15 "$f" >&2; }
    done
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

[ "$(id -u)" = 0 ] || die "run as root"
case "$NODES" in ''|*[!0-9]*|0) die "SLURM_CI_NODES must be a positive integer, got '$NODES'";; esac

node_names() {
    if [ "$NODES" = 1 ]; then echo "$HN"; else seq -f 'node%g' 1 "$NODES"; fi
}

# pid_alive PID NAME: PID is running (not a zombie) and its command name is NAME
pid_alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null &&
        [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ] &&
        ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}
pid_from() { cat "$1" 2>/dev/null || true; }
# live_pids NAME: PIDs of running (non-zombie) processes called NAME
live_pids() { ps -eo pid=,stat=,comm= | awk -v n="$1" '$3 == n && $2 !~ /^Z/ {printf "%s ", $1}'; }

# record NAME PIDFILE COMM: wait for the daemon just started to write PIDFILE,
# check it runs, and remember that this script started it
record() {
    for _ in $(seq 1 40); do pid_alive "$(pid_from "$2")" "$3" && break; sleep 0.25; done
    pid_alive "$(pid_from "$2")" "$3" || die "$1 did not start (no live pid in $2)"
    mkdir -p "$RUNDIR"; cp "$2" "$RUNDIR/$1.pid"
}

# stop_ours NAME COMM: stop the daemon recorded as NAME if it is still that program
stop_ours() {
    local f="$RUNDIR/$1.pid" pid i
    [ -f "$f" ] || return 0
    pid="$(cat "$f")"
    if pid_alive "$pid" "$2"; then
        kill -TERM "$pid"
        for i in $(seq 1 80); do pid_alive "$pid" "$2" || break; sleep 0.25; done
        if pid_alive "$pid" "$2"; then log "$1 ($pid) ignored SIGTERM, sending SIGKILL"; kill -KILL "$pid"; fi
        log "stopped $1 (pid $pid)"
    fi
    rm -f "$f"
}

stop_slurm_daemons() {
    local f n
    if pid_alive "$(pid_from "$RUNDIR/slurmctld.pid")" slurmctld; then
        # cancel jobs so that no slurmstepd/task outlives its slurmd
        squeue -h -o %i 2>/dev/null | xargs -r scancel 2>/dev/null || true
        for _ in $(seq 1 40); do [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.25; done
    fi
    for f in "$RUNDIR"/slurmd-*.pid; do
        [ -e "$f" ] || continue
        n="$(basename "$f" .pid)"
        stop_ours "$n" slurmd
    done
    stop_ours slurmctld slurmctld
}

install_packages() {
    local p missing=() t0
    APT_LOG="$(mktemp)"
    for p in munge slurmd slurmctld slurm-client; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && { log "packages already installed ($(slurmd -V))"; return 0; }
    t0="$(now)"
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || die "apt-get update failed"
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" \
        >"$APT_LOG" 2>&1 || { tail -n 20 "$APT_LOG" >&2; die "apt-get install failed"; }
    log "installed $(slurmd -V) in $(elapsed "$t0") s"
}

write_config() {
    # -> sets CONF_CHANGED=1 when /etc/slurm/slurm.conf was (re)written
    local hw cpus boards sockets cores threads mem per_mem i name new
    hw="$(slurmd -C | head -n 1)" || die "slurmd -C failed"
    field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
    cpus="$(field CPUs)"; boards="$(field Boards)"; sockets="$(field SocketsPerBoard)"
    cores="$(field CoresPerSocket)"; threads="$(field ThreadsPerCore)"; mem="$(field RealMemory)"
    [ -n "$cpus" ] && [ -n "$mem" ] || die "cannot parse 'slurmd -C': $hw"
    per_mem=$(( mem / NODES ))
    new="$(mktemp)"
    {
        echo "# written by slurm-single-node.sh ($NODES node(s) on host $HN)"
        echo "ClusterName=ci"
        echo "SlurmctldHost=$HN(127.0.0.1)"
        echo "SlurmUser=root"
        echo "AuthType=auth/munge"
        echo "ProctrackType=proctrack/linuxproc"
        echo "TaskPlugin=task/none"
        echo "MpiDefault=none"
        echo "ReturnToService=2"
        echo "SelectType=select/cons_tres"
        echo "SelectTypeParameters=CR_Core"
        echo "AccountingStorageType=accounting_storage/none"
        echo "JobAcctGatherType=jobacct_gather/none"
        echo "JobCompType=jobcomp/none"
        echo "StateSaveLocation=/var/spool/slurmctld"
        echo "SlurmdSpoolDir=/var/spool/slurmd/%n"
        echo "SlurmctldPidFile=$CTLD_PIDFILE"
        echo "SlurmdPidFile=/run/slurmd-%n.pid"
        echo "SlurmctldLogFile=$LOGDIR/slurmctld.log"
        echo "SlurmdLogFile=$LOGDIR/slurmd-%n.log"
        [ -n "${SLURM_CI_MIN_JOB_AGE:-}" ] && echo "MinJobAge=$SLURM_CI_MIN_JOB_AGE"
        i=0
        for name in $(node_names); do
            i=$((i + 1))
            printf 'NodeName=%s NodeHostname=%s NodeAddr=127.0.0.1 Port=%s CPUs=%s Boards=%s SocketsPerBoard=%s CoresPerSocket=%s ThreadsPerCore=%s RealMemory=%s State=UNKNOWN\n' \
                "$name" "$HN" $(( NODES == 1 ? 6818 : 17000 + i )) "$cpus" "$boards" "$sockets" "$cores" "$threads" "$per_mem"
        done
        echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    } >"$new"
    CONF_CHANGED=0
    if ! cmp -s "$new" "$CONF"; then
        mkdir -p "$(dirname "$CONF")"
        install -m 0644 "$new" "$CONF"
        CONF_CHANGED=1
        log "wrote $CONF"
    fi
    rm -f "$new"
}

start_munge() {
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then log "munged already running"; return 0; fi
    if [ ! -s /etc/munge/munge.key ]; then
        mkdir -p /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key || die "mungekey --create failed"
        chown munge:munge /etc/munge/munge.key; chmod 0600 /etc/munge/munge.key
    fi
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    rm -f "$MUNGE_PIDFILE"
    runuser -u munge -- /usr/sbin/munged || die "munged failed to start"
    for _ in $(seq 1 40); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.25; done
    munge -n | unmunge >/dev/null 2>&1 || die "munge credential round trip fails"
    record munged "$MUNGE_PIDFILE" munged
    log "started munged (pid $(cat "$MUNGE_PIDFILE"))"
}

start_slurm() {
    local name pidfile
    mkdir -p /var/spool/slurmctld "$LOGDIR"
    if pid_alive "$(pid_from "$CTLD_PIDFILE")" slurmctld; then
        log "slurmctld already running (pid $(cat "$CTLD_PIDFILE"))"
    else
        [ -z "$(live_pids slurmctld)" ] || die "a slurmctld not known to this script is running (pid $(live_pids slurmctld)); stop it first"
        rm -f "$CTLD_PIDFILE"
        /usr/sbin/slurmctld -c || die "slurmctld failed to start"
        record slurmctld "$CTLD_PIDFILE" slurmctld
        log "started slurmctld (pid $(cat "$CTLD_PIDFILE"))"
    fi
    for _ in $(seq 1 80); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.25; done
    scontrol ping 2>/dev/null | grep -q 'is UP' || die "slurmctld does not answer (scontrol ping)"
    for name in $(node_names); do
        pidfile="/run/slurmd-$name.pid"
        mkdir -p "/var/spool/slurmd/$name"
        if pid_alive "$(pid_from "$pidfile")" slurmd; then
            log "slurmd -N $name already running (pid $(cat "$pidfile"))"
            continue
        fi
        rm -f "$pidfile"
        /usr/sbin/slurmd -N "$name" || die "slurmd -N $name failed to start"
        record "slurmd-$name" "$pidfile" slurmd
        log "started slurmd -N $name (pid $(cat "$pidfile"))"
    done
}

wait_nodes_ready() {
    local want bad i
    want="$(node_names | wc -l)"
    for i in $(seq 1 120); do
        # every node answers and is usable (idle, or busy with jobs)
        bad="$(sinfo -h -N -o '%N %T' 2>/dev/null | grep -cvE ' (idle|mixed|allocated|completing)$' || true)"
        [ "$(sinfo -h -N -o '%N' 2>/dev/null | sort -u | wc -l)" = "$want" ] && [ "$bad" = 0 ] && return 0
        # a node left DOWN/DRAINED by an earlier run: resume it once
        if [ "$i" = 20 ]; then
            sinfo -h -N -o '%N %T' | awk '$2 ~ /down|drain/ {print $1}' |
                xargs -r -I{} scontrol update NodeName={} State=RESUME 2>/dev/null || true
        fi
        sleep 0.25
    done
    sinfo -N -l >&2 || true
    die "node(s) not ready after 30 s"
}

smoke_test() {
    local out
    out="$(timeout 120 srun -N "$NODES" -n "$NODES" --ntasks-per-node=1 -t 1 \
        bash -c 'echo "$SLURMD_NODENAME"' 2>&1)" || die "smoke test 'srun -N $NODES' failed: $out"
    [ "$(sort -u <<<"$out" | wc -l)" = "$NODES" ] || die "smoke test: expected $NODES node names, got: $out"
    log "smoke test ok: srun ran on $(sort -u <<<"$out" | tr '\n' ' ')"
}

print_state() {
    echo "==== cluster state ($(slurmd -V), $NODES node(s), config $CONF)"
    scontrol ping || true
    sinfo -N -l || true
    squeue || true
    scontrol show config | grep -E '^(MULTIPLE_SLURMD|ProctrackType|TaskPlugin|SelectType) ' || true
    echo "started by this script (stop with: bash $0 stop):"
    local f
    for f in "$RUNDIR"/*.pid; do [ -e "$f" ] && echo "  $(basename "$f" .pid): pid $(cat "$f")"; done
    return 0
}

cluster_up() {
    scontrol ping 2>/dev/null | grep -q 'is UP' &&
        [ "$(sinfo -h -N -o '%T' 2>/dev/null | grep -cE '^(idle|mixed|allocated|completing)$' || true)" -ge 1 ]
}

do_start() {
    local t0
    install_packages
    write_config
    if [ "$CONF_CHANGED" = 1 ]; then
        # config changed: restart our Slurm daemons (never touch ones we did not start)
        stop_slurm_daemons
        for f in /run/slurmctld.pid /run/slurmd-*.pid; do
            [ -e "$f" ] || continue
            if pid_alive "$(pid_from "$f")" "$(basename "$f" .pid | cut -d- -f1)"; then
                die "config changed but $(basename "$f" .pid) (pid $(cat "$f")) was not started by this script; stop it first"
            fi
        done
    fi
    t0="$(now)"
    start_munge
    start_slurm
    wait_nodes_ready
    log "daemons up and node(s) ready in $(elapsed "$t0") s"
    smoke_test
}

case "$ACTION" in
    start) do_start; print_state ;;
    status) print_state; cluster_up || die "cluster is not up" ;;
    stop)
        stop_slurm_daemons
        stop_ours munged munged
        log "stopped everything this script started" ;;
    *) die "unknown action '$ACTION' (start|status|stop)" ;;
esac
