//! Tests: strings.
