//! The commit point as the replication point: every write's propagated form
//! is kept on disk with the data, by offset, gap-free, and after kill -9 the
//! data, the stream and the offset agree exactly.
//!
//! The stream is read back the way a replica would (`PSYNC <replid> <offset>`
//! answered with `+CONTINUE`), and replayed into a real redis-server: the
//! replayed dataset must equal Strata's own.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{encode, Redis, Strata};

/// `(replid, master_repl_offset)` from INFO replication.
fn position(s: &Strata) -> (String, u64) {
    let info = s.conn().cmd_str(&["INFO", "replication"]);
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {info}"))
    };
    let offset = field("master_repl_offset").parse().expect("offset");
    (field("master_replid"), offset)
}

/// Reads `len` bytes of stream from offset `from` through PSYNC.
fn read_stream(s: &Strata, replid: &str, from: u64, len: usize) -> Vec<u8> {
    let mut t = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    t.set_read_timeout(Some(Duration::from_secs(20))).ok();
    // A replica that announces psync2 gets the id with +CONTINUE, as in Redis.
    t.write_all(&encode(&[b"REPLCONF", b"capa", b"psync2"]))
        .expect("write");
    t.write_all(&encode(&[
        b"PSYNC",
        replid.as_bytes(),
        from.to_string().as_bytes(),
    ]))
    .expect("write");
    let expected = format!("+OK\r\n+CONTINUE {replid}\r\n");
    let mut head = vec![0u8; expected.len()];
    t.read_exact(&mut head).expect("PSYNC reply");
    assert_eq!(String::from_utf8_lossy(&head), expected);
    let mut body = vec![0u8; len];
    t.read_exact(&mut body).expect("stream bytes");
    body
}

/// Splits a RESP stream of multibulk commands; panics on anything else, so
/// a gap or a torn record fails the test.
fn parse_commands(mut b: &[u8]) -> Vec<Vec<Vec<u8>>> {
    fn line<'a>(b: &mut &'a [u8]) -> &'a [u8] {
        let end = b.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let l = &b[..end];
        *b = &b[end + 2..];
        l
    }
    let mut out = Vec::new();
    while !b.is_empty() {
        let head = line(&mut b);
        assert_eq!(
            head[0],
            b'*',
            "not a multibulk: {:?}",
            String::from_utf8_lossy(head)
        );
        let n: usize = std::str::from_utf8(&head[1..]).unwrap().parse().unwrap();
        let mut argv = Vec::new();
        for _ in 0..n {
            let h = line(&mut b);
            assert_eq!(h[0], b'$');
            let len: usize = std::str::from_utf8(&h[1..]).unwrap().parse().unwrap();
            argv.push(b[..len].to_vec());
            assert_eq!(&b[len..len + 2], b"\r\n");
            b = &b[len + 2..];
        }
        out.push(argv);
    }
    out
}

/// Every key and its string value, sorted (the test only writes strings).
fn dump(port: u16) -> Vec<(String, String)> {
    let mut c = crate::common::Conn::connect(port);
    let mut keys = crate::reply::bulk_items(&c.cmd(&["KEYS", "*"]));
    keys.sort();
    keys.into_iter()
        .map(|k| {
            let k = String::from_utf8(k).unwrap();
            let v = c.cmd_str(&["GET", &k]);
            (k, v)
        })
        .collect()
}

#[test]
fn the_stream_is_kept_by_offset_and_reads_back_from_any_point() {
    let s = Strata::start();
    let (replid, start) = position(&s);
    let mut c = s.conn();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SELECT", "3"]);
    c.cmd(&["INCR", "n"]);
    c.cmd(&["DEL", "missing"]); // changes nothing: propagates nothing
    let (_, end) = position(&s);
    let stream = read_stream(&s, &replid, start + 1, (end - start) as usize);
    assert_eq!(
        String::from_utf8_lossy(&stream),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
         *2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    );
    // From the middle of it too.
    let tail = read_stream(&s, &replid, end - 13, 14);
    assert_eq!(tail, stream[stream.len() - 14..]);
    // A live follower gets later writes as they commit.
    let mut t = TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    t.set_read_timeout(Some(Duration::from_secs(20))).ok();
    t.write_all(&encode(&[b"REPLCONF", b"capa", b"psync2"]))
        .unwrap();
    t.write_all(&encode(&[
        b"PSYNC",
        replid.as_bytes(),
        (end + 1).to_string().as_bytes(),
    ]))
    .unwrap();
    let mut head = vec![0u8; format!("+OK\r\n+CONTINUE {replid}\r\n").len()];
    t.read_exact(&mut head).unwrap();
    c.cmd(&["SET", "b", "2"]);
    let expected = b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n";
    let mut got = vec![0u8; expected.len()];
    t.read_exact(&mut got).unwrap();
    assert_eq!(got, expected);
    // An unknown replid or an offset beyond the end gets a full resync.
    let mut c2 = s.conn();
    let r = c2.cmd_str(&["PSYNC", &"0".repeat(40), "1"]);
    assert!(r.starts_with("+FULLRESYNC "), "{r}");
    let mut c3 = s.conn();
    let r = c3.cmd_str(&["PSYNC", &replid, &(end + 1_000_000).to_string()]);
    assert!(r.starts_with(&format!("+FULLRESYNC {replid} ")), "{r}");
}

