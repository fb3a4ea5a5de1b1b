//! Strata as the master of real Redis 7.0 replicas (and of a Strata
//! replica): full resync of every type in its small and large encodings,
//! in both framings, compared key by key; live writes; partial resync after
//! a cut link and after Strata's `kill -9`; INFO / ROLE / WAIT; NOREPLICAS;
//! a replica that stops reading is cut at its output limit.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, Strata};
use crate::replica_sync::wait_for;

/// A real redis-server replica of `master_port`, with its own dir and log.
pub(crate) struct RealReplica {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RealReplica {
    pub(crate) fn start(master_port: u16) -> RealReplica {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Command::new("/usr/bin/redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--replicaof", "127.0.0.1", &master_port.to_string()])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("redis.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start /usr/bin/redis-server");
        let r = RealReplica { child, port, dir };
        wait_for("the replica to listen", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", r.port)).is_ok()
        });
        r
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("redis.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub(crate) fn client(&self) -> redis::Connection {
        connect(self.port)
    }

    fn signal(&self, sig: i32) {
        // SAFETY: a signal to our own child process.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }
}

impl Drop for RealReplica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn connect(port: u16) -> redis::Connection {
    redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(20)))
        .expect("connection")
}

fn info_field(c: &mut redis::Connection, section: &str, name: &str) -> Option<String> {
    let info: String = redis::cmd("INFO").arg(section).query(c).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&[u8]]) -> T {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])))
}

/// Every type in small and large encodings, binary data, TTLs, databases.
fn populate(c: &mut redis::Connection) {
    let mut p = redis::pipe();
    p.cmd("SET").arg("str").arg("hello");
    p.cmd("SET").arg("int").arg("12345");
    p.cmd("SET").arg("big").arg(vec![b'x'; 100_000]);
    p.cmd("SET")
        .arg(&b"bin\x00\xff\r\n"[..])
        .arg(&b"\x00\x01\x02\xfe\xff"[..]);
    p.cmd("SET").arg("ttl").arg("v").arg("EX").arg(1000);
    p.cmd("RPUSH")
        .arg("list:small")
        .arg(&["a", "b", "c", "1", "2"]);
    let items: Vec<String> = (0..5000).map(|i| format!("item-{i:08}")).collect();
    p.cmd("RPUSH").arg("list:big").arg(&items);
    let pairs: Vec<(String, String)> = (0..10)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    p.cmd("HSET").arg("hash:small").arg(&pairs);
    let pairs: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("f{i}"), format!("{i}")))
        .collect();
    p.cmd("HSET").arg("hash:big").arg(&pairs);
    p.cmd("HSET")
        .arg("hash:longval")
        .arg("f")
        .arg("y".repeat(100));
    p.cmd("EXPIRE").arg("hash:small").arg(500);
    let ints: Vec<i64> = (0..100).map(|i| i * 7 - 300).collect();
    p.cmd("SADD").arg("set:int").arg(&ints);
    let ints: Vec<i64> = (0..1000).collect();
    p.cmd("SADD").arg("set:bigint").arg(&ints);
    p.cmd("SADD")
        .arg("set:str")
        .arg(&["a", "b", "\u{e9}t\u{e9}"]);
    let mut z: Vec<(f64, String)> = (0..50).map(|i| (i as f64 * 1.5, format!("m{i}"))).collect();
    z.push((f64::INFINITY, "top".into()));
    z.push((f64::NEG_INFINITY, "bottom".into()));
    p.cmd("ZADD").arg("zset:small").arg(&z);
    let z: Vec<(f64, String)> = (0..500)
        .map(|i| (i as f64 / 3.0, format!("member-{i}")))
        .collect();
    p.cmd("ZADD").arg("zset:big").arg(&z);
    p.cmd("SELECT").arg(3);
    p.cmd("SET").arg("in-db3").arg("three");
    p.cmd("RPUSH").arg("list3").arg(&["x", "y"]);
    p.cmd("SELECT").arg(15);
    p.cmd("HSET").arg("h15").arg("k").arg("v");
    p.cmd("SELECT").arg(0);
    p.query::<()>(c).expect("populate");
}

