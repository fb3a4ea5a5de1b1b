//! Keyspace ("generic" group) commands: DEL, EXISTS, TYPE, RENAME, KEYS,
//! SCAN, database-wide commands (DBSIZE, FLUSHDB, FLUSHALL, SWAPDB), MOVE,
//! COPY, OBJECT, and the expiry commands (EXPIRE family, TTL family,
//! PERSIST). Argument parsing and reply shapes live here; the work is done
//! in `types::keys`.
//!
//! Cross-database commands (MOVE, COPY DB) lock both keys in one
//! `WriteContext::lock_multi` call and commit one batch.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use bytes::Bytes;
use parking_lot::Mutex;

use super::args::{int, is};
use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::GENERIC as GENERIC_EV;
use crate::resp::parse::parse_i64;
use crate::resp::Reply;
use crate::types::keys::{self, ExpireCond, RenameOutcome};
use crate::types::{now_ms, KeyType};

const GENERIC: CommandSpec = CommandSpec {
    group: "generic",
    keys: KeySpec::ONE,
    ..CommandSpec::BASE
};

const SRC_DST: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

const OBJECT_KEY: KeySpec = KeySpec {
    first: 2,
    last: 2,
    step: 1,
};

static OBJECT_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "encoding",
        arity: 3,
        flags: READONLY,
        keys: OBJECT_KEY,
        since: "2.2.3",
        summary: "Inspect the internal encoding of a value",
        handler: Some(object_encoding),
        ..GENERIC
    },
    CommandSpec {
        name: "freq",
        arity: 3,
        flags: READONLY,
        keys: OBJECT_KEY,
        since: "4.0.0",
        summary: "Report the logarithmic access frequency counter of a value",
        handler: Some(object_freq),
        ..GENERIC
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        keys: KeySpec::NONE,
        since: "6.2.0",
        summary: "List the OBJECT subcommands",
        handler: Some(object_help),
        ..GENERIC
    },
    CommandSpec {
        name: "idletime",
        arity: 3,
        flags: READONLY,
        keys: OBJECT_KEY,
        since: "2.2.3",
        summary: "Report the seconds since a value was last accessed",
        handler: Some(object_idletime),
        ..GENERIC
    },
    CommandSpec {
        name: "refcount",
        arity: 3,
        flags: READONLY,
        keys: OBJECT_KEY,
        since: "2.2.3",
        summary: "Report the reference count of a value",
        handler: Some(object_refcount),
        ..GENERIC
    },
];

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "del",
        arity: -2,
        flags: WRITE,
        keys: KeySpec::ALL,
        summary: "Delete keys",
        complexity: "O(N) in the number of keys (each delete is O(1))",
        handler: Some(del),
        ..GENERIC
    },
    CommandSpec {
        name: "unlink",
        arity: -2,
        flags: WRITE | FAST,
        keys: KeySpec::ALL,
        since: "4.0.0",
        summary: "Delete keys (same as DEL: deletes are always O(1) here)",
        complexity: "O(N) in the number of keys",
        handler: Some(del),
        ..GENERIC
    },
    CommandSpec {
        name: "exists",
        arity: -2,
        flags: READONLY | FAST,
        keys: KeySpec::ALL,
        summary: "Count how many of the given keys exist",
        complexity: "O(N) in the number of keys",
        handler: Some(exists),
        ..GENERIC
    },
    CommandSpec {
        name: "touch",
        arity: -2,
        flags: READONLY | FAST,
        keys: KeySpec::ALL,
        since: "3.2.1",
        summary: "Count how many of the given keys exist (access time is not tracked)",
        complexity: "O(N) in the number of keys",
        handler: Some(exists),
        ..GENERIC
    },
    CommandSpec {
        name: "type",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Name the type of the value at a key",
        handler: Some(type_cmd),
        ..GENERIC
    },
    CommandSpec {
        name: "rename",
        arity: 3,
        flags: WRITE,
        keys: SRC_DST,
        summary: "Give a key a new name, replacing any key of that name",
        complexity: "O(1) for strings, O(N) in the elements of a collection",
        handler: Some(rename),
        ..GENERIC
    },
    CommandSpec {
        name: "renamenx",
        arity: 3,
        flags: WRITE | FAST,
        keys: SRC_DST,
        summary: "Give a key a new name unless that name is taken",
        complexity: "O(1) for strings, O(N) in the elements of a collection",
        handler: Some(renamenx),
        ..GENERIC
    },
    CommandSpec {
        name: "keys",
        arity: 2,
        flags: READONLY,
        keys: KeySpec::NONE,
        summary: "List the keys matching a glob pattern",
        complexity: "O(N) in the keys of the database",
        handler: Some(keys_cmd),
        ..GENERIC
    },
    CommandSpec {
        name: "scan",
        arity: -2,
        flags: READONLY,
        keys: KeySpec::NONE,
        since: "2.8.0",
        summary: "Walk the keys of the database a few at a time",
        complexity: "O(COUNT) per call, O(N) for a complete walk",
        handler: Some(scan),
        ..GENERIC
    },
    CommandSpec {
        name: "randomkey",
        arity: 1,
        flags: READONLY,
        keys: KeySpec::NONE,
        summary: "Return some key of the database",
        complexity: "O(log N)",
        handler: Some(randomkey),
        ..GENERIC
    },
    CommandSpec {
        name: "dbsize",
        arity: 1,
        flags: READONLY | FAST,
        keys: KeySpec::NONE,
        group: "server",
        summary: "Count the keys of the selected database",
        handler: Some(dbsize),
        ..GENERIC
    },
    CommandSpec {
        name: "flushdb",
        arity: -1,
        flags: WRITE | EXCLUSIVE,
        keys: KeySpec::NONE,
        group: "server",
        summary: "Delete every key of the selected database",
        complexity: "O(1) (range deletes)",
        handler: Some(flushdb),
        ..GENERIC
    },
    CommandSpec {
        name: "flushall",
        arity: -1,
        flags: WRITE | EXCLUSIVE,
        keys: KeySpec::NONE,
        group: "server",
        summary: "Delete every key of every database",
        complexity: "O(databases) (range deletes)",
        handler: Some(flushall),
        ..GENERIC
    },
    CommandSpec {
        name: "swapdb",
        arity: 3,
        flags: WRITE | FAST | EXCLUSIVE,
        keys: KeySpec::NONE,
        group: "server",
        since: "4.0.0",
        summary: "Exchange the contents of two databases",
        handler: Some(swapdb),
        ..GENERIC
    },
    CommandSpec {
        name: "move",
        arity: 3,
        flags: WRITE | FAST,
        summary: "Move a key to another database",
        complexity: "O(1) for strings, O(N) in the elements of a collection",
        handler: Some(move_cmd),
        ..GENERIC
    },
    CommandSpec {
        name: "copy",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: SRC_DST,
        since: "6.2.0",
        summary: "Copy the value of a key to another key, maybe in another database",
        complexity: "O(1) for strings, O(N) in the elements of a collection",
        handler: Some(copy),
        ..GENERIC
    },
    CommandSpec {
        name: "object",
        arity: -2,
        keys: KeySpec::NONE,
        since: "2.2.3",
        summary: "Inspect the internals of values",
        complexity: "Depends on the subcommand",
        subcommands: OBJECT_SUBCOMMANDS,
        ..GENERIC
    },
    CommandSpec {
        name: "expire",
        arity: -3,
        flags: WRITE | FAST,
        summary: "Set a key's time to live in seconds",
        handler: Some(expire),
        ..GENERIC
    },
    CommandSpec {
        name: "pexpire",
        arity: -3,
        flags: WRITE | FAST,
        since: "2.6.0",
        summary: "Set a key's time to live in milliseconds",
        handler: Some(expire),
        ..GENERIC
    },
    CommandSpec {
        name: "expireat",
        arity: -3,
        flags: WRITE | FAST,
        since: "1.2.0",
        summary: "Set a key's expiry as a unix time in seconds",
        handler: Some(expire),
        ..GENERIC
    },
    CommandSpec {
        name: "pexpireat",
        arity: -3,
        flags: WRITE | FAST,
        since: "2.6.0",
        summary: "Set a key's expiry as a unix time in milliseconds",
        handler: Some(expire),
        ..GENERIC
    },
    CommandSpec {
        name: "ttl",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Report a key's time to live in seconds",
        handler: Some(ttl),
        ..GENERIC
    },
    CommandSpec {
        name: "pttl",
        arity: 2,
        flags: READONLY | FAST,
        since: "2.6.0",
        summary: "Report a key's time to live in milliseconds",
        handler: Some(ttl),
        ..GENERIC
    },
    CommandSpec {
        name: "expiretime",
        arity: 2,
        flags: READONLY | FAST,
        since: "7.0.0",
        summary: "Report a key's expiry as a unix time in seconds",
        handler: Some(ttl),
        ..GENERIC
    },
    CommandSpec {
        name: "pexpiretime",
        arity: 2,
        flags: READONLY | FAST,
        since: "7.0.0",
        summary: "Report a key's expiry as a unix time in milliseconds",
        handler: Some(ttl),
        ..GENERIC
    },
    CommandSpec {
        name: "persist",
        arity: 2,
        flags: WRITE | FAST,
        since: "2.2.0",
        summary: "Remove a key's time to live",
        handler: Some(persist),
        ..GENERIC
    },
];

