//! The replica side's link: Strata following a Redis master.
//!
//! [`ReplicaLink`] is what REPLICAOF, INFO, ROLE and the command checks see:
//! which master is followed and what state the link is in. While a master
//! is set, one task runs sessions against it — connect, handshake
//! (`handshake.rs`), full sync (`sync.rs`) or partial resync, then the
//! stream (`stream.rs`) — and starts a new session a moment after one ends.
//! The data side is reached only through [`ReplicaData`].

mod conn;
mod handshake;
mod server_data;
mod stream;
mod sync;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::ReplicaSettings;
use crate::repl::data::{DataError, ReplicaData};
use crate::repl::failover;
use crate::resp::ParseError;
use crate::server::Server;
use handshake::{Announce, Connecting, PsyncOutcome};

pub use server_data::ServerReplicaData;

/// The master to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

/// Why a session with the master ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("Error condition on socket for SYNC: {0}")]
    Connect(std::io::Error),
    #[error("Timeout connecting to the MASTER...")]
    ConnectTimeout,
    #[error("I/O error with the master: {0}")]
    Io(std::io::Error),
    #[error("Connection with master lost.")]
    Closed,
    #[error("no reply from the master in time")]
    ReadTimeout,
    #[error("the master sent a line too long for a reply")]
    LineTooLong,
    #[error("Error reply to PING from master: '{0}'")]
    PingRefused(String),
    #[error("Unable to AUTH to MASTER: {0}")]
    AuthRefused(String),
    #[error("Master is currently unable to PSYNC but should be in the future: {0}")]
    TryLater(String),
    #[error("MASTER aborted replication with an error: {0}")]
    TransferAborted(String),
    #[error("Bad protocol from MASTER, the first byte is not '$' (we received '{0}'), are you sure the host and port are right?")]
    BadBulkHeader(String),
    #[error("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.")]
    TransferTimeout,
    #[error("Failed trying to load the MASTER synchronization DB from socket: {0}")]
    Load(DataError),
    #[error("MASTER timeout: no data nor PING received...")]
    MasterTimeout,
    #[error("Protocol error from the master: {0}")]
    Protocol(ParseError),
    #[error("Applying the master's stream failed: {0}")]
    Apply(DataError),
}

/// Where the link stands (Redis's `repl_state`, as ROLE names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPhase {
    /// Waiting to connect (after a failure, or just set).
    Connect,
    Connecting,
    Handshake,
    /// Receiving the RDB.
    Transfer,
    Connected,
}

impl LinkPhase {
    /// The state word of ROLE.
    pub fn role_name(self) -> &'static str {
        match self {
            LinkPhase::Connect => "connect",
            LinkPhase::Connecting => "connecting",
            LinkPhase::Handshake => "handshake",
            LinkPhase::Transfer => "sync",
            LinkPhase::Connected => "connected",
        }
    }
}

/// The RDB transfer in progress (INFO's `master_sync_*`).
#[derive(Debug, Clone, Copy)]
pub struct TransferProgress {
    /// -1 for an `$EOF:` payload, whose size is unknown.
    pub total: i64,
    pub read: u64,
    pub last_io: Instant,
}

/// A snapshot of the link for INFO and ROLE.
#[derive(Debug, Clone)]
pub struct LinkStatus {
    pub target: Target,
    pub phase: LinkPhase,
    /// Last data from the master while connected.
    pub last_io: Option<Instant>,
    /// When the link went down, if it was ever up.
    pub down_since: Option<Instant>,
    pub transfer: Option<TransferProgress>,
    /// Offset of the last stream byte read (applied or not).
    pub read_offset: u64,
}

struct Following {
    status: LinkStatus,
    task: tokio::task::JoinHandle<()>,
}

/// What REPLICAOF host port did.
#[derive(Debug, PartialEq, Eq)]
pub enum FollowOutcome {
    Started,
    AlreadyFollowing,
}

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("the server is shutting down")]
    ServerGone,
}

#[derive(Default)]
pub struct ReplicaLink {
    server: OnceLock<Weak<Server>>,
    data: OnceLock<Arc<dyn ReplicaData>>,
    following: Mutex<Option<Following>>,
    /// Mirrors `following.is_some()` for the per-command checks.
    is_following: AtomicBool,
    /// Mirrors `phase == Connected`.
    is_up: AtomicBool,
}

