//! Encoders for everything Strata writes into an RDB or a DUMP payload:
//! lengths, strings (INT / LZF forms), and the compact blobs Redis 7.0 keeps
//! small collections in (listpack, intset, quicklist nodes).
//!
//! A 7.0 replica loads these blobs as they are, so writing exactly Redis's
//! choices gives it exactly the encodings Redis itself would hold. All of this
//! works on in-memory buffers; the streaming file layout lives in `writer`.

pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod value;

pub use value::{dump_payload, encode_value, Value};

/// Encoding failures: values that would make a real loader reject or crash.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EncodeError {
    #[error("empty {0}: Redis never stores an empty collection")]
    Empty(&'static str),
    #[error("duplicate {0} in a collection")]
    Duplicate(&'static str),
    #[error("a sorted set score is NaN")]
    NanScore,
}

/// The size thresholds that decide Redis 7.0's compact encodings; defaults
/// are 7.0's config defaults, so replicas with stock configs keep them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Byte budget of one packed quicklist node (`list-max-listpack-size -2`).
    pub list_node_bytes: usize,
    /// Elements at least this long get a PLAIN quicklist node (7.0's
    /// `packed_threshold`, 1 GiB).
    pub list_plain_threshold: usize,
    pub set_max_intset_entries: usize,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            list_node_bytes: 8192,
            list_plain_threshold: 1 << 30,
            set_max_intset_entries: 512,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
        }
    }
}

/// How values are serialised (the `rdbcompression` switch and the limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeOptions {
    pub compress: bool,
    pub limits: Limits,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            compress: true,
            limits: Limits::default(),
        }
    }
}

/// Special-encoding prefixes of an RDB string (top two bits set).
const ENC_INT8: u8 = 0xC0;
const ENC_INT16: u8 = 0xC1;
const ENC_INT32: u8 = 0xC2;
const ENC_LZF: u8 = 0xC3;

/// Appends an RDB length: 6-bit, 14-bit big-endian, or 0x80/0x81 + u32/u64
/// big-endian.
pub fn put_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.push(0x40 | (len >> 8) as u8);
        out.push(len as u8);
    } else if len <= u64::from(u32::MAX) {
        out.push(0x80);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// The value of `s` when it is the canonical decimal form of an i64 (what
/// Redis's string2ll accepts and ll2string gives back unchanged).
pub fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    // Rejects "+1", "01", "-0" and the like, which parse but are not canonical.
    let mut buf = itoa::Buffer::new();
    (buf.format(v).as_bytes() == s).then_some(v)
}

/// The INT8/16/32 string encoding of `s`, when Redis would use one: short
/// canonical integers that fit 32 bits.
pub fn int_encoding(s: &[u8]) -> Option<([u8; 5], usize)> {
    if s.len() > 11 {
        return None;
    }
    let v = canonical_int(s)?;
    let mut b = [0u8; 5];
    if let Ok(x) = i8::try_from(v) {
        b[0] = ENC_INT8;
        b[1] = x as u8;
        Some((b, 2))
    } else if let Ok(x) = i16::try_from(v) {
        b[0] = ENC_INT16;
        b[1..3].copy_from_slice(&x.to_le_bytes());
        Some((b, 3))
    } else if let Ok(x) = i32::try_from(v) {
        b[0] = ENC_INT32;
        b[1..5].copy_from_slice(&x.to_le_bytes());
        Some((b, 5))
    } else {
        None
    }
}

/// The LZF form of a string (prefix + lengths + compressed data) when Redis
/// would write it: compression on, longer than 20 bytes, saving >= 4 bytes.
pub fn lzf_form(s: &[u8], compress: bool) -> Option<Vec<u8>> {
    if !compress || s.len() <= 20 {
        return None;
    }
    let packed = lzf::compress(s, s.len() - 4)?;
    let mut out = Vec::with_capacity(packed.len() + 11);
    out.push(ENC_LZF);
    put_len(&mut out, packed.len() as u64);
    put_len(&mut out, s.len() as u64);
    out.extend_from_slice(&packed);
    Some(out)
}

