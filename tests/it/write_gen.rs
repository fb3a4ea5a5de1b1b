//! Seeded random write sequences for the propagation and keyspace-event
//! tests (`write_run.rs` plays them against two servers).
//!
//! The generator only produces commands whose effects are deterministic on
//! two servers a few milliseconds apart: relative TTLs are long (no key
//! expires by itself except the dedicated expiry steps), GT/LT comparisons
//! against relative deadlines use values no other command uses, and SPOP only
//! pops when its choice is forced (one member, or a count covering the set).

use crate::common::Rng;
use crate::repl_tap::Frame;

/// Command families a sequence draws from (bit set).
pub const STRINGS: u32 = 1;
pub const KEYSPACE: u32 = 2;
pub const HASHES: u32 = 4;
pub const LISTS: u32 = 8;
pub const SETS: u32 = 16;
pub const ZSETS: u32 = 32;
/// Keys that expire: lazily (PX 1, wait, touch) and by the active cycle.
pub const EXPIRY: u32 = 64;
pub const TRANSACTIONS: u32 = 128;
/// Everything but transactions.
pub const DATA: u32 = STRINGS | KEYSPACE | HASHES | LISTS | SETS | ZSETS | EXPIRY;
pub const ALL: u32 = DATA | TRANSACTIONS;

/// Every write command the full generator must reach with a non-error reply.
pub const WRITE_COMMANDS: &[&str] = &[
    "SET",
    "SETEX",
    "PSETEX",
    "SETNX",
    "GETSET",
    "GETDEL",
    "GETEX",
    "APPEND",
    "SETRANGE",
    "INCR",
    "DECR",
    "INCRBY",
    "DECRBY",
    "INCRBYFLOAT",
    "MSET",
    "MSETNX",
    "DEL",
    "UNLINK",
    "EXPIRE",
    "PEXPIRE",
    "EXPIREAT",
    "PEXPIREAT",
    "PERSIST",
    "RENAME",
    "RENAMENX",
    "COPY",
    "RESTORE",
    "MOVE",
    "SELECT",
    "FLUSHDB",
    "SWAPDB",
    "HSET",
    "HMSET",
    "HSETNX",
    "HDEL",
    "HINCRBY",
    "HINCRBYFLOAT",
    "LPUSH",
    "RPUSH",
    "LPUSHX",
    "RPUSHX",
    "LPOP",
    "RPOP",
    "LINSERT",
    "LSET",
    "LREM",
    "LTRIM",
    "LMOVE",
    "RPOPLPUSH",
    "LMPOP",
    "BLPOP",
    "BRPOP",
    "BLMOVE",
    "BLMPOP",
    "SADD",
    "SREM",
    "SPOP",
    "SMOVE",
    "SINTERSTORE",
    "SUNIONSTORE",
    "SDIFFSTORE",
    "ZADD",
    "ZINCRBY",
    "ZREM",
    "ZPOPMIN",
    "ZPOPMAX",
    "BZPOPMIN",
    "ZRANGESTORE",
    "ZUNIONSTORE",
    "ZREMRANGEBYSCORE",
    "ZREMRANGEBYRANK",
    "ZREMRANGEBYLEX",
    "MULTI",
    "EXEC",
    "DISCARD",
];

/// One thing a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Cmd(Frame),
    SleepMs(u64),
    /// Wait until each observer reports the key expired (active expiry).
    AwaitExpiry(Vec<u8>),
}

