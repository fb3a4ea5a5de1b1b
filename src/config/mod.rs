//! Configuration: redis.conf syntax, every Redis 7.0 directive accepted.
//!
//! Directives are data ([`directives::DIRECTIVES`]): name, alias, kind,
//! default, whether CONFIG SET may change it, and whether Strata acts on it.
//! Values are kept in Redis's canonical textual form (what CONFIG GET
//! prints); the few that the hot path reads are also parsed into
//! [`Settings`], rebuilt whenever a value changes.

pub mod directives;
pub mod file;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::engine::OffloadPolicy;

pub use directives::{Directive, Effect, Kind, Mutability, DIRECTIVES};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Bad directive or wrong number of arguments")]
    BadDirective,
    /// The reason text Redis puts after "CONFIG SET failed (possibly related to argument '...') - ".
    #[error("{0}")]
    Invalid(String),
    #[error("can't set immutable config")]
    Immutable,
    #[error("can't set protected config")]
    Protected,
    #[error("duplicate parameter")]
    Duplicate,
}

/// When the WAL is fsynced relative to acknowledging a write (`appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// The reply is sent only after the write is fsynced (group commit).
    Always,
    /// A background thread fsyncs once a second.
    EverySec,
    /// Never fsync explicitly; the OS writes back when it likes.
    No,
}

/// One class of `client-output-buffer-limit` (bytes, bytes, seconds; 0 = off).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

/// The classes Redis distinguishes, in CONFIG GET order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObufLimits {
    pub normal: ObufLimit,
    pub replica: ObufLimit,
    pub pubsub: ObufLimit,
}

