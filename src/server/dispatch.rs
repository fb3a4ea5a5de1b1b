//! Runs one request the way Redis's `processCommand` does: resolve the
//! command, check arity, authentication and pauses, then call the handler
//! under the keyspace gate and record statistics.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::blocking::{BlockRequest, Wakeup};
use super::client::{ClientState, ReplyMode};
use super::{PauseMode, Server};
use crate::cmd::keys::other_db_key;
use crate::cmd::{flags, Ctx, LookupError, Resolved};
use crate::resp::Reply;
use crate::types::{now_ms, BusyKey, WriteContext};

fn unknown_command(argv: &[Bytes]) -> String {
    let mut args = String::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(room).collect();
        args.push_str(&format!("'{s}' "));
    }
    let name = String::from_utf8_lossy(&argv[0]);
    let name: String = name.chars().take(128).collect();
    format!("ERR unknown command '{name}', with args beginning with: {args}")
}

pub(super) fn emit(server: &Server, client: &mut ClientState, reply: Reply, out: &mut BytesMut) {
    // Pushes queued during the command (a message it published to this very
    // client) precede its reply, as in Redis.
    if client.info.outbox.has_queued() {
        client.info.outbox.drain_into(out);
    }
    if let Reply::Error(e) = &reply {
        server.stats.record_error(e);
    }
    match client.reply_mode {
        ReplyMode::On => reply.encode(client.resp, out),
        ReplyMode::Off => {}
        ReplyMode::Skip => client.reply_mode = ReplyMode::SkipNext,
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::On,
    }
}

/// Executes one request and appends its reply to `out`, or returns the
/// request of a blocking command that has to wait (its reply comes later,
/// through [`finish_blocked`]).
pub async fn execute(
    server: &Server,
    client: &mut ClientState,
    argv: Vec<Bytes>,
    out: &mut BytesMut,
) -> Option<BlockRequest> {
    client.info.touch(crate::clock::monotonic_ns());
    if argv[0].eq_ignore_ascii_case(b"host:") || argv[0].eq_ignore_ascii_case(b"post") {
        // An HTTP request sent to the Redis port (cross-protocol scripting):
        // Redis closes without replying.
        tracing::warn!("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. Connection aborted.");
        client.close_after_reply = true;
        return None;
    }
    if argv[0].eq_ignore_ascii_case(b"quit") {
        // Redis answers QUIT before any other check, whatever its arguments.
        emit(server, client, Reply::Ok, out);
        client.close_after_reply = true;
        super::monitor::feed(server, client, 0, &argv);
        return None;
    }
    let cmd = match server.commands.lookup(&argv) {
        Ok(c) => c,
        Err(LookupError::Unknown) => {
            flag_transaction(client);
            emit(server, client, Reply::Error(unknown_command(&argv)), out);
            return None;
        }
        Err(LookupError::UnknownSubcommand) => {
            flag_transaction(client);
            let sub = String::from_utf8_lossy(&argv[1]);
            let sub: String = sub.chars().take(128).collect();
            let msg = format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                sub,
                String::from_utf8_lossy(&argv[0]).to_ascii_uppercase()
            );
            emit(server, client, Reply::Error(msg), out);
            return None;
        }
    };
    let spec = cmd.spec;
    if !spec.arity_ok(argv.len()) {
        flag_transaction(client);
        server.stats.record_rejected(cmd.id);
        let msg = format!(
            "ERR wrong number of arguments for '{}' command",
            server.commands.fullname(cmd.id)
        );
        emit(server, client, Reply::Error(msg), out);
        return None;
    }
    if !client.authenticated && !spec.has(flags::NO_AUTH) {
        flag_transaction(client);
        server.stats.record_rejected(cmd.id);
        emit(
            server,
            client,
            Reply::error("NOAUTH Authentication required."),
            out,
        );
        return None;
    }
    if let Some(msg) = context_rejection(server, client, cmd) {
        flag_transaction(client);
        server.stats.record_rejected(cmd.id);
        emit(server, client, Reply::Error(msg), out);
        return None;
    }
    if let Some(tx) = client.multi.as_mut() {
        if !QUEUE_BYPASS.contains(&spec.name) || cmd.parent.is_some() {
            // Inside MULTI: queue, as Redis's processCommand does.
            if spec.has(flags::NO_MULTI) {
                tx.failed = true;
                let msg = "ERR Command not allowed inside a transaction";
                emit(server, client, Reply::error(msg), out);
                return None;
            }
            tx.queued.push(argv);
            client
                .info
                .multi_len
                .store(tx.queued.len(), Ordering::Relaxed);
            emit(server, client, Reply::status("QUEUED"), out);
            return None;
        }
    }
    let waited = wait_for_pause(
        server,
        spec.has(flags::WRITE) || spec.has(flags::MAY_REPLICATE),
    )
    .await;
    // A command held by a pause is checked again, as Redis processes a
    // postponed client anew: after a FAILOVER the server is a replica and
    // refuses the write it held.
    if waited {
        if let Some(msg) = context_rejection(server, client, cmd) {
            server.stats.record_rejected(cmd.id);
            emit(server, client, Reply::Error(msg), out);
            return None;
        }
    }

    let reply = loop {
        match unit(server, client, cmd, &argv, Locking::Try) {
            Ok(reply) => break reply,
            // Another unit holds a key: give the worker back meanwhile.
            Err(busy) => server.ks.wait_busy(busy).await,
        }
    };
    let blocked = client.block.take().filter(|_| !reply.is_error());
    if blocked.is_none() {
        emit(server, client, reply, out);
    }
    // After the reply, as Redis feeds monitors at the end of `call()`.
    super::monitor::feed(server, client, spec.flags, &argv);
    blocked
}

