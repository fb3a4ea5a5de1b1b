//! INFO: the server's state as `field:value` lines grouped in `# Section`s,
//! in Redis 7.0's section order, field names and number formats, so that
//! tools written for Redis (redis-cli, Sentinel, exporters) can parse it.
//!
//! Figures Strata does not have (fork, RDB/AOF internals, jemalloc) are
//! printed with Redis's idle values. Memory figures come from the process
//! RSS, not an allocator, and the `# Engine` section (Strata only) reports
//! the storage engine. `instantaneous_*` rates are measured between two INFO
//! calls (the first call averages since start), not over Redis's sliding
//! 1.6 s window.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;

use super::connection::REDIS_VERSION;
use super::{CmdResult, Ctx};
use crate::resp::Reply;
use crate::server::stats::RateSample;
use crate::server::Server;

/// Sections in output order: `(name, in the default set)`.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
    ("engine", true),
    // The backend's own figures; printed only when that backend runs.
    ("rocksdb", true),
    ("pmem", true),
];

/// Which sections the arguments ask for (unknown names select nothing).
pub fn selected(args: &[Bytes]) -> Vec<&'static str> {
    let lower: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = lower.iter().any(|a| a == "all" || a == "everything");
    let default = lower.is_empty() || lower.iter().any(|a| a == "default");
    SECTIONS
        .iter()
        .filter(|(name, dflt)| all || (default && *dflt) || lower.iter().any(|a| a == name))
        .map(|(name, _)| *name)
        .collect()
}

pub fn info(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let text = render(ctx, &selected(&argv[1..]));
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

/// The INFO text for `sections`, CRLF line ends, a blank line between sections.
pub fn render(ctx: &Ctx<'_>, sections: &[&str]) -> String {
    let mut out = String::new();
    for name in sections {
        // A section that prints nothing (another engine's) adds no blank line.
        let mut section = String::new();
        let mut w = Lines(&mut section);
        match *name {
            "server" => server(ctx.server, &mut w),
            "clients" => clients(ctx.server, &mut w),
            "memory" => memory(ctx.server, &mut w),
            "persistence" => persistence(ctx.server, &mut w),
            "stats" => stats(ctx.server, &mut w),
            "replication" => replication(ctx.server, &mut w),
            "cpu" => cpu(&mut w),
            "modules" => w.header("Modules"),
            "commandstats" => commandstats(ctx.server, &mut w),
            "errorstats" => errorstats(ctx.server, &mut w),
            "latencystats" => w.header("Latencystats"),
            "cluster" => {
                w.header("Cluster");
                w.field("cluster_enabled", 0);
            }
            "keyspace" => keyspace(ctx.server, &mut w),
            "engine" => engine(ctx.server, &mut w),
            "rocksdb" => rocksdb(ctx.server, &mut w),
            "pmem" => pmem(ctx.server, &mut w),
            _ => {}
        }
        if !section.is_empty() {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            out.push_str(&section);
        }
    }
    out
}

/// Appends `# Header` and `name:value` lines ending in CRLF.
struct Lines<'a>(&'a mut String);

impl Lines<'_> {
    fn header(&mut self, name: &str) {
        let _ = write!(self.0, "# {name}\r\n");
    }
    fn field(&mut self, name: &str, value: impl std::fmt::Display) {
        let _ = write!(self.0, "{name}:{value}\r\n");
    }
}

/// Redis's `bytesToHuman`: `919.07K`, `6.34M`, `512B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: &[(f64, &str)] = &[
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0, "M"),
        (1024.0, "K"),
    ];
    let d = n as f64;
    for (size, unit) in UNITS {
        if d >= *size {
            return format!("{:.2}{unit}", d / size);
        }
    }
    format!("{n}B")
}

fn now_unix_us() -> u64 {
    crate::types::now_us()
}

fn uname() -> (String, String, String) {
    // SAFETY: uname fills a zeroed, correctly sized struct; fields are NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return ("Linux".into(), String::new(), String::new());
        }
        let s = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        (s(&u.sysname), s(&u.release), s(&u.machine))
    }
}

