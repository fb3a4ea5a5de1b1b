//! CONFIG GET/SET/REWRITE/RESETSTAT against a real redis-server, and start-up
//! from configuration files (including Debian's stock redis.conf).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, strata_bin, Conn, Diff, Redis, Strata};

/// Decodes a RESP2 flat array of bulk strings (CONFIG GET's reply) into
/// pairs. Names and values must be UTF-8 (no lossy decoding: a stray byte
/// fails here instead of comparing equal to another).
fn pairs(reply: &[u8]) -> BTreeMap<String, String> {
    let items: Vec<String> = crate::common::bulk_items(reply)
        .into_iter()
        .map(|b| String::from_utf8(b).expect("CONFIG GET names and values are UTF-8"))
        .collect();
    assert!(items.len() % 2 == 0, "odd CONFIG GET reply");
    items
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

/// Directives whose values differ by design: the test harness starts both
/// servers with different ports, directories and persistence options, and
/// Strata's defaults differ on purpose where documented.
const DIFFERENT_BY_DESIGN: &[&str] = &[
    "port",
    "dir",
    "bind",
    "save",
    "appendonly",
    "pidfile",
    "logfile",
    "daemonize",
    // The backlog lives on disk: 256 MB by default instead of 1 MB.
    "repl-backlog-size",
];

const STRATA_ONLY: &[&str] = &[
    "engine",
    "record-cache-size",
    "rocksdb.block-cache-size",
    "rocksdb.write-buffer-size",
    "rocksdb.max-write-buffer-number",
    "rocksdb.min-write-buffer-number-to-merge",
    "rocksdb.max-background-jobs",
    "rocksdb.compression",
    "rocksdb.read-offload",
    "pmem-path",
    "pmem-size",
    "metrics-port",
    "worker-threads",
];

#[test]
fn config_get_star_lists_every_redis_directive_with_its_value() {
    let mut d = Diff::new();
    let (s, r) = d.both(&["CONFIG", "GET", "*"]);
    let (s, r) = (pairs(&s), pairs(&r));
    assert_eq!(r.len(), 192, "Redis 7.0.15 lists 192 names");
    let strata_names: Vec<&String> = s
        .keys()
        .filter(|k| !STRATA_ONLY.contains(&k.as_str()))
        .collect();
    let redis_names: Vec<&String> = r.keys().collect();
    assert_eq!(strata_names, redis_names);
    for (name, value) in &r {
        if DIFFERENT_BY_DESIGN.contains(&name.as_str()) {
            continue;
        }
        assert_eq!(&s[name], value, "CONFIG GET {name}");
    }
}

#[test]
fn config_get_patterns_aliases_and_resp3_map() {
    let mut d = Diff::new();
    // CONFIG GET's order is Redis's dict order: compare (name, value) pairs.
    d.check_pairs(&["CONFIG", "GET", "slave*"]);
    d.check_pairs(&["CONFIG", "GET", "*maxmemory*"]);
    d.check_pairs(&["CONFIG", "GET", "*-max-*"]);
    d.check_pairs(&["CONFIG", "GET", "timeout", "hz", "TIME*"]);
    d.check_pairs(&["CONFIG", "GET", "hash-max-ziplist-*"]);
    d.script(
        "CONFIG GET nosuch\n\
         CONFIG GET maxmemory\n\
         CONFIG GET rdb-key-save-delay\n\
         CONFIG GET rdb-key-save-*\n\
         CONFIG GET\n",
    );
    d.resp3();
    d.check(&["CONFIG", "GET", "maxmemory"]);
    d.check(&["CONFIG", "GET", "nosuch"]);
    d.check_pairs(&["CONFIG", "GET", "*maxmemory*"]);
    d.check_pairs(&["CONFIG", "GET", "timeout", "hz", "TIME*"]);
}

#[test]
fn config_set_errors_match_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        CONFIG SET nosuch 1
        CONFIG SET timeout abc
        CONFIG SET timeout -1
        CONFIG SET timeout 1 TIMEOUT 2
        CONFIG SET timeout 1 foo
        CONFIG SET timeout
        CONFIG SET databases 4
        CONFIG SET daemonize no
        CONFIG SET slaveof "127.0.0.1 6379"
        CONFIG SET dir /tmp
        CONFIG SET dbfilename x.rdb
        CONFIG SET appendfsync sometimes
        CONFIG SET loglevel loud
        CONFIG SET maxmemory abc
        CONFIG SET maxmemory -1
        CONFIG SET proto-max-bulk-len 1000
        CONFIG SET hz 99999999999
        CONFIG SET port 99999999
        CONFIG SET activerehashing maybe
        CONFIG SET save "1 2 3"
        CONFIG SET save "a b"
        CONFIG SET client-output-buffer-limit "foo 1 2 3"
        CONFIG SET client-output-buffer-limit "normal a 2 3"
        CONFIG SET client-output-buffer-limit "normal 1 2"
        CONFIG SET notify-keyspace-events X
        CONFIG SET oom-score-adj-values "1 2"
        CONFIG SET oom-score-adj-values "1 2 5000"
        CONFIG SET latency-tracking-info-percentiles "abc"
        CONFIG SET latency-tracking-info-percentiles "101"
        CONFIG SET maxmemory-clients abc
        CONFIG SET timeout 5 hz abc
        CONFIG GET timeout
        CONFIG SET timeout 5 nosuch 1
        CONFIG GET timeout
        CONFIG NOSUCH
        CONFIG
        CONFIG HELP
        CONFIG HELP extra
        CONFIG RESETSTAT
        "#,
    );
}

