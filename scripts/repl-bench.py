#!/usr/bin/env python3
"""Replication figures, Strata beside Redis (issues 14, 15 and 17).

    scripts/repl-bench.py [--strata PATH] [--rounds N] [--keys N] [--phases fullsync,lag,throughput]

Starts redis-server and strata-server processes on free loopback ports with
their own temp dirs and measures, in alternated rounds:

1. fullsync: time from REPLICAOF on a fresh, empty replica until it reports
   master_link_status:up, master_sync_in_progress:0 and an offset equal to the
   master's, for a mixed dataset (--keys, default 1,000,000: 90% strings, the
   rest hashes, lists, sets and zsets, small and a few large), loaded into a
   Redis master and a Strata master with `redis-cli --pipe` from one file.
   Pairs: Redis->Redis, Redis->Strata, Strata->Redis (and Strata->Strata).
   Afterwards DBSIZE and a sample of keys are compared with the master.
2. lag: a write load on the master (a fixed rate from a helper process, then
   redis-benchmark SET at full speed) while (a) offsets of both are sampled
   every 10 ms (byte lag), (b) a writer sets a new marker key on the master
   every 10 ms and a reader polls the replica for it (time until readable).
3. throughput: redis-benchmark SET -c 50 (-P 1 and -P 16) against a master
   with one replica attached and with it detached (REPLICAOF NO ONE).

Redis runs with appendonly yes, appendfsync everysec; Strata with its defaults
(appendfsync everysec, durable backlog). Both masters use
repl-diskless-sync-delay 0 (the default 5 s wait would be in every full sync).
Prints markdown tables; --out writes the raw figures as JSON.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# --------------------------------------------------------------------------
# A minimal RESP2 client


class Resp:
    def __init__(self, port, timeout=60.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    @staticmethod
    def encode(*args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if not isinstance(a, bytes):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2 :]
                return line
            self._fill()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2 :]
        return data

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ValueError("bad reply %r" % line)

    def call(self, *args):
        self.sock.sendall(self.encode(*args))
        return self.read()

    def info(self, section="replication"):
        r = self.call("INFO", section)
        if isinstance(r, RespError):
            raise r
        d = {}
        for line in r.decode().splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                d[k] = v
        return d


class RespError(Exception):
    pass


# --------------------------------------------------------------------------
# Servers


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    """One redis-server or strata-server child process (stopped by pid)."""

    def __init__(self, kind, work, strata_bin, name):
        self.kind = kind
        self.port = free_port()
        self.dir = os.path.join(work, "%s-%d" % (name, self.port))
        os.makedirs(self.dir)
        self.log = os.path.join(work, "%s-%d.log" % (name, self.port))
        if kind == "redis":
            args = [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--logfile", self.log,
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--repl-diskless-sync-delay", "0",
                "--repl-backlog-size", "256mb",  # Strata's default backlog size
                "--daemonize", "no",
            ]
            out = subprocess.DEVNULL
        else:
            args = [
                strata_bin, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", self.dir, "--repl-diskless-sync-delay", "0",
            ]
            out = open(self.log, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        self.label = "Redis" if kind == "redis" else "Strata"
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start-up (log %s)" % (self.label, self.log))
            try:
                c = Resp(self.port, timeout=2)
                if c.call("PING") == "PONG":
                    c.close()
                    break
                c.close()
            except (OSError, ConnectionError):
                pass
            if time.time() > deadline:
                raise RuntimeError("%s did not answer PING" % self.label)
            time.sleep(0.05)
        self.conn = Resp(self.port)

    def call(self, *args):
        return self.conn.call(*args)

    def info(self, section="replication"):
        return self.conn.info(section)

    def rss_mib(self):
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def disk_mib(self):
        total = 0
        for root, _, files in os.walk(self.dir):
            for fn in files:
                try:
                    total += os.lstat(os.path.join(root, fn)).st_blocks * 512
                except OSError:
                    pass
        return total / (1 << 20)

    def stop(self):
        if self.proc.poll() is None:
            try:
                c = Resp(self.port, timeout=5)
                c.sock.sendall(Resp.encode("SHUTDOWN", "NOSAVE"))
                c.close()
            except (OSError, ConnectionError):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # by pid: this child only
                self.proc.wait()
        self.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)


ALL = []


def start(kind, work, args, name):
    s = Server(kind, work, args.strata, name)
    ALL.append(s)
    return s


def stop(s):
    s.stop()
    if s in ALL:
        ALL.remove(s)


def offsets(master, replica):
    """(master offset, replica offset, replica info) read in that order."""
    m = int(master.info()["master_repl_offset"])
    ri = replica.info()
    r = int(ri.get("slave_repl_offset", ri.get("master_repl_offset", "-1")))
    return m, r, ri


def wait_synced(master, replica, timeout, poll=0.01):
    """Seconds until the replica's link is up, no sync runs and its offset
    reached the master's; None on timeout."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            m, r, ri = offsets(master, replica)
            if (ri.get("master_link_status") == "up" and ri.get("master_sync_in_progress") == "0"
                    and r >= m):
                return time.monotonic() - t0
        except (RespError, ValueError, KeyError):
            pass
        time.sleep(poll)
    return None


