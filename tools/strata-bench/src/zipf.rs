//! Zipfian key sampler (P(rank k) ∝ 1/k^s), written here so the skew is
//! known exactly: a precomputed CDF searched by bisection, O(log n) a draw.

/// Samples ranks `0..n` where rank 0 is the hottest key.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// `n` keys with exponent `s` (YCSB uses 0.99).
    pub fn new(n: usize, s: f64) -> Zipf {
        let n = n.max(1);
        let mut cdf = Vec::with_capacity(n);
        let mut sum = 0.0;
        for k in 1..=n {
            sum += 1.0 / (k as f64).powf(s);
            cdf.push(sum);
        }
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf { cdf }
    }

    /// Maps a uniform `u` in [0,1) to a rank.
    pub fn rank(&self, u: f64) -> usize {
        self.cdf
            .partition_point(|&c| c <= u)
            .min(self.cdf.len() - 1)
    }

    /// Probability of `rank` (for tests and the report).
    #[cfg(test)]
    pub fn probability(&self, rank: usize) -> f64 {
        if rank == 0 {
            self.cdf[0]
        } else {
            self.cdf[rank] - self.cdf[rank - 1]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn frequencies_follow_the_power_law() {
        let n = 10_000;
        let z = Zipf::new(n, 0.99);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let draws = 400_000;
        let mut counts = vec![0u64; n];
        for _ in 0..draws {
            counts[z.rank(rng.gen::<f64>())] += 1;
        }
        // Hottest key: observed frequency within 3% of the model.
        let p0 = z.probability(0);
        let f0 = counts[0] as f64 / draws as f64;
        assert!((f0 - p0).abs() / p0 < 0.03, "f0={f0} p0={p0}");
        // Rank 1 vs rank 2 (0-based 0 vs 1): ratio 2^0.99 ≈ 1.986.
        let ratio = counts[0] as f64 / counts[1] as f64;
        assert!((ratio - 2f64.powf(0.99)).abs() < 0.1, "ratio={ratio}");
        // Heavy head: the top 1% of keys draw far more than 1% of requests.
        let head: u64 = counts[..n / 100].iter().sum();
        assert!(head as f64 / draws as f64 > 0.4);
        // Every draw is a valid rank and the tail is reached.
        assert!(counts[n / 2..].iter().sum::<u64>() > 0);
    }

    #[test]
    fn edges_stay_in_range() {
        let z = Zipf::new(5, 0.99);
        assert_eq!(z.rank(0.0), 0);
        assert_eq!(z.rank(0.999_999_999), 4);
        assert_eq!(z.rank(1.0), 4);
        let single = Zipf::new(1, 0.99);
        assert_eq!(single.rank(0.5), 0);
    }
}
