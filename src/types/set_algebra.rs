//! Commands that work across several sets: SMOVE and the set algebra
//! (SINTER, SINTERCARD, SUNION, SDIFF and their STORE forms).
//!
//! The algebra streams: an intersection walks the smallest set and probes
//! the others with point reads; a union merges the sorted member cursors of
//! every set; a difference walks the first set and moves a cursor of each
//! other set forward to the current member. Only the result is held (and for
//! the STORE forms it goes straight into the write batch).
//!
//! Every command locks all its keys, so it sees one consistent state of them
//! and a STORE form writes its result atomically with respect to them. The
//! STORE result is a new version of the destination (overwriting whatever
//! type was there, TTL cleared, as Redis does); an empty result deletes it.

use bytes::Bytes;

use super::encoding::subkey;
use super::set::{live_set, new_set, note_member, note_size, MemberCursor};
use super::{Metadata, TypeResult, WriteContext};
use crate::engine::Cf;

/// A set operation over several keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetOp {
    Inter,
    Union,
    Diff,
}

/// SMOVE: moves `member` from `src` to `dst`. Returns whether it moved
/// (with `src == dst`, whether it is a member) and whether it staged a change (`Some`).
pub fn smove(
    w: &WriteContext<'_>,
    db: u8,
    src: &[u8],
    dst: &[u8],
    member: &[u8],
    max_intset: u64,
) -> TypeResult<(bool, Option<u64>)> {
    w.lock(db, &[src, dst]);
    let now = w.now_ms();
    let src_stored = w.lookup_key(db, src)?;
    let dst_stored = w.lookup_key(db, dst)?;
    // Redis answers 0 for a missing source before it looks at types.
    let Some(src_meta) = src_stored.as_ref().filter(|m| !m.is_expired(now)).cloned() else {
        return Ok((false, None));
    };
    live_set(&src_stored, now)?;
    let dst_live = live_set(&dst_stored, now)?.cloned();
    let in_src = w
        .get(Cf::Data, &subkey(db, src, src_meta.version, member))?
        .is_some();
    if src == dst || !in_src {
        return Ok((in_src, None));
    }
    let mut ws = w.write_set();
    let mut src_meta = src_meta;
    ws.batch
        .delete(Cf::Data, subkey(db, src, src_meta.version, member));
    src_meta.size = src_meta.size.saturating_sub(1);
    if src_meta.size == 0 {
        ws.delete_key(db, src, &src_meta);
    } else {
        ws.put_meta(db, src, &src_meta, src_stored.as_ref());
    }
    let mut dst_meta = dst_live.unwrap_or_else(|| new_set(w));
    let dst_sub = subkey(db, dst, dst_meta.version, member);
    if w.get(Cf::Data, &dst_sub)?.is_none() {
        ws.batch.put(Cf::Data, dst_sub, Vec::new());
        dst_meta.size += 1;
        note_member(&mut dst_meta, member);
        note_size(&mut dst_meta, max_intset);
        ws.put_meta(db, dst, &dst_meta, dst_stored.as_ref());
    }
    Ok((true, Some(w.stage(ws)?)))
}

/// The live sets at `keys` (`None` for missing ones), read under the
/// caller's locks; `WrongType` if any key holds another type, even after a
/// missing one (Redis 7.0 checks every key).
fn sources<K: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    keys: &[K],
) -> TypeResult<Vec<Option<Metadata>>> {
    let now = w.now_ms();
    keys.iter()
        .map(|k| {
            let stored = w.lookup_key(db, k.as_ref())?;
            Ok(live_set(&stored, now)?.cloned())
        })
        .collect()
}

