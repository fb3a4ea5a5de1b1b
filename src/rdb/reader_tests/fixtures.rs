//! Compares what the reader makes of tests/rdb/fixtures (saved by a live
//! redis-server 7.0.15 via tests/rdb/gen-fixtures.sh) with the manifest of
//! what that server reported for every key, byte for byte.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;

use super::super::*;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/rdb/fixtures")
}

pub(super) fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn x(b: &[u8]) -> String {
    let mut s = String::from("x");
    for c in b {
        s.push_str(&format!("{c:02x}"));
    }
    s
}

fn kind_name(k: KeyKind) -> &'static str {
    match k {
        KeyKind::String => "string",
        KeyKind::List => "list",
        KeyKind::Set => "set",
        KeyKind::ZSet => "zset",
        KeyKind::Hash => "hash",
        KeyKind::Stream => "stream",
    }
}

/// A value's manifest lines (everything after the `key` line).
pub(super) fn render(v: &DecodedValue) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        DecodedValue::String(s) => out.push(format!("string {}", x(s))),
        DecodedValue::List(items) => out.extend(items.iter().map(|i| format!("list {}", x(i)))),
        DecodedValue::Set(m) => {
            let mut m = m.clone();
            m.sort();
            out.extend(m.iter().map(|i| format!("set {}", x(i))));
        }
        DecodedValue::Hash(p) => {
            let mut p = p.clone();
            p.sort();
            out.extend(p.iter().map(|(f, v)| format!("hash {} {}", x(f), x(v))));
        }
        DecodedValue::ZSet(m) => {
            let mut m = m.clone();
            m.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            out.extend(
                m.iter()
                    .map(|(k, s)| format!("zset {} {:016x}", x(k), s.to_bits())),
            );
        }
        DecodedValue::Stream(s) => {
            out.push(format!(
                "stream length {} last {} first {} maxdel {} added {}",
                s.length, s.last_id, s.first_id, s.max_deleted_id, s.entries_added
            ));
            for e in &s.entries {
                let f: Vec<String> = e.fields.iter().flat_map(|(f, v)| [x(f), x(v)]).collect();
                out.push(format!("entry {} {}", e.id, f.join(" ")));
            }
            let mut groups = s.groups.clone();
            groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &groups {
                let read = g.entries_read.map_or("none".to_string(), |n| n.to_string());
                out.push(format!(
                    "group {} last {} read {read}",
                    x(&g.name),
                    g.last_id
                ));
                let mut pel = g.pel.clone();
                pel.sort_by_key(|p| p.id);
                for p in &pel {
                    out.push(format!(
                        "pel {} {} {} {}",
                        p.id,
                        x(&p.consumer),
                        p.delivery_time,
                        p.delivery_count
                    ));
                }
                let mut cs = g.consumers.clone();
                cs.sort_by(|a, b| a.name.cmp(&b.name));
                for c in &cs {
                    out.push(format!("consumer {} seen {}", x(&c.name), c.seen_time));
                    let mut ids = c.pending.clone();
                    ids.sort();
                    out.extend(ids.iter().map(|i| format!("cpel {i}")));
                }
            }
        }
    }
    out
}

/// Renders a whole RDB in manifest form, keys sorted within each db.
#[derive(Default)]
pub(super) struct Canon {
    functions: Vec<String>,
    dbs: BTreeMap<u64, BTreeMap<Bytes, Vec<String>>>,
    db: u64,
    cur: Option<(Bytes, KeyKind, KeyMeta)>,
    value: Collect,
    pub metas: Vec<KeyMeta>,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub chunk_calls: usize,
    pub max_chunk: usize,
    pub skipped: Vec<Bytes>,
}

impl Canon {
    pub(super) fn text(&self) -> String {
        let mut lines = self.functions.clone();
        for (db, keys) in &self.dbs {
            lines.push(format!("db {db}"));
            for block in keys.values() {
                lines.extend(block.iter().cloned());
            }
        }
        lines.join("\n") + "\n"
    }

    fn chunk(&mut self, n: usize) {
        self.chunk_calls += 1;
        self.max_chunk = self.max_chunk.max(n);
    }
}

