//! Tests: the Prometheus endpoint (`metrics-port`). Scrapes over a raw
//! HTTP/1.1 request and parses the text exposition format itself, so the
//! test checks what a real Prometheus server would read.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::common::{free_port, Strata};

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: samples plus the `# TYPE` and `# HELP` of each family.
#[derive(Debug, Default)]
struct Exposition {
    samples: Vec<Sample>,
    types: HashMap<String, String>,
    helps: HashSet<String>,
}

impl Exposition {
    /// The value of the sample with exactly these labels.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }
}

/// Parses `key="value",...` (with `\\`, `\"`, `\n` escapes) up to the closing brace;
/// returns the labels and the rest of the line after `}`.
fn parse_labels(s: &str) -> (BTreeMap<String, String>, &str) {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    loop {
        rest = rest.trim_start_matches(',');
        if let Some(after) = rest.strip_prefix('}') {
            return (labels, after);
        }
        let eq = rest.find('=').expect("label has '='");
        let key = rest[..eq].to_string();
        let mut chars = rest[eq + 1..].char_indices();
        assert_eq!(
            chars.next().map(|(_, c)| c),
            Some('"'),
            "label value quoted"
        );
        let mut value = String::new();
        let end = loop {
            match chars.next().expect("unterminated label value") {
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key, value);
        rest = &rest[eq + 1 + end + 1..];
    }
}

fn parse_exposition(text: &str) -> Exposition {
    let mut exp = Exposition::default();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix("# ") {
            let mut parts = comment.splitn(3, ' ');
            match (parts.next(), parts.next(), parts.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    exp.types.insert(name.to_string(), kind.to_string());
                }
                (Some("HELP"), Some(name), _) => {
                    exp.helps.insert(name.to_string());
                }
                _ => {}
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).expect("sample has a value");
        let name = line[..name_end].to_string();
        let (labels, rest) = if line[name_end..].starts_with('{') {
            parse_labels(&line[name_end + 1..])
        } else {
            (BTreeMap::new(), &line[name_end..])
        };
        let value_text = rest.split_whitespace().next().expect("sample value");
        let value: f64 = value_text
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}"));
        exp.samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    exp
}

/// Status line, headers (lower-cased names) and body of one HTTP exchange.
struct HttpReply {
    status: String,
    headers: HashMap<String, String>,
    body: String,
}

fn http_request(port: u16, request: &str) -> HttpReply {
    // The metrics listener starts with the server; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if Instant::now() > deadline => panic!("metrics port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read reply");
    let text = String::from_utf8(raw).expect("utf-8 reply");
    let (head, body) = text.split_once("\r\n\r\n").expect("reply head");
    let mut lines = head.split("\r\n");
    let status = lines.next().expect("status line").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    HttpReply {
        status,
        headers,
        body: body.to_string(),
    }
}

fn get(port: u16, path: &str) -> HttpReply {
    http_request(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"),
    )
}

fn scrape(port: u16) -> Exposition {
    let r = get(port, "/metrics");
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("text/plain; version=0.0.4")
    );
    assert_eq!(
        r.headers.get("content-length"),
        Some(&r.body.len().to_string())
    );
    parse_exposition(&r.body)
}

fn start_with_metrics() -> (Strata, u16) {
    let mport = free_port();
    let s = Strata::start_with(&["--metrics-port", &mport.to_string()]);
    (s, mport)
}

