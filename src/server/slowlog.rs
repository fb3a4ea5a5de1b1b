//! The slow log behind SLOWLOG: the latest `slowlog-max-len` commands that
//! ran for at least `slowlog-log-slower-than` microseconds, newest first, as
//! Redis's `slowlog.c` keeps them.
//!
//! Dispatch calls [`observe`] once after every executed command. That hook
//! must cost nothing for the usual fast command, so the thresholds of both
//! monitors (this one and [`super::latency`]) are atomics compared with the
//! elapsed time before any lock is taken or any argument copied.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;

use super::client::ClientState;
use super::Server;
use crate::cmd::{flags, Resolved};

/// At most this many arguments are kept; the last kept one then says how
/// many were left out (Redis's `SLOWLOG_ENTRY_MAX_ARGC`).
pub const MAX_ARGC: usize = 32;
/// Longer arguments are cut to this many bytes (`SLOWLOG_ENTRY_MAX_STRING`).
pub const MAX_STRING: usize = 128;

/// One logged command.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    /// Unix seconds when it was logged.
    pub time: u64,
    pub duration_us: u64,
    /// Arguments as logged: truncated and with secrets redacted.
    pub argv: Vec<Bytes>,
    /// `ip:port` of the client.
    pub peer: String,
    /// The client's name after the command ran (empty when none).
    pub name: Bytes,
}

#[derive(Default)]
struct Entries {
    /// Newest first.
    list: VecDeque<Entry>,
    /// Ids keep growing across SLOWLOG RESET, as in Redis.
    next_id: u64,
}

pub struct SlowLog {
    /// `slowlog-log-slower-than` in µs; negative disables the log.
    threshold_us: AtomicI64,
    max_len: AtomicUsize,
    entries: Mutex<Entries>,
}

impl SlowLog {
    pub fn new(threshold_us: i64, max_len: usize) -> SlowLog {
        SlowLog {
            threshold_us: AtomicI64::new(threshold_us),
            max_len: AtomicUsize::new(max_len),
            entries: Mutex::new(Entries::default()),
        }
    }

    /// Applies `slowlog-log-slower-than` and `slowlog-max-len` (start-up and
    /// CONFIG SET). A shorter length trims on the next logged command, as in
    /// Redis.
    pub fn configure(&self, threshold_us: i64, max_len: usize) {
        self.threshold_us.store(threshold_us, Ordering::Relaxed);
        self.max_len.store(max_len, Ordering::Relaxed);
    }

    #[inline]
    pub fn wants(&self, duration_us: u64) -> bool {
        let t = self.threshold_us.load(Ordering::Relaxed);
        t >= 0 && duration_us >= t as u64
    }

    /// Logs a command (arguments already redacted, not yet truncated).
    pub fn push(&self, argv: &[Bytes], duration_us: u64, peer: String, name: Bytes) {
        let argv = truncate_args(argv);
        let time = crate::types::now_ms() / 1000;
        let max_len = self.max_len.load(Ordering::Relaxed);
        let mut e = self.entries.lock();
        let id = e.next_id;
        e.next_id += 1;
        e.list.push_front(Entry {
            id,
            time,
            duration_us,
            argv,
            peer,
            name,
        });
        e.list.truncate(max_len);
    }

    /// The newest `count` entries.
    pub fn latest(&self, count: usize) -> Vec<Entry> {
        self.entries
            .lock()
            .list
            .iter()
            .take(count)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries.lock().list.clear();
    }
}

/// Redis's argument trimming: at most [`MAX_ARGC`] arguments, the last one
/// replaced by `... (N more arguments)`, each cut to [`MAX_STRING`] bytes
/// followed by `... (N more bytes)`.
pub fn truncate_args(argv: &[Bytes]) -> Vec<Bytes> {
    let kept = argv.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(kept);
    for (j, a) in argv.iter().take(kept).enumerate() {
        if kept != argv.len() && j == kept - 1 {
            let more = argv.len() - kept + 1;
            out.push(Bytes::from(format!("... ({more} more arguments)")));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(a.clone());
        }
    }
    out
}

const REDACTED: Bytes = Bytes::from_static(b"(redacted)");

