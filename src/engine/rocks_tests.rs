//! Tests of the RocksDB backend beyond the engine conformance suite: log
//! bounds and archive, filter partitions, reads that leave the worker.

use super::*;

use crate::engine::conformance::KeepAll;
use crate::engine::RocksOptions;

fn small() -> EngineOptions {
    EngineOptions::small()
}

/// The sizes of the files in `dir` whose names end in `.ext`.
fn file_sizes<'a>(dir: &Path, ext: &'a str) -> impl Iterator<Item = u64> + 'a {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter(move |e| e.path().extension().is_some_and(|x| x == ext))
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
}

fn wal_bytes(dir: &Path) -> u64 {
    file_sizes(dir, "log").sum()
}

/// On a worker, reads the block cache cannot answer move off it when
/// the policy says so, and every read still returns what was written:
/// cold keys from the files, fresh ones from the memtable, absent ones.
#[test]
fn offloaded_reads_return_what_was_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = |i: u32| format!("key:{i:05}").into_bytes();
    let value = |i: u32| vec![(i % 251) as u8; 4096];
    {
        let e = RocksEngine::open(dir.path(), &small(), Arc::new(KeepAll)).expect("open");
        for i in 0..2000u32 {
            let mut b = Batch::new();
            b.put(Cf::Meta, key(i), value(i));
            e.write(&b).expect("write");
        }
        e.flush().expect("flush");
    }
    for policy in [OffloadPolicy::Always, OffloadPolicy::Never] {
        // Reopened: the block cache is empty, the data is in files.
        let e = Arc::new(RocksEngine::open(dir.path(), &small(), Arc::new(KeepAll)).expect("open"));
        e.set_read_offload(policy);
        let mut b = Batch::new();
        b.put(Cf::Meta, b"fresh".to_vec(), b"in the memtable".to_vec());
        e.write(&b).expect("write");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .expect("runtime");
        let on_worker = e.clone();
        let seek_offloaded = rt.block_on(async move {
            tokio::spawn(async move {
                let e = on_worker;
                for i in (0..2000u32).step_by(97) {
                    assert_eq!(e.get(Cf::Meta, &key(i)).expect("get"), Some(value(i)));
                }
                let keys = [key(5), b"fresh".to_vec(), b"absent".to_vec(), key(1999)];
                let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
                let got = e.multi_get(Cf::Meta, &refs).expect("multi_get");
                assert_eq!(
                    got,
                    vec![
                        Some(value(5)),
                        Some(b"in the memtable".to_vec()),
                        None,
                        Some(value(1999)),
                    ]
                );
                // A range read of cold keys: its seeks may leave the
                // worker, its steps do not, and it sees every key.
                let before = e.stats().rocksdb.expect("rocksdb stats").reads_offloaded;
                let mut it = e.iter(Cf::Meta, Some(&key(1000)), Some(&key(1100)));
                it.seek(&key(1000));
                let mut seen = 0u32;
                while it.valid() {
                    assert_eq!(it.key(), key(1000 + seen));
                    assert_eq!(it.value(), value(1000 + seen));
                    seen += 1;
                    it.next();
                }
                it.status().expect("iterator status");
                assert_eq!(seen, 100);
                it.seek_for_prev(&key(1500));
                assert_eq!(it.key(), key(1099), "bounded by the upper key");
                drop(it);
                let after = e.stats().rocksdb.expect("rocksdb stats").reads_offloaded;
                after > before
            })
            .await
            .expect("reads on the worker")
        });
        let offloaded = e.stats().rocksdb.expect("rocksdb stats").reads_offloaded;
        match policy {
            OffloadPolicy::Never => {
                assert_eq!(offloaded, 0);
                assert!(!seek_offloaded);
            }
            _ => {
                assert!(offloaded > 0, "no read left the worker");
                assert!(seek_offloaded, "the cold seek ran on the worker");
            }
        }
    }
}

/// Writes that touch a rarely-written family (as every command touches
/// `state`) must not pin old WAL files forever.
#[test]
fn wal_stays_bounded_when_a_family_is_written_rarely() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = RocksEngine::open(dir.path(), &small(), Arc::new(KeepAll)).expect("open");
    let value = vec![7u8; 4096];
    for i in 0..8000u32 {
        let mut b = Batch::new();
        b.put(Cf::Meta, i.to_be_bytes().to_vec(), value.clone());
        b.put(Cf::State, b"counter".to_vec(), i.to_be_bytes().to_vec());
        e.write(&b).expect("write");
    }
    // 32 MB written with a 1 MB write buffer: the WAL must stay near
    // max_total_wal_size (the 4 MB memtable budget), not grow with the data.
    let wal = wal_bytes(dir.path());
    assert!(wal < 12 << 20, "WAL files hold {wal} bytes");
}

