//! Ziplist walking: the pre-7.0 compact encoding. Redis 7 no longer writes it
//! but loads it from older RDBs (list/zset/hash types 10, 12, 13 and the nodes
//! of quicklist type 14), so a replica of an older master meets it.
//!
//! Layout: u32 LE total bytes, u32 LE offset of the last entry, u16 LE count
//! (0xFFFF = not known), entries, 0xFF. Each entry: size of the previous
//! entry (1 byte, or 0xFE + u32 LE), encoding (+ length), data.

use bytes::Bytes;

use super::{corrupt, le_uint, sign_extend, Elem};
use crate::rdb::reader::RdbError;

const WHAT: &str = "ziplist";
const HEADER: usize = 10;

/// A validated-as-you-go cursor over a ziplist blob.
pub struct Ziplist<'a> {
    blob: &'a Bytes,
    pos: usize,
    prev_size: usize,
    prev_start: usize,
    tail: usize,
    declared: Option<usize>,
    seen: usize,
    done: bool,
}

impl<'a> Ziplist<'a> {
    /// Checks the header against the blob; entries are checked as read.
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
        let tail = le_uint(blob, 4, 4, WHAT)? as usize;
        let count = le_uint(blob, 8, 2, WHAT)? as usize;
        Ok(Self {
            blob,
            pos: HEADER,
            prev_size: 0,
            prev_start: HEADER,
            tail,
            declared: (count != 0xFFFF).then_some(count),
            seen: 0,
            done: false,
        })
    }

    /// The next entry, `None` at the terminator (after checking the header's
    /// count and tail offset).
    pub fn next_elem(&mut self) -> Result<Option<Elem>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let blob = self.blob;
        let limit = blob.len() - 1;
        let p = self.pos;
        let first = *blob
            .get(p)
            .ok_or_else(|| corrupt(WHAT, "walked past the end"))?;
        if first == 0xFF {
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
            if self.tail != self.prev_start {
                return Err(corrupt(
                    WHAT,
                    "tail offset does not point at the last entry",
                ));
            }
            self.done = true;
            return Ok(None);
        }
        let (prevlen, plen) = if first < 0xFE {
            (usize::from(first), 1)
        } else {
            (le_uint(blob, p + 1, 4, WHAT)? as usize, 5)
        };
        if prevlen != self.prev_size {
            return Err(corrupt(
                WHAT,
                format!("entry at {p} has the wrong previous-entry size"),
            ));
        }
        let e = p + plen;
        let enc = le_uint(blob, e, 1, WHAT)? as u8;
        let be = |n: usize| -> Result<usize, RdbError> {
            let v = le_uint(blob, e + 1, n, WHAT)?;
            Ok(if n == 1 {
                v
            } else {
                u64::from((v as u32).swap_bytes())
            } as usize)
        };
        let int = |n: usize| {
            le_uint(blob, e + 1, n, WHAT).map(|v| Some(Elem::Int(sign_extend(v, 8 * n as u32))))
        };
        // (encoding bytes, data bytes, integer value if any)
        let (head, data, elem) = match enc >> 6 {
            0 => (1, usize::from(enc & 0x3F), None),
            1 => (2, (usize::from(enc & 0x3F) << 8) | be(1)?, None),
            2 => (5, be(4)?, None),
            _ => match enc {
                0xC0 => (1, 2, int(2)?),
                0xD0 => (1, 4, int(4)?),
                0xE0 => (1, 8, int(8)?),
                0xF0 => (1, 3, int(3)?),
                0xFE => (1, 1, int(1)?),
                0xF1..=0xFD => (1, 0, Some(Elem::Int(i64::from(enc & 0x0F) - 1))),
                _ => {
                    return Err(corrupt(
                        WHAT,
                        format!("bad encoding byte {enc:#04x} at {e}"),
                    ))
                }
            },
        };
        let end = (e + head)
            .checked_add(data)
            .filter(|&x| x <= limit)
            .ok_or_else(|| corrupt(WHAT, format!("entry at {p} runs past the end")))?;
        let elem = match elem {
            Some(v) => v,
            None => Elem::Str(blob.slice(e + head..end)),
        };
        self.prev_size = end - p;
        self.prev_start = p;
        self.pos = end;
        self.seen += 1;
        Ok(Some(elem))
    }
}

/// Test-only builder producing ziplists the way Redis lays them out.
#[cfg(test)]
pub mod build {
    pub enum Z<'a> {
        S(&'a [u8]),
        I(i64),
    }

