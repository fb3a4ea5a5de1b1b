//! The scenario runner: a described topology (nodes, replication links with
//! a one-way delay), a sustained write load on the top master, faults (link
//! cuts, `kill -9` and restart, restart), and the invariants checked at the
//! end: every node at the top master's replication id and offset, equal
//! keyspaces, no acknowledged write lost, and how each link resynchronised
//! (INFO stats `sync_full` / `sync_partial_ok`, log lines). Each run prints
//! a table row: scenario, mode, faults, full and partial syncs, max lag,
//! recovery time, result.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::netns::{LinkNet, Mode, Net};
use super::proxy::Proxy;
use super::{Kind, Node};
use crate::common::free_port;
use crate::replica_sync::{fill, snapshot};

/// Log lines of a replica that resumed, or synchronised from scratch (the
/// same wording in Redis and Strata).
pub const PARTIAL_LINE: &str = "Successful partial resynchronization with master";
pub const ACCEPTED_LINE: &str = "Master accepted a Partial Resynchronization";
pub const FULL_LINE: &str = "Full resync from master";

#[derive(Clone)]
pub struct NodeSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// Extra `--directive value` words.
    pub args: Vec<String>,
}

pub fn node(name: &'static str, kind: Kind, args: &[&str]) -> NodeSpec {
    NodeSpec {
        name,
        kind,
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// `replica` replicates from `master` through a proxy adding `one_way_ms`
/// in each direction (0 for a link inside a datacenter).
#[derive(Clone)]
pub struct LinkSpec {
    pub replica: &'static str,
    pub master: &'static str,
    pub one_way_ms: u64,
}

pub fn link(replica: &'static str, master: &'static str, one_way_ms: u64) -> LinkSpec {
    LinkSpec {
        replica,
        master,
        one_way_ms,
    }
}

#[derive(Clone, Debug)]
pub enum Fault {
    /// Cuts the links into the named replicas for `secs` (and longer, up to
    /// 120 s, until the top master's offset grew by `min_bytes`).
    Cut {
        replicas: Vec<&'static str>,
        secs: f64,
        min_bytes: u64,
    },
    /// `kill -9`, down for `down_secs`, started again.
    Kill9 { node: &'static str, down_secs: f64 },
    /// SIGTERM and start again.
    Restart { node: &'static str },
}

impl Fault {
    fn label(&self) -> String {
        match self {
            Fault::Cut {
                replicas,
                secs,
                min_bytes,
            } => {
                let mut s = format!("cut {} {secs}s", replicas.join("+"));
                if *min_bytes > 0 {
                    s += &format!(" (>= {} MB)", min_bytes >> 20);
                }
                s
            }
            Fault::Kill9 { node, down_secs } => format!("kill -9 {node} {down_secs}s"),
            Fault::Restart { node } => format!("restart {node}"),
        }
    }
}

#[derive(Clone, Copy)]
pub struct Load {
    /// Bytes of each SET / HSET value.
    pub value_size: usize,
    /// Writes per second at most.
    pub ops_per_sec: u32,
}

pub struct Scenario {
    pub name: &'static str,
    pub nodes: Vec<NodeSpec>,
    pub links: Vec<LinkSpec>,
    pub load: Load,
    pub faults: Vec<Fault>,
    /// Seconds of load before the first fault, between faults and after.
    pub settle_secs: f64,
    /// Fill the top master with every type before the replicas start.
    pub prefill: bool,
}

/// What a run measured.
pub struct Report {
    pub scenario: String,
    pub mode: Mode,
    pub faults: String,
    /// Syncs served during the faults, summed over every node.
    pub full_syncs: u64,
    pub partial_syncs: u64,
    /// Largest replication lag sampled (top master offset minus node's).
    pub max_lag_bytes: u64,
    /// Per fault: from the link coming back (or the node restarting) to the
    /// affected nodes reaching the top master's offset at that moment.
    pub recovery: Vec<Duration>,
    pub acked_writes: u64,
    pub write_errors: u64,
    /// Per node: log lines (partial, full) written during the faults.
    pub log_partial: BTreeMap<String, usize>,
    pub log_full: BTreeMap<String, usize>,
    pub log_accepted: BTreeMap<String, usize>,
    /// Per node: (sync_full, sync_partial_ok) served during the faults.
    pub served: BTreeMap<String, (u64, u64)>,
    pub result: String,
}

impl Report {
    pub fn header() -> String {
        format!(
            "| {:<48} | {:<8} | {:<44} | {:>4} | {:>7} | {:>9} | {:>15} | {:<6} |",
            "scenario", "mode", "faults", "full", "partial", "max lag", "recovery", "result"
        )
    }

    pub fn row(&self) -> String {
        let rec: Vec<String> = self
            .recovery
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect();
        format!(
            "| {:<48} | {:<8} | {:<44} | {:>4} | {:>7} | {:>6} KB | {:>13} s | {:<6} |",
            self.scenario,
            self.mode.to_string(),
            self.faults,
            self.full_syncs,
            self.partial_syncs,
            self.max_lag_bytes >> 10,
            rec.join(", "),
            self.result
        )
    }

    /// Prints the row (and appends it to `$STRATA_XDC_TABLE` when set).
    pub fn print(&self) {
        println!("{}\n{}", Report::header(), self.row());
        println!(
            "  acked writes {}, write errors {}; served (full, partial) {:?}; log partial {:?} full {:?}",
            self.acked_writes, self.write_errors, self.served, self.log_partial, self.log_full
        );
        if let Ok(path) = std::env::var("STRATA_XDC_TABLE") {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(f, "{}", self.row());
            }
        }
    }
}

/// A minimal RESP client that reports errors instead of panicking (nodes
/// are killed and links cut under it).
pub struct Client {
    addr: SocketAddr,
    r: BufReader<TcpStream>,
    w: TcpStream,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Ok(String),
    Err(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Val>),
}

impl Client {
    pub fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        s.set_nodelay(true)?;
        Ok(Client {
            addr,
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> std::io::Result<Val> {
        self.w.write_all(&crate::common::encode(args))?;
        self.read()
    }

    pub fn cmds(&mut self, args: &[&str]) -> std::io::Result<Val> {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.cmd(&a)
    }

    fn read(&mut self) -> std::io::Result<Val> {
        let mut line = Vec::new();
        self.r.read_until(b'\n', &mut line)?;
        if line.len() < 3 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "connection closed",
            ));
        }
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "bad reply");
        Ok(match line[0] {
            b'+' => Val::Ok(body),
            b'-' => Val::Err(body),
            b':' => Val::Int(body.parse().map_err(|_| bad())?),
            b'$' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                if n < 0 {
                    Val::Bulk(None)
                } else {
                    let mut b = vec![0u8; n as usize + 2];
                    self.r.read_exact(&mut b)?;
                    b.truncate(n as usize);
                    Val::Bulk(Some(b))
                }
            }
            b'*' => {
                let n: i64 = body.parse().map_err(|_| bad())?;
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(self.read()?);
                }
                Val::Array(items)
            }
            _ => return Err(bad()),
        })
    }

    /// One INFO field.
    pub fn info(&mut self, section: &str, field: &str) -> Option<String> {
        match self.cmds(&["INFO", section]).ok()? {
            Val::Bulk(Some(b)) => String::from_utf8_lossy(&b).lines().find_map(|l| {
                l.strip_prefix(&format!("{field}:"))
                    .map(|v| v.trim().to_string())
            }),
            _ => None,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// One INFO field of the node at `addr`, or None when it does not answer.
pub fn info_at(addr: SocketAddr, section: &str, field: &str) -> Option<String> {
    Client::connect(addr).ok()?.info(section, field)
}

/// A node's replication position: (link up or master, replid, offset).
pub fn position(addr: SocketAddr) -> Option<(bool, String, u64)> {
    let mut c = Client::connect(addr).ok()?;
    let Val::Bulk(Some(b)) = c.cmds(&["INFO", "replication"]).ok()? else {
        return None;
    };
    let text = String::from_utf8_lossy(&b).into_owned();
    let get = |f: &str| {
        text.lines().find_map(|l| {
            l.strip_prefix(&format!("{f}:"))
                .map(|v| v.trim().to_string())
        })
    };
    let up = get("role").as_deref() == Some("master")
        || get("master_link_status").as_deref() == Some("up");
    Some((
        up,
        get("master_replid")?,
        get("master_repl_offset")?.parse().ok()?,
    ))
}

/// What the writer expects to find: the last acknowledged value per key
/// (or per hash field, or the list element at the acknowledged length).
#[derive(Default)]
pub struct Acked {
    pub strings: BTreeMap<String, Vec<u8>>,
    pub counters: BTreeMap<String, i64>,
    /// list key -> (acknowledged length, last element pushed)
    pub lists: BTreeMap<String, (i64, String)>,
    pub fields: BTreeMap<(String, String), Vec<u8>>,
    pub count: u64,
    pub errors: u64,
}

/// The load: one thread writing SET / INCR / RPUSH / HSET to the top master
/// at a bounded rate, recording every acknowledged write.
pub struct Writer {
    stop: Arc<AtomicBool>,
    pub written: Arc<AtomicU64>,
    handle: Option<JoinHandle<Acked>>,
}

fn value(n: u64, size: usize) -> Vec<u8> {
    let mut v = format!("{n}:").into_bytes();
    while v.len() < size {
        v.push(b'a' + (v.len() % 26) as u8);
    }
    v
}

impl Writer {
    pub fn start(addr: SocketAddr, load: Load) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let (s, w) = (stop.clone(), written.clone());
        let handle = std::thread::spawn(move || write_loop(addr, load, &s, &w));
        Writer {
            stop,
            written,
            handle: Some(handle),
        }
    }

    pub fn finish(mut self) -> Acked {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .expect("writer")
            .join()
            .expect("writer thread")
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn write_loop(addr: SocketAddr, load: Load, stop: &AtomicBool, written: &AtomicU64) -> Acked {
    let mut acked = Acked::default();
    let mut client: Option<Client> = None;
    let started = Instant::now();
    let mut n: u64 = 0;
    while !stop.load(Ordering::SeqCst) {
        let due = started + Duration::from_secs_f64(n as f64 / load.ops_per_sec.max(1) as f64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let c = match client.as_mut() {
            Some(c) => c,
            None => match Client::connect(addr) {
                Ok(c) => client.insert(c),
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            },
        };
        n += 1;
        let v = value(n, load.value_size);
        let ns = n.to_string();
        let result = match n % 4 {
            0 => {
                let key = format!("w:{}", n % 2000);
                c.cmd(&[b"SET", key.as_bytes(), &v]).map(|r| (key, r))
            }
            1 => {
                let key = format!("c:{}", n % 16);
                c.cmds(&["INCR", &key]).map(|r| (key, r))
            }
            2 => {
                let key = format!("l:{}", n % 8);
                c.cmds(&["RPUSH", &key, &ns]).map(|r| (key, r))
            }
            _ => {
                let key = format!("h:{}", n % 16);
                let field = format!("f{}", n % 100);
                c.cmd(&[b"HSET", key.as_bytes(), field.as_bytes(), &v])
                    .map(|r| (format!("{key}\n{field}"), r))
            }
        };
        match result {
            Ok((key, Val::Err(e))) => panic!("the master refused a write to {key}: {e}"),
            Ok((key, r)) => {
                acked.count += 1;
                written.fetch_add(1, Ordering::Relaxed);
                match (n % 4, r) {
                    (0, _) => {
                        acked.strings.insert(key, v);
                    }
                    (1, Val::Int(i)) => {
                        acked.counters.insert(key, i);
                    }
                    (2, Val::Int(len)) => {
                        acked.lists.insert(key, (len, ns));
                    }
                    (3, _) => {
                        let (k, f) = key.split_once('\n').expect("field");
                        acked.fields.insert((k.to_string(), f.to_string()), v);
                    }
                    (_, r) => panic!("unexpected reply {r:?}"),
                }
            }
            Err(_) => {
                // Unknown outcome: forget what this key held.
                acked.errors += 1;
                client = None;
                let key = match n % 4 {
                    0 => format!("w:{}", n % 2000),
                    1 => format!("c:{}", n % 16),
                    2 => format!("l:{}", n % 8),
                    _ => String::new(),
                };
                acked.strings.remove(&key);
                acked.counters.remove(&key);
                acked.lists.remove(&key);
                if n % 4 == 3 {
                    acked
                        .fields
                        .remove(&(format!("h:{}", n % 16), format!("f{}", n % 100)));
                }
            }
        }
    }
    acked
}

/// Checks every acknowledged write against the node at `addr`; returns the
/// first few differences.
pub fn lost_writes(addr: SocketAddr, acked: &Acked) -> Vec<String> {
    let mut c = Client::connect(addr).expect("connect for the check");
    let mut bad = Vec::new();
    let bulk = |v: Val| match v {
        Val::Bulk(b) => b,
        other => panic!("expected a bulk reply, got {other:?}"),
    };
    c.cmds(&["SELECT", "0"]).expect("select");
    for (k, v) in &acked.strings {
        let got = bulk(c.cmds(&["GET", k]).expect("GET"));
        if got.as_deref() != Some(v.as_slice()) {
            bad.push(format!("{k}: {:?}", got.map(|g| g.len())));
        }
    }
    for (k, v) in &acked.counters {
        let got = bulk(c.cmds(&["GET", k]).expect("GET"));
        if got != Some(v.to_string().into_bytes()) {
            bad.push(format!("{k}: {got:?} (acked {v})"));
        }
    }
    for (k, (len, last)) in &acked.lists {
        let got = c.cmds(&["LLEN", k]).expect("LLEN");
        let at = bulk(
            c.cmds(&["LINDEX", k, &(len - 1).to_string()])
                .expect("LINDEX"),
        );
        if got != Val::Int(*len) || at != Some(last.clone().into_bytes()) {
            bad.push(format!("{k}: len {got:?} (acked {len})"));
        }
    }
    for ((k, f), v) in &acked.fields {
        let got = bulk(c.cmds(&["HGET", k, f]).expect("HGET"));
        if got.as_deref() != Some(v.as_slice()) {
            bad.push(format!("{k} {f}"));
        }
    }
    bad.truncate(10);
    bad
}

/// Samples every node's offset against the top master's; keeps the max lag.
struct Monitor {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Monitor {
    fn start(top: SocketAddr, others: Vec<SocketAddr>) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut max = 0u64;
            while !s.load(Ordering::SeqCst) {
                if let Some((_, _, top_off)) = position(top) {
                    for a in &others {
                        if let Some((_, _, off)) = position(*a) {
                            max = max.max(top_off.saturating_sub(off));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            max
        });
        Monitor {
            stop,
            handle: Some(handle),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .map(|h| h.join().unwrap_or(0))
            .unwrap_or(0)
    }
}

/// A running topology. Fields drop in order: proxies and nodes before the
/// namespaces they live in.
pub struct Topology {
    pub nodes: Vec<Node>,
    pub proxies: Vec<Proxy>,
    pub links: Vec<LinkSpec>,
    pub link_nets: Vec<Option<LinkNet>>,
    pub top: usize,
    pub net: Net,
}

impl Topology {
    /// Makes the network, starts the top master (optionally filled with
    /// every type), then every replica after its master, through its link's
    /// proxy.
    pub fn start(nodes: &[NodeSpec], links: &[LinkSpec], prefill: bool) -> Topology {
        let mut net = Net::new();
        let hosts: Vec<_> = nodes.iter().map(|_| net.add_host()).collect();
        let idx = |name: &str| {
            nodes
                .iter()
                .position(|n| n.name == name)
                .unwrap_or_else(|| panic!("no node {name}"))
        };
        let tops: Vec<usize> = (0..nodes.len())
            .filter(|&i| !links.iter().any(|l| l.replica == nodes[i].name))
            .collect();
        assert_eq!(tops.len(), 1, "one top master");
        let top = tops[0];
        let mut started: Vec<Option<Node>> = nodes.iter().map(|_| None).collect();
        let spec = &nodes[top];
        started[top] = Some(Node::start(
            spec.name,
            spec.kind,
            hosts[top].clone(),
            spec.args.clone(),
        ));
        if prefill {
            let mut c = started[top].as_ref().expect("top").conn();
            fill(&mut c, 0, "pre");
            c.cmd(&["SELECT", "0"]);
        }
        let mut proxies = Vec::new();
        let mut link_nets = Vec::new();
        // Start replicas in waves: each once its master runs.
        let mut order = Vec::new();
        while order.len() < links.len() {
            let before = order.len();
            for (li, l) in links.iter().enumerate() {
                if !order.contains(&li)
                    && (idx(l.master) == top || order.iter().any(|&o| links[o].replica == l.master))
                {
                    order.push(li);
                }
            }
            assert!(order.len() > before, "links do not form a tree");
        }
        let mut proxy_of = vec![usize::MAX; links.len()];
        for &li in &order {
            let l = &links[li];
            let (m, r) = (idx(l.master), idx(l.replica));
            let ln = net.add_link(&hosts[r]);
            let listen_ip = ln
                .as_ref()
                .map(|n| n.gateway)
                .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            let target = started[m].as_ref().expect("master started").addr();
            let proxy = Proxy::start(
                SocketAddr::new(listen_ip, free_port()),
                target,
                Duration::from_millis(l.one_way_ms),
            );
            let mut args = vec![
                "--replicaof".to_string(),
                proxy.listen.ip().to_string(),
                proxy.listen.port().to_string(),
            ];
            args.extend(nodes[r].args.iter().cloned());
            started[r] = Some(Node::start(
                nodes[r].name,
                nodes[r].kind,
                hosts[r].clone(),
                args,
            ));
            proxy_of[li] = proxies.len();
            proxies.push(proxy);
            link_nets.push(ln);
        }
        // Proxies and link networks in the order of `links`.
        let mut p: Vec<Option<Proxy>> = proxies.into_iter().map(Some).collect();
        let mut n: Vec<Option<Option<LinkNet>>> = link_nets.into_iter().map(Some).collect();
        let proxies = (0..links.len())
            .map(|li| p[proxy_of[li]].take().expect("proxy"))
            .collect();
        let link_nets = (0..links.len())
            .map(|li| n[proxy_of[li]].take().expect("link net"))
            .collect();
        Topology {
            nodes: started.into_iter().map(|n| n.expect("node")).collect(),
            proxies,
            links: links.to_vec(),
            link_nets,
            top,
            net,
        }
    }

    pub fn node(&self, name: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn node_mut(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    pub fn top(&self) -> &Node {
        &self.nodes[self.top]
    }

    fn link_index(&self, replica: &str) -> usize {
        self.links
            .iter()
            .position(|l| l.replica == replica)
            .unwrap_or_else(|| panic!("no link into {replica}"))
    }

    /// The node and every node below it.
    pub fn subtree(&self, name: &str) -> Vec<String> {
        let mut out = vec![name.to_string()];
        let mut i = 0;
        while i < out.len() {
            for l in &self.links {
                if l.master == out[i] {
                    out.push(l.replica.to_string());
                }
            }
            i += 1;
        }
        out
    }

    /// Cuts (or restores) the link into `replica`: `ip link set down` in
    /// namespace mode, the proxy in loopback mode.
    pub fn set_link(&self, replica: &str, up: bool) {
        let li = self.link_index(replica);
        match &self.link_nets[li] {
            Some(ln) => self.net.set_link(ln, up),
            None if up => self.proxies[li].restore(),
            None => self.proxies[li].cut(),
        }
    }

    /// Waits until every node shows the top master's replid and offset.
    pub fn wait_synced(&self, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let top = position(self.top().addr());
            let mut behind = Vec::new();
            for n in &self.nodes {
                let p = position(n.addr());
                let ok = match (&top, &p) {
                    (Some((_, id, off)), Some((up, nid, noff))) => *up && id == nid && off == noff,
                    _ => false,
                };
                if !ok {
                    behind.push(format!("{}: {p:?}", n.name));
                }
            }
            if behind.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not in sync within {secs} s: top {top:?}, {behind:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the named nodes are up with an offset at least `target`;
    /// returns how long that took.
    pub fn wait_reached(&self, names: &[String], target: u64, secs: u64) -> Duration {
        let t0 = Instant::now();
        loop {
            let done = names.iter().all(
                |n| matches!(position(self.node(n).addr()), Some((true, _, off)) if off >= target),
            );
            if done {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(secs),
                "{names:?} did not reach offset {target} within {secs} s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// (sync_full, sync_partial_ok) of every node.
    pub fn sync_stats(&self) -> HashMap<String, (u64, u64)> {
        self.nodes
            .iter()
            .filter(|n| n.is_running())
            .map(|n| {
                let get = |f: &str| {
                    info_at(n.addr(), "stats", f)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0)
                };
                (n.name.clone(), (get("sync_full"), get("sync_partial_ok")))
            })
            .collect()
    }

    pub fn top_offset(&self) -> u64 {
        position(self.top().addr()).map(|p| p.2).unwrap_or(0)
    }
}

/// Runs a scenario; panics (after printing the table row) when an invariant
/// fails. The caller can check more in the returned report.
pub fn run(s: &Scenario) -> Report {
    let mut t = Topology::start(&s.nodes, &s.links, s.prefill);
    let mode = t.net.mode;
    println!("xdc: scenario {:?} runs in {mode} mode", s.name);
    t.wait_synced(120);
    let log_count = |t: &Topology, needle: &str| -> BTreeMap<String, usize> {
        t.nodes
            .iter()
            .map(|n| (n.name.clone(), n.log_count(needle)))
            .collect()
    };
    let base_stats = t.sync_stats();
    let base_partial = log_count(&t, PARTIAL_LINE);
    let base_full = log_count(&t, FULL_LINE);
    let base_accepted = log_count(&t, ACCEPTED_LINE);
    // Counters of processes that were killed, carried over.
    let mut carried: HashMap<String, (u64, u64)> = HashMap::new();

    let writer = Writer::start(t.top().addr(), s.load);
    let others: Vec<SocketAddr> = t
        .nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != t.top)
        .map(|(_, n)| n.addr())
        .collect();
    let monitor = Monitor::start(t.top().addr(), others);
    let settle = Duration::from_secs_f64(s.settle_secs);
    std::thread::sleep(settle);

    let mut recovery = Vec::new();
    for f in &s.faults {
        println!("xdc: {} (offset {})", f.label(), t.top_offset());
        match f {
            Fault::Cut {
                replicas,
                secs,
                min_bytes,
            } => {
                let from = t.top_offset();
                for r in replicas {
                    t.set_link(r, false);
                }
                let t0 = Instant::now();
                std::thread::sleep(Duration::from_secs_f64(*secs));
                while t.top_offset() < from + min_bytes && t0.elapsed() < Duration::from_secs(120) {
                    std::thread::sleep(Duration::from_millis(100));
                }
                let target = t.top_offset();
                println!(
                    "xdc: link back after {:.1} s, {} KB written while cut",
                    t0.elapsed().as_secs_f64(),
                    (target - from) >> 10
                );
                for r in replicas {
                    t.set_link(r, true);
                }
                let mut affected = Vec::new();
                for r in replicas {
                    affected.extend(t.subtree(r));
                }
                recovery.push(t.wait_reached(&affected, target, 180));
            }
            Fault::Kill9 { node, down_secs } => {
                let before = t.sync_stats().get(*node).copied().unwrap_or_default();
                let c = carried.entry(node.to_string()).or_default();
                c.0 += before.0;
                c.1 += before.1;
                t.node_mut(node).kill9();
                std::thread::sleep(Duration::from_secs_f64(*down_secs));
                t.node_mut(node).start_again();
                let target = t.top_offset();
                let affected = t.subtree(node);
                recovery.push(t.wait_reached(&affected, target, 180));
            }
            Fault::Restart { node } => {
                let before = t.sync_stats().get(*node).copied().unwrap_or_default();
                let c = carried.entry(node.to_string()).or_default();
                c.0 += before.0;
                c.1 += before.1;
                t.node_mut(node).terminate();
                t.node_mut(node).start_again();
                let target = t.top_offset();
                let affected = t.subtree(node);
                recovery.push(t.wait_reached(&affected, target, 180));
            }
        }
        std::thread::sleep(settle);
    }

    let acked = writer.finish();
    let max_lag = monitor.finish();
    // The master's direct replicas acknowledge everything written (WAIT
    // counts REPLCONF ACKs, which cross the proxies too).
    let direct = t.links.iter().filter(|l| l.master == t.top().name).count();
    let mut tc = Client::connect(t.top().addr()).expect("top master");
    let waited = tc.cmds(&["WAIT", &direct.to_string(), "60000"]);
    assert!(
        matches!(waited, Ok(Val::Int(n)) if n as usize >= direct),
        "WAIT {direct} 60000 on the top master: {waited:?}"
    );
    t.wait_synced(180);

    let after = t.sync_stats();
    let mut served = BTreeMap::new();
    let (mut full, mut partial) = (0, 0);
    for n in &t.nodes {
        let a = after.get(&n.name).copied().unwrap_or_default();
        let c = carried.get(&n.name).copied().unwrap_or_default();
        let b = base_stats.get(&n.name).copied().unwrap_or_default();
        let d = (
            (a.0 + c.0).saturating_sub(b.0),
            (a.1 + c.1).saturating_sub(b.1),
        );
        full += d.0;
        partial += d.1;
        served.insert(n.name.clone(), d);
    }
    let diff = |now: BTreeMap<String, usize>, base: &BTreeMap<String, usize>| {
        now.into_iter()
            .map(|(k, v)| {
                let b = base.get(&k).copied().unwrap_or(0);
                (k, v.saturating_sub(b))
            })
            .collect::<BTreeMap<_, _>>()
    };
    let mut report = Report {
        scenario: s.name.to_string(),
        mode,
        faults: s
            .faults
            .iter()
            .map(Fault::label)
            .collect::<Vec<_>>()
            .join("; "),
        full_syncs: full,
        partial_syncs: partial,
        max_lag_bytes: max_lag,
        recovery,
        acked_writes: acked.count,
        write_errors: acked.errors,
        log_partial: diff(log_count(&t, PARTIAL_LINE), &base_partial),
        log_full: diff(log_count(&t, FULL_LINE), &base_full),
        log_accepted: diff(log_count(&t, ACCEPTED_LINE), &base_accepted),
        served,
        result: "ok".into(),
    };

    // Invariants: equal keyspaces (one replid and offset was checked by
    // wait_synced), no acknowledged write lost.
    let mut failures = Vec::new();
    let mut tc = t.top().conn();
    let reference = snapshot(&mut tc, 0);
    for n in &t.nodes {
        if n.name == t.top().name {
            continue;
        }
        let mine = snapshot(&mut n.conn(), 0);
        if mine != reference {
            let differing: Vec<String> = reference
                .keys()
                .chain(mine.keys())
                .filter(|k| reference.get(*k) != mine.get(*k))
                .take(5)
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect();
            let show = |v: Option<&Vec<Vec<u8>>>| {
                v.map(|parts| {
                    parts
                        .iter()
                        .map(|p| {
                            let s = String::from_utf8_lossy(p);
                            let n = s.len();
                            if n > 300 {
                                format!("{}...{}", &s[..150], &s[n - 150..])
                            } else {
                                s.into_owned()
                            }
                        })
                        .collect::<Vec<_>>()
                })
            };
            let first = differing.first().map(|k| k.as_bytes().to_vec());
            let detail = first.map(|k| {
                format!(
                    "\n  {}: {:?}\n  {}: {:?}",
                    t.top().name,
                    show(reference.get(&k)),
                    n.name,
                    show(mine.get(&k))
                )
            });
            failures.push(format!(
                "{}: keyspace differs from {} ({} vs {} keys; e.g. {differing:?}){}",
                n.name,
                t.top().name,
                mine.len(),
                reference.len(),
                detail.unwrap_or_default()
            ));
        }
    }
    let lost = lost_writes(t.top().addr(), &acked);
    if !lost.is_empty() {
        failures.push(format!("acknowledged writes lost on the master: {lost:?}"));
    }
    if !failures.is_empty() {
        report.result = "FAIL".into();
    }
    report.print();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    report
}
