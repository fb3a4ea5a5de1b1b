//! Cross-datacenter scenarios: every node in its own network namespace, a
//! WAN link with delay through the user-space proxy, link cuts of seconds
//! under a sustained write load (see tests/it/topology and
//! docs/topology.md). In loopback mode (no namespaces) the proxy cuts the
//! link instead; each test prints which mode ran and a table row.
//!
//! Figures (lag across a two-hop chain, recovery after a 60 s cut) are the
//! `#[ignore]`d tests at the end: `STRATA_SERVER_BIN=... it xdc_figures
//! --ignored --nocapture --test-threads=1`.

use crate::topology::scenario::{link, node, run, Fault, Load, Report, Scenario};
use crate::topology::Kind::{Redis, Strata};

const LOAD: Load = Load {
    value_size: 100,
    ops_per_sec: 2000,
};

/// Cut longer than `repl-timeout` (5 s): in namespace mode the replica only
/// notices a silent link after that long.
const CUT_SECS: f64 = 7.0;

fn cut(replica: &'static str, min_bytes: u64) -> Fault {
    Fault::Cut {
        replicas: vec![replica],
        secs: CUT_SECS,
        min_bytes,
    }
}

fn assert_no_full_sync(r: &Report) {
    assert_eq!(
        r.full_syncs, 0,
        "a full resync during the faults: {:?}",
        r.served
    );
    for (node, n) in &r.log_full {
        assert_eq!(*n, 0, "{node} logged a full resync during the faults");
    }
}

/// Redis master (DC1) -> Strata relay (DC2) -> Redis replica (DC2), the
/// DC1-DC2 link with 25 ms each way, cut twice under load: the relay
/// resumes partially each time (the Redis master counts `sync_partial_ok`,
/// the relay logs the partial resync), the replica below it never needs a
/// full sync, the keyspaces end equal and no acknowledged write is lost.
#[test]
fn xdc_redis_master_strata_relay_redis_replica_survives_wan_cuts() {
    let s = Scenario {
        name: "redis -wan-> strata relay -> redis, 2 cuts",
        nodes: vec![
            node("master", Redis, &["--repl-backlog-size", "64mb"]),
            node("relay", Strata, &[]),
            node("replica", Redis, &[]),
        ],
        links: vec![link("relay", "master", 25), link("replica", "relay", 0)],
        load: LOAD,
        faults: vec![cut("relay", 0), cut("relay", 0)],
        settle_secs: 2.0,
        prefill: true,
    };
    let r = run(&s);
    assert_no_full_sync(&r);
    assert!(
        r.served["master"].1 >= 2,
        "the Redis master served a partial resync per cut: {:?}",
        r.served
    );
    assert!(
        r.log_partial["relay"] >= 2,
        "the relay logged a partial resync per cut: {:?}",
        r.log_partial
    );
}

/// Strata master -> Strata replica across a WAN link cut while the master
/// writes more than a Redis default backlog (1 MB) would hold: +CONTINUE,
/// because Strata's backlog is on disk (256 MB by default). A `kill -9`
/// and restart of the master follows: the replica continues partially again.
#[test]
fn xdc_strata_master_strata_replica_continues_after_a_cut_longer_than_a_memory_backlog() {
    let s = Scenario {
        name: "strata -wan-> strata, cut > 1 MB, master kill -9",
        nodes: vec![node("master", Strata, &[]), node("replica", Strata, &[])],
        links: vec![link("replica", "master", 25)],
        load: Load {
            value_size: 1000,
            ops_per_sec: 2000,
        },
        faults: vec![
            cut("replica", 4 << 20),
            Fault::Kill9 {
                node: "master",
                down_secs: 1.0,
            },
        ],
        settle_secs: 2.0,
        prefill: true,
    };
    let r = run(&s);
    assert_no_full_sync(&r);
    assert!(
        r.served["master"].1 >= 2,
        "the master served +CONTINUE after the cut and after its restart: {:?}",
        r.served
    );
    assert!(r.log_partial["replica"] >= 2, "{:?}", r.log_partial);
}

/// Strata master -> Redis replica across a cut WAN link: the Redis replica
/// logs the partial resynchronization.
#[test]
fn xdc_strata_master_redis_replica_resumes_partially_after_a_cut() {
    let s = Scenario {
        name: "strata -wan-> redis, 1 cut",
        nodes: vec![node("master", Strata, &[]), node("replica", Redis, &[])],
        links: vec![link("replica", "master", 25)],
        load: LOAD,
        faults: vec![cut("replica", 0)],
        settle_secs: 2.0,
        prefill: true,
    };
    let r = run(&s);
    assert_no_full_sync(&r);
    assert!(r.served["master"].1 >= 1, "{:?}", r.served);
    assert!(r.log_partial["replica"] >= 1, "{:?}", r.log_partial);
    assert!(r.log_accepted["replica"] >= 1, "{:?}", r.log_accepted);
}
