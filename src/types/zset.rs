//! Sorted sets: point operations (ZADD, ZREM, ZSCORE, ZRANK, pops) and the
//! score-ordered iterator every range operation streams from. Ranges live in
//! `zset_range`, set algebra (ZUNION/ZINTER/ZDIFF) in `zset_algebra`.
//!
//! Storage encoding:
//!
//! ```text
//! meta   CF  Metadata{kind: ZSet, size: member count}
//! data   CF  subkey(db, key, version, member)                     -> score: f64 bits, 8 bytes big-endian
//! zscore CF  subkey(db, key, version, [sortable score][member])  -> ""
//! ```
//!
//! The sortable score is the f64 bit pattern made to sort bytewise in numeric
//! order: for positive numbers (sign bit 0) flip the sign bit, for negative
//! numbers flip all bits; big-endian. -0.0 is stored as 0.0 (Redis replies
//! `0` for a member added with `-0`), NaN never reaches storage. Because the
//! member follows the 8 score bytes, ties sort by member bytes with a prefix
//! before its extensions, which is Redis's order (`memcmp`, then length).
//!
//! The data CF answers "score of member" in one get; the zscore CF gives
//! score order for ranges, ranks and pops. Both are written in the same batch.

use bytes::Bytes;

use super::encoding::{prefix_end, subkey, subkey_prefix};
use super::{KeyType, Metadata, TypeError, TypeResult, WriteContext, WriteSet};
use crate::engine::{Cf, EngineIter};

pub const ERR_NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

/// A (member, score) pair as replies and the SORT command use it.
pub type Scored = (Bytes, f64);

/// -0.0 becomes 0.0 (Redis never reports a negative zero score).
pub fn normalize(score: f64) -> f64 {
    if score == 0.0 {
        0.0
    } else {
        score
    }
}

/// The 8 bytes that make scores sort bytewise in numeric order.
pub fn sortable_score(score: f64) -> [u8; 8] {
    let bits = normalize(score).to_bits();
    let t = if bits >> 63 == 0 {
        bits ^ (1 << 63)
    } else {
        !bits
    };
    t.to_be_bytes()
}

/// Inverse of [`sortable_score`].
pub fn score_from_sortable(raw: &[u8]) -> Option<f64> {
    let t = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
    let bits = if t >> 63 == 1 { t ^ (1 << 63) } else { !t };
    Some(f64::from_bits(bits))
}

pub(crate) fn score_value(score: f64) -> [u8; 8] {
    score.to_bits().to_be_bytes()
}

fn score_from_value(raw: &[u8]) -> TypeResult<f64> {
    raw.get(..8)
        .and_then(|b| b.try_into().ok())
        .map(|b| f64::from_bits(u64::from_be_bytes(b)))
        .ok_or(TypeError::Corrupt(super::encoding::CorruptMetadata))
}

/// The zscore-CF subkey of one entry: `[sortable score][member]`.
pub(crate) fn score_sub(score: f64, member: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + member.len());
    v.extend_from_slice(&sortable_score(score));
    v.extend_from_slice(member);
    v
}

/// The score as Redis's `d2string` writes it (ZSCAN): integers up to
/// 2^62 in integer form, others as `%.17g`.
pub fn score_string(score: f64) -> String {
    if score.is_infinite() {
        return if score > 0.0 { "inf" } else { "-inf" }.into();
    }
    let half = (i64::MAX / 2) as f64;
    if score >= -half && score <= half && score.trunc() == score {
        return (score as i64).to_string();
    }
    crate::num::printf_g17(score)
}

/// The live sorted set at `key` (lock-free read); WRONGTYPE for other types.
pub fn live_meta(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
    w.get_typed(db, key, KeyType::ZSet)
}

/// The stored record as a live sorted set (use it under the key lock).
pub(crate) fn locked_meta(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
) -> TypeResult<Option<Metadata>> {
    match w.lookup_key(db, key)? {
        Some(m) if m.is_expired(w.now_ms()) => Ok(None),
        Some(m) if m.kind != KeyType::ZSet => Err(TypeError::WrongType),
        other => Ok(other),
    }
}

