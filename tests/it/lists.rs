//! List commands against a real redis-server: every command, option and
//! error must reply byte for byte as Redis 7.0 does, in RESP2 and RESP3;
//! generic key commands must treat lists as Redis does; and a list of a
//! million elements must still answer point operations at any position.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{bulk_items, Conn, Diff, Rng, Strata};

const PUSH_POP: &str = r#"
    LPUSH l a
    LPUSH l b c d
    RPUSH l e f
    LRANGE l 0 -1
    LLEN l
    LLEN missing
    LPUSHX missing a b
    RPUSHX missing a
    EXISTS missing
    LPUSHX l x y
    RPUSHX l z
    LRANGE l 0 -1
    LPOP l
    RPOP l
    LPOP l 2
    RPOP l 2
    LPOP l 0
    RPOP l 0
    LRANGE l 0 -1
    LPOP l 100
    EXISTS l
    LPOP l
    RPOP l
    LPOP l 0
    LPOP l 5
    RPOP missing 1
    RPUSH l 1 2 3
    LPOP l -1
    LPOP l x
    LPOP l 1.5
    LPOP l 9223372036854775807
    LPOP l 9223372036854775808
    RPUSH l a b
    RPOP l 1
    RPOP l 1
    RPOP l 1
    RPUSH l ""
    LRANGE l 0 -1
    LPOP l
    EXISTS l
    RPUSH big 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19
    LPOP big 3
    RPOP big 3
    LRANGE big 0 -1
    LLEN big
"#;

const RANGES: &str = r#"
    RPUSH l a b c d e f g
    LRANGE l 0 -1
    LRANGE l 0 0
    LRANGE l 2 4
    LRANGE l -3 -1
    LRANGE l -100 100
    LRANGE l 5 2
    LRANGE l 7 10
    LRANGE l -1 -3
    LRANGE l 0 -8
    LRANGE l 0 -7
    LRANGE l -9223372036854775808 9223372036854775807
    LRANGE l 9223372036854775807 -9223372036854775808
    LRANGE l a 1
    LRANGE l 0 b
    LRANGE l 1.0 2
    LRANGE missing 0 -1
    LINDEX l 0
    LINDEX l 6
    LINDEX l 7
    LINDEX l -1
    LINDEX l -7
    LINDEX l -8
    LINDEX l 9223372036854775807
    LINDEX l -9223372036854775808
    LINDEX l x
    LINDEX missing 0
    LINDEX missing x
"#;

const EDITS: &str = r#"
    LSET missing 0 x
    LSET missing x x
    RPUSH l a b c d e
    LSET l 0 A
    LSET l -1 E
    LSET l 2 C
    LRANGE l 0 -1
    LSET l 5 x
    LSET l -6 x
    LSET l x x
    LSET l 9223372036854775807 x
    LINSERT l BEFORE A first
    LINSERT l AFTER E last
    LINSERT l before C mid1
    LINSERT l after C mid2
    LRANGE l 0 -1
    LINSERT l BEFORE nope x
    LINSERT l MIDDLE A x
    LINSERT missing BEFORE a x
    EXISTS missing
    RPUSH dup x y x y x
    LINSERT dup AFTER x new
    LINSERT dup BEFORE y new2
    LRANGE dup 0 -1
    DEL l
    RPUSH l a b a c a b a
    LREM l 0 zz
    LREM l 1 a
    LRANGE l 0 -1
    LREM l -1 a
    LRANGE l 0 -1
    LREM l 0 b
    LRANGE l 0 -1
    LREM l -2 a
    LRANGE l 0 -1
    LREM l x a
    LREM l 0 c
    EXISTS l
    LREM missing 0 a
    RPUSH l 1 2 3 4 5 6 7 8 9 10
    LTRIM l 1 -2
    LRANGE l 0 -1
    LTRIM l 0 100
    LRANGE l 0 -1
    LTRIM l -3 -1
    LRANGE l 0 -1
    LTRIM l 5 10
    EXISTS l
    RPUSH l 1 2 3
    LTRIM l 2 1
    EXISTS l
    RPUSH l 1 2 3
    LTRIM l -100 -5
    EXISTS l
    RPUSH l 1 2 3
    LTRIM l x 1
    LTRIM l 0 y
    LTRIM missing 0 1
    LTRIM l 0 -1
    LRANGE l 0 -1
"#;

