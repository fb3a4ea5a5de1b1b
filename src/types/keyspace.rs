//! The keyspace: databases over one engine, key locks, key counters, the
//! durable replication position, and the single commit point every change
//! goes through.
//!
//! Write path: a command runs inside a [`WriteContext`](super::WriteContext),
//! which locks keys, stages [`WriteSet`]s and collects effects; the context
//! ends in [`Keyspace::commit_unit`], the one ordered point where changes
//! reach the engine. Under one mutex it adds the counter records, appends the
//! unit's propagated bytes to the backlog, advances the replication offset
//! and writes it all as one atomic batch: stream order equals apply order,
//! and after a crash data and offset agree exactly.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::{Mutex, RawMutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::backlog::{self, IndexEntry, ReplPosition, Tail};
use super::encoding::{self, KeyType, Metadata};
pub(super) use super::key_locks::stripe;
use super::key_locks::KeyLocks;
pub use super::write_set::{UnitChanges, WriteSet};
use super::{now_us, TypeResult};
use crate::engine::{Batch, Cf, CompactionDecision, CompactionPolicy, Engine, MetaLookup};

const COUNTS_PREFIX: &[u8] = b"counts";
pub(super) const DBMAP_KEY: &[u8] = b"dbmap";
/// Present once the replication position came from a master.
pub(super) const POSITION_KNOWN_KEY: &[u8] = b"repl-known";

/// Most databases Strata supports: the physical id is one byte.
pub const MAX_DATABASES: usize = 256;

/// Default `repl-backlog-size` here: the backlog lives on disk, so it can be
/// far larger than Redis's 1 MB.
pub const DEFAULT_BACKLOG_SIZE: u64 = 256 << 20;

#[derive(Default)]
pub(super) struct DbCounts {
    pub(super) keys: AtomicI64,
    pub(super) expires: AtomicI64,
}

/// The replication stream's state, changed only under the commit lock.
pub(super) struct StreamState {
    pub(super) position: ReplPosition,
    /// The id this stream had before its master changed it, and the last
    /// offset that belongs to it (INFO's `master_replid2`).
    pub(super) previous: Option<ReplPosition>,
    /// The database the stream last SELECTed (`None` when unknown).
    pub(super) selected: Option<usize>,
    /// Where stretches of the stream start in the engine's log, oldest
    /// first (see `backlog`).
    index: VecDeque<IndexEntry>,
    /// Stream and data bytes committed since the newest index entry.
    since_index: u64,
    /// Index entries below this start are deleted from the engine: each
    /// trim deletes `[trimmed_to, new front)`, so the range deletions never
    /// overlap. (Overlapping ones, `[0, front)` each time, made every
    /// memtable flush fragment N tombstones into O(N^2) pieces: 1 GiB of
    /// RSS and a flush of many seconds after 700 MB of writes.)
    trimmed_to: u64,
    /// The newest units, while anyone follows the stream.
    tail: Tail,
}

