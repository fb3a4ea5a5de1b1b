//! Hash commands: argument parsing and replies for the hash family, with
//! Redis 7.0's argument order of checks and error texts. The data work is in
//! `types::hash`.

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::keys::{cursor_position, parse_cursor, remember_cursor, ScanOptions};
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::HASH as HASH_EV;
use crate::resp::{Reply, RespVersion};
use crate::types::hash::{self, ListpackLimits, Parts};
use crate::types::string::{long_double_add, long_double_valid, FloatAddError};
use crate::types::{Metadata, TypeError};

const HASH: CommandSpec = CommandSpec {
    group: "hash",
    keys: KeySpec::ONE,
    since: "2.0.0",
    ..CommandSpec::BASE
};

/// Most elements one HRANDFIELD with a negative count may return. Redis has
/// no bound (a huge count runs it out of memory); Strata answers
/// `ERR value is out of range` instead.
const MAX_RANDOM_REPLY: u64 = 1 << 24;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "hset",
        arity: -4,
        flags: WRITE | DENYOOM | FAST,
        summary: "Set the string value of a hash field",
        complexity: "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        handler: Some(hset),
        ..HASH
    },
    CommandSpec {
        name: "hsetnx",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        summary: "Set the value of a hash field, only if the field does not exist",
        handler: Some(hsetnx),
        ..HASH
    },
    CommandSpec {
        name: "hget",
        arity: 3,
        flags: READONLY | FAST,
        summary: "Get the value of a hash field",
        handler: Some(hget),
        ..HASH
    },
    CommandSpec {
        name: "hmget",
        arity: -3,
        flags: READONLY | FAST,
        summary: "Get the values of all the given hash fields",
        complexity: "O(N) where N is the number of fields being requested.",
        handler: Some(hmget),
        ..HASH
    },
    CommandSpec {
        name: "hmset",
        arity: -4,
        flags: WRITE | DENYOOM | FAST,
        summary: "Set multiple hash fields to multiple values",
        complexity: "O(N) where N is the number of fields being set.",
        handler: Some(hmset),
        ..HASH
    },
    CommandSpec {
        name: "hdel",
        arity: -3,
        flags: WRITE | FAST,
        summary: "Delete one or more hash fields",
        complexity: "O(N) where N is the number of fields to be removed.",
        handler: Some(hdel),
        ..HASH
    },
    CommandSpec {
        name: "hlen",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Get the number of fields in a hash",
        handler: Some(hlen),
        ..HASH
    },
    CommandSpec {
        name: "hstrlen",
        arity: 3,
        flags: READONLY | FAST,
        since: "3.2.0",
        summary: "Get the length of the value of a hash field",
        handler: Some(hstrlen),
        ..HASH
    },
    CommandSpec {
        name: "hexists",
        arity: 3,
        flags: READONLY | FAST,
        summary: "Determine if a hash field exists",
        handler: Some(hexists),
        ..HASH
    },
    CommandSpec {
        name: "hkeys",
        arity: 2,
        flags: READONLY,
        summary: "Get all the fields in a hash",
        complexity: "O(N) where N is the size of the hash.",
        handler: Some(hkeys),
        ..HASH
    },
    CommandSpec {
        name: "hvals",
        arity: 2,
        flags: READONLY,
        summary: "Get all the values in a hash",
        complexity: "O(N) where N is the size of the hash.",
        handler: Some(hvals),
        ..HASH
    },
    CommandSpec {
        name: "hgetall",
        arity: 2,
        flags: READONLY,
        summary: "Get all the fields and values in a hash",
        complexity: "O(N) where N is the size of the hash.",
        handler: Some(hgetall),
        ..HASH
    },
    CommandSpec {
        name: "hincrby",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        summary: "Increment the integer value of a hash field by the given number",
        handler: Some(hincrby),
        ..HASH
    },
    CommandSpec {
        name: "hincrbyfloat",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        since: "2.6.0",
        summary: "Increment the float value of a hash field by the given amount",
        handler: Some(hincrbyfloat),
        ..HASH
    },
    CommandSpec {
        name: "hrandfield",
        arity: -2,
        flags: READONLY,
        since: "6.2.0",
        summary: "Get one or multiple random fields from a hash",
        complexity: "O(N) where N is the number of fields returned",
        handler: Some(hrandfield),
        ..HASH
    },
    CommandSpec {
        name: "hscan",
        arity: -3,
        flags: READONLY,
        since: "2.8.0",
        summary: "Incrementally iterate hash fields and associated values",
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
        handler: Some(hscan),
        ..HASH
    },
];