impl RdbVisitor for Canon {
    fn aux(&mut self, key: &[u8], value: &[u8]) -> Result<(), RdbError> {
        self.aux.push((key.to_vec(), value.to_vec()));
        Ok(())
    }
    fn select_db(&mut self, db: u64) -> Result<(), RdbError> {
        self.db = db;
        Ok(())
    }
    fn function(&mut self, code: Bytes) -> Result<(), RdbError> {
        self.functions.push(format!("function {}", x(&code)));
        Ok(())
    }
    fn begin_key(&mut self, key: Bytes, kind: KeyKind, meta: KeyMeta) -> Result<(), RdbError> {
        assert!(self.cur.is_none(), "begin_key inside a key");
        self.value.begin_key(key.clone(), kind, meta)?;
        self.cur = Some((key, kind, meta));
        Ok(())
    }
    fn string(&mut self, value: Bytes) -> Result<(), RdbError> {
        self.value.string(value)
    }
    fn list_items(&mut self, items: &[Bytes]) -> Result<(), RdbError> {
        self.chunk(items.len());
        self.value.list_items(items)
    }
    fn set_members(&mut self, members: &[Bytes]) -> Result<(), RdbError> {
        self.chunk(members.len());
        self.value.set_members(members)
    }
    fn hash_fields(&mut self, pairs: &[(Bytes, Bytes)]) -> Result<(), RdbError> {
        self.chunk(pairs.len());
        self.value.hash_fields(pairs)
    }
    fn zset_members(&mut self, members: &[(Bytes, f64)]) -> Result<(), RdbError> {
        self.chunk(members.len());
        self.value.zset_members(members)
    }
    fn stream(&mut self, stream: Stream) -> Result<(), RdbError> {
        self.value.stream(stream)
    }
    fn end_key(&mut self) -> Result<(), RdbError> {
        let (key, kind, meta) = self.cur.take().expect("end_key without begin_key");
        let value = self.value.value.take().expect("no value");
        let expire = meta.expire_ms.map_or("none".to_string(), |e| e.to_string());
        let mut block = vec![format!(
            "key {} {} expire {expire}",
            x(&key),
            kind_name(kind)
        )];
        block.extend(render(&value));
        // Duplicate keys are the consumer's to catch (Redis panics on them).
        if self
            .dbs
            .entry(self.db)
            .or_default()
            .insert(key, block)
            .is_some()
        {
            return Err(RdbError::Visitor("duplicate key".into()));
        }
        self.metas.push(meta);
        Ok(())
    }
    fn skipped_empty(&mut self, key: Bytes, _kind: KeyKind) -> Result<(), RdbError> {
        self.skipped.push(key);
        Ok(())
    }
}

pub(super) fn read(bytes: &[u8], limits: Limits) -> Result<(Summary, Canon), RdbError> {
    let mut c = Canon::default();
    let sum = RdbReader::new(bytes, limits).read_all(&mut c)?;
    Ok((sum, c))
}

fn check_file(name: &str, limits: Limits) -> Canon {
    let rdb = fixture(&format!("{name}.rdb"));
    let want = String::from_utf8(fixture(&format!("{name}.manifest"))).unwrap();
    let (sum, c) = read(&rdb, limits).unwrap();
    assert_eq!(sum.version, 10);
    assert_eq!(sum.bytes_read, rdb.len() as u64);
    assert!(sum.checksum.is_some());
    assert_eq!(sum.skipped_empty, 0);
    let got = c.text();
    if got != want {
        for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
            assert_eq!(g, w, "{name}: first difference at manifest line {}", i + 1);
        }
        assert_eq!(
            got.lines().count(),
            want.lines().count(),
            "{name}: line count"
        );
    }
    let aux: Vec<&[u8]> = c.aux.iter().map(|(k, _)| &k[..]).collect();
    assert!(aux.contains(&&b"redis-ver"[..]) && aux.contains(&&b"ctime"[..]));
    c
}

#[test]
fn small_encodings_match_the_live_server() {
    let c = check_file("small", Limits::default());
    // allkeys-lru: Redis writes an IDLE opcode for every key.
    assert!(c.metas.iter().all(|m| m.idle.is_some() && m.freq.is_none()));
    assert!(c.text().starts_with("function "));
}

#[test]
fn large_encodings_match_the_live_server() {
    let c = check_file("large", Limits::default());
    assert!(c.metas.iter().all(|m| m.freq.is_some() && m.idle.is_none()));
}

#[test]
fn collections_arrive_in_bounded_chunks() {
    let limits = Limits {
        chunk_items: 7,
        chunk_bytes: 200,
        ..Limits::default()
    };
    let c = check_file("large", limits);
    assert!(c.max_chunk <= 7, "chunk of {}", c.max_chunk);
    assert!(c.chunk_calls > 200);
}

#[test]
fn large_fixture_really_has_the_big_encodings() {
    // Guards against a regenerated fixture silently losing coverage.
    let rdb = fixture("large.rdb");
    let types = top_level_types(&rdb);
    for t in [
        kind::SET,
        kind::HASH,
        kind::ZSET_2,
        kind::LIST_QUICKLIST_2,
        kind::STREAM_LISTPACKS_2,
    ] {
        assert!(types.contains(&t), "type {t} missing");
    }
    let small = top_level_types(&fixture("small.rdb"));
    for t in [
        kind::STRING,
        kind::SET_INTSET,
        kind::ZSET_LISTPACK,
        kind::HASH_LISTPACK,
    ] {
        assert!(small.contains(&t), "type {t} missing");
    }
}

