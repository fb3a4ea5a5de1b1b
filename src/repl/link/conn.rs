//! The replica's connection to its master: buffered reads of lines and raw
//! bytes with timeouts, and commands written as RESP multibulk.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::LinkError;

/// The longest reply line accepted during the handshake.
const MAX_LINE: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

pub struct MasterConn {
    stream: TcpStream,
    /// Bytes read and not consumed yet (a stream may follow an RDB at once).
    pub buf: BytesMut,
}

/// RESP multibulk encoding of a command.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// `REPLCONF ACK <offset>` as a 7.0 replica sends it.
pub fn ack_frame(offset: u64) -> Vec<u8> {
    encode_command(&[b"REPLCONF", b"ACK", offset.to_string().as_bytes()])
}

impl MasterConn {
    pub async fn connect(
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<MasterConn, LinkError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
            .await
            .map_err(|_| LinkError::ConnectTimeout)?
            .map_err(LinkError::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(MasterConn {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
        })
    }

    pub async fn send(&mut self, args: &[&[u8]]) -> Result<(), LinkError> {
        self.send_raw(&encode_command(args)).await
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.stream.write_all(bytes).await.map_err(LinkError::Io)
    }

    /// Reads once more into the buffer; `Err` on a close, an error or no
    /// data within `timeout`.
    pub async fn fill(&mut self, timeout: Duration) -> Result<usize, LinkError> {
        if self.buf.capacity() - self.buf.len() < 1024 {
            self.buf.reserve(READ_CHUNK);
        }
        match tokio::time::timeout(timeout, self.stream.read_buf(&mut self.buf)).await {
            Err(_) => Err(LinkError::ReadTimeout),
            Ok(Ok(0)) => Err(LinkError::Closed),
            Ok(Ok(n)) => Ok(n),
            Ok(Err(e)) => Err(LinkError::Io(e)),
        }
    }

    /// One reply line without its CR LF (an empty line is a keep-alive).
    pub async fn read_line(&mut self, timeout: Duration) -> Result<String, LinkError> {
        loop {
            if let Some(nl) = self.buf.iter().position(|&b| b == b'\n') {
                let line = self.buf.split_to(nl + 1);
                let mut text = &line[..nl];
                if text.last() == Some(&b'\r') {
                    text = &text[..text.len() - 1];
                }
                return Ok(String::from_utf8_lossy(text).into_owned());
            }
            if self.buf.len() > MAX_LINE {
                return Err(LinkError::LineTooLong);
            }
            self.fill(timeout).await?;
        }
    }

    /// One reply line, skipping the newlines a master sends as keep-alives.
    pub async fn read_reply(&mut self, timeout: Duration) -> Result<String, LinkError> {
        loop {
            let line = self.read_line(timeout).await?;
            if !line.is_empty() {
                return Ok(line);
            }
        }
    }
}
