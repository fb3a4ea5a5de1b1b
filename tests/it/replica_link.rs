//! Strata as the replica of a real redis-server 7.0 master: REPLICAOF, the
//! handshake in both RDB framings, the stream applied byte-exactly (offsets
//! equal the master's), GETACK, partial resync after a cut link, READONLY,
//! MASTERDOWN, and the replica directives through CONFIG SET / REWRITE.
//!
//! The master's dataset is empty at sync time (the RDB loader is not wired
//! yet); every write is made after the sync and arrives through the stream.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, strata_bin, Conn, Redis, Strata};
use crate::replica_sync::{info_field, stat, wait_for};

/// A master that starts a diskless sync at once (no 5 s wait for more replicas).
fn start_master(extra: &[&str]) -> Redis {
    let mut args = vec!["--repl-diskless-sync-delay", "0"];
    args.extend_from_slice(extra);
    Redis::start_with(&args)
}

/// Makes `s` follow `m` and waits until both sides see an online link.
fn follow(s: &Strata, m: &Redis) {
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]),
        b"+OK\r\n"
    );
    wait_for("the link to come up", 30, || {
        info_field(&mut c, "replication", "master_link_status").as_deref() == Some("up")
    });
    let mut mc = m.conn();
    wait_for("the master to see an online replica", 30, || {
        info_field(&mut mc, "replication", "slave0").is_some_and(|v| v.contains("state=online"))
    });
}

/// Waits until Strata has applied everything the master produced.
fn wait_caught_up(s: &Strata, m: &Redis) -> u64 {
    let (mut c, mut mc) = (s.conn(), m.conn());
    let mut target = 0;
    wait_for("the replica offset to reach the master's", 20, || {
        target = info_field(&mut mc, "replication", "master_repl_offset")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(u64::MAX);
        info_field(&mut c, "replication", "slave_repl_offset").and_then(|v| v.parse::<u64>().ok())
            == Some(target)
    });
    target
}

/// The same read on both servers must give the same bytes.
fn assert_same(s: &mut Conn, m: &mut Conn, args: &[&str]) {
    let (a, b) = (s.cmd(args), m.cmd(args));
    assert_eq!(
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b),
        "{args:?}"
    );
}

