#!/usr/bin/env python3
"""Who executes a request's instructions: Strata's own code, RocksDB, the async
runtime, the allocators, libc or the Rust standard library.

Reads two callgrind profiles of one server and one workload, taken with N and
2N requests after the same preload, and prints (b - a) / N per owner: start-up,
preload and shutdown cancel out, as in scripts/instr-per-request.sh.

    scripts/instr_owners.py A.callgrind.out B.callgrind.out N [TOP]

An instruction belongs to the function it runs in after inlining, so standard
library code inlined into a Strata function counts as Strata's (Strata chose
to run it), and a generic standard-library function instantiated for a Strata
type (`drop_in_place<strata::...>`) counts as Strata's too. TOP (default 12)
also lists the costliest functions per request of each owner.
"""
import re
import subprocess
import sys
from collections import defaultdict

# mimalloc serves Rust's allocations (Strata's and its crates'), glibc's
# malloc RocksDB's C++ ones.
OWNERS = ["strata", "rocksdb", "runtime", "mimalloc", "malloc", "libc", "rust-std", "crates", "other"]

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
    if re.match(r"_?_?(int_)?(malloc|free|realloc|calloc|cfree|memalign|tcache)", name) and not (obj and "strata" in obj):
        return "malloc"
    if obj and "libc.so" in obj:
        return "libc"
    if re.match(r"(__)?(mem[a-z]*|str[a-z]*|pthread_\w*|clock_gettime|sched_getcpu|send|recv|epoll_\w*|syscall|ieee754\w*|lll\w*)(@|_|$)", name):
        return "libc"
    if name.startswith(("operator new", "operator delete")):
        return "malloc"
    if first == "strata":
        return "strata"
    if first in ("rocksdb", "librocksdb_sys", "std", "__gnu_cxx") or name.startswith(("rocksdb_", "LZ4", "ZSTD", "snappy")):
        # `std::` here is C++'s (Rust's standard library demangles as `std::` too: told apart below)
        if first == "std" and not name.startswith(("std::_", "std::vector", "std::basic_string", "std::unique_ptr", "std::shared_ptr", "std::string")):
            return "strata" if "strata::" in name else "rust-std"
        return "rocksdb"
    if re.match(r"(bool|void|int|unsigned|rocksdb::Status|auto) rocksdb::", name) or (first not in ("core", "alloc") and "rocksdb::" in name and "strata::" not in name):
        return "rocksdb"
    if first in ("tokio", "mio"):
        return "runtime"
    if first in ("core", "alloc", "hashbrown"):
        return "strata" if "strata::" in name else "rust-std"
    if first in ("bytes", "quick_cache", "itoa", "ryu", "redis_protocol", "parking_lot", "parking_lot_core", "crossbeam_utils", "crossbeam_epoch", "smallvec", "memchr", "lock_api", "hashbrown"):
        return "crates"
    return "other"


def profile(path):
    """Self instructions per (function, object) of one callgrind output."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path],
        check=True, capture_output=True, text=True).stdout
    costs = defaultdict(int)
    body = False
    for line in out.splitlines():
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
        # One entry per function: inlined code from several source files
        # shows as several lines; the object is named once per function.
        key = next((k for k in costs if k[0] == function), None) if not obj else None
        costs[key or (function, obj or "")] += int(ir.replace(",", ""))
    return costs


def main():
    a, b, n = profile(sys.argv[1]), profile(sys.argv[2]), int(sys.argv[3])
    top = int(sys.argv[4]) if len(sys.argv) > 4 else 12
    per_fn = defaultdict(float)
    for k in set(a) | set(b):
        per_fn[k] += (b.get(k, 0) - a.get(k, 0)) / n
    per_owner = defaultdict(float)
    for (function, obj), cost in per_fn.items():
        per_owner[owner(function, obj)] += cost
    total = sum(per_owner.values())
    print("| owner | instr/request | share |")
    print("|---|---:|---:|")
    for o in OWNERS:
        print(f"| {o} | {per_owner[o]:,.0f} | {100 * per_owner[o] / total:.0f}% |")
    print(f"| total | {total:,.0f} | |")
    if top:
        for o in OWNERS:
            rows = sorted(((c, f) for (f, obj), c in per_fn.items() if owner(f, obj) == o), reverse=True)[:top]
            rows = [(c, f) for c, f in rows if c >= 20]
            if not rows:
                continue
            print(f"\n{o}:")
            for c, f in rows:
                print(f"  {c:8,.0f}  {f[:150]}")


if __name__ == "__main__":
    main()
