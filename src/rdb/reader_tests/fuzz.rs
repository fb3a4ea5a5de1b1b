//! Deterministic mutation testing: thousands of damaged variants of the real
//! fixtures must each end in `Ok` or `Err`, never a panic or a hang. (The
//! open-ended version is the cargo-fuzz target in fuzz/.)

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::super::*;
use super::build::encode_len;
use super::fixtures::{fixture, Canon};

fn mutate(rng: &mut StdRng, base: &[u8], other: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    let rounds = rng.gen_range(1..4);
    for _ in 0..rounds {
        if v.is_empty() {
            break;
        }
        let at = rng.gen_range(0..v.len());
        match rng.gen_range(0..6) {
            0 => v[at] ^= 1 << rng.gen_range(0..8),
            1 => v[at] = rng.gen(),
            2 => v.truncate(at),
            3 => {
                // Splice in a piece of another input.
                let from = rng.gen_range(0..other.len());
                let n = rng.gen_range(0..64).min(other.len() - from);
                v.splice(at..at, other[from..from + n].iter().copied());
            }
            4 => {
                // A random (often huge) length where anything was.
                let mut len = Vec::new();
                encode_len(&mut len, rng.gen::<u64>() >> rng.gen_range(0..64));
                let end = (at + len.len()).min(v.len());
                v.splice(at..end, len);
            }
            _ => {
                let n = rng.gen_range(1..32).min(v.len() - at);
                v.drain(at..at + n);
            }
        }
    }
    v
}

/// Re-seals a DUMP payload so mutations reach the decoder instead of
/// stopping at the checksum.
fn reseal(p: &mut [u8]) {
    if p.len() < 10 {
        return;
    }
    let n = p.len();
    p[n - 10] = 10;
    p[n - 9] = 0;
    let crc = crc64(0, &p[..n - 8]);
    p[n - 8..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn mutated_fixtures_never_panic() {
    let inputs = [
        fixture("small.rdb"),
        fixture("large.rdb"),
        fixture("dump/stream.bin"),
        fixture("dump/zset_lp.bin"),
        fixture("dump/list_plain.bin"),
        fixture("dump/set_int32.bin"),
        fixture("dump/hash_big.bin"),
    ];
    let mut rng = StdRng::seed_from_u64(0x05EE_D4DB);
    let limits = Limits {
        max_string_len: 8 << 20,
        ..Limits::default()
    };
    let start = Instant::now();
    let (mut ok, mut err) = (0, 0);
    for i in 0..4000 {
        let which = i % inputs.len();
        let other = &inputs[rng.gen_range(0..inputs.len())];
        let mut m = mutate(&mut rng, &inputs[which], other);
        if which >= 2 {
            reseal(&mut m);
        }
        let result = std::panic::catch_unwind(|| {
            if which < 2 {
                read(&m, limits.clone()).map(|_| ())
            } else {
                read_dump_payload_with(&m, limits.clone()).map(|_| ())
            }
        });
        match result {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => err += 1,
            Err(_) => panic!("iteration {i} panicked"),
        }
    }
    assert!(
        err > 1000,
        "mutations should mostly be rejected ({ok} ok, {err} err)"
    );
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

fn read(bytes: &[u8], limits: Limits) -> Result<Summary, RdbError> {
    RdbReader::new(bytes, limits).read_all(&mut Canon::default())
}
