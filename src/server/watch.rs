//! WATCH: the keys each client watches, and breaking their transactions
//! when a key changes.
//!
//! A committed unit lists the keys whose records it changed
//! (`Effects::touched`, computed only while someone watches); every client
//! watching one of them is marked dirty, and its EXEC then fails with a null
//! reply, as Redis's `touchWatchedKey` arranges. Flushes and SWAPDB touch
//! the watched keys that exist in the databases they empty or exchange.
//! Keys are watched by physical database, i.e. the data they name.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use super::client::ClientInfo;
use crate::types::Keyspace;

#[derive(Default)]
pub struct WatchRegistry {
    /// Per key: its watchers, each with whether the key was already expired
    /// when watched (its deletion by expiry then changes nothing logically).
    by_key: Mutex<HashMap<(u8, Bytes), Vec<Watcher>>>,
}

struct Watcher {
    client: Arc<ClientInfo>,
    expired_when_watched: bool,
}

impl WatchRegistry {
    /// `client` watches `key` of physical db `db`.
    pub fn watch(
        &self,
        ks: &Keyspace,
        client: &Arc<ClientInfo>,
        db: u8,
        key: Bytes,
        expired_when_watched: bool,
    ) {
        let mut map = self.by_key.lock();
        let list = map.entry((db, key)).or_default();
        if !list.iter().any(|w| w.client.id == client.id) {
            if list.is_empty() {
                ks.watchers.fetch_add(1, Ordering::Relaxed);
            }
            list.push(Watcher {
                client: client.clone(),
                expired_when_watched,
            });
        }
    }

    /// Forgets every key `client` watches (`keys` as it recorded them).
    pub fn unwatch(&self, ks: &Keyspace, client_id: u64, keys: &[(u8, Bytes)]) {
        let mut map = self.by_key.lock();
        for k in keys {
            if let Some(list) = map.get_mut(k) {
                list.retain(|w| w.client.id != client_id);
                if list.is_empty() {
                    map.remove(k);
                    ks.watchers.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Marks the watchers of `touched` keys dirty (call it after the
    /// commit). A key that was already expired when watched and is now gone
    /// was only reclaimed: as in Redis, that clears its flag instead.
    pub fn touch(&self, ks: &Keyspace, touched: &[(u8, Bytes)]) {
        if touched.is_empty() {
            return;
        }
        let mut map = self.by_key.lock();
        if map.is_empty() {
            return;
        }
        for k in touched {
            if let Some(list) = map.get_mut(k) {
                let mut gone = None;
                for w in list.iter_mut() {
                    if w.expired_when_watched {
                        let is_gone = *gone
                            .get_or_insert_with(|| matches!(ks.get_stored(k.0, &k.1), Ok(None)));
                        if is_gone {
                            w.expired_when_watched = false;
                            continue;
                        }
                    }
                    w.client.dirty_cas.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Marks dirty the watchers of keys of physical dbs `dbs` that exist
    /// now: call it before a flush or a SWAPDB of those databases commits.
    pub fn touch_existing(&self, ks: &Keyspace, dbs: &[u8]) {
        let map = self.by_key.lock();
        for ((db, key), list) in map.iter() {
            if dbs.contains(db) && matches!(ks.get_stored(*db, key), Ok(Some(_))) {
                for w in list {
                    w.client.dirty_cas.store(true, Ordering::Release);
                }
            }
        }
    }
}