#[test]
fn follows_a_redis_master_and_applies_its_writes() {
    let m = start_master(&[]);
    let s = Strata::start();
    follow(&s, &m);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]),
        b"+OK Already connected to specified master\r\n"
    );
    let mut mc = m.conn();
    for cmd in [
        &["SET", "s", "v1"][..],
        &["SET", "bin", "a\r\nb\x00c"],
        &["HSET", "h", "f1", "a", "f2", "b"],
        &["LPUSH", "l", "x", "y", "z"],
        &["INCR", "n"],
        &["INCR", "n"],
        &["SET", "e", "1"],
        &["EXPIRE", "e", "1000"],
        &["SET", "gone", "1"],
        &["DEL", "gone"],
        &["SET", "px", "v", "PX", "500000"],
    ] {
        assert!(!mc.cmd(cmd).starts_with(b"-"), "{cmd:?}");
    }
    assert_eq!(mc.cmd(&["MULTI"]), b"+OK\r\n");
    mc.cmd(&["SET", "t1", "a"]);
    mc.cmd(&["INCRBY", "n", "40"]);
    assert_eq!(
        mc.cmd(&["EXEC"]),
        b"*2\r\n+OK\r\n:42\r\n",
        "the transaction on the master"
    );
    mc.cmd(&["SELECT", "3"]);
    mc.cmd(&["SET", "in3", "three"]);
    mc.cmd(&["SELECT", "0"]);
    let offset = wait_caught_up(&s, &m);
    assert!(offset > 0);

    for read in [
        &["GET", "s"][..],
        &["GET", "bin"],
        &["HGETALL", "h"],
        &["LRANGE", "l", "0", "-1"],
        &["GET", "n"],
        &["GET", "t1"],
        &["EXISTS", "gone"],
        &["EXISTS", "e"],
        &["DBSIZE"],
    ] {
        assert_same(&mut c, &mut mc, read);
    }
    let ttl = c.cmd_str(&["TTL", "e"]);
    assert!(ttl == ":1000\r\n" || ttl == ":999\r\n", "{ttl}");
    let pttl: i64 = c.cmd_str(&["PTTL", "px"])[1..].trim().parse().unwrap();
    assert!((490_000..=500_000).contains(&pttl), "{pttl}");
    c.cmd(&["SELECT", "3"]);
    mc.cmd(&["SELECT", "3"]);
    assert_same(&mut c, &mut mc, &["GET", "in3"]);
    c.cmd(&["SELECT", "0"]);

    // Writes from normal clients are refused, as on a Redis replica.
    assert_eq!(
        c.cmd(&["SET", "x", "1"]),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
    assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["DEL", "s"]),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
    assert!(c.cmd_str(&["EXEC"]).starts_with("-EXECABORT"));

    // WAIT makes the master send REPLCONF GETACK *: Strata answers at once.
    let started = Instant::now();
    assert_eq!(mc.cmd(&["WAIT", "1", "5000"]), b":1\r\n");
    assert!(started.elapsed() < Duration::from_secs(4));
    let offset = wait_caught_up(&s, &m);
    wait_for("the master to record the replica's ACK", 10, || {
        info_field(&mut mc, "replication", "slave0")
            .is_some_and(|v| v.contains(&format!("offset={offset},")))
    });

    // ROLE and INFO as a Redis replica prints them.
    let role = c.cmd_str(&["ROLE"]);
    let expected_head = format!(
        "*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{}\r\n$9\r\nconnected\r\n:",
        m.port
    );
    assert!(role.starts_with(&expected_head), "{role}");
    let info = c.cmd_str(&["INFO", "replication"]);
    let names: Vec<&str> = info
        .lines()
        .filter_map(|l| l.split_once(':').map(|(n, _)| n))
        .collect();
    assert_eq!(
        names,
        [
            "role",
            "master_host",
            "master_port",
            "master_link_status",
            "master_last_io_seconds_ago",
            "master_sync_in_progress",
            "slave_read_repl_offset",
            "slave_repl_offset",
            "slave_priority",
            "slave_read_only",
            "replica_announced",
            "connected_slaves",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen",
        ],
        "{info}"
    );
    assert_eq!(
        info_field(&mut c, "replication", "master_replid"),
        info_field(&mut mc, "replication", "master_replid")
    );
}

#[test]
fn a_disk_based_sync_with_a_length_header_works() {
    let m = start_master(&["--repl-diskless-sync", "no"]);
    let s = Strata::start();
    follow(&s, &m);
    let mut mc = m.conn();
    mc.cmd(&["SET", "k", "v"]);
    mc.cmd(&["RPUSH", "l", "1", "2"]);
    wait_caught_up(&s, &m);
    let mut c = s.conn();
    assert_same(&mut c, &mut mc, &["GET", "k"]);
    assert_same(&mut c, &mut mc, &["LRANGE", "l", "0", "-1"]);
}

#[test]
fn a_cut_link_resumes_with_a_partial_resync() {
    let m = start_master(&[]);
    let s = Strata::start();
    follow(&s, &m);
    let mut mc = m.conn();
    mc.cmd(&["SET", "before", "1"]);
    wait_caught_up(&s, &m);
    assert_eq!(stat(&mut mc, "sync_full"), 1);
    assert_eq!(stat(&mut mc, "sync_partial_ok"), 0);

    assert_eq!(mc.cmd(&["CLIENT", "KILL", "TYPE", "replica"]), b":1\r\n");
    // Written while the link is down: must arrive through the backlog.
    mc.cmd(&["SET", "during", "2"]);
    wait_for("a partial resync", 30, || {
        stat(&mut mc, "sync_partial_ok") == 1
    });
    mc.cmd(&["SET", "after", "3"]);
    wait_caught_up(&s, &m);
    assert_eq!(stat(&mut mc, "sync_full"), 1, "no second full sync");
    let mut c = s.conn();
    for key in ["before", "during", "after"] {
        assert_same(&mut c, &mut mc, &["GET", key]);
    }
}

