//! The replication stream after a synchronisation: the master's commands
//! parsed incrementally, each applied with its exact bytes (which count in
//! the offset, PING, SELECT and REPLCONF GETACK included), `REPLCONF ACK`
//! every second and on GETACK, and a master silent for `repl-timeout`
//! seconds dropped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conn::{ack_frame, MasterConn};
use super::{LinkError, ReplicaLink};
use crate::repl::data::ReplicaData;
use crate::resp::{ParseLimits, RequestParser};

/// Synchronised: the connection carries the stream.
pub struct Streaming {
    conn: MasterConn,
}

/// `REPLCONF GETACK <anything>`: answered before it counts in the offset.
fn is_getack(argv: &[bytes::Bytes]) -> bool {
    argv.len() >= 2
        && argv[0].eq_ignore_ascii_case(b"replconf")
        && argv[1].eq_ignore_ascii_case(b"getack")
}

impl Streaming {
    pub fn new(conn: MasterConn) -> Streaming {
        Streaming { conn }
    }

    /// Applies the stream until the link fails; returns why.
    pub async fn run(mut self, data: Arc<dyn ReplicaData>, link: &ReplicaLink) -> LinkError {
        match self.apply_loop(&*data, link).await {
            Ok(never) => match never {},
            Err(e) => e,
        }
    }

    async fn apply_loop(
        &mut self,
        data: &dyn ReplicaData,
        link: &ReplicaLink,
    ) -> Result<std::convert::Infallible, LinkError> {
        let mut parser = RequestParser::new();
        let limits = ParseLimits {
            max_bulk_len: i64::MAX,
            unauthenticated: false,
        };
        let mut last_io = Instant::now();
        // ACK every second; until the first stream bytes arrive, every
        // 100 ms: a diskless master starts the stream on the first ACK it
        // sees with the replica online, and an ACK sent right after a fast
        // load can reach it before it put the replica online (it would
        // then wait for the next one, a second later).
        let mut ack_tick = tokio::time::interval(Duration::from_millis(100));
        ack_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut got_stream = !self.conn.buf.is_empty();
        let mut ticks: u32 = 0;
        loop {
            // What this read delivered, applied as one stretch; a GETACK
            // is answered with every command before it applied.
            let mut stretch = Vec::new();
            while let Some((argv, raw)) = parser
                .next_frame(&mut self.conn.buf, &limits)
                .map_err(LinkError::Protocol)?
            {
                if is_getack(&argv) {
                    data.apply_stretch(std::mem::take(&mut stretch))
                        .map_err(LinkError::Apply)?;
                    self.send_ack(data).await?;
                }
                stretch.push((argv, raw));
            }
            data.apply_stretch(stretch).map_err(LinkError::Apply)?;
            let applied = data.position().map_or(0, |p| p.offset);
            link.stream_progress(applied + self.conn.buf.len() as u64);
            let timeout = Duration::from_secs(link.settings().timeout_secs);
            tokio::select! {
                r = self.conn.fill(Duration::MAX) => {
                    r?;
                    last_io = Instant::now();
                    got_stream = true;
                    link.master_io();
                }
                _ = ack_tick.tick() => {
                    if last_io.elapsed() > timeout {
                        return Err(LinkError::MasterTimeout);
                    }
                    ticks += 1;
                    if (!got_stream && ticks <= 20) || ticks % 10 == 0 {
                        self.send_ack(data).await?;
                    }
                }
            }
        }
    }

    async fn send_ack(&mut self, data: &dyn ReplicaData) -> Result<(), LinkError> {
        let offset = data.position().map_or(0, |p| p.offset);
        self.conn.send_raw(&ack_frame(offset)).await
    }
}
