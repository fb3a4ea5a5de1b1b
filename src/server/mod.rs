//! The network layer: listener, connections, the client registry, cron work
//! (active expiry) and shutdown.

pub mod blocking;
pub mod client;
pub mod connection;
pub mod dispatch;
pub mod durability;
pub mod latency;
pub mod logging;
pub mod master_run;
pub mod monitor;
pub mod outbox;
pub mod pipeline;
pub mod pubsub;
pub mod signals;
pub mod slowlog;
pub mod stats;
pub mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::cmd::CommandTable;
use crate::config::Settings;
use crate::config::{ConfigStore, FsyncPolicy};
use crate::engine::{self, Compression, EngineOptions, PmemOptions, RocksOptions};
use crate::types::{expire, Keyspace, StalePolicy};
use client::ClientRegistry;
use durability::WalSyncer;
use stats::Stats;

/// CLIENT PAUSE state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseMode {
    /// Pause every command.
    All,
    /// Pause commands that may write.
    Write,
}

/// CLIENT PAUSE, and the write pause a FAILOVER holds: two purposes, as
/// in Redis, so CLIENT UNPAUSE never lifts a failover's pause.
#[derive(Default)]
pub struct Pause {
    state: Mutex<Option<(PauseMode, Instant)>>,
    /// `state` may hold a pause: every request asks for the current pause,
    /// and without one it reads this flag instead of taking the lock.
    commanded: AtomicBool,
    /// Unix ms the CLIENT PAUSE ends (0: none), for expiry's check.
    command_until_ms: AtomicU64,
    failover: AtomicBool,
    pub resumed: Notify,
}

impl Pause {
    pub fn set(&self, mode: PauseMode, until: Instant, until_unix_ms: u64) {
        let mut s = self.state.lock();
        // As in Redis, a new pause never shortens or weakens a running one.
        *s = match *s {
            Some((m, u)) if u > Instant::now() => {
                let mode = if m == PauseMode::All || mode == PauseMode::All {
                    PauseMode::All
                } else {
                    PauseMode::Write
                };
                Some((mode, u.max(until)))
            }
            _ => Some((mode, until)),
        };
        self.commanded.store(true, Ordering::Release);
        self.command_until_ms
            .fetch_max(until_unix_ms, Ordering::Relaxed);
    }

    /// CLIENT UNPAUSE: lifts the command's pause, not a failover's.
    pub fn clear(&self) {
        let mut s = self.state.lock();
        *s = None;
        self.commanded.store(false, Ordering::Release);
        drop(s);
        self.command_until_ms.store(0, Ordering::Relaxed);
        self.resumed.notify_waiters();
    }

    /// FAILOVER pauses writes until it ends.
    pub fn set_failover(&self, on: bool) {
        self.failover.store(on, Ordering::Release);
        if !on {
            self.resumed.notify_waiters();
        }
    }

    /// Unix ms until which CLIENT PAUSE holds (0: none).
    pub fn command_until_ms(&self) -> u64 {
        self.command_until_ms.load(Ordering::Relaxed)
    }

    /// The active pause, if any (a failover's is a write pause with no end).
    pub fn current(&self) -> Option<(PauseMode, Instant)> {
        let command = if self.commanded.load(Ordering::Acquire) {
            let s = *self.state.lock();
            s.filter(|(_, until)| *until > Instant::now())
        } else {
            None
        };
        if !self.failover.load(Ordering::Acquire) {
            return command;
        }
        let forever = Instant::now() + Duration::from_secs(3600);
        Some(match command {
            Some((PauseMode::All, until)) => (PauseMode::All, until),
            _ => (PauseMode::Write, forever),
        })
    }
}

