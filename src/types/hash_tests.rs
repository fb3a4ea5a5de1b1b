//! Unit tests of `types::hash`: encoding edge cases, counters, and the
//! O(1) delete of a big hash.

use super::*;
use crate::types::keys;

fn keyspace(dir: &tempfile::TempDir) -> WriteContext<'static> {
    crate::types::test_context_in(dir.path())
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn pairs(items: &[(&str, &str)]) -> Vec<(Bytes, Bytes)> {
    items.iter().map(|(f, v)| (b(f), b(v))).collect()
}

const LIMITS: ListpackLimits = ListpackLimits {
    max_entries: 4,
    max_value: 8,
};

fn meta(w: &WriteContext<'_>, key: &[u8]) -> Metadata {
    lookup(w, 0, key).expect("lookup").expect("hash present")
}

fn count_data(w: &WriteContext<'_>) -> usize {
    let mut it = w.iter(Cf::Data, None, None);
    it.seek_to_first();
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    n
}

#[test]
fn set_counts_new_fields_once_and_last_value_wins() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    let (added, seq) = set(
        &w,
        0,
        b"h",
        &pairs(&[("a", "1"), ("b", "2"), ("a", "3")]),
        LIMITS,
    )
    .unwrap();
    assert_eq!(added, 2);
    assert!(seq.is_some());
    let m = meta(&w, b"h");
    assert_eq!(m.size, 2);
    assert_eq!(get(&w, 0, b"h", &m, b"a").unwrap().unwrap(), "3");
    let (added, _) = set(&w, 0, b"h", &pairs(&[("a", "x"), ("c", "y")]), LIMITS).unwrap();
    assert_eq!(added, 1);
    assert_eq!(meta(&w, b"h").size, 3);
    assert_eq!(w.dbsize(0), 1);
}

#[test]
fn delete_removes_the_key_with_its_last_field() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    set(&w, 0, b"h", &pairs(&[("a", "1"), ("b", "2")]), LIMITS).unwrap();
    let fields = [b("a"), b("a"), b("zz")];
    assert_eq!(delete(&w, 0, b"h", &fields).unwrap().0, 1);
    assert_eq!(meta(&w, b"h").size, 1);
    assert_eq!(delete(&w, 0, b"h", &[b("zz")]).unwrap(), (0, None));
    assert_eq!(delete(&w, 0, b"h", &[b("b")]).unwrap().0, 1);
    assert!(lookup(&w, 0, b"h").unwrap().is_none());
    assert_eq!(w.dbsize(0), 0);
    assert_eq!(delete(&w, 0, b"h", &[b("b")]).unwrap(), (0, None));
}

#[test]
fn encoding_follows_redis_conversion_rules() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    // Up to max_entries fields of short values: listpack.
    set(
        &w,
        0,
        b"h",
        &pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]),
        LIMITS,
    )
    .unwrap();
    assert_eq!(encoding_name(&meta(&w, b"h")), "listpack");
    // One more field converts, and shrinking does not convert back.
    set(&w, 0, b"h", &pairs(&[("e", "5")]), LIMITS).unwrap();
    assert_eq!(encoding_name(&meta(&w, b"h")), "hashtable");
    delete(&w, 0, b"h", &[b("a"), b("b"), b("c")]).unwrap();
    assert_eq!(encoding_name(&meta(&w, b"h")), "hashtable");
    // A long value or field converts; a long value in HSETNX that is not
    // written does not.
    set(&w, 0, b"v", &pairs(&[("a", "123456789")]), LIMITS).unwrap();
    assert_eq!(encoding_name(&meta(&w, b"v")), "hashtable");
    set(&w, 0, b"f", &pairs(&[("123456789", "a")]), LIMITS).unwrap();
    assert_eq!(encoding_name(&meta(&w, b"f")), "hashtable");
    set(&w, 0, b"n", &pairs(&[("a", "1")]), LIMITS).unwrap();
    assert!(
        !set_if_missing(&w, 0, b"n", b"a", b"123456789", LIMITS)
            .unwrap()
            .0
    );
    assert_eq!(encoding_name(&meta(&w, b"n")), "listpack");
    // HINCRBYFLOAT writing a long value converts.
    incr_by_float(&w, 0, b"n", b"a", b"1e20", LIMITS).unwrap();
    assert_eq!(encoding_name(&meta(&w, b"n")), "hashtable");
    // A deleted and re-created hash starts over as a listpack.
    delete(&w, 0, b"v", &[b("a")]).unwrap();
    set(&w, 0, b"v", &pairs(&[("a", "1")]), LIMITS).unwrap();
    assert_eq!(encoding_name(&meta(&w, b"v")), "listpack");
}

