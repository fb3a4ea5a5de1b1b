//! Lists as a persistent deque, after kvrocks: every element is its own
//! subkey, addressed by a 64-bit index, so pushes and pops at either end,
//! LINDEX and LSET touch one subkey and never the rest of the list.
//!
//! ```text
//! meta  payload: [head u64][tail u64]          (big-endian; size = tail - head)
//! data  subkey:  [index u64 big-endian] -> element bytes
//! ```
//!
//! The elements, from left to right, live at indices `head .. tail`
//! (position `i` at index `head + i`). A new list starts with
//! `head = tail = 1 << 63` ([`INITIAL_INDEX`]), the middle of the index
//! space, so it can grow 2^63 elements in either direction: LPUSH stores at
//! `head - 1` and decrements `head`, RPUSH stores at `tail` and increments
//! `tail`. Big-endian indices sort like the positions, so a range of the list
//! is one bounded iterator over the data column family.
//!
//! Commands that change the middle (LINSERT, LREM) rewrite only the elements
//! on the shorter side of the change and move that end's bound; LTRIM moves
//! the bounds and deletes what falls outside them.
//!
//! Every function locks the key (reads too, so the metadata and the
//! elements read are one consistent state) and returns whether it staged a change (`Some`)
//! of its write, `None` when it wrote nothing. A list that becomes empty is
//! deleted, as in Redis.

mod edit;

pub use edit::{insert, rem, set, trim};

use bytes::Bytes;

use super::encoding::{self, KeyType, Metadata};
use super::{TypeError, TypeResult, WriteContext, WriteSet};
use crate::engine::Cf;
use crate::num::parse_i64;
use crate::packed::{PackedBuilder, PackedValues};

/// The index `head` and `tail` start at for a new list (see the module docs).
pub const INITIAL_INDEX: u64 = 1 << 63;

/// Deleting more elements than this at once (LTRIM) writes one range
/// deletion instead of one deletion per element.
const RANGE_DELETE_MIN: u64 = 128;

const ERR_NO_SUCH_KEY: &str = "ERR no such key";
const ERR_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const ERR_INDEX_OUT_OF_RANGE: &str = "ERR index out of range";
const ERR_INDEX_SPACE: &str = "ERR list index space exhausted";

/// An end of a list: LEFT is the head (index 0), RIGHT the tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

/// A list's metadata with its bounds decoded.
#[derive(Debug, Clone)]
struct ListMeta {
    meta: Metadata,
    head: u64,
    tail: u64,
    /// `[db][key len][key][version]`: every element's subkey starts with it.
    prefix: Vec<u8>,
}

impl ListMeta {
    fn decode(db: u8, key: &[u8], meta: Metadata) -> TypeResult<ListMeta> {
        let (Some(head), Some(tail)) = (
            encoding::be_u64(&meta.payload, 0),
            encoding::be_u64(&meta.payload, 8),
        ) else {
            return Err(encoding::CorruptMetadata.into());
        };
        if tail < head || tail - head != meta.size {
            return Err(encoding::CorruptMetadata.into());
        }
        let prefix = encoding::subkey_prefix(db, key, meta.version);
        Ok(ListMeta {
            meta,
            head,
            tail,
            prefix,
        })
    }

    /// An empty list with a fresh version (the caller pushes into it).
    fn new(w: &WriteContext<'_>, db: u8, key: &[u8]) -> ListMeta {
        let meta = Metadata::collection(KeyType::List, w.new_version(), 0);
        let prefix = encoding::subkey_prefix(db, key, meta.version);
        ListMeta {
            meta,
            head: INITIAL_INDEX,
            tail: INITIAL_INDEX,
            prefix,
        }
    }

    fn len(&self) -> u64 {
        self.tail - self.head
    }

