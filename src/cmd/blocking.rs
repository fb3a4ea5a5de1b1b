//! The blocking commands: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN
//! BZPOPMAX BZMPOP. Each first tries its non-blocking form on the keys in
//! order; when every key is empty it leaves a request to wait (see
//! `server::blocking`) holding the same operation as a closure, which the
//! registry runs when a write makes one of the keys ready.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::events;
use super::flags::*;
use super::list::{mpop_reply, parse_end, parse_mpop};
use super::zset;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::{LIST as LIST_EV, NEW, ZSET as ZSET_EV};
use crate::resp::Reply;
use crate::server::blocking::{ServeFn, ServeOutcome};

use crate::types::list::{self, End};
use crate::types::string::long_double_seconds_to_ms;
use crate::types::zset as zset_type;
use crate::types::{now_ms, KeyType, TypeError, WriteContext};

const ALL_BUT_LAST: KeySpec = KeySpec {
    first: 1,
    last: -2,
    step: 1,
};

const TWO: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

const LIST: CommandSpec = CommandSpec {
    group: "list",
    flags: WRITE | NOSCRIPT | BLOCKING,
    keys: ALL_BUT_LAST,
    ..CommandSpec::BASE
};

const ZSET: CommandSpec = CommandSpec {
    group: "sorted-set",
    flags: WRITE | NOSCRIPT | BLOCKING | FAST,
    keys: ALL_BUT_LAST,
    complexity: "O(log(N)) with N being the number of elements in the sorted set.",
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "blpop",
        arity: -3,
        since: "2.0.0",
        summary: "Remove and get the first element in a list, or block until one is available",
        complexity: "O(N) where N is the number of provided keys.",
        handler: Some(blpop),
        ..LIST
    },
    CommandSpec {
        name: "brpop",
        arity: -3,
        since: "2.0.0",
        summary: "Remove and get the last element in a list, or block until one is available",
        complexity: "O(N) where N is the number of provided keys.",
        handler: Some(brpop),
        ..LIST
    },
    CommandSpec {
        name: "brpoplpush",
        arity: 4,
        flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        keys: TWO,
        since: "2.2.0",
        summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
        handler: Some(brpoplpush),
        ..LIST
    },
    CommandSpec {
        name: "blmove",
        arity: 6,
        flags: WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        keys: TWO,
        since: "6.2.0",
        summary: "Pop an element from a list, push it to another list and return it; or block until one is available",
        handler: Some(blmove),
        ..LIST
    },
    CommandSpec {
        name: "blmpop",
        arity: -5,
        flags: WRITE | BLOCKING | MOVABLEKEYS,
        keys: KeySpec::NONE,
        numkeys_at: Some(2),
        since: "7.0.0",
        summary: "Pop elements from a list, or block until one is available",
        complexity: "O(N+M) where N is the number of provided keys and M is the number of elements returned.",
        handler: Some(blmpop),
        ..LIST
    },
    CommandSpec {
        name: "bzpopmin",
        arity: -3,
        since: "5.0.0",
        summary: "Remove and return the member with the lowest score from one of several sorted sets, or block until one is available",
        handler: Some(bzpopmin),
        ..ZSET
    },
    CommandSpec {
        name: "bzpopmax",
        arity: -3,
        since: "5.0.0",
        summary: "Remove and return the member with the highest score from one of several sorted sets, or block until one is available",
        handler: Some(bzpopmax),
        ..ZSET
    },
    CommandSpec {
        name: "bzmpop",
        arity: -5,
        flags: WRITE | BLOCKING | MOVABLEKEYS,
        keys: KeySpec::NONE,
        numkeys_at: Some(2),
        since: "7.0.0",
        summary: "Remove and return members with scores in a sorted set or block until one is available",
        complexity: "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        handler: Some(bzmpop),
        ..ZSET
    },
];

/// A blocking timeout in seconds, as Redis 7.0 parses it: `None` = forever.
pub fn parse_timeout(arg: &[u8]) -> Result<Option<Instant>, CmdError> {
    let ms = long_double_seconds_to_ms(arg)
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX - now_ms() as i64 {
        return Err(CmdError::msg("ERR timeout is out of range"));
    }
    // A deadline past what Instant can hold is as good as forever.
    Ok(Instant::now().checked_add(Duration::from_millis(ms as u64)))
}

/// The non-blocking attempt: for each key in order, a key of another type
/// fails the command and a key with elements serves it, as in Redis. Blocks
/// when no key could serve.
fn try_or_block(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    kind: KeyType,
    timeout: Option<Instant>,
    serve: ServeFn,
    timeout_reply: Reply,
) -> CmdResult {
    try_or_block_with(
        ctx,
        keys,
        kind,
        timeout,
        serve,
        timeout_reply.clone(),
        timeout_reply,
    )
}

