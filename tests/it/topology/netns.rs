//! Network namespaces made (and removed) by the test itself.
//!
//! Every node gets its own namespace `stx<pid>-<n>` joined to the root
//! namespace by a veth pair on a /30 of 10.213.0.0/16 (its "LAN" leg: the
//! test reaches the node there, and proxies in the root namespace reach its
//! master there). Every replication link gets one more veth pair into the
//! replica's namespace: the replica connects to the root side of that pair,
//! where the link's delay proxy listens, so `ip link set <veth> down` cuts
//! exactly that link (the node stays reachable on its LAN leg). Nothing is
//! routed between namespaces: every path ends in the root namespace, so no
//! `ip_forward` or firewall setting is touched.
//!
//! Names carry the test process's pid (namespaces, veths, and the subnet
//! range chosen from it), so parallel runs do not collide; what a killed run
//! left behind is removed by the next one (its pid is gone).
//!
//! Where namespaces cannot be made (not root, no `ip`), [`Net`] runs in
//! loopback mode: every node on 127.0.0.1 and the proxy cuts the link.

use std::net::{IpAddr, Ipv4Addr};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Netns,
    Loopback,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Netns => "netns",
            Mode::Loopback => "loopback",
        })
    }
}

/// Where a node lives: its namespace (none in loopback mode) and address.
#[derive(Clone, Debug)]
pub struct Host {
    pub ns: Option<String>,
    pub ip: IpAddr,
}

