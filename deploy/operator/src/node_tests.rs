//! The node-level actions against real strata-server processes on loopback:
//! a master and two replicas, REPLICAOF, INFO/ROLE as the decisions read
//! them, promotion, FAILOVER hand-over and CONFIG SET hot vs cold. The
//! server binary is $STRATA_SERVER, else the workspace's
//! target/release/strata-server; without one the tests print SKIPPED and
//! pass, except in CI (CI=true), where they fail.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::info::{Endpoint, Role};
use crate::node::Nodes;

fn server_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("STRATA_SERVER") {
        return Some(PathBuf::from(p));
    }
    // target/release/deps/strata_operator-... -> target/release/strata-server
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.parent()?.join("strata-server");
    candidate.exists().then_some(candidate)
}

/// A strata-server on a free loopback port, killed (by its pid) on drop.
struct Server {
    child: Child,
    endpoint: Endpoint,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One command to a test server; an error reply fails the test.
async fn command(s: &Server, args: &[&str]) -> crate::resp::Reply {
    let mut c = crate::resp::Conn::open("127.0.0.1", s.endpoint.port, None, Duration::from_secs(3))
        .await
        .expect("connect");
    c.ok(args).await.expect("command succeeds")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start(bin: &PathBuf) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir.path())
        .args(["--loglevel", "warning", "--repl-diskless-sync-delay", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strata-server starts");
    let server = Server {
        child,
        endpoint: Endpoint::new("127.0.0.1", port),
        _dir: dir,
    };
    let nodes = Nodes::new(None);
    wait_until(Duration::from_secs(20), "the server answers", || async {
        nodes.state(&server.endpoint).await.is_ok()
    })
    .await;
    server
}

async fn wait_until<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {within:?} waiting until {what}");
}

fn binary_or_skip(test: &str) -> Option<PathBuf> {
    match server_binary() {
        Some(b) => Some(b),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: no strata-server binary (set STRATA_SERVER)")
        }
        None => {
            eprintln!("SKIPPED {test}: no strata-server binary (set STRATA_SERVER)");
            None
        }
    }
}

async fn group(bin: &PathBuf, nodes: &Nodes) -> (Server, Server, Server) {
    let (m, a, b) = (start(bin).await, start(bin).await, start(bin).await);
    nodes
        .replicaof(&a.endpoint, &m.endpoint)
        .await
        .expect("REPLICAOF");
    nodes
        .replicaof(&b.endpoint, &m.endpoint)
        .await
        .expect("REPLICAOF");
    for r in [&a, &b] {
        wait_until(
            Duration::from_secs(30),
            "the replica is in sync",
            || async {
                nodes
                    .state(&r.endpoint)
                    .await
                    .is_ok_and(|s| s.in_sync() && s.follows(&m.endpoint))
            },
        )
        .await;
    }
    (m, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicaof_info_role_and_promotion_on_real_nodes() {
    let Some(bin) = binary_or_skip("replicaof_info_role_and_promotion_on_real_nodes") else {
        return;
    };
    let nodes = Nodes::new(None);
    let (m, a, b) = group(&bin, &nodes).await;

    let ms = nodes.state(&m.endpoint).await.expect("INFO of the master");
    assert_eq!(ms.role, Role::Master);
    assert_eq!(ms.connected_replicas, 2);
    assert_eq!(nodes.role(&a.endpoint).await.expect("ROLE"), Role::Replica);

    // A write moves the master's offset; the replicas reach it.
    command(&m, &["SET", "k", "v"]).await;
    let target = nodes.state(&m.endpoint).await.expect("INFO").offset;
    assert!(target > 0);
    wait_until(
        Duration::from_secs(10),
        "replica offsets catch up",
        || async {
            nodes
                .state(&a.endpoint)
                .await
                .is_ok_and(|s| s.offset >= target)
        },
    )
    .await;

    // The master dies; promote a replica and repoint the other, as the
    // no-sentinel failover does.
    drop(m);
    nodes.promote(&a.endpoint).await.expect("promote");
    assert_eq!(nodes.role(&a.endpoint).await.expect("ROLE"), Role::Master);
    nodes
        .replicaof(&b.endpoint, &a.endpoint)
        .await
        .expect("REPLICAOF the new master");
    wait_until(Duration::from_secs(30), "b follows a", || async {
        nodes
            .state(&b.endpoint)
            .await
            .is_ok_and(|s| s.in_sync() && s.follows(&a.endpoint))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_over_swaps_master_and_replica_with_failover() {
    let Some(bin) = binary_or_skip("hand_over_swaps_master_and_replica_with_failover") else {
        return;
    };
    let nodes = Nodes::new(None);
    let (m, a, _b) = group(&bin, &nodes).await;
    // A master with data (a master still at offset 0 fails FAILOVER's
    // PSYNC; see the issue note).
    command(&m, &["SET", "handed", "over"]).await;
    nodes
        .hand_over(&m.endpoint, &a.endpoint, Duration::from_secs(10))
        .await
        .expect("FAILOVER hand-over");
    assert_eq!(nodes.role(&a.endpoint).await.expect("ROLE"), Role::Master);
    let old = nodes.state(&m.endpoint).await.expect("INFO");
    assert!(
        old.follows(&a.endpoint),
        "old master follows the new one: {old:?}"
    );
    assert_eq!(
        command(&a, &["GET", "handed"]).await,
        crate::resp::Reply::Bulk(b"over".to_vec())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_set_applies_hot_directives_and_refuses_cold_ones() {
    let Some(bin) = binary_or_skip("config_set_applies_hot_directives_and_refuses_cold_ones")
    else {
        return;
    };
    let nodes = Nodes::new(None);
    let s = start(&bin).await;
    nodes
        .config_set(&s.endpoint, &[("maxclients".into(), "777".into())])
        .await
        .expect("maxclients is hot");
    let got = nodes
        .config_get(&s.endpoint, &["maxclients"])
        .await
        .expect("CONFIG GET");
    assert_eq!(got.get("maxclients").map(String::as_str), Some("777"));
    let cold = nodes
        .config_set(
            &s.endpoint,
            &[("rocksdb.block-cache-size".into(), "1mb".into())],
        )
        .await;
    assert!(cold.is_err(), "an immutable directive needs a restart");
}
