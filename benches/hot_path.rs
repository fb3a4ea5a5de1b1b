//! Micro-benchmarks of the hot path (being written).
fn main() {}
