//! Changes staged by a write context, readable before they are committed.
//!
//! A transaction (EXEC, later a script or a batch of a master's stream) is one
//! engine batch, yet each of its commands must see what the earlier ones
//! wrote. The overlay indexes the staged batch by key, so point reads and
//! iterators of the context read "engine, then staged changes on top". The
//! index is built lazily, on the first read that needs it: a single command
//! that reads before it writes (nearly all of them) never pays for it.
//!
//! Iterators over a range the overlay touches are materialised: the engine's
//! records of the range are merged with the staged ones into a vector. That is
//! O(range) and only happens inside a unit that first wrote into the range it
//! then walks (e.g. `MULTI; RPUSH l x; LRANGE l 0 -1; EXEC`).

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::engine::{Batch, BatchOp, Cf, EngineIter, EngineResult};

/// Staged changes: the ordered batch plus, once needed, an index of it.
#[derive(Default)]
pub struct Overlay {
    pub batch: Batch,
    /// Per family (in `Cf::ALL` order): key -> where in `batch` its latest
    /// put is, `None` = deleted; covers `batch.ops()[..indexed]`. Positions,
    /// not copies: a lookup borrows the staged value and allocates nothing.
    /// Allocated by the first catch-up: most units never index, and every
    /// unit (each GET's) creates, moves and drops an overlay.
    index: Option<Box<Index>>,
    /// Deleted ranges (family, start, end), in staging order.
    ranges: Vec<(u8, Vec<u8>, Vec<u8>)>,
    indexed: usize,
}

type Index = [BTreeMap<Vec<u8>, Option<usize>>; Cf::ALL.len()];

/// Up to this many staged ops a point lookup scans them, newest first,
/// instead of indexing them: a pipelined run of a few commands is staged,
/// read and committed without copying its keys into a map (the index cost
/// a SET at pipeline 16 ~750 instructions). Longer units (big pipelines,
/// transactions) build the index once, so their lookups stay logarithmic.
const SCAN_LIMIT: usize = 64;

fn cf_id(cf: Cf) -> u8 {
    Cf::ALL.iter().position(|c| *c == cf).unwrap_or(0) as u8
}

/// What the overlay knows about one key.
pub enum Staged<'a> {
    /// Nothing staged: read the engine.
    Unknown,
    Value(&'a [u8]),
    Deleted,
}

impl Overlay {
    pub fn is_empty(&self) -> bool {
        self.batch.is_empty()
    }

    pub fn append(&mut self, batch: Batch) {
        if self.batch.is_empty() {
            self.batch = batch;
        } else {
            self.batch.extend(batch);
        }
    }

    fn catch_up(&mut self) {
        let index = self.index.get_or_insert_with(Box::default);
        let ops = self.batch.ops();
        for (pos, op) in ops.iter().enumerate().skip(self.indexed) {
            match op {
                BatchOp::Put { cf, key, .. } => {
                    index[cf_id(*cf) as usize].insert(key.clone(), Some(pos));
                }
                BatchOp::Delete { cf, key } => {
                    index[cf_id(*cf) as usize].insert(key.clone(), None);
                }
                BatchOp::LogData(_) => {}
                // An empty or inverted range deletes nothing (the engine's
                // contract); BTreeMap::range would panic on the inverted one.
                BatchOp::DeleteRange { start, end, .. } if start >= end => {}
                BatchOp::DeleteRange { cf, start, end } => {
                    let id = cf_id(*cf);
                    let family = &mut index[id as usize];
                    let doomed: Vec<Vec<u8>> = family
                        .range::<[u8], _>((
                            Bound::Included(start.as_slice()),
                            Bound::Excluded(end.as_slice()),
                        ))
                        .map(|(k, _)| k.clone())
                        .collect();
                    for k in doomed {
                        family.remove(&k);
                    }
                    self.ranges.push((id, start.clone(), end.clone()));
                }
            }
        }
        self.indexed = ops.len();
    }

