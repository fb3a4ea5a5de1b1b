//! Many clients on one key (every redis-benchmark test of a collection is
//! this): a connection that finds the key busy waits without holding its
//! worker (`types::key_locks`), and list reads run without the key lock,
//! checked against the stripe's sequence. These tests hold the semantics
//! that must survive both: reads see one state of the list, and no write is
//! lost or reordered.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{encode, Conn, Rng, Strata};
use crate::reply::{bulk_items, integer_of};

/// The integers of an LRANGE reply.
fn numbers(reply: &[u8]) -> Vec<u64> {
    bulk_items(reply)
        .iter()
        .map(|b| {
            std::str::from_utf8(b)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("not a number: {b:?}"))
        })
        .collect()
}

fn consecutive(v: &[u64]) -> bool {
    v.windows(2).all(|w| w[1] == w[0] + 1)
}

/// One writer slides a window of consecutive numbers along a list (RPUSH
/// the next, LPOP the oldest), so every state the list ever has is a run of
/// consecutive numbers of length LEN or LEN + 1. Readers, plain and
/// pipelined, must only ever see such a run: a read that mixed the list's
/// metadata of one moment with its elements of another would show a gap,
/// a repeat or a wrong length.
#[test]
fn list_reads_see_one_state_while_a_writer_moves_the_list() {
    const LEN: u64 = 8;
    const PAIRS: u64 = 16_000;
    let strata = Strata::start();
    let port = strata.port;
    let mut c = strata.conn();
    for i in 0..LEN {
        c.cmd(&["RPUSH", "window", &i.to_string()]);
    }
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let done = done.clone();
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut reads = 0u64;
                let deadline = Instant::now() + Duration::from_secs(120);
                while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let replies = if r == 0 {
                        vec![c.cmd(&["LRANGE", "window", "0", "-1"])]
                    } else {
                        // Pipelined with other reads of the same key.
                        let mut bytes = Vec::new();
                        bytes.extend(encode(&[b"LLEN", b"window"]));
                        bytes.extend(encode(&[b"LRANGE", b"window", b"0", b"-1"]));
                        bytes.extend(encode(&[b"LRANGE", b"window", b"2", b"5"]));
                        c.send_raw(&bytes);
                        let len = c.read_reply();
                        assert!(
                            matches!(integer_of(&len), Some(n) if n as u64 == LEN || n as u64 == LEN + 1),
                            "LLEN {}",
                            String::from_utf8_lossy(&len)
                        );
                        let whole = c.read_reply();
                        let part = c.read_reply();
                        let part = numbers(&part);
                        assert!(part.len() == 4 && consecutive(&part), "LRANGE 2 5: {part:?}");
                        vec![whole]
                    };
                    for reply in replies {
                        let v = numbers(&reply);
                        assert!(
                            (v.len() as u64 == LEN || v.len() as u64 == LEN + 1) && consecutive(&v),
                            "a read saw no state the list ever had: {v:?}"
                        );
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    // Half the pairs one command at a time (each its own commit, so the
    // list changes as often as possible), half pipelined eight pairs at a
    // time (one unit each).
    let mut bytes = Vec::new();
    for i in LEN..LEN + PAIRS {
        let n = i.to_string();
        if i < LEN + PAIRS / 2 {
            c.cmd(&["RPUSH", "window", &n]);
            c.cmd(&["LPOP", "window"]);
            continue;
        }
        bytes.extend(encode(&[b"RPUSH", b"window", n.as_bytes()]));
        bytes.extend(encode(&[b"LPOP", b"window"]));
        if i % 8 == 7 {
            c.send_raw(&bytes);
            bytes.clear();
            for _ in 0..16 {
                c.read_reply();
            }
        }
    }
    done.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(reads > 0);
    // PAIRS / 2 and LEN are multiples of 8, so every pair was sent.
    let last = numbers(&c.cmd(&["LRANGE", "window", "0", "-1"]));
    assert_eq!(last, (PAIRS..PAIRS + LEN).collect::<Vec<_>>());
}

/// Twenty clients pipeline writes to the same few keys (a list, a set, a
/// counter) at once; every connection's writes apply in its own order and
/// none is lost, whichever of them waited for a busy key.
#[test]
fn clients_pipelining_to_one_key_lose_nothing() {
    const CLIENTS: u64 = 20;
    const ROUNDS: u64 = 150;
    let strata = Strata::start();
    let port = strata.port;
    let workers: Vec<_> = (0..CLIENTS)
        .map(|t| {
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
                for round in 0..ROUNDS {
                    let mut bytes = Vec::new();
                    let n = 1 + rng.below(16);
                    for k in 0..n {
                        let member = format!("{t}:{round}:{k}");
                        match rng.below(3) {
                            0 => bytes.extend(encode(&[b"RPUSH", b"hot:list", member.as_bytes()])),
                            1 => bytes.extend(encode(&[b"SADD", b"hot:set", member.as_bytes()])),
                            _ => bytes.extend(encode(&[b"INCR", b"hot:counter"])),
                        }
                    }
                    c.send_raw(&bytes);
                    for _ in 0..n {
                        let r = c.read_reply();
                        assert!(r.starts_with(b":"), "{}", String::from_utf8_lossy(&r));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut c = strata.conn();
    let len = integer_of(&c.cmd(&["LLEN", "hot:list"])).unwrap();
    let card = integer_of(&c.cmd(&["SCARD", "hot:set"])).unwrap();
    let counter: i64 = String::from_utf8_lossy(&c.cmd(&["GET", "hot:counter"]))
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    // Replays each client's random choices to know what it sent.
    let mut expected = (0i64, 0i64, 0i64);
    for t in 0..CLIENTS {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
        for _ in 0..ROUNDS {
            let n = 1 + rng.below(16);
            for _ in 0..n {
                match rng.below(3) {
                    0 => expected.0 += 1,
                    1 => expected.1 += 1,
                    _ => expected.2 += 1,
                }
            }
        }
    }
    assert_eq!((len, card, counter), expected);
    // Each client's list elements are in the order it sent them.
    let items = bulk_items(&c.cmd(&["LRANGE", "hot:list", "0", "-1"]));
    let mut last: std::collections::HashMap<u64, (u64, u64)> = Default::default();
    for item in items {
        let s = String::from_utf8(item).unwrap();
        let p: Vec<u64> = s.split(':').map(|x| x.parse().unwrap()).collect();
        if let Some(prev) = last.insert(p[0], (p[1], p[2])) {
            assert!(
                prev < (p[1], p[2]),
                "client {} reordered: {prev:?} then {s}",
                p[0]
            );
        }
    }
}
