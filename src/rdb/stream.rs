//! Streams as an RDB holds them (types 15, 19 and 21), parsed completely into
//! a plain model: live entries with their fields, the stream's bookkeeping
//! ids, and every consumer group with its PEL and consumers.
//!
//! A stream is delivered whole (Redis holds it whole too); its entries are
//! slices of the node blobs, so holding it costs little beyond those blobs.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;

use super::decode::listpack::Listpack;
use super::decode::source::Source;
use super::kind;
use super::reader::RdbError;

/// A stream entry id, `ms-seq`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    /// The 16-byte big-endian form used for node keys and PEL ids.
    pub fn from_be(b: &[u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        Self {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One live entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamEntry {
    pub id: StreamId,
    pub fields: Vec<(Bytes, Bytes)>,
}

/// A pending (delivered, unacknowledged) entry of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEntry {
    pub id: StreamId,
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    /// The consumer owning it (every group PEL entry has one in valid data).
    pub consumer: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: Bytes,
    /// Unix ms of the consumer's last interaction.
    pub seen_time: i64,
    /// Unix ms of its last successful read (type 21 / Redis 7.2+ only).
    pub active_time: Option<i64>,
    /// Ids it owns, in the order stored; each is in the group's PEL.
    pub pending: Vec<StreamId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerGroup {
    pub name: Bytes,
    pub last_id: StreamId,
    /// Entries read, or `None` when unknown (type 15, or stored as -1).
    pub entries_read: Option<u64>,
    pub pel: Vec<PendingEntry>,
    pub consumers: Vec<Consumer>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stream {
    /// Live entries in id order; deleted ones are left out.
    pub entries: Vec<StreamEntry>,
    /// Live entry count as stored (equal to `entries.len()`).
    pub length: u64,
    pub last_id: StreamId,
    /// First live id (type 15 files lack it; derived from the entries).
    pub first_id: StreamId,
    /// Greatest deleted id (0-0 for type 15).
    pub max_deleted_id: StreamId,
    /// Entries ever added (type 15: taken as `length`, as Redis does).
    pub entries_added: u64,
    pub groups: Vec<ConsumerGroup>,
}

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Reads a stream value of type `t` (15, 19 or 21).
pub(crate) fn read_stream<R: Read>(src: &mut Source<R>, t: u8) -> Result<Stream, RdbError> {
    let mut s = Stream::default();
    let mut prev: Option<StreamId> = None;
    for _ in 0..src.count("stream node count")? {
        let key = src.string()?;
        let master: &[u8; 16] = key[..]
            .try_into()
            .map_err(|_| src.corrupt(format!("stream node key of {} bytes", key.len())))?;
        let master = StreamId::from_be(master);
        let blob = src.string()?;
        read_node(&blob, master, &mut s.entries, &mut prev).map_err(|e| match e {
            RdbError::Corrupt(m) => src.corrupt(format!("stream node {master}: {m}")),
            other => other,
        })?;
        if s.entries.len() as u64 > src.limits.max_collection_len {
            return Err(RdbError::LimitExceeded {
                what: "stream entries",
                len: s.entries.len() as u64,
                limit: src.limits.max_collection_len,
            });
        }
    }
    s.length = src.len()?;
    s.last_id = read_id(src)?;
    if t >= kind::STREAM_LISTPACKS_2 {
        s.first_id = read_id(src)?;
        s.max_deleted_id = read_id(src)?;
        s.entries_added = src.len()?;
    } else {
        s.first_id = s.entries.first().map(|e| e.id).unwrap_or_default();
        s.entries_added = s.length;
    }
    if s.length != s.entries.len() as u64 {
        return Err(src.corrupt(format!(
            "stream length {} but {} live entries",
            s.length,
            s.entries.len()
        )));
    }
    let ngroups = src.count("consumer group count")?;
    for _ in 0..ngroups {
        let g = read_group(src, t)?;
        if s.groups.iter().any(|o| o.name == g.name) {
            return Err(src.corrupt("duplicate consumer group name".into()));
        }
        s.groups.push(g);
    }
    Ok(s)
}

fn read_id<R: Read>(src: &mut Source<R>) -> Result<StreamId, RdbError> {
    Ok(StreamId {
        ms: src.len()?,
        seq: src.len()?,
    })
}

fn read_group<R: Read>(src: &mut Source<R>, t: u8) -> Result<ConsumerGroup, RdbError> {
    let name = src.string()?;
    let last_id = read_id(src)?;
    let entries_read = if t >= kind::STREAM_LISTPACKS_2 {
        Some(src.len()?).filter(|&n| n != u64::MAX)
    } else {
        None
    };
    let mut pel = Vec::new();
    let mut index: HashMap<StreamId, usize> = HashMap::new();
    for _ in 0..src.count("group PEL size")? {
        let id = StreamId::from_be(&src.array()?);
        let delivery_time = src.i64_le()?;
        let delivery_count = src.len()?;
        if index.insert(id, pel.len()).is_some() {
            return Err(src.corrupt(format!("duplicate group PEL entry {id}")));
        }
        pel.push(PendingEntry {
            id,
            delivery_time,
            delivery_count,
            consumer: Bytes::new(),
        });
    }
    let mut owned = vec![false; pel.len()];
    let mut consumers: Vec<Consumer> = Vec::new();
    for _ in 0..src.count("consumer count")? {
        let name = src.string()?;
        if consumers.iter().any(|c| c.name == name) {
            return Err(src.corrupt("duplicate consumer name".into()));
        }
        let seen_time = src.i64_le()?;
        let active_time = if t >= kind::STREAM_LISTPACKS_3 {
            Some(src.i64_le()?)
        } else {
            None
        };
        let mut pending = Vec::new();
        for _ in 0..src.count("consumer PEL size")? {
            let id = StreamId::from_be(&src.array()?);
            let i = *index.get(&id).ok_or_else(|| {
                src.corrupt(format!("consumer PEL entry {id} not in the group PEL"))
            })?;
            if std::mem::replace(&mut owned[i], true) {
                return Err(src.corrupt(format!("PEL entry {id} owned twice")));
            }
            pel[i].consumer = name.clone();
            pending.push(id);
        }
        consumers.push(Consumer {
            name,
            seen_time,
            active_time,
            pending,
        });
    }
    if let Some(i) = owned.iter().position(|o| !o) {
        return Err(src.corrupt(format!("group PEL entry {} has no consumer", pel[i].id)));
    }
    Ok(ConsumerGroup {
        name,
        last_id,
        entries_read,
        pel,
        consumers,
    })
}

/// Walks one node's listpack: a master entry (live count, deleted count,
/// master fields, 0), then entries of flags, id deltas from the node key,
/// fields (or just values when they are the master's) and an element count.
fn read_node(
    blob: &Bytes,
    master: StreamId,
    out: &mut Vec<StreamEntry>,
    prev: &mut Option<StreamId>,
) -> Result<(), RdbError> {
    let mut lp = Listpack::new(blob)?;
    if lp.is_empty() {
        return Err(RdbError::Corrupt("empty listpack".into()));
    }
    let live = lp.expect_int("live count")?;
    let deleted = lp.expect_int("deleted count")?;
    let nmaster = lp.expect_int("master field count")?;
    let nmaster = usize::try_from(nmaster)
        .ok()
        .filter(|&n| n <= blob.len())
        .ok_or_else(|| RdbError::Corrupt(format!("master field count {nmaster}")))?;
    let mut master_fields = Vec::new();
    for _ in 0..nmaster {
        master_fields.push(lp.expect("master field")?.into_bytes());
    }
    if lp.expect_int("master terminator")? != 0 {
        return Err(RdbError::Corrupt("master entry not terminated by 0".into()));
    }
    let (mut seen_live, mut seen_deleted) = (0i64, 0i64);
    while let Some(flags) = lp.next_elem()? {
        let flags = flags
            .as_int()
            .ok_or_else(|| RdbError::Corrupt("entry flags not an integer".into()))?;
        let ms = master.ms.wrapping_add(lp.expect_int("ms delta")? as u64);
        let seq = master.seq.wrapping_add(lp.expect_int("seq delta")? as u64);
        let id = StreamId { ms, seq };
        if prev.is_some_and(|p| p >= id) {
            return Err(RdbError::Corrupt(format!("entry {id} out of order")));
        }
        *prev = Some(id);
        let mut fields = Vec::new();
        let expect_count = if flags & FLAG_SAMEFIELDS != 0 {
            for f in &master_fields {
                fields.push((f.clone(), lp.expect("value")?.into_bytes()));
            }
            nmaster as i64 + 3
        } else {
            let n = lp.expect_int("field count")?;
            let n = usize::try_from(n)
                .ok()
                .filter(|&n| n <= blob.len())
                .ok_or_else(|| RdbError::Corrupt(format!("field count {n}")))?;
            for _ in 0..n {
                let f = lp.expect("field")?.into_bytes();
                let val = lp.expect("value")?.into_bytes();
                fields.push((f, val));
            }
            2 * n as i64 + 4
        };
        if lp.expect_int("entry element count")? != expect_count {
            return Err(RdbError::Corrupt(format!(
                "entry {id} element count mismatch"
            )));
        }
        if flags & FLAG_DELETED != 0 {
            seen_deleted += 1;
        } else {
            seen_live += 1;
            out.push(StreamEntry { id, fields });
        }
    }
    if seen_live != live || seen_deleted != deleted {
        return Err(RdbError::Corrupt(format!(
            "node counts say {live} live / {deleted} deleted, found {seen_live} / {seen_deleted}"
        )));
    }
    Ok(())
}