/// Streams one version of a sorted set from the zscore CF, in score order.
pub struct ScoreIter<'a> {
    it: Box<dyn EngineIter + 'a>,
    prefix: Vec<u8>,
}

impl<'a> ScoreIter<'a> {
    pub fn open(w: &'a WriteContext<'a>, db: u8, key: &[u8], version: u64) -> ScoreIter<'a> {
        let prefix = subkey_prefix(db, key, version);
        let upper = prefix_end(&prefix);
        let it = w.iter(Cf::ZScore, Some(prefix.as_slice()), upper.as_deref());
        ScoreIter { it, prefix }
    }

    pub fn first(&mut self) {
        self.it.seek_to_first();
    }

    pub fn last(&mut self) {
        self.it.seek_to_last();
    }

    fn target(&self, sortable: u64, member: &[u8]) -> Vec<u8> {
        let mut k = self.prefix.clone();
        k.extend_from_slice(&sortable.to_be_bytes());
        k.extend_from_slice(member);
        k
    }

    /// First entry with score >= `score` (> when `exclusive`).
    pub fn seek_score(&mut self, score: f64, exclusive: bool) {
        let s = u64::from_be_bytes(sortable_score(score));
        let s = if exclusive { s.checked_add(1) } else { Some(s) };
        match s {
            Some(s) => {
                let t = self.target(s, b"");
                self.it.seek(&t);
            }
            None => {
                self.it.seek_to_last();
                if self.it.valid() {
                    self.it.next();
                }
            }
        }
    }

    /// Last entry with score <= `score` (< when `exclusive`).
    pub fn seek_score_rev(&mut self, score: f64, exclusive: bool) {
        let s = u64::from_be_bytes(sortable_score(score));
        let s = if exclusive { Some(s) } else { s.checked_add(1) };
        self.seek_before(s.map(|s| self.target(s, b"")));
    }

    /// First entry at or after `(score, member)`.
    pub fn seek_entry(&mut self, score: f64, member: &[u8]) {
        let t = self.target(u64::from_be_bytes(sortable_score(score)), member);
        self.it.seek(&t);
    }

    /// Last entry strictly before `(score, member)`.
    pub fn seek_before_entry(&mut self, score: f64, member: &[u8]) {
        let t = self.target(u64::from_be_bytes(sortable_score(score)), member);
        self.seek_before(Some(t));
    }

    /// Positions on the last entry before `bound` (None: the very last).
    fn seek_before(&mut self, bound: Option<Vec<u8>>) {
        match bound {
            Some(t) => {
                self.it.seek(&t);
                if self.it.valid() {
                    self.it.prev();
                } else {
                    self.it.seek_to_last();
                }
            }
            None => self.it.seek_to_last(),
        }
    }

    pub fn valid(&self) -> bool {
        self.it.valid()
    }

    pub fn next(&mut self) {
        self.it.next();
    }

    pub fn prev(&mut self) {
        self.it.prev();
    }

    /// Score and member of the current entry.
    pub fn entry(&self) -> TypeResult<(f64, &[u8])> {
        let sub = self
            .it
            .key()
            .get(self.prefix.len()..)
            .filter(|s| s.len() >= 8)
            .ok_or(TypeError::Corrupt(super::encoding::CorruptMetadata))?;
        let score = score_from_sortable(sub).unwrap_or(0.0);
        Ok((score, &sub[8..]))
    }

    /// Surfaces an engine error that ended the iteration early.
    pub fn status(&self) -> TypeResult<()> {
        Ok(self.it.status()?)
    }
}

/// All members of a sorted set in score order, streamed (SORT uses it).
pub struct ZsetStream<'a> {
    iter: ScoreIter<'a>,
    started: bool,
    done: bool,
}

impl Iterator for ZsetStream<'_> {
    type Item = TypeResult<Scored>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.started {
            self.iter.next();
        } else {
            self.iter.first();
            self.started = true;
        }
        if !self.iter.valid() {
            self.done = true;
            return self.iter.status().err().map(Err);
        }
        Some(
            self.iter
                .entry()
                .map(|(s, m)| (Bytes::copy_from_slice(m), s)),
        )
    }
}

