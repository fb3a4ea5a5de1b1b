//! Everything a run writes: the machine description, results.json, the
//! markdown report (docs/benchmarks.md) and the latency plot (PNG).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::figures::{Ratios, Sample};

/// Figures of one system on one workload.
#[derive(Debug, Serialize, Deserialize)]
pub struct SystemResult {
    pub system: String,
    /// One entry per round; None when that run failed (see `errors`).
    pub rounds: Vec<Option<Sample>>,
    pub median: Option<Sample>,
    pub rss_bytes_after: Option<u64>,
    pub disk_bytes_after: u64,
    pub errors: Vec<String>,
}

/// A dataset load made before the timed rounds.
#[derive(Debug, Serialize, Deserialize)]
pub struct LoadInfo {
    /// What was loaded, in words ("73242 keys x 4096 B = 300 MB").
    pub dataset: String,
    /// How much was loaded in `unit`s, for the load rate.
    pub amount: f64,
    /// "MB", "members".
    pub unit: String,
    pub redis_secs: f64,
    pub strata_secs: f64,
    /// Seconds Strata then spent flushing and compacting the load before the
    /// timed rounds began (they wait for it); `None` if it did not settle
    /// within the wait, or was not measured.
    #[serde(default)]
    pub strata_settle_secs: Option<f64>,
}

impl LoadInfo {
    fn rate(&self, secs: f64) -> String {
        let r = self.amount / secs.max(1e-9);
        let digits = if r >= 1000.0 { 0 } else { 1 };
        format!("{r:.digits$} {}/s", self.unit)
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub name: String,
    pub description: String,
    /// "redis-benchmark" or "strata-bench".
    pub tool: String,
    /// The load command or its parameters, for reproduction.
    pub command: String,
    pub redis: SystemResult,
    pub strata: SystemResult,
    pub ratios: Ratios,
    pub load: Option<LoadInfo>,
    /// The same command on a small key, for rows that measure how latency
    /// grows with collection size (see `Run::collection_scaling`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
}

/// Big-key latency over small-key latency of one command, per system: near
/// 1 means the cost of a point operation does not grow with the collection.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct ScalingRow {
    /// The big-key workload.
    pub workload: String,
    /// The small-key workload it is compared with.
    pub baseline: String,
    pub redis_p50_big_over_small: Option<f64>,
    pub strata_p50_big_over_small: Option<f64>,
    pub redis_p99_big_over_small: Option<f64>,
    pub strata_p99_big_over_small: Option<f64>,
}

