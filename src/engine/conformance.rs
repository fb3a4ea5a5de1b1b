//! The behaviour every [`Engine`] backend must have, written once and run
//! for every backend in [`ENGINES`](super::ENGINES): registering a backend
//! there puts it under this whole suite (and under the types tests, see
//! `types::test_keyspace_in`), with no test to copy.
//!
//! Each case is a function of a [`Harness`], which opens the backend under
//! test (its constructor from the table) on a fresh directory, as often as
//! the case needs: reopening after a drop or a crash is part of the contract.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::{
    Backend, Batch, Cf, CompactionDecision, CompactionPolicy, Engine, EngineOptions,
    EngineSnapshot, MetaLookup, OpenFn, ENGINES,
};

/// One backend on one temporary directory.
pub struct Harness {
    pub name: &'static str,
    open: OpenFn,
    /// Behind the record cache (`record_cache`), which must not change
    /// any behaviour.
    cached: bool,
    dir: tempfile::TempDir,
}

impl Harness {
    fn new(backend: &Backend, cached: bool) -> Harness {
        Harness {
            name: backend.name,
            open: backend.open,
            cached,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The engine, with a policy that keeps every record.
    pub fn open(&self) -> Arc<dyn Engine> {
        self.open_with(Arc::new(KeepAll))
    }

    pub fn open_with(&self, policy: Arc<dyn CompactionPolicy>) -> Arc<dyn Engine> {
        let opts = EngineOptions::small();
        let engine = (self.open)(self.path(), &opts, policy)
            .unwrap_or_else(|e| panic!("{}: open failed: {e}", self.name));
        if self.cached {
            Arc::new(super::record_cache::CachedEngine::wrap(
                engine,
                opts.record_cache,
            ))
        } else {
            engine
        }
    }
}

/// Runs `case` once per registered backend, bare and behind the record
/// cache, each on its own directory.
fn run(case: fn(&Harness)) {
    for backend in ENGINES {
        for cached in [false, true] {
            // Shown with the failure, since libtest prints a failed test's output.
            eprintln!("engine: {} (record cache: {cached})", backend.name);
            case(&Harness::new(backend, cached));
        }
    }
}

/// One `#[test]` per case, each running the case on every backend.
macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod per_engine {
            $(#[test] fn $case() { super::run(super::$case) })*
        }
    };
}

cases!(
    point_ops,
    batches_apply_in_order,
    batch_is_atomic_across_column_families,
    iteration_respects_bounds,
    seek_for_prev_finds_the_last_key_at_or_before,
    multi_get_keeps_order_duplicates_and_misses,
    get_run_reads_each_key_in_order,
    delete_range_removes_half_open_range,
    delete_range_then_put_in_one_batch_keeps_the_put,
    delete_range_of_the_last_db_byte,
    iterator_does_not_see_later_writes,
    reopen_after_drop_keeps_every_write,
    reopen_after_sigkill_keeps_flushed_writes,
    snapshot_is_a_consistent_view,
    snapshot_iterators_read_the_snapshot,
    many_snapshots_each_keep_their_view,
    snapshot_outlives_the_engine_handle_on_another_thread,
    compaction_policy_removes_stale_records,
    compaction_keeps_what_a_snapshot_sees,
    stale_policy_keeps_subkeys_a_snapshot_sees,
    checkpoint_opens_as_a_copy,
    log_data_is_read_back_in_order_across_flushes_and_reopen,
    log_reads_between_writes_see_every_batch,
);

/// A policy that never removes anything (engines under test without the
/// data-type layer's stale-subkey policy).
pub(crate) struct KeepAll;
impl CompactionPolicy for KeepAll {
    fn applies_to(&self, _cf: Cf) -> bool {
        false
    }
    fn decide(&self, _: Cf, _: &[u8], _: &[u8], _: &dyn MetaLookup) -> CompactionDecision {
        CompactionDecision::Keep
    }
}

/// Keys as the engine sees them: `collect(e.iter(...))`.
fn collect(mut it: Box<dyn super::EngineIter + '_>, reverse: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if reverse {
        it.seek_to_last();
    } else {
        it.seek_to_first();
    }
    while it.valid() {
        out.push(it.key().to_vec());
        if reverse {
            it.prev();
        } else {
            it.next();
        }
    }
    it.status().expect("iterator status");
    out
}

