//! COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS,
//! GETKEYSANDFLAGS, HELP), built from the command table so they always
//! describe what the server really implements. Clients (redis-cli, client
//! libraries, cluster proxies) call these at start-up.
//!
//! Differences from Redis 7.0: COMMAND DOCS has no `arguments`/`history`
//! (the table does not describe arguments); key specs are one simple
//! `range` spec derived from first/last/step (commands Redis describes with
//! several specs, e.g. SMOVE or ZUNIONSTORE, get one). Key-spec flags, notes
//! and command tips are Redis 7.0.15's own, copied as data from its
//! COMMAND INFO output, for the commands Strata implements.

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
        "sorted_set" | "sorted-set" => "sortedset",
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
/// blocking, pubsub), corrected by the commands Redis declares differently.
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
    if let Some((added, removed)) = CATEGORY_EXCEPTIONS
        .iter()
        .find(|(n, _, _)| *n == fullname(spec, parent))
        .map(|(_, a, r)| (*a, *r))
    {
        set.extend_from_slice(added);
        set.retain(|c| !removed.contains(c));
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

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Access flags of a command's keys: Redis's own for the commands it
/// describes with one key spec, otherwise guessed from the read/write flag.
fn key_flags(spec: &CommandSpec, parent: Option<&CommandSpec>) -> &'static [&'static str] {
    if let Some(flags) = lookup(KEY_FLAGS, &fullname(spec, parent)) {
        return flags;
    }
    if spec.has(WRITE) {
        &["RW", "update"]
    } else {
        &["RO", "access"]
    }
}

/// Redis 7.0 key specs: one for a first/last/step key range, and one of
/// type `keynum` for keys that follow a count.
fn key_specs(spec: &CommandSpec, parent: Option<&CommandSpec>) -> Vec<Reply> {
    let mut specs = range_key_spec(spec, parent);
    if let Some(at) = spec.numkeys_at {
        specs.push(map(vec![
            (
                "flags",
                Reply::Set(
                    key_flags(spec, parent)
                        .iter()
                        .map(|f| Reply::status(f))
                        .collect(),
                ),
            ),
            (
                "begin_search",
                map(vec![
                    ("type", Reply::bulk_str("index")),
                    ("spec", map(vec![("index", Reply::Integer(at as i64))])),
                ]),
            ),
            (
                "find_keys",
                map(vec![
                    ("type", Reply::bulk_str("keynum")),
                    (
                        "spec",
                        map(vec![
                            ("keynumidx", Reply::Integer(0)),
                            ("firstkey", Reply::Integer(1)),
                            ("keystep", Reply::Integer(1)),
                        ]),
                    ),
                ]),
            ),
        ]));
    }
    specs
}

/// The key spec of a first/last/step key range, if the command has one.
fn range_key_spec(spec: &CommandSpec, parent: Option<&CommandSpec>) -> Vec<Reply> {
    let k = spec.keys;
    if k.first <= 0 {
        return vec![];
    }
    let lastkey = if k.last < 0 { k.last } else { k.last - k.first };
    let mut fields = Vec::with_capacity(4);
    if let Some(notes) = lookup(KEY_NOTES, &fullname(spec, parent)) {
        fields.push(("notes", Reply::bulk_str(notes)));
    }
    fields.extend([
        (
            "flags",
            Reply::Set(
                key_flags(spec, parent)
                    .iter()
                    .map(|f| Reply::status(f))
                    .collect(),
            ),
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
    ]);
    vec![map(fields)]
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
        Reply::Set(
            lookup(TIPS, &fullname(spec, parent))
                .unwrap_or_default()
                .iter()
                .map(|t| Reply::bulk_str(t))
                .collect(),
        ),
        Reply::Set(key_specs(spec, parent)),
        Reply::Set(
            spec.subcommands
                .iter()
                .map(|s| info_entry(s, Some(spec)))
                .collect(),
        ),
    ])
}

