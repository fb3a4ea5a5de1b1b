//! Tests of the keyspace's commit point: counters, the database map, the
//! backlog's position and index, and units committed together.

use super::*;

use crate::types::test_keyspace_in as open;
use crate::types::WriteContext;

impl Keyspace {
    fn write_set(&self) -> WriteSet {
        WriteSet::new()
    }

    /// Commits one write set as a unit of its own.
    fn commit(&self, ws: WriteSet) -> TypeResult<Committed> {
        let (batch, deltas) = ws.into_parts();
        let mut changes = UnitChanges::default();
        changes.add_deltas(&deltas);
        self.commit_unit(batch, changes, &[])
    }
}

fn count(ks: &Keyspace, cf: Cf) -> usize {
    let mut it = ks.engine().iter(cf, None, None);
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    n
}

/// DEL of a collection deletes one record; compaction then drops the
/// orphaned subkeys, and a re-created key's new version is untouched.
#[test]
fn stale_subkeys_are_dropped_by_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let db = 0;
    let old = Metadata::collection(KeyType::Hash, ks.new_version(), 0);
    let mut ws = ks.write_set();
    ws.put_meta(db, b"big", &old, None);
    for i in 0..1000u32 {
        ws.batch.put(
            Cf::Data,
            encoding::subkey(db, b"big", old.version, &i.to_be_bytes()),
            b"v".to_vec(),
        );
    }
    ks.commit(ws).expect("commit");
    assert_eq!(ks.dbsize(0), 1);

    let stored = ks.get_stored(db, b"big").expect("get").expect("present");
    let mut ws = ks.write_set();
    ws.delete_key(db, b"big", &stored);
    assert_eq!(ws.batch.len(), 1, "DEL is O(1): one metadata delete");
    ks.commit(ws).expect("commit");
    assert_eq!(ks.dbsize(0), 0);

    // Re-create the key with a new version and one subkey of its own.
    let new = Metadata::collection(KeyType::Hash, ks.new_version(), 0);
    let mut ws = ks.write_set();
    ws.put_meta(db, b"big", &new, None);
    ws.batch.put(
        Cf::Data,
        encoding::subkey(db, b"big", new.version, b"f"),
        b"v".to_vec(),
    );
    ks.commit(ws).expect("commit");

    assert_eq!(count(&ks, Cf::Data), 1001);
    ks.engine().flush().expect("flush");
    ks.engine().compact_range(Cf::Data, None, None);
    assert_eq!(
        count(&ks, Cf::Data),
        1,
        "only the live version's subkey remains"
    );
}

/// A snapshot is tagged with the offset it reflects and keeps reading
/// the data of that moment, subkeys included, across later deletes,
/// re-creations and a manual compaction.
#[test]
fn snapshots_are_tagged_with_their_offset_and_survive_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let old = Metadata::collection(KeyType::Hash, ks.new_version(), 0);
    let mut ws = ks.write_set();
    ws.put_meta(0, b"h", &old, None);
    for i in 0..100u32 {
        ws.batch.put(
            Cf::Data,
            encoding::subkey(0, b"h", old.version, &i.to_be_bytes()),
            b"v".to_vec(),
        );
    }
    let (batch, deltas) = ws.into_parts();
    let mut changes = UnitChanges::default();
    changes.add_deltas(&deltas);
    let argv = vec![Bytes::from_static(b"HSET"), Bytes::from_static(b"h")];
    let c = ks
        .commit_unit(batch, changes, &[(0, argv)])
        .expect("commit");
    let (snap, pos) = ks.snapshot();
    assert_eq!(pos.offset, c.offset);

    // Delete, re-create with a new version, compact.
    let w = WriteContext::new(&ks, crate::types::now_ms());
    let stored = w.get_stored(0, b"h").expect("get").expect("present");
    let mut ws = WriteSet::new();
    ws.delete_key(0, b"h", &stored);
    let new = Metadata::collection(KeyType::Hash, ks.new_version(), 0);
    ws.put_meta(0, b"h", &new, None);
    w.stage(ws).expect("stage");
    w.propagate(
        0,
        vec![Bytes::from_static(b"DEL"), Bytes::from_static(b"h")],
    );
    let (after, _) = w.commit().expect("commit");
    assert!(after.offset > pos.offset);
    ks.engine().flush().expect("flush");
    ks.engine().compact_range(Cf::Data, None, None);

    let raw = snap
        .get(Cf::Meta, &encoding::meta_key(0, b"h"))
        .expect("get")
        .expect("the snapshot still sees the old record");
    assert_eq!(Metadata::decode(&raw).expect("decode").version, old.version);
    let prefix = encoding::subkey_prefix(0, b"h", old.version);
    let mut it = snap.iter(Cf::Data, Some(&prefix), None);
    it.seek(&prefix);
    let mut n = 0;
    while it.valid() && it.key().starts_with(&prefix) {
        n += 1;
        it.next();
    }
    assert_eq!(n, 100, "every subkey of the old version");
}

