//! The replicas attached to this server as a master: who they are, where
//! each stands in its synchronisation, and how far it has acknowledged the
//! stream. INFO replication, ROLE, WAIT and `min-replicas-to-write` read
//! it; each replica's connection task keeps its own entry current.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::types::now_ms;

/// Where a replica is in its synchronisation (Redis's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// A full sync was asked for; the snapshot's RDB is not flowing yet.
    WaitBgsave = 0,
    /// The RDB is being sent.
    SendBulk = 1,
    /// The command stream flows.
    Online = 2,
}

impl ReplicaState {
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::Online => "online",
        }
    }

    fn from_u8(v: u8) -> ReplicaState {
        match v {
            0 => ReplicaState::WaitBgsave,
            1 => ReplicaState::SendBulk,
            _ => ReplicaState::Online,
        }
    }
}

/// What a replica said about itself with REPLCONF before PSYNC/SYNC.
#[derive(Debug, Clone, Default)]
pub struct ReplConf {
    pub listening_port: u16,
    pub ip_address: Option<String>,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// Relay options some proxies send (`keeper`, `idc`, `region`): kept,
    /// not acted on.
    pub relay: Vec<(String, String)>,
}

/// One attached replica.
pub struct ReplicaEntry {
    pub client_id: u64,
    /// REPLCONF ip-address, else the peer's address.
    pub ip: String,
    pub port: u16,
    state: AtomicU8,
    /// The highest offset it acknowledged.
    pub ack_offset: AtomicU64,
    /// Unix ms of its last ACK (or any input).
    pub last_ack_ms: AtomicU64,
    /// The stream offset written to its socket so far.
    pub sent_offset: AtomicU64,
    /// Set when it sends its first ACK (a diskless sync's stream waits for it).
    pub acked_once: AtomicBool,
    pub acked: Notify,
}

impl ReplicaEntry {
    pub fn state(&self) -> ReplicaState {
        ReplicaState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub fn set_state(&self, s: ReplicaState) {
        if s == ReplicaState::Online {
            // The ACK timeout counts from here (a long RDB transfer is not
            // silence), as Redis's replicaPutOnline does.
            self.last_ack_ms.store(now_ms(), Ordering::Relaxed);
        }
        self.state.store(s as u8, Ordering::Release);
    }

    /// Seconds since its last ACK (Redis's `lag`; 0 until online).
    pub fn lag_secs(&self) -> u64 {
        if self.state() != ReplicaState::Online {
            return 0;
        }
        now_ms().saturating_sub(self.last_ack_ms.load(Ordering::Relaxed)) / 1000
    }

    /// Bytes committed to the stream but not yet written to this replica.
    pub fn behind(&self, committed: u64) -> u64 {
        committed.saturating_sub(self.sent_offset.load(Ordering::Relaxed))
    }
}

/// Full and partial synchronisation counters (INFO stats).
#[derive(Default)]
pub struct SyncCounters {
    pub full: AtomicU64,
    pub partial_ok: AtomicU64,
    pub partial_err: AtomicU64,
}

/// Every attached replica, in attach order.
#[derive(Default)]
pub struct Replicas {
    list: Mutex<Vec<Arc<ReplicaEntry>>>,
    /// Woken whenever some replica acknowledges (WAIT waits on it).
    pub ack_moved: Notify,
    pub counters: SyncCounters,
    /// The RDBs being produced for full resyncs, shared between replicas.
    pub rdb_jobs: super::rdb_jobs::RdbJobs,
    /// `min-replicas-to-write` and `min-replicas-max-lag`, refreshed by the
    /// master's cron so the write path reads two atomics.
    pub min_to_write: AtomicU64,
    pub min_max_lag: AtomicU64,
    /// Set when `repl-backlog-ttl` released the backlog (INFO's
    /// `repl_backlog_active:0`), until a replica attaches again.
    pub backlog_released: AtomicBool,
}

impl Replicas {
    pub fn attach(
        &self,
        client_id: u64,
        ip: String,
        port: u16,
        state: ReplicaState,
    ) -> Arc<ReplicaEntry> {
        let e = Arc::new(ReplicaEntry {
            client_id,
            ip,
            port,
            state: AtomicU8::new(state as u8),
            ack_offset: AtomicU64::new(0),
            last_ack_ms: AtomicU64::new(now_ms()),
            sent_offset: AtomicU64::new(0),
            acked_once: AtomicBool::new(false),
            acked: Notify::new(),
        });
        self.list.lock().push(e.clone());
        self.backlog_released.store(false, Ordering::Relaxed);
        e
    }

    pub fn detach(&self, client_id: u64) {
        self.list.lock().retain(|e| e.client_id != client_id);
        self.ack_moved.notify_waiters();
    }

    pub fn all(&self) -> Vec<Arc<ReplicaEntry>> {
        self.list.lock().clone()
    }

    pub fn len(&self) -> usize {
        self.list.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.lock().is_empty()
    }

    /// Records `REPLCONF ACK <offset>` from a replica.
    pub fn record_ack(&self, entry: &ReplicaEntry, offset: u64) {
        entry.ack_offset.fetch_max(offset, Ordering::AcqRel);
        entry.last_ack_ms.store(now_ms(), Ordering::Relaxed);
        if !entry.acked_once.swap(true, Ordering::AcqRel) {
            entry.acked.notify_waiters();
        }
        entry.acked.notify_waiters();
        self.ack_moved.notify_waiters();
    }

    /// Online replicas that acknowledged at least `offset`.
    pub fn acked_at_least(&self, offset: u64) -> usize {
        self.list
            .lock()
            .iter()
            .filter(|e| {
                e.state() == ReplicaState::Online && e.ack_offset.load(Ordering::Acquire) >= offset
            })
            .count()
    }

    /// Redis's NOREPLICAS refusal: `min-replicas-to-write` is set and fewer
    /// replicas than that acknowledged within `min-replicas-max-lag`.
    pub fn too_few_for_writes(&self) -> bool {
        let need = self.min_to_write.load(Ordering::Relaxed);
        need > 0 && (self.good(self.min_max_lag.load(Ordering::Relaxed)) as u64) < need
    }

    /// Online replicas whose last ACK is at most `max_lag` seconds old
    /// (`min-replicas-max-lag`).
    pub fn good(&self, max_lag: u64) -> usize {
        self.list
            .lock()
            .iter()
            .filter(|e| e.state() == ReplicaState::Online && e.lag_secs() <= max_lag)
            .count()
    }
}
