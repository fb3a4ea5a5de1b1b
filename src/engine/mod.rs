//! The storage engine boundary.
//!
//! Everything above this module speaks in column families, byte keys, atomic
//! batches and ordered iterators; nothing above it names RocksDB. A second
//! backend (the persistent-memory tier) implements the same [`Engine`] trait,
//! and the types layer cannot tell them apart.

mod batch;
#[cfg(test)]
pub mod conformance;
pub use batch::{Batch, BatchOp};
mod offload;
pub use offload::OffloadPolicy;
pub mod pmem;
pub mod record_cache;
mod record_table;
pub mod rocks;
mod wal_archive;

use std::path::Path;
use std::sync::Arc;

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
    /// The replication backlog's index: where in the engine's log each
    /// stretch of the stream starts (see `types::backlog`).
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
    #[error("unknown engine '{name}' (known engines: {known})")]
    UnknownEngine { name: String, known: String },
    /// The store's files are damaged in a way that cannot be repaired
    /// without losing acknowledged data; the engine refuses to open.
    #[error("storage damaged: {0}")]
    Corrupt(String),
    /// A capacity-bound engine (pmem) has no room for the batch. The text
    /// is the reply clients get: Redis's OOM error, naming the tier's limit.
    #[error("OOM command not allowed when used memory > 'pmem-size'.")]
    Full,
    /// One batch larger than the engine can take atomically.
    #[error("ERR batch of {size} bytes is larger than the storage engine's limit of {limit}")]
    BatchTooLarge { size: u64, limit: u64 },
}

pub type EngineResult<T> = Result<T, EngineError>;

/// Block compression of the engine's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Snappy,
    Lz4,
    Zstd,
}

impl Compression {
    /// The names the `rocksdb.compression` directive accepts.
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "none" | "no" => Some(Compression::None),
            "snappy" => Some(Compression::Snappy),
            "lz4" => Some(Compression::Lz4),
            "zstd" => Some(Compression::Zstd),
            _ => None,
        }
    }
}

/// Options for opening an engine; sizes in bytes. The top-level fields mean
/// the same for every backend; knobs only one backend has live in its own
/// nested struct, which the others ignore.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The read cache shared by all column families.
    pub cache_size: usize,
    /// What all in-memory write buffers together may hold before they are
    /// written out (RocksDB: every memtable of every column family).
    pub memtable_budget: usize,
    pub compression: Compression,
    /// Threads for background work (RocksDB: flushes and compactions).
    pub background_jobs: i32,
    /// How much of its log (all batches, data and log-only bytes) the engine
    /// keeps readable through [`Engine::read_log`] after the data reached
    /// its files; 0 keeps only what recovery needs.
    pub log_retention: u64,
    pub rocksdb: RocksOptions,
    pub pmem: PmemOptions,
    /// The record cache in front of the engine (`record-cache-size`,
    /// `record_cache`), bytes; 0 reads the engine every time.
    pub record_cache: u64,
}

/// Knobs of the persistent-memory engine.
#[derive(Debug, Clone)]
pub struct PmemOptions {
    /// The directory of the store's file (`pmem-path`); `None`: the data
    /// directory the engine is opened on.
    pub path: Option<std::path::PathBuf>,
    /// Capacity in bytes (`pmem-size`), allocated when the file is created.
    pub size: u64,
}

/// RocksDB-only knobs.
#[derive(Debug, Clone)]
pub struct RocksOptions {
    /// Memtables per column family before writes stall; one memtable is
    /// `memtable_budget / max_write_buffer_number` bytes.
    pub max_write_buffer_number: i32,
    /// Immutable memtables a flush waits for and merges into one file
    /// (at most `max_write_buffer_number - 1`): the memtable being written
    /// stays small, and L0 files stay as large as one big memtable's.
    pub min_write_buffer_number_to_merge: i32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            cache_size: 256 << 20,
            memtable_budget: 64 << 20,
            compression: Compression::Lz4,
            background_jobs: 4,
            log_retention: 0,
            rocksdb: RocksOptions {
                max_write_buffer_number: 16,
                min_write_buffer_number_to_merge: 4,
            },
            pmem: PmemOptions {
                path: None,
                size: 1 << 30,
            },
            record_cache: 64 << 20,
        }
    }
}