/// A COMMAND DOCS entry (without arguments).
fn docs_entry(spec: &CommandSpec) -> Reply {
    let mut fields = vec![
        ("summary", Reply::bulk_str(spec.summary)),
        ("since", Reply::bulk_str(spec.since)),
        ("group", Reply::bulk_str(spec.group)),
    ];
    // MONITOR documents no complexity in Redis 7.0.
    if !spec.complexity.is_empty() {
        fields.push(("complexity", Reply::bulk_str(spec.complexity)));
    }
    if !spec.subcommands.is_empty() {
        fields.push((
            "subcommands",
            Reply::Map(
                spec.subcommands
                    .iter()
                    .map(|s| (Reply::bulk_str(&fullname(s, Some(spec))), docs_entry(s)))
                    .collect(),
            ),
        ));
    }
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
            .map(|s| (Reply::bulk_str(s.name), docs_entry(s)))
            .collect()
    } else {
        argv[2..]
            .iter()
            .filter_map(|name| {
                find(ctx, name).map(|(spec, parent)| {
                    (Reply::bulk_str(&fullname(spec, parent)), docs_entry(spec))
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
type Found = (&'static CommandSpec, Option<&'static CommandSpec>);

fn keys_of(ctx: &Ctx<'_>, argv: &[Bytes]) -> Result<(Found, Vec<Bytes>), CmdError> {
    let cmd = &argv[2..];
    let resolved = ctx
        .server
        .commands
        .lookup(cmd)
        .map_err(|_| CmdError::msg("ERR Invalid command specified"))?;
    let spec = resolved.spec;
    if !spec.arity_ok(cmd.len()) {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys: Vec<Bytes> = spec
        .key_args(cmd)
        .ok_or_else(|| CmdError::msg("ERR Invalid arguments specified for command"))?
        .into_iter()
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    Ok(((spec, resolved.parent), keys))
}

/// SORT's STORE destination, found the way Redis's `sortGetKeys` skips
/// the other options and their arguments (the last STORE wins).
pub(crate) fn sort_store_key(cmd: &[Bytes]) -> Option<&Bytes> {
    let mut found = None;
    let mut i = 2;
    while i < cmd.len() {
        let skip = [("limit", 2), ("get", 1), ("by", 1)]
            .iter()
            .find(|(name, _)| super::args::is(&cmd[i], name))
            .map(|(_, n)| *n);
        if let Some(n) = skip {
            i += n;
        } else if super::args::is(&cmd[i], "store") && i + 1 < cmd.len() {
            found = Some(&cmd[i + 1]);
            i += 1;
        }
        i += 1;
    }
    found
}

fn getkeys(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (_, keys) = keys_of(ctx, argv)?;
    Ok(Reply::Array(keys.into_iter().map(Reply::Bulk).collect()))
}

fn getkeysandflags(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let ((spec, parent), keys) = keys_of(ctx, argv)?;
    let mut flags = key_flags(spec, parent);
    // `variable_flags`: Redis works out the real flags from the arguments.
    // SET is the only such command in 7.0: with GET it also reads the old
    // value, without it it only overwrites.
    if flags.contains(&"variable_flags") && spec.name == "set" {
        let with_get = argv
            .get(5..)
            .is_some_and(|opts| opts.iter().any(|a| super::args::is(a, "get")));
        flags = if with_get {
            &["RW", "access", "update"]
        } else {
            &["OW", "update"]
        };
    }
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

/// Command tips Redis 7.0.15 reports (COMMAND INFO element 8), by full name.
#[rustfmt::skip]
const TIPS: &[(&str, &[&str])] = &[
    ("client|info", &["nondeterministic_output"]),
    ("client|list", &["nondeterministic_output"]),
    ("cluster|bumpepoch", &["nondeterministic_output"]),
    ("cluster|count-failure-reports", &["nondeterministic_output"]),
    ("cluster|getkeysinslot", &["nondeterministic_output"]),
    ("cluster|info", &["nondeterministic_output"]),
    ("cluster|links", &["nondeterministic_output"]),
    ("cluster|nodes", &["nondeterministic_output"]),
    ("cluster|replicas", &["nondeterministic_output"]),
    ("cluster|shards", &["nondeterministic_output"]),
    ("cluster|slaves", &["nondeterministic_output"]),
    ("cluster|slots", &["nondeterministic_output"]),
    ("command", &["nondeterministic_output_order"]),
    ("command|docs", &["nondeterministic_output_order"]),
    ("command|info", &["nondeterministic_output_order"]),
    ("command|list", &["nondeterministic_output_order"]),
    ("config|set", &["request_policy:all_nodes", "response_policy:all_succeeded"]),
    ("dbsize", &["request_policy:all_shards", "response_policy:agg_sum"]),
    ("del", &["request_policy:multi_shard", "response_policy:agg_sum"]),
    ("dump", &["nondeterministic_output"]),
    ("exists", &["request_policy:multi_shard", "response_policy:agg_sum"]),
    ("flushall", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("flushdb", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("function|delete", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("function|flush", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("function|kill", &["request_policy:all_shards", "response_policy:one_succeeded"]),
    ("function|list", &["nondeterministic_output_order"]),
    ("function|load", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("function|restore", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("function|stats", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    ("hgetall", &["nondeterministic_output_order"]),
    ("hkeys", &["nondeterministic_output_order"]),
    ("hrandfield", &["nondeterministic_output"]),
    ("hscan", &["nondeterministic_output"]),
    ("hvals", &["nondeterministic_output_order"]),
    ("info", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    ("keys", &["request_policy:all_shards", "nondeterministic_output_order"]),
    ("lastsave", &["nondeterministic_output"]),
    ("latency|doctor", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
    ("latency|graph", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
    ("latency|histogram", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
    ("latency|history", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
    ("latency|latest", &["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
    ("latency|reset", &["request_policy:all_nodes", "response_policy:all_succeeded"]),
    ("memory|doctor", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    ("memory|malloc-stats", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    ("memory|purge", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("memory|stats", &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
    ("mget", &["request_policy:multi_shard"]),
    ("migrate", &["nondeterministic_output"]),
    ("module|list", &["nondeterministic_output_order"]),
    ("mset", &["request_policy:multi_shard", "response_policy:all_succeeded"]),
    ("msetnx", &["request_policy:multi_shard", "response_policy:agg_min"]),
    ("object|encoding", &["nondeterministic_output"]),
    ("object|freq", &["nondeterministic_output"]),
    ("object|idletime", &["nondeterministic_output"]),
    ("object|refcount", &["nondeterministic_output"]),
    ("ping", &["request_policy:all_shards", "response_policy:all_succeeded"]),
    ("pttl", &["nondeterministic_output"]),
    ("randomkey", &["request_policy:all_shards", "nondeterministic_output"]),
    ("scan", &["nondeterministic_output", "request_policy:special"]),
    ("script|exists", &["request_policy:all_shards", "response_policy:agg_logical_and"]),
    ("script|flush", &["request_policy:all_nodes", "response_policy:all_succeeded"]),
    ("script|kill", &["request_policy:all_shards", "response_policy:one_succeeded"]),
    ("script|load", &["request_policy:all_nodes", "response_policy:all_succeeded"]),
    ("sdiff", &["nondeterministic_output_order"]),
    ("sinter", &["nondeterministic_output_order"]),
    ("slowlog|get", &["request_policy:all_nodes", "nondeterministic_output"]),
    ("slowlog|len", &["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"]),
    ("slowlog|reset", &["request_policy:all_nodes", "response_policy:all_succeeded"]),
    ("smembers", &["nondeterministic_output_order"]),
    ("spop", &["nondeterministic_output"]),
    ("srandmember", &["nondeterministic_output"]),
    ("sscan", &["nondeterministic_output"]),
    ("sunion", &["nondeterministic_output_order"]),
    ("time", &["nondeterministic_output"]),
    ("touch", &["request_policy:multi_shard", "response_policy:agg_sum"]),
    ("ttl", &["nondeterministic_output"]),
    ("unlink", &["request_policy:multi_shard", "response_policy:agg_sum"]),
    ("wait", &["request_policy:all_shards", "response_policy:agg_min"]),
    ("xadd", &["nondeterministic_output"]),
    ("xautoclaim", &["nondeterministic_output"]),
    ("xclaim", &["nondeterministic_output"]),
    ("xinfo|consumers", &["nondeterministic_output"]),
    ("xpending", &["nondeterministic_output"]),
    ("xtrim", &["nondeterministic_output"]),
    ("zrandmember", &["nondeterministic_output"]),
    ("zscan", &["nondeterministic_output"]),
];

/// Key-spec flags Redis 7.0.15 reports for commands with a single key spec.
#[rustfmt::skip]
const KEY_FLAGS: &[(&str, &[&str])] = &[
    ("append", &["RW", "insert"]),
    ("bitcount", &["RO", "access"]),
    ("bitfield", &["RW", "access", "update", "variable_flags"]),
    ("bitfield_ro", &["RO", "access"]),
    ("bitpos", &["RO", "access"]),
    ("blmpop", &["RW", "access", "delete"]),
    ("blpop", &["RW", "access", "delete"]),
    ("brpop", &["RW", "access", "delete"]),
    ("bzmpop", &["RW", "access", "delete"]),
    ("bzpopmax", &["RW", "access", "delete"]),
    ("bzpopmin", &["RW", "access", "delete"]),
    ("decr", &["RW", "access", "update"]),
    ("decrby", &["RW", "access", "update"]),
    ("del", &["RM", "delete"]),
    ("dump", &["RO", "access"]),
    ("eval", &["RW", "access", "update"]),
    ("eval_ro", &["RO", "access"]),
    ("evalsha", &["RW", "access", "update"]),
    ("evalsha_ro", &["RO", "access"]),
    ("exists", &["RO"]),
    ("expire", &["RW", "update"]),
    ("expireat", &["RW", "update"]),
    ("expiretime", &["RO", "access"]),
    ("fcall", &["RW", "access", "update"]),
    ("fcall_ro", &["RO", "access"]),
    ("geoadd", &["RW", "update"]),
    ("geodist", &["RO", "access"]),
    ("geohash", &["RO", "access"]),
    ("geopos", &["RO", "access"]),
    ("georadius_ro", &["RO", "access"]),
    ("georadiusbymember_ro", &["RO", "access"]),
    ("geosearch", &["RO", "access"]),
    ("get", &["RO", "access"]),
    ("getbit", &["RO", "access"]),
    ("getdel", &["RW", "access", "delete"]),
    ("getex", &["RW", "access", "update"]),
    ("getrange", &["RO", "access"]),
    ("getset", &["RW", "access", "update"]),
    ("hdel", &["RW", "delete"]),
    ("hexists", &["RO"]),
    ("hget", &["RO", "access"]),
    ("hgetall", &["RO", "access"]),
    ("hincrby", &["RW", "access", "update"]),
    ("hincrbyfloat", &["RW", "access", "update"]),
    ("hkeys", &["RO", "access"]),
    ("hlen", &["RO"]),
    ("hmget", &["RO", "access"]),
    ("hmset", &["RW", "update"]),
    ("hrandfield", &["RO", "access"]),
    ("hscan", &["RO", "access"]),
    ("hset", &["RW", "update"]),
    ("hsetnx", &["RW", "insert"]),
    ("hstrlen", &["RO"]),
    ("hvals", &["RO", "access"]),
    ("incr", &["RW", "access", "update"]),
    ("incrby", &["RW", "access", "update"]),
    ("incrbyfloat", &["RW", "access", "update"]),
    ("lcs", &["RO", "access"]),
    ("lindex", &["RO", "access"]),
    ("linsert", &["RW", "insert"]),
    ("llen", &["RO"]),
    ("lmpop", &["RW", "access", "delete"]),
    ("lpop", &["RW", "access", "delete"]),
    ("lpos", &["RO", "access"]),
    ("lpush", &["RW", "insert"]),
    ("lpushx", &["RW", "insert"]),
    ("lrange", &["RO", "access"]),
    ("lrem", &["RW", "delete"]),
    ("lset", &["RW", "update"]),
    ("ltrim", &["RW", "delete"]),
    ("memory|usage", &["RO"]),
    ("mget", &["RO", "access"]),
    ("move", &["RW", "access", "update"]),
    ("mset", &["OW", "update"]),
    ("msetnx", &["OW", "insert"]),
    ("object|encoding", &["RO"]),
    ("object|freq", &["RO"]),
    ("object|idletime", &["RO"]),
    ("object|refcount", &["RO"]),
    ("persist", &["RW", "update"]),
    ("pexpire", &["RW", "update"]),
    ("pexpireat", &["RW", "update"]),
    ("pexpiretime", &["RO", "access"]),
    ("pfadd", &["RW", "insert"]),
    ("pfcount", &["RW", "access"]),
    ("pfdebug", &["RW", "access"]),
    ("psetex", &["OW", "update"]),
    ("pttl", &["RO", "access"]),
    ("restore", &["OW", "update"]),
    ("restore-asking", &["OW", "update"]),
    ("rpop", &["RW", "access", "delete"]),
    ("rpush", &["RW", "insert"]),
    ("rpushx", &["RW", "insert"]),
    ("sadd", &["RW", "insert"]),
    ("scard", &["RO"]),
    ("sdiff", &["RO", "access"]),
    ("set", &["RW", "access", "update", "variable_flags"]),
    ("setbit", &["RW", "access", "update"]),
    ("setex", &["OW", "update"]),
    ("setnx", &["OW", "insert"]),
    ("setrange", &["RW", "update"]),
    ("sinter", &["RO", "access"]),
    ("sintercard", &["RO", "access"]),
    ("sismember", &["RO"]),
    ("smembers", &["RO", "access"]),
    ("smismember", &["RO", "access"]),
    ("spop", &["RW", "access", "delete"]),
    ("spublish", &["not_key"]),
    ("srandmember", &["RO", "access"]),
    ("srem", &["RW", "delete"]),
    ("sscan", &["RO", "access"]),
    ("ssubscribe", &["not_key"]),
    ("strlen", &["RO"]),
    ("substr", &["RO", "access"]),
    ("sunion", &["RO", "access"]),
    ("sunsubscribe", &["not_key"]),
    ("touch", &["RO"]),
    ("ttl", &["RO", "access"]),
    ("type", &["RO"]),
    ("unlink", &["RM", "delete"]),
    ("watch", &["RO"]),
    ("xack", &["RW", "update"]),
    ("xadd", &["RW", "update"]),
    ("xautoclaim", &["RW", "delete"]),
    ("xclaim", &["RW", "update"]),
    ("xdel", &["RW", "delete"]),
    ("xgroup|create", &["RW", "insert"]),
    ("xgroup|createconsumer", &["RW", "insert"]),
    ("xgroup|delconsumer", &["RW", "delete"]),
    ("xgroup|destroy", &["RW", "delete"]),
    ("xgroup|setid", &["RW", "update"]),
    ("xinfo|consumers", &["RO", "access"]),
    ("xinfo|groups", &["RO", "access"]),
    ("xinfo|stream", &["RO", "access"]),
    ("xlen", &["RO"]),
    ("xpending", &["RO", "access"]),
    ("xrange", &["RO", "access"]),
    ("xread", &["RO", "access"]),
    ("xreadgroup", &["RO", "access"]),
    ("xrevrange", &["RO", "access"]),
    ("xsetid", &["RW", "update"]),
    ("xtrim", &["RW", "delete"]),
    ("zadd", &["RW", "update"]),
    ("zcard", &["RO"]),
    ("zcount", &["RO", "access"]),
    ("zdiff", &["RO", "access"]),
    ("zincrby", &["RW", "access", "update"]),
    ("zinter", &["RO", "access"]),
    ("zintercard", &["RO", "access"]),
    ("zlexcount", &["RO", "access"]),
    ("zmpop", &["RW", "access", "delete"]),
    ("zmscore", &["RO", "access"]),
    ("zpopmax", &["RW", "access", "delete"]),
    ("zpopmin", &["RW", "access", "delete"]),
    ("zrandmember", &["RO", "access"]),
    ("zrange", &["RO", "access"]),
    ("zrangebylex", &["RO", "access"]),
    ("zrangebyscore", &["RO", "access"]),
    ("zrank", &["RO", "access"]),
    ("zrem", &["RW", "delete"]),
    ("zremrangebylex", &["RW", "delete"]),
    ("zremrangebyrank", &["RW", "delete"]),
    ("zremrangebyscore", &["RW", "delete"]),
    ("zrevrange", &["RO", "access"]),
    ("zrevrangebylex", &["RO", "access"]),
    ("zrevrangebyscore", &["RO", "access"]),
    ("zrevrank", &["RO", "access"]),
    ("zscan", &["RO", "access"]),
    ("zscore", &["RO", "access"]),
    ("zunion", &["RO", "access"]),
];

/// Key-spec notes Redis 7.0.15 reports for commands with a single key spec.
#[rustfmt::skip]
const KEY_NOTES: &[(&str, &str)] = &[
    ("bitfield", "This command allows both access and modification of the key"),
    ("eval", "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
    ("eval_ro", "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
    ("fcall", "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"),
    ("fcall_ro", "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"),
    ("getex", "RW and UPDATE because it changes the TTL"),
    ("pfcount", "RW because it may change the internal representation of the key, and propagate to replicas"),
    ("set", "RW and ACCESS due to the optional `GET` argument"),
    ("xadd", "UPDATE instead of INSERT because of the optional trimming feature"),
];

/// ACL categories Redis 7.0.15 declares beyond (or against) what the group
/// and flags imply: `(name, added, removed)`.
#[rustfmt::skip]
const CATEGORY_EXCEPTIONS: &[(&str, &[&str], &[&str])] = &[
    ("asking", &["connection"], &[]),
    ("dbsize", &["keyspace"], &[]),
    ("eval_ro", &[], &["read"]),
    ("evalsha_ro", &[], &["read"]),
    ("fcall_ro", &[], &["read"]),
    ("flushall", &["dangerous", "keyspace"], &[]),
    ("flushdb", &["dangerous", "keyspace"], &[]),
    ("info", &["dangerous"], &[]),
    ("keys", &["dangerous"], &[]),
    ("lastsave", &["admin", "dangerous"], &[]),
    ("migrate", &["dangerous"], &[]),
    ("pubsub|help", &[], &["pubsub"]),
    ("readonly", &["connection"], &[]),
    ("readwrite", &["connection"], &[]),
    ("restore", &["dangerous"], &[]),
    ("restore-asking", &["dangerous", "keyspace"], &[]),
    ("role", &["admin", "dangerous"], &[]),
    ("sort", &["dangerous", "list", "set", "sortedset"], &["keyspace"]),
    ("sort_ro", &["dangerous", "list", "set", "sortedset"], &["keyspace"]),
    ("swapdb", &["dangerous", "keyspace"], &[]),
    ("wait", &["connection"], &["keyspace"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn cats(spec: &CommandSpec) -> Vec<&'static str> {
        acl_categories(spec, None)
    }

    #[test]
    fn acl_categories_follow_redis() {
        let zadd = CommandSpec {
            name: "zadd",
            flags: WRITE | DENYOOM | FAST,
            group: "sorted_set",
            ..CommandSpec::BASE
        };
        assert_eq!(cats(&zadd), ["write", "sortedset", "fast"]);
        // FLUSHALL: group server, but Redis files it under keyspace and dangerous.
        let flushall = CommandSpec {
            name: "flushall",
            flags: WRITE,
            group: "server",
            ..CommandSpec::BASE
        };
        assert_eq!(cats(&flushall), ["keyspace", "write", "slow", "dangerous"]);
        let config_get = &crate::cmd::config::COMMANDS[0].subcommands[0];
        assert_eq!(
            acl_categories(config_get, Some(&crate::cmd::config::COMMANDS[0])),
            ["admin", "slow", "dangerous"]
        );
    }
}
