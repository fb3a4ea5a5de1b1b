//! The key locks of a unit.
//!
//! A unit (a command, a pipeline's run, EXEC, a stretch of a master's
//! stream) locks the stripes of the keys it touches until it commits
//! (`key_locks`). Here is how a [`WriteContext`] takes them: re-entrantly
//! (a key locked twice in a unit is locked once), in increasing stripe order
//! when it may wait (so two units never wait on each other), or only tried,
//! never waited for, by a unit that already holds keys; and how a read of
//! several records of one key sees one state of it without a lock.

use std::cell::RefCell;

use super::key_locks::LOCK_STRIPES;
use super::keyspace::{stripe, Keyspace};
use super::{BusyKey, TypeResult, WriteContext};

/// The stripes a unit holds: in the order taken and, past a few, as a set
/// too. A unit of a master's stream holds up to 128 keys, a queue of
/// deferred units many more, and "is this one held" is asked for every key
/// of every command: scanning the list cost a replica ~400 instructions per
/// applied SET. The set is allocated only then: a command's own unit holds
/// one stripe, and the unit is moved several times on its way.
#[derive(Clone, Default)]
pub(super) struct HeldStripes {
    order: Vec<usize>,
    set: Option<Box<[u64; LOCK_STRIPES / 64]>>,
}

/// Up to this many held stripes, "held?" scans the list.
const SCAN_HELD: usize = 8;

impl HeldStripes {
    pub(super) fn contains(&self, i: usize) -> bool {
        match &self.set {
            Some(set) => set[i / 64] & (1 << (i % 64)) != 0,
            None => self.order.contains(&i),
        }
    }

    /// Adds stripe `i`, not held yet.
    fn push(&mut self, i: usize) {
        debug_assert!(!self.contains(i));
        self.order.push(i);
        if let Some(set) = &mut self.set {
            set[i / 64] |= 1 << (i % 64);
        } else if self.order.len() > SCAN_HELD {
            let mut set = Box::new([0u64; LOCK_STRIPES / 64]);
            for &j in &self.order {
                set[j / 64] |= 1 << (j % 64);
            }
            self.set = Some(set);
        }
    }

    /// Forgets the stripes added after the first `len`, returning them.
    fn split_off(&mut self, len: usize) -> Vec<usize> {
        let later = self.order.split_off(len);
        if let Some(set) = &mut self.set {
            for &i in &later {
                set[i / 64] &= !(1 << (i % 64));
            }
        }
        later
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.order.iter().copied()
    }

    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

/// The key locks a unit holds, released when it ends.
pub(super) struct HeldLocks<'a> {
    ks: &'a Keyspace,
    pub(super) held: RefCell<HeldStripes>,
}

impl<'a> HeldLocks<'a> {
    pub(super) fn new(ks: &'a Keyspace) -> HeldLocks<'a> {
        HeldLocks {
            ks,
            held: RefCell::default(),
        }
    }
}

impl Drop for HeldLocks<'_> {
    fn drop(&mut self) {
        for i in self.held.get_mut().iter() {
            // SAFETY: every index in `held` was locked by this unit (see
            // `lock_stripes` and `try_hold`) and is unlocked only here, once.
            unsafe { self.ks.unlock_stripe(i) };
        }
    }
}

