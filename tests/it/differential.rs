//! The differential harness: seeded random command sequences are sent to
//! Strata and to a real redis-server, and the replies are compared byte for
//! byte, in RESP2 and RESP3. Redis is the specification; any difference is a
//! bug in Strata (or a nondeterministic reply [`agree`] must allow for).
//! Keys and values include non-UTF-8 bytes (NUL, 0x80-0xff, CR LF inside
//! bulk strings), and nothing is decoded to text before comparing.
//!
//! A failure prints the seed, the step and the last commands, so it can be
//! replayed by running the same seed.

use std::collections::{BTreeSet, VecDeque};

use crate::common::{
    canonical, expected_hello, integer_of, mask_hello_id, parse, show_args, show_bytes, ttl_agree,
    Conn, Diff, Order, Redis, Rng,
};

/// Small key space so commands collide: the same keys are read, written,
/// renamed and expired many times in one sequence. Two are not UTF-8 (one
/// matches `k*`, one holds NUL and CR LF).
const KEYS: &[&[u8]] = &[
    b"k0",
    b"k1",
    b"k2",
    b"n0",
    b"n1",
    b"{k}x",
    b"",
    b"k\x80\xff",
    b"\x00\r\n\xfe",
];

/// Values: realistic, numeric edge cases and hostile bytes.
const VALUES: &[&[u8]] = &[
    b"",
    b"v",
    b"hello world",
    b"0",
    b"10",
    b"-3",
    b"3.5",
    b"-0.25",
    b"1e3",
    b" 5",
    b"5 ",
    b"0x10",
    b"+7",
    b"007",
    b"-0",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"9223372036854775808",
    b"1.7976931348623157e308",
    b"inf",
    b"nan",
    b"abc\r\ndef",
    b"\x00bin\x00ary\xff",
    b"\x80",
    b"\r\n",
    b"\xff\xfe\x00\r\n\x81",
    b"\xe2\x82\xac",
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

/// Integer-ish arguments for INCRBY, GETRANGE, SETRANGE offsets, counts.
const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "5",
    "-5",
    "100",
    "-100",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "abc",
    "",
    "1.5",
    " 1",
    "536870911",
    "536870912",
];

const FLOATS: &[&str] = &[
    "0", "1", "-1", "0.1", "1.5e2", "-3.0", "inf", "-inf", "nan", "abc", "", "1e400", "10.50",
    "5.0e3", "0x10", " 2",
];

/// Relative expiry seconds: far apart, so two servers a few microseconds
/// apart always agree; non-positive values delete at once in both.
const REL_SECS: &[&str] = &[
    "100",
    "1000",
    "100000",
    "0",
    "-1",
    "abc",
    "9223372036854775807",
];
/// Absolute UNIX seconds: the past (deletes) or the year 2100 and later.
const ABS_SECS: &[&str] = &["1", "4102444800", "4102444801", "4200000000", "-5", "x"];
/// For SET EXAT: no past times. Redis 7.0 stores a key whose time has
/// passed and reclaims it later, on its own clock, which would make DBSIZE
/// differ between two servers; EXPIREAT and GETEX delete such keys at once.
const SET_ABS_SECS: &[&str] = &["4102444800", "4102444801", "0", "-5", "x"];
/// Absolute UNIX milliseconds for PXAT (the first two are in the future).
const PXAT_MS: &[&str] = &["4102444800000", "4102444800123", "0", "-1"];

