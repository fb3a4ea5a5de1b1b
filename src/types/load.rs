//! Replacing the whole dataset at once: a replica's full resynchronisation.
//!
//! The master's RDB is written by [`super::bulk::BulkLoader`] into physical
//! databases no logical database maps to, so commands keep reading the old
//! data meanwhile (`replica-serve-stale-data`). One commit then switches the
//! database map to them, drops the old ones, sets their key counters and
//! adopts the master's replication position, with an empty backlog: after a
//! crash either the old dataset and position or the new ones are there,
//! never a mix.

use std::sync::atomic::Ordering;

use super::backlog::{IndexEntry, ReplPosition, REPL_STATE_KEY};
use super::bulk::LoadedCounts;
use super::keyspace::{
    counts_key, counts_value, delete_physical, DBMAP_KEY, MAX_DATABASES, POSITION_KNOWN_KEY,
};
use super::{Keyspace, TypeError, TypeResult};
use crate::engine::{Batch, Cf};

/// Where a load writes: for each logical database, the physical one that
/// will back it.
#[derive(Debug, Clone)]
pub struct LoadTarget {
    pub physical: Vec<u8>,
}

impl Keyspace {
    /// Picks free physical databases for a load and empties them (a load
    /// that crashed may have left records there).
    pub fn begin_load(&self) -> TypeResult<LoadTarget> {
        let used = self.dbmap_snapshot();
        let physical: Vec<u8> = (0..MAX_DATABASES as u16)
            .map(|p| p as u8)
            .filter(|p| !used.contains(p))
            .take(self.databases())
            .collect();
        if physical.len() < self.databases() {
            return Err(TypeError::Corrupt(super::encoding::CorruptMetadata));
        }
        let mut batch = Batch::new();
        for &p in &physical {
            delete_physical(&mut batch, p);
        }
        self.engine().write(&batch)?;
        Ok(LoadTarget { physical })
    }

    /// Drops what a failed load wrote.
    pub fn discard_load(&self, target: &LoadTarget) -> TypeResult<()> {
        let mut batch = Batch::new();
        for &p in &target.physical {
            delete_physical(&mut batch, p);
        }
        Ok(self.engine().write(&batch)?)
    }

    /// Makes the loaded databases the dataset, at `position` of the master's
    /// stream, in one commit; the stream continues in `stream_db` (the RDB's
    /// `repl-stream-db`). The caller holds the exclusive gate.
    pub fn install_load(
        &self,
        target: &LoadTarget,
        counts: &[LoadedCounts],
        position: ReplPosition,
        stream_db: Option<usize>,
    ) -> TypeResult<()> {
        let mut stream = self.stream.lock();
        let old = self.dbmap_snapshot();
        let mut batch = Batch::new();
        for &p in &old {
            delete_physical(&mut batch, p);
            batch.delete(Cf::State, counts_key(p));
        }
        for &p in &target.physical {
            let c = counts[p as usize];
            batch.put(
                Cf::State,
                counts_key(p),
                counts_value(c.keys as i64, c.expires as i64),
            );
        }
        batch.put(Cf::State, DBMAP_KEY.to_vec(), target.physical.clone());
        batch.put(Cf::State, REPL_STATE_KEY.to_vec(), position.encode());
        batch.put(Cf::State, POSITION_KNOWN_KEY.to_vec(), vec![1]);
        batch.delete_range(Cf::Backlog, IndexEntry::key(0), IndexEntry::key(u64::MAX));
        self.engine().write(&batch)?;
        self.position_known.store(true, Ordering::Relaxed);
        for &p in &old {
            self.counts[p as usize].keys.store(0, Ordering::Relaxed);
            self.counts[p as usize].expires.store(0, Ordering::Relaxed);
        }
        for &p in &target.physical {
            let c = counts[p as usize];
            self.counts[p as usize]
                .keys
                .store(c.keys as i64, Ordering::Relaxed);
            self.counts[p as usize]
                .expires
                .store(c.expires as i64, Ordering::Relaxed);
        }
        *self.dbmap.write() = target.physical.clone();
        stream.reset(position);
        stream.selected = stream_db;
        self.offset.store(stream.position.offset, Ordering::Release);
        self.committed.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Redis's `repl-backlog-ttl` on a master left without replicas: the
    /// stream continues under a new id with no previous one, and nothing
    /// before this point is offered for a partial resync any more.
    pub fn release_backlog(&self, replid: &str) -> TypeResult<()> {
        let mut stream = self.stream.lock();
        let new = ReplPosition {
            replid: replid.to_string(),
            offset: stream.position.offset,
        };
        let mut batch = Batch::new();
        batch.put(Cf::State, REPL_STATE_KEY.to_vec(), new.encode());
        self.engine().write(&batch)?;
        stream.reset(new);
        Ok(())
    }

    /// Records that the current position names a real stream even at
    /// offset 0: a replica was given it (`+FULLRESYNC <id> 0`), so this
    /// server may later ask for it by id (a FAILOVER's `PSYNC <id> 1`).
    pub fn mark_position_known(&self) -> TypeResult<()> {
        if self.position_known() {
            return Ok(());
        }
        let mut batch = Batch::new();
        batch.put(Cf::State, POSITION_KNOWN_KEY.to_vec(), vec![1]);
        self.engine().write(&batch)?;
        self.position_known.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Takes `replid` as the stream's id from the current offset on (a
    /// master that changed id, `+CONTINUE <newid>`): the old id becomes the
    /// previous one, valid up to here (PSYNC2's replid2).
    pub fn adopt_replid(&self, replid: &str) -> TypeResult<()> {
        let mut stream = self.stream.lock();
        if stream.position.replid == replid {
            return Ok(());
        }
        let new = ReplPosition {
            replid: replid.to_string(),
            offset: stream.position.offset,
        };
        let mut batch = Batch::new();
        batch.put(Cf::State, REPL_STATE_KEY.to_vec(), new.encode());
        batch.put(Cf::State, POSITION_KNOWN_KEY.to_vec(), vec![1]);
        self.engine().write(&batch)?;
        self.position_known.store(true, Ordering::Relaxed);
        stream.previous = Some(std::mem::replace(&mut stream.position, new));
        Ok(())
    }
}
