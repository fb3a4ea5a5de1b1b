//! A pipeline's requests as one unit.
//!
//! A client that pipelines sends many commands in one read. Run one by one,
//! each write is its own engine batch: its own trip through RocksDB's write
//! group, its own log record, its own counter record. Here the run of
//! consecutive requests that may share a unit (keyed reads and fast keyed
//! writes, see `dispatch::batchable`) executes in one write context and
//! commits as one engine batch, which keeps every command's semantics:
//!
//! - each command is still atomic and isolated: its keys are locked from
//!   its start until the commit, and it reads what earlier commands of the
//!   run staged, as it would have read them committed;
//! - the stream shows each command as Redis propagates it alone
//!   (`WriteContext::end_command`), not one MULTI around the run;
//! - replies are written in order, and only after the commit (a failed
//!   commit answers every command of the run with its error);
//! - a command that makes a key ready while a client is blocked ends the run,
//!   so the blocked client is served before the next command, as in Redis;
//! - key locks are only ever tried: a busy key commits what ran so far and
//!   ends the run, and the connection awaits the key without holding its
//!   worker or any lock (`Next::KeyBusy`), then goes on with the rest of the
//!   run. A run therefore never waits while it holds a key: no deadlock, and
//!   no worker thread parked on a hot key.
//!
//! Everything here is synchronous, so a running unit (its gate) never lives
//! across an `.await`: the connection runs this, then takes the ordinary
//! async path for the request that ended the run. The one exception is
//! made to share commits: a run that ends with the input may leave its
//! unit in the commit queue (`types::commit_queue`), which keeps the unit's
//! key locks (not the gate) across the connection's one yield before it
//! flushes; whoever needs one of those keys commits the queue first, so
//! nobody waits for the suspended connection.

use bytes::{Bytes, BytesMut};
use parking_lot::RwLockReadGuard;

use super::client::ClientState;
use super::{dispatch, Server};
use crate::cmd::Resolved;
use crate::config::Settings;
use crate::engine::Cf;
use crate::resp::{ParseLimits, Reply, RequestParser};
use crate::types::encoding::KeyType;
use crate::types::{encoding, now_ms, BusyKey, DeferredUnit, WriteContext};

/// At most this many commands share a unit: it bounds how long a unit
/// holds its key locks and how much it stages.
const MAX_COMMANDS: usize = 64;

/// What stopped a run.
pub enum Next {
    /// A request that must take the ordinary path (`dispatch::execute`).
    Request(Vec<Bytes>),
    /// Every complete request of the input has run.
    NeedInput,
    /// The run reached its length limit; more requests may be waiting.
    More,
    /// The input is not valid RESP: the error to send before closing.
    ProtocolError(String),
    /// A command needs a key another unit holds: await it
    /// (`Keyspace::wait_busy`), then call [`run`] again, which goes on with
    /// the run's remaining requests (kept in the client's state).
    KeyBusy(BusyKey),
}

/// Parsed requests of a run, in order, with their commands.
type Queue = Vec<(Resolved, Vec<Bytes>)>;

/// A run's queue and answers, kept (empty) by the connection between runs:
/// a lone GET would otherwise allocate and free both.
#[derive(Default)]
pub struct RunLists {
    queue: Queue,
    answers: Vec<Answer>,
}

/// Lists up to this many entries are kept: a few hundred bytes per client.
const KEPT_LIST: usize = 16;

impl RunLists {
    fn take_queue(&mut self) -> Queue {
        std::mem::take(&mut self.queue)
    }

    fn keep_queue(&mut self, mut queue: Queue) {
        if queue.capacity() <= KEPT_LIST {
            queue.clear();
            put_back(&mut self.queue, queue);
        }
    }

    fn take_answers(&mut self, commands: usize) -> Vec<Answer> {
        let mut answers = std::mem::take(&mut self.answers);
        answers.reserve(commands);
        answers
    }

