//! The latency monitor behind LATENCY: per event class (`command`,
//! `fast-command`), one sample per second of the worst latency seen, in a
//! ring of the last 160 seconds with samples, plus the all-time maximum, as
//! Redis's `latency.c` keeps them. Only latencies of at least
//! `latency-monitor-threshold` ms are recorded; 0 turns the monitor off.
//!
//! This module also renders the two texts LATENCY returns: the ASCII graph
//! (Redis's sparkline renderer) and the DOCTOR report.

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

/// Samples kept per event (Redis's `LATENCY_TS_LEN`).
pub const TS_LEN: usize = 160;

#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Unix seconds; 0 = empty slot.
    pub time: u64,
    pub latency_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Series {
    /// Slot the next new second goes to.
    idx: usize,
    pub max: u64,
    samples: [Sample; TS_LEN],
}

impl Series {
    fn new() -> Series {
        Series {
            idx: 0,
            max: 0,
            samples: [Sample::default(); TS_LEN],
        }
    }

    fn add(&mut self, now: u64, latency_ms: u64) {
        self.max = self.max.max(latency_ms);
        let prev = (self.idx + TS_LEN - 1) % TS_LEN;
        if self.samples[prev].time == now {
            // One sample per second: the worst of that second.
            let p = &mut self.samples[prev];
            p.latency_ms = p.latency_ms.max(latency_ms);
            return;
        }
        self.samples[self.idx] = Sample {
            time: now,
            latency_ms,
        };
        self.idx = (self.idx + 1) % TS_LEN;
    }

    /// The latest sample (the slot before the next one).
    pub fn latest(&self) -> Sample {
        self.samples[(self.idx + TS_LEN - 1) % TS_LEN]
    }

    /// Samples oldest first, empty slots skipped.
    pub fn history(&self) -> Vec<Sample> {
        (0..TS_LEN)
            .map(|j| self.samples[(self.idx + j) % TS_LEN])
            .filter(|s| s.time != 0)
            .collect()
    }
}

pub struct LatencyMonitor {
    /// `latency-monitor-threshold` in ms; 0 = off.
    threshold_ms: AtomicU64,
    /// Events in the order they first occurred.
    events: Mutex<Vec<(String, Series)>>,
}

impl LatencyMonitor {
    pub fn new(threshold_ms: u64) -> LatencyMonitor {
        LatencyMonitor {
            threshold_ms: AtomicU64::new(threshold_ms),
            events: Mutex::new(Vec::new()),
        }
    }

    pub fn configure(&self, threshold_ms: u64) {
        self.threshold_ms.store(threshold_ms, Ordering::Relaxed);
    }

    pub fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Records a command's latency if the monitor is on and it reached the
    /// threshold (Redis's `latencyAddSampleIfNeeded`).
    #[inline]
    pub fn observe_command(&self, fast: bool, latency_ms: u64) {
        let t = self.threshold_ms.load(Ordering::Relaxed);
        if t == 0 || latency_ms < t {
            return;
        }
        self.add(if fast { "fast-command" } else { "command" }, latency_ms);
    }

    pub fn add(&self, event: &str, latency_ms: u64) {
        let now = crate::types::now_ms() / 1000;
        let mut events = self.events.lock();
        match events.iter_mut().find(|(e, _)| e == event) {
            Some((_, s)) => s.add(now, latency_ms),
            None => {
                let mut s = Series::new();
                s.add(now, latency_ms);
                events.push((event.to_string(), s));
            }
        }
    }

    /// Every event with its series.
    pub fn snapshot(&self) -> Vec<(String, Series)> {
        self.events.lock().clone()
    }

    pub fn get(&self, event: &[u8]) -> Option<(String, Series)> {
        self.events
            .lock()
            .iter()
            .find(|(e, _)| e.as_bytes() == event)
            .cloned()
    }

    /// Deletes the events named (case-insensitively) or all when `None`;
    /// returns how many were deleted.
    pub fn reset(&self, event: Option<&[u8]>) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        events.retain(|(e, _)| event.is_some_and(|x| !e.as_bytes().eq_ignore_ascii_case(x)));
        before - events.len()
    }
}

const GRAPH_COLS: usize = 80;
const GRAPH_ROWS: usize = 4;

/// LATENCY GRAPH's text: a header, a rule and a filled sparkline with
/// "seconds/minutes/hours/days ago" labels written vertically.
pub fn graph(event: &str, series: &Series, now: u64) -> String {
    let samples = series.history();
    let min = samples.iter().map(|s| s.latency_ms).min().unwrap_or(0);
    let max = samples.iter().map(|s| s.latency_ms).max().unwrap_or(0);
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n",
        series.max
    );
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    let points: Vec<(f64, String)> = samples
        .iter()
        .map(|s| {
            let ago = now.saturating_sub(s.time);
            let label = match ago {
                a if a < 60 => format!("{a}s"),
                a if a < 3600 => format!("{}m", a / 60),
                a if a < 86400 => format!("{}h", a / 3600),
                a => format!("{}d", a / 86400),
            };
            (s.latency_ms as f64, label)
        })
        .collect();
    for (i, chunk) in points.chunks(GRAPH_COLS).enumerate() {
        if i != 0 {
            out.push('\n');
        }
        render_range(&mut out, &points, chunk);
    }
    out
}

