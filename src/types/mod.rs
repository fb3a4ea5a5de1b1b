//! Redis data types over the encoded keyspace. Nothing here knows RESP:
//! functions take and return plain Rust values and typed errors, and the
//! command layer turns them into replies.

pub mod backlog;
pub mod bulk;
pub mod commit_queue;
pub mod context;
pub mod dump;
pub mod encoding;
pub mod expire;
pub mod export;
pub mod hash;
pub mod key_locks;
pub mod keys;
pub mod keyspace;
pub mod list;
pub mod load;
pub mod overlay;
pub mod random_pick;
pub mod set;
pub mod set_algebra;
pub mod sort;
pub mod string;
mod unit_locks;
mod write_set;
pub mod zset;
pub mod zset_algebra;
pub mod zset_range;

pub use commit_queue::DeferredUnit;
pub use context::{BusyKey, Effects, KeyspaceEvent, WriteContext};
pub use encoding::{KeyType, Metadata};
pub use keyspace::{Committed, Keyspace, StalePolicy, WriteSet};

#[derive(Debug, thiserror::Error)]
pub enum TypeError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("{0}")]
    Corrupt(#[from] encoding::CorruptMetadata),
    /// A semantic error whose text is the full Redis error line (e.g. `ERR value is not an integer or out of range`).
    #[error("{0}")]
    Reply(String),
}

pub type TypeResult<T> = Result<T, TypeError>;

/// The wall clock under the names the data types use.
pub use crate::clock::{unix_ms as now_ms, unix_us as now_us};

/// A keyspace of 16 databases on a fresh engine with small caches, in `dir`
/// (unit tests of the data types). The engine is the one named by
/// `STRATA_TEST_ENGINE` (default `rocksdb`), opened through the factory, so
/// `scripts/test.sh` runs every types test once per registered engine.
#[cfg(test)]
pub(crate) fn test_keyspace_in(dir: &std::path::Path) -> Keyspace {
    use crate::engine::{self, EngineOptions};
    let name = std::env::var("STRATA_TEST_ENGINE").unwrap_or_else(|_| "rocksdb".into());
    let policy = std::sync::Arc::new(StalePolicy);
    let engine = engine::open(&name, dir, &EngineOptions::small(), policy).expect("engine");
    Keyspace::open(engine, 16).expect("keyspace")
}

/// A write context over a keyspace in `dir` that commits every change as it
/// is staged, so the data-type unit tests can call the types functions one
/// after another and inspect the engine in between. The keyspace is leaked:
/// it lives as long as the test process.
#[cfg(test)]
pub(crate) fn test_context_in(dir: &std::path::Path) -> WriteContext<'static> {
    let ks: &'static Keyspace = Box::leak(Box::new(test_keyspace_in(dir)));
    WriteContext::autocommit(ks)
}

/// [`test_context_in`] a new temporary folder, which lives as long as the
/// returned guard.
#[cfg(test)]
pub(crate) fn test_context() -> (tempfile::TempDir, WriteContext<'static>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let w = test_context_in(dir.path());
    (dir, w)
}

/// [`test_keyspace_in`] a new temporary folder, which lives as long as the
/// returned guard.
#[cfg(test)]
pub(crate) fn test_keyspace() -> (tempfile::TempDir, Keyspace) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = test_keyspace_in(dir.path());
    (dir, ks)
}
