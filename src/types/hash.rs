//! Hashes: a map of fields to values under one key.
//!
//! Storage encoding:
//!
//! ```text
//! meta  [db][key]                          -> Metadata { kind: Hash, version, size = field count,
//!                                                        payload = [] or [HASHTABLE] }
//! data  subkey(db, key, version, field)    -> value
//! ```
//!
//! Point operations (HGET, HSET, HDEL, HINCRBY, ...) read the metadata and
//! one subkey per field; whole-hash reads (HGETALL, HKEYS, HVALS, HSCAN)
//! stream an iterator bounded by the key's subkey prefix, so fields come out
//! in byte order (Redis's order is unspecified). DEL is one metadata delete:
//! the subkeys of the old version are dropped by compaction.
//!
//! The payload byte records the encoding Redis would have chosen: a hash
//! starts as a listpack and becomes a hashtable, for good, once a field or
//! value longer than `hash-max-listpack-value` is written or it grows past
//! `hash-max-listpack-entries`. OBJECT ENCODING reports it, and HSCAN uses
//! it: Redis answers a listpack hash in one reply with cursor 0.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;
use rand::Rng;

use super::encoding::{self, KeyType, Metadata};
use super::random_pick::random_under_prefix;
use super::string::{long_double_add, FloatAddError};
use super::{TypeError, TypeResult, WriteContext};
use crate::engine::{Cf, EngineIter};
use crate::glob::glob_match;
use crate::num::parse_i64;

/// Payload byte: Redis would hold this hash as a hashtable.
pub(crate) const HASHTABLE: u8 = 1;

const ERR_NOT_INTEGER: &str = "ERR hash value is not an integer";
const ERR_NOT_FLOAT: &str = "ERR hash value is not a float";
const ERR_OVERFLOW: &str = "ERR increment or decrement would overflow";
const ERR_NOT_FINITE: &str = "ERR increment would produce NaN or Infinity";

/// Hashes up to this size are sampled exactly (all fields read); larger
/// ones by random descent (see [`random_under_prefix`]).
const EXACT_SAMPLE_MAX: u64 = 1024;

/// Seeks one random descent may spend before settling.
const DESCENT_SEEK_BUDGET: usize = 1024;

/// The thresholds of Redis's listpack encoding (`hash-max-listpack-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListpackLimits {
    pub max_entries: u64,
    pub max_value: u64,
}

impl Default for ListpackLimits {
    /// Redis 7.0.15's defaults.
    fn default() -> Self {
        ListpackLimits {
            max_entries: 512,
            max_value: 64,
        }
    }
}

pub fn is_hashtable(meta: &Metadata) -> bool {
    meta.payload.first() == Some(&HASHTABLE)
}

/// The encoding OBJECT ENCODING reports for a hash.
pub fn encoding_name(meta: &Metadata) -> &'static str {
    if is_hashtable(meta) {
        "hashtable"
    } else {
        "listpack"
    }
}

/// Limits no hash exceeds: for writes that never convert (HDEL).
const NEVER_CONVERT: ListpackLimits = ListpackLimits {
    max_entries: u64::MAX,
    max_value: u64::MAX,
};

/// Which parts of each field-value pair a whole-hash read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    Fields,
    Values,
    Both,
}

/// The live hash at `key`, read without the lock (`None` when missing,
/// `WrongType` for other types). The read functions below take its result,
/// so the command layer can count the lookup as Redis does.
pub fn lookup(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
    w.get_typed(db, key, KeyType::Hash)
}

/// HGET: the value of `field` of the hash `meta`.
pub fn get(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    field: &[u8],
) -> TypeResult<Option<Bytes>> {
    let sub = encoding::subkey(db, key, meta.version, field);
    Ok(w.get(Cf::Data, &sub)?.map(Bytes::from))
}

/// HMGET: the value of each field of the hash `meta`.
pub fn mget<F: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    fields: &[F],
) -> TypeResult<Vec<Option<Bytes>>> {
    let values = field_values(w, db, key, meta, fields.iter().map(AsRef::as_ref))?;
    Ok(values.into_iter().map(|v| v.map(Bytes::from)).collect())
}

