//! Strings: the value lives inline in the key's metadata record
//! (`Metadata::string`), so every string command is one read and at most one
//! write of that record.
//!
//! Reads go through `WriteContext::get_live` (lazy expiry). Writes lock the
//! key, look the record up (an expired one is deleted as an effect), and pass
//! the record to `put_meta`/`delete_key` so key and expiry counters stay
//! exact. Write functions stage into the unit and return `Some` (the unit's
//! count of staged changes) when they changed something, `None` otherwise.

use std::collections::HashMap;

use bytes::Bytes;

use super::{KeyType, Metadata, TypeError, TypeResult, WriteContext};
use crate::num::parse_i64;

const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const ERR_OVERFLOW: &str = "ERR increment or decrement would overflow";
const ERR_TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/// Redis's buffer for long doubles (MAX_LONG_DOUBLE_CHARS); the largest
/// `%.17Lf` of a finite long double fits in it.
const LONG_DOUBLE_CHARS: usize = 5 * 1024;

extern "C" {
    fn strata_ld_add(
        a: *const u8,
        alen: usize,
        b: *const u8,
        blen: usize,
        out: *mut u8,
        outlen: usize,
    ) -> std::os::raw::c_long;
    fn strata_ld_valid(a: *const u8, alen: usize) -> std::os::raw::c_int;
    fn strata_ld_timeout_ms(a: *const u8, alen: usize, out: *mut i64) -> std::os::raw::c_int;
}

/// Why a long-double addition failed.
#[derive(Debug, PartialEq, Eq)]
pub enum FloatAddError {
    /// An operand is not a float Redis accepts.
    Invalid,
    /// The sum is NaN or infinite.
    NotFinite,
}

