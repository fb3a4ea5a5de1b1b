//! Commands: the table (data, as in Redis's `commands.def`) and one file per
//! family. A handler parses its arguments, calls the types layer and returns
//! a [`Reply`]; it never touches sockets.
//!
//! Path of a request: `server::connection` parses it, [`CommandTable::lookup`]
//! finds the spec, `server::dispatch` runs the checks Redis runs (arity,
//! auth, ...) and calls the handler with a [`Ctx`].

pub mod args;
pub mod blocking;
pub mod client;
pub mod command_docs;
pub mod config;
pub mod connection;
pub mod dump;
pub mod events;
pub mod hash;
pub mod info;
pub mod keys;
pub mod latency;
pub mod list;
pub mod memory;
pub mod pubsub;
pub mod repl;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod string;
pub mod tx;
pub mod zset;
pub mod zset_range;

use rustc_hash::FxHashMap;

use bytes::Bytes;

use crate::resp::Reply;
use crate::server::client::ClientState;
use crate::server::Server;
use crate::types::{TypeError, WriteContext};

/// The live encoding thresholds (`hash-max-listpack-*`,
/// `set-max-intset-entries`), so written and loaded keys report the
/// encodings Redis would choose under this configuration.
pub fn encoding_limits(config: &crate::config::ConfigStore) -> crate::types::bulk::EncodingLimits {
    config.settings().encoding
}

/// Command flags, named as in Redis's COMMAND INFO output.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    pub const SENTINEL: u32 = 1 << 16;
    /// Keys are found by parsing the arguments (numkeys, SORT's BY/GET/STORE).
    pub const MOVABLEKEYS: u32 = 1 << 17;
    /// Strata-only: runs alone (takes the keyspace gate exclusively).
    pub const EXCLUSIVE: u32 = 1 << 31;

    /// `(flag, name)` in the order COMMAND INFO prints them.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        // may_replicate is hidden from COMMAND INFO on purpose, as in Redis.
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
        // Redis appends it after the others.
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// Where the keys are in the arguments (argv[0] is the command name).
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub first: i32,
    /// Negative counts from the end (-1 = last argument).
    pub last: i32,
    pub step: i32,
}

impl KeySpec {
    pub const NONE: KeySpec = KeySpec {
        first: 0,
        last: 0,
        step: 0,
    };
    pub const ONE: KeySpec = KeySpec {
        first: 1,
        last: 1,
        step: 1,
    };
    pub const ALL: KeySpec = KeySpec {
        first: 1,
        last: -1,
        step: 1,
    };
}

pub type CmdResult = Result<Reply, CmdError>;
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

/// One row of the command table.
pub struct CommandSpec {
    /// Lowercase name (for subcommands, the subcommand alone: `kill`).
    pub name: &'static str,
    /// Redis arity: `n` = exactly n arguments including the name, `-n` = at least n.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    /// Redis's command group (`string`, `generic`, `connection`, `server`, ...).
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// For commands whose keys follow a count (`LMPOP numkeys key ...`,
    /// `ZUNIONSTORE dst numkeys key ...`): the argument index of the count.
    pub numkeys_at: Option<usize>,
    /// `None` for container commands (CLIENT, CONFIG, ...), which dispatch on `subcommands`.
    pub handler: Option<Handler>,
    pub subcommands: &'static [CommandSpec],
}

