//! Seeded random sequences that mix every data type on one small keyspace,
//! so commands constantly meet keys of other types (WRONGTYPE), missing
//! keys, emptied collections, expired keys and renamed ones. Replies must
//! match a real redis-server byte for byte, except where Redis leaves the
//! order unspecified (hash and set members), which is compared as a
//! multiset, and commands whose reply is random, which are not generated
//! with counts that make them random.
//!
//! Commands are templates: `HSET K F V` draws a key, a field and a value
//! from small pools, so a few hundred steps revisit the same keys often.
//! Replay one seed with `STRATA_DIFF_SEED=n`.

use std::collections::VecDeque;

use crate::common::{sorted_elements, Conn, Diff, Rng};

const KEYS: &[&str] = &["a", "b", "c", "d", "s"];
const FIELDS: &[&str] = &["f1", "f2", "f3", "x", "1", "-2"];
const VALUES: &[&str] = &["1", "v", "-2", "3.5", "", "10"];
const INTS: &[&str] = &["0", "1", "-1", "2", "-3", "10", "abc", "100"];
const SCORES: &[&str] = &["1", "2.5", "-1", "inf", "-inf", "0", "3", "x", "nan"];
const RANGES: &[&str] = &["-inf", "+inf", "(1", "2", "(2.5", "0", "x"];
const LEX: &[&str] = &["-", "+", "[f1", "(f2", "[x", "f3"];
const ENDS: &[&str] = &["LEFT", "RIGHT"];
const MINMAX: &[&str] = &["MIN", "MAX"];

/// One template per line: K key, F field/member, V value, I integer,
/// S score, R score bound, L lex bound, E LEFT|RIGHT, M MIN|MAX.
const TEMPLATES: &[&str] = &[
    // strings and keys
    "SET K V",
    "GET K",
    "INCR K",
    "APPEND K V",
    "DEL K",
    "DEL K K",
    "EXISTS K K",
    "TYPE K",
    "RENAME K K",
    "RENAMENX K K",
    "COPY K K",
    "COPY K K REPLACE",
    "EXPIRE K 100",
    "EXPIRE K 0",
    "PERSIST K",
    "OBJECT ENCODING K",
    // hashes
    "HSET K F V",
    "HSET K F V F V",
    "HSETNX K F V",
    "HGET K F",
    "HMGET K F F",
    "HMSET K F V",
    "HDEL K F",
    "HDEL K F F",
    "HLEN K",
    "HSTRLEN K F",
    "HEXISTS K F",
    "HKEYS K",
    "HVALS K",
    "HGETALL K",
    "HINCRBY K F I",
    "HINCRBYFLOAT K F S",
    "HRANDFIELD K 0",
    // lists
    "LPUSH K V",
    "RPUSH K V V",
    "LPUSHX K V",
    "RPUSHX K V",
    "LPOP K",
    "RPOP K I",
    "LLEN K",
    "LRANGE K I I",
    "LINDEX K I",
    "LSET K I V",
    "LINSERT K BEFORE V V",
    "LINSERT K AFTER V V",
    "LREM K I V",
    "LTRIM K I I",
    "LPOS K V",
    "LPOS K V RANK I COUNT I",
    "LMOVE K K E E",
    "RPOPLPUSH K K",
    "LMPOP 2 K K E",
    "LMPOP 1 K E COUNT I",
    "BLPOP K K 0.001",
    "BRPOP K 0.001",
    "BLMOVE K K E E 0.001",
    "BLMPOP 0.001 2 K K E COUNT 2",
    // sets
    "SADD K F",
    "SADD K F F F",
    "SREM K F",
    "SCARD K",
    "SISMEMBER K F",
    "SMISMEMBER K F F",
    "SMEMBERS K",
    "SMOVE K K F",
    "SINTER K K",
    "SUNION K K",
    "SDIFF K K",
    "SINTERCARD 2 K K",
    "SINTERSTORE K K K",
    "SUNIONSTORE K K K",
    "SDIFFSTORE K K K",
    "SRANDMEMBER K 0",
    "SPOP K 0",
    // sorted sets
    "ZADD K S F",
    "ZADD K S F S F",
    "ZADD K NX S F",
    "ZADD K XX CH S F",
    "ZADD K GT CH S F",
    "ZADD K INCR S F",
    "ZINCRBY K S F",
    "ZCARD K",
    "ZSCORE K F",
    "ZMSCORE K F F",
    "ZRANK K F",
    "ZREVRANK K F",
    "ZCOUNT K R R",
    "ZLEXCOUNT K L L",
    "ZRANGE K I I",
    "ZRANGE K I I WITHSCORES",
    "ZRANGE K R R BYSCORE",
    "ZRANGE K R R BYSCORE REV LIMIT I I",
    "ZRANGE K L L BYLEX",
    "ZRANGEBYSCORE K R R WITHSCORES",
    "ZREVRANGEBYSCORE K R R",
    "ZRANGEBYLEX K L L",
    "ZREVRANGE K I I",
    "ZRANGESTORE K K I I",
    "ZREM K F",
    "ZREMRANGEBYRANK K I I",
    "ZREMRANGEBYSCORE K R R",
    "ZREMRANGEBYLEX K L L",
    "ZPOPMIN K",
    "ZPOPMAX K I",
    "ZMPOP 2 K K M",
    "ZUNION 2 K K WITHSCORES",
    "ZINTER 2 K K",
    "ZDIFF 2 K K",
    "ZUNIONSTORE K 2 K K",
    "ZINTERSTORE K 2 K K WEIGHTS 2 1",
    "ZDIFFSTORE K 2 K K",
    "ZINTERCARD 2 K K",
    "BZPOPMIN K 0.001",
    "BZMPOP 0.001 1 K M COUNT 2",
    // SORT over every type
    "SORT K",
    "SORT K ALPHA",
    "SORT K DESC LIMIT 0 2",
    "SORT_RO K BY nosort",
    "SORT K ALPHA STORE K",
];