impl ObufLimits {
    /// Parses the canonical CONFIG GET text
    /// (`normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60`).
    pub fn parse(text: &str) -> ObufLimits {
        let w: Vec<&str> = text.split_whitespace().collect();
        let class = |name: &str| {
            let Some(i) = w.iter().position(|x| *x == name) else {
                return ObufLimit::default();
            };
            let n = |k: usize| {
                w.get(i + k)
                    .and_then(|x| x.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            ObufLimit {
                hard: n(1),
                soft: n(2),
                soft_secs: n(3),
            }
        };
        ObufLimits {
            normal: class("normal"),
            replica: class("slave"),
            pubsub: class("pubsub"),
        }
    }
}

/// Parsed values the server reads on hot paths.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: Vec<String>,
    pub port: u16,
    pub dir: PathBuf,
    pub databases: usize,
    pub requirepass: Option<String>,
    pub maxclients: usize,
    pub timeout_secs: u64,
    pub tcp_keepalive_secs: u64,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub appendfsync: FsyncPolicy,
    pub hz: u64,
    pub loglevel: String,
    pub logfile: String,
    pub engine: String,
    pub block_cache_size: usize,
    /// `record-cache-size`: the record cache in front of the engine; 0 = none.
    pub record_cache_size: u64,
    pub write_buffer_size: usize,
    pub max_write_buffer_number: i32,
    pub min_write_buffer_number_to_merge: i32,
    /// `rocksdb.read-offload`.
    pub read_offload: OffloadPolicy,
    pub max_background_jobs: i32,
    /// Threads that run connections and commands (`worker-threads`, else
    /// `io-threads` when above 1, else [`default_worker_threads`]).
    pub worker_threads: usize,
    pub compression: String,
    /// `pmem-path`: the pmem engine's directory; `None`: `<dir>/db`.
    pub pmem_path: Option<PathBuf>,
    /// `pmem-size`: the pmem engine's capacity in bytes.
    pub pmem_size: u64,
    pub metrics_port: u16,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub repl_backlog_size: u64,
    /// µs; negative disables the slow log.
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    /// ms; 0 turns the latency monitor off.
    pub latency_monitor_threshold: u64,
    /// `client-output-buffer-limit`, applied to the bytes queued for a client.
    pub obuf_limits: ObufLimits,
    /// The replica side's settings (`replicaof`, `masterauth`, ...).
    pub replica: ReplicaSettings,
    /// `hash-max-listpack-*`, `set-max-intset-entries`: read by every
    /// HSET and SADD, so parsed here once, not looked up by name per command.
    pub encoding: crate::types::bulk::EncodingLimits,
}

/// What the replica side reads: the master to follow and how to talk to it.
#[derive(Debug, Clone, Default)]
pub struct ReplicaSettings {
    /// `replicaof <host> <port>` from the file (REPLICAOF keeps it current).
    pub replicaof: Option<(String, u16)>,
    pub masterauth: Option<String>,
    pub masteruser: Option<String>,
    pub read_only: bool,
    pub serve_stale_data: bool,
    /// Seconds without data from the master before the link is dropped.
    pub timeout_secs: u64,
    pub ping_period_secs: u64,
    pub announce_ip: Option<String>,
    /// 0 = announce the listening port.
    pub announce_port: u16,
    pub priority: i64,
    pub announced: bool,
    /// `disabled`, `on-empty-db` or `swapdb`.
    pub diskless_load: String,
}

/// The live configuration: canonical values plus the parsed [`Settings`].
pub struct ConfigStore {
    values: RwLock<BTreeMap<&'static str, String>>,
    settings: RwLock<Arc<Settings>>,
    /// The file the server was started with, for CONFIG REWRITE.
    pub path: Option<PathBuf>,
    /// Whether a `save` line was already read (later ones add to it).
    save_from_file: AtomicBool,
    /// `notify-keyspace-events` as `crate::notify` bits: read with one
    /// atomic load on every write, so notifications cost nothing when off.
    pub notify_flags: AtomicU32,
}

/// Worker threads when neither `worker-threads` nor `io-threads` names a
/// number: one fewer than the cores (at least one), so RocksDB's flushes
/// and compactions, the kernel's network work and, on a shared machine,
/// the clients keep a core. Measured on 2 cores with redis-benchmark on the
/// same machine (docs/bench/threads.md): one worker instead of two served
/// unpipelined SET 19% and LPUSH 41% faster with half the p99, GET 11%
/// faster; two served LRANGE_100 26-60% faster and kept GET's p99 flatter
/// on a dataset larger than the block cache (a block read stalls only its
/// own worker). Redis advises the same for its I/O threads (fewer than the
/// cores).
pub fn default_worker_threads(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Finds a directive by name or alias, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// Redis's `memtoull`: a byte count with an optional k/kb/m/mb/g/gb suffix
/// (case-insensitive; k = 1000, kb = 1024).
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.to_ascii_lowercase();
    let (digits, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, mul)| lower.strip_suffix(suf).map(|d| (d.to_string(), *mul)))
    .unwrap_or((lower.clone(), 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

fn invalid(reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(reason.into())
}

fn check_bounds(v: i64, min: i64, max: i64) -> Result<String, ConfigError> {
    if v < min || v > max {
        return Err(invalid(format!(
            "argument must be between {min} and {max} inclusive"
        )));
    }
    Ok(v.to_string())
}

/// Checks `value` against a directive's kind and returns its canonical form
/// (what CONFIG GET prints). `current` is the value now in force, needed by
/// directives that merge (client-output-buffer-limit).
pub fn canonicalize(d: &Directive, value: &str, current: &str) -> Result<String, ConfigError> {
    match &d.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(invalid("argument must be 'yes' or 'no'")),
        },
        Kind::Int { min, max } => {
            let v = crate::resp::parse::parse_i64(value.as_bytes())
                .ok_or_else(|| invalid("argument couldn't be parsed into an integer"))?;
            check_bounds(v, *min, *max)
        }
        Kind::Memory { min, max } => {
            let v = parse_memory(value)
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| invalid("argument must be a memory value"))?;
            check_bounds(v, *min, *max)
        }
        Kind::Enum(choices) => choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(value))
            .map(|c| c.to_string())
            .ok_or_else(|| {
                invalid(format!(
                    "argument(s) must be one of the following: {}",
                    choices.join(", ")
                ))
            }),
        Kind::Str => Ok(value.to_string()),
        Kind::Special => special::canonicalize(d.name, value, current),
    }
}

