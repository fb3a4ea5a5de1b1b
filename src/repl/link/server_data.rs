//! Strata's data side of a replica, as far as it exists today: the stream
//! runs through the normal command path as the master client, the position
//! is kept in memory, and an RDB is accepted only when it holds no keys.
//!
//! The data-side work replaces the pieces marked below: loading the RDB into
//! the engine, committing the position with the data (so it survives a
//! restart), and forwarding the master's bytes into Strata's own backlog.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::Mutex;

use super::empty_rdb;
use crate::repl::data::{DataError, LoadStats, MasterPosition, PreviousId, ReplicaData};
use crate::server::client::{ClientInfo, ClientState, ReplyMode};
use crate::server::{dispatch, Server};

/// The state of following one master, kept across reconnections.
struct Followed {
    position: Option<MasterPosition>,
    previous: Option<PreviousId>,
}

pub struct ServerReplicaData {
    server: Weak<Server>,
    /// The master client: its selected database and open MULTI survive a
    /// partial resync, as Redis keeps them in its cached master.
    master: Mutex<Option<ClientState>>,
    followed: Mutex<Followed>,
}

impl ServerReplicaData {
    pub fn new(server: Weak<Server>) -> ServerReplicaData {
        ServerReplicaData {
            server,
            master: Mutex::new(None),
            followed: Mutex::new(Followed {
                position: None,
                previous: None,
            }),
        }
    }

    fn server(&self) -> Result<Arc<Server>, DataError> {
        self.server.upgrade().ok_or(DataError::ServerGone)
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

    /// Empties every database before the master's dataset replaces it
    /// (Redis's "Flushing old data"), through the command path so that the
    /// flush commits like any write.
    fn flush_old_data(server: &Server) -> Result<(), DataError> {
        let has_keys = (0..server.ks.databases()).any(|db| server.ks.dbsize(db) > 0);
        if !has_keys {
            return Ok(());
        }
        let mut client = Self::new_master_client(server);
        let reply = dispatch::execute_for_master(
            server,
            &mut client,
            vec![Bytes::from_static(b"FLUSHALL")],
        );
        match reply {
            crate::resp::Reply::Error(e) => Err(DataError::Commit(e)),
            _ => Ok(()),
        }
    }
}

impl ReplicaData for ServerReplicaData {
    fn position(&self) -> Option<MasterPosition> {
        self.followed.lock().position.clone()
    }

    fn previous_id(&self) -> Option<PreviousId> {
        self.followed.lock().previous.clone()
    }

    fn begin_full_sync(&self, _replid: &str, _offset: u64) -> Result<(), DataError> {
        // The stream after an RDB starts with SELECT; a new master client
        // starts in database 0 with no transaction open.
        *self.master.lock() = None;
        Ok(())
    }

    /// Stand-in until the RDB reader is wired: the payload must hold no keys.
    fn load_rdb(&self, rdb: &mut dyn Read) -> Result<LoadStats, DataError> {
        empty_rdb::check_empty(rdb)?;
        let server = self.server()?;
        tracing::info!("MASTER <-> REPLICA sync: Flushing old data");
        Self::flush_old_data(&server)?;
        Ok(LoadStats::default())
    }

    fn adopt_position(&self, replid: &str, offset: u64) {
        let mut f = self.followed.lock();
        let changed_id = f
            .position
            .as_ref()
            .filter(|p| p.offset == offset && p.replid != replid)
            .map(|p| PreviousId {
                replid: p.replid.clone(),
                second_offset: offset + 1,
            });
        // A full sync clears the previous id; a new id on +CONTINUE keeps the
        // old one as the previous id.
        f.previous = changed_id;
        f.position = Some(MasterPosition {
            replid: replid.to_string(),
            offset,
        });
    }

    fn apply(&self, argv: Vec<Bytes>, raw: &[u8]) -> Result<(), DataError> {
        if !argv.is_empty() {
            let server = self.server()?;
            let mut master = self.master.lock();
            let client = master.get_or_insert_with(|| Self::new_master_client(&server));
            let name = String::from_utf8_lossy(&argv[0]).into_owned();
            let reply = dispatch::execute_for_master(&server, client, argv);
            if let crate::resp::Reply::Error(e) = reply {
                tracing::warn!(
                    "== CRITICAL == This replica is sending an error to its master: '{e}' after processing the command '{name}'"
                );
            }
        }
        // Not atomic with the data's commit yet: the data side will commit
        // the offset in the same batch.
        let mut f = self.followed.lock();
        let pos = f.position.as_mut().ok_or(DataError::NoPosition)?;
        pos.offset += raw.len() as u64;
        Ok(())
    }

    fn stop_following(&self) {
        // Writes of its own follow: the master's offset no longer describes
        // the data, so a later REPLICAOF starts with a full resync.
        let mut f = self.followed.lock();
        f.position = None;
        f.previous = None;
        *self.master.lock() = None;
    }
}
