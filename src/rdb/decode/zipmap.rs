//! Zipmap walking: the small-hash encoding of Redis 2.x (type 9), still loaded
//! by Redis 7, so an RDB converted forward from an old server can hold it.
//!
//! Layout: one count byte (254+ = not known), then per pair: key length, key,
//! value length, a "free" byte, value, `free` bytes of padding; then 0xFF.
//! Lengths are one byte below 254, else 254 + u32 LE.

use bytes::Bytes;

use super::{corrupt, le_uint};
use crate::rdb::reader::RdbError;

const WHAT: &str = "zipmap";

/// A cursor over a zipmap, checked as it is read.
pub struct Zipmap<'a> {
    blob: &'a Bytes,
    pos: usize,
    declared: Option<usize>,
    seen: usize,
    done: bool,
}

impl<'a> Zipmap<'a> {
    pub fn new(blob: &'a Bytes) -> Result<Self, RdbError> {
        let count = *blob.first().ok_or_else(|| corrupt(WHAT, "empty blob"))?;
        Ok(Self {
            blob,
            pos: 1,
            declared: (count < 254).then_some(usize::from(count)),
            seen: 0,
            done: false,
        })
    }

    fn len_at(&mut self) -> Result<usize, RdbError> {
        let b = le_uint(self.blob, self.pos, 1, WHAT)?;
        match b {
            0..=253 => {
                self.pos += 1;
                Ok(b as usize)
            }
            254 => {
                let v = le_uint(self.blob, self.pos + 1, 4, WHAT)?;
                self.pos += 5;
                Ok(v as usize)
            }
            _ => Err(corrupt(
                WHAT,
                format!("unexpected end marker at {}", self.pos),
            )),
        }
    }

    fn take(&mut self, n: usize) -> Result<Bytes, RdbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e < self.blob.len())
            .ok_or_else(|| corrupt(WHAT, format!("{n} bytes at {} run past the end", self.pos)))?;
        let b = self.blob.slice(self.pos..end);
        self.pos = end;
        Ok(b)
    }

    /// The next (field, value), `None` at the end marker.
    pub fn next_pair(&mut self) -> Result<Option<(Bytes, Bytes)>, RdbError> {
        if self.done {
            return Ok(None);
        }
        if le_uint(self.blob, self.pos, 1, WHAT)? == 0xFF {
            if self.pos != self.blob.len() - 1 {
                return Err(corrupt(WHAT, "end marker before the end"));
            }
            if self.declared.is_some_and(|n| n != self.seen) {
                return Err(corrupt(WHAT, "count byte does not match the pairs"));
            }
            self.done = true;
            return Ok(None);
        }
        let klen = self.len_at()?;
        let key = self.take(klen)?;
        let vlen = self.len_at()?;
        let free = le_uint(self.blob, self.pos, 1, WHAT)? as usize;
        self.pos += 1;
        let val = self.take(vlen)?;
        self.take(free)?;
        self.seen += 1;
        Ok(Some((key, val)))
    }
}

/// Test-only zipmap builder.
#[cfg(test)]
pub fn build(pairs: &[(&[u8], &[u8])], free: u8) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        if n < 254 {
            out.push(n as u8);
        } else {
            out.push(254);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
    let mut out = vec![pairs.len().min(254) as u8];
    for (k, v) in pairs {
        len(&mut out, k.len());
        out.extend_from_slice(k);
        len(&mut out, v.len());
        out.push(free);
        out.extend_from_slice(v);
        out.extend(std::iter::repeat_n(0, usize::from(free)));
    }
    out.push(0xFF);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(blob: Vec<u8>) -> Result<Vec<(Bytes, Bytes)>, RdbError> {
        let b = Bytes::from(blob);
        let mut z = Zipmap::new(&b)?;
        let mut v = Vec::new();
        while let Some(p) = z.next_pair()? {
            v.push(p);
        }
        Ok(v)
    }

    #[test]
    fn pairs_with_padding_and_long_values() {
        let long = vec![b'v'; 300];
        let got = all(build(&[(b"a", b"1"), (b"bb", &long)], 2)).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(&got[0].0[..], b"a");
        assert_eq!(&got[1].1[..], &long[..]);
    }

    #[test]
    fn rejects_corruption() {
        let good = build(&[(b"a", b"1")], 0);
        assert!(all(good.clone()).is_ok());
        let mut bad_count = good.clone();
        bad_count[0] = 2;
        assert!(all(bad_count).is_err());
        let mut long_key = good.clone();
        long_key[1] = 200;
        assert!(all(long_key).is_err());
        assert!(all(vec![]).is_err());
        assert!(all(vec![0, 1, b'a']).is_err());
        let mut no_end = good;
        no_end.pop();
        assert!(all(no_end).is_err());
    }
}
