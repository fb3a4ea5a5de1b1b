//! DUMP and RESTORE against a real redis-server 7.0: payloads must travel
//! both ways (values, TTLs and OBJECT ENCODING survive), Strata's payload
//! bytes equal Redis's wherever both hold the value in the same order,
//! every error reply matches byte for byte, corrupt payloads never hurt
//! the server, and replicas receive what Redis would send them.
//!
//! Where the bytes legitimately differ: plain (hashtable) sets and hashes
//! are written in each server's own iteration order, and a hash listpack
//! keeps Redis's insertion order but Strata's field order (the fill below
//! inserts fields sorted, so those compare equal).

use crate::common::{parse, show_bytes, Conn, Diff, Redis, Rng, Strata};
use crate::repl_tap::{
    compare_chunks, marker_cmd, same_command, same_frame, EventSub, Observer, ReplTap,
};

/// Commands that build one key of every type, in the compact and the plain
/// encodings of Redis 7.0's defaults. Fields and members go in sorted, so
/// listpacks come out in the same order on both servers.
fn fill_commands() -> Vec<Vec<Vec<u8>>> {
    let w = |s: &str| s.as_bytes().to_vec();
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut cmd = |parts: Vec<Vec<u8>>| out.push(parts);
    cmd(vec![w("SET"), w("str:small"), w("hello")]);
    cmd(vec![w("SET"), w("str:int"), w("12345")]);
    cmd(vec![w("SET"), w("str:neg"), w("-70000")]);
    cmd(vec![w("SET"), w("str:big-int"), w("99999999999")]);
    cmd(vec![w("SET"), w("str:empty"), w("")]);
    cmd(vec![w("SET"), w("str:bin"), b"\x00\xff\r\n\x01".to_vec()]);
    cmd(vec![w("SET"), w("str:raw"), vec![b'x'; 50]]);
    let noise: Vec<u8> = (0u32..300)
        .map(|i| (i * 131 + 7) as u8 ^ (i >> 3) as u8)
        .collect();
    cmd(vec![w("SET"), w("str:noise"), noise]);
    cmd(vec![
        w("SET"),
        w("str:long"),
        "abcdefgh".repeat(2000).into_bytes(),
    ]);

    cmd(vec![
        w("RPUSH"),
        w("list:small"),
        w("a"),
        w("1"),
        w("-2"),
        w("b"),
    ]);
    let mut big = vec![w("RPUSH"), w("list:big")];
    big.extend((0..3000).map(|i| format!("item-{i}").into_bytes()));
    cmd(big);
    cmd(vec![
        w("RPUSH"),
        w("list:huge-elem"),
        w("x"),
        vec![b'y'; 10_000],
        w("z"),
    ]);

    cmd(vec![
        w("SADD"),
        w("set:ints"),
        w("3"),
        w("-1"),
        w("70000"),
        w("5"),
    ]);
    cmd(vec![w("SADD"), w("set:words"), w("a"), w("b"), w("c")]);
    let mut ints = vec![w("SADD"), w("set:many-ints")];
    ints.extend((0..600).map(|i| (i * 7).to_string().into_bytes()));
    cmd(ints);

    cmd(vec![
        w("HSET"),
        w("hash:small"),
        w("a"),
        w("1"),
        w("b"),
        w("two"),
        w("c"),
        w("3"),
    ]);
    cmd(vec![
        w("HSET"),
        w("hash:long-value"),
        w("f"),
        vec![b'v'; 100],
    ]);
    let mut fields = vec![w("HSET"), w("hash:many")];
    for i in 0..600 {
        fields.push(format!("f{i:04}").into_bytes());
        fields.push(i.to_string().into_bytes());
    }
    cmd(fields);

    cmd(vec![
        w("ZADD"),
        w("zset:small"),
        w("1.5"),
        w("a"),
        w("-inf"),
        w("b"),
        w("inf"),
        w("c"),
        w("0.1"),
        w("d"),
        w("3"),
        w("e"),
        w("1e20"),
        w("f"),
    ]);
    let mut members = vec![w("ZADD"), w("zset:many")];
    for i in 0..200 {
        members.push(format!("{}", i as f64 / 4.0).into_bytes());
        members.push(format!("m{i:03}").into_bytes());
    }
    cmd(members);
    out
}