pub struct Keyspace {
    /// Units deferred to share one engine batch (`commit_queue`).
    pub(super) commit_queue: super::commit_queue::CommitQueue,
    /// Told the keys a shared commit changed (the server's WATCH registry).
    pub(super) watch_sink: std::sync::OnceLock<std::sync::Weak<dyn super::commit_queue::WatchSink>>,
    engine: Arc<dyn Engine>,
    databases: usize,
    /// Logical database index -> physical id in the encoding (SWAPDB swaps entries).
    pub(super) dbmap: RwLock<Vec<u8>>,
    /// Indexed by physical id.
    pub(super) counts: Vec<DbCounts>,
    /// Key locks, striped: a write context holds a set of them for a whole
    /// unit and releases them when it ends (`HeldLocks`).
    locks: KeyLocks,
    /// Taken shared by every command and exclusively by units that must run
    /// alone (FLUSHDB, FLUSHALL, SWAPDB, EXEC).
    gate: RwLock<()>,
    /// The commit point's lock; guards the stream state.
    pub(super) stream: Mutex<StreamState>,
    /// Taken under the commit lock by units with events (see [`DeliveryTurn`]).
    delivery: Arc<Mutex<()>>,
    /// Sequence number of the last committed unit.
    pub(super) committed: AtomicU64,
    /// The replication offset of the last committed unit (for readers
    /// outside the commit lock: INFO, replicas tailing the backlog).
    pub(super) offset: AtomicU64,
    /// Sequence number up to which the engine's log buffer reached the OS.
    wal_flushed: AtomicU64,
    wal_flush_lock: Mutex<()>,
    version_counter: AtomicU64,
    /// Whether the expire cycle runs (`DEBUG SET-ACTIVE-EXPIRE`).
    pub active_expire: AtomicBool,
    /// A replica never deletes expired keys itself: it hides them and waits
    /// for its master's DEL.
    pub replica: AtomicBool,
    /// CLIENT PAUSE (unix ms it lasts until): expiry deletes nothing, so the
    /// offset stands still.
    pub write_paused_until_ms: AtomicU64,
    /// `lazyfree-lazy-expire`: expired keys propagate as UNLINK.
    pub lazyfree_expire: AtomicBool,
    /// `repl-backlog-size` in bytes.
    pub backlog_size: AtomicU64,
    /// Clients with WATCHed keys; commits list touched keys only when > 0.
    pub watchers: AtomicUsize,
    /// Woken after every commit that moved the offset, while anyone follows
    /// the stream (`stream_followers` > 0: the commit skips the wake-up's
    /// lock otherwise).
    pub offset_moved: tokio::sync::Notify,
    pub stream_followers: AtomicUsize,
    /// The position came from a master (a full sync or its new id), so it
    /// names a real stream even at offset 0 (`POSITION_KNOWN_KEY`).
    pub(super) position_known: AtomicBool,
}

/// Index entries a commit drops from the backlog: the engine deletes keys
/// `[from, to)`, the stream forgets its first `entries` entries.
#[derive(Debug, PartialEq, Eq)]
struct BacklogTrim {
    from: u64,
    to: u64,
    entries: usize,
}

impl StreamState {
    /// What to drop so that the backlog keeps about `keep` bytes before
    /// `offset`: the entries whose successor is already `keep` back, from
    /// where the previous trim stopped (ranges never overlap; see
    /// `trimmed_to`).
    fn trim(&self, offset: u64, keep: u64) -> Option<BacklogTrim> {
        let mut entries = 0;
        while entries + 1 < self.index.len() && self.index[entries + 1].start + keep <= offset {
            entries += 1;
        }
        (entries > 0).then(|| {
            let to = self.index[entries].start;
            BacklogTrim {
                from: self.trimmed_to.min(to),
                to,
                entries,
            }
        })
    }

    /// A new stream at `position` with nothing in the backlog.
    pub(super) fn reset(&mut self, position: ReplPosition) {
        self.position = position;
        self.previous = None;
        self.selected = None;
        self.index.clear();
        self.since_index = 0;
        self.trimmed_to = 0;
        self.tail.clear();
    }
}

/// A unit's turn to deliver its events: held from inside the commit point
/// until delivered, so two units' events never interleave or overtake each
/// other (a subscriber sees them in commit order, as from Redis's single
/// thread).
pub type DeliveryTurn = parking_lot::ArcMutexGuard<RawMutex, ()>;

/// Where a committed unit landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The unit's sequence number (for fsync-before-reply).
    pub seq: u64,
    /// The replication offset after the unit.
    pub offset: u64,
    /// Whether the unit wrote anything.
    pub wrote: bool,
}

