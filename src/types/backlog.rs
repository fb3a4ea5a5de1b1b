//! The replication stream, kept in the engine's log by offset, and the
//! durable replication position.
//!
//! Every commit carries the bytes it propagates (RESP multibulk commands,
//! exactly what a Redis replica reads) as the log-only record of its engine
//! batch (`Batch::log_data`, RocksDB's `PutLogData`): durable and atomic with
//! the data, but no memtable or table record, so a write pays for the stream
//! little more than the bytes. The engine keeps its log readable for a
//! retention (`EngineOptions::log_retention`), which makes that log the
//! backlog; this is how kvrocks serves replicas from RocksDB's WAL.
//!
//! To find an offset in the log, a sparse index in the `backlog` family
//! says where a stretch of the stream starts. An entry is written, in the
//! same batch, whenever 64 KB of stream and data went by since the last one
//! (so any batch bigger than that has its own):
//!
//! ```text
//! log record of a batch   [start offset u64 BE][db u8][the bytes of one
//!                         commit] (Redis numbering: the first byte of a
//!                         stream is offset 1; db: the database the stream
//!                         has selected after these bytes, 0xff unknown, so
//!                         a restarted replica applies the master's next
//!                         commands in the right database, as Redis's
//!                         `repl-stream-db` does)
//! backlog  "i" [start offset u64 BE] -> [batch seq u64 BE][length u64 BE][db u8]
//!                         the batch whose log record starts there
//! state    "repl"         -> [replid: 40 ASCII hex][base offset u64 BE]
//!                         written when the id changes; the base is the
//!                         offset when there is no stream yet
//! ```
//!
//! The offset after a restart is where the newest indexed record ends,
//! carried forward by the log records after it: the data, the stream and the
//! offset agree exactly after a crash. Entries further than
//! `repl-backlog-size` behind the end are trimmed. The newest units also
//! stay in memory while replicas follow the stream live ([`Tail`]).

use std::collections::VecDeque;

use bytes::Bytes;
use rand::Rng;

use super::encoding::be_u64;
use crate::engine::{Batch, Cf, Engine, EngineResult};

/// Stream-and-data bytes between two index entries.
pub const INDEX_STEP: u64 = 64 << 10;
/// Most bytes of recent units kept in memory for live followers.
pub const TAIL_BYTES: usize = 8 << 20;
const INDEX_PREFIX: u8 = b'i';
/// Bytes before a log record's stream bytes: start offset and database.
pub const RECORD_HEADER: usize = 9;
const NO_DB: u8 = 0xff;

fn db_byte(db: Option<usize>) -> u8 {
    db.map_or(NO_DB, |d| d.min(NO_DB as usize - 1) as u8)
}

fn db_of(byte: u8) -> Option<usize> {
    (byte != NO_DB).then_some(byte as usize)
}

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

    /// The stored id, or a fresh one at offset 0 (written at once).
    fn load_stored(engine: &dyn Engine) -> EngineResult<ReplPosition> {
        let stored = engine
            .get(Cf::State, REPL_STATE_KEY)?
            .and_then(|raw| ReplPosition::decode(&raw));
        if let Some(p) = stored {
            return Ok(p);
        }
        let p = ReplPosition {
            replid: new_replid(),
            offset: 0,
        };
        let mut b = Batch::new();
        b.put(Cf::State, REPL_STATE_KEY.to_vec(), p.encode());
        engine.write(&b)?;
        Ok(p)
    }
}

/// One index entry: the batch whose log record starts at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub start: u64,
    pub len: u64,
    /// The batch's sequence number (or one below it: reads tolerate that).
    pub seq: u64,
    /// The database the stream had selected after this record.
    pub db: Option<usize>,
}

impl IndexEntry {
    pub fn key(start: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(9);
        k.push(INDEX_PREFIX);
        k.extend_from_slice(&start.to_be_bytes());
        k
    }

    pub fn value(&self) -> Vec<u8> {
        let mut v = self.seq.to_be_bytes().to_vec();
        v.extend_from_slice(&self.len.to_be_bytes());
        v.push(db_byte(self.db));
        v
    }