/// The log archive is held to its limit within seconds, not RocksDB's
/// ten minutes, and what stays is still read back in order.
#[test]
fn archived_logs_are_trimmed_to_the_retention_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = RocksEngine::open(dir.path(), &small(), Arc::new(KeepAll)).expect("open");
    // The floor of the limit (the small options ask for less).
    let limit = 64u64 << 20;
    let record = bytes::Bytes::from(vec![3u8; 1 << 20]);
    for i in 0..96u32 {
        let mut b = Batch::new();
        b.put(Cf::Meta, i.to_be_bytes().to_vec(), b"v".to_vec());
        b.log_data(record.clone());
        e.write(&b).expect("write");
        // Each flush retires the current log file into the archive.
        e.flush().expect("flush");
    }
    let archive = dir.path().join("archive");
    let mut size = wal_bytes(&archive);
    for _ in 0..50 {
        if size <= limit {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        size = wal_bytes(&archive);
    }
    assert!(size <= limit, "archive holds {size} bytes");
    assert!(size >= limit / 2, "archive trimmed too far: {size} bytes");
    // The oldest records are gone (RocksDB starts at the oldest file it
    // still has); the newest are still read back.
    let mut first = None;
    e.read_log(0, &mut |seq, _| {
        first = Some(seq);
        false
    })
    .expect("read log");
    assert!(
        first.is_some_and(|s| s > 20),
        "oldest record left: {first:?}"
    );
    let mut seen = 0;
    let all = e
        .read_log(e.last_seq() - 20, &mut |_, data| {
            seen += usize::from(data.len() == 1 << 20);
            true
        })
        .expect("read log");
    assert!(all && seen >= 9, "read back {seen} records");
    drop(e);
    let e = RocksEngine::open(dir.path(), &small(), Arc::new(KeepAll)).expect("reopen");
    assert_eq!(
        e.get(Cf::Meta, &95u32.to_be_bytes()).expect("get"),
        Some(b"v".to_vec())
    );
}

/// Point reads in a file too big for one cache shard's whole filter must
/// still find their filter in the cache: before partitioned filters,
/// every read of such a file missed the filter block (and re-read it).
#[test]
fn point_reads_of_a_big_file_hit_cached_filter_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = RocksEngine::open(dir.path(), &small(), Arc::new(KeepAll)).expect("open");
    let key = |i: u32| format!("member:{i:010}").into_bytes();
    const KEYS: u32 = 800_000;
    // Scattered order, so flushed files overlap and compaction merges
    // them into one file (sorted input would just be moved down).
    let scatter = |n: u32| (n as u64 * 2_654_435_761 % KEYS as u64) as u32;
    for chunk in 0..KEYS / 1000 {
        let mut b = Batch::new();
        for n in chunk * 1000..(chunk + 1) * 1000 {
            b.put(Cf::Data, key(scatter(n)), Vec::new());
        }
        e.write(&b).expect("write");
    }
    e.flush().expect("flush");
    // One bottom-level file holding every key: its whole filter (~1 MB
    // at 10 bits per key) is bigger than a shard of the 8 MB cache.
    e.compact_range(Cf::Data, None, None);
    let misses = || e.opts.get_ticker_count(Ticker::BlockCacheFilterMiss);
    let before = misses();
    const READS: u32 = 2000;
    for n in 0..READS {
        let i = scatter(n.wrapping_mul(7919));
        assert!(e.get(Cf::Data, &key(i)).expect("get").is_some());
    }
    let missed = misses() - before;
    assert!(
        missed < (READS / 2) as u64,
        "{missed} filter-block cache misses in {READS} point reads"
    );
}

/// With `min_write_buffer_number_to_merge` above one, full memtables stay
/// in memory (readable) until that many wait, then one flush writes them
/// as one file: the memtable being written stays small while level-0 files
/// stay as large as the merged memtables.
#[test]
fn full_memtables_wait_and_flush_as_one_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut options = small();
    options.rocksdb = RocksOptions {
        max_write_buffer_number: 8,
        min_write_buffer_number_to_merge: 3,
    };
    // Eight 512 KiB memtables; flushes merge three.
    options.memtable_budget = 4 << 20;
    let e = RocksEngine::open(dir.path(), &options, Arc::new(KeepAll)).expect("open");
    // Values that do not compress, so file sizes count memtables.
    let value = |i: u32| -> Vec<u8> {
        let mut x = i as u64 | 1;
        (0..1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let key = |i: u32| format!("key:{:08}", (i as u64 * 2_654_435_761 % 100_000)).into_bytes();
    let property = |name: &str| {
        e.db.property_int_value_cf(e.cf(Cf::Meta), name)
            .expect("property")
            .unwrap_or(0)
    };
    let l0_files = || property("rocksdb.num-files-at-level0");
    let immutables = || property("rocksdb.num-immutable-mem-table");
    let mut written = 0u32;
    // ~1.2 MB: at least two full memtables, fewer than three.
    while immutables() < 2 && written < 2000 {
        let mut b = Batch::new();
        b.put(Cf::Meta, key(written), value(written));
        e.write(&b).expect("write");
        written += 1;
    }
    assert_eq!(immutables(), 2, "two full memtables after {written} writes");
    assert_eq!(l0_files(), 0, "nothing flushed with two memtables waiting");
    assert_eq!(e.get(Cf::Meta, &key(0)).expect("get"), Some(value(0)));
    // The third full memtable starts the flush of all three.
    while l0_files() == 0 && written < 6000 {
        let mut b = Batch::new();
        b.put(Cf::Meta, key(written), value(written));
        e.write(&b).expect("write");
        written += 1;
        if immutables() >= 3 {
            break;
        }
    }
    for _ in 0..200 {
        if l0_files() > 0 && immutables() == 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        (l0_files(), immutables()),
        (1, 0),
        "one file from three memtables"
    );
    let sst = file_sizes(dir.path(), "sst").max().unwrap_or(0);
    assert!(
        sst > 1 << 20,
        "the merged file holds {sst} bytes, more than two memtables' worth"
    );
}
