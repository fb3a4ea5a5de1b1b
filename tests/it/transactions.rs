//! MULTI / EXEC / DISCARD / WATCH / UNWATCH, compared with a real
//! redis-server, plus Strata's own promise: a transaction is one engine
//! batch, so a kill -9 never leaves half of it.

use std::time::Duration;

use crate::common::{Conn, Diff, Strata};

#[test]
fn queueing_exec_discard_and_their_errors() {
    let mut d = Diff::new();
    d.script(
        r#"
        EXEC
        DISCARD
        MULTI
        MULTI
        SET a 1
        INCR a
        GET a
        EXEC
        MULTI
        SET b 2
        DISCARD
        GET b
        MULTI
        WATCH a
        EXEC
        "#,
    );
}

#[test]
fn queue_time_errors_abort_and_run_time_errors_do_not_roll_back() {
    let mut d = Diff::new();
    d.script(
        r#"
        # A run-time error (WRONGTYPE, not an integer) does not undo the rest.
        SET s hello
        MULTI
        INCR s
        SET t 1
        LPUSH s x
        INCR t
        EXEC
        GET t
        # A queue-time error (unknown command, arity) aborts EXEC.
        MULTI
        SET u 1
        NOSUCHCOMMAND x
        SET v 1
        EXEC
        EXISTS u v
        MULTI
        SET u 1
        GET
        EXEC
        EXISTS u
        # Commands flagged no-multi are refused while queueing, and abort.
        MULTI
        SET w 1
        PSYNC x 1
        EXEC
        EXISTS w
        "#,
    );
}

#[test]
fn exec_replies_in_resp3_and_empty_transactions() {
    let mut d = Diff::new();
    d.resp3();
    d.script(
        r#"
        MULTI
        EXEC
        MULTI
        HSET h f v
        HGETALL h
        SADD st m
        SMEMBERS st
        ZADD z 1.5 m
        ZSCORE z m
        EXEC
        "#,
    );
}

/// WATCH is broken by every kind of change to the key, and only by a change.
#[test]
fn watch_is_broken_by_any_change_to_the_key() {
    let mut d = Diff::new();
    let mut s2 = d.strata.conn();
    let mut r2 = d.redis.conn();
    let changes: &[&[&str]] = &[
        &["SET", "k", "other"],
        &["DEL", "k"],
        &["EXPIRE", "k", "100"],
        &["APPEND", "k", "x"],
        &["RENAME", "k", "k2"],
        &["MOVE", "k", "1"],
        &["FLUSHDB"],
        &["FLUSHALL"],
    ];
    for change in changes {
        for c in [&mut d.s, &mut d.r] {
            c.cmd(&["FLUSHALL"]);
            c.cmd(&["SET", "k", "v"]);
        }
        d.check(&["WATCH", "k"]);
        // Another client changes the key (or, for the no-op below, does not).
        assert_eq!(s2.cmd(change), r2.cmd(change), "{change:?}");
        d.check(&["MULTI"]);
        d.check(&["SET", "k", "mine"]);
        let reply = d.check(&["EXEC"]);
        assert_eq!(reply, b"*-1\r\n", "EXEC after {change:?} must fail");
    }
    // Writes to other keys, reads and a no-op do not break it.
    for c in [&mut d.s, &mut d.r] {
        c.cmd(&["SET", "k", "v"]);
    }
    d.check(&["WATCH", "k"]);
    for cmd in [
        &["SET", "unrelated", "1"][..],
        &["GET", "k"],
        &["DEL", "missing"],
    ] {
        assert_eq!(s2.cmd(cmd), r2.cmd(cmd));
    }
    d.check(&["MULTI"]);
    d.check(&["SET", "k", "mine"]);
    d.check(&["EXEC"]);
    d.check(&["GET", "k"]);
    // UNWATCH forgets; EXEC and DISCARD unwatch too.
    d.check(&["WATCH", "k"]);
    d.check(&["UNWATCH"]);
    assert_eq!(s2.cmd(&["SET", "k", "x"]), r2.cmd(&["SET", "k", "x"]));
    d.check(&["MULTI"]);
    d.check(&["GET", "k"]);
    d.check(&["EXEC"]);
}

/// Writes that leave a key's size, type and expiry as they were (a field
/// overwritten, a member's score moved, a string set to its own value)
/// still break WATCH, as Redis's `signalModifiedKey` does: Strata skips
/// rewriting such a key's unchanged metadata record, never the change.
#[test]
fn watch_is_broken_by_writes_that_leave_the_key_the_same_size() {
    let mut d = Diff::new();
    let mut s2 = d.strata.conn();
    let mut r2 = d.redis.conn();
    // (setup, change, a read of the result)
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (
            &["HSET", "k", "f", "v"],
            &["HSET", "k", "f", "w"],
            &["HGETALL", "k"],
        ),
        (
            &["HSET", "k", "f", "v"],
            &["HSET", "k", "f", "v"],
            &["HGETALL", "k"],
        ),
        (
            &["ZADD", "k", "1", "m"],
            &["ZADD", "k", "2", "m"],
            &["ZRANGE", "k", "0", "-1", "WITHSCORES"],
        ),
        (&["SET", "k", "v"], &["SET", "k", "v"], &["GET", "k"]),
        (
            &["RPUSH", "k", "a"],
            &["LSET", "k", "0", "b"],
            &["LRANGE", "k", "0", "-1"],
        ),
    ];
    for (setup, change, read) in cases {
        for c in [&mut d.s, &mut d.r] {
            c.cmd(&["FLUSHALL"]);
            c.cmd(setup);
        }
        d.check(&["WATCH", "k"]);
        assert_eq!(s2.cmd(change), r2.cmd(change), "{change:?}");
        d.check(&["MULTI"]);
        d.check(&["PING"]);
        let reply = d.check(&["EXEC"]);
        assert_eq!(reply, b"*-1\r\n", "EXEC after {change:?} must fail");
        d.check(read);
    }
}