    fn decode(key: &[u8], value: &[u8]) -> Option<IndexEntry> {
        if key.len() != 9 || key[0] != INDEX_PREFIX {
            return None;
        }
        Some(IndexEntry {
            start: be_u64(key, 1)?,
            seq: be_u64(value, 0)?,
            len: be_u64(value, 8)?,
            db: value.get(16).and_then(|&b| db_of(b)),
        })
    }
}

/// What a restart finds of the stream.
pub struct Recovered {
    /// The stored id, with the offset the log says the data reflects.
    pub position: ReplPosition,
    /// The index entries, oldest first.
    pub index: VecDeque<IndexEntry>,
    /// The database the stream had selected at its end.
    pub selected: Option<usize>,
}

/// The position, index and selected database after a restart.
pub fn recover(engine: &dyn Engine) -> EngineResult<Recovered> {
    let mut pos = ReplPosition::load_stored(engine)?;
    // Chunks of the earlier on-disk format (8-byte keys) are dropped: the
    // stream restarts at the stored base.
    let mut legacy = Batch::new();
    legacy.delete_range(Cf::Backlog, vec![0u8; 8], vec![INDEX_PREFIX]);
    legacy.delete_range(Cf::Backlog, vec![INDEX_PREFIX + 1], vec![0xffu8; 10]);
    engine.write(&legacy)?;
    let mut index = VecDeque::new();
    let mut it = engine.iter(Cf::Backlog, None, None);
    it.seek_to_first();
    while it.valid() {
        if let Some(e) = IndexEntry::decode(it.key(), it.value()) {
            index.push_back(e);
        }
        it.next();
    }
    it.status()?;
    drop(it);
    let mut selected = None;
    if let Some(last) = index.back() {
        let mut end = last.start + last.len - 1;
        selected = last.db;
        // The batches after the indexed one (at most a step's worth).
        engine.read_log(last.seq, &mut |_, rec| {
            if let Some((start, db, body)) = split_record(rec) {
                let rec_end = start + body.len() as u64 - 1;
                if start <= end + 1 && rec_end > end {
                    end = rec_end;
                    selected = db;
                }
            }
            true
        })?;
        pos.offset = pos.offset.max(end);
    }
    Ok(Recovered {
        position: pos,
        index,
        selected,
    })
}

/// A log record's start offset, database after it, and stream bytes.
pub fn split_record(rec: &[u8]) -> Option<(u64, Option<usize>, &[u8])> {
    let start = be_u64(rec, 0)?;
    let db = db_of(*rec.get(8)?);
    let body = rec.get(RECORD_HEADER..)?;
    (!body.is_empty()).then_some((start, db, body))
}

/// A log record of `raw` stream bytes starting at `start`, after which the
/// stream has `db` selected.
pub fn raw_record(start: u64, db: Option<usize>, raw: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(RECORD_HEADER + raw.len());
    r.extend_from_slice(&start.to_be_bytes());
    r.push(db_byte(db));
    r.extend_from_slice(raw);
    r
}

/// The newest units' records, in memory while replicas follow the stream,
/// so a live follower never reads the engine's log.
#[derive(Default)]
pub struct Tail {
    records: VecDeque<(u64, Bytes)>,
    bytes: usize,
}

impl Tail {
    pub fn push(&mut self, start: u64, record: Bytes) {
        self.bytes += record.len();
        self.records.push_back((start, record));
        while self.records.len() > 1 && self.bytes > TAIL_BYTES {
            if let Some((_, r)) = self.records.pop_front() {
                self.bytes -= r.len();
            }
        }
    }