#[test]
fn counters_and_expiry_index_stay_exact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let mut ws = ks.write_set();
    ws.put_meta(3, b"a", &Metadata::string(&b"1"[..], 0), None);
    ws.put_meta(3, b"b", &Metadata::string(&b"2"[..], u64::MAX / 2), None);
    ks.commit(ws).expect("commit");
    assert_eq!((ks.dbsize(3), ks.expires_count(3)), (2, 1));
    assert_eq!(count(&ks, Cf::Expire), 1);
    // Overwriting b without a TTL removes its index entry.
    let stored = ks.get_stored(3, b"b").expect("get");
    let mut ws = ks.write_set();
    ws.put_meta(3, b"b", &Metadata::string(&b"3"[..], 0), stored.as_ref());
    ks.commit(ws).expect("commit");
    assert_eq!((ks.dbsize(3), ks.expires_count(3)), (2, 0));
    assert_eq!(count(&ks, Cf::Expire), 0);
    drop(ks);
    // Counters are persisted with the data.
    let ks = open(dir.path());
    assert_eq!((ks.dbsize(3), ks.expires_count(3)), (2, 0));
    let w = WriteContext::new(&ks, crate::types::now_ms());
    w.flush_physical(3);
    w.commit().expect("commit");
    assert_eq!(ks.dbsize(3), 0);
    assert_eq!(ks.get_stored(3, b"a").expect("get"), None);
}

#[test]
fn expired_keys_read_as_missing_and_are_reclaimed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = open(dir.path());
    let mut ws = ks.write_set();
    ws.put_meta(0, b"gone", &Metadata::string(&b"x"[..], 1), None);
    ws.put_meta(0, b"lazy", &Metadata::string(&b"x"[..], 1), None);
    ks.commit(ws).expect("commit");
    assert_eq!(ks.dbsize(0), 2);
    let w = WriteContext::new(&ks, crate::types::now_ms());
    assert_eq!(w.get_live(0, b"lazy").expect("get"), None);
    w.commit().expect("commit");
    assert_eq!(ks.dbsize(0), 1, "lazy expiry deleted the key it read");
    let mut events = Vec::new();
    let n = crate::types::expire::expire_cycle(&ks, crate::types::now_ms(), 100, &mut |e| {
        events.extend(e.events)
    })
    .expect("cycle");
    assert_eq!(n, 1);
    assert_eq!(events.len(), 1, "one expired event: {events:?}");
    assert_eq!((ks.dbsize(0), ks.expires_count(0)), (0, 0));
}

#[test]
fn the_database_map_survives_any_physical_ids() {
    assert_eq!(restore_dbmap(&[], 3), vec![0, 1, 2]);
    assert_eq!(restore_dbmap(&[16, 17, 18], 3), vec![16, 17, 18]);
    assert_eq!(restore_dbmap(&[1, 0], 3), vec![1, 0, 2]);
    assert_eq!(restore_dbmap(&[16, 0, 5], 2), vec![16, 0]);
    assert_eq!(restore_dbmap(&[4, 4], 2), vec![4, 0]);
}

