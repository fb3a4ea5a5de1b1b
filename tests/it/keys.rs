//! Keyspace and expiry commands, compared with a real redis-server (byte for
//! byte where the reply is deterministic, as sets for KEYS/SCAN, loosely for
//! TTLs since the clocks differ), plus active expiry and persistence.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use redis_protocol::resp2::types::OwnedFrame;

use crate::common::{Conn, Diff, Redis, Rng, Strata};

/// Commands whose replies do not depend on time or key order.
const BASIC: &str = r#"
    SET a 1
    SET b hello
    SET c 123456789012345678901234567890123456789012345
    EXISTS a b nokey a
    EXISTS nokey
    EXISTS
    TOUCH a nokey a
    TOUCH
    TYPE a
    TYPE nokey
    TYPE
    DEL a a nokey
    DEL a
    DEL
    UNLINK b nokey
    UNLINK
    DBSIZE
    DBSIZE x
    SET a 1
    RENAME a a
    RENAMENX a a
    RENAME nokey x
    RENAMENX nokey x
    RENAME a d
    GET a
    GET d
    SET "" empty
    EXISTS ""
    TYPE ""
    RENAME "" e2
    GET e2
    RENAME e2 ""
    RENAMENX d c
    RENAMENX d e
    RENAME e c
    GET c
    RENAME a
    SET x 5
    MOVE x 0
    MOVE x 16
    MOVE x -1
    MOVE x abc
    MOVE x 99999999999
    MOVE nokey 1
    MOVE x 1
    MOVE x 1
    SELECT 1
    GET x
    SET x other
    SELECT 0
    SET x 6
    MOVE x 1
    GET x
    COPY c c
    COPY c c2
    GET c2
    COPY c c2
    COPY c c2 REPLACE
    COPY nokey c2
    COPY c x DB 1
    COPY c x DB 1 REPLACE
    COPY c x DB 16
    COPY c x DB abc
    COPY c x DB 99999999999
    COPY c x DB
    COPY c x FOO
    COPY c c DB 0
    COPY c c DB 2
    COPY c
    SELECT 2
    GET c
    SELECT 1
    GET x
    SELECT 0
    DBSIZE
    PERSIST c
    PERSIST nokey
    TTL c
    PTTL c
    EXPIRETIME c
    PEXPIRETIME c
    TTL nokey
    PTTL nokey
    EXPIRETIME nokey
    PEXPIRETIME nokey
"#;

const OBJECT: &str = r#"
    SET small 1
    SET n 12345
    SET neg -5
    SET lz 05
    SET s hello
    SET big 123456789012345678901234567890123456789012345
    OBJECT ENCODING small
    OBJECT ENCODING n
    OBJECT ENCODING neg
    OBJECT ENCODING lz
    OBJECT ENCODING s
    OBJECT ENCODING big
    OBJECT ENCODING nokey
    OBJECT REFCOUNT small
    OBJECT REFCOUNT n
    OBJECT REFCOUNT s
    OBJECT REFCOUNT nokey
    OBJECT IDLETIME nokey
    OBJECT FREQ nokey
    OBJECT FREQ s
    OBJECT ENCODING
    OBJECT ENCODING s extra
    OBJECT HELP extra
    OBJECT
    OBJECT FOO
    OBJECT foo bar
"#;

