//! Sorted-set ranges: by rank, by score and by member (lex), in either
//! direction with LIMIT, streamed from the zscore CF (see `zset` for the
//! encoding). Used by ZRANGE and friends, ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*,
//! ZRANGESTORE, ZRANDMEMBER and ZSCAN.

use bytes::Bytes;
use rand::seq::SliceRandom;
use rand::Rng;

use super::encoding::{prefix_end, subkey_prefix};
use super::zset::{live_meta, locked_meta, store_locked, ScoreIter, Scored, ZsetWriter};
use super::{Metadata, TypeResult, WriteContext};
use crate::engine::Cf;

/// Redis keeps sorted sets of up to this many members in a listpack, whose
/// lex walks and ZSCAN replies are linear in score order; we mirror that.
const LISTPACK_MAX: u64 = 128;

/// `strtod` as Redis's range parsing uses it: the whole string must be
/// consumed; leading spaces, hex and overflow to infinity are accepted.
fn strtod_full(arg: &[u8]) -> Option<f64> {
    let c = std::ffi::CString::new(arg).ok()?;
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
    // strtod only reads it and stores a pointer into it in `end`.
    let v = unsafe { libc::strtod(c.as_ptr(), &mut end) };
    // SAFETY: `end` points into `c`'s buffer (or at its start).
    let consumed = unsafe { end.offset_from(c.as_ptr()) } as usize;
    (consumed == arg.len() && !v.is_nan()).then_some(v)
}

/// A score as ZADD, ZINCRBY and WEIGHTS parse it (Redis's
/// `getDoubleFromObject`): no leading space, no overflow, not NaN.
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg[0].is_ascii_whitespace() || arg[0] == 0x0b || arg[0] == 0x0c {
        return None;
    }
    let v = strtod_full(arg)?;
    if v.is_infinite() {
        // strtod reports overflow as +-HUGE_VAL; "inf"/"infinity" are fine.
        let body = arg
            .strip_prefix(b"-")
            .or(arg.strip_prefix(b"+"))
            .unwrap_or(arg);
        if !body.eq_ignore_ascii_case(b"inf") && !body.eq_ignore_ascii_case(b"infinity") {
            return None;
        }
    }
    if v == 0.0 && arg.iter().any(|b| (b'1'..=b'9').contains(b)) {
        // Underflow to zero is ERANGE for Redis, except for hex digits
        // that are genuinely zero-valued, which are not worth telling apart.
        let mantissa_end = arg
            .iter()
            .position(|b| matches!(b, b'e' | b'E' | b'p' | b'P'))
            .unwrap_or(arg.len());
        if arg[..mantissa_end]
            .iter()
            .any(|b| (b'1'..=b'9').contains(b))
        {
            return None;
        }
    }
    Some(v)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreBound {
    pub value: f64,
    pub exclusive: bool,
}

/// `min max` of ZRANGEBYSCORE and ZCOUNT: `1.5`, `(1.5`, `-inf`, `+inf`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: ScoreBound,
    pub max: ScoreBound,
}

impl ScoreRange {
    /// `None` means Redis's `ERR min or max is not a float`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        Some(ScoreRange {
            min: parse_score_bound(min)?,
            max: parse_score_bound(max)?,
        })
    }

    fn gte_min(&self, s: f64) -> bool {
        if self.min.exclusive {
            s > self.min.value
        } else {
            s >= self.min.value
        }
    }

    fn lte_max(&self, s: f64) -> bool {
        if self.max.exclusive {
            s < self.max.value
        } else {
            s <= self.max.value
        }
    }

    fn is_empty(&self) -> bool {
        self.min.value > self.max.value
            || (self.min.value == self.max.value && (self.min.exclusive || self.max.exclusive))
    }
}

fn parse_score_bound(arg: &[u8]) -> Option<ScoreBound> {
    match arg.first() {
        Some(b'(') => Some(ScoreBound {
            value: strtod_full(&arg[1..])?,
            exclusive: true,
        }),
        _ => Some(ScoreBound {
            value: strtod_full(arg)?,
            exclusive: false,
        }),
    }
}

