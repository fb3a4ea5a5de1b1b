#!/usr/bin/env python3
"""A client that asks redis-sentinel for the master, as applications do.

Uses redis-py's ``redis.sentinel.Sentinel(...).master_for(name)`` and writes
in a loop. Each write is ``MULTI; SET key key; CONFIG GET port; EXEC``, so
the port printed with a key is the port of the server that took the write.
Connection errors, timeouts, READONLY (an old master turned replica) and
"no master known" are retried until ``--seconds`` pass. Prints one line per
event:

    master <port>           the master sentinel names at start
    written <key> <port>    a write that succeeded, and where
    retry <error class>     a failed attempt (first of a run only)
    done <port> <n>         n writes succeeded on a master other than the first

Exits 0 once ``--after`` writes succeeded on a master other than the first,
1 when ``--seconds`` run out first, 2 when redis-py is missing.

Run by tests/it/sentinel.rs (redis_py_sentinel_client_keeps_writing_through_a_failover).
"""

import argparse
import sys
import time

try:
    import redis
    from redis.sentinel import Sentinel, MasterNotFoundError
except ImportError as e:  # pragma: no cover
    print(f"unavailable redis-py: {e}", flush=True)
    sys.exit(2)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentinels", required=True, help="host:port,host:port,...")
    ap.add_argument("--name", default="mymaster")
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--after", type=int, default=20)
    args = ap.parse_args()

    addrs = []
    for a in args.sentinels.split(","):
        host, port = a.rsplit(":", 1)
        addrs.append((host, int(port)))
    sentinel = Sentinel(addrs, socket_timeout=2.0)
    first = sentinel.discover_master(args.name)
    print(f"master {first[1]}", flush=True)
    client = sentinel.master_for(
        args.name, socket_timeout=2.0, socket_connect_timeout=2.0
    )

    deadline = time.monotonic() + args.seconds
    i = 0
    on_new = 0
    last_error = None
    while time.monotonic() < deadline:
        key = f"py{i}"
        try:
            pipe = client.pipeline(transaction=True)
            pipe.set(key, key)
            pipe.config_get("port")
            _, conf = pipe.execute()
            port = int(conf["port"])
        except (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
            redis.exceptions.ReadOnlyError,
            redis.exceptions.ResponseError,
            MasterNotFoundError,
        ) as e:
            name = type(e).__name__
            if name != last_error:
                print(f"retry {name}: {e}", flush=True)
                last_error = name
            time.sleep(0.2)
            continue
        last_error = None
        print(f"written {key} {port}", flush=True)
        i += 1
        if port != first[1]:
            on_new += 1
            if on_new >= args.after:
                print(f"done {port} {on_new}", flush=True)
                return 0
        time.sleep(0.05)
    print(f"gave up after {args.seconds} s with {on_new} writes on a new master", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
