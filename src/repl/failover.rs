//! FAILOVER: Redis 7.0's coordinated failover, started on the master.
//!
//! The master pauses writes (a pause of its own, which CLIENT UNPAUSE does
//! not lift), waits until a replica — the one named by `TO host port`, or
//! any — has acknowledged the whole stream, then becomes a replica of it,
//! asking with `PSYNC <replid> <offset> FAILOVER`. The target promotes
//! itself on that request and answers `+CONTINUE <newid>`; the old master
//! then follows it partially, its offset unchanged. A timeout aborts the
//! wait (or, with FORCE, fails over anyway); a target that refuses the
//! PSYNC, or FAILOVER ABORT, makes the server a master again.
//!
//! The states are Redis's (`master_failover_state` in INFO): each is a
//! variant carrying what it needs, and only [`drive`] moves between them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::link::Target;
use super::replicas::ReplicaState;
use crate::server::Server;

/// How often the waiting master looks at its replicas' acknowledgements
/// (replicas ACK every second on their own).
const POLL: Duration = Duration::from_millis(100);

/// What FAILOVER asked for.
#[derive(Debug, Clone)]
pub struct FailoverRequest {
    /// `TO host port`; `None` = the first replica that catches up.
    pub target: Option<Target>,
    pub deadline: Option<Instant>,
    /// Fail over when the deadline passes even if the target is behind.
    pub force: bool,
}

#[derive(Debug, Clone, Default)]
enum State {
    #[default]
    NoFailover,
    /// Writes are paused; waiting for the target to acknowledge the stream.
    WaitingForSync(FailoverRequest),
    /// Following the target, with `PSYNC ... FAILOVER` in the handshake.
    InProgress(Target),
}

/// Where a failover stands.
#[derive(Default)]
pub struct Failover {
    state: Mutex<State>,
    changed: Notify,
}

impl Failover {
    /// INFO's `master_failover_state`.
    pub fn state_name(&self) -> &'static str {
        match *self.state.lock() {
            State::NoFailover => "no-failover",
            State::WaitingForSync(_) => "waiting-for-sync",
            State::InProgress(_) => "failover-in-progress",
        }
    }

    pub fn is_active(&self) -> bool {
        !matches!(*self.state.lock(), State::NoFailover)
    }

    /// The replica link asks this to add `FAILOVER` to its PSYNC.
    pub fn in_progress(&self) -> bool {
        matches!(*self.state.lock(), State::InProgress(_))
    }

    fn target_name(&self) -> String {
        match &*self.state.lock() {
            State::WaitingForSync(FailoverRequest {
                target: Some(t), ..
            })
            | State::InProgress(t) => format!("{}:{}", t.host, t.port),
            _ => "any replica".to_string(),
        }
    }

    fn set(&self, s: State) {
        *self.state.lock() = s;
        self.changed.notify_waiters();
    }
}

/// FAILOVER accepted: pause writes and start waiting for the target.
pub fn start(server: &Server, req: FailoverRequest) {
    match &req.target {
        Some(t) => tracing::info!("FAILOVER requested to {}:{}.", t.host, t.port),
        None => tracing::info!("FAILOVER requested to any replica."),
    }
    server.failover.set(State::WaitingForSync(req));
    server.pause.set_failover(true);
    server.sync_write_pause();
    if let Some(server) = server.replica_link.server() {
        tokio::spawn(drive(server));
    }
}

/// Ends the failover, successfully or not: writes resume (on a replica they
/// are then refused as READONLY).
fn clear(server: &Server) {
    server.failover.set(State::NoFailover);
    server.pause.set_failover(false);
    server.sync_write_pause();
}

/// Redis's abortFailover: a server already following the target becomes a
/// master again.
pub fn abort(server: &Server, reason: &str) {
    let state = server.failover.state.lock().clone();
    match state {
        State::NoFailover => return,
        State::InProgress(_) => {
            server.replica_link.unfollow();
        }
        State::WaitingForSync(_) => {}
    }
    tracing::info!(
        "FAILOVER to {} aborted: {reason}",
        server.failover.target_name()
    );
    clear(server);
}

/// The replica link's PSYNC during the failover was answered: accepted
/// (`+CONTINUE` or `+FULLRESYNC`) ends the failover, anything else aborts it.
pub fn psync_answered(server: &Server, accepted: bool) {
    if !server.failover.in_progress() {
        return;
    }
    if accepted {
        tracing::info!("FAILOVER to {} succeeded.", server.failover.target_name());
        clear(server);
    } else if let Some(server) = server.replica_link.server() {
        // Not from inside the link's task: aborting unfollows, which stops
        // that task.
        tokio::spawn(async move { abort(&server, "Failover target rejected psync request") });
    }
}

/// Moves a failover from waiting to in progress when its target has caught
/// up (or the deadline passed), as Redis's updateFailoverStatus.
async fn drive(server: Arc<Server>) {
    // A write that passed the pause before it began may still be committing:
    // a target counts as synced only at an offset seen twice in a row.
    let mut last_offset = None;
    loop {
        let state = server.failover.state.lock().clone();
        let State::WaitingForSync(req) = state else {
            return;
        };
        if req.deadline.is_some_and(|d| d <= Instant::now()) {
            match (&req.target, req.force) {
                (Some(t), true) => {
                    tracing::info!(
                        "FAILOVER to {}:{} time out exceeded, failing over.",
                        t.host,
                        t.port
                    );
                    follow_target(&server, t.clone());
                }
                _ => abort(&server, "Replica never caught up before timeout"),
            }
            return;
        }
        let offset = server.ks.offset();
        let stable = last_offset.replace(offset) == Some(offset);
        if let Some(t) = synced_target(&server, req.target.as_ref(), offset).filter(|_| stable) {
            tracing::info!(
                "Failover target {}:{} is synced, failing over.",
                t.host,
                t.port
            );
            follow_target(&server, t);
            return;
        }
        let changed = server.failover.changed.notified();
        let _ = tokio::time::timeout(POLL, changed).await;
    }
}

/// The target (or, without one, the first replica) whose acknowledged
/// offset is the master's.
fn synced_target(server: &Server, wanted: Option<&Target>, offset: u64) -> Option<Target> {
    server
        .replicas
        .all()
        .into_iter()
        .filter(|r| r.state() == ReplicaState::Online)
        .filter(|r| match wanted {
            Some(t) => r.ip.eq_ignore_ascii_case(&t.host) && r.port == t.port,
            None => true,
        })
        .find(|r| r.ack_offset.load(std::sync::atomic::Ordering::Acquire) == offset)
        .map(|r| Target {
            host: r.ip.clone(),
            port: r.port,
        })
}

fn follow_target(server: &Server, target: Target) {
    server.failover.set(State::InProgress(target.clone()));
    if let Err(e) = server.replica_link.follow(target) {
        abort(server, &format!("can't follow the target: {e}"));
    }
}