/// Streams the members of the sorted set at `key` in score order; `None`
/// for a missing key, WRONGTYPE for other types.
pub fn stream<'a>(
    w: &'a WriteContext<'a>,
    db: u8,
    key: &[u8],
) -> TypeResult<Option<ZsetStream<'a>>> {
    Ok(live_meta(w, db, key)?.map(|m| stream_version(w, db, key, &m)))
}

/// Streams a sorted set whose metadata the caller already read.
pub fn stream_version<'a>(
    w: &'a WriteContext<'a>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
) -> ZsetStream<'a> {
    ZsetStream {
        iter: ScoreIter::open(w, db, key, meta.version),
        started: false,
        done: false,
    }
}

/// The score of `member` in one version of a sorted set.
pub fn member_score(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    version: u64,
    member: &[u8],
) -> TypeResult<Option<f64>> {
    match w.get(Cf::Data, &subkey(db, key, version, member))? {
        Some(raw) => Ok(Some(score_from_value(&raw)?)),
        None => Ok(None),
    }
}

/// ZSCORE.
pub fn score(w: &WriteContext<'_>, db: u8, key: &[u8], member: &[u8]) -> TypeResult<Option<f64>> {
    match live_meta(w, db, key)? {
        Some(m) => member_score(w, db, key, m.version, member),
        None => Ok(None),
    }
}

/// ZMSCORE: one score (or None) per member.
pub fn mscore(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    members: &[Bytes],
) -> TypeResult<Vec<Option<f64>>> {
    let Some(m) = live_meta(w, db, key)? else {
        return Ok(vec![None; members.len()]);
    };
    let keys: Vec<Vec<u8>> = members
        .iter()
        .map(|f| subkey(db, key, m.version, f))
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    w.multi_get(Cf::Data, &refs)?
        .into_iter()
        .map(|v| v.map(|raw| score_from_value(&raw)).transpose())
        .collect()
}

/// ZCARD.
pub fn card(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<u64> {
    Ok(live_meta(w, db, key)?.map_or(0, |m| m.size))
}

/// ZRANK / ZREVRANK. Walks from both ends at once, so the cost is the
/// distance to the nearer end.
pub fn rank(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    member: &[u8],
    rev: bool,
) -> TypeResult<Option<u64>> {
    let Some(meta) = live_meta(w, db, key)? else {
        return Ok(None);
    };
    let Some(score) = member_score(w, db, key, meta.version, member)? else {
        return Ok(None);
    };
    let mut front = ScoreIter::open(w, db, key, meta.version);
    let mut back = ScoreIter::open(w, db, key, meta.version);
    front.first();
    back.last();
    let target_score = normalize(score);
    let is_target = |it: &ScoreIter<'_>| -> TypeResult<bool> {
        let (s, m) = it.entry()?;
        Ok(s == target_score && m == member)
    };
    let mut steps = 0u64;
    while front.valid() && back.valid() && steps < meta.size {
        if is_target(&front)? {
            let r = steps;
            return Ok(Some(if rev { meta.size - 1 - r } else { r }));
        }
        if is_target(&back)? {
            let r = meta.size - 1 - steps;
            return Ok(Some(if rev { meta.size - 1 - r } else { r }));
        }
        front.next();
        back.prev();
        steps += 1;
    }
    front.status()?;
    back.status()?;
    Ok(None)
}

/// Scores this command changed, by member (`None`: removed). A short list
/// while it is short: ZADD usually names one or a few members, and a hash
/// map cost every such ZADD ~600 instructions (SipHash, the table's
/// allocation and growth; callgrind). A map past [`ChangedScores::FEW`],
/// so thousands of members stay linear.
enum ChangedScores {
    Few(Vec<(Bytes, Option<f64>)>),
    Many(rustc_hash::FxHashMap<Bytes, Option<f64>>),
}

impl Default for ChangedScores {
    fn default() -> Self {
        ChangedScores::Few(Vec::new())
    }
}

impl ChangedScores {
    const FEW: usize = 16;

