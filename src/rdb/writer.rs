//! Streaming RDB writer: what Strata sends a real Redis 7.0 replica at a full
//! resynchronisation, written from an engine snapshot key by key.
//!
//! Nothing here holds more than one value: big collections go out element by
//! element in Redis's plain forms (the count is declared up front, as the
//! format needs), small ones whole in the compact encodings Redis itself
//! would use. The CRC-64 runs over every byte as it passes.

use std::io::{self, Write};

use super::encode::{
    encode_value, int_encoding, lzf_form, put_len, put_string, EncodeError, EncodeOptions, Value,
};
use super::{crc64, kind, opcode, RDB_VERSION};

/// Writes are batched up to this many bytes; larger values go straight out.
const BUFFER: usize = 64 * 1024;

/// The collection shapes that can be streamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    List,
    Set,
    Hash,
    ZSet,
}

/// Why a write failed. An `Encode` error from [`RdbWriter::value`] or a
/// NaN score is raised before any byte goes out; any other error leaves the
/// stream unusable.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("RDB write failed: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("{kind:?} declared {declared} elements but {written} were written")]
    CountMismatch {
        kind: Collection,
        declared: u64,
        written: u64,
    },
    #[error("{got:?} element written while {open:?} is open")]
    WrongCollection { open: Collection, got: Collection },
    #[error("{0:?} element written with no collection open")]
    NotOpen(Collection),
    #[error("a streamed collection needs at least one element")]
    EmptyCollection,
}

/// A collection being streamed: its declared size and progress.
#[derive(Debug)]
struct Open {
    kind: Collection,
    declared: u64,
    written: u64,
}

/// An RDB being written to `W`, with a running CRC-64.
pub struct RdbWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    crc: u64,
    written: u64,
    opts: EncodeOptions,
    checksum: bool,
    open: Option<Open>,
}

impl<W: Write> RdbWriter<W> {
    /// A writer with Redis's defaults: compression and checksum on, 7.0's
    /// encoding thresholds.
    pub fn new(out: W) -> RdbWriter<W> {
        RdbWriter::with_options(out, EncodeOptions::default(), true)
    }

    /// `checksum = false` writes a zero CRC, as `rdbchecksum no` does.
    pub fn with_options(out: W, opts: EncodeOptions, checksum: bool) -> RdbWriter<W> {
        RdbWriter {
            out,
            buf: Vec::with_capacity(BUFFER),
            crc: 0,
            written: 0,
            opts,
            checksum,
            open: None,
        }
    }

    /// Bytes written so far (buffered or not).
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// `REDIS0010`.
    pub fn header(&mut self) -> Result<(), WriteError> {
        self.close()?;
        let magic = format!("REDIS{RDB_VERSION:04}");
        self.put(magic.as_bytes())
    }

