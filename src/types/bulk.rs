//! Writing whole keys in bulk, below the command path: a replica loading its
//! master's RDB, RESTORE. Each key becomes the records the types layer would
//! have written for it (the same encoding, the same encoding markers for
//! OBJECT ENCODING), built element by element so a huge collection never
//! has to be held whole.
//!
//! [`BulkLoader`] writes into physical databases no command can see (see
//! `Keyspace::begin_load`) straight to the engine in large batches, and
//! counts keys and expiries per database for the switch-over;
//! [`KeyRecords`] builds one key's records into any batch (RESTORE stages
//! them through its write context, see `types::dump`).

use bytes::Bytes;

use super::encoding::{self, KeyType, Metadata};
use super::{hash, list, set, zset};
use crate::engine::{Batch, Cf, Engine, EngineResult};

/// The encoding thresholds Redis would apply to the loaded values, from
/// the live configuration.
#[derive(Debug, Clone, Copy)]
pub struct EncodingLimits {
    pub hash: hash::ListpackLimits,
    pub set_max_intset_entries: u64,
}

impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash: hash::ListpackLimits::default(),
            set_max_intset_entries: set::MAX_INTSET_ENTRIES,
        }
    }
}

/// One key's records, built element by element into a batch.
pub struct KeyRecords {
    db: u8,
    key: Bytes,
    meta: Metadata,
    /// Lists: the index of the next element.
    next_index: u64,
    limits: EncodingLimits,
}

impl KeyRecords {
    /// A collection key of `kind` (not a string: see [`string_records`]),
    /// with subkey version `version`; `expire_ms` 0 = persistent.
    pub fn begin(
        db: u8,
        key: Bytes,
        kind: KeyType,
        version: u64,
        expire_ms: u64,
        limits: EncodingLimits,
    ) -> KeyRecords {
        KeyRecords {
            db,
            key,
            meta: Metadata::collection(kind, version, expire_ms),
            next_index: list::INITIAL_INDEX,
            limits,
        }
    }

    pub fn kind(&self) -> KeyType {
        self.meta.kind
    }

    pub fn list_item(&mut self, batch: &mut Batch, item: &[u8]) {
        let sub = self.next_index.to_be_bytes();
        batch.put(Cf::Data, self.subkey(&sub), item.to_vec());
        self.next_index += 1;
        self.meta.size += 1;
    }

    pub fn set_member(&mut self, batch: &mut Batch, member: &[u8]) {
        batch.put(Cf::Data, self.subkey(member), Vec::new());
        set::note_member(&mut self.meta, member);
        self.meta.size += 1;
    }

    pub fn hash_field(&mut self, batch: &mut Batch, field: &[u8], value: &[u8]) {
        batch.put(Cf::Data, self.subkey(field), value.to_vec());
        let max = self.limits.hash.max_value;
        if field.len() as u64 > max || value.len() as u64 > max {
            self.meta.payload = Bytes::from_static(&[hash::HASHTABLE]);
        }
        self.meta.size += 1;
    }

    pub fn zset_member(&mut self, batch: &mut Batch, member: &[u8], score: f64) {
        let score = zset::normalize(score);
        batch.put(
            Cf::Data,
            self.subkey(member),
            zset::score_value(score).to_vec(),
        );
        batch.put(
            Cf::ZScore,
            self.subkey(&zset::score_sub(score, member)),
            Vec::new(),
        );
        self.meta.size += 1;
    }

    /// Writes the metadata record (and the expiry index entry); `None` for
    /// a collection that received no element (Redis skips empty ones).
    pub fn finish(self, batch: &mut Batch) -> Option<Metadata> {
        let (db, key) = (self.db, self.key.clone());
        let meta = self.into_meta()?;
        put_meta(batch, db, &key, &meta);
        Some(meta)
    }

    /// The finished metadata record, not written: for a caller that stores
    /// it through a `WriteSet` (RESTORE, which keeps the key counters), the
    /// elements having gone into that write set's batch. `None` when empty.
    pub fn into_meta(mut self) -> Option<Metadata> {
        if self.meta.size == 0 {
            return None;
        }
        match self.meta.kind {
            KeyType::List => {
                let mut payload = Vec::with_capacity(16);
                payload.extend_from_slice(&list::INITIAL_INDEX.to_be_bytes());
                payload.extend_from_slice(&self.next_index.to_be_bytes());
                self.meta.payload = Bytes::from(payload);
            }
            KeyType::Hash if self.meta.size > self.limits.hash.max_entries => {
                self.meta.payload = Bytes::from_static(&[hash::HASHTABLE]);
            }
            KeyType::Set => set::note_size(&mut self.meta, self.limits.set_max_intset_entries),
            _ => {}
        }
        Some(self.meta)
    }

