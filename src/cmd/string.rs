//! String commands: argument parsing and replies for the string family, with
//! Redis 7.0's option rules and error texts. The data work is in
//! `types::string`.

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::{count_lookup, CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::{GENERIC as GENERIC_EV, STRING as STRING_EV};
use crate::resp::Reply;
use crate::types::string::{self, GetExChange, SetCondition, SetOptions, TtlChange};

const STR: CommandSpec = CommandSpec {
    group: "string",
    keys: KeySpec::ONE,
    ..CommandSpec::BASE
};

const PAIRS: KeySpec = KeySpec {
    first: 1,
    last: -1,
    step: 2,
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "get",
        arity: 2,
        flags: READONLY | FAST,
        summary: "Return the string value of a key",
        handler: Some(get),
        ..STR
    },
    CommandSpec {
        name: "set",
        arity: -3,
        flags: WRITE | DENYOOM,
        summary:
            "Store a string value, optionally with a TTL, a condition or the old value returned",
        handler: Some(set),
        ..STR
    },
    CommandSpec {
        name: "setnx",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Store a string value only when the key is missing",
        handler: Some(setnx),
        ..STR
    },
    CommandSpec {
        name: "setex",
        arity: 4,
        flags: WRITE | DENYOOM,
        since: "2.0.0",
        summary: "Store a string value with a TTL in seconds",
        handler: Some(setex),
        ..STR
    },
    CommandSpec {
        name: "psetex",
        arity: 4,
        flags: WRITE | DENYOOM,
        since: "2.6.0",
        summary: "Store a string value with a TTL in milliseconds",
        handler: Some(psetex),
        ..STR
    },
    CommandSpec {
        name: "mget",
        arity: -2,
        flags: READONLY | FAST,
        keys: KeySpec::ALL,
        summary: "Return the values of several keys (nil for missing or non-string keys)",
        complexity: "O(N) for N keys",
        handler: Some(mget),
        ..STR
    },
    CommandSpec {
        name: "mset",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: PAIRS,
        since: "1.0.1",
        summary: "Store several key-value pairs atomically",
        complexity: "O(N) for N keys",
        handler: Some(mset),
        ..STR
    },
    CommandSpec {
        name: "msetnx",
        arity: -3,
        flags: WRITE | DENYOOM,
        keys: PAIRS,
        since: "1.0.1",
        summary: "Store several key-value pairs atomically, only if none of the keys exists",
        complexity: "O(N) for N keys",
        handler: Some(msetnx),
        ..STR
    },
    CommandSpec {
        name: "getset",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Store a string value and return the previous one",
        handler: Some(getset),
        ..STR
    },
    CommandSpec {
        name: "getdel",
        arity: 2,
        flags: WRITE | FAST,
        since: "6.2.0",
        summary: "Return the string value of a key and delete the key",
        handler: Some(getdel),
        ..STR
    },
    CommandSpec {
        name: "getex",
        arity: -2,
        flags: WRITE | FAST,
        since: "6.2.0",
        summary: "Return the string value of a key, optionally changing its TTL",
        handler: Some(getex),
        ..STR
    },
    CommandSpec {
        name: "append",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        since: "2.0.0",
        summary: "Add bytes to the end of a string value",
        complexity: "O(1) amortized",
        handler: Some(append),
        ..STR
    },
    CommandSpec {
        name: "strlen",
        arity: 2,
        flags: READONLY | FAST,
        since: "2.2.0",
        summary: "Return the length in bytes of a string value",
        handler: Some(strlen),
        ..STR
    },
    CommandSpec {
        name: "incr",
        arity: 2,
        flags: WRITE | DENYOOM | FAST,
        summary: "Add one to the integer value of a key",
        handler: Some(incr),
        ..STR
    },
    CommandSpec {
        name: "decr",
        arity: 2,
        flags: WRITE | DENYOOM | FAST,
        summary: "Subtract one from the integer value of a key",
        handler: Some(decr),
        ..STR
    },
    CommandSpec {
        name: "incrby",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Add an integer to the integer value of a key",
        handler: Some(incrby),
        ..STR
    },
    CommandSpec {
        name: "decrby",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        summary: "Subtract an integer from the integer value of a key",
        handler: Some(decrby),
        ..STR
    },
    CommandSpec {
        name: "incrbyfloat",
        arity: 3,
        flags: WRITE | DENYOOM | FAST,
        since: "2.6.0",
        summary: "Add a floating point number to the numeric value of a key",
        handler: Some(incrbyfloat),
        ..STR
    },
    CommandSpec {
        name: "getrange",
        arity: 4,
        flags: READONLY,
        since: "2.4.0",
        summary: "Return a byte range of a string value",
        complexity: "O(N) for N returned bytes",
        handler: Some(getrange),
        ..STR
    },
    CommandSpec {
        name: "setrange",
        arity: 4,
        flags: WRITE | DENYOOM,
        since: "2.2.0",
        summary: "Overwrite part of a string value at an offset, padding with zero bytes",
        complexity: "O(M) for M bytes of the resulting string",
        handler: Some(setrange),
        ..STR
    },
    CommandSpec {
        name: "substr",
        arity: 4,
        flags: READONLY,
        summary: "Return a byte range of a string value (old name of GETRANGE)",
        complexity: "O(N) for N returned bytes",
        handler: Some(getrange),
        ..STR
    },
    CommandSpec {
        name: "lcs",
        arity: -3,
        flags: READONLY,
        keys: KeySpec {
            first: 1,
            last: 2,
            step: 1,
        },
        since: "7.0.0",
        summary: "Longest common subsequence of two string values",
        complexity: "O(N*M) for strings of lengths N and M",
        handler: Some(lcs),
        ..STR
    },
];

