//! Sorted sets at scale and at random: seeded random command sequences
//! checked against a real redis-server after every command, ZRANDMEMBER's
//! rules, complete ZSCAN walks of large sets, large lex ranges (Redis's
//! skiplist path), and a million-member set.

use std::collections::{BTreeMap, HashSet};

use crate::common::{Conn, Diff, Rng, Strata};

fn dump(c: &mut Conn, key: &str) -> Vec<u8> {
    c.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"])
}

/// Seeded random sequences of sorted-set commands, checked after every
/// command, over a few small keys so members collide often.
#[test]
fn random_sequences_match_redis() {
    let mut d = Diff::new();
    let keys = ["k1", "k2", "k3"];
    let members = ["a", "b", "c", "d", "e", "f", "g", "h", "aa", ""];
    let scores = [
        "0", "1", "2", "-1", "3", "1.5", "-2.5", "10", "inf", "-inf", "7",
    ];
    let bounds = [
        "-inf", "+inf", "0", "1", "(1", "2", "(3", "5", "-1", "(-inf",
    ];
    let lex = ["-", "+", "[a", "(a", "[c", "(d", "[h", "[", "(aa"];
    for seed in 1..=6u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        d.check(&["FLUSHALL"]);
        for _ in 0..300 {
            let k = *rng.pick(&keys);
            let k2 = *rng.pick(&keys);
            let m = *rng.pick(&members);
            let s = *rng.pick(&scores);
            let (b1, b2) = (*rng.pick(&bounds), *rng.pick(&bounds));
            let (l1, l2) = (*rng.pick(&lex), *rng.pick(&lex));
            let (i1, i2) = (
                (rng.below(12) as i64 - 6).to_string(),
                (rng.below(12) as i64 - 6).to_string(),
            );
            let m2 = *rng.pick(&members);
            let s2 = *rng.pick(&scores);
            let opt = *rng.pick(&["", "NX", "XX", "GT", "LT", "CH", "GT CH", "XX CH"]);
            let cmd: Vec<String> = match rng.below(25) {
                22 => vec![
                    "ZRANGESTORE".into(),
                    k.into(),
                    k2.into(),
                    b1.into(),
                    b2.into(),
                    "BYSCORE".into(),
                    "REV".into(),
                ],
                23 => vec![
                    "ZINTERSTORE".into(),
                    k.into(),
                    "2".into(),
                    k2.into(),
                    keys[1].into(),
                    "WEIGHTS".into(),
                    "2".into(),
                    "-1".into(),
                    "AGGREGATE".into(),
                    "MIN".into(),
                ],
                24 => vec!["ZADD".into(), k.into(), "INCR".into(), s.into(), m.into()],
                0..=4 => {
                    let mut v = vec!["ZADD".to_string(), k.into()];
                    v.extend(opt.split_whitespace().map(String::from));
                    v.extend([s.into(), m.into(), s2.into(), m2.into()]);
                    v
                }
                5 => vec!["ZINCRBY".into(), k.into(), s.into(), m.into()],
                6 => vec!["ZREM".into(), k.into(), m.into(), m2.into()],
                7 => vec!["ZRANGE".into(), k.into(), i1, i2, "WITHSCORES".into()],
                8 => vec![
                    "ZRANGEBYSCORE".into(),
                    k.into(),
                    b1.into(),
                    b2.into(),
                    "WITHSCORES".into(),
                ],
                9 => vec![
                    "ZREVRANGEBYSCORE".into(),
                    k.into(),
                    b1.into(),
                    b2.into(),
                    "LIMIT".into(),
                    "1".into(),
                    "2".into(),
                ],
                10 => vec!["ZRANGEBYLEX".into(), k.into(), l1.into(), l2.into()],
                11 => vec!["ZCOUNT".into(), k.into(), b1.into(), b2.into()],
                12 => vec!["ZRANK".into(), k.into(), m.into()],
                13 => vec!["ZREVRANK".into(), k.into(), m.into()],
                14 => vec!["ZPOPMIN".into(), k.into(), rng.below(3).to_string()],
                15 => vec!["ZPOPMAX".into(), k.into()],
                16 => vec!["ZREMRANGEBYSCORE".into(), k.into(), b1.into(), b2.into()],
                17 => vec!["ZREMRANGEBYRANK".into(), k.into(), i1, i2],
                18 => vec![
                    "ZUNIONSTORE".into(),
                    k.into(),
                    "2".into(),
                    k2.into(),
                    keys[0].into(),
                    "AGGREGATE".into(),
                    "MAX".into(),
                ],
                19 => vec![
                    "ZINTER".into(),
                    "2".into(),
                    k.into(),
                    k2.into(),
                    "WITHSCORES".into(),
                ],
                20 => vec![
                    "ZDIFF".into(),
                    "2".into(),
                    k.into(),
                    k2.into(),
                    "WITHSCORES".into(),
                ],
                _ => vec!["ZMSCORE".into(), k.into(), m.into(), m2.into()],
            };
            let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
            d.check(&args);
            for key in keys {
                let (s, r) = (dump(&mut d.s, key), dump(&mut d.r, key));
                assert_eq!(s, r, "{key} differs after {args:?} (seed {seed})");
            }
        }
    }
}

