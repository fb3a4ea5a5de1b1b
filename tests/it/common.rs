//! Test support: start real `strata-server` and `redis-server` processes on
//! free loopback ports, talk raw RESP to them, and compare their replies.
//!
//! Every process is killed when its handle drops; every read has a timeout,
//! so a hung server fails the test instead of hanging CI.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::reply::{
    bulk_items, canonical, expected_hello, integer_of, mask_hello_id, parse, parse_prefix,
    show_bytes, ttl_agree, Order,
};

/// The server binary under test. `STRATA_SERVER_BIN` overrides the one cargo
/// built, for several work trees sharing one target folder (each copies its
/// own binary aside, so another tree's build cannot swap it mid-run).
pub fn strata_bin() -> String {
    std::env::var("STRATA_SERVER_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_strata-server").to_string())
}
const IO_TIMEOUT: Duration = Duration::from_secs(20);

/// The engine every Strata a test starts runs on: `STRATA_IT_ENGINE`
/// (default `rocksdb`), so the same tests run on each engine
/// (`scripts/test.sh` runs a subset a second time with `pmem`).
pub fn it_engine() -> String {
    std::env::var("STRATA_IT_ENGINE").unwrap_or_else(|_| "rocksdb".into())
}

/// The arguments that select [`it_engine`] when `STRATA_IT_ENGINE` is set
/// (none otherwise: the default engine), with test-sized settings: the
/// pmem tier's file lives in the data directory (`<dir>/db`); 512 MB holds
/// the largest test (a million-member sorted set) and is allocated as
/// unwritten extents, not zeroed. A test's own `--engine` given later
/// overrides them.
pub fn engine_args() -> Vec<String> {
    if std::env::var_os("STRATA_IT_ENGINE").is_none() {
        return Vec::new();
    }
    let engine = it_engine();
    let mut args = vec!["--engine".to_string(), engine.clone()];
    if engine == "pmem" {
        args.extend(["--pmem-size".to_string(), "512mb".to_string()]);
    }
    args
}

/// A free port for a test server. Ports come from 20000-31999, below the
/// kernel's ephemeral range, and are never handed out twice in one test run:
/// a port freed by a server that restarts cannot be taken by another test in
/// between (which `bind(0)` allows).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = (std::process::id() % 60) * 200;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < 12_000, "ran out of test ports");
        let port = 20_000 + ((offset + n) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}
/// Waits until `child` answers on `port`. False when another process
/// answered there and `child` exited (it could not bind: the port was
/// taken between `free_port` and the bind, e.g. by another test's cluster
/// bus at port + 10000); the caller may retry on another port.
#[must_use]
fn wait_for_port(port: u16, child: &mut Child, what: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(stream) = TcpStream::connect(("127.0.0.1", port)) {
            match answering_pid(stream) {
                Answer::Pid(pid) if pid == child.id() => return true,
                // A server that does not say (INFO refused: NOAUTH, say).
                Answer::Refused => {
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!("{what} exited with {status} although port {port} answers");
                    }
                    return true;
                }
                Answer::Pid(_) => {
                    // Another process's listener: ours is still starting,
                    // or it failed to bind and exits.
                    if let Ok(Some(_)) = child.try_wait() {
                        return false;
                    }
                }
                // No answer (closed, timed out, or not a server's reply):
                // not a sign that ours is ready; look again.
                Answer::Nothing => {}
            }
        } else if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} did not listen on {port} within 30 s");
}

/// What a fresh connection answered to `INFO server`.
#[derive(Debug, PartialEq)]
enum Answer {
    /// The `process_id` it reported.
    Pid(u32),
    /// An error reply: a server, which does not say who it is.
    Refused,
    /// No reply: the connection closed or timed out, or the bytes were not
    /// an INFO reply.
    Nothing,
}