fn server(srv: &Server, w: &mut Lines<'_>) {
    let settings = srv.config.settings();
    let (sys, release, machine) = uname();
    let uptime = srv.uptime().as_secs();
    w.header("Server");
    w.field("redis_version", REDIS_VERSION);
    w.field("strata_version", env!("CARGO_PKG_VERSION"));
    w.field("redis_git_sha1", "00000000");
    w.field("redis_git_dirty", 0);
    w.field("redis_build_id", "0");
    w.field("redis_mode", "standalone");
    w.field("os", format!("{sys} {release} {machine}"));
    w.field("arch_bits", usize::BITS);
    w.field("monotonic_clock", "POSIX clock_gettime");
    w.field("multiplexing_api", "epoll");
    w.field("atomicvar_api", "c11-builtin");
    w.field("gcc_version", "0.0.0");
    w.field("process_id", std::process::id());
    w.field("process_supervised", "no");
    w.field("run_id", &srv.run_id);
    w.field("tcp_port", srv.local_port());
    w.field("server_time_usec", now_unix_us());
    w.field("uptime_in_seconds", uptime);
    w.field("uptime_in_days", uptime / 86400);
    w.field("hz", settings.hz);
    w.field("configured_hz", settings.hz);
    w.field("lru_clock", (now_unix_us() / 1_000_000) & ((1 << 24) - 1));
    w.field("executable", srv.executable.display());
    w.field(
        "config_file",
        srv.config
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    w.field("io_threads_active", 0);
}

fn clients(srv: &Server, w: &mut Lines<'_>) {
    let all = srv.clients.all();
    let max_qbuf = all
        .iter()
        .map(|c| c.qbuf.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    w.header("Clients");
    w.field("connected_clients", all.len());
    w.field("cluster_connections", 0);
    w.field("maxclients", srv.config.settings().maxclients);
    w.field("client_recent_max_input_buffer", max_qbuf);
    w.field("client_recent_max_output_buffer", 0);
    w.field("blocked_clients", srv.blocking.blocked_clients());
    w.field("tracking_clients", 0);
    w.field("clients_in_timeout_table", 0);
}

/// Resident set size of this process, from /proc/self/statm.
pub(crate) fn rss_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn memory(srv: &Server, w: &mut Lines<'_>) {
    let rss = rss_bytes();
    let peak = srv
        .stats
        .peak_memory
        .fetch_max(rss, Ordering::Relaxed)
        .max(rss);
    let sysmem = total_system_memory();
    let maxmemory = srv
        .config
        .get("maxmemory")
        .and_then(|v| crate::config::parse_memory(&v))
        .unwrap_or(0);
    let policy = srv
        .config
        .get("maxmemory-policy")
        .unwrap_or_else(|| "noeviction".into());
    w.header("Memory");
    w.field("used_memory", rss);
    w.field("used_memory_human", human_bytes(rss));
    w.field("used_memory_rss", rss);
    w.field("used_memory_rss_human", human_bytes(rss));
    w.field("used_memory_peak", peak);
    w.field("used_memory_peak_human", human_bytes(peak));
    let perc = if peak > 0 {
        rss as f64 * 100.0 / peak as f64
    } else {
        0.0
    };
    w.field("used_memory_peak_perc", format!("{perc:.2}%"));
    w.field("total_system_memory", sysmem);
    w.field("total_system_memory_human", human_bytes(sysmem));
    w.field("used_memory_lua", 0);
    w.field("used_memory_scripts", 0);
    w.field("number_of_cached_scripts", 0);
    w.field("maxmemory", maxmemory);
    w.field("maxmemory_human", human_bytes(maxmemory));
    w.field("maxmemory_policy", policy);
    w.field("mem_fragmentation_ratio", "1.00");
    // The server binary's global allocator (src/main.rs).
    w.field("mem_allocator", "mimalloc");
    w.field("lazyfree_pending_objects", 0);
}

fn persistence(srv: &Server, w: &mut Lines<'_>) {
    let save = &srv.stats.save;
    let changes = srv
        .ks
        .committed()
        .saturating_sub(save.last_save_seq.load(Ordering::Relaxed));
    // A full sync's RDB written from a snapshot is Strata's equivalent of
    // Redis's BGSAVE child for replicas.
    let in_progress = save.in_progress.load(Ordering::Relaxed)
        || srv.replicas.rdb_jobs.in_progress.load(Ordering::Relaxed) > 0;
    let status = |ok: bool| if ok { "ok" } else { "err" };
    w.header("Persistence");
    let loading = srv.replica_link.data().and_then(|d| d.loading());
    w.field("loading", loading.is_some() as u8);
    w.field("async_loading", 0);
    w.field("current_cow_peak", 0);
    w.field("current_cow_size", 0);
    w.field("current_cow_size_age", 0);
    w.field("current_fork_perc", "0.00");
    w.field("current_save_keys_processed", 0);
    w.field("current_save_keys_total", 0);
    w.field("rdb_changes_since_last_save", changes);
    w.field("rdb_bgsave_in_progress", in_progress as u8);
    w.field("rdb_last_save_time", super::server::last_save(srv));
    w.field(
        "rdb_last_bgsave_status",
        status(save.last_ok.load(Ordering::Relaxed)),
    );
    w.field(
        "rdb_last_bgsave_time_sec",
        save.last_bgsave_secs.load(Ordering::Relaxed),
    );
    w.field("rdb_current_bgsave_time_sec", -1);
    w.field("rdb_saves", save.saves.load(Ordering::Relaxed));
    w.field("rdb_last_cow_size", 0);
    w.field("rdb_last_load_keys_expired", 0);
    w.field("rdb_last_load_keys_loaded", 0);
    w.field("aof_enabled", 0);
    w.field("aof_rewrite_in_progress", 0);
    w.field("aof_rewrite_scheduled", 0);
    w.field("aof_last_rewrite_time_sec", -1);
    w.field("aof_current_rewrite_time_sec", -1);
    w.field("aof_last_bgrewrite_status", "ok");
    w.field("aof_rewrites", 0);
    w.field("aof_rewrites_consecutive_failures", 0);
    w.field("aof_last_write_status", "ok");
    w.field("aof_last_cow_size", 0);
    w.field("module_fork_in_progress", 0);
    w.field("module_fork_last_cow_size", 0);
    if let Some((started, bytes, keys)) = loading {
        // A replica's full resync streams its RDB: the total is not known
        // ahead (diskless), so the percentage and ETA are not given.
        w.field("loading_start_time", started);
        w.field("loading_total_bytes", 0);
        w.field("loading_rdb_used_mem", 0);
        w.field("loading_loaded_bytes", bytes);
        w.field("loading_loaded_perc", "0.00");
        w.field("loading_eta_seconds", 1);
        let _ = keys;
    }
    w.field("wal_fsyncs", srv.syncer.fsyncs.load(Ordering::Relaxed));
}

/// Per-second rates of commands and network bytes since the previous sample.
fn rates(srv: &Server, now: RateSample) -> (f64, f64, f64) {
    let mut slot = srv.stats.rate_sample.lock();
    let prev = slot.unwrap_or(RateSample {
        at: srv.started,
        commands: 0,
        net_input: 0,
        net_output: 0,
    });
    let secs = now.at.duration_since(prev.at).as_secs_f64();
    // Keep an older reference until enough time has passed to measure.
    if secs >= 0.1 || slot.is_none() {
        *slot = Some(now);
    }
    if secs <= 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let per = |a: u64, b: u64| a.saturating_sub(b) as f64 / secs;
    (
        per(now.commands, prev.commands),
        per(now.net_input, prev.net_input),
        per(now.net_output, prev.net_output),
    )
}

fn stats(srv: &Server, w: &mut Lines<'_>) {
    let s = &srv.stats;
    let get = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let sample = RateSample {
        at: Instant::now(),
        commands: get(&s.total_commands_processed),
        net_input: get(&s.net_input_bytes),
        net_output: get(&s.net_output_bytes),
    };
    let (ops, in_bps, out_bps) = rates(srv, sample);
    w.header("Stats");
    w.field(
        "total_connections_received",
        get(&s.total_connections_received),
    );
    w.field("total_commands_processed", sample.commands);
    w.field("instantaneous_ops_per_sec", ops.round() as u64);
    w.field("total_net_input_bytes", sample.net_input);
    w.field("total_net_output_bytes", sample.net_output);
    w.field("total_net_repl_input_bytes", 0);
    w.field("total_net_repl_output_bytes", 0);
    w.field(
        "instantaneous_input_kbps",
        format!("{:.2}", in_bps / 1024.0),
    );
    w.field(
        "instantaneous_output_kbps",
        format!("{:.2}", out_bps / 1024.0),
    );
    w.field("instantaneous_input_repl_kbps", "0.00");
    w.field("instantaneous_output_repl_kbps", "0.00");
    w.field("rejected_connections", get(&s.rejected_connections));
    let sync = &srv.replicas.counters;
    w.field("sync_full", sync.full.load(Ordering::Relaxed));
    w.field("sync_partial_ok", sync.partial_ok.load(Ordering::Relaxed));
    w.field("sync_partial_err", sync.partial_err.load(Ordering::Relaxed));
    w.field("expired_keys", get(&s.expired_keys));
    w.field("expired_stale_perc", "0.00");
    w.field("expired_time_cap_reached_count", 0);
    w.field("expire_cycle_cpu_milliseconds", 0);
    w.field("evicted_keys", 0);
    w.field("evicted_clients", 0);
    w.field("total_eviction_exceeded_time", 0);
    w.field("current_eviction_exceeded_time", 0);
    w.field("keyspace_hits", get(&s.keyspace_hits));
    w.field("keyspace_misses", get(&s.keyspace_misses));
    w.field("pubsub_channels", 0);
    w.field("pubsub_patterns", 0);
    w.field("pubsubshard_channels", 0);
    w.field("latest_fork_usec", 0);
    w.field("total_forks", 0);
    w.field("migrate_cached_sockets", 0);
    w.field("slave_expires_tracked_keys", 0);
    w.field("active_defrag_hits", 0);
    w.field("active_defrag_misses", 0);
    w.field("active_defrag_key_hits", 0);
    w.field("active_defrag_key_misses", 0);
    w.field("total_active_defrag_time", 0);
    w.field("current_active_defrag_time", 0);
    w.field("tracking_total_keys", 0);
    w.field("tracking_total_items", 0);
    w.field("tracking_total_prefixes", 0);
    w.field("unexpected_error_replies", 0);
    w.field("total_error_replies", get(&s.total_error_replies));
    w.field("dump_payload_sanitizations", 0);
    w.field("total_reads_processed", get(&s.total_reads_processed));
    w.field("total_writes_processed", get(&s.total_writes_processed));
    w.field("io_threaded_reads_processed", 0);
    w.field("io_threaded_writes_processed", 0);
    w.field("reply_buffer_shrinks", 0);
    w.field("reply_buffer_expands", 0);
}

/// The replication section. The id and offset are the durable ones kept
/// with the data: unlike Redis, Strata counts the stream (and keeps its
/// backlog on disk) even before any replica connects, so the offset grows
/// from the first write and survives restarts.
fn replication(srv: &Server, w: &mut Lines<'_>) {
    let ks = &srv.ks;
    let settings = srv.config.settings();
    // A replica's stream is its master's (same id and offsets, forwarded
    // byte for byte), so the keyspace's position serves both roles.
    let pos = ks.position();
    let own_offset = pos.offset;
    let first = ks.backlog_first_offset();
    w.header("Replication");
    let previous = ks
        .previous_position()
        .map(|p| crate::repl::data::PreviousId {
            replid: p.replid,
            second_offset: p.offset + 1,
        });
    match srv.replica_link.status() {
        Some(link) => {
            let data = srv.replica_link.data();
            let followed = data.as_ref().and_then(|d| d.position());
            replica_fields(w, &link, followed.as_ref(), &settings.replica);
        }
        None => w.field("role", "master"),
    }
    let replicas = srv.replicas.all();
    w.field("connected_slaves", replicas.len());
    let min_write = srv.replicas.min_to_write.load(Ordering::Relaxed);
    let max_lag = srv.replicas.min_max_lag.load(Ordering::Relaxed);
    if min_write > 0 && max_lag > 0 {
        w.field("min_slaves_good_slaves", srv.replicas.good(max_lag));
    }
    for (i, r) in replicas.iter().enumerate() {
        w.field(
            &format!("slave{i}"),
            format!(
                "ip={},port={},state={},offset={},lag={}",
                r.ip,
                r.port,
                r.state().name(),
                r.ack_offset.load(Ordering::Relaxed),
                r.lag_secs()
            ),
        );
    }
    w.field("master_failover_state", srv.failover.state_name());
    w.field("master_replid", &pos.replid);
    match &previous {
        Some(p) => {
            w.field("master_replid2", &p.replid);
            w.field("master_repl_offset", pos.offset);
            w.field("second_repl_offset", p.second_offset);
        }
        None => {
            w.field("master_replid2", "0".repeat(40));
            w.field("master_repl_offset", pos.offset);
            w.field("second_repl_offset", -1);
        }
    }
    let backlog_size = settings.repl_backlog_size;
    let released = srv.replicas.backlog_released.load(Ordering::Relaxed);
    w.field("repl_backlog_active", u8::from(!released));
    w.field("repl_backlog_size", backlog_size);
    // A released backlog prints as Redis's freed one.
    w.field(
        "repl_backlog_first_byte_offset",
        if released { 0 } else { first },
    );
    w.field(
        "repl_backlog_histlen",
        (own_offset + 1).saturating_sub(first),
    );
}

/// The lines a replica prints between `role` and `connected_slaves`, in
/// Redis 7.0's order.
fn replica_fields(
    w: &mut Lines<'_>,
    link: &crate::repl::link::LinkStatus,
    followed: Option<&crate::repl::data::MasterPosition>,
    rs: &crate::config::ReplicaSettings,
) {
    use crate::repl::link::LinkPhase;
    let up = link.phase == LinkPhase::Connected;
    let secs = |t: Instant| t.elapsed().as_secs() as i64;
    w.field("role", "slave");
    w.field("master_host", &link.target.host);
    w.field("master_port", link.target.port);
    w.field("master_link_status", if up { "up" } else { "down" });
    w.field(
        "master_last_io_seconds_ago",
        link.last_io.filter(|_| up).map_or(-1, secs),
    );
    w.field(
        "master_sync_in_progress",
        u8::from(link.phase == LinkPhase::Transfer),
    );
    let applied = followed.map_or(0, |p| p.offset);
    let read = if up {
        link.read_offset.max(applied)
    } else {
        applied
    };
    w.field("slave_read_repl_offset", read);
    w.field("slave_repl_offset", applied);
    if let Some(t) = link.transfer.filter(|_| link.phase == LinkPhase::Transfer) {
        let read = t.read as i64;
        let perc = if t.total != 0 {
            read as f64 / t.total as f64 * 100.0
        } else {
            0.0
        };
        w.field("master_sync_total_bytes", t.total);
        w.field("master_sync_read_bytes", read);
        w.field("master_sync_left_bytes", t.total - read);
        w.field("master_sync_perc", format!("{perc:.2}"));
        w.field("master_sync_last_io_seconds_ago", secs(t.last_io));
    }
    if !up {
        w.field(
            "master_link_down_since_seconds",
            link.down_since.map_or(-1, secs),
        );
    }
    w.field("slave_priority", rs.priority);
    w.field("slave_read_only", u8::from(rs.read_only));
    w.field("replica_announced", u8::from(rs.announced));
}

/// `(system, user)` CPU seconds for `who` (RUSAGE_SELF, _CHILDREN, _THREAD).
fn cpu_times(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage fills a zeroed rusage struct.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        if libc::getrusage(who, &mut ru) != 0 {
            return (0.0, 0.0);
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(ru.ru_stime), secs(ru.ru_utime))
    }
}

fn cpu(w: &mut Lines<'_>) {
    let (sys, user) = cpu_times(libc::RUSAGE_SELF);
    let (csys, cuser) = cpu_times(libc::RUSAGE_CHILDREN);
    // Strata has no main thread; report the thread serving this command.
    let (tsys, tuser) = cpu_times(libc::RUSAGE_THREAD);
    w.header("CPU");
    w.field("used_cpu_sys", format!("{sys:.6}"));
    w.field("used_cpu_user", format!("{user:.6}"));
    w.field("used_cpu_sys_children", format!("{csys:.6}"));
    w.field("used_cpu_user_children", format!("{cuser:.6}"));
    w.field("used_cpu_sys_main_thread", format!("{tsys:.6}"));
    w.field("used_cpu_user_main_thread", format!("{tuser:.6}"));
}

fn commandstats(srv: &Server, w: &mut Lines<'_>) {
    w.header("Commandstats");
    for (id, c) in srv.stats.commands.iter().enumerate() {
        let calls = c.calls.load(Ordering::Relaxed);
        let rejected = c.rejected_calls.load(Ordering::Relaxed);
        let failed = c.failed_calls.load(Ordering::Relaxed);
        if calls == 0 && rejected == 0 && failed == 0 {
            continue;
        }
        let usec = c.usec.load(Ordering::Relaxed);
        let per_call = if calls > 0 {
            usec as f64 / calls as f64
        } else {
            0.0
        };
        w.field(
            &format!("cmdstat_{}", srv.commands.fullname(id)),
            format!(
                "calls={calls},usec={usec},usec_per_call={per_call:.2},rejected_calls={rejected},failed_calls={failed}"
            ),
        );
    }
}

fn errorstats(srv: &Server, w: &mut Lines<'_>) {
    w.header("Errorstats");
    for (prefix, count) in srv.stats.errors.lock().iter() {
        w.field(&format!("errorstat_{prefix}"), format!("count={count}"));
    }
}

fn keyspace(srv: &Server, w: &mut Lines<'_>) {
    w.header("Keyspace");
    for db in 0..srv.ks.databases() {
        let keys = srv.ks.dbsize(db);
        if keys == 0 {
            continue;
        }
        // Strata does not sample TTLs; avg_ttl is always 0.
        w.field(
            &format!("db{db}"),
            format!("keys={keys},expires={},avg_ttl=0", srv.ks.expires_count(db)),
        );
    }
}

fn engine(srv: &Server, w: &mut Lines<'_>) {
    let engine = srv.ks.engine();
    let st = engine.stats();
    let disk = engine.disk_usage();
    w.header("Engine");
    w.field("engine", engine.name());
    w.field("engine_disk_usage", disk);
    w.field("engine_disk_usage_human", human_bytes(disk));
    w.field("engine_memtable_bytes", st.memtable_bytes);
    w.field("engine_block_cache_usage", st.block_cache_usage);
    w.field("engine_block_cache_capacity", st.block_cache_capacity);
    w.field("engine_block_cache_hits", st.block_cache_hits);
    w.field("engine_block_cache_misses", st.block_cache_misses);
    w.field("engine_estimated_keys", st.estimated_keys);
    w.field("engine_write_stalls", st.write_stalls);
    w.field("engine_open_snapshots", st.open_snapshots);
    w.field("engine_record_cache_bytes", st.record_cache_bytes);
    w.field("engine_record_cache_hits", st.record_cache_hits);
    w.field("engine_record_cache_misses", st.record_cache_misses);
    w.field("engine_committed_seq", srv.ks.committed());
    let (deferred, shared, shared_units, taken_over) = srv.ks.commit_queue_stats();
    w.field("engine_deferred_units", deferred);
    w.field("engine_shared_commits", shared);
    w.field("engine_shared_commit_units", shared_units);
    w.field("engine_taken_over_units", taken_over);
}

/// RocksDB's own figures (`engine_*` above are the engine-neutral ones).
fn rocksdb(srv: &Server, w: &mut Lines<'_>) {
    let Some(r) = srv.ks.engine().stats().rocksdb else {
        return;
    };
    w.header("RocksDB");
    w.field("rocksdb_sst_bytes", r.sst_bytes);
    w.field(
        "rocksdb_pending_compaction_bytes",
        r.pending_compaction_bytes,
    );
    w.field("rocksdb_running_compactions", r.num_running_compactions);
    w.field("rocksdb_running_flushes", r.num_running_flushes);
    w.field("rocksdb_num_snapshots", r.num_snapshots);
    w.field("rocksdb_num_live_versions", r.num_live_versions);
    w.field(
        "rocksdb_compaction_kept_for_snapshots",
        r.compaction_kept_for_snapshots,
    );
    w.field("rocksdb_compaction_removed", r.compaction_removed);
    w.field("rocksdb_reads_offloaded", r.reads_offloaded);
    w.field("rocksdb_read_avg_us", r.read_avg_us);
}

/// The pmem engine's own figures: capacity, how durability is reached,
/// the index rebuild at start, cleaning.
fn pmem(srv: &Server, w: &mut Lines<'_>) {
    let Some(p) = srv.ks.engine().stats().pmem else {
        return;
    };
    let appendfsync = srv.config.get("appendfsync").unwrap_or_default();
    w.header("PMem");
    w.field("pmem_capacity_bytes", p.capacity_bytes);
    w.field("pmem_used_bytes", p.used_bytes);
    w.field("pmem_used_bytes_human", human_bytes(p.used_bytes));
    w.field("pmem_live_bytes", p.live_bytes);
    w.field("pmem_free_bytes", p.free_bytes);
    w.field("pmem_free_bytes_human", human_bytes(p.free_bytes));
    w.field("pmem_segment_bytes", p.segment_bytes);
    w.field("pmem_segments", p.segments);
    w.field("pmem_free_segments", p.free_segments);
    w.field("pmem_dax", p.dax as u8);
    w.field("pmem_persist_method", p.persist_method);
    // When records are made durable: appendfsync's policy (docs/pmem.md).
    w.field("pmem_persistence", appendfsync);
    w.field("pmem_persists", p.persists);
    w.field("pmem_index_rebuild_ms", p.rebuild_ms);
    w.field("pmem_index_rebuild_keys", p.rebuild_keys);
    w.field("pmem_log_bytes", p.log_bytes);
    w.field("pmem_cleaned_segments", p.cleaned_segments);
    w.field("pmem_relocated_bytes", p.relocated_bytes);
    w.field("pmem_compaction_removed", p.compaction_removed);
    w.field(
        "pmem_cleaning_paused_for_snapshots",
        p.compaction_kept_for_snapshots,
    );
    w.field("pmem_full_errors", p.full_errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(human_bytes(512), "512B");
        assert_eq!(human_bytes(941128), "919.07K");
        assert_eq!(human_bytes(6651904), "6.34M");
        assert_eq!(human_bytes(25276510208), "23.54G");
    }

    #[test]
    fn section_selection() {
        let b = |s: &[&str]| -> Vec<Bytes> {
            s.iter()
                .map(|x| Bytes::copy_from_slice(x.as_bytes()))
                .collect()
        };
        let dflt = selected(&[]);
        assert!(dflt.contains(&"server") && dflt.contains(&"errorstats"));
        assert!(!dflt.contains(&"commandstats") && !dflt.contains(&"latencystats"));
        assert_eq!(selected(&b(&["default"])), dflt);
        assert_eq!(selected(&b(&["all"])).len(), SECTIONS.len());
        assert_eq!(
            selected(&b(&["KEYSPACE", "server"])),
            vec!["server", "keyspace"]
        );
        assert!(selected(&b(&["nosuch"])).is_empty());
    }
}
