//! Runs `redis-benchmark --csv` for one test against one server and parses
//! its CSV (the header is "test","rps","avg_latency_ms","min_latency_ms",
//! "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms").

use std::process::Command;

use crate::figures::Sample;
use crate::resp;

/// One parsed CSV row.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvRow {
    pub test: String,
    pub rps: f64,
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Splits one CSV line whose fields are double-quoted (redis-benchmark
/// quotes every field; a quote inside a field is doubled).
fn split_quoted(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// Parses the whole CSV output, locating columns by header name.
pub fn parse_csv(text: &str) -> Result<Vec<CsvRow>, String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_quoted(lines.next().ok_or("empty redis-benchmark output")?);
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("column {name} missing from redis-benchmark CSV"))
    };
    let (c_test, c_rps, c_avg) = (col("test")?, col("rps")?, col("avg_latency_ms")?);
    let (c_p50, c_p95, c_p99, c_max) = (
        col("p50_latency_ms")?,
        col("p95_latency_ms")?,
        col("p99_latency_ms")?,
        col("max_latency_ms")?,
    );
    let mut rows = Vec::new();
    for line in lines {
        let f = split_quoted(line);
        let num = |i: usize| -> Result<f64, String> {
            f.get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| format!("bad number in redis-benchmark CSV line: {line}"))
        };
        rows.push(CsvRow {
            test: f.get(c_test).cloned().unwrap_or_default(),
            rps: num(c_rps)?,
            avg_ms: num(c_avg)?,
            p50_ms: num(c_p50)?,
            p95_ms: num(c_p95)?,
            p99_ms: num(c_p99)?,
            max_ms: num(c_max)?,
        });
    }
    Ok(rows)
}

/// Which redis-benchmark test to run.
#[derive(Debug, Clone, PartialEq)]
pub enum RbTest {
    /// `-t test`, keeping the CSV row `row` (e.g. "get" / "GET",
    /// "lrange_100" / "LRANGE_100 (first 100 elements)").
    Builtin {
        test: &'static str,
        row: &'static str,
    },
    /// A command given after the options (may contain `__rand_int__`,
    /// which redis-benchmark replaces by 12 digits in [0, -r)). Its CSV row
    /// is the words joined by spaces, as typed.
    Custom(Vec<String>),
}

/// What to ask redis-benchmark for.
#[derive(Debug, Clone)]
pub struct RbSpec {
    pub test: RbTest,
    pub clients: u32,
    pub pipeline: u32,
    pub requests: u64,
    /// `-r`: the range of `__rand_int__`.
    pub keyspace: u64,
    /// Commands sent (over RESP, replies checked for errors) before every
    /// run, e.g. to (re)build the key a custom command reads.
    pub setup: Vec<Vec<String>>,
}

impl RbSpec {
    /// A built-in `-t` test without setup.
    pub fn builtin(test: &'static str, row: &'static str) -> RbSpec {
        RbSpec {
            test: RbTest::Builtin { test, row },
            clients: 50,
            pipeline: 1,
            requests: 1,
            keyspace: 1,
            setup: Vec::new(),
        }
    }

    /// A custom command given as words, without setup.
    pub fn custom(words: &[&str]) -> RbSpec {
        RbSpec {
            test: RbTest::Custom(words.iter().map(|w| w.to_string()).collect()),
            ..RbSpec::builtin("", "")
        }
    }

    /// The CSV "test" column this spec's figures come from.
    pub fn row(&self) -> String {
        match &self.test {
            RbTest::Builtin { row, .. } => row.to_string(),
            RbTest::Custom(words) => words.join(" "),
        }
    }

    pub fn args(&self, port: u16) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "--csv".into(),
        ];
        if let RbTest::Builtin { test, .. } = &self.test {
            args.extend(["-t".to_string(), test.to_string()]);
        }
        args.extend([
            "-n".into(),
            self.requests.to_string(),
            "-c".into(),
            self.clients.to_string(),
            "-P".into(),
            self.pipeline.to_string(),
            "-r".into(),
            self.keyspace.to_string(),
        ]);
        if let RbTest::Custom(words) = &self.test {
            args.extend(words.iter().cloned());
        }
        args
    }
}

/// Sends `spec.setup` to the server on `port`; the first error reply fails.
fn run_setup(spec: &RbSpec, port: u16) -> Result<(), String> {
    if spec.setup.is_empty() {
        return Ok(());
    }
    let mut conn = resp::Conn::connect(port).map_err(|e| format!("setup: {e}"))?;
    for cmd in &spec.setup {
        let reply = conn.call(cmd).map_err(|e| format!("setup: {e}"))?;
        if let Some(e) = reply.error() {
            return Err(format!("setup command {} failed: {e}", cmd.join(" ")));
        }
    }
    Ok(())
}

