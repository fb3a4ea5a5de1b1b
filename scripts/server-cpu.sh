#!/usr/bin/env bash
# Throughput and the server's CPU seconds for one redis-benchmark run: a
# timing that also says whether the server or something else (the client on
# the same cores) was the limit.
#
#   scripts/server-cpu.sh BINARY TEST PIPELINE REQUESTS [SERVER ARGS...]
#
# BINARY may be redis-server (run with appendonly yes, everysec). The server
# starts on a fresh directory, gets the benchmark report's preload (SET and
# LPUSH, so GET, LPOP and LRANGE find data), then runs one test with 50
# clients over 100,000 keys. Prints one line: binary and arguments,
# redis-benchmark's summary, server CPU seconds (user + system) and wall
# seconds of the run.
set -euo pipefail
bin=$1
test=$2
pipeline=$3
requests=$4
shift 4
port=${PORT:-26520}
dir=$(mktemp -d)
if [[ $(basename "$bin") == redis-server ]]; then
    "$bin" --port "$port" --save '' --appendonly yes --appendfsync everysec --dir "$dir" \
        >/dev/null 2>&1 &
else
    "$bin" --port "$port" --dir "$dir" "$@" >/dev/null 2>&1 &
fi
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
redis-benchmark -p "$port" -t set,lpush -n 100000 -c 50 -r 100000 -d 16 -P 16 -q >/dev/null 2>&1
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
c0=$(cpu)
t0=$(date +%s.%N)
summary=$(redis-benchmark -p "$port" -t "$test" -n "$requests" -c 50 -r 100000 -d 16 -P "$pipeline" -q 2>&1 |
    tr '\r' '\n' | grep "requests per second" | tail -1)
c1=$(cpu)
t1=$(date +%s.%N)
awk -v n="$(basename "$bin") $*" -v s="$summary" -v c0="$c0" -v c1="$c1" -v k="$ticks" \
    -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "%s | %s | server cpu %.2f s / %.2f s wall\n", n, s, (c1 - c0) / k, t1 - t0 }'
