//! Feeding a replica the replication stream from an offset: first what the
//! backlog (the engine's log) holds, then every unit as it commits (from
//! memory, see `backlog::Tail`).
//!
//! Nothing is buffered per replica: a replica that reads slowly is simply
//! further back in the backlog. How far back it may fall is
//! `client-output-buffer-limit replica` (hard, or soft for its seconds),
//! measured as bytes committed but not yet written to it.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use super::replicas::ReplicaEntry;
use crate::server::Server;

/// Most bytes read from the backlog per write to the replica.
const FEED_CHUNK: usize = 1 << 20;
/// Scheduling rounds a woken feed lets pass before it writes, unless
/// [`FEED_BATCH`] bytes are waiting sooner.
const FEED_ROUNDS: usize = 8;
/// Bytes waiting that make a woken feed write at once.
const FEED_BATCH: usize = 4 << 10;
/// How often a stalled write checks the replica's lag against its limits.
const LIMIT_CHECK: Duration = Duration::from_millis(100);

/// Writes the stream from offset `from` to `out` until the replica goes
/// away, the server shuts down, `from` leaves the backlog, or the replica
/// (when `entry` tracks one) falls behind its output limits. Returns the
/// next offset it would have sent.
pub async fn feed_replica<W: AsyncWriteExt + Unpin>(
    server: &Server,
    out: &mut W,
    from: u64,
    entry: Option<&ReplicaEntry>,
) -> u64 {
    let ks = &server.ks;
    // Commits wake followers only while there are some.
    ks.stream_followers.fetch_add(1, Ordering::SeqCst);
    let next = follow(server, out, from, entry).await;
    ks.stream_followers.fetch_sub(1, Ordering::AcqRel);
    next
}

async fn follow<W: AsyncWriteExt + Unpin>(
    server: &Server,
    out: &mut W,
    from: u64,
    entry: Option<&ReplicaEntry>,
) -> u64 {
    let ks = &server.ks;
    let mut next = from;
    let mut soft_since: Option<Instant> = None;
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
                // A replica must never hold bytes the master could still
                // lose to a crash of its process: its log records leave the
                // engine's in-process buffer first (as before a client's
                // reply). Otherwise a `kill -9` of the master loses them,
                // its offset goes back, and the replica's later PSYNC lands
                // inside different bytes of the same replication id.
                if ks.wal_pending() {
                    if let Err(e) = ks.flush_wal() {
                        tracing::error!("writing the log failed: {e}");
                        return next;
                    }
                }
                let written = tokio::select! {
                    r = out.write_all(&bytes) => r.is_ok(),
                    _ = over_limits(server, entry, &mut soft_since) => false,
                };
                if !written {
                    return next;
                }
                next += bytes.len() as u64;
                if let Some(e) = entry {
                    e.sent_offset.store(next - 1, Ordering::Relaxed);
                }
                continue;
            }
            Some(_) => {}
        }
        if server.shutting_down.load(Ordering::Acquire) {
            return next;
        }
        // Wake up now and then to notice a shutdown.
        if tokio::time::timeout(Duration::from_secs(1), moved)
            .await
            .is_ok()
        {
            // Woken by a commit: let the other ready connections commit
            // theirs first, for a few scheduling rounds, so one log flush
            // and one socket write carry them all. An idle runtime comes
            // back from a yield at once, so a lone write is not held up;
            // under load, each write to the replica costs its master the
            // replica's receive path too (loopback) and the replica a read:
            // writing once per round, the feed's `sendto` was ~10% of the
            // master's CPU (docs/bench/instructions.md, "Stop 43").
            for _ in 0..FEED_ROUNDS {
                if ks.offset().saturating_sub(next) >= FEED_BATCH as u64 {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Resolves when the replica is further behind than its output limits
/// allow (never when `entry` is `None` or the limits are 0).
async fn over_limits(
    server: &Server,
    entry: Option<&ReplicaEntry>,
    soft_since: &mut Option<Instant>,
) {
    let Some(entry) = entry else {
        return std::future::pending().await;
    };
    loop {
        let limit = server.config.settings().obuf_limits.replica;
        let behind = entry.behind(server.ks.offset());
        if limit.hard > 0 && behind >= limit.hard {
            tracing::warn!(
                "Replica {}:{} is {behind} bytes behind: over the hard output limit, disconnecting",
                entry.ip,
                entry.port
            );
            return;
        }
        if limit.soft > 0 && behind >= limit.soft {
            let since = *soft_since.get_or_insert_with(Instant::now);
            if since.elapsed().as_secs() >= limit.soft_secs {
                tracing::warn!(
                    "Replica {}:{} is {behind} bytes behind for {} s: over the soft output limit, disconnecting",
                    entry.ip,
                    entry.port,
                    limit.soft_secs
                );
                return;
            }
        } else {
            *soft_since = None;
        }
        tokio::time::sleep(LIMIT_CHECK).await;
    }
}
