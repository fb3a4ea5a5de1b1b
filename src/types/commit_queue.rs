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
//!
//! A hot key would defeat this: its next writer finds it locked by the
//! deferred unit. So a pipeline's run that has staged nothing yet *takes
//! over* the queued unit holding the key its first write needs
//! (`WriteContext::take_over_holder`): it continues that unit as if its
//! commands were the next ones of the same run, reading what the unit
//! staged, and queues or commits the merged unit; the unit's owner learns
//! the outcome from that commit. Each command stays atomic and isolated
//! (they run one after another under the same key locks), nothing is
//! visible or acknowledged before the merged batch is written, and a failed
//! commit fails every command in it, none of them acknowledged. So fifty
//! clients popping one list commit once per round, as a pipeline does.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use super::context::unstage;
use super::keyspace::UnitChanges;
use super::overlay::Overlay;
use super::{Committed, Effects, Keyspace, TypeError, TypeResult, WriteContext};
use crate::engine::Batch;

/// A queued unit is taken over by another run only while it has staged
/// fewer records than this: it bounds how long a hot key stays locked, and
/// keeps the merged unit's reads of its own staged records a short scan
/// (the overlay scans up to 64 before it builds an index). A longer unit
/// is committed by the run that needs its key, which then commits alone.
const MAX_TAKEN_OVER_RECORDS: usize = 32;

/// A unit waiting in the queue.
pub(super) struct PendingUnit {
    /// Its staged changes (the batch, and what reads through it need when
    /// another run takes the unit over).
    pub(super) overlay: Overlay,
    pub(super) changes: UnitChanges,
    pub(super) propagate: Vec<(usize, Vec<Bytes>)>,
    /// Key lock stripes the unit holds, released after the shared commit.
    pub(super) stripes: super::unit_locks::HeldStripes,
    pub(super) outcome: Arc<OnceLock<Outcome>>,
    /// Outcomes of the units it took over.
    pub(super) joined: Vec<Arc<OnceLock<Outcome>>>,
}

/// Outcome slots of the deferred units a running unit took over: each is
/// set when that unit commits (or fails, if it is dropped uncommitted, so
/// no owner waits forever).
#[derive(Default)]
pub(super) struct Joined(RefCell<Vec<Arc<OnceLock<Outcome>>>>);

impl Joined {
    fn add(&self, outcome: Arc<OnceLock<Outcome>>, mut theirs: Vec<Arc<OnceLock<Outcome>>>) {
        let mut joined = self.0.borrow_mut();
        // Only a run holding no key takes a unit over, so it has joined
        // nothing yet: adopting the unit's list (rather than copying it into
        // this one) keeps a hot key's round of take-overs linear.
        theirs.append(&mut joined);
        theirs.push(outcome);
        *joined = theirs;
    }

    fn take(&self) -> Vec<Arc<OnceLock<Outcome>>> {
        std::mem::take(&mut *self.0.borrow_mut())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// Tells every unit taken over how the commit went.
    pub(super) fn settle(&self, result: Result<Committed, String>) {
        for outcome in self.take() {
            let _ = outcome.set(match &result {
                Ok(committed) => Outcome::Committed(*committed),
                Err(e) => Outcome::Failed(e.clone()),
            });
        }
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        // Every unit is dropped: the error text only when someone waits.
        if !self.0.get_mut().is_empty() {
            self.settle(Err(
                "ERR the command's unit was dropped before its commit".into()
            ));
        }
    }
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
    taken_over: AtomicU64,
}

impl CommitQueue {
    pub(super) fn push(&self, unit: PendingUnit) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
        self.pending.lock().push(unit);
    }

    pub(super) fn is_empty(&self) -> bool {
        self.pending.lock().is_empty()
    }

