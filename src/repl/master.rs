//! The master side of a replica's connection once PSYNC or SYNC was
//! accepted: a full resynchronisation (an RDB written from a snapshot, in
//! `$<len>` or `$EOF:` framing) when needed, then the stream through
//! `feed`. The replica's input (REPLCONF ACK, keep-alive newlines) is read
//! concurrently for its whole life.
//!
//! Where Redis forks a child to write the RDB, Strata reads an engine
//! snapshot on a thread of its own: writes never stop, and the snapshot's
//! offset says exactly where the stream resumes. Replicas that need an RDB
//! at about the same time share one (`rdb_jobs`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;

use super::rdb_jobs::Feed;
use super::replicas::{ReplConf, ReplicaEntry, ReplicaState};
use crate::resp::{ParseLimits, RequestParser};
use crate::server::client::ClientInfo;
use crate::server::Server;
use crate::types::backlog::ANY_DB;

/// Chunks of an RDB file read ahead of the socket.
const RDB_CHUNKS: usize = 8;
const RDB_CHUNK_BYTES: usize = 64 * 1024;

/// What PSYNC/SYNC decided for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// `+CONTINUE` was replied: the stream from this offset.
    Continue { from: u64 },
    /// A full resync; `psync` = announce it with `+FULLRESYNC` (SYNC does not).
    Full { psync: bool },
}

#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error("replica connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the RDB failed: {0}")]
    Rdb(String),
    #[error("no ACK from the replica after the RDB")]
    NoAck,
}

/// Lists the replica on this connection (INFO, WAIT, ROLE, the backlog's
/// retention). The connection calls this before `+CONTINUE` leaves, as
/// Redis adds a replica to its list before it answers: whoever reads the
/// reply then finds it listed.
pub fn attach(
    server: &Server,
    info: &ClientInfo,
    handoff: &Handoff,
    conf: &ReplConf,
) -> Arc<ReplicaEntry> {
    info.is_replica.store(true, Ordering::Release);
    let ip = conf
        .ip_address
        .clone()
        .unwrap_or_else(|| info.addr.ip().to_string());
    let state = match handoff {
        Handoff::Continue { .. } => ReplicaState::Online,
        Handoff::Full { .. } => ReplicaState::WaitBgsave,
    };
    let entry = server
        .replicas
        .attach(info.id, ip, conf.listening_port, state);
    tracing::info!(
        "Replica {}:{} asks for synchronization ({:?})",
        entry.ip,
        entry.port,
        handoff
    );
    entry
}

/// Serves the replica on this connection (listed by `attach`) until it
/// goes away, is killed or falls behind its limits.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    server: &Arc<Server>,
    info: &Arc<ClientInfo>,
    rd: &mut OwnedReadHalf,
    wr: &mut OwnedWriteHalf,
    inbuf: BytesMut,
    handoff: Handoff,
    entry: Arc<ReplicaEntry>,
    conf: &ReplConf,
) {
    let outcome = tokio::select! {
        r = send(server, &entry, wr, handoff, conf) => r,
        _ = read_replica(server, &entry, rd, inbuf) => Ok(()),
        _ = info.kill.notified() => Ok(()),
        _ = ack_watchdog(server, &entry) => {
            tracing::warn!("Disconnecting timedout replica (streaming sync): {}:{}", entry.ip, entry.port);
            Ok(())
        }
    };
    if let Err(e) = outcome {
        tracing::warn!("Replica {}:{}: {e}", entry.ip, entry.port);
    }
    tracing::info!("Connection with replica {}:{} lost.", entry.ip, entry.port);
    server.replicas.detach(info.id);
}

/// Returns when an online replica has sent nothing for `repl-timeout`
/// seconds (Redis drops it; it reconnects and resumes partially). Replicas
/// of a PSYNC2 master ACK every second, so silence means a dead link.
async fn ack_watchdog(server: &Server, entry: &ReplicaEntry) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let timeout_ms = server
            .config
            .get("repl-timeout")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(60)
            .max(1)
            * 1000;
        let last = entry.last_ack_ms.load(Ordering::Relaxed);
        if entry.state() == ReplicaState::Online
            && last != 0
            && crate::types::now_ms().saturating_sub(last) > timeout_ms
        {
            return;
        }
    }
}

