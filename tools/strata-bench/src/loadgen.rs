//! The tool's own load generator: raw RESP over TCP on a single-threaded
//! tokio runtime (like redis-benchmark, so both tools cost the servers the
//! same CPU), latencies in an HDR histogram.
//!
//! Two modes:
//! - closed loop: each connection sends `pipeline` requests, waits for the
//!   replies, repeats; latency = reply time - send time;
//! - open loop (fixed rate): requests are due on a fixed schedule whatever
//!   the server does, and latency is measured from the *scheduled* send
//!   time, so a stalled server is charged for the requests it delayed
//!   (coordinated omission corrected).

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::figures::{new_histogram, Sample};
use crate::zipf::Zipf;

/// How keys are chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum KeyDist {
    Uniform,
    /// Zipfian with this exponent.
    Zipf(f64),
}

/// One workload for the generator.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    pub keys: u64,
    pub value_size: usize,
    /// Fraction of requests that are GET (the rest are SET).
    pub get_ratio: f64,
    pub dist: KeyDist,
    pub conns: usize,
    pub pipeline: usize,
    /// Some(total ops/s) for open-loop mode.
    pub rate: Option<f64>,
    pub warmup: Duration,
    pub duration: Duration,
}

/// Key prefix of the generator's workloads.
pub const GEN_PREFIX: &str = "sb:";
/// Key prefix redis-benchmark uses with `-r` ("key:" + 12 digits).
pub const RB_PREFIX: &str = "key:";

/// The key name for index `i` (fixed width, like redis-benchmark's).
pub fn key_name(prefix: &str, i: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("{prefix}{i:012}").as_bytes());
}

/// Fills `buf` with pseudo-random bytes (xorshift64*): every value written
/// is different, so neither server can compress a dataset of repeats.
pub fn fill_random(buf: &mut [u8], state: &mut u64) {
    for chunk in buf.chunks_mut(8) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        let v = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

fn push_bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

fn push_get(out: &mut Vec<u8>, key: u64, scratch: &mut Vec<u8>) {
    scratch.clear();
    key_name(GEN_PREFIX, key, scratch);
    out.extend_from_slice(b"*2\r\n$3\r\nGET\r\n");
    push_bulk(out, scratch);
}

fn push_set(out: &mut Vec<u8>, prefix: &str, key: u64, value: &[u8], scratch: &mut Vec<u8>) {
    scratch.clear();
    key_name(prefix, key, scratch);
    out.extend_from_slice(b"*3\r\n$3\r\nSET\r\n");
    push_bulk(out, scratch);
    push_bulk(out, value);
}

/// Reads and discards one complete reply; Ok(true) if it was an error.
pub async fn skip_reply<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) -> io::Result<bool> {
    let mut pending: u64 = 1;
    let mut error = false;
    while pending > 0 {
        pending -= 1;
        line.clear();
        if r.read_until(b'\n', line).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "server closed",
            ));
        }
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed reply");
        let head = *line.first().ok_or_else(bad)?;
        let num = || -> io::Result<i64> {
            std::str::from_utf8(&line[1..])
                .ok()
                .and_then(|s| s.trim_end().parse::<i64>().ok())
                .ok_or_else(bad)
        };
        match head {
            b'-' => error = true,
            b'$' => {
                let len = num()?;
                if len >= 0 {
                    scratch.resize(len as usize + 2, 0);
                    r.read_exact(scratch).await?;
                }
            }
            b'*' => {
                let n = num()?;
                if n > 0 {
                    pending += n as u64;
                }
            }
            b'+' | b':' => {}
            _ => return Err(bad()),
        }
    }
    Ok(error)
}

/// What a run measured.
pub struct LoadResult {
    pub hist: Histogram<u64>,
    /// Open loop: send time minus scheduled time, per request.
    pub lag: Option<Histogram<u64>>,
    pub ops: u64,
    pub errors: u64,
    pub secs: f64,
}

impl LoadResult {
    fn empty(secs: f64) -> LoadResult {
        LoadResult {
            hist: new_histogram(),
            lag: None,
            ops: 0,
            errors: 0,
            secs,
        }
    }

    pub fn sample(&self) -> Sample {
        let mut s = Sample::from_histogram(&self.hist, self.ops, self.secs, self.errors);
        s.send_lag_p99_ms = self
            .lag
            .as_ref()
            .map(|h| h.value_at_quantile(0.99) as f64 / 1e6);
        s
    }
}

/// Picks keys and builds requests for one connection.
struct RequestMaker {
    rng: rand::rngs::StdRng,
    zipf: Option<Arc<Zipf>>,
    spec: LoadSpec,
    value: Vec<u8>,
    value_rng: u64,
    scratch: Vec<u8>,
}