/// A key that expires after WATCH breaks the transaction; one already
/// expired when watched does not.
#[test]
fn watch_and_expiry() {
    let mut d = Diff::new();
    d.check(&["SET", "soon", "v", "PX", "50"]);
    d.check(&["WATCH", "soon"]);
    std::thread::sleep(Duration::from_millis(120));
    d.check(&["MULTI"]);
    d.check(&["SET", "x", "1"]);
    let r = d.check(&["EXEC"]);
    assert_eq!(r, b"*-1\r\n");

    d.check(&["SET", "gone", "v", "PX", "10"]);
    std::thread::sleep(Duration::from_millis(50));
    d.check(&["WATCH", "gone"]);
    d.check(&["MULTI"]);
    d.check(&["SET", "y", "1"]);
    d.check(&["EXEC"]);
}

/// Blocking commands inside MULTI do not block; waiters are served after
/// EXEC, once the whole transaction is visible.
#[test]
fn blocking_inside_multi_and_waiters_after_exec() {
    let mut d = Diff::new();
    d.script(
        r#"
        MULTI
        BLPOP empty 0
        BRPOPLPUSH empty dst 0
        BZPOPMIN emptyz 0
        EXEC
        "#,
    );
    let mut s_waiter = d.strata.conn();
    let mut r_waiter = d.redis.conn();
    for w in [&mut s_waiter, &mut r_waiter] {
        w.send(&[b"BLPOP", b"q", b"5"]);
    }
    std::thread::sleep(Duration::from_millis(200));
    d.check(&["MULTI"]);
    d.check(&["RPUSH", "q", "a", "b"]);
    d.check(&["LPUSH", "q", "c"]);
    d.check(&["EXEC"]);
    let (s, r) = (s_waiter.read_reply(), r_waiter.read_reply());
    assert_eq!(
        String::from_utf8_lossy(&s),
        String::from_utf8_lossy(&r),
        "the waiter sees the list after the whole transaction"
    );
    d.check(&["LRANGE", "q", "0", "-1"]);
}

#[test]
fn client_list_shows_the_transaction() {
    let s = Strata::start();
    let mut c = s.conn();
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "1"]);
    let mut other = s.conn();
    let list = other.cmd_str(&["CLIENT", "LIST"]);
    assert!(
        list.lines()
            .any(|l| l.contains("flags=x") && l.contains("multi=2")),
        "{list}"
    );
    c.cmd(&["DISCARD"]);
    let list = other.cmd_str(&["CLIENT", "LIST"]);
    assert!(!list.contains("flags=x"), "{list}");
}

/// The transaction is one atomic batch: kill -9 during a stream of large
/// EXECs never leaves a transaction half applied.
#[test]
fn kill_9_never_leaves_half_a_transaction() {
    let mut s = Strata::start_with(&["--appendfsync", "always"]);
    for round in 0..4 {
        let mut c = s.conn();
        // Each transaction sets 200 keys t<round>:<i> to its number and
        // bumps a counter: afterwards every transaction is all or nothing.
        let mut pipeline = Vec::new();
        for tx in 0..30 {
            pipeline.extend(crate::common::encode(&[b"MULTI"]));
            for i in 0..200 {
                let key = format!("t{round}:{i}");
                let val = tx.to_string();
                pipeline.extend(crate::common::encode(&[
                    b"SET",
                    key.as_bytes(),
                    val.as_bytes(),
                ]));
            }
            pipeline.extend(crate::common::encode(&[b"INCR", b"count"]));
            pipeline.extend(crate::common::encode(&[b"EXEC"]));
        }
        c.send_raw(&pipeline);
        // Let some transactions commit, then kill in the middle of the rest.
        std::thread::sleep(Duration::from_millis(30 + 20 * round));
        s.kill9_and_restart();
        let mut c = s.conn();
        let values: Vec<String> = (0..200)
            .map(|i| c.cmd_str(&["GET", &format!("t{round}:{i}")]))
            .collect();
        assert!(
            values.iter().all(|v| v == &values[0]),
            "round {round}: a transaction was applied in part: {:?}",
            &values[..10]
        );
    }
}

/// A connection that queued commands and went away leaves no trace.
#[test]
fn disconnect_discards_the_transaction() {
    let s = Strata::start();
    {
        let mut c: Conn = s.conn();
        c.cmd(&["WATCH", "k"]);
        c.cmd(&["MULTI"]);
        c.cmd(&["SET", "k", "1"]);
    }
    std::thread::sleep(Duration::from_millis(100));
    let mut c = s.conn();
    assert_eq!(c.cmd(&["EXISTS", "k"]), b":0\r\n");
}
