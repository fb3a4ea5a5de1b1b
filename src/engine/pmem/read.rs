//! Point-in-time reads: snapshots and iterators.
//!
//! It exists because both are the same thing in this engine: a pinned
//! sequence number. While it is pinned the index keeps the versions it sees
//! and segment cleaning waits (see `cleaner`); reads copy the bytes out
//! under the read lock, so no reader ever holds a pointer into a segment
//! cleaning could recycle.

use std::ops::Bound;
use std::sync::Arc;

use super::super::{Cf, EngineIter, EngineResult, EngineSnapshot};
use super::Inner;

/// A snapshot: a pin on the sequence number, owning the store.
pub struct PmemSnapshot {
    inner: Arc<Inner>,
    seq: u64,
}

impl PmemSnapshot {
    /// Takes over a pin already counted (see `Inner::pin`).
    pub(super) fn new(inner: Arc<Inner>, seq: u64) -> Self {
        PmemSnapshot { inner, seq }
    }
}

impl Drop for PmemSnapshot {
    fn drop(&mut self) {
        self.inner.unpin(self.seq);
    }
}

impl EngineSnapshot for PmemSnapshot {
    fn get(&self, cf: Cf, key: &[u8]) -> EngineResult<Option<Vec<u8>>> {
        let st = self.inner.state.read();
        Ok(st
            .family(cf)
            .get(key, Some(self.seq))
            .map(|l| self.inner.value(l)))
    }

    fn multi_get(&self, cf: Cf, keys: &[&[u8]]) -> EngineResult<Vec<Option<Vec<u8>>>> {
        let st = self.inner.state.read();
        let f = st.family(cf);
        Ok(keys
            .iter()
            .map(|k| f.get(k, Some(self.seq)).map(|l| self.inner.value(l)))
            .collect())
    }

    fn iter(&self, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Box<dyn EngineIter + '_> {
        Box::new(PmemIter::new(
            &self.inner,
            cf,
            self.seq,
            lower,
            upper,
            false,
        ))
    }
}

/// A cursor over one family at one sequence number. Each step looks the
/// next key up in the index (a B-tree descent) under the read lock and
/// copies the record out.
pub struct PmemIter<'a> {
    inner: &'a Inner,
    cf: Cf,
    seq: u64,
    /// Whether this iterator holds its own pin (released on drop).
    owns_pin: bool,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    current: Option<(Vec<u8>, Vec<u8>)>,
}

impl<'a> PmemIter<'a> {
    pub(super) fn new(
        inner: &'a Inner,
        cf: Cf,
        seq: u64,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        owns_pin: bool,
    ) -> Self {
        PmemIter {
            inner,
            cf,
            seq,
            owns_pin,
            lower: lower.map(<[u8]>::to_vec),
            upper: upper.map(<[u8]>::to_vec),
            current: None,
        }
    }

    fn step(&mut self, from: Bound<&[u8]>, forward: bool) {
        let st = self.inner.state.read();
        let found = st.family(self.cf).step(
            from,
            forward,
            self.lower.as_deref(),
            self.upper.as_deref(),
            Some(self.seq),
        );
        let next = found.map(|(k, loc)| (k.to_vec(), self.inner.value(loc)));
        drop(st);
        self.current = next;
    }
}

impl Drop for PmemIter<'_> {
    fn drop(&mut self) {
        if self.owns_pin {
            self.inner.unpin(self.seq);
        }
    }
}

impl EngineIter for PmemIter<'_> {
    fn seek(&mut self, key: &[u8]) {
        let from = match self.lower.as_deref() {
            Some(l) if l > key => l.to_vec(),
            _ => key.to_vec(),
        };
        self.step(Bound::Included(&from), true);
    }
    fn seek_for_prev(&mut self, key: &[u8]) {
        self.step(Bound::Included(key), false);
    }
    fn seek_to_first(&mut self) {
        self.step(Bound::Unbounded, true);
    }
    fn seek_to_last(&mut self) {
        self.step(Bound::Unbounded, false);
    }
    fn valid(&self) -> bool {
        self.current.is_some()
    }
    fn next(&mut self) {
        if let Some((k, _)) = self.current.take() {
            self.step(Bound::Excluded(&k), true);
        }
    }
    fn prev(&mut self) {
        if let Some((k, _)) = self.current.take() {
            self.step(Bound::Excluded(&k), false);
        }
    }
    fn key(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| &c.0)
    }
    fn value(&self) -> &[u8] {
        self.current.as_ref().map_or(&[], |c| &c.1)
    }
    fn status(&self) -> EngineResult<()> {
        Ok(())
    }
}