fn max_bulk_len(ctx: &Ctx<'_>) -> i64 {
    ctx.server.config.settings().proto_max_bulk_len
}

fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = string::get(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r, Option::is_some);
    Ok(Reply::opt_bulk(r?))
}

/// How an expire argument is given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpireUnit {
    /// EX: relative seconds.
    Seconds,
    /// PX: relative milliseconds.
    Millis,
    /// EXAT: absolute unix seconds.
    UnixSeconds,
    /// PXAT: absolute unix milliseconds.
    UnixMillis,
}

/// An expire argument as an absolute unix time in ms, with Redis's checks
/// (`ERR invalid expire time in '<cmd>' command`).
fn expire_at(ctx: &Ctx<'_>, arg: &[u8], unit: ExpireUnit) -> Result<u64, CmdError> {
    let n = int(arg)?;
    let invalid = || {
        CmdError::Msg(format!(
            "ERR invalid expire time in '{}' command",
            ctx.server.commands.fullname(ctx.cmd.id)
        ))
    };
    if n <= 0 {
        return Err(invalid());
    }
    let ms = match unit {
        ExpireUnit::Seconds | ExpireUnit::UnixSeconds => n.checked_mul(1000).ok_or_else(invalid)?,
        ExpireUnit::Millis | ExpireUnit::UnixMillis => n,
    };
    let ms = match unit {
        ExpireUnit::Seconds | ExpireUnit::Millis => {
            ms.checked_add(ctx.w.now_ms() as i64).ok_or_else(invalid)?
        }
        _ => ms,
    };
    Ok(ms as u64)
}

/// Parsed SET/GETEX options (Redis's `parseExtendedStringArgumentsOrReply`).
#[derive(Default)]
struct StringOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpireUnit, &'a [u8])>,
}

