#!/usr/bin/env bash
# A/B of two strata-server binaries side by side with redis-server, for a
# change on the hot path: alternated rounds of redis-benchmark (SET and GET,
# with and without pipelining), then instructions per request of each server
# process (perf stat, which does not vary with machine load like timings do).
#
#   scripts/ab.sh OLD_BINARY NEW_BINARY [ROUNDS]
#
# TESTS and PIPELINES (environment) choose the redis-benchmark tests and
# pipeline depths (default "set get" and "1 16").
# OLD_ARGS / NEW_ARGS (environment) add directives to either side, so one
# binary can be compared with itself under two settings, e.g.
#   NEW_ARGS="--worker-threads 1" scripts/ab.sh strata-server strata-server
#
# Prints one line per server, round and test (requests per second), then the
# medians and the instruction counts. Needs redis-server, redis-benchmark and
# (for instruction counts) perf.
set -euo pipefail
old=$1
new=$2
rounds=${3:-3}
requests=${REQUESTS:-200000}
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port_of() { case $1 in redis) echo 26379 ;; old) echo 26380 ;; new) echo 26381 ;; esac; }

start() {
    local name=$1 port
    port=$(port_of "$name")
    mkdir -p "$work/$name"
    case $name in
        redis) redis-server --port "$port" --save '' --appendonly yes --appendfsync everysec \
            --dir "$work/$name" --daemonize no >/dev/null 2>&1 & ;;
        # shellcheck disable=SC2086 # the extra directives are words
        old) "$old" --port "$port" --dir "$work/$name" ${OLD_ARGS:-} >/dev/null 2>&1 & ;;
        # shellcheck disable=SC2086
        new) "$new" --port "$port" --dir "$work/$name" ${NEW_ARGS:-} >/dev/null 2>&1 & ;;
    esac
    pids+=($!)
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "ab.sh: $name did not start" >&2
    exit 1
}

rps() { # port test pipeline
    # -q redraws a progress line with carriage returns; the last one holds the result.
    redis-benchmark -p "$1" -t "$2" -n "$requests" -c 50 -r 100000 -d 16 -P "$3" -q 2>/dev/null |
        tr '\r' '\n' | grep 'requests per second' | sed -E 's/.*: ([0-9.]+) requests per second.*/\1/' | tail -1
}

tests=${TESTS:-set get}
pipelines=${PIPELINES:-1 16}
for s in redis old new; do start "$s"; done
echo "server round test pipeline rps"
for r in $(seq "$rounds"); do
    for t in $tests; do
        for p in $pipelines; do
            for s in redis old new; do
                echo "$s $r $t $p $(rps "$(port_of "$s")" "$t" "$p")"
            done
        done
    done
done | tee "$work/rps.txt"

echo
echo "medians (requests/s)"
for t in $tests; do
    for p in $pipelines; do
        line="$t -P $p:"
        for s in redis old new; do
            m=$(awk -v s="$s" -v t="$t" -v p="$p" '$1==s && $3==t && $4==p {print $5}' "$work/rps.txt" |
                sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
            line="$line $s=$m"
        done
        echo "$line"
    done
done

if command -v perf >/dev/null; then
    echo
    echo "instructions per SET (whole server process, $requests requests, 50 clients, no pipelining)"
    for s in redis old new; do
        idx=0
        case $s in redis) idx=0 ;; old) idx=1 ;; new) idx=2 ;; esac
        pid=${pids[$idx]}
        perf stat -e instructions -x, -p "$pid" -o "$work/perf-$s.txt" &
        perfpid=$!
        sleep 0.5
        redis-benchmark -p "$(port_of "$s")" -t set -n "$requests" -c 50 -r 100000 -d 16 -q >/dev/null 2>&1
        kill -INT "$perfpid"
        wait "$perfpid" 2>/dev/null || true
        ins=$(grep instructions "$work/perf-$s.txt" | cut -d, -f1)
        if [[ $ins =~ ^[0-9]+$ ]]; then
            echo "$s $((ins / requests))"
        else
            # Virtual machines often hide the counter: use callgrind instead
            # (valgrind --tool=callgrind on each binary, same load).
            echo "$s (instructions counter not available here: $ins)"
        fi
    done
fi
