//! WriteContext-wide operations that work on keys of any type: delete, rename,
//! move and copy between databases, expiry, and walking a database's keys
//! (KEYS, SCAN, RANDOMKEY).
//!
//! Keys of every type are handled generically: a string lives entirely in
//! its metadata record, a collection is a metadata record plus subkeys in
//! `Cf::Data` / `Cf::ZScore` under `subkey_prefix(db, key, version)`.
//! Renaming, moving or copying a collection therefore copies its subkeys to
//! the destination under a fresh version, in the same write set as the new
//! metadata, so the change is atomic. Deleting stays O(1): only the metadata
//! goes, and compaction drops the orphaned subkeys.

use bytes::Bytes;

use super::encoding::{self, KeyType, Metadata};
use super::random_pick::random_under_prefix;
use super::{TypeResult, WriteContext, WriteSet};
use crate::engine::Cf;
use crate::glob::glob_match;

/// The live metadata of `key` out of a record read under the key lock.
fn live(stored: Option<Metadata>, now: u64) -> Option<Metadata> {
    stored.filter(|m| !m.is_expired(now))
}

/// Deletes the keys that exist; duplicates count once. Returns how many
/// were deleted and whether it staged a change (`Some`).
pub fn delete(w: &WriteContext<'_>, db: u8, keys: &[Bytes]) -> TypeResult<(u64, u64)> {
    w.lock(db, keys);
    let now = w.now_ms();
    let mut ws = w.write_set();
    let mut done: Vec<&[u8]> = Vec::with_capacity(keys.len());
    let mut deleted = 0;
    for key in keys {
        if done.contains(&key.as_ref()) {
            continue;
        }
        done.push(key);
        if let Some(m) = w.lookup_key(db, key)? {
            // An expired key is removed too (as Redis's lazy expiry would) but
            // does not count as deleted.
            deleted += !m.is_expired(now) as u64;
            ws.delete_key(db, key, &m);
        }
    }
    let seq = w.stage(ws)?;
    Ok((deleted, seq))
}

/// Adds to `ws` a copy of the value `src_meta` (of `src_key` in physical db
/// `src_db`) as `dst_key` in `dst_db`, replacing `dst_stored`, with expiry
/// `expire_ms`. Collections get their subkeys copied under a fresh version.
#[allow(clippy::too_many_arguments)]
pub fn copy_value(
    w: &WriteContext<'_>,
    ws: &mut WriteSet,
    src_db: u8,
    src_key: &[u8],
    src_meta: &Metadata,
    dst_db: u8,
    dst_key: &[u8],
    dst_stored: Option<&Metadata>,
) -> TypeResult<()> {
    let mut new = src_meta.clone();
    if src_meta.kind != KeyType::String {
        new.version = w.new_version();
        let from = encoding::subkey_prefix(src_db, src_key, src_meta.version);
        let to = encoding::subkey_prefix(dst_db, dst_key, new.version);
        let end = encoding::prefix_end(&from);
        for cf in [Cf::Data, Cf::ZScore] {
            let mut it = w.iter(cf, Some(&from), end.as_deref());
            it.seek(&from);
            while it.valid() {
                let mut k = to.clone();
                k.extend_from_slice(&it.key()[from.len()..]);
                ws.batch.put(cf, k, it.value().to_vec());
                it.next();
            }
            it.status()?;
        }
    }
    ws.put_meta(dst_db, dst_key, &new, dst_stored);
    Ok(())
}

/// What RENAME / RENAMENX did.
#[derive(Debug, PartialEq, Eq)]
pub enum RenameOutcome {
    NoSuchKey,
    /// RENAMENX onto an existing key, or source and destination are the same.
    NotRenamed {
        same: bool,
    },
    Renamed(u64),
}