impl Keyspace {
    pub fn open(engine: Arc<dyn Engine>, databases: usize) -> TypeResult<Keyspace> {
        let databases = databases.clamp(1, MAX_DATABASES);
        let counts: Vec<DbCounts> = (0..MAX_DATABASES).map(|_| DbCounts::default()).collect();
        for (db, c) in counts.iter().enumerate() {
            if let Some(raw) = engine.get(Cf::State, &counts_key(db as u8))? {
                c.keys.store(
                    encoding::be_u64(&raw, 0).unwrap_or(0) as i64,
                    Ordering::Relaxed,
                );
                c.expires.store(
                    encoding::be_u64(&raw, 8).unwrap_or(0) as i64,
                    Ordering::Relaxed,
                );
            }
        }
        let persisted = engine.get(Cf::State, DBMAP_KEY)?.unwrap_or_default();
        let dbmap = restore_dbmap(&persisted, databases);
        let recovered = backlog::recover(engine.as_ref())?;
        let position_known = engine.get(Cf::State, POSITION_KNOWN_KEY)?.is_some();
        let (position, index) = (recovered.position, recovered.index);
        let offset = position.offset;
        Ok(Keyspace {
            commit_queue: Default::default(),
            watch_sink: Default::default(),
            engine,
            databases,
            dbmap: RwLock::new(dbmap),
            counts,
            locks: KeyLocks::default(),
            gate: RwLock::new(()),
            stream: Mutex::new(StreamState {
                position,
                previous: None,
                selected: recovered.selected,
                index,
                since_index: 0,
                trimmed_to: 0,
                tail: Tail::default(),
            }),
            delivery: Arc::new(Mutex::new(())),
            committed: AtomicU64::new(0),
            offset: AtomicU64::new(offset),
            wal_flushed: AtomicU64::new(0),
            wal_flush_lock: Mutex::new(()),
            version_counter: AtomicU64::new(rand::random::<u16>() as u64),
            active_expire: AtomicBool::new(true),
            replica: AtomicBool::new(false),
            write_paused_until_ms: AtomicU64::new(0),
            lazyfree_expire: AtomicBool::new(false),
            backlog_size: AtomicU64::new(DEFAULT_BACKLOG_SIZE),
            watchers: AtomicUsize::new(0),
            offset_moved: tokio::sync::Notify::new(),
            stream_followers: AtomicUsize::new(0),
            position_known: AtomicBool::new(position_known),
        })
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub fn databases(&self) -> usize {
        self.databases
    }

    /// The physical id of logical database `db` (which the caller validated).
    pub fn physical(&self, db: usize) -> u8 {
        self.dbmap.read()[db]
    }

    /// The logical database that physical id `physical` currently backs.
    pub fn logical(&self, physical: u8) -> Option<usize> {
        self.dbmap.read().iter().position(|&p| p == physical)
    }

    pub(super) fn dbmap_snapshot(&self) -> Vec<u8> {
        self.dbmap.read().clone()
    }

    pub fn shared_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read()
    }