#[test]
fn replicaof_no_one_stops_following_and_accepts_writes() {
    let m = start_master(&[]);
    let s = Strata::start();
    follow(&s, &m);
    let mut mc = m.conn();
    mc.cmd(&["SET", "a", "1"]);
    wait_caught_up(&s, &m);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["ROLE"])[..14], b"*3\r\n$6\r\nmaster"[..]);
    assert_eq!(
        info_field(&mut c, "replication", "role").as_deref(),
        Some("master")
    );
    assert_eq!(c.cmd(&["SET", "mine", "x"]), b"+OK\r\n");
    mc.cmd(&["SET", "a", "2"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd(&["GET", "a"]), b"$1\r\n1\r\n", "no longer following");
    let mut mc2 = m.conn();
    wait_for("the master to drop the replica", 10, || {
        info_field(&mut mc2, "replication", "connected_slaves").as_deref() == Some("0")
    });
    // SLAVEOF is the same command.
    assert_eq!(c.cmd(&["SLAVEOF", "NO", "ONE"]), b"+OK\r\n");
}

#[test]
fn replicaof_argument_errors_match_redis() {
    let r = Redis::start();
    let s = Strata::start();
    let (mut c, mut rc) = (s.conn(), r.conn());
    for args in [
        &["REPLICAOF", "127.0.0.1", "abc"][..],
        &["REPLICAOF", "127.0.0.1", "70000"],
        &["REPLICAOF", "127.0.0.1", "-1"],
        &["REPLICAOF", "127.0.0.1"],
        &["SLAVEOF", "a", "b", "c"],
        &["REPLICAOF", "no", "one"],
        &["CONFIG", "SET", "replicaof", "127.0.0.1 1"],
    ] {
        assert_same(&mut c, &mut rc, args);
    }
}

#[test]
fn stale_data_no_refuses_commands_while_the_master_is_down() {
    let m = start_master(&[]);
    let s = Strata::start_with(&["--replica-serve-stale-data", "no"]);
    follow(&s, &m);
    let mut c = s.conn();
    assert_eq!(c.cmd(&["GET", "k"]), b"$-1\r\n");
    drop(m);
    wait_for("the link to go down", 10, || {
        info_field(&mut c, "replication", "master_link_status").as_deref() == Some("down")
    });
    assert_eq!(
        c.cmd(&["GET", "k"]),
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"
    );
    assert!(info_field(&mut c, "replication", "master_link_down_since_seconds").is_some());
    let role = c.cmd_str(&["ROLE"]);
    assert!(role.ends_with(":-1\r\n"), "{role}");
    // CONFIG is allowed on a stale replica, and serving stale data again
    // lifts the refusal.
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["GET", "k"]), b"$-1\r\n");
}

#[test]
fn replica_read_only_no_accepts_local_writes() {
    let m = start_master(&[]);
    let s = Strata::start();
    follow(&s, &m);
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "slave-read-only", "no"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmd(&["SET", "local", "1"]), b"+OK\r\n");
    assert_eq!(
        info_field(&mut c, "replication", "slave_read_only").as_deref(),
        Some("0")
    );
}

/// A strata-server started from a config file, killed on drop.
struct FileServer {
    child: Child,
    port: u16,
}