/// The stored values of `fields` of the hash `meta`, by one multi-get.
fn field_values<'f>(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    fields: impl Iterator<Item = &'f [u8]>,
) -> TypeResult<Vec<Option<Vec<u8>>>> {
    let subs: Vec<Vec<u8>> = fields
        .map(|f| encoding::subkey(db, key, meta.version, f))
        .collect();
    let refs: Vec<&[u8]> = subs.iter().map(Vec::as_slice).collect();
    Ok(w.multi_get(Cf::Data, &refs)?)
}

/// An iterator over the fields of one version of a hash, positioned at its
/// first field (or at the first field after `after`).
struct FieldCursor<'a> {
    it: Box<dyn EngineIter + 'a>,
    prefix: Vec<u8>,
}

impl<'a> FieldCursor<'a> {
    fn open(
        w: &'a WriteContext<'a>,
        db: u8,
        key: &[u8],
        meta: &Metadata,
        after: Option<&[u8]>,
    ) -> FieldCursor<'a> {
        let prefix = encoding::subkey_prefix(db, key, meta.version);
        let end = encoding::prefix_end(&prefix);
        let mut it = w.iter(Cf::Data, Some(&prefix), end.as_deref());
        match after {
            Some(field) => {
                // The smallest field greater than `field` is `field` + 0x00.
                let mut start = prefix.clone();
                start.extend_from_slice(field);
                start.push(0);
                it.seek(&start);
            }
            None => it.seek(&prefix),
        }
        FieldCursor { it, prefix }
    }

    fn valid(&self) -> bool {
        self.it.valid() && self.it.key().starts_with(&self.prefix)
    }

    fn field(&self) -> &[u8] {
        &self.it.key()[self.prefix.len()..]
    }

    fn value(&self) -> &[u8] {
        self.it.value()
    }

    fn next(&mut self) {
        self.it.next();
    }

    fn status(&self) -> TypeResult<()> {
        Ok(self.it.status()?)
    }
}

/// Every (field, value) of the live hash `meta` in field order; the part not
/// asked for is left empty.
fn all_pairs(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    parts: Parts,
) -> TypeResult<Vec<(Bytes, Bytes)>> {
    let mut out = Vec::with_capacity(meta.size.min(1 << 20) as usize);
    let mut c = FieldCursor::open(w, db, key, meta, None);
    while c.valid() {
        let field = match parts {
            Parts::Values => Bytes::new(),
            _ => Bytes::copy_from_slice(c.field()),
        };
        let value = match parts {
            Parts::Fields => Bytes::new(),
            _ => Bytes::copy_from_slice(c.value()),
        };
        out.push((field, value));
        c.next();
    }
    c.status()?;
    Ok(out)
}

/// HGETALL / HKEYS / HVALS: the pairs of the hash `meta` in field order,
/// streamed from one iterator; the part not asked for is left empty.
pub fn get_all(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    parts: Parts,
) -> TypeResult<Vec<(Bytes, Bytes)>> {
    all_pairs(w, db, key, meta, parts)
}

/// One HSCAN step.
#[derive(Debug, Default)]
pub struct ScanPage {
    pub pairs: Vec<(Bytes, Bytes)>,
    /// The last field examined when more remain (`None`: the walk is done).
    pub resume_after: Option<Vec<u8>>,
}

/// HSCAN of the hash `meta`. A hash Redis would keep as a listpack is
/// returned whole (as Redis does, whatever the cursor); a larger one is
/// walked `count` fields at a time after `after`.
pub fn scan(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    after: Option<&[u8]>,
    count: usize,
    pattern: Option<&[u8]>,
) -> TypeResult<ScanPage> {
    let whole = !is_hashtable(meta);
    let (after, count) = if whole {
        (None, usize::MAX)
    } else {
        (after, count.max(1))
    };
    let mut page = ScanPage::default();
    let mut c = FieldCursor::open(w, db, key, meta, after);
    let mut examined = 0;
    let mut last = None;
    while c.valid() && examined < count {
        examined += 1;
        if pattern.is_none_or(|p| glob_match(p, c.field(), false)) {
            page.pairs.push((
                Bytes::copy_from_slice(c.field()),
                Bytes::copy_from_slice(c.value()),
            ));
        }
        last = Some(c.field().to_vec());
        c.next();
    }
    c.status()?;
    if c.valid() {
        page.resume_after = last;
    }
    Ok(page)
}