#[test]
fn config_set_then_get_roundtrips_like_redis() {
    let mut d = Diff::new();
    d.script(
        r#"
        CONFIG SET maxmemory 1gb timeout 30 hz 20
        CONFIG GET maxmemory
        CONFIG GET timeout
        CONFIG GET hz
        CONFIG SET notify-keyspace-events KEA
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events Kgl
        CONFIG GET notify-keyspace-events
        CONFIG SET notify-keyspace-events ""
        CONFIG SET client-output-buffer-limit "normal 1mb 2 3"
        CONFIG GET client-output-buffer-limit
        CONFIG SET client-output-buffer-limit "replica 1kb 2kb 3 pubsub 0 0 0"
        CONFIG GET client-output-buffer-limit
        CONFIG SET latency-tracking-info-percentiles "50.5 1e1"
        CONFIG GET latency-tracking-info-percentiles
        CONFIG SET save "100 10 50 5"
        CONFIG GET save
        CONFIG SET save ""
        CONFIG GET save
        CONFIG SET appendfsync ALWAYS
        CONFIG GET appendfsync
        CONFIG SET appendfsync everysec
        CONFIG SET slave-read-only no
        CONFIG GET replica-read-only
        CONFIG SET hash-max-ziplist-entries 100
        CONFIG GET hash-max-listpack-entries
        CONFIG SET maxmemory-clients 10%
        CONFIG GET maxmemory-clients
        CONFIG SET maxmemory-clients 5mb
        CONFIG GET maxmemory-clients
        CONFIG SET loglevel WARNING
        CONFIG GET loglevel
        CONFIG SET oom-score-adj-values "-100 0 2000"
        CONFIG GET oom-score-adj-values
        CONFIG SET slowlog-log-slower-than -1 list-max-listpack-size -5
        CONFIG GET slowlog-log-slower-than
        CONFIG GET list-max-ziplist-size
        CONFIG SET requirepass ""
        "#,
    );
}

/// A strata-server started with a config file (plus test overrides), killed on drop.
struct FileServer {
    child: Child,
    port: u16,
    conf: PathBuf,
    data: PathBuf,
}