/// The command of `argv` when it may join a pipeline's unit (see
/// `server::pipeline`): it would pass every check of [`execute`] without a
/// reply of its own (known, arity, authenticated, not refused, no MULTI, no
/// pause), and it is a keyed read of a data type or a keyed write that
/// locks only the keys it declares and never blocks. `None` sends it down the
/// ordinary path, which also gives any error reply.
pub(super) fn batchable(server: &Server, client: &ClientState, argv: &[Bytes]) -> Option<Resolved> {
    if client.multi.is_some()
        || client.master_link
        || !client.authenticated
        || client.reply_mode != ReplyMode::On
        || client.info.in_pubsub()
        || client.info.is_monitor()
    {
        return None;
    }
    let cmd = server.commands.lookup(argv).ok()?;
    if !server.joins_units[cmd.id]
        || !cmd.spec.arity_ok(argv.len())
        || server.pause.current().is_some()
    {
        return None;
    }
    if context_rejection(server, client, cmd).is_some() {
        return None;
    }
    Some(cmd)
}

/// By command id, whether the command may join a pipeline's unit as far as
/// the command alone decides ([`batchable`] adds its arguments and the
/// client's state): a keyed read of a data type, or a write, that
/// [`may_share_a_unit`].
pub(super) fn units_joined_by(commands: &crate::cmd::CommandTable) -> Vec<bool> {
    (0..commands.ids())
        .map(|id| {
            let spec = commands.spec(id);
            // Reads of the data types only: they read through the unit, so
            // they see what earlier commands of the pipeline staged (MEMORY
            // USAGE, say, reads the engine directly).
            let keyed_read =
                spec.has(flags::READONLY) && !spec.is_write() && DATA_GROUPS.contains(&spec.group);
            (keyed_read || spec.is_write()) && shares_a_unit(spec)
        })
        .collect()
}

