//! The RocksDB backend of [`Engine`](super::Engine).
//!
//! One RocksDB instance with one column family per [`Cf`], sharing a single
//! LRU block cache, so memory is bounded by configuration (block cache plus
//! memtables), never by the size of the dataset.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use rocksdb::compaction_filter::{CompactionFilter, Decision};
use rocksdb::compaction_filter_factory::{CompactionFilterContext, CompactionFilterFactory};
use rocksdb::statistics::{StatsLevel, Ticker};
use rocksdb::{
    BlockBasedIndexType, BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType,
    DBRawIteratorWithThreadMode, ErrorKind, Options, ReadOptions, ReadTier, SnapshotWithThreadMode,
    WriteBatch, WriteOptions, DB,
};

use super::offload::{Mode, OffloadPolicy, ReadOffload};
use super::{
    Batch, BatchOp, Cf, CompactionDecision, CompactionPolicy, Compression, Engine, EngineError,
    EngineIter, EngineOptions, EngineResult, EngineSnapshot, EngineStats, MetaLookup, RocksStats,
};

impl From<rocksdb::Error> for EngineError {
    fn from(e: rocksdb::Error) -> Self {
        EngineError::Backend(e.into_string())
    }
}

pub struct RocksEngine {
    db: Arc<DB>,
    snapshots: Arc<SnapshotGate>,
    path: PathBuf,
    cache: Cache,
    cache_capacity: u64,
    opts: Options,
    write_opts: WriteOptions,
    /// Point reads from every tier.
    read_any: ReadOptions,
    /// Point reads from the memtables and the block cache only: RocksDB
    /// answers `Incomplete` where the file would be read (`offload`).
    read_cached: ReadOptions,
    offload: ReadOffload,
}

/// Gives compaction threads read access to the metadata family. The DB is
/// opened after its options (which own the filter factories) are built, so
/// the factories reach it through this late-bound weak handle.
#[derive(Clone, Default)]
struct LateDb(Arc<OnceLock<Weak<DB>>>);

impl MetaLookup for Arc<DB> {
    fn get_meta(&self, key: &[u8]) -> Option<Vec<u8>> {
        let cf = self.cf_handle(Cf::Meta.name())?;
        self.get_cf(cf, key).ok().flatten()
    }
}

/// Open snapshots, shared by the engine, its snapshots and the compaction
/// filters: RocksDB's compaction filters ignore snapshots, so the filters
/// themselves must not remove what a snapshot sees (the contract on
/// [`CompactionPolicy`]).
#[derive(Default)]
struct SnapshotGate {
    open: AtomicU64,
    /// Records compaction did not remove because a snapshot was open.
    kept: AtomicU64,
    /// Records the policy removed.
    removed: AtomicU64,
}

impl SnapshotGate {
    fn any_open(&self) -> bool {
        self.open.load(Ordering::SeqCst) > 0
    }
}

/// One open snapshot as counted by the gate; dropping it uncounts it.
struct OpenSnapshot(Arc<SnapshotGate>);

impl OpenSnapshot {
    fn enter(gate: &Arc<SnapshotGate>) -> Self {
        gate.open.fetch_add(1, Ordering::SeqCst);
        OpenSnapshot(gate.clone())
    }
}

impl Drop for OpenSnapshot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

struct PolicyFactory {
    cf: Cf,
    name: std::ffi::CString,
    policy: Arc<dyn CompactionPolicy>,
    db: LateDb,
    snapshots: Arc<SnapshotGate>,
}

struct PolicyFilter {
    cf: Cf,
    name: std::ffi::CString,
    policy: Arc<dyn CompactionPolicy>,
    db: Option<Arc<DB>>,
    snapshots: Arc<SnapshotGate>,
    /// Counted locally and added to the gate's totals once, on drop.
    kept: u64,
    removed: u64,
}