/// Every key the fill creates.
fn filled_keys() -> Vec<String> {
    fill_commands()
        .iter()
        .map(|c| String::from_utf8_lossy(&c[1]).into_owned())
        .collect()
}

fn run(c: &mut Conn, parts: &[Vec<u8>]) -> Vec<u8> {
    let args: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    c.send(&args);
    c.read_reply()
}

fn fill(c: &mut Conn) {
    for parts in fill_commands() {
        let r = run(c, &parts);
        assert!(!r.starts_with(b"-"), "fill failed: {}", show_bytes(&r));
    }
}

/// The payload of a bulk reply (`None` for nil), panicking on anything else.
fn bulk(reply: &[u8]) -> Option<Vec<u8>> {
    let f = parse(reply);
    assert!(f.kind == b'$', "not a bulk reply: {}", show_bytes(reply));
    f.payload.map(<[u8]>::to_vec)
}

fn dump(c: &mut Conn, key: &str) -> Vec<u8> {
    let r = c.cmd(&["DUMP", key]);
    bulk(&r).unwrap_or_else(|| panic!("DUMP {key}: nil"))
}

fn restore(c: &mut Conn, key: &str, ttl: &str, payload: &[u8], extra: &[&str]) -> Vec<u8> {
    let mut args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), ttl.as_bytes(), payload];
    args.extend(extra.iter().map(|a| a.as_bytes()));
    c.send(&args);
    c.read_reply()
}

/// The key's value, type and OBJECT ENCODING agree on both servers.
#[track_caller]
fn assert_same_key(d: &mut Diff, key: &str) {
    let ty = d.check(&["TYPE", key]);
    d.check(&["OBJECT", "ENCODING", key]);
    match &ty[..] {
        b"+string\r\n" => {
            d.check(&["GET", key]);
        }
        b"+list\r\n" => {
            d.check(&["LRANGE", key, "0", "-1"]);
        }
        b"+set\r\n" => {
            d.check_unordered(&["SMEMBERS", key]);
        }
        b"+hash\r\n" => {
            d.check_pairs(&["HGETALL", key]);
        }
        b"+zset\r\n" => {
            d.check(&["ZRANGE", key, "0", "-1", "WITHSCORES"]);
        }
        other => panic!("{key}: unexpected type {}", show_bytes(other)),
    }
}

/// (1) Strata's payloads restore into Redis with equal values and encodings.
#[test]
fn strata_payloads_restore_into_redis() {
    let mut d = Diff::new();
    fill(&mut d.s);
    for key in filled_keys() {
        let payload = dump(&mut d.s, &key);
        assert_eq!(
            restore(&mut d.r, &key, "0", &payload, &[]),
            b"+OK\r\n",
            "Redis refused Strata's payload of {key}"
        );
        assert_same_key(&mut d, &key);
    }
    d.check(&["DBSIZE"]);
}

/// (2) Redis's payloads restore into Strata: values, encodings and TTLs.
#[test]
fn redis_payloads_restore_into_strata() {
    let mut d = Diff::new();
    fill(&mut d.r);
    for (i, key) in filled_keys().into_iter().enumerate() {
        let payload = dump(&mut d.r, &key);
        // Every other key with a TTL (relative, then absolute).
        let (ttl, extra): (String, Vec<&str>) = match i % 3 {
            0 => ("0".into(), vec![]),
            1 => ("100000".into(), vec![]),
            _ => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .expect("clock")
                    .as_millis();
                ((now + 500_000).to_string(), vec!["ABSTTL"])
            }
        };
        if ttl != "0" {
            // Redis gets the same TTL, so PTTL compares.
            let mut again = extra.clone();
            again.push("REPLACE");
            assert_eq!(restore(&mut d.r, &key, &ttl, &payload, &again), b"+OK\r\n");
        }
        assert_eq!(
            restore(&mut d.s, &key, &ttl, &payload, &extra),
            b"+OK\r\n",
            "Strata refused Redis's payload of {key}"
        );
        assert_same_key(&mut d, &key);
        d.check_ttl(&["PTTL", &key]);
    }
    d.check(&["DBSIZE"]);
}

