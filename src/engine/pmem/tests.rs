//! Tests of the pmem engine beyond the conformance suite (which every
//! engine runs): recovery from torn, garbled and damaged files, the
//! capacity limit, and segment cleaning.

use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;

use super::format::{
    commit_count, decode_record, encode_record, Kind, Scanned, Superblock, SEGMENT_HEADER,
};
use super::recovery::segment_start;
use super::{PmemEngine, FILE_NAME};
use crate::engine::conformance::KeepAll;
use crate::engine::{Batch, Cf, Engine, EngineError, EngineOptions, PmemOptions};

fn options(size: u64) -> EngineOptions {
    EngineOptions {
        pmem: PmemOptions { path: None, size },
        ..EngineOptions::small()
    }
}

fn open(dir: &Path, size: u64) -> Result<PmemEngine, EngineError> {
    PmemEngine::open(dir, &options(size), Arc::new(KeepAll))
}

fn put(e: &dyn Engine, key: &str, value: &[u8]) -> Result<(), EngineError> {
    let mut b = Batch::new();
    b.put(Cf::Meta, key.as_bytes().to_vec(), value.to_vec());
    b.put(Cf::Data, key.as_bytes().to_vec(), value.to_vec());
    e.write(&b)
}

fn get(e: &dyn Engine, key: &str) -> Option<Vec<u8>> {
    e.get(Cf::Meta, key.as_bytes()).expect("get")
}

/// The file's bytes, its geometry, and every record of segment `n` as
/// `(offset in file, kind, len)`.
struct File {
    bytes: Vec<u8>,
    sb: Superblock,
}

impl File {
    fn read(dir: &Path) -> File {
        let bytes = std::fs::read(dir.join(FILE_NAME)).expect("read file");
        let sb = Superblock::decode(&bytes)
            .expect("superblock")
            .expect("set");
        File { bytes, sb }
    }

    fn generation(&self, n: usize) -> u64 {
        let at = segment_start(&self.sb, n) as usize;
        u64::from_le_bytes(self.bytes[at + 16..at + 24].try_into().expect("8 bytes"))
    }

    fn records(&self, n: usize) -> Vec<(u64, Kind, usize)> {
        let start = segment_start(&self.sb, n) as usize;
        let seg = &self.bytes[start..start + self.sb.segment_size as usize];
        let mut at = SEGMENT_HEADER as usize;
        let mut out = Vec::new();
        while let Scanned::Record(r) = decode_record(seg, at, self.generation(n)) {
            out.push(((start + at) as u64, r.kind, r.len));
            at += r.len;
        }
        out
    }

    fn write_at(dir: &Path, off: u64, bytes: &[u8]) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join(FILE_NAME))
            .expect("open file");
        f.write_all_at(bytes, off).expect("write");
        f.sync_all().expect("sync");
    }
}

fn write_numbered(e: &dyn Engine, n: u32) {
    for i in 0..n {
        put(e, &format!("k{i:04}"), format!("value {i}").as_bytes()).expect("write");
    }
}

#[test]
fn a_torn_tail_recovers_to_the_last_valid_record_and_writes_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_numbered(&open(dir.path(), 16 << 20).expect("open"), 50);
    let f = File::read(dir.path());
    // The last batch: put, put, commit. Tear its second put mid-record.
    let recs = f.records(0);
    let (off, kind, _) = recs[recs.len() - 2];
    assert_eq!(kind, Kind::Put);
    File::write_at(dir.path(), off + 20, &[0xAB; 7]);
    let e = open(dir.path(), 16 << 20).expect("reopen after a torn write");
    assert_eq!(get(&e, "k0048"), Some(b"value 48".to_vec()));
    assert_eq!(get(&e, "k0049"), None, "the torn batch is gone");
    assert_eq!(
        e.get(Cf::Data, b"k0049").expect("get"),
        None,
        "and gone whole: its intact first record is not applied"
    );
    put(&e, "after", b"crash").expect("write after recovery");
    drop(e);
    let e = open(dir.path(), 16 << 20).expect("reopen");
    assert_eq!(get(&e, "after"), Some(b"crash".to_vec()));
    assert_eq!(get(&e, "k0000"), Some(b"value 0".to_vec()));
}

#[test]
fn garbage_after_the_last_record_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_numbered(&open(dir.path(), 16 << 20).expect("open"), 20);
    let f = File::read(dir.path());
    let (off, _, len) = *f.records(0).last().expect("records");
    // A half-written next batch: a plausible length, then noise.
    let mut junk = vec![0u8; 200];
    junk[8..12].copy_from_slice(&96u32.to_le_bytes());
    for (i, b) in junk.iter_mut().enumerate().skip(12) {
        *b = (i * 37) as u8;
    }
    File::write_at(dir.path(), off + len as u64, &junk);
    let e = open(dir.path(), 16 << 20).expect("reopen");
    let mut it = e.iter(Cf::Meta, None, None);
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    assert_eq!(n, 20);
}

