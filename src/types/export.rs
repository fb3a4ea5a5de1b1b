//! Reading whole keys back out of an engine snapshot, in key order, in the
//! shape every serialiser needs: the key, its type, expiry, element count
//! and its elements as a stream. A full resynchronisation writes its RDB
//! from here, and DUMP reads one key through [`Elements::through`] and [`collect`].
//!
//! Nothing is collected: elements come straight off the snapshot's
//! iterators (lists in index order, hashes/sets/zsets in subkey order, zset
//! scores from the data family's 8-byte values).
//!
//! Keys already expired when the snapshot is read are exported with their
//! expiry, as Redis 7.0's RDB save does; a replica keeps them until the
//! master's DEL, a master drops them at load.

use bytes::Bytes;

use super::encoding::{self, prefix_end, KeyType, Metadata};
use super::WriteContext;
use crate::engine::{Cf, EngineIter, EngineSnapshot};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("corrupt metadata record of key {0:?}")]
    CorruptMeta(Bytes),
    #[error("corrupt element of key {0:?}")]
    CorruptElement(Bytes),
    /// The visitor stopped the walk (its own reason travels separately).
    #[error("export stopped: {0}")]
    Stopped(String),
}

pub type ExportResult<T> = Result<T, ExportError>;

/// One element of a collection, borrowed from the snapshot's iterator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Element<'e> {
    /// A list item or a set member.
    Item(&'e [u8]),
    /// A hash field and its value.
    Field(&'e [u8], &'e [u8]),
    /// A sorted-set member and its score.
    Scored(&'e [u8], f64),
}

/// The elements of one collection, read on demand.
pub struct Elements<'s> {
    kind: KeyType,
    key: Bytes,
    it: Option<Box<dyn EngineIter + 's>>,
    prefix: Vec<u8>,
    started: bool,
}

impl<'s> Elements<'s> {
    fn open(snap: &'s dyn EngineSnapshot, db: u8, key: &[u8], meta: &Metadata) -> Elements<'s> {
        let prefix = encoding::subkey_prefix(db, key, meta.version);
        let it = (meta.kind != KeyType::String).then(|| {
            let upper = prefix_end(&prefix);
            snap.iter(Cf::Data, Some(&prefix), upper.as_deref())
        });
        Elements::over(it, key, meta, prefix)
    }

    /// The elements of `key` (whose live record is `meta`) as the unit `w`
    /// sees them, its own staged changes included (DUMP inside MULTI).
    pub fn through(w: &WriteContext<'s>, db: u8, key: &[u8], meta: &Metadata) -> Elements<'s> {
        let prefix = encoding::subkey_prefix(db, key, meta.version);
        let it = (meta.kind != KeyType::String).then(|| {
            let upper = prefix_end(&prefix);
            w.iter(Cf::Data, Some(&prefix), upper.as_deref())
        });
        Elements::over(it, key, meta, prefix)
    }

    fn over(
        it: Option<Box<dyn EngineIter + 's>>,
        key: &[u8],
        meta: &Metadata,
        prefix: Vec<u8>,
    ) -> Elements<'s> {
        Elements {
            kind: meta.kind,
            key: Bytes::copy_from_slice(key),
            it,
            prefix,
            started: false,
        }
    }

    /// The next element, `None` at the end (always for strings).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> ExportResult<Option<Element<'_>>> {
        let Some(it) = self.it.as_mut() else {
            return Ok(None);
        };
        if self.started {
            it.next();
        } else {
            it.seek(&self.prefix);
            self.started = true;
        }
        if !it.valid() || !it.key().starts_with(&self.prefix) {
            it.status()?;
            return Ok(None);
        }
        let sub = &it.key()[self.prefix.len()..];
        let value = it.value();
        Ok(Some(match self.kind {
            KeyType::List => Element::Item(value),
            KeyType::Set => Element::Item(sub),
            KeyType::Hash => Element::Field(sub, value),
            KeyType::ZSet => {
                let bits = value
                    .get(..8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .ok_or_else(|| ExportError::CorruptElement(self.key.clone()))?;
                Element::Scored(sub, f64::from_bits(u64::from_be_bytes(bits)))
            }
            KeyType::String => return Ok(None),
        }))
    }
}

/// A key as the visitor sees it.
pub struct ExportedKey<'a, 's> {
    pub key: &'a [u8],
    pub kind: KeyType,
    /// Absolute unix ms, `None` when persistent.
    pub expire_ms: Option<u64>,
    /// A string's value (empty for collections).
    pub string: &'a [u8],
    /// Element count of a collection (0 for strings).
    pub len: u64,
    pub elements: Elements<'s>,
}

/// Visits every key of physical database `physical_db` in key order.
/// `visit` returns `Err` to stop the walk (that error is returned).
pub fn for_each_key(
    snap: &dyn EngineSnapshot,
    physical_db: u8,
    visit: &mut dyn FnMut(ExportedKey<'_, '_>) -> ExportResult<()>,
) -> ExportResult<()> {
    let lower = [physical_db];
    let upper = prefix_end(&lower);
    let mut it = snap.iter(Cf::Meta, Some(&lower), upper.as_deref());
    it.seek(&lower);
    while it.valid() {
        let key = &it.key()[1..];
        let meta = Metadata::decode(it.value())
            .map_err(|_| ExportError::CorruptMeta(Bytes::copy_from_slice(key)))?;
        let elements = Elements::open(snap, physical_db, key, &meta);
        visit(ExportedKey {
            key,
            kind: meta.kind,
            expire_ms: (meta.expire_ms != 0).then_some(meta.expire_ms),
            string: if meta.kind == KeyType::String {
                &meta.payload
            } else {
                &[]
            },
            len: meta.size,
            elements,
        })?;
        it.next();
    }
    it.status()?;
    Ok(())
}

/// Whether physical database `physical_db` holds any key in the snapshot.
pub fn has_keys(snap: &dyn EngineSnapshot, physical_db: u8) -> bool {
    let lower = [physical_db];
    let upper = prefix_end(&lower);
    let mut it = snap.iter(Cf::Meta, Some(&lower), upper.as_deref());
    it.seek(&lower);
    it.valid()
}

/// One key's whole value, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum OwnedValue {
    String(Bytes),
    List(Vec<Bytes>),
    Set(Vec<Bytes>),
    Hash(Vec<(Bytes, Bytes)>),
    ZSet(Vec<(Bytes, f64)>),
}