const EXPIRE_ERRORS: &str = r#"
    SET a 1
    EXPIRE a 10 NX XX
    EXPIRE a 10 xx nx
    EXPIRE a 10 NX GT
    EXPIRE a 10 GT LT
    EXPIRE a 10 FOO
    EXPIRE a abc FOO
    EXPIRE a abc
    EXPIRE nokey abc
    EXPIRE nokey 99999999999999999
    EXPIRE a 9223372036854775
    PEXPIRE a 9223372036854775000
    PEXPIRE a 9223372036854775807
    EXPIREAT a 99999999999999999
    PEXPIREAT nokey -9223372036854775808
    EXPIRE
    EXPIRE a
    PEXPIRE a
    EXPIREAT a
    PEXPIREAT a
    TTL
    TTL a b
    PERSIST
    EXPIRE nokey 100
    EXPIRE a 100 GT
    EXPIRE a 100 XX
    EXPIRE a 300 LT
    EXPIRE a 200 NX
    EXPIRE a 400 GT
    EXPIRE a 500 LT
    EXPIRE a 100 XX LT
    EXPIRE a 1000 XX GT
    PERSIST a
    PERSIST a
    EXPIRE a 100 LT
    PEXPIRE a 50000 GT
    PEXPIRE a 200000 GT
    PEXPIREAT a 99999999999999 GT
    EXPIREAT a 99999999999 LT
    EXPIRETIME a
    PEXPIRETIME a
    EXPIRE a -1
    EXISTS a
    SET a 1
    EXPIREAT a 1
    EXISTS a
    SET a 1
    PEXPIREAT a -9223372036854775808
    EXISTS a
    SET a 1
    PEXPIRE a 0
    EXISTS a
    DBSIZE
"#;

const SCAN_ERRORS: &str = r#"
    SET k1 v
    SCAN x
    SCAN " 5"
    SCAN 0x10
    SCAN 18446744073709551616
    SCAN 0 COUNT 0
    SCAN 0 COUNT -1
    SCAN 0 COUNT x
    SCAN 0 COUNT 99999999999999999999
    SCAN 0 FOO
    SCAN 0 MATCH
    SCAN 0 TYPE
    SCAN 0 COUNT
    SCAN 0 TYPE foo
    SCAN 0 TYPE hash
    SCAN 0 TYPE STRING
    SCAN 0 MATCH nomatch*
    SCAN
    KEYS
    KEYS a b
    RANDOMKEY x
    FLUSHDB foo
    FLUSHDB sync async
    FLUSHALL foo
    SWAPDB 0
    SWAPDB 0 16
    SWAPDB -1 0
    SWAPDB x 1
    SWAPDB 0 x
    SWAPDB 99999999999 1
    SWAPDB 1 99999999999
    SWAPDB 0 0
"#;

#[test]
fn basic_commands_match_redis_resp2() {
    let mut d = Diff::new();
    d.script(BASIC);
}

#[test]
fn basic_commands_match_redis_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.script(BASIC);
}

#[test]
fn object_matches_redis() {
    let mut d = Diff::new();
    d.script(OBJECT);
    d.resp3();
    d.script(OBJECT);
    // OBJECT HELP has Strata's own text, in Redis's shape.
    let help = String::from_utf8(d.s.cmd(&["OBJECT", "HELP"])).unwrap();
    assert!(help.starts_with("*11\r\n+OBJECT <subcommand>"), "{help}");
    for sub in ["ENCODING", "FREQ", "IDLETIME", "REFCOUNT", "HELP"] {
        assert!(help.contains(&format!("+{sub}")), "{help}");
    }
}

#[test]
fn object_under_lfu_policy_matches_redis() {
    // Under an LFU policy FREQ works and IDLETIME errors.
    let lfu = ["--maxmemory-policy", "allkeys-lfu"];
    let strata = Strata::start_with(&lfu);
    let redis = Redis::start_with(&lfu);
    let (s, r) = (strata.conn(), redis.conn());
    let mut d = Diff {
        strata,
        redis,
        s,
        r,
    };
    d.script("SET s hello\nOBJECT IDLETIME s\nOBJECT IDLETIME nokey\nOBJECT FREQ nokey");
    assert_eq!(d.s.cmd(&["OBJECT", "FREQ", "s"]), b":0\r\n");
}

#[test]
fn expire_errors_and_conditions_match_redis() {
    let mut d = Diff::new();
    d.script(EXPIRE_ERRORS);
    d.resp3();
    d.script(EXPIRE_ERRORS);
}

fn integer(reply: &[u8]) -> i64 {
    let s = std::str::from_utf8(reply).expect("utf8");
    s.trim_start_matches(':')
        .trim_end()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer reply: {s:?}"))
}