    /// The keyspace to oneself: no unit runs meanwhile, and every deferred
    /// unit (which ran before) is committed first.
    pub fn exclusive_gate(&self) -> RwLockWriteGuard<'_, ()> {
        let gate = self.gate.write();
        self.commit_queue_now();
        gate
    }

    /// Locks stripe `i`, blocking the worker. A deferred unit may hold it
    /// while its connection is suspended (possibly on this very worker), so
    /// a busy stripe first commits the queue, which releases such units'
    /// locks; then the wait is for a unit that is running, on another
    /// worker, or for one queued since.
    pub(super) fn lock_stripe(&self, i: usize) {
        if self.locks.try_lock(i) {
            return;
        }
        loop {
            self.commit_pending();
            if self
                .locks
                .lock_for(i, std::time::Duration::from_micros(200))
            {
                return;
            }
        }
    }

    /// Locks stripe `i` if that needs no wait. A busy stripe may be held
    /// by a deferred unit: the queue is committed and the lock tried once
    /// more, so a hot key's writers do not wait for each other's
    /// connections to come back (each then commits about alone, as it
    /// would without the queue).
    pub(super) fn try_lock_stripe(&self, i: usize) -> bool {
        if self.locks.try_lock(i) {
            return true;
        }
        self.locks.mark_contended(i);
        self.commit_pending();
        self.locks.try_lock(i)
    }

    /// Locks stripe `i` if it is free; nothing else.
    pub(super) fn try_lock_free(&self, i: usize) -> bool {
        self.locks.try_lock(i)
    }

    /// Whether stripe `i` was found held lately: a hot key's.
    pub(super) fn stripe_contended(&self, i: usize) -> bool {
        self.locks.is_contended(i)
    }

    /// A unit holding stripe `i` committed alone.
    pub(super) fn stripe_committed_alone(&self, i: usize) {
        self.locks.committed_alone(i);
    }

    /// # Safety
    /// The caller locked stripe `i` (with `lock_stripe` or a successful
    /// `try_lock_stripe`) and has not unlocked it since.
    pub(super) unsafe fn unlock_stripe(&self, i: usize) {
        // SAFETY: guaranteed by the caller, see above.
        unsafe { self.locks.unlock(i) }
    }

    pub(super) fn read_start(&self, i: usize) -> Option<super::key_locks::ReadStart> {
        self.locks.read_start(i)
    }

    pub(super) fn read_valid(&self, start: super::key_locks::ReadStart) -> bool {
        self.locks.read_valid(start)
    }

    /// Waits, without blocking the thread, until the key lock found busy
    /// has been seen free (see [`KeyLocks::wait_free`]); then try again.
    pub async fn wait_busy(&self, busy: super::context::BusyKey) {
        self.locks.wait_free(busy.0).await;
    }

    /// Whether the data path deletes keys it finds expired: on a master that
    /// is not write-paused. Replicas and paused masters only hide them.
    pub fn deletes_expired(&self) -> bool {
        !self.replica.load(Ordering::Relaxed)
            && self.write_paused_until_ms.load(Ordering::Relaxed) <= super::now_ms()
    }

    pub(super) fn lazyfree_expire(&self) -> bool {
        self.lazyfree_expire.load(Ordering::Relaxed)
    }

    pub(super) fn has_watchers(&self) -> bool {
        self.watchers.load(Ordering::Relaxed) > 0
    }

    /// A new subkey version: microseconds << 11 plus a counter, so versions
    /// grow even when the clock stands still.
    pub fn new_version(&self) -> u64 {
        let c = self.version_counter.fetch_add(1, Ordering::Relaxed);
        (now_us() << 11) | (c & 2047)
    }

    /// The metadata record as committed, expired or not.
    pub fn get_stored(&self, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
        match encoding::with_meta_key(db, key, |k| self.engine.get(Cf::Meta, k))? {
            Some(raw) => Ok(Some(Metadata::from_record(raw)?)),
            None => Ok(None),
        }
    }

    /// The commit point. Writes one unit as one atomic engine batch: its
    /// data, the counter records, the database map, the bytes it propagates
    /// (appended to the backlog) and the new replication position. A unit
    /// may carry effects only (a PUBLISH, a master's PING).
    pub fn commit_unit(
        &self,
        batch: Batch,
        changes: UnitChanges,
        propagate: &[(usize, Vec<Bytes>)],
    ) -> TypeResult<Committed> {
        Ok(self
            .commit_unit_ordered(batch, changes, propagate, false)?
            .0)
    }

    /// Commits a unit of effects only: commands for the stream and no data
    /// (a master's `PING` or `REPLCONF GETACK`, with db `backlog::ANY_DB`).
    pub fn propagate_only(&self, propagate: &[(usize, Vec<Bytes>)]) -> TypeResult<Committed> {
        self.commit_unit(Batch::new(), UnitChanges::default(), propagate)
    }

    /// Commits a unit that only forwards `raw`, a master's stream bytes
    /// that changed no data (PING, SELECT, a failed command).
    pub fn forward_only(&self, raw: Bytes, db: Option<usize>) -> TypeResult<Committed> {
        let changes = UnitChanges {
            raw_stream: Some(raw),
            raw_db: db,
            ..UnitChanges::default()
        };
        self.commit_unit(Batch::new(), changes, &[])
    }

    /// [`commit_unit`](Self::commit_unit), also taking the unit's
    /// [`DeliveryTurn`] in commit order when `ordered` (it has events).
    pub fn commit_unit_ordered(
        &self,
        mut batch: Batch,
        changes: UnitChanges,
        propagate: &[(usize, Vec<Bytes>)],
        ordered: bool,
    ) -> TypeResult<(Committed, Option<DeliveryTurn>)> {
        if batch.is_empty()
            && propagate.is_empty()
            && changes.dbmap.is_none()
            && changes.raw_stream.is_none()
        {
            // Nothing committed, but events (of a key found expired on a
            // replica, say) still wait for the units before them.
            let turn = ordered.then(|| {
                let _stream = self.stream.lock();
                self.delivery.lock_arc()
            });
            return Ok((
                Committed {
                    seq: self.committed(),
                    offset: self.offset(),
                    wrote: false,
                },
                turn,
            ));
        }
        // Outside the commit lock: a pipelined run rewrites a collection's
        // metadata once per command, and only the last one counts.
        batch.drop_overwritten();
        self.commit_unit_dropped(batch, changes, propagate, ordered)
    }

    /// The commit itself, for a batch whose overwritten records are
    /// already dropped (by its unit, or by each unit of a shared commit).
    pub(super) fn commit_unit_dropped(
        &self,
        mut batch: Batch,
        changes: UnitChanges,
        propagate: &[(usize, Vec<Bytes>)],
        ordered: bool,
    ) -> TypeResult<(Committed, Option<DeliveryTurn>)> {
        // A replica's stream is its master's: its own units (writes on a
        // writable replica) change local data only, as in Redis, so the
        // offsets stay the master's.
        let propagate = if changes.raw_stream.is_none() && self.replica.load(Ordering::Relaxed) {
            &[]
        } else {
            propagate
        };
        // The engine's work around the write (the record cache's) runs
        // outside the commit lock; the ops the lock adds below (counts,
        // backlog index) are in families it does not cache.
        self.engine.prepare_write(&batch);
        let mut stream = self.stream.lock();
        let mut updated = Vec::with_capacity(changes.deltas.len() + changes.flushed.len());
        for db in changes
            .deltas
            .iter()
            .map(|d| d.0)
            .chain(changes.flushed.iter().copied())
        {
            if updated.iter().any(|(d, _, _)| *d == db) {
                continue;
            }
            let (keys, expires) = changes.counts(self, db);
            batch.put(Cf::State, counts_key(db), counts_value(keys, expires));
            updated.push((db, keys, expires));
        }
        if let Some(map) = &changes.dbmap {
            batch.put(Cf::State, DBMAP_KEY.to_vec(), map.clone());
        }
        let mut selected = stream.selected;
        let mut offset = stream.position.offset;
        let mut record = None;
        let mut new_entry = None;
        let start = offset + 1;
        let encoded = match &changes.raw_stream {
            Some(raw) if !raw.is_empty() => {
                // The master's SELECTs are inside; its client says where
                // they left the stream.
                selected = changes.raw_db;
                Some(backlog::raw_record(start, selected, raw))
            }
            Some(_) => None,
            None if propagate.is_empty() => None,
            None => Some(backlog::encode_record(
                start,
                propagate,
                &changes.command_ends,
                &mut selected,
            )),
        };
        if let Some(encoded) = encoded {
            let bytes = Bytes::from(encoded);
            let len = (bytes.len() - backlog::RECORD_HEADER) as u64;
            offset += len;
            let weight = len + batch_weight(&batch);
            // Index the batch when a step went by since the last entry, so
            // a read or a restart never scans more than a step of log.
            if stream.index.is_empty() || stream.since_index + weight >= backlog::INDEX_STEP {
                let entry = IndexEntry {
                    start,
                    len,
                    seq: self.engine.last_seq() + 1,
                    db: selected,
                };
                batch.put(Cf::Backlog, IndexEntry::key(start), entry.value());
                let keep = self.backlog_size.load(Ordering::Relaxed).max(1);
                let trim = stream.trim(offset, keep);
                if let Some(t) = &trim {
                    batch.delete_range(Cf::Backlog, IndexEntry::key(t.from), IndexEntry::key(t.to));
                }
                new_entry = Some((entry, trim));
            }
            batch.log_data(bytes.clone());
            record = Some((start, bytes, weight));
        }
        if let Err(e) = self.engine.write_prepared(&batch) {
            drop(stream);
            self.engine.finish_write(&batch, false);
            return Err(e.into());
        }
        for (db, keys, expires) in updated {
            self.counts[db as usize].keys.store(keys, Ordering::Relaxed);
            self.counts[db as usize]
                .expires
                .store(expires, Ordering::Relaxed);
        }
        if let Some(map) = changes.dbmap {
            *self.dbmap.write() = map;
        }
        stream.selected = selected;
        stream.position.offset = offset;
        let moved = record.is_some();
        if let Some((start, bytes, weight)) = record {
            match new_entry {
                Some((entry, trim)) => {
                    if let Some(t) = trim {
                        stream.trimmed_to = t.to;
                        stream.index.drain(..t.entries);
                    }
                    stream.index.push_back(entry);
                    stream.since_index = 0;
                }
                None => stream.since_index += weight,
            }
            // Followers count up before they read the log, so a unit either
            // reaches the tail or was committed before their read.
            if self.stream_followers.load(Ordering::SeqCst) > 0 {
                stream.tail.push(start, bytes);
            } else if !stream.tail.is_empty() {
                stream.tail.clear();
            }
        }
        self.offset.store(offset, Ordering::Release);
        let seq = self.committed.fetch_add(1, Ordering::AcqRel) + 1;
        let turn = ordered.then(|| self.delivery.lock_arc());
        drop(stream);
        self.engine.finish_write(&batch, true);
        if moved && self.stream_followers.load(Ordering::Acquire) > 0 {
            self.offset_moved.notify_waiters();
        }
        Ok((
            Committed {
                seq,
                offset,
                wrote: true,
            },
            turn,
        ))
    }

    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// The replication offset: bytes of stream committed so far.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Acquire)
    }

    /// The replication id and offset, read together.
    pub fn position(&self) -> ReplPosition {
        self.stream.lock().position.clone()
    }

    /// The database the stream has selected (a replica's master client
    /// resumes in it after a restart, as from Redis's `repl-stream-db`).
    pub fn stream_db(&self) -> Option<usize> {
        self.stream.lock().selected
    }

    /// The stream's previous id and the last offset under it, when its
    /// master changed id (`master_replid2`, `second_repl_offset - 1`).
    /// Whether the position came from a master (see `position_known`): a
    /// fresh data directory's random id at offset 0 does not.
    pub fn position_known(&self) -> bool {
        self.position_known.load(Ordering::Relaxed)
    }

    pub fn previous_position(&self) -> Option<ReplPosition> {
        self.stream.lock().previous.clone()
    }

    /// A consistent point-in-time view of the whole keyspace, tagged with
    /// the replication position it reflects: taken under the commit lock, so
    /// it holds every unit up to that offset and none after (what a full
    /// resynchronisation sends before the stream from `offset + 1`).
    /// Readable while writes go on; compaction keeps what it sees.
    pub fn snapshot(&self) -> (Box<dyn crate::engine::EngineSnapshot>, ReplPosition) {
        let (snap, position, _) = self.sync_snapshot();
        (snap, position)
    }

    /// [`snapshot`](Self::snapshot) with the database the stream has
    /// selected at that point: a full resync's RDB names it
    /// (`repl-stream-db`), so the replica applies the stream that follows
    /// in it (the stream after the snapshot need not SELECT again, and a
    /// relay cannot add a SELECT to its master's bytes).
    pub fn sync_snapshot(
        &self,
    ) -> (
        Box<dyn crate::engine::EngineSnapshot>,
        ReplPosition,
        Option<usize>,
    ) {
        let stream = self.stream.lock();
        (
            self.engine.snapshot(),
            stream.position.clone(),
            stream.selected,
        )
    }

    /// The offset of the oldest byte still in the backlog: the oldest
    /// indexed stretch the engine's log still holds.
    pub fn backlog_first_offset(&self) -> u64 {
        loop {
            let (front, end) = {
                let s = self.stream.lock();
                (s.index.front().copied(), s.position.offset)
            };
            let Some(front) = front else {
                return end + 1;
            };
            match backlog::read_log(self.engine.as_ref(), front, front.start, 1) {
                Ok(Some(_)) => return front.start,
                Ok(None) => {
                    // The log let go of it: forget the entry.
                    let mut s = self.stream.lock();
                    if s.index.len() > 1 && s.index.front() == Some(&front) {
                        s.index.pop_front();
                        continue;
                    }
                    return front.start;
                }
                Err(_) => return front.start,
            }
        }
    }

    /// Stream bytes from offset `from` on (at most about `max_bytes`);
    /// `None` when `from` is outside the backlog. Callers that follow the
    /// stream live count themselves in `stream_followers` first, so what
    /// commits meanwhile stays in memory for them.
    pub fn read_backlog(&self, from: u64, max_bytes: usize) -> Option<Vec<u8>> {
        let entry = {
            let s = self.stream.lock();
            let end = s.position.offset;
            if from == end + 1 {
                return Some(Vec::new());
            }
            if from == 0 || from > end + 1 {
                return None;
            }
            if let Some(bytes) = s.tail.read(from, max_bytes) {
                return Some(bytes);
            }
            *s.index.iter().rev().find(|e| e.start <= from)?
        };
        backlog::read_log(self.engine.as_ref(), entry, from, max_bytes)
            .ok()
            .flatten()
    }

    /// Whether some committed write may still be only in the engine's
    /// in-process log buffer. A reply must not leave before that buffer is
    /// flushed if it acknowledges (or shows) such a write.
    pub fn wal_pending(&self) -> bool {
        self.committed() > self.wal_flushed.load(Ordering::Acquire)
    }

    /// Flushes the engine's log buffer up to the last committed write.
    /// Concurrent callers share one flush (group commit).
    pub fn flush_wal(&self) -> TypeResult<()> {
        let target = self.committed();
        if self.wal_flushed.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _g = self.wal_flush_lock.lock();
        if self.wal_flushed.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        // Read again under the lock: the flush covers every commit so far.
        let target = self.committed();
        self.engine.flush_wal_buffer()?;
        self.wal_flushed.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }

    /// Number of keys in logical db `db` (logically expired keys not yet
    /// reclaimed included, as in Redis).
    pub fn dbsize(&self, db: usize) -> u64 {
        self.counts[self.physical(db) as usize]
            .keys
            .load(Ordering::Relaxed)
            .max(0) as u64
    }

    /// Number of keys with a TTL in logical db `db`.
    pub fn expires_count(&self, db: usize) -> u64 {
        self.counts[self.physical(db) as usize]
            .expires
            .load(Ordering::Relaxed)
            .max(0) as u64
    }
}

