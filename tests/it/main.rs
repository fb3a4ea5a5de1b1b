//! Integration tests: real `strata-server` processes (and real
//! `redis-server` / `redis-cli` where behaviour is compared), on free
//! loopback ports. One test binary, so the linker runs once.

mod common;

mod command;
mod config;
mod connection;
mod differential;
mod durability;
mod keys;
mod metrics;
mod protocol;
mod server;
mod sets;
mod strings;