impl CommandSpec {
    /// Defaults for struct-update syntax in the family tables.
    pub const BASE: CommandSpec = CommandSpec {
        name: "",
        arity: 1,
        flags: 0,
        keys: KeySpec::NONE,
        group: "generic",
        since: "1.0.0",
        summary: "",
        complexity: "O(1)",
        numkeys_at: None,
        handler: None,
        subcommands: &[],
    };

    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
    /// The key arguments of `argv` (argv[0] is the command name), from the
    /// key spec, the numkeys count and SORT's STORE; `None` when a numkeys
    /// count is not valid.
    pub fn key_args<'b>(&self, argv: &'b [Bytes]) -> Option<Vec<&'b Bytes>> {
        let k = self.keys;
        let mut keys = Vec::new();
        if k.first > 0 {
            let argc = argv.len() as i32;
            let last = if k.last < 0 { argc + k.last } else { k.last };
            let step = k.step.max(1);
            let mut i = k.first;
            while i <= last && i < argc {
                keys.push(&argv[i as usize]);
                i += step;
            }
        }
        if self.name == "sort" || self.name == "sort_ro" {
            keys.extend(command_docs::sort_store_key(argv));
        }
        if let Some(at) = self.numkeys_at {
            let n = argv
                .get(at)
                .and_then(|a| crate::resp::parse::parse_i64(a))
                .filter(|&n| n > 0 && (n as usize) < argv.len() - at)?;
            keys.extend(argv[at + 1..at + 1 + n as usize].iter());
        }
        Some(keys)
    }

    /// The key of a command whose one key is its first argument (GET, SET,
    /// LPUSH, HSET, ...), without building [`key_args`](Self::key_args)'s
    /// vector; `None` for every other shape.
    pub fn single_key<'b>(&self, argv: &'b [Bytes]) -> Option<&'b Bytes> {
        let k = self.keys;
        let plain = k.first == 1 && k.last == 1 && self.numkeys_at.is_none();
        if plain && self.name != "sort" && self.name != "sort_ro" {
            argv.get(1)
        } else {
            None
        }
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }
}

/// A command's error. The `Display` text is the whole error line after `-`.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    #[error("ERR DB index is out of range")]
    DbIndexOutOfRange,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error(transparent)]
    Type(#[from] TypeError),
    /// Any other error, given as its full line (e.g. `ERR invalid expire time in 'set' command`).
    #[error("{0}")]
    Msg(String),
}

impl From<CmdError> for Reply {
    fn from(e: CmdError) -> Self {
        Reply::Error(e.to_string())
    }
}

impl CmdError {
    pub fn msg(s: impl Into<String>) -> CmdError {
        CmdError::Msg(s.into())
    }
}

/// What a command needs while it runs: the server, the state of the client
/// it runs for (a connection, EXEC, later a script or a replication link),
/// and the write context of the unit it belongs to.
pub struct Ctx<'a> {
    pub server: &'a Server,
    pub client: &'a mut ClientState,
    pub cmd: Resolved,
    /// The unit's write context: every read and write of data goes through it.
    pub w: &'a WriteContext<'a>,
    /// Set when the handler propagated its own (rewritten) form, so the
    /// command is not propagated verbatim.
    pub rewritten: bool,
}

impl<'a> Ctx<'a> {
    /// The unit's write context (reads and writes of data).
    pub fn ks(&self) -> &'a WriteContext<'a> {
        self.w
    }

    /// Propagates `argv` instead of the command as the client sent it
    /// (Redis's `rewriteClientCommandVector` / `alsoPropagate`): the
    /// deterministic form replicas must apply. May be called several times.
    pub fn propagate(&mut self, argv: Vec<Bytes>) {
        self.w.propagate(self.client.db, argv);
        self.rewritten = true;
    }

    /// Propagates nothing for this command even if it changed data.
    pub fn propagate_nothing(&mut self) {
        self.rewritten = true;
    }
    /// The physical id of the client's selected database.
    pub fn db(&self) -> u8 {
        self.w.physical(self.client.db)
    }
    /// Marks `key` of physical db `db` as possibly able to serve clients
    /// blocked on it (Redis's `signalKeyAsReady`). Call it after a committed
    /// write that added elements to a list or sorted set: pushes, LMOVE and
    /// ZADD targets, RENAME/MOVE/COPY/SORT STORE destinations.
    pub fn key_ready(&mut self, db: u8, key: &[u8]) {
        // Blocked clients wait on logical databases (what they SELECTed).
        if let Some(logical) = self.server.ks.logical(db) {
            self.client
                .ready_keys
                .push((logical as u8, Bytes::copy_from_slice(key)));
        }
    }
    /// Makes the client wait on `keys` (logical db, key) until `serve`
    /// succeeds on one of them or the deadline passes. The reply returned
    /// here is discarded; the real one comes from `serve` or `timeout_reply`.
    pub fn block_on(
        &mut self,
        keys: Vec<(u8, Bytes)>,
        deadline: Option<std::time::Instant>,
        serve: crate::server::blocking::ServeFn,
        timeout_reply: Reply,
    ) -> CmdResult {
        self.client.block = Some(crate::server::blocking::BlockRequest {
            keys,
            deadline,
            serve,
            timeout_reply,
        });
        Ok(Reply::Nil)
    }
    pub fn wrong_arity(&self) -> CmdError {
        CmdError::WrongArity(self.server.commands.fullname(self.cmd.id).to_string())
    }
    /// `ERR unknown subcommand 'x'. Try CLIENT HELP.` for container commands.
    pub fn unknown_subcommand(&self, sub: &[u8]) -> CmdError {
        let container = self
            .cmd
            .parent
            .unwrap_or(self.cmd.spec)
            .name
            .to_ascii_uppercase();
        CmdError::Msg(format!(
            "ERR unknown subcommand '{}'. Try {} HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)]),
            container
        ))
    }
}