def attach(master, replica):
    r = replica.call("REPLICAOF", "127.0.0.1", master.port)
    if r != "OK":
        raise RuntimeError("REPLICAOF: %r" % r)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Dataset


def write_dataset(path, keys, seed=42):
    """A RESP file of `keys` writes: 90% strings (16 B - 2 KB, some integers,
    1 in 20 with a TTL of a day), 4% hashes, 2% lists, sets and zsets each;
    most collections small (listpack/intset), 1 in 400 large (hashtable,
    quicklist, skiplist). Returns a summary."""
    rnd = random.Random(seed)
    n_str = keys * 90 // 100
    n_hash = keys * 4 // 100
    n_list = keys * 2 // 100
    n_set = keys * 2 // 100
    n_zset = keys - n_str - n_hash - n_list - n_set
    enc = Resp.encode
    elements = 0
    with open(path, "wb", buffering=1 << 22) as f:
        for i in range(n_str):
            k = b"s:%08d" % i
            x = rnd.random()
            if x < 0.10:
                v = str(rnd.randrange(1 << 40)).encode()
            elif x < 0.80:
                v = b"v" * rnd.randrange(16, 64)
            elif x < 0.99:
                v = b"w" * rnd.randrange(64, 256)
            else:
                v = b"x" * rnd.randrange(1024, 2048)
            if i % 20 == 0:
                f.write(enc(b"SET", k, v, b"EX", b"86400"))
            else:
                f.write(enc(b"SET", k, v))
        for i in range(n_hash):
            n = 1000 if i % 400 == 0 else rnd.randrange(3, 20)
            args = [b"HSET", b"h:%07d" % i]
            for j in range(n):
                args += [b"f%d" % j, b"val%d" % rnd.randrange(1 << 30)]
            f.write(enc(*args))
            elements += n
        for i in range(n_list):
            n = 2000 if i % 400 == 0 else rnd.randrange(3, 30)
            f.write(enc(b"RPUSH", b"l:%07d" % i, *[b"item%d" % rnd.randrange(1 << 20) for _ in range(n)]))
            elements += n
        for i in range(n_set):
            n = 2000 if i % 400 == 0 else rnd.randrange(3, 30)
            if i % 2:
                members = [b"%d" % j for j in rnd.sample(range(1 << 20), n)]
            else:
                members = [b"m%d" % j for j in rnd.sample(range(1 << 20), n)]
            f.write(enc(b"SADD", b"t:%07d" % i, *members))
            elements += n
        for i in range(n_zset):
            n = 1000 if i % 400 == 0 else rnd.randrange(3, 20)
            args = [b"ZADD", b"z:%07d" % i]
            for j in range(n):
                args += [b"%d" % rnd.randrange(1 << 20), b"zm%d" % j]
            f.write(enc(*args))
            elements += n
    return {
        "keys": keys, "strings": n_str, "hashes": n_hash, "lists": n_list, "sets": n_set,
        "zsets": n_zset, "collection_elements": elements, "file_mib": os.path.getsize(path) / (1 << 20),
    }


