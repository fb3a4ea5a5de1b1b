#!/usr/bin/env bash
# Instructions per request of a strata-server binary (or redis-server) under
# callgrind: the measure that does not vary with machine load. Counts the whole
# process (start-up, RocksDB's threads, the load); run the same load on two
# binaries and compare the totals, or subtract an idle run to get per-request.
#
#   scripts/callgrind.sh BINARY [TEST] [REQUESTS] [PIPELINE] [OUTDIR]
#
# BINARY may be `redis-server`. Prints "total_instructions N". Leaves
# OUTDIR/callgrind.out for callgrind_annotate. KEYSPACE (default 100000) is
# redis-benchmark's -r; PRELOAD=N first SETs N keys of it (so GET finds
# values), inside the measured process; PRELOAD_TEST (default set) picks
# redis-benchmark's test for it (lpush fills the list LPOP pops).
# CALLGRIND_ARGS adds options to valgrind, e.g. "--cache-sim=yes" to count
# simulated cache misses (see scripts/instr_owners.py's EVENT); SERVER_ARGS
# adds directives to the server's command line (one binary, two settings).
# ZERO=1 counts the measured requests alone: after the preload and a warm-up
# of 2,000 requests of TEST, the counters are zeroed, and the profile is
# dumped once the REQUESTS have run (start-up, the preload and RocksDB's
# work after it are left out, so one run gives instructions per request:
# total_instructions / REQUESTS). Profiles made so list each thread's
# outermost functions with the whole total as their own cost; the scripts
# that read them leave those out.
set -euo pipefail
bin=$1
test=${2:-set}
requests=${3:-20000}
pipeline=${4:-16}
out=${5:-$(mktemp -d)}
port=${PORT:-26390}
# shellcheck source=scripts/server-lib.sh
. "$(dirname "$0")/server-lib.sh"
mkdir -p "$out/data"
if [[ $(basename "$bin") == redis-server ]]; then
    args=(--port "$port" --save '' --appendonly yes --appendfsync everysec --dir "$out/data")
else
    args=(--port "$port" --dir "$out/data")
fi
# shellcheck disable=SC2206 # the extra directives are words
args+=(${SERVER_ARGS:-})
# shellcheck disable=SC2086 # the extra options are words
valgrind --tool=callgrind ${CALLGRIND_ARGS:-} --callgrind-out-file="$out/callgrind.out" "$bin" "${args[@]}" \
    >"$out/server.log" 2>&1 &
pid=$!
wait_for_ping "$port" || true
keyspace=${KEYSPACE:-100000}
if [[ ${PRELOAD:-0} -gt 0 ]]; then
    redis-benchmark -p "$port" -t "${PRELOAD_TEST:-set}" -n "$PRELOAD" -c 10 -r "$keyspace" -d 16 -P 16 -q >/dev/null 2>&1
fi
if [[ ${ZERO:-0} == 1 ]]; then
    redis-benchmark -p "$port" -t "$test" -n 2000 -c 10 -r "$keyspace" -d 16 -P "$pipeline" -q >/dev/null 2>&1
    sleep 1
    callgrind_control -z "$pid" >/dev/null 2>&1
fi
redis-benchmark -p "$port" -t "$test" -n "$requests" -c 10 -r "$keyspace" -d 16 -P "$pipeline" -q \
    >/dev/null 2>&1
if [[ ${ZERO:-0} == 1 ]]; then
    callgrind_control -d "$pid" >/dev/null 2>&1
fi
stop_server "$port" "$pid"
if [[ ${ZERO:-0} == 1 ]]; then
    # The dump holds the measured requests; the exit's profile, the rest.
    mv "$out/callgrind.out" "$out/callgrind.rest.out"
    mv "$(ls "$out"/callgrind.out.* | head -1)" "$out/callgrind.out"
fi
total=$(grep -E '^(summary|totals):' "$out/callgrind.out" | head -1 | awk '{print $2}')
echo "total_instructions $total"