/// One key read whole: its value and expiry (unix ms), `None` when absent.
/// For DUMP and tests; a full sync streams with [`for_each_key`] instead.
pub fn key_value(
    snap: &dyn EngineSnapshot,
    physical_db: u8,
    key: &[u8],
) -> ExportResult<Option<(OwnedValue, Option<u64>)>> {
    let Some(raw) = snap.get(Cf::Meta, &encoding::meta_key(physical_db, key))? else {
        return Ok(None);
    };
    let meta = Metadata::decode(&raw)
        .map_err(|_| ExportError::CorruptMeta(Bytes::copy_from_slice(key)))?;
    let expire = (meta.expire_ms != 0).then_some(meta.expire_ms);
    let elements = Elements::open(snap, physical_db, key, &meta);
    Ok(Some((collect(&meta, elements)?, expire)))
}

/// Gathers a key's value whole: the string of its record, or every element
/// `elements` yields.
pub fn collect(meta: &Metadata, mut elements: Elements<'_>) -> ExportResult<OwnedValue> {
    let b = Bytes::copy_from_slice;
    // A declared size is only a hint: never pre-allocate much from it.
    let hint = meta.size.min(1 << 16) as usize;
    Ok(match meta.kind {
        KeyType::String => OwnedValue::String(meta.payload.clone()),
        KeyType::List | KeyType::Set => {
            let mut items = Vec::with_capacity(hint);
            while let Some(Element::Item(i)) = elements.next()? {
                items.push(b(i));
            }
            if meta.kind == KeyType::List {
                OwnedValue::List(items)
            } else {
                OwnedValue::Set(items)
            }
        }
        KeyType::Hash => {
            let mut pairs = Vec::with_capacity(hint);
            while let Some(Element::Field(f, v)) = elements.next()? {
                pairs.push((b(f), b(v)));
            }
            OwnedValue::Hash(pairs)
        }
        KeyType::ZSet => {
            let mut pairs = Vec::with_capacity(hint);
            while let Some(Element::Scored(m, s)) = elements.next()? {
                pairs.push((b(m), s));
            }
            OwnedValue::ZSet(pairs)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{hash, list, set, string, zset, WriteContext};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn fill(w: &WriteContext<'_>) {
        string::set(w, 0, b"s", b("v")).expect("set");
        string::set(w, 0, b"bin\x00\xff", Bytes::from_static(b"\x00\x01\xfe")).expect("set");
        let items: Vec<Bytes> = (0..300).map(|i| b(&format!("i{i}"))).collect();
        list::push(w, 0, b"l", list::End::Right, &items, false).expect("rpush");
        list::push(w, 0, b"l", list::End::Left, &[b("head")], false).expect("lpush");
        set::sadd(w, 0, b"set", &[b("3"), b("1"), b("2")], 512).expect("sadd");
        hash::set(
            w,
            0,
            b"h",
            &[(b("f1"), b("v1")), (b("f2"), b("v2"))],
            hash::ListpackLimits::default(),
        )
        .expect("hset");
        zset::add(
            w,
            0,
            b"z",
            zset::AddFlags::default(),
            &[(2.5, b("b")), (-1.0, b("a")), (f64::INFINITY, b("c"))],
        )
        .expect("zadd");
        string::set(w, 3, b"other", b("db3")).expect("set");
    }

    #[test]
    fn every_key_comes_out_in_order_with_its_elements() {
        let (_dir, w) = crate::types::test_context();
        fill(&w);
        let ks = w.keyspace();
        let (snap, _) = ks.snapshot();
        // Written after the snapshot: not seen.
        string::set(&w, 0, b"later", b("x")).expect("set");
        let mut seen = Vec::new();
        for_each_key(snap.as_ref(), 0, &mut |mut k| {
            let mut n = 0u64;
            let mut first = None;
            while let Some(e) = k.elements.next()? {
                if n == 0 {
                    first = Some(format!("{e:?}"));
                }
                n += 1;
            }
            assert_eq!(n, k.len, "count of {:?}", k.key);
            seen.push((k.key.to_vec(), k.kind, first));
            Ok(())
        })
        .expect("export");
        let keys: Vec<&[u8]> = seen.iter().map(|s| s.0.as_slice()).collect();
        assert_eq!(
            keys,
            vec![&b"bin\x00\xff"[..], b"h", b"l", b"s", b"set", b"z"]
        );
        assert_eq!(seen[2].2.as_deref(), Some("Item([104, 101, 97, 100])"));
        assert!(has_keys(snap.as_ref(), 3));
        assert!(!has_keys(snap.as_ref(), 4));

        let (v, exp) = key_value(snap.as_ref(), 0, b"z")
            .expect("read")
            .expect("present");
        assert_eq!(exp, None);
        let OwnedValue::ZSet(mut pairs) = v else {
            panic!("zset expected")
        };
        pairs.sort_by(|a, b| a.1.total_cmp(&b.1));
        assert_eq!(
            pairs,
            vec![(b("a"), -1.0), (b("b"), 2.5), (b("c"), f64::INFINITY)]
        );
        let (v, _) = key_value(snap.as_ref(), 0, b"l").expect("read").expect("l");
        let OwnedValue::List(items) = v else {
            panic!("list expected")
        };
        assert_eq!(items.len(), 301);
        assert_eq!(
            (&items[0][..], &items[300][..]),
            (&b"head"[..], &b"i299"[..])
        );
        assert_eq!(key_value(snap.as_ref(), 0, b"later").expect("read"), None);
    }

    #[test]
    fn expiry_travels_with_the_key() {
        let (_dir, w) = crate::types::test_context();
        let mut ws = w.write_set();
        ws.put_meta(0, b"t", &Metadata::string(b("v"), 4_000_000_000_000), None);
        ws.put_meta(0, b"gone", &Metadata::string(b("v"), 1), None);
        w.stage(ws).expect("stage");
        let (snap, _) = w.keyspace().snapshot();
        let mut got = Vec::new();
        for_each_key(snap.as_ref(), 0, &mut |k| {
            got.push((k.key.to_vec(), k.expire_ms, k.string.to_vec()));
            Ok(())
        })
        .expect("export");
        assert_eq!(
            got,
            vec![
                (b"gone".to_vec(), Some(1), b"v".to_vec()),
                (b"t".to_vec(), Some(4_000_000_000_000), b"v".to_vec())
            ]
        );
    }
}
