//! The write context: everything one command, or one atomic unit (EXEC, later
//! a script or a batch of a master's stream), needs to change data.
//!
//! The types layer never commits by itself: it reads and writes through a
//! [`WriteContext`], which
//! - holds the unit's key locks, re-entrantly (a key locked twice in a unit is
//!   locked once), until the unit commits;
//! - fixes the unit's clock (Redis caches the time for a whole command and
//!   freezes it inside a script), so every expiry decision agrees;
//! - knows the expiry mode: a master deletes a key it finds expired and that
//!   DEL is an effect; a replica (or a write-paused master) only hides it;
//! - stages the changes, readable by the unit's later reads (see
//!   [`overlay`](super::overlay)), and collects the effects: the commands to
//!   propagate and the keyspace events;
//! - ends in exactly one [`Keyspace::commit_unit`]: one atomic engine batch
//!   with the data, the propagated bytes and the new replication offset.

use std::cell::{Cell, OnceCell, RefCell};

use bytes::Bytes;

use super::encoding::{self, KeyType, Metadata};
use super::keyspace::{Committed, Keyspace, UnitChanges};
use super::overlay::{Overlay, Staged};
use super::unit_locks::HeldLocks;
use super::{TypeError, TypeResult, WriteSet};
use crate::engine::{Batch, Cf, EngineIter, EngineResult};

/// A key lock found busy by [`WriteContext::try_lock`]: what to wait for
/// before trying again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyKey(pub(super) usize);

/// A keyspace event to publish once the unit has committed
/// (`notify-keyspace-events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyspaceEvent {
    /// The event's class bit (`crate::notify`).
    pub class: u32,
    pub event: &'static str,
    /// Logical database.
    pub db: usize,
    pub key: Bytes,
}

/// What a unit leaves behind for the server once committed.
#[derive(Default)]
pub struct Effects {
    /// Commands as replicas must see them: (logical db, argv).
    pub propagate: Vec<(usize, Vec<Bytes>)>,
    pub events: Vec<KeyspaceEvent>,
    /// Keys whose records changed: (physical db, key), for WATCH.
    pub touched: Vec<(u8, Bytes)>,
    /// Held from the commit until the events are delivered, so events
    /// reach subscribers in commit order (taken only when there are some).
    pub delivery_turn: Option<super::keyspace::DeliveryTurn>,
}

impl std::fmt::Debug for Effects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Effects")
            .field("propagate", &self.propagate)
            .field("events", &self.events)
            .field("touched", &self.touched)
            .finish()
    }
}

/// What a unit stages and collects: boxed, and allocated by the unit's
/// first change (or read-ahead). A unit of reads (a lone GET's) never
/// stages anything, and creating and dropping these parts empty cost it
/// some 500 instructions (stop 47 in docs/bench/instructions.md); a unit
/// that writes moves a pointer, not the parts, on its way to the commit.
#[derive(Default)]
pub(super) struct Staging {
    pub(super) overlay: RefCell<Overlay>,
    pub(super) changes: RefCell<UnitChanges>,
    pub(super) effects: RefCell<Effects>,
    /// The deferred units the unit took over, told how their commit went
    /// when this unit commits.
    pub(super) joined: super::commit_queue::Joined,
    /// Metadata records read ahead in one multi-get for a pipeline's reads
    /// (`prefetch_meta`), by encoded meta key; consulted only while
    /// `reading_prefetched` is set, i.e. by reads, never by a write (whose
    /// outcome must depend on the record as of its key lock).
    prefetched: RefCell<rustc_hash::FxHashMap<Vec<u8>, Option<Vec<u8>>>>,
    /// Records read ahead for the pops that follow in the unit
    /// (`read_ahead_to_delete`), by key; each is taken by the read that
    /// uses it.
    ahead: RefCell<rustc_hash::FxHashMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl Staging {
    /// Nothing staged, propagated, notified or taken over.
    pub(super) fn is_empty(&self) -> bool {
        self.overlay.borrow().batch.is_empty()
            && self.joined.is_empty()
            && {
                let effects = self.effects.borrow();
                effects.propagate.is_empty() && effects.events.is_empty()
            }
            && self.changes.borrow().stages_nothing()
    }
}

pub struct WriteContext<'a> {
    pub(super) ks: &'a Keyspace,
    now: Cell<u64>,
    /// Whether a key found expired is deleted (masters not write-paused).
    deletes_expired: bool,
    /// The unit runs alone (it holds the keyspace gate exclusively): no
    /// other command can touch a key, so key locks are not taken.
    pub(super) exclusive: bool,
    pub(super) locks: HeldLocks<'a>,
    /// What the unit stages and collects, allocated by its first change
    /// or read-ahead ([`staging`](Self::staging)).
    pub(super) staging: OnceCell<Box<Staging>>,
    /// A pipeline's run: while it has staged nothing, it may take over the
    /// deferred unit that holds a key it needs (`commit_queue`).
    pub(super) joins: bool,
    /// Changes staged by commands themselves (not by lazy expiry).
    own_changes: Cell<u64>,
    /// Whether reads may use the records of `prefetch_meta`.
    reading_prefetched: Cell<bool>,
    /// Pops of the running command's key that start here in the unit, one
    /// after another (`set_pops_ahead`).
    pops_ahead: Cell<usize>,
    /// Tests only: commit each change as it is staged.
    #[cfg(test)]
    autocommit: bool,
}