/// Tries to lock the keys `cmd` declares in `argv` (database `db`) for the
/// unit `w`, without waiting: a unit shared by several commands (a
/// pipeline's run, a stretch of a master's stream) never waits while it
/// holds keys.
pub(super) fn try_lock_keys(
    w: &WriteContext<'_>,
    db: u8,
    cmd: Resolved,
    argv: &[Bytes],
) -> Result<(), BusyKey> {
    match cmd.spec.single_key(argv) {
        Some(key) => w.try_lock(db, std::slice::from_ref(key)),
        None => cmd
            .spec
            .key_args(argv)
            .map_or(Ok(()), |keys| w.try_lock(db, &keys)),
    }
}

/// Whether `cmd` may run in a unit with other commands (a pipeline's run,
/// a stretch of a master's stream): it declares its keys in fixed places
/// and locks only those, in its own database, and it neither blocks nor
/// needs the keyspace alone.
pub(super) fn may_share_a_unit(cmd: Resolved, argv: &[Bytes]) -> bool {
    shares_a_unit(cmd.spec) && cmd.spec.arity_ok(argv.len())
}

/// [`may_share_a_unit`] as far as the command alone decides.
fn shares_a_unit(spec: &crate::cmd::CommandSpec) -> bool {
    !spec.has(flags::BLOCKING | flags::EXCLUSIVE | flags::MOVABLEKEYS | flags::NO_MULTI)
        && spec.keys.first != 0
        && !CROSS_DB.contains(&spec.name)
}

/// Writes that lock a key of another database than the one they declare,
/// out of the dispatcher's lock order.
const CROSS_DB: &[&str] = &["move", "copy"];

/// The command groups whose reads go through the write context.
const DATA_GROUPS: &[&str] = &["string", "list", "hash", "set", "sorted-set", "generic"];

/// Runs one command of the master's replication stream for the master
/// client (`client.master_link`): resolved, queued inside MULTI and run as
/// one unit like any request, but never refused for the replica's own
/// state (read-only, stale data), never paused, and never waiting (a
/// master propagates the non-blocking form). The reply is returned for the
/// caller to log; nothing is written to the master.
pub fn execute_for_master(server: &Server, client: &mut ClientState, argv: Vec<Bytes>) -> Reply {
    client.info.touch(crate::clock::monotonic_ns());
    let cmd = match server.commands.lookup(&argv) {
        Ok(c) => c,
        Err(_) => {
            flag_transaction(client);
            return Reply::Error(unknown_command(&argv));
        }
    };
    if !cmd.spec.arity_ok(argv.len()) {
        flag_transaction(client);
        return Reply::Error(format!(
            "ERR wrong number of arguments for '{}' command",
            server.commands.fullname(cmd.id)
        ));
    }
    if let Some(tx) = client.multi.as_mut() {
        if !QUEUE_BYPASS.contains(&cmd.spec.name) || cmd.parent.is_some() {
            tx.queued.push(argv);
            client
                .info
                .multi_len
                .store(tx.queued.len(), Ordering::Relaxed);
            return Reply::status("QUEUED");
        }
    }
    let reply = run_unit(server, client, cmd, &argv);
    client.block = None;
    super::monitor::feed(server, client, cmd.spec.flags, &argv);
    reply
}

/// A command rejected while queueing makes the transaction's EXEC fail
/// (Redis's `flagTransaction`).
fn flag_transaction(client: &mut ClientState) {
    if let Some(tx) = client.multi.as_mut() {
        tx.failed = true;
    }
}

/// Commands that run at once even inside MULTI.
const QUEUE_BYPASS: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];

/// How a unit takes the keys its write declares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Locking {
    /// Waits on the thread: the master's stream, applied in order by its
    /// one link.
    Wait,
    /// Returns the busy key before anything runs; the connection awaits it
    /// without holding its worker.
    Try,
}

/// Runs one command as one unit, waiting for its keys on the thread (see
/// [`unit`]).
pub fn run_unit(server: &Server, client: &mut ClientState, cmd: Resolved, argv: &[Bytes]) -> Reply {
    match unit(server, client, cmd, argv, Locking::Wait) {
        Ok(reply) => reply,
        Err(_) => unreachable!("a waiting unit never reports a busy key"),
    }
}

