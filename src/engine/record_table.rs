//! The record cache's table: set-associative, bounded by bytes.
//!
//! A general-purpose cache (quick_cache, used until stop 35) walks five
//! dependent cache lines per lookup: its control bytes, its index, its slab
//! entry, the key's box and the value's box. Under pipelined writes, where
//! every command looks its key up, that walk was the largest item of
//! Strata's own time (19% of the server's CPU in SET at pipeline 16,
//! docs/bench/instructions.md). Here a key hashes to one bucket, one cache
//! line of six ways (a 16-bit tag and a pointer each), and a way's entry
//! holds its key and record in one allocation: a lookup touches two lines,
//! and [`RecordTable::prefetch_bucket`] and [`RecordTable::prefetch_entry`]
//! let a pipeline load both for all its commands before the first runs.
//!
//! Eviction is CLOCK: caching or hitting an entry sets its way's referenced
//! bit. A full bucket evicts the next unreferenced way after its own hand
//! (clearing the bits it passes), and the byte budget is kept by a second
//! hand that sweeps the buckets the same way.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::hash::Hasher;
use std::ptr::NonNull;

/// Ways per bucket: six tags and pointers fill one 64-byte line.
const WAYS: usize = 6;

/// What an entry costs beyond its key and record bytes: its share of a
/// bucket (~11 bytes), its header and the allocator's rounding.
pub(super) const ENTRY_OVERHEAD: u64 = 64;

/// The bytes one entry is expected to take with its overhead: buckets are
/// counted so that a budget full of such entries fills them (keys and
/// records of ~16 bytes each, redis-benchmark's and many applications').
const EXPECTED_ENTRY: u64 = 96;

/// What a cached key maps to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(super) enum Kind {
    /// The engine's record (the entry's value bytes).
    Record,
    /// The engine has no record.
    Absent,
    /// A batch in flight is rewriting the record: readers miss. The old
    /// bytes stay, so the writer's new record of the same size reuses them.
    Rewriting,
}

/// An entry's header; the key's bytes and then the value's follow it in
/// the same allocation.
#[repr(C)]
struct Header {
    key_len: u32,
    value_len: u32,
    kind: Kind,
}

/// One owned allocation: header, key, value.
struct Entry(NonNull<Header>);

// SAFETY: an entry owns its allocation and has no interior mutability;
// the table that holds it is only used behind its shard's mutex.
unsafe impl Send for Entry {}

impl Entry {
    fn layout(key_len: usize, value_len: usize) -> Layout {
        let size = std::mem::size_of::<Header>() + key_len + value_len;
        Layout::from_size_align(size, std::mem::align_of::<Header>())
            .expect("lengths under 2^32 each (`insert` checks) give a valid layout")
    }