/// Relative deadlines (EXPIRE, PEXPIRE) read back within the tolerance
/// documented on `TTL_TOLERANCE_S`; absolute ones (EXPIREAT, PEXPIREAT,
/// SET EXAT/PXAT, GETEX EXAT/PXAT), the same instant on both servers, read
/// back from EXPIRETIME and PEXPIRETIME exactly.
#[test]
fn ttl_values_agree_with_redis() {
    let mut d = Diff::new();
    d.script("SET a 1\nSET b 2\nEXPIRE a 100\nPEXPIRE b 50000");
    for (cmd, key) in [
        ("TTL", "a"),
        ("PTTL", "a"),
        ("TTL", "b"),
        ("PTTL", "b"),
        ("EXPIRETIME", "a"),
        ("PEXPIRETIME", "a"),
        ("EXPIRETIME", "b"),
        ("PEXPIRETIME", "b"),
    ] {
        d.check_ttl(&[cmd, key]);
    }
    assert_eq!(integer(&d.s.cmd(&["TTL", "a"])), 100);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    let now_s = now_ms / 1000;
    let at = |ms: i64| ms.to_string();
    d.check(&["EXPIREAT", "a", &at(now_s + 1000)]);
    d.check(&["EXPIRETIME", "a"]);
    d.check(&["PEXPIRETIME", "a"]);
    d.check_ttl(&["TTL", "a"]);
    d.check_ttl(&["PTTL", "a"]);
    assert_eq!(integer(&d.s.cmd(&["EXPIRETIME", "a"])), now_s + 1000);
    // Millisecond deadlines not on a second boundary: EXPIRETIME rounds
    // them the way Redis does.
    for offset in [200_123, 200_500, 200_999, 201_000] {
        d.check(&["PEXPIREAT", "b", &at(now_ms + offset)]);
        d.check(&["PEXPIRETIME", "b"]);
        d.check(&["EXPIRETIME", "b"]);
        d.check_ttl(&["PTTL", "b"]);
        d.check_ttl(&["TTL", "b"]);
    }
    assert_eq!(integer(&d.s.cmd(&["PEXPIRETIME", "b"])), now_ms + 201_000);
    d.check(&["SET", "x", "1", "PXAT", &at(now_ms + 300_777)]);
    d.check(&["PEXPIRETIME", "x"]);
    d.check(&["EXPIRETIME", "x"]);
    d.check(&["SET", "y", "1", "EXAT", &at(now_s + 400)]);
    d.check(&["PEXPIRETIME", "y"]);
    d.check(&["GETEX", "y", "PXAT", &at(now_ms + 500_001)]);
    d.check(&["PEXPIRETIME", "y"]);
    d.check(&["GETEX", "y", "EXAT", &at(now_s + 600)]);
    d.check(&["EXPIRETIME", "y"]);
    d.check(&["PERSIST", "a"]);
    d.check(&["TTL", "a"]);
    d.check(&["EXPIRETIME", "a"]);
    // RENAME, MOVE and COPY keep the deadline exactly.
    d.script("RENAME b c\nCOPY c e\nMOVE e 1\nSELECT 1");
    d.check(&["PEXPIRETIME", "e"]);
    d.check_ttl(&["PTTL", "e"]);
    d.check(&["SELECT", "0"]);
    d.check(&["PEXPIRETIME", "c"]);
    d.check_ttl(&["PTTL", "c"]);
    // A relative deadline moved with the key stays within the tolerance.
    d.script("PEXPIRE c 50000\nRENAME c r");
    d.check_ttl(&["PTTL", "r"]);
    d.check_ttl(&["PEXPIRETIME", "r"]);
}

fn frame(reply: &[u8]) -> OwnedFrame {
    redis_protocol::resp2::decode::decode(reply)
        .ok()
        .flatten()
        .expect("RESP2 reply")
        .0
}