fn quotient(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// One row per workload that names a baseline present in `workloads`,
/// from the median figures of both.
pub fn collection_scaling(workloads: &[WorkloadResult]) -> Vec<ScalingRow> {
    let mut out = Vec::new();
    for big in workloads {
        let Some(base) = &big.baseline else { continue };
        let Some(small) = workloads.iter().find(|w| &w.name == base) else {
            continue;
        };
        let fig = |s: &SystemResult, f: fn(&Sample) -> f64| s.median.as_ref().map(f);
        let q = |b: &SystemResult, s: &SystemResult, f: fn(&Sample) -> f64| {
            quotient(fig(b, f), fig(s, f))
        };
        out.push(ScalingRow {
            workload: big.name.clone(),
            baseline: small.name.clone(),
            redis_p50_big_over_small: q(&big.redis, &small.redis, |m| m.p50_ms),
            strata_p50_big_over_small: q(&big.strata, &small.strata, |m| m.p50_ms),
            redis_p99_big_over_small: q(&big.redis, &small.redis, |m| m.p99_ms),
            strata_p99_big_over_small: q(&big.strata, &small.strata, |m| m.p99_ms),
        });
    }
    out
}

fn scaling_markdown(w: &mut String, run: &Run) {
    if run.collection_scaling.is_empty() {
        return;
    }
    let _ = writeln!(
        w,
        "## Latency against collection size
"
    );
    let _ = writeln!(
        w,
        "The same point read on a big key and on a 100-member key of the same type \
         (redis-benchmark, random existing members). A big/small ratio near 1 means per-operation \
         latency stays flat as the collection grows. Redis keeps 100-member hashes and zsets in its \
         compact listpack encoding and big ones in hash tables, so its small and big keys differ in \
         encoding as well as size.\n"
    );
    let _ = writeln!(
        w,
        "| Big key | Small key | Redis p50 big/small | Strata p50 big/small | Redis p99 big/small | Strata p99 big/small |"
    );
    let _ = writeln!(w, "|---|---|---:|---:|---:|---:|");
    let find = |name: &str| run.workloads.iter().find(|x| x.name == name);
    let p50s = |name: &str| {
        let Some(wl) = find(name) else {
            return String::new();
        };
        let p = |s: &SystemResult| fmt_num(s.median.as_ref().map(|m| m.p50_ms), 3);
        format!(" (p50 {} / {} ms)", p(&wl.redis), p(&wl.strata))
    };
    for r in &run.collection_scaling {
        let _ = writeln!(
            w,
            "| {}{} | {}{} | {} | {} | {} | {} |",
            r.workload,
            p50s(&r.workload),
            r.baseline,
            p50s(&r.baseline),
            fmt_num(r.redis_p50_big_over_small, 2),
            fmt_num(r.strata_p50_big_over_small, 2),
            fmt_num(r.redis_p99_big_over_small, 2),
            fmt_num(r.strata_p99_big_over_small, 2),
        );
    }
    let _ = writeln!(
        w,
        "\nIn parentheses: the median p50 of Redis / Strata on that row.\n"
    );
}

/// An issue target and whether this run met it.
#[derive(Debug, Serialize, Deserialize)]
pub struct TargetCheck {
    pub target: String,
    pub measured: Option<f64>,
    pub met: Option<bool>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total: String,
    pub kernel: String,
    pub disk: String,
    pub loadavg_start: String,
    pub loadavg_end: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Run {
    pub started_utc: String,
    pub finished_utc: String,
    pub invocation: String,
    pub settings: serde_json::Value,
    pub machine: Machine,
    pub versions: Vec<(String, String)>,
    pub redis_command: String,
    pub strata_command: String,
    pub workloads: Vec<WorkloadResult>,
    pub targets: Vec<TargetCheck>,
    /// Big-key over small-key latency of the large-collection rows.
    pub collection_scaling: Vec<ScalingRow>,
    /// Hand-written observations kept in `<out>/bench/notes.md`, copied into
    /// the report so a re-run does not lose them.
    #[serde(skip)]
    pub notes: Option<String>,
    /// Sections measured by separate runs (`<out>/bench/replication.md` from
    /// `scripts/repl-bench.py --md`, `xdc.md` from the cross-datacenter
    /// figure tests, `instructions.md` from `scripts/instr-per-request.sh`),
    /// copied in as they are.
    #[serde(skip)]
    pub separate_runs: Option<String>,
}

/// Output of a command, trimmed, or a note that it failed.
pub fn command_output(bin: &str, args: &[&str]) -> String {
    match Command::new(bin).args(args).output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        Ok(o) => format!(
            "({bin} failed: {})",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("({bin}: {e})"),
    }
}

pub fn utc_now() -> String {
    command_output("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"])
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn machine(workdir: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kb| format!("{:.1} GiB", kb / 1048576.0))
        .unwrap_or_default();
    let df = command_output("df", &["-hT", &workdir.display().to_string()]);
    let lsblk = command_output("lsblk", &["-d", "-o", "NAME,ROTA,SIZE,MODEL"]);
    Machine {
        nproc: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        cpu_model,
        mem_total,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string(),
        disk: format!("{df}\n{lsblk}"),
        loadavg_start: loadavg(),
        loadavg_end: String::new(),
    }
}

fn fmt_num(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) => format!("{x:.digits$}"),
        None => "n/a".into(),
    }
}

fn fmt_bytes(v: Option<u64>) -> String {
    match v {
        Some(b) if b >= 1 << 30 => format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        None => "n/a".into(),
    }
}

fn ratio_of(a: Option<u64>, b: Option<u64>) -> Option<f64> {
    match (a, b) {
        (Some(r), Some(s)) if r > 0 => Some(s as f64 / r as f64),
        _ => None,
    }
}