/// RENAME (`nx` false) and RENAMENX (`nx` true). The value keeps its TTL.
pub fn rename(
    w: &WriteContext<'_>,
    db: u8,
    src: &[u8],
    dst: &[u8],
    nx: bool,
) -> TypeResult<RenameOutcome> {
    w.lock(db, &[src, dst]);
    let now = w.now_ms();
    let Some(src_meta) = live(w.lookup_key(db, src)?, now) else {
        return Ok(RenameOutcome::NoSuchKey);
    };
    if src == dst {
        return Ok(RenameOutcome::NotRenamed { same: true });
    }
    let dst_stored = w.lookup_key(db, dst)?;
    if nx && dst_stored.as_ref().is_some_and(|m| !m.is_expired(now)) {
        return Ok(RenameOutcome::NotRenamed { same: false });
    }
    let mut ws = w.write_set();
    copy_value(w, &mut ws, db, src, &src_meta, db, dst, dst_stored.as_ref())?;
    ws.delete_key(db, src, &src_meta);
    Ok(RenameOutcome::Renamed(w.stage(ws)?))
}

/// MOVE `key` from physical db `src_db` to `dst_db` (different dbs). Returns
/// whether it staged a change (`Some`), or `None` when the key is missing or exists in the
/// destination. Both keys are locked together and the move is one batch.
pub fn move_key(
    w: &WriteContext<'_>,
    src_db: u8,
    dst_db: u8,
    key: &[u8],
) -> TypeResult<Option<u64>> {
    w.lock_multi(&[(src_db, key), (dst_db, key)]);
    let Some((mut ws, src_meta)) = stage_copy(w, src_db, dst_db, key, key, false)? else {
        return Ok(None);
    };
    ws.delete_key(src_db, key, &src_meta);
    Ok(Some(w.stage(ws)?))
}

/// COPY `src` (in `src_db`) to `dst` (in `dst_db`), keeping the TTL.
/// Returns whether it staged a change (`Some`), or `None` when the source is missing or the
/// destination exists and `replace` is false. One batch, both keys locked.
pub fn copy(
    w: &WriteContext<'_>,
    src_db: u8,
    dst_db: u8,
    src: &[u8],
    dst: &[u8],
    replace: bool,
) -> TypeResult<Option<u64>> {
    w.lock_multi(&[(src_db, src), (dst_db, dst)]);
    match stage_copy(w, src_db, dst_db, src, dst, replace)? {
        Some((ws, _)) => Ok(Some(w.stage(ws)?)),
        None => Ok(None),
    }
}

/// The write set copying a live `src` onto `dst` (both locked by the
/// caller), plus the source's metadata; `None` when the source is missing or
/// a live destination may not be replaced.
fn stage_copy(
    w: &WriteContext<'_>,
    src_db: u8,
    dst_db: u8,
    src: &[u8],
    dst: &[u8],
    replace: bool,
) -> TypeResult<Option<(WriteSet, Metadata)>> {
    let now = w.now_ms();
    let Some(src_meta) = live(w.lookup_key(src_db, src)?, now) else {
        return Ok(None);
    };
    let dst_stored = w.lookup_key(dst_db, dst)?;
    if dst_stored.as_ref().is_some_and(|m| !m.is_expired(now)) && !replace {
        return Ok(None);
    }
    let mut ws = w.write_set();
    copy_value(
        w,
        &mut ws,
        src_db,
        src,
        &src_meta,
        dst_db,
        dst,
        dst_stored.as_ref(),
    )?;
    Ok(Some((ws, src_meta)))
}

