//! Pub/Sub commands (SUBSCRIBE ... PUBSUB, the shard forms) and MONITOR.
//! The registry and delivery are `server::pubsub`; MONITOR's feed is
//! `server::monitor`.
//!
//! Subscription confirmations are not replies: the hub queues them in the
//! client's outbox while it holds its lock (so no message can overtake
//! them), and the handlers return an empty raw reply.

use bytes::Bytes;

use super::client::help_reply;
use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use crate::server::pubsub::Kind;

const PS: CommandSpec = CommandSpec {
    group: "pubsub",
    since: "2.0.0",
    flags: PUBSUB | NOSCRIPT | LOADING | STALE,
    ..CommandSpec::BASE
};

const PUBSUB_SUB: CommandSpec = CommandSpec {
    group: "pubsub",
    flags: PUBSUB | LOADING | STALE,
    arity: -2,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "subscribe",
        arity: -2,
        summary: "Listen for messages published to the given channels",
        complexity: "O(N) where N is the number of channels to subscribe to.",
        handler: Some(subscribe),
        ..PS
    },
    CommandSpec {
        name: "unsubscribe",
        arity: -1,
        summary: "Stop listening for messages posted to the given channels",
        complexity: "O(N) where N is the number of clients already subscribed to a channel.",
        handler: Some(unsubscribe),
        ..PS
    },
    CommandSpec {
        name: "psubscribe",
        arity: -2,
        summary: "Listen for messages published to channels matching the given patterns",
        complexity: "O(N) where N is the number of patterns the client is already subscribed to.",
        handler: Some(psubscribe),
        ..PS
    },
    CommandSpec {
        name: "punsubscribe",
        arity: -1,
        summary: "Stop listening for messages posted to channels matching the given patterns",
        complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).",
        handler: Some(punsubscribe),
        ..PS
    },
    CommandSpec {
        name: "publish",
        arity: 3,
        flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        summary: "Post a message to a channel",
        complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        handler: Some(publish),
        ..PS
    },
    CommandSpec {
        name: "ssubscribe",
        arity: -2,
        keys: KeySpec::ALL,
        since: "7.0.0",
        summary: "Listen for messages published to the given shard channels",
        complexity: "O(N) where N is the number of shard channels to subscribe to.",
        handler: Some(ssubscribe),
        ..PS
    },
    CommandSpec {
        name: "sunsubscribe",
        arity: -1,
        keys: KeySpec::ALL,
        since: "7.0.0",
        summary: "Stop listening for messages posted to the given shard channels",
        complexity: "O(N) where N is the number of clients already subscribed to a shard channel.",
        handler: Some(sunsubscribe),
        ..PS
    },
    CommandSpec {
        name: "spublish",
        arity: 3,
        keys: KeySpec::ONE,
        flags: PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        since: "7.0.0",
        summary: "Post a message to a shard channel",
        complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        handler: Some(spublish),
        ..PS
    },
    CommandSpec {
        name: "pubsub",
        arity: -2,
        flags: 0,
        since: "2.8.0",
        summary: "A container for Pub/Sub commands",
        complexity: "Depends on subcommand.",
        subcommands: PUBSUB_SUBCOMMANDS,
        ..PS
    },
    CommandSpec {
        name: "monitor",
        arity: 1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        group: "server",
        since: "1.0.0",
        summary: "Listen for all requests received by the server in real time",
        // Redis documents no complexity for MONITOR.
        complexity: "",
        handler: Some(monitor),
        ..PS
    },
];

static PUBSUB_SUBCOMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "shardnumsub",
        since: "7.0.0",
        summary: "Get the count of subscribers for shard channels",
        complexity: "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        handler: Some(shardnumsub),
        ..PUBSUB_SUB
    },
    CommandSpec {
        name: "numpat",
        arity: 2,
        since: "2.8.0",
        summary: "Get the count of unique patterns pattern subscriptions",
        complexity: "O(1)",
        handler: Some(numpat),
        ..PUBSUB_SUB
    },
    CommandSpec {
        name: "numsub",
        since: "2.8.0",
        summary: "Get the count of subscribers for channels",
        complexity: "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        handler: Some(numsub),
        ..PUBSUB_SUB
    },
    CommandSpec {
        name: "shardchannels",
        since: "7.0.0",
        summary: "List active shard channels",
        complexity: "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
        handler: Some(shardchannels),
        ..PUBSUB_SUB
    },
    CommandSpec {
        name: "channels",
        since: "2.8.0",
        summary: "List active channels",
        complexity: "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        handler: Some(channels),
        ..PUBSUB_SUB
    },
    CommandSpec {
        name: "help",
        arity: 2,
        flags: LOADING | STALE,
        since: "6.2.0",
        summary: "Show helpful text about the different subcommands",
        complexity: "O(1)",
        handler: Some(help),
        ..PUBSUB_SUB
    },
];

