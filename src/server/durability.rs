//! WAL fsync scheduling: the `appendfsync` policies.
//!
//! Writes reach the engine's write-ahead log (the OS page cache) before the
//! command returns, so a crash of the process never loses them. What
//! `appendfsync` decides is when the log is fsynced, which is what protects
//! against power loss and kernel crashes:
//!
//! - `always`: a connection holds its replies until every write it made is
//!   fsynced. One syncer thread serves all connections, so concurrent
//!   writers share each fsync (group commit).
//! - `everysec`: the syncer fsyncs once a second; up to about a second of
//!   acknowledged writes can be lost on power failure.
//! - `no`: never fsync explicitly; the OS writes back on its own schedule.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::types::Keyspace;

pub struct WalSyncer {
    requested: Mutex<u64>,
    wake: Condvar,
    synced: watch::Sender<u64>,
    stop: AtomicBool,
    /// Number of fsyncs done (INFO persistence).
    pub fsyncs: AtomicU64,
    /// When true the thread also syncs once a second (everysec).
    pub periodic: AtomicBool,
}

impl WalSyncer {
    pub fn new() -> Arc<WalSyncer> {
        Arc::new(WalSyncer {
            requested: Mutex::new(0),
            wake: Condvar::new(),
            synced: watch::channel(0).0,
            stop: AtomicBool::new(false),
            fsyncs: AtomicU64::new(0),
            periodic: AtomicBool::new(true),
        })
    }

    /// Starts the syncer thread.
    pub fn spawn(self: &Arc<Self>, ks: Arc<Keyspace>) -> std::thread::JoinHandle<()> {
        let me = self.clone();
        std::thread::Builder::new()
            .name("wal-sync".into())
            .spawn(move || me.run(&ks))
            .expect("spawn wal-sync thread")
    }

    fn run(&self, ks: &Keyspace) {
        loop {
            {
                let mut req = self.requested.lock();
                if *req <= *self.synced.borrow() && !self.stop.load(Ordering::Acquire) {
                    self.wake.wait_for(&mut req, Duration::from_secs(1));
                }
            }
            let target = ks.committed();
            if target > *self.synced.borrow() {
                let wanted = *self.requested.lock() > *self.synced.borrow();
                if wanted || self.periodic.load(Ordering::Relaxed) {
                    match ks.engine().sync_wal() {
                        Ok(()) => {
                            self.fsyncs.fetch_add(1, Ordering::Relaxed);
                            self.synced.send_replace(target);
                        }
                        Err(e) => {
                            tracing::error!("WAL fsync failed: {e}");
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            }
            if self.stop.load(Ordering::Acquire) {
                return;
            }
        }
    }

    /// Waits until every write up to sequence `seq` is fsynced.
    pub async fn wait_synced(&self, seq: u64) {
        let mut rx = self.synced.subscribe();
        if *rx.borrow() >= seq {
            return;
        }
        {
            let mut req = self.requested.lock();
            if *req < seq {
                *req = seq;
            }
            self.wake.notify_one();
        }
        let _ = rx.wait_for(|v| *v >= seq).await;
    }

    /// Syncs whatever is committed, then ends the thread (clean shutdown).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
        let mut req = self.requested.lock();
        *req = u64::MAX;
        self.wake.notify_one();
    }
}
