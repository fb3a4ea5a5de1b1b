//! Server-wide counters behind INFO stats / commandstats / errorstats (and,
//! later, the Prometheus endpoint). Plain atomics: cheap on the hot path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

#[derive(Default)]
pub struct CommandStats {
    pub calls: AtomicU64,
    pub usec: AtomicU64,
    pub rejected_calls: AtomicU64,
    pub failed_calls: AtomicU64,
}

pub struct Stats {
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    pub total_commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    /// Socket reads and reply writes done (INFO `total_reads_processed` / `total_writes_processed`).
    pub total_reads_processed: AtomicU64,
    pub total_writes_processed: AtomicU64,
    pub expired_keys: AtomicU64,
    pub keyspace_hits: AtomicU64,
    pub keyspace_misses: AtomicU64,
    pub total_error_replies: AtomicU64,
    /// Indexed by command id (see `CommandTable::fullname`).
    pub commands: Vec<CommandStats>,
    /// Error prefix (`ERR`, `WRONGTYPE`, ...) -> count.
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// SAVE / BGSAVE bookkeeping; an `Arc` so a BGSAVE thread can update it.
    pub save: Arc<SaveState>,
    /// The previous sample behind INFO's `instantaneous_*` rates.
    pub rate_sample: Mutex<Option<RateSample>>,
    /// Highest RSS seen by INFO memory (`used_memory_peak`).
    pub peak_memory: AtomicU64,
}

/// What INFO persistence and LASTSAVE report about SAVE / BGSAVE.
pub struct SaveState {
    pub in_progress: AtomicBool,
    pub saves: AtomicU64,
    pub last_ok: AtomicBool,
    /// Unix seconds of the last successful save (starts at server start, as in Redis).
    pub last_save_unix: AtomicU64,
    /// Keyspace commit sequence covered by the last successful save.
    pub last_save_seq: AtomicU64,
    /// Duration of the last BGSAVE in seconds, -1 if none ran.
    pub last_bgsave_secs: AtomicI64,
}

/// Counters at one moment, to compute per-second rates between two INFO calls.
#[derive(Debug, Clone, Copy)]
pub struct RateSample {
    pub at: Instant,
    pub commands: u64,
    pub net_input: u64,
    pub net_output: u64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Stats {
    pub fn new(commands: usize) -> Stats {
        Stats {
            total_connections_received: AtomicU64::new(0),
            rejected_connections: AtomicU64::new(0),
            total_commands_processed: AtomicU64::new(0),
            net_input_bytes: AtomicU64::new(0),
            net_output_bytes: AtomicU64::new(0),
            total_reads_processed: AtomicU64::new(0),
            total_writes_processed: AtomicU64::new(0),
            expired_keys: AtomicU64::new(0),
            keyspace_hits: AtomicU64::new(0),
            keyspace_misses: AtomicU64::new(0),
            total_error_replies: AtomicU64::new(0),
            commands: (0..commands).map(|_| CommandStats::default()).collect(),
            errors: Mutex::new(BTreeMap::new()),
            save: Arc::new(SaveState {
                in_progress: AtomicBool::new(false),
                saves: AtomicU64::new(0),
                last_ok: AtomicBool::new(true),
                last_save_unix: AtomicU64::new(crate::types::now_ms() / 1000),
                last_save_seq: AtomicU64::new(0),
                last_bgsave_secs: AtomicI64::new(-1),
            }),
            rate_sample: Mutex::new(None),
            peak_memory: AtomicU64::new(0),
        }
    }

    pub fn hit(&self, hit: bool) {
        add(
            if hit {
                &self.keyspace_hits
            } else {
                &self.keyspace_misses
            },
            1,
        );
    }

    pub fn record_call(&self, id: usize, usec: u64, failed: bool) {
        let c = &self.commands[id];
        add(&c.calls, 1);
        add(&c.usec, usec);
        if failed {
            add(&c.failed_calls, 1);
        }
    }

    pub fn record_rejected(&self, id: usize) {
        add(&self.commands[id].rejected_calls, 1);
    }

    /// Counts an error reply under its prefix, as INFO errorstats does.
    pub fn record_error(&self, line: &str) {
        add(&self.total_error_replies, 1);
        let prefix = line.split(' ').next().unwrap_or("ERR").to_string();
        *self.errors.lock().entry(prefix).or_insert(0) += 1;
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for c in [
            &self.total_connections_received,
            &self.rejected_connections,
            &self.total_commands_processed,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.total_reads_processed,
            &self.total_writes_processed,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.total_error_replies,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        for c in &self.commands {
            for a in [&c.calls, &c.usec, &c.rejected_calls, &c.failed_calls] {
                a.store(0, Ordering::Relaxed);
            }
        }
        self.errors.lock().clear();
    }
}
