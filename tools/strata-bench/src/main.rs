//! `strata-bench`: drives a real redis-server and strata-server with the
//! same workloads, alternately, and writes a comparison report (markdown,
//! JSON, PNG). Issue 3: measure before optimising, and say honestly where
//! Strata stands against Redis.

mod collections;
mod figures;
mod loadgen;
mod rbench;
mod report;
mod resp;
mod servers;
mod workloads;
mod zipf;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use figures::{median_sample, ratios, Sample};
use loadgen::LoadSpec;
use report::{LoadInfo, SystemResult, TargetCheck, WorkloadResult};
use servers::{Durability, ServerProc, System};
use workloads::{plan, workloads, Kind, Workload};

#[derive(Parser, Debug)]
#[command(
    name = "strata-bench",
    about = "Side-by-side load harness: Strata versus a real redis-server"
)]
struct Cli {
    /// A few seconds per workload, one round, a smaller dataset (smoke tests).
    #[arg(long)]
    quick: bool,
    /// Rounds of A/B alternation per workload (default 3; 1 with --quick).
    #[arg(long)]
    rounds: Option<u32>,
    /// fsync policy of both append-only logs.
    #[arg(long, default_value = "everysec", value_parser = ["everysec", "always"])]
    appendfsync: String,
    /// Timed seconds per generator run (default 4; 1 with --quick).
    #[arg(long)]
    duration: Option<f64>,
    /// Value sizes in bytes for the GET/SET mix workloads (16..=16384), comma separated.
    #[arg(long, value_delimiter = ',', default_value = "16,1024,16384")]
    value_sizes: Vec<usize>,
    /// Keyspace of the generator workloads and redis-benchmark's -r.
    #[arg(long, default_value_t = 100_000)]
    keys: u64,
    /// Concurrent connections (redis-benchmark -c and the generator).
    #[arg(long, default_value_t = 50)]
    clients: u32,
    /// Target ops/s of the open-loop (fixed-rate) workloads, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,40000")]
    rate: Vec<f64>,
    /// Size of the larger-than-cache dataset in MB (default 700, over ten times
    /// the default block cache; 100 with --quick).
    #[arg(long)]
    large_mb: Option<u64>,
    /// Strata's RocksDB block cache for the whole run.
    #[arg(long, default_value = "64mb")]
    strata_block_cache: String,
    /// strata-server binary (default: next to this tool, else on PATH).
    #[arg(long)]
    strata_server: Option<PathBuf>,
    #[arg(long, default_value = "redis-server")]
    redis_server: String,
    /// Where the temp data dirs go (default: the system temp dir).
    #[arg(long)]
    workdir: Option<PathBuf>,
    /// Report directory: writes benchmarks.md, bench/results.json, bench/latency.png.
    #[arg(long, default_value = "docs")]
    out: PathBuf,
    /// Members of each big hash/set/zset of the large-collection workloads
    /// (default 1000000; 50000 with --quick).
    #[arg(long)]
    collection_members: Option<u64>,
    /// Run only workloads whose name contains one of these at the start of a
    /// word, ignoring case (comma separated): "GET" selects "GET c50 ..." and
    /// "GET/SET 90/10 ...", not "HGET ..." or "MGET ...".
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Keep the temp data dirs afterwards.
    #[arg(long)]
    keep: bool,
    /// Run nothing: rewrite benchmarks.md and latency.png from the committed
    /// results.json, with the current bench/notes.md (for notes written
    /// after looking at a run's figures).
    #[arg(long)]
    rerender: bool,
}

fn strata_binary(cli: &Cli) -> String {
    if let Some(p) = &cli.strata_server {
        return p.display().to_string();
    }
    if let Ok(me) = std::env::current_exe() {
        let sibling = me.with_file_name("strata-server");
        if sibling.exists() {
            return sibling.display().to_string();
        }
    }
    "strata-server".into()
}

struct Pair {
    redis: ServerProc,
    strata: ServerProc,
}

impl Pair {
    fn get(&self, s: System) -> &ServerProc {
        match s {
            System::Redis => &self.redis,
            System::Strata => &self.strata,
        }
    }
}

/// What each server currently holds from the generator: (keys, value size).
type Loaded = [Option<(u64, usize)>; 2];

/// Whether each server got the large-collection dataset (None: not tried).
type CollectionsLoaded = [Option<Result<(), String>>; 2];