/// The keys whose payloads differ from Redis's, with both payloads' heads.
fn differing_payloads(d: &mut Diff, skip: &[&str]) -> Vec<String> {
    let mut differ = Vec::new();
    for key in filled_keys() {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let (s, r) = (dump(&mut d.s, &key), dump(&mut d.r, &key));
        if s != r {
            differ.push(format!(
                "{key}:\n  Strata: {}\n  Redis:  {}",
                show_bytes(&s[..s.len().min(80)]),
                show_bytes(&r[..r.len().min(80)])
            ));
        }
    }
    differ
}

/// (3) Where both servers hold a value the same way, the payloads are the
/// same bytes. Plain sets and hashes are in each server's own order and
/// are left out. LZF-compressed strings (and list nodes) decompress to the
/// same bytes but Strata's compressor does not produce liblzf's exact
/// output, so those compare only with `rdbcompression no`.
#[test]
fn payload_bytes_equal_redis() {
    let mut d = Diff::new();
    fill(&mut d.s);
    fill(&mut d.r);
    let unordered = ["set:words", "set:many-ints", "hash:long-value", "hash:many"];
    let mut skip = unordered.to_vec();
    skip.extend(["str:raw", "str:long", "list:big"]);
    let differ = differing_payloads(&mut d, &skip);
    assert!(differ.is_empty(), "payloads differ:\n{}", differ.join("\n"));
    d.check(&["CONFIG", "SET", "rdbcompression", "no"]);
    let differ = differing_payloads(&mut d, &unordered);
    assert!(
        differ.is_empty(),
        "uncompressed payloads differ:\n{}",
        differ.join("\n")
    );
    d.check(&["CONFIG", "SET", "rdbcompression", "yes"]);
    d.check(&["DUMP", "missing"]);
    // Encodings follow the live thresholds on both sides.
    for c in [&mut d.s, &mut d.r] {
        for (name, value) in [
            ("hash-max-listpack-entries", "2"),
            ("zset-max-listpack-entries", "2"),
            ("set-max-intset-entries", "2"),
        ] {
            assert_eq!(c.cmd(&["CONFIG", "SET", name, value]), b"+OK\r\n");
        }
    }
    for (key, cmd) in [
        ("t:h", &["HSET", "t:h", "a", "1", "b", "2", "c", "3"][..]),
        ("t:z", &["ZADD", "t:z", "1", "a", "2", "b", "3", "c"]),
        ("t:s", &["SADD", "t:s", "1", "2", "3"]),
    ] {
        d.check(cmd);
        if key == "t:z" {
            // Plain ZSET_2 on both; Strata's OBJECT ENCODING of sorted sets
            // does not follow zset-max-listpack-* yet (see compatibility.md).
            d.check(&["DUMP", key]);
        } else {
            // Plain hashes and sets are in each server's own order.
            d.check(&["OBJECT", "ENCODING", key]);
        }
    }
}

