//! A minimal RESP2 client: enough to send one command at a time to a Strata
//! or sentinel node and read its reply. The operator needs a handful of
//! commands (INFO, ROLE, REPLICAOF, FAILOVER, CONFIG SET, SENTINEL ...), so a
//! few hundred lines of its own beat a full client library's dependencies.
//! Every read is bounded (timeout, bulk size, nesting), since the bytes come
//! from the network.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::error::NodeError;

/// Largest bulk string accepted (INFO is a few KiB).
const MAX_BULK: usize = 16 << 20;
/// Deepest array nesting accepted (ROLE and SENTINEL replies are shallow).
const MAX_DEPTH: usize = 8;

/// A RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
}

impl Reply {
    /// The reply as text (simple or bulk string).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Reply::Simple(s) => Some(s.clone()),
            Reply::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }
}

/// One connection to a node.
pub struct Conn {
    addr: String,
    stream: BufReader<TcpStream>,
    timeout: Duration,
}

impl Conn {
    /// Connects to `host:port` and authenticates when a password is given.
    pub async fn open(
        host: &str,
        port: u16,
        password: Option<&str>,
        timeout: Duration,
    ) -> Result<Conn, NodeError> {
        let addr = format!("{host}:{port}");
        let millis = timeout.as_millis() as u64;
        let stream = match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
            Err(_) => return Err(NodeError::Timeout { addr, millis }),
            Ok(Err(source)) => return Err(NodeError::Connect { addr, source }),
            Ok(Ok(s)) => s,
        };
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            addr,
            stream: BufReader::new(stream),
            timeout,
        };
        if let Some(pw) = password.filter(|p| !p.is_empty()) {
            conn.ok(&["AUTH", pw]).await?;
        }
        Ok(conn)
    }

    /// The `host:port` this connection goes to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends one command and returns its reply (an error reply is a value).
    pub async fn call(&mut self, args: &[&str]) -> Result<Reply, NodeError> {
        let millis = self.timeout.as_millis() as u64;
        match tokio::time::timeout(self.timeout, self.round_trip(args)).await {
            Ok(r) => r,
            Err(_) => Err(NodeError::Timeout {
                addr: self.addr.clone(),
                millis,
            }),
        }
    }

    /// Sends a command whose error reply is a failure.
    pub async fn ok(&mut self, args: &[&str]) -> Result<Reply, NodeError> {
        match self.call(args).await? {
            Reply::Error(message) => Err(NodeError::Command {
                addr: self.addr.clone(),
                command: args.first().copied().unwrap_or("").to_string(),
                message,
            }),
            r => Ok(r),
        }
    }

    async fn round_trip(&mut self, args: &[&str]) -> Result<Reply, NodeError> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let addr = self.addr.clone();
        let io = |source| NodeError::Io {
            addr: addr.clone(),
            source,
        };
        self.stream.get_mut().write_all(&out).await.map_err(io)?;
        self.read_reply(0).await
    }

    fn protocol(&self, what: impl Into<String>) -> NodeError {
        NodeError::Protocol {
            addr: self.addr.clone(),
            what: what.into(),
        }
    }

    async fn read_line(&mut self) -> Result<String, NodeError> {
        let mut line = Vec::new();
        let n = (&mut self.stream)
            .take(64 * 1024)
            .read_until(b'\n', &mut line)
            .await
            .map_err(|source| NodeError::Io {
                addr: self.addr.clone(),
                source,
            })?;
        if n == 0 {
            return Err(self.protocol("connection closed"));
        }
        if !line.ends_with(b"\r\n") {
            return Err(self.protocol("line without CRLF or too long"));
        }
        line.truncate(line.len() - 2);
        String::from_utf8(line).map_err(|_| self.protocol("line is not UTF-8"))
    }

    fn read_reply(
        &mut self,
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Reply, NodeError>> + Send + '_>>
    {
        Box::pin(async move {
            if depth > MAX_DEPTH {
                return Err(self.protocol("nested too deep"));
            }
            let line = self.read_line().await?;
            let (kind, rest) = match line.as_bytes().first() {
                Some(k) => (*k, &line[1..]),
                None => return Err(self.protocol("empty line")),
            };
            match kind {
                b'+' => Ok(Reply::Simple(rest.to_string())),
                b'-' => Ok(Reply::Error(rest.to_string())),
                b':' => rest
                    .parse()
                    .map(Reply::Integer)
                    .map_err(|_| self.protocol(format!("bad integer {rest:?}"))),
                b'$' => {
                    let len: i64 = rest
                        .parse()
                        .map_err(|_| self.protocol(format!("bad bulk length {rest:?}")))?;
                    if len < 0 {
                        return Ok(Reply::Nil);
                    }
                    let len = len as usize;
                    if len > MAX_BULK {
                        return Err(self.protocol(format!("bulk of {len} bytes")));
                    }
                    let mut buf = vec![0; len + 2];
                    self.stream
                        .read_exact(&mut buf)
                        .await
                        .map_err(|source| NodeError::Io {
                            addr: self.addr.clone(),
                            source,
                        })?;
                    if !buf.ends_with(b"\r\n") {
                        return Err(self.protocol("bulk without CRLF"));
                    }
                    buf.truncate(len);
                    Ok(Reply::Bulk(buf))
                }
                b'*' => {
                    let n: i64 = rest
                        .parse()
                        .map_err(|_| self.protocol(format!("bad array length {rest:?}")))?;
                    if n < 0 {
                        return Ok(Reply::Nil);
                    }
                    if n > 1 << 20 {
                        return Err(self.protocol(format!("array of {n} items")));
                    }
                    let mut items = Vec::with_capacity(n.min(64) as usize);
                    for _ in 0..n {
                        items.push(self.read_reply(depth + 1).await?);
                    }
                    Ok(Reply::Array(items))
                }
                other => Err(self.protocol(format!("unknown reply type {:?}", other as char))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A one-shot server that answers the first request with `reply`.
    async fn serve(reply: &'static [u8]) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply).await;
                let mut rest = [0u8; 16];
                let _ = s.read(&mut rest).await;
            }
        });
        port
    }

    async fn one(reply: &'static [u8]) -> Result<Reply, NodeError> {
        let port = serve(reply).await;
        let mut c = Conn::open("127.0.0.1", port, None, Duration::from_secs(2)).await?;
        c.call(&["PING"]).await
    }

    #[tokio::test]
    async fn parses_every_reply_type() {
        assert_eq!(one(b"+OK\r\n").await.ok(), Some(Reply::Simple("OK".into())));
        assert_eq!(
            one(b"-ERR no\r\n").await.ok(),
            Some(Reply::Error("ERR no".into()))
        );
        assert_eq!(one(b":-7\r\n").await.ok(), Some(Reply::Integer(-7)));
        assert_eq!(one(b"$-1\r\n").await.ok(), Some(Reply::Nil));
        assert_eq!(
            one(b"*2\r\n$3\r\nabc\r\n*1\r\n:1\r\n").await.ok(),
            Some(Reply::Array(vec![
                Reply::Bulk(b"abc".to_vec()),
                Reply::Array(vec![Reply::Integer(1)])
            ]))
        );
    }

    #[tokio::test]
    async fn rejects_malformed_replies_instead_of_panicking() {
        for bad in [
            &b"?what\r\n"[..],
            b":12x\r\n",
            b"$99999999999\r\n",
            b"$3\r\nabcXY",
            b"\r\n",
        ] {
            let bad: &'static [u8] = Box::leak(bad.to_vec().into_boxed_slice());
            assert!(
                one(bad).await.is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_node_is_a_connect_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let r = Conn::open("127.0.0.1", port, None, Duration::from_secs(2)).await;
        assert!(matches!(r, Err(NodeError::Connect { .. })));
    }
}
