"""Splits perf samples (inferno-collapse-perf lines on stdin) by owner: the
kernel, RocksDB, Strata's own code, the tokio runtime, the rest. Each sample
belongs to its innermost frame that has an owner (an allocator or libc frame
counts for its caller). With the process's CPU time over the load it prints
that time per request, split the same way.

    cpu_owners.py LABEL PIPELINE DETAIL CPU_FILE REQUESTS

CPU_FILE holds "TICKS TICKS_PER_SECOND [CLIENT_SECONDS WALL_SECONDS]"
(the last two: redis-benchmark's CPU and the load's duration); DETAIL=1 adds the top functions of
Strata and RocksDB. Used by cpu-split.sh (a server under load) and
replica-cpu.sh (a replica applying its master's stream).
"""
import sys
fields = open(sys.argv[4]).read().split()
ticks, hz = int(fields[0]), int(fields[1])
# The client's CPU seconds and the load's wall seconds, when measured.
client, wall = (float(x) for x in fields[2:4]) if len(fields) >= 4 else (None, None)
requests = int(sys.argv[5])
owners = ["kernel", "RocksDB", "Strata", "tokio", "other"]
total = {o: 0 for o in owners}
top = {"Strata": {}, "RocksDB": {}}
def owner(frame):
    if frame.endswith("_[k]"):
        return "kernel"
    if frame.startswith(("rocksdb::", "rocksdb_", "rocksdb-", "librocksdb")):
        return "RocksDB"
    if frame.startswith(("strata::", "<strata::", "strata_server::")):
        return "Strata"
    if frame.startswith(("tokio::", "<tokio::", "mio::", "<mio::")):
        return "tokio"
    return None
for line in sys.stdin:
    stack, _, count = line.rstrip().rpartition(" ")
    frames = stack.split(";")
    found = "other"
    for f in reversed(frames):
        o = owner(f)
        if o:
            found = o
            if o in top:
                top[o][f] = top[o].get(f, 0) + int(count)
            break
    total[found] += int(count)
n = sum(total.values()) or 1
cells = " | ".join(f"{100 * total[o] / n:.0f}%" for o in owners)
print(f"| {sys.argv[1].upper()} | {sys.argv[2]} | {cells} |")
us = ticks / hz * 1e6 / requests
split = ", ".join(f"{o} {us * total[o] / n:.2f}" for o in owners)
print(f"  CPU per request: {us:.2f} us ({split})")
if client is not None and wall:
    server_s = ticks / hz
    print(
        f"  client (redis-benchmark) CPU per request: {client * 1e6 / requests:.2f} us; "
        f"{requests / wall:.0f} requests/s; cores in use: server {server_s / wall:.2f}, "
        f"client {client / wall:.2f}"
    )
if sys.argv[3] == "1":
    for o, fns in top.items():
        print(f"  {o}:")
        for f, c in sorted(fns.items(), key=lambda kv: -kv[1])[:10]:
            print(f"    {100 * c / n:5.1f}%  {f[:110]}")
