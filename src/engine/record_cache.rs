//! A bounded DRAM cache of point-read records, in front of any engine.
//!
//! Almost every command starts with a point read of its key's metadata
//! record (a string's value lives there), and SADD, HSET and ZADD also read
//! a member's record. In RocksDB such a read searches the memtables' skip
//! lists and then the files' filters and blocks: on a store whose memtables
//! hold a few hundred thousand keys that is a chain of cache misses, and
//! CPU profiles of redis-benchmark put RocksDB at 20% (GET) to 50% (SADD at
//! pipeline 16) of the server's time (docs/bench/instructions.md). This
//! cache answers repeated reads of a record from one hash lookup.
//!
//! It mirrors the engine and never decides anything: a record is cached
//! only as the engine returned it or as a batch wrote it, and every batch
//! passes through [`CachedEngine::write`], so no write can go around it.
//! Its one invariant: **an entry, when present, equals the engine's
//! record** (or its absence: a lookup that found nothing is cached too).
//! Writers and readers keep it so per shard:
//! - a writer, before its batch, counts itself in flight and takes out the
//!   records the batch touches (a cached record it puts stays as a
//!   marker, [`Kind::Rewriting`]); after the batch, if it applied, it caches
//!   the metadata it put (a GET after a SET hits) and the members it
//!   rewrote that were cached or known absent (HSET, SADD and ZADD look a
//!   member up before they write it, so the next HSET of that field hits;
//!   members only ever written, LPUSH's elements, never enter, nor do
//!   elements read to be popped at once; those a pipelined run of pops
//!   reads ahead for the runs after it do, as any reader's fill), and
//!   leaves;
//!   after a failed batch, which may or may not have applied, it caches
//!   nothing;
//! - a reader that missed notes the shard's generation (bumped by every
//!   writer step) and caches what it read only if no writer came or is in
//!   flight since. While a write is in flight its keys are absent, so every
//!   reader goes to the engine, and readers agree with each other.
//!
//! Iterators and snapshots read the engine directly; a `DeleteRange` clears
//! the cache of that column family. Memory is bounded by `record-cache-size`
//! (the tables' buckets, ~11% of it, and entries weighing their key, value
//! and a fixed overhead; CLOCK eviction in a set-associative table,
//! `record_table`), and records above 4 KiB are never cached.

use std::path::Path;
use std::sync::Arc;

use parking_lot::Mutex;

use super::record_table::{KeyHash, Kind, RecordTable, ENTRY_OVERHEAD};
use super::{Batch, BatchOp, Cf, Engine, EngineIter, EngineResult, EngineSnapshot, EngineStats};

/// Larger records are read from the engine every time: a few big values
/// would otherwise evict many small hot ones.
const MAX_CACHED_RECORD: usize = 4096;
/// `2^SHARD_BITS` shards per family.
const SHARD_BITS: u32 = 4;
const SHARDS: usize = 1 << SHARD_BITS;

struct Shard {
    records: RecordTable,
    /// Bumped by every step of every writer.
    generation: u64,
    /// Writers between their two steps.
    in_flight: u32,
    /// Lookups answered (a record or its absence) and not, for INFO.
    hits: u64,
    misses: u64,
}

impl Shard {
    /// A writer's step touches this shard: readers that missed before it
    /// must not fill, and while it is in flight none may.
    fn count_writer(&mut self, step: WriterStep) {
        self.generation += 1;
        match step {
            WriterStep::Enter => self.in_flight += 1,
            WriterStep::Applied | WriterStep::Failed => self.in_flight -= 1,
        }
    }
}

/// One column family's cache.
struct FamilyCache {
    shards: Vec<Mutex<Shard>>,
}

