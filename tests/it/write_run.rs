//! The runner of the stream and event tests: plays one seeded write
//! sequence (`write_gen.rs`) against two servers and, after every step,
//! compares the replies and what each server's observer saw up to a marker
//! write. The first difference panics with the seed, the step, its commands,
//! both observations (bytes escaped) and the steps before it.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use crate::common::Conn;
use crate::repl_tap::{compare_chunks, marker_cmd, show, Observer, SameFn};
use crate::write_gen::{Action, Gen};

/// A server under test (started with `enable-debug-command yes`): the
/// connection running the sequence, a control connection (db 0) writing the
/// markers, and an observer.
pub struct Side {
    pub name: String,
    pub conn: Conn,
    pub control: Conn,
    pub obs: Box<dyn Observer>,
}

/// Replies whose element order is unspecified are sorted.
fn normalize_reply(cmd: &[Vec<u8>], reply: Vec<u8>) -> Vec<u8> {
    if cmd[0].eq_ignore_ascii_case(b"spop") && cmd.len() == 3 && reply.starts_with(b"*") {
        return crate::reply::canonical(&reply, crate::reply::Order::Set);
    }
    reply
}

/// Turns the active expire cycle on or off on both sides (`DEBUG
/// SET-ACTIVE-EXPIRE`, which needs `enable-debug-command yes`). It is off
/// except while a step waits for it: Redis wraps a lazy expiry's DEL and
/// the command that found the key in MULTI/EXEC, but emits a bare DEL when
/// the cycle got there first, so letting both race would make even two
/// Redis servers disagree.
fn active_expire(left: &mut Side, right: &mut Side, on: bool) {
    let flag: &[u8] = if on { b"1" } else { b"0" };
    for s in [left, right] {
        s.control.send(&[b"DEBUG", b"SET-ACTIVE-EXPIRE", flag]);
        let r = s.control.read_reply();
        assert_eq!(
            r, b"+OK\r\n",
            "{}: DEBUG SET-ACTIVE-EXPIRE (start it with --enable-debug-command yes)",
            s.name
        );
    }
}

/// Writes marker `n` on both sides and returns both chunks.
fn cut(
    left: &mut Side,
    right: &mut Side,
    n: u64,
) -> (crate::repl_tap::Chunk, crate::repl_tap::Chunk) {
    let m = marker_cmd(n);
    let args: Vec<&[u8]> = m.iter().map(Vec::as_slice).collect();
    for s in [&mut *left, &mut *right] {
        s.control.send(&args);
        let r = s.control.read_reply();
        assert_eq!(r, b"+OK\r\n", "{}: marker write failed", s.name);
    }
    (left.obs.until_marker(n), right.obs.until_marker(n))
}

/// What a run exercised, so a generator drifting into errors or no-ops
/// fails loudly instead of comparing empty streams.
#[derive(Default, Debug)]
pub struct Coverage {
    pub commands: usize,
    pub errors: usize,
    /// Commands that got at least one non-error reply (upper case).
    pub succeeded: BTreeSet<String>,
    /// Frames observed on the right side, markers excluded.
    pub frames: usize,
}

impl Coverage {
    pub fn merge(&mut self, o: Coverage) {
        self.commands += o.commands;
        self.errors += o.errors;
        self.succeeded.extend(o.succeeded);
        self.frames += o.frames;
    }

    #[track_caller]
    pub fn assert_reaches(&self, names: &[&str]) {
        let missing: Vec<&&str> = names
            .iter()
            .filter(|n| !self.succeeded.contains(**n))
            .collect();
        assert!(
            missing.is_empty(),
            "never succeeded: {missing:?} ({self:?})"
        );
        assert!(
            self.errors * 4 < self.commands,
            "{} of {} commands failed: the generator is too hostile",
            self.errors,
            self.commands
        );
    }
}

/// Plays `steps` generated steps on both sides; after each step compares
/// the replies and the observed chunks, panicking at the first difference
/// with the seed, the step, its commands and the recent history.
pub fn run(
    label: &str,
    seed: u64,
    steps: u64,
    families: u32,
    left: &mut Side,
    right: &mut Side,
    same: SameFn,
) -> Coverage {
    let mut cov = Coverage::default();
    // Prime: both observers start right after a marker (Redis's stream
    // begins with a SELECT after a full sync; that is setup, not a step).
    active_expire(left, right, false);
    let (l, r) = cut(left, right, 0);
    assert!(
        l.complete,
        "{label}: {} never saw the first marker: {:?}",
        left.name, l.error
    );
    assert!(
        r.complete,
        "{label}: {} never saw the first marker: {:?}",
        right.name, r.error
    );
    let mut gen = Gen::new(seed, families);
    let mut history: VecDeque<String> = VecDeque::new();
    for step in 1..=steps {
        let actions = gen.step();
        let mut sent = Vec::new();
        for a in &actions {
            match a {
                Action::Cmd(cmd) => {
                    let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
                    left.conn.send(&args);
                    let lr = normalize_reply(cmd, left.conn.read_reply());
                    right.conn.send(&args);
                    let rr = normalize_reply(cmd, right.conn.read_reply());
                    sent.push(show(cmd));
                    cov.commands += 1;
                    if rr.starts_with(b"-") {
                        cov.errors += 1;
                    } else {
                        cov.succeeded
                            .insert(String::from_utf8_lossy(&cmd[0]).to_ascii_uppercase());
                    }
                    if lr != rr {
                        panic!(
                            "{label}: seed {seed} step {step}: reply to {} differs\n  {}: {}\n  {}: {}\n  step: {}\n  earlier steps:\n    {}",
                            show(cmd),
                            left.name,
                            crate::repl_tap::escape(&lr),
                            right.name,
                            crate::repl_tap::escape(&rr),
                            sent.join(" ; "),
                            history.iter().cloned().collect::<Vec<_>>().join("\n    ")
                        );
                    }
                }
                Action::SleepMs(ms) => {
                    std::thread::sleep(Duration::from_millis(*ms));
                    sent.push(format!("<sleep {ms} ms>"));
                }
                Action::AwaitExpiry(key) => {
                    let wait = Duration::from_secs(3);
                    active_expire(left, right, true);
                    left.obs.await_expiry(key, wait);
                    right.obs.await_expiry(key, wait);
                    active_expire(left, right, false);
                    sent.push(format!(
                        "<await expiry of {}>",
                        crate::repl_tap::escape(key)
                    ));
                }
            }
        }
        let (l, r) = cut(left, right, step);
        if let Err(diff) = compare_chunks(&left.name, &l, &right.name, &r, same) {
            panic!(
                "{label}: seed {seed} step {step}: observed streams differ\n  step: {}\n{diff}  earlier steps:\n    {}\n(replay: this seed alone with STRATA_DIFF_SEED={seed})",
                sent.join(" ; "),
                history.iter().cloned().collect::<Vec<_>>().join("\n    ")
            );
        }
        cov.frames += r.frames.len().saturating_sub(1);
        history.push_back(format!("{step}: {}", sent.join(" ; ")));
        if history.len() > 8 {
            history.pop_front();
        }
    }
    cov
}

/// The seeds to run: `STRATA_DIFF_SEED=n` replays one seed, otherwise `default`.
pub fn seeds(default: &[u64]) -> Vec<u64> {
    match std::env::var("STRATA_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(one) => vec![one],
        None => default.to_vec(),
    }
}
