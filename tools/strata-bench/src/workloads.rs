//! The workload catalogue: every workload a run can do (name, description,
//! how it is driven), the run plan derived from the command line, and the
//! `--only` name filter.

use std::time::Duration;

use crate::collections::{self, CollType};
use crate::loadgen::{KeyDist, LoadSpec};
use crate::rbench::{RbSpec, RbTest};
use crate::Cli;

pub enum Kind {
    Rb(RbSpec),
    Gen(LoadSpec),
    /// Load once (timed separately), then read.
    Large(LoadSpec),
    /// redis-benchmark against the large-collection dataset, which is
    /// loaded (timed) into each server before the first such workload.
    Collections(RbSpec),
}

pub struct Workload {
    pub name: String,
    pub description: String,
    pub kind: Kind,
    /// For a big-collection row: the name of the same read on a small key.
    pub baseline: Option<String>,
}

pub struct Plan {
    pub rounds: u32,
    pub rb_requests: u64,
    pub rb_requests_pipelined: u64,
    pub duration: Duration,
    pub warmup: Duration,
    pub large_bytes: u64,
    pub collection_members: u64,
}

pub fn plan(cli: &Cli) -> Plan {
    let quick = cli.quick;
    let secs = cli.duration.unwrap_or(if quick { 1.0 } else { 4.0 });
    Plan {
        rounds: cli.rounds.unwrap_or(if quick { 1 } else { 3 }).max(1),
        rb_requests: if quick { 5_000 } else { 50_000 },
        rb_requests_pipelined: if quick { 20_000 } else { 200_000 },
        duration: Duration::from_secs_f64(secs),
        warmup: Duration::from_secs_f64((secs / 4.0).min(1.0)),
        large_bytes: cli.large_mb.unwrap_or(if quick { 100 } else { 700 }) * 1_000_000,
        collection_members: cli
            .collection_members
            .unwrap_or(if quick { 50_000 } else { 1_000_000 })
            .max(1),
    }
}