impl PolicyFilter {
    fn decide(&mut self, key: &[u8], value: &[u8]) -> CompactionDecision {
        // Without the DB we cannot prove a record stale: keep it.
        let Some(db) = &self.db else {
            return CompactionDecision::Keep;
        };
        // Cheap early answer while a snapshot is open: nothing is removed.
        if self.snapshots.any_open() {
            self.kept += 1;
            return CompactionDecision::Keep;
        }
        if self.policy.decide(self.cf, key, value, db) == CompactionDecision::Keep {
            return CompactionDecision::Keep;
        }
        // Checked again *after* the policy read the metadata. A snapshot
        // counted before this load may predate the change that made the
        // record stale: keep the record. One counted after it gets its
        // sequence number after the change the lookup saw (`snapshot`
        // counts first, then asks RocksDB for the snapshot), so the record
        // is stale in that snapshot too.
        if self.snapshots.any_open() {
            self.kept += 1;
            return CompactionDecision::Keep;
        }
        self.removed += 1;
        CompactionDecision::Remove
    }
}

impl Drop for PolicyFilter {
    fn drop(&mut self) {
        self.snapshots.kept.fetch_add(self.kept, Ordering::Relaxed);
        self.snapshots
            .removed
            .fetch_add(self.removed, Ordering::Relaxed);
    }
}

impl CompactionFilter for PolicyFilter {
    fn filter(&mut self, _level: u32, key: &[u8], value: &[u8]) -> Decision {
        match self.decide(key, value) {
            CompactionDecision::Keep => Decision::Keep,
            CompactionDecision::Remove => Decision::Remove,
        }
    }
    fn name(&self) -> &std::ffi::CStr {
        &self.name
    }
}

impl CompactionFilterFactory for PolicyFactory {
    type Filter = PolicyFilter;
    fn create(&mut self, _context: CompactionFilterContext) -> PolicyFilter {
        PolicyFilter {
            cf: self.cf,
            name: self.name.clone(),
            policy: self.policy.clone(),
            db: self.db.0.get().and_then(Weak::upgrade),
            snapshots: self.snapshots.clone(),
            kept: 0,
            removed: 0,
        }
    }
    fn name(&self) -> &std::ffi::CStr {
        &self.name
    }
}

fn compression(c: Compression) -> DBCompressionType {
    match c {
        Compression::None => DBCompressionType::None,
        Compression::Snappy => DBCompressionType::Snappy,
        Compression::Lz4 => DBCompressionType::Lz4,
        Compression::Zstd => DBCompressionType::Zstd,
    }
}

fn cf_handle(db: &DB, cf: Cf) -> &rocksdb::ColumnFamily {
    // Every Cf is created at open, so the handle always exists.
    db.cf_handle(cf.name())
        .expect("column family created at open")
}

fn bounded_read_options(lower: Option<&[u8]>, upper: Option<&[u8]>) -> ReadOptions {
    let mut ro = ReadOptions::default();
    if let Some(l) = lower {
        ro.set_iterate_lower_bound(l.to_vec());
    }
    if let Some(u) = upper {
        ro.set_iterate_upper_bound(u.to_vec());
    }
    ro
}

/// The log-only record of a serialized write batch, when it has one: our
/// writer puts it first. Layout (RocksDB `write_batch.cc`): an 8-byte
/// sequence number and a 4-byte count, then records; a log-data record is
/// tag 0x03, a varint32 length and the bytes.
fn log_data_of(rep: &[u8]) -> Option<&[u8]> {
    const HEADER: usize = 12;
    const LOG_DATA: u8 = 0x03;
    if *rep.get(HEADER)? != LOG_DATA {
        return None;
    }
    let mut len: u64 = 0;
    let mut pos = HEADER + 1;
    for shift in (0..35).step_by(7) {
        let b = *rep.get(pos)?;
        pos += 1;
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return rep.get(pos..pos.checked_add(len as usize)?);
        }
    }
    None
}

