//! Three real redis-sentinel processes (quorum 2) managing a Strata master
//! and two Strata replicas: `kill -9` of the master makes sentinel promote a
//! replica, the other follows the new master partially (PSYNC2), every write
//! acknowledged with `WAIT 1` before the kill is on the new master, and the
//! old master, when restarted, is turned into a replica of the new one.
//! Also: redis-py's `Sentinel.master_for` keeps writing through a failover
//! (tests/py/sentinel_client.py), a replica with `replica-priority 0` is
//! never promoted, and sentinel sees a replica's `replica-announce-*`
//! address. The group machinery here is shared with `sentinel_mixed.rs`
//! (groups mixing Strata and redis-server) and `chain_failover.rs`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, Conn, Strata};
use crate::replica_sync::{info_field, snapshot, stat, wait_for, wait_for_or_explain};

/// A redis-sentinel process monitoring one or more masters.
pub(crate) struct Sentinel {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Sentinel {
    /// Monitors `mymaster` at `master_port` with quorum 2.
    pub(crate) fn start(master_port: u16) -> Sentinel {
        Sentinel::start_monitoring(&[("mymaster", master_port)])
    }

    /// Monitors each (name, port) with quorum 2, `down-after-milliseconds`
    /// 3000 and a short failover timeout. With 1000, a loaded CI machine
    /// once had one sentinel miss a just-promoted master's PONG for a second
    /// and start a second failover (the other sentinels' down flags from the
    /// first one still standing, so quorum came at once): the old master
    /// then followed the second new master, not the one the test expected.
    pub(crate) fn start_monitoring(masters: &[(&str, u16)]) -> Sentinel {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let conf = dir.path().join("sentinel.conf");
        let mut f = std::fs::File::create(&conf).expect("sentinel.conf");
        write!(
            f,
            "port {port}\nbind 127.0.0.1\ndir {dir}\nlogfile {dir}/sentinel.log\n",
            dir = dir.path().display()
        )
        .expect("write sentinel.conf");
        for (name, master_port) in masters {
            write!(
                f,
                "sentinel monitor {name} 127.0.0.1 {master_port} 2\n\
                 sentinel down-after-milliseconds {name} 3000\n\
                 sentinel failover-timeout {name} 10000\n\
                 sentinel parallel-syncs {name} 1\n"
            )
            .expect("write sentinel.conf");
        }
        drop(f);
        let child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-sentinel (apt install redis-sentinel)");
        let s = Sentinel { child, port, dir };
        wait_for("redis-sentinel to listen", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        s
    }

    pub(crate) fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// The last `lines` lines of this sentinel's log, for a failure's message.
    pub(crate) fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("sentinel.log")).unwrap_or_default();
        tail(&log, lines)
    }

    /// The port sentinel currently names as the master.
    pub(crate) fn master_port(&self) -> Option<u16> {
        let reply = self
            .conn()
            .cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
        crate::reply::bulk_items(&reply)
            .get(1)
            .and_then(|p| std::str::from_utf8(p).ok()?.parse().ok())
    }

    /// `SENTINEL MASTER name` as a field map.
    pub(crate) fn master_state(&self, name: &str) -> BTreeMap<String, String> {
        pairs(&self.conn().cmd(&["SENTINEL", "MASTER", name]))
    }

    /// `SENTINEL REPLICAS name`, one field map per replica.
    pub(crate) fn replicas(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let reply = self.conn().cmd(&["SENTINEL", "REPLICAS", name]);
        crate::reply::parse(&reply)
            .items
            .iter()
            .map(|i| pairs(i.raw))
            .collect()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A flat array of bulk strings (field, value, ...) as a map.
fn pairs(reply: &[u8]) -> BTreeMap<String, String> {
    let items = crate::reply::bulk_items(reply);
    items
        .chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| {
            (
                String::from_utf8_lossy(&c[0]).into_owned(),
                String::from_utf8_lossy(&c[1]).into_owned(),
            )
        })
        .collect()
}

/// What a group member runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Strata,
    Redis,
}

/// A redis-server on a fixed port that can be killed and started again (on
/// the same port, without persistence: it comes back empty, as a master).
pub(crate) struct RedisNode {
    child: Option<Child>,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
    args: Vec<String>,
}

