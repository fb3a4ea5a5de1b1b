//! Unit tests of the list encoding: bounds, index space, and every write
//! checked against a `Vec` model.

use super::*;

use crate::types::test_context as open;

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn all(w: &WriteContext<'_>, key: &[u8]) -> Vec<Bytes> {
    range(w, 0, key, 0, -1)
        .expect("range")
        .unwrap_or_default()
        .into_vec()
}

fn bounds(w: &WriteContext<'_>, key: &[u8]) -> (u64, u64) {
    let meta = w.get_stored(0, key).expect("get").expect("present");
    let list = ListMeta::decode(0, key, meta).expect("decode");
    (list.head, list.tail)
}

/// Number of element subkeys stored for the key's current version.
fn stored_items(w: &WriteContext<'_>, key: &[u8]) -> usize {
    let meta = w.get_stored(0, key).expect("get").expect("present");
    let prefix = encoding::subkey_prefix(0, key, meta.version);
    let end = encoding::prefix_end(&prefix);
    let mut it = w.iter(Cf::Data, Some(&prefix), end.as_deref());
    it.seek(&prefix);
    let mut n = 0;
    while it.valid() {
        n += 1;
        it.next();
    }
    n
}

#[test]
fn pushes_grow_from_the_middle_of_the_index_space() {
    let (_d, w) = open();
    push(&w, 0, b"l", End::Right, &[b("a"), b("b")], false).expect("rpush");
    assert_eq!(bounds(&w, b"l"), (INITIAL_INDEX, INITIAL_INDEX + 2));
    push(&w, 0, b"l", End::Left, &[b("x"), b("y")], false).expect("lpush");
    assert_eq!(bounds(&w, b"l"), (INITIAL_INDEX - 2, INITIAL_INDEX + 2));
    assert_eq!(all(&w, b"l"), vec![b("y"), b("x"), b("a"), b("b")]);
    // Element i lives at index head + i, big-endian.
    let meta = w.get_stored(0, b"l").expect("get").expect("present");
    let raw = w
        .get(
            Cf::Data,
            &encoding::subkey(0, b"l", meta.version, &(INITIAL_INDEX - 2).to_be_bytes()),
        )
        .expect("get");
    assert_eq!(raw.as_deref(), Some(&b"y"[..]));
    assert_eq!(meta.payload.len(), 16);
    assert_eq!(meta.size, 4);
}

#[test]
fn pushing_past_the_index_space_is_an_error() {
    let (_d, w) = open();
    push(&w, 0, b"l", End::Left, &[b("a")], false).expect("lpush");
    // Rewrite the bounds as if 2^63 - 1 elements had been pushed left.
    let stored = w.get_stored(0, b"l").expect("get").expect("present");
    let mut list = ListMeta::decode(0, b"l", stored.clone()).expect("decode");
    let mut ws = w.write_set();
    ws.batch.put(Cf::Data, list.item(0), b"a".to_vec());
    list.head = 0;
    list.tail = 1;
    ws.put_meta(0, b"l", &list.encoded(), Some(&stored));
    w.stage(ws).expect("commit");
    let err = push(&w, 0, b"l", End::Left, &[b("b")], false).expect_err("exhausted");
    assert_eq!(err.to_string(), ERR_INDEX_SPACE);
    assert_eq!(
        index(&w, 0, b"l", b"0").expect("lindex"),
        Some(Some(b("a")))
    );
}

#[test]
fn corrupt_bounds_are_reported() {
    let mut meta = Metadata::collection(KeyType::List, 1, 0);
    meta.payload = Bytes::from_static(&[0; 15]);
    assert!(ListMeta::decode(0, b"k", meta.clone()).is_err());
    meta.payload = Bytes::from([[0u8; 8], 5u64.to_be_bytes()].concat());
    meta.size = 4;
    assert!(ListMeta::decode(0, b"k", meta).is_err());
}

#[test]
fn ranges_normalize_like_redis() {
    assert_eq!(normalize_range(5, 0, -1), Some((0, 5)));
    assert_eq!(normalize_range(5, -100, 100), Some((0, 5)));
    assert_eq!(normalize_range(5, 3, 2), None);
    assert_eq!(normalize_range(5, 5, 10), None);
    assert_eq!(normalize_range(5, -2, -1), Some((3, 5)));
    assert_eq!(normalize_range(5, i64::MIN, i64::MAX), Some((0, 5)));
    assert_eq!(normalize_range(0, 0, -1), None);
}

