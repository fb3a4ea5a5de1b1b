//! Sentinel groups that mix Strata and redis-server (three real
//! redis-sentinel processes, quorum 2), and a differential check of what
//! sentinel sends: the same commands to a Strata and a redis-server give
//! the same replies where sentinel reads them.
//!
//! - A redis-server master with two Strata replicas: `kill -9` of the
//!   master, sentinel promotes a Strata replica, the other continues with
//!   it partially (PSYNC2: the promoted replica keeps the Redis master's id
//!   as replid2), and the old master, restarted empty (it runs without
//!   persistence, as a cache master would), is made a replica of the Strata
//!   master by sentinel and takes a full resync.
//! - The reverse, a Strata master with two redis-server replicas: a Redis
//!   replica is promoted, the other continues partially, and the restarted
//!   Strata (with its data directory: Strata is durable) is made a replica of
//!   the new Redis master.

use std::collections::BTreeMap;

use crate::common::{free_port, Conn, Redis, Strata};
use crate::replica_sync::wait_for;
use crate::sentinel::{fail_over, Group, Kind, Node};

#[test]
fn sentinel_promotes_a_strata_replica_of_a_redis_master() {
    let mut g = Group::start(Kind::Redis, &[(Kind::Strata, &[]), (Kind::Strata, &[])]);
    let o = fail_over(&mut g);
    eprintln!(
        "Redis master + Strata replicas: follower sync full/partial {}/{}, after rejoin {}/{}",
        o.follower_full, o.follower_partial, o.rejoin_full, o.rejoin_partial
    );
    assert_eq!(g.replicas[o.promoted].kind(), Kind::Strata);
    assert_eq!(
        o.follower_full, 0,
        "the other replica needed no full resync"
    );
    assert_eq!(o.follower_partial, 1, "the other replica resumed partially");
    // The restarted redis-server has a new id and no data: a full resync.
    assert_eq!(o.rejoin_full, 1, "the empty old master took a full resync");
    assert_eq!(o.rejoin_partial, 1);
}

#[test]
fn sentinel_promotes_a_redis_replica_of_a_strata_master() {
    let mut g = Group::start(Kind::Strata, &[(Kind::Redis, &[]), (Kind::Redis, &[])]);
    let o = fail_over(&mut g);
    eprintln!(
        "Strata master + Redis replicas: follower sync full/partial {}/{}, after rejoin {}/{}",
        o.follower_full, o.follower_partial, o.rejoin_full, o.rejoin_partial
    );
    assert_eq!(g.replicas[o.promoted].kind(), Kind::Redis);
    assert_eq!(
        o.follower_full, 0,
        "the other replica needed no full resync"
    );
    assert_eq!(o.follower_partial, 1, "the other replica resumed partially");
    // The restarted Strata comes back with its data, id and offset, and
    // asks the new master for `PSYNC <its id> <offset+1>`. The promoted
    // Redis replica holds that id as replid2 up to the offset where the
    // stream ended, so this is partial unless the restarted Strata's own
    // stream moved on while it was a master again: sentinel's hello
    // PUBLISHes (every 2 s) enter it, and Redis rightly refuses an offset
    // past its replid2's end. Without sentinel the rejoin is partial:
    // chain_failover.rs's a_restarted_strata_master_rejoins_*.
    if o.rejoin_diverged {
        assert_eq!(
            o.rejoin_full, 1,
            "a diverged old master takes a full resync"
        );
    } else {
        assert_eq!(
            o.rejoin_full, 0,
            "the restarted Strata needed no full resync"
        );
        assert_eq!(
            o.rejoin_partial, 2,
            "the restarted Strata resumed partially"
        );
    }
}

