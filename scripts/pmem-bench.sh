#!/usr/bin/env bash
# Three-way figures for the pmem engine (docs/bench/pmem.md): redis-server
# (appendonly yes, appendfsync everysec), Strata on RocksDB (default
# settings, appendfsync everysec) and Strata on the pmem engine with its file
# on tmpfs (/dev/shm) and `appendfsync always` (every write persistent
# before its reply). Alternated rounds of redis-benchmark, 50 clients,
# without pipelining and with -P 16; then the pmem engine's index rebuild
# rate at start and its DRAM bytes per key.
#
#   scripts/pmem-bench.sh [STRATA_BINARY] [ROUNDS]
#
# REQUESTS (default 100000) per run, KEYS (default 1000000) for the rebuild
# figure, OUT (default docs/bench/pmem.md) for the markdown section.
set -euo pipefail
cd "$(dirname "$0")/.."
strata=${1:-target/release/strata-server}
rounds=${2:-3}
requests=${REQUESTS:-100000}
keys=${KEYS:-1000000}
out=${OUT:-docs/bench/pmem.md}
work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/strata-pmem-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work" "$shm"
}
trap cleanup EXIT

port_of() { case $1 in redis) echo 26390 ;; rocksdb) echo 26391 ;; pmem) echo 26392 ;; esac; }

wait_up() {
    for _ in $(seq 300); do
        redis-cli -p "$1" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "pmem-bench.sh: nothing answers on port $1" >&2
    exit 1
}

start() { # name -> index into pids
    local name=$1 port
    port=$(port_of "$name")
    mkdir -p "$work/$name"
    case $name in
        redis) redis-server --port "$port" --save '' --appendonly yes --appendfsync everysec \
            --dir "$work/$name" --daemonize no >/dev/null 2>&1 & ;;
        rocksdb) "$strata" --port "$port" --dir "$work/$name" >/dev/null 2>&1 & ;;
        pmem) "$strata" --port "$port" --dir "$work/$name" --engine pmem --pmem-path "$shm" \
            --pmem-size 4gb --appendfsync always >"$work/pmem.log" 2>&1 & ;;
    esac
    pids+=($!)
    wait_up "$port"
}

# One run: "rps p50_ms p99_ms" from redis-benchmark's CSV line.
run() { # port test pipeline
    local n=$requests
    [ "$3" -gt 1 ] && n=$((requests * 4))
    redis-benchmark -p "$1" -t "$2" -n "$n" -c 50 -r 100000 -d 16 -P "$3" --csv 2>/dev/null |
        tail -1 | tr -d '"' | awk -F, '{print $2, $5, $7}'
}

for s in redis rocksdb pmem; do start "$s"; done
tests="set get lpush sadd hset zadd"
echo "server round test pipeline rps p50_ms p99_ms" | tee "$work/runs.txt"
for r in $(seq "$rounds"); do
    for t in $tests; do
        for p in 1 16; do
            for s in redis rocksdb pmem; do
                echo "$s $r $t $p $(run "$(port_of "$s")" "$t" "$p")"
            done
        done
    done
done | tee -a "$work/runs.txt"
method=$(redis-cli -p "$(port_of pmem)" info pmem | tr -d '\r' | awk -F: '$1=="pmem_persist_method"{print $2}')

