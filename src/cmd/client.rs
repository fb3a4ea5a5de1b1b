//! CLIENT subcommands: connection introspection (ID, INFO, LIST, GETNAME),
//! control of other connections (KILL, PAUSE, UNPAUSE) and of this one
//! (SETNAME, REPLY, NO-EVICT). Replies and error texts follow Redis 7.0.
//!
//! Every Strata connection is a "normal" client: there are no replicas,
//! masters or pub/sub connections yet, and the only user is `default`.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::flags::*;
use super::{args, CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::parse::parse_i64;
use crate::resp::Reply;
use crate::server::blocking::Wakeup;
use crate::server::client::{ClientInfo, ReplyMode};
use crate::server::PauseMode;

const SUB: CommandSpec = CommandSpec {
    group: "connection",
    flags: NOSCRIPT | LOADING | STALE,
    ..CommandSpec::BASE
};

const ADMIN_SUB: CommandSpec = CommandSpec {
    flags: ADMIN | NOSCRIPT | LOADING | STALE,
    ..SUB
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "client",
    arity: -2,
    group: "connection",
    since: "2.4.0",
    summary: "A container for client connection commands",
    complexity: "Depends on subcommand.",
    subcommands: SUBCOMMANDS,
    ..CommandSpec::BASE
}];

static SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "id",
        arity: 2,
        since: "5.0.0",
        summary: "Returns the id of this connection",
        handler: Some(id),
        ..SUB
    },
    CommandSpec {
        name: "setname",
        arity: 3,
        since: "2.6.9",
        summary: "Names this connection",
        handler: Some(setname),
        ..SUB
    },
    CommandSpec {
        name: "getname",
        arity: 2,
        since: "2.6.9",
        summary: "Returns the name of this connection",
        handler: Some(getname),
        ..SUB
    },
    CommandSpec {
        name: "list",
        arity: -2,
        since: "2.4.0",
        summary: "Lists the connected clients, one line each",
        complexity: "O(N) where N is the number of client connections",
        handler: Some(list),
        ..ADMIN_SUB
    },
    CommandSpec {
        name: "info",
        arity: 2,
        since: "6.2.0",
        summary: "Describes this connection in the CLIENT LIST format",
        handler: Some(info),
        ..SUB
    },
    CommandSpec {
        name: "kill",
        arity: -3,
        since: "2.4.0",
        summary: "Closes the connections that match an address or filters",
        complexity: "O(N) where N is the number of client connections",
        handler: Some(kill),
        ..ADMIN_SUB
    },
    CommandSpec {
        name: "pause",
        arity: -3,
        since: "3.0.0",
        summary: "Holds all commands, or only writes, for a number of milliseconds",
        handler: Some(pause),
        ..ADMIN_SUB
    },
    CommandSpec {
        name: "unpause",
        arity: 2,
        since: "6.2.0",
        summary: "Ends a CLIENT PAUSE",
        complexity: "O(N) where N is the number of paused clients",
        handler: Some(unpause),
        ..ADMIN_SUB
    },
    CommandSpec {
        name: "unblock",
        arity: -3,
        since: "5.0.0",
        summary: "Unblocks a client blocked by a blocking command",
        complexity: "O(log N) where N is the number of client connections",
        handler: Some(unblock),
        ..ADMIN_SUB
    },
    CommandSpec {
        name: "no-evict",
        arity: 3,
        since: "7.0.0",
        summary: "Marks this connection as exempt from client eviction",
        handler: Some(no_evict),
        ..ADMIN_SUB
    },
    CommandSpec {
        name: "reply",
        arity: 3,
        since: "3.2.0",
        summary: "Turns the replies to this connection on, off, or off for one command",
        handler: Some(reply),
        ..SUB
    },
    CommandSpec {
        name: "getredir",
        arity: 2,
        since: "6.0.0",
        summary: "Returns the tracking redirection client id (always -1: no tracking)",
        handler: Some(getredir),
        ..SUB
    },
    CommandSpec {
        name: "trackinginfo",
        arity: 2,
        since: "6.2.0",
        summary: "Describes the client-side caching state of this connection (always off)",
        handler: Some(trackinginfo),
        ..SUB
    },
    CommandSpec {
        name: "caching",
        arity: 3,
        since: "6.0.0",
        summary: "Client-side caching hint for the next command (tracking is not supported)",
        handler: Some(caching),
        ..SUB
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        since: "5.0.0",
        summary: "Describes the CLIENT subcommands",
        handler: Some(help),
        ..SUB
    },
];