fn met_text(t: &TargetCheck) -> &'static str {
    match t.met {
        Some(true) => "**met**",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

pub fn markdown(run: &Run) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Strata versus Redis: side-by-side benchmarks\n");
    let _ = writeln!(
        w,
        "Generated by `scripts/bench.sh` (tool: `tools/strata-bench`) from {} to {}. \
         Raw figures: [bench/results.json](bench/results.json); plot: [bench/latency.png](bench/latency.png).\n",
        run.started_utc, run.finished_utc
    );
    let _ = writeln!(
        w,
        "![Strata/Redis throughput and p99 per workload](bench/summary.png)\n\n\
         Per workload, Strata/Redis throughput (blue) and p99 latency (orange), medians of \
         per-round ratios, log scale around parity; the numbers beside each name are the two \
         ratios. The per-workload percentile panels are further down.\n"
    );
    let _ = writeln!(w, "## Summary against the issue targets\n");
    let _ = writeln!(
        w,
        "| Target | Measured (Strata/Redis, median over rounds) | Result |"
    );
    let _ = writeln!(w, "|---|---|---|");
    for t in &run.targets {
        let _ = writeln!(
            w,
            "| {} | {} | {} |",
            t.target,
            fmt_num(t.measured, 2),
            met_text(t)
        );
    }
    let _ = writeln!(
        w,
        "\nTargets are judged on the redis-benchmark GET/SET rows below (ratios are medians of \
         per-round Strata/Redis ratios), as measured: nothing in either server is tuned for \
         this run.\n"
    );
    if let Some(notes) = &run.notes {
        let _ = writeln!(w, "{}\n", notes.trim_end());
    }
    let _ = writeln!(w, "## Overview (all workloads)\n");
    let _ = writeln!(
        w,
        "| Workload | Redis ops/s | Strata ops/s | ops/s ratio | p50 ratio | p99 ratio | p99.9 ratio |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|");
    for wl in &run.workloads {
        let ops = |s: &SystemResult| fmt_num(s.median.as_ref().map(|m| m.ops_per_sec), 0);
        let r = &wl.ratios;
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            wl.name,
            ops(&wl.redis),
            ops(&wl.strata),
            fmt_num(r.ops_per_sec, 2),
            fmt_num(r.p50, 2),
            fmt_num(r.p99, 2),
            fmt_num(r.p999, 2)
        );
    }
    let _ = writeln!(w);
    scaling_markdown(w, run);
    if let Some(sections) = &run.separate_runs {
        let _ = writeln!(w, "{}\n", sections.trim_end());
    }
    let _ = writeln!(w, "## How to reproduce\n");
    let _ = writeln!(
        w,
        "```\nscripts/bench.sh                          # full run (default: 3 rounds, everysec)\n\
         scripts/bench.sh --quick                  # smoke run: 1 round, ~1 s per workload\n\
         scripts/bench.sh --appendfsync always     # both servers fsync every write\n\
         scripts/bench.sh --only GET,zipf --rounds 5 --value-sizes 128\n\
         scripts/bench.sh --only members --collection-members 200000   # large-collection rows only\n```\n\n\
         `--only` keeps the workloads whose name contains one of the words given, at the start of a \
         word, ignoring case.\n\n\
         Needs redis-server and redis-benchmark 7.0 on PATH (Debian: redis-server, redis-tools) \
         and fonts-dejavu-core for the plot's text. `strata-bench --help` lists every flag.\n"
    );
    let m = &run.machine;
    let _ = writeln!(w, "## Machine\n");
    let _ = writeln!(w, "- CPUs (nproc): {} — {}", m.nproc, m.cpu_model);
    let _ = writeln!(w, "- Memory: {}", m.mem_total);
    let _ = writeln!(w, "- Kernel: {}", m.kernel);
    let _ = writeln!(
        w,
        "- Load average (1/5/15 min) at start: {}; at end: {}. The machine is shared: other \
         processes (compilers, other servers) ran during the measurement, so absolute figures are noisy; \
         the A/B alternation and per-round ratios are there to make the comparison fair anyway.",
        m.loadavg_start, m.loadavg_end
    );
    let _ = writeln!(w, "- Disk (data dirs live here):\n\n```\n{}\n```\n", m.disk);
    let _ = writeln!(w, "## Versions and commands\n");
    for (k, v) in &run.versions {
        let _ = writeln!(w, "- {k}: `{v}`");
    }
    let _ = writeln!(w, "\nBenchmark invocation: `{}`\n", run.invocation);
    let _ = writeln!(w, "Settings: `{}`\n", run.settings);
    let _ = writeln!(w, "Servers (ports and temp dirs vary per run):\n");
    let _ = writeln!(
        w,
        "```\n{}\n{}\n```\n",
        run.redis_command, run.strata_command
    );
    let _ = writeln!(w, "## Method\n");
    let _ = writeln!(
        w,
        "Both servers run side by side on loopback with equivalent durability (append-only log, \
         same fsync policy). Each workload runs on Redis then Strata, alternately, for several \
         rounds (A B A B ...). A system's figure is the median over rounds; a ratio is the median \
         of the per-round Strata/Redis ratios (ops/s: higher is better for Strata above 1; \
         latency: lower is better for Strata below 1). RSS (VmRSS) and bytes allocated on disk \
         under each data dir are read after each workload's last round.\n\n\
         - `redis-benchmark` rows: its own CSV figures (it reports no p99.9, hence n/a).\n\
         - `strata-bench` rows: the tool's generator (raw RESP, one thread, HDR histogram). Closed \
         loop: latency from send to reply. Open loop: requests are due on a fixed schedule and \
         latency is measured from the scheduled time (coordinated omission corrected). Keys are \
         preloaded before the timed rounds; values are random (incompressible) bytes.\n\
         - Larger-than-cache: Strata runs with a small block cache for the whole run; the dataset \
         is loaded once (load time reported), then uniform random GETs. The OS page cache is not \
         limited, so reads that miss the block cache may still hit memory rather than the disk \
         (docs/bench/larger-than-ram.md measures reads from the device). Its target compares its \
         p99 with the row before it, the same GETs of the same 4 KiB values on a twentieth of the \
         data, which the caches hold.\n\
         - Collection rows (LPUSH, LPOP, SADD, HSET, ZADD, LRANGE_100, ZRANGE 100): redis-benchmark's \
         own tests on its keys (mylist, myset, myhash, myzset; LRANGE_100 pushes the list itself \
         first); ZRANGE 100 reads a 200-member zset the tool rebuilds before each run.\n\
         - Large collections: one hash, set and zset of many members (1,000,000 by default) plus a \
         100-member key of each are loaded once into each server (load time reported on the first \
         such row); then redis-benchmark reads random existing members (HGET, SISMEMBER, ZSCORE \
         with `__rand_int__`) of the big and of the small keys.\n"
    );
    let _ = writeln!(w, "## Results\n");
    for wl in &run.workloads {
        let _ = writeln!(w, "### {}\n", wl.name);
        let _ = writeln!(
            w,
            "{} — tool: {}; `{}`\n",
            wl.description, wl.tool, wl.command
        );
        if let Some(l) = &wl.load {
            let _ = writeln!(
                w,
                "Dataset: {}. Load time: Redis {:.1} s ({}), Strata {:.1} s ({}).\n",
                l.dataset,
                l.redis_secs,
                l.rate(l.redis_secs),
                l.strata_secs,
                l.rate(l.strata_secs)
            );
            if let Some(settle) = l.strata_settle_secs {
                let _ = writeln!(
                    w,
                    "After the load, Strata's flushes and compactions took another {settle:.1} s \
                     to finish; the timed rounds started after that.\n"
                );
            }
        }
        let _ = writeln!(
            w,
            "| System | ops/s | p50 (ms) | p99 (ms) | p99.9 (ms) | RSS after | Disk after |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|---:|");
        for s in [&wl.redis, &wl.strata] {
            let med = s.median.as_ref();
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                s.system,
                fmt_num(med.map(|m| m.ops_per_sec), 0),
                fmt_num(med.map(|m| m.p50_ms), 3),
                fmt_num(med.map(|m| m.p99_ms), 3),
                fmt_num(med.and_then(|m| m.p999_ms), 3),
                fmt_bytes(s.rss_bytes_after),
                fmt_bytes(Some(s.disk_bytes_after)),
            );
        }
        let r = &wl.ratios;
        let _ = writeln!(
            w,
            "| **Strata/Redis** | {} | {} | {} | {} | {} | {} |\n",
            fmt_num(r.ops_per_sec, 2),
            fmt_num(r.p50, 2),
            fmt_num(r.p99, 2),
            fmt_num(r.p999, 2),
            fmt_num(
                ratio_of(wl.redis.rss_bytes_after, wl.strata.rss_bytes_after),
                2
            ),
            fmt_num(
                ratio_of(
                    Some(wl.redis.disk_bytes_after),
                    Some(wl.strata.disk_bytes_after)
                ),
                2
            ),
        );
        for s in [&wl.redis, &wl.strata] {
            if let Some(lag) = s.median.as_ref().and_then(|m| m.send_lag_p99_ms) {
                let _ = writeln!(
                    w,
                    "{}: the generator's own send lag behind schedule (timer resolution), p99 {lag:.3} ms, is included in these latencies.\n",
                    s.system
                );
            }
            let errs: u64 = s.rounds.iter().flatten().map(|x| x.errors).sum();
            if errs > 0 {
                let _ = writeln!(
                    w,
                    "{}: {errs} error replies during the timed runs.\n",
                    s.system
                );
            }
            for e in &s.errors {
                let _ = writeln!(w, "{} run failed: `{}`\n", s.system, e.replace('`', "'"));
            }
        }
    }
    let _ = writeln!(
        w,
        "## Latency plot\n\n![latency percentiles](bench/latency.png)\n"
    );
    let _ = writeln!(
        w,
        "Red: Redis, blue: Strata; per workload p50, p99, p99.9 (ms, log scale; redis-benchmark rows have no p99.9)."
    );
    md
}