    fn new(key: &[u8], kind: Kind, value: &[u8]) -> Entry {
        let layout = Self::layout(key.len(), value.len());
        // SAFETY: the layout has a non-zero size (the header's); the
        // header is written before anything reads it, and the key and
        // value are copied into the bytes the layout reserved after it.
        unsafe {
            let p = alloc(layout) as *mut Header;
            let Some(p) = NonNull::new(p) else {
                handle_alloc_error(layout)
            };
            p.as_ptr().write(Header {
                key_len: key.len() as u32,
                value_len: value.len() as u32,
                kind,
            });
            let bytes = (p.as_ptr() as *mut u8).add(std::mem::size_of::<Header>());
            std::ptr::copy_nonoverlapping(key.as_ptr(), bytes, key.len());
            std::ptr::copy_nonoverlapping(value.as_ptr(), bytes.add(key.len()), value.len());
            Entry(p)
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: written in `new`, valid until drop.
        unsafe { self.0.as_ref() }
    }

    fn bytes(&self) -> *mut u8 {
        // SAFETY: the key and value follow the header in the allocation.
        unsafe { (self.0.as_ptr() as *mut u8).add(std::mem::size_of::<Header>()) }
    }

    fn key(&self) -> &[u8] {
        let h = self.header();
        // SAFETY: `key_len` bytes were copied there in `new`.
        unsafe { std::slice::from_raw_parts(self.bytes(), h.key_len as usize) }
    }

    fn value(&self) -> &[u8] {
        let h = self.header();
        // SAFETY: `value_len` bytes follow the key, copied in `new` or
        // `set_value`.
        unsafe {
            std::slice::from_raw_parts(self.bytes().add(h.key_len as usize), h.value_len as usize)
        }
    }

    fn kind(&self) -> Kind {
        self.header().kind
    }

    fn set_kind(&mut self, kind: Kind) {
        // SAFETY: the entry is owned and `&mut` here.
        unsafe { (*self.0.as_ptr()).kind = kind }
    }

    fn weight(&self) -> u64 {
        let h = self.header();
        u64::from(h.key_len) + u64::from(h.value_len) + ENTRY_OVERHEAD
    }

    /// Gives the entry a new kind and value, in place when the value's
    /// size is unchanged (a SET of a same-sized value allocates nothing).
    fn set_value(&mut self, kind: Kind, value: &[u8]) {
        if self.header().value_len as usize == value.len() {
            // SAFETY: the allocation holds exactly `value.len()` value bytes.
            unsafe {
                let at = self.bytes().add(self.header().key_len as usize);
                std::ptr::copy_nonoverlapping(value.as_ptr(), at, value.len());
            }
            self.set_kind(kind);
        } else {
            *self = Entry::new(self.key(), kind, value);
        }
    }

    fn prefetch(&self) {
        prefetch_line(self.0.as_ptr() as *const u8);
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let h = self.header();
        let layout = Self::layout(h.key_len as usize, h.value_len as usize);
        // SAFETY: allocated in `new` with this same layout.
        unsafe { dealloc(self.0.as_ptr() as *mut u8, layout) }
    }
}

/// Asks the processor to load the line at `p` (a hint; no memory access in
/// the language's sense).
fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch does not fault, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p as *const i8, std::arch::x86_64::_MM_HINT_T0)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One cache line of ways.
#[repr(C, align(64))]
#[derive(Default)]
struct Bucket {
    entries: [Option<Entry>; WAYS],
    tags: [u16; WAYS],
    /// Bit `i`: way `i` was hit (or cached) since the clock last passed it.
    referenced: u8,
    /// The way the bucket's clock looks at next.
    hand: u8,
}

impl Bucket {
    fn find(&self, tag: u16, key: &[u8]) -> Option<usize> {
        (0..WAYS).find(|&i| {
            self.tags[i] == tag && self.entries[i].as_ref().is_some_and(|e| e.key() == key)
        })
    }

    /// Takes out unreferenced entries, from the bucket's hand on (clearing
    /// the referenced bits it passes), until `enough` says stop; returns
    /// the bytes freed.
    fn sweep(&mut self, mut enough: impl FnMut(u64) -> bool) -> u64 {
        let mut freed = 0;
        for _ in 0..WAYS {
            if enough(freed) {
                break;
            }
            let i = self.hand as usize;
            self.hand = ((i + 1) % WAYS) as u8;
            let bit = 1u8 << i;
            if self.referenced & bit != 0 {
                self.referenced &= !bit;
            } else if let Some(e) = self.entries[i].take() {
                freed += e.weight();
            }
        }
        freed
    }
}

/// A byte-bounded map from keys to [`Kind`]s and records: see the module
/// documentation. Not synchronized: the record cache keeps one per shard,
/// behind the shard's mutex.
/// A key's hash, computed once per lookup: its top bits pick the record
/// cache's shard ([`KeyHash::shard`]), its middle bits the table's bucket
/// and tag (the bucket index stays below bit 56, so the two never share
/// bits).
#[derive(Clone, Copy)]
pub(super) struct KeyHash(u64);