/// HRANDFIELD with a count: `count > 0` gives that many distinct fields (all
/// of them when the hash is smaller), `count < 0` gives `-count` fields that
/// may repeat. Values are included when `with_values`.
///
/// Hashes up to [`EXACT_SAMPLE_MAX`] fields, and distinct picks of a
/// quarter of a hash or more, are sampled uniformly (reading every field);
/// other picks from larger hashes by random descent, which spreads over the
/// fields but is not uniform (Strata keeps no order statistics).
pub fn random_fields(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    count: i64,
    with_values: bool,
) -> TypeResult<Vec<(Bytes, Bytes)>> {
    let parts = if with_values {
        Parts::Both
    } else {
        Parts::Fields
    };
    let wanted = count.unsigned_abs();
    if count == 0 {
        return Ok(Vec::new());
    }
    if count > 0 && wanted >= meta.size {
        return all_pairs(w, db, key, meta, parts);
    }
    let mut rng = rand::thread_rng();
    if meta.size <= EXACT_SAMPLE_MAX {
        let all = all_pairs(w, db, key, meta, parts)?;
        if all.is_empty() {
            return Ok(all);
        }
        if count < 0 {
            return Ok((0..wanted)
                .map(|_| all[rng.gen_range(0..all.len())].clone())
                .collect());
        }
        let picks = rand::seq::index::sample(&mut rng, all.len(), wanted as usize);
        return Ok(picks.into_iter().map(|i| all[i].clone()).collect());
    }
    let prefix = encoding::subkey_prefix(db, key, meta.version);
    let strip = |(k, v): (Vec<u8>, Vec<u8>)| {
        let field = Bytes::copy_from_slice(&k[prefix.len()..]);
        let value = if with_values {
            Bytes::from(v)
        } else {
            Bytes::new()
        };
        (field, value)
    };
    let mut out = Vec::with_capacity(wanted.min(1 << 20) as usize);
    if count < 0 {
        for _ in 0..wanted {
            match random_under_prefix(w, Cf::Data, &prefix, &mut rng, DESCENT_SEEK_BUDGET)? {
                Some(pair) => out.push(strip(pair)),
                None => break,
            }
        }
        return Ok(out);
    }
    if wanted.saturating_mul(4) >= meta.size {
        // A large share of the hash: one pass keeping uniformly sampled
        // positions costs less than many descents.
        let mut picks =
            rand::seq::index::sample(&mut rng, meta.size as usize, wanted as usize).into_vec();
        picks.sort_unstable();
        let mut picks = picks.into_iter().peekable();
        let mut c = FieldCursor::open(w, db, key, meta, None);
        let mut position = 0;
        while c.valid() && picks.peek().is_some() {
            if picks.peek() == Some(&position) {
                picks.next();
                let value = if with_values {
                    Bytes::copy_from_slice(c.value())
                } else {
                    Bytes::new()
                };
                out.push((Bytes::copy_from_slice(c.field()), value));
            }
            position += 1;
            c.next();
        }
        c.status()?;
        return Ok(out);
    }
    // A small share: random descents until enough distinct fields turn up,
    // then (if the budget ran out) the first fields not yet taken, in order.
    let mut seen: HashSet<Bytes> = HashSet::with_capacity(out.capacity());
    let mut attempts = wanted.saturating_mul(4).saturating_add(64);
    while (out.len() as u64) < wanted && attempts > 0 {
        attempts -= 1;
        let Some(pair) = random_under_prefix(w, Cf::Data, &prefix, &mut rng, DESCENT_SEEK_BUDGET)?
        else {
            break;
        };
        let pair = strip(pair);
        if seen.insert(pair.0.clone()) {
            out.push(pair);
        }
    }
    let mut c = FieldCursor::open(w, db, key, meta, None);
    while c.valid() && (out.len() as u64) < wanted {
        if !seen.contains(c.field()) {
            let field = Bytes::copy_from_slice(c.field());
            let value = if with_values {
                Bytes::copy_from_slice(c.value())
            } else {
                Bytes::new()
            };
            out.push((field, value));
        }
        c.next();
    }
    c.status()?;
    Ok(out)
}

