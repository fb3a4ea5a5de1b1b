//! MEMORY, SLOWLOG and LATENCY against a real redis-server: raw bytes where
//! the replies are deterministic (help texts, errors, lengths, argument
//! truncation and redaction), structure (names, order, types) where the
//! figures are the server's own (times, durations, addresses, sizes).

use redis_protocol::resp2::types::OwnedFrame;

use crate::common::{Diff, Redis, Strata};

fn frame(reply: &[u8]) -> OwnedFrame {
    match redis_protocol::resp2::decode::decode(reply) {
        Ok(Some((f, _))) => f,
        other => panic!(
            "undecodable reply {:?}: {other:?}",
            String::from_utf8_lossy(reply)
        ),
    }
}

fn array(f: OwnedFrame) -> Vec<OwnedFrame> {
    match f {
        OwnedFrame::Array(v) => v,
        other => panic!("expected an array, got {other:?}"),
    }
}

/// Both servers with DEBUG allowed (DEBUG SLEEP makes a slow command).
fn diff_with_debug() -> Diff {
    let strata = Strata::start_with(&["--enable-debug-command", "yes"]);
    let redis = Redis::start_with(&["--enable-debug-command", "yes"]);
    let s = strata.conn();
    let r = redis.conn();
    Diff {
        strata,
        redis,
        s,
        r,
    }
}

#[test]
fn help_texts_errors_and_empty_replies_match_redis() {
    let mut d = Diff::new();
    // Nothing logs on its own: a slow moment of either server cannot
    // change SLOWLOG LEN.
    d.check(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    d.script(
        r#"
        MEMORY HELP
        SLOWLOG HELP
        LATENCY HELP
        MEMORY
        MEMORY foo
        MEMORY STATS x
        MEMORY DOCTOR
        MEMORY PURGE
        MEMORY USAGE nokey
        MEMORY USAGE nokey SAMPLES 0
        MEMORY USAGE a b
        MEMORY USAGE a SAMPLES
        MEMORY USAGE a SAMPLES -1
        MEMORY USAGE a SAMPLES x
        MEMORY USAGE a SAMPLES 0 SAMPLES 1
        MEMORY USAGE
        SLOWLOG
        SLOWLOG foo
        SLOWLOG GET x
        SLOWLOG GET -2
        SLOWLOG GET 1 2
        SLOWLOG LEN x
        SLOWLOG RESET x
        SLOWLOG RESET
        SLOWLOG LEN
        SLOWLOG GET
        LATENCY
        LATENCY foo
        LATENCY HISTORY
        LATENCY HISTORY command
        LATENCY LATEST
        LATENCY GRAPH command
        LATENCY RESET
        LATENCY RESET command fast-command
        LATENCY DOCTOR
        LATENCY HISTOGRAM nosuch
        LATENCY HISTOGRAM nosuch other|sub
        CONFIG GET latency-monitor-threshold
        COMMAND INFO memory|usage memory|stats slowlog|get slowlog|len slowlog|reset slowlog|help
        COMMAND INFO latency|latest latency|history latency|reset latency|graph latency|doctor latency|help
        COMMAND GETKEYS memory usage k
        "#,
    );
    d.check_unordered(&["CONFIG", "GET", "slowlog-*"]);
    d.resp3();
    d.script(
        r#"
        MEMORY DOCTOR
        LATENCY DOCTOR
        MEMORY USAGE nokey
        "#,
    );
}

/// SLOWLOG GET with the servers' own figures (time, duration, address)
/// blanked: ids, arguments and client names must match.
fn slowlog_masked(c: &mut crate::common::Conn, args: &[&str]) -> Vec<OwnedFrame> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    array(frame(&c.cmd(args)))
        .into_iter()
        .map(|e| {
            let mut e = array(e);
            assert_eq!(e.len(), 6, "{e:?}");
            match (&e[1], &e[2], &e[4]) {
                (OwnedFrame::Integer(t), OwnedFrame::Integer(us), OwnedFrame::BulkString(peer)) => {
                    assert!((t - now).abs() < 30, "entry time {t}, now {now}");
                    assert!(*us >= 0);
                    let peer = String::from_utf8_lossy(peer);
                    assert!(peer.starts_with("127.0.0.1:"), "{peer}");
                }
                other => panic!("slowlog entry fields {other:?}"),
            }
            e[1] = OwnedFrame::Integer(0);
            e[2] = OwnedFrame::Integer(0);
            e[4] = OwnedFrame::Null;
            OwnedFrame::Array(e)
        })
        .collect()
}