const STR_KEYS: &[&str] = &["a", "b", "n"];
const HASH_KEYS: &[&str] = &["h", "h2"];
const LIST_KEYS: &[&str] = &["l", "l2"];
const SET_KEYS: &[&str] = &["s", "s2"];
const ZSET_KEYS: &[&str] = &["z", "z2"];
/// Keys no family creates: usually missing (no-op writes).
const SPARE_KEYS: &[&str] = &["x", "dst"];
const VALUES: &[&[u8]] = &[
    b"v",
    b"1",
    b"10",
    b"-3",
    b"2.5",
    b"hello",
    b"",
    b"\x00\xff\r\n",
    b"abc def",
];
const MEMBERS: &[&str] = &["a", "b", "c", "1", "2"];
const FIELDS: &[&str] = &["f", "g", "n"];
/// Relative expiry, seconds (x1000 for the millisecond forms).
const REL_SECS: &[&str] = &["100", "1000", "100000"];
/// Absolute UNIX seconds: the past (deletes at once) or 2100 and later.
const ABS_SECS: &[&str] = &["1", "4102444800", "4102444801", "4200000000"];
const FLOAT_INCRS: &[&str] = &["1.5", "-0.25", "3", "1e2", "0.1", "abc"];
/// DUMP payloads of Redis 7.0: the string "v" and the list [a].
const PAYLOADS: &[&[u8]] = &[
    b"\x00\x01v\n\x00\x91\x08\xce\xb2\x198\x8a\xce",
    b"\x12\x01\x02\n\n\x00\x00\x00\x01\x00\x81a\x02\xff\n\x00\t\xb9\xed\xf5\x94\xde\xd9\x95",
];

pub struct Gen {
    rng: Rng,
    families: u32,
    step: u64,
}

