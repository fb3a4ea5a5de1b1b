//! Streaming RDB reader: turns the bytes of an RDB file (a master's full
//! resynchronisation payload, or a DUMP payload) into visitor callbacks.
//!
//! It pushes rather than builds: a collection is delivered in bounded chunks,
//! so a replica can load a many-gigabyte snapshot without holding any key
//! whole (only strings, single encoded blobs and streams are held entire, as
//! Redis itself holds them). It never reads past the 8-byte trailer, so the
//! replication stream that follows on the same socket stays intact; give it
//! a buffered reader, since it reads in small pieces.
//!
//! Every length from the input is checked against the configured [`Limits`]
//! and against the bytes that actually arrive; nothing is pre-allocated from
//! an untrusted length. Anything malformed is an [`RdbError`], never a panic.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, Read};

use bytes::Bytes;
use thiserror::Error;

use super::decode::intset::Intset;
use super::decode::listpack::Listpack;
use super::decode::source::{at_offset, Source};
use super::decode::ziplist::Ziplist;
use super::decode::zipmap::Zipmap;
use super::decode::ElemSource;
use super::stream::{self, Stream};
use super::{crc64, kind, opcode, RDB_MAX_READ_VERSION};

/// Everything that can go wrong reading an RDB. Messages follow Redis's log
/// lines where Redis has one.
#[derive(Debug, Error)]
pub enum RdbError {
    #[error("I/O error reading RDB: {0}")]
    Io(#[from] io::Error),
    /// The input ended inside the RDB (Redis: "Short read or OOM loading DB").
    #[error("Short read loading RDB: input ended at byte {offset}")]
    Truncated { offset: u64 },
    #[error("Wrong signature trying to load DB from file")]
    BadSignature,
    #[error("Can't handle RDB format version {0}")]
    BadVersion(u32),
    /// Malformed content: what was wrong, and where when known.
    #[error("Internal error in RDB reading: {0}")]
    Corrupt(String),
    /// `expected` is the checksum stored in the file, `got` the one computed.
    #[error("Wrong RDB checksum: file says {expected:#018x}, computed {got:#018x}")]
    ChecksumMismatch { expected: u64, got: u64 },
    #[error("The RDB file contains module data I can't load: no matching module '{name}'")]
    Module { name: String },
    #[error("RDB {what} of {len} exceeds the limit of {limit}")]
    LimitExceeded {
        what: &'static str,
        len: u64,
        limit: u64,
    },
    #[error("Unknown RDB encoding type {0}")]
    UnknownType(u8),
    #[error("Unsupported RDB content: {0}")]
    Unsupported(&'static str),
    /// A DUMP payload holding an empty collection (Redis: "Bad data format").
    #[error("Bad data format: empty collection")]
    EmptyKey,
    /// A DUMP payload whose footer is wrong. RESTORE replies exactly
    /// "ERR DUMP payload version or checksum are wrong"; every other error
    /// from [`read_dump_payload`] maps to "ERR Bad data format".
    #[error("DUMP payload version or checksum are wrong")]
    BadDumpPayload,
    /// An error a visitor callback returned, passed through unchanged.
    #[error("RDB visitor: {0}")]
    Visitor(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Bounds on what hostile or broken input can make the reader do.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest string (and encoded blob), compressed or not. Redis's
    /// proto-max-bulk-len default: 512 MiB.
    pub max_string_len: u64,
    /// Most elements a collection (or stream entry list, PEL, consumer list)
    /// may declare.
    pub max_collection_len: u64,
    /// A collection callback gets at most this many items...
    pub chunk_items: usize,
    /// ...or about this many bytes, whichever comes first.
    pub chunk_bytes: usize,
    /// Detect duplicate set members / hash fields / zset members, which Redis
    /// rejects as corrupt. Costs ~24 bytes per element of the key being read
    /// (128-bit fingerprints, so a false alarm is practically impossible).
    pub check_duplicates: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_string_len: 512 << 20,
            max_collection_len: 1 << 32,
            chunk_items: 1024,
            chunk_bytes: 4 << 20,
            check_duplicates: true,
        }
    }
}

/// The Redis type a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    String,
    List,
    Set,
    ZSet,
    Hash,
    Stream,
}