fn answering_pid(mut stream: TcpStream) -> Answer {
    let asked = stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .and_then(|()| stream.write_all(b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"));
    if asked.is_err() {
        return Answer::Nothing;
    }
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if reply.ends_with(b"\r\n") {
            if reply.first() == Some(&b'-') {
                return Answer::Refused;
            }
            if reply.windows(11).any(|w| w == b"process_id:") {
                break;
            }
        }
        match stream.read(&mut chunk) {
            Ok(n) if n > 0 => reply.extend_from_slice(&chunk[..n]),
            _ => return Answer::Nothing,
        }
    }
    let text = String::from_utf8_lossy(&reply);
    text.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .map_or(Answer::Nothing, Answer::Pid)
}

/// A running strata-server with its own data directory.
pub struct Strata {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub extra: Vec<String>,
}

impl Strata {
    pub fn start() -> Strata {
        Strata::start_with(&[])
    }

    /// Starts with extra `--directive value` arguments.
    pub fn start_with(extra: &[&str]) -> Strata {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = Strata {
            child: None,
            port: free_port(),
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        for _ in 0..4 {
            if s.try_spawn() {
                return s;
            }
            s.port = free_port();
        }
        panic!("strata-server found every port it tried taken");
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    fn spawn(&mut self) {
        assert!(
            self.try_spawn(),
            "port {} is held by another process",
            self.port
        );
    }

    /// Starts the server; false if it could not bind because another
    /// process holds the port.
    fn try_spawn(&mut self) -> bool {
        let mut cmd = Command::new(strata_bin());
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--rocksdb.block-cache-size")
            .arg("16mb")
            .arg("--rocksdb.write-buffer-size")
            .arg("4mb")
            .args(engine_args())
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("start strata-server");
        let ours = wait_for_port(self.port, &mut child, "strata-server");
        self.child = Some(child);
        ours
    }

    /// `kill -9`, then start again on the same port and directory.
    pub fn kill9_and_restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut c) = self.child.take() else {
            return false;
        };
        // SAFETY: sending a signal to our own child process id.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                return st.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        false
    }

    pub fn restart(&mut self) {
        self.terminate();
        self.spawn();
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .and_then(|c| c.get_connection_with_timeout(IO_TIMEOUT))
            .expect("redis client connection")
    }

    pub fn cli(&self, args: &[&str]) -> String {
        redis_cli(self.port, args)
    }
}

impl Drop for Strata {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A real redis-server 7.0, the behavioural oracle.
pub struct Redis {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Redis {
    pub fn start() -> Redis {
        Redis::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> Redis {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (apt install redis-server)");
        assert!(
            wait_for_port(port, &mut child, "redis-server"),
            "port {port} is held by another process"
        );
        Redis {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// Sends `sig` (SIGSTOP, SIGCONT, ...) to the process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli (apt install redis-tools)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A raw RESP connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    pub resp3: bool,
}

/// RESP multibulk encoding of a command.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        Conn::connect_to(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Connects to any address (a node in a network namespace, say).
    pub fn connect_to(addr: std::net::SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(IO_TIMEOUT)).ok();
        stream.set_nodelay(true).ok();
        Conn {
            stream,
            buf: Vec::new(),
            resp3: false,
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    pub fn send(&mut self, args: &[&[u8]]) {
        self.send_raw(&encode(args));
    }

    /// Reads exactly one reply and returns its raw bytes. Frame boundaries
    /// come from [`parse_prefix`], a byte-exact RESP2/RESP3 framer (error and
    /// status lines may hold any byte but CR LF, which a UTF-8 decoder would
    /// refuse); whenever the independent `redis-protocol` decoder can also
    /// frame the reply, the two must agree on its length.
    pub fn read_reply(&mut self) -> Vec<u8> {
        match self.try_read_reply() {
            Ok(reply) => reply,
            Err(e) => panic!(
                "read reply (timed out?): {e}; got {}",
                show_bytes(&self.buf)
            ),
        }
    }

    /// [`read_reply`](Self::read_reply), with a failed or closed connection
    /// as an error instead of a panic (for polls a server may cut: sentinel's
    /// reconfiguration kills normal clients).
    pub fn try_read_reply(&mut self) -> std::io::Result<Vec<u8>> {
        loop {
            if !self.buf.is_empty() {
                match parse_prefix(&self.buf) {
                    Ok(Some(frame)) => {
                        let n = frame.raw.len();
                        let theirs = if self.resp3 {
                            redis_protocol::resp3::decode::complete::decode(&self.buf)
                                .map(|o| o.map(|(_, n)| n))
                        } else {
                            redis_protocol::resp2::decode::decode(&self.buf)
                                .map(|o| o.map(|(_, n)| n))
                        };
                        if let Ok(theirs) = theirs {
                            assert_eq!(
                                theirs,
                                Some(n),
                                "the two RESP framers disagree on {}",
                                show_bytes(&self.buf)
                            );
                        }
                        return Ok(self.buf.drain(..n).collect());
                    }
                    Ok(None) => {}
                    Err(e) => panic!("undecodable reply {}: {e}", show_bytes(&self.buf)),
                }
            }
            let mut chunk = [0u8; 65536];
            // A signal delivered to the test process (CI saw one in a pmem
            // run) interrupts the read; it is not the server's doing.
            let n = match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r?,
            };
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed while waiting for a reply",
                ));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command given as strings and returns the raw reply.
    pub fn cmd(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send(&args);
        self.read_reply()
    }

    /// Like [`cmd_str`](Self::cmd_str), `None` when the connection failed
    /// or was closed before the reply.
    pub fn try_cmd_str(&mut self, args: &[&str]) -> Option<String> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.stream.write_all(&encode(&args)).ok()?;
        let reply = self.try_read_reply().ok()?;
        Some(String::from_utf8_lossy(&reply).into_owned())
    }

    /// Like [`cmd`](Self::cmd), returning the reply as a lossy string.
    pub fn cmd_str(&mut self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cmd(args)).into_owned()
    }

    /// The socket itself, for tests that read a byte stream rather than replies.
    pub fn raw_stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// True when the server closed the connection (reads 0 bytes within the timeout).
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .ok();
        let mut b = [0u8; 1];
        matches!(self.stream.read(&mut b), Ok(0) | Err(_))
    }
}

/// The same commands against Strata and a real redis-server: replies must
/// match byte for byte (or, where Redis leaves an order unspecified, as
/// multisets of raw elements or pairs, see [`Order`]).
pub struct Diff {
    pub strata: Strata,
    pub redis: Redis,
    pub s: Conn,
    pub r: Conn,
}

impl Default for Diff {
    fn default() -> Self {
        Self::new()
    }
}

/// Panics unless the two replies agree under `order`, showing both replies'
/// exact bytes.
#[track_caller]
pub fn assert_replies_match(args: &[&[u8]], order: Order, strata: &[u8], redis: &[u8]) {
    if canonical(strata, order) != canonical(redis, order) {
        panic!(
            "reply to {} differs ({order:?})\n  Strata: {}\n  Redis:  {}",
            show_args(args),
            show_bytes(strata),
            show_bytes(redis)
        );
    }
}

/// A command's arguments for a failure message, bytes escaped.
pub fn show_args(args: &[&[u8]]) -> String {
    args.iter()
        .map(|a| show_bytes(a))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Diff {
    pub fn new() -> Diff {
        let strata = Strata::start();
        let redis = Redis::start();
        let s = strata.conn();
        let r = redis.conn();
        Diff {
            strata,
            redis,
            s,
            r,
        }
    }

    /// Switches both connections to RESP3 (HELLO 3), checking the HELLO
    /// reply itself (see [`hello`](Self::hello)).
    pub fn resp3(&mut self) {
        self.hello(&["HELLO", "3"]);
    }

    /// Sends a successful HELLO to both servers and checks its reply: both
    /// must be [`expected_hello`] byte for byte once the `id` value is
    /// masked, and each `id` must be that connection's CLIENT ID. Returns
    /// Strata's id.
    #[track_caller]
    pub fn hello(&mut self, args: &[&str]) -> i64 {
        let proto = match args.get(1) {
            Some(p) => p.parse::<u8>().expect("HELLO protocol version"),
            None if self.s.resp3 => 3,
            None => 2,
        };
        let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        let mut ids = Vec::new();
        for (name, c) in [("Strata", &mut self.s), ("Redis", &mut self.r)] {
            c.send(&bytes);
            c.resp3 = proto == 3;
            let reply = c.read_reply();
            let (masked, id) = mask_hello_id(&reply);
            assert!(
                masked == expected_hello(proto),
                "{name}'s reply to {args:?}: {}\n  expected: {}",
                show_bytes(&reply),
                show_bytes(&expected_hello(proto))
            );
            let client_id = c.cmd(&["CLIENT", "ID"]);
            assert_eq!(
                integer_of(&client_id),
                Some(id),
                "{name}: HELLO id vs CLIENT ID {}",
                show_bytes(&client_id)
            );
            ids.push(id);
        }
        ids[0]
    }

    /// Both replies, raw.
    pub fn both(&mut self, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.both_bin(&args)
    }

    /// Both replies to a binary command, raw.
    pub fn both_bin(&mut self, args: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        self.s.send(args);
        self.r.send(args);
        (self.s.read_reply(), self.r.read_reply())
    }

    /// Asserts the replies agree under `order` and returns Strata's.
    #[track_caller]
    pub fn check_as(&mut self, args: &[&[u8]], order: Order) -> Vec<u8> {
        let (s, r) = self.both_bin(args);
        assert_replies_match(args, order, &s, &r);
        s
    }

    /// Asserts byte-equal replies and returns the reply.
    #[track_caller]
    pub fn check(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.check_as(&args, Order::Exact)
    }

    /// Like [`check`](Self::check) for binary arguments.
    #[track_caller]
    pub fn check_bin(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.check_as(args, Order::Exact)
    }

    /// For replies whose element order Redis leaves unspecified (KEYS,
    /// SMEMBERS, ...): the elements' raw bytes compare as a multiset.
    #[track_caller]
    pub fn check_unordered(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.check_as(&args, Order::Set)
    }

    /// For map-like replies in unspecified order (HGETALL, CONFIG GET,
    /// ZRANDMEMBER WITHSCORES, ...): (field, value) pairs compare as a
    /// multiset, each field kept with its value.
    #[track_caller]
    pub fn check_pairs(&mut self, args: &[&str]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.check_as(&args, Order::Pairs)
    }

    /// For TTL, PTTL, EXPIRETIME and PEXPIRETIME of a deadline set relative
    /// to each server's clock: the answers agree within the tolerance
    /// documented on [`crate::reply::TTL_TOLERANCE_S`]. Returns both answers.
    #[track_caller]
    pub fn check_ttl(&mut self, args: &[&str]) -> (Vec<u8>, Vec<u8>) {
        let (s, r) = self.both(args);
        assert!(
            ttl_agree(args[0].as_bytes(), &s, &r),
            "reply to {args:?} differs beyond the TTL tolerance\n  Strata: {}\n  Redis:  {}",
            show_bytes(&s),
            show_bytes(&r)
        );
        (s, r)
    }

    /// Requires INFO keyspace_hits and keyspace_misses to be equal on both
    /// servers (Redis counts a hit or miss per `lookupKeyRead`).
    #[track_caller]
    pub fn assert_keyspace_stats_match(&mut self) {
        let stats = |c: &mut Conn| {
            let info = c.cmd(&["INFO", "stats"]);
            info.split(|&b| b == b'\n')
                .filter(|l| l.starts_with(b"keyspace_hits") || l.starts_with(b"keyspace_misses"))
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        };
        let (s, r) = (stats(&mut self.s), stats(&mut self.r));
        assert_eq!(s.len(), 2, "INFO stats lacks keyspace_hits/misses");
        assert!(
            s == r,
            "keyspace hits/misses differ\n  Strata: {}\n  Redis:  {}",
            show_bytes(&s.concat()),
            show_bytes(&r.concat())
        );
    }

    /// Runs a script of commands, one per line (split like redis-cli), checking each.
    #[track_caller]
    pub fn script(&mut self, text: &str) {
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let words = split_words(line);
            let args: Vec<&str> = words.iter().map(String::as_str).collect();
            self.check(&args);
        }
    }
}

/// Splits a line into words, honouring "double quotes".
pub fn split_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_q = false;
    let mut had = false;
    for c in line.chars() {
        match c {
            '"' => {
                in_q = !in_q;
                had = true;
            }
            ' ' if !in_q => {
                if had || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                had = false;
            }
            c => cur.push(c),
        }
    }
    if had || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A tiny deterministic PRNG for seeded random command sequences.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

pub fn data_dir_of(s: &Strata) -> PathBuf {
    s.dir.path().to_path_buf()
}

impl Strata {
    /// Starts the server again on the same port and directory after
    /// [`kill9`](Self::kill9) or [`terminate`](Self::terminate), so a test
    /// can check the exit status before restarting.
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }
}

/// A port another server holds is detected as such (by INFO's
/// process_id), not mistaken for the new server's: `Strata::start` then
/// moves to another port instead of failing later with a refused connect.
#[test]
fn a_port_held_by_another_server_is_not_taken_for_ours() {
    let redis = Redis::start();
    let mut s = Strata {
        child: None,
        port: redis.port,
        dir: tempfile::tempdir().expect("tempdir"),
        extra: Vec::new(),
    };
    assert!(!s.try_spawn(), "Redis's listener was taken for Strata's");
    let started = Strata::start();
    assert_ne!(started.port, redis.port);
    let pid = answering_pid(TcpStream::connect(("127.0.0.1", started.port)).unwrap());
    let ours = started.child.as_ref().map(|c| c.id()).expect("running");
    assert_eq!(pid, Answer::Pid(ours));
}
