//! Set commands against a real redis-server: every command, option and
//! error must reply as Redis 7.0 does, in RESP2 and RESP3. Replies whose
//! order Redis leaves unspecified (SMEMBERS, SINTER, ...) are compared as
//! multisets; random commands (SRANDMEMBER, SPOP) are checked by their
//! rules (counts, membership, distinctness) and kept in step with Redis.

use std::collections::HashSet;

use crate::common::{Conn, Diff, Rng, Strata};

/// A decoded reply, enough for the shapes set commands produce.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Val {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Null(char),
    /// Aggregate: the type byte (`*`, `~`, `%`) and the items.
    Agg(char, Vec<Val>),
}

fn parse_at(r: &[u8], pos: &mut usize) -> Val {
    let end = *pos
        + r[*pos..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("CRLF");
    let kind = r[*pos] as char;
    // Status and error lines stay bytes: they compare exactly.
    let raw = r[*pos + 1..end].to_vec();
    let line = String::from_utf8_lossy(&raw).into_owned();
    *pos = end + 2;
    match kind {
        '+' => Val::Simple(raw),
        '-' => Val::Error(raw),
        ':' => Val::Int(line.parse().expect("integer")),
        '_' => Val::Null('_'),
        '$' if line == "-1" => Val::Null('$'),
        '$' => {
            let n: usize = line.parse().expect("length");
            let v = r[*pos..*pos + n].to_vec();
            *pos += n + 2;
            Val::Bulk(v)
        }
        '*' if line == "-1" => Val::Null('*'),
        '*' | '~' | '%' => {
            let mut n: usize = line.parse().expect("length");
            if kind == '%' {
                n *= 2;
            }
            Val::Agg(kind, (0..n).map(|_| parse_at(r, pos)).collect())
        }
        other => panic!("unexpected reply type {other:?}"),
    }
}

fn parse(r: &[u8]) -> Val {
    let mut pos = 0;
    let v = parse_at(r, &mut pos);
    assert_eq!(pos, r.len(), "one reply");
    v
}

/// The reply with the items of its top-level aggregate sorted (and, for an
/// SSCAN reply, those of its member array).
fn canonical(v: Val, scan: bool) -> Val {
    match v {
        Val::Agg(k, mut items) if scan && items.len() == 2 => {
            items[1] = canonical(items[1].clone(), false);
            Val::Agg(k, items)
        }
        Val::Agg(k, mut items) => {
            items.sort();
            Val::Agg(k, items)
        }
        other => other,
    }
}

/// Compares replies whose element order is unspecified (type bytes included).
#[track_caller]
fn unordered(d: &mut Diff, args: &[&str]) -> Val {
    let (s, r) = d.both(args);
    let (s, r) = (canonical(parse(&s), false), canonical(parse(&r), false));
    assert_eq!(s, r, "unordered reply to {args:?} differs (left: Strata)");
    s
}

/// Compares SSCAN replies: cursor equal, members as a multiset.
#[track_caller]
fn scan_unordered(d: &mut Diff, args: &[&str]) -> Val {
    let (s, r) = d.both(args);
    let (s, r) = (canonical(parse(&s), true), canonical(parse(&r), true));
    assert_eq!(s, r, "SSCAN reply to {args:?} differs (left: Strata)");
    s
}

fn members_of(v: &Val) -> Vec<Vec<u8>> {
    match v {
        Val::Agg(_, items) => items
            .iter()
            .map(|i| match i {
                Val::Bulk(b) => b.clone(),
                other => panic!("not a bulk: {other:?}"),
            })
            .collect(),
        Val::Bulk(b) => vec![b.clone()],
        Val::Null(_) => vec![],
        other => panic!("not members: {other:?}"),
    }
}

fn text(m: &[u8]) -> &str {
    std::str::from_utf8(m).expect("utf-8 member")
}

const SETUP: &str = r#"
    SADD s 1 2 3 a b
    SADD t 1 2
    SADD u 2 3 c
    SADD ints 5 -1 100
    SET str x
"#;

const BASICS: &str = r#"
    SADD s 1 2 3 a b
    SADD s a a c 1
    SADD s2 x x x
    SCARD s
    SCARD s2
    SCARD missing
    SISMEMBER s a
    SISMEMBER s zz
    SISMEMBER missing a
    SMISMEMBER s a zz 1 a
    SMISMEMBER missing a b
    SREM s a zz a
    SREM s
    SREM missing a
    SCARD s
    SADD one only
    SREM one only
    EXISTS one
    SADD t 1 2 9
    SADD u 2 3 c
    SMOVE s t 3
    SMOVE s t 3
    SMOVE s t nope
    SMOVE s newdst b
    TYPE newdst
    SMOVE missing t 1
    SMOVE t t 1
    SMOVE t t zz
    SMOVE t t
    SADD lone z
    SMOVE lone other z
    EXISTS lone
    SISMEMBER other z
    SINTERCARD 2 s t
    SINTERCARD 3 s t u
    SINTERCARD 2 s t LIMIT 1
    SINTERCARD 2 s t limit 0
    SINTERCARD 2 s t LIMIT 1 LIMIT 0
    SINTERCARD 1 missing
    SINTERCARD 2 s missing
    SINTERSTORE d s t
    SINTERSTORE d s missing
    EXISTS d
    SUNIONSTORE d s t u
    SCARD d
    SDIFFSTORE d s t
    SCARD d
    SDIFFSTORE d missing s
    EXISTS d
    SDIFFSTORE d s s
    EXISTS d
    SUNIONSTORE d missing
    SET dstr v
    SUNIONSTORE dstr s
    TYPE dstr
    SINTERSTORE s s t
    SCARD s
    SUNIONSTORE s s
    SCARD s
"#;

#[test]
fn commands_match_redis() {
    let mut d = Diff::new();
    d.script(BASICS);
    for keys in [
        &["s"][..],
        &["s", "t"],
        &["t", "s"],
        &["s", "t", "u"],
        &["s", "missing"],
        &["missing", "s"],
        &["u", "u"],
        &["d"],
        &["newdst", "other", "dstr"],
    ] {
        for op in ["SINTER", "SUNION", "SDIFF"] {
            let mut args = vec![op];
            args.extend_from_slice(keys);
            unordered(&mut d, &args);
        }
    }
    for key in ["s", "t", "u", "d", "dstr", "missing", "newdst", "other"] {
        unordered(&mut d, &["SMEMBERS", key]);
    }
}

const ERRORS: &str = r#"
    SADD
    SADD s
    SREM s
    SCARD
    SCARD a b
    SISMEMBER s
    SISMEMBER s a b
    SMISMEMBER s
    SMEMBERS
    SMEMBERS a b
    SRANDMEMBER
    SRANDMEMBER s 1 2
    SRANDMEMBER s x
    SRANDMEMBER s 1.5
    SRANDMEMBER s 9223372036854775808
    SRANDMEMBER s -9223372036854775808
    SRANDMEMBER str x
    SRANDMEMBER missing x
    SPOP
    SPOP s 1 2
    SPOP s x
    SPOP s -1
    SPOP str -1
    SPOP missing -1
    SPOP s 9223372036854775808
    SMOVE s t
    SMOVE s t a b
    SINTER
    SUNION
    SDIFF
    SINTERSTORE d
    SUNIONSTORE d
    SDIFFSTORE d
    SINTERCARD
    SINTERCARD 1
    SINTERCARD 0 s
    SINTERCARD -1 s
    SINTERCARD x s
    SINTERCARD 99999999999999999999 s
    SINTERCARD 3 s t
    SINTERCARD 2 s t LIMIT
    SINTERCARD 2 s t LIMIT -1
    SINTERCARD 2 s t LIMIT x
    SINTERCARD 2 s t FOO 1
    SINTERCARD 1 s t
    SINTERCARD 2 missing s LIMIT -1
    SSCAN
    SSCAN s
    SSCAN s x
    SSCAN s 18446744073709551616
    SSCAN s -
    SSCAN s 0 COUNT 0
    SSCAN s 0 COUNT -1
    SSCAN s 0 COUNT x
    SSCAN s 0 MATCH
    SSCAN s 0 TYPE string
    SSCAN s 0 FOO bar
    SSCAN missing 0 COUNT 0
    SSCAN missing 0 FOO
    SSCAN missing x
    SSCAN str x
    SSCAN str 0 COUNT 0
"#;

const WRONGTYPE: &str = r#"
    SADD str a
    SREM str a
    SCARD str
    SISMEMBER str a
    SMISMEMBER str a b
    SMEMBERS str
    SRANDMEMBER str
    SRANDMEMBER str 0
    SRANDMEMBER str -3
    SPOP str
    SPOP str 0
    SPOP str 2
    SMOVE str s a
    SMOVE s str a
    SMOVE s str zz
    SMOVE missing str a
    SMOVE str missing a
    SINTER s str
    SINTER missing str
    SINTER str missing
    SUNION s str
    SUNION missing str
    SDIFF str
    SDIFF missing str
    SDIFF s str
    SINTERSTORE d s str
    SINTERSTORE d missing str
    SUNIONSTORE d str
    SDIFFSTORE d missing str
    EXISTS d
    SINTERCARD 1 str
    SINTERCARD 2 missing str
    SINTERCARD 2 s str LIMIT 1
    SSCAN str 0
    SSCAN str 0 COUNT 0
"#;

#[test]
fn errors_and_wrongtype_match_redis() {
    let mut d = Diff::new();
    d.script(SETUP);
    d.script(ERRORS);
    d.script(WRONGTYPE);
    // Nothing above changed the data.
    for key in ["s", "t", "u", "ints"] {
        unordered(&mut d, &["SMEMBERS", key]);
    }
    d.script("TYPE str\nGET str");
}

#[test]
fn resp3_replies_match_redis() {
    let mut d = Diff::new();
    d.resp3();
    d.script(SETUP);
    d.script(
        r#"
        SCARD s
        SISMEMBER s a
        SMISMEMBER s a zz
        SMISMEMBER missing a
        SRANDMEMBER missing
        SRANDMEMBER missing 3
        SRANDMEMBER s 0
        SPOP missing
        SPOP missing 3
        SPOP s 0
        SMEMBERS missing
        SINTER missing s
        SUNION missing
        SDIFF missing s
        SINTERCARD 2 s t
        SINTERSTORE d s t
        SSCAN missing 0
        SMOVE s t a
        "#,
    );
    d.script(ERRORS);
    d.script(WRONGTYPE);
    for args in [
        &["SMEMBERS", "s"][..],
        &["SMEMBERS", "ints"],
        &["SINTER", "s", "t"],
        &["SUNION", "s", "t", "u"],
        &["SDIFF", "s", "t"],
        &["SRANDMEMBER", "t", "10"],
        &["SPOP", "u", "10"],
    ] {
        unordered(&mut d, args);
    }
    scan_unordered(&mut d, &["SSCAN", "s", "0"]);
    scan_unordered(&mut d, &["SSCAN", "ints", "0", "COUNT", "1"]);
    // Random picks: the reply type and count match, members belong.
    for (args, kind, n) in [
        (&["SRANDMEMBER", "s", "2"][..], '*', 2),
        (&["SRANDMEMBER", "s", "-7"], '*', 7),
        (&["SPOP", "s", "2"], '~', 2),
    ] {
        match parse(&d.s.cmd(args)) {
            Val::Agg(k, items) => assert_eq!((k, items.len()), (kind, n), "{args:?}"),
            other => panic!("{args:?}: {other:?}"),
        }
    }
}

#[test]
fn object_encoding_type_and_generic_commands() {
    let mut d = Diff::new();
    d.script(
        r#"
        SADD i 1 2 3 -5 9223372036854775807 -9223372036854775808
        OBJECT ENCODING i
        TYPE i
        SADD i 01
        OBJECT ENCODING i
        SREM i 01
        OBJECT ENCODING i
        SADD j 1 +1
        OBJECT ENCODING j
        SADD k 9223372036854775808
        OBJECT ENCODING k
        SADD k2 " 1"
        OBJECT ENCODING k2
        SADD k3 -0
        OBJECT ENCODING k3
        SADD h a
        OBJECT ENCODING h
        SMOVE i fresh 1
        OBJECT ENCODING fresh
        SMOVE h fresh2 a
        OBJECT ENCODING fresh2
        SADD mixed 1 2 x
        SINTERSTORE st mixed i
        OBJECT ENCODING st
        SUNIONSTORE st2 mixed
        OBJECT ENCODING st2
        SDIFFSTORE st3 mixed i
        OBJECT ENCODING st3
        SDIFFSTORE st4 mixed fresh2
        OBJECT ENCODING st4
        COPY i icopy
        OBJECT ENCODING icopy
        COPY mixed mcopy
        OBJECT ENCODING mcopy
        RENAME mixed renamed
        TYPE mixed
        OBJECT ENCODING renamed
        SCARD renamed
        EXPIRE renamed 100
        TTL renamed
        SADD renamed more
        TTL renamed
        SUNIONSTORE renamed renamed
        TTL renamed
        SET plain v
        COPY plain renamed
        COPY plain renamed REPLACE
        TYPE renamed
        DEL i icopy
        EXISTS i
        CONFIG SET set-max-intset-entries 3
        SADD lim 1 2 3
        OBJECT ENCODING lim
        SADD lim 4
        OBJECT ENCODING lim
        SREM lim 4 3
        OBJECT ENCODING lim
        CONFIG SET set-max-intset-entries 1000
        SADD big 1 2 3 4 5 6 7 8 9 10
        OBJECT ENCODING big
        SUNIONSTORE big2 big lim
        OBJECT ENCODING big2
        CONFIG SET set-max-intset-entries 512
        "#,
    );
    scan_unordered(&mut d, &["SCAN", "0", "TYPE", "set", "COUNT", "1000"]);
    unordered(&mut d, &["SMEMBERS", "renamed"]);
    unordered(&mut d, &["SMEMBERS", "mcopy"]);
    unordered(&mut d, &["KEYS", "*"]);
    // The intset limit: 512 integers stay an intset, the 513th converts for good.
    let ints: Vec<String> = (0..512).map(|i| (i * 7).to_string()).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(ints.iter().map(String::as_str));
    d.check(&args);
    d.script("OBJECT ENCODING big\nSADD big 100000\nOBJECT ENCODING big\nSREM big 100000 0 7\nOBJECT ENCODING big");
    // A result of more than 512 integers is a hashtable.
    d.script("SUNIONSTORE bigcopy big\nOBJECT ENCODING bigcopy\nSINTERSTORE small big i renamed\nEXISTS small");
    // PEXPIRE in the past deletes; a set with a TTL reads as missing once expired.
    d.script("SADD e a b\nPEXPIRE e 1\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    d.script(
        r#"
        SCARD e
        SISMEMBER e a
        SADD e c
        SCARD e
        TTL e
        "#,
    );
    unordered(&mut d, &["SMEMBERS", "e"]);
}

#[test]
fn spop_rebuild_reencodes_like_redis() {
    // SPOP with a count that leaves fewer than count/5 members rebuilds the
    // set from the survivors: all-integer survivors make an intset again.
    let mut d = Diff::new();
    for _ in 0..5 {
        d.script("DEL x\nSADD x a 1 2 3 4 5 6 7 8 9 10");
        let popped = members_of(&parse(&d.s.cmd(&["SPOP", "x", "10"])));
        assert_eq!(popped.len(), 10);
        // Make Redis hold the same survivor, rebuilt the same way.
        let left = members_of(&parse(&d.s.cmd(&["SMEMBERS", "x"])));
        assert_eq!(left.len(), 1);
        let expected = if text(&left[0]).parse::<i64>().is_ok() {
            "intset"
        } else {
            "hashtable"
        };
        let enc = String::from_utf8_lossy(&d.s.cmd(&["OBJECT", "ENCODING", "x"])).into_owned();
        assert!(enc.contains(expected), "{left:?} {enc}");
    }
    // Few popped: removal one by one keeps the hashtable.
    d.s.cmd(&["DEL", "y"]);
    d.s.cmd(&["SADD", "y", "a", "1", "2", "3", "4", "5"]);
    d.s.cmd(&["SPOP", "y", "1"]);
    let enc = d.s.cmd_str(&["OBJECT", "ENCODING", "y"]);
    assert!(enc.contains("hashtable"), "{enc}");
}

#[test]
fn random_members_follow_the_rules() {
    let mut d = Diff::new();
    let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "s"];
    args.extend(members.iter().map(String::as_str));
    d.check(&args);
    let all: HashSet<Vec<u8>> = members.iter().map(|m| m.as_bytes().to_vec()).collect();
    let s = &mut d.s;
    for count in [1i64, 5, 49, 50, 51, 1000] {
        let got = members_of(&parse(&s.cmd(&["SRANDMEMBER", "s", &count.to_string()])));
        assert_eq!(got.len() as i64, count.min(50), "count {count}");
        let distinct: HashSet<_> = got.iter().cloned().collect();
        assert_eq!(distinct.len(), got.len(), "distinct for count {count}");
        assert!(distinct.is_subset(&all));
    }
    for count in [-1i64, -5, -50, -200] {
        let got = members_of(&parse(&s.cmd(&["SRANDMEMBER", "s", &count.to_string()])));
        assert_eq!(got.len() as i64, -count);
        assert!(got.iter().all(|m| all.contains(m)));
    }
    // With repeats allowed, 200 picks out of 50 must repeat some member.
    let got = members_of(&parse(&s.cmd(&["SRANDMEMBER", "s", "-200"])));
    assert!(got.iter().collect::<HashSet<_>>().len() < 200);
    // Every member comes up eventually (small sets are sampled exactly).
    let mut seen = HashSet::new();
    for _ in 0..2000 {
        seen.extend(members_of(&parse(&s.cmd(&["SRANDMEMBER", "s"]))));
        if seen.len() == 50 {
            break;
        }
    }
    assert_eq!(seen.len(), 50, "single picks reach every member");
    // SPOP removes exactly what it returns; Redis removes the same members.
    let mut left = all.clone();
    for count in [0u64, 1, 3, 10, 100] {
        let reply = parse(&d.s.cmd(&["SPOP", "s", &count.to_string()]));
        let popped = members_of(&reply);
        assert_eq!(popped.len() as u64, count.min(left.len() as u64));
        for m in &popped {
            assert!(left.remove(m), "popped a member twice or a stranger");
            let removed = d.r.cmd(&["SREM", "s", text(m)]);
            assert_eq!(removed, b":1\r\n");
        }
        d.check(&["SCARD", "s"]);
    }
    d.check(&["EXISTS", "s"]);
    // SPOP without count, down to nothing.
    d.script("SADD p a b c");
    for _ in 0..3 {
        let m = members_of(&parse(&d.s.cmd(&["SPOP", "p"])));
        assert_eq!(m.len(), 1);
        assert_eq!(d.r.cmd(&["SREM", "p", text(&m[0])]), b":1\r\n");
    }
    d.script("SPOP p\nEXISTS p\nSRANDMEMBER p");
}

