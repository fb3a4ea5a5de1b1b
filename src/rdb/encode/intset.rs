//! Intset blobs: Redis 7.0's encoding for small sets whose members are all
//! canonical integers (RDB type 11).

use super::EncodeError;

/// Encodes the members as an intset: u32 LE width (2, 4 or 8, set by the
/// widest member), u32 LE count, then the members ascending, little-endian.
pub fn encode(members: &mut [i64]) -> Result<Vec<u8>, EncodeError> {
    if members.is_empty() {
        return Err(EncodeError::Empty("set"));
    }
    members.sort_unstable();
    if members.windows(2).any(|w| w[0] == w[1]) {
        return Err(EncodeError::Duplicate("set member"));
    }
    let width = members.iter().map(|&v| width_of(v)).max().unwrap_or(2);
    let mut out = Vec::with_capacity(8 + width * members.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(members.len() as u32).to_le_bytes());
    for &v in members.iter() {
        out.extend_from_slice(&v.to_le_bytes()[..width]);
    }
    Ok(out)
}

fn width_of(v: i64) -> usize {
    if i16::try_from(v).is_ok() {
        2
    } else if i32::try_from(v).is_ok() {
        4
    } else {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verified_example() {
        // Reference: intset {1,2,3} from real 7.0.15.
        assert_eq!(
            encode(&mut [3, 1, 2]).ok(),
            Some(vec![2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0])
        );
    }

    #[test]
    fn widths_and_errors() {
        let b = encode(&mut [-32768, 32767]).unwrap_or_default();
        assert_eq!(&b[..4], [2, 0, 0, 0]);
        let b = encode(&mut [40000, -1]).unwrap_or_default();
        assert_eq!(
            b,
            [4, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x40, 0x9C, 0, 0]
        );
        let b = encode(&mut [i64::MIN, 0]).unwrap_or_default();
        assert_eq!(&b[..8], [8, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(&b[8..16], i64::MIN.to_le_bytes());
        assert_eq!(encode(&mut []), Err(EncodeError::Empty("set")));
        assert_eq!(
            encode(&mut [5, 1, 5]),
            Err(EncodeError::Duplicate("set member"))
        );
    }
}