    pub fn clear(&mut self) {
        self.records.clear();
        self.bytes = 0;
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The stream from `from` on (at most about `max_bytes`), when the tail
    /// reaches back that far.
    pub fn read(&self, from: u64, max_bytes: usize) -> Option<Vec<u8>> {
        let first = self.records.front()?.0;
        if from < first {
            return None;
        }
        // Records are in offset order: skip those wholly before `from` by
        // binary search (a scan from the front cost a follower O(tail) per
        // read, up to 8 MB of one-record-per-write; the replication
        // benchmark measured it as 36% of a master's CPU).
        let skip = self
            .records
            .partition_point(|(start, rec)| start + (rec.len() - RECORD_HEADER) as u64 <= from);
        let mut out = Vec::new();
        for (start, rec) in self.records.range(skip..) {
            let Some((_, _, body)) = split_record(rec) else {
                continue;
            };
            let next = from + out.len() as u64;
            let end = start + body.len() as u64;
            if end <= next {
                continue;
            }
            out.extend_from_slice(&body[(next - start) as usize..]);
            if out.len() >= max_bytes {
                break;
            }
        }
        Some(out)
    }
}

/// Appends `argv` as a RESP multibulk. Every write's propagated command
/// passes here, so lengths under 100 are written digit by digit, without
/// the general formatter (`itoa`: ~75 instructions of a pipelined SET).
pub fn encode_command(out: &mut Vec<u8>, argv: &[Bytes]) {
    out.reserve(16 + argv.iter().map(|a| a.len() + 16).sum::<usize>());
    push_header(out, b'*', argv.len());
    for a in argv {
        push_header(out, b'$', a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// `*N\r\n` or `$N\r\n`.
#[inline(always)]
fn push_header(out: &mut Vec<u8>, kind: u8, n: usize) {
    if n < 10 {
        out.extend_from_slice(&[kind, b'0' + n as u8, b'\r', b'\n']);
    } else if n < 100 {
        out.extend_from_slice(&[
            kind,
            b'0' + (n / 10) as u8,
            b'0' + (n % 10) as u8,
            b'\r',
            b'\n',
        ]);
    } else {
        out.push(kind);
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The database of a propagated command that belongs to none (a master's
/// PING, `REPLCONF GETACK`): no SELECT is emitted for it.
pub const ANY_DB: usize = usize::MAX;

/// Builds the bytes one unit propagates, as Redis 7.0 does: a `SELECT`
/// whenever the database differs from the stream's current one, and
/// `MULTI`/`EXEC` around a unit of more than one command. `selected` is the
/// stream's database before and after.
#[cfg(test)]
pub fn encode_unit(ops: &[(usize, Vec<Bytes>)], selected: &mut Option<usize>) -> Vec<u8> {
    encode_record(0, ops, &[], selected).split_off(RECORD_HEADER)
}

/// The unit's log record: its start offset, then its bytes ([`encode_unit`]).
pub fn encode_record(
    start: u64,
    ops: &[(usize, Vec<Bytes>)],
    command_ends: &[usize],
    selected: &mut Option<usize>,
) -> Vec<u8> {
    // Room for the arguments and their headers: one allocation as a rule.
    let size: usize = ops
        .iter()
        .flat_map(|(_, argv)| argv.iter())
        .map(|a| a.len() + 16)
        .sum();
    let mut out = Vec::with_capacity(size + 72);
    out.extend_from_slice(&start.to_be_bytes());
    out.push(NO_DB);
    let mut emit = |out: &mut Vec<u8>, db: usize, argv: &[Bytes]| {
        if db != ANY_DB && *selected != Some(db) {
            let mut n = itoa::Buffer::new();
            let db_text = Bytes::copy_from_slice(n.format(db).as_bytes());
            encode_command(out, &[Bytes::from_static(b"SELECT"), db_text]);
            *selected = Some(db);
        }
        encode_command(out, argv);
    };
    // Each group is one atomic command (or the whole unit when no ends are
    // given): MULTI/EXEC around a group of more than one form.
    let mut from = 0;
    let ends = command_ends
        .iter()
        .copied()
        .filter(|&e| e <= ops.len())
        .chain(std::iter::once(ops.len()));
    for end in ends {
        if end <= from {
            continue;
        }
        let group = &ops[from..end];
        let wrap = group.len() > 1;
        if wrap {
            emit(&mut out, group[0].0, &[Bytes::from_static(b"MULTI")]);
        }
        for (db, argv) in group {
            emit(&mut out, *db, argv);
        }
        if wrap {
            encode_command(&mut out, &[Bytes::from_static(b"EXEC")]);
        }
        from = end;
    }
    out[8] = db_byte(*selected);
    out
}

/// Reads the stream from offset `from` (inclusive) out of the engine's log,
/// starting at index entry `entry` (the newest at or before `from`), at most
/// about `max_bytes`. `None` when the log no longer holds `from`.
pub fn read_log(
    engine: &dyn Engine,
    entry: IndexEntry,
    from: u64,
    max_bytes: usize,
) -> EngineResult<Option<Vec<u8>>> {
    let mut out = Vec::new();
    let mut gap = false;
    let whole = engine.read_log(entry.seq.saturating_sub(1), &mut |_, rec| {
        let Some((start, _, body)) = split_record(rec) else {
            return true;
        };
        let next = from + out.len() as u64;
        let end = start + body.len() as u64;
        if end <= next {
            return true;
        }
        if start > next {
            gap = true;
            return false;
        }
        out.extend_from_slice(&body[(next - start) as usize..]);
        out.len() < max_bytes
    })?;
    if !whole || (gap && out.is_empty()) || out.is_empty() {
        return Ok(None);
    }
    Ok(Some(out))
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
    fn commands_encode_as_resp_at_every_length() {
        // Counts and lengths of one, two and more digits, and an empty
        // argument, byte for byte as Redis writes them.
        for len in [0usize, 1, 9, 10, 99, 100, 12345] {
            let value = "v".repeat(len);
            let mut parts = vec!["RPUSH", "k"];
            parts.extend(std::iter::repeat_n(value.as_str(), 11));
            let mut out = Vec::new();
            encode_command(&mut out, &argv(&parts));
            let mut want = String::from("*13\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n");
            for _ in 0..11 {
                want.push_str(&format!("${len}\r\n{value}\r\n"));
            }
            assert_eq!(out, want.as_bytes(), "length {len}");
        }
    }

    #[test]
    fn units_select_once_and_wrap_several_commands() {
        let mut sel = None;
        let one = encode_unit(&[(0, argv(&["SET", "a", "1"]))], &mut sel);
        assert_eq!(
            one,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
        );
        let ping = encode_unit(&[(ANY_DB, argv(&["PING"]))], &mut sel);
        assert_eq!(ping, b"*1\r\n$4\r\nPING\r\n");
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

    /// A pipeline's unit: each command's forms are their own group, so only
    /// a command with several forms is wrapped.
    #[test]
    fn command_groups_wrap_only_commands_with_several_forms() {
        let mut sel = Some(0);
        let ops = [
            (0, argv(&["SET", "a", "1"])),
            (0, argv(&["DEL", "b"])),
            (0, argv(&["INCR", "b"])),
            (0, argv(&["SET", "c", "2"])),
        ];
        let record = encode_record(0, &ops, &[1, 1, 3, 4], &mut sel);
        assert_eq!(
            &record[RECORD_HEADER..],
            b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n2\r\n"
        );
        // Forms after the last end are one more group.
        let tail = encode_record(0, &ops, &[1], &mut sel);
        assert_eq!(
            tail[RECORD_HEADER..]
                .windows(5)
                .filter(|w| w == b"MULTI")
                .count(),
            1
        );
    }

    #[test]
    fn the_tail_reads_from_any_offset() {
        let mut tail = Tail::default();
        let mut start = 1;
        let mut all = Vec::new();
        for i in 0..100u32 {
            let body = format!("cmd-{i};");
            tail.push(
                start,
                Bytes::from(raw_record(start, Some(0), body.as_bytes())),
            );
            all.extend_from_slice(body.as_bytes());
            start += body.len() as u64;
        }
        for from in [1u64, 2, 7, 300, all.len() as u64] {
            assert_eq!(
                tail.read(from, usize::MAX),
                Some(all[from as usize - 1..].to_vec())
            );
        }
        assert_eq!(tail.read(5, 3).map(|v| v.len() >= 3), Some(true));
        assert_eq!(tail.read(0, 10), None);
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