impl FileServer {
    fn start(conf: &Path, data: &Path) -> FileServer {
        let port = free_port();
        let mut child = Command::new(strata_bin())
            .arg(conf)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(data)
            .args(["--rocksdb.block-cache-size", "16mb"])
            .args(crate::common::engine_args())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start strata-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("strata-server exited early with {st}");
            }
            assert!(Instant::now() < deadline, "strata-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        FileServer { child, port }
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn replica_directives_set_at_run_time_and_kept_by_rewrite() {
    let m = start_master(&[]);
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("strata.conf");
    std::fs::write(&conf, "# replica\nreplica-priority 42\n").unwrap();
    let data = tmp.path().join("data");
    let server = FileServer::start(&conf, &data);
    let mut c = Conn::connect(server.port);
    for (name, value) in [
        ("repl-timeout", "30"),
        ("masterauth", "secret"),
        ("masteruser", "default"),
        ("replica-announce-ip", "10.1.2.3"),
        ("replica-announce-port", "7777"),
        ("replica-serve-stale-data", "no"),
        ("repl-diskless-load", "swapdb"),
        ("repl-ping-replica-period", "5"),
    ] {
        assert_eq!(c.cmd(&["CONFIG", "SET", name, value]), b"+OK\r\n", "{name}");
    }
    // Without a password on the master, AUTH fails and the link stays down;
    // clear it and follow.
    assert_eq!(c.cmd(&["CONFIG", "SET", "masterauth", ""]), b"+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "SET", "masteruser", ""]), b"+OK\r\n");
    assert_eq!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &m.port.to_string()]),
        b"+OK\r\n"
    );
    let mut mc = m.conn();
    wait_for("the master to list the announced address", 30, || {
        info_field(&mut mc, "replication", "slave0")
            .is_some_and(|v| v.starts_with("ip=10.1.2.3,port=7777,state=online"))
    });
    assert_eq!(
        info_field(&mut c, "replication", "slave_priority").as_deref(),
        Some("42")
    );
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    for line in [
        "replica-priority 42",
        "repl-timeout 30",
        "replica-announce-ip 10.1.2.3",
        "replica-announce-port 7777",
        "replica-serve-stale-data no",
        "repl-diskless-load swapdb",
        "repl-ping-replica-period 5",
        &format!("replicaof 127.0.0.1 {}", m.port),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in {text}");
    }
    // After REPLICAOF NO ONE the rewrite drops the replicaof line.
    assert_eq!(c.cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    assert_eq!(c.cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(!text.contains("replicaof"), "{text}");
    drop(server);
}

#[test]
fn replicaof_in_the_config_file_follows_at_start() {
    let m = start_master(&[]);
    let s = Strata::start_with(&["--replicaof", "127.0.0.1", &m.port.to_string()]);
    let mut c = s.conn();
    wait_for("the link to come up", 30, || {
        info_field(&mut c, "replication", "master_link_status").as_deref() == Some("up")
    });
    let mut mc = m.conn();
    mc.cmd(&["SET", "k", "from-master"]);
    wait_caught_up(&s, &m);
    assert_same(&mut c, &mut mc, &["GET", "k"]);
}

/// A scripted master on a raw socket: reads one command (multibulk, or an
/// inline line) and returns its words.
pub(crate) struct FakeMaster {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl FakeMaster {
    pub(crate) fn accept(listener: &std::net::TcpListener) -> FakeMaster {
        let (stream, _) = listener.accept().expect("the replica connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        FakeMaster {
            stream,
            buf: Vec::new(),
        }
    }

    fn fill(&mut self) {
        use std::io::Read;
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).expect("read from the replica");
        assert!(n > 0, "the replica closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    fn line(&mut self) -> Vec<u8> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let l = self.buf[..i].to_vec();
                self.buf.drain(..i + 2);
                return l;
            }
            self.fill();
        }
    }

    /// One command with its raw bytes.
    pub(crate) fn command(&mut self) -> (Vec<String>, Vec<u8>) {
        let head = self.line();
        let mut raw = head.clone();
        raw.extend_from_slice(b"\r\n");
        let Some(n) = head.strip_prefix(b"*") else {
            return (vec![String::from_utf8_lossy(&head).into_owned()], raw);
        };
        let n: usize = std::str::from_utf8(n).unwrap().parse().unwrap();
        let mut words = Vec::new();
        for _ in 0..n {
            let h = self.line();
            raw.extend_from_slice(&h);
            raw.extend_from_slice(b"\r\n");
            let len: usize = std::str::from_utf8(&h[1..]).unwrap().parse().unwrap();
            while self.buf.len() < len + 2 {
                self.fill();
            }
            let w: Vec<u8> = self.buf.drain(..len + 2).collect();
            raw.extend_from_slice(&w);
            words.push(String::from_utf8_lossy(&w[..len]).into_owned());
        }
        (words, raw)
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        use std::io::Write;
        self.stream.write_all(bytes).unwrap();
    }

    /// The handshake up to PSYNC; returns the PSYNC arguments.
    pub(crate) fn handshake(&mut self, replica_port: u16) -> Vec<String> {
        let (ping, raw) = self.command();
        assert_eq!(ping, ["PING"]);
        assert_eq!(raw, b"*1\r\n$4\r\nPING\r\n");
        self.send(b"+PONG\r\n");
        let (port, raw) = self.command();
        let port_text = replica_port.to_string();
        assert_eq!(
            raw,
            crate::common::encode(&[b"REPLCONF", b"listening-port", port_text.as_bytes()]),
            "{port:?}"
        );
        let (_, raw) = self.command();
        assert_eq!(
            raw,
            b"*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n"
        );
        // A relay may not know an option: an error is tolerated.
        self.send(b"+OK\r\n-ERR Unrecognized REPLCONF option: capa\r\n");
        let (psync, _) = self.command();
        psync
    }
}

/// An RDB with no keys (checksum 0: `rdbchecksum no`).
pub(crate) fn empty_rdb() -> Vec<u8> {
    let mut rdb = b"REDIS0010\xfa\x09redis-ver\x067.0.15".to_vec();
    rdb.push(0xff);
    rdb.extend_from_slice(&[0u8; 8]);
    rdb
}

/// Against a scripted master: exact handshake bytes, `-LOADING` retried,
/// `-ERR` to PSYNC falls back to SYNC, keep-alive newlines before the
/// `$<len>` payload, the stream right after it, and GETACK answered with
/// the offset before the GETACK.
#[test]
fn a_scripted_master_sees_the_handshake_of_a_redis_replica() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let master_port = listener.local_addr().unwrap().port();
    let s = Strata::start();
    let mut c = s.conn();
    assert_eq!(
        c.cmd(&["REPLICAOF", "127.0.0.1", &master_port.to_string()]),
        b"+OK\r\n"
    );
    let mut first = FakeMaster::accept(&listener);
    assert_eq!(first.handshake(s.port), ["PSYNC", "?", "-1"]);
    first.send(b"-LOADING Redis is loading the dataset in memory\r\n");