const LPOS: &str = r#"
    RPUSH l a b c a b c a x
    LPOS l a
    LPOS l x
    LPOS l nope
    LPOS l a RANK 2
    LPOS l a RANK 3
    LPOS l a RANK 4
    LPOS l a RANK -1
    LPOS l a RANK -3
    LPOS l a RANK -4
    LPOS l a RANK 0
    LPOS l a RANK x
    LPOS l a RANK -9223372036854775808
    LPOS l a RANK -9223372036854775808 COUNT 1
    LPOS l a RANK -9223372036854775808 COUNT 0 MAXLEN 5
    LPOS l a RANK 9223372036854775807
    LPOS l a RANK -9223372036854775807
    LPOS l a COUNT 0
    LPOS l a COUNT 2
    LPOS l a COUNT 10
    LPOS l nope COUNT 0
    LPOS l a COUNT -1
    LPOS l a COUNT x
    LPOS l a COUNT 1 COUNT 2
    LPOS l a COUNT 0 RANK -1
    LPOS l a COUNT 0 RANK 2
    LPOS l a RANK -2 COUNT 2
    LPOS l a MAXLEN 1
    LPOS l a MAXLEN 3 COUNT 0
    LPOS l a MAXLEN 4 COUNT 0
    LPOS l a MAXLEN 4 COUNT 0 RANK -1
    LPOS l a MAXLEN 0 COUNT 0
    LPOS l a MAXLEN -1
    LPOS l a MAXLEN x
    LPOS l a MAXLEN 9223372036854775808
    LPOS l a RANK 2 MAXLEN 3
    LPOS l a rank 1 count 1 maxlen 1
    LPOS l a RANK
    LPOS l a COUNT
    LPOS l a FOO 1
    LPOS l a RANK 1 FOO
    LPOS missing a
    LPOS missing a COUNT 0
    LPOS missing a RANK 0
    LPOS missing a COUNT -1
"#;

const MOVES: &str = r#"
    RPUSH src a b c
    LMOVE src dst LEFT RIGHT
    LMOVE src dst RIGHT LEFT
    LMOVE src dst left left
    LMOVE src dst Right Right
    EXISTS src
    LRANGE dst 0 -1
    LMOVE dst dst LEFT RIGHT
    LRANGE dst 0 -1
    LMOVE dst dst RIGHT LEFT
    LRANGE dst 0 -1
    LMOVE dst dst LEFT LEFT
    LMOVE dst dst RIGHT RIGHT
    LRANGE dst 0 -1
    LMOVE dst dst UP LEFT
    LMOVE dst dst LEFT DOWN
    LMOVE missing dst LEFT LEFT
    RPUSH one x
    LMOVE one one LEFT RIGHT
    LMOVE one one RIGHT LEFT
    LRANGE one 0 -1
    RPOPLPUSH dst new
    RPOPLPUSH dst new
    LRANGE new 0 -1
    RPOPLPUSH missing new
    RPOPLPUSH new new
    LRANGE new 0 -1
    RPOPLPUSH one other
    EXISTS one
    DEL a b c
    RPUSH b 1 2 3 4 5
    LMPOP 3 a b c LEFT
    LMPOP 3 a b c RIGHT COUNT 2
    LMPOP 3 a b c left count 10
    LMPOP 3 a b c LEFT
    EXISTS b
    RPUSH c z
    LMPOP 2 b c RIGHT COUNT 9223372036854775807
    LMPOP 0 a LEFT
    LMPOP -1 a LEFT
    LMPOP x a LEFT
    LMPOP 2 a LEFT
    LMPOP 9223372036854775807 a LEFT
    LMPOP 1 a MIDDLE
    LMPOP 1 a LEFT COUNT 0
    LMPOP 1 a LEFT COUNT -1
    LMPOP 1 a LEFT COUNT x
    LMPOP 1 a LEFT COUNT
    LMPOP 1 a LEFT COUNT 1 COUNT 2
    LMPOP 1 a LEFT FOO
    LMPOP 1 a b
    LMPOP 2 a b LEFT
    RPUSH d 1 2
    LMPOP 2 d d RIGHT COUNT 5
    LMPOP 2 d d RIGHT
    RPUSH one2 x
    LMOVE one2 one2 LEFT LEFT
    LMOVE one2 other2 LEFT RIGHT
    EXISTS one2
    LRANGE other2 0 -1
"#;