    fn subkey(&self, sub: &[u8]) -> Vec<u8> {
        encoding::subkey(self.db, &self.key, self.meta.version, sub)
    }
}

/// Writes a string key's records.
pub fn string_records(batch: &mut Batch, db: u8, key: &[u8], value: Bytes, expire_ms: u64) {
    put_meta(batch, db, key, &Metadata::string(value, expire_ms));
}

fn put_meta(batch: &mut Batch, db: u8, key: &[u8], meta: &Metadata) {
    batch.put(Cf::Meta, encoding::meta_key(db, key), meta.encode());
    if meta.expire_ms != 0 {
        batch.put(
            Cf::Expire,
            encoding::expire_index_key(db, meta.expire_ms, key),
            Vec::new(),
        );
    }
}

/// Key and expiry counts of one physical database, as loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadedCounts {
    pub keys: u64,
    pub expires: u64,
}

/// Writes many keys straight to the engine, in batches of about
/// [`BulkLoader::BATCH_BYTES`], into databases no command reads.
pub struct BulkLoader<'a> {
    engine: &'a dyn Engine,
    batch: Batch,
    batch_bytes: usize,
    counts: Vec<LoadedCounts>,
    open: Option<KeyRecords>,
}

impl<'a> BulkLoader<'a> {
    /// Records per engine write: large enough to amortise the write, small
    /// enough to bound memory.
    pub const BATCH_BYTES: usize = 4 << 20;

    pub fn new(engine: &'a dyn Engine) -> BulkLoader<'a> {
        BulkLoader {
            engine,
            batch: Batch::new(),
            batch_bytes: 0,
            counts: vec![LoadedCounts::default(); super::keyspace::MAX_DATABASES],
            open: None,
        }
    }

    pub fn string(&mut self, db: u8, key: &[u8], value: Bytes, expire_ms: u64) -> EngineResult<()> {
        self.grow(key.len() + value.len() + 32)?;
        string_records(&mut self.batch, db, key, value, expire_ms);
        self.count(db, expire_ms);
        Ok(())
    }

    /// Opens a collection; its elements follow, then [`end_key`](Self::end_key).
    pub fn begin(&mut self, records: KeyRecords) {
        self.open = Some(records);
    }

    pub fn list_items(&mut self, items: &[Bytes]) -> EngineResult<()> {
        for item in items {
            self.grow(item.len() + 40)?;
            if let Some(r) = self.open.as_mut() {
                r.list_item(&mut self.batch, item);
            }
        }
        Ok(())
    }

    pub fn set_members(&mut self, members: &[Bytes]) -> EngineResult<()> {
        for m in members {
            self.grow(m.len() + 40)?;
            if let Some(r) = self.open.as_mut() {
                r.set_member(&mut self.batch, m);
            }
        }
        Ok(())
    }

    pub fn hash_fields(&mut self, pairs: &[(Bytes, Bytes)]) -> EngineResult<()> {
        for (f, v) in pairs {
            self.grow(f.len() + v.len() + 40)?;
            if let Some(r) = self.open.as_mut() {
                r.hash_field(&mut self.batch, f, v);
            }
        }
        Ok(())
    }

    pub fn zset_members(&mut self, members: &[(Bytes, f64)]) -> EngineResult<()> {
        for (m, s) in members {
            self.grow(2 * m.len() + 80)?;
            if let Some(r) = self.open.as_mut() {
                r.zset_member(&mut self.batch, m, *s);
            }
        }
        Ok(())
    }

    /// Closes the open collection, writing its metadata.
    pub fn end_key(&mut self) -> EngineResult<()> {
        if let Some(r) = self.open.take() {
            let db = r.db;
            if let Some(meta) = r.finish(&mut self.batch) {
                self.count(db, meta.expire_ms);
            }
        }
        Ok(())
    }

    /// Writes what is pending and returns the counts per physical database.
    pub fn finish(mut self) -> EngineResult<Vec<LoadedCounts>> {
        self.write_pending()?;
        Ok(self.counts)
    }

    fn count(&mut self, db: u8, expire_ms: u64) {
        let c = &mut self.counts[db as usize];
        c.keys += 1;
        c.expires += (expire_ms != 0) as u64;
    }

    /// Writes the batch out first when `more` bytes would overflow it (an
    /// open collection's elements may span batches: nobody reads these
    /// databases before the load completes).
    fn grow(&mut self, more: usize) -> EngineResult<()> {
        if self.batch_bytes + more > Self::BATCH_BYTES {
            self.write_pending()?;
        }
        self.batch_bytes += more;
        Ok(())
    }

    fn write_pending(&mut self) -> EngineResult<()> {
        if !self.batch.is_empty() {
            self.engine.write(&std::mem::take(&mut self.batch))?;
        }
        self.batch_bytes = 0;
        Ok(())
    }
}
