//! Byte-exact views of RESP2/RESP3 replies, for the differential tests.
//!
//! Replies are compared as the exact bytes each server wrote; nothing is
//! decoded to text, so a wrong byte in a non-UTF-8 key or value cannot hide
//! behind a replacement character. Where Redis leaves the order of an
//! aggregate's elements unspecified (KEYS, SMEMBERS, HGETALL of a hashtable,
//! CONFIG GET, ...), a reply is reduced to a canonical byte string that keeps
//! each element's raw bytes, and for map-like replies each field together
//! with its value, and only sorts them.

#![allow(dead_code)]

use std::fmt;

/// How the elements of a reply's top-level aggregate are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The reply's bytes exactly as written.
    Exact,
    /// The elements form a multiset of raw byte strings (KEYS, SMEMBERS,
    /// HKEYS, ...). A RESP3 map is still compared as pairs.
    Set,
    /// The elements are (field, value) pairs forming a multiset, each pair
    /// kept together: a flat array of 2n elements (RESP2 HGETALL, CONFIG
    /// GET, ZRANGE WITHSCORES), a RESP3 map, or an array of 2-element
    /// arrays (RESP3 ZRANGE WITHSCORES, HRANDFIELD WITHVALUES).
    Pairs,
}

/// One RESP value as the bytes it occupies in a reply.
#[derive(Debug)]
pub struct Frame<'a> {
    /// Every byte of the value, header and children included.
    pub raw: &'a [u8],
    /// The type byte: one of `+ - : _ # , ( $ ! = * ~ > %`.
    pub kind: u8,
    /// The header line after the type byte, without CR LF: a simple
    /// value, or a length or count.
    pub line: &'a [u8],
    /// The payload of a bulk string, blob error or verbatim string; `None`
    /// for the null bulk string and for every other type.
    pub payload: Option<&'a [u8]>,
    /// An aggregate's elements (a map's keys and values alternate).
    pub items: Vec<Frame<'a>>,
}

impl Frame<'_> {
    /// The header: type byte, line and CR LF.
    pub fn head(&self) -> &[u8] {
        &self.raw[..self.line.len() + 3]
    }

    pub fn is_aggregate(&self) -> bool {
        matches!(self.kind, b'*' | b'~' | b'>' | b'%') && self.line != b"-1"
    }
}

/// A reply that is not valid RESP.
#[derive(Debug)]
pub struct BadFrame(String);

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Frames the first RESP value in `buf`; `Ok(None)` while it is incomplete.
/// Status and error lines may hold any byte but CR LF.
pub fn parse_prefix(buf: &[u8]) -> Result<Option<Frame<'_>>, BadFrame> {
    Ok(parse_at(buf, 0)?.map(|(frame, _)| frame))
}

/// Frames a whole reply, which must be exactly one RESP value.
#[track_caller]
pub fn parse(reply: &[u8]) -> Frame<'_> {
    match parse_prefix(reply) {
        Ok(Some(frame)) if frame.raw.len() == reply.len() => frame,
        Ok(Some(_)) => panic!("trailing bytes after a reply: {}", show_bytes(reply)),
        Ok(None) => panic!("incomplete reply: {}", show_bytes(reply)),
        Err(e) => panic!("undecodable reply {}: {e}", show_bytes(reply)),
    }
}

fn parse_at(buf: &[u8], start: usize) -> Result<Option<(Frame<'_>, usize)>, BadFrame> {
    let Some(&kind) = buf.get(start) else {
        return Ok(None);
    };
    let Some(eol) = buf[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| start + p)
    else {
        return Ok(None);
    };
    let line = &buf[start + 1..eol];
    let mut end = eol + 2;
    let mut payload = None;
    let mut items = Vec::new();
    let number = || -> Result<i64, BadFrame> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BadFrame(format!("bad length {}", show_bytes(line))))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => {}
        b'$' | b'!' | b'=' => match number()? {
            -1 if kind == b'$' => {}
            len if len >= 0 => {
                let len = len as usize;
                if buf.len() < end + len + 2 {
                    return Ok(None);
                }
                if &buf[end + len..end + len + 2] != b"\r\n" {
                    return Err(BadFrame("bulk string not ended by CR LF".into()));
                }
                payload = Some(&buf[end..end + len]);
                end += len + 2;
            }
            len => return Err(BadFrame(format!("bad bulk length {len}"))),
        },
        b'*' | b'~' | b'>' | b'%' => match number()? {
            -1 if kind == b'*' => {}
            n if n >= 0 => {
                let count = if kind == b'%' { 2 * n } else { n };
                for _ in 0..count {
                    match parse_at(buf, end)? {
                        Some((item, next)) => {
                            items.push(item);
                            end = next;
                        }
                        None => return Ok(None),
                    }
                }
            }
            n => return Err(BadFrame(format!("bad aggregate count {n}"))),
        },
        other => {
            return Err(BadFrame(format!(
                "unknown RESP type byte {}",
                show_bytes(&[other])
            )))
        }
    }
    let frame = Frame {
        raw: &buf[start..end],
        kind,
        line,
        payload,
        items,
    };
    Ok(Some((frame, end)))
}

