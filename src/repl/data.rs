//! The boundary between the replica side's link (the protocol with a master)
//! and the data side (where the master's dataset and stream land).
//!
//! The link (`repl::link`) knows the handshake, the RDB framing and the
//! stream's offsets; it knows nothing of how data is stored. Everything it
//! hands over — the RDB payload, each command of the stream with its exact
//! bytes, the position the data reflects — goes through [`ReplicaData`], so
//! the data side can load the RDB into the engine in batches, commit each
//! command together with its offset, and forward the master's bytes into
//! Strata's own backlog, without the link changing.

use std::io::Read;

use bytes::Bytes;

/// Where a replica's data stands in its master's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MasterPosition {
    /// The master's replication id.
    pub replid: String,
    /// The offset of the last stream byte the data reflects (the next PSYNC
    /// asks for `offset + 1`).
    pub offset: u64,
}

/// The id a replica followed before its master changed id (`+CONTINUE
/// <newid>` after a failover): INFO's `master_replid2` and
/// `second_repl_offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousId {
    pub replid: String,
    /// The first offset that belongs to the new id.
    pub second_offset: u64,
}

/// What a full synchronisation loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub keys_loaded: u64,
    pub keys_expired: u64,
}

/// Why the data side refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("reading the RDB payload: {0}")]
    Io(#[from] std::io::Error),
    #[error("the payload is not a valid RDB: {0}")]
    BadRdb(String),
    /// A command arrived before any position was adopted.
    #[error("no replication position to advance: no synchronisation completed")]
    NoPosition,
    #[error("the server is shutting down")]
    ServerGone,
    #[error("{0}")]
    Commit(String),
}

/// The data side of a replica, as the link drives it.
///
/// Call order for one link: `position` (to choose the PSYNC), then either
/// `begin_full_sync` -> `load_rdb` -> `adopt_position` (full resync) or
/// `adopt_position` alone (partial resync, when the master announced a new
/// replication id), then `apply_stretch` (or `apply`) for every command of
/// the stream, in order. `load_rdb` runs on a thread of its own; the other
/// methods are called from the link's task and must not block for long (an
/// `apply_stretch` commits at most a few units).
pub trait ReplicaData: Send + Sync {
    /// The position the data reflects, when it came from a master (a
    /// restarted replica must find it again); `None` makes the link ask for
    /// a full resync (`PSYNC ? -1`).
    fn position(&self) -> Option<MasterPosition>;

    /// The previous replication id, if the master changed it during a
    /// partial resync.
    fn previous_id(&self) -> Option<PreviousId> {
        None
    }

    /// A full resync starts: the RDB that follows reflects `replid` at
    /// `offset`. The current data keeps serving reads until `load_rdb`
    /// succeeds.
    fn begin_full_sync(&self, replid: &str, offset: u64) -> Result<(), DataError>;

    /// Reads the whole RDB from `rdb` (the payload only: no framing, the
    /// `$EOF:` mark removed) and makes it the dataset, replacing the old one.
    /// An `Err` leaves the old data in place and the link starts over.
    fn load_rdb(&self, rdb: &mut dyn Read) -> Result<LoadStats, DataError>;

    /// The data now reflects `replid` at `offset`: after a successful load,
    /// or after `+CONTINUE <newid>` (same offset, new id; the old id becomes
    /// the previous one).
    fn adopt_position(&self, replid: &str, offset: u64);

    /// Applies one command of the stream, as the master client. `raw` are
    /// the exact bytes it occupied in the stream (they advance the offset by
    /// `raw.len()` and are what a sub-replica must receive); `argv` may be
    /// empty for bytes that carry no command (a blank line), which only
    /// advance the offset. Command errors are the master's business and are
    /// logged; an `Err` means the data side could not keep up its promise
    /// (a failed commit) and the link must start over.
    fn apply(&self, argv: Vec<Bytes>, raw: &[u8]) -> Result<(), DataError>;

    /// Applies consecutive commands of the stream (`(argv, raw)` each, as
    /// [`apply`](Self::apply) takes them), in order; the data side may
    /// commit several as one unit. Every one is applied when it returns
    /// `Ok`.
    fn apply_stretch(&self, commands: Vec<(Vec<Bytes>, Bytes)>) -> Result<(), DataError> {
        for (argv, raw) in commands {
            self.apply(argv, &raw)?;
        }
        Ok(())
    }

    /// Replication stopped (REPLICAOF NO ONE): the server accepts writes of
    /// its own from now on, so the master's position no longer describes
    /// the data.
    fn stop_following(&self);

    /// A full resync's load in progress: (start unix seconds, RDB bytes
    /// read, keys loaded), for INFO's `loading` fields.
    fn loading(&self) -> Option<(u64, u64, u64)> {
        None
    }
}