def pipe_load(server, path):
    t0 = time.monotonic()
    with open(path, "rb") as f:
        out = subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], stdin=f,
                             capture_output=True, text=True)
    dt = time.monotonic() - t0
    m = re.search(r"errors: (\d+), replies: (\d+)", out.stdout)
    if out.returncode != 0 or not m or m.group(1) != "0":
        raise RuntimeError("redis-cli --pipe into %s failed: %s %s" % (server.label, out.stdout[-500:], out.stderr[-500:]))
    return dt


def read_value(c, key):
    t = c.call("TYPE", key)
    if t == "string":
        return t, c.call("GET", key)
    if t == "hash":
        r = c.call("HGETALL", key)
        return t, sorted(zip(r[::2], r[1::2]))
    if t == "list":
        return t, c.call("LRANGE", key, 0, -1)
    if t == "set":
        return t, sorted(c.call("SMEMBERS", key))
    if t == "zset":
        return t, c.call("ZRANGE", key, 0, -1, "WITHSCORES")
    return t, None


def compare_sample(master, replica, keys, n, seed):
    """Keys (of the dataset's names) whose type or value differ, of n sampled."""
    rnd = random.Random(seed)
    n_str = keys * 90 // 100
    n_hash = keys * 4 // 100
    n_l = keys * 2 // 100
    n_z = keys - n_str - n_hash - 2 * n_l
    names = []
    for _ in range(n):
        kind = rnd.choice("sssshltz")
        if kind == "s":
            names.append(b"s:%08d" % rnd.randrange(n_str))
        elif kind == "h":
            names.append(b"h:%07d" % rnd.randrange(n_hash))
        elif kind == "l":
            names.append(b"l:%07d" % rnd.randrange(n_l))
        elif kind == "t":
            names.append(b"t:%07d" % rnd.randrange(n_l))
        else:
            names.append(b"z:%07d" % rnd.randrange(n_z))
    names += [b"h:%07d" % 0, b"l:%07d" % 0, b"t:%07d" % 0, b"z:%07d" % 0]  # large ones
    bad = []
    for k in names:
        if read_value(master.conn, k) != read_value(replica.conn, k):
            bad.append(k.decode())
    return bad


# --------------------------------------------------------------------------
# 1. Full sync


def phase_fullsync(args, work, res):
    path = os.path.join(work, "dataset.resp")
    t0 = time.monotonic()
    summary = write_dataset(path, args.keys)
    log("dataset: %s (generated in %.1f s)" % (summary, time.monotonic() - t0))
    res["dataset"] = summary
    masters = {}
    for kind in ("redis", "strata"):
        m = start(kind, work, args, "master")
        dt = pipe_load(m, path)
        n = m.call("DBSIZE")
        log("%s master loaded %d keys in %.1f s (redis-cli --pipe)" % (m.label, n, dt))
        res["load"][m.label] = {"seconds": dt, "dbsize": n, "rss_mib": m.rss_mib(), "disk_mib": m.disk_mib()}
        if n != args.keys:
            raise RuntimeError("%s master has %d keys, expected %d" % (m.label, n, args.keys))
        masters[kind] = m
    os.unlink(path)
    pairs = [("redis", "redis"), ("redis", "strata"), ("strata", "redis"), ("strata", "strata")]
    pairs = [p for p in pairs if "%s-%s" % p in args.pairs]
    rows = res["fullsync"]
    for rnd in range(args.rounds):
        order = pairs if rnd % 2 == 0 else list(reversed(pairs))
        for mk, rk in order:
            m = masters[mk]
            r = start(rk, work, args, "replica")
            name = "%s -> %s" % (m.label, r.label)
            la = loadavg()
            t0 = time.monotonic()
            attach(m, r)
            secs = wait_synced(m, r, args.sync_timeout)
            wall = time.monotonic() - t0
            row = {"pair": name, "round": rnd + 1, "seconds": secs, "load": la}
            if secs is None:
                row["error"] = "not in sync after %.0f s" % wall
                try:
                    row["replica_info"] = r.info()
                except Exception as e:  # noqa: BLE001 - report whatever is wrong
                    row["replica_info"] = str(e)
            else:
                row["dbsize"] = r.call("DBSIZE")
                row["rss_mib"] = r.rss_mib()
                row["disk_mib"] = r.disk_mib()
                row["sample_mismatches"] = compare_sample(m, r, args.keys, args.sample, rnd)
            log("fullsync %s round %d: %s" % (name, rnd + 1, json.dumps({k: v for k, v in row.items() if k != "replica_info"})))
            rows.append(row)
            stop(r)
    for m in masters.values():
        stop(m)


