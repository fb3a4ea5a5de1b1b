//! Number formats Redis uses on the wire and in stored values: strict
//! integer parsing (`string2ll`) and `%.17g` doubles. Shared by the protocol,
//! command and data-type layers, so it belongs to none of them.

/// Redis's `string2ll`: strict decimal, optional '-', no '+', no spaces, no leading zeros.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Formats a double as Redis 7.0's `addReplyDouble` does: `%.17g`, with
/// `inf`/`-inf` spelled out.
pub fn format_double(d: f64) -> String {
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    printf_g17(d)
}

/// C's `%.17g` of a double, through libc so every digit matches Redis.
pub fn printf_g17(d: f64) -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is 64 bytes, snprintf writes at most that many
    // (including the NUL), and the format consumes exactly one double.
    let n = unsafe {
        libc::snprintf(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%.17g".as_ptr(),
            d,
        )
    };
    let n = (n.max(0) as usize).min(buf.len() - 1);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}