/// Reads what the replica sends: `REPLCONF ACK <offset>` and keep-alives.
async fn read_replica(
    server: &Server,
    entry: &ReplicaEntry,
    rd: &mut OwnedReadHalf,
    mut inbuf: BytesMut,
) {
    let mut parser = RequestParser::new();
    let limits = ParseLimits {
        max_bulk_len: 1 << 20,
        unauthenticated: false,
    };
    loop {
        loop {
            match parser.next(&mut inbuf, &limits) {
                Ok(Some(argv)) => {
                    entry
                        .last_ack_ms
                        .store(crate::types::now_ms(), Ordering::Relaxed);
                    let is_ack = argv.len() >= 3
                        && argv[0].eq_ignore_ascii_case(b"replconf")
                        && argv[1].eq_ignore_ascii_case(b"ack");
                    if is_ack {
                        if let Some(off) = std::str::from_utf8(&argv[2])
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                        {
                            server.replicas.record_ack(entry, off);
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!("protocol error from replica {}: {e}", entry.ip);
                    return;
                }
            }
        }
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(16 * 1024);
        }
        match rd.read_buf(&mut inbuf).await {
            Ok(0) | Err(_) => return,
            // Any input counts as life, the newlines a loading replica
            // sends included.
            Ok(_) => entry
                .last_ack_ms
                .store(crate::types::now_ms(), Ordering::Relaxed),
        }
    }
}

/// The full sync if any, then the stream.
async fn send(
    server: &Arc<Server>,
    entry: &ReplicaEntry,
    wr: &mut OwnedWriteHalf,
    handoff: Handoff,
    conf: &ReplConf,
) -> Result<(), SyncError> {
    let from = match handoff {
        Handoff::Continue { from } => from,
        Handoff::Full { psync } => full_sync(server, entry, wr, psync, conf).await? + 1,
    };
    entry.set_state(ReplicaState::Online);
    entry.sent_offset.store(from - 1, Ordering::Relaxed);
    super::feed::feed_replica(server, wr, from, Some(entry)).await;
    Ok(())
}

/// Sends the RDB of a snapshot (shared with the replicas that need one at
/// the same time, `rdb_jobs`); returns the offset it reflects.
async fn full_sync(
    server: &Arc<Server>,
    entry: &ReplicaEntry,
    wr: &mut OwnedWriteHalf,
    psync: bool,
    conf: &ReplConf,
) -> Result<u64, SyncError> {
    let diskless =
        conf.capa_eof && server.config.get("repl-diskless-sync").as_deref() != Some("no");
    server
        .replicas
        .counters
        .full
        .fetch_add(1, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let jobs = &server.replicas.rdb_jobs;
    if psync {
        mark_known(server);
    }
    let (offset, bytes) = if diskless {
        let mut feed = jobs.join_diskless(server);
        diskless_sync(entry, wr, psync, &mut feed).await?
    } else {
        let rdb = jobs.join_disk(server);
        if psync {
            let line = format!(
                "+FULLRESYNC {} {}\r\n",
                rdb.position.replid, rdb.position.offset
            );
            wr.write_all(line.as_bytes()).await?;
        }
        let finished = rdb.finished();
        tokio::pin!(finished);
        let written = loop {
            tokio::select! {
                r = &mut finished => break r.map_err(SyncError::Rdb)?,
                // Keep-alives while the file is written.
                _ = tokio::time::sleep(Duration::from_secs(1)) => wr.write_all(b"\n").await?,
            }
        };
        tracing::debug!("RDB file of {written} bytes ready");
        (rdb.position.offset, send_file(entry, wr, &rdb.path).await?)
    };
    tracing::info!(
        "Synchronization with replica {}:{} succeeded ({} bytes of RDB in {} ms)",
        entry.ip,
        entry.port,
        bytes,
        started.elapsed().as_millis()
    );
    if diskless {
        // The replica looks for the mark at the end of what it read, so
        // the stream waits for its first ACK (as Redis does).
        wait_first_ack(server, entry).await?;
    }
    Ok(offset)
}

/// A diskless member: keep-alives until its gathering starts, then the
/// `$EOF:` framed RDB as the writer hands it over.
async fn diskless_sync(
    entry: &ReplicaEntry,
    wr: &mut OwnedWriteHalf,
    psync: bool,
    feed: &mut mpsc::Receiver<Feed>,
) -> Result<(u64, u64), SyncError> {
    let died = || SyncError::Rdb("the writer thread died".into());
    let (position, mark) = loop {
        tokio::select! {
            item = feed.recv() => match item {
                Some(Feed::Start { position, mark }) => break (position, mark),
                _ => return Err(died()),
            },
            // Keep-alives while waiting, as Redis's cron sends them.
            _ = tokio::time::sleep(Duration::from_secs(1)) => wr.write_all(b"\n").await?,
        }
    };
    if psync {
        let line = format!("+FULLRESYNC {} {}\r\n", position.replid, position.offset);
        wr.write_all(line.as_bytes()).await?;
    }
    wr.write_all(format!("$EOF:{mark}\r\n").as_bytes()).await?;
    entry.set_state(ReplicaState::SendBulk);
    loop {
        match feed.recv().await {
            Some(Feed::Chunk(chunk)) => wr.write_all(&chunk).await?,
            Some(Feed::End(Ok(n))) => {
                wr.write_all(mark.as_bytes()).await?;
                return Ok((position.offset, n));
            }
            Some(Feed::End(Err(e))) => return Err(SyncError::Rdb(e)),
            Some(Feed::Start { .. }) | None => return Err(died()),
        }
    }
}

async fn send_file(
    entry: &ReplicaEntry,
    wr: &mut OwnedWriteHalf,
    path: &std::path::Path,
) -> Result<u64, SyncError> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    entry.set_state(ReplicaState::SendBulk);
    wr.write_all(format!("${len}\r\n").as_bytes()).await?;
    // The file is read on a thread of its own, a few chunks ahead.
    let (tx, mut rx) = mpsc::channel::<std::io::Result<Vec<u8>>>(RDB_CHUNKS);
    std::thread::spawn(move || loop {
        let mut chunk = vec![0u8; RDB_CHUNK_BYTES];
        let r = std::io::Read::read(&mut file, &mut chunk).map(|n| {
            chunk.truncate(n);
            chunk
        });
        let end = !matches!(&r, Ok(c) if !c.is_empty());
        if tx.blocking_send(r).is_err() || end {
            return;
        }
    });
    let mut copied = 0u64;
    while let Some(chunk) = rx.recv().await {
        let chunk = chunk?;
        if chunk.is_empty() {
            break;
        }
        wr.write_all(&chunk).await?;
        copied += chunk.len() as u64;
    }
    if copied != len {
        return Err(SyncError::Rdb(format!("sent {copied} of {len} bytes")));
    }
    Ok(len)
}

async fn wait_first_ack(server: &Server, entry: &ReplicaEntry) -> Result<(), SyncError> {
    let timeout: u64 = server
        .config
        .get("repl-timeout")
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let acked = entry.acked.notified();
        tokio::pin!(acked);
        acked.as_mut().enable();
        if entry.acked_once.load(Ordering::Acquire) {
            return Ok(());
        }
        if tokio::time::timeout_at(deadline, acked).await.is_err() {
            return Err(SyncError::NoAck);
        }
    }
}

