//! An LZF compressor, for RDB strings Redis would store compressed
//! (`rdbcompression yes`). Any valid LZF stream loads; matching Redis's exact
//! bytes is not needed, so this is a plain greedy matcher over 3-byte
//! prefixes.
//!
//! Stream format: a control byte below 32 starts a literal run of ctrl+1
//! bytes; otherwise it is a back-reference of `ctrl >> 5` (7 means an extra
//! length byte follows) plus 2 bytes, at distance `((ctrl & 0x1f) << 8 |
//! next byte) + 1` back in the output.

const MAX_LITERAL: usize = 32;
const MAX_DISTANCE: usize = 1 << 13;
const MAX_MATCH: usize = 7 + 255 + 2;
const HASH_BITS: u32 = 14;

/// Compresses `input`; `None` when the result would exceed `max_out` bytes
/// (or the input is too short to bother).
pub fn compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n < 4 {
        return None;
    }
    let mut out = Vec::with_capacity(max_out.min(n));
    // Positions + 1 of the latest occurrence of each 3-byte prefix hash.
    let mut table = vec![0u32; 1 << HASH_BITS];
    let mut lit_start = 0;
    let mut i = 0;
    while i + 3 <= n {
        let h = hash(&input[i..i + 3]);
        let cand = table[h] as usize;
        table[h] = (i + 1) as u32;
        if cand > 0 {
            let c = cand - 1;
            let dist = i - c;
            if dist <= MAX_DISTANCE && input[c..c + 3] == input[i..i + 3] {
                let limit = MAX_MATCH.min(n - i);
                let mut len = 3;
                while len < limit && input[c + len] == input[i + len] {
                    len += 1;
                }
                put_literals(&mut out, &input[lit_start..i]);
                put_backref(&mut out, len, dist - 1);
                if out.len() > max_out {
                    return None;
                }
                // Index the matched positions too, so later repeats find them.
                for p in i + 1..(i + len).min(n.saturating_sub(2)) {
                    table[hash(&input[p..p + 3])] = (p + 1) as u32;
                }
                i += len;
                lit_start = i;
                continue;
            }
        }
        i += 1;
    }
    put_literals(&mut out, &input[lit_start..]);
    (out.len() <= max_out).then_some(out)
}

fn hash(b: &[u8]) -> usize {
    let v = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

fn put_literals(out: &mut Vec<u8>, mut lit: &[u8]) {
    while !lit.is_empty() {
        let take = lit.len().min(MAX_LITERAL);
        out.push((take - 1) as u8);
        out.extend_from_slice(&lit[..take]);
        lit = &lit[take..];
    }
}

/// `len` >= 3 bytes copied from `off + 1` bytes back.
fn put_backref(out: &mut Vec<u8>, len: usize, off: usize) {
    let l = len - 2;
    let hi = (off >> 8) as u8;
    if l < 7 {
        out.push((l as u8) << 5 | hi);
    } else {
        out.push(7 << 5 | hi);
        out.push((l - 7) as u8);
    }
    out.push(off as u8);
}

/// Test-only decoder (the real one belongs to the reader), to check that
/// every stream round-trips.
#[cfg(test)]
pub(crate) fn decompress(input: &[u8], expect: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(expect);
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            out.extend_from_slice(input.get(i..i + ctrl + 1)?);
            i += ctrl + 1;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let back = ((ctrl & 0x1F) << 8 | *input.get(i)? as usize) + 1;
            i += 1;
            let from = out.len().checked_sub(back)?;
            for k in 0..len + 2 {
                out.push(out[from + k]);
            }
        }
    }
    (out.len() == expect).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) -> Option<usize> {
        let z = compress(data, data.len() + data.len() / 16 + 64)?;
        assert_eq!(decompress(&z, data.len()).as_deref(), Some(data));
        Some(z.len())
    }

    #[test]
    fn round_trips() {
        assert_eq!(roundtrip(&[b'a'; 100]), Some(5));
        let text = b"the quick brown fox jumps over the lazy dog; ".repeat(50);
        assert!(roundtrip(&text).is_some_and(|n| n < text.len() / 5));
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: Vec<u8> = (0..10_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        roundtrip(&noise);
        // Long runs and matches at the maximum distance.
        let mut far = noise[..MAX_DISTANCE].to_vec();
        far.extend_from_slice(&noise[..300]);
        assert!(roundtrip(&far).is_some());
        roundtrip(&[0u8; 70000]);
    }

    #[test]
    fn gives_up_past_the_limit() {
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz", 22), None);
        assert!(compress(&[b'z'; 40], 36).is_some());
    }
}