/// The database map from its persisted form (SWAPDB and full resyncs move
/// logical databases to other physical ids): its entries in order while
/// they are distinct, then the lowest unused ids for databases it lacks (a
/// first start, or `databases` raised since).
fn restore_dbmap(persisted: &[u8], databases: usize) -> Vec<u8> {
    let mut map: Vec<u8> = Vec::with_capacity(databases);
    for &p in persisted.iter().take(databases) {
        if map.contains(&p) {
            break;
        }
        map.push(p);
    }
    let mut free = (0..MAX_DATABASES as u16).map(|p| p as u8);
    while map.len() < databases {
        match free.find(|p| !map.contains(p)) {
            Some(p) => map.push(p),
            None => break,
        }
    }
    map
}

/// The database map as of an engine snapshot (a full resync's RDB must
/// name the databases as the snapshot had them).
pub fn snapshot_dbmap(snap: &dyn crate::engine::EngineSnapshot, databases: usize) -> Vec<u8> {
    let persisted = snap
        .get(Cf::State, DBMAP_KEY)
        .ok()
        .flatten()
        .unwrap_or_default();
    restore_dbmap(&persisted, databases)
}

/// (keys, keys with a TTL) of physical database `db` as of a snapshot.
pub fn snapshot_counts(snap: &dyn crate::engine::EngineSnapshot, db: u8) -> (u64, u64) {
    match snap.get(Cf::State, &counts_key(db)) {
        Ok(Some(raw)) => (
            encoding::be_u64(&raw, 0).unwrap_or(0),
            encoding::be_u64(&raw, 8).unwrap_or(0),
        ),
        _ => (0, 0),
    }
}

