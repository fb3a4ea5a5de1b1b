//! Strata: a Redis-compatible key-value server whose data lives on SSD
//! (RocksDB) or persistent memory.
//!
//! Layers, top to bottom; each knows only the one below it:
//! [`server`] (network) -> [`resp`] (protocol) -> [`cmd`] (commands) ->
//! [`types`] (Redis semantics over encoded keys) -> [`engine`] (ordered KV).

pub mod clock;
pub mod cmd;
pub mod config;
pub mod engine;
pub mod glob;
pub mod metrics;
pub mod notify;
pub mod num;
pub mod packed;
pub mod rdb;
pub mod repl;
pub mod resp;
pub mod server;
pub mod types;