/// Per-key metadata carried by the opcodes before the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMeta {
    /// Absolute expiry, unix milliseconds (legacy second expiries scaled).
    pub expire_ms: Option<i64>,
    /// LRU idle seconds (written only under an LRU maxmemory-policy).
    pub idle: Option<u64>,
    /// LFU counter (written only under an LFU maxmemory-policy).
    pub freq: Option<u8>,
}

/// What a completed read saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub version: u16,
    /// Keys delivered through `begin_key`.
    pub keys: u64,
    /// Empty collections skipped (reported through `skipped_empty`).
    pub skipped_empty: u64,
    /// Bytes consumed, trailer included.
    pub bytes_read: u64,
    /// The verified checksum; `None` when the file has none (version < 5)
    /// or stores 0 (written with `rdbchecksum no`), as Redis skips it then.
    pub checksum: Option<u64>,
}

/// Receives an RDB's content in file order. Every method defaults to doing
/// nothing. A key arrives as `begin_key`, then either one `string`, one
/// `stream`, or one or more chunks of its collection callback, then
/// `end_key`. An empty collection (Redis skips those with a warning) gets
/// no `begin_key` at all, only `skipped_empty`. Returning an error stops
/// the read; wrap foreign errors in [`RdbError::Visitor`].
#[allow(unused_variables)]
pub trait RdbVisitor {
    fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<(), RdbError> {
        Ok(())
    }
    fn select_db(&mut self, db: u64) -> Result<(), RdbError> {
        Ok(())
    }
    fn resize_db(&mut self, db_size: u64, expires_size: u64) -> Result<(), RdbError> {
        Ok(())
    }
    /// A FUNCTION2 record: the library's source code, as for FUNCTION LOAD.
    fn function(&mut self, code: Bytes) -> Result<(), RdbError> {
        Ok(())
    }
    fn begin_key(&mut self, key: Bytes, kind: KeyKind, meta: KeyMeta) -> Result<(), RdbError> {
        Ok(())
    }
    fn string(&mut self, value: Bytes) -> Result<(), RdbError> {
        Ok(())
    }
    /// List items in order (head to tail), over as many calls as needed.
    fn list_items(&mut self, items: &[Bytes]) -> Result<(), RdbError> {
        Ok(())
    }
    fn set_members(&mut self, members: &[Bytes]) -> Result<(), RdbError> {
        Ok(())
    }
    fn hash_fields(&mut self, pairs: &[(Bytes, Bytes)]) -> Result<(), RdbError> {
        Ok(())
    }
    /// Members with scores, in no guaranteed order.
    fn zset_members(&mut self, members: &[(Bytes, f64)]) -> Result<(), RdbError> {
        Ok(())
    }
    fn stream(&mut self, stream: Stream) -> Result<(), RdbError> {
        Ok(())
    }
    fn end_key(&mut self) -> Result<(), RdbError> {
        Ok(())
    }
    /// A key whose collection turned out empty; Redis drops such keys.
    fn skipped_empty(&mut self, key: Bytes, kind: KeyKind) -> Result<(), RdbError> {
        Ok(())
    }
    /// Bytes consumed so far; called roughly every MiB, between keys.
    fn progress(&mut self, bytes_read: u64) -> Result<(), RdbError> {
        Ok(())
    }
}

/// Redis's name for a module type id: 9 characters of 6 bits each from the
/// top 54 bits (the low 10 bits are the encoding version).
pub fn module_name(id: u64) -> String {
    const CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..9)
        .map(|i| CHARSET[((id >> (58 - 6 * i)) & 63) as usize] as char)
        .collect()
}