    /// The subkey of the element at index (not position) `index`.
    fn item(&self, index: u64) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.item_len());
        self.push_item(&mut k, index);
        k
    }

    /// Appends the subkey of the element at index `index` to `buf`.
    fn push_item(&self, buf: &mut Vec<u8>, index: u64) {
        buf.extend_from_slice(&self.prefix);
        buf.extend_from_slice(&index.to_be_bytes());
    }

    /// The length of every element's subkey.
    fn item_len(&self) -> usize {
        self.prefix.len() + 8
    }

    /// The metadata record with the current bounds.
    fn encoded(&self) -> Metadata {
        let mut meta = self.meta.clone();
        let mut payload = Vec::with_capacity(16);
        payload.extend_from_slice(&self.head.to_be_bytes());
        payload.extend_from_slice(&self.tail.to_be_bytes());
        meta.payload = Bytes::from(payload);
        meta.size = self.len();
        meta
    }

    /// Converts a Redis index (negative counts from the tail) to a position.
    fn position(&self, index: i64) -> Option<u64> {
        let len = self.len() as i64;
        let pos = if index < 0 { len + index } else { index };
        (0..len).contains(&pos).then_some(pos as u64)
    }

    /// Stores the list's new state: its metadata, or a deletion of the key
    /// when it is empty.
    fn save(&self, ws: &mut WriteSet, db: u8, key: &[u8], stored: Option<&Metadata>) {
        if self.len() == 0 {
            if let Some(stored) = stored {
                ws.delete_key(db, key, stored);
            }
        } else {
            ws.put_meta(db, key, &self.encoded(), stored);
        }
    }

    /// Deletes the subkeys of indices `from .. to`.
    fn delete_items(&self, ws: &mut WriteSet, from: u64, to: u64) {
        if to <= from {
            return;
        }
        if to - from >= RANGE_DELETE_MIN {
            ws.batch
                .delete_range(Cf::Data, self.item(from), self.item(to));
        } else {
            for index in from..to {
                ws.batch.delete(Cf::Data, self.item(index));
            }
        }
    }
}

/// A key's record read under its lock.
struct Loaded {
    /// The record as stored (expired or not), for `put_meta`/`delete_key`.
    stored: Option<Metadata>,
    /// The live list, if the key holds one.
    list: Option<ListMeta>,
}

