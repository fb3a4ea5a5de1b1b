//! Per-connection state and the registry of connected clients.
//!
//! [`ClientState`] is owned by the connection task and mutated by commands
//! without locks. [`ClientInfo`] is the part other connections may read or
//! act on (CLIENT LIST, CLIENT KILL), shared through the [`ClientRegistry`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::resp::RespVersion;

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// Set by SKIP, applies to the command after it.
    SkipNext,
}

/// What other connections can see of, and do to, a client.
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub fd: i64,
    /// When the connection was accepted ([`crate::clock::monotonic_ns`]).
    pub created_ns: u64,
    pub name: Mutex<Option<Bytes>>,
    pub db: AtomicUsize,
    /// Milliseconds since `created_ns` at the last command.
    pub last_interaction_ms: AtomicU64,
    /// Id of the last command run (see `CommandTable::fullname`); `usize::MAX` = none yet.
    /// An id rather than a name keeps the per-command path free of allocation.
    pub last_cmd: AtomicUsize,
    pub resp: AtomicU8,
    pub qbuf: AtomicUsize,
    pub killed: AtomicBool,
    pub kill: Notify,
    pub no_evict: AtomicBool,
    pub authenticated: AtomicBool,
    /// Waiting in a blocking command (CLIENT LIST flag `b`).
    pub blocked: AtomicBool,
    /// A WATCHed key changed: the next EXEC fails (Redis's CLIENT_DIRTY_CAS).
    pub dirty_cas: AtomicBool,
    /// Inside MULTI (CLIENT LIST flag `x`, `multi=` count).
    pub multi_len: AtomicUsize,
    pub in_multi: AtomicBool,
    /// Pub/sub messages and MONITOR lines waiting for the connection to send.
    pub outbox: super::outbox::Outbox,
    /// Channel, pattern and shard-channel subscriptions (kept by the pub/sub
    /// hub, read by CLIENT LIST and the subscribed-mode check).
    pub subs: [AtomicUsize; 3],
    /// In MONITOR mode (CLIENT LIST flag `O`).
    pub monitor: AtomicBool,
    /// A replica of this server (CLIENT LIST flag `S`, CLIENT KILL TYPE replica).
    pub is_replica: AtomicBool,
}

impl ClientInfo {
    pub fn new(id: u64, addr: SocketAddr, laddr: SocketAddr, fd: i64) -> ClientInfo {
        ClientInfo {
            id,
            addr,
            laddr,
            fd,
            created_ns: crate::clock::monotonic_ns(),
            name: Mutex::new(None),
            db: AtomicUsize::new(0),
            last_interaction_ms: AtomicU64::new(0),
            last_cmd: AtomicUsize::new(usize::MAX),
            resp: AtomicU8::new(2),
            qbuf: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
            no_evict: AtomicBool::new(false),
            authenticated: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            dirty_cas: AtomicBool::new(false),
            multi_len: AtomicUsize::new(0),
            in_multi: AtomicBool::new(false),
            outbox: Default::default(),
            subs: Default::default(),
            monitor: AtomicBool::new(false),
            is_replica: AtomicBool::new(false),
        }
    }

    /// Subscribed to anything (Redis's CLIENT_PUBSUB flag).
    pub fn in_pubsub(&self) -> bool {
        self.subs.iter().any(|n| n.load(Ordering::Relaxed) > 0)
    }

    pub fn is_monitor(&self) -> bool {
        self.monitor.load(Ordering::Relaxed)
    }

    /// Queues a frame produced by another connection (or out of band) and
    /// wakes the connection. A client that overcomes its output-buffer limit
    /// (the `pubsub` class once subscribed, else `normal`, as Redis's
    /// `getClientType` picks) is closed.
    pub fn push(&self, frame: &[u8], limits: &super::outbox::ObufLimits) {
        let limit = if self.in_pubsub() {
            &limits.pubsub
        } else {
            &limits.normal
        };
        if self.outbox.push(frame, limit) {
            self.kill();
        }
    }

    /// Asks the connection to close as soon as it can.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::Release);
        self.kill.notify_one();
        // The idle connection loop waits on its outbox only.
        self.outbox.ready.notify_one();
    }

    /// Milliseconds since the connection was accepted.
    pub fn age_ms(&self) -> u64 {
        crate::clock::monotonic_ns().saturating_sub(self.created_ns) / 1_000_000
    }

    /// Records a command: `now_ns` is [`crate::clock::monotonic_ns`].
    pub fn touch(&self, now_ns: u64) {
        self.last_interaction_ms.store(
            now_ns.saturating_sub(self.created_ns) / 1_000_000,
            Ordering::Relaxed,
        );
    }

    pub fn idle_secs(&self) -> u64 {
        self.age_ms()
            .saturating_sub(self.last_interaction_ms.load(Ordering::Relaxed))
            / 1000
    }

    /// One line of CLIENT LIST / CLIENT INFO, in Redis 7.0's field order.
    pub fn list_line(&self, commands: &crate::cmd::CommandTable) -> String {
        let last = self.last_cmd.load(Ordering::Relaxed);
        let cmd = if last == usize::MAX {
            "NULL"
        } else {
            commands.fullname(last)
        };
        let name = self.name.lock().clone().unwrap_or_default();
        // Redis prints one letter per flag, or N when none is set.
        let mut flags = String::new();
        let in_multi = self.in_multi.load(Ordering::Relaxed);
        if self.is_monitor() {
            flags.push('O');
        }
        if self.is_replica.load(Ordering::Relaxed) {
            flags.push('S');
        }
        if self.in_pubsub() {
            flags.push('P');
        }
        if in_multi {
            flags.push('x');
        }
        if self.blocked.load(Ordering::Relaxed) {
            flags.push('b');
        }
        if self.dirty_cas.load(Ordering::Relaxed) {
            flags.push('d');
        }
        if self.no_evict.load(Ordering::Relaxed) {
            flags.push('e');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} \
             qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll={} omem={} tot-mem=0 events=r \
             cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            String::from_utf8_lossy(&name),
            self.age_ms() / 1000,
            self.idle_secs(),
            flags,
            self.db.load(Ordering::Relaxed),
            self.subs[0].load(Ordering::Relaxed),
            self.subs[1].load(Ordering::Relaxed),
            self.subs[2].load(Ordering::Relaxed),
            if in_multi {
                self.multi_len.load(Ordering::Relaxed) as i64
            } else {
                -1
            },
            self.qbuf.load(Ordering::Relaxed),
            self.outbox.frames(),
            self.outbox.pending(),
            cmd,
            self.resp.load(Ordering::Relaxed),
        )
    }
}

