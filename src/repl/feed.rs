//! Feeding a replica the replication stream from an offset: first what the
//! backlog (the engine's log) holds, then every unit as it commits (from
//! memory, see `backlog::Tail`).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::server::Server;

/// Most bytes read from the backlog per write to the replica.
const FEED_CHUNK: usize = 1 << 20;

/// Writes the stream from offset `from` to `out` until the replica goes
/// away, the server shuts down, or `from` leaves the backlog (the replica
/// was too slow). Returns the next offset it would have sent.
pub async fn feed_replica<W: AsyncWriteExt + Unpin>(
    server: &Server,
    out: &mut W,
    from: u64,
) -> u64 {
    let ks = &server.ks;
    // Commits wake followers only while there are some.
    ks.stream_followers.fetch_add(1, Ordering::SeqCst);
    let next = follow(server, out, from).await;
    ks.stream_followers.fetch_sub(1, Ordering::AcqRel);
    next
}

async fn follow<W: AsyncWriteExt + Unpin>(server: &Server, out: &mut W, from: u64) -> u64 {
    let ks = &server.ks;
    let mut next = from;
    loop {
        let moved = ks.offset_moved.notified();
        tokio::pin!(moved);
        // Register before reading, so a commit between the read and the
        // wait is not missed.
        moved.as_mut().enable();
        match ks.read_backlog(next, FEED_CHUNK) {
            None => {
                tracing::warn!("replica fell out of the backlog at offset {next}");
                return next;
            }
            Some(bytes) if !bytes.is_empty() => {
                if out.write_all(&bytes).await.is_err() {
                    return next;
                }
                next += bytes.len() as u64;
                continue;
            }
            Some(_) => {}
        }
        if server.shutting_down.load(Ordering::Acquire) {
            return next;
        }
        // Wake up now and then to notice a shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(1), moved).await;
    }
}