# --------------------------------------------------------------------------
# 2. Lag


def rate_writer(port, rate, seconds):
    """Helper process: SET r:<n> at `rate` per second for `seconds`, in
    batches every 10 ms on one connection. Prints how many it sent."""
    c = Resp(port)
    rnd = random.Random(7)
    t0 = time.monotonic()
    sent = 0
    val = b"x" * 16
    while True:
        now = time.monotonic() - t0
        if now >= seconds:
            break
        due = int(now * rate) - sent
        if due > 0:
            due = min(due, rate // 10)
            c.sock.sendall(b"".join(Resp.encode(b"SET", b"r:%d" % rnd.randrange(1000000), val) for _ in range(due)))
            for _ in range(due):
                c.read()
            sent += due
        time.sleep(0.01)
    print(sent, flush=True)


class Markers:
    """A writer sets mk:<i> on the master every `interval`; a reader polls the
    replica for the oldest marker not yet seen (stream order means all
    earlier ones are there too)."""

    def __init__(self, master_port, replica_port, interval=0.01):
        self.wc = Resp(master_port)
        self.rc = Resp(replica_port)
        self.interval = interval
        self.sent = []  # (t_send, t_ack)
        self.seen = []
        self.stop_writing = threading.Event()
        self.stop_reading = threading.Event()
        self.tag = "%x" % random.getrandbits(32)

    def writer(self):
        nxt = time.monotonic()
        i = 0
        while not self.stop_writing.is_set():
            ts = time.monotonic()
            self.wc.call("SET", "mk:%s:%d" % (self.tag, i), "1")
            self.sent.append((ts, time.monotonic()))
            i += 1
            nxt += self.interval
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)
            else:
                nxt = time.monotonic()

    def reader(self):
        i = 0
        give_up = None
        while True:
            if i < len(self.sent):
                v = self.rc.call("GET", "mk:%s:%d" % (self.tag, i))
                if v is not None and not isinstance(v, RespError):
                    self.seen.append(time.monotonic())
                    i += 1
                    continue
            if self.stop_reading.is_set():
                # the replica has reached the master's final offset: every
                # marker is there; a missing one after 2 s is reported
                give_up = give_up or time.monotonic() + 2
                if i >= len(self.sent) or time.monotonic() > give_up:
                    break
            time.sleep(0.0005)

    def lags_ms(self):
        n = len(self.seen)
        from_send = [(self.seen[i] - self.sent[i][0]) * 1000 for i in range(n)]
        from_ack = [max(0.0, (self.seen[i] - self.sent[i][1])) * 1000 for i in range(n)]
        return from_send, from_ack


