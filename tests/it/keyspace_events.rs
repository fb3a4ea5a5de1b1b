//! Keyspace notifications, differentially: Strata and a real redis-server
//! 7.0 get the same `notify-keyspace-events` flags and the same seeded write
//! sequences (the generator of the propagation tests), each with a
//! `PSUBSCRIBE __keyspace@*__:* __keyevent@*__:*` subscriber, and the ordered
//! pmessages (pattern, channel, message) must be equal byte for byte after
//! every step. Includes `expired` events from lazy expiry and from the
//! active expire cycle.

use crate::common::{Conn, Redis, Strata};
use crate::repl_tap::{same_frame, show, EventSub};
use crate::write_gen;
use crate::write_run::{run, seeds, Side};

/// Servers the runner can switch the active expire cycle of.
const DEBUG: &[&str] = &["--enable-debug-command", "yes"];
/// Redis also runs that cycle every 10 ms, so expiry steps wait less.
const REDIS: &[&str] = &["--enable-debug-command", "yes", "--hz", "100"];

fn set_flags(c: &mut Conn, who: &str, flags: &str) {
    let r = c.cmd(&["CONFIG", "SET", "notify-keyspace-events", flags]);
    assert_eq!(
        r, b"+OK\r\n",
        "{who}: CONFIG SET notify-keyspace-events {flags}"
    );
}

fn side(port: u16, name: &str, flags: &str, conn: Conn, mut control: Conn) -> Side {
    set_flags(&mut control, name, flags);
    Side {
        name: name.to_string(),
        conn,
        control,
        obs: Box::new(EventSub::subscribe(port, name, flags)),
    }
}

fn redis_side(r: &Redis, name: &str, flags: &str) -> Side {
    side(r.port, name, flags, r.conn(), r.conn())
}

fn strata_side(s: &Strata, flags: &str) -> Side {
    side(s.port, "strata", flags, s.conn(), s.conn())
}

/// The subscriber on Redis alone: one SET yields its keyspace and keyevent
/// messages, in that order, then the marker's.
#[test]
fn redis_subscriber_sees_set_events() {
    let r = Redis::start();
    let mut s = redis_side(&r, "redis", "KEA");
    assert_eq!(s.conn.cmd(&["SET", "a", "1"]), b"+OK\r\n");
    assert_eq!(s.conn.cmd(&["DEL", "missing"]), b":0\r\n");
    assert_eq!(s.control.cmd(&["SET", "__marker__", "1"]), b"+OK\r\n");
    let chunk = s.obs.until_marker(1);
    assert!(chunk.complete, "no marker: {:?}", chunk.error);
    let got: Vec<String> = chunk.frames.iter().map(|f| show(f)).collect();
    assert_eq!(
        got,
        [
            r#""pmessage" "__keyspace@*__:*" "__keyspace@0__:a" "set""#,
            r#""pmessage" "__keyevent@*__:*" "__keyevent@0__:set" "a""#,
            r#""pmessage" "__keyspace@*__:*" "__keyspace@0__:__marker__" "set""#,
            r#""pmessage" "__keyevent@*__:*" "__keyevent@0__:set" "__marker__""#,
        ]
    );
}

/// Two Redis servers given the same sequences publish equal event streams,
/// with every class (`KEA`) and with the narrow set (`Kgx$`, whose markers
/// end on keyspace messages): the generator is deterministic for events too.
#[test]
fn redis_event_streams_of_same_sequence_are_equal() {
    for (seed, flags) in seeds(&[21, 22])
        .into_iter()
        .zip(["KEA", "Kgx$"].into_iter().cycle())
    {
        let (a, b) = (Redis::start_with(REDIS), Redis::start_with(REDIS));
        let mut left = redis_side(&a, "redis-a", flags);
        let mut right = redis_side(&b, "redis-b", flags);
        let cov = run(
            &format!("events {flags} redis vs redis"),
            seed,
            250,
            write_gen::ALL,
            &mut left,
            &mut right,
            same_frame,
        );
        // Frames exclude each step's last marker message.
        assert!(
            cov.frames > cov.commands / 4,
            "few events with {flags}: {cov:?}"
        );
    }
}

fn strata_vs_redis(label: &str, flags: &str, families: u32, seed_list: &[u64], steps: u64) {
    for seed in seeds(seed_list) {
        let strata = Strata::start_with(DEBUG);
        let r = Redis::start_with(REDIS);
        let mut left = strata_side(&strata, flags);
        let mut right = redis_side(&r, "redis", flags);
        run(
            label, seed, steps, families, &mut left, &mut right, same_frame,
        );
    }
}

/// All classes, every family (transactions too).
#[test]
fn keyspace_events_kea_match_redis() {
    strata_vs_redis("events KEA", "KEA", write_gen::ALL, &[1, 2], 250);
}

/// A narrower set: keyspace channel only, generic, expired and string
/// events; everything else must stay silent.
#[test]
fn keyspace_events_narrow_flags_match_redis() {
    strata_vs_redis("events Kgx$", "Kgx$", write_gen::ALL, &[4, 5], 200);
}

/// `expired` from lazy expiry (key touched after its 1 ms TTL) and from the
/// active expire cycle (nobody touches it).
#[test]
fn expired_events_match_redis() {
    strata_vs_redis(
        "events expired",
        "KEA",
        write_gen::EXPIRY | write_gen::STRINGS,
        &[1, 2],
        60,
    );
}
