//! A relay chain, redis-server -> Strata -> redis-server: Strata forwards its
//! master's stream byte for byte, so every node shows one replication id and
//! one offset; PUBLISH crosses the chain; and after `kill -9` of the relay
//! (several MB of traffic after its first sync) both of its links continue
//! with partial resyncs, which a Redis relay without its RDB file cannot do.

use std::io::Read;
use std::time::Duration;

use crate::common::{free_port, Conn, Redis, Strata};
use crate::replica_sync::{fill, info_field, snapshot, stat, wait_for, Master};

fn repl(c: &mut Conn, name: &str) -> String {
    info_field(c, "replication", name).unwrap_or_else(|| panic!("no {name}"))
}

/// Waits until `node` reports the master's id and offset.
fn wait_same_position(master: &mut Conn, node: &mut Conn, what: &str) {
    wait_for(what, 60, || {
        let (id, off) = (
            repl(master, "master_replid"),
            repl(master, "master_repl_offset"),
        );
        info_field(node, "replication", "master_link_status").as_deref() == Some("up")
            && repl(node, "master_replid") == id
            && repl(node, "master_repl_offset") == off
    });
}

fn assert_same(a: &mut Conn, b: &mut Conn, dbs: &[usize]) {
    for &db in dbs {
        let (x, y) = (snapshot(a, db), snapshot(b, db));
        let only: Vec<String> = y
            .keys()
            .filter(|k| !x.contains_key(*k))
            .take(5)
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect();
        let diff: Vec<String> = x
            .iter()
            .filter(|(k, v)| y.get(*k) != Some(v))
            .take(3)
            .map(|(k, v)| {
                format!(
                    "{} {:?}",
                    String::from_utf8_lossy(k),
                    v.iter()
                        .map(|b| String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned())
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        assert!(
            x == y,
            "db {db} differs ({} vs {} keys; only in the second: {only:?}; differing: {diff:?})",
            x.len(),
            y.len()
        );
    }
}

/// Several MB of traffic through the chain, then `kill -9` of the relay
/// while the master writes `while-down*` keys in `db`; waits until the relay
/// and the leaf are back at the master's position and checks both of the
/// relay's links resumed partially. Returns a connection to the relay.
fn kill_relay_under_traffic(
    mc: &mut Conn,
    relay: &mut Strata,
    lc: &mut Conn,
    writes: usize,
    fill_char: &str,
    db: usize,
) -> Conn {
    let value = fill_char.repeat(1000);
    for i in 0..writes {
        mc.cmd(&["SET", &format!("k{i}"), &value]);
    }
    wait_same_position(mc, lc, "the leaf to catch up");
    relay.kill9();
    mc.cmd(&["SELECT", &db.to_string()]);
    for i in 0..200 {
        mc.cmd(&["SET", &format!("while-down{i}"), &value]);
    }
    relay.start_again();
    let mut rc = relay.conn();
    wait_same_position(mc, &mut rc, "the relay to resume");
    wait_same_position(mc, lc, "the leaf to resume");
    assert_eq!(stat(mc, "sync_full"), 1, "the relay did not fully resync");
    assert_eq!(
        stat(mc, "sync_partial_ok"),
        1,
        "the relay resumed partially"
    );
    assert_eq!(
        stat(&mut rc, "sync_full"),
        0,
        "the restarted relay sent no RDB"
    );
    assert!(
        stat(&mut rc, "sync_partial_ok") >= 1,
        "the leaf resumed partially"
    );
    rc
}

/// Reads one pub/sub message frame (as raw bytes) within a few seconds.
fn read_message(c: &mut Conn) -> Vec<u8> {
    c.raw_stream()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    c.read_reply()
}

#[test]
fn redis_to_strata_to_redis_keeps_one_stream_and_survives_kill9_of_the_relay() {
    let port = free_port();
    let master = Master::start(port);
    let mut mc = master.conn();
    fill(&mut mc, 0, "a");
    fill(&mut mc, 5, "b");

    let mut relay = Strata::start_with(&["--replicaof", "127.0.0.1", &port.to_string()]);
    let mut rc = relay.conn();
    wait_same_position(&mut mc, &mut rc, "the relay to follow the master");

    let logdir = tempfile::tempdir().expect("tempdir");
    let log = logdir.path().join("replica.log");
    let leaf = Redis::start_with(&[
        "--replicaof",
        "127.0.0.1",
        &relay.port.to_string(),
        "--logfile",
        log.to_str().expect("utf-8 path"),
    ]);
    let mut lc = leaf.conn();
    wait_same_position(&mut mc, &mut lc, "the leaf to follow the relay");
    assert_same(&mut mc, &mut lc, &[0, 5]);

    // PUBLISH on the master reaches subscribers on the relay and the leaf
    // (XPipe's health check relies on this).
    let mut subs = [relay.conn(), leaf.conn()];
    for s in subs.iter_mut() {
        s.send(&[b"SUBSCRIBE", b"xpipe-health-check-1"]);
        s.read_reply();
    }
    mc.cmd(&["PUBLISH", "xpipe-health-check-1", "ping-42"]);
    for s in subs.iter_mut() {
        assert_eq!(
            read_message(s),
            b"*3\r\n$7\r\nmessage\r\n$20\r\nxpipe-health-check-1\r\n$7\r\nping-42\r\n"
        );
    }

    // Several MB of traffic, then kill -9 of the relay while writes go on.
    let mut rc = kill_relay_under_traffic(&mut mc, &mut relay, &mut lc, 4000, "x", 5);
    let mut text = String::new();
    std::fs::File::open(&log)
        .and_then(|mut f| f.read_to_string(&mut text))
        .expect("replica log");
    assert!(
        text.contains("Successful partial resynchronization with master"),
        "the leaf's log: {text}"
    );
    assert_same(&mut mc, &mut rc, &[0, 5]);
    assert_same(&mut mc, &mut lc, &[0, 5]);
}

/// The same chain made of Strata only: Strata -> Strata -> Strata.
#[test]
fn strata_to_strata_to_strata_keeps_one_stream_and_survives_kill9_of_the_relay() {
    let master = Strata::start();
    let mut mc = master.conn();
    fill(&mut mc, 0, "a");
    fill(&mut mc, 2, "b");
    let mut relay = Strata::start_with(&["--replicaof", "127.0.0.1", &master.port.to_string()]);
    let mut rc = relay.conn();
    wait_same_position(&mut mc, &mut rc, "the relay to follow the master");
    let leaf = Strata::start_with(&["--replicaof", "127.0.0.1", &relay.port.to_string()]);
    let mut lc = leaf.conn();
    wait_same_position(&mut mc, &mut lc, "the leaf to follow the relay");
    assert_same(&mut mc, &mut lc, &[0, 2]);

    let mut rc = kill_relay_under_traffic(&mut mc, &mut relay, &mut lc, 3000, "y", 2);
    assert_same(&mut mc, &mut rc, &[0, 2]);
    assert_same(&mut mc, &mut lc, &[0, 2]);
}
