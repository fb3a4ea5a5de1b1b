//! The persistent-memory backend of [`Engine`](super::Engine): an
//! append-only log of checksummed records in a memory-mapped file, and an
//! ordered DRAM index rebuilt from it at start.
//!
//! It exists for hosts with Optane PMem in App Direct mode (a DAX
//! filesystem): the design follows the published PMem stores (Viper, KVDK,
//! FlatStore): a volatile index plus a persistent record log, never an
//! in-place update of a live record, writes grouped into large sequential
//! appends, recovery by scanning the log. Without the hardware it runs on
//! any file (tmpfs, ext4), with `msync` for persistence.
//!
//! The parts, one per module: [`format`] (the bytes on PMem), [`mapping`]
//! (the mmap and how a range is made durable), [`space`] (segments,
//! capacity, the head), [`index`] (the ordered multi-version index),
//! [`log`] (the retained replication log), [`recovery`] (rebuilding the
//! index at start), [`cleaner`] (segment cleaning) and [`read`] (snapshots
//! and iterators). docs/pmem.md describes the design as a whole.

mod cleaner;
mod format;
mod index;
mod log;
mod mapping;
mod read;
mod recovery;
mod space;

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, RwLock};

use super::{
    Batch, BatchOp, Cf, CompactionPolicy, Engine, EngineError, EngineIter, EngineOptions,
    EngineResult, EngineSnapshot, EngineStats, PmemStats,
};
use format::{cf_code, encode_record, record_len, Kind, Superblock, END_MARKER, SUPERBLOCK_SIZE};
use index::{Family, Loc, Pins, Version};
use log::RetainedLog;
use mapping::Mapping;
use space::{Claim, Space};

/// The store's file inside its directory.
pub const FILE_NAME: &str = "strata.pmem";

/// A batch that deletes and is at most this big may use the delete reserve
/// (see [`space::Claim`]): DEL keeps working on a full tier.
const SMALL_DELETE: u64 = 64 << 10;

/// Everything the engine, its snapshots and its cleaner thread share.
pub(crate) struct Inner {
    map: Mapping,
    state: RwLock<State>,
    pins: Mutex<Pins>,
    policy: Arc<dyn CompactionPolicy>,
    /// Held while ranges taken from [`Space::dirty`] are persisted, so a
    /// sync returns only after every earlier sync's ranges are durable.
    persist_lock: Mutex<()>,
    counters: Counters,
    rebuild_ms: u64,
    rebuild_keys: u64,
    wake: (Mutex<bool>, Condvar),
    stop: AtomicBool,
}

#[derive(Default)]
struct Counters {
    cleaned_segments: AtomicU64,
    relocated_bytes: AtomicU64,
    policy_removed: AtomicU64,
    kept_for_snapshots: AtomicU64,
    full_errors: AtomicU64,
    persists: AtomicU64,
}

/// What the write lock protects: the index, the space and the log position.
pub(crate) struct State {
    families: [Family; 6],
    space: Space,
    log: RetainedLog,
    last_seq: u64,
}

impl State {
    fn family(&self, cf: Cf) -> &Family {
        &self.families[cf_code(cf) as usize]
    }

    fn has_versions_to_sweep(&self) -> bool {
        self.families.iter().any(|f| !f.versioned.is_empty())
    }

    /// Drops the versions kept for pins; call only with no pin open.
    fn sweep(&mut self) {
        let State {
            families, space, ..
        } = self;
        for f in families.iter_mut() {
            f.sweep(&mut |l| space.mark_dead(l));
        }
    }

    fn keys(&self) -> u64 {
        self.families.iter().map(|f| f.len() as u64).sum()
    }
}

impl Inner {
    /// The value bytes of `loc`. Call with the state lock held (read or
    /// write): cleaning frees a segment only under the write lock, after
    /// the index stopped pointing into it.
    fn value(&self, loc: Loc) -> Vec<u8> {
        // SAFETY: committed records are never written again while a lock
        // holder can reach them through the index (see above).
        unsafe { self.map.slice(loc.value_off(), loc.vlen as usize) }.to_vec()
    }

    fn wake_cleaner(&self) {
        let (lock, cv) = &self.wake;
        *lock.lock() = true;
        cv.notify_one();
    }