/// The reply reduced to a byte string that two servers' replies share
/// exactly when they agree under `order`: the header, then the elements'
/// (or pairs') raw bytes, sorted. Every element is a complete RESP value,
/// so the concatenation is unambiguous. Non-aggregates stay as they are.
#[track_caller]
pub fn canonical(reply: &[u8], order: Order) -> Vec<u8> {
    if order == Order::Exact {
        return reply.to_vec();
    }
    let frame = parse(reply);
    if !frame.is_aggregate() {
        return reply.to_vec();
    }
    let nested_pairs = frame
        .items
        .iter()
        .all(|i| i.is_aggregate() && i.kind != b'%' && i.items.len() == 2);
    let mut units: Vec<&[u8]> = if frame.kind == b'%' || (order == Order::Pairs && !nested_pairs) {
        if frame.items.len() % 2 != 0 {
            // Not pairs at all: compare exactly, so the difference shows.
            return reply.to_vec();
        }
        frame
            .items
            .chunks(2)
            .map(|p| {
                let at = p[0].raw.as_ptr() as usize - reply.as_ptr() as usize;
                &reply[at..at + p[0].raw.len() + p[1].raw.len()]
            })
            .collect()
    } else {
        frame.items.iter().map(|i| i.raw).collect()
    };
    units.sort();
    let mut out = frame.head().to_vec();
    for u in units {
        out.extend_from_slice(u);
    }
    out
}

/// The payloads of a flat aggregate of bulk strings.
#[track_caller]
pub fn bulk_items(reply: &[u8]) -> Vec<Vec<u8>> {
    let frame = parse(reply);
    assert!(
        frame.is_aggregate(),
        "not an aggregate: {}",
        show_bytes(reply)
    );
    frame
        .items
        .iter()
        .map(|i| match i.payload {
            Some(p) if i.kind == b'$' => p.to_vec(),
            _ => panic!("not a bulk string: {}", show_bytes(i.raw)),
        })
        .collect()
}

/// The value of an integer reply, or `None` for any other reply.
pub fn integer_of(reply: &[u8]) -> Option<i64> {
    match parse_prefix(reply) {
        Ok(Some(f)) if f.kind == b':' && f.raw.len() == reply.len() => {
            std::str::from_utf8(f.line).ok()?.parse().ok()
        }
        _ => None,
    }
}

