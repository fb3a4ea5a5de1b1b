//! The pub/sub hub: who is subscribed to what, and delivery of messages to
//! the subscribers' outboxes (`server::outbox`).
//!
//! One read-write lock guards the whole registry. (Un)subscribing takes it
//! exclusively and queues its confirmation while holding it, so a message
//! published concurrently can never overtake the confirmation; publishing
//! takes it shared, so publishers run in parallel. Channels, patterns and
//! shard channels are three namespaces (no cluster: shard channels are just
//! channels of their own, matched by no pattern).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::RwLock;

use super::client::ClientInfo;
use super::outbox::ObufLimits;

/// The three subscription namespaces; the index into `ClientInfo::subs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel = 0,
    Pattern = 1,
    Shard = 2,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

type Subscribers = HashMap<u64, Arc<ClientInfo>>;

/// A client's subscriptions of one kind, with the order they were made in
/// (Redis 7.0 unsubscribes patterns in that order; channels in its hash
/// order, which no client can rely on).
#[derive(Default)]
struct Names {
    by_name: HashMap<Bytes, u64>,
    next: u64,
}

impl Names {
    fn insert(&mut self, name: &Bytes) -> bool {
        if self.by_name.contains_key(name) {
            return false;
        }
        self.next += 1;
        self.by_name.insert(name.clone(), self.next);
        true
    }
    fn ordered(&self) -> Vec<Bytes> {
        let mut v: Vec<(&Bytes, &u64)> = self.by_name.iter().collect();
        v.sort_by_key(|(_, seq)| **seq);
        v.into_iter().map(|(n, _)| n.clone()).collect()
    }
}

#[derive(Default)]
struct State {
    /// Per kind: name -> subscribers.
    server: [HashMap<Bytes, Subscribers>; 3],
    /// Per client: its subscriptions of each kind.
    clients: HashMap<u64, [Names; 3]>,
}

#[derive(Default)]
pub struct PubSub {
    state: RwLock<State>,
    /// MONITOR clients (see `server::monitor`).
    pub(super) monitors: RwLock<Vec<Arc<ClientInfo>>>,
    /// `monitors.len()`, read without the lock on every command.
    pub(super) monitor_count: std::sync::atomic::AtomicUsize,
}

/// Appends one RESP frame element.
enum Part<'a> {
    Bulk(&'a [u8]),
    Int(i64),
    Null,
}

