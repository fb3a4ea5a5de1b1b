//! Active expiry: walks each database's expiry index in time order and
//! deletes keys whose time has come, so expired keys do not linger on disk
//! when nobody reads them. Work per cycle is bounded.
//!
//! Each deletion is a unit of its own, as in Redis: one commit, one `DEL`
//! propagated, one `expired` event.

use super::encoding;
use super::{Effects, Keyspace, TypeResult, WriteContext, WriteSet};
use crate::engine::Cf;

/// Deletes up to `budget` expired keys across all databases; returns how
/// many were deleted. `delivered` receives each deletion's effects after
/// its commit (events, WATCH).
pub fn expire_cycle(
    ks: &Keyspace,
    now_ms: u64,
    budget: usize,
    delivered: &mut dyn FnMut(Effects),
) -> TypeResult<usize> {
    if !ks.deletes_expired() {
        return Ok(0);
    }
    let mut deleted = 0;
    let mut candidates = Vec::new();
    for logical in 0..ks.databases() {
        let db = ks.physical(logical);
        if ks.expires_count(logical) == 0 {
            continue;
        }
        let lower = vec![db];
        let upper = encoding::expire_index_key(db, now_ms.saturating_add(1), b"");
        let mut it = ks.engine().iter(Cf::Expire, Some(&lower), Some(&upper));
        it.seek_to_first();
        while it.valid() && candidates.len() < budget {
            if let Some((d, exp, key)) = encoding::split_expire_index_key(it.key()) {
                candidates.push((d, exp, key.to_vec()));
            }
            it.next();
        }
        it.status()?;
        drop(it);
        if candidates.len() >= budget {
            break;
        }
    }
    for (db, exp, key) in candidates {
        // DEBUG SET-ACTIVE-EXPIRE 0 stops a cycle already under way too: a
        // key written after its reply is never deleted by a cycle that
        // checked the flag before it (the cron checks once per cycle).
        if !ks.active_expire.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let w = WriteContext::new(ks, now_ms);
        w.lock(db, &[&key]);
        match w.get_stored(db, &key)? {
            Some(m) if m.expire_ms == exp => {
                if w.delete_if_expired(db, &key)? {
                    deleted += 1;
                }
            }
            _ => {
                // An index entry that no longer matches its key: drop it so
                // the cycle cannot spin on it.
                let mut ws = WriteSet::new();
                ws.batch
                    .delete(Cf::Expire, encoding::expire_index_key(db, exp, &key));
                w.stage(ws)?;
            }
        }
        let (_, effects) = w.commit()?;
        delivered(effects);
    }
    Ok(deleted)
}
