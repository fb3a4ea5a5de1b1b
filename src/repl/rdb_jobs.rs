//! The RDBs of full resynchronisations, shared by the replicas that need
//! one at about the same time, as Redis shares one BGSAVE child.
//!
//! - Diskless (`$EOF:` framing): the first replica opens a gathering that
//!   lasts `repl-diskless-sync-delay` seconds (or until
//!   `repl-diskless-sync-max-replicas` replicas joined); then one snapshot
//!   is taken and one writer thread encodes it once, handing every chunk to
//!   each member's bounded channel. The slowest member sets the pace, as
//!   with Redis's pipe; a member that goes away is dropped, and the writer
//!   stops when none is left. Replicas arriving after the start wait for
//!   the next gathering.
//! - Disk (`$<len>` framing): a replica arriving while an RDB file is being
//!   written joins it (same snapshot, same offset), as Redis's "Waiting for
//!   end of BGSAVE for SYNC"; each member then sends the finished file at
//!   its own pace. The file is removed when its last member is done.
//!
//! Every snapshot is read in key order on a thread of its own, so writes
//! never stop and the dataset is never loaded into memory.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch, Notify};

use super::snapshot_rdb::{self, RdbHeader};
use crate::engine::EngineSnapshot;
use crate::server::Server;
use crate::types::backlog::ReplPosition;

/// Chunks in flight between the writer thread and one member.
const RDB_CHUNKS: usize = 8;
const RDB_CHUNK_BYTES: usize = 64 * 1024;
const EOF_MARK_LEN: usize = 40;

/// What a diskless member receives, in order: `Start`, the chunks, `End`.
/// A channel closed before `End` means the writer failed.
#[derive(Debug)]
pub enum Feed {
    /// The snapshot was taken: the RDB reflects `position`; the payload is
    /// framed by `$EOF:<mark>` and ends with the mark.
    Start {
        position: ReplPosition,
        mark: String,
    },
    Chunk(Bytes),
    /// All chunks were handed over: the RDB's size, or why it failed.
    End(Result<u64, String>),
}

/// One RDB file written from one snapshot.
pub struct DiskRdb {
    pub position: ReplPosition,
    pub path: PathBuf,
    /// `Some` once the file is complete (its size) or failed.
    done: watch::Receiver<Option<Result<u64, String>>>,
}

impl DiskRdb {
    /// Waits until the file is written: its size, or why it failed.
    pub async fn finished(&self) -> Result<u64, String> {
        let mut done = self.done.clone();
        loop {
            if let Some(r) = done.borrow_and_update().clone() {
                return r;
            }
            if done.changed().await.is_err() {
                return Err("the writer thread died".into());
            }
        }
    }
}

impl Drop for DiskRdb {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Gathering {
    members: Vec<mpsc::Sender<Feed>>,
    joined: Arc<Notify>,
}

/// The RDB productions in progress (one per server).
#[derive(Default)]
pub struct RdbJobs {
    gathering: Mutex<Option<Gathering>>,
    disk: Mutex<Weak<DiskRdb>>,
    /// RDBs being produced right now (INFO persistence's
    /// `rdb_bgsave_in_progress`).
    pub in_progress: Arc<AtomicU64>,
    /// Snapshots taken for replicas (a test sees the sharing through it).
    pub snapshots: AtomicU64,
    file_seq: AtomicU64,
}

impl RdbJobs {
    /// A diskless full sync: joins the open gathering or opens one.
    pub fn join_diskless(&self, server: &Arc<Server>) -> mpsc::Receiver<Feed> {
        let (tx, rx) = mpsc::channel(RDB_CHUNKS);
        let mut g = self.gathering.lock();
        match g.as_mut() {
            Some(open) => {
                open.members.push(tx);
                open.joined.notify_one();
            }
            None => {
                let joined = Arc::new(Notify::new());
                *g = Some(Gathering {
                    members: vec![tx],
                    joined: joined.clone(),
                });
                tokio::spawn(start_diskless(server.clone(), joined));
            }
        }
        rx
    }