/// Parses options from `argv[from..]`; `for_set` selects SET's options
/// (NX XX GET KEEPTTL) or GETEX's (PERSIST). Any repeat or mix Redis
/// rejects is `ERR syntax error`.
fn parse_options(
    argv: &[Bytes],
    from: usize,
    for_set: bool,
) -> Result<StringOptions<'_>, CmdError> {
    let mut o = StringOptions::default();
    let mut j = from;
    while j < argv.len() {
        let opt = &argv[j][..];
        let next = argv.get(j + 1).map(|b| &b[..]);
        let unit = if is(opt, "ex") {
            Some(ExpireUnit::Seconds)
        } else if is(opt, "px") {
            Some(ExpireUnit::Millis)
        } else if is(opt, "exat") {
            Some(ExpireUnit::UnixSeconds)
        } else if is(opt, "pxat") {
            Some(ExpireUnit::UnixMillis)
        } else {
            None
        };
        if let Some(unit) = unit {
            // Another unit already given (the same one may repeat: last wins).
            let other_unit = o.expire.is_some_and(|(u, _)| u != unit);
            match next {
                Some(value) if !o.keepttl && !o.persist && !other_unit => {
                    o.expire = Some((unit, value));
                    j += 2;
                    continue;
                }
                _ => return Err(CmdError::Syntax),
            }
        }
        if for_set && is(opt, "nx") && !o.xx {
            o.nx = true;
        } else if for_set && is(opt, "xx") && !o.nx {
            o.xx = true;
        } else if for_set && is(opt, "get") {
            o.get = true;
        } else if for_set && is(opt, "keepttl") && !o.persist && o.expire.is_none() {
            o.keepttl = true;
        } else if !for_set && is(opt, "persist") && !o.keepttl && o.expire.is_none() {
            o.persist = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// How a SET-family command propagates once it wrote.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetPropagation {
    Verbatim,
    /// `SET key value PXAT <ms>`: the expiry made absolute, as Redis 7.0
    /// rewrites SET EX/PX/EXAT/PXAT, SETEX and PSETEX.
    AbsoluteExpiry,
    /// `SET key value` (GETSET).
    PlainSet,
    /// The command without its GET option (SET ... GET without an expiry).
    WithoutGet,
}

/// The shared tail of SET, SETNX, SETEX, PSETEX and GETSET: `ok` is the reply
/// when the value is written, `vetoed` when NX/XX stops it (unless GET).
fn set_generic(
    ctx: &mut Ctx<'_>,
    key: &Bytes,
    value: &Bytes,
    opts: SetOptions,
    (ok, vetoed): (Reply, Reply),
    propagation: SetPropagation,
    argv: &[Bytes],
) -> CmdResult {
    ctx.expire_if_needed(key);
    let missing = ctx.missing_for_new(key);
    let r = string::set_with(ctx.ks(), ctx.db(), key, value.clone(), opts);
    if opts.get {
        // The old value is read as GET reads it.
        count_lookup(ctx, &r, |o| o.old.is_some());
    }
    let outcome = r?;
    if outcome.written {
        // Redis's setGenericCommand: `set`, then `expire` when a TTL was given.
        ctx.notify_new(missing, key);
        ctx.notify(STRING_EV, "set", key);
        if let TtlChange::At(_) = opts.ttl {
            ctx.notify(GENERIC_EV, "expire", key);
        }
        match (propagation, opts.ttl) {
            (SetPropagation::AbsoluteExpiry, TtlChange::At(ms)) => ctx.propagate(vec![
                Bytes::from_static(b"SET"),
                key.clone(),
                value.clone(),
                Bytes::from_static(b"PXAT"),
                Bytes::from(ms.to_string()),
            ]),
            (SetPropagation::PlainSet, _) => {
                ctx.propagate(vec![Bytes::from_static(b"SET"), key.clone(), value.clone()])
            }
            (SetPropagation::WithoutGet, _) => {
                let kept = argv
                    .iter()
                    .enumerate()
                    .filter(|(i, a)| *i < 3 || !is(a, "get"))
                    .map(|(_, a)| a.clone())
                    .collect();
                ctx.propagate(kept)
            }
            _ => {}
        }
    }
    if opts.get {
        return Ok(Reply::opt_bulk(outcome.old));
    }
    Ok(if outcome.written { ok } else { vetoed })
}

fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let o = parse_options(argv, 3, true)?;
    // Redis 7.0 rewrites any expiry, PXAT included, to `SET k v PXAT ms`
    // (dropping NX/XX/GET), and drops GET otherwise.
    let propagation = match o.expire {
        Some(_) => SetPropagation::AbsoluteExpiry,
        None if o.get => SetPropagation::WithoutGet,
        None => SetPropagation::Verbatim,
    };
    let ttl = match o.expire {
        Some((unit, arg)) => TtlChange::At(expire_at(ctx, arg, unit)?),
        None if o.keepttl => TtlChange::Keep,
        None => TtlChange::Clear,
    };
    let condition = if o.nx {
        SetCondition::IfMissing
    } else if o.xx {
        SetCondition::IfExists
    } else {
        SetCondition::Always
    };
    let opts = SetOptions {
        condition,
        ttl,
        get: o.get,
    };
    set_generic(
        ctx,
        &argv[1],
        &argv[2],
        opts,
        (Reply::Ok, Reply::Nil),
        propagation,
        argv,
    )
}