impl RedisNode {
    pub(crate) fn start_with(extra: &[&str]) -> RedisNode {
        let mut n = RedisNode {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("tempdir"),
            args: extra.iter().map(|s| s.to_string()).collect(),
        };
        n.spawn();
        n
    }

    fn spawn(&mut self) {
        let log = self.dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--repl-diskless-sync-delay", "0"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (apt install redis-server)");
        self.child = Some(child);
        let port = self.port;
        wait_for("redis-server to listen", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub(crate) fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    /// The server's log so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }
}

impl Drop for RedisNode {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A Strata or redis-server process of a topology.
pub(crate) enum Node {
    Strata(Strata),
    Redis(RedisNode),
}

impl Node {
    pub(crate) fn start(kind: Kind, extra: &[&str]) -> Node {
        match kind {
            Kind::Strata => Node::Strata(Strata::start_with(extra)),
            Kind::Redis => Node::Redis(RedisNode::start_with(extra)),
        }
    }

    /// A replica of `master` (plus `extra` directives).
    pub(crate) fn replica_of(kind: Kind, master: u16, extra: &[&str]) -> Node {
        let mp = master.to_string();
        let mut args = vec!["--replicaof", "127.0.0.1", &mp];
        args.extend_from_slice(extra);
        Node::start(kind, &args)
    }

    pub(crate) fn kind(&self) -> Kind {
        match self {
            Node::Strata(_) => Kind::Strata,
            Node::Redis(_) => Kind::Redis,
        }
    }

    pub(crate) fn port(&self) -> u16 {
        match self {
            Node::Strata(s) => s.port,
            Node::Redis(r) => r.port,
        }
    }

    pub(crate) fn conn(&self) -> Conn {
        Conn::connect(self.port())
    }

    pub(crate) fn kill9(&mut self) {
        match self {
            Node::Strata(s) => s.kill9(),
            Node::Redis(r) => r.kill9(),
        }
    }

    /// Starts again on the same port: Strata with its data directory,
    /// redis-server empty (it runs without persistence).
    pub(crate) fn start_again(&mut self) {
        match self {
            Node::Strata(s) => s.start_again(),
            Node::Redis(r) => r.start_again(),
        }
    }

    /// redis-server's log so far (Strata logs to the test's stderr).
    pub(crate) fn log(&self) -> String {
        match self {
            Node::Strata(_) => String::new(),
            Node::Redis(r) => r.log(),
        }
    }

    /// An INFO replication field, read on a connection of its own (sentinel's
    /// reconfiguration kills normal clients).
    pub(crate) fn repl(&self, name: &str) -> Option<String> {
        info_field(&mut self.conn(), "replication", name)
    }

    /// An INFO stats counter.
    pub(crate) fn stat(&self, name: &str) -> u64 {
        stat(&mut self.conn(), name)
    }

    /// True when this node is a replica of `port` with its link up.
    pub(crate) fn follows(&self, port: u16) -> bool {
        // Sentinel's reconfiguration may kill this poll's connection
        // (CLIENT KILL TYPE normal): that reads as "not yet".
        let Some(info) = self.conn().try_cmd_str(&["INFO", "replication"]) else {
            return false;
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(str::trim)
        };
        field("role") == Some("slave")
            && field("master_port") == Some(port.to_string().as_str())
            && field("master_link_status") == Some("up")
    }
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn role(n: &Node) -> String {
    n.repl("role").unwrap_or_default()
}

/// Keys of db 0 written before the kill and acknowledged by `WAIT 1`.
pub(crate) const ACKED: usize = 300;

/// A master, two replicas and three sentinels that know all of them.
pub(crate) struct Group {
    pub(crate) master: Node,
    pub(crate) replicas: Vec<Node>,
    pub(crate) sentinels: Vec<Sentinel>,
}

impl Group {
    /// Starts the master, the replicas (each with its own extra directives)
    /// and three sentinels, and waits until every sentinel knows both
    /// replicas and the two other sentinels (which they learn through the
    /// hello channel, PUBLISH/SUBSCRIBE on the master and replicas).
    pub(crate) fn start(master: Kind, replicas: &[(Kind, &[&str])]) -> Group {
        let master = Node::start(master, &[]);
        let replicas: Vec<Node> = replicas
            .iter()
            .map(|(k, extra)| Node::replica_of(*k, master.port(), extra))
            .collect();
        let n = replicas.len().to_string();
        wait_for("the replicas online", 60, || {
            master.repl("connected_slaves").as_deref() == Some(n.as_str())
        });
        let sentinels: Vec<Sentinel> = (0..3).map(|_| Sentinel::start(master.port())).collect();
        wait_for("sentinels to find the replicas and each other", 90, || {
            sentinels.iter().all(|s| {
                let m = s.master_state("mymaster");
                m.get("num-slaves") == Some(&n)
                    && m.get("num-other-sentinels").map(String::as_str) == Some("2")
            })
        });
        Group {
            master,
            replicas,
            sentinels,
        }
    }