/// Runs one command as one unit: takes the keyspace gate, locks the keys a
/// write declares, runs the handler in a fresh write context, commits the
/// unit (data, propagated form and offset in one batch), then delivers its
/// effects and serves clients blocked on keys it made ready. With
/// [`Locking::Try`], a busy key returns before anything ran.
fn unit(
    server: &Server,
    client: &mut ClientState,
    cmd: Resolved,
    argv: &[Bytes],
    locking: Locking,
) -> Result<Reply, BusyKey> {
    let ks = &*server.ks;
    let exclusive = cmd.spec.has(flags::EXCLUSIVE);
    let (_gate_shared, _gate_excl);
    let w = if exclusive {
        _gate_excl = ks.exclusive_gate();
        WriteContext::exclusive(ks, now_ms())
    } else {
        _gate_shared = ks.shared_gate();
        WriteContext::new(ks, now_ms())
    };
    if cmd.spec.is_write() && !exclusive {
        if let Some(keys) = cmd.spec.key_args(argv) {
            let db = ks.physical(client.db);
            let mut all: Vec<(u8, &[u8])> = keys.iter().map(|k| (db, &k[..])).collect();
            if let Some((other, key)) = other_db_key(cmd.spec.name, argv, ks.databases()) {
                all.push((ks.physical(other), key));
            }
            match locking {
                Locking::Wait => w.lock_multi(&all),
                Locking::Try => w.try_lock_multi(&all)?,
            }
        }
    }
    if client.master_link && !client.master_raw.is_empty() {
        w.forward_raw(client.master_raw.split().freeze());
    }
    let reply = run_command(server, client, cmd, argv, &w);
    if client.master_link {
        w.forwarded_db(client.db);
    }
    Ok(commit_and_serve(server, client, w).unwrap_or(reply))
}

/// Commits a unit for `client`: records its commit (for `appendfsync
/// always` and WAIT), delivers its effects, then serves clients blocked on
/// keys it made ready. `Some(error)` when the commit failed: the reply of
/// every command of the unit.
pub(super) fn commit_and_serve(
    server: &Server,
    client: &mut ClientState,
    w: WriteContext<'_>,
) -> Option<Reply> {
    let failed = committed(server, client, w.commit());
    if !client.ready_keys.is_empty() {
        server
            .blocking
            .serve(server, std::mem::take(&mut client.ready_keys));
    }
    failed
}

/// What a unit's commit means for its client: its position recorded (for
/// `appendfsync always` and WAIT) and its effects delivered, or the error
/// every command of the unit answers with.
pub(super) fn committed(
    server: &Server,
    client: &mut ClientState,
    result: crate::types::TypeResult<(crate::types::Committed, crate::types::Effects)>,
) -> Option<Reply> {
    match result {
        Ok((committed, effects)) => {
            if committed.wrote {
                client.last_commit = client.last_commit.max(committed.seq);
                client.last_write_offset = client.last_write_offset.max(committed.offset);
            }
            server.deliver(effects);
            None
        }
        Err(e) => Some(Reply::from(crate::cmd::CmdError::from(e))),
    }
}

/// Runs one command inside the unit `w` (alone, or as one command of an
/// EXEC): the handler, then its propagation in the form replicas must see
/// (verbatim when it changed data and did not rewrite itself), then the
/// statistics.
pub fn run_command(
    server: &Server,
    client: &mut ClientState,
    cmd: Resolved,
    argv: &[Bytes],
    w: &WriteContext<'_>,
) -> Reply {
    let spec = cmd.spec;
    client.info.last_cmd.store(cmd.id, Ordering::Relaxed);
    let Some(handler) = spec.handler else {
        // A container called with only its name fails the arity check,
        // so a handler-less spec is never reached with valid arguments.
        return Reply::error("ERR unknown command");
    };
    let start = crate::clock::monotonic_ns();
    client.info.touch(start);
    let changes_before = w.own_changes();
    let mut ctx = Ctx {
        server,
        client,
        cmd,
        w,
        rewritten: false,
    };
    let result = handler(&mut ctx, argv);
    if spec.is_write() && !ctx.rewritten && w.own_changes() > changes_before {
        w.propagate(ctx.client.db, argv.to_vec());
    }
    let elapsed = Duration::from_nanos(crate::clock::monotonic_ns().saturating_sub(start));
    super::slowlog::observe(server, client, &cmd, argv, elapsed);
    let reply = result.unwrap_or_else(Reply::from);
    server
        .stats
        .record_call(cmd.id, elapsed.as_micros() as u64, reply.is_error());
    server.metrics.observe(cmd.id, elapsed);
    server
        .stats
        .total_commands_processed
        .fetch_add(1, Ordering::Relaxed);
    reply
}