#[test]
fn counts_commands_keys_and_latency() {
    let (s, mport) = start_with_metrics();
    let mut c = s.conn();
    for i in 0..7 {
        assert_eq!(c.cmd_str(&["set", &format!("k{i}"), "v"]), "+OK\r\n");
    }
    assert_eq!(c.cmd_str(&["set", "ttl", "v", "ex", "100"]), "+OK\r\n");
    for i in 0..5 {
        c.cmd(&["get", &format!("k{i}")]);
    }
    for _ in 0..3 {
        assert_eq!(c.cmd_str(&["get", "missing"]), "$-1\r\n");
    }
    // Wrong arity: rejected, not executed.
    c.cmd(&["get"]);
    c.cmd(&["nosuchcommand"]);
    assert_eq!(c.cmd_str(&["select", "3"]), "+OK\r\n");
    c.cmd(&["set", "in3", "v"]);
    c.cmd(&["select", "0"]);
    c.cmd(&["strlen", "k1"]);
    c.cmd(&["strlen", "k2"]);

    let m = scrape(mport);
    assert_eq!(m.value("strata_commands_total", &[("cmd", "get")]), 8.0);
    assert_eq!(m.value("strata_commands_total", &[("cmd", "set")]), 9.0);
    assert_eq!(m.value("strata_commands_total", &[("cmd", "strlen")]), 2.0);
    assert_eq!(m.value("strata_commands_total", &[("cmd", "select")]), 2.0);
    assert_eq!(
        m.value("strata_commands_rejected_total", &[("cmd", "get")]),
        1.0
    );
    // Commands never called are not listed (as INFO commandstats).
    assert_eq!(m.get("strata_commands_total", &[("cmd", "del")]), None);

    // The latency histogram counts what the counter counts.
    assert_eq!(
        m.value("strata_command_duration_seconds_count", &[("cmd", "get")]),
        8.0
    );
    let mut buckets: Vec<(f64, f64)> = m
        .named("strata_command_duration_seconds_bucket")
        .filter(|s| s.labels.get("cmd").map(String::as_str) == Some("get"))
        .map(|s| (s.labels["le"].parse::<f64>().expect("le"), s.value))
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert_eq!(buckets.len(), 17, "16 bounds plus +Inf: {buckets:?}");
    assert_eq!(buckets[0].0, 0.00001);
    assert_eq!(buckets[15].0, 1.0);
    assert_eq!(buckets[16], (f64::INFINITY, 8.0));
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "cumulative");
    let sum = m.value("strata_command_duration_seconds_sum", &[("cmd", "get")]);
    assert!(sum > 0.0 && sum < 8.0, "sum {sum}");
    assert_eq!(
        m.types
            .get("strata_command_duration_seconds")
            .map(String::as_str),
        Some("histogram")
    );
    assert_eq!(
        m.types.get("strata_commands_total").map(String::as_str),
        Some("counter")
    );
    assert!(m.helps.contains("strata_commands_total"));

    // Keys and expires per db (compared with DBSIZE in the next test).
    assert_eq!(m.value("strata_keys", &[("db", "0")]), 8.0);
    assert_eq!(m.value("strata_keys", &[("db", "3")]), 1.0);
    assert_eq!(m.value("strata_keys", &[("db", "1")]), 0.0);
    assert_eq!(m.value("strata_expires", &[("db", "0")]), 1.0);
    assert_eq!(m.value("strata_expires", &[("db", "3")]), 0.0);

    // Stats mirrored at scrape time.
    assert_eq!(m.value("strata_keyspace_hits_total", &[]), 7.0);
    assert_eq!(m.value("strata_keyspace_misses_total", &[]), 3.0);
    assert_eq!(m.value("strata_error_replies_total", &[]), 2.0);
    assert_eq!(m.value("strata_errors_total", &[("prefix", "ERR")]), 2.0);
    assert_eq!(m.value("strata_connected_clients", &[]), 1.0);
    assert!(m.value("strata_connections_received_total", &[]) >= 1.0);
    assert!(m.value("strata_net_input_bytes_total", &[]) > 0.0);
    assert!(m.value("strata_net_output_bytes_total", &[]) > 0.0);
    assert!(m.value("strata_uptime_seconds", &[]) >= 0.0);
    // RocksDB's cache and memtables; the pmem engine has neither (it has
    // its own figures instead).
    let pmem = crate::common::it_engine() == "pmem";
    if pmem {
        assert!(m.value("strata_pmem_capacity_bytes", &[]) > 0.0);
        assert!(m.value("strata_pmem_free_bytes", &[]) > 0.0);
        assert!(m.value("strata_pmem_live_bytes", &[]) > 0.0);
    } else {
        assert_eq!(
            m.value("strata_engine_block_cache_capacity_bytes", &[]),
            (16u64 << 20) as f64,
            "the configured --rocksdb.block-cache-size 16mb"
        );
    }
    let ratio = m.value("strata_engine_block_cache_hit_ratio", &[]);
    assert!((0.0..=1.0).contains(&ratio));
    for name in [
        "strata_engine_block_cache_hits_total",
        "strata_engine_block_cache_misses_total",
        "strata_engine_block_cache_usage_bytes",
        "strata_engine_memtable_bytes",
        "strata_engine_pending_compaction_bytes",
        "strata_engine_sst_bytes",
        "strata_engine_write_stall_seconds_total",
        "strata_engine_running_compactions",
        "strata_engine_running_flushes",
        "strata_engine_reads_offloaded_total",
        "strata_disk_usage_bytes",
        "strata_expired_keys_total",
        "strata_commands_processed_total",
    ] {
        assert!(m.get(name, &[]).is_some(), "{name} missing");
    }
    assert_eq!(
        m.types
            .get("strata_engine_write_stall_seconds_total")
            .map(String::as_str),
        Some("counter")
    );
    assert_eq!(
        m.types.get("strata_keys").map(String::as_str),
        Some("gauge")
    );
    if !pmem {
        assert!(m.value("strata_engine_memtable_bytes", &[]) > 0.0);
    }
    assert!(m.value("strata_disk_usage_bytes", &[]) > 0.0);

    // Later commands show up in the next scrape; the scrape itself is not a command.
    c.cmd(&["get", "k1"]);
    let m2 = scrape(mport);
    assert_eq!(m2.value("strata_commands_total", &[("cmd", "get")]), 9.0);
    assert_eq!(
        m2.value("strata_command_duration_seconds_count", &[("cmd", "get")]),
        9.0
    );
}

