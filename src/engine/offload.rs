//! Reads that wait for the disk leave the network worker.
//!
//! A server worker thread runs many connections. A point read that misses
//! RocksDB's block cache reads a block from its file: from the page cache
//! that takes a few microseconds, from an SSD around a hundred, and every
//! other connection of that worker waits meanwhile.
//!
//! Moving a read off the worker (`tokio::task::block_in_place` hands the
//! worker's connections to another thread for as long as the read takes)
//! costs a thread hand-off, ~12 µs of CPU on the 2-core machine the
//! benchmarks run on. That pays when reads wait for a device, and loses
//! when blocks come from the page cache (a dataset larger than the block
//! cache but not than RAM: one GET in three fewer per second, measured).
//! So the engine picks a [`Mode`] (policy `auto`, the default of
//! `rocksdb.read-offload`) from what reads recently cost, a moving
//! average of their duration measured around the read alone:
//!
//! - [`Mode::Inline`] while the average is at most [`OFFLOAD_ABOVE_NS`]:
//!   reads run on the worker, timed (two clock reads);
//! - [`Mode::Offload`] above it: a read first asks the memtables and the
//!   block cache only (RocksDB answers `Incomplete` instead of touching a
//!   file; a hit costs nothing extra), and a read that needs the file runs
//!   off the worker. Only those reads are timed then, so the mode holds
//!   for as long as misses are slow, however rare they become.
//!
//! Range reads use the same mode: in offload mode an iterator has a
//! cache-only twin that says whether a seek would read a file
//! (`rocks::SeekProbe`); such seeks run off the worker, steps do not.
//!
//! In inline mode the average covers hits too: a mostly cached dataset
//! with rare slow misses stays inline, each such miss stalling its worker
//! once. Anywhere but a multi-threaded runtime's thread (background
//! threads, a current-thread runtime in tests) reads simply block.

use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::clock::monotonic_ns;

/// Reads that took longer than this on average leave the worker: well
/// above a page-cache read of a block (5-10 µs here), below a device
/// read (tens of µs on NVMe, a hundred or more on SATA SSDs and disks).
pub const OFFLOAD_ABOVE_NS: u64 = 40_000;

/// The moving average weighs the latest read 1/16: a change of device
/// behaviour shows within a few dozen reads, one slow read does not flip it.
const AVERAGE_SHIFT: u32 = 4;

/// At most this many reads of one engine wait off the workers at once;
/// further misses read on their worker (as with `no`) until one returns.
/// Each offloaded read holds a thread, and threads cost allocator memory
/// (see `bound_allocators` in main.rs): 50 clients reading from the device
/// ran 66-110 threads without a bound, 48-64 with it. 16 reads at once
/// kept the device's throughput (~20k HGETALLs/s, as with no bound) and
/// lowered the GETs' p99 from 9.4 to 5.7 ms: the device no longer queues
/// 50 deep (docs/bench/larger-than-ram.md).
pub const MAX_OFFLOADED_READS: usize = 16;

/// When reads leave the worker: `rocksdb.read-offload`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffloadPolicy {
    /// As the measured duration of reads says (the module comment).
    Auto,
    /// Every read the block cache cannot answer: for devices known slow.
    Always,
    /// Never: reads block their worker, as before this policy existed.
    Never,
}

impl OffloadPolicy {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Self::Auto),
            "yes" => Some(Self::Always),
            "no" => Some(Self::Never),
            _ => None,
        }
    }
}

/// How a point read runs (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Not on a worker, or offloading is off: the read blocks this thread.
    Block,
    /// On a worker, reads are fast: read there, and time it.
    Inline,
    /// On a worker, reads are slow: try the cache, read the file elsewhere.
    Offload,
}

/// One engine's policy and what it measured (the device is per engine).
#[derive(Debug)]
pub struct ReadOffload {
    policy: AtomicU8,
    read_ns: AtomicU64,
    offloaded: AtomicU64,
    /// Reads off the workers now (at most [`MAX_OFFLOADED_READS`]).
    in_flight: AtomicUsize,
}

impl Default for ReadOffload {
    fn default() -> Self {
        Self {
            policy: AtomicU8::new(OffloadPolicy::Auto as u8),
            read_ns: AtomicU64::new(0),
            offloaded: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }
}

impl ReadOffload {
    pub fn set_policy(&self, policy: OffloadPolicy) {
        self.policy.store(policy as u8, Relaxed);
    }

    fn policy(&self) -> OffloadPolicy {
        match self.policy.load(Relaxed) {
            p if p == OffloadPolicy::Always as u8 => OffloadPolicy::Always,
            p if p == OffloadPolicy::Never as u8 => OffloadPolicy::Never,
            _ => OffloadPolicy::Auto,
        }
    }

    /// The mode for a point read on this thread now.
    pub fn mode(&self) -> Mode {
        match self.policy() {
            OffloadPolicy::Never => Mode::Block,
            _ if !on_worker() => Mode::Block,
            OffloadPolicy::Always => Mode::Offload,
            OffloadPolicy::Auto if self.read_ns.load(Relaxed) > OFFLOAD_ABOVE_NS => Mode::Offload,
            OffloadPolicy::Auto => Mode::Inline,
        }
    }

    /// Runs `read` of `keys` keys, folding its duration per key into the
    /// average.
    pub fn timed<T>(&self, keys: usize, read: impl FnOnce() -> T) -> T {
        let start = monotonic_ns();
        let out = read();
        let per_key = monotonic_ns().saturating_sub(start) / keys.max(1) as u64;
        // Concurrent updates may lose one another's sample, which an
        // average can afford.
        let avg = self.read_ns.load(Relaxed);
        self.read_ns.store(
            avg - (avg >> AVERAGE_SHIFT) + (per_key >> AVERAGE_SHIFT),
            Relaxed,
        );
        out
    }

