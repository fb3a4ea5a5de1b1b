//! The storage engine boundary.
//!
//! Everything above this module speaks in column families, byte keys, atomic
//! batches and ordered iterators; nothing above it names RocksDB. A second
//! backend (the persistent-memory tier) implements the same [`Engine`] trait,
//! and the types layer cannot tell them apart.

#[cfg(test)]
pub mod conformance;
pub mod rocks;

use std::path::Path;

/// The column families Strata keeps. The encoding of each is documented in
/// `types::encoding`, next to the code that reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cf {
    /// One record per user key: type, expiry, version, size; strings inline.
    Meta,
    /// Subkeys of collections (hash fields, set members, list items, ...).
    Data,
    /// Sorted-set score index: `key|version|score|member -> ""`.
    ZScore,
    /// Expiry index: `expire-ms|db|key -> ""`, so active expiry is O(expired).
    Expire,
    /// Server state that must move atomically with the data: key counters,
    /// the logical-to-physical database map, the replication id and offset.
    State,
    /// The replication stream by offset: `offset u64 BE -> bytes` (see
    /// `types::backlog`).
    Backlog,
}

impl Cf {
    pub const ALL: [Cf; 6] = [
        Cf::Meta,
        Cf::Data,
        Cf::ZScore,
        Cf::Expire,
        Cf::State,
        Cf::Backlog,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Meta => "meta",
            Cf::Data => "data",
            Cf::ZScore => "zscore",
            Cf::Expire => "expire",
            Cf::State => "state",
            Cf::Backlog => "backlog",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("storage error: {0}")]
    Backend(String),
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type EngineResult<T> = Result<T, EngineError>;

/// One change inside a [`Batch`].
#[derive(Debug, Clone)]
pub enum BatchOp {
    Put {
        cf: Cf,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: Cf,
        key: Vec<u8>,
    },
    /// Deletes every key in `[start, end)`.
    DeleteRange {
        cf: Cf,
        start: Vec<u8>,
        end: Vec<u8>,
    },
}

/// An ordered list of changes applied atomically: all or none, even across a crash.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<BatchOp>,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put {
            cf,
            key: key.into(),
            value: value.into(),
        });
    }
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete {
            cf,
            key: key.into(),
        });
    }
    pub fn delete_range(&mut self, cf: Cf, start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::DeleteRange {
            cf,
            start: start.into(),
            end: end.into(),
        });
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Appends `other`'s changes after this batch's.
    pub fn extend(&mut self, other: Batch) {
        self.ops.extend(other.ops);
    }
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }
}

/// Options for opening an engine; sizes in bytes.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub block_cache_size: usize,
    pub write_buffer_size: usize,
    pub max_write_buffer_number: i32,
    pub max_background_jobs: i32,
    /// `none`, `snappy`, `lz4` or `zstd`.
    pub compression: String,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            block_cache_size: 256 << 20,
            write_buffer_size: 64 << 20,
            max_write_buffer_number: 4,
            max_background_jobs: 4,
            compression: "lz4".into(),
        }
    }
}

/// What the compaction of one record should do with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactionDecision {
    Keep,
    Remove,
}

/// Decides, during background compaction, whether a record is stale.
///
/// The engine calls it for every record of the column families it is asked
/// about; `meta` looks up the current metadata record of a user key so the
/// policy can compare versions (see `types::encoding`). Policies live in the
/// types layer: the engine provides the mechanism, not the meaning.
pub trait CompactionPolicy: Send + Sync + 'static {
    fn applies_to(&self, cf: Cf) -> bool;
    fn decide(&self, cf: Cf, key: &[u8], value: &[u8], meta: &dyn MetaLookup)
        -> CompactionDecision;
}

/// Point reads of the metadata column family, usable from compaction threads.
pub trait MetaLookup {
    fn get_meta(&self, key: &[u8]) -> Option<Vec<u8>>;
}

/// A forward or backward cursor over one column family.
///
/// Positioned with `seek`/`seek_for_prev`; `key`/`value` are valid while
/// `valid()` holds. Iterators read a consistent point-in-time view.
pub trait EngineIter {
    fn seek(&mut self, key: &[u8]);
    fn seek_for_prev(&mut self, key: &[u8]);
    fn seek_to_first(&mut self);
    fn seek_to_last(&mut self);
    fn valid(&self) -> bool;
    fn next(&mut self);
    fn prev(&mut self);
    fn key(&self) -> &[u8];
    fn value(&self) -> &[u8];
    /// Surfaces an I/O error that ended iteration early.
    fn status(&self) -> EngineResult<()>;
}

/// Engine figures for INFO and metrics.
#[derive(Debug, Default, Clone)]
pub struct EngineStats {
    pub sst_bytes: u64,
    pub memtable_bytes: u64,
    pub block_cache_usage: u64,
    pub block_cache_capacity: u64,
    pub block_cache_hits: u64,
    pub block_cache_misses: u64,
    pub pending_compaction_bytes: u64,
    pub estimated_keys: u64,
    pub write_stalls: u64,
    pub num_running_compactions: u64,
    pub num_running_flushes: u64,
}

/// An ordered key-value store with column families, atomic batches and
/// consistent iterators. Implementations are shared between threads.
pub trait Engine: Send + Sync + 'static {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>>;
    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>>;
    /// Applies the batch atomically. It is visible to readers on return;
    /// its log record may still sit in an in-process buffer until
    /// [`Engine::flush_wal_buffer`] (so many writes share one `write(2)`),
    /// and is not necessarily fsynced: see [`Engine::sync_wal`].
    fn write(&self, batch: &Batch) -> EngineResult<()>;
    /// Hands buffered log records to the operating system: from here on a
    /// crash of the process cannot lose them (power loss still can).
    fn flush_wal_buffer(&self) -> EngineResult<()>;
    /// Makes every write that returned before this call durable on disk.
    fn sync_wal(&self) -> EngineResult<()>;
    /// An iterator over `cf`, restricted to `[lower, upper)` when given.
    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_>;
    /// Flushes memtables to SST files.
    fn flush(&self) -> EngineResult<()>;
    /// Writes a consistent on-disk copy of the whole store into `dir` (hard links where possible).
    fn checkpoint(&self, dir: &Path) -> EngineResult<()>;
    /// Compacts `[start, end)` of `cf` (whole family when both are `None`).
    fn compact_range(&self, cf: Cf, start: Option<&[u8]>, end: Option<&[u8]>);
    fn stats(&self) -> EngineStats;
    /// Total bytes of the store's files on disk.
    fn disk_usage(&self) -> u64;
    /// A short name for INFO (`rocksdb`).
    fn name(&self) -> &'static str;
}
