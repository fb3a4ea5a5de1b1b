//! Replicas that need a full resync at about the same time share one
//! snapshot and one RDB encoding, as Redis shares one BGSAVE child:
//! diskless replicas arriving within `repl-diskless-sync-delay` form one
//! group, `repl-diskless-sync-max-replicas` starts the group as soon as it
//! is full, and every member ends up with the master's data.

use crate::common::{Conn, Redis, Strata};
use crate::replica_sync::{info_field, snapshot, wait_for};

fn strata_with_log(extra: &[&str]) -> (Strata, tempfile::TempDir) {
    let logdir = tempfile::tempdir().expect("tempdir");
    let log = logdir.path().join("strata.log");
    let mut args: Vec<&str> = vec!["--logfile", log.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    (Strata::start_with(&args), logdir)
}

fn log_of(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("strata.log")).unwrap_or_default()
}

fn online_replicas(m: &mut Conn) -> usize {
    (0..8)
        .filter(|i| {
            info_field(m, "replication", &format!("slave{i}"))
                .is_some_and(|l| l.contains("state=online"))
        })
        .count()
}

fn fill(m: &mut Conn) {
    for i in 0..500 {
        m.cmd(&["set", &format!("s{i}"), &"x".repeat(100)]);
        m.cmd(&["hset", "h", &format!("f{i}"), &i.to_string()]);
    }
}

#[test]
fn replicas_arriving_within_the_delay_share_one_rdb() {
    let (strata, logdir) = strata_with_log(&["--repl-diskless-sync-delay", "3"]);
    let mut m = strata.conn();
    fill(&mut m);
    let port = strata.port.to_string();
    let a = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    let b = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    wait_for("both replicas online", 60, || online_replicas(&mut m) == 2);
    let log = log_of(&logdir);
    let starts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Starting BGSAVE for SYNC"))
        .collect();
    assert_eq!(starts.len(), 1, "one RDB for both replicas: {starts:?}");
    assert!(starts[0].contains("(2 replicas"), "{starts:?}");
    m.cmd(&["set", "after", "1"]);
    let want = snapshot(&mut m, 0);
    for r in [&a, &b] {
        let mut c = r.conn();
        wait_for("the replica to catch up", 30, || {
            c.cmd(&["get", "after"]) == b"$1\r\n1\r\n"
        });
        assert_eq!(snapshot(&mut c, 0), want);
    }
}

#[test]
fn a_full_group_starts_before_the_delay() {
    // A 60 s delay that the test never waits out: the group of two starts
    // as soon as the second replica joins.
    let (strata, logdir) = strata_with_log(&[
        "--repl-diskless-sync-delay",
        "60",
        "--repl-diskless-sync-max-replicas",
        "2",
    ]);
    let mut m = strata.conn();
    fill(&mut m);
    let port = strata.port.to_string();
    let _a = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    let _b = Redis::start_with(&["--replicaof", "127.0.0.1", &port]);
    wait_for("both replicas online well before 60 s", 40, || {
        online_replicas(&mut m) == 2
    });
    assert!(log_of(&logdir).contains("(2 replicas"));
}