/// Runs a SCAN to completion and returns the keys seen (as a set) and the
/// number of calls.
fn scan_all(c: &mut Conn, extra: &[&str]) -> (BTreeSet<Vec<u8>>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = BTreeSet::new();
    for calls in 1..100_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let OwnedFrame::Array(parts) = frame(&c.cmd(&args)) else {
            panic!("SCAN reply is not an array");
        };
        let [OwnedFrame::BulkString(next), OwnedFrame::Array(keys)] = &parts[..] else {
            panic!("bad SCAN reply {parts:?}");
        };
        for k in keys {
            let OwnedFrame::BulkString(k) = k else {
                panic!("bad key {k:?}")
            };
            seen.insert(k.clone());
        }
        cursor = String::from_utf8(next.clone()).unwrap();
        if cursor == "0" {
            return (seen, calls);
        }
    }
    panic!("SCAN did not finish");
}

#[test]
fn keys_and_scan_match_redis_as_sets() {
    let mut d = Diff::new();
    d.script(SCAN_ERRORS);
    for i in 0..300 {
        d.check(&["SET", &format!("key:{i}"), "v"]);
        if i % 3 == 0 {
            d.check(&["SET", &format!("other:{i}"), "v"]);
        }
    }
    for pattern in ["*", "key:1*", "other:?", "key:[12]0", "nomatch", "*:9*"] {
        d.check_unordered(&["KEYS", pattern]);
    }
    for extra in [
        &[][..],
        &["COUNT", "7"],
        &["MATCH", "key:2*"],
        &["MATCH", "other:*", "COUNT", "1000"],
        &["TYPE", "string", "COUNT", "50"],
        &["TYPE", "hash"],
        &["TYPE", "STRING", "MATCH", "*:1?"],
    ] {
        let (s, _) = scan_all(&mut d.s, extra);
        let (r, _) = scan_all(&mut d.r, extra);
        assert_eq!(s, r, "SCAN {extra:?}");
    }
    // RANDOMKEY spreads over the keys.
    let picks: BTreeSet<Vec<u8>> = (0..60).map(|_| d.s.cmd(&["RANDOMKEY"])).collect();
    assert!(
        picks.len() >= 20,
        "only {} distinct RANDOMKEY replies",
        picks.len()
    );
    // COUNT is honoured roughly: about 400 keys 10 at a time.
    let (_, calls) = scan_all(&mut d.s, &[]);
    assert!((35..=45).contains(&calls), "{calls} calls");
    // A small database comes back in one call with cursor 0, as in Redis.
    d.check(&["SELECT", "3"]);
    d.script("SET x 1\nSET y 2");
    d.check_unordered(&["KEYS", "*"]);
    let (_, calls) = scan_all(&mut d.s, &[]);
    assert_eq!(calls, 1);
    // An unknown cursor restarts the walk instead of failing.
    let (s, _) = scan_all(&mut d.s, &[]);
    let reply = frame(&d.s.cmd(&["SCAN", "123456789"]));
    assert!(matches!(reply, OwnedFrame::Array(_)));
    assert_eq!(s.len(), 2);
    // RANDOMKEY returns existing keys, and nil on an empty database.
    for _ in 0..20 {
        let k = d.s.cmd(&["RANDOMKEY"]);
        assert!(k == b"$1\r\nx\r\n" || k == b"$1\r\ny\r\n", "{k:?}");
    }
    d.check(&["SELECT", "4"]);
    d.check(&["RANDOMKEY"]);
    d.resp3();
    d.check(&["RANDOMKEY"]);
    d.check(&["KEYS", "*"]);
    d.check(&["SCAN", "0"]);
}

#[test]
fn expired_keys_are_invisible() {
    let mut d = Diff::new();
    d.script("SET a 1\nSET b 2\nPEXPIRE a 50\nPEXPIRE b 50\nSET c 3");
    std::thread::sleep(Duration::from_millis(120));
    d.script(
        r#"
        EXISTS a
        TYPE a
        TTL a
        GET a
        RENAME b x
        MOVE b 1
        COPY b y
        EXPIRE b 100
        PERSIST b
        OBJECT ENCODING b
        KEYS *
        SCAN 0
        RANDOMKEY
        "#,
    );
}