impl FamilyCache {
    fn new(capacity: u64) -> FamilyCache {
        let per_shard = (capacity / SHARDS as u64).max(ENTRY_OVERHEAD * 16);
        FamilyCache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        records: RecordTable::new(per_shard),
                        generation: 0,
                        in_flight: 0,
                        hits: 0,
                        misses: 0,
                    })
                })
                .collect(),
        }
    }

    /// The shard of a key hashed `h` (one hash picks the shard and, in
    /// its table, the bucket: members of one collection, which share a
    /// prefix, spread over all shards).
    fn shard(&self, h: KeyHash) -> &Mutex<Shard> {
        &self.shards[h.shard(SHARD_BITS)]
    }

    /// The cached record, or the shard's generation to hand to `fill`.
    fn lookup(&self, key: &[u8]) -> Result<Option<Vec<u8>>, u64> {
        let h = KeyHash::of(key);
        let mut shard = self.shard(h).lock();
        let found = match shard.records.get(h, key) {
            Some((Kind::Record, v)) => Ok(Some(v.to_vec())),
            Some((Kind::Absent, _)) => Ok(None),
            Some((Kind::Rewriting, _)) | None => Err(()),
        };
        match found {
            Ok(v) => {
                shard.hits += 1;
                Ok(v)
            }
            Err(()) => {
                shard.misses += 1;
                Err(shard.generation)
            }
        }
    }

    /// Caches what a reader read from the engine (a record or its
    /// absence), unless a writer of the shard came or is in flight since
    /// `generation`.
    fn fill(&self, key: &[u8], value: Option<&[u8]>, generation: u64) {
        self.fill_hashed(KeyHash::of(key), key, value, generation)
    }

    /// [`fill`](Self::fill) of a key already hashed.
    fn fill_hashed(&self, h: KeyHash, key: &[u8], value: Option<&[u8]>, generation: u64) {
        let (kind, bytes) = match value {
            Some(v) if v.len() > MAX_CACHED_RECORD => return,
            Some(v) => (Kind::Record, v),
            None => (Kind::Absent, &[][..]),
        };
        let mut shard = self.shard(h).lock();
        if shard.generation == generation && shard.in_flight == 0 {
            shard.records.insert(h, key, kind, bytes, false);
        }
    }

    /// Loads the cache lines the lookups of `keys` will touch: first every
    /// key's bucket, then (they have had time to arrive) its entries, so
    /// the misses of many keys overlap instead of following one another.
    fn prefetch(&self, keys: &[&[u8]]) {
        let mut at = Vec::with_capacity(keys.len());
        for k in keys {
            let h = KeyHash::of(k);
            let shard = h.shard(SHARD_BITS);
            at.push((shard, self.shards[shard].lock().records.prefetch_bucket(h)));
        }
        for (shard, place) in at {
            self.shards[shard].lock().records.prefetch_entry(place);
        }
    }

    /// Bytes held (the tables' buckets and entries), lookups answered,
    /// lookups missed.
    fn usage(&self) -> (u64, u64, u64) {
        self.shards.iter().fold((0, 0, 0), |(b, h, m), s| {
            let s = s.lock();
            (b + s.records.memory(), h + s.hits, m + s.misses)
        })
    }
}

/// A writer's steps around its batch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WriterStep {
    /// Before the batch: take out what it touches (cached records it puts
    /// become [`Kind::Rewriting`]), count the writer in flight.
    Enter,
    /// After it applied: cache the metadata it put and the members it
    /// rewrote, remove the rest again, leave.
    Applied,
    /// After it failed (it may or may not have applied): remove everything
    /// it touched, so the cache claims neither, and leave.
    Failed,
}

/// An engine with a record cache in front: see the module documentation.
pub struct CachedEngine {
    inner: Arc<dyn Engine>,
    meta: FamilyCache,
    data: FamilyCache,
}

impl CachedEngine {
    /// Wraps `inner` with a cache of at most `capacity` bytes, shared out
    /// evenly between metadata and member records.
    pub fn wrap(inner: Arc<dyn Engine>, capacity: u64) -> CachedEngine {
        CachedEngine {
            inner,
            meta: FamilyCache::new(capacity / 2),
            data: FamilyCache::new(capacity / 2),
        }
    }

