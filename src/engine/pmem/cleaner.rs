//! Segment cleaning: giving the space of overwritten and deleted records
//! back, in the background.
//!
//! It exists because an append-only log only grows. The cleaner takes the
//! oldest sealed segment (first in, first out), copies the records the
//! index still points at to the head (flagged as relocated, same sequence
//! number), asks the same [`CompactionPolicy`] RocksDB's compaction filter
//! asks about each of them (stale collection subkeys are dropped instead
//! of copied), persists the copies and only then frees the segment.
//!
//! Why oldest-first rather than emptiest-first: a deletion's tombstone can
//! be forgotten only once no older record of its key is left anywhere, and
//! with oldest-first cleaning every older record sits in the same segment
//! or in one already freed, so tombstones (and commit records) are simply
//! not copied. The price is copying the live records of the oldest
//! segment even when a younger one is emptier; cleaning starts only when at
//! least half of what is written is garbage (or free space runs low), which
//! bounds that to about one copy per record written.
//!
//! Snapshots: cleaning does nothing while a sequence number is pinned (an
//! open snapshot or iterator), so it never removes a version a snapshot
//! sees; the policy's removals follow the rule documented on
//! [`CompactionPolicy`]. A long snapshot (a full sync) pauses cleaning.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::super::{Cf, CompactionDecision, CompactionPolicy, MetaLookup};
use super::format::{
    cf_from_code, decode_record, encode_record, Kind, Scanned, END_MARKER, FLAG_RELOCATED,
    SEGMENT_HEADER,
};
use super::index::{Family, Loc};
use super::mapping::Mapping;
use super::space::Claim;
use super::{Inner, State};

/// Records examined per hold of the write lock, so writers wait for one
/// chunk at most, not for a whole segment.
const CHUNK_RECORDS: usize = 512;

/// The cleaner thread: wakes every 100 ms or when a write finds space low.
pub fn run(inner: &Inner) {
    loop {
        {
            let (lock, cv) = &inner.wake;
            let mut woken = lock.lock();
            if !*woken {
                cv.wait_for(&mut woken, Duration::from_millis(100));
            }
            *woken = false;
        }
        if inner.stop.load(Ordering::Acquire) {
            return;
        }
        while let Some(victim) = choose(inner) {
            if inner.stop.load(Ordering::Acquire) || !clean_segment(inner, victim) {
                break;
            }
        }
    }
}

/// The segment to clean now, if cleaning is due.
fn choose(inner: &Inner) -> Option<usize> {
    if !inner.pins.lock().is_empty() {
        return None;
    }
    let st = inner.state.read();
    let space = &st.space;
    let garbage = space.garbage();
    let used = space.used();
    let low = space.free_segments() <= 3 && garbage >= space.segment_size / 2;
    let mostly_garbage = garbage * 2 >= used && garbage >= space.segment_size;
    (low || mostly_garbage)
        .then(|| space.oldest_sealed())
        .flatten()
}

/// Cleans every segment in use (`compact_range`): seals the head first, so
/// every record written so far is considered.
pub fn clean_all(inner: &Inner) {
    let victims: Vec<usize> = {
        let mut st = inner.state.write();
        st.space.seal_head();
        let mut in_use: Vec<(u64, usize)> = st
            .space
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.generation != 0)
            .map(|(i, s)| (s.generation, i))
            .collect();
        in_use.sort();
        in_use.into_iter().map(|(_, i)| i).collect()
    };
    for v in victims {
        if !clean_segment(inner, v) {
            return;
        }
    }
}

/// Reads the latest `meta` records for the policy, from the index the
/// cleaner already holds locked.
struct IndexMeta<'a> {
    family: &'a Family,
    map: &'a Mapping,
}

impl MetaLookup for IndexMeta<'_> {
    fn get_meta(&self, key: &[u8]) -> Option<Vec<u8>> {
        let loc = self.family.get(key, None)?;
        // SAFETY: the caller holds the write lock.
        Some(unsafe { self.map.slice(loc.value_off(), loc.vlen as usize) }.to_vec())
    }
}

