//! The keyspace: databases over one engine, key locks, key counters and the
//! single commit point every write goes through.
//!
//! Write path: a command locks its keys ([`Keyspace::lock`]), reads the stored
//! metadata, builds a [`WriteSet`] (data change plus counter deltas) and hands
//! it to [`Keyspace::commit`]. Commit is the one ordered point where writes
//! get their sequence number; the replication backlog will be appended there,
//! inside the same atomic batch, so data and stream can never disagree.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::encoding::{self, KeyType, Metadata};
use super::{now_ms, now_us, TypeError, TypeResult};
use crate::engine::{Batch, Cf, CompactionDecision, CompactionPolicy, Engine, MetaLookup};

const LOCK_STRIPES: usize = 1024;
const COUNTS_PREFIX: &[u8] = b"counts";
const DBMAP_KEY: &[u8] = b"dbmap";

/// Most databases Strata supports: the physical id is one byte.
pub const MAX_DATABASES: usize = 256;

#[derive(Default)]
struct DbCounts {
    keys: AtomicI64,
    expires: AtomicI64,
}

pub struct Keyspace {
    engine: Arc<dyn Engine>,
    databases: usize,
    /// Logical database index -> physical id in the encoding (SWAPDB swaps entries).
    dbmap: RwLock<Vec<u8>>,
    /// Indexed by physical id.
    counts: Vec<DbCounts>,
    stripes: Vec<Mutex<()>>,
    /// Taken shared by every command and exclusively by the few that touch
    /// whole databases (FLUSHDB, FLUSHALL, SWAPDB).
    gate: RwLock<()>,
    commit_lock: Mutex<()>,
    /// Sequence number of the last committed write.
    committed: AtomicU64,
    /// Sequence number up to which the engine's log buffer reached the OS.
    wal_flushed: AtomicU64,
    wal_flush_lock: Mutex<()>,
    version_counter: AtomicU64,
    /// Whether this node may delete expired keys (false on replicas, which
    /// only hide them and wait for the master's DEL).
    pub active_expire: AtomicBool,
}

/// Locks held on a set of keys for the duration of a read-modify-write.
pub struct KeyGuard<'a> {
    _guards: Vec<MutexGuard<'a, ()>>,
}

/// The changes one command makes, committed atomically.
pub struct WriteSet {
    pub batch: Batch,
    /// physical db -> (keys delta, expires delta)
    deltas: Vec<(u8, i64, i64)>,
}

impl WriteSet {
    fn delta(&mut self, db: u8, keys: i64, expires: i64) {
        if keys == 0 && expires == 0 {
            return;
        }
        match self.deltas.iter_mut().find(|d| d.0 == db) {
            Some(d) => {
                d.1 += keys;
                d.2 += expires;
            }
            None => self.deltas.push((db, keys, expires)),
        }
    }

    /// Stores `new` as the metadata of `key`, replacing `stored` (the record
    /// read under the key lock, expired or not). Keeps the key counters and
    /// the expiry index exact.
    pub fn put_meta(&mut self, db: u8, key: &[u8], new: &Metadata, stored: Option<&Metadata>) {
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
        let mut dbmap: Vec<u8> = (0..databases).map(|i| i as u8).collect();
        if let Some(raw) = engine.get(Cf::State, DBMAP_KEY)? {
            // Keep a persisted SWAPDB map if it is a permutation for this size.
            let mut sorted = raw.clone();
            sorted.sort_unstable();
            if raw.len() == databases && sorted.iter().enumerate().all(|(i, &p)| i == p as usize) {
                dbmap = raw;
            }
        }
        Ok(Keyspace {
            engine,
            databases,
            dbmap: RwLock::new(dbmap),
            counts,
            stripes: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            gate: RwLock::new(()),
            commit_lock: Mutex::new(()),
            committed: AtomicU64::new(0),
            wal_flushed: AtomicU64::new(0),
            wal_flush_lock: Mutex::new(()),
            version_counter: AtomicU64::new(rand::random::<u16>() as u64),
            active_expire: AtomicBool::new(true),
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

    pub fn shared_gate(&self) -> RwLockReadGuard<'_, ()> {
        self.gate.read()
    }

    pub fn exclusive_gate(&self) -> RwLockWriteGuard<'_, ()> {
        self.gate.write()
    }

    /// Locks `keys` of physical db `db` in a global order (no deadlocks).
    pub fn lock<K: AsRef<[u8]>>(&self, db: u8, keys: &[K]) -> KeyGuard<'_> {
        self.lock_stripes(keys.iter().map(|k| stripe(db, k.as_ref())).collect())
    }