impl RequestMaker {
    fn push(&mut self, out: &mut Vec<u8>) {
        let key = match &self.zipf {
            Some(z) => z.rank(self.rng.gen::<f64>()) as u64,
            None => self.rng.gen_range(0..self.spec.keys.max(1)),
        };
        if self.spec.get_ratio >= 1.0 || self.rng.gen::<f64>() < self.spec.get_ratio {
            push_get(out, key, &mut self.scratch);
        } else {
            fill_random(&mut self.value, &mut self.value_rng);
            push_set(out, GEN_PREFIX, key, &self.value, &mut self.scratch);
        }
    }
}

/// Runs `spec` against 127.0.0.1:`port`.
pub async fn run(port: u16, spec: &LoadSpec, seed: u64) -> io::Result<LoadResult> {
    let zipf = match spec.dist {
        KeyDist::Zipf(s) => Some(Arc::new(Zipf::new(spec.keys as usize, s))),
        KeyDist::Uniform => None,
    };
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let until = measure_from + spec.duration;
    let mut tasks = Vec::new();
    let mut schedule_txs = Vec::new();
    let mut schedule_maker = None;
    for c in 0..spec.conns {
        let maker = RequestMaker {
            rng: rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(c as u64)),
            zipf: zipf.clone(),
            spec: spec.clone(),
            value: vec![0; spec.value_size],
            value_rng: (seed << 20) ^ (c as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            scratch: Vec::new(),
        };
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        let task = match spec.rate {
            None => tokio::spawn(closed_loop(stream, maker, measure_from, until)),
            Some(_) => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                schedule_txs.push(tx);
                schedule_maker.get_or_insert(maker);
                tokio::spawn(open_loop(stream, rx, measure_from, until))
            }
        };
        tasks.push(task);
    }
    if let (Some(rate), Some(maker)) = (spec.rate, schedule_maker) {
        std::thread::spawn(move || schedule(maker, schedule_txs, rate, until));
    }
    let mut total = LoadResult::empty(spec.duration.as_secs_f64());
    for t in tasks {
        let r = t.await.map_err(io::Error::other)??;
        total.hist.add(&r.hist).map_err(io::Error::other)?;
        if let Some(lag) = &r.lag {
            total
                .lag
                .get_or_insert_with(new_histogram)
                .add(lag)
                .map_err(io::Error::other)?;
        }
        total.ops += r.ops;
        total.errors += r.errors;
    }
    Ok(total)
}

async fn closed_loop(
    stream: TcpStream,
    mut maker: RequestMaker,
    measure_from: Instant,
    until: Instant,
) -> io::Result<LoadResult> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let mut res = LoadResult::empty(0.0);
    let (mut out, mut line, mut scratch) = (Vec::new(), Vec::new(), Vec::new());
    let depth = maker.spec.pipeline.max(1);
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        out.clear();
        for _ in 0..depth {
            maker.push(&mut out);
        }
        let sent = Instant::now();
        wr.write_all(&out).await?;
        for _ in 0..depth {
            let err = skip_reply(&mut rd, &mut line, &mut scratch).await?;
            let done = Instant::now();
            if sent >= measure_from && done <= until {
                res.ops += 1;
                res.errors += err as u64;
                let _ = res.hist.record((done - sent).as_nanos().max(1) as u64);
            }
        }
    }
    Ok(res)
}

/// The open-loop clock: one OS thread (std::thread::sleep has about
/// 0.1 ms precision where tokio's timer has 1 ms) makes each request when
/// it is due and hands it, with its scheduled time, to the connections in
/// turn. A late thread still stamps requests with their scheduled times.
fn schedule(
    mut maker: RequestMaker,
    conns: Vec<tokio::sync::mpsc::UnboundedSender<(Instant, Vec<u8>)>>,
    rate: f64,
    until: Instant,
) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let mut next = Instant::now();
    let mut turn = 0usize;
    while next < until && !conns.is_empty() {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        let now = Instant::now();
        while next <= now && next < until {
            let mut req = Vec::new();
            maker.push(&mut req);
            if conns[turn % conns.len()].send((next, req)).is_err() {
                return;
            }
            turn += 1;
            next += interval;
        }
    }
}

