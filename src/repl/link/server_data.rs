//! Strata's data side of a replica: what the link receives lands here.
//!
//! - The master's RDB is loaded into fresh physical databases on the
//!   loader's thread and switched in with one commit that also adopts the
//!   master's replication id and offset (`repl::load`).
//! - Every command of the stream runs through the normal command path as
//!   the master client, and its unit forwards the command's exact bytes
//!   (instead of Strata's own propagated form) into Strata's backlog: the
//!   data change and the new offset commit in one batch, and Strata's
//!   stream is its master's, byte for byte, with the same id and offsets.
//!   A transaction's bytes wait for its EXEC, so a crash never leaves half.
//! - The position the link asks PSYNC with is the keyspace's own durable
//!   position, so a restarted Strata continues where its data stands.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

use crate::repl::data::{DataError, LoadStats, MasterPosition, PreviousId, ReplicaData};
use crate::repl::load::{self, LoadProgress};
use crate::server::client::{ClientInfo, ClientState, ReplyMode};
use crate::server::master_run::{self, MasterRun};
use crate::server::{dispatch, Server};
use crate::types::backlog::{new_replid, ReplPosition};

pub struct ServerReplicaData {
    server: Weak<Server>,
    /// The master client: its selected database, open MULTI and uncommitted
    /// stream bytes survive a partial resync, as in Redis's cached master.
    master: Mutex<Option<ClientState>>,
    /// The position the RDB of the full resync in progress reflects.
    full_sync: Mutex<Option<ReplPosition>>,
    pub progress: Arc<LoadProgress>,
}

impl ServerReplicaData {
    pub fn new(server: Weak<Server>) -> ServerReplicaData {
        ServerReplicaData {
            server,
            master: Mutex::new(None),
            full_sync: Mutex::new(None),
            progress: Arc::new(LoadProgress::default()),
        }
    }

    fn server(&self) -> Result<Arc<Server>, DataError> {
        self.server.upgrade().ok_or(DataError::ServerGone)
    }

    /// The master client, created on first use.
    fn master_client<'a>(
        server: &Server,
        master: &'a mut Option<ClientState>,
    ) -> &'a mut ClientState {
        master.get_or_insert_with(|| {
            // After a restart the master continues its stream in the
            // database it had selected: start there.
            let mut c = Self::new_master_client(server);
            c.db = server
                .ks
                .stream_db()
                .filter(|&db| db < server.ks.databases())
                .unwrap_or(0);
            c
        })
    }

    fn new_master_client(server: &Server) -> ClientState {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        let info = Arc::new(ClientInfo::new(
            server.clients.next_id(),
            unspecified,
            unspecified,
            -1,
        ));
        let mut client = ClientState::new(info, true);
        client.master_link = true;
        client.reply_mode = ReplyMode::Off;
        client
    }
}

impl ReplicaData for ServerReplicaData {
    fn position(&self) -> Option<MasterPosition> {
        let server = self.server.upgrade()?;
        // What the link reports (ACK, PSYNC) must be durable first.
        if let Err(e) = server.ks.flush_wal() {
            tracing::warn!("flushing the log before reporting the offset: {e}");
        }
        let pos = server.ks.position();
        // A fresh data directory's random id at offset 0 names no stream:
        // ask `PSYNC ? -1` then, as a Redis replica without a cached master.
        (pos.offset > 0 || server.ks.position_known()).then_some(MasterPosition {
            replid: pos.replid,
            offset: pos.offset,
        })
    }

    fn previous_id(&self) -> Option<PreviousId> {
        let server = self.server.upgrade()?;
        server.ks.previous_position().map(|p| PreviousId {
            replid: p.replid,
            second_offset: p.offset + 1,
        })
    }

    fn begin_full_sync(&self, replid: &str, offset: u64) -> Result<(), DataError> {
        // The stream after an RDB starts with SELECT; a new master client
        // starts in database 0 with no transaction open.
        *self.master.lock() = None;
        *self.full_sync.lock() = Some(ReplPosition {
            replid: replid.to_string(),
            offset,
        });
        Ok(())
    }

    fn load_rdb(&self, rdb: &mut dyn Read) -> Result<LoadStats, DataError> {
        let server = self.server()?;
        let position = self.full_sync.lock().clone().ok_or(DataError::NoPosition)?;
        tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        let limits = crate::cmd::encoding_limits(&server.config);
        let keys = load::load_rdb(&server.ks, rdb, limits, position, &self.progress)
            .map_err(|e| DataError::BadRdb(e.to_string()))?;
        tracing::info!("Done loading RDB, keys loaded: {keys}, keys expired: 0.");
        Ok(LoadStats {
            keys_loaded: keys,
            keys_expired: 0,
        })
    }

