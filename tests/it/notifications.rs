//! Keyspace notifications against a real redis-server 7.0: the same script
//! runs on both servers, each watched by a `PSUBSCRIBE __key*__:*`
//! connection, and the ordered streams of pmessages must match byte for
//! byte, for several `notify-keyspace-events` settings (with and without
//! `new`, and only some classes on the keyspace channel). A PUBLISH to a
//! marker channel the watcher also follows ends each stream, so a missing
//! event cannot hide behind a timeout.

use crate::common::{split_words, Conn, Diff};

const MARKER: &str = "notifications-marker";

/// The settings every family is checked under.
const SETTINGS: &[&str] = &["KEA", "KEAn", "Kgx$", "El"];

/// A watcher on both servers, subscribed before the script runs.
fn watch(d: &Diff) -> (Conn, Conn) {
    let mut pair = (d.strata.conn(), d.redis.conn());
    for c in [&mut pair.0, &mut pair.1] {
        c.send(&[b"PSUBSCRIBE", b"__key*__:*", MARKER.as_bytes()]);
        c.read_reply();
        c.read_reply();
    }
    // A watcher dropped just before may not be gone yet (its connection
    // closes on another thread): wait until only this one's two patterns
    // remain, so PUBLISH counts the same receivers on both servers.
    for mut c in [d.strata.conn(), d.redis.conn()] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while c.cmd(&["PUBSUB", "NUMPAT"]) != b":2\r\n" {
            assert!(
                std::time::Instant::now() < deadline,
                "an old watcher stayed"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
    pair
}

/// Every message the watcher received up to the marker, raw.
fn drain(c: &mut Conn) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let m = c.read_reply();
        if m.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()) {
            return out;
        }
        out.push(m);
    }
}

/// A pmessage as `channel payload` (the pattern is always the same).
fn brief(m: &[u8]) -> String {
    let text = String::from_utf8_lossy(m);
    let parts: Vec<&str> = text.split("\r\n").collect();
    match parts.as_slice() {
        [_, _, _, _, _, _, channel, _, payload, ..] => format!("{channel} {payload}"),
        _ => text.replace("\r\n", " "),
    }
}

fn show(ms: &[Vec<u8>]) -> String {
    ms.iter()
        .map(|m| brief(m))
        .collect::<Vec<_>>()
        .join("\n    ")
}

/// Publishes the marker on both servers and compares what each watcher saw.
#[track_caller]
fn compare(d: &mut Diff, watchers: &mut (Conn, Conn), what: &str) -> usize {
    d.check(&["PUBLISH", MARKER, "end"]);
    let s = drain(&mut watchers.0);
    let r = drain(&mut watchers.1);
    if s != r {
        let at = s.iter().zip(&r).take_while(|(a, b)| a == b).count();
        panic!(
            "{what}: keyspace events differ from message {at}\n  Strata:\n    {}\n  Redis:\n    {}",
            show(&s[at.saturating_sub(2)..]),
            show(&r[at.saturating_sub(2)..])
        );
    }
    r.len()
}