#[test]
fn increments_check_values_and_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    let l = ListpackLimits::default();
    assert_eq!(incr_by(&w, 0, b"h", b"n", 5, l).unwrap().0, 5);
    assert_eq!(incr_by(&w, 0, b"h", b"n", -7, l).unwrap().0, -2);
    set(
        &w,
        0,
        b"h",
        &pairs(&[("s", "abc"), ("max", "9223372036854775807"), ("f", "1.5")]),
        l,
    )
    .unwrap();
    let text = |r: TypeResult<(i64, Option<u64>)>| match r {
        Err(TypeError::Reply(s)) => s,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(text(incr_by(&w, 0, b"h", b"s", 1, l)), ERR_NOT_INTEGER);
    assert_eq!(text(incr_by(&w, 0, b"h", b"f", 1, l)), ERR_NOT_INTEGER);
    assert_eq!(text(incr_by(&w, 0, b"h", b"max", 1, l)), ERR_OVERFLOW);
    assert_eq!(
        incr_by_float(&w, 0, b"h", b"f", b"0.1", l).unwrap().0,
        "1.6"
    );
    assert_eq!(
        incr_by_float(&w, 0, b"h", b"new", b"3.0e3", l).unwrap().0,
        "3000"
    );
    assert!(matches!(
        incr_by_float(&w, 0, b"h", b"s", b"1", l),
        Err(TypeError::Reply(s)) if s == ERR_NOT_FLOAT
    ));
    let m = meta(&w, b"h");
    assert_eq!(m.size, 5);
    assert_eq!(get(&w, 0, b"h", &m, b"s").unwrap().unwrap(), "abc");
}

#[test]
fn other_types_give_wrongtype() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    crate::types::string::set(&w, 0, b"s", b("v")).unwrap();
    let l = ListpackLimits::default();
    assert!(matches!(lookup(&w, 0, b"s"), Err(TypeError::WrongType)));
    assert!(matches!(
        set(&w, 0, b"s", &pairs(&[("a", "1")]), l),
        Err(TypeError::WrongType)
    ));
    assert!(matches!(
        set_if_missing(&w, 0, b"s", b"a", b"1", l),
        Err(TypeError::WrongType)
    ));
    assert!(matches!(
        delete(&w, 0, b"s", &[b("a")]),
        Err(TypeError::WrongType)
    ));
    assert!(matches!(
        incr_by(&w, 0, b"s", b"a", 1, l),
        Err(TypeError::WrongType)
    ));
    assert!(matches!(
        incr_by_float(&w, 0, b"s", b"a", b"1", l),
        Err(TypeError::WrongType)
    ));
}

#[test]
fn expired_hash_is_replaced_with_exact_counters() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    let l = ListpackLimits::default();
    set(&w, 0, b"h", &pairs(&[("old", "1")]), l).unwrap();
    keys::expire(
        &w,
        0,
        b"h",
        w.now_ms() as i64 + 60_000,
        keys::ExpireCond::default(),
    )
    .unwrap();
    assert_eq!((w.dbsize(0), w.expires_count(0)), (1, 1));
    // Expire it in the past without reclaiming it, then write over it.
    let stored = w.get_stored(0, b"h").unwrap().unwrap();
    let mut past = stored.clone();
    past.expire_ms = 1;
    let mut ws = w.write_set();
    ws.put_meta(0, b"h", &past, Some(&stored));
    w.stage(ws).unwrap();
    assert_eq!(set(&w, 0, b"h", &pairs(&[("new", "2")]), l).unwrap().0, 1);
    assert_eq!((w.dbsize(0), w.expires_count(0)), (1, 0));
    let m = meta(&w, b"h");
    assert_eq!(m.size, 1);
    assert_ne!(
        m.version, stored.version,
        "a fresh version hides the old fields"
    );
    assert_eq!(get(&w, 0, b"h", &m, b"old").unwrap(), None);
    assert_eq!(get_all(&w, 0, b"h", &m, Parts::Fields).unwrap().len(), 1);
}

#[test]
fn scan_returns_small_hashes_whole_and_pages_big_ones() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    let small: Vec<(Bytes, Bytes)> = (0..4).map(|i| (b(&format!("f{i}")), b("v"))).collect();
    set(&w, 0, b"small", &small, LIMITS).unwrap();
    let page = scan(&w, 0, b"small", &meta(&w, b"small"), Some(b"f2"), 1, None).unwrap();
    assert_eq!((page.pairs.len(), page.resume_after), (4, None));

    let big: Vec<(Bytes, Bytes)> = (0..25).map(|i| (b(&format!("f{i:02}")), b("v"))).collect();
    set(&w, 0, b"big", &big, LIMITS).unwrap();
    let m = meta(&w, b"big");
    let mut after: Option<Vec<u8>> = None;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let page = scan(&w, 0, b"big", &m, after.as_deref(), 10, Some(b"f1*")).unwrap();
        seen.extend(page.pairs.into_iter().map(|(f, _)| f));
        after = page.resume_after;
        if after.is_none() {
            break;
        }
    }
    assert!(after.is_none(), "the walk ends");
    assert_eq!(seen.len(), 10, "f10..f19 once each: {seen:?}");
}

