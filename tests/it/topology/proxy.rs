//! A user-space TCP delay proxy: forwards every connection from a listen
//! address to a target, holding each chunk for a fixed one-way delay in each
//! direction (bytes are never reordered: one queue per direction), and able
//! to cut the link: every live connection is shut down and new ones are
//! closed at once until the link is restored.
//!
//! The kernel's netem is not available everywhere, so the WAN delay of the
//! cross-datacenter scenarios comes from here; in loopback mode the cut
//! does too (in namespace mode the cut is a real `ip link set down`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Chunks queued per direction (each up to 64 KB) before the reader waits.
const QUEUE: usize = 512;

struct Inner {
    target: SocketAddr,
    delay: Duration,
    cut: AtomicBool,
    stop: AtomicBool,
    next_id: AtomicU64,
    /// Clones of both sockets of every live connection, to shut them down.
    conns: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
    /// Bytes forwarded towards the target and back.
    up_bytes: AtomicU64,
    down_bytes: AtomicU64,
    accepted: AtomicU64,
}

pub struct Proxy {
    pub listen: SocketAddr,
    inner: Arc<Inner>,
    acceptor: Option<JoinHandle<()>>,
}

enum Msg {
    Data(Instant, Vec<u8>),
    Eof(Instant),
}

impl Proxy {
    /// Listens on `listen` (port 0 picks one) and forwards to `target`,
    /// delaying each direction by `one_way`.
    pub fn start(listen: SocketAddr, target: SocketAddr, one_way: Duration) -> Proxy {
        let listener =
            TcpListener::bind(listen).unwrap_or_else(|e| panic!("proxy: bind {listen}: {e}"));
        listener.set_nonblocking(true).expect("nonblocking");
        let listen = listener.local_addr().expect("local addr");
        let inner = Arc::new(Inner {
            target,
            delay: one_way,
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            up_bytes: AtomicU64::new(0),
            down_bytes: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
        });
        let acc = inner.clone();
        let acceptor = std::thread::Builder::new()
            .name(format!("proxy-{listen}"))
            .spawn(move || accept_loop(listener, acc))
            .expect("spawn proxy");
        Proxy {
            listen,
            inner,
            acceptor: Some(acceptor),
        }
    }

    /// Cuts the link: live connections are shut down, new ones closed.
    pub fn cut(&self) {
        self.inner.cut.store(true, Ordering::SeqCst);
        let conns = self.inner.conns.lock().unwrap();
        for (a, b) in conns.values() {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }

    /// Restores the link: new connections are forwarded again.
    pub fn restore(&self) {
        self.inner.cut.store(false, Ordering::SeqCst);
    }

    pub fn is_cut(&self) -> bool {
        self.inner.cut.load(Ordering::SeqCst)
    }

    /// Bytes forwarded (towards the target, back from it).
    pub fn bytes(&self) -> (u64, u64) {
        (
            self.inner.up_bytes.load(Ordering::Relaxed),
            self.inner.down_bytes.load(Ordering::Relaxed),
        )
    }

    /// Connections accepted and forwarded so far.
    pub fn connections(&self) -> u64 {
        self.inner.accepted.load(Ordering::Relaxed)
    }

    pub fn delay(&self) -> Duration {
        self.inner.delay
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.inner.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(h) = self.acceptor.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, inner: Arc<Inner>) {
    while !inner.stop.load(Ordering::SeqCst) {
        let down = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        if inner.cut.load(Ordering::SeqCst) {
            drop(down);
            continue;
        }
        let _ = down.set_nonblocking(false);
        let up = match TcpStream::connect_timeout(&inner.target, Duration::from_secs(5)) {
            Ok(s) => s,
            Err(_) => continue,
        };
        let _ = up.set_nodelay(true);
        let _ = down.set_nodelay(true);
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed);
        let clones = (
            down.try_clone().expect("clone"),
            up.try_clone().expect("clone"),
        );
        inner.conns.lock().unwrap().insert(id, clones);
        inner.accepted.fetch_add(1, Ordering::Relaxed);
        let finished = Arc::new(AtomicU64::new(0));
        for (from, to, upward) in [
            (
                down.try_clone().expect("clone"),
                up.try_clone().expect("clone"),
                true,
            ),
            (
                up.try_clone().expect("clone"),
                down.try_clone().expect("clone"),
                false,
            ),
        ] {
            let (inner, finished) = (inner.clone(), finished.clone());
            std::thread::spawn(move || {
                pump(from, to, upward, &inner);
                if finished.fetch_add(1, Ordering::SeqCst) == 1 {
                    inner.conns.lock().unwrap().remove(&id);
                }
            });
        }
    }
}

/// One direction: a reader queues timestamped chunks, a writer sends each
/// once its delay has passed. An error on either side shuts both down.
fn pump(mut from: TcpStream, to: TcpStream, upward: bool, inner: &Arc<Inner>) {
    let (tx, rx) = sync_channel::<Msg>(QUEUE);
    let writer = {
        let (to, inner, from) = (
            to.try_clone().expect("clone"),
            inner.clone(),
            from.try_clone().expect("clone"),
        );
        std::thread::spawn(move || deliver(rx, to, from, upward, &inner))
    };
    let mut buf = vec![0u8; 65536];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => {
                let _ = tx.send(Msg::Eof(Instant::now()));
                break;
            }
            Ok(n) => {
                if tx
                    .send(Msg::Data(Instant::now(), buf[..n].to_vec()))
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(tx);
    let _ = writer.join();
    let _ = to;
}

fn deliver(rx: Receiver<Msg>, mut to: TcpStream, from: TcpStream, upward: bool, inner: &Inner) {
    let counter = if upward {
        &inner.up_bytes
    } else {
        &inner.down_bytes
    };
    while let Ok(msg) = rx.recv() {
        let at = match &msg {
            Msg::Data(t, _) | Msg::Eof(t) => *t + inner.delay,
        };
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
        match msg {
            Msg::Data(_, bytes) => {
                if to.write_all(&bytes).is_err() {
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                    // Drain so the reader never blocks on a full queue.
                    while rx.recv().is_ok() {}
                    return;
                }
                counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            Msg::Eof(_) => {
                // Replication links never half-close: an end on one side
                // (after its delay) ends the whole connection.
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}
