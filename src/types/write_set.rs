//! The changes a write stages before the commit point: a command step's
//! [`WriteSet`] (its engine batch and the key counters it moves, kept exact
//! with the expiry index by `put_meta` and `delete_key`) and a unit's
//! [`UnitChanges`] (the counters and database-level changes of all its
//! commands). The keyspace applies both in `Keyspace::commit_unit`.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::encoding::{self, Metadata};
use super::keyspace::Keyspace;
use crate::engine::{Batch, Cf};

/// The changes of one step of a command, staged into its write context.
#[derive(Default)]
pub struct WriteSet {
    pub batch: Batch,
    /// physical db -> (keys delta, expires delta)
    deltas: Vec<(u8, i64, i64)>,
}

impl WriteSet {
    pub fn new() -> WriteSet {
        WriteSet::default()
    }

    fn delta(&mut self, db: u8, keys: i64, expires: i64) {
        add_delta(&mut self.deltas, db, keys, expires);
    }

    pub(super) fn into_parts(self) -> (Batch, Vec<(u8, i64, i64)>) {
        (self.batch, self.deltas)
    }

    /// Stores `new` as the metadata of `key`, replacing `stored` (the record
    /// read under the key lock, expired or not). Keeps the key counters and
    /// the expiry index exact.
    pub fn put_meta(&mut self, db: u8, key: &[u8], new: &Metadata, stored: Option<&Metadata>) {
        // An HSET of an existing field, a ZADD that moves a member: the
        // record is unchanged, and writing it again costs a memtable insert,
        // log bytes and a cache update. Skipped only when the batch changes
        // something else, so the command still counts as a change (it is
        // propagated and touches WATCHed keys as in Redis). The batch is
        // tested first: a string's SET comes here with an empty batch, and
        // comparing the records would compare its whole value.
        if !self.batch.is_empty() && stored == Some(new) {
            return;
        }
        self.batch
            .put(Cf::Meta, encoding::meta_key(db, key), new.encode());
        let old_exp = stored.map_or(0, |m| m.expire_ms);
        if old_exp != new.expire_ms {
            if old_exp != 0 {
                self.batch
                    .delete(Cf::Expire, encoding::expire_index_key(db, old_exp, key));
            }
            if new.expire_ms != 0 {
                self.batch.put(
                    Cf::Expire,
                    encoding::expire_index_key(db, new.expire_ms, key),
                    Vec::new(),
                );
            }
        }
        self.delta(
            db,
            stored.is_none() as i64,
            (new.expire_ms != 0) as i64 - (old_exp != 0) as i64,
        );
    }

    /// Deletes `key` (whose stored record is `stored`) in O(1): subkeys of
    /// collections become orphans that compaction drops.
    pub fn delete_key(&mut self, db: u8, key: &[u8], stored: &Metadata) {
        self.batch.delete(Cf::Meta, encoding::meta_key(db, key));
        if stored.expire_ms != 0 {
            self.batch.delete(
                Cf::Expire,
                encoding::expire_index_key(db, stored.expire_ms, key),
            );
        }
        self.delta(db, -1, -((stored.expire_ms != 0) as i64));
    }

    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }
}

fn add_delta(deltas: &mut Vec<(u8, i64, i64)>, db: u8, keys: i64, expires: i64) {
    if keys == 0 && expires == 0 {
        return;
    }
    match deltas.iter_mut().find(|d| d.0 == db) {
        Some(d) => {
            d.1 += keys;
            d.2 += expires;
        }
        None => deltas.push((db, keys, expires)),
    }
}

/// Counter changes and database-level changes a unit accumulates.
#[derive(Default)]
pub struct UnitChanges {
    pub(super) deltas: Vec<(u8, i64, i64)>,
    /// Physical dbs emptied by the unit: their counters restart from zero.
    pub(super) flushed: Vec<u8>,
    /// The database map after the unit's SWAPDBs.
    pub(super) dbmap: Option<Vec<u8>>,
    /// A master's stream bytes to forward instead of the unit's own
    /// propagated commands (see `WriteContext::forward_raw`).
    pub(super) raw_stream: Option<Bytes>,
    /// The database the master's stream has selected after those bytes.
    pub(super) raw_db: Option<usize>,
    /// Where the unit's propagated commands split into separately atomic
    /// commands (a pipeline's unit, see `WriteContext::end_command`): each
    /// command's forms are one group, wrapped in MULTI/EXEC only when it has
    /// more than one. Empty: the whole unit is one group (EXEC).
    pub(super) command_ends: Vec<usize>,
}

impl UnitChanges {
    pub(super) fn add_deltas(&mut self, deltas: &[(u8, i64, i64)]) {
        for &(db, k, e) in deltas {
            add_delta(&mut self.deltas, db, k, e);
        }
    }

    /// Adds a deferred unit's changes to a shared commit's: `base` is how
    /// many commands the shared commit propagates before the unit's `len`.
    /// Only units without SWAPDB, FLUSH or a master's stream are deferred.
    pub(super) fn absorb(&mut self, unit: UnitChanges, base: usize, len: usize) {
        debug_assert!(unit.dbmap.is_none() && unit.raw_stream.is_none() && unit.flushed.is_empty());
        self.add_deltas(&unit.deltas);
        // Each unit's commands stay their own groups; a unit without ends
        // (one group) ends where its commands end.
        self.command_ends
            .extend(unit.command_ends.iter().map(|e| base + e));
        if self.command_ends.last() != Some(&(base + len)) {
            self.command_ends.push(base + len);
        }
    }

    /// Whether nothing is staged: no counter change, no database-level
    /// change (the command ends of reads do not count).
    pub(super) fn stages_nothing(&self) -> bool {
        self.deltas.is_empty() && self.deferrable() && self.raw_db.is_none()
    }

    /// Whether a unit with these changes may wait in the commit queue.
    pub(super) fn deferrable(&self) -> bool {
        self.dbmap.is_none() && self.raw_stream.is_none() && self.flushed.is_empty()
    }

    pub(super) fn flush(&mut self, db: u8) {
        self.deltas.retain(|d| d.0 != db);
        if !self.flushed.contains(&db) {
            self.flushed.push(db);
        }
    }

    /// (keys, expires) of physical db `db` once these changes apply.
    pub(super) fn counts(&self, ks: &Keyspace, db: u8) -> (i64, i64) {
        let c = &ks.counts[db as usize];
        let (mut keys, mut expires) = if self.flushed.contains(&db) {
            (0, 0)
        } else {
            (
                c.keys.load(Ordering::Relaxed),
                c.expires.load(Ordering::Relaxed),
            )
        };
        if let Some(d) = self.deltas.iter().find(|d| d.0 == db) {
            keys += d.1;
            expires += d.2;
        }
        (keys.max(0), expires.max(0))
    }
}
