//! Observers of what a server does besides replying: [`ReplTap`] attaches as
//! a replica and yields the propagated command stream, [`EventSub`] is a
//! `PSUBSCRIBE` connection yielding keyspace notifications. Both hand out
//! raw byte arrays (never lossy text) in [`Chunk`]s that end at a marker
//! write (`SET __marker__ <n>`), so tests never sleep to "let things settle".
//!
//! Comparison ([`compare_chunks`]) is byte for byte except for absolute
//! expiry times in propagated commands, which two servers compute from their
//! own clocks: those are equal when within ±2000 ms (±2 s for second units).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{encode, Conn};

/// One propagated command or one pub/sub message: its bulk strings.
pub type Frame = Vec<Vec<u8>>;

/// How long a tap may wait for any one thing (attach, marker, expiry).
pub const WAIT: Duration = Duration::from_secs(5);

/// The key every marker write uses; generators never touch it.
pub const MARKER_KEY: &[u8] = b"__marker__";

/// Everything an observer saw up to (and including) a marker.
#[derive(Debug, Default, Clone)]
pub struct Chunk {
    pub frames: Vec<Frame>,
    /// False when the marker did not arrive in time (the frames are then
    /// whatever did arrive, for the failure message).
    pub complete: bool,
    /// Why the chunk is incomplete (timeout, closed, protocol error).
    pub error: Option<String>,
}

/// A raw RESP reader over a socket with a deadline on every read.
pub struct RespReader {
    stream: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug)]
pub enum ReadError {
    Timeout,
    Closed,
    Protocol(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Timeout => write!(f, "timed out"),
            ReadError::Closed => write!(f, "connection closed"),
            ReadError::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

impl RespReader {
    pub fn connect(port: u16) -> RespReader {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect observer");
        stream.set_nodelay(true).ok();
        RespReader {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, args: &[&[u8]]) {
        self.stream
            .write_all(&encode(args))
            .expect("observer write");
    }

    /// Reads more bytes into the buffer, failing at `deadline`.
    fn fill(&mut self, deadline: Instant) -> Result<(), ReadError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Timeout);
        }
        self.stream.set_read_timeout(Some(left)).ok();
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Closed),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Err(ReadError::Timeout)
            }
            Err(_) => Err(ReadError::Closed),
        }
    }

    /// One line without its terminator; a bare `\n` (a replication
    /// keep-alive) is an empty line.
    pub fn read_line(&mut self, deadline: Instant) -> Result<Vec<u8>, ReadError> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            self.fill(deadline)?;
        }
    }

    /// Exactly `n` raw bytes.
    pub fn read_exact(&mut self, n: usize, deadline: Instant) -> Result<Vec<u8>, ReadError> {
        while self.buf.len() < n {
            self.fill(deadline)?;
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads until `mark` has been seen; bytes after it that were already
    /// read stay buffered.
    fn skip_past(&mut self, mark: &[u8], deadline: Instant) -> Result<(), ReadError> {
        loop {
            if let Some(i) = self.buf.windows(mark.len()).position(|w| w == mark) {
                self.buf.drain(..i + mark.len());
                return Ok(());
            }
            // Keep only a tail that could still hold the start of the mark.
            let keep = mark.len().saturating_sub(1).min(self.buf.len());
            let cut = self.buf.len() - keep;
            self.buf.drain(..cut);
            self.fill(deadline)?;
        }
    }

    /// The next RESP array of bulk strings (a command or a pub/sub message).
    /// Nothing is consumed until the whole array has arrived, so a timeout
    /// leaves the reader usable.
    pub fn next_array(&mut self, deadline: Instant) -> Result<Frame, ReadError> {
        loop {
            if let Some((frame, used)) = parse_array(&self.buf)? {
                self.buf.drain(..used);
                return Ok(frame);
            }
            self.fill(deadline)?;
        }
    }
}

/// Parses one `*<n>\r\n($<len>\r\n<bytes>\r\n){n}` from the start of `buf`
/// (`:<int>` elements are kept as their line): `Ok(None)` when incomplete.
fn parse_array(buf: &[u8]) -> Result<Option<(Frame, usize)>, ReadError> {
    fn line(buf: &[u8], at: usize) -> Option<(&[u8], usize)> {
        let rel = buf.get(at..)?.windows(2).position(|w| w == b"\r\n")?;
        Some((&buf[at..at + rel], at + rel + 2))
    }
    fn number(bytes: &[u8], what: &str) -> Result<usize, ReadError> {
        std::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| ReadError::Protocol(format!("bad {what} {}", escape(bytes))))
    }
    let Some((head, mut at)) = line(buf, 0) else {
        return Ok(None);
    };
    if head.first() != Some(&b'*') {
        return Err(ReadError::Protocol(format!(
            "expected an array, got {}",
            escape(&buf[..buf.len().min(80)])
        )));
    }
    let n = number(&head[1..], "array length")?;
    let mut frame = Vec::with_capacity(n);
    for _ in 0..n {
        let Some((h, next)) = line(buf, at) else {
            return Ok(None);
        };
        if h.first() == Some(&b':') {
            // Integers (a subscription count) are kept as their RESP line.
            frame.push(h.to_vec());
            at = next;
            continue;
        }
        if h.first() != Some(&b'$') {
            return Err(ReadError::Protocol(format!(
                "expected a bulk string, got {}",
                escape(h)
            )));
        }
        let len = number(&h[1..], "bulk length")?;
        if buf.len() < next + len + 2 {
            return Ok(None);
        }
        if &buf[next + len..next + len + 2] != b"\r\n" {
            return Err(ReadError::Protocol("bulk string not ended by CRLF".into()));
        }
        frame.push(buf[next..next + len].to_vec());
        at = next + len + 2;
    }
    Ok(Some((frame, at)))
}