pub fn workloads(cli: &Cli, p: &Plan) -> Vec<Workload> {
    let mut out = Vec::new();
    let rb_tests: [(&str, &'static str, &'static str); 5] = [
        ("PING", "ping_mbulk", "PING_MBULK"),
        ("SET", "set", "SET"),
        ("GET", "get", "GET"),
        ("INCR", "incr", "INCR"),
        ("MSET", "mset", "MSET (10 keys)"),
    ];
    for pipeline in [1u32, 16] {
        for (label, test, row) in rb_tests {
            let requests = if pipeline == 1 {
                p.rb_requests
            } else {
                p.rb_requests_pipelined
            };
            let suffix = if pipeline == 1 {
                String::new()
            } else {
                format!(" P{pipeline}")
            };
            out.push(Workload {
                name: format!("{label} c{}{suffix} (redis-benchmark)", cli.clients),
                description: format!(
                    "redis-benchmark {label}, {} clients, pipeline {pipeline}, {requests} requests, random keys over {}",
                    cli.clients, cli.keys
                ),
                kind: Kind::Rb(RbSpec {
                    test: RbTest::Builtin { test, row },
                    clients: cli.clients,
                    pipeline,
                    requests,
                    keyspace: cli.keys,
                    setup: Vec::new(),
                }),
                baseline: None,
            });
        }
    }
    let base = LoadSpec {
        keys: cli.keys,
        value_size: 128,
        get_ratio: 1.0,
        dist: KeyDist::Uniform,
        conns: cli.clients as usize,
        pipeline: 1,
        rate: None,
        warmup: p.warmup,
        duration: p.duration,
    };
    for pipeline in [1usize, 16] {
        for (label, get_ratio) in [("GET", 1.0), ("SET", 0.0)] {
            let suffix = if pipeline == 1 {
                String::new()
            } else {
                format!(" P{pipeline}")
            };
            out.push(Workload {
                name: format!("{label} c{}{suffix} (strata-bench)", cli.clients),
                description: format!(
                    "{label} only, uniform keys over {}, 128 B values, {} connections, pipeline {pipeline}, closed loop",
                    cli.keys, cli.clients
                ),
                kind: Kind::Gen(LoadSpec { get_ratio, pipeline, ..base.clone() }),
                baseline: None,
            });
        }
    }
    for &size in &cli.value_sizes {
        // Big values: fewer keys so a dataset stays near 200 MB at most.
        let keys = cli.keys.min((200_000_000 / size.max(1) as u64).max(1000));
        for (label, dist) in [("zipf", KeyDist::Zipf(0.99)), ("uniform", KeyDist::Uniform)] {
            out.push(Workload {
                name: format!("GET/SET 90/10 {label} {size} B"),
                description: format!(
                    "90% GET / 10% SET, {label} keys over {keys}{}, {size} B values, {} connections, closed loop",
                    if label == "zipf" { " (s=0.99)" } else { "" },
                    cli.clients
                ),
                kind: Kind::Gen(LoadSpec {
                    keys,
                    value_size: size,
                    get_ratio: 0.9,
                    dist,
                    ..base.clone()
                }),
                baseline: None,
            });
        }
    }
    for &rate in &cli.rate {
        out.push(Workload {
        name: format!("GET/SET 90/10 zipf fixed rate {:.0}/s", rate),
        description: format!(
            "open loop at {:.0} ops/s total over {} connections, 90% GET / 10% SET, zipf keys (s=0.99) over {}, 128 B values; latency from the scheduled send time",
            rate, cli.clients, cli.keys
        ),
        kind: Kind::Gen(LoadSpec {
            get_ratio: 0.9,
            dist: KeyDist::Zipf(0.99),
            rate: Some(rate),
            ..base.clone()
        }),
        baseline: None,
    });
    }
    let large_value = 4096usize;
    let large_keys = p.large_bytes / large_value as u64;
    // The larger-than-cache row's baseline: the same GETs of the same
    // values, on a twentieth of its data, which the caches hold. Its p99 is
    // what "flat" is measured against: the 128 B GET row differs in value
    // size too, which alone raises the p99 (Redis's by 1.3-1.4x).
    out.push(Workload {
        name: IN_CACHE_4K.into(),
        description: format!(
            "{} MB of {large_value} B values ({} keys: a twentieth of the larger-than-cache dataset, held by Strata's {} block cache and memtables); uniform random GETs, {} connections, closed loop",
            large_keys / 20 * large_value as u64 / 1_000_000,
            large_keys / 20,
            cli.strata_block_cache,
            cli.clients
        ),
        kind: Kind::Gen(LoadSpec {
            keys: (large_keys / 20).max(1),
            value_size: large_value,
            ..base.clone()
        }),
        baseline: None,
    });
    out.push(Workload {
        name: "Larger-than-cache uniform GET".into(),
        description: format!(
            "{} MB of {large_value} B values ({large_keys} keys) against Strata's {} block cache; uniform random GETs, {} connections, closed loop",
            p.large_bytes / 1_000_000,
            cli.strata_block_cache,
            cli.clients
        ),
        kind: Kind::Large(LoadSpec {
            keys: large_keys,
            value_size: large_value,
            ..base
        }),
        baseline: None,
    });
    // Collections last, so the figures of the string workloads above stay
    // comparable with earlier runs (same server state when they run).
    collection_workloads(cli, p, &mut out);
    large_collection_workloads(cli, p, &mut out);
    if !cli.only.is_empty() {
        out.retain(|w| cli.only.iter().any(|o| name_matches(&w.name, o)));
    }
    out
}

/// The in-cache baseline of the larger-than-cache row.
pub const IN_CACHE_4K: &str = "In-cache uniform GET 4096 B";

/// The zset the ZRANGE 100 rows read, and its size.
const ZRANGE_KEY: &str = "zbench";
const ZRANGE_MEMBERS: u64 = 200;

