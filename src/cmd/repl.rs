//! Replication commands: PSYNC, SYNC, REPLCONF, and REPLICAOF / SLAVEOF
//! (the replica side, `repl::link`).
//!
//! A replica that asks `PSYNC <replid> <offset>` for an offset the on-disk
//! backlog still holds gets `+CONTINUE <replid>`; any other PSYNC, and
//! SYNC, gets a full resynchronisation. Either way the connection is then
//! handed to `repl::master`, which sends the RDB if needed and the stream.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx};
use crate::repl::failover::{self, FailoverRequest};
use crate::repl::link::{FollowOutcome, Target};
use crate::repl::master::Handoff;
use crate::repl::replicas::ReplicaState;
use crate::repl::wait::WaitRequest;
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
        name: "wait",
        arity: 3,
        group: "generic",
        flags: NOSCRIPT,
        since: "3.0.0",
        summary: "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        complexity: "O(1)",
        handler: Some(wait),
        ..REPL
    },
    CommandSpec {
        name: "failover",
        arity: -1,
        flags: ADMIN | NOSCRIPT | STALE,
        since: "6.2.0",
        summary: "Start a coordinated failover between this server and one of its replicas.",
        complexity: "O(1)",
        handler: Some(failover),
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
    if argv.len() > 3 && argv[3].eq_ignore_ascii_case(b"failover") {
        failover_request(ctx, &argv[1])?;
    }
    refuse_if_unlinked(ctx)?;
    let ks = &ctx.server.ks;
    let counters = &ctx.server.replicas.counters;
    let pos = ks.position();
    let wanted = parse_i64(&argv[2]).filter(|&o| o > 0).map(|o| o as u64);
    // PSYNC2: after a promotion the old id stays valid up to where it
    // ended (replid2 / second_repl_offset), as Redis's
    // masterTryPartialResynchronization allows.
    let previous = ks.previous_position();
    let known_id = |o: u64| {
        argv[1].as_ref() == pos.replid.as_bytes()
            || previous
                .as_ref()
                .is_some_and(|p| argv[1].as_ref() == p.replid.as_bytes() && o <= p.offset + 1)
    };
    let covered =
        wanted.filter(|&o| known_id(o) && o >= ks.backlog_first_offset() && o <= pos.offset + 1);
    match covered {
        Some(from) => {
            counters.partial_ok.fetch_add(1, Ordering::Relaxed);
            ctx.client.repl_handoff = Some(Handoff::Continue { from });
            let line = if ctx.client.replconf.capa_psync2 {
                format!("CONTINUE {}", pos.replid)
            } else {
                "CONTINUE".to_string()
            };
            Ok(Reply::Status(Bytes::from(line)))
        }
        None => {
            if argv[1].as_ref() != b"?" {
                counters.partial_err.fetch_add(1, Ordering::Relaxed);
            }
            ctx.client.repl_handoff = Some(Handoff::Full { psync: true });
            // `+FULLRESYNC` goes out when the snapshot is taken.
            Ok(Reply::Raw(Bytes::new()))
        }
    }
}

fn sync(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    refuse_if_unlinked(ctx)?;
    ctx.client.repl_handoff = Some(Handoff::Full { psync: false });
    Ok(Reply::Raw(Bytes::new()))
}

/// `PSYNC <replid> <offset> FAILOVER`: the master failing over to this
/// replica asks it to become a master; it must name our replication id.
fn failover_request(ctx: &mut Ctx<'_>, replid: &[u8]) -> Result<(), CmdError> {
    tracing::warn!(
        "Failover request received for replid {}.",
        String::from_utf8_lossy(replid)
    );
    let link = &ctx.server.replica_link;
    if !link.is_following() {
        return Err(CmdError::msg(
            "ERR PSYNC FAILOVER can't be sent to a master.",
        ));
    }
    if replid != ctx.server.ks.position().replid.as_bytes() {
        return Err(CmdError::msg(
            "ERR PSYNC FAILOVER replid must match my replid.",
        ));
    }
    link.unfollow();
    tracing::info!(
        "MASTER MODE enabled (failover request from '{}')",
        ctx.client.info.list_line(&ctx.server.commands)
    );
    Ok(())
}

