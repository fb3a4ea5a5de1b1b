//! The figures a run produces (serialised to results.json) and the small
//! amount of arithmetic on them: percentiles from a histogram, medians over
//! rounds, Strata/Redis ratios.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// One measurement of one system on one workload in one round.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub ops_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// None when the tool measuring it cannot tell (redis-benchmark).
    pub p999_ms: Option<f64>,
    pub errors: u64,
    /// Open loop only: p99 of how late the generator itself sent requests
    /// after their scheduled time (timer resolution); part of the latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_lag_p99_ms: Option<f64>,
}

impl Sample {
    /// Summarises a latency histogram recorded in nanoseconds.
    pub fn from_histogram(h: &Histogram<u64>, ops: u64, secs: f64, errors: u64) -> Sample {
        let ms = |q: f64| h.value_at_quantile(q) as f64 / 1e6;
        Sample {
            ops_per_sec: if secs > 0.0 { ops as f64 / secs } else { 0.0 },
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            p999_ms: Some(ms(0.999)),
            errors,
            send_lag_p99_ms: None,
        }
    }
}

/// Median of a list (mean of the two middle values for even lengths).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Median over rounds of each field.
pub fn median_sample(rounds: &[Sample]) -> Option<Sample> {
    let pick = |f: &dyn Fn(&Sample) -> Option<f64>| -> Option<f64> {
        median(&rounds.iter().filter_map(f).collect::<Vec<_>>())
    };
    Some(Sample {
        ops_per_sec: pick(&|s| Some(s.ops_per_sec))?,
        p50_ms: pick(&|s| Some(s.p50_ms))?,
        p99_ms: pick(&|s| Some(s.p99_ms))?,
        p999_ms: pick(&|s| s.p999_ms),
        errors: rounds.iter().map(|s| s.errors).sum(),
        send_lag_p99_ms: pick(&|s| s.send_lag_p99_ms),
    })
}

/// Strata/Redis ratios: the median over rounds of the per-round ratio (each
/// round pairs two runs made back to back, which cancels slow drift).
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Ratios {
    pub ops_per_sec: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
}

pub fn ratios(redis: &[Sample], strata: &[Sample]) -> Ratios {
    let per_round = |f: &dyn Fn(&Sample) -> Option<f64>| -> Option<f64> {
        let r: Vec<f64> = redis
            .iter()
            .zip(strata)
            .filter_map(|(r, s)| match (f(r), f(s)) {
                (Some(a), Some(b)) if a > 0.0 => Some(b / a),
                _ => None,
            })
            .collect();
        median(&r)
    };
    Ratios {
        ops_per_sec: per_round(&|s| Some(s.ops_per_sec)),
        p50: per_round(&|s| Some(s.p50_ms)),
        p99: per_round(&|s| Some(s.p99_ms)),
        p999: per_round(&|s| s.p999_ms),
    }
}

/// A fresh latency histogram: 1 ns .. 60 s, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("constant histogram bounds are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ops: f64, p99: f64, p999: Option<f64>) -> Sample {
        Sample {
            ops_per_sec: ops,
            p50_ms: p99 / 2.0,
            p99_ms: p99,
            p999_ms: p999,
            errors: 0,
            send_lag_p99_ms: None,
        }
    }

    #[test]
    fn median_odd_even_and_nan() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[f64::NAN, 5.0]), Some(5.0));
        assert_eq!(median(&[]), None);
    }

    #[test]
    fn percentiles_from_histogram() {
        let mut h = new_histogram();
        // 1..=1000 microseconds, once each.
        for us in 1..=1000u64 {
            h.record(us * 1000).unwrap();
        }
        let smp = Sample::from_histogram(&h, 1000, 2.0, 0);
        assert_eq!(smp.ops_per_sec, 500.0);
        assert!((smp.p50_ms - 0.5).abs() < 0.001, "{}", smp.p50_ms);
        assert!((smp.p99_ms - 0.99).abs() < 0.001, "{}", smp.p99_ms);
        assert!((smp.p999_ms.unwrap() - 0.999).abs() < 0.001);
    }

    #[test]
    fn ratios_are_medians_of_per_round_ratios() {
        let redis = [
            s(100.0, 1.0, None),
            s(200.0, 1.0, None),
            s(100.0, 2.0, None),
        ];
        let strata = [
            s(50.0, 2.0, Some(3.0)),
            s(300.0, 1.0, Some(3.0)),
            s(100.0, 1.0, Some(3.0)),
        ];
        let r = ratios(&redis, &strata);
        assert_eq!(r.ops_per_sec, Some(1.0)); // 0.5, 1.5, 1.0
        assert_eq!(r.p99, Some(1.0)); // 2.0, 1.0, 0.5
        assert_eq!(r.p999, None); // Redis side unknown
        let m = median_sample(&strata).unwrap();
        assert_eq!(m.ops_per_sec, 100.0);
        assert_eq!(m.p999_ms, Some(3.0));
    }
}
