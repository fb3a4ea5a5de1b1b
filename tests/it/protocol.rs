//! Protocol tests against real Redis: the same raw bytes go to both servers
//! and the raw replies, plus whether the connection was closed afterwards,
//! must be identical. Covers inline commands, pipelining, every protocol
//! error, split writes, NOAUTH limits, the query-buffer limit and binary
//! safety; one test drives Strata with the `redis` crate like an app would.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{encode, Redis, Strata};

/// What a server did with some bytes: everything it sent back, and whether
/// it closed the connection.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// The bytes read, compared exactly.
    raw: Vec<u8>,
    /// The same bytes as text, for assertions on ASCII replies.
    reply: String,
    closed: bool,
}

fn open(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    s
}

/// Reads until the server closes the connection or stays silent for
/// `idle` (once it has sent at least `min_len` bytes, or after 3 s).
fn collect(stream: &mut TcpStream, idle: Duration, min_len: usize) -> Outcome {
    let mut out = Vec::new();
    let mut closed = false;
    let hard = Instant::now() + Duration::from_secs(3);
    stream.set_read_timeout(Some(idle)).ok();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if out.len() >= min_len || Instant::now() > hard {
                    break;
                }
            }
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    Outcome {
        reply: String::from_utf8_lossy(&out).into_owned(),
        raw: out,
        closed,
    }
}

/// Sends `bytes` in one write (ignoring a reset from a server that closed
/// early) and collects the outcome.
fn exchange(port: u16, bytes: &[u8], expect_len: usize) -> Outcome {
    let mut s = open(port);
    let _ = s.write_all(bytes);
    collect(&mut s, Duration::from_millis(400), expect_len)
}

/// At most 300 bytes of a request or reply, for failure messages.
fn short(bytes: &[u8]) -> String {
    let cut = bytes.len().min(300);
    let more = if bytes.len() > cut { "..." } else { "" };
    format!("\"{}\"{more}", bytes[..cut].escape_ascii())
}

/// Both servers, plus helpers that compare them.
struct Pair {
    strata: Strata,
    redis: Redis,
}