fn del(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.notifying(GENERIC_EV | crate::notify::EXPIRED) {
        // Redis's delGenericCommand, key by key: an expired key is expired
        // (its `expired` event), a live one gets `del`, a repeat nothing.
        let db = ctx.db();
        for (i, key) in argv[1..].iter().enumerate() {
            if argv[1..1 + i].contains(key) {
                continue;
            }
            if ctx.ks().get_live(db, key)?.is_some() {
                ctx.notify(GENERIC_EV, "del", key);
            }
        }
    }
    let (deleted, _) = keys::delete(ctx.ks(), ctx.db(), &argv[1..])?;
    Ok(Reply::Integer(deleted as i64))
}

/// EXISTS and TOUCH: every argument counts, duplicates included.
fn exists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for key in &argv[1..] {
        let found = ctx.ks().get_live(ctx.db(), key)?.is_some();
        ctx.server.stats.hit(found);
        n += found as i64;
    }
    Ok(Reply::Integer(n))
}

fn type_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let meta = ctx.ks().get_live(ctx.db(), &argv[1])?;
    ctx.server.stats.hit(meta.is_some());
    let name = meta.map_or("none", |m| m.kind.name());
    Ok(Reply::Status(Bytes::from_static(name.as_bytes())))
}

fn rename_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> CmdResult {
    ctx.expire_if_needed(&argv[1]);
    ctx.expire_if_needed(&argv[2]);
    match keys::rename(ctx.ks(), ctx.db(), &argv[1], &argv[2], nx)? {
        RenameOutcome::NoSuchKey => Err(CmdError::NoSuchKey),
        RenameOutcome::NotRenamed { same } if same && !nx => Ok(Reply::Ok),
        RenameOutcome::NotRenamed { .. } => Ok(Reply::Integer(0)),
        RenameOutcome::Renamed(_) => {
            // Redis's renameGenericCommand re-adds the value under the new
            // name (dbAdd: `new`), then notifies both names.
            ctx.notify(crate::notify::NEW, "new", &argv[2]);
            ctx.notify(GENERIC_EV, "rename_from", &argv[1]);
            ctx.notify(GENERIC_EV, "rename_to", &argv[2]);
            let db = ctx.db();
            ctx.key_ready(db, &argv[2]);
            Ok(if nx { Reply::Integer(1) } else { Reply::Ok })
        }
    }
}

