#!/usr/bin/env python3
"""Whose code a row's gap is, by role: the store that keeps the keys, the log
that makes writes durable, and the server around them.

scripts/instr_owners.py splits a request's instructions by owner and asks
whether, without Strata's own code, the rest would meet a row's line. That
test charges Strata for parsing, dispatch, replies and the replication
stream, which Redis runs too. This one compares like with like: both
servers do three things per request, and each is counted inclusively (what
it calls, `memcmp`, `malloc`, hashing, is its cost):

- the store: Redis's keyspace (key lookups with their expiry checks,
  adding, overwriting and deleting keys and expiries, the data types'
  insertions, the dictionaries' rehashing, active expiry: `REDIS_STORE`);
  Strata's RocksDB, reached only through RocksDB's C API (`rocksdb_*`), and
  RocksDB's own threads (flush, compaction), less its log write;
- the log: Redis's AOF feed and write (`REDIS_LOG`); Strata's record of
  the propagated commands (`encode_record`, put into the batch as log data)
  and RocksDB's write-ahead log record (`STRATA_LOG_*`);
- the server: everything else (the event loop, the protocol, dispatch, the
  command's own logic, replies, the replication feed; for Strata its own
  code outside those two, the record cache and the write context included).

    scripts/instr_roles.py STRATA_A STRATA_B REDIS_A REDIS_B N [LINE]

An A may be `-` when its B profiles the N requests alone (scripts/callgrind.sh
with ZERO=1).

Profiles as scripts/instr-owners.sh keeps them (KEEP=DIR: DIR/N.out and
DIR/2N.out, one workload, N and 2N requests). Prints per request, and with
LINE (the row's ratio, e.g. 0.8) what Strata would spend if its server part
cost exactly what Redis's does: over the line (Redis's total divided by
LINE) even then, and what is left is not in Strata's own code.
"""
import os
import re
import subprocess
import sys

# Redis 7.0's keyspace layer (db.c, the t_*.c insertions, dict.c's
# maintenance). Inclusive costs add up only if none of these calls another:
# so `lookupKey` (its expiry check may delete the key) and
# `activeExpireCycle` stand for their deletions, DEL's are `dbSyncDelete`
# and `dbAsyncDelete`, and `zsetAdd` and `zsetTypeMaybeConvert` stand for
# the conversions they make.
REDIS_STORE = {
    "lookupKey", "dbAdd", "dbOverwrite", "dbSyncDelete", "dbAsyncDelete", "removeExpire",
    "setExpire", "zsetAdd", "zsetTypeCreate", "zsetTypeMaybeConvert",
    "listTypePush", "listTypePop", "hashTypeSet", "hashTypeTryConversion", "setTypeAdd",
    "setTypeCreate", "dictRehashMilliseconds", "incrementallyRehash", "activeExpireCycle",
    "tryResizeHashTables",
}
REDIS_LOG = {"feedAppendOnlyFile", "flushAppendOnlyFile"}
# Strata's log: the propagated commands' record (a root of its own), and
# inside RocksDB's C API calls the write-ahead log's record and flush.
STRATA_LOG_OWN = {"strata::types::backlog::encode_record"}
STRATA_LOG_API = {"rocksdb_writebatch_put_log_data", "rocksdb_flush_wal"}
STRATA_LOG_INSIDE = re.compile(r"^rocksdb::DBImpl::WriteGroupToWAL\(")
# RocksDB's threads start here (flush, compaction, its timers).
ROCKSDB_THREAD = re.compile(r"^std::thread::_State_impl<.*rocksdb.*>::_M_run\(\)$")
LINE = re.compile(r"^\s*([\d,]+)\s+\([^)]*\)\s+(?:\S*?):(.*?)(?: \[(.*)\])?$")


def inclusive(path):
    """Inclusive instructions per function, and the whole program's total."""
    if path == "-":
        return {}, 0
    # From "/": run inside the repository, callgrind_annotate lists code whose
    # debug information names a relative path (src/...) twice in inclusive
    # mode, once under each spelling of the path.
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--auto=no", "--threshold=100", os.path.abspath(path)],
        check=True, capture_output=True, text=True, cwd="/").stdout
    costs = {}
    total = 0
    body = False
    for line in out.splitlines():
        if line.strip().endswith("PROGRAM TOTALS"):
            total = int(line.split()[0].replace(",", ""))
        if "file:function" in line:
            body = True
            continue
        m = LINE.match(line) if body else None
        if m:
            function = m.group(2)
            # A function with code from several source files (inlining) shows
            # once per file, each line with what that file's code ran and
            # called: they add up.
            costs[function] = costs.get(function, 0) + int(m.group(1).replace(",", ""))
    return costs, total


def strata_roles(costs):
    """(store, log) of one Strata profile."""
    api = sum(c for f, c in costs.items()
              if (f.startswith("rocksdb_") and "(" not in f) or ROCKSDB_THREAD.match(f))
    wal = sum(c for f, c in costs.items() if STRATA_LOG_INSIDE.match(f))
    log_api = sum(costs.get(f, 0) for f in STRATA_LOG_API)
    own = sum(costs.get(f, 0) for f in STRATA_LOG_OWN)
    return api - wal - log_api, wal + log_api + own


def redis_roles(costs):
    """(store, log) of one Redis profile."""
    return (sum(costs.get(f, 0) for f in REDIS_STORE), sum(costs.get(f, 0) for f in REDIS_LOG))


def per_request(a, b, n, roles):
    """(store, log, server) instructions per request."""
    (ca, ta), (cb, tb) = inclusive(a), inclusive(b)
    (store_a, log_a), (store_b, log_b) = roles(ca), roles(cb)
    store, log = (store_b - store_a) / n, (log_b - log_a) / n
    return store, log, (tb - ta) / n - store - log


def main():
    sa, sb, ra, rb, n = sys.argv[1:6]
    n = int(n)
    line = float(sys.argv[6]) if len(sys.argv) > 6 else None
    strata = per_request(sa, sb, n, strata_roles)
    redis = per_request(ra, rb, n, redis_roles)
    print("| instructions per request | Strata | Redis |")
    print("|---|---:|---:|")
    for i, role in enumerate(["the store (RocksDB / the keyspace)", "the log (WAL and stream record / AOF)",
                              "the server"]):
        print(f"| {role} | {strata[i]:,.0f} | {redis[i]:,.0f} |")
    print(f"| total | {sum(strata):,.0f} | {sum(redis):,.0f} |")
    if not line:
        return
    limit = sum(redis) / line
    over = sum(strata) - limit
    print(f"\nline {line}x: at most {limit:,.0f} per request; Strata "
          f"{'over' if over > 0 else 'under'} it by {abs(over):,.0f}.")
    if over <= 0:
        return
    extra = strata[2] - redis[2]
    print(f"Strata's server part costs {extra:+,.0f} against Redis's.")
    if extra <= 0:
        print("verdict: not in Strata's server part; the store is what puts it over.")
    elif over - extra > 0:
        print(f"With its server part at Redis's cost, Strata would still be over by {over - extra:,.0f}: "
              "that much is not in Strata's own code.")
    else:
        print("verdict: Strata's server part is enough to explain the miss.")


if __name__ == "__main__":
    main()