/// Encodes a push frame: `*n` in RESP2, `>n` in RESP3, as Redis's
/// `addReplyPushLen` does for subscribed clients.
fn frame(resp3: bool, parts: &[Part<'_>]) -> BytesMut {
    let mut out = BytesMut::with_capacity(64);
    let mut num = itoa::Buffer::new();
    out.put_u8(if resp3 { b'>' } else { b'*' });
    out.put_slice(num.format(parts.len()).as_bytes());
    out.put_slice(b"\r\n");
    for p in parts {
        match p {
            Part::Bulk(b) => {
                out.put_u8(b'$');
                out.put_slice(num.format(b.len()).as_bytes());
                out.put_slice(b"\r\n");
                out.put_slice(b);
                out.put_slice(b"\r\n");
            }
            Part::Int(i) => {
                out.put_u8(b':');
                out.put_slice(num.format(*i).as_bytes());
                out.put_slice(b"\r\n");
            }
            Part::Null => out.put_slice(if resp3 { b"_\r\n" } else { b"$-1\r\n" }),
        }
    }
    out
}

fn is_resp3(info: &ClientInfo) -> bool {
    info.resp.load(Ordering::Relaxed) == 3
}

/// The same frame encoded at most once per protocol version.
struct PerVersion<F: Fn(bool) -> BytesMut> {
    make: F,
    enc: [Option<BytesMut>; 2],
}

impl<F: Fn(bool) -> BytesMut> PerVersion<F> {
    fn new(make: F) -> Self {
        PerVersion {
            make,
            enc: [None, None],
        }
    }
    fn get(&mut self, resp3: bool) -> &[u8] {
        let make = &self.make;
        self.enc[resp3 as usize].get_or_insert_with(|| make(resp3))
    }
}

impl PubSub {
    /// The count a confirmation reports: channels plus patterns, or shard
    /// channels for the shard kind (Redis's `subscriptionCount`).
    fn count(info: &ClientInfo, kind: Kind) -> i64 {
        let n = |k: usize| info.subs[k].load(Ordering::Relaxed) as i64;
        match kind {
            Kind::Shard => n(2),
            _ => n(0) + n(1),
        }
    }

    /// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: subscribes to each name in turn
    /// and queues one confirmation per name (a repeated name is confirmed
    /// again without counting twice).
    pub fn subscribe(
        &self,
        info: &Arc<ClientInfo>,
        kind: Kind,
        names: &[Bytes],
        limits: &ObufLimits,
    ) {
        let k = kind as usize;
        let resp3 = is_resp3(info);
        let mut st = self.state.write();
        for name in names {
            let mine = st.clients.entry(info.id).or_default();
            if mine[k].insert(name) {
                info.subs[k].fetch_add(1, Ordering::Relaxed);
                st.server[k]
                    .entry(name.clone())
                    .or_default()
                    .insert(info.id, info.clone());
            }
            let f = frame(
                resp3,
                &[
                    Part::Bulk(kind.subscribe_word()),
                    Part::Bulk(name),
                    Part::Int(Self::count(info, kind)),
                ],
            );
            info.push(&f, limits);
        }
    }

    /// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE. With no names, leaves
    /// every subscription of the kind. `notify` queues the confirmations
    /// (RESET and disconnects leave silently); with nothing to leave, one
    /// confirmation with a null name is still sent, as Redis does.
    pub fn unsubscribe(
        &self,
        info: &ClientInfo,
        kind: Kind,
        names: &[Bytes],
        notify: Option<&ObufLimits>,
    ) {
        let k = kind as usize;
        let resp3 = is_resp3(info);
        let mut st = self.state.write();
        let all = names.is_empty();
        let targets = if all {
            st.clients
                .get(&info.id)
                .map(|m| m[k].ordered())
                .unwrap_or_default()
        } else {
            names.to_vec()
        };
        for name in &targets {
            let removed = st
                .clients
                .get_mut(&info.id)
                .is_some_and(|m| m[k].by_name.remove(name).is_some());
            if removed {
                info.subs[k].fetch_sub(1, Ordering::Relaxed);
                if let Some(subs) = st.server[k].get_mut(name) {
                    subs.remove(&info.id);
                    if subs.is_empty() {
                        // Forget the channel, so creating millions of
                        // channels cannot grow memory for good.
                        st.server[k].remove(name);
                    }
                }
            }
            if let Some(limits) = notify {
                let f = frame(
                    resp3,
                    &[
                        Part::Bulk(kind.unsubscribe_word()),
                        Part::Bulk(name),
                        Part::Int(Self::count(info, kind)),
                    ],
                );
                info.push(&f, limits);
            }
        }
        if all && targets.is_empty() {
            if let Some(limits) = notify {
                let f = frame(
                    resp3,
                    &[
                        Part::Bulk(kind.unsubscribe_word()),
                        Part::Null,
                        Part::Int(Self::count(info, kind)),
                    ],
                );
                info.push(&f, limits);
            }
        }
        if st
            .clients
            .get(&info.id)
            .is_some_and(|m| m.iter().all(|n| n.by_name.is_empty()))
        {
            st.clients.remove(&info.id);
        }
    }

    /// Leaves everything, silently: RESET and disconnects.
    pub fn remove_client(&self, info: &ClientInfo) {
        if info.in_pubsub() {
            for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
                self.unsubscribe(info, kind, &[], None);
            }
        }
        self.remove_monitor(info);
    }

    /// PUBLISH (or SPUBLISH with `shard`): queues `message` for every
    /// subscriber of `channel` and, for plain channels, `pmessage` for every
    /// matching pattern subscription. Returns the number of deliveries.
    pub fn publish(
        &self,
        channel: &[u8],
        message: &[u8],
        shard: bool,
        limits: &ObufLimits,
    ) -> usize {
        let st = self.state.read();
        let mut receivers = 0;
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        if let Some(subs) = st.server[kind as usize].get(channel) {
            let word: &[u8] = if shard { b"smessage" } else { b"message" };
            let mut enc = PerVersion::new(|resp3| {
                frame(
                    resp3,
                    &[Part::Bulk(word), Part::Bulk(channel), Part::Bulk(message)],
                )
            });
            for info in subs.values() {
                info.push(enc.get(is_resp3(info)), limits);
                receivers += 1;
            }
        }
        if shard {
            return receivers;
        }
        for (pattern, subs) in &st.server[Kind::Pattern as usize] {
            if !crate::glob::glob_match(pattern, channel, false) {
                continue;
            }
            let mut enc = PerVersion::new(|resp3| {
                frame(
                    resp3,
                    &[
                        Part::Bulk(b"pmessage"),
                        Part::Bulk(pattern),
                        Part::Bulk(channel),
                        Part::Bulk(message),
                    ],
                )
            });
            for info in subs.values() {
                info.push(enc.get(is_resp3(info)), limits);
                receivers += 1;
            }
        }
        receivers
    }

    /// PUBSUB CHANNELS / SHARDCHANNELS: active names matching `pattern`.
    pub fn channels(&self, shard: bool, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        let st = self.state.read();
        st.server[kind as usize]
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::glob::glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// PUBSUB NUMSUB / SHARDNUMSUB: subscribers of one channel.
    pub fn numsub(&self, shard: bool, channel: &[u8]) -> usize {
        let kind = if shard { Kind::Shard } else { Kind::Channel };
        let st = self.state.read();
        st.server[kind as usize]
            .get(channel)
            .map_or(0, HashMap::len)
    }

    /// PUBSUB NUMPAT: distinct patterns subscribed to.
    pub fn numpat(&self) -> usize {
        self.state.read().server[Kind::Pattern as usize].len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u64) -> Arc<ClientInfo> {
        let a = "127.0.0.1:1".parse().expect("addr");
        Arc::new(ClientInfo::new(id, a, a, 0))
    }

    fn drained(info: &ClientInfo) -> Vec<u8> {
        let mut out = BytesMut::new();
        info.outbox.drain_into(&mut out);
        out.to_vec()
    }

    #[test]
    fn subscribe_publish_unsubscribe() {
        let hub = PubSub::default();
        let lim = ObufLimits::default();
        let a = client(1);
        let b = client(2);
        b.resp.store(3, Ordering::Relaxed);
        hub.subscribe(
            &a,
            Kind::Channel,
            &[Bytes::from("c"), Bytes::from("c")],
            &lim,
        );
        hub.subscribe(&b, Kind::Pattern, &[Bytes::from("c*")], &lim);
        assert_eq!(
            drained(&a),
            b"*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"
        );
        assert_eq!(
            drained(&b),
            b">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:1\r\n"
        );
        assert_eq!(hub.publish(b"c", b"hi", false, &lim), 2);
        assert_eq!(hub.publish(b"c", b"hi", true, &lim), 0, "shard namespace");
        assert_eq!(
            drained(&a),
            b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            drained(&b),
            b">4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$1\r\nc\r\n$2\r\nhi\r\n"
        );
        assert_eq!(hub.numsub(false, b"c"), 1);
        assert_eq!(hub.numpat(), 1);
        hub.unsubscribe(&a, Kind::Channel, &[], Some(&lim));
        hub.unsubscribe(&a, Kind::Channel, &[], Some(&lim));
        assert_eq!(
            drained(&a),
            b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        );
        assert!(
            hub.channels(false, None).is_empty(),
            "empty channels are forgotten"
        );
        hub.remove_client(&b);
        assert_eq!(hub.numpat(), 0);
        assert!(!b.in_pubsub());
        assert!(hub.state.read().clients.is_empty());
    }

    #[test]
    fn keyspace_events_are_delivered_as_redis_publishes_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::ConfigStore::defaults();
        config
            .load_directive("dir", &[dir.path().display().to_string()])
            .expect("dir");
        let server = crate::server::Server::open(config).expect("open");
        let lim = ObufLimits::default();
        let sub = client(7);
        server
            .pubsub
            .subscribe(&sub, Kind::Pattern, &[Bytes::from("__key*")], &lim);
        drained(&sub);
        use crate::notify::{GENERIC, LIST, STRING};

        // Off by default: nothing is published.
        server.notify_keyspace_event(STRING, "set", 0, b"k");
        assert!(drained(&sub).is_empty());

        server
            .config
            .set("notify-keyspace-events", "KEA")
            .expect("set");
        server.notify_keyspace_event(STRING, "set", 3, b"k");
        assert_eq!(
            String::from_utf8(drained(&sub)).unwrap(),
            "*4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n$16\r\n__keyspace@3__:k\r\n$3\r\nset\r\n\
             *4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n$18\r\n__keyevent@3__:set\r\n$1\r\nk\r\n"
        );

        // Only the key-event channel, only generic events.
        server
            .config
            .set("notify-keyspace-events", "Eg")
            .expect("set");
        server.notify_keyspace_event(LIST, "lpush", 0, b"l");
        assert!(drained(&sub).is_empty(), "class not enabled");
        server.notify_keyspace_event(GENERIC, "del", 0, b"l");
        assert_eq!(
            String::from_utf8(drained(&sub)).unwrap(),
            "*4\r\n$8\r\npmessage\r\n$6\r\n__key*\r\n$18\r\n__keyevent@0__:del\r\n$1\r\nl\r\n"
        );
        // A class with neither K nor E publishes nothing.
        server
            .config
            .set("notify-keyspace-events", "g")
            .expect("set");
        server.notify_keyspace_event(GENERIC, "del", 0, b"l");
        assert!(drained(&sub).is_empty());
        assert_eq!(
            server.config.notify_flags.load(Ordering::Relaxed),
            GENERIC,
            "bits of the parsed directive"
        );
    }
}
