#!/bin/sh
# Regenerates tests/rdb/fixtures/ from a real redis-server (Debian's 7.0.15):
# RDB files saved by SAVE, raw DUMP payloads, and manifests of what the live
# server reported for every key, which the reader's tests compare against.
# Usage: tests/rdb/gen-fixtures.sh   (needs redis-server, redis-cli, python3)
set -eu
cd "$(dirname "$0")"
out="$PWD/fixtures"
tmp=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
pid=

start() {
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$tmp" --daemonize no --enable-debug-command yes "$@" >"$tmp/log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
        redis-cli -p "$port" PING >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$tmp/log"
    exit 1
}

stop() {
    redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$pid" || true
}

trap 'stop; rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$out/dump"

# Small encodings; LRU policy so every key carries an IDLE opcode.
start --maxmemory-policy allkeys-lru
python3 gen_fixtures.py "$port" small "$out" "$tmp"
stop
rm -f "$tmp/dump.rdb"

# Large encodings; LFU policy (FREQ opcodes), compressed quicklist nodes.
start --maxmemory-policy allkeys-lfu --list-compress-depth 1 --list-max-listpack-size 64
python3 gen_fixtures.py "$port" large "$out" "$tmp"
stop
trap 'rm -rf "$tmp"' EXIT
ls -l "$out" "$out/dump" | head -80
