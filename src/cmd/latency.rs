//! LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HELP over the event
//! series kept in `server::latency` (which dispatch feeds with the
//! `command` and `fast-command` events), and LATENCY HISTOGRAM over the
//! per-command histograms of `metrics`.

use bytes::Bytes;

use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::Reply;
use crate::server::latency::{self, DoctorContext};

const SUB: CommandSpec = CommandSpec {
    group: "server",
    since: "2.8.13",
    flags: ADMIN | NOSCRIPT | LOADING | STALE,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    name: "latency",
    arity: -2,
    group: "server",
    since: "2.8.13",
    summary: "A container for latency diagnostics commands",
    complexity: "Depends on subcommand.",
    subcommands: &[
        CommandSpec {
            name: "doctor",
            arity: 2,
            summary: "Return a human readable latency analysis report.",
            handler: Some(doctor),
            ..SUB
        },
        CommandSpec {
            name: "graph",
            arity: 3,
            summary: "Return a latency graph for the event.",
            handler: Some(graph),
            ..SUB
        },
        CommandSpec {
            name: "history",
            arity: 3,
            summary: "Return timestamp-latency samples for the event.",
            handler: Some(history),
            ..SUB
        },
        CommandSpec {
            name: "latest",
            arity: 2,
            summary: "Return the latest latency samples for all events.",
            handler: Some(latest),
            ..SUB
        },
        CommandSpec {
            name: "reset",
            arity: -2,
            summary: "Reset latency data for one or more events.",
            handler: Some(reset),
            ..SUB
        },
        CommandSpec {
            name: "histogram",
            arity: -2,
            since: "7.0.0",
            summary:
                "Return the cumulative distribution of latencies of a subset of commands or all.",
            complexity:
                "O(N) where N is the number of commands with latency information being retrieved.",
            handler: Some(histogram),
            ..SUB
        },
        CommandSpec {
            name: "help",
            arity: 2,
            flags: LOADING | STALE,
            summary: "Show helpful text about the different subcommands.",
            handler: Some(help),
            ..SUB
        },
    ],
    ..CommandSpec::BASE
}];

fn now() -> u64 {
    crate::types::now_ms() / 1000
}

fn latest(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let events = ctx.server.latency.snapshot();
    Ok(Reply::Array(
        events
            .into_iter()
            .map(|(event, s)| {
                let last = s.latest();
                Reply::Array(vec![
                    Reply::bulk(event),
                    Reply::Integer(last.time as i64),
                    Reply::Integer(last.latency_ms as i64),
                    Reply::Integer(s.max as i64),
                ])
            })
            .collect(),
    ))
}

fn history(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let samples = ctx
        .server
        .latency
        .get(&argv[2])
        .map(|(_, s)| s.history())
        .unwrap_or_default();
    Ok(Reply::Array(
        samples
            .into_iter()
            .map(|s| {
                Reply::Array(vec![
                    Reply::Integer(s.time as i64),
                    Reply::Integer(s.latency_ms as i64),
                ])
            })
            .collect(),
    ))
}

fn graph(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let Some((event, series)) = ctx.server.latency.get(&argv[2]) else {
        return Err(CmdError::msg(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(&argv[2])
        )));
    };
    let text = latency::graph(&event, &series, now());
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

fn doctor(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let settings = ctx.server.config.settings();
    let cx = DoctorContext {
        threshold_ms: ctx.server.latency.threshold_ms(),
        slowlog_log_slower_than: settings.slowlog_log_slower_than,
    };
    let text = latency::doctor(&ctx.server.latency.snapshot(), &cx, now());
    Ok(Reply::Verbatim("txt", Bytes::from(text)))
}

fn reset(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let n = if argv.len() == 2 {
        ctx.server.latency.reset(None)
    } else {
        argv[2..]
            .iter()
            .map(|e| ctx.server.latency.reset(Some(e)))
            .sum()
    };
    Ok(Reply::Integer(n as i64))
}

/// The per-command latency distributions (the histograms the metrics
/// endpoint exports), for the commands named (a container also gives its
/// subcommands; unknown names are skipped) or for every command called.
fn histogram(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let commands = &ctx.server.commands;
    let mut ids: Vec<usize> = Vec::new();
    if argv.len() == 2 {
        ids.extend(0..commands.ids());
    } else {
        for name in &argv[2..] {
            let Some((spec, parent)) = find_command(ctx, name) else {
                continue;
            };
            ids.push(commands.resolved(spec, parent).id);
            for sub in spec.subcommands {
                ids.push(commands.resolved(sub, Some(spec)).id);
            }
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let Some((calls, cdf)) = ctx.server.metrics.cdf_usec(id) else {
            continue;
        };
        out.push((
            Reply::bulk_str(commands.fullname(id)),
            Reply::Map(vec![
                (Reply::bulk_str("calls"), Reply::Integer(calls as i64)),
                (
                    Reply::bulk_str("histogram_usec"),
                    Reply::Map(
                        cdf.into_iter()
                            .map(|(us, n)| (Reply::Integer(us as i64), Reply::Integer(n as i64)))
                            .collect(),
                    ),
                ),
            ]),
        ));
    }
    Ok(Reply::Map(out))
}

/// A command by name or `container|sub` full name, as Redis's
/// `lookupCommandBySds`.
fn find_command(
    ctx: &Ctx<'_>,
    name: &[u8],
) -> Option<(&'static CommandSpec, Option<&'static CommandSpec>)> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let base = ctx.server.commands.get(parts.next()?)?;
    match parts.next() {
        None => Some((base, None)),
        Some(sub) => base
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(sub))
            .map(|s| (s, Some(base))),
    }
}

const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(super::config::help_reply(HELP))
}