    let mut m = FakeMaster::accept(&listener);
    assert_eq!(m.handshake(s.port), ["PSYNC", "?", "-1"]);
    m.send(b"-ERR unknown command 'PSYNC'\r\n");
    let (sync, raw) = m.command();
    assert_eq!(sync, ["SYNC"]);
    assert_eq!(raw, b"SYNC\r\n");
    let rdb = empty_rdb();
    let mut out = b"\n\n".to_vec();
    out.extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
    out.extend_from_slice(&rdb);
    let select = crate::common::encode(&[b"SELECT", b"0"]);
    let set = crate::common::encode(&[b"SET", b"k", b"v"]);
    let ping = crate::common::encode(&[b"ping"]);
    let getack = crate::common::encode(&[b"REPLCONF", b"GETACK", b"*"]);
    out.extend_from_slice(&select);
    out.extend_from_slice(&set);
    out.extend_from_slice(&ping);
    out.extend_from_slice(&getack);
    m.send(&out);
    let before_getack = (select.len() + set.len() + ping.len()) as u64;
    let after = before_getack + getack.len() as u64;
    // Periodic ACKs may come first; the GETACK's answer carries the offset
    // before it, and later ACKs the offset after it.
    let mut acks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !acks.contains(&after) {
        assert!(Instant::now() < deadline, "ACKs seen: {acks:?}");
        let (words, raw) = m.command();
        assert_eq!(&words[..2], ["REPLCONF", "ACK"], "{words:?}");
        assert_eq!(
            raw,
            crate::common::encode(&[b"REPLCONF", b"ACK", words[2].as_bytes()])
        );
        acks.push(words[2].parse::<u64>().unwrap());
    }
    assert!(acks.contains(&before_getack), "ACKs seen: {acks:?}");
    assert_eq!(c.cmd(&["GET", "k"]), b"$1\r\nv\r\n");
    assert_eq!(
        info_field(&mut c, "replication", "slave_repl_offset"),
        Some(after.to_string())
    );
}