/// Redis's sparkline rendering of `chunk` (scaled on the whole sequence
/// `all`), with its fill charset and one blank row above the labels.
fn render_range(out: &mut String, all: &[(f64, String)], chunk: &[(f64, String)]) {
    const FILL: [char; 3] = ['_', 'o', '#'];
    let (mut min, mut max) = (all[0].0, all[0].0);
    for (v, _) in &all[1..] {
        // Redis updates min and max with an if/else-if, so a sample cannot
        // raise the max in the step that lowered the min.
        if *v < min {
            min = *v;
        } else if *v > max {
            max = *v;
        }
    }
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * GRAPH_ROWS) as i64;
    let mut row = 0usize;
    loop {
        let mut line = vec![' '; chunk.len()];
        let mut more = false;
        for (j, (v, label)) in chunk.iter().enumerate() {
            let step = (((v - min) * steps as f64) as i64 as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < GRAPH_ROWS {
                more = true;
                let idx = step - ((GRAPH_ROWS - row - 1) * FILL.len()) as i64;
                if (0..FILL.len() as i64).contains(&idx) {
                    line[j] = FILL[idx as usize];
                } else if idx >= FILL.len() as i64 {
                    line[j] = '|';
                }
            } else {
                if row - GRAPH_ROWS < 1 {
                    // The blank line between the graph and the labels.
                    more = true;
                    break;
                }
                let at = row - GRAPH_ROWS - 1;
                if let Some(c) = label.chars().nth(at) {
                    more = true;
                    line[j] = c;
                }
            }
        }
        if !more {
            break;
        }
        row += 1;
        out.extend(line);
        out.push('\n');
    }
}

/// Figures of one event for the DOCTOR report (Redis's `latencyStats`).
struct Analysis {
    samples: u64,
    avg: u64,
    mad: u64,
    period: u64,
}

fn analyze(series: &Series, now: u64) -> Analysis {
    let h = series.history();
    let n = h.len() as u64;
    if n == 0 {
        return Analysis {
            samples: 0,
            avg: 0,
            mad: 0,
            period: 0,
        };
    }
    let avg = h.iter().map(|s| s.latency_ms).sum::<u64>() / n;
    let oldest = h.iter().map(|s| s.time).min().unwrap_or(now);
    let mad = h.iter().map(|s| s.latency_ms.abs_diff(avg)).sum::<u64>() / n;
    Analysis {
        samples: n,
        avg,
        mad,
        period: now.saturating_sub(oldest).max(1),
    }
}

/// What the DOCTOR report needs to know about the configuration.
pub struct DoctorContext {
    pub threshold_ms: u64,
    pub slowlog_log_slower_than: i64,
}

/// LATENCY DOCTOR's report, with Redis 7.0's texts for the events Strata
/// records (`command`, `fast-command`).
pub fn doctor(events: &[(String, Series)], cx: &DoctorContext, now: u64) -> String {
    if events.is_empty() && cx.threshold_ms == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string();
    }
    let mut out = String::new();
    let (mut slowlog_enable, mut slowlog_tune, mut inspect, mut scheduler) =
        (false, false, false, false);
    let mut advices = 0;
    for (n, (event, series)) in events.iter().enumerate() {
        if n == 0 {
            out.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let a = analyze(series, now);
        out.push_str(&format!(
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            event,
            a.samples,
            a.avg,
            a.mad,
            a.period as f64 / a.samples.max(1) as f64,
            series.max
        ));
        if event.eq_ignore_ascii_case("command") {
            if cx.slowlog_log_slower_than < 0 {
                slowlog_enable = true;
                advices += 1;
            } else if cx.slowlog_log_slower_than / 1000 > cx.threshold_ms as i64 {
                slowlog_tune = true;
                advices += 1;
            }
            inspect = true;
            advices += 2;
        }
        if event.eq_ignore_ascii_case("fast-command") {
            scheduler = true;
            advices += 1;
        }
        out.push('\n');
    }
    if events.is_empty() && advices == 0 {
        out.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return out;
    }
    if advices == 0 {
        out.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return out;
    }
    out.push_str("\nI have a few advices for you:\n\n");
    let t = cx.threshold_ms * 1000;
    if slowlog_enable {
        out.push_str(&format!("- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {t}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n"));
    }
    if slowlog_tune {
        out.push_str(&format!("- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {t}'.\n"));
    }
    if inspect {
        out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if scheduler {
        out.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if inspect {
        out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_per_second_keeps_the_worst() {
        let mut s = Series::new();
        s.add(100, 20);
        s.add(100, 30);
        s.add(100, 10);
        s.add(101, 5);
        let h = s.history();
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].time, h[0].latency_ms), (100, 30));
        assert_eq!(s.latest().latency_ms, 5);
        assert_eq!(s.max, 30);
        for t in 0..200 {
            s.add(1000 + t, 1);
        }
        assert_eq!(s.history().len(), TS_LEN);
    }

    #[test]
    fn graph_of_one_sample_matches_redis() {
        let mut s = Series::new();
        s.add(100, 30);
        let g = graph("command", &s, 100);
        let rule = "-".repeat(80);
        assert_eq!(
            g,
            format!("command - high 30 ms, low 30 ms (all time high 30 ms)\n{rule}\n \n \n \n_\n \n0\ns\n")
        );
    }

    #[test]
    fn reset_counts_events() {
        let m = LatencyMonitor::new(1);
        m.observe_command(false, 0);
        assert!(m.snapshot().is_empty());
        m.observe_command(false, 3);
        m.observe_command(true, 3);
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(None), 1);
        assert_eq!(m.reset(None), 0);
    }
}