/// Appends an RDB string the way Redis 7.0's rdbSaveRawString does: INT
/// form, else LZF when it pays, else length + raw bytes.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if let Some((b, n)) = int_encoding(s) {
        out.extend_from_slice(&b[..n]);
    } else if let Some(z) = lzf_form(s, compress) {
        out.extend_from_slice(&z);
    } else {
        put_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// A score as Redis 7.0 prints it into a listpack (d2string): integers
/// within 2^52 plainly, otherwise `%.17g`; `inf`, `-inf`, `-0` spelled out.
pub fn format_score(v: f64) -> String {
    if v.is_nan() {
        return "nan".to_string();
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf" } else { "inf" }.to_string();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    if v > -4_503_599_627_370_495.0 && v < 4_503_599_627_370_496.0 && v == v.trunc() {
        return (v as i64).to_string();
    }
    format_g17(v)
}

/// C's `%.17g` for a finite non-zero double: 17 significant digits, trailing
/// zeros dropped, exponent form when the exponent is < -4 or >= 17.
fn format_g17(v: f64) -> String {
    let sci = format!("{v:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..17).contains(&exp) {
        let m = trim_fraction(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.unsigned_abs())
    } else {
        let decimals = (16 - exp) as usize;
        trim_fraction(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_bytes(s: &[u8], compress: bool) -> Vec<u8> {
        let mut out = Vec::new();
        put_string(&mut out, s, compress);
        out
    }

    #[test]
    fn lengths() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (63, &[0x3F]),
            (64, &[0x40, 0x40]),
            (16383, &[0x7F, 0xFF]),
            (16384, &[0x80, 0, 0, 0x40, 0]),
            (u64::from(u32::MAX), &[0x80, 0xFF, 0xFF, 0xFF, 0xFF]),
            (1 << 32, &[0x81, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (n, want) in cases {
            let mut out = Vec::new();
            put_len(&mut out, *n);
            assert_eq!(&out, want, "len {n}");
        }
    }

    #[test]
    fn int_strings() {
        // Reference: `SET cnt 12345` stores the value as C1 39 30.
        assert_eq!(string_bytes(b"12345", true), [0xC1, 0x39, 0x30]);
        assert_eq!(string_bytes(b"64", true), [0xC0, 0x40]);
        assert_eq!(string_bytes(b"0", true), [0xC0, 0x00]);
        assert_eq!(string_bytes(b"-128", true), [0xC0, 0x80]);
        assert_eq!(string_bytes(b"-129", true), [0xC1, 0x7F, 0xFF]);
        assert_eq!(string_bytes(b"127", true), [0xC0, 0x7F]);
        assert_eq!(string_bytes(b"128", true), [0xC1, 0x80, 0x00]);
        assert_eq!(string_bytes(b"32768", true), [0xC2, 0, 0x80, 0, 0]);
        assert_eq!(string_bytes(b"-2147483648", true), [0xC2, 0, 0, 0, 0x80]);
        // Out of 32-bit range, non-canonical, or too long: plain strings.
        for s in [
            &b"2147483648"[..],
            b"-2147483649",
            b"+1",
            b"01",
            b"-0",
            b" 1",
            b"1 ",
            b"",
            b"00000000001",
        ] {
            let mut want = vec![s.len() as u8];
            want.extend_from_slice(s);
            assert_eq!(string_bytes(s, true), want, "{:?}", s.escape_ascii());
        }
    }

    #[test]
    fn compression_rule() {
        // 20 bytes: never compressed, however repetitive.
        let s = [b'a'; 20];
        assert_eq!(string_bytes(&s, true)[0], 20);
        let s = [b'a'; 100];
        let enc = string_bytes(&s, true);
        assert_eq!(enc[0], ENC_LZF);
        assert!(enc.len() < 20);
        assert_eq!(string_bytes(&s, false)[..2], [0x40, 100]);
        // Incompressible: raw.
        let noise: Vec<u8> = (0u32..64)
            .map(|i| (i * 97 + 13) as u8 ^ (i >> 2) as u8)
            .collect();
        assert_eq!(string_bytes(&noise, true)[0], 64);
    }

    #[test]
    fn scores_like_d2string() {
        let cases: &[(f64, &str)] = &[
            (1.5, "1.5"),
            (0.1, "0.10000000000000001"),
            (-2.0, "-2"),
            (3.0, "3"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1e17, "1e+17"),
            (1.0 / 3.0, "0.33333333333333331"),
            (1e-5, "1.0000000000000001e-05"),
            (0.0001, "0.0001"),
            (4503599627370496.0, "4503599627370496"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (2.5e-300, "2.5e-300"),
            (12345.678, "12345.678"),
        ];
        for (v, want) in cases {
            assert_eq!(format_score(*v), *want, "{v:e}");
        }
    }
}