#[test]
fn flush_and_swapdb_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        SET a 1
        SELECT 1
        SET b 2
        SET c 3
        DBSIZE
        SWAPDB 0 1
        DBSIZE
        GET b
        GET a
        SELECT 0
        GET b
        DBSIZE
        FLUSHDB
        DBSIZE
        SELECT 1
        DBSIZE
        FLUSHDB ASYNC
        DBSIZE
        SET a 1
        SELECT 2
        SET a 1
        FLUSHALL SYNC
        DBSIZE
        SELECT 1
        DBSIZE
        SET z 1
        FLUSHALL async
        DBSIZE
        FLUSHALL
        "#,
    );
}

#[test]
fn random_sequence_matches_redis() {
    let mut d = Diff::new();
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let keys = ["a", "b", "c", "d", "e"];
    for _ in 0..600 {
        let k = *rng.pick(&keys);
        let k2 = *rng.pick(&keys);
        let db = rng.below(3).to_string();
        let val = rng.below(100).to_string();
        let args: Vec<&str> = match rng.below(21) {
            0..=2 => vec!["SET", k, &val],
            3 => vec!["DEL", k, k2],
            4 => vec!["EXISTS", k, k2, k],
            5 => vec!["TYPE", k],
            6 => vec!["RENAME", k, k2],
            7 => vec!["RENAMENX", k, k2],
            8 => vec!["MOVE", k, &db],
            9 => vec!["COPY", k, k2, "DB", &db],
            10 => vec!["COPY", k, k2, "REPLACE"],
            11 => vec!["SELECT", &db],
            12 => vec!["EXPIRE", k, "1000", *rng.pick(&["NX", "XX", "GT", "LT"])],
            13 => vec!["PERSIST", k],
            14 => vec!["GET", k],
            15 => vec!["UNLINK", k],
            16 => vec!["TOUCH", k, k2],
            17 => vec!["SWAPDB", &db, "0"],
            18 => vec!["EXPIREAT", k, "1"],
            19 if rng.below(10) == 0 => vec!["FLUSHDB"],
            _ => vec!["DBSIZE"],
        };
        d.check(&args);
        if rng.below(20) == 0 {
            d.check_unordered(&["KEYS", "*"]);
        }
    }
    for db in ["0", "1", "2"] {
        d.check(&["SELECT", db]);
        d.check_unordered(&["KEYS", "*"]);
        d.check(&["DBSIZE"]);
    }
}

#[test]
fn active_expiry_removes_unread_keys() {
    let s = Strata::start();
    let mut c = s.conn();
    for i in 0..50 {
        c.cmd(&["SET", &format!("k{i}"), "v"]);
        assert_eq!(c.cmd(&["PEXPIRE", &format!("k{i}"), "100"]), b":1\r\n");
    }
    c.cmd(&["SET", "stay", "v"]);
    assert_eq!(c.cmd(&["DBSIZE"]), b":51\r\n");
    let start = Instant::now();
    while c.cmd(&["DBSIZE"]) != b":1\r\n" {
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "expired keys still counted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn flushall_and_swapdb_survive_restart() {
    let mut s = Strata::start();
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SELECT", "1"]);
    c.cmd(&["SET", "b", "2"]);
    assert_eq!(c.cmd(&["SWAPDB", "0", "1"]), b"+OK\r\n");
    drop(c);
    s.restart();
    let mut c = s.conn();
    assert_eq!(c.cmd(&["GET", "b"]), b"$1\r\n2\r\n");
    assert_eq!(c.cmd(&["GET", "a"]), b"$-1\r\n");
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["GET", "a"]), b"$1\r\n1\r\n");
    assert_eq!(c.cmd(&["FLUSHALL"]), b"+OK\r\n");
    drop(c);
    s.restart();
    let mut c = s.conn();
    for db in ["0", "1"] {
        c.cmd(&["SELECT", db]);
        assert_eq!(c.cmd(&["DBSIZE"]), b":0\r\n");
        assert_eq!(c.cmd(&["KEYS", "*"]), b"*0\r\n");
    }
}

