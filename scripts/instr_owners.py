#!/usr/bin/env python3
"""Who executes a request's instructions: Strata's own code, RocksDB, the async
runtime, the allocators, libc or the Rust standard library.

Reads two callgrind profiles of one server and one workload, taken with N and
2N requests after the same preload, and prints (b - a) / N per owner: start-up,
preload and shutdown cancel out, as in scripts/instr-per-request.sh.

    scripts/instr_owners.py A.callgrind.out B.callgrind.out N [TOP]

A may be `-` for a profile of the N requests alone (scripts/callgrind.sh
with ZERO=1): B is then divided by N as it is.

An instruction belongs to the function it runs in after inlining, so standard
library code inlined into a Strata function counts as Strata's (Strata chose
to run it), and a generic standard-library function instantiated for a Strata
type (`drop_in_place<strata::...>`) counts as Strata's too. TOP (default 12)
also lists the costliest functions per request of each owner.

EVENT (environment, default Ir: instructions) counts another of the profiles'
events instead, e.g. DLmr (last-level cache read misses) of profiles taken
with callgrind's `--cache-sim=yes` (CALLGRIND_ARGS of scripts/callgrind.sh):
a memory walk (a skip list's) costs misses, which instructions do not show.
EVENT=CEst weighs those profiles' events into a cycle estimate, KCachegrind's
without its branch terms: instructions, plus 10 per first-level cache miss
and 100 per last-level miss (`CEST_WEIGHTS`). Still simulated, so it does not
vary between runs, but it charges a cache-missing walk what it costs.
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

# mimalloc serves Rust's allocations (Strata's and its crates'), glibc's
# malloc RocksDB's C++ ones.
OWNERS = ["strata", "rocksdb", "runtime", "mimalloc", "malloc", "libc", "rust-std", "crates", "other"]

# C++'s standard library demangles as `std::` like Rust's; these are C++'s.
CXX_STD = ("std::_", "std::vector", "std::basic_string", "std::unique_ptr", "std::shared_ptr", "std::string")
CRATES = ("bytes", "quick_cache", "itoa", "ryu", "redis_protocol", "parking_lot", "parking_lot_core",
          "crossbeam_utils", "crossbeam_epoch", "smallvec", "memchr", "lock_api")

EVENT = os.environ.get("EVENT", "Ir")
CEST_WEIGHTS = {"Ir": 1, "I1mr": 10, "D1mr": 10, "D1mw": 10, "ILmr": 100, "DLmr": 100, "DLmw": 100}
LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(.*?):(.*?)(?: \[(.*)\])?$")


def owner(function, obj):
    name = function
    for prefix in ("non-virtual thunk to ", "virtual thunk to "):
        if name.startswith(prefix):
            name = name[len(prefix):]
    bare = name.lstrip("<&*")
    first = re.split(r"::|<| |\(", bare, maxsplit=1)[0]
    if obj and "libstdc++" in obj:
        return "rocksdb"  # only RocksDB is C++ here
    if first in ("mi", "_mi") or name.startswith(("mi_", "_mi_")):
        return "mimalloc"
    if re.match(r"_?_?(int_)?(malloc|free|realloc|calloc|cfree|memalign|tcache)", name):
        return "malloc"
    if obj and "libc.so" in obj:
        return "libc"
    if re.match(r"(__)?(mem[a-z]*|str[a-z]*|pthread_\w*|clock_gettime|sched_getcpu|send|recv|epoll_\w*|syscall|ieee754\w*|lll\w*)(@|_|$)", name):
        return "libc"
    if name.startswith(("operator new", "operator delete")):
        return "malloc"
    if first == "strata":
        return "strata"
    if first in ("rocksdb", "librocksdb_sys", "__gnu_cxx") or name.startswith(("rocksdb_", "LZ4", "ZSTD", "snappy") + CXX_STD):
        return "rocksdb"
    if re.match(r"(bool|void|int|unsigned|rocksdb::Status|auto) rocksdb::", name) or (first not in ("core", "alloc") and "rocksdb::" in name and "strata::" not in name):
        return "rocksdb"
    if first in ("tokio", "mio"):
        return "runtime"
    if first in ("core", "alloc", "std", "hashbrown"):
        return "strata" if "strata::" in name else "rust-std"
    if first in CRATES:
        return "crates"
    return "other"


def profile(path):
    """Self cost (EVENT) per function of one callgrind output, and each
    function's object file (named on one of its lines)."""
    if EVENT != "CEst":
        return event_profile(path, EVENT)
    costs = defaultdict(int)
    objects = {}
    for event, weight in CEST_WEIGHTS.items():
        c, o = event_profile(path, event)
        for function, cost in c.items():
            costs[function] += weight * cost
        objects.update(o)
    return costs, objects


def event_profile(path, event):
    if path == "-":
        return defaultdict(int), {}
    out = subprocess.run(
        ["callgrind_annotate", f"--show={event}", f"--sort={event}", "--inclusive=no", "--auto=no",
         "--threshold=100", path],
        check=True, capture_output=True, text=True).stdout
    costs = defaultdict(int)
    objects = {}
    body = False
    total = 0
    for line in out.splitlines():
        if line.strip().endswith("PROGRAM TOTALS"):
            total = int(line.split()[0].replace(",", ""))
        if "file:function" in line:
            body = True
            continue
        if not body:
            continue
        if line.startswith("----"):
            if costs:
                break
            continue
        m = LINE.match(line)
        if not m:
            continue
        ir, _file, function, obj = m.groups()
        # Inlined code from several source files shows as several lines of
        # one function: they add up.
        costs[function] += int(ir.replace(",", ""))
        if obj:
            objects.setdefault(function, obj)
    # A profile whose counters were zeroed while the threads ran (ZERO=1)
    # lists each thread's outermost functions, on the stack at that moment,
    # with the whole total as their own cost: no function's real own cost
    # comes near it.
    return {f: c for f, c in costs.items() if c < 0.9 * total}, objects


def main():
    (a, objs_a), (b, objs_b) = profile(sys.argv[1]), profile(sys.argv[2])
    n = int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    objects = {**objs_a, **objs_b}
    per_fn = {f: (b.get(f, 0) - a.get(f, 0)) / n for f in set(a) | set(b)}
    owners = {f: owner(f, objects.get(f)) for f in per_fn}
    per_owner = defaultdict(float)
    for function, cost in per_fn.items():
        per_owner[owners[function]] += cost
    total = sum(per_owner.values())
    unit = "instr" if EVENT == "Ir" else EVENT
    print(f"| owner | {unit}/request | share |")
    print("|---|---:|---:|")
    for o in OWNERS:
        print(f"| {o} | {per_owner[o]:,.0f} | {100 * per_owner[o] / total:.0f}% |")
    print(f"| total | {total:,.0f} | |")
    if top:
        for o in OWNERS:
            rows = sorted(((c, f) for f, c in per_fn.items() if owners[f] == o), reverse=True)[:top]
            rows = [(c, f) for c, f in rows if c >= 20]
            if not rows:
                continue
            print(f"\n{o}:")
            for c, f in rows:
                print(f"  {c:8,.0f}  {f[:150]}")


if __name__ == "__main__":
    main()