fn keys(e: &dyn Engine, cf: Cf, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Vec<Vec<u8>> {
    collect(e.iter(cf, lower, upper), false)
}

fn v(s: &[u8]) -> Vec<u8> {
    s.to_vec()
}

fn put(e: &dyn Engine, cf: Cf, pairs: &[(&[u8], &[u8])]) {
    let mut b = Batch::new();
    for (k, val) in pairs {
        b.put(cf, k.to_vec(), val.to_vec());
    }
    e.write(&b).expect("write");
}

fn get(e: &dyn Engine, cf: Cf, key: &[u8]) -> Option<Vec<u8>> {
    e.get(cf, key).expect("get")
}

fn point_ops(h: &Harness) {
    let e = h.open();
    let mut b = Batch::new();
    b.put(Cf::Meta, v(b"a"), v(b"1"));
    b.put(Cf::Data, v(b"a"), v(b"data"));
    b.put(Cf::Meta, v(b"empty"), Vec::new());
    e.write(&b).expect("write");
    assert_eq!(get(&*e, Cf::Meta, b"a"), Some(v(b"1")));
    // Column families are separate namespaces.
    assert_eq!(get(&*e, Cf::Data, b"a"), Some(v(b"data")));
    assert_eq!(get(&*e, Cf::ZScore, b"a"), None);
    // An empty value is a value, not an absence.
    assert_eq!(get(&*e, Cf::Meta, b"empty"), Some(Vec::new()));
    let mut b = Batch::new();
    b.delete(Cf::Meta, v(b"a"));
    b.delete(Cf::Meta, v(b"never-written"));
    e.write(&b).expect("write");
    assert_eq!(get(&*e, Cf::Meta, b"a"), None);
    assert_eq!(get(&*e, Cf::Data, b"a"), Some(v(b"data")));
}

fn batches_apply_in_order(h: &Harness) {
    let e = h.open();
    let mut b = Batch::new();
    b.put(Cf::State, v(b"k"), v(b"first"));
    b.delete(Cf::State, v(b"k"));
    b.put(Cf::State, v(b"k"), v(b"last"));
    b.put(Cf::State, v(b"gone"), v(b"x"));
    b.delete(Cf::State, v(b"gone"));
    e.write(&b).expect("write");
    assert_eq!(get(&*e, Cf::State, b"k"), Some(v(b"last")));
    assert_eq!(get(&*e, Cf::State, b"gone"), None);
    e.flush().expect("flush");
    assert_eq!(get(&*e, Cf::State, b"k"), Some(v(b"last")));
}

/// Readers on other threads see a batch over every family whole or not at all.
fn batch_is_atomic_across_column_families(h: &Harness) {
    let e = h.open();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (e, stop) = (e.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut checks = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || checks < 10 {
                let snap = e.snapshot();
                let counts: Vec<usize> = Cf::ALL
                    .iter()
                    .map(|cf| collect(snap.iter(*cf, None, None), false).len())
                    .collect();
                assert!(
                    counts.iter().all(|&n| n == counts[0]),
                    "a batch was seen in part: {counts:?}"
                );
                checks += 1;
            }
            checks
        })
    };
    for i in 0..300u32 {
        let mut b = Batch::new();
        for cf in Cf::ALL {
            b.put(cf, i.to_be_bytes().to_vec(), v(b"x"));
        }
        e.write(&b).expect("write");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().expect("reader") >= 10);
}

fn iteration_respects_bounds(h: &Harness) {
    let e = h.open();
    let all: [&[u8]; 7] = [b"a9", b"b", b"b1", b"b2", b"b3", b"c", b"c1"];
    put(&*e, Cf::Expire, &all.map(|k| (k, &b""[..])));
    let range = |l: &[u8], u: &[u8], rev| collect(e.iter(Cf::Expire, Some(l), Some(u)), rev);
    // Lower bound inclusive, upper bound exclusive, both directions.
    assert_eq!(
        range(b"b", b"c", false),
        [v(b"b"), v(b"b1"), v(b"b2"), v(b"b3")]
    );
    assert_eq!(
        range(b"b", b"c", true),
        [v(b"b3"), v(b"b2"), v(b"b1"), v(b"b")]
    );
    assert_eq!(range(b"b1", b"b1", false), Vec::<Vec<u8>>::new());
    assert_eq!(keys(&*e, Cf::Expire, None, Some(b"b")), [v(b"a9")]);
    assert_eq!(keys(&*e, Cf::Expire, Some(b"c"), None), [v(b"c"), v(b"c1")]);
    let mut it = e.iter(Cf::Expire, Some(b"b"), Some(b"c"));
    // Seeking outside the bounds stays inside them.
    it.seek(b"a");
    assert!(it.valid());
    assert_eq!(it.key(), b"b");
    it.prev();
    assert!(!it.valid(), "prev from the lower bound ends the iteration");
    it.seek(b"b2");
    assert_eq!((it.key(), it.value()), (&b"b2"[..], &b""[..]));
    it.next();
    it.next();
    assert!(!it.valid(), "the upper bound ends the iteration");
    it.seek(b"zz");
    assert!(!it.valid());
    it.seek_for_prev(b"zz");
    assert_eq!(it.key(), b"b3");
    it.status().expect("status");
}