/// The live hash at `key`, counting the keyspace hit or miss as Redis's
/// `lookupKeyRead` does (a key of another type is a hit, then WRONGTYPE).
fn lookup(ctx: &Ctx<'_>, key: &[u8]) -> Result<Option<Metadata>, CmdError> {
    let r = hash::lookup(ctx.ks(), ctx.db(), key);
    match &r {
        Ok(m) => ctx.server.stats.hit(m.is_some()),
        Err(TypeError::WrongType) => ctx.server.stats.hit(true),
        Err(_) => {}
    }
    Ok(r?)
}

/// The current `hash-max-listpack-*` settings.
fn limits(ctx: &Ctx<'_>) -> ListpackLimits {
    super::encoding_limits(&ctx.server.config).hash
}

/// HSET and HMSET: the field-value pairs after the key.
fn set_pairs(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> Result<u64, CmdError> {
    if argv.len() % 2 != 0 {
        return Err(ctx.wrong_arity());
    }
    let pairs: Vec<(Bytes, Bytes)> = argv[2..]
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    let missing = ctx.missing_for_new(&argv[1]);
    let (added, _) = hash::set(ctx.ks(), ctx.db(), &argv[1], &pairs, limits(ctx))?;
    ctx.notify_new(missing, &argv[1]);
    ctx.notify(HASH_EV, "hset", &argv[1]);
    Ok(added)
}

fn hset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(set_pairs(ctx, argv)? as i64))
}

fn hmset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_pairs(ctx, argv)?;
    Ok(Reply::Ok)
}

fn hsetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let limits = limits(ctx);
    let missing = ctx.missing_for_new(&argv[1]);
    let (set, _) = hash::set_if_missing(ctx.ks(), ctx.db(), &argv[1], &argv[2], &argv[3], limits)?;
    if set {
        ctx.notify_new(missing, &argv[1]);
        ctx.notify(HASH_EV, "hset", &argv[1]);
    }
    Ok(Reply::Integer(set as i64))
}

/// The value of one field (`None` when the key or the field is missing).
fn field_value(ctx: &Ctx<'_>, argv: &[Bytes]) -> Result<Option<Bytes>, CmdError> {
    match lookup(ctx, &argv[1])? {
        Some(meta) => Ok(hash::get(ctx.ks(), ctx.db(), &argv[1], &meta, &argv[2])?),
        None => Ok(None),
    }
}

fn hget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(field_value(ctx, argv)?))
}

fn hstrlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(
        field_value(ctx, argv)?.map_or(0, |v| v.len() as i64),
    ))
}

fn hexists(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(field_value(ctx, argv)?.is_some() as i64))
}

fn hmget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let fields = &argv[2..];
    let values = match lookup(ctx, &argv[1])? {
        Some(meta) => hash::mget(ctx.ks(), ctx.db(), &argv[1], &meta, fields)?,
        None => vec![None; fields.len()],
    };
    Ok(Reply::Array(
        values.into_iter().map(Reply::opt_bulk).collect(),
    ))
}

fn hdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (removed, _) = hash::delete(ctx.ks(), ctx.db(), &argv[1], &argv[2..])?;
    if removed > 0 {
        ctx.notify(HASH_EV, "hdel", &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    Ok(Reply::Integer(removed as i64))
}

fn hlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let meta = lookup(ctx, &argv[1])?;
    Ok(Reply::Integer(meta.map_or(0, |m| m.size as i64)))
}

/// The pairs of a whole hash (empty for a missing key).
fn whole(ctx: &Ctx<'_>, key: &[u8], parts: Parts) -> Result<Vec<(Bytes, Bytes)>, CmdError> {
    match lookup(ctx, key)? {
        Some(meta) => Ok(hash::get_all(ctx.ks(), ctx.db(), key, &meta, parts)?),
        None => Ok(Vec::new()),
    }
}

fn hkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pairs = whole(ctx, &argv[1], Parts::Fields)?;
    Ok(Reply::Array(
        pairs.into_iter().map(|(f, _)| Reply::Bulk(f)).collect(),
    ))
}

fn hvals(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pairs = whole(ctx, &argv[1], Parts::Values)?;
    Ok(Reply::Array(
        pairs.into_iter().map(|(_, v)| Reply::Bulk(v)).collect(),
    ))
}

