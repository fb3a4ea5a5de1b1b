//! Pipelines run as one unit (`server::pipeline`): the replies, the
//! propagated stream and the wake-ups of blocked clients must be exactly
//! Redis's, while the writes of a pipeline reach the engine as few batches.

use std::thread;
use std::time::{Duration, Instant};

use crate::common::{encode, Conn, Redis, Strata};
use crate::repl_tap::{same_command, show, ReplTap};

/// Sends `cmds` in one write and reads one reply per command.
fn pipeline(c: &mut Conn, cmds: &[Vec<&str>]) -> Vec<Vec<u8>> {
    let mut bytes = Vec::new();
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        bytes.extend_from_slice(&encode(&args));
    }
    c.send_raw(&bytes);
    cmds.iter().map(|_| c.read_reply()).collect()
}

fn committed_units(c: &mut Conn) -> u64 {
    let info = c.cmd_str(&["INFO", "engine"]);
    info.lines()
        .find_map(|l| l.strip_prefix("engine_committed_seq:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no engine_committed_seq in {info:?}"))
}

fn cmds(list: &[&[&'static str]]) -> Vec<Vec<&'static str>> {
    list.iter().map(|c| c.to_vec()).collect()
}

/// Reads and writes of one pipeline see each other as if each had
/// committed alone, errors included, and every reply equals Redis's.
#[test]
fn pipelined_replies_equal_redis_byte_for_byte() {
    let strata = Strata::start();
    let redis = Redis::start();
    let script = cmds(&[
        &["SET", "s", "1"],
        &["INCR", "s"],
        &["GET", "s"],
        &["APPEND", "s", "x"],
        &["INCR", "s"],
        &["SET", "s", "v", "NX"],
        &["SET", "n", "v", "NX"],
        &["GETSET", "n", "w"],
        &["LPUSH", "l", "a", "b", "c"],
        &["LRANGE", "l", "0", "-1"],
        &["RPOP", "l"],
        &["LLEN", "l"],
        &["HSET", "h", "f", "1", "g", "2"],
        &["HINCRBY", "h", "f", "5"],
        &["HGETALL", "h"],
        &["SADD", "set", "x", "y"],
        &["SISMEMBER", "set", "y"],
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZINCRBY", "z", "5", "a"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &["LPUSH", "s", "wrong"],
        &["EXPIRE", "s", "100"],
        &["TTL", "s"],
        &["PERSIST", "s"],
        &["SELECT", "1"],
        &["SET", "s", "db1"],
        &["GET", "s"],
        &["SELECT", "0"],
        &["DEL", "s", "n"],
        &["EXISTS", "s", "n", "l"],
        &["DBSIZE"],
        &["NOSUCHCOMMAND", "x"],
        &["GET"],
        &["GET", "l"],
    ]);
    let mut s = strata.conn();
    let mut r = redis.conn();
    let ours = pipeline(&mut s, &script);
    let theirs = pipeline(&mut r, &script);
    for ((cmd, a), b) in script.iter().zip(&ours).zip(&theirs) {
        assert_eq!(
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b),
            "reply to {cmd:?}"
        );
        assert_eq!(a, b, "reply bytes to {cmd:?}");
    }
}

/// A run of GETs is read ahead in one multi-get; what the pipeline wrote
/// before or between them, keys of other types, missing and expired keys
/// must read exactly as in Redis.
#[test]
fn pipelined_gets_read_ahead_like_redis() {
    let strata = Strata::start();
    let redis = Redis::start();
    let mut s = strata.conn();
    let mut r = redis.conn();
    for c in [&mut s, &mut r] {
        assert_eq!(c.cmd(&["SET", "gone", "x", "PX", "1"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["RPUSH", "list", "a"]), b":1\r\n");
    }
    thread::sleep(Duration::from_millis(20));
    let script = cmds(&[
        &["GET", "a"],
        &["GET", "b"],
        &["SET", "a", "1"],
        &["GET", "a"],
        &["GET", "a"],
        &["GET", "gone"],
        &["GET", "list"],
        &["GET", "missing"],
        &["APPEND", "b", "xyz"],
        &["GET", "b"],
        &["DEL", "a"],
        &["GET", "a"],
        &["GET", "b"],
        &["EXISTS", "gone"],
        &["DBSIZE"],
    ]);
    let ours = pipeline(&mut s, &script);
    let theirs = pipeline(&mut r, &script);
    for ((cmd, a), b) in script.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a, b, "reply to {cmd:?}");
    }
}

/// A run of pops of one list reads its elements ahead in one multi-get at
/// its first pop: runs that outlast the list, runs from both ends, pops
/// between pushes and LSETs must pop exactly as in Redis.
#[test]
fn pipelined_pops_read_ahead_like_redis() {
    let strata = Strata::start();
    let redis = Redis::start();
    let mut s = strata.conn();
    let mut r = redis.conn();
    let elements: Vec<String> = (0..40).map(|i| format!("e{i}")).collect();
    for c in [&mut s, &mut r] {
        let mut push = vec!["RPUSH", "l"];
        push.extend(elements.iter().map(String::as_str));
        assert_eq!(c.cmd(&push), b":40\r\n");
    }
    let mut script = cmds(&[&["LPOP", "l"], &["LPOP", "l"], &["LPOP", "l"]]);
    script.extend(cmds(&[
        &["RPOP", "l"],
        &["RPOP", "l"],
        &["LSET", "l", "0", "changed"],
    ]));
    script.extend(cmds(&[
        &["LPOP", "l"],
        &["LPOP", "l"],
        &["LPUSH", "l", "new"],
    ]));
    script.extend(cmds(&[&["LPOP", "l"], &["LPOP", "l"], &["RPOP", "l", "2"]]));
    script.extend(std::iter::repeat_n(vec!["LPOP", "l"], 40));
    script.extend(cmds(&[
        &["RPUSH", "l", "a", "b"],
        &["RPOP", "l"],
        &["RPOP", "l"],
        &["RPOP", "l"],
    ]));
    script.extend(cmds(&[
        &["EXISTS", "l"],
        &["LPOP", "nosuch"],
        &["LPOP", "nosuch"],
    ]));
    let ours = pipeline(&mut s, &script);
    let theirs = pipeline(&mut r, &script);
    for ((cmd, a), b) in script.iter().zip(&ours).zip(&theirs) {
        assert_eq!(a, b, "reply to {cmd:?}");
    }
}

/// A run of pops also reads ahead, into the record cache, the elements
/// later runs will pop: those runs, and every command that changes the
/// elements in between, must still see exactly what Redis does.
#[test]
fn pops_read_ahead_for_later_pipelines_like_redis() {
    let strata = Strata::start();
    let redis = Redis::start();
    let mut s = strata.conn();
    let mut r = redis.conn();
    let elements: Vec<String> = (0..400).map(|i| format!("e{i}")).collect();
    for c in [&mut s, &mut r] {
        let mut push = vec!["RPUSH", "l"];
        push.extend(elements.iter().map(String::as_str));
        assert_eq!(c.cmd(&push), b":400\r\n");
    }
    let pops = |cmd: &'static str, n: usize| vec![vec![cmd, "l"]; n];
    // Each line is one pipeline, so one unit: the first pops read ahead
    // for the next, and the lines between change what was read ahead.
    let lines: Vec<Vec<Vec<&str>>> = vec![
        pops("LPOP", 16),
        cmds(&[
            &["LSET", "l", "3", "set-ahead"],
            &["LSET", "l", "-3", "set-behind"],
        ]),
        pops("LPOP", 16),
        pops("RPOP", 16),
        cmds(&[&["LINSERT", "l", "BEFORE", "e40", "inserted"]]),
        pops("RPOP", 16),
        pops("LPOP", 8),
        cmds(&[&["LREM", "l", "1", "e45"], &["LPUSH", "l", "p1", "p2"]]),
        pops("LPOP", 16),
        cmds(&[&["LTRIM", "l", "2", "-3"]]),
        pops("LPOP", 16),
        pops("RPOP", 16),
        cmds(&[
            &["RPUSH", "l", "r1"],
            &["LRANGE", "l", "0", "5"],
            &["LRANGE", "l", "-5", "-1"],
        ]),
        pops("RPOP", 16),
        cmds(&[&["DEL", "l"], &["RPUSH", "l", "x", "y", "z"]]),
        pops("LPOP", 4),
        cmds(&[&["EXISTS", "l"]]),
    ];
    for line in &lines {
        let ours = pipeline(&mut s, line);
        let theirs = pipeline(&mut r, line);
        for ((cmd, a), b) in line.iter().zip(&ours).zip(&theirs) {
            assert_eq!(a, b, "reply to {cmd:?}");
        }
    }
}

/// A pipeline of writes commits as one engine batch, not one per command.
#[test]
fn a_pipeline_of_writes_commits_as_few_units() {
    let strata = Strata::start();
    let mut c = strata.conn();
    let keys: Vec<String> = (0..32).map(|i| format!("key:{i}")).collect();
    let script: Vec<Vec<&str>> = keys.iter().map(|k| vec!["SET", k.as_str(), "v"]).collect();
    let before = committed_units(&mut c);
    let replies = pipeline(&mut c, &script);
    let after = committed_units(&mut c);
    assert!(replies.iter().all(|r| r == b"+OK\r\n"));
    // One read normally carries the whole pipeline; a split read or a busy
    // key lock may cut it in a few more units, never in one per command.
    assert!(
        after - before <= 4,
        "32 pipelined SETs took {} units",
        after - before
    );
    assert_eq!(c.cmd(&["DBSIZE"]), b":32\r\n");
    // Pushes to one collection too, when no client is blocked on it: a
    // push readies its key, which ends the run only for a blocked client.
    for (cmd, key) in [("LPUSH", "list"), ("SADD", "set"), ("HSET", "hash")] {
        let members: Vec<String> = (0..32).map(|i| format!("m{i}")).collect();
        let script: Vec<Vec<&str>> = members
            .iter()
            .map(|m| match cmd {
                "HSET" => vec![cmd, key, m.as_str(), "v"],
                _ => vec![cmd, key, m.as_str()],
            })
            .collect();
        let before = committed_units(&mut c);
        let replies = pipeline(&mut c, &script);
        let after = committed_units(&mut c);
        assert!(
            after - before <= 4,
            "32 pipelined {cmd}s took {} units",
            after - before
        );
        let last = replies.last().expect("replies");
        let want: &[u8] = if cmd == "LPUSH" {
            b":32\r\n"
        } else {
            b":1\r\n"
        };
        assert_eq!(last.as_slice(), want, "{cmd}");
    }
    assert_eq!(c.cmd(&["LLEN", "list"]), b":32\r\n");
    assert_eq!(c.cmd(&["SCARD", "set"]), b":32\r\n");
    assert_eq!(c.cmd(&["HLEN", "hash"]), b":32\r\n");
}

/// Replicas see each pipelined command as Redis propagates it alone: no
/// MULTI around the pipeline, MULTI/EXEC only around a command with a
/// side effect (the DEL of a key found expired).
#[test]
fn the_stream_of_a_pipeline_equals_redis() {
    let strata = Strata::start_with(&["--enable-debug-command", "yes"]);
    let redis = Redis::start_with(&[
        "--repl-diskless-sync-delay",
        "0",
        "--enable-debug-command",
        "yes",
    ]);
    let mut s = strata.conn();
    let mut r = redis.conn();
    // Only the lazy expiry inside INCR may delete `old`.
    for c in [&mut s, &mut r] {
        assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["SET", "old", "1", "PX", "1"]), b"+OK\r\n");
    }
    let mut s_tap = ReplTap::attach_strata(strata.port);
    let mut r_tap = ReplTap::attach_redis(redis.port);
    thread::sleep(Duration::from_millis(20));
    // A read first: the unit's first group starts after it.
    let script = cmds(&[
        &["GET", "a"],
        &["SET", "a", "1"],
        &["INCR", "a"],
        &["INCR", "old"],
        &["SET", "b", "2", "EX", "100"],
        &["GET", "a"],
        &["LPUSH", "l", "x"],
        &["SETNX", "a", "no"],
        &["SET", "__marker__", "1"],
    ]);
    let ours = pipeline(&mut s, &script);
    let theirs = pipeline(&mut r, &script);
    assert_eq!(ours, theirs);
    let read = |tap: &mut ReplTap| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut frames = Vec::new();
        loop {
            let f = tap.next_command(deadline).expect("stream");
            let done = f.first().is_some_and(|n| n.eq_ignore_ascii_case(b"set"))
                && f.get(1).is_some_and(|k| k == b"__marker__");
            frames.push(f);
            if done {
                return frames;
            }
        }
    };
    // A leading SELECT depends on where the tap joined the stream (Redis's
    // full sync starts a new one), not on the pipeline.
    let skip_select = |mut f: Vec<Vec<Vec<u8>>>| {
        if f.first()
            .is_some_and(|c| c[0].eq_ignore_ascii_case(b"select"))
        {
            f.remove(0);
        }
        f
    };
    let ours = skip_select(read(&mut s_tap));
    let theirs = skip_select(read(&mut r_tap));
    let text = |f: &[Vec<Vec<u8>>]| f.iter().map(|c| show(c)).collect::<Vec<_>>().join(" | ");
    let why = format!("\n ours:  {}\n redis: {}", text(&ours), text(&theirs));
    assert_eq!(ours.len(), theirs.len(), "{why}");
    for (a, b) in ours.iter().zip(&theirs) {
        assert!(same_command(a, b), "{why}");
    }
    // The lazy DEL and its INCR are one transaction, the rest stands alone.
    let names: Vec<&[u8]> = ours.iter().map(|f| f[0].as_slice()).collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(b"multi"))
            .count(),
        1,
        "{why}"
    );
}

