//! Units of different connections sharing one engine batch.
//!
//! Without pipelining every command is its own unit, and each unit's commit
//! is a trip through the engine's write path: RocksDB's write group, one
//! log record with its checksum (the record's CRC combine alone is ~0.7-2k
//! instructions), the commit lock. Redis pays one AOF write per event-loop
//! round for all its clients. Here a connection whose run ends with its
//! input (it is about to yield and flush the log anyway) may *defer* its
//! unit: the unit is queued with its key locks still held and its replies
//! not yet written, and the first connection to come back from that yield
//! commits every queued unit as one batch (`Keyspace::commit_pending`).
//!
//! What keeps each command's semantics:
//!
//! - a deferred unit keeps its key locks until the shared batch is written,
//!   so no other unit reads or writes its keys in between (a unit that
//!   needs one awaits it, or commits the queue itself before it blocks on
//!   it: see `Keyspace::lock_stripe`), and the batch applies atomically;
//! - nothing of a deferred unit is visible before the batch is written, and
//!   its replies leave only after that (and after the log flush), so a
//!   reader that saw the old value was ordered before it;
//! - units whose effects must follow the commit at once are not deferred:
//!   keyspace events (delivered in commit order), clients blocked on a key
//!   the unit readied, SWAPDB/FLUSH, a replica's stream, exclusive units;
//! - WATCH: when anyone watches at the shared commit, the keys its units
//!   changed are handed to the [`WatchSink`] before their locks are let go
//!   (a unit committing alone does it under the keyspace gate, which EXEC
//!   takes exclusively; a deferred unit no longer holds the gate);
//! - a unit that takes the keyspace gate exclusively (FLUSHALL, a full
//!   sync's load) first commits the queue: deferred units ran before it.
//!
//! The shared batch carries each unit's propagated commands in queue order,
//! each command still its own atomic group in the stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::Mutex;

use super::keyspace::UnitChanges;
use super::{Committed, Effects, Keyspace, TypeError, TypeResult};
use crate::engine::Batch;

/// A unit waiting in the queue.
pub(super) struct PendingUnit {
    pub(super) batch: Batch,
    pub(super) changes: UnitChanges,
    pub(super) propagate: Vec<(usize, Vec<Bytes>)>,
    /// Key lock stripes the unit holds, released after the shared commit.
    pub(super) stripes: Vec<usize>,
    pub(super) outcome: Arc<OnceLock<Outcome>>,
}

/// Told which keys a shared commit changed, while someone watches (the
/// server's WATCH registry marks their watchers dirty).
pub trait WatchSink: Send + Sync {
    fn touch(&self, ks: &Keyspace, touched: &[(u8, Bytes)]);
}

/// How a deferred unit's commit went.
pub(super) enum Outcome {
    Committed(Committed),
    /// The shared batch failed: every unit in it fails with this text.
    Failed(String),
}

/// A unit handed to the queue: what its owner needs once it is committed.
/// It has no effects left for its owner to deliver: a unit with keyspace
/// events is not deferred, its propagated commands travel with it, and the
/// shared commit tells WATCH.
pub struct DeferredUnit {
    outcome: Arc<OnceLock<Outcome>>,
}

/// The queue and its statistics (INFO `engine_deferred_units`,
/// `engine_shared_commits`, `engine_shared_commit_units`).
#[derive(Default)]
pub(super) struct CommitQueue {
    pending: Mutex<Vec<PendingUnit>>,
    /// Held by the connection committing the queue: whoever takes it after
    /// finds its own unit either committed or still queued.
    committing: Mutex<()>,
    deferred: AtomicU64,
    shared_commits: AtomicU64,
    shared_units: AtomicU64,
}

impl CommitQueue {
    pub(super) fn push(&self, unit: PendingUnit) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
        self.pending.lock().push(unit);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pending.lock().is_empty()
    }
}

impl DeferredUnit {
    pub(super) fn new(outcome: Arc<OnceLock<Outcome>>) -> DeferredUnit {
        DeferredUnit { outcome }
    }

    /// Commits the queue if this unit is still in it, or waits for the
    /// shared commit that took it, then returns what its own commit would
    /// have returned.
    pub fn resolve(self, ks: &Keyspace) -> TypeResult<(Committed, Effects)> {
        if self.outcome.get().is_none() {
            // Queued, or taken by a commit still writing: wait for it.
            ks.commit_queue_now();
        }
        match self.outcome.get() {
            Some(Outcome::Committed(committed)) => Ok((*committed, Effects::default())),
            Some(Outcome::Failed(e)) => Err(TypeError::Reply(e.clone())),
            // A committer fills every unit it takes before it lets go of
            // the commit lock, and a unit is taken by exactly one.
            None => Err(TypeError::Reply("ERR deferred commit lost".into())),
        }
    }
}