/// Client names are printable ASCII without spaces, as Redis requires.
pub fn validate_name(name: &[u8]) -> Result<(), CmdError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// CLIENT LIST / CLIENT INFO text: a bulk string in RESP2, verbatim `txt` in RESP3.
fn text_reply(s: String) -> Reply {
    Reply::Verbatim("txt", Bytes::from(s))
}

fn id(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.client.info.id as i64))
}

fn setname(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let name = &argv[2];
    validate_name(name)?;
    *ctx.client.info.name.lock() = if name.is_empty() {
        None
    } else {
        Some(name.clone())
    };
    Ok(Reply::Ok)
}

fn getname(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::opt_bulk(ctx.client.info.name.lock().clone()))
}

fn info(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let mut line = ctx.client.info.list_line(&ctx.server.commands);
    line.push('\n');
    Ok(text_reply(line))
}

/// Redis's client types. Strata has no replication yet, so a connection is
/// `PubSub` while subscribed and `Normal` otherwise (a MONITOR client too,
/// as Redis's `getClientType` reports it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

fn client_type(arg: &[u8]) -> Result<ClientType, CmdError> {
    let t = match arg.to_ascii_lowercase().as_slice() {
        b"normal" => ClientType::Normal,
        b"slave" | b"replica" => ClientType::Replica,
        b"master" => ClientType::Master,
        b"pubsub" => ClientType::PubSub,
        _ => {
            return Err(CmdError::msg(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(arg)
            )))
        }
    };
    Ok(t)
}

fn type_of(c: &ClientInfo) -> ClientType {
    if c.is_replica.load(std::sync::atomic::Ordering::Relaxed) {
        ClientType::Replica
    } else if c.in_pubsub() {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

fn list(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let clients = &ctx.server.clients;
    let chosen: Vec<_> = if argv.len() == 2 {
        clients.all()
    } else if argv.len() == 4 && args::is(&argv[2], "type") {
        let t = client_type(&argv[3])?;
        clients
            .all()
            .into_iter()
            .filter(|c| type_of(c) == t)
            .collect()
    } else if argv.len() > 3 && args::is(&argv[2], "id") {
        let mut ids = Vec::with_capacity(argv.len() - 3);
        for a in &argv[3..] {
            ids.push(parse_i64(a).ok_or_else(|| CmdError::msg("ERR Invalid client ID"))?);
        }
        ids.into_iter()
            .filter_map(|id| u64::try_from(id).ok().and_then(|id| clients.get(id)))
            .collect()
    } else {
        return Err(CmdError::Syntax);
    };
    let mut out = String::new();
    for c in chosen {
        out.push_str(&c.list_line(&ctx.server.commands));
        out.push('\n');
    }
    Ok(text_reply(out))
}

/// The filters of the new CLIENT KILL form; `None` matches everything.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    kind: Option<ClientType>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, c: &ClientInfo, me: u64) -> bool {
        let eq = |want: &Option<Bytes>, have: &std::net::SocketAddr| {
            want.as_ref()
                .is_none_or(|w| w.as_ref() == have.to_string().as_bytes())
        };
        self.id.is_none_or(|id| c.id == id)
            && eq(&self.addr, &c.addr)
            && eq(&self.laddr, &c.laddr)
            && self.kind.is_none_or(|k| type_of(c) == k)
            && !(self.skipme && c.id == me)
    }
}

