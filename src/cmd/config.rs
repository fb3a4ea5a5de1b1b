//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP, with Redis 7.0's replies
//! and error texts. The values and their validation live in `crate::config`;
//! this file turns them into replies and applies run-time effects.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx};
use crate::config::{ConfigError, FsyncPolicy};
use crate::resp::Reply;

const SUB: CommandSpec = CommandSpec {
    group: "server",
    since: "2.0.0",
    flags: ADMIN | NOSCRIPT | LOADING | STALE,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "config",
    arity: -2,
    group: "server",
    since: "2.0.0",
    summary: "A container for server configuration commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "get",
            arity: -3,
            summary: "Get the values of configuration parameters",
            complexity: "O(N) when N is the number of configuration parameters provided",
            handler: Some(get),
            ..SUB
        },
        CommandSpec {
            name: "set",
            arity: -4,
            summary: "Set configuration parameters to the given values",
            complexity: "O(N) when N is the number of configuration parameters provided",
            handler: Some(set),
            ..SUB
        },
        CommandSpec {
            name: "resetstat",
            arity: 2,
            summary: "Reset the stats returned by INFO",
            handler: Some(resetstat),
            ..SUB
        },
        CommandSpec {
            name: "rewrite",
            arity: 2,
            since: "2.8.0",
            summary: "Rewrite the configuration file with the in memory configuration",
            handler: Some(rewrite),
            ..SUB
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: LOADING | STALE,
            since: "5.0.0",
            summary: "Show helpful text about the different subcommands",
            handler: Some(help),
            ..SUB
        },
    ],
    ..CommandSpec::BASE
}];

/// `(name, value)` pairs matching any of the patterns, each name once.
fn get(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let mut seen = std::collections::HashSet::new();
    let mut pairs = Vec::new();
    for pattern in &argv[2..] {
        for (name, value) in ctx.server.config.get_matching(pattern) {
            if seen.insert(name) {
                let value = if name == "dir" {
                    absolute_dir(&value)
                } else {
                    value
                };
                pairs.push((Reply::bulk_str(name), Reply::bulk(value)));
            }
        }
    }
    Ok(Reply::Map(pairs))
}

/// Redis prints the working directory; Strata prints `dir` made absolute.
fn absolute_dir(dir: &str) -> String {
    std::fs::canonicalize(dir)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| dir.to_string())
}

fn set(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 != 0 {
        return Err(CmdError::Syntax);
    }
    let texts: Vec<String> = argv[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let pairs: Vec<(&str, &str)> = texts
        .chunks(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect();
    ctx.server
        .config
        .set_many(&pairs)
        .map_err(|(arg, err)| match err {
            ConfigError::BadDirective => CmdError::msg(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{arg}'"
            )),
            other => CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument '{arg}') - {other}"
            )),
        })?;
    apply_runtime_effects(ctx);
    Ok(Reply::Ok)
}

/// Effects that need more than the rebuilt `Settings` (which the hot paths
/// read on their own).
fn apply_runtime_effects(ctx: &Ctx<'_>) {
    let settings = ctx.server.config.settings();
    ctx.server.syncer.periodic.store(
        settings.appendfsync == FsyncPolicy::EverySec,
        Ordering::Relaxed,
    );
    ctx.server.apply_keyspace_settings(&settings);
    ctx.server
        .slowlog
        .configure(settings.slowlog_log_slower_than, settings.slowlog_max_len);
    ctx.server
        .latency
        .configure(settings.latency_monitor_threshold);
}

fn resetstat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    ctx.server.stats.reset();
    ctx.server.metrics.reset();
    Ok(Reply::Ok)
}

fn rewrite(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let Some(path) = &ctx.server.config.path else {
        return Err(CmdError::msg(
            "ERR The server is running without a config file",
        ));
    };
    crate::config::file::rewrite(&ctx.server.config, path)
        .map_err(|e| CmdError::msg(format!("ERR Rewriting config file: {e}")))?;
    tracing::info!("CONFIG REWRITE executed with success.");
    Ok(Reply::Ok)
}

const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(help_reply(HELP))
}

/// A HELP reply: one status line per entry, as Redis's `addReplyHelp`.
pub fn help_reply(lines: &[&'static str]) -> Reply {
    Reply::Array(lines.iter().map(|l| Reply::status(l)).collect())
}
