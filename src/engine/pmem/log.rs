//! The retained log: which log-only records (`BatchOp::LogData`, the
//! replication stream) are still readable through `Engine::read_log`.
//!
//! It exists because in this engine the log *is* the store: log-data
//! records sit in the segments beside the data, and segment cleaning would
//! drop them like any record nobody points at. The retained log points at
//! the newest ones, up to the retention in bytes, in sequence order, so
//! cleaning moves them instead and `read_log` finds them without a scan.

use std::collections::VecDeque;

use super::index::Loc;

pub struct RetainedLog {
    entries: VecDeque<(u64, Loc)>,
    bytes: u64,
    limit: u64,
    /// The highest sequence number whose log data was let go: batches at or
    /// below it may be missing from `read_log`.
    floor: u64,
}

impl RetainedLog {
    pub fn new(limit: u64) -> Self {
        RetainedLog {
            entries: VecDeque::new(),
            bytes: 0,
            limit,
            floor: 0,
        }
    }

    /// Adds the log record of batch `seq` (sequence numbers only grow);
    /// records let go to stay within the limit go to `dead`.
    pub fn push(&mut self, seq: u64, loc: Loc, dead: &mut impl FnMut(Loc)) {
        self.entries.push_back((seq, loc));
        self.bytes += loc.vlen as u64;
        while self.bytes > self.limit && self.entries.len() > 1 {
            let Some((s, l)) = self.entries.pop_front() else {
                break;
            };
            self.bytes -= l.vlen as u64;
            self.floor = self.floor.max(s);
            dead(l);
        }
    }

    /// Whether every batch after `after` that had log data is still here.
    pub fn reaches_back_to(&self, after: u64) -> bool {
        after >= self.floor
    }

    /// Up to `max` entries with sequence numbers above `after`, in order.
    pub fn after(&self, after: u64, max: usize) -> Vec<(u64, Loc)> {
        let start = self.entries.partition_point(|(s, _)| *s <= after);
        self.entries.range(start..).take(max).copied().collect()
    }

    /// Whether the log record of batch `seq` is retained at `loc`.
    pub fn holds(&self, seq: u64, loc: Loc) -> bool {
        self.position(seq).is_some_and(|i| self.entries[i].1 == loc)
    }

    /// Points batch `seq`'s log record at its new place (cleaning moved it).
    pub fn relocate(&mut self, seq: u64, to: Loc) {
        if let Some(i) = self.position(seq) {
            self.entries[i].1 = to;
        }
    }

    fn position(&self, seq: u64) -> Option<usize> {
        let i = self.entries.partition_point(|(s, _)| *s < seq);
        (self.entries.get(i)?.0 == seq).then_some(i)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(off: u64, vlen: u32) -> Loc {
        Loc { off, klen: 0, vlen }
    }

    #[test]
    fn retention_lets_the_oldest_go_and_says_so() {
        let mut log = RetainedLog::new(250);
        let mut dead = Vec::new();
        for seq in 1..=5u64 {
            log.push(seq * 10, loc(seq, 100), &mut |l| dead.push(l.off));
        }
        assert_eq!(dead, [1, 2, 3]);
        assert_eq!(
            log.after(0, 10).iter().map(|e| e.0).collect::<Vec<_>>(),
            [40, 50]
        );
        assert!(!log.reaches_back_to(29));
        assert!(log.reaches_back_to(30));
        assert!(log.holds(40, loc(4, 100)));
        log.relocate(40, loc(9, 100));
        assert!(log.holds(40, loc(9, 100)) && !log.holds(40, loc(4, 100)));
        assert_eq!(log.after(40, 10).len(), 1);
    }
}