impl<'a> WriteContext<'a> {
    /// A unit on `ks` whose clock reads `now_ms`.
    pub fn new(ks: &'a Keyspace, now_ms: u64) -> WriteContext<'a> {
        WriteContext {
            ks,
            now: Cell::new(now_ms),
            deletes_expired: ks.deletes_expired(),
            exclusive: false,
            locks: HeldLocks::new(ks),
            staging: OnceCell::new(),
            own_changes: Cell::new(0),
            reading_prefetched: Cell::new(false),
            pops_ahead: Cell::new(1),
            joins: false,
            #[cfg(test)]
            autocommit: false,
        }
    }

    /// A unit for a pipeline's run: like [`new`](Self::new), and it may take
    /// over a deferred unit whose key its first write needs.
    pub fn for_run(ks: &'a Keyspace, now_ms: u64) -> WriteContext<'a> {
        WriteContext {
            joins: true,
            ..WriteContext::new(ks, now_ms)
        }
    }

    /// Tests only: a context that commits every change as it is staged.
    #[cfg(test)]
    pub fn autocommit(ks: &'a Keyspace) -> WriteContext<'a> {
        WriteContext {
            autocommit: true,
            ..WriteContext::new(ks, super::now_ms())
        }
    }

    /// Tests only: the clock of an autocommit context follows the wall clock.
    #[cfg(test)]
    fn commit_staged_now(&self) {
        if !self.autocommit {
            return;
        }
        self.now.set(super::now_ms());
        let staging = self.staging();
        let batch = std::mem::take(&mut *staging.overlay.borrow_mut()).batch;
        let changes = std::mem::take(&mut *staging.changes.borrow_mut());
        let propagate = std::mem::take(&mut staging.effects.borrow_mut().propagate);
        self.ks
            .commit_unit(batch, changes, &propagate)
            .expect("autocommit");
    }

    /// A unit that runs alone (its caller holds the exclusive gate).
    pub fn exclusive(ks: &'a Keyspace, now_ms: u64) -> WriteContext<'a> {
        WriteContext {
            exclusive: true,
            ..WriteContext::new(ks, now_ms)
        }
    }

    pub fn keyspace(&self) -> &'a Keyspace {
        self.ks
    }

    /// The unit's staged parts, allocated by the first caller: one that
    /// stages, propagates, notifies or reads ahead.
    pub(super) fn staging(&self) -> &Staging {
        self.staging.get_or_init(Box::default)
    }

    /// The unit's staged parts, if it has allocated them.
    pub(super) fn staged(&self) -> Option<&Staging> {
        self.staging.get().map(|s| &**s)
    }

    /// The unit's clock, in unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        #[cfg(test)]
        if self.autocommit {
            return super::now_ms();
        }
        self.now.get()
    }

    /// Moves the clock of a unit made of several commands (EXEC): Redis
    /// reads the time again for each command of a transaction.
    pub fn set_now_ms(&self, now: u64) {
        self.now.set(now);
    }

    // ---- reads (through the staged changes) --------------------------

    pub fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        self.get_inner(cf, key, false)
    }

    /// [`Engine::get_run`] through the staged changes: `keys` ascend and
    /// are (nearly) all the records between the first and the last;
    /// `visit(i, record)` sees each in order.
    pub fn get_run(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
            return Ok(());
        };
        let upper = crate::engine::key_after(last);
        if self.staged().is_some_and(|s| {
            s.overlay
                .borrow_mut()
                .touches(cf, Some(first), Some(&upper))
        }) {
            for (i, k) in keys.iter().enumerate() {
                visit(i, self.get(cf, k)?.as_deref());
            }
            return Ok(());
        }
        self.ks.engine().get_run(cf, keys, visit)
    }