def run_lag(args, work, mk, rk, load, rnd):
    m = start(mk, work, args, "master")
    r = start(rk, work, args, "replica")
    attach(m, r)
    if wait_synced(m, r, 60) is None:
        raise RuntimeError("replica did not sync")
    name = "%s -> %s" % (m.label, r.label)
    la = loadavg()
    mon_m, mon_r = Resp(m.port), Resp(r.port)
    samples = []
    sampling = threading.Event()

    def sampler():
        while not sampling.is_set():
            try:
                mo = int(mon_m.info()["master_repl_offset"])
                ri = mon_r.info()
                ro = int(ri.get("slave_repl_offset", ri.get("master_repl_offset")))
                samples.append((time.monotonic(), mo, ro))
            except (RespError, ValueError, KeyError, ConnectionError):
                pass
            time.sleep(0.01)

    mk_ = Markers(m.port, r.port)
    threads = [threading.Thread(target=f, daemon=True) for f in (sampler, mk_.writer, mk_.reader)]
    m0 = int(m.info()["master_repl_offset"])
    t_start = time.monotonic()
    if load == "full":
        lp = subprocess.Popen(["redis-benchmark", "-p", str(m.port), "-t", "set", "-c", "50", "-n", "1000000000",
                               "-r", "1000000", "-d", "16", "-q"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              # A shell's background job ignores SIGINT, and the child would
                              # inherit that: it would never stop.
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    else:
        lp = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--rate-writer", str(m.port),
                               str(args.rate), str(args.lag_seconds)], stdout=subprocess.PIPE)
    for t in threads:
        t.start()
    if load == "full":
        time.sleep(args.lag_seconds)
        lp.send_signal(signal.SIGINT)  # by pid: the child we started
        out = lp.communicate()[0].decode(errors="replace")
        ops = [float(x) for x in re.findall(r"rps=[0-9.]+ \(overall: ([0-9.]+)\)", out)]
        ops = ops[-1] if ops else None
    else:
        out = lp.communicate()[0].decode()
        ops = int(out.strip()) / args.lag_seconds if out.strip() else None
    t_load = time.monotonic() - t_start
    mk_.stop_writing.set()
    t_stop = time.monotonic()
    m_end = int(m.info()["master_repl_offset"])
    # drain: the replica reaches the master's offset at the end of the load
    drain = None
    while time.monotonic() - t_stop < args.drain_timeout:
        try:
            _, ro, _ = offsets(m, r)
            if ro >= m_end:
                drain = time.monotonic() - t_stop
                break
        except (RespError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    mk_.stop_reading.set()
    sampling.set()
    for t in threads:
        t.join(timeout=args.drain_timeout)
    from_send, from_ack = mk_.lags_ms()
    byte_lag = [max(0, mo - ro) for (ts, mo, ro) in samples if ts <= t_stop]
    row = {
        "pair": name, "load": load, "round": rnd + 1, "loadavg": la,
        "ops_per_s": ops, "seconds": t_load,
        "stream_mib_per_s": (m_end - m0) / t_load / (1 << 20),
        "markers_sent": len(mk_.sent), "markers_seen": len(mk_.seen),
        "lag_ms_from_send": {"p50": pct(from_send, 50), "p99": pct(from_send, 99), "max": max(from_send, default=None)},
        "lag_ms_from_ack": {"p50": pct(from_ack, 50), "p99": pct(from_ack, 99), "max": max(from_ack, default=None)},
        "lag_bytes": {"p50": pct(byte_lag, 50), "p99": pct(byte_lag, 99), "max": max(byte_lag, default=None),
                      "samples": len(byte_lag)},
        "drain_seconds": drain,
        "replica_link": r.info().get("master_link_status"),
    }
    if args.series:
        t0 = mk_.sent[0][0] if mk_.sent else 0
        row["series"] = {"marker_sent_s": [round(s[0] - t0, 4) for s in mk_.sent[: len(from_send)]],
                         "marker_lag_ms": [round(x, 2) for x in from_send],
                         "offsets": [(round(ts - t0, 4), mo, ro) for (ts, mo, ro) in samples]}
    log("lag %s %s round %d: %s" % (name, load, rnd + 1, json.dumps({k: v for k, v in row.items() if k != "series"})))
    mon_m.close()
    mon_r.close()
    stop(r)
    stop(m)
    return row


def phase_lag(args, work, res):
    pairs = [("redis", "redis"), ("redis", "strata"), ("strata", "redis"), ("strata", "strata")]
    pairs = [p for p in pairs if "%s-%s" % p in args.lag_pairs]
    for load in args.loads:
        for rnd in range(args.lag_rounds):
            order = pairs if rnd % 2 == 0 else list(reversed(pairs))
            for mk, rk in order:
                res["lag"].append(run_lag(args, work, mk, rk, load, rnd))


# --------------------------------------------------------------------------
# 3. Throughput with a replica attached


def bench_set(port, pipeline, n):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-c", "50", "-n", str(n),
                          "-r", "100000", "-d", "16", "-P", str(pipeline), "--csv"],
                         capture_output=True, text=True).stdout
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    for line in out.splitlines():
        f = [x.strip('"') for x in line.split(",")]
        if f and f[0] == "SET":
            return float(f[1]), float(f[6])
    raise RuntimeError("no SET line from redis-benchmark: %r" % out[-300:])


