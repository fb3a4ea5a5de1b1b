//! Where records go: the segments of the file, which are free, which one
//! takes appends (the head), how many live bytes each still holds, and the
//! ranges written but not yet made durable.
//!
//! It exists to keep capacity decisions in one place. Appends never touch a
//! live record (no in-place update); a full head is sealed and a free
//! segment becomes the next head. The last free segments are a reserve:
//! ordinary writes may not take them, so that a DEL still goes through on a
//! full tier and segment cleaning always has somewhere to move live records.

use super::format::{SegmentHeader, END_MARKER, SEGMENT_HEADER, SUPERBLOCK_SIZE};
use super::index::Loc;
use super::mapping::Mapping;

/// Who asks for space, from the most to the least restricted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// An ordinary write: leaves [`Claim::Delete`]'s and the cleaner's reserve.
    Write,
    /// A small batch that deletes: may use all but the cleaner's reserve.
    Delete,
    /// Segment cleaning moving live records: may use the last free segment.
    Cleaner,
}

impl Claim {
    /// Free segments that must stay free after this claim's segments.
    fn reserve(self) -> usize {
        match self {
            Claim::Write => 2,
            Claim::Delete => 1,
            Claim::Cleaner => 0,
        }
    }
}

/// No free segment for this claim: the tier is full.
#[derive(Debug)]
pub struct Full;

#[derive(Debug, Clone, Copy, Default)]
pub struct Segment {
    /// Allocation order; 0 for a free segment.
    pub generation: u64,
    /// Bytes appended (header included).
    pub used: u64,
    /// Bytes of records the index (or the retained log) still points at.
    pub live: u64,
}

pub struct Space {
    pub segment_size: u64,
    pub segments: Vec<Segment>,
    /// The segment taking appends, and the offset (within it) of the next.
    pub head: Option<usize>,
    pub next_generation: u64,
    /// Written since the last persist, as absolute `(offset, len)`, in order.
    pub dirty: Vec<(u64, u64)>,
}

impl Space {
    pub fn segment_offset(&self, n: usize) -> u64 {
        SUPERBLOCK_SIZE + n as u64 * self.segment_size
    }

    pub fn segment_of(&self, off: u64) -> usize {
        ((off - SUPERBLOCK_SIZE) / self.segment_size) as usize
    }

    pub fn free_segments(&self) -> usize {
        self.segments.iter().filter(|s| s.generation == 0).count()
    }

    /// The largest batch an append can take (one segment's room).
    pub fn max_append(&self) -> u64 {
        self.segment_size - SEGMENT_HEADER
    }

    pub fn capacity(&self) -> u64 {
        self.segment_size * self.segments.len() as u64
    }