    /// A disk-based full sync: the RDB file being written, or a new one.
    pub fn join_disk(&self, server: &Arc<Server>) -> Arc<DiskRdb> {
        let mut current = self.disk.lock();
        if let Some(job) = current.upgrade() {
            if job.done.borrow().is_none() {
                tracing::info!("Waiting for end of BGSAVE for SYNC");
                return job;
            }
        }
        let job = start_disk(server, self.file_seq.fetch_add(1, Ordering::Relaxed));
        *current = Arc::downgrade(&job);
        job
    }
}

fn header(position: &ReplPosition, stream_db: Option<usize>) -> RdbHeader {
    RdbHeader {
        redis_ver: crate::cmd::connection::REDIS_VERSION,
        ctime: (crate::types::now_ms() / 1000) as i64,
        used_mem: crate::cmd::info::rss_bytes(),
        position: position.clone(),
        stream_db: stream_db.unwrap_or(0) as u32,
    }
}

fn setting(server: &Server, name: &str, default: u64) -> u64 {
    server
        .config
        .get(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Waits out the gathering, then takes one snapshot and encodes it once
/// for every member.
async fn start_diskless(server: Arc<Server>, joined: Arc<Notify>) {
    let delay = Duration::from_secs(setting(&server, "repl-diskless-sync-delay", 5));
    let max = setting(&server, "repl-diskless-sync-max-replicas", 0) as usize;
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        let count = server
            .replicas
            .rdb_jobs
            .gathering
            .lock()
            .as_ref()
            .map_or(0, |g| g.members.len());
        if max > 0 && count >= max {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(deadline) => break,
            _ = joined.notified() => {}
        }
    }
    let Some(gathering) = server.replicas.rdb_jobs.gathering.lock().take() else {
        return;
    };
    let jobs = &server.replicas.rdb_jobs;
    let (snap, position, stream_db) = server.ks.sync_snapshot();
    jobs.snapshots.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        "Starting BGSAVE for SYNC with target: replicas sockets ({} replicas, snapshot at offset {})",
        gathering.members.len(),
        position.offset
    );
    let mark: String = (0..EOF_MARK_LEN)
        .map(|_| format!("{:x}", rand::random::<u8>() & 0xf))
        .collect();
    let mut members = Vec::with_capacity(gathering.members.len());
    for m in gathering.members {
        let start = Feed::Start {
            position: position.clone(),
            mark: mark.clone(),
        };
        if m.send(start).await.is_ok() {
            members.push(m);
        }
    }
    if members.is_empty() {
        return;
    }
    let header = header(&position, stream_db);
    let (opts, checksum) = snapshot_rdb::encode_options(&server.config);
    let databases = server.ks.databases();
    let in_progress = jobs.in_progress.clone();
    in_progress.fetch_add(1, Ordering::Relaxed);
    std::thread::spawn(move || {
        let out = std::io::BufWriter::with_capacity(RDB_CHUNK_BYTES, Broadcast(members));
        let written =
            snapshot_rdb::write_snapshot(snap.as_ref(), databases, &header, opts, checksum, out);
        in_progress.fetch_sub(1, Ordering::Relaxed);
        match written {
            Ok((out, n)) => {
                if let Ok(Broadcast(members)) = out.into_inner() {
                    for m in members {
                        let _ = m.blocking_send(Feed::End(Ok(n)));
                    }
                }
            }
            // The members' channels close with the writer: they fail.
            Err(e) => tracing::warn!("writing the RDB for replicas failed: {e}"),
        }
    });
}

/// Takes a snapshot now and writes its RDB to a file under `dir`.
fn start_disk(server: &Arc<Server>, seq: u64) -> Arc<DiskRdb> {
    let jobs = &server.replicas.rdb_jobs;
    let (snap, position, stream_db) = server.ks.sync_snapshot();
    jobs.snapshots.fetch_add(1, Ordering::Relaxed);
    tracing::info!(
        "Starting BGSAVE for SYNC with target: disk (snapshot at offset {})",
        position.offset
    );
    let path = server
        .config
        .settings()
        .dir
        .join(format!("temp-sync-{}-{seq}.rdb", std::process::id()));
    let (done_tx, done) = watch::channel(None);
    let header = header(&position, stream_db);
    let (opts, checksum) = snapshot_rdb::encode_options(&server.config);
    let databases = server.ks.databases();
    let in_progress = jobs.in_progress.clone();
    in_progress.fetch_add(1, Ordering::Relaxed);
    let file_path = path.clone();
    std::thread::spawn(move || {
        let r = write_file(snap, &file_path, databases, &header, opts, checksum);
        in_progress.fetch_sub(1, Ordering::Relaxed);
        let _ = done_tx.send(Some(r));
    });
    Arc::new(DiskRdb {
        position,
        path,
        done,
    })
}

fn write_file(
    snap: Box<dyn EngineSnapshot>,
    path: &std::path::Path,
    databases: usize,
    header: &RdbHeader,
    opts: crate::rdb::encode::EncodeOptions,
    checksum: bool,
) -> Result<u64, String> {
    let f = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let out = std::io::BufWriter::with_capacity(RDB_CHUNK_BYTES, f);
    let (out, n) =
        snapshot_rdb::write_snapshot(snap.as_ref(), databases, header, opts, checksum, out)
            .map_err(|e| e.to_string())?;
    let f = out.into_inner().map_err(|e| e.to_string())?;
    f.sync_all().map_err(|e| e.to_string())?;
    Ok(n)
}

/// A blocking `Write` into every member's bounded channel: the writer
/// waits for the slowest member, so the RDB is never held whole. Members
/// that went away are dropped; with none left the write fails.
struct Broadcast(Vec<mpsc::Sender<Feed>>);

impl Write for Broadcast {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let chunk = Bytes::copy_from_slice(buf);
        self.0
            .retain(|m| m.blocking_send(Feed::Chunk(chunk.clone())).is_ok());
        if self.0.is_empty() {
            tracing::warn!("Diskless rdb transfer, last replica dropped, stopping the RDB writer.");
            return Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "every replica went away",
            ));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