/// Reads `key` under its lock: `WrongType` if it holds a live value of
/// another type; an expired record is deleted on the way (on masters), as
/// Redis's lookups do.
fn load(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Loaded> {
    let now = w.now_ms();
    match w.lookup_key(db, key)? {
        None => Ok(Loaded {
            stored: None,
            list: None,
        }),
        Some(m) if m.is_expired(now) => {
            if w.delete_if_expired(db, key)? {
                return Ok(Loaded {
                    stored: None,
                    list: None,
                });
            }
            Ok(Loaded {
                stored: Some(m),
                list: None,
            })
        }
        Some(m) if m.kind != KeyType::List => Err(TypeError::WrongType),
        Some(m) => Ok(Loaded {
            list: Some(ListMeta::decode(db, key, m.clone())?),
            stored: Some(m),
        }),
    }
}

/// Visits the elements at positions `from .. to` in order (`reverse`: from
/// `to - 1` down to `from`), passing each position and value to `visit`
/// until it returns false. One bounded iterator, no per-element seeks.
fn scan(
    w: &WriteContext<'_>,
    list: &ListMeta,
    from: u64,
    to: u64,
    reverse: bool,
    mut visit: impl FnMut(u64, &[u8]) -> bool,
) -> TypeResult<()> {
    let to = to.min(list.len());
    if from >= to {
        return Ok(());
    }
    let lower = list.item(list.head + from);
    let upper = list.item(list.head + to);
    let mut it = w.iter(Cf::Data, Some(&lower), Some(&upper));
    if reverse {
        it.seek_for_prev(&list.item(list.head + to - 1));
    } else {
        it.seek(&lower);
    }
    while it.valid() {
        let key = it.key();
        let Some(index) = encoding::be_u64(key, key.len().saturating_sub(8)) else {
            return Err(encoding::CorruptMetadata.into());
        };
        if !visit(index.wrapping_sub(list.head), it.value()) {
            break;
        }
        if reverse {
            it.prev();
        } else {
            it.next();
        }
    }
    it.status()?;
    Ok(())
}

/// Ranges of at most this many elements are read element by element
/// through the engine's record cache (`Engine::get_run`): a hot range read
/// again (a timeline's first page) costs a cache lookup per element instead
/// of a merge of every memtable and file per element. Longer ranges are
/// scanned, and do not enter the cache.
const CACHED_RANGE: u64 = 128;

/// The values at positions `from .. to`, left to right, in one buffer
/// (LRANGE of 100 elements spent more in per-element allocations and
/// reference counts than in reading them).
fn read_range(
    w: &WriteContext<'_>,
    list: &ListMeta,
    from: u64,
    to: u64,
) -> TypeResult<PackedValues> {
    let to = to.min(list.len());
    let count = to.saturating_sub(from).min(1 << 16) as usize;
    let mut values = PackedBuilder::with_capacity(count);
    if from < to && to - from <= CACHED_RANGE {
        let width = list.item_len();
        let mut buf = Vec::with_capacity(count * width);
        for pos in from..to {
            list.push_item(&mut buf, list.head + pos);
        }
        let keys: Vec<&[u8]> = buf.chunks(width).collect();
        // A missing element (none should be) is skipped, as the scan does.
        w.get_run(Cf::Data, &keys, &mut |_, v| {
            if let Some(v) = v {
                values.push(v);
            }
        })?;
    } else {
        scan(w, list, from, to, false, |_, v| {
            values.push(v);
            true
        })?;
    }
    Ok(values.finish())
}

/// LLEN: the length, `None` for a missing key.
pub fn len(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<u64>> {
    // One record, read atomically: no lock needed.
    Ok(load(w, db, key)?.list.map(|l| l.len()))
}

/// Parses an index argument. LINDEX and LSET parse it only once the key is
/// known to hold a list, as Redis does, so the parse happens here.
fn parse_index(arg: &[u8]) -> TypeResult<i64> {
    parse_i64(arg).ok_or_else(|| TypeError::Reply(ERR_NOT_INTEGER.into()))
}

/// LINDEX with the index argument unparsed: `None` for a missing key,
/// `Some(None)` for an index out of range.
pub fn index(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    index_arg: &[u8],
) -> TypeResult<Option<Option<Bytes>>> {
    w.read_consistent(db, key, || {
        let Some(list) = load(w, db, key)?.list else {
            return Ok(None);
        };
        let Some(pos) = list.position(parse_index(index_arg)?) else {
            return Ok(Some(None));
        };
        let value = w.get(Cf::Data, &list.item(list.head + pos))?;
        Ok(Some(value.map(Bytes::from)))
    })
}

/// The positions `start ..= stop` select after Redis's normalisation
/// (negative indices count from the tail, out-of-range ends are clamped),
/// as a half-open range; `None` when it selects nothing.
fn normalize_range(len: u64, start: i64, stop: i64) -> Option<(u64, u64)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 { len + stop } else { stop };
    if start > stop || start >= len {
        return None;
    }
    Some((start as u64, stop.min(len - 1) as u64 + 1))
}

/// LRANGE: `None` for a missing key.
pub fn range(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    start: i64,
    stop: i64,
) -> TypeResult<Option<PackedValues>> {
    w.read_consistent(db, key, || {
        let Some(list) = load(w, db, key)?.list else {
            return Ok(None);
        };
        match normalize_range(list.len(), start, stop) {
            Some((from, to)) => Ok(Some(read_range(w, &list, from, to)?)),
            None => Ok(Some(PackedValues::default())),
        }
    })
}

/// LPOS options, validated by the caller.
#[derive(Debug, Clone, Copy)]
pub struct PosOptions {
    /// Which match to start from: 1 = first, -1 = first from the tail.
    /// Never 0. `i64::MIN` behaves as in Redis 7.0.15 (where its negation
    /// overflows): like -1.
    pub rank: i64,
    /// How many matches to return; 0 = all.
    pub count: u64,
    /// How many elements to compare at most; 0 = all.
    pub maxlen: u64,
}

/// LPOS: the positions of up to `count` matches of `element`, `None` for a
/// missing key.
pub fn positions(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    element: &[u8],
    opts: PosOptions,
) -> TypeResult<Option<Vec<u64>>> {
    w.read_consistent(db, key, || {
        let Some(list) = load(w, db, key)?.list else {
            return Ok(None);
        };
        let reverse = opts.rank < 0;
        // Redis negates a negative rank; i64::MIN stays negative there, so every
        // match qualifies. `skip` is how many matches to pass over first.
        let skip = if opts.rank == i64::MIN {
            0
        } else {
            opts.rank.unsigned_abs() - 1
        };
        let mut found = Vec::new();
        let mut matches = 0u64;
        let mut compared = 0u64;
        scan(w, &list, 0, list.len(), reverse, |pos, value| {
            if opts.maxlen != 0 && compared == opts.maxlen {
                return false;
            }
            compared += 1;
            if value == element {
                matches += 1;
                if matches > skip {
                    found.push(pos);
                    if opts.count != 0 && found.len() as u64 == opts.count {
                        return false;
                    }
                }
            }
            true
        })?;
        Ok(Some(found))
    })
}

/// LPUSH/RPUSH (`only_if_exists` false) and LPUSHX/RPUSHX (true): pushes
/// `elements` one after the other at `end`. Returns the new length (0 when
/// `only_if_exists` found no list).
pub fn push(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    end: End,
    elements: &[Bytes],
    only_if_exists: bool,
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let loaded = load(w, db, key)?;
    let mut list = match loaded.list {
        Some(list) => list,
        None if only_if_exists => return Ok((0, None)),
        None => ListMeta::new(w, db, key),
    };
    let mut ws = w.write_set();
    push_into(&mut ws, &mut list, end, elements)?;
    list.save(&mut ws, db, key, loaded.stored.as_ref());
    let seq = w.stage(ws)?;
    Ok((list.len(), Some(seq)))
}

/// Replaces whatever `key` holds with a new list of `elements` (SORT ...
/// STORE); an empty result deletes the key. Returns whether it staged a change (`Some`),
/// `None` when nothing changed.
pub fn store(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    elements: Vec<Bytes>,
) -> TypeResult<Option<u64>> {
    w.lock(db, &[key]);
    let stored = w.lookup_key(db, key)?;
    let mut list = ListMeta::new(w, db, key);
    let mut ws = w.write_set();
    push_into(&mut ws, &mut list, End::Right, &elements)?;
    if stored.is_none() && elements.is_empty() {
        return Ok(None);
    }
    // Any old value goes, of whatever type, an expired record included.
    list.save(&mut ws, db, key, stored.as_ref());
    Ok(Some(w.stage(ws)?))
}

/// Adds the writes of pushing `elements` at `end` to `ws` and moves the bound.
fn push_into(
    ws: &mut WriteSet,
    list: &mut ListMeta,
    end: End,
    elements: &[Bytes],
) -> TypeResult<()> {
    let n = elements.len() as u64;
    match end {
        End::Left => {
            let head = list
                .head
                .checked_sub(n)
                .ok_or_else(|| TypeError::Reply(ERR_INDEX_SPACE.into()))?;
            // The first element pushed ends up nearest the old head.
            for (i, e) in elements.iter().enumerate() {
                ws.batch
                    .put(Cf::Data, list.item(list.head - 1 - i as u64), e.to_vec());
            }
            list.head = head;
        }
        End::Right => {
            let tail = list
                .tail
                .checked_add(n)
                .ok_or_else(|| TypeError::Reply(ERR_INDEX_SPACE.into()))?;
            for (i, e) in elements.iter().enumerate() {
                ws.batch
                    .put(Cf::Data, list.item(list.tail + i as u64), e.to_vec());
            }
            list.tail = tail;
        }
    }
    Ok(())
}

/// Reads and removes up to `n` elements at `end` of `list` (in pop order),
/// adding the writes to `ws`; the caller saves the list.
/// Pops of at most this many elements read them as point reads.
const POINT_READS_UP_TO: u64 = 16;
/// How many elements past its own a pipelined run of pops reads ahead
/// for the runs after it (`WriteContext::read_ahead_to_delete`).
const POPS_READ_BEYOND: u64 = 112;

/// Reads the `n` elements at `end` by one iterator, in pop order.
fn read_end(
    w: &WriteContext<'_>,
    list: &ListMeta,
    end: End,
    n: u64,
    out: &mut Vec<Bytes>,
) -> TypeResult<()> {
    match end {
        End::Left => scan(w, list, 0, n, false, |_, v| {
            out.push(Bytes::copy_from_slice(v));
            true
        }),
        End::Right => {
            let len = list.len();
            scan(w, list, len - n, len, true, |_, v| {
                out.push(Bytes::copy_from_slice(v));
                true
            })
        }
    }
}

fn pop_from(
    w: &WriteContext<'_>,
    ws: &mut WriteSet,
    list: &mut ListMeta,
    end: End,
    n: u64,
) -> TypeResult<Vec<Bytes>> {
    let n = n.min(list.len());
    let mut out = Vec::with_capacity(n.min(1 << 16) as usize);
    if n <= POINT_READS_UP_TO {
        // A few elements cost less as point reads than as an iterator
        // (whose creation alone costs more than several reads, and which
        // inside a pipeline's unit is merged with the staged deletions).
        let len = list.len();
        let positions: Vec<u64> = match end {
            End::Left => (0..n).collect(),
            End::Right => (len - n..len).rev().collect(),
        };
        let pops = w.pops_ahead() as u64;
        if n == 1 && pops > 1 {
            // The first of a pipeline's pops of this list reads the
            // elements of all of them with one iterator (adjacent keys,
            // mostly in one block), where each would have searched the
            // engine alone.
            let at = |j| match end {
                End::Left => list.item(list.head + j),
                End::Right => list.item(list.tail - 1 - j),
            };
            let unit = pops.min(len);
            // The elements after them, for later units' pops to find in
            // the record cache: one iterator then serves several runs.
            let mut beyond = || {
                let mut keys: Vec<Vec<u8>> =
                    (unit..(unit + POPS_READ_BEYOND).min(len)).map(at).collect();
                keys.sort_unstable();
                keys
            };
            w.read_ahead_to_delete(Cf::Data, (0..unit).map(at).collect(), &mut beyond)?;
        }
        for p in positions {
            // A missing element is skipped, as the iterator would.
            if let Some(v) = w.get_to_delete(Cf::Data, &list.item(list.head + p))? {
                out.push(Bytes::from(v));
            }
        }
    } else {
        read_end(w, list, end, n, &mut out)?;
    }
    if n == list.len() {
        // The key is deleted; its subkeys are left to compaction.
        list.head = list.tail;
        return Ok(out);
    }
    for _ in 0..n {
        match end {
            End::Left => {
                ws.batch.delete(Cf::Data, list.item(list.head));
                list.head += 1;
            }
            End::Right => {
                list.tail -= 1;
                ws.batch.delete(Cf::Data, list.item(list.tail));
            }
        }
    }
    Ok(out)
}

/// LPOP/RPOP: pops one element (`count` None) or up to `count` elements
/// from `end`. Returns the popped elements in pop order (`None` for a
/// missing key) and whether it staged a change (`Some`). The blocking pops use it too.
pub fn pop(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    end: End,
    count: Option<usize>,
) -> TypeResult<(Option<Vec<Bytes>>, Option<u64>)> {
    w.lock(db, &[key]);
    pop_locked(w, db, key, end, count.unwrap_or(1) as u64)
}

fn pop_locked(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    end: End,
    n: u64,
) -> TypeResult<(Option<Vec<Bytes>>, Option<u64>)> {
    let loaded = load(w, db, key)?;
    let Some(mut list) = loaded.list else {
        return Ok((None, None));
    };
    if n == 0 {
        return Ok((Some(Vec::new()), None));
    }
    let mut ws = w.write_set();
    let popped = pop_from(w, &mut ws, &mut list, end, n)?;
    list.save(&mut ws, db, key, loaded.stored.as_ref());
    Ok((Some(popped), Some(w.stage(ws)?)))
}

/// A key and the elements popped from it (LMPOP's reply).
pub type KeyElements = (Bytes, Vec<Bytes>);

/// LMPOP (and BLMPOP once it is served): pops up to `count` elements from
/// `end` of the first key, in order, that holds a non-empty list. Keys are
/// locked together, so the choice and the pop are one atomic step.
/// `WrongType` if a key of another type comes before that list.
pub fn mpop(
    w: &WriteContext<'_>,
    db: u8,
    keys: &[Bytes],
    end: End,
    count: u64,
) -> TypeResult<(Option<KeyElements>, Option<u64>)> {
    w.lock(db, keys);
    for key in keys {
        if let (Some(popped), seq) = pop_locked(w, db, key, end, count.max(1))? {
            return Ok((Some((key.clone(), popped)), seq));
        }
    }
    Ok((None, None))
}

/// LMOVE/RPOPLPUSH (and BLMOVE/BRPOPLPUSH once served): pops one element
/// from `from` of `src` and pushes it at `to` of `dst`, atomically under
/// both keys' locks. `src == dst` rotates the list. Returns the element
/// (`None` when `src` is missing; `dst`'s type is then not checked, as in
/// Redis).
pub fn lmove(
    w: &WriteContext<'_>,
    db: u8,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> TypeResult<(Option<Bytes>, Option<u64>)> {
    w.lock(db, &[src, dst]);
    let src_loaded = load(w, db, src)?;
    let Some(mut src_list) = src_loaded.list else {
        return Ok((None, None));
    };
    let mut ws = w.write_set();
    if src == dst {
        return rotate(
            w,
            ws,
            db,
            src,
            src_list,
            src_loaded.stored.as_ref(),
            from,
            to,
        );
    }
    let dst_loaded = load(w, db, dst)?;
    let mut dst_list = match dst_loaded.list {
        Some(list) => list,
        None => ListMeta::new(w, db, dst),
    };
    let popped = pop_from(w, &mut ws, &mut src_list, from, 1)?;
    let Some(element) = popped.into_iter().next() else {
        return Ok((None, None));
    };
    src_list.save(&mut ws, db, src, src_loaded.stored.as_ref());
    push_into(&mut ws, &mut dst_list, to, std::slice::from_ref(&element))?;
    dst_list.save(&mut ws, db, dst, dst_loaded.stored.as_ref());
    Ok((Some(element), Some(w.stage(ws)?)))
}

/// LMOVE with the same source and destination: the element at `from` moves
/// to `to`. Nothing changes when both ends are the same or the list has one
/// element.
#[allow(clippy::too_many_arguments)]
fn rotate(
    w: &WriteContext<'_>,
    mut ws: WriteSet,
    db: u8,
    key: &[u8],
    mut list: ListMeta,
    stored: Option<&Metadata>,
    from: End,
    to: End,
) -> TypeResult<(Option<Bytes>, Option<u64>)> {
    let taken = match from {
        End::Left => list.head,
        End::Right => list.tail - 1,
    };
    let Some(element) = w.get(Cf::Data, &list.item(taken))? else {
        return Err(encoding::CorruptMetadata.into());
    };
    let element = Bytes::from(element);
    if from == to || list.len() == 1 {
        return Ok((Some(element), None));
    }
    ws.batch.delete(Cf::Data, list.item(taken));
    match from {
        End::Left => list.head += 1,
        End::Right => list.tail -= 1,
    }
    push_into(&mut ws, &mut list, to, std::slice::from_ref(&element))?;
    list.save(&mut ws, db, key, stored);
    Ok((Some(element), Some(w.stage(ws)?)))
}

#[cfg(test)]
mod tests;