/// Draws one small chart per workload: p50/p99/p99.9 of both systems.
pub fn plot(path: &Path, workloads: &[WorkloadResult]) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    use plotters::style::FontStyle;

    let font = std::fs::read("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        .map_err(|e| format!("DejaVuSans.ttf (apt package fonts-dejavu-core): {e}"))?;
    let font: &'static [u8] = Box::leak(font.into_boxed_slice());
    plotters::style::register_font("sans-serif", FontStyle::Normal, font)
        .map_err(|_| "DejaVuSans.ttf is not a usable font")?;

    let cols = 3usize;
    let rows = workloads.len().div_ceil(cols).max(1);
    let root = BitMapBackend::new(path, (1500, 70 + rows as u32 * 300)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(70);
    title.draw_text(
        "Latency percentiles per workload (ms, log scale) — red: Redis, blue: Strata",
        &("sans-serif", 26).into_font().color(&BLACK),
        (20, 22),
    )?;
    let points = |s: Option<&Sample>| -> Vec<(f64, f64)> {
        let Some(s) = s else { return Vec::new() };
        let mut v = vec![(0.0, s.p50_ms), (1.0, s.p99_ms)];
        if let Some(p) = s.p999_ms {
            v.push((2.0, p));
        }
        v.into_iter().filter(|(_, y)| *y > 0.0).collect()
    };
    for (wl, area) in workloads.iter().zip(body.split_evenly((rows, cols))) {
        let red = points(wl.redis.median.as_ref());
        let blue = points(wl.strata.median.as_ref());
        let ys = red.iter().chain(&blue).map(|p| p.1);
        let ymax = ys.clone().fold(0.0f64, f64::max).max(0.01) * 2.0;
        let ymin = ys.fold(f64::INFINITY, f64::min).min(ymax / 4.0).max(0.001) / 2.0;
        let mut chart = ChartBuilder::on(&area)
            .caption(&wl.name, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.3f64..2.3f64, (ymin..ymax).log_scale())?;
        chart
            .configure_mesh()
            .x_labels(3)
            .x_label_formatter(&|x| {
                let labels = ["p50", "p99", "p99.9"];
                let i = x.round();
                if (x - i).abs() < 0.05 && (0.0..=2.0).contains(&i) {
                    labels[i as usize].to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|y| {
                if *y >= 10.0 {
                    format!("{y:.0}")
                } else if *y >= 1.0 {
                    format!("{y:.1}")
                } else {
                    format!("{y:.2}")
                }
            })
            .light_line_style(WHITE)
            .y_labels(8)
            .y_desc("ms")
            .label_style(("sans-serif", 13))
            .draw()?;
        for (pts, color) in [(red, RED), (blue, BLUE)] {
            chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))?;
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
    }
    root.present()?;
    Ok(())
}

/// The figure the report opens with: per workload, Strata/Redis throughput
/// and p99 as bars from a 1.0 line (log scale), so a reader sees at a
/// glance where Strata is ahead (throughput right, p99 left) and where not.
pub fn summary_plot(
    path: &Path,
    workloads: &[WorkloadResult],
) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;

    let rows: Vec<(&str, Option<f64>, Option<f64>)> = workloads
        .iter()
        .map(|w| (w.name.as_str(), w.ratios.ops_per_sec, w.ratios.p99))
        .collect();
    let n = rows.len().max(1);
    let row_px = 26u32;
    let (width, label_px, top_px) = (1400u32, 420u32, 90u32);
    let root =
        BitMapBackend::new(path, (width, top_px + 60 + n as u32 * row_px)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(top_px);
    title.draw_text(
        "Strata / Redis per workload (log scale, 1.0 = parity)",
        &("sans-serif", 26).into_font().color(&BLACK),
        (20, 14),
    )?;
    title.draw_text(
        "blue: throughput ratio (right of 1.0 = Strata faster)    orange: p99 latency ratio (left of 1.0 = Strata lower)",
        &("sans-serif", 17).into_font().color(&BLACK),
        (20, 52),
    )?;
    let (xmin, xmax) = (0.03f64, 30.0f64);
    let mut chart = ChartBuilder::on(&body)
        .margin_right(30)
        .x_label_area_size(40)
        .y_label_area_size(label_px)
        .build_cartesian_2d((xmin..xmax).log_scale(), 0f64..n as f64)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(10)
        .x_label_formatter(&|x| format!("{x}"))
        .label_style(("sans-serif", 14))
        .draw()?;
    let orange = RGBColor(230, 140, 20);
    let clamp = |v: f64| v.clamp(xmin * 1.01, xmax * 0.99);
    for (i, (name, ops, p99)) in rows.iter().enumerate() {
        // The first workload at the top.
        let y = (n - 1 - i) as f64;
        for (value, lo, hi, color) in [(ops, 0.52, 0.88, BLUE), (p99, 0.12, 0.48, orange)] {
            if let Some(v) = value {
                let (a, b) = if *v >= 1.0 {
                    (1.0, clamp(*v))
                } else {
                    (clamp(*v), 1.0)
                };
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(a, y + lo), (b, y + hi)],
                    color.filled(),
                )))?;
            }
        }
        let (px, py) = chart.backend_coord(&(xmin, y + 0.5));
        let label = format!(
            "{name}  {} / {}",
            ops.map_or("-".into(), |v| format!("{v:.2}")),
            p99.map_or("-".into(), |v| format!("{v:.2}"))
        );
        let style = ("sans-serif", 14).into_font().color(&BLACK);
        let (tw, _) = root.estimate_text_size(&label, &style)?;
        root.draw_text(&label, &style, (px - tw as i32 - 8, py - 8))?;
    }
    chart.draw_series(LineSeries::new(
        [(1.0, 0.0), (1.0, n as f64)],
        BLACK.stroke_width(2),
    ))?;
    root.present()?;
    Ok(())
}

