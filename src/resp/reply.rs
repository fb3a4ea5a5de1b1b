//! Replies and their encoding in RESP2 or RESP3.
//!
//! Command handlers build a [`Reply`]; the connection encodes it for the
//! protocol version the client negotiated with HELLO. RESP3-only shapes
//! (maps, sets, doubles, booleans, null) degrade to their RESP2 forms exactly
//! as Redis 7.0 degrades them.

use bytes::{BufMut, Bytes, BytesMut};

use crate::packed::PackedValues;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RespVersion {
    #[default]
    Resp2,
    Resp3,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`
    Ok,
    /// A status line such as `+PONG`.
    Status(Bytes),
    /// A complete error line without the leading `-`, e.g. `ERR syntax error`.
    Error(String),
    Integer(i64),
    Bulk(Bytes),
    /// The null bulk (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    Array(Vec<Reply>),
    /// An array of bulk strings, written straight from one buffer.
    Bulks(PackedValues),
    /// A map in RESP3; a flat array of key, value, ... in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// A set in RESP3; an array in RESP2.
    Set(Vec<Reply>),
    /// A double in RESP3 (`,1.5`); a bulk string in RESP2, formatted as Redis 7.0 does (`%.17g`).
    Double(f64),
    /// `#t`/`#f` in RESP3; `:1`/`:0` in RESP2.
    Bool(bool),
    /// A verbatim string (`=`) in RESP3 with its 3-letter format; a bulk in RESP2.
    Verbatim(&'static str, Bytes),
    /// Out-of-band push data (`>` in RESP3, an array in RESP2).
    Push(Vec<Reply>),
    /// Bytes already encoded as RESP, written as they are.
    Raw(Bytes),
}

impl Reply {
    pub fn status(s: &'static str) -> Reply {
        Reply::Status(Bytes::from_static(s.as_bytes()))
    }
    pub fn bulk(b: impl Into<Bytes>) -> Reply {
        Reply::Bulk(b.into())
    }
    pub fn bulk_str(s: &str) -> Reply {
        Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
    }
    pub fn error(msg: impl Into<String>) -> Reply {
        Reply::Error(msg.into())
    }
    pub fn opt_bulk(b: Option<impl Into<Bytes>>) -> Reply {
        b.map_or(Reply::Nil, |b| Reply::Bulk(b.into()))
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    pub fn encode(&self, v: RespVersion, out: &mut BytesMut) {
        match self {
            Reply::Ok => out.put_slice(b"+OK\r\n"),
            Reply::Status(s) => line(out, b'+', s),
            Reply::Error(e) => {
                // An error line cannot contain CR or LF (Redis replaces them).
                out.put_u8(b'-');
                out.extend(
                    e.bytes()
                        .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
                );
                out.put_slice(b"\r\n");
            }
            Reply::Integer(i) => int_line(out, b':', *i),
            Reply::Bulk(b) => bulk(out, b),
            Reply::Nil => out.put_slice(if v == RespVersion::Resp3 {
                b"_\r\n"
            } else {
                b"$-1\r\n"
            }),
            Reply::NilArray => out.put_slice(if v == RespVersion::Resp3 {
                b"_\r\n"
            } else {
                b"*-1\r\n"
            }),
            Reply::Array(items) => {
                int_line(out, b'*', items.len() as i64);
                for i in items {
                    i.encode(v, out);
                }
            }
            Reply::Bulks(values) => {
                int_line(out, b'*', values.len() as i64);
                // Each value adds at most a `$`, a length and two CRLFs.
                out.reserve(values.total_bytes() + values.len() * 16);
                for value in values.iter() {
                    bulk(out, value);
                }
            }
            Reply::Map(pairs) => {
                if v == RespVersion::Resp3 {
                    int_line(out, b'%', pairs.len() as i64);
                } else {
                    int_line(out, b'*', 2 * pairs.len() as i64);
                }
                for (k, val) in pairs {
                    k.encode(v, out);
                    val.encode(v, out);
                }
            }
            Reply::Set(items) => {
                int_line(
                    out,
                    if v == RespVersion::Resp3 { b'~' } else { b'*' },
                    items.len() as i64,
                );
                for i in items {
                    i.encode(v, out);
                }
            }
            Reply::Push(items) => {
                int_line(
                    out,
                    if v == RespVersion::Resp3 { b'>' } else { b'*' },
                    items.len() as i64,
                );
                for i in items {
                    i.encode(v, out);
                }
            }
            Reply::Double(d) => {
                let s = format_double(*d);
                if v == RespVersion::Resp3 {
                    line(out, b',', s.as_bytes());
                } else {
                    bulk(out, s.as_bytes());
                }
            }
            Reply::Bool(b) => match v {
                RespVersion::Resp3 => out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" }),
                RespVersion::Resp2 => out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" }),
            },
            Reply::Verbatim(fmt, b) => {
                if v == RespVersion::Resp3 {
                    int_line(out, b'=', b.len() as i64 + 4);
                    out.put_slice(fmt.as_bytes());
                    out.put_u8(b':');
                    out.put_slice(b);
                    out.put_slice(b"\r\n");
                } else {
                    bulk(out, b);
                }
            }
            Reply::Raw(b) => out.put_slice(b),
        }
    }

    pub fn to_bytes(&self, v: RespVersion) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(v, &mut out);
        out.freeze()
    }
}

fn line(out: &mut BytesMut, prefix: u8, s: &[u8]) {
    out.put_u8(prefix);
    out.put_slice(s);
    out.put_slice(b"\r\n");
}

fn int_line(out: &mut BytesMut, prefix: u8, i: i64) {
    let mut b = itoa::Buffer::new();
    line(out, prefix, b.format(i).as_bytes());
}

fn bulk(out: &mut BytesMut, b: &[u8]) {
    int_line(out, b'$', b.len() as i64);
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

pub use crate::num::{format_double, printf_g17};

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(r: Reply, v: RespVersion) -> Vec<u8> {
        r.to_bytes(v).to_vec()
    }

    #[test]
    fn resp2_and_resp3_shapes() {
        use RespVersion::*;
        assert_eq!(enc(Reply::Nil, Resp2), b"$-1\r\n");
        assert_eq!(enc(Reply::Nil, Resp3), b"_\r\n");
        let m = Reply::Map(vec![(Reply::bulk_str("a"), Reply::Integer(1))]);
        assert_eq!(enc(m.clone(), Resp2), b"*2\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(m, Resp3), b"%1\r\n$1\r\na\r\n:1\r\n");
        assert_eq!(enc(Reply::Double(1.5), Resp2), b"$3\r\n1.5\r\n");
        assert_eq!(enc(Reply::Double(0.1), Resp3), b",0.10000000000000001\r\n");
        assert_eq!(enc(Reply::Double(f64::NEG_INFINITY), Resp3), b",-inf\r\n");
        assert_eq!(enc(Reply::Bool(true), Resp2), b":1\r\n");
        assert_eq!(enc(Reply::error("ERR a\r\nb"), Resp2), b"-ERR a  b\r\n");
        assert_eq!(
            enc(Reply::Verbatim("txt", Bytes::from_static(b"hi")), Resp3),
            b"=6\r\ntxt:hi\r\n"
        );
    }

    #[test]
    fn packed_bulks_encode_as_an_array_of_bulks() {
        let values = [&b"a"[..], b"", b"0123456789abcdef"];
        let mut packed = crate::packed::PackedBuilder::default();
        values.iter().for_each(|v| packed.push(v));
        let packed = packed.finish();
        for v in [RespVersion::Resp2, RespVersion::Resp3] {
            let array = Reply::Array(
                values
                    .iter()
                    .map(|x| Reply::Bulk(Bytes::copy_from_slice(x)))
                    .collect(),
            );
            assert_eq!(enc(Reply::Bulks(packed.clone()), v), enc(array, v));
        }
        assert_eq!(
            enc(Reply::Bulks(packed), RespVersion::Resp2),
            b"*3\r\n$1\r\na\r\n$0\r\n\r\n$16\r\n0123456789abcdef\r\n"
        );
        assert_eq!(
            enc(Reply::Bulks(Default::default()), RespVersion::Resp3),
            b"*0\r\n"
        );
    }

    #[test]
    fn double_formatting_matches_printf() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(1e100), "1e+100");
        assert_eq!(format_double(0.1), "0.10000000000000001");
        assert_eq!(format_double(-0.0), "-0");
    }
}