const WRONG_TYPE: &str = r#"
    SET s v
    RPUSH l a
    LPUSH s a
    RPUSH s a
    LPUSHX s a
    RPUSHX s a
    LPOP s
    RPOP s 2
    LPOP s 0
    LPOP s -1
    LLEN s
    LRANGE s 0 -1
    LINDEX s 0
    LINDEX s x
    LSET s 0 x
    LSET s x x
    LRANGE s x 1
    LREM s x a
    LINSERT s MIDDLE a b
    LMOVE s l UP LEFT
    LINSERT s BEFORE a b
    LREM s 0 a
    LTRIM s 0 1
    LPOS s a
    LPOS s a RANK 0
    LMOVE s l LEFT LEFT
    LMOVE l s LEFT LEFT
    LRANGE l 0 -1
    LMOVE missing s LEFT LEFT
    RPOPLPUSH s l
    RPOPLPUSH l s
    LMPOP 2 s l LEFT
    LMPOP 2 l s LEFT
    LMPOP 2 missing s LEFT
    GET l
    APPEND l x
    INCR l
    GET s
"#;

const ARITY: &str = r#"
    LPUSH
    LPUSH l
    RPUSH l
    LPUSHX l
    RPUSHX l
    LPOP
    LPOP l 1 2
    RPOP l 1 2
    LLEN
    LLEN l x
    LRANGE l 0
    LINDEX l
    LSET l 0
    LINSERT l BEFORE a
    LREM l 0
    LTRIM l 0
    LPOS l
    LMOVE a b LEFT
    RPOPLPUSH a
    LMPOP 1 a
    lpush
"#;

const GENERIC: &str = r#"
    RPUSH l a b c
    TYPE l
    OBJECT ENCODING l
    EXISTS l
    RENAME l l2
    LRANGE l2 0 -1
    EXISTS l
    COPY l2 l3
    LPUSH l3 z
    LRANGE l2 0 -1
    LRANGE l3 0 -1
    COPY l2 l3
    COPY l2 l3 REPLACE
    LRANGE l3 0 -1
    SET s v
    RENAME l3 s
    TYPE s
    LRANGE s 0 -1
    RENAME s l2
    LRANGE l2 0 -1
    RPUSH l2 x
    LLEN l2
    EXPIRE l2 1000
    TTL l2
    LPUSH l2 y
    TTL l2
    LPOP l2 10
    TTL l2
    EXISTS l2
    RPUSH l2 q
    TTL l2
    PERSIST l2
    DBSIZE
    DEL l2
    LLEN l2
    SET l2 str
    TYPE l2
    RPUSH nl 1
    MOVE nl 1
    EXISTS nl
    SELECT 1
    LRANGE nl 0 -1
    TYPE nl
    SELECT 0
    DBSIZE
    FLUSHDB
    LLEN l
"#;

/// A short range is read through the record cache (`list::read_range`):
/// each read below repeats one that filled the cache, after a change of
/// every kind, inside a transaction too (where the staged changes answer).
const REREAD: &str = r#"
    RPUSH l a b c d e f g h
    LRANGE l 0 -1
    LRANGE l 0 -1
    LSET l 2 C
    LRANGE l 0 -1
    LPOP l
    RPOP l
    LRANGE l 0 -1
    LPUSH l z
    RPUSH l y
    LRANGE l 0 -1
    LINSERT l BEFORE d dd
    LRANGE l 0 -1
    LREM l 1 e
    LRANGE l 0 -1
    LTRIM l 1 4
    LRANGE l 0 -1
    LRANGE l 1 2
    LRANGE l -2 -1
    LMOVE l l LEFT RIGHT
    LRANGE l 0 -1
    MULTI
    LPUSH l m1
    LRANGE l 0 -1
    LSET l 1 m2
    LRANGE l 0 2
    RPOP l
    LRANGE l 0 -1
    EXEC
    LRANGE l 0 -1
    DEL l
    LRANGE l 0 -1
    RPUSH l new1 new2
    LRANGE l 0 -1
    SET l str
    LRANGE l 0 -1
"#;

#[test]
fn ranges_read_again_after_every_change_match_redis() {
    let mut d = Diff::new();
    d.script(REREAD);
}

#[test]
fn push_and_pop_match_redis() {
    let mut d = Diff::new();
    d.script(PUSH_POP);
}

#[test]
fn ranges_and_indexes_match_redis() {
    let mut d = Diff::new();
    d.script(RANGES);
}