    /// The cache of `cf`: the families whose point reads are cached.
    fn family(&self, cf: Cf) -> Option<&FamilyCache> {
        match cf {
            Cf::Meta => Some(&self.meta),
            Cf::Data => Some(&self.data),
            _ => None,
        }
    }

    /// One writer step (see [`WriterStep`]) over every op of `batch`; each
    /// bumps the generation of the shard it touches.
    fn writer_step(&self, batch: &Batch, step: WriterStep) {
        for op in batch.ops() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    if let Some(f) = self.family(*cf) {
                        let h = KeyHash::of(key);
                        let mut s = f.shard(h).lock();
                        s.count_writer(step);
                        let key = key.as_slice();
                        match step {
                            // Marked, not removed: the Applied step then
                            // rewrites the entry in place (a remove and a
                            // fresh insert cost ~100 instructions more per
                            // SET, and lost the entry's place in the clock).
                            WriterStep::Enter => s.records.mark_rewriting(h, key),
                            WriterStep::Applied if value.len() <= MAX_CACHED_RECORD => {
                                // Metadata enters the cache; a member only
                                // if marked at Enter (or cached by an
                                // earlier put of this batch: the last one
                                // wins).
                                let only_if_present = *cf != Cf::Meta;
                                s.records
                                    .insert(h, key, Kind::Record, value, only_if_present);
                            }
                            WriterStep::Applied | WriterStep::Failed => {
                                s.records.remove(h, key);
                            }
                        }
                    }
                }
                BatchOp::Delete { cf, key } => {
                    if let Some(f) = self.family(*cf) {
                        let h = KeyHash::of(key);
                        let mut s = f.shard(h).lock();
                        s.count_writer(step);
                        s.records.remove(h, key);
                    }
                }
                BatchOp::DeleteRange { cf, .. } => {
                    if let Some(f) = self.family(*cf) {
                        for s in &f.shards {
                            let mut s = s.lock();
                            s.count_writer(step);
                            s.records.clear();
                        }
                    }
                }
                BatchOp::LogData(_) => {}
            }
        }
    }
}