/// (4) Every error, in Redis's order of checks, byte for byte.
#[test]
fn restore_errors_match_redis() {
    let mut d = Diff::new();
    d.check(&["SET", "s", "hello"]);
    let p = dump(&mut d.r, "s");
    let mut flipped = p.clone();
    let n = flipped.len();
    flipped[n - 1] ^= 1;
    let mut v11 = p.clone();
    v11[n - 10] = 11;
    let fix = |mut v: Vec<u8>| {
        let n = v.len();
        let crc = crc64(&v[..n - 8]);
        v[n - 8..].copy_from_slice(&crc.to_le_bytes());
        v
    };
    let v11 = fix(v11);
    let with_footer = |body: &[u8]| {
        let mut v = body.to_vec();
        v.extend_from_slice(&[10, 0]);
        v.extend_from_slice(&[0; 8]);
        fix(v)
    };
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        ("good", p.clone()),
        ("garbage", b"garbage".to_vec()),
        ("empty", Vec::new()),
        ("nine", vec![0; 9]),
        ("ten-zeros", vec![0; 10]),
        ("flipped", flipped),
        ("v11", v11),
        ("trailing", with_footer(b"\x00\x01vabc")),
        ("overlap", with_footer(b"\x00\x02")),
        ("empty-list", with_footer(b"\x12\x00")),
        ("empty-set", with_footer(b"\x02\x00")),
        ("dup-set", with_footer(b"\x02\x02\x01a\x01a")),
        ("module", with_footer(b"\x07\x00")),
        ("bad-type", with_footer(b"\x63\x01v")),
        ("short", with_footer(b"\x00\x05ab")),
    ];
    let arg_sets: &[&[&str]] = &[
        &[],
        &["REPLACE"],
        &["replace", "ABSTTL", "absttl"],
        &["foo"],
        &["IDLETIME"],
        &["IDLETIME", "-1"],
        &["IDLETIME", "x"],
        &["IDLETIME", "5", "idletime", "6"],
        &["FREQ", "256"],
        &["FREQ", "-1"],
        &["freq", "x"],
        &["FREQ", "0", "FREQ", "255"],
        &["FREQ", "5", "IDLETIME", "5"],
        &["IDLETIME", "5", "FREQ", "5"],
        &["REPLACE", "foo"],
    ];
    let ttls = ["0", "-1", "abc", "100000", "9223372036854775807", "1"];
    for (name, payload) in &payloads {
        for extra in arg_sets {
            for ttl in ttls {
                if ttl == "1" && !extra.iter().any(|a| a.eq_ignore_ascii_case("absttl")) {
                    // A 1 ms relative TTL would race the check below.
                    continue;
                }
                for key in ["s", "new"] {
                    let mut args: Vec<&[u8]> =
                        vec![b"RESTORE", key.as_bytes(), ttl.as_bytes(), payload];
                    args.extend(extra.iter().map(|a| a.as_bytes()));
                    let (s, r) = d.both_bin(&args);
                    assert!(
                        s == r,
                        "RESTORE {key} {ttl} <{name}> {extra:?}\n  Strata: {}\n  Redis:  {}",
                        show_bytes(&s),
                        show_bytes(&r)
                    );
                    // Back to the same state: `s` holds hello, `new` is absent.
                    d.check(&["DEL", "new"]);
                    d.check(&["SET", "s", "hello"]);
                }
            }
        }
    }
    d.check(&["RESTORE"]);
    d.check(&["RESTORE", "k", "0"]);
    d.check(&["DUMP"]);
    d.check(&["DUMP", "a", "b"]);
    // ABSTTL in the past: OK, nothing created (and a replaced key is gone).
    d.check_bin(&[b"RESTORE", b"past", b"1", &p, b"ABSTTL"]);
    d.check(&["EXISTS", "past"]);
    d.check_bin(&[b"RESTORE", b"s", b"1", &p, b"ABSTTL", b"REPLACE"]);
    d.check(&["EXISTS", "s"]);
    // A relative TTL so large the deadline wraps: not created either.
    d.check_bin(&[b"RESTORE", b"wrap", b"9223372036854775806", &p]);
    d.check(&["EXISTS", "wrap"]);
    // A stream payload: Redis restores it; Strata has no streams yet.
    let (s, r) = d.both(&["XADD", "x", "1-1", "f", "v"]);
    if r.starts_with(b"$") {
        let stream = dump(&mut d.r, "x");
        assert_eq!(
            restore(&mut d.s, "x2", "0", &stream, &[]),
            b"-ERR Bad data format\r\n",
            "stream payload (Strata's XADD said {})",
            show_bytes(&s)
        );
    }
}

