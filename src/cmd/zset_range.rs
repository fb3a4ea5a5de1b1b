//! Sorted-set range commands: the ZRANGE family (one parser, as Redis's
//! `zrangeGenericCommand`), ZCOUNT, ZLEXCOUNT, ZREMRANGEBY*, ZRANDMEMBER and
//! ZSCAN.

use bytes::Bytes;

use super::args::{int, is};
use super::events::StoreEvents;
use super::keys::ScanOptions;
use super::zset::{resp3, scored_reply};
use super::{count_read, CmdError, CmdResult, Ctx};
use crate::resp::reply::format_double;
use crate::resp::Reply;
use crate::types::zset::{live_meta, score_string};
use crate::types::zset_range::{self, LexRange, RangeBy, RangeQuery, ScoreRange};

const ERR_NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";
const ERR_LEX_RANGE: &str = "ERR min or max not valid string range item";

/// The most members a negative ZRANDMEMBER count may ask for (Strata only).
const MAX_RANDOM_REPEATS: i64 = 10_000_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    ScoreRange::parse(min, max).ok_or_else(|| CmdError::msg(ERR_NOT_FLOAT_RANGE))
}

fn lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    LexRange::parse(min, max).ok_or_else(|| CmdError::msg(ERR_LEX_RANGE))
}

/// The ZRANGE family. `key_index` is the source key's position (2 for
/// ZRANGESTORE, whose destination is argv[1]); `kind` and `rev` are preset
/// by the legacy commands and then not accepted as options.
fn range_generic(
    ctx: &mut Ctx<'_>,
    argv: &[Bytes],
    key_index: usize,
    kind: Option<Kind>,
    rev: Option<bool>,
) -> CmdResult {
    let store = key_index == 2;
    let (mut kind, mut rev) = (kind, rev);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = key_index + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = &argv[j];
        if !store && is(a, "withscores") {
            withscores = true;
        } else if is(a, "limit") && left >= 2 {
            offset = int(&argv[j + 1])?;
            limit = int(&argv[j + 2])?;
            j += 2;
        } else if rev.is_none() && is(a, "rev") {
            rev = Some(true);
        } else if kind.is_none() && is(a, "bylex") {
            kind = Some(Kind::Lex);
        } else if kind.is_none() && is(a, "byscore") {
            kind = Some(Kind::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    let kind = kind.unwrap_or(Kind::Rank);
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut lo, mut hi) = (&argv[key_index + 1], &argv[key_index + 2]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let by = match kind {
        Kind::Rank => RangeBy::Rank(int(lo)?, int(hi)?),
        Kind::Score => RangeBy::Score(score_range(lo, hi)?),
        Kind::Lex => RangeBy::Lex(lex_range(lo, hi)?),
    };
    let q = RangeQuery {
        by,
        rev,
        offset,
        limit,
    };
    let key = &argv[key_index];
    count_read(ctx, key);
    if store {
        let dst = &argv[1];
        let events = StoreEvents::before(ctx, dst);
        let (n, _) = zset_range::range_store(ctx.ks(), ctx.db(), dst, key, &q)?;
        events.after(ctx, dst, n > 0, crate::notify::ZSET, "zrangestore");
        if n > 0 {
            let db = ctx.db();
            ctx.key_ready(db, dst);
        }
        return Ok(Reply::Integer(n as i64));
    }
    let entries = zset_range::range(ctx.ks(), ctx.db(), key, &q)?;
    Ok(scored_reply(entries, withscores, resp3(ctx)))
}

pub(super) fn zrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 1, None, None)
}

pub(super) fn zrangestore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 2, None, None)
}

pub(super) fn zrevrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 1, Some(Kind::Rank), Some(true))
}

pub(super) fn zrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 1, Some(Kind::Score), Some(false))
}

pub(super) fn zrevrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 1, Some(Kind::Score), Some(true))
}

pub(super) fn zrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 1, Some(Kind::Lex), Some(false))
}

pub(super) fn zrevrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    range_generic(ctx, argv, 1, Some(Kind::Lex), Some(true))
}