/// The backlog is the engine's log: every offset reads back the exact
/// stream, from memory while followed and from the log otherwise,
/// across flushes of the data and a reopen; trimming moves the first
/// offset and older offsets are refused.
#[test]
fn the_stream_reads_back_from_the_log_and_the_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut expected = Vec::new();
    let value = Bytes::from(vec![b'v'; 700]);
    {
        let ks = open(dir.path());
        for i in 0..600u32 {
            if i == 300 {
                ks.stream_followers.fetch_add(1, Ordering::SeqCst);
            }
            if i == 200 || i == 450 {
                ks.engine().flush().expect("flush");
            }
            let key = Bytes::from(format!("k{i}"));
            let mut ws = ks.write_set();
            ws.batch.put(Cf::Data, key.to_vec(), value.to_vec());
            let (batch, _) = ws.into_parts();
            let argv = vec![Bytes::from_static(b"SET"), key, value.clone()];
            let c = ks
                .commit_unit(batch, UnitChanges::default(), &[(i as usize % 3, argv)])
                .expect("commit");
            expected = ks.read_backlog(1, usize::MAX).expect("whole stream");
            assert_eq!(expected.len() as u64, c.offset, "commit {i}");
        }
        // Every start, through the tail and through the log.
        for from in [1u64, 2, 100, 60_000, 250_000, expected.len() as u64] {
            let got = ks.read_backlog(from, usize::MAX).expect("in the backlog");
            assert_eq!(got, &expected[from as usize - 1..], "from {from}");
        }
        assert_eq!(
            ks.read_backlog(expected.len() as u64 + 1, 10),
            Some(Vec::new())
        );
        assert_eq!(ks.read_backlog(expected.len() as u64 + 2, 10), None);
        let text = String::from_utf8_lossy(&expected[..40]).to_string();
        assert!(
            text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET"),
            "{text}"
        );
        // What a clean shutdown does; without it the log buffer's last
        // records (and their data) are lost together.
        ks.flush_wal().expect("flush wal");
    }
    let ks = open(dir.path());
    assert_eq!(ks.offset(), expected.len() as u64, "offset after reopen");
    assert_eq!(ks.read_backlog(1, usize::MAX), Some(expected.clone()));
    assert_eq!(ks.backlog_first_offset(), 1);
    // A small backlog: the next indexed commit trims, reads before the
    // new first offset are refused, the rest still read back.
    ks.backlog_size.store(100_000, Ordering::Relaxed);
    propagate_sets(&ks, "t", 200, &value);
    let end = ks.offset();
    let first = ks.backlog_first_offset();
    assert!(
        first > 1 && first + 100_000 <= end + backlog::INDEX_STEP * 2,
        "first {first} end {end}"
    );
    assert_eq!(ks.read_backlog(first - 1, 10), None);
    let tail = ks
        .read_backlog(first, usize::MAX)
        .expect("from the first offset");
    assert_eq!(tail.len() as u64, end - first + 1);
    assert_eq!(
        &tail[..(expected.len() as u64 + 1).saturating_sub(first) as usize],
        &expected[(first - 1) as usize..]
    );
}

/// Commits `count` units that only propagate `SET {prefix}{i} value`
/// (stream without data), one after another.
fn propagate_sets(ks: &Keyspace, prefix: &str, count: u32, value: &Bytes) {
    for i in 0..count {
        let argv = vec![
            Bytes::from_static(b"SET"),
            Bytes::from(format!("{prefix}{i}")),
            value.clone(),
        ];
        ks.propagate_only(&[(0, argv)]).expect("commit");
    }
}

/// Each trim deletes from where the previous one stopped: overlapping
/// range deletions (`[0, front)` every time) cost every memtable flush
/// O(N^2) in tombstone fragments (1 GiB of RSS after 700 MB of SETs).
#[test]
fn backlog_trims_delete_disjoint_ranges() {
    let entry = |start| IndexEntry {
        start,
        len: 10,
        seq: start,
        db: None,
    };
    let mut s = StreamState {
        position: ReplPosition {
            replid: backlog::new_replid(),
            offset: 0,
        },
        previous: None,
        selected: None,
        index: (0..5).map(|i| entry(1 + i * 100)).collect(),
        since_index: 0,
        trimmed_to: 0,
        tail: Tail::default(),
    };
    assert_eq!(s.trim(450, 1000), None, "nothing is old enough");
    let first = s.trim(450, 200).expect("trims");
    assert_eq!(
        first,
        BacklogTrim {
            from: 0,
            to: 201,
            entries: 2
        }
    );
    s.trimmed_to = first.to;
    s.index.drain(..first.entries);
    s.index.push_back(entry(501));
    let second = s.trim(650, 200).expect("trims again");
    assert_eq!(
        second,
        BacklogTrim {
            from: 201,
            to: 401,
            entries: 2
        }
    );
    s.reset(ReplPosition {
        replid: backlog::new_replid(),
        offset: 0,
    });
    assert_eq!(s.trimmed_to, 0, "a new stream trims from the start");
}

/// After many trims the engine holds exactly the index entries the
/// stream still knows (a restart reads them all back).
#[test]
fn trimmed_backlog_index_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let value = Bytes::from(vec![b'v'; 4096]);
    let before = {
        let ks = open(dir.path());
        ks.backlog_size.store(100_000, Ordering::Relaxed);
        propagate_sets(&ks, "k", 2000, &value);
        ks.flush_wal().expect("flush wal");
        let s = ks.stream.lock();
        assert!(s.trimmed_to > 0, "the stream trimmed");
        s.index.iter().map(|e| e.start).collect::<Vec<_>>()
    };
    let ks = open(dir.path());
    let after: Vec<u64> = ks.stream.lock().index.iter().map(|e| e.start).collect();
    assert_eq!(after, before);
}