    fn get(&self, member: &[u8]) -> Option<Option<f64>> {
        match self {
            ChangedScores::Few(v) => v.iter().find(|(m, _)| m == member).map(|(_, s)| *s),
            ChangedScores::Many(map) => map.get(member).copied(),
        }
    }

    fn insert(&mut self, member: Bytes, score: Option<f64>) {
        match self {
            ChangedScores::Few(v) => {
                if let Some(slot) = v.iter_mut().find(|(m, _)| *m == member) {
                    slot.1 = score;
                } else if v.len() < Self::FEW {
                    v.push((member, score));
                } else {
                    let mut map: rustc_hash::FxHashMap<_, _> = v.drain(..).collect();
                    map.insert(member, score);
                    *self = ChangedScores::Many(map);
                }
            }
            ChangedScores::Many(map) => {
                map.insert(member, score);
            }
        }
    }
}

/// The pending changes of one sorted set inside a write: the metadata to
/// store, the batch, and an overlay so a command sees its own earlier
/// changes (ZADD k 1 a 2 a).
pub(crate) struct ZsetWriter<'a> {
    w: &'a WriteContext<'a>,
    db: u8,
    key: &'a [u8],
    pub meta: Metadata,
    /// The record as stored before this command (expired or not).
    stored: Option<Metadata>,
    /// Whether a live key existed before this command.
    existed: bool,
    overlay: ChangedScores,
    pub ws: WriteSet,
    dirty: bool,
}

