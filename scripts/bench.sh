#!/usr/bin/env bash
# Builds strata-server and strata-bench in release and runs the side-by-side
# benchmark against a real redis-server (7.0; needs redis-server and
# redis-benchmark on PATH, and fonts-dejavu-core for the plot's text).
# Writes docs/benchmarks.md, docs/bench/results.json, docs/bench/latency.png.
# Extra arguments go to strata-bench, e.g.:
#   scripts/bench.sh --quick
#   scripts/bench.sh --appendfsync always --rounds 5 --value-sizes 16,1024,16384
set -euo pipefail
cd "$(dirname "$0")/.."
# The same build folder as scripts/test.sh and scripts/run.sh: RocksDB is built once.
. scripts/lib.sh
for tool in redis-server redis-benchmark; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool not found (apt install redis-server redis-tools)" >&2; exit 1; }
done
cargo build --release ${CARGO_OFFLINE:+--offline} --bin strata-server
cargo build --release ${CARGO_OFFLINE:+--offline} -p strata-bench
exec "$CARGO_TARGET_DIR/release/strata-bench" \
    --strata-server "$CARGO_TARGET_DIR/release/strata-server" "$@"
