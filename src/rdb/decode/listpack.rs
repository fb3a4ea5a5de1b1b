//! Listpack walking: the encoding Redis 7 uses for small hashes, zsets, sets
//! (7.2), quicklist nodes and stream nodes.
//!
//! Layout: u32 LE total bytes, u16 LE element count (0xFFFF = not known),
//! elements, 0xFF. Each element is an encoding byte (+ data) followed by a
//! "backlen" giving the element's size for backward walks; we check it
//! matches, as Redis's integrity check does.

use bytes::Bytes;

use super::{corrupt, le_uint, sign_extend, Elem};
use crate::rdb::reader::RdbError;

const WHAT: &str = "listpack";
const HEADER: usize = 6;

/// A validated-as-you-go cursor over a listpack blob.
pub struct Listpack<'a> {
    blob: &'a Bytes,
    pos: usize,
    declared: Option<usize>,
    seen: usize,
    done: bool,
}

impl<'a> Listpack<'a> {
    /// Checks the header against the blob; elements are checked as read.
    pub fn new(blob: &'a Bytes) -> Result<Self, RdbError> {
        if blob.len() < HEADER + 1 {
            return Err(corrupt(WHAT, "shorter than its header"));
        }
        let total = le_uint(blob, 0, 4, WHAT)?;
        if total != blob.len() as u64 {
            return Err(corrupt(
                WHAT,
                format!("header says {total} bytes, blob has {}", blob.len()),
            ));
        }
        if blob[blob.len() - 1] != 0xFF {
            return Err(corrupt(WHAT, "missing terminator"));
        }
        let count = le_uint(blob, 4, 2, WHAT)? as usize;
        Ok(Self {
            blob,
            pos: HEADER,
            declared: (count != 0xFFFF).then_some(count),
            seen: 0,
            done: false,
        })
    }

    /// The element count from the header, when it is not the "unknown" marker.
    pub fn declared_len(&self) -> Option<usize> {
        self.declared
    }

    /// True when the listpack holds no elements at all.
    pub fn is_empty(&self) -> bool {
        self.blob[HEADER] == 0xFF
    }