#[test]
fn lset_linsert_lrem_ltrim_match_redis() {
    let mut d = Diff::new();
    d.script(EDITS);
}

#[test]
fn lpos_options_and_errors_match_redis() {
    let mut d = Diff::new();
    d.script(LPOS);
}

#[test]
fn lmove_rpoplpush_lmpop_match_redis() {
    let mut d = Diff::new();
    d.script(MOVES);
}

#[test]
fn wrong_type_and_arity_errors_match_redis() {
    let mut d = Diff::new();
    d.script(WRONG_TYPE);
    d.script(ARITY);
}

#[test]
fn generic_key_commands_on_lists_match_redis() {
    let mut d = Diff::new();
    d.script(GENERIC);
}

#[test]
fn every_script_matches_redis_in_resp3() {
    let mut d = Diff::new();
    d.resp3();
    for (i, script) in [
        PUSH_POP, RANGES, EDITS, LPOS, MOVES, WRONG_TYPE, ARITY, REREAD,
    ]
    .iter()
    .enumerate()
    {
        d.check(&["SELECT", &(i + 1).to_string()]);
        d.script(script);
    }
}

#[test]
fn command_info_of_single_key_list_commands_matches_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        COMMAND INFO lpush rpush lpushx rpushx lpop rpop llen lrange
        COMMAND INFO lindex lset linsert lrem ltrim lpos
        COMMAND GETKEYS lpush a b
        COMMAND GETKEYS rpoplpush a b
        COMMAND GETKEYS lmove a b left right
        "#,
    );
}

#[test]
fn binary_elements_round_trip() {
    let mut d = Diff::new();
    let value: Vec<u8> = (0..=255u8).collect();
    d.check_bin(&[b"RPUSH", b"bin", &value, b"", b"\r\n", &[0xff; 300]]);
    d.check_bin(&[b"LRANGE", b"bin", b"0", b"-1"]);
    d.check_bin(&[b"LPOS", b"bin", &value]);
    d.check_bin(&[b"LREM", b"bin", b"0", b"\r\n"]);
    d.check_bin(&[b"LINSERT", b"bin", b"AFTER", b"", &value]);
    d.check_bin(&[b"LRANGE", b"bin", b"0", b"-1"]);
    let key: Vec<u8> = (0..=255u8).rev().collect();
    d.check_bin(&[b"LPUSH", &key, &value]);
    d.check_bin(&[b"LMOVE", &key, b"bin", b"LEFT", b"LEFT"]);
    d.check_bin(&[b"LRANGE", b"bin", b"0", b"-1"]);
}

