//! Start-up: rebuilding the DRAM index from the segments.
//!
//! It exists to decide, record by record, what the log proves. Segments are
//! replayed in allocation order (generation), records in append order; a
//! batch counts only once its commit record is read, so a batch is applied
//! whole or not at all. Only the newest segment can end in a torn write
//! (a segment is made durable before the next one starts): there, the scan
//! stops at the first invalid record and the tail is cut off. Anywhere
//! else, a bad record, a damaged header or a commit record that does not
//! match the records before it is damage recovery cannot repair: start-up
//! stops with an error naming the segment and offset instead of serving
//! wrong data.

use super::format::{
    cf_from_code, commit_count, decode_record, Kind, RecordView, Scanned, SegmentHeader,
    Superblock, END_MARKER, FLAG_RELOCATED, SEGMENT_HEADER,
};
use super::index::{Family, Loc, Pins, Version};
use super::log::RetainedLog;
use super::mapping::Mapping;
use super::space::{Segment, Space};
use super::State;

/// Damage that stops start-up.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("segment {segment}: damaged header ({reason})")]
    Header { segment: usize, reason: String },
    #[error("segments {a} and {b} claim the same generation {generation}")]
    DuplicateGeneration { a: usize, b: usize, generation: u64 },
    #[error("segment {segment} (generation {generation}) damaged at offset {offset}: {reason}")]
    Record {
        segment: usize,
        generation: u64,
        offset: u64,
        reason: &'static str,
    },
    #[error(
        "segment {segment}, offset {offset}: the commit record of batch {seq} covers {expected} \
         records, but {found} precede it"
    )]
    Commit {
        segment: usize,
        offset: u64,
        seq: u64,
        expected: u32,
        found: usize,
    },
    #[error("segment {segment} ends inside batch {seq}: its commit record is missing")]
    Uncommitted { segment: usize, seq: u64 },
    #[error("I/O error repairing the torn tail: {0}")]
    Io(#[from] std::io::Error),
}

/// One record read but not yet committed.
struct Pending {
    view: RecordView,
    /// Absolute offset of the record, and its segment.
    off: u64,
    segment: usize,
}

/// Rebuilds the engine's state from the mapping.
pub fn recover(map: &Mapping, sb: Superblock, retention: u64) -> Result<State, RecoveryError> {
    let count = sb.segment_count as usize;
    let space = Space {
        segment_size: sb.segment_size,
        segments: vec![Segment::default(); count],
        head: None,
        next_generation: 1,
        dirty: Vec::new(),
    };
    let mut in_use: Vec<SegmentHeader> = Vec::new();
    for n in 0..count {
        // SAFETY: nothing writes the mapping during recovery.
        let bytes = unsafe { map.slice(space.segment_offset(n), 40) };
        match SegmentHeader::decode(bytes, n as u32) {
            Ok(Some(h)) => in_use.push(h),
            Ok(None) => {}
            Err(reason) => return Err(RecoveryError::Header { segment: n, reason }),
        }
    }
    in_use.sort_by_key(|h| h.generation);
    for w in in_use.windows(2) {
        if w[0].generation == w[1].generation {
            return Err(RecoveryError::DuplicateGeneration {
                a: w[0].number as usize,
                b: w[1].number as usize,
                generation: w[0].generation,
            });
        }
    }
    let mut r = Replay {
        families: Default::default(),
        space,
        logs: Vec::new(),
        last_seq: 0,
        pins: Pins::default(),
        pending: Vec::new(),
    };
    let newest = in_use.last().map(|h| h.number);
    for h in &in_use {
        r.last_seq = r.last_seq.max(h.base_seq);
        let n = h.number as usize;
        r.space.segments[n] = Segment {
            generation: h.generation,
            used: SEGMENT_HEADER,
            live: 0,
        };
        r.space.next_generation = h.generation + 1;
        let end = r.scan_segment(map, h, Some(h.number) == newest)?;
        r.space.segments[n].used = end;
    }
    // A batch still open at the end was torn by the crash: it goes, in
    // every segment it reached (each is cut where the batch began).
    if let Some(p) = r.pending.first() {
        tracing::warn!(
            "pmem: batch {} was not committed before the crash; dropped",
            p.view.seq
        );
    }
    let mut cut: Vec<(usize, u64)> = Vec::new();
    for p in &r.pending {
        if !cut.iter().any(|(seg, _)| *seg == p.segment) {
            cut.push((p.segment, p.off));
        }
    }
    for (seg, off) in cut {
        let base = r.space.segment_offset(seg);
        r.space.segments[seg].used = off - base;
        if Some(seg as u32) != newest {
            let room = (r.space.segment_size - (off - base)).min(END_MARKER as u64);
            // SAFETY: recovery is alone with the mapping.
            unsafe { map.write(off, &vec![0u8; room as usize]) };
            map.persist(off, room as usize)?;
        }
    }
    if let Some(n) = newest {
        let n = n as usize;
        r.space.head = Some(n);
        // Cut off whatever followed the last valid record: a later append
        // must not end where an old half-written record begins.
        let at = r.space.segment_offset(n) + r.space.segments[n].used;
        let room = (r.space.segment_size - r.space.segments[n].used).min(END_MARKER as u64);
        // SAFETY: recovery is alone with the mapping.
        unsafe { map.write(at, &vec![0u8; room as usize]) };
        map.persist(at, room as usize)?;
    }
    // Log records in sequence order; a record moved by cleaning may sit
    // beside its original (a crash before the old segment was freed).
    r.logs.sort_by_key(|(seq, _)| *seq);
    r.logs.dedup_by_key(|(seq, _)| *seq);
    let mut log = RetainedLog::new(retention);
    let Replay {
        families,
        mut space,
        logs,
        last_seq,
        ..
    } = r;
    for (seq, loc) in logs {
        space.add_live(loc);
        log.push(seq, loc, &mut |d| space.mark_dead(d));
    }
    Ok(State {
        families,
        space,
        log,
        last_seq,
    })
}

