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

/// Strata only, Strata master (DC1) -> Strata relay (DC2) -> Strata replica
/// (DC2): a WAN cut, a `kill -9` of the relay, then a clean restart of the
/// master, all under load; every link resumes partially and the chain ends
/// on one replication id and offset.
#[test]
fn xdc_strata_chain_survives_a_cut_a_relay_kill9_and_a_master_restart() {
    let s = Scenario {
        name: "strata -wan-> strata relay -> strata",
        nodes: vec![
            node("master", Strata, &[]),
            node("relay", Strata, &[]),
            node("replica", Strata, &[]),
        ],
        links: vec![link("relay", "master", 25), link("replica", "relay", 0)],
        load: LOAD,
        faults: vec![
            cut("relay", 0),
            Fault::Kill9 {
                node: "relay",
                down_secs: 2.0,
            },
            Fault::Restart { node: "master" },
        ],
        settle_secs: 2.0,
        prefill: true,
    };
    let r = run(&s);
    assert_no_full_sync(&r);
    assert!(
        r.served["master"].1 >= 3,
        "the master served a partial resync after each fault: {:?}",
        r.served
    );
    assert!(r.log_partial["relay"] >= 3, "{:?}", r.log_partial);
    assert!(r.log_partial["replica"] >= 1, "{:?}", r.log_partial);
}

/// The control: the same cut (more than 1 MB written while cut) with a
/// master whose backlog is 1 MB ends in a full resync, and the runner sees
/// it (INFO stats and the replica's log). Redis with its default backlog;
/// Strata with `repl-backlog-size 1mb`, which it honours on disk too.
#[test]
fn xdc_control_a_1mb_backlog_needs_a_full_resync_after_the_same_cut() {
    for (name, kind) in [
        ("control: redis 1mb backlog -wan-> redis", Redis),
        ("control: strata 1mb backlog -wan-> redis", Strata),
    ] {
        let s = Scenario {
            name,
            nodes: vec![
                node("master", kind, &["--repl-backlog-size", "1mb"]),
                node("replica", Redis, &[]),
            ],
            links: vec![link("replica", "master", 25)],
            load: Load {
                value_size: 1000,
                ops_per_sec: 2000,
            },
            faults: vec![cut("replica", 3 << 20)],
            settle_secs: 1.0,
            prefill: true,
        };
        let r = run(&s);
        assert!(r.served["master"].0 >= 1, "{name}: {:?}", r.served);
        assert!(r.log_full["replica"] >= 1, "{name}: {:?}", r.log_full);
    }
}

// ---------------------------------------------------------------------------
// Figures for docs/benchmarks.md ("Cross-datacenter"): not assertions of
// speed, measurements. Run them with
//   STRATA_SERVER_BIN=... it xdc_figures --ignored --nocapture --test-threads=1
// The topology: a Redis master (DC1) with two relays beside each other in
// DC1, one Strata and one Redis (default 1 MB backlog), each with a Redis
// replica in DC2 behind a 50 ms RTT link (25 ms each way).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::topology::scenario::{position, Client, LinkSpec, NodeSpec, Topology, Val, Writer};

