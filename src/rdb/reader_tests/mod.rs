//! Tests of the RDB reader: against files and DUMP payloads written by a
//! real Redis 7.0 (`fixtures`), against hand-built legacy encodings Redis 7
//! no longer writes (`legacy`), and against mutated input (`fuzz`).

mod build;
mod fixtures;
mod fuzz;
mod legacy;