/// One end of a lex range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Inclusive(Bytes),
    Exclusive(Bytes),
}

impl LexBound {
    fn parse(arg: &[u8]) -> Option<LexBound> {
        match arg {
            b"-" => Some(LexBound::NegInf),
            b"+" => Some(LexBound::PosInf),
            [b'[', rest @ ..] => Some(LexBound::Inclusive(Bytes::copy_from_slice(rest))),
            [b'(', rest @ ..] => Some(LexBound::Exclusive(Bytes::copy_from_slice(rest))),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    /// `None` means `ERR min or max not valid string range item`.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<LexRange> {
        Some(LexRange {
            min: LexBound::parse(min)?,
            max: LexBound::parse(max)?,
        })
    }

    fn gte_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Inclusive(b) => m >= &b[..],
            LexBound::Exclusive(b) => m > &b[..],
        }
    }

    fn lte_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Inclusive(b) => m <= &b[..],
            LexBound::Exclusive(b) => m < &b[..],
        }
    }

    fn is_empty(&self) -> bool {
        use LexBound::*;
        match (&self.min, &self.max) {
            (PosInf, _) | (_, NegInf) => true,
            (NegInf, _) | (_, PosInf) => false,
            (Inclusive(a), Inclusive(b)) => a > b,
            (Inclusive(a) | Exclusive(a), Inclusive(b) | Exclusive(b)) => a >= b,
        }
    }
}

/// What a range selects.
#[derive(Debug, Clone, PartialEq)]
pub enum RangeBy {
    /// Ranks, negative counting from the end (`start stop` of ZRANGE).
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A full range query: the selection, the direction, and LIMIT (offset,
/// count; count < 0 means no limit). For REV score/lex ranges, `by` holds
/// the bounds as min/max (the caller swaps Redis's `max min` order).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeQuery {
    pub by: RangeBy,
    pub rev: bool,
    pub offset: i64,
    pub limit: i64,
}

impl RangeQuery {
    pub fn new(by: RangeBy, rev: bool) -> RangeQuery {
        RangeQuery {
            by,
            rev,
            offset: 0,
            limit: -1,
        }
    }
}

/// Whether an entry (score, member) is still inside the range being walked.
type InRange<'a> = dyn Fn(f64, &[u8]) -> bool + 'a;

/// Calls `visit` with each entry of the range, in reply order.
fn walk(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    q: &RangeQuery,
    visit: &mut dyn FnMut(f64, &[u8]),
) -> TypeResult<()> {
    let mut it = ScoreIter::open(w, db, key, meta.version);
    if let RangeBy::Rank(start, stop) = q.by {
        return walk_ranks(&mut it, meta.size as i64, start, stop, q.rev, visit);
    }
    if q.offset < 0 || q.limit == 0 {
        return Ok(());
    }
    let mut skip = q.offset;
    // None: no limit (any negative count).
    let mut left: Option<u64> = u64::try_from(q.limit).ok();
    // Position on the first entry of the walk and choose the stop test.
    let in_range: Box<InRange<'_>> = match &q.by {
        RangeBy::Score(r) => {
            if r.is_empty() {
                return Ok(());
            }
            if q.rev {
                it.seek_score_rev(r.max.value, r.max.exclusive);
                Box::new(move |s: f64, _m: &[u8]| r.gte_min(s))
            } else {
                it.seek_score(r.min.value, r.min.exclusive);
                Box::new(move |s: f64, _m: &[u8]| r.lte_max(s))
            }
        }
        RangeBy::Lex(r) => {
            if r.is_empty() {
                return Ok(());
            }
            seek_lex(&mut it, meta, r, q.rev)?;
            if q.rev {
                Box::new(move |_s: f64, m: &[u8]| r.gte_min(m))
            } else {
                Box::new(move |_s: f64, m: &[u8]| r.lte_max(m))
            }
        }
        RangeBy::Rank(..) => unreachable!("handled above"),
    };
    while it.valid() && left != Some(0) {
        let (s, m) = it.entry()?;
        if !in_range(s, m) {
            break;
        }
        if skip > 0 {
            skip -= 1;
        } else {
            visit(s, m);
            if let Some(l) = left.as_mut() {
                *l -= 1;
            }
        }
        if q.rev {
            it.prev();
        } else {
            it.next();
        }
    }
    it.status()
}

