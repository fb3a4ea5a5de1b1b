//! The on-disk encoding, after kvrocks (see `shared/reference/kvrocks-notes.md`).
//!
//! All integers are fixed-width big-endian so keys sort bytewise.
//!
//! ```text
//! meta   CF  key:   [db u8][user key]
//!            value: [flags u8][expire-ms u64]            string: [value bytes]
//!                   [flags u8][expire-ms u64][version u64][size u64][type-specific]   others
//!            flags: low 4 bits = KeyType code, bit 7 = format v1 (always set)
//!            expire-ms: absolute unix time in ms; 0 = no expiry
//! data   CF  key:   [db u8][key len u32][user key][version u64][subkey]  -> value
//! zscore CF  key:   [db u8][key len u32][user key][version u64][score][member] -> ""
//! expire CF  key:   [db u8][expire-ms u64][user key] -> ""    (one per key with a TTL)
//! state  CF  key:   b"counts" [db u8] -> [keys u64][expires u64]
//!                   b"dbmap"          -> [physical db u8] x databases
//! ```
//!
//! `db` is the *physical* database id; SWAPDB swaps the logical-to-physical
//! map instead of moving data. DEL of any size deletes only the metadata
//! record: subkeys of an old version are orphans, dropped during compaction
//! by [`StalePolicy`](super::keyspace::StalePolicy), which compares versions.

use bytes::{Buf, Bytes};

/// Redis types, numbered as kvrocks numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    String = 1,
    Hash = 2,
    List = 3,
    Set = 4,
    ZSet = 5,
}

impl KeyType {
    pub fn from_code(c: u8) -> Option<KeyType> {
        Some(match c {
            1 => KeyType::String,
            2 => KeyType::Hash,
            3 => KeyType::List,
            4 => KeyType::Set,
            5 => KeyType::ZSet,
            _ => return None,
        })
    }

    /// The name TYPE and SCAN TYPE use.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Hash => "hash",
            KeyType::List => "list",
            KeyType::Set => "set",
            KeyType::ZSet => "zset",
        }
    }

    pub fn from_name(name: &[u8]) -> Option<KeyType> {
        Some(match name.to_ascii_lowercase().as_slice() {
            b"string" => KeyType::String,
            b"hash" => KeyType::Hash,
            b"list" => KeyType::List,
            b"set" => KeyType::Set,
            b"zset" => KeyType::ZSet,
            _ => return None,
        })
    }
}

const FORMAT_V1: u8 = 0x80;

/// A decoded metadata record.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    pub kind: KeyType,
    /// Absolute expiry in unix ms; 0 = persistent.
    pub expire_ms: u64,
    /// Subkey version (0 for strings).
    pub version: u64,
    /// Element count (0 for strings).
    pub size: u64,
    /// Strings: the value. Others: type-specific fields (list head/tail, ...).
    pub payload: Bytes,
}

#[derive(Debug, thiserror::Error)]
#[error("corrupt metadata record")]
pub struct CorruptMetadata;

impl Metadata {
    pub fn string(value: impl Into<Bytes>, expire_ms: u64) -> Self {
        Metadata {
            kind: KeyType::String,
            expire_ms,
            version: 0,
            size: 0,
            payload: value.into(),
        }
    }

    pub fn collection(kind: KeyType, version: u64, expire_ms: u64) -> Self {
        Metadata {
            kind,
            expire_ms,
            version,
            size: 0,
            payload: Bytes::new(),
        }
    }

    pub fn is_expired(&self, now_ms: u64) -> bool {
        self.expire_ms != 0 && self.expire_ms <= now_ms
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(25 + self.payload.len());
        v.push(FORMAT_V1 | self.kind as u8);
        v.extend_from_slice(&self.expire_ms.to_be_bytes());
        if self.kind != KeyType::String {
            v.extend_from_slice(&self.version.to_be_bytes());
            v.extend_from_slice(&self.size.to_be_bytes());
        }
        v.extend_from_slice(&self.payload);
        v
    }

