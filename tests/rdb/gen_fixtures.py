"""Fills a live redis-server, SAVEs it, and writes the fixture RDB, DUMP
payloads and a manifest of what the server reports for each key.

Manifest format (one record per line, binary as x<hex>), shared with
src/rdb/reader_tests/fixtures.rs:
  function x<code>
  db <n>
  key x<name> <type> expire <ms|none>
  string x<v> | list x<item> | set x<m> | hash x<f> x<v> | zset x<m> <f64 bits hex>
  stream length <n> last <id> first <id> maxdel <id> added <n>
  entry <id> x<f> x<v> ...
  group x<name> last <id> read <n|none>
  pel <id> x<consumer> <delivery ms> <count>
  consumer x<name> seen <ms>
  cpel <id>
fixtures/dump/<key>.bin holds DUMP <key> for every db-0 key, checked
against the same manifests. Sets and hashes are sorted by bytes, zsets by (score, member), PEL by id."""
import os
import random
import shutil
import socket
import struct
import sys


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")

    def __call__(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif not isinstance(a, bytes):
                a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self.read()

    def read(self):
        line = self.f.readline()
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)


def x(b):
    return "x" + b.hex()


def bits(score):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", float(score)))[0]


def pairs(flat):
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


def describe(r, key):
    t = r("TYPE", key).decode()
    exp = r("PEXPIRETIME", key)
    lines = ["key %s %s expire %s" % (x(key), t, "none" if exp < 0 else exp)]
    if t == "string":
        lines.append("string " + x(r("GET", key)))
    elif t == "list":
        lines += ["list " + x(i) for i in r("LRANGE", key, 0, -1)]
    elif t == "set":
        lines += ["set " + x(m) for m in sorted(r("SMEMBERS", key))]
    elif t == "hash":
        lines += ["hash %s %s" % (x(f), x(v)) for f, v in sorted(pairs(r("HGETALL", key)))]
    elif t == "zset":
        zs = sorted((float(s), m) for m, s in pairs(r("ZRANGE", key, 0, -1, "WITHSCORES")))
        lines += ["zset %s %s" % (x(m), bits(s)) for s, m in zs]
    elif t == "stream":
        info = dict(pairs(r("XINFO", "STREAM", key, "FULL", "COUNT", 0)))
        lines.append(
            "stream length %d last %s first %s maxdel %s added %d"
            % (
                info[b"length"],
                info[b"last-generated-id"].decode(),
                info[b"recorded-first-entry-id"].decode(),
                info[b"max-deleted-entry-id"].decode(),
                info[b"entries-added"],
            )
        )
        for eid, fields in info[b"entries"]:
            lines.append("entry %s %s" % (eid.decode(), " ".join(x(f) for f in fields)))
        for g in sorted((dict(pairs(g)) for g in info[b"groups"]), key=lambda g: g[b"name"]):
            read = g[b"entries-read"]
            lines.append(
                "group %s last %s read %s"
                % (x(g[b"name"]), g[b"last-delivered-id"].decode(), "none" if read is None else read)
            )
            for pid, consumer, when, count in sorted(g[b"pending"], key=lambda p: sid(p[0])):
                lines.append("pel %s %s %d %d" % (pid.decode(), x(consumer), when, count))
            for c in sorted((dict(pairs(c)) for c in g[b"consumers"]), key=lambda c: c[b"name"]):
                lines.append("consumer %s seen %d" % (x(c[b"name"]), c[b"seen-time"]))
                for p in sorted(c[b"pending"], key=lambda p: sid(p[0])):
                    lines.append("cpel " + p[0].decode())
    else:
        raise RuntimeError("unexpected type " + t)
    return lines


def sid(s):
    ms, seq = s.split(b"-")
    return (int(ms), int(seq))


FAR = 4102444800000  # 2100-01-01, so the expiry survives until SAVE