/// Positions `it` on the first entry of a lex walk. Lex ranges assume equal
/// scores (as in Redis); small sets are walked linearly from the end like
/// Redis's listpack, large ones seek within the end's score.
fn seek_lex(it: &mut ScoreIter<'_>, meta: &Metadata, r: &LexRange, rev: bool) -> TypeResult<()> {
    // Redis's quick rejection: the first member must not be above the
    // range and the last not below it.
    it.first();
    let first_ok = it.valid() && r.lte_max(it.entry()?.1);
    it.last();
    let last_ok = it.valid() && r.gte_min(it.entry()?.1);
    if !(first_ok && last_ok) {
        if it.valid() {
            it.next();
        }
        return it.status();
    }
    if rev {
        it.last();
        if !it.valid() {
            return it.status();
        }
        if meta.size > LISTPACK_MAX {
            let (s, _) = it.entry()?;
            match &r.max {
                LexBound::Inclusive(b) => {
                    let mut after = b.to_vec();
                    after.push(0);
                    it.seek_before_entry(s, &after);
                }
                LexBound::Exclusive(b) => it.seek_before_entry(s, b),
                _ => {}
            }
        }
        while it.valid() && !r.lte_max(it.entry()?.1) {
            it.prev();
        }
    } else {
        it.first();
        if !it.valid() {
            return it.status();
        }
        if meta.size > LISTPACK_MAX {
            let (s, _) = it.entry()?;
            match &r.min {
                LexBound::Inclusive(b) => it.seek_entry(s, b),
                LexBound::Exclusive(b) => {
                    let mut after = b.to_vec();
                    after.push(0);
                    it.seek_entry(s, &after);
                }
                _ => {}
            }
        }
        while it.valid() && !r.gte_min(it.entry()?.1) {
            it.next();
        }
    }
    Ok(())
}

/// Rank ranges, walked from whichever end of the set is nearer.
fn walk_ranks(
    it: &mut ScoreIter<'_>,
    len: i64,
    mut start: i64,
    mut stop: i64,
    rev: bool,
    visit: &mut dyn FnMut(f64, &[u8]),
) -> TypeResult<()> {
    if start < 0 {
        start += len;
    }
    if stop < 0 {
        stop += len;
    }
    start = start.max(0);
    if start > stop || start >= len {
        return Ok(());
    }
    stop = stop.min(len - 1);
    let n = (stop - start + 1) as usize;
    // Distance from the walk's own end versus from the other end.
    let near_own_end = start <= len - 1 - stop;
    let (first_from_back, skip) = match (rev, near_own_end) {
        (false, true) => (false, start),
        (false, false) => (true, len - 1 - stop),
        (true, true) => (true, start),
        (true, false) => (false, len - 1 - stop),
    };
    if first_from_back {
        it.last();
    } else {
        it.first();
    }
    let step = |it: &mut ScoreIter<'_>| {
        if first_from_back {
            it.prev()
        } else {
            it.next()
        }
    };
    for _ in 0..skip {
        if !it.valid() {
            break;
        }
        step(&mut *it);
    }
    if near_own_end {
        let mut k = 0;
        while it.valid() && k < n {
            let (s, m) = it.entry()?;
            visit(s, m);
            step(&mut *it);
            k += 1;
        }
    } else {
        // Collected from the other end, so reversed before visiting.
        let mut got: Vec<Scored> = Vec::with_capacity(n);
        while it.valid() && got.len() < n {
            let (s, m) = it.entry()?;
            got.push((Bytes::copy_from_slice(m), s));
            step(&mut *it);
        }
        for (m, s) in got.iter().rev() {
            visit(*s, m);
        }
    }
    it.status()
}

