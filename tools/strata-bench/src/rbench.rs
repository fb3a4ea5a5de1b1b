//! Runs `redis-benchmark --csv` for one test against one server and parses
//! its CSV (the header is "test","rps","avg_latency_ms","min_latency_ms",
//! "p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms").

use std::process::Command;

use crate::figures::Sample;

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

/// What to ask redis-benchmark for.
#[derive(Debug, Clone)]
pub struct RbSpec {
    /// `-t` argument, e.g. "get", "ping_mbulk".
    pub test: &'static str,
    /// The CSV "test" column to keep, e.g. "GET", "MSET (10 keys)".
    pub row: &'static str,
    pub clients: u32,
    pub pipeline: u32,
    pub requests: u64,
    pub keyspace: u64,
}

impl RbSpec {
    pub fn args(&self, port: u16) -> Vec<String> {
        vec![
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
            "--csv".into(),
            "-t".into(),
            self.test.into(),
            "-n".into(),
            self.requests.to_string(),
            "-c".into(),
            self.clients.to_string(),
            "-P".into(),
            self.pipeline.to_string(),
            "-r".into(),
            self.keyspace.to_string(),
        ]
    }
}

/// Runs one redis-benchmark test against `port`.
pub fn run(spec: &RbSpec, port: u16) -> Result<Sample, String> {
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
    let row = rows
        .iter()
        .find(|r| r.test == spec.row)
        .ok_or_else(|| format!("no {} row in redis-benchmark output: {stdout}", spec.row))?;
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
}
