//! Fuzzes the RDB reader two ways: the input as a whole RDB file, and as the
//! body of a DUMP payload (sealed with a valid footer here, so the fuzzer's
//! bytes reach the value decoder instead of failing the checksum).
//! Either must return Ok or Err; a panic, hang or huge allocation is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use strata::rdb::crc64;
use strata::rdb::reader::{read_dump_payload_with, Limits, RdbReader, RdbVisitor};

struct Sink;
impl RdbVisitor for Sink {}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_string_len: 16 << 20, ..Limits::default() };
    let _ = RdbReader::new(data, limits.clone()).read_all(&mut Sink);
    let mut payload = data.to_vec();
    payload.extend_from_slice(&10u16.to_le_bytes());
    let crc = crc64(0, &payload);
    payload.extend_from_slice(&crc.to_le_bytes());
    let _ = read_dump_payload_with(&payload, limits);
});