/// A key's value as comparable bytes (unordered types sorted).
fn value_of(c: &mut redis::Connection, key: &[u8], kind: &str) -> Vec<Vec<u8>> {
    match kind {
        "string" => vec![q(c, &[b"GET", key])],
        "list" => q(c, &[b"LRANGE", key, b"0", b"-1"]),
        "set" => {
            let mut v: Vec<Vec<u8>> = q(c, &[b"SMEMBERS", key]);
            v.sort();
            v
        }
        "hash" => {
            let v: Vec<Vec<u8>> = q(c, &[b"HGETALL", key]);
            let mut pairs: Vec<Vec<u8>> = v.chunks(2).map(|p| p.concat()).collect();
            pairs.sort();
            pairs
        }
        "zset" => q(c, &[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]),
        other => panic!("unexpected type {other}"),
    }
}

/// Compares every database key by key: type, value bytes, TTL (within 2 s)
/// and, for collections, OBJECT ENCODING.
pub(crate) fn assert_same_data(
    master: &mut redis::Connection,
    replica: &mut redis::Connection,
) -> usize {
    let mut compared = 0;
    for db in 0..16 {
        let _: () = q(master, &[b"SELECT", db.to_string().as_bytes()]);
        let _: () = q(replica, &[b"SELECT", db.to_string().as_bytes()]);
        let mut keys: Vec<Vec<u8>> = q(master, &[b"KEYS", b"*"]);
        let mut rkeys: Vec<Vec<u8>> = q(replica, &[b"KEYS", b"*"]);
        keys.sort();
        rkeys.sort();
        assert_eq!(keys, rkeys, "keys of db {db}");
        for k in &keys {
            let kind: String = q(master, &[b"TYPE", k]);
            let rkind: String = q(replica, &[b"TYPE", k]);
            assert_eq!(kind, rkind, "type of {:?}", String::from_utf8_lossy(k));
            assert_eq!(
                value_of(master, k, &kind),
                value_of(replica, k, &kind),
                "value of {:?} in db {db}",
                String::from_utf8_lossy(k)
            );
            let ttl: i64 = q(master, &[b"TTL", k]);
            let rttl: i64 = q(replica, &[b"TTL", k]);
            assert!((ttl - rttl).abs() <= 2, "ttl of {k:?}: {ttl} vs {rttl}");
            if kind != "string" {
                let enc: String = q(master, &[b"OBJECT", b"ENCODING", k]);
                let renc: String = q(replica, &[b"OBJECT", b"ENCODING", k]);
                assert_eq!(enc, renc, "encoding of {:?}", String::from_utf8_lossy(k));
            }
            compared += 1;
        }
    }
    let _: () = q(master, &[b"SELECT", b"0"]);
    let _: () = q(replica, &[b"SELECT", b"0"]);
    compared
}

/// Waits until the replica is online and has applied all of Strata's stream.
pub(crate) fn wait_caught_up(m: &mut redis::Connection, r: &mut redis::Connection) {
    wait_for("the replica to catch up", 60, || {
        let up = info_field(r, "replication", "master_link_status").as_deref() == Some("up");
        let moff = info_field(m, "replication", "master_repl_offset");
        up && moff.is_some() && info_field(r, "replication", "slave_repl_offset") == moff
    });
}