/// A seeded random mix of every write checked against a `Vec` model,
/// so both sides of LINSERT/LREM shifting and both LTRIM delete kinds
/// are exercised; stored subkeys must match the length exactly.
#[test]
fn random_operations_match_a_vec_model() {
    let (_d, w) = open();
    let mut model: Vec<Bytes> = Vec::new();
    let mut seed = 0x1157_u64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n.max(1)
    };
    for step in 0..3000 {
        let v = b(&format!("v{}", rnd(6)));
        match rnd(9) {
            0 => {
                let n = 1 + rnd(300) as usize;
                let vals: Vec<Bytes> = (0..n).map(|i| b(&format!("v{}", i % 7))).collect();
                push(&w, 0, b"l", End::Right, &vals, false).expect("rpush");
                model.extend(vals);
            }
            1 => {
                push(&w, 0, b"l", End::Left, std::slice::from_ref(&v), false).expect("lpush");
                model.insert(0, v);
            }
            2 => {
                let n = rnd(4) as usize;
                let end = if rnd(2) == 0 { End::Left } else { End::Right };
                let (got, _) = pop(&w, 0, b"l", end, Some(n)).expect("pop");
                let n = n.min(model.len());
                let want: Vec<Bytes> = match end {
                    End::Left => model.drain(..n).collect(),
                    End::Right => model.drain(model.len() - n..).rev().collect(),
                };
                assert_eq!(got.unwrap_or_default(), want, "step {step}");
            }
            3 => {
                let after = rnd(2) == 0;
                let (r, _) = insert(&w, 0, b"l", after, &v, b"new").expect("linsert");
                match model.iter().position(|x| *x == v) {
                    Some(p) => {
                        model.insert(p + after as usize, b("new"));
                        assert_eq!(r, model.len() as i64);
                    }
                    None => assert!(r <= 0),
                }
            }
            4 | 5 => {
                let count = rnd(7) as i64 - 3;
                let (r, _) = rem(&w, 0, b"l", count, &v).expect("lrem");
                let mut removed = 0u64;
                let limit = count.unsigned_abs();
                if count >= 0 {
                    model.retain(|x| {
                        let drop = *x == v && (limit == 0 || removed < limit);
                        removed += drop as u64;
                        !drop
                    });
                } else {
                    model.reverse();
                    model.retain(|x| {
                        let drop = *x == v && removed < limit;
                        removed += drop as u64;
                        !drop
                    });
                    model.reverse();
                }
                assert_eq!(r, removed, "step {step}");
            }
            6 => {
                let len = model.len() as i64;
                let start = rnd(len as u64 / 4 + 2) as i64 - 1;
                let stop = len - rnd(len as u64 / 4 + 2) as i64;
                trim(&w, 0, b"l", start, stop).expect("ltrim");
                match normalize_range(model.len() as u64, start, stop) {
                    Some((f, t)) => model = model[f as usize..t as usize].to_vec(),
                    None => model.clear(),
                }
            }
            7 => {
                let from = if rnd(2) == 0 { End::Left } else { End::Right };
                let to = if rnd(2) == 0 { End::Left } else { End::Right };
                let (got, _) = lmove(&w, 0, b"l", b"l", from, to).expect("lmove");
                if !model.is_empty() {
                    let e = match from {
                        End::Left => model.remove(0),
                        End::Right => model.pop().expect("non-empty"),
                    };
                    assert_eq!(got.as_ref(), Some(&e));
                    match to {
                        End::Left => model.insert(0, e),
                        End::Right => model.push(e),
                    }
                } else {
                    assert_eq!(got, None);
                }
            }
            _ => {
                if !model.is_empty() {
                    let i = rnd(model.len() as u64) as i64;
                    set(&w, 0, b"l", i.to_string().as_bytes(), b"set").expect("lset");
                    model[i as usize] = b("set");
                }
            }
        }
        assert_eq!(all(&w, b"l"), model, "step {step}");
        assert_eq!(
            len(&w, 0, b"l").expect("llen"),
            (!model.is_empty()).then_some(model.len() as u64)
        );
        if !model.is_empty() {
            assert_eq!(stored_items(&w, b"l"), model.len(), "step {step}");
        }
    }
}

#[test]
fn lmove_between_keys_creates_and_deletes() {
    let (_d, w) = open();
    push(&w, 0, b"src", End::Right, &[b("a"), b("b")], false).expect("rpush");
    let (e, _) = lmove(&w, 0, b"src", b"dst", End::Left, End::Right).expect("lmove");
    assert_eq!(e, Some(b("a")));
    let (e, _) = lmove(&w, 0, b"src", b"dst", End::Right, End::Left).expect("lmove");
    assert_eq!(e, Some(b("b")));
    assert_eq!(w.get_stored(0, b"src").expect("get"), None);
    assert_eq!(all(&w, b"dst"), vec![b("b"), b("a")]);
    assert_eq!(w.dbsize(0), 1);
    let (e, seq) = lmove(&w, 0, b"src", b"dst", End::Left, End::Left).expect("lmove");
    assert_eq!((e, seq), (None, None));
}

#[test]
fn mpop_takes_the_first_non_empty_list() {
    let (_d, w) = open();
    push(&w, 0, b"b", End::Right, &[b("1"), b("2"), b("3")], false).expect("rpush");
    let keys = [b("a"), b("b"), b("c")];
    let (got, _) = mpop(&w, 0, &keys, End::Right, 2).expect("mpop");
    assert_eq!(got, Some((b("b"), vec![b("3"), b("2")])));
    let (got, _) = mpop(&w, 0, &keys, End::Left, 5).expect("mpop");
    assert_eq!(got, Some((b("b"), vec![b("1")])));
    let (got, seq) = mpop(&w, 0, &keys, End::Left, 1).expect("mpop");
    assert_eq!((got, seq), (None, None));
}
