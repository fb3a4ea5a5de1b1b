//! Keyspace-wide operations.
