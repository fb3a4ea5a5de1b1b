//! Loading a master's RDB into the keyspace (a replica's full resync).
//!
//! The RDB arrives as a byte stream (`rdb::reader` parses it as it comes);
//! every key goes through [`BulkLoader`] into physical databases that no
//! command reads until the load is complete, in large engine batches on the
//! loader's own thread. [`Keyspace::install_load`] then switches to them in
//! one commit, so readers see the old dataset or the new one, never a mix.

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;

use crate::rdb::reader::{KeyKind, KeyMeta, Limits, RdbError, RdbReader, RdbVisitor};
use crate::rdb::stream::Stream;
use crate::types::backlog::ReplPosition;
use crate::types::bulk::{BulkLoader, EncodingLimits, KeyRecords};
use crate::types::load::LoadTarget;
use crate::types::{KeyType, Keyspace};

/// How far a load got, for INFO (`loading:1`, `loading_loaded_bytes`, ...).
#[derive(Default)]
pub struct LoadProgress {
    pub loading: AtomicBool,
    pub started_unix: AtomicU64,
    pub loaded_bytes: AtomicU64,
    pub loaded_keys: AtomicU64,
}

/// Why a load failed. The old dataset stays.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Rdb(#[from] RdbError),
    #[error("storage: {0}")]
    Storage(#[from] crate::types::TypeError),
}

/// The visitor writing an RDB's keys.
struct Loader<'a> {
    bulk: BulkLoader<'a>,
    ks: &'a Keyspace,
    target: &'a LoadTarget,
    limits: EncodingLimits,
    /// The physical database of the current SELECTDB.
    db: u8,
    key: Option<(Bytes, KeyKind, u64)>,
    progress: &'a LoadProgress,
    keys: u64,
    /// The master's `repl-stream-db` AUX field: the database its stream
    /// continues in after the RDB.
    stream_db: Option<usize>,
}

fn visitor_error(msg: String) -> RdbError {
    RdbError::Visitor(msg.into())
}

fn storage(e: crate::engine::EngineError) -> RdbError {
    RdbError::Visitor(Box::new(e))
}

impl RdbVisitor for Loader<'_> {
    fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<(), RdbError> {
        if key == b"repl-stream-db" {
            self.stream_db = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&db| db < self.target.physical.len());
        }
        Ok(())
    }

    fn select_db(&mut self, db: u64) -> Result<(), RdbError> {
        match self.target.physical.get(db as usize) {
            Some(&p) => {
                self.db = p;
                Ok(())
            }
            None => Err(visitor_error(format!(
                "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                self.target.physical.len()
            ))),
        }
    }

    fn function(&mut self, code: Bytes) -> Result<(), RdbError> {
        tracing::warn!(
            "MASTER <-> REPLICA sync: skipping a function library of {} bytes: functions are not supported yet",
            code.len()
        );
        Ok(())
    }

    fn begin_key(&mut self, key: Bytes, kind: KeyKind, meta: KeyMeta) -> Result<(), RdbError> {
        // A replica loads keys already expired too: its master's DEL follows.
        let expire_ms = meta.expire_ms.map_or(0, |ms| ms.max(1) as u64);
        let kind_of = |k: KeyType| {
            KeyRecords::begin(
                self.db,
                key.clone(),
                k,
                self.ks.new_version(),
                expire_ms,
                self.limits,
            )
        };
        match kind {
            KeyKind::String => {}
            KeyKind::List => self.bulk.begin(kind_of(KeyType::List)),
            KeyKind::Set => self.bulk.begin(kind_of(KeyType::Set)),
            KeyKind::ZSet => self.bulk.begin(kind_of(KeyType::ZSet)),
            KeyKind::Hash => self.bulk.begin(kind_of(KeyType::Hash)),
            KeyKind::Stream => {}
        }
        self.key = Some((key, kind, expire_ms));
        Ok(())
    }

    fn string(&mut self, value: Bytes) -> Result<(), RdbError> {
        if let Some((key, _, expire_ms)) = &self.key {
            self.bulk
                .string(self.db, key, value, *expire_ms)
                .map_err(storage)?;
        }
        Ok(())
    }

    fn list_items(&mut self, items: &[Bytes]) -> Result<(), RdbError> {
        self.bulk.list_items(items).map_err(storage)
    }

    fn set_members(&mut self, members: &[Bytes]) -> Result<(), RdbError> {
        self.bulk.set_members(members).map_err(storage)
    }

    fn hash_fields(&mut self, pairs: &[(Bytes, Bytes)]) -> Result<(), RdbError> {
        self.bulk.hash_fields(pairs).map_err(storage)
    }

    fn zset_members(&mut self, members: &[(Bytes, f64)]) -> Result<(), RdbError> {
        self.bulk.zset_members(members).map_err(storage)
    }

    fn stream(&mut self, _stream: Stream) -> Result<(), RdbError> {
        let name = self
            .key
            .as_ref()
            .map(|(k, _, _)| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        Err(visitor_error(format!(
            "the master's dataset holds the stream '{name}': streams are not supported yet"
        )))
    }

    fn end_key(&mut self) -> Result<(), RdbError> {
        self.bulk.end_key().map_err(storage)?;
        self.key = None;
        self.keys += 1;
        self.progress
            .loaded_keys
            .store(self.keys, Ordering::Relaxed);
        Ok(())
    }

    fn progress(&mut self, bytes_read: u64) -> Result<(), RdbError> {
        self.progress
            .loaded_bytes
            .store(bytes_read, Ordering::Relaxed);
        Ok(())
    }
}