    /// Writes [`ACKED`] keys on the master and waits until a replica
    /// acknowledged them all (`WAIT 1`).
    pub(crate) fn write_acknowledged(&self) {
        let mut mc = self.master.conn();
        for i in 0..ACKED {
            mc.cmd(&["SET", &format!("acked{i}"), &i.to_string()]);
        }
        let waited = crate::reply::integer_of(&mc.cmd(&["WAIT", "1", "10000"]));
        assert!(waited.is_some_and(|n| n >= 1), "WAIT: {waited:?}");
    }

    /// Waits until every replica reached the master's offset. A test that
    /// expects the other replica to continue partially with the promoted
    /// one needs this: a replica that holds bytes the promoted one never
    /// got asks for an offset past the end of the old master's id there
    /// and takes a full resync, as it would with Redis (WAIT 1 only
    /// promises one replica, and sentinel may promote the other one when
    /// their offsets last looked equal).
    pub(crate) fn wait_replicas_caught_up(&self) {
        let mut mc = self.master.conn();
        wait_for("every replica at the master's offset", 60, || {
            let off = info_field(&mut mc, "replication", "master_repl_offset");
            self.replicas
                .iter()
                .all(|r| r.repl("slave_repl_offset") == off)
        });
    }

    /// `kill -9` of the master; waits until two sentinels name the same new
    /// master and it says `role:master`. Returns the promoted replica's index.
    pub(crate) fn kill_master_and_wait_promotion(&mut self) -> usize {
        let old = self.master.port();
        self.master.kill9();
        let promoted = self.wait_promotion(old);
        let n = &self.replicas[promoted];
        wait_for("the promoted replica to be a master", 30, || {
            role(n) == "master"
        });
        promoted
    }

    /// Waits until sentinels 0 and 1 name the same master other than `old`.
    fn wait_promotion(&self, old: u16) -> usize {
        let mut new_port = None;
        wait_for("sentinel to promote a replica", 120, || {
            new_port = self.sentinels[0]
                .master_port()
                .filter(|&p| p != old && self.sentinels[1].master_port() == Some(p));
            new_port.is_some()
        });
        let new_port = new_port.expect("new master");
        self.replicas
            .iter()
            .position(|r| r.port() == new_port)
            .unwrap_or_else(|| panic!("sentinel names {new_port}, not a replica"))
    }

