//! Durability tests: what a client saw acknowledged must survive a crash.
//! Under `appendfsync always` a `kill -9` in the middle of concurrent
//! writes loses nothing acknowledged; under `everysec` and `no` a killed
//! process (not a lost machine) loses nothing either, because the WAL write
//! precedes the reply. A clean SIGTERM exits 0 and keeps everything,
//! including key counts and TTLs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::common::{encode, Strata};

/// One simple reply line (`+OK`, `:5`, `-ERR ...`) or None when the
/// connection failed, which is how a writer notices the kill.
fn request(stream: &mut TcpStream, args: &[&[u8]]) -> Option<String> {
    stream.write_all(&encode(args)).ok()?;
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(1) => {
                line.push(byte[0]);
                if line.ends_with(b"\r\n") {
                    line.truncate(line.len() - 2);
                    return String::from_utf8(line).ok();
                }
            }
            _ => return None,
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum WriteKind {
    Set,
    Incr,
}

/// Per writer: the last acknowledged value of each of its keys.
type Acked = Vec<(String, i64)>;

/// Writer `id` cycles over its own keys until `stop` or a failed request,
/// recording each acknowledged value (a SET of a rising sequence number,
/// or the value an INCR returned).
fn writer(port: u16, id: usize, kind: WriteKind, stop: Arc<AtomicBool>) -> Acked {
    let mut acked: Vec<(String, i64)> = (0..16).map(|k| (format!("w{id}:{k}"), 0)).collect();
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return acked;
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.set_nodelay(true).ok();
    let mut seq: i64 = 0;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let slot = (seq as usize) % acked.len();
        let key = acked[slot].0.clone();
        match kind {
            WriteKind::Set => {
                let v = seq.to_string();
                match request(&mut s, &[b"SET", key.as_bytes(), v.as_bytes()]) {
                    Some(r) if r == "+OK" => acked[slot].1 = seq,
                    _ => break,
                }
            }
            WriteKind::Incr => match request(&mut s, &[b"INCR", key.as_bytes()]) {
                Some(r) if r.starts_with(':') => match r[1..].parse() {
                    Ok(n) => acked[slot].1 = n,
                    Err(_) => break,
                },
                _ => break,
            },
        }
    }
    acked
}

fn get_int(c: &mut crate::common::Conn, key: &str) -> Option<i64> {
    let raw = c.cmd_str(&["GET", key]);
    let body = raw.split("\r\n").nth(1)?;
    body.parse().ok()
}

/// Concurrent writers, `kill -9` mid-stream, restart: every acknowledged
/// write is there with its value or a later one.
fn kill9_keeps_acknowledged(kind: WriteKind) {
    let mut s = Strata::start_with(&["--appendfsync", "always"]);
    let stop = Arc::new(AtomicBool::new(false));
    let port = s.port;
    let threads: Vec<_> = (0..4)
        .map(|id| {
            let stop = stop.clone();
            std::thread::spawn(move || writer(port, id, kind, stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<Acked> = threads
        .into_iter()
        .map(|t| t.join().expect("writer thread"))
        .collect();
    s.start_again();
    let mut c = s.conn();
    let mut total = 0;
    for (key, value) in acked.iter().flatten() {
        if *value == 0 {
            continue;
        }
        total += 1;
        let got = get_int(&mut c, key);
        assert!(
            got.is_some_and(|g| g >= *value),
            "{key}: acknowledged {value}, after kill -9 found {got:?}"
        );
    }
    assert!(total > 0, "no write was acknowledged before the kill");
}

#[test]
fn kill9_under_always_keeps_acknowledged_sets() {
    kill9_keeps_acknowledged(WriteKind::Set);
}

/// Needs INCR (string family).
#[test]
fn kill9_under_always_keeps_acknowledged_incrs() {
    kill9_keeps_acknowledged(WriteKind::Incr);
}

#[test]
fn data_survives_sigterm_and_restart() {
    let mut s = Strata::start();
    {
        let mut c = s.conn();
        for i in 0..200 {
            let (k, v) = (format!("key:{i}"), format!("value:{i}"));
            assert_eq!(c.cmd_str(&["SET", &k, &v]), "+OK\r\n");
        }
    }
    assert!(s.terminate(), "SIGTERM did not exit with status 0");
    s.start_again();
    let mut c = s.conn();
    for i in 0..200 {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        assert_eq!(c.cmd_str(&["GET", &k]), format!("${}\r\n{v}\r\n", v.len()));
    }
}

/// Without per-write fsync a killed process (the OS survives) still keeps
/// every acknowledged write: the WAL write happens before the reply.
#[test]
fn everysec_and_no_survive_process_kill() {
    for mode in ["everysec", "no"] {
        let mut s = Strata::start_with(&["--appendfsync", mode]);
        {
            let mut c = s.conn();
            for i in 0..300 {
                let k = format!("{mode}:{i}");
                assert_eq!(c.cmd_str(&["SET", &k, &i.to_string()]), "+OK\r\n");
            }
        }
        s.kill9_and_restart();
        let mut c = s.conn();
        for i in 0..300 {
            let k = format!("{mode}:{i}");
            assert_eq!(get_int(&mut c, &k), Some(i), "{mode}: {k} lost");
        }
    }
}

/// Needs DBSIZE, SELECT'ed databases, SET EX and TTL (keyspace and string families).
#[test]
fn restart_keeps_key_counts_and_ttls() {
    let mut s = Strata::start();
    {
        let mut c = s.conn();
        for i in 0..50 {
            c.cmd(&["SET", &format!("plain:{i}"), "x"]);
        }
        assert_eq!(c.cmd_str(&["SET", "ttl:key", "x", "EX", "100"]), "+OK\r\n");
        assert_eq!(c.cmd_str(&["SELECT", "3"]), "+OK\r\n");
        c.cmd(&["SET", "in3", "y"]);
        // An already expired key must not come back or be counted.
        c.cmd(&["SET", "gone", "z", "PX", "1"]);
        std::thread::sleep(Duration::from_millis(20));
    }
    for restart in ["sigterm", "kill9"] {
        if restart == "sigterm" {
            assert!(s.terminate());
            s.start_again();
        } else {
            s.kill9_and_restart();
        }
        let mut c = s.conn();
        assert_eq!(c.cmd_str(&["DBSIZE"]), ":51\r\n", "after {restart}");
        let ttl = c.cmd_str(&["TTL", "ttl:key"]);
        let secs: i64 = ttl.trim_start_matches(':').trim_end().parse().unwrap_or(-9);
        assert!((1..=100).contains(&secs), "after {restart}: TTL {ttl:?}");
        c.cmd(&["SELECT", "3"]);
        assert_eq!(c.cmd_str(&["GET", "in3"]), "$1\r\ny\r\n", "after {restart}");
        // Like Redis, DBSIZE may count an expired key until something
        // reclaims it; reading it does, and then the count is exact.
        assert_eq!(c.cmd_str(&["GET", "gone"]), "$-1\r\n");
        assert_eq!(c.cmd_str(&["DBSIZE"]), ":1\r\n", "after {restart}");
    }
}
