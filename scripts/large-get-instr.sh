#!/usr/bin/env bash
# Instructions per GET of 4096 B values, split by owner (scripts/instr_owners.py),
# for a dataset of KEYS keys against a 64 MB block cache: the noise-free side
# of the report's larger-than-cache row. Run it with the row's key count
# (700 MB: 170898) and with a twentieth of it (8544, the in-cache row): what
# the larger dataset adds per GET, and whose code that is.
#
#   scripts/large-get-instr.sh BINARY KEYS [N] [TOP]
#
# Loads the values natively (redis-benchmark SET -P 16, each key ~4 times),
# stops the server, then twice restarts it on a copy of that data under
# callgrind and runs N and 2N uniform random GETs (-c 10); the difference
# divided by N is per GET, so start-up and the first reads' cache fill cancel
# out as far as the cache is full after N GETs (64 MB holds ~16,000 blocks of
# one value each). Reads run inline (`rocksdb.read-offload no`): under
# callgrind a read takes far longer than the 40 µs above which `auto` would
# move misses off the worker, which natively they do not. EXTRA adds server
# arguments; KEEP=DIR keeps the two profiles (DIR/N.out, DIR/2N.out).
set -euo pipefail
bin=$1
keys=$2
n=${3:-30000}
top=${4:-12}
here=$(dirname "$0")
work=$(mktemp -d)
pid=""
cleanup() {
    if [[ -n $pid ]]; then kill -9 "$pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=scripts/server-lib.sh
. "$here/server-lib.sh"
port=${PORT:-26510}
# shellcheck disable=SC2206 # the extra arguments are words
args=(--port "$port" --bind 127.0.0.1 --appendfsync everysec --rocksdb.block-cache-size 64mb
    --rocksdb.read-offload no ${EXTRA:-})

wait_up() {
    wait_for_ping "$port" || { echo "large-get-instr.sh: the server did not start on $port" >&2; exit 1; }
}

stop() {
    stop_server "$port" "$pid"
    pid=""
}

"$bin" "${args[@]}" --dir "$work/loaded" >"$work/load.log" 2>&1 &
pid=$!
wait_up
redis-benchmark -p "$port" -t set -d 4096 -r "$keys" -n $((keys * 4)) -P 16 -c 50 -q >/dev/null 2>&1
stop
for runs in "$n" $((2 * n)); do
    rm -rf "$work/data"
    cp -a "$work/loaded" "$work/data"
    valgrind --tool=callgrind --callgrind-out-file="$work/$runs.out" "$bin" "${args[@]}" --dir "$work/data" \
        >"$work/run.log" 2>&1 &
    pid=$!
    wait_up
    redis-benchmark -p "$port" -t get -d 4096 -r "$keys" -n "$runs" -c 10 -q >/dev/null 2>&1
    stop
    if [[ -n ${KEEP:-} ]]; then
        mkdir -p "$KEEP"
        cp "$work/$runs.out" "$KEEP/$runs.out"
    fi
done
python3 "$here/instr_owners.py" "$work/$n.out" "$work/$((2 * n)).out" "$n" "$top"
