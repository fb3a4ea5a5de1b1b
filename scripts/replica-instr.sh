#!/usr/bin/env bash
# Instructions per SET of a master with its replica attached or not, or of
# the replica applying the stream, split by owner (scripts/instr_owners.py):
# the noise-free side of the "replica attached" rows of the benchmark report.
# Which part of what a replica costs is Strata's own code, Redis beside.
#
#   scripts/replica-instr.sh MASTER_BINARY REPLICA_BINARY master|replica [N] [PIPELINE] [TOP]
#
# The named side runs under callgrind, the other natively, on loopback. Two
# runs on fresh servers, N and 2N SETs (redis-benchmark -c 10 -r 100000
# -d 16), each ending once the replica has the master's offset; the
# difference divided by N is per SET, so start-up, the attach and its full
# sync cancel out. DETACHED=1 (master side only) leaves the replica
# unattached: the master's own figure, to subtract. A binary named
# redis-server runs as Redis (appendonly yes, everysec, repl-backlog-size
# 256mb like Strata's default backlog), any other as Strata on its
# defaults. KEEP=DIR keeps the two profiles (DIR/N.out, DIR/2N.out).
set -euo pipefail
master_bin=$1
replica_bin=$2
side=$3
n=${4:-10000}
pipeline=${5:-1}
top=${6:-12}
[[ $side == master || $side == replica ]] || { echo "replica-instr.sh: side is master or replica" >&2; exit 2; }
[[ ${DETACHED:-0} == 1 && $side == replica ]] && { echo "replica-instr.sh: DETACHED=1 measures the master" >&2; exit 2; }
here=$(dirname "$0")
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=scripts/server-lib.sh
. "$here/server-lib.sh"
mport=${PORT:-26441}
rport=$((mport + 1))

start() { # binary port callgrind-out-or-empty
    local bin=$1 port=$2 cg=$3 dir=$work/$2
    local -a cmd
    rm -rf "$dir"
    mkdir -p "$dir"
    if [[ $(basename "$bin") == redis-server ]]; then
        cmd=("$bin" --port "$port" --save '' --appendonly yes --appendfsync everysec
            --repl-backlog-size 256mb --dir "$dir")
    else
        cmd=("$bin" --port "$port" --dir "$dir")
    fi
    if [[ -n $cg ]]; then
        cmd=(valgrind --tool=callgrind --callgrind-out-file="$cg" "${cmd[@]}")
    fi
    "${cmd[@]}" >"$dir.log" 2>&1 &
    pids+=($!)
    wait_for_ping "$port" || { echo "replica-instr.sh: $bin did not start on $port" >&2; exit 1; }
}

for runs in "$n" $((2 * n)); do
    pids=()
    mcg=""
    rcg=""
    if [[ $side == master ]]; then mcg=$work/$runs.out; else rcg=$work/$runs.out; fi
    start "$master_bin" $mport "$mcg"
    start "$replica_bin" $rport "$rcg"
    if [[ ${DETACHED:-0} != 1 ]]; then
        attach_replica $rport $mport || { echo "replica-instr.sh: link not up" >&2; exit 1; }
    fi
    redis-benchmark -p $mport -t set -n "$runs" -c 10 -r 100000 -d 16 -P "$pipeline" -q >/dev/null 2>&1
    if [[ ${DETACHED:-0} != 1 ]]; then
        wait_caught_up $mport $rport || { echo "replica-instr.sh: the replica did not catch up" >&2; exit 1; }
    fi
    # The replica first, so the master does not count its reconnect attempts.
    stop_server $rport "${pids[1]}"
    stop_server $mport "${pids[0]}"
    if [[ -n ${KEEP:-} ]]; then
        mkdir -p "$KEEP"
        cp "$work/$runs.out" "$KEEP/$runs.out"
    fi
done
python3 "$here/instr_owners.py" "$work/$n.out" "$work/$((2 * n)).out" "$n" "$top"
