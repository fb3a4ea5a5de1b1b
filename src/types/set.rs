//! Sets: one subkey per member, so membership tests, adds and removes are
//! point operations, and members stream in byte order from a bounded
//! iterator (which the set algebra in `set_algebra` and SORT build on).
//!
//! Storage:
//!
//! ```text
//! meta  value: [flags][expire-ms][version][size = member count][encoding]
//!              encoding: absent or 0 = still Redis's "intset", 1 = "hashtable"
//! data  key:   subkey(db, key, version, member) -> ""
//! ```
//!
//! The encoding byte exists only for OBJECT ENCODING and SSCAN, which show
//! Redis 7.0's choice: a set is an intset while every member it was ever
//! given is a canonical 64-bit integer and it never held more than 512
//! members; the switch to hashtable is one-way, as in Redis. (Redis 7.0 has
//! no listpack sets; that came in 7.2.)
//!
//! Random picks (SRANDMEMBER, SPOP) avoid loading big sets: they seek to a
//! random position between the first and the last member (its bytes drawn
//! from the byte range the members use) and take the member found there.
//! That is biased: a member's chance is proportional to the gap in byte
//! space before it (members after sparse stretches win more often). Small
//! sets are loaded and sampled exactly, and a count that is a large share
//! of the set is drawn by exact reservoir sampling over one scan.

use std::collections::HashSet;

use bytes::Bytes;
use rand::seq::SliceRandom;
use rand::Rng;

use super::encoding::{prefix_end, subkey, subkey_prefix};
use super::{KeyType, Metadata, TypeError, TypeResult, WriteContext};
use crate::engine::{Cf, EngineIter};
use crate::glob::glob_match;
use crate::num::parse_i64;

/// Redis's `set-max-intset-entries` default (the live value is passed in by
/// the writes that can grow a set).
pub const MAX_INTSET_ENTRIES: u64 = 512;
const ENCODING_HASHTABLE: u8 = 1;
/// Sets up to this size are loaded whole for exact random sampling.
const SMALL_SET: u64 = 128;

/// Whether Redis would keep `member` in an intset (`string2ll` accepts it).
pub fn is_intset_member(member: &[u8]) -> bool {
    parse_i64(member).is_some()
}

/// Whether the set has converted to Redis's hashtable encoding (every write
/// that grows a set records it, see [`note_size`]).
pub fn is_hashtable(meta: &Metadata) -> bool {
    meta.payload
        .first()
        .is_some_and(|e| e & ENCODING_HASHTABLE != 0)
}

/// The name OBJECT ENCODING reports for a set.
pub fn encoding_name(meta: &Metadata) -> &'static str {
    if is_hashtable(meta) {
        "hashtable"
    } else {
        "intset"
    }
}

/// Tracks the encoding of a set being written: `note` every member added.
pub(crate) fn note_member(meta: &mut Metadata, member: &[u8]) {
    if !is_intset_member(member) {
        mark_hashtable(meta);
    }
}

/// Converts to hashtable when the size passed `max_intset`, the live
/// `set-max-intset-entries` (call after updating `size`).
pub(crate) fn note_size(meta: &mut Metadata, max_intset: u64) {
    if meta.size > max_intset {
        mark_hashtable(meta);
    }
}

pub(crate) fn mark_hashtable(meta: &mut Metadata) {
    meta.payload = Bytes::from_static(&[ENCODING_HASHTABLE]);
}

/// A new empty set record (intset until told otherwise).
pub(crate) fn new_set(w: &WriteContext<'_>) -> Metadata {
    Metadata::collection(KeyType::Set, w.new_version(), 0)
}

/// The live set in a record read under the key lock: `None` for a missing
/// or expired key, `WrongType` for another type.
pub(crate) fn live_set(stored: &Option<Metadata>, now: u64) -> TypeResult<Option<&Metadata>> {
    match stored.as_ref().filter(|m| !m.is_expired(now)) {
        Some(m) if m.kind != KeyType::Set => Err(TypeError::WrongType),
        other => Ok(other),
    }
}

/// A forward cursor over the members of one version of a set, in byte order.
pub struct MemberCursor<'a> {
    it: Box<dyn EngineIter + 'a>,
    prefix: Vec<u8>,
}

