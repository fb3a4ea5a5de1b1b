//! The replication stream, differentially: the same seeded write sequences
//! run against Strata and a real redis-server 7.0, each tapped by a fake
//! replica ([`ReplTap`]), and the propagated commands are compared byte for
//! byte after every step (absolute expiry times within ±2 s). Redis 7.0
//! propagates deterministic forms (SET..EX -> SET..PXAT, EXPIRE ->
//! PEXPIREAT or DEL, INCRBYFLOAT -> SET..KEEPTTL, SPOP -> SREM or DEL,
//! blocking pops -> their non-blocking forms, lazy and active expiry -> DEL,
//! SELECT on db change, MULTI/EXEC around transactions, nothing for a no-op);
//! a replica of Strata must receive exactly those.
//!
//! The Redis-only tests prove the harness: the tap reads both RDB framings
//! and sees Redis's rewrites, and two Redis servers given the same sequence
//! produce equal streams (so a difference with Strata is never the
//! generator's nondeterminism).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::common::{Redis, Strata};
use crate::repl_tap::{escape, marker_cmd, same_command, show, Observer, ReplTap};
use crate::write_gen;
use crate::write_run::{run, seeds, Coverage, Side};

/// A redis-server that starts a replication stream at once (diskless sync
/// without the 5 s wait for more replicas) and lets the runner switch its
/// active expire cycle.
fn redis() -> Redis {
    Redis::start_with(&[
        "--repl-diskless-sync-delay",
        "0",
        "--enable-debug-command",
        "yes",
        // The active expire cycle every 10 ms: expiry steps wait less.
        "--hz",
        "100",
    ])
}

fn redis_side(r: &Redis, name: &str) -> Side {
    let mut tap = ReplTap::attach_redis(r.port);
    tap.who = name.to_string();
    Side {
        name: name.to_string(),
        conn: r.conn(),
        control: r.conn(),
        obs: Box::new(tap),
    }
}

fn strata_side(s: &Strata) -> Side {
    Side {
        name: "strata".into(),
        conn: s.conn(),
        control: s.conn(),
        obs: Box::new(ReplTap::attach_strata(s.port)),
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// The harness itself, on Redis alone, with both RDB framings: the stream
/// after a full sync holds exactly the rewritten forms of three writes.
#[test]
fn redis_tap_sees_rewritten_commands() {
    for (args, framing) in [
        (&["--repl-diskless-sync-delay", "0"][..], "$EOF"),
        (&["--repl-diskless-sync", "no"][..], "$len"),
    ] {
        let r = Redis::start_with(args);
        let mut c = r.conn();
        // In the RDB, not the stream: SPOP's only choice is then known.
        assert_eq!(c.cmd(&["SADD", "s", "m"]), b":1\r\n");
        let mut tap = ReplTap::attach_redis(r.port);
        assert_eq!(tap.framing, framing);
        let before = now_ms();
        assert_eq!(c.cmd(&["SET", "a", "1", "EX", "100"]), b"+OK\r\n");
        assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "1.5"]), b"$3\r\n1.5\r\n");
        assert_eq!(c.cmd(&["SPOP", "s"]), b"$1\r\nm\r\n");
        assert_eq!(c.cmd(&["GET", "a"]), b"$1\r\n1\r\n");
        assert_eq!(c.cmd(&["DEL", "missing"]), b":0\r\n");
        assert_eq!(c.cmd(&["SET", "__marker__", "1"]), b"+OK\r\n");
        let after = now_ms();
        let chunk = tap.until_marker(1);
        assert!(chunk.complete, "{framing}: no marker: {:?}", chunk.error);
        let f = &chunk.frames;
        let shown: Vec<String> = f.iter().map(|c| show(c)).collect();
        assert_eq!(f.len(), 5, "{framing}: stream {shown:#?}");
        // A full sync resets the replica's db, so the stream opens with SELECT.
        assert_eq!(f[0], [&b"SELECT"[..], b"0"], "{shown:#?}");
        assert_eq!(f[1][..4], [&b"SET"[..], b"a", b"1", b"PXAT"], "{shown:#?}");
        let at: i64 = String::from_utf8_lossy(&f[1][4]).parse().expect("PXAT ms");
        assert!(
            (before + 100_000..=after + 100_000).contains(&at),
            "PXAT {at} not 100 s after [{before}, {after}]"
        );
        assert_eq!(f[2], [&b"SET"[..], b"f", b"1.5", b"KEEPTTL"], "{shown:#?}");
        assert_eq!(f[3], [&b"SREM"[..], b"s", b"m"], "{shown:#?}");
        assert_eq!(f[4], marker_cmd(1), "{shown:#?}");
    }
}

/// What Redis 7.0 emits for lazy expiry, recorded for Strata to match: a
/// read that finds an expired key propagates a bare DEL, a write wraps the
/// DEL and itself in MULTI/EXEC (both are effects of one command).
#[test]
fn redis_lazy_expiry_forms() {
    let r = redis();
    let mut c = r.conn();
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), b"+OK\r\n");
    let mut tap = ReplTap::attach_redis(r.port);
    for k in ["r", "w"] {
        assert_eq!(c.cmd(&["SET", k, "v", "PX", "1"]), b"+OK\r\n");
    }
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(c.cmd(&["GET", "r"]), b"$-1\r\n");
    assert_eq!(c.cmd(&["INCR", "w"]), b":1\r\n");
    assert_eq!(c.cmd(&["SET", "__marker__", "1"]), b"+OK\r\n");
    let chunk = tap.until_marker(1);
    let got: Vec<String> = chunk.frames.iter().map(|f| show(f)).collect();
    let want = [
        r#""SELECT" "0""#,
        r#""SET" "r" "v" "PXAT" <t>"#,
        r#""SET" "w" "v" "PXAT" <t>"#,
        r#""DEL" "r""#,
        r#""MULTI""#,
        r#""DEL" "w""#,
        r#""INCR" "w""#,
        r#""EXEC""#,
        r#""SET" "__marker__" "1""#,
    ];
    let got: Vec<String> = got
        .iter()
        .map(|l| match l.find("\"PXAT\" ") {
            Some(i) => format!("{}\"PXAT\" <t>", &l[..i]),
            None => l.clone(),
        })
        .collect();
    assert_eq!(got, want);
}