impl ConfigStore {
    /// The defaults, with nothing read from a file.
    pub fn defaults() -> ConfigStore {
        let values: BTreeMap<&'static str, String> = DIRECTIVES
            .iter()
            .map(|d| (d.name, d.default.to_string()))
            .collect();
        let settings = Arc::new(Settings::from_values(&values));
        ConfigStore {
            values: RwLock::new(values),
            settings: RwLock::new(settings),
            path: None,
            save_from_file: AtomicBool::new(false),
            notify_flags: AtomicU32::new(0),
        }
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().clone()
    }

    /// Sets one directive from a config file or command-line override.
    /// `args` are the words after the directive name. Directives that Redis
    /// only knows in the file (include, rename-command, ...) are the caller's.
    pub fn load_directive(&self, name: &str, args: &[String]) -> Result<(), ConfigError> {
        let d = lookup(name).ok_or(ConfigError::BadDirective)?;
        let value = match d.kind {
            Kind::Special if !args.is_empty() => args.join(" "),
            _ if args.len() == 1 => args[0].clone(),
            _ => return Err(invalid("wrong number of arguments")),
        };
        let current = self.values.read().get(d.name).cloned().unwrap_or_default();
        let mut canon = canonicalize(d, &value, &current)?;
        // As in Redis, the first `save` line replaces the default and later
        // ones add to it; `save ""` clears.
        if d.name == "save"
            && !canon.is_empty()
            && self.save_from_file.swap(true, Ordering::Relaxed)
            && !current.is_empty()
        {
            canon = format!("{current} {canon}");
        }
        self.store(&[(d, canon)]);
        self.keep_notify_bits(d, &value);
        Ok(())
    }

    /// The canonical text of `notify-keyspace-events` loses `n` next to `A`
    /// (Redis prints "KEAn" as "AKE" yet keeps the bit), so the bits come
    /// from the value as given.
    fn keep_notify_bits(&self, d: &Directive, value: &str) {
        if d.name == "notify-keyspace-events" {
            if let Some(flags) = crate::notify::parse(value) {
                self.notify_flags.store(flags, Ordering::Relaxed);
            }
        }
    }

    /// Records a value the server changed itself, bypassing CONFIG SET's
    /// mutability rules (REPLICAOF updates `replicaof`, which CONFIG SET may
    /// not change, so that CONFIG REWRITE keeps it). `value` must be canonical.
    pub fn record(&self, name: &str, value: &str) -> Result<(), ConfigError> {
        let d = lookup(name).ok_or(ConfigError::BadDirective)?;
        self.store(&[(d, value.to_string())]);
        Ok(())
    }

    /// CONFIG SET of one directive.
    pub fn set(&self, name: &str, value: &str) -> Result<(), ConfigError> {
        self.set_many(&[(name, value)]).map_err(|(_, e)| e)
    }

