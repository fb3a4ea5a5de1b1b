//! The RDB of a full resynchronisation, written from an engine snapshot:
//! AUX fields naming the replication id and offset the snapshot reflects,
//! then every non-empty logical database in key order. Small collections go
//! out whole in the compact encodings Redis 7.0 would choose for them
//! (under the live thresholds), big ones element by element.
//!
//! Runs on a blocking thread; holds one small collection at most.

use std::io::Write;

use crate::engine::EngineSnapshot;
use crate::rdb::encode::{EncodeOptions, Limits, Value};
use crate::rdb::writer::{RdbWriter, WriteError};
use crate::types::backlog::ReplPosition;
use crate::types::export::{self, Element, ExportError, ExportedKey};
use crate::types::KeyType;

/// Lists up to this many elements are encoded whole as quicklist nodes.
const SMALL_LIST: u64 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotRdbError {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("key {key:?} declared {declared} elements but the snapshot holds {found}")]
    Count {
        key: String,
        declared: u64,
        found: u64,
    },
}

/// What goes into the file besides the data.
pub struct RdbHeader {
    pub redis_ver: &'static str,
    pub ctime: i64,
    pub used_mem: u64,
    pub position: ReplPosition,
    /// The database the stream has selected at the snapshot
    /// (`repl-stream-db`).
    pub stream_db: u32,
}

/// The encoding options from the live configuration (`rdbcompression`,
/// the listpack / intset thresholds, `list-max-listpack-size`).
pub fn encode_options(config: &crate::config::ConfigStore) -> (EncodeOptions, bool) {
    let num = |name: &str, default: usize| {
        config
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(default, |v| v.max(0) as usize)
    };
    let list_node_bytes = match config
        .get("list-max-listpack-size")
        .and_then(|v| v.parse::<i64>().ok())
    {
        Some(n @ -5..=-1) => 4096usize << (-n - 1),
        // A count limit: the node byte budget stays the default's.
        _ => 8192,
    };
    let defaults = Limits::default();
    let limits = Limits {
        list_node_bytes,
        list_plain_threshold: defaults.list_plain_threshold,
        set_max_intset_entries: num("set-max-intset-entries", 512),
        hash_max_listpack_entries: num("hash-max-listpack-entries", 512),
        hash_max_listpack_value: num("hash-max-listpack-value", 64),
        zset_max_listpack_entries: num("zset-max-listpack-entries", 128),
        zset_max_listpack_value: num("zset-max-listpack-value", 64),
    };
    let yes = |name: &str| config.get(name).as_deref() != Some("no");
    (
        EncodeOptions {
            compress: yes("rdbcompression"),
            limits,
        },
        yes("rdbchecksum"),
    )
}

/// Logical -> physical database map as of the snapshot.
fn dbmap(snap: &dyn EngineSnapshot, databases: usize) -> Vec<u8> {
    crate::types::keyspace::snapshot_dbmap(snap, databases)
}

/// (keys, keys with a TTL) of a physical database as of the snapshot.
fn counts(snap: &dyn EngineSnapshot, physical: u8) -> (u64, u64) {
    crate::types::keyspace::snapshot_counts(snap, physical)
}

/// Writes the whole RDB to `out`; returns `out` and the bytes written.
pub fn write_snapshot<W: Write>(
    snap: &dyn EngineSnapshot,
    databases: usize,
    header: &RdbHeader,
    opts: EncodeOptions,
    checksum: bool,
    out: W,
) -> Result<(W, u64), SnapshotRdbError> {
    let mut w = RdbWriter::with_options(out, opts, checksum);
    w.header()?;
    w.aux_fields(
        header.redis_ver,
        header.ctime,
        header.used_mem,
        Some((
            header.stream_db,
            &header.position.replid,
            header.position.offset as i64,
        )),
    )?;
    for (logical, physical) in dbmap(snap, databases).into_iter().enumerate() {
        if !export::has_keys(snap, physical) {
            continue;
        }
        w.select_db(logical as u64)?;
        let (keys, expires) = counts(snap, physical);
        w.resize_db(keys, expires)?;
        let mut failure = None;
        let res = export::for_each_key(snap, physical, &mut |k| {
            write_key(&mut w, k, &opts.limits).map_err(|e| {
                let text = e.to_string();
                failure = Some(e);
                ExportError::Stopped(text)
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        res?;
    }
    let bytes = w.bytes_written() + 9;
    let out = w.finish()?;
    Ok((out, bytes))
}

fn write_key<W: Write>(
    w: &mut RdbWriter<W>,
    mut k: ExportedKey<'_, '_>,
    limits: &Limits,
) -> Result<(), SnapshotRdbError> {
    let expire = k.expire_ms.map(|ms| ms as i64);
    let small = match k.kind {
        KeyType::String => return Ok(w.string(k.key, expire, k.string)?),
        KeyType::List => k.len <= SMALL_LIST,
        KeyType::Set => k.len <= limits.set_max_intset_entries as u64,
        KeyType::Hash => k.len <= limits.hash_max_listpack_entries as u64,
        KeyType::ZSet => k.len <= limits.zset_max_listpack_entries as u64,
    };
    let mismatch = |found: u64| SnapshotRdbError::Count {
        key: String::from_utf8_lossy(k.key).into_owned(),
        declared: k.len,
        found,
    };
    if k.len == 0 {
        // An empty collection cannot exist in Redis; nothing to send.
        return Ok(());
    }
    if small {
        let mut owned: Vec<(Vec<u8>, Vec<u8>, f64)> = Vec::with_capacity(k.len as usize);
        while let Some(e) = k.elements.next()? {
            owned.push(match e {
                Element::Item(i) => (i.to_vec(), Vec::new(), 0.0),
                Element::Field(f, v) => (f.to_vec(), v.to_vec(), 0.0),
                Element::Scored(m, s) => (m.to_vec(), Vec::new(), s),
            });
        }
        if owned.len() as u64 != k.len {
            return Err(mismatch(owned.len() as u64));
        }
        let value = match k.kind {
            KeyType::List => Value::List(owned.iter().map(|e| e.0.as_slice()).collect()),
            KeyType::Set => Value::Set(owned.iter().map(|e| e.0.as_slice()).collect()),
            KeyType::Hash => Value::Hash(
                owned
                    .iter()
                    .map(|e| (e.0.as_slice(), e.1.as_slice()))
                    .collect(),
            ),
            _ => Value::ZSet(owned.iter().map(|e| (e.0.as_slice(), e.2)).collect()),
        };
        return Ok(w.value(k.key, expire, &value)?);
    }
    match k.kind {
        KeyType::List => w.begin_list(k.key, expire, k.len)?,
        KeyType::Set => w.begin_set(k.key, expire, k.len)?,
        KeyType::Hash => w.begin_hash(k.key, expire, k.len)?,
        _ => w.begin_zset(k.key, expire, k.len)?,
    }
    let mut found = 0u64;
    while let Some(e) = k.elements.next()? {
        found += 1;
        if found > k.len {
            break;
        }
        match e {
            Element::Item(i) if k.kind == KeyType::List => w.list_item(i)?,
            Element::Item(i) => w.set_member(i)?,
            Element::Field(f, v) => w.hash_field(f, v)?,
            Element::Scored(m, s) => w.zset_member(m, s)?,
        }
    }
    if found != k.len {
        return Err(mismatch(found));
    }
    Ok(())
}