    fn encode(e: &Z) -> Vec<u8> {
        match *e {
            Z::I(v) if (0..=12).contains(&v) => vec![0xF1 + v as u8],
            Z::I(v) if i8::try_from(v).is_ok() => vec![0xFE, v as u8],
            Z::I(v) if i16::try_from(v).is_ok() => {
                [vec![0xC0], (v as i16).to_le_bytes().to_vec()].concat()
            }
            Z::I(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                [vec![0xF0], (v as i32).to_le_bytes()[..3].to_vec()].concat()
            }
            Z::I(v) if i32::try_from(v).is_ok() => {
                [vec![0xD0], (v as i32).to_le_bytes().to_vec()].concat()
            }
            Z::I(v) => [vec![0xE0], v.to_le_bytes().to_vec()].concat(),
            Z::S(s) if s.len() <= 63 => [vec![s.len() as u8], s.to_vec()].concat(),
            Z::S(s) if s.len() <= 16383 => {
                [vec![0x40 | (s.len() >> 8) as u8, s.len() as u8], s.to_vec()].concat()
            }
            Z::S(s) => [
                vec![0x80],
                (s.len() as u32).to_be_bytes().to_vec(),
                s.to_vec(),
            ]
            .concat(),
        }
    }

    pub fn ziplist(elems: &[Z]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        let mut tail = 10usize;
        for e in elems {
            tail = 10 + body.len();
            let mut entry = if prev < 254 {
                vec![prev as u8]
            } else {
                [vec![0xFE], (prev as u32).to_le_bytes().to_vec()].concat()
            };
            entry.extend_from_slice(&encode(e));
            prev = entry.len();
            body.extend_from_slice(&entry);
        }
        let total = 10 + body.len() + 1;
        let mut out = (total as u32).to_le_bytes().to_vec();
        out.extend_from_slice(&(tail as u32).to_le_bytes());
        out.extend_from_slice(&(elems.len().min(0xFFFF) as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{ziplist, Z};
    use super::*;

    fn all(blob: &[u8]) -> Result<Vec<Elem>, RdbError> {
        let b = Bytes::copy_from_slice(blob);
        let mut zl = Ziplist::new(&b)?;
        let mut v = Vec::new();
        while let Some(e) = zl.next_elem()? {
            v.push(e);
        }
        Ok(v)
    }

    #[test]
    fn every_encoding_round_trips() {
        let big = vec![b'q'; 20000];
        let mid = vec![b'r'; 300];
        let ints = [
            0,
            12,
            13,
            -1,
            127,
            -128,
            300,
            -32768,
            1 << 20,
            -(1 << 23),
            1 << 30,
            i64::MIN,
            i64::MAX,
        ];
        let mut elems: Vec<Z> = ints.iter().map(|&i| Z::I(i)).collect();
        elems.extend([Z::S(b"hello"), Z::S(&mid), Z::S(&big), Z::S(b"")]);
        let got = all(&ziplist(&elems)).unwrap();
        for (i, want) in ints.iter().enumerate() {
            assert_eq!(got[i], Elem::Int(*want), "int #{i}");
        }
        assert_eq!(got[ints.len()], Elem::Str(Bytes::from_static(b"hello")));
        assert_eq!(got[ints.len() + 1], Elem::Str(Bytes::from(mid.clone())));
        assert_eq!(got[ints.len() + 2], Elem::Str(Bytes::from(big.clone())));
        assert_eq!(got[ints.len() + 3], Elem::Str(Bytes::new()));
        assert!(all(&ziplist(&[])).unwrap().is_empty());
    }

    #[test]
    fn rejects_corruption() {
        let good = ziplist(&[Z::S(b"ab"), Z::I(7), Z::S(b"c")]);
        assert!(all(&good).is_ok());
        let mut bad_tail = good.clone();
        bad_tail[4] += 1;
        assert!(all(&bad_tail).is_err());
        let mut bad_prev = good.clone();
        bad_prev[14] = 1; // prevlen of the 2nd entry
        assert!(all(&bad_prev).is_err());
        let mut bad_enc = good.clone();
        bad_enc[15] = 0xC1;
        assert!(all(&bad_enc).is_err());
        let mut bad_count = good.clone();
        bad_count[8] = 2;
        assert!(all(&bad_count).is_err());
        let mut long_str = good.clone();
        long_str[11] = 0x3F;
        assert!(all(&long_str).is_err());
    }
}