#[test]
fn slowlog_entries_match_redis() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    d.check(&["SLOWLOG", "RESET"]);
    d.check(&["SET", "a", "b"]);
    d.check(&["CLIENT", "SETNAME", "myname"]);
    // Arguments over 128 bytes are cut; over 32 arguments, the last says how many more.
    let long = "x".repeat(200);
    d.check(&["SET", "long", &long]);
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut rpush = vec!["RPUSH", "l"];
    rpush.extend(many.iter().map(String::as_str));
    d.check(&rpush);
    // Errors are logged too; secrets are redacted.
    d.check(&["AUTH", "secret"]);
    d.check(&["AUTH", "user", "secret"]);
    d.check(&["CONFIG", "SET", "masterauth", "pw", "maxclients", "100"]);
    d.check(&["GET", "a"]);
    d.check(&["SLOWLOG", "LEN"]);
    let (s, r) = (
        slowlog_masked(&mut d.s, &["SLOWLOG", "GET", "-1"]),
        slowlog_masked(&mut d.r, &["SLOWLOG", "GET", "-1"]),
    );
    assert_eq!(s, r, "SLOWLOG GET -1 (left: Strata, right: Redis)");
    assert!(s.len() >= 10, "{s:?}");
    for args in [
        &["SLOWLOG", "GET"][..],
        &["SLOWLOG", "GET", "2"],
        &["SLOWLOG", "GET", "0"],
    ] {
        let (s, r) = (
            slowlog_masked(&mut d.s, args),
            slowlog_masked(&mut d.r, args),
        );
        assert_eq!(s, r, "{args:?} (left: Strata, right: Redis)");
    }
    // slowlog-max-len trims at the next logged command.
    d.check(&["CONFIG", "SET", "slowlog-max-len", "3"]);
    d.check(&["SLOWLOG", "LEN"]);
    d.check(&["SLOWLOG", "LEN"]);
    // A negative threshold disables the log.
    d.check(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    d.check(&["SLOWLOG", "RESET"]);
    d.check(&["PING"]);
    d.check(&["SLOWLOG", "LEN"]);
    // A high threshold keeps fast commands out.
    d.check(&["CONFIG", "SET", "slowlog-log-slower-than", "1000000"]);
    d.check(&["PING"]);
    d.check(&["SLOWLOG", "LEN"]);
}

#[test]
fn slowlog_settings_apply_from_the_command_line() {
    let s = Strata::start_with(&["--slowlog-log-slower-than", "0", "--slowlog-max-len", "2"]);
    let mut c = s.conn();
    for _ in 0..5 {
        c.cmd(&["PING"]);
    }
    assert_eq!(c.cmd_str(&["SLOWLOG", "LEN"]), ":2\r\n");
    let entries = array(frame(&c.cmd(&["SLOWLOG", "GET"])));
    // SLOWLOG LEN was the last command logged, right after the last PING
    // (ids count every logged command, the harness's start-up INFO too).
    let first = array(entries[0].clone());
    let second = array(entries[1].clone());
    let (OwnedFrame::Integer(id), OwnedFrame::Integer(before)) = (&first[0], &second[0]) else {
        panic!("slowlog ids: {first:?} {second:?}");
    };
    assert_eq!(*id, before + 1);
    assert!(*id >= 5, "five PINGs were logged before: id {id}");
    assert_eq!(
        second[3],
        OwnedFrame::Array(vec![OwnedFrame::BulkString(b"PING".to_vec())])
    );
    assert_eq!(
        first[3],
        OwnedFrame::Array(vec![
            OwnedFrame::BulkString(b"SLOWLOG".to_vec()),
            OwnedFrame::BulkString(b"LEN".to_vec())
        ])
    );
}

