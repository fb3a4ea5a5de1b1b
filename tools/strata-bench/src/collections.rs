//! The large-collection dataset: one hash, one set and one zset with many
//! members each (1,000,000 by default) and a 100-member key of each type,
//! so point reads (HGET, SISMEMBER, ZSCORE) on a big and a small key show
//! whether per-operation latency stays flat as a collection grows.
//!
//! Members are "m" + 12 zero-padded digits, i in 0..members: exactly what
//! redis-benchmark makes of `m__rand_int__` with `-r members`, so every
//! timed read hits an existing member. Hash values are "v"; zset scores i.

use std::ops::Range;
use std::time::Instant;

use crate::resp::{self, Reply};

/// Members per loading command.
pub const PER_COMMAND: u64 = 1000;
/// Loading commands sent per write (their replies are read after it).
pub const WINDOW: usize = 32;
/// Members of the small keys.
pub const SMALL_MEMBERS: u64 = 100;

/// A collection type of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollType {
    Hash,
    Set,
    Zset,
}

impl CollType {
    pub const ALL: [CollType; 3] = [CollType::Hash, CollType::Set, CollType::Zset];

    /// "hash", "set", "zset": also the key suffix.
    pub fn word(self) -> &'static str {
        match self {
            CollType::Hash => "hash",
            CollType::Set => "set",
            CollType::Zset => "zset",
        }
    }

    /// The point read timed against this type.
    pub fn read_command(self) -> &'static str {
        match self {
            CollType::Hash => "HGET",
            CollType::Set => "SISMEMBER",
            CollType::Zset => "ZSCORE",
        }
    }

    fn add_command(self) -> &'static str {
        match self {
            CollType::Hash => "HSET",
            CollType::Set => "SADD",
            CollType::Zset => "ZADD",
        }
    }

    fn len_command(self) -> &'static str {
        match self {
            CollType::Hash => "HLEN",
            CollType::Set => "SCARD",
            CollType::Zset => "ZCARD",
        }
    }

    /// "big:hash", "small:zset", ...
    pub fn key(self, big: bool) -> String {
        format!("{}:{}", if big { "big" } else { "small" }, self.word())
    }
}

/// Member `i`: "m" + 12 digits, like redis-benchmark's `m__rand_int__`.
pub fn member(i: u64) -> String {
    format!("m{i:012}")
}

/// The command adding members `range` to `key`, as words (the reference
/// for `encode_add`).
#[cfg(test)]
fn add_command(ty: CollType, key: &str, range: Range<u64>) -> Vec<String> {
    let mut cmd = vec![ty.add_command().to_string(), key.to_string()];
    for i in range {
        match ty {
            CollType::Hash => cmd.extend([member(i), "v".to_string()]),
            CollType::Set => cmd.push(member(i)),
            CollType::Zset => cmd.extend([i.to_string(), member(i)]),
        }
    }
    cmd
}

/// Decimal digits of `n` into the end of `buf`; returns where they start.
fn decimal(mut n: u64, buf: &mut [u8]) -> usize {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || at == 0 {
            return at;
        }
    }
}