impl EngineOptions {
    /// Small caches and 1 MiB write buffers, so unit tests reach flushes and
    /// compactions with little data.
    pub fn small() -> Self {
        Self {
            cache_size: 8 << 20,
            memtable_budget: 4 << 20,
            // Four 1 MiB memtables, each flushed alone.
            rocksdb: RocksOptions {
                max_write_buffer_number: 4,
                min_write_buffer_number_to_merge: 1,
            },
            // Small, so tests that write more than this evict.
            record_cache: 1 << 20,
            pmem: PmemOptions {
                path: None,
                size: 64 << 20,
            },
            ..Self::default()
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
///
/// `meta` reads the *latest* state, not the state a snapshot sees, so a
/// record stale now may still be live in an open snapshot (a collection
/// deleted after the snapshot was taken). The engine's contract: compaction
/// never removes a record while any [`EngineSnapshot`] is open. A backend
/// asks the policy, then checks for open snapshots, and removes only when
/// there are none: a snapshot opened after that check sees the metadata
/// change that made the record stale (it was visible to the lookup), so the
/// record is stale in that snapshot too. This needs one promise from the
/// policy: a record it calls stale never becomes live again (subkey
/// versions are never reused). The cost: while a snapshot is open nothing
/// is reclaimed, and the stale records written into new files meanwhile
/// wait for those files' next compaction.
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

/// A consistent point-in-time view of the whole store (every column
/// family), from [`Engine::snapshot`].
///
/// It owns what it needs: it may be moved to another thread and held for
/// minutes (a full sync) while writes go on, and it keeps the store open
/// even if every other handle is dropped. Compaction never removes a record
/// a live snapshot sees (see [`CompactionPolicy`]). Holding one has a cost:
/// the engine keeps every version written since, so drop it when done.
pub trait EngineSnapshot: Send + Sync + 'static {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>>;
    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>>;
    /// An iterator over `cf` as of the snapshot, restricted to `[lower, upper)`.
    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_>;
}

/// Engine figures for INFO (`# Engine`) and metrics. The top-level fields
/// mean the same for every backend; a backend's own figures go in its
/// nested struct and INFO section.
#[derive(Debug, Default, Clone)]
pub struct EngineStats {
    /// In-memory write buffers not yet written out (RocksDB: memtables).
    pub memtable_bytes: u64,
    pub block_cache_usage: u64,
    pub block_cache_capacity: u64,
    pub block_cache_hits: u64,
    pub block_cache_misses: u64,
    pub estimated_keys: u64,
    /// Microseconds writes were held back by the engine.
    pub write_stalls: u64,
    /// Snapshots from [`Engine::snapshot`] alive now.
    pub open_snapshots: u64,
    /// Bytes the record cache holds (`record_cache`), 0 without one.
    pub record_cache_bytes: u64,
    /// Point reads the record cache answered (a record or its absence),
    /// and those it sent to the engine.
    pub record_cache_hits: u64,
    pub record_cache_misses: u64,
    /// RocksDB's own figures (`# RocksDB` in INFO); `None` for other engines.
    pub rocksdb: Option<RocksStats>,
    /// The pmem engine's own figures (`# PMem` in INFO).
    pub pmem: Option<PmemStats>,
}

/// Figures only the persistent-memory engine has.
#[derive(Debug, Default, Clone)]
pub struct PmemStats {
    /// The tier's size (`pmem-size` when the file was created).
    pub capacity_bytes: u64,
    /// Bytes written into segments in use, live or not.
    pub used_bytes: u64,
    /// Bytes of records the index or the retained log still points at.
    pub live_bytes: u64,
    /// Bytes writes can still take: free segments plus the head's room.
    pub free_bytes: u64,
    pub segment_bytes: u64,
    pub segments: u64,
    pub free_segments: u64,
    /// How a range is made durable: `clwb+sfence`, `clflushopt+sfence`,
    /// `clflush+sfence` (DAX mapping with MAP_SYNC) or `msync`.
    pub persist_method: &'static str,
    pub dax: bool,
    /// The index rebuild at start: how long, and how many keys.
    pub rebuild_ms: u64,
    pub rebuild_keys: u64,
    /// Log-only bytes (the replication log) retained for `read_log`.
    pub log_bytes: u64,
    pub cleaned_segments: u64,
    pub relocated_bytes: u64,
    /// Records the compaction policy removed during cleaning.
    pub compaction_removed: u64,
    /// Cleaning passes stopped because a snapshot or iterator was open.
    pub compaction_kept_for_snapshots: u64,
    /// Writes refused because the tier was full.
    pub full_errors: u64,
    /// Persist calls (`sync_wal`, `flush`, closes).
    pub persists: u64,
}

/// Figures only RocksDB has.
#[derive(Debug, Default, Clone)]
pub struct RocksStats {
    pub sst_bytes: u64,
    pub pending_compaction_bytes: u64,
    pub num_running_compactions: u64,
    pub num_running_flushes: u64,
    /// Snapshots RocksDB holds (ours plus its own short-lived ones).
    pub num_snapshots: u64,
    /// Versions of the LSM tree kept alive by iterators and snapshots.
    pub num_live_versions: u64,
    /// Stale records compaction kept because a snapshot was open.
    pub compaction_kept_for_snapshots: u64,
    /// Records the compaction policy removed.
    pub compaction_removed: u64,
    /// Point reads moved off a network worker (`rocksdb.read-offload`; a
    /// multi-get counts once).
    pub reads_offloaded: u64,
    /// Moving average of a point read on a worker, µs (what `auto` decides
    /// on; in offload mode, of the reads that missed the cache only).
    pub read_avg_us: u64,
}

/// The smallest key after `key`: the exclusive upper bound of a range
/// that ends with `key`.
pub fn key_after(key: &[u8]) -> Vec<u8> {
    let mut after = Vec::with_capacity(key.len() + 1);
    after.extend_from_slice(key);
    after.push(0);
    after
}

/// An ordered key-value store with column families, atomic batches and
/// consistent iterators. Implementations are shared between threads.
pub trait Engine: Send + Sync + 'static {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>>;
    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>>;
    /// A hint that `keys` of `cf` are about to be read, one after another
    /// (a pipeline's commands): a backend may start loading them so their
    /// memory latencies overlap. Reads nothing, changes nothing.
    fn prefetch(&self, _cf: Cf, _keys: &[&[u8]]) {}
    /// [`get`](Engine::get) of a record the caller is about to delete (a
    /// popped list element): a cache in front need not keep it.
    fn get_to_delete(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        self.get(cf, key)
    }
    /// Point reads of `keys`, which ascend and are (nearly) all the
    /// records between the first and the last (a list range's elements):
    /// `visit(i, record)` for each key in order. By default one iterator
    /// walks from the first key to the last, which costs less than a seek
    /// per key. `visit` must not call back into the engine.
    fn get_run(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Ok(());
        };
        let upper = key_after(last);
        let mut it = self.iter(cf, Some(first), Some(&upper));
        it.seek(first);
        let mut i = 0;
        while i < keys.len() && it.valid() {
            match it.key().cmp(keys[i]) {
                std::cmp::Ordering::Less => it.next(),
                std::cmp::Ordering::Equal => {
                    visit(i, Some(it.value()));
                    i += 1;
                    it.next();
                }
                std::cmp::Ordering::Greater => {
                    visit(i, None);
                    i += 1;
                }
            }
        }
        it.status()?;
        for j in i..keys.len() {
            visit(j, None);
        }
        Ok(())
    }
    /// [`get_run`](Engine::get_run) of records the caller is about to
    /// delete, as [`get_to_delete`](Engine::get_to_delete).
    fn get_run_to_delete(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        self.get_run(cf, keys, visit)
    }
    /// [`get_run_to_delete`](Engine::get_run_to_delete), for a caller
    /// whose later commands read on past `keys` (a pipeline's next pops of
    /// a list's end): `beyond` makes the keys that follow them at that end,
    /// ascending, adjacent to `keys` (after them or before them). A backend
    /// with a cache may read those too, with the same one iterator, and
    /// keep them, so that most later pops find their records without an
    /// iterator of their own. `beyond` is called at most once, only when
    /// the engine will read them; by default it is not.
    fn get_run_to_delete_ahead(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        _beyond: &mut dyn FnMut() -> Vec<Vec<u8>>,
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        self.get_run_to_delete(cf, keys, visit)
    }
    /// Applies the batch atomically. It is visible to readers on return;
    /// its log record may still sit in an in-process buffer until
    /// [`Engine::flush_wal_buffer`] (so many writes share one `write(2)`),
    /// and is not necessarily fsynced: see [`Engine::sync_wal`].
    fn write(&self, batch: &Batch) -> EngineResult<()>;
    /// [`write`](Engine::write) in three steps, for a caller that orders its
    /// commits under a lock of its own: `prepare_write` before taking it,
    /// `write_prepared` under it, `finish_write` after releasing it (always,
    /// failed or not), each with the same data ops. Work a wrapper does
    /// around the write (the record cache's) then stays out of the caller's
    /// serial section. A backend without such work only writes.
    fn prepare_write(&self, _batch: &Batch) {}
    fn write_prepared(&self, batch: &Batch) -> EngineResult<()> {
        self.write(batch)
    }
    fn finish_write(&self, _batch: &Batch, _applied: bool) {}
    /// Hands buffered log records to the operating system: from here on a
    /// crash of the process cannot lose them (power loss still can).
    fn flush_wal_buffer(&self) -> EngineResult<()>;
    /// Makes every write that returned before this call durable on disk.
    fn sync_wal(&self) -> EngineResult<()>;
    /// An iterator over `cf`, restricted to `[lower, upper)` when given. It
    /// reads the store as it was when the iterator was created.
    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_>;
    /// A point-in-time view of every column family: it sees every write
    /// that returned before this call and none that starts after it.
    fn snapshot(&self) -> Box<dyn EngineSnapshot>;
    /// Flushes memtables to SST files.
    fn flush(&self) -> EngineResult<()>;
    /// Writes a consistent on-disk copy of the whole store into `dir` (hard links where possible).
    fn checkpoint(&self, dir: &Path) -> EngineResult<()>;
    /// Compacts `[start, end)` of `cf` (whole family when both are `None`).
    fn compact_range(&self, cf: Cf, start: Option<&[u8]>, end: Option<&[u8]>);
    fn stats(&self) -> EngineStats;
    /// Total bytes of the store's files on disk.
    fn disk_usage(&self) -> u64;
    /// Visits the log-only bytes ([`Batch::log_data`]) of the batches
    /// committed after sequence number `after`, in commit order, with each
    /// batch's sequence number, until `visit` returns false or the log ends.
    /// Returns false when batches after `after` are no longer in the log
    /// (retention, see [`EngineOptions::log_retention`]); a backend that
    /// cannot tell may start later, and callers check continuity from the
    /// bytes themselves. Every batch that returned from `write` before the
    /// call is visited.
    fn read_log(&self, after: u64, visit: &mut dyn FnMut(u64, &[u8]) -> bool)
        -> EngineResult<bool>;
    /// The sequence number of the last committed batch (0 before any). A
    /// batch written next gets a number above it.
    fn last_seq(&self) -> u64;
    /// A short name for INFO (`rocksdb`): the one [`open`] knows it by.
    fn name(&self) -> &'static str;
    /// When point reads on a network worker that must wait for the device
    /// move off it (`rocksdb.read-offload`, see `offload`). Engines whose
    /// reads never wait for a device ignore it.
    fn set_read_offload(&self, _policy: OffloadPolicy) {}
}

