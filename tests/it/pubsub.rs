//! Pub/Sub, MONITOR and notify-keyspace-events against a real redis-server,
//! plus the output-buffer limit and a fan-out count on Strata.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::common::*;

/// A subscriber and a publisher on each server.
struct Pair {
    _strata: Strata,
    _redis: Redis,
    /// (Strata, Redis) subscriber connections.
    s: Conn,
    r: Conn,
    /// (Strata, Redis) publisher connections.
    ps: Conn,
    pr: Conn,
}

impl Pair {
    fn new() -> Pair {
        let strata = Strata::start();
        let redis = Redis::start();
        Pair {
            s: strata.conn(),
            r: redis.conn(),
            ps: strata.conn(),
            pr: redis.conn(),
            _strata: strata,
            _redis: redis,
        }
    }

    /// Sends on both subscribers and compares the next `n` frames.
    #[track_caller]
    fn sub(&mut self, args: &[&str], n: usize) {
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
        self.s.send(&a);
        self.r.send(&a);
        self.frames(n, &format!("{args:?}"));
    }

    /// Compares the next `n` frames on both subscribers.
    #[track_caller]
    fn frames(&mut self, n: usize, what: &str) {
        for i in 0..n {
            let (s, r) = (self.s.read_reply(), self.r.read_reply());
            assert_eq!(
                String::from_utf8_lossy(&s),
                String::from_utf8_lossy(&r),
                "frame {i} after {what} (left: Strata, right: Redis)"
            );
        }
    }

    /// Like `sub` for frames whose order Redis leaves to its hash tables.
    #[track_caller]
    fn sub_unordered(&mut self, args: &[&str], n: usize) {
        let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
        self.s.send(&a);
        self.r.send(&a);
        // The counts follow the arrival order; the names may come in any.
        let split = |f: Vec<u8>| {
            let at = f.iter().rposition(|&b| b == b':').expect("count");
            (f[..at].to_vec(), f[at..].to_vec())
        };
        let (mut s, sc): (Vec<_>, Vec<_>) = (0..n).map(|_| split(self.s.read_reply())).unzip();
        let (mut r, rc): (Vec<_>, Vec<_>) = (0..n).map(|_| split(self.r.read_reply())).unzip();
        s.sort();
        r.sort();
        assert_eq!(s, r, "frames after {args:?}");
        assert_eq!(sc, rc, "counts after {args:?}");
    }

    /// Runs a command on both publishers and compares the replies.
    #[track_caller]
    fn publish(&mut self, args: &[&str]) -> Vec<u8> {
        let (s, r) = (self.ps.cmd(args), self.pr.cmd(args));
        assert_eq!(
            String::from_utf8_lossy(&s),
            String::from_utf8_lossy(&r),
            "reply to {args:?} (left: Strata, right: Redis)"
        );
        s
    }
}

