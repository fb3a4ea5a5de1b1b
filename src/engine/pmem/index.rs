//! The DRAM index: for each column family, an ordered map from key to where
//! its value lives in the mapping, with the older versions open snapshots
//! still see.
//!
//! It exists because the log is unordered (append order) while the types
//! layer needs ordered ranges (hash fields, list items, zset scores). A
//! `BTreeMap` per family rather than a concurrent skiplist: every change
//! already happens under the engine's write lock (a batch must become
//! visible atomically across families), readers take the read lock for
//! microseconds, and a B-tree spends far fewer DRAM bytes per key (no tower
//! of pointers per node), which is the figure this tier is sized by.
//!
//! Multi-version concurrency: every record carries the sequence number of
//! its batch; a snapshot reads, for each key, the newest version at or below
//! its sequence. Older versions are kept only while a pinned sequence
//! (snapshot or iterator) lies between them and the next version.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::format::{record_len, RECORD_HEADER};

/// Where a record lives in the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// Absolute offset of the record in the file.
    pub off: u64,
    pub klen: u32,
    pub vlen: u32,
}

impl Loc {
    pub fn value_off(&self) -> u64 {
        self.off + RECORD_HEADER as u64 + self.klen as u64
    }
    pub fn record_len(&self) -> u64 {
        record_len(self.klen as usize, self.vlen as usize) as u64
    }
}

/// One version of a key: the batch that wrote it, and its record (`None`:
/// deleted by that batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub seq: u64,
    pub loc: Option<Loc>,
}

#[derive(Debug)]
pub struct Entry {
    pub latest: Version,
    /// Versions pinned snapshots still see, oldest first.
    pub older: Vec<Version>,
}

impl Entry {
    /// The version visible at `seq` (`None` for the latest).
    pub fn at(&self, seq: Option<u64>) -> Option<Loc> {
        let Some(seq) = seq else {
            return self.latest.loc;
        };
        if self.latest.seq <= seq {
            return self.latest.loc;
        }
        self.older
            .iter()
            .rev()
            .find(|v| v.seq <= seq)
            .and_then(|v| v.loc)
    }
}

/// The sequence numbers pinned by open snapshots and iterators.
#[derive(Debug, Default)]
pub struct Pins {
    seqs: BTreeMap<u64, u32>,
}

impl Pins {
    pub fn add(&mut self, seq: u64) {
        *self.seqs.entry(seq).or_default() += 1;
    }
    /// Returns true when no pin is left.
    pub fn remove(&mut self, seq: u64) -> bool {
        if let Some(n) = self.seqs.get_mut(&seq) {
            *n -= 1;
            if *n == 0 {
                self.seqs.remove(&seq);
            }
        }
        self.seqs.is_empty()
    }
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }
    pub fn len(&self) -> u64 {
        self.seqs.values().map(|n| *n as u64).sum()
    }
    /// Whether a pin sees the version written at `from` and replaced at `to`.
    fn sees(&self, from: u64, to: u64) -> bool {
        self.seqs.range(from..to).next().is_some()
    }
}

/// One column family's index.
#[derive(Debug, Default)]
pub struct Family {
    map: BTreeMap<Box<[u8]>, Entry>,
    /// Keys with versions in `older` or a deleted latest version, to sweep
    /// once no pin is left.
    pub versioned: Vec<Box<[u8]>>,
}

impl Family {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn get(&self, key: &[u8], seq: Option<u64>) -> Option<Loc> {
        self.map.get(key).and_then(|e| e.at(seq))
    }

