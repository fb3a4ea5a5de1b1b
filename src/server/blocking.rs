//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...) and serving them
//! when a write makes a key ready.
//!
//! A blocking command that finds nothing to take leaves a [`BlockRequest`]
//! on its client; the connection registers it here and waits. A write that
//! adds elements records the key with `Ctx::key_ready`; after that command
//! the dispatcher calls [`BlockingRegistry::serve`], which runs each waiting
//! client's operation in the order the clients blocked, as Redis's
//! `handleClientsBlockedOnKeys` does, until the key has nothing left to give.
//!
//! Registration re-tries the operation under the registry lock, and serving
//! holds the same lock, so a push that commits between a client's first try
//! and its registration is never missed. Lock order: registry, then key
//! locks (taken inside the operations); nothing takes them the other way.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::Server;
use crate::resp::Reply;
use crate::types::WriteContext;

/// What serving a blocked client on one key did.
pub enum ServeOutcome {
    /// Nothing to take (missing, empty or of another type): keep waiting.
    Wait,
    /// Served: the reply, the commit sequence of the write, and keys the
    /// write made ready in turn (BLMOVE's destination).
    Served {
        reply: Reply,
        seq: Option<u64>,
        ready: Vec<(u8, Bytes)>,
    },
    /// The client is unblocked with this error (a WRONGTYPE destination).
    Failed(Reply),
}