fn seek_for_prev_finds_the_last_key_at_or_before(h: &Harness) {
    let e = h.open();
    put(
        &*e,
        Cf::Data,
        &[(b"k2", b"2"), (b"k4", b"4"), (b"k6", b"6")],
    );
    let mut it = e.iter(Cf::Data, None, None);
    it.seek_for_prev(b"k4");
    assert_eq!((it.key(), it.value()), (&b"k4"[..], &b"4"[..]), "exact key");
    it.seek_for_prev(b"k5");
    assert_eq!(it.key(), b"k4", "between keys");
    it.seek_for_prev(b"k9");
    assert_eq!(it.key(), b"k6", "after the last key");
    it.prev();
    assert_eq!(it.key(), b"k4");
    it.seek_for_prev(b"k1");
    assert!(!it.valid(), "before the first key");
    // Also within bounds, with keys past the upper bound present.
    let mut it = e.iter(Cf::Data, Some(b"k3"), Some(b"k6"));
    it.seek_for_prev(b"k9");
    assert_eq!(it.key(), b"k4");
    it.seek_for_prev(b"k2");
    assert!(!it.valid());
    it.status().expect("status");
}

fn multi_get_keeps_order_duplicates_and_misses(h: &Harness) {
    let e = h.open();
    let stored: Vec<Vec<u8>> = (0..500u32)
        .map(|i| format!("k{i:04}").into_bytes())
        .collect();
    let mut b = Batch::new();
    for k in &stored {
        b.put(Cf::Meta, k.clone(), k.clone());
    }
    e.write(&b).expect("write");
    e.flush().expect("flush");
    put(&*e, Cf::Meta, &[(b"k0001", b"newer")]);
    assert_eq!(
        e.multi_get(Cf::Meta, &[]).expect("multi_get"),
        Vec::<Option<Vec<u8>>>::new()
    );
    let asked: [&[u8]; 6] = [b"k0499", b"nope", b"k0001", b"k0000", b"k0499", b""];
    assert_eq!(
        e.multi_get(Cf::Meta, &asked).expect("multi_get"),
        [
            Some(v(b"k0499")),
            None,
            Some(v(b"newer")),
            Some(v(b"k0000")),
            Some(v(b"k0499")),
            None
        ]
    );
    let many: Vec<&[u8]> = stored.iter().rev().map(Vec::as_slice).collect();
    let got = e.multi_get(Cf::Meta, &many).expect("multi_get");
    assert_eq!(got.len(), 500);
    assert_eq!(got[0], Some(v(b"k0499")));
    assert_eq!(got[498], Some(v(b"newer")));
    let other = e.multi_get(Cf::Data, &many[..3]).expect("other family");
    assert!(other.len() == 3 && other.iter().all(Option::is_none));
}

fn get_run_reads_each_key_in_order(h: &Harness) {
    let e = h.open();
    let run = |keys: &[&[u8]]| {
        let mut got = Vec::new();
        e.get_run(Cf::Data, keys, &mut |i, v| {
            got.push((i, v.map(<[u8]>::to_vec)))
        })
        .expect("get_run");
        got
    };
    // Flushed and in the memtable; between the asked keys, others.
    put(
        &*e,
        Cf::Data,
        &[(b"a1", b"x"), (b"a2", b"y"), (b"a3", b"z")],
    );
    e.flush().expect("flush");
    put(&*e, Cf::Data, &[(b"a2", b"Y"), (b"a5", b"w"), (b"b", b"v")]);
    assert_eq!(run(&[]), vec![]);
    let asked: [&[u8]; 4] = [b"a1", b"a2", b"a4", b"a5"];
    let expect = vec![
        (0, Some(v(b"x"))),
        (1, Some(v(b"Y"))),
        (2, None),
        (3, Some(v(b"w"))),
    ];
    assert_eq!(run(&asked), expect);
    // Read again (from a cache in front, if any), and after changes.
    assert_eq!(run(&asked), expect);
    let mut b = Batch::new();
    b.delete(Cf::Data, b"a1".to_vec());
    b.put(Cf::Data, b"a4".to_vec(), b"new".to_vec());
    e.write(&b).expect("write");
    assert_eq!(
        run(&asked),
        vec![
            (0, None),
            (1, Some(v(b"Y"))),
            (2, Some(v(b"new"))),
            (3, Some(v(b"w")))
        ]
    );
    // Past the last record, and a last key that is a prefix of others.
    assert_eq!(
        run(&[b"a5", b"a6", b"c"]),
        vec![(0, Some(v(b"w"))), (1, None), (2, None)]
    );
    assert_eq!(run(&[b"a"]), vec![(0, None)]);
    assert_eq!(run(&[b"b"]), vec![(0, Some(v(b"v")))]);
    // Another family holds none of them.
    let mut other = Vec::new();
    e.get_run(Cf::Meta, &asked, &mut |i, v| other.push((i, v.is_some())))
        .expect("get_run");
    assert_eq!(other, vec![(0, false), (1, false), (2, false), (3, false)]);
}