    /// [`get`](Self::get) of a member the command is about to delete (a
    /// popped element): the engine's record cache need not keep it.
    pub fn get_to_delete(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        self.get_inner(cf, key, true)
    }

    fn get_inner(&self, cf: Cf, key: &[u8], to_delete: bool) -> EngineResult<Option<Vec<u8>>> {
        if let Some(staging) = self.staged() {
            match staging.overlay.borrow_mut().lookup(cf, key) {
                Staged::Value(v) => return Ok(Some(v.to_vec())),
                Staged::Deleted => return Ok(None),
                Staged::Unknown => {}
            }
            if to_delete {
                let mut ahead = staging.ahead.borrow_mut();
                if !ahead.is_empty() {
                    if let Some(found) = ahead.remove(key) {
                        return Ok(found);
                    }
                }
            }
            if cf == Cf::Meta && self.reading_prefetched.get() {
                if let Some(found) = staging.prefetched.borrow().get(key) {
                    return Ok(found.clone());
                }
            }
        }
        if to_delete {
            self.ks.engine().get_to_delete(cf, key)
        } else {
            self.ks.engine().get(cf, key)
        }
    }

    /// Reads the metadata records of `keys` (physical db `db`) in one
    /// engine multi-get, for the reads of a pipeline that follow: a GET
    /// run of a pipeline costs one lookup call instead of one per command,
    /// and repeated reads of one key share it. The records are as of this
    /// call, which is after the requests arrived, so a read served from
    /// them is still linearizable; writes never use them.
    pub fn prefetch_meta(&self, db: u8, keys: &[&[u8]]) -> EngineResult<()> {
        let mut encoded: Vec<Vec<u8>> = keys.iter().map(|k| encoding::meta_key(db, k)).collect();
        encoded.sort_unstable();
        encoded.dedup();
        let refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let values = self.ks.engine().multi_get(Cf::Meta, &refs)?;
        let mut map = self.staging().prefetched.borrow_mut();
        map.clear();
        map.extend(encoded.into_iter().zip(values));
        Ok(())
    }

    /// How many pops of one key start with the next command, one after
    /// another in the unit (a pipeline's run of LPOPs): the first may read
    /// the elements of all of them at once ([`read_ahead_to_delete`]).
    ///
    /// [`read_ahead_to_delete`]: Self::read_ahead_to_delete
    pub fn set_pops_ahead(&self, pops: usize) {
        self.pops_ahead.set(pops);
    }

    pub fn pops_ahead(&self) -> usize {
        self.pops_ahead.get()
    }

    /// Reads `keys` of `cf`, adjacent records (a list's end), with one
    /// iterator (`Engine::get_run_to_delete_ahead`: a multi-get searched
    /// every memtable for each key), for the commands of this unit that
    /// will read them with [`get_to_delete`](Self::get_to_delete), each
    /// once. `beyond` makes the keys that follow them at that end, which
    /// later units' pops will read: the engine's record cache may read
    /// them with the same iterator and keep them. The caller holds the lock
    /// of the key they belong to until the unit ends, so `keys` cannot
    /// change but by this unit's own writes, which the overlay answers first.
    pub fn read_ahead_to_delete(
        &self,
        cf: Cf,
        keys: Vec<Vec<u8>>,
        beyond: &mut dyn FnMut() -> Vec<Vec<u8>>,
    ) -> EngineResult<()> {
        let staging = self.staging();
        let mut keys: Vec<Vec<u8>> = {
            let mut overlay = staging.overlay.borrow_mut();
            keys.into_iter()
                .filter(|k| matches!(overlay.lookup(cf, k), Staged::Unknown))
                .collect()
        };
        keys.sort_unstable();
        keys.dedup();
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let mut values: Vec<Option<Vec<u8>>> = vec![None; keys.len()];
        self.ks
            .engine()
            .get_run_to_delete_ahead(cf, &refs, beyond, &mut |i, v| {
                values[i] = v.map(<[u8]>::to_vec)
            })?;
        staging
            .ahead
            .borrow_mut()
            .extend(keys.into_iter().zip(values));
        Ok(())
    }