#[test]
fn sscan_matches_redis_and_walks_everything() {
    let mut d = Diff::new();
    d.script("SADD ints 3 1 2 10 -4\nSADD small a b c 1");
    // Intsets come back whole, whatever COUNT says.
    scan_unordered(&mut d, &["SSCAN", "ints", "0"]);
    scan_unordered(&mut d, &["SSCAN", "ints", "0", "COUNT", "1"]);
    scan_unordered(&mut d, &["SSCAN", "ints", "0", "MATCH", "1*", "COUNT", "1"]);
    scan_unordered(&mut d, &["SSCAN", "ints", "123", "COUNT", "1"]);
    // A small hashtable fits one page of the default COUNT.
    scan_unordered(&mut d, &["SSCAN", "small", "0"]);
    scan_unordered(&mut d, &["SSCAN", "small", "0", "MATCH", "[ab]"]);
    scan_unordered(
        &mut d,
        &["SSCAN", "small", "0", "match", "*", "count", "100"],
    );
    scan_unordered(&mut d, &["SSCAN", "missing", "0", "MATCH", "x"]);
    // Bigger sets: pages of COUNT members, cursors walk everything once.
    let members: Vec<String> = (0..1000).map(|i| format!("member:{i}")).collect();
    let mut args = vec!["SADD", "big"];
    args.extend(members.iter().map(String::as_str));
    d.check(&args);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls < 200, "SSCAN does not finish");
        let reply = parse(&d.s.cmd(&["SSCAN", "big", &cursor, "COUNT", "10"]));
        let Val::Agg('*', items) = reply else {
            panic!("{reply:?}")
        };
        let Val::Bulk(next) = &items[0] else {
            panic!("cursor {items:?}")
        };
        let page = members_of(&items[1]);
        assert!(page.len() <= 10);
        for m in page {
            assert!(seen.insert(m), "a member came back twice");
        }
        cursor = text(next).to_string();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 1000);
    assert_eq!(calls, 100, "COUNT 10 over 1000 members");
    // MATCH filters a page after the fact, so pages can be empty but the
    // walk still ends.
    let mut matched = 0;
    let mut cursor = "0".to_string();
    for _ in 0..200 {
        let reply = parse(&d.s.cmd(&[
            "SSCAN",
            "big",
            &cursor,
            "MATCH",
            "member:1?",
            "COUNT",
            "100",
        ]));
        let Val::Agg(_, items) = reply else { panic!() };
        matched += members_of(&items[1]).len();
        let Val::Bulk(next) = &items[0] else { panic!() };
        cursor = text(next).to_string();
        if cursor == "0" {
            break;
        }
    }
    assert_eq!((matched, cursor.as_str()), (10, "0"));
}

