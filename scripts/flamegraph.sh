#!/usr/bin/env bash
# A flame graph (SVG) of a strata-server (or redis-server) under one
# redis-benchmark load: perf samples the server process (cpu-clock, DWARF
# call stacks), inferno folds and draws them.
#
#   scripts/flamegraph.sh BINARY TEST PIPELINE OUT.svg [REQUESTS]
#
# Needs perf and redis-benchmark; installs inferno when missing (perf-lib.sh).
set -euo pipefail
bin=$1
test=$2
pipeline=$3
svg=$4
requests=${5:-200000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=scripts/perf-lib.sh
. "$(dirname "$0")/perf-lib.sh"
# GET needs values to find.
profile_under_load "$bin" "$test" "$pipeline" "$requests" set "$work"
perf script -i "$work/perf.data" 2>/dev/null | inferno-collapse-perf | \
    inferno-flamegraph --title "$(basename "$bin") $test -P $pipeline" >"$svg"
echo "wrote $svg"