fn parse_kill_filters(argv: &[Bytes]) -> Result<KillFilter, CmdError> {
    let mut f = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    let mut i = 2;
    while i < argv.len() {
        let opt = &argv[i];
        let Some(val) = argv.get(i + 1) else {
            return Err(CmdError::Syntax);
        };
        if args::is(opt, "id") {
            match parse_i64(val) {
                Some(n) if n >= 1 => f.id = Some(n as u64),
                _ => return Err(CmdError::msg("ERR client-id should be greater than 0")),
            }
        } else if args::is(opt, "type") {
            f.kind = Some(client_type(val)?);
        } else if args::is(opt, "addr") {
            f.addr = Some(val.clone());
        } else if args::is(opt, "laddr") {
            f.laddr = Some(val.clone());
        } else if args::is(opt, "user") {
            // ACLs are not implemented: `default` is the only user and owns every connection.
            if val.as_ref() != b"default" {
                return Err(CmdError::msg(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(val)
                )));
            }
        } else if args::is(opt, "skipme") {
            if args::is(val, "yes") {
                f.skipme = true;
            } else if args::is(val, "no") {
                f.skipme = false;
            } else {
                return Err(CmdError::Syntax);
            }
        } else {
            // MAXAGE arrived in Redis 7.4; Redis 7.0 rejects it like any unknown option.
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(f)
}

fn kill(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let old_form = argv.len() == 3;
    let filter = if old_form {
        // `CLIENT KILL addr:port` may kill the caller itself.
        KillFilter {
            addr: Some(argv[2].clone()),
            ..KillFilter::default()
        }
    } else {
        parse_kill_filters(argv)?
    };
    let me = ctx.client.info.id;
    let mut killed = 0i64;
    for c in ctx.server.clients.all() {
        if !filter.matches(&c, me) {
            continue;
        }
        if c.id == me {
            // The caller gets its reply before the connection closes.
            ctx.client.close_after_reply = true;
        } else {
            c.kill();
        }
        killed += 1;
    }
    if !old_form {
        Ok(Reply::Integer(killed))
    } else if killed == 0 {
        Err(CmdError::msg("ERR No such client"))
    } else {
        Ok(Reply::Ok)
    }
}

fn pause(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mode = match argv.len() {
        3 => PauseMode::All,
        4 if args::is(&argv[3], "write") => PauseMode::Write,
        4 if args::is(&argv[3], "all") => PauseMode::All,
        4 => return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL")),
        _ => {
            // Redis's catch-all for a subcommand with the wrong argument count.
            return Err(CmdError::msg(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try CLIENT HELP.",
                String::from_utf8_lossy(&argv[1])
            )));
        }
    };
    let ms = parse_i64(&argv[2])
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let now = Instant::now();
    // A pause beyond what Instant can represent is, in practice, forever.
    let until = now
        .checked_add(Duration::from_millis(ms as u64))
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 86400)))
        .unwrap_or(now);
    // Expiry deletes nothing while paused, so the replication offset
    // stands still (a failover can wait for replicas to catch up).
    let until_ms = ctx.w.now_ms().saturating_add(ms as u64);
    ctx.server.pause.set(mode, until, until_ms);
    ctx.server.sync_write_pause();
    Ok(Reply::Ok)
}

fn unpause(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    // A failover's pause stays.
    ctx.server.pause.clear();
    ctx.server.sync_write_pause();
    Ok(Reply::Ok)
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client was blocked.
fn unblock(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let id = args::int(&argv[2])?;
    let wakeup = match argv.get(3) {
        None => Wakeup::Timeout,
        Some(a) if args::is(a, "timeout") && argv.len() == 4 => Wakeup::Timeout,
        Some(a) if args::is(a, "error") && argv.len() == 4 => Wakeup::Error(Reply::error(
            "UNBLOCKED client unblocked via CLIENT UNBLOCK",
        )),
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ))
        }
    };
    let unblocked = id >= 0 && ctx.server.blocking.unblock(id as u64, wakeup);
    Ok(Reply::Integer(unblocked as i64))
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if args::is(arg, "on") {
        Ok(true)
    } else if args::is(arg, "off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn no_evict(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let on = on_off(&argv[2])?;
    ctx.client.info.no_evict.store(on, Ordering::Relaxed);
    Ok(Reply::Ok)
}

/// The mode takes effect on this command's own reply (dispatch applies it
/// when emitting): ON answers +OK, OFF and SKIP answer nothing, and SKIP also
/// swallows the next command's reply.
fn reply(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let arg = &argv[2];
    ctx.client.reply_mode = if args::is(arg, "on") {
        ReplyMode::On
    } else if args::is(arg, "off") {
        ReplyMode::Off
    } else if args::is(arg, "skip") {
        // As in Redis, SKIP does nothing while replies are OFF.
        if ctx.client.reply_mode == ReplyMode::Off {
            ReplyMode::Off
        } else {
            ReplyMode::Skip
        }
    } else {
        return Err(CmdError::Syntax);
    };
    Ok(Reply::Ok)
}

fn getredir(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(-1))
}

fn trackinginfo(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Map(vec![
        (
            Reply::bulk_str("flags"),
            Reply::Set(vec![Reply::bulk_str("off")]),
        ),
        (Reply::bulk_str("redirect"), Reply::Integer(-1)),
        (Reply::bulk_str("prefixes"), Reply::Array(vec![])),
    ]))
}

fn caching(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::msg(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled",
    ))
}

/// Redis 7.0's text, without TRACKING, which Strata lacks.
const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// Lines of a HELP reply, as status strings (Redis's `addReplyHelp`).
pub fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::status(l)).collect())
}

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(help_reply(HELP))
}