/// Reads the RDB from `rdb` into fresh physical databases and switches the
/// keyspace to them at `position`. Blocks: run it on a thread of its own.
/// Returns the number of keys loaded.
pub fn load_rdb(
    ks: &Keyspace,
    rdb: &mut dyn Read,
    limits: EncodingLimits,
    position: ReplPosition,
    progress: &LoadProgress,
) -> Result<u64, LoadError> {
    let target = ks.begin_load()?;
    progress.loaded_bytes.store(0, Ordering::Relaxed);
    progress.loaded_keys.store(0, Ordering::Relaxed);
    progress
        .started_unix
        .store(crate::types::now_ms() / 1000, Ordering::Relaxed);
    progress.loading.store(true, Ordering::Relaxed);
    let result = read_into(ks, rdb, limits, &target, progress);
    progress.loading.store(false, Ordering::Relaxed);
    match result {
        Ok((counts, keys, stream_db)) => {
            // Nothing else runs while the map switches.
            let _gate = ks.exclusive_gate();
            ks.install_load(&target, &counts, position, stream_db)?;
            Ok(keys)
        }
        Err(e) => {
            if let Err(clean) = ks.discard_load(&target) {
                tracing::warn!("dropping a failed load's records: {clean}");
            }
            Err(e)
        }
    }
}

fn read_into(
    ks: &Keyspace,
    rdb: &mut dyn Read,
    limits: EncodingLimits,
    target: &LoadTarget,
    progress: &LoadProgress,
) -> Result<(Vec<crate::types::bulk::LoadedCounts>, u64, Option<usize>), LoadError> {
    let mut loader = Loader {
        bulk: BulkLoader::new(ks.engine().as_ref()),
        ks,
        target,
        limits,
        db: target.physical[0],
        key: None,
        progress,
        keys: 0,
        stream_db: None,
    };
    let mut reader = RdbReader::new(
        std::io::BufReader::with_capacity(1 << 16, rdb),
        Limits::default(),
    );
    reader.read_all(&mut loader)?;
    let (keys, stream_db) = (loader.keys, loader.stream_db);
    let counts = loader
        .bulk
        .finish()
        .map_err(crate::types::TypeError::from)?;
    Ok((counts, keys, stream_db))
}
