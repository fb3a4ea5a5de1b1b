//! Sorted-set commands: the table, and the point, pop and set-algebra
//! commands with Redis 7.0's argument rules, errors and RESP2/RESP3 reply
//! shapes. Range commands are in `zset_range`; the data work is in
//! `types::zset*`.

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::zset_range::{
    zcount, zlexcount, zrandmember, zrange, zrangebylex, zrangebyscore, zrangestore,
    zremrangebylex, zremrangebyrank, zremrangebyscore, zrevrange, zrevrangebylex, zrevrangebyscore,
    zscan,
};
use super::{count_read, count_reads, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::ZSET as ZSET_EV;
use crate::resp::Reply;
use crate::types::zset::{self, AddFlags, AddReply, Scored};
use crate::types::zset_algebra::{self, Aggregate, SetOp};
use crate::types::zset_range::parse_score;
use crate::types::KeyType;

const Z: CommandSpec = CommandSpec {
    group: "sorted-set",
    keys: KeySpec::ONE,
    complexity: "O(log(N))",
    ..CommandSpec::BASE
};

/// Commands whose keys follow a numkeys argument (Redis: movablekeys).
const MOVABLE: KeySpec = KeySpec::NONE;

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "zadd",
        arity: -4,
        flags: WRITE | DENYOOM | FAST,
        since: "1.2.0",
        summary: "Add members to a sorted set, or update their scores",
        handler: Some(zadd),
        ..Z
    },
    CommandSpec {
        name: "zincrby",
        arity: 4,
        flags: WRITE | DENYOOM | FAST,
        since: "1.2.0",
        summary: "Increment the score of a member of a sorted set",
        handler: Some(zincrby),
        ..Z
    },
    CommandSpec {
        name: "zcard",
        arity: 2,
        flags: READONLY | FAST,
        since: "1.2.0",
        summary: "Return the number of members in a sorted set",
        complexity: "O(1)",
        handler: Some(zcard),
        ..Z
    },
    CommandSpec {
        name: "zcount",
        arity: 4,
        flags: READONLY | FAST,
        since: "2.0.0",
        summary: "Count the members of a sorted set within a score range",
        handler: Some(zcount),
        ..Z
    },
    CommandSpec {
        name: "zlexcount",
        arity: 4,
        flags: READONLY | FAST,
        since: "2.8.9",
        summary: "Count the members of a sorted set within a lexicographical range",
        handler: Some(zlexcount),
        ..Z
    },
    CommandSpec {
        name: "zscore",
        arity: 3,
        flags: READONLY | FAST,
        since: "1.2.0",
        summary: "Return the score of a member of a sorted set",
        complexity: "O(1)",
        handler: Some(zscore),
        ..Z
    },
    CommandSpec {
        name: "zmscore",
        arity: -3,
        flags: READONLY | FAST,
        since: "6.2.0",
        summary: "Return the scores of several members of a sorted set",
        complexity: "O(N) for N members",
        handler: Some(zmscore),
        ..Z
    },
    CommandSpec {
        name: "zrank",
        arity: 3,
        flags: READONLY | FAST,
        since: "2.0.0",
        summary: "Return the rank of a member in a sorted set, lowest score first",
        complexity: "O(min(rank, N - rank))",
        handler: Some(zrank),
        ..Z
    },
    CommandSpec {
        name: "zrevrank",
        arity: 3,
        flags: READONLY | FAST,
        since: "2.0.0",
        summary: "Return the rank of a member in a sorted set, highest score first",
        complexity: "O(min(rank, N - rank))",
        handler: Some(zrevrank),
        ..Z
    },
    CommandSpec {
        name: "zrange",
        arity: -4,
        flags: READONLY,
        since: "1.2.0",
        summary: "Return a range of members of a sorted set by rank, score or member",
        complexity: "O(log(N)+M) with M the number of members returned",
        handler: Some(zrange),
        ..Z
    },
    CommandSpec {
        name: "zrangebyscore",
        arity: -4,
        flags: READONLY,
        since: "1.0.5",
        summary: "Return the members of a sorted set within a score range",
        complexity: "O(log(N)+M) with M the number of members returned",
        handler: Some(zrangebyscore),
        ..Z
    },
    CommandSpec {
        name: "zrevrangebyscore",
        arity: -4,
        flags: READONLY,
        since: "2.2.0",
        summary: "Return the members of a sorted set within a score range, highest first",
        complexity: "O(log(N)+M) with M the number of members returned",
        handler: Some(zrevrangebyscore),
        ..Z
    },
    CommandSpec {
        name: "zrangebylex",
        arity: -4,
        flags: READONLY,
        since: "2.8.9",
        summary: "Return the members of a sorted set within a lexicographical range",
        complexity: "O(log(N)+M) with M the number of members returned",
        handler: Some(zrangebylex),
        ..Z
    },
    CommandSpec {
        name: "zrevrangebylex",
        arity: -4,
        flags: READONLY,
        since: "2.8.9",
        summary: "Return the members of a sorted set within a lexicographical range, in reverse",
        complexity: "O(log(N)+M) with M the number of members returned",
        handler: Some(zrevrangebylex),
        ..Z
    },
    CommandSpec {
        name: "zrevrange",
        arity: -4,
        flags: READONLY,
        since: "1.2.0",
        summary: "Return a range of members of a sorted set by rank, highest score first",
        complexity: "O(log(N)+M) with M the number of members returned",
        handler: Some(zrevrange),
        ..Z
    },
    CommandSpec {
        name: "zrangestore",
        arity: -5,
        flags: WRITE | DENYOOM,
        keys: KeySpec {
            first: 1,
            last: 2,
            step: 1,
        },
        since: "6.2.0",
        summary: "Store a range of a sorted set in another key",
        complexity: "O(log(N)+M) with M the number of members stored",
        handler: Some(zrangestore),
        ..Z
    },
    CommandSpec {
        name: "zrem",
        arity: -3,
        flags: WRITE | FAST,
        since: "1.2.0",
        summary: "Remove members from a sorted set",
        complexity: "O(M*log(N)) for M members",
        handler: Some(zrem),
        ..Z
    },
    CommandSpec {
        name: "zremrangebyrank",
        arity: 4,
        flags: WRITE,
        since: "2.0.0",
        summary: "Remove the members of a sorted set within a rank range",
        complexity: "O(log(N)+M) with M the number of members removed",
        handler: Some(zremrangebyrank),
        ..Z
    },
    CommandSpec {
        name: "zremrangebyscore",
        arity: 4,
        flags: WRITE,
        since: "1.2.0",
        summary: "Remove the members of a sorted set within a score range",
        complexity: "O(log(N)+M) with M the number of members removed",
        handler: Some(zremrangebyscore),
        ..Z
    },
    CommandSpec {
        name: "zremrangebylex",
        arity: 4,
        flags: WRITE,
        since: "2.8.9",
        summary: "Remove the members of a sorted set within a lexicographical range",
        complexity: "O(log(N)+M) with M the number of members removed",
        handler: Some(zremrangebylex),
        ..Z
    },
    CommandSpec {
        name: "zpopmin",
        arity: -2,
        flags: WRITE | FAST,
        since: "5.0.0",
        summary: "Remove and return the members with the lowest scores",
        complexity: "O(log(N)*M) with M the number of members popped",
        handler: Some(zpopmin),
        ..Z
    },
    CommandSpec {
        name: "zpopmax",
        arity: -2,
        flags: WRITE | FAST,
        since: "5.0.0",
        summary: "Remove and return the members with the highest scores",
        complexity: "O(log(N)*M) with M the number of members popped",
        handler: Some(zpopmax),
        ..Z
    },
    CommandSpec {
        name: "zmpop",
        arity: -4,
        flags: WRITE | MOVABLEKEYS,
        keys: MOVABLE,
        since: "7.0.0",
        summary:
            "Pop members with the lowest or highest scores from the first non-empty sorted set",
        complexity: "O(K) + O(M*log(N)) with K keys and M members popped",
        handler: Some(zmpop),
        numkeys_at: Some(1),
        ..Z
    },
    CommandSpec {
        name: "zrandmember",
        arity: -2,
        flags: READONLY,
        since: "6.2.0",
        summary: "Return random members of a sorted set",
        complexity: "O(N) where N is the number of members",
        handler: Some(zrandmember),
        ..Z
    },
    CommandSpec {
        name: "zunion",
        arity: -3,
        flags: READONLY | MOVABLEKEYS,
        keys: MOVABLE,
        since: "6.2.0",
        summary: "Return the union of sorted sets",
        complexity: "O(N)+O(M*log(M)) with N the input size and M the result size",
        handler: Some(zunion),
        numkeys_at: Some(1),
        ..Z
    },
    CommandSpec {
        name: "zinter",
        arity: -3,
        flags: READONLY | MOVABLEKEYS,
        keys: MOVABLE,
        since: "6.2.0",
        summary: "Return the intersection of sorted sets",
        complexity: "O(N*K)+O(M*log(M)) with N the smallest input and K inputs",
        handler: Some(zinter),
        numkeys_at: Some(1),
        ..Z
    },
    CommandSpec {
        name: "zdiff",
        arity: -3,
        flags: READONLY | MOVABLEKEYS,
        keys: MOVABLE,
        since: "6.2.0",
        summary: "Return the difference between the first sorted set and the others",
        complexity: "O(L + (N-K)log(N))",
        handler: Some(zdiff),
        numkeys_at: Some(1),
        ..Z
    },
    CommandSpec {
        name: "zunionstore",
        arity: -4,
        flags: WRITE | DENYOOM | MOVABLEKEYS,
        since: "2.0.0",
        summary: "Store the union of sorted sets in a key",
        complexity: "O(N)+O(M*log(M)) with N the input size and M the result size",
        handler: Some(zunionstore),
        numkeys_at: Some(2),
        ..Z
    },
    CommandSpec {
        name: "zinterstore",
        arity: -4,
        flags: WRITE | DENYOOM | MOVABLEKEYS,
        since: "2.0.0",
        summary: "Store the intersection of sorted sets in a key",
        complexity: "O(N*K)+O(M*log(M)) with N the smallest input and K inputs",
        handler: Some(zinterstore),
        numkeys_at: Some(2),
        ..Z
    },
    CommandSpec {
        name: "zdiffstore",
        arity: -4,
        flags: WRITE | DENYOOM | MOVABLEKEYS,
        since: "6.2.0",
        summary: "Store the difference between the first sorted set and the others in a key",
        complexity: "O(L + (N-K)log(N))",
        handler: Some(zdiffstore),
        numkeys_at: Some(2),
        ..Z
    },
    CommandSpec {
        name: "zintercard",
        arity: -3,
        flags: READONLY | MOVABLEKEYS,
        keys: MOVABLE,
        since: "7.0.0",
        summary: "Return the number of members in the intersection of sorted sets",
        complexity: "O(N*K) with N the smallest input and K inputs",
        handler: Some(zintercard),
        numkeys_at: Some(1),
        ..Z
    },
    CommandSpec {
        name: "zscan",
        arity: -3,
        flags: READONLY,
        since: "2.8.0",
        summary: "Iterate over the members and scores of a sorted set",
        complexity: "O(1) for every call, O(N) for a complete iteration",
        handler: Some(zscan),
        ..Z
    },
];

