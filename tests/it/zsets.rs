//! Sorted-set commands against a real redis-server: every command, option
//! and error must reply byte for byte as Redis 7.0 does, in RESP2 and RESP3.
//! Random and large-set tests are in `zsets_scale`.

use crate::common::Diff;

const ADD: &str = r#"
    ZADD z 1 a 2 b 3 c
    ZADD z 1 a
    ZADD z 10 a 1 a
    ZSCORE z a
    ZADD z -0 zero
    ZSCORE z zero
    ZADD z 1e17 big 0.1 tenth 1.5e-10 tiny +inf top -inf bottom
    ZRANGE z 0 -1 WITHSCORES
    ZADD z 0x10 hex
    ZSCORE z hex
    ZADD z nan x
    ZADD z 1e400 x
    ZADD z " 1" x
    ZADD z "1 " x
    ZADD z "" x
    ZADD z abc x
    ZADD z 1 a 2
    ZADD z
    ZADD z 1
    ZADD z CH
    ZADD z NX
    ZADD z NX 1
    ZADD z XX NX 1 a
    ZADD z NX GT 1 a
    ZADD z LT NX 1 a
    ZADD z GT LT 1 a
    ZADD z INCR 1 a 2 b
    ZADD z INCR nan a
    ZADD z NX 100 a 5 newnx
    ZSCORE z a
    ZADD z XX 100 a 5 newxx
    ZSCORE z newxx
    ZADD z CH 100 a 7 b 8 chnew
    ZADD z CH XX 100 a 8 b
    ZADD z GT CH 50 a 200 b
    ZADD z LT CH 50 a 200 b
    ZADD z GT 1 gtnew
    ZADD z LT 1 ltnew
    ZADD z INCR 5 a
    ZADD z INCR -5 brandnew
    ZADD z NX INCR 5 a
    ZADD z XX INCR 5 missing
    ZADD z GT INCR -1 a
    ZADD z LT INCR -1 a
    ZADD z LT INCR 1 a
    ZADD z nx xx ch incr gt lt 1 a
    zadd z ch nx 1 lower
    ZADD nokey XX 1 a
    EXISTS nokey
    ZADD nokey XX INCR 1 a
    EXISTS nokey
    ZADD inf +inf a
    ZINCRBY inf -inf a
    ZADD inf INCR -inf a
    ZSCORE inf a
    ZINCRBY inf 1 a
    ZINCRBY z 2.5 a
    ZINCRBY z 1 newmember
    ZINCRBY z abc a
    ZINCRBY z nan a
    ZINCRBY z 1
    ZINCRBY z 1 a b
    ZINCRBY q -0 m
    ZSCORE q m
    ZADD q INCR -0 n
    ZADD dup 1 m 2 m 3 m
    ZRANGE dup 0 -1 WITHSCORES
    ZADD dup CH 5 n 5 n 6 n
    ZRANGE dup 0 -1 WITHSCORES
    ZADD dup INCR 1 m
    ZADD z 1 ""
    ZSCORE z ""
    ZCARD z
    ZCARD nokey
    ZCARD
    ZCARD z extra
"#;

const POINT: &str = r#"
    ZADD z 1 a 2 b 3 c 3 d -1 e 0.5 f
    ZSCORE z a
    ZSCORE z nosuch
    ZSCORE nokey a
    ZSCORE z
    ZMSCORE z a nosuch b
    ZMSCORE nokey a b
    ZMSCORE z
    ZRANK z e
    ZRANK z a
    ZRANK z c
    ZRANK z d
    ZRANK z nosuch
    ZRANK nokey a
    ZREVRANK z e
    ZREVRANK z d
    ZREVRANK z nosuch
    ZRANK z
    ZRANK z a b
    ZREM z a nosuch b a
    ZRANGE z 0 -1 WITHSCORES
    ZREM z
    ZREM nokey a
    ZREM z c d e f
    EXISTS z
    ZCARD z
"#;

