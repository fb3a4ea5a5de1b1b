#!/usr/bin/env bash
# Where a server's CPU time goes under one redis-benchmark load, split by
# owner: the kernel (system calls, TCP), RocksDB, Strata's own code, the
# tokio runtime, and the rest. perf samples the server (cpu-clock, DWARF
# call stacks); each sample belongs to the innermost frame that has an owner
# (an allocator or libc frame, e.g. memcmp, counts for its caller). Timings
# vary with the machine's load, shares much less: this is the "measured
# reason" beside the instruction counts, which do not see cache misses.
#
#   scripts/cpu-split.sh BINARY TEST PIPELINE [REQUESTS]
#
# Prints one markdown row: test, pipeline, then each owner's share, and
# the server's CPU time per request (all threads, user + system, from
# /proc during the same load) split by those shares. Where the server is
# CPU-bound, that time is what its throughput is the inverse of: a row
# cannot reach a throughput ratio R against Redis while the CPU its
# non-Strata owners alone take per request exceeds Redis's own CPU per
# request divided by R (run this script on redis-server for the latter).
# It also prints redis-benchmark's own CPU per request and how many cores
# the server and the client kept busy: on a 2-core machine a row's
# throughput cannot exceed 2 cores / (client + server CPU per request).
# With DETAIL=1 it also lists the ten Strata functions and the ten RocksDB
# functions whose samples (their own and their allocator's) weigh most.
# Needs perf and redis-benchmark; installs inferno when missing (perf-lib.sh).
set -euo pipefail
bin=$1
test=$2
pipeline=$3
requests=${4:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=scripts/perf-lib.sh
. "$(dirname "$0")/perf-lib.sh"
# The same preload as the benchmark report: GET finds values, LPOP and
# LRANGE find a list; for LPOP the list holds as many items as it pops.
if [[ $test == lpop ]]; then
    export PRELOAD_REQUESTS=${PRELOAD_REQUESTS:-$requests}
fi
PORT=${PORT:-26411} profile_under_load "$bin" "$test" "$pipeline" "$requests" set,lpush "$work"
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf --all |
    python3 "$(dirname "$0")/cpu_owners.py" "$test" "$pipeline" "${DETAIL:-0}" "$work/cpu" "$requests"
