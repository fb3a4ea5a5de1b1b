//! Micro-benchmarks of the per-request hot path, piece by piece: RESP
//! request parsing, reply encoding, key/metadata encoding, RocksDB point
//! reads and writes, command table lookup and the metrics observation that
//! dispatch adds to every command. They show where a request's time goes
//! without the network; `docs/benchmarks-micro.md` records a run.
//!
//! Run: `cargo bench --bench hot_path -- --quick` (or `--measurement-time 2`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use strata::cmd::CommandTable;
use strata::engine::rocks::RocksEngine;
use strata::engine::{Batch, Cf, Engine, EngineOptions};
use strata::metrics::CommandLatency;
use strata::resp::{ParseLimits, Reply, RequestParser, RespVersion};
use strata::types::encoding::{expire_index_key, meta_key, subkey, Metadata};
use strata::types::{KeyType, StalePolicy};

/// A RESP multibulk request.
fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn parsing(c: &mut Criterion) {
    let value16 = vec![b'v'; 16];
    let value1k = vec![b'v'; 1024];
    let mset: Vec<Vec<u8>> = (0..10)
        .flat_map(|i| [format!("key:{i:08}").into_bytes(), value16.clone()])
        .collect();
    let mut mset_args: Vec<&[u8]> = vec![b"MSET"];
    mset_args.extend(mset.iter().map(Vec::as_slice));
    let get = request(&[b"GET", b"key:00000001"]);
    let cases: Vec<(&str, Vec<u8>, usize)> = vec![
        ("get", get.clone(), 1),
        ("set_16b", request(&[b"SET", b"key:00000001", &value16]), 1),
        ("set_1kb", request(&[b"SET", b"key:00000001", &value1k]), 1),
        ("mset_10", request(&mset_args), 1),
        ("pipeline_16_get", get.repeat(16), 16),
    ];
    let limits = ParseLimits::default();
    let mut g = c.benchmark_group("parse");
    for (name, raw, requests) in cases {
        g.throughput(Throughput::Bytes(raw.len() as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                || BytesMut::from(&raw[..]),
                |mut buf| {
                    let mut parser = RequestParser::new();
                    let mut n = 0;
                    while let Ok(Some(argv)) = parser.next(&mut buf, &limits) {
                        black_box(&argv);
                        n += 1;
                    }
                    assert_eq!(n, requests);
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn encoding_replies(c: &mut Criterion) {
    let bulk = Reply::Bulk(Bytes::from(vec![b'v'; 16]));
    let integer = Reply::Integer(1_234_567);
    let array = Reply::Array(
        (0..100)
            .map(|i| Reply::Bulk(Bytes::from(format!("member:{i}"))))
            .collect(),
    );
    let map = Reply::Map(
        (0..10)
            .map(|i| {
                (
                    Reply::Bulk(Bytes::from(format!("field:{i}"))),
                    Reply::Bulk(Bytes::from(format!("value:{i}"))),
                )
            })
            .collect(),
    );
    let mut g = c.benchmark_group("reply");
    let mut out = BytesMut::with_capacity(64 * 1024);
    let cases = [
        ("bulk_16b", &bulk, RespVersion::Resp2),
        ("integer", &integer, RespVersion::Resp2),
        ("array_100_bulks", &array, RespVersion::Resp2),
        ("map_10_resp2", &map, RespVersion::Resp2),
        ("map_10_resp3", &map, RespVersion::Resp3),
    ];
    for (name, reply, version) in cases {
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                reply.encode(version, &mut out);
                black_box(out.len())
            })
        });
    }
    g.finish();
}

fn encoding_keys(c: &mut Criterion) {
    let key = b"user:1000:profile";
    let string_meta = Metadata::string(Bytes::from(vec![b'v'; 16]), 0);
    let string_raw = string_meta.encode();
    let hash_meta = Metadata {
        size: 42,
        ..Metadata::collection(KeyType::Hash, 7, 1_900_000_000_000)
    };
    let hash_raw = hash_meta.encode();
    let mut g = c.benchmark_group("encoding");
    g.bench_function("meta_key", |b| b.iter(|| meta_key(black_box(3), key)));
    g.bench_function("subkey", |b| {
        b.iter(|| subkey(black_box(3), key, 7, b"field"))
    });
    g.bench_function("expire_index_key", |b| {
        b.iter(|| expire_index_key(black_box(3), 1_900_000_000_000, key))
    });
    g.bench_function("metadata_encode_string_16b", |b| {
        b.iter(|| black_box(&string_meta).encode())
    });
    g.bench_function("metadata_decode_string_16b", |b| {
        b.iter(|| Metadata::decode(black_box(&string_raw)).is_ok())
    });
    g.bench_function("metadata_decode_hash", |b| {
        b.iter(|| Metadata::decode(black_box(&hash_raw)).is_ok())
    });
    g.finish();
}

fn engine(c: &mut Criterion) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("skipping engine benchmarks: no temp dir: {e}");
            return;
        }
    };
    let db = match RocksEngine::open(
        &dir.path().join("db"),
        &EngineOptions::default(),
        Arc::new(StalePolicy),
    ) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("skipping engine benchmarks: can't open RocksDB: {e}");
            return;
        }
    };
    const KEYS: u64 = 10_000;
    let key_of = |i: u64| meta_key(0, format!("key:{i:08}").as_bytes());
    let value = Metadata::string(Bytes::from(vec![b'v'; 100]), 0).encode();
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(1000) {
        let mut batch = Batch::new();
        for &i in chunk {
            batch.put(Cf::Meta, key_of(i), value.clone());
        }
        if let Err(e) = db.write(&batch) {
            eprintln!("skipping engine benchmarks: load failed: {e}");
            return;
        }
    }
    // Reads come from SST files through the block cache, as in steady state.
    if let Err(e) = db.flush() {
        eprintln!("flush failed, reads will hit the memtable: {e}");
    }
    let keys: Vec<Vec<u8>> = (0..KEYS).map(key_of).collect();
    let mut g = c.benchmark_group("engine");
    let mut i = 0usize;
    g.bench_function("get_hit_100b", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            black_box(db.get(Cf::Meta, &keys[i]).ok().flatten().is_some())
        })
    });
    let missing = meta_key(0, b"no-such-key");
    g.bench_function("get_miss", |b| {
        b.iter(|| black_box(db.get(Cf::Meta, &missing).ok().flatten().is_none()))
    });
    let mut n = KEYS;
    g.bench_function("put_100b_wal_no_fsync", |b| {
        b.iter(|| {
            n += 1;
            let mut batch = Batch::new();
            batch.put(Cf::Meta, key_of(n % (4 * KEYS)), value.clone());
            black_box(db.write(&batch).is_ok())
        })
    });
    g.finish();
}