    /// Locks keys that live in different databases (MOVE, COPY DB) in one
    /// call: stripes are shared by all databases, so two separate `lock`
    /// calls could wait on a stripe the first one already holds.
    pub fn lock_multi(&self, keys: &[(u8, &[u8])]) -> KeyGuard<'_> {
        self.lock_stripes(keys.iter().map(|(db, k)| stripe(*db, k)).collect())
    }

    fn lock_stripes(&self, mut idx: Vec<usize>) -> KeyGuard<'_> {
        idx.sort_unstable();
        idx.dedup();
        KeyGuard {
            _guards: idx.into_iter().map(|i| self.stripes[i].lock()).collect(),
        }
    }

    /// A new subkey version: microseconds << 11 plus a counter, so versions
    /// grow even when the clock stands still.
    pub fn new_version(&self) -> u64 {
        let c = self.version_counter.fetch_add(1, Ordering::Relaxed);
        (now_us() << 11) | (c & 2047)
    }

    /// The metadata record as stored, expired or not. Call it with the key locked.
    pub fn get_stored(&self, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
        match self.engine.get(Cf::Meta, &encoding::meta_key(db, key))? {
            Some(raw) => Ok(Some(Metadata::decode(&raw)?)),
            None => Ok(None),
        }
    }

    /// The metadata of a live key; an expired key reads as missing and is
    /// deleted on the way (on masters). Call it *without* the key locked.
    pub fn get_live(&self, db: u8, key: &[u8]) -> TypeResult<Option<Metadata>> {
        let Some(meta) = self.get_stored(db, key)? else {
            return Ok(None);
        };
        let now = now_ms();
        if !meta.is_expired(now) {
            return Ok(Some(meta));
        }
        if self.active_expire.load(Ordering::Relaxed) {
            let _g = self.lock(db, &[key]);
            self.delete_if_expired(db, key, now)?;
        }
        Ok(None)
    }

    /// Like [`get_live`](Self::get_live) but also checks the type:
    /// `Err(WrongType)` when the key holds another kind of value.
    pub fn get_typed(&self, db: u8, key: &[u8], kind: KeyType) -> TypeResult<Option<Metadata>> {
        match self.get_live(db, key)? {
            Some(m) if m.kind != kind => Err(TypeError::WrongType),
            other => Ok(other),
        }
    }

    /// Deletes `key` if its stored record has expired by `now`. Call it with
    /// the key locked. Returns whether it deleted.
    pub fn delete_if_expired(&self, db: u8, key: &[u8], now: u64) -> TypeResult<bool> {
        match self.get_stored(db, key)? {
            Some(m) if m.is_expired(now) => {
                let mut ws = self.write_set();
                ws.delete_key(db, key, &m);
                self.commit(ws)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    pub fn write_set(&self) -> WriteSet {
        WriteSet {
            batch: Batch::new(),
            deltas: Vec::new(),
        }
    }

    /// The commit point: applies the write set atomically with its counter
    /// updates and returns its sequence number.
    pub fn commit(&self, mut ws: WriteSet) -> TypeResult<u64> {
        if ws.batch.is_empty() {
            return Ok(self.committed());
        }
        let _g = self.commit_lock.lock();
        let mut updated = Vec::with_capacity(ws.deltas.len());
        for &(db, dk, de) in &ws.deltas {
            let c = &self.counts[db as usize];
            let keys = (c.keys.load(Ordering::Relaxed) + dk).max(0);
            let expires = (c.expires.load(Ordering::Relaxed) + de).max(0);
            ws.batch
                .put(Cf::State, counts_key(db), counts_value(keys, expires));
            updated.push((db, keys, expires));
        }
        self.engine.write(&ws.batch)?;
        for (db, keys, expires) in updated {
            self.counts[db as usize].keys.store(keys, Ordering::Relaxed);
            self.counts[db as usize]
                .expires
                .store(expires, Ordering::Relaxed);
        }
        Ok(self.committed.fetch_add(1, Ordering::AcqRel) + 1)
    }

    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
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

    /// Empties physical db `db`. Call it holding the exclusive gate.
    pub fn flush_physical(&self, db: u8) -> TypeResult<()> {
        let mut ws = self.write_set();
        for cf in [Cf::Meta, Cf::Data, Cf::ZScore, Cf::Expire] {
            ws.batch.delete_range(cf, vec![db], vec![db + 1]);
        }
        if db == 0xff {
            // [0xff] has no one-byte successor; cover it with a longer bound.
            for cf in [Cf::Meta, Cf::Data, Cf::ZScore, Cf::Expire] {
                ws.batch.delete_range(cf, vec![0xff], vec![0xff; 64]);
            }
        }
        let _g = self.commit_lock.lock();
        ws.batch.put(Cf::State, counts_key(db), counts_value(0, 0));
        self.engine.write(&ws.batch)?;
        self.counts[db as usize].keys.store(0, Ordering::Relaxed);
        self.counts[db as usize].expires.store(0, Ordering::Relaxed);
        self.committed.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Swaps logical databases `a` and `b`. Call it holding the exclusive gate.
    pub fn swap_databases(&self, a: usize, b: usize) -> TypeResult<()> {
        let mut map = self.dbmap.write();
        let mut new_map = map.clone();
        new_map.swap(a, b);
        let mut ws = self.write_set();
        ws.batch.put(Cf::State, DBMAP_KEY.to_vec(), new_map.clone());
        self.commit(ws)?;
        *map = new_map;
        Ok(())
    }
}

fn stripe(db: u8, key: &[u8]) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    db.hash(&mut h);
    key.hash(&mut h);
    (h.finish() as usize) % LOCK_STRIPES
}

fn counts_key(db: u8) -> Vec<u8> {
    let mut k = COUNTS_PREFIX.to_vec();
    k.push(db);
    k
}

fn counts_value(keys: i64, expires: i64) -> Vec<u8> {
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
mod tests {
    use super::*;

    use crate::types::test_keyspace_in as open;

    fn count(ks: &Keyspace, cf: Cf) -> usize {
        let mut it = ks.engine().iter(cf, None, None);
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        n
    }

    /// DEL of a collection deletes one record; compaction then drops the
    /// orphaned subkeys, and a re-created key's new version is untouched.
    #[test]
    fn stale_subkeys_are_dropped_by_compaction() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let db = 0;
        let old = Metadata::collection(KeyType::Hash, ks.new_version(), 0);
        let mut ws = ks.write_set();
        ws.put_meta(db, b"big", &old, None);
        for i in 0..1000u32 {
            ws.batch.put(
                Cf::Data,
                encoding::subkey(db, b"big", old.version, &i.to_be_bytes()),
                b"v".to_vec(),
            );
        }
        ks.commit(ws).expect("commit");
        assert_eq!(ks.dbsize(0), 1);

        let stored = ks.get_stored(db, b"big").expect("get").expect("present");
        let mut ws = ks.write_set();
        ws.delete_key(db, b"big", &stored);
        assert_eq!(ws.batch.len(), 1, "DEL is O(1): one metadata delete");
        ks.commit(ws).expect("commit");
        assert_eq!(ks.dbsize(0), 0);

        // Re-create the key with a new version and one subkey of its own.
        let new = Metadata::collection(KeyType::Hash, ks.new_version(), 0);
        let mut ws = ks.write_set();
        ws.put_meta(db, b"big", &new, None);
        ws.batch.put(
            Cf::Data,
            encoding::subkey(db, b"big", new.version, b"f"),
            b"v".to_vec(),
        );
        ks.commit(ws).expect("commit");

        assert_eq!(count(&ks, Cf::Data), 1001);
        ks.engine().flush().expect("flush");
        ks.engine().compact_range(Cf::Data, None, None);
        assert_eq!(
            count(&ks, Cf::Data),
            1,
            "only the live version's subkey remains"
        );
    }

    /// Keys of two databases can share a stripe; locking them together must
    /// take that stripe once (taking it twice would wait forever).
    #[test]
    fn lock_multi_takes_a_shared_stripe_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let key = (0..1_000_000u32)
            .map(|i| i.to_string())
            .find(|k| stripe(0, k.as_bytes()) == stripe(1, k.as_bytes()))
            .expect("a key whose stripes collide");
        let guard = ks.lock_multi(&[(0, key.as_bytes()), (1, key.as_bytes())]);
        assert_eq!(guard._guards.len(), 1);
    }

    #[test]
    fn counters_and_expiry_index_stay_exact() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let mut ws = ks.write_set();
        ws.put_meta(3, b"a", &Metadata::string(&b"1"[..], 0), None);
        ws.put_meta(3, b"b", &Metadata::string(&b"2"[..], u64::MAX / 2), None);
        ks.commit(ws).expect("commit");
        assert_eq!((ks.dbsize(3), ks.expires_count(3)), (2, 1));
        assert_eq!(count(&ks, Cf::Expire), 1);
        // Overwriting b without a TTL removes its index entry.
        let stored = ks.get_stored(3, b"b").expect("get");
        let mut ws = ks.write_set();
        ws.put_meta(3, b"b", &Metadata::string(&b"3"[..], 0), stored.as_ref());
        ks.commit(ws).expect("commit");
        assert_eq!((ks.dbsize(3), ks.expires_count(3)), (2, 0));
        assert_eq!(count(&ks, Cf::Expire), 0);
        drop(ks);
        // Counters are persisted with the data.
        let ks = open(dir.path());
        assert_eq!((ks.dbsize(3), ks.expires_count(3)), (2, 0));
        ks.flush_physical(3).expect("flush");
        assert_eq!(ks.dbsize(3), 0);
        assert_eq!(ks.get_stored(3, b"a").expect("get"), None);
    }

    #[test]
    fn expired_keys_read_as_missing_and_are_reclaimed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ks = open(dir.path());
        let mut ws = ks.write_set();
        ws.put_meta(0, b"gone", &Metadata::string(&b"x"[..], 1), None);
        ws.put_meta(0, b"lazy", &Metadata::string(&b"x"[..], 1), None);
        ks.commit(ws).expect("commit");
        assert_eq!(ks.dbsize(0), 2);
        assert_eq!(ks.get_live(0, b"lazy").expect("get"), None);
        assert_eq!(ks.dbsize(0), 1, "lazy expiry deleted the key it read");
        let n =
            crate::types::expire::expire_cycle(&ks, crate::types::now_ms(), 100).expect("cycle");
        assert_eq!(n, 1);
        assert_eq!((ks.dbsize(0), ks.expires_count(0)), (0, 0));
    }
}