/// redis-benchmark rows for the collection commands, pipeline 1 and 16.
fn collection_workloads(cli: &Cli, p: &Plan, out: &mut Vec<Workload>) {
    let builtin: [(&str, &'static str, &'static str, &str); 6] = [
        ("LPUSH", "lpush", "LPUSH", "LPUSH mylist <3 B>"),
        ("LPOP", "lpop", "LPOP", "LPOP mylist (left by the LPUSH rows)"),
        ("SADD", "sadd", "SADD", "SADD myset element:__rand_int__"),
        ("HSET", "hset", "HSET", "HSET myhash element:__rand_int__ <3 B>"),
        ("ZADD", "zadd", "ZADD", "ZADD myzset <random score> element:__rand_int__"),
        (
            "LRANGE_100",
            "lrange_100",
            "LRANGE_100 (first 100 elements)",
            "LRANGE mylist 0 99 (redis-benchmark first LPUSHes as many elements as it makes requests)",
        ),
    ];
    let mut zset_setup = vec![vec!["DEL".to_string(), ZRANGE_KEY.to_string()]];
    let mut zadd = vec!["ZADD".to_string(), ZRANGE_KEY.to_string()];
    for i in 0..ZRANGE_MEMBERS {
        zadd.extend([i.to_string(), collections::member(i)]);
    }
    zset_setup.push(zadd);
    let zrange = format!("zrange {ZRANGE_KEY} 0 99 withscores");
    for pipeline in [1u32, 16] {
        let requests = if pipeline == 1 {
            p.rb_requests
        } else {
            p.rb_requests_pipelined
        };
        let suffix = if pipeline == 1 {
            String::new()
        } else {
            format!(" P{pipeline}")
        };
        let spec = |test: RbTest, setup: Vec<Vec<String>>| RbSpec {
            test,
            clients: cli.clients,
            pipeline,
            requests,
            keyspace: cli.keys,
            setup,
        };
        for (label, test, row, what) in builtin {
            out.push(Workload {
                name: format!("{label} c{}{suffix} (redis-benchmark)", cli.clients),
                description: format!(
                    "redis-benchmark {label}: {what}; {} clients, pipeline {pipeline}, {requests} requests, -r {}",
                    cli.clients, cli.keys
                ),
                kind: Kind::Rb(spec(RbTest::Builtin { test, row }, Vec::new())),
                baseline: None,
            });
        }
        out.push(Workload {
            name: format!("ZRANGE 100 c{}{suffix} (redis-benchmark)", cli.clients),
            description: format!(
                "redis-benchmark custom command `{zrange}` on a {ZRANGE_MEMBERS}-member zset (rebuilt before each run); {} clients, pipeline {pipeline}, {requests} requests",
                cli.clients
            ),
            kind: Kind::Rb(spec(
                RbTest::Custom(zrange.split(' ').map(String::from).collect()),
                zset_setup.clone(),
            )),
            baseline: None,
        });
    }
}

/// Point reads on big and small collections (see `collections`).
fn large_collection_workloads(cli: &Cli, p: &Plan, out: &mut Vec<Workload>) {
    let name = |ty: CollType, members: u64| {
        // No type word ("set", "hash"): `--only SET` must not pick these.
        format!(
            "{} {members} members c{} (redis-benchmark)",
            ty.read_command(),
            cli.clients
        )
    };
    for ty in CollType::ALL {
        for (big, members) in [
            (true, p.collection_members),
            (false, collections::SMALL_MEMBERS),
        ] {
            let key = ty.key(big);
            let words = [ty.read_command(), key.as_str(), "m__rand_int__"];
            out.push(Workload {
                name: name(ty, members),
                description: format!(
                    "redis-benchmark custom command `{}` with -r {members}: random existing members of a {members}-member {}; {} clients, pipeline 1, {} requests",
                    words.join(" "),
                    ty.word(),
                    cli.clients,
                    p.rb_requests
                ),
                kind: Kind::Collections(RbSpec {
                    clients: cli.clients,
                    pipeline: 1,
                    requests: p.rb_requests,
                    keyspace: members,
                    ..RbSpec::custom(&words)
                }),
                baseline: big.then(|| name(ty, collections::SMALL_MEMBERS)),
            });
        }
    }
}