/// kill -9 in the middle of a write load: after the restart the offset is
/// exactly the length of the stream kept, the stream is gap-free from the
/// first byte, and replaying it into a real Redis gives Strata's data.
#[test]
fn after_kill_9_data_stream_and_offset_agree() {
    let mut s = Strata::start_with(&["--appendfsync", "no"]);
    let (replid, start) = position(&s);
    assert_eq!(start, 0, "a new server starts at offset 0");
    for round in 0..3u32 {
        let mut c = s.conn();
        let mut pipeline = Vec::new();
        for i in 0..3000u32 {
            let key = format!("k{}", (i * 7 + round) % 500);
            let val = format!("{round}-{i}");
            pipeline.extend(encode(&[b"SET", key.as_bytes(), val.as_bytes()]));
            pipeline.extend(encode(&[b"INCRBY", b"total", b"1"]));
            if i % 50 == 0 {
                pipeline.extend(encode(&[b"DEL", key.as_bytes()]));
            }
        }
        c.send_raw(&pipeline);
        std::thread::sleep(Duration::from_millis(40));
        s.kill9_and_restart();
    }
    let (replid_after, end) = position(&s);
    assert_eq!(replid_after, replid, "the replication id survives restarts");
    assert!(end > 0);
    let stream = read_stream(&s, &replid, 1, end as usize);
    let commands = parse_commands(&stream);
    assert!(!commands.is_empty());
    // Replay into a real Redis: same data.
    let redis = Redis::start();
    let mut r = redis.conn();
    for argv in &commands {
        let args: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
        r.send(&args);
        let reply = r.read_reply();
        assert!(
            !reply.starts_with(b"-"),
            "replayed command failed: {reply:?}"
        );
    }
    assert_eq!(dump(s.port), dump(redis.port));
}

/// CLIENT PAUSE WRITE freezes the offset: expiry deletes nothing (reads
/// only hide the expired key), so a failover can wait for replicas to
/// catch up. After the pause, the first lookup deletes the key and its DEL
/// (UNLINK under `lazyfree-lazy-expire`) enters the stream.
#[test]
fn client_pause_freezes_expiry_and_the_offset() {
    let s = Strata::start_with(&["--lazyfree-lazy-expire", "yes"]);
    let mut c = s.conn();
    c.cmd(&["SET", "k", "v", "PX", "50"]);
    let (replid, before) = position(&s);
    assert!(c
        .cmd_str(&["CLIENT", "PAUSE", "2000", "WRITE"])
        .starts_with("+OK"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        c.cmd(&["GET", "k"]),
        b"$-1\r\n",
        "an expired key reads as missing"
    );
    assert_eq!(
        c.cmd(&["DBSIZE"]),
        b":1\r\n",
        "but is not deleted while paused"
    );
    assert_eq!(position(&s).1, before, "the offset stands still");
    c.cmd(&["CLIENT", "UNPAUSE"]);
    assert_eq!(c.cmd(&["GET", "k"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), b":0\r\n");
    let (_, after) = position(&s);
    let stream = read_stream(&s, &replid, before + 1, (after - before) as usize);
    assert_eq!(stream, b"*2\r\n$6\r\nUNLINK\r\n$1\r\nk\r\n");
}

/// `repl-backlog-ttl`: a master left without replicas for that long
/// releases its backlog as Redis frees it (new id, no replid2, INFO's
/// `repl_backlog_active:0`), so the replica that comes back afterwards
/// gets a full resync; a replica attaching makes it active again.
#[test]
fn the_backlog_is_released_after_repl_backlog_ttl_without_replicas() {
    use crate::replica_sync::{info_field, stat, wait_for};
    let master = Strata::start_with(&["--repl-backlog-ttl", "2"]);
    let mut m = master.conn();
    let port = master.port.to_string();
    let mut replica = Strata::start_with(&["--replicaof", "127.0.0.1", &port]);
    for i in 0..50 {
        m.cmd(&["set", &format!("k{i}"), "v"]);
    }
    let repl =
        |c: &mut crate::common::Conn, f: &str| info_field(c, "replication", f).unwrap_or_default();
    wait_for("the replica to catch up", 60, || {
        let mut r = replica.conn();
        repl(&mut r, "master_link_status") == "up"
            && repl(&mut r, "master_repl_offset") == repl(&mut m, "master_repl_offset")
    });
    let old_id = repl(&mut m, "master_replid");
    assert!(replica.terminate());
    m.cmd(&["set", "while-away", "1"]);
    wait_for("the backlog to be released", 30, || {
        repl(&mut m, "repl_backlog_active") == "0"
    });
    assert_ne!(repl(&mut m, "master_replid"), old_id);
    assert_eq!(repl(&mut m, "master_replid2"), "0".repeat(40));
    assert_eq!(repl(&mut m, "repl_backlog_first_byte_offset"), "0");
    assert_eq!(repl(&mut m, "repl_backlog_histlen"), "0");
    let full_before = stat(&mut m, "sync_full");
    replica.restart();
    wait_for("the replica to resync", 60, || {
        let mut r = replica.conn();
        repl(&mut r, "master_link_status") == "up"
            && r.cmd(&["get", "while-away"]) == b"$1\r\n1\r\n"
    });
    assert_eq!(stat(&mut m, "sync_full"), full_before + 1, "a full resync");
    assert_eq!(stat(&mut m, "sync_partial_err"), 1);
    assert_eq!(repl(&mut m, "repl_backlog_active"), "1");
}