fn rand_case(rng: &mut Rng, word: &str) -> String {
    word.chars()
        .map(|c| {
            if rng.below(2) == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// One random command as raw arguments. `full` selects the whole command
/// set; otherwise only the commands every build has (GET, SET, PING, ECHO,
/// SELECT), so the harness itself is exercised before the families merge.
fn gen(rng: &mut Rng, full: bool) -> Vec<Vec<u8>> {
    let key = |rng: &mut Rng| rng.pick(KEYS).to_vec();
    let val = |rng: &mut Rng| rng.pick(VALUES).to_vec();
    let int = |rng: &mut Rng| rng.pick(INTS).as_bytes().to_vec();
    fn w(s: &str) -> Vec<u8> {
        s.as_bytes().to_vec()
    }
    let mut a: Vec<Vec<u8>> = Vec::new();
    let basic = 6;
    let n = if full { 60 } else { basic };
    match rng.below(n) {
        0 | 1 => {
            a.push(w(&rand_case(rng, "get")));
            a.push(key(rng));
        }
        2 | 3 => {
            a.push(w("SET"));
            a.push(key(rng));
            a.push(val(rng));
        }
        4 => {
            a.push(w(&rand_case(rng, "ping")));
            if rng.below(2) == 0 {
                a.push(val(rng));
            }
        }
        5 => match rng.below(4) {
            0 => a.push(w("ECHO")),
            1 => {
                a.push(w("ECHO"));
                a.push(val(rng));
            }
            2 => {
                a.push(w("SELECT"));
                a.push(w(pick_str(rng, &["0", "1", "0", "16", "-1", "x"])));
            }
            _ => {
                a.push(w("GET"));
            }
        },
        6..=9 => {
            // SET with options in odd case and order, some invalid.
            a.push(w("set"));
            a.push(key(rng));
            a.push(val(rng));
            let opts = rng.below(4);
            for _ in 0..opts {
                match rng.below(9) {
                    0 => a.push(w(&rand_case(rng, "nx"))),
                    1 => a.push(w(&rand_case(rng, "xx"))),
                    2 => a.push(w(&rand_case(rng, "get"))),
                    3 => a.push(w(&rand_case(rng, "keepttl"))),
                    4 => {
                        a.push(w(&rand_case(rng, "ex")));
                        a.push(w(pick_str(rng, REL_SECS)));
                    }
                    5 => {
                        a.push(w(&rand_case(rng, "px")));
                        a.push(w(pick_str(rng, &["100000", "1000000", "0", "-7", "z"])));
                    }
                    6 => {
                        a.push(w(&rand_case(rng, "exat")));
                        a.push(w(pick_str(rng, SET_ABS_SECS)));
                    }
                    7 => {
                        a.push(w(&rand_case(rng, "pxat")));
                        a.push(w(pick_str(rng, PXAT_MS)));
                    }
                    _ => a.push(w(pick_str(rng, &["ex", "bogus", "px"]))),
                }
            }
        }
        10 => {
            a.push(w(pick_str(rng, &["SETNX", "GETSET", "APPEND"])));
            a.push(key(rng));
            if rng.below(10) != 0 {
                a.push(val(rng));
            }
        }
        11 => {
            a.push(w(pick_str(rng, &["SETEX", "PSETEX"])));
            a.push(key(rng));
            a.push(w(pick_str(rng, &["100000", "1000000", "0", "-1", "x"])));
            a.push(val(rng));
        }
        12 => {
            a.push(w(pick_str(
                rng,
                &["MGET", "EXISTS", "TOUCH", "DEL", "UNLINK"],
            )));
            for _ in 0..=rng.below(4) {
                a.push(key(rng));
            }
            if rng.below(12) == 0 {
                a.truncate(1);
            }
        }
        13 => {
            a.push(w(pick_str(rng, &["MSET", "MSETNX"])));
            for _ in 0..=rng.below(3) {
                a.push(key(rng));
                a.push(val(rng));
            }
            if rng.below(8) == 0 {
                a.pop();
            }
        }
        14 => {
            a.push(w(pick_str(
                rng,
                &["GETDEL", "STRLEN", "INCR", "DECR", "TYPE", "PERSIST"],
            )));
            a.push(key(rng));
        }
        15 | 16 => {
            a.push(w(pick_str(rng, &["INCR", "DECR"])));
            a.push(w(pick_str(rng, &["n0", "n1"])));
        }
        17 | 18 => {
            a.push(w(pick_str(rng, &["INCRBY", "DECRBY"])));
            a.push(key(rng));
            a.push(int(rng));
        }
        19 => {
            a.push(w("INCRBYFLOAT"));
            a.push(key(rng));
            a.push(w(pick_str(rng, FLOATS)));
        }
        20 => {
            a.push(w("GETEX"));
            a.push(key(rng));
            match rng.below(7) {
                0 => {}
                1 => {
                    a.push(w(&rand_case(rng, "ex")));
                    a.push(w(pick_str(rng, REL_SECS)));
                }
                2 => {
                    a.push(w(&rand_case(rng, "px")));
                    a.push(w(pick_str(rng, &["100000", "0", "-1"])));
                }
                3 => {
                    a.push(w(&rand_case(rng, "exat")));
                    a.push(w(pick_str(rng, ABS_SECS)));
                }
                4 => {
                    a.push(w(&rand_case(rng, "pxat")));
                    a.push(w(pick_str(rng, &PXAT_MS[..2])));
                }
                5 => a.push(w(&rand_case(rng, "persist"))),
                _ => {
                    a.push(w("EX"));
                    a.push(w("100"));
                    a.push(w("PERSIST"));
                }
            }
        }
        21 | 22 => {
            a.push(w(pick_str(rng, &["GETRANGE", "SUBSTR"])));
            a.push(key(rng));
            a.push(int(rng));
            a.push(int(rng));
        }
        23 => {
            a.push(w("SETRANGE"));
            a.push(key(rng));
            a.push(w(pick_str(
                rng,
                &["0", "1", "5", "-1", "x", "100", "536870912"],
            )));
            a.push(val(rng));
        }
        24 => {
            a.push(w("LCS"));
            a.push(key(rng));
            a.push(key(rng));
            for _ in 0..rng.below(3) {
                match rng.below(5) {
                    0 => a.push(w(&rand_case(rng, "len"))),
                    1 => a.push(w(&rand_case(rng, "idx"))),
                    2 => {
                        a.push(w(&rand_case(rng, "minmatchlen")));
                        a.push(w(pick_str(rng, &["0", "1", "2", "-1", "x"])));
                    }
                    3 => a.push(w(&rand_case(rng, "withmatchlen"))),
                    _ => a.push(w("bogus")),
                }
            }
        }
        25 | 26 => {
            a.push(w(pick_str(rng, &["RENAME", "RENAMENX"])));
            a.push(key(rng));
            a.push(key(rng));
        }
        27 => {
            a.push(w(pick_str(rng, &["DBSIZE", "DBSIZE", "FLUSHDB", "SWAPDB"])));
            if a[0] == b"SWAPDB" {
                a.push(w(pick_str(rng, &["0", "1", "2"])));
                a.push(w(pick_str(rng, &["1", "0", "16", "x"])));
            } else if a[0] == b"FLUSHDB" && rng.below(2) == 0 {
                a.push(w(pick_str(rng, &["ASYNC", "sync", "bogus"])));
            }
        }
        28 => {
            a.push(w("MOVE"));
            a.push(key(rng));
            a.push(w(pick_str(rng, &["0", "1", "2", "16", "x"])));
        }
        29 => {
            a.push(w("COPY"));
            a.push(key(rng));
            a.push(key(rng));
            for _ in 0..rng.below(3) {
                if rng.below(2) == 0 {
                    a.push(w(&rand_case(rng, "replace")));
                } else {
                    a.push(w(&rand_case(rng, "db")));
                    a.push(w(pick_str(rng, &["0", "1", "16", "x"])));
                }
            }
        }
        30..=32 => {
            a.push(w(pick_str(rng, &["EXPIRE", "PEXPIRE"])));
            a.push(key(rng));
            let secs = pick_str(rng, REL_SECS);
            if a[0] == b"PEXPIRE" && secs.parse::<i64>().is_ok_and(|s| s > 0 && s < i64::MAX) {
                a.push(format!("{secs}000").into_bytes());
            } else {
                a.push(w(secs));
            }
            // Only NX/XX with relative times: GT/LT between two nearly equal
            // relative deadlines would depend on each server's clock.
            if rng.below(3) == 0 {
                let opt = pick_str(rng, &["nx", "xx"]);
                a.push(w(&rand_case(rng, opt)));
            }
            if rng.below(10) == 0 {
                // Conflicting or unknown options: errors in both servers.
                let (x, y) =
                    *rng.pick(&[("NX", "XX"), ("bogus", "XX"), ("GT", "LT"), ("lt", "gt")]);
                a.push(w(x));
                a.push(w(y));
            }
        }
        33..=35 => {
            a.push(w(pick_str(rng, &["EXPIREAT", "PEXPIREAT"])));
            a.push(key(rng));
            let at = pick_str(rng, ABS_SECS);
            if a[0] == b"PEXPIREAT" && at.parse::<i64>().is_ok_and(|s| s > 1) {
                a.push(format!("{at}000").into_bytes());
            } else {
                a.push(w(at));
            }
            for _ in 0..rng.below(3) {
                let opt = pick_str(rng, &["nx", "xx", "gt", "lt"]);
                a.push(w(&rand_case(rng, opt)));
            }
        }
        36..=38 => {
            a.push(w(pick_str(
                rng,
                &["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"],
            )));
            a.push(key(rng));
        }
        39 => {
            a.push(w("KEYS"));
            let patterns: &[&[u8]] = &[
                b"*",
                b"k*",
                b"?0",
                b"[kn]*",
                b"*x",
                b"\\{*",
                b"*\xff",
                b"\x00*",
                b"[\x80-\xff]*",
                b"*[\x80-\xff]*",
            ];
            a.push(rng.pick(patterns).to_vec());
        }
        40 => {
            a.push(w(pick_str(rng, &["SELECT", "SELECT", "SELECT", "SWAPDB"])));
            a.push(w(pick_str(
                rng,
                &["0", "1", "0", "1", "2", "16", "-1", "x"],
            )));
            if a[0] == b"SWAPDB" {
                a.push(w(pick_str(rng, &["0", "1"])));
            }
        }
        41 => {
            // Wrong arity for a random command.
            let name = pick_str(
                rng,
                &[
                    "get", "set", "incr", "append", "getrange", "setrange", "rename", "expire",
                    "mset", "lcs", "copy", "move", "ttl", "strlen", "getex", "echo", "ping",
                ],
            );
            a.push(w(&rand_case(rng, name)));
            if name == "ping" {
                a.push(w("a"));
                a.push(w("b"));
            } else if name == "mset" {
                a.push(key(rng));
            } else if rng.below(2) == 0 {
                for _ in 0..6 {
                    a.push(key(rng));
                }
            }
        }
        42 => {
            a.push(w(pick_str(rng, &["nosuchcommand", "GETT", "SETT"])));
            a.push(key(rng));
        }
        43..=46 => {
            // Plain writes that make string keys numeric, so INCR and
            // friends see both kinds of value.
            a.push(w("SET"));
            a.push(w(pick_str(rng, &["n0", "n1", "k0"])));
            a.push(w(pick_str(
                rng,
                &["1", "-2", "100", "3.25", "9223372036854775806", "x"],
            )));
        }
        47 => {
            a.push(w("APPEND"));
            a.push(key(rng));
            a.push(val(rng));
        }
        48 => {
            a.push(w("STRLEN"));
            a.push(key(rng));
        }
        49 => {
            a.push(w("GETSET"));
            a.push(key(rng));
            a.push(val(rng));
        }
        50 => {
            a.push(w("EXISTS"));
            a.push(key(rng));
            a.push(key(rng));
        }
        51 => {
            a.push(w("TYPE"));
            a.push(key(rng));
        }
        _ => {
            a.push(w("GET"));
            a.push(key(rng));
        }
    }
    a
}

fn pick_str(rng: &mut Rng, words: &[&'static str]) -> &'static str {
    words[rng.below(words.len() as u64) as usize]
}

/// Whether two replies to `cmd` agree. Exact bytes, except what
/// legitimately differs between two servers: KEYS order is unspecified
/// (compared as a multiset of raw keys), and TTL/PTTL/EXPIRETIME/
/// PEXPIRETIME of a deadline set relative to each server's clock differ by
/// the moment each server got the command (within the tolerance documented
/// on `TTL_TOLERANCE_S`). A deadline set as an absolute time (EXAT, PXAT,
/// EXPIREAT, PEXPIREAT) must read back exactly from EXPIRETIME and
/// PEXPIRETIME.
fn agree(cmd: &[Vec<u8>], l: &[u8], r: &[u8]) -> bool {
    let name = cmd[0].to_ascii_lowercase();
    match name.as_slice() {
        b"expiretime" | b"pexpiretime" if is_absolute(l) || is_absolute(r) => l == r,
        b"ttl" | b"pttl" | b"expiretime" | b"pexpiretime" => ttl_agree(&name, l, r),
        b"keys" => canonical(l, Order::Set) == canonical(r, Order::Set),
        // KNOWN DIFFERENCE: see `quoted_argument_difference`.
        _ if l != r && quoted_argument_difference(cmd, l, r) => true,
        _ => l == r,
    }
}

/// KNOWN DIFFERENCE: an error line that quotes a client argument holding
/// NUL or non-UTF-8 bytes (`ERR unknown command 'x', with args beginning
/// with: ...`, `ERR Unsupported option ...`). Redis formats the argument as
/// a C string: cut at the first NUL, other bytes raw. Strata's errors are
/// Rust strings (`Reply::Error(String)`, src/server/dispatch.rs
/// `unknown_command`, src/cmd/keys.rs): it keeps the NUL and turns bytes
/// that are not UTF-8 into U+FFFD. Both turn CR and LF into spaces. The
/// difference is accepted only when Strata's line, with each such
/// argument's Strata rendering replaced by Redis's, equals Redis's line
/// byte for byte; everything else in the error stays exact.
fn quoted_argument_difference(cmd: &[Vec<u8>], l: &[u8], r: &[u8]) -> bool {
    if !(l.starts_with(b"-") && r.starts_with(b"-")) {
        return false;
    }
    let spaces = |v: &[u8]| -> Vec<u8> {
        v.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
            .collect()
    };
    let mut renderings: Vec<(Vec<u8>, Vec<u8>)> = cmd[1..]
        .iter()
        .filter(|a| a.iter().any(|&b| b == 0 || b >= 0x80))
        .map(|a| {
            let strata = spaces(String::from_utf8_lossy(a).as_bytes());
            let redis = spaces(a.split(|&b| b == 0).next().unwrap_or_default());
            (strata, redis)
        })
        .collect();
    if renderings.is_empty() {
        return false;
    }
    renderings.sort_by_key(|(strata, _)| std::cmp::Reverse(strata.len()));
    let mut fixed = l.to_vec();
    for (strata, redis) in &renderings {
        fixed = replace_all(&fixed, strata, redis);
    }
    fixed == r
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if !from.is_empty() && haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Whether an EXPIRETIME (seconds) or PEXPIRETIME (ms) reply is one of the
/// absolute deadlines the generator sets: every positive absolute time in
/// its pools is in the year 2100 or later, far from any relative one.
fn is_absolute(reply: &[u8]) -> bool {
    let Some(v) = integer_of(reply) else {
        return false;
    };
    let secs = ABS_SECS.iter().chain(SET_ABS_SECS);
    let ms = secs
        .filter_map(|t| t.parse::<i64>().ok())
        .map(|t| t.saturating_mul(1000))
        .chain(PXAT_MS.iter().filter_map(|t| t.parse::<i64>().ok()));
    ms.filter(|&t| t > 1_000_000_000_000)
        .any(|t| v == t || v == t / 1000 || v == t / 1000 + 1)
}

fn show(cmd: &[Vec<u8>]) -> String {
    let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
    show_args(&args)
}

/// Sends `steps` generated commands to both connections; panics with the
/// seed, the step and the recent history at the first difference.
fn run_sequence(
    left: &mut Conn,
    right: &mut Conn,
    seed: u64,
    steps: usize,
    full: bool,
    label: &str,
) -> Coverage {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut history: VecDeque<String> = VecDeque::new();
    let mut cov = Coverage::default();
    for step in 0..steps {
        let cmd = gen(&mut rng, full);
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        left.send(&args);
        right.send(&args);
        let l = left.read_reply();
        let r = right.read_reply();
        history.push_back(show(&cmd));
        if history.len() > 20 {
            history.pop_front();
        }
        if !agree(&cmd, &l, &r) {
            panic!(
                "{label}: seed {seed} step {step}: reply to {} differs\n  left:  {}\n  right: {}\n  last commands:\n    {}",
                show(&cmd),
                show_bytes(&l),
                show_bytes(&r),
                history.iter().cloned().collect::<Vec<_>>().join("\n    ")
            );
        }
        if r.starts_with(b"-") {
            cov.errors += 1;
        } else {
            cov.succeeded
                .insert(String::from_utf8_lossy(&cmd[0]).to_ascii_uppercase());
        }
        cov.steps += 1;
        if full && step % 50 == 49 {
            check_iteration(left, right, &mut rng, seed, step, label);
        }
    }
    cov
}

/// SCAN cursors and RANDOMKEY's choice legitimately differ between servers
/// (Strata walks sorted keys, Redis its hash table), so they are compared by
/// meaning: a full SCAN (with a random MATCH / TYPE / COUNT) must return the
/// same set of keys, and RANDOMKEY must return a key that exists, or nil
/// exactly when the database is empty.
fn check_iteration(
    left: &mut Conn,
    right: &mut Conn,
    rng: &mut Rng,
    seed: u64,
    step: usize,
    label: &str,
) {
    let mut opts: Vec<&str> = Vec::new();
    if rng.below(2) == 0 {
        opts.extend(["MATCH", pick_str(rng, &["*", "k*", "n?", "*x*"])]);
    }
    if rng.below(3) == 0 {
        opts.extend(["TYPE", pick_str(rng, &["string", "list", "STRING"])]);
    }
    if rng.below(2) == 0 {
        opts.extend(["COUNT", pick_str(rng, &["1", "3", "100"])]);
    }
    let (l, r) = (scan_all(left, &opts), scan_all(right, &opts));
    assert_eq!(l, r, "{label}: seed {seed} after step {step}: SCAN {opts:?} returned different keys (left: Strata)");
    for conn in [left, right] {
        let all = scan_all(conn, &[]);
        let reply = conn.cmd(&["RANDOMKEY"]);
        let f = parse(&reply);
        match (f.kind, f.payload) {
            (b'$', Some(k)) => assert!(
                all.contains(k),
                "{label}: seed {seed} after step {step}: RANDOMKEY returned a missing key {}",
                show_bytes(k)
            ),
            (b'$' | b'_', None) => assert!(
                all.is_empty(),
                "{label}: seed {seed} after step {step}: RANDOMKEY nil in a non-empty db"
            ),
            _ => panic!("{label}: RANDOMKEY replied {}", show_bytes(&reply)),
        }
    }
}

/// Every key a complete SCAN iteration returns (RESP2 and RESP3 encode the
/// SCAN reply identically).
fn scan_all(conn: &mut Conn, opts: &[&str]) -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    let mut cursor = b"0".to_vec();
    for _ in 0..10_000 {
        let mut args: Vec<&[u8]> = vec![&b"SCAN"[..], cursor.as_slice()];
        args.extend(opts.iter().map(|o| o.as_bytes()));
        conn.send(&args);
        let reply = conn.read_reply();
        let f = parse(&reply);
        let [next, batch] = f.items.as_slice() else {
            panic!("SCAN replied {}", show_bytes(&reply));
        };
        let (Some(next), true) = (next.payload, batch.is_aggregate()) else {
            panic!("SCAN replied {}", show_bytes(&reply));
        };
        for k in &batch.items {
            keys.insert(k.payload.expect("SCAN key is a bulk string").to_vec());
        }
        if next == b"0" {
            return keys;
        }
        cursor = next.to_vec();
    }
    panic!("SCAN did not finish within 10000 calls");
}

/// What a sequence exercised, so a generator that drifts into producing
/// mostly errors (or stops reaching a command) fails loudly.
#[derive(Default)]
struct Coverage {
    steps: usize,
    errors: usize,
    /// Commands that got at least one non-error reply.
    succeeded: BTreeSet<String>,
}

impl Coverage {
    fn merge(&mut self, other: Coverage) {
        self.steps += other.steps;
        self.errors += other.errors;
        self.succeeded.extend(other.succeeded);
    }

    #[track_caller]
    fn assert_reaches(&self, commands: &[&str]) {
        let missing: Vec<&&str> = commands
            .iter()
            .filter(|c| !self.succeeded.contains(**c))
            .collect();
        assert!(
            missing.is_empty(),
            "no successful reply from {missing:?} (succeeded: {:?})",
            self.succeeded
        );
        assert!(
            self.errors * 3 < self.steps,
            "{} of {} replies were errors: the generator is too hostile",
            self.errors,
            self.steps
        );
    }
}

/// Every command the full generator must reach with a non-error reply.
const FULL_SET: &[&str] = &[
    "GET",
    "SET",
    "SETNX",
    "SETEX",
    "PSETEX",
    "MGET",
    "MSET",
    "MSETNX",
    "GETSET",
    "GETDEL",
    "GETEX",
    "APPEND",
    "STRLEN",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "GETRANGE",
    "SETRANGE",
    "SUBSTR",
    "LCS",
    "DEL",
    "UNLINK",
    "EXISTS",
    "TYPE",
    "RENAME",
    "RENAMENX",
    "DBSIZE",
    "MOVE",
    "COPY",
    "TOUCH",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "PERSIST",
    "TTL",
    "PTTL",
    "EXPIRETIME",
    "PEXPIRETIME",
    "KEYS",
    "SELECT",
    "SWAPDB",
    "FLUSHDB",
    "PING",
    "ECHO",
];

const SEEDS: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8];
const STEPS: usize = 400;

/// The seeds to run: `STRATA_DIFF_SEED=n` replays one seed,
/// `STRATA_DIFF_SEEDS=n` runs seeds 1..=n (a longer soak), otherwise [`SEEDS`].
fn seeds() -> Vec<u64> {
    let env = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(one) = env("STRATA_DIFF_SEED") {
        vec![one]
    } else if let Some(n) = env("STRATA_DIFF_SEEDS") {
        (1..=n).collect()
    } else {
        SEEDS.to_vec()
    }
}

/// The full command set, RESP2 and RESP3 (alternating seeds).
/// Needs the string, keyspace and server families merged.
#[test]
fn random_sequences_match_redis() {
    let mut cov = Coverage::default();
    let seeds = seeds();
    for &seed in &seeds {
        let mut d = Diff::new();
        let proto = if seed % 2 == 0 {
            d.resp3();
            "RESP3"
        } else {
            "RESP2"
        };
        cov.merge(run_sequence(
            &mut d.s,
            &mut d.r,
            seed,
            STEPS,
            true,
            &format!("Strata vs Redis {proto}"),
        ));
    }
    if seeds.len() >= SEEDS.len() {
        cov.assert_reaches(FULL_SET);
    }
}

/// The commands every build has (GET, SET, PING, ECHO, SELECT).
#[test]
fn random_basic_sequences_match_redis() {
    for seed in [11, 12] {
        let mut d = Diff::new();
        if seed % 2 == 0 {
            d.resp3();
        }
        run_sequence(
            &mut d.s,
            &mut d.r,
            seed,
            STEPS,
            false,
            "Strata vs Redis (basic)",
        );
    }
}

/// The harness must be deterministic: Redis against Redis never differs.
/// A failure here is a bug in the generator or the normaliser, not in Strata.
#[test]
fn harness_is_deterministic_on_redis_itself() {
    let (a, b) = (Redis::start(), Redis::start());
    let mut cov = Coverage::default();
    for &seed in SEEDS {
        let (mut l, mut r) = (a.conn(), b.conn());
        for c in [&mut l, &mut r] {
            c.cmd(&["FLUSHALL"]);
            if seed % 2 == 0 {
                c.send(&[b"HELLO", b"3"]);
                c.resp3 = true;
                let (hello, _) = mask_hello_id(&c.read_reply());
                assert_eq!(hello, expected_hello(3), "{}", show_bytes(&hello));
            }
        }
        cov.merge(run_sequence(
            &mut l,
            &mut r,
            seed,
            STEPS,
            true,
            "Redis vs Redis",
        ));
    }
    cov.assert_reaches(FULL_SET);
}

/// Hand-written edge cases, each a script checked line by line.
const SCRIPTS: &[&str] = &[
    // SET options
    "set k v nx
     set k v2 nx
     get k
     set k v3 xx get
     set k v4 NX XX
     set k v EX 10 PX 100
     set k v ex 0
     set k v ex -1
     set k v px 9223372036854775807
     set k v exat 0
     set k v keepttl ex 10
     set k v get get
     set missing v xx get
     get missing
     set k v EX
     set k v foo",
    // INCR family
    "set n 9223372036854775806
     incr n
     incr n
     get n
     decrby n -9223372036854775808
     set n -9223372036854775808
     decr n
     incrby n abc
     set f 10.5
     incr f
     incrbyfloat f 0.1
     incrbyfloat f 5.0e3
     incrbyfloat f inf
     incrbyfloat f abc
     set f 1.7976931348623157e308
     incrbyfloat f 1.7976931348623157e308
     set s \" 1\"
     incr s
     incrbyfloat s 1
     set big 1e400
     incrbyfloat big 1",
    // ranges
    "set s \"Hello World\"
     getrange s 0 4
     getrange s -5 -1
     getrange s 5 2
     getrange s 0 -100
     getrange s -100 -100
     getrange s 100 200
     getrange missing 0 -1
     substr s 1 3
     setrange s 6 Redis
     get s
     setrange s 20 x
     strlen s
     setrange missing 0 \"\"
     exists missing
     setrange s -1 x
     setrange s 536870912 x",
    // LCS
    "mset a ohmytext b mynewtext
     lcs a b
     lcs a b len
     lcs a b idx
     lcs a b idx minmatchlen 4
     lcs a b idx withmatchlen
     lcs a b len idx
     lcs a missing
     lcs a b minmatchlen -1 idx",
    // keyspace: rename, copy, move, swapdb
    "set a 1
     rename a b
     get a
     get b
     rename missing x
     rename b b
     set c 2
     renamenx b c
     renamenx b d
     copy d e
     copy d e
     copy d e replace
     copy d e db 1
     move e 1
     move e 1
     select 1
     get e
     dbsize
     select 0
     swapdb 0 1
     dbsize
     get e
     swapdb 0 16
     move e 0
     copy d d
     flushdb
     dbsize",
    // expiry options
    "set k v
     ttl k
     expire k 100 gt
     ttl k
     expire k 100 lt
     persist k
     persist k
     expireat k 4102444800 nx
     expireat k 4102444801 nx
     expireat k 4102444801 gt
     expireat k 4102444700 gt
     expireat k 4102444700 lt
     expire k 100 nx xx
     expire k 100 gt lt
     expire k 9223372036854775807
     pexpire k 9223372036854775807
     expireat k 1
     exists k
     ttl k
     pttl missing
     set k v
     pttl k
     expiretime k
     pexpiretime missing
     getex k persist
     getex k ex 0
     getex k ex 100 persist
     getex missing ex 10",
    // wrong types and errors
    "set s v
     mset a
     mset a 1 b
     msetnx a 1 a 2
     get a
     getdel a
     getdel a
     del a b c
     unlink s s s
     touch s missing
     type s
     type missing
     echo
     ping a b
     select x
     select 99
     swapdb a 0
     nosuch a b",
];

#[test]
fn edge_case_scripts_match_redis() {
    for resp3 in [false, true] {
        let mut d = Diff::new();
        if resp3 {
            d.resp3();
        }
        for script in SCRIPTS {
            d.check(&["FLUSHALL"]);
            d.script(script);
        }
    }
}

/// Binary values survive every string path unchanged.
#[test]
fn binary_values_match_redis() {
    let mut d = Diff::new();
    let v: &[u8] = b"a\x00b\r\nc\xff\xfe";
    d.check_bin(&[b"SET", b"bin\x00key", v]);
    d.check_bin(&[b"GET", b"bin\x00key"]);
    d.check_bin(&[b"SET", b"", b""]);
    d.check_bin(&[b"GET", b""]);
    d.check_bin(&[b"APPEND", b"bin\x00key", b"\x00\r\n"]);
    d.check_bin(&[b"GETRANGE", b"bin\x00key", b"1", b"-2"]);
    d.check_bin(&[b"STRLEN", b"bin\x00key"]);
    d.check_bin(&[b"MGET", b"bin\x00key", b"", b"nope"]);
}