fn multi_get(
    db: &DB,
    cf: Cf,
    keys: &[&[u8]],
    ro: &ReadOptions,
) -> EngineResult<Vec<Option<Vec<u8>>>> {
    db.batched_multi_get_cf_opt(cf_handle(db, cf), keys.iter(), false, ro)
        .into_iter()
        .map(|r| r.map(|v| v.map(|s| s.to_vec())).map_err(Into::into))
        .collect()
}

impl RocksEngine {
    pub fn open(
        path: &Path,
        options: &EngineOptions,
        policy: Arc<dyn CompactionPolicy>,
    ) -> EngineResult<Self> {
        std::fs::create_dir_all(path)?;
        let cache = Cache::new_lru_cache(options.cache_size);
        // The memtable budget is shared out evenly: each family may hold
        // `max_write_buffer_number` memtables of this size.
        let buffers = options.rocksdb.max_write_buffer_number.max(2);
        let write_buffer_size = (options.memtable_budget / buffers as usize).max(64 << 10);
        let merged = options
            .rocksdb
            .min_write_buffer_number_to_merge
            .clamp(1, buffers - 1);
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        table.set_bloom_filter(10.0, false);
        table.set_cache_index_and_filter_blocks(true);
        table.set_pin_l0_filter_and_index_blocks_in_cache(true);
        // Partitioned index and filters: a big SST's whole filter (megabytes
        // for millions of keys) is larger than one shard of the LRU cache,
        // so it was never cached and every point read re-read and
        // re-checksummed it from the file (90% of CPU in a benchmark of
        // HGET on a 1M-field hash once compaction had built such a file).
        // Partitions are small blocks the cache holds; the top level of
        // each file stays pinned.
        table.set_index_type(BlockBasedIndexType::TwoLevelIndexSearch);
        table.set_partition_filters(true);
        table.set_metadata_block_size(4096);
        table.set_pin_top_level_index_and_filter(true);
        table.set_format_version(5);

        let mut db_opts = Options::default();
        db_opts.create_if_missing(true);
        db_opts.create_missing_column_families(true);
        db_opts.set_max_background_jobs(options.background_jobs);
        db_opts.enable_statistics();
        // Tickers only (block cache hits and misses, stalls): histograms
        // cost ~150 instructions per read and nothing reads them.
        db_opts.set_statistics_level(StatsLevel::ExceptHistogramOrTimers);
        // Writers do not spin waiting for the write group's leader: on a
        // machine with few cores the spinning steals the leader's core.
        db_opts.set_enable_write_thread_adaptive_yield(false);
        db_opts.set_keep_log_file_num(4);
        // Group commit: log records collect in memory and the keyspace
        // flushes them once per round of ready connections, before any reply
        // that depends on them is sent (one write(2) for many commands).
        db_opts.set_manual_wal_flush(true);
        // Bound memory and disk by configuration, not by the number of
        // column families: all memtables together stay within one CF's
        // budget, and once the WAL outgrows that budget the families that
        // pin its oldest file are flushed (otherwise a family with rare
        // small writes, like `state`, keeps every WAL file alive). Not less:
        // the log holds the memtables waiting to be merged by one flush.
        db_opts.set_db_write_buffer_size(options.memtable_budget);
        db_opts.set_max_total_wal_size(options.memtable_budget as u64);
        // Log files the data no longer needs move to `archive/` and stay
        // there, readable by `read_log`, up to this size. RocksDB checks the
        // limit every ten minutes; our own thread checks it every second
        // (`wal_archive`), so the archive runs over it by at most what is
        // written in a second. Never less than two memtable budgets:
        // the log records written since the last flush of every family
        // must survive one more flush (a restart reads them).
        let retention = options
            .log_retention
            .max(options.memtable_budget as u64 * 2)
            .max(64 << 20);
        db_opts.set_wal_ttl_seconds(0);
        db_opts.set_wal_size_limit_mb(retention.div_ceil(1 << 20));
        // The unused `default` family shares the configured cache too, so no
        // memory is reserved outside the configured bounds.
        db_opts.set_block_based_table_factory(&table);

        let late = LateDb::default();
        let snapshots = Arc::new(SnapshotGate::default());
        let mut descriptors = Vec::new();
        for cf in Cf::ALL {
            let mut o = Options::default();
            o.set_block_based_table_factory(&table);
            o.set_write_buffer_size(write_buffer_size);
            o.set_max_write_buffer_number(buffers);
            o.set_min_write_buffer_number_to_merge(merged);
            o.set_compression_type(compression(options.compression));
            o.set_level_compaction_dynamic_level_bytes(true);
            // A point read asks every memtable of its family, up to
            // `max_write_buffer_number` of them: a bloom filter per memtable
            // lets it skip the ones without its key. Only where point reads
            // happen: adding a key to the filter costs every insert (6% of
            // LPUSH -P16's worker samples, measured with filters at 10% of the
            // memtable), and the score and expiry indexes are only scanned.
            if matches!(cf, Cf::Meta | Cf::Data) {
                o.set_memtable_whole_key_filtering(true);
                o.set_memtable_prefix_bloom_ratio(0.02);
            }
            if policy.applies_to(cf) {
                o.set_compaction_filter_factory(PolicyFactory {
                    cf,
                    name: std::ffi::CString::new(format!("strata-{}", cf.name()))
                        .expect("no NUL in name"),
                    policy: policy.clone(),
                    db: late.clone(),
                    snapshots: snapshots.clone(),
                });
            }
            descriptors.push(ColumnFamilyDescriptor::new(cf.name(), o));
        }
        let db = Arc::new(DB::open_cf_descriptors(&db_opts, path, descriptors)?);
        let _ = late.0.set(Arc::downgrade(&db));
        super::wal_archive::start(path, retention, Arc::downgrade(&db));
        let mut write_opts = WriteOptions::default();
        write_opts.set_sync(false);
        let mut read_cached = ReadOptions::default();
        read_cached.set_read_tier(ReadTier::BlockCache);
        Ok(Self {
            db,
            snapshots,
            path: path.to_path_buf(),
            cache,
            cache_capacity: options.cache_size as u64,
            opts: db_opts,
            write_opts,
            read_any: ReadOptions::default(),
            read_cached,
            offload: ReadOffload::default(),
        })
    }

