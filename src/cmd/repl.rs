//! Replication commands: PSYNC, SYNC, REPLCONF, and REPLICAOF / SLAVEOF
//! (the replica side, `repl::link`).
//!
//! A replica that asks `PSYNC <replid> <offset>` for an offset the on-disk
//! backlog still holds gets `+CONTINUE <replid>`, and the connection then
//! carries the stream (`repl::feed`). A full resynchronisation (an RDB of
//! a snapshot) is not served yet: such a request gets an error.

use bytes::Bytes;

use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx};
use crate::repl::link::{FollowOutcome, Target};
use crate::resp::parse::parse_i64;
use crate::resp::Reply;

const REPL: CommandSpec = CommandSpec {
    group: "server",
    flags: ADMIN | NOSCRIPT | NO_MULTI,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "psync",
        arity: -3,
        since: "2.8.0",
        summary: "An internal command used in replication",
        handler: Some(psync),
        ..REPL
    },
    CommandSpec {
        name: "sync",
        arity: 1,
        summary: "An internal command used in replication",
        handler: Some(sync),
        ..REPL
    },
    CommandSpec {
        name: "replicaof",
        arity: 3,
        flags: ADMIN | NOSCRIPT | STALE,
        since: "5.0.0",
        summary: "Configure a server as replica of another, or promote it to a master.",
        handler: Some(replicaof),
        ..REPL
    },
    CommandSpec {
        name: "slaveof",
        arity: 3,
        flags: ADMIN | NOSCRIPT | STALE,
        since: "1.0.0",
        summary: "Sets a Redis server as a replica of another, or promotes it to being a master.",
        handler: Some(replicaof),
        ..REPL
    },
    CommandSpec {
        name: "replconf",
        arity: -1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY,
        since: "3.0.0",
        summary: "An internal command for configuring the replication stream",
        complexity: "O(1)",
        handler: Some(replconf),
        ..REPL
    },
];

fn psync(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let pos = ctx.server.ks.position();
    let wanted = parse_i64(&argv[2]).filter(|&o| o > 0).map(|o| o as u64);
    let covered = wanted.filter(|&o| {
        argv[1].as_ref() == pos.replid.as_bytes()
            && o >= ctx.server.ks.backlog_first_offset()
            && o <= pos.offset + 1
    });
    match covered {
        Some(from) => {
            ctx.client.feed_from = Some(from);
            Ok(Reply::Status(Bytes::from(format!(
                "CONTINUE {}",
                pos.replid
            ))))
        }
        None => Err(CmdError::msg(
            "ERR Strata cannot serve a full resynchronization yet",
        )),
    }
}

fn sync(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Err(CmdError::msg(
        "ERR Strata cannot serve a full resynchronization yet",
    ))
}

/// REPLCONF options a replica sends during its handshake are acknowledged;
/// `ACK` gets no reply, as in Redis.
fn replconf(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Syntax);
    }
    if argv.len() >= 2 && argv[1].eq_ignore_ascii_case(b"ack") {
        ctx.client.reply_mode = crate::server::client::ReplyMode::Skip;
        return Ok(Reply::Ok);
    }
    Ok(Reply::Ok)
}

/// REPLICAOF host port / REPLICAOF NO ONE, with Redis 7.0's replies.
fn replicaof(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let link = &ctx.server.replica_link;
    let who = || ctx.client.info.list_line(&ctx.server.commands);
    if argv[1].eq_ignore_ascii_case(b"no") && argv[2].eq_ignore_ascii_case(b"one") {
        if link.unfollow() {
            tracing::info!("MASTER MODE enabled (user request from '{}')", who());
        }
        return Ok(Reply::Ok);
    }
    let port = parse_i64(&argv[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| CmdError::msg("ERR Invalid master port"))?;
    let target = Target {
        host: String::from_utf8_lossy(&argv[1]).into_owned(),
        port: port as u16,
    };
    let described = format!("{}:{}", target.host, target.port);
    match link.follow(target) {
        Ok(FollowOutcome::AlreadyFollowing) => {
            tracing::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            Ok(Reply::status("OK Already connected to specified master"))
        }
        Ok(FollowOutcome::Started) => {
            tracing::info!(
                "REPLICAOF {described} enabled (user request from '{}')",
                who()
            );
            Ok(Reply::Ok)
        }
        Err(e) => Err(CmdError::msg(format!("ERR {e}"))),
    }
}
