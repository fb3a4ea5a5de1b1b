//! Units of different connections sharing one engine commit
//! (`types::commit_queue`): a connection whose run ends with its input
//! queues its unit, key locks held, and the first connection back from the
//! round's yield commits every queued unit as one batch. Nothing a client
//! was told may be lost or reordered, each client reads its own writes, a
//! replica receives exactly the master's data, and WATCH sees every change.

use std::thread;

use crate::common::{Conn, Rng, Strata};
use crate::master_sync::{assert_same_data, connect, wait_caught_up, RealReplica};
use crate::reply::integer_of;

fn engine_stat(c: &mut Conn, name: &str) -> u64 {
    let info = c.cmd_str(&["INFO", "engine"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {info:?}"))
}

/// The integer in a bulk-string reply (`$-1` reads as 0, as INCR starts).
fn bulk_number(reply: &[u8]) -> i64 {
    if reply == b"$-1\r\n" {
        return 0;
    }
    let text = String::from_utf8_lossy(reply);
    text.split("\r\n")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("not a number: {text:?}"))
}

const COUNTERS: usize = 4;
const FIELDS: usize = 3;

/// What one client did, to check the totals against.
#[derive(Default)]
struct Tally {
    incr: [i64; COUNTERS],
    hincr: [i64; FIELDS],
    pushes: i64,
    adds: i64,
}

/// Many clients without pipelining, so their units share commits: counters
/// and collections several of them write, strings each writes alone and
/// reads back at once. A real Redis replica follows the stream.
#[test]
fn concurrent_writers_sharing_commits_lose_nothing_and_replicate_exactly() {
    const CLIENTS: u64 = 12;
    const OPS: u64 = 600;
    let strata = Strata::start();
    let replica = RealReplica::start(strata.port);
    let (mut m, mut r) = (connect(strata.port), replica.client());
    wait_caught_up(&mut m, &mut r);
    let port = strata.port;
    let tallies: Vec<Tally> = (0..CLIENTS)
        .map(|id| {
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut rng = Rng(0x5eed_0000 + id);
                let mut t = Tally::default();
                let mut own: Vec<Option<String>> = vec![None; 8];
                for i in 0..OPS {
                    match rng.below(6) {
                        0 => {
                            let n = rng.below(COUNTERS as u64) as usize;
                            let reply = c.cmd(&["INCR", &format!("counter:{n}")]);
                            assert!(reply.starts_with(b":"), "{reply:?}");
                            t.incr[n] += 1;
                        }
                        1 => {
                            let j = rng.below(8) as usize;
                            let value = format!("v{id}:{i}");
                            let key = format!("own:{id}:{j}");
                            assert_eq!(c.cmd(&["SET", &key, &value]), b"+OK\r\n");
                            own[j] = Some(value);
                        }
                        2 => {
                            // Read your own write, as Redis would answer.
                            let j = rng.below(8) as usize;
                            let want = match &own[j] {
                                Some(v) => format!("${}\r\n{v}\r\n", v.len()).into_bytes(),
                                None => b"$-1\r\n".to_vec(),
                            };
                            assert_eq!(c.cmd(&["GET", &format!("own:{id}:{j}")]), want);
                        }
                        3 => {
                            c.cmd(&["LPUSH", "shared:list", &format!("{id}:{i}")]);
                            t.pushes += 1;
                        }
                        4 => {
                            let f = rng.below(FIELDS as u64) as usize;
                            c.cmd(&["HINCRBY", "shared:hash", &format!("f{f}"), "1"]);
                            t.hincr[f] += 1;
                        }
                        _ => {
                            let reply = c.cmd(&["SADD", "shared:set", &format!("{id}:{i}")]);
                            assert_eq!(reply, b":1\r\n");
                            t.adds += 1;
                        }
                    }
                }
                t
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    let mut c = strata.conn();
    for n in 0..COUNTERS {
        let want: i64 = tallies.iter().map(|t| t.incr[n]).sum();
        let got = bulk_number(&c.cmd(&["GET", &format!("counter:{n}")]));
        assert_eq!(got, want, "counter:{n}");
    }
    for f in 0..FIELDS {
        let want: i64 = tallies.iter().map(|t| t.hincr[f]).sum();
        let got = bulk_number(&c.cmd(&["HGET", "shared:hash", &format!("f{f}")]));
        assert_eq!(got, want, "field f{f}");
    }
    let pushes: i64 = tallies.iter().map(|t| t.pushes).sum();
    assert_eq!(integer_of(&c.cmd(&["LLEN", "shared:list"])), Some(pushes));
    let adds: i64 = tallies.iter().map(|t| t.adds).sum();
    assert_eq!(integer_of(&c.cmd(&["SCARD", "shared:set"])), Some(adds));
    // Twelve clients writing at once: some of their units shared a commit
    // (the path under test ran), and most of the units were deferred.
    let shared = engine_stat(&mut c, "engine_shared_commits");
    let deferred = engine_stat(&mut c, "engine_deferred_units");
    assert!(
        shared > 0,
        "no commit was shared ({deferred} units deferred)"
    );
    wait_caught_up(&mut m, &mut r);
    assert!(assert_same_data(&mut m, &mut r) > CLIENTS as usize);
}

/// WATCH against writers whose units share commits: optimistic increments
/// (WATCH, GET, MULTI, SET, EXEC) race with INCRs of the same key. An EXEC
/// that succeeded after an INCR committed in a shared batch would lose that
/// INCR, so the final value counts every INCR and every successful EXEC.
#[test]
fn watch_sees_writes_committed_in_a_shared_batch() {
    const INCRS: i64 = 600;
    const ATTEMPTS: i64 = 300;
    let strata = Strata::start();
    let port = strata.port;
    let incr: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                for _ in 0..INCRS {
                    assert!(c.cmd(&["INCR", "w"]).starts_with(b":"));
                    // Other keys too, so units of several keys share batches.
                    c.cmd(&["INCR", "other"]);
                }
            })
        })
        .collect();
    let optimistic: Vec<_> = (0..3)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut won = 0i64;
                for _ in 0..ATTEMPTS {
                    assert_eq!(c.cmd(&["WATCH", "w"]), b"+OK\r\n");
                    let v = bulk_number(&c.cmd(&["GET", "w"]));
                    assert_eq!(c.cmd(&["MULTI"]), b"+OK\r\n");
                    assert_eq!(c.cmd(&["SET", "w", &(v + 1).to_string()]), b"+QUEUED\r\n");
                    match c.cmd(&["EXEC"]).as_slice() {
                        b"*1\r\n+OK\r\n" => won += 1,
                        b"*-1\r\n" => {}
                        other => panic!("EXEC: {:?}", String::from_utf8_lossy(other)),
                    }
                }
                won
            })
        })
        .collect();
    for h in incr {
        h.join().expect("incr thread");
    }
    let won: i64 = optimistic
        .into_iter()
        .map(|h| h.join().expect("optimistic thread"))
        .sum();
    let mut c = strata.conn();
    let total = bulk_number(&c.cmd(&["GET", "w"]));
    assert_eq!(total, 4 * INCRS + won, "{won} optimistic increments won");
}