    /// Every acknowledged write is on `node`.
    pub(crate) fn assert_acknowledged_on(&self, node: &Node) {
        let mut c = node.conn();
        for i in 0..ACKED {
            assert_eq!(
                c.cmd(&["GET", &format!("acked{i}")]),
                format!("${}\r\n{i}\r\n", i.to_string().len()).into_bytes(),
                "acked{i} on the new master ({:?})",
                node.kind()
            );
        }
    }
}

/// What a failover of a [`Group`] did, for the tests' assertions and log.
pub(crate) struct Outcome {
    pub(crate) promoted: usize,
    /// The new master's `sync_full` / `sync_partial_ok` once the other
    /// replica follows it.
    pub(crate) follower_full: u64,
    pub(crate) follower_partial: u64,
    /// The same after the old master rejoined.
    pub(crate) rejoin_full: u64,
    pub(crate) rejoin_partial: u64,
    /// The restarted old master's offset grew while it was a master again
    /// (sentinel's hello messages), so a partial resync was impossible.
    pub(crate) rejoin_diverged: bool,
}

/// The whole scenario on a started group: acknowledged writes (and every
/// replica at the master's offset, see
/// [`Group::wait_replicas_caught_up`]), `kill -9` of the master, promotion, the other replica follows, a write on the new
/// master reaches it, the old master restarted rejoins as a replica of the
/// new one and ends with the same keyspace.
pub(crate) fn fail_over(g: &mut Group) -> Outcome {
    g.write_acknowledged();
    g.wait_replicas_caught_up();
    let old_port = g.master.port();
    let t = Instant::now();
    let promoted = g.kill_master_and_wait_promotion();
    eprintln!(
        "failover: {:?} replica on {} promoted after {:.1} s",
        g.replicas[promoted].kind(),
        g.replicas[promoted].port(),
        t.elapsed().as_secs_f64()
    );
    let new_master = &g.replicas[promoted];
    let new_port = new_master.port();
    g.assert_acknowledged_on(new_master);
    for (i, r) in g.replicas.iter().enumerate() {
        if i != promoted {
            wait_for("the other replica to follow the new master", 90, || {
                r.follows(new_port)
            });
        }
    }
    let (follower_full, follower_partial) = (
        new_master.stat("sync_full"),
        new_master.stat("sync_partial_ok"),
    );
    assert_eq!(
        new_master.conn().cmd(&["SET", "after-failover", "1"]),
        b"+OK\r\n"
    );
    for (i, r) in g.replicas.iter().enumerate() {
        if i != promoted {
            wait_for(
                "a write on the new master to reach the other replica",
                30,
                || r.conn().cmd(&["GET", "after-failover"]) == b"$1\r\n1\r\n",
            );
        }
    }

    // The old master comes back and sentinel makes it a replica of the new
    // one (after its 8 s grace period). Sentinel's reconfiguration ends with
    // CLIENT KILL TYPE normal, so each poll uses a connection of its own.
    g.master.start_again();
    assert_eq!(g.master.port(), old_port);
    // While it is a master again (sentinel waits some seconds before it
    // reconfigures it), does its offset move? Sentinel's hello PUBLISHes
    // are propagated into its stream when it keeps one (Strata always
    // does), which puts it past where the new master took over.
    let restarted_at = g.master.repl("master_repl_offset");
    let mut moved_to = None;
    // Bounded generously: on a loaded 2-core CI machine sentinel can enter
    // TILT mode (its timer ran late) and then acts on nothing for 30 s.
    let explain = || {
        let mut out = String::new();
        for (name, node) in std::iter::once(("old master", &g.master))
            .chain(g.replicas.iter().map(|r| ("replica", r)))
        {
            // A node that is down gets no connection (`conn` would panic
            // and lose the rest of the explanation).
            let up = std::net::TcpStream::connect(("127.0.0.1", node.port())).is_ok();
            let info = up
                .then(|| node.conn().try_cmd_str(&["INFO", "replication"]))
                .flatten()
                .unwrap_or_else(|| "(not answering)".into());
            out += &format!(
                "--- {name} {:?} on {}:\n{info}\n{}\n",
                node.kind(),
                node.port(),
                tail(&node.log(), 40)
            );
        }
        for (i, s) in g.sentinels.iter().enumerate() {
            out += &format!("--- sentinel {i}:\n{}\n", s.log_tail(40));
        }
        out
    };
    wait_for_or_explain(
        "the old master to rejoin as a replica",
        240,
        || {
            let Some(info) = g.master.conn().try_cmd_str(&["INFO", "replication"]) else {
                return false;
            };
            if info.contains("role:master\r\n") {
                let off = info
                    .lines()
                    .find_map(|l| l.strip_prefix("master_repl_offset:"))
                    .map(|v| v.trim().to_string());
                if off != restarted_at {
                    moved_to = off;
                }
            }
            g.master.follows(new_port)
        },
        explain,
    );
    if let Some(off) = &moved_to {
        eprintln!(
            "the restarted old master's offset moved from {restarted_at:?} to {off} before it became a replica"
        );
    }
    wait_for("the old master to get the new write", 30, || {
        g.master.conn().cmd(&["GET", "after-failover"]) == b"$1\r\n1\r\n"
    });
    let mut nc = new_master.conn();
    wait_for(
        "the old master to reach the new master's offset",
        60,
        || {
            g.master.repl("master_repl_offset")
                == info_field(&mut nc, "replication", "master_repl_offset")
        },
    );
    assert_eq!(
        snapshot(&mut nc, 0),
        snapshot(&mut g.master.conn(), 0),
        "the old master's keyspace equals the new master's"
    );
    Outcome {
        promoted,
        follower_full,
        follower_partial,
        rejoin_full: new_master.stat("sync_full"),
        rejoin_partial: new_master.stat("sync_partial_ok"),
        rejoin_diverged: moved_to.is_some(),
    }
}

#[test]
fn sentinel_fails_over_a_strata_group_and_keeps_acknowledged_writes() {
    let mut g = Group::start(Kind::Strata, &[(Kind::Strata, &[]), (Kind::Strata, &[])]);
    let o = fail_over(&mut g);
    eprintln!(
        "all-Strata group: follower sync full/partial {}/{}, after rejoin {}/{}",
        o.follower_full, o.follower_partial, o.rejoin_full, o.rejoin_partial
    );
    // The other replica continues with PSYNC2 (the promoted replica keeps
    // the old master's id as replid2).
    assert_eq!(
        o.follower_full, 0,
        "the other replica needed no full resync"
    );
    assert_eq!(o.follower_partial, 1, "the other replica resumed partially");
    // The restarted old master asks for its own id at its own offset: a
    // partial resync unless sentinel's hello PUBLISHes moved its stream on
    // while it was a master again (see sentinel_mixed.rs).
    if !o.rejoin_diverged {
        assert_eq!(
            o.rejoin_full, 0,
            "the restarted old master resumed partially"
        );
    }
}

/// A replica with `replica-priority 0` is never promoted, even when it
/// would win on priority otherwise (the other replica has priority 100;
/// lower wins): sentinel promotes the other one, and the priority-0 replica
/// follows it.
#[test]
fn sentinel_never_promotes_a_replica_with_priority_0() {
    let mut g = Group::start(
        Kind::Strata,
        &[
            (Kind::Strata, &["--replica-priority", "0"]),
            (Kind::Strata, &["--replica-priority", "100"]),
        ],
    );
    // Each sentinel reads the priorities from the replicas' own INFO.
    for s in &g.sentinels {
        wait_for("sentinel to read both replicas' priorities", 60, || {
            let listed = s.replicas("mymaster");
            let priority = |port: u16| {
                listed
                    .iter()
                    .find(|r| r.get("port") == Some(&port.to_string()))
                    .and_then(|r| r.get("slave-priority").cloned())
            };
            priority(g.replicas[0].port()).as_deref() == Some("0")
                && priority(g.replicas[1].port()).as_deref() == Some("100")
        });
    }
    g.write_acknowledged();
    g.wait_replicas_caught_up();
    let promoted = g.kill_master_and_wait_promotion();
    assert_eq!(promoted, 1, "the replica with priority 100 was promoted");
    g.assert_acknowledged_on(&g.replicas[1]);
    let new_port = g.replicas[1].port();
    wait_for(
        "the priority-0 replica to follow the new master",
        90,
        || g.replicas[0].follows(new_port),
    );
}

/// A Strata replica with `replica-announce-ip` / `replica-announce-port`:
/// its master (Strata or redis-server) lists the announced address in
/// `slaveN`, and sentinel, which discovers replicas from that line, lists
/// it under the announced address.
#[test]
fn sentinel_sees_a_strata_replicas_announced_address() {
    let strata_master = Node::start(Kind::Strata, &[]);
    let redis_master = Node::start(Kind::Redis, &[]);
    let announced_port = free_port().to_string();
    let announce = [
        "--replica-announce-ip",
        "127.0.0.9",
        "--replica-announce-port",
        &announced_port,
    ];
    let _replicas = [
        Node::replica_of(Kind::Strata, strata_master.port(), &announce),
        Node::replica_of(Kind::Strata, redis_master.port(), &announce),
    ];
    let expected = format!("ip=127.0.0.9,port={announced_port},");
    for m in [&strata_master, &redis_master] {
        wait_for("the master to list the announced address", 60, || {
            m.repl("slave0").is_some_and(|v| v.starts_with(&expected))
        });
    }
    let s = Sentinel::start_monitoring(&[
        ("strata", strata_master.port()),
        ("redis", redis_master.port()),
    ]);
    for name in ["strata", "redis"] {
        wait_for("sentinel to list the announced address", 60, || {
            s.replicas(name).iter().any(|r| {
                r.get("ip").map(String::as_str) == Some("127.0.0.9")
                    && r.get("port") == Some(&announced_port)
            })
        });
    }
}

/// Whether `python3` with redis-py is here. In CI (CI=true) they must be:
/// scripts/test.sh installs redis-py.
pub(crate) fn redis_py_available() -> Result<(), String> {
    let out = Command::new("python3")
        .args(["-c", "import redis, sys; print(redis.__version__)"])
        .output();
    let why = match out {
        Ok(o) if o.status.success() => return Ok(()),
        Ok(o) => format!(
            "python3 cannot import redis (pip install redis): {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("no python3: {e}"),
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why} (required in CI; scripts/test.sh installs it)");
    }
    Err(why)
}

fn py_script() -> String {
    format!("{}/tests/py/sentinel_client.py", env!("CARGO_MANIFEST_DIR"))
}

/// redis-py's `Sentinel(...).master_for("mymaster")` writes in a loop
/// through a failover (tests/py/sentinel_client.py); it retries on
/// connection errors for a bounded time and exits 0 once it has written to
/// a master other than the first. Each key it reports written on the new
/// master must be there.
#[test]
fn redis_py_sentinel_client_keeps_writing_through_a_failover() {
    py_client_through_failover(
        "redis_py_sentinel_client_keeps_writing_through_a_failover",
        Kind::Strata,
    );
}

/// The same with a redis-server master and Strata replicas: the client
/// moves from Redis to Strata.
#[test]
fn redis_py_sentinel_client_moves_from_a_redis_master_to_strata() {
    py_client_through_failover(
        "redis_py_sentinel_client_moves_from_a_redis_master_to_strata",
        Kind::Redis,
    );
}

fn py_client_through_failover(test: &str, master: Kind) {
    if let Err(why) = redis_py_available() {
        eprintln!("SKIPPED {test}: {why}");
        return;
    }
    let mut g = Group::start(master, &[(Kind::Strata, &[]), (Kind::Strata, &[])]);
    let (status, lines) = run_py_client(&mut g);
    for l in lines.iter().filter(|l| !l.starts_with("written ")) {
        eprintln!("sentinel_client.py: {l}");
    }
    assert!(
        status.success(),
        "sentinel_client.py: {status}\n{}",
        lines.join("\n")
    );
    let new_port = g.sentinels[0].master_port().expect("master");
    let new_master = g
        .replicas
        .iter()
        .find(|r| r.port() == new_port)
        .expect("a replica is the master");
    // "written <key> <port>": every write the client saw succeed on the
    // new master is there.
    let mut on_new = 0;
    let mut c = new_master.conn();
    for l in &lines {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() == 3 && w[0] == "written" && w[2] == new_port.to_string() {
            assert_eq!(
                c.cmd(&["GET", w[1]]),
                format!("${}\r\n{}\r\n", w[1].len(), w[1]).into_bytes(),
                "{} on the new master",
                w[1]
            );
            on_new += 1;
        }
    }
    eprintln!(
        "sentinel_client.py: {} writes, {on_new} of them on the new master {new_port}",
        lines.iter().filter(|l| l.starts_with("written ")).count()
    );
    assert!(
        on_new >= 1,
        "no write on the new master:\n{}",
        lines.join("\n")
    );
}

/// Starts the client script against the group's sentinels, kills the master
/// once it wrote through the first master, and collects its output.
fn run_py_client(g: &mut Group) -> (std::process::ExitStatus, Vec<String>) {
    let addrs: Vec<String> = g
        .sentinels
        .iter()
        .map(|s| format!("127.0.0.1:{}", s.port))
        .collect();
    let mut child = Command::new("python3")
        .arg(py_script())
        .args(["--sentinels", &addrs.join(","), "--name", "mymaster"])
        .args(["--seconds", "150"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start python3 tests/py/sentinel_client.py");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let old = g.master.port().to_string();
    // Wait for a write through the first master, then kill it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let l = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("the client wrote nothing: {lines:?}"));
        let first_write = l.starts_with("written ") && l.ends_with(&format!(" {old}"));
        lines.push(l);
        if first_write {
            break;
        }
    }
    g.kill_master_and_wait_promotion();
    // The script gives up by itself after --seconds; this bound is above it.
    let deadline = Instant::now() + Duration::from_secs(200);
    let status = loop {
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("sentinel_client.py did not finish:\n{}", lines.join("\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    reader.join().expect("reader");
    lines.extend(rx.try_iter());
    (status, lines)
}