    /// The value of the put at `pos` in the batch.
    fn value_at(&self, pos: usize) -> &[u8] {
        match self.batch.ops().get(pos) {
            Some(BatchOp::Put { value, .. }) => value,
            _ => &[],
        }
    }

    /// The staged state of `key` in `cf`.
    pub fn lookup(&mut self, cf: Cf, key: &[u8]) -> Staged<'_> {
        if self.batch.is_empty() {
            return Staged::Unknown;
        }
        if self.indexed == 0 && self.batch.ops().len() <= SCAN_LIMIT {
            return self.scan(cf, key);
        }
        self.catch_up();
        let id = cf_id(cf);
        match self.index.as_ref().and_then(|i| i[id as usize].get(key)) {
            Some(Some(pos)) => Staged::Value(self.value_at(*pos)),
            Some(None) => Staged::Deleted,
            None if self.in_deleted_range(id, key) => Staged::Deleted,
            None => Staged::Unknown,
        }
    }

    /// [`lookup`](Self::lookup) without the index: the newest op that
    /// decides `key` wins (the batch's fingerprints find it).
    fn scan(&mut self, cf: Cf, key: &[u8]) -> Staged<'_> {
        match self.batch.newest_for(cf, key) {
            Some(BatchOp::Put { value, .. }) => Staged::Value(value),
            Some(BatchOp::Delete { .. } | BatchOp::DeleteRange { .. }) => Staged::Deleted,
            Some(BatchOp::LogData(_)) | None => Staged::Unknown,
        }
    }

    fn in_deleted_range(&self, id: u8, key: &[u8]) -> bool {
        self.ranges
            .iter()
            .any(|(c, s, e)| *c == id && key >= s.as_slice() && key < e.as_slice())
    }

    /// The staged keys of family `id` in `[lower, upper)`.
    fn staged_range<'o>(
        &'o self,
        id: u8,
        lower: Option<&'o [u8]>,
        upper: Option<&'o [u8]>,
    ) -> impl Iterator<Item = (&'o Vec<u8>, &'o Option<usize>)> + 'o {
        let lo = Bound::Included(lower.unwrap_or_default());
        let hi = upper.map_or(Bound::Unbounded, Bound::Excluded);
        self.index
            .iter()
            .flat_map(move |i| i[id as usize].range::<[u8], _>((lo, hi)))
    }

    /// Whether anything staged may fall in `[lower, upper)` of `cf`.
    pub fn touches(&mut self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> bool {
        if self.batch.is_empty() {
            return false;
        }
        self.catch_up();
        let id = cf_id(cf);
        let in_index = self.staged_range(id, lower, upper).next().is_some();
        in_index
            || self.ranges.iter().any(|(c, s, e)| {
                *c == id
                    && upper.is_none_or(|u| s.as_slice() < u)
                    && lower.is_none_or(|l| e.as_slice() > l)
            })
    }

    /// Merges the engine's records of a range with the staged ones.
    pub fn materialise(
        &mut self,
        cf: Cf,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        base: &mut dyn EngineIter,
    ) -> EngineResult<VecIter> {
        self.catch_up();
        let id = cf_id(cf);
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        base.seek_to_first();
        while base.valid() {
            let k = base.key();
            if !self.in_deleted_range(id, k) {
                merged.insert(k.to_vec(), base.value().to_vec());
            }
            base.next();
        }
        base.status()?;
        for (k, pos) in self.staged_range(id, lower, upper) {
            match pos {
                Some(pos) => merged.insert(k.clone(), self.value_at(*pos).to_vec()),
                None => merged.remove(k),
            };
        }
        Ok(VecIter {
            items: merged.into_iter().collect(),
            pos: None,
        })
    }
}

/// An iterator over records held in memory, sorted by key.
pub struct VecIter {
    items: Vec<(Vec<u8>, Vec<u8>)>,
    pos: Option<usize>,
}