/// Cleans segment `victim`; false when it had to stop (a pin appeared, the
/// tier has no room for the copies, or the segment changed under it).
fn clean_segment(inner: &Inner, victim: usize) -> bool {
    let mut at = SEGMENT_HEADER as usize;
    loop {
        let mut st = inner.state.write();
        if !inner.pins.lock().is_empty() {
            inner
                .counters
                .kept_for_snapshots
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if st.space.head == Some(victim) || st.space.segments[victim].generation == 0 {
            return false;
        }
        if st.has_versions_to_sweep() {
            st.sweep();
        }
        match clean_chunk(inner, &mut st, victim, &mut at) {
            Ok(true) => break,
            Ok(false) => {}
            Err(()) => return false,
        }
    }
    // The copies are durable before the originals go.
    if let Err(e) = inner.persist_dirty() {
        tracing::error!("pmem: cleaning: persist failed: {e}");
        return false;
    }
    let mut st = inner.state.write();
    if !inner.pins.lock().is_empty() {
        return false;
    }
    let live = st.space.segments[victim].live;
    if live != 0 {
        // A record written into the victim after the scan cannot happen
        // (it is sealed); live bytes left mean the accounting is off.
        // Keeping the segment is always safe.
        tracing::warn!("pmem: cleaning left {live} live bytes in segment {victim}; kept");
        return false;
    }
    if let Err(e) = st.space.free(&inner.map, victim) {
        tracing::error!("pmem: freeing segment {victim} failed: {e}");
        return false;
    }
    inner
        .counters
        .cleaned_segments
        .fetch_add(1, Ordering::Relaxed);
    true
}

/// Handles up to [`CHUNK_RECORDS`] records of the victim from `at`; true at
/// the segment's end.
fn clean_chunk(inner: &Inner, st: &mut State, victim: usize, at: &mut usize) -> Result<bool, ()> {
    let base = st.space.segment_offset(victim);
    let generation = st.space.segments[victim].generation;
    let end = st.space.segments[victim].used as usize;
    // SAFETY: the victim is sealed: nothing writes it while we hold the lock.
    let seg = unsafe { inner.map.slice(base, st.space.segment_size as usize) };
    for _ in 0..CHUNK_RECORDS {
        if *at >= end {
            return Ok(true);
        }
        let v = match decode_record(seg, *at, generation) {
            Scanned::Record(v) => v,
            Scanned::End => return Ok(true),
            Scanned::Invalid(reason) => {
                tracing::error!("pmem: cleaning segment {victim} at {}: {reason}", *at);
                return Err(());
            }
        };
        let rec_at = *at;
        *at += v.len;
        let loc = Loc {
            off: base + rec_at as u64,
            klen: v.klen as u32,
            vlen: v.vlen as u32,
        };
        match v.kind {
            Kind::Put => {
                let Some(cf) = cf_from_code(v.cf) else {
                    continue;
                };
                let key = v.key(seg, rec_at);
                let fam = super::format::cf_code(cf) as usize;
                if st.families[fam].get(key, None) != Some(loc) {
                    continue;
                }
                if stale(inner, st, cf, key, v.value(seg, rec_at)) {
                    st.families[fam].remove_if_at(key, loc);
                    st.space.mark_dead(loc);
                    inner
                        .counters
                        .policy_removed
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let to = relocate(inner, st, v.kind, v.cf, v.seq, key, v.value(seg, rec_at))?;
                st.families[fam].relocate(key, loc, to);
                st.space.mark_dead(loc);
            }
            Kind::LogData => {
                if !st.log.holds(v.seq, loc) {
                    continue;
                }
                let to = relocate(inner, st, v.kind, 0, v.seq, &[], v.value(seg, rec_at))?;
                st.log.relocate(v.seq, to);
                st.space.mark_dead(loc);
            }
            // Tombstones and commit records: every older record of their
            // keys is in this segment or one already freed (see above).
            Kind::Delete | Kind::DeleteRange | Kind::Commit => {}
        }
    }
    Ok(false)
}

fn stale(inner: &Inner, st: &State, cf: Cf, key: &[u8], value: &[u8]) -> bool {
    let policy: &dyn CompactionPolicy = &*inner.policy;
    if !policy.applies_to(cf) {
        return false;
    }
    let meta = IndexMeta {
        family: st.family(Cf::Meta),
        map: &inner.map,
    };
    // No pin is open (checked under the write lock this runs in): a
    // snapshot opened later sees the metadata the policy saw.
    policy.decide(cf, key, value, &meta) == CompactionDecision::Remove
}

/// Appends a copy of a live record at the head; returns where it went.
fn relocate(
    inner: &Inner,
    st: &mut State,
    kind: Kind,
    cf: u8,
    seq: u64,
    key: &[u8],
    value: &[u8],
) -> Result<Loc, ()> {
    let mut buf =
        Vec::with_capacity(super::format::record_len(key.len(), value.len()) + END_MARKER);
    let len = super::format::record_len(key.len(), value.len()) as u64;
    let off = st
        .space
        .claim(&inner.map, len, Claim::Cleaner, st.last_seq)
        .map_err(|_| ())?;
    let generation = st.space.head_generation();
    encode_record(
        &mut buf,
        generation,
        kind,
        cf,
        FLAG_RELOCATED,
        seq,
        key,
        value,
    );
    let segment_end = st.space.segment_offset(st.space.segment_of(off)) + st.space.segment_size;
    let marker = (segment_end - off - len).min(END_MARKER as u64);
    buf.resize((len + marker) as usize, 0);
    // SAFETY: a fresh range at the head, under the write lock. The source
    // (`key`, `value`) lies in the victim, which is not the head.
    unsafe { inner.map.write(off, &buf) };
    st.space.appended(off, len, marker);
    let to = Loc {
        off,
        klen: key.len() as u32,
        vlen: value.len() as u32,
    };
    st.space.add_live(to);
    inner
        .counters
        .relocated_bytes
        .fetch_add(len, Ordering::Relaxed);
    Ok(to)
}
