//! Blocking commands with several real clients: each scenario runs against
//! Strata and a real redis-server, and every client's replies must match.
//! Clients are sequenced by polling `blocked_clients` in INFO, never by
//! sleeping and hoping.

use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::common::{show_bytes, Conn, Diff, Redis, Strata};

/// Waits until the server reports `n` blocked clients (bounded).
fn wait_blocked(port: u16, n: usize) {
    let mut c = Conn::connect(port);
    let want = format!("blocked_clients:{n}\r\n");
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let info = c.cmd_str(&["INFO", "clients"]);
        if info.contains(&want) {
            return;
        }
        assert!(Instant::now() < until, "never reached {want:?}: {info}");
        sleep(Duration::from_millis(5));
    }
}

/// One client's step in a scenario.
enum Step<'a> {
    /// Client `i` sends a command and does not wait for its reply.
    Send(usize, &'a [&'a str]),
    /// Wait until this many clients are blocked.
    Blocked(usize),
    /// Client `i` reads one reply (recorded for comparison).
    Read(usize),
    /// Client `i` sends a command and reads its reply (recorded).
    Cmd(usize, &'a [&'a str]),
}

/// Runs `steps` with `clients` connections to `port`; returns every reply
/// read, raw.
fn run(port: u16, clients: usize, steps: &[Step<'_>]) -> Vec<Vec<u8>> {
    let mut conns: Vec<Conn> = (0..clients).map(|_| Conn::connect(port)).collect();
    let mut replies = Vec::new();
    for step in steps {
        match step {
            Step::Send(i, args) => {
                let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
                conns[*i].send(&a);
            }
            Step::Blocked(n) => wait_blocked(port, *n),
            Step::Read(i) => replies.push(conns[*i].read_reply()),
            Step::Cmd(i, args) => replies.push(conns[*i].cmd(args)),
        }
    }
    replies
}

#[track_caller]
fn same(clients: usize, steps: &[Step<'_>]) -> Vec<String> {
    let s = Strata::start();
    let r = Redis::start();
    let got = run(s.port, clients, steps);
    let want = run(r.port, clients, steps);
    let show = |v: &[Vec<u8>]| v.iter().map(|b| show_bytes(b)).collect::<Vec<_>>();
    assert!(
        got == want,
        "replies differ\n  Strata: {:?}\n  Redis:  {:?}",
        show(&got),
        show(&want)
    );
    // As text for the callers' own checks, once the bytes are known equal.
    got.iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

use Step::*;

#[test]
fn clients_are_served_in_the_order_they_blocked() {
    let got = same(
        4,
        &[
            Send(0, &["BLPOP", "q", "0"]),
            Blocked(1),
            Send(1, &["BRPOP", "other", "q", "0"]),
            Blocked(2),
            Send(2, &["BLPOP", "q", "0"]),
            Blocked(3),
            Cmd(3, &["RPUSH", "q", "a", "b"]),
            Read(0),
            Read(1),
            Cmd(3, &["LPUSH", "q", "c"]),
            Read(2),
            Cmd(3, &["EXISTS", "q"]),
            Cmd(3, &["INFO", "nosuchsection"]),
        ],
    );
    assert_eq!(got[1], "*2\r\n$1\r\nq\r\n$1\r\na\r\n");
}

#[test]
fn timeouts_errors_and_immediate_service() {
    let mut d = Diff::new();
    d.script(
        r#"
        BLPOP k -1
        BLPOP k abc
        BLPOP k 1e300
        BLPOP k inf
        BLPOP k ""
        BLPOP k 0x10x
        BLMOVE a b LEFT UP 0
        BLMOVE a b LEFT RIGHT -1
        BLMPOP -1 1 k LEFT
        BLMPOP 0 0 k LEFT
        BLMPOP 0 1 k MIDDLE
        BLMPOP 0 1 k LEFT COUNT 0
        BZPOPMIN z -0.5
        BZMPOP 0 1 z BOTH
        SET s str
        BLPOP s 0
        BLPOP nokey s 0
        BRPOPLPUSH s d 0
        BZPOPMAX s 0
        RPUSH l1 x y z w v
        BLPOP s2 l1 0
        BRPOP l1 s 0
        BLMPOP 0 2 nokey l1 RIGHT COUNT 2
        BLMOVE l1 s LEFT LEFT 0
        LRANGE l1 0 -1
        ZADD z 1 a 2 b 3 c
        BZPOPMIN z 0
        BZPOPMAX nokey z 0
        BZMPOP 0 1 z MIN COUNT 10
        EXISTS z
        BLPOP k 0.01
        BRPOPLPUSH k d 0.01
        BZPOPMIN k 0.01
        BLMPOP 0.01 1 k LEFT
        "#,
    );
    d.resp3();
    d.script(
        r#"
        BLPOP k 0.01
        BLMOVE k d LEFT LEFT 0.01
        ZADD z3 1.5 m
        BZPOPMIN z3 0
        "#,
    );
}

#[test]
fn blmove_and_rename_targets_wake_clients() {
    same(
        3,
        &[
            Send(0, &["BLPOP", "dst", "0"]),
            Blocked(1),
            Send(1, &["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]),
            Blocked(2),
            // src wakes client 1, whose move to dst then wakes client 0.
            Cmd(2, &["RPUSH", "src", "x"]),
            Read(1),
            Read(0),
            Cmd(2, &["EXISTS", "src", "dst"]),
            Send(0, &["BLPOP", "renamed", "0"]),
            Blocked(1),
            Cmd(2, &["RPUSH", "tmp", "y"]),
            Cmd(2, &["RENAME", "tmp", "renamed"]),
            Read(0),
            Send(0, &["BZPOPMIN", "zdst", "0"]),
            Blocked(1),
            Cmd(2, &["ZADD", "ztmp", "1", "m"]),
            Cmd(2, &["COPY", "ztmp", "zdst"]),
            Read(0),
        ],
    );
}

#[test]
fn type_changes_and_wrongtype_destinations() {
    same(
        3,
        &[
            // A key that becomes another type keeps the client waiting.
            Send(0, &["BLPOP", "k", "0"]),
            Blocked(1),
            Cmd(2, &["SET", "k", "str"]),
            Cmd(2, &["DEL", "k"]),
            Cmd(2, &["ZADD", "k", "1", "m"]),
            Cmd(2, &["DEL", "k"]),
            Cmd(2, &["RPUSH", "k", "v"]),
            Read(0),
            // A destination of another type fails the blocked BLMOVE.
            Send(1, &["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]),
            Blocked(1),
            Cmd(2, &["SET", "dst", "str"]),
            Cmd(2, &["RPUSH", "src", "a"]),
            Read(1),
            Cmd(2, &["LRANGE", "src", "0", "-1"]),
        ],
    );
}

#[test]
fn client_unblock_and_mpop_counts() {
    same(
        3,
        &[
            Send(0, &["BLPOP", "k", "0"]),
            Blocked(1),
            Cmd(2, &["CLIENT", "UNBLOCK", "999999", "TIMEOUT"]),
            Cmd(2, &["CLIENT", "UNBLOCK", "1", "MAYBE"]),
            Cmd(2, &["CLIENT", "UNBLOCK", "x"]),
        ],
    );
    // Client ids differ between servers, so UNBLOCK is checked per server.
    let s = Strata::start();
    let r = Redis::start();
    let mut outs = Vec::new();
    for port in [s.port, r.port] {
        let mut a = Conn::connect(port);
        let mut b = Conn::connect(port);
        let id = a.cmd_str(&["CLIENT", "ID"]);
        let id = id.trim_start_matches(':').trim_end().to_string();
        a.send(&[
            b"BLMPOP", b"0", b"2", b"k1", b"k2", b"RIGHT", b"COUNT", b"2",
        ]);
        wait_blocked(port, 1);
        let unblocked = b.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]);
        let reply = a.read_reply();
        a.send(&[b"BZMPOP", b"0", b"1", b"z", b"MAX", b"COUNT", b"2"]);
        wait_blocked(port, 1);
        let list = b.cmd_str(&["CLIENT", "LIST"]);
        assert!(list.contains(" flags=b "), "{list}");
        let added = b.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
        let served = a.read_reply();
        a.send(&[b"BLPOP", b"k", b"0"]);
        wait_blocked(port, 1);
        let timed = b.cmd(&["CLIENT", "UNBLOCK", &id]);
        let reply2 = a.read_reply();
        outs.push(vec![unblocked, reply, added, served, timed, reply2]);
    }
    let show = |v: &[Vec<u8>]| v.iter().map(|b| show_bytes(b)).collect::<Vec<_>>();
    assert!(
        outs[0] == outs[1],
        "replies differ\n  Strata: {:?}\n  Redis:  {:?}",
        show(&outs[0]),
        show(&outs[1])
    );
    assert_eq!(
        outs[0][1],
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
}

/// A client that disconnects while blocked must not swallow an element.
#[test]
fn a_disconnected_client_takes_nothing() {
    let s = Strata::start();
    let mut a = s.conn();
    a.send(&[b"BLPOP", b"k", b"0"]);
    wait_blocked(s.port, 1);
    drop(a);
    wait_blocked(s.port, 0);
    let mut b = s.conn();
    assert_eq!(b.cmd_str(&["RPUSH", "k", "v"]), ":1\r\n");
    assert_eq!(b.cmd_str(&["LLEN", "k"]), ":1\r\n");
}

/// Requests pipelined behind a blocking command wait for it, as in Redis.
#[test]
fn pipelined_requests_wait_behind_a_blocked_command() {
    same(
        2,
        &[
            Send(0, &["BLPOP", "k", "0"]),
            Send(0, &["LLEN", "k"]),
            Blocked(1),
            Cmd(1, &["RPUSH", "k", "a", "b"]),
            Read(0),
            Read(0),
        ],
    );
}

/// A sub-second timeout ends the wait with a null reply.
#[test]
fn sub_second_timeouts_expire() {
    same(
        2,
        &[
            Send(0, &["BLPOP", "k", "0.2"]),
            Blocked(1),
            Read(0),
            Cmd(1, &["INFO", "nosuchsection"]),
            Send(0, &["BZPOPMIN", "z", "0.05"]),
            Read(0),
        ],
    );
}

/// Waiters belong to the database index they named: after SWAPDB, a push
/// to the other index does not serve them, a push to theirs does.
#[test]
fn swapdb_keeps_waiters_on_their_database_index() {
    same(
        2,
        &[
            Send(0, &["BLPOP", "k", "0"]),
            Blocked(1),
            Cmd(1, &["SWAPDB", "0", "1"]),
            Cmd(1, &["SELECT", "1"]),
            Cmd(1, &["RPUSH", "k", "in-db1"]),
            Cmd(1, &["SELECT", "0"]),
            Cmd(1, &["RPUSH", "k", "in-db0"]),
            Read(0),
            Cmd(1, &["SELECT", "1"]),
            Cmd(1, &["LRANGE", "k", "0", "-1"]),
        ],
    );
}