    fn adopt_position(&self, replid: &str, offset: u64) {
        let Some(server) = self.server.upgrade() else {
            return;
        };
        let pos = server.ks.position();
        if pos.offset != offset {
            tracing::warn!(
                "the master's offset {offset} is not the data's {}: keeping the data's",
                pos.offset
            );
        }
        if let Err(e) = server.ks.adopt_replid(replid) {
            tracing::warn!("storing the master's replication id: {e}");
        }
        if pos.replid != replid {
            disconnect_replicas(&server);
        }
    }

    fn apply(&self, argv: Vec<Bytes>, raw: &[u8]) -> Result<(), DataError> {
        let server = self.server()?;
        let mut master = self.master.lock();
        let client = Self::master_client(&server, &mut master);
        apply_alone(&server, client, argv, raw)
    }

    fn apply_stretch(&self, mut commands: Vec<(Vec<Bytes>, Bytes)>) -> Result<(), DataError> {
        let server = self.server()?;
        let mut master = self.master.lock();
        let client = Self::master_client(&server, &mut master);
        let mut run = MasterRun::new(&server);
        let failed = |e: master_run::CommitFailed| DataError::Commit(e.0);
        for i in 0..commands.len() {
            if i % master_run::PREFETCH_WINDOW == 0 && commands.len() > 1 {
                let end = (i + master_run::PREFETCH_WINDOW).min(commands.len());
                master_run::prefetch(&server, client, &commands[i..end]);
            }
            let (argv, raw) = std::mem::take(&mut commands[i]);
            let alone = match master_run::joins(&server, client, &argv) {
                Some(cmd) => run.push(client, cmd, argv, &raw).map_err(failed)?,
                None => {
                    run.finish(client).map_err(failed)?;
                    Some(argv)
                }
            };
            if let Some(argv) = alone {
                apply_alone(&server, client, argv, &raw)?;
            }
        }
        run.finish(client).map_err(failed)
    }

    fn loading(&self) -> Option<(u64, u64, u64)> {
        let p = &self.progress;
        p.loading.load(Ordering::Relaxed).then(|| {
            (
                p.started_unix.load(Ordering::Relaxed),
                p.loaded_bytes.load(Ordering::Relaxed),
                p.loaded_keys.load(Ordering::Relaxed),
            )
        })
    }

    fn stop_following(&self) {
        // Promotion, as Redis's shiftReplicationId: the data keeps its
        // offset under a new id; the master's id stays valid up to here
        // (replid2), so its other replicas can continue with us partially.
        *self.master.lock() = None;
        if let Some(server) = self.server.upgrade() {
            if let Err(e) = server.ks.adopt_replid(&new_replid()) {
                tracing::warn!("storing the new replication id: {e}");
            }
            // As Redis's replicationUnsetMaster.
            disconnect_replicas(&server);
        }
        self.progress.loading.store(false, Ordering::Relaxed);
    }
}

/// Applies one command of the stream in a unit of its own (see
/// [`ReplicaData::apply`]).
fn apply_alone(
    server: &Server,
    client: &mut ClientState,
    argv: Vec<Bytes>,
    raw: &[u8],
) -> Result<(), DataError> {
    client.master_raw.extend_from_slice(raw);
    if let Some(name) = argv.first().cloned() {
        let reply = dispatch::execute_for_master(server, client, argv);
        if let crate::resp::Reply::Error(e) = reply {
            master_run::log_error(&e, &name);
        }
    }
    // Bytes no unit took (an error before the command ran, a blank line)
    // still advance the offset; inside MULTI they wait for EXEC.
    if client.multi.is_none() && !client.master_raw.is_empty() {
        let raw = client.master_raw.split().freeze();
        server
            .ks
            .forward_only(raw, Some(client.db))
            .map_err(|e| DataError::Commit(e.to_string()))?;
    }
    Ok(())
}

/// Our id changed (a promotion, or the master's new id): our replicas,
/// which still hold the old one, are disconnected so they ask again and
/// learn the new one with `+CONTINUE` (the old one is our replid2), as
/// Redis's disconnectSlaves.
fn disconnect_replicas(server: &crate::server::Server) {
    for r in server.replicas.all() {
        if let Some(c) = server.clients.get(r.client_id) {
            c.kill();
        }
    }
}
