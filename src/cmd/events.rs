//! Keyspace notifications from command handlers (Redis's
//! `notifyKeyspaceEvent` calls in t_*.c, db.c, expire.c, sort.c).
//!
//! A handler knows the outcome of its command (what was added, removed,
//! emptied), so it says which events happened, in Redis's order; the write
//! context keeps them until the unit commits and the server publishes them.
//! Notifications are off by default, so every helper first reads the
//! configured flags (one atomic load) and does nothing more when the class
//! is not enabled: extra lookups made only for an event (was the key new?)
//! are guarded by [`Ctx::notifying`].

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::Ctx;
use crate::notify::{KEYEVENT, KEYSPACE, NEW};
use crate::types::WriteContext;

impl Ctx<'_> {
    /// Whether an event of `class` would be published now (Redis's
    /// `server.notify_keyspace_events & type` test).
    pub fn notifying(&self, class: u32) -> bool {
        let flags = self.server.config.notify_flags.load(Ordering::Relaxed);
        flags & class != 0 && flags & (KEYSPACE | KEYEVENT) != 0
    }

    /// Records `event` on `key` of the client's current database.
    pub fn notify(&self, class: u32, event: &'static str, key: &[u8]) {
        self.notify_in(class, event, self.client.db, key);
    }

    /// Records `event` on `key` of logical database `db` (MOVE, COPY DB).
    pub fn notify_in(&self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.notifying(class) {
            self.w.event(class, event, db, Bytes::copy_from_slice(key));
        }
    }

    /// Redis's `lookupKeyWrite` before an overwrite: a key found expired is
    /// deleted with its `expired` event first. The types layer overwrites
    /// without looking, so this runs only when `expired` is published.
    pub fn expire_if_needed(&self, key: &[u8]) {
        if self.notifying(crate::notify::EXPIRED) {
            let _ = self.w.get_live(self.db(), key);
        }
    }

    /// Asked before a write that may create `key`: true when `new` events are
    /// enabled and the key does not exist (so [`notify_new`](Self::notify_new)
    /// must tell whether the write created it).
    pub fn missing_for_new(&self, key: &[u8]) -> bool {
        self.notifying(NEW) && matches!(self.w.get_live(self.db(), key), Ok(None))
    }

    /// Redis's `dbAdd` event: `new` when `key`, missing before (see
    /// [`missing_for_new`](Self::missing_for_new)), exists now.
    pub fn notify_new(&self, was_missing: bool, key: &[u8]) {
        // Stored, not live: a key written with a TTL already past (SET ...
        // PXAT 1) was still created.
        if was_missing && matches!(self.w.get_stored(self.db(), key), Ok(Some(_))) {
            self.notify(NEW, "new", key);
        }
    }

    /// `del` when `key` no longer exists after a removal (a collection
    /// emptied by its last element going); looked up only when generic
    /// events are enabled.
    pub fn notify_del_if_gone(&self, key: &[u8]) {
        if self.notifying(crate::notify::GENERIC)
            && matches!(self.w.get_stored(self.db(), key), Ok(None))
        {
            self.notify(crate::notify::GENERIC, "del", key);
        }
    }
}

/// Events of a blocked client served later (`server::blocking`), which runs
/// without a [`Ctx`]: recorded unconditionally (the server drops what the
/// configuration does not enable when it publishes). Only blocking
/// commands take this path.
pub fn record(w: &WriteContext<'_>, class: u32, event: &'static str, db: usize, key: &[u8]) {
    w.event(class, event, db, Bytes::copy_from_slice(key));
}

/// `del` on `key` of logical `db` if it no longer exists (an emptied list or
/// sorted set), for the served-later path.
pub fn record_del_if_gone(w: &WriteContext<'_>, db: usize, key: &[u8]) {
    if matches!(w.get_stored(w.physical(db), key), Ok(None)) {
        record(w, crate::notify::GENERIC, "del", db, key);
    }
}

/// The events of a command that stores a result at `dst` (SORT STORE,
/// ZUNIONSTORE, ZRANGESTORE, ...): `new` and the command's event when the
/// result is not empty, else `del` if `dst` existed (Redis deletes it).
pub struct StoreEvents {
    missing: bool,
    existed: bool,
}

impl StoreEvents {
    /// Looks at `dst` before the command writes it (only when notifying).
    pub fn before(ctx: &Ctx<'_>, dst: &[u8]) -> StoreEvents {
        ctx.expire_if_needed(dst);
        let missing = ctx.missing_for_new(dst);
        let existed = ctx.notifying(crate::notify::GENERIC)
            && matches!(ctx.ks().get_live(ctx.db(), dst), Ok(Some(_)));
        StoreEvents { missing, existed }
    }

    pub fn after(&self, ctx: &Ctx<'_>, dst: &[u8], stored: bool, class: u32, event: &'static str) {
        if stored {
            ctx.notify_new(self.missing, dst);
            ctx.notify(class, event, dst);
        } else if self.existed {
            ctx.notify(crate::notify::GENERIC, "del", dst);
        }
    }
}
