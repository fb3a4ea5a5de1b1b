//! MONITOR: every command other clients run, as one status line each, in
//! Redis 7.0's format (`replicationFeedMonitors`):
//! `+<unix secs>.<micros> [<db> <addr>] "cmd" "arg" ...`, arguments quoted as
//! `sdscatrepr` quotes them.
//!
//! As in Redis 7.0 the line is fed after the command ran (so `SELECT 5`
//! already shows db 5, and AUTH/HELLO passwords are redacted), and commands
//! flagged `admin` or `skip_monitor` are never shown. The dispatcher calls
//! [`feed`] once per command; with no monitor it is one atomic load.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};

use super::client::{ClientInfo, ClientState};
use super::pubsub::PubSub;
use super::Server;
use crate::cmd::flags;

impl PubSub {
    /// Puts a client in MONITOR mode; `false` if it already was (Redis then
    /// replies nothing at all).
    pub fn add_monitor(&self, info: &Arc<ClientInfo>) -> bool {
        if info.monitor.swap(true, Ordering::AcqRel) {
            return false;
        }
        let mut m = self.monitors.write();
        m.push(info.clone());
        self.monitor_count.store(m.len(), Ordering::Release);
        true
    }

    /// Leaves MONITOR mode (RESET, disconnect).
    pub fn remove_monitor(&self, info: &ClientInfo) {
        if !info.monitor.swap(false, Ordering::AcqRel) {
            return;
        }
        let mut m = self.monitors.write();
        m.retain(|c| c.id != info.id);
        self.monitor_count.store(m.len(), Ordering::Release);
    }
}

/// Feeds the command `argv` that `client` just ran (with flags
/// `cmd_flags`) to the monitors.
pub fn feed(server: &Server, client: &ClientState, cmd_flags: u32, argv: &[Bytes]) {
    if server.pubsub.monitor_count.load(Ordering::Acquire) == 0 {
        return;
    }
    if cmd_flags & (flags::ADMIN | flags::SKIP_MONITOR) != 0 {
        return;
    }
    let line = line(
        client.db,
        &client.info.addr.to_string(),
        argv,
        u128::from(crate::clock::unix_us()),
    );
    let limits = server.config.settings().obuf_limits;
    for m in server.pubsub.monitors.read().iter() {
        m.push(&line, &limits);
    }
}

/// One monitor line, CRLF included.
pub fn line(db: usize, addr: &str, argv: &[Bytes], unix_micros: u128) -> BytesMut {
    let redacted = redacted_args(argv);
    let mut out = BytesMut::with_capacity(64 + argv.iter().map(|a| a.len() + 3).sum::<usize>());
    out.put_slice(
        format!(
            "+{}.{:06} [{} {}] ",
            unix_micros / 1_000_000,
            unix_micros % 1_000_000,
            db,
            addr
        )
        .as_bytes(),
    );
    for (i, a) in argv.iter().enumerate() {
        if i > 0 {
            out.put_u8(b' ');
        }
        if redacted.contains(&i) {
            out.put_slice(b"\"(redacted)\"");
        } else {
            repr(&mut out, a);
        }
    }
    out.put_slice(b"\r\n");
    out
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes and `\xHH`
/// for bytes outside printable ASCII.
pub fn repr(out: &mut BytesMut, s: &[u8]) {
    out.put_u8(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.put_u8(b'\\');
                out.put_u8(c);
            }
            b'\n' => out.put_slice(b"\\n"),
            b'\r' => out.put_slice(b"\\r"),
            b'\t' => out.put_slice(b"\\t"),
            0x07 => out.put_slice(b"\\a"),
            0x08 => out.put_slice(b"\\b"),
            0x20..=0x7e => out.put_u8(c),
            _ => out.put_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.put_u8(b'"');
}

/// The argument positions Redis 7.0 has replaced by "(redacted)" by the time
/// it feeds the monitors: AUTH's arguments once its arity is valid, HELLO's
/// AUTH user and password as far as its option walk got.
fn redacted_args(argv: &[Bytes]) -> Vec<usize> {
    let name = &argv[0];
    if name.eq_ignore_ascii_case(b"auth") {
        if argv.len() > 3 {
            return Vec::new();
        }
        return (1..argv.len()).collect();
    }
    if !name.eq_ignore_ascii_case(b"hello") || argv.len() < 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    match crate::resp::parse::parse_i64(&argv[1]) {
        Some(2 | 3) => {}
        _ => return out,
    }
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
            out.extend([j + 1, j + 2]);
            j += 3;
        } else if argv[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
            if argv[j + 1].iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
                return out;
            }
            j += 2;
        } else {
            return out;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&[u8]]) -> Vec<Bytes> {
        a.iter().map(|x| Bytes::copy_from_slice(x)).collect()
    }

    #[test]
    fn formats_like_redis() {
        // Observed from redis-server 7.0.15.
        let l = line(
            5,
            "127.0.0.1:36450",
            &args(&[
                b"SET",
                b"k",
                "a\"b\\c\n\r\t\x07\x08\x01\u{ff} \u{e9}".as_bytes(),
            ]),
            1_795_975_112_045_299,
        );
        assert_eq!(
            std::str::from_utf8(&l).unwrap(),
            "+1795975112.045299 [5 127.0.0.1:36450] \"SET\" \"k\" \"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\xc3\\xbf \\xc3\\xa9\"\r\n"
        );
    }

    #[test]
    fn redacts_like_redis() {
        assert_eq!(redacted_args(&args(&[b"AUTH", b"x"])), [1]);
        assert!(redacted_args(&args(&[b"AUTH", b"a", b"b", b"c"])).is_empty());
        assert_eq!(redacted_args(&args(&[b"auth", b"u", b"p"])), [1, 2]);
        assert_eq!(
            redacted_args(&args(&[b"HELLO", b"3", b"AUTH", b"u", b"p"])),
            [3, 4]
        );
        assert!(redacted_args(&args(&[b"HELLO", b"x", b"AUTH", b"u", b"p"])).is_empty());
        assert!(redacted_args(&args(&[b"HELLO", b"2", b"FOO", b"AUTH", b"u", b"p"])).is_empty());
        assert!(redacted_args(&args(&[
            b"HELLO", b"2", b"SETNAME", b"a b", b"AUTH", b"u", b"p"
        ]))
        .is_empty());
        assert_eq!(
            redacted_args(&args(&[
                b"HELLO", b"2", b"SETNAME", b"n", b"AUTH", b"u", b"p"
            ])),
            [5, 6]
        );
    }
}
