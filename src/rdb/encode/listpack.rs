//! Listpack blobs, the container Redis 7.0 keeps small hashes, sorted sets
//! and quicklist nodes in. Built here so a replica loads byte-for-byte what
//! Redis would have built from the same pushes.

use super::canonical_int;

/// Header: u32 total bytes + u16 element count.
const HEADER: usize = 6;
const END: u8 = 0xFF;
/// The count field saturates here; readers then walk the entries.
const COUNT_UNKNOWN: usize = 0xFFFF;

/// A listpack under construction, appended to at the tail.
#[derive(Debug, Clone)]
pub struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

impl Listpack {
    pub fn new() -> Listpack {
        Listpack {
            buf: vec![0; HEADER],
            count: 0,
        }
    }

    /// Bytes the finished blob will take (header, entries, terminator).
    pub fn total_bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends an element; canonical int64 strings are stored as integers,
    /// as Redis's lpAppend does.
    pub fn push(&mut self, s: &[u8]) {
        match canonical_int(s) {
            Some(v) => self.push_int(v),
            None => self.push_str(s),
        }
    }

    /// Appends an integer in the smallest encoding that holds it.
    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1FFF;
            self.buf.push(0xC0 | (u >> 8) as u8);
            self.buf.push(u as u8);
        } else if let Ok(x) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(x) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&x.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.close_entry(start);
    }

    /// Appends a string as a string, whatever it looks like.
    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        self.close_entry(start);
    }

    /// Writes the back-length that lets readers walk from the tail: the
    /// entry size in 7-bit groups, most significant first, the later bytes
    /// flagged with 0x80.
    fn close_entry(&mut self, start: usize) {
        let l = self.buf.len() - start;
        let groups = match l {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        for i in (0..groups).rev() {
            let b = ((l >> (7 * i)) & 0x7F) as u8;
            self.buf.push(if i == groups - 1 { b } else { b | 0x80 });
        }
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(END);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(COUNT_UNKNOWN) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lp(items: &[&[u8]]) -> Vec<u8> {
        let mut l = Listpack::new();
        for i in items {
            l.push(i);
        }
        l.finish()
    }

    #[test]
    fn verified_examples() {
        // Reference: zset {m: 1.5} and list [a, b, "1", "2"] from real 7.0.15.
        assert_eq!(
            lp(&[b"m", b"1.5"]),
            [0x0F, 0, 0, 0, 0x02, 0, 0x81, 0x6D, 0x02, 0x83, 0x31, 0x2E, 0x35, 0x04, 0xFF]
        );
        assert_eq!(
            lp(&[b"a", b"b", b"1", b"2"]),
            [
                0x11, 0, 0, 0, 0x04, 0, 0x81, 0x61, 0x02, 0x81, 0x62, 0x02, 0x01, 0x01, 0x02, 0x01,
                0xFF
            ]
        );
    }

    #[test]
    fn integer_encodings() {
        let one = |v: i64| {
            let mut l = Listpack::new();
            l.push_int(v);
            l.finish()[HEADER..].to_vec()
        };
        assert_eq!(one(0), [0x00, 0x01, 0xFF]);
        assert_eq!(one(127), [0x7F, 0x01, 0xFF]);
        assert_eq!(one(128), [0xC0, 0x80, 0x02, 0xFF]);
        assert_eq!(one(-1), [0xDF, 0xFF, 0x02, 0xFF]);
        assert_eq!(one(-4096), [0xD0, 0x00, 0x02, 0xFF]);
        assert_eq!(one(4095), [0xCF, 0xFF, 0x02, 0xFF]);
        assert_eq!(one(4096), [0xF1, 0x00, 0x10, 0x03, 0xFF]);
        assert_eq!(one(-32768), [0xF1, 0x00, 0x80, 0x03, 0xFF]);
        assert_eq!(one(32768), [0xF2, 0x00, 0x80, 0x00, 0x04, 0xFF]);
        assert_eq!(one(-8388608), [0xF2, 0x00, 0x00, 0x80, 0x04, 0xFF]);
        assert_eq!(one(8388608), [0xF3, 0, 0, 0x80, 0, 0x05, 0xFF]);
        assert_eq!(one(i64::from(i32::MIN) - 1)[0], 0xF4);
        assert_eq!(one(i64::MIN), [0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x09, 0xFF]);
        // Canonical strings become ints; others stay strings.
        assert_eq!(lp(&[b"-1"])[HEADER], 0xDF);
        assert_eq!(lp(&[b"9223372036854775807"])[HEADER], 0xF4);
        assert_eq!(lp(&[b"9223372036854775808"])[HEADER], 0x80 | 19);
        assert_eq!(lp(&[b"-0"])[HEADER], 0x82);
        assert_eq!(lp(&[b"007"])[HEADER], 0x83);
    }

    #[test]
    fn string_headers_and_backlen() {
        let s63 = vec![b'x'; 63];
        let b = lp(&[&s63]);
        assert_eq!(b[HEADER], 0x80 | 63);
        assert_eq!(b[HEADER + 64], 64); // backlen of 64 bytes: one byte
        let s64 = vec![b'x'; 64];
        let b = lp(&[&s64]);
        assert_eq!(&b[HEADER..HEADER + 2], [0xE0, 64]);
        // 66-byte entry: still a one-byte backlen.
        assert_eq!(b[HEADER + 66], 66);
        let s200 = vec![b'x'; 200];
        let b = lp(&[&s200]);
        // Entry is 202 bytes: backlen 0x01, 0x80|0x4A.
        assert_eq!(&b[HEADER + 202..HEADER + 204], [0x01, 0xCA]);
        let s4096 = vec![b'x'; 4096];
        let b = lp(&[&s4096]);
        assert_eq!(&b[HEADER..HEADER + 5], [0xF0, 0, 0x10, 0, 0]);
        // 4101 = 0b100000_0000101: 0x20, 0x85.
        assert_eq!(&b[HEADER + 4101..HEADER + 4103], [0x20, 0x85]);
        assert_eq!(b.len(), HEADER + 4103 + 1);
        assert_eq!(
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
            b.len()
        );
    }

    #[test]
    fn count_saturates() {
        let mut l = Listpack::new();
        for _ in 0..70000 {
            l.push_int(1);
        }
        let b = l.finish();
        assert_eq!(&b[4..6], [0xFF, 0xFF]);
    }
}