    pub fn used(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.generation != 0)
            .map(|s| s.used)
            .sum()
    }

    pub fn live(&self) -> u64 {
        self.segments.iter().map(|s| s.live).sum()
    }

    /// Bytes of in-use segments neither live nor unwritten: what cleaning frees.
    pub fn garbage(&self) -> u64 {
        self.segments
            .iter()
            .filter(|s| s.generation != 0)
            .map(|s| s.used.saturating_sub(s.live))
            .sum()
    }

    /// The oldest segment in use other than the head: the cleaner's next victim.
    pub fn oldest_sealed(&self) -> Option<usize> {
        self.segments
            .iter()
            .enumerate()
            .filter(|(i, s)| s.generation != 0 && Some(*i) != self.head)
            .min_by_key(|(_, s)| s.generation)
            .map(|(i, _)| i)
    }

    pub fn add_live(&mut self, loc: Loc) {
        let n = self.segment_of(loc.off);
        self.segments[n].live += loc.record_len();
    }

    pub fn mark_dead(&mut self, loc: Loc) {
        let n = self.segment_of(loc.off);
        let s = &mut self.segments[n];
        s.live = s.live.saturating_sub(loc.record_len());
    }

    /// The generation of the head segment (records there seed their
    /// checksums with it).
    pub fn head_generation(&self) -> u64 {
        self.head.map_or(0, |h| self.segments[h].generation)
    }

    /// How many new segments records of these lengths, appended in order,
    /// need (a record never straddles two segments).
    /// A batch that fits in an empty segment but not in the head starts a
    /// new segment (see [`Space::keep_whole`]).
    pub fn segments_needed(&self, lens: &[u64]) -> usize {
        let total: u64 = lens.iter().sum();
        if total <= self.room() {
            return 0;
        }
        if total <= self.max_append() {
            return 1;
        }
        let mut room = self.room();
        let mut n = 0;
        for &len in lens {
            if len > room {
                n += 1;
                room = self.max_append();
            }
            room = room.saturating_sub(len);
        }
        n
    }

    /// Starts a new segment if a batch of `total` bytes fits in one but not
    /// in the head's room: batches stay in one segment when they can.
    pub fn keep_whole(&mut self, map: &Mapping, total: u64, last_seq: u64) -> Result<(), Full> {
        if total > self.room() && total <= self.max_append() {
            self.start_segment(map, last_seq)?;
        }
        Ok(())
    }

    /// Bytes the head can still take (0 without a head).
    pub fn room(&self) -> u64 {
        self.head
            .map_or(0, |h| self.segment_size - self.segments[h].used)
    }

    /// Whether `segments` new segments may be started for this claim.
    pub fn can_start(&self, segments: usize, claim: Claim) -> bool {
        segments == 0 || self.free_segments() >= segments + claim.reserve()
    }

    /// Reserves `len` bytes at the head, sealing it and starting a new
    /// segment when it has no room; returns the absolute offset.
    pub fn claim(
        &mut self,
        map: &Mapping,
        len: u64,
        claim: Claim,
        last_seq: u64,
    ) -> Result<u64, Full> {
        if self.room() < len {
            if !self.can_start(1, claim) {
                return Err(Full);
            }
            self.start_segment(map, last_seq)?;
        }
        Ok(self.tail())
    }

    /// The absolute offset of the next append.
    pub fn tail(&self) -> u64 {
        self.head
            .map_or(0, |h| self.segment_offset(h) + self.segments[h].used)
    }

    /// Seals the head and makes a free segment the new head. Everything
    /// written before is persisted first (so only the newest segment can
    /// ever have a torn tail), then the new segment's header.
    pub fn start_segment(&mut self, map: &Mapping, last_seq: u64) -> Result<(), Full> {
        let Some(n) = self.segments.iter().position(|s| s.generation == 0) else {
            return Err(Full);
        };
        // A failed persist here leaves the old head; the write fails.
        self.persist(map).map_err(|e| {
            tracing::error!("pmem: persisting before a new segment failed: {e}");
            Full
        })?;
        let generation = self.next_generation;
        self.next_generation += 1;
        let header = SegmentHeader {
            number: n as u32,
            generation,
            base_seq: last_seq,
        }
        .encode();
        let at = self.segment_offset(n);
        // SAFETY: the segment is free: no index entry points into it.
        unsafe {
            map.write(at, &header);
            map.write(at + SEGMENT_HEADER, &[0u8; END_MARKER]);
        }
        if let Err(e) = map.persist(at, SEGMENT_HEADER as usize + END_MARKER) {
            tracing::error!("pmem: persisting a segment header failed: {e}");
        }
        self.segments[n] = Segment {
            generation,
            used: SEGMENT_HEADER,
            live: 0,
        };
        self.head = Some(n);
        Ok(())
    }

    /// Records that `len` bytes were appended at the head, at `off`, and
    /// `marker` more (the end marker) written after them.
    pub fn appended(&mut self, off: u64, len: u64, marker: u64) {
        if let Some(h) = self.head {
            self.segments[h].used += len;
        }
        match self.dirty.last_mut() {
            Some((start, l)) if *start + *l >= off && *start <= off => {
                *l = (*l).max(off + len + marker - *start);
            }
            _ => self.dirty.push((off, len + marker)),
        }
    }

    /// Makes every range written so far durable.
    pub fn persist(&mut self, map: &Mapping) -> std::io::Result<()> {
        for (off, len) in std::mem::take(&mut self.dirty) {
            map.persist(off, len as usize)?;
        }
        Ok(())
    }

    /// Returns segment `n` to the free list: its header is zeroed and
    /// persisted, so recovery never reads its records again.
    pub fn free(&mut self, map: &Mapping, n: usize) -> std::io::Result<()> {
        let at = self.segment_offset(n);
        // SAFETY: the caller checked that nothing points into the segment.
        unsafe { map.write(at, &[0u8; 40]) };
        map.persist(at, 40)?;
        self.segments[n] = Segment::default();
        if self.head == Some(n) {
            self.head = None;
        }
        Ok(())
    }

    /// Seals the head: the next append starts a new segment.
    pub fn seal_head(&mut self) {
        self.head = None;
    }
}
