#!/usr/bin/env bash
# Instructions per request of one redis-benchmark test, split by owner (Strata,
# RocksDB, tokio, allocators, libc, Rust's standard library, other crates):
# which part of the gap to Redis is Strata's own code. Runs the server under
# callgrind with N and 2N requests after the same preload and hands both
# profiles to scripts/instr_owners.py.
#
#   scripts/instr-owners.sh BINARY TEST [N] [PIPELINE] [TOP]
#
# BINARY may be redis-server (its own code then shows as "other"). LPOP's
# preload is an LPUSH of 2N + 10000 elements, so both runs pop a full list.
# KEEP=DIR keeps the two profiles there (DIR/N.out, DIR/2N.out) so that
# instr_owners.py can be run on them again. KEYSPACE (default 10000) is
# redis-benchmark's -r, PRELOAD (default 10000) the SETs before both runs;
# CALLGRIND_ARGS and SERVER_ARGS pass on to scripts/callgrind.sh. ZERO=1
# profiles the N requests alone in one run (callgrind.sh's ZERO; KEEP then
# keeps DIR/N.out only).
set -euo pipefail
bin=$1
test=$2
n=${3:-10000}
pipeline=${4:-16}
top=${5:-12}
here=$(dirname "$0")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
preload=${PRELOAD:-10000}
preload_test=set
if [[ $test == lpop ]]; then
    preload=$((2 * n + 10000))
    preload_test=lpush
fi
runs_list=("$n" $((2 * n)))
[[ ${ZERO:-0} == 1 ]] && runs_list=("$n")
for runs in "${runs_list[@]}"; do
    PORT=${PORT:-26396} KEYSPACE=${KEYSPACE:-10000} PRELOAD=$preload PRELOAD_TEST=$preload_test \
        "$here/callgrind.sh" "$bin" "$test" "$runs" "$pipeline" "$work/$runs" >/dev/null
    if [[ -n ${KEEP:-} ]]; then
        mkdir -p "$KEEP"
        cp "$work/$runs/callgrind.out" "$KEEP/$runs.out"
    fi
done
if [[ ${ZERO:-0} == 1 ]]; then
    python3 "$here/instr_owners.py" - "$work/$n/callgrind.out" "$n" "$top"
else
    python3 "$here/instr_owners.py" "$work/$n/callgrind.out" "$work/$((2 * n))/callgrind.out" "$n" "$top"
fi