def phase_throughput(args, work, res):
    configs = [("redis", "redis"), ("strata", "redis"), ("strata", "strata")]
    configs = [c for c in configs if "%s-%s" % c in args.tput_pairs]
    setups = []
    for mk, rk in configs:
        m = start(mk, work, args, "master")
        r = start(rk, work, args, "replica")
        attach(m, r)
        if wait_synced(m, r, 60) is None:
            raise RuntimeError("replica did not sync")
        setups.append((m, r, True))
    for rnd in range(args.rounds):
        for idx in range(len(setups)):
            m, r, attached = setups[idx]
            name = "%s master, %s replica" % (m.label, r.label)
            # alternate which state comes first from round to round
            for want in ([attached, not attached]):
                if want != attached:
                    if want:
                        attach(m, r)
                        t = wait_synced(m, r, args.drain_timeout)
                        log("%s: reattached in %s s" % (name, t))
                    else:
                        r.call("REPLICAOF", "NO", "ONE")
                        time.sleep(0.5)
                    attached = want
                for p in (1, 16):
                    la = loadavg()
                    n = args.requests if p == 1 else args.requests * 3
                    rps, p99 = bench_set(m.port, p, n)
                    drain = wait_synced(m, r, args.drain_timeout) if attached else None
                    row = {"config": name, "master": m.label, "replica": r.label, "attached": attached,
                           "pipeline": p, "round": rnd + 1, "rps": rps, "p99_ms": p99, "requests": n,
                           "drain_seconds": drain, "loadavg": la}
                    log("throughput %s" % json.dumps(row))
                    res["throughput"].append(row)
            setups[idx] = (m, r, attached)
    for m, r, _ in setups:
        stop(r)
        stop(m)


# --------------------------------------------------------------------------
# Report


def fmt(v, nd=1):
    if v is None:
        return "n/a"
    if isinstance(v, float) and v != v:
        return "n/a"
    return ("%." + str(nd) + "f") % v