async fn open_loop(
    stream: TcpStream,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
    measure_from: Instant,
    until: Instant,
) -> io::Result<LoadResult> {
    let (rd, mut wr) = stream.into_split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<Instant>>();
    let sender = tokio::spawn(async move {
        let mut out = Vec::new();
        let mut lag = new_histogram();
        while let Some((first, req)) = requests.recv().await {
            out.clear();
            out.extend_from_slice(&req);
            let mut due = vec![first];
            // Whatever else is already due goes out in the same write.
            while let Ok((t, r)) = requests.try_recv() {
                out.extend_from_slice(&r);
                due.push(t);
            }
            if tx.send(due.clone()).is_err() {
                break;
            }
            wr.write_all(&out).await?;
            let sent = Instant::now();
            for &d in due.iter().filter(|&&d| d >= measure_from) {
                let _ = lag.record((sent - d).as_nanos().max(1) as u64);
            }
        }
        Ok::<_, io::Error>(lag)
    });
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let mut res = LoadResult::empty(0.0);
    let (mut line, mut scratch) = (Vec::new(), Vec::new());
    let mut queue: VecDeque<Instant> = VecDeque::new();
    // Replies still missing this long after the end count as failures.
    let give_up = until + Duration::from_secs(10);
    loop {
        if queue.is_empty() {
            match rx.recv().await {
                Some(batch) => queue.extend(batch),
                None => break,
            }
            continue;
        }
        let read =
            tokio::time::timeout_at(give_up.into(), skip_reply(&mut rd, &mut line, &mut scratch));
        let err = match read.await {
            Ok(r) => r?,
            Err(_) => {
                res.errors += queue.len() as u64;
                break;
            }
        };
        let done = Instant::now();
        if let Some(scheduled) = queue.pop_front() {
            if scheduled >= measure_from {
                res.ops += 1;
                res.errors += err as u64;
                let _ = res.hist.record((done - scheduled).as_nanos().max(1) as u64);
            }
        }
        while let Ok(batch) = rx.try_recv() {
            queue.extend(batch);
        }
    }
    res.lag = Some(sender.await.map_err(io::Error::other)??);
    Ok(res)
}

/// Loads keys `0..keys` with `value_size`-byte values (pipelined SETs over
/// a few connections). Returns the elapsed seconds.
pub async fn preload(
    port: u16,
    prefix: &'static str,
    keys: u64,
    value_size: usize,
    seed: u64,
) -> io::Result<f64> {
    let start = Instant::now();
    let conns = 8u64;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mut value = vec![0u8; value_size];
        let mut rng = (seed << 8) ^ (c + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(("127.0.0.1", port)).await?;
            let (rd, mut wr) = stream.into_split();
            let mut rd = BufReader::new(rd);
            let (mut out, mut line, mut scratch, mut kbuf) =
                (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            // Batches of ~1 MB or 256 keys, whichever is smaller.
            let batch = (1_048_576 / value.len().max(1)).clamp(1, 256) as u64;
            let mut i = c;
            while i < keys {
                out.clear();
                let mut n = 0;
                while n < batch && i < keys {
                    fill_random(&mut value, &mut rng);
                    push_set(&mut out, prefix, i, &value, &mut kbuf);
                    i += conns;
                    n += 1;
                }
                wr.write_all(&out).await?;
                for _ in 0..n {
                    if skip_reply(&mut rd, &mut line, &mut scratch).await? {
                        return Err(io::Error::other("SET failed during preload"));
                    }
                }
            }
            Ok::<_, io::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(io::Error::other)??;
    }
    Ok(start.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn skips_nested_replies() {
        let data: &[u8] = b"+OK\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:1\r\n$1\r\nx\r\n-ERR no\r\n";
        let mut r = BufReader::new(data);
        let (mut l, mut s) = (Vec::new(), Vec::new());
        assert!(!skip_reply(&mut r, &mut l, &mut s).await.unwrap());
        assert!(!skip_reply(&mut r, &mut l, &mut s).await.unwrap());
        assert!(!skip_reply(&mut r, &mut l, &mut s).await.unwrap());
        assert!(!skip_reply(&mut r, &mut l, &mut s).await.unwrap());
        assert!(skip_reply(&mut r, &mut l, &mut s).await.unwrap());
        assert!(skip_reply(&mut r, &mut l, &mut s).await.is_err());
    }

    #[test]
    fn random_values_differ() {
        let (mut a, mut b, mut st) = (vec![0u8; 13], vec![0u8; 13], 99u64);
        fill_random(&mut a, &mut st);
        fill_random(&mut b, &mut st);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
        let mut k = Vec::new();
        key_name(RB_PREFIX, 42, &mut k);
        assert_eq!(k, b"key:000000000042");
    }

    #[test]
    fn builds_resp_requests() {
        let (mut out, mut s) = (Vec::new(), Vec::new());
        push_set(&mut out, GEN_PREFIX, 7, b"vv", &mut s);
        push_get(&mut out, 7, &mut s);
        assert_eq!(
            out,
            b"*3\r\n$3\r\nSET\r\n$15\r\nsb:000000000007\r\n$2\r\nvv\r\n*2\r\n$3\r\nGET\r\n$15\r\nsb:000000000007\r\n"
        );
    }
}