def fill_small(r):
    r("FUNCTION", "LOAD", "#!lua name=fixturelib\nredis.register_function('fixture_one', function(keys, args) return 1 end)")
    r("SET", "str_raw", "hello world")
    r("SET", "str_int", "12345")
    r("SET", "str_int8", "-100")
    r("SET", "str_int32", "2000000000")
    r("SET", "str_not_int", "99999999999")
    r("SET", "str_lead_zero", "007")
    r("SET", "str_empty", "")
    r("SET", "str_lzf", "abcdefgh" * 40 + "tail")
    r("SET", "str_bin", bytes(range(256)))
    r("SET", "str_exp", "soon")
    r("PEXPIREAT", "str_exp", FAR)
    r("RPUSH", "list_lp", "a", "b", "1", "2", "-100", "70000", "5000000000", "-9223372036854775808", "x" * 100, "y" * 5000)
    r("RPUSH", "list_exp", "only")
    r("PEXPIREAT", "list_exp", FAR)
    r("SADD", "set_int16", 1, 2, 3, -5)
    r("SADD", "set_int32", 1, 100000, -100000)
    r("SADD", "set_int64", 1, 5000000000)
    r("SADD", "set_str", "apple", "banana", "7", "")
    r("ZADD", "zset_lp", 1.5, "m", 2, "n", "-inf", "o", "+inf", "p", 3.25, "q", -0.5, "r", 1e300, "s")
    r("HSET", "hash_lp", "f", "v", "n", "123", "neg", "-7", "empty", "")
    r("HSET", "hash_exp", "a", "b")
    r("PEXPIREAT", "hash_exp", FAR)
    # Stream: same-field and new-field entries, a deletion, two groups.
    r("XADD", "stream", "1-1", "a", "1", "b", "2")
    r("XADD", "stream", "1-2", "a", "3", "b", "4")
    r("XADD", "stream", "2-1", "c", "5")
    r("XADD", "stream", "3-1", "a", "x", "b", "y")
    r("XADD", "stream", "4-1", "name", "value", "n", "-42")
    r("XDEL", "stream", "1-2")
    r("XGROUP", "CREATE", "stream", "g1", "0")
    r("XREADGROUP", "GROUP", "g1", "alice", "COUNT", 2, "STREAMS", "stream", ">")
    r("XREADGROUP", "GROUP", "g1", "bob", "COUNT", 1, "STREAMS", "stream", ">")
    r("XACK", "stream", "g1", "1-1")
    r("XGROUP", "CREATE", "stream", "g2", "$")
    r("XGROUP", "CREATECONSUMER", "stream", "g2", "carol")
    r("XADD", "stream_empty", "5-1", "k", "v")
    r("XDEL", "stream_empty", "5-1")
    r("SELECT", 2)
    r("SET", "db2_key", "in db 2")
    r("RPUSH", "db2_list", "p", "q")
    r("SELECT", 5)
    r("HSET", "db5_hash", "k", "v")
    r("SELECT", 0)


def fill_large(r):
    rnd = random.Random(7)
    word = lambda n: "".join(rnd.choice("0123456789abcdef") for _ in range(n))
    r("SADD", "set_big", *[word(12) for _ in range(200)])
    r("SADD", "set_int_big", *range(0, 3000, 5))
    r("HSET", "hash_big", *[w for _ in range(200) for w in (word(8), word(10))])
    r("HSET", "hash_long_value", "f", word(100))
    r("ZADD", "zset_big", *[w for i in range(200) for w in (rnd.choice([i * 0.25, -i, 1e10 + i]), word(10))])
    r("ZADD", "zset_long_member", 1, word(100))
    r("RPUSH", "list_big", *[word(16) for _ in range(300)])
    # A PLAIN quicklist node: an element above the (lowered) packed threshold.
    r("DEBUG", "QUICKLIST-PACKED-THRESHOLD", 1000)
    r("RPUSH", "list_plain", "small", "z" * 1500, word(1200), "after")
    for i in range(150):
        r("XADD", "stream_big", "*", "i", i, "w", word(4))
    r("XGROUP", "CREATE", "stream_big", "readers", "0")
    r("XREADGROUP", "GROUP", "readers", "r1", "COUNT", 110, "STREAMS", "stream_big", ">")


def main():
    port, mode, out, tmp = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    r = Redis(port)
    (fill_small if mode == "small" else fill_large)(r)
    lines = []
    if mode == "small":
        lib = r("FUNCTION", "LIST", "WITHCODE")
        lines += ["function " + x(dict(pairs(l))[b"library_code"]) for l in lib]
    for db in range(16):
        r("SELECT", db)
        keys = sorted(r("KEYS", "*"))
        if not keys:
            continue
        lines.append("db %d" % db)
        for k in keys:
            block = describe(r, k)
            lines += block
            if db == 0:
                with open(os.path.join(out, "dump", k.decode() + ".bin"), "wb") as f:
                    f.write(r("DUMP", k))
    r("SELECT", 0)
    r("SAVE")
    shutil.copy(os.path.join(tmp, "dump.rdb"), os.path.join(out, mode + ".rdb"))
    with open(os.path.join(out, mode + ".manifest"), "w") as f:
        f.write("\n".join(lines) + "\n")


main()