/// The master's periodic work while replicas are attached: `ping` into the
/// stream every `repl-ping-replica-period` seconds, and the
/// `min-replicas-*` settings refreshed for the write path.
pub async fn cron(server: Arc<Server>) {
    let mut since_ping = 0u64;
    // As Redis's repl_no_slaves_since, counted from the start.
    let mut alone_since = std::time::Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let get = |name: &str, default: u64| {
            server
                .config
                .get(name)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(default)
        };
        let r = &server.replicas;
        r.min_to_write
            .store(get("min-replicas-to-write", 0), Ordering::Relaxed);
        r.min_max_lag
            .store(get("min-replicas-max-lag", 10), Ordering::Relaxed);
        if r.is_empty() && !server.replica_link.is_following() {
            let ttl = get("repl-backlog-ttl", 3600);
            if ttl > 0
                && alone_since.elapsed().as_secs() >= ttl
                && !r.backlog_released.load(Ordering::Relaxed)
            {
                release_backlog(&server, ttl);
            }
        } else {
            alone_since = std::time::Instant::now();
        }
        since_ping += 1;
        let period = get("repl-ping-replica-period", 10).max(1);
        if since_ping >= period {
            since_ping = 0;
            // No pings while writes are paused (CLIENT PAUSE WRITE, a
            // FAILOVER): the offset must stand still.
            let paused =
                server.ks.write_paused_until_ms.load(Ordering::Relaxed) > crate::types::now_ms();
            if !r.is_empty() && !server.replica_link.is_following() && !paused {
                let ping = vec![bytes::Bytes::from_static(b"ping")];
                if let Err(e) = server.ks.propagate_only(&[(ANY_DB, ping)]) {
                    tracing::warn!("replication ping failed: {e}");
                }
            }
        }
    }
}

/// `repl-backlog-ttl` seconds without replicas: a new id, no replid2, an
/// empty backlog (Redis frees its buffer; the log's old records simply stop
/// being offered).
fn release_backlog(server: &Server, ttl: u64) {
    let id = crate::types::backlog::new_replid();
    match server.ks.release_backlog(&id) {
        Ok(()) => {
            server
                .replicas
                .backlog_released
                .store(true, Ordering::Relaxed);
            tracing::info!(
                "Replication backlog freed after {ttl} seconds without connected replicas."
            );
        }
        Err(e) => tracing::warn!("releasing the backlog: {e}"),
    }
}

/// A replica is about to learn this server's id: from now on the id names
/// a stream even at offset 0 (see `Keyspace::mark_position_known`).
fn mark_known(server: &Server) {
    if let Err(e) = server.ks.mark_position_known() {
        tracing::warn!("recording that the replication id is known: {e}");
    }
}