fn setnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = SetOptions {
        condition: SetCondition::IfMissing,
        ttl: TtlChange::Clear,
        get: false,
    };
    set_generic(
        ctx,
        &argv[1],
        &argv[2],
        opts,
        (Reply::Integer(1), Reply::Integer(0)),
        SetPropagation::Verbatim,
        argv,
    )
}

fn setex_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], unit: ExpireUnit) -> CmdResult {
    let at = expire_at(ctx, &argv[2], unit)?;
    let opts = SetOptions {
        condition: SetCondition::Always,
        ttl: TtlChange::At(at),
        get: false,
    };
    set_generic(
        ctx,
        &argv[1],
        &argv[3],
        opts,
        (Reply::Ok, Reply::Nil),
        SetPropagation::AbsoluteExpiry,
        argv,
    )
}

fn setex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    setex_generic(ctx, argv, ExpireUnit::Seconds)
}

fn psetex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    setex_generic(ctx, argv, ExpireUnit::Millis)
}

fn getset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = SetOptions {
        condition: SetCondition::Always,
        ttl: TtlChange::Clear,
        get: true,
    };
    set_generic(
        ctx,
        &argv[1],
        &argv[2],
        opts,
        (Reply::Ok, Reply::Nil),
        SetPropagation::PlainSet,
        argv,
    )
}

fn mget(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let values = string::mget(ctx.ks(), ctx.db(), &argv[1..])?;
    for (found, _) in &values {
        ctx.server.stats.hit(*found);
    }
    Ok(Reply::Array(
        values
            .into_iter()
            .map(|(_, v)| Reply::opt_bulk(v))
            .collect(),
    ))
}

fn mset_generic(ctx: &mut Ctx<'_>, argv: &[Bytes], nx: bool) -> Result<bool, CmdError> {
    if argv.len() % 2 == 0 {
        return Err(ctx.wrong_arity());
    }
    let pairs: Vec<(Bytes, Bytes)> = argv[1..]
        .chunks_exact(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    if !nx && ctx.notifying(STRING_EV | crate::notify::NEW | crate::notify::EXPIRED) {
        // MSET writes every pair: Redis's events per key in order,
        // `expired` (an expired key it replaces), `new`, `set`. They are
        // recorded now and published only once the unit commits.
        for (i, (k, _)) in pairs.iter().enumerate() {
            ctx.expire_if_needed(k);
            let first = !pairs[..i].iter().any(|(p, _)| p == k);
            if first && ctx.missing_for_new(k) {
                ctx.notify(crate::notify::NEW, "new", k);
            }
            ctx.notify(STRING_EV, "set", k);
        }
    }
    // MSETNX looks every key up first (their `expired` events), then
    // writes all or nothing.
    let missing: Vec<bool> = if nx {
        pairs
            .iter()
            .map(|(k, _)| {
                ctx.expire_if_needed(k);
                ctx.missing_for_new(k)
            })
            .collect()
    } else {
        Vec::new()
    };
    let (written, _) = string::mset(ctx.ks(), ctx.db(), &pairs, nx)?;
    if nx && written && ctx.notifying(STRING_EV | crate::notify::NEW) {
        for (i, (k, _)) in pairs.iter().enumerate() {
            let first = !pairs[..i].iter().any(|(p, _)| p == k);
            ctx.notify_new(missing[i] && first, k);
            ctx.notify(STRING_EV, "set", k);
        }
    }
    Ok(written)
}

fn mset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    mset_generic(ctx, argv, false)?;
    Ok(Reply::Ok)
}