pub struct Server {
    pub config: ConfigStore,
    pub ks: Arc<Keyspace>,
    pub commands: CommandTable,
    /// By command id: whether the command may join a pipeline's unit, its
    /// arguments and the client's state aside (`dispatch::batchable`).
    pub(crate) joins_units: Vec<bool>,
    pub clients: ClientRegistry,
    /// Clients waiting in BLPOP, BZPOPMIN, ...
    pub blocking: blocking::BlockingRegistry,
    /// Keys clients WATCH, and whether a change broke their transaction.
    pub watches: watch::WatchRegistry,
    /// Subscriptions, message delivery and MONITOR clients.
    pub pubsub: pubsub::PubSub,
    pub stats: Stats,
    /// Per-command latency histograms for the Prometheus endpoint.
    pub metrics: crate::metrics::CommandLatency,
    /// SLOWLOG's entries (`slowlog-log-slower-than`, `slowlog-max-len`).
    pub slowlog: slowlog::SlowLog,
    /// LATENCY's event series (`latency-monitor-threshold`).
    pub latency: latency::LatencyMonitor,
    /// Resident memory when the server opened (MEMORY STATS `startup.allocated`).
    pub startup_rss: u64,
    pub syncer: Arc<WalSyncer>,
    pub pause: Pause,
    pub run_id: String,
    pub started: Instant,
    /// The port actually bound (differs from the config when it is 0).
    pub port: AtomicU64,
    pub last_save_unix: AtomicU64,
    pub shutting_down: AtomicBool,
    pub shutdown: Notify,
    pub executable: PathBuf,
    /// The replica side: the master this server follows, if any.
    pub replica_link: crate::repl::link::ReplicaLink,
    /// The replicas following this server.
    pub replicas: crate::repl::replicas::Replicas,
    /// A FAILOVER in progress, if any.
    pub failover: crate::repl::failover::Failover,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("can't open the data directory: {0}")]
    Engine(#[from] crate::engine::EngineError),
    /// A setting the config layer accepted but the server cannot use.
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Types(#[from] crate::types::TypeError),
    #[error("can't bind {addr}: {err}")]
    Bind { addr: String, err: std::io::Error },
}

/// The engine's options from the configuration. The memtable budget is
/// `rocksdb.write-buffer-size` x `rocksdb.max-write-buffer-number`, as before
/// the options were engine-neutral.
fn engine_options(s: &Settings) -> Result<EngineOptions, StartError> {
    let compression = Compression::from_name(&s.compression)
        .ok_or_else(|| StartError::Config(format!("unknown compression '{}'", s.compression)))?;
    Ok(EngineOptions {
        cache_size: s.block_cache_size,
        memtable_budget: s
            .write_buffer_size
            .saturating_mul(s.max_write_buffer_number.max(1) as usize),
        compression,
        background_jobs: s.max_background_jobs,
        // The backlog lives in the engine's log, which also holds the data:
        // keep twice the stream's size of it (set at start; CONFIG SET of
        // repl-backlog-size later trims the index, not the log).
        log_retention: s.repl_backlog_size.saturating_mul(2),
        rocksdb: RocksOptions {
            max_write_buffer_number: s.max_write_buffer_number,
            min_write_buffer_number_to_merge: s.min_write_buffer_number_to_merge,
        },
        pmem: PmemOptions {
            path: s.pmem_path.clone(),
            size: s.pmem_size,
        },
        record_cache: s.record_cache_size,
    })
}

fn random_hex(n: usize) -> String {
    (0..n)
        .map(|_| format!("{:x}", rand::random::<u8>() & 0xf))
        .collect()
}

/// Shared commits (`types::commit_queue`) mark watchers dirty before they
/// release their units' keys.
impl crate::types::commit_queue::WatchSink for Server {
    fn touch(&self, ks: &Keyspace, touched: &[(u8, bytes::Bytes)]) {
        self.watches.touch(ks, touched);
    }
}

impl Server {
    /// Opens the engine under `dir` and builds the server (not yet listening).
    pub fn open(config: ConfigStore) -> Result<Arc<Server>, StartError> {
        let s = config.settings();
        let engine = engine::open(
            &s.engine,
            &s.dir.join("db"),
            &engine_options(&s)?,
            Arc::new(StalePolicy),
        )
        .map_err(|e| match e {
            e @ engine::EngineError::UnknownEngine { .. } => StartError::Config(e.to_string()),
            e => StartError::Engine(e),
        })?;
        let ks = Arc::new(Keyspace::open(engine, s.databases)?);
        let commands = CommandTable::default();
        let stats = Stats::new(commands.ids());
        let metrics = crate::metrics::CommandLatency::new(&commands);
        let syncer = WalSyncer::new();
        syncer
            .periodic
            .store(s.appendfsync == FsyncPolicy::EverySec, Ordering::Relaxed);
        syncer.spawn(ks.clone());
        let server = Arc::new(Server {
            config,
            ks,
            joins_units: dispatch::units_joined_by(&commands),
            commands,
            clients: ClientRegistry::default(),
            blocking: blocking::BlockingRegistry::default(),
            watches: watch::WatchRegistry::default(),
            pubsub: pubsub::PubSub::default(),
            stats,
            metrics,
            slowlog: slowlog::SlowLog::new(s.slowlog_log_slower_than, s.slowlog_max_len),
            latency: latency::LatencyMonitor::new(s.latency_monitor_threshold),
            startup_rss: crate::cmd::info::rss_bytes(),
            syncer,
            pause: Pause::default(),
            run_id: random_hex(40),
            started: Instant::now(),
            port: AtomicU64::new(s.port as u64),
            last_save_unix: AtomicU64::new(crate::types::now_ms() / 1000),
            shutting_down: AtomicBool::new(false),
            shutdown: Notify::new(),
            executable: std::env::current_exe().unwrap_or_default(),
            replica_link: Default::default(),
            replicas: Default::default(),
            failover: Default::default(),
        });
        server.replica_link.attach(Arc::downgrade(&server));
        let sink: std::sync::Weak<dyn crate::types::commit_queue::WatchSink> =
            Arc::downgrade(&server) as std::sync::Weak<dyn crate::types::commit_queue::WatchSink>;
        server.ks.set_watch_sink(sink);
        server.apply_keyspace_settings(&s);
        Ok(server)
    }

    /// Tells expiry how long writes are paused (CLIENT PAUSE, a FAILOVER):
    /// a paused master deletes no expired key, so its offset stands still.
    pub fn sync_write_pause(&self) {
        let until = if self.failover.is_active() {
            u64::MAX
        } else {
            self.pause.command_until_ms()
        };
        self.ks
            .write_paused_until_ms
            .store(until, Ordering::Relaxed);
    }

    /// Hands the settings the commit point and expiry read to the keyspace.
    pub fn apply_keyspace_settings(&self, s: &crate::config::Settings) {
        self.ks
            .lazyfree_expire
            .store(s.lazyfree_lazy_expire, Ordering::Relaxed);
        self.ks
            .backlog_size
            .store(s.repl_backlog_size, Ordering::Relaxed);
        self.ks.engine().set_read_offload(s.read_offload);
    }

    /// Binds the configured addresses (127.0.0.1 and ::1 style lists, `*`
    /// for all IPv4, `-` prefix = optional) and returns the listeners.
    pub async fn bind(&self) -> Result<Vec<TcpListener>, StartError> {
        let s = self.config.settings();
        let mut listeners = Vec::new();
        let mut port = s.port;
        for raw in &s.bind {
            let optional = raw.starts_with('-');
            let host = raw.trim_start_matches('-');
            let host = match host {
                "*" => "0.0.0.0",
                "::*" => "::",
                h => h,
            };
            let addr = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            match TcpListener::bind(&addr).await {
                Ok(l) => {
                    if port == 0 {
                        // Port 0: the first listener picks, the others follow it.
                        port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                    }
                    listeners.push(l);
                }
                Err(e) if optional => tracing::debug!("optional bind {addr} failed: {e}"),
                Err(err) => return Err(StartError::Bind { addr, err }),
            }
        }
        self.port.store(port as u64, Ordering::Relaxed);
        Ok(listeners)
    }

    /// Accepts connections until shutdown, then flushes and returns.
    pub async fn serve(self: Arc<Self>, listeners: Vec<TcpListener>) {
        for l in listeners {
            let me = self.clone();
            tokio::spawn(async move { me.accept_loop(l).await });
        }
        crate::metrics::spawn(self.clone());
        crate::repl::link::start_from_config(&self);
        let cron = tokio::spawn(self.clone().cron());
        tokio::spawn(crate::repl::master::cron(self.clone()));
        self.shutdown.notified().await;
        cron.abort();
        self.finish_shutdown();
    }

    async fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let (stream, addr) = match listener.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            if self.shutting_down.load(Ordering::Acquire) {
                return;
            }
            self.stats
                .total_connections_received
                .fetch_add(1, Ordering::Relaxed);
            let me = self.clone();
            tokio::spawn(async move { connection::handle(me, stream, addr).await });
        }
    }

    /// Periodic work at `hz`: active expiry, client timeouts.
    async fn cron(self: Arc<Self>) {
        loop {
            let hz = self.config.settings().hz.max(1);
            tokio::time::sleep(Duration::from_millis(1000 / hz)).await;
            if !self.ks.active_expire.load(Ordering::Relaxed) {
                continue;
            }
            let me = self.clone();
            let res = tokio::task::spawn_blocking(move || {
                // Shared gate: a unit running alone (EXEC, FLUSHALL) is not
                // interleaved with expiry.
                let _gate = me.ks.shared_gate();
                expire::expire_cycle(&me.ks, crate::types::now_ms(), 200, &mut |effects| {
                    me.deliver(effects)
                })
            })
            .await;
            match res {
                Ok(Ok(n)) => {
                    self.stats
                        .expired_keys
                        .fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(Err(e)) => tracing::warn!("active expiry failed: {e}"),
                Err(e) => tracing::warn!("active expiry task failed: {e}"),
            }
        }
    }

    /// Starts a clean shutdown: stops accepting and closes clients.
    pub fn request_shutdown(&self) {
        if !self.shutting_down.swap(true, Ordering::AcqRel) {
            tracing::info!("User requested shutdown...");
            for c in self.clients.all() {
                c.kill();
            }
            self.shutdown.notify_one();
        }
    }

    fn finish_shutdown(&self) {
        if let Err(e) = self.ks.engine().flush() {
            tracing::warn!("flush at shutdown failed: {e}");
        }
        self.syncer.stop();
        if let Err(e) = self.ks.engine().sync_wal() {
            tracing::warn!("WAL sync at shutdown failed: {e}");
        }
        tracing::info!("Strata is now ready to exit, bye bye...");
    }

    /// Delivers what a committed unit leaves for others: WATCH breaks and
    /// keyspace events.
    pub fn deliver(&self, effects: crate::types::Effects) {
        self.watches.touch(&self.ks, &effects.touched);
        for e in effects.events {
            self.notify_keyspace_event(e.class, e.event, e.db, &e.key);
        }
    }

    /// Redis's `notifyKeyspaceEvent`: when `notify-keyspace-events` enables
    /// `class` (a `crate::notify` bit), publishes `event` on
    /// `__keyspace@<db>__:<key>` (with K) and `key` on
    /// `__keyevent@<db>__:<event>` (with E). `logical_db` is the database
    /// number clients SELECT. One atomic load when notifications are off.
    pub fn notify_keyspace_event(&self, class: u32, event: &str, logical_db: usize, key: &[u8]) {
        let flags = self.config.notify_flags.load(Ordering::Relaxed);
        if flags & class == 0 {
            return;
        }
        let limits = self.config.settings().obuf_limits;
        let mut db = itoa::Buffer::new();
        let db = db.format(logical_db);
        if flags & crate::notify::KEYSPACE != 0 {
            let mut chan = Vec::with_capacity(16 + db.len() + key.len());
            chan.extend_from_slice(b"__keyspace@");
            chan.extend_from_slice(db.as_bytes());
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(key);
            self.pubsub.publish(&chan, event.as_bytes(), false, &limits);
        }
        if flags & crate::notify::KEYEVENT != 0 {
            let mut chan = Vec::with_capacity(16 + db.len() + event.len());
            chan.extend_from_slice(b"__keyevent@");
            chan.extend_from_slice(db.as_bytes());
            chan.extend_from_slice(b"__:");
            chan.extend_from_slice(event.as_bytes());
            self.pubsub.publish(&chan, key, false, &limits);
        }
    }

    pub fn local_port(&self) -> u16 {
        self.port.load(Ordering::Relaxed) as u16
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}

/// The listening address strings for logs.
pub fn describe(listeners: &[TcpListener]) -> Vec<SocketAddr> {
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .collect()
}