    fn keep_answers(&mut self, mut answers: Vec<Answer>) {
        if answers.capacity() <= KEPT_LIST {
            answers.clear();
            put_back(&mut self.answers, answers);
        }
    }
}

/// Puts `list` back in `slot`, which holds the empty list taking it left:
/// a list that owns no memory is forgotten rather than dropped (a drop is
/// a call, per run).
fn put_back<T>(slot: &mut Vec<T>, list: Vec<T>) {
    let left = std::mem::replace(slot, list);
    if left.capacity() == 0 {
        std::mem::forget(left);
    }
}

/// A run stopped by a busy key: its requests not yet run, and what ended
/// the parse (returned once they have run).
pub struct StalledRun {
    queue: Queue,
    then: Option<Next>,
}

/// One command of the run, waiting for the commit to be answered.
struct Answer {
    reply: Reply,
    flags: u32,
    argv: Vec<Bytes>,
}

/// The open unit of a run.
struct RunUnit<'s> {
    w: WriteContext<'s>,
    _gate: RwLockReadGuard<'s, ()>,
    answers: Vec<Answer>,
    /// The unit has read its GETs ahead.
    prefetched: bool,
}

impl<'s> RunUnit<'s> {
    /// A unit whose replies wait in `answers` (an empty list, with room for
    /// the run's remaining commands).
    fn open(server: &'s Server, answers: Vec<Answer>) -> RunUnit<'s> {
        let ks = &*server.ks;
        let gate = ks.shared_gate();
        RunUnit {
            w: WriteContext::for_run(ks, now_ms()),
            _gate: gate,
            answers,
            prefetched: false,
        }
    }
}

/// Parses and runs requests from `inbuf` for as long as they may share a
/// unit, then commits it and appends the replies to `out`. Returns what
/// stopped the run.
pub fn run(
    server: &Server,
    client: &mut ClientState,
    parser: &mut RequestParser,
    inbuf: &mut BytesMut,
    out: &mut BytesMut,
    settings: &Settings,
) -> Next {
    if let Some(StalledRun { queue, then }) = client.stalled_run.take() {
        return finish_run(server, client, queue, then, out);
    }
    // The run's requests are parsed first, so its GETs can be read ahead
    // in one multi-get. Every one of them is batchable, which no batchable
    // command changes (no AUTH, no RESET), so the parse limits hold.
    let mut queue = client.run_lists.take_queue();
    let next = loop {
        if queue.len() >= MAX_COMMANDS {
            break None;
        }
        let limits = ParseLimits {
            max_bulk_len: settings.proto_max_bulk_len,
            unauthenticated: !client.authenticated,
        };
        match parser.next(inbuf, &limits) {
            Ok(Some(argv)) if argv.is_empty() => continue,
            Ok(Some(argv)) => match dispatch::batchable(server, client, &argv) {
                Some(cmd) => queue.push((cmd, argv)),
                None => break Some(Next::Request(argv)),
            },
            Ok(None) => break Some(Next::NeedInput),
            Err(e) => break Some(Next::ProtocolError(e.to_string())),
        }
    };
    finish_run(server, client, queue, next, out)
}

/// Executes `queue`; then `then` is what stopped the run, unless a busy key
/// stopped it first.
fn finish_run(
    server: &Server,
    client: &mut ClientState,
    queue: Queue,
    then: Option<Next>,
    out: &mut BytesMut,
) -> Next {
    // The run's last unit may wait for other connections' units to share
    // its commit when the connection flushes next (`types::commit_queue`).
    let may_defer = matches!(then, Some(Next::NeedInput));
    match execute(server, client, queue, may_defer, out) {
        // A full run may leave more requests: the caller comes back for them.
        Ok(()) => then.unwrap_or(Next::More),
        Err((busy, queue)) => {
            client.stalled_run = Some(StalledRun { queue, then });
            Next::KeyBusy(busy)
        }
    }
}

/// Runs the queued commands in as few units as the rules allow. A busy key
/// commits what ran and returns the commands left, from the one that found
/// the key busy.
fn execute(
    server: &Server,
    client: &mut ClientState,
    mut queue: Queue,
    may_defer: bool,
    out: &mut BytesMut,
) -> Result<(), (BusyKey, Queue)> {
    // The key of every GET, by queue position, for the read-ahead (which a
    // lone request never needs).
    let gets: Vec<(usize, Bytes)> = if queue.len() > 1 {
        queue
            .iter()
            .enumerate()
            .filter(|(_, (cmd, _))| cmd.spec.name == "get")
            .map(|(i, (_, argv))| (i, argv[1].clone()))
            .collect()
    } else {
        Vec::new()
    };
    // A lone request reads nothing ahead and pops one element (an empty
    // list means 1 everywhere, without allocating one).
    let pops = if queue.len() > 1 {
        let db = server.ks.physical(client.db);
        prefetch_metadata(server, db, queue.iter().map(|(c, a)| (*c, a.as_slice())));
        prefetch_members(server, db, &queue);
        pops_ahead(&queue)
    } else {
        Vec::new()
    };
    let commands = queue.len();
    let mut unit: Option<RunUnit<'_>> = None;
    let mut run = queue.drain(..).enumerate();
    while let Some((i, (cmd, argv))) = run.next() {
        let u = unit.get_or_insert_with(|| {
            RunUnit::open(server, client.run_lists.take_answers(commands - i))
        });
        // The physical db only where it is needed: a lone GET needs none.
        let logical_db = client.db;
        let db = || server.ks.physical(logical_db);
        let write = cmd.spec.is_write();
        // A write locks its keys; so does a read in a unit that holds locks
        // (a list read would otherwise take its key inside the handler).
        if write || u.w.holds_locks() {
            if let Err(busy) = dispatch::try_lock_keys(&u.w, db(), cmd, &argv) {
                finish(server, client, unit.take(), out);
                let mut rest = vec![(cmd, argv)];
                rest.extend(run.map(|(_, c)| c));
                return Err((busy, rest));
            }
        }
        if !write && !u.prefetched && gets.len() > 1 && cmd.spec.name == "get" {
            u.prefetched = true;
            let keys: Vec<&[u8]> = gets
                .iter()
                .filter(|(j, _)| *j >= i)
                .map(|(_, k)| &k[..])
                .collect();
            // One GET gains nothing from a multi-get; a failed read-ahead
            // only means each GET reads on its own.
            if keys.len() > 1 && u.w.prefetch_meta(db(), &keys).is_err() {
                tracing::debug!("pipeline read-ahead failed");
            }
        }
        u.w.read_prefetched(!write);
        u.w.set_pops_ahead(pops.get(i).copied().unwrap_or(1));
        run_one(server, client, cmd, argv, u);
        // Nobody waits for a key: the run goes on, and a client that blocks
        // meanwhile is served when the unit commits. Clients blocked on a
        // key this command readied are served before the next command runs.
        if !client.ready_keys.is_empty() && server.blocking.blocked_clients() > 0 {
            finish(server, client, unit.take(), out);
        }
    }
    drop(run);
    client.run_lists.keep_queue(queue);
    // A unit that readied keys nobody is blocked on may wait for the shared
    // commit like any other (LPUSH and ZADD ready their key): its ready keys
    // are served after that commit (`answer_deferred`), in case a client
    // blocked meanwhile.
    let may_wait = client.ready_keys.is_empty() || server.blocking.blocked_clients() == 0;
    // A run of reads lets its unit go where it lies, at the end of this
    // scope (it holds no key lock): committing would move it only to find
    // nothing to write.
    if unit
        .as_ref()
        .is_some_and(|u| u.w.has_nothing_to_commit() && client.ready_keys.is_empty())
    {
        if let Some(RunUnit { answers, .. }) = unit {
            emit_answers(server, client, answers, None, out);
        }
        return Ok(());
    }
    match unit {
        Some(u) if may_defer && may_wait => defer(server, client, u, out),
        unit => finish(server, client, unit, out),
    }
    Ok(())
}

/// Starts loading the metadata record of every command's key (physical
/// db `db`), so that the memory latencies of their lookups overlap instead
/// of following one another (each command's lookup otherwise waits for its
/// own cache misses: stop 35 in docs/bench/instructions.md). A pipeline's
/// run and a replica's stretch of the master's stream use it.
pub fn prefetch_metadata<'a>(
    server: &Server,
    db: u8,
    commands: impl ExactSizeIterator<Item = (Resolved, &'a [Bytes])>,
) {
    let mut buf = Vec::with_capacity(commands.len() * 24);
    let mut ends = Vec::with_capacity(commands.len());
    for (cmd, argv) in commands {
        if let Some(key) = cmd.spec.single_key(argv) {
            encoding::push_meta_key(&mut buf, db, key);
            ends.push(buf.len());
        }
    }
    let keys = split_at_ends(&buf, &ends);
    server.ks.engine().prefetch(Cf::Meta, &keys);
}

/// Starts loading the records of the hash fields, set members and sorted
/// set members the run's commands will look up (HSET's fields, SADD's and
/// ZADD's members, ...), as [`prefetch_metadata`] does for their keys: in
/// a pipeline of writes to one big collection, each command's member lookup
/// otherwise waits for its own cache misses (the record cache's table,
/// `Bucket::find`, took 5-6.5% of HSET -P16's server samples in two
/// profiles, 4.8% of ZADD -P16's). A member's record key
/// holds its collection's version, read here from the metadata (which the
/// read-ahead above has just started loading). A hint only: a stale
/// version (a run that deletes and recreates the key) loads records nobody
/// reads, and nothing is read through it.
fn prefetch_members(server: &Server, db: u8, queue: &Queue) {
    let engine = server.ks.engine();
    let commands = queue.iter().map(|(c, a)| (c.spec.name, a.as_slice()));
    let (buf, ends) = member_keys(db, commands, |key| {
        let meta = engine.get(Cf::Meta, &encoding::meta_key(db, key));
        meta.ok()
            .flatten()
            .and_then(|raw| encoding::Metadata::peek_kind_version(&raw))
            .filter(|(kind, _)| matches!(kind, KeyType::Hash | KeyType::Set | KeyType::ZSet))
            .map(|(_, v)| v)
    });
    if ends.is_empty() {
        return;
    }
    let keys = split_at_ends(&buf, &ends);
    engine.prefetch(Cf::Data, &keys);
}

/// The record keys of the members `commands` (name, argv) will look up,
/// laid end to end (with their ends), given each collection's version
/// (`None`: not a hash, set or sorted set: nothing to load). Asks
/// `version_of` once per run of commands on one key.
fn member_keys<'q>(
    db: u8,
    commands: impl Iterator<Item = (&'static str, &'q [Bytes])>,
    mut version_of: impl FnMut(&[u8]) -> Option<u64>,
) -> (Vec<u8>, Vec<usize>) {
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    // The last collection looked up and its version (runs write one key).
    let mut last: Option<(&[u8], Option<u64>)> = None;
    for (name, argv) in commands {
        let (members, step) = match (name, argv.len()) {
            ("hset" | "hmset", n) if n >= 4 && n % 2 == 0 => (&argv[2..], 2),
            ("hsetnx" | "hget" | "hexists" | "hincrby" | "hincrbyfloat", n) if n >= 3 => {
                (&argv[2..3], 1)
            }
            ("hdel" | "hmget" | "sadd" | "srem" | "sismember" | "smismember", n) if n >= 3 => {
                (&argv[2..], 1)
            }
            ("zrem" | "zmscore", n) if n >= 3 => (&argv[2..], 1),
            ("zscore", 3) => (&argv[2..], 1),
            ("zincrby", 4) => (&argv[3..], 1),
            ("zadd", _) => match zadd_pairs(argv) {
                Some(pairs) => (&pairs[1..], 2),
                None => continue,
            },
            _ => continue,
        };
        let key = &argv[1][..];
        let version = match last {
            Some((k, v)) if k == key => v,
            _ => {
                let v = version_of(key);
                last = Some((key, v));
                v
            }
        };
        let Some(version) = version else { continue };
        for member in members.iter().step_by(step) {
            encoding::push_subkey(&mut buf, db, key, version, member);
            ends.push(buf.len());
        }
    }
    (buf, ends)
}

