//! List commands (the non-blocking ones): argument parsing and replies with
//! Redis 7.0's option rules and error texts. The data work is in
//! `types::list`. The blocking commands reuse [`parse_end`] and
//! [`parse_mpop`] so their arguments are checked the same way.

use std::ops::Range;

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::LIST as LIST_EV;
use crate::resp::Reply;
use crate::types::list::{self, End, PosOptions};
use crate::types::{TypeError, TypeResult};

const LIST: CommandSpec = CommandSpec {
    group: "list",
    keys: KeySpec::ONE,
    ..CommandSpec::BASE
};

const SRC_DST: KeySpec = KeySpec {
    first: 1,
    last: 2,
    step: 1,
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "lpush",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Add elements to the head of a list, creating it if needed",
        complexity: "O(1) for each element added",
        handler: Some(lpush),
        ..LIST
    },
    CommandSpec {
        name: "rpush",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Add elements to the tail of a list, creating it if needed",
        complexity: "O(1) for each element added",
        handler: Some(rpush),
        ..LIST
    },
    CommandSpec {
        name: "lpushx",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        since: "2.2.0",
        summary: "Add elements to the head of a list only if the list exists",
        complexity: "O(1) for each element added",
        handler: Some(lpushx),
        ..LIST
    },
    CommandSpec {
        name: "rpushx",
        arity: -3,
        flags: WRITE | DENYOOM | FAST,
        since: "2.2.0",
        summary: "Add elements to the tail of a list only if the list exists",
        complexity: "O(1) for each element added",
        handler: Some(rpushx),
        ..LIST
    },
    CommandSpec {
        name: "lpop",
        arity: -2,
        flags: WRITE | FAST,
        summary: "Remove and return elements from the head of a list",
        complexity: "O(N) for N returned elements",
        handler: Some(lpop),
        ..LIST
    },
    CommandSpec {
        name: "rpop",
        arity: -2,
        flags: WRITE | FAST,
        summary: "Remove and return elements from the tail of a list",
        complexity: "O(N) for N returned elements",
        handler: Some(rpop),
        ..LIST
    },
    CommandSpec {
        name: "llen",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Return the length of a list",
        handler: Some(llen),
        ..LIST
    },
    CommandSpec {
        name: "lrange",
        arity: 4,
        flags: READONLY,
        summary: "Return a range of elements of a list",
        complexity: "O(log N + M) for M returned elements",
        handler: Some(lrange),
        ..LIST
    },
    CommandSpec {
        name: "lindex",
        arity: 3,
        flags: READONLY,
        summary: "Return the element at an index of a list",
        complexity: "O(log N)",
        handler: Some(lindex),
        ..LIST
    },
    CommandSpec {
        name: "lset",
        arity: 4,
        flags: WRITE | DENYOOM,
        summary: "Replace the element at an index of a list",
        complexity: "O(log N)",
        handler: Some(lset),
        ..LIST
    },
    CommandSpec {
        name: "linsert",
        arity: 5,
        flags: WRITE | DENYOOM,
        since: "2.2.0",
        summary: "Insert an element before or after the first occurrence of another",
        complexity: "O(N) where N is the distance to the pivot or to the nearer end",
        handler: Some(linsert),
        ..LIST
    },
    CommandSpec {
        name: "lrem",
        arity: 4,
        flags: WRITE,
        summary: "Remove occurrences of an element from a list",
        complexity: "O(N) where N is the length of the list",
        handler: Some(lrem),
        ..LIST
    },
    CommandSpec {
        name: "ltrim",
        arity: 4,
        flags: WRITE,
        summary: "Keep only a range of elements of a list",
        complexity: "O(1) amortized (large removals are range deletions)",
        handler: Some(ltrim),
        ..LIST
    },
    CommandSpec {
        name: "lpos",
        arity: -3,
        flags: READONLY,
        since: "6.0.6",
        summary: "Return the positions of elements equal to a value in a list",
        complexity: "O(N) where N is the number of elements scanned",
        handler: Some(lpos),
        ..LIST
    },
    CommandSpec {
        name: "lmove",
        arity: 5,
        flags: WRITE | DENYOOM,
        keys: SRC_DST,
        since: "6.2.0",
        summary: "Pop an element from one end of a list and push it onto an end of another",
        handler: Some(lmove),
        ..LIST
    },
    CommandSpec {
        name: "rpoplpush",
        arity: 3,
        flags: WRITE | DENYOOM,
        keys: SRC_DST,
        since: "1.2.0",
        summary: "Pop the last element of a list and push it onto the head of another",
        handler: Some(rpoplpush),
        ..LIST
    },
    CommandSpec {
        name: "lmpop",
        arity: -4,
        flags: WRITE | MOVABLEKEYS,
        // The keys follow `numkeys` (movable keys): no fixed key range.
        keys: KeySpec::NONE,
        numkeys_at: Some(1),
        since: "7.0.0",
        summary: "Pop elements from the first non-empty list of several",
        complexity: "O(N+M) for N keys and M returned elements",
        handler: Some(lmpop),
        ..LIST
    },
];