    /// Persists every range written so far.
    fn persist_dirty(&self) -> EngineResult<()> {
        let _g = self.persist_lock.lock();
        let ranges = std::mem::take(&mut self.state.write().space.dirty);
        for (off, len) in ranges {
            self.map.persist(off, len as usize)?;
        }
        self.counters.persists.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn pin(&self) -> u64 {
        let st = self.state.read();
        let seq = st.last_seq;
        self.pins.lock().add(seq);
        seq
    }

    fn unpin(&self, seq: u64) {
        self.pins.lock().remove(seq);
    }
}

pub struct PmemEngine {
    inner: Arc<Inner>,
    cleaner: Option<std::thread::JoinHandle<()>>,
}

/// The file's geometry for a capacity: about 16 segments, each between
/// 1 MiB and 256 MiB (one batch must fit in one segment).
fn geometry(size: u64) -> Superblock {
    let segment_size = (size / 16).clamp(1 << 20, 256 << 20) & !((1 << 20) - 1);
    Superblock {
        segment_size,
        segment_count: (size / segment_size).max(4),
    }
}

/// Opens (creating and pre-allocating if needed) the file and locks it
/// against a second process.
fn open_file(path: &Path, size: u64) -> EngineResult<(File, Superblock, bool)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Err(EngineError::Backend(format!(
            "{} is in use by another process",
            path.display()
        )));
    }
    let len = file.metadata()?.len();
    if len == 0 {
        let g = geometry(size);
        let total = SUPERBLOCK_SIZE + g.segment_size * g.segment_count;
        // Allocated now, so a full filesystem fails the start rather than
        // a later store into the mapping (SIGBUS).
        // SAFETY: posix_fallocate on a descriptor we own.
        let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, total as libc::off_t) };
        if rc != 0 {
            let _ = std::fs::remove_file(path);
            return Err(EngineError::Io(std::io::Error::from_raw_os_error(rc)));
        }
        return Ok((file, g, true));
    }
    let mut head = [0u8; 40];
    file.read_exact_at(&mut head, 0)?;
    let sb = match Superblock::decode(&head) {
        Ok(Some(sb)) => sb,
        Ok(None) => {
            return Err(EngineError::Corrupt(format!(
                "{}: no superblock (file not initialised)",
                path.display()
            )))
        }
        Err(e) => return Err(EngineError::Corrupt(format!("{}: {e}", path.display()))),
    };
    let want = SUPERBLOCK_SIZE + sb.segment_size * sb.segment_count;
    if len < want || sb.segment_size < 1 << 16 {
        return Err(EngineError::Corrupt(format!(
            "{}: {len} bytes, but the superblock describes {want}",
            path.display()
        )));
    }
    if want != SUPERBLOCK_SIZE + geometry(size).segment_size * geometry(size).segment_count {
        tracing::warn!(
            "pmem: {} keeps its size of {want} bytes (pmem-size applies to new files)",
            path.display()
        );
    }
    Ok((file, sb, false))
}

impl PmemEngine {
    pub fn open(
        path: &Path,
        options: &EngineOptions,
        policy: Arc<dyn CompactionPolicy>,
    ) -> EngineResult<Self> {
        let dir = options
            .pmem
            .path
            .clone()
            .unwrap_or_else(|| path.to_path_buf());
        std::fs::create_dir_all(&dir)?;
        let file_path = dir.join(FILE_NAME);
        let (file, sb, fresh) = open_file(&file_path, options.pmem.size)?;
        let len = SUPERBLOCK_SIZE + sb.segment_size * sb.segment_count;
        let map = Mapping::open(file, len as usize)?;
        if fresh {
            // SAFETY: nothing else uses the mapping yet.
            unsafe { map.write(0, &sb.encode()) };
            map.persist(0, 40)?;
        }
        // Never less than what a restarted replica usually asks for.
        let retention = options.log_retention.max(4 << 20).min(sb.segment_size * 2);
        let started = std::time::Instant::now();
        let state = recovery::recover(&map, sb, retention)
            .map_err(|e| EngineError::Corrupt(format!("{}: {e}", file_path.display())))?;
        let rebuild_ms = started.elapsed().as_millis() as u64;
        let rebuild_keys = state.keys();
        tracing::info!(
            "pmem: {} opened ({} persistence), {rebuild_keys} keys indexed in {rebuild_ms} ms",
            file_path.display(),
            map.method().name()
        );
        let inner = Arc::new(Inner {
            map,
            state: RwLock::new(state),
            pins: Mutex::new(Pins::default()),
            policy,
            persist_lock: Mutex::new(()),
            counters: Counters::default(),
            rebuild_ms,
            rebuild_keys,
            wake: (Mutex::new(false), Condvar::new()),
            stop: AtomicBool::new(false),
        });
        let me = inner.clone();
        let cleaner = std::thread::Builder::new()
            .name("pmem-clean".into())
            .spawn(move || cleaner::run(&me))?;
        Ok(PmemEngine {
            inner,
            cleaner: Some(cleaner),
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

    pub fn file_path(dir: &Path, options: &EngineOptions) -> PathBuf {
        options.pmem.path.as_deref().unwrap_or(dir).join(FILE_NAME)
    }
}

impl Drop for PmemEngine {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::Release);
        self.inner.wake_cleaner();
        if let Some(t) = self.cleaner.take() {
            let _ = t.join();
        }
        if let Err(e) = self.inner.persist_dirty() {
            tracing::error!("pmem: persisting at close failed: {e}");
        }
    }
}

/// Stages a batch's records and copies them into the mapping one segment
/// at a time: a batch that fits in the head reaches the mapping as one
/// sequential copy (PMem's 256-byte write unit favours large writes); a
/// bigger one continues in new segments, its commit record in the last.
struct Appender<'m> {
    map: &'m Mapping,
    last_seq: u64,
    buf: Vec<u8>,
    /// Where `buf` goes, and the generation its records are sealed with.
    at: u64,
    generation: u64,
    /// Records of the batch in the current segment.
    in_segment: u32,
}