pub(super) fn resp3(ctx: &Ctx<'_>) -> bool {
    ctx.client.resp == crate::resp::RespVersion::Resp3
}

/// Members, optionally with scores: `[m, s]` pairs in RESP3, a flat
/// `m, s, ...` array in RESP2 (as Redis 7.0 replies WITHSCORES).
pub fn scored_reply(entries: Vec<Scored>, withscores: bool, resp3: bool) -> Reply {
    if !withscores {
        return Reply::Array(entries.into_iter().map(|(m, _)| Reply::Bulk(m)).collect());
    }
    if resp3 {
        return Reply::Array(
            entries
                .into_iter()
                .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
                .collect(),
        );
    }
    let mut flat = Vec::with_capacity(entries.len() * 2);
    for (m, s) in entries {
        flat.push(Reply::Bulk(m));
        flat.push(Reply::Double(s));
    }
    Reply::Array(flat)
}

fn score_arg(arg: &[u8]) -> Result<f64, CmdError> {
    parse_score(arg).ok_or(CmdError::NotFloat)
}

fn zadd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut flags = AddFlags::default();
    let mut i = 2;
    while i < argv.len() {
        let a = &argv[i];
        if is(a, "nx") {
            flags.nx = true;
        } else if is(a, "xx") {
            flags.xx = true;
        } else if is(a, "ch") {
            flags.ch = true;
        } else if is(a, "incr") {
            flags.incr = true;
        } else if is(a, "gt") {
            flags.gt = true;
        } else if is(a, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &argv[i..];
    if rest.is_empty() || rest.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    if flags.nx && flags.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if [flags.gt, flags.lt, flags.nx]
        .iter()
        .filter(|&&f| f)
        .count()
        > 1
    {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if flags.incr && rest.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut elements = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks(2) {
        elements.push((score_arg(&pair[0])?, pair[1].clone()));
    }
    add_reply(ctx, &argv[1], flags, &elements)
}

fn add_reply(
    ctx: &mut Ctx<'_>,
    key: &[u8],
    flags: AddFlags,
    elements: &[(f64, Bytes)],
) -> CmdResult {
    let missing = ctx.missing_for_new(key);
    let (reply, seq) = zset::add(ctx.ks(), ctx.db(), key, flags, elements)?;
    if seq.is_some() {
        ctx.notify_new(missing, key);
        ctx.notify(ZSET_EV, if flags.incr { "zincr" } else { "zadd" }, key);
        let db = ctx.db();
        ctx.key_ready(db, key);
    }
    Ok(match reply {
        AddReply::Count(n) => Reply::Integer(n as i64),
        AddReply::Score(Some(s)) => Reply::Double(s),
        AddReply::Score(None) => Reply::Nil,
    })
}

fn zincrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let incr = score_arg(&argv[2])?;
    let flags = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_reply(ctx, &argv[1], flags, &[(incr, argv[3].clone())])
}

fn zcard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_read(ctx, &argv[1]);
    Ok(Reply::Integer(
        zset::card(ctx.ks(), ctx.db(), &argv[1])? as i64
    ))
}

