//! A stretch of the master's replication stream as few units as possible.
//!
//! A replica applies its master's commands as the master client. Applied
//! one by one, each command is its own engine batch (its data, its bytes
//! forwarded into the backlog and the new offset): a RocksDB write per
//! command, on cores the replica may share with its master. Here the keyed
//! writes of one stretch (what one read of the link delivered) run in one
//! write context and commit as one batch, under the rules of a client's
//! pipeline (`pipeline.rs`):
//!
//! - each command locks its keys until the commit and reads what the
//!   commands before it staged, as it would have read them committed;
//! - a busy key commits what ran, and the command then runs alone, waiting
//!   for the key (the unit waits for nothing while it holds keys);
//! - a command that readies a key for a blocked client commits the unit,
//!   so that client is served before the next command, as in Redis;
//! - anything else (SELECT, MULTI, PING, FLUSHALL, a command inside a
//!   transaction, an unknown command) commits the unit and runs alone.
//!
//! The unit forwards the stretch's bytes in order and moves the offset past
//! all of them at once: the replica's stream stays its master's byte for
//! byte, and a crash keeps all of a unit or none of it.

use bytes::{Bytes, BytesMut};
use parking_lot::RwLockReadGuard;

use super::client::ClientState;
use super::{dispatch, monitor, Server};
use crate::cmd::Resolved;
use crate::resp::Reply;
use crate::types::{now_ms, WriteContext};

/// At most this many commands share a unit: it bounds how long the unit
/// holds its keys from the replica's own clients.
const MAX_COMMANDS: usize = 128;

/// Whether a command of the master's stream may share a unit: a keyed write
/// that neither blocks, nor needs the keyspace alone, nor reaches into
/// another database, outside a transaction. The master client is never
/// refused or paused, so nothing else applies.
pub fn joins(server: &Server, client: &ClientState, argv: &[Bytes]) -> Option<Resolved> {
    if client.multi.is_some() || argv.is_empty() {
        return None;
    }
    let cmd = server.commands.lookup(argv).ok()?;
    (cmd.spec.is_write() && dispatch::may_share_a_unit(cmd, argv)).then_some(cmd)
}

/// The open unit of a stretch.
struct Unit<'s> {
    w: WriteContext<'s>,
    _gate: RwLockReadGuard<'s, ()>,
    /// The stream bytes of the unit's commands, in order.
    raw: BytesMut,
    /// What MONITOR shows once the unit committed.
    fed: Vec<(u32, Vec<Bytes>)>,
}

/// A stretch of the stream being applied: [`push`](Self::push) each
/// command that [`joins`], [`finish`](Self::finish) before any other.
pub struct MasterRun<'s> {
    server: &'s Server,
    unit: Option<Unit<'s>>,
}

/// A commit failed: the error every command of the unit got.
#[derive(Debug)]
pub struct CommitFailed(pub String);

impl<'s> MasterRun<'s> {
    pub fn new(server: &'s Server) -> MasterRun<'s> {
        MasterRun { server, unit: None }
    }

    /// Runs `cmd` in the open unit (opening one). `Ok(Some(argv))`: its key
    /// is busy; the unit so far is committed and the caller runs the
    /// command alone (`dispatch::execute_for_master`), which waits for it.
    pub fn push(
        &mut self,
        client: &mut ClientState,
        cmd: Resolved,
        argv: Vec<Bytes>,
        raw: &[u8],
    ) -> Result<Option<Vec<Bytes>>, CommitFailed> {
        let server = self.server;
        let db = server.ks.physical(client.db);
        let fresh = self.unit.is_none();
        let u = self.unit.get_or_insert_with(|| {
            let ks = &*server.ks;
            let gate = ks.shared_gate();
            Unit {
                w: WriteContext::new(ks, now_ms()),
                _gate: gate,
                raw: BytesMut::new(),
                fed: Vec::new(),
            }
        });
        if dispatch::try_lock_keys(&u.w, db, cmd, &argv).is_err() {
            self.finish(client)?;
            return Ok(Some(argv));
        }
        if !fresh {
            // Redis reads the clock for each command.
            u.w.set_now_ms(now_ms());
        }
        u.raw.extend_from_slice(raw);
        let reply = dispatch::run_command(server, client, cmd, &argv, &u.w);
        u.w.end_command();
        if let Reply::Error(e) = &reply {
            log_error(e, &argv[0]);
        }
        u.fed.push((cmd.spec.flags, argv));
        let readied = !client.ready_keys.is_empty() && server.blocking.blocked_clients() > 0;
        if readied || u.fed.len() >= MAX_COMMANDS {
            self.finish(client)?;
        }
        Ok(None)
    }

    /// Commits the open unit, if any: its data, its bytes and the offset
    /// past them in one batch; then serves clients blocked on keys it
    /// readied and feeds MONITOR.
    pub fn finish(&mut self, client: &mut ClientState) -> Result<(), CommitFailed> {
        let Some(Unit { w, _gate, raw, fed }) = self.unit.take() else {
            return Ok(());
        };
        if fed.is_empty() {
            // Opened for a command whose key was busy: nothing to commit.
            return Ok(());
        }
        w.forward_raw(raw.freeze());
        w.forwarded_db(client.db);
        let failed = dispatch::commit_and_serve(self.server, client, w);
        drop(_gate);
        if let Some(reply) = failed {
            return Err(CommitFailed(match reply {
                Reply::Error(e) => e,
                other => format!("{other:?}"),
            }));
        }
        for (flags, argv) in fed {
            monitor::feed(self.server, client, flags, &argv);
        }
        Ok(())
    }
}

/// Commands of a stretch whose metadata records are prefetched together:
/// enough for their memory latencies to overlap, few enough that the
/// first are still in the processor's cache when their command runs.
pub const PREFETCH_WINDOW: usize = 32;

/// Starts loading the metadata records the next commands of a stretch will
/// look up (`pipeline::prefetch_metadata`), in the client's database: a
/// SELECT among them only makes the hint miss.
pub fn prefetch(server: &Server, client: &ClientState, commands: &[(Vec<Bytes>, Bytes)]) {
    let db = server.ks.physical(client.db);
    let resolved: Vec<(Resolved, &[Bytes])> = commands
        .iter()
        .filter_map(|(argv, _)| Some((server.commands.lookup(argv).ok()?, argv.as_slice())))
        .collect();
    super::pipeline::prefetch_metadata(server, db, resolved.into_iter());
}

/// A command of the master's stream failed here: Redis logs it the same way.
pub fn log_error(error: &str, name: &[u8]) {
    let name = String::from_utf8_lossy(name);
    tracing::warn!(
        "== CRITICAL == This replica is sending an error to its master: '{error}' after processing the command '{name}'"
    );
}