/// State owned by one connection.
pub struct ClientState {
    pub info: Arc<ClientInfo>,
    /// Selected logical database.
    pub db: usize,
    pub resp: RespVersion,
    pub authenticated: bool,
    pub reply_mode: ReplyMode,
    /// Close the connection once pending replies are written (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Sequence number of this client's latest committed write.
    pub last_commit: u64,
    /// Keys (logical db, key) the current command made able to serve
    /// blocked clients; the dispatcher serves them after the command.
    pub ready_keys: Vec<(u8, bytes::Bytes)>,
    /// Set by a blocking command that found nothing to take.
    pub block: Option<super::blocking::BlockRequest>,
    /// MULTI's queue, while the client is in a transaction.
    pub multi: Option<Transaction>,
    /// Running its EXEC: blocking commands answer at once.
    pub in_exec: bool,
    /// Set by PSYNC / SYNC: once the reply is out, the connection serves a
    /// replica (`repl::master`).
    pub repl_handoff: Option<crate::repl::master::Handoff>,
    /// What the client said with REPLCONF (listening port, capabilities).
    pub replconf: crate::repl::replicas::ReplConf,
    /// The replication offset after this client's latest write (WAIT).
    pub last_write_offset: u64,
    /// Set by WAIT: the connection waits for replica ACKs before replying.
    pub wait: Option<crate::repl::wait::WaitRequest>,
    /// Keys this client WATCHes: (physical db, key, expired when watched).
    pub watched: Vec<(u8, bytes::Bytes, bool)>,
    /// The replica side's master client: runs the master's stream, obeyed
    /// whatever the replica's own state (read-only, stale data).
    pub master_link: bool,
    /// The master link's stream bytes not yet committed: the current
    /// command's, or a whole MULTI until its EXEC. The unit that runs takes
    /// them and forwards them in place of its own propagated forms.
    pub master_raw: bytes::BytesMut,
    /// A pipeline's run stopped by a busy key, resumed once it is free.
    pub stalled_run: Option<super::pipeline::StalledRun>,
    /// The last run's unit, waiting in the commit queue with its replies
    /// (`pipeline::answer_deferred` writes them once it is committed).
    pub deferred: Option<super::pipeline::DeferredRun>,
    /// A run's lists, kept empty between runs.
    pub run_lists: super::pipeline::RunLists,
}

/// Commands queued between MULTI and EXEC.
#[derive(Default)]
pub struct Transaction {
    pub queued: Vec<Vec<bytes::Bytes>>,
    /// A command failed to queue (unknown, arity...): EXEC aborts.
    pub failed: bool,
}

impl ClientState {
    pub fn new(info: Arc<ClientInfo>, authenticated: bool) -> ClientState {
        info.authenticated.store(authenticated, Ordering::Relaxed);
        ClientState {
            info,
            db: 0,
            resp: RespVersion::Resp2,
            authenticated,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            last_commit: 0,
            ready_keys: Vec::new(),
            block: None,
            multi: None,
            in_exec: false,
            repl_handoff: None,
            replconf: Default::default(),
            last_write_offset: 0,
            wait: None,
            watched: Vec::new(),
            master_link: false,
            master_raw: bytes::BytesMut::new(),
            stalled_run: None,
            deferred: None,
            run_lists: Default::default(),
        }
    }

    pub fn select(&mut self, db: usize) {
        self.db = db;
        self.info.db.store(db, Ordering::Relaxed);
    }

    pub fn set_resp(&mut self, v: RespVersion) {
        self.resp = v;
        self.info.resp.store(
            if v == RespVersion::Resp3 { 3 } else { 2 },
            Ordering::Relaxed,
        );
    }

    pub fn set_authenticated(&mut self, yes: bool) {
        self.authenticated = yes;
        self.info.authenticated.store(yes, Ordering::Relaxed);
    }
}

/// Every connected client, by id.
#[derive(Default)]
pub struct ClientRegistry {
    clients: Mutex<BTreeMap<u64, Arc<ClientInfo>>>,
    next_id: AtomicU64,
}

impl ClientRegistry {
    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }
    pub fn register(&self, info: Arc<ClientInfo>) {
        self.clients.lock().insert(info.id, info);
    }
    pub fn unregister(&self, id: u64) {
        self.clients.lock().remove(&id);
    }
    pub fn get(&self, id: u64) -> Option<Arc<ClientInfo>> {
        self.clients.lock().get(&id).cloned()
    }
    pub fn len(&self) -> usize {
        self.clients.lock().len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// A snapshot of all clients, ordered by id.
    pub fn all(&self) -> Vec<Arc<ClientInfo>> {
        self.clients.lock().values().cloned().collect()
    }
}