fn zscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_read(ctx, &argv[1]);
    Ok(zset::score(ctx.ks(), ctx.db(), &argv[1], &argv[2])?.map_or(Reply::Nil, Reply::Double))
}

fn zmscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    count_read(ctx, &argv[1]);
    let scores = zset::mscore(ctx.ks(), ctx.db(), &argv[1], &argv[2..])?;
    Ok(Reply::Array(
        scores
            .into_iter()
            .map(|s| s.map_or(Reply::Nil, Reply::Double))
            .collect(),
    ))
}

fn rank_reply(ctx: &mut Ctx<'_>, argv: &[Bytes], rev: bool) -> CmdResult {
    count_read(ctx, &argv[1]);
    let r = zset::rank(ctx.ks(), ctx.db(), &argv[1], &argv[2], rev)?;
    Ok(r.map_or(Reply::Nil, |r| Reply::Integer(r as i64)))
}

fn zrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rank_reply(ctx, argv, false)
}

fn zrevrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    rank_reply(ctx, argv, true)
}

fn zrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (n, _) = zset::remove(ctx.ks(), ctx.db(), &argv[1], &argv[2..])?;
    if n > 0 {
        ctx.notify(ZSET_EV, "zrem", &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    Ok(Reply::Integer(n as i64))
}

fn pop_command(ctx: &mut Ctx<'_>, argv: &[Bytes], max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match argv.get(2) {
        Some(a) => match int(a) {
            Ok(n) if n >= 0 => Some(n as u64),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        },
        None => None,
    };
    let (popped, _) = zset::pop(ctx.ks(), ctx.db(), &argv[1], max, count.unwrap_or(1))?;
    if !popped.is_empty() {
        notify_popped(ctx, max, &argv[1]);
    }
    // Without a count RESP3 still replies one flat member/score pair.
    Ok(scored_reply(popped, true, resp3(ctx) && count.is_some()))
}

