//! The full synchronisation: the RDB bulk in either framing (`$<len>` or
//! `$EOF:<mark>`), passed in chunks through a bounded channel to a loader
//! thread that reads it as a `std::io::Read`, so the payload is never held
//! whole, and the socket waits while the loader is behind.

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use tokio::sync::{mpsc, oneshot};

use super::conn::{ack_frame, MasterConn};
use super::stream::Streaming;
use super::{LinkError, ReplicaLink};
use crate::repl::data::{DataError, LoadStats, ReplicaData};

/// Length of the random mark that ends an `$EOF:` payload.
const EOF_MARK_LEN: usize = 40;
/// Chunks in flight between the socket and the loader.
const CHANNEL_CHUNKS: usize = 16;

/// `+FULLRESYNC` received: the RDB comes next.
pub struct FullSync {
    conn: MasterConn,
    replid: String,
    offset: u64,
    timeout: Duration,
}

/// How the master frames the RDB.
enum Framing {
    Length(u64),
    EofMark(Vec<u8>),
}

enum Piece {
    Data(Bytes),
    /// The payload ended as framed (a channel closed without it means the
    /// transfer broke).
    End,
}

/// The loader's view of the payload.
struct ChunkReader {
    rx: mpsc::Receiver<Piece>,
    current: Bytes,
    ended: bool,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if self.ended {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Piece::Data(b)) => self.current = b,
                Some(Piece::End) => self.ended = true,
                None => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the master link broke during the transfer",
                    ))
                }
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

impl FullSync {
    pub fn new(conn: MasterConn, replid: String, offset: u64, timeout: Duration) -> FullSync {
        FullSync {
            conn,
            replid,
            offset,
            timeout,
        }
    }

    /// Reads the bulk header, skipping keep-alive newlines.
    async fn framing(&mut self) -> Result<Framing, LinkError> {
        let line = self.conn.read_reply(self.timeout).await?;
        if let Some(err) = line.strip_prefix('-') {
            return Err(LinkError::TransferAborted(err.to_string()));
        }
        let Some(spec) = line.strip_prefix('$') else {
            return Err(LinkError::BadBulkHeader(line));
        };
        if let Some(mark) = spec.strip_prefix("EOF:") {
            if mark.len() != EOF_MARK_LEN {
                return Err(LinkError::BadBulkHeader(line));
            }
            return Ok(Framing::EofMark(mark.as_bytes().to_vec()));
        }
        spec.parse::<u64>()
            .map(Framing::Length)
            .map_err(|_| LinkError::BadBulkHeader(line))
    }