/// `a + b` in C long double, formatted as Redis's INCRBYFLOAT stores it.
pub fn long_double_add(a: &[u8], b: &[u8]) -> Result<Bytes, FloatAddError> {
    let mut out = vec![0u8; LONG_DOUBLE_CHARS];
    // SAFETY: the pointers and lengths describe live slices; the C side reads
    // at most `alen`/`blen` bytes and writes at most `outlen` bytes into `out`.
    let n = unsafe {
        strata_ld_add(
            a.as_ptr(),
            a.len(),
            b.as_ptr(),
            b.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match n {
        -2 => Err(FloatAddError::NotFinite),
        n if n < 0 || n as usize > out.len() => Err(FloatAddError::Invalid),
        n => {
            out.truncate(n as usize);
            Ok(Bytes::from(out))
        }
    }
}

/// Seconds given as a long double to whole milliseconds, rounded up, as
/// Redis computes a blocking timeout (`None` when `a` is not a float; values
/// beyond the range of i64 come out as `i64::MIN`, as Redis's cast does).
pub fn long_double_seconds_to_ms(a: &[u8]) -> Option<i64> {
    let mut ms = 0i64;
    // SAFETY: the pointer and length describe a live slice the C side only
    // reads; `ms` is a valid i64 (long long) the C side writes once.
    let ok = unsafe { strata_ld_timeout_ms(a.as_ptr(), a.len(), &mut ms) };
    (ok == 1).then_some(ms)
}

/// Whether `a` parses as a long double the way Redis's `string2ld` parses it.
pub fn long_double_valid(a: &[u8]) -> bool {
    // SAFETY: the pointer and length describe a live slice the C side only reads.
    unsafe { strata_ld_valid(a.as_ptr(), a.len()) == 1 }
}

/// The stored record if it holds a live key at `now`.
fn live(stored: &Option<Metadata>, now: u64) -> Option<&Metadata> {
    stored.as_ref().filter(|m| !m.is_expired(now))
}

/// The live record as a string value; `WrongType` if it holds another type.
fn live_string(stored: &Option<Metadata>, now: u64) -> TypeResult<Option<&Metadata>> {
    match live(stored, now) {
        Some(m) if m.kind != KeyType::String => Err(TypeError::WrongType),
        other => Ok(other),
    }
}

fn check_length(len: u64, max: i64) -> TypeResult<()> {
    if len > max.max(0) as u64 {
        return Err(TypeError::Reply(ERR_TOO_BIG.into()));
    }
    Ok(())
}

/// The value of a live string key (`WrongType` for other types).
pub fn get(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<Bytes>> {
    match w.get_live(db, key)? {
        None => Ok(None),
        Some(m) if m.kind != KeyType::String => Err(TypeError::WrongType),
        Some(m) => Ok(Some(m.payload)),
    }
}

/// MGET: per key, whether it exists (a hit, whatever its type) and its
/// value (`None` for missing keys and keys of other types).
pub fn mget<K: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    keys: &[K],
) -> TypeResult<Vec<(bool, Option<Bytes>)>> {
    keys.iter()
        .map(|k| {
            Ok(match w.get_live(db, k.as_ref())? {
                None => (false, None),
                Some(m) if m.kind != KeyType::String => (true, None),
                Some(m) => (true, Some(m.payload)),
            })
        })
        .collect()
}

/// The length of a string value, 0 for a missing key.
pub fn strlen(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<usize>> {
    Ok(get(w, db, key)?.map(|v| v.len()))
}

/// Plain SET: replaces any value and clears the TTL. Returns whether it staged a change (`Some`).
pub fn set(w: &WriteContext<'_>, db: u8, key: &[u8], value: Bytes) -> TypeResult<u64> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let mut ws = w.write_set();
    ws.put_meta(db, key, &Metadata::string(value, 0), stored.as_ref());
    w.stage(ws)
}

/// SET's existence condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    Always,
    /// NX: only if the key does not exist.
    IfMissing,
    /// XX: only if the key exists.
    IfExists,
}

/// What a write does to the key's TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlChange {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the TTL the key has (KEEPTTL).
    Keep,
    /// Expire at this absolute unix time in ms.
    At(u64),
}

#[derive(Debug, Clone, Copy)]
pub struct SetOptions {
    pub condition: SetCondition,
    pub ttl: TtlChange,
    /// GET: return the old value (and fail with WRONGTYPE if it is not a string).
    pub get: bool,
}

#[derive(Debug, Default)]
pub struct SetOutcome {
    /// The old value, read only when `get` was asked for.
    pub old: Option<Bytes>,
    /// Whether the value was written (false when NX/XX vetoed it).
    pub written: bool,
    pub seq: Option<u64>,
}

/// SET with all its options (also SETNX, SETEX, PSETEX, GETSET).
pub fn set_with(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    value: Bytes,
    opts: SetOptions,
) -> TypeResult<SetOutcome> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let now = w.now_ms();
    let current = live(&stored, now);
    let mut out = SetOutcome::default();
    if opts.get {
        out.old = live_string(&stored, now)?.map(|m| m.payload.clone());
    }
    let exists = current.is_some();
    let vetoed = match opts.condition {
        SetCondition::Always => false,
        SetCondition::IfMissing => exists,
        SetCondition::IfExists => !exists,
    };
    if vetoed {
        return Ok(out);
    }
    let expire_ms = match opts.ttl {
        TtlChange::Clear => 0,
        TtlChange::Keep => current.map_or(0, |m| m.expire_ms),
        TtlChange::At(ms) => ms,
    };
    let mut ws = w.write_set();
    ws.put_meta(
        db,
        key,
        &Metadata::string(value, expire_ms),
        stored.as_ref(),
    );
    out.seq = Some(w.stage(ws)?);
    out.written = true;
    Ok(out)
}