/// ZADD's `score member ...` pairs after its options, or `None` when
/// they are not whole pairs (the command will fail, nothing to load).
fn zadd_pairs(argv: &[Bytes]) -> Option<&[Bytes]> {
    const OPTIONS: [&[u8]; 6] = [b"nx", b"xx", b"gt", b"lt", b"ch", b"incr"];
    let rest = argv.get(2..)?;
    let skip = rest
        .iter()
        .take_while(|a| OPTIONS.iter().any(|o| a.eq_ignore_ascii_case(o)))
        .count();
    let pairs = &rest[skip..];
    (!pairs.is_empty() && pairs.len() % 2 == 0).then_some(pairs)
}

/// The keys laid end to end in `buf`, each ending at the next of `ends`.
fn split_at_ends<'b>(buf: &'b [u8], ends: &[usize]) -> Vec<&'b [u8]> {
    let mut start = 0;
    ends.iter()
        .map(|&end| {
            let key = &buf[start..end];
            start = end;
            key
        })
        .collect()
}

/// For each queued command, how many pops of one list (LPOP or RPOP of
/// one element, of the same key) start there one after another: counted at
/// the first of them, which reads all their elements at once, and 1
/// elsewhere.
fn pops_ahead(queue: &Queue) -> Vec<usize> {
    let is_pop = |i: usize| {
        let (cmd, argv) = &queue[i];
        matches!(cmd.spec.name, "lpop" | "rpop") && argv.len() == 2
    };
    let same = |i: usize, j: usize| {
        queue[i].0.spec.name == queue[j].0.spec.name && queue[i].1[1] == queue[j].1[1]
    };
    let mut out = vec![1; queue.len()];
    let mut i = 0;
    while i < queue.len() {
        let mut j = i + 1;
        if is_pop(i) {
            while j < queue.len() && is_pop(j) && same(i, j) {
                j += 1;
            }
            out[i] = j - i;
        }
        i = j;
    }
    out
}

