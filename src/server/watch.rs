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
    by_key: Mutex<HashMap<(u8, Bytes), Vec<Arc<ClientInfo>>>>,
}

impl WatchRegistry {
    /// `client` watches `key` of physical db `db`.
    pub fn watch(&self, ks: &Keyspace, client: &Arc<ClientInfo>, db: u8, key: Bytes) {
        let mut map = self.by_key.lock();
        let list = map.entry((db, key)).or_default();
        if !list.iter().any(|c| c.id == client.id) {
            if list.is_empty() {
                ks.watchers.fetch_add(1, Ordering::Relaxed);
            }
            list.push(client.clone());
        }
    }

    /// Forgets every key `client` watches (`keys` as it recorded them).
    pub fn unwatch(&self, ks: &Keyspace, client_id: u64, keys: &[(u8, Bytes)]) {
        let mut map = self.by_key.lock();
        for k in keys {
            if let Some(list) = map.get_mut(k) {
                list.retain(|c| c.id != client_id);
                if list.is_empty() {
                    map.remove(k);
                    ks.watchers.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Marks the watchers of `touched` keys dirty.
    pub fn touch(&self, touched: &[(u8, Bytes)]) {
        if touched.is_empty() {
            return;
        }
        let map = self.by_key.lock();
        if map.is_empty() {
            return;
        }
        for k in touched {
            if let Some(list) = map.get(k) {
                for c in list {
                    c.dirty_cas.store(true, Ordering::Release);
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
                for c in list {
                    c.dirty_cas.store(true, Ordering::Release);
                }
            }
        }
    }
}
