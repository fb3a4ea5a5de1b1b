//! COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP), built from the command table so they always
//! describe what the server really implements. Clients (redis-cli, client
//! libraries, cluster proxies) call these at start-up.
//!
//! Differences from Redis 7.0: COMMAND DOCS has no `arguments`/`history`
//! (the table does not describe arguments), key specs are one simple
//! `range` spec derived from first/last/step with flags guessed from the
//! command's read/write flag, and there are no command tips.

use bytes::Bytes;

use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;

const SUB: CommandSpec = CommandSpec {
    group: "server",
    since: "7.0.0",
    flags: LOADING | STALE,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "command",
    arity: -1,
    flags: LOADING | STALE,
    group: "server",
    since: "2.8.13",
    summary: "Get array of Redis command details",
    complexity: "O(N) where N is the total number of Redis commands",
    handler: Some(command_all),
    subcommands: &[
        CommandSpec {
            name: "count",
            arity: 2,
            since: "2.8.13",
            summary: "Get total number of Redis commands",
            handler: Some(count),
            ..SUB
        },
        CommandSpec {
            name: "info",
            arity: -2,
            since: "2.8.13",
            summary:
                "Get array of specific Redis command details, or all when no argument is given.",
            complexity: "O(N) where N is the number of commands to look up",
            handler: Some(info),
            ..SUB
        },
        CommandSpec {
            name: "docs",
            arity: -2,
            summary: "Get array of specific Redis command documentation",
            complexity: "O(N) where N is the number of commands to look up",
            handler: Some(docs),
            ..SUB
        },
        CommandSpec {
            name: "list",
            arity: -2,
            summary: "Get an array of Redis command names",
            complexity: "O(N) where N is the total number of Redis commands",
            handler: Some(list),
            ..SUB
        },
        CommandSpec {
            name: "getkeys",
            arity: -4,
            since: "2.8.13",
            summary: "Extract keys given a full Redis command",
            complexity: "O(N) where N is the number of arguments to the command",
            handler: Some(getkeys),
            ..SUB
        },
        CommandSpec {
            name: "getkeysandflags",
            arity: -4,
            summary: "Extract keys and access flags given a full Redis command",
            complexity: "O(N) where N is the number of arguments to the command",
            handler: Some(getkeysandflags),
            ..SUB
        },
        CommandSpec {
            name: "help",
            arity: 2,
            since: "5.0.0",
            summary: "Show helpful text about the different subcommands",
            complexity: "O(1)",
            handler: Some(help),
            ..SUB
        },
    ],
    ..CommandSpec::BASE
}];

/// Redis's ACL categories in the order COMMAND INFO prints them.
const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The category a command group implies (Redis declares it per command; the
/// group is how Strata's table says the same thing).
fn group_category(group: &str) -> Option<&'static str> {
    Some(match group {
        "generic" => "keyspace",
        "string" => "string",
        "list" => "list",
        "set" => "set",
        "sorted_set" => "sortedset",
        "hash" => "hash",
        "bitmap" => "bitmap",
        "hyperloglog" => "hyperloglog",
        "geo" => "geo",
        "stream" => "stream",
        "pubsub" => "pubsub",
        "connection" => "connection",
        "transactions" => "transaction",
        "scripting" => "scripting",
        _ => return None,
    })
}

/// ACL categories as Redis derives them: the group's own category plus
/// the implicit ones from flags (write, read, admin+dangerous, fast or slow,
/// blocking, pubsub).
pub fn acl_categories(spec: &CommandSpec, parent: Option<&CommandSpec>) -> Vec<&'static str> {
    let mut set: Vec<&'static str> = Vec::new();
    // Container specs carry no flags of their own; only their subcommands
    // name the group's category (as Redis's tables do for CONFIG, CLIENT...).
    if parent.is_some() || spec.subcommands.is_empty() {
        if let Some(c) = group_category(spec.group) {
            set.push(c);
        }
    }
    // COMMAND is in the server group but Redis files it under @connection.
    if spec.name == "command" || parent.is_some_and(|p| p.name == "command") {
        set.push("connection");
    }
    let mut add = |flag: u32, cats: &[&'static str]| {
        if spec.has(flag) {
            set.extend_from_slice(cats);
        }
    };
    add(WRITE, &["write"]);
    add(READONLY, &["read"]);
    add(ADMIN, &["admin", "dangerous"]);
    add(PUBSUB, &["pubsub"]);
    add(BLOCKING, &["blocking"]);
    if spec.has(FAST) {
        set.push("fast");
    } else {
        set.push("slow");
    }
    CATEGORIES
        .iter()
        .copied()
        .filter(|c| set.contains(c))
        .collect()
}