#[test]
fn latency_monitor_records_slow_commands_like_redis() {
    let mut d = diff_with_debug();
    d.check(&["CONFIG", "SET", "latency-monitor-threshold", "5"]);
    d.check(&["DEBUG", "SLEEP", "0"]);
    d.check(&["LATENCY", "LATEST"]);
    d.check(&["DEBUG", "SLEEP", "0.02"]);
    for c in [&mut d.s, &mut d.r] {
        let latest = array(frame(&c.cmd(&["LATENCY", "LATEST"])));
        assert_eq!(latest.len(), 1, "{latest:?}");
        let ev = array(latest[0].clone());
        assert_eq!(ev[0], OwnedFrame::BulkString(b"command".to_vec()));
        match (&ev[2], &ev[3]) {
            (OwnedFrame::Integer(l), OwnedFrame::Integer(m)) => {
                assert!((20..200).contains(l) && l == m, "{ev:?}")
            }
            other => panic!("{other:?}"),
        }
        let history = array(frame(&c.cmd(&["LATENCY", "HISTORY", "command"])));
        assert_eq!(history.len(), 1, "{history:?}");
        let graph = c.cmd_str(&["LATENCY", "GRAPH", "command"]);
        assert!(graph.contains("\r\ncommand - high "), "{graph}");
        assert!(graph.contains(&"-".repeat(80)), "{graph}");
        let doctor = c.cmd_str(&["LATENCY", "DOCTOR"]);
        assert!(
            doctor.contains("Dave, I have observed latency spikes in this Redis instance.")
                && doctor.contains("1. command: 1 latency spikes (average ")
                && doctor.contains("- Check your Slow Log"),
            "{doctor}"
        );
    }
    d.check(&["LATENCY", "HISTORY", "fast-command"]);
    d.check(&["LATENCY", "RESET", "nosuch"]);
    d.check(&["LATENCY", "RESET", "COMMAND"]);
    d.check(&["LATENCY", "LATEST"]);
    d.check(&["LATENCY", "DOCTOR"]);
    // The threshold 0 turns the monitor off.
    d.check(&["CONFIG", "SET", "latency-monitor-threshold", "0"]);
    // A command that ran over the threshold on a loaded machine (either
    // server) before the monitor went off left an event: not compared.
    d.both(&["LATENCY", "RESET"]);
    d.check(&["DEBUG", "SLEEP", "0.02"]);
    d.check(&["LATENCY", "LATEST"]);
    d.check(&["LATENCY", "DOCTOR"]);
}

/// LATENCY HISTOGRAM as (command, calls, bucket count > 0) triples: the
/// bucket bounds are each server's own.
fn histogram_shape(c: &mut crate::common::Conn, args: &[&str]) -> Vec<(Vec<u8>, OwnedFrame)> {
    let items = array(frame(&c.cmd(args)));
    items
        .chunks(2)
        .map(|pair| {
            let name = match &pair[0] {
                OwnedFrame::BulkString(n) => n.clone(),
                other => panic!("{other:?}"),
            };
            let fields = array(pair[1].clone());
            assert_eq!(fields[0], OwnedFrame::BulkString(b"calls".to_vec()));
            assert_eq!(
                fields[2],
                OwnedFrame::BulkString(b"histogram_usec".to_vec())
            );
            let buckets = array(fields[3].clone());
            assert!(!buckets.is_empty() && buckets.len() % 2 == 0);
            // Cumulative: the last count is the number of calls.
            assert_eq!(buckets[buckets.len() - 1], fields[1]);
            (name, fields[1].clone())
        })
        .collect()
}