impl ReplicaLink {
    /// Gives the link its server (once, right after the server is built).
    pub fn attach(&self, server: Weak<Server>) {
        let _ = self.server.set(server);
    }

    /// Replaces the data side (before the first REPLICAOF); by default it is
    /// [`ServerReplicaData`].
    pub fn install_data(&self, data: Arc<dyn ReplicaData>) -> bool {
        self.data.set(data).is_ok()
    }

    pub fn data(&self) -> Option<Arc<dyn ReplicaData>> {
        if let Some(d) = self.data.get() {
            return Some(d.clone());
        }
        let server = self.server.get()?.clone();
        Some(
            self.data
                .get_or_init(|| Arc::new(ServerReplicaData::new(server)))
                .clone(),
        )
    }

    /// The server this link belongs to, while it runs.
    pub fn server(&self) -> Option<Arc<Server>> {
        self.server.get().and_then(Weak::upgrade)
    }

    pub fn is_following(&self) -> bool {
        self.is_following.load(Ordering::Relaxed)
    }

    pub fn is_up(&self) -> bool {
        self.is_up.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> Option<LinkStatus> {
        self.following.lock().as_ref().map(|f| f.status.clone())
    }

    fn settings(&self) -> ReplicaSettings {
        self.server
            .get()
            .and_then(Weak::upgrade)
            .map(|s| s.config.settings().replica.clone())
            .unwrap_or_default()
    }

    /// REPLICAOF host port: follows `target` (unless already following it).
    pub fn follow(&self, target: Target) -> Result<FollowOutcome, FollowError> {
        let server = self
            .server
            .get()
            .and_then(Weak::upgrade)
            .ok_or(FollowError::ServerGone)?;
        let mut following = self.following.lock();
        let mut down_since = None;
        if let Some(old) = following.take() {
            if old.status.target.host.eq_ignore_ascii_case(&target.host)
                && old.status.target.port == target.port
            {
                *following = Some(old);
                return Ok(FollowOutcome::AlreadyFollowing);
            }
            old.task.abort();
            if old.status.phase == LinkPhase::Connected {
                tracing::info!("Connection with master lost.");
                down_since = Some(Instant::now());
            } else {
                down_since = old.status.down_since;
            }
        }
        // A replica never expires keys itself: it waits for its master's DEL.
        server.ks.replica.store(true, Ordering::Relaxed);
        let _ = server
            .config
            .record("replicaof", &format!("{} {}", target.host, target.port));
        self.is_up.store(false, Ordering::Relaxed);
        self.is_following.store(true, Ordering::Relaxed);
        let task = tokio::spawn(run(server.clone(), target.clone()));
        *following = Some(Following {
            status: LinkStatus {
                target,
                phase: LinkPhase::Connect,
                last_io: None,
                down_since,
                transfer: None,
                read_offset: 0,
            },
            task,
        });
        Ok(FollowOutcome::Started)
    }

    /// REPLICAOF NO ONE: stops following; `false` when no master was set.
    pub fn unfollow(&self) -> bool {
        let Some(old) = self.following.lock().take() else {
            return false;
        };
        old.task.abort();
        if old.status.phase == LinkPhase::Connected {
            tracing::info!("Connection with master lost.");
        }
        self.is_following.store(false, Ordering::Relaxed);
        self.is_up.store(false, Ordering::Relaxed);
        if let Some(server) = self.server.get().and_then(Weak::upgrade) {
            server.ks.replica.store(false, Ordering::Relaxed);
            let _ = server.config.record("replicaof", "");
        }
        if let Some(data) = self.data() {
            data.stop_following();
        }
        true
    }

    fn update(&self, f: impl FnOnce(&mut LinkStatus)) {
        if let Some(following) = self.following.lock().as_mut() {
            f(&mut following.status);
        }
    }

    fn set_phase(&self, phase: LinkPhase) {
        self.update(|s| {
            let was_up = s.phase == LinkPhase::Connected;
            s.phase = phase;
            if phase == LinkPhase::Connected {
                s.down_since = None;
                s.last_io = Some(Instant::now());
            } else {
                s.last_io = None;
                if was_up {
                    s.down_since = Some(Instant::now());
                }
            }
            if phase != LinkPhase::Transfer {
                s.transfer = None;
            }
        });
        self.is_up
            .store(phase == LinkPhase::Connected, Ordering::Relaxed);
    }

    fn transfer_started(&self, total: i64) {
        self.update(|s| {
            s.phase = LinkPhase::Transfer;
            s.transfer = Some(TransferProgress {
                total,
                read: 0,
                last_io: Instant::now(),
            });
        });
    }

    fn transfer_progress(&self, read: u64) {
        self.update(|s| {
            if let Some(t) = s.transfer.as_mut() {
                t.read = read;
                t.last_io = Instant::now();
            }
        });
    }

    fn master_io(&self) {
        self.update(|s| s.last_io = Some(Instant::now()));
    }

    fn stream_progress(&self, read_offset: u64) {
        self.update(|s| s.read_offset = read_offset);
    }
}

/// Sessions against `target`, one after another, until aborted.
async fn run(server: Arc<Server>, target: Target) {
    let link = &server.replica_link;
    let Some(data) = link.data() else {
        return;
    };
    let mut retry = Duration::from_secs(1);
    loop {
        let err = session(&server, &target, data.clone()).await;
        match &err {
            LinkError::Closed => tracing::warn!("Connection with master lost."),
            e => tracing::warn!("{e}"),
        }
        let was_up = link.is_up();
        link.set_phase(LinkPhase::Connect);
        // Masters that are loading or cut off are asked less and less often;
        // a link that worked is retried at once, as Redis's 1 Hz cron does.
        retry = if was_up {
            Duration::from_secs(1)
        } else if matches!(err, LinkError::TryLater(_)) {
            (retry * 2).min(Duration::from_secs(8))
        } else {
            Duration::from_secs(1)
        };
        tokio::time::sleep(retry).await;
    }
}

/// One connection to the master, from connect to the end of the stream.
async fn session(server: &Server, target: &Target, data: Arc<dyn ReplicaData>) -> LinkError {
    let link = &server.replica_link;
    let settings = server.config.settings();
    let rs = &settings.replica;
    let timeout = Duration::from_secs(rs.timeout_secs);
    tracing::info!("Connecting to MASTER {}:{}", target.host, target.port);
    link.set_phase(LinkPhase::Connecting);
    tracing::info!("MASTER <-> REPLICA sync started");
    let failover = server.failover.in_progress();
    let attempt = async {
        let pong = Connecting { target, timeout }.connect().await?;
        link.set_phase(LinkPhase::Handshake);
        let announcing = pong.ping().await?;
        let me = Announce {
            auth: rs
                .masterauth
                .clone()
                .map(|pass| (rs.masteruser.clone(), pass)),
            listening_port: if rs.announce_port != 0 {
                rs.announce_port
            } else {
                server.local_port()
            },
            ip: rs.announce_ip.clone(),
            failover,
        };
        let asked = data.position();
        let reply = match announcing.announce(&me, asked.clone()).await {
            Ok(r) => r,
            Err(e) => {
                failover::psync_answered(server, false);
                return Err(e);
            }
        };
        let outcome = reply.outcome().await;
        // A FAILOVER's PSYNC: accepted ends it, anything else aborts it.
        let accepted = matches!(
            outcome,
            Ok(PsyncOutcome::Full(_)) | Ok(PsyncOutcome::Partial(_))
        );
        failover::psync_answered(server, accepted);
        let streaming = match outcome? {
            PsyncOutcome::Full(full) => full.transfer(data.clone(), link).await?,
            PsyncOutcome::NoPsync(fallback) => {
                fallback.sync().await?.transfer(data.clone(), link).await?
            }
            PsyncOutcome::TryLater(reply) => return Err(LinkError::TryLater(reply)),
            PsyncOutcome::Partial(continued) => {
                if let (Some(id), Some(pos)) = (&continued.new_replid, &asked) {
                    data.adopt_position(id, pos.offset);
                }
                stream::Streaming::new(continued.conn)
            }
        };
        Ok::<_, LinkError>(streaming)
    };
    let streaming = match attempt.await {
        Ok(s) => s,
        Err(e) => return e,
    };
    link.set_phase(LinkPhase::Connected);
    streaming.run(data, link).await
}

/// Starts following the master named by `replicaof` in the configuration.
pub fn start_from_config(server: &Server) {
    if let Some((host, port)) = server.config.settings().replica.replicaof.clone() {
        if let Err(e) = server.replica_link.follow(Target { host, port }) {
            tracing::warn!("can't follow the configured master: {e}");
        }
    }
}