/// MSET (`only_if_none_exist` = false) or MSETNX (true): all keys in one
/// atomic batch under one lock. Returns whether the values were written and
/// whether it staged a change (`Some`). A key given twice takes its last value.
pub fn mset(
    w: &WriteContext<'_>,
    db: u8,
    pairs: &[(Bytes, Bytes)],
    only_if_none_exist: bool,
) -> TypeResult<(bool, Option<u64>)> {
    let keys: Vec<&[u8]> = pairs.iter().map(|(k, _)| k.as_ref()).collect();
    w.lock(db, &keys);
    let now = w.now_ms();
    let mut last: HashMap<&[u8], usize> = HashMap::with_capacity(pairs.len());
    for (i, k) in keys.iter().enumerate() {
        last.insert(k, i);
    }
    let mut stored_records = Vec::with_capacity(last.len());
    for (i, (k, _)) in pairs.iter().enumerate() {
        if last.get(k.as_ref()) != Some(&i) {
            continue;
        }
        let stored = w.lookup_key(db, k)?;
        if only_if_none_exist && live(&stored, now).is_some() {
            return Ok((false, None));
        }
        stored_records.push((i, stored));
    }
    let mut ws = w.write_set();
    for (i, stored) in &stored_records {
        let (k, v) = &pairs[*i];
        ws.put_meta(db, k, &Metadata::string(v.clone(), 0), stored.as_ref());
    }
    Ok((true, Some(w.stage(ws)?)))
}

/// GETDEL: the value, and the key deleted.
pub fn getdel(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
) -> TypeResult<(Option<Bytes>, Option<u64>)> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let Some(m) = live_string(&stored, w.now_ms())? else {
        return Ok((None, None));
    };
    let value = m.payload.clone();
    let mut ws = w.write_set();
    ws.delete_key(db, key, m);
    Ok((Some(value), Some(w.stage(ws)?)))
}

/// What GETEX does to the TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetExChange {
    Nothing,
    Persist,
    /// Expire at this absolute unix time in ms (deletes the key if already past).
    At(u64),
}

/// GETEX: the value, with the TTL changed as asked.
pub fn getex(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    change: GetExChange,
) -> TypeResult<(Option<Bytes>, Option<u64>)> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let now = w.now_ms();
    let Some(m) = live_string(&stored, now)? else {
        return Ok((None, None));
    };
    let value = m.payload.clone();
    let mut ws = w.write_set();
    match change {
        GetExChange::Nothing => return Ok((Some(value), None)),
        GetExChange::At(ms) if ms <= now => ws.delete_key(db, key, m),
        GetExChange::At(ms) => {
            ws.put_meta(db, key, &Metadata::string(value.clone(), ms), Some(m));
        }
        GetExChange::Persist => {
            if m.expire_ms == 0 {
                return Ok((Some(value), None));
            }
            ws.put_meta(db, key, &Metadata::string(value.clone(), 0), Some(m));
        }
    }
    Ok((Some(value), Some(w.stage(ws)?)))
}

/// Reads the live string under the lock, lets `f` compute the new value, and
/// stores it keeping the TTL. `f` returns `None` to write nothing.
fn modify<T>(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    f: impl FnOnce(Option<&Bytes>) -> TypeResult<(T, Option<Bytes>)>,
) -> TypeResult<(T, Option<u64>)> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let current = live_string(&stored, w.now_ms())?;
    let (result, new_value) = f(current.map(|m| &m.payload))?;
    let Some(new_value) = new_value else {
        return Ok((result, None));
    };
    let expire_ms = current.map_or(0, |m| m.expire_ms);
    let mut ws = w.write_set();
    ws.put_meta(
        db,
        key,
        &Metadata::string(new_value, expire_ms),
        stored.as_ref(),
    );
    Ok((result, Some(w.stage(ws)?)))
}

/// APPEND: the new length.
pub fn append(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    suffix: &[u8],
    max_len: i64,
) -> TypeResult<(usize, Option<u64>)> {
    modify(w, db, key, |cur| match cur {
        None => Ok((suffix.len(), Some(Bytes::copy_from_slice(suffix)))),
        Some(v) => {
            let len = v.len() + suffix.len();
            check_length(len as u64, max_len)?;
            let mut nv = Vec::with_capacity(len);
            nv.extend_from_slice(v);
            nv.extend_from_slice(suffix);
            Ok((len, Some(Bytes::from(nv))))
        }
    })
}

