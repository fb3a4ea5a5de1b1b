//! COMMAND and its subcommands, against a real redis-server where the
//! replies can match, and redis-cli against Strata.

use crate::common::{Diff, Strata};

#[test]
fn command_count_matches_the_table() {
    let s = Strata::start();
    let mut c = s.conn();
    let count = c.cmd_str(&["COMMAND", "COUNT"]);
    let n: i64 = count
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("integer reply");
    assert!(n > 0);
    let all = c.cmd_str(&["COMMAND"]);
    assert!(all.starts_with(&format!("*{n}\r\n")), "{all:.80}");
    let list = c.cmd_str(&["COMMAND", "LIST"]);
    assert!(list.contains("\r\nconfig|get\r\n"), "{list}");
    assert!(list.contains("\r\nget\r\n"), "{list}");
}

#[test]
fn command_info_and_getkeys_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        COMMAND INFO get
        COMMAND INFO GET nosuch
        COMMAND INFO config|get
        COMMAND INFO ping config|set command|info
        COMMAND GETKEYSANDFLAGS set a b
        COMMAND GETKEYS get a
        COMMAND GETKEYS GET a
        COMMAND GETKEYS get
        COMMAND GETKEYS get a b
        COMMAND GETKEYS nosuch a
        COMMAND GETKEYS ping x
        COMMAND GETKEYSANDFLAGS get a
        COMMAND HELP
        COMMAND NOSUCH
        COMMAND COUNT extra
        COMMAND LIST FILTERBY foo bar
        COMMAND LIST FILTERBY PATTERN
        "#,
    );
    d.check_unordered(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"]);
    // RESP3 (sets of maps, which the test decoder cannot frame) is checked
    // by `command_info_resp3_matches_redis_raw`.
    d.resp3();
    d.check(&["COMMAND", "INFO", "nosuch"]);
    d.check(&["COMMAND", "GETKEYS", "get", "a"]);
}

#[test]
fn command_info_shape_for_a_container() {
    let s = Strata::start();
    let mut c = s.conn();
    let info = c.cmd_str(&["COMMAND", "INFO", "config"]);
    // name, arity, flags, first, last, step, categories, tips, key specs, subcommands
    assert!(info.starts_with("*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n"), "{info}");
    assert!(
        info.contains(
            "$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n"
        ),
        "{info}"
    );
    assert!(
        info.contains("+@admin\r\n+@slow\r\n+@dangerous\r\n"),
        "{info}"
    );
}

#[test]
fn command_docs_describe_commands() {
    let s = Strata::start();
    let mut c = s.conn();
    let docs = c.cmd_str(&["COMMAND", "DOCS", "get", "nosuch"]);
    assert_eq!(
        docs,
        "*2\r\n$3\r\nget\r\n*8\r\n$7\r\nsummary\r\n$32\r\nReturn the string value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
    );
    let config = c.cmd_str(&["COMMAND", "DOCS", "config"]);
    assert!(config.contains("$11\r\nsubcommands\r\n"), "{config}");
    assert!(config.contains("$10\r\nconfig|set\r\n"), "{config}");
    let all = c.cmd_str(&["COMMAND", "DOCS"]);
    assert!(all.contains("$4\r\nping\r\n"));
}

#[test]
fn redis_cli_works_against_strata() {
    let s = Strata::start();
    assert_eq!(s.cli(&["SET", "greeting", "hello"]).trim(), "OK");
    assert_eq!(s.cli(&["GET", "greeting"]).trim(), "hello");
    assert_eq!(
        s.cli(&["CONFIG", "GET", "maxclients"]),
        "maxclients\n10000\n"
    );
    assert!(s
        .cli(&["COMMAND", "DOCS", "get"])
        .contains("Return the string value of a key"));
}

/// RESP3 COMMAND INFO, compared as raw bytes read until both servers go quiet.
#[test]
fn command_info_resp3_matches_redis_raw() {
    use std::io::{Read, Write};
    use std::time::Duration;
    let strata = Strata::start();
    let redis = crate::common::Redis::start();
    let raw = |port: u16| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        s.write_all(b"HELLO 3\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let mut junk = [0u8; 4096];
        let _ = s.read(&mut junk);
        s.write_all(b"COMMAND INFO get\r\n").unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    };
    let (s, r) = (raw(strata.port), raw(redis.port));
    let show = crate::common::show_bytes;
    assert!(r.starts_with(b"*1\r\n*10\r\n$3\r\nget"), "{}", show(&r));
    assert!(s == r, "Strata: {}\nRedis:  {}", show(&s), show(&r));
}

/// Interactive redis-cli (which calls COMMAND DOCS at start-up for its
/// hints) driven through a pseudo-terminal with `script`.
#[test]
fn interactive_redis_cli_starts_against_strata() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` (util-linux) not installed");
        return;
    }
    let s = Strata::start();
    let shell = format!(
        "(sleep 1; printf 'set a 1\\r\\n'; sleep 0.5; printf 'get a\\r\\n'; sleep 0.5; printf 'quit\\r\\n') \
         | TERM=dumb timeout 10 script -qc 'redis-cli -p {}' /dev/null",
        s.port
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &shell])
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("OK"), "{text}");
    assert!(text.contains("\"1\""), "{text}");
    assert_eq!(s.cli(&["PING"]).trim(), "PONG");
}