fn idx(s: System) -> usize {
    match s {
        System::Redis => 0,
        System::Strata => 1,
    }
}

fn run_gen(
    rt: &tokio::runtime::Runtime,
    port: u16,
    spec: &LoadSpec,
    seed: u64,
) -> Result<Sample, String> {
    let limit = spec.warmup + spec.duration + Duration::from_secs(60);
    rt.block_on(async {
        match tokio::time::timeout(limit, loadgen::run(port, spec, seed)).await {
            Ok(Ok(r)) => Ok(r.sample()),
            Ok(Err(e)) => Err(format!("generator: {e}")),
            Err(_) => Err(format!("generator did not finish within {limit:?}")),
        }
    })
}

fn preload(
    rt: &tokio::runtime::Runtime,
    pair: &Pair,
    loaded: &mut Loaded,
    sys: System,
    spec: &LoadSpec,
) -> Result<Option<f64>, String> {
    let want = (spec.keys, spec.value_size);
    if loaded[idx(sys)] == Some(want) {
        return Ok(None);
    }
    let port = pair.get(sys).port;
    let secs = rt
        .block_on(loadgen::preload(
            port,
            loadgen::GEN_PREFIX,
            spec.keys,
            spec.value_size,
            42,
        ))
        .map_err(|e| format!("preload: {e}"))?;
    loaded[idx(sys)] = Some(want);
    eprintln!(
        "  preloaded {} x {} B into {} in {secs:.1}s",
        spec.keys,
        spec.value_size,
        sys.label()
    );
    Ok(Some(secs))
}