/// [`try_or_block`] where the reply of a command that may not block (inside
/// a transaction) differs from its timeout reply (BLMOVE answers a null bulk).
fn try_or_block_with(
    ctx: &mut Ctx<'_>,
    keys: &[Bytes],
    kind: KeyType,
    timeout: Option<Instant>,
    serve: ServeFn,
    timeout_reply: Reply,
    no_wait_reply: Reply,
) -> CmdResult {
    let (db, logical) = (ctx.db(), ctx.client.db as u8);
    for key in keys {
        if ctx.ks().get_typed(db, key, kind)?.is_none() {
            continue;
        }
        match serve(ctx.w, logical, key) {
            ServeOutcome::Wait => continue,
            ServeOutcome::Served { reply, ready, .. } => {
                // The operation propagated its non-blocking form.
                ctx.propagate_nothing();
                ctx.client.ready_keys.extend(ready);
                return Ok(reply);
            }
            ServeOutcome::Failed(e) => return Ok(e),
        }
    }
    if ctx.client.in_exec {
        // Inside a transaction a blocking command does not block.
        return Ok(no_wait_reply);
    }
    let keys = keys.iter().map(|k| (logical, k.clone())).collect();
    ctx.block_on(keys, timeout, serve, timeout_reply)
}

/// A types-layer error as the reply a blocked client receives.
fn failed(e: TypeError) -> ServeOutcome {
    ServeOutcome::Failed(Reply::from(CmdError::from(e)))
}

/// Pops from one end of the list at `key`; `mpop` shapes the reply as
/// LMPOP's `[key, [elements]]`, otherwise BLPOP's `[key, element]`.
fn list_pop(end: End, count: Option<usize>, mpop: bool) -> ServeFn {
    Arc::new(move |w: &WriteContext<'_>, logical, key: &Bytes| {
        let db = w.physical(logical as usize);
        match list::pop(w, db, key, end, count) {
            Ok((Some(mut items), _)) if !items.is_empty() => {
                // Replicated as [LR]POP, with the count for BLMPOP.
                let name = match end {
                    End::Left => "LPOP",
                    End::Right => "RPOP",
                };
                let ev = if end == End::Left { "lpop" } else { "rpop" };
                events::record(w, LIST_EV, ev, logical as usize, key);
                events::record_del_if_gone(w, logical as usize, key);
                let mut argv = vec![Bytes::from_static(name.as_bytes()), key.clone()];
                if mpop {
                    argv.push(Bytes::from(items.len().to_string()));
                }
                w.propagate(logical as usize, argv);
                let reply = if mpop {
                    mpop_reply(Some((key.clone(), items)))
                } else {
                    Reply::Array(vec![Reply::Bulk(key.clone()), Reply::Bulk(items.remove(0))])
                };
                ServeOutcome::Served {
                    reply,
                    seq: None,
                    ready: vec![],
                }
            }
            Ok(_) | Err(TypeError::WrongType) => ServeOutcome::Wait,
            Err(e) => failed(e),
        }
    })
}

/// Moves the element at `from` of `key` to `to` of `dst`.
fn list_move(dst: Bytes, from: End, to: End, rpoplpush: bool) -> ServeFn {
    Arc::new(move |w: &WriteContext<'_>, logical, key: &Bytes| {
        let db = w.physical(logical as usize);
        // A source of another type keeps the client waiting (Redis 7.0);
        // a destination of another type fails it.
        match w.get_live(db, key) {
            Ok(Some(m)) if m.kind != KeyType::List => return ServeOutcome::Wait,
            Ok(None) => return ServeOutcome::Wait,
            Err(e) => return failed(e),
            Ok(Some(_)) => {}
        }
        let dst_missing = matches!(w.get_live(db, &dst), Ok(None));
        match list::lmove(w, db, key, &dst, from, to) {
            Ok((Some(item), _)) => {
                // Redis's lmoveHandlePush, then the pop (as LMOVE).
                let l = logical as usize;
                if dst_missing {
                    events::record(w, NEW, "new", l, &dst);
                }
                let push = if to == End::Left { "lpush" } else { "rpush" };
                events::record(w, LIST_EV, push, l, &dst);
                let pop = if from == End::Left { "lpop" } else { "rpop" };
                events::record(w, LIST_EV, pop, l, key);
                events::record_del_if_gone(w, l, key);
                // Replicated as RPOPLPUSH or LMOVE.
                let argv = if rpoplpush {
                    vec![Bytes::from_static(b"RPOPLPUSH"), key.clone(), dst.clone()]
                } else {
                    let side = |e: End| {
                        Bytes::from_static(if e == End::Left { b"LEFT" } else { b"RIGHT" })
                    };
                    vec![
                        Bytes::from_static(b"LMOVE"),
                        key.clone(),
                        dst.clone(),
                        side(from),
                        side(to),
                    ]
                };
                w.propagate(logical as usize, argv);
                ServeOutcome::Served {
                    reply: Reply::Bulk(item),
                    seq: None,
                    ready: vec![(logical, dst.clone())],
                }
            }
            Ok((None, _)) => ServeOutcome::Wait,
            Err(e) => failed(e),
        }
    })
}