/// A key with a TTL expires as a whole; reads and writes then see a
/// missing key, and a push creates a fresh list without the old elements.
#[test]
fn expired_lists_read_as_missing() {
    let mut d = Diff::new();
    d.script(
        r#"
        RPUSH l a b c
        PEXPIRE l 60
        RPUSH m a b
        PEXPIRE m 60
        RPUSH n a
        PEXPIRE n 60
        "#,
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while d.s.cmd_str(&["PTTL", "l"]) != ":-2\r\n" || d.r.cmd_str(&["PTTL", "l"]) != ":-2\r\n" {
        assert!(Instant::now() < deadline, "key did not expire");
        sleep(Duration::from_millis(20));
    }
    d.script(
        r#"
        LLEN l
        LRANGE l 0 -1
        LPUSHX m x
        RPUSH n fresh
        LRANGE n 0 -1
        TTL n
        LPOS m a
        "#,
    );
}

#[test]
fn keyspace_hits_and_misses_are_counted_like_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        RPUSH l a b
        SET s v
        LLEN l
        LLEN nope
        LRANGE l 0 -1
        LRANGE nope 0 -1
        LINDEX l 5
        LINDEX nope 0
        LINDEX l x
        LINDEX nope x
        LPOS l a
        LPOS nope a
        LLEN s
        LPUSH l c
        LPOP nope
        "#,
    );
    let stats = |c: &mut Conn| {
        let info = c.cmd_str(&["INFO", "stats"]);
        info.lines()
            .filter(|l| l.starts_with("keyspace_hits") || l.starts_with("keyspace_misses"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let (s, r) = (stats(&mut d.s), stats(&mut d.r));
    assert_eq!(s.len(), 2, "INFO stats lacks keyspace_hits/misses: {s:?}");
    assert_eq!(s, r);
}

/// Random list commands over a few keys (and a string key, for WRONGTYPE),
/// each reply checked against Redis, then the final contents.
#[test]
fn random_list_commands_match_redis() {
    let mut d = Diff::new();
    let mut rng = Rng(0x1157_5eed_2026);
    let keys = ["l1", "l2", "l3", "s"];
    let values = ["a", "b", "c", "d", ""];
    d.check(&["SET", "s", "string"]);
    for _ in 0..2000 {
        let k = *rng.pick(&keys[..3]);
        let k = if rng.below(30) == 0 { "s" } else { k };
        let k2 = *rng.pick(&keys[..3]);
        let v = *rng.pick(&values);
        let v2 = *rng.pick(&values);
        let n = (rng.below(13) as i64 - 6).to_string();
        let m = (rng.below(13) as i64 - 6).to_string();
        let end = *rng.pick(&["LEFT", "RIGHT"]);
        let end2 = *rng.pick(&["LEFT", "RIGHT"]);
        let cnt = rng.below(5).to_string();
        let cmd: Vec<&str> = match rng.below(22) {
            0 => vec!["LPUSH", k, v, v2],
            1 => vec!["RPUSH", k, v, v2, v],
            2 => vec!["LPUSHX", k, v],
            3 => vec!["RPUSHX", k, v, v2],
            4 => vec!["LPOP", k],
            5 => vec!["RPOP", k, &cnt],
            6 => vec!["LLEN", k],
            7 => vec!["LRANGE", k, &n, &m],
            8 => vec!["LINDEX", k, &n],
            9 => vec!["LSET", k, &n, v],
            10 => vec!["LINSERT", k, *rng.pick(&["BEFORE", "AFTER"]), v, v2],
            11 => vec!["LREM", k, &n, v],
            12 => vec!["LTRIM", k, &n, &m],
            13 => vec!["LPOS", k, v],
            14 => vec!["LPOS", k, v, "RANK", &n, "COUNT", &cnt],
            15 => vec!["LPOS", k, v, "MAXLEN", &cnt, "COUNT", "0", "RANK", &m],
            16 => vec!["LMOVE", k, k2, end, end2],
            17 => vec!["RPOPLPUSH", k, k2],
            18 => vec!["LMPOP", "2", k, k2, end],
            19 => vec!["LMPOP", "3", k, k2, "l3", end, "COUNT", &cnt],
            20 => vec!["RPUSH", k, "a", "b", "c", "d", "a", "b", "c", "d"],
            _ => vec!["LPOP", k, &cnt],
        };
        d.check(&cmd);
    }
    for k in keys {
        d.check(&["TYPE", k]);
        d.check(&["LRANGE", k, "0", "-1"]);
    }
    d.check(&["DBSIZE"]);
}

/// A million-element list, built with RPUSH of many elements per command,
/// answers LINDEX at both ends and in the middle, LSET, LINSERT near an
/// end, LPUSH and RPOP, all checked against Redis.
#[test]
fn a_million_element_list_answers_point_operations() {
    let mut d = Diff::new();
    const TOTAL: usize = 1_000_000;
    const PER_COMMAND: usize = 10_000;
    let mut args: Vec<String> = Vec::with_capacity(PER_COMMAND + 2);
    for chunk in 0..TOTAL / PER_COMMAND {
        args.clear();
        args.push("RPUSH".into());
        args.push("big".into());
        args.extend((0..PER_COMMAND).map(|i| format!("e{}", chunk * PER_COMMAND + i)));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        d.check(&argv);
    }
    let started = Instant::now();
    d.script(
        r#"
        LLEN big
        LINDEX big 0
        LINDEX big -1
        LINDEX big 500000
        LINDEX big 999999
        LINDEX big -1000000
        LINDEX big 1000000
        LRANGE big 499998 500001
        LRANGE big -3 -1
        LSET big 500000 middle
        LINDEX big 500000
        LPUSH big first
        RPOP big
        RPOP big 2
        LPOP big
        LINDEX big 0
        LINSERT big AFTER e999990 near-tail
        LINSERT big BEFORE e5 near-head
        LRANGE big 0 6
        LRANGE big -10 -1
        LPOS big middle
        LMOVE big big RIGHT LEFT
        LINDEX big 0
        LLEN big
        LTRIM big 1 -2
        LLEN big
        LINDEX big 0
        LINDEX big -1
        OBJECT ENCODING big
        "#,
    );
    // Point operations on the big list must not scan it: the whole script
    // above (which scans it for LPOS and LINSERT only near the ends) is quick.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "point operations took {:?}",
        started.elapsed()
    );
    let t = Instant::now();
    for i in 0..200 {
        let idx = (i * 4999).to_string();
        d.check(&["LINDEX", "big", &idx]);
    }
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "200 LINDEX took {:?}",
        t.elapsed()
    );
}

