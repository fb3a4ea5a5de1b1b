//! DUMP and RESTORE: a key's value as Redis 7.0's serialised payload (type
//! byte, value in the encoding Redis would hold, RDB version 10, CRC-64),
//! and back. Payloads travel both ways with real Redis: what Strata DUMPs,
//! Redis RESTOREs with the same OBJECT ENCODING, and the reverse.
//!
//! The encodings follow the live thresholds (`hash-max-listpack-*`,
//! `zset-max-listpack-*`, `set-max-intset-entries`, `list-max-listpack-size`)
//! and `rdbcompression`; a hash or set keeps the encoding it has (as in
//! Redis, a hash converted to a hashtable stays one). RESTORE checks its
//! arguments in Redis's order: options, then an existing key (BUSYKEY), then
//! the TTL, then the payload's footer, then its body.
//!
//! IDLETIME and FREQ are validated and ignored: Strata keeps no LRU clock or
//! LFU counter. Streams and module values are refused ("Bad data format"):
//! Strata has no stream type yet.

use bytes::Bytes;

use super::args::{int, is};
use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::notify::{GENERIC, NEW};
use crate::rdb::encode::{dump_payload, EncodeOptions, Value};
use crate::rdb::reader::{read_dump_payload, DecodedValue, RdbError};
use crate::resp::Reply;
use crate::types::dump::{self, Restored};
use crate::types::export::OwnedValue;
use crate::types::{hash, set, KeyType, Metadata};

const KEYED: CommandSpec = CommandSpec {
    group: "generic",
    keys: KeySpec::ONE,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "dump",
        arity: 2,
        flags: READONLY,
        since: "2.6.0",
        summary: "Return a serialized version of the value stored at the specified key.",
        complexity: "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        handler: Some(dump_cmd),
        ..KEYED
    },
    CommandSpec {
        name: "restore",
        arity: -4,
        flags: WRITE | DENYOOM,
        since: "2.6.0",
        summary: "Create a key using the provided serialized value, previously obtained using DUMP.",
        complexity: "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
        handler: Some(restore_cmd),
        ..KEYED
    },
];

const BUSY_KEY: &str = "BUSYKEY Target key name already exists.";
const BAD_FORMAT: &str = "ERR Bad data format";
const BAD_FOOTER: &str = "ERR DUMP payload version or checksum are wrong";

fn dump_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let found = dump::read(ctx.ks(), ctx.db(), &argv[1])?;
    ctx.server.stats.hit(found.is_some());
    let Some(whole) = found else {
        return Ok(Reply::Nil);
    };
    let opts = options_for(ctx, &whole.meta);
    let value = borrowed(&whole.value);
    let payload = dump_payload(&value, &opts)
        .map_err(|e| CmdError::msg(format!("ERR cannot serialize the value: {e}")))?;
    Ok(Reply::bulk(payload))
}

/// The encode options of the live configuration, with the hash and set
/// thresholds pinned to the encoding the key holds now.
fn options_for(ctx: &Ctx<'_>, meta: &Metadata) -> EncodeOptions {
    let (mut opts, _) = crate::repl::snapshot_rdb::encode_options(&ctx.server.config);
    let keep = |compact: bool| if compact { usize::MAX } else { 0 };
    match meta.kind {
        KeyType::Hash => {
            let n = keep(hash::encoding_name(meta) == "listpack");
            opts.limits.hash_max_listpack_entries = n;
            opts.limits.hash_max_listpack_value = n;
        }
        KeyType::Set => {
            opts.limits.set_max_intset_entries = keep(set::encoding_name(meta) == "intset");
        }
        _ => {}
    }
    opts
}

fn borrowed(v: &OwnedValue) -> Value<'_> {
    match v {
        OwnedValue::String(s) => Value::String(s),
        OwnedValue::List(items) => Value::List(items.iter().map(|i| &i[..]).collect()),
        OwnedValue::Set(members) => Value::Set(members.iter().map(|m| &m[..]).collect()),
        OwnedValue::Hash(pairs) => {
            Value::Hash(pairs.iter().map(|(f, v)| (&f[..], &v[..])).collect())
        }
        OwnedValue::ZSet(pairs) => Value::ZSet(pairs.iter().map(|(m, s)| (&m[..], *s)).collect()),
    }
}

/// RESTORE's options (after the payload).
#[derive(Default)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
}

