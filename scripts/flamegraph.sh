#!/usr/bin/env bash
# A flame graph (SVG) of a strata-server (or redis-server) under one
# redis-benchmark load: perf samples the server process (cpu-clock, DWARF
# call stacks), inferno folds and draws them.
#
#   scripts/flamegraph.sh BINARY TEST PIPELINE OUT.svg [REQUESTS]
#
# Needs perf, redis-benchmark and inferno (`cargo install inferno`).
set -euo pipefail
bin=$1
test=$2
pipeline=$3
svg=$4
requests=${5:-200000}
port=${PORT:-26410}
work=$(mktemp -d)
mkdir -p "$work/data"
if [[ $(basename "$bin") == redis-server ]]; then
    args=(--port "$port" --save '' --appendonly yes --appendfsync everysec --dir "$work/data")
else
    args=(--port "$port" --dir "$work/data")
fi
"$bin" "${args[@]}" >"$work/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
done
# GET needs values to find.
redis-benchmark -p "$port" -t set -n 100000 -c 50 -r 100000 -d 16 -P 16 -q >/dev/null 2>&1
perf record -F 499 -e cpu-clock --call-graph dwarf,16384 -p "$pid" -o "$work/perf.data" \
    >/dev/null 2>&1 &
perfpid=$!
sleep 0.5
redis-benchmark -p "$port" -t "$test" -n "$requests" -c 50 -r 100000 -d 16 -P "$pipeline" -q \
    >/dev/null 2>&1
kill -INT "$perfpid"
wait "$perfpid" 2>/dev/null || true
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf | \
    inferno-flamegraph --title "$(basename "$bin") $test -P $pipeline" >"$svg"
echo "wrote $svg"
