//! The RDB's byte-level primitives: lengths, strings (raw, integer, LZF),
//! doubles and fixed-width fields, read from any `Read` while counting the
//! bytes and chaining the CRC-64 the trailer is checked against.

use std::io::{self, Read};

use bytes::Bytes;

use super::{lzf, parse_f64};
use crate::rdb::crc64;
use crate::rdb::reader::{Limits, RdbError};

/// The byte source: counts and checksums everything it hands out.
pub(crate) struct Source<R> {
    r: R,
    pub(crate) crc: u64,
    pub(crate) pos: u64,
    pub(crate) limits: Limits,
}

/// A length, or a special string encoding (low 6 bits of an `11xxxxxx` byte).
enum LenOrEnc {
    Len(u64),
    Enc(u8),
}

impl<R: Read> Source<R> {
    pub(crate) fn new(r: R, limits: Limits) -> Self {
        Self {
            r,
            crc: 0,
            pos: 0,
            limits,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.r
    }

    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RdbError> {
        match self.r.read_exact(buf) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(RdbError::Truncated { offset: self.pos })
            }
            Err(e) => return Err(RdbError::Io(e)),
        }
        self.crc = crc64(self.crc, buf);
        self.pos += buf.len() as u64;
        Ok(())
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.array::<1>()?[0])
    }

    /// An 8-byte little-endian millisecond time (expiry, stream times).
    pub(crate) fn i64_le(&mut self) -> Result<i64, RdbError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// `n` raw bytes, grown as they arrive rather than allocated up front.
    pub(crate) fn raw(&mut self, n: u64) -> Result<Vec<u8>, RdbError> {
        let mut v = Vec::new();
        while (v.len() as u64) < n {
            let step = (n - v.len() as u64).min(1 << 20) as usize;
            let start = v.len();
            v.resize(start + step, 0);
            self.fill(&mut v[start..])?;
        }
        Ok(v)
    }

    fn len_or_enc(&mut self) -> Result<LenOrEnc, RdbError> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => LenOrEnc::Len(u64::from(b & 0x3F)),
            1 => LenOrEnc::Len((u64::from(b & 0x3F) << 8) | u64::from(self.u8()?)),
            2 => match b {
                0x80 => LenOrEnc::Len(u64::from(u32::from_be_bytes(self.array()?))),
                0x81 => LenOrEnc::Len(u64::from_be_bytes(self.array()?)),
                _ => return Err(self.corrupt(format!("unknown length encoding {b:#04x}"))),
            },
            _ => LenOrEnc::Enc(b & 0x3F),
        })
    }

    /// A plain length (a special string encoding here is corrupt).
    pub(crate) fn len(&mut self) -> Result<u64, RdbError> {
        match self.len_or_enc()? {
            LenOrEnc::Len(n) => Ok(n),
            LenOrEnc::Enc(e) => {
                Err(self.corrupt(format!("string encoding {e} where a length belongs")))
            }
        }
    }

    /// A count of elements, checked against `max_collection_len`.
    pub(crate) fn count(&mut self, what: &'static str) -> Result<u64, RdbError> {
        let n = self.len()?;
        let limit = self.limits.max_collection_len;
        if n > limit {
            return Err(RdbError::LimitExceeded {
                what,
                len: n,
                limit,
            });
        }
        Ok(n)
    }

    fn check_len(&self, len: u64) -> Result<(), RdbError> {
        let limit = self.limits.max_string_len;
        if len > limit {
            return Err(RdbError::LimitExceeded {
                what: "string length",
                len,
                limit,
            });
        }
        Ok(())
    }

    /// An RDB string: raw, integer-encoded or LZF-compressed.
    pub(crate) fn string(&mut self) -> Result<Bytes, RdbError> {
        let int = |v: i64| {
            Ok(Bytes::copy_from_slice(
                itoa::Buffer::new().format(v).as_bytes(),
            ))
        };
        match self.len_or_enc()? {
            LenOrEnc::Len(n) => {
                self.check_len(n)?;
                Ok(Bytes::from(self.raw(n)?))
            }
            LenOrEnc::Enc(0) => int(i64::from(self.u8()? as i8)),
            LenOrEnc::Enc(1) => int(i64::from(i16::from_le_bytes(self.array()?))),
            LenOrEnc::Enc(2) => int(i64::from(i32::from_le_bytes(self.array()?))),
            LenOrEnc::Enc(3) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                self.check_len(clen)?;
                self.check_len(ulen)?;
                if ulen == 0 || clen == 0 {
                    return Err(self.corrupt("LZF string with a zero length".into()));
                }
                let at = self.pos;
                let packed = self.raw(clen)?;
                if ulen > clen.saturating_mul(lzf::MAX_RATIO) {
                    return Err(self.corrupt(format!(
                        "LZF string of {clen} bytes cannot expand to {ulen}"
                    )));
                }
                let out = lzf::decompress(&packed, ulen as usize).map_err(|e| at_offset(e, at))?;
                Ok(Bytes::from(out))
            }
            LenOrEnc::Enc(e) => Err(self.corrupt(format!("unknown string encoding {e}"))),
        }
    }

    /// A zset score of type 3: length byte + ASCII, or 253/254/255 for
    /// NaN/+inf/-inf.
    pub(crate) fn ascii_double(&mut self) -> Result<f64, RdbError> {
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let b = self.raw(u64::from(n))?;
                parse_f64(&b).ok_or_else(|| self.corrupt("unparsable double".into()))
            }
        }
    }

    pub(crate) fn corrupt(&self, what: String) -> RdbError {
        RdbError::Corrupt(format!("{what} (near byte {})", self.pos))
    }
}

/// Adds an offset to a blob decoder's error, which knows only the blob.
pub(crate) fn at_offset(e: RdbError, at: u64) -> RdbError {
    match e {
        RdbError::Corrupt(m) => {
            RdbError::Corrupt(format!("{m} (in the blob starting at byte {at})"))
        }
        other => other,
    }
}
