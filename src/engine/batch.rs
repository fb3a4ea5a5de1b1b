//! The atomic batch every write becomes.
//!
//! A unit (a pipeline's run, a transaction, a stretch of a master's stream)
//! stages its writes in one batch and asks it two questions before the
//! commit: which of its ops last decided a key (each command reads what the
//! earlier ones staged, `types::overlay`), and which ops a later op of the
//! same key overrides (those are dropped, so the engine stores one record per
//! key). Comparing keys op by op cost a SET at pipeline 16 ~290 instructions
//! of its own and ~400 more in `memcmp`. So each point op gets a 32-bit
//! fingerprint of its family and key, computed once, the first time one of
//! the questions is asked (a unit of one command usually never asks), and
//! keys are compared only where fingerprints agree. A 256-bit summary of the
//! fingerprints answers most "never staged" lookups, and "no key staged
//! twice", without a scan.

use super::Cf;

/// One change inside a [`Batch`].
#[derive(Debug, Clone)]
pub enum BatchOp {
    Put {
        cf: Cf,
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        cf: Cf,
        key: Vec<u8>,
    },
    /// Deletes every key in `[start, end)`; an empty or inverted range
    /// deletes nothing (and does not fail the batch).
    DeleteRange {
        cf: Cf,
        start: Vec<u8>,
        end: Vec<u8>,
    },
    /// Bytes kept in the engine's log with the batch but in no column family
    /// (RocksDB's `PutLogData`): durable and atomic with the batch, read back
    /// in commit order with [`Engine::read_log`](super::Engine::read_log),
    /// never visible to reads.
    LogData(bytes::Bytes),
}

impl BatchOp {
    /// The key a put or delete writes.
    fn point(&self) -> Option<(Cf, &[u8])> {
        match self {
            BatchOp::Put { cf, key, .. } | BatchOp::Delete { cf, key } => Some((*cf, key)),
            BatchOp::DeleteRange { .. } | BatchOp::LogData(_) => None,
        }
    }
}

/// A key's fingerprint: its length, family and first, middle and last
/// eight bytes, mixed. Keys of one family share prefixes (a namespace, a
/// collection's key and version) and differ towards their end, so the
/// bytes looked at tell them apart; two keys that differ only elsewhere
/// just cost a comparison. Hashing every byte cost ~80 instructions a key.
fn fingerprint(cf: Cf, key: &[u8]) -> u32 {
    /// The eight bytes at `at` (`at + 8 <= b.len()`): one load.
    fn word(b: &[u8], at: usize) -> u64 {
        b.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let n = key.len();
    let (head, middle, tail) = if n >= 8 {
        (word(key, 0), word(key, n / 2 - 4), word(key, n - 8))
    } else {
        let mut w = [0u8; 8];
        w[..n].copy_from_slice(key);
        (u64::from_le_bytes(w), 0, 0)
    };
    let mut x = (n as u64) << 8 | cf as u64;
    for w in [head, middle, tail] {
        x = (x ^ w).wrapping_mul(K).rotate_left(29);
    }
    (x ^ (x >> 32)) as u32
}

/// Which bit of [`Fingerprints::summary`] fingerprint `f` sets: its word and mask.
fn summary_bit(f: u32) -> (usize, u64) {
    ((f as usize >> 6) & 3, 1 << (f & 63))
}

/// An ordered list of changes applied atomically: all or none, even across a crash.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    ops: Vec<BatchOp>,
    /// Allocated by the first question asked (see the module's doc): a
    /// batch is moved several times on its way to the engine, and most
    /// batches (a command's own, without pipelining) are never asked.
    prints: Option<Box<Fingerprints>>,
    /// Range deletions in `ops`: a lookup must look at them whatever the
    /// fingerprints say.
    ranges: usize,
}

#[derive(Debug, Default, Clone)]
struct Fingerprints {
    /// Of `ops[..fps.len()]` (0 for ranges and log data).
    fps: Vec<u32>,
    /// One bit (of 256) per fingerprint in `fps`: a key whose bit is clear
    /// has no point op there.
    summary: [u64; 4],
    /// Some point op of `fps` found its bit already set: two of them may
    /// write one key. Clear means no key is written twice.
    maybe_repeats: bool,
}

impl Fingerprints {
    /// Fingerprints the ops past those it covers.
    fn catch_up(&mut self, ops: &[BatchOp]) {
        self.fps.reserve(ops.len() - self.fps.len());
        for op in &ops[self.fps.len()..] {
            let f = match op.point() {
                Some((cf, key)) => {
                    let f = fingerprint(cf, key);
                    let (word, bit) = summary_bit(f);
                    self.maybe_repeats |= self.summary[word] & bit != 0;
                    self.summary[word] |= bit;
                    f
                }
                None => 0,
            };
            self.fps.push(f);
        }
    }

