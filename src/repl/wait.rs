//! WAIT: a client waits until enough replicas acknowledged its last write.
//! The connection asks the replicas for an ACK at once (`REPLCONF GETACK *`
//! into the stream, as Redis does before it sleeps) and again every second
//! while the wait lasts.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;

use crate::server::client::ClientInfo;
use crate::server::Server;
use crate::types::backlog::ANY_DB;

/// A WAIT that could not be answered at once.
#[derive(Debug, Clone, Copy)]
pub struct WaitRequest {
    pub replicas: u64,
    /// `None` waits forever (timeout 0).
    pub timeout: Option<Duration>,
    /// The client's last write offset.
    pub offset: u64,
}

fn getack(server: &Server) {
    let argv = vec![
        Bytes::from_static(b"REPLCONF"),
        Bytes::from_static(b"GETACK"),
        Bytes::from_static(b"*"),
    ];
    if let Err(e) = server.ks.propagate_only(&[(ANY_DB, argv)]) {
        tracing::warn!("REPLCONF GETACK could not be propagated: {e}");
    }
}

/// Waits until `req.replicas` replicas acknowledged `req.offset`, the
/// timeout passes or the client is killed; returns how many did.
pub async fn wait_for_acks(server: &Server, info: &ClientInfo, req: WaitRequest) -> i64 {
    let replicas = &server.replicas;
    let deadline = req.timeout.map(|t| tokio::time::Instant::now() + t);
    getack(server);
    let mut asked = tokio::time::Instant::now();
    loop {
        let moved = replicas.ack_moved.notified();
        tokio::pin!(moved);
        moved.as_mut().enable();
        let n = replicas.acked_at_least(req.offset) as u64;
        if n >= req.replicas || info.killed.load(Ordering::Acquire) {
            return n as i64;
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return n as i64;
        }
        let nap = tokio::time::Instant::now() + Duration::from_millis(100);
        let until = deadline.map_or(nap, |d| d.min(nap));
        let _ = tokio::time::timeout_at(until, moved).await;
        if asked.elapsed() >= Duration::from_secs(1) {
            getack(server);
            asked = tokio::time::Instant::now();
        }
    }
}
