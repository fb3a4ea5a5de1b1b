//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! MULTI makes the dispatcher queue the client's commands (a command that
//! fails to queue marks the transaction failed, and EXEC then answers
//! EXECABORT). EXEC runs the queue as one unit: it holds the keyspace gate
//! exclusively, so no other client sees or interleaves with a half-done
//! transaction, and every command writes through the same write context, so
//! the whole transaction is one engine batch (a crash never leaves half of
//! it) and propagates wrapped in MULTI/EXEC. Run-time errors of a command do
//! not undo the others, as in Redis. Blocking commands inside it behave as
//! their non-blocking forms; clients blocked on keys it fills are served
//! after it commits.
//!
//! WATCH records keys in the server's `WatchRegistry`; any committed change
//! to one of them (from any client, expiry, a flush or SWAPDB included)
//! marks the watcher dirty, and its EXEC answers a null array.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::flags::*;
use super::{CmdError, CmdResult, CommandSpec, Ctx, KeySpec};
use crate::resp::Reply;
use crate::server::client::{ClientState, Transaction};
use crate::server::dispatch;
use crate::server::Server;
use crate::types::now_ms;

const TX: CommandSpec = CommandSpec {
    group: "transactions",
    since: "1.2.0",
    flags: NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "multi",
        summary: "Start a transaction",
        handler: Some(multi),
        ..TX
    },
    CommandSpec {
        name: "exec",
        // EXCLUSIVE (Strata's own): the transaction runs alone.
        flags: NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | EXCLUSIVE,
        summary: "Execute all commands issued after MULTI",
        complexity: "Depends on commands in the transaction",
        handler: Some(exec),
        ..TX
    },
    CommandSpec {
        name: "discard",
        since: "2.0.0",
        summary: "Discard all commands issued after MULTI",
        complexity: "O(N), when N is the number of queued commands",
        handler: Some(discard),
        ..TX
    },
    CommandSpec {
        name: "watch",
        arity: -2,
        since: "2.2.0",
        keys: KeySpec::ALL,
        summary: "Monitor changes to keys to determine execution of MULTI/EXEC block",
        complexity: "O(1) for every key.",
        handler: Some(watch),
        ..TX
    },
    CommandSpec {
        name: "unwatch",
        since: "2.2.0",
        summary: "Forget about all watched keys",
        handler: Some(unwatch),
        ..TX
    },
];

fn multi(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Transaction::default());
    ctx.client.info.multi_len.store(0, Ordering::Relaxed);
    ctx.client.info.in_multi.store(true, Ordering::Relaxed);
    Ok(Reply::Ok)
}

fn end_multi(client: &mut ClientState) -> Option<Transaction> {
    client.info.in_multi.store(false, Ordering::Relaxed);
    client.info.multi_len.store(0, Ordering::Relaxed);
    client.multi.take()
}

/// Forgets every key the client watches and clears its dirty mark.
pub fn unwatch_all(server: &Server, client: &mut ClientState) {
    if !client.watched.is_empty() {
        let keys: Vec<(u8, Bytes)> = client.watched.drain(..).map(|(db, k, _)| (db, k)).collect();
        server.watches.unwatch(&server.ks, client.info.id, &keys);
    }
    client.info.dirty_cas.store(false, Ordering::Relaxed);
}

/// Leaves MULTI and WATCH (DISCARD, RESET, a disconnect).
pub fn reset_transaction(server: &Server, client: &mut ClientState) {
    end_multi(client);
    unwatch_all(server, client);
}

fn discard(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    reset_transaction(ctx.server, ctx.client);
    Ok(Reply::Ok)
}

fn watch(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.db();
    let now = ctx.w.now_ms();
    for key in &argv[1..] {
        if ctx
            .client
            .watched
            .iter()
            .any(|(d, k, _)| *d == db && k == key)
        {
            continue;
        }
        // Redis remembers whether the key was already expired, so that only
        // an expiry after WATCH breaks the transaction.
        let expired = ctx
            .server
            .ks
            .get_stored(db, key)?
            .is_some_and(|m| m.is_expired(now));
        ctx.server
            .watches
            .watch(&ctx.server.ks, &ctx.client.info, db, key.clone(), expired);
        ctx.client.watched.push((db, key.clone(), expired));
    }
    Ok(Reply::Ok)
}

fn unwatch(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    unwatch_all(ctx.server, ctx.client);
    Ok(Reply::Ok)
}

/// Whether a watched key that was live at WATCH time has expired since
/// (Redis's `isWatchedKeyExpired`).
fn watched_key_expired(ctx: &Ctx<'_>) -> Result<bool, CmdError> {
    let now = ctx.w.now_ms();
    for (db, key, expired_at_watch) in &ctx.client.watched {
        if *expired_at_watch {
            continue;
        }
        if let Some(m) = ctx.server.ks.get_stored(*db, key)? {
            if m.is_expired(now) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn exec(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    // EXEC itself is never propagated: its commands are, wrapped in
    // MULTI/EXEC by the commit when there is more than one.
    ctx.propagate_nothing();
    let Some(tx) = end_multi(ctx.client) else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    if tx.failed {
        unwatch_all(ctx.server, ctx.client);
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let dirty = ctx.client.info.dirty_cas.load(Ordering::Acquire) || watched_key_expired(ctx)?;
    unwatch_all(ctx.server, ctx.client);
    if dirty {
        return Ok(Reply::NilArray);
    }
    let mut replies = Vec::with_capacity(tx.queued.len());
    ctx.client.in_exec = true;
    for argv in tx.queued {
        // The commands queued all resolved when they were queued.
        let Ok(cmd) = ctx.server.commands.lookup(&argv) else {
            replies.push(Reply::error("ERR unknown command"));
            continue;
        };
        // Redis reads the clock again for every command of a transaction.
        ctx.w.set_now_ms(now_ms());
        replies.push(dispatch::run_command(
            ctx.server, ctx.client, cmd, &argv, ctx.w,
        ));
        // Monitors see each command of the transaction as it runs.
        crate::server::monitor::feed(ctx.server, ctx.client, cmd.spec.flags, &argv);
    }
    ctx.client.in_exec = false;
    Ok(Reply::Array(replies))
}