impl<'a> MemberCursor<'a> {
    /// Positioned on the first member.
    pub fn open(w: &'a WriteContext<'a>, db: u8, key: &[u8], version: u64) -> MemberCursor<'a> {
        let prefix = subkey_prefix(db, key, version);
        let end = prefix_end(&prefix);
        let mut it = w.iter(Cf::Data, Some(&prefix), end.as_deref());
        it.seek(&prefix);
        MemberCursor { it, prefix }
    }

    /// The member under the cursor, `None` past the last one.
    pub fn member(&self) -> Option<&[u8]> {
        if !self.it.valid() {
            return None;
        }
        self.it.key().strip_prefix(self.prefix.as_slice())
    }

    pub fn advance(&mut self) {
        self.it.next();
    }

    /// Moves to the first member `>= member`.
    pub fn seek(&mut self, member: &[u8]) {
        let mut k = self.prefix.clone();
        k.extend_from_slice(member);
        self.it.seek(&k);
    }

    pub fn seek_to_first(&mut self) {
        self.it.seek(&self.prefix);
    }

    /// The last member (leaves the cursor on it).
    fn last(&mut self) -> Option<&[u8]> {
        self.it.seek_to_last();
        self.member()
    }

    /// An I/O error that ended iteration early.
    pub fn status(&self) -> TypeResult<()> {
        Ok(self.it.status()?)
    }
}

/// The members of a set, streamed in byte order (for SMEMBERS-like walks
/// and SORT). Yields an error at most once, at the end, if I/O failed.
pub struct SetMembers<'a> {
    cursor: MemberCursor<'a>,
    started: bool,
    done: bool,
}

impl Iterator for SetMembers<'_> {
    type Item = TypeResult<Bytes>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.started {
            self.cursor.advance();
        }
        self.started = true;
        match self.cursor.member() {
            Some(m) => Some(Ok(Bytes::copy_from_slice(m))),
            None => {
                self.done = true;
                self.cursor.status().err().map(Err)
            }
        }
    }
}

/// Streams the members of the set at `key`: `None` when the key is missing,
/// `WrongType` when it holds another type. The metadata comes along (its
/// `size` is the member count).
pub fn stream_members<'a>(
    w: &'a WriteContext<'a>,
    db: u8,
    key: &[u8],
) -> TypeResult<Option<(Metadata, SetMembers<'a>)>> {
    let Some(meta) = w.get_typed(db, key, KeyType::Set)? else {
        return Ok(None);
    };
    let cursor = MemberCursor::open(w, db, key, meta.version);
    Ok(Some((
        meta,
        SetMembers {
            cursor,
            started: false,
            done: false,
        },
    )))
}

/// Collects at most `limit` members of one version of a set.
pub(crate) fn collect_members(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    version: u64,
    limit: usize,
) -> TypeResult<Vec<Bytes>> {
    let mut c = MemberCursor::open(w, db, key, version);
    let mut out = Vec::new();
    while let Some(m) = c.member() {
        if out.len() >= limit {
            break;
        }
        out.push(Bytes::copy_from_slice(m));
        c.advance();
    }
    c.status()?;
    Ok(out)
}

/// The arguments without repeats, first occurrence kept.
fn distinct(members: &[Bytes]) -> Vec<&[u8]> {
    // One member (SADD's usual call) needs no set of those seen.
    if let [m] = members {
        return vec![m.as_ref()];
    }
    let mut seen = HashSet::with_capacity(members.len());
    members
        .iter()
        .map(|m| m.as_ref())
        .filter(|m| seen.insert(*m))
        .collect()
}

/// Which of `members` exist in the version `meta` of the set at `key`.
fn existing(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    members: &[&[u8]],
) -> TypeResult<Vec<bool>> {
    if let [m] = members {
        // One point read, without a multi-get's lists.
        let found = w.get(Cf::Data, &subkey(db, key, meta.version, m))?;
        return Ok(vec![found.is_some()]);
    }
    let subkeys: Vec<Vec<u8>> = members
        .iter()
        .map(|m| subkey(db, key, meta.version, m))
        .collect();
    let refs: Vec<&[u8]> = subkeys.iter().map(Vec::as_slice).collect();
    Ok(w.multi_get(Cf::Data, &refs)?
        .into_iter()
        .map(|v| v.is_some())
        .collect())
}

