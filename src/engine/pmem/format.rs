//! The on-disk (on-PMem) layout of the persistent-memory engine.
//!
//! It exists so that every byte the engine writes to the mapping, and every
//! check recovery makes on those bytes, is defined in one place.
//!
//! ```text
//! file   = superblock (4 KiB) | segment 0 | segment 1 | ... | segment N-1
//! superblock (first 40 bytes used):
//!   0  magic "STRPMEM\0"   8  format version u32   12 reserved u32
//!   16 segment size u64    24 segment count u64    32 crc64 of bytes 0..32
//! segment = header (64 B) | record | record | ... | end marker (16 zero bytes) | unused
//! segment header (zeroed = free segment):
//!   0  magic "STRPSEG\0"   8  format version u32   12 segment number u32
//!   16 generation u64 (allocation order, never reused)
//!   24 base sequence u64 (the engine's last sequence when the segment was allocated)
//!   32 crc64 of bytes 0..32
//! record (8-byte aligned, little-endian):
//!   0  crc64 of bytes 8..len, seeded with the segment's generation
//!   8  len u32 (whole record, padded to 8)   12 kind u8   13 column family u8
//!   14 flags u8 (1 = relocated by cleaning)   15 reserved
//!   16 sequence u64   24 key length u32   28 value length u32   32 key | value | padding
//! ```
//!
//! A batch is its records followed by a commit record (kind 5) whose value
//! is the number of records it commits; all of one batch sits in one segment.
//! Seeding each record's checksum with its segment's generation makes the
//! records left over in a recycled segment fail their checksum instead of
//! being replayed. Every append ends with a 16-byte zero end marker (when the
//! segment has room), so a scan knows where the valid records stop.

use super::super::Cf;

pub const SUPERBLOCK_SIZE: u64 = 4096;
pub const SUPER_MAGIC: [u8; 8] = *b"STRPMEM\0";
pub const SEGMENT_MAGIC: [u8; 8] = *b"STRPSEG\0";
pub const FORMAT_VERSION: u32 = 1;
pub const SEGMENT_HEADER: u64 = 64;
pub const RECORD_HEADER: usize = 32;
/// Written after every append: a zero length field ends a segment's scan.
pub const END_MARKER: usize = 16;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Put = 1,
    Delete = 2,
    /// Key: the range's start; value: its (exclusive) end.
    DeleteRange = 3,
    /// Log-only bytes of a batch (`BatchOp::LogData`), in the value.
    LogData = 4,
    /// Commits the records before it in the same batch; value: count u32.
    Commit = 5,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Put,
            2 => Kind::Delete,
            3 => Kind::DeleteRange,
            4 => Kind::LogData,
            5 => Kind::Commit,
            _ => return None,
        })
    }
}

/// Record flag: a copy written by segment cleaning of a record already
/// committed, valid on its own (no commit record follows it).
pub const FLAG_RELOCATED: u8 = 1;

pub fn cf_code(cf: Cf) -> u8 {
    Cf::ALL.iter().position(|c| *c == cf).unwrap_or(0) as u8
}

pub fn cf_from_code(code: u8) -> Option<Cf> {
    Cf::ALL.get(code as usize).copied()
}

pub fn record_len(klen: usize, vlen: usize) -> usize {
    (RECORD_HEADER + klen + vlen + 7) & !7
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn checksum(generation: u64, body: &[u8]) -> u64 {
    crc64::crc64(crc64::crc64(0, &generation.to_le_bytes()), body)
}

/// Appends one record to `out` (the staging buffer of an append).
#[allow(clippy::too_many_arguments)]
pub fn encode_record(
    out: &mut Vec<u8>,
    generation: u64,
    kind: Kind,
    cf: u8,
    flags: u8,
    seq: u64,
    key: &[u8],
    value: &[u8],
) {
    let start = out.len();
    let len = record_len(key.len(), value.len());
    out.extend_from_slice(&[0u8; 8]);
    out.extend_from_slice(&(len as u32).to_le_bytes());
    out.extend_from_slice(&[kind as u8, cf, flags, 0]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(key.len() as u32).to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(value);
    out.resize(start + len, 0);
    let crc = checksum(generation, &out[start + 8..start + len]);
    out[start..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// A record as found in a segment; offsets are relative to the slice scanned.
#[derive(Debug, Clone, Copy)]
pub struct RecordView {
    pub kind: Kind,
    pub cf: u8,
    pub flags: u8,
    pub seq: u64,
    pub len: usize,
    pub klen: usize,
    pub vlen: usize,
}

impl RecordView {
    pub fn key<'a>(&self, seg: &'a [u8], at: usize) -> &'a [u8] {
        &seg[at + RECORD_HEADER..at + RECORD_HEADER + self.klen]
    }
    pub fn value<'a>(&self, seg: &'a [u8], at: usize) -> &'a [u8] {
        let v = at + RECORD_HEADER + self.klen;
        &seg[v..v + self.vlen]
    }
}