fn rename(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, false)
}

fn renamenx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rename_generic(ctx, argv, true)
}

fn keys_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let found = keys::keys(ctx.ks(), ctx.db(), &argv[1])?;
    Ok(Reply::Array(found.into_iter().map(Reply::Bulk).collect()))
}

/// SCAN cursors. Keys are walked in byte order, so resuming needs the last
/// key examined; clients treat the cursor as a number, so the server keeps
/// a bounded table number -> last key. The oldest entries are forgotten
/// first; a forgotten or unknown cursor restarts the walk from the
/// beginning, which still returns every key present throughout the walk.
struct ScanCursors {
    by_id: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

const MAX_SCAN_CURSORS: usize = 16384;

fn scan_cursors() -> &'static Mutex<ScanCursors> {
    static CURSORS: OnceLock<Mutex<ScanCursors>> = OnceLock::new();
    CURSORS.get_or_init(|| {
        Mutex::new(ScanCursors {
            by_id: HashMap::new(),
            order: VecDeque::new(),
        })
    })
}

/// Issues a new nonzero cursor number for "resume after `key`" (also used
/// by the HSCAN family, whose positions are fields or members).
pub(crate) fn remember_cursor(key: Vec<u8>) -> u64 {
    // Start at a random point so cursors from before a restart are unlikely
    // to name a key of the new process.
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let next = NEXT.get_or_init(|| AtomicU64::new(rand::random::<u32>() as u64 + 1));
    let id = next.fetch_add(1, Ordering::Relaxed).max(1);
    let mut c = scan_cursors().lock();
    if c.order.len() >= MAX_SCAN_CURSORS {
        if let Some(old) = c.order.pop_front() {
            c.by_id.remove(&old);
        }
    }
    c.by_id.insert(id, key);
    c.order.push_back(id);
    id
}