# Index rebuild: KEYS strings of 16 bytes loaded through a pipe, then a
# restart; DRAM per key is the growth of anonymous resident memory over an
# empty server (both measured right after the rebuild at start). RssAnon,
# not VmRSS: the mapped file's pages (on tmpfs, shared memory) are the
# storage tier, not DRAM the index uses.
rss_kb() { awk '/RssAnon/ {print $2}' "/proc/$1/status"; }
pmem_pid=${pids[2]}
kill "$pmem_pid"
wait "$pmem_pid" 2>/dev/null || true
rm -rf "${shm:?}"/* "$work/pmem"
start pmem
empty_rss=$(rss_kb "${pids[3]}")
python3 - "$keys" <<'EOF' | redis-cli -p "$(port_of pmem)" --pipe >/dev/null
import sys
n = int(sys.argv[1])
out = sys.stdout
for i in range(n):
    k = b"key:%012d" % i
    out.write("*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k.decode(), "v" * 16))
EOF
loaded=$(redis-cli -p "$(port_of pmem)" dbsize | tr -d '\r')
kill "${pids[3]}"
wait "${pids[3]}" 2>/dev/null || true
start pmem
info=$(redis-cli -p "$(port_of pmem)" info pmem | tr -d '\r')
rebuild_ms=$(echo "$info" | awk -F: '$1=="pmem_index_rebuild_ms"{print $2}')
rebuild_keys=$(echo "$info" | awk -F: '$1=="pmem_index_rebuild_keys"{print $2}')
full_rss=$(rss_kb "${pids[4]}")

python3 - "$work/runs.txt" "$out" "$method" "$loaded" "$rebuild_ms" "$rebuild_keys" \
    "$empty_rss" "$full_rss" "$rounds" "$requests" <<'EOF'
import statistics, sys, datetime
runs, out, method, loaded, rebuild_ms, rebuild_keys, empty_rss, full_rss, rounds, requests = sys.argv[1:]
rows = {}
for line in open(runs).read().split("\n")[1:]:
    f = line.split()
    if len(f) != 7:
        continue
    s, _, t, p, rps, p50, p99 = f
    rows.setdefault((t, int(p), s), []).append((float(rps), float(p99)))
med = lambda xs: statistics.median(xs) if xs else float("nan")
def cell(t, p, s):
    v = rows.get((t, p, s), [])
    return med([x[0] for x in v]), med([x[1] for x in v])
lines = []
w = lines.append
w("## Persistent-memory engine (three-way)")
w("")
w(f"Measured {datetime.date.today()} by `scripts/pmem-bench.sh` on this 2-vCPU VM (client and servers share")
w(f"the two cores; timings vary by about ±15% between runs). {rounds} alternated rounds of redis-benchmark,")
w(f"50 clients, 16-byte values, 100,000 random keys; {requests} requests per run without pipelining, 4x that")
w("with -P 16; medians. Redis: `appendonly yes`, `appendfsync everysec`. Strata-RocksDB: defaults")
w("(`appendfsync everysec`). Strata-PMem: `engine pmem`, its file on tmpfs (/dev/shm), **`appendfsync always`**")
w(f"(every write persisted before its reply; persist method here: `{method}`, as the VM has no DAX device).")
w("")
w("| workload | Redis rps | RocksDB rps | PMem rps | PMem / Redis | PMem / RocksDB | Redis p99 ms | PMem p99 ms | PMem p99 / Redis |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for p in (1, 16):
    for t in "set get lpush sadd hset zadd".split():
        r, rp = cell(t, p, "redis")
        k, _ = cell(t, p, "rocksdb")
        m, mp = cell(t, p, "pmem")
        name = t.upper() + (f" -P {p}" if p > 1 else "")
        w(f"| {name} | {r/1e3:.1f}k | {k/1e3:.1f}k | {m/1e3:.1f}k | {m/r:.2f}x | {m/k:.2f}x | {rp:.3f} | {mp:.3f} | {mp/rp:.2f}x |")
w("")
keys = int(rebuild_keys or 0)
ms = max(int(rebuild_ms or 0), 1)
per_key = (int(full_rss) - int(empty_rss)) * 1024 / max(int(loaded), 1)
w(f"Index rebuild at start: {keys:,} index entries ({int(loaded):,} string keys plus the server's own")
w(f"records) in {ms} ms = **{keys * 1000 / ms / 1e6:.2f} M keys/s**, one thread scanning the segments.")
w(f"DRAM per key after the rebuild: **{per_key:.0f} bytes** (growth of anonymous resident memory over an")
w("empty server, 16-byte keys: the B-tree entry, the key's own allocation, the location of its record;")
w("the mapped file's pages are the storage tier and not counted).")
w("")
open(out, "w").write("\n".join(lines))
print("\n".join(lines))
EOF