/// Bytes as a quoted string the way redis-cli prints them: printable ASCII
/// as is, everything else escaped.
pub fn escape(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// A frame as space-separated escaped strings.
pub fn show(frame: &[Vec<u8>]) -> String {
    frame
        .iter()
        .map(|a| escape(a))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The marker write for step `n`, as its arguments.
pub fn marker_cmd(n: u64) -> Frame {
    vec![
        b"SET".to_vec(),
        MARKER_KEY.to_vec(),
        n.to_string().into_bytes(),
    ]
}

/// A replica connection that yields the propagated commands.
pub struct ReplTap {
    reader: RespReader,
    /// Who this is, for messages ("strata", "redis").
    pub who: String,
    pub replid: String,
    /// The offset the stream starts after.
    pub offset: i64,
    /// How the RDB came (`"$EOF"`, `"$len"`) or `"+CONTINUE"`.
    pub framing: &'static str,
    /// Frames read past a completed wait, belonging to the current chunk.
    pending: Vec<Frame>,
}

/// Replication noise a real master emits on its own clock: cron `PING`s and
/// `REPLCONF GETACK` requests. They carry no data and are left out.
pub fn is_noise(cmd: &[Vec<u8>]) -> bool {
    match cmd.first() {
        Some(name) if name.eq_ignore_ascii_case(b"ping") => true,
        Some(name) if name.eq_ignore_ascii_case(b"replconf") => cmd
            .get(1)
            .is_some_and(|a| a.eq_ignore_ascii_case(b"getack")),
        _ => false,
    }
}

impl ReplTap {
    /// Attaches to a real redis-server as a fresh replica: full resync, the
    /// RDB (either framing) is read and discarded, then the ACK that makes a
    /// diskless master start the stream.
    pub fn attach_redis(port: u16) -> ReplTap {
        let deadline = Instant::now() + WAIT * 3;
        let mut r = RespReader::connect(port);
        r.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
        let ok = r.read_line(deadline).expect("REPLCONF reply");
        assert_eq!(ok, b"+OK", "REPLCONF capa: {}", escape(&ok));
        r.send(&[b"PSYNC", b"?", b"-1"]);
        let mut tap = ReplTap {
            reader: r,
            who: "redis".into(),
            replid: String::new(),
            offset: 0,
            framing: "",
            pending: Vec::new(),
        };
        let line = tap.first_line(deadline);
        tap.full_resync(&line, deadline);
        tap
    }

    /// Attaches to Strata by partial resync from its current offset:
    /// `PSYNC <master_replid> <master_repl_offset + 1>`, expecting
    /// `+CONTINUE <replid>` and then every command committed afterwards.
    /// (A `+FULLRESYNC` answer is accepted too, read like Redis's.)
    pub fn attach_strata(port: u16) -> ReplTap {
        let deadline = Instant::now() + WAIT * 3;
        let mut c = Conn::connect(port);
        let info = c.cmd_str(&["INFO", "replication"]);
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::to_string)
                .unwrap_or_else(|| panic!("Strata INFO replication lacks {name}: {info:?}"))
        };
        let replid = field("master_replid");
        let offset: i64 = field("master_repl_offset")
            .parse()
            .expect("master_repl_offset is an integer");
        drop(c);
        let mut r = RespReader::connect(port);
        // What a real replica sends first; its answer is ignored the way a
        // Redis replica ignores REPLCONF errors.
        r.send(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"]);
        let _ = r.read_line(deadline).expect("Strata REPLCONF reply");
        let next = (offset + 1).to_string();
        r.send(&[b"PSYNC", replid.as_bytes(), next.as_bytes()]);
        let mut tap = ReplTap {
            reader: r,
            who: "strata".into(),
            replid: replid.clone(),
            offset,
            framing: "+CONTINUE",
            pending: Vec::new(),
        };
        let line = tap.first_line(deadline);
        if line.starts_with(b"+CONTINUE") {
            let id = line.get(10..).unwrap_or_default();
            assert!(
                id.is_empty() || id == replid.as_bytes(),
                "Strata answered {} to PSYNC {replid} {next}: a different replid",
                escape(&line)
            );
        } else if line.starts_with(b"+FULLRESYNC") {
            tap.full_resync(&line, deadline);
        } else {
            panic!(
                "Strata refused PSYNC {replid} {next}: {} (the replication stream is not implemented?)",
                escape(&line)
            );
        }
        tap
    }

    /// The PSYNC answer, skipping keep-alive newlines.
    fn first_line(&mut self, deadline: Instant) -> Vec<u8> {
        loop {
            match self.reader.read_line(deadline) {
                Ok(l) if l.is_empty() => continue,
                Ok(l) => return l,
                Err(e) => panic!("{}: no PSYNC answer: {e}", self.who),
            }
        }
    }

    fn full_resync(&mut self, line: &[u8], deadline: Instant) {
        let text = String::from_utf8_lossy(line).into_owned();
        let mut parts = text.split(' ');
        assert_eq!(parts.next(), Some("+FULLRESYNC"), "PSYNC answer {text:?}");
        self.replid = parts.next().unwrap_or_default().to_string();
        self.offset = parts
            .next()
            .and_then(|o| o.parse().ok())
            .unwrap_or_else(|| panic!("offset in {text:?}"));
        assert_eq!(self.replid.len(), 40, "replid in {text:?}");
        let header = loop {
            let l = self.reader.read_line(deadline).expect("RDB header");
            if !l.is_empty() {
                break l;
            }
        };
        if let Some(mark) = header.strip_prefix(b"$EOF:") {
            assert_eq!(mark.len(), 40, "EOF mark in {}", escape(&header));
            self.reader.skip_past(mark, deadline).expect("RDB end mark");
            self.framing = "$EOF";
        } else if let Some(len) = header.strip_prefix(b"$") {
            let len: usize = std::str::from_utf8(len)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("RDB header {}", escape(&header)));
            let rdb = self.reader.read_exact(len, deadline).expect("RDB bytes");
            assert!(
                rdb.starts_with(b"REDIS"),
                "RDB payload does not start with REDIS"
            );
            self.framing = "$len";
        } else {
            panic!("expected the RDB bulk, got {}", escape(&header));
        }
        // A diskless master starts the stream only after the first ACK.
        let off = self.offset.to_string();
        self.reader.send(&[b"REPLCONF", b"ACK", off.as_bytes()]);
    }

    /// The next propagated command that is not noise. While idle the tap
    /// sends `REPLCONF ACK` every 200 ms, as a replica does every second: a
    /// diskless Redis master starts the stream only on an ACK that arrives
    /// after it noticed the RDB child finished, which the first ACK (sent
    /// right after the end mark) may precede.
    pub fn next_command(&mut self, deadline: Instant) -> Result<Frame, ReadError> {
        loop {
            let slice = (Instant::now() + Duration::from_millis(200)).min(deadline);
            match self.reader.next_array(slice) {
                Ok(cmd) if is_noise(&cmd) => {}
                Ok(cmd) => return Ok(cmd),
                Err(ReadError::Timeout) if Instant::now() < deadline => {
                    let off = self.offset.to_string();
                    self.reader.send(&[b"REPLCONF", b"ACK", off.as_bytes()]);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Something that observes a server and can cut its observations at markers.
pub trait Observer {
    fn who(&self) -> &str;
    /// Reads frames until `is_end` matches one (it is included), or timeout.
    fn until(&mut self, is_end: &dyn Fn(&[Vec<u8>]) -> bool, timeout: Duration) -> Chunk;
    /// Reads frames until the marker of step `n` has been seen (markers are
    /// written in db 0 by a control connection).
    fn until_marker(&mut self, n: u64) -> Chunk;
    /// Waits (up to `timeout`) until the server reports that `key` expired,
    /// keeping what it read for the next chunk. False on timeout.
    fn await_expiry(&mut self, key: &[u8], timeout: Duration) -> bool;
}

impl Observer for ReplTap {
    fn who(&self) -> &str {
        &self.who
    }

    fn until(&mut self, is_end: &dyn Fn(&[Vec<u8>]) -> bool, timeout: Duration) -> Chunk {
        let deadline = Instant::now() + timeout;
        let mut frames = std::mem::take(&mut self.pending);
        if frames.last().is_some_and(|f| is_end(f)) {
            return Chunk {
                frames,
                complete: true,
                error: None,
            };
        }
        loop {
            match self.next_command(deadline) {
                Ok(cmd) => {
                    let end = is_end(&cmd);
                    frames.push(cmd);
                    if end {
                        return Chunk {
                            frames,
                            complete: true,
                            error: None,
                        };
                    }
                }
                Err(e) => {
                    return Chunk {
                        frames,
                        complete: false,
                        error: Some(e.to_string()),
                    }
                }
            }
        }
    }

    fn until_marker(&mut self, n: u64) -> Chunk {
        let want = marker_cmd(n);
        self.until(
            &|c: &[Vec<u8>]| {
                c.len() == 3 && c[0].eq_ignore_ascii_case(b"set") && c[1..] == want[1..]
            },
            WAIT,
        )
    }

    fn await_expiry(&mut self, key: &[u8], timeout: Duration) -> bool {
        let chunk = self.until(
            &|c: &[Vec<u8>]| {
                c.len() == 2
                    && (c[0].eq_ignore_ascii_case(b"del") || c[0].eq_ignore_ascii_case(b"unlink"))
                    && c[1] == key
            },
            timeout,
        );
        self.pending = chunk.frames;
        chunk.complete
    }
}

/// Observes nothing: runs a sequence for its replies alone (every chunk is
/// empty and complete; an expiry wait only lets the key's time pass).
pub struct NoObserver;

impl Observer for NoObserver {
    fn who(&self) -> &str {
        "nobody"
    }
    fn until(&mut self, _: &dyn Fn(&[Vec<u8>]) -> bool, _: Duration) -> Chunk {
        Chunk {
            frames: Vec::new(),
            complete: true,
            error: None,
        }
    }
    fn until_marker(&mut self, _n: u64) -> Chunk {
        self.until(&|_| true, WAIT)
    }
    fn await_expiry(&mut self, _key: &[u8], _timeout: Duration) -> bool {
        std::thread::sleep(Duration::from_millis(20));
        true
    }
}

/// A `PSUBSCRIBE __keyspace@*__:* __keyevent@*__:*` connection.
pub struct EventSub {
    reader: RespReader,
    pub who: String,
    /// Whether the server's flags include keyevent (`E`) notifications; the
    /// marker's keyevent message then comes last, else its keyspace one.
    keyevent: bool,
    pending: Vec<Frame>,
}

impl EventSub {
    /// Subscribes; `flags` is the server's `notify-keyspace-events` value.
    pub fn subscribe(port: u16, who: &str, flags: &str) -> EventSub {
        let deadline = Instant::now() + WAIT;
        let mut reader = RespReader::connect(port);
        reader.send(&[b"PSUBSCRIBE", b"__keyspace@*__:*", b"__keyevent@*__:*"]);
        for pattern in [&b"__keyspace@*__:*"[..], b"__keyevent@*__:*"] {
            let confirm = reader
                .next_array(deadline)
                .unwrap_or_else(|e| panic!("{who}: PSUBSCRIBE not confirmed: {e}"));
            assert!(
                confirm.len() == 3 && confirm[0] == b"psubscribe" && confirm[1] == pattern,
                "{who}: PSUBSCRIBE answered {}",
                show(&confirm)
            );
        }
        EventSub {
            reader,
            who: who.to_string(),
            keyevent: flags.contains('E'),
            pending: Vec::new(),
        }
    }
}

/// The (channel, message) of a pmessage frame.
fn channel_message(f: &[Vec<u8>]) -> Option<(&[u8], &[u8])> {
    match f {
        [kind, _pattern, channel, message] if kind == b"pmessage" => {
            Some((channel.as_slice(), message.as_slice()))
        }
        _ => None,
    }
}

impl Observer for EventSub {
    fn who(&self) -> &str {
        &self.who
    }

    fn until(&mut self, is_end: &dyn Fn(&[Vec<u8>]) -> bool, timeout: Duration) -> Chunk {
        let deadline = Instant::now() + timeout;
        let mut frames = std::mem::take(&mut self.pending);
        if frames.last().is_some_and(|f| is_end(f)) {
            return Chunk {
                frames,
                complete: true,
                error: None,
            };
        }
        loop {
            match self.reader.next_array(deadline) {
                Ok(f) => {
                    let end = is_end(&f);
                    frames.push(f);
                    if end {
                        return Chunk {
                            frames,
                            complete: true,
                            error: None,
                        };
                    }
                }
                Err(e) => {
                    return Chunk {
                        frames,
                        complete: false,
                        error: Some(e.to_string()),
                    }
                }
            }
        }
    }

    fn until_marker(&mut self, _n: u64) -> Chunk {
        // Events carry no value, so the marker is the next `set` event on
        // the marker key: everything before it belongs to this step.
        let (chan, msg) = if self.keyevent {
            (b"__keyevent@0__:set".to_vec(), MARKER_KEY.to_vec())
        } else {
            let mut c = b"__keyspace@0__:".to_vec();
            c.extend_from_slice(MARKER_KEY);
            (c, b"set".to_vec())
        };
        self.until(
            &|f: &[Vec<u8>]| channel_message(f) == Some((chan.as_slice(), msg.as_slice())),
            WAIT,
        )
    }

    fn await_expiry(&mut self, key: &[u8], timeout: Duration) -> bool {
        let chunk = self.until(
            &|f: &[Vec<u8>]| match channel_message(f) {
                Some((chan, msg)) => {
                    (chan.ends_with(b"__:expired") && msg == key)
                        || (chan.ends_with(key) && chan.contains(&b'@') && msg == b"expired")
                }
                None => false,
            },
            timeout,
        );
        self.pending = chunk.frames;
        chunk.complete
    }
}

/// The argument positions holding absolute times, with the tolerance for
/// each (2000 for milliseconds, 2 for seconds).
fn time_positions(cmd: &[Vec<u8>]) -> Vec<(usize, u64)> {
    let Some(name) = cmd.first() else {
        return Vec::new();
    };
    let unit = |opt: &[u8]| {
        if opt.eq_ignore_ascii_case(b"pxat") {
            Some(2000)
        } else if opt.eq_ignore_ascii_case(b"exat") {
            Some(2)
        } else {
            None
        }
    };
    let lower = name.to_ascii_lowercase();
    match lower.as_slice() {
        b"pexpireat" => vec![(2, 2000)],
        // RESTORE key ms payload ... ABSTTL: the deadline Redis rewrites to.
        b"restore"
            if cmd.len() > 4 && cmd[4..].iter().any(|a| a.eq_ignore_ascii_case(b"absttl")) =>
        {
            vec![(2, 2000)]
        }
        b"expireat" => vec![(2, 2)],
        b"set" | b"getex" => {
            let first_opt = if lower == b"set" { 3 } else { 2 };
            (first_opt..cmd.len())
                .filter_map(|i| unit(&cmd[i]).map(|tol| (i + 1, tol)))
                .filter(|(i, _)| *i < cmd.len())
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Propagated commands are equal when byte-equal, except that absolute
/// expiry times may differ by the tolerance of their unit.
pub fn same_command(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let times = time_positions(a);
    a.iter().zip(b).enumerate().all(|(i, (x, y))| {
        if x == y {
            return true;
        }
        let Some(&(_, tol)) = times.iter().find(|(p, _)| *p == i) else {
            return false;
        };
        let num = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<i64>().ok();
        matches!((num(x), num(y)), (Some(p), Some(q)) if p.abs_diff(q) <= tol)
    })
}

/// How two frames are compared: [`same_command`] or [`same_frame`].
pub type SameFn = fn(&[Vec<u8>], &[Vec<u8>]) -> bool;

/// Pub/sub messages are compared exactly.
pub fn same_frame(a: &[Vec<u8>], b: &[Vec<u8>]) -> bool {
    a == b
}

/// `Ok` when both chunks are complete and equal under `same`; otherwise a
/// message naming the first differing frame with both byte strings escaped,
/// followed by both chunks in full.
pub fn compare_chunks(
    left_name: &str,
    left: &Chunk,
    right_name: &str,
    right: &Chunk,
    same: SameFn,
) -> Result<(), String> {
    let first_diff = left
        .frames
        .iter()
        .zip(&right.frames)
        .position(|(l, r)| !same(l, r));
    let equal = first_diff.is_none() && left.frames.len() == right.frames.len();
    if equal && left.complete && right.complete {
        return Ok(());
    }
    let mut msg = String::new();
    let i = first_diff.unwrap_or(left.frames.len().min(right.frames.len()));
    let at = |c: &Chunk, i: usize| c.frames.get(i).map_or("<nothing>".into(), |f| show(f));
    if !equal {
        msg.push_str(&format!(
            "first difference at frame #{i}:\n    {left_name:>6}: {}\n    {right_name:>6}: {}\n",
            at(left, i),
            at(right, i)
        ));
    }
    for (name, c) in [(left_name, left), (right_name, right)] {
        if !c.complete {
            msg.push_str(&format!(
                "  {name} never reached the marker ({})\n",
                c.error.as_deref().unwrap_or("?")
            ));
        }
    }
    for (name, c) in [(left_name, left), (right_name, right)] {
        msg.push_str(&format!("  {name} saw {} frame(s):\n", c.frames.len()));
        for f in &c.frames {
            msg.push_str(&format!("      {}\n", show(f)));
        }
    }
    Err(msg)
}

#[test]
fn time_tolerance_applies_only_to_absolute_times() {
    let c = |s: &str| -> Frame { s.split(' ').map(|w| w.as_bytes().to_vec()).collect() };
    assert!(same_command(
        &c("SET k v PXAT 1700000000000"),
        &c("SET k v PXAT 1700000001999")
    ));
    assert!(!same_command(
        &c("SET k v PXAT 1700000000000"),
        &c("SET k v PXAT 1700000002001")
    ));
    assert!(same_command(
        &c("PEXPIREAT k 1700000000000"),
        &c("PEXPIREAT k 1700000000500")
    ));
    assert!(same_command(
        &c("EXPIREAT k 1700000000"),
        &c("EXPIREAT k 1700000002")
    ));
    assert!(!same_command(
        &c("EXPIREAT k 1700000000"),
        &c("EXPIREAT k 1700000003")
    ));
    // Not a time: values, counts, and the key itself compare exactly.
    assert!(!same_command(
        &c("SET k 1000 PXAT 5"),
        &c("SET k 1001 PXAT 5")
    ));
    assert!(!same_command(&c("PEXPIREAT 1 5"), &c("PEXPIREAT 2 5")));
    assert!(!same_command(&c("set k v PXAT 5"), &c("SET k v PXAT 5")));
    assert!(!same_command(&c("LPUSH k 1000"), &c("LPUSH k 1001")));
    assert!(same_command(
        &c("GETEX k PXAT 100000"),
        &c("GETEX k PXAT 101000")
    ));
}