/// A hash opened for a write, under the key lock: the record as stored (to
/// keep counters exact) and the metadata being built.
struct Writable {
    stored: Option<Metadata>,
    meta: Metadata,
    /// Whether a live hash was there.
    existed: bool,
}

impl Writable {
    /// Reads `key` for a write (the caller holds its lock). A missing or
    /// expired key opens as a new empty hash with a fresh version.
    fn open(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Writable> {
        let stored = w.lookup_key(db, key)?;
        let live = stored.as_ref().filter(|m| !m.is_expired(w.now_ms()));
        let (meta, existed) = match live {
            Some(m) if m.kind != KeyType::Hash => return Err(TypeError::WrongType),
            Some(m) => (m.clone(), true),
            None => (
                Metadata::collection(KeyType::Hash, w.new_version(), 0),
                false,
            ),
        };
        Ok(Writable {
            stored,
            meta,
            existed,
        })
    }

    fn subkey(&self, db: u8, key: &[u8], field: &[u8]) -> Vec<u8> {
        encoding::subkey(db, key, self.meta.version, field)
    }

    /// Redis converts a listpack to a hashtable when it writes a field or
    /// value longer than the limit.
    fn note_write(&mut self, field: &[u8], value: &[u8], limits: ListpackLimits) {
        if field.len() as u64 > limits.max_value || value.len() as u64 > limits.max_value {
            self.meta.payload = Bytes::from_static(&[HASHTABLE]);
        }
    }

    /// Adds the metadata change to `ws` and commits: the key is deleted when
    /// the hash became empty, and converted when it outgrew the listpack.
    fn commit(
        mut self,
        w: &WriteContext<'_>,
        mut ws: super::WriteSet,
        db: u8,
        key: &[u8],
        limits: ListpackLimits,
    ) -> TypeResult<u64> {
        if self.meta.size > limits.max_entries {
            self.meta.payload = Bytes::from_static(&[HASHTABLE]);
        }
        if self.meta.size == 0 {
            if let Some(stored) = &self.stored {
                ws.delete_key(db, key, stored);
            }
        } else {
            ws.put_meta(db, key, &self.meta, self.stored.as_ref());
        }
        w.stage(ws)
    }
}

/// HSET / HMSET: sets each pair (a field given twice takes its last value).
/// Returns the number of fields that were new.
pub fn set(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    pairs: &[(Bytes, Bytes)],
    limits: ListpackLimits,
) -> TypeResult<(u64, Option<u64>)> {
    if pairs.is_empty() {
        return Ok((0, None));
    }
    w.lock(db, &[key]);
    let mut h = Writable::open(w, db, key)?;
    if let [(field, value)] = pairs {
        // One pair, the common HSET: one subkey, one point read, none of
        // the de-duplication's maps and vectors (~2.9k of a pipelined
        // HSET's 19.4k instructions, most of them SipHash and allocations;
        // docs/bench/instructions.md, stop 34).
        let sub = h.subkey(db, key, field);
        let added = !(h.existed && w.get(Cf::Data, &sub)?.is_some()) as u64;
        let mut ws = w.write_set();
        ws.batch.put(Cf::Data, sub, value.to_vec());
        h.note_write(field, value, limits);
        h.meta.size += added;
        return Ok((added, Some(h.commit(w, ws, db, key, limits)?)));
    }
    let mut last: HashMap<&[u8], &[u8]> = HashMap::with_capacity(pairs.len());
    for (f, v) in pairs {
        last.insert(f, v);
    }
    let unique: Vec<(&[u8], &[u8])> = last.into_iter().collect();
    let present: Vec<bool> = if h.existed {
        field_values(w, db, key, &h.meta, unique.iter().map(|(f, _)| *f))?
            .into_iter()
            .map(|v| v.is_some())
            .collect()
    } else {
        vec![false; unique.len()]
    };
    let mut ws = w.write_set();
    let mut added = 0;
    for ((field, value), was_there) in unique.iter().zip(present) {
        ws.batch
            .put(Cf::Data, h.subkey(db, key, field), value.to_vec());
        added += !was_there as u64;
    }
    // Redis checks every argument, also values a later pair overwrites.
    for (field, value) in pairs {
        h.note_write(field, value, limits);
    }
    h.meta.size += added;
    Ok((added, Some(h.commit(w, ws, db, key, limits)?)))
}

/// HSETNX: sets `field` only if it is not there. Returns whether it was set.
pub fn set_if_missing(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    field: &[u8],
    value: &[u8],
    limits: ListpackLimits,
) -> TypeResult<(bool, Option<u64>)> {
    w.lock(db, &[key]);
    let mut h = Writable::open(w, db, key)?;
    let sub = h.subkey(db, key, field);
    if h.existed && w.get(Cf::Data, &sub)?.is_some() {
        return Ok((false, None));
    }
    let mut ws = w.write_set();
    ws.batch.put(Cf::Data, sub, value.to_vec());
    h.note_write(field, value, limits);
    h.meta.size += 1;
    Ok((true, Some(h.commit(w, ws, db, key, limits)?)))
}

/// HDEL: removes the fields that exist (a field given twice counts once);
/// the key goes when the last field does. Returns how many were removed.
pub fn delete<F: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    fields: &[F],
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let mut h = Writable::open(w, db, key)?;
    if !h.existed {
        return Ok((0, None));
    }
    let mut unique: Vec<&[u8]> = fields.iter().map(AsRef::as_ref).collect();
    unique.sort_unstable();
    unique.dedup();
    let values = field_values(w, db, key, &h.meta, unique.iter().copied())?;
    let mut ws = w.write_set();
    let mut removed = 0;
    for (field, value) in unique.iter().zip(values) {
        if value.is_some() {
            ws.batch.delete(Cf::Data, h.subkey(db, key, field));
            removed += 1;
        }
    }
    if removed == 0 {
        return Ok((0, None));
    }
    h.meta.size = h.meta.size.saturating_sub(removed);
    // A shrinking hash keeps its encoding, as in Redis.
    let seq = h.commit(w, ws, db, key, NEVER_CONVERT)?;
    Ok((removed, Some(seq)))
}