/// Feeds each member of the result of `op` over the sets at `keys` (their
/// metadata in `sets`) to `emit`, in byte order for union and difference.
/// `emit` returns false to stop early (SINTERCARD's LIMIT).
fn combine<K: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    op: SetOp,
    keys: &[K],
    sets: &[Option<Metadata>],
    mut emit: impl FnMut(&[u8]) -> bool,
) -> TypeResult<()> {
    match op {
        SetOp::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(());
            }
            let mut order: Vec<usize> = (0..sets.len()).collect();
            order.sort_by_key(|&i| sets[i].as_ref().map_or(0, |m| m.size));
            let Some((&smallest, others)) = order.split_first() else {
                return Ok(());
            };
            let version = |i: usize| sets[i].as_ref().map_or(0, |m| m.version);
            let mut c = MemberCursor::open(w, db, keys[smallest].as_ref(), version(smallest));
            'members: while let Some(m) = c.member() {
                for &o in others {
                    let probe = subkey(db, keys[o].as_ref(), version(o), m);
                    if w.get(Cf::Data, &probe)?.is_none() {
                        c.advance();
                        continue 'members;
                    }
                }
                if !emit(m) {
                    break;
                }
                c.advance();
            }
            c.status()
        }
        SetOp::Union => {
            let mut cursors: Vec<MemberCursor<'_>> = keys
                .iter()
                .zip(sets)
                .filter_map(|(k, m)| {
                    m.as_ref()
                        .map(|m| MemberCursor::open(w, db, k.as_ref(), m.version))
                })
                .collect();
            while let Some(min) = cursors.iter().filter_map(|c| c.member()).min() {
                let min = min.to_vec();
                if !emit(&min) {
                    break;
                }
                for c in cursors.iter_mut() {
                    if c.member() == Some(min.as_slice()) {
                        c.advance();
                    }
                }
            }
            cursors.iter().try_for_each(MemberCursor::status)
        }
        SetOp::Diff => {
            let Some(Some(first)) = sets.first() else {
                return Ok(());
            };
            let mut c = MemberCursor::open(w, db, keys[0].as_ref(), first.version);
            let mut others: Vec<MemberCursor<'_>> = keys[1..]
                .iter()
                .zip(&sets[1..])
                .filter_map(|(k, m)| {
                    m.as_ref()
                        .map(|m| MemberCursor::open(w, db, k.as_ref(), m.version))
                })
                .collect();
            while let Some(m) = c.member() {
                let mut excluded = false;
                for o in others.iter_mut() {
                    if o.member().is_some_and(|x| x < m) {
                        o.seek(m);
                    }
                    if o.member() == Some(m) {
                        excluded = true;
                        break;
                    }
                }
                if !excluded && !emit(m) {
                    break;
                }
                c.advance();
            }
            c.status()?;
            others.iter().try_for_each(MemberCursor::status)
        }
    }
}

/// SINTER, SUNION, SDIFF: the members of the result.
pub fn set_op<K: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    op: SetOp,
    keys: &[K],
) -> TypeResult<Vec<Bytes>> {
    w.lock(db, keys);
    let sets = sources(w, db, keys)?;
    let mut out = Vec::new();
    combine(w, db, op, keys, &sets, |m| {
        out.push(Bytes::copy_from_slice(m));
        true
    })?;
    Ok(out)
}

/// SINTERCARD: the size of the intersection, counting stops at `limit`
/// (0 = no limit).
pub fn sintercard<K: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    keys: &[K],
    limit: u64,
) -> TypeResult<u64> {
    w.lock(db, keys);
    let sets = sources(w, db, keys)?;
    let mut n = 0u64;
    combine(w, db, SetOp::Inter, keys, &sets, |_| {
        n += 1;
        limit == 0 || n < limit
    })?;
    Ok(n)
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: stores the result at `dst` and
/// returns its size and whether it staged a change (`Some`).
pub fn set_op_store<K: AsRef<[u8]>>(
    w: &WriteContext<'_>,
    db: u8,
    op: SetOp,
    dst: &[u8],
    keys: &[K],
    max_intset: u64,
) -> TypeResult<(u64, Option<u64>)> {
    let mut locked: Vec<&[u8]> = keys.iter().map(|k| k.as_ref()).collect();
    locked.push(dst);
    w.lock(db, &locked);
    let sets = sources(w, db, keys)?;
    let dst_stored = w.lookup_key(db, dst)?;
    let mut ws = w.write_set();
    let mut meta = new_set(w);
    let version = meta.version;
    combine(w, db, op, keys, &sets, |m| {
        ws.batch
            .put(Cf::Data, subkey(db, dst, version, m), Vec::new());
        meta.size += 1;
        note_member(&mut meta, m);
        true
    })?;
    if meta.size == 0 {
        let Some(stored) = dst_stored else {
            return Ok((0, None));
        };
        let mut ws = w.write_set();
        ws.delete_key(db, dst, &stored);
        return Ok((0, Some(w.stage(ws)?)));
    }
    note_size(&mut meta, max_intset);
    ws.put_meta(db, dst, &meta, dst_stored.as_ref());
    let size = meta.size;
    Ok((size, Some(w.stage(ws)?)))
}