#[test]
fn seeded_random_sequence_matches_redis() {
    let mut d = Diff::new();
    let mut rng = Rng(0x5e75_2026);
    let keys = ["s1", "s2", "s3", "s4", "str"];
    let pool: Vec<String> = (0..12)
        .map(|i| i.to_string())
        .chain(["a", "b", "c", "-3", "007"].map(String::from))
        .collect();
    d.check(&["SET", "str", "v"]);
    for step in 0..1500 {
        let key = *rng.pick(&keys);
        let other = *rng.pick(&keys);
        let third = *rng.pick(&keys);
        let n = 1 + rng.below(4) as usize;
        let ms: Vec<&str> = (0..n).map(|_| rng.pick(&pool).as_str()).collect();
        let mut args: Vec<&str> = Vec::new();
        let mut order_free = false;
        match rng.below(16) {
            0..=2 => args.extend(["SADD", key]),
            3..=4 => args.extend(["SREM", key]),
            5 => args.extend(["SCARD", key]),
            6 => args.extend(["SISMEMBER", key, ms[0]]),
            7 => args.extend(["SMISMEMBER", key]),
            8 => {
                args.extend(["SMEMBERS", key]);
                order_free = true;
            }
            9 => {
                args.extend([*rng.pick(&["SINTER", "SUNION", "SDIFF"]), key, other, third]);
                order_free = true;
            }
            10 => args.extend([
                *rng.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
                key,
                other,
                third,
            ]),
            11 => args.extend(["SINTERCARD", "2", key, other, "LIMIT", "3"]),
            12 => args.extend(["SMOVE", key, other, ms[0]]),
            13 => args.extend(["OBJECT", "ENCODING", key]),
            14 => {
                args.extend(["SSCAN", key, "0", "COUNT", "1000"]);
                scan_unordered(&mut d, &args);
                continue;
            }
            _ => {
                // SPOP on Strata, the same members removed from Redis.
                let count = rng.below(4).to_string();
                let reply = d.s.cmd(&["SPOP", key, &count]);
                match parse(&reply) {
                    Val::Error(e) => {
                        assert_eq!(parse(&d.r.cmd(&["SPOP", key, &count])), Val::Error(e));
                    }
                    v => {
                        for m in members_of(&v) {
                            assert_eq!(d.r.cmd(&["SREM", key, text(&m)]), b":1\r\n", "step {step}");
                        }
                        // SREM does not rebuild as SPOP may: re-sync the encoding.
                        let enc_s = d.s.cmd(&["OBJECT", "ENCODING", key]);
                        let enc_r = d.r.cmd(&["OBJECT", "ENCODING", key]);
                        if enc_s != enc_r {
                            let all = members_of(&parse(&d.s.cmd(&["SMEMBERS", key])));
                            let words: Vec<&str> = all.iter().map(|m| text(m)).collect();
                            d.r.cmd(&["DEL", key]);
                            let mut sadd = vec!["SADD", key];
                            sadd.extend(words);
                            d.r.cmd(&sadd);
                        }
                        d.check(&["OBJECT", "ENCODING", key]);
                    }
                }
                continue;
            }
        }
        if matches!(args[0], "SADD" | "SREM" | "SMISMEMBER") {
            args.extend(ms.iter().copied());
        }
        if order_free {
            unordered(&mut d, &args);
        } else {
            d.check(&args);
        }
    }
    for key in keys {
        unordered(&mut d, &["SMEMBERS", key]);
    }
    d.check(&["DBSIZE"]);
}