/// SADD: returns how many members were new and whether it staged a change (`Some`).
pub fn sadd(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    members: &[Bytes],
    max_intset: u64,
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let (mut meta, fresh) = match live_set(&stored, w.now_ms())? {
        Some(m) => (m.clone(), false),
        None => (new_set(w), true),
    };
    let members = distinct(members);
    let present = if fresh {
        vec![false; members.len()]
    } else {
        existing(w, db, key, &meta, &members)?
    };
    let mut ws = w.write_set();
    let mut added = 0;
    for (m, present) in members.iter().zip(present) {
        // Redis converts on any non-integer argument, even one already present.
        note_member(&mut meta, m);
        if !present {
            ws.batch
                .put(Cf::Data, subkey(db, key, meta.version, m), Vec::new());
            added += 1;
        }
    }
    if added == 0 {
        return Ok((0, None));
    }
    meta.size += added;
    note_size(&mut meta, max_intset);
    ws.put_meta(db, key, &meta, stored.as_ref());
    Ok((added, Some(w.stage(ws)?)))
}

/// SREM: returns how many members were removed and whether it staged a change (`Some`).
/// The key goes when its last member does.
pub fn srem(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    members: &[Bytes],
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let Some(meta) = live_set(&stored, w.now_ms())? else {
        return Ok((0, None));
    };
    let mut meta = meta.clone();
    let members = distinct(members);
    let present = existing(w, db, key, &meta, &members)?;
    let mut ws = w.write_set();
    let mut removed = 0;
    for (m, present) in members.iter().zip(present) {
        if present {
            ws.batch.delete(Cf::Data, subkey(db, key, meta.version, m));
            removed += 1;
        }
    }
    if removed == 0 {
        return Ok((0, None));
    }
    meta.size = meta.size.saturating_sub(removed);
    if meta.size == 0 {
        ws.delete_key(db, key, &meta);
    } else {
        ws.put_meta(db, key, &meta, stored.as_ref());
    }
    Ok((removed, Some(w.stage(ws)?)))
}