/// Streams an RDB file into an [`RdbVisitor`].
pub struct RdbReader<R: Read> {
    src: Source<R>,
}

impl<R: Read> RdbReader<R> {
    pub fn new(r: R, limits: Limits) -> Self {
        Self {
            src: Source::new(r, limits),
        }
    }

    /// Bytes consumed so far (after `read_all`, the whole RDB).
    pub fn bytes_read(&self) -> u64 {
        self.src.pos
    }

    /// The underlying reader, positioned just after the RDB's trailer (on a
    /// replication socket: at the start of the command stream).
    pub fn into_inner(self) -> R {
        self.src.into_inner()
    }

    /// Reads the whole file, header to checksum, and nothing after it.
    pub fn read_all<V: RdbVisitor + ?Sized>(&mut self, v: &mut V) -> Result<Summary, RdbError> {
        let src = &mut self.src;
        let header: [u8; 9] = src.array()?;
        if &header[..5] != b"REDIS" {
            return Err(RdbError::BadSignature);
        }
        // Like Redis's atoi: leading digits only.
        let version = header[5..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'));
        if version < 1 || version > u32::from(RDB_MAX_READ_VERSION) {
            return Err(RdbError::BadVersion(version));
        }
        let mut sum = Summary {
            version: version as u16,
            ..Summary::default()
        };
        let mut meta = KeyMeta::default();
        let mut last_progress = 0u64;
        loop {
            if src.pos - last_progress >= 1 << 20 {
                last_progress = src.pos;
                v.progress(src.pos)?;
            }
            let t = src.u8()?;
            match t {
                opcode::EXPIRETIME_MS => meta.expire_ms = Some(src.i64_le()?),
                opcode::EXPIRETIME => {
                    meta.expire_ms = Some(i64::from(i32::from_le_bytes(src.array()?)) * 1000)
                }
                opcode::IDLE => meta.idle = Some(src.len()?),
                opcode::FREQ => meta.freq = Some(src.u8()?),
                opcode::AUX => {
                    let k = src.string()?;
                    let val = src.string()?;
                    v.aux(&k, &val)?;
                }
                opcode::RESIZEDB => {
                    let db = src.len()?;
                    let exp = src.len()?;
                    v.resize_db(db, exp)?;
                }
                opcode::SELECTDB => {
                    let db = src.len()?;
                    v.select_db(db)?;
                }
                opcode::FUNCTION2 => {
                    let code = src.string()?;
                    v.function(code)?;
                }
                opcode::FUNCTION_PRE_GA => {
                    return Err(RdbError::Unsupported(
                        "pre-release function format (7.0 RC)",
                    ))
                }
                opcode::MODULE_AUX => {
                    let id = src.len()?;
                    return Err(RdbError::Module {
                        name: module_name(id),
                    });
                }
                SLOT_INFO => {
                    // 7.4 cluster hint (slot, keys, expiring keys): sizing only.
                    for _ in 0..3 {
                        src.len()?;
                    }
                }
                opcode::EOF => break,
                t => {
                    // Refuse an unknown type before taking its key.
                    if !matches!(t, 0..=7 | 9..=21) {
                        return Err(RdbError::UnknownType(t));
                    }
                    let key = src.string()?;
                    let kind = key_kind(src, t)?;
                    let at = src.pos;
                    let chunks = (src.limits.chunk_items, src.limits.chunk_bytes);
                    let emitted = read_value(
                        src,
                        v,
                        t,
                        kind,
                        key.clone(),
                        std::mem::take(&mut meta),
                        chunks,
                    )
                    .map_err(|e| match e {
                        RdbError::Corrupt(m) => RdbError::Corrupt(format!(
                            "{m}; key {:?} (value at byte {at})",
                            String::from_utf8_lossy(&key)
                        )),
                        other => other,
                    })?;
                    if emitted {
                        sum.keys += 1;
                    } else {
                        sum.skipped_empty += 1;
                    }
                }
            }
        }
        if version >= 5 {
            let got = src.crc;
            let expected = u64::from_le_bytes(src.array()?);
            if expected != 0 {
                if expected != got {
                    return Err(RdbError::ChecksumMismatch { expected, got });
                }
                sum.checksum = Some(expected);
            }
        }
        sum.bytes_read = src.pos;
        v.progress(src.pos)?;
        Ok(sum)
    }
}

/// Redis 7.4's RDB_OPCODE_SLOT_INFO (not in the 7.0 skeleton).
const SLOT_INFO: u8 = 0xF4;

/// The key kind of a value type byte; module types end the read here.
fn key_kind<R: Read>(src: &mut Source<R>, t: u8) -> Result<KeyKind, RdbError> {
    Ok(match t {
        kind::STRING => KeyKind::String,
        kind::LIST | kind::LIST_ZIPLIST | kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => {
            KeyKind::List
        }
        kind::SET | kind::SET_INTSET | kind::SET_LISTPACK => KeyKind::Set,
        kind::ZSET | kind::ZSET_2 | kind::ZSET_ZIPLIST | kind::ZSET_LISTPACK => KeyKind::ZSet,
        kind::HASH | kind::HASH_ZIPMAP | kind::HASH_ZIPLIST | kind::HASH_LISTPACK => KeyKind::Hash,
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 | kind::STREAM_LISTPACKS_3 => {
            KeyKind::Stream
        }
        kind::MODULE | kind::MODULE_2 => {
            let id = src.len()?;
            return Err(RdbError::Module {
                name: module_name(id),
            });
        }
        other => return Err(RdbError::UnknownType(other)),
    })
}

/// Collects a collection into bounded chunks, opening the key lazily so an
/// empty collection never reaches `begin_key`.
struct Emit<'a, V: ?Sized> {
    v: &'a mut V,
    pending: Option<(Bytes, KeyKind, KeyMeta)>,
    kind: KeyKind,
    items: Vec<Bytes>,
    pairs: Vec<(Bytes, Bytes)>,
    scored: Vec<(Bytes, f64)>,
    bytes: usize,
    max_items: usize,
    max_bytes: usize,
    dedup: Option<Dedup>,
}