/// Counts a keyspace hit or miss for a read, as Redis's `lookupKeyRead`
/// does: a key of the wrong type is a hit; other errors count nothing.
fn count_lookup<T>(ctx: &Ctx<'_>, r: &TypeResult<Option<T>>) {
    super::count_lookup(ctx, r, Option::is_some);
}

/// `LEFT` or `RIGHT` (any case), else `ERR syntax error`. LMOVE, LMPOP and
/// their blocking forms parse their ends with it.
pub fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if is(arg, "left") {
        Ok(End::Left)
    } else if is(arg, "right") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

/// The arguments of LMPOP / BLMPOP: `numkeys key [key ...] LEFT|RIGHT
/// [COUNT count]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpopArgs {
    /// Where the keys are in argv.
    pub keys: Range<usize>,
    pub end: End,
    /// 1 when COUNT is not given.
    pub count: u64,
}

/// Parses `numkeys key [key ...] LEFT|RIGHT [COUNT count]` starting at
/// `argv[numkeys_at]` (1 for LMPOP, 2 for BLMPOP), with Redis 7.0's errors.
pub fn parse_mpop(argv: &[Bytes], numkeys_at: usize) -> Result<MpopArgs, CmdError> {
    let positive = |arg: &[u8], what: &str| -> Result<u64, CmdError> {
        match int(arg) {
            Ok(n) if n > 0 => Ok(n as u64),
            _ => Err(CmdError::msg(format!(
                "ERR {what} should be greater than 0"
            ))),
        }
    };
    let numkeys = positive(&argv[numkeys_at], "numkeys")?;
    let first_key = numkeys_at + 1;
    let end_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| first_key.checked_add(n))
        .filter(|&i| i < argv.len())
        .ok_or(CmdError::Syntax)?;
    let end = parse_end(&argv[end_at])?;
    let mut count = None;
    let mut i = end_at + 1;
    while i < argv.len() {
        if count.is_none() && is(&argv[i], "count") && i + 1 < argv.len() {
            count = Some(positive(&argv[i + 1], "count")?);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs {
        keys: first_key..end_at,
        end,
        count: count.unwrap_or(1),
    })
}

fn push_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End, only_if_exists: bool) -> CmdResult {
    let db = ctx.db();
    let missing = ctx.missing_for_new(&argv[1]);
    let (len, seq) = list::push(ctx.ks(), db, &argv[1], end, &argv[2..], only_if_exists)?;
    if seq.is_some() {
        ctx.notify_new(missing, &argv[1]);
        ctx.notify(LIST_EV, push_event(end), &argv[1]);
        ctx.key_ready(db, &argv[1]);
    }
    Ok(Reply::Integer(len as i64))
}

fn lpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Left, false)
}

fn rpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Right, false)
}

fn lpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Left, true)
}

fn rpushx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    push_generic(ctx, argv, End::Right, true)
}

fn pop_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], end: End) -> CmdResult {
    if argv.len() > 3 {
        return Err(ctx.wrong_arity());
    }
    let count = match argv.get(2) {
        None => None,
        Some(arg) => match int(arg) {
            Ok(n) if n >= 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        },
    };
    let (popped, seq) = list::pop(ctx.ks(), ctx.db(), &argv[1], end, count)?;
    if seq.is_some() {
        notify_popped(ctx, end, &argv[1]);
    }
    Ok(match (popped, count) {
        (None, None) => Reply::Nil,
        (None, Some(_)) => Reply::NilArray,
        (Some(v), None) => Reply::opt_bulk(v.into_iter().next()),
        (Some(v), Some(_)) => Reply::Array(v.into_iter().map(Reply::Bulk).collect()),
    })
}