    /// CONFIG SET of several directives, all or nothing, with Redis 7.0's
    /// checks in its order: unknown, immutable/protected and duplicate names
    /// first, then each value. The error carries the argument it is about.
    pub fn set_many(&self, pairs: &[(&str, &str)]) -> Result<(), (String, ConfigError)> {
        let mut found: Vec<&'static Directive> = Vec::with_capacity(pairs.len());
        for (i, (name, _)) in pairs.iter().enumerate() {
            let d = lookup(name).ok_or_else(|| (name.to_string(), ConfigError::BadDirective))?;
            match d.mutability {
                Mutability::Immutable => return Err((name.to_string(), ConfigError::Immutable)),
                Mutability::Protected => return Err((name.to_string(), ConfigError::Protected)),
                Mutability::Mutable => {}
            }
            if pairs[..i].iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err((name.to_string(), ConfigError::Duplicate));
            }
            found.push(d);
        }
        let mut canon = Vec::with_capacity(pairs.len());
        {
            let values = self.values.read();
            for (d, (name, value)) in found.iter().zip(pairs) {
                let current = values.get(d.name).map(String::as_str).unwrap_or_default();
                let v = canonicalize(d, value, current).map_err(|e| (name.to_string(), e))?;
                canon.push((*d, v));
            }
        }
        self.store(&canon);
        for (d, (_, value)) in found.iter().zip(pairs) {
            self.keep_notify_bits(d, value);
        }
        Ok(())
    }

    fn store(&self, changes: &[(&'static Directive, String)]) {
        let mut values = self.values.write();
        for (d, v) in changes {
            values.insert(d.name, v.clone());
            if d.name == "notify-keyspace-events" {
                let flags = crate::notify::parse(v).unwrap_or(0);
                self.notify_flags.store(flags, Ordering::Relaxed);
            }
        }
        *self.settings.write() = Arc::new(Settings::from_values(&values));
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let d = lookup(name)?;
        self.values.read().get(d.name).cloned()
    }

    /// `(name, value)` for every directive (and alias) matching the glob, as
    /// CONFIG GET lists them. Hidden directives match only by exact name.
    pub fn get_matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        let mut out = Vec::new();
        for d in DIRECTIVES {
            let value = values.get(d.name).cloned().unwrap_or_default();
            let hidden = directives::HIDDEN.contains(&d.name);
            let matches = |name: &str| {
                if hidden {
                    pattern.eq_ignore_ascii_case(name.as_bytes())
                } else {
                    crate::glob::glob_match(pattern, name.as_bytes(), true)
                }
            };
            if matches(d.name) {
                out.push((d.name, value.clone()));
            }
            if let Some(alias) = d.alias {
                if matches(alias) {
                    out.push((alias, value));
                }
            }
        }
        out
    }

    /// Every directive whose value differs from its default, for CONFIG REWRITE.
    pub fn non_defaults(&self) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        DIRECTIVES
            .iter()
            .filter_map(|d| {
                values
                    .get(d.name)
                    .filter(|v| v.as_str() != d.default)
                    .map(|v| (d.name, v.clone()))
            })
            .collect()
    }

    /// The current value of every directive, by canonical name.
    pub fn snapshot(&self) -> BTreeMap<&'static str, String> {
        self.values.read().clone()
    }
}