fn msetnx(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let written = mset_generic(ctx, argv, true)?;
    Ok(Reply::Integer(written as i64))
}

fn getdel(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = string::getdel(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r, |(v, _)| v.is_some());
    let (v, seq) = r?;
    if seq.is_some() {
        ctx.notify(GENERIC_EV, "del", &argv[1]);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), argv[1].clone()]);
    }
    Ok(Reply::opt_bulk(v))
}

fn getex(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let o = parse_options(argv, 2, false)?;
    let change = match o.expire {
        Some((unit, arg)) => expire_at(ctx, arg, unit).map(GetExChange::At),
        None if o.persist => Ok(GetExChange::Persist),
        None => Ok(GetExChange::Nothing),
    };
    let change = match change {
        Ok(change) => change,
        // Redis looks the key up before it checks the expire time: a missing
        // key replies nil and another type WRONGTYPE even then.
        Err(invalid_expire) => {
            let r = string::get(ctx.ks(), ctx.db(), &argv[1]);
            count_lookup(ctx, &r, Option::is_some);
            return match r? {
                None => Ok(Reply::Nil),
                Some(_) => Err(invalid_expire),
            };
        }
    };
    let r = string::getex(ctx.ks(), ctx.db(), &argv[1], change);
    count_lookup(ctx, &r, |(v, _)| v.is_some());
    let (v, seq) = r?;
    if seq.is_some() {
        // Replicated as an absolute expiry, PERSIST, or the deletion of a
        // time already past (Redis 7.0's forms).
        let key = argv[1].clone();
        let event = match change {
            GetExChange::At(ms) if ms <= ctx.w.now_ms() => "del",
            GetExChange::At(_) => "expire",
            _ => "persist",
        };
        ctx.notify(GENERIC_EV, event, &key);
        let argv = match change {
            GetExChange::At(ms) if ms <= ctx.w.now_ms() => {
                let del = if ctx
                    .server
                    .ks
                    .lazyfree_expire
                    .load(std::sync::atomic::Ordering::Relaxed)
                {
                    "UNLINK"
                } else {
                    "DEL"
                };
                vec![Bytes::from_static(del.as_bytes()), key]
            }
            GetExChange::At(ms) => vec![
                Bytes::from_static(b"PEXPIREAT"),
                key,
                Bytes::from(ms.to_string()),
            ],
            _ => vec![Bytes::from_static(b"PERSIST"), key],
        };
        ctx.propagate(argv);
    }
    Ok(Reply::opt_bulk(v))
}

fn append(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let max = max_bulk_len(ctx);
    let missing = ctx.missing_for_new(&argv[1]);
    let (len, _) = string::append(ctx.ks(), ctx.db(), &argv[1], &argv[2], max)?;
    ctx.notify_new(missing, &argv[1]);
    ctx.notify(STRING_EV, "append", &argv[1]);
    Ok(Reply::Integer(len as i64))
}

fn strlen(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let r = string::strlen(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r, Option::is_some);
    Ok(Reply::Integer(r?.unwrap_or(0) as i64))
}

fn incr_generic(ctx: &mut Ctx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let missing = ctx.missing_for_new(key);
    let (n, _) = string::incr_by(ctx.ks(), ctx.db(), key, delta)?;
    ctx.notify_new(missing, key);
    ctx.notify(STRING_EV, "incrby", key);
    Ok(Reply::Integer(n))
}

fn incr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &argv[1], 1)
}

fn decr(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    incr_generic(ctx, &argv[1], -1)
}

fn incrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let delta = int(&argv[2])?;
    incr_generic(ctx, &argv[1], delta)
}