/// SCARD: the member count, 0 for a missing key.
pub fn scard(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<u64>> {
    Ok(w.get_typed(db, key, KeyType::Set)?.map(|m| m.size))
}

/// SMISMEMBER (and SISMEMBER with one member): `None` for a missing key.
pub fn smismember(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    members: &[Bytes],
) -> TypeResult<Option<Vec<bool>>> {
    let Some(meta) = w.get_typed(db, key, KeyType::Set)? else {
        return Ok(None);
    };
    let refs: Vec<&[u8]> = members.iter().map(|m| m.as_ref()).collect();
    existing(w, db, key, &meta, &refs).map(Some)
}

/// SMEMBERS: every member in byte order; `None` for a missing key.
pub fn smembers(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<Vec<Bytes>>> {
    match stream_members(w, db, key)? {
        None => Ok(None),
        Some((_, members)) => members.collect::<TypeResult<Vec<_>>>().map(Some),
    }
}

/// One page of SSCAN.
#[derive(Debug, Default)]
pub struct ScanPage {
    pub members: Vec<Bytes>,
    /// Where the next page starts (after this member); `None` when done.
    pub resume_after: Option<Bytes>,
}

/// SSCAN: up to `count` members examined after `after`, filtered by `pattern`.
/// Like Redis, a set still in its intset encoding is returned whole in one
/// page. `None` for a missing key.
pub fn sscan(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    after: Option<&[u8]>,
    count: usize,
    pattern: Option<&[u8]>,
) -> TypeResult<Option<ScanPage>> {
    let Some(meta) = w.get_typed(db, key, KeyType::Set)? else {
        return Ok(None);
    };
    let whole = !is_hashtable(&meta);
    let mut c = MemberCursor::open(w, db, key, meta.version);
    if let (Some(after), false) = (after, whole) {
        c.seek(after);
        if c.member() == Some(after) {
            c.advance();
        }
    }
    let mut page = ScanPage::default();
    let mut examined = 0;
    let mut last_examined: Option<Bytes> = None;
    while let Some(m) = c.member() {
        if !whole && examined == count {
            // More members follow: resume after the last one examined (which
            // the pattern may have filtered out).
            page.resume_after = last_examined;
            break;
        }
        examined += 1;
        let m = Bytes::copy_from_slice(m);
        if pattern.is_none_or(|p| glob_match(p, &m, false)) {
            page.members.push(m.clone());
        }
        last_examined = Some(m);
        c.advance();
    }
    c.status()?;
    Ok(Some(page))
}

/// Random positions between the first and last member of a big set.
struct RandomSeeker {
    /// Common prefix of the first and last member.
    common: Vec<u8>,
    /// The range of the first differing byte (first member's to last's).
    first_byte: (u8, u8),
    /// The byte range seen after the common prefix of both members: the
    /// remaining target bytes are drawn from it, so members over a small
    /// alphabet (digits, letters) are not skipped by targets full of bytes
    /// no member uses.
    alphabet: (u8, u8),
}

impl RandomSeeker {
    fn new(first: &[u8], last: &[u8]) -> RandomSeeker {
        let p = first.iter().zip(last).take_while(|(a, b)| a == b).count();
        let tails = first[p..].iter().chain(&last[p..]);
        let lo = tails.clone().copied().min().unwrap_or(0);
        let hi = tails.copied().max().unwrap_or(0xff);
        let a = first.get(p).copied().unwrap_or(lo);
        let b = last.get(p).copied().unwrap_or(hi).max(a);
        RandomSeeker {
            common: first[..p].to_vec(),
            first_byte: (a, b),
            alphabet: (lo, hi.max(lo)),
        }
    }

    /// A random member: the first at or after a random position (wrapping
    /// to the first member past the end).
    fn pick(&self, c: &mut MemberCursor<'_>, rng: &mut impl Rng) -> TypeResult<Option<Bytes>> {
        let mut target = self.common.clone();
        target.push(rng.gen_range(self.first_byte.0..=self.first_byte.1));
        for _ in 0..7 {
            target.push(rng.gen_range(self.alphabet.0..=self.alphabet.1));
        }
        c.seek(&target);
        if c.member().is_none() {
            c.seek_to_first();
        }
        let m = c.member().map(Bytes::copy_from_slice);
        c.status()?;
        Ok(m)
    }
}

/// `count` random members of a set of `size` members (`count <= size`):
/// distinct when `distinct`, else independent picks that may repeat.
fn random_members(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    count: u64,
    distinct: bool,
) -> TypeResult<Vec<Bytes>> {
    let mut rng = rand::thread_rng();
    let size = meta.size;
    if count == 0 || size == 0 {
        return Ok(Vec::new());
    }
    if size <= SMALL_SET {
        let all = collect_members(w, db, key, meta.version, size as usize)?;
        if all.is_empty() {
            return Ok(all);
        }
        if distinct {
            let mut picked: Vec<Bytes> = all
                .choose_multiple(&mut rng, count as usize)
                .cloned()
                .collect();
            picked.shuffle(&mut rng);
            return Ok(picked);
        }
        return Ok((0..count)
            .filter_map(|_| all.choose(&mut rng).cloned())
            .collect());
    }
    if distinct && count.saturating_mul(3) > size {
        return reservoir(w, db, key, meta, count as usize, &mut rng);
    }
    let mut c = MemberCursor::open(w, db, key, meta.version);
    let Some(first) = c.member().map(<[u8]>::to_vec) else {
        c.status()?;
        return Ok(Vec::new());
    };
    let Some(last) = c.last().map(<[u8]>::to_vec) else {
        c.status()?;
        return Ok(Vec::new());
    };
    let seeker = RandomSeeker::new(&first, &last);
    let mut out = Vec::with_capacity(count as usize);
    if !distinct {
        for _ in 0..count {
            if let Some(m) = seeker.pick(&mut c, &mut rng)? {
                out.push(m);
            }
        }
        return Ok(out);
    }
    // Distinct picks by seeking; a strongly skewed set can keep landing on
    // the same members, so after a bounded number of tries fall back to an
    // exact scan.
    let mut seen = HashSet::with_capacity(count as usize);
    let mut tries = count.saturating_mul(8) + 64;
    while (out.len() as u64) < count && tries > 0 {
        tries -= 1;
        if let Some(m) = seeker.pick(&mut c, &mut rng)? {
            if seen.insert(m.clone()) {
                out.push(m);
            }
        }
    }
    if (out.len() as u64) < count {
        return reservoir(w, db, key, meta, count as usize, &mut rng);
    }
    Ok(out)
}

/// `count` distinct members chosen uniformly in one scan (reservoir sampling).
fn reservoir(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    count: usize,
    rng: &mut impl Rng,
) -> TypeResult<Vec<Bytes>> {
    let mut c = MemberCursor::open(w, db, key, meta.version);
    let mut picked: Vec<Bytes> = Vec::with_capacity(count);
    let mut seen = 0usize;
    while let Some(m) = c.member() {
        if picked.len() < count {
            picked.push(Bytes::copy_from_slice(m));
        } else {
            let j = rng.gen_range(0..=seen);
            if j < count {
                picked[j] = Bytes::copy_from_slice(m);
            }
        }
        seen += 1;
        c.advance();
    }
    c.status()?;
    picked.shuffle(rng);
    Ok(picked)
}

/// SRANDMEMBER without a count: `None` for a missing key.
pub fn srandmember(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<Bytes>> {
    let Some(meta) = w.get_typed(db, key, KeyType::Set)? else {
        return Ok(None);
    };
    Ok(random_members(w, db, key, &meta, 1, true)?.pop())
}

/// SRANDMEMBER with a count: a positive count asks for distinct members
/// (the whole set when it is that small), a negative one for `-count`
/// independent picks.
pub fn srandmember_count(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    count: i64,
) -> TypeResult<Option<Vec<Bytes>>> {
    let Some(meta) = w.get_typed(db, key, KeyType::Set)? else {
        return Ok(None);
    };
    let picked = if count < 0 {
        random_members(w, db, key, &meta, count.unsigned_abs(), false)?
    } else if count as u64 >= meta.size {
        collect_members(w, db, key, meta.version, usize::MAX)?
    } else {
        random_members(w, db, key, &meta, count as u64, true)?
    };
    Ok(Some(picked))
}

/// SPOP with or without a count: removes and returns `min(count, size)`
/// random members (the key goes with its last member). `None` for a missing key.
pub fn spop(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    count: u64,
    max_intset: u64,
) -> TypeResult<(Option<Vec<Bytes>>, Option<u64>)> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let Some(meta) = live_set(&stored, w.now_ms())? else {
        return Ok((None, None));
    };
    let mut meta = meta.clone();
    if count == 0 {
        return Ok((Some(Vec::new()), None));
    }
    let mut ws = w.write_set();
    if count >= meta.size {
        let all = collect_members(w, db, key, meta.version, usize::MAX)?;
        ws.delete_key(db, key, &meta);
        return Ok((Some(all), Some(w.stage(ws)?)));
    }
    let popped = random_members(w, db, key, &meta, count, true)?;
    for m in &popped {
        ws.batch.delete(Cf::Data, subkey(db, key, meta.version, m));
    }
    let remaining = meta.size - popped.len() as u64;
    // Redis rebuilds the set from the survivors when few remain (a fresh
    // set, so its encoding is chosen again) instead of removing one by one.
    if remaining.saturating_mul(5) <= count {
        let gone: HashSet<&[u8]> = popped.iter().map(|m| m.as_ref()).collect();
        meta.payload = Bytes::new();
        let mut c = MemberCursor::open(w, db, key, meta.version);
        while let Some(m) = c.member() {
            if !gone.contains(m) {
                note_member(&mut meta, m);
            }
            c.advance();
        }
        c.status()?;
    }
    meta.size = remaining;
    note_size(&mut meta, max_intset);
    ws.put_meta(db, key, &meta, stored.as_ref());
    Ok((Some(popped), Some(w.stage(ws)?)))
}

#[cfg(test)]
mod tests {

    use super::*;

    use crate::types::test_context_in as open;

    fn bytes(v: &[&str]) -> Vec<Bytes> {
        v.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    /// Members stream in byte order and stop at the key's own prefix: a
    /// neighbouring key whose name extends this one is not read.
    #[test]
    fn members_stream_sorted_within_the_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = open(dir.path());
        sadd(
            &w,
            0,
            b"k",
            &bytes(&["b", "a", "c", "a"]),
            MAX_INTSET_ENTRIES,
        )
        .expect("sadd");
        sadd(&w, 0, b"k2", &bytes(&["zzz"]), MAX_INTSET_ENTRIES).expect("sadd");
        let (meta, members) = stream_members(&w, 0, b"k")
            .expect("stream")
            .expect("exists");
        assert_eq!(meta.size, 3);
        let all: Vec<Bytes> = members.collect::<TypeResult<_>>().expect("members");
        assert_eq!(all, bytes(&["a", "b", "c"]));
        assert!(stream_members(&w, 0, b"nope").expect("stream").is_none());
        assert_eq!(
            srem(&w, 0, b"k", &bytes(&["a", "b", "c"])).expect("srem").0,
            3
        );
        assert!(
            w.lookup_key(0, b"k").expect("get").is_none(),
            "empty set deleted"
        );
        assert_eq!(w.dbsize(0), 1);
    }

    /// Random picks on a set too big to load: members, distinct when asked,
    /// and the exact fallback when seeks cannot find enough distinct ones.
    #[test]
    fn random_picks_on_a_big_set() {
        let dir = tempfile::tempdir().expect("tempdir");
        let w = open(dir.path());
        let names: Vec<String> = (0..1000).map(|i| format!("m{i:04}")).collect();
        let members: Vec<Bytes> = names.iter().map(|n| Bytes::from(n.clone())).collect();
        sadd(&w, 0, b"big", &members, MAX_INTSET_ENTRIES).expect("sadd");
        let all: HashSet<Bytes> = members.iter().cloned().collect();
        for count in [1, 10, 300, 999] {
            let got = srandmember_count(&w, 0, b"big", count)
                .expect("rand")
                .expect("some");
            assert_eq!(got.len() as i64, count);
            let distinct: HashSet<Bytes> = got.iter().cloned().collect();
            assert_eq!(distinct.len(), got.len());
            assert!(distinct.is_subset(&all));
        }
        let got = srandmember_count(&w, 0, b"big", -2000)
            .expect("rand")
            .expect("some");
        assert_eq!(got.len(), 2000);
        assert!(got.iter().all(|m| all.contains(m)));
        let (popped, _) = spop(&w, 0, b"big", 900, MAX_INTSET_ENTRIES).expect("spop");
        let popped = popped.expect("some");
        assert_eq!(popped.len(), 900);
        assert_eq!(scard(&w, 0, b"big").expect("scard"), Some(100));
        let left: HashSet<Bytes> = smembers(&w, 0, b"big")
            .expect("smembers")
            .expect("some")
            .into_iter()
            .collect();
        assert_eq!(left.len(), 100);
        assert!(popped.iter().all(|m| !left.contains(m)));
    }

    #[test]
    fn intset_members_are_canonical_i64() {
        for ok in [
            "0",
            "-1",
            "9223372036854775807",
            "-9223372036854775808",
            "42",
        ] {
            assert!(is_intset_member(ok.as_bytes()), "{ok}");
        }
        for no in [
            "",
            "01",
            "+1",
            "-0",
            " 1",
            "1 ",
            "9223372036854775808",
            "1.0",
            "a",
        ] {
            assert!(!is_intset_member(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn encoding_is_sticky_and_size_bounded() {
        let mut m = Metadata::collection(KeyType::Set, 1, 0);
        assert_eq!(encoding_name(&m), "intset");
        note_member(&mut m, b"12");
        assert_eq!(encoding_name(&m), "intset");
        m.size = MAX_INTSET_ENTRIES + 1;
        note_size(&mut m, MAX_INTSET_ENTRIES + 1);
        assert_eq!(encoding_name(&m), "intset", "a raised limit keeps it");
        note_size(&mut m, MAX_INTSET_ENTRIES);
        assert_eq!(encoding_name(&m), "hashtable");
        m.size = 1;
        assert_eq!(encoding_name(&m), "hashtable", "conversion is one-way");
        let mut m = Metadata::collection(KeyType::Set, 1, 0);
        note_member(&mut m, b"x");
        assert_eq!(encoding_name(&m), "hashtable");
        let decoded = Metadata::decode(&m.encode()).expect("decode");
        assert_eq!(encoding_name(&decoded), "hashtable");
    }

    #[test]
    fn random_positions_stay_between_first_and_last() {
        let s = RandomSeeker::new(b"user:0001", b"user:9999");
        assert_eq!(s.common, b"user:");
        assert_eq!((s.first_byte, s.alphabet), ((b'0', b'9'), (b'0', b'9')));
        let same = RandomSeeker::new(b"a", b"a");
        assert!(same.first_byte.0 <= same.first_byte.1);
        // A first member longer than the last still gives valid ranges.
        let odd = RandomSeeker::new(b"ab\xff\xff", b"ac");
        assert!(odd.first_byte.0 <= odd.first_byte.1 && odd.alphabet.0 <= odd.alphabet.1);
    }
}