fn stat(c: &mut redis::Connection, name: &str) -> u64 {
    info_field(c, "stats", name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn diskless_full_sync_live_writes_partial_after_cut_info_role_wait() {
    let s = Strata::start_with(&["--repl-diskless-sync-delay", "0"]);
    let mut m = s.client();
    populate(&mut m);
    let replica = RealReplica::start(s.port);
    // Writes while the replica syncs.
    for i in 0..200 {
        let _: () = q(&mut m, &[b"SET", format!("during:{i}").as_bytes(), b"v"]);
    }
    let mut r = replica.client();
    wait_caught_up(&mut m, &mut r);
    assert!(
        replica
            .log()
            .contains("receiving streamed RDB from master with EOF"),
        "diskless framing: {}",
        replica.log()
    );
    let n = assert_same_data(&mut m, &mut r);
    assert_eq!(n, 218, "keys compared");
    assert_eq!(stat(&mut m, "sync_full"), 1);

    // INFO slave line and ROLE, as Redis prints them.
    let line = info_field(&mut m, "replication", "slave0").expect("slave0");
    let want = format!("ip=127.0.0.1,port={},state=online,offset=", replica.port);
    assert!(line.starts_with(&want) && line.contains(",lag="), "{line}");
    assert_eq!(
        info_field(&mut m, "replication", "connected_slaves").as_deref(),
        Some("1")
    );
    let role: redis::Value = q(&mut m, &[b"ROLE"]);
    let redis::Value::Array(parts) = role else {
        panic!("ROLE: {role:?}")
    };
    assert_eq!(parts[0], redis::Value::BulkString(b"master".to_vec()));
    assert!(matches!(parts[1], redis::Value::Int(o) if o > 0));
    let redis::Value::Array(reps) = &parts[2] else {
        panic!("ROLE replicas: {parts:?}")
    };
    assert_eq!(reps.len(), 1);

    // WAIT counts the replica once it acknowledged the write.
    let _: () = q(&mut m, &[b"SET", b"waited", b"1"]);
    let acked: i64 = q(&mut m, &[b"WAIT", b"1", b"5000"]);
    assert_eq!(acked, 1);
    let t = Instant::now();
    let acked: i64 = q(&mut m, &[b"WAIT", b"2", b"300"]);
    assert_eq!(acked, 1);
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "WAIT honours its timeout"
    );

    // Cut the link: the replica comes back with a partial resync.
    let killed: i64 = q(&mut m, &[b"CLIENT", b"KILL", b"TYPE", b"replica"]);
    assert_eq!(killed, 1);
    for i in 0..50 {
        let _: () = q(
            &mut m,
            &[b"RPUSH", b"list:big", format!("after-cut-{i}").as_bytes()],
        );
    }
    wait_for("a partial resync", 30, || {
        stat(&mut m, "sync_partial_ok") == 1
    });
    wait_caught_up(&mut m, &mut r);
    assert!(replica
        .log()
        .contains("Successful partial resynchronization with master"));
    assert_eq!(stat(&mut m, "sync_full"), 1);
    assert_same_data(&mut m, &mut r);
}

#[test]
fn disk_sync_then_continue_after_kill9() {
    let mut s = Strata::start_with(&["--repl-diskless-sync", "no"]);
    let mut m = s.client();
    populate(&mut m);
    let replica = RealReplica::start(s.port);
    let mut r = replica.client();
    wait_caught_up(&mut m, &mut r);
    assert!(
        !replica.log().contains("with EOF"),
        "disk framing ($len): {}",
        replica.log()
    );
    assert_same_data(&mut m, &mut r);
    assert!(
        !std::fs::read_dir(s.data_dir()).expect("dir").any(|e| e
            .map(|e| e.file_name().to_string_lossy().starts_with("temp-sync"))
            .unwrap_or(false)),
        "the temporary RDB is removed"
    );

    let _: () = q(&mut m, &[b"SET", b"before-crash", b"1"]);
    let _: i64 = q(&mut m, &[b"WAIT", b"1", b"5000"]);
    s.kill9_and_restart();
    let mut m = s.client();
    let _: () = q(&mut m, &[b"SET", b"after-restart", b"1"]);
    wait_for("the replica to resync after the restart", 60, || {
        replica
            .log()
            .matches("Successful partial resynchronization with master")
            .count()
            == 1
    });
    wait_caught_up(&mut m, &mut r);
    assert_same_data(&mut m, &mut r);
    assert_eq!(
        stat(&mut m, "sync_full"),
        0,
        "counters restart with the process"
    );
    assert_eq!(stat(&mut m, "sync_partial_ok"), 1);
}

#[test]
fn a_replica_that_stops_reading_is_cut_at_its_limit() {
    let s = Strata::start_with(&[
        "--repl-diskless-sync-delay",
        "0",
        "--client-output-buffer-limit",
        "replica 2mb 0 0",
    ]);
    let mut m = s.client();
    let replica = RealReplica::start(s.port);
    let mut r = replica.client();
    wait_caught_up(&mut m, &mut r);
    let rss = |c: &mut redis::Connection| -> u64 {
        info_field(c, "memory", "used_memory_rss")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    // The pmem engine's records live in a mapped file, whose resident
    // pages count in RSS: its growth is storage, not buffered output.
    let mapped = |c: &mut redis::Connection| -> u64 {
        info_field(c, "pmem", "pmem_used_bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let before = rss(&mut m);
    let mapped_before = mapped(&mut m);
    replica.signal(libc::SIGSTOP);
    let value = vec![b'v'; 10_000];
    for i in 0..3000 {
        let _: () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg(&value)
            .query(&mut m)
            .expect("set");
    }
    wait_for("the stalled replica to be disconnected", 30, || {
        info_field(&mut m, "replication", "connected_slaves").as_deref() == Some("0")
    });
    let after = rss(&mut m).saturating_sub(mapped(&mut m).saturating_sub(mapped_before));
    replica.signal(libc::SIGCONT);
    // 30 MB were written; nothing of it may be buffered for the replica.
    assert!(
        after < before + (64 << 20),
        "RSS grew from {before} to {after}"
    );
    // The replica comes back and catches up.
    wait_caught_up(&mut m, &mut r);
}

#[test]
fn min_replicas_to_write_refuses_writes() {
    let s = Strata::start();
    let mut m = s.client();
    let _: () = q(&mut m, &[b"CONFIG", b"SET", b"min-replicas-to-write", b"1"]);
    wait_for("the write refusal", 10, || {
        let r: redis::RedisResult<()> = redis::cmd("SET").arg("probe").arg("v").query(&mut m);
        matches!(r, Err(e) if e.to_string().contains("Not enough good replicas to write"))
    });
    let mut raw = s.conn();
    assert_eq!(
        raw.cmd(&["SET", "k", "v"]),
        b"-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(raw.cmd(&["GET", "k"]), b"$-1\r\n", "reads still work");
    let _: () = q(&mut m, &[b"CONFIG", b"SET", b"min-replicas-to-write", b"0"]);
}

#[test]
fn strata_replica_of_strata_full_and_partial() {
    let master = Strata::start_with(&["--repl-diskless-sync-delay", "0"]);
    let replica = Strata::start();
    let mut m = master.client();
    let mut r = replica.client();
    let _: () = q(
        &mut r,
        &[
            b"REPLICAOF",
            b"127.0.0.1",
            master.port.to_string().as_bytes(),
        ],
    );
    wait_for("the link to come up", 30, || {
        info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up")
    });
    for i in 0..100 {
        let _: () = q(&mut m, &[b"HSET", b"h", format!("f{i}").as_bytes(), b"v"]);
    }
    wait_caught_up(&mut m, &mut r);
    let n: i64 = q(&mut r, &[b"HLEN", b"h"]);
    assert_eq!(n, 100);
    let _: i64 = q(&mut m, &[b"CLIENT", b"KILL", b"TYPE", b"replica"]);
    let _: () = q(&mut m, &[b"SET", b"after", b"cut"]);
    wait_for("a partial resync", 30, || {
        stat(&mut m, "sync_partial_ok") == 1
    });
    wait_caught_up(&mut m, &mut r);
    let v: String = q(&mut r, &[b"GET", b"after"]);
    assert_eq!(v, "cut");
}