#[test]
fn subscribe_publish_and_subscribed_mode_match_redis() {
    let mut p = Pair::new();
    p.sub(&["SUBSCRIBE", "c1", "c2", "c1"], 3);
    p.sub(&["PSUBSCRIBE", "c*", "d?"], 2);
    p.sub(&["SSUBSCRIBE", "s1"], 1);
    // RESP2 subscribed mode: only (un)subscribe, PING, QUIT, RESET.
    p.sub(&["GET", "x"], 1);
    p.sub(&["CLIENT", "LIST"], 1);
    p.sub(&["MONITOR"], 1);
    p.sub(&["PING"], 1);
    p.sub(&["PING", "hi"], 1);
    p.sub(&["SET"], 1);
    p.sub(&["NOSUCH"], 1);

    // A channel subscriber and a matching pattern: two deliveries.
    p.publish(&["PUBLISH", "c1", "hello"]);
    p.frames(2, "PUBLISH c1");
    p.publish(&["PUBLISH", "dx", "p"]);
    p.frames(1, "PUBLISH dx");
    p.publish(&["PUBLISH", "s1", "not a shard publish"]);
    p.publish(&["SPUBLISH", "s1", "hello"]);
    p.frames(1, "SPUBLISH s1");
    p.publish(&["SPUBLISH", "c1", "shard namespace only"]);
    p.publish(&["PUBSUB", "NUMSUB", "c1", "zz", "s1"]);
    p.publish(&["PUBSUB", "NUMPAT"]);
    p.publish(&["PUBSUB", "SHARDNUMSUB", "s1", "c1"]);
    p.publish(&["PUBSUB", "SHARDCHANNELS"]);
    p.publish(&["PUBSUB", "SHARDCHANNELS", "x*"]);
    let (s, r) = (
        p.ps.cmd(&["PUBSUB", "CHANNELS", "c?"]),
        p.pr.cmd(&["PUBSUB", "CHANNELS", "c?"]),
    );
    let sorted = |reply: &[u8]| {
        let mut v = crate::reply::bulk_items(reply);
        v.sort();
        v
    };
    assert_eq!(sorted(&s), sorted(&r));
    assert_eq!(sorted(&s).len(), 2);

    // CLIENT LIST: flag P and the three counts.
    let list = p.ps.cmd_str(&["CLIENT", "LIST"]);
    assert!(list.contains("flags=P db=0 sub=2 psub=2 ssub=1 "), "{list}");

    p.sub(&["UNSUBSCRIBE", "zz"], 1);
    p.sub(&["SUNSUBSCRIBE"], 1);
    p.sub(&["SUNSUBSCRIBE"], 1);
    // Patterns leave in subscription order (a list in Redis 7.0).
    p.sub(&["PUNSUBSCRIBE"], 2);
    p.sub_unordered(&["UNSUBSCRIBE"], 2);
    p.sub(&["UNSUBSCRIBE"], 1);
    p.sub(&["PUNSUBSCRIBE", "x"], 1);
    p.sub(&["PING"], 1);
    p.sub(&["GET", "x"], 1);
    let list = p.ps.cmd_str(&["CLIENT", "LIST"]);
    assert!(!list.contains("flags=P"), "{list}");

    for args in [
        &["PUBSUB", "NUMSUB"][..],
        &["PUBSUB", "FOO"],
        &["PUBSUB", "CHANNELS", "a", "b"],
        &["PUBSUB", "NUMPAT", "x"],
        &["PUBSUB"],
        &["PUBSUB", "HELP"],
        &["PUBLISH", "a"],
        &["SUBSCRIBE"],
        &["SSUBSCRIBE"],
        // PUBSUB's subcommands one by one: Redis lists a container's
        // subcommands in its (seeded) hash order.
        &[
            "COMMAND",
            "INFO",
            "subscribe",
            "unsubscribe",
            "psubscribe",
            "punsubscribe",
            "publish",
            "spublish",
            "ssubscribe",
            "sunsubscribe",
            "monitor",
        ],
        &[
            "COMMAND",
            "INFO",
            "pubsub|channels",
            "pubsub|numsub",
            "pubsub|numpat",
            "pubsub|shardchannels",
            "pubsub|shardnumsub",
            "pubsub|help",
        ],
        &["COMMAND", "DOCS", "monitor"],
    ] {
        p.publish(args);
    }
}