fn delete_range_removes_half_open_range(h: &Harness) {
    let e = h.open();
    put(
        &*e,
        Cf::Data,
        &[
            (b"q", b"v"),
            (b"r", b"v"),
            (b"r1", b"v"),
            (b"r\xff", b"v"),
            (b"s", b"v"),
        ],
    );
    let mut b = Batch::new();
    b.delete_range(Cf::Data, v(b"r"), v(b"s"));
    e.write(&b).expect("write");
    assert_eq!(keys(&*e, Cf::Data, None, None), [v(b"q"), v(b"s")]);
    e.flush().expect("flush");
    e.compact_range(Cf::Data, None, None);
    assert_eq!(keys(&*e, Cf::Data, None, None), [v(b"q"), v(b"s")]);
    // Other families are untouched.
    put(&*e, Cf::Meta, &[(b"r1", b"v")]);
    let mut b = Batch::new();
    b.delete_range(Cf::Data, v(b"a"), v(b"z"));
    e.write(&b).expect("write");
    assert_eq!(get(&*e, Cf::Meta, b"r1"), Some(v(b"v")));
}

/// FLUSHDB followed by writes in the same batch: order within a batch holds
/// for range deletions too.
fn delete_range_then_put_in_one_batch_keeps_the_put(h: &Harness) {
    let e = h.open();
    put(&*e, Cf::Meta, &[(b"\x03a", b"old"), (b"\x03b", b"old")]);
    let mut b = Batch::new();
    b.put(Cf::Meta, v(b"\x03c"), v(b"put before"));
    b.delete_range(Cf::Meta, v(b"\x03"), v(b"\x04"));
    b.put(Cf::Meta, v(b"\x03a"), v(b"new"));
    e.write(&b).expect("write");
    assert_eq!(keys(&*e, Cf::Meta, None, None), [v(b"\x03a")]);
    assert_eq!(get(&*e, Cf::Meta, b"\x03a"), Some(v(b"new")));
    e.flush().expect("flush");
    e.compact_range(Cf::Meta, None, None);
    assert_eq!(get(&*e, Cf::Meta, b"\x03a"), Some(v(b"new")));
    assert_eq!(get(&*e, Cf::Meta, b"\x03b"), None);
}

/// Physical database 0xff has no one-byte successor: its range is closed
/// with a long run of 0xff, and an inverted range (a wrapped `db + 1`)
/// deletes nothing rather than failing the batch.
fn delete_range_of_the_last_db_byte(h: &Harness) {
    let e = h.open();
    let db_ff: [&[u8]; 4] = [b"\xff", b"\xff\x00", b"\xffkey", b"\xff\xff\xff"];
    put(&*e, Cf::Meta, &db_ff.map(|k| (k, &b"v"[..])));
    put(&*e, Cf::Meta, &[(b"\xfe\xff", b"v")]);
    let mut b = Batch::new();
    b.delete_range(Cf::Meta, vec![0xff], vec![0x00]);
    e.write(&b).expect("an inverted range is not an error");
    assert_eq!(
        keys(&*e, Cf::Meta, None, None).len(),
        5,
        "and deletes nothing"
    );
    let mut b = Batch::new();
    b.delete_range(Cf::Meta, vec![0xff], vec![0xff; 64]);
    b.put(Cf::State, v(b"counts\xff"), v(b"0"));
    e.write(&b).expect("write");
    assert_eq!(keys(&*e, Cf::Meta, None, None), [v(b"\xfe\xff")]);
    assert_eq!(get(&*e, Cf::State, b"counts\xff"), Some(v(b"0")));
}

