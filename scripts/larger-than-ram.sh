#!/usr/bin/env bash
# GETs of a dataset larger than the block cache, served from the page cache
# and from the device, with `rocksdb.read-offload` off and on (auto).
#
#   scripts/larger-than-ram.sh [STRATA_SERVER] [ROUNDS]
#
# Loads DATA_MB (default 700) of VALUE-byte (4096) values into one Strata
# with a CACHE (64mb) block cache, then alternates, per round and policy,
# 200,000 uniform random GETs from 50 clients (redis-benchmark) in two
# settings:
#   page cache  the server as is: blocks that miss the block cache come from
#               the kernel's page cache (24 GiB of RAM here);
#   device      the server in a memory cgroup of LIMIT_MB (320), caches
#               dropped before the run: the dataset is larger than the memory
#               the server may use, so a block-cache miss is a device read.
# Prints each run (requests/s, p50, p99 in ms, the device's reads per second
# from /proc/diskstats) and the medians. Needs root (cgroup, drop_caches),
# a cgroup-v1 memory controller or cgroup v2, redis-benchmark and redis-cli.
# Redis has no counterpart: under the same limit it cannot hold the data.
# READ=hgetall (environment) stores one hash per key instead (one field of
# VALUE bytes) and reads it with HGETALL: a metadata read and a range read
# of the hash's fields per request.
set -euo pipefail
bin=${1:-strata-server}
rounds=${2:-3}
data_mb=${DATA_MB:-700}
value=${VALUE:-4096}
limit_mb=${LIMIT_MB:-320}
cache=${CACHE:-64mb}
port=${PORT:-7431}
requests=${REQUESTS:-200000}
keys=$((data_mb * 1000000 / value))
read=${READ:-get}
case $read in
    get) write=SET; bench=(-t get) ;;
    hgetall) write=HSET; bench=(HGETALL key:__rand_int__) ;;
    *) echo "READ must be get or hgetall" >&2; exit 2 ;;
esac

[ "$(id -u)" = 0 ] || { echo "needs root (cgroup, drop_caches)" >&2; exit 2; }
work=$(mktemp -d)
if [ -d /sys/fs/cgroup/memory ]; then
    cg=/sys/fs/cgroup/memory/strata-larger-than-ram.$$
    mkdir "$cg"
    echo $((limit_mb << 20)) > "$cg/memory.limit_in_bytes"
else
    cg=/sys/fs/cgroup/strata-larger-than-ram.$$
    mkdir "$cg"
    echo $((limit_mb << 20)) > "$cg/memory.max"
fi
pid=
stop() {
    [ -n "$pid" ] || return 0
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
}
cleanup() {
    stop
    rmdir "$cg" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# start POLICY [cgroup]
start() {
    "$bin" --port "$port" --bind 127.0.0.1 --dir "$work" --save '' --appendfsync everysec \
        --rocksdb.block-cache-size "$cache" --rocksdb.read-offload "$1" >"$work/log" 2>&1 &
    pid=$!
    [ "${2:-}" = cgroup ] && echo "$pid" > "$cg/cgroup.procs"
    for _ in $(seq 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    echo "server did not start" >&2; cat "$work/log" >&2; exit 1
}

# The device's completed reads, summed over whole disks.
disk_reads() { awk '$3 !~ /[0-9]$/ || $3 ~ /^nvme[0-9]+n[0-9]+$/ { r += $4 } END { print r + 0 }' /proc/diskstats; }

echo "loading $keys keys of $value B ($data_mb MB) ..."
start no
python3 - "$keys" "$value" "$write" <<'EOF' | redis-cli -p "$port" --pipe >/dev/null
import os, sys
keys, size, write = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
out = sys.stdout.buffer
# Incompressible values (slices of random bytes), as real data often is,
# so the files hold DATA_MB and not what LZ4 makes of repeated bytes.
pool = os.urandom(size + 4099)
for i in range(keys):
    k = b"key:%012d" % i
    off = (i * 7919) % 4099
    if write == b"SET":
        out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n" % (len(k), k, size))
    else:
        out.write(b"*4\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n$5\r\nfield\r\n$%d\r\n" % (len(k), k, size))
    out.write(pool[off:off + size])
    out.write(b"\r\n")
EOF
# Let flushes and compactions finish (bounded).
for _ in $(seq 120); do
    busy=$(redis-cli -p "$port" info rocksdb | tr -d '\r' |
        awk -F: '/^rocksdb_(running_compactions|running_flushes|pending_compaction_bytes):/ { s += $2 } END { print s + 0 }')
    [ "$busy" = 0 ] && break
    sleep 1
done
echo "dbsize $(redis-cli -p "$port" dbsize), on disk $(du -sm "$work" | cut -f1) MB"
stop

results=$work/results
for round in $(seq "$rounds"); do
    for setting in "page cache" device; do
        for policy in no auto; do
            if [ "$setting" = device ]; then
                start "$policy" cgroup
                sync
                echo 1 > /proc/sys/vm/drop_caches
            else
                # Back in the page cache after the device runs dropped it.
                cat "$work"/db/*.sst >/dev/null
                start "$policy"
            fi
            redis-benchmark -p "$port" -r "$keys" -n 20000 -c 50 --csv "${bench[@]}" >/dev/null
            before=$(disk_reads)
            t0=$(date +%s.%N)
            line=$(redis-benchmark -p "$port" -r "$keys" -n "$requests" -c 50 --csv "${bench[@]}" | tail -1)
            t1=$(date +%s.%N)
            reads=$(( $(disk_reads) - before ))
            # "TEST","rps","avg","min","p50","p95","p99","max"
            IFS=, read -r _ rps _ _ p50 _ p99 _ <<<"$(tr -d '"' <<<"$line")"
            iops=$(awk -v r="$reads" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", r / (b - a) }')
            offloaded=$(redis-cli -p "$port" info rocksdb | tr -d '\r' | awk -F: '/^rocksdb_reads_offloaded:/ { print $2 }')
            printf '%s|%s|%s|%s|%s|%s|%s\n' "$setting" "$policy" "$rps" "$p50" "$p99" "$iops" "$offloaded" >>"$results"
            printf 'round %s  %-10s %-4s  %9s req/s  p50 %6s  p99 %6s  device reads/s %6s  offloaded %s\n' \
                "$round" "$setting" "$policy" "$rps" "$p50" "$p99" "$iops" "$offloaded"
            stop
        done
    done
done

echo
echo "medians over $rounds rounds (requests/s, p50 ms, p99 ms, device reads/s):"
python3 - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    setting, policy, *vals = line.strip().split("|")
    rows.setdefault((setting, policy), []).append([float(v) for v in vals[:4]])
for (setting, policy), runs in rows.items():
    med = [statistics.median(c) for c in zip(*runs)]
    print(f"  {setting:<10} read-offload {policy:<4}  {med[0]:9.0f}  {med[1]:6.3f}  {med[2]:6.3f}  {med[3]:7.0f}")
EOF