impl<'m> Appender<'m> {
    fn new(map: &'m Mapping, last_seq: u64, total: u64) -> Self {
        Appender {
            map,
            last_seq,
            buf: Vec::with_capacity(total as usize + END_MARKER),
            at: 0,
            generation: 0,
            in_segment: 0,
        }
    }

    /// Makes room for a record of `len` bytes; false for a full tier.
    fn reserve(&mut self, space: &mut Space, len: u64) -> EngineResult<()> {
        if self.generation != 0 && space.room() >= self.buf.len() as u64 + len {
            return Ok(());
        }
        self.flush(space);
        if space.room() < len {
            // Space was checked for the whole batch beforehand.
            space
                .start_segment(self.map, self.last_seq)
                .map_err(|_| EngineError::Full)?;
        }
        self.at = space.tail();
        self.generation = space.head_generation();
        self.in_segment = 0;
        Ok(())
    }

    fn append(
        &mut self,
        space: &mut Space,
        kind: Kind,
        cf: u8,
        seq: u64,
        key: &[u8],
        value: &[u8],
    ) -> EngineResult<Loc> {
        self.reserve(space, record_len(key.len(), value.len()) as u64)?;
        let loc = Loc {
            off: self.at + self.buf.len() as u64,
            klen: key.len() as u32,
            vlen: value.len() as u32,
        };
        encode_record(&mut self.buf, self.generation, kind, cf, 0, seq, key, value);
        self.in_segment += 1;
        Ok(loc)
    }

    fn commit(mut self, space: &mut Space, seq: u64) -> EngineResult<()> {
        self.reserve(space, record_len(0, 8) as u64)?;
        let count = format::commit_value(self.in_segment);
        encode_record(
            &mut self.buf,
            self.generation,
            Kind::Commit,
            0,
            0,
            seq,
            &[],
            &count,
        );
        self.flush(space);
        Ok(())
    }

    /// Copies the staged records to the head, with an end marker after them.
    fn flush(&mut self, space: &mut Space) {
        if self.buf.is_empty() {
            return;
        }
        let len = self.buf.len() as u64;
        let marker = (space.room() - len).min(END_MARKER as u64);
        self.buf.resize((len + marker) as usize, 0);
        // SAFETY: the range lies past every committed record of the head,
        // and the caller holds the write lock.
        unsafe { self.map.write(self.at, &self.buf) };
        space.appended(self.at, len, marker);
        self.buf.clear();
    }
}

/// The lengths of a batch's records in the log, its commit record last.
fn record_lens(batch: &Batch) -> Vec<u64> {
    let mut lens: Vec<u64> = batch
        .ops()
        .iter()
        .filter_map(|op| match op {
            BatchOp::Put { key, value, .. } => Some(record_len(key.len(), value.len())),
            BatchOp::Delete { key, .. } => Some(record_len(key.len(), 0)),
            BatchOp::DeleteRange { start, end, .. } if start < end => {
                Some(record_len(start.len(), end.len()))
            }
            BatchOp::DeleteRange { .. } => None,
            BatchOp::LogData(b) => Some(record_len(0, b.len())),
        })
        .map(|l| l as u64)
        .collect();
    lens.push(record_len(0, 8) as u64);
    lens
}

