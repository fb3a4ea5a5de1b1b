//! The directive table: every directive Redis 7.0.15 accepts, plus Strata's own.
//!
//! The rows were taken from a running Redis 7.0.15 (`CONFIG GET *` for names,
//! aliases and defaults; `CONFIG SET` probes for kinds, bounds and which are
//! immutable or protected). `Effect::Applied` directives change Strata's
//! behaviour; `Effect::Ignored` ones are accepted (in the file and by CONFIG
//! SET/GET) so an existing redis.conf starts Strata unchanged, but have no
//! meaning for a server whose data lives in RocksDB. `conf/strata.conf`
//! documents which are which.
//!
//! Strata differences: `dir` defaults to `./data`; `databases` is at most 256
//! because a database's physical id is one byte in the on-disk encoding.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`
    Bool,
    /// An integer parsed as Redis's `string2ll`, checked against the bounds.
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
    /// A value with its own syntax (e.g. `save`, `client-output-buffer-limit`),
    /// validated and canonicalized by `config::special`.
    Special,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Strata acts on it.
    Applied,
    /// Accepted and reported, no effect in Strata.
    Ignored,
}

/// Whether CONFIG SET may change a directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    Mutable,
    /// Only in the file or on the command line ("can't set immutable config").
    Immutable,
    /// Redis 7.0 `PROTECTED_CONFIG`: refused while `enable-protected-configs` is `no`.
    Protected,
}

#[derive(Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    pub mutability: Mutability,
    pub effect: Effect,
}

impl Directive {
    pub fn mutable(&self) -> bool {
        self.mutability == Mutability::Mutable
    }
}

const fn d(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    mutability: Mutability,
    effect: Effect,
) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutability,
        effect,
    }
}

const fn alias(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
    mutability: Mutability,
    effect: Effect,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutability,
        effect,
    }
}

use Effect::{Applied, Ignored};
use Kind::*;
use Mutability::{Immutable, Mutable, Protected};

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const PORT: Kind = Int { min: 0, max: 65535 };
const INT_POS: Kind = Int {
    min: 0,
    max: INT_MAX,
};
const LONG_POS: Kind = Int {
    min: 0,
    max: i64::MAX,
};
const MEM: Kind = Memory {
    min: 0,
    max: i64::MAX,
};

/// Directives Redis accepts only in the config file (never listed or set at run time).
pub const FILE_ONLY: &[&str] = &[
    "include",
    "rename-command",
    "loadmodule",
    "user",
    "sentinel",
];

/// Listed by CONFIG GET only when named exactly (Redis's `HIDDEN_CONFIG`).
pub const HIDDEN: &[&str] = &["rdb-key-save-delay", "key-load-delay"];