/// The conditions of EXPIRE and friends (NX XX GT LT).
#[derive(Debug, Default, Clone, Copy)]
pub struct ExpireCond {
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// Sets the absolute expiry `when_ms` on `key` if the conditions allow; a
/// time not after now deletes the key. Returns `None` when nothing was done
/// (missing key or a condition failed), else whether it staged a change (`Some`).
pub fn expire(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    when_ms: i64,
    cond: ExpireCond,
) -> TypeResult<Option<u64>> {
    w.lock(db, &[key]);
    let now = w.now_ms();
    let stored = w.lookup_key(db, key)?;
    let Some(meta) = live(stored.clone(), now) else {
        return Ok(None);
    };
    // A key without TTL has an infinite one: GT never passes, LT always does.
    let current = (meta.expire_ms != 0).then_some(meta.expire_ms as i64);
    let refused = (cond.nx && current.is_some())
        || (cond.xx && current.is_none())
        || (cond.gt && current.is_none_or(|c| when_ms <= c))
        || (cond.lt && current.is_some_and(|c| when_ms >= c));
    if refused {
        return Ok(None);
    }
    let mut ws = w.write_set();
    if when_ms <= now as i64 {
        ws.delete_key(db, key, &meta);
    } else {
        let mut new = meta.clone();
        new.expire_ms = when_ms as u64;
        ws.put_meta(db, key, &new, Some(&meta));
    }
    Ok(Some(w.stage(ws)?))
}

/// PERSIST: removes the TTL. `None` when the key is missing or has none.
pub fn persist(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<u64>> {
    w.lock(db, &[key]);
    let Some(meta) = live(w.lookup_key(db, key)?, w.now_ms()) else {
        return Ok(None);
    };
    if meta.expire_ms == 0 {
        return Ok(None);
    }
    let mut new = meta.clone();
    new.expire_ms = 0;
    let mut ws = w.write_set();
    ws.put_meta(db, key, &new, Some(&meta));
    Ok(Some(w.stage(ws)?))
}

/// Kind and expiry of a metadata record, without copying a string's value.
fn peek(raw: &[u8]) -> Option<(KeyType, u64)> {
    let kind = KeyType::from_code(raw.first()? & 0x0f)?;
    Some((kind, encoding::be_u64(raw, 1)?))
}

/// The exclusive upper bound of physical db `db` in `Cf::Meta` (`None` for
/// the last possible db, which runs to the end of the column family).
fn db_end(db: u8) -> Option<Vec<u8>> {
    encoding::prefix_end(&[db])
}

/// What a SCAN step returns: the keys found and the last key examined when
/// more remain (`None` = the walk is complete).
pub struct ScanPage {
    pub keys: Vec<Bytes>,
    pub resume_after: Option<Vec<u8>>,
}

/// Examines up to `count` keys of `db` strictly after `after` (from the start
/// when `None`) and returns the live ones matching `pattern` and `kind`.
pub fn scan(
    w: &WriteContext<'_>,
    db: u8,
    after: Option<&[u8]>,
    count: usize,
    pattern: Option<&[u8]>,
    kind: Option<Option<KeyType>>,
) -> TypeResult<ScanPage> {
    let lower = match after {
        Some(k) => {
            let mut l = encoding::meta_key(db, k);
            l.push(0);
            l
        }
        None => vec![db],
    };
    let upper = db_end(db);
    let now = w.now_ms();
    let mut it = w.iter(Cf::Meta, Some(&lower), upper.as_deref());
    it.seek(&lower);
    let mut keys = Vec::new();
    let mut examined = 0;
    let mut last = None;
    while it.valid() && examined < count.max(1) {
        examined += 1;
        let user_key = &it.key()[1..];
        if let Some((k, exp)) = peek(it.value()) {
            let alive = exp == 0 || exp > now;
            let type_ok = kind.is_none_or(|want| want == Some(k));
            let name_ok = pattern.is_none_or(|p| glob_match(p, user_key, false));
            if alive && type_ok && name_ok {
                keys.push(Bytes::copy_from_slice(user_key));
            }
        }
        last = Some(user_key.to_vec());
        it.next();
    }
    it.status()?;
    let resume_after = if it.valid() { last } else { None };
    Ok(ScanPage { keys, resume_after })
}

/// KEYS: every live key of `db` matching `pattern`, in byte order.
pub fn keys(w: &WriteContext<'_>, db: u8, pattern: &[u8]) -> TypeResult<Vec<Bytes>> {
    let all = pattern == b"*";
    Ok(scan(w, db, None, usize::MAX, (!all).then_some(pattern), None)?.keys)
}

/// Most seeks one random descent may spend before settling.
const RANDOM_SEEK_BUDGET: usize = 4096;

/// A stored key of `db` (meta key, with its db byte), picked at random.
fn random_descent(w: &WriteContext<'_>, db: u8) -> TypeResult<Option<Vec<u8>>> {
    let mut rng = rand::thread_rng();
    let pick = random_under_prefix(w, Cf::Meta, &[db], &mut rng, RANDOM_SEEK_BUDGET)?;
    Ok(pick.map(|(key, _)| key))
}

/// RANDOMKEY: a live key of `db`, or `None` when it has none.
///
/// Keys are sorted on disk, not hashed, so this descends the sorted keys at
/// random (see [`random_under_prefix`]); the choice is spread but not uniform,
/// which Redis does not promise either. Expired keys are skipped: after a
/// few unlucky draws it walks the database for the first live key.
pub fn random_key(w: &WriteContext<'_>, db: u8) -> TypeResult<Option<Bytes>> {
    let now = w.now_ms();
    let alive = |raw: &[u8]| peek(raw).is_some_and(|(_, exp)| exp == 0 || exp > now);
    for _ in 0..8 {
        let Some(meta_key) = random_descent(w, db)? else {
            return Ok(None);
        };
        if let Some(raw) = w.get(Cf::Meta, &meta_key)? {
            if alive(&raw) {
                return Ok(Some(Bytes::copy_from_slice(&meta_key[1..])));
            }
        }
    }
    let upper = db_end(db);
    let lower = [db];
    let mut it = w.iter(Cf::Meta, Some(&lower), upper.as_deref());
    it.seek_to_first();
    // Bounded: a database of nothing but expired keys answers nil.
    for _ in 0..10_000 {
        if !it.valid() {
            break;
        }
        if alive(it.value()) {
            return Ok(Some(Bytes::copy_from_slice(&it.key()[1..])));
        }
        it.next();
    }
    it.status()?;
    Ok(None)
}

/// The encoding OBJECT ENCODING reports for a string value, as Redis
/// chooses it: `int` for a canonical integer, `embstr` up to 44 bytes,
/// else `raw`.
pub fn string_encoding(value: &[u8]) -> &'static str {
    if value.len() <= 20 && crate::num::parse_i64(value).is_some() {
        "int"
    } else if value.len() <= 44 {
        "embstr"
    } else {
        "raw"
    }
}

/// The encoding OBJECT ENCODING reports for any value. Collections are
/// named after the compact Redis encoding while they are small enough for
/// it (by element count only; Strata stores them all the same way).
pub fn encoding_name(meta: &Metadata) -> &'static str {
    match meta.kind {
        KeyType::String => string_encoding(&meta.payload),
        KeyType::Hash => super::hash::encoding_name(meta),
        KeyType::List => "quicklist",
        KeyType::Set => super::set::encoding_name(meta),
        KeyType::ZSet if meta.size <= 128 => "listpack",
        KeyType::ZSet => "skiplist",
    }
}