/// Bytes for a failure message: printable ASCII as is, everything else
/// (CR, LF, NUL, 0x80-0xff) escaped, so two different replies never print
/// the same.
pub fn show_bytes(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// How far apart the two servers' TTL-family answers may be for a deadline
/// set relative to each server's own clock (EXPIRE, SET EX, ...). The test
/// sends each command to both servers back to back from one thread, so
/// they read the (shared) machine clock apart by microseconds, or by up to
/// some hundreds of milliseconds on a loaded 2-core machine. TTL and
/// EXPIRETIME are whole seconds and may round across a second boundary:
/// ±1 s. PTTL and PEXPIRETIME: ±1000 ms, well below the gap between any two
/// relative expiries the tests use (100 s, 1000 s, 100000 s), so a wrong
/// amount or unit still fails. Negative answers (-1 no TTL, -2 no key) and
/// errors must match exactly, and so must EXPIRETIME/PEXPIRETIME of a
/// deadline set as an absolute time (EXAT, PXAT, EXPIREAT): compare those
/// with [`Order::Exact`].
pub const TTL_TOLERANCE_S: i64 = 1;
/// See [`TTL_TOLERANCE_S`].
pub const PTTL_TOLERANCE_MS: i64 = 1000;

/// Whether two replies to a TTL-family command (`TTL`, `PTTL`,
/// `EXPIRETIME`, `PEXPIRETIME`, any case) agree within the tolerance
/// documented on [`TTL_TOLERANCE_S`].
pub fn ttl_agree(command: &[u8], left: &[u8], right: &[u8]) -> bool {
    let tolerance = match command.to_ascii_lowercase().as_slice() {
        b"ttl" | b"expiretime" => TTL_TOLERANCE_S,
        b"pttl" | b"pexpiretime" => PTTL_TOLERANCE_MS,
        _ => return left == right,
    };
    match (integer_of(left), integer_of(right)) {
        (Some(l), Some(r)) if l >= 0 && r >= 0 => (l - r).abs() <= tolerance,
        _ => left == right,
    }
}

/// The fields of a HELLO reply, in Redis 7.0's order.
pub const HELLO_FIELDS: [&str; 7] = [
    "server", "version", "proto", "id", "mode", "role", "modules",
];

/// A HELLO reply with the value of `id` (an integer, the one field that
/// differs between servers) replaced by `:<id>`, and that id.
#[track_caller]
pub fn mask_hello_id(reply: &[u8]) -> (Vec<u8>, i64) {
    let frame = parse(reply);
    assert!(
        frame.is_aggregate() && frame.items.len() % 2 == 0,
        "HELLO replied {}",
        show_bytes(reply)
    );
    let mut out = frame.head().to_vec();
    let mut id = None;
    for pair in frame.items.chunks(2) {
        out.extend_from_slice(pair[0].raw);
        if pair[0].payload == Some(&b"id"[..]) {
            assert_eq!(pair[1].kind, b':', "HELLO id {}", show_bytes(pair[1].raw));
            id = integer_of(pair[1].raw);
            out.extend_from_slice(b":<id>\r\n");
        } else {
            out.extend_from_slice(pair[1].raw);
        }
    }
    (out, id.expect("HELLO reply without an integer id"))
}

/// The exact HELLO reply (id masked as by [`mask_hello_id`]) both Redis
/// 7.0.15 and Strata give: Strata reports `server` "redis" and `version`
/// "7.0.15" because clients feature-detect on them (docs/compatibility.md).
pub fn expected_hello(proto: u8) -> Vec<u8> {
    let values: [&[u8]; 7] = [
        b"$5\r\nredis\r\n",
        b"$6\r\n7.0.15\r\n",
        if proto == 3 { b":3\r\n" } else { b":2\r\n" },
        b":<id>\r\n",
        b"$10\r\nstandalone\r\n",
        b"$6\r\nmaster\r\n",
        b"*0\r\n",
    ];
    let mut out = if proto == 3 {
        b"%7\r\n".to_vec()
    } else {
        b"*14\r\n".to_vec()
    };
    for (field, value) in HELLO_FIELDS.iter().zip(values) {
        out.extend_from_slice(format!("${}\r\n{field}\r\n", field.len()).as_bytes());
        out.extend_from_slice(value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms_keep_bytes_and_pairs() {
        let a = b"*4\r\n$1\r\na\r\n$2\r\n\x80\xff\r\n$1\r\nb\r\n$1\r\n1\r\n";
        let b = b"*4\r\n$1\r\nb\r\n$1\r\n1\r\n$1\r\na\r\n$2\r\n\x80\xff\r\n";
        let swapped = b"*4\r\n$1\r\nb\r\n$2\r\n\x80\xff\r\n$1\r\na\r\n$1\r\n1\r\n";
        let other_byte = b"*4\r\n$1\r\na\r\n$2\r\n\x80\xfe\r\n$1\r\nb\r\n$1\r\n1\r\n";
        assert_eq!(canonical(a, Order::Pairs), canonical(b, Order::Pairs));
        assert_ne!(canonical(a, Order::Pairs), canonical(swapped, Order::Pairs));
        assert_eq!(canonical(a, Order::Set), canonical(swapped, Order::Set));
        assert_ne!(canonical(a, Order::Set), canonical(other_byte, Order::Set));
        let map = b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n";
        let map2 = b"%2\r\n$1\r\nb\r\n:2\r\n$1\r\na\r\n:1\r\n";
        let map_swapped = b"%2\r\n$1\r\nb\r\n:1\r\n$1\r\na\r\n:2\r\n";
        assert_eq!(canonical(map, Order::Set), canonical(map2, Order::Set));
        assert_ne!(
            canonical(map, Order::Set),
            canonical(map_swapped, Order::Set)
        );
        let nested = b"*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n";
        let nested2 = b"*2\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\na\r\n,1\r\n";
        let nested_swapped = b"*2\r\n*2\r\n$1\r\nb\r\n,1\r\n*2\r\n$1\r\na\r\n,2\r\n";
        assert_eq!(
            canonical(nested, Order::Pairs),
            canonical(nested2, Order::Pairs)
        );
        assert_ne!(
            canonical(nested, Order::Pairs),
            canonical(nested_swapped, Order::Pairs)
        );
        assert!(parse_prefix(b"-ERR \x80\xff x\r\n").unwrap().is_some());
        assert!(parse_prefix(b"$5\r\na\r\nb").unwrap().is_none());
        assert!(ttl_agree(b"PTTL", b":99999\r\n", b":100000\r\n"));
        assert!(!ttl_agree(b"PTTL", b":100\r\n", b":100000\r\n"));
        assert!(!ttl_agree(b"TTL", b":-1\r\n", b":0\r\n"));
    }
}