/// 128-bit fingerprints of the members seen so far in one key.
struct Dedup {
    seen: HashSet<(u64, u64)>,
    a: RandomState,
    b: RandomState,
}

impl Dedup {
    fn is_new(&mut self, m: &[u8]) -> bool {
        self.seen.insert((self.a.hash_one(m), self.b.hash_one(m)))
    }
}

impl<'a, V: RdbVisitor + ?Sized> Emit<'a, V> {
    fn new(
        v: &'a mut V,
        key: Bytes,
        kind: KeyKind,
        meta: KeyMeta,
        dedup: bool,
        chunks: (usize, usize),
    ) -> Self {
        let dedup = (dedup && kind != KeyKind::List).then(|| Dedup {
            seen: HashSet::new(),
            a: RandomState::new(),
            b: RandomState::new(),
        });
        Self {
            v,
            pending: Some((key, kind, meta)),
            kind,
            items: Vec::new(),
            pairs: Vec::new(),
            scored: Vec::new(),
            bytes: 0,
            max_items: chunks.0.max(1),
            max_bytes: chunks.1,
            dedup,
        }
    }

    fn unique(&mut self, m: &[u8]) -> Result<(), RdbError> {
        let fresh = self.dedup.as_mut().is_none_or(|d| d.is_new(m));
        if fresh {
            return Ok(());
        }
        let what = if self.kind == KeyKind::Hash {
            "field"
        } else {
            "member"
        };
        Err(RdbError::Corrupt(format!(
            "duplicate {what} {:?}",
            String::from_utf8_lossy(m)
        )))
    }