fn run_workload(
    rt: &tokio::runtime::Runtime,
    pair: &Pair,
    loaded: &mut Loaded,
    colls: &mut CollectionsLoaded,
    collection_members: u64,
    w: &Workload,
    rounds: u32,
) -> WorkloadResult {
    let systems = [System::Redis, System::Strata];
    let mut samples: [Vec<Option<Sample>>; 2] = [Vec::new(), Vec::new()];
    let mut errors: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut load = None;
    let (tool, command) = match &w.kind {
        Kind::Rb(spec) | Kind::Collections(spec) => (
            "redis-benchmark",
            format!(
                "redis-benchmark {}",
                spec.args(0).join(" ").replace("-p 0", "-p PORT")
            ),
        ),
        Kind::Gen(s) | Kind::Large(s) => ("strata-bench", format!("{s:?}")),
    };
    match &w.kind {
        Kind::Gen(spec) => {
            for sys in systems {
                if let Err(e) = preload(rt, pair, loaded, sys, spec) {
                    errors[idx(sys)].push(e);
                }
            }
        }
        Kind::Large(spec) => {
            let mut secs = [0.0; 2];
            for sys in systems {
                loaded[idx(sys)] = None; // always a fresh, timed load
                match preload(rt, pair, loaded, sys, spec) {
                    Ok(s) => secs[idx(sys)] = s.unwrap_or(0.0),
                    Err(e) => errors[idx(sys)].push(e),
                }
            }
            let mb = (spec.keys * spec.value_size as u64) as f64 / 1e6;
            load = Some(LoadInfo {
                dataset: format!("{} keys x {} B = {mb:.0} MB", spec.keys, spec.value_size),
                amount: mb,
                unit: "MB".into(),
                redis_secs: secs[0],
                strata_secs: secs[1],
                strata_settle_secs: settle_strata(pair),
            });
        }
        Kind::Collections(_) => {
            let mut secs = [None; 2];
            for sys in systems {
                let i = idx(sys);
                if colls[i].is_none() {
                    let r = collections::load(pair.get(sys).port, collection_members);
                    match &r {
                        Ok(s) => {
                            eprintln!("  loaded the collections into {} in {s:.1}s", sys.label());
                            secs[i] = Some(*s);
                        }
                        Err(e) => eprintln!("  loading the collections into {}: {e}", sys.label()),
                    }
                    colls[i] = Some(r.map(|_| ()));
                }
                if let Some(Err(e)) = &colls[i] {
                    errors[i].push(format!("collection preload failed: {e}"));
                }
            }
            if secs.iter().any(Option::is_some) {
                let members = 3 * (collection_members + collections::SMALL_MEMBERS);
                load = Some(LoadInfo {
                    dataset: format!(
                        "big:hash, big:set and big:zset of {collection_members} members each, plus \
                         small:hash, small:set and small:zset of {} each (HSET/SADD/ZADD with {} members \
                         per command, {} commands per write, one connection; lengths checked after)",
                        collections::SMALL_MEMBERS,
                        collections::PER_COMMAND,
                        collections::WINDOW
                    ),
                    amount: members as f64,
                    unit: "members".into(),
                    redis_secs: secs[0].unwrap_or(0.0),
                    strata_secs: secs[1].unwrap_or(0.0),
                    strata_settle_secs: settle_strata(pair),
                });
            }
        }
        Kind::Rb(_) => {}
    }
    for round in 0..rounds {
        for sys in systems {
            let port = pair.get(sys).port;
            if matches!(w.kind, Kind::Collections(_)) && matches!(colls[idx(sys)], Some(Err(_))) {
                samples[idx(sys)].push(None);
                continue;
            }
            let r = match &w.kind {
                Kind::Rb(spec) | Kind::Collections(spec) => rbench::run(spec, port),
                Kind::Gen(spec) | Kind::Large(spec) => run_gen(rt, port, spec, round as u64 + 1),
            };
            match r {
                Ok(s) => {
                    eprintln!(
                        "  round {} {:<6} {:>10.0} ops/s  p50 {:.3}  p99 {:.3}  p99.9 {}",
                        round + 1,
                        sys.label(),
                        s.ops_per_sec,
                        s.p50_ms,
                        s.p99_ms,
                        s.p999_ms.map(|v| format!("{v:.3}")).unwrap_or("n/a".into())
                    );
                    samples[idx(sys)].push(Some(s));
                }
                Err(e) => {
                    eprintln!("  round {} {}: {e}", round + 1, sys.label());
                    errors[idx(sys)].push(e);
                    samples[idx(sys)].push(None);
                }
            }
        }
    }
    let (mut paired_r, mut paired_s) = (Vec::new(), Vec::new());
    for (r, s) in samples[0].iter().zip(&samples[1]) {
        if let (Some(r), Some(s)) = (r, s) {
            paired_r.push(r.clone());
            paired_s.push(s.clone());
        }
    }
    let ratios = ratios(&paired_r, &paired_s);
    let mut results = systems.map(|sys| {
        let i = idx(sys);
        let ok: Vec<Sample> = samples[i].iter().flatten().cloned().collect();
        SystemResult {
            system: sys.label().into(),
            rounds: std::mem::take(&mut samples[i]),
            median: median_sample(&ok),
            rss_bytes_after: pair.get(sys).rss_bytes(),
            disk_bytes_after: pair.get(sys).disk_bytes(),
            errors: std::mem::take(&mut errors[i]),
        }
    });
    let [redis, strata] = std::mem::replace(&mut results, [empty("Redis"), empty("Strata")]);
    WorkloadResult {
        name: w.name.clone(),
        description: w.description.clone(),
        tool: tool.into(),
        command,
        redis,
        strata,
        ratios,
        load,
        baseline: w.baseline.clone(),
    }
}

/// Most seconds to wait for Strata's engine to go quiet after a load.
const SETTLE_LIMIT: Duration = Duration::from_secs(180);

