//! CLIENT, INFO and server commands: replies compared with a real
//! redis-server where they are deterministic, structural checks for INFO and
//! CLIENT LIST, and behaviour across connections (KILL, PAUSE, SHUTDOWN).

use std::time::{Duration, Instant};

use crate::common::{redis_cli, Conn, Diff, Strata};

fn text(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).into_owned()
}

/// The payload of a RESP2 bulk reply.
fn bulk_body(reply: &[u8]) -> String {
    let s = text(reply);
    let (_, body) = s.split_once("\r\n").expect("bulk header");
    body.strip_suffix("\r\n").unwrap_or(body).to_string()
}

#[test]
fn client_errors_and_simple_subcommands_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        CLIENT
        CLIENT FOO
        CLIENT GETNAME
        CLIENT SETNAME foo
        CLIENT GETNAME
        CLIENT SETNAME "bad name"
        CLIENT SETNAME ""
        CLIENT GETNAME
        CLIENT SETNAME
        CLIENT ID x
        CLIENT GETREDIR
        CLIENT TRACKINGINFO
        CLIENT CACHING yes
        CLIENT NO-EVICT on
        CLIENT NO-EVICT off
        CLIENT NO-EVICT maybe
        CLIENT NO-EVICT
        CLIENT REPLY maybe
        CLIENT REPLY ON
        CLIENT REPLY
        CLIENT LIST foo
        CLIENT LIST id
        CLIENT LIST id abc
        CLIENT LIST id 999999
        CLIENT LIST type foo
        CLIENT LIST type master
        CLIENT LIST type replica
        CLIENT LIST type pubsub
        CLIENT LIST type normal x
        CLIENT KILL
        CLIENT KILL 1.2.3.4:5
        CLIENT KILL id abc
        CLIENT KILL id 0
        CLIENT KILL id 999999
        CLIENT KILL foo bar
        CLIENT KILL type foo
        CLIENT KILL type master
        CLIENT KILL skipme maybe
        CLIENT KILL maxage 10
        CLIENT KILL id 1 foo
        CLIENT KILL user nobody
        CLIENT KILL user default id 999999
        CLIENT KILL addr 1.2.3.4:5 skipme no
        CLIENT KILL laddr 1.2.3.4:5
        CLIENT PAUSE
        CLIENT PAUSE abc
        CLIENT PAUSE -1
        CLIENT PAUSE 10 foo
        CLIENT PAUSE abc foo
        CLIENT PAUSE 1 all x
        CLIENT PAUSE 0 write
        CLIENT UNPAUSE
        CLIENT UNPAUSE x
        "#,
    );
}

#[test]
fn client_reply_modes_match_redis() {
    let mut d = Diff::new();
    // OFF and SKIP themselves get no reply; SKIP also swallows the next one.
    for c in [&mut d.s, &mut d.r] {
        c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
        c.send(&[b"PING", b"skipped"]);
        c.send(&[b"PING", b"one"]);
        c.send(&[b"CLIENT", b"REPLY", b"OFF"]);
        c.send(&[b"PING", b"off"]);
        c.send(&[b"CLIENT", b"REPLY", b"SKIP"]);
        c.send(&[b"PING", b"still-off"]);
        c.send(&[b"CLIENT", b"REPLY", b"ON"]);
        c.send(&[b"PING", b"two"]);
    }
    for _ in 0..3 {
        let (s, r) = (d.s.read_reply(), d.r.read_reply());
        crate::common::assert_replies_match(&[b"PING"], crate::common::Order::Exact, &s, &r);
    }
    d.check(&["PING", "three"]);
}

#[test]
fn server_command_errors_and_shapes_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        TIME x
        ROLE
        ROLE x
        LASTSAVE x
        SAVE x
        BGSAVE foo
        BGSAVE a b
        SHUTDOWN ABORT
        SHUTDOWN foo
        SHUTDOWN NOW FORCE ABORT
        SHUTDOWN ABORT x
        SHUTDOWN SAVE NOSAVE
        DEBUG
        DEBUG SLEEP 0
        DEBUG OBJECT a
        INFO nosuch
        INFO a b c
        "#,
    );
    // TIME: two bulk strings, seconds near now and microseconds < 10^6.
    let (s, r) = d.both(&["TIME"]);
    let parts = |b: &[u8]| -> Vec<u64> {
        text(b)
            .split("\r\n")
            .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
            .map(|l| l.parse().expect("number"))
            .collect()
    };
    let (ps, pr) = (parts(&s), parts(&r));
    assert_eq!(ps.len(), 2);
    assert!(ps[0].abs_diff(pr[0]) <= 2, "{ps:?} vs {pr:?}");
    assert!(ps[1] < 1_000_000);
    assert!(text(&d.s.cmd(&["LASTSAVE"])).starts_with(':'));
}