    fn item(&mut self, b: Bytes) -> Result<(), RdbError> {
        self.unique(&b)?;
        self.bytes += b.len() + 16;
        self.items.push(b);
        self.maybe_flush(self.items.len())
    }

    fn pair(&mut self, f: Bytes, val: Bytes) -> Result<(), RdbError> {
        self.unique(&f)?;
        self.bytes += f.len() + val.len() + 32;
        self.pairs.push((f, val));
        self.maybe_flush(self.pairs.len())
    }

    fn scored(&mut self, m: Bytes, score: f64) -> Result<(), RdbError> {
        if score.is_nan() {
            return Err(RdbError::Corrupt("zset with a NaN score".into()));
        }
        self.unique(&m)?;
        self.bytes += m.len() + 24;
        self.scored.push((m, score));
        self.maybe_flush(self.scored.len())
    }

    fn maybe_flush(&mut self, n: usize) -> Result<(), RdbError> {
        if n >= self.max_items || self.bytes >= self.max_bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), RdbError> {
        if self.items.is_empty() && self.pairs.is_empty() && self.scored.is_empty() {
            return Ok(());
        }
        if let Some((key, kind, meta)) = self.pending.take() {
            self.v.begin_key(key, kind, meta)?;
        }
        match self.kind {
            KeyKind::List => self.v.list_items(&self.items)?,
            KeyKind::Set => self.v.set_members(&self.items)?,
            KeyKind::Hash => self.v.hash_fields(&self.pairs)?,
            KeyKind::ZSet => self.v.zset_members(&self.scored)?,
            KeyKind::String | KeyKind::Stream => {}
        }
        self.items.clear();
        self.pairs.clear();
        self.scored.clear();
        self.bytes = 0;
        Ok(())
    }

    /// Ends the key; false if it was empty (and so skipped).
    fn finish(mut self) -> Result<bool, RdbError> {
        self.flush()?;
        match self.pending.take() {
            Some((key, kind, _)) => {
                self.v.skipped_empty(key, kind)?;
                Ok(false)
            }
            None => {
                self.v.end_key()?;
                Ok(true)
            }
        }
    }

    /// Every element of a blob as an item.
    fn items_from(&mut self, src: &mut impl ElemSource) -> Result<(), RdbError> {
        while let Some(e) = src.next_elem()? {
            self.item(e.into_bytes())?;
        }
        Ok(())
    }

    /// Elements of a blob taken two at a time: (field, value) or
    /// (member, score).
    fn pairs_from(&mut self, src: &mut impl ElemSource) -> Result<(), RdbError> {
        while let Some(first) = src.next_elem()? {
            let second = src.next_elem()?.ok_or_else(|| {
                RdbError::Corrupt("odd number of elements in a pair encoding".into())
            })?;
            if self.kind == KeyKind::ZSet {
                let score = second
                    .as_score()
                    .ok_or_else(|| RdbError::Corrupt("unparsable zset score".into()))?;
                self.scored(first.into_bytes(), score)?;
            } else {
                self.pair(first.into_bytes(), second.into_bytes())?;
            }
        }
        Ok(())
    }
}

