//! Whole values held in memory: the compact encodings Redis 7.0 would pick
//! for them (listpack, intset, quicklist nodes) or its plain forms when they
//! are too big, and the DUMP payload built from them.

use std::collections::HashSet;

use super::{
    canonical_int, format_score, intset, listpack::Listpack, put_len, put_string, EncodeError,
    EncodeOptions,
};
use crate::rdb::{crc64, kind, RDB_VERSION};

/// A key's value, held in memory. Collections are small enough to hold (the
/// caller decides, from the element count it knows); big ones are streamed
/// through the writer's `begin_*` calls instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    String(&'a [u8]),
    /// Elements head to tail.
    List(Vec<&'a [u8]>),
    Set(Vec<&'a [u8]>),
    Hash(Vec<(&'a [u8], &'a [u8])>),
    /// Member and score pairs, in any order.
    ZSet(Vec<(&'a [u8], f64)>),
}

/// Quicklist node containers.
const NODE_PLAIN: u64 = 1;
const NODE_PACKED: u64 = 2;
/// What 7.0 adds to an element's length when estimating whether it still
/// fits a node (`SIZE_ESTIMATE_OVERHEAD`).
const NODE_ENTRY_OVERHEAD: usize = 8;

/// Appends the value's body (no key, no type byte) and returns its type byte.
pub fn encode_value(
    out: &mut Vec<u8>,
    value: &Value<'_>,
    opts: &EncodeOptions,
) -> Result<u8, EncodeError> {
    match value {
        Value::String(s) => {
            put_string(out, s, opts.compress);
            Ok(kind::STRING)
        }
        Value::List(items) => encode_list(out, items, opts),
        Value::Set(members) => encode_set(out, members, opts),
        Value::Hash(pairs) => encode_hash(out, pairs, opts),
        Value::ZSet(pairs) => encode_zset(out, pairs, opts),
    }
}

/// DUMP's payload: type byte, value, RDB version (u16 LE), and the CRC-64
/// of all of that (u64 LE). Real Redis RESTOREs it.
pub fn dump_payload(value: &Value<'_>, opts: &EncodeOptions) -> Result<Vec<u8>, EncodeError> {
    let mut out = vec![0];
    out[0] = encode_value(&mut out, value, opts)?;
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Lists are always a quicklist in 7.0: packed listpack nodes filled up to
/// the node byte budget the way RPUSH fills them, and a PLAIN node for each
/// huge element.
fn encode_list(
    out: &mut Vec<u8>,
    items: &[&[u8]],
    opts: &EncodeOptions,
) -> Result<u8, EncodeError> {
    if items.is_empty() {
        return Err(EncodeError::Empty("list"));
    }
    let limits = &opts.limits;
    let mut body = Vec::new();
    let mut nodes = 0u64;
    let mut node: Option<Listpack> = None;
    for item in items {
        if item.len() >= limits.list_plain_threshold {
            if let Some(lp) = node.take() {
                put_node(&mut body, lp, opts.compress);
                nodes += 1;
            }
            put_len(&mut body, NODE_PLAIN);
            put_string(&mut body, item, opts.compress);
            nodes += 1;
            continue;
        }
        let fits = node.as_ref().is_some_and(|lp| {
            lp.total_bytes() + item.len() + NODE_ENTRY_OVERHEAD <= limits.list_node_bytes
                && lp.len() < usize::from(u16::MAX)
        });
        if !fits {
            if let Some(lp) = node.take() {
                put_node(&mut body, lp, opts.compress);
                nodes += 1;
            }
        }
        node.get_or_insert_with(Listpack::new).push(item);
    }
    if let Some(lp) = node.take() {
        put_node(&mut body, lp, opts.compress);
        nodes += 1;
    }
    put_len(out, nodes);
    out.extend_from_slice(&body);
    Ok(kind::LIST_QUICKLIST_2)
}

fn put_node(out: &mut Vec<u8>, lp: Listpack, compress: bool) {
    put_len(out, NODE_PACKED);
    put_string(out, &lp.finish(), compress);
}

/// An intset when every member is a canonical integer and there are few
/// enough; otherwise the plain set (7.0 has no listpack sets).
fn encode_set(
    out: &mut Vec<u8>,
    members: &[&[u8]],
    opts: &EncodeOptions,
) -> Result<u8, EncodeError> {
    if members.is_empty() {
        return Err(EncodeError::Empty("set"));
    }
    if members.len() <= opts.limits.set_max_intset_entries {
        let ints: Option<Vec<i64>> = members.iter().map(|m| canonical_int(m)).collect();
        if let Some(mut ints) = ints {
            let blob = intset::encode(&mut ints)?;
            put_string(out, &blob, opts.compress);
            return Ok(kind::SET_INTSET);
        }
    }
    check_unique(members.iter().copied(), "set member")?;
    put_len(out, members.len() as u64);
    for m in members {
        put_string(out, m, opts.compress);
    }
    Ok(kind::SET)
}

/// A listpack of field, value, ... within the hash-max-listpack limits;
/// otherwise the plain hash.
fn encode_hash(
    out: &mut Vec<u8>,
    pairs: &[(&[u8], &[u8])],
    opts: &EncodeOptions,
) -> Result<u8, EncodeError> {
    if pairs.is_empty() {
        return Err(EncodeError::Empty("hash"));
    }
    check_unique(pairs.iter().map(|p| p.0), "hash field")?;
    let limits = &opts.limits;
    let small = pairs.len() <= limits.hash_max_listpack_entries
        && pairs.iter().all(|(f, v)| {
            f.len() <= limits.hash_max_listpack_value && v.len() <= limits.hash_max_listpack_value
        });
    if small {
        let mut lp = Listpack::new();
        for (f, v) in pairs {
            lp.push(f);
            lp.push(v);
        }
        put_string(out, &lp.finish(), opts.compress);
        return Ok(kind::HASH_LISTPACK);
    }
    put_len(out, pairs.len() as u64);
    for (f, v) in pairs {
        put_string(out, f, opts.compress);
        put_string(out, v, opts.compress);
    }
    Ok(kind::HASH)
}

/// A listpack of member, score, ... ordered by score then member within the
/// zset-max-listpack limits; otherwise ZSET_2, highest score first as 7.0
/// writes its skiplist (tail to head).
fn encode_zset(
    out: &mut Vec<u8>,
    pairs: &[(&[u8], f64)],
    opts: &EncodeOptions,
) -> Result<u8, EncodeError> {
    if pairs.is_empty() {
        return Err(EncodeError::Empty("sorted set"));
    }
    if pairs.iter().any(|p| p.1.is_nan()) {
        return Err(EncodeError::NanScore);
    }
    check_unique(pairs.iter().map(|p| p.0), "sorted set member")?;
    let mut sorted = pairs.to_vec();
    // Numeric score order (-0 equals 0, as Redis compares), then member bytes.
    sorted.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
    let limits = &opts.limits;
    let small = pairs.len() <= limits.zset_max_listpack_entries
        && pairs
            .iter()
            .all(|p| p.0.len() <= limits.zset_max_listpack_value);
    if small {
        let mut lp = Listpack::new();
        for (m, s) in &sorted {
            lp.push(m);
            push_score(&mut lp, *s);
        }
        put_string(out, &lp.finish(), opts.compress);
        return Ok(kind::ZSET_LISTPACK);
    }
    put_len(out, pairs.len() as u64);
    for (m, s) in sorted.iter().rev() {
        put_string(out, m, opts.compress);
        out.extend_from_slice(&s.to_le_bytes());
    }
    Ok(kind::ZSET_2)
}

/// A listpack score as 7.0.15 stores it: an integral score within
/// +-2^62 as an integer (so -0 becomes 0), anything else as d2string text.
fn push_score(lp: &mut Listpack, score: f64) {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if (-LIMIT..=LIMIT).contains(&score) && score == score.trunc() {
        lp.push_int(score as i64);
    } else {
        lp.push(format_score(score).as_bytes());
    }
}

/// A duplicate member makes a 7.0 loader reject the whole RDB.
fn check_unique<'a>(
    items: impl ExactSizeIterator<Item = &'a [u8]>,
    what: &'static str,
) -> Result<(), EncodeError> {
    let mut seen = HashSet::with_capacity(items.len());
    for i in items {
        if !seen.insert(i) {
            return Err(EncodeError::Duplicate(what));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: &Value<'_>) -> (u8, Vec<u8>) {
        let mut out = Vec::new();
        let t = encode_value(&mut out, v, &EncodeOptions::default()).unwrap_or(0xEE);
        (t, out)
    }

    #[test]
    fn verified_examples() {
        // Reference: list [a, b, "1", "2"] is one packed quicklist node.
        let (t, b) = body(&Value::List(vec![b"a", b"b", b"1", b"2"]));
        assert_eq!(t, kind::LIST_QUICKLIST_2);
        let mut want = vec![0x01, 0x02, 0x11, 0x11, 0, 0, 0, 0x04, 0];
        want.extend_from_slice(&[
            0x81, 0x61, 0x02, 0x81, 0x62, 0x02, 0x01, 0x01, 0x02, 0x01, 0xFF,
        ]);
        assert_eq!(b, want);
        // zset {m: 1.5}.
        let (t, b) = body(&Value::ZSet(vec![(b"m", 1.5)]));
        assert_eq!(t, kind::ZSET_LISTPACK);
        assert_eq!(
            b,
            [0x0F, 0x0F, 0, 0, 0, 0x02, 0, 0x81, 0x6D, 0x02, 0x83, 0x31, 0x2E, 0x35, 0x04, 0xFF]
        );
        // intset {1, 2, 3}.
        let (t, b) = body(&Value::Set(vec![b"3", b"1", b"2"]));
        assert_eq!(t, kind::SET_INTSET);
        assert_eq!(b, [0x0E, 2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
    }

    #[test]
    fn encoding_choices() {
        assert_eq!(body(&Value::Set(vec![b"1", b"x"])).0, kind::SET);
        let many: Vec<Vec<u8>> = (0..513).map(|i: i32| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = many.iter().map(|v| v.as_slice()).collect();
        assert_eq!(body(&Value::Set(refs[..512].to_vec())).0, kind::SET_INTSET);
        assert_eq!(body(&Value::Set(refs.clone())).0, kind::SET);
        let long = [b'v'; 65];
        assert_eq!(
            body(&Value::Hash(vec![(b"f", &long[..64])])).0,
            kind::HASH_LISTPACK
        );
        assert_eq!(body(&Value::Hash(vec![(b"f", &long[..])])).0, kind::HASH);
        let pairs: Vec<(&[u8], &[u8])> = refs.iter().map(|r| (*r, *r)).collect();
        assert_eq!(
            body(&Value::Hash(pairs[..512].to_vec())).0,
            kind::HASH_LISTPACK
        );
        assert_eq!(body(&Value::Hash(pairs)).0, kind::HASH);
        assert_eq!(body(&Value::ZSet(vec![(&long[..], 1.0)])).0, kind::ZSET_2);
    }

    #[test]
    fn zset_scores_in_listpacks() {
        let (_, b) = body(&Value::ZSet(vec![(b"a", -0.0), (b"b", 1e17), (b"c", 1e19)]));
        // Skip the string length and listpack header.
        let lp = &b[7..];
        assert_eq!(&lp[..5], [0x81, b'a', 0x02, 0x00, 0x01]);
        assert_eq!(&lp[5..8], [0x81, b'b', 0x02]);
        assert_eq!(lp[8], 0xF4);
        assert_eq!(&lp[8 + 9 + 1..8 + 9 + 4], [0x81, b'c', 0x02]);
        assert_eq!(&lp[8 + 9 + 4..8 + 9 + 10], b"\x851e+19");
    }

    #[test]
    fn zset_order() {
        let (_, b) = body(&Value::ZSet(vec![(b"b", 2.0), (b"a", 2.0), (b"c", -1.0)]));
        // c (-1), then the tie a, b in member order.
        let pos = |m: u8| b.iter().position(|&x| x == m);
        assert!(pos(b'c') < pos(b'a') && pos(b'a') < pos(b'b'));
        let long = [b'z'; 70];
        let (_, b) = body(&Value::ZSet(vec![(&long[..], 1.0), (b"hi", 5.0)]));
        // ZSET_2 goes from the highest score down.
        assert_eq!(&b[..4], [0x02, 0x02, b'h', b'i']);
        assert_eq!(&b[4..12], 5.0f64.to_le_bytes());
    }

    #[test]
    fn quicklist_nodes() {
        // 100-byte elements: a node takes them while bytes + 108 <= 8192.
        let item = [b'q'; 100];
        let items: Vec<&[u8]> = vec![&item[..]; 200];
        let (_, b) = body(&Value::List(items));
        // Entries take 103 bytes: a node holding 79 (8144 bytes) refuses more.
        assert_eq!(b[0], 3);
        let big = vec![b'B'; 10_000];
        let (_, b) = body(&Value::List(vec![b"a", &big, b"b"]));
        assert_eq!(b[0], 3, "a big element gets its own packed node");
    }

    #[test]
    fn rejects_what_redis_cannot_load() {
        let mut out = Vec::new();
        let o = EncodeOptions::default();
        assert!(encode_value(&mut out, &Value::List(vec![]), &o).is_err());
        assert_eq!(
            encode_value(&mut out, &Value::ZSet(vec![(b"a", f64::NAN)]), &o),
            Err(EncodeError::NanScore)
        );
        assert_eq!(
            encode_value(&mut out, &Value::Hash(vec![(b"a", b"1"), (b"a", b"2")]), &o),
            Err(EncodeError::Duplicate("hash field"))
        );
    }

    #[test]
    fn dump_trailer() {
        let p =
            dump_payload(&Value::String(b"hello"), &EncodeOptions::default()).unwrap_or_default();
        assert_eq!(&p[..7], [0, 5, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(&p[7..9], [10, 0]);
        assert_eq!(p[9..], crc64(0, &p[..9]).to_le_bytes());
    }
}