/// A new outcome slot for a unit about to be queued.
pub(super) fn new_outcome() -> Arc<OnceLock<Outcome>> {
    Arc::new(OnceLock::new())
}

impl Keyspace {
    /// Where shared commits report the keys they changed (set once, by the
    /// server that owns the WATCH registry).
    pub fn set_watch_sink(&self, sink: std::sync::Weak<dyn WatchSink>) {
        let _ = self.watch_sink.set(sink);
    }

    /// Commits every deferred unit as one engine batch, in queue order, and
    /// releases their key locks. Cheap when the queue is empty.
    pub fn commit_pending(&self) {
        if !self.commit_queue.is_empty() {
            self.commit_queue_now();
        }
    }

    /// [`commit_pending`](Self::commit_pending), and also waits for a
    /// shared commit in progress: on return every unit queued before the
    /// call is committed.
    pub fn commit_queue_now(&self) {
        let queue = &self.commit_queue;
        let _committing = queue.committing.lock();
        let units = std::mem::take(&mut *queue.pending.lock());
        if units.is_empty() {
            return;
        }
        let watched = self.has_watchers();
        let mut batch = Batch::new();
        let mut changes = UnitChanges::default();
        let mut propagate = Vec::new();
        let mut touched = Vec::new();
        let mut rest = Vec::with_capacity(units.len());
        for mut u in units {
            u.batch.drop_overwritten();
            if watched {
                touched.extend(super::context::touched_keys(&u.batch));
            }
            changes.absorb(u.changes, propagate.len(), u.propagate.len());
            propagate.append(&mut u.propagate);
            batch.extend(u.batch);
            rest.push((u.stripes, u.outcome));
        }
        if rest.len() > 1 {
            queue.shared_commits.fetch_add(1, Ordering::Relaxed);
            queue
                .shared_units
                .fetch_add(rest.len() as u64, Ordering::Relaxed);
        }
        let result = self
            .commit_unit_dropped(batch, changes, &propagate, false)
            .map(|(committed, _)| committed);
        if result.is_ok() && !touched.is_empty() {
            if let Some(sink) = self.watch_sink.get().and_then(|s| s.upgrade()) {
                sink.touch(self, &touched);
            }
        }
        for (stripes, outcome) in rest {
            let _ = outcome.set(match &result {
                Ok(committed) => Outcome::Committed(*committed),
                Err(e) => Outcome::Failed(e.to_string()),
            });
            for i in stripes {
                // SAFETY: the unit locked these stripes, handed them to the
                // queue without unlocking them, and only its committer
                // (this call, which took it off the queue) unlocks them.
                unsafe { self.unlock_stripe(i) };
            }
        }
    }

    /// Since start: units deferred, batches shared by more than one unit,
    /// and the units in those.
    pub fn commit_queue_stats(&self) -> (u64, u64, u64) {
        let q = &self.commit_queue;
        (
            q.deferred.load(Ordering::Relaxed),
            q.shared_commits.load(Ordering::Relaxed),
            q.shared_units.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use bytes::Bytes;

    use crate::types::{string, test_keyspace, WriteContext};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    /// A unit that sets `key` to `value` and propagates the SET.
    fn set_unit<'a>(ks: &'a crate::types::Keyspace, key: &str, value: &str) -> WriteContext<'a> {
        let w = WriteContext::new(ks, crate::types::now_ms());
        string::set(&w, 0, key.as_bytes(), b(value)).expect("set");
        w.propagate(0, vec![b("SET"), b(key), b(value)]);
        w.end_command();
        w
    }

    fn stored(ks: &crate::types::Keyspace, key: &str) -> Option<Bytes> {
        let w = WriteContext::new(ks, crate::types::now_ms());
        string::get(&w, 0, key.as_bytes()).expect("get")
    }

    /// Deferred units are invisible until the queue is committed, then land
    /// together: one engine commit, each command its own group in the
    /// stream (no MULTI around units or commands).
    #[test]
    fn deferred_units_commit_as_one_batch() {
        let (_dir, ks) = test_keyspace();
        let before = ks.committed();
        let a = set_unit(&ks, "a", "1").defer();
        let b2 = set_unit(&ks, "b", "2").defer();
        assert_eq!(stored(&ks, "a"), None, "not visible before the commit");
        assert_eq!(ks.dbsize(0), 0);
        let (ca, _) = a.resolve(&ks).expect("a committed");
        let (cb, _) = b2.resolve(&ks).expect("b committed");
        assert_eq!(ca, cb, "one shared commit");
        assert_eq!(ks.committed(), before + 1);
        assert_eq!(ks.commit_queue_stats(), (2, 1, 2));
        assert_eq!(stored(&ks, "a"), Some(b("1")));
        assert_eq!(stored(&ks, "b"), Some(b("2")));
        assert_eq!(ks.dbsize(0), 2, "both units' key counts");
        let stream = ks.read_backlog(1, 1 << 20).expect("backlog");
        assert_eq!(
            stream,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n\
              *3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
              *3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
                .to_vec()
        );
        assert_eq!(stream.len() as u64, ca.offset);
    }