/// All commands, looked up case-insensitively.
pub struct CommandTable {
    /// Lower-case name -> spec and id: one Fx-hashed lookup resolves a
    /// command without subcommands (every request's path).
    by_name: FxHashMap<&'static [u8], (&'static CommandSpec, usize)>,
    /// spec address -> id; ids index `fullnames` and per-command statistics.
    ids: FxHashMap<usize, usize>,
    fullnames: Vec<String>,
    /// id -> spec.
    specs: Vec<&'static CommandSpec>,
}

/// A resolved command: the spec, its container (for subcommands) and its id.
#[derive(Clone, Copy)]
pub struct Resolved {
    pub spec: &'static CommandSpec,
    pub parent: Option<&'static CommandSpec>,
    pub id: usize,
}

/// Counts a keyspace hit or miss for a read of a key, as Redis's
/// `lookupKeyRead` does: `found` says whether the result found the key; a key
/// of the wrong type is a hit; other errors count nothing.
pub(crate) fn count_lookup<T>(
    ctx: &Ctx<'_>,
    r: &crate::types::TypeResult<T>,
    found: impl Fn(&T) -> bool,
) {
    match r {
        Ok(v) => ctx.server.stats.hit(found(v)),
        Err(crate::types::TypeError::WrongType) => ctx.server.stats.hit(true),
        Err(_) => {}
    }
}

/// Counts INFO keyspace hits and misses for a read of `key`, as Redis's
/// `lookupKeyRead` does (a key of another type is a hit), for commands whose
/// own lookup cannot tell a missing key from an empty answer.
pub(crate) fn count_read(ctx: &Ctx<'_>, key: &[u8]) {
    let r = ctx.ks().get_live(ctx.db(), key);
    count_lookup(ctx, &r, Option::is_some);
}

/// Counts keyspace hits and misses for reads of `keys` in order, as Redis's
/// multi-key reads (SINTER, ZUNION, ...) do: each is looked up, and the walk
/// stops after the first live key whose type is not in `allowed` (the
/// command then fails with WRONGTYPE).
pub(crate) fn count_reads(ctx: &Ctx<'_>, keys: &[Bytes], allowed: &[crate::types::KeyType]) {
    for k in keys {
        let r = ctx.ks().get_live(ctx.db(), k);
        count_lookup(ctx, &r, Option::is_some);
        if let Ok(Some(meta)) = &r {
            if !allowed.contains(&meta.kind) {
                return;
            }
        }
    }
}

/// The families, in the order COMMAND lists them.
pub fn families() -> [&'static [CommandSpec]; 20] {
    [
        connection::COMMANDS,
        keys::COMMANDS,
        dump::COMMANDS,
        string::COMMANDS,
        hash::COMMANDS,
        list::COMMANDS,
        blocking::COMMANDS,
        set::COMMANDS,
        sort::COMMANDS,
        server::COMMANDS,
        client::COMMANDS,
        config::COMMANDS,
        command_docs::COMMANDS,
        zset::COMMANDS,
        tx::COMMANDS,
        repl::COMMANDS,
        memory::COMMANDS,
        slowlog::COMMANDS,
        latency::COMMANDS,
        pubsub::COMMANDS,
    ]
}