/// The separate-run sections under `<out>/bench/`, in report order.
pub fn separate_runs(out: &std::path::Path) -> Option<String> {
    let parts: Vec<String> = [
        "replication.md",
        "xdc.md",
        "instructions.md",
        "threads.md",
        "pipeline.md",
        "pmem.md",
    ]
    .iter()
    .filter_map(|f| std::fs::read_to_string(out.join("bench").join(f)).ok())
    .map(|t| t.trim_end().to_string())
    .collect();
    (!parts.is_empty()).then(|| parts.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system(name: &'static str, p50: f64, p99: f64) -> SystemResult {
        let s = Sample {
            ops_per_sec: 1000.0,
            p50_ms: p50,
            p99_ms: p99,
            p999_ms: None,
            errors: 0,
            send_lag_p99_ms: None,
        };
        SystemResult {
            system: name.into(),
            rounds: vec![Some(s.clone())],
            median: Some(s),
            rss_bytes_after: None,
            disk_bytes_after: 0,
            errors: Vec::new(),
        }
    }

    fn workload(
        name: &str,
        baseline: Option<&str>,
        redis: (f64, f64),
        strata: (f64, f64),
    ) -> WorkloadResult {
        WorkloadResult {
            name: name.into(),
            description: String::new(),
            tool: "redis-benchmark".into(),
            command: String::new(),
            redis: system("Redis", redis.0, redis.1),
            strata: system("Strata", strata.0, strata.1),
            ratios: Ratios::default(),
            load: None,
            baseline: baseline.map(String::from),
        }
    }

    fn run(workloads: Vec<WorkloadResult>) -> Run {
        Run {
            started_utc: String::new(),
            finished_utc: String::new(),
            invocation: String::new(),
            settings: serde_json::json!({}),
            machine: Machine {
                nproc: 2,
                cpu_model: String::new(),
                mem_total: String::new(),
                kernel: String::new(),
                disk: String::new(),
                loadavg_start: String::new(),
                loadavg_end: String::new(),
            },
            versions: Vec::new(),
            redis_command: String::new(),
            strata_command: String::new(),
            targets: Vec::new(),
            collection_scaling: collection_scaling(&workloads),
            workloads,
            notes: None,
            separate_runs: None,
        }
    }

    #[test]
    fn scaling_divides_big_by_small_medians() {
        let mut small_strata_failed = workload("ZSCORE small", None, (0.2, 0.4), (0.0, 0.0));
        small_strata_failed.strata.median = None;
        let rows = collection_scaling(&[
            workload("HGET big", Some("HGET small"), (0.3, 0.6), (0.9, 3.0)),
            workload("HGET small", None, (0.2, 0.4), (0.3, 1.0)),
            workload(
                "SISMEMBER big",
                Some("SISMEMBER small (not run)"),
                (0.3, 0.6),
                (0.9, 3.0),
            ),
            workload("ZSCORE big", Some("ZSCORE small"), (0.2, 0.4), (0.5, 1.0)),
            small_strata_failed,
        ]);
        assert_eq!(rows.len(), 2, "a missing baseline gives no row");
        assert_eq!(rows[0].workload, "HGET big");
        assert_eq!(rows[0].baseline, "HGET small");
        assert!((rows[0].redis_p50_big_over_small.unwrap() - 1.5).abs() < 1e-9);
        assert!((rows[0].strata_p50_big_over_small.unwrap() - 3.0).abs() < 1e-9);
        assert!((rows[0].redis_p99_big_over_small.unwrap() - 1.5).abs() < 1e-9);
        assert!((rows[0].strata_p99_big_over_small.unwrap() - 3.0).abs() < 1e-9);
        assert_eq!(rows[1].redis_p50_big_over_small, Some(1.0));
        assert_eq!(rows[1].strata_p50_big_over_small, None);
    }

    #[test]
    fn markdown_shows_scaling_and_load_rates() {
        let mut big = workload("HGET big", Some("HGET small"), (0.3, 0.6), (0.9, 3.0));
        big.load = Some(LoadInfo {
            dataset: "3 keys of 1000000 members".into(),
            amount: 3_000_000.0,
            unit: "members".into(),
            redis_secs: 2.0,
            strata_secs: 10.0,
            strata_settle_secs: Some(4.25),
        });
        let md = markdown(&run(vec![
            big,
            workload("HGET small", None, (0.2, 0.4), (0.3, 1.0)),
        ]));
        assert!(md.contains("## Latency against collection size"), "{md}");
        assert!(
            md.contains("| HGET big (p50 0.300 / 0.900 ms) | HGET small (p50 0.200 / 0.300 ms) | 1.50 | 3.00 | 1.50 | 3.00 |"),
            "{md}"
        );
        assert!(md.contains(
            "Dataset: 3 keys of 1000000 members. Load time: Redis 2.0 s (1500000 members/s), Strata 10.0 s (300000 members/s)."
        ));
        assert!(md.contains("took another 4.2 s to finish"), "{md}");
        let none = markdown(&run(vec![workload("GET", None, (0.2, 0.4), (0.3, 1.0))]));
        assert!(!none.contains("collection size"));
    }

    #[test]
    fn results_json_reads_back_into_the_same_report() {
        let mut original = run(vec![
            workload("HGET big", Some("HGET small"), (0.3, 0.6), (0.9, 3.0)),
            workload("HGET small", None, (0.2, 0.4), (0.3, 1.0)),
        ]);
        original.notes = Some("### Observations\n\n- a note".into());
        let json = serde_json::to_string_pretty(&original).expect("serialises");
        let mut back: Run = serde_json::from_str(&json).expect("reads back");
        assert!(
            back.notes.is_none(),
            "notes live in notes.md, not in the JSON"
        );
        back.notes = original.notes.clone();
        assert_eq!(markdown(&back), markdown(&original));
    }

    #[test]
    fn load_rate_units() {
        let l = LoadInfo {
            dataset: String::new(),
            amount: 300.0,
            unit: "MB".into(),
            redis_secs: 0.8,
            strata_secs: 0.0,
            strata_settle_secs: None,
        };
        assert_eq!(l.rate(0.8), "375.0 MB/s");
    }
}