#[test]
fn save_and_bgsave_update_persistence_info() {
    let s = Strata::start();
    let mut c = s.conn();
    let before = bulk_body(&c.cmd(&["INFO", "persistence"]));
    assert!(before.contains("rdb_saves:0\r\n"), "{before}");
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    let after_set = bulk_body(&c.cmd(&["INFO", "persistence"]));
    assert!(
        after_set.contains("rdb_changes_since_last_save:1\r\n"),
        "{after_set}"
    );
    assert_eq!(c.cmd_str(&["SAVE"]), "+OK\r\n");
    let saved = bulk_body(&c.cmd(&["INFO", "persistence"]));
    assert!(saved.contains("rdb_saves:1\r\n"), "{saved}");
    assert!(
        saved.contains("rdb_changes_since_last_save:0\r\n"),
        "{saved}"
    );
    assert_eq!(
        c.cmd_str(&["BGSAVE", "SCHEDULE"]),
        "+Background saving started\r\n"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let info = bulk_body(&c.cmd(&["INFO", "persistence"]));
        if info.contains("rdb_saves:2\r\n") && info.contains("rdb_bgsave_in_progress:0\r\n") {
            assert!(info.contains("rdb_last_bgsave_status:ok\r\n"));
            break;
        }
        assert!(Instant::now() < deadline, "BGSAVE did not finish: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Parses `field:value` lines of an INFO text, checking the line format.
fn info_fields(body: &str) -> Vec<(String, String)> {
    assert!(body.ends_with("\r\n"), "INFO must end with CRLF");
    let mut fields = Vec::new();
    for line in body.split("\r\n") {
        if line.is_empty() || line.starts_with("# ") {
            continue;
        }
        let (k, v) = line.split_once(':').expect("field:value line");
        fields.push((k.to_string(), v.to_string()));
    }
    fields
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("INFO lacks {name}"))
}

#[test]
fn info_default_sections_and_fields() {
    let s = Strata::start();
    let mut c = s.conn();
    let body = bulk_body(&c.cmd(&["INFO"]));
    let headers: Vec<&str> = body.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace",
            "# Engine",
            "# RocksDB"
        ]
    );
    assert!(
        !body.contains("\n\r\n\r\n"),
        "sections are separated by one blank line"
    );
    assert_eq!(
        bulk_body(&c.cmd(&["INFO", "default"])).lines().count(),
        body.lines().count()
    );
    let f = info_fields(&body);
    assert_eq!(field(&f, "redis_version"), "7.0.15");
    assert_eq!(field(&f, "redis_mode"), "standalone");
    assert_eq!(field(&f, "role"), "master");
    assert_eq!(field(&f, "connected_slaves"), "0");
    assert_eq!(field(&f, "master_repl_offset"), "0");
    assert_eq!(field(&f, "master_replid").len(), 40);
    assert_eq!(field(&f, "tcp_port"), s.port.to_string());
    assert_eq!(field(&f, "run_id").len(), 40);
    assert_eq!(field(&f, "loading"), "0");
    assert_eq!(field(&f, "aof_enabled"), "0");
    assert_eq!(field(&f, "cluster_enabled"), "0");
    // The start-up probe connection may still be registered.
    assert!(field(&f, "connected_clients").parse::<u64>().unwrap_or(0) >= 1);
    for num in [
        "process_id",
        "uptime_in_seconds",
        "used_memory",
        "used_memory_peak",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "total_net_input_bytes",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "total_error_replies",
        "rejected_connections",
        "rdb_last_save_time",
        "engine_disk_usage",
        // RocksDB's own: strata-bench's settle step waits on the pending
        // and running ones; the last two show rocksdb.read-offload at work.
        "rocksdb_sst_bytes",
        "rocksdb_pending_compaction_bytes",
        "rocksdb_running_compactions",
        "rocksdb_running_flushes",
        "rocksdb_reads_offloaded",
        "rocksdb_read_avg_us",
    ] {
        field(&f, num)
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("{num} is not a number"));
    }
    assert!(field(&f, "used_memory").parse::<u64>().unwrap_or(0) > 0);
    field(&f, "used_cpu_user")
        .parse::<f64>()
        .expect("cpu seconds");
    assert_eq!(field(&f, "engine"), "rocksdb");
    // Engine-neutral figures in `# Engine`, RocksDB's own in `# RocksDB`.
    assert_eq!(field(&f, "engine_open_snapshots"), "0");
    // No data yet: the keyspace section is empty.
    assert!(body.contains("# Keyspace\r\n\r\n# Engine"), "{body}");

    let all = bulk_body(&c.cmd(&["INFO", "all"]));
    for h in ["# Commandstats", "# Latencystats", "# Server", "# Keyspace"] {
        assert!(all.contains(h), "INFO all lacks {h}");
    }
    assert_eq!(bulk_body(&c.cmd(&["INFO", "nosuch"])), "");
    let two = bulk_body(&c.cmd(&["INFO", "KEYSPACE", "server"]));
    assert!(
        two.starts_with("# Server\r\n"),
        "sections keep their fixed order"
    );
    assert!(two.contains("\r\n\r\n# Keyspace\r\n"));
}

