//! Server commands: INFO (text built in `info.rs`), TIME, LASTSAVE, SAVE,
//! BGSAVE, SHUTDOWN, ROLE and DEBUG.
//!
//! Persistence differs from Redis by design: every acknowledged write is
//! already in RocksDB's write-ahead log, so there is no snapshot to take.
//! SAVE therefore means "make everything durable now": flush the memtables to
//! SST files and fsync the WAL, then record the save time. BGSAVE does the
//! same work on a background thread and replies at once.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::flags::*;
use super::{args, info, CmdError, CmdResult, CommandSpec, Ctx};
use crate::resp::Reply;
use crate::server::stats::SaveState;
use crate::server::Server;
use crate::types::{now_ms, now_us, KeyType, Keyspace, TypeError};

const SRV: CommandSpec = CommandSpec {
    group: "server",
    ..CommandSpec::BASE
};

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "info",
        arity: -1,
        flags: LOADING | STALE | SENTINEL,
        summary: "Reports server state and statistics, by section",
        complexity: "O(1)",
        handler: Some(info::info),
        ..SRV
    },
    CommandSpec {
        name: "time",
        arity: 1,
        flags: LOADING | STALE | FAST,
        since: "2.6.0",
        summary: "Returns the server clock as unix seconds and microseconds",
        handler: Some(time),
        ..SRV
    },
    CommandSpec {
        name: "lastsave",
        arity: 1,
        flags: LOADING | STALE | FAST,
        summary: "Returns the unix time of the last successful save",
        handler: Some(lastsave),
        ..SRV
    },
    CommandSpec {
        name: "save",
        arity: 1,
        flags: ADMIN | NOSCRIPT | NO_MULTI,
        summary: "Makes all data durable on disk before replying",
        complexity: "O(N) where N is the amount of unflushed data",
        handler: Some(save),
        ..SRV
    },
    CommandSpec {
        name: "bgsave",
        arity: -1,
        flags: ADMIN | NOSCRIPT,
        summary: "Makes all data durable on disk in the background",
        complexity: "O(N) where N is the amount of unflushed data",
        handler: Some(bgsave),
        ..SRV
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        flags: ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        summary: "Makes data durable, closes every connection and exits",
        complexity: "O(N) where N is the number of connected clients",
        handler: Some(shutdown),
        ..SRV
    },
    CommandSpec {
        name: "role",
        arity: 1,
        flags: NOSCRIPT | LOADING | STALE | FAST | SENTINEL,
        since: "2.8.12",
        summary: "Returns the replication role of this server",
        handler: Some(role),
        ..SRV
    },
    CommandSpec {
        name: "debug",
        arity: -2,
        flags: ADMIN | NOSCRIPT | LOADING | STALE,
        summary: "Debugging and testing helpers",
        complexity: "Depends on subcommand.",
        handler: Some(debug),
        ..SRV
    },
];

fn time(_ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let us = now_us();
    Ok(Reply::Array(vec![
        Reply::bulk_str(&(us / 1_000_000).to_string()),
        Reply::bulk_str(&(us % 1_000_000).to_string()),
    ]))
}

/// Unix seconds of the last successful SAVE or BGSAVE (server start if none).
pub fn last_save(srv: &Server) -> u64 {
    let t = srv.stats.save.last_save_unix.load(Ordering::Relaxed);
    srv.last_save_unix.fetch_max(t, Ordering::Relaxed).max(t)
}

fn lastsave(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    Ok(Reply::Integer(last_save(ctx.server) as i64))
}

/// Flushes memtables and fsyncs the WAL; on success records the save.
fn make_durable(ks: &Keyspace, state: &SaveState) -> Result<(), TypeError> {
    let seq = ks.committed();
    let result = ks.engine().flush().and_then(|_| ks.engine().sync_wal());
    state.last_ok.store(result.is_ok(), Ordering::Relaxed);
    result?;
    state.saves.fetch_add(1, Ordering::Relaxed);
    state.last_save_seq.fetch_max(seq, Ordering::Relaxed);
    state
        .last_save_unix
        .store(now_ms() / 1000, Ordering::Relaxed);
    Ok(())
}

fn already_saving() -> CmdError {
    CmdError::msg("ERR Background save already in progress")
}

fn save(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let state = &ctx.server.stats.save;
    if state.in_progress.load(Ordering::Acquire) {
        return Err(already_saving());
    }
    let ks = &ctx.server.ks;
    // The flush blocks; let the runtime move other connections off this thread.
    tokio::task::block_in_place(|| make_durable(ks, state))?;
    last_save(ctx.server);
    Ok(Reply::Ok)
}

fn bgsave(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if argv.len() > 2 || (argv.len() == 2 && !args::is(&argv[1], "schedule")) {
        return Err(CmdError::Syntax);
    }
    let state = ctx.server.stats.save.clone();
    if state.in_progress.swap(true, Ordering::AcqRel) {
        return Err(already_saving());
    }
    let ks = ctx.server.ks.clone();
    let spawned = std::thread::Builder::new()
        .name("bgsave".into())
        .spawn(move || run_bgsave(&ks, &state));
    if let Err(e) = spawned {
        ctx.server
            .stats
            .save
            .in_progress
            .store(false, Ordering::Release);
        return Err(CmdError::msg(format!("ERR Background save failed: {e}")));
    }
    Ok(Reply::status("Background saving started"))
}

