//! DUMP and RESTORE below the protocol: reading one live key whole through
//! a write context, and writing a whole value as a key, replacing whatever
//! the key held, in one staged write set.
//!
//! Serialising to and from Redis's payload format is the `rdb` module's
//! business; this layer only moves values ([`OwnedValue`]) in and out of
//! the keyspace, with the encoding markers OBJECT ENCODING reports (the same
//! records a replica's RDB load writes, see [`KeyRecords`]).

use bytes::Bytes;

use super::bulk::{EncodingLimits, KeyRecords};
use super::encoding::{KeyType, Metadata};
use super::export::{self, Elements, ExportError, OwnedValue};
use super::{TypeError, TypeResult, WriteContext};

/// A live key read whole, with its record (kind, expiry, encoding marker).
pub struct WholeKey {
    pub value: OwnedValue,
    pub meta: Metadata,
}

/// Reads the live value of `key` in physical db `db` whole, as the unit
/// sees it; `None` when missing (an expired key is missing, and a master
/// deletes it, as Redis's read lookup does).
pub fn read(w: &WriteContext<'_>, db: u8, key: &[u8]) -> TypeResult<Option<WholeKey>> {
    let Some(meta) = w.get_live(db, key)? else {
        return Ok(None);
    };
    let elements = Elements::through(w, db, key, &meta);
    let value = export::collect(&meta, elements).map_err(export_error)?;
    Ok(Some(WholeKey { value, meta }))
}

fn export_error(e: ExportError) -> TypeError {
    match e {
        ExportError::Engine(e) => TypeError::Engine(e),
        other => TypeError::Reply(format!("ERR {other}")),
    }
}

/// What [`restore`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    /// The key now holds the value.
    Created,
    /// The expiry had already passed on a master: the key was not created;
    /// `deleted` says whether a live key of that name was removed instead.
    AlreadyExpired { deleted: bool },
}

/// Writes `value` as `key` in physical db `db`, replacing anything stored
/// there (the caller has decided a live key may be replaced), with absolute
/// expiry `expire_ms` (0 = none). An expiry already past deletes the key
/// instead on a master (Redis never creates an expired key there); a replica
/// writes it as given, hidden until its master's DEL. Empty collections are
/// refused by the payload decoder before they get here.
pub fn restore(
    w: &WriteContext<'_>,
    db: u8,
    key: &[u8],
    value: &OwnedValue,
    expire_ms: u64,
    limits: EncodingLimits,
) -> TypeResult<Restored> {
    w.lock(db, &[key]);
    let now = w.now_ms();
    // A master deletes an expired record here (with its DEL), so `stored`
    // is live or, on a replica, whatever is stored.
    let stored = w.lookup_key(db, key)?;
    let mut ws = w.write_set();
    if expire_ms != 0 && expire_ms <= now && w.keyspace().deletes_expired() {
        let deleted = match &stored {
            Some(m) => {
                ws.delete_key(db, key, m);
                !m.is_expired(now)
            }
            None => false,
        };
        w.stage(ws)?;
        return Ok(Restored::AlreadyExpired { deleted });
    }
    let kind = match value {
        OwnedValue::String(s) => {
            let meta = Metadata::string(s.clone(), expire_ms);
            ws.put_meta(db, key, &meta, stored.as_ref());
            w.stage(ws)?;
            return Ok(Restored::Created);
        }
        OwnedValue::List(_) => KeyType::List,
        OwnedValue::Set(_) => KeyType::Set,
        OwnedValue::Hash(_) => KeyType::Hash,
        OwnedValue::ZSet(_) => KeyType::ZSet,
    };
    let mut records = KeyRecords::begin(
        db,
        Bytes::copy_from_slice(key),
        kind,
        w.new_version(),
        expire_ms,
        limits,
    );
    let batch = &mut ws.batch;
    match value {
        OwnedValue::String(_) => {}
        OwnedValue::List(items) => items.iter().for_each(|i| records.list_item(batch, i)),
        OwnedValue::Set(members) => members.iter().for_each(|m| records.set_member(batch, m)),
        OwnedValue::Hash(pairs) => pairs
            .iter()
            .for_each(|(f, v)| records.hash_field(batch, f, v)),
        OwnedValue::ZSet(pairs) => pairs
            .iter()
            .for_each(|(m, s)| records.zset_member(batch, m, *s)),
    }
    let meta = records
        .into_meta()
        .ok_or_else(|| TypeError::Reply("ERR Bad data format".into()))?;
    ws.put_meta(db, key, &meta, stored.as_ref());
    w.stage(ws)?;
    Ok(Restored::Created)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{keys, test_context};

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn a_restored_value_reads_back_whole_with_its_encoding() {
        let (_dir, w) = test_context();
        let limits = EncodingLimits::default();
        let hash = OwnedValue::Hash(vec![(b("a"), b("1")), (b("b"), b("2"))]);
        assert_eq!(
            restore(&w, 0, b"h", &hash, 0, limits).expect("restore"),
            Restored::Created
        );
        let got = read(&w, 0, b"h").expect("read").expect("present");
        assert_eq!(got.value, hash);
        assert_eq!(keys::encoding_name(&got.meta), "listpack");
        assert_eq!(w.dbsize(0), 1);

        // Replacing a hash by a set of integers: one key still, intset.
        let set = OwnedValue::Set(vec![b("3"), b("1"), b("2")]);
        restore(&w, 0, b"h", &set, u64::MAX / 2, limits).expect("restore");
        let got = read(&w, 0, b"h").expect("read").expect("present");
        let OwnedValue::Set(mut members) = got.value else {
            panic!("a set expected")
        };
        members.sort();
        assert_eq!(members, vec![b("1"), b("2"), b("3")]);
        assert_eq!(keys::encoding_name(&got.meta), "intset");
        assert_eq!((w.dbsize(0), w.expires_count(0)), (1, 1));

        // Above the intset limit: hashtable.
        let tight = EncodingLimits {
            set_max_intset_entries: 2,
            ..limits
        };
        restore(&w, 0, b"h", &set, 0, tight).expect("restore");
        let got = read(&w, 0, b"h").expect("read").expect("present");
        assert_eq!(keys::encoding_name(&got.meta), "hashtable");
        assert_eq!((w.dbsize(0), w.expires_count(0)), (1, 0));
    }

    #[test]
    fn an_expiry_already_past_deletes_instead() {
        let (_dir, w) = test_context();
        let limits = EncodingLimits::default();
        let v = OwnedValue::String(b("v"));
        assert_eq!(
            restore(&w, 0, b"k", &v, 1, limits).expect("restore"),
            Restored::AlreadyExpired { deleted: false }
        );
        assert!(read(&w, 0, b"k").expect("read").is_none());
        restore(&w, 0, b"k", &v, 0, limits).expect("restore");
        assert_eq!(
            restore(&w, 0, b"k", &v, 1, limits).expect("restore"),
            Restored::AlreadyExpired { deleted: true }
        );
        assert_eq!(w.dbsize(0), 0);
    }
}
