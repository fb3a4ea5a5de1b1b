//! Integration tests: real `strata-server` processes (and real
//! `redis-server` / `redis-cli` where behaviour is compared), on free
//! loopback ports. One test binary, so the linker runs once.

mod common;

mod blocking;
mod command;
mod config;
mod connection;
mod differential;
mod differential_types;
mod durability;
mod hashes;
mod keys;
mod keyspace_events;
mod lists;
mod metrics;
mod propagation;
mod protocol;
mod repl_tap;
mod server;
mod sets;
mod sort;
mod strings;
mod write_gen;
mod write_run;
mod zsets;
mod zsets_scale;