/// A replica whose own master link is down cannot serve a sync, nor can a
/// master in the middle of a FAILOVER.
fn refuse_if_unlinked(ctx: &Ctx<'_>) -> Result<(), CmdError> {
    if ctx.server.failover.is_active() {
        return Err(CmdError::msg("NOMASTERLINK Can't SYNC while failing over"));
    }
    let link = &ctx.server.replica_link;
    if link.is_following() && !link.is_up() {
        return Err(CmdError::msg(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    Ok(())
}

/// REPLCONF: what a replica tells about itself before PSYNC (kept for
/// INFO, ROLE and the choice of framing), `ACK` (no reply; handled by the
/// replica's connection once it follows), `GETACK` (meaningful on a
/// replica's master link only).
fn replconf(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() % 2 == 0 {
        return Err(CmdError::Syntax);
    }
    let conf = &mut ctx.client.replconf;
    for pair in argv[1..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        let text = || String::from_utf8_lossy(val).into_owned();
        match opt.to_ascii_lowercase().as_slice() {
            b"listening-port" => {
                conf.listening_port = parse_i64(val)
                    .and_then(|p| u16::try_from(p).ok())
                    .ok_or(CmdError::NotInteger)?;
            }
            b"ip-address" => conf.ip_address = Some(text()),
            b"capa" => {
                if val.eq_ignore_ascii_case(b"eof") {
                    conf.capa_eof = true;
                } else if val.eq_ignore_ascii_case(b"psync2") {
                    conf.capa_psync2 = true;
                }
            }
            b"ack" | b"getack" => {
                ctx.client.reply_mode = crate::server::client::ReplyMode::Skip;
                return Ok(Reply::Ok);
            }
            b"rdb-only" | b"rdb-filter-only" => {}
            b"keeper" | b"idc" | b"region" => conf
                .relay
                .push((String::from_utf8_lossy(opt).to_ascii_lowercase(), text())),
            _ => {
                return Err(CmdError::msg(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(opt)
                )))
            }
        }
    }
    Ok(Reply::Ok)
}

/// WAIT numreplicas timeout: answered at once when enough replicas already
/// acknowledged the client's last write, else by the connection once they
/// do or the timeout passes (`repl::wait`).
fn wait(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.server.replica_link.is_following() {
        return Err(CmdError::msg("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let replicas = parse_i64(&argv[1]).ok_or(CmdError::NotInteger)?;
    let timeout = parse_i64(&argv[2])
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let offset = ctx.client.last_write_offset;
    let acked = ctx.server.replicas.acked_at_least(offset) as i64;
    if acked >= replicas || ctx.client.multi.is_some() || ctx.client.in_exec {
        return Ok(Reply::Integer(acked));
    }
    ctx.client.wait = Some(WaitRequest {
        replicas: replicas.max(0) as u64,
        timeout: (timeout > 0).then(|| Duration::from_millis(timeout as u64)),
        offset,
    });
    Ok(Reply::Raw(Bytes::new()))
}

/// REPLICAOF host port / REPLICAOF NO ONE, with Redis 7.0's replies.
fn replicaof(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.server.failover.is_active() {
        return Err(CmdError::msg(
            "ERR REPLICAOF not allowed while failing over.",
        ));
    }
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

/// FAILOVER [TO host port [FORCE]] [TIMEOUT ms] | FAILOVER ABORT, with
/// Redis 7.0's checks and error texts (`repl::failover` runs it).
fn failover(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let server = ctx.server;
    if argv.len() == 2 && argv[1].eq_ignore_ascii_case(b"abort") {
        if !server.failover.is_active() {
            return Err(CmdError::msg("ERR No failover in progress."));
        }
        failover::abort(server, "Failover manually aborted");
        return Ok(Reply::Ok);
    }
    let mut timeout_ms: i64 = 0;
    let mut force = false;
    let mut target: Option<Target> = None;
    let mut j = 1;
    while j < argv.len() {
        let a = &argv[j];
        if a.eq_ignore_ascii_case(b"timeout") && j + 1 < argv.len() && timeout_ms == 0 {
            timeout_ms = parse_i64(&argv[j + 1]).ok_or(CmdError::NotInteger)?;
            if timeout_ms <= 0 {
                return Err(CmdError::msg("ERR FAILOVER timeout must be greater than 0"));
            }
            j += 2;
        } else if a.eq_ignore_ascii_case(b"to") && j + 2 < argv.len() && target.is_none() {
            let port = parse_i64(&argv[j + 2]).ok_or(CmdError::NotInteger)?;
            target = Some(Target {
                host: String::from_utf8_lossy(&argv[j + 1]).into_owned(),
                // Out of range matches no replica, as in Redis.
                port: u16::try_from(port).unwrap_or(0),
            });
            j += 3;
        } else if a.eq_ignore_ascii_case(b"force") && !force {
            force = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if server.failover.is_active() {
        return Err(CmdError::msg("ERR FAILOVER already in progress."));
    }
    if server.replica_link.is_following() {
        return Err(CmdError::msg(
            "ERR FAILOVER is not valid when server is a replica.",
        ));
    }
    if server.replicas.is_empty() {
        return Err(CmdError::msg("ERR FAILOVER requires connected replicas."));
    }
    if force && (timeout_ms == 0 || target.is_none()) {
        return Err(CmdError::msg(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.",
        ));
    }
    if let Some(t) = &target {
        let replica = server
            .replicas
            .all()
            .into_iter()
            .find(|r| r.ip.eq_ignore_ascii_case(&t.host) && r.port == t.port);
        match replica {
            None => {
                return Err(CmdError::msg(
                    "ERR FAILOVER target HOST and PORT is not a replica.",
                ))
            }
            Some(r) if r.state() != ReplicaState::Online => {
                return Err(CmdError::msg("ERR FAILOVER target replica is not online."))
            }
            Some(_) => {}
        }
    }
    let deadline =
        (timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(timeout_ms as u64));
    failover::start(
        server,
        FailoverRequest {
            target,
            deadline,
            force,
        },
    );
    Ok(Reply::Ok)
}