impl WriteContext<'_> {
    /// Locks `keys` of physical db `db` until the unit ends. Re-entrant.
    pub fn lock<K: AsRef<[u8]>>(&self, db: u8, keys: &[K]) {
        // The common case, a command's one key that the dispatcher already
        // locked, without building a list of stripes.
        if let [key] = keys {
            let i = stripe(db, key.as_ref());
            if self.exclusive || self.locks.held.borrow().contains(i) {
                return;
            }
            return self.lock_stripes(vec![i]);
        }
        self.lock_stripes(keys.iter().map(|k| stripe(db, k.as_ref())).collect());
    }

    /// Locks keys of several databases (MOVE, COPY DB) in one call.
    pub fn lock_multi(&self, keys: &[(u8, &[u8])]) {
        self.lock_stripes(keys.iter().map(|(db, k)| stripe(*db, k)).collect());
    }

    fn lock_stripes(&self, mut idx: Vec<usize>) {
        if self.exclusive {
            return;
        }
        idx.sort_unstable();
        idx.dedup();
        let mut held = self.locks.held.borrow_mut();
        idx.retain(|&i| !held.contains(i));
        // Stripes are taken in increasing order, so two units can never wait
        // on each other. A stripe below one already held can only be tried:
        // blocking on it could close a cycle.
        let max_held = held.iter().max();
        for i in idx {
            let in_order = max_held.is_none_or(|mh| i > mh);
            if in_order {
                self.ks.lock_stripe(i);
            } else if !self.ks.try_lock_stripe(i) {
                // The dispatcher locks every declared key of a write up
                // front, so this is a key no spec names; wait for it rather
                // than fail the command.
                tracing::debug!("key lock taken out of order");
                self.ks.lock_stripe(i);
            }
            held.push(i);
        }
    }

    /// Whether the unit holds any key lock yet.
    pub fn holds_locks(&self) -> bool {
        !self.locks.held.borrow().is_empty()
    }

    /// Locks `keys` without waiting: `Err` names a stripe that was busy, and
    /// then nothing new is held. The caller gives its worker back while it
    /// waits ([`Keyspace::wait_busy`]); a unit that already holds locks
    /// commits first, so a waiting connection never holds a key. Keys of
    /// several databases (MOVE, COPY DB) come in one call.
    pub fn try_lock_multi(&self, keys: &[(u8, &[u8])]) -> Result<(), BusyKey> {
        self.try_lock_stripes(keys.iter().map(|(db, k)| stripe(*db, k)).collect())
    }

    /// [`try_lock_multi`](Self::try_lock_multi) for keys of one database.
    pub fn try_lock<K: AsRef<[u8]>>(&self, db: u8, keys: &[K]) -> Result<(), BusyKey> {
        if let [key] = keys {
            return self.try_lock_stripe(stripe(db, key.as_ref()));
        }
        self.try_lock_stripes(keys.iter().map(|k| stripe(db, k.as_ref())).collect())
    }

    /// [`try_lock_stripes`](Self::try_lock_stripes) of one stripe.
    fn try_lock_stripe(&self, i: usize) -> Result<(), BusyKey> {
        if self.exclusive {
            return Ok(());
        }
        if self.locks.held.borrow().contains(i) {
            return Ok(());
        }
        if !self.ks.try_lock_free(i) && !self.take_over_holder(i) && !self.ks.try_lock_stripe(i) {
            return Err(BusyKey(i));
        }
        let mut held = self.locks.held.borrow_mut();
        if !held.contains(i) {
            held.push(i);
        }
        Ok(())
    }

    fn try_lock_stripes(&self, mut idx: Vec<usize>) -> Result<(), BusyKey> {
        if self.exclusive {
            return Ok(());
        }
        idx.sort_unstable();
        idx.dedup();
        let mut held = self.locks.held.borrow_mut();
        let before = held.len();
        for i in idx {
            // Only stripes held before this call: `idx` has no repeats.
            if held.contains(i) {
                continue;
            }
            if !self.ks.try_lock_stripe(i) {
                for j in held.split_off(before) {
                    // SAFETY: taken by this call just above, released once.
                    unsafe { self.ks.unlock_stripe(j) };
                }
                return Err(BusyKey(i));
            }
            held.push(i);
        }
        Ok(())
    }

    /// Runs `read`, several engine reads of `key`'s records (a list's
    /// metadata, then its elements), so that it sees one state of the key:
    /// without the key lock when no writer holds it, the read being checked
    /// afterwards against the stripe's sequence (see `key_locks`), and under
    /// the lock when writers keep getting in the way. A read of one record
    /// needs none of this: the engine reads each record atomically.
    pub fn read_consistent<T>(
        &self,
        db: u8,
        key: &[u8],
        mut read: impl FnMut() -> TypeResult<T>,
    ) -> TypeResult<T> {
        const LOCK_FREE_TRIES: usize = 3;
        let i = stripe(db, key);
        for _ in 0..LOCK_FREE_TRIES {
            if self.exclusive || self.locks.held.borrow().contains(i) {
                // Nobody else can write the key meanwhile.
                return read();
            }
            let Some(start) = self.ks.read_start(i) else {
                break;
            };
            let result = read();
            if self.ks.read_valid(start) {
                return result;
            }
        }
        self.lock(db, &[key]);
        read()
    }

    /// Takes the lock of one key if that needs no wait: held already or
    /// free. Used by lazy expiry in reads, which may skip the deletion (the
    /// key is still hidden, and another access or the expiry cycle deletes
    /// it), so a read never waits for a key.
    pub(super) fn try_hold(&self, db: u8, key: &[u8]) -> bool {
        if self.exclusive {
            return true;
        }
        let i = stripe(db, key);
        let mut held = self.locks.held.borrow_mut();
        if held.contains(i) {
            return true;
        }
        if !self.ks.try_lock_stripe(i) {
            return false;
        }
        held.push(i);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The set and the order agree through adds and a failed multi-key
    /// try's release of what it took.
    #[test]
    fn held_stripes_keep_the_set_and_the_order_together() {
        // A few stripes (a scanned list), then more (the set as well).
        for extra in [0, 20] {
            let mut h = HeldStripes::default();
            for i in [5, 0, 1023, 64, 63].into_iter().chain(200..200 + extra) {
                h.push(i);
            }
            assert!(h.contains(0) && h.contains(63) && h.contains(64) && h.contains(1023));
            assert!(!h.contains(1) && !h.contains(65) && !h.contains(1022));
            assert_eq!(h.contains(219), extra > 0);
            let later = h.split_off(2);
            assert_eq!(later[..3], [1023, 64, 63]);
            assert_eq!(later.len(), 3 + extra);
            assert_eq!(h.iter().collect::<Vec<_>>(), vec![5, 0]);
            assert!(!h.contains(1023) && !h.contains(64) && !h.contains(63) && !h.contains(219));
            assert!(h.contains(5) && h.contains(0));
            h.push(64);
            assert_eq!((h.len(), h.iter().max()), (3, Some(64)));
        }
    }
}
