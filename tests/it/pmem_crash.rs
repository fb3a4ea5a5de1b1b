//! Crash consistency of the pmem engine: writers commit transactions (one
//! engine batch each, across the metadata and subkey families) in a loop,
//! the server is `kill -9`ed at random moments, and after every restart
//! every acknowledged transaction must be there, whole, with its values
//! intact; a transaction that was not acknowledged is there whole or not
//! at all. Always on the pmem engine, whatever `STRATA_IT_ENGINE` says.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{Rng, Strata};

const WRITERS: u64 = 4;
const ROUNDS: usize = 20;

/// The value of transaction `n` of writer `w`: its length varies with `n`,
/// and every byte depends on `(w, n)`, so a torn or misplaced value shows.
fn payload(w: u64, n: u64) -> String {
    let unit = format!("{w}:{n}|");
    unit.repeat(8 + (n % 40) as usize)
}

fn connect(port: u16) -> Option<redis::Connection> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let c = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .ok()?;
    c.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    Some(c)
}

/// Commits transactions `from..` until the connection fails (the kill);
/// returns the numbers acknowledged and the next number never sent.
fn writer(port: u16, w: u64, from: u64, stop: Arc<AtomicBool>) -> (Vec<u64>, u64) {
    let mut acked = Vec::new();
    let mut n = from;
    let Some(mut c) = connect(port) else {
        return (acked, n);
    };
    while !stop.load(Ordering::Relaxed) {
        let value = payload(w, n);
        let sent = n;
        n += 1;
        let reply: redis::RedisResult<()> = redis::pipe()
            .atomic()
            .set(format!("k:{w}:{sent}"), &value)
            .rpush(format!("list:{w}"), sent)
            .hset(format!("hash:{w}"), sent, &value)
            .query(&mut c);
        if reply.is_err() {
            break;
        }
        acked.push(sent);
    }
    (acked, n)
}

/// Every acknowledged transaction is present and whole; every transaction
/// present at all is whole and was sent.
fn verify(s: &Strata, acked: &[Vec<u64>], sent_below: &[u64]) {
    let mut c = connect(s.port).expect("connect after restart");
    for w in 0..WRITERS {
        let list: Vec<u64> = redis::cmd("LRANGE")
            .arg(format!("list:{w}"))
            .arg(0)
            .arg(-1)
            .query(&mut c)
            .expect("lrange");
        assert!(
            list.windows(2).all(|p| p[0] < p[1]),
            "writer {w}: list out of order"
        );
        assert!(
            list.iter().all(|&n| n < sent_below[w as usize]),
            "writer {w}: unsent item"
        );
        let present: std::collections::HashSet<u64> = list.iter().copied().collect();
        for &n in &acked[w as usize] {
            assert!(
                present.contains(&n),
                "writer {w}: acknowledged {n} lost from the list"
            );
        }
        for chunk in list.chunks(200) {
            let keys: Vec<String> = chunk.iter().map(|n| format!("k:{w}:{n}")).collect();
            let values: Vec<Option<String>> =
                redis::cmd("MGET").arg(&keys).query(&mut c).expect("mget");
            let fields: Vec<Option<String>> = redis::cmd("HMGET")
                .arg(format!("hash:{w}"))
                .arg(chunk)
                .query(&mut c)
                .expect("hmget");
            for ((n, v), f) in chunk.iter().zip(values).zip(fields) {
                let want = payload(w, *n);
                assert_eq!(v.as_deref(), Some(&want[..]), "writer {w}: value of {n}");
                assert_eq!(f.as_deref(), Some(&want[..]), "writer {w}: field {n}");
            }
        }
        let hlen: u64 = redis::cmd("HLEN")
            .arg(format!("hash:{w}"))
            .query(&mut c)
            .expect("hlen");
        assert_eq!(
            hlen,
            list.len() as u64,
            "writer {w}: a transaction applied in part"
        );
    }
}

#[test]
fn kill9_at_random_moments_loses_no_acknowledged_transaction() {
    let mut s = Strata::start_with(&[
        "--engine",
        "pmem",
        "--pmem-size",
        "64mb",
        "--appendfsync",
        "always",
    ]);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ std::process::id() as u64);
    let mut acked: Vec<Vec<u64>> = vec![Vec::new(); WRITERS as usize];
    let mut next: Vec<u64> = vec![0; WRITERS as usize];
    let mut total = 0usize;
    for round in 0..ROUNDS {
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (port, from, stop) = (s.port, next[w as usize], stop.clone());
                std::thread::spawn(move || writer(port, w, from, stop))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50 + rng.below(400)));
        s.kill9();
        stop.store(true, Ordering::Relaxed);
        for (w, h) in handles.into_iter().enumerate() {
            let (got, n) = h.join().expect("writer");
            total += got.len();
            acked[w].extend(got);
            next[w] = n;
        }
        s.start_again();
        verify(&s, &acked, &next);
        eprintln!("round {round}: {total} transactions acknowledged so far, all present");
    }
    assert!(total > 200, "only {total} transactions acknowledged");
}