/// Reads one value of type `t` and delivers it; false if it was an empty
/// collection and so skipped.
fn read_value<R: Read, V: RdbVisitor + ?Sized>(
    src: &mut Source<R>,
    v: &mut V,
    t: u8,
    kind: KeyKind,
    key: Bytes,
    meta: KeyMeta,
    chunks: (usize, usize),
) -> Result<bool, RdbError> {
    match kind {
        KeyKind::String => {
            let s = src.string()?;
            v.begin_key(key, kind, meta)?;
            v.string(s)?;
            v.end_key()?;
            return Ok(true);
        }
        KeyKind::Stream => {
            let s = stream::read_stream(src, t)?;
            v.begin_key(key, kind, meta)?;
            v.stream(s)?;
            v.end_key()?;
            return Ok(true);
        }
        _ => {}
    }
    let mut out = Emit::new(v, key, kind, meta, src.limits.check_duplicates, chunks);
    match t {
        kind::LIST | kind::SET => {
            for _ in 0..src.count("collection length")? {
                out.item(src.string()?)?;
            }
        }
        kind::ZSET | kind::ZSET_2 => {
            for _ in 0..src.count("collection length")? {
                let m = src.string()?;
                let score = if t == kind::ZSET {
                    src.ascii_double()?
                } else {
                    f64::from_le_bytes(src.array()?)
                };
                out.scored(m, score)?;
            }
        }
        kind::HASH => {
            for _ in 0..src.count("collection length")? {
                let f = src.string()?;
                let val = src.string()?;
                out.pair(f, val)?;
            }
        }
        kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => {
            for _ in 0..src.count("quicklist node count")? {
                let container = if t == kind::LIST_QUICKLIST_2 {
                    src.len()?
                } else {
                    2
                };
                let at = src.pos();
                let blob = src.string()?;
                let r = match (t, container) {
                    (_, 1) => out.item(blob),
                    (kind::LIST_QUICKLIST, _) => {
                        Ziplist::new(&blob).and_then(|mut z| out.items_from(&mut z))
                    }
                    (_, 2) => Listpack::new(&blob).and_then(|mut l| out.items_from(&mut l)),
                    _ => Err(RdbError::Corrupt(format!(
                        "unknown quicklist container {container}"
                    ))),
                };
                r.map_err(|e| at_offset(e, at))?;
            }
        }
        _ => {
            // Single-blob encodings.
            let at = src.pos();
            let blob = src.string()?;
            let r = match t {
                kind::LIST_ZIPLIST => Ziplist::new(&blob).and_then(|mut z| out.items_from(&mut z)),
                kind::ZSET_ZIPLIST | kind::HASH_ZIPLIST => {
                    Ziplist::new(&blob).and_then(|mut z| out.pairs_from(&mut z))
                }
                kind::SET_LISTPACK => Listpack::new(&blob).and_then(|mut l| out.items_from(&mut l)),
                kind::ZSET_LISTPACK | kind::HASH_LISTPACK => {
                    Listpack::new(&blob).and_then(|mut l| out.pairs_from(&mut l))
                }
                kind::SET_INTSET => Intset::new(&blob).and_then(|mut s| {
                    while let Some(i) = s.next_int()? {
                        out.item(Bytes::copy_from_slice(
                            itoa::Buffer::new().format(i).as_bytes(),
                        ))?;
                    }
                    Ok(())
                }),
                kind::HASH_ZIPMAP => Zipmap::new(&blob).and_then(|mut z| {
                    while let Some((f, val)) = z.next_pair()? {
                        out.pair(f, val)?;
                    }
                    Ok(())
                }),
                other => Err(RdbError::UnknownType(other)),
            };
            r.map_err(|e| at_offset(e, at))?;
        }
    }
    out.finish()
}

/// A whole decoded value, for RESTORE (a DUMP payload is one key, held in
/// memory anyway).
#[derive(Debug, Clone, PartialEq)]
pub enum DecodedValue {
    String(Bytes),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    ZSet(Vec<(Bytes, f64)>),
    Hash(Vec<(Bytes, Bytes)>),
    Stream(Box<Stream>),
}

/// The DUMP/RESTORE payload version Redis 7.0 accepts at most.
pub const DUMP_MAX_VERSION: u16 = 10;

/// Decodes a DUMP payload: type byte, value, u16 LE RDB version, u64 LE
/// CRC-64 of everything before it. A footer that fails (version > 10, as in
/// Redis 7.0, or a checksum mismatch; a 0 checksum is NOT skipped here,
/// matching RESTORE) gives [`RdbError::BadDumpPayload`]; anything else wrong
/// maps to RESTORE's "ERR Bad data format". As in Redis 7.0, bytes left
/// between the value and the footer are ignored, and a value may be read
/// from the footer's own bytes (ten zero bytes are a valid empty string).
pub fn read_dump_payload(payload: &[u8]) -> Result<(KeyKind, DecodedValue), RdbError> {
    read_dump_payload_with(payload, Limits::default())
}

