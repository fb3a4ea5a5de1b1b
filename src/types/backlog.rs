//! The replication stream, kept on disk by offset, and the durable
//! replication position.
//!
//! Every commit appends the bytes it propagates (RESP multibulk commands,
//! exactly what a Redis replica reads) to the `backlog` column family in the
//! same engine batch as the data. The offset is where the newest chunk ends,
//! so it needs no record of its own: after a crash the data, the stream and
//! the offset agree exactly, and a commit writes one extra record, not two.
//!
//! Encoding:
//!
//! ```text
//! backlog  [start offset u64 BE]  -> the bytes of one commit, whose first byte
//!                                    has that offset (Redis numbering: the
//!                                    first byte of a stream is offset 1)
//! state    "repl"                 -> [replid: 40 ASCII hex][base offset u64 BE]
//!                                    written when the id changes; the base is
//!                                    the offset when the backlog is empty
//! ```
//!
//! Chunks older than `repl-backlog-size` bytes behind the end are trimmed
//! with one range delete, so the backlog is bounded on disk; the newest chunk
//! is never trimmed, so the offset can always be read back.

use bytes::Bytes;
use rand::Rng;

use super::encoding::be_u64;
use crate::engine::{Cf, Engine, EngineResult};

pub const REPL_STATE_KEY: &[u8] = b"repl";

/// A replication id: 40 random hex characters, as Redis makes them.
pub fn new_replid() -> String {
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
        .collect()
}

/// The durable replication position: the stream's id and its last offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplPosition {
    pub replid: String,
    pub offset: u64,
}

impl ReplPosition {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.replid.as_bytes().to_vec();
        v.extend_from_slice(&self.offset.to_be_bytes());
        v
    }

    pub fn decode(raw: &[u8]) -> Option<ReplPosition> {
        let replid = std::str::from_utf8(raw.get(..40)?).ok()?.to_string();
        Some(ReplPosition {
            replid,
            offset: be_u64(raw, 40)?,
        })
    }

    /// The stored id with the offset where the newest backlog chunk ends;
    /// a fresh id at offset 0 (written at once) when there is none.
    pub fn load(engine: &dyn Engine) -> EngineResult<ReplPosition> {
        let stored = engine
            .get(Cf::State, REPL_STATE_KEY)?
            .and_then(|raw| ReplPosition::decode(&raw));
        let mut pos = match stored {
            Some(p) => p,
            None => {
                let p = ReplPosition {
                    replid: new_replid(),
                    offset: 0,
                };
                let mut b = crate::engine::Batch::new();
                b.put(Cf::State, REPL_STATE_KEY.to_vec(), p.encode());
                engine.write(&b)?;
                p
            }
        };
        let mut it = engine.iter(Cf::Backlog, None, None);
        it.seek_to_last();
        if it.valid() {
            if let Some(start) = be_u64(it.key(), 0) {
                pos.offset = start + it.value().len() as u64 - 1;
            }
        }
        it.status()?;
        Ok(pos)
    }
}

pub fn chunk_key(start: u64) -> Vec<u8> {
    start.to_be_bytes().to_vec()
}

/// Appends `argv` as a RESP multibulk.
pub fn encode_command(out: &mut Vec<u8>, argv: &[Bytes]) {
    let mut n = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(n.format(argv.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in argv {
        out.push(b'$');
        out.extend_from_slice(n.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Builds the bytes one unit propagates, as Redis 7.0 does: a `SELECT`
/// whenever the database differs from the stream's current one, and
/// `MULTI`/`EXEC` around a unit of more than one command. `selected` is the
/// stream's database before and after.
pub fn encode_unit(ops: &[(usize, Vec<Bytes>)], selected: &mut Option<usize>) -> Vec<u8> {
    // Room for the arguments and their headers: one allocation as a rule.
    let size: usize = ops
        .iter()
        .flat_map(|(_, argv)| argv.iter())
        .map(|a| a.len() + 16)
        .sum();
    let mut out = Vec::with_capacity(size + 64);
    let mut emit = |out: &mut Vec<u8>, db: usize, argv: &[Bytes]| {
        if *selected != Some(db) {
            let mut n = itoa::Buffer::new();
            let db_text = Bytes::copy_from_slice(n.format(db).as_bytes());
            encode_command(out, &[Bytes::from_static(b"SELECT"), db_text]);
            *selected = Some(db);
        }
        encode_command(out, argv);
    };
    let wrap = ops.len() > 1;
    if wrap {
        emit(&mut out, ops[0].0, &[Bytes::from_static(b"MULTI")]);
    }
    for (db, argv) in ops {
        emit(&mut out, *db, argv);
    }
    if wrap {
        encode_command(&mut out, &[Bytes::from_static(b"EXEC")]);
    }
    out
}

/// Reads the stream from offset `from` (inclusive), at most about
/// `max_bytes`. `None` when `from` is no longer (or not yet) in the backlog;
/// an empty vector when `from` is just past the end.
pub fn read(engine: &dyn Engine, from: u64, end: u64, max_bytes: usize) -> Option<Vec<u8>> {
    if from == end + 1 {
        return Some(Vec::new());
    }
    if from == 0 || from > end + 1 {
        return None;
    }
    let mut it = engine.iter(Cf::Backlog, None, None);
    it.seek_for_prev(&chunk_key(from));
    if !it.valid() {
        return None;
    }
    let mut out = Vec::new();
    let mut first = true;
    while it.valid() && out.len() < max_bytes {
        let start = be_u64(it.key(), 0)?;
        let chunk = it.value();
        if first {
            let skip = (from - start) as usize;
            if skip > chunk.len() {
                // A gap: the chunk holding `from` was trimmed.
                return None;
            }
            out.extend_from_slice(&chunk[skip..]);
            first = false;
        } else {
            out.extend_from_slice(chunk);
        }
        it.next();
    }
    it.status().ok()?;
    Some(out)
}

/// The offset of the first byte still in the backlog (`end + 1` when empty).
pub fn first_offset(engine: &dyn Engine, end: u64) -> u64 {
    let mut it = engine.iter(Cf::Backlog, None, None);
    it.seek_to_first();
    if it.valid() {
        be_u64(it.key(), 0).unwrap_or(end + 1)
    } else {
        end + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn units_select_once_and_wrap_several_commands() {
        let mut sel = None;
        let one = encode_unit(&[(0, argv(&["SET", "a", "1"]))], &mut sel);
        assert_eq!(
            one,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        let again = encode_unit(&[(0, argv(&["DEL", "a"]))], &mut sel);
        assert_eq!(again, b"*2\r\n$3\r\nDEL\r\n$1\r\na\r\n");
        let two = encode_unit(
            &[(3, argv(&["DEL", "x"])), (3, argv(&["SET", "x", "y"]))],
            &mut sel,
        );
        assert_eq!(
            two,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\ny\r\n*1\r\n$4\r\nEXEC\r\n".to_vec()
        );
        assert_eq!(sel, Some(3));
    }

    #[test]
    fn positions_round_trip() {
        let p = ReplPosition {
            replid: new_replid(),
            offset: 12345,
        };
        assert_eq!(ReplPosition::decode(&p.encode()), Some(p));
    }
}