/// A veth pair for one replication link: the replica reaches the root side
/// `gateway`; `root_dev` is the device a cut takes down.
#[derive(Clone, Debug)]
pub struct LinkNet {
    pub gateway: IpAddr,
    pub root_dev: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip_out(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn must(args: &[&str]) {
    if let Err(e) = ip(args) {
        panic!("{e}");
    }
}

/// The namespaces, veths and addresses of one scenario.
pub struct Net {
    pub mode: Mode,
    pid: u32,
    namespaces: Vec<String>,
    root_devs: Vec<String>,
}

impl Net {
    /// Namespace mode when it works here, loopback mode otherwise;
    /// `STRATA_XDC_MODE=loopback` forces loopback.
    pub fn new() -> Net {
        let pid = std::process::id();
        let mut net = Net {
            mode: Mode::Loopback,
            pid,
            namespaces: Vec::new(),
            root_devs: Vec::new(),
        };
        if std::env::var("STRATA_XDC_MODE").as_deref() == Ok("loopback") {
            return net;
        }
        remove_stale();
        let probe = net.ns_name();
        match ip(&["netns", "add", &probe]) {
            Ok(()) => {
                net.namespaces.push(probe);
                net.mode = Mode::Netns;
            }
            Err(e) => eprintln!("xdc: network namespaces unavailable ({e}); loopback mode"),
        }
        if std::env::var("STRATA_XDC_MODE").as_deref() == Ok("netns") {
            assert_eq!(
                net.mode,
                Mode::Netns,
                "STRATA_XDC_MODE=netns but ip netns add fails"
            );
        }
        net
    }

    fn seq(&self) -> u32 {
        SEQ.fetch_add(1, Ordering::Relaxed)
    }

    fn ns_name(&self) -> String {
        format!("stx{}-{}", self.pid, self.seq())
    }

    /// A free /30 of 10.213.0.0/16: the pid picks a block of 128, a counter
    /// walks it, and a subnet some interface already uses is skipped.
    fn subnet(&self) -> [u8; 4] {
        let used = ip_out(&["-4", "-o", "addr", "show"]);
        for _ in 0..128 {
            let i = (self.pid % 128) * 128 + self.seq() % 128;
            let base = [10, 213, (i / 64) as u8, ((i % 64) * 4) as u8];
            let probe = format!(" {}.{}.{}.{}/30", base[0], base[1], base[2], base[3] + 1);
            if !used.contains(&probe) {
                return base;
            }
        }
        panic!("no free /30 in 10.213.0.0/16");
    }

    /// A veth pair from the root namespace into `ns`; returns the root
    /// device and both addresses (root side, namespace side).
    fn veth(&mut self, ns: &str) -> (String, Ipv4Addr, Ipv4Addr) {
        let n = self.seq();
        let (root, inside) = (format!("sx{}h{n}", self.pid), format!("sx{}n{n}", self.pid));
        let b = self.subnet();
        let gw = Ipv4Addr::new(b[0], b[1], b[2], b[3] + 1);
        let addr = Ipv4Addr::new(b[0], b[1], b[2], b[3] + 2);
        must(&[
            "link", "add", &root, "type", "veth", "peer", "name", &inside, "netns", ns,
        ]);
        self.root_devs.push(root.clone());
        must(&["addr", "add", &format!("{gw}/30"), "dev", &root]);
        must(&["link", "set", &root, "up"]);
        must(&[
            "-n",
            ns,
            "addr",
            "add",
            &format!("{addr}/30"),
            "dev",
            &inside,
        ]);
        must(&["-n", ns, "link", "set", &inside, "up"]);
        (root, gw, addr)
    }

    /// A host for a new node: its own namespace and LAN leg, or loopback.
    pub fn add_host(&mut self) -> Host {
        if self.mode == Mode::Loopback {
            return Host {
                ns: None,
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            };
        }
        let ns = self.ns_name();
        must(&["netns", "add", &ns]);
        self.namespaces.push(ns.clone());
        must(&["-n", &ns, "link", "set", "lo", "up"]);
        let (_, _, addr) = self.veth(&ns);
        Host {
            ns: Some(ns),
            ip: IpAddr::V4(addr),
        }
    }

    /// The network of a replication link whose replica runs on `replica`.
    pub fn add_link(&mut self, replica: &Host) -> Option<LinkNet> {
        let ns = replica.ns.clone()?;
        let (root_dev, gw, _) = self.veth(&ns);
        Some(LinkNet {
            gateway: IpAddr::V4(gw),
            root_dev,
        })
    }

    /// `ip link set <dev> down|up`.
    pub fn set_link(&self, link: &LinkNet, up: bool) {
        must(&[
            "link",
            "set",
            &link.root_dev,
            if up { "up" } else { "down" },
        ]);
        if up {
            // The address's prefix route comes back with the link, but the
            // kernel may need a moment; wait until the route is there.
            for _ in 0..100 {
                if ip_out(&["route", "show", "dev", &link.root_dev]).contains("scope link") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veths inside it and their peers;
        // the root devices are deleted too in case a namespace lingers.
        for ns in self.namespaces.drain(..) {
            let _ = ip(&["netns", "del", &ns]);
        }
        for dev in self.root_devs.drain(..) {
            let _ = ip(&["link", "del", &dev]);
        }
    }
}

/// Removes namespaces and veths of earlier runs whose process is gone.
fn remove_stale() {
    let alive = |pid: &str| std::path::Path::new(&format!("/proc/{pid}")).exists();
    for line in ip_out(&["netns", "list"]).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if let Some(rest) = name.strip_prefix("stx") {
            if let Some((pid, _)) = rest.split_once('-') {
                if pid.chars().all(|c| c.is_ascii_digit()) && !alive(pid) {
                    let _ = ip(&["netns", "del", name]);
                }
            }
        }
    }
    for line in ip_out(&["-o", "link", "show"]).lines() {
        let Some(dev) = line.split(':').nth(1).map(str::trim) else {
            continue;
        };
        let dev = dev.split('@').next().unwrap_or("");
        if let Some(rest) = dev.strip_prefix("sx") {
            if let Some((pid, _)) = rest.split_once('h') {
                if pid.chars().all(|c| c.is_ascii_digit()) && !alive(pid) {
                    let _ = ip(&["link", "del", dev]);
                }
            }
        }
    }
}