fn w(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Gen {
    pub fn new(seed: u64, families: u32) -> Gen {
        Gen {
            rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
            families,
            step: 0,
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.below(n)
    }
    fn pick(&mut self, items: &[&str]) -> Vec<u8> {
        w(self.rng.pick::<&str>(items))
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    fn val(&mut self) -> Vec<u8> {
        self.rng.pick(VALUES).to_vec()
    }
    fn any_key(&mut self) -> Vec<u8> {
        let pools = [
            STR_KEYS, HASH_KEYS, LIST_KEYS, SET_KEYS, ZSET_KEYS, SPARE_KEYS,
        ];
        let pool = *self.rng.pick(&pools);
        self.pick(pool)
    }
    /// A key from `pool` most of the time, any key sometimes (WRONGTYPE).
    fn key_in(&mut self, pool: &[&str]) -> Vec<u8> {
        if self.chance(12) {
            self.any_key()
        } else {
            self.pick(pool)
        }
    }
    /// A relative TTL for GT/LT that no other command uses, so comparing
    /// it with an existing relative deadline never depends on the clock.
    /// Values grow 7 s per step (far more than a step takes) and stay at
    /// least 50 s away from the pool's 100 and 1000.
    fn unique_secs(&self) -> u64 {
        let s = 150 + 7 * self.step;
        if (950..=1050).contains(&s) {
            s + 150
        } else {
            s
        }
    }

    /// The next step: one or more actions, then the runner writes a marker.
    pub fn step(&mut self) -> Vec<Action> {
        self.step += 1;
        let families: Vec<u32> = (0..8)
            .map(|b| 1 << b)
            .filter(|f| self.families & f != 0)
            .collect();
        let family = *self.rng.pick(&families);
        match family {
            TRANSACTIONS => self.transaction(),
            EXPIRY => self.expiry(),
            SETS if self.chance(5) => self.spop(),
            LISTS if self.chance(6) => self.blocking_list(),
            ZSETS if self.chance(8) => {
                let mut v = Vec::new();
                if self.chance(2) {
                    v.push(Action::Cmd(vec![w("ZADD"), w("z"), w("1"), w("a")]));
                }
                let end = self.pick(&["z", "z2"]);
                v.push(Action::Cmd(vec![w("BZPOPMIN"), end, w("z"), w("0.01")]));
                v
            }
            f => vec![Action::Cmd(self.command(f))],
        }
    }

    /// One non-blocking command of a family.
    fn command(&mut self, family: u32) -> Frame {
        match family {
            STRINGS => self.string_cmd(),
            KEYSPACE => self.keyspace_cmd(),
            HASHES => self.hash_cmd(),
            LISTS => self.list_cmd(),
            SETS => self.set_cmd(),
            _ => self.zset_cmd(),
        }
    }

    fn string_cmd(&mut self) -> Frame {
        let k = self.key_in(STR_KEYS);
        match self.below(16) {
            0..=2 => {
                let mut a = vec![w("SET"), k, self.val()];
                for _ in 0..self.below(3) {
                    match self.below(8) {
                        0 => a.push(w("NX")),
                        1 => a.push(w("XX")),
                        2 => a.push(w("GET")),
                        3 => a.push(w("KEEPTTL")),
                        4 => a.extend([w("EX"), self.pick(REL_SECS)]),
                        5 => a.extend([w("px"), w("100000")]),
                        6 => a.extend([w("EXAT"), self.pick(&ABS_SECS[1..])]),
                        _ => a.extend([w("PXAT"), w("4102444800000")]),
                    }
                }
                a
            }
            3 => vec![w("SETEX"), k, self.pick(REL_SECS), self.val()],
            4 => vec![w("PSETEX"), k, w("100000"), self.val()],
            5 => vec![self.pick(&["SETNX", "GETSET", "APPEND"]), k, self.val()],
            6 => vec![w("GETDEL"), k],
            7 => {
                let mut a = vec![w("GETEX"), k];
                match self.below(6) {
                    0 => a.extend([w("EX"), self.pick(REL_SECS)]),
                    1 => a.extend([w("PX"), w("100000")]),
                    2 => a.extend([w("EXAT"), self.pick(ABS_SECS)]),
                    3 => a.extend([w("PXAT"), w("4102444800000")]),
                    4 => a.push(w("PERSIST")),
                    _ => {}
                }
                a
            }
            8 => vec![w("SETRANGE"), k, self.pick(&["0", "1", "5"]), self.val()],
            9 | 10 => vec![self.pick(&["INCR", "DECR"]), self.key_in(&["n"])],
            11 => vec![
                self.pick(&["INCRBY", "DECRBY"]),
                self.key_in(&["n", "n", "a"]),
                self.pick(&["1", "-7", "100"]),
            ],
            12 => vec![
                w("INCRBYFLOAT"),
                self.key_in(&["n", "b"]),
                self.pick(FLOAT_INCRS),
            ],
            13 => {
                let mut a = vec![self.pick(&["MSET", "MSETNX"])];
                for _ in 0..=self.below(2) {
                    a.extend([self.pick(STR_KEYS), self.val()]);
                }
                a
            }
            14 => vec![w("GET"), k],
            _ => vec![w("SET"), k, self.val()],
        }
    }

    fn keyspace_cmd(&mut self) -> Frame {
        match self.below(16) {
            0 | 1 => {
                let mut a = vec![self.pick(&["DEL", "UNLINK"])];
                for _ in 0..=self.below(2) {
                    a.push(self.any_key());
                }
                a
            }
            2..=4 => {
                let ms = self.chance(2);
                let mut a = vec![w(if ms { "PEXPIRE" } else { "EXPIRE" }), self.any_key()];
                let gtlt = self.chance(3);
                let secs = match self.below(6) {
                    0 => "0".to_string(),
                    1 => "-1".to_string(),
                    _ if gtlt => self.unique_secs().to_string(),
                    _ => String::from_utf8(self.pick(REL_SECS)).unwrap(),
                };
                let positive = !secs.starts_with('-') && secs != "0";
                a.push(w(&if ms && positive {
                    format!("{secs}000")
                } else {
                    secs
                }));
                if gtlt {
                    a.push(self.pick(&["GT", "LT", "gt", "lt"]));
                } else if self.chance(3) {
                    a.push(self.pick(&["NX", "XX"]));
                }
                a
            }
            5 | 6 => {
                let ms = self.chance(2);
                let mut a = vec![w(if ms { "PEXPIREAT" } else { "EXPIREAT" }), self.any_key()];
                let at = String::from_utf8(self.pick(ABS_SECS)).unwrap();
                a.push(w(&if ms { format!("{at}000") } else { at }));
                if self.chance(2) {
                    a.push(self.pick(&["NX", "XX", "GT", "LT"]));
                }
                a
            }
            7 => vec![w("PERSIST"), self.any_key()],
            8 | 9 => {
                let src = self.any_key();
                let dst = if self.chance(3) {
                    self.any_key()
                } else {
                    self.pick(SPARE_KEYS)
                };
                vec![self.pick(&["RENAME", "RENAMENX"]), src, dst]
            }
            10 => {
                let mut a = vec![w("COPY"), self.any_key(), self.any_key()];
                if self.chance(2) {
                    a.extend([w("DB"), self.pick(&["0", "1"])]);
                }
                if self.chance(2) {
                    a.push(w("REPLACE"));
                }
                a
            }
            11 => vec![w("MOVE"), self.any_key(), self.pick(&["1", "2"])],
            12 | 13 => vec![w("SELECT"), self.pick(&["0", "0", "1", "2"])],
            14 if self.chance(4) => vec![w("FLUSHDB")],
            14 => vec![w("SWAPDB"), self.pick(&["0", "1"]), self.pick(&["1", "2"])],
            15 if self.chance(3) => self.restore(),
            _ => vec![self.pick(&["EXISTS", "TYPE"]), self.any_key()],
        }
    }

    /// RESTORE of a fixed payload: no TTL, relative (propagated as ABSTTL)
    /// or absolute (in the past: deletes or does nothing), maybe REPLACE.
    fn restore(&mut self) -> Frame {
        let payload = PAYLOADS[self.below(PAYLOADS.len() as u64) as usize].to_vec();
        let mut a = vec![w("RESTORE"), self.any_key()];
        match self.below(3) {
            0 => a.extend([w("0"), payload]),
            1 => a.extend([self.pick(&["100000", "1000000"]), payload]),
            _ => {
                let at = String::from_utf8(self.pick(ABS_SECS)).unwrap();
                a.extend([w(&format!("{at}000")), payload, w("ABSTTL")]);
            }
        }
        if self.chance(2) {
            a.push(w("REPLACE"));
        }
        a
    }

    fn hash_cmd(&mut self) -> Frame {
        let k = self.key_in(HASH_KEYS);
        match self.below(8) {
            0 | 1 => {
                let mut a = vec![self.pick(&["HSET", "HSET", "HMSET"]), k];
                for _ in 0..=self.below(2) {
                    a.extend([self.pick(FIELDS), self.val()]);
                }
                a
            }
            2 => vec![w("HSETNX"), k, self.pick(FIELDS), self.val()],
            3 => {
                let mut a = vec![w("HDEL"), k];
                for _ in 0..=self.below(2) {
                    a.push(self.pick(FIELDS));
                }
                a
            }
            4 => vec![
                w("HINCRBY"),
                k,
                self.pick(FIELDS),
                self.pick(&["1", "-5", "30"]),
            ],
            5 | 6 => vec![
                w("HINCRBYFLOAT"),
                k,
                self.pick(FIELDS),
                self.pick(FLOAT_INCRS),
            ],
            _ => vec![w("HGET"), k, self.pick(FIELDS)],
        }
    }

    fn list_cmd(&mut self) -> Frame {
        let k = self.key_in(LIST_KEYS);
        let end = |g: &mut Gen| g.pick(&["LEFT", "RIGHT"]);
        match self.below(15) {
            0..=2 => {
                let mut a = vec![self.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), k];
                for _ in 0..=self.below(3) {
                    a.push(self.pick(MEMBERS));
                }
                a
            }
            3 | 4 => {
                let mut a = vec![self.pick(&["LPOP", "RPOP"]), k];
                if self.chance(2) {
                    a.push(self.pick(&["0", "1", "2", "10"]));
                }
                a
            }
            5 => vec![
                w("LINSERT"),
                k,
                self.pick(&["BEFORE", "AFTER"]),
                self.pick(MEMBERS),
                self.pick(MEMBERS),
            ],
            6 => vec![
                w("LSET"),
                k,
                self.pick(&["0", "-1", "1", "9"]),
                self.pick(MEMBERS),
            ],
            7 => vec![
                w("LREM"),
                k,
                self.pick(&["0", "1", "-1", "2"]),
                self.pick(MEMBERS),
            ],
            8 => vec![
                w("LTRIM"),
                k,
                self.pick(&["0", "1"]),
                self.pick(&["-1", "2", "0"]),
            ],
            9 => vec![w("LMOVE"), k, self.key_in(LIST_KEYS), end(self), end(self)],
            10 => vec![w("RPOPLPUSH"), k, self.key_in(LIST_KEYS)],
            11 => {
                let mut a = vec![w("LMPOP"), w("2"), k, self.key_in(LIST_KEYS), end(self)];
                if self.chance(2) {
                    a.extend([w("COUNT"), self.pick(&["1", "2", "5"])]);
                }
                a
            }
            12 => vec![w("LLEN"), k],
            _ => vec![w("RPUSH"), k, self.pick(MEMBERS)],
        }
    }

    /// A blocking pop with a 10 ms timeout, usually on a list just filled
    /// (served at once and propagated in its non-blocking form).
    fn blocking_list(&mut self) -> Vec<Action> {
        let mut v = Vec::new();
        if !self.chance(4) {
            v.push(Action::Cmd(vec![w("RPUSH"), w("l"), w("p"), w("q")]));
        }
        let end = |g: &mut Gen| g.pick(&["LEFT", "RIGHT"]);
        let cmd = match self.below(4) {
            0 => vec![w("BLPOP"), w("l2"), w("l"), w("0.01")],
            1 => vec![w("BRPOP"), w("l"), w("0.01")],
            2 => vec![
                w("BLMOVE"),
                w("l"),
                w("l2"),
                end(self),
                end(self),
                w("0.01"),
            ],
            _ => {
                let mut a = vec![w("BLMPOP"), w("0.01"), w("2"), w("l2"), w("l"), end(self)];
                if self.chance(2) {
                    a.extend([w("COUNT"), w("3")]);
                }
                a
            }
        };
        v.push(Action::Cmd(cmd));
        v
    }

    fn set_cmd(&mut self) -> Frame {
        let k = self.key_in(SET_KEYS);
        match self.below(8) {
            0..=2 => {
                let mut a = vec![self.pick(&["SADD", "SREM", "SADD"]), k];
                for _ in 0..=self.below(3) {
                    a.push(self.pick(MEMBERS));
                }
                a
            }
            3 => vec![w("SMOVE"), k, self.key_in(SET_KEYS), self.pick(MEMBERS)],
            4..=6 => {
                let dst = self.pick(&["dst", "s2", "s"]);
                vec![
                    self.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]),
                    dst,
                    k,
                    self.key_in(SET_KEYS),
                ]
            }
            _ => vec![w("SCARD"), k],
        }
    }

    /// SPOP where the choice is forced: the random member Redis would pick
    /// cannot differ between servers.
    fn spop(&mut self) -> Vec<Action> {
        let mut v = vec![Action::Cmd(vec![w("DEL"), w("sp")])];
        let n = self.below(4);
        if n > 0 {
            let mut add = vec![w("SADD"), w("sp")];
            add.extend(MEMBERS[..n as usize].iter().map(|m| w(m)));
            v.push(Action::Cmd(add));
        }
        // Forced choices only: no count on a set of at most one member, a
        // zero count, or a count covering the whole set.
        let pop = match self.below(3) {
            0 if n <= 1 => vec![w("SPOP"), w("sp")],
            1 => vec![w("SPOP"), w("sp"), w("0")],
            _ => {
                let count = (n + self.below(2)).to_string();
                vec![w("SPOP"), w("sp"), w(&count)]
            }
        };
        v.push(Action::Cmd(pop));
        v
    }

    fn zset_cmd(&mut self) -> Frame {
        let k = self.key_in(ZSET_KEYS);
        match self.below(12) {
            0..=2 => {
                let mut a = vec![w("ZADD"), k];
                for _ in 0..self.below(3) {
                    a.push(self.pick(&["NX", "XX", "GT", "LT", "CH", "INCR"]));
                }
                for _ in 0..=self.below(2) {
                    a.extend([
                        self.pick(&["1", "2", "-1.5", "10", "+inf"]),
                        self.pick(MEMBERS),
                    ]);
                }
                a
            }
            3 => vec![
                w("ZINCRBY"),
                k,
                self.pick(&["1", "-2.5", "10"]),
                self.pick(MEMBERS),
            ],
            4 => vec![w("ZREM"), k, self.pick(MEMBERS), self.pick(MEMBERS)],
            5 => {
                let mut a = vec![self.pick(&["ZPOPMIN", "ZPOPMAX"]), k];
                if self.chance(2) {
                    a.push(self.pick(&["0", "1", "2", "10"]));
                }
                a
            }
            6 => {
                let mut a = vec![w("ZRANGESTORE"), self.pick(&["dst", "z2"]), k];
                if self.chance(2) {
                    a.extend([w("0"), self.pick(&["-1", "1"])]);
                } else {
                    a.extend([w("-inf"), w("(2"), w("BYSCORE")]);
                }
                a
            }
            7 => {
                let mut a = vec![
                    w("ZUNIONSTORE"),
                    self.pick(&["dst", "z2", "z"]),
                    w("2"),
                    k,
                    self.key_in(ZSET_KEYS),
                ];
                if self.chance(2) {
                    a.extend([w("WEIGHTS"), w("1"), w("2")]);
                }
                if self.chance(2) {
                    a.extend([w("AGGREGATE"), self.pick(&["MAX", "MIN", "SUM"])]);
                }
                a
            }
            8 => vec![
                w("ZREMRANGEBYSCORE"),
                k,
                w("-inf"),
                self.pick(&["1", "(2", "0"]),
            ],
            9 => vec![
                w("ZREMRANGEBYRANK"),
                k,
                w("0"),
                self.pick(&["0", "1", "-1"]),
            ],
            10 => vec![
                w("ZREMRANGEBYLEX"),
                k,
                w("-"),
                self.pick(&["[b", "(a", "+"]),
            ],
            _ => vec![w("ZCARD"), k],
        }
    }

    /// A key that expires: lazily (set with a 1 ms TTL, wait, touch it) or
    /// through the server's active expire cycle (nobody touches it).
    fn expiry(&mut self) -> Vec<Action> {
        let key = self.pick(&["e1", "e2"]);
        // PEXPIRE's time is checked against the clock once more after it is
        // computed: with 1 ms Redis itself sometimes deletes at once (DEL)
        // and sometimes sets the TTL. 5 ms never races; SET PX 1 does not
        // recheck.
        let short_ttl = vec![w("PEXPIRE"), key.clone(), w("5")];
        let mut v = match self.below(5) {
            0 => vec![vec![w("SET"), key.clone(), w("v"), w("PX"), w("1")]],
            1 => vec![vec![w("PSETEX"), key.clone(), w("1"), w("v")]],
            2 => vec![vec![w("SET"), key.clone(), w("v")], short_ttl],
            3 => vec![vec![w("RPUSH"), key.clone(), w("a")], short_ttl],
            _ => vec![vec![w("HSET"), key.clone(), w("f"), w("1")], short_ttl],
        }
        .into_iter()
        .map(Action::Cmd)
        .collect::<Vec<_>>();
        if self.chance(6) {
            v.push(Action::AwaitExpiry(key));
            return v;
        }
        v.push(Action::SleepMs(20));
        let touch = match self.below(10) {
            0 => vec![w("GET"), key],
            1 => vec![w("EXISTS"), key],
            2 => vec![w("TYPE"), key],
            3 => vec![w("INCR"), key],
            4 => vec![w("LPUSH"), key, w("x")],
            5 => vec![w("HSET"), key, w("f"), w("2")],
            6 => vec![w("EXPIRE"), key, w("100")],
            7 => vec![w("RENAME"), key, w("x")],
            8 => vec![w("DEL"), key],
            _ => vec![w("SADD"), key, w("m")],
        };
        v.push(Action::Cmd(touch));
        v
    }

    /// MULTI, a few writes, EXEC (sometimes DISCARD, a queued error, a
    /// SELECT inside, or only reads).
    fn transaction(&mut self) -> Vec<Action> {
        let mut v = vec![Action::Cmd(vec![w("MULTI")])];
        for _ in 0..=self.below(3) {
            let cmd = match self.below(10) {
                0 => vec![w("GET"), self.pick(STR_KEYS)],
                1 => vec![w("SELECT"), self.pick(&["0", "1"])],
                2 if self.chance(3) => vec![w("SET"), w("onlykey")],
                f => self.command([STRINGS, HASHES, LISTS, ZSETS, SETS, KEYSPACE][f as usize % 6]),
            };
            v.push(Action::Cmd(cmd));
        }
        let end = if self.chance(8) { "DISCARD" } else { "EXEC" };
        v.push(Action::Cmd(vec![w(end)]));
        v
    }
}