/// Waits until Strata reports no running flush or compaction and no
/// pending compaction bytes (twice in a row, 250 ms apart), so a timed row
/// measures the steady state rather than the tail of a bulk load, and
/// returns how long that took. Redis has no such work to wait for.
fn settle_strata(pair: &Pair) -> Option<f64> {
    let started = std::time::Instant::now();
    let mut conn = resp::Conn::connect(pair.strata.port).ok()?;
    let mut quiet_in_a_row = 0;
    while started.elapsed() < SETTLE_LIMIT {
        let info = match conn.call(&["INFO", "rocksdb"]).ok()? {
            resp::Reply::Bulk(Some(text)) => String::from_utf8_lossy(&text).into_owned(),
            _ => return None,
        };
        if engine_is_quiet(&info) {
            quiet_in_a_row += 1;
            if quiet_in_a_row == 2 {
                return Some(started.elapsed().as_secs_f64());
            }
        } else {
            quiet_in_a_row = 0;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    eprintln!("  Strata's engine did not settle within {SETTLE_LIMIT:?}");
    None
}

/// Whether an `INFO rocksdb` text shows no flush or compaction running or
/// pending.
fn engine_is_quiet(info: &str) -> bool {
    let field = |name: &str| {
        info.lines().find_map(|l| {
            l.strip_prefix(name)?
                .strip_prefix(':')?
                .trim()
                .parse::<u64>()
                .ok()
        })
    };
    // INFO's RocksDB section; another engine (pmem) has none and no
    // background work to wait for.
    let fields = [
        "rocksdb_pending_compaction_bytes",
        "rocksdb_running_compactions",
        "rocksdb_running_flushes",
    ];
    fields.iter().all(|name| field(name) == Some(0))
        || fields.iter().all(|name| field(name).is_none())
}

fn empty(system: &'static str) -> SystemResult {
    SystemResult {
        system: system.into(),
        rounds: Vec::new(),
        median: None,
        rss_bytes_after: None,
        disk_bytes_after: 0,
        errors: Vec::new(),
    }
}

/// The targets, judged on this run's rows and, for the replica
/// rows, on `scripts/repl-bench.py`'s figures in `<out>/bench/replication.json`.
fn targets(results: &[WorkloadResult], clients: u32, dir: &Path) -> Vec<TargetCheck> {
    let find = |name: String| results.iter().find(|w| w.name == name);
    let mut out = Vec::new();
    for op in ["GET", "SET"] {
        let w = find(format!("{op} c{clients} (redis-benchmark)"));
        let ops = w.and_then(|w| w.ratios.ops_per_sec);
        out.push(TargetCheck {
            target: format!("{op}, {clients} clients, no pipelining: throughput >= 1.0x Redis"),
            measured: ops,
            met: ops.map(|r| r >= 1.0),
        });
        let p99 = w.and_then(|w| w.ratios.p99);
        out.push(TargetCheck {
            target: format!("{op}, {clients} clients, no pipelining: p99 <= 1.2x Redis"),
            measured: p99,
            met: p99.map(|r| r <= 1.2),
        });
    }
    for op in ["GET", "SET"] {
        let w = find(format!("{op} c{clients} P16 (redis-benchmark)"));
        let ops = w.and_then(|w| w.ratios.ops_per_sec);
        out.push(TargetCheck {
            target: format!("{op}, {clients} clients, pipeline 16: throughput >= 0.8x Redis"),
            measured: ops,
            met: ops.map(|r| r >= 0.8),
        });
    }
    for (pipeline, floor) in [("", 0.7), (" P16", 0.5)] {
        for op in ["LPUSH", "LPOP", "SADD", "HSET", "ZADD", "LRANGE_100"] {
            let Some(w) = find(format!("{op} c{clients}{pipeline} (redis-benchmark)")) else {
                continue;
            };
            let ops = w.ratios.ops_per_sec;
            let how = if pipeline.is_empty() {
                "no pipelining".to_string()
            } else {
                "pipeline 16".to_string()
            };
            out.push(TargetCheck {
                target: format!("{op}, {clients} clients, {how}: throughput >= {floor}x Redis"),
                measured: ops,
                met: ops.map(|r| r >= floor),
            });
        }
    }
    // The dataset larger than the block cache against the same GETs of the
    // same 4 KiB values in cache: Strata's own p99s, not a ratio to Redis.
    // Runs from before that baseline existed compare with the 128 B GET row.
    let large = find("Larger-than-cache uniform GET".to_string());
    let (small, baseline) = match find(workloads::IN_CACHE_4K.to_string()) {
        Some(w) => (Some(w), "the same GETs of 4 KiB values in cache"),
        None => (
            find(format!("GET c{clients} (strata-bench)")),
            "its in-cache GET of 128 B values",
        ),
    };
    if let (Some(large), Some(small)) = (large, small) {
        let p99 = |w: &WorkloadResult| w.strata.median.as_ref().map(|s| s.p99_ms);
        let flat = match (p99(large), p99(small)) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        out.push(TargetCheck {
            target: format!(
                "Dataset larger than the block cache: Strata's GET p99 <= 2x {baseline}"
            ),
            measured: flat,
            met: flat.map(|r| r <= 2.0),
        });
    }
    out.extend(replica_targets(dir));
    out
}

/// "With one replica attached and the durable backlog on: SET within 10%":
/// per replica kind and pipeline, a Strata master's SET throughput with its
/// replica attached over detached, the median of per-round ratios (as the
/// replication section's table shows it). Nothing when there is no
/// throughput phase in the file.
fn replica_targets(out: &Path) -> Vec<TargetCheck> {
    let path = out.join("bench").join("replication.json");
    let Some(rows) = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["throughput"].as_array().cloned())
    else {
        return Vec::new();
    };
    let mut checks = Vec::new();
    for replica in ["Strata", "Redis"] {
        for pipeline in [1, 16] {
            let rps = |attached: bool, round: u64| {
                rows.iter()
                    .find(|r| {
                        r["master"] == "Strata"
                            && r["replica"] == replica
                            && r["pipeline"] == pipeline
                            && r["attached"] == attached
                            && r["round"] == round
                    })
                    .and_then(|r| r["rps"].as_f64())
            };
            let per_round: Vec<f64> = (1..=16)
                .filter_map(|round| Some(rps(true, round)? / rps(false, round)?))
                .collect();
            let Some(median) = figures::median(&per_round) else {
                continue;
            };
            let how = if pipeline == 1 {
                "no pipelining".to_string()
            } else {
                format!("pipeline {pipeline}")
            };
            checks.push(TargetCheck {
                target: format!(
                    "SET, 50 clients, {how}, one {replica} replica attached (durable backlog on): \
                     >= 0.9x the same master detached (bench/replication.json)"
                ),
                measured: Some(median),
                met: Some(median >= 0.9),
            });
        }
    }
    checks
}

fn write_outputs(out: &Path, run: &report::Run) -> Result<(), String> {
    let bench = out.join("bench");
    std::fs::create_dir_all(&bench).map_err(|e| format!("{}: {e}", bench.display()))?;
    let json = serde_json::to_string_pretty(run).map_err(|e| e.to_string())?;
    std::fs::write(bench.join("results.json"), json + "\n").map_err(|e| e.to_string())?;
    std::fs::write(out.join("benchmarks.md"), report::markdown(run)).map_err(|e| e.to_string())?;
    if let Err(e) = report::plot(&bench.join("latency.png"), &run.workloads) {
        eprintln!("plot not written: {e}");
    }
    if let Err(e) = report::summary_plot(&bench.join("summary.png"), &run.workloads) {
        eprintln!("summary figure not written: {e}");
    }
    Ok(())
}

/// Re-renders the report of the last run with the current notes.
fn rerender(out: &Path) -> Result<(), String> {
    let json_path = out.join("bench").join("results.json");
    let text =
        std::fs::read_to_string(&json_path).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let mut run: report::Run =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    run.notes = std::fs::read_to_string(out.join("bench").join("notes.md")).ok();
    run.separate_runs = report::separate_runs(out);
    let clients = run.settings["clients"].as_u64().unwrap_or(50) as u32;
    run.targets = targets(&run.workloads, clients, out);
    write_outputs(out, &run)?;
    eprintln!("rewrote {}", out.join("benchmarks.md").display());
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(bad) = cli.value_sizes.iter().find(|s| !(16..=16384).contains(*s)) {
        eprintln!("--value-sizes: {bad} is outside 16..=16384");
        return ExitCode::FAILURE;
    }
    let outcome = if cli.rerender {
        rerender(&cli.out)
    } else {
        real_main(&cli)
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: &Cli) -> Result<(), String> {
    let started = report::utc_now();
    let p = plan(cli);
    let base = cli.workdir.clone().unwrap_or_else(std::env::temp_dir);
    let workdir = base.join(format!("strata-bench-{}", std::process::id()));
    std::fs::create_dir_all(&workdir).map_err(|e| format!("{}: {e}", workdir.display()))?;
    let mut machine = report::machine(&workdir);
    let durability = Durability {
        appendfsync: cli.appendfsync.clone(),
    };
    let strata_bin = strata_binary(cli);

    let rport = servers::free_port().map_err(|e| e.to_string())?;
    let rdir = workdir.join("redis-data");
    let redis = ServerProc::spawn(
        System::Redis,
        &cli.redis_server,
        servers::redis_args(rport, &rdir, &workdir.join("redis.log"), &durability),
        rport,
        rdir,
        &workdir.join("redis.stdout"),
    )?;
    let sport = servers::free_port().map_err(|e| e.to_string())?;
    let sdir = workdir.join("strata-data");
    let strata = ServerProc::spawn(
        System::Strata,
        &strata_bin,
        servers::strata_args(sport, &sdir, &durability, &cli.strata_block_cache),
        sport,
        sdir,
        &workdir.join("strata.log"),
    )?;
    let pair = Pair { redis, strata };
    eprintln!(
        "Redis on {rport}, Strata on {sport}, data under {}",
        workdir.display()
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut loaded: Loaded = [None, None];
    let mut colls: CollectionsLoaded = [None, None];
    // redis-benchmark's GETs should find values: fill its keyspace first
    // ("key:" + 12 digits, 3-byte values like its default -d 3).
    for s in [&pair.redis, &pair.strata] {
        rt.block_on(loadgen::preload(s.port, loadgen::RB_PREFIX, cli.keys, 3, 7))
            .map_err(|e| format!("preloading {}: {e}", s.system.label()))?;
    }
    let mut results = Vec::new();
    for w in workloads(cli, &p) {
        eprintln!("== {}", w.name);
        results.push(run_workload(
            &rt,
            &pair,
            &mut loaded,
            &mut colls,
            p.collection_members,
            &w,
            p.rounds,
        ));
    }
    machine.loadavg_end = report::loadavg();
    let versions = vec![
        (
            "redis-server".to_string(),
            report::command_output(&cli.redis_server, &["--version"]),
        ),
        (
            "redis-benchmark".to_string(),
            report::command_output("redis-benchmark", &["--version"]),
        ),
        (
            "strata-server".to_string(),
            report::command_output(&strata_bin, &["--version"]),
        ),
        (
            "git commit of the benchmarked tree".to_string(),
            report::command_output("git", &["rev-parse", "--short", "HEAD"]),
        ),
        (
            "rustc".to_string(),
            report::command_output("rustc", &["--version"]),
        ),
    ];
    let run = report::Run {
        started_utc: started,
        finished_utc: report::utc_now(),
        invocation: std::env::args().collect::<Vec<_>>().join(" "),
        settings: serde_json::json!({
            "rounds": p.rounds,
            "appendfsync": cli.appendfsync,
            "generator_seconds": p.duration.as_secs_f64(),
            "generator_warmup_seconds": p.warmup.as_secs_f64(),
            "redis_benchmark_requests": p.rb_requests,
            "redis_benchmark_requests_pipelined": p.rb_requests_pipelined,
            "clients": cli.clients,
            "keys": cli.keys,
            "value_sizes": cli.value_sizes,
            "open_loop_rates": cli.rate,
            "large_dataset_bytes": p.large_bytes,
            "strata_block_cache": cli.strata_block_cache,
            "collection_members": p.collection_members,
            "small_collection_members": collections::SMALL_MEMBERS,
            "quick": cli.quick,
        }),
        machine,
        versions,
        redis_command: pair.redis.command.clone(),
        strata_command: pair.strata.command.clone(),
        targets: targets(&results, cli.clients, &cli.out),
        collection_scaling: report::collection_scaling(&results),
        workloads: results,
        notes: std::fs::read_to_string(cli.out.join("bench").join("notes.md")).ok(),
        separate_runs: report::separate_runs(&cli.out),
    };
    let Pair { redis, strata } = pair;
    redis.stop();
    strata.stop();
    if !cli.keep {
        let _ = std::fs::remove_dir_all(&workdir);
    }
    write_outputs(&cli.out, &run)?;
    for t in &run.targets {
        eprintln!("{}: {:?} -> {:?}", t.target, t.measured, t.met);
    }
    eprintln!("wrote {}", cli.out.join("benchmarks.md").display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::engine_is_quiet;

    #[test]
    fn engine_is_quiet_only_when_all_three_figures_are_zero() {
        // The field names of strata-server's `INFO rocksdb` (src/cmd/info.rs).
        let info = |pending: u64, compactions: u64, flushes: u64| {
            format!(
                "# RocksDB\r\nrocksdb_sst_bytes:1\r\nrocksdb_pending_compaction_bytes:{pending}\r\n\
                 rocksdb_running_compactions:{compactions}\r\nrocksdb_running_flushes:{flushes}\r\n"
            )
        };
        assert!(engine_is_quiet(&info(0, 0, 0)));
        assert!(!engine_is_quiet(&info(4096, 0, 0)));
        assert!(!engine_is_quiet(&info(0, 1, 0)));
        assert!(!engine_is_quiet(&info(0, 0, 1)));
        // Another engine has no RocksDB section: nothing to wait for.
        assert!(engine_is_quiet(""));
    }
}