/// Runs one command inside the run's unit; its reply waits for the commit.
fn run_one(
    server: &Server,
    client: &mut ClientState,
    cmd: Resolved,
    argv: Vec<Bytes>,
    u: &mut RunUnit<'_>,
) {
    // `dispatch::run_command` records the client's last interaction.
    if !u.answers.is_empty() {
        // Redis reads the clock for each command.
        u.w.set_now_ms(now_ms());
    }
    let reply = dispatch::run_command(server, client, cmd, &argv, &u.w);
    u.w.end_command();
    u.answers.push(Answer {
        reply,
        flags: cmd.spec.flags,
        argv,
    });
}

/// A run's unit in the commit queue, and its commands' replies.
pub struct DeferredRun {
    unit: DeferredUnit,
    answers: Vec<Answer>,
}

/// Queues the run's last unit to share a commit with other connections'
/// (or commits it now when it may not wait). Its replies are written by
/// [`answer_deferred`], which the connection calls before it writes.
fn defer(server: &Server, client: &mut ClientState, u: RunUnit<'_>, out: &mut BytesMut) {
    if !u.w.deferrable() {
        return finish(server, client, Some(u), out);
    }
    let RunUnit {
        w, _gate, answers, ..
    } = u;
    let unit = w.defer();
    client.deferred = Some(DeferredRun { unit, answers });
}