/// Runs `script` (one command per line) under every setting of [`SETTINGS`]
/// from an empty keyspace, replies and event streams both compared.
#[track_caller]
fn check_family(name: &str, script: &str) {
    let mut d = Diff::new();
    // Keys set to expire in the past (`SET k v PXAT 1`) must expire when a
    // later command touches them, on both servers: the active cycle of
    // either could otherwise delete one first, whenever it happens to run.
    d.check(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let mut total = 0;
    for flags in SETTINGS {
        d.check(&["FLUSHALL"]);
        d.check(&["CONFIG", "SET", "notify-keyspace-events", flags]);
        let mut w = watch(&d);
        d.script(script);
        total += compare(&mut d, &mut w, &format!("{name} with {flags}"));
    }
    assert!(total > 0, "{name}: the script produced no event at all");
}

#[test]
fn notifications_generic() {
    check_family(
        "generic",
        "SET a 1
         SET b 2
         DEL a b a nosuch
         UNLINK b
         SET c 1
         EXPIRE c 100
         PEXPIRE c 200000
         EXPIREAT c 99999999999
         PERSIST c
         PERSIST c
         EXPIRE c 100 XX
         EXPIRE c -1
         EXPIRE nosuch 10
         SET d 1
         RENAME d e
         SET f 1
         RENAME e f
         RENAME f f
         RENAMENX f g
         SET h 1
         RENAMENX g h
         MOVE g 1
         SET g 2
         MOVE g 1
         COPY h h2
         COPY h h2
         COPY h h2 REPLACE
         COPY h h3 DB 2
         RPUSH src 3 1 2
         SORT src STORE dst
         SORT nosuch STORE dst
         SORT nosuch STORE dst
         SET s 1
         PEXPIREAT s 1
         SET px 1 PXAT 1
         GET px
         SET py 1 PXAT 1
         RPUSH py a
         SET pz 1 PXAT 1
         DEL pz
         SET pw 1 PXAT 1
         SET pw 2
         SET pv 1 PXAT 1
         MSET pv 2 pu 3
         SET pt 1 PXAT 1
         RENAME pu pt
         SADD ps 1
         SET pr 1 PXAT 1
         SUNIONSTORE pr ps
         ZADD pq 1 a
         SET pp 1 PXAT 1
         ZUNIONSTORE pp 1 pq
         SET po 1 PXAT 1
         SORT ps STORE po
         SET pn 1 PXAT 1
         INCR pn
         SET pm 1 PXAT 1
         HSET pm f v
         SET pl 1 PXAT 1
         SET pk 1 PXAT 1
         MSET a 1 pl 2 b 3 pk 4
         SET pj 1 PXAT 1
         MSETNX pj 1 pi 2
         SET ph 1 PXAT 1
         DEL a ph b
         MULTI
         SET m 1
         RPUSH ml x
         DEL m
         RENAME ml ml2
         EXEC",
    );
}

#[test]
fn notifications_strings() {
    check_family(
        "strings",
        "SET a 1
         SET a 2 EX 100
         SET a 3 KEEPTTL
         SET a 3 NX
         SET b 1 XX
         SET b 1 NX PX 100000
         SET b 2 GET
         SETNX a 1
         SETNX c 1
         SETEX d 100 v
         PSETEX e 100000 v
         GETSET e w
         MSET f 1 g 2 f 3
         MSETNX f 1 h 2
         MSETNX h 1 i 2
         APPEND j abc
         APPEND j def
         SETRANGE k 0 \"\"
         SETRANGE j 0 \"\"
         SETRANGE j 1 X
         SETRANGE l 3 X
         INCR n
         DECR n
         INCRBY n 5
         DECRBY n 2
         INCRBYFLOAT fl 1.5
         INCRBYFLOAT fl 1.5
         GETDEL fl
         GETDEL fl
         GETEX n
         GETEX n EX 100
         GETEX n PERSIST
         GETEX n PX 100000
         GETEX n EXAT 1
         GETEX nosuch EX 100
         GET a",
    );
}

#[test]
fn notifications_lists() {
    check_family(
        "lists",
        "LPUSH l a b c
         RPUSH l d e
         LPUSHX nosuch a
         RPUSHX l f
         LPOP l
         RPOP l 2
         LPOP l 0
         LINSERT l BEFORE b x
         LINSERT l BEFORE nosuch x
         LSET l 0 y
         LREM l 0 nothing
         LREM l 1 y
         LTRIM l 0 -1
         LTRIM l 0 0
         LTRIM l 5 10
         RPUSH s 1 2 3
         LMOVE s d LEFT RIGHT
         RPOPLPUSH s d
         LMOVE s d RIGHT LEFT
         LMOVE d d LEFT LEFT
         RPUSH m 1 2
         LMPOP 2 nosuch m LEFT COUNT 5
         RPUSH b 1
         BLPOP b 1
         RPUSH b 1 2
         BRPOP b 1
         BLMOVE b c LEFT RIGHT 1
         BLMPOP 1 1 c RIGHT COUNT 3
         LPOP l",
    );
}

#[test]
fn notifications_sets() {
    check_family(
        "sets",
        "SADD s a b c
         SADD s a
         SADD s d
         SREM s nothing
         SREM s a b c
         SPOP s
         SPOP s 0
         SADD t 1 2 3 4
         SPOP t 0
         SPOP t 10
         SADD u x y
         SMOVE u v x
         SMOVE u v nothing
         SADD v y
         SMOVE u v y
         SMOVE v v x
         SADD a 1 2 3
         SADD b 2 3 4
         SINTERSTORE i a b
         SUNIONSTORE un a b
         SDIFFSTORE df a b
         SINTERSTORE i a nosuch
         SINTERSTORE i a nosuch
         SUNIONSTORE un2 nosuch
         SDIFFSTORE df a a",
    );
}

#[test]
fn notifications_hashes() {
    check_family(
        "hashes",
        "HSET h a 1 b 2
         HSET h a 1
         HMSET h c 3
         HSETNX h a 1
         HSETNX h d 4
         HSETNX h2 a 1
         HDEL h nothing
         HDEL h a b
         HINCRBY h n 5
         HINCRBY h3 n 5
         HINCRBYFLOAT h f 1.5
         HINCRBYFLOAT h4 f 1.5
         HDEL h c d n f
         HDEL h2 a",
    );
}

#[test]
fn notifications_zsets() {
    check_family(
        "zsets",
        "ZADD z 1 a 2 b 3 c
         ZADD z 1 a
         ZADD z 5 a
         ZADD z NX 1 a
         ZADD z XX 1 nosuch
         ZADD z INCR 1 a
         ZADD z GT CH 0 a
         ZADD nosuch XX 1 a
         ZINCRBY z 2 b
         ZINCRBY z2 2 b
         ZREM z nothing
         ZREM z a
         ZADD r 1 a 2 b 3 c 4 d 5 e
         ZREMRANGEBYSCORE r 10 20
         ZREMRANGEBYSCORE r 1 1
         ZREMRANGEBYRANK r 0 0
         ZREMRANGEBYLEX r [d [d
         ZREMRANGEBYLEX r - +
         ZADD p 1 a 2 b 3 c 4 d
         ZPOPMIN p
         ZPOPMAX p 0
         ZPOPMAX p
         ZMPOP 1 p MIN COUNT 10
         ZADD bp 1 a 2 b
         BZPOPMIN bp 1
         BZPOPMAX bp 1
         ZADD x 1 a 2 b
         ZADD y 2 b 3 c
         ZUNIONSTORE u 2 x y
         ZINTERSTORE i 2 x y
         ZDIFFSTORE d 2 x y
         ZRANGESTORE rs x 0 -1
         ZRANGESTORE rs x 5 10
         ZRANGESTORE rs x 5 10
         ZINTERSTORE i 2 x nosuch
         ZDIFFSTORE d2 1 nosuch
         ZPOPMIN z 10",
    );
}

/// Clients blocked on an empty key are served by a later write: the
/// serving pops (and LMOVE's push) are notified after the write's events.
#[test]
fn notifications_blocked_clients_served_later() {
    let mut d = Diff::new();
    for flags in SETTINGS {
        d.check(&["FLUSHALL"]);
        d.check(&["CONFIG", "SET", "notify-keyspace-events", flags]);
        let mut w = watch(&d);
        for (block, write) in [
            ("BLPOP l 5", "RPUSH l a"),
            ("BLMOVE l d RIGHT LEFT 5", "RPUSH l a b"),
            ("BRPOPLPUSH l d 5", "LPUSH l c"),
            ("BLMPOP 5 2 x l LEFT COUNT 5", "RPUSH l e f"),
            ("BZPOPMAX z 5", "ZADD z 1 a"),
            ("BZMPOP 5 1 z MIN COUNT 3", "ZADD z 1 a 2 b"),
        ] {
            let mut blocked = (d.strata.conn(), d.redis.conn());
            let words = split_words(block);
            let args: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            blocked.0.send(&args);
            blocked.1.send(&args);
            // Both must be waiting before the write: CLIENT LIST shows it
            // through the blocked connection's flags.
            for _ in 0..200 {
                let s = d.s.cmd_str(&["CLIENT", "LIST"]);
                let r = d.r.cmd_str(&["CLIENT", "LIST"]);
                if s.contains("flags=b") && r.contains("flags=b") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let words = split_words(write);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            d.check(&args);
            assert_eq!(
                blocked.0.read_reply(),
                blocked.1.read_reply(),
                "reply to {block}"
            );
        }
        compare(&mut d, &mut w, &format!("blocked clients with {flags}"));
    }
}

/// With notifications off (the default) nothing is published, and a class
/// that is not enabled publishes nothing either.
#[test]
fn notifications_off_publish_nothing() {
    let mut d = Diff::new();
    let script = "SET a 1
         EXPIRE a 100
         RPUSH l 1 2
         LPOP l 2
         SADD s 1
         HSET h f v
         ZADD z 1 a
         RENAME a b
         DEL b s h z";
    for flags in ["", "Kh", "Ez"] {
        d.check(&["FLUSHALL"]);
        d.check(&["CONFIG", "SET", "notify-keyspace-events", flags]);
        let mut w = watch(&d);
        d.script(script);
        let n = compare(&mut d, &mut w, &format!("setting {flags:?}"));
        // "" publishes nothing; the others one hash / zset event each (plus
        // the DEL, which is generic and so not published).
        assert_eq!(n, if flags.is_empty() { 0 } else { 1 }, "{flags:?}");
    }
}
