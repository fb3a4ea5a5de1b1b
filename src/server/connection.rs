//! One client connection: read -> parse every complete request -> execute
//! each -> one write for the whole batch. While it waits for input the task
//! also sends what other connections queued for it (pub/sub messages,
//! MONITOR lines; see `server::outbox`): it is the socket's only writer.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::blocking::{BlockRequest, Wakeup};
use super::client::{ClientInfo, ClientState};
use super::pipeline::Next;
use super::{dispatch, Server};
use crate::config::{FsyncPolicy, Settings};
use crate::resp::{Reply, RequestParser};

const READ_CHUNK: usize = 16 * 1024;

/// What ended a connection's wait for input.
enum Woken {
    /// The socket's read.
    Input(std::io::Result<usize>),
    /// Other connections queued output for it, or it was killed.
    Outbox,
    /// The idle `timeout` passed.
    Idle,
}

/// Sent to non-loopback clients while `protected-mode` is on and no password
/// is set; the first sentence is Redis's, so tools recognise it.
const PROTECTED_MODE_DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled \
and no password is set for the default user. In this mode connections are only accepted from the loopback \
interface. To accept other hosts, set a password (requirepass), or bind explicitly and run \
'CONFIG SET protected-mode no' from the loopback interface, or start the server with '--protected-mode no'.\r\n";

/// Redis's protected mode: without a password, only loopback clients may connect.
fn denied_by_protected_mode(protected: bool, has_password: bool, peer: &SocketAddr) -> bool {
    protected && !has_password && !peer.ip().is_loopback()
}

