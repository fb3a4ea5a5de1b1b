//! MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP.
//!
//! Strata's data lives in RocksDB, not in the heap, so MEMORY USAGE reports
//! what a key occupies in the store: its metadata record plus its subkeys,
//! sampled and extrapolated by the element count as Redis samples a
//! collection's elements (`SAMPLES`, default 5, 0 = all). It reads the
//! encoding (`types::encoding`) through the engine directly, so it depends on
//! nothing but the on-disk format. MEMORY STATS keeps Redis 7.0's field list
//! and order with Strata's own figures: process RSS, engine memtables and
//! block cache, key counts; figures with no meaning here are 0.

use bytes::Bytes;

use super::flags::*;
use super::{args, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::engine::Cf;
use crate::resp::Reply;
use crate::server::Server;
use crate::types::encoding::{self, Metadata};
use crate::types::{now_ms, KeyType};

const SUB: CommandSpec = CommandSpec {
    group: "server",
    since: "4.0.0",
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "memory",
    arity: -2,
    group: "server",
    since: "4.0.0",
    summary: "A container for memory diagnostics commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "doctor",
            arity: 2,
            summary: "Outputs memory problems report",
            handler: Some(doctor),
            ..SUB
        },
        CommandSpec {
            name: "malloc-stats",
            arity: 2,
            summary: "Show allocator internal stats",
            complexity: "Depends on how much memory is allocated, could be slow",
            handler: Some(malloc_stats),
            ..SUB
        },
        CommandSpec {
            name: "purge",
            arity: 2,
            summary: "Ask the allocator to release memory",
            complexity: "Depends on how much memory is allocated, could be slow",
            handler: Some(purge),
            ..SUB
        },
        CommandSpec {
            name: "stats",
            arity: 2,
            summary: "Show memory usage details",
            handler: Some(stats),
            ..SUB
        },
        CommandSpec {
            name: "usage",
            arity: -3,
            flags: READONLY,
            keys: KeySpec {
                first: 2,
                last: 2,
                step: 1,
            },
            summary: "Estimate the memory usage of a key",
            complexity: "O(N) where N is the number of samples.",
            handler: Some(usage),
            ..SUB
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: LOADING | STALE,
            summary: "Show helpful text about the different subcommands",
            handler: Some(help),
            ..SUB
        },
    ],
    ..CommandSpec::BASE
}];

/// Redis's `OBJ_COMPUTE_SIZE_DEF_SAMPLES`.
const DEFAULT_SAMPLES: u64 = 5;

fn usage(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"samples") && j + 1 < argv.len() {
            let n = args::int(&argv[j + 1])?;
            if n < 0 {
                return Err(CmdError::Syntax);
            }
            samples = if n == 0 { u64::MAX } else { n as u64 };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    match key_usage(ctx.server, ctx.db(), &argv[2], samples)? {
        Some(bytes) => Ok(Reply::Integer(bytes as i64)),
        None => Ok(Reply::Nil),
    }
}

/// Bytes `key` of physical db `db` occupies in the store (keys and values
/// of its records), `None` when it does not exist or has expired.
pub fn key_usage(
    server: &Server,
    db: u8,
    key: &[u8],
    samples: u64,
) -> Result<Option<u64>, CmdError> {
    let engine = server.ks.engine();
    let meta_key = encoding::meta_key(db, key);
    let Some(raw) = engine
        .get(Cf::Meta, &meta_key)
        .map_err(crate::types::TypeError::from)?
    else {
        return Ok(None);
    };
    let meta = Metadata::decode(&raw).map_err(crate::types::TypeError::from)?;
    if meta.is_expired(now_ms()) {
        return Ok(None);
    }
    let mut total = (meta_key.len() + raw.len()) as u64;
    if meta.kind != KeyType::String && meta.size > 0 {
        let prefix = encoding::subkey_prefix(db, key, meta.version);
        total += sampled_bytes(server, Cf::Data, &prefix, meta.size, samples);
        if meta.kind == KeyType::ZSet {
            // Each member also has an entry in the score index.
            total += sampled_bytes(server, Cf::ZScore, &prefix, meta.size, samples);
        }
    }
    Ok(Some(total))
}

/// The bytes of the `count` records under `prefix` in `cf`, estimated from
/// the first `samples` of them (all of them when `samples >= count`).
fn sampled_bytes(server: &Server, cf: Cf, prefix: &[u8], count: u64, samples: u64) -> u64 {
    let upper = encoding::prefix_end(prefix);
    let mut it = server.ks.engine().iter(cf, Some(prefix), upper.as_deref());
    it.seek(prefix);
    let (mut seen, mut bytes) = (0u64, 0u64);
    while it.valid() && seen < samples {
        bytes += (it.key().len() + it.value().len()) as u64;
        seen += 1;
        it.next();
    }
    if seen == 0 {
        return 0;
    }
    if seen >= count {
        bytes
    } else {
        ((bytes as f64 / seen as f64) * count as f64) as u64
    }
}

