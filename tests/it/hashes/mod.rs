//! Hash commands against a real redis-server: every command, option and
//! error must reply byte for byte as Redis 7.0 does, in RESP2 and RESP3.
//!
//! Redis keeps a small hash (a listpack) in insertion order and Strata keeps
//! fields in byte order, so scripts insert fields in byte order to compare
//! HGETALL/HKEYS/HVALS/HSCAN exactly; elsewhere whole-hash replies are
//! compared as multisets of field-value pairs. Random commands (HRANDFIELD)
//! are checked for counts, membership and distinctness.

use std::collections::{HashMap, HashSet};

use crate::common::{canonical, encode, show_args, show_bytes, Conn, Diff, Order, Rng, Strata};

mod scripts;

use scripts::*;

#[test]
fn hash_commands_match_redis_resp2_and_resp3() {
    let mut d = Diff::new();
    for resp3 in [false, true] {
        if resp3 {
            d.check(&["FLUSHALL"]);
            d.resp3();
        }
        for script in [BASICS, ERRORS, INCREMENTS, RANDFIELD_ERRORS, SCAN] {
            d.script(script);
            d.check(&["FLUSHALL"]);
        }
    }
}

#[test]
fn generic_key_commands_on_hashes_match_redis() {
    let mut d = Diff::new();
    d.script(GENERIC);
    for script in [AFTER_EXPIRY, AFTER_SECOND_EXPIRY, AFTER_THIRD_EXPIRY] {
        std::thread::sleep(std::time::Duration::from_millis(20));
        d.script(script);
    }
    // SCAN TYPE finds the hashes (order and cursors are Strata's own).
    let mut c = d.strata.conn();
    let (cursor, _) = scan_page_keys(&c.cmd(&["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]));
    assert_eq!(cursor, "0");
    let (_, hashes) = scan_page_keys(&c.cmd(&["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]));
    let (_, strings) = scan_page_keys(&c.cmd(&["SCAN", "0", "TYPE", "string", "COUNT", "1000"]));
    let names = |v: &[&str]| v.iter().map(|k| k.as_bytes().to_vec()).collect::<Vec<_>>();
    assert_eq!(hashes, names(&["gone", "gone2", "h3", "s2"]));
    assert_eq!(strings, names(&["h2"]));
}

#[test]
fn encodings_follow_redis_conversion_rules() {
    let mut d = Diff::new();
    let long = "x".repeat(65);
    let limit = "x".repeat(64);
    d.script(&format!(
        r#"
        HSET lp a {limit}
        OBJECT ENCODING lp
        HSET v a {long}
        OBJECT ENCODING v
        HSET f {long} 1
        OBJECT ENCODING f
        HSET n a 1
        HSETNX n a {long}
        OBJECT ENCODING n
        HSETNX n {long} 1
        OBJECT ENCODING n
        HSET i a 1
        HINCRBY i {long} 1
        OBJECT ENCODING i
        HSET fl a 1
        HINCRBYFLOAT fl a 1e70
        OBJECT ENCODING fl
        HDEL v a
        HSET v a 1
        OBJECT ENCODING v
        HSET dup a {long} a 1
        OBJECT ENCODING dup
        HGET dup a
        HSET big a 1
        HSET big a {long}
        HSET big a 1
        OBJECT ENCODING big
        RENAME big big2
        OBJECT ENCODING big2
        COPY big2 big3
        OBJECT ENCODING big3
        CONFIG SET hash-max-listpack-entries 3
        HSET c a 1 b 2 c 3
        OBJECT ENCODING c
        HSET c a 5
        OBJECT ENCODING c
        HSET c d 4
        OBJECT ENCODING c
        HDEL c a b c
        OBJECT ENCODING c
        HSET c2 a 1 b 2 c 3 d 4
        OBJECT ENCODING c2
        CONFIG SET hash-max-listpack-entries 512
        CONFIG SET hash-max-listpack-value 2
        HSET w ab cd
        OBJECT ENCODING w
        HSET w abc d
        OBJECT ENCODING w
        CONFIG SET hash-max-listpack-value 64
        "#
    ));
    // 512 fields stay a listpack, the 513th converts.
    let fields: Vec<String> = (0..513).map(|i| format!("f{i:03}")).collect();
    let mut args = vec!["HSET", "many"];
    for f in &fields[..512] {
        args.push(f);
        args.push("v");
    }
    d.check(&args);
    d.check(&["OBJECT", "ENCODING", "many"]);
    d.check(&["HSET", "many", &fields[512], "v"]);
    d.check(&["OBJECT", "ENCODING", "many"]);
}

#[test]
fn command_info_matches_redis() {
    let mut d = Diff::new();
    for name in [
        "hset",
        "hsetnx",
        "hget",
        "hmget",
        "hmset",
        "hdel",
        "hlen",
        "hstrlen",
        "hexists",
        "hkeys",
        "hvals",
        "hgetall",
        "hincrby",
        "hincrbyfloat",
        "hrandfield",
        "hscan",
    ] {
        d.check(&["COMMAND", "INFO", name]);
        d.check(&["COMMAND", "GETKEYS", name, "k", "f", "v"]);
    }
}

/// Reads count keyspace hits and misses as Redis does (writes do not; a
/// key of another type is a hit).
#[test]
fn keyspace_hits_and_misses_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        HSET h a 1 b 2
        SET s v
        HGET h a
        HGET h nosuch
        HGET nokey a
        HGET s a
        HMGET h a b nosuch
        HMGET nokey a
        HLEN h
        HLEN nokey
        HSTRLEN h a
        HSTRLEN nokey a
        HEXISTS h a
        HEXISTS nokey a
        HKEYS h
        HVALS nokey
        HGETALL h
        HGETALL s
        HRANDFIELD nokey
        HRANDFIELD h 0
        HRANDFIELD nokey 2
        HSCAN h 0
        HSCAN nokey 0
        HSETNX h c 3
        HDEL nokey a
        HINCRBY nokey a 1
        HINCRBYFLOAT nokey2 a 1
        HSET nokey3 a 1
        "#,
    );
    d.assert_keyspace_stats_match();
}

/// Decodes a RESP2 flat array reply of bulk strings.
fn bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    use redis_protocol::resp2::types::OwnedFrame;
    let (frame, _) = redis_protocol::resp2::decode::decode(reply)
        .ok()
        .flatten()
        .expect("RESP2 reply");
    let OwnedFrame::Array(items) = frame else {
        panic!("not an array: {:?}", String::from_utf8_lossy(reply));
    };
    items
        .into_iter()
        .map(|f| match f {
            OwnedFrame::BulkString(b) => b,
            other => panic!("not a bulk string: {other:?}"),
        })
        .collect()
}

/// The field-value pairs of a flat RESP2 array, sorted.
fn sorted_pairs(reply: &[u8]) -> Pairs {
    let items = bulks(reply);
    assert!(items.len() % 2 == 0, "odd-length pair array");
    let mut pairs: Pairs = items
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    pairs.sort();
    pairs
}

fn sorted_bulks(reply: &[u8]) -> Vec<Vec<u8>> {
    let mut v = bulks(reply);
    v.sort();
    v
}

/// A seeded random sequence of hash commands over a few keys and fields,
/// checked against Redis reply by reply (whole-hash replies as multisets).
#[test]
fn random_sequence_matches_redis() {
    for seed in [0x5eed_4a54, 0x0123_4567_89ab, 42] {
        random_sequence(seed);
    }
}

fn random_sequence(seed: u64) {
    let mut d = Diff::new();
    let mut rng = Rng(seed);
    let keys: [&[u8]; 4] = [b"h1", b"h2", b"h3", b"h\x00\xff"];
    let fields: [&[u8]; 9] = [
        b"a",
        b"b",
        b"c",
        b"d",
        b"e",
        b"n",
        b"x",
        b"\x80",
        b"f\r\n\x00",
    ];
    let long = "L".repeat(70);
    let values: [&[u8]; 10] = [
        b"1",
        b"-3",
        b"10",
        b"abc",
        b"2.5",
        b"",
        b"9223372036854775807",
        long.as_bytes(),
        b"\xfe\xff",
        b"\r\n\x00",
    ];
    let mut history: Vec<(Vec<u8>, String)> = Vec::new();
    for step in 0..1500 {
        let key = *rng.pick(&keys);
        let field = *rng.pick(&fields);
        let value = *rng.pick(&values);
        let cmd: Vec<&[u8]> = match rng.below(16) {
            0 | 1 => {
                let mut c: Vec<&[u8]> = vec![&b"HSET"[..], key];
                for _ in 0..1 + rng.below(3) {
                    c.push(*rng.pick(&fields));
                    c.push(*rng.pick(&values));
                }
                c
            }
            2 => vec![&b"HSETNX"[..], key, field, value],
            3 => {
                let mut c: Vec<&[u8]> = vec![&b"HDEL"[..], key];
                for _ in 0..1 + rng.below(3) {
                    c.push(*rng.pick(&fields));
                }
                c
            }
            4 => vec![
                &b"HINCRBY"[..],
                key,
                field,
                *rng.pick(&[&b"1"[..], b"-5", b"100", b"9223372036854775807"]),
            ],
            5 => vec![
                &b"HINCRBYFLOAT"[..],
                key,
                field,
                *rng.pick(&[&b"0.1"[..], b"-2.5", b"1e3", b"3"]),
            ],
            6 => vec![&b"HGET"[..], key, field],
            7 => vec![&b"HMGET"[..], key, field, *rng.pick(&fields)],
            8 => vec![&b"HLEN"[..], key],
            9 => vec![&b"HSTRLEN"[..], key, field],
            10 => vec![&b"HEXISTS"[..], key, field],
            11 => vec![&b"OBJECT"[..], b"ENCODING", key],
            12 => vec![&b"HGETALL"[..], key],
            13 => vec![&b"HKEYS"[..], key],
            14 => vec![&b"HVALS"[..], key],
            _ => match rng.below(4) {
                0 => vec![&b"DEL"[..], key],
                1 => vec![&b"SET"[..], key, b"str"],
                2 => vec![&b"HSCAN"[..], key, b"0"],
                _ => vec![&b"EXISTS"[..], key],
            },
        };
        history.push((key.to_vec(), show_args(&cmd)));
        let (s, r) = d.both_bin(&cmd);
        // Whole-hash replies in unspecified order: multisets of raw
        // elements, HGETALL and HSCAN of (field, value) pairs kept together.
        let same = match cmd[0] {
            b"HGETALL" => canonical(&s, Order::Pairs) == canonical(&r, Order::Pairs),
            b"HKEYS" | b"HVALS" => canonical(&s, Order::Set) == canonical(&r, Order::Set),
            b"HSCAN" if r.starts_with(b"*2\r\n$1\r\n0\r\n") => {
                s.starts_with(b"*2\r\n$1\r\n0\r\n")
                    && canonical(&s[11..], Order::Pairs) == canonical(&r[11..], Order::Pairs)
            }
            _ => s == r,
        };
        assert!(
            same,
            "seed {seed} step {step}: reply to {} differs\nstrata: {}\nredis:  {}\nearlier commands on {}:\n{}",
            show_args(&cmd),
            show_bytes(&s),
            show_bytes(&r),
            show_bytes(key),
            history
                .iter()
                .filter(|(k, _)| k == key)
                .rev()
                .take(20)
                .map(|(_, c)| c.clone())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Splits a SCAN-family reply `*2 $n cursor *m ...` into the cursor and the
/// raw RESP2 encoding of its item array.
fn split_scan_reply(reply: &[u8]) -> (String, Vec<u8>) {
    use redis_protocol::resp2::types::OwnedFrame;
    let (frame, _) = redis_protocol::resp2::decode::decode(reply)
        .ok()
        .flatten()
        .expect("RESP2 reply");
    let OwnedFrame::Array(mut outer) = frame else {
        panic!("not an array");
    };
    assert_eq!(outer.len(), 2);
    let items = outer.pop().expect("items");
    let OwnedFrame::BulkString(cursor) = outer.pop().expect("cursor") else {
        panic!("cursor is not a bulk string");
    };
    let mut raw = Vec::new();
    items.encode_bytes(&mut raw);
    (String::from_utf8(cursor).expect("utf8"), raw)
}

/// An HSCAN reply as its cursor and sorted pairs.
fn scan_page(reply: &[u8]) -> (String, Pairs) {
    let (cursor, raw) = split_scan_reply(reply);
    (cursor, sorted_pairs(&raw))
}

/// A SCAN reply as its cursor and sorted keys.
fn scan_page_keys(reply: &[u8]) -> (String, Vec<Vec<u8>>) {
    let (cursor, raw) = split_scan_reply(reply);
    (cursor, sorted_bulks(&raw))
}

/// Walks a whole hash with HSCAN; returns the distinct pairs and the calls made.
fn hscan_all(c: &mut Conn, key: &str, extra: &[&str]) -> (HashMap<Vec<u8>, Vec<u8>>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = HashMap::new();
    for calls in 1..=10_000 {
        let mut args = vec!["HSCAN", key, &cursor];
        args.extend_from_slice(extra);
        let (next, pairs) = scan_page(&c.cmd(&args));
        seen.extend(pairs);
        if next == "0" {
            return (seen, calls);
        }
        cursor = next;
    }
    panic!("HSCAN of {key} did not finish");
}

trait EncodeBytes {
    fn encode_bytes(&self, out: &mut Vec<u8>);
}

impl EncodeBytes for redis_protocol::resp2::types::OwnedFrame {
    fn encode_bytes(&self, out: &mut Vec<u8>) {
        use redis_protocol::resp2::types::OwnedFrame;
        match self {
            OwnedFrame::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for i in items {
                    i.encode_bytes(out);
                }
            }
            OwnedFrame::BulkString(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// A hashtable-sized hash is walked a page at a time; the walk returns every
/// field exactly as Redis's walk does (as a set), honouring MATCH.
#[test]
fn hscan_pages_through_a_big_hash_like_redis() {
    let mut d = Diff::new();
    let mut args: Vec<String> = vec!["HSET".into(), "big".into()];
    for i in 0..2000 {
        args.push(format!("field:{i}"));
        args.push(format!("value:{i}"));
    }
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    d.check(&args_ref);
    d.check(&["OBJECT", "ENCODING", "big"]);
    for extra in [
        &[][..],
        &["COUNT", "100"][..],
        &["MATCH", "field:1*", "COUNT", "7"][..],
    ] {
        let (ours, calls) = hscan_all(&mut d.s, "big", extra);
        let (theirs, _) = hscan_all(&mut d.r, "big", extra);
        assert_eq!(ours, theirs, "HSCAN {extra:?}");
        assert!(calls > 1, "a big hash is walked in pages");
    }
    let (all, _) = hscan_all(&mut d.s, "big", &["COUNT", "1000"]);
    assert_eq!(all.len(), 2000);
    assert_eq!(all[&b"field:1234"[..]], b"value:1234");
    // A forgotten or unknown cursor restarts the walk instead of failing.
    let (cursor, _) = scan_page(&d.s.cmd(&["HSCAN", "big", "987654321987", "COUNT", "5"]));
    assert_ne!(cursor, "0");
}

/// Checks one HRANDFIELD reply of Strata (RESP2) for its count rules.
fn check_randfield(
    c: &mut Conn,
    key: &str,
    hash: &HashMap<String, String>,
    count: i64,
    with_values: bool,
) {
    let count_s = count.to_string();
    let mut args = vec!["HRANDFIELD", key, &count_s];
    if with_values {
        args.push("WITHVALUES");
    }
    let items = bulks(&c.cmd(&args));
    let step = 1 + with_values as usize;
    assert_eq!(items.len() % step, 0);
    let picks: Vec<&[Vec<u8>]> = items.chunks(step).collect();
    let expected = if count >= 0 {
        (count as usize).min(hash.len())
    } else {
        count.unsigned_abs() as usize
    };
    assert_eq!(
        picks.len(),
        expected,
        "HRANDFIELD {key} {count} {with_values}"
    );
    let mut distinct = HashSet::new();
    for p in &picks {
        let field = String::from_utf8(p[0].clone()).expect("utf8");
        let value = hash
            .get(&field)
            .unwrap_or_else(|| panic!("{field} is not in {key}"));
        if with_values {
            assert_eq!(&p[1], value.as_bytes(), "value of {field}");
        }
        distinct.insert(field);
    }
    if count > 0 {
        assert_eq!(
            distinct.len(),
            picks.len(),
            "positive counts give distinct fields"
        );
    }
}

#[test]
fn hrandfield_counts_membership_and_shapes() {
    let s = Strata::start();
    let mut c = s.conn();
    for (key, size) in [("small", 10usize), ("mid", 700), ("large", 3000)] {
        let mut hash = HashMap::new();
        let mut args: Vec<String> = vec!["HSET".into(), key.into()];
        for i in 0..size {
            hash.insert(format!("f{i}"), format!("v{i}"));
            args.push(format!("f{i}"));
            args.push(format!("v{i}"));
        }
        let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(c.cmd_str(&args_ref), format!(":{size}\r\n"));
        for count in [
            1,
            3,
            size as i64 - 1,
            size as i64,
            size as i64 + 5,
            -1,
            -7,
            -(size as i64) * 2,
        ] {
            for with_values in [false, true] {
                check_randfield(&mut c, key, &hash, count, with_values);
            }
        }
        // Without a count: one member field.
        let one = c.cmd(&["HRANDFIELD", key]);
        let text = String::from_utf8_lossy(&one);
        let field = text.split("\r\n").nth(1).expect("bulk");
        assert!(hash.contains_key(field), "{text}");
        // Repeated picks spread over the hash.
        let many = bulks(&c.cmd(&["HRANDFIELD", key, "-200"]));
        let spread: HashSet<_> = many.iter().collect();
        assert!(
            spread.len() >= size.min(10),
            "{key}: {} distinct of 200",
            spread.len()
        );
    }
    // RESP3: WITHVALUES gives [field, value] pairs; plain counts a flat array.
    c.resp3 = true;
    let hello = c.cmd_str(&["HELLO", "3"]);
    assert!(hello.starts_with('%'), "{hello}");
    let pairs = c.cmd_str(&["HRANDFIELD", "small", "2", "WITHVALUES"]);
    assert!(pairs.starts_with("*2\r\n*2\r\n$"), "{pairs}");
    let neg = c.cmd_str(&["HRANDFIELD", "small", "-3", "WITHVALUES"]);
    assert!(neg.starts_with("*3\r\n*2\r\n$"), "{neg}");
    let flat = c.cmd_str(&["HRANDFIELD", "small", "2"]);
    assert!(flat.starts_with("*2\r\n$"), "{flat}");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "nokey"]), "_\r\n");
    assert_eq!(c.cmd_str(&["HRANDFIELD", "nokey", "3"]), "*0\r\n");
    // A huge negative count is refused rather than exhausting memory.
    let huge = c.cmd_str(&["HRANDFIELD", "small", "-9223372036854775807"]);
    assert!(huge.starts_with("-ERR value is out of range"), "{huge}");
}

/// 100,000 fields, written by pipelined HSETs of 1,000 fields each: point
/// commands still answer right, and DEL removes the key at once.
#[test]
fn hash_of_100k_fields_answers_point_commands() {
    let s = Strata::start();
    let mut c = s.conn();
    const COMMANDS: usize = 100;
    const PER_COMMAND: usize = 1000;
    let mut pipeline = Vec::new();
    for chunk in 0..COMMANDS {
        let owned: Vec<Vec<u8>> = (chunk * PER_COMMAND..(chunk + 1) * PER_COMMAND)
            .flat_map(|i| {
                [
                    format!("field:{i}").into_bytes(),
                    format!("v{i}").into_bytes(),
                ]
            })
            .collect();
        let mut args: Vec<&[u8]> = vec![b"HSET", b"big"];
        args.extend(owned.iter().map(Vec::as_slice));
        pipeline.extend_from_slice(&encode(&args));
    }
    c.send_raw(&pipeline);
    for _ in 0..COMMANDS {
        assert_eq!(c.read_reply(), format!(":{PER_COMMAND}\r\n").into_bytes());
    }
    assert_eq!(c.cmd_str(&["HLEN", "big"]), ":100000\r\n");
    assert_eq!(
        c.cmd_str(&["OBJECT", "ENCODING", "big"]),
        "$9\r\nhashtable\r\n"
    );
    assert_eq!(
        c.cmd_str(&["HGET", "big", "field:99999"]),
        "$6\r\nv99999\r\n"
    );
    assert_eq!(c.cmd_str(&["HGET", "big", "field:100000"]), "$-1\r\n");
    assert_eq!(
        c.cmd_str(&["HSET", "big", "field:5", "new", "field:100000", "x"]),
        ":1\r\n"
    );
    assert_eq!(c.cmd_str(&["HGET", "big", "field:5"]), "$3\r\nnew\r\n");
    assert_eq!(c.cmd_str(&["HINCRBY", "big", "counter", "5"]), ":5\r\n");
    assert_eq!(c.cmd_str(&["HEXISTS", "big", "field:50000"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HDEL", "big", "field:50000"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HLEN", "big"]), ":100001\r\n");
    let picks = bulks(&c.cmd(&["HRANDFIELD", "big", "5"]));
    assert_eq!(picks.iter().collect::<HashSet<_>>().len(), 5);
    assert!(picks
        .iter()
        .all(|f| f.starts_with(b"field:") || f == b"counter"));
    // A large share of a big hash: one pass, all distinct.
    let share = bulks(&c.cmd(&["HRANDFIELD", "big", "30000"]));
    assert_eq!(share.iter().collect::<HashSet<_>>().len(), 30_000);
    let repeats = bulks(&c.cmd(&["HRANDFIELD", "big", "-1000"]));
    assert_eq!(repeats.len(), 1000);
    assert!(repeats.iter().collect::<HashSet<_>>().len() > 100);
    let (first, pairs) = scan_page(&c.cmd(&["HSCAN", "big", "0", "COUNT", "50"]));
    assert_ne!(first, "0");
    assert_eq!(pairs.len(), 50);
    assert_eq!(c.cmd_str(&["DEL", "big"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HLEN", "big"]), ":0\r\n");
    assert_eq!(c.cmd_str(&["HSET", "big", "a", "1"]), ":1\r\n");
    assert_eq!(c.cmd_str(&["HGET", "big", "field:1"]), "$-1\r\n");
    assert_eq!(c.cmd_str(&["HLEN", "big"]), ":1\r\n");
}
