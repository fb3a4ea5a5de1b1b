//! Argument parsing shared by every command family, with Redis's error texts.

use super::CmdError;
use crate::resp::parse::parse_i64;

/// Case-insensitive comparison of an argument with an ASCII keyword.
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// A signed 64-bit integer (`ERR value is not an integer or out of range`).
pub fn int(arg: &[u8]) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// A double as Redis's `getDoubleFromObject` accepts it: `strtod` syntax,
/// no surrounding spaces, not NaN (`ERR value is not a valid float`).
pub fn float(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// `strtod`-compatible parsing: decimal and exponent forms, `inf`,
/// `infinity` (any case, optional sign), hex floats; rejects NaN and spaces.
pub fn parse_f64(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg[0].is_ascii_whitespace() || arg[arg.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let s = std::str::from_utf8(arg).ok()?;
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    if lower.len() - body.len() > 1 {
        return None;
    }
    let v = if body == "inf" || body == "infinity" {
        if lower.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    } else if body.starts_with("0x") {
        return None;
    } else {
        if body.starts_with("nan") || body.contains("inf") || body.contains('_') {
            return None;
        }
        s.parse::<f64>().ok()?
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// A database index valid for this server (`ERR DB index is out of range`).
pub fn db_index(arg: &[u8], databases: usize) -> Result<usize, CmdError> {
    let i = parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if i < 0 || i as usize >= databases {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(i as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_strtod() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"+Infinity"), Some(f64::INFINITY));
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b".5"), Some(0.5));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(parse_f64(b"1 "), None);
        assert_eq!(parse_f64(b"abc"), None);
        assert_eq!(parse_f64(b""), None);
    }
}