#[test]
fn info_keyspace_commandstats_errorstats_and_stats_count() {
    let s = Strata::start();
    let mut c = s.conn();
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(c.cmd_str(&["GET", "missing"]), "$-1\r\n");
    assert!(c
        .cmd_str(&["CLIENT", "KILL", "1.2.3.4:5"])
        .starts_with("-ERR"));
    assert_eq!(
        bulk_body(&c.cmd(&["INFO", "keyspace"])),
        "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
    );
    let cmdstats = bulk_body(&c.cmd(&["INFO", "commandstats"]));
    let get_line = cmdstats
        .lines()
        .find(|l| l.starts_with("cmdstat_get:"))
        .expect("cmdstat_get line");
    assert!(
        get_line.starts_with("cmdstat_get:calls=2,usec="),
        "{get_line}"
    );
    assert!(get_line.contains(",usec_per_call="));
    assert!(
        get_line.ends_with(",rejected_calls=0,failed_calls=0"),
        "{get_line}"
    );
    assert!(
        cmdstats.contains("cmdstat_client|kill:calls=1,"),
        "{cmdstats}"
    );
    assert!(cmdstats.contains("failed_calls=1"), "{cmdstats}");
    assert_eq!(
        bulk_body(&c.cmd(&["INFO", "errorstats"])),
        "# Errorstats\r\nerrorstat_ERR:count=1\r\n"
    );
    let f = info_fields(&bulk_body(&c.cmd(&["INFO", "stats"])));
    assert_eq!(field(&f, "keyspace_hits"), "1");
    assert_eq!(field(&f, "keyspace_misses"), "1");
    assert_eq!(field(&f, "total_error_replies"), "1");
    // Rates are measured between INFO stats calls: a burst shows up.
    std::thread::sleep(Duration::from_millis(150));
    for _ in 0..300 {
        c.send(&[b"PING"]);
    }
    for _ in 0..300 {
        assert_eq!(text(&c.read_reply()), "+PONG\r\n");
    }
    let g = info_fields(&bulk_body(&c.cmd(&["INFO", "stats"])));
    let ops: u64 = field(&g, "instantaneous_ops_per_sec").parse().unwrap_or(0);
    assert!(ops > 0, "instantaneous_ops_per_sec stayed 0 after a burst");
    field(&g, "instantaneous_input_kbps")
        .parse::<f64>()
        .expect("kbps");
    assert!(
        field(&f, "total_commands_processed")
            .parse::<u64>()
            .unwrap_or(0)
            >= 7
    );
    // Each request above was its own read and reply write; the pipelined
    // PINGs need at least one of each more.
    let reads: u64 = field(&g, "total_reads_processed").parse().unwrap_or(0);
    let writes: u64 = field(&g, "total_writes_processed").parse().unwrap_or(0);
    assert!(reads >= 9 && writes >= 9, "reads {reads} writes {writes}");
}

#[test]
fn info_and_client_info_are_verbatim_in_resp3() {
    let mut d = Diff::new();
    d.resp3();
    d.check(&["INFO", "nosuch"]);
    d.check(&["INFO", "cluster"]);
    d.check(&["CLIENT", "TRACKINGINFO"]);
    d.check(&["ROLE"]);
    assert!(text(&d.s.cmd(&["CLIENT", "INFO"])).starts_with("=")); // verbatim, like Redis
    assert!(text(&d.r.cmd(&["CLIENT", "INFO"])).starts_with("="));
}

