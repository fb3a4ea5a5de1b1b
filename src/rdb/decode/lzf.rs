//! LZF decompression: Redis compresses long strings (and whole encoded blobs)
//! with LZF when that saves space, and the format is small enough to decode
//! here rather than take a dependency.

use super::corrupt;
use crate::rdb::reader::RdbError;

/// Most output one input byte can produce: a 3-byte back-reference copies at
/// most 264 bytes. Used to refuse a declared size no input could reach before
/// allocating for it.
pub const MAX_RATIO: u64 = 88;

/// Decompresses `input`, which must produce exactly `out_len` bytes. The
/// caller bounds `out_len` (by the string limit and by `MAX_RATIO`).
pub fn decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, RdbError> {
    const WHAT: &str = "LZF string";
    let mut out = Vec::with_capacity(out_len);
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            // A run of ctrl+1 literal bytes.
            let n = ctrl + 1;
            let lit = input
                .get(i..i + n)
                .ok_or_else(|| corrupt(WHAT, "literal run past the input"))?;
            if out.len() + n > out_len {
                return Err(corrupt(WHAT, "output longer than declared"));
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            // A back-reference: length in the top 3 bits (7 = extended by a
            // byte), distance in the low 5 bits plus the next byte.
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(
                    *input
                        .get(i)
                        .ok_or_else(|| corrupt(WHAT, "truncated reference"))?,
                );
                i += 1;
            }
            let lo = usize::from(
                *input
                    .get(i)
                    .ok_or_else(|| corrupt(WHAT, "truncated reference"))?,
            );
            i += 1;
            let back = ((ctrl & 0x1f) << 8) + lo + 1;
            if back > out.len() {
                return Err(corrupt(WHAT, "reference before the start of the output"));
            }
            len += 2;
            if out.len() + len > out_len {
                return Err(corrupt(WHAT, "output longer than declared"));
            }
            // Byte by byte: the source may overlap what is being written.
            let start = out.len() - back;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != out_len {
        return Err(corrupt(
            WHAT,
            format!("produced {} bytes, declared {out_len}", out.len()),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_overlapping_reference() {
        // "abc" literal, then a reference of length 7 at distance 3: "abcabcabca".
        let input = [2, b'a', b'b', b'c', (5 << 5), 2];
        assert_eq!(decompress(&input, 10).unwrap(), b"abcabcabca");
    }

    #[test]
    fn extended_length_reference() {
        // "x", then a 7+3+2 = 12 byte run copying the previous byte.
        let input = [0, b'x', (7 << 5), 3, 0];
        assert_eq!(decompress(&input, 13).unwrap(), vec![b'x'; 13]);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(decompress(&[5, b'a'], 6).is_err()); // literal past input
        assert!(decompress(&[0, b'a', (1 << 5), 5], 4).is_err()); // distance too far
        assert!(decompress(&[0, b'a'], 2).is_err()); // short output
        assert!(decompress(&[1, b'a', b'b'], 1).is_err()); // long output
        assert!(decompress(&[0, b'a', 0xE0], 20).is_err()); // truncated reference
    }
}