/// INCRBY/DECRBY/INCR/DECR: the new value.
pub fn incr_by(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    delta: i64,
) -> TypeResult<(i64, Option<u64>)> {
    modify(w, db, key, |cur| {
        let old = match cur {
            None => 0,
            Some(v) => parse_i64(v).ok_or_else(|| TypeError::Reply(ERR_NOT_INTEGER.into()))?,
        };
        let new = old
            .checked_add(delta)
            .ok_or_else(|| TypeError::Reply(ERR_OVERFLOW.into()))?;
        Ok((new, Some(Bytes::from(new.to_string()))))
    })
}

/// INCRBYFLOAT: the new value as stored.
pub fn incr_by_float(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    incr: &[u8],
) -> TypeResult<(Bytes, Option<u64>)> {
    modify(w, db, key, |cur| {
        let old: &[u8] = cur.map_or(b"0", |v| v.as_ref());
        match long_double_add(old, incr) {
            Ok(v) => Ok((v.clone(), Some(v))),
            Err(FloatAddError::Invalid) => {
                Err(TypeError::Reply("ERR value is not a valid float".into()))
            }
            Err(FloatAddError::NotFinite) => Err(TypeError::Reply(
                "ERR increment would produce NaN or Infinity".into(),
            )),
        }
    })
}

/// SETRANGE: the new length. `offset` is non-negative (the caller checked).
pub fn setrange(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    offset: u64,
    value: &[u8],
    max_len: i64,
) -> TypeResult<(usize, Option<u64>)> {
    modify(w, db, key, |cur| {
        let old_len = cur.map_or(0, |v| v.len());
        if value.is_empty() {
            return Ok((old_len, None));
        }
        check_length(offset.saturating_add(value.len() as u64), max_len)?;
        let offset = offset as usize;
        let len = old_len.max(offset + value.len());
        let mut nv = Vec::with_capacity(len);
        if let Some(v) = cur {
            nv.extend_from_slice(v);
        }
        nv.resize(len, 0);
        nv[offset..offset + value.len()].copy_from_slice(value);
        Ok((len, Some(Bytes::from(nv))))
    })
}

/// The bytes GETRANGE returns for `start..=end` (Redis's index rules).
pub fn range_of(value: &[u8], start: i64, end: i64) -> &[u8] {
    let len = value.len() as i64;
    if start < 0 && end < 0 && start > end {
        return &[];
    }
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return &[];
    }
    &value[start as usize..=end as usize]
}

/// One common run found by LCS IDX: inclusive ranges in both strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

#[derive(Debug, PartialEq, Eq)]
pub struct LcsResult {
    /// The common subsequence (empty unless asked for).
    pub sequence: Vec<u8>,
    pub len: u32,
    /// Runs from the end of the strings backwards, as Redis reports them.
    pub matches: Vec<LcsMatch>,
}