/// The normaliser and the generator are sound: two Redis servers given the
/// same sequences (all families, transactions, lazy and active expiry)
/// propagate equal streams. If this fails, the Strata tests would report
/// differences that are not Strata's.
#[test]
fn redis_streams_of_same_sequence_are_equal() {
    let mut cov = Coverage::default();
    for seed in seeds(&[11, 12, 13]) {
        let (a, b) = (redis(), redis());
        let (mut left, mut right) = (redis_side(&a, "redis-a"), redis_side(&b, "redis-b"));
        cov.merge(run(
            "redis vs redis",
            seed,
            400,
            write_gen::ALL,
            &mut left,
            &mut right,
            same_command,
        ));
    }
    if std::env::var("STRATA_DIFF_SEED").is_err() {
        cov.assert_reaches(write_gen::WRITE_COMMANDS);
        assert!(
            cov.frames > cov.commands / 2,
            "few propagated commands: {cov:?}"
        );
    }
}

/// Strata vs Redis for one set of families.
fn strata_vs_redis(label: &str, families: u32, seed_list: &[u64], steps: u64) {
    for seed in seeds(seed_list) {
        let strata = Strata::start_with(&["--enable-debug-command", "yes"]);
        let r = redis();
        let mut left = strata_side(&strata);
        let mut right = redis_side(&r, "redis");
        run(
            label,
            seed,
            steps,
            families,
            &mut left,
            &mut right,
            same_command,
        );
    }
}

/// The sequences themselves, replies only (no observer): Strata and Redis
/// must agree on every reply, or a stream difference would only be the echo
/// of a reply difference. Transactions are left out until MULTI lands.
#[test]
fn stream_sequences_replies_match_redis() {
    for seed in seeds(&[1, 2, 3]) {
        let strata = Strata::start_with(&["--enable-debug-command", "yes"]);
        let r = redis();
        let side = |name: &str, port: u16| Side {
            name: name.to_string(),
            conn: crate::common::Conn::connect(port),
            control: crate::common::Conn::connect(port),
            obs: Box::new(crate::repl_tap::NoObserver),
        };
        let (mut left, mut right) = (side("strata", strata.port), side("redis", r.port));
        run(
            "replies",
            seed,
            300,
            write_gen::DATA,
            &mut left,
            &mut right,
            same_command,
        );
    }
}

#[test]
fn propagation_strings_match_redis() {
    strata_vs_redis("strings", write_gen::STRINGS, &[1, 2], 200);
}

#[test]
fn propagation_keyspace_match_redis() {
    strata_vs_redis(
        "keyspace",
        write_gen::KEYSPACE | write_gen::STRINGS,
        &[1, 2],
        200,
    );
}

#[test]
fn propagation_hashes_match_redis() {
    strata_vs_redis(
        "hashes",
        write_gen::HASHES | write_gen::KEYSPACE,
        &[1, 2],
        150,
    );
}

#[test]
fn propagation_lists_match_redis() {
    strata_vs_redis(
        "lists",
        write_gen::LISTS | write_gen::KEYSPACE,
        &[1, 2],
        150,
    );
}

#[test]
fn propagation_sets_match_redis() {
    strata_vs_redis("sets", write_gen::SETS | write_gen::KEYSPACE, &[1, 2], 150);
}

#[test]
fn propagation_zsets_match_redis() {
    strata_vs_redis(
        "zsets",
        write_gen::ZSETS | write_gen::KEYSPACE,
        &[1, 2],
        150,
    );
}

/// Lazy expiry (a key touched after its 1 ms TTL) and the active expire
/// cycle both propagate DEL.
#[test]
fn propagation_expiry_match_redis() {
    strata_vs_redis(
        "expiry",
        write_gen::EXPIRY | write_gen::STRINGS,
        &[1, 2],
        60,
    );
}

#[test]
fn propagation_transactions_match_redis() {
    strata_vs_redis(
        "transactions",
        write_gen::TRANSACTIONS | write_gen::STRINGS | write_gen::LISTS,
        &[1, 2],
        150,
    );
}

/// Every family mixed, several seeds: the main soak.
#[test]
fn propagation_mixed_match_redis() {
    strata_vs_redis("mixed", write_gen::ALL, &[1, 2, 3], 300);
}

/// A failure names the first differing frame, escapes its bytes, and says
/// which side never reached the marker.
#[test]
fn diff_message_names_first_difference() {
    let c = |s: &str| -> Vec<Vec<u8>> { s.split(' ').map(|w| w.as_bytes().to_vec()).collect() };
    let l = crate::repl_tap::Chunk {
        frames: vec![c("SELECT 1"), c("SET k \u{1}")],
        complete: true,
        error: None,
    };
    let r = crate::repl_tap::Chunk {
        frames: vec![c("SELECT 1"), c("SET k v")],
        complete: false,
        error: Some("timed out".into()),
    };
    let msg = crate::repl_tap::compare_chunks("strata", &l, "redis", &r, same_command)
        .expect_err("chunks differ");
    assert!(msg.contains("frame #1"), "{msg}");
    assert!(msg.contains(&escape(b"\x01")), "{msg}");
    assert!(
        msg.contains("redis never reached the marker (timed out)"),
        "{msg}"
    );
}