    /// [`open`](Self::open) for the engine table ([`super::ENGINES`]).
    pub fn open_shared(
        path: &Path,
        options: &EngineOptions,
        policy: Arc<dyn CompactionPolicy>,
    ) -> EngineResult<Arc<dyn Engine>> {
        Ok(Arc::new(Self::open(path, options, policy)?))
    }

    /// A multi-get in [`Mode::Offload`]: the keys the cache cannot answer
    /// are read again, together, off the worker; the others keep their
    /// cached answer.
    fn multi_get_offloaded(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        let mut values = Vec::with_capacity(keys.len());
        let mut missed = Vec::new();
        let cached =
            self.db
                .batched_multi_get_cf_opt(self.cf(cf), keys.iter(), false, &self.read_cached);
        for (i, r) in cached.into_iter().enumerate() {
            match r {
                Ok(v) => values.push(v.map(|s| s.to_vec())),
                Err(e) if e.kind() == ErrorKind::Incomplete => {
                    missed.push(i);
                    values.push(None);
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !missed.is_empty() {
            let rest: Vec<&[u8]> = missed.iter().map(|&i| keys[i]).collect();
            let read = self.offload.off_worker(rest.len(), || {
                multi_get(&self.db, cf, &rest, &self.read_any)
            })?;
            for (i, v) in missed.into_iter().zip(read) {
                values[i] = v;
            }
        }
        Ok(values)
    }

    fn cf(&self, cf: Cf) -> &rocksdb::ColumnFamily {
        cf_handle(&self.db, cf)
    }

    fn int_property(&self, name: &str) -> u64 {
        Cf::ALL
            .iter()
            .filter_map(|cf| {
                self.db
                    .property_int_value_cf(self.cf(*cf), name)
                    .ok()
                    .flatten()
            })
            .sum()
    }
}

struct RocksIter<'a> {
    it: DBRawIteratorWithThreadMode<'a, DB>,
    /// In [`Mode::Offload`] only: see [`SeekProbe`].
    probe: Option<SeekProbe<'a>>,
}

/// A cache-only twin of an iterator (`ReadTier::BlockCache`, same bounds)
/// that tells whether a seek would read a file: the seek then runs off the
/// worker (`offload`). It only decides where the real iterator's seek runs,
/// never what it returns, so a twin that sees another version of the data
/// costs at most a wrong guess. Steps (`next`, `prev`) run on the worker:
/// after a seek their blocks are usually the one just read.
struct SeekProbe<'a> {
    twin: DBRawIteratorWithThreadMode<'a, DB>,
    offload: &'a ReadOffload,
}

impl RocksIter<'_> {
    /// Runs a seek on the real iterator, off the worker when its twin says
    /// the seek reads a file.
    fn seek_with(&mut self, seek: impl Fn(&mut DBRawIteratorWithThreadMode<'_, DB>)) {
        let Some(probe) = &mut self.probe else {
            return seek(&mut self.it);
        };
        seek(&mut probe.twin);
        let misses = !probe.twin.valid()
            && probe
                .twin
                .status()
                .is_err_and(|e| e.kind() == ErrorKind::Incomplete);
        if misses {
            let it = &mut self.it;
            probe.offload.off_worker(1, || seek(it));
        } else {
            seek(&mut self.it);
        }
    }
}

impl EngineIter for RocksIter<'_> {
    fn seek(&mut self, key: &[u8]) {
        self.seek_with(|it| it.seek(key))
    }
    fn seek_for_prev(&mut self, key: &[u8]) {
        self.seek_with(|it| it.seek_for_prev(key))
    }
    fn seek_to_first(&mut self) {
        self.seek_with(|it| it.seek_to_first())
    }
    fn seek_to_last(&mut self) {
        self.seek_with(|it| it.seek_to_last())
    }
    fn valid(&self) -> bool {
        self.it.valid()
    }
    fn next(&mut self) {
        self.it.next()
    }
    fn prev(&mut self) {
        self.it.prev()
    }
    fn key(&self) -> &[u8] {
        self.it.key().unwrap_or_default()
    }
    fn value(&self) -> &[u8] {
        self.it.value().unwrap_or_default()
    }
    fn status(&self) -> EngineResult<()> {
        self.it.status().map_err(Into::into)
    }
}