/// Parses a flat RESP2 array of bulks into strings.
fn bulks(reply: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(reply);
    let lines: Vec<&str> = text.split("\r\n").collect();
    let mut out = Vec::new();
    let mut i = 1;
    while i < lines.len() {
        if lines[i].starts_with('$') && lines[i] != "$-1" {
            out.push(lines[i + 1].to_string());
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn zrandmember_follows_its_rules() {
    let s = Strata::start();
    let mut c = s.conn();
    let mut expected = BTreeMap::new();
    for i in 0..200 {
        let m = format!("m{i}");
        c.cmd(&["ZADD", "z", &i.to_string(), &m]);
        expected.insert(m, i.to_string());
    }
    let one = c.cmd_str(&["ZRANDMEMBER", "z"]);
    let one = one.split("\r\n").nth(1).expect("a bulk reply");
    assert!(expected.contains_key(one), "{one}");
    // Positive count: distinct members, at most the set's size.
    let got = bulks(&c.cmd(&["ZRANDMEMBER", "z", "50"]));
    assert_eq!(got.len(), 50);
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 50);
    assert!(got.iter().all(|m| expected.contains_key(m)));
    let all = bulks(&c.cmd(&["ZRANDMEMBER", "z", "1000"]));
    assert_eq!(all.len(), 200);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 200);
    // Negative count: exactly |count| members, repeats allowed.
    let many = bulks(&c.cmd(&["ZRANDMEMBER", "z", "-500"]));
    assert_eq!(many.len(), 500);
    assert!(many.iter().collect::<HashSet<_>>().len() < 200 + 1);
    // WITHSCORES pairs each member with its own score.
    let pairs = bulks(&c.cmd(&["ZRANDMEMBER", "z", "-30", "WITHSCORES"]));
    assert_eq!(pairs.len(), 60);
    for p in pairs.chunks(2) {
        assert_eq!(expected[&p[0]], p[1]);
    }
    // The picks spread over the set.
    let spread = bulks(&c.cmd(&["ZRANDMEMBER", "z", "-2000"]));
    assert!(spread.iter().collect::<HashSet<_>>().len() > 150);
}

/// ZSCAN of a set too large for Redis's single-reply listpack: a full walk
/// returns every member with its score (compared as a multiset with Redis).
#[test]
fn zscan_walks_large_sets_completely() {
    let mut d = Diff::new();
    let mut args = vec!["ZADD".to_string(), "big".into()];
    for i in 0..1000 {
        args.push(format!("{}", i as f64 * 1.25));
        // Long shared prefixes exercise the cursor's 8-byte groups.
        args.push(if i % 3 == 0 {
            format!("commonprefix{i}")
        } else {
            format!("m{i}")
        });
    }
    args.extend(["1e17", "huge", "0.1", "tenth", "-inf", "ninf"].map(String::from));
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    d.check(&a);
    for (count, pattern) in [("10", "*"), ("7", "m1*"), ("1000", "*")] {
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        let mut cursor = "0".to_string();
        for _ in 0..10_000 {
            let reply =
                d.s.cmd(&["ZSCAN", "big", &cursor, "COUNT", count, "MATCH", pattern]);
            let items = bulks(&reply);
            cursor = items[0].clone();
            for p in items[1..].chunks(2) {
                seen.insert(p[0].clone(), p[1].clone());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(cursor, "0", "walk ended");
        let mut expected = BTreeMap::new();
        let mut rc = "0".to_string();
        loop {
            let items = bulks(&d.r.cmd(&["ZSCAN", "big", &rc, "COUNT", "100", "MATCH", pattern]));
            rc = items[0].clone();
            for p in items[1..].chunks(2) {
                expected.insert(p[0].clone(), p[1].clone());
            }
            if rc == "0" {
                break;
            }
        }
        assert_eq!(seen, expected, "ZSCAN COUNT {count} MATCH {pattern}");
    }
    // Range order is specified (score, then member bytes): exact.
    d.check(&["ZRANGE", "big", "0", "-1"]);
    d.check(&["ZRANGE", "big", "100", "120", "WITHSCORES"]);
    d.check(&["ZRANGE", "big", "-120", "-100", "REV"]);
    d.check(&["ZRANGEBYSCORE", "big", "(500", "600", "WITHSCORES"]);
    d.check(&["ZRANK", "big", "m998"]);
    d.check(&["ZREVRANK", "big", "m2"]);
    d.check(&["OBJECT", "ENCODING", "big"]);
    d.check(&["ZCOUNT", "big", "-inf", "+inf"]);
    d.check(&["ZCOUNT", "big", "(-inf", "(inf"]);
    d.check(&["ZCOUNT", "big", "100", "(200"]);
    d.check(&["ZRANGE", "big", "0", "2", "REV", "WITHSCORES"]);
    d.check(&["ZUNIONSTORE", "u", "2", "big", "big", "WEIGHTS", "1", "2"]);
    d.check(&["ZRANGE", "u", "500", "510", "WITHSCORES"]);
    let one = d.s.cmd_str(&["ZRANDMEMBER", "big"]);
    assert!(one.starts_with('$'), "{one}");
}

/// Large lex sets (skiplist in Redis, the seek path here).
#[test]
fn large_lex_ranges_match_redis() {
    let mut d = Diff::new();
    let mut args = vec!["ZADD".to_string(), "lex".into()];
    for i in 0..500 {
        args.push("0".into());
        args.push(format!("w{:04}", i * 7 % 1000));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    d.check(&a);
    d.script(
        r#"
        ZRANGEBYLEX lex [w0100 [w0200
        ZRANGEBYLEX lex (w0100 (w0200 LIMIT 3 5
        ZREVRANGEBYLEX lex [w0200 [w0100
        ZREVRANGEBYLEX lex (w0200 (w0100 LIMIT 2 4
        ZRANGEBYLEX lex - [w0010
        ZREVRANGEBYLEX lex + (w0990
        ZLEXCOUNT lex [w0300 (w0600
        ZLEXCOUNT lex - +
        ZRANGEBYLEX lex [x +
        ZREMRANGEBYLEX lex [w0500 [w0550
        ZCARD lex
    "#,
    );
}

/// A million members, added many per command: point reads and writes and a
/// range of 100 stay correct.
#[test]
fn a_million_member_zset_stays_correct() {
    let s = Strata::start();
    let mut c = s.conn();
    const N: usize = 1_000_000;
    const BATCH: usize = 10_000;
    for start in (0..N).step_by(BATCH) {
        let mut owned: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"huge".to_vec()];
        for i in start..start + BATCH {
            owned.push(i.to_string().into_bytes());
            owned.push(format!("member:{i:07}").into_bytes());
        }
        let args: Vec<&[u8]> = owned.iter().map(|v| v.as_slice()).collect();
        c.send(&args);
        let r = c.read_reply();
        assert_eq!(r, format!(":{BATCH}\r\n").as_bytes());
    }
    assert_eq!(c.cmd_str(&["ZCARD", "huge"]).trim_end(), format!(":{N}"));
    assert_eq!(
        c.cmd_str(&["ZSCORE", "huge", "member:0765432"]).trim_end(),
        "$6\r\n765432"
    );
    assert_eq!(
        c.cmd_str(&["ZADD", "huge", "-5", "member:0765432"])
            .trim_end(),
        ":0"
    );
    assert_eq!(
        c.cmd_str(&["ZSCORE", "huge", "member:0765432"]).trim_end(),
        "$2\r\n-5"
    );
    let first = bulks(&c.cmd(&["ZRANGE", "huge", "0", "99", "WITHSCORES"]));
    assert_eq!(first.len(), 200);
    assert_eq!(first[0], "member:0765432");
    assert_eq!(first[2], "member:0000000");
    assert_eq!(first[198], "member:0000098");
    let mid = bulks(&c.cmd(&[
        "ZRANGEBYSCORE",
        "huge",
        "500000",
        "+inf",
        "LIMIT",
        "0",
        "100",
    ]));
    assert_eq!(mid.len(), 100);
    assert_eq!(mid[0], "member:0500000");
    assert_eq!(mid[99], "member:0500099");
    let last = bulks(&c.cmd(&["ZRANGE", "huge", "-100", "-1"]));
    assert_eq!(last.len(), 100);
    assert_eq!(last[99], format!("member:{:07}", N - 1));
    assert_eq!(
        c.cmd_str(&["ZRANK", "huge", "member:0999990"]).trim_end(),
        ":999990"
    );
    assert_eq!(c.cmd_str(&["ZADD", "huge", "1", "new"]).trim_end(), ":1");
    assert_eq!(
        c.cmd_str(&["ZCARD", "huge"]).trim_end(),
        format!(":{}", N + 1)
    );
}