    pub fn decode(raw: &[u8]) -> Result<Metadata, CorruptMetadata> {
        let flags = *raw.first().ok_or(CorruptMetadata)?;
        let kind = KeyType::from_code(flags & 0x0f).ok_or(CorruptMetadata)?;
        let expire_ms = be_u64(raw, 1).ok_or(CorruptMetadata)?;
        if kind == KeyType::String {
            return Ok(Metadata::string(
                Bytes::copy_from_slice(&raw[9..]),
                expire_ms,
            ));
        }
        let version = be_u64(raw, 9).ok_or(CorruptMetadata)?;
        let size = be_u64(raw, 17).ok_or(CorruptMetadata)?;
        Ok(Metadata {
            kind,
            expire_ms,
            version,
            size,
            payload: Bytes::copy_from_slice(&raw[25..]),
        })
    }

    /// [`decode`](Self::decode) of a record the caller owns: the payload
    /// (a string's value) is the record's own buffer past the header, not
    /// a copy (a GET's reply then shares the bytes the engine returned).
    pub fn from_record(raw: Vec<u8>) -> Result<Metadata, CorruptMetadata> {
        let header = match raw.first().map(|f| KeyType::from_code(f & 0x0f)) {
            Some(Some(KeyType::String)) => 9,
            Some(Some(_)) => 25,
            _ => return Err(CorruptMetadata),
        };
        if raw.len() < header {
            return Err(CorruptMetadata);
        }
        let mut meta = Metadata::decode(&raw[..header])?;
        let mut payload = Bytes::from(raw);
        payload.advance(header);
        meta.payload = payload;
        Ok(meta)
    }

    /// Reads only the type and version, for the compaction filter's hot loop.
    pub fn peek_kind_version(raw: &[u8]) -> Option<(KeyType, u64)> {
        let kind = KeyType::from_code(raw.first()? & 0x0f)?;
        let version = if kind == KeyType::String {
            0
        } else {
            be_u64(raw, 9)?
        };
        Some((kind, version))
    }
}