#[test]
fn a_damaged_segment_header_stops_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_numbered(&open(dir.path(), 16 << 20).expect("open"), 5);
    let f = File::read(dir.path());
    File::write_at(dir.path(), segment_start(&f.sb, 0) + 18, &[0xFF]);
    let err = open(dir.path(), 16 << 20).err().expect("refused");
    let text = err.to_string();
    assert!(text.contains("segment 0: damaged header"), "{text}");
}

#[test]
fn a_commit_record_covering_missing_records_stops_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    write_numbered(&open(dir.path(), 16 << 20).expect("open"), 5);
    let f = File::read(dir.path());
    let recs = f.records(0);
    // The second batch's commit record, rewritten (valid checksum) to claim
    // three records where two precede it.
    let (off, kind, len) = recs[5];
    assert_eq!(kind, Kind::Commit);
    let start = off as usize;
    let Scanned::Record(r) = decode_record(&f.bytes[start..start + len], 0, f.generation(0)) else {
        panic!("commit record");
    };
    assert_eq!(commit_count(r.value(&f.bytes[start..], 0)), Some(2));
    let mut forged = Vec::new();
    let value = super::format::commit_value(3);
    encode_record(
        &mut forged,
        f.generation(0),
        Kind::Commit,
        0,
        0,
        r.seq,
        &[],
        &value,
    );
    File::write_at(dir.path(), off, &forged);
    let text = open(dir.path(), 16 << 20)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        text.contains("commit record of batch 2 covers 3 records, but 2 precede it"),
        "{text}"
    );
}

#[test]
fn a_bad_record_in_an_older_segment_stops_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let e = open(dir.path(), 16 << 20).expect("open");
        // 1 MiB segments: 40 batches of ~66 KiB fill more than two.
        for i in 0..40u32 {
            put(&e, &format!("big{i}"), &vec![b'x'; 32 << 10]).expect("write");
        }
    }
    let f = File::read(dir.path());
    let oldest = (0..f.sb.segment_count as usize)
        .filter(|&n| f.generation(n) != 0)
        .min_by_key(|&n| f.generation(n))
        .expect("a segment");
    let (off, _, _) = f.records(oldest)[3];
    File::write_at(dir.path(), off + 40, b"bit rot");
    let text = open(dir.path(), 16 << 20)
        .err()
        .expect("refused")
        .to_string();
    assert!(text.contains("damaged at offset"), "{text}");
    assert!(text.contains("checksum mismatch"), "{text}");
}

#[test]
fn a_full_tier_refuses_writes_serves_reads_and_recovers_after_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path(), 16 << 20).expect("open");
    let value = vec![b'v'; 40 << 10];
    let mut written = 0u32;
    let err = loop {
        match put(&e, &format!("fill{written}"), &value) {
            Ok(()) => written += 1,
            Err(err) => break err,
        }
        assert!(written < 10_000, "never full");
    };
    assert!(matches!(err, EngineError::Full));
    assert_eq!(
        err.to_string(),
        "OOM command not allowed when used memory > 'pmem-size'."
    );
    assert!(written > 100, "only {written} writes fitted");
    assert_eq!(get(&e, "fill0"), Some(value.clone()), "reads still work");
    let stats = e.stats().pmem.expect("pmem stats");
    assert!(
        stats.full_errors >= 1 && stats.live_bytes > 12 << 20,
        "{stats:?}"
    );
    // DEL still goes through, and the cleaner gives the space back.
    for i in 0..written / 2 {
        let mut b = Batch::new();
        b.delete(Cf::Meta, format!("fill{i}").into_bytes());
        b.delete(Cf::Data, format!("fill{i}").into_bytes());
        e.write(&b).expect("delete on a full tier");
    }
    // 4 MiB more than the tier had left: it fits only once cleaning gave
    // the deleted records' space back.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for i in 0..50 {
        while put(&e, &format!("again{i}"), &value).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "space never came back"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    assert!(e.stats().pmem.expect("stats").cleaned_segments > 0);
    drop(e);
    let e = open(dir.path(), 16 << 20).expect("reopen");
    assert_eq!(get(&e, "again49"), Some(value.clone()));
    assert_eq!(get(&e, &format!("fill{}", written - 1)), Some(value));
    assert_eq!(get(&e, "fill0"), None);
}