impl<'a> ZsetWriter<'a> {
    /// Opens the sorted set at `key` for change (WRONGTYPE for other types).
    /// Call it holding the key lock.
    pub fn open(w: &'a WriteContext<'a>, db: u8, key: &'a [u8]) -> TypeResult<ZsetWriter<'a>> {
        let stored = w.lookup_key(db, key)?;
        let live = stored.as_ref().filter(|m| !m.is_expired(w.now_ms()));
        if live.is_some_and(|m| m.kind != KeyType::ZSet) {
            return Err(TypeError::WrongType);
        }
        let existed = live.is_some();
        let meta = match live {
            Some(m) => m.clone(),
            None => Metadata::collection(KeyType::ZSet, w.new_version(), 0),
        };
        Ok(Self::with(w, db, key, meta, stored, existed))
    }

    /// Opens `key` as a new, empty sorted set replacing whatever it holds
    /// (the destination of the *STORE commands). Call it holding the lock.
    pub fn replace(w: &'a WriteContext<'a>, db: u8, key: &'a [u8]) -> TypeResult<ZsetWriter<'a>> {
        let stored = w.lookup_key(db, key)?;
        let existed = stored.as_ref().is_some_and(|m| !m.is_expired(w.now_ms()));
        let meta = Metadata::collection(KeyType::ZSet, w.new_version(), 0);
        let mut zw = Self::with(w, db, key, meta, stored, existed);
        // Dropping the old value is a change even if nothing is added.
        zw.dirty = existed;
        Ok(zw)
    }

    fn with(
        w: &'a WriteContext<'a>,
        db: u8,
        key: &'a [u8],
        meta: Metadata,
        stored: Option<Metadata>,
        existed: bool,
    ) -> ZsetWriter<'a> {
        ZsetWriter {
            w,
            db,
            key,
            meta,
            stored,
            existed,
            overlay: ChangedScores::default(),
            ws: w.write_set(),
            dirty: false,
        }
    }

    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The current score of `member`, this command's changes included.
    pub fn score(&self, member: &[u8]) -> TypeResult<Option<f64>> {
        if let Some(s) = self.overlay.get(member) {
            return Ok(s);
        }
        if !self.existed {
            return Ok(None);
        }
        member_score(self.w, self.db, self.key, self.meta.version, member)
    }

    /// Sets the score of `member`, whose current score is `old`.
    pub fn set(&mut self, member: &Bytes, old: Option<f64>, score: f64) {
        let score = normalize(score);
        let (db, key, v) = (self.db, self.key, self.meta.version);
        if let Some(o) = old {
            self.ws
                .batch
                .delete(Cf::ZScore, subkey(db, key, v, &score_sub(o, member)));
        } else {
            self.meta.size += 1;
        }
        self.ws
            .batch
            .put(Cf::Data, subkey(db, key, v, member), score_value(score));
        self.ws.batch.put(
            Cf::ZScore,
            subkey(db, key, v, &score_sub(score, member)),
            Vec::new(),
        );
        self.overlay.insert(member.clone(), Some(score));
        self.dirty = true;
    }

    /// Removes `member`, whose current score is `old`.
    pub fn remove(&mut self, member: &[u8], old: f64) {
        let (db, key, v) = (self.db, self.key, self.meta.version);
        self.ws.batch.delete(Cf::Data, subkey(db, key, v, member));
        self.ws
            .batch
            .delete(Cf::ZScore, subkey(db, key, v, &score_sub(old, member)));
        self.meta.size = self.meta.size.saturating_sub(1);
        self.overlay.insert(Bytes::copy_from_slice(member), None);
        self.dirty = true;
    }

    /// Commits the changes (deleting the key when it became empty); `None`
    /// when there was nothing to write.
    pub fn finish(mut self) -> TypeResult<Option<u64>> {
        if !self.dirty {
            return Ok(None);
        }
        if self.meta.size == 0 {
            match self.stored.as_ref() {
                Some(st) if self.existed => {
                    let mut ws = self.w.write_set();
                    ws.delete_key(self.db, self.key, st);
                    return Ok(Some(self.w.stage(ws)?));
                }
                _ => return Ok(None),
            }
        }
        self.ws
            .put_meta(self.db, self.key, &self.meta, self.stored.as_ref());
        Ok(Some(self.w.stage(self.ws)?))
    }
}

/// ZADD's options.
#[derive(Debug, Default, Clone, Copy)]
pub struct AddFlags {
    /// Only add new members.
    pub nx: bool,
    /// Only update existing members.
    pub xx: bool,
    /// Only update when the new score is greater.
    pub gt: bool,
    /// Only update when the new score is less.
    pub lt: bool,
    /// Count changed members too, not only added ones.
    pub ch: bool,
    /// The score is an increment (ZINCRBY, ZADD INCR).
    pub incr: bool,
}

#[derive(Debug, PartialEq)]
pub enum AddReply {
    /// Added (or with CH, added + updated) members.
    Count(u64),
    /// INCR: the new score, or None when a condition vetoed the update.
    /// Not normalised: like Redis, ZINCRBY of -0 on a new member replies
    /// `-0` (the stored score is 0).
    Score(Option<f64>),
}

/// ZADD / ZINCRBY. Elements are applied in order, as Redis applies them.
pub fn add(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    flags: AddFlags,
    elements: &[(f64, Bytes)],
) -> TypeResult<(AddReply, Option<u64>)> {
    w.lock(db, &[key]);
    let mut zw = ZsetWriter::open(w, db, key)?;
    let (mut added, mut updated) = (0u64, 0u64);
    let mut incr_result = None;
    for (score, member) in elements {
        let mut score = *score;
        match zw.score(member)? {
            Some(cur) => {
                if flags.nx {
                    continue;
                }
                if flags.incr {
                    score += cur;
                    if score.is_nan() {
                        return Err(TypeError::Reply(ERR_NAN_SCORE.into()));
                    }
                }
                if (flags.lt && score >= cur) || (flags.gt && score <= cur) {
                    continue;
                }
                incr_result = Some(score);
                if score != cur {
                    zw.set(member, Some(cur), score);
                    updated += 1;
                }
            }
            None if !flags.xx => {
                zw.set(member, None, score);
                incr_result = Some(score);
                added += 1;
            }
            None => {}
        }
    }
    let seq = zw.finish()?;
    let reply = if flags.incr {
        AddReply::Score(incr_result)
    } else if flags.ch {
        AddReply::Count(added + updated)
    } else {
        AddReply::Count(added)
    };
    Ok((reply, seq))
}

/// ZREM: the number of members removed.
pub fn remove(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    members: &[Bytes],
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let mut zw = ZsetWriter::open(w, db, key)?;
    if !zw.existed() {
        return Ok((0, None));
    }
    let mut removed = 0;
    for m in members {
        if let Some(old) = zw.score(m)? {
            zw.remove(m, old);
            removed += 1;
        }
    }
    Ok((removed, zw.finish()?))
}

/// ZPOPMIN (`max` false) / ZPOPMAX: removes and returns up to `count`
/// members from one end. BZPOPMIN/BZPOPMAX/BZMPOP build on it.
pub fn pop(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    max: bool,
    count: u64,
) -> TypeResult<(Vec<Scored>, Option<u64>)> {
    w.lock(db, &[key]);
    let mut zw = ZsetWriter::open(w, db, key)?;
    if !zw.existed() || count == 0 {
        return Ok((Vec::new(), None));
    }
    let mut out = Vec::with_capacity(count.min(zw.meta.size) as usize);
    {
        let mut it = ScoreIter::open(w, db, key, zw.meta.version);
        if max {
            it.last();
        } else {
            it.first();
        }
        while it.valid() && (out.len() as u64) < count {
            let (s, m) = it.entry()?;
            out.push((Bytes::copy_from_slice(m), s));
            if max {
                it.prev();
            } else {
                it.next();
            }
        }
        it.status()?;
    }
    for (m, s) in &out {
        zw.remove(m, *s);
    }
    Ok((out, zw.finish()?))
}

/// Replaces `dst` with a sorted set of `entries` (deleting it when there are
/// none), as the *STORE commands do. Call it holding the lock on `dst`.
pub(crate) fn store_locked(
    w: &WriteContext<'_>,
    db: u8,
    dst: &[u8],
    entries: &[Scored],
) -> TypeResult<(u64, Option<u64>)> {
    let mut zw = ZsetWriter::replace(w, db, dst)?;
    for (m, s) in entries {
        let old = zw.score(m)?;
        zw.set(m, old, *s);
    }
    let n = zw.meta.size;
    Ok((n, zw.finish()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_scores_sort_numerically() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1.0,
            -f64::MIN_POSITIVE,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1.5,
            1e300,
            f64::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(
                sortable_score(w[0]) < sortable_score(w[1]),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        for v in values {
            assert_eq!(score_from_sortable(&sortable_score(v)), Some(v));
        }
        assert_eq!(sortable_score(-0.0), sortable_score(0.0));
        assert_eq!(
            score_from_sortable(&sortable_score(-0.0))
                .unwrap()
                .to_bits(),
            0
        );
    }

    #[test]
    fn ties_sort_by_member_bytes() {
        let a = score_sub(1.0, b"a");
        let ab = score_sub(1.0, b"ab");
        let b = score_sub(1.0, b"b");
        let next = score_sub(1.0000000000000002, b"");
        assert!(a < ab && ab < b && b < next);
    }

    #[test]
    fn score_strings_like_d2string() {
        assert_eq!(score_string(1e17), "100000000000000000");
        assert_eq!(score_string(1.5), "1.5");
        assert_eq!(score_string(0.1), "0.10000000000000001");
        assert_eq!(score_string(-3.0), "-3");
        assert_eq!(score_string(1e19), "1e+19");
        assert_eq!(score_string(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn changed_scores_keep_the_latest_score_past_the_short_list() {
        let mut changed = ChangedScores::default();
        let name = |i: usize| Bytes::from(format!("m{i}"));
        for i in 0..40 {
            changed.insert(name(i), Some(i as f64));
            // Changed again at once: the entry is replaced, not added.
            changed.insert(name(i), Some(i as f64 + 0.5));
        }
        changed.insert(name(3), None);
        assert!(matches!(changed, ChangedScores::Many(_)));
        assert_eq!(changed.get(b"m3"), Some(None));
        for i in (0..40).filter(|&i| i != 3) {
            assert_eq!(changed.get(&name(i)), Some(Some(i as f64 + 0.5)), "m{i}");
        }
        assert_eq!(changed.get(b"m40"), None);
        let mut few = ChangedScores::default();
        few.insert(name(1), Some(1.0));
        few.insert(name(1), None);
        assert!(matches!(&few, ChangedScores::Few(v) if v.len() == 1));
        assert_eq!(few.get(b"m1"), Some(None));
    }
}