/// Longest common subsequence by the classic table, walked back from the
/// end as Redis walks it (so IDX ranges come out in Redis's order).
/// `max_table_bytes` is proto-max-bulk-len.
pub fn lcs(
    a: &[u8],
    b: &[u8],
    want_sequence: bool,
    want_matches: bool,
    min_match_len: u64,
    max_table_bytes: i64,
) -> TypeResult<LcsResult> {
    if a.len() as u64 >= u32::MAX as u64 - 1 || b.len() as u64 >= u32::MAX as u64 - 1 {
        return Err(TypeError::Reply("ERR String too long for LCS".into()));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > max_table_bytes.max(0) as u64 {
        return Err(TypeError::Reply(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len".into(),
        ));
    }
    let mut table: Vec<u32> = Vec::new();
    if table.try_reserve_exact(cells as usize).is_err() {
        return Err(TypeError::Reply(
            "ERR Insufficient memory, failed allocating transient memory for LCS".into(),
        ));
    }
    table.resize(cells as usize, 0);
    let w = blen + 1;
    for i in 1..=alen {
        for j in 1..=blen {
            table[i * w + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * w + j - 1] + 1
            } else {
                table[(i - 1) * w + j].max(table[i * w + j - 1])
            };
        }
    }
    let total = table[alen * w + blen];
    let mut result = LcsResult {
        sequence: Vec::new(),
        len: total,
        matches: Vec::new(),
    };
    if !want_sequence && !want_matches {
        return Ok(result);
    }
    let mut seq = vec![0u8; total as usize];
    let mut idx = total as usize;
    // A run in progress: (a start, a end, b start, b end).
    let mut run: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            seq[idx - 1] = a[i - 1];
            match &mut run {
                None => run = Some((i - 1, i - 1, j - 1, j - 1)),
                Some(r) if r.0 == i && r.2 == j => {
                    r.0 -= 1;
                    r.2 -= 1;
                }
                Some(_) => emit = true,
            }
            if let Some(r) = run {
                if r.0 == 0 || r.2 == 0 {
                    emit = true;
                }
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * w + j] > table[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some((a0, a1, b0, b1)) = run.take() {
                let len = (a1 - a0 + 1) as u32;
                if want_matches && (min_match_len == 0 || len as u64 >= min_match_len) {
                    result.matches.push(LcsMatch {
                        a: (a0 as u32, a1 as u32),
                        b: (b0 as u32, b1 as u32),
                        len,
                    });
                }
            }
        }
    }
    if want_sequence {
        result.sequence = seq;
    }
    Ok(result)
}

#[cfg(test)]
mod tests {

    use super::*;