fn decrby(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let delta = int(&argv[2])?;
    let negated = delta
        .checked_neg()
        .ok_or_else(|| CmdError::msg("ERR decrement would overflow"))?;
    incr_generic(ctx, &argv[1], negated)
}

fn incrbyfloat(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let missing = ctx.missing_for_new(&argv[1]);
    let (v, _) = string::incr_by_float(ctx.ks(), ctx.db(), &argv[1], &argv[2])?;
    ctx.notify_new(missing, &argv[1]);
    ctx.notify(STRING_EV, "incrbyfloat", &argv[1]);
    // Replicated as the value it produced, so replicas need not repeat
    // the float arithmetic.
    ctx.propagate(vec![
        Bytes::from_static(b"SET"),
        argv[1].clone(),
        v.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Ok(Reply::Bulk(v))
}

fn getrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let start = int(&argv[2])?;
    let end = int(&argv[3])?;
    let r = string::get(ctx.ks(), ctx.db(), &argv[1]);
    count_lookup(ctx, &r, Option::is_some);
    Ok(match r? {
        None => Reply::Bulk(Bytes::new()),
        Some(v) => Reply::Bulk(v.slice_ref(string::range_of(&v, start, end))),
    })
}

fn setrange(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let offset = int(&argv[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let max = max_bulk_len(ctx);
    let missing = ctx.missing_for_new(&argv[1]);
    let (len, seq) = string::setrange(ctx.ks(), ctx.db(), &argv[1], offset as u64, &argv[3], max)?;
    if seq.is_some() {
        ctx.notify_new(missing, &argv[1]);
        ctx.notify(STRING_EV, "setrange", &argv[1]);
    }
    Ok(Reply::Integer(len as i64))
}

fn lcs(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let ks = ctx.ks();
    let a = ks.get_live(ctx.db(), &argv[1])?;
    let b = ks.get_live(ctx.db(), &argv[2])?;
    ctx.server.stats.hit(a.is_some());
    ctx.server.stats.hit(b.is_some());
    let is_string = |m: &Option<crate::types::Metadata>| {
        m.as_ref()
            .is_none_or(|m| m.kind == crate::types::KeyType::String)
    };
    if !is_string(&a) || !is_string(&b) {
        return Err(CmdError::msg(
            "ERR The specified keys must contain string values",
        ));
    }
    let (mut want_idx, mut want_len, mut with_match_len) = (false, false, false);
    let mut min_match_len: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let opt = &argv[j][..];
        if is(opt, "idx") {
            want_idx = true;
        } else if is(opt, "len") {
            want_len = true;
        } else if is(opt, "withmatchlen") {
            with_match_len = true;
        } else if is(opt, "minmatchlen") && j + 1 < argv.len() {
            min_match_len = int(&argv[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if want_idx && want_len {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let a = a.map(|m| m.payload).unwrap_or_default();
    let b = b.map(|m| m.payload).unwrap_or_default();
    let r = string::lcs(
        &a,
        &b,
        !want_len && !want_idx,
        want_idx,
        min_match_len as u64,
        max_bulk_len(ctx),
    )?;
    if want_idx {
        let matches = r
            .matches
            .iter()
            .map(|m| {
                let mut item = vec![
                    Reply::Array(vec![
                        Reply::Integer(m.a.0 as i64),
                        Reply::Integer(m.a.1 as i64),
                    ]),
                    Reply::Array(vec![
                        Reply::Integer(m.b.0 as i64),
                        Reply::Integer(m.b.1 as i64),
                    ]),
                ];
                if with_match_len {
                    item.push(Reply::Integer(m.len as i64));
                }
                Reply::Array(item)
            })
            .collect();
        return Ok(Reply::Map(vec![
            (Reply::bulk_str("matches"), Reply::Array(matches)),
            (Reply::bulk_str("len"), Reply::Integer(r.len as i64)),
        ]));
    }
    if want_len {
        return Ok(Reply::Integer(r.len as i64));
    }
    Ok(Reply::Bulk(Bytes::from(r.sequence)))
}
