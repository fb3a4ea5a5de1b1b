//! Set commands: argument parsing and replies for the set family, with
//! Redis 7.0's argument checks, error texts and reply shapes (RESP3 set
//! replies where Redis sends them). The data work is in `types::set` and
//! `types::set_algebra`.

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::keys::{cursor_position, parse_cursor, remember_cursor, ScanOptions};
use super::{count_lookup, count_reads, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::SET as SET_EV;
use crate::resp::Reply;
use crate::types::set_algebra::{self, SetOp};
use crate::types::{set, KeyType};

const SET: CommandSpec = CommandSpec {
    group: "set",
    keys: KeySpec::ONE,
    ..CommandSpec::BASE
};

const SOURCES: CommandSpec = CommandSpec {
    keys: KeySpec::ALL,
    complexity: "O(N) where N is the total number of elements in all given sets",
    ..SET
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "sadd",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Add one or more members to a set",
        complexity: "O(1) for each member added",
        handler: Some(sadd),
        ..SET
    },
    CommandSpec {
        name: "srem",
        arity: -3,
        flags: WRITE | FAST,
        summary: "Remove one or more members from a set",
        complexity: "O(N) where N is the number of members to be removed",
        handler: Some(srem),
        ..SET
    },
    CommandSpec {
        name: "scard",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Get the number of members in a set",
        handler: Some(scard),
        ..SET
    },
    CommandSpec {
        name: "sismember",
        arity: 3,
        flags: READONLY | FAST,
        summary: "Determine if a given value is a member of a set",
        handler: Some(sismember),
        ..SET
    },
    CommandSpec {
        name: "smismember",
        arity: -3,
        flags: READONLY | FAST,
        since: "6.2.0",
        summary: "Returns the membership associated with the given elements for a set",
        complexity: "O(N) where N is the number of elements being checked for membership",
        handler: Some(smismember),
        ..SET
    },
    CommandSpec {
        name: "smembers",
        arity: 2,
        flags: READONLY,
        summary: "Get all the members in a set",
        complexity: "O(N) where N is the set cardinality.",
        handler: Some(smembers),
        ..SET
    },
    CommandSpec {
        name: "srandmember",
        arity: -2,
        flags: READONLY,
        summary: "Get one or multiple random members from a set",
        complexity: "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        handler: Some(srandmember),
        ..SET
    },
    CommandSpec {
        name: "spop",
        arity: -2,
        flags: WRITE | FAST,
        summary: "Remove and return one or multiple random members from a set",
        complexity: "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        handler: Some(spop),
        ..SET
    },
    CommandSpec {
        name: "smove",
        arity: 4,
        flags: WRITE | FAST,
        keys: KeySpec {
            first: 1,
            last: 2,
            step: 1,
        },
        summary: "Move a member from one set to another",
        handler: Some(smove),
        ..SET
    },
    CommandSpec {
        name: "sinter",
        arity: -2,
        flags: READONLY,
        summary: "Intersect multiple sets",
        complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        handler: Some(sinter),
        ..SOURCES
    },
    CommandSpec {
        name: "sintercard",
        arity: -3,
        flags: READONLY | MOVABLEKEYS,
        // The keys follow numkeys (Redis: movablekeys, no first/last/step).
        keys: KeySpec::NONE,
        since: "7.0.0",
        summary: "Intersect multiple sets and return the cardinality of the result",
        complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        handler: Some(sintercard),
        numkeys_at: Some(1),
        ..SET
    },
    CommandSpec {
        name: "sinterstore",
        arity: -3,
        flags: WRITE | DENYOOM,
        summary: "Intersect multiple sets and store the resulting set in a key",
        complexity: "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        handler: Some(sinterstore),
        ..SOURCES
    },
    CommandSpec {
        name: "sunion",
        arity: -2,
        flags: READONLY,
        summary: "Add multiple sets",
        handler: Some(sunion),
        ..SOURCES
    },
    CommandSpec {
        name: "sunionstore",
        arity: -3,
        flags: WRITE | DENYOOM,
        summary: "Add multiple sets and store the resulting set in a key",
        handler: Some(sunionstore),
        ..SOURCES
    },
    CommandSpec {
        name: "sdiff",
        arity: -2,
        flags: READONLY,
        summary: "Subtract multiple sets",
        handler: Some(sdiff),
        ..SOURCES
    },
    CommandSpec {
        name: "sdiffstore",
        arity: -3,
        flags: WRITE | DENYOOM,
        summary: "Subtract multiple sets and store the resulting set in a key",
        handler: Some(sdiffstore),
        ..SOURCES
    },
    CommandSpec {
        name: "sscan",
        arity: -3,
        flags: READONLY,
        since: "2.8.0",
        summary: "Incrementally iterate Set elements",
        complexity: "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection..",
        handler: Some(sscan),
        ..SET
    },
];