/// Fields of one CLIENT LIST line, in order.
fn list_fields(line: &str) -> Vec<(String, String)> {
    line.split(' ')
        .map(|kv| {
            let (k, v) = kv.split_once('=').expect("key=value");
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[test]
fn client_list_format_matches_redis_fields() {
    let mut d = Diff::new();
    d.check(&["CLIENT", "SETNAME", "me"]);
    d.check(&["SELECT", "2"]);
    let s = bulk_body(&d.s.cmd(&["CLIENT", "LIST"]));
    let r = bulk_body(&d.r.cmd(&["CLIENT", "LIST"]));
    assert!(s.ends_with('\n'));
    let sl = list_fields(s.trim_end());
    let rl = list_fields(r.trim_end());
    let names = |v: &[(String, String)]| v.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&sl), names(&rl), "field order");
    for key in ["name", "db", "flags", "cmd", "user", "resp", "multi", "sub"] {
        let sv = &sl.iter().find(|(k, _)| k == key).expect("field").1;
        let rv = &rl.iter().find(|(k, _)| k == key).expect("field").1;
        assert_eq!(sv, rv, "field {key}");
    }
    let id = text(&d.s.cmd(&["CLIENT", "ID"]));
    let id = id.trim_start_matches(':').trim_end();
    assert!(s.starts_with(&format!("id={id} ")), "{s}");
    let info = bulk_body(&d.s.cmd(&["CLIENT", "INFO"]));
    assert!(info.starts_with(&format!("id={id} ")) && info.contains(" cmd=client|info "));
    assert_eq!(
        bulk_body(&d.s.cmd(&["CLIENT", "LIST", "ID", id]))
            .lines()
            .count(),
        1
    );
    d.check(&["CLIENT", "NO-EVICT", "on"]);
    let s = bulk_body(&d.s.cmd(&["CLIENT", "INFO"]));
    let r = bulk_body(&d.r.cmd(&["CLIENT", "INFO"]));
    let flags = |l: &str| {
        list_fields(l.trim_end())
            .into_iter()
            .find(|(k, _)| k == "flags")
            .map(|f| f.1)
    };
    assert_eq!(flags(&s), flags(&r));
}

/// Waits (bounded) until CLIENT LIST shows exactly `n` connections.
fn wait_for_clients(c: &mut Conn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let list = bulk_body(&c.cmd(&["CLIENT", "LIST"]));
        if list.lines().count() == n {
            return;
        }
        assert!(Instant::now() < deadline, "expected {n} clients: {list}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn client_id(c: &mut Conn) -> String {
    let r = c.cmd_str(&["CLIENT", "ID"]);
    r.trim_start_matches(':').trim_end().to_string()
}

#[test]
fn client_kill_by_id_addr_and_skipme() {
    let s = Strata::start();
    let mut a = s.conn();
    let mut b = s.conn();
    let b_id = client_id(&mut b);
    // The start-up probe connection may linger for a moment.
    wait_for_clients(&mut a, 2);
    assert_eq!(a.cmd_str(&["CLIENT", "KILL", "ID", &b_id]), ":1\r\n");
    assert!(b.is_closed(), "killed connection must close");
    // The registry forgets it (unregistering is asynchronous).
    wait_for_clients(&mut a, 1);

    // SKIPME defaults to yes: killing all normal clients spares the caller.
    let mut c = s.conn();
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n"); // registered by now
    assert_eq!(a.cmd_str(&["CLIENT", "KILL", "TYPE", "normal"]), ":1\r\n");
    assert!(c.is_closed());
    assert_eq!(a.cmd_str(&["PING"]), "+PONG\r\n");

    // Old form by address; the addr comes from the victim's own CLIENT INFO.
    let mut d = s.conn();
    let info = bulk_body(&d.cmd(&["CLIENT", "INFO"]));
    let addr = list_fields(info.trim_end())
        .into_iter()
        .find(|(k, _)| k == "addr")
        .expect("addr")
        .1;
    assert_eq!(a.cmd_str(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    assert!(d.is_closed());
    assert_eq!(
        a.cmd_str(&["CLIENT", "KILL", &addr]),
        "-ERR No such client\r\n"
    );

    // SKIPME no: the caller kills itself, after getting its reply.
    let my_id = client_id(&mut a);
    assert_eq!(
        a.cmd_str(&["CLIENT", "KILL", "ID", &my_id, "SKIPME", "no"]),
        ":1\r\n"
    );
    assert!(a.is_closed());
}

#[test]
fn client_pause_write_blocks_writes_until_unpause() {
    let s = Strata::start();
    let mut admin = s.conn();
    let mut writer = s.conn();
    let mut reader = s.conn();
    assert_eq!(writer.cmd_str(&["SET", "k", "before"]), "+OK\r\n");
    assert_eq!(
        admin.cmd_str(&["CLIENT", "PAUSE", "20000", "WRITE"]),
        "+OK\r\n"
    );
    writer.send(&[b"SET", b"k", b"after"]);
    // Reads proceed during a WRITE pause.
    let t = Instant::now();
    assert_eq!(reader.cmd_str(&["GET", "k"]), "$6\r\nbefore\r\n");
    assert!(t.elapsed() < Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        reader.cmd_str(&["GET", "k"]),
        "$6\r\nbefore\r\n",
        "SET ran during pause"
    );
    assert_eq!(admin.cmd_str(&["CLIENT", "UNPAUSE"]), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(text(&writer.read_reply()), "+OK\r\n");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(reader.cmd_str(&["GET", "k"]), "$5\r\nafter\r\n");

    // A short ALL pause delays reads too, then lets them run by itself.
    assert_eq!(admin.cmd_str(&["CLIENT", "PAUSE", "300"]), "+OK\r\n");
    let t = Instant::now();
    assert_eq!(reader.cmd_str(&["GET", "k"]), "$5\r\nafter\r\n");
    let waited = t.elapsed();
    assert!(waited >= Duration::from_millis(200), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

#[test]
fn shutdown_exits_cleanly_and_data_persists() {
    let mut s = Strata::start();
    let mut c = s.conn();
    assert_eq!(c.cmd_str(&["SET", "durable", "yes"]), "+OK\r\n");
    assert_eq!(
        c.cmd_str(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    c.send(&[b"SHUTDOWN"]);
    assert!(
        c.is_closed(),
        "SHUTDOWN closes the connection without a reply"
    );
    let mut child = s.child.take().expect("child");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit after SHUTDOWN"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    // kill9_and_restart with no child running just starts it again.
    s.kill9_and_restart();
    let mut c = s.conn();
    assert_eq!(c.cmd_str(&["GET", "durable"]), "$3\r\nyes\r\n");
}

#[test]
fn debug_is_refused_unless_enabled() {
    let mut d = Diff::new();
    d.script(
        r#"
        DEBUG HELP
        DEBUG OBJECT k
        DEBUG SET-ACTIVE-EXPIRE 0
        DEBUG SLEEP 0.01
        "#,
    );
}

#[test]
fn debug_works_when_enabled() {
    let s = Strata::start_with(&["--enable-debug-command", "yes"]);
    let r = crate::common::Redis::start_with(&["--enable-debug-command", "yes"]);
    let (mut sc, mut rc) = (s.conn(), r.conn());
    for args in [
        &["DEBUG", "SLEEP", "0"][..],
        &["DEBUG", "SLEEP", "abc"],
        &["DEBUG", "NOSUCH"],
        &["DEBUG", "OBJECT", "missing"],
    ] {
        assert_eq!(sc.cmd_str(args), rc.cmd_str(args), "{args:?}");
    }
    let start = Instant::now();
    assert_eq!(sc.cmd_str(&["DEBUG", "SLEEP", "0.2"]), "+OK\r\n");
    assert!(start.elapsed() >= Duration::from_millis(200));
    sc.cmd(&["SET", "k", "12345"]);
    assert!(sc
        .cmd_str(&["DEBUG", "OBJECT", "k"])
        .starts_with("+Value at:"));
}

#[test]
fn redis_cli_reads_info_and_role() {
    let s = Strata::start();
    let out = redis_cli(s.port, &["info", "server"]);
    assert!(out.starts_with("# Server"), "{out}");
    assert!(out.contains("redis_version:7.0.15"));
    assert!(out.contains(&format!("tcp_port:{}", s.port)));
    let role = redis_cli(s.port, &["role"]);
    // redis-cli prints raw replies when its output is not a terminal.
    assert_eq!(role, "master\n0\n\n");
    let list = redis_cli(s.port, &["client", "list"]);
    assert!(
        list.starts_with("id=") && list.contains("cmd=client|list"),
        "{list}"
    );
}