    /// Runs `read` of `keys` keys, which the block cache could not answer,
    /// off the worker ([`Mode::Offload`] only), timed.
    /// At the bound on reads off the workers it runs on the worker instead.
    pub fn off_worker<T>(&self, keys: usize, read: impl FnOnce() -> T) -> T {
        let slot = self.in_flight.fetch_update(Relaxed, Relaxed, |n| {
            (n < MAX_OFFLOADED_READS).then_some(n + 1)
        });
        if slot.is_err() {
            return self.timed(keys, read);
        }
        let _slot = InFlight(&self.in_flight);
        self.offloaded.fetch_add(1, Relaxed);
        tokio::task::block_in_place(|| self.timed(keys, read))
    }

    /// Reads moved off a worker since start (a multi-get counts once).
    pub fn offloaded(&self) -> u64 {
        self.offloaded.load(Relaxed)
    }

    /// The moving average of a point read, in microseconds.
    pub fn read_avg_us(&self) -> u64 {
        self.read_ns.load(Relaxed) / 1_000
    }
}

/// One read off the workers, counted in [`ReadOffload::in_flight`] until
/// it returns (or unwinds).
struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// Whether this thread runs tasks of a multi-threaded runtime, where a
/// read that waits stalls other connections and `block_in_place` can move
/// them elsewhere.
fn on_worker() -> bool {
    Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multi_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap()
    }

    /// The mode `o` picks on a worker of a multi-threaded runtime.
    fn mode_on_worker(rt: &tokio::runtime::Runtime, o: &'static ReadOffload) -> Mode {
        rt.block_on(async move { tokio::spawn(async move { o.mode() }).await.unwrap() })
    }

    #[test]
    fn only_a_multi_threaded_runtime_counts_as_a_worker() {
        assert!(!on_worker());
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(!current.block_on(async { on_worker() }));
        assert!(
            multi_thread().block_on(async { tokio::spawn(async { on_worker() }).await.unwrap() })
        );
    }

    #[test]
    fn the_policy_and_the_measured_reads_pick_the_mode() {
        let o: &'static ReadOffload = Box::leak(Box::default());
        let rt = multi_thread();
        // Off a worker reads always block.
        assert_eq!(o.mode(), Mode::Block);
        // Nothing measured yet: fast enough to read inline.
        assert_eq!(mode_on_worker(&rt, o), Mode::Inline);
        // Reads of 1 ms each: the average passes the threshold within a
        // few dozen reads.
        for _ in 0..64 {
            o.timed(1, || {
                std::thread::sleep(std::time::Duration::from_millis(1))
            });
        }
        assert!(
            o.read_avg_us() > OFFLOAD_ABOVE_NS / 1_000,
            "{}",
            o.read_avg_us()
        );
        assert_eq!(mode_on_worker(&rt, o), Mode::Offload);
        // A multi-get's duration counts per key.
        for _ in 0..256 {
            o.timed(1000, || {
                std::thread::sleep(std::time::Duration::from_millis(1))
            });
        }
        assert!(
            o.read_avg_us() < OFFLOAD_ABOVE_NS / 1_000,
            "{}",
            o.read_avg_us()
        );
        assert_eq!(mode_on_worker(&rt, o), Mode::Inline);
        o.set_policy(OffloadPolicy::Always);
        assert_eq!(mode_on_worker(&rt, o), Mode::Offload);
        assert_eq!(o.mode(), Mode::Block);
        o.set_policy(OffloadPolicy::Never);
        assert_eq!(mode_on_worker(&rt, o), Mode::Block);
    }

    #[test]
    fn policies_are_named_as_the_directive_spells_them() {
        assert_eq!(OffloadPolicy::from_name("auto"), Some(OffloadPolicy::Auto));
        assert_eq!(OffloadPolicy::from_name("yes"), Some(OffloadPolicy::Always));
        assert_eq!(OffloadPolicy::from_name("no"), Some(OffloadPolicy::Never));
        assert_eq!(OffloadPolicy::from_name("maybe"), None);
    }

    #[test]
    fn an_offloaded_read_counts_and_leaves_the_other_tasks_running() {
        let o: &'static ReadOffload = Box::leak(Box::default());
        let rt = multi_thread();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
        let out = rt.block_on(async move {
            // The read blocks its thread until a task spawned after it
            // started has run on the runtime's only worker.
            let read = tokio::spawn(async move {
                let _ = started_tx.send(());
                o.off_worker(1, || rx.recv_timeout(std::time::Duration::from_secs(10)))
            });
            started_rx.await.unwrap();
            tokio::spawn(async move { tx.send(()) })
                .await
                .unwrap()
                .unwrap();
            read.await.unwrap()
        });
        assert!(out.is_ok(), "the other task did not run during the read");
        assert_eq!(o.offloaded(), 1);
        assert_eq!(o.in_flight.load(Relaxed), 0);
    }

    #[test]
    fn at_the_bound_a_read_stays_on_its_worker() {
        let o: &'static ReadOffload = Box::leak(Box::default());
        o.in_flight.store(MAX_OFFLOADED_READS, Relaxed);
        let rt = multi_thread();
        let worker = rt.block_on(async move {
            tokio::spawn(async move {
                let before = std::thread::current().id();
                let during = o.off_worker(1, || std::thread::current().id());
                // Still on the worker: the runtime can still be entered.
                (before == during, Handle::try_current().is_ok())
            })
            .await
            .unwrap()
        });
        assert_eq!(worker, (true, true));
        assert_eq!(o.offloaded(), 0);
        assert_eq!(o.in_flight.load(Relaxed), MAX_OFFLOADED_READS);
    }
}