/// The live `set-max-intset-entries`: how big a set of integers may grow
/// before it reports the hashtable encoding.
fn max_intset(ctx: &Ctx<'_>) -> u64 {
    super::encoding_limits(&ctx.server.config).set_max_intset_entries
}

fn bulks(members: Vec<Bytes>) -> Vec<Reply> {
    members.into_iter().map(Reply::Bulk).collect()
}

fn sadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let missing = ctx.missing_for_new(&argv[1]);
    let (added, _) = set::sadd(ctx.ks(), ctx.db(), &argv[1], &argv[2..], max_intset(ctx))?;
    if added > 0 {
        ctx.notify_new(missing, &argv[1]);
        ctx.notify(SET_EV, "sadd", &argv[1]);
    }
    Ok(Reply::Integer(added as i64))
}

fn srem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (removed, _) = set::srem(ctx.ks(), ctx.db(), &argv[1], &argv[2..])?;
    if removed > 0 {
        ctx.notify(SET_EV, "srem", &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    Ok(Reply::Integer(removed as i64))
}

fn scard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = set::scard(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r, Option::is_some);
    Ok(Reply::Integer(r?.unwrap_or(0) as i64))
}

fn sismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = set::smismember(ctx.ks(), ctx.db(), &argv[1], &argv[2..3]);
    count_lookup(ctx, &r, Option::is_some);
    let found = r?.is_some_and(|v| v.first() == Some(&true));
    Ok(Reply::Integer(found as i64))
}

fn smismember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = set::smismember(ctx.ks(), ctx.db(), &argv[1], &argv[2..]);
    count_lookup(ctx, &r, Option::is_some);
    let found = r?.unwrap_or_else(|| vec![false; argv.len() - 2]);
    Ok(Reply::Array(
        found
            .into_iter()
            .map(|f| Reply::Integer(f as i64))
            .collect(),
    ))
}

fn smembers(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = set::smembers(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r, Option::is_some);
    Ok(Reply::Set(bulks(r?.unwrap_or_default())))
}

fn srandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    match argv.len() {
        2 => {
            let r = set::srandmember(ctx.ks(), ctx.db(), &argv[1]);
            count_lookup(ctx, &r, Option::is_some);
            Ok(Reply::opt_bulk(r?))
        }
        3 => {
            let count = int(&argv[2])?;
            if count == i64::MIN {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            let r = set::srandmember_count(ctx.ks(), ctx.db(), &argv[1], count);
            count_lookup(ctx, &r, Option::is_some);
            Ok(Reply::Array(bulks(r?.unwrap_or_default())))
        }
        _ => Err(CmdError::Syntax),
    }
}

fn spop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = match argv.len() {
        2 => None,
        3 => match int(&argv[2]) {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        },
        _ => return Err(CmdError::Syntax),
    };
    let size_before = set::scard(ctx.ks(), ctx.db(), &argv[1])?.unwrap_or(0);
    let (popped, _) = set::spop(
        ctx.ks(),
        ctx.db(),
        &argv[1],
        count.unwrap_or(1),
        max_intset(ctx),
    )?;
    if popped.as_ref().is_some_and(|p| !p.is_empty()) {
        ctx.notify(SET_EV, "spop", &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    propagate_spop(ctx, &argv[1], count, size_before, popped.as_deref());
    Ok(match count {
        None => Reply::opt_bulk(popped.and_then(|mut v| v.pop())),
        Some(_) => Reply::Set(bulks(popped.unwrap_or_default())),
    })
}

/// SPOP replicates what it took: `SREM key member` (in batches of 1024
/// members), or the deletion of the whole set when the count covers it, as
/// Redis 7.0 does.
fn propagate_spop(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    count: Option<u64>,
    size_before: u64,
    popped: Option<&[Bytes]>,
) {
    let Some(popped) = popped.filter(|p| !p.is_empty()) else {
        return;
    };
    if count.is_some_and(|c| c >= size_before) {
        let lazy = ctx.server.config.settings().lazyfree_lazy_server_del;
        let del: &'static [u8] = if lazy { b"UNLINK" } else { b"DEL" };
        ctx.propagate(vec![Bytes::from_static(del), key.clone()]);
        return;
    }
    for batch in popped.chunks(1024) {
        let mut argv = vec![Bytes::from_static(b"SREM"), key.clone()];
        argv.extend(batch.iter().cloned());
        ctx.propagate(argv);
    }
}

fn smove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    // Redis's smoveCommand: `srem` (and `del`) on the source, then `new`
    // and `sadd` on the destination unless it had the member already.
    let (src, dst, member) = (&argv[1], &argv[2], &argv[3]);
    let missing = ctx.missing_for_new(dst);
    let dst_had = ctx.notifying(SET_EV)
        && matches!(
            set::smismember(ctx.ks(), ctx.db(), dst, std::slice::from_ref(member)),
            Ok(Some(v)) if v.first() == Some(&true)
        );
    let (moved, _) = set_algebra::smove(
        ctx.ks(),
        ctx.db(),
        &argv[1],
        &argv[2],
        &argv[3],
        max_intset(ctx),
    )?;
    if moved && src != dst {
        ctx.notify(SET_EV, "srem", src);
        ctx.notify_del_if_gone(src);
        ctx.notify_new(missing, dst);
        if !dst_had {
            ctx.notify(SET_EV, "sadd", dst);
        }
    }
    Ok(Reply::Integer(moved as i64))
}

