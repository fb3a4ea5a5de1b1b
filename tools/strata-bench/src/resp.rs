//! A tiny blocking RESP2 client for setup work outside the timed runs
//! (preloading collections, redis-benchmark setup commands): encodes
//! commands as arrays of bulk strings and reads complete replies. The timed
//! generator has its own async reply skipper in `loadgen`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One decoded reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// None is the nil bulk string.
    Bulk(Option<Vec<u8>>),
    /// None is the nil array.
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The error text if this is an error reply.
    pub fn error(&self) -> Option<&str> {
        match self {
            Reply::Error(e) => Some(e),
            _ => None,
        }
    }
}

/// Appends `args` as one RESP command (an array of bulk strings).
pub fn encode<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Nesting deeper than this is not something a setup command returns.
const MAX_DEPTH: usize = 16;

/// Reads one complete reply.
pub fn read_reply<R: BufRead>(r: &mut R) -> io::Result<Reply> {
    read_nested(r, 0)
}

fn read_nested<R: BufRead>(r: &mut R, depth: usize) -> io::Result<Reply> {
    if depth > MAX_DEPTH {
        return Err(invalid("reply nested too deeply".into()));
    }
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid(format!(
            "truncated reply line {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    let text = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    let number = || -> io::Result<i64> {
        text.parse::<i64>()
            .map_err(|_| invalid(format!("bad length or integer {text:?}")))
    };
    match line[0] {
        b'+' => Ok(Reply::Simple(text)),
        b'-' => Ok(Reply::Error(text)),
        b':' => Ok(Reply::Integer(number()?)),
        b'$' => {
            let len = number()?;
            if len < 0 {
                return Ok(Reply::Bulk(None));
            }
            let mut data = vec![0u8; len as usize + 2];
            r.read_exact(&mut data)?;
            if !data.ends_with(b"\r\n") {
                return Err(invalid("bulk string without CRLF".into()));
            }
            data.truncate(len as usize);
            Ok(Reply::Bulk(Some(data)))
        }
        b'*' => {
            let n = number()?;
            if n < 0 {
                return Ok(Reply::Array(None));
            }
            let mut items = Vec::with_capacity((n as usize).min(1024));
            for _ in 0..n {
                items.push(read_nested(r, depth + 1)?);
            }
            Ok(Reply::Array(Some(items)))
        }
        other => Err(invalid(format!(
            "unexpected reply type byte {:?}",
            other as char
        ))),
    }
}

/// A blocking connection to 127.0.0.1:port.
pub struct Conn {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn connect(port: u16) -> io::Result<Conn> {
        let writer = TcpStream::connect(("127.0.0.1", port))?;
        writer.set_nodelay(true)?;
        // Loading a thousand members per command is slow on a busy machine,
        // but a server that says nothing for minutes is stuck.
        writer.set_read_timeout(Some(Duration::from_secs(300)))?;
        let reader = BufReader::with_capacity(64 * 1024, writer.try_clone()?);
        Ok(Conn { writer, reader })
    }

    /// Sends already-encoded commands in one write and reads `count` replies.
    pub fn send_encoded(&mut self, encoded: &[u8], count: usize) -> io::Result<Vec<Reply>> {
        self.writer.write_all(encoded)?;
        (0..count).map(|_| read_reply(&mut self.reader)).collect()
    }

    /// Sends one command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> io::Result<Reply> {
        let mut out = Vec::new();
        encode(args, &mut out);
        Ok(self.send_encoded(&out, 1)?.remove(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(mut data: &[u8]) -> io::Result<Vec<Reply>> {
        let mut out = Vec::new();
        while !data.is_empty() {
            out.push(read_reply(&mut data)?);
        }
        Ok(out)
    }

    #[test]
    fn encodes_commands() {
        let mut out = Vec::new();
        encode(&["ZADD", "z", "1.5", ""], &mut out);
        assert_eq!(
            out,
            b"*4\r\n$4\r\nZADD\r\n$1\r\nz\r\n$3\r\n1.5\r\n$0\r\n\r\n"
        );
    }

    #[test]
    fn reads_every_reply_type() {
        let replies = parse_all(
            b"+OK\r\n-ERR bad\r\n:-42\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            replies,
            vec![
                Reply::Simple("OK".into()),
                Reply::Error("ERR bad".into()),
                Reply::Integer(-42),
                Reply::Bulk(Some(b"a\r\n".to_vec())),
                Reply::Bulk(None),
                Reply::Array(None),
                Reply::Array(Some(vec![
                    Reply::Array(Some(vec![Reply::Integer(1)])),
                    Reply::Bulk(Some(Vec::new())),
                ])),
            ]
        );
        assert_eq!(replies[1].error(), Some("ERR bad"));
        assert_eq!(replies[0].error(), None);
    }

    #[test]
    fn rejects_malformed_replies() {
        for bad in [
            &b""[..],
            b"+OK",
            b":x\r\n",
            b"$5\r\nab\r\n",
            b"$2\r\nabcd",
            b"*2\r\n:1\r\n",
            b"!3\r\nabc\r\n",
        ] {
            assert!(
                read_reply(&mut &bad[..]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let deep = "*1\r\n".repeat(MAX_DEPTH + 2) + ":1\r\n";
        assert!(read_reply(&mut deep.as_bytes()).is_err());
    }
}