impl Settings {
    fn from_values(v: &BTreeMap<&'static str, String>) -> Settings {
        let s = |k: &str| v.get(k).cloned().unwrap_or_default();
        let n = |k: &str| v.get(k).and_then(|x| x.parse::<i64>().ok()).unwrap_or(0);
        Settings {
            bind: s("bind").split_whitespace().map(str::to_string).collect(),
            port: n("port") as u16,
            dir: PathBuf::from(s("dir")),
            databases: n("databases").max(1) as usize,
            requirepass: Some(s("requirepass")).filter(|p| !p.is_empty()),
            maxclients: n("maxclients").max(1) as usize,
            timeout_secs: n("timeout").max(0) as u64,
            tcp_keepalive_secs: n("tcp-keepalive").max(0) as u64,
            proto_max_bulk_len: n("proto-max-bulk-len"),
            client_query_buffer_limit: n("client-query-buffer-limit").max(1024) as usize,
            appendfsync: match s("appendfsync").as_str() {
                "always" => FsyncPolicy::Always,
                "no" => FsyncPolicy::No,
                _ => FsyncPolicy::EverySec,
            },
            hz: n("hz").clamp(1, 500) as u64,
            loglevel: s("loglevel"),
            logfile: s("logfile"),
            engine: s("engine"),
            block_cache_size: n("rocksdb.block-cache-size").max(1 << 20) as usize,
            record_cache_size: n("record-cache-size").max(0) as u64,
            write_buffer_size: n("rocksdb.write-buffer-size").max(1 << 20) as usize,
            max_write_buffer_number: n("rocksdb.max-write-buffer-number").max(2) as i32,
            min_write_buffer_number_to_merge: n("rocksdb.min-write-buffer-number-to-merge").max(1)
                as i32,
            max_background_jobs: n("rocksdb.max-background-jobs").max(2) as i32,
            worker_threads: match (n("worker-threads"), n("io-threads")) {
                (w, _) if w > 0 => w as usize,
                (_, io) if io > 1 => io as usize,
                _ => default_worker_threads(
                    std::thread::available_parallelism().map_or(1, |n| n.get()),
                ),
            },
            compression: s("rocksdb.compression"),
            read_offload: OffloadPolicy::from_name(&s("rocksdb.read-offload"))
                .unwrap_or(OffloadPolicy::Auto),
            pmem_path: Some(s("pmem-path"))
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            pmem_size: n("pmem-size").max(16 << 20) as u64,
            metrics_port: n("metrics-port") as u16,
            lazyfree_lazy_expire: s("lazyfree-lazy-expire") == "yes",
            lazyfree_lazy_server_del: s("lazyfree-lazy-server-del") == "yes",
            repl_backlog_size: n("repl-backlog-size").max(1) as u64,
            slowlog_log_slower_than: n("slowlog-log-slower-than"),
            slowlog_max_len: n("slowlog-max-len").max(0) as usize,
            latency_monitor_threshold: n("latency-monitor-threshold").max(0) as u64,
            obuf_limits: ObufLimits::parse(&s("client-output-buffer-limit")),
            replica: ReplicaSettings {
                replicaof: s("replicaof").split_once(' ').and_then(|(host, port)| {
                    port.parse::<u16>().ok().map(|p| (host.to_string(), p))
                }),
                masterauth: Some(s("masterauth")).filter(|p| !p.is_empty()),
                masteruser: Some(s("masteruser")).filter(|p| !p.is_empty()),
                read_only: s("replica-read-only") == "yes",
                serve_stale_data: s("replica-serve-stale-data") == "yes",
                timeout_secs: n("repl-timeout").max(1) as u64,
                ping_period_secs: n("repl-ping-replica-period").max(1) as u64,
                announce_ip: Some(s("replica-announce-ip")).filter(|p| !p.is_empty()),
                announce_port: n("replica-announce-port") as u16,
                priority: n("replica-priority"),
                announced: s("replica-announced") == "yes",
                diskless_load: s("repl-diskless-load"),
            },
            encoding: {
                let d = crate::types::bulk::EncodingLimits::default();
                let limit = |k: &str, fallback: u64| {
                    v.get(k).and_then(|x| x.parse().ok()).unwrap_or(fallback)
                };
                crate::types::bulk::EncodingLimits {
                    hash: crate::types::hash::ListpackLimits {
                        max_entries: limit("hash-max-listpack-entries", d.hash.max_entries),
                        max_value: limit("hash-max-listpack-value", d.hash.max_value),
                    },
                    set_max_intset_entries: limit(
                        "set-max-intset-entries",
                        d.set_max_intset_entries,
                    ),
                }
            },
        }
    }
}

/// Directives with their own syntax: validation messages and the canonical
/// text CONFIG GET prints, as Redis 7.0 produces them.
pub mod special {
    use super::{parse_memory, ConfigError};
    use crate::resp::parse::parse_i64;

    fn invalid(reason: &str) -> ConfigError {
        ConfigError::Invalid(reason.to_string())
    }

    pub fn canonicalize(name: &str, value: &str, current: &str) -> Result<String, ConfigError> {
        let words: Vec<&str> = value.split_whitespace().collect();
        match name {
            "save" => save(&words),
            "client-output-buffer-limit" => output_buffer_limit(&words, current),
            "oom-score-adj-values" => oom_score_adj_values(&words),
            "latency-tracking-info-percentiles" => percentiles(&words),
            "notify-keyspace-events" => keyspace_events(value),
            "maxmemory-clients" => memory_or_percent(value),
            "bind" => bind(&words),
            "replicaof" => replicaof(&words),
            "unixsocketperm" => u32::from_str_radix(value, 8)
                .map(|v| format!("{v:o}"))
                .map_err(|_| invalid("argument couldn't be parsed into an integer")),
            _ => Ok(value.to_string()),
        }
    }