fn run_bgsave(ks: &Arc<Keyspace>, state: &Arc<SaveState>) {
    let started = Instant::now();
    match make_durable(ks, state) {
        Ok(()) => tracing::info!("Background saving terminated with success"),
        Err(e) => tracing::warn!("Background saving error: {e}"),
    }
    state
        .last_bgsave_secs
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    state.in_progress.store(false, Ordering::Release);
}

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]. Strata's data is always in
/// the WAL, and a clean shutdown always flushes, so NOSAVE/SAVE/NOW/FORCE
/// only pass validation. A successful SHUTDOWN sends no reply.
fn shutdown(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for a in &argv[1..] {
        if args::is(a, "nosave") {
            nosave = true;
        } else if args::is(a, "save") {
            save = true;
        } else if args::is(a, "now") || args::is(a, "force") {
            other = true;
        } else if args::is(a, "abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Shutdown is never pending: it starts as soon as it is asked for.
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    ctx.server.request_shutdown();
    ctx.client.close_after_reply = true;
    Ok(Reply::Raw(Bytes::new()))
}

fn role(ctx: &mut Ctx<'_>, _argv: &[Bytes]) -> CmdResult {
    let link = &ctx.server.replica_link;
    if let Some(status) = link.status() {
        // `slave host port state offset`: the offset only while connected.
        let connected = status.phase == crate::repl::link::LinkPhase::Connected;
        let offset = link
            .data()
            .and_then(|d| d.position())
            .filter(|_| connected)
            .map_or(-1, |p| p.offset as i64);
        return Ok(Reply::Array(vec![
            Reply::bulk_str("slave"),
            Reply::bulk(status.target.host.clone()),
            Reply::Integer(i64::from(status.target.port)),
            Reply::bulk_str(status.phase.role_name()),
            Reply::Integer(offset),
        ]));
    }
    // `master offset [[ip port acked-offset] ...]`, online replicas only.
    let online = ctx
        .server
        .replicas
        .all()
        .into_iter()
        .filter(|r| r.state() == crate::repl::replicas::ReplicaState::Online)
        .map(|r| {
            Reply::Array(vec![
                Reply::bulk(r.ip.clone()),
                Reply::bulk(r.port.to_string()),
                Reply::bulk(
                    r.ack_offset
                        .load(std::sync::atomic::Ordering::Relaxed)
                        .to_string(),
                ),
            ])
        })
        .collect();
    Ok(Reply::Array(vec![
        Reply::bulk_str("master"),
        Reply::Integer(ctx.server.ks.offset() as i64),
        Reply::Array(online),
    ]))
}

/// Whether `enable-debug-command` (no | yes | local) allows this client.
fn debug_allowed(ctx: &Ctx<'_>) -> bool {
    match ctx.server.config.get("enable-debug-command").as_deref() {
        Some("yes") => true,
        Some("local") => ctx.client.info.addr.ip().is_loopback(),
        _ => false,
    }
}

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

/// C's `strtod` prefix parse as DEBUG SLEEP uses it: junk reads as 0.
fn strtod_prefix(arg: &[u8]) -> f64 {
    let s = String::from_utf8_lossy(arg);
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit() || *c == '.' || ((*c == '-' || *c == '+') && *i == 0)
        })
        .count();
    s[..end].parse().unwrap_or(0.0)
}

/// C's `atoi`: leading integer, 0 when there is none.
fn atoi(arg: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(arg);
    let s = s.trim_start();
    let end = s
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_digit() || ((*c == '-' || *c == '+') && *i == 0))
        .count();
    s[..end].parse().unwrap_or(0)
}

/// Redis's object encoding name for a key, from what the metadata tells.
fn encoding_name(kind: KeyType, size: u64, payload: &[u8]) -> &'static str {
    match kind {
        KeyType::String => {
            let canonical_int = crate::resp::parse::parse_i64(payload)
                .is_some_and(|n| n.to_string().as_bytes() == payload);
            if canonical_int {
                "int"
            } else if payload.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        KeyType::Hash if size <= 128 => "listpack",
        KeyType::Hash => "hashtable",
        KeyType::List => "quicklist",
        KeyType::Set => "hashtable",
        KeyType::ZSet if size <= 128 => "listpack",
        KeyType::ZSet => "skiplist",
    }
}

fn debug(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(CmdError::msg(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
             you can run it from a local connection, otherwise you need to set this option in the \
             configuration file, and then restart the server.",
        ));
    }
    debug_subcommand(ctx, argv)
}