/// The position a SCAN-family cursor resumes after: `None` for 0 and for a
/// forgotten or unknown cursor (which restart the walk).
pub(crate) fn cursor_position(cursor: u64) -> Option<Vec<u8>> {
    if cursor == 0 {
        return None;
    }
    scan_cursors().lock().by_id.get(&cursor).cloned()
}

/// A SCAN cursor as Redis parses it (`strtoul`): optional sign, digits, no
/// leading space; a negative number wraps; the empty string is 0.
pub(crate) fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (neg, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

/// The options of SCAN and its per-key cousins (HSCAN, SSCAN, ZSCAN): COUNT
/// and MATCH for all, TYPE for SCAN only. A COUNT is capped so one call's
/// work stays bounded however large the client asks.
pub(crate) struct ScanOptions<'a> {
    pub count: usize,
    /// `None` when every element matches (no MATCH, or `MATCH *`).
    pub pattern: Option<&'a [u8]>,
    /// SCAN's TYPE filter; `Some(None)` names an unknown type (matches nothing).
    pub kind: Option<Option<KeyType>>,
}

/// The most elements one SCAN-family call examines, whatever its COUNT.
const MAX_SCAN_COUNT: usize = 100_000;

impl<'a> ScanOptions<'a> {
    /// Parses `argv[from..]` as option/value pairs, with Redis's errors.
    pub(crate) fn parse(
        argv: &'a [Bytes],
        from: usize,
        allow_type: bool,
    ) -> Result<Self, CmdError> {
        let mut opts = ScanOptions {
            count: 10,
            pattern: None,
            kind: None,
        };
        let mut i = from;
        while i < argv.len() {
            let has_value = i + 1 < argv.len();
            if is(&argv[i], "count") && has_value {
                let n = int(&argv[i + 1])?;
                if n < 1 {
                    return Err(CmdError::Syntax);
                }
                opts.count = (n as usize).min(MAX_SCAN_COUNT);
            } else if is(&argv[i], "match") && has_value {
                opts.pattern = (argv[i + 1].as_ref() != b"*").then_some(&argv[i + 1][..]);
            } else if allow_type && is(&argv[i], "type") && has_value {
                // An unknown type name matches nothing, as in Redis 7.0.
                opts.kind = Some(KeyType::from_name(&argv[i + 1]));
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        Ok(opts)
    }
}

fn scan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[1]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let opts = ScanOptions::parse(argv, 2, true)?;
    let after = cursor_position(cursor);
    let page = keys::scan(
        ctx.ks(),
        ctx.db(),
        after.as_deref(),
        opts.count,
        opts.pattern,
        opts.kind,
    )?;
    let next = page.resume_after.map_or(0, remember_cursor);
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(page.keys.into_iter().map(Reply::Bulk).collect()),
    ]))
}