/// Clients pushing, popping and moving concurrently on the same keys: key
/// locks make each command atomic, so nothing is lost or duplicated and
/// the lengths agree with the contents.
#[test]
fn concurrent_pushes_pops_and_moves_lose_nothing() {
    let s = Strata::start();
    let port = s.port;
    const PUSHERS: usize = 4;
    const PER_PUSHER: usize = 300;
    let pushers: Vec<_> = (0..PUSHERS)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                for j in 0..PER_PUSHER {
                    let v = format!("t{t}-{j:04}");
                    let r = c.cmd_str(&["RPUSH", "q", &v]);
                    assert!(r.starts_with(':'), "{r}");
                }
            })
        })
        .collect();
    // Movers shuttle elements from q to the head of moved and back.
    let movers: Vec<_> = (0..2)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Conn::connect(port);
                for _ in 0..200 {
                    c.cmd(&["LMOVE", "q", "moved", "LEFT", "LEFT"]);
                    c.cmd(&["LMOVE", "moved", "q", "LEFT", "RIGHT"]);
                }
            })
        })
        .collect();
    for h in pushers.into_iter().chain(movers) {
        h.join().expect("client thread");
    }
    let mut c = s.conn();
    let q = c.cmd(&["LRANGE", "q", "0", "-1"]);
    let moved = c.cmd(&["LRANGE", "moved", "0", "-1"]);
    let mut all = bulk_items(&q);
    all.extend(bulk_items(&moved));
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        PUSHERS * PER_PUSHER,
        "elements lost or duplicated"
    );
    let total: usize = ["q", "moved"]
        .iter()
        .map(|k| {
            c.cmd_str(&["LLEN", k])
                .trim_start_matches(':')
                .trim_end()
                .parse::<usize>()
                .expect("integer")
        })
        .sum();
    assert_eq!(
        total,
        PUSHERS * PER_PUSHER,
        "LLEN disagrees with the contents"
    );
}

/// Bounds and elements are on disk: after a restart the list reads the
/// same and keeps growing at both ends.
#[test]
fn lists_survive_a_restart() {
    let mut s = Strata::start();
    let mut c = s.conn();
    assert_eq!(c.cmd(&["RPUSH", "l", "b", "c"]), b":2\r\n");
    assert_eq!(c.cmd(&["LPUSH", "l", "a"]), b":3\r\n");
    assert_eq!(c.cmd(&["LINSERT", "l", "AFTER", "b", "b2"]), b":4\r\n");
    assert_eq!(c.cmd(&["RPOP", "l"]), b"$1\r\nc\r\n");
    drop(c);
    s.restart();
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$2\r\nb2\r\n"
    );
    assert_eq!(c.cmd(&["LPUSH", "l", "z"]), b":4\r\n");
    assert_eq!(c.cmd(&["RPUSH", "l", "y"]), b":5\r\n");
    assert_eq!(c.cmd(&["LINDEX", "l", "0"]), b"$1\r\nz\r\n");
    assert_eq!(c.cmd(&["LINDEX", "l", "-1"]), b"$1\r\ny\r\n");
}

/// INFO keyspace_hits/keyspace_misses after LPOS, moves, LMPOP and SORT,
/// as Redis counts them.
#[test]
fn keyspace_hits_of_lpos_moves_and_sort_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        RPUSH l a b c
        SET s v
        LLEN l
        LLEN nokey
        LRANGE l 0 -1
        LRANGE nokey 0 -1
        LINDEX l 0
        LINDEX nokey 0
        LINDEX s 0
        LPOS l b
        LPOS nokey b
        LPUSH l x
        LPOP nokey
        RPOPLPUSH nokey l
        LMOVE l l2 LEFT RIGHT
        LMPOP 2 nokey l LEFT
        SORT l ALPHA
        SORT nokey
        SORT_RO l ALPHA
        "#,
    );
    d.assert_keyspace_stats_match();
}