impl Pair {
    fn start() -> Pair {
        Pair::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> Pair {
        Pair {
            strata: Strata::start_with(extra),
            redis: Redis::start_with(extra),
        }
    }

    /// Same bytes to both; outcomes must be identical. Returns Redis's.
    #[track_caller]
    fn same(&self, bytes: &[u8]) -> Outcome {
        let r = exchange(self.redis.port, bytes, 1);
        let s = exchange(self.strata.port, bytes, r.raw.len());
        assert!(
            s == r,
            "outcome of {:?} differs\n  Strata: {} closed={}\n  Redis:  {} closed={}",
            short(bytes),
            short(&s.raw),
            s.closed,
            short(&r.raw),
            r.closed
        );
        r
    }
}

#[test]
fn inline_commands_match_redis() {
    let p = Pair::start();
    p.same(b"PING\r\n");
    p.same(b"PING\n");
    p.same(b"ping hello\r\n");
    p.same(b"\r\n\r\nPING\r\n");
    p.same(b"   PING   \r\n");
    p.same(b"ECHO \"hello world\"\r\n");
    p.same(b"ECHO 'single quoted'\r\n");
    p.same(b"ECHO \"esc\\x41\\n\\t\\\"q\\\"\"\r\n");
    p.same(b"ECHO 'it\\'s'\r\n");
    p.same(b"SET inl \"a b\"\r\nGET inl\r\n");
    p.same(b"ECHO \"\"\r\n");
    // Unbalanced quotes: protocol error and the connection is closed.
    p.same(b"ECHO \"abc\r\n");
    p.same(b"ECHO 'abc\r\n");
    p.same(b"ECHO \"abc\"def\r\n");
    // Unknown command through the inline path.
    p.same(b"FOO bar baz\r\n");
}

#[test]
fn protocol_errors_match_redis() {
    let p = Pair::start();
    let cases: &[&[u8]] = &[
        b"*x\r\n",
        b"*1\r\nfoo\r\n",
        b"*1\r\n$-5\r\n",
        b"*1\r\n$x\r\n",
        b"*1\r\n$600000000\r\n",
        b"*3000000000\r\n",
        b"*-1\r\nPING\r\n",
        b"*0\r\nPING\r\n",
        b"*1\r\n$4\r\nPINGxx\r\n",
        b"*2\r\n$4\r\nECHO\r\n:1\r\n",
    ];
    for case in cases {
        p.same(case);
    }
    // An inline request over 64 KiB with no newline.
    let mut big = vec![b'a'; 70 * 1024];
    p.same(&big);
    // A multibulk count / bulk length line over 64 KiB.
    big[0] = b'*';
    p.same(&big);
    let mut bulk_len = b"*1\r\n$".to_vec();
    bulk_len.extend(std::iter::repeat_n(b'1', 70 * 1024));
    p.same(&bulk_len);
}

#[test]
fn command_before_protocol_error_still_runs() {
    let p = Pair::start();
    let mut bytes = encode(&[b"SET", b"before", b"yes"]);
    bytes.extend_from_slice(b"*x\r\n");
    p.same(&bytes);
    let check = encode(&[b"GET", b"before"]);
    let out = p.same(&check);
    assert_eq!(out.reply, "$3\r\nyes\r\n");
}

#[test]
fn pipelined_replies_arrive_in_order() {
    let p = Pair::start();
    let mut bytes = Vec::new();
    for i in 0..2000 {
        let k = format!("pipe{}", i % 50);
        let v = format!("value-{i}");
        bytes.extend(encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
        bytes.extend(encode(&[b"GET", k.as_bytes()]));
        bytes.extend(encode(&[b"ECHO", v.as_bytes()]));
    }
    let out = p.same(&bytes);
    assert!(out.reply.ends_with("$10\r\nvalue-1999\r\n"));
    assert!(!out.closed);
}

#[test]
fn requests_split_byte_by_byte() {
    let p = Pair::start();
    let mut bytes = encode(&[b"SET", b"split", b"a\r\nb"]);
    bytes.extend(encode(&[b"GET", b"split"]));
    bytes.extend_from_slice(b"ECHO inline\r\n");
    let mut outcomes = Vec::new();
    for port in [p.strata.port, p.redis.port] {
        let mut s = open(port);
        for b in &bytes {
            s.write_all(&[*b]).expect("write");
            s.flush().ok();
            std::thread::sleep(Duration::from_micros(200));
        }
        outcomes.push(collect(&mut s, Duration::from_millis(400), 1));
    }
    assert_eq!(outcomes[0], outcomes[1]);
    assert_eq!(outcomes[1].reply, "+OK\r\n$4\r\na\r\nb\r\n$6\r\ninline\r\n");
}

#[test]
fn protocol_error_does_not_disturb_other_clients() {
    let strata = Strata::start();
    let mut good = open(strata.port);
    good.write_all(&encode(&[b"SET", b"g", b"1"]))
        .expect("write");
    assert_eq!(
        collect(&mut good, Duration::from_millis(300), 5).reply,
        "+OK\r\n"
    );
    let bad = exchange(strata.port, b"*1\r\n$-5\r\n", 1);
    assert!(bad.closed);
    assert!(bad.reply.starts_with("-ERR Protocol error"));
    good.write_all(&encode(&[b"GET", b"g"])).expect("write");
    let out = collect(&mut good, Duration::from_millis(300), 7);
    assert_eq!(out.reply, "$1\r\n1\r\n");
    assert!(!out.closed);
}

#[test]
fn unknown_command_and_wrong_arity_texts() {
    let p = Pair::start();
    p.same(&encode(&[b"NOSUCH"]));
    p.same(&encode(&[b"nosuch", b"a", b"b c"]));
    let long = vec![b'x'; 300];
    p.same(&encode(&[b"nosuch", &long]));
    p.same(&encode(&[b"GET"]));
    p.same(&encode(&[b"get", b"a", b"b"]));
    p.same(&encode(&[b"SET", b"a"]));
    p.same(&encode(&[b"PING", b"a", b"b"]));
    p.same(&encode(&[b"ECHO"]));
    p.same(&encode(&[b"SELECT"]));
    p.same(&encode(&[b""]));
}

#[test]
fn noauth_and_unauthenticated_limits() {
    let p = Pair::start_with(&["--requirepass", "secret"]);
    p.same(&encode(&[b"GET", b"k"]));
    p.same(&encode(&[b"PING"]));
    p.same(b"PING\r\n");
    p.same(&encode(&[b"AUTH", b"wrong"]));
    p.same(&encode(&[b"AUTH", b"default", b"wrong"]));
    p.same(&encode(&[b"NOSUCH"]));
    // Unauthenticated clients may not declare more than 10 arguments or
    // bulks over 16 KiB (Redis 7.0 protects itself from unauthenticated floods).
    p.same(b"*11\r\n");
    p.same(b"*10\r\n$4\r\nPING\r\n");
    p.same(b"*2\r\n$4\r\nECHO\r\n$16385\r\n");
    let mut ok_bulk = b"*2\r\n$4\r\nECHO\r\n$16384\r\n".to_vec();
    ok_bulk.extend(vec![b'a'; 16384]);
    ok_bulk.extend_from_slice(b"\r\n");
    p.same(&ok_bulk);
    // After AUTH (in its own write) both limits are gone.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p.strata.port)).expect("connect");
    let mut r = std::net::TcpStream::connect(("127.0.0.1", p.redis.port)).expect("connect");
    let auth = encode(&[b"AUTH", b"secret"]);
    let args: Vec<&[u8]> = std::iter::once(&b"PING"[..])
        .chain(std::iter::repeat_n(&b"a"[..], 11))
        .collect();
    let many = encode(&args);
    let mut outs = Vec::new();
    for c in [&mut s, &mut r] {
        c.write_all(&auth).expect("write");
        let first = collect(c, Duration::from_millis(300), 5);
        c.write_all(&many).expect("write");
        outs.push((first, collect(c, Duration::from_millis(300), 10)));
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(
        outs[1].1.reply,
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
}

/// AUTH followed, in the same write, by a command with more than 10
/// arguments: Redis parses and runs one command at a time, so the limit is
/// already lifted when the second command is parsed.
#[test]
fn auth_lifts_limits_within_one_pipeline() {
    let p = Pair::start_with(&["--requirepass", "secret"]);
    let mut bytes = encode(&[b"AUTH", b"secret"]);
    let args: Vec<&[u8]> = std::iter::once(&b"PING"[..])
        .chain(std::iter::repeat_n(&b"a"[..], 11))
        .collect();
    bytes.extend(encode(&args));
    let mut big = b"*2\r\n$4\r\nECHO\r\n$20000\r\n".to_vec();
    big.extend(vec![b'e'; 20000]);
    big.extend_from_slice(b"\r\n");
    bytes.extend(big);
    p.same(&bytes);
}

#[test]
fn query_buffer_limit_disconnects_only_the_offender() {
    let p = Pair::start_with(&["--client-query-buffer-limit", "1mb"]);
    for port in [p.strata.port, p.redis.port] {
        let mut other = open(port);
        other
            .write_all(&encode(&[b"SET", b"other", b"ok"]))
            .expect("write");
        assert_eq!(
            collect(&mut other, Duration::from_millis(300), 5).reply,
            "+OK\r\n"
        );

        // A 2 MB bulk argument sent in pieces: the server must close the
        // connection once the buffered query passes 1 MB.
        let mut hog = open(port);
        let _ = hog.write_all(b"*3\r\n$3\r\nSET\r\n$3\r\nhog\r\n$2000000\r\n");
        let chunk = vec![b'z'; 64 * 1024];
        let mut closed_early = false;
        for _ in 0..40 {
            if hog.write_all(&chunk).is_err() {
                closed_early = true;
                break;
            }
        }
        let out = collect(&mut hog, Duration::from_millis(500), 0);
        assert!(
            closed_early || out.closed,
            "port {port}: query over the limit did not close the connection: {out:?}"
        );

        other
            .write_all(&encode(&[b"GET", b"other"]))
            .expect("write");
        let out = collect(&mut other, Duration::from_millis(300), 8);
        assert_eq!(out.reply, "$2\r\nok\r\n", "port {port}");
        other.write_all(&encode(&[b"GET", b"hog"])).expect("write");
        let out = collect(&mut other, Duration::from_millis(300), 5);
        assert_eq!(out.reply, "$-1\r\n", "port {port}");
    }
}

#[test]
fn binary_safe_values() {
    let p = Pair::start();
    let value: &[u8] = b"\r\n\x00*1\r\n$3\r\nfoo\r\n\x00\xff";
    let mut bytes = encode(&[b"SET", b"bin\r\nkey\x00", value]);
    bytes.extend(encode(&[b"GET", b"bin\r\nkey\x00"]));
    bytes.extend(encode(&[b"ECHO", value]));
    let out = p.same(&bytes);
    assert!(out.reply.starts_with("+OK\r\n$18\r\n"));
}

/// Typical application use through the `redis` crate: commands and a pipeline.
#[test]
fn redis_crate_client_works() {
    use redis::Commands;
    let strata = Strata::start();
    let mut con = strata.client();
    let () = con.set("user:1", "alice").expect("set");
    let name: String = con.get("user:1").expect("get");
    assert_eq!(name, "alice");
    let missing: Option<String> = con.get("user:2").expect("get missing");
    assert_eq!(missing, None);
    let bytes: Vec<u8> = vec![0, 1, 2, 255, b'\r', b'\n'];
    let () = con.set("blob", bytes.as_slice()).expect("set blob");
    let back: Vec<u8> = con.get("blob").expect("get blob");
    assert_eq!(back, bytes);
    let (a, b): (String, String) = redis::pipe()
        .set("p1", "one")
        .ignore()
        .set("p2", "two")
        .ignore()
        .get("p1")
        .get("p2")
        .query(&mut con)
        .expect("pipeline");
    assert_eq!((a.as_str(), b.as_str()), ("one", "two"));
    let pong: String = redis::cmd("PING").query(&mut con).expect("ping");
    assert_eq!(pong, "PONG");
}

/// Sends `bytes`, closes the write side, and reads everything until the
/// server closes: the complete conversation, independent of timing.
fn converse(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut s = open(port);
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(bytes).expect("write");
    s.shutdown(std::net::Shutdown::Write).ok();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read: {e} after {:?}", short(&out)),
        }
    }
}

/// Seeded random byte streams built from protocol fragments (valid requests,
/// broken headers, inline lines, stray bytes): Strata must answer every
/// stream exactly as Redis does, byte for byte, up to the close.
#[test]
fn random_byte_streams_match_redis() {
    let strata = Strata::start();
    let redis = Redis::start();
    let mut rng = crate::common::Rng(0x5eed_1234_abcd_0001);
    let fragments: Vec<Vec<u8>> = vec![
        encode(&[b"PING"]),
        encode(&[b"SET", b"k", b"v"]),
        encode(&[b"GET", b"k"]),
        encode(&[b"ECHO", b"a\r\nb"]),
        encode(&[b"INCR", b"n"]),
        encode(&[b"NOSUCH", b"x"]),
        encode(&[b"GET"]),
        b"PING\r\n".to_vec(),
        b"set i \"q\\x41\"\r\n".to_vec(),
        b"get i\n".to_vec(),
        b"\r\n".to_vec(),
        b"*0\r\n".to_vec(),
        b"*-1\r\n".to_vec(),
        b"*1\r\n$4\r\nPING\r\n".to_vec(),
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n".to_vec(),
        b"*x\r\n".to_vec(),
        b"*1\r\n#4\r\n".to_vec(),
        b"*1\r\n$-3\r\n".to_vec(),
        b"*1\r\n$abc\r\n".to_vec(),
        b"echo \"unbalanced\r\n".to_vec(),
        b"$".to_vec(),
        b"*".to_vec(),
        b" ".to_vec(),
        b"\x00\xff".to_vec(),
        b"*2\r\n$3\r\nGET\r\n".to_vec(),
        b"$3\r\nabc\r\n".to_vec(),
        b"*1\r\n$4\r\nPINGxx".to_vec(),
        b"'a' \"b\"c\r\n".to_vec(),
        b"ECHO \"\\x4\"\r\n".to_vec(),
        b"QUIT\r\n".to_vec(),
        b"*1\r\n$0\r\n\r\n".to_vec(),
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-1\r\n".to_vec(),
    ];
    for case in 0..400 {
        let mut stream = Vec::new();
        for _ in 0..1 + rng.below(6) {
            let fragment: &Vec<u8> = rng.pick(&fragments);
            stream.extend_from_slice(fragment);
        }
        let s = converse(strata.port, &stream);
        let r = converse(redis.port, &stream);
        assert_eq!(
            short(&s),
            short(&r),
            "case {case}: stream {:?}",
            short(&stream)
        );
    }
}

/// A reply larger than the sockets' buffers leaves in pieces: the server's
/// first, non-blocking write takes part of it and the rest waits for the
/// client to read. It arrives whole, in order, and before the next reply,
/// byte for byte as Redis sends it.
#[test]
fn a_reply_larger_than_the_socket_buffers_arrives_whole_and_in_order() {
    let strata = Strata::start();
    let redis = Redis::start();
    let value: Vec<u8> = (0..16usize << 20).map(|i| (i % 251) as u8).collect();
    let mut expected = format!("${}\r\n", value.len()).into_bytes();
    expected.extend_from_slice(&value);
    expected.extend_from_slice(b"\r\n+PONG\r\n");
    for (name, mut c) in [("strata", strata.conn()), ("redis", redis.conn())] {
        c.send(&[b"SET", b"big", &value]);
        assert_eq!(c.read_reply(), b"+OK\r\n", "{name}");
        let mut both = encode(&[b"GET", b"big"]);
        both.extend(encode(&[b"PING"]));
        c.send_raw(&both);
        // Not read yet: the reply fills the sockets and the server waits.
        std::thread::sleep(Duration::from_millis(300));
        let mut got = c.read_reply();
        got.extend(c.read_reply());
        assert!(got == expected, "{name}: {} bytes differ", got.len());
    }
}
