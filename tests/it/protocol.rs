//! Tests: protocol.