    /// The next element, `None` at the terminator (after checking the count).
    pub fn next_elem(&mut self) -> Result<Option<Elem>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let blob = self.blob;
        // Elements must end before the terminator byte, which is the last.
        let limit = blob.len() - 1;
        let p = self.pos;
        let b = *blob
            .get(p)
            .ok_or_else(|| corrupt(WHAT, "walked past the end"))?;
        if b == 0xFF {
            if p != limit {
                return Err(corrupt(WHAT, format!("terminator at {p}, before the end")));
            }
            if let Some(n) = self.declared {
                if n != self.seen {
                    return Err(corrupt(
                        WHAT,
                        format!("header count {n}, found {}", self.seen),
                    ));
                }
            }
            self.done = true;
            return Ok(None);
        }
        let byte = |i: usize| -> Result<u64, RdbError> { le_uint(blob, p + i, 1, WHAT) };
        // (header bytes, data bytes, element)
        let (head, data, elem): (usize, usize, Option<Elem>) = if b & 0x80 == 0 {
            (1, 0, Some(Elem::Int(i64::from(b & 0x7F))))
        } else if b & 0xC0 == 0x80 {
            (1, usize::from(b & 0x3F), None)
        } else if b & 0xE0 == 0xC0 {
            let v = (u64::from(b & 0x1F) << 8) | byte(1)?;
            (2, 0, Some(Elem::Int(sign_extend(v, 13))))
        } else if b & 0xF0 == 0xE0 {
            (2, ((usize::from(b & 0x0F)) << 8) | byte(1)? as usize, None)
        } else {
            match b {
                0xF0 => (5, le_uint(blob, p + 1, 4, WHAT)? as usize, None),
                0xF1 => (
                    1,
                    2,
                    Some(Elem::Int(sign_extend(le_uint(blob, p + 1, 2, WHAT)?, 16))),
                ),
                0xF2 => (
                    1,
                    3,
                    Some(Elem::Int(sign_extend(le_uint(blob, p + 1, 3, WHAT)?, 24))),
                ),
                0xF3 => (
                    1,
                    4,
                    Some(Elem::Int(sign_extend(le_uint(blob, p + 1, 4, WHAT)?, 32))),
                ),
                0xF4 => (1, 8, Some(Elem::Int(le_uint(blob, p + 1, 8, WHAT)? as i64))),
                _ => return Err(corrupt(WHAT, format!("bad encoding byte {b:#04x} at {p}"))),
            }
        };
        let size = head
            .checked_add(data)
            .filter(|&s| p + s <= limit)
            .ok_or_else(|| corrupt(WHAT, format!("element at {p} runs past the end")))?;
        let elem = match elem {
            Some(e) => e,
            None => Elem::Str(blob.slice(p + head..p + size)),
        };
        let bl = backlen_size(size);
        let after = p + size + bl;
        if after > limit {
            return Err(corrupt(
                WHAT,
                format!("backlen at {} runs past the end", p + size),
            ));
        }
        if !backlen_matches(&blob[p + size..after], size) {
            return Err(corrupt(WHAT, format!("backlen of element at {p} is wrong")));
        }
        self.pos = after;
        self.seen += 1;
        Ok(Some(elem))
    }

    /// The next element, which must exist (for fixed-shape data like streams).
    pub fn expect(&mut self, what: &str) -> Result<Elem, RdbError> {
        self.next_elem()?
            .ok_or_else(|| corrupt(WHAT, format!("ended where {what} was expected")))
    }

    /// The next element, which must be an integer.
    pub fn expect_int(&mut self, what: &str) -> Result<i64, RdbError> {
        self.expect(what)?
            .as_int()
            .ok_or_else(|| corrupt(WHAT, format!("{what} is not an integer")))
    }
}

/// Bytes the backlen of an element of `len` bytes takes (7 bits per byte).
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The backlen is read from its last byte backwards: 7 bits per byte, the
/// high bit set on every byte but the first (the most significant).
fn backlen_matches(bytes: &[u8], len: usize) -> bool {
    let mut v: u64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        let continued = b & 0x80 != 0;
        if continued != (i > 0) {
            return false;
        }
        v = (v << 7) | u64::from(b & 0x7F);
    }
    v == len as u64
}

/// Test-only builder producing listpacks the way Redis lays them out.
#[cfg(test)]
pub mod build {
    use super::backlen_size;

    pub enum E<'a> {
        S(&'a [u8]),
        I(i64),
    }

    fn encode(e: &E) -> Vec<u8> {
        match *e {
            E::I(v) if (0..=127).contains(&v) => vec![v as u8],
            E::I(v) if (-4096..=4095).contains(&v) => {
                let u = (v as u16) & 0x1FFF;
                vec![0xC0 | (u >> 8) as u8, u as u8]
            }
            E::I(v) if i16::try_from(v).is_ok() => {
                [vec![0xF1], (v as i16).to_le_bytes().to_vec()].concat()
            }
            E::I(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                [vec![0xF2], (v as i32).to_le_bytes()[..3].to_vec()].concat()
            }
            E::I(v) if i32::try_from(v).is_ok() => {
                [vec![0xF3], (v as i32).to_le_bytes().to_vec()].concat()
            }
            E::I(v) => [vec![0xF4], v.to_le_bytes().to_vec()].concat(),
            E::S(s) if s.len() <= 63 => [vec![0x80 | s.len() as u8], s.to_vec()].concat(),
            E::S(s) if s.len() <= 4095 => {
                [vec![0xE0 | (s.len() >> 8) as u8, s.len() as u8], s.to_vec()].concat()
            }
            E::S(s) => [
                vec![0xF0],
                (s.len() as u32).to_le_bytes().to_vec(),
                s.to_vec(),
            ]
            .concat(),
        }
    }