def report(res, args):
    out = []
    w = out.append
    if res["fullsync"]:
        ds = res.get("dataset", {})
        w("Full sync of %s keys (%s strings, %s hashes, %s lists, %s sets, %s zsets; %s collection elements; "
          "%.0f MiB of RESP). Masters loaded with `redis-cli --pipe`: %s.\n" % (
              f"{ds.get('keys', 0):,}", f"{ds.get('strings', 0):,}", f"{ds.get('hashes', 0):,}",
              f"{ds.get('lists', 0):,}", f"{ds.get('sets', 0):,}", f"{ds.get('zsets', 0):,}",
              f"{ds.get('collection_elements', 0):,}", ds.get("file_mib", 0),
              ", ".join("%s %.1f s (RSS %s MiB, disk %s MiB)" % (k, v["seconds"], fmt(v["rss_mib"], 0), fmt(v["disk_mib"], 0))
                        for k, v in res["load"].items())))
        w("| Master -> replica | median s | / Redis -> Redis | rounds (s) | replica RSS MiB | replica disk MiB "
          "| keys / sample mismatches |")
        w("|---|---:|---:|---|---:|---:|---|")
        ref = med([r["seconds"] for r in res["fullsync"] if r["pair"] == "Redis -> Redis"])
        for pair in dict.fromkeys(r["pair"] for r in res["fullsync"]):
            rows = [r for r in res["fullsync"] if r["pair"] == pair]
            secs = [r["seconds"] for r in rows]
            w("| %s | %s | %s | %s | %s | %s | %s |" % (
                pair, fmt(med(secs), 2), fmt(med(secs) / ref if ref and med(secs) else None, 2),
                ", ".join(fmt(s, 2) for s in secs),
                fmt(med([r.get("rss_mib") for r in rows]), 0), fmt(med([r.get("disk_mib") for r in rows]), 0),
                "; ".join("%s / %d" % (f"{r['dbsize']:,}" if "dbsize" in r else r.get("error"), len(r.get("sample_mismatches", [])))
                          for r in rows)))
        w("")
    if res["lag"]:
        w("| Load | Master -> replica | master writes/s | stream MiB/s | lag p50 ms | lag p99 ms | lag max ms | "
          "byte lag p50 | byte lag p99 | catch-up after load s | markers seen/sent |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for load in dict.fromkeys(r["load"] for r in res["lag"]):
            for pair in dict.fromkeys(r["pair"] for r in res["lag"]):
                rows = [r for r in res["lag"] if r["pair"] == pair and r["load"] == load]
                if not rows:
                    continue
                lname = "%d SET/s" % args.rate if load == "rate" else "redis-benchmark SET -c 50, full speed"
                w("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                    lname, pair, fmt(med([r["ops_per_s"] for r in rows]), 0),
                    fmt(med([r["stream_mib_per_s"] for r in rows]), 2),
                    fmt(med([r["lag_ms_from_send"]["p50"] for r in rows]), 2),
                    fmt(med([r["lag_ms_from_send"]["p99"] for r in rows]), 1),
                    fmt(med([r["lag_ms_from_send"]["max"] for r in rows]), 0),
                    fmt(med([r["lag_bytes"]["p50"] for r in rows]), 0),
                    fmt(med([r["lag_bytes"]["p99"] for r in rows]), 0),
                    fmt(med([r["drain_seconds"] for r in rows]), 2),
                    ", ".join("%d/%d" % (r["markers_seen"], r["markers_sent"]) for r in rows)))
        w("")
    if res["throughput"]:
        w("| Master, replica | pipeline | no replica ops/s | replica attached ops/s | attached/none (median of rounds) "
          "| attached, per round | p99 ms none / attached | replica catch-up s |")
        w("|---|---:|---:|---:|---:|---|---|---:|")
        for cfg in dict.fromkeys(r["config"] for r in res["throughput"]):
            for p in (1, 16):
                rows = [r for r in res["throughput"] if r["config"] == cfg and r["pipeline"] == p]
                off = {r["round"]: r for r in rows if not r["attached"]}
                on = {r["round"]: r for r in rows if r["attached"]}
                ratios = [on[k]["rps"] / off[k]["rps"] for k in on if k in off]
                w("| %s | %d | %s | %s | %s | %s | %s / %s | %s |" % (
                    cfg, p, fmt(med([r["rps"] for r in off.values()]), 0), fmt(med([r["rps"] for r in on.values()]), 0),
                    fmt(med(ratios), 2), ", ".join(fmt(on[k]["rps"], 0) for k in sorted(on)), fmt(med([r["p99_ms"] for r in off.values()]), 2),
                    fmt(med([r["p99_ms"] for r in on.values()]), 2),
                    fmt(med([r["drain_seconds"] for r in on.values()]), 2)))
        w("")
    return "\n".join(out)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--rate-writer":
        rate_writer(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--strata", default="/tmp/strata-replbench", help="strata-server binary")
    ap.add_argument("--phases", default="fullsync,lag,throughput")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of full sync and of throughput")
    ap.add_argument("--keys", type=int, default=1000000)
    ap.add_argument("--sample", type=int, default=300, help="keys compared after each full sync")
    ap.add_argument("--pairs", default="redis-redis,redis-strata,strata-redis,strata-strata",
                    help="full-sync pairs (master-replica)")
    ap.add_argument("--lag-pairs", default="redis-redis,redis-strata,strata-redis,strata-strata")
    ap.add_argument("--tput-pairs", default="redis-redis,strata-redis,strata-strata")
    ap.add_argument("--loads", default="rate,full", help="lag loads: rate (fixed --rate) and/or full")
    ap.add_argument("--rate", type=int, default=10000, help="SET/s of the fixed-rate load")
    ap.add_argument("--lag-seconds", type=float, default=10.0)
    ap.add_argument("--lag-rounds", type=int, default=2)
    ap.add_argument("--requests", type=int, default=100000, help="redis-benchmark -n (x3 with -P 16)")
    ap.add_argument("--sync-timeout", type=float, default=300.0)
    ap.add_argument("--drain-timeout", type=float, default=120.0)
    ap.add_argument("--series", action="store_true", help="keep per-marker lags and offset samples in --out")
    ap.add_argument("--out", help="write the raw figures here (JSON)")
    ap.add_argument("--md", help="write the report's Replication section here (markdown), e.g. docs/bench/replication.md")
    ap.add_argument("--report-from", help="run nothing: print (and --md) the tables of an earlier --out JSON")
    args = ap.parse_args()
    args.loads = args.loads.split(",")
    if args.report_from:
        with open(args.report_from) as f:
            res = json.load(f)
        args.rate = res["args"]["rate"]
        emit(res, args)
        return
    work = tempfile.mkdtemp(prefix="repl-bench-")
    res = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "loadavg_start": loadavg(),
           "args": {k: v for k, v in vars(args).items()}, "load": {}, "fullsync": [], "lag": [], "throughput": []}
    t0 = time.monotonic()
    try:
        for ph in args.phases.split(","):
            log("== %s (load average %s)" % (ph, loadavg()))
            {"fullsync": phase_fullsync, "lag": phase_lag, "throughput": phase_throughput}[ph](args, work, res)
    finally:
        for s in list(ALL):
            try:
                stop(s)
            except Exception as e:  # noqa: BLE001
                log("stopping %s: %s" % (s.label, e))
        res["seconds"] = time.monotonic() - t0
        res["loadavg_end"] = loadavg()
        if args.out:
            with open(args.out, "w") as f:
                json.dump(res, f, indent=1)
        if os.environ.get("KEEP"):
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    emit(res, args)


