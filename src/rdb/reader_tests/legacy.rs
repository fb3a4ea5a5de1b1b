//! Hand-built RDBs: encodings Redis 7.0 still loads but no longer writes
//! (ziplist, zipmap, quicklist v1, zset type 3, stream type 15, old file
//! versions), the 7.2+ types, and the error paths.

use bytes::Bytes;

use super::super::*;
use super::build::{dump, raw_id, Rdb};
use super::fixtures::{read, render, Canon};
use crate::rdb::decode::listpack::build::{listpack, E};
use crate::rdb::decode::ziplist::build::{ziplist, Z};
use crate::rdb::decode::zipmap;
use crate::rdb::stream::StreamId;

fn lines(c: &Canon) -> Vec<String> {
    c.text().lines().map(str::to_string).collect()
}

fn hex(s: &str) -> String {
    format!(
        "x{}",
        s.bytes().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn body(t: u8, f: impl FnOnce(&mut Rdb)) -> Vec<u8> {
    let mut r = Rdb::new(0);
    r.buf.clear();
    r.byte(t);
    f(&mut r);
    r.buf
}

fn decode(t: u8, f: impl FnOnce(&mut Rdb)) -> Result<(KeyKind, DecodedValue), RdbError> {
    read_dump_payload(&dump(&body(t, f), 9))
}

#[test]
fn version_6_plain_and_ziplist_types() {
    let mut r = Rdb::new(6);
    r.byte(opcode::SELECTDB).len(0);
    // Legacy 4-byte seconds expiry.
    r.byte(opcode::EXPIRETIME)
        .raw(&2_000_000_000i32.to_le_bytes());
    r.key(kind::STRING, "s").raw(&[0xC1, 0x39, 0x30]); // INT16 12345
    r.key(kind::LIST, "l").len(2).str(b"a").raw(&[0xC0, 0xF6]); // "a", INT8 -10
    r.key(kind::ZSET, "z").len(3);
    r.str(b"m")
        .byte(3)
        .raw(b"1.5")
        .str(b"p")
        .byte(254)
        .str(b"n")
        .byte(255);
    r.key(kind::HASH, "h").len(1).str(b"f").str(b"v");
    r.key(kind::LIST_ZIPLIST, "zl")
        .str(&ziplist(&[Z::S(b"x"), Z::I(7), Z::I(-70000)]));
    r.key(kind::ZSET_ZIPLIST, "zz")
        .str(&ziplist(&[Z::S(b"a"), Z::I(2), Z::S(b"b"), Z::S(b"2.5")]));
    r.key(kind::HASH_ZIPLIST, "zh")
        .str(&ziplist(&[Z::S(b"k"), Z::I(300)]));
    r.key(kind::HASH_ZIPMAP, "zm")
        .str(&zipmap::build(&[(b"f1", b"v1"), (b"f2", b"")], 1));
    r.key(kind::LIST_QUICKLIST, "ql").len(3);
    r.str(&ziplist(&[Z::S(b"n1")]))
        .str(&ziplist(&[]))
        .str(&ziplist(&[Z::I(2), Z::I(3)]));
    // LZF: literal "abc", then a 7-byte back-reference: "abcabcabca".
    r.key(kind::STRING, "lzf")
        .raw(&[0xC3, 6, 10, 2, b'a', b'b', b'c', 5 << 5, 2]);
    let (sum, c) = read(&r.finish(true), Limits::default()).unwrap();
    assert_eq!(sum.version, 6);
    assert_eq!(sum.keys, 10);
    let got = lines(&c);
    let key = |k: &str, t: &str| format!("key {} {t} expire none", hex(k));
    let want = vec![
        "db 0".to_string(),
        key("h", "hash"),
        format!("hash {} {}", hex("f"), hex("v")),
        key("l", "list"),
        format!("list {}", hex("a")),
        format!("list {}", hex("-10")),
        key("lzf", "string"),
        format!("string {}", hex("abcabcabca")),
        key("ql", "list"),
        format!("list {}", hex("n1")),
        format!("list {}", hex("2")),
        format!("list {}", hex("3")),
        format!("key {} string expire 2000000000000", hex("s")),
        format!("string {}", hex("12345")),
        key("z", "zset"),
        format!("zset {} {:016x}", hex("n"), f64::NEG_INFINITY.to_bits()),
        format!("zset {} {:016x}", hex("m"), 1.5f64.to_bits()),
        format!("zset {} {:016x}", hex("p"), f64::INFINITY.to_bits()),
        key("zh", "hash"),
        format!("hash {} {}", hex("k"), hex("300")),
        key("zl", "list"),
        format!("list {}", hex("x")),
        format!("list {}", hex("7")),
        format!("list {}", hex("-70000")),
        key("zm", "hash"),
        format!("hash {} {}", hex("f1"), hex("v1")),
        format!("hash {} {}", hex("f2"), hex("")),
        key("zz", "zset"),
        format!("zset {} {:016x}", hex("a"), 2f64.to_bits()),
        format!("zset {} {:016x}", hex("b"), 2.5f64.to_bits()),
    ];
    assert_eq!(got, want);
}

#[test]
fn version_3_has_no_checksum_and_reads_nothing_after_eof() {
    let mut r = Rdb::new(3);
    r.key(kind::STRING, "k").str(b"v");
    let mut file = r.finish(true);
    file.extend_from_slice(b"+replication stream continues");
    let mut cursor = std::io::Cursor::new(&file[..]);
    let sum = RdbReader::new(&mut cursor, Limits::default())
        .read_all(&mut Canon::default())
        .unwrap();
    assert_eq!(sum.checksum, None);
    assert_eq!(cursor.position(), sum.bytes_read);
    assert_eq!(
        &file[sum.bytes_read as usize..],
        b"+replication stream continues"
    );
}

#[test]
fn header_and_checksum_errors() {
    for v in [0u16, 13, 99] {
        let e = read(&Rdb::new(v).finish(true), Limits::default())
            .err()
            .unwrap();
        assert_eq!(
            e.to_string(),
            format!("Can't handle RDB format version {v}")
        );
    }
    assert!(matches!(
        read(b"RADIS0010\xff", Limits::default()),
        Err(RdbError::BadSignature)
    ));
    let mut r = Rdb::new(10);
    r.key(kind::STRING, "k").str(b"v");
    let mut good = r.finish(true);
    assert!(read(&good, Limits::default()).is_ok());
    let n = good.len();
    good[n - 1] ^= 1;
    assert!(matches!(
        read(&good, Limits::default()),
        Err(RdbError::ChecksumMismatch { .. })
    ));
    // A zero checksum means "not computed": accepted.
    let (sum, _) = read(&r.finish(false), Limits::default()).unwrap();
    assert_eq!(sum.checksum, None);
    assert!(matches!(
        read(&good[..n - 3], Limits::default()),
        Err(RdbError::Truncated { .. })
    ));
}

#[test]
fn seven_two_and_seven_four_types() {
    let mut r = Rdb::new(12);
    r.byte(0xF4).len(5).len(10).len(2); // SLOT_INFO
    r.key(kind::SET_LISTPACK, "sl")
        .str(&listpack(&[E::S(b"a"), E::I(-3)]));
    r.key(kind::STREAM_LISTPACKS_3, "st");
    stream_value(&mut r, kind::STREAM_LISTPACKS_3);
    let (sum, c) = read(&r.finish(true), Limits::default()).unwrap();
    assert_eq!(sum.keys, 2);
    let t = c.text();
    assert!(t.contains(&format!("set {}", hex("-3"))));
    assert!(
        t.contains("stream length 2 last 2-1 first 1-1 maxdel 1-2 added 3"),
        "{t}"
    );
    assert!(t.contains("group x67 last 2-1 read 3"), "{t}");
}

/// Writes a stream value: master 1-1 node with entries 1-1 (same fields),
/// 1-2 (deleted), 2-1 (own fields); one group with one consumer.
fn stream_value(r: &mut Rdb, t: u8) {
    let lp = listpack(&[
        E::I(2),
        E::I(1),
        E::I(2),
        E::S(b"a"),
        E::S(b"b"),
        E::I(0),
        E::I(2),
        E::I(0),
        E::I(0),
        E::I(1),
        E::S(b"2"),
        E::I(5),
        E::I(3),
        E::I(0),
        E::I(1),
        E::S(b"3"),
        E::S(b"4"),
        E::I(5),
        E::I(0),
        E::I(1),
        E::I(0),
        E::I(1),
        E::S(b"c"),
        E::I(5),
        E::I(6),
    ]);
    r.len(1).str(&raw_id(1, 1)).str(&lp);
    r.len(2).len(2).len(1); // length, last id
    if t >= kind::STREAM_LISTPACKS_2 {
        r.len(1).len(1).len(1).len(2).len(3); // first id, max deleted, entries added
    }
    r.len(1).str(b"g").len(2).len(1);
    if t >= kind::STREAM_LISTPACKS_2 {
        r.len(3);
    }
    r.len(1)
        .raw(&raw_id(1, 1))
        .raw(&1234i64.to_le_bytes())
        .len(4);
    r.len(1).str(b"c1").raw(&999i64.to_le_bytes());
    if t >= kind::STREAM_LISTPACKS_3 {
        r.raw(&888i64.to_le_bytes());
    }
    r.len(1).raw(&raw_id(1, 1));
}

#[test]
fn stream_type_15_is_parsed_completely() {
    let (kind, v) = decode(kind::STREAM_LISTPACKS, |r| {
        stream_value(r, kind::STREAM_LISTPACKS)
    })
    .unwrap();
    assert_eq!(kind, KeyKind::Stream);
    let DecodedValue::Stream(s) = v else {
        panic!("not a stream")
    };
    let id = |ms, seq| StreamId { ms, seq };
    assert_eq!(s.entries.len(), 2);
    assert_eq!(s.entries[0].id, id(1, 1));
    let f = |a: &str, b: &str| {
        (
            Bytes::copy_from_slice(a.as_bytes()),
            Bytes::copy_from_slice(b.as_bytes()),
        )
    };
    assert_eq!(s.entries[0].fields, vec![f("a", "1"), f("b", "2")]);
    assert_eq!(s.entries[1].id, id(2, 1));
    assert_eq!(s.entries[1].fields, vec![f("c", "5")]);
    assert_eq!(
        (
            s.length,
            s.last_id,
            s.first_id,
            s.max_deleted_id,
            s.entries_added
        ),
        (2, id(2, 1), id(1, 1), id(0, 0), 2)
    );
    let g = &s.groups[0];
    assert_eq!(
        (&g.name[..], g.last_id, g.entries_read),
        (&b"g"[..], id(2, 1), None)
    );
    assert_eq!(g.pel.len(), 1);
    assert_eq!(
        (g.pel[0].id, g.pel[0].delivery_time, g.pel[0].delivery_count),
        (id(1, 1), 1234, 4)
    );
    assert_eq!(&g.pel[0].consumer[..], b"c1");
    let c = &g.consumers[0];
    assert_eq!(
        (c.seen_time, c.active_time, c.pending.clone()),
        (999, None, vec![id(1, 1)])
    );
    let (_, v3) = decode(kind::STREAM_LISTPACKS_3, |r| {
        stream_value(r, kind::STREAM_LISTPACKS_3)
    })
    .unwrap();
    let DecodedValue::Stream(s3) = v3 else {
        panic!("not a stream")
    };
    assert_eq!(s3.groups[0].consumers[0].active_time, Some(888));
}

#[test]
fn stream_inconsistencies_are_corrupt() {
    // A consumer claiming an id the group PEL lacks.
    let bad = decode(kind::STREAM_LISTPACKS, |r| {
        r.len(0).len(0).len(0).len(0);
        r.len(1).str(b"g").len(0).len(0).len(0);
        r.len(1)
            .str(b"c")
            .raw(&0i64.to_le_bytes())
            .len(1)
            .raw(&raw_id(1, 1));
    });
    assert!(matches!(bad, Err(RdbError::Corrupt(_))), "{bad:?}");
    // Length disagreeing with the entries.
    let bad = decode(kind::STREAM_LISTPACKS, |r| {
        r.len(0).len(5).len(0).len(0).len(0);
    });
    assert!(matches!(bad, Err(RdbError::Corrupt(_))), "{bad:?}");
    // An empty stream (no nodes, no groups) is a valid key, not skipped.
    let ok = decode(kind::STREAM_LISTPACKS, |r| {
        r.len(0).len(0).len(7).len(3).len(0);
    });
    assert!(ok.is_ok(), "{ok:?}");
}

#[test]
fn empty_collections_are_skipped() {
    let mut r = Rdb::new(10);
    r.key(kind::LIST, "l").len(0);
    r.key(kind::SET_LISTPACK, "s").str(&listpack(&[]));
    r.key(kind::HASH_LISTPACK, "h").str(&listpack(&[]));
    r.key(kind::LIST_QUICKLIST_2, "q")
        .len(2)
        .len(2)
        .str(&listpack(&[]))
        .len(2)
        .str(&listpack(&[]));
    r.key(kind::STRING, "kept").str(b"");
    let (sum, c) = read(&r.finish(true), Limits::default()).unwrap();
    assert_eq!((sum.keys, sum.skipped_empty), (1, 4));
    assert_eq!(
        c.skipped,
        vec![Bytes::from_static(b"l"), "s".into(), "h".into(), "q".into()]
    );
    assert!(matches!(
        decode(kind::SET, |r| {
            r.len(0);
        }),
        Err(RdbError::EmptyKey)
    ));
}

#[test]
fn duplicates_and_nan_are_corrupt() {
    let dup_set = decode(kind::SET, |r| {
        r.len(2).str(b"a").str(b"a");
    });
    assert!(matches!(dup_set, Err(RdbError::Corrupt(_))));
    let dup_hash = decode(kind::HASH_LISTPACK, |r| {
        r.str(&listpack(&[E::S(b"f"), E::S(b"1"), E::S(b"f"), E::S(b"2")]));
    });
    assert!(matches!(dup_hash, Err(RdbError::Corrupt(_))));
    let dup_zset = decode(kind::ZSET_2, |r| {
        r.len(2)
            .str(b"m")
            .raw(&1f64.to_le_bytes())
            .str(b"m")
            .raw(&2f64.to_le_bytes());
    });
    assert!(matches!(dup_zset, Err(RdbError::Corrupt(_))));
    let nan = decode(kind::ZSET, |r| {
        r.len(1).str(b"m").byte(253);
    });
    assert!(matches!(nan, Err(RdbError::Corrupt(_))));
    let odd = decode(kind::HASH_ZIPLIST, |r| {
        r.str(&ziplist(&[Z::S(b"f")]));
    });
    assert!(matches!(odd, Err(RdbError::Corrupt(_))));
    // Lists may repeat items; duplicate checks can be turned off.
    assert!(decode(kind::LIST, |r| {
        r.len(2).str(b"a").str(b"a");
    })
    .is_ok());
    let limits = Limits {
        check_duplicates: false,
        ..Limits::default()
    };
    assert!(read_dump_payload_with(
        &dump(
            &body(kind::SET, |r| {
                r.len(2).str(b"a").str(b"a");
            }),
            9
        ),
        limits
    )
    .is_ok());
}

#[test]
fn modules_are_named() {
    // Build an id from a name the way Redis does: 6 bits a char, then a
    // 10-bit encoding version.
    let charset = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let id = b"ReJSON-RL".iter().fold(0u64, |acc, c| {
        (acc << 6) | charset.iter().position(|x| x == c).unwrap() as u64
    });
    let id = (id << 10) | 3;
    assert_eq!(module_name(id), "ReJSON-RL");
    let mut r = Rdb::new(10);
    r.byte(opcode::MODULE_AUX).len(id);
    let e = read(&r.finish(true), Limits::default()).err().unwrap();
    assert!(
        matches!(&e, RdbError::Module { name } if name == "ReJSON-RL"),
        "{e}"
    );
    let mut r = Rdb::new(10);
    r.key(kind::MODULE_2, "k").len(id);
    assert!(matches!(
        read(&r.finish(true), Limits::default()),
        Err(RdbError::Module { .. })
    ));
}

#[test]
fn other_rejections() {
    let mut r = Rdb::new(12);
    r.key(22, "k");
    assert!(matches!(
        read(&r.finish(true), Limits::default()),
        Err(RdbError::UnknownType(22))
    ));
    let mut r = Rdb::new(10);
    r.byte(0xF3);
    assert!(matches!(
        read(&r.buf, Limits::default()),
        Err(RdbError::UnknownType(0xF3))
    ));
    let mut r = Rdb::new(10);
    r.byte(opcode::FUNCTION_PRE_GA);
    assert!(matches!(
        read(&r.finish(true), Limits::default()),
        Err(RdbError::Unsupported(_))
    ));
    // A string longer than the limit, refused before any allocation.
    let limits = Limits {
        max_string_len: 100,
        ..Limits::default()
    };
    let mut r = Rdb::new(10);
    r.key(kind::STRING, "k").len(1 << 40);
    assert!(matches!(
        read(&r.finish(true), limits.clone()),
        Err(RdbError::LimitExceeded { .. })
    ));
    // A huge declared length with no data behind it is just truncated.
    let mut r = Rdb::new(10);
    r.key(kind::STRING, "k").len(400 << 20);
    assert!(matches!(
        read(&r.buf, Limits::default()),
        Err(RdbError::Truncated { .. })
    ));
    // An LZF header promising more than its input could expand to.
    let mut r = Rdb::new(10);
    r.key(kind::STRING, "k")
        .raw(&[0xC3, 1])
        .len(1 << 20)
        .byte(0);
    assert!(matches!(
        read(&r.finish(true), Limits::default()),
        Err(RdbError::Corrupt(_))
    ));
    // Trailing bytes after a DUMP value are ignored, as Redis 7.0 does.
    let mut b = body(kind::STRING, |r| {
        r.str(b"v");
    });
    b.push(0);
    assert!(matches!(
        read_dump_payload(&dump(&b, 10)),
        Ok((KeyKind::String, DecodedValue::String(v))) if &v[..] == b"v"
    ));
    // A value read from the footer itself: type 0, length 0.
    assert!(matches!(
        read_dump_payload(&[0; 10]),
        Ok((KeyKind::String, DecodedValue::String(v))) if v.is_empty()
    ));
}

#[test]
fn visitor_errors_stop_the_read() {
    struct Stop;
    impl RdbVisitor for Stop {
        fn begin_key(&mut self, _: Bytes, _: KeyKind, _: KeyMeta) -> Result<(), RdbError> {
            Err(RdbError::Visitor("engine full".into()))
        }
    }
    let mut r = Rdb::new(10);
    r.key(kind::STRING, "k").str(b"v");
    let e = RdbReader::new(&r.finish(true)[..], Limits::default())
        .read_all(&mut Stop)
        .unwrap_err();
    assert_eq!(e.to_string(), "RDB visitor: engine full");
}

#[test]
fn progress_is_reported_and_the_reader_handed_back() {
    struct Progress(Vec<u64>);
    impl RdbVisitor for Progress {
        fn progress(&mut self, n: u64) -> Result<(), RdbError> {
            self.0.push(n);
            Ok(())
        }
    }
    let mut r = Rdb::new(10);
    for i in 0..3 {
        r.key(kind::STRING, &format!("k{i}"))
            .str(&vec![b'v'; 700_000]);
    }
    let file = r.finish(false);
    let mut p = Progress(Vec::new());
    let mut reader = RdbReader::new(std::io::Cursor::new(&file[..]), Limits::default());
    reader.read_all(&mut p).unwrap();
    assert_eq!(reader.bytes_read(), file.len() as u64);
    assert_eq!(reader.into_inner().position(), file.len() as u64);
    assert!(
        p.0.len() >= 2 && p.0.windows(2).all(|w| w[0] < w[1]),
        "{:?}",
        p.0
    );
    assert_eq!(p.0.last(), Some(&(file.len() as u64)));
}

#[test]
fn rendered_values_cover_every_kind() {
    // Sanity check of the test renderer itself on a list.
    assert_eq!(
        render(&DecodedValue::List(vec![Bytes::from_static(b"a")])),
        vec!["list x61".to_string()]
    );
}