/// Redis's CRC-64 (Jones polynomial, reflected), for building payloads.
fn crc64(data: &[u8]) -> u64 {
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut crc = 0u64;
    for &b in data {
        crc ^= u64::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// (5) Hundreds of seeded corruptions of real payloads: RESTORE answers OK
/// or an error, and the server keeps serving. Half the mutations get their
/// checksum fixed, so the decoder itself sees the damage.
#[test]
fn corrupt_payloads_are_refused_safely() {
    let s = Strata::start();
    let mut c = s.conn();
    fill(&mut c);
    let sources: Vec<Vec<u8>> = filled_keys()
        .iter()
        .filter(|k| !k.ends_with("long") && !k.ends_with("big") && !k.ends_with("many"))
        .map(|k| dump(&mut c, k))
        .collect();
    let mut rng = Rng(0x5eed_d0d0_1234_5678);
    let (mut ok, mut errors) = (0, 0);
    for round in 0..600 {
        let mut p = rng.pick(&sources).clone();
        match rng.below(6) {
            0 => {
                let i = rng.below(p.len() as u64) as usize;
                p[i] ^= 1 << rng.below(8);
            }
            1 => p.truncate(rng.below(p.len() as u64) as usize),
            2 => {
                let n = p.len();
                p[n - 10] = rng.below(256) as u8;
            }
            3 => {
                let len = rng.below(64) as usize;
                p = (0..len).map(|_| rng.below(256) as u8).collect();
            }
            4 => {
                let i = rng.below(p.len() as u64) as usize;
                p.insert(i, rng.below(256) as u8);
            }
            _ => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(p.len() as u64) as usize;
                    p[i] = rng.below(256) as u8;
                }
            }
        }
        if round % 2 == 1 && p.len() >= 10 {
            let n = p.len();
            let crc = crc64(&p[..n - 8]);
            p[n - 8..].copy_from_slice(&crc.to_le_bytes());
        }
        let r = restore(&mut c, "target", "0", &p, &["REPLACE"]);
        if r == b"+OK\r\n" {
            ok += 1;
        } else {
            assert!(
                r == b"-ERR Bad data format\r\n"
                    || r == b"-ERR DUMP payload version or checksum are wrong\r\n",
                "round {round}: {} for {}",
                show_bytes(&r),
                show_bytes(&p)
            );
            errors += 1;
        }
        assert_eq!(c.cmd(&["PING"]), b"+PONG\r\n", "round {round}");
        if r == b"+OK\r\n" {
            // Whatever was accepted reads back and dumps again.
            let again = c.cmd(&["DUMP", "target"]);
            assert!(
                again.starts_with(b"$"),
                "round {round}: {}",
                show_bytes(&again)
            );
        }
    }
    assert!(errors > 400, "{ok} accepted, {errors} refused");
    let mut fresh = s.conn();
    assert_eq!(fresh.cmd(&["PING"]), b"+PONG\r\n");
}