    /// Whether the next reads may use the records of [`prefetch_meta`]
    /// (set for a read command, cleared for a write).
    ///
    /// [`prefetch_meta`]: Self::prefetch_meta
    pub fn read_prefetched(&self, on: bool) {
        self.reading_prefetched.set(on);
    }

    pub fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        if self.staged().is_none_or(|s| s.overlay.borrow().is_empty()) {
            return self.ks.engine().multi_get(cf, keys);
        }
        keys.iter().map(|k| self.get(cf, k)).collect()
    }

    pub fn iter(
        &self,
        cf: Cf,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
    ) -> Box<dyn EngineIter + 'a> {
        let base = self.ks.engine().iter(cf, lower, upper);
        let Some(staging) = self.staged() else {
            return base;
        };
        let mut overlay = staging.overlay.borrow_mut();
        if !overlay.touches(cf, lower, upper) {
            return base;
        }
        let mut base = base;
        match overlay.materialise(cf, lower, upper, base.as_mut()) {
            Ok(v) => Box::new(v),
            Err(e) => {
                tracing::warn!("reading staged changes: {e}");
                base
            }
        }
    }

    /// The metadata record as stored (staged changes included), expired or not.
    pub fn get_stored(&self, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
        match encoding::with_meta_key(db, key, |k| self.get(Cf::Meta, k))? {
            Some(raw) => Ok(Some(Metadata::from_record(raw)?)),
            None => Ok(None),
        }
    }

    /// The key's record as a command's lookup sees it (Redis's `lookupKey`):
    /// a key found expired is deleted on a master, with its DEL propagated
    /// before the command and an `expired` event, and reads as missing; on
    /// a replica the expired record is returned as stored (callers treat it
    /// as absent, and counters stay exact).
    pub fn lookup_key(&self, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
        let stored = self.get_stored(db, key)?;
        match &stored {
            Some(m)
                if m.is_expired(self.now_ms())
                    && self.deletes_expired
                    && self.try_hold(db, key) =>
            {
                self.delete_if_expired(db, key)?;
                Ok(None)
            }
            _ => Ok(stored),
        }
    }

    /// The metadata of a live key: an expired key reads as missing, and a
    /// master deletes it (its DEL is propagated and `expired` is notified).
    pub fn get_live(&self, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
        let Some(meta) = self.get_stored(db, key)? else {
            return Ok(None);
        };
        if !meta.is_expired(self.now_ms()) {
            return Ok(Some(meta));
        }
        if self.deletes_expired && self.try_hold(db, key) {
            self.delete_if_expired(db, key)?;
        }
        Ok(None)
    }

    /// [`get_live`](Self::get_live) that also checks the type.
    pub fn get_typed(&self, db: u8, key: &[u8], kind: KeyType) -> TypeResult<Option<Metadata>> {
        match self.get_live(db, key)? {
            Some(m) if m.kind != kind => Err(TypeError::WrongType),
            other => Ok(other),
        }
    }

    /// Deletes `key`, locked by the caller, if its record has expired by the
    /// unit's clock, as the expiry of a master does: the deletion is staged
    /// with `DEL key` to propagate and an `expired` event. Returns whether it
    /// deleted. Does nothing on a replica.
    pub fn delete_if_expired(&self, db: u8, key: &[u8]) -> TypeResult<bool> {
        if !self.deletes_expired {
            return Ok(false);
        }
        // The key is locked now: decide on the record as it is, not on one
        // read ahead before the lock (another client may have renewed it).
        let prefetched = self.reading_prefetched.replace(false);
        let stored = self.get_stored(db, key);
        self.reading_prefetched.set(prefetched);
        match stored? {
            Some(m) if m.is_expired(self.now_ms()) => {
                let mut ws = self.write_set();
                ws.delete_key(db, key, &m);
                self.stage_inner(ws);
                if let Some(logical) = self.ks.logical(db) {
                    let key = Bytes::copy_from_slice(key);
                    let del = if self.ks.lazyfree_expire() {
                        "UNLINK"
                    } else {
                        "DEL"
                    };
                    self.propagate(
                        logical,
                        vec![Bytes::from_static(del.as_bytes()), key.clone()],
                    );
                    self.event(crate::notify::EXPIRED, "expired", logical, key);
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    // ---- writes ------------------------------------------------------

    pub fn write_set(&self) -> WriteSet {
        WriteSet::new()
    }

    /// Stages `ws` into the unit. It reaches the engine when the unit
    /// commits; the unit's own reads see it at once. Returns the number of
    /// changes the unit's commands have staged so far.
    pub fn stage(&self, ws: WriteSet) -> TypeResult<u64> {
        if !ws.is_empty() {
            self.own_changes.set(self.own_changes.get() + 1);
            self.stage_inner(ws);
        }
        Ok(self.own_changes.get())
    }

    fn stage_inner(&self, ws: WriteSet) {
        let (batch, deltas) = ws.into_parts();
        let staging = self.staging();
        staging.changes.borrow_mut().add_deltas(&deltas);
        staging.overlay.borrow_mut().append(batch);
        #[cfg(test)]
        self.commit_staged_now();
    }

    /// Stages the emptying of physical db `db` (FLUSHDB, FLUSHALL).
    pub fn flush_physical(&self, db: u8) {
        let mut batch = Batch::new();
        super::keyspace::delete_physical(&mut batch, db);
        let staging = self.staging();
        staging.changes.borrow_mut().flush(db);
        staging.overlay.borrow_mut().append(batch);
        self.own_changes.set(self.own_changes.get() + 1);
        #[cfg(test)]
        self.commit_staged_now();
    }

    /// The unit forwards `raw`, its master's exact stream bytes, instead of
    /// its own propagated forms (a replica relays the stream byte for byte,
    /// with the master's offsets).
    pub fn forward_raw(&self, raw: Bytes) {
        self.staging().changes.borrow_mut().raw_stream = Some(raw);
    }

    /// The database the forwarded stream has selected after the unit (the
    /// master client's, after its command ran).
    pub fn forwarded_db(&self, db: usize) {
        self.staging().changes.borrow_mut().raw_db = Some(db);
    }

    /// Stages swapping logical databases `a` and `b` (SWAPDB).
    pub fn swap_databases(&self, a: usize, b: usize) {
        let mut changes = self.staging().changes.borrow_mut();
        let mut map = changes
            .dbmap
            .clone()
            .unwrap_or_else(|| self.ks.dbmap_snapshot());
        map.swap(a, b);
        changes.dbmap = Some(map);
        self.own_changes.set(self.own_changes.get() + 1);
        drop(changes);
        #[cfg(test)]
        self.commit_staged_now();
    }

    /// Ends one command of a unit whose commands are separately atomic (a
    /// pipeline run as one unit, unlike EXEC): what it propagated is one
    /// group in the stream, wrapped in MULTI/EXEC only if it has several
    /// forms, as Redis propagates each command of a pipeline on its own.
    pub fn end_command(&self) {
        // Nothing propagated (a read's unit has no staged parts).
        let Some(staging) = self.staged() else {
            return;
        };
        let n = staging.effects.borrow().propagate.len();
        let mut changes = staging.changes.borrow_mut();
        // Reads before the first propagated form end no group: without that
        // end, a unit of reads allocates no list of ends.
        if n > 0 && changes.command_ends.last() != Some(&n) {
            changes.command_ends.push(n);
        }
    }

    /// Whether the unit's commands have staged any change.
    pub fn own_changes(&self) -> u64 {
        self.own_changes.get()
    }

    // ---- effects -----------------------------------------------------

    /// Propagates `argv` (in logical db `db`) to replicas when the unit commits.
    pub fn propagate(&self, db: usize, argv: Vec<Bytes>) {
        self.staging()
            .effects
            .borrow_mut()
            .propagate
            .push((db, argv));
    }

    /// Notifies a keyspace event once the unit has committed.
    pub fn event(&self, class: u32, event: &'static str, db: usize, key: Bytes) {
        self.staging()
            .effects
            .borrow_mut()
            .events
            .push(KeyspaceEvent {
                class,
                event,
                db,
                key,
            });
    }

    /// Like [`event`](Self::event) for a physical database id.
    pub fn event_physical(&self, class: u32, event: &'static str, db: u8, key: &[u8]) {
        if let Some(logical) = self.ks.logical(db) {
            self.event(class, event, logical, Bytes::copy_from_slice(key));
        }
    }

    // ---- keyspace facts, as the unit sees them ----------------------

    pub fn new_version(&self) -> u64 {
        self.ks.new_version()
    }

    pub fn databases(&self) -> usize {
        self.ks.databases()
    }

    /// The physical id of logical db `db`, SWAPDBs staged by the unit included.
    pub fn physical(&self, db: usize) -> u8 {
        if let Some(staging) = self.staged() {
            if let Some(map) = &staging.changes.borrow().dbmap {
                return map[db];
            }
        }
        self.ks.physical(db)
    }

    pub fn logical(&self, physical: u8) -> Option<usize> {
        if let Some(staging) = self.staged() {
            if let Some(map) = &staging.changes.borrow().dbmap {
                return map.iter().position(|&p| p == physical);
            }
        }
        self.ks.logical(physical)
    }

    /// Keys and keys with a TTL in physical db `p`, staged changes included.
    fn counts(&self, p: u8) -> (i64, i64) {
        match self.staged() {
            Some(staging) => staging.changes.borrow().counts(self.ks, p),
            None => UnitChanges::default().counts(self.ks, p),
        }
    }

    /// Keys in logical db `db`, changes staged by the unit included.
    pub fn dbsize(&self, db: usize) -> u64 {
        let p = self.physical(db);
        let (keys, _) = self.counts(p);
        keys.max(0) as u64
    }

    /// Keys with a TTL in logical db `db`, staged changes included.
    pub fn expires_count(&self, db: usize) -> u64 {
        let p = self.physical(db);
        let (_, expires) = self.counts(p);
        expires.max(0) as u64
    }

    /// Whether committing the unit would do nothing but let it go: it
    /// staged nothing, propagates nothing, has no events, holds no key lock
    /// and took over no deferred unit. A read's unit (a lone GET's) is then
    /// dropped instead: its commit would find an empty batch and return at
    /// once, after moving the unit, its batch and its effects along the way.
    pub fn has_nothing_to_commit(&self) -> bool {
        self.locks.held.borrow().is_empty() && self.staged().is_none_or(Staging::is_empty)
    }

    /// Commits the unit: one atomic engine batch with its data, its
    /// propagated bytes and the new replication offset. Locks are released
    /// after the batch is written. The effects are for the caller to deliver
    /// (events, WATCH, blocked clients).
    pub fn commit(self) -> TypeResult<(Committed, Effects)> {
        let (overlay, changes, mut effects, joined) = unstage(self.staging);
        let batch = overlay.batch;
        if self.ks.has_watchers() {
            effects.touched = touched_keys(&batch);
        }
        let ordered = !effects.events.is_empty();
        let result = self
            .ks
            .commit_unit_ordered(batch, changes, &effects.propagate, ordered);
        if !joined.is_empty() {
            joined.settle(result.as_ref().map(|(c, _)| *c).map_err(|e| e.to_string()));
        }
        let (committed, turn) = result?;
        effects.delivery_turn = turn;
        for i in self.locks.held.borrow().iter() {
            self.ks.stripe_committed_alone(i);
        }
        drop(self.locks);
        Ok((committed, effects))
    }
}

/// What a commit or the commit queue takes of a unit's staged parts (empty
/// ones if it never allocated them): its overlay, its changes, its effects
/// and the deferred units it took over.
pub(super) fn unstage(
    staging: OnceCell<Box<Staging>>,
) -> (Overlay, UnitChanges, Effects, super::commit_queue::Joined) {
    let s = staging.into_inner().map_or_else(Staging::default, |s| *s);
    (
        s.overlay.into_inner(),
        s.changes.into_inner(),
        s.effects.into_inner(),
        s.joined,
    )
}

/// The user keys whose records a batch changes.
pub(super) fn touched_keys(batch: &Batch) -> Vec<(u8, Bytes)> {
    use crate::engine::BatchOp;
    let mut out: Vec<(u8, Bytes)> = Vec::new();
    for op in batch.ops() {
        let (cf, key) = match op {
            BatchOp::Put { cf, key, .. } | BatchOp::Delete { cf, key } => (*cf, key),
            BatchOp::DeleteRange { .. } | BatchOp::LogData(_) => continue,
        };
        let found = match cf {
            // A meta key is `[db][user key]`.
            Cf::Meta => key.split_first().map(|(db, k)| (*db, k.to_vec())),
            Cf::Data | Cf::ZScore => {
                encoding::split_subkey(key).map(|(db, mk, _, _)| (db, mk[1..].to_vec()))
            }
            _ => None,
        };
        if let Some((db, k)) = found {
            if !out
                .iter()
                .any(|(d, x)| *d == db && x.as_ref() == k.as_slice())
            {
                out.push((db, Bytes::from(k)));
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "context_tests.rs"]
mod tests;
