//! Connection commands against a real redis-server.

use crate::common::Diff;

#[test]
fn ping_echo_select_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        PING
        PING hello
        PING a b
        ECHO "hello world"
        ECHO
        SELECT 1
        SELECT 16
        SELECT -1
        SELECT abc
        SELECT 0
        NOSUCHCOMMAND a b
        AUTH x
        AUTH a b c d
        HELLO 4
        HELLO abc
        HELLO 2 FOO
        RESET
        "#,
    );
}

#[test]
fn hello_3_switches_protocol() {
    let mut d = Diff::new();
    // The id field differs between servers; compare the rest.
    d.s.resp3 = true;
    d.r.resp3 = true;
    let (s, r) = d.both(&["HELLO", "3"]);
    let strip = |b: &[u8]| String::from_utf8_lossy(b).replace(|c: char| c.is_ascii_digit(), "#");
    assert_eq!(strip(&s), strip(&r));
    d.check(&["PING"]);
    d.check(&["HELLO", "2", "SETNAME", "bad name"]);
}