/// Commands whose element order Redis leaves unspecified.
const UNORDERED: &[&str] = &[
    "hkeys", "hvals", "hgetall", "smembers", "sinter", "sunion", "sdiff",
];

fn gen(rng: &mut Rng) -> Vec<String> {
    let template = rng.pick(TEMPLATES);
    template
        .split(' ')
        .map(|t| {
            let pool: &[&str] = match t {
                "K" => KEYS,
                "F" => FIELDS,
                "V" => VALUES,
                "I" => INTS,
                "S" => SCORES,
                "R" => RANGES,
                "L" => LEX,
                "E" => ENDS,
                "M" => MINMAX,
                word => return word.to_string(),
            };
            rng.pick(pool).to_string()
        })
        .collect()
}

/// Encodings Strata derives differently on purpose (docs/compatibility.md):
/// a string's from its current value, a sorted set's from its size alone
/// (Redis also turns a zset into a skiplist for good once SORT reads it).
/// Each family compares as one token; hash, list and set encodings compare
/// exactly.
fn normalize_encoding(reply: Vec<u8>) -> Vec<u8> {
    match reply.as_slice() {
        b"$3\r\nint\r\n" | b"$6\r\nembstr\r\n" | b"$3\r\nraw\r\n" => {
            b"+<string encoding>\r\n".to_vec()
        }
        b"$8\r\nlistpack\r\n" | b"$8\r\nskiplist\r\n" => b"+<listpack or skiplist>\r\n".to_vec(),
        _ => reply,
    }
}

fn normalize(cmd: &[String], reply: Vec<u8>) -> Vec<u8> {
    let name = cmd[0].to_ascii_lowercase();
    if name == "object" {
        return normalize_encoding(reply);
    }
    // SORT of a set without a real sort keeps set order (unspecified).
    let unordered_sort = name == "sort_ro" && cmd.iter().any(|a| a == "nosort");
    if (UNORDERED.contains(&name.as_str()) || unordered_sort) && reply.starts_with(b"*") {
        return sorted_elements(&reply).concat();
    }
    reply
}

fn run(left: &mut Conn, right: &mut Conn, seed: u64, steps: usize) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut history: VecDeque<String> = VecDeque::new();
    for step in 0..steps {
        let cmd = gen(&mut rng);
        let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
        let l = normalize(&cmd, left.cmd(&args));
        let r = normalize(&cmd, right.cmd(&args));
        history.push_back(cmd.join(" "));
        if history.len() > 25 {
            history.pop_front();
        }
        assert!(
            l == r,
            "seed {seed} step {step}: reply to {:?} differs\n  left (Strata): {:?}\n  right (Redis): {:?}\n  last commands:\n    {}",
            cmd.join(" "),
            String::from_utf8_lossy(&l),
            String::from_utf8_lossy(&r),
            history.iter().cloned().collect::<Vec<_>>().join("\n    ")
        );
    }
}

fn seeds() -> Vec<u64> {
    match std::env::var("STRATA_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(one) => vec![one],
        None => (101..=106).collect(),
    }
}

#[test]
fn mixed_type_sequences_match_redis() {
    for seed in seeds() {
        let mut d = Diff::new();
        // The small keyspace always holds a string to collide with.
        d.check(&["SET", "s", "str"]);
        run(&mut d.s, &mut d.r, seed, 500);
    }
}