fn randomkey(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(keys::random_key(ctx.ks(), ctx.db())?))
}

fn dbsize(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.ks().dbsize(ctx.client.db) as i64))
}

/// The optional ASYNC / SYNC of FLUSHDB and FLUSHALL (both are the same
/// here: range deletes are cheap).
fn flush_mode_ok(argv: &[Bytes]) -> Result<(), CmdError> {
    match argv.len() {
        1 => Ok(()),
        2 if is(&argv[1], "sync") || is(&argv[1], "async") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    flush_mode_ok(argv)?;
    let db = ctx.db();
    ctx.server.watches.touch_existing(&ctx.server.ks, &[db]);
    ctx.ks().flush_physical(db);
    // Propagated even when the database was already empty, as in Redis.
    ctx.propagate(argv.to_vec());
    Ok(Reply::Ok)
}

/// FLUSHALL: every database emptied in one unit, so one batch.
fn flushall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    flush_mode_ok(argv)?;
    let w = ctx.ks();
    let dbs: Vec<u8> = (0..w.databases()).map(|l| w.physical(l)).collect();
    ctx.server.watches.touch_existing(&ctx.server.ks, &dbs);
    for db in dbs {
        w.flush_physical(db);
    }
    ctx.propagate(argv.to_vec());
    Ok(Reply::Ok)
}

/// Redis's `getIntFromObjectOrReply`: a 32-bit integer, with `msg` (or the
/// standard texts) as the error.
fn int32(arg: &[u8], msg: Option<&str>) -> Result<i64, CmdError> {
    let err = |standard: CmdError| msg.map_or(standard, CmdError::msg);
    let v = parse_i64(arg).ok_or_else(|| err(CmdError::NotInteger))?;
    if v < i32::MIN as i64 || v > i32::MAX as i64 {
        return Err(err(CmdError::msg(
            "ERR value is out of range, value must between -2147483648 and 2147483647",
        )));
    }
    Ok(v)
}

/// The key MOVE or COPY ... DB writes in another database, with that
/// database's logical index, when the arguments name a valid one. The
/// dispatcher locks it together with the declared keys: taken later by the
/// handler, its stripe could sit below one already held and close a cycle
/// with another client moving the other way.
pub(crate) fn other_db_key<'b>(
    name: &str,
    argv: &'b [Bytes],
    databases: usize,
) -> Option<(usize, &'b [u8])> {
    let (db_arg, key) = match name {
        "move" => (argv.get(2)?, argv.get(1)?),
        "copy" => {
            // The last DB option wins, as in the handler.
            let at = argv.iter().skip(3).rposition(|a| is(a, "db"))? + 3;
            (argv.get(at + 1)?, argv.get(2)?)
        }
        _ => return None,
    };
    let db = usize::try_from(parse_i64(db_arg)?).ok()?;
    (db < databases).then_some((db, &key[..]))
}

/// A logical database index given as a MOVE/COPY/SWAPDB argument.
fn db_arg(ctx: &Ctx<'_>, arg: &[u8], msg: Option<&str>) -> Result<usize, CmdError> {
    let v = int32(arg, msg)?;
    if v < 0 || v as usize >= ctx.ks().databases() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(v as usize)
}

