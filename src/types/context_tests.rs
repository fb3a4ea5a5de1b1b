//! Tests of the write context: what a unit reads, stages, commits and holds.

use super::*;
use crate::types::keyspace::stripe;
use crate::types::{string, test_keyspace};

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Commits `key` = "v", expiring at 2,000 ms.
fn set_expiring_at_2000(ks: &Keyspace, key: &[u8]) {
    let w = WriteContext::new(ks, 1_000);
    string::set_with(
        &w,
        0,
        key,
        b("v"),
        string::SetOptions {
            condition: string::SetCondition::Always,
            ttl: string::TtlChange::At(2_000),
            get: false,
        },
    )
    .expect("set");
    w.commit().expect("commit");
}

/// A unit allocates its staged parts only when it changes something: a
/// unit of reads (a GET's) creates and drops none.
#[test]
fn a_unit_of_reads_allocates_no_staged_parts() {
    let (_dir, ks) = test_keyspace();
    set_expiring_at_2000(&ks, b"k");
    let w = WriteContext::for_run(&ks, 1_500);
    assert!(w.get_live(0, b"k").expect("read").is_some());
    assert!(w.get_live(0, b"missing").expect("read").is_none());
    w.end_command();
    assert!(w.staged().is_none(), "reads staged nothing");
    assert!(w.has_nothing_to_commit());
    // A read that finds its key expired deletes it: that is a change.
    let w = WriteContext::for_run(&ks, 2_500);
    assert!(w.get_live(0, b"k").expect("read").is_none());
    assert!(w.staged().is_some());
    assert!(!w.has_nothing_to_commit());
}

/// A unit reads its own staged writes; nobody else sees them before the
/// commit, and the commit is one batch with the stream and the offset.
#[test]
fn a_unit_reads_its_own_writes_and_commits_them_at_once() {
    let (_dir, ks) = test_keyspace();
    let w = WriteContext::exclusive(&ks, super::super::now_ms());
    string::set(&w, 0, b"a", b("1")).expect("set");
    w.flush_physical(1);
    string::set(&w, 1, b"b", b("2")).expect("set");
    assert_eq!(string::get(&w, 0, b"a").expect("get"), Some(b("1")));
    assert_eq!(w.dbsize(0), 1);
    assert_eq!(w.dbsize(1), 1);
    assert_eq!(ks.dbsize(0), 0, "not committed yet");
    assert_eq!(ks.get_stored(0, b"a").expect("read"), None);
    w.propagate(0, vec![b("SET"), b("a"), b("1")]);
    w.propagate(1, vec![b("FLUSHDB")]);
    w.propagate(1, vec![b("SET"), b("b"), b("2")]);
    let (committed, _) = w.commit().expect("commit");
    assert!(committed.wrote);
    assert_eq!(ks.dbsize(0), 1);
    assert_eq!(ks.dbsize(1), 1);
    let stream = ks.read_backlog(1, 1 << 20).expect("backlog");
    assert_eq!(stream.len() as u64, committed.offset);
    let text = String::from_utf8_lossy(&stream);
    assert!(text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n"));
    assert!(text.ends_with("*1\r\n$4\r\nEXEC\r\n"), "{text}");
}

/// Only a unit whose commit would write and deliver nothing may be let
/// go instead: reads, not a read of a key found expired (its deletion is
/// staged), not a held key lock, not a bare propagation.
#[test]
fn only_a_unit_of_reads_has_nothing_to_commit() {
    let (_dir, ks) = test_keyspace();
    let w = WriteContext::for_run(&ks, 1_000);
    assert!(w.has_nothing_to_commit(), "a fresh unit");
    assert_eq!(string::get(&w, 0, b"k").expect("get"), None);
    assert!(w.has_nothing_to_commit(), "a read");
    string::set(&w, 0, b"k", b("v")).expect("set");
    assert!(!w.has_nothing_to_commit(), "a staged write");
    w.commit().expect("commit");
    let w = WriteContext::for_run(&ks, 1_000);
    assert!(w.try_lock(0, &[b"k"]).is_ok());
    assert!(!w.has_nothing_to_commit(), "a held key lock");
    drop(w);
    let w = WriteContext::for_run(&ks, 1_000);
    w.propagate(0, vec![b("PING")]);
    assert!(!w.has_nothing_to_commit(), "something to propagate");
    drop(w);
    set_expiring_at_2000(&ks, b"t");
    let w = WriteContext::new(&ks, 3_000);
    assert_eq!(string::get(&w, 0, b"t").expect("get"), None);
    assert!(!w.has_nothing_to_commit(), "an expired key's deletion");
}

/// A master deletes a key it finds expired, with DEL to propagate and an
/// `expired` event; a replica only hides it.
#[test]
fn lazy_expiry_is_an_effect_on_masters_only() {
    let (_dir, ks) = test_keyspace();
    set_expiring_at_2000(&ks, b"k");

    ks.replica.store(true, std::sync::atomic::Ordering::Relaxed);
    let w = WriteContext::new(&ks, 3_000);
    assert_eq!(string::get(&w, 0, b"k").expect("get"), None);
    let (c, effects) = w.commit().expect("commit");
    assert!(!c.wrote && effects.propagate.is_empty());
    assert_eq!(ks.dbsize(0), 1, "a replica keeps the key");

    ks.replica
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let w = WriteContext::new(&ks, 3_000);
    assert_eq!(string::get(&w, 0, b"k").expect("get"), None);
    let (c, effects) = w.commit().expect("commit");
    assert!(c.wrote);
    assert_eq!(effects.propagate, vec![(0, vec![b("DEL"), b("k")])]);
    assert_eq!(effects.events.len(), 1);
    assert_eq!(effects.events[0].event, "expired");
    assert_eq!(ks.dbsize(0), 0);
}

/// Keys of two databases can share a stripe; locking them together must
/// take that stripe once (taking it twice would wait forever), and a
/// later lock of the same keys in the unit is re-entrant.
#[test]
fn locks_are_taken_once_and_reentrant() {
    let (_dir, ks) = test_keyspace();
    let (k0, k1) = (b"k0", "k1");
    let k1 = (0..1_000_000u32)
        .map(|i| format!("{k1}{i}"))
        .find(|k| stripe(0, k0) == stripe(1, k.as_bytes()))
        .expect("a key whose stripe collides");
    let w = WriteContext::new(&ks, 1);
    w.lock_multi(&[(0, k0), (1, k1.as_bytes())]);
    w.lock(0, &[k0]);
    w.lock(1, &[k1.as_bytes()]);
    assert_eq!(w.locks.held.borrow().len(), 1);
    drop(w);
    // Released: another unit can take it.
    let w2 = WriteContext::new(&ks, 1);
    w2.lock(1, &[k1.as_bytes()]);
}

/// The replication position is stored with the data.
#[test]
fn the_offset_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (replid, offset) = {
        let ks = crate::types::test_keyspace_in(dir.path());
        let w = WriteContext::new(&ks, 1);
        string::set(&w, 0, b"x", b("y")).expect("set");
        w.propagate(0, vec![b("SET"), b("x"), b("y")]);
        let (c, _) = w.commit().expect("commit");
        (ks.position().replid, c.offset)
    };
    let ks = crate::types::test_keyspace_in(dir.path());
    let pos = ks.position();
    assert_eq!((pos.replid, pos.offset), (replid, offset));
    assert_eq!(
        ks.read_backlog(1, 1 << 20).map(|v| v.len() as u64),
        Some(offset)
    );
}
