//! A client's queue of bytes produced outside its own request/reply cycle:
//! pub/sub messages and subscription confirmations, MONITOR lines.
//!
//! Other connections append to it (under its small lock) and wake the owner;
//! the owner's connection task is the only one that writes to the socket, so
//! it drains the queue into its reply buffer in order. The queue is bounded
//! by bytes through `client-output-buffer-limit`, as Redis bounds a client's
//! reply list: a client that does not read gets disconnected instead of
//! growing the server's memory.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::BytesMut;
use futures_util::task::AtomicWaker;
use parking_lot::Mutex;

pub use crate::config::{ObufLimit, ObufLimits};

fn unix_secs() -> u64 {
    crate::clock::unix_ms() / 1000
}

#[derive(Default)]
pub struct Outbox {
    buf: Mutex<BytesMut>,
    /// Bytes in `buf`.
    queued: AtomicUsize,
    /// Frames in `buf` (CLIENT LIST `oll`).
    frames: AtomicUsize,
    /// Bytes the connection took (replies included) and is writing now.
    inflight: AtomicUsize,
    /// Unix second at which the soft limit was first seen exceeded; 0 = below it.
    soft_since: AtomicU64,
    /// Set once the limit was overcome: the client is being closed and
    /// whatever is pushed after is dropped.
    overflowed: AtomicBool,
    /// Woken after each push.
    pub ready: Signal,
}

/// A wake-up for the one task that owns a connection, with `Notify`'s
/// permit semantics (a signal sent while nobody waits completes the next
/// wait). Unlike `Notify` it keeps no waiter list: the connection loop waits
/// on it beside every socket read, and registering and removing a `Notify`
/// waiter cost ~300 instructions per request.
#[derive(Default)]
pub struct Signal {
    signalled: AtomicBool,
    waker: AtomicWaker,
}

impl Signal {
    pub fn notify_one(&self) {
        self.signalled.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Completes once a signal is (or was) sent; consumes it. Only one task
    /// may wait at a time (the connection's).
    pub fn notified(&self) -> Notified<'_> {
        Notified(self)
    }
}