/// HGETALL: a map in RESP3, a flat field, value, ... array in RESP2.
fn hgetall(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pairs = whole(ctx, &argv[1], Parts::Both)?;
    Ok(Reply::Map(
        pairs
            .into_iter()
            .map(|(f, v)| (Reply::Bulk(f), Reply::Bulk(v)))
            .collect(),
    ))
}

fn hincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let delta = int(&argv[3])?;
    let limits = limits(ctx);
    let missing = ctx.missing_for_new(&argv[1]);
    let (n, _) = hash::incr_by(ctx.ks(), ctx.db(), &argv[1], &argv[2], delta, limits)?;
    ctx.notify_new(missing, &argv[1]);
    ctx.notify(HASH_EV, "hincrby", &argv[1]);
    Ok(Reply::Integer(n))
}

fn hincrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let incr = &argv[3];
    if !long_double_valid(incr) {
        return Err(CmdError::NotFloat);
    }
    // A valid increment that makes 0 infinite is itself infinite.
    if long_double_add(b"0", incr) == Err(FloatAddError::NotFinite) {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let limits = limits(ctx);
    let missing = ctx.missing_for_new(&argv[1]);
    let (v, _) = hash::incr_by_float(ctx.ks(), ctx.db(), &argv[1], &argv[2], incr, limits)?;
    ctx.notify_new(missing, &argv[1]);
    ctx.notify(HASH_EV, "hincrbyfloat", &argv[1]);
    // Replicated as the value it produced.
    ctx.propagate(vec![
        Bytes::from_static(b"HSET"),
        argv[1].clone(),
        argv[2].clone(),
        v.clone(),
    ]);
    Ok(Reply::Bulk(v))
}

/// HRANDFIELD key [count [WITHVALUES]], checked in Redis's order: the count,
/// then the syntax, then the WITHVALUES range, then the key.
fn hrandfield(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        let Some(meta) = lookup(ctx, &argv[1])? else {
            return Ok(Reply::Nil);
        };
        let mut pick = hash::random_fields(ctx.ks(), ctx.db(), &argv[1], &meta, 1, false)?;
        return Ok(Reply::opt_bulk(pick.pop().map(|(f, _)| f)));
    }
    let count = int(&argv[2])?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if argv.len() > 4 || (argv.len() == 4 && !is(&argv[3], "withvalues")) {
        return Err(CmdError::Syntax);
    }
    let with_values = argv.len() == 4;
    let out_of_range = || CmdError::msg("ERR value is out of range");
    if with_values && !(i64::MIN / 2..=i64::MAX / 2).contains(&count) {
        return Err(out_of_range());
    }
    let Some(meta) = lookup(ctx, &argv[1])? else {
        return Ok(Reply::Array(Vec::new()));
    };
    if count < 0 && count.unsigned_abs().saturating_mul(1 + with_values as u64) > MAX_RANDOM_REPLY {
        return Err(out_of_range());
    }
    let picks = hash::random_fields(ctx.ks(), ctx.db(), &argv[1], &meta, count, with_values)?;
    let resp3 = ctx.client.resp == RespVersion::Resp3;
    let mut items = Vec::with_capacity(picks.len() * (1 + with_values as usize));
    for (f, v) in picks {
        match (with_values, resp3) {
            (false, _) => items.push(Reply::Bulk(f)),
            (true, true) => items.push(Reply::Array(vec![Reply::Bulk(f), Reply::Bulk(v)])),
            (true, false) => {
                items.push(Reply::Bulk(f));
                items.push(Reply::Bulk(v));
            }
        }
    }
    Ok(Reply::Array(items))
}

fn scan_reply(cursor: u64, items: Vec<Reply>) -> Reply {
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(cursor.to_string())),
        Reply::Array(items),
    ])
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. As in Redis, the cursor is
/// checked first, a missing key answers an empty page before the options
/// are read, and a key of another type is WRONGTYPE.
fn hscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[2]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let Some(meta) = lookup(ctx, &argv[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let ScanOptions { count, pattern, .. } = ScanOptions::parse(argv, 3, false)?;
    // An unknown or forgotten cursor restarts the walk (every field present
    // throughout is still returned).
    let after = cursor_position(cursor);
    let page = hash::scan(
        ctx.ks(),
        ctx.db(),
        &argv[1],
        &meta,
        after.as_deref(),
        count,
        pattern,
    )?;
    let next = page.resume_after.map_or(0, remember_cursor);
    let mut items = Vec::with_capacity(page.pairs.len() * 2);
    for (f, v) in page.pairs {
        items.push(Reply::Bulk(f));
        items.push(Reply::Bulk(v));
    }
    Ok(scan_reply(next, items))
}