/// DEBUG once `enable-debug-command` allowed it.
fn debug_subcommand(ctx: &mut Ctx<'_>, argv: &[Bytes]) -> CmdResult {
    let sub = &argv[1];
    match argv.len() {
        2 if args::is(sub, "help") => Ok(super::client::help_reply(DEBUG_HELP)),
        3 if args::is(sub, "sleep") => {
            let secs = strtod_prefix(&argv[2]);
            if secs > 0.0 && secs.is_finite() {
                let d = Duration::from_secs_f64(secs.min(1e9));
                // Blocks this connection only; Redis would block the whole server.
                tokio::task::block_in_place(|| std::thread::sleep(d));
            }
            Ok(Reply::Ok)
        }
        3 if args::is(sub, "set-active-expire") => {
            ctx.server
                .ks
                .active_expire
                .store(atoi(&argv[2]) != 0, Ordering::Relaxed);
            Ok(Reply::Ok)
        }
        3 if args::is(sub, "object") => {
            let meta = ctx
                .ks()
                .get_live(ctx.db(), &argv[2])?
                .ok_or(CmdError::NoSuchKey)?;
            let serialized = if meta.kind == KeyType::String {
                meta.payload.len() as u64
            } else {
                meta.size
            };
            let lru = (now_ms() / 1000) & ((1 << 24) - 1);
            Ok(Reply::Status(Bytes::from(format!(
                "Value at:0x{:x} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:0",
                meta.version,
                encoding_name(meta.kind, meta.size, &meta.payload),
                serialized,
                lru
            ))))
        }
        _ => Err(CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(&sub[..sub.len().min(128)])
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::client::{ClientInfo, ClientState};

    #[test]
    fn c_number_prefixes() {
        assert_eq!(strtod_prefix(b"0.5"), 0.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b"2x"), 2.0);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-3z"), -3);
    }

    fn run(server: &Server, client: &mut ClientState, args: &[&str]) -> CmdResult {
        let argv: Vec<Bytes> = args
            .iter()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let Ok(cmd) = server.commands.lookup(&argv) else {
            panic!("unknown command {args:?}");
        };
        let w = crate::types::WriteContext::new(&server.ks, crate::types::now_ms());
        let mut ctx = Ctx {
            server,
            client,
            cmd,
            w: &w,
            rewritten: false,
        };
        let reply = debug_subcommand(&mut ctx, &argv);
        w.commit().expect("commit");
        reply
    }

    #[test]
    fn debug_subcommands_once_enabled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = crate::config::ConfigStore::defaults();
        config
            .load_directive("dir", &[dir.path().display().to_string()])
            .expect("dir");
        let server = Server::open(config).expect("open");
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], 1).into();
        let info = Arc::new(ClientInfo::new(1, addr, addr, -1));
        let mut client = ClientState::new(info, true);
        let w = crate::types::WriteContext::new(&server.ks, crate::types::now_ms());
        crate::types::string::set(&w, 0, b"k", Bytes::from_static(b"hello")).expect("set");
        w.commit().expect("commit");

        let line = match run(&server, &mut client, &["debug", "object", "k"]) {
            Ok(Reply::Status(s)) => String::from_utf8_lossy(&s).into_owned(),
            other => panic!("{other:?}"),
        };
        assert!(line.starts_with("Value at:0x"), "{line}");
        assert!(
            line.contains(" refcount:1 encoding:embstr serializedlength:5 lru:"),
            "{line}"
        );
        assert!(line.ends_with(" lru_seconds_idle:0"), "{line}");
        assert!(matches!(
            run(&server, &mut client, &["debug", "object", "nokey"]),
            Err(CmdError::NoSuchKey)
        ));

        assert_eq!(
            run(&server, &mut client, &["debug", "set-active-expire", "0"]).ok(),
            Some(Reply::Ok)
        );
        assert!(!server.ks.active_expire.load(Ordering::Relaxed));
        assert_eq!(
            run(&server, &mut client, &["debug", "set-active-expire", "1"]).ok(),
            Some(Reply::Ok)
        );
        assert!(server.ks.active_expire.load(Ordering::Relaxed));

        let t = Instant::now();
        assert_eq!(
            run(&server, &mut client, &["debug", "sleep", "0.05"]).ok(),
            Some(Reply::Ok)
        );
        assert!(t.elapsed() >= Duration::from_millis(50));
        assert_eq!(
            run(&server, &mut client, &["debug", "sleep", "junk"]).ok(),
            Some(Reply::Ok)
        );

        assert!(matches!(
            run(&server, &mut client, &["debug", "help"]),
            Ok(Reply::Array(lines)) if lines.len() == DEBUG_HELP.len()
        ));
        match run(&server, &mut client, &["debug", "Sleep"]) {
            Err(CmdError::Msg(m)) => assert_eq!(
                m,
                "ERR unknown subcommand or wrong number of arguments for 'Sleep'. Try DEBUG HELP."
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn string_encodings() {
        assert_eq!(encoding_name(KeyType::String, 0, b"123"), "int");
        assert_eq!(encoding_name(KeyType::String, 0, b"0123"), "embstr");
        assert_eq!(encoding_name(KeyType::String, 0, &[b'a'; 45]), "raw");
    }
}