/// Whether `filter` occurs in `name` at the start of a word (after the
/// start or a character that is not a letter or digit), ignoring case.
fn name_matches(name: &str, filter: &str) -> bool {
    let (name, filter) = (name.to_lowercase(), filter.to_lowercase());
    if filter.is_empty() {
        return true;
    }
    name.match_indices(&filter).any(|(i, _)| {
        name[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn names(args: &[&str]) -> Vec<String> {
        let cli = Cli::parse_from(std::iter::once("strata-bench").chain(args.iter().copied()));
        workloads(&cli, &plan(&cli))
            .into_iter()
            .map(|w| w.name)
            .collect()
    }

    #[test]
    fn only_matches_at_word_starts() {
        assert!(name_matches("GET c50 (redis-benchmark)", "get"));
        assert!(name_matches("GET/SET 90/10 zipf 16 B", "SET"));
        assert!(name_matches("Larger-than-cache uniform GET", "cache"));
        assert!(name_matches("LRANGE_100 c50 (redis-benchmark)", "100"));
        assert!(name_matches(
            "HGET 100 members c50 (redis-benchmark)",
            "member"
        ));
        assert!(!name_matches(
            "HGET 100 members c50 (redis-benchmark)",
            "GET"
        ));
        assert!(!name_matches("MSET c50 (redis-benchmark)", "SET"));
        assert!(!name_matches("GET/SET 90/10 zipf 16 B", "ipf"));
        assert!(name_matches("anything", ""));
    }

    #[test]
    fn only_selects_the_collection_rows() {
        assert_eq!(
            names(&["--only", "LPUSH,ZRANGE"]),
            [
                "LPUSH c50 (redis-benchmark)",
                "ZRANGE 100 c50 (redis-benchmark)",
                "LPUSH c50 P16 (redis-benchmark)",
                "ZRANGE 100 c50 P16 (redis-benchmark)",
            ]
        );
        assert_eq!(
            names(&["--only", "members", "--quick"]),
            [
                "HGET 50000 members c50 (redis-benchmark)",
                "HGET 100 members c50 (redis-benchmark)",
                "SISMEMBER 50000 members c50 (redis-benchmark)",
                "SISMEMBER 100 members c50 (redis-benchmark)",
                "ZSCORE 50000 members c50 (redis-benchmark)",
                "ZSCORE 100 members c50 (redis-benchmark)",
            ]
        );
        // The string rows keep their names and are not joined by HGET/MSET/HSET.
        let get = names(&["--only", "GET c50,SET c50"]);
        assert_eq!(get.len(), 8, "{get:?}");
        assert!(get
            .iter()
            .all(|n| n.starts_with("GET c50") || n.starts_with("SET c50")));
    }

    #[test]
    fn big_collection_rows_name_their_small_baseline() {
        let cli = Cli::parse_from(["strata-bench", "--collection-members", "1000"]);
        let all = workloads(&cli, &plan(&cli));
        let big = all
            .iter()
            .find(|w| w.name == "ZSCORE 1000 members c50 (redis-benchmark)")
            .unwrap();
        assert_eq!(
            big.baseline.as_deref(),
            Some("ZSCORE 100 members c50 (redis-benchmark)")
        );
        let Kind::Collections(spec) = &big.kind else {
            panic!("not a collection workload")
        };
        assert_eq!(spec.keyspace, 1000);
        assert_eq!(spec.row(), "ZSCORE big:zset m__rand_int__");
        let zrange = all
            .iter()
            .find(|w| w.name == "ZRANGE 100 c50 P16 (redis-benchmark)")
            .unwrap();
        let Kind::Rb(spec) = &zrange.kind else {
            panic!("not a redis-benchmark workload")
        };
        assert_eq!(spec.row(), "zrange zbench 0 99 withscores");
        assert_eq!(spec.pipeline, 16);
        assert_eq!(spec.setup[1].len(), 2 + 2 * ZRANGE_MEMBERS as usize);
        // Every workload name is unique (results are looked up by name).
        let mut names: Vec<_> = all.iter().map(|w| &w.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
