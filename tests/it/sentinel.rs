//! Three real redis-sentinel processes (quorum 2) managing a Strata master
//! and two Strata replicas: `kill -9` of the master makes sentinel promote a
//! replica, the other follows the new master, every write acknowledged with
//! `WAIT 1` before the kill is on the new master, and the old master, when
//! restarted, is turned into a replica of the new one.

use std::io::Write;
use std::process::{Child, Command, Stdio};

use crate::common::{free_port, Conn, Strata};
use crate::replica_sync::{info_field, wait_for};

struct Sentinel {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    fn start(master_port: u16) -> Sentinel {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let conf = dir.path().join("sentinel.conf");
        let mut f = std::fs::File::create(&conf).expect("sentinel.conf");
        write!(
            f,
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor mymaster 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds mymaster 1000\n\
             sentinel failover-timeout mymaster 10000\n\
             sentinel parallel-syncs mymaster 1\n",
            dir = dir.path().display()
        )
        .expect("write sentinel.conf");
        drop(f);
        let child = Command::new("redis-sentinel")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-sentinel (apt install redis-sentinel)");
        let s = Sentinel {
            child,
            port,
            _dir: dir,
        };
        wait_for("redis-sentinel to listen", 30, || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        s
    }

    fn conn(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// The port sentinel currently names as the master.
    fn master_port(&self) -> Option<u16> {
        let reply = self
            .conn()
            .cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster"]);
        crate::reply::bulk_items(&reply)
            .get(1)
            .and_then(|p| std::str::from_utf8(p).ok()?.parse().ok())
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn role(c: &mut Conn) -> String {
    info_field(c, "replication", "role").unwrap_or_default()
}

#[test]
fn sentinel_fails_over_a_strata_group_and_keeps_acknowledged_writes() {
    let mut master = Strata::start();
    let mp = master.port.to_string();
    let replicas = [
        Strata::start_with(&["--replicaof", "127.0.0.1", &mp]),
        Strata::start_with(&["--replicaof", "127.0.0.1", &mp]),
    ];
    let mut mc = master.conn();
    wait_for("both replicas online", 30, || {
        info_field(&mut mc, "replication", "connected_slaves").as_deref() == Some("2")
    });
    let sentinels: Vec<Sentinel> = (0..3).map(|_| Sentinel::start(master.port)).collect();
    wait_for("sentinels to find the replicas and each other", 60, || {
        sentinels.iter().all(|s| {
            let mut c = s.conn();
            let info = c.cmd_str(&["SENTINEL", "MASTER", "mymaster"]);
            info.contains("num-slaves\r\n$1\r\n2")
                && info.contains("num-other-sentinels\r\n$1\r\n2")
        })
    });

    // Writes acknowledged by a replica before the master dies.
    for i in 0..200 {
        mc.cmd(&["SET", &format!("acked{i}"), &i.to_string()]);
    }
    let waited = crate::reply::integer_of(&mc.cmd(&["WAIT", "1", "5000"]));
    assert!(waited.is_some_and(|n| n >= 1), "WAIT: {waited:?}");

    master.kill9();
    let mut new_port = None;
    wait_for("sentinel to promote a replica", 90, || {
        new_port = sentinels[0]
            .master_port()
            .filter(|&p| p != master.port && sentinels[1].master_port() == Some(p));
        new_port.is_some()
    });
    let new_port = new_port.expect("new master");
    let new_master = replicas
        .iter()
        .find(|r| r.port == new_port)
        .expect("a replica was promoted");
    let other = replicas.iter().find(|r| r.port != new_port).expect("other");
    let mut nc = new_master.conn();
    wait_for("the promoted replica to be a master", 30, || {
        role(&mut nc) == "master"
    });
    for i in 0..200 {
        assert_eq!(
            nc.cmd(&["GET", &format!("acked{i}")]),
            format!("${}\r\n{i}\r\n", i.to_string().len()).into_bytes(),
            "acked{i} on the new master"
        );
    }
    let mut oc = other.conn();
    wait_for("the other replica to follow the new master", 60, || {
        info_field(&mut oc, "replication", "master_port") == Some(new_port.to_string())
            && info_field(&mut oc, "replication", "master_link_status").as_deref() == Some("up")
    });
    assert_eq!(nc.cmd(&["SET", "after-failover", "1"]), b"+OK\r\n");
    wait_for(
        "a write on the new master to reach the other replica",
        30,
        || oc.cmd(&["GET", "after-failover"]) == b"$1\r\n1\r\n",
    );

    // The old master comes back and is made a replica of the new one.
    // Sentinel's reconfiguration ends with CLIENT KILL TYPE normal, so each
    // poll uses a connection of its own.
    master.start_again();
    wait_for("the old master to rejoin as a replica", 90, || {
        let mut mc = master.conn();
        role(&mut mc) == "slave"
            && info_field(&mut mc, "replication", "master_port") == Some(new_port.to_string())
            && info_field(&mut mc, "replication", "master_link_status").as_deref() == Some("up")
    });
    wait_for("the old master to get the new write", 30, || {
        master.conn().cmd(&["GET", "after-failover"]) == b"$1\r\n1\r\n"
    });
}