/// Refusals that depend on the connection's mode, in Redis 7.0's order: a
/// RESP2 subscriber may only (un)subscribe, PING, QUIT or RESET; a MONITOR
/// client (a replica to Redis) may not touch the keyspace.
pub(super) fn context_rejection(
    server: &Server,
    client: &ClientState,
    cmd: crate::cmd::Resolved,
) -> Option<String> {
    let spec = cmd.spec;
    // One atomic load when the server follows no master.
    let replica = if server.replica_link.is_following() && !client.master_link {
        Some(server.config.settings())
    } else {
        None
    };
    if let Some(s) = &replica {
        // Redis checks the write flag, and for EXEC whether a queued command
        // writes; queued writes were already refused when queued.
        if s.replica.read_only && spec.is_write() {
            return Some("READONLY You can't write against a read only replica.".into());
        }
    }
    if spec.is_write()
        && replica.is_none()
        && !client.master_link
        && server.replicas.too_few_for_writes()
    {
        return Some("NOREPLICAS Not enough good replicas to write.".into());
    }
    // Cheapest test first: most clients are not subscribed.
    if client.info.in_pubsub()
        && client.resp == crate::resp::RespVersion::Resp2
        && !(cmd.parent.is_none() && crate::cmd::pubsub::allowed_while_subscribed(spec.name))
    {
        return Some(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            server.commands.fullname(cmd.id)
        ));
    }
    if client.info.is_monitor() && spec.has(flags::WRITE | flags::READONLY | flags::MAY_REPLICATE) {
        return Some("ERR Replica can't interact with the keyspace".into());
    }
    if let Some(s) = &replica {
        if !s.replica.serve_stale_data && !spec.has(flags::STALE) && !server.replica_link.is_up() {
            return Some(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                    .into(),
            );
        }
    }
    None
}

/// Appends the reply of a blocking command once its wait has ended.
pub fn finish_blocked(
    server: &Server,
    client: &mut ClientState,
    wakeup: Wakeup,
    timeout_reply: Reply,
    out: &mut BytesMut,
) {
    let reply = match wakeup {
        Wakeup::Served { reply, seq } => {
            if let Some(seq) = seq {
                client.last_commit = client.last_commit.max(seq);
            }
            reply
        }
        Wakeup::Timeout => timeout_reply,
        Wakeup::Error(e) => e,
    };
    emit(server, client, reply, out);
}

/// Holds a command while CLIENT PAUSE (or a FAILOVER) applies to it;
/// `true` when it had to wait.
async fn wait_for_pause(server: &Server, may_write: bool) -> bool {
    let applies = || {
        server
            .pause
            .current()
            .filter(|(mode, _)| *mode == PauseMode::All || may_write)
    };
    let mut waited = false;
    // The common case, no pause, costs one check and no registration.
    while applies().is_some() {
        // Registered before the check again, so a resume in between is not
        // missed.
        let resumed = server.pause.resumed.notified();
        tokio::pin!(resumed);
        resumed.as_mut().enable();
        let Some((_, until)) = applies() else {
            break;
        };
        waited = true;
        tokio::select! {
            _ = resumed => {}
            _ = tokio::time::sleep_until(until.into()) => {}
        }
    }
    waited
}