/// ZRANGE and its variants: the selected entries in reply order.
pub fn range(w: &WriteContext<'_>, db: u8, key: &[u8], q: &RangeQuery) -> TypeResult<Vec<Scored>> {
    let Some(meta) = live_meta(w, db, key)? else {
        return Ok(Vec::new());
    };
    collect(w, db, key, &meta, q)
}

fn collect(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    meta: &Metadata,
    q: &RangeQuery,
) -> TypeResult<Vec<Scored>> {
    let mut out = Vec::new();
    walk(w, db, key, meta, q, &mut |s, m| {
        out.push((Bytes::copy_from_slice(m), s))
    })?;
    Ok(out)
}

/// ZCOUNT (score ranges) and ZLEXCOUNT (lex ranges).
pub fn count(w: &WriteContext<'_>, db: u8, key: &[u8], by: RangeBy) -> TypeResult<u64> {
    let Some(meta) = live_meta(w, db, key)? else {
        return Ok(0);
    };
    if covers_everything(&by) {
        return Ok(meta.size);
    }
    let mut n = 0u64;
    walk(
        w,
        db,
        key,
        &meta,
        &RangeQuery::new(by, false),
        &mut |_, _| n += 1,
    )?;
    Ok(n)
}

/// Whether a count range is known to hold every member without walking
/// (`-inf +inf`, `- +`), so ZCOUNT/ZLEXCOUNT of a whole set is O(1).
fn covers_everything(by: &RangeBy) -> bool {
    match by {
        RangeBy::Score(r) => {
            !r.min.exclusive
                && !r.max.exclusive
                && r.min.value == f64::NEG_INFINITY
                && r.max.value == f64::INFINITY
        }
        RangeBy::Lex(r) => r.min == LexBound::NegInf && r.max == LexBound::PosInf,
        RangeBy::Rank(..) => false,
    }
}

/// ZREMRANGEBYRANK / ZREMRANGEBYSCORE / ZREMRANGEBYLEX.
pub fn remove_range(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    by: RangeBy,
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let mut zw = ZsetWriter::open(w, db, key)?;
    if !zw.existed() {
        return Ok((0, None));
    }
    let doomed = collect(w, db, key, &zw.meta, &RangeQuery::new(by, false))?;
    for (m, s) in &doomed {
        zw.remove(m, *s);
    }
    Ok((doomed.len() as u64, zw.finish()?))
}

/// ZRANGESTORE: stores the range of `src` as `dst` (deleting `dst` when the
/// range is empty). Returns the stored size.
pub fn range_store(
    w: &WriteContext<'_>,
    db: u8,
    dst: &[u8],
    src: &[u8],
    q: &RangeQuery,
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[dst, src]);
    let entries = match locked_meta(w, db, src)? {
        Some(meta) => collect(w, db, src, &meta, q)?,
        None => Vec::new(),
    };
    store_locked(w, db, dst, &entries)
}

/// ZRANDMEMBER with a count: distinct members when `count >= 0`, `|count|`
/// members with repetitions when negative. Order is random.
pub fn random_members(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    count: i64,
) -> TypeResult<Vec<Scored>> {
    let Some(meta) = live_meta(w, db, key)? else {
        return Ok(Vec::new());
    };
    let len = meta.size;
    let mut rng = rand::thread_rng();
    let want = count.unsigned_abs();
    if count >= 0 && want >= len {
        return collect(
            w,
            db,
            key,
            &meta,
            &RangeQuery::new(RangeBy::Rank(0, -1), false),
        );
    }
    let mut ranks: Vec<u64> = if count >= 0 {
        rand::seq::index::sample(&mut rng, len as usize, want as usize)
            .into_iter()
            .map(|i| i as u64)
            .collect()
    } else {
        (0..want).map(|_| rng.gen_range(0..len)).collect()
    };
    ranks.sort_unstable();
    // One forward walk picks every chosen rank (repeats included).
    let mut out = Vec::with_capacity(ranks.len());
    let mut it = ScoreIter::open(w, db, key, meta.version);
    it.first();
    let mut pos = 0u64;
    let mut i = 0;
    while it.valid() && i < ranks.len() {
        if ranks[i] == pos {
            let (s, m) = it.entry()?;
            out.push((Bytes::copy_from_slice(m), s));
            i += 1;
        } else {
            it.next();
            pos += 1;
        }
    }
    it.status()?;
    out.shuffle(&mut rng);
    Ok(out)
}

