//! Streaming RDB writer (owned by the writer work).