/// [`read_dump_payload`] with explicit limits.
pub fn read_dump_payload_with(
    payload: &[u8],
    limits: Limits,
) -> Result<(KeyKind, DecodedValue), RdbError> {
    let n = payload.len();
    if n < 10 {
        return Err(RdbError::BadDumpPayload);
    }
    let version = u16::from_le_bytes([payload[n - 10], payload[n - 9]]);
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[n - 8..]);
    if version > DUMP_MAX_VERSION || crc64(0, &payload[..n - 8]) != u64::from_le_bytes(crc) {
        return Err(RdbError::BadDumpPayload);
    }
    // Like Redis, the value is read from the whole payload: it may run on
    // into the footer's bytes, and whatever follows it is ignored (the
    // checksum already vouches for every byte).
    let mut src = Source::new(payload, limits);
    let t = src.u8()?;
    let kind = key_kind(&mut src, t)?;
    let mut c = Collect::default();
    let chunks = (usize::MAX, usize::MAX);
    if !read_value(
        &mut src,
        &mut c,
        t,
        kind,
        Bytes::new(),
        KeyMeta::default(),
        chunks,
    )? {
        return Err(RdbError::EmptyKey);
    }
    let value = c
        .value
        .ok_or_else(|| RdbError::Corrupt("no value decoded".into()))?;
    Ok((kind, value))
}

/// Gathers one key's callbacks into a [`DecodedValue`].
#[derive(Default)]
struct Collect {
    value: Option<DecodedValue>,
}

impl RdbVisitor for Collect {
    fn begin_key(&mut self, _key: Bytes, kind: KeyKind, _meta: KeyMeta) -> Result<(), RdbError> {
        self.value = Some(match kind {
            KeyKind::String => DecodedValue::String(Bytes::new()),
            KeyKind::List => DecodedValue::List(Vec::new()),
            KeyKind::Set => DecodedValue::Set(Vec::new()),
            KeyKind::ZSet => DecodedValue::ZSet(Vec::new()),
            KeyKind::Hash => DecodedValue::Hash(Vec::new()),
            KeyKind::Stream => DecodedValue::Stream(Box::default()),
        });
        Ok(())
    }
    fn string(&mut self, value: Bytes) -> Result<(), RdbError> {
        self.value = Some(DecodedValue::String(value));
        Ok(())
    }
    fn list_items(&mut self, items: &[Bytes]) -> Result<(), RdbError> {
        if let Some(DecodedValue::List(v)) = &mut self.value {
            v.extend_from_slice(items);
        }
        Ok(())
    }
    fn set_members(&mut self, members: &[Bytes]) -> Result<(), RdbError> {
        if let Some(DecodedValue::Set(v)) = &mut self.value {
            v.extend_from_slice(members);
        }
        Ok(())
    }
    fn hash_fields(&mut self, pairs: &[(Bytes, Bytes)]) -> Result<(), RdbError> {
        if let Some(DecodedValue::Hash(v)) = &mut self.value {
            v.extend_from_slice(pairs);
        }
        Ok(())
    }
    fn zset_members(&mut self, members: &[(Bytes, f64)]) -> Result<(), RdbError> {
        if let Some(DecodedValue::ZSet(v)) = &mut self.value {
            v.extend_from_slice(members);
        }
        Ok(())
    }
    fn stream(&mut self, stream: Stream) -> Result<(), RdbError> {
        self.value = Some(DecodedValue::Stream(Box::new(stream)));
        Ok(())
    }
}

#[cfg(test)]
#[path = "reader_tests/mod.rs"]
mod tests;