fn figure_topology(master_args: &[&str]) -> (Vec<NodeSpec>, Vec<LinkSpec>) {
    (
        vec![
            node("master", Redis, master_args),
            node("strata-relay", Strata, &[]),
            node("redis-relay", Redis, &[]),
            node("dc2-behind-strata", Redis, &[]),
            node("dc2-behind-redis", Redis, &[]),
        ],
        vec![
            link("strata-relay", "master", 0),
            link("redis-relay", "master", 0),
            link("dc2-behind-strata", "strata-relay", 25),
            link("dc2-behind-redis", "redis-relay", 25),
        ],
    )
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_micros() as u64
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Polls `lag:<i>` keys on `addr` as they arrive; each holds the master's
/// write time in microseconds. Returns the lags in ms.
fn observe(addr: SocketAddr, count: usize, stop: Arc<AtomicBool>) -> Vec<f64> {
    let mut c = Client::connect(addr).expect("observer");
    let mut lags = Vec::new();
    let mut i = 0;
    while i < count && !stop.load(Ordering::SeqCst) {
        match c.cmds(&["GET", &format!("lag:{i}")]).expect("GET") {
            Val::Bulk(Some(v)) => {
                let sent: u64 = String::from_utf8_lossy(&v).parse().expect("timestamp");
                lags.push(now_us().saturating_sub(sent) as f64 / 1000.0);
                i += 1;
            }
            _ => std::thread::sleep(Duration::from_micros(500)),
        }
    }
    lags
}

/// (a) End-to-end lag across the two-hop chain, master -> relay -> DC2
/// replica over the 50 ms link, Strata relay beside Redis relay in one run
/// (the same writes observed on both chains at once), under a background
/// load of 1000 writes/s.
#[test]
#[ignore = "figure for docs/benchmarks.md; run by hand"]
fn xdc_figures_lag_across_a_two_hop_chain() {
    let (nodes, links) = figure_topology(&[]);
    let t = Topology::start(&nodes, &links, false);
    println!("xdc: figures (lag) in {} mode", t.net.mode);
    t.wait_synced(120);
    let load = Writer::start(
        t.top().addr(),
        Load {
            value_size: 100,
            ops_per_sec: 1000,
        },
    );
    let samples = 1000;
    let stop = Arc::new(AtomicBool::new(false));
    let observers: Vec<_> = ["dc2-behind-strata", "dc2-behind-redis"]
        .iter()
        .map(|n| {
            let (addr, stop) = (t.node(n).addr(), stop.clone());
            std::thread::spawn(move || observe(addr, samples, stop))
        })
        .collect();
    let mut m = Client::connect(t.top().addr()).expect("master");
    for i in 0..samples {
        m.cmds(&["SET", &format!("lag:{i}"), &now_us().to_string()])
            .expect("SET");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::SeqCst);
    let acked = load.finish();
    println!("| relay  | samples | p50 ms | p99 ms | max ms |");
    for (name, h) in ["Strata", "Redis"].iter().zip(observers) {
        let mut lags = h.join().expect("observer");
        lags.sort_by(f64::total_cmp);
        println!(
            "| {name:<6} | {:>7} | {:>6.1} | {:>6.1} | {:>6.1} |",
            lags.len(),
            percentile(&lags, 0.5),
            percentile(&lags, 0.99),
            lags.last().copied().unwrap_or(f64::NAN)
        );
    }
    println!("background writes acknowledged: {}", acked.count);
}

/// (b) Recovery after a 60 s cut of both DC1 -> DC2 links under load: from
/// the links coming back to each DC2 replica reaching its relay's offset at
/// that moment; which kind of resync each relay served, and the bytes each
/// link carried to recover.
#[test]
#[ignore = "figure for docs/benchmarks.md; run by hand"]
fn xdc_figures_recovery_after_a_60s_cut() {
    let cut_secs: u64 = std::env::var("XDC_CUT_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let (nodes, links) = figure_topology(&[]);
    let t = Topology::start(&nodes, &links, false);
    println!("xdc: figures (recovery) in {} mode", t.net.mode);
    // A dataset a full resync has to carry: 200k keys of 200 bytes that
    // do not compress (MSET, which replicates; DEBUG POPULATE does not).
    let mut m = Client::connect(t.top().addr()).expect("master");
    let mut rng = crate::common::Rng(0x9e37_79b9_7f4a_7c15);
    for batch in 0..200 {
        let mut args: Vec<Vec<u8>> = vec![b"MSET".to_vec()];
        for i in 0..1000 {
            args.push(format!("pop:{batch}:{i}").into_bytes());
            args.push((0..200).map(|_| b'a' + rng.below(26) as u8).collect());
        }
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        m.cmd(&refs).expect("MSET");
    }
    t.wait_synced(300);
    let stats = |t: &Topology| t.sync_stats();
    let before = stats(&t);
    let load = Writer::start(
        t.top().addr(),
        Load {
            value_size: 100,
            ops_per_sec: 2000,
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    let leaves = ["dc2-behind-strata", "dc2-behind-redis"];
    let from = t.top_offset();
    for l in leaves {
        t.set_link(l, false);
    }
    std::thread::sleep(Duration::from_secs(cut_secs));
    let target = t.top_offset();
    let bytes_before: Vec<(u64, u64)> = t.proxies[2..].iter().map(|p| p.bytes()).collect();
    for l in leaves {
        t.set_link(l, true);
    }
    let t0 = Instant::now();
    let mut done: Vec<Option<Duration>> = vec![None; 2];
    while done.iter().any(Option::is_none) {
        for (i, l) in leaves.iter().enumerate() {
            if done[i].is_none() {
                if let Some((true, _, off)) = position(t.node(l).addr()) {
                    if off >= target {
                        done[i] = Some(t0.elapsed());
                    }
                }
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(600),
            "no recovery in 600 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let acked = load.finish();
    t.wait_synced(300);
    let after = stats(&t);
    println!(
        "cut {cut_secs} s, {} MB written during the cut; {} writes acknowledged",
        (target - from) >> 20,
        acked.count
    );
    println!("| relay  | resync served | recovery s | bytes to DC2 after the cut |");
    for (i, (name, relay)) in [("Strata", "strata-relay"), ("Redis", "redis-relay")]
        .iter()
        .enumerate()
    {
        let (b, a) = (before[*relay], after[*relay]);
        let kind = format!("full {} partial {}", a.0 - b.0, a.1 - b.1);
        let sent = t.proxies[2 + i].bytes().1 - bytes_before[i].1;
        println!(
            "| {name:<6} | {kind:<13} | {:>10.1} | {:>9} KB |",
            done[i].expect("done").as_secs_f64(),
            sent >> 10
        );
    }
}
