#!/usr/bin/env bash
# CPU time a replica spends per write it applies, beside its master's per
# write served: on a shared machine a replica's CPU is taken from its master
# and the clients, which is what the "replica attached" rows of the
# benchmark report measure. Starts a master and a replica on loopback,
# attaches them, runs redis-benchmark SET against the master, waits until the
# replica has the master's offset, and prints each process's CPU time (all
# threads, user + system, from /proc) per SET, and the SETs per second.
# DETACHED=1 leaves the replica unattached (it idles): the master's own
# figures without a replica, for the same comparison.
#
#   scripts/replica-cpu.sh MASTER_BINARY REPLICA_BINARY [REQUESTS] [PIPELINE]
#
# A binary named redis-server runs as Redis (appendonly yes, everysec, like
# the report's Redis); any other as Strata on its defaults. PROFILE=1 also
# samples the replica with perf and prints its CPU per applied SET split by
# owner (kernel, RocksDB, Strata, tokio: cpu_owners.py), which says how much
# of a replica's cost is Strata's own code (needs perf; inferno is
# installed when missing, as for cpu-split.sh).
set -euo pipefail
master_bin=$1
replica_bin=$2
requests=${3:-200000}
pipeline=${4:-1}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=scripts/perf-lib.sh
. "$(dirname "$0")/perf-lib.sh"

start() { # binary port
    local up=yes
    start_server "$1" "$2" "$work/$2" /dev/null || up=no
    pids+=("$SERVER_PID")
    if [[ $up == no ]]; then
        echo "replica-cpu.sh: $1 did not start on $2" >&2
        exit 1
    fi
}

cpu_ticks() { # pid: utime + stime of all its threads
    awk '{print $14 + $15}' "/proc/$1/stat"
}

reads() { # pid: read(2)-family system calls so far (not recv(2), which
    # Strata's sockets use: the column means something for a Redis replica)
    awk '$1 == "syscr:" {print $2}' "/proc/$1/io"
}

mport=26431
rport=26432
start "$master_bin" $mport
mpid=${pids[0]}
start "$replica_bin" $rport
rpid=${pids[1]}
if [[ ${DETACHED:-0} != 1 ]]; then
    attach_replica $rport $mport || { echo "replica-cpu.sh: link not up" >&2; exit 1; }
fi
# A warm-up, so the measured run starts with the connections' buffers and
# the replica's link in their steady state.
redis-benchmark -p $mport -t set -n 50000 -c 50 -r 100000 -d 16 -q >/dev/null 2>&1
hz=$(getconf CLK_TCK)
m0=$(cpu_ticks "$mpid")
r0=$(cpu_ticks "$rpid")
rr0=$(reads "$rpid")
if [[ ${PROFILE:-0} == 1 ]]; then
    perf record -F 499 -e cpu-clock --call-graph dwarf,16384 -p "$rpid" -o "$work/perf.data" \
        >/dev/null 2>&1 &
    perfpid=$!
    sleep 0.5
fi
rps=$(redis-benchmark -p $mport -t set -n "$requests" -c 50 -r 100000 -d 16 -P "$pipeline" --csv 2>/dev/null |
    tail -1 | cut -d, -f2 | tr -d '"')
if [[ ${DETACHED:-0} != 1 ]]; then
    wait_caught_up $mport $rport 600 || { echo "replica-cpu.sh: the replica did not catch up" >&2; exit 1; }
fi
m1=$(cpu_ticks "$mpid")
r1=$(cpu_ticks "$rpid")
rr1=$(reads "$rpid")
if [[ ${PROFILE:-0} == 1 ]]; then
    kill -INT "$perfpid"
    wait "$perfpid" 2>/dev/null || true
    echo "$((r1 - r0)) $hz" >"$work/cpu"
    perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf --all |
        python3 "$(dirname "$0")/cpu_owners.py" replica "$pipeline" "${DETAIL:-0}" "$work/cpu" "$requests"
fi
# Columns: master CPU µs per SET, replica CPU µs per SET, a Redis replica's
# reads of the stream per SET (how many SETs one of the master's writes
# carried to it), redis-benchmark's requests per second.
awk -v m=$((m1 - m0)) -v r=$((r1 - r0)) -v hz="$hz" -v n="$requests" -v p="$pipeline" \
    -v rr=$((rr1 - rr0)) -v rps="$rps" \
    -v mb="$(basename "$master_bin")" -v rb="$(basename "$replica_bin")" 'BEGIN {
    printf "| %s -> %s | %d | %.2f | %.2f | %.3f | %.0f |\n", mb, rb, p, m * 1e6 / hz / n, r * 1e6 / hz / n, rr / n, rps
}'