    fn save(words: &[&str]) -> Result<String, ConfigError> {
        if words.len() % 2 != 0 || words.iter().any(|w| parse_i64(w.as_bytes()).is_none()) {
            return Err(invalid("Invalid save parameters"));
        }
        Ok(words.join(" "))
    }

    /// The three client classes in the order CONFIG GET prints them.
    const CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];

    fn output_buffer_limit(words: &[&str], current: &str) -> Result<String, ConfigError> {
        if words.is_empty() || words.len() % 4 != 0 {
            return Err(invalid(
                "Wrong number of arguments in buffer limit configuration.",
            ));
        }
        let mut limits: Vec<[u64; 3]> = CLASSES
            .iter()
            .map(|c| class_limits(current, c).unwrap_or([0, 0, 0]))
            .collect();
        for group in words.chunks(4) {
            let class = match group[0].to_ascii_lowercase().as_str() {
                "normal" => 0,
                "slave" | "replica" => 1,
                "pubsub" => 2,
                _ => {
                    return Err(invalid(
                        "Invalid client class specified in buffer limit configuration.",
                    ))
                }
            };
            let err = || {
                invalid(
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                )
            };
            let hard = parse_memory(group[1]).ok_or_else(err)?;
            let soft = parse_memory(group[2]).ok_or_else(err)?;
            let secs = parse_i64(group[3].as_bytes())
                .filter(|s| *s >= 0)
                .ok_or_else(err)? as u64;
            limits[class] = [hard, soft, secs];
        }
        Ok(CLASSES
            .iter()
            .zip(&limits)
            .map(|(c, l)| format!("{c} {} {} {}", l[0], l[1], l[2]))
            .collect::<Vec<_>>()
            .join(" "))
    }

    fn class_limits(text: &str, class: &str) -> Option<[u64; 3]> {
        let w: Vec<&str> = text.split_whitespace().collect();
        let i = w.iter().position(|x| *x == class)?;
        let n = |k: usize| w.get(i + k).and_then(|x| x.parse().ok());
        Some([n(1)?, n(2)?, n(3)?])
    }

    fn oom_score_adj_values(words: &[&str]) -> Result<String, ConfigError> {
        if words.len() != 3 {
            return Err(invalid("wrong number of arguments"));
        }
        let vals = words
            .iter()
            .map(|w| parse_i64(w.as_bytes()).filter(|v| (-2000..=2000).contains(v)))
            .collect::<Option<Vec<i64>>>()
            .ok_or_else(|| {
                invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
            })?;
        Ok(vals
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" "))
    }

    fn percentiles(words: &[&str]) -> Result<String, ConfigError> {
        let mut out = Vec::with_capacity(words.len());
        for w in words {
            let v: f64 = w
                .parse()
                .ok()
                .filter(|v: &f64| v.is_finite())
                .ok_or_else(|| invalid("Invalid latency-tracking-info-percentiles parameters"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(invalid(
                    "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]",
                ));
            }
            // Redis prints them with "%f" and trims the trailing zeros.
            let s = format!("{v:.6}");
            out.push(s.trim_end_matches('0').trim_end_matches('.').to_string());
        }
        Ok(out.join(" "))
    }

    /// Parsed and printed back exactly as Redis's
    /// keyspaceEventsStringToFlags / keyspaceEventsFlagsToString do.
    fn keyspace_events(value: &str) -> Result<String, ConfigError> {
        crate::notify::parse(value)
            .map(crate::notify::format)
            .ok_or_else(|| invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'."))
    }

    fn memory_or_percent(value: &str) -> Result<String, ConfigError> {
        if let Some(p) = value.strip_suffix('%') {
            if let Some(v) = parse_i64(p.as_bytes()).filter(|v| *v >= 0) {
                return Ok(format!("{v}%"));
            }
        } else if let Some(v) = parse_memory(value) {
            return Ok(v.to_string());
        }
        Err(invalid("argument must be a memory or percent value"))
    }

    fn bind(words: &[&str]) -> Result<String, ConfigError> {
        if words.len() > 16 {
            return Err(invalid("Too many bind addresses specified."));
        }
        Ok(words.join(" "))
    }

    fn replicaof(words: &[&str]) -> Result<String, ConfigError> {
        match words {
            [no, one] if no.eq_ignore_ascii_case("no") && one.eq_ignore_ascii_case("one") => {
                Ok(String::new())
            }
            [host, port] => {
                let port = parse_i64(port.as_bytes())
                    .filter(|p| (0..=65535).contains(p))
                    .ok_or_else(|| invalid("Invalid master port"))?;
                Ok(format!("{host} {port}"))
            }
            [] => Ok(String::new()),
            _ => Err(invalid("wrong number of arguments")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_workers_leave_a_core() {
        assert_eq!(default_worker_threads(1), 1);
        assert_eq!(default_worker_threads(2), 1);
        assert_eq!(default_worker_threads(4), 3);
        assert_eq!(default_worker_threads(64), 63);
    }

    #[test]
    fn memory_values() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1G"), Some(1_000_000_000));
        assert_eq!(parse_memory("512mb"), Some(512 << 20));
        assert_eq!(parse_memory("100"), Some(100));
        assert_eq!(parse_memory("1.5gb"), None);
        assert_eq!(parse_memory("mb"), None);
    }

    #[test]
    fn set_validates_like_redis() {
        let c = ConfigStore::defaults();
        assert_eq!(c.set("appendfsync", "ALWAYS"), Ok(()));
        assert_eq!(c.get("appendfsync").as_deref(), Some("always"));
        assert_eq!(c.settings().appendfsync, FsyncPolicy::Always);
        assert!(matches!(
            c.set("timeout", "abc"),
            Err(ConfigError::Invalid(_))
        ));
        assert_eq!(c.set("no-such-thing", "1"), Err(ConfigError::BadDirective));
        assert_eq!(c.set("databases", "4"), Err(ConfigError::Immutable));
        assert_eq!(c.set("dir", "/tmp"), Err(ConfigError::Protected));
    }

    #[test]
    fn special_values_canonical() {
        let c = ConfigStore::defaults();
        c.set("client-output-buffer-limit", "normal 1mb 2 3")
            .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit").as_deref(),
            Some("normal 1048576 2 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60")
        );
        c.set("notify-keyspace-events", "KEA").unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("AKE"));
        c.set("notify-keyspace-events", "Kgl").unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("glK"));
        // "KEAn" reads back as "AKE" but `new` stays on, as in Redis.
        c.set("notify-keyspace-events", "KEAn").unwrap();
        assert_eq!(c.get("notify-keyspace-events").as_deref(), Some("AKE"));
        let bits = c.notify_flags.load(Ordering::Relaxed);
        assert_ne!(bits & crate::notify::NEW, 0);
        c.set("latency-tracking-info-percentiles", "50.5 1e1")
            .unwrap();
        assert_eq!(
            c.get("latency-tracking-info-percentiles").as_deref(),
            Some("50.5 10")
        );
        c.set("maxmemory-clients", "10%").unwrap();
        assert_eq!(c.get("maxmemory-clients").as_deref(), Some("10%"));
        assert!(c.set("save", "1 2 3").is_err());
        assert_eq!(
            c.set_many(&[("timeout", "1"), ("timeout", "2")]),
            Err(("timeout".into(), ConfigError::Duplicate))
        );
        // All or nothing: the bad second value leaves the first unchanged.
        assert!(c.set_many(&[("timeout", "7"), ("hz", "abc")]).is_err());
        assert_eq!(c.get("timeout").as_deref(), Some("0"));
    }

    #[test]
    fn table_has_every_redis_name() {
        let names = DIRECTIVES.len() + DIRECTIVES.iter().filter(|d| d.alias.is_some()).count();
        // 192 names in Redis 7.0.15's CONFIG GET *, 2 hidden, 13 Strata-only.
        assert_eq!(names, 192 + 2 + 13);
    }
}