/// The future of [`Signal::notified`].
pub struct Notified<'a>(&'a Signal);

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let signal = self.0;
        if signal.signalled.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        // Registered before the second look, so a signal sent in between
        // either is seen now or wakes the task.
        signal.waker.register(cx.waker());
        if signal.signalled.swap(false, Ordering::AcqRel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Outbox {
    /// Appends one frame. Returns `true` when this push made the client
    /// overcome `limit` (the caller closes it); frames for a client already
    /// over its limit are dropped.
    pub fn push(&self, frame: &[u8], limit: &ObufLimit) -> bool {
        if self.overflowed.load(Ordering::Acquire) {
            return false;
        }
        {
            let mut buf = self.buf.lock();
            buf.extend_from_slice(frame);
            self.queued.store(buf.len(), Ordering::Release);
            self.frames.fetch_add(1, Ordering::Relaxed);
        }
        if self.over_limit(self.pending() as u64, limit) {
            self.overflow();
            return true;
        }
        self.ready.notify_one();
        false
    }

    /// Redis's `checkClientOutputBufferLimits`: the hard limit at once, the
    /// soft limit once exceeded continuously for more than its seconds.
    pub fn over_limit(&self, used: u64, limit: &ObufLimit) -> bool {
        if limit.hard > 0 && used >= limit.hard {
            return true;
        }
        if limit.soft > 0 && used >= limit.soft {
            let now = unix_secs();
            let since = self.soft_since.load(Ordering::Relaxed);
            if since == 0 {
                self.soft_since.store(now, Ordering::Relaxed);
                return false;
            }
            return now.saturating_sub(since) > limit.soft_secs;
        }
        self.soft_since.store(0, Ordering::Relaxed);
        false
    }

    /// Marks the client as over its limit and frees what was queued.
    pub fn overflow(&self) {
        self.overflowed.store(true, Ordering::Release);
        *self.buf.lock() = BytesMut::new();
        self.queued.store(0, Ordering::Release);
        self.frames.store(0, Ordering::Relaxed);
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }

    /// Whether anything waits to be drained (one atomic load).
    pub fn has_queued(&self) -> bool {
        self.queued.load(Ordering::Acquire) > 0
    }

    /// Moves the queued frames to the end of `out` (the connection's reply
    /// buffer), so they go out in the order they were produced.
    pub fn drain_into(&self, out: &mut BytesMut) {
        let mut buf = self.buf.lock();
        if buf.is_empty() {
            return;
        }
        if out.is_empty() {
            // Hand the buffer over instead of copying it.
            std::mem::swap(&mut *buf, out);
        } else {
            out.extend_from_slice(&buf);
            buf.clear();
        }
        self.queued.store(0, Ordering::Release);
        self.frames.store(0, Ordering::Relaxed);
    }

    /// Records how many bytes the connection is writing right now.
    pub fn set_inflight(&self, n: usize) {
        self.inflight.store(n, Ordering::Relaxed);
    }

    /// Bytes produced for the client and not yet written (CLIENT LIST `omem`).
    pub fn pending(&self) -> usize {
        self.queued.load(Ordering::Acquire) + self.inflight.load(Ordering::Relaxed)
    }

    /// Frames queued (CLIENT LIST `oll`).
    pub fn frames(&self) -> usize {
        self.frames.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// `Notify`'s permit semantics: a signal sent while nobody waits
    /// completes the next wait, once; a signal sent during a wait wakes it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn signal_keeps_one_permit_and_wakes_a_waiter() {
        let signal = Arc::new(Signal::default());
        signal.notify_one();
        signal.notify_one();
        tokio::time::timeout(Duration::from_secs(5), signal.notified())
            .await
            .expect("a permit sent before the wait completes it");
        // Two signals leave one permit, and it was consumed.
        let idle = tokio::time::timeout(Duration::from_millis(50), signal.notified()).await;
        assert!(idle.is_err(), "no permit is left");

        let waiter = tokio::spawn({
            let signal = signal.clone();
            async move { signal.notified().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sender = signal.clone();
        std::thread::spawn(move || sender.notify_one())
            .join()
            .expect("sender thread");
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiting task is woken")
            .expect("waiter task");
    }

    #[test]
    fn hard_limit_overflows_and_frees() {
        let o = Outbox::default();
        let lim = ObufLimit {
            hard: 10,
            soft: 0,
            soft_secs: 0,
        };
        assert!(!o.push(b"12345", &lim));
        assert_eq!((o.pending(), o.frames()), (5, 1));
        assert!(o.push(b"67890", &lim), "10 bytes reach a hard limit of 10");
        assert!(o.overflowed());
        assert_eq!(o.pending(), 0, "the queue is freed at once");
        assert!(!o.push(b"x", &lim), "later frames are dropped");
        assert_eq!(o.pending(), 0);
    }

    #[test]
    fn soft_limit_needs_its_seconds() {
        let o = Outbox::default();
        let lim = ObufLimit {
            hard: 0,
            soft: 4,
            soft_secs: 0,
        };
        assert!(!o.push(b"12345", &lim), "first time over: the clock starts");
        o.soft_since.store(unix_secs() - 2, Ordering::Relaxed);
        assert!(o.push(b"6", &lim), "over for longer than 0 s");
        let o = Outbox::default();
        let lim = ObufLimit {
            hard: 0,
            soft: 4,
            soft_secs: 60,
        };
        assert!(!o.push(b"12345", &lim));
        assert!(!o.push(b"6", &lim));
        let mut out = BytesMut::from(&b"r:"[..]);
        o.drain_into(&mut out);
        assert_eq!(&out[..], b"r:123456");
        assert!(!o.over_limit(0, &lim));
        assert_eq!(o.soft_since.load(Ordering::Relaxed), 0, "below: reset");
    }

    #[test]
    fn parses_the_canonical_text() {
        let l = ObufLimits::parse(
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        );
        assert_eq!(l.normal, ObufLimit::default());
        assert_eq!(
            l.pubsub,
            ObufLimit {
                hard: 32 << 20,
                soft: 8 << 20,
                soft_secs: 60
            }
        );
        assert_eq!(l.replica.hard, 256 << 20);
    }
}