/// Redis's genericZpopCommand: `zpopmin`/`zpopmax`, then `del` if emptied.
fn notify_popped(ctx: &Ctx<'_>, max: bool, key: &[u8]) {
    ctx.notify(ZSET_EV, if max { "zpopmax" } else { "zpopmin" }, key);
    ctx.notify_del_if_gone(key);
}

fn zpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_command(ctx, argv, false)
}

fn zpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_command(ctx, argv, true)
}

/// The parsed arguments of ZMPOP / BZMPOP.
#[derive(Debug, Clone, PartialEq)]
pub struct MpopArgs {
    pub keys: Vec<Bytes>,
    /// MAX (true) or MIN.
    pub max: bool,
    pub count: u64,
}

/// Parses `numkeys key... MIN|MAX [COUNT count]` with `argv[numkeys_index]`
/// the numkeys argument (1 for ZMPOP, 2 for BZMPOP), with Redis's errors.
pub fn parse_mpop(argv: &[Bytes], numkeys_index: usize) -> Result<MpopArgs, CmdError> {
    let numkeys_err = || CmdError::msg("ERR numkeys should be greater than 0");
    let numkeys = argv
        .get(numkeys_index)
        .ok_or(CmdError::Syntax)
        .and_then(|a| int(a).map_err(|_| numkeys_err()))?;
    if numkeys < 1 {
        return Err(numkeys_err());
    }
    let where_index = (numkeys as u64)
        .checked_add(numkeys_index as u64 + 1)
        .filter(|&w| w < argv.len() as u64)
        .ok_or(CmdError::Syntax)? as usize;
    let max = if is(&argv[where_index], "max") {
        true
    } else if is(&argv[where_index], "min") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_index + 1;
    while j < argv.len() {
        if count.is_none() && is(&argv[j], "count") && j + 1 < argv.len() {
            match int(&argv[j + 1]) {
                Ok(n) if n >= 1 => count = Some(n as u64),
                _ => return Err(CmdError::msg("ERR count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs {
        keys: argv[numkeys_index + 1..where_index].to_vec(),
        max,
        count: count.unwrap_or(1),
    })
}

/// ZMPOP's reply for members popped from `key`: `[key, [[m, s], ...]]`.
pub fn mpop_reply(key: Bytes, popped: Vec<Scored>) -> Reply {
    let pairs = popped
        .into_iter()
        .map(|(m, s)| Reply::Array(vec![Reply::Bulk(m), Reply::Double(s)]))
        .collect();
    Reply::Array(vec![Reply::Bulk(key), Reply::Array(pairs)])
}

fn zmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = parse_mpop(argv, 1)?;
    for key in a.keys {
        let (popped, _) = zset::pop(ctx.ks(), ctx.db(), &key, a.max, a.count)?;
        if !popped.is_empty() {
            notify_popped(ctx, a.max, &key);
            // Replicated as ZPOPMIN/ZPOPMAX with the count taken.
            let name: &'static [u8] = if a.max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.propagate(vec![
                Bytes::from_static(name),
                key.clone(),
                Bytes::from(popped.len().to_string()),
            ]);
            return Ok(mpop_reply(key, popped));
        }
    }
    Ok(Reply::NilArray)
}

