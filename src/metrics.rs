//! Prometheus metrics on their own HTTP port (`metrics-port`, 0 = off).
//!
//! Why this shape: the hot path must stay cheap, so the only thing recorded
//! per command here is one observation into a latency histogram that was
//! created at startup for that command id (no label lookups per call).
//! Everything that INFO also reports is read from [`Stats`], the keyspace
//! counters and the engine at scrape time, so INFO and `/metrics` can never
//! disagree. The HTTP side is a deliberately tiny HTTP/1.1 responder: read
//! the request head (size- and time-capped), answer once, close.
//!
//! [`Stats`]: crate::server::stats::Stats

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus::{proto, Counter, Encoder, Gauge, IntCounter, IntCounterVec, Opts};
use prometheus::{IntGauge, IntGaugeVec, Registry, TextEncoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::cmd::CommandTable;
use crate::server::Server;

/// Upper bounds (seconds) of the command latency buckets: 10 µs to 1 s.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025,
    0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Largest request head the responder reads before answering 431.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// The bucket bounds in nanoseconds, for the integer comparison on the hot path.
const LATENCY_BUCKET_NANOS: [u64; 16] = [
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
];

/// A fixed-bucket latency histogram made of atomics: recording is a binary
/// search over 16 integers and two relaxed additions, and, unlike the
/// prometheus crate's `Histogram`, it can be reset with CONFIG RESETSTAT so
/// its count keeps matching INFO commandstats `calls`.
struct LatencyHistogram {
    /// Non-cumulative counts; the last slot counts observations above 1 s.
    buckets: [AtomicU64; LATENCY_BUCKET_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

impl LatencyHistogram {
    fn new() -> Self {
        LatencyHistogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        // Bounds are inclusive (`le`): the first bound >= the value.
        let slot = LATENCY_BUCKET_NANOS.partition_point(|&b| b < nanos);
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
        self.sum_nanos.store(0, Ordering::Relaxed);
    }

    /// The exposition form, cumulative as Prometheus wants it.
    fn proto(&self) -> proto::Histogram {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len());
        for (upper, slot) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += slot.load(Ordering::Relaxed);
            let mut b = proto::Bucket::default();
            b.set_upper_bound(*upper);
            b.set_cumulative_count(cumulative);
            buckets.push(b);
        }
        let overflow = self.buckets[LATENCY_BUCKET_NANOS.len()].load(Ordering::Relaxed);
        let mut h = proto::Histogram::default();
        h.set_bucket(buckets);
        h.set_sample_count(cumulative + overflow);
        h.set_sample_sum(self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9);
        h
    }
}

/// One latency histogram per command id, created once at startup and
/// indexed by id on the hot path (no label lookups per call).
pub struct CommandLatency {
    by_id: Vec<LatencyHistogram>,
}

impl CommandLatency {
    pub fn new(commands: &CommandTable) -> CommandLatency {
        CommandLatency {
            by_id: (0..commands.ids())
                .map(|_| LatencyHistogram::new())
                .collect(),
        }
    }

    /// Records one executed command: called by dispatch next to
    /// `Stats::record_call`, so both count the same calls.
    pub fn observe(&self, id: usize, elapsed: Duration) {
        if let Some(h) = self.by_id.get(id) {
            h.observe(elapsed);
        }
    }

    /// Observations recorded for command `id`.
    pub fn count(&self, id: usize) -> u64 {
        self.by_id.get(id).map_or(0, LatencyHistogram::count)
    }

    /// Sum of the observations of command `id`, in seconds.
    pub fn sum_seconds(&self, id: usize) -> f64 {
        self.by_id
            .get(id)
            .map_or(0.0, |h| h.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9)
    }

    /// LATENCY HISTOGRAM's figures for command `id`: its calls and, for
    /// each bucket bound (µs) where the count grows, the cumulative count.
    /// Calls over 1 s count in the last bound, as Redis clamps them to its
    /// histogram's 1 s maximum. `None` when the command was not called.
    pub fn cdf_usec(&self, id: usize) -> Option<(u64, Vec<(u64, u64)>)> {
        let h = self.by_id.get(id)?;
        let last = LATENCY_BUCKET_NANOS.len() - 1;
        let mut cdf: Vec<(u64, u64)> = Vec::new();
        let mut cumulative = 0;
        for (i, slot) in h.buckets.iter().enumerate() {
            let n = slot.load(Ordering::Relaxed);
            if n == 0 {
                continue;
            }
            cumulative += n;
            let bound = LATENCY_BUCKET_NANOS[i.min(last)] / 1000;
            match cdf.last_mut() {
                Some((b, c)) if *b == bound => *c = cumulative,
                _ => cdf.push((bound, cumulative)),
            }
        }
        (cumulative > 0).then_some((cumulative, cdf))
    }

    /// CONFIG RESETSTAT: zeroes every histogram, as `Stats::reset` zeroes
    /// the commandstats counters.
    pub fn reset(&self) {
        for h in &self.by_id {
            h.reset();
        }
    }

    /// The `strata_command_duration_seconds` family: commands that were
    /// called since the last reset, as INFO commandstats lists them.
    fn family(&self, commands: &CommandTable) -> proto::MetricFamily {
        let metrics = self
            .by_id
            .iter()
            .enumerate()
            .filter(|(_, h)| h.count() > 0)
            .map(|(id, h)| {
                let mut label = proto::LabelPair::default();
                label.set_name("cmd".to_string());
                label.set_value(commands.fullname(id).to_string());
                let mut m = proto::Metric::default();
                m.set_label(vec![label]);
                m.set_histogram(h.proto());
                m
            })
            .collect();
        let mut family = proto::MetricFamily::default();
        family.set_name("strata_command_duration_seconds".to_string());
        family.set_help(
            "Time spent executing commands (the handler, as INFO commandstats usec).".to_string(),
        );
        family.set_field_type(proto::MetricType::HISTOGRAM);
        family.set_metric(metrics);
        family
    }
}

/// Builds metric families into a fresh registry, one scrape at a time.
struct Scrape {
    registry: Registry,
}

impl Scrape {
    fn counter(&self, name: &str, help: &str, value: u64) -> prometheus::Result<()> {
        let c = IntCounter::new(name, help)?;
        c.inc_by(value);
        self.registry.register(Box::new(c))
    }

    fn gauge(&self, name: &str, help: &str, value: i64) -> prometheus::Result<()> {
        let g = IntGauge::new(name, help)?;
        g.set(value);
        self.registry.register(Box::new(g))
    }

    fn float_counter(&self, name: &str, help: &str, value: f64) -> prometheus::Result<()> {
        let c = Counter::new(name, help)?;
        c.inc_by(value);
        self.registry.register(Box::new(c))
    }

    fn float_gauge(&self, name: &str, help: &str, value: f64) -> prometheus::Result<()> {
        let g = Gauge::new(name, help)?;
        g.set(value);
        self.registry.register(Box::new(g))
    }

    fn labelled_counter(
        &self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (String, u64)>,
    ) -> prometheus::Result<()> {
        let vec = IntCounterVec::new(Opts::new(name, help), &[label])?;
        for (l, v) in values {
            vec.with_label_values(&[l.as_str()]).inc_by(v);
        }
        self.registry.register(Box::new(vec))
    }

    fn labelled_gauge(
        &self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (String, i64)>,
    ) -> prometheus::Result<()> {
        let vec = IntGaugeVec::new(Opts::new(name, help), &[label])?;
        for (l, v) in values {
            vec.with_label_values(&[l.as_str()]).set(v);
        }
        self.registry.register(Box::new(vec))
    }
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The whole exposition text. Blocking (engine properties, a walk of the
/// data directory): call it off the async workers.
pub fn render(server: &Server) -> prometheus::Result<String> {
    let s = Scrape {
        registry: Registry::new(),
    };
    let stats = &server.stats;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);

    // Per command: the same counters as INFO commandstats, listed only for
    // commands that were called, as INFO does.
    let per_cmd = |pick: fn(&crate::server::stats::CommandStats) -> u64| {
        stats
            .commands
            .iter()
            .enumerate()
            .map(move |(id, c)| (server.commands.fullname(id).to_string(), pick(c)))
            .filter(|(_, v)| *v > 0)
    };
    s.labelled_counter(
        "strata_commands_total",
        "Commands executed, per command (INFO commandstats calls).",
        "cmd",
        per_cmd(|c| c.calls.load(Ordering::Relaxed)),
    )?;
    s.labelled_counter(
        "strata_commands_rejected_total",
        "Commands rejected before execution (arity, auth), per command.",
        "cmd",
        per_cmd(|c| c.rejected_calls.load(Ordering::Relaxed)),
    )?;
    s.labelled_counter(
        "strata_commands_failed_total",
        "Commands executed that replied with an error, per command.",
        "cmd",
        per_cmd(|c| c.failed_calls.load(Ordering::Relaxed)),
    )?;
    s.counter(
        "strata_commands_processed_total",
        "Commands processed (INFO total_commands_processed).",
        load(&stats.total_commands_processed),
    )?;

    s.gauge(
        "strata_connected_clients",
        "Client connections currently open.",
        server.clients.len() as i64,
    )?;
    s.counter(
        "strata_connections_received_total",
        "Connections accepted (INFO total_connections_received).",
        load(&stats.total_connections_received),
    )?;
    s.counter(
        "strata_rejected_connections_total",
        "Connections refused (maxclients).",
        load(&stats.rejected_connections),
    )?;
    s.counter(
        "strata_net_input_bytes_total",
        "Bytes read from clients.",
        load(&stats.net_input_bytes),
    )?;
    s.counter(
        "strata_net_output_bytes_total",
        "Bytes written to clients.",
        load(&stats.net_output_bytes),
    )?;
    s.counter(
        "strata_keyspace_hits_total",
        "Successful key lookups.",
        load(&stats.keyspace_hits),
    )?;
    s.counter(
        "strata_keyspace_misses_total",
        "Failed key lookups.",
        load(&stats.keyspace_misses),
    )?;
    s.counter(
        "strata_expired_keys_total",
        "Keys deleted because their TTL passed.",
        load(&stats.expired_keys),
    )?;
    s.counter(
        "strata_error_replies_total",
        "Error replies sent (INFO total_error_replies).",
        load(&stats.total_error_replies),
    )?;
    let errors: Vec<(String, u64)> = stats
        .errors
        .lock()
        .iter()
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    s.labelled_counter(
        "strata_errors_total",
        "Error replies per error prefix (INFO errorstats).",
        "prefix",
        errors,
    )?;

    let ks = &server.ks;
    let dbs = 0..ks.databases();
    s.labelled_gauge(
        "strata_keys",
        "Keys per database (DBSIZE).",
        "db",
        dbs.clone()
            .map(|db| (db.to_string(), clamp_i64(ks.dbsize(db)))),
    )?;
    s.labelled_gauge(
        "strata_expires",
        "Keys with a TTL per database.",
        "db",
        dbs.map(|db| (db.to_string(), clamp_i64(ks.expires_count(db)))),
    )?;

    let e = ks.engine().stats();
    // RocksDB's own figures; zero under another engine.
    let r = e.rocksdb.clone().unwrap_or_default();
    s.counter(
        "strata_engine_block_cache_hits_total",
        "RocksDB block cache hits.",
        e.block_cache_hits,
    )?;
    s.counter(
        "strata_engine_block_cache_misses_total",
        "RocksDB block cache misses.",
        e.block_cache_misses,
    )?;
    let lookups = e.block_cache_hits + e.block_cache_misses;
    let ratio = if lookups == 0 {
        0.0
    } else {
        e.block_cache_hits as f64 / lookups as f64
    };
    s.float_gauge(
        "strata_engine_block_cache_hit_ratio",
        "Block cache hits / lookups since start (0 before any lookup).",
        ratio,
    )?;
    s.gauge(
        "strata_engine_record_cache_bytes",
        "Bytes held in the record cache in front of the engine (record-cache-size).",
        clamp_i64(e.record_cache_bytes),
    )?;
    s.counter(
        "strata_engine_record_cache_hits_total",
        "Point reads the record cache answered (a record or its absence).",
        e.record_cache_hits,
    )?;
    s.counter(
        "strata_engine_record_cache_misses_total",
        "Point reads the record cache sent on to the engine.",
        e.record_cache_misses,
    )?;
    s.gauge(
        "strata_engine_block_cache_usage_bytes",
        "Bytes held in the RocksDB block cache.",
        clamp_i64(e.block_cache_usage),
    )?;
    s.gauge(
        "strata_engine_block_cache_capacity_bytes",
        "Capacity of the RocksDB block cache.",
        clamp_i64(e.block_cache_capacity),
    )?;
    s.gauge(
        "strata_engine_memtable_bytes",
        "Bytes in RocksDB memtables.",
        clamp_i64(e.memtable_bytes),
    )?;
    s.gauge(
        "strata_engine_pending_compaction_bytes",
        "Estimated bytes RocksDB compaction still has to rewrite.",
        clamp_i64(r.pending_compaction_bytes),
    )?;
    s.gauge(
        "strata_engine_sst_bytes",
        "Total size of live SST files.",
        clamp_i64(r.sst_bytes),
    )?;
    s.float_counter(
        "strata_engine_write_stall_seconds_total",
        "Time writes were stalled by RocksDB (STALL_MICROS ticker).",
        e.write_stalls as f64 / 1e6,
    )?;
    s.gauge(
        "strata_engine_running_compactions",
        "RocksDB compactions running now.",
        clamp_i64(r.num_running_compactions),
    )?;
    s.gauge(
        "strata_engine_running_flushes",
        "RocksDB memtable flushes running now.",
        clamp_i64(r.num_running_flushes),
    )?;
    s.counter(
        "strata_engine_reads_offloaded_total",
        "Point reads that missed the block cache and ran off a network worker (rocksdb.read-offload).",
        r.reads_offloaded,
    )?;
    // The pmem engine's figures; zero under another engine.
    let p = e.pmem.clone().unwrap_or_default();
    s.gauge(
        "strata_pmem_capacity_bytes",
        "Capacity of the pmem tier (pmem-size when its file was created).",
        clamp_i64(p.capacity_bytes),
    )?;
    s.gauge(
        "strata_pmem_used_bytes",
        "Bytes written into pmem segments in use, live or not.",
        clamp_i64(p.used_bytes),
    )?;
    s.gauge(
        "strata_pmem_live_bytes",
        "Bytes of pmem records still in use (the rest is garbage for cleaning).",
        clamp_i64(p.live_bytes),
    )?;
    s.gauge(
        "strata_pmem_free_bytes",
        "Bytes the pmem tier can still take before writes fail with OOM.",
        clamp_i64(p.free_bytes),
    )?;
    s.float_gauge(
        "strata_pmem_index_rebuild_seconds",
        "Time the pmem index rebuild took at start.",
        p.rebuild_ms as f64 / 1000.0,
    )?;
    s.gauge(
        "strata_pmem_index_rebuild_keys",
        "Keys the pmem index rebuild found at start.",
        clamp_i64(p.rebuild_keys),
    )?;
    s.counter(
        "strata_pmem_full_errors_total",
        "Writes refused because the pmem tier was full.",
        p.full_errors,
    )?;
    s.counter(
        "strata_pmem_relocated_bytes_total",
        "Bytes segment cleaning copied to give space back.",
        p.relocated_bytes,
    )?;
    s.gauge(
        "strata_disk_usage_bytes",
        "Bytes of the data directory's store files on disk.",
        clamp_i64(ks.engine().disk_usage()),
    )?;
    s.float_gauge(
        "strata_uptime_seconds",
        "Seconds since the server started.",
        server.uptime().as_secs_f64(),
    )?;
    // Replication metrics (role, connected replicas, replication lag) go
    // here once replication exists; none are exported before then.

    let mut families = s.registry.gather();
    let latency = server.metrics.family(&server.commands);
    if !latency.get_metric().is_empty() {
        families.push(latency);
        families.sort_by(|a, b| a.name().cmp(b.name()));
    }
    let mut out = Vec::new();
    TextEncoder::new().encode(&families, &mut out)?;
    String::from_utf8(out).map_err(|e| prometheus::Error::Msg(e.to_string()))
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// GET or HEAD of `/metrics` or `/`.
    Metrics {
        head_only: bool,
    },
    NotFound {
        head_only: bool,
    },
    MethodNotAllowed,
    BadRequest,
}

/// Routes a request head (the bytes before `\r\n\r\n`).
pub fn route(head: &[u8]) -> Route {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(head.len());
    let Ok(line) = std::str::from_utf8(&head[..line_end]) else {
        return Route::BadRequest;
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Route::MethodNotAllowed,
    };
    let path = target.split('?').next().unwrap_or(target);
    match path {
        "/metrics" | "/" => Route::Metrics { head_only },
        _ => Route::NotFound { head_only },
    }
}

fn response(status: &str, content_type: &str, body: &str, head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(body);
    }
    out.into_bytes()
}

/// Reads the request head. `Ok(None)` when the peer closed first, `Err`
/// with the reply to send when the head is too large.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Result<Option<Vec<u8>>, ()>> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(Ok(None));
        }
        // Only the new bytes (plus 3 for a split terminator) need scanning.
        let scan_from = head.len().saturating_sub(3);
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head[scan_from..].windows(4).position(|w| w == b"\r\n\r\n") {
            head.truncate(scan_from + end);
            return Ok(Ok(Some(head)));
        }
        if head.len() > MAX_HEAD_BYTES {
            return Ok(Err(()));
        }
    }
}