fn iterator_does_not_see_later_writes(h: &Harness) {
    let e = h.open();
    put(&*e, Cf::Data, &[(b"a", b"1"), (b"b", b"1"), (b"c", b"1")]);
    let mut it = e.iter(Cf::Data, None, None);
    let mut b = Batch::new();
    b.put(Cf::Data, v(b"a"), v(b"2"));
    b.delete(Cf::Data, v(b"b"));
    b.put(Cf::Data, v(b"bb"), v(b"new"));
    b.delete_range(Cf::Data, v(b"c"), v(b"d"));
    e.write(&b).expect("write");
    e.flush().expect("flush");
    e.compact_range(Cf::Data, None, None);
    let mut seen = Vec::new();
    it.seek_to_first();
    while it.valid() {
        seen.push((it.key().to_vec(), it.value().to_vec()));
        it.next();
    }
    assert_eq!(
        seen,
        [(v(b"a"), v(b"1")), (v(b"b"), v(b"1")), (v(b"c"), v(b"1"))]
    );
    drop(it);
    assert_eq!(keys(&*e, Cf::Data, None, None), [v(b"a"), v(b"bb")]);
}

fn reopen_after_drop_keeps_every_write(h: &Harness) {
    {
        let e = h.open();
        put(&*e, Cf::Meta, &[(b"flushed", b"yes")]);
        e.flush_wal_buffer().expect("flush wal buffer");
        // Neither flushed nor synced: a clean close still keeps it.
        put(&*e, Cf::State, &[(b"buffered", b"yes")]);
    }
    let e = h.open();
    assert_eq!(get(&*e, Cf::Meta, b"flushed"), Some(v(b"yes")));
    assert_eq!(get(&*e, Cf::State, b"buffered"), Some(v(b"yes")));
}

const CHILD_ENV: &str = "STRATA_CONFORMANCE_CHILD";

/// Writes batches forever in a child process (see
/// [`reopen_after_sigkill_keeps_flushed_writes`]), printing `acked N` once
/// batch N's log record was handed to the OS. Does nothing in a normal run.
#[test]
#[ignore = "run by reopen_after_sigkill_keeps_flushed_writes in a child process"]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (name, dir) = spec.split_once('|').expect("name|dir");
    let backend = ENGINES.iter().find(|b| b.name == name).expect("backend");
    let e =
        (backend.open)(Path::new(dir), &EngineOptions::small(), Arc::new(KeepAll)).expect("open");
    // Bounded, in case the parent died without killing it.
    let started = std::time::Instant::now();
    for i in 0u32.. {
        if started.elapsed() > std::time::Duration::from_secs(60) {
            return;
        }
        let mut b = Batch::new();
        for cf in [Cf::Meta, Cf::Data, Cf::State] {
            b.put(cf, i.to_be_bytes().to_vec(), vec![b'x'; 100]);
        }
        e.write(&b).expect("write");
        e.flush_wal_buffer().expect("flush wal buffer");
        println!("acked {i}");
    }
}

