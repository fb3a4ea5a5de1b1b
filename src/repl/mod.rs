//! Replication with Redis's own protocol (PSYNC2).
//!
//! The durable backlog and the replication position live at the commit point
//! (`types::backlog`, `Keyspace::commit_unit`); this module serves them.
//! Today: the master side of a partial resynchronisation — a replica that
//! asks `PSYNC <replid> <offset>` for an offset still in the backlog gets
//! `+CONTINUE` and then the stream, read from disk and followed live.
//! The replica side: `link` follows a Redis master (REPLICAOF) and hands
//! what it receives to the data side through `data::ReplicaData`.

pub mod data;
pub mod feed;
pub mod link;
pub mod master;
pub mod replicas;
pub mod snapshot_rdb;
pub mod wait;