fn push_bulk(out: &mut Vec<u8>, data: &[u8]) {
    let mut len = [0u8; 20];
    let at = decimal(data.len() as u64, &mut len);
    out.push(b'$');
    out.extend_from_slice(&len[at..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Appends the RESP encoding of `add_command(ty, key, range)`, without
/// building strings per member: encoding three million members stays
/// cheap even in a debug build, so it never slows the load down.
pub fn encode_add(ty: CollType, key: &str, range: Range<u64>, out: &mut Vec<u8>) {
    let words_per_member = if ty == CollType::Set { 1 } else { 2 };
    let words = 2 + words_per_member * (range.end - range.start);
    let mut num = [0u8; 20];
    let at = decimal(words, &mut num);
    out.push(b'*');
    out.extend_from_slice(&num[at..]);
    out.extend_from_slice(b"\r\n");
    push_bulk(out, ty.add_command().as_bytes());
    push_bulk(out, key.as_bytes());
    let mut m = *b"m000000000000";
    for i in range {
        m[1..].fill(b'0');
        decimal(i % 1_000_000_000_000, &mut m[1..]);
        match ty {
            CollType::Hash => {
                push_bulk(out, &m);
                push_bulk(out, b"v");
            }
            CollType::Set => push_bulk(out, &m),
            CollType::Zset => {
                let at = decimal(i, &mut num);
                push_bulk(out, &num[at..]);
                push_bulk(out, &m);
            }
        }
    }
}

/// Member ranges of the loading commands for `members` members.
pub fn chunks(members: u64) -> impl Iterator<Item = Range<u64>> {
    (0..members)
        .step_by(PER_COMMAND as usize)
        .map(move |start| start..(start + PER_COMMAND).min(members))
}

fn expect_integer(reply: &Reply, want: u64, what: &str) -> Result<(), String> {
    match reply {
        Reply::Integer(n) if *n == want as i64 => Ok(()),
        other => Err(format!("{what}: expected :{want}, got {other:?}")),
    }
}

/// Deletes and refills one key with `members` members, then checks its
/// length. Returns the seconds spent sending the adds and reading their
/// replies (the commands are encoded beforehand, outside that time).
fn fill(conn: &mut resp::Conn, ty: CollType, key: &str, members: u64) -> Result<f64, String> {
    let io = |e: std::io::Error| format!("loading {key}: {e}");
    let reply = conn.call(&["DEL", key]).map_err(io)?;
    if let Some(e) = reply.error() {
        return Err(format!("DEL {key}: {e}"));
    }
    let all: Vec<Range<u64>> = chunks(members).collect();
    let encoded: Vec<Vec<u8>> = all
        .chunks(WINDOW)
        .map(|window| {
            let mut out = Vec::new();
            for r in window {
                encode_add(ty, key, r.clone(), &mut out);
            }
            out
        })
        .collect();
    let start = Instant::now();
    for (window, out) in all.chunks(WINDOW).zip(&encoded) {
        let replies = conn.send_encoded(out, window.len()).map_err(io)?;
        for (r, reply) in window.iter().zip(&replies) {
            // The key was deleted first: every member is new.
            let what = format!("{} {key} members {}..{}", ty.add_command(), r.start, r.end);
            expect_integer(reply, r.end - r.start, &what)?;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let len = conn.call(&[ty.len_command(), key]).map_err(io)?;
    expect_integer(&len, members, &format!("{} {key}", ty.len_command()))?;
    Ok(secs)
}

/// Loads the big keys (`big_members` each) and the small keys
/// (`SMALL_MEMBERS` each) into the server on `port`, checking every reply
/// and each key's final length. Returns the seconds the server took to
/// take the adds (encoding and the checks excluded).
pub fn load(port: u16, big_members: u64) -> Result<f64, String> {
    let mut conn = resp::Conn::connect(port).map_err(|e| format!("connecting: {e}"))?;
    let mut secs = 0.0;
    for ty in CollType::ALL {
        secs += fill(&mut conn, ty, &ty.key(true), big_members)?;
        secs += fill(&mut conn, ty, &ty.key(false), SMALL_MEMBERS)?;
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_match_redis_benchmark_rand_int() {
        // redis-benchmark writes __rand_int__ as %012llu.
        assert_eq!(member(0), "m000000000000");
        assert_eq!(member(999_999), "m000000999999");
        assert_eq!(member(42).len(), 13);
    }

    #[test]
    fn chunks_cover_every_member_once() {
        let c: Vec<_> = chunks(2500).collect();
        assert_eq!(c, vec![0..1000, 1000..2000, 2000..2500]);
        assert_eq!(chunks(1_000_000).count(), 1000);
        assert_eq!(chunks(100).collect::<Vec<_>>(), vec![0..100]);
        assert_eq!(chunks(0).count(), 0);
    }

    #[test]
    fn builds_add_commands() {
        assert_eq!(
            add_command(CollType::Hash, "big:hash", 0..2),
            [
                "HSET",
                "big:hash",
                "m000000000000",
                "v",
                "m000000000001",
                "v"
            ]
        );
        assert_eq!(
            add_command(CollType::Set, "small:set", 5..6),
            ["SADD", "small:set", "m000000000005"]
        );
        assert_eq!(
            add_command(CollType::Zset, "big:zset", 7..8),
            ["ZADD", "big:zset", "7", "m000000000007"]
        );
        assert_eq!(CollType::Zset.key(true), "big:zset");
        assert_eq!(CollType::Set.key(false), "small:set");
    }

    #[test]
    fn direct_encoding_equals_generic_encoding() {
        for ty in CollType::ALL {
            for range in [0..3, 998..1000, 1_234_567..1_234_570, 5..5] {
                let (mut direct, mut generic) = (Vec::new(), Vec::new());
                encode_add(ty, "big:x", range.clone(), &mut direct);
                resp::encode(&add_command(ty, "big:x", range.clone()), &mut generic);
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(generic).unwrap(),
                    "{ty:?} {range:?}"
                );
            }
        }
        let mut d = [0u8; 4];
        assert_eq!(decimal(0, &mut d), 3);
        assert_eq!(&d[3..], b"0");
    }

    #[test]
    fn checks_integer_replies() {
        assert!(expect_integer(&Reply::Integer(1000), 1000, "x").is_ok());
        assert!(expect_integer(&Reply::Integer(999), 1000, "x").is_err());
        assert!(expect_integer(&Reply::Error("ERR".into()), 1, "x").is_err());
    }
}