    pub fn entry(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key)
    }

    /// Sets the latest version of `key` (a record or a deletion). Records no
    /// longer reachable go to `dead`.
    pub fn set(&mut self, key: &[u8], v: Version, pins: &Pins, dead: &mut impl FnMut(Loc)) {
        if pins.is_empty() {
            match v.loc {
                Some(_) => {
                    if let Some(e) = self.map.get_mut(key) {
                        if let Some(old) = e.latest.loc {
                            dead(old);
                        }
                        for o in e.older.drain(..) {
                            o.loc.map(&mut *dead);
                        }
                        e.latest = v;
                    } else {
                        self.map.insert(
                            key.into(),
                            Entry {
                                latest: v,
                                older: Vec::new(),
                            },
                        );
                    }
                }
                None => {
                    if let Some(e) = self.map.remove(key) {
                        e.latest.loc.map(&mut *dead);
                        e.older.into_iter().filter_map(|o| o.loc).for_each(dead);
                    }
                }
            }
            return;
        }
        match self.map.get_mut(key) {
            Some(e) => {
                let old = std::mem::replace(&mut e.latest, v);
                e.older.push(old);
                prune(&mut e.older, v.seq, pins, dead);
                self.versioned.push(key.into());
            }
            // Deleting a key no version of which exists: nothing to keep.
            None if v.loc.is_none() => {}
            None => {
                self.map.insert(
                    key.into(),
                    Entry {
                        latest: v,
                        older: Vec::new(),
                    },
                );
            }
        }
    }

    /// Deletes every key in `[start, end)` at `seq`.
    pub fn delete_range(
        &mut self,
        start: &[u8],
        end: &[u8],
        seq: u64,
        pins: &Pins,
        dead: &mut impl FnMut(Loc),
    ) {
        if start >= end {
            return;
        }
        let keys: Vec<Box<[u8]>> = self
            .map
            .range::<[u8], _>((Bound::Included(start), Bound::Excluded(end)))
            .filter(|(_, e)| e.latest.loc.is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.set(&k, Version { seq, loc: None }, pins, dead);
        }
    }

    /// Drops every version no pin needs; called once no pin is left.
    pub fn sweep(&mut self, dead: &mut impl FnMut(Loc)) {
        for key in std::mem::take(&mut self.versioned) {
            let Some(e) = self.map.get_mut(&key) else {
                continue;
            };
            for o in e.older.drain(..) {
                o.loc.map(&mut *dead);
            }
            if e.latest.loc.is_none() {
                self.map.remove(&key);
            }
        }
    }

    /// Removes `key` outright if its latest version is the record at `loc`
    /// (segment cleaning dropping a stale record; no pin is open).
    pub fn remove_if_at(&mut self, key: &[u8], loc: Loc) -> bool {
        if self.map.get(key).and_then(|e| e.latest.loc) == Some(loc) {
            self.map.remove(key);
            return true;
        }
        false
    }

    /// Points `key`'s latest version at `to` if it is the record at `from`
    /// (segment cleaning moved it).
    pub fn relocate(&mut self, key: &[u8], from: Loc, to: Loc) -> bool {
        match self.map.get_mut(key) {
            Some(e) if e.latest.loc == Some(from) => {
                e.latest.loc = Some(to);
                true
            }
            _ => false,
        }
    }

    /// The first key after (`forward`) or before the bound whose version at
    /// `seq` exists, within `[lower, upper)`.
    pub fn step(
        &self,
        from: Bound<&[u8]>,
        forward: bool,
        lower: Option<&[u8]>,
        upper: Option<&[u8]>,
        seq: Option<u64>,
    ) -> Option<(&[u8], Loc)> {
        let (lo, hi) = if forward {
            let lo = match (from, lower) {
                (Bound::Unbounded, Some(l)) => Bound::Included(l),
                (b, _) => b,
            };
            (lo, upper.map_or(Bound::Unbounded, Bound::Excluded))
        } else {
            let hi = match (from, upper) {
                (Bound::Unbounded, Some(u)) => Bound::Excluded(u),
                (Bound::Included(k), Some(u)) if k >= u => Bound::Excluded(u),
                (b, _) => b,
            };
            (lower.map_or(Bound::Unbounded, Bound::Included), hi)
        };
        if !range_is_valid(lo, hi) {
            return None;
        }
        let range = self.map.range::<[u8], _>((lo, hi));
        if forward {
            for (k, e) in range {
                if let Some(loc) = e.at(seq) {
                    return Some((&k[..], loc));
                }
            }
        } else {
            for (k, e) in range.rev() {
                if let Some(loc) = e.at(seq) {
                    return Some((&k[..], loc));
                }
            }
        }
        None
    }
}