impl Engine for CachedEngine {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        let Some(f) = self.family(cf) else {
            return self.inner.get(cf, key);
        };
        match f.lookup(key) {
            Ok(v) => Ok(v),
            Err(generation) => {
                let v = self.inner.get(cf, key)?;
                f.fill(key, v.as_deref(), generation);
                Ok(v)
            }
        }
    }

    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        let Some(f) = self.family(cf) else {
            return self.inner.multi_get(cf, keys);
        };
        let mut out: Vec<Option<Vec<u8>>> = Vec::with_capacity(keys.len());
        let mut missed: Vec<(usize, u64)> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            match f.lookup(k) {
                Ok(v) => out.push(v),
                Err(generation) => {
                    out.push(None);
                    missed.push((i, generation));
                }
            }
        }
        if missed.is_empty() {
            return Ok(out);
        }
        let ask: Vec<&[u8]> = missed.iter().map(|(i, _)| keys[*i]).collect();
        for ((i, generation), v) in missed.into_iter().zip(self.inner.multi_get(cf, &ask)?) {
            f.fill(keys[i], v.as_deref(), generation);
            out[i] = v;
        }
        Ok(out)
    }

    fn get_run(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        let Some(f) = self.family(cf) else {
            return self.inner.get_run(cf, keys, visit);
        };
        // Answered from the cache up to the first key it does not hold;
        // from there the engine's one iterator reads the rest, and what it
        // reads is cached (an LRANGE repeated over the same elements then
        // costs a lookup per element instead of a merge of every memtable
        // and file per element).
        for (i, k) in keys.iter().enumerate() {
            let h = KeyHash::of(k);
            let mut guard = f.shard(h).lock();
            let shard = &mut *guard;
            match shard.records.get(h, k) {
                Some((Kind::Record, v)) => {
                    shard.hits += 1;
                    visit(i, Some(v));
                }
                Some((Kind::Absent, _)) => {
                    shard.hits += 1;
                    visit(i, None);
                }
                Some((Kind::Rewriting, _)) | None => {
                    drop(guard);
                    let rest = &keys[i..];
                    let generations: Vec<u64> = rest
                        .iter()
                        .map(|k| {
                            let mut s = f.shard(KeyHash::of(k)).lock();
                            s.misses += 1;
                            s.generation
                        })
                        .collect();
                    return self.inner.get_run(cf, rest, &mut |j, v| {
                        f.fill(rest[j], v, generations[j]);
                        visit(i + j, v);
                    });
                }
            }
        }
        Ok(())
    }

    fn get_to_delete(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        // Read around the cache: the engine is what it mirrors, so this is
        // always right, and the records read this way (popped elements,
        // which a push never caches) would mostly miss it anyway, at the
        // cost of their bucket's cache miss; nor are they cached, since
        // the caller's delete would take them out again at once.
        self.inner.get_to_delete(cf, key)
    }

    fn get_run_to_delete(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        self.inner.get_run_to_delete(cf, keys, visit)
    }

    fn get_run_to_delete_ahead(
        &self,
        cf: Cf,
        keys: &[&[u8]],
        beyond: &mut dyn FnMut() -> Vec<Vec<u8>>,
        visit: &mut dyn FnMut(usize, Option<&[u8]>),
    ) -> EngineResult<()> {
        let Some(f) = self.family(cf) else {
            return self.inner.get_run_to_delete_ahead(cf, keys, beyond, visit);
        };
        // What an earlier read ahead left: while the cache holds every
        // record asked for, no iterator is made.
        let mut next = 0;
        while let Some(&k) = keys.get(next) {
            let h = KeyHash::of(k);
            let mut guard = f.shard(h).lock();
            let shard = &mut *guard;
            match shard.records.get(h, k) {
                Some((Kind::Record, v)) => visit(next, Some(v)),
                Some((Kind::Absent, _)) => visit(next, None),
                Some((Kind::Rewriting, _)) | None => {
                    shard.misses += 1;
                    break;
                }
            }
            shard.hits += 1;
            next += 1;
        }
        if next == keys.len() {
            return Ok(());
        }
        // One iterator over the rest and the records beyond them. Those
        // beyond are cached for the pops to come (as any reader's fill:
        // not if a writer of their shard came since); the ones asked for
        // are about to be deleted, so they are not.
        let beyond = beyond();
        // Their buckets are cold (their keys hash anywhere): start loading
        // them now, so that they have arrived when the iterator reaches them.
        let hashes: Vec<KeyHash> = beyond.iter().map(|k| KeyHash::of(k)).collect();
        for &h in &hashes {
            f.shard(h).lock().records.prefetch_bucket(h);
        }
        let generations: Vec<u64> = f.shards.iter().map(|s| s.lock().generation).collect();
        let rest = &keys[next..];
        let after = beyond
            .first()
            .is_none_or(|b| keys.last() < Some(&b.as_slice()));
        let window: Vec<&[u8]> = if after {
            rest.iter()
                .copied()
                .chain(beyond.iter().map(Vec::as_slice))
                .collect()
        } else {
            beyond
                .iter()
                .map(Vec::as_slice)
                .chain(rest.iter().copied())
                .collect()
        };
        let (first_asked, first_beyond) = if after {
            (0, rest.len())
        } else {
            (beyond.len(), 0)
        };
        self.inner.get_run(cf, &window, &mut |j, v| {
            let asked = j.wrapping_sub(first_asked);
            if asked < rest.len() {
                visit(next + asked, v);
            } else {
                let (b, h) = (&beyond[j - first_beyond], hashes[j - first_beyond]);
                f.fill_hashed(h, b, v, generations[h.shard(SHARD_BITS)]);
            }
        })
    }

    fn prefetch(&self, cf: Cf, keys: &[&[u8]]) {
        if let Some(f) = self.family(cf) {
            f.prefetch(keys);
        }
    }

    fn write(&self, batch: &Batch) -> EngineResult<()> {
        self.prepare_write(batch);
        let result = self.write_prepared(batch);
        self.finish_write(batch, result.is_ok());
        result
    }

    fn prepare_write(&self, batch: &Batch) {
        self.writer_step(batch, WriterStep::Enter);
    }

    fn write_prepared(&self, batch: &Batch) -> EngineResult<()> {
        self.inner.write(batch)
    }

    fn finish_write(&self, batch: &Batch, applied: bool) {
        let step = if applied {
            WriterStep::Applied
        } else {
            WriterStep::Failed
        };
        self.writer_step(batch, step);
    }

    fn flush_wal_buffer(&self) -> EngineResult<()> {
        self.inner.flush_wal_buffer()
    }

    fn sync_wal(&self) -> EngineResult<()> {
        self.inner.sync_wal()
    }

    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_> {
        self.inner.iter(cf, lower, upper)
    }

    fn snapshot(&self) -> Box<dyn EngineSnapshot> {
        self.inner.snapshot()
    }

    fn flush(&self) -> EngineResult<()> {
        self.inner.flush()
    }

    fn checkpoint(&self, dir: &Path) -> EngineResult<()> {
        self.inner.checkpoint(dir)
    }

    fn compact_range(&self, cf: Cf, start: Option<&[u8]>, end: Option<&[u8]>) {
        // Compaction changes no record a reader can see.
        self.inner.compact_range(cf, start, end)
    }

    fn stats(&self) -> EngineStats {
        let mut s = self.inner.stats();
        let (mb, mh, mm) = self.meta.usage();
        let (db, dh, dm) = self.data.usage();
        s.record_cache_bytes = mb + db;
        s.record_cache_hits = mh + dh;
        s.record_cache_misses = mm + dm;
        s
    }

    fn disk_usage(&self) -> u64 {
        self.inner.disk_usage()
    }

    fn read_log(
        &self,
        after: u64,
        visit: &mut dyn FnMut(u64, &[u8]) -> bool,
    ) -> EngineResult<bool> {
        self.inner.read_log(after, visit)
    }

    fn last_seq(&self) -> u64 {
        self.inner.last_seq()
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn set_read_offload(&self, policy: super::OffloadPolicy) {
        self.inner.set_read_offload(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::conformance::KeepAll;
    use crate::engine::EngineOptions;

    fn open(dir: &Path, capacity: u64) -> CachedEngine {
        let inner = super::super::rocks::RocksEngine::open_shared(
            dir,
            &EngineOptions::small(),
            Arc::new(KeepAll),
        )
        .expect("open");
        CachedEngine::wrap(inner, capacity)
    }

    #[test]
    fn reads_follow_every_kind_of_write() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 1 << 20);
        let mut b = Batch::default();
        b.put(Cf::Meta, b"k".to_vec(), b"1".to_vec());
        b.put(Cf::Data, b"d1".to_vec(), b"x".to_vec());
        e.write(&b).unwrap();
        assert_eq!(e.get(Cf::Meta, b"k").unwrap().as_deref(), Some(&b"1"[..]));
        // Served from the cache now; a put replaces it.
        assert_eq!(e.get(Cf::Meta, b"k").unwrap().as_deref(), Some(&b"1"[..]));
        let mut b = Batch::default();
        b.put(Cf::Meta, b"k".to_vec(), b"2".to_vec());
        e.write(&b).unwrap();
        assert_eq!(e.get(Cf::Meta, b"k").unwrap().as_deref(), Some(&b"2"[..]));
        let mut b = Batch::default();
        b.delete(Cf::Meta, b"k".to_vec());
        e.write(&b).unwrap();
        assert_eq!(e.get(Cf::Meta, b"k").unwrap(), None);
        assert_eq!(e.get(Cf::Data, b"d1").unwrap().as_deref(), Some(&b"x"[..]));
        let mut b = Batch::default();
        b.delete_range(Cf::Data, b"d".to_vec(), b"e".to_vec());
        e.write(&b).unwrap();
        assert_eq!(e.get(Cf::Data, b"d1").unwrap(), None);
        assert_eq!(
            e.multi_get(Cf::Data, &[b"d1", b"d2"]).unwrap(),
            vec![None, None]
        );
    }

    #[test]
    fn the_cache_stays_within_its_capacity() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 256 << 10);
        for i in 0..20_000u32 {
            let mut b = Batch::default();
            b.put(Cf::Meta, format!("key:{i}").into_bytes(), vec![7u8; 40]);
            e.write(&b).unwrap();
        }
        for i in 0..20_000u32 {
            let key = format!("key:{i}");
            assert_eq!(
                e.get(Cf::Meta, key.as_bytes()).unwrap(),
                Some(vec![7u8; 40])
            );
        }
        assert!(e.stats().record_cache_bytes <= 256 << 10);
        assert!(e.stats().record_cache_bytes > 0);
    }

    #[test]
    fn hits_and_misses_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 1 << 20);
        let counts = |e: &CachedEngine| {
            let s = e.stats();
            (s.record_cache_hits, s.record_cache_misses)
        };
        // Unknown, then known absent; a family the cache does not hold
        // counts nothing.
        assert_eq!(e.get(Cf::Meta, b"k").unwrap(), None);
        assert_eq!(e.get(Cf::Meta, b"k").unwrap(), None);
        assert_eq!(e.get(Cf::State, b"k").unwrap(), None);
        assert_eq!(counts(&e), (1, 1));
        let mut b = Batch::default();
        b.put(Cf::Meta, b"k".to_vec(), b"1".to_vec());
        b.put(Cf::Data, b"m".to_vec(), b"2".to_vec());
        e.write(&b).unwrap();
        // The written metadata hits; the member, never looked up, misses.
        assert_eq!(
            e.multi_get(Cf::Meta, &[b"k", b"other"]).unwrap(),
            vec![Some(b"1".to_vec()), None]
        );
        assert_eq!(e.get(Cf::Data, b"m").unwrap(), Some(b"2".to_vec()));
        assert_eq!(counts(&e), (2, 3));
    }

    #[test]
    fn a_run_read_once_is_answered_from_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 1 << 20);
        let mut b = Batch::default();
        for k in [&b"e1"[..], b"e2", b"e3"] {
            b.put(Cf::Data, k.to_vec(), k.to_vec());
        }
        e.write(&b).unwrap();
        let keys: [&[u8]; 3] = [b"e1", b"e2", b"e3"];
        let read = |e: &CachedEngine| {
            let mut got = Vec::new();
            e.get_run(Cf::Data, &keys, &mut |_, v| got.push(v.map(<[u8]>::to_vec)))
                .unwrap();
            got
        };
        let all = vec![
            Some(b"e1".to_vec()),
            Some(b"e2".to_vec()),
            Some(b"e3".to_vec()),
        ];
        // Pushed elements are not cached: the first read goes to the engine.
        assert_eq!(read(&e), all);
        assert_eq!(
            (e.stats().record_cache_hits, e.stats().record_cache_misses),
            (0, 3)
        );
        assert_eq!(read(&e), all);
        assert_eq!(
            (e.stats().record_cache_hits, e.stats().record_cache_misses),
            (3, 3)
        );
        // A miss in the middle reads the rest from the engine.
        let mut b = Batch::default();
        b.put(Cf::Data, b"e2".to_vec(), b"changed".to_vec());
        b.delete(Cf::Data, b"e3".to_vec());
        e.write(&b).unwrap();
        assert_eq!(
            read(&e),
            vec![Some(b"e1".to_vec()), Some(b"changed".to_vec()), None]
        );
        assert_eq!(
            (e.stats().record_cache_hits, e.stats().record_cache_misses),
            (5, 4)
        );
    }

    #[test]
    fn pops_read_ahead_keep_what_lies_beyond_them() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 1 << 20);
        let mut b = Batch::default();
        for i in 0..8u8 {
            b.put(Cf::Data, vec![b'e', i], vec![b'v', i]);
        }
        e.write(&b).unwrap();
        let key = |i: u8| vec![b'e', i];
        let value = |i: u8| Some(vec![b'v', i]);
        // Asks for `asked`, offers `beyond`; returns what was visited,
        // by index, and whether `beyond` was called.
        let pop = |asked: &[u8], beyond: &[u8]| {
            let asked: Vec<Vec<u8>> = asked.iter().map(|&i| key(i)).collect();
            let refs: Vec<&[u8]> = asked.iter().map(Vec::as_slice).collect();
            let mut called = false;
            let mut got = vec![None; refs.len()];
            e.get_run_to_delete_ahead(
                Cf::Data,
                &refs,
                &mut || {
                    called = true;
                    beyond.iter().map(|&i| key(i)).collect()
                },
                &mut |i, v| {
                    assert!(got[i].is_none(), "visited twice");
                    got[i] = Some(v.map(<[u8]>::to_vec));
                },
            )
            .unwrap();
            (
                got.into_iter().map(Option::unwrap).collect::<Vec<_>>(),
                called,
            )
        };
        // The left end: e0 e1 asked, e2 e3 read with them and kept.
        assert_eq!(pop(&[0, 1], &[2, 3]), (vec![value(0), value(1)], true));
        assert_eq!(cached(&e, Cf::Data, &key(0)), None);
        assert_eq!(cached(&e, Cf::Data, &key(2)), Some(value(2)));
        assert_eq!(cached(&e, Cf::Data, &key(3)), Some(value(3)));
        // The next pops find them: no iterator, `beyond` not called.
        assert_eq!(pop(&[2, 3], &[4, 5]), (vec![value(2), value(3)], false));
        // A write between the two is seen: the cache mirrors the engine.
        assert_eq!(pop(&[4], &[5, 6]), (vec![value(4)], true));
        let mut b = Batch::default();
        b.put(Cf::Data, key(5), b"changed".to_vec());
        b.delete(Cf::Data, key(6));
        e.write(&b).unwrap();
        assert_eq!(
            pop(&[5, 6], &[]),
            (vec![Some(b"changed".to_vec()), None], true)
        );
        // The right end: `beyond` lies before the keys asked for, and a
        // hit before the first miss is not visited again.
        assert_eq!(pop(&[7], &[1, 2, 3]), (vec![value(7)], true));
        assert_eq!(cached(&e, Cf::Data, &key(1)), Some(value(1)));
        assert_eq!(pop(&[3, 7], &[0, 1, 2]), (vec![value(3), value(7)], true));
    }

    fn cached(e: &CachedEngine, cf: Cf, key: &[u8]) -> Option<Option<Vec<u8>>> {
        let f = e.family(cf).expect("cached family");
        let h = KeyHash::of(key);
        let s = f.shard(h).lock();
        match s.records.peek(h, key) {
            Some((Kind::Record, v)) => Some(Some(v.to_vec())),
            Some((Kind::Absent, _)) => Some(None),
            Some((Kind::Rewriting, _)) | None => None,
        }
    }

    #[test]
    fn members_read_before_they_are_written_stay_cached() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 1 << 20);
        // A member looked up and found absent, then added (SADD, a new
        // HSET field): the absence is cached, then the added value.
        assert_eq!(e.get(Cf::Data, b"field").unwrap(), None);
        assert_eq!(cached(&e, Cf::Data, b"field"), Some(None));
        let mut b = Batch::default();
        b.put(Cf::Data, b"field".to_vec(), b"v1".to_vec());
        e.write(&b).unwrap();
        assert_eq!(cached(&e, Cf::Data, b"field"), Some(Some(b"v1".to_vec())));
        // Rewritten twice in one batch: the last put is what is cached.
        let mut b = Batch::default();
        b.put(Cf::Data, b"field".to_vec(), b"v2".to_vec());
        b.put(Cf::Data, b"field".to_vec(), b"v3".to_vec());
        e.write(&b).unwrap();
        assert_eq!(cached(&e, Cf::Data, b"field"), Some(Some(b"v3".to_vec())));
        assert_eq!(e.get(Cf::Data, b"field").unwrap(), Some(b"v3".to_vec()));
        // A member only ever written (a pushed element) does not enter.
        let mut b = Batch::default();
        b.put(Cf::Data, b"pushed".to_vec(), b"x".to_vec());
        e.write(&b).unwrap();
        assert_eq!(cached(&e, Cf::Data, b"pushed"), None);
        // A delete takes the member out.
        let mut b = Batch::default();
        b.delete(Cf::Data, b"field".to_vec());
        e.write(&b).unwrap();
        assert_eq!(cached(&e, Cf::Data, b"field"), None);
        assert_eq!(e.get(Cf::Data, b"field").unwrap(), None);
    }

    #[test]
    fn a_failed_write_caches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let e = open(dir.path(), 1 << 20);
        let mut b = Batch::default();
        b.put(Cf::Meta, b"k".to_vec(), b"old".to_vec());
        b.put(Cf::Data, b"m".to_vec(), b"old".to_vec());
        e.write(&b).unwrap();
        assert_eq!(e.get(Cf::Data, b"m").unwrap(), Some(b"old".to_vec()));
        assert_eq!(cached(&e, Cf::Meta, b"k"), Some(Some(b"old".to_vec())));
        assert_eq!(cached(&e, Cf::Data, b"m"), Some(Some(b"old".to_vec())));
        // The caller's write failed: whether it applied is unknown, so
        // neither the old nor the new value may stay cached.
        let mut b = Batch::default();
        b.put(Cf::Meta, b"k".to_vec(), b"new".to_vec());
        b.put(Cf::Data, b"m".to_vec(), b"new".to_vec());
        e.prepare_write(&b);
        e.finish_write(&b, false);
        assert_eq!(cached(&e, Cf::Meta, b"k"), None);
        assert_eq!(cached(&e, Cf::Data, b"m"), None);
        assert_eq!(e.get(Cf::Data, b"m").unwrap(), Some(b"old".to_vec()));
    }

    /// Writers change a record while readers read it through the cache:
    /// once a writer's write returned, no reader may see an older value
    /// (each writer owns one key and writes increasing numbers; a reader
    /// that starts after a write returned must see at least that number).
    #[test]
    fn no_reader_sees_a_value_older_than_a_returned_write() {
        use std::sync::atomic::{AtomicU64, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let e = Arc::new(open(dir.path(), 1 << 20));
        let keys = 4;
        let written: Arc<Vec<AtomicU64>> = Arc::new((0..keys).map(|_| AtomicU64::new(0)).collect());
        let mut threads = Vec::new();
        for k in 0..keys {
            let (e, written) = (e.clone(), written.clone());
            threads.push(std::thread::spawn(move || {
                for n in 1..=3_000u64 {
                    let mut b = Batch::default();
                    b.put(Cf::Meta, vec![b'k', k as u8], n.to_be_bytes().to_vec());
                    e.write(&b).unwrap();
                    written[k].store(n, Ordering::SeqCst);
                }
            }));
        }
        for _ in 0..2 {
            let (e, written) = (e.clone(), written.clone());
            threads.push(std::thread::spawn(move || {
                for i in 0..20_000usize {
                    let k = i % keys;
                    let floor = written[k].load(Ordering::SeqCst);
                    let v = e.get(Cf::Meta, &[b'k', k as u8]).unwrap();
                    let seen = v.map_or(0, |v| u64::from_be_bytes(v.try_into().unwrap()));
                    assert!(
                        seen >= floor,
                        "key {k}: read {seen} after {floor} was written"
                    );
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
    }
}