    fn keyspace(dir: &tempfile::TempDir) -> WriteContext<'static> {
        crate::types::test_context_in(dir.path())
    }

    fn wrong_type<T: std::fmt::Debug>(r: TypeResult<T>) -> bool {
        matches!(r, Err(TypeError::WrongType))
    }

    #[test]
    fn other_types_give_wrongtype_and_set_overwrites_them() {
        let dir = tempfile::tempdir().unwrap();
        let w = keyspace(&dir);
        let mut ws = w.write_set();
        let hash = Metadata::collection(KeyType::Hash, w.new_version(), 0);
        ws.put_meta(0, b"h", &hash, None);
        w.stage(ws).unwrap();
        assert!(wrong_type(get(&w, 0, b"h")));
        assert!(wrong_type(strlen(&w, 0, b"h")));
        assert!(wrong_type(append(&w, 0, b"h", b"x", 1 << 20)));
        assert!(wrong_type(incr_by(&w, 0, b"h", 1)));
        assert!(wrong_type(incr_by_float(&w, 0, b"h", b"1")));
        assert!(wrong_type(setrange(&w, 0, b"h", 0, b"x", 1 << 20)));
        assert!(wrong_type(getdel(&w, 0, b"h")));
        assert!(wrong_type(getex(&w, 0, b"h", GetExChange::Persist)));
        let get_opts = SetOptions {
            condition: SetCondition::Always,
            ttl: TtlChange::Clear,
            get: true,
        };
        assert!(wrong_type(set_with(
            &w,
            0,
            b"h",
            Bytes::from_static(b"v"),
            get_opts
        )));
        assert_eq!(mget(&w, 0, &[b"h"]).unwrap(), vec![(true, None)]);
        // MSETNX sees the hash as an existing key; plain SET replaces it.
        let pairs = [(Bytes::from_static(b"h"), Bytes::from_static(b"v"))];
        assert!(!mset(&w, 0, &pairs, true).unwrap().0);
        set(&w, 0, b"h", Bytes::from_static(b"v")).unwrap();
        assert_eq!(get(&w, 0, b"h").unwrap().unwrap(), "v");
        assert_eq!(w.dbsize(0), 1);
    }

    #[test]
    fn counters_stay_exact_over_expired_records_and_duplicate_keys() {
        let dir = tempfile::tempdir().unwrap();
        let w = keyspace(&dir);
        let pairs: Vec<(Bytes, Bytes)> = [("a", "1"), ("b", "2"), ("a", "3")]
            .iter()
            .map(|(k, v)| (Bytes::from(*k), Bytes::from(*v)))
            .collect();
        mset(&w, 0, &pairs, false).unwrap();
        assert_eq!(w.dbsize(0), 2);
        assert_eq!(get(&w, 0, b"a").unwrap().unwrap(), "3");
        // An already-expired TTL: the record stays until read, then goes.
        let opts = SetOptions {
            condition: SetCondition::Always,
            ttl: TtlChange::At(1),
            get: false,
        };
        set_with(&w, 0, b"c", Bytes::from_static(b"x"), opts).unwrap();
        assert_eq!((w.dbsize(0), w.expires_count(0)), (3, 1));
        // INCR on the expired record starts from zero and drops the TTL.
        assert_eq!(incr_by(&w, 0, b"c", 5).unwrap().0, 5);
        assert_eq!((w.dbsize(0), w.expires_count(0)), (3, 0));
        let keep = SetOptions {
            ttl: TtlChange::At(w.now_ms() + 60_000),
            ..opts
        };
        set_with(&w, 0, b"c", Bytes::from_static(b"y"), keep).unwrap();
        assert_eq!(w.expires_count(0), 1);
        assert_eq!(append(&w, 0, b"c", b"z", 100).unwrap().0, 2);
        assert_eq!(w.expires_count(0), 1);
        assert_eq!(
            getex(&w, 0, b"c", GetExChange::At(1)).unwrap().0.unwrap(),
            "yz"
        );
        assert_eq!((w.dbsize(0), w.expires_count(0)), (2, 0));
        assert_eq!(getdel(&w, 0, b"a").unwrap().0.unwrap(), "3");
        assert_eq!(w.dbsize(0), 1);
    }

    #[test]
    fn long_double_addition_matches_redis_formatting() {
        assert_eq!(long_double_add(b"10.5", b"0.1").unwrap(), "10.6");
        assert_eq!(long_double_add(b"0", b"3.0e3").unwrap(), "3000");
        assert_eq!(long_double_add(b"1", b"-1").unwrap(), "0");
        assert_eq!(long_double_add(b"abc", b"1"), Err(FloatAddError::Invalid));
        assert_eq!(long_double_add(b"1", b" 1"), Err(FloatAddError::Invalid));
        assert_eq!(long_double_add(b"inf", b"1"), Err(FloatAddError::NotFinite));
        assert!(long_double_valid(b"1.5e10"));
        assert!(!long_double_valid(b"nan"));
    }

    #[test]
    fn range_follows_redis_index_rules() {
        let v = b"Hello World";
        assert_eq!(range_of(v, 0, 4), b"Hello");
        assert_eq!(range_of(v, -3, -1), b"rld");
        assert_eq!(range_of(v, 0, -100), b"H");
        assert_eq!(range_of(v, -1, -5), b"");
        assert_eq!(range_of(v, 5, 3), b"");
        assert_eq!(range_of(v, 0, i64::MAX), v);
        assert_eq!(range_of(v, i64::MIN, 2), b"Hel");
        assert_eq!(range_of(b"", 0, -1), b"");
    }

    #[test]
    fn lcs_sequence_and_matches() {
        let r = lcs(b"ohmytext", b"mynewtext", true, true, 0, 1 << 20).unwrap();
        assert_eq!(r.sequence, b"mytext");
        assert_eq!(r.len, 6);
        assert_eq!(
            r.matches,
            vec![
                LcsMatch {
                    a: (4, 7),
                    b: (5, 8),
                    len: 4
                },
                LcsMatch {
                    a: (2, 3),
                    b: (0, 1),
                    len: 2
                },
            ]
        );
        assert!(lcs(b"abc", b"abc", true, false, 0, 8).is_err());
    }
}