fn lpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, End::Left)
}

fn rpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    pop_generic(ctx, argv, End::Right)
}

fn llen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = list::len(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r);
    Ok(Reply::Integer(r?.unwrap_or(0) as i64))
}

fn lrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = int(&argv[2])?;
    let stop = int(&argv[3])?;
    let r = list::range(ctx.ks(), ctx.db(), &argv[1], start, stop);
    count_lookup(ctx, &r);
    Ok(Reply::Bulks(r?.unwrap_or_default()))
}

fn lindex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = list::index(ctx.ks(), ctx.db(), &argv[1], &argv[2]);
    count_lookup(ctx, &r);
    if let Err(TypeError::Reply(_)) = r {
        // A bad index is rejected after the key was found: Redis counted a hit.
        ctx.server.stats.hit(true);
    }
    Ok(Reply::opt_bulk(r?.flatten()))
}

fn lset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let _ = list::set(ctx.ks(), ctx.db(), &argv[1], &argv[2], &argv[3])?;
    ctx.notify(LIST_EV, "lset", &argv[1]);
    Ok(Reply::Ok)
}

fn linsert(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let after = if is(&argv[2], "after") {
        true
    } else if is(&argv[2], "before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let db = ctx.db();
    let (len, seq) = list::insert(ctx.ks(), db, &argv[1], after, &argv[3], &argv[4])?;
    if seq.is_some() {
        ctx.notify(LIST_EV, "linsert", &argv[1]);
        ctx.key_ready(db, &argv[1]);
    }
    Ok(Reply::Integer(len))
}

fn lrem(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let count = int(&argv[2])?;
    let (removed, _) = list::rem(ctx.ks(), ctx.db(), &argv[1], count, &argv[3])?;
    if removed > 0 {
        ctx.notify(LIST_EV, "lrem", &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    Ok(Reply::Integer(removed as i64))
}

fn ltrim(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = int(&argv[2])?;
    let stop = int(&argv[3])?;
    // Redis notifies `ltrim` whenever the list exists, even if nothing goes.
    let existed = ctx.notifying(LIST_EV | crate::notify::GENERIC)
        && matches!(ctx.ks().get_live(ctx.db(), &argv[1]), Ok(Some(_)));
    let _ = list::trim(ctx.ks(), ctx.db(), &argv[1], start, stop)?;
    if existed {
        ctx.notify(LIST_EV, "ltrim", &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    Ok(Reply::Ok)
}

fn lpos(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let non_negative = |arg: &[u8], what: &str| -> Result<u64, CmdError> {
        match int(arg) {
            Ok(n) if n >= 0 => Ok(n as u64),
            _ => Err(CmdError::msg(format!("ERR {what} can't be negative"))),
        }
    };
    let mut opts = PosOptions {
        rank: 1,
        count: 0,
        maxlen: 0,
    };
    let mut with_count = false;
    let mut i = 3;
    while i < argv.len() {
        let has_value = i + 1 < argv.len();
        if is(&argv[i], "rank") && has_value {
            opts.rank = int(&argv[i + 1])?;
            if opts.rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                     second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(&argv[i], "count") && has_value {
            opts.count = non_negative(&argv[i + 1], "COUNT")?;
            with_count = true;
        } else if is(&argv[i], "maxlen") && has_value {
            opts.maxlen = non_negative(&argv[i + 1], "MAXLEN")?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    if !with_count {
        // Without COUNT the reply is the first match alone.
        opts.count = 1;
    } else if opts.rank == i64::MIN {
        // Redis 7.0.15's COUNT check overflows for this rank: it returns
        // every match.
        opts.count = 0;
    }
    let r = list::positions(ctx.ks(), ctx.db(), &argv[1], &argv[2], opts);
    count_lookup(ctx, &r);
    let found = r?.unwrap_or_default();
    Ok(if with_count {
        Reply::Array(
            found
                .into_iter()
                .map(|p| Reply::Integer(p as i64))
                .collect(),
        )
    } else {
        match found.first() {
            Some(&p) => Reply::Integer(p as i64),
            None => Reply::Nil,
        }
    })
}

fn move_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
) -> CmdResult {
    let db = ctx.db();
    let missing = ctx.missing_for_new(dst);
    let (element, _) = list::lmove(ctx.ks(), db, src, dst, from, to)?;
    if element.is_some() {
        notify_moved(ctx, missing, src, dst, from, to);
    }
    if element.is_some() {
        // Propagated even when rotating a one-element list changed nothing
        // stored: Redis counts the move as a change.
        ctx.propagate(argv.to_vec());
        ctx.key_ready(db, dst);
    }
    Ok(Reply::opt_bulk(element))
}

fn lmove(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let from = parse_end(&argv[3])?;
    let to = parse_end(&argv[4])?;
    move_generic(ctx, argv, &argv[1], &argv[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    move_generic(ctx, argv, &argv[1], &argv[2], End::Right, End::Left)
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// `lpop`/`rpop` on `key`, then `del` if that emptied it (Redis's
/// popGenericCommand / listPopRangeAndReplyWithKey).
pub fn notify_popped(ctx: &Ctx<'_>, end: End, key: &[u8]) {
    let event = match end {
        End::Left => "lpop",
        End::Right => "rpop",
    };
    ctx.notify(LIST_EV, event, key);
    ctx.notify_del_if_gone(key);
}

/// LMOVE's events (Redis's lmoveHandlePush, then the pop): `new` and the
/// push on the destination, then the pop on the source and its `del`.
pub fn notify_moved(ctx: &Ctx<'_>, dst_missing: bool, src: &[u8], dst: &[u8], from: End, to: End) {
    ctx.notify_new(dst_missing, dst);
    ctx.notify(LIST_EV, push_event(to), dst);
    notify_popped(ctx, from, src);
}

/// The LMPOP / BLMPOP reply: `[key, [elements...]]`, or the null array.
pub fn mpop_reply(popped: Option<(Bytes, Vec<Bytes>)>) -> Reply {
    match popped {
        None => Reply::NilArray,
        Some((key, elements)) => Reply::Array(vec![
            Reply::Bulk(key),
            Reply::Array(elements.into_iter().map(Reply::Bulk).collect()),
        ]),
    }
}

fn lmpop(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let args = parse_mpop(argv, 1)?;
    let (popped, _) = list::mpop(ctx.ks(), ctx.db(), &argv[args.keys], args.end, args.count)?;
    if let Some((key, items)) = &popped {
        notify_popped(ctx, args.end, key);
        // Replicated as [LR]POP with the count taken, as Redis 7.0 does.
        let name: &'static [u8] = match args.end {
            list::End::Left => b"LPOP",
            list::End::Right => b"RPOP",
        };
        ctx.propagate(vec![
            Bytes::from_static(name),
            key.clone(),
            Bytes::from(items.len().to_string()),
        ]);
    }
    Ok(mpop_reply(popped))
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
    fn mpop_arguments_parse_like_redis() {
        let a = parse_mpop(&argv("LMPOP 2 a b left COUNT 3"), 1).expect("valid");
        assert_eq!(
            a,
            MpopArgs {
                keys: 2..4,
                end: End::Left,
                count: 3
            }
        );
        let a = parse_mpop(&argv("BLMPOP 0 1 a RIGHT"), 2).expect("valid");
        assert_eq!((a.keys, a.end, a.count), (3..4, End::Right, 1));
        let err = |s: &str| parse_mpop(&argv(s), 1).expect_err(s).to_string();
        assert_eq!(
            err("LMPOP 0 a left"),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(
            err("LMPOP x a left"),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(err("LMPOP 2 a left"), "ERR syntax error");
        assert_eq!(err("LMPOP 9223372036854775807 a left"), "ERR syntax error");
        assert_eq!(err("LMPOP 1 a up"), "ERR syntax error");
        assert_eq!(
            err("LMPOP 1 a left count 0"),
            "ERR count should be greater than 0"
        );
        assert_eq!(err("LMPOP 1 a left count 1 count 2"), "ERR syntax error");
        assert_eq!(err("LMPOP 1 a left count"), "ERR syntax error");
    }
}