const RANGES: &str = r#"
    ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g 7 h 7 i
    ZRANGE z 0 -1
    ZRANGE z 0 -1 WITHSCORES
    ZRANGE z 2 4
    ZRANGE z -3 -1
    ZRANGE z -100 100
    ZRANGE z 5 2
    ZRANGE z 100 200
    ZRANGE z -1 -3
    ZRANGE z 0 0 WITHSCORES
    ZRANGE z 0 -1 REV
    ZRANGE z 1 3 REV WITHSCORES
    ZREVRANGE z 0 -1
    ZREVRANGE z 0 2 WITHSCORES
    ZREVRANGE z -2 -1
    ZREVRANGE z 0 1 REV
    ZREVRANGE z 0 1 BYSCORE
    ZREVRANGE z 0 1 LIMIT 0 1
    ZRANGE z a 1
    ZRANGE z 0 b
    ZRANGE z 0 -1 withscores withscores
    ZRANGE z 0 -1 REV REV
    ZRANGE z 0 -1 FOO
    ZRANGE z 0 -1 LIMIT 0 1
    ZRANGE z 0 -1 LIMIT 0 -1
    ZRANGE z 0 -1 LIMIT 0 -2
    ZRANGE z 0 -1 LIMIT 0
    ZRANGE z 0 -1 LIMIT a 1
    ZRANGE z 2 5 BYSCORE
    ZRANGE z (2 5 BYSCORE WITHSCORES
    ZRANGE z 2 (5 BYSCORE
    ZRANGE z (2 (2 BYSCORE
    ZRANGE z 2 2 BYSCORE
    ZRANGE z -inf +inf BYSCORE
    ZRANGE z -inf inf BYSCORE LIMIT 2 3
    ZRANGE z -inf inf BYSCORE LIMIT 2 -1
    ZRANGE z -inf inf BYSCORE LIMIT -1 3
    ZRANGE z -inf inf BYSCORE LIMIT 0 0
    ZRANGE z -inf inf BYSCORE LIMIT 100 1
    ZRANGE z 5 2 BYSCORE REV
    ZRANGE z 5 2 BYSCORE REV WITHSCORES LIMIT 1 2
    ZRANGE z 2 5 BYSCORE REV
    ZRANGE z (7 -inf BYSCORE REV
    ZRANGE z 7 7 BYSCORE REV
    ZRANGE z a 5 BYSCORE
    ZRANGE z 1 ( BYSCORE
    ZRANGE z ( 5 BYSCORE
    ZRANGEBYSCORE z "" 5
    ZCOUNT z "" "("
    ZRANGE z 1 nan BYSCORE
    ZRANGE z " 1" 3 BYSCORE
    ZRANGE z 1 0x3 BYSCORE
    ZRANGE z 1 1e400 BYSCORE
    ZRANGE z 0 -1 BYSCORE BYLEX
    ZRANGE z 0 -1 BYSCORE BYSCORE
    ZRANGEBYSCORE z 2 5
    ZRANGEBYSCORE z 2 5 WITHSCORES LIMIT 1 2
    ZRANGEBYSCORE z -inf +inf LIMIT 3 -5
    ZRANGEBYSCORE z (1 (7
    ZRANGEBYSCORE z 2 5 BYSCORE
    ZRANGEBYSCORE z 2 5 REV
    ZRANGEBYSCORE z 2 5 LIMIT 1
    ZRANGEBYSCORE z 2 5 LIMIT x 1
    ZRANGEBYSCORE z x 5
    ZRANGEBYSCORE z 2
    ZREVRANGEBYSCORE z 5 2
    ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 0 4
    ZREVRANGEBYSCORE z (7 (2
    ZREVRANGEBYSCORE z 2 5
    ZRANGEBYSCORE nokey 0 1
    ZREVRANGEBYSCORE nokey 0 1 WITHSCORES
    ZCOUNT z 2 5
    ZCOUNT z (2 (5
    ZCOUNT z -inf +inf
    ZCOUNT z 5 2
    ZCOUNT z 7 7
    ZCOUNT nokey 0 1
    ZCOUNT z a 1
    ZCOUNT z 1 (x
    ZCOUNT z 1
    ZRANGE z -9223372036854775808 9223372036854775807
    ZRANGE z -9223372036854775808 9223372036854775807 REV
    ZRANGE z 9223372036854775807 -9223372036854775808
    ZRANGE z 0 99999999999999999999
    ZRANGEBYSCORE z -inf +inf LIMIT 9223372036854775807 9223372036854775807
    ZRANGEBYSCORE z -inf +inf LIMIT 1 9223372036854775807
    ZREVRANGEBYSCORE z +inf -inf LIMIT 0 -9223372036854775808
    ZREMRANGEBYRANK nokey -9223372036854775808 9223372036854775807
    ZCOUNT z -1e400 1e400
    ZCOUNT z (-inf (+inf
    ZCOUNT z -inf +inf
    ZLEXCOUNT z - +
"#;

const LEX: &str = r#"
    ZADD l 0 a 0 b 0 c 0 d 0 e 0 f 0 g 0 aa 0 "" 0 ba
    ZRANGEBYLEX l - +
    ZRANGEBYLEX l [b [e
    ZRANGEBYLEX l (b (e
    ZRANGEBYLEX l [b (b
    ZRANGEBYLEX l [b [b
    ZRANGEBYLEX l (a +
    ZRANGEBYLEX l - [a
    ZRANGEBYLEX l [ [b
    ZRANGEBYLEX l ( +
    ZRANGEBYLEX l + -
    ZRANGEBYLEX l - -
    ZRANGEBYLEX l + +
    ZRANGEBYLEX l [e [b
    ZRANGEBYLEX l - + LIMIT 2 3
    ZRANGEBYLEX l - + LIMIT 2 -1
    ZRANGEBYLEX l - + LIMIT -2 3
    ZRANGEBYLEX l - + WITHSCORES
    ZRANGEBYLEX l a b
    ZRANGEBYLEX l [a b
    ZRANGEBYLEX l -a +
    ZRANGEBYLEX l - +b
    ZRANGEBYLEX l - + BYLEX
    ZREVRANGEBYLEX l + -
    ZREVRANGEBYLEX l [e [b
    ZREVRANGEBYLEX l (e (b
    ZREVRANGEBYLEX l [b [e
    ZREVRANGEBYLEX l + - LIMIT 1 2
    ZREVRANGEBYLEX l (zzz (a
    ZRANGE l [b [d BYLEX
    ZRANGE l [d [b BYLEX REV
    ZRANGE l - + BYLEX LIMIT 1 1
    ZRANGE l - + BYLEX WITHSCORES
    ZRANGE l 0 -1 BYLEX
    ZLEXCOUNT l - +
    ZLEXCOUNT l [b (e
    ZLEXCOUNT l (e [b
    ZLEXCOUNT l a b
    ZLEXCOUNT nokey - +
    ZADD mixed 1 z 2 y 3 x 4 w 0 m
    ZRANGEBYLEX mixed - +
    ZRANGEBYLEX mixed [x +
    ZRANGEBYLEX mixed [a [y
    ZREVRANGEBYLEX mixed [y -
    ZLEXCOUNT mixed [n +
    ZREMRANGEBYLEX l [b (d
    ZRANGE l 0 -1
    ZREMRANGEBYLEX l a b
    ZREMRANGEBYLEX l - +
    EXISTS l
    ZREMRANGEBYLEX nokey - +
"#;

const REMOVE_POP: &str = r#"
    ZADD z 1 a 2 b 3 c 4 d 5 e 6 f 7 g
    ZREMRANGEBYRANK z 0 1
    ZRANGE z 0 -1
    ZREMRANGEBYRANK z -2 -1
    ZRANGE z 0 -1
    ZREMRANGEBYRANK z 5 10
    ZREMRANGEBYRANK z 2 1
    ZREMRANGEBYRANK z a 1
    ZREMRANGEBYRANK z 1
    ZREMRANGEBYRANK nokey 0 -1
    ZADD z 10 x 20 y 30 w
    ZREMRANGEBYSCORE z (3 20
    ZRANGE z 0 -1 WITHSCORES
    ZREMRANGEBYSCORE z x 1
    ZREMRANGEBYSCORE z 100 200
    ZREMRANGEBYSCORE z -inf +inf
    EXISTS z
    ZADD p 1 a 2 b 3 c 4 d 5 e
    ZPOPMIN p
    ZPOPMAX p
    ZPOPMIN p 2
    ZPOPMAX p 0
    ZPOPMIN p -1
    ZPOPMIN p x
    ZPOPMIN p 1 2
    ZPOPMAX p 10
    EXISTS p
    ZPOPMIN p
    ZPOPMIN p 3
    ZPOPMAX nokey
    ZADD p 1 a 2 b 3 c
    ZMPOP 1 p MIN
    ZMPOP 1 p MAX COUNT 10
    EXISTS p
    ZMPOP 1 p MIN
    ZADD p2 1 a 2 b 3 c
    ZMPOP 3 nokey p p2 MAX COUNT 2
    ZMPOP 2 nokey p MIN
    ZMPOP 0 p MIN
    ZMPOP -1 p MIN
    ZMPOP x p MIN
    ZMPOP 1 p
    ZMPOP 1 p2 FOO
    ZMPOP 2 p2 MIN
    ZMPOP 1 p2 MIN COUNT 0
    ZMPOP 1 p2 MIN COUNT -1
    ZMPOP 1 p2 MIN COUNT x
    ZMPOP 1 p2 MIN COUNT
    ZMPOP 1 p2 MIN COUNT 1 COUNT 1
    ZMPOP 1 p2 min count 1
"#;

const ALGEBRA: &str = r#"
    ZADD a 1 x 2 y 3 z
    ZADD b 10 y 20 z 30 w
    ZUNION 2 a b
    ZUNION 2 a b WITHSCORES
    ZUNION 2 a b WEIGHTS 2 3 WITHSCORES
    ZUNION 2 a b AGGREGATE MIN WITHSCORES
    ZUNION 2 a b AGGREGATE max WITHSCORES
    ZUNION 2 a b WEIGHTS 1 -1 AGGREGATE SUM WITHSCORES
    ZUNION 2 a nokey WITHSCORES
    ZUNION 1 nokey
    ZUNION 2 a b WITHSCORES WITHSCORES
    ZUNION 2 a b WEIGHTS 1 2 WEIGHTS 3 4 WITHSCORES
    ZUNION 2 a b AGGREGATE
    ZUNION 2 a b AGGREGATE avg
    ZUNION 2 a b WEIGHTS 1
    ZUNION 2 a b WEIGHTS 1 x
    ZUNION 2 a b WEIGHTS 1 nan
    ZUNION 2 a b WEIGHTS 1 " 2"
    ZUNION 0 a
    ZUNION -1 a
    ZUNION x a
    ZUNION 3 a b
    ZUNION 1 a FOO
    ZUNION 2 a str
    ZUNION 2 str a FOO
    ZINTER 2 a b WITHSCORES
    ZINTER 2 a b WEIGHTS 2 0.5 AGGREGATE MAX WITHSCORES
    ZINTER 2 a nokey
    ZINTER 1 a
    ZDIFF 2 a b WITHSCORES
    ZDIFF 1 a WITHSCORES
    ZDIFF 2 nokey a
    ZDIFF 2 a b WEIGHTS 1 1
    ZDIFF 2 a b AGGREGATE SUM
    ZUNIONSTORE d 2 a b
    ZRANGE d 0 -1 WITHSCORES
    ZUNIONSTORE d 2 a b WEIGHTS 0 0
    ZRANGE d 0 -1 WITHSCORES
    ZUNIONSTORE d 2 a b WITHSCORES
    ZINTERSTORE d 2 a b AGGREGATE MIN
    ZRANGE d 0 -1 WITHSCORES
    ZINTERSTORE d 2 a nokey
    EXISTS d
    ZDIFFSTORE d 2 b a
    ZRANGE d 0 -1 WITHSCORES
    ZDIFFSTORE d 2 a a
    EXISTS d
    SET str v
    ZUNIONSTORE str 1 a
    TYPE str
    ZUNIONSTORE d 1 str
    ZUNIONSTORE d 0 a
    ZINTERSTORE d -1 a
    ZDIFFSTORE d 0 a
    ZUNIONSTORE d 2 a
    ZUNIONSTORE d
    ZUNIONSTORE a 2 a b
    ZRANGE a 0 -1 WITHSCORES
    ZINTERCARD 2 a b
    ZINTERCARD 2 a b LIMIT 1
    ZINTERCARD 2 a b LIMIT 0
    ZINTERCARD 1 nokey
    ZINTERCARD 2 a b LIMIT -1
    ZINTERCARD 2 a b LIMIT x
    ZINTERCARD 2 a b LIMIT
    ZINTERCARD 2 a b WITHSCORES
    ZINTERCARD 0 a
    ZINTERCARD 3 a b
    ZINTERCARD x a
    ZINTERCARD 2 a str
    ZADD zero 0 m
    ZUNION 1 zero WEIGHTS -1 WITHSCORES
    ZADD inf1 +inf m
    ZADD inf2 -inf m
    ZUNION 2 inf1 inf2 WITHSCORES
    ZINTER 2 inf1 inf2 WITHSCORES
    ZUNION 2 inf1 inf2 WEIGHTS 0 1 WITHSCORES
    ZINTER 2 inf1 inf2 WEIGHTS 0 1 AGGREGATE MAX WITHSCORES
"#;

const STORE_RANGE: &str = r#"
    ZADD src 1 a 2 b 3 c 4 d 5 e
    ZRANGESTORE dst src 0 2
    ZRANGE dst 0 -1 WITHSCORES
    ZRANGESTORE dst src 2 4 BYSCORE REV
    ZRANGESTORE dst src 4 2 BYSCORE REV
    ZRANGE dst 0 -1 WITHSCORES
    ZRANGESTORE dst src (1 +inf BYSCORE LIMIT 1 2
    ZRANGE dst 0 -1 WITHSCORES
    ZRANGESTORE dst src [a [c BYLEX
    ZRANGE dst 0 -1
    ZRANGESTORE dst src 10 20
    EXISTS dst
    ZRANGESTORE dst nokey 0 -1
    ZRANGESTORE dst src 0 -1 WITHSCORES
    ZRANGESTORE dst src 0 -1 LIMIT 0 1
    ZRANGESTORE dst src 0
    SET str v
    ZRANGESTORE dst str 0 -1
    ZRANGESTORE str src 0 1
    TYPE str
    ZRANGESTORE src src 1 2
    ZRANGE src 0 -1 WITHSCORES
"#;

const WRONGTYPE: &str = r#"
    SET str v
    ZADD str 1 a
    ZINCRBY str 1 a
    ZCARD str
    ZCOUNT str 0 1
    ZCOUNT str x 1
    ZLEXCOUNT str - +
    ZSCORE str a
    ZMSCORE str a
    ZRANK str a
    ZREVRANK str a
    ZRANGE str 0 -1
    ZRANGE str 0 -1 FOO
    ZRANGEBYSCORE str 0 1
    ZREVRANGEBYSCORE str 1 0
    ZRANGEBYLEX str - +
    ZREVRANGEBYLEX str + -
    ZREVRANGE str 0 -1
    ZREM str a
    ZREMRANGEBYRANK str 0 -1
    ZREMRANGEBYSCORE str 0 1
    ZREMRANGEBYLEX str - +
    ZPOPMIN str
    ZPOPMAX str 2
    ZMPOP 1 str MIN
    ZRANDMEMBER str
    ZRANDMEMBER str 2
    ZUNION 1 str
    ZINTER 1 str
    ZDIFF 1 str
    ZINTERCARD 1 str
    ZSCAN str 0
    ZSCAN str x
    ZADD z 1 a
    ZADD z XX 1 a
    GET z
"#;

const SCAN_SMALL: &str = r#"
    ZADD z 1 a 2 b 1e17 big 0.1 tenth -3 neg inf i -inf ni
    ZSCAN z 0
    ZSCAN z 0 COUNT 1
    ZSCAN z 0 MATCH b*
    ZSCAN z 0 MATCH *e* COUNT 100
    ZSCAN z 0 COUNT 0
    ZSCAN z 0 COUNT x
    ZSCAN z 0 FOO bar
    ZSCAN z 0 TYPE zset
    ZSCAN z 0 MATCH
    ZSCAN z x
    ZSCAN z -1
    ZSCAN nokey 0
    ZSCAN nokey 0 FOO
    ZSCAN z
"#;

const RANDMEMBER_ERRORS: &str = r#"
    ZADD rz 1 a 2 b 3 c
    ZRANDMEMBER rz 0
    ZRANDMEMBER rz 0 WITHSCORES
    ZRANDMEMBER rz x
    ZRANDMEMBER rz 1 FOO
    ZRANDMEMBER rz 1 WITHSCORES FOO
    ZRANDMEMBER rz -9223372036854775808
    ZRANDMEMBER rz -9223372036854775807 WITHSCORES
    ZRANDMEMBER rz -4611686018427387904 WITHSCORES
    ZRANDMEMBER nokey
    ZRANDMEMBER nokey 3
    ZRANDMEMBER nokey -3 WITHSCORES
    ZRANDMEMBER nokey -9223372036854775807
    ZADD one 5 only
    ZRANDMEMBER one
    ZRANDMEMBER one 3 WITHSCORES
    ZRANDMEMBER one -3 WITHSCORES
"#;

const GENERIC: &str = r#"
    ZADD z 1 a 2 b 3 c
    TYPE z
    OBJECT ENCODING z
    EXPIRE z 100
    TTL z
    RENAME z z2
    ZRANGE z2 0 -1 WITHSCORES
    EXISTS z
    TTL z2
    COPY z2 z3
    ZADD z3 4 d
    ZRANGE z2 0 -1
    ZRANGE z3 0 -1
    COPY z2 z3
    COPY z2 z3 REPLACE
    ZRANGE z3 0 -1
    PERSIST z2
    TTL z2
    DEL z2
    ZCARD z2
    ZADD z2 5 e
    ZRANGE z2 0 -1 WITHSCORES
    RENAME z3 z2
    ZRANGE z2 0 -1
"#;

const SCRIPTS: &[&str] = &[
    ADD,
    POINT,
    RANGES,
    LEX,
    REMOVE_POP,
    ALGEBRA,
    STORE_RANGE,
    WRONGTYPE,
    SCAN_SMALL,
    RANDMEMBER_ERRORS,
    GENERIC,
];

#[test]
fn zadd_and_zincrby_match_redis() {
    Diff::new().script(ADD);
}

#[test]
fn point_commands_match_redis() {
    Diff::new().script(POINT);
}

#[test]
fn rank_and_score_ranges_match_redis() {
    Diff::new().script(RANGES);
}

#[test]
fn lex_ranges_match_redis() {
    Diff::new().script(LEX);
}

#[test]
fn removals_and_pops_match_redis() {
    Diff::new().script(REMOVE_POP);
}

#[test]
fn union_inter_diff_match_redis() {
    Diff::new().script(ALGEBRA);
}

#[test]
fn zrangestore_matches_redis() {
    Diff::new().script(STORE_RANGE);
}

#[test]
fn wrongtype_and_small_scans_match_redis() {
    let mut d = Diff::new();
    d.script(WRONGTYPE);
    d.script(SCAN_SMALL);
    d.script(RANDMEMBER_ERRORS);
    // A count of at least the size returns the whole set, in no set order.
    d.check_unordered(&["ZRANDMEMBER", "rz", "5"]);
    d.check_pairs(&["ZRANDMEMBER", "rz", "3", "WITHSCORES"]);
    d.resp3();
    d.check_unordered(&["ZRANDMEMBER", "rz", "5"]);
    d.check_pairs(&["ZRANDMEMBER", "rz", "3", "WITHSCORES"]);
}

#[test]
fn generic_key_commands_work_on_zsets() {
    Diff::new().script(GENERIC);
}

#[test]
fn every_script_matches_redis_in_resp3() {
    let mut d = Diff::new();
    d.resp3();
    for s in SCRIPTS {
        d.check(&["FLUSHALL"]);
        d.script(s);
    }
}

#[test]
fn wrong_arity_errors_name_the_command() {
    let mut d = Diff::new();
    for cmd in [
        "ZADD",
        "ZINCRBY",
        "ZCARD",
        "ZCOUNT",
        "ZLEXCOUNT",
        "ZSCORE",
        "ZMSCORE",
        "ZRANK",
        "ZREVRANK",
        "ZRANGE",
        "ZRANGEBYSCORE",
        "ZREVRANGEBYSCORE",
        "ZRANGEBYLEX",
        "ZREVRANGEBYLEX",
        "ZREVRANGE",
        "ZRANGESTORE",
        "ZREM",
        "ZREMRANGEBYRANK",
        "ZREMRANGEBYSCORE",
        "ZREMRANGEBYLEX",
        "ZPOPMIN",
        "ZPOPMAX",
        "ZMPOP",
        "ZRANDMEMBER",
        "ZUNION",
        "ZINTER",
        "ZDIFF",
        "ZUNIONSTORE",
        "ZINTERSTORE",
        "ZDIFFSTORE",
        "ZINTERCARD",
        "ZSCAN",
    ] {
        d.check(&[cmd]);
        d.check(&[cmd, "k"]);
    }
}

#[test]
fn command_info_matches_redis() {
    let mut d = Diff::new();
    for cmd in [
        "zadd",
        "zincrby",
        "zcard",
        "zcount",
        "zscore",
        "zrange",
        "zrangestore",
        "zrem",
        "zremrangebyrank",
        "zpopmin",
        "zrandmember",
        "zscan",
    ] {
        // Arity, flags and first/last/step (the first 6 lines of the reply).
        let (s, r) = d.both(&["COMMAND", "INFO", cmd]);
        let head = |b: &[u8]| {
            let mut lines = 0;
            let end = b
                .windows(2)
                .position(|w| {
                    lines += (w == b"\r\n") as usize;
                    lines == 16
                })
                .unwrap_or(b.len());
            b[..end].to_vec()
        };
        assert!(
            head(&s) == head(&r),
            "COMMAND INFO {cmd}\n  Strata: {}\n  Redis:  {}",
            crate::common::show_bytes(&s),
            crate::common::show_bytes(&r)
        );
    }
}

/// An expired sorted set reads as missing, and a write re-creates it empty
/// (old members must not resurface); key counters stay exact.
#[test]
fn expired_zsets_are_missing_and_recreated_fresh() {
    let mut d = Diff::new();
    d.script(
        r#"
        ZADD e 1 a 2 b
        ZADD e2 1 a 2 b
        ZADD e3 1 a
        PEXPIRE e 50
        PEXPIRE e2 50
        PEXPIRE e3 50
    "#,
    );
    std::thread::sleep(std::time::Duration::from_millis(120));
    d.script(
        r#"
        ZCARD e
        ZSCORE e a
        ZRANGE e 0 -1
        ZADD e2 3 c
        ZRANGE e2 0 -1 WITHSCORES
        ZCARD e2
        TTL e2
        ZUNIONSTORE e3 1 e2
        ZRANGE e3 0 -1 WITHSCORES
        DBSIZE
    "#,
    );
}

/// INFO keyspace_hits/keyspace_misses after zset reads, as Redis counts
/// them (lookupKeyRead: a key of another type is a hit; writes count nothing).
#[test]
fn keyspace_hits_and_misses_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        ZADD z 1 a 2 b 3 c
        SET s v
        ZCARD z
        ZCARD nokey
        ZSCORE z a
        ZSCORE z nosuch
        ZSCORE nokey a
        ZSCORE s a
        ZMSCORE z a nosuch
        ZMSCORE nokey a
        ZRANK z b
        ZREVRANK nokey b
        ZCOUNT z -inf +inf
        ZCOUNT nokey 0 1
        ZLEXCOUNT z - +
        ZRANGE z 0 -1
        ZRANGE nokey 0 -1
        ZRANGEBYSCORE z 1 2
        ZREVRANGEBYLEX nokey + -
        ZADD one 1 x
        ZRANDMEMBER one
        ZRANDMEMBER nokey 2
        ZSCAN z 0
        ZSCAN nokey 0
        ZRANGESTORE dst z 0 1
        ZRANGESTORE dst2 nokey 0 1
        ZUNION 2 z nokey
        ZINTER 2 z z
        ZDIFF 2 nokey z
        ZINTERCARD 2 z nokey
        ZUNIONSTORE u 2 z nokey
        ZADD z 4 d
        ZINCRBY z 1 a
        ZREM nokey a
        ZPOPMIN nokey
        ZUNION 3 z s nokey
        ZINTERSTORE i 3 nokey s z
        ZRANGE z 0 -1 BYLEX
        ZRANGE z 0 1 LIMIT 0 1
        ZCOUNT z x 1
        ZRANDMEMBER z abc
        ZSCAN nokey x
        ZSCAN z 0 COUNT 0
        ZUNION 2 z nokey WEIGHTS 1
        ZMSCORE s a
        "#,
    );
    d.assert_keyspace_stats_match();
}