    fn forget(&mut self) {
        self.fps.clear();
        self.summary = [0; 4];
        self.maybe_repeats = false;
    }
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn put(&mut self, cf: Cf, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Put {
            cf,
            key: key.into(),
            value: value.into(),
        });
    }
    pub fn delete(&mut self, cf: Cf, key: impl Into<Vec<u8>>) {
        self.ops.push(BatchOp::Delete {
            cf,
            key: key.into(),
        });
    }
    pub fn delete_range(&mut self, cf: Cf, start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) {
        self.ranges += 1;
        self.ops.push(BatchOp::DeleteRange {
            cf,
            start: start.into(),
            end: end.into(),
        });
    }
    /// Attaches log-only bytes to the batch (see [`BatchOp::LogData`]); at
    /// most one per batch is kept, the last.
    pub fn log_data(&mut self, bytes: bytes::Bytes) {
        let before = self.ops.len();
        self.ops.retain(|op| !matches!(op, BatchOp::LogData(_)));
        if self.ops.len() != before {
            // Positions moved: fingerprint again when next asked.
            self.forget_fingerprints();
        }
        self.ops.push(BatchOp::LogData(bytes));
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
    /// Appends `other`'s changes after this batch's.
    pub fn extend(&mut self, other: Batch) {
        if self.ops.is_empty() {
            // The common first (or only) unit of a shared commit: take its
            // list instead of copying it into a new one.
            *self = other;
            return;
        }
        // This batch's fingerprints still cover a prefix of its ops;
        // `other`'s are dropped: a shared commit never asks, and a unit that
        // takes another over asks little.
        self.ranges += other.ranges;
        self.ops.extend(other.ops);
    }
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    fn forget_fingerprints(&mut self) {
        if let Some(p) = &mut self.prints {
            p.forget();
        }
    }

    /// The fingerprints of every op, brought up to date.
    fn fingerprint_all(&mut self) -> &Fingerprints {
        let prints = self.prints.get_or_insert_with(Box::default);
        prints.catch_up(&self.ops);
        prints
    }

    /// The newest op that decides `key` in `cf`: its last put or delete, or
    /// a later range deletion that covers it. `None`: the batch leaves the
    /// key as the engine has it.
    pub fn newest_for(&mut self, cf: Cf, key: &[u8]) -> Option<&BatchOp> {
        let f = fingerprint(cf, key);
        let (word, bit) = summary_bit(f);
        let ranges = self.ranges;
        let prints = self.fingerprint_all();
        if ranges == 0 && prints.summary[word] & bit == 0 {
            return None;
        }
        let fps = &self.prints.as_ref()?.fps;
        self.ops.iter().zip(fps).rev().find_map(|(op, &g)| {
            let decides = match op {
                BatchOp::Put { cf: c, key: k, .. } | BatchOp::Delete { cf: c, key: k } => {
                    g == f && *c == cf && k.as_slice() == key
                }
                BatchOp::DeleteRange { cf: c, start, end } => {
                    *c == cf && key >= start.as_slice() && key < end.as_slice()
                }
                BatchOp::LogData(_) => false,
            };
            decides.then_some(op)
        })
    }

    /// Drops every put or delete that a later put or delete of the same key
    /// (same family) overrides. The batch applies atomically, so only a
    /// key's last point write is ever visible, whatever lies between (a
    /// range deletion included). Pipelined writes to one key (LPUSH, SADD,
    /// HSET on one collection) rewrite its metadata record per command;
    /// this leaves the engine one record to store per key, not sixteen.
    pub fn drop_overwritten(&mut self) {
        const SMALL: usize = 16;
        let n = self.ops.len();
        if n < 2 {
            return;
        }
        if !self.fingerprint_all().maybe_repeats {
            return;
        }
        let Some(prints) = self.prints.as_mut() else {
            return;
        };
        let (ops, fps) = (&self.ops, &prints.fps);
        let overridden = |i: usize| {
            ops[i]
                .point()
                .is_some_and(|a| (i + 1..n).any(|j| fps[j] == fps[i] && ops[j].point() == Some(a)))
        };
        let dead: Vec<bool> = if n <= SMALL {
            // A few ops (one pipeline's run): compare fingerprints pairwise,
            // no hashing, and no allocation when nothing is overridden.
            if !(0..n).any(overridden) {
                prints.maybe_repeats = false;
                return;
            }
            (0..n).map(overridden).collect()
        } else {
            let mut later = rustc_hash::FxHashSet::default();
            let mut dead = vec![false; n];
            for (i, op) in ops.iter().enumerate().rev() {
                if let Some(k) = op.point() {
                    dead[i] = !later.insert(k);
                }
            }
            if !dead.contains(&true) {
                prints.maybe_repeats = false;
                return;
            }
            dead
        };
        let mut i = 0;
        self.ops.retain(|_| {
            i += 1;
            !dead[i - 1]
        });
        // No key is written twice now; the summary is rebuilt when asked.
        self.forget_fingerprints();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift): the same batches each run.
    fn rng() -> impl FnMut(u64) -> u64 {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        }
    }

    /// A random batch of `len` ops over a few keys of two families.
    fn random_batch(next: &mut impl FnMut(u64) -> u64, len: usize, keys: u64) -> Batch {
        let mut b = Batch::new();
        for _ in 0..len {
            let cf = [Cf::Meta, Cf::Data][next(2) as usize];
            let key = vec![b'a' + next(keys) as u8];
            match next(10) {
                0 => b.delete_range(cf, key.clone(), vec![key[0] + 2]),
                1 => b.log_data(bytes::Bytes::from_static(b"stream")),
                2..=3 => b.delete(cf, key),
                _ => b.put(cf, key, vec![next(255) as u8]),
            }
        }
        b
    }

    /// The state a batch leaves, applied to an empty store.
    fn applied(b: &Batch) -> std::collections::BTreeMap<(u8, Vec<u8>), Vec<u8>> {
        let mut m = std::collections::BTreeMap::new();
        for op in b.ops() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    m.insert((*cf as u8, key.clone()), value.clone());
                }
                BatchOp::Delete { cf, key } => {
                    m.remove(&(*cf as u8, key.clone()));
                }
                BatchOp::DeleteRange { cf, start, end } => {
                    m.retain(|(c, k), _| !(*c == *cf as u8 && k >= start && k < end));
                }
                BatchOp::LogData(_) => {}
            }
        }
        m
    }

    #[test]
    fn dropping_overwritten_writes_keeps_the_batchs_outcome() {
        let mut next = rng();
        // Short batches take the pairwise path, long ones the hashed one;
        // few keys repeat, many rarely do (the summary's fast exit). Half
        // the batches are fingerprinted before, by a lookup, and extended.
        for keys in [6u64, 150] {
            for len in [1usize, 2, 3, 5, 8, 16, 17, 40, 200] {
                for round in 0..50 {
                    let mut b = random_batch(&mut next, len, keys);
                    if round % 2 == 1 {
                        let _ = b.newest_for(Cf::Meta, b"a");
                        b.extend(random_batch(&mut next, 3, keys));
                    }
                    let mut c = b.clone();
                    c.drop_overwritten();
                    assert_eq!(applied(&c), applied(&b), "{b:?} became {c:?}");
                    let points: Vec<(Cf, &[u8])> =
                        c.ops().iter().filter_map(BatchOp::point).collect();
                    let unique: std::collections::HashSet<_> = points.iter().collect();
                    assert_eq!(unique.len(), points.len(), "one point write per key: {c:?}");
                    let logs = |x: &Batch| {
                        x.ops()
                            .iter()
                            .filter(|op| {
                                matches!(op, BatchOp::LogData(_) | BatchOp::DeleteRange { .. })
                            })
                            .count()
                    };
                    assert_eq!(logs(&c), logs(&b), "log data and ranges stay");
                }
            }
        }
    }

    /// `newest_for` answers what scanning the ops newest first answers, on
    /// batches built by puts, deletes, ranges, log data and extends, asked
    /// at any point of their making (fingerprints are filled lazily).
    #[test]
    fn newest_for_finds_the_op_a_scan_finds() {
        fn scan<'a>(b: &'a Batch, cf: Cf, key: &[u8]) -> Option<&'a BatchOp> {
            b.ops().iter().rev().find(|op| match op {
                BatchOp::Put { cf: c, key: k, .. } | BatchOp::Delete { cf: c, key: k } => {
                    *c == cf && k.as_slice() == key
                }
                BatchOp::DeleteRange { cf: c, start, end } => {
                    *c == cf && key >= start.as_slice() && key < end.as_slice()
                }
                BatchOp::LogData(_) => false,
            })
        }
        let mut next = rng();
        for keys in [3u64, 26, 150] {
            for _ in 0..200 {
                let len = next(20) as usize;
                let mut b = random_batch(&mut next, len, keys);
                for _ in 0..4 {
                    for cf in [Cf::Meta, Cf::Data] {
                        for k in 0..keys.min(30) {
                            let key = [b'a' + k as u8];
                            let want = scan(&b, cf, &key).map(|op| format!("{op:?}"));
                            let got = b.newest_for(cf, &key).map(|op| format!("{op:?}"));
                            assert_eq!(got, want, "{cf:?} {key:?} in {b:?}");
                        }
                    }
                    match next(3) {
                        0 => {
                            let len = next(8) as usize;
                            b.extend(random_batch(&mut next, len, keys))
                        }
                        1 => {
                            let len = next(8) as usize;
                            let mut other = random_batch(&mut next, len, keys);
                            other.drop_overwritten();
                            // `b` unfingerprinted past here, `other` not.
                            b.put(Cf::Meta, vec![b'a'], vec![1]);
                            b.extend(other);
                        }
                        _ => b.drop_overwritten(),
                    }
                }
            }
        }
    }
}
