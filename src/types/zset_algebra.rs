//! ZUNION, ZINTER, ZDIFF (and their STORE forms) and ZINTERCARD. Inputs may
//! be sorted sets or plain sets (members of a set count with score 1, as in
//! Redis); a set's members are `subkey(db, key, version, member) -> ""` in
//! the data CF (the set family's encoding).
//!
//! Results are sorted by (score, member), the order Redis's result zset has.
//! Scores combine in Redis's order: sources sorted by size (a stable sort),
//! weighted scores that are NaN (0 * inf) count as 0, a SUM that gives NaN
//! (inf + -inf) counts as 0.

use std::collections::HashMap;

use bytes::Bytes;

use super::encoding::{prefix_end, subkey, subkey_prefix};
use super::zset::{member_score, store_locked, Scored, ZsetStream};
use super::{KeyType, Metadata, TypeError, TypeResult, WriteContext};
use crate::engine::Cf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    fn apply(self, acc: &mut f64, v: f64) {
        match self {
            Aggregate::Sum => {
                *acc += v;
                if acc.is_nan() {
                    *acc = 0.0;
                }
            }
            Aggregate::Min => {
                if v < *acc {
                    *acc = v
                }
            }
            Aggregate::Max => {
                if v > *acc {
                    *acc = v
                }
            }
        }
    }
}

/// One input: its key, weight and live metadata (None when missing).
struct Source<'k> {
    key: &'k [u8],
    weight: f64,
    meta: Option<Metadata>,
}

impl Source<'_> {
    fn len(&self) -> u64 {
        self.meta.as_ref().map_or(0, |m| m.size)
    }
}

/// Reads the live metadata of an input: a sorted set or a set, WRONGTYPE
/// for anything else. `locked`: the caller holds the key lock.
fn source_meta(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    locked: bool,
) -> TypeResult<Option<Metadata>> {
    let meta = if locked {
        w.lookup_key(db, key)?.filter(|m| !m.is_expired(w.now_ms()))
    } else {
        w.get_live(db, key)?
    };
    match meta {
        Some(m) if m.kind != KeyType::ZSet && m.kind != KeyType::Set => Err(TypeError::WrongType),
        other => Ok(other),
    }
}

/// WRONGTYPE if an input is neither a sorted set nor a set (Redis checks
/// this before it parses WEIGHTS/AGGREGATE).
pub fn check_sources(w: &WriteContext<'_>, db: u8, keys: &[Bytes]) -> TypeResult<()> {
    for k in keys {
        source_meta(w, db, k, false)?;
    }
    Ok(())
}

/// Every (member, score) of a source, streamed.
fn for_each(
    w: &WriteContext<'_>,
    db: u8,
    src: &Source<'_>,
    f: &mut dyn FnMut(&[u8], f64) -> bool,
) -> TypeResult<()> {
    let Some(meta) = &src.meta else {
        return Ok(());
    };
    if meta.kind == KeyType::ZSet {
        let stream: ZsetStream<'_> = super::zset::stream_version(w, db, src.key, meta);
        for item in stream {
            let (m, s) = item?;
            if !f(&m, s) {
                break;
            }
        }
        return Ok(());
    }
    let prefix = subkey_prefix(db, src.key, meta.version);
    let upper = prefix_end(&prefix);
    let mut it = w.iter(Cf::Data, Some(prefix.as_slice()), upper.as_deref());
    it.seek_to_first();
    while it.valid() {
        if !f(&it.key()[prefix.len()..], 1.0) {
            break;
        }
        it.next();
    }
    Ok(it.status()?)
}

/// The score of `member` in a source (1 for set members).
fn find(w: &WriteContext<'_>, db: u8, src: &Source<'_>, member: &[u8]) -> TypeResult<Option<f64>> {
    let Some(meta) = &src.meta else {
        return Ok(None);
    };
    if meta.kind == KeyType::ZSet {
        return member_score(w, db, src.key, meta.version, member);
    }
    Ok(w.get(Cf::Data, &subkey(db, src.key, meta.version, member))?
        .map(|_| 1.0))
}

fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

fn compute(
    w: &WriteContext<'_>,
    db: u8,
    keys: &[Bytes],
    weights: &[f64],
    agg: Aggregate,
    op: SetOp,
    locked: bool,
) -> TypeResult<Vec<Scored>> {
    let mut srcs = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        srcs.push(Source {
            key: k,
            weight: weights.get(i).copied().unwrap_or(1.0),
            meta: source_meta(w, db, k, locked)?,
        });
    }
    let mut out: Vec<Scored> = Vec::new();
    match op {
        SetOp::Union => {
            srcs.sort_by_key(|s| s.len());
            let mut acc: HashMap<Bytes, f64> = HashMap::new();
            for src in &srcs {
                for_each(w, db, src, &mut |m, s| {
                    let v = weighted(s, src.weight);
                    match acc.get_mut(m) {
                        Some(cur) => agg.apply(cur, v),
                        None => {
                            acc.insert(Bytes::copy_from_slice(m), v);
                        }
                    }
                    true
                })?;
            }
            out.extend(acc);
        }
        SetOp::Inter => {
            srcs.sort_by_key(|s| s.len());
            if srcs.iter().any(|s| s.len() == 0) {
                return Ok(out);
            }
            let mut first: Vec<Scored> = Vec::with_capacity(srcs[0].len() as usize);
            for_each(w, db, &srcs[0], &mut |m, s| {
                first.push((Bytes::copy_from_slice(m), s));
                true
            })?;
            'member: for (m, s) in first {
                let mut score = weighted(s, srcs[0].weight);
                for src in &srcs[1..] {
                    match find(w, db, src, &m)? {
                        Some(v) => agg.apply(&mut score, v * src.weight),
                        None => continue 'member,
                    }
                }
                out.push((m, score));
            }
        }
        SetOp::Diff => {
            let mut first = Vec::new();
            for_each(w, db, &srcs[0], &mut |m, s| {
                first.push((Bytes::copy_from_slice(m), s));
                true
            })?;
            'member: for (m, s) in first {
                for src in &srcs[1..] {
                    if find(w, db, src, &m)?.is_some() {
                        continue 'member;
                    }
                }
                out.push((m, s));
            }
        }
    }
    out.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    Ok(out)
}