fn dispatch(c: &mut Criterion) {
    let table = CommandTable::default();
    let mut g = c.benchmark_group("dispatch");
    let cases: [(&str, Vec<Bytes>); 4] = [
        (
            "lookup_get_upper",
            vec![Bytes::from_static(b"GET"), Bytes::from_static(b"k")],
        ),
        (
            "lookup_set_lower",
            vec![
                Bytes::from_static(b"set"),
                Bytes::from_static(b"k"),
                Bytes::from_static(b"v"),
            ],
        ),
        (
            "lookup_incrbyfloat",
            vec![Bytes::from_static(b"IncrByFloat"), Bytes::from_static(b"k")],
        ),
        ("lookup_unknown", vec![Bytes::from_static(b"nosuchcommand")]),
    ];
    for (name, argv) in cases {
        g.bench_function(name, |b| b.iter(|| table.lookup(black_box(&argv)).is_ok()));
    }
    let latency = CommandLatency::new(&table);
    let get_id = table.get(b"get").map(|s| table.id_of(s)).unwrap_or(0);
    g.bench_function("metrics_observe_latency", |b| {
        b.iter(|| latency.observe(black_box(get_id), Duration::from_micros(37)))
    });
    g.finish();
}

criterion_group!(
    benches,
    parsing,
    encoding_replies,
    encoding_keys,
    engine,
    dispatch
);
criterion_main!(benches);
