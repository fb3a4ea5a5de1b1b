//! The directive table: every Redis 7.0 directive plus Strata's own.
//!
//! `Effect::Applied` directives change Strata's behaviour; `Effect::Ignored`
//! ones are accepted (in the file and by CONFIG SET/GET) so an existing
//! redis.conf starts Strata unchanged, but have no meaning for a server whose
//! data lives on disk; `conf/strata.conf` documents which are which.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// Bytes, accepting k/kb/m/mb/g/gb suffixes; CONFIG GET prints bytes.
    Memory {
        min: i64,
        max: i64,
    },
    Enum(&'static [&'static str]),
    Str,
    /// Several words (e.g. `save`, `client-output-buffer-limit`), kept as given.
    Special,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Strata acts on it.
    Applied,
    /// Accepted and reported, no effect in Strata.
    Ignored,
}

#[derive(Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// Whether CONFIG SET may change it at run time.
    pub mutable: bool,
    pub effect: Effect,
}

const fn d(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    mutable: bool,
    effect: Effect,
) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable,
        effect,
    }
}

const fn alias(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
    mutable: bool,
    effect: Effect,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable,
        effect,
    }
}

use Effect::{Applied, Ignored};
use Kind::*;

const PORT: Kind = Int { min: 0, max: 65535 };
const MEM: Kind = Memory {
    min: 0,
    max: i64::MAX,
};

pub static DIRECTIVES: &[Directive] = &[
    // --- network
    d("bind", Special, "* -::*", false, Applied),
    d("port", PORT, "6379", false, Applied),
    d(
        "timeout",
        Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "0",
        true,
        Applied,
    ),
    d(
        "tcp-keepalive",
        Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "300",
        true,
        Applied,
    ),
    d(
        "maxclients",
        Int {
            min: 1,
            max: i32::MAX as i64,
        },
        "10000",
        true,
        Applied,
    ),
    d("protected-mode", Bool, "yes", true, Ignored),
    d(
        "tcp-backlog",
        Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "511",
        false,
        Ignored,
    ),
    // --- general
    d("dir", Str, "./data", true, Applied),
    d("databases", Int { min: 1, max: 256 }, "16", false, Applied),
    d("requirepass", Str, "", true, Applied),
    d(
        "loglevel",
        Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
        true,
        Applied,
    ),
    d("logfile", Str, "", false, Applied),
    d("daemonize", Bool, "no", false, Ignored),
    d("pidfile", Str, "", false, Applied),
    d(
        "hz",
        Int {
            min: 0,
            max: i32::MAX as i64,
        },
        "10",
        true,
        Applied,
    ),
    d(
        "proto-max-bulk-len",
        Memory {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        "536870912",
        true,
        Applied,
    ),
    d(
        "client-query-buffer-limit",
        Memory {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        "1073741824",
        true,
        Applied,
    ),
    // --- persistence: the WAL is Strata's append-only file
    d("appendonly", Bool, "no", true, Ignored),
    d(
        "appendfsync",
        Enum(&["always", "everysec", "no"]),
        "everysec",
        true,
        Applied,
    ),
    d("save", Special, "3600 1 300 100 60 10000", true, Ignored),
    d("dbfilename", Str, "dump.rdb", true, Ignored),
    // --- replication (wired up with replication support)
    alias("replicaof", "slaveof", Special, "", false, Ignored),
    alias(
        "replica-read-only",
        "slave-read-only",
        Bool,
        "yes",
        true,
        Ignored,
    ),
    d("repl-backlog-size", MEM, "1048576", true, Ignored),
    // --- memory
    d("maxmemory", MEM, "0", true, Ignored),
    d(
        "maxmemory-policy",
        Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
        true,
        Ignored,
    ),
    // --- Strata's own
    d("engine", Enum(&["rocksdb"]), "rocksdb", false, Applied),
    d("rocksdb.block-cache-size", MEM, "268435456", false, Applied),
    d("rocksdb.write-buffer-size", MEM, "67108864", false, Applied),
    d(
        "rocksdb.max-write-buffer-number",
        Int { min: 2, max: 64 },
        "4",
        false,
        Applied,
    ),
    d(
        "rocksdb.max-background-jobs",
        Int { min: 2, max: 64 },
        "4",
        false,
        Applied,
    ),
    d(
        "rocksdb.compression",
        Enum(&["none", "snappy", "lz4", "zstd"]),
        "lz4",
        false,
        Applied,
    ),
    d("metrics-port", PORT, "0", false, Applied),
];