    pub fn backlen(len: usize) -> Vec<u8> {
        let n = backlen_size(len);
        (0..n)
            .map(|i| {
                let b = ((len >> (7 * (n - 1 - i))) & 0x7F) as u8;
                if i == 0 {
                    b
                } else {
                    b | 0x80
                }
            })
            .collect()
    }

    pub fn listpack(elems: &[E]) -> Vec<u8> {
        let mut body = Vec::new();
        for e in elems {
            let enc = encode(e);
            body.extend_from_slice(&enc);
            body.extend_from_slice(&backlen(enc.len()));
        }
        let total = 6 + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(elems.len().min(0xFFFF) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{listpack, E};
    use super::*;

    fn all(blob: &[u8]) -> Result<Vec<Elem>, RdbError> {
        let b = Bytes::copy_from_slice(blob);
        let mut lp = Listpack::new(&b)?;
        let mut v = Vec::new();
        while let Some(e) = lp.next_elem()? {
            v.push(e);
        }
        Ok(v)
    }

    #[test]
    fn verified_redis_bytes() {
        // From a real 7.0 list [a, b, "1", "2"] (reference doc 2.3).
        let blob = [
            0x11, 0, 0, 0, 4, 0, 0x81, b'a', 2, 0x81, b'b', 2, 1, 1, 2, 1, 0xFF,
        ];
        let v = all(&blob).unwrap();
        assert_eq!(
            v,
            vec![
                Elem::Str(Bytes::from_static(b"a")),
                Elem::Str(Bytes::from_static(b"b")),
                Elem::Int(1),
                Elem::Int(2)
            ]
        );
    }

    #[test]
    fn every_encoding_round_trips() {
        let long = vec![b'x'; 5000];
        let mid = vec![b'y'; 300];
        let ints = [
            0,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -32768,
            32767,
            1 << 20,
            -(1 << 23),
            1 << 30,
            i64::MIN,
            i64::MAX,
        ];
        let mut elems: Vec<E> = ints.iter().map(|&i| E::I(i)).collect();
        elems.push(E::S(b""));
        elems.push(E::S(&mid));
        elems.push(E::S(&long));
        let got = all(&listpack(&elems)).unwrap();
        for (i, want) in ints.iter().enumerate() {
            assert_eq!(got[i], Elem::Int(*want));
        }
        assert_eq!(got[ints.len()], Elem::Str(Bytes::new()));
        assert_eq!(
            got[ints.len() + 1].clone().into_bytes(),
            Bytes::from(mid.clone())
        );
        assert_eq!(
            got[ints.len() + 2].clone().into_bytes(),
            Bytes::from(long.clone())
        );
    }

    #[test]
    fn rejects_corruption() {
        let good = listpack(&[E::S(b"abc"), E::I(5)]);
        assert!(all(&good).is_ok());
        let mut bad_total = good.clone();
        bad_total[0] += 1;
        assert!(all(&bad_total).is_err());
        let mut bad_count = good.clone();
        bad_count[4] = 3;
        assert!(all(&bad_count).is_err());
        let mut bad_backlen = good.clone();
        bad_backlen[10] = 9;
        assert!(all(&bad_backlen).is_err());
        let mut bad_len = good.clone();
        bad_len[6] = 0xBF; // string of 63 bytes: runs past the end
        assert!(all(&bad_len).is_err());
        let mut no_term = good.clone();
        *no_term.last_mut().unwrap() = 0;
        assert!(all(&no_term).is_err());
        let mut early_term = good.clone();
        early_term[6] = 0xFF;
        assert!(all(&early_term).is_err());
        assert!(all(&[7, 0, 0, 0, 0, 0, 0xFF]).unwrap().is_empty());
        assert!(all(&[3, 0, 0]).is_err());
    }
}