#[test]
fn resp3_pushes_and_commands_share_a_connection() {
    let mut p = Pair::new();
    for c in [&mut p.s, &mut p.r] {
        c.send(&[b"HELLO", b"3"]);
        c.resp3 = true;
        let _ = c.read_reply();
    }
    p.sub(&["SUBSCRIBE", "x"], 1);
    p.sub(&["GET", "x"], 1);
    p.sub(&["PING"], 1);
    p.publish(&["PUBLISH", "x", "m"]);
    p.frames(1, "PUBLISH x");
    // Publishing to itself: the push precedes the reply, as in Redis.
    p.sub(&["PUBLISH", "x", "self"], 2);
    p.sub(&["SET", "k", "v"], 1);
    p.sub(&["UNSUBSCRIBE"], 1);
    p.sub(&["PUNSUBSCRIBE"], 1);
    p.sub(&["SUBSCRIBE", "x"], 1);
    // RESET leaves every subscription silently.
    p.sub(&["RESET"], 1);
    p.s.resp3 = false;
    p.r.resp3 = false;
    p.publish(&["PUBLISH", "x", "m"]);
    p.sub(&["PING"], 1);
    p.sub(&["SUBSCRIBE", "q"], 1);
    p.sub(&["RESET"], 1);
    p.sub(&["PING"], 1);
    p.publish(&["PUBLISH", "q", "m"]);
}

