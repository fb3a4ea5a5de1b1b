//! Intset walking: the encoding of small all-integer sets (type 11).
//!
//! Layout: u32 LE width (2, 4 or 8), u32 LE count, then count signed LE
//! integers of that width, strictly ascending (so no duplicates).

use super::{corrupt, le_uint, sign_extend};
use crate::rdb::reader::RdbError;

const WHAT: &str = "intset";

/// A cursor over an intset whose header has been checked against the blob.
pub struct Intset<'a> {
    blob: &'a [u8],
    width: usize,
    pos: usize,
    prev: Option<i64>,
}

impl<'a> Intset<'a> {
    /// Checks width, count and size; an empty intset is corrupt, as in Redis.
    pub fn new(blob: &'a [u8]) -> Result<Self, RdbError> {
        let width = le_uint(blob, 0, 4, WHAT)? as usize;
        if !matches!(width, 2 | 4 | 8) {
            return Err(corrupt(WHAT, format!("bad width {width}")));
        }
        let count = le_uint(blob, 4, 4, WHAT)?;
        if count == 0 {
            return Err(corrupt(WHAT, "empty"));
        }
        if 8 + count * width as u64 != blob.len() as u64 {
            return Err(corrupt(
                WHAT,
                format!("{count} x {width} bytes do not fill {} bytes", blob.len()),
            ));
        }
        Ok(Self {
            blob,
            width,
            pos: 8,
            prev: None,
        })
    }

    /// The next integer, `None` at the end; checks the ascending order.
    pub fn next_int(&mut self) -> Result<Option<i64>, RdbError> {
        if self.pos >= self.blob.len() {
            return Ok(None);
        }
        let v = sign_extend(
            le_uint(self.blob, self.pos, self.width, WHAT)?,
            8 * self.width as u32,
        );
        if self.prev.is_some_and(|p| p >= v) {
            return Err(corrupt(WHAT, "not strictly ascending"));
        }
        self.prev = Some(v);
        self.pos += self.width;
        Ok(Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(blob: &[u8]) -> Result<Vec<i64>, RdbError> {
        let mut s = Intset::new(blob)?;
        let mut v = Vec::new();
        while let Some(i) = s.next_int()? {
            v.push(i);
        }
        Ok(v)
    }

    #[test]
    fn verified_redis_bytes_and_widths() {
        // {1,2,3} from a real 7.0 RDB (reference doc 2.3).
        let blob = [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0];
        assert_eq!(all(&blob).unwrap(), vec![1, 2, 3]);
        let mut w8 = vec![8, 0, 0, 0, 2, 0, 0, 0];
        w8.extend_from_slice(&(-5i64).to_le_bytes());
        w8.extend_from_slice(&(1i64 << 40).to_le_bytes());
        assert_eq!(all(&w8).unwrap(), vec![-5, 1 << 40]);
    }

    #[test]
    fn rejects_corruption() {
        assert!(all(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0]).is_err()); // width 3
        assert!(all(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err()); // empty
        assert!(all(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err()); // short
        assert!(all(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0]).is_err()); // duplicate
        assert!(all(&[2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).is_err()); // huge count
        assert!(all(&[2, 0, 0]).is_err());
    }
}