#[test]
fn a_hundred_thousand_members() {
    let s = Strata::start();
    let mut c: Conn = s.conn();
    let n = 100_000usize;
    for chunk in 0..n / 1000 {
        let members: Vec<String> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| format!("m{i}"))
            .collect();
        let mut args = vec!["SADD", "big"];
        args.extend(members.iter().map(String::as_str));
        assert_eq!(c.cmd_str(&args), ":1000\r\n");
    }
    assert_eq!(c.cmd_str(&["SCARD", "big"]), ":100000\r\n");
    assert_eq!(
        c.cmd_str(&["OBJECT", "ENCODING", "big"]),
        "$9\r\nhashtable\r\n"
    );
    for m in ["m0", "m99999", "m50000", "m12345"] {
        assert_eq!(c.cmd_str(&["SISMEMBER", "big", m]), ":1\r\n", "{m}");
    }
    for m in ["m100000", "m", "x", "m-1"] {
        assert_eq!(c.cmd_str(&["SISMEMBER", "big", m]), ":0\r\n", "{m}");
    }
    assert_eq!(c.cmd_str(&["SADD", "big", "m7", "m8", "new"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["SCARD", "big"]), ":100001\r\n");
    assert_eq!(c.cmd_str(&["SREM", "big", "new", "m1", "nope"]), ":2\r\n");
    assert_eq!(c.cmd_str(&["SCARD", "big"]), ":99999\r\n");
    // Random picks on a big set go by seeks: distinct, members, right count.
    for count in ["1", "10", "1000"] {
        let got = members_of(&parse(&c.cmd(&["SRANDMEMBER", "big", count])));
        assert_eq!(got.len().to_string(), count);
        assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len());
        let mut args = vec!["SMISMEMBER", "big"];
        args.extend(got.iter().map(|m| text(m)));
        let flags = parse(&c.cmd(&args));
        assert_eq!(flags, Val::Agg('*', vec![Val::Int(1); got.len()]));
    }
    let got = members_of(&parse(&c.cmd(&["SRANDMEMBER", "big", "-500"])));
    assert_eq!(got.len(), 500);
    // Single picks spread over the set, not stuck on a few members.
    let picks: HashSet<Vec<u8>> = (0..200)
        .flat_map(|_| members_of(&parse(&c.cmd(&["SRANDMEMBER", "big"]))))
        .collect();
    assert!(
        picks.len() > 150,
        "only {} distinct of 200 picks",
        picks.len()
    );
    let popped = members_of(&parse(&c.cmd(&["SPOP", "big", "2000"])));
    assert_eq!(popped.len(), 2000);
    assert_eq!(popped.iter().collect::<HashSet<_>>().len(), 2000);
    assert_eq!(c.cmd_str(&["SCARD", "big"]), ":97999\r\n");
    let mut args = vec!["SMISMEMBER", "big"];
    args.extend(popped.iter().take(100).map(|m| text(m)));
    assert_eq!(parse(&c.cmd(&args)), Val::Agg('*', vec![Val::Int(0); 100]));
    // Algebra against a small set, and a limited SINTERCARD.
    c.cmd(&["SADD", "few", "m5", "m6", "zz"]);
    let both = parse(&c.cmd(&["SINTERCARD", "2", "big", "few"]));
    assert!(matches!(both, Val::Int(0..=2)), "{both:?}");
    assert_eq!(
        c.cmd_str(&["SINTERCARD", "1", "big", "LIMIT", "10"]),
        ":10\r\n"
    );
    let rest = parse(&c.cmd(&["SDIFFSTORE", "rest", "few", "big"]));
    assert!(matches!(rest, Val::Int(1..=3)), "{rest:?}");
    assert_eq!(c.cmd_str(&["SUNIONSTORE", "copy", "big"]), ":97999\r\n");
    assert_eq!(c.cmd_str(&["SCARD", "copy"]), ":97999\r\n");
    assert!(c
        .cmd_str(&["SPOP", "copy", "100000"])
        .starts_with("*97999\r\n"));
    assert_eq!(c.cmd_str(&["EXISTS", "copy"]), ":0\r\n");
}

/// INFO keyspace_hits/keyspace_misses after set reads, as Redis counts them.
#[test]
fn keyspace_hits_and_misses_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        SADD st a b c
        SET s v
        SCARD st
        SCARD nokey
        SISMEMBER st a
        SISMEMBER nokey a
        SISMEMBER s a
        SMISMEMBER st a z
        SMEMBERS nokey
        SRANDMEMBER nokey
        SRANDMEMBER nokey 2
        SINTER st nokey
        SUNION nokey nokey2
        SDIFF nokey st
        SINTERCARD 2 st nokey
        SINTERSTORE d st nokey
        SUNIONSTORE d2 st
        SSCAN st 0 MATCH zz*
        SSCAN nokey 0
        SMOVE st other a
        SMOVE nokey other a
        SADD st q
        SREM nokey a
        SPOP nokey
        SORT st ALPHA
        SINTER st s nokey
        SUNIONSTORE d4 nokey s st
        SINTERCARD 3 st s nokey
        ZUNION 3 st s nokey
        "#,
    );
    d.assert_keyspace_stats_match();
}
