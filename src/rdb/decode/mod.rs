//! Decoders for the compact blobs Redis embeds in an RDB as plain strings:
//! LZF compression and the listpack, ziplist, intset and zipmap encodings.
//!
//! The reader hands each blob over whole (it is one RDB string, already in
//! memory), and these walk it lazily so a big blob is never copied into a
//! second structure. Every offset is checked against the blob: hostile bytes
//! give `RdbError::Corrupt`, never a panic, an overread or an endless loop.

pub mod intset;
pub mod listpack;
pub mod lzf;
pub(crate) mod source;
pub mod ziplist;
pub mod zipmap;

use bytes::Bytes;

use super::reader::RdbError;

/// One element of a listpack or ziplist. Both store strings that look like
/// integers as integers, so callers that want text turn `Int` back into its
/// decimal form, exactly the bytes Redis reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elem {
    Int(i64),
    Str(Bytes),
}

impl Elem {
    /// The element as the bytes a client would see.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Elem::Str(b) => b,
            Elem::Int(i) => Bytes::copy_from_slice(itoa::Buffer::new().format(i).as_bytes()),
        }
    }

    /// The element as an integer, if it is one (streams store their
    /// bookkeeping as integers, but accept integer-looking strings too).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Elem::Int(i) => Some(*i),
            Elem::Str(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        }
    }

    /// The element read as a zset score (integer, or a decimal string).
    pub fn as_score(&self) -> Option<f64> {
        match self {
            Elem::Int(i) => Some(*i as f64),
            Elem::Str(b) => parse_f64(b),
        }
    }
}

/// Parses a double the way Redis writes them (`%.17g`, "inf", "-inf").
pub fn parse_f64(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) {
        return None;
    }
    s.parse().ok()
}

/// A `Corrupt` error naming the blob kind and what was wrong with it.
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> RdbError {
    RdbError::Corrupt(format!("{what}: {detail}"))
}

/// Little-endian unsigned read of `n <= 8` bytes at `pos`, bounds-checked.
pub(crate) fn le_uint(blob: &[u8], pos: usize, n: usize, what: &str) -> Result<u64, RdbError> {
    let end = pos
        .checked_add(n)
        .filter(|&e| e <= blob.len())
        .ok_or_else(|| corrupt(what, format!("read of {n} bytes at {pos} past the end")))?;
    let mut v = 0u64;
    for (i, b) in blob[pos..end].iter().enumerate() {
        v |= u64::from(*b) << (8 * i);
    }
    Ok(v)
}

/// Sign-extends the low `bits` bits of `v`.
pub(crate) fn sign_extend(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// A walk over a listpack or ziplist, so the reader treats both alike.
pub trait ElemSource {
    fn next_elem(&mut self) -> Result<Option<Elem>, RdbError>;
}

impl ElemSource for listpack::Listpack<'_> {
    fn next_elem(&mut self) -> Result<Option<Elem>, RdbError> {
        listpack::Listpack::next_elem(self)
    }
}

impl ElemSource for ziplist::Ziplist<'_> {
    fn next_elem(&mut self) -> Result<Option<Elem>, RdbError> {
        ziplist::Ziplist::next_elem(self)
    }
}