/// The bulk string of a reply (`None` for `$-1`).
fn bulk_text(reply: &[u8]) -> Option<String> {
    if reply == b"$-1\r\n" {
        return None;
    }
    let text = String::from_utf8_lossy(reply);
    assert!(text.starts_with('$'), "not a bulk string: {text:?}");
    text.split("\r\n").nth(1).map(str::to_owned)
}

/// Hot keys: every client writes the same few keys, so a run's first write
/// finds its key held by a queued unit and takes that unit over
/// (`types::commit_queue`). Each reply must still be what that command alone
/// would answer in some serial order: every client's INCRs rise, no element
/// is popped twice or lost, and a client blocked on a list is served by the
/// pushes of units that share commits (their ready keys are served after
/// the shared commit). A real Redis replica receives the same data.
#[test]
fn clients_writing_one_key_take_over_queued_units_and_lose_nothing() {
    hot_key_writers(&[]);
}

/// The same with two workers: a unit may then be taken over by a run on
/// the other worker while its owner resolves it (`DeferredUnit::resolve`
/// waits for that run to commit or queue the merged unit).
#[test]
fn hot_key_take_over_across_two_workers_loses_nothing() {
    hot_key_writers(&["--worker-threads", "2"]);
}

fn hot_key_writers(args: &[&str]) {
    const CLIENTS: u64 = 12;
    const OPS: u64 = 500;
    const BLOCKED_POPS: usize = 200;
    let strata = Strata::start_with(args);
    let replica = RealReplica::start(strata.port);
    let (mut m, mut r) = (connect(strata.port), replica.client());
    wait_caught_up(&mut m, &mut r);
    let port = strata.port;
    // One client pops a list the others push to, blocking when it is empty.
    let blocked = thread::spawn(move || {
        let mut c = Conn::connect(port);
        let mut got = Vec::new();
        while got.len() < BLOCKED_POPS {
            let reply = c.cmd(&["BLPOP", "hot:blist", "10"]);
            let text = String::from_utf8_lossy(&reply).into_owned();
            let value = text.split("\r\n").nth(4).map(str::to_owned);
            got.push(value.unwrap_or_else(|| panic!("BLPOP timed out: {text:?}")));
        }
        got
    });
    #[derive(Default)]
    struct Outcome {
        incrs: i64,
        pushes: i64,
        popped: Vec<String>,
        zincrs: i64,
        rpushes: i64,
    }
    let clients: Vec<thread::JoinHandle<Outcome>> = (0..CLIENTS)
        .map(|id| {
            thread::spawn(move || {
                let mut c = Conn::connect(port);
                let mut rng = Rng(0x407_0000 + id);
                let mut o = Outcome::default();
                let mut last = 0;
                for i in 0..OPS {
                    match rng.below(5) {
                        0 => {
                            let n = integer_of(&c.cmd(&["INCR", "hot:counter"]))
                                .expect("INCR answers an integer");
                            assert!(n > last, "client {id}: INCR went from {last} to {n}");
                            last = n;
                            o.incrs += 1;
                        }
                        1 => {
                            let reply = c.cmd(&["LPUSH", "hot:list", &format!("{id}:{i}")]);
                            assert!(integer_of(&reply).is_some_and(|n| n >= 1));
                            o.pushes += 1;
                        }
                        2 => {
                            if let Some(v) = bulk_text(&c.cmd(&["RPOP", "hot:list"])) {
                                o.popped.push(v);
                            }
                        }
                        3 => {
                            c.cmd(&["ZINCRBY", "hot:zset", "1", &format!("m{}", i % 7)]);
                            o.zincrs += 1;
                        }
                        _ => {
                            let reply = c.cmd(&["RPUSH", "hot:blist", &format!("b{id}:{i}")]);
                            assert!(integer_of(&reply).is_some_and(|n| n >= 1));
                            o.rpushes += 1;
                        }
                    }
                }
                o
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = clients
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    let served = blocked.join().expect("blocked client");
    let mut c = strata.conn();
    let sum = |f: fn(&Outcome) -> i64| outcomes.iter().map(f).sum::<i64>();
    let pushes = sum(|o| o.pushes);
    let mut popped: Vec<String> = outcomes.iter().flat_map(|o| o.popped.clone()).collect();
    let left = integer_of(&c.cmd(&["LLEN", "hot:list"])).expect("LLEN");
    assert_eq!(pushes, popped.len() as i64 + left, "pushed = popped + left");
    popped.sort();
    let before = popped.len();
    popped.dedup();
    assert_eq!(popped.len(), before, "an element was popped twice");
    let zincrs = sum(|o| o.zincrs);
    let zset = c.cmd(&["ZRANGE", "hot:zset", "0", "-1", "WITHSCORES"]);
    let text = String::from_utf8_lossy(&zset).into_owned();
    let scores: i64 = text
        .split("\r\n")
        .filter(|l| !l.starts_with(['*', '$']) && !l.is_empty())
        .skip(1)
        .step_by(2)
        .map(|s| s.parse::<i64>().expect("score"))
        .sum();
    assert_eq!(scores, zincrs, "ZINCRBY total: {text:?}");
    let incrs = bulk_number(&c.cmd(&["GET", "hot:counter"]));
    assert_eq!(incrs, sum(|o| o.incrs), "INCR total");
    let blist_left = integer_of(&c.cmd(&["LLEN", "hot:blist"])).expect("LLEN");
    let mut served = served;
    served.sort();
    served.dedup();
    assert_eq!(served.len(), BLOCKED_POPS, "an element was served twice");
    assert_eq!(sum(|o| o.rpushes), BLOCKED_POPS as i64 + blist_left);
    let taken = engine_stat(&mut c, "engine_taken_over_units");
    assert!(taken > 0, "no queued unit was taken over");
    wait_caught_up(&mut m, &mut r);
    assert!(assert_same_data(&mut m, &mut r) >= 4);
}