/// Type bytes of every key, found by a visitor-free scan with the reader's
/// own source (each key read and discarded).
fn top_level_types(rdb: &[u8]) -> Vec<u8> {
    let mut src = Source::new(&rdb[9..], Limits::default());
    let mut out = Vec::new();
    loop {
        let t = src.u8().unwrap();
        match t {
            opcode::AUX => {
                src.string().unwrap();
                src.string().unwrap();
            }
            opcode::SELECTDB => {
                src.len().unwrap();
            }
            opcode::RESIZEDB => {
                src.len().unwrap();
                src.len().unwrap();
            }
            opcode::FUNCTION2 => {
                src.string().unwrap();
            }
            opcode::EXPIRETIME_MS => {
                src.i64_le().unwrap();
            }
            opcode::IDLE => {
                src.len().unwrap();
            }
            opcode::FREQ => {
                src.u8().unwrap();
            }
            opcode::EOF => return out,
            t => {
                src.string().unwrap();
                let k = key_kind(&mut src, t).unwrap();
                read_value(
                    &mut src,
                    &mut Collect::default(),
                    t,
                    k,
                    Bytes::new(),
                    KeyMeta::default(),
                    (64, 1 << 20),
                )
                .unwrap();
                out.push(t);
            }
        }
    }
}

#[test]
fn quicklist_has_a_plain_node() {
    // list_plain holds elements above the lowered packed threshold: its
    // DUMP payload must contain container 1 (PLAIN) nodes.
    let p = fixture("dump/list_plain.bin");
    assert_eq!(p[0], kind::LIST_QUICKLIST_2);
    // Node count, then the first node's container byte.
    assert!(p[1] >= 2 && p[1] < 64);
    let containers = plain_scan(&p[..p.len() - 10]);
    assert!(
        containers.contains(&1) && containers.contains(&2),
        "{containers:?}"
    );
}

fn plain_scan(body: &[u8]) -> Vec<u64> {
    let mut src = Source::new(&body[1..], Limits::default());
    let n = src.len().unwrap();
    (0..n)
        .map(|_| {
            let c = src.len().unwrap();
            src.string().unwrap();
            c
        })
        .collect()
}

fn manifest_blocks(name: &str) -> BTreeMap<String, Vec<String>> {
    let text = String::from_utf8(fixture(name)).unwrap();
    let mut out = BTreeMap::new();
    let mut db = String::new();
    let mut cur: Option<(String, Vec<String>)> = None;
    for line in text.lines() {
        if line.starts_with("key ") || line.starts_with("db ") || line.starts_with("function ") {
            if let Some((k, b)) = cur.take() {
                out.insert(k, b);
            }
        }
        if let Some(d) = line.strip_prefix("db ") {
            db = d.to_string();
        } else if line.starts_with("key ") {
            let name = line.split(' ').nth(1).unwrap();
            cur = Some((format!("{db}/{name}"), vec![line.to_string()]));
        } else if let Some((_, b)) = &mut cur {
            b.push(line.to_string());
        }
    }
    if let Some((k, b)) = cur {
        out.insert(k, b);
    }
    out
}

#[test]
fn dump_payloads_match_the_live_server() {
    let mut blocks = manifest_blocks("small.manifest");
    blocks.extend(manifest_blocks("large.manifest"));
    let mut n = 0;
    for entry in std::fs::read_dir(fixture_dir().join("dump")).unwrap() {
        let path = entry.unwrap().path();
        let key = path
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .as_bytes()
            .to_vec();
        let payload = std::fs::read(&path).unwrap();
        let (kind, value) = read_dump_payload(&payload).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let want = &blocks[&format!("0/{}", x(&key))];
        assert!(
            want[0].contains(&format!(" {} expire", kind_name(kind))),
            "{path:?}: kind"
        );
        assert_eq!(&render(&value)[..], &want[1..], "{path:?}");
        // Any flipped byte breaks the checksum.
        let mut bad = payload.clone();
        bad[1] ^= 0x40;
        assert!(matches!(
            read_dump_payload(&bad),
            Err(RdbError::BadDumpPayload)
        ));
        n += 1;
    }
    assert!(n >= 25, "only {n} dump payloads");
}

#[test]
fn dump_payload_footer_rules() {
    let mut p = fixture("dump/str_raw.bin");
    assert!(read_dump_payload(&p).is_ok());
    // Version 11 (Redis 7.2) is refused by 7.0's RESTORE.
    let n = p.len();
    p[n - 10] = 11;
    let crc = crc64(0, &p[..n - 8]);
    p[n - 8..].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        read_dump_payload(&p),
        Err(RdbError::BadDumpPayload)
    ));
    assert!(matches!(
        read_dump_payload(&[0; 9]),
        Err(RdbError::BadDumpPayload)
    ));
}