#[test]
fn latency_histogram_counts_calls_like_redis() {
    let mut d = Diff::new();
    d.check(&["CONFIG", "RESETSTAT"]);
    for _ in 0..3 {
        d.check(&["SET", "a", "b"]);
    }
    d.check(&["GET", "a"]);
    for args in [
        &["LATENCY", "HISTOGRAM", "set", "get", "nosuch"][..],
        &["LATENCY", "HISTOGRAM", "SET", "set"],
        &["LATENCY", "HISTOGRAM", "config"],
        &["LATENCY", "HISTOGRAM", "config|resetstat"],
    ] {
        let s = histogram_shape(&mut d.s, args);
        let r = histogram_shape(&mut d.r, args);
        assert_eq!(s, r, "{args:?} (left: Strata, right: Redis)");
    }
    for c in [&mut d.s, &mut d.r] {
        let h = histogram_shape(c, &["LATENCY", "HISTOGRAM", "set"]);
        assert_eq!(h, vec![(b"set".to_vec(), OwnedFrame::Integer(3))]);
    }
    let mut all = histogram_shape(&mut d.s, &["LATENCY", "HISTOGRAM"]);
    let mut all_r = histogram_shape(&mut d.r, &["LATENCY", "HISTOGRAM"]);
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all_r.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(all, all_r);
}

/// Creates one key of every type in every encoding on the connection.
fn fill_every_type(c: &mut crate::common::Conn) {
    let big = "v".repeat(1000);
    c.cmd(&["SET", "str", "hello"]);
    c.cmd(&["SET", "int", "12345"]);
    c.cmd(&["SET", "bigstr", &big]);
    c.cmd(&["HSET", "hsmall", "f", "v"]);
    c.cmd(&["HSET", "hbig", "f", &big]);
    c.cmd(&["RPUSH", "lsmall", "a", "b"]);
    c.cmd(&["SADD", "sint", "1", "2", "3"]);
    c.cmd(&["SADD", "sstr", "a", "b"]);
    c.cmd(&["ZADD", "zsmall", "1", "a"]);
    let members: Vec<String> = (0..300).map(|i| format!("member:{i}")).collect();
    let mut hset = vec!["HSET", "hmany"];
    let mut rpush = vec!["RPUSH", "lmany"];
    let mut sadd = vec!["SADD", "smany"];
    let mut zadd = vec!["ZADD", "zmany"];
    let scores: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    for (m, s) in members.iter().zip(&scores) {
        hset.extend([m.as_str(), s.as_str()]);
        rpush.push(m);
        sadd.push(m);
        zadd.extend([s.as_str(), m.as_str()]);
    }
    for cmd in [hset, rpush, sadd, zadd] {
        let r = c.cmd(&cmd);
        assert!(r.starts_with(b":"), "{:?}", String::from_utf8_lossy(&r));
    }
}

const EVERY_KEY: &[&str] = &[
    "str", "int", "bigstr", "hsmall", "hbig", "hmany", "lsmall", "lmany", "sint", "sstr", "smany",
    "zsmall", "zmany",
];

fn usage(c: &mut crate::common::Conn, args: &[&str]) -> i64 {
    match frame(&c.cmd(args)) {
        OwnedFrame::Integer(n) => n,
        other => panic!("{args:?} replied {other:?}"),
    }
}