/// A push in a pipeline serves a client blocked on that key before the
/// pipeline's next command runs, as Redis does.
#[test]
fn a_blocked_client_is_served_before_the_next_pipelined_command() {
    let strata = Strata::start();
    let redis = Redis::start();
    let mut results = Vec::new();
    for port in [strata.port, redis.port] {
        let mut blocked = Conn::connect(port);
        blocked.send(&[b"BLPOP", b"q", b"10"]);
        let mut probe = Conn::connect(port);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(&probe.cmd(&["INFO", "clients"]))
            .contains("blocked_clients:1")
        {
            assert!(Instant::now() < deadline, "BLPOP never blocked");
            thread::sleep(Duration::from_millis(5));
        }
        let mut c = Conn::connect(port);
        let replies = pipeline(
            &mut c,
            &cmds(&[&["RPUSH", "q", "x", "y"], &["LPOP", "q"], &["LPOP", "q"]]),
        );
        results.push((replies, blocked.read_reply()));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].1, b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n");
}

/// Reads that lock their key (LLEN, LRANGE, ...) after a write in the same
/// pipeline never wait out of order: two pipelines, each a write of one key
/// then a read of the other's, used to wait on each other for good.
#[test]
fn pipelined_reads_after_writes_do_not_deadlock() {
    let strata = Strata::start();
    let port = strata.port;
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    for t in 0..4u64 {
        let done_tx = done_tx.clone();
        thread::spawn(move || {
            let mut c = Conn::connect(port);
            let mut rng = crate::common::Rng(0x5851_f42d_4c95_7f2d ^ (t + 1));
            let keys: Vec<String> = (0..16).map(|i| format!("l{i}")).collect();
            for _ in 0..300 {
                let mut script = Vec::new();
                for _ in 0..4 {
                    script.push(vec!["RPUSH", rng.pick(&keys).as_str(), "x"]);
                    script.push(vec!["LLEN", rng.pick(&keys).as_str()]);
                }
                for r in pipeline(&mut c, &script) {
                    assert!(r.starts_with(b":"), "{}", String::from_utf8_lossy(&r));
                }
            }
            let _ = done_tx.send(());
        });
    }
    for _ in 0..4 {
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a pipeline got stuck (deadlock?)");
    }
    assert_eq!(strata.conn().cmd(&["PING"]), b"+PONG\r\n");
}

/// Clients pipelining writes to the same keys in opposite orders never
/// deadlock, and every write lands.
#[test]
fn opposite_pipelines_on_shared_keys_do_not_deadlock() {
    let strata = Strata::start();
    let port = strata.port;
    let keys: Vec<String> = (0..64).map(|i| format!("k{i}")).collect();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let mut order = keys.clone();
            if w % 2 == 1 {
                order.reverse();
            }
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                for _ in 0..50 {
                    let script: Vec<Vec<&str>> =
                        order.iter().map(|k| vec!["INCR", k.as_str()]).collect();
                    for r in pipeline(&mut c, &script) {
                        assert!(r.starts_with(b":"), "{}", String::from_utf8_lossy(&r));
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let mut c = strata.conn();
    for k in &keys {
        assert_eq!(c.cmd(&["GET", k]), b"$3\r\n200\r\n", "{k}");
    }
}