/// Figures behind MEMORY STATS and DOCTOR, in bytes.
struct Figures {
    peak: u64,
    total: u64,
    startup: u64,
    clients_normal: u64,
    engine: u64,
    keys: u64,
    dbs: Vec<usize>,
}

fn figures(server: &Server) -> Figures {
    let total = crate::cmd::info::rss_bytes();
    let peak = server
        .stats
        .peak_memory
        .fetch_max(total, std::sync::atomic::Ordering::Relaxed)
        .max(total);
    let clients_normal = server
        .clients
        .all()
        .iter()
        .map(|c| c.qbuf.load(std::sync::atomic::Ordering::Relaxed) as u64)
        .sum::<u64>();
    let es = server.ks.engine().stats();
    let dbs: Vec<usize> = (0..server.ks.databases())
        .filter(|&d| server.ks.dbsize(d) > 0)
        .collect();
    let keys = dbs.iter().map(|&d| server.ks.dbsize(d)).sum::<u64>();
    Figures {
        peak,
        total,
        startup: server.startup_rss.min(total),
        clients_normal,
        engine: es.memtable_bytes + es.block_cache_usage,
        keys,
        dbs,
    }
}

fn stats(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let f = figures(ctx.server);
    let int = |n: u64| Reply::Integer(n as i64);
    let name = |s: &str| Reply::bulk_str(s);
    let mut m: Vec<(Reply, Reply)> = vec![
        (name("peak.allocated"), int(f.peak)),
        (name("total.allocated"), int(f.total)),
        (name("startup.allocated"), int(f.startup)),
        (name("replication.backlog"), int(0)),
        (name("clients.slaves"), int(0)),
        (name("clients.normal"), int(f.clients_normal)),
        (name("cluster.links"), int(0)),
        (name("aof.buffer"), int(0)),
        (name("lua.caches"), int(0)),
        (name("functions.caches"), int(0)),
    ];
    for &db in &f.dbs {
        // No per-key hash tables in memory: the keys are in RocksDB.
        m.push((
            Reply::bulk(format!("db.{db}")),
            Reply::Map(vec![
                (name("overhead.hashtable.main"), int(0)),
                (name("overhead.hashtable.expires"), int(0)),
                (name("overhead.hashtable.slot-to-keys"), int(0)),
            ]),
        ));
    }
    // The data Strata holds in memory is what RocksDB keeps there
    // (memtables and cached blocks); everything else in the RSS is overhead.
    let dataset = f.engine.min(f.total);
    let overhead = f.total - dataset;
    let net = f.total.saturating_sub(f.startup);
    let pct = |a: u64, b: u64| {
        if b == 0 {
            0.0
        } else {
            (a as f32 * 100.0 / b as f32) as f64
        }
    };
    m.extend([
        (name("overhead.total"), int(overhead)),
        (name("keys.count"), int(f.keys)),
        (
            name("keys.bytes-per-key"),
            int(net.checked_div(f.keys).unwrap_or(0)),
        ),
        (name("dataset.bytes"), int(dataset)),
        (
            name("dataset.percentage"),
            Reply::Double(pct(dataset, f.total)),
        ),
        (name("peak.percentage"), Reply::Double(pct(f.total, f.peak))),
        // The process's resident memory stands for the allocator figures:
        // Strata does not use jemalloc and cannot see fragmentation.
        (name("allocator.allocated"), int(f.total)),
        (name("allocator.active"), int(f.total)),
        (name("allocator.resident"), int(f.total)),
        (name("allocator-fragmentation.ratio"), Reply::Double(1.0)),
        (name("allocator-fragmentation.bytes"), int(0)),
        (name("allocator-rss.ratio"), Reply::Double(1.0)),
        (name("allocator-rss.bytes"), int(0)),
        (name("rss-overhead.ratio"), Reply::Double(1.0)),
        (name("rss-overhead.bytes"), int(0)),
        (name("fragmentation"), Reply::Double(1.0)),
        (name("fragmentation.bytes"), int(0)),
    ]);
    Ok(Reply::Map(m))
}

fn doctor(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let f = figures(ctx.server);
    // Redis calls an instance of under 5 MB empty. Strata's process is
    // bigger than that before it holds a key, so "empty" means no keys.
    let text = if f.keys == 0 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    };
    Ok(Reply::Verbatim("txt", Bytes::from_static(text.as_bytes())))
}

fn malloc_stats(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    // What Redis prints for an allocator other than jemalloc (Strata uses
    // mimalloc).
    Ok(Reply::Verbatim(
        "txt",
        Bytes::from_static(b"Stats not supported for the current allocator"),
    ))
}

fn purge(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Ok)
}

const HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(super::config::help_reply(HELP))
}