pub(super) fn zcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = RangeBy::Score(score_range(&argv[2], &argv[3])?);
    count_read(ctx, &argv[1]);
    Ok(Reply::Integer(
        zset_range::count(ctx.ks(), ctx.db(), &argv[1], by)? as i64,
    ))
}

pub(super) fn zlexcount(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = RangeBy::Lex(lex_range(&argv[2], &argv[3])?);
    count_read(ctx, &argv[1]);
    Ok(Reply::Integer(
        zset_range::count(ctx.ks(), ctx.db(), &argv[1], by)? as i64,
    ))
}

fn remove_range(ctx: &mut Ctx<'_>, argv: &[Bytes], by: RangeBy) -> CmdResult {
    let event = match by {
        RangeBy::Rank(..) => "zremrangebyrank",
        RangeBy::Score(_) => "zremrangebyscore",
        RangeBy::Lex(_) => "zremrangebylex",
    };
    let (n, _) = zset_range::remove_range(ctx.ks(), ctx.db(), &argv[1], by)?;
    if n > 0 {
        ctx.notify(crate::notify::ZSET, event, &argv[1]);
        ctx.notify_del_if_gone(&argv[1]);
    }
    Ok(Reply::Integer(n as i64))
}

pub(super) fn zremrangebyrank(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = RangeBy::Rank(int(&argv[2])?, int(&argv[3])?);
    remove_range(ctx, argv, by)
}

pub(super) fn zremrangebyscore(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = RangeBy::Score(score_range(&argv[2], &argv[3])?);
    remove_range(ctx, argv, by)
}

pub(super) fn zremrangebylex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let by = RangeBy::Lex(lex_range(&argv[2], &argv[3])?);
    remove_range(ctx, argv, by)
}

pub(super) fn zrandmember(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        count_read(ctx, &argv[1]);
        return Ok(Reply::opt_bulk(zset_range::random_member(
            ctx.ks(),
            ctx.db(),
            &argv[1],
        )?));
    }
    let count = int(&argv[2])?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match argv.len() {
        3 => false,
        4 if is(&argv[3], "withscores") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && count < -(i64::MAX / 2) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    count_read(ctx, &argv[1]);
    // Redis streams any number of repeats; we build the reply in memory,
    // so refuse counts that could not fit rather than abort on allocation.
    if count < -MAX_RANDOM_REPEATS && live_meta(ctx.ks(), ctx.db(), &argv[1])?.is_some() {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let members = zset_range::random_members(ctx.ks(), ctx.db(), &argv[1], count)?;
    Ok(scored_reply(members, withscores, resp3(ctx)))
}

/// A SCAN cursor as Redis parses it (`strtoul`): optional sign, digits; a
/// negative number wraps.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { v.wrapping_neg() } else { v })
}

pub(super) fn zscan(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&argv[2]).ok_or_else(|| CmdError::msg("ERR invalid cursor"))?;
    let empty = || {
        Ok(Reply::Array(vec![
            Reply::bulk_str("0"),
            Reply::Array(Vec::new()),
        ]))
    };
    // Redis looks the key up before it reads the options.
    count_read(ctx, &argv[1]);
    if live_meta(ctx.ks(), ctx.db(), &argv[1])?.is_none() {
        return empty();
    }
    let ScanOptions { count, pattern, .. } = ScanOptions::parse(argv, 3, false)?;
    let matches = |m: &[u8]| pattern.is_none_or(|p| crate::glob::glob_match(p, m, false));
    let page = zset_range::scan(ctx.ks(), ctx.db(), &argv[1], cursor, count, &matches)?;
    let mut flat = Vec::with_capacity(page.entries.len() * 2);
    for (m, s) in page.entries {
        flat.push(Reply::Bulk(m));
        // Always a bulk string, in RESP3 too.
        let text = if page.listpack {
            score_string(s)
        } else {
            format_double(s)
        };
        flat.push(Reply::bulk_str(&text));
    }
    Ok(Reply::Array(vec![
        Reply::bulk_str(&page.cursor.to_string()),
        Reply::Array(flat),
    ]))
}