/// Replaces the secrets Redis 7.0 hides from the slow log with
/// `(redacted)`: AUTH's arguments, HELLO's AUTH username and password, and
/// the values of sensitive directives in CONFIG SET.
fn redact(fullname: &str, argv: &[Bytes]) -> Vec<Bytes> {
    let mut out = argv.to_vec();
    match fullname {
        // AUTH redacts only in the forms it accepts (two or three arguments).
        "auth" if out.len() <= 3 => {
            for a in out.iter_mut().skip(1) {
                *a = REDACTED;
            }
        }
        "hello" => {
            // HELLO redacts while it parses its options: not at all when the
            // protocol version is bad, and not past a syntax error.
            let ver_ok = out.len() < 2
                || std::str::from_utf8(&out[1])
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .is_some_and(|v| (2..=3).contains(&v));
            if !ver_ok {
                return out;
            }
            let mut j = 2;
            while j < out.len() {
                let more = out.len() - 1 - j;
                if out[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
                    out[j + 1] = REDACTED;
                    out[j + 2] = REDACTED;
                    j += 3;
                } else if out[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
        "config|set" => {
            let mut j = 2;
            while j + 1 < out.len() {
                let name = String::from_utf8_lossy(&out[j]);
                let sensitive = crate::config::lookup(&name)
                    .is_some_and(|d| matches!(d.name, "requirepass" | "masterauth" | "masteruser"));
                if sensitive {
                    out[j + 1] = REDACTED;
                }
                j += 2;
            }
        }
        _ => {}
    }
    out
}

/// The dispatch hook: feeds one executed command to the slow log and the
/// latency monitor when it was slow enough for either.
#[inline]
pub fn observe(
    server: &Server,
    client: &ClientState,
    cmd: &Resolved,
    argv: &[Bytes],
    elapsed: Duration,
) {
    let us = elapsed.as_micros() as u64;
    server
        .latency
        .observe_command(cmd.spec.has(flags::FAST), us / 1000);
    if !server.slowlog.wants(us) || cmd.spec.has(flags::SKIP_SLOWLOG) {
        return;
    }
    let argv = redact(server.commands.fullname(cmd.id), argv);
    let name = client.info.name.lock().clone().unwrap_or_default();
    server
        .slowlog
        .push(&argv, us, client.info.addr.to_string(), name);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn long_commands_are_truncated_as_redis_does() {
        let argv: Vec<Bytes> = (0..40).map(|i| b(&i.to_string())).collect();
        let t = truncate_args(&argv);
        assert_eq!(t.len(), 32);
        assert_eq!(t[30], b("30"));
        assert_eq!(t[31], b("... (9 more arguments)"));
        let long = Bytes::from(vec![b'x'; 130]);
        let t = truncate_args(&[b("set"), long]);
        assert_eq!(t[1].len(), 128 + "... (2 more bytes)".len());
        assert!(t[1].ends_with(b"x... (2 more bytes)"));
    }

    #[test]
    fn secrets_are_redacted() {
        let r = redact("auth", &[b("auth"), b("u"), b("p")]);
        assert_eq!(r, vec![b("auth"), REDACTED, REDACTED]);
        assert_eq!(
            redact("auth", &[b("auth"), b("a"), b("b"), b("c")])[1],
            b("a")
        );
        let r = redact(
            "hello",
            &[
                b("hello"),
                b("3"),
                b("AUTH"),
                b("u"),
                b("p"),
                b("setname"),
                b("n"),
            ],
        );
        assert_eq!(r[3], REDACTED);
        assert_eq!(r[4], REDACTED);
        assert_eq!(r[6], b("n"));
        assert_eq!(
            redact("hello", &[b("hello"), b("4"), b("auth"), b("u"), b("p")])[3],
            b("u")
        );
        let r = redact(
            "config|set",
            &[
                b("config"),
                b("set"),
                b("masterauth"),
                b("x"),
                b("maxclients"),
                b("5"),
            ],
        );
        assert_eq!(r[3], REDACTED);
        assert_eq!(r[5], b("5"));
    }

    #[test]
    fn ids_survive_reset_and_length_is_capped() {
        let log = SlowLog::new(0, 2);
        for _ in 0..3 {
            log.push(&[b("ping")], 5, "p".into(), Bytes::new());
        }
        assert_eq!(log.len(), 2);
        assert_eq!(log.latest(10)[0].id, 2);
        log.reset();
        log.push(&[b("ping")], 5, "p".into(), Bytes::new());
        assert_eq!(log.latest(1)[0].id, 3);
        assert!(!SlowLog::new(-1, 2).wants(1_000_000));
        assert!(SlowLog::new(0, 2).wants(0));
    }
}