/// A RocksDB snapshot that owns its handle on the DB (see
/// [`RocksEngine::snapshot`](Engine::snapshot)).
// Field order is drop order: `read` and `snap` (which borrow the DB) go
// before `db`, and the snapshot is uncounted (`_open`) only once released.
struct RocksSnapshot {
    /// Reads at the snapshot; points at `snap`, which outlives it.
    read: ReadOptions,
    snap: SnapshotWithThreadMode<'static, DB>,
    db: Arc<DB>,
    _open: OpenSnapshot,
}

impl RocksSnapshot {
    fn read_options(&self, lower: Option<&[u8]>, upper: Option<&[u8]>) -> ReadOptions {
        let mut ro = bounded_read_options(lower, upper);
        ro.set_snapshot(&self.snap);
        ro
    }
}

impl EngineSnapshot for RocksSnapshot {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        Ok(self
            .db
            .get_cf_opt(cf_handle(&self.db, cf), key, &self.read)?)
    }

    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        multi_get(&self.db, cf, keys, &self.read)
    }

    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_> {
        let ro = self.read_options(lower, upper);
        let it = self.db.raw_iterator_cf_opt(cf_handle(&self.db, cf), ro);
        Box::new(RocksIter { it, probe: None })
    }
}

impl Engine for RocksEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        let read = |ro: &ReadOptions| self.db.get_cf_opt(self.cf(cf), key, ro);
        Ok(match self.offload.mode() {
            Mode::Block => read(&self.read_any)?,
            Mode::Inline => self.offload.timed(1, || read(&self.read_any))?,
            Mode::Offload => match read(&self.read_cached) {
                Err(e) if e.kind() == ErrorKind::Incomplete => {
                    self.offload.off_worker(1, || read(&self.read_any))?
                }
                r => r?,
            },
        })
    }

    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        let read = |keys: &[&[u8]]| multi_get(&self.db, cf, keys, &self.read_any);
        match self.offload.mode() {
            Mode::Block => read(keys),
            Mode::Inline => self.offload.timed(keys.len(), || read(keys)),
            Mode::Offload => self.multi_get_offloaded(cf, keys),
        }
    }

    fn write(&self, batch: &Batch) -> EngineResult<()> {
        let mut wb = WriteBatch::default();
        // The log-only record goes first, so `read_log` finds it at a fixed
        // place without parsing the rest of the batch.
        for op in batch.ops() {
            if let BatchOp::LogData(bytes) = op {
                wb.put_log_data(bytes);
            }
        }
        if batch
            .ops()
            .iter()
            .all(|op| matches!(op, BatchOp::LogData(_)))
        {
            // A batch of log data only has no sequence number of its own
            // and the log iterator skips it: give it one record, in the
            // otherwise unused default family.
            wb.put(b"", b"");
        }
        for op in batch.ops() {
            match op {
                BatchOp::LogData(_) => {}
                BatchOp::Put { cf, key, value } => wb.put_cf(self.cf(*cf), key, value),
                BatchOp::Delete { cf, key } => wb.delete_cf(self.cf(*cf), key),
                // RocksDB fails the whole batch on an inverted range.
                BatchOp::DeleteRange { cf, start, end } if start < end => {
                    wb.delete_range_cf(self.cf(*cf), start, end)
                }
                BatchOp::DeleteRange { .. } => {}
            }
        }
        Ok(self.db.write_opt(wb, &self.write_opts)?)
    }

    fn read_log(
        &self,
        after: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> EngineResult<bool> {
        // What sits in the in-process log buffer is not in the files yet.
        self.db.flush_wal(false)?;
        if after >= self.db.latest_sequence_number() {
            return Ok(true);
        }
        // RocksDB reports a log that no longer reaches back this far as
        // NotFound ("gap in sequence numbers") or Corruption, when opening
        // the iterator or on its first step.
        let gone = |e: &rocksdb::Error| {
            matches!(
                e.kind(),
                rocksdb::ErrorKind::NotFound | rocksdb::ErrorKind::Corruption
            )
        };
        let iter = match self.db.get_updates_since(after) {
            Ok(i) => i,
            Err(e) if gone(&e) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        for item in iter {
            let (seq, wb) = match item {
                Ok(x) => x,
                Err(e) if gone(&e) => return Ok(false),
                Err(e) => return Err(e.into()),
            };
            if let Some(data) = log_data_of(wb.data()) {
                if !visit(seq, data) {
                    break;
                }
            }
        }
        Ok(true)
    }

    fn last_seq(&self) -> u64 {
        self.db.latest_sequence_number()
    }

    fn flush_wal_buffer(&self) -> EngineResult<()> {
        Ok(self.db.flush_wal(false)?)
    }

    fn sync_wal(&self) -> EngineResult<()> {
        Ok(self.db.flush_wal(true)?)
    }

    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_> {
        let ro = bounded_read_options(lower, upper);
        let it = self.db.raw_iterator_cf_opt(self.cf(cf), ro);
        let probe = (self.offload.mode() == Mode::Offload).then(|| {
            let mut ro = bounded_read_options(lower, upper);
            ro.set_read_tier(ReadTier::BlockCache);
            SeekProbe {
                twin: self.db.raw_iterator_cf_opt(self.cf(cf), ro),
                offload: &self.offload,
            }
        });
        Box::new(RocksIter { it, probe })
    }

    fn snapshot(&self) -> Box<dyn EngineSnapshot> {
        // Counted before RocksDB assigns the snapshot's sequence number: the
        // order the compaction filter's safety argument relies on.
        let open = OpenSnapshot::enter(&self.snapshots);
        let db = self.db.clone();
        // SAFETY: the reference points into the heap allocation of the
        // `Arc<DB>` that the returned `RocksSnapshot` owns a clone of, so
        // the `DB` stays at this address and open for as long as the
        // snapshot exists; the struct's field order releases the snapshot
        // before that clone is dropped. The `'static` borrow never leaves
        // `RocksSnapshot`: its methods borrow `db` for `&self` only.
        let db_ref: &'static DB = unsafe { &*Arc::as_ptr(&db) };
        let snap = db_ref.snapshot();
        let mut read = ReadOptions::default();
        read.set_snapshot(&snap);
        Box::new(RocksSnapshot {
            read,
            snap,
            db,
            _open: open,
        })
    }

    fn flush(&self) -> EngineResult<()> {
        for cf in Cf::ALL {
            self.db.flush_cf(self.cf(cf))?;
        }
        Ok(())
    }

    fn checkpoint(&self, dir: &Path) -> EngineResult<()> {
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        Ok(cp.create_checkpoint(dir)?)
    }

    fn compact_range(&self, cf: Cf, start: Option<&[u8]>, end: Option<&[u8]>) {
        self.db.compact_range_cf(self.cf(cf), start, end);
    }

    fn stats(&self) -> EngineStats {
        let db_property = |name: &str| self.db.property_int_value(name).ok().flatten().unwrap_or(0);
        EngineStats {
            memtable_bytes: self.int_property("rocksdb.cur-size-all-mem-tables"),
            block_cache_usage: self.cache.get_usage() as u64,
            block_cache_capacity: self.cache_capacity,
            block_cache_hits: self.opts.get_ticker_count(Ticker::BlockCacheHit),
            block_cache_misses: self.opts.get_ticker_count(Ticker::BlockCacheMiss),
            estimated_keys: self.int_property("rocksdb.estimate-num-keys"),
            write_stalls: self.opts.get_ticker_count(Ticker::StallMicros),
            open_snapshots: self.snapshots.open.load(Ordering::Relaxed),
            record_cache_bytes: 0,
            record_cache_hits: 0,
            record_cache_misses: 0,
            rocksdb: Some(RocksStats {
                sst_bytes: self.int_property("rocksdb.total-sst-files-size"),
                pending_compaction_bytes: self
                    .int_property("rocksdb.estimate-pending-compaction-bytes"),
                num_running_compactions: db_property("rocksdb.num-running-compactions"),
                num_running_flushes: db_property("rocksdb.num-running-flushes"),
                num_snapshots: db_property("rocksdb.num-snapshots"),
                num_live_versions: self.int_property("rocksdb.num-live-versions"),
                compaction_kept_for_snapshots: self.snapshots.kept.load(Ordering::Relaxed),
                compaction_removed: self.snapshots.removed.load(Ordering::Relaxed),
                reads_offloaded: self.offload.offloaded(),
                read_avg_us: self.offload.read_avg_us(),
            }),
            pmem: None,
        }
    }

    fn disk_usage(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(rd) = std::fs::read_dir(p) else {
                return 0;
            };
            rd.flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => walk(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        }
        walk(&self.path)
    }

    fn set_read_offload(&self, policy: OffloadPolicy) {
        self.offload.set_policy(policy);
    }

    fn name(&self) -> &'static str {
        "rocksdb"
    }
}

#[cfg(test)]
#[path = "rocks_tests.rs"]
mod tests;
