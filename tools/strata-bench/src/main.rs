//! Side-by-side load harness (being written).
fn main() {}