    /// One AUX field; integer-looking values are INT-encoded as Redis does.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<(), WriteError> {
        self.close()?;
        self.put(&[opcode::AUX])?;
        self.string_obj(key)?;
        self.string_obj(value)
    }

    /// The AUX fields 7.0 writes, in its order. `repl` is (stream db,
    /// replication id, offset), written for replicas.
    pub fn aux_fields(
        &mut self,
        redis_ver: &str,
        ctime: i64,
        used_mem: u64,
        repl: Option<(u32, &str, i64)>,
    ) -> Result<(), WriteError> {
        self.aux(b"redis-ver", redis_ver.as_bytes())?;
        self.aux(b"redis-bits", b"64")?;
        self.aux(b"ctime", ctime.to_string().as_bytes())?;
        self.aux(b"used-mem", used_mem.to_string().as_bytes())?;
        if let Some((db, id, offset)) = repl {
            self.aux(b"repl-stream-db", db.to_string().as_bytes())?;
            self.aux(b"repl-id", id.as_bytes())?;
            self.aux(b"repl-offset", offset.to_string().as_bytes())?;
        }
        self.aux(b"aof-base", b"0")
    }

    /// A function library (its source code), as FUNCTION2.
    pub fn function(&mut self, code: &[u8]) -> Result<(), WriteError> {
        self.close()?;
        self.put(&[opcode::FUNCTION2])?;
        self.string_obj(code)
    }

    /// Starts database `db`; the replica must have at least `db + 1`.
    pub fn select_db(&mut self, db: u64) -> Result<(), WriteError> {
        self.close()?;
        let mut b = vec![opcode::SELECTDB];
        put_len(&mut b, db);
        self.put(&b)
    }

    /// Size hints for the current database (keys, keys with a TTL).
    pub fn resize_db(&mut self, db_size: u64, expires_size: u64) -> Result<(), WriteError> {
        self.close()?;
        let mut b = vec![opcode::RESIZEDB];
        put_len(&mut b, db_size);
        put_len(&mut b, expires_size);
        self.put(&b)
    }

    /// A string key. `expire_ms` is an absolute unix time in milliseconds.
    pub fn string(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        value: &[u8],
    ) -> Result<(), WriteError> {
        self.entry(key, expire_ms, kind::STRING)?;
        self.string_obj(value)
    }

    /// A whole value held in memory, in the encoding Redis 7.0 would choose
    /// for it (listpack / intset / quicklist when small).
    pub fn value(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        value: &Value<'_>,
    ) -> Result<(), WriteError> {
        if let Value::String(s) = value {
            return self.string(key, expire_ms, s);
        }
        let mut body = Vec::new();
        let t = encode_value(&mut body, value, &self.opts)?;
        self.entry(key, expire_ms, t)?;
        self.put(&body)
    }

    /// Starts a list of exactly `len` elements, sent with [`list_item`](Self::list_item).
    pub fn begin_list(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        len: u64,
    ) -> Result<(), WriteError> {
        self.begin(key, expire_ms, len, Collection::List, kind::LIST)
    }

    pub fn list_item(&mut self, item: &[u8]) -> Result<(), WriteError> {
        self.element(Collection::List)?;
        self.string_obj(item)
    }

    /// Starts a set of exactly `len` distinct members.
    pub fn begin_set(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        len: u64,
    ) -> Result<(), WriteError> {
        self.begin(key, expire_ms, len, Collection::Set, kind::SET)
    }

    pub fn set_member(&mut self, member: &[u8]) -> Result<(), WriteError> {
        self.element(Collection::Set)?;
        self.string_obj(member)
    }

    /// Starts a hash of exactly `len` distinct fields.
    pub fn begin_hash(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        len: u64,
    ) -> Result<(), WriteError> {
        self.begin(key, expire_ms, len, Collection::Hash, kind::HASH)
    }

    pub fn hash_field(&mut self, field: &[u8], value: &[u8]) -> Result<(), WriteError> {
        self.element(Collection::Hash)?;
        self.string_obj(field)?;
        self.string_obj(value)
    }

    /// Starts a sorted set of exactly `len` distinct members (ZSET_2, any
    /// order; the loader sorts).
    pub fn begin_zset(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        len: u64,
    ) -> Result<(), WriteError> {
        self.begin(key, expire_ms, len, Collection::ZSet, kind::ZSET_2)
    }

    pub fn zset_member(&mut self, member: &[u8], score: f64) -> Result<(), WriteError> {
        if score.is_nan() {
            return Err(EncodeError::NanScore.into());
        }
        self.element(Collection::ZSet)?;
        self.string_obj(member)?;
        self.put(&score.to_le_bytes())
    }

    /// Checks that the open collection (if any) got all its elements. Done
    /// implicitly by every later call; explicit calls report it earlier.
    pub fn end_collection(&mut self) -> Result<(), WriteError> {
        self.close()
    }

    /// EOF and the checksum; returns the inner writer, flushed.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.close()?;
        self.put(&[opcode::EOF])?;
        let crc = if self.checksum { self.crc } else { 0 };
        self.put(&crc.to_le_bytes())?;
        self.flush_buf()?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn begin(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        len: u64,
        coll: Collection,
        type_byte: u8,
    ) -> Result<(), WriteError> {
        if len == 0 {
            return Err(WriteError::EmptyCollection);
        }
        self.entry(key, expire_ms, type_byte)?;
        let mut b = Vec::with_capacity(9);
        put_len(&mut b, len);
        self.put(&b)?;
        self.open = Some(Open {
            kind: coll,
            declared: len,
            written: 0,
        });
        Ok(())
    }

    /// Counts one element of `coll` against the open collection.
    fn element(&mut self, coll: Collection) -> Result<(), WriteError> {
        let open = self.open.as_mut().ok_or(WriteError::NotOpen(coll))?;
        if open.kind != coll {
            return Err(WriteError::WrongCollection {
                open: open.kind,
                got: coll,
            });
        }
        if open.written == open.declared {
            return Err(WriteError::CountMismatch {
                kind: coll,
                declared: open.declared,
                written: open.written + 1,
            });
        }
        open.written += 1;
        Ok(())
    }

    /// Ends the open collection, which must be complete.
    fn close(&mut self) -> Result<(), WriteError> {
        match self.open.take() {
            Some(o) if o.written != o.declared => Err(WriteError::CountMismatch {
                kind: o.kind,
                declared: o.declared,
                written: o.written,
            }),
            _ => Ok(()),
        }
    }

    /// Expiry, type byte and key of a new entry.
    fn entry(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        type_byte: u8,
    ) -> Result<(), WriteError> {
        self.close()?;
        let mut b = Vec::with_capacity(10);
        if let Some(ms) = expire_ms {
            b.push(opcode::EXPIRETIME_MS);
            b.extend_from_slice(&ms.to_le_bytes());
        }
        b.push(type_byte);
        self.put(&b)?;
        self.string_obj(key)
    }

    /// An RDB string; a long raw one goes out without a copy.
    fn string_obj(&mut self, s: &[u8]) -> Result<(), WriteError> {
        if int_encoding(s).is_some() || s.len() < 64 {
            let mut b = Vec::with_capacity(s.len() + 9);
            put_string(&mut b, s, self.opts.compress);
            return self.put(&b);
        }
        if let Some(z) = lzf_form(s, self.opts.compress) {
            return self.put(&z);
        }
        let mut b = Vec::with_capacity(9);
        put_len(&mut b, s.len() as u64);
        self.put(&b)?;
        self.put(s)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.crc = crc64(self.crc, bytes);
        self.written += bytes.len() as u64;
        if self.buf.len() + bytes.len() > BUFFER {
            self.flush_buf()?;
            if bytes.len() >= BUFFER {
                self.out.write_all(bytes)?;
                return Ok(());
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn flush_buf(&mut self) -> Result<(), WriteError> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdb(f: impl FnOnce(&mut RdbWriter<Vec<u8>>) -> Result<(), WriteError>) -> Vec<u8> {
        let mut w = RdbWriter::new(Vec::new());
        let r = w.header().and_then(|_| f(&mut w));
        assert!(r.is_ok(), "{r:?}");
        w.finish().unwrap_or_default()
    }

    #[test]
    fn verified_header_layout() {
        let id = "8f1c2b3a4d5e6f708192a3b4c5d6e7f809a1b2c3";
        let b = rdb(|w| {
            w.aux_fields("7.0.15", 1_700_000_000, 1_000_000, Some((0, id, 14)))?;
            w.select_db(0)?;
            w.resize_db(6, 1)
        });
        let mut want = b"REDIS0010".to_vec();
        want.extend_from_slice(b"\xFA\x09redis-ver\x067.0.15\xFA\x0Aredis-bits\xC0\x40");
        want.extend_from_slice(b"\xFA\x05ctime\xC2");
        want.extend_from_slice(&1_700_000_000i32.to_le_bytes());
        want.extend_from_slice(b"\xFA\x08used-mem\xC2");
        want.extend_from_slice(&1_000_000i32.to_le_bytes());
        want.extend_from_slice(b"\xFA\x0Erepl-stream-db\xC0\x00\xFA\x07repl-id\x28");
        want.extend_from_slice(id.as_bytes());
        want.extend_from_slice(b"\xFA\x0Brepl-offset\xC0\x0E\xFA\x08aof-base\xC0\x00");
        want.extend_from_slice(b"\xFE\x00\xFB\x06\x01\xFF");
        let crc = crc64(0, &want);
        want.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(b, want);
    }

    #[test]
    fn entries() {
        let b = rdb(|w| w.string(b"cnt", Some(0x0102), b"12345"));
        assert_eq!(
            &b[9..b.len() - 9],
            b"\xFC\x02\x01\0\0\0\0\0\0\x00\x03cnt\xC1\x39\x30"
        );
        let b = rdb(|w| {
            w.begin_zset(b"z", None, 1)?;
            w.zset_member(b"m", 2.5)
        });
        let mut want = b"\x05\x01z\x01\x01m".to_vec();
        want.extend_from_slice(&2.5f64.to_le_bytes());
        assert_eq!(&b[9..b.len() - 9], want);
    }

    #[test]
    fn counts_are_enforced() {
        let mut w = RdbWriter::new(Vec::new());
        assert!(w.begin_list(b"l", None, 2).is_ok());
        assert!(w.list_item(b"a").is_ok());
        assert!(matches!(
            w.set_member(b"x"),
            Err(WriteError::WrongCollection { .. })
        ));
        assert!(matches!(
            w.string(b"k", None, b"v"),
            Err(WriteError::CountMismatch {
                declared: 2,
                written: 1,
                ..
            })
        ));
        let mut w = RdbWriter::new(Vec::new());
        assert!(w.begin_hash(b"h", None, 1).is_ok());
        assert!(w.hash_field(b"f", b"v").is_ok());
        assert!(matches!(
            w.hash_field(b"g", b"v"),
            Err(WriteError::CountMismatch { written: 2, .. })
        ));
        let mut w = RdbWriter::new(Vec::new());
        assert!(matches!(w.list_item(b"a"), Err(WriteError::NotOpen(_))));
        assert!(matches!(
            w.begin_set(b"s", None, 0),
            Err(WriteError::EmptyCollection)
        ));
        assert!(w.begin_set(b"s", None, 3).is_ok());
        assert!(matches!(w.finish(), Err(WriteError::CountMismatch { .. })));
    }

    #[test]
    fn checksum_off_writes_zeros() {
        let mut w = RdbWriter::with_options(Vec::new(), EncodeOptions::default(), false);
        assert!(w.header().is_ok());
        let b = w.finish().unwrap_or_default();
        assert_eq!(b, b"REDIS0010\xFF\0\0\0\0\0\0\0\0");
    }

    #[test]
    fn big_values_stream_through() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let opts = EncodeOptions {
            compress: false,
            ..EncodeOptions::default()
        };
        let mut w = RdbWriter::with_options(Vec::new(), opts, true);
        assert!(w.header().is_ok());
        assert!(w.string(b"k", None, &big).is_ok());
        assert_eq!(w.bytes_written(), 9 + 1 + 2 + 5 + 300_000);
        let b = w.finish().unwrap_or_default();
        assert_eq!(&b[17..17 + 300_000], &big[..]);
        let n = b.len();
        assert_eq!(b[n - 8..], crc64(0, &b[..n - 8]).to_le_bytes());
    }
}