/// Reads `field` under the lock, lets `f` compute its new value from the
/// current one, and stores it. Errors from `f` write nothing.
fn modify_field<T>(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    field: &[u8],
    limits: ListpackLimits,
    f: impl FnOnce(Option<&[u8]>) -> TypeResult<(T, Bytes)>,
) -> TypeResult<(T, Option<u64>)> {
    w.lock(db, &[key]);
    let mut h = Writable::open(w, db, key)?;
    let sub = h.subkey(db, key, field);
    let current = if h.existed {
        w.get(Cf::Data, &sub)?
    } else {
        None
    };
    let (result, new_value) = f(current.as_deref())?;
    let mut ws = w.write_set();
    ws.batch.put(Cf::Data, sub, new_value.to_vec());
    h.note_write(field, &new_value, limits);
    h.meta.size += current.is_none() as u64;
    Ok((result, Some(h.commit(w, ws, db, key, limits)?)))
}

/// HINCRBY: the new value.
pub fn incr_by(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    field: &[u8],
    delta: i64,
    limits: ListpackLimits,
) -> TypeResult<(i64, Option<u64>)> {
    modify_field(w, db, key, field, limits, |current| {
        let old = match current {
            None => 0,
            Some(v) => parse_i64(v).ok_or_else(|| TypeError::Reply(ERR_NOT_INTEGER.into()))?,
        };
        let new = old
            .checked_add(delta)
            .ok_or_else(|| TypeError::Reply(ERR_OVERFLOW.into()))?;
        Ok((new, Bytes::from(new.to_string())))
    })
}

/// HINCRBYFLOAT: the new value as stored, computed in long double as Redis
/// does. `incr` must already be a valid finite float (the caller checks, so
/// that its errors come before the key is looked up, as in Redis).
pub fn incr_by_float(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    field: &[u8],
    incr: &[u8],
    limits: ListpackLimits,
) -> TypeResult<(Bytes, Option<u64>)> {
    modify_field(w, db, key, field, limits, |current| {
        match long_double_add(current.unwrap_or(&b"0"[..]), incr) {
            Ok(v) => Ok((v.clone(), v)),
            Err(FloatAddError::Invalid) => Err(TypeError::Reply(ERR_NOT_FLOAT.into())),
            Err(FloatAddError::NotFinite) => Err(TypeError::Reply(ERR_NOT_FINITE.into())),
        }
    })
}

#[cfg(test)]
#[path = "hash_tests.rs"]
mod tests;
