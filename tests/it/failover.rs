//! FAILOVER, Redis 7.0's coordinated failover, with real processes: a
//! Strata master hands over to a Redis replica and to a Strata replica, a
//! Redis master hands over to a Strata replica (which must understand
//! `PSYNC ... FAILOVER`), each ending in a partial resync; writes held by
//! the failover's pause are refused as READONLY afterwards; while a
//! failover waits the offset stands still; TIMEOUT aborts, ABORT aborts,
//! and the argument errors match Redis byte for byte.

use std::time::Duration;

use crate::common::{Conn, Diff, Redis, Strata};
use crate::replica_sync::{info_field, stat, wait_for};

fn repl(c: &mut Conn, name: &str) -> String {
    info_field(c, "replication", name).unwrap_or_else(|| panic!("no {name}"))
}

fn offset(c: &mut Conn) -> u64 {
    repl(c, "master_repl_offset").parse().expect("offset")
}

fn wait_online(master: &mut Conn, replicas: usize) {
    wait_for("replicas online and caught up", 60, || {
        let off = offset(master);
        (0..replicas).all(|i| {
            info_field(master, "replication", &format!("slave{i}")).is_some_and(|l| {
                l.contains("state=online") && l.contains(&format!("offset={off},"))
            })
        })
    });
}

fn role(c: &mut Conn) -> String {
    repl(c, "role")
}

/// Asks master `a` to hand over to its replica `b` (on `b_port`), waits for
/// the hand-over and checks that `b` keeps `a`'s id as its second one.
fn fail_over_to(a: &mut Conn, b: &mut Conn, b_port: &str) {
    let old_id = repl(a, "master_replid");
    assert_eq!(
        a.cmd(&["failover", "to", "127.0.0.1", b_port, "timeout", "20000"]),
        b"+OK\r\n"
    );
    wait_handed_over(a, b);
    assert_eq!(repl(b, "master_replid2"), old_id);
}

/// Waits until `b` is the master, `a` follows it and `a`'s failover ended.
fn wait_handed_over(a: &mut Conn, b: &mut Conn) {
    wait_for("B to become master and A its replica", 60, || {
        role(b) == "master"
            && info_field(a, "replication", "master_link_status").as_deref() == Some("up")
            && repl(a, "master_failover_state") == "no-failover"
    });
}

#[test]
fn failover_errors_match_redis() {
    let mut d = Diff::new();
    for args in [
        &["failover"][..],
        &["failover", "abort"],
        &["failover", "timeout", "0"],
        &["failover", "timeout", "-5"],
        &["failover", "timeout", "abc"],
        &["failover", "to", "127.0.0.1", "x"],
        &["failover", "force"],
        &["failover", "bogus"],
        &["failover", "to", "127.0.0.1"],
        &["failover", "timeout", "10", "timeout", "10"],
        &["failover", "force", "timeout", "100"],
        &["failover", "abort", "now"],
    ] {
        d.check(args);
    }
}

/// A Strata master fails over to its Redis replica: the replica becomes the
/// master, Strata follows it partially with its offset unchanged, and
/// writes that waited on the failover's pause get READONLY.
#[test]
fn strata_master_fails_over_to_a_redis_replica() {
    let strata = Strata::start_with(&["--repl-diskless-sync-delay", "0"]);
    let mut m = strata.conn();
    let redis = Redis::start_with(&["--replicaof", "127.0.0.1", &strata.port.to_string()]);
    let mut r = redis.conn();
    for i in 0..200 {
        m.cmd(&["set", &format!("k{i}"), &i.to_string()]);
    }
    wait_online(&mut m, 1);
    let before = offset(&mut m);
    let full_before = stat(&mut m, "sync_full");

    assert_eq!(m.cmd(&["failover"]), b"+OK\r\n");
    wait_for("the Redis replica to become master", 60, || {
        role(&mut r) == "master"
            && info_field(&mut m, "replication", "master_link_status").as_deref() == Some("up")
    });
    wait_for("the failover to end", 30, || {
        repl(&mut m, "master_failover_state") == "no-failover"
    });
    assert_eq!(role(&mut m), "slave");
    assert_eq!(
        stat(&mut r, "sync_partial_ok"),
        1,
        "Strata resynced partially"
    );
    assert_eq!(stat(&mut r, "sync_full"), 0);
    assert_eq!(stat(&mut m, "sync_full"), full_before);
    // Same history: the new master's id is Strata's, the old one its replid2.
    assert_eq!(repl(&mut m, "master_replid"), repl(&mut r, "master_replid"));
    assert!(offset(&mut r) >= before);
    assert_eq!(
        m.cmd(&["set", "after", "1"]),
        b"-READONLY You can't write against a read only replica.\r\n"
    );
    r.cmd(&["set", "from-new-master", "yes"]);
    wait_for("the write to reach Strata", 30, || {
        m.cmd(&["get", "from-new-master"]) == b"$3\r\nyes\r\n"
    });
    assert_eq!(m.cmd(&["get", "k199"]), b"$3\r\n199\r\n");
}

