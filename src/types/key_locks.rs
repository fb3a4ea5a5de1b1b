//! Key locks: striped raw mutexes a unit holds from its first access to a key
//! until its commit, and an asynchronous wait for a busy stripe.
//!
//! A unit runs synchronously on a network worker. Blocking that worker on a
//! busy key stalls every other connection it serves, and on a hot key (every
//! client of a benchmark writing one list) the workers end up parking and
//! waking each other through the kernel for each unit. So a connection that
//! finds a stripe busy before its unit starts does not block: it gives the
//! worker back and awaits [`KeyLocks::wait_free`], and the holder's unlock
//! wakes one such waiter. The raw mutex stays the lock; the wait is only a
//! way to be told when trying again can succeed.
//!
//! Each stripe also counts its lock and unlock operations, a sequence lock
//! for readers: a read of several records of one key (a list's metadata,
//! then its elements) that saw the same even count before and after read a
//! state no writer changed meanwhile, without taking the lock. Every writer
//! of a key holds its stripe from before its first read until after its
//! commit (units that run alone hold the exclusive gate instead, which
//! readers exclude by holding it shared).

use std::sync::atomic::{fence, AtomicU32, AtomicU64, AtomicU8, Ordering};

use parking_lot::lock_api::{RawMutex as _, RawMutexTimed as _};
use parking_lot::RawMutex;
use tokio::sync::Notify;

/// How many stripes the keys hash to: collisions only cost waiting.
pub(super) const LOCK_STRIPES: usize = 1024;

pub struct KeyLocks {
    stripes: Vec<RawMutex>,
    /// Connections awaiting each stripe; an unlock wakes one when non-zero.
    waiters: Vec<AtomicU32>,
    freed: Vec<Notify>,
    /// Odd while the stripe is held: incremented on lock and on unlock.
    sequence: Vec<AtomicU64>,
    /// Set when a unit found the stripe held, and counted down by each unit
    /// that then commits it alone: while non-zero the stripe is a hot
    /// key's, whose units gain nothing from waiting in the commit queue
    /// (`types::commit_queue`: the next writer would commit it at once).
    contended: Vec<AtomicU8>,
}

/// How many units of a contended stripe commit alone before one may be
/// deferred again.
const CONTENDED_UNITS: u8 = 4;

/// A lock-free read's start: the stripe's sequence, even (free) when taken.
#[derive(Debug, Clone, Copy)]
pub(super) struct ReadStart {
    stripe: usize,
    sequence: u64,
}

impl Default for KeyLocks {
    fn default() -> Self {
        KeyLocks {
            stripes: (0..LOCK_STRIPES).map(|_| RawMutex::INIT).collect(),
            waiters: (0..LOCK_STRIPES).map(|_| AtomicU32::new(0)).collect(),
            freed: (0..LOCK_STRIPES).map(|_| Notify::new()).collect(),
            sequence: (0..LOCK_STRIPES).map(|_| AtomicU64::new(0)).collect(),
            contended: (0..LOCK_STRIPES).map(|_| AtomicU8::new(0)).collect(),
        }
    }
}

impl KeyLocks {
    #[cfg(test)]
    pub(super) fn lock(&self, i: usize) {
        self.stripes[i].lock();
        self.sequence[i].fetch_add(1, Ordering::SeqCst);
    }

    /// [`lock`](Self::lock) for at most `timeout`: whether it is held.
    pub(super) fn lock_for(&self, i: usize, timeout: std::time::Duration) -> bool {
        let locked = self.stripes[i].try_lock_for(timeout);
        if locked {
            self.sequence[i].fetch_add(1, Ordering::SeqCst);
        }
        locked
    }

    pub(super) fn try_lock(&self, i: usize) -> bool {
        let locked = self.stripes[i].try_lock();
        if locked {
            self.sequence[i].fetch_add(1, Ordering::SeqCst);
        }
        locked
    }

    /// A unit found stripe `i` held.
    pub(super) fn mark_contended(&self, i: usize) {
        self.contended[i].store(CONTENDED_UNITS, Ordering::Relaxed);
    }

    /// Whether stripe `i` was found held lately (see `contended`).
    pub(super) fn is_contended(&self, i: usize) -> bool {
        self.contended[i].load(Ordering::Relaxed) > 0
    }

    /// A unit holding stripe `i` commits alone: one less to go.
    pub(super) fn committed_alone(&self, i: usize) {
        let n = self.contended[i].load(Ordering::Relaxed);
        if n > 0 {
            self.contended[i].store(n - 1, Ordering::Relaxed);
        }
    }

    /// Starts a lock-free read of stripe `i`'s keys; `None` while a writer
    /// holds it.
    pub(super) fn read_start(&self, i: usize) -> Option<ReadStart> {
        let sequence = self.sequence[i].load(Ordering::Acquire);
        (sequence % 2 == 0).then_some(ReadStart {
            stripe: i,
            sequence,
        })
    }