    /// Takes the queued unit holding key stripe `i` out of the queue, if
    /// there is one with room for more records.
    fn take_holding(&self, i: usize) -> Option<PendingUnit> {
        let mut pending = self.pending.lock();
        let p = pending.iter().position(|u| u.stripes.contains(i))?;
        if pending[p].overlay.batch.len() >= MAX_TAKEN_OVER_RECORDS {
            return None;
        }
        self.taken_over.fetch_add(1, Ordering::Relaxed);
        Some(pending.remove(p))
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
        // Queued, or taken by a commit still writing: commit or wait for
        // it. A unit another run took over is out of the queue while that
        // run executes (synchronously, on another worker) until it commits
        // or queues the merged unit: then try again.
        if self.outcome.get().is_none() {
            ks.commit_queue_now();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.outcome.get().is_none() && Instant::now() < deadline {
                std::thread::yield_now();
                ks.commit_queue_now();
            }
        }
        match self.outcome.get() {
            Some(Outcome::Committed(committed)) => Ok((*committed, Effects::default())),
            Some(Outcome::Failed(e)) => Err(TypeError::Reply(e.clone())),
            // Every unit taken off the queue is settled by its committer
            // (or by the run that took it over) before its locks go.
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
            let mut unit_batch = u.overlay.batch;
            unit_batch.drop_overwritten();
            if watched {
                touched.extend(super::context::touched_keys(&unit_batch));
            }
            changes.absorb(u.changes, propagate.len(), u.propagate.len());
            if propagate.is_empty() {
                propagate = std::mem::take(&mut u.propagate);
            } else {
                propagate.append(&mut u.propagate);
            }
            batch.extend(unit_batch);
            rest.push((u.stripes, u.outcome));
            for outcome in u.joined {
                rest.push((Default::default(), outcome));
            }
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
            for i in stripes.iter() {
                // SAFETY: the unit locked these stripes, handed them to the
                // queue without unlocking them, and only its committer
                // (this call, which took it off the queue) unlocks them.
                unsafe { self.unlock_stripe(i) };
            }
        }
    }

    /// Since start: units deferred, batches shared by more than one unit,
    /// the units in those, and queued units another run took over.
    pub fn commit_queue_stats(&self) -> (u64, u64, u64, u64) {
        let q = &self.commit_queue;
        (
            q.deferred.load(Ordering::Relaxed),
            q.shared_commits.load(Ordering::Relaxed),
            q.shared_units.load(Ordering::Relaxed),
            q.taken_over.load(Ordering::Relaxed),
        )
    }
}