/// Whether a batch deletes anything.
fn deletes(batch: &Batch) -> bool {
    batch
        .ops()
        .iter()
        .any(|op| matches!(op, BatchOp::Delete { .. } | BatchOp::DeleteRange { .. }))
}

impl Engine for PmemEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        let st = self.inner.state.read();
        Ok(st.family(cf).get(key, None).map(|l| self.inner.value(l)))
    }

    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        let st = self.inner.state.read();
        let f = st.family(cf);
        Ok(keys
            .iter()
            .map(|k| f.get(k, None).map(|l| self.inner.value(l)))
            .collect())
    }

    fn write(&self, batch: &Batch) -> EngineResult<()> {
        let inner = &*self.inner;
        let lens = record_lens(batch);
        let total: u64 = lens.iter().sum();
        let mut guard = inner.state.write();
        let pins = inner.pins.lock();
        let st = &mut *guard;
        if pins.is_empty() && st.has_versions_to_sweep() {
            st.sweep();
        }
        let claim = if deletes(batch) && total <= SMALL_DELETE {
            Claim::Delete
        } else {
            Claim::Write
        };
        let largest = lens.iter().copied().max().unwrap_or(0);
        if largest > st.space.max_append() {
            return Err(EngineError::BatchTooLarge {
                size: largest,
                limit: st.space.max_append(),
            });
        }
        // Checked before the first byte is written: a batch never stops
        // half-way for want of space.
        if !st.space.can_start(st.space.segments_needed(&lens), claim) {
            inner.counters.full_errors.fetch_add(1, Ordering::Relaxed);
            inner.wake_cleaner();
            return Err(EngineError::Full);
        }
        st.space
            .keep_whole(&inner.map, total, st.last_seq)
            .map_err(|_| EngineError::Full)?;
        let seq = st.last_seq + 1;
        let mut appender = Appender::new(&inner.map, st.last_seq, total);
        let mut locs = Vec::with_capacity(batch.len());
        for op in batch.ops() {
            let (kind, cf, key, value): (Kind, u8, &[u8], &[u8]) = match op {
                BatchOp::Put { cf, key, value } => (Kind::Put, cf_code(*cf), key, value),
                BatchOp::Delete { cf, key } => (Kind::Delete, cf_code(*cf), key, &[]),
                BatchOp::DeleteRange { cf, start, end } if start < end => {
                    (Kind::DeleteRange, cf_code(*cf), start, end)
                }
                BatchOp::DeleteRange { .. } => {
                    locs.push(None);
                    continue;
                }
                BatchOp::LogData(b) => (Kind::LogData, 0, &[], b),
            };
            locs.push(Some(appender.append(
                &mut st.space,
                kind,
                cf,
                seq,
                key,
                value,
            )?));
        }
        // The commit record counts the batch's records in its own segment:
        // those before it in an older segment may be cleaned away later.
        appender.commit(&mut st.space, seq)?;

        let State {
            families,
            space,
            log,
            last_seq,
        } = st;
        for (op, loc) in batch.ops().iter().zip(locs) {
            let mut dead = |d| space.mark_dead(d);
            match (op, loc) {
                (BatchOp::Put { cf, key, .. }, Some(loc)) => {
                    let v = Version {
                        seq,
                        loc: Some(loc),
                    };
                    families[cf_code(*cf) as usize].set(key, v, &pins, &mut dead);
                    space.add_live(loc);
                }
                (BatchOp::Delete { cf, key }, _) => {
                    let v = Version { seq, loc: None };
                    families[cf_code(*cf) as usize].set(key, v, &pins, &mut dead);
                }
                (BatchOp::DeleteRange { cf, start, end }, Some(_)) => {
                    families[cf_code(*cf) as usize].delete_range(start, end, seq, &pins, &mut dead);
                }
                (BatchOp::LogData(_), Some(loc)) => {
                    log.push(seq, loc, &mut dead);
                    space.add_live(loc);
                }
                _ => {}
            }
        }
        *last_seq = seq;
        if space.free_segments() <= 3 {
            inner.wake_cleaner();
        }
        Ok(())
    }

    fn flush_wal_buffer(&self) -> EngineResult<()> {
        // Records are stored straight into the shared mapping: the page
        // cache (or the PMem itself) holds them once `write` returned, so a
        // crash of the process cannot lose them. Nothing is buffered.
        Ok(())
    }

    fn sync_wal(&self) -> EngineResult<()> {
        self.inner.persist_dirty()
    }

    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_> {
        let seq = self.inner.pin();
        Box::new(read::PmemIter::new(
            &self.inner,
            cf,
            seq,
            lower,
            upper,
            true,
        ))
    }

    fn snapshot(&self) -> Box<dyn EngineSnapshot> {
        let seq = self.inner.pin();
        Box::new(read::PmemSnapshot::new(self.inner.clone(), seq))
    }

    fn flush(&self) -> EngineResult<()> {
        // No write buffer to flush: make everything durable instead.
        self.inner.persist_dirty()
    }

    fn checkpoint(&self, dir: &Path) -> EngineResult<()> {
        std::fs::create_dir_all(dir)?;
        let target = dir.join(FILE_NAME);
        let out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)?;
        // Readers only: writers wait while the segments in use are copied,
        // so the copy is one point in time. Free segments stay holes.
        let st = self.inner.state.read();
        out.set_len(self.inner.map.len() as u64)?;
        // SAFETY: under the read lock nothing writes the mapping.
        let sb = unsafe { self.inner.map.slice(0, 40) };
        out.write_all_at(sb, 0)?;
        for (n, seg) in st.space.segments.iter().enumerate() {
            if seg.generation == 0 {
                continue;
            }
            let at = st.space.segment_offset(n);
            let len = (seg.used + END_MARKER as u64).min(st.space.segment_size);
            // SAFETY: as above.
            let bytes = unsafe { self.inner.map.slice(at, len as usize) };
            out.write_all_at(bytes, at)?;
        }
        drop(st);
        out.sync_all()?;
        Ok(())
    }

    fn compact_range(&self, _cf: Cf, _start: Option<&[u8]>, _end: Option<&[u8]>) {
        // Cleaning works on whole segments, whatever the family or range.
        cleaner::clean_all(&self.inner);
    }

    fn stats(&self) -> EngineStats {
        let st = self.inner.state.read();
        let c = &self.inner.counters;
        let space = &st.space;
        let pmem = PmemStats {
            capacity_bytes: space.capacity(),
            used_bytes: space.used(),
            live_bytes: space.live(),
            free_bytes: space.free_segments() as u64 * space.segment_size
                + space
                    .head
                    .map_or(0, |h| space.segment_size - space.segments[h].used),
            segment_bytes: space.segment_size,
            segments: space.segments.len() as u64,
            free_segments: space.free_segments() as u64,
            persist_method: self.inner.map.method().name(),
            dax: self.inner.map.is_dax(),
            rebuild_ms: self.inner.rebuild_ms,
            rebuild_keys: self.inner.rebuild_keys,
            log_bytes: st.log.bytes(),
            cleaned_segments: c.cleaned_segments.load(Ordering::Relaxed),
            relocated_bytes: c.relocated_bytes.load(Ordering::Relaxed),
            compaction_removed: c.policy_removed.load(Ordering::Relaxed),
            compaction_kept_for_snapshots: c.kept_for_snapshots.load(Ordering::Relaxed),
            full_errors: c.full_errors.load(Ordering::Relaxed),
            persists: c.persists.load(Ordering::Relaxed),
        };
        EngineStats {
            estimated_keys: st.keys(),
            open_snapshots: self.inner.pins.lock().len(),
            pmem: Some(pmem),
            ..EngineStats::default()
        }
    }

    fn disk_usage(&self) -> u64 {
        self.inner.map.len() as u64
    }

    fn read_log(
        &self,
        after: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> EngineResult<bool> {
        let mut from = after;
        loop {
            // Copied out in chunks, so `visit` runs without the lock.
            let chunk: Vec<(u64, Vec<u8>)> = {
                let st = self.inner.state.read();
                // Checked for every chunk: retention may let records go
                // between two chunks.
                if !st.log.reaches_back_to(from) {
                    return Ok(false);
                }
                st.log
                    .after(from, 256)
                    .into_iter()
                    .map(|(seq, loc)| (seq, self.inner.value(loc)))
                    .collect()
            };
            let Some(last) = chunk.last().map(|c| c.0) else {
                return Ok(true);
            };
            for (seq, data) in &chunk {
                if !visit(*seq, data) {
                    return Ok(true);
                }
            }
            from = last;
        }
    }

    fn last_seq(&self) -> u64 {
        self.inner.state.read().last_seq
    }

    fn name(&self) -> &'static str {
        "pmem"
    }
}

#[cfg(test)]
mod tests;
