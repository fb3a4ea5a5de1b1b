//! Streaming RDB reader (owned by the reader work).