/// MOVE and COPY ... DB write a key of a second database. Clients moving
/// and copying the same keys back and forth between two databases must
/// never wait on each other in a cycle: the dispatcher locks both databases'
/// keys in one ordered pass (a CI run once hung here when the second key
/// was locked later, out of order).
#[test]
fn cross_db_moves_and_copies_never_deadlock() {
    let s = Strata::start();
    let keys: Vec<String> = (0..16).map(|i| format!("k{i}")).collect();
    race_clients(s.port, 6, 1500, 0x2545_f491_4f6c_dd1d, move |c, rng| {
        let k = rng.pick(&keys).clone();
        let k2 = rng.pick(&keys).clone();
        let here = rng.below(2);
        let there = (1 - here).to_string();
        c.cmd(&["SELECT", &here.to_string()]);
        match rng.below(3) {
            0 => c.cmd(&["MOVE", &k, &there]),
            1 => c.cmd(&["COPY", &k, &k2, "DB", &there, "REPLACE"]),
            _ => c.cmd(&["SET", &k, "v"]),
        };
    });
    assert_eq!(s.conn().cmd(&["PING"]), b"+PONG\r\n");
}

/// Runs `rounds` calls of `body` on each of `clients` connections at once,
/// each with its own seeded generator, and fails if one does not finish
/// within a minute (a deadlock).
fn race_clients<F>(port: u16, clients: u64, rounds: usize, seed: u64, body: F)
where
    F: Fn(&mut Conn, &mut Rng) + Send + Sync + 'static,
{
    let body = std::sync::Arc::new(body);
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for t in 0..clients {
        let done_tx = done_tx.clone();
        let body = body.clone();
        std::thread::spawn(move || {
            let mut c = Conn::connect(port);
            let mut rng = Rng(seed ^ (t + 1));
            for _ in 0..rounds {
                body(&mut c, &mut rng);
            }
            let _ = done_tx.send(());
        });
    }
    for _ in 0..clients {
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a client got stuck (deadlock?)");
    }
}

/// Several clients racing RENAME, MOVE, COPY, DEL and expiry on a few keys
/// across databases: nothing deadlocks and the O(1) key counters stay exact
/// (DBSIZE equals the number of keys KEYS finds once expiry has caught up).
#[test]
fn concurrent_cross_db_commands_keep_counters_exact() {
    let s = Strata::start();
    race_clients(s.port, 4, 400, 0x9e37_79b9_7f4a_7c15, |c, rng| {
        let keys = ["a", "b", "c", "d"];
        let k = *rng.pick(&keys);
        let k2 = *rng.pick(&keys);
        let db = rng.below(3).to_string();
        let args: Vec<&str> = match rng.below(9) {
            0 | 1 => vec!["SET", k, "v"],
            2 => vec!["DEL", k, k2],
            3 => vec!["RENAME", k, k2],
            4 => vec!["MOVE", k, &db],
            5 => vec!["COPY", k, k2, "DB", &db, "REPLACE"],
            6 => vec!["PEXPIRE", k, "3"],
            7 => vec!["SELECT", &db],
            _ => vec!["RENAMENX", k, k2],
        };
        c.cmd(&args);
    });
    let mut c = s.conn();
    let start = Instant::now();
    for db in ["0", "1", "2"] {
        c.cmd(&["SELECT", db]);
        loop {
            let listed = crate::common::bulk_items(&c.cmd(&["KEYS", "*"])).len() as i64;
            let counted = integer(&c.cmd(&["DBSIZE"]));
            if listed == counted {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "db {db}: DBSIZE {counted} but KEYS lists {listed}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