/// Runs one redis-benchmark test against `port` (its setup first).
pub fn run(spec: &RbSpec, port: u16) -> Result<Sample, String> {
    run_setup(spec, port)?;
    let out = Command::new("redis-benchmark")
        .args(spec.args(port))
        .output()
        .map_err(|e| format!("can't run redis-benchmark: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "redis-benchmark failed ({}): {}{}",
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let rows = parse_csv(&stdout)?;
    let want = spec.row();
    let row = rows
        .iter()
        .find(|r| r.test == want)
        .ok_or_else(|| format!("no {want} row in redis-benchmark output: {stdout}"))?;
    Ok(Sample {
        ops_per_sec: row.rps,
        p50_ms: row.p50_ms,
        p99_ms: row.p99_ms,
        p999_ms: None,
        errors: 0,
        send_lag_p99_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTPUT: &str = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
\"PING_INLINE\",\"17241.38\",\"1.626\",\"0.048\",\"0.359\",\"8.175\",\"28.063\",\"28.207\"\n\
\"MSET (10 keys)\",\"9852.22\",\"3.614\",\"0.104\",\"0.767\",\"17.887\",\"20.031\",\"20.207\"\n";

    #[test]
    fn parses_redis_benchmark_csv() {
        let rows = parse_csv(OUTPUT).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].test, "PING_INLINE");
        assert_eq!(rows[0].rps, 17241.38);
        assert_eq!(rows[1].test, "MSET (10 keys)");
        assert_eq!(rows[1].p50_ms, 0.767);
        assert_eq!(rows[1].p95_ms, 17.887);
        assert_eq!(rows[1].p99_ms, 20.031);
        assert_eq!(rows[1].max_ms, 20.207);
        assert_eq!(rows[1].avg_ms, 3.614);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_csv("").is_err());
        assert!(parse_csv("\"test\",\"rps\"\n").is_err());
        let bad = OUTPUT.replace("9852.22", "fast");
        assert!(parse_csv(&bad).is_err());
        assert_eq!(split_quoted("\"a,b\",\"c\"\"d\""), vec!["a,b", "c\"d"]);
    }

    /// Rows as redis-benchmark 7.0.15 printed them for the collection tests:
    /// LRANGE_100 comes with the LPUSH it needs, custom commands are named
    /// by their words as typed (`__rand_int__` not substituted).
    const COLLECTION_OUTPUT: &str = "\"test\",\"rps\",\"avg_latency_ms\",\"min_latency_ms\",\"p50_latency_ms\",\"p95_latency_ms\",\"p99_latency_ms\",\"max_latency_ms\"\n\
\"LPUSH (needed to benchmark LRANGE)\",\"27397.26\",\"1.328\",\"0.328\",\"1.143\",\"2.167\",\"7.567\",\"8.015\"\n\
\"LRANGE_100 (first 100 elements)\",\"17699.12\",\"1.939\",\"0.464\",\"1.935\",\"2.943\",\"3.623\",\"4.191\"\n\
\"hget small:hash m__rand_int__\",\"27397.26\",\"1.146\",\"0.136\",\"0.807\",\"1.575\",\"21.151\",\"21.375\"\n";

    #[test]
    fn finds_collection_rows() {
        let rows = parse_csv(COLLECTION_OUTPUT).unwrap();
        let lrange = RbSpec::builtin("lrange_100", "LRANGE_100 (first 100 elements)");
        let hget = RbSpec::custom(&["hget", "small:hash", "m__rand_int__"]);
        let find = |s: &RbSpec| rows.iter().find(|r| r.test == s.row()).cloned();
        assert_eq!(find(&lrange).unwrap().p50_ms, 1.935);
        assert_eq!(find(&hget).unwrap().p99_ms, 21.151);
        assert!(find(&RbSpec::builtin("lpush", "LPUSH")).is_none());
    }

    #[test]
    fn builds_arguments() {
        let mut spec = RbSpec::builtin("lpush", "LPUSH");
        spec.requests = 10;
        spec.pipeline = 16;
        spec.keyspace = 100;
        assert_eq!(
            spec.args(7000).join(" "),
            "-h 127.0.0.1 -p 7000 --csv -t lpush -n 10 -c 50 -P 16 -r 100"
        );
        let custom = RbSpec {
            requests: 10,
            keyspace: 1000000,
            ..RbSpec::custom(&["zscore", "big:zset", "m__rand_int__"])
        };
        assert_eq!(
            custom.args(7000).join(" "),
            "-h 127.0.0.1 -p 7000 --csv -n 10 -c 50 -P 1 -r 1000000 zscore big:zset m__rand_int__"
        );
        assert_eq!(custom.row(), "zscore big:zset m__rand_int__");
    }
}