def emit(res, args):
    tables = report(res, args)
    print("Run %s, %.0f s, load average %s at start, %s at end.\n" % (
        res["started"], res["seconds"], res["loadavg_start"], res["loadavg_end"]))
    print(tables)
    if args.md:
        a = res["args"]
        kw = dict(started=res["started"], minutes=res["seconds"] / 60, la0=res["loadavg_start"],
                  la1=res["loadavg_end"], rounds=a["rounds"], lag_rounds=a["lag_rounds"],
                  lag_seconds=a["lag_seconds"], rate=a["rate"], requests=a["requests"])
        with open(args.md, "w") as f:
            f.write(MD_HEAD.format(**kw))
            f.write(tables)
            f.write(MD_TAIL.format(**kw))


MD_HEAD = """## Replication

Generated by `scripts/repl-bench.py` (run {started}, {minutes:.0f} min, load average {la0} at start and {la1} at
end, the benchmark's own servers and clients included; timings on this machine spread by +-15% between runs).
Each pair runs on fresh servers on loopback (Redis: appendonly yes, appendfsync everysec, repl-backlog-size 256mb
like Strata's default; Strata: its defaults, durable backlog on; both masters repl-diskless-sync-delay 0).
Rounds alternate (A B C D, then D C B A); figures are medians over rounds.

**Full sync** ({rounds} rounds): time from `REPLICAOF` on an empty replica until its INFO shows
`master_link_status:up`, `master_sync_in_progress:0` and its offset equal to the master's (polled every 10 ms);
then DBSIZE and 300 sampled keys (plus the four large ones) are compared with the master by value. Both masters
send the RDB diskless (the default); the Redis replica saves it to disk and then loads it (Redis's default
`repl-diskless-load disabled`), Strata's loads it as it streams in. Strata's master was loaded by commands, not by a
sync, so its SSTs are as a client's writes leave them.

"""

MD_TAIL = """
**Lag** ({lag_rounds} rounds of {lag_seconds:.0f} s per pair and load) is measured on a fresh, empty pair under a
write load on the master: a fixed {rate} SET/s (a helper sending batches every 10 ms) and redis-benchmark
`-t set -c 50 -r 1000000 -d 16` at full speed. Lag ms: a writer sets a new key on the master every 10 ms, a reader
polls the replica for it; time from sending the SET to the master until the replica returns it (includes the
master's own reply latency and ~0.5 ms of polling). Byte lag: master_repl_offset minus the replica's
slave_repl_offset, both read by INFO every ~10 ms. Catch-up: time after the load stops until the offsets are equal.

**SET throughput with one replica** ({rounds} rounds): redis-benchmark `-t set -c 50 -r 100000 -d 16`, -n {requests}
(x3 with -P 16) against the master, with its replica attached and detached (`REPLICAOF NO ONE` on the replica; the
next attach is a partial resync). The replica runs on the same 2 cores, so it takes CPU from the master and the
client in both systems. Ratio: median of per-round attached/detached.

Raw figures: [bench/replication.json](bench/replication.json). Reproduce:
`scripts/repl-bench.py --out docs/bench/replication.json --md docs/bench/replication.md` (about 12 minutes on this
machine; `--keys`, `--rounds`, `--lag-seconds`, `--phases fullsync,lag,throughput` make it shorter), then
`strata-bench --rerender` or paste the section. Observations: see "Replication figures" in the notes above.
"""


if __name__ == "__main__":
    main()