fn set_op(ctx: &mut Ctx<'_>, keys: &[Bytes], op: SetOp) -> CmdResult {
    count_reads(ctx, keys, &[KeyType::Set]);
    let members = set_algebra::set_op(ctx.ks(), ctx.db(), op, keys)?;
    Ok(Reply::Set(bulks(members)))
}

fn set_op_store(ctx: &mut Ctx<'_>, argv: &[Bytes], op: SetOp) -> CmdResult {
    count_reads(ctx, &argv[2..], &[KeyType::Set]);
    ctx.expire_if_needed(&argv[1]);
    let missing = ctx.missing_for_new(&argv[1]);
    let existed = ctx.notifying(crate::notify::GENERIC)
        && matches!(ctx.ks().get_live(ctx.db(), &argv[1]), Ok(Some(_)));
    let (size, _) = set_algebra::set_op_store(
        ctx.ks(),
        ctx.db(),
        op,
        &argv[1],
        &argv[2..],
        max_intset(ctx),
    )?;
    if size > 0 {
        let event = match op {
            SetOp::Inter => "sinterstore",
            SetOp::Union => "sunionstore",
            SetOp::Diff => "sdiffstore",
        };
        ctx.notify_new(missing, &argv[1]);
        ctx.notify(SET_EV, event, &argv[1]);
    } else if existed {
        ctx.notify(crate::notify::GENERIC, "del", &argv[1]);
    }
    Ok(Reply::Integer(size as i64))
}

fn sinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_op(ctx, &argv[1..], SetOp::Inter)
}

fn sunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_op(ctx, &argv[1..], SetOp::Union)
}

fn sdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_op(ctx, &argv[1..], SetOp::Diff)
}

fn sinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_op_store(ctx, argv, SetOp::Inter)
}

fn sunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_op_store(ctx, argv, SetOp::Union)
}

fn sdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    set_op_store(ctx, argv, SetOp::Diff)
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let numkeys = match int(&argv[1]) {
        Ok(n) if n > 0 => n as u64,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    if numkeys > (argv.len() - 2) as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut i = keys_end;
    while i < argv.len() {
        if is(&argv[i], "limit") && i + 1 < argv.len() {
            limit = match int(&argv[i + 1]) {
                Ok(n) if n >= 0 => n as u64,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    count_reads(ctx, &argv[2..keys_end], &[KeyType::Set]);
    let n = set_algebra::sintercard(ctx.ks(), ctx.db(), &argv[2..keys_end], limit)?;
    Ok(Reply::Integer(n as i64))
}

fn empty_scan() -> Reply {
    Reply::Array(vec![Reply::bulk_str("0"), Reply::Array(Vec::new())])
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. As in Redis, the cursor
/// is checked first, then the key (a missing key answers an empty scan
/// without looking at the options), then the options.
fn sscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[2]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let exists = set::scard(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &exists, Option::is_some);
    if exists?.is_none() {
        return Ok(empty_scan());
    }
    let ScanOptions { count, pattern, .. } = ScanOptions::parse(argv, 3, false)?;
    let after = cursor_position(cursor);
    let Some(page) = set::sscan(
        ctx.ks(),
        ctx.db(),
        &argv[1],
        after.as_deref(),
        count,
        pattern,
    )?
    else {
        return Ok(empty_scan());
    };
    let next = page.resume_after.map_or(0, |m| remember_cursor(m.to_vec()));
    Ok(Reply::Array(vec![
        Reply::Bulk(Bytes::from(next.to_string())),
        Reply::Array(bulks(page.members)),
    ]))
}
