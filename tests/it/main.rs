//! Integration tests: real `strata-server` processes (and real
//! `redis-server` / `redis-cli` where behaviour is compared), on free
//! loopback ports. One test binary, so the linker runs once.

mod common;
mod reply;

mod backlog;
mod blocking;
mod chain_failover;
mod command;
mod config;
mod connection;
mod differential;
mod differential_types;
mod dump_restore;
mod durability;
mod failover;
mod hashes;
mod hot_key;
mod introspection;
mod keeper;
mod keys;
mod keyspace_events;
mod lists;
mod master_sync;
mod metrics;
mod notifications;
mod pipeline;
mod pmem_crash;
mod propagation;
mod protocol;
mod pubsub;
mod rdb_writer;
mod relay_chain;
mod repl_tap;
mod replica_link;
mod replica_sync;
mod sentinel;
mod sentinel_mixed;
mod server;
mod sets;
mod shared_commit;
mod sort;
mod strings;
mod sync_sharing;
mod topology;
mod transactions;
mod write_gen;
mod write_run;
mod xdc;
mod zsets;
mod zsets_scale;