#[test]
fn disconnect_removes_subscriptions() {
    let s = Strata::start();
    let mut sub = s.conn();
    sub.cmd(&["SUBSCRIBE", "gone"]);
    sub.cmd(&["PSUBSCRIBE", "g*"]);
    let mut c = s.conn();
    assert_eq!(c.cmd_str(&["PUBLISH", "gone", "x"]), ":2\r\n");
    drop(sub);
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.cmd_str(&["PUBLISH", "gone", "x"]) != ":0\r\n" {
        assert!(
            Instant::now() < deadline,
            "subscriptions outlived the client"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        c.cmd_str(&["PUBSUB", "NUMSUB", "gone"]),
        "*2\r\n$4\r\ngone\r\n:0\r\n"
    );
    assert_eq!(c.cmd_str(&["PUBSUB", "NUMPAT"]), ":0\r\n");
}

/// Replaces `+<secs>.<micros> [<db> <addr>]` by `[<db>]`.
fn normalize_monitor(line: &[u8]) -> String {
    let s = String::from_utf8_lossy(line).into_owned();
    let open = s.find('[').expect("monitor line has [");
    let close = s.find(']').expect("monitor line has ]");
    let ts = &s[1..open - 1];
    let (secs, micros) = ts.split_once('.').expect("timestamp");
    assert!(secs.parse::<u64>().is_ok() && micros.len() == 6, "{s}");
    let db = s[open + 1..close].split(' ').next().unwrap_or("");
    format!("[{db}]{}", &s[close + 1..])
}

#[test]
fn monitor_lines_match_redis() {
    let strata = Strata::start();
    let redis = Redis::start();
    let mut ms = strata.conn();
    let mut mr = redis.conn();
    assert_eq!(ms.cmd(&["MONITOR"]), mr.cmd(&["MONITOR"]));
    let script: &[&[&[u8]]] = &[
        &[b"SELECT", b"5"],
        &[b"SET", b"k", b"a\"b\\c\n\r\t\x07\x08\x01\xff \xc3\xa9"],
        &[b"GET", b"k"],
        &[b"AUTH", b"x"],
        &[b"AUTH", b"a", b"b", b"c"],
        &[b"AUTH", b"u", b"p"],
        &[b"HELLO", b"3", b"AUTH", b"u", b"p"],
        &[b"HELLO", b"2", b"SETNAME", b"a b"],
        &[b"HELLO", b"x", b"AUTH", b"u", b"p"],
        &[b"HELLO", b"2", b"FOO", b"AUTH", b"u", b"p"],
        &[b"CONFIG", b"GET", b"port"],
        &[b"CLIENT", b"LIST"],
        &[b"CLIENT", b"SETNAME", b"x"],
        &[b"NOSUCH", b"x"],
        &[b"GET"],
        &[b"LPUSH", b"k", b"x"],
        &[b"PUBLISH", b"c", b"m"],
        &[b"SELECT", b"0"],
        &[b"PING"],
        &[b"QUIT"],
    ];
    for port in [strata.port, redis.port] {
        let mut c = Conn::connect(port);
        for args in script {
            c.send(args);
            let _ = c.read_reply();
        }
    }
    // 16 of the 20 commands reach the monitors (not CONFIG GET, CLIENT LIST,
    // the unknown command or the arity error).
    let expect = 16;
    let s: Vec<String> = (0..expect)
        .map(|_| normalize_monitor(&ms.read_reply()))
        .collect();
    let r: Vec<String> = (0..expect)
        .map(|_| normalize_monitor(&mr.read_reply()))
        .collect();
    assert_eq!(s, r);
    assert!(s[0].starts_with("[5] \"SELECT\""), "{s:?}");

    // The monitor itself: non-keyspace commands run, keyspace ones are
    // refused; its own PING is fed after its reply.
    for args in [&["GET", "k"][..], &["PUBLISH", "x", "y"], &["SET", "x"]] {
        assert_eq!(ms.cmd_str(args), mr.cmd_str(args), "{args:?}");
    }
    let (s, r) = (ms.cmd(&["PING"]), mr.cmd(&["PING"]));
    assert_eq!(s, r);
    let (s, r) = (ms.read_reply(), mr.read_reply());
    assert_eq!(normalize_monitor(&s), normalize_monitor(&r));
    let list = strata.cli(&["CLIENT", "LIST"]);
    assert!(
        list.contains(" flags=O db=0 sub=0 psub=0 ssub=0 "),
        "{list}"
    );
    // A second MONITOR is ignored without a reply (the next reply read is
    // RESET's); RESET leaves the mode.
    ms.send(&[b"MONITOR"]);
    mr.send(&[b"MONITOR"]);
    let (s, r) = (ms.cmd(&["RESET"]), mr.cmd(&["RESET"]));
    assert_eq!(s, b"+RESET\r\n");
    assert_eq!(s, r);
    let list = strata.cli(&["CLIENT", "LIST"]);
    assert!(!list.contains("flags=O"), "{list}");
    assert_eq!(ms.cmd_str(&["GET", "k"]), mr.cmd_str(&["GET", "k"]));
}

#[test]
fn notify_keyspace_events_config_matches_redis() {
    let mut d = Diff::new();
    for v in [
        "KEA",
        "AKE",
        "Kx",
        "Elg$",
        "KEAmn",
        "",
        "A",
        "Ad",
        "KEd",
        "mn",
        "tdn",
        "g$lshzxet",
        "g$lshzxetdn",
        "xyz",
        "K E",
        "q",
        "KEA ",
    ] {
        d.check(&["CONFIG", "SET", "notify-keyspace-events", v]);
        d.check(&["CONFIG", "GET", "notify-keyspace-events"]);
    }
}

/// Resident and peak memory of a process, in bytes.
fn rss_and_peak(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .expect("status field")
            * 1024
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_and_memory_stays_bounded() {
    let s = Strata::start();
    let pid = s.child.as_ref().expect("child").id();
    let mut sub = s.conn();
    assert_eq!(
        sub.cmd_str(&["SUBSCRIBE", "big"]),
        "*3\r\n$9\r\nsubscribe\r\n$3\r\nbig\r\n:1\r\n"
    );
    let mut c = s.conn();
    let (base, _) = rss_and_peak(pid);
    let msg = vec![b'x'; 1 << 20];
    // 12 MB: over what the sockets absorb, under the 32 MB hard limit; the
    // subscriber is still there and CLIENT LIST shows what waits for it.
    for _ in 0..12 {
        c.send(&[b"PUBLISH", b"big", &msg]);
        assert_eq!(c.read_reply(), b":1\r\n");
    }
    let list = c.cmd_str(&["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains("flags=P"))
        .expect("subscriber listed");
    let omem: u64 = line
        .split(' ')
        .find_map(|f| f.strip_prefix("omem="))
        .and_then(|v| v.parse().ok())
        .expect("omem");
    assert!(omem > 1 << 20, "omem={omem}: {line}");
    // 160 MB more: an unbounded queue would hold ~170 MB.
    let mut receivers = Vec::new();
    for _ in 0..160 {
        c.send(&[b"PUBLISH", b"big", &msg]);
        receivers.push(c.read_reply());
    }
    assert_eq!(
        receivers.last().map(Vec::as_slice),
        Some(&b":0\r\n"[..]),
        "the subscriber was disconnected"
    );
    let (_, peak) = rss_and_peak(pid);
    assert!(
        peak.saturating_sub(base) < 100 << 20,
        "peak RSS grew by {} MB",
        (peak - base) >> 20
    );
    // The subscriber sees the end of its stream.
    let mut buf = vec![0u8; 1 << 20];
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "still open");
        match sub_stream_read(&mut sub, &mut buf) {
            0 => break,
            _ => continue,
        }
    }
    assert_eq!(
        c.cmd_str(&["PUBSUB", "NUMSUB", "big"]),
        "*2\r\n$3\r\nbig\r\n:0\r\n"
    );
}

fn sub_stream_read(c: &mut Conn, buf: &mut [u8]) -> usize {
    c.raw_stream().read(buf).unwrap_or(0)
}

#[test]
fn the_limit_follows_config_set_and_normal_clients_are_limited_too() {
    let s = Strata::start();
    let mut c = s.conn();
    assert_eq!(
        c.cmd_str(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0"
        ]),
        "+OK\r\n"
    );
    let mut sub = s.conn();
    sub.cmd(&["SUBSCRIBE", "ch"]);
    let msg = vec![b'y'; 256 << 10];
    let mut last = Vec::new();
    for _ in 0..80 {
        c.send(&[b"PUBLISH", b"ch", &msg]);
        last = c.read_reply();
    }
    assert_eq!(last, b":0\r\n", "a 1 MB limit closes the subscriber");
    // A normal client whose single reply exceeds the normal hard limit.
    c.cmd(&[
        "CONFIG",
        "SET",
        "client-output-buffer-limit",
        "normal 100kb 0 0",
    ]);
    let value = "z".repeat(200 << 10);
    c.cmd(&["SET", "big", value.as_str()]);
    let mut n = s.conn();
    n.send(&[b"GET", b"big"]);
    assert!(
        n.is_closed(),
        "a 200 KB reply over a 100 KB limit closes the client"
    );
    let mut ok = s.conn();
    assert_eq!(ok.cmd_str(&["PING"]), "+PONG\r\n");
}

#[test]
fn fan_out_to_100_subscribers() {
    let s = Strata::start();
    let mut subs: Vec<Conn> = (0..100).map(|_| s.conn()).collect();
    for (i, c) in subs.iter_mut().enumerate() {
        if i % 2 == 0 {
            c.cmd(&["SUBSCRIBE", "fan"]);
        } else {
            c.cmd(&["PSUBSCRIBE", "f*"]);
        }
    }
    let mut p = s.conn();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut sent = Vec::new();
    for i in 0..200 {
        let len = rng.below(1500) as usize;
        let body: Vec<u8> = (0..len).map(|j| (i + j) as u8).collect();
        p.send(&[b"PUBLISH", b"fan", &body]);
        assert_eq!(p.read_reply(), b":100\r\n");
        sent.push(body);
    }
    for (i, c) in subs.iter_mut().enumerate() {
        let mut bytes = 0;
        for body in &sent {
            let frame = c.read_reply();
            let expect = if i % 2 == 0 {
                encode(&[b"message", b"fan", body])
            } else {
                encode(&[b"pmessage", b"f*", b"fan", body])
            };
            assert_eq!(frame, expect, "subscriber {i}");
            bytes += frame.len();
        }
        let want: usize = sent
            .iter()
            .map(|b| {
                if i % 2 == 0 {
                    encode(&[b"message", b"fan", b]).len()
                } else {
                    encode(&[b"pmessage", b"f*", b"fan", b]).len()
                }
            })
            .sum();
        assert_eq!(bytes, want);
    }
}
