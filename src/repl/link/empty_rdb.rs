//! Checks that an RDB payload holds no keys, reading it as a stream.
//!
//! Stands in for loading until the streaming RDB reader is wired to the
//! engine: a master whose dataset is empty at sync time can be followed
//! (its later writes arrive through the stream), and any key is refused
//! with a typed error instead of being silently dropped.

use std::io::Read;

use crate::rdb::{crc64, opcode};
use crate::repl::data::DataError;

/// A reader that keeps the running CRC-64 of what it read.
struct Checked<'a> {
    inner: &'a mut dyn Read,
    crc: u64,
}

impl Checked<'_> {
    fn bytes(&mut self, n: usize) -> Result<Vec<u8>, DataError> {
        let mut b = vec![0u8; n];
        self.inner.read_exact(&mut b)?;
        self.crc = crc64(self.crc, &b);
        Ok(b)
    }

    fn byte(&mut self) -> Result<u8, DataError> {
        Ok(self.bytes(1)?[0])
    }

    /// Skips `n` bytes without holding them all.
    fn skip(&mut self, mut n: u64) -> Result<(), DataError> {
        while n > 0 {
            let step = n.min(16 * 1024) as usize;
            self.bytes(step)?;
            n -= step as u64;
        }
        Ok(())
    }
}

/// A length or a special string encoding (RDB length byte, top two bits).
enum Len {
    Plain(u64),
    Special(u8),
}

fn read_len(r: &mut Checked<'_>) -> Result<Len, DataError> {
    let first = r.byte()?;
    Ok(match first >> 6 {
        0 => Len::Plain(u64::from(first & 0x3f)),
        1 => Len::Plain((u64::from(first & 0x3f) << 8) | u64::from(r.byte()?)),
        2 => match first {
            0x80 => {
                let b = r.bytes(4)?;
                Len::Plain(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            }
            0x81 => {
                let b = r.bytes(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(&b);
                Len::Plain(u64::from_be_bytes(a))
            }
            other => return Err(DataError::BadRdb(format!("unknown length byte {other:#x}"))),
        },
        _ => Len::Special(first & 0x3f),
    })
}

fn plain_len(r: &mut Checked<'_>) -> Result<u64, DataError> {
    match read_len(r)? {
        Len::Plain(n) => Ok(n),
        Len::Special(_) => Err(DataError::BadRdb(
            "encoded value where a length belongs".into(),
        )),
    }
}

/// Skips one RDB string (raw, integer or LZF-compressed).
fn skip_string(r: &mut Checked<'_>) -> Result<(), DataError> {
    match read_len(r)? {
        Len::Plain(n) => r.skip(n),
        Len::Special(0) => r.skip(1),
        Len::Special(1) => r.skip(2),
        Len::Special(2) => r.skip(4),
        Len::Special(3) => {
            let compressed = plain_len(r)?;
            let _original = plain_len(r)?;
            r.skip(compressed)
        }
        Len::Special(other) => Err(DataError::BadRdb(format!(
            "unknown string encoding {other}"
        ))),
    }
}

/// Reads the whole payload. `Ok` when it is a well-formed RDB without keys
/// (header, AUX fields, empty databases, EOF and a matching checksum).
pub fn check_empty(rdb: &mut dyn Read) -> Result<(), DataError> {
    let mut r = Checked { inner: rdb, crc: 0 };
    let header = r.bytes(9)?;
    if &header[..5] != b"REDIS" || !header[5..].iter().all(u8::is_ascii_digit) {
        return Err(DataError::BadRdb("wrong signature".into()));
    }
    let version: u32 = std::str::from_utf8(&header[5..])
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    loop {
        match r.byte()? {
            opcode::AUX => {
                skip_string(&mut r)?;
                skip_string(&mut r)?;
            }
            opcode::SELECTDB => {
                plain_len(&mut r)?;
            }
            opcode::RESIZEDB => {
                let keys = plain_len(&mut r)?;
                plain_len(&mut r)?;
                if keys > 0 {
                    return Err(DataError::RdbHasKeys);
                }
            }
            opcode::FUNCTION2 => {
                // Functions are not keys; Strata has no functions yet.
                tracing::warn!("The master's RDB holds functions; Strata ignores them");
                skip_string(&mut r)?;
            }
            opcode::EOF => break,
            _ => return Err(DataError::RdbHasKeys),
        }
    }
    if version >= 5 {
        let computed = r.crc;
        let mut sum = [0u8; 8];
        r.inner.read_exact(&mut sum)?;
        let stored = u64::from_le_bytes(sum);
        // A master with rdbchecksum off writes zero.
        if stored != 0 && stored != computed {
            return Err(DataError::BadRdb("wrong checksum".into()));
        }
    }
    let mut rest = [0u8; 1];
    if r.inner.read(&mut rest)? != 0 {
        return Err(DataError::BadRdb("bytes after the end".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_crc(mut body: Vec<u8>) -> Vec<u8> {
        let crc = crc64(0, &body);
        body.extend_from_slice(&crc.to_le_bytes());
        body
    }

    #[test]
    fn an_empty_rdb_passes_and_a_key_is_refused() {
        let mut empty = b"REDIS0010".to_vec();
        empty.extend_from_slice(b"\xfa\x09redis-ver\x067.0.15");
        empty.extend_from_slice(b"\xfa\x0brepl-offset\xc0\x0e");
        empty.extend_from_slice(b"\xfa\x05ctime\xc2\x01\x02\x03\x04");
        empty.push(opcode::EOF);
        let good = with_crc(empty.clone());
        assert!(check_empty(&mut good.as_slice()).is_ok());

        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            check_empty(&mut bad.as_slice()),
            Err(DataError::BadRdb(_))
        ));

        let mut keyed = b"REDIS0010\xfe\x00\xfb\x01\x00\x00\x01k\x01v".to_vec();
        keyed.push(opcode::EOF);
        let keyed = with_crc(keyed);
        assert!(matches!(
            check_empty(&mut keyed.as_slice()),
            Err(DataError::RdbHasKeys)
        ));

        let truncated = &good[..good.len() - 3];
        assert!(matches!(
            check_empty(&mut &truncated[..]),
            Err(DataError::Io(_))
        ));
    }
}