    /// A deferred unit keeps its key locked until the queue is committed; a
    /// unit that then needs the key, even on the same thread and blocking,
    /// commits the queue instead of waiting for a suspended connection.
    #[test]
    fn a_unit_needing_a_deferred_key_commits_the_queue() {
        let (_dir, ks) = test_keyspace();
        let ks = std::sync::Arc::new(ks);
        let d = set_unit(&ks, "k", "1").defer();
        let (tx, rx) = mpsc::channel();
        // Not scoped: if the lock never returns, the test fails instead of
        // waiting for the thread forever.
        let reader = ks.clone();
        std::thread::spawn(move || {
            // Blocking lock (a read that must see one state takes it).
            let w = WriteContext::new(&reader, crate::types::now_ms());
            w.lock(0, &[b"k"]);
            let seen = string::get(&w, 0, b"k").expect("get");
            drop(w);
            let _ = tx.send(seen);
        });
        let seen = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the lock waited for a deferred unit nobody commits");
        assert_eq!(seen, Some(b("1")));
        d.resolve(&ks).expect("committed by the other unit");
        // The non-blocking lock does the same.
        let d = set_unit(&ks, "k", "2").defer();
        let w = WriteContext::new(&ks, crate::types::now_ms());
        assert!(w.try_lock(0, &[b"k"]).is_ok(), "the queue was committed");
        assert_eq!(string::get(&w, 0, b"k").expect("get"), Some(b("2")));
        drop(w);
        d.resolve(&ks).expect("committed");
    }

    /// A unit that runs alone (FLUSHALL, a full sync's load) comes after the
    /// deferred units: taking the gate commits them.
    #[test]
    fn the_exclusive_gate_commits_the_queue_first() {
        let (_dir, ks) = test_keyspace();
        let d = set_unit(&ks, "k", "1").defer();
        let gate = ks.exclusive_gate();
        assert!(ks.get_stored(0, b"k").expect("read").is_some());
        drop(gate);
        d.resolve(&ks).expect("committed");
    }

    /// Units that must commit alone are handed back: nothing written, or a
    /// database emptied.
    #[test]
    fn units_that_must_commit_alone_are_not_deferred() {
        let (_dir, ks) = test_keyspace();
        let w = WriteContext::new(&ks, crate::types::now_ms());
        assert!(!w.deferrable(), "writes nothing");
        let w = set_unit(&ks, "k", "1");
        assert!(w.deferrable());
        w.flush_physical(0);
        assert!(!w.deferrable(), "empties a database");
        drop(w);
        // A key that a unit found held lately is a hot key: its next writer
        // would commit the queue at once, so its units commit alone.
        let d = set_unit(&ks, "hot", "1").defer();
        let w = WriteContext::new(&ks, crate::types::now_ms());
        assert!(w.try_lock(0, &[b"hot"]).is_ok(), "the queue was committed");
        drop(w);
        d.resolve(&ks).expect("committed");
        let w = set_unit(&ks, "hot", "2");
        assert!(!w.deferrable(), "a hot key");
        w.commit().expect("commit");
        assert_eq!(ks.commit_queue_stats().0, 1);
    }

    struct Recorder(parking_lot::Mutex<Vec<(u8, Bytes)>>);

    impl super::WatchSink for Recorder {
        fn touch(&self, _ks: &crate::types::Keyspace, touched: &[(u8, Bytes)]) {
            self.0.lock().extend_from_slice(touched);
        }
    }

    /// WATCH: when someone watches at the shared commit, the units' keys
    /// reach the sink before the commit lets go of them (EXEC takes the
    /// exclusive gate, which commits the queue, then reads its dirty flag).
    #[test]
    fn watched_keys_are_told_before_the_shared_commit_ends() {
        let (_dir, ks) = test_keyspace();
        let sink = std::sync::Arc::new(Recorder(Default::default()));
        let weak: std::sync::Weak<dyn super::WatchSink> =
            std::sync::Arc::downgrade(&sink) as std::sync::Weak<dyn super::WatchSink>;
        ks.set_watch_sink(weak);
        let d = set_unit(&ks, "k", "1").defer();
        ks.watchers
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        drop(ks.exclusive_gate());
        assert_eq!(*sink.0.lock(), vec![(0u8, b("k"))]);
        d.resolve(&ks).expect("committed");
    }
}
