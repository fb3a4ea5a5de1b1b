# Shared by scripts/run.sh, scripts/test.sh and scripts/bench.sh: install
# missing Debian packages, find cargo, and use the one build folder outside
# the clone (release profile only, so RocksDB is compiled once).

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# ensure_packages NAME PKG...: installs the missing PKGs with apt-get and
# leaves their names in $installed.
ensure_packages() {
    local who=$1
    shift
    installed=()
    local pkg
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || installed+=("$pkg")
    done
    [ ${#installed[@]} -eq 0 ] && return 0
    echo "$who: installing ${installed[*]}" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${installed[@]}" || return 1
}

# ensure_cargo NAME: puts cargo on PATH or explains how to get it.
ensure_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
        . "$HOME/.cargo/env"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        echo "$1: cargo not found; install Rust (https://rustup.rs) and retry" >&2
        return 1
    fi
}

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata-target}"