pub fn be_u64(raw: &[u8], at: usize) -> Option<u64> {
    raw.get(at..at + 8)
        .map(|b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
}

pub fn be_u32(raw: &[u8], at: usize) -> Option<u32> {
    raw.get(at..at + 4)
        .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
}

/// `[db][user key]`
pub fn meta_key(db: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    push_meta_key(&mut k, db, key);
    k
}

/// Calls `f` with [`meta_key`]'s bytes, built on the stack when the key
/// is short (every command's first read builds one: a heap buffer cost a
/// GET an allocation and its free).
pub fn with_meta_key<R>(db: u8, key: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    const ON_STACK: usize = 64;
    if key.len() < ON_STACK {
        let mut buf = [0u8; ON_STACK];
        buf[0] = db;
        buf[1..=key.len()].copy_from_slice(key);
        f(&buf[..=key.len()])
    } else {
        f(&meta_key(db, key))
    }
}

/// Appends [`meta_key`]'s bytes to `out` (many keys in one buffer).
pub fn push_meta_key(out: &mut Vec<u8>, db: u8, key: &[u8]) {
    out.push(db);
    out.extend_from_slice(key);
}

/// `[db][key len][user key][version]`: the prefix every subkey of one
/// version of one key shares.
pub fn subkey_prefix(db: u8, key: &[u8], version: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(13 + key.len() + 16);
    k.push(db);
    k.extend_from_slice(&(key.len() as u32).to_be_bytes());
    k.extend_from_slice(key);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// `[db][key len][user key][version][subkey]`
pub fn subkey(db: u8, key: &[u8], version: u64, sub: &[u8]) -> Vec<u8> {
    // Sized exactly: a sorted set's score subkey (8 bytes and the member)
    // outgrew `subkey_prefix`'s 16 spare bytes and made every ZADD regrow
    // it (~800 instructions per ZADD, callgrind).
    let mut k = Vec::with_capacity(13 + key.len() + sub.len());
    push_subkey(&mut k, db, key, version, sub);
    k
}

/// Appends [`subkey`]'s bytes to `out` (many subkeys in one buffer).
pub fn push_subkey(out: &mut Vec<u8>, db: u8, key: &[u8], version: u64, sub: &[u8]) {
    out.push(db);
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(sub);
}

/// Splits a data/zscore CF key into `(db, meta key, version, subkey)`.
pub fn split_subkey(raw: &[u8]) -> Option<(u8, Vec<u8>, u64, &[u8])> {
    let db = *raw.first()?;
    let len = be_u32(raw, 1)? as usize;
    let key = raw.get(5..5 + len)?;
    let version = be_u64(raw, 5 + len)?;
    Some((db, meta_key(db, key), version, &raw[13 + len..]))
}

/// `[db][expire-ms][user key]`: per database, so FLUSHDB is one range delete
/// and active expiry walks each database's index in time order.
pub fn expire_index_key(db: u8, expire_ms: u64, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(9 + key.len());
    k.push(db);
    k.extend_from_slice(&expire_ms.to_be_bytes());
    k.extend_from_slice(key);
    k
}

/// Splits an expire-index key into `(db, expire-ms, user key)`.
pub fn split_expire_index_key(raw: &[u8]) -> Option<(u8, u64, &[u8])> {
    Some((*raw.first()?, be_u64(raw, 1)?, raw.get(9..)?))
}

/// The smallest byte string greater than every string starting with `prefix`
/// (`None` when there is none, i.e. the prefix is all 0xff).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_roundtrip() {
        let s = Metadata::string(Bytes::from_static(b"hello"), 1234);
        assert_eq!(Metadata::decode(&s.encode()).unwrap(), s);
        let mut h = Metadata::collection(KeyType::Hash, 99, 0);
        h.size = 3;
        h.payload = Bytes::from_static(b"xy");
        assert_eq!(Metadata::decode(&h.encode()).unwrap(), h);
        assert_eq!(
            Metadata::peek_kind_version(&h.encode()),
            Some((KeyType::Hash, 99))
        );
        assert!(Metadata::decode(&[0x81, 0, 0]).is_err());
        assert!(Metadata::decode(&[0x8f; 30]).is_err());
    }

    #[test]
    fn a_record_decodes_the_same_owned_or_borrowed() {
        let s = Metadata::string(Bytes::from_static(b"hello"), 1234);
        let mut h = Metadata::collection(KeyType::Hash, 99, 0);
        h.size = 3;
        h.payload = Bytes::from_static(b"xy");
        let empty = Metadata::string(Bytes::new(), 0);
        for m in [s, h, empty] {
            let raw = m.encode();
            assert_eq!(Metadata::from_record(raw.clone()).unwrap(), m);
            assert_eq!(Metadata::decode(&raw).unwrap(), m);
        }
        for corrupt in [&[][..], &[0x81, 0, 0], &[0x8f; 30], &[0x82; 24]] {
            assert!(Metadata::from_record(corrupt.to_vec()).is_err());
        }
    }

    #[test]
    fn a_meta_key_is_the_same_on_the_stack_or_the_heap() {
        for len in [0, 1, 62, 63, 64, 200] {
            let key = vec![b'k'; len];
            let built = with_meta_key(7, &key, <[u8]>::to_vec);
            assert_eq!(built, meta_key(7, &key), "key of {len} bytes");
        }
    }

    #[test]
    fn subkeys_sort_by_key_then_version() {
        let a = subkey(0, b"a", 1, b"z");
        let b = subkey(0, b"a", 2, b"a");
        let c = subkey(0, b"ab", 0, b"");
        assert!(a < b && b < c);
        let (db, mk, ver, sub) = split_subkey(&b).unwrap();
        assert_eq!((db, mk, ver, sub), (0, meta_key(0, b"a"), 2, &b"a"[..]));
        // Appended to a buffer, as the pipeline's read-ahead does.
        let mut buf = b"x".to_vec();
        push_subkey(&mut buf, 0, b"a", 2, b"a");
        assert_eq!(&buf[1..], &b[..]);
    }

    #[test]
    fn prefix_end_is_exclusive_upper_bound() {
        assert_eq!(prefix_end(&[1, 2]), Some(vec![1, 3]));
        assert_eq!(prefix_end(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xff]), None);
    }
}