/// Stages deleting every record of physical database `db`.
pub(super) fn delete_physical(batch: &mut Batch, db: u8) {
    // [0xff] has no one-byte successor; cover it with a longer bound.
    let end = db
        .checked_add(1)
        .map_or_else(|| vec![0xff; 64], |n| vec![n]);
    for cf in [Cf::Meta, Cf::Data, Cf::ZScore, Cf::Expire] {
        batch.delete_range(cf, vec![db], end.clone());
    }
}

/// Bytes a batch writes, roughly (keys and values), for spacing the
/// backlog index by log volume.
fn batch_weight(batch: &Batch) -> u64 {
    use crate::engine::BatchOp;
    batch
        .ops()
        .iter()
        .map(|op| match op {
            BatchOp::Put { key, value, .. } => key.len() + value.len(),
            BatchOp::Delete { key, .. } => key.len(),
            BatchOp::DeleteRange { start, end, .. } => start.len() + end.len(),
            BatchOp::LogData(b) => b.len(),
        } as u64)
        .sum()
}

pub(super) fn counts_key(db: u8) -> Vec<u8> {
    let mut k = COUNTS_PREFIX.to_vec();
    k.push(db);
    k
}

pub(super) fn counts_value(keys: i64, expires: i64) -> Vec<u8> {
    let mut v = (keys as u64).to_be_bytes().to_vec();
    v.extend_from_slice(&(expires as u64).to_be_bytes());
    v
}

/// Drops subkeys whose key is gone, is now a string, or has a newer version.
pub struct StalePolicy;

impl CompactionPolicy for StalePolicy {
    fn applies_to(&self, cf: Cf) -> bool {
        matches!(cf, Cf::Data | Cf::ZScore)
    }

    fn decide(
        &self,
        _cf: Cf,
        key: &[u8],
        _value: &[u8],
        meta: &dyn MetaLookup,
    ) -> CompactionDecision {
        let Some((_db, meta_key, version, _sub)) = encoding::split_subkey(key) else {
            return CompactionDecision::Keep;
        };
        match meta.get_meta(&meta_key) {
            None => CompactionDecision::Remove,
            Some(raw) => match Metadata::peek_kind_version(&raw) {
                Some((KeyType::String, _)) => CompactionDecision::Remove,
                Some((_, v)) if v != version => CompactionDecision::Remove,
                _ => CompactionDecision::Keep,
            },
        }
    }
}

#[cfg(test)]
#[path = "keyspace_tests.rs"]
mod tests;