/// Writes the replies of the client's deferred run, committing the queue
/// first if its unit is still in it. Before anything else runs for the
/// client, so replies stay in order.
pub fn answer_deferred(server: &Server, client: &mut ClientState, out: &mut BytesMut) {
    let Some(DeferredRun { unit, answers }) = client.deferred.take() else {
        return;
    };
    let failed = dispatch::committed(server, client, unit.resolve(&server.ks));
    if !client.ready_keys.is_empty() {
        let ready = std::mem::take(&mut client.ready_keys);
        server.blocking.serve(server, ready);
    }
    emit_answers(server, client, answers, failed, out);
}

/// Commits the run's unit, delivers its effects, serves clients blocked on
/// keys it made ready, then writes the replies in order.
fn finish(
    server: &Server,
    client: &mut ClientState,
    unit: Option<RunUnit<'_>>,
    out: &mut BytesMut,
) {
    let Some(RunUnit {
        w, _gate, answers, ..
    }) = unit
    else {
        return;
    };
    let failed = dispatch::commit_and_serve(server, client, w);
    drop(_gate);
    debug_assert!(
        client.block.is_none(),
        "blocking commands do not join a run"
    );
    emit_answers(server, client, answers, failed, out);
}

/// The replies of a run's commands, in order (each the commit's error when
/// it failed), and their MONITOR lines.
fn emit_answers(
    server: &Server,
    client: &mut ClientState,
    mut answers: Vec<Answer>,
    failed: Option<Reply>,
    out: &mut BytesMut,
) {
    for a in answers.drain(..) {
        let reply = failed.clone().unwrap_or(a.reply);
        dispatch::emit(server, client, reply, out);
        super::monitor::feed(server, client, a.flags, &a.argv);
    }
    client.run_lists.keep_answers(answers);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<Bytes> {
        parts
            .iter()
            .map(|p| Bytes::copy_from_slice(p.as_bytes()))
            .collect()
    }

    #[test]
    fn members_read_ahead_are_the_fields_and_members_the_commands_look_up() {
        let commands = [
            ("hset", argv(&["HSET", "h", "f1", "v1", "f2", "v2"])),
            ("hget", argv(&["HGET", "h", "f2"])),
            ("get", argv(&["GET", "h"])),
            ("sadd", argv(&["SADD", "s", "m1", "m2"])),
            ("hget", argv(&["HGET", "gone", "f"])),
            // Wrong arity: the command will fail, nothing to load.
            ("hset", argv(&["HSET", "s", "f3"])),
            ("zadd", argv(&["ZADD", "z", "nx", "CH", "1", "a", "2", "b"])),
            ("zadd", argv(&["ZADD", "z", "xx", "1", "a", "2"])),
            ("zincrby", argv(&["ZINCRBY", "z", "5", "c"])),
            ("zscore", argv(&["ZSCORE", "z", "d"])),
            ("zrem", argv(&["ZREM", "z", "e", "f"])),
        ];
        let mut asked = Vec::new();
        let (buf, ends) = member_keys(3, commands.iter().map(|(n, a)| (*n, a.as_slice())), |key| {
            asked.push(key.to_vec());
            match key {
                b"h" => Some(7),
                b"s" => Some(9),
                b"z" => Some(4),
                _ => None,
            }
        });
        let sub = |key: &[u8], version, member: &[u8]| encoding::subkey(3, key, version, member);
        let want = [
            sub(b"h", 7, b"f1"),
            sub(b"h", 7, b"f2"),
            sub(b"h", 7, b"f2"),
            sub(b"s", 9, b"m1"),
            sub(b"s", 9, b"m2"),
            sub(b"z", 4, b"a"),
            sub(b"z", 4, b"b"),
            sub(b"z", 4, b"c"),
            sub(b"z", 4, b"d"),
            sub(b"z", 4, b"e"),
            sub(b"z", 4, b"f"),
        ];
        assert_eq!(
            split_at_ends(&buf, &ends),
            want.iter().map(|k| &k[..]).collect::<Vec<_>>()
        );
        // One metadata read per run of commands on one key.
        let asked_for = |keys: &[&[u8]]| keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>();
        assert_eq!(asked, asked_for(&[b"h", b"s", b"gone", b"z"]));
    }
}
