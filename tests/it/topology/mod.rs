//! Cross-datacenter topologies of real processes: nodes (strata-server or
//! redis-server) each in its own network namespace ([`netns`]), replication
//! links through a user-space delay proxy ([`proxy`]) that a test can cut,
//! and a scenario runner ([`scenario`]) that drives a write load, injects
//! faults and checks the invariants. See docs/topology.md.

#![allow(dead_code)]

pub mod netns;
pub mod proxy;
pub mod scenario;

use std::fs::OpenOptions;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, strata_bin, Conn};
use netns::Host;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Strata,
    Redis,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Strata => "strata",
            Kind::Redis => "redis",
        })
    }
}

/// One server process: its namespace and address, data directory and log
/// file (kept across restarts, appended to).
pub struct Node {
    pub name: String,
    pub kind: Kind,
    pub host: Host,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub log: PathBuf,
    pub args: Vec<String>,
    child: Option<Child>,
}

/// Every node runs with these: a dead link is noticed within seconds, and
/// clients from outside the namespace's loopback are served (protected mode
/// would refuse them, in Redis as in Strata).
const COMMON: &[&str] = &[
    "--protected-mode",
    "no",
    "--repl-timeout",
    "5",
    "--repl-ping-replica-period",
    "1",
    "--repl-diskless-sync-delay",
    "0",
];

impl Node {
    /// Starts a node; `args` are extra `--directive value` words.
    pub fn start(name: &str, kind: Kind, host: Host, args: Vec<String>) -> Node {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join(format!("{name}.log"));
        let port = if host.ns.is_some() { 6379 } else { free_port() };
        let mut n = Node {
            name: name.to_string(),
            kind,
            host,
            port,
            dir,
            log,
            args,
            child: None,
        };
        n.spawn();
        n
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host.ip, self.port)
    }

    pub fn ip(&self) -> IpAddr {
        self.host.ip
    }

    fn spawn(&mut self) {
        let bin = match self.kind {
            Kind::Strata => strata_bin(),
            Kind::Redis => "redis-server".to_string(),
        };
        let mut cmd = match &self.host.ns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, &bin]);
                c
            }
            None => Command::new(&bin),
        };
        let data = self.dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        cmd.args(["--port", &self.port.to_string()])
            .args(["--bind", &self.host.ip.to_string()])
            .arg("--dir")
            .arg(&data)
            .args(COMMON);
        let logf = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        match self.kind {
            Kind::Strata => {
                cmd.args(["--rocksdb.block-cache-size", "16mb"])
                    .args(["--rocksdb.write-buffer-size", "4mb"])
                    .args(crate::common::engine_args());
            }
            Kind::Redis => {
                cmd.args(["--save", "", "--appendonly", "no"]);
            }
        }
        // Both write their log to `--logfile`; stderr (a panic, say) joins it.
        cmd.arg("--logfile")
            .arg(&self.log)
            .stderr(Stdio::from(logf));
        cmd.args(&self.args)
            .stdout(Stdio::null())
            .stdin(Stdio::null());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("start {} ({bin}): {e}", self.name));
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect_timeout(&self.addr(), Duration::from_millis(500)).is_ok() {
                break;
            }
            if let Ok(Some(st)) = child.try_wait() {
                panic!(
                    "{} exited early with {st}; log:\n{}",
                    self.name,
                    self.log_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {} within 30 s",
                self.name,
                self.addr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    pub fn conn(&self) -> Conn {
        Conn::connect_to(self.addr())
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// `kill -9` (the child is the server itself: `ip netns exec` execs it).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, waiting up to 30 s for the exit (then SIGKILL).
    pub fn terminate(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        // SAFETY: a signal to our own child's pid.
        unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// Starts the process again (same address, directory and log).
    pub fn start_again(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Lines of the log containing `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
        // A failed scenario keeps every node's log for the post-mortem.
        if std::thread::panicking() {
            let keep =
                std::env::temp_dir().join(format!("xdc-{}-{}.log", std::process::id(), self.name));
            if std::fs::copy(&self.log, &keep).is_ok() {
                eprintln!("xdc: {} log kept at {}", self.name, keep.display());
            }
        }
    }
}
