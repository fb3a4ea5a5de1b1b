#!/usr/bin/env bash
# Builds Strata (release profile) and starts strata-server in the foreground.
# With no arguments it serves on port 6379 with its data (RocksDB) under ./data.
# Arguments go to strata-server: a config file and/or `--directive value`
# overrides, e.g.  ./scripts/run.sh conf/strata.conf --port 6390
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Build dependencies: clang and libclang for the RocksDB bindings.
missing=()
for pkg in clang libclang-dev; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "run.sh: installing ${missing[*]}" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
    [ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "run.sh: cargo not found; install Rust (https://rustup.rs) and retry" >&2
    exit 1
fi

# The same target folder as scripts/test.sh, so RocksDB is compiled once.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata-target}"
cargo build --release --bin strata-server
exec "$CARGO_TARGET_DIR/release/strata-server" "$@"
