//! The clock reads on every command's path, as plain integers.
//!
//! Why: each command reads the wall clock (its unit's `now`, for expiry)
//! and the monotonic clock twice (its duration, for INFO commandstats,
//! SLOWLOG, LATENCY and the metrics). Through `Instant` and `SystemTime`
//! these cost ~400 instructions per GET (checked `Timespec` arithmetic,
//! `Duration`'s 128-bit millisecond division); one `clock_gettime` each,
//! kept as nanoseconds, costs the vDSO call and a multiplication.

/// Nanoseconds of `clock_id` (a `CLOCK_*` constant).
fn read_ns(clock_id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clocks used here
    // exist on every Linux, so the call cannot fail (it would leave zero).
    unsafe { libc::clock_gettime(clock_id, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// A monotonic instant in nanoseconds (differences only; the origin is
/// unspecified, as `Instant`'s).
#[inline]
pub fn monotonic_ns() -> u64 {
    read_ns(libc::CLOCK_MONOTONIC)
}

/// Milliseconds since the Unix epoch.
#[inline]
pub fn unix_ms() -> u64 {
    read_ns(libc::CLOCK_REALTIME) / 1_000_000
}

/// Microseconds since the Unix epoch.
#[inline]
pub fn unix_us() -> u64 {
    read_ns(libc::CLOCK_REALTIME) / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn wall_clock_agrees_with_system_time() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let us = unix_us();
        let ms = unix_ms();
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        assert!(before.as_micros() as u64 <= us && us <= after.as_micros() as u64);
        assert!(before.as_millis() as u64 <= ms && ms <= after.as_millis() as u64);
    }

    #[test]
    fn monotonic_clock_measures_a_sleep() {
        let start = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let elapsed = monotonic_ns() - start;
        assert!(elapsed >= 5_000_000, "{elapsed} ns");
    }
}
