//! XPipe keepers on both sides of Strata.
//!
//! - A keeper following a Strata master sends its own handshake (`REPLCONF
//!   keeper` as a probe, `listening-port`, `capa eof psync2 rordb`, `idc`,
//!   `region`, then PSYNC): the probe gets Redis 7.0's reply byte for byte,
//!   so the keeper treats Strata as the Redis it stands in for; `idc` and
//!   `region` (fail-safe for the keeper) are accepted; the full sync and
//!   a later `+CONTINUE` work as with Redis.
//! - Strata following a keeper: the keeper answers a partial resync with
//!   `+CONTINUE <replid> <offset>`: Strata takes the first word as the id
//!   (a new one moves the old to replid2).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{encode, Redis, Strata};
use crate::replica_link::{empty_rdb, FakeMaster};
use crate::replica_sync::{info_field, wait_for};

fn send(s: &mut TcpStream, args: &[&[u8]]) {
    s.write_all(&encode(args)).unwrap();
}

fn line(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        s.read_exact(&mut b).expect("a reply line");
        out.push(b[0]);
    }
    out
}

/// XPipe's keeper handshake, replies read one by one.
fn keeper_handshake(port: u16) -> (TcpStream, Vec<Vec<u8>>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut replies = Vec::new();
    for args in [
        &[&b"REPLCONF"[..], b"keeper"][..],
        &[b"REPLCONF", b"listening-port", b"7777"],
        &[
            b"REPLCONF",
            b"capa",
            b"eof",
            b"capa",
            b"psync2",
            b"capa",
            b"rordb",
        ],
    ] {
        send(&mut s, args);
        replies.push(line(&mut s));
    }
    (s, replies)
}

#[test]
fn a_keeper_follows_a_strata_master_as_it_follows_redis() {
    let strata = Strata::start_with(&["--repl-diskless-sync-delay", "0"]);
    let redis = Redis::start();
    let (_, redis_replies) = keeper_handshake(redis.port);
    let (mut k, strata_replies) = keeper_handshake(strata.port);
    assert_eq!(
        strata_replies, redis_replies,
        "the same replies as Redis 7.0"
    );
    for opt in [&b"idc"[..], b"region"] {
        send(&mut k, &[b"REPLCONF", opt, b"dc-east"]);
        assert_eq!(line(&mut k), b"+OK\r\n");
    }
    let mut c = strata.conn();
    c.cmd(&["set", "before", "1"]);
    send(&mut k, &[b"PSYNC", b"?", b"-1"]);
    let mut head = line(&mut k);
    while head == b"\n" || head.starts_with(b"\n") {
        head.drain(..1);
        if head.is_empty() {
            head = line(&mut k);
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words[0], "+FULLRESYNC", "{text}");
    let replid = words[1].to_string();
    let offset: u64 = words[2].parse().unwrap();
    // The keeper reads the RDB, ACKs, and the stream follows.
    let mut eof = line(&mut k);
    while eof == b"\n" {
        eof = line(&mut k);
    }
    let eof = String::from_utf8_lossy(&eof)
        .trim_start_matches('\n')
        .to_string();
    let mark = eof
        .trim()
        .strip_prefix("$EOF:")
        .expect("diskless framing")
        .to_string();
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    while !got.ends_with(mark.as_bytes()) {
        let n = k.read(&mut b).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&b[..n]);
    }
    send(
        &mut k,
        &[b"REPLCONF", b"ACK", offset.to_string().as_bytes()],
    );
    c.cmd(&["set", "after", "2"]);
    let want = encode(&[b"set", b"after", b"2"]);
    let mut stream = Vec::new();
    while !stream.windows(want.len()).any(|w| w == want) {
        let n = k.read(&mut b).unwrap();
        assert!(n > 0);
        stream.extend_from_slice(&b[..n]);
    }
    drop(k);
    // Reconnecting keepers continue partially.
    let (mut k, _) = keeper_handshake(strata.port);
    let next = (offset + stream.len() as u64 + 1).to_string();
    send(&mut k, &[b"PSYNC", replid.as_bytes(), next.as_bytes()]);
    assert_eq!(
        String::from_utf8_lossy(&line(&mut k)),
        format!("+CONTINUE {replid}\r\n")
    );
    let mut m = strata.conn();
    let slaves = info_field(&mut m, "replication", "connected_slaves");
    assert_eq!(slaves.as_deref(), Some("1"));
}

#[test]
fn strata_follows_a_keeper_that_continues_with_its_offset() {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let keeper_port = listener.local_addr().unwrap().port();
    let s = Strata::start();
    let mut c = s.conn();
    c.cmd(&["replicaof", "127.0.0.1", &keeper_port.to_string()]);
    let replid = "5e3c1a0b6f2d4e8a9c7b1d3f5a7e9c0b2d4f6a8e";
    let mut k = FakeMaster::accept(&listener);
    assert_eq!(k.handshake(s.port), ["PSYNC", "?", "-1"]);
    let rdb = empty_rdb();
    let mut out = format!("+FULLRESYNC {replid} 1000\r\n${}\r\n", rdb.len()).into_bytes();
    out.extend_from_slice(&rdb);
    let set = encode(&[b"SELECT", b"0"])
        .into_iter()
        .chain(encode(&[b"SET", b"a", b"1"]))
        .collect::<Vec<u8>>();
    out.extend_from_slice(&set);
    k.send(&out);
    wait_for("the first write", 30, || {
        c.cmd(&["get", "a"]) == b"$1\r\n1\r\n"
    });
    drop(k);
    // The keeper comes back (its group failed over meanwhile: a new id)
    // and continues with `+CONTINUE <id> <offset>`.
    let mut k = FakeMaster::accept(&listener);
    let next = (1000 + set.len() as u64 + 1).to_string();
    assert_eq!(k.handshake(s.port), ["PSYNC", replid, next.as_str()]);
    let new_id = "7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c";
    k.send(format!("+CONTINUE {new_id} {next}\r\n").as_bytes());
    k.send(&encode(&[b"SET", b"b", b"2"]));
    wait_for("the write after the continue", 30, || {
        c.cmd(&["get", "b"]) == b"$1\r\n2\r\n"
    });
    assert_eq!(
        info_field(&mut c, "replication", "master_replid").as_deref(),
        Some(new_id)
    );
    assert_eq!(
        info_field(&mut c, "replication", "master_replid2").as_deref(),
        Some(replid)
    );
}