    /// Whether no writer held the stripe since `start`: then the reads made
    /// in between saw one state.
    pub(super) fn read_valid(&self, start: ReadStart) -> bool {
        // The reads above happen before the check below (a seqlock's
        // reader side): a writer whose commit they saw has made the
        // sequence odd before committing.
        fence(Ordering::Acquire);
        self.sequence[start.stripe].load(Ordering::Relaxed) == start.sequence
    }

    /// # Safety
    /// The caller locked stripe `i` (with `lock` or a successful `try_lock`)
    /// and has not unlocked it since.
    pub(super) unsafe fn unlock(&self, i: usize) {
        self.sequence[i].fetch_add(1, Ordering::Release);
        // SAFETY: guaranteed by the caller, see above.
        unsafe { self.stripes[i].unlock() };
        // SeqCst pairs with `wait_free`: either this load sees the waiter
        // it registered, or that waiter's check sees the stripe free.
        if self.waiters[i].load(Ordering::SeqCst) > 0 {
            self.freed[i].notify_one();
        }
    }

    /// Returns once stripe `i` has been seen free. Nothing is taken: the
    /// caller tries the lock again, and may find it busy again (another
    /// connection got there first), then waits again.
    pub async fn wait_free(&self, i: usize) {
        loop {
            let freed = self.freed[i].notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            self.waiters[i].fetch_add(1, Ordering::SeqCst);
            let busy = self.stripes[i].is_locked();
            if busy {
                freed.await;
            }
            self.waiters[i].fetch_sub(1, Ordering::SeqCst);
            if !busy {
                return;
            }
        }
    }
}

/// The lock stripe of a key: FxHash, cheap and good enough to spread keys
/// over the stripes (SipHash cost ~700 instructions per write here, and
/// stripe collisions only cost waiting, never correctness). It reads eight
/// bytes a step; the byte-wise FNV-1a used before cost ~150 instructions
/// per call on a 16-byte key, and a write computes it twice (stop 35).
pub(super) fn stripe(db: u8, key: &[u8]) -> usize {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_u8(db);
    h.write(key);
    // Take the top bits of a final multiply, which mix best.
    (h.finish().wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize % LOCK_STRIPES
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_wakes_when_the_holder_unlocks() {
        let locks = Arc::new(KeyLocks::default());
        assert!(locks.try_lock(7));
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move { locks.wait_free(7).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "returned while the stripe was held");
        // SAFETY: locked above.
        unsafe { locks.unlock(7) };
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the unlock woke the waiter")
            .unwrap();
    }

    #[test]
    fn keys_spread_over_the_stripes() {
        // 64 keys per stripe on average: none gets more than twice that.
        let mut per_stripe = vec![0u32; LOCK_STRIPES];
        for i in 0..LOCK_STRIPES * 64 {
            per_stripe[stripe(0, format!("key:{i:012}").as_bytes())] += 1;
        }
        let most = per_stripe.iter().max().copied().unwrap_or(0);
        let least = per_stripe.iter().min().copied().unwrap_or(0);
        assert!(
            most < 128 && least > 16,
            "stripes hold {least}..{most} keys"
        );
        assert_ne!(stripe(0, b"k"), stripe(1, b"k"), "the database counts");
    }

    #[test]
    fn a_read_is_valid_only_if_no_writer_held_the_stripe_meanwhile() {
        let locks = KeyLocks::default();
        let start = locks.read_start(5).expect("free");
        assert!(locks.read_valid(start));
        assert!(locks.try_lock(5));
        assert!(locks.read_start(5).is_none(), "held by a writer");
        assert!(!locks.read_valid(start));
        // SAFETY: locked above.
        unsafe { locks.unlock(5) };
        assert!(!locks.read_valid(start), "a writer came and went");
        let again = locks.read_start(5).expect("free again");
        assert!(locks.read_valid(again));
        // Another stripe's writer does not disturb the read.
        locks.lock(6);
        assert!(locks.read_valid(again));
        // SAFETY: locked above.
        unsafe { locks.unlock(6) };
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_waiters_all_get_the_lock_in_turn() {
        // Each task takes the stripe 200 times, waiting asynchronously when
        // it is busy; a lost wake-up would hang the test.
        let locks = Arc::new(KeyLocks::default());
        let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, counter) = (locks.clone(), counter.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    while !locks.try_lock(3) {
                        locks.wait_free(3).await;
                    }
                    counter.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                    // SAFETY: taken by the loop above.
                    unsafe { locks.unlock(3) };
                }
            }));
        }
        for t in tasks {
            tokio::time::timeout(Duration::from_secs(20), t)
                .await
                .expect("no waiter is forgotten")
                .unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), 1600);
    }
}
