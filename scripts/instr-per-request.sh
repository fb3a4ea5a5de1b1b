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
    local out
    out=$(mktemp -d)
    # The same preload for every run, so GET finds values.
    PORT=$port KEYSPACE=10000 PRELOAD=10000 "$(dirname "$0")/callgrind.sh" "$1" "$2" "$3" \
        "$pipeline" "$out" | awk '/^total_instructions/ {print $2}'
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