/// The options of the set-algebra commands after their keys.
struct AlgebraArgs {
    keys: Vec<Bytes>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    limit: u64,
}

/// Parses `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX]
/// [WITHSCORES]` (or `[LIMIT n]` for ZINTERCARD) as Redis's
/// `zunionInterDiffGenericCommand` does, WRONGTYPE included.
fn parse_algebra(
    ctx: &Ctx<'_>,
    argv: &[Bytes],
    numkeys_index: usize,
    op: SetOp,
    store: bool,
    card_only: bool,
) -> Result<AlgebraArgs, CmdError> {
    let numkeys = int(&argv[numkeys_index])?;
    if numkeys < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{}' command",
            ctx.server.commands.fullname(ctx.cmd.id)
        )));
    }
    if numkeys as u64 > (argv.len() - numkeys_index - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = numkeys as usize;
    let keys = argv[numkeys_index + 1..numkeys_index + 1 + n].to_vec();
    count_reads(ctx, &keys, &[KeyType::Set, KeyType::ZSet]);
    zset_algebra::check_sources(ctx.ks(), ctx.db(), &keys)?;
    let mut a = AlgebraArgs {
        keys,
        weights: Vec::new(),
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = numkeys_index + 1 + n;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let algebra_opts = op != SetOp::Diff && !card_only;
        if algebra_opts && remaining > n && is(&argv[j], "weights") {
            a.weights = argv[j + 1..j + 1 + n]
                .iter()
                .map(|w| {
                    parse_score(w).ok_or_else(|| CmdError::msg("ERR weight value is not a float"))
                })
                .collect::<Result<_, _>>()?;
            j += 1 + n;
        } else if algebra_opts && remaining >= 2 && is(&argv[j], "aggregate") {
            let v = &argv[j + 1];
            a.aggregate = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card_only && is(&argv[j], "withscores") {
            a.withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(&argv[j], "limit") {
            a.limit = match int(&argv[j + 1]) {
                Ok(l) if l >= 0 => l as u64,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(a)
}

fn algebra(ctx: &mut Ctx<'_>, argv: &[Bytes], op: SetOp) -> CmdResult {
    let a = parse_algebra(ctx, argv, 1, op, false, false)?;
    let result = zset_algebra::combine(ctx.ks(), ctx.db(), &a.keys, &a.weights, a.aggregate, op)?;
    Ok(scored_reply(result, a.withscores, resp3(ctx)))
}

fn algebra_store(ctx: &mut Ctx<'_>, argv: &[Bytes], op: SetOp) -> CmdResult {
    let a = parse_algebra(ctx, argv, 2, op, true, false)?;
    let dst = &argv[1];
    let store = super::events::StoreEvents::before(ctx, dst);
    let (n, _) = zset_algebra::combine_store(
        ctx.ks(),
        ctx.db(),
        dst,
        &a.keys,
        &a.weights,
        a.aggregate,
        op,
    )?;
    let event = match op {
        SetOp::Union => "zunionstore",
        SetOp::Inter => "zinterstore",
        SetOp::Diff => "zdiffstore",
    };
    store.after(ctx, dst, n > 0, ZSET_EV, event);
    if n > 0 {
        let db = ctx.db();
        ctx.key_ready(db, dst);
    }
    Ok(Reply::Integer(n as i64))
}

fn zunion(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra(ctx, argv, SetOp::Union)
}

fn zinter(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra(ctx, argv, SetOp::Inter)
}

fn zdiff(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra(ctx, argv, SetOp::Diff)
}

fn zunionstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra_store(ctx, argv, SetOp::Union)
}

fn zinterstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra_store(ctx, argv, SetOp::Inter)
}

fn zdiffstore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    algebra_store(ctx, argv, SetOp::Diff)
}

fn zintercard(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let a = parse_algebra(ctx, argv, 1, SetOp::Inter, false, true)?;
    let n = zset_algebra::inter_card(ctx.ks(), ctx.db(), &a.keys, a.limit)?;
    Ok(Reply::Integer(n as i64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn mpop_arguments() {
        let a = parse_mpop(&argv("zmpop 2 a b MAX COUNT 3"), 1).unwrap();
        assert_eq!(a.keys, vec![Bytes::from("a"), Bytes::from("b")]);
        assert!(a.max && a.count == 3);
        let b = parse_mpop(&argv("bzmpop 0.5 1 a min"), 2).unwrap();
        assert!(!b.max && b.count == 1);
        let err = |s: &str| parse_mpop(&argv(s), 1).unwrap_err().to_string();
        assert_eq!(err("zmpop 0 a min"), "ERR numkeys should be greater than 0");
        assert_eq!(err("zmpop 2 a min"), "ERR syntax error");
        assert_eq!(
            err("zmpop 1 a min count 0"),
            "ERR count should be greater than 0"
        );
        assert_eq!(err("zmpop 1 a min count 1 count 1"), "ERR syntax error");
        assert_eq!(err("zmpop 9223372036854775807 a min"), "ERR syntax error");
    }
}