impl FileServer {
    fn start(conf: &Path, data: &Path, port: u16, extra: &[&str]) -> FileServer {
        let mut child = Command::new(strata_bin())
            .arg(conf)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(data)
            .args([
                "--daemonize",
                "no",
                "--logfile",
                "",
                "--rocksdb.block-cache-size",
                "16mb",
                "--rocksdb.write-buffer-size",
                "4mb",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start strata-server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(st)) = child.try_wait() {
                panic!("strata-server exited early with {st}");
            }
            assert!(Instant::now() < deadline, "strata-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        FileServer {
            child,
            port,
            conf: conf.to_path_buf(),
            data: data.to_path_buf(),
        }
    }

    fn restart(mut self) -> FileServer {
        let _ = self.child.kill();
        let _ = self.child.wait();
        FileServer::start(&self.conf, &self.data, self.port, &[])
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn rewrite_updates_the_file_and_survives_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("strata.conf");
    std::fs::write(
        &conf,
        "# my precious comment\ntimeout 10\n\n# another\nrename-command FOO BAR\nhz 15\n",
    )
    .unwrap();
    let data = tmp.path().join("data");
    let server = FileServer::start(&conf, &data, free_port(), &[]);
    let mut c = Conn::connect(server.port);
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$2\r\n10\r\n"
    );
    assert_eq!(
        c.cmd_str(&[
            "CONFIG",
            "SET",
            "timeout",
            "123",
            "maxmemory",
            "2mb",
            "notify-keyspace-events",
            "KEA"
        ]),
        "+OK\r\n"
    );
    assert_eq!(c.cmd_str(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.starts_with(
            "# my precious comment\ntimeout 123\n\n# another\nrename-command FOO BAR\nhz 15\n"
        ),
        "{text}"
    );
    assert!(text.contains("\nmaxmemory 2097152\n"), "{text}");
    assert!(text.contains("\nnotify-keyspace-events AKE\n"), "{text}");
    assert_eq!(text.matches("timeout").count(), 1, "{text}");

    let server = server.restart();
    let mut c = Conn::connect(server.port);
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$3\r\n123\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$7\r\n2097152\r\n"
    );
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n15\r\n"
    );
}

#[test]
fn rewrite_without_a_config_file_fails_like_redis() {
    let strata = Strata::start();
    let redis = Redis::start();
    let (mut s, mut r) = (strata.conn(), redis.conn());
    let expected = "-ERR The server is running without a config file\r\n";
    assert_eq!(s.cmd_str(&["CONFIG", "REWRITE"]), expected);
    assert_eq!(r.cmd_str(&["CONFIG", "REWRITE"]), expected);
}

#[test]
fn debian_redis_conf_starts_strata_unchanged() {
    let stock = Path::new("/etc/redis/redis.conf");
    if !stock.exists() {
        eprintln!("skipped: {} not installed", stock.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("redis.conf");
    std::fs::copy(stock, &conf).unwrap();
    let server = FileServer::start(&conf, &tmp.path().join("data"), free_port(), &[]);
    let mut c = Conn::connect(server.port);
    assert_eq!(c.cmd_str(&["PING"]), "+PONG\r\n");
    // Values from the stock file are in force (it sets these explicitly).
    assert_eq!(
        c.cmd_str(&["CONFIG", "GET", "tcp-keepalive"]),
        "*2\r\n$13\r\ntcp-keepalive\r\n$3\r\n300\r\n"
    );
    assert_eq!(c.cmd_str(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmd_str(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn bad_config_file_value_stops_startup_with_redis_message() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("bad.conf");
    std::fs::write(&conf, "port 7000\nmaxmemory lots\n").unwrap();
    let out = Command::new(strata_bin())
        .arg(&conf)
        .output()
        .expect("run strata-server");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Reading the configuration file, at line 2"),
        "{err}"
    );
    assert!(err.contains(">>> 'maxmemory lots'"), "{err}");
    assert!(err.contains("argument must be a memory value"), "{err}");
}

/// `engine` takes only the engines the build knows (`--list-engines`); any
/// other name stops start-up with the config layer's error for bad values.
#[test]
fn unknown_engine_stops_startup_and_list_engines_names_the_known_ones() {
    let out = Command::new(strata_bin())
        .arg("--list-engines")
        .output()
        .expect("run strata-server");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "rocksdb\npmem\n");

    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("engine.conf");
    std::fs::write(
        &conf,
        format!("dir {}\nengine nvram\n", tmp.path().display()),
    )
    .unwrap();
    let out = Command::new(strata_bin())
        .arg(&conf)
        .output()
        .expect("run strata-server");
    assert!(!out.status.success(), "started with engine nvram");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(">>> 'engine nvram'"), "{err}");
    assert!(
        err.contains("argument(s) must be one of the following: rocksdb, pmem"),
        "{err}"
    );
}

/// The last three lines of a FATAL CONFIG FILE ERROR report (line number,
/// offending line, reason), which must be Redis's own.
fn startup_error(program: &str, conf: &Path) -> String {
    let out = Command::new(program)
        .arg(conf)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run server");
    assert!(!out.status.success(), "{program} accepted a bad file");
    let mut text = String::from_utf8_lossy(&out.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stdout));
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(3)..].join("\n")
}