fn bpop(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End) -> CmdResult {
    let timeout = parse_timeout(&argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    let serve = list_pop(end, None, false);
    try_or_block(ctx, keys, KeyType::List, timeout, serve, Reply::NilArray)
}

fn blpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bpop(ctx, argv, End::Left)
}

fn brpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bpop(ctx, argv, End::Right)
}

fn bmove(ctx: &mut Ctx<'_>, argv: &[Bytes], from: End, to: End, timeout: &[u8]) -> CmdResult {
    let timeout = parse_timeout(timeout)?;
    let (src, dst) = (&argv[1], &argv[2]);
    let rpoplpush = argv.len() == 4;
    let serve = list_move(dst.clone(), from, to, rpoplpush);
    // Without a source, the destination's type is not checked yet (Redis).
    let src = std::slice::from_ref(src);
    // Redis answers every timed-out list wait with a null array, BLMOVE's
    // too; inside a transaction BLMOVE answers a null bulk.
    try_or_block_with(
        ctx,
        src,
        KeyType::List,
        timeout,
        serve,
        Reply::NilArray,
        Reply::Nil,
    )
}

fn brpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bmove(ctx, argv, End::Right, End::Left, &argv[3])
}

fn blmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    bmove(ctx, argv, from, to, &argv[5])
}

fn blmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&argv[1])?;
    let args = parse_mpop(argv, 2)?;
    let keys = &argv[args.keys];
    let serve = list_pop(args.end, Some(args.count as usize), true);
    try_or_block(ctx, keys, KeyType::List, timeout, serve, Reply::NilArray)
}

/// Pops from the low (`max` false) or high end of the sorted set at `key`;
/// `mpop` shapes the reply as ZMPOP's `[key, [[member, score], ...]]`,
/// otherwise BZPOPMIN's `[key, member, score]`.
fn zset_pop(max: bool, count: u64, mpop: bool) -> ServeFn {
    Arc::new(move |w: &WriteContext<'_>, logical, key: &Bytes| {
        let db = w.physical(logical as usize);
        match zset_type::pop(w, db, key, max, count) {
            Ok((items, _)) if !items.is_empty() => {
                // Replicated as ZPOPMIN/ZPOPMAX (BZMPOP with the count).
                let name = if max { "ZPOPMAX" } else { "ZPOPMIN" };
                let ev = if max { "zpopmax" } else { "zpopmin" };
                events::record(w, ZSET_EV, ev, logical as usize, key);
                events::record_del_if_gone(w, logical as usize, key);
                let mut argv = vec![Bytes::from_static(name.as_bytes()), key.clone()];
                if mpop {
                    argv.push(Bytes::from(items.len().to_string()));
                }
                w.propagate(logical as usize, argv);
                let reply = if mpop {
                    zset::mpop_reply(key.clone(), items)
                } else {
                    let (m, s) = items.into_iter().next().expect("not empty");
                    Reply::Array(vec![
                        Reply::Bulk(key.clone()),
                        Reply::Bulk(m),
                        Reply::Double(s),
                    ])
                };
                ServeOutcome::Served {
                    reply,
                    seq: None,
                    ready: vec![],
                }
            }
            Ok(_) | Err(TypeError::WrongType) => ServeOutcome::Wait,
            Err(e) => failed(e),
        }
    })
}

fn bzpop(ctx: &mut Ctx<'_>, argv: &[Bytes], max: bool) -> CmdResult {
    let timeout = parse_timeout(&argv[argv.len() - 1])?;
    let keys = &argv[1..argv.len() - 1];
    let serve = zset_pop(max, 1, false);
    try_or_block(ctx, keys, KeyType::ZSet, timeout, serve, Reply::NilArray)
}

fn bzpopmin(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bzpop(ctx, argv, false)
}

fn bzpopmax(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    bzpop(ctx, argv, true)
}

fn bzmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout(&argv[1])?;
    let args = zset::parse_mpop(argv, 2)?;
    let serve = zset_pop(args.max, args.count, true);
    try_or_block(
        ctx,
        &args.keys,
        KeyType::ZSet,
        timeout,
        serve,
        Reply::NilArray,
    )
}