/// The commands a RESP2 client may run while subscribed (Redis 7.0's
/// `processCommand` list; QUIT is answered before lookup).
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "ping"
            | "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "quit"
            | "reset"
    )
}

/// Confirmations were queued by the hub; there is no reply of its own.
fn queued() -> CmdResult {
    Ok(Reply::Raw(Bytes::new()))
}

fn do_subscribe(ctx: &mut Ctx<'_>, kind: Kind, names: &[Bytes]) -> CmdResult {
    let limits = ctx.server.config.settings().obuf_limits;
    ctx.server
        .pubsub
        .subscribe(&ctx.client.info, kind, names, &limits);
    queued()
}

fn do_unsubscribe(ctx: &mut Ctx<'_>, kind: Kind, names: &[Bytes]) -> CmdResult {
    let limits = ctx.server.config.settings().obuf_limits;
    ctx.server
        .pubsub
        .unsubscribe(&ctx.client.info, kind, names, Some(&limits));
    queued()
}

fn subscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    do_subscribe(ctx, Kind::Channel, &argv[1..])
}

fn psubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    do_subscribe(ctx, Kind::Pattern, &argv[1..])
}

fn ssubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    do_subscribe(ctx, Kind::Shard, &argv[1..])
}

fn unsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    do_unsubscribe(ctx, Kind::Channel, &argv[1..])
}

fn punsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    do_unsubscribe(ctx, Kind::Pattern, &argv[1..])
}

fn sunsubscribe(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    do_unsubscribe(ctx, Kind::Shard, &argv[1..])
}

fn do_publish(ctx: &mut Ctx<'_>, argv: &[Bytes], shard: bool) -> CmdResult {
    let limits = ctx.server.config.settings().obuf_limits;
    let n = ctx
        .server
        .pubsub
        .publish(&argv[1], &argv[2], shard, &limits);
    Ok(Reply::Integer(n as i64))
}

/// PUBLISH reaches this server's subscribers and, as in Redis, is
/// propagated, so replicas (a remote datacenter's health checks) deliver it
/// to theirs. The unit then commits effects only: no data, one stream entry.
fn publish(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.propagate(argv.to_vec());
    do_publish(ctx, argv, false)
}

fn spublish(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    ctx.propagate(argv.to_vec());
    do_publish(ctx, argv, true)
}

/// `PUBSUB CHANNELS a b`: arity passes (-2), the subcommand then refuses.
fn subcommand_syntax(argv: &[Bytes]) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
        String::from_utf8_lossy(&argv[1])
    ))
}

fn list_channels(ctx: &mut Ctx<'_>, argv: &[Bytes], shard: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(subcommand_syntax(argv));
    }
    let pattern = argv.get(2).map(|p| &p[..]);
    let names = ctx.server.pubsub.channels(shard, pattern);
    Ok(Reply::Array(names.into_iter().map(Reply::Bulk).collect()))
}

fn channels(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    list_channels(ctx, argv, false)
}

fn shardchannels(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    list_channels(ctx, argv, true)
}

fn counts(ctx: &mut Ctx<'_>, argv: &[Bytes], shard: bool) -> CmdResult {
    let mut out = Vec::with_capacity((argv.len() - 2) * 2);
    for ch in &argv[2..] {
        out.push(Reply::Bulk(ch.clone()));
        out.push(Reply::Integer(ctx.server.pubsub.numsub(shard, ch) as i64));
    }
    Ok(Reply::Array(out))
}

fn numsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    counts(ctx, argv, false)
}

fn shardnumsub(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    counts(ctx, argv, true)
}

fn numpat(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(ctx.server.pubsub.numpat() as i64))
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

fn help(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(help_reply(HELP))
}

/// MONITOR: `+OK`, then a line per command other clients run. A second
/// MONITOR on the same connection gets no reply at all, as in Redis.
fn monitor(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.server.pubsub.add_monitor(&ctx.client.info) {
        Ok(Reply::Ok)
    } else {
        queued()
    }
}
