//! RESP2/RESP3 framing: request parsing and reply encoding. No I/O here.
//!
//! Requests are parsed by hand rather than with a generic RESP codec because
//! a server must reproduce Redis's request rules exactly: inline commands,
//! Redis's protocol-error strings, and size limits checked on the headers
//! before any byte of a bulk is buffered.

pub mod parse;
pub mod reply;

pub use parse::{ParseError, ParseLimits, RequestParser};
pub use reply::{Reply, RespVersion};
