//! Strings, stored inline in the metadata record (minimal; being extended).

use bytes::Bytes;

use super::{KeyType, Keyspace, Metadata, TypeError, TypeResult};

pub fn get(ks: &Keyspace, db: u8, key: &[u8]) -> TypeResult<Option<Bytes>> {
    match ks.get_live(db, key)? {
        None => Ok(None),
        Some(m) if m.kind != KeyType::String => Err(TypeError::WrongType),
        Some(m) => Ok(Some(m.payload)),
    }
}

/// Plain SET: replaces any value and clears the TTL. Returns the commit sequence.
pub fn set(ks: &Keyspace, db: u8, key: &[u8], value: Bytes) -> TypeResult<u64> {
    let _g = ks.lock(db, &[key]);
    let stored = ks.get_stored(db, key)?;
    let mut ws = ks.write_set();
    ws.put_meta(db, key, &Metadata::string(value, 0), stored.as_ref());
    ks.commit(ws)
}
