//! Failover inside a relay chain A -> B -> C ends with partial resyncs
//! wherever Redis's PSYNC2 allows one:
//!
//! - promoting the relay B (`REPLICAOF NO ONE`): B keeps A's id as replid2,
//!   its replica C reconnects and continues partially (learning B's new id
//!   from `+CONTINUE`), and the old master A, re-pointed to B, continues
//!   partially too (it asks for its own id at its own offset, which B's
//!   replid2 covers);
//! - promoting the leaf C: the relay B re-pointed to C continues partially
//!   (C's replid2 is A's id), and then A re-pointed to B continues partially,
//!   which needs B, after `+CONTINUE <C's id>`, to keep A's id as its own
//!   replid2 as a Redis replica does: the chain turned around, C -> B -> A.
//!
//! Each test runs on redis-server -> Strata -> redis-server and on
//! Strata -> Strata -> Strata, and checks `sync_full` did not grow,
//! `sync_partial_ok` did by one per re-pointed link, one replication id and
//! offset on every node, and equal keyspaces.

use crate::common::Conn;
use crate::replica_sync::{fill, snapshot, wait_for};
use crate::sentinel::{Kind, Node};

/// No PING into the stream while a test re-points links: a PING a master
/// writes after its replica left would put it past the offset up to which
/// the promoted node accepts its id, and a full resync would be right. The
/// timeout is raised to match.
const QUIET: &[&str] = &[
    "--repl-ping-replica-period",
    "3600",
    "--repl-timeout",
    "3601",
];

fn chain(kinds: [Kind; 3]) -> [Node; 3] {
    let a = Node::start(kinds[0], QUIET);
    let mut ac = a.conn();
    fill(&mut ac, 0, "a");
    fill(&mut ac, 4, "b");
    ac.cmd(&["SELECT", "0"]);
    let value = "z".repeat(500);
    for i in 0..500 {
        ac.cmd(&["SET", &format!("bulk{i}"), &value]);
    }
    let b = Node::replica_of(kinds[1], a.port(), QUIET);
    let c = Node::replica_of(kinds[2], b.port(), QUIET);
    let nodes = [a, b, c];
    wait_same_position(&nodes, "the chain to settle");
    // A redis-server master counts its offset from its first replica on:
    // without this write the chain would stand at offset 0, where a Strata
    // replica asks for a full resync (see the ignored test below).
    assert_eq!(ac.cmd(&["SET", "settled", "1"]), b"+OK\r\n");
    wait_same_position(&nodes, "the chain to settle");
    nodes
}

/// Waits until every node shows the same replication id and offset, and
/// every replica's link is up.
fn wait_same_position(nodes: &[Node], what: &str) {
    wait_for(what, 90, || {
        let pos: Vec<(Option<String>, Option<String>)> = nodes
            .iter()
            .map(|n| (n.repl("master_replid"), n.repl("master_repl_offset")))
            .collect();
        pos.iter().all(|p| p == &pos[0])
            && nodes.iter().all(|n| {
                n.repl("role").as_deref() == Some("master")
                    || n.repl("master_link_status").as_deref() == Some("up")
            })
    });
}

fn counters(n: &Node) -> (u64, u64) {
    (n.stat("sync_full"), n.stat("sync_partial_ok"))
}

/// The redis-server logs of a chain, for failure messages.
fn logs(nodes: &[&Node]) -> String {
    nodes
        .iter()
        .filter(|n| n.kind() == Kind::Redis)
        .map(|n| format!("--- redis-server {} log:\n{}", n.port(), n.log()))
        .collect()
}

fn replicaof(n: &Node, master: Option<&Node>) {
    let port = master.map(|m| m.port().to_string());
    let args = match &port {
        Some(p) => ["REPLICAOF", "127.0.0.1", p.as_str()],
        None => ["REPLICAOF", "NO", "ONE"],
    };
    let reply = n.conn().cmd_str(&args);
    assert!(
        reply.starts_with("+OK"),
        "{args:?} on {:?}: {reply}",
        n.kind()
    );
}

/// A write on `master` reaches every node, and all keyspaces are equal.
fn assert_converged(nodes: &[Node], master: usize) {
    let mut mc = nodes[master].conn();
    assert_eq!(mc.cmd(&["SET", "after-failover", "1"]), b"+OK\r\n");
    wait_same_position(nodes, "the write to reach every node");
    let snaps = |c: &mut Conn| (snapshot(c, 0), snapshot(c, 4));
    let expected = snaps(&mut mc);
    for n in nodes {
        assert!(
            snaps(&mut n.conn()) == expected,
            "{:?} on {} differs from the master",
            n.kind(),
            n.port()
        );
    }
}

