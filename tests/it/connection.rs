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

/// The HELLO reply, RESP2 and RESP3: every field, its order and value
/// exactly (Strata's `server` and `version` are Redis's "redis" and
/// "7.0.15"), except `id`, which must be the connection's CLIENT ID.
#[test]
fn hello_3_switches_protocol() {
    let mut d = Diff::new();
    d.hello(&["HELLO"]);
    d.hello(&["HELLO", "2"]);
    d.check(&["PING"]);
    let id = d.hello(&["HELLO", "3"]);
    d.check(&["PING"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.hello(&["HELLO"]);
    d.hello(&["HELLO", "3", "SETNAME", "named"]);
    d.check(&["CLIENT", "GETNAME"]);
    d.check(&["HELLO", "2", "SETNAME", "bad name"]);
    assert_eq!(d.hello(&["HELLO", "2", "AUTH", "default", "any"]), id);
    d.check(&["PING"]);
    d.check(&["CLIENT", "GETNAME"]);
}
