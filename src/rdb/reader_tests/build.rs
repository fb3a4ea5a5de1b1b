//! Test-only RDB writer for hand-built files: legacy encodings and shapes a
//! Redis 7.0 never writes, assembled from the format description.

use crate::rdb::crc64;

pub struct Rdb {
    pub buf: Vec<u8>,
    version: u16,
}

impl Rdb {
    pub fn new(version: u16) -> Self {
        Self {
            buf: format!("REDIS{version:04}").into_bytes(),
            version,
        }
    }

    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.buf.push(b);
        self
    }

    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    pub fn len(&mut self, n: u64) -> &mut Self {
        encode_len(&mut self.buf, n);
        self
    }

    /// A raw (unencoded) RDB string.
    pub fn str(&mut self, s: &[u8]) -> &mut Self {
        self.len(s.len() as u64).raw(s)
    }

    /// A key entry: type byte, key, then the caller appends the value.
    pub fn key(&mut self, t: u8, key: &str) -> &mut Self {
        self.byte(t).str(key.as_bytes())
    }

    /// EOF opcode plus the trailer (a real checksum, or 0).
    pub fn finish(&mut self, checksum: bool) -> Vec<u8> {
        let mut out = self.buf.clone();
        out.push(0xFF);
        if self.version >= 5 {
            let crc = if checksum { crc64(0, &out) } else { 0 };
            out.extend_from_slice(&crc.to_le_bytes());
        }
        out
    }
}

pub fn encode_len(buf: &mut Vec<u8>, n: u64) {
    if n < 64 {
        buf.push(n as u8);
    } else if n < 16384 {
        buf.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u64::from(u32::MAX) {
        buf.push(0x80);
        buf.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        buf.push(0x81);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

/// A DUMP payload around a value body (type byte + value).
pub fn dump(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// A 16-byte big-endian stream id.
pub fn raw_id(ms: u64, seq: u64) -> Vec<u8> {
    [ms.to_be_bytes(), seq.to_be_bytes()].concat()
}
