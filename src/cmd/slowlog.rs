//! SLOWLOG GET / LEN / RESET / HELP over the log kept in
//! `server::slowlog` (which dispatch feeds after every command).

use bytes::Bytes;

use super::flags::*;
use super::{args, CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::Reply;

const SUB: CommandSpec = CommandSpec {
    group: "server",
    since: "2.2.12",
    flags: ADMIN | LOADING | STALE,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "slowlog",
    arity: -2,
    group: "server",
    since: "2.2.12",
    summary: "A container for slow log commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "get",
            arity: -2,
            summary: "Get the slow log's entries",
            complexity: "O(N) where N is the number of entries returned",
            handler: Some(get),
            ..SUB
        },
        CommandSpec {
            name: "len",
            arity: 2,
            summary: "Get the slow log's length",
            handler: Some(len),
            ..SUB
        },
        CommandSpec {
            name: "reset",
            arity: 2,
            summary: "Clear all entries from the slow log",
            complexity: "O(N) where N is the number of entries in the slowlog",
            handler: Some(reset),
            ..SUB
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: LOADING | STALE,
            since: "6.2.0",
            summary: "Show helpful text about the different subcommands",
            handler: Some(help),
            ..SUB
        },
    ],
    ..CommandSpec::BASE
}];

/// Redis's `addReplySubcommandSyntaxError`, for forms the table's arity
/// lets through but the subcommand refuses.
pub fn subcommand_syntax_error(argv: &[Bytes]) -> CmdError {
    let sub = &argv[1][..argv[1].len().min(128)];
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(sub),
        String::from_utf8_lossy(&argv[0]).to_ascii_uppercase()
    ))
}

fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 3 {
        return Err(subcommand_syntax_error(argv));
    }
    let count = match argv.get(2) {
        None => 10,
        Some(a) => match args::int(a) {
            Ok(-1) => usize::MAX,
            Ok(n) if n >= 0 => n as usize,
            _ => {
                return Err(CmdError::msg(
                    "ERR count should be greater than or equal to -1",
                ))
            }
        },
    };
    let entries = ctx.server.slowlog.latest(count);
    Ok(Reply::Array(
        entries
            .into_iter()
            .map(|e| {
                Reply::Array(vec![
                    Reply::Integer(e.id as i64),
                    Reply::Integer(e.time as i64),
                    Reply::Integer(e.duration_us as i64),
                    Reply::Array(e.argv.into_iter().map(Reply::Bulk).collect()),
                    Reply::bulk(e.peer),
                    Reply::Bulk(e.name),
                ])
            })
            .collect(),
    ))
}

fn len(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.server.slowlog.len() as i64))
}

fn reset(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.server.slowlog.reset();
    Ok(Reply::Ok)
}

const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(super::config::help_reply(HELP))
}