/// ZRANDMEMBER without a count: one random member.
pub fn random_member(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<Bytes>> {
    let Some(meta) = live_meta(w, db, key)? else {
        return Ok(None);
    };
    // A rank walk starts from the nearer end: at most N/2 steps.
    let r = rand::thread_rng().gen_range(0..meta.size.max(1)) as i64;
    let q = RangeQuery::new(RangeBy::Rank(r, r), false);
    Ok(collect(w, db, key, &meta, &q)?.pop().map(|(m, _)| m))
}

/// One ZSCAN page.
pub struct ScanPage {
    /// The next cursor; 0 when the walk is complete.
    pub cursor: u64,
    pub entries: Vec<Scored>,
    /// Whether Redis would hold this set as a listpack, whose ZSCAN prints
    /// integral scores as integers (`d2string`) rather than `%.17g`.
    pub listpack: bool,
}

/// One ZSCAN page of (member, score) pairs.
///
/// Sets of up to 128 members reply whole in score order with cursor 0, as
/// Redis's listpack encoding does. Larger sets are walked in member order
/// over the data CF; the cursor is the first 8 bytes of the next member
/// (zero padded, big-endian). A page never ends between two members that
/// share those 8 bytes, so resuming from the cursor repeats nothing and
/// skips nothing.
pub fn scan(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    cursor: u64,
    count: usize,
    matches: &dyn Fn(&[u8]) -> bool,
) -> TypeResult<ScanPage> {
    let Some(meta) = live_meta(w, db, key)? else {
        return Ok(ScanPage {
            cursor: 0,
            entries: Vec::new(),
            listpack: true,
        });
    };
    if meta.size <= LISTPACK_MAX {
        let all = collect(
            w,
            db,
            key,
            &meta,
            &RangeQuery::new(RangeBy::Rank(0, -1), false),
        )?;
        return Ok(ScanPage {
            cursor: 0,
            entries: all.into_iter().filter(|(m, _)| matches(m)).collect(),
            listpack: true,
        });
    }
    let prefix = subkey_prefix(db, key, meta.version);
    let upper = prefix_end(&prefix);
    let mut it = w.iter(Cf::Data, Some(prefix.as_slice()), upper.as_deref());
    let mut start = prefix.clone();
    let cbytes = cursor.to_be_bytes();
    let used = cbytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    start.extend_from_slice(&cbytes[..used]);
    it.seek(&start);
    let mut out = Vec::new();
    let mut seen = 0usize;
    let mut last_group: Option<u64> = None;
    let mut next_cursor = 0;
    while it.valid() {
        let member = &it.key()[prefix.len()..];
        let group = cursor_of(member);
        if seen >= count && last_group != Some(group) {
            next_cursor = group;
            break;
        }
        let score = f64::from_bits(u64::from_be_bytes(
            it.value()
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .unwrap_or([0; 8]),
        ));
        if matches(member) {
            out.push((Bytes::copy_from_slice(member), score));
        }
        seen += 1;
        last_group = Some(group);
        it.next();
    }
    it.status()?;
    Ok(ScanPage {
        cursor: next_cursor,
        entries: out,
        listpack: false,
    })
}

/// The first 8 bytes of a member, zero padded, as a number.
fn cursor_of(member: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = member.len().min(8);
    b[..n].copy_from_slice(&member[..n]);
    u64::from_be_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_parsing_like_redis() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b"1 "), None);
        assert_eq!(parse_score(b"1e400"), None);
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"0e5"), Some(0.0));
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"1\0"), None);
    }

    #[test]
    fn range_bounds() {
        let r = ScoreRange::parse(b"(1", b"+inf").unwrap();
        assert!(r.min.exclusive && r.max.value == f64::INFINITY);
        // strtod of "" consumes nothing and stops at the end: 0, as in Redis.
        assert_eq!(ScoreRange::parse(b"(", b"1").unwrap().min.value, 0.0);
        assert!(ScoreRange::parse(b"(x", b"1").is_none());
        assert!(ScoreRange::parse(b"nan", b"1").is_none());
        assert_eq!(
            ScoreRange::parse(b" 1", b"1e400").unwrap().max.value,
            f64::INFINITY
        );
        assert!(LexRange::parse(b"a", b"+").is_none());
        assert!(LexRange::parse(b"-", b"+").is_some());
        assert!(LexRange::parse(b"[b", b"(b").unwrap().is_empty());
        assert!(!LexRange::parse(b"[b", b"[b").unwrap().is_empty());
        assert!(LexRange::parse(b"+", b"+").unwrap().is_empty());
    }

    use crate::types::test_context as open;

    fn members(v: Vec<Scored>) -> Vec<String> {
        v.into_iter()
            .map(|(m, _)| String::from_utf8_lossy(&m).into_owned())
            .collect()
    }

    /// Rank walks from either end agree with a plain sort, in both
    /// directions, and ranks, pops and the stream agree with each other.
    #[test]
    fn ranks_ranges_and_pops_agree() {
        use crate::types::zset::{self, AddFlags};
        let (_d, w) = open();
        let elems: Vec<(f64, Bytes)> = (0..40)
            .map(|i| (((i * 7) % 13) as f64 - 6.0, Bytes::from(format!("m{i:02}"))))
            .collect();
        zset::add(&w, 0, b"z", AddFlags::default(), &elems).expect("add");
        let mut sorted: Vec<(f64, String)> = elems
            .iter()
            .map(|(s, m)| (*s, String::from_utf8_lossy(m).into_owned()))
            .collect();
        sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
        let names: Vec<String> = sorted.iter().map(|p| p.1.clone()).collect();
        for (start, stop) in [(0, -1), (3, 7), (30, 39), (-5, -2), (10, 5), (38, 100)] {
            for rev in [false, true] {
                let got = range(
                    &w,
                    0,
                    b"z",
                    &RangeQuery::new(RangeBy::Rank(start, stop), rev),
                )
                .expect("range");
                let mut want = names.clone();
                if rev {
                    want.reverse();
                }
                let len = want.len() as i64;
                let (mut a, mut b) = (start, stop);
                if a < 0 {
                    a += len;
                }
                if b < 0 {
                    b += len;
                }
                let a = a.max(0);
                let b = b.min(len - 1);
                let want: Vec<String> = if a > b || a >= len {
                    Vec::new()
                } else {
                    want[a as usize..=b as usize].to_vec()
                };
                assert_eq!(members(got), want, "rank {start} {stop} rev {rev}");
            }
        }
        for (i, name) in names.iter().enumerate() {
            let r = zset::rank(&w, 0, b"z", name.as_bytes(), false).expect("rank");
            assert_eq!(r, Some(i as u64));
        }
        let streamed: Vec<String> = zset::stream(&w, 0, b"z")
            .expect("stream")
            .expect("exists")
            .map(|r| String::from_utf8_lossy(&r.expect("item").0).into_owned())
            .collect();
        assert_eq!(streamed, names);
        let (popped, _) = zset::pop(&w, 0, b"z", true, 3).expect("pop");
        assert_eq!(
            members(popped),
            names[37..].iter().rev().cloned().collect::<Vec<_>>()
        );
        assert_eq!(zset::card(&w, 0, b"z").expect("card"), 37);
        let (all, _) = zset::pop(&w, 0, b"z", false, 100).expect("pop");
        assert_eq!(all.len(), 37);
        assert_eq!(w.dbsize(0), 0, "an emptied zset is deleted");
    }

    #[test]
    fn cursor_groups_are_monotone() {
        assert!(cursor_of(b"a") <= cursor_of(b"a\0"));
        assert!(cursor_of(b"abcdefgh") == cursor_of(b"abcdefghz"));
        assert!(cursor_of(b"abcdefgh") < cursor_of(b"abcdefgi"));
    }
}