/// The relay B is promoted; C continues with it, then A follows B.
fn promote_the_relay(kinds: [Kind; 3]) {
    let [a, b, c] = chain(kinds);
    let a_id = a.repl("master_replid");
    let (full, partial) = counters(&b);
    replicaof(&b, None);
    assert_eq!(b.repl("master_replid2"), a_id, "B keeps A's id as replid2");
    wait_for("C to continue with the promoted relay", 60, || {
        c.follows(b.port()) && c.repl("master_replid") == b.repl("master_replid")
    });
    assert_eq!(
        counters(&b),
        (full, partial + 1),
        "C resumed partially\n{}",
        logs(&[&a, &b, &c])
    );
    replicaof(&a, Some(&b));
    wait_for("A to follow B", 60, || a.follows(b.port()));
    assert_eq!(
        counters(&b),
        (full, partial + 2),
        "A resumed partially\n{}",
        logs(&[&a, &b, &c])
    );
    assert_converged(&[b, a, c], 0);
}

/// The leaf C is promoted; B follows C, then A follows B.
fn promote_the_leaf(kinds: [Kind; 3]) {
    let [a, b, c] = chain(kinds);
    let a_id = a.repl("master_replid");
    let (b_full, b_partial) = counters(&b);
    let (c_full, c_partial) = counters(&c);
    replicaof(&c, None);
    assert_eq!(c.repl("master_replid2"), a_id, "C keeps A's id as replid2");
    replicaof(&b, Some(&c));
    wait_for("B to follow C", 60, || {
        b.follows(c.port()) && b.repl("master_replid") == c.repl("master_replid")
    });
    assert_eq!(
        counters(&c),
        (c_full, c_partial + 1),
        "B resumed partially\n{}",
        logs(&[&a, &b, &c])
    );
    assert_eq!(
        b.repl("master_replid2"),
        a_id,
        "B, after +CONTINUE with C's id, keeps A's id as replid2"
    );
    replicaof(&a, Some(&b));
    wait_for("A to follow B", 60, || a.follows(b.port()));
    assert_eq!(
        counters(&b),
        (b_full, b_partial + 1),
        "A resumed partially\n{}",
        logs(&[&a, &b, &c])
    );
    assert_converged(&[c, b, a], 0);
}

/// A master killed with `kill -9` and its replica promoted: the master
/// (Strata, with its data directory) restarted and re-pointed to the
/// promoted replica asks for its own id at its own offset, which the
/// promoted replica's replid2 covers: a partial resync, no data lost.
fn restarted_master_rejoins(replica: Kind) {
    let m = Node::start(Kind::Strata, QUIET);
    let r = Node::replica_of(replica, m.port(), QUIET);
    let mut mc = m.conn();
    for i in 0..300 {
        mc.cmd(&["SET", &format!("k{i}"), &i.to_string()]);
    }
    let mut nodes = [m, r];
    wait_same_position(&nodes, "the replica to catch up");
    nodes[0].kill9();
    replicaof(&nodes[1], None);
    nodes[0].start_again();
    replicaof(&nodes[0], Some(&nodes[1]));
    let [m, r] = nodes;
    wait_for("the old master to follow", 60, || m.follows(r.port()));
    assert_eq!(
        counters(&r),
        (0, 1),
        "the old master resumed partially\n{}",
        logs(&[&r])
    );
    assert_converged(&[r, m], 0);
}

#[test]
fn a_restarted_strata_master_rejoins_its_promoted_redis_replica_partially() {
    restarted_master_rejoins(Kind::Redis);
}

#[test]
fn a_restarted_strata_master_rejoins_its_promoted_strata_replica_partially() {
    restarted_master_rejoins(Kind::Strata);
}

#[test]
fn promoting_the_strata_relay_of_a_redis_chain_keeps_both_links_partial() {
    promote_the_relay([Kind::Redis, Kind::Strata, Kind::Redis]);
}

#[test]
fn promoting_the_relay_of_a_strata_chain_keeps_both_links_partial() {
    promote_the_relay([Kind::Strata, Kind::Strata, Kind::Strata]);
}

#[test]
fn promoting_the_redis_leaf_turns_a_redis_strata_chain_around_partially() {
    promote_the_leaf([Kind::Redis, Kind::Strata, Kind::Redis]);
}

#[test]
fn promoting_the_leaf_turns_a_strata_chain_around_partially() {
    promote_the_leaf([Kind::Strata, Kind::Strata, Kind::Strata]);
}

/// A Strata replica whose position is offset 0 under its master's id (a
/// redis-server master counts its offset from its first replica on, so a
/// replica synced before any later write or PING stands there) asks for
/// `PSYNC <id> 1` when it reconnects, as a Redis replica does, and
/// continues: the position is marked as coming from a master, unlike a
/// fresh data directory's random id at offset 0.
#[test]
fn a_strata_replica_at_offset_0_resumes_partially() {
    let a = Node::start(Kind::Redis, QUIET);
    a.conn().cmd(&["SET", "k", "v"]);
    let mut b = Node::replica_of(Kind::Strata, a.port(), QUIET);
    wait_for("B to follow A", 60, || b.follows(a.port()));
    assert_eq!(a.repl("master_repl_offset").as_deref(), Some("0"));
    b.kill9();
    b.start_again();
    wait_for("B to follow A again", 60, || b.follows(a.port()));
    assert_eq!(counters(&a), (1, 1), "B continued partially\n{}", a.log());
}