/// (6) The replication stream: Redis 7.0 rewrites a relative TTL to an
/// absolute one with ABSTTL, replaces a restore of an already expired value
/// that deleted a key with DEL, and propagates nothing when nothing changed.
#[test]
fn propagated_forms_match_redis() {
    let r = Redis::start_with(&["--repl-diskless-sync-delay", "0"]);
    let s = Strata::start();
    let mut rc = r.conn();
    let mut sc = s.conn();
    assert_eq!(rc.cmd(&["SET", "src", "v"]), b"+OK\r\n");
    let p = dump(&mut rc, "src");
    let mut rtap = ReplTap::attach_redis(r.port);
    let mut stap = ReplTap::attach_strata(s.port);
    let send_marker = |c: &mut Conn, n: u64| {
        let marker = marker_cmd(n);
        let args: Vec<&[u8]> = marker.iter().map(Vec::as_slice).collect();
        c.send(&args);
        assert_eq!(c.read_reply(), b"+OK\r\n");
    };
    // Prime: both streams start right after marker 0 (Redis's opens with
    // a SELECT after the full sync).
    send_marker(&mut rc, 0);
    send_marker(&mut sc, 0);
    assert!(rtap.until_marker(0).complete && stap.until_marker(0).complete);
    let lines: Vec<(&str, &str, Vec<&str>)> = vec![
        ("k", "0", vec![]),
        ("k", "0", vec!["REPLACE"]),
        ("k", "100000", vec!["replace"]),
        ("k", "1", vec!["ABSTTL", "REPLACE"]),
        ("k2", "1", vec!["ABSTTL"]),
        ("k3", "100000", vec!["IDLETIME", "5"]),
        ("k3", "0", vec![]),
        ("k4", "4000000000000", vec!["absttl", "FREQ", "3"]),
    ];
    for (key, ttl, extra) in &lines {
        let a = restore(&mut rc, key, ttl, &p, extra);
        let b = restore(&mut sc, key, ttl, &p, extra);
        assert_eq!(a, b, "RESTORE {key} {ttl} {extra:?}");
    }
    send_marker(&mut rc, 1);
    send_marker(&mut sc, 1);
    let (want, got) = (rtap.until_marker(1), stap.until_marker(1));
    if let Err(msg) = compare_chunks("redis", &want, "strata", &got, same_command) {
        panic!("streams differ:\n{msg}");
    }
}

/// Keyspace events: `new` and `restore` for every key created (a REPLACE
/// too), `del` when an already expired value replaced a key, nothing when
/// nothing changed.
#[test]
fn events_match_redis() {
    let r = Redis::start();
    let s = Strata::start();
    let flags = "KEgn$";
    let mut subs = Vec::new();
    for (port, who) in [(r.port, "redis"), (s.port, "strata")] {
        let mut c = Conn::connect(port);
        let set = c.cmd(&["CONFIG", "SET", "notify-keyspace-events", flags]);
        assert_eq!(set, b"+OK\r\n", "{who}");
        subs.push(EventSub::subscribe(port, who, flags));
    }
    let mut rc = r.conn();
    let mut sc = s.conn();
    // The payload comes from a third server, so the source's own events
    // stay out of the comparison.
    let other = Redis::start();
    let mut oc = other.conn();
    assert_eq!(oc.cmd(&["RPUSH", "src", "a", "b"]), b":2\r\n");
    let p = dump(&mut oc, "src");
    let lines: Vec<(&str, &str, Vec<&str>)> = vec![
        ("k", "0", vec![]),
        ("k", "0", vec![]),
        ("k", "5000", vec!["REPLACE"]),
        ("k", "1", vec!["ABSTTL", "REPLACE"]),
        ("k2", "1", vec!["ABSTTL"]),
        ("k3", "0", vec!["FREQ", "9"]),
    ];
    for (key, ttl, extra) in &lines {
        let a = restore(&mut rc, key, ttl, &p, extra);
        let b = restore(&mut sc, key, ttl, &p, extra);
        assert_eq!(a, b, "RESTORE {key} {ttl} {extra:?}");
    }
    for c in [&mut rc, &mut sc] {
        assert_eq!(c.cmd(&["SET", "__marker__", "1"]), b"+OK\r\n");
    }
    let want = subs[0].until_marker(1);
    let got = subs[1].until_marker(1);
    if let Err(msg) = compare_chunks("redis", &want, "strata", &got, same_frame) {
        panic!("events differ:\n{msg}");
    }
    // new + restore (keyspace and keyevent each) for the three keys
    // created, del for the replaced one, and the marker's new + set.
    assert_eq!(want.frames.len(), 3 * 4 + 2 + 4, "{:?}", want.frames.len());
}