/// What the scan of a segment finds at one offset.
#[derive(Debug)]
pub enum Scanned {
    Record(RecordView),
    /// The end marker or the end of the segment: no more records.
    End,
    /// Bytes that are not a valid record of this segment (torn or garbled).
    Invalid(&'static str),
}

/// Decodes the record at `at` of segment bytes `seg`, never reading past it.
pub fn decode_record(seg: &[u8], at: usize, generation: u64) -> Scanned {
    if at + RECORD_HEADER > seg.len() {
        return Scanned::End;
    }
    let len = le_u32(seg, at + 8) as usize;
    if len == 0 {
        return Scanned::End;
    }
    if len < RECORD_HEADER || len % 8 != 0 || at + len > seg.len() {
        return Scanned::Invalid("record length out of bounds");
    }
    let crc = le_u64(seg, at);
    if checksum(generation, &seg[at + 8..at + len]) != crc {
        return Scanned::Invalid("checksum mismatch");
    }
    let Some(kind) = Kind::from_u8(seg[at + 12]) else {
        return Scanned::Invalid("unknown record kind");
    };
    let klen = le_u32(seg, at + 24) as usize;
    let vlen = le_u32(seg, at + 28) as usize;
    if record_len(klen, vlen) != len || cf_from_code(seg[at + 13]).is_none() {
        return Scanned::Invalid("record fields inconsistent");
    }
    Scanned::Record(RecordView {
        kind,
        cf: seg[at + 13],
        flags: seg[at + 14],
        seq: le_u64(seg, at + 16),
        len,
        klen,
        vlen,
    })
}

/// The commit record's value: how many records of the batch precede it.
pub fn commit_value(count: u32) -> [u8; 8] {
    let mut v = [0u8; 8];
    v[..4].copy_from_slice(&count.to_le_bytes());
    v
}

pub fn commit_count(value: &[u8]) -> Option<u32> {
    (value.len() == 8).then(|| le_u32(value, 0))
}

/// The file's geometry, from its first block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Superblock {
    pub segment_size: u64,
    pub segment_count: u64,
}

impl Superblock {
    pub fn encode(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[..8].copy_from_slice(&SUPER_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[16..24].copy_from_slice(&self.segment_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.segment_count.to_le_bytes());
        let crc = crc64::crc64(0, &b[..32]);
        b[32..40].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// `None` for a file never initialised (all zero); an error text for damage.
    pub fn decode(b: &[u8]) -> Result<Option<Superblock>, String> {
        if b.len() < 40 {
            return Err("file shorter than its superblock".into());
        }
        if b[..40].iter().all(|&x| x == 0) {
            return Ok(None);
        }
        if b[..8] != SUPER_MAGIC {
            return Err("not a Strata pmem file (bad magic in the superblock)".into());
        }
        if crc64::crc64(0, &b[..32]) != le_u64(b, 32) {
            return Err("superblock checksum mismatch".into());
        }
        let version = le_u32(b, 8);
        if version != FORMAT_VERSION {
            return Err(format!("unsupported format version {version}"));
        }
        Ok(Some(Superblock {
            segment_size: le_u64(b, 16),
            segment_count: le_u64(b, 24),
        }))
    }
}

/// The header of a segment in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub number: u32,
    pub generation: u64,
    pub base_seq: u64,
}

impl SegmentHeader {
    pub fn encode(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[..8].copy_from_slice(&SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.number.to_le_bytes());
        b[16..24].copy_from_slice(&self.generation.to_le_bytes());
        b[24..32].copy_from_slice(&self.base_seq.to_le_bytes());
        let crc = crc64::crc64(0, &b[..32]);
        b[32..40].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// `Ok(None)`: a free segment (zeroed magic). An error text for a
    /// header that is neither free nor valid: that is not a torn tail but
    /// damage recovery cannot repair.
    pub fn decode(b: &[u8], number: u32) -> Result<Option<SegmentHeader>, String> {
        if b.len() < 40 {
            return Err("segment shorter than its header".into());
        }
        if b[..8] == [0u8; 8] {
            return Ok(None);
        }
        if b[..8] != SEGMENT_MAGIC {
            return Err("bad segment magic".into());
        }
        if crc64::crc64(0, &b[..32]) != le_u64(b, 32) {
            return Err("segment header checksum mismatch".into());
        }
        if le_u32(b, 8) != FORMAT_VERSION {
            return Err(format!("unsupported format version {}", le_u32(b, 8)));
        }
        if le_u32(b, 12) != number {
            return Err(format!(
                "header names segment {} (misplaced)",
                le_u32(b, 12)
            ));
        }
        Ok(Some(SegmentHeader {
            number,
            generation: le_u64(b, 16),
            base_seq: le_u64(b, 24),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_any_flipped_bit_is_detected() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 7, Kind::Put, 1, 0, 42, b"key", b"value!");
        assert_eq!(buf.len(), record_len(3, 6));
        assert_eq!(buf.len() % 8, 0);
        let Scanned::Record(r) = decode_record(&buf, 0, 7) else {
            panic!("valid record");
        };
        assert_eq!((r.kind, r.cf, r.seq), (Kind::Put, 1, 42));
        assert_eq!(r.key(&buf, 0), b"key");
        assert_eq!(r.value(&buf, 0), b"value!");
        // Another generation (a recycled segment) does not accept it.
        assert!(matches!(decode_record(&buf, 0, 8), Scanned::Invalid(_)));
        for bit in 0..(RECORD_HEADER + 9) * 8 {
            let mut bad = buf.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(
                !matches!(decode_record(&bad, 0, 7), Scanned::Record(_)),
                "bit {bit} flipped went unnoticed"
            );
        }
    }

    #[test]
    fn zero_bytes_end_a_scan_and_headers_round_trip() {
        assert!(matches!(decode_record(&[0u8; 64], 0, 1), Scanned::End));
        let sb = Superblock {
            segment_size: 1 << 20,
            segment_count: 9,
        };
        assert_eq!(Superblock::decode(&sb.encode()), Ok(Some(sb)));
        assert_eq!(Superblock::decode(&[0u8; 40]), Ok(None));
        let h = SegmentHeader {
            number: 3,
            generation: 11,
            base_seq: 99,
        };
        assert_eq!(SegmentHeader::decode(&h.encode(), 3), Ok(Some(h)));
        assert!(SegmentHeader::decode(&h.encode(), 4).is_err());
        let mut bad = h.encode();
        bad[20] ^= 1;
        assert!(SegmentHeader::decode(&bad, 3).is_err());
    }
}