async fn handle(server: Arc<Server>, mut stream: TcpStream) {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Ok(Some(head)))) => head,
        Ok(Ok(Err(()))) => {
            let r = response(
                "431 Request Header Fields Too Large",
                "text/plain",
                "request head too large\n",
                false,
            );
            reply_and_close(stream, &r).await;
            return;
        }
        // Closed, timed out or failed before a full head: nothing to answer.
        _ => return,
    };
    let reply = match route(&head) {
        Route::Metrics { head_only } => {
            let srv = server.clone();
            match tokio::task::spawn_blocking(move || render(&srv)).await {
                Ok(Ok(text)) => response("200 OK", prometheus::TEXT_FORMAT, &text, head_only),
                Ok(Err(e)) => {
                    tracing::warn!("metrics rendering failed: {e}");
                    response(
                        "500 Internal Server Error",
                        "text/plain",
                        "error\n",
                        head_only,
                    )
                }
                Err(e) => {
                    tracing::warn!("metrics task failed: {e}");
                    response(
                        "500 Internal Server Error",
                        "text/plain",
                        "error\n",
                        head_only,
                    )
                }
            }
        }
        Route::NotFound { head_only } => {
            response("404 Not Found", "text/plain", "not found\n", head_only)
        }
        Route::MethodNotAllowed => response(
            "405 Method Not Allowed",
            "text/plain",
            "method not allowed\n",
            false,
        ),
        Route::BadRequest => response("400 Bad Request", "text/plain", "bad request\n", false),
    };
    reply_and_close(stream, &reply).await;
}