#[test]
fn keys_per_db_match_dbsize() {
    let (s, mport) = start_with_metrics();
    let mut c = s.conn();
    let mut expected = BTreeMap::new();
    for (db, n) in [(0usize, 4usize), (2, 9), (15, 1)] {
        c.cmd(&["select", &db.to_string()]);
        for i in 0..n {
            c.cmd(&["set", &format!("k{i}"), "v", "px", "600000"]);
        }
        // Overwriting without a TTL removes one expire.
        c.cmd(&["set", "k0", "v"]);
        expected.insert(db, n);
    }
    let m = scrape(mport);
    for db in 0..16usize {
        let n = expected.get(&db).copied().unwrap_or(0);
        let label = db.to_string();
        assert_eq!(
            m.value("strata_keys", &[("db", &label)]),
            n as f64,
            "db {db}"
        );
        let expires = n.saturating_sub(1);
        assert_eq!(m.value("strata_expires", &[("db", &label)]), expires as f64);
        c.cmd(&["select", &label]);
        // DBSIZE belongs to another command family; compare once it exists.
        let dbsize = c.cmd_str(&["dbsize"]);
        if !dbsize.starts_with("-ERR unknown command") {
            assert_eq!(dbsize, format!(":{n}\r\n"), "DBSIZE of db {db}");
        }
    }
}

#[test]
fn root_serves_metrics_and_other_paths_404() {
    let (s, mport) = start_with_metrics();
    s.conn().cmd(&["set", "a", "b"]);
    let root = get(mport, "/");
    assert_eq!(root.status, "HTTP/1.1 200 OK");
    assert!(root.body.contains("strata_commands_total{cmd=\"set\"} 1\n"));

    let missing = get(mport, "/nope");
    assert_eq!(missing.status, "HTTP/1.1 404 Not Found");
    assert_eq!(
        missing.headers.get("connection").map(String::as_str),
        Some("close")
    );

    let post = http_request(mport, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(post.status, "HTTP/1.1 405 Method Not Allowed");

    let head = http_request(mport, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!(head.status, "HTTP/1.1 200 OK");
    assert!(head.body.is_empty());

    let garbage = http_request(mport, "hello\r\n\r\n");
    assert_eq!(garbage.status, "HTTP/1.1 400 Bad Request");

    // A head that never ends is cut off with 431 instead of buffering forever.
    let huge = format!("GET /metrics HTTP/1.1\r\nX: {}\r\n", "a".repeat(20_000));
    let r = http_request(mport, &huge);
    assert_eq!(r.status, "HTTP/1.1 431 Request Header Fields Too Large");

    // The Redis port still works after all that.
    assert_eq!(s.conn().cmd_str(&["get", "a"]), "$1\r\nb\r\n");
}

/// Listening TCP sockets held by process `pid` (Linux /proc).
fn listening_ports(pid: u32) -> Vec<u16> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("proc fd")
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy().to_string();
            t.strip_prefix("socket:[")
                .and_then(|r| r.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address is HEX_IP:HEX_PORT, st 0A = LISTEN, inode is field 9.
            if f.len() > 9 && f[3] == "0A" && inodes.contains(f[9]) {
                let port = f[1].rsplit(':').next().expect("port");
                ports.push(u16::from_str_radix(port, 16).expect("hex port"));
            }
        }
    }
    ports.sort_unstable();
    ports
}

#[test]
fn metrics_port_zero_opens_no_port() {
    let s = Strata::start();
    let pid = s.child.as_ref().expect("running").id();
    assert_eq!(listening_ports(pid), vec![s.port]);

    let (m, mport) = start_with_metrics();
    get(mport, "/metrics");
    let pid = m.child.as_ref().expect("running").id();
    let mut want = vec![m.port, mport];
    want.sort_unstable();
    assert_eq!(listening_ports(pid), want);
}

#[test]
fn exposition_parser_handles_escapes_and_special_values() {
    let e = parse_exposition(
        "# HELP x_total A \"help\".\n# TYPE x_total counter\nx_total{a=\"q\\\"\\\\n\",b=\"\"} 3\ny +Inf\nz NaN 1700000000\n",
    );
    assert_eq!(e.value("x_total", &[("a", "q\"\\n"), ("b", "")]), 3.0);
    assert_eq!(e.value("y", &[]), f64::INFINITY);
    assert!(e.value("z", &[]).is_nan());
    assert_eq!(e.types["x_total"], "counter");
}
