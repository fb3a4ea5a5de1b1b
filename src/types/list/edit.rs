//! List commands that change elements other than the ends: LSET, LINSERT,
//! LREM, LTRIM. Each rewrites only what must move: LINSERT and LREM shift
//! the elements on the shorter side of the change toward the gap and move
//! that side's bound; LTRIM only moves the bounds and deletes the rest.

use super::{
    load, parse_index, scan, ListMeta, ERR_INDEX_OUT_OF_RANGE, ERR_INDEX_SPACE, ERR_NO_SUCH_KEY,
};
use crate::engine::Cf;
use crate::types::{TypeError, TypeResult, WriteContext};

/// LSET with the index argument unparsed: one point write. Errors as
/// Redis, in its order: `ERR no such key`, WRONGTYPE, not an integer,
/// `ERR index out of range`.
pub fn set(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    index_arg: &[u8],
    value: &[u8],
) -> TypeResult<u64> {
    w.lock(db, &[key]);
    let Some(list) = load(w, db, key)?.list else {
        return Err(TypeError::Reply(ERR_NO_SUCH_KEY.into()));
    };
    let Some(pos) = list.position(parse_index(index_arg)?) else {
        return Err(TypeError::Reply(ERR_INDEX_OUT_OF_RANGE.into()));
    };
    let mut ws = w.write_set();
    ws.batch
        .put(Cf::Data, list.item(list.head + pos), value.to_vec());
    w.stage(ws)
}

/// Values at positions `from .. to` with their positions, left to right.
fn read_positions(
    w: &WriteContext<'_>,
    list: &ListMeta,
    from: u64,
    to: u64,
) -> TypeResult<Vec<(u64, Vec<u8>)>> {
    let mut out = Vec::new();
    scan(w, list, from, to, false, |pos, v| {
        out.push((pos, v.to_vec()));
        true
    })?;
    Ok(out)
}

/// LINSERT: inserts `value` before (`after` false) or after the first
/// `pivot`. Returns the new length, -1 when the pivot is absent, 0 when the
/// key is missing.
pub fn insert(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    after: bool,
    pivot: &[u8],
    value: &[u8],
) -> TypeResult<(i64, Option<u64>)> {
    w.lock(db, &[key]);
    let loaded = load(w, db, key)?;
    let Some(mut list) = loaded.list else {
        return Ok((0, None));
    };
    let mut pivot_pos = None;
    scan(w, &list, 0, list.len(), false, |pos, v| {
        if v == pivot {
            pivot_pos = Some(pos);
            return false;
        }
        true
    })?;
    let Some(pivot_pos) = pivot_pos else {
        return Ok((-1, None));
    };
    // The new element takes position `at`; the shorter side moves away.
    let at = pivot_pos + after as u64;
    let len = list.len();
    let mut ws = w.write_set();
    if at <= len - at {
        let head = list
            .head
            .checked_sub(1)
            .ok_or_else(|| TypeError::Reply(ERR_INDEX_SPACE.into()))?;
        for (pos, v) in read_positions(w, &list, 0, at)? {
            ws.batch.put(Cf::Data, list.item(head + pos), v);
        }
        ws.batch.put(Cf::Data, list.item(head + at), value.to_vec());
        list.head = head;
    } else {
        let tail = list
            .tail
            .checked_add(1)
            .ok_or_else(|| TypeError::Reply(ERR_INDEX_SPACE.into()))?;
        for (pos, v) in read_positions(w, &list, at, len)? {
            ws.batch.put(Cf::Data, list.item(list.head + pos + 1), v);
        }
        ws.batch
            .put(Cf::Data, list.item(list.head + at), value.to_vec());
        list.tail = tail;
    }
    list.save(&mut ws, db, key, loaded.stored.as_ref());
    let seq = w.stage(ws)?;
    Ok((list.len() as i64, Some(seq)))
}

/// LREM: removes the first `count` occurrences of `element` from the head
/// (`count` > 0), from the tail (< 0) or all of them (0). Returns how many
/// it removed.
pub fn rem(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    count: i64,
    element: &[u8],
) -> TypeResult<(u64, Option<u64>)> {
    w.lock(db, &[key]);
    let loaded = load(w, db, key)?;
    let Some(mut list) = loaded.list else {
        return Ok((0, None));
    };
    let limit = count.unsigned_abs();
    let mut matched: Vec<u64> = Vec::new();
    scan(w, &list, 0, list.len(), count < 0, |pos, v| {
        if v == element {
            matched.push(pos);
            if limit != 0 && matched.len() as u64 == limit {
                return false;
            }
        }
        true
    })?;
    if matched.is_empty() {
        return Ok((0, None));
    }
    matched.sort_unstable();
    let removed = matched.len() as u64;
    let len = list.len();
    let (first, last) = (matched[0], matched[matched.len() - 1]);
    let mut ws = w.write_set();
    if removed == len {
        list.head = list.tail;
    } else if last < len - first {
        // Close the gaps by moving the kept elements of 0..=last toward
        // the tail: each moves by the number of matches after it.
        let mut kept = read_positions(w, &list, 0, last + 1)?;
        kept.retain(|(pos, _)| matched.binary_search(pos).is_err());
        // `after` = index in `matched` of the first match beyond `pos`.
        let mut after = matched.len();
        for (pos, v) in kept.into_iter().rev() {
            while after > 0 && matched[after - 1] > pos {
                after -= 1;
            }
            let shift = (matched.len() - after) as u64;
            ws.batch
                .put(Cf::Data, list.item(list.head + pos + shift), v);
        }
        list.delete_items(&mut ws, list.head, list.head + removed);
        list.head += removed;
    } else {
        // Mirror image: kept elements of first..len move toward the head
        // by the number of matches before them.
        let mut kept = read_positions(w, &list, first, len)?;
        kept.retain(|(pos, _)| matched.binary_search(pos).is_err());
        let mut before = 0usize;
        for (pos, v) in kept {
            while before < matched.len() && matched[before] < pos {
                before += 1;
            }
            ws.batch
                .put(Cf::Data, list.item(list.head + pos - before as u64), v);
        }
        list.delete_items(&mut ws, list.tail - removed, list.tail);
        list.tail -= removed;
    }
    list.save(&mut ws, db, key, loaded.stored.as_ref());
    let seq = w.stage(ws)?;
    Ok((removed, Some(seq)))
}

/// LTRIM: keeps positions `start ..= stop` (Redis's normalisation), deleting
/// the key when nothing is left.
pub fn trim(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    start: i64,
    stop: i64,
) -> TypeResult<Option<u64>> {
    w.lock(db, &[key]);
    let loaded = load(w, db, key)?;
    let Some(mut list) = loaded.list else {
        return Ok(None);
    };
    let len = list.len();
    let (keep_from, keep_to) = super::normalize_range(len, start, stop).unwrap_or((len, len));
    if keep_from == 0 && keep_to == len {
        return Ok(None);
    }
    let mut ws = w.write_set();
    if keep_from == keep_to {
        list.head = list.tail;
    } else {
        let (head, tail) = (list.head, list.tail);
        list.delete_items(&mut ws, head, head + keep_from);
        list.delete_items(&mut ws, head + keep_to, tail);
        list.head = head + keep_from;
        list.tail = head + keep_to;
    }
    list.save(&mut ws, db, key, loaded.stored.as_ref());
    Ok(Some(w.stage(ws)?))
}