impl WriteContext<'_> {
    /// Whether the unit may wait in the commit queue (`types::commit_queue`)
    /// to share one engine batch with other connections' units. Not when it
    /// has keyspace events, changes the database map or empties a database,
    /// forwards a master's stream, runs alone, writes nothing, holds a key
    /// found busy lately (one whose next writer could not take its unit
    /// over, and would commit it at once), or the keyspace is a replica's:
    /// those commit on their own.
    pub fn deferrable(&self) -> bool {
        // The read-only runs (GETs) leave at the first test.
        self.staged().is_some_and(|s| {
            !s.overlay.borrow().batch.is_empty()
                && s.effects.borrow().events.is_empty()
                && s.changes.borrow().deferrable()
        }) && !self.exclusive
            && !self.ks.replica.load(Ordering::Relaxed)
            && !self
                .locks
                .held
                .borrow()
                .iter()
                .any(|i| self.ks.stripe_contended(i))
    }

    /// Hands a [`deferrable`](Self::deferrable) unit to the commit queue
    /// with its key locks.
    pub fn defer(self) -> DeferredUnit {
        debug_assert!(self.deferrable());
        let (overlay, changes, effects, joined) = unstage(self.staging);
        let stripes = std::mem::take(&mut *self.locks.held.borrow_mut());
        let outcome = new_outcome();
        self.ks.commit_queue.push(PendingUnit {
            overlay,
            changes,
            propagate: effects.propagate,
            stripes,
            outcome: outcome.clone(),
            joined: joined.take(),
        });
        DeferredUnit::new(outcome)
    }

    /// Called with key stripe `i` found busy: whether the unit now holds
    /// it, having taken over the queued unit that held it (a run that has
    /// staged nothing may: see the module's doc).
    pub(super) fn take_over_holder(&self, i: usize) -> bool {
        if !self.joins
            || self.exclusive
            || self.ks.replica.load(Ordering::Relaxed)
            || !self.locks.held.borrow().is_empty()
            || self.staged().is_some_and(|s| {
                !s.overlay.borrow().batch.is_empty()
                    || !s.changes.borrow().stages_nothing()
                    || !s.effects.borrow().propagate.is_empty()
                    || !s.effects.borrow().events.is_empty()
            })
        {
            return false;
        }
        let Some(unit) = self.ks.commit_queue.take_holding(i) else {
            return false;
        };
        // This run's commands so far only read: they come before the
        // unit's in the serial order, as the reads they are.
        let staging = self.staging();
        *staging.overlay.borrow_mut() = unit.overlay;
        *staging.changes.borrow_mut() = unit.changes;
        staging.effects.borrow_mut().propagate = unit.propagate;
        *self.locks.held.borrow_mut() = unit.stripes;
        staging.joined.add(unit.outcome, unit.joined);
        true
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
        assert_eq!(ks.commit_queue_stats(), (2, 1, 2, 0));
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

    /// A run whose first write needs a deferred unit's key takes the unit
    /// over: it reads what the unit staged (still invisible to others), and
    /// the merged unit's one commit settles both, each command its own
    /// group in the stream.
    #[test]
    fn a_run_takes_over_the_deferred_unit_holding_its_key() {
        let (_dir, ks) = test_keyspace();
        let before = ks.committed();
        let a = set_unit(&ks, "k", "1").defer();
        let w = WriteContext::for_run(&ks, crate::types::now_ms());
        assert!(w.try_lock(0, &[b"k"]).is_ok(), "took the unit over");
        assert_eq!(string::get(&w, 0, b"k").expect("get"), Some(b("1")));
        assert_eq!(stored(&ks, "k"), None, "nothing visible yet");
        string::set(&w, 0, b"k", b("2")).expect("set");
        w.propagate(0, vec![b("SET"), b("k"), b("2")]);
        w.end_command();
        assert!(w.deferrable());
        let merged = w.defer();
        assert_eq!(ks.commit_queue_stats(), (2, 0, 0, 1));
        let (cm, _) = merged.resolve(&ks).expect("merged unit committed");
        let (ca, _) = a.resolve(&ks).expect("the unit taken over is settled");
        assert_eq!(ca, cm, "one commit");
        assert_eq!(ks.committed(), before + 1);
        assert_eq!(stored(&ks, "k"), Some(b("2")));
        assert_eq!(ks.dbsize(0), 1);
        let stream = ks.read_backlog(1, 1 << 20).expect("backlog");
        assert_eq!(
            stream,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n\
              *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n\
              *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n2\r\n"
                .to_vec()
        );
    }

    /// Only a run that has staged nothing takes a unit over (a unit cannot
    /// be merged behind changes of its own); and a unit dropped uncommitted
    /// fails the units it took over instead of leaving them waiting.
    #[test]
    fn take_over_only_by_an_empty_run_and_never_lost() {
        let (_dir, ks) = test_keyspace();
        let a = set_unit(&ks, "k", "1").defer();
        let w = WriteContext::for_run(&ks, crate::types::now_ms());
        string::set(&w, 0, b"other", b("x")).expect("set");
        assert!(w.try_lock(0, &[b"k"]).is_ok(), "the queue was committed");
        assert_eq!(ks.commit_queue_stats().3, 0, "nothing taken over");
        assert_eq!(stored(&ks, "k"), Some(b("1")));
        a.resolve(&ks).expect("committed alone");
        w.commit().expect("commit");
        let a = set_unit(&ks, "k", "2").defer();
        let w = WriteContext::for_run(&ks, crate::types::now_ms());
        assert!(w.try_lock(0, &[b"k"]).is_ok());
        drop(w);
        assert!(
            a.resolve(&ks).is_err(),
            "dropped with the unit that took it over"
        );
        assert_eq!(stored(&ks, "k"), Some(b("1")), "nothing of it written");
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