#[test]
fn memory_usage_is_an_integer_for_every_type_and_encoding() {
    let mut d = Diff::new();
    for c in [&mut d.s, &mut d.r] {
        fill_every_type(c);
    }
    for key in EVERY_KEY {
        for extra in [&[][..], &["SAMPLES", "0"], &["SAMPLES", "1"]] {
            let mut args = vec!["MEMORY", "USAGE", key];
            args.extend(extra);
            let s = usage(&mut d.s, &args);
            let r = usage(&mut d.r, &args);
            assert!(s > 0 && r > 0, "{args:?}: strata {s}, redis {r}");
        }
    }
    d.check(&["OBJECT", "ENCODING", "hmany"]);
    d.check(&["OBJECT", "ENCODING", "zmany"]);
    // The estimate grows with the data: all 300 members of a big set take
    // more than the few bytes of a small one, sampled or not.
    let s = &mut d.s;
    let small = usage(s, &["MEMORY", "USAGE", "sstr"]);
    let all = usage(s, &["MEMORY", "USAGE", "smany", "SAMPLES", "0"]);
    let sampled = usage(s, &["MEMORY", "USAGE", "smany"]);
    assert!(all > 300 * 8 && all > 10 * small, "{all} vs {small}");
    assert!(sampled > all / 2 && sampled < all * 2, "{sampled} vs {all}");
    assert!(
        usage(s, &["MEMORY", "USAGE", "bigstr"]) > 1000,
        "a 1000-byte string"
    );
    // An expired key reads as nil (Redis may still size one that active
    // expiry has not reclaimed yet, so this is Strata's alone).
    d.s.cmd(&["SET", "gone", "x", "PX", "1"]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(d.s.cmd_str(&["MEMORY", "USAGE", "gone"]), "$-1\r\n");
    d.check(&["DEL", "str"]);
    d.check(&["MEMORY", "USAGE", "str"]);
}

/// MEMORY STATS as (name, value kind) pairs, nested maps spelled out.
fn stats_shape(f: OwnedFrame) -> Vec<String> {
    let items = array(f);
    let mut out = Vec::new();
    for pair in items.chunks(2) {
        let name = match &pair[0] {
            OwnedFrame::BulkString(n) => String::from_utf8_lossy(n).into_owned(),
            other => panic!("stat name {other:?}"),
        };
        let kind = match &pair[1] {
            OwnedFrame::Integer(_) => "int".to_string(),
            OwnedFrame::BulkString(b) => {
                let s = String::from_utf8_lossy(b);
                assert!(s.parse::<f64>().is_ok(), "{name}: {s}");
                "double".to_string()
            }
            OwnedFrame::Array(_) => format!("{:?}", stats_shape(pair[1].clone())),
            other => panic!("{name}: {other:?}"),
        };
        out.push(format!("{name}={kind}"));
    }
    out
}

#[test]
fn memory_stats_names_and_order_match_redis() {
    let mut d = Diff::new();
    d.check(&["SET", "k", "v"]);
    d.check(&["SELECT", "3"]);
    d.check(&["SET", "x", "y", "EX", "1000"]);
    let s = stats_shape(frame(&d.s.cmd(&["MEMORY", "STATS"])));
    let r = stats_shape(frame(&d.r.cmd(&["MEMORY", "STATS"])));
    assert_eq!(s, r, "MEMORY STATS shape (left: Strata, right: Redis)");
    assert!(s.iter().any(|f| f.starts_with("db.3=")), "{s:?}");
    // keys.count is a real figure.
    let keys = |c: &mut crate::common::Conn| {
        let items = array(frame(&c.cmd(&["MEMORY", "STATS"])));
        let at = items
            .iter()
            .position(|f| *f == OwnedFrame::BulkString(b"keys.count".to_vec()))
            .expect("keys.count");
        items[at + 1].clone()
    };
    assert_eq!(keys(&mut d.s), OwnedFrame::Integer(2));
    assert_eq!(keys(&mut d.r), OwnedFrame::Integer(2));
    // RESP3: a map.
    d.resp3();
    let (s3, r3) = d.both(&["MEMORY", "STATS"]);
    assert!(
        s3.starts_with(b"%29\r\n$14\r\npeak.allocated\r\n:"),
        "{:?}",
        String::from_utf8_lossy(&s3)
    );
    assert!(r3.starts_with(b"%29\r\n$14\r\npeak.allocated\r\n:"));
    // MEMORY DOCTOR once there is data.
    let verbatim = |text: &str| format!("={}\r\ntxt:{text}\r\n", text.len() + 4);
    let doctor = d.s.cmd_str(&["MEMORY", "DOCTOR"]);
    assert_eq!(doctor, verbatim("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"));
    let malloc = d.s.cmd_str(&["MEMORY", "MALLOC-STATS"]);
    assert_eq!(
        malloc,
        verbatim("Stats not supported for the current allocator")
    );
}
