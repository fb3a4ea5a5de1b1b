//! Strata replicating a real redis-server 7.0 master's data: a dataset with
//! every type in small and large encodings, expiring keys and several
//! databases arrives through the RDB of a full resync and is compared key by
//! key (values as bytes, absolute expiry times exactly, encodings); live
//! writes follow; a `kill -9` of Strata resumes with a partial resync (the
//! master's `sync_partial_ok` grows, `sync_full` does not); a master that
//! restarts without persistence forces a full resync that replaces the data.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{Conn, Strata};
use crate::reply::{self, Order};

pub(crate) fn info_field(c: &mut Conn, section: &str, name: &str) -> Option<String> {
    let info = c.cmd_str(&["INFO", section]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

pub(crate) fn wait_for(what: &str, secs: u64, check: impl FnMut() -> bool) {
    wait_for_or_explain(what, secs, check, String::new);
}

/// [`wait_for`], whose timeout message ends with what `explain` gathers
/// (logs, the peers' INFO) when the wait fails, for a failure seen only in CI.
pub(crate) fn wait_for_or_explain(
    what: &str,
    secs: u64,
    mut check: impl FnMut() -> bool,
    explain: impl FnOnce() -> String,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}\n{}", explain());
}

/// A redis-server master on a fixed port, so it can be restarted in place.
pub(crate) struct Master {
    child: Child,
    pub(crate) port: u16,
    _dir: tempfile::TempDir,
}

impl Master {
    pub(crate) fn start(port: u16) -> Master {
        let dir = tempfile::tempdir().expect("tempdir");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args([
                "--repl-diskless-sync-delay",
                "0",
                "--repl-backlog-size",
                "64mb",
            ])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let m = Master {
            child,
            port,
            _dir: dir,
        };
        wait_for("redis-server to listen", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        m
    }

    pub(crate) fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn stat(c: &mut Conn, name: &str) -> u64 {
    info_field(c, "stats", name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn wait_caught_up(s: &Strata, m: &Master) {
    let (mut c, mut mc) = (s.conn(), m.conn());
    wait_for("the replica offset to reach the master's", 60, || {
        let target = info_field(&mut mc, "replication", "master_repl_offset");
        info_field(&mut c, "replication", "master_link_status").as_deref() == Some("up")
            && info_field(&mut c, "replication", "slave_repl_offset") == target
    });
}

pub(crate) fn bin(parts: &[&[u8]], c: &mut Conn) -> Vec<u8> {
    c.send(parts);
    c.read_reply()
}

/// Every type, small and large encodings, binary data, expiries, in `db`.
pub(crate) fn fill(c: &mut Conn, db: usize, tag: &str) {
    c.cmd(&["SELECT", &db.to_string()]);
    let k = |name: &str| format!("{tag}:{name}");
    c.cmd(&["SET", &k("int"), "12345"]);
    c.cmd(&["SET", &k("neg"), "-9223372036854775808"]);
    c.cmd(&["SET", &k("str"), "hello world"]);
    c.cmd(&["SET", &k("long"), &"abcdefgh".repeat(700)]);
    c.cmd(&["SET", &k("ttl"), "v", "PX", "3600000"]);
    let mut binkey = format!("{tag}:bin").into_bytes();
    binkey.extend_from_slice(b"\x00\xff");
    bin(&[b"SET", &binkey, b"\x00\x01\xfe\xff"], c);
    c.cmd(&["RPUSH", &k("list"), "a", "b", "1", "2"]);
    for chunk in 0..30 {
        let items: Vec<String> = (0..100).map(|i| format!("item-{chunk}-{i}")).collect();
        let mut args = vec!["RPUSH".to_string(), k("biglist")];
        args.extend(items);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        c.cmd(&refs);
    }
    c.cmd(&["SADD", &k("intset"), "1", "2", "3", "-7", "100000"]);
    let members: Vec<String> = (0..700).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD".to_string(), k("bigset")];
    args.extend(members);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&refs);
    c.cmd(&["HSET", &k("hash"), "f1", "v1", "f2", "2", "f3", ""]);
    c.cmd(&["HSET", &k("longhash"), "f", &"x".repeat(100)]);
    let mut args = vec!["HSET".to_string(), k("bighash")];
    for i in 0..600 {
        args.push(format!("field{i}"));
        args.push(format!("value{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&refs);
    c.cmd(&[
        "ZADD",
        &k("zset"),
        "1.5",
        "a",
        "-2",
        "b",
        "inf",
        "c",
        "-inf",
        "d",
        "0",
        "e",
    ]);
    let mut args = vec!["ZADD".to_string(), k("bigzset")];
    for i in 0..300 {
        args.push(format!("{}", i as f64 / 3.0));
        args.push(format!("member{i}"));
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmd(&refs);
    c.cmd(&["PEXPIRE", &k("bighash"), "7200000"]);
    c.cmd(&["PEXPIRE", &k("list"), "7200000"]);
}

/// Every key of `db` with its type, value (order-free where Redis's order
/// is unspecified), absolute expiry and encoding, as bytes.
pub(crate) fn snapshot(c: &mut Conn, db: usize) -> BTreeMap<Vec<u8>, Vec<Vec<u8>>> {
    c.cmd(&["SELECT", &db.to_string()]);
    let keys = reply::bulk_items(&c.cmd(&["KEYS", "*"]));
    let mut out = BTreeMap::new();
    for key in keys {
        let kind = bin(&[b"TYPE", &key], c);
        let value = match kind.as_slice() {
            b"+string\r\n" => bin(&[b"GET", &key], c),
            b"+list\r\n" => bin(&[b"LRANGE", &key, b"0", b"-1"], c),
            b"+set\r\n" => reply::canonical(&bin(&[b"SMEMBERS", &key], c), Order::Set),
            b"+hash\r\n" => reply::canonical(&bin(&[b"HGETALL", &key], c), Order::Pairs),
            b"+zset\r\n" => bin(&[b"ZRANGE", &key, b"0", b"-1", b"WITHSCORES"], c),
            other => panic!("unexpected type {}", String::from_utf8_lossy(other)),
        };
        let expiry = bin(&[b"PEXPIRETIME", &key], c);
        let encoding = bin(&[b"OBJECT", b"ENCODING", &key], c);
        out.insert(key, vec![kind, value, expiry, encoding]);
    }
    out
}

fn assert_same_data(s: &Strata, m: &Master, dbs: &[usize]) {
    let (mut c, mut mc) = (s.conn(), m.conn());
    for &db in dbs {
        let (a, b) = (snapshot(&mut c, db), snapshot(&mut mc, db));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "keys of db {db}"
        );
        for (key, theirs) in &b {
            let ours = &a[key];
            for (i, what) in ["type", "value", "expiry", "encoding"].iter().enumerate() {
                assert!(
                    ours[i] == theirs[i],
                    "db {db} key {}: {what} differs: strata {} redis {}",
                    reply::show_bytes(key),
                    reply::show_bytes(&ours[i]),
                    reply::show_bytes(&theirs[i])
                );
            }
        }
    }
}

#[test]
fn a_masters_dataset_arrives_complete_and_resumes_partially_after_kill9() {
    let port = crate::common::free_port();
    let mut master = Master::start(port);
    let mut mc = master.conn();
    for (db, tag) in [(0, "a"), (3, "b"), (15, "c")] {
        fill(&mut mc, db, tag);
    }
    let mut s = Strata::start_with(&["--replicaof", "127.0.0.1", &port.to_string()]);
    wait_caught_up(&s, &master);
    assert_same_data(&s, &master, &[0, 3, 15]);
    assert_eq!(stat(&mut mc, "sync_full"), 1);

    // Live writes after the sync.
    mc.cmd(&["SELECT", "3"]);
    mc.cmd(&["LPUSH", "b:list", "new"]);
    mc.cmd(&["HDEL", "b:bighash", "field7"]);
    mc.cmd(&["ZINCRBY", "b:zset", "2", "a"]);
    mc.cmd(&["DEL", "b:str"]);
    mc.cmd(&["MULTI"]);
    mc.cmd(&["SET", "b:tx", "1"]);
    mc.cmd(&["SADD", "b:intset", "zzz"]);
    mc.cmd(&["EXEC"]);
    wait_caught_up(&s, &master);
    assert_same_data(&s, &master, &[0, 3, 15]);

    // Several MB of traffic, then kill -9 and more writes while it is down.
    mc.cmd(&["SELECT", "0"]);
    let value = "v".repeat(1000);
    for i in 0..4000 {
        mc.cmd(&["SET", &format!("bulk{i}"), &value]);
    }
    wait_caught_up(&s, &master);
    s.kill9();
    for i in 0..300 {
        mc.cmd(&["SET", &format!("while-down{i}"), &value]);
    }
    s.start_again();
    wait_caught_up(&s, &master);
    assert_eq!(stat(&mut mc, "sync_full"), 1, "no second full sync");
    assert_eq!(stat(&mut mc, "sync_partial_ok"), 1, "a partial resync");
    assert_same_data(&s, &master, &[0, 3, 15]);

    // A master restarted without persistence has a new id and no data: the
    // replica's old dataset is replaced by a full resync.
    drop(mc);
    drop(master);
    master = Master::start(port);
    let mut mc = master.conn();
    mc.cmd(&["SET", "after-restart", "1"]);
    let mut c = s.conn();
    wait_for("the new dataset", 60, || {
        c.cmd(&["SELECT", "0"]);
        c.cmd(&["DBSIZE"]) == b":1\r\n" && c.cmd(&["GET", "after-restart"]) == b"$1\r\n1\r\n"
    });
    wait_caught_up(&s, &master);
    assert_same_data(&s, &master, &[0, 3, 15]);
    assert_eq!(
        info_field(&mut c, "replication", "master_replid"),
        info_field(&mut mc, "replication", "master_replid")
    );
}

/// REPLICAOF NO ONE promotes with the data and the offset kept, under a new
/// id, with the master's id as `master_replid2` up to here (PSYNC2).
#[test]
fn promotion_keeps_data_and_offset_and_the_old_id_as_replid2() {
    let port = crate::common::free_port();
    let master = Master::start(port);
    let mut mc = master.conn();
    fill(&mut mc, 0, "p");
    let s = Strata::start_with(&["--replicaof", "127.0.0.1", &port.to_string()]);
    wait_caught_up(&s, &master);
    let master_id = info_field(&mut mc, "replication", "master_replid").expect("id");
    let offset: u64 = info_field(&mut mc, "replication", "master_repl_offset")
        .and_then(|v| v.parse().ok())
        .expect("offset");
    let mut c = s.conn();
    assert_eq!(c.cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    let field = |c: &mut Conn, name: &str| info_field(c, "replication", name).expect(name);
    assert_eq!(field(&mut c, "role"), "master");
    assert_eq!(field(&mut c, "master_replid2"), master_id);
    assert_eq!(
        field(&mut c, "second_repl_offset"),
        (offset + 1).to_string()
    );
    assert_eq!(field(&mut c, "master_repl_offset"), offset.to_string());
    assert_ne!(field(&mut c, "master_replid"), master_id);
    assert_same_data(&s, &master, &[0]);
    assert_eq!(c.cmd(&["SET", "mine", "1"]), b"+OK\r\n");
}

/// PSYNC2 after a promotion: a Redis replica of the old master moves to the
/// promoted Strata replica and continues partially with the old id.
#[test]
fn a_sibling_replica_continues_partially_with_the_promoted_strata() {
    let port = crate::common::free_port();
    let master = Master::start(port);
    let mut mc = master.conn();
    fill(&mut mc, 0, "s");
    let s = Strata::start_with(&["--replicaof", "127.0.0.1", &port.to_string()]);
    let sibling = crate::common::Redis::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &port.to_string(),
        "--repl-diskless-load",
        "disabled",
    ]);
    wait_caught_up(&s, &master);
    let mut rc = sibling.conn();
    wait_for("the sibling to catch up", 60, || {
        info_field(&mut rc, "replication", "master_link_status").as_deref() == Some("up")
            && info_field(&mut rc, "replication", "master_repl_offset")
                == info_field(&mut mc, "replication", "master_repl_offset")
    });
    let mut c = s.conn();
    assert_eq!(c.cmd(&["REPLICAOF", "NO", "ONE"]), b"+OK\r\n");
    assert_eq!(
        rc.cmd(&["REPLICAOF", "127.0.0.1", &s.port.to_string()]),
        b"+OK\r\n"
    );
    wait_for("the sibling to follow the promoted replica", 60, || {
        info_field(&mut rc, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert_eq!(
        stat(&mut c, "sync_partial_ok"),
        1,
        "a partial resync via replid2"
    );
    assert_eq!(stat(&mut c, "sync_full"), 0);
    assert_eq!(c.cmd(&["SET", "after-promotion", "1"]), b"+OK\r\n");
    wait_for(
        "a write on the promoted replica to reach the sibling",
        30,
        || rc.cmd(&["GET", "after-promotion"]) == b"$1\r\n1\r\n",
    );
    let mut sc = s.conn();
    assert_eq!(snapshot(&mut sc, 0), snapshot(&mut rc, 0));
}

/// A Strata master drops an online replica silent for `repl-timeout`
/// seconds (no ACK: here it is stopped with SIGSTOP); once resumed, the
/// replica reconnects and continues partially.
#[test]
fn a_silent_replica_is_dropped_after_repl_timeout_and_resumes() {
    let s = Strata::start();
    let mut c = s.conn();
    let dir = tempfile::tempdir().expect("tempdir");
    let port = crate::common::free_port();
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .args(["--replicaof", "127.0.0.1", &s.port.to_string()])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    wait_for("the replica online", 30, || {
        info_field(&mut c, "replication", "slave0").is_some_and(|v| v.contains("state=online"))
    });
    assert_eq!(c.cmd(&["CONFIG", "SET", "repl-timeout", "2"]), b"+OK\r\n");
    // SAFETY: signals to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGSTOP) };
    wait_for("the silent replica to be dropped", 20, || {
        info_field(&mut c, "replication", "connected_slaves").as_deref() == Some("0")
    });
    c.cmd(&["SET", "while-stopped", "1"]);
    unsafe { libc::kill(child.id() as i32, libc::SIGCONT) };
    let mut rc = Conn::connect(port);
    wait_for("the replica to resume", 30, || {
        rc.cmd(&["GET", "while-stopped"]) == b"$1\r\n1\r\n"
    });
    assert_eq!(stat(&mut c, "sync_full"), 1);
    assert!(stat(&mut c, "sync_partial_ok") >= 1);
    let _ = child.kill();
    let _ = child.wait();
}

/// Pipelined writes on the master reach a Strata replica as stretches of
/// its stream, each committed as few units as the rules allow
/// (`server::master_run`): the data equals the master's, SELECT and a
/// transaction inside the stretch included, the offset is the master's,
/// and the replica committed far fewer units than it applied commands.
#[test]
fn a_masters_pipelined_writes_apply_as_few_units_with_the_same_result() {
    let port = crate::common::free_port();
    let master = Master::start(port);
    let mut mc = master.conn();
    let s = Strata::start_with(&["--replicaof", "127.0.0.1", &port.to_string()]);
    wait_caught_up(&s, &master);
    let mut c = s.conn();
    let units = |c: &mut Conn| -> u64 {
        info_field(c, "engine", "engine_committed_seq")
            .and_then(|v| v.parse().ok())
            .expect("engine_committed_seq")
    };
    let before = units(&mut c);

    let mut script: Vec<Vec<String>> = Vec::new();
    let v = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
    for i in 0..400 {
        let (k, n) = (format!("k{}", i % 50), i.to_string());
        script.push(v(&["SET", &k, &n]));
        script.push(v(&["INCR", &format!("counter{}", i % 7)]));
        script.push(v(&["RPUSH", "list", &n]));
        script.push(v(&["HSET", "hash", &format!("f{}", i % 30), &n]));
        script.push(v(&["ZADD", "zset", &n, &format!("m{}", i % 40)]));
        if i % 50 == 0 {
            script.push(v(&["SADD", "set", &n]));
            script.push(v(&["EXPIRE", &k, "3600"]));
            script.push(v(&["DEL", &format!("k{}", (i + 25) % 50)]));
            script.push(v(&["SELECT", "2"]));
            script.push(v(&["SET", &k, "in-db-2"]));
            script.push(v(&["LPOP", "list2"]));
            script.push(v(&["RPUSH", "list2", &n, "x"]));
            script.push(v(&["SELECT", "0"]));
            script.push(v(&["MULTI"]));
            script.push(v(&["INCR", "tx"]));
            script.push(v(&["LPOP", "list"]));
            script.push(v(&["EXEC"]));
        }
    }
    let mut bytes = Vec::new();
    for cmd in &script {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&crate::common::encode(&args));
    }
    mc.send_raw(&bytes);
    for _ in &script {
        mc.read_reply();
    }
    wait_caught_up(&s, &master);
    assert_same_data(&s, &master, &[0, 2]);
    let applied = script.len() as u64;
    let used = units(&mut c) - before;
    assert!(
        used * 4 < applied,
        "{used} units for {applied} commands: the stretches were not shared"
    );
}