/// Sends the reply, then reads and drops what the client still sends (a
/// body, the rest of an oversized head) for a moment before closing: a
/// close with unread input makes the kernel send RST, which can destroy the
/// reply before the client reads it.
async fn reply_and_close(mut stream: TcpStream, reply: &[u8]) {
    if stream.write_all(reply).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut left = 1024 * 1024usize;
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// The address the metrics listener binds: the first `bind` address of the
/// server (`*` = all IPv4), on `metrics-port`.
pub fn listen_addr(bind: &[String], port: u16) -> String {
    let first = bind.first().map(String::as_str).unwrap_or("*");
    let host = match first.trim_start_matches('-') {
        "*" => "0.0.0.0",
        "::*" => "::",
        h => h,
    };
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Starts the metrics listener when `metrics-port` is not 0. A bind failure
/// is logged and leaves the server running without metrics.
pub fn spawn(server: Arc<Server>) {
    let settings = server.config.settings();
    if settings.metrics_port == 0 {
        return;
    }
    let addr = listen_addr(&settings.bind, settings.metrics_port);
    tokio::spawn(async move {
        let listener = match TcpListener::bind(&addr).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("can't bind the metrics port {addr}: {e}");
                return;
            }
        };
        tracing::info!("Prometheus metrics on http://{addr}/metrics");
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("metrics accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            if server.shutting_down.load(Ordering::Acquire) {
                return;
            }
            tokio::spawn(handle(server.clone(), stream));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_metrics_and_root() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"GET /?x=1 HTTP/1.0"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"HEAD /metrics HTTP/1.1"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(
            route(b"GET /nope HTTP/1.1"),
            Route::NotFound { head_only: false }
        );
        assert_eq!(route(b"POST /metrics HTTP/1.1"), Route::MethodNotAllowed);
        assert_eq!(route(b"GET /metrics"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe"), Route::BadRequest);
    }

    #[test]
    fn listen_address_follows_first_bind() {
        assert_eq!(listen_addr(&["*".into()], 9121), "0.0.0.0:9121");
        assert_eq!(
            listen_addr(&["127.0.0.1".into(), "-::1".into()], 9121),
            "127.0.0.1:9121"
        );
        assert_eq!(listen_addr(&["-::1".into()], 9121), "[::1]:9121");
        assert_eq!(listen_addr(&[], 9121), "0.0.0.0:9121");
    }

    #[test]
    fn latency_histograms_are_per_command() {
        let table = CommandTable::default();
        let lat = CommandLatency::new(&table);
        let get = table.id_of(table.get(b"get").expect("get exists"));
        lat.observe(get, Duration::from_micros(30));
        lat.observe(get, Duration::from_millis(2));
        lat.observe(usize::MAX, Duration::from_millis(2));
        assert_eq!(lat.count(get), 2);
        assert!((lat.sum_seconds(get) - 0.00203).abs() < 1e-12);
        let others: u64 = (0..table.ids())
            .filter(|&id| id != get)
            .map(|id| lat.count(id))
            .sum();
        assert_eq!(others, 0);
        let family = lat.family(&table);
        assert_eq!(family.get_metric().len(), 1);
        assert_eq!(family.get_metric()[0].get_label()[0].value(), "get");
        lat.reset();
        assert_eq!(lat.count(get), 0);
        assert_eq!(lat.sum_seconds(get), 0.0);
        assert!(lat.family(&table).get_metric().is_empty());
    }

    #[test]
    fn histogram_buckets_are_inclusive_and_cumulative() {
        let h = LatencyHistogram::new();
        for d in [
            Duration::from_nanos(0),
            Duration::from_micros(10),
            Duration::from_nanos(10_001),
            Duration::from_millis(1),
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(3600),
        ] {
            h.observe(d);
        }
        let p = h.proto();
        let cumulative: Vec<u64> = p
            .get_bucket()
            .iter()
            .map(|b| b.cumulative_count())
            .collect();
        // <=10us: 0 and 10us; <=25us: +10.001us; <=1ms: +1ms; <=1s: +1s.
        assert_eq!(&cumulative[..3], &[2, 3, 3]);
        assert_eq!(cumulative[6], 4);
        assert_eq!(cumulative[15], 5);
        assert_eq!(p.get_sample_count(), 7);
        let bounds: Vec<f64> = p.get_bucket().iter().map(|b| b.upper_bound()).collect();
        assert_eq!(bounds, LATENCY_BUCKETS.to_vec());
        for (ns, secs) in LATENCY_BUCKET_NANOS.iter().zip(LATENCY_BUCKETS) {
            assert!((*ns as f64 / 1e9 - secs).abs() < 1e-15);
        }
    }

    #[test]
    fn responses_carry_length_and_close() {
        let r = String::from_utf8(response("200 OK", "text/plain", "abc", false)).unwrap();
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(r.contains("Content-Length: 3\r\n"));
        assert!(r.contains("Connection: close\r\n"));
        assert!(r.ends_with("\r\n\r\nabc"));
        let h = String::from_utf8(response("200 OK", "text/plain", "abc", true)).unwrap();
        assert!(h.ends_with("\r\n\r\n"));
        assert!(h.contains("Content-Length: 3\r\n"));
    }
}