#[test]
fn overwriting_far_past_capacity_never_fills_the_tier_and_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path(), 16 << 20).expect("open");
    // 64 MiB written into a 16 MiB tier: the background cleaner keeps up.
    let mut refused = 0;
    for round in 0..256u32 {
        for k in 0..16u32 {
            let v = format!("{round}:{k}:").repeat(1000);
            while put(&e, &format!("key{k}"), v.as_bytes()).is_err() {
                refused += 1;
                assert!(refused < 2000, "the cleaner did not keep up");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
    let stats = e.stats().pmem.expect("stats");
    assert!(stats.cleaned_segments > 10, "{stats:?}");
    drop(e);
    let e = open(dir.path(), 16 << 20).expect("reopen");
    for k in 0..16u32 {
        let want = format!("255:{k}:").repeat(1000).into_bytes();
        assert_eq!(get(&e, &format!("key{k}")), Some(want.clone()));
        assert_eq!(
            e.get(Cf::Data, format!("key{k}").as_bytes()).expect("get"),
            Some(want)
        );
    }
    assert_eq!(e.stats().estimated_keys, 32);
}

#[test]
fn deleted_keys_stay_deleted_after_cleaning_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let e = open(dir.path(), 16 << 20).expect("open");
        write_numbered(&e, 100);
        let mut b = Batch::new();
        b.delete_range(Cf::Meta, b"k0010".to_vec(), b"k0020".to_vec());
        b.delete(Cf::Meta, b"k0050".to_vec());
        e.write(&b).expect("delete");
        // Cleaning copies the live records; the tombstones are not copied.
        e.compact_range(Cf::Meta, None, None);
        put(&e, "k0015", b"back").expect("write");
        e.compact_range(Cf::Meta, None, None);
    }
    let e = open(dir.path(), 16 << 20).expect("reopen");
    assert_eq!(get(&e, "k0012"), None);
    assert_eq!(get(&e, "k0050"), None);
    assert_eq!(get(&e, "k0015"), Some(b"back".to_vec()));
    assert_eq!(get(&e, "k0099"), Some(b"value 99".to_vec()));
    assert_eq!(get(&e, "k0009"), Some(b"value 9".to_vec()));
    let stats = e.stats().pmem.expect("stats");
    // meta: 100 - 10 (range) - 1 + 1 (k0015 again); data: all 100.
    assert_eq!(stats.rebuild_keys, 90 + 100);
}

#[test]
fn a_record_larger_than_a_segment_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = open(dir.path(), 16 << 20).expect("open");
    let err = put(&e, "huge", &vec![0u8; 2 << 20]).expect_err("refused");
    assert!(matches!(err, EngineError::BatchTooLarge { .. }), "{err}");
    assert_eq!(get(&e, "huge"), None);
    put(&e, "small", b"ok").expect("later writes work");
}

/// A batch of 3 MiB in 1 MiB segments.
fn big_batch(tag: &str) -> Batch {
    let mut b = Batch::new();
    for i in 0..48u32 {
        b.put(
            Cf::Data,
            format!("{tag}{i:03}").into_bytes(),
            vec![i as u8; 64 << 10],
        );
    }
    b.put(Cf::Meta, tag.as_bytes().to_vec(), b"whole".to_vec());
    b
}

#[test]
fn a_batch_larger_than_a_segment_spans_segments_and_survives_cleaning_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let e = open(dir.path(), 16 << 20).expect("open");
        put(&e, "before", b"x").expect("write");
        e.write(&big_batch("big")).expect("a 3 MiB batch");
        put(&e, "after", b"y").expect("write");
        // Overwrite half of it, then clean: the batch's first segments go,
        // its commit record's segment stays.
        let mut b = Batch::new();
        for i in 0..24u32 {
            b.put(Cf::Data, format!("big{i:03}").into_bytes(), b"new".to_vec());
        }
        e.write(&b).expect("overwrite");
        e.compact_range(Cf::Data, None, None);
    }
    let e = open(dir.path(), 16 << 20).expect("reopen");
    assert_eq!(get(&e, "big"), Some(b"whole".to_vec()));
    assert_eq!(
        e.get(Cf::Data, b"big000").expect("get"),
        Some(b"new".to_vec())
    );
    assert_eq!(
        e.get(Cf::Data, b"big047").expect("get"),
        Some(vec![47u8; 64 << 10])
    );
    assert_eq!(get(&e, "after"), Some(b"y".to_vec()));
}

#[test]
fn a_torn_batch_spanning_segments_is_dropped_whole_and_the_store_stays_usable() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let e = open(dir.path(), 16 << 20).expect("open");
        put(&e, "before", b"x").expect("write");
        e.write(&big_batch("big")).expect("a 3 MiB batch");
    }
    // Tear the batch's commit record (the last record written).
    let f = File::read(dir.path());
    let newest = (0..f.sb.segment_count as usize)
        .max_by_key(|&n| f.generation(n))
        .expect("a segment");
    let (off, kind, _) = *f.records(newest).last().expect("records");
    assert_eq!(kind, Kind::Commit);
    File::write_at(dir.path(), off + 30, &[0x55; 4]);
    {
        let e = open(dir.path(), 16 << 20).expect("reopen after the tear");
        assert_eq!(get(&e, "before"), Some(b"x".to_vec()));
        assert_eq!(get(&e, "big"), None);
        assert_eq!(
            e.get(Cf::Data, b"big000").expect("get"),
            None,
            "no part survives"
        );
        put(&e, "later", b"z").expect("write");
    }
    // A second start must not find the torn batch's older part open.
    let e = open(dir.path(), 16 << 20).expect("second reopen");
    assert_eq!(get(&e, "later"), Some(b"z".to_vec()));
    assert_eq!(e.get(Cf::Data, b"big000").expect("get"), None);
}

#[test]
fn a_second_process_cannot_open_the_same_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _e = open(dir.path(), 16 << 20).expect("open");
    let err = open(dir.path(), 16 << 20).err().expect("refused");
    assert!(
        err.to_string().contains("in use by another process"),
        "{err}"
    );
}