/// `BTreeMap::range` panics on an inverted range; such a range is empty.
fn range_is_valid(lo: Bound<&[u8]>, hi: Bound<&[u8]>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a <= b,
        (Bound::Included(a), Bound::Excluded(b)) | (Bound::Excluded(a), Bound::Included(b)) => {
            a < b
        }
        (Bound::Excluded(a), Bound::Excluded(b)) => a < b,
        _ => true,
    }
}

/// Drops the versions in `older` (oldest first; `newest` is the seq of the
/// version after the last) that no pin sees.
fn prune(older: &mut Vec<Version>, newest: u64, pins: &Pins, dead: &mut impl FnMut(Loc)) {
    let mut next = newest;
    let mut keep = vec![false; older.len()];
    for (i, v) in older.iter().enumerate().rev() {
        keep[i] = pins.sees(v.seq, next);
        next = v.seq;
    }
    let mut i = 0;
    older.retain(|v| {
        let k = keep[i];
        i += 1;
        if !k {
            v.loc.map(&mut *dead);
        }
        k
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(off: u64) -> Option<Loc> {
        Some(Loc {
            off,
            klen: 1,
            vlen: 1,
        })
    }

    #[test]
    fn a_pinned_sequence_keeps_the_version_it_sees_and_nothing_else() {
        let mut f = Family::default();
        let mut pins = Pins::default();
        let mut dead = Vec::new();
        let mut d = |l: Loc| dead.push(l.off);
        f.set(
            b"k",
            Version {
                seq: 1,
                loc: loc(100),
            },
            &pins,
            &mut d,
        );
        pins.add(1);
        f.set(
            b"k",
            Version {
                seq: 2,
                loc: loc(200),
            },
            &pins,
            &mut d,
        );
        f.set(
            b"k",
            Version {
                seq: 3,
                loc: loc(300),
            },
            &pins,
            &mut d,
        );
        f.set(b"k", Version { seq: 4, loc: None }, &pins, &mut d);
        // Versions 2 and 3 were replaced before any pin could see them.
        assert_eq!(dead, [200, 300]);
        assert_eq!(f.get(b"k", Some(1)), loc(100));
        assert_eq!(f.get(b"k", None), None);
        assert!(pins.remove(1));
        f.sweep(&mut |l: Loc| dead.push(l.off));
        assert_eq!(f.len(), 0);
        dead.sort();
        assert_eq!(dead, [100, 200, 300]);
    }

    #[test]
    fn steps_honour_bounds_direction_and_visibility() {
        let mut f = Family::default();
        let pins = Pins::default();
        for (i, k) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            f.set(
                &k[..],
                Version {
                    seq: i as u64 + 1,
                    loc: loc(i as u64),
                },
                &pins,
                &mut |_| {},
            );
        }
        let key = |r: Option<(&[u8], Loc)>| r.map(|(k, _)| k.to_vec());
        assert_eq!(
            key(f.step(Bound::Unbounded, true, Some(b"b"), Some(b"d"), None)),
            Some(b"b".to_vec())
        );
        assert_eq!(
            key(f.step(Bound::Excluded(b"c"), true, Some(b"b"), Some(b"d"), None)),
            None
        );
        assert_eq!(
            key(f.step(Bound::Unbounded, false, Some(b"b"), Some(b"d"), None)),
            Some(b"c".to_vec())
        );
        assert_eq!(
            key(f.step(Bound::Included(b"z"), false, None, Some(b"c"), None)),
            Some(b"b".to_vec())
        );
        // Written at 3 and 4: invisible at 2.
        assert_eq!(
            key(f.step(Bound::Excluded(b"b"), true, None, None, Some(2))),
            None
        );
        assert_eq!(
            key(f.step(Bound::Unbounded, true, Some(b"x"), Some(b"b"), None)),
            None
        );
    }
}
