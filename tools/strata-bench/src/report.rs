//! Everything a run writes: the machine description, results.json, the
//! markdown report (docs/benchmarks.md) and the latency plot (PNG).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde::Serialize;

use crate::figures::{Ratios, Sample};

/// Figures of one system on one workload.
#[derive(Debug, Serialize)]
pub struct SystemResult {
    pub system: &'static str,
    /// One entry per round; None when that run failed (see `errors`).
    pub rounds: Vec<Option<Sample>>,
    pub median: Option<Sample>,
    pub rss_bytes_after: Option<u64>,
    pub disk_bytes_after: u64,
    pub errors: Vec<String>,
}

/// A dataset load made before the timed rounds.
#[derive(Debug, Serialize)]
pub struct LoadInfo {
    pub keys: u64,
    pub value_size: usize,
    pub bytes: u64,
    pub redis_secs: f64,
    pub strata_secs: f64,
}

#[derive(Debug, Serialize)]
pub struct WorkloadResult {
    pub name: String,
    pub description: String,
    /// "redis-benchmark" or "strata-bench".
    pub tool: &'static str,
    /// The load command or its parameters, for reproduction.
    pub command: String,
    pub redis: SystemResult,
    pub strata: SystemResult,
    pub ratios: Ratios,
    pub load: Option<LoadInfo>,
}

/// An issue target and whether this run met it.
#[derive(Debug, Serialize)]
pub struct TargetCheck {
    pub target: String,
    pub measured: Option<f64>,
    pub met: Option<bool>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub mem_total: String,
    pub kernel: String,
    pub disk: String,
    pub loadavg_start: String,
    pub loadavg_end: String,
}

#[derive(Debug, Serialize)]
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
    /// Hand-written observations kept in `<out>/bench/notes.md`, copied into
    /// the report so a re-run does not lose them.
    #[serde(skip)]
    pub notes: Option<String>,
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
         per-round Strata/Redis ratios). Strata is an unoptimised first version; these are the \
         figures as measured, not tuned.\n"
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
    let _ = writeln!(w, "## How to reproduce\n");
    let _ = writeln!(
        w,
        "```\nscripts/bench.sh                          # full run (default: 3 rounds, everysec)\n\
         scripts/bench.sh --quick                  # smoke run: 1 round, ~1 s per workload\n\
         scripts/bench.sh --appendfsync always     # both servers fsync every write\n\
         scripts/bench.sh --only GET,zipf --rounds 5 --value-sizes 128\n```\n\n\
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
         limited, so reads that miss the block cache may still hit memory rather than the disk.\n"
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
            let mb = l.bytes as f64 / 1e6;
            let _ = writeln!(
                w,
                "Dataset: {} keys x {} B = {:.0} MB. Load time: Redis {:.1} s ({:.1} MB/s), Strata {:.1} s ({:.1} MB/s).\n",
                l.keys, l.value_size, mb, l.redis_secs, mb / l.redis_secs.max(1e-9), l.strata_secs, mb / l.strata_secs.max(1e-9)
            );
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