fn swapdb(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = int32(&argv[1], Some("ERR invalid first DB index"))?;
    let b = int32(&argv[2], Some("ERR invalid second DB index"))?;
    let n = ctx.ks().databases() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return Err(CmdError::DbIndexOutOfRange);
    }
    if a != b {
        let dbs = [ctx.ks().physical(a as usize), ctx.ks().physical(b as usize)];
        ctx.server.watches.touch_existing(&ctx.server.ks, &dbs);
        ctx.ks().swap_databases(a as usize, b as usize);
    }
    // Redis counts SWAPDB as a change even for one database, so it propagates.
    ctx.propagate(argv.to_vec());
    Ok(Reply::Ok)
}

const SAME_OBJECT: &str = "ERR source and destination objects are the same";

fn move_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let dst = db_arg(ctx, &argv[2], None)?;
    if dst == ctx.client.db {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let dst_db = dst;
    let dst = ctx.ks().physical(dst);
    match keys::move_key(ctx.ks(), ctx.db(), dst, &argv[1])? {
        Some(_) => {
            ctx.notify_in(crate::notify::NEW, "new", dst_db, &argv[1]);
            ctx.notify(GENERIC_EV, "move_from", &argv[1]);
            ctx.notify_in(GENERIC_EV, "move_to", dst_db, &argv[1]);
            ctx.key_ready(dst, &argv[1]);
            Ok(Reply::Integer(1))
        }
        None => Ok(Reply::Integer(0)),
    }
}

