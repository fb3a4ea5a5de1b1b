//! Connection commands: PING ECHO SELECT AUTH HELLO RESET QUIT.

use bytes::Bytes;

use super::flags::*;
use super::{args, CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::{Reply, RespVersion};
use crate::server::client::ReplyMode;

/// The Redis version Strata reports (HELLO, INFO `redis_version`), so clients
/// enable the features of the Redis it behaves like.
pub const REDIS_VERSION: &str = "7.0.15";

const CONN: CommandSpec = CommandSpec {
    group: "connection",
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: FAST,
        summary: "Ping the server",
        handler: Some(ping),
        ..CONN
    },
    CommandSpec {
        name: "echo",
        arity: 2,
        flags: FAST,
        summary: "Echo the given string",
        handler: Some(echo),
        ..CONN
    },
    CommandSpec {
        name: "select",
        arity: 2,
        flags: LOADING | STALE | FAST,
        since: "1.0.0",
        summary: "Change the selected database for the current connection",
        handler: Some(select),
        ..CONN
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        summary: "Authenticate to the server",
        complexity: "O(N) where N is the number of passwords defined for the user",
        handler: Some(auth),
        ..CONN
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        since: "6.0.0",
        summary: "Handshake with Redis",
        handler: Some(hello),
        ..CONN
    },
    CommandSpec {
        name: "reset",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        since: "6.2.0",
        summary: "Reset the connection",
        handler: Some(reset),
        ..CONN
    },
    CommandSpec {
        name: "quit",
        arity: -1,
        flags: NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        summary: "Close the connection",
        handler: Some(quit),
        ..CONN
    },
];

fn ping(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() <= 2 && ctx.client.resp == RespVersion::Resp2 && ctx.client.info.in_pubsub() {
        // A RESP2 subscriber cannot tell a status reply from a message, so
        // Redis answers with a two-element array.
        let arg = argv.get(1).cloned().unwrap_or_default();
        return Ok(Reply::Array(vec![
            Reply::bulk_str("pong"),
            Reply::Bulk(arg),
        ]));
    }
    match argv.len() {
        1 => Ok(Reply::status("PONG")),
        2 => Ok(Reply::Bulk(argv[1].clone())),
        _ => Err(ctx.wrong_arity()),
    }
}

fn echo(_ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Bulk(argv[1].clone()))
}

fn select(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let db = args::db_index(&argv[1], ctx.ks().databases())?;
    ctx.client.select(db);
    Ok(Reply::Ok)
}

/// Checks a username/password pair against `requirepass` (the only user
/// until ACL support lands is `default`).
fn check_password(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let required = ctx.server.config.settings().requirepass.clone();
    let ok = match &required {
        Some(p) => user == b"default" && p.as_bytes() == pass,
        None => user == b"default",
    };
    if ok {
        Ok(())
    } else {
        Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ))
    }
}

fn auth(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if argv.len() == 2 && ctx.server.config.settings().requirepass.is_none() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. \
             Are you sure your configuration is correct?",
        ));
    }
    let (user, pass): (&[u8], &[u8]) = if argv.len() == 2 {
        (b"default", &argv[1])
    } else {
        (&argv[1], &argv[2])
    };
    check_password(ctx, user, pass)?;
    ctx.client.set_authenticated(true);
    Ok(Reply::Ok)
}

fn hello(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut ver = None;
    let mut i = 1;
    if argv.len() >= 2 {
        let v = args::int(&argv[1])
            .map_err(|_| CmdError::msg("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        ver = Some(v);
        i = 2;
    }
    let mut auth: Option<(Bytes, Bytes)> = None;
    let mut name: Option<Bytes> = None;
    while i < argv.len() {
        let more = argv.len() - i - 1;
        if args::is(&argv[i], "auth") && more >= 2 {
            auth = Some((argv[i + 1].clone(), argv[i + 2].clone()));
            i += 3;
        } else if args::is(&argv[i], "setname") && more >= 1 {
            name = Some(argv[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&argv[i])
            )));
        }
    }
    if let Some((user, pass)) = &auth {
        check_password(ctx, user, pass)?;
        ctx.client.set_authenticated(true);
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> \
             AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol \
             version at the same time",
        ));
    }
    if let Some(n) = name {
        super::client::validate_name(&n)?;
        *ctx.client.info.name.lock() = if n.is_empty() { None } else { Some(n) };
    }
    if let Some(v) = ver {
        ctx.client.set_resp(if v == 3 {
            RespVersion::Resp3
        } else {
            RespVersion::Resp2
        });
    }
    let proto = if ctx.client.resp == RespVersion::Resp3 {
        3
    } else {
        2
    };
    Ok(Reply::Map(vec![
        (Reply::bulk_str("server"), Reply::bulk_str("redis")),
        (Reply::bulk_str("version"), Reply::bulk_str(REDIS_VERSION)),
        (Reply::bulk_str("proto"), Reply::Integer(proto)),
        (
            Reply::bulk_str("id"),
            Reply::Integer(ctx.client.info.id as i64),
        ),
        (Reply::bulk_str("mode"), Reply::bulk_str("standalone")),
        (
            Reply::bulk_str("role"),
            Reply::bulk_str(if ctx.server.replica_link.is_following() {
                "replica"
            } else {
                "master"
            }),
        ),
        (Reply::bulk_str("modules"), Reply::Array(vec![])),
    ]))
}

fn reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    super::tx::reset_transaction(ctx.server, ctx.client);
    // Leaves every subscription (without confirmations) and MONITOR mode.
    ctx.server.pubsub.remove_client(&ctx.client.info);
    let c = &mut *ctx.client;
    c.select(0);
    c.set_resp(RespVersion::Resp2);
    c.reply_mode = ReplyMode::On;
    *c.info.name.lock() = None;
    c.info
        .no_evict
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let needs_auth = ctx.server.config.settings().requirepass.is_some();
    ctx.client.set_authenticated(!needs_auth);
    Ok(Reply::status("RESET"))
}

fn quit(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    Ok(Reply::Ok)
}