/// ZUNION / ZINTER / ZDIFF: the result in (score, member) order.
pub fn combine(
    w: &WriteContext<'_>,
    db: u8,
    keys: &[Bytes],
    weights: &[f64],
    agg: Aggregate,
    op: SetOp,
) -> TypeResult<Vec<Scored>> {
    compute(w, db, keys, weights, agg, op, false)
}

/// ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE: stores the result at `dst`
/// (deleting `dst` when it is empty) and returns its size.
pub fn combine_store(
    w: &WriteContext<'_>,
    db: u8,
    dst: &[u8],
    keys: &[Bytes],
    weights: &[f64],
    agg: Aggregate,
    op: SetOp,
) -> TypeResult<(u64, Option<u64>)> {
    let mut all: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
    all.push(dst);
    w.lock(db, &all);
    let result = compute(w, db, keys, weights, agg, op, true)?;
    store_locked(w, db, dst, &result)
}

/// ZINTERCARD: the size of the intersection, counting stopping at `limit`
/// (0 = no limit).
pub fn inter_card(w: &WriteContext<'_>, db: u8, keys: &[Bytes], limit: u64) -> TypeResult<u64> {
    let mut srcs = Vec::with_capacity(keys.len());
    for k in keys {
        srcs.push(Source {
            key: k,
            weight: 1.0,
            meta: source_meta(w, db, k, false)?,
        });
    }
    srcs.sort_by_key(|s| s.len());
    if srcs.iter().any(|s| s.len() == 0) {
        return Ok(0);
    }
    let mut n = 0u64;
    let mut err = None;
    for_each(w, db, &srcs[0], &mut |m, _| {
        for src in &srcs[1..] {
            match find(w, db, src, m) {
                Ok(Some(_)) => {}
                Ok(None) => return true,
                Err(e) => {
                    err = Some(e);
                    return false;
                }
            }
        }
        n += 1;
        limit == 0 || n < limit
    })?;
    match err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::types::zset::{self, AddFlags};

    use crate::types::test_context as open;

    /// Writes a plain set in the set family's encoding (member -> "").
    fn put_set(w: &WriteContext<'_>, key: &[u8], members: &[&str]) {
        let mut meta = Metadata::collection(KeyType::Set, w.new_version(), 0);
        meta.size = members.len() as u64;
        let mut ws = w.write_set();
        for m in members {
            ws.batch.put(
                Cf::Data,
                subkey(0, key, meta.version, m.as_bytes()),
                Vec::new(),
            );
        }
        ws.put_meta(0, key, &meta, None);
        w.stage(ws).expect("commit");
    }

    fn names(v: &[Scored]) -> Vec<(String, f64)> {
        v.iter()
            .map(|(m, s)| (String::from_utf8_lossy(m).into_owned(), *s))
            .collect()
    }

    /// Plain sets take part with score 1 (times their weight).
    #[test]
    fn sets_are_inputs_with_score_one() {
        let (_d, w) = open();
        let elems = [(5.0, Bytes::from("x")), (2.0, Bytes::from("y"))];
        zset::add(&w, 0, b"z", AddFlags::default(), &elems).expect("add");
        put_set(&w, b"s", &["x", "w"]);
        let keys = [Bytes::from("z"), Bytes::from("s")];
        let union =
            combine(&w, 0, &keys, &[1.0, 3.0], Aggregate::Sum, SetOp::Union).expect("union");
        assert_eq!(
            names(&union),
            vec![("y".into(), 2.0), ("w".into(), 3.0), ("x".into(), 8.0)]
        );
        let inter = combine(&w, 0, &keys, &[], Aggregate::Max, SetOp::Inter).expect("inter");
        assert_eq!(names(&inter), vec![("x".into(), 5.0)]);
        let diff = combine(&w, 0, &keys, &[], Aggregate::Sum, SetOp::Diff).expect("diff");
        assert_eq!(names(&diff), vec![("y".into(), 2.0)]);
        assert_eq!(inter_card(&w, 0, &keys, 0).expect("card"), 1);
        let (n, _) =
            combine_store(&w, 0, b"d", &keys, &[], Aggregate::Min, SetOp::Union).expect("store");
        assert_eq!(n, 3);
        assert_eq!(zset::score(&w, 0, b"d", b"x").expect("score"), Some(1.0));
        // A string input is WRONGTYPE.
        crate::types::string::set(&w, 0, b"str", Bytes::from("v")).expect("set");
        let bad = [Bytes::from("z"), Bytes::from("str")];
        assert!(matches!(
            check_sources(&w, 0, &bad),
            Err(TypeError::WrongType)
        ));
    }
}