    /// Receives the RDB, has `data` load it, adopts the master's position
    /// and returns the link ready to stream.
    pub async fn transfer(
        mut self,
        data: Arc<dyn ReplicaData>,
        link: &ReplicaLink,
    ) -> Result<Streaming, LinkError> {
        let framing = self.framing().await?;
        match &framing {
            Framing::Length(n) => {
                tracing::info!("MASTER <-> REPLICA sync: receiving {n} bytes from master to disk")
            }
            Framing::EofMark(_) => tracing::info!(
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk"
            ),
        }
        link.transfer_started(match &framing {
            Framing::Length(n) => *n as i64,
            Framing::EofMark(_) => -1,
        });
        data.begin_full_sync(&self.replid, self.offset)
            .map_err(LinkError::Load)?;
        tracing::info!("MASTER <-> REPLICA sync: Loading DB in memory");

        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let (done_tx, done_rx) = oneshot::channel::<Result<LoadStats, DataError>>();
        let loader_data = data.clone();
        let spawned = std::thread::Builder::new()
            .name("rdb-loader".into())
            .spawn(move || {
                let mut reader = ChunkReader {
                    rx,
                    current: Bytes::new(),
                    ended: false,
                };
                let _ = done_tx.send(loader_data.load_rdb(&mut reader));
            });
        if let Err(e) = spawned {
            return Err(LinkError::Io(e));
        }
        let usemark = matches!(framing, Framing::EofMark(_));
        self.receive(framing, &tx, link).await?;
        let _ = tx.send(Piece::End).await;
        drop(tx);
        let stats = self.await_loader(done_rx).await?;
        tracing::info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            stats.keys_loaded,
            stats.keys_expired
        );
        data.adopt_position(&self.replid, self.offset);
        tracing::info!("MASTER <-> REPLICA sync: Finished with success");
        if usemark {
            // A diskless master starts the stream only after the first ACK.
            self.conn.send_raw(&ack_frame(self.offset)).await?;
        }
        Ok(Streaming::new(self.conn))
    }

    /// Moves the payload from the socket to the loader. A loader that
    /// stopped early (it failed) no longer takes chunks; the rest is read
    /// and dropped so the failure is reported, not a stalled transfer.
    async fn receive(
        &mut self,
        framing: Framing,
        tx: &mpsc::Sender<Piece>,
        link: &ReplicaLink,
    ) -> Result<(), LinkError> {
        let mut read: u64 = 0;
        match framing {
            Framing::Length(total) => {
                while read < total {
                    if self.conn.buf.is_empty() {
                        self.fill().await?;
                    }
                    let take = (total - read).min(self.conn.buf.len() as u64) as usize;
                    let chunk = self.conn.buf.split_to(take).freeze();
                    read += take as u64;
                    link.transfer_progress(read);
                    let _ = tx.send(Piece::Data(chunk)).await;
                }
            }
            Framing::EofMark(mark) => loop {
                // Nothing follows the mark until this replica ACKs, so the
                // payload ends when the bytes received end with the mark.
                // The last 40 bytes are held back until then.
                if self.conn.buf.len() >= EOF_MARK_LEN
                    && self.conn.buf[self.conn.buf.len() - EOF_MARK_LEN..] == mark[..]
                {
                    let body = self.conn.buf.len() - EOF_MARK_LEN;
                    let chunk = self.conn.buf.split_to(body).freeze();
                    self.conn.buf.clear();
                    read += chunk.len() as u64;
                    link.transfer_progress(read);
                    if !chunk.is_empty() {
                        let _ = tx.send(Piece::Data(chunk)).await;
                    }
                    return Ok(());
                }
                if self.conn.buf.len() > EOF_MARK_LEN {
                    let body = self.conn.buf.len() - EOF_MARK_LEN;
                    let chunk = self.conn.buf.split_to(body).freeze();
                    read += chunk.len() as u64;
                    link.transfer_progress(read);
                    let _ = tx.send(Piece::Data(chunk)).await;
                }
                self.fill().await?;
            },
        }
        Ok(())
    }

    async fn fill(&mut self) -> Result<(), LinkError> {
        match self.conn.fill(self.timeout).await {
            Err(LinkError::ReadTimeout) => Err(LinkError::TransferTimeout),
            Err(e) => Err(e),
            Ok(_) => Ok(()),
        }
    }

    /// Waits for the loader, telling the master once a second that this
    /// replica is alive (a bare newline, as a loading Redis replica does).
    async fn await_loader(
        &mut self,
        mut done: oneshot::Receiver<Result<LoadStats, DataError>>,
    ) -> Result<LoadStats, LinkError> {
        let mut last_newline = Instant::now();
        loop {
            tokio::select! {
                r = &mut done => {
                    return match r {
                        Ok(Ok(stats)) => Ok(stats),
                        Ok(Err(e)) => Err(LinkError::Load(e)),
                        Err(_) => Err(LinkError::Load(DataError::Commit(
                            "the loader thread ended without a result".into(),
                        ))),
                    };
                }
                _ = tokio::time::sleep(Duration::from_secs(1)) => {
                    if last_newline.elapsed() >= Duration::from_secs(1) {
                        self.conn.send_raw(b"\n").await?;
                        last_newline = Instant::now();
                    }
                }
            }
        }
    }
}