/// A value of an INFO line as sentinel reads it, with what differs between
/// any two servers (ids, ports, offsets, seconds) masked: 40 hex digits
/// become `<id>`, runs of digits `N`.
fn mask(v: &str) -> String {
    let mut out = String::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let hex = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if hex == 40 {
            out.push_str("<id>");
            i += 40;
        } else if b[i].is_ascii_digit() {
            out.push('N');
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

/// The INFO fields sentinel parses (sentinelRefreshInstanceInfo), masked;
/// `slave_priority` and `replica_announced` as they are.
fn sentinel_view(info: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in info.split("\r\n") {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let wanted = matches!(
            name,
            "run_id"
                | "role"
                | "master_host"
                | "master_port"
                | "master_link_status"
                | "master_link_down_since_seconds"
                | "slave_repl_offset"
                | "connected_slaves"
                | "min_slaves_good_slaves"
        ) || (name.starts_with("slave") && name[5..].parse::<u32>().is_ok());
        if wanted {
            out.insert(name.to_string(), mask(value));
        } else if matches!(name, "slave_priority" | "replica_announced") {
            out.insert(name.to_string(), value.to_string());
        }
    }
    out
}

/// Every INFO replication line, masked, for a report of the differences
/// sentinel does not read.
fn masked_lines(info: &str) -> Vec<String> {
    info.split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('$'))
        .map(mask)
        .collect()
}

/// INFO (no section, as sentinel sends it) from both: a bulk string each,
/// and the same sentinel view.
#[track_caller]
fn assert_same_view(what: &str, strata: &mut Conn, redis: &mut Conn) {
    let (s, r) = (strata.cmd(&["INFO"]), redis.cmd(&["INFO"]));
    assert_eq!(s[0], b'$', "Strata's INFO is a bulk string");
    assert_eq!(r[0], b'$');
    let (s, r) = (
        String::from_utf8_lossy(&s).into_owned(),
        String::from_utf8_lossy(&r).into_owned(),
    );
    let (vs, vr) = (sentinel_view(&s), sentinel_view(&r));
    // Lines sentinel does not read: reported, not asserted.
    let section = |t: &str| {
        let start = t.find("# Replication").unwrap_or(0);
        let rest = &t[start..];
        let end = rest[2..].find("\r\n#").map_or(rest.len(), |e| e + 2);
        masked_lines(&rest[..end])
    };
    let (ls, lr) = (section(&s), section(&r));
    let only_s: Vec<&String> = ls.iter().filter(|l| !lr.contains(l)).collect();
    let only_r: Vec<&String> = lr.iter().filter(|l| !ls.contains(l)).collect();
    if !only_s.is_empty() || !only_r.is_empty() {
        eprintln!(
            "{what}: INFO replication lines only Strata has {only_s:?}, only Redis {only_r:?}"
        );
    }
    assert_eq!(
        vs, vr,
        "{what}: the INFO fields sentinel reads (Strata, Redis)"
    );
}

/// ROLE from both, masked the same way.
#[track_caller]
fn assert_same_role(what: &str, strata: &mut Conn, redis: &mut Conn) {
    let (s, r) = (strata.cmd_str(&["ROLE"]), redis.cmd_str(&["ROLE"]));
    assert_eq!(
        mask(&s),
        mask(&r),
        "{what}: ROLE\n  Strata: {s:?}\n  Redis:  {r:?}"
    );
}

/// What sentinel sends, sent to a Strata and to a redis-server that stand
/// in the same place: masters with one Strata and one Redis replica each,
/// their replicas, replicas whose master died or never answered, the hello
/// channel, and sentinel's reconfiguration transaction.
#[test]
fn what_sentinel_sends_gets_the_replies_redis_gives() {
    // Two masters, each with a Redis and a Strata replica.
    let mut sm = Node::start(Kind::Strata, &[]);
    let mut rm = Node::start(Kind::Redis, &[]);
    let of_s = [
        Node::replica_of(Kind::Strata, sm.port(), &["--replica-priority", "7"]),
        Node::replica_of(Kind::Redis, sm.port(), &["--replica-priority", "7"]),
    ];
    let of_r = [
        Node::replica_of(Kind::Strata, rm.port(), &["--replica-priority", "7"]),
        Node::replica_of(Kind::Redis, rm.port(), &["--replica-priority", "7"]),
    ];
    for (m, rs) in [(&sm, &of_s), (&rm, &of_r)] {
        let mut mc = m.conn();
        mc.cmd(&["SET", "k", "v"]);
        let off = m.repl("master_repl_offset");
        wait_for("both replicas online and caught up", 60, || {
            m.repl("connected_slaves").as_deref() == Some("2")
                && rs
                    .iter()
                    .all(|r| r.follows(m.port()) && r.repl("slave_repl_offset") == off)
        });
    }
    assert_same_view("masters", &mut sm.conn(), &mut rm.conn());
    assert_same_role("masters", &mut sm.conn(), &mut rm.conn());
    for (i, rs) in [&of_s, &of_r].iter().enumerate() {
        let what = [
            "replicas of the Strata master",
            "replicas of the Redis master",
        ][i];
        assert_same_view(what, &mut rs[0].conn(), &mut rs[1].conn());
        assert_same_role(what, &mut rs[0].conn(), &mut rs[1].conn());
    }

    // The hello channel: SUBSCRIBE and PUBLISH as sentinel does them.
    let hello =
        "127.0.0.1,26379,0123456789abcdef0123456789abcdef01234567,0,mymaster,127.0.0.1,6379,0";
    let mut replies = Vec::new();
    for m in [&sm, &rm] {
        let mut sub = m.conn();
        sub.cmd(&["CLIENT", "SETNAME", "sentinel-01234567-pubsub"]);
        let subscribed = sub.cmd(&["SUBSCRIBE", "__sentinel__:hello"]);
        let published = m.conn().cmd(&["PUBLISH", "__sentinel__:hello", hello]);
        let message = sub.read_reply();
        replies.push((subscribed, published, message));
    }
    assert_eq!(replies[0], replies[1], "the hello channel (Strata, Redis)");
    assert_eq!(
        replies[0].2,
        format!(
            "*3\r\n$7\r\nmessage\r\n$18\r\n__sentinel__:hello\r\n${}\r\n{hello}\r\n",
            hello.len()
        )
        .into_bytes()
    );

    // Replicas whose master died: link down, seconds since.
    sm.kill9();
    rm.kill9();
    for rs in [&of_s, &of_r] {
        wait_for("the replicas to see the link down", 60, || {
            rs.iter()
                .all(|r| r.repl("master_link_status").as_deref() == Some("down"))
        });
    }
    assert_same_view(
        "replicas of a dead Strata master",
        &mut of_s[0].conn(),
        &mut of_s[1].conn(),
    );
    assert_same_view(
        "replicas of a dead Redis master",
        &mut of_r[0].conn(),
        &mut of_r[1].conn(),
    );

    // Sentinel's reconfiguration: a transaction with SLAVEOF, CONFIG
    // REWRITE and CLIENT KILL of normal and pub/sub clients, on standalone
    // servers run without a config file.
    let strata = Strata::start();
    let redis = Redis::start();
    let dead = free_port().to_string();
    let mut views = Vec::new();
    for target in [["127.0.0.1", dead.as_str()], ["NO", "ONE"]] {
        let mut got = Vec::new();
        for port in [strata.port, redis.port] {
            got.push(reconfigure(port, &target));
        }
        assert_eq!(
            got[0], got[1],
            "sentinel's SLAVEOF {target:?} transaction (Strata, Redis)"
        );
        views.push(got);
        // A replica that never reached its master, then a master again.
        assert_same_view(
            &format!("after SLAVEOF {target:?}"),
            &mut strata.conn(),
            &mut redis.conn(),
        );
        assert_same_role(
            &format!("after SLAVEOF {target:?}"),
            &mut strata.conn(),
            &mut redis.conn(),
        );
    }
}

/// Sends sentinel's reconfiguration transaction (sentinelSendSlaveOf) on
/// a connection named like sentinel's, with another normal client and a
/// pub/sub client connected, and returns every reply plus whether the
/// other two were disconnected and the sender was not.
fn reconfigure(port: u16, target: &[&str; 2]) -> Vec<Vec<u8>> {
    let mut normal = Conn::connect(port);
    assert_eq!(normal.cmd(&["PING"]), b"+PONG\r\n");
    let mut pubsub = Conn::connect(port);
    pubsub.cmd(&["SUBSCRIBE", "__sentinel__:hello"]);
    let mut c = Conn::connect(port);
    let mut replies = vec![
        c.cmd(&["CLIENT", "SETNAME", "sentinel-01234567-cmd"]),
        c.cmd(&["PING"]),
        c.cmd(&["MULTI"]),
        c.cmd(&["SLAVEOF", target[0], target[1]]),
        c.cmd(&["CONFIG", "REWRITE"]),
        c.cmd(&["CLIENT", "KILL", "TYPE", "normal"]),
        c.cmd(&["CLIENT", "KILL", "TYPE", "pubsub"]),
        c.cmd(&["EXEC"]),
    ];
    replies.push(vec![u8::from(normal.is_closed())]);
    replies.push(vec![u8::from(pubsub.is_closed())]);
    replies.push(c.cmd(&["PING"]));
    replies
}