/// Parses the options the way Redis does: IDLETIME and FREQ exclude each
/// other (the second is a syntax error) but may repeat themselves; a
/// keyword without its value is a syntax error.
fn parse_options(args: &[Bytes]) -> Result<RestoreOptions, CmdError> {
    let mut o = RestoreOptions::default();
    let (mut idle, mut freq) = (false, false);
    let mut i = 0;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        let a = &args[i];
        if is(a, "replace") {
            o.replace = true;
        } else if is(a, "absttl") {
            o.absttl = true;
        } else if is(a, "idletime") && has_value && !freq {
            if int(&args[i + 1])? < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = true;
            i += 1;
        } else if is(a, "freq") && has_value && !idle {
            if !(0..=255).contains(&int(&args[i + 1])?) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    Ok(o)
}

fn restore_cmd(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let opts = parse_options(&argv[4..])?;
    let key = &argv[1];
    if !opts.replace && ctx.ks().get_live(ctx.db(), key)?.is_some() {
        return Err(CmdError::msg(BUSY_KEY));
    }
    let ttl = int(&argv[2])?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let value = decode(&argv[3])?;

    let now = ctx.ks().now_ms() as i64;
    // Redis adds the clock to a relative TTL without an overflow check: a
    // sum that wraps lands in the past, so the key is not created.
    let when = match (ttl, opts.absttl) {
        (0, _) => None,
        (t, true) => Some(t),
        (t, false) => Some(t.wrapping_add(now)),
    };
    let expire_ms = when.map_or(0, |w| w.max(1) as u64);
    // Clients blocked on the key (BLPOP, BZPOPMIN) may now be served.
    let wakes = matches!(value, OwnedValue::List(_) | OwnedValue::ZSet(_));
    let db = ctx.db();
    match dump::restore(
        ctx.ks(),
        db,
        key,
        &value,
        expire_ms,
        super::encoding_limits(&ctx.server.config),
    )? {
        Restored::AlreadyExpired { deleted } => {
            if deleted {
                ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
                ctx.notify(GENERIC, "del", key);
            } else {
                ctx.propagate_nothing();
            }
        }
        Restored::Created => {
            if let (Some(when), false) = (when, opts.absttl) {
                // Replicas get the deadline, not the TTL.
                let mut out = argv.to_vec();
                out[2] = Bytes::from(when.to_string());
                out.push(Bytes::from_static(b"ABSTTL"));
                ctx.propagate(out);
            }
            ctx.notify(NEW, "new", key);
            ctx.notify(GENERIC, "restore", key);
            if wakes {
                ctx.key_ready(db, key);
            }
        }
    }
    Ok(Reply::Ok)
}

/// The payload's value, with RESTORE's two error replies.
fn decode(payload: &[u8]) -> Result<OwnedValue, CmdError> {
    let bad = || CmdError::msg(BAD_FORMAT);
    let (_, value) = read_dump_payload(payload).map_err(|e| match e {
        RdbError::BadDumpPayload => CmdError::msg(BAD_FOOTER),
        _ => bad(),
    })?;
    Ok(match value {
        DecodedValue::String(s) => OwnedValue::String(s),
        DecodedValue::List(v) => OwnedValue::List(v),
        DecodedValue::Set(v) => OwnedValue::Set(v),
        DecodedValue::Hash(v) => OwnedValue::Hash(v),
        DecodedValue::ZSet(v) => OwnedValue::ZSet(v),
        // No stream type yet.
        DecodedValue::Stream(_) => return Err(bad()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<Bytes> {
        list.iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    }

    fn err(list: &[&str]) -> String {
        match parse_options(&args(list)) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn options_parse_like_redis() {
        assert_eq!(err(&["REPLACE", "absttl", "replace"]), "ok");
        assert_eq!(err(&["idletime", "5", "IDLETIME", "6"]), "ok");
        assert_eq!(err(&["freq", "0", "freq", "255"]), "ok");
        assert_eq!(err(&["idletime", "5", "freq", "5"]), "ERR syntax error");
        assert_eq!(err(&["freq", "5", "idletime", "5"]), "ERR syntax error");
        assert_eq!(err(&["idletime"]), "ERR syntax error");
        assert_eq!(err(&["foo"]), "ERR syntax error");
        assert_eq!(
            err(&["idletime", "-1"]),
            "ERR Invalid IDLETIME value, must be >= 0"
        );
        assert_eq!(
            err(&["freq", "256"]),
            "ERR Invalid FREQ value, must be >= 0 and <= 255"
        );
        assert_eq!(
            err(&["freq", "x"]),
            "ERR value is not an integer or out of range"
        );
        let o = parse_options(&args(&["replace", "absttl"])).expect("parse");
        assert!(o.replace && o.absttl);
    }
}
