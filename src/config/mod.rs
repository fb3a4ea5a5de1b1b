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
use std::sync::Arc;

use parking_lot::RwLock;

pub use directives::{Directive, Effect, Kind, DIRECTIVES};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Bad directive or wrong number of arguments")]
    BadDirective,
    /// The reason text Redis puts after "CONFIG SET failed (possibly related to argument '...') - ".
    #[error("{0}")]
    Invalid(String),
    #[error("can't set immutable config")]
    Immutable,
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
    pub write_buffer_size: usize,
    pub max_write_buffer_number: i32,
    pub max_background_jobs: i32,
    pub compression: String,
    pub metrics_port: u16,
}

/// The live configuration: canonical values plus the parsed [`Settings`].
pub struct ConfigStore {
    values: RwLock<BTreeMap<&'static str, String>>,
    settings: RwLock<Arc<Settings>>,
    /// The file the server was started with, for CONFIG REWRITE.
    pub path: Option<PathBuf>,
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

/// Checks `value` against a directive's kind and returns its canonical form.
pub fn canonicalize(d: &Directive, value: &str) -> Result<String, ConfigError> {
    match &d.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(ConfigError::Invalid(
                "argument must be 'yes' or 'no'".into(),
            )),
        },
        Kind::Int { min, max } => {
            let v: i64 = crate::resp::parse::parse_i64(value.as_bytes()).ok_or_else(|| {
                ConfigError::Invalid("argument couldn't be parsed into an integer".into())
            })?;
            if v < *min || v > *max {
                return Err(ConfigError::Invalid(format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(v.to_string())
        }
        Kind::Memory { min, max } => {
            let v = if let Some(neg) = value.strip_prefix('-') {
                -(parse_memory(neg)
                    .ok_or_else(|| ConfigError::Invalid("argument must be a memory value".into()))?
                    as i64)
            } else {
                parse_memory(value)
                    .ok_or_else(|| ConfigError::Invalid("argument must be a memory value".into()))?
                    as i64
            };
            if v < *min || v > *max {
                return Err(ConfigError::Invalid(format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(v.to_string())
        }
        Kind::Enum(choices) => choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(value))
            .map(|c| c.to_string())
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "argument(s) must be one of the following: {}",
                    choices.join(", ")
                ))
            }),
        Kind::Str | Kind::Special => Ok(value.to_string()),
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
        }
    }

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().clone()
    }

    /// Sets one directive from a config file or command-line override.
    /// `args` are the words after the directive name.
    pub fn load_directive(&self, name: &str, args: &[String]) -> Result<(), ConfigError> {
        let d = lookup(name).ok_or(ConfigError::BadDirective)?;
        let value = match d.kind {
            Kind::Special => args.join(" "),
            _ if args.len() == 1 => args[0].clone(),
            _ => return Err(ConfigError::BadDirective),
        };
        let canon = canonicalize(d, &value)?;
        self.store(d, canon);
        Ok(())
    }

    /// CONFIG SET of one directive.
    pub fn set(&self, name: &str, value: &str) -> Result<(), ConfigError> {
        let d = lookup(name).ok_or(ConfigError::BadDirective)?;
        if !d.mutable {
            return Err(ConfigError::Immutable);
        }
        let canon = canonicalize(d, value)?;
        self.store(d, canon);
        Ok(())
    }

    fn store(&self, d: &'static Directive, canon: String) {
        let mut values = self.values.write();
        values.insert(d.name, canon);
        *self.settings.write() = Arc::new(Settings::from_values(&values));
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let d = lookup(name)?;
        self.values.read().get(d.name).cloned()
    }

    /// `(name, value)` for every directive (and alias) matching the glob, as CONFIG GET lists them.
    pub fn get_matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let values = self.values.read();
        let mut out = Vec::new();
        for d in DIRECTIVES {
            let value = values.get(d.name).cloned().unwrap_or_default();
            if crate::glob::glob_match(pattern, d.name.as_bytes(), true) {
                out.push((d.name, value.clone()));
            }
            if let Some(alias) = d.alias {
                if crate::glob::glob_match(pattern, alias.as_bytes(), true) {
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
            write_buffer_size: n("rocksdb.write-buffer-size").max(1 << 20) as usize,
            max_write_buffer_number: n("rocksdb.max-write-buffer-number").max(2) as i32,
            max_background_jobs: n("rocksdb.max-background-jobs").max(2) as i32,
            compression: s("rocksdb.compression"),
            metrics_port: n("metrics-port") as u16,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