fn flag_names(spec: &CommandSpec) -> Vec<Reply> {
    NAMES
        .iter()
        .filter(|(f, _)| spec.has(*f))
        .map(|(_, n)| Reply::status(n))
        .collect()
}

fn fullname(spec: &CommandSpec, parent: Option<&CommandSpec>) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, spec.name),
        None => spec.name.to_string(),
    }
}

fn map(pairs: Vec<(&'static str, Reply)>) -> Reply {
    Reply::Map(
        pairs
            .into_iter()
            .map(|(k, v)| (Reply::bulk_str(k), v))
            .collect(),
    )
}

/// Access flags of a command's keys, guessed from its read/write flag.
fn key_flags(spec: &CommandSpec) -> &'static [&'static str] {
    if spec.has(WRITE) {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    }
}

/// One Redis 7.0 key spec for a first/last/step key range.
fn key_specs(spec: &CommandSpec) -> Vec<Reply> {
    let k = spec.keys;
    if k.first <= 0 {
        return vec![];
    }
    let lastkey = if k.last < 0 { k.last } else { k.last - k.first };
    vec![map(vec![
        (
            "flags",
            Reply::Set(key_flags(spec).iter().map(|f| Reply::status(f)).collect()),
        ),
        (
            "begin_search",
            map(vec![
                ("type", Reply::bulk_str("index")),
                ("spec", map(vec![("index", Reply::Integer(k.first as i64))])),
            ]),
        ),
        (
            "find_keys",
            map(vec![
                ("type", Reply::bulk_str("range")),
                (
                    "spec",
                    map(vec![
                        ("lastkey", Reply::Integer(lastkey as i64)),
                        ("keystep", Reply::Integer(k.step as i64)),
                        ("limit", Reply::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

/// A COMMAND INFO entry in Redis 7.0's shape.
fn info_entry(spec: &CommandSpec, parent: Option<&CommandSpec>) -> Reply {
    let k: KeySpec = spec.keys;
    Reply::Array(vec![
        Reply::bulk_str(&fullname(spec, parent)),
        Reply::Integer(spec.arity as i64),
        Reply::Set(flag_names(spec)),
        Reply::Integer(k.first as i64),
        Reply::Integer(k.last as i64),
        Reply::Integer(k.step as i64),
        Reply::Set(
            acl_categories(spec, parent)
                .into_iter()
                .map(|c| Reply::Status(Bytes::from(format!("@{c}"))))
                .collect(),
        ),
        Reply::Set(vec![]),
        Reply::Set(key_specs(spec)),
        Reply::Set(
            spec.subcommands
                .iter()
                .map(|s| info_entry(s, Some(spec)))
                .collect(),
        ),
    ])
}

/// A COMMAND DOCS entry (without arguments).
fn docs_entry(spec: &CommandSpec, parent: Option<&CommandSpec>) -> Reply {
    let mut fields = vec![
        ("summary", Reply::bulk_str(spec.summary)),
        ("since", Reply::bulk_str(spec.since)),
        ("group", Reply::bulk_str(spec.group)),
        ("complexity", Reply::bulk_str(spec.complexity)),
    ];
    if !spec.subcommands.is_empty() {
        fields.push((
            "subcommands",
            Reply::Map(
                spec.subcommands
                    .iter()
                    .map(|s| {
                        (
                            Reply::bulk_str(&fullname(s, Some(spec))),
                            docs_entry(s, Some(spec)),
                        )
                    })
                    .collect(),
            ),
        ));
    }
    let _ = parent;
    map(fields)
}

/// Finds `name` or `container|sub`, case-insensitively.
fn find(
    ctx: &Ctx<'_>,
    name: &[u8],
) -> Option<(&'static CommandSpec, Option<&'static CommandSpec>)> {
    match name.iter().position(|&b| b == b'|') {
        Some(bar) => {
            let parent = ctx.server.commands.get(&name[..bar])?;
            let sub = parent
                .subcommands
                .iter()
                .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&name[bar + 1..]))?;
            Some((sub, Some(parent)))
        }
        None => ctx.server.commands.get(name).map(|s| (s, None)),
    }
}

fn command_all(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 1 {
        return Err(ctx.unknown_subcommand(&argv[1]));
    }
    Ok(Reply::Array(
        ctx.server
            .commands
            .all()
            .map(|s| info_entry(s, None))
            .collect(),
    ))
}

fn count(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.server.commands.all().count() as i64))
}

fn info(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() == 2 {
        return command_all(ctx, &argv[..1]);
    }
    Ok(Reply::Array(
        argv[2..]
            .iter()
            .map(|name| match find(ctx, name) {
                Some((spec, parent)) => info_entry(spec, parent),
                None => Reply::Nil,
            })
            .collect(),
    ))
}

fn docs(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let entries: Vec<(Reply, Reply)> = if argv.len() == 2 {
        ctx.server
            .commands
            .all()
            .map(|s| (Reply::bulk_str(s.name), docs_entry(s, None)))
            .collect()
    } else {
        argv[2..]
            .iter()
            .filter_map(|name| {
                find(ctx, name).map(|(spec, parent)| {
                    (
                        Reply::bulk_str(&fullname(spec, parent)),
                        docs_entry(spec, parent),
                    )
                })
            })
            .collect()
    };
    Ok(Reply::Map(entries))
}

/// Every command and subcommand with its parent.
fn every(ctx: &Ctx<'_>) -> Vec<(&'static CommandSpec, Option<&'static CommandSpec>)> {
    let mut out = Vec::new();
    for spec in ctx.server.commands.all() {
        out.push((spec, None));
        out.extend(spec.subcommands.iter().map(|s| (s, Some(spec))));
    }
    out
}

fn list(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let all = every(ctx);
    let names = |keep: &dyn Fn(&CommandSpec, Option<&CommandSpec>, &str) -> bool| {
        Reply::Array(
            all.iter()
                .map(|(s, p)| (s, p, fullname(s, *p)))
                .filter(|(s, p, n)| keep(s, **p, n))
                .map(|(_, _, n)| Reply::bulk_str(&n))
                .collect(),
        )
    };
    match argv.len() {
        2 => Ok(names(&|_, _, _| true)),
        5 if super::args::is(&argv[2], "filterby") => {
            let value = &argv[4];
            if super::args::is(&argv[3], "module") {
                // Strata has no modules.
                Ok(Reply::Array(vec![]))
            } else if super::args::is(&argv[3], "aclcat") {
                let cat = String::from_utf8_lossy(value).to_ascii_lowercase();
                Ok(names(&|s, p, _| {
                    acl_categories(s, p).contains(&cat.as_str())
                }))
            } else if super::args::is(&argv[3], "pattern") {
                Ok(names(&|_, _, n| {
                    crate::glob::glob_match(value, n.as_bytes(), true)
                }))
            } else {
                Err(CmdError::Syntax)
            }
        }
        _ => Err(CmdError::Syntax),
    }
}

/// The keys of the command in `argv[2..]`, with its spec, or Redis's errors.
fn keys_of(ctx: &Ctx<'_>, argv: &[Bytes]) -> Result<(&'static CommandSpec, Vec<Bytes>), CmdError> {
    let cmd = &argv[2..];
    let spec = ctx
        .server
        .commands
        .lookup(cmd)
        .map_err(|_| CmdError::msg("ERR Invalid command specified"))?
        .spec;
    if !spec.arity_ok(cmd.len()) {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let k = spec.keys;
    if k.first <= 0 {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    let argc = cmd.len() as i32;
    let last = if k.last < 0 { argc + k.last } else { k.last };
    let step = k.step.max(1);
    let mut keys = Vec::new();
    let mut i = k.first;
    while i <= last && i < argc {
        keys.push(cmd[i as usize].clone());
        i += step;
    }
    if keys.is_empty() {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    Ok((spec, keys))
}

fn getkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (_, keys) = keys_of(ctx, argv)?;
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

fn getkeysandflags(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (spec, keys) = keys_of(ctx, argv)?;
    let flags = key_flags(spec);
    Ok(Reply::Array(
        keys.into_iter()
            .map(|k| {
                Reply::Array(vec![
                    Reply::Bulk(k),
                    Reply::Set(flags.iter().map(|f| Reply::status(f)).collect()),
                ])
            })
            .collect(),
    ))
}

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(super::config::help_reply(HELP))
}
