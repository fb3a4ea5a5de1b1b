//! One client connection: read -> parse every complete request -> execute
//! each -> one write for the whole batch.

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::client::{ClientInfo, ClientState};
use super::{dispatch, Server};
use crate::config::FsyncPolicy;
use crate::resp::{ParseLimits, Reply, RequestParser};

const READ_CHUNK: usize = 16 * 1024;

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
        let idle = if settings.timeout_secs > 0 {
            Duration::from_secs(settings.timeout_secs)
        } else {
            Duration::MAX
        };
        if inbuf.capacity() - inbuf.len() < 1024 {
            inbuf.reserve(READ_CHUNK);
        }
        let n = tokio::select! {
            r = rd.read_buf(&mut inbuf) => match r {
                Ok(0) | Err(_) => break 'conn,
                Ok(n) => n,
            },
            _ = info.kill.notified() => break 'conn,
            _ = tokio::time::sleep(idle) => break 'conn,
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
            // Recomputed per request: an AUTH earlier in the same read lifts
            // the unauthenticated limits for the requests after it, as in Redis.
            let limits = ParseLimits {
                max_bulk_len: settings.proto_max_bulk_len,
                unauthenticated: !client.authenticated,
            };
            match parser.next(&mut inbuf, &limits) {
                Ok(Some(argv)) => {
                    if argv.is_empty() {
                        continue;
                    }
                    dispatch::execute(&server, &mut client, argv, &mut out).await;
                    if client.close_after_reply || info.killed.load(Ordering::Acquire) {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("protocol error from {addr}: {e}");
                    server.stats.record_error(&e.to_string());
                    Reply::Error(e.to_string()).encode(client.resp, &mut out);
                    client.close_after_reply = true;
                    break;
                }
            }
        }
        info.qbuf.store(inbuf.len(), Ordering::Relaxed);
        if !out.is_empty() {
            if settings.appendfsync == FsyncPolicy::Always && client.last_commit > 0 {
                server.syncer.wait_synced(client.last_commit).await;
            }
            server
                .stats
                .net_output_bytes
                .fetch_add(out.len() as u64, Ordering::Relaxed);
            server
                .stats
                .total_writes_processed
                .fetch_add(1, Ordering::Relaxed);
            if wr.write_all(&out).await.is_err() {
                break;
            }
            out.clear();
            if out.capacity() > 1 << 20 {
                // Do not keep a huge reply buffer alive for an idle client.
                out = BytesMut::with_capacity(READ_CHUNK);
            }
        }
        if client.close_after_reply || info.killed.load(Ordering::Acquire) {
            break;
        }
    }
    let _ = wr.shutdown().await;
    server.clients.unregister(info.id);
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