impl Default for CommandTable {
    fn default() -> Self {
        let mut t = CommandTable {
            by_name: FxHashMap::default(),
            ids: FxHashMap::default(),
            fullnames: Vec::new(),
            specs: Vec::new(),
        };
        for fam in families() {
            for spec in fam {
                // The same id under both maps: by name for requests, by
                // address for `resolved` (subcommands, callers with a spec).
                let id = t.fullnames.len();
                t.by_name.insert(spec.name.as_bytes(), (spec, id));
                t.ids.insert(spec as *const _ as usize, id);
                t.fullnames.push(spec.name.to_string());
                t.specs.push(spec);
                for sub in spec.subcommands {
                    t.ids.insert(sub as *const _ as usize, t.fullnames.len());
                    t.fullnames.push(format!("{}|{}", spec.name, sub.name));
                    t.specs.push(sub);
                }
            }
        }
        t
    }
}

/// Why a request did not resolve to a command.
pub enum LookupError {
    Unknown,
    UnknownSubcommand,
}

impl CommandTable {
    pub fn get(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.entry(name).map(|(spec, _)| spec)
    }

    /// The command named `name` (any case) and its id.
    fn entry(&self, name: &[u8]) -> Option<(&'static CommandSpec, usize)> {
        let mut buf = [0u8; 32];
        if name.len() > buf.len() {
            return None;
        }
        for (d, s) in buf.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.by_name.get(&buf[..name.len()]).copied()
    }

    /// Resolves argv to a command or subcommand, as Redis's `lookupCommand`.
    pub fn lookup(&self, argv: &[Bytes]) -> Result<Resolved, LookupError> {
        let (base, id) = self.entry(&argv[0]).ok_or(LookupError::Unknown)?;
        if base.subcommands.is_empty() || argv.len() < 2 {
            return Ok(Resolved {
                spec: base,
                parent: None,
                id,
            });
        }
        let sub = base
            .subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(&argv[1]))
            .ok_or(LookupError::UnknownSubcommand)?;
        Ok(self.resolved(sub, Some(base)))
    }

    pub fn resolved(
        &self,
        spec: &'static CommandSpec,
        parent: Option<&'static CommandSpec>,
    ) -> Resolved {
        Resolved {
            spec,
            parent,
            id: self.id_of(spec),
        }
    }

    pub fn id_of(&self, spec: &'static CommandSpec) -> usize {
        self.ids[&(spec as *const _ as usize)]
    }

    /// `get`, or `client|kill` for a subcommand.
    pub fn fullname(&self, id: usize) -> &str {
        &self.fullnames[id]
    }

    /// The command or subcommand of id `id`.
    pub fn spec(&self, id: usize) -> &'static CommandSpec {
        self.specs[id]
    }

    /// Number of commands and subcommands (the size of per-command statistics).
    pub fn ids(&self) -> usize {
        self.fullnames.len()
    }

    pub fn all(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        families().into_iter().flat_map(|f| f.iter())
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lookup by name, in any case, resolves to the spec's own id (the one
    /// its statistics are kept under), as `resolved` does.
    #[test]
    fn lookup_by_name_carries_the_specs_id() {
        let table = CommandTable::default();
        for spec in table.all() {
            let upper = Bytes::from(spec.name.to_ascii_uppercase());
            let Ok(r) = table.lookup(&[upper]) else {
                panic!("{} not found", spec.name);
            };
            assert!(std::ptr::eq(r.spec, spec), "{}", spec.name);
            assert_eq!(r.id, table.id_of(spec), "{}", spec.name);
            assert_eq!(table.fullname(r.id), spec.name);
        }
        assert!(table.lookup(&[Bytes::from_static(b"\xffget")]).is_err());
    }

    /// The allocation-free key of the pipeline's lock step is the one key
    /// `key_args` finds, for every command and argument count.
    #[test]
    fn single_key_agrees_with_key_args() {
        let table = CommandTable::default();
        let args: Vec<Bytes> = ["cmd", "k1", "2", "k3", "STORE", "k5", "6"]
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();
        let mut seen = 0;
        for spec in table.all() {
            for n in 1..=args.len() {
                let argv = &args[..n];
                if let Some(key) = spec.single_key(argv) {
                    seen += 1;
                    let keys = spec.key_args(argv).expect("no numkeys");
                    assert_eq!(keys, vec![key], "{} with {n} arguments", spec.name);
                }
            }
        }
        assert!(seen > 100, "only {seen} single-key shapes");
    }
}