/// Strata -> Strata in both roles, with TO: the target promotes itself on
/// `PSYNC <replid> <offset> FAILOVER`.
#[test]
fn strata_to_strata_failover_with_target() {
    let a = Strata::start_with(&["--repl-diskless-sync-delay", "0"]);
    let b = Strata::start_with(&["--replicaof", "127.0.0.1", &a.port.to_string()]);
    let (mut ca, mut cb) = (a.conn(), b.conn());
    for i in 0..100 {
        ca.cmd(&["rpush", "list", &i.to_string()]);
    }
    wait_online(&mut ca, 1);
    assert_eq!(
        ca.cmd(&["failover", "to", "127.0.0.1", "1"]),
        b"-ERR FAILOVER target HOST and PORT is not a replica.\r\n"
    );
    fail_over_to(&mut ca, &mut cb, &b.port.to_string());
    assert_eq!(stat(&mut cb, "sync_partial_ok"), 1);
    assert_eq!(stat(&mut cb, "sync_full"), 0);
    cb.cmd(&["rpush", "list", "new"]);
    wait_for("A to follow B", 30, || {
        ca.cmd(&["llen", "list"]) == b":101\r\n"
    });
    assert_eq!(
        cb.cmd(&["failover", "abort"]),
        b"-ERR No failover in progress.\r\n"
    );
    assert_eq!(
        ca.cmd(&["failover"]),
        b"-ERR FAILOVER is not valid when server is a replica.\r\n"
    );
}

/// A master that never wrote (offset 0) still names its stream: the
/// handover asks `PSYNC <id> 1 FAILOVER`, not `PSYNC ? -1`, and the target
/// accepts it (it refused a `?` id before).
#[test]
fn failover_at_offset_zero_hands_over() {
    let a = Strata::start_with(&["--repl-diskless-sync-delay", "0"]);
    let b = Strata::start_with(&["--replicaof", "127.0.0.1", &a.port.to_string()]);
    let (mut ca, mut cb) = (a.conn(), b.conn());
    wait_for("B to be online", 60, || {
        info_field(&mut ca, "replication", "slave0").is_some_and(|l| l.contains("state=online"))
            && info_field(&mut cb, "replication", "master_link_status").as_deref() == Some("up")
    });
    fail_over_to(&mut ca, &mut cb, &b.port.to_string());
    assert_eq!(stat(&mut cb, "sync_full"), 0);
}

/// A Redis master fails over to its Strata replica.
#[test]
fn redis_master_fails_over_to_a_strata_replica() {
    let redis = Redis::start();
    let mut r = redis.conn();
    let strata = Strata::start_with(&["--replicaof", "127.0.0.1", &redis.port.to_string()]);
    let mut s = strata.conn();
    for i in 0..100 {
        r.cmd(&["hset", "h", &format!("f{i}"), "v"]);
    }
    wait_online(&mut r, 1);
    let port = strata.port.to_string();
    assert_eq!(r.cmd(&["failover", "to", "127.0.0.1", &port]), b"+OK\r\n");
    wait_for("Strata to become master and Redis its replica", 60, || {
        role(&mut s) == "master"
            && info_field(&mut r, "replication", "master_link_status").as_deref() == Some("up")
            && repl(&mut r, "master_failover_state") == "no-failover"
    });
    assert_eq!(
        stat(&mut s, "sync_partial_ok"),
        1,
        "Redis resynced partially"
    );
    assert_eq!(stat(&mut s, "sync_full"), 0);
    s.cmd(&["hset", "h", "new", "v"]);
    wait_for("Redis to follow Strata", 30, || {
        r.cmd(&["hlen", "h"]) == b":101\r\n"
    });
}

/// While a failover waits for a replica that does not acknowledge, writes
/// are held and the offset stands still (no pings either); TIMEOUT without
/// FORCE aborts, the held write then runs. ABORT works the same way.
#[test]
fn a_waiting_failover_freezes_the_offset_until_it_times_out() {
    let strata = Strata::start_with(&[
        "--repl-diskless-sync-delay",
        "0",
        "--repl-ping-replica-period",
        "1",
    ]);
    let mut m = strata.conn();
    let redis = Redis::start_with(&["--replicaof", "127.0.0.1", &strata.port.to_string()]);
    m.cmd(&["set", "a", "1"]);
    wait_online(&mut m, 1);
    // The replica stops acknowledging.
    redis.signal(libc::SIGSTOP);
    m.cmd(&["set", "b", "2"]);
    let frozen = offset(&mut m);
    assert_eq!(m.cmd(&["failover", "timeout", "3000"]), b"+OK\r\n");
    assert_eq!(repl(&mut m, "master_failover_state"), "waiting-for-sync");
    assert_eq!(
        m.cmd(&["failover"]),
        b"-ERR FAILOVER already in progress.\r\n"
    );
    assert_eq!(
        m.cmd(&["replicaof", "127.0.0.1", "1"]),
        b"-ERR REPLICAOF not allowed while failing over.\r\n"
    );
    // CLIENT UNPAUSE does not lift the failover's pause.
    assert_eq!(m.cmd(&["client", "unpause"]), b"+OK\r\n");
    let mut writer = strata.conn();
    writer.send(&[b"set", b"held", b"1"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        offset(&mut m),
        frozen,
        "the offset moved during the failover"
    );
    assert_eq!(m.cmd(&["get", "held"]), b"$-1\r\n");
    // Reads are not held.
    assert_eq!(m.cmd(&["get", "b"]), b"$1\r\n2\r\n");
    assert_eq!(
        writer.read_reply(),
        b"+OK\r\n",
        "the held write ran after the abort"
    );
    assert_eq!(repl(&mut m, "master_failover_state"), "no-failover");
    assert_eq!(role(&mut m), "master");

    assert_eq!(m.cmd(&["failover"]), b"+OK\r\n");
    writer.send(&[b"set", b"held2", b"1"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(m.cmd(&["failover", "abort"]), b"+OK\r\n");
    assert_eq!(writer.read_reply(), b"+OK\r\n");
    redis.signal(libc::SIGCONT);
}