pub async fn handle(server: Arc<Server>, stream: TcpStream, addr: SocketAddr) {
    let settings = server.config.settings();
    let laddr = stream.local_addr().unwrap_or(addr);
    let fd = stream.as_raw_fd() as i64;
    let _ = stream.set_nodelay(true);
    if settings.tcp_keepalive_secs > 0 {
        let sock = socket2_keepalive(&stream, settings.tcp_keepalive_secs);
        if let Err(e) = sock {
            tracing::debug!("tcp keepalive: {e}");
        }
    }
    let (mut rd, mut wr) = stream.into_split();
    if denied_by_protected_mode(
        server.config.get("protected-mode").as_deref() == Some("yes"),
        settings.requirepass.is_some(),
        &addr,
    ) {
        let _ = wr.write_all(PROTECTED_MODE_DENIED).await;
        return;
    }
    if server.clients.len() >= settings.maxclients {
        server
            .stats
            .rejected_connections
            .fetch_add(1, Ordering::Relaxed);
        let _ = wr
            .write_all(b"-ERR max number of clients reached\r\n")
            .await;
        return;
    }
    let info = Arc::new(ClientInfo::new(server.clients.next_id(), addr, laddr, fd));
    server.clients.register(info.clone());
    let mut client = ClientState::new(info.clone(), settings.requirepass.is_none());
    drop(settings);

    let mut inbuf = BytesMut::with_capacity(READ_CHUNK);
    let mut out = BytesMut::with_capacity(READ_CHUNK);
    let mut parser = RequestParser::new();

    'conn: loop {
        let settings = server.config.settings();
        // Redis never times out subscribers and monitors (they only listen).
        // Without a timeout no timer is armed: a request would pay for
        // registering and cancelling it.
        let idle_deadline = (settings.timeout_secs > 0 && !info.in_pubsub() && !info.is_monitor())
            .then(|| tokio::time::Instant::now() + Duration::from_secs(settings.timeout_secs));
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
        // The socket first: a request that woke the task is read without
        // arming the other branches. A kill also wakes `outbox.ready`
        // (`ClientInfo::kill`), so one notification covers both.
        let woken = match idle_deadline {
            None => tokio::select! {
                biased;
                r = rd.read_buf(&mut inbuf) => Woken::Input(r),
                _ = info.outbox.ready.notified() => Woken::Outbox,
            },
            Some(deadline) => tokio::select! {
                biased;
                r = rd.read_buf(&mut inbuf) => Woken::Input(r),
                _ = info.outbox.ready.notified() => Woken::Outbox,
                // Boxed: a `Sleep` inline would make every request's wait,
                // timeout or not, a hundred bytes larger.
                _ = Box::pin(tokio::time::sleep_until(deadline)) => Woken::Idle,
            },
        };
        let n = match woken {
            Woken::Input(Ok(0) | Err(_)) | Woken::Idle => break 'conn,
            Woken::Input(Ok(n)) => n,
            Woken::Outbox => {
                if info.killed.load(Ordering::Acquire) {
                    break 'conn;
                }
                // Messages or MONITOR lines queued by other connections.
                info.outbox.drain_into(&mut out);
                if !out.is_empty() && !flush(&server, &info, &mut wr, &mut out, &settings).await {
                    break 'conn;
                }
                continue 'conn;
            }
        };
        if info.killed.load(Ordering::Acquire) {
            break;
        }
        server
            .stats
            .net_input_bytes
            .fetch_add(n as u64, Ordering::Relaxed);
        server
            .stats
            .total_reads_processed
            .fetch_add(1, Ordering::Relaxed);
        if inbuf.len() > settings.client_query_buffer_limit {
            tracing::warn!(
                "Closing client that reached max query buffer length: id={} addr={} qbuf={}",
                info.id,
                addr,
                inbuf.len()
            );
            break;
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        loop {
            let argv = match super::pipeline::run(
                &server,
                &mut client,
                &mut parser,
                &mut inbuf,
                &mut out,
                &settings,
            ) {
                Next::Request(argv) => argv,
                Next::NeedInput => break,
                Next::More => continue,
                Next::KeyBusy(busy) => {
                    // Another unit holds a key: the worker serves other
                    // connections meanwhile.
                    server.ks.wait_busy(busy).await;
                    continue;
                }
                Next::ProtocolError(e) => {
                    tracing::debug!("protocol error from {addr}: {e}");
                    server.stats.record_error(&e);
                    Reply::Error(e).encode(client.resp, &mut out);
                    client.close_after_reply = true;
                    break;
                }
            };
            if let Some(req) = dispatch::execute(&server, &mut client, argv, &mut out).await {
                // Replies to earlier requests go out before the wait.
                info.outbox.drain_into(&mut out);
                if !out.is_empty() {
                    if !wal_flushed(&server, false).await {
                        break 'conn;
                    }
                    if !flush(&server, &info, &mut wr, &mut out, &settings).await {
                        break 'conn;
                    }
                }
                info.blocked.store(true, Ordering::Relaxed);
                let woken = wait_blocked(
                    &server,
                    &info,
                    &req,
                    (&mut rd, &mut wr),
                    &mut inbuf,
                    &settings,
                )
                .await;
                info.blocked.store(false, Ordering::Relaxed);
                let Some(wakeup) = woken else {
                    break 'conn;
                };
                dispatch::finish_blocked(&server, &mut client, wakeup, req.timeout_reply, &mut out);
            }
            if let Some(req) = client.wait.take() {
                // WAIT: earlier replies go out, then the wait.
                info.outbox.drain_into(&mut out);
                if !out.is_empty() {
                    if !wal_flushed(&server, false).await {
                        break 'conn;
                    }
                    if !flush(&server, &info, &mut wr, &mut out, &settings).await {
                        break 'conn;
                    }
                }
                let n = crate::repl::wait::wait_for_acks(&server, &info, req).await;
                Reply::Integer(n).encode(client.resp, &mut out);
            }
            if client.close_after_reply || info.killed.load(Ordering::Acquire) {
                break;
            }
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        // PSYNC / SYNC accepted: the replica is listed before its reply
        // (`+CONTINUE`) leaves.
        let handoff = client.repl_handoff.take().map(|h| {
            let entry = crate::repl::master::attach(&server, &info, &h, &client.replconf);
            (h, entry)
        });
        // A deferred run's unit: other connections' runs go first, then the
        // first of them back commits every queued unit in one batch.
        let deferred = client.deferred.is_some();
        if deferred {
            tokio::task::yield_now().await;
            super::pipeline::answer_deferred(&server, &mut client, &mut out);
        }
        info.outbox.drain_into(&mut out);
        if !out.is_empty() {
            if !wal_flushed(&server, deferred).await {
                break;
            }
            if settings.appendfsync == FsyncPolicy::Always && client.last_commit > 0 {
                server.syncer.wait_synced(client.last_commit).await;
            }
            let flushed = match flush_now(&server, &info, &wr, &mut out, &settings) {
                Some(ok) => ok,
                None => flush(&server, &info, &mut wr, &mut out, &settings).await,
            };
            if !flushed {
                break;
            }
        }
        if let Some((handoff, entry)) = handoff {
            // This connection now serves a replica.
            let leftover = std::mem::take(&mut inbuf);
            crate::repl::master::serve(
                &server,
                &info,
                &mut rd,
                &mut wr,
                leftover,
                handoff,
                entry,
                &client.replconf,
            )
            .await;
            break;
        }
        if client.close_after_reply || info.killed.load(Ordering::Acquire) {
            break;
        }
    }
    if info.outbox.overflowed() {
        tracing::warn!(
            "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
            info.list_line(&server.commands)
        );
    }
    if info.is_replica.load(Ordering::Acquire) {
        // A replica listed just before its reply failed to leave.
        server.replicas.detach(info.id);
    }
    // A unit still queued holds key locks: commit it (its replies go
    // nowhere).
    super::pipeline::answer_deferred(&server, &mut client, &mut BytesMut::new());
    server.pubsub.remove_client(&info);
    let _ = wr.shutdown().await;
    crate::cmd::tx::reset_transaction(&server, &mut client);
    server.clients.unregister(info.id);
}

/// Writes `out` to the socket and empties it. While the bytes are being
/// written they count as the client's pending output (CLIENT LIST `omem`,
/// output-buffer limits), and a kill (CLIENT KILL, a subscriber overcoming
/// its limit) interrupts the write. `false` when the connection must close.
async fn flush(
    server: &Server,
    info: &ClientInfo,
    wr: &mut OwnedWriteHalf,
    out: &mut BytesMut,
    settings: &Settings,
) -> bool {
    if let Some(ok) = flush_now(server, info, wr, out, settings) {
        return ok;
    }
    // The write first: the kill branch is armed only if it must wait.
    let ok = tokio::select! {
        biased;
        r = wr.write_all(out) => r.is_ok(),
        _ = info.kill.notified() => false,
    };
    written(server, info, out, ok)
}

/// The part of [`flush`] that never waits: its checks, then one
/// non-blocking write. `Some(ok)` when that settled it (all of `out`
/// written, or the connection must close); `None` when the socket took
/// only part of `out`, which then holds the rest for [`flush`] to wait
/// on. The socket usually takes a whole reply at once: a caller that
/// tries this first builds no waiting write (its future, a kill
/// notification, a select) for it.
fn flush_now(
    server: &Server,
    info: &ClientInfo,
    wr: &OwnedWriteHalf,
    out: &mut BytesMut,
    settings: &Settings,
) -> Option<bool> {
    if info.killed.load(Ordering::Acquire) {
        return Some(false);
    }
    info.outbox.set_inflight(out.len());
    // A reply bigger than the client's limit closes it, as Redis checks
    // after every reply it queues.
    let class = if info.in_pubsub() {
        &settings.obuf_limits.pubsub
    } else {
        &settings.obuf_limits.normal
    };
    if info.outbox.over_limit(info.outbox.pending() as u64, class) {
        info.outbox.overflow();
        info.outbox.set_inflight(0);
        return Some(false);
    }
    let ok = match wr.try_write(out) {
        Ok(n) if n == out.len() => true,
        Ok(n) => {
            server
                .stats
                .net_output_bytes
                .fetch_add(n as u64, Ordering::Relaxed);
            out.advance(n);
            return None;
        }
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return None,
        Err(_) => false,
    };
    Some(written(server, info, out, ok))
}

/// Ends a flush: the bytes left in `out` counted as sent, `out` emptied.
fn written(server: &Server, info: &ClientInfo, out: &mut BytesMut, ok: bool) -> bool {
    info.outbox.set_inflight(0);
    server
        .stats
        .net_output_bytes
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    server
        .stats
        .total_writes_processed
        .fetch_add(1, Ordering::Relaxed);
    out.clear();
    if out.capacity() > 1 << 20 {
        // Do not keep a huge reply buffer alive for an idle client.
        *out = BytesMut::with_capacity(READ_CHUNK);
    }
    ok
}

/// Group commit: before replies leave, the writes they acknowledge or show
/// must have reached the OS. The task first yields once, so the other ready
/// connections run their commands and one flush covers them all (Redis gets
/// the same effect from one AOF write per event-loop round). `false` if the
/// flush failed: the connection closes without acknowledging.
async fn wal_flushed(server: &Server, yielded: bool) -> bool {
    if !server.ks.wal_pending() {
        return true;
    }
    if !yielded {
        tokio::task::yield_now().await;
    }
    match server.ks.flush_wal() {
        Ok(()) => true,
        Err(e) => {
            tracing::error!("writing the log failed: {e}");
            false
        }
    }
}

/// Waits for a blocked client to be served, time out or be unblocked.
/// Requests the client pipelines meanwhile are buffered, not run (as in
/// Redis). `None` when the client disconnected or was killed.
async fn wait_blocked(
    server: &Server,
    info: &ClientInfo,
    req: &BlockRequest,
    (rd, wr): (&mut OwnedReadHalf, &mut OwnedWriteHalf),
    inbuf: &mut BytesMut,
    settings: &Settings,
) -> Option<Wakeup> {
    let waiter = match server.blocking.block(server, info.id, req) {
        Ok(w) => w,
        Err(done) => return Some(done),
    };
    let deadline = req.deadline.map(tokio::time::Instant::from_std);
    loop {
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
        tokio::select! {
            w = waiter.woken() => return Some(w),
            _ = sleep_until_opt(deadline) => {
                if server.blocking.cancel(info.id) {
                    return Some(Wakeup::Timeout);
                }
                return Some(waiter.woken().await);
            }
            _ = info.kill.notified() => {
                server.blocking.cancel(info.id);
                return None;
            }
            _ = info.outbox.ready.notified() => {
                // A RESP3 client keeps receiving its messages while blocked.
                let mut pushed = BytesMut::new();
                info.outbox.drain_into(&mut pushed);
                if !pushed.is_empty() && !flush(server, info, wr, &mut pushed, settings).await {
                    server.blocking.cancel(info.id);
                    return None;
                }
            }
            r = rd.read_buf(inbuf) => match r {
                Ok(0) | Err(_) => {
                    server.blocking.cancel(info.id);
                    return None;
                }
                Ok(_) => {}
            },
        }
        if info.killed.load(Ordering::Acquire) {
            server.blocking.cancel(info.id);
            return None;
        }
    }
}

/// A blocked client's deadline, or a wait that never ends without one.
async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn socket2_keepalive(stream: &TcpStream, secs: u64) -> std::io::Result<()> {
    let fd = stream.as_raw_fd();
    let on: libc::c_int = 1;
    let idle: libc::c_int = secs.min(i32::MAX as u64) as libc::c_int;
    let intvl: libc::c_int = (idle / 3).max(1);
    let cnt: libc::c_int = 3;
    // SAFETY: setsockopt on a valid, open socket fd with correctly sized int options.
    unsafe {
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        for (level, opt, val) in [
            (libc::SOL_SOCKET, libc::SO_KEEPALIVE, &on),
            (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, &idle),
            (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, &intvl),
            (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, &cnt),
        ] {
            if libc::setsockopt(fd, level, opt, val as *const _ as *const libc::c_void, sz) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::denied_by_protected_mode;

    #[test]
    fn protected_mode_refuses_only_remote_clients_without_a_password() {
        let remote = "192.0.2.7:5000".parse().expect("addr");
        let local4 = "127.0.0.1:5000".parse().expect("addr");
        let local6 = "[::1]:5000".parse().expect("addr");
        assert!(denied_by_protected_mode(true, false, &remote));
        assert!(!denied_by_protected_mode(true, false, &local4));
        assert!(!denied_by_protected_mode(true, false, &local6));
        assert!(
            !denied_by_protected_mode(true, true, &remote),
            "a password lifts it"
        );
        assert!(
            !denied_by_protected_mode(false, false, &remote),
            "protected-mode no lifts it"
        );
    }
}