impl KeyHash {
    pub(super) fn of(key: &[u8]) -> KeyHash {
        let mut h = rustc_hash::FxHasher::default();
        h.write(key);
        KeyHash(h.finish().wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// One of `2^bits` shards.
    pub(super) fn shard(self, bits: u32) -> usize {
        (self.0 >> (64 - bits)) as usize
    }
}

pub(super) struct RecordTable {
    buckets: Box<[Bucket]>,
    mask: usize,
    /// Bytes the entries weigh ([`ENTRY_OVERHEAD`] included).
    weight: u64,
    capacity: u64,
    /// The bucket the budget's clock looks at next.
    hand: usize,
}

impl RecordTable {
    /// A table of at most `capacity` bytes: its buckets (allocated here,
    /// ~11% of it) and its entries.
    pub(super) fn new(capacity: u64) -> RecordTable {
        let buckets = (capacity / (EXPECTED_ENTRY * WAYS as u64)).clamp(1, 1 << 24);
        let buckets = (buckets as usize).next_power_of_two();
        let table_bytes = (buckets * std::mem::size_of::<Bucket>()) as u64;
        RecordTable {
            buckets: (0..buckets).map(|_| Bucket::default()).collect(),
            mask: buckets - 1,
            weight: 0,
            capacity: capacity.saturating_sub(table_bytes),
            hand: 0,
        }
    }

    /// The key's bucket and tag: the bucket from the hash's high half
    /// (at most 24 bits of it, under the shard's), the tag from bits the
    /// bucket does not use.
    fn locate(&self, h: KeyHash) -> (usize, u16) {
        ((h.0 >> 32) as usize & self.mask, (h.0 >> 16) as u16)
    }

    /// The key's kind and record, marking it used.
    pub(super) fn get(&mut self, h: KeyHash, key: &[u8]) -> Option<(Kind, &[u8])> {
        let (b, tag) = self.locate(h);
        let bucket = &mut self.buckets[b];
        let way = bucket.find(tag, key)?;
        bucket.referenced |= 1 << way;
        let e = bucket.entries[way].as_ref()?;
        Some((e.kind(), e.value()))
    }

    /// The key's kind and record, without marking it used.
    #[cfg(test)]
    pub(super) fn peek(&self, h: KeyHash, key: &[u8]) -> Option<(Kind, &[u8])> {
        let (b, tag) = self.locate(h);
        let bucket = &self.buckets[b];
        let e = bucket.entries[bucket.find(tag, key)?].as_ref()?;
        Some((e.kind(), e.value()))
    }

    /// Marks a cached key [`Kind::Rewriting`]; absent keys stay absent.
    pub(super) fn mark_rewriting(&mut self, h: KeyHash, key: &[u8]) {
        let (b, tag) = self.locate(h);
        let bucket = &mut self.buckets[b];
        if let Some(way) = bucket.find(tag, key) {
            if let Some(e) = bucket.entries[way].as_mut() {
                e.set_kind(Kind::Rewriting);
            }
        }
    }

    /// Caches `key` as `kind` with `value` (empty unless a record),
    /// replacing what it had; `only_if_present` leaves uncached keys out.
    pub(super) fn insert(
        &mut self,
        h: KeyHash,
        key: &[u8],
        kind: Kind,
        value: &[u8],
        only_if_present: bool,
    ) {
        if u32::try_from(key.len()).is_err() || u32::try_from(value.len()).is_err() {
            // An entry's header holds 32-bit lengths; such a key is not
            // cached (nor may an older record of it stay).
            self.remove(h, key);
            return;
        }
        let (b, tag) = self.locate(h);
        let bucket = &mut self.buckets[b];
        if let Some(way) = bucket.find(tag, key) {
            if let Some(e) = bucket.entries[way].as_mut() {
                let before = e.weight();
                e.set_value(kind, value);
                self.weight = self.weight - before + e.weight();
            }
        } else if only_if_present {
            return;
        } else {
            let way = match bucket.entries.iter().position(Option::is_none) {
                Some(way) => way,
                None => {
                    // Full: the clock frees a way within two passes (the
                    // first clears every bit it passes).
                    let mut freed = 0;
                    while freed == 0 {
                        freed = bucket.sweep(|freed| freed > 0);
                    }
                    self.weight -= freed;
                    bucket
                        .entries
                        .iter()
                        .position(Option::is_none)
                        .expect("a sweep of a full bucket frees a way")
                }
            };
            let e = Entry::new(key, kind, value);
            self.weight += e.weight();
            bucket.entries[way] = Some(e);
            bucket.tags[way] = tag;
            // One turn of grace: a record just read is likely read again
            // soon (the next command of its key), before the clock's hand
            // comes back.
            bucket.referenced |= 1 << way;
        }
        self.keep_budget();
    }

    /// Sweeps buckets from the hand until the entries fit the budget. Two
    /// turns of the clock take out every entry, so this ends.
    fn keep_budget(&mut self) {
        while self.weight > self.capacity {
            let excess = self.weight - self.capacity;
            let freed = self.buckets[self.hand].sweep(|freed| freed >= excess);
            self.weight -= freed;
            self.hand = (self.hand + 1) & self.mask;
        }
    }

    pub(super) fn remove(&mut self, h: KeyHash, key: &[u8]) {
        let (b, tag) = self.locate(h);
        let bucket = &mut self.buckets[b];
        if let Some(way) = bucket.find(tag, key) {
            if let Some(e) = bucket.entries[way].take() {
                self.weight -= e.weight();
            }
        }
    }

    pub(super) fn clear(&mut self) {
        for bucket in self.buckets.iter_mut() {
            *bucket = Bucket::default();
        }
        self.weight = 0;
    }

    /// What the entries weigh.
    #[cfg(test)]
    pub(super) fn weight(&self) -> u64 {
        self.weight
    }

    /// The bytes the table holds: its buckets and its entries' weight.
    pub(super) fn memory(&self) -> u64 {
        (self.buckets.len() * std::mem::size_of::<Bucket>()) as u64 + self.weight
    }

    /// Starts loading the bucket of the key hashed `h`; returns where to look for its entry
    /// once it has arrived ([`RecordTable::prefetch_entry`]).
    pub(super) fn prefetch_bucket(&self, h: KeyHash) -> (usize, u16) {
        let (b, tag) = self.locate(h);
        prefetch_line(&self.buckets[b] as *const Bucket as *const u8);
        (b, tag)
    }

    /// Starts loading the entries of bucket `at.0` whose tag is `at.1`.
    pub(super) fn prefetch_entry(&self, at: (usize, u16)) {
        let bucket = &self.buckets[at.0 & self.mask];
        for i in 0..WAYS {
            if bucket.tags[i] == at.1 {
                if let Some(e) = &bucket.entries[i] {
                    e.prefetch();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> Vec<u8> {
        format!("key:{i:012}").into_bytes()
    }

    #[test]
    fn a_bucket_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Bucket>(), 64);
    }

    #[test]
    fn entries_are_found_replaced_marked_and_removed() {
        let mut t = RecordTable::new(1 << 20);
        assert_eq!(t.get(KeyHash::of(b"a"), b"a"), None);
        t.insert(KeyHash::of(b"a"), b"a", Kind::Record, b"one", false);
        t.insert(KeyHash::of(b"b"), b"b", Kind::Absent, b"", false);
        assert_eq!(
            t.get(KeyHash::of(b"a"), b"a"),
            Some((Kind::Record, &b"one"[..]))
        );
        assert_eq!(
            t.get(KeyHash::of(b"b"), b"b"),
            Some((Kind::Absent, &b""[..]))
        );
        // Same size: in place; another size: a new entry.
        t.insert(KeyHash::of(b"a"), b"a", Kind::Record, b"two", false);
        assert_eq!(
            t.peek(KeyHash::of(b"a"), b"a"),
            Some((Kind::Record, &b"two"[..]))
        );
        t.insert(KeyHash::of(b"a"), b"a", Kind::Record, b"three", false);
        assert_eq!(
            t.peek(KeyHash::of(b"a"), b"a"),
            Some((Kind::Record, &b"three"[..]))
        );
        assert_eq!(t.weight(), 1 + 5 + 1 + 2 * ENTRY_OVERHEAD);
        t.mark_rewriting(KeyHash::of(b"a"), b"a");
        t.mark_rewriting(KeyHash::of(b"c"), b"c");
        assert_eq!(
            t.peek(KeyHash::of(b"a"), b"a"),
            Some((Kind::Rewriting, &b"three"[..]))
        );
        assert_eq!(t.peek(KeyHash::of(b"c"), b"c"), None);
        t.insert(KeyHash::of(b"c"), b"c", Kind::Record, b"x", true);
        assert_eq!(t.peek(KeyHash::of(b"c"), b"c"), None);
        t.insert(KeyHash::of(b"a"), b"a", Kind::Record, b"four", true);
        assert_eq!(
            t.peek(KeyHash::of(b"a"), b"a"),
            Some((Kind::Record, &b"four"[..]))
        );
        t.remove(KeyHash::of(b"a"), b"a");
        assert_eq!(t.peek(KeyHash::of(b"a"), b"a"), None);
        assert_eq!(t.weight(), 1 + ENTRY_OVERHEAD);
        t.clear();
        assert_eq!((t.peek(KeyHash::of(b"b"), b"b"), t.weight()), (None, 0));
    }

    #[test]
    fn the_table_keeps_its_budget_and_its_most_used_entries() {
        let capacity = 64 << 10;
        let mut t = RecordTable::new(capacity);
        let capacity = t.capacity;
        assert!(
            t.memory() <= 64 << 10 && capacity > 48 << 10,
            "buckets take ~11%"
        );
        // A hot set read again and again among many keys read once.
        let hot: Vec<Vec<u8>> = (0..50).map(|i| key(1_000_000 + i)).collect();
        for i in 0..20_000u32 {
            let h = &hot[i as usize % hot.len()];
            if t.get(KeyHash::of(h), h).is_none() {
                t.insert(KeyHash::of(h), h, Kind::Record, &[1; 16], false);
            }
            t.insert(KeyHash::of(&key(i)), &key(i), Kind::Record, &[2; 16], false);
            assert!(t.weight() <= capacity);
        }
        let weight: u64 = t
            .buckets
            .iter()
            .flat_map(|b| b.entries.iter().flatten())
            .map(Entry::weight)
            .sum();
        assert_eq!(weight, t.weight(), "the weight is the entries' sum");
        let hot_kept = hot
            .iter()
            .filter(|k| t.peek(KeyHash::of(k), k).is_some())
            .count();
        assert!(hot_kept >= 45, "only {hot_kept} of 50 hot keys kept");
        assert!(t.weight() > capacity / 2, "the budget is used");
    }

    #[test]
    fn a_record_larger_than_the_budget_leaves_it_empty() {
        let mut t = RecordTable::new(1000);
        t.insert(
            KeyHash::of(b"small"),
            b"small",
            Kind::Record,
            &[0; 10],
            false,
        );
        t.insert(KeyHash::of(b"big"), b"big", Kind::Record, &[0; 4096], false);
        assert_eq!(t.weight(), 0);
        assert_eq!(t.peek(KeyHash::of(b"big"), b"big"), None);
    }

    #[test]
    fn prefetching_finds_the_entry_it_loads() {
        let mut t = RecordTable::new(1 << 20);
        t.insert(KeyHash::of(b"k"), b"k", Kind::Record, b"v", false);
        let at = t.prefetch_bucket(KeyHash::of(b"k"));
        t.prefetch_entry(at);
        assert_eq!(at, t.locate(KeyHash::of(b"k")));
    }
}