/// Opens one backend: the row of [`ENGINES`] it is registered under.
pub type OpenFn =
    fn(&Path, &EngineOptions, Arc<dyn CompactionPolicy>) -> EngineResult<Arc<dyn Engine>>;

/// A backend [`open`] can start.
pub struct Backend {
    /// The value of the `engine` directive that selects it.
    pub name: &'static str,
    pub open: OpenFn,
}

/// Every backend, by name. Adding a backend is adding its row: the `engine`
/// directive, `strata-server --list-engines`, the conformance suite and the
/// per-engine runs of the types tests (`scripts/test.sh`) all follow.
pub const ENGINES: &[Backend] = &[
    Backend {
        name: "rocksdb",
        open: rocks::RocksEngine::open_shared,
    },
    Backend {
        name: "pmem",
        open: pmem::PmemEngine::open_shared,
    },
];

/// The names in [`ENGINES`], for the `engine` directive's enumeration.
pub const NAMES: &[&str] = &names::<{ ENGINES.len() }>();

const fn names<const N: usize>() -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = ENGINES[i].name;
        i += 1;
    }
    out
}

/// Opens the backend called `name` on `path`.
pub fn open(
    name: &str,
    path: &Path,
    options: &EngineOptions,
    policy: Arc<dyn CompactionPolicy>,
) -> EngineResult<Arc<dyn Engine>> {
    match ENGINES.iter().find(|b| b.name.eq_ignore_ascii_case(name)) {
        Some(b) => {
            let engine = (b.open)(path, options, policy)?;
            Ok(match options.record_cache {
                0 => engine,
                bytes => Arc::new(record_cache::CachedEngine::wrap(engine, bytes)),
            })
        }
        None => Err(EngineError::UnknownEngine {
            name: name.to_string(),
            known: NAMES.join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::engine::conformance::KeepAll;

    #[test]
    fn the_factory_opens_known_engines_by_name_and_refuses_others() {
        assert_eq!(NAMES, ["rocksdb", "pmem"]);
        let dir = tempfile::tempdir().expect("tempdir");
        let e = open(
            "rocksdb",
            dir.path(),
            &EngineOptions::small(),
            Arc::new(KeepAll),
        )
        .expect("open rocksdb");
        assert_eq!(e.name(), "rocksdb");
        assert!(e.stats().rocksdb.is_some());
        drop(e);
        let e = open(
            "PMEM",
            &dir.path().join("pmem"),
            &EngineOptions::small(),
            Arc::new(KeepAll),
        )
        .expect("open pmem");
        assert_eq!(e.name(), "pmem");
        assert!(e.stats().pmem.is_some() && e.stats().rocksdb.is_none());
        drop(e);
        let err = open(
            "nvram",
            dir.path(),
            &EngineOptions::small(),
            Arc::new(KeepAll),
        )
        .err()
        .expect("unknown engine refused");
        assert_eq!(
            err.to_string(),
            "unknown engine 'nvram' (known engines: rocksdb, pmem)"
        );
    }

    #[test]
    fn compression_names_are_the_directive_values() {
        for (name, c) in [
            ("none", Compression::None),
            ("snappy", Compression::Snappy),
            ("LZ4", Compression::Lz4),
            ("zstd", Compression::Zstd),
        ] {
            assert_eq!(Compression::from_name(name), Some(c));
        }
        assert_eq!(Compression::from_name("gzip"), None);
    }
}