/// OBJECT REFCOUNT: Redis shares the integers 0..9999 (refcount INT_MAX).
pub fn refcount(meta: &Metadata) -> i64 {
    let shared = meta.kind == KeyType::String
        && string_encoding(&meta.payload) == "int"
        && crate::num::parse_i64(&meta.payload).is_some_and(|v| (0..10_000).contains(&v));
    if shared {
        i32::MAX as i64
    } else {
        1
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::types::test_context as open;

    fn put_string(w: &WriteContext<'_>, db: u8, key: &[u8], value: &[u8], expire_ms: u64) {
        let stored = w.lookup_key(db, key).unwrap();
        let mut ws = w.write_set();
        ws.put_meta(
            db,
            key,
            &Metadata::string(Bytes::copy_from_slice(value), expire_ms),
            stored.as_ref(),
        );
        w.stage(ws).unwrap();
    }

    /// A hand-made hash: metadata plus three subkeys in Cf::Data and one
    /// in Cf::ZScore (to check both families are copied).
    fn put_collection(w: &WriteContext<'_>, db: u8, key: &[u8]) -> Metadata {
        let mut meta = Metadata::collection(KeyType::Hash, w.new_version(), 0);
        meta.size = 3;
        let mut ws = w.write_set();
        for (f, v) in [(&b"f1"[..], &b"v1"[..]), (b"f2", b"v2"), (b"f3", b"v3")] {
            ws.batch
                .put(Cf::Data, encoding::subkey(db, key, meta.version, f), v);
        }
        ws.batch.put(
            Cf::ZScore,
            encoding::subkey(db, key, meta.version, b"score"),
            Vec::new(),
        );
        ws.put_meta(db, key, &meta, None);
        w.stage(ws).unwrap();
        meta
    }

    fn subkeys(
        w: &WriteContext<'_>,
        cf: Cf,
        db: u8,
        key: &[u8],
        version: u64,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let prefix = encoding::subkey_prefix(db, key, version);
        let end = encoding::prefix_end(&prefix);
        let mut it = w.iter(cf, Some(&prefix), end.as_deref());
        it.seek(&prefix);
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key()[prefix.len()..].to_vec(), it.value().to_vec()));
            it.next();
        }
        out
    }

    #[test]
    fn rename_move_copy_carry_collection_subkeys() {
        let (_dir, w) = open();
        let src = put_collection(&w, 0, b"h");
        let data = subkeys(&w, Cf::Data, 0, b"h", src.version);
        assert_eq!(data.len(), 3);

        assert!(matches!(
            rename(&w, 0, b"h", b"h2", false).unwrap(),
            RenameOutcome::Renamed(_)
        ));
        assert!(w.lookup_key(0, b"h").unwrap().is_none());
        let renamed = w.lookup_key(0, b"h2").unwrap().unwrap();
        assert_ne!(renamed.version, src.version);
        assert_eq!(renamed.size, 3);
        assert_eq!(subkeys(&w, Cf::Data, 0, b"h2", renamed.version), data);
        assert_eq!(subkeys(&w, Cf::ZScore, 0, b"h2", renamed.version).len(), 1);

        assert!(move_key(&w, 0, 3, b"h2").unwrap().is_some());
        let moved = w.lookup_key(3, b"h2").unwrap().unwrap();
        assert_eq!(subkeys(&w, Cf::Data, 3, b"h2", moved.version), data);
        assert_eq!(w.dbsize(0), 0);
        assert_eq!(w.dbsize(3), 1);

        assert!(copy(&w, 3, 3, b"h2", b"h3", false).unwrap().is_some());
        let copied = w.lookup_key(3, b"h3").unwrap().unwrap();
        assert_ne!(copied.version, moved.version);
        assert_eq!(subkeys(&w, Cf::Data, 3, b"h3", copied.version), data);
        // The source is untouched by COPY.
        assert_eq!(subkeys(&w, Cf::Data, 3, b"h2", moved.version), data);
        assert_eq!(w.dbsize(3), 2);
    }

    #[test]
    fn delete_counts_live_keys_once() {
        let (_dir, w) = open();
        put_string(&w, 0, b"a", b"1", 0);
        put_string(&w, 0, b"b", b"2", 0);
        put_string(&w, 0, b"old", b"x", 1);
        assert_eq!(w.dbsize(0), 3);
        let keys: Vec<Bytes> = ["a", "a", "old", "missing"]
            .iter()
            .map(|k| Bytes::copy_from_slice(k.as_bytes()))
            .collect();
        assert_eq!(delete(&w, 0, &keys).unwrap().0, 1);
        assert_eq!(w.dbsize(0), 1);
        assert_eq!(w.expires_count(0), 0);
    }

    #[test]
    fn expire_conditions_and_past_times() {
        let (_dir, w) = open();
        put_string(&w, 0, b"k", b"v", 0);
        let far = w.now_ms() as i64 + 100_000;
        let gt = ExpireCond {
            gt: true,
            ..Default::default()
        };
        let lt = ExpireCond {
            lt: true,
            ..Default::default()
        };
        let xx = ExpireCond {
            xx: true,
            ..Default::default()
        };
        assert!(expire(&w, 0, b"k", far, gt).unwrap().is_none());
        assert!(expire(&w, 0, b"k", far, xx).unwrap().is_none());
        assert!(expire(&w, 0, b"k", far, lt).unwrap().is_some());
        assert_eq!(w.expires_count(0), 1);
        assert!(expire(&w, 0, b"k", far + 1, lt).unwrap().is_none());
        assert!(expire(&w, 0, b"k", far + 1, gt).unwrap().is_some());
        assert!(persist(&w, 0, b"k").unwrap().is_some());
        assert!(persist(&w, 0, b"k").unwrap().is_none());
        assert_eq!(w.expires_count(0), 0);
        assert!(expire(&w, 0, b"k", -5, ExpireCond::default())
            .unwrap()
            .is_some());
        assert_eq!(w.dbsize(0), 0);
    }

    #[test]
    fn scan_pages_through_all_live_keys() {
        let (_dir, w) = open();
        for i in 0..25 {
            put_string(&w, 1, format!("k{i:02}").as_bytes(), b"v", 0);
        }
        put_string(&w, 1, b"gone", b"v", 1);
        put_string(&w, 0, b"other-db", b"v", 0);
        let mut after: Option<Vec<u8>> = None;
        let mut seen = Vec::new();
        loop {
            let page = scan(&w, 1, after.as_deref(), 10, None, None).unwrap();
            seen.extend(page.keys);
            match page.resume_after {
                Some(k) => after = Some(k),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25);
        assert_eq!(keys(&w, 1, b"k1*").unwrap().len(), 10);
        assert!(random_key(&w, 1).unwrap().is_some());
        assert!(random_key(&w, 2).unwrap().is_none());
        let only_hash = scan(&w, 1, None, 100, None, Some(Some(KeyType::Hash))).unwrap();
        assert!(only_hash.keys.is_empty());
    }

    #[test]
    fn random_key_spreads_and_skips_expired() {
        let (_dir, w) = open();
        for i in 0..100 {
            put_string(&w, 0, format!("user:{i}").as_bytes(), b"v", 0);
        }
        put_string(&w, 0, b"", b"empty key", 0);
        let picks: std::collections::HashSet<Bytes> = (0..200)
            .map(|_| random_key(&w, 0).unwrap().unwrap())
            .collect();
        assert!(picks.len() >= 40, "{} distinct", picks.len());
        put_string(&w, 5, b"dead1", b"v", 1);
        put_string(&w, 5, b"dead2", b"v", 1);
        assert!(random_key(&w, 5).unwrap().is_none());
        put_string(&w, 5, b"live", b"v", 0);
        assert_eq!(random_key(&w, 5).unwrap().unwrap(), &b"live"[..]);
    }

    #[test]
    fn string_encodings_like_redis() {
        assert_eq!(string_encoding(b"12345"), "int");
        assert_eq!(string_encoding(b"-5"), "int");
        assert_eq!(string_encoding(b"05"), "embstr");
        assert_eq!(string_encoding(&[b'a'; 44]), "embstr");
        assert_eq!(string_encoding(&[b'a'; 45]), "raw");
        assert_eq!(refcount(&Metadata::string(&b"1"[..], 0)), 2147483647);
        assert_eq!(refcount(&Metadata::string(&b"12345"[..], 0)), 1);
    }
}