#[test]
fn config_file_errors_match_redis() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("bad.conf");
    for bad in [
        "timeout 1 2",
        "nosuch 1",
        "save 1 2 3",
        "maxmemory lots",
        "appendfsync sometimes",
        "loglevel loud",
        "client-output-buffer-limit normal 0 0",
        "client-output-buffer-limit foo 0 0 0",
        "notify-keyspace-events X",
        "oom-score-adj-values 1 2",
        "activerehashing maybe",
        "port 70000",
    ] {
        std::fs::write(&conf, format!("# comment\n{bad}\n")).unwrap();
        assert_eq!(
            startup_error(&strata_bin(), &conf),
            startup_error("redis-server", &conf),
            "start-up error for {bad:?} (left: Strata, right: Redis)"
        );
    }
}

/// `worker-threads` sizes the runtime that runs connections; `io-threads`
/// above 1 maps to it when it is 0 (the runtime's threads are named
/// `tokio-rt-worker`; its blocking pool may add a few more).
#[test]
fn worker_threads_and_io_threads_size_the_runtime() {
    let workers = |s: &Strata| {
        let pid = s.child.as_ref().expect("running").id();
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .expect("/proc")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "tokio-rt-worker")
            .count()
    };
    let s = Strata::start_with(&["--worker-threads", "7"]);
    assert_eq!(
        s.conn().cmd(&["config", "get", "worker-threads"]),
        b"*2\r\n$14\r\nworker-threads\r\n$1\r\n7\r\n"
    );
    assert!(workers(&s) >= 7, "{} workers", workers(&s));
    let s = Strata::start_with(&["--io-threads", "9"]);
    assert!(workers(&s) >= 9, "{} workers", workers(&s));
}

/// `rocksdb.read-offload` decides whether reads that miss the block cache
/// leave the worker; INFO counts those that did, and CONFIG SET changes the
/// policy of a running server.
#[test]
fn read_offload_moves_block_cache_misses_off_the_worker_as_configured() {
    use crate::replica_sync::info_field;
    // Values over 4 KiB stay out of the record cache; a 1 MB block cache
    // and 1 MB memtables put most of 12 MB in files the cache cannot hold.
    let s = Strata::start_with(&[
        "--rocksdb.read-offload",
        "yes",
        "--rocksdb.block-cache-size",
        "1mb",
        "--rocksdb.write-buffer-size",
        "1mb",
        "--record-cache-size",
        "0",
    ]);
    let mut c = s.conn();
    let value = |i: usize| format!("{i:06}").repeat(700);
    for i in 0..3000 {
        assert_eq!(c.cmd(&["set", &format!("k{i}"), &value(i)]), b"+OK\r\n");
    }
    let offloaded = |c: &mut Conn| -> u64 {
        info_field(c, "rocksdb", "rocksdb_reads_offloaded")
            .expect("rocksdb_reads_offloaded in INFO")
            .parse()
            .expect("a number")
    };
    let read_all = |c: &mut Conn| {
        for i in (0..3000).step_by(7) {
            let v = value(i);
            let want = format!("${}\r\n{v}\r\n", v.len());
            assert_eq!(c.cmd(&["get", &format!("k{i}")]), want.as_bytes());
        }
    };
    // Flushes run in the background: read until misses show (bounded).
    let deadline = Instant::now() + Duration::from_secs(20);
    while offloaded(&mut c) == 0 {
        assert!(Instant::now() < deadline, "no read left the worker");
        read_all(&mut c);
    }
    assert_eq!(
        c.cmd(&["config", "set", "rocksdb.read-offload", "no"]),
        b"+OK\r\n"
    );
    assert_eq!(
        c.cmd(&["config", "get", "rocksdb.read-offload"]),
        b"*2\r\n$20\r\nrocksdb.read-offload\r\n$2\r\nno\r\n"
    );
    let before = offloaded(&mut c);
    read_all(&mut c);
    assert_eq!(offloaded(&mut c), before);
    let bad = c.cmd(&["config", "set", "rocksdb.read-offload", "sometimes"]);
    assert!(
        bad.starts_with(
            b"-ERR CONFIG SET failed (possibly related to argument 'rocksdb.read-offload')"
        ),
        "{}",
        String::from_utf8_lossy(&bad)
    );
}
