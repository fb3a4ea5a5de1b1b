//! Keeps RocksDB's log archive within its size limit as it grows.
//!
//! Why: RocksDB moves log files the data no longer needs into `archive/`
//! (Strata reads them back for the replication backlog) and enforces
//! `WAL_size_limit_MB` there only once every ten minutes, a constant it
//! does not expose. A bulk load of a few hundred MB a minute therefore left
//! gigabytes of archived log on disk (5.69 GiB after the benchmark report's
//! 700 MB load). A thread of the engine applies the same limit every second:
//! the oldest archived files go first, as RocksDB's own purge does, so the
//! archive never exceeds the limit by more than a second of writes.
//!
//! Archived files are obsolete for recovery by definition, and a reader
//! that has one open keeps reading it (Linux frees an unlinked file when
//! its last descriptor closes); a reader that asks for a deleted range gets
//! the same "no longer in the log" answer as after RocksDB's own purge.

use std::path::{Path, PathBuf};
use std::sync::Weak;
use std::time::Duration;

/// How often the archive is checked.
const INTERVAL: Duration = Duration::from_secs(1);

/// Deletes the oldest archived log files of `archive` until the rest take
/// at most `limit` bytes. Returns the bytes deleted. A file that vanished
/// meanwhile (RocksDB's own purge) counts as deleted.
pub(super) fn purge(archive: &Path, limit: u64) -> u64 {
    let Ok(entries) = std::fs::read_dir(archive) else {
        return 0;
    };
    // Log files are named by their number (`000123.log`): newest = largest.
    let mut logs: Vec<(u64, PathBuf, u64)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let number = name.to_str()?.strip_suffix(".log")?.parse().ok()?;
            let size = e.metadata().ok()?.len();
            Some((number, e.path(), size))
        })
        .collect();
    logs.sort_unstable_by_key(|l| std::cmp::Reverse(l.0));
    let mut kept = 0u64;
    let mut deleted = 0u64;
    let mut full = false;
    for (_, path, size) in logs {
        // Once one file does not fit, every older one goes too: the log
        // that stays is one unbroken stretch ending at the newest file.
        full = full || kept + size > limit;
        if !full {
            kept += size;
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => deleted += size,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => deleted += size,
            Err(e) => tracing::warn!("cannot delete archived log {}: {e}", path.display()),
        }
    }
    deleted
}

/// Starts the thread that purges `dir/archive` every [`INTERVAL`] while
/// `alive` (the engine's database) still exists.
pub(super) fn start<T: Send + Sync + 'static>(dir: &Path, limit: u64, alive: Weak<T>) {
    let archive = dir.join("archive");
    let spawned = std::thread::Builder::new()
        .name("strata-wal-archive".into())
        .spawn(move || loop {
            std::thread::sleep(INTERVAL);
            // Once the engine is gone, so is this thread. It never holds the
            // database itself: closing it stays with the engine's owner (a
            // reopen right after a drop must find the directory unlocked).
            if alive.strong_count() == 0 {
                return;
            }
            purge(&archive, limit);
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the log archive's purge thread: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_archived_logs_go_first_until_the_rest_fit() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = dir.path();
        for (number, size) in [(7u64, 100usize), (9, 300), (12, 300), (15, 200)] {
            std::fs::write(archive.join(format!("{number:06}.log")), vec![0u8; size])
                .expect("write");
        }
        // Not a log file: never touched.
        std::fs::write(archive.join("LOCK"), b"x").expect("write");
        // 15 and 12 fit in 700 bytes, 9 does not; 7 would, but it is older.
        assert_eq!(purge(archive, 700), 400);
        let mut left: Vec<String> = std::fs::read_dir(archive)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["000012.log", "000015.log", "LOCK"]);
        assert_eq!(purge(archive, 700), 0, "already within the limit");
        assert_eq!(purge(&archive.join("missing"), 0), 0);
    }
}