/// A process killed with SIGKILL loses nothing whose log buffer it
/// flushed, and no batch survives in part.
fn reopen_after_sigkill_keeps_flushed_writes(h: &Harness) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "engine::conformance::crash_child",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, format!("{}|{}", h.name, h.path().display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    // Kept open until the child is dead: a closed pipe would make it fail
    // (and close the engine cleanly) instead of being killed mid-write.
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut acked = None;
    for line in lines.by_ref() {
        let line = line.expect("child output");
        if let Some(n) = line.strip_prefix("acked ") {
            acked = Some(n.parse::<u32>().expect("number"));
            if acked >= Some(2000) {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix
    child.wait().expect("wait");
    drop(lines);
    let acked = acked.expect("the child acknowledged writes");
    let e = h.open();
    let counts: Vec<usize> = [Cf::Meta, Cf::Data, Cf::State]
        .iter()
        .map(|cf| keys(&*e, *cf, None, None).len())
        .collect();
    assert!(counts[0] > acked as usize, "{counts:?} after acked {acked}");
    assert!(
        counts.iter().all(|&n| n == counts[0]),
        "a batch survived in part: {counts:?}"
    );
}

fn snapshot_is_a_consistent_view(h: &Harness) {
    let e = h.open();
    put(&*e, Cf::Meta, &[(b"a", b"1"), (b"b", b"1")]);
    put(&*e, Cf::Data, &[(b"a", b"d1")]);
    let snap = e.snapshot();
    let mut b = Batch::new();
    b.put(Cf::Meta, v(b"a"), v(b"2"));
    b.delete(Cf::Meta, v(b"b"));
    b.put(Cf::Meta, v(b"c"), v(b"2"));
    b.delete_range(Cf::Data, v(b""), v(b"z"));
    e.write(&b).expect("write");
    e.flush().expect("flush");
    for cf in Cf::ALL {
        e.compact_range(cf, None, None);
    }
    assert_eq!(snap.get(Cf::Meta, b"a").expect("get"), Some(v(b"1")));
    assert_eq!(snap.get(Cf::Meta, b"b").expect("get"), Some(v(b"1")));
    assert_eq!(snap.get(Cf::Meta, b"c").expect("get"), None);
    assert_eq!(snap.get(Cf::Data, b"a").expect("get"), Some(v(b"d1")));
    assert_eq!(
        snap.multi_get(Cf::Meta, &[b"c", b"a", b"b"])
            .expect("multi_get"),
        [None, Some(v(b"1")), Some(v(b"1"))]
    );
    // The engine itself reads the latest state.
    assert_eq!(get(&*e, Cf::Meta, b"a"), Some(v(b"2")));
    assert_eq!(get(&*e, Cf::Data, b"a"), None);
    assert_eq!(
        e.multi_get(Cf::Meta, &[b"b", b"c"]).expect("mget"),
        [None, Some(v(b"2"))]
    );
}

fn snapshot_iterators_read_the_snapshot(h: &Harness) {
    let e = h.open();
    put(
        &*e,
        Cf::ZScore,
        &[(b"k1", b"1"), (b"k2", b"2"), (b"k3", b"3"), (b"x", b"0")],
    );
    let snap = e.snapshot();
    let mut b = Batch::new();
    b.put(Cf::ZScore, v(b"k0"), v(b"new"));
    b.put(Cf::ZScore, v(b"k2"), v(b"changed"));
    b.delete(Cf::ZScore, v(b"k3"));
    e.write(&b).expect("write");
    // Created after the writes, it still reads the snapshot.
    let all = collect(snap.iter(Cf::ZScore, Some(b"k"), Some(b"l")), false);
    assert_eq!(all, [v(b"k1"), v(b"k2"), v(b"k3")]);
    let back = collect(snap.iter(Cf::ZScore, Some(b"k"), Some(b"l")), true);
    assert_eq!(back, [v(b"k3"), v(b"k2"), v(b"k1")]);
    let mut it = snap.iter(Cf::ZScore, None, None);
    it.seek(b"k2");
    assert_eq!((it.key(), it.value()), (&b"k2"[..], &b"2"[..]));
    it.seek_for_prev(b"k9");
    assert_eq!(it.key(), b"k3");
    it.seek_to_last();
    assert_eq!(it.key(), b"x");
    it.status().expect("status");
    assert_eq!(
        keys(&*e, Cf::ZScore, Some(b"k"), Some(b"l")),
        [v(b"k0"), v(b"k1"), v(b"k2")]
    );
}

fn many_snapshots_each_keep_their_view(h: &Harness) {
    let e = h.open();
    let mut snaps: Vec<(u32, Box<dyn EngineSnapshot>)> = Vec::new();
    for i in 0..64u32 {
        let n = i.to_be_bytes();
        put(&*e, Cf::Data, &[(&n[..], &b""[..])]);
        put(&*e, Cf::State, &[(&b"n"[..], &n[..])]);
        snaps.push((i, e.snapshot()));
        if i % 16 == 0 {
            e.flush().expect("flush");
        }
    }
    assert_eq!(e.stats().open_snapshots, 64);
    e.compact_range(Cf::Data, None, None);
    // Drop every third, then check the rest.
    let mut k = 0;
    snaps.retain(|_| {
        k += 1;
        k % 3 != 0
    });
    assert_eq!(e.stats().open_snapshots, snaps.len() as u64);
    for (i, s) in &snaps {
        assert_eq!(
            collect(s.iter(Cf::Data, None, None), false).len(),
            *i as usize + 1
        );
        assert_eq!(
            s.get(Cf::State, b"n").expect("get"),
            Some(i.to_be_bytes().to_vec())
        );
    }
    snaps.clear();
    assert_eq!(e.stats().open_snapshots, 0);
}

/// A full sync holds a snapshot on another thread for a long time, while
/// writes go on and possibly after the server dropped its engine handle.
fn snapshot_outlives_the_engine_handle_on_another_thread(h: &Harness) {
    let e = h.open();
    put(&*e, Cf::Meta, &[(b"k", b"before")]);
    let snap = e.snapshot();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn(move || {
        rx.recv().expect("writes done");
        let seen = collect(snap.iter(Cf::Meta, None, None), false);
        (seen, snap.get(Cf::Meta, b"k").expect("get"))
    });
    for i in 0..1000u32 {
        let n = i.to_be_bytes();
        put(
            &*e,
            Cf::Meta,
            &[(&n[..], &b"later"[..]), (&b"k"[..], &b"after"[..])],
        );
    }
    e.flush().expect("flush");
    drop(e);
    tx.send(()).expect("send");
    let (seen, k) = reader.join().expect("reader");
    assert_eq!(seen, [v(b"k")]);
    assert_eq!(k, Some(v(b"before")));
}

/// Test policy: a `data` record `key/version/...` is stale unless the
/// `meta` record of `key` holds `version`.
struct VersionPolicy;
impl CompactionPolicy for VersionPolicy {
    fn applies_to(&self, cf: Cf) -> bool {
        cf == Cf::Data
    }
    fn decide(&self, _: Cf, key: &[u8], _: &[u8], meta: &dyn MetaLookup) -> CompactionDecision {
        let mut parts = key.splitn(3, |&b| b == b'/');
        let (Some(k), Some(version)) = (parts.next(), parts.next()) else {
            return CompactionDecision::Keep;
        };
        match meta.get_meta(k) {
            Some(live) if live == version => CompactionDecision::Keep,
            _ => CompactionDecision::Remove,
        }
    }
}

/// Writes collection `key` at `version` with `n` subkeys (`meta` plus `data`).
fn write_versioned(e: &dyn Engine, key: &str, version: &str, n: u32) {
    let mut b = Batch::new();
    b.put(
        Cf::Meta,
        key.as_bytes().to_vec(),
        version.as_bytes().to_vec(),
    );
    for i in 0..n {
        b.put(
            Cf::Data,
            format!("{key}/{version}/{i:04}").into_bytes(),
            v(b"v"),
        );
    }
    e.write(&b).expect("write");
}

fn compact_all(e: &dyn Engine) {
    e.flush().expect("flush");
    e.compact_range(Cf::Data, None, None);
}

/// The policy really removes (so the snapshot case below can fail).
fn compaction_policy_removes_stale_records(h: &Harness) {
    let e = h.open_with(Arc::new(VersionPolicy));
    write_versioned(&*e, "h", "1", 100);
    write_versioned(&*e, "h", "2", 10);
    write_versioned(&*e, "gone", "1", 10);
    let mut b = Batch::new();
    b.delete(Cf::Meta, v(b"gone"));
    e.write(&b).expect("write");
    assert_eq!(keys(&*e, Cf::Data, None, None).len(), 120);
    compact_all(&*e);
    let left = keys(&*e, Cf::Data, None, None);
    assert_eq!(left.len(), 10);
    assert!(left.iter().all(|k| k.starts_with(b"h/2/")));
}

fn compaction_keeps_what_a_snapshot_sees(h: &Harness) {
    let e = h.open_with(Arc::new(VersionPolicy));
    write_versioned(&*e, "h", "1", 200);
    e.flush().expect("flush");
    let snap = e.snapshot();
    // DEL, then re-create with a new version, twice, compacting each time.
    for version in ["2", "3"] {
        let mut b = Batch::new();
        b.delete(Cf::Meta, v(b"h"));
        e.write(&b).expect("write");
        compact_all(&*e);
        write_versioned(&*e, "h", version, 5);
        compact_all(&*e);
    }
    let old = collect(snap.iter(Cf::Data, Some(b"h/1/"), Some(b"h/10")), false);
    assert_eq!(old.len(), 200, "the snapshot still reads every old subkey");
    assert_eq!(snap.get(Cf::Data, b"h/1/0199").expect("get"), Some(v(b"v")));
    assert_eq!(snap.get(Cf::Meta, b"h").expect("get"), Some(v(b"1")));
    drop(snap);
    compact_all(&*e);
    let left = keys(&*e, Cf::Data, None, None);
    assert_eq!(
        left.len(),
        5,
        "dropped snapshot: stale versions are removed"
    );
    assert!(left.iter().all(|k| k.starts_with(b"h/3/")));
}

/// The same contract with the real policy and encoding of the types layer.
fn stale_policy_keeps_subkeys_a_snapshot_sees(h: &Harness) {
    use crate::types::encoding::{meta_key, subkey, KeyType, Metadata};
    let e = h.open_with(Arc::new(crate::types::StalePolicy));
    let write = |version: u64, n: u32| {
        let mut b = Batch::new();
        let m = Metadata::collection(KeyType::Hash, version, 0);
        b.put(Cf::Meta, meta_key(0, b"big"), m.encode());
        for i in 0..n {
            b.put(
                Cf::Data,
                subkey(0, b"big", version, &i.to_be_bytes()),
                v(b"v"),
            );
        }
        e.write(&b).expect("write");
    };
    write(1, 300);
    let snap = e.snapshot();
    let mut b = Batch::new();
    b.delete(Cf::Meta, meta_key(0, b"big"));
    e.write(&b).expect("write");
    compact_all(&*e);
    write(2, 1);
    compact_all(&*e);
    for i in 0..300u32 {
        let k = subkey(0, b"big", 1, &i.to_be_bytes());
        assert_eq!(
            snap.get(Cf::Data, &k).expect("get"),
            Some(v(b"v")),
            "subkey {i}"
        );
    }
    drop(snap);
    compact_all(&*e);
    assert_eq!(
        keys(&*e, Cf::Data, None, None),
        [subkey(0, b"big", 2, &0u32.to_be_bytes())]
    );
}

fn checkpoint_opens_as_a_copy(h: &Harness) {
    let e = h.open();
    put(&*e, Cf::Meta, &[(b"in", b"checkpoint")]);
    let cp = tempfile::tempdir().expect("tempdir");
    let target = cp.path().join("copy");
    e.checkpoint(&target).expect("checkpoint");
    put(&*e, Cf::Meta, &[(b"after", b"x")]);
    let backend = ENGINES.iter().find(|b| b.name == h.name).expect("backend");
    let copy =
        (backend.open)(&target, &EngineOptions::small(), Arc::new(KeepAll)).expect("open copy");
    assert_eq!(get(&*copy, Cf::Meta, b"in"), Some(v(b"checkpoint")));
    assert_eq!(get(&*copy, Cf::Meta, b"after"), None);
}

/// Log-only bytes are invisible to reads, come back from `read_log` in
/// commit order with growing sequence numbers, from any point, across a
/// flush of every family (the log is retained) and a reopen.
fn log_data_is_read_back_in_order_across_flushes_and_reopen(h: &Harness) {
    fn collect_log(e: &dyn Engine, after: u64) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let whole = e
            .read_log(after, &mut |seq, data| {
                out.push((seq, data.to_vec()));
                true
            })
            .expect("read_log");
        assert!(whole, "the log reaches back to {after}");
        out
    }
    let e = h.open();
    assert_eq!(e.last_seq(), 0);
    let mut seqs = Vec::new();
    for i in 0..200u32 {
        let mut b = Batch::new();
        b.put(Cf::Data, i.to_be_bytes().to_vec(), vec![b'v'; 300]);
        if i % 3 != 2 {
            b.log_data(bytes::Bytes::from(format!("record {i}")));
        }
        seqs.push(e.last_seq());
        e.write(&b).expect("write");
        if i == 100 {
            e.flush().expect("flush");
        }
    }
    assert_eq!(keys(&*e, Cf::Data, None, None).len(), 200);
    let all = collect_log(&*e, 0);
    let want: Vec<Vec<u8>> = (0..200u32)
        .filter(|i| i % 3 != 2)
        .map(|i| format!("record {i}").into_bytes())
        .collect();
    assert_eq!(all.iter().map(|r| r.1.clone()).collect::<Vec<_>>(), want);
    assert!(
        all.windows(2).all(|w| w[0].0 < w[1].0),
        "sequence numbers grow"
    );
    // From the middle: exactly the batches after the given number.
    let from_150 = collect_log(&*e, seqs[150]);
    assert_eq!(
        from_150.first().map(|r| r.1.clone()),
        Some(b"record 150".to_vec())
    );
    // A visitor that stops early stops the read.
    let mut n = 0;
    e.read_log(0, &mut |_, _| {
        n += 1;
        n < 5
    })
    .expect("read_log");
    assert_eq!(n, 5);
    assert!(collect_log(&*e, e.last_seq()).is_empty());
    drop(e);
    let e = h.open();
    assert_eq!(collect_log(&*e, 0).len(), want.len(), "after reopen");
    assert!(e.last_seq() >= seqs[199]);
}

/// A reader that comes back after every write sees every batch so far, also
/// right after a flush switched the log to new files, and batches of log
/// data alone.
fn log_reads_between_writes_see_every_batch(h: &Harness) {
    let e = h.open();
    for i in 0..60u32 {
        let mut b = Batch::new();
        // Every third batch is log data alone (a PUBLISH propagated).
        if i % 3 != 0 {
            b.put(Cf::Data, i.to_be_bytes().to_vec(), vec![b'v'; 300]);
        }
        b.log_data(bytes::Bytes::from(format!("record {i}")));
        e.write(&b).expect("write");
        if i % 20 == 10 {
            e.flush().expect("flush");
        }
        let mut n = 0u32;
        e.read_log(0, &mut |_, _| {
            n += 1;
            true
        })
        .expect("read_log");
        assert_eq!(n, i + 1, "after write {i}");
    }
}
