#!/usr/bin/env bash
# Builds Strata (release profile) and starts strata-server in the foreground.
# With no arguments it serves on port 6379 with its data (RocksDB) under ./data.
# Arguments go to strata-server: a config file and/or `--directive value`
# overrides, e.g.  ./scripts/run.sh conf/strata.conf --port 6390
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/lib.sh
# Build dependencies: clang and libclang for the RocksDB bindings.
ensure_packages run.sh clang libclang-dev
ensure_cargo run.sh
cargo build --release --bin strata-server
exec "$CARGO_TARGET_DIR/release/strata-server" "$@"