struct Replay {
    families: [Family; 6],
    space: Space,
    logs: Vec<(u64, Loc)>,
    last_seq: u64,
    /// Always empty: recovery keeps no old versions.
    pins: Pins,
    /// Records of the batch being read, not yet committed (possibly
    /// carried over from the previous segment).
    pending: Vec<Pending>,
}

impl Replay {
    /// Scans one segment; returns where its records end (relative).
    fn scan_segment(
        &mut self,
        map: &Mapping,
        h: &SegmentHeader,
        newest: bool,
    ) -> Result<u64, RecoveryError> {
        let n = h.number as usize;
        let base = self.space.segment_offset(n);
        // SAFETY: nothing writes the mapping during recovery.
        let seg = unsafe { map.slice(base, self.space.segment_size as usize) };
        let mut at = SEGMENT_HEADER as usize;
        // Records of the open batch in this segment.
        let mut here = 0usize;
        let damaged = |at: usize, reason: &'static str| RecoveryError::Record {
            segment: n,
            generation: h.generation,
            offset: at as u64,
            reason,
        };
        loop {
            let view = match decode_record(seg, at, h.generation) {
                Scanned::End => break,
                Scanned::Invalid(reason) if newest => {
                    tracing::warn!(
                        "pmem: segment {n} ends in a torn write at offset {at} ({reason}); \
                         recovering to the last valid record"
                    );
                    break;
                }
                Scanned::Invalid(reason) => return Err(damaged(at, reason)),
                Scanned::Record(v) => v,
            };
            if let Some(open) = self.pending.first() {
                if open.view.seq != view.seq {
                    // The next batch began before this one committed.
                    return Err(RecoveryError::Uncommitted {
                        segment: open.segment,
                        seq: open.view.seq,
                    });
                }
            }
            let off = base + at as u64;
            if view.kind == Kind::Commit {
                let expected = commit_count(view.value(seg, at)).unwrap_or(u32::MAX);
                if expected as usize != here {
                    return Err(RecoveryError::Commit {
                        segment: n,
                        offset: at as u64,
                        seq: view.seq,
                        expected,
                        found: here,
                    });
                }
                for p in std::mem::take(&mut self.pending) {
                    self.apply(map, p.view, p.off);
                }
                here = 0;
                self.last_seq = self.last_seq.max(view.seq);
            } else if view.flags & FLAG_RELOCATED != 0 {
                if !matches!(view.kind, Kind::Put | Kind::LogData) {
                    return Err(damaged(at, "relocated record of a kind never relocated"));
                }
                self.apply(map, view, off);
                self.last_seq = self.last_seq.max(view.seq);
            } else {
                self.pending.push(Pending {
                    view,
                    off,
                    segment: n,
                });
                here += 1;
            }
            at += view.len;
        }
        Ok(at as u64)
    }

    fn apply(&mut self, map: &Mapping, v: RecordView, off: u64) {
        // SAFETY: nothing writes the mapping during recovery.
        let seg = unsafe { map.slice(off, v.len) };
        let at = 0;
        let Some(cf) = cf_from_code(v.cf) else {
            return;
        };
        let loc = Loc {
            off,
            klen: v.klen as u32,
            vlen: v.vlen as u32,
        };
        let key = v.key(seg, at);
        let Replay {
            families,
            space,
            logs,
            pins,
            ..
        } = self;
        let family = &mut families[super::format::cf_code(cf) as usize];
        let mut dead = |d: Loc| space.mark_dead(d);
        match v.kind {
            Kind::Put => {
                // Replay order is sequence order per key, except that a
                // record moved by cleaning may be read again beside its
                // original: the same sequence number, either copy will do.
                if family.entry(key).is_some_and(|e| e.latest.seq > v.seq) {
                    return;
                }
                let version = Version {
                    seq: v.seq,
                    loc: Some(loc),
                };
                family.set(key, version, pins, &mut dead);
                space.add_live(loc);
            }
            Kind::Delete => {
                let version = Version {
                    seq: v.seq,
                    loc: None,
                };
                family.set(key, version, pins, &mut dead);
            }
            Kind::DeleteRange => {
                let end = v.value(seg, at);
                family.delete_range(key, end, v.seq, pins, &mut dead);
            }
            Kind::LogData => logs.push((v.seq, loc)),
            Kind::Commit => {}
        }
    }
}

/// The first byte of segment `n` (for tests that damage files).
#[cfg(test)]
pub fn segment_start(sb: &Superblock, n: usize) -> u64 {
    super::format::SUPERBLOCK_SIZE + n as u64 * sb.segment_size
}