impl EngineIter for VecIter {
    fn seek(&mut self, key: &[u8]) {
        let i = self.items.partition_point(|(k, _)| k.as_slice() < key);
        self.pos = (i < self.items.len()).then_some(i);
    }
    fn seek_for_prev(&mut self, key: &[u8]) {
        let i = self.items.partition_point(|(k, _)| k.as_slice() <= key);
        self.pos = i.checked_sub(1);
    }
    fn seek_to_first(&mut self) {
        self.pos = (!self.items.is_empty()).then_some(0);
    }
    fn seek_to_last(&mut self) {
        self.pos = self.items.len().checked_sub(1);
    }
    fn valid(&self) -> bool {
        self.pos.is_some()
    }
    fn next(&mut self) {
        self.pos = self.pos.map(|p| p + 1).filter(|&p| p < self.items.len());
    }
    fn prev(&mut self) {
        self.pos = self.pos.and_then(|p| p.checked_sub(1));
    }
    fn key(&self) -> &[u8] {
        self.pos.map_or(&[], |p| &self.items[p].0)
    }
    fn value(&self) -> &[u8] {
        self.pos.map_or(&[], |p| &self.items[p].1)
    }
    fn status(&self) -> EngineResult<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_changes_win_and_ranges_hide_older_ones() {
        let mut o = Overlay::default();
        let mut b = Batch::new();
        b.put(Cf::Meta, b"a".to_vec(), b"1".to_vec());
        b.put(Cf::Meta, b"b".to_vec(), b"2".to_vec());
        b.delete_range(Cf::Meta, b"a".to_vec(), b"c".to_vec());
        b.put(Cf::Meta, b"b".to_vec(), b"3".to_vec());
        o.append(b);
        assert!(matches!(o.lookup(Cf::Meta, b"a"), Staged::Deleted));
        assert!(matches!(o.lookup(Cf::Meta, b"b"), Staged::Value(v) if v == b"3"));
        assert!(matches!(o.lookup(Cf::Meta, b"z"), Staged::Unknown));
        assert!(matches!(o.lookup(Cf::Data, b"a"), Staged::Unknown));
        assert!(o.touches(Cf::Meta, Some(b"b"), Some(b"bb")));
        assert!(!o.touches(Cf::Data, None, None));
    }

    fn answer(s: Staged<'_>) -> Option<Option<Vec<u8>>> {
        match s {
            Staged::Unknown => None,
            Staged::Deleted => Some(None),
            Staged::Value(v) => Some(Some(v.to_vec())),
        }
    }

    /// The scan (small units) and the index (large ones, or once a range
    /// was asked for) give the same answers, as ops keep arriving.
    #[test]
    fn scanned_and_indexed_lookups_agree() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        let key = |i: u8| vec![b'k', i];
        for _ in 0..200 {
            let mut scanned = Overlay::default();
            let mut indexed = Overlay::default();
            indexed.touches(Cf::Meta, None, None);
            for _ in 0..rng.gen_range(1..12) {
                let mut b = Batch::new();
                for _ in 0..rng.gen_range(1..8) {
                    let cf = if rng.gen_bool(0.8) {
                        Cf::Meta
                    } else {
                        Cf::Data
                    };
                    let k = key(rng.gen_range(0..10));
                    match rng.gen_range(0..10) {
                        0 => {
                            let e = key(rng.gen_range(0..11));
                            b.delete_range(cf, k, e)
                        }
                        1..=2 => b.delete(cf, k),
                        _ => b.put(cf, k, vec![rng.gen()]),
                    }
                }
                scanned.append(b.clone());
                indexed.append(b.clone());
                // Force the index on the second overlay (a range query does).
                indexed.touches(Cf::Meta, None, None);
                for cf in [Cf::Meta, Cf::Data] {
                    for i in 0..11 {
                        let a = answer(scanned.lookup(cf, &key(i)));
                        let b = answer(indexed.lookup(cf, &key(i)));
                        assert_eq!(a, b, "{cf:?} key {i}");
                    }
                }
            }
        }
    }
}
