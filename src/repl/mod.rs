//! Replication with Redis's own protocol (PSYNC2).
//!
//! The durable backlog and the replication position live at the commit point
//! (`types::backlog`, `Keyspace::commit_unit`); this module serves them.
//! Master side: `master` serves PSYNC/SYNC (a full resync writes an RDB from
//! a snapshot, `snapshot_rdb`, shared between replicas by `rdb_jobs`; a partial one reads the backlog), `feed`
//! follows the stream for a replica, `replicas` keeps their registry (ACKs,
//! WAIT in `wait`), and `failover` runs FAILOVER. Replica side: `link` follows a master (REPLICAOF) and
//! hands what it receives to the data side through `data::ReplicaData`,
//! whose RDB loading is `load`.

pub mod data;
pub mod failover;
pub mod feed;
pub mod link;
pub mod load;
pub mod master;
pub mod rdb_jobs;
pub mod replicas;
pub mod snapshot_rdb;
pub mod wait;