/// The operation a blocked client runs on a ready key (logical db, key),
/// inside a write context; it propagates its non-blocking form (LPOP, LMOVE,
/// ZPOPMIN, ...) itself. Waiters are keyed by the database index the client
/// named, as in Redis, so after SWAPDB they wait on whatever that index now
/// holds.
pub type ServeFn = Arc<dyn Fn(&WriteContext<'_>, u8, &Bytes) -> ServeOutcome + Send + Sync>;

/// Runs `serve` for a waiter as a unit of its own: one commit, whose
/// effects are delivered. The caller holds the keyspace gate.
fn run_serve(server: &Server, serve: &ServeFn, db: u8, key: &Bytes) -> ServeOutcome {
    let w = WriteContext::new(&server.ks, crate::types::now_ms());
    let outcome = serve(&w, db, key);
    match w.commit() {
        Ok((committed, effects)) => {
            server.deliver(effects);
            match outcome {
                ServeOutcome::Served { reply, ready, .. } => ServeOutcome::Served {
                    reply,
                    seq: committed.wrote.then_some(committed.seq),
                    ready,
                },
                other => other,
            }
        }
        Err(e) => ServeOutcome::Failed(Reply::from(crate::cmd::CmdError::from(e))),
    }
}

/// Left on `ClientState::block` by a blocking command that has to wait.
pub struct BlockRequest {
    /// (logical db, key), in the order the command named them.
    pub keys: Vec<(u8, Bytes)>,
    /// `None` blocks until served (timeout 0).
    pub deadline: Option<Instant>,
    pub serve: ServeFn,
    /// The reply on timeout (a null array or a null bulk).
    pub timeout_reply: Reply,
}

/// How a blocked client's wait ended.
pub enum Wakeup {
    Served {
        reply: Reply,
        seq: Option<u64>,
    },
    /// Timed out, or CLIENT UNBLOCK ... TIMEOUT.
    Timeout,
    /// An error reply (CLIENT UNBLOCK ... ERROR, a WRONGTYPE destination).
    Error(Reply),
}

/// One blocked client.
pub struct Waiter {
    pub client_id: u64,
    keys: Vec<(u8, Bytes)>,
    serve: ServeFn,
    wakeup: Mutex<Option<Wakeup>>,
    notify: Notify,
}

impl Waiter {
    /// Waits until the client is woken; `None` is never returned once
    /// `notified` completes, so callers may `expect` on the taken outcome.
    pub async fn woken(&self) -> Wakeup {
        loop {
            if let Some(w) = self.wakeup.lock().take() {
                return w;
            }
            self.notify.notified().await;
        }
    }

    /// Takes the outcome if the client was already woken.
    pub fn try_take(&self) -> Option<Wakeup> {
        self.wakeup.lock().take()
    }

    fn wake(&self, w: Wakeup) {
        *self.wakeup.lock() = Some(w);
        self.notify.notify_one();
    }
}

#[derive(Default)]
struct Queues {
    by_key: HashMap<(u8, Bytes), VecDeque<Arc<Waiter>>>,
    by_client: HashMap<u64, Arc<Waiter>>,
}

impl Queues {
    fn remove(&mut self, client_id: u64) -> Option<Arc<Waiter>> {
        let w = self.by_client.remove(&client_id)?;
        for k in &w.keys {
            if let Some(q) = self.by_key.get_mut(k) {
                q.retain(|x| x.client_id != client_id);
                if q.is_empty() {
                    self.by_key.remove(k);
                }
            }
        }
        Some(w)
    }
}

/// Every blocked client, per key in blocking order.
#[derive(Default)]
pub struct BlockingRegistry {
    queues: Mutex<Queues>,
    /// Lets the write path skip the lock when nobody is blocked.
    blocked: AtomicUsize,
}

impl BlockingRegistry {
    /// Number of blocked clients (INFO `blocked_clients`).
    pub fn blocked_clients(&self) -> usize {
        self.blocked.load(Ordering::SeqCst)
    }

    pub fn is_blocked(&self, client_id: u64) -> bool {
        self.blocked_clients() > 0 && self.queues.lock().by_client.contains_key(&client_id)
    }

    /// Blocks `client_id`. The operation is tried once more on each key
    /// under the registry lock first: `Err` carries the outcome when that
    /// try already served (or failed) the client.
    pub fn block(
        &self,
        server: &Server,
        client_id: u64,
        req: &BlockRequest,
    ) -> Result<Arc<Waiter>, Wakeup> {
        let _gate = server.ks.shared_gate();
        let mut q = self.queues.lock();
        // Counted before the retry: a unit that commits a push after the
        // retry read the key then sees a blocked client and takes the
        // registry lock to serve it, which waits until it is queued. Counted
        // after, the unit could find nobody blocked and skip the serve.
        self.blocked.fetch_add(1, Ordering::SeqCst);
        let mut ready = Vec::new();
        let mut outcome = None;
        for (db, key) in &req.keys {
            match run_serve(server, &req.serve, *db, key) {
                ServeOutcome::Wait => continue,
                ServeOutcome::Served {
                    reply,
                    seq,
                    ready: r,
                } => {
                    ready = r;
                    outcome = Some(Wakeup::Served { reply, seq });
                }
                ServeOutcome::Failed(e) => outcome = Some(Wakeup::Error(e)),
            }
            break;
        }
        if let Some(w) = outcome {
            self.blocked.fetch_sub(1, Ordering::SeqCst);
            self.serve_locked(server, &mut q, ready);
            return Err(w);
        }
        let waiter = Arc::new(Waiter {
            client_id,
            keys: req.keys.clone(),
            serve: req.serve.clone(),
            wakeup: Mutex::new(None),
            notify: Notify::new(),
        });
        for k in &req.keys {
            let queue = q.by_key.entry(k.clone()).or_default();
            // A key named twice (BLPOP k k 0) queues the client once.
            if !queue.iter().any(|w| w.client_id == client_id) {
                queue.push_back(waiter.clone());
            }
        }
        q.by_client.insert(client_id, waiter.clone());
        Ok(waiter)
    }

    /// Removes a client that stops waiting (timeout, disconnect, kill).
    /// `false` when it was no longer blocked: it was woken meanwhile and the
    /// caller must take the outcome from the waiter.
    pub fn cancel(&self, client_id: u64) -> bool {
        let removed = self.queues.lock().remove(client_id).is_some();
        if removed {
            self.blocked.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    /// CLIENT UNBLOCK: wakes `client_id` with `wakeup`; whether it was blocked.
    pub fn unblock(&self, client_id: u64, wakeup: Wakeup) -> bool {
        let Some(w) = self.queues.lock().remove(client_id) else {
            return false;
        };
        self.blocked.fetch_sub(1, Ordering::Relaxed);
        w.wake(wakeup);
        true
    }

    /// Serves the clients blocked on `ready` keys, oldest first, for as long
    /// as each key has something to give.
    pub fn serve(&self, server: &Server, ready: Vec<(u8, Bytes)>) {
        if ready.is_empty() || self.blocked_clients() == 0 {
            return;
        }
        let mut q = self.queues.lock();
        self.serve_locked(server, &mut q, ready);
    }

    fn serve_locked(&self, server: &Server, q: &mut Queues, mut ready: Vec<(u8, Bytes)>) {
        // In signalling order; serving may append keys (BLMOVE destinations).
        let mut next = 0;
        while next < ready.len() {
            let key = ready[next].clone();
            next += 1;
            loop {
                let Some(waiter) = q.by_key.get(&key).and_then(|v| v.front()).cloned() else {
                    break;
                };
                let wakeup = match run_serve(server, &waiter.serve, key.0, &key.1) {
                    ServeOutcome::Wait => break,
                    ServeOutcome::Served {
                        reply,
                        seq,
                        ready: more,
                    } => {
                        ready.extend(more);
                        Wakeup::Served { reply, seq }
                    }
                    ServeOutcome::Failed(e) => Wakeup::Error(e),
                };
                q.remove(waiter.client_id);
                self.blocked.fetch_sub(1, Ordering::Relaxed);
                waiter.wake(wakeup);
            }
        }
    }
}