fn copy(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < argv.len() {
        if is(&argv[i], "replace") {
            replace = true;
        } else if is(&argv[i], "db") && i + 1 < argv.len() {
            dst_db = db_arg(ctx, &argv[i + 1], None)?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if dst_db == ctx.client.db && argv[1] == argv[2] {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let dst = ctx.ks().physical(dst_db);
    let done = keys::copy(ctx.ks(), ctx.db(), dst, &argv[1], &argv[2], replace)?;
    // COPY reads its source like a read command: count the hit or miss. A
    // missing source is the only way to get 0 besides an existing target.
    let source_found = done.is_some() || ctx.ks().get_live(ctx.db(), &argv[1])?.is_some();
    ctx.server.stats.hit(source_found);
    match done {
        Some(_) => {
            ctx.notify_in(crate::notify::NEW, "new", dst_db, &argv[2]);
            ctx.notify_in(GENERIC_EV, "copy_to", dst_db, &argv[2]);
            ctx.key_ready(dst, &argv[2]);
            Ok(Reply::Integer(1))
        }
        None => Ok(Reply::Integer(0)),
    }
}

/// The key an OBJECT subcommand inspects, counting the hit or miss.
fn object_lookup(
    ctx: &mut Ctx<'_>,
    key: &[u8],
) -> Result<Option<crate::types::Metadata>, CmdError> {
    let meta = ctx.ks().get_live(ctx.db(), key)?;
    ctx.server.stats.hit(meta.is_some());
    Ok(meta)
}

fn lfu_policy(ctx: &Ctx<'_>) -> bool {
    ctx.server
        .config
        .get("maxmemory-policy")
        .is_some_and(|p| p.ends_with("-lfu"))
}

fn object_encoding(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(match object_lookup(ctx, &argv[2])? {
        Some(m) => Reply::bulk_str(keys::encoding_name(&m)),
        None => Reply::Nil,
    })
}

fn object_refcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(match object_lookup(ctx, &argv[2])? {
        Some(m) => Reply::Integer(keys::refcount(&m)),
        None => Reply::Nil,
    })
}

/// Strata does not track access times: a present key reports 0 seconds.
fn object_idletime(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if object_lookup(ctx, &argv[2])?.is_none() {
        return Ok(Reply::Nil);
    }
    if lfu_policy(ctx) {
        return Err(CmdError::msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    Ok(Reply::Integer(0))
}

/// Strata does not track access frequency: under an LFU policy a present
/// key reports 0; otherwise the error Redis gives.
fn object_freq(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if object_lookup(ctx, &argv[2])?.is_none() {
        return Ok(Reply::Nil);
    }
    if !lfu_policy(ctx) {
        return Err(CmdError::msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
    }
    Ok(Reply::Integer(0))
}

fn object_help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    const LINES: &[&str] = &[
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Name the internal representation Redis would use for the value at <key>.",
        "FREQ <key>",
        "    Access frequency of <key> (needs an LFU maxmemory-policy; always 0 in Strata).",
        "IDLETIME <key>",
        "    Seconds since <key> was last accessed (not tracked by Strata: always 0).",
        "REFCOUNT <key>",
        "    Number of references to the value at <key>.",
        "HELP",
        "    Print this help.",
    ];
    Ok(Reply::Array(
        LINES
            .iter()
            .map(|l| Reply::Status(Bytes::from_static(l.as_bytes())))
            .collect(),
    ))
}

/// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT.
fn expire(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = ctx.cmd.spec.name;
    let seconds = !name.starts_with('p');
    let relative = !name.ends_with("at");
    let mut cond = ExpireCond::default();
    for opt in &argv[3..] {
        if is(opt, "nx") {
            cond.nx = true;
        } else if is(opt, "xx") {
            cond.xx = true;
        } else if is(opt, "gt") {
            cond.gt = true;
        } else if is(opt, "lt") {
            cond.lt = true;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if cond.nx && (cond.xx || cond.gt || cond.lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if cond.gt && cond.lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{name}' command"));
    let mut when = int(&argv[2])?;
    if seconds {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    if relative {
        when = when
            .checked_add(ctx.w.now_ms() as i64)
            .ok_or_else(invalid)?;
    }
    match keys::expire(ctx.ks(), ctx.db(), &argv[1], when, cond)? {
        Some(_) => {
            // Replicated as PEXPIREAT (options kept), or as the deletion
            // when the time is already past, as Redis 7.0 does.
            let past = when <= ctx.w.now_ms() as i64;
            ctx.notify(GENERIC_EV, if past { "del" } else { "expire" }, &argv[1]);
            let propagated = if past {
                let lazy = ctx.server.ks.lazyfree_expire.load(Ordering::Relaxed);
                let del: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
                vec![Bytes::from_static(del), argv[1].clone()]
            } else {
                let mut v = argv.to_vec();
                v[0] = Bytes::from_static(b"PEXPIREAT");
                v[2] = Bytes::from(when.to_string());
                v
            };
            ctx.propagate(propagated);
            Ok(Reply::Integer(1))
        }
        None => Ok(Reply::Integer(0)),
    }
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 without expiry.
fn ttl(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = ctx.cmd.spec.name;
    let meta = ctx.ks().get_live(ctx.db(), &argv[1])?;
    ctx.server.stats.hit(meta.is_some());
    let Some(meta) = meta else {
        return Ok(Reply::Integer(-2));
    };
    if meta.expire_ms == 0 {
        return Ok(Reply::Integer(-1));
    }
    let ms = if name.ends_with("time") {
        meta.expire_ms as i64
    } else {
        (meta.expire_ms as i64 - now_ms() as i64).max(0)
    };
    let in_ms = name.starts_with('p');
    Ok(Reply::Integer(if in_ms { ms } else { (ms + 500) / 1000 }))
}

fn persist(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match keys::persist(ctx.ks(), ctx.db(), &argv[1])? {
        Some(_) => {
            ctx.notify(GENERIC_EV, "persist", &argv[1]);
            Ok(Reply::Integer(1))
        }
        None => Ok(Reply::Integer(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b" 5"), None);
        assert_eq!(parse_cursor(b"x"), None);
        assert_eq!(parse_cursor(b"-"), None);
    }

    #[test]
    fn cursor_table_is_bounded() {
        let first = remember_cursor(b"a".to_vec());
        for _ in 0..MAX_SCAN_CURSORS {
            remember_cursor(b"b".to_vec());
        }
        let c = scan_cursors().lock();
        assert!(c.by_id.len() <= MAX_SCAN_CURSORS);
        assert!(!c.by_id.contains_key(&first));
    }
}