pub static DIRECTIVES: &[Directive] = &[
    d(
        "acl-pubsub-default",
        Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
        Mutable,
        Ignored,
    ),
    d("aclfile", Str, "", Immutable, Ignored),
    d("acllog-max-len", LONG_POS, "128", Mutable, Ignored),
    d(
        "active-defrag-cycle-max",
        Int { min: 1, max: 99 },
        "25",
        Mutable,
        Ignored,
    ),
    d(
        "active-defrag-cycle-min",
        Int { min: 1, max: 99 },
        "1",
        Mutable,
        Ignored,
    ),
    d(
        "active-defrag-ignore-bytes",
        Memory {
            min: 1,
            max: i64::MAX,
        },
        "104857600",
        Mutable,
        Ignored,
    ),
    d(
        "active-defrag-max-scan-fields",
        Int {
            min: 1,
            max: i64::MAX,
        },
        "1000",
        Mutable,
        Ignored,
    ),
    d(
        "active-defrag-threshold-lower",
        Int { min: 0, max: 1000 },
        "10",
        Mutable,
        Ignored,
    ),
    d(
        "active-defrag-threshold-upper",
        Int { min: 0, max: 1000 },
        "100",
        Mutable,
        Ignored,
    ),
    d(
        "active-expire-effort",
        Int { min: 1, max: 10 },
        "1",
        Mutable,
        Ignored,
    ),
    d("activedefrag", Bool, "no", Mutable, Ignored),
    d("activerehashing", Bool, "yes", Mutable, Ignored),
    d("always-show-logo", Bool, "no", Immutable, Ignored),
    d("aof-disable-auto-gc", Bool, "no", Mutable, Ignored),
    d("aof-load-truncated", Bool, "yes", Mutable, Ignored),
    d(
        "aof-rewrite-incremental-fsync",
        Bool,
        "yes",
        Mutable,
        Ignored,
    ),
    d("aof-timestamp-enabled", Bool, "no", Mutable, Ignored),
    d("aof-use-rdb-preamble", Bool, "yes", Mutable, Ignored),
    d("aof_rewrite_cpulist", Str, "", Immutable, Ignored),
    d("appenddirname", Str, "appendonlydir", Immutable, Ignored),
    d("appendfilename", Str, "appendonly.aof", Immutable, Ignored),
    d(
        "appendfsync",
        Enum(&["everysec", "always", "no"]),
        "everysec",
        Mutable,
        Applied,
    ),
    d("appendonly", Bool, "no", Mutable, Ignored),
    d(
        "auto-aof-rewrite-min-size",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "67108864",
        Mutable,
        Ignored,
    ),
    d(
        "auto-aof-rewrite-percentage",
        INT_POS,
        "100",
        Mutable,
        Ignored,
    ),
    d("bgsave_cpulist", Str, "", Immutable, Ignored),
    d("bind", Special, "* -::*", Mutable, Applied),
    d("bind-source-addr", Str, "", Mutable, Ignored),
    d("bio_cpulist", Str, "", Immutable, Ignored),
    alias(
        "busy-reply-threshold",
        "lua-time-limit",
        LONG_POS,
        "5000",
        Mutable,
        Ignored,
    ),
    d(
        "client-output-buffer-limit",
        Special,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        Mutable,
        Applied,
    ),
    d(
        "client-query-buffer-limit",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "1073741824",
        Mutable,
        Applied,
    ),
    d(
        "cluster-allow-pubsubshard-when-down",
        Bool,
        "yes",
        Mutable,
        Ignored,
    ),
    d(
        "cluster-allow-reads-when-down",
        Bool,
        "no",
        Mutable,
        Ignored,
    ),
    d(
        "cluster-allow-replica-migration",
        Bool,
        "yes",
        Mutable,
        Ignored,
    ),
    d("cluster-announce-bus-port", PORT, "0", Mutable, Ignored),
    d("cluster-announce-hostname", Str, "", Mutable, Ignored),
    d("cluster-announce-ip", Str, "", Mutable, Ignored),
    d("cluster-announce-port", PORT, "0", Mutable, Ignored),
    d("cluster-announce-tls-port", PORT, "0", Mutable, Ignored),
    d("cluster-config-file", Str, "nodes.conf", Immutable, Ignored),
    d("cluster-enabled", Bool, "no", Immutable, Ignored),
    d(
        "cluster-link-sendbuf-limit",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "0",
        Mutable,
        Ignored,
    ),
    d("cluster-migration-barrier", INT_POS, "1", Mutable, Ignored),
    d("cluster-node-timeout", LONG_POS, "15000", Mutable, Ignored),
    d("cluster-port", PORT, "0", Immutable, Ignored),
    d(
        "cluster-preferred-endpoint-type",
        Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
        Mutable,
        Ignored,
    ),
    alias(
        "cluster-replica-no-failover",
        "cluster-slave-no-failover",
        Bool,
        "no",
        Mutable,
        Ignored,
    ),
    alias(
        "cluster-replica-validity-factor",
        "cluster-slave-validity-factor",
        INT_POS,
        "10",
        Mutable,
        Ignored,
    ),
    d(
        "cluster-require-full-coverage",
        Bool,
        "yes",
        Mutable,
        Ignored,
    ),
    d("crash-log-enabled", Bool, "yes", Mutable, Ignored),
    d("crash-memcheck-enabled", Bool, "yes", Mutable, Ignored),
    d("daemonize", Bool, "no", Immutable, Ignored),
    d(
        "databases",
        Int { min: 1, max: 256 },
        "16",
        Immutable,
        Applied,
    ),
    d("dbfilename", Str, "dump.rdb", Protected, Ignored),
    d("dir", Str, "./data", Protected, Applied),
    d("disable-thp", Bool, "yes", Immutable, Ignored),
    d("dynamic-hz", Bool, "yes", Mutable, Ignored),
    d(
        "enable-debug-command",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
        Ignored,
    ),
    d(
        "enable-module-command",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
        Ignored,
    ),
    d(
        "enable-protected-configs",
        Enum(&["no", "yes", "local"]),
        "no",
        Immutable,
        Ignored,
    ),
    alias(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        LONG_POS,
        "512",
        Mutable,
        Applied,
    ),
    alias(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "64",
        Mutable,
        Applied,
    ),
    d(
        "hll-sparse-max-bytes",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "3000",
        Mutable,
        Ignored,
    ),
    d("hz", INT_POS, "10", Mutable, Applied),
    d("ignore-warnings", Str, "", Mutable, Ignored),
    d(
        "io-threads",
        Int { min: 1, max: 128 },
        "1",
        Immutable,
        Applied,
    ),
    d("io-threads-do-reads", Bool, "no", Immutable, Ignored),
    d("jemalloc-bg-thread", Bool, "yes", Mutable, Ignored),
    d("latency-monitor-threshold", LONG_POS, "0", Mutable, Applied),
    d("latency-tracking", Bool, "yes", Mutable, Ignored),
    d(
        "latency-tracking-info-percentiles",
        Special,
        "50 99 99.9",
        Mutable,
        Ignored,
    ),
    d("lazyfree-lazy-eviction", Bool, "no", Mutable, Ignored),
    d("lazyfree-lazy-expire", Bool, "no", Mutable, Applied),
    d("lazyfree-lazy-server-del", Bool, "no", Mutable, Applied),
    d("lazyfree-lazy-user-del", Bool, "no", Mutable, Ignored),
    d("lazyfree-lazy-user-flush", Bool, "no", Mutable, Ignored),
    d("lfu-decay-time", INT_POS, "1", Mutable, Ignored),
    d("lfu-log-factor", INT_POS, "10", Mutable, Ignored),
    d("list-compress-depth", INT_POS, "0", Mutable, Ignored),
    alias(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        Int {
            min: INT_MIN,
            max: INT_MAX,
        },
        "-2",
        Mutable,
        Ignored,
    ),
    d("logfile", Str, "", Immutable, Applied),
    d(
        "loglevel",
        Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
        Mutable,
        Applied,
    ),
    d("masterauth", Str, "", Mutable, Applied),
    d("masteruser", Str, "", Mutable, Applied),
    d(
        "maxclients",
        Int {
            min: 1,
            max: 4294967295,
        },
        "10000",
        Mutable,
        Applied,
    ),
    d(
        "maxmemory",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "0",
        Mutable,
        Ignored,
    ),
    d("maxmemory-clients", Special, "0", Mutable, Ignored),
    d(
        "maxmemory-eviction-tenacity",
        Int { min: 0, max: 100 },
        "10",
        Mutable,
        Ignored,
    ),
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
        Mutable,
        Ignored,
    ),
    d(
        "maxmemory-samples",
        Int {
            min: 1,
            max: INT_MAX,
        },
        "5",
        Mutable,
        Ignored,
    ),
    alias(
        "min-replicas-max-lag",
        "min-slaves-max-lag",
        INT_POS,
        "10",
        Mutable,
        Applied,
    ),
    alias(
        "min-replicas-to-write",
        "min-slaves-to-write",
        INT_POS,
        "0",
        Mutable,
        Applied,
    ),
    d("no-appendfsync-on-rewrite", Bool, "no", Mutable, Ignored),
    d("notify-keyspace-events", Special, "", Mutable, Applied),
    d(
        "oom-score-adj",
        Enum(&["no", "yes", "relative", "absolute"]),
        "no",
        Mutable,
        Ignored,
    ),
    d(
        "oom-score-adj-values",
        Special,
        "0 200 800",
        Mutable,
        Ignored,
    ),
    d("pidfile", Str, "", Immutable, Ignored),
    d("port", PORT, "6379", Mutable, Applied),
    d(
        "proc-title-template",
        Str,
        "{title} {listen-addr} {server-mode}",
        Mutable,
        Ignored,
    ),
    d(
        "propagation-error-behavior",
        Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
        Mutable,
        Ignored,
    ),
    d("protected-mode", Bool, "yes", Mutable, Ignored),
    d(
        "proto-max-bulk-len",
        Memory {
            min: 1024 * 1024,
            max: i64::MAX,
        },
        "536870912",
        Mutable,
        Applied,
    ),
    d("rdb-del-sync-files", Bool, "no", Mutable, Ignored),
    d("rdb-save-incremental-fsync", Bool, "yes", Mutable, Ignored),
    d("rdbchecksum", Bool, "yes", Immutable, Ignored),
    d("rdbcompression", Bool, "yes", Mutable, Ignored),
    d(
        "repl-backlog-size",
        Memory {
            min: 1,
            max: i64::MAX,
        },
        // 256 MB: the backlog lives on disk, so it can be far larger than
        // Redis's 1 MB and keep partial resyncs possible after long outages.
        "268435456",
        Mutable,
        Applied,
    ),
    d("repl-backlog-ttl", LONG_POS, "3600", Mutable, Applied),
    d("repl-disable-tcp-nodelay", Bool, "no", Mutable, Ignored),
    d(
        "repl-diskless-load",
        Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
        Mutable,
        Applied,
    ),
    d("repl-diskless-sync", Bool, "yes", Mutable, Applied),
    d("repl-diskless-sync-delay", INT_POS, "5", Mutable, Applied),
    d(
        "repl-diskless-sync-max-replicas",
        INT_POS,
        "0",
        Mutable,
        Applied,
    ),
    alias(
        "repl-ping-replica-period",
        "repl-ping-slave-period",
        Int {
            min: 1,
            max: INT_MAX,
        },
        "10",
        Mutable,
        Applied,
    ),
    d(
        "repl-timeout",
        Int {
            min: 1,
            max: INT_MAX,
        },
        "60",
        Mutable,
        Applied,
    ),
    alias(
        "replica-announce-ip",
        "slave-announce-ip",
        Str,
        "",
        Mutable,
        Applied,
    ),
    alias(
        "replica-announce-port",
        "slave-announce-port",
        PORT,
        "0",
        Mutable,
        Applied,
    ),
    d("replica-announced", Bool, "yes", Mutable, Applied),
    d(
        "replica-ignore-disk-write-errors",
        Bool,
        "no",
        Mutable,
        Ignored,
    ),
    alias(
        "replica-ignore-maxmemory",
        "slave-ignore-maxmemory",
        Bool,
        "yes",
        Mutable,
        Ignored,
    ),
    alias(
        "replica-lazy-flush",
        "slave-lazy-flush",
        Bool,
        "no",
        Mutable,
        Ignored,
    ),
    alias(
        "replica-priority",
        "slave-priority",
        INT_POS,
        "100",
        Mutable,
        Applied,
    ),
    alias(
        "replica-read-only",
        "slave-read-only",
        Bool,
        "yes",
        Mutable,
        Applied,
    ),
    alias(
        "replica-serve-stale-data",
        "slave-serve-stale-data",
        Bool,
        "yes",
        Mutable,
        Applied,
    ),
    alias("replicaof", "slaveof", Special, "", Immutable, Applied),
    d("requirepass", Str, "", Mutable, Applied),
    d(
        "sanitize-dump-payload",
        Enum(&["no", "yes", "clients"]),
        "no",
        Mutable,
        Ignored,
    ),
    d("save", Special, "3600 1 300 100 60 10000", Mutable, Ignored),
    d("server_cpulist", Str, "", Immutable, Ignored),
    d("set-max-intset-entries", LONG_POS, "512", Mutable, Applied),
    d("set-proc-title", Bool, "yes", Immutable, Ignored),
    d(
        "shutdown-on-sigint",
        Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        Mutable,
        Ignored,
    ),
    d(
        "shutdown-on-sigterm",
        Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
        Mutable,
        Ignored,
    ),
    d("shutdown-timeout", INT_POS, "10", Mutable, Ignored),
    d(
        "slowlog-log-slower-than",
        Int {
            min: -1,
            max: i64::MAX,
        },
        "10000",
        Mutable,
        Applied,
    ),
    d("slowlog-max-len", LONG_POS, "128", Mutable, Applied),
    d(
        "socket-mark-id",
        Int {
            min: 0,
            max: u32::MAX as i64,
        },
        "0",
        Immutable,
        Ignored,
    ),
    d("stop-writes-on-bgsave-error", Bool, "yes", Mutable, Ignored),
    d(
        "stream-node-max-bytes",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "4096",
        Mutable,
        Ignored,
    ),
    d("stream-node-max-entries", LONG_POS, "100", Mutable, Ignored),
    d(
        "supervised",
        Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
        Immutable,
        Ignored,
    ),
    d("syslog-enabled", Bool, "no", Immutable, Ignored),
    d(
        "syslog-facility",
        Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        "local0",
        Immutable,
        Ignored,
    ),
    d("syslog-ident", Str, "redis", Immutable, Ignored),
    d("tcp-backlog", INT_POS, "511", Immutable, Ignored),
    d("tcp-keepalive", INT_POS, "300", Mutable, Applied),
    d("timeout", INT_POS, "0", Mutable, Applied),
    d(
        "tls-auth-clients",
        Enum(&["no", "yes", "optional"]),
        "yes",
        Mutable,
        Ignored,
    ),
    d("tls-ca-cert-dir", Str, "", Mutable, Ignored),
    d("tls-ca-cert-file", Str, "", Mutable, Ignored),
    d("tls-cert-file", Str, "", Mutable, Ignored),
    d("tls-ciphers", Str, "", Mutable, Ignored),
    d("tls-ciphersuites", Str, "", Mutable, Ignored),
    d("tls-client-cert-file", Str, "", Mutable, Ignored),
    d("tls-client-key-file", Str, "", Mutable, Ignored),
    d("tls-client-key-file-pass", Str, "", Mutable, Ignored),
    d("tls-cluster", Bool, "no", Mutable, Ignored),
    d("tls-dh-params-file", Str, "", Mutable, Ignored),
    d("tls-key-file", Str, "", Mutable, Ignored),
    d("tls-key-file-pass", Str, "", Mutable, Ignored),
    d("tls-port", PORT, "0", Mutable, Ignored),
    d("tls-prefer-server-ciphers", Bool, "no", Mutable, Ignored),
    d("tls-protocols", Str, "", Mutable, Ignored),
    d("tls-replication", Bool, "no", Mutable, Ignored),
    d("tls-session-cache-size", INT_POS, "20480", Mutable, Ignored),
    d(
        "tls-session-cache-timeout",
        INT_POS,
        "300",
        Mutable,
        Ignored,
    ),
    d("tls-session-caching", Bool, "yes", Mutable, Ignored),
    d(
        "tracking-table-max-keys",
        LONG_POS,
        "1000000",
        Mutable,
        Ignored,
    ),
    d("unixsocket", Str, "", Immutable, Ignored),
    d("unixsocketperm", Special, "0", Immutable, Ignored),
    alias(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        LONG_POS,
        "128",
        Mutable,
        Ignored,
    ),
    alias(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        Memory {
            min: 0,
            max: i64::MAX,
        },
        "64",
        Mutable,
        Ignored,
    ),
    // Hidden (listed by CONFIG GET only when asked for by name).
    d(
        "rdb-key-save-delay",
        Int {
            min: INT_MIN,
            max: INT_MAX,
        },
        "0",
        Mutable,
        Ignored,
    ),
    d(
        "key-load-delay",
        Int {
            min: INT_MIN,
            max: INT_MAX,
        },
        "0",
        Mutable,
        Ignored,
    ),
    // --- Strata's own
    // The backends `engine::open` knows (`engine::ENGINES`).
    d(
        "engine",
        Enum(crate::engine::NAMES),
        "rocksdb",
        Immutable,
        Applied,
    ),
    // The record cache in front of any engine (`engine::record_cache`).
    d("record-cache-size", MEM, "67108864", Immutable, Applied),
    d(
        "rocksdb.block-cache-size",
        MEM,
        "268435456",
        Immutable,
        Applied,
    ),
    // Small memtables, flushed four at a time (docs/bench/memtables.md):
    // a random insert into a 4 MB skip list mostly hits the CPU's caches,
    // into a 64 MB one it mostly misses them.
    d(
        "rocksdb.write-buffer-size",
        MEM,
        "4194304",
        Immutable,
        Applied,
    ),
    d(
        "rocksdb.max-write-buffer-number",
        Int { min: 2, max: 64 },
        "16",
        Immutable,
        Applied,
    ),
    d(
        "rocksdb.min-write-buffer-number-to-merge",
        Int { min: 1, max: 63 },
        "4",
        Immutable,
        Applied,
    ),
    d(
        "rocksdb.max-background-jobs",
        Int { min: 2, max: 64 },
        "4",
        Immutable,
        Applied,
    ),
    d(
        "rocksdb.compression",
        Enum(&["none", "snappy", "lz4", "zstd"]),
        "lz4",
        Immutable,
        Applied,
    ),
    // Point reads that must wait for the device leave the network worker
    // (`engine::offload`): auto (as measured), yes, no.
    d(
        "rocksdb.read-offload",
        Enum(&["auto", "yes", "no"]),
        "auto",
        Mutable,
        Applied,
    ),
    // The pmem engine (docs/pmem.md): the directory of its file (empty:
    // the data directory's `db`), and its capacity, allocated when the file
    // is created. Persistence follows `appendfsync`.
    d("pmem-path", Str, "", Immutable, Applied),
    d(
        "pmem-size",
        Memory {
            min: 16 << 20,
            max: i64::MAX,
        },
        "1073741824",
        Immutable,
        Applied,
    ),
    d("metrics-port", PORT, "0", Immutable, Applied),
    d(
        "worker-threads",
        Int { min: 0, max: 256 },
        "0",
        Immutable,
        Applied,
    ),
];