#[test]
fn random_fields_respect_count_rules() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    let l = ListpackLimits::default();
    // Both sampling paths: exact (small) and descent (big).
    for size in [5u64, EXACT_SAMPLE_MAX + 500] {
        let key = format!("h{size}");
        let items: Vec<(Bytes, Bytes)> = (0..size)
            .map(|i| (b(&format!("field:{i}")), b(&format!("value:{i}"))))
            .collect();
        set(&w, 0, key.as_bytes(), &items, l).unwrap();
        let m = meta(&w, key.as_bytes());
        let all = random_fields(&w, 0, key.as_bytes(), &m, size as i64 + 10, true).unwrap();
        assert_eq!(all.len() as u64, size);
        let distinct = random_fields(&w, 0, key.as_bytes(), &m, 4, true).unwrap();
        let names: HashSet<&Bytes> = distinct.iter().map(|(f, _)| f).collect();
        assert_eq!((distinct.len(), names.len()), (4, 4));
        for (f, v) in &distinct {
            assert_eq!(&v[6..], &f[6..], "value belongs to its field");
        }
        // A large share of the hash (the one-pass path for big hashes).
        let half = random_fields(&w, 0, key.as_bytes(), &m, size as i64 / 2, false).unwrap();
        let names: HashSet<&Bytes> = half.iter().map(|(f, _)| f).collect();
        assert_eq!(
            (half.len(), names.len()),
            (size as usize / 2, size as usize / 2)
        );
        let repeated = random_fields(&w, 0, key.as_bytes(), &m, -300, false).unwrap();
        assert_eq!(repeated.len(), 300);
        assert!(repeated
            .iter()
            .all(|(f, v)| f.starts_with(b"field:") && v.is_empty()));
        let spread: HashSet<&Bytes> = repeated.iter().map(|(f, _)| f).collect();
        assert!(
            spread.len() >= 5.min(size as usize),
            "{} distinct",
            spread.len()
        );
        assert!(random_fields(&w, 0, key.as_bytes(), &m, 0, true)
            .unwrap()
            .is_empty());
    }
}

/// A hash of 100,000 fields answers point reads and writes, and DEL of it
/// deletes one record: its subkeys stay until compaction drops them.
#[test]
fn big_hash_point_ops_and_constant_time_delete() {
    let dir = tempfile::tempdir().unwrap();
    let w = keyspace(&dir);
    let l = ListpackLimits::default();
    const FIELDS: u64 = 100_000;
    for chunk in 0..(FIELDS / 1000) {
        let items: Vec<(Bytes, Bytes)> = (chunk * 1000..(chunk + 1) * 1000)
            .map(|i| (b(&format!("f{i}")), b(&format!("v{i}"))))
            .collect();
        set(&w, 0, b"big", &items, l).unwrap();
    }
    let m = meta(&w, b"big");
    assert_eq!(m.size, FIELDS);
    assert_eq!(encoding_name(&m), "hashtable");
    assert_eq!(
        get(&w, 0, b"big", &m, b"f77777").unwrap().unwrap(),
        "v77777"
    );
    assert_eq!(
        set(&w, 0, b"big", &pairs(&[("f5", "new"), ("extra", "x")]), l)
            .unwrap()
            .0,
        1
    );
    let m = meta(&w, b"big");
    assert_eq!(m.size, FIELDS + 1);
    assert_eq!(get(&w, 0, b"big", &m, b"f5").unwrap().unwrap(), "new");
    assert_eq!(count_data(&w), FIELDS as usize + 1);

    // DEL: one metadata delete in the batch, no subkey touched.
    let stored = w.get_stored(0, b"big").unwrap().unwrap();
    let mut ws = w.write_set();
    ws.delete_key(0, b"big", &stored);
    assert_eq!(ws.batch.len(), 1);
    let (deleted, _) = keys::delete(&w, 0, &[b("big")]).unwrap();
    assert_eq!(deleted, 1);
    assert!(lookup(&w, 0, b"big").unwrap().is_none());
    assert_eq!(count_data(&w), FIELDS as usize + 1, "DEL left the subkeys");

    // A new hash of the same name sees none of the old fields.
    set(&w, 0, b"big", &pairs(&[("f1", "fresh")]), l).unwrap();
    let m = meta(&w, b"big");
    assert_eq!(m.size, 1);
    assert_eq!(get(&w, 0, b"big", &m, b"f2").unwrap(), None);

    w.keyspace().engine().flush().unwrap();
    w.keyspace().engine().compact_range(Cf::Data, None, None);
    assert_eq!(count_data(&w), 1, "compaction dropped the old version");
    assert_eq!(get(&w, 0, b"big", &m, b"f1").unwrap().unwrap(), "fresh");
}
