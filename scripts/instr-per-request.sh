#!/usr/bin/env bash
# Instructions per request, Strata beside Redis, for a few commands: the
# figure that does not move with this machine's load. Each (server, command)
# runs under callgrind twice, with N and 2N requests after the same preload,
# and the difference divided by N is the cost of one request (start-up,
# preload and shutdown cancel out).
#
#   scripts/instr-per-request.sh STRATA_BINARY [N] [PIPELINE] [COMMANDS...]
#
# Prints a markdown table. Redis runs with appendonly yes, appendfsync
# everysec (Strata's default durability). Needs valgrind, redis-server,
# redis-benchmark.
set -euo pipefail
strata=$1
n=${2:-20000}
pipeline=${3:-1}
shift 3 || true
cmds=("$@")
[[ ${#cmds[@]} -gt 0 ]] || cmds=(get set incr lpush hset)
port=${PORT:-26395}

run() { # binary test requests -> total instructions
    local bin=$1 test=$2 requests=$3 out
    out=$(mktemp -d)
    mkdir -p "$out/data"
    local args
    if [[ $(basename "$bin") == redis-server ]]; then
        args=(--port "$port" --save '' --appendonly yes --appendfsync everysec --dir "$out/data")
    else
        args=(--port "$port" --dir "$out/data")
    fi
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$bin" "${args[@]}" \
        >"$out/server.log" 2>&1 &
    local pid=$!
    for _ in $(seq 600); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    # The same preload for every run, so GET finds values.
    redis-benchmark -p "$port" -t set -n 10000 -c 10 -r 10000 -d 16 -P 16 -q >/dev/null 2>&1
    redis-benchmark -p "$port" -t "$test" -n "$requests" -c 10 -r 10000 -d 16 -P "$pipeline" -q \
        >/dev/null 2>&1
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 600); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    grep -E '^(summary|totals):' "$out/cg.out" | head -1 | awk '{print $2}'
    rm -rf "$out"
}

per_request() { # binary test
    local a b
    a=$(run "$1" "$2" "$n")
    b=$(run "$1" "$2" $((2 * n)))
    echo $(((b - a) / n))
}

echo "| command (pipeline $pipeline) | Strata instr/request | Redis instr/request | Strata/Redis |"
echo "|---|---:|---:|---:|"
for c in "${cmds[@]}"; do
    s=$(per_request "$strata" "$c")
    r=$(per_request /usr/bin/redis-server "$c")
    ratio=$(awk -v s="$s" -v r="$r" 'BEGIN { printf "%.2f", s / r }')
    echo "| ${c^^} | $s | $r | $ratio |"
done
