//! The handshake of a Redis 7.0 replica, one type per state: each step
//! consumes its state and returns the next, so a step cannot be skipped or
//! repeated and no flag says where the link is.
//!
//! `Connecting` -> `AwaitingPong` -> `Announcing` -> `AwaitingPsyncReply`
//! -> a [`PsyncOutcome`]: a full resync (an RDB follows, `sync.rs`), a
//! partial one (the stream follows, `stream.rs`), "try later", or a master
//! without PSYNC (`SyncFallback`, which asks with the old SYNC).

use std::time::Duration;

use super::conn::MasterConn;
use super::sync::FullSync;
use super::{LinkError, Target};
use crate::repl::data::MasterPosition;

/// What the replica tells its master about itself.
pub struct Announce {
    /// `(masteruser, masterauth)`.
    pub auth: Option<(Option<String>, String)>,
    /// `replica-announce-port`, else the listening port.
    pub listening_port: u16,
    /// `replica-announce-ip`, sent only when set.
    pub ip: Option<String>,
    /// A FAILOVER is handing mastership to this master: PSYNC says so.
    pub failover: bool,
}

/// Before the TCP connection.
pub struct Connecting<'a> {
    pub target: &'a Target,
    pub timeout: Duration,
}

/// Connected; PING not answered yet.
pub struct AwaitingPong {
    conn: MasterConn,
    timeout: Duration,
}

/// The master answered PING; AUTH and REPLCONF go next.
pub struct Announcing {
    conn: MasterConn,
    timeout: Duration,
}

/// PSYNC sent; its reply decides the kind of synchronisation.
pub struct AwaitingPsyncReply {
    conn: MasterConn,
    timeout: Duration,
    asked: Option<MasterPosition>,
}

/// A master that refused PSYNC with an error: it may know only SYNC.
pub struct SyncFallback {
    conn: MasterConn,
    timeout: Duration,
}

/// The master accepted a partial resynchronisation.
pub struct Continued {
    pub conn: MasterConn,
    /// The master's id when it differs from the one asked for.
    pub new_replid: Option<String>,
}

pub enum PsyncOutcome {
    Full(FullSync),
    Partial(Continued),
    /// `-LOADING` / `-NOMASTERLINK`: reconnect later.
    TryLater(String),
    NoPsync(SyncFallback),
}

impl Connecting<'_> {
    pub async fn connect(self) -> Result<AwaitingPong, LinkError> {
        let conn = MasterConn::connect(&self.target.host, self.target.port, self.timeout).await?;
        tracing::info!("Non blocking connect for SYNC fired the event.");
        Ok(AwaitingPong {
            conn,
            timeout: self.timeout,
        })
    }
}

impl AwaitingPong {
    /// Sends PING. Any status reply goes on; so do the errors of a master
    /// that wants authentication first (AUTH comes next).
    pub async fn ping(mut self) -> Result<Announcing, LinkError> {
        self.conn.send(&[b"PING"]).await?;
        let reply = self.conn.read_reply(self.timeout).await?;
        let needs_auth = ["-NOAUTH", "-NOPERM", "-ERR operation not permitted"]
            .iter()
            .any(|p| reply.starts_with(p));
        if reply.starts_with('-') && !needs_auth {
            return Err(LinkError::PingRefused(reply[1..].to_string()));
        }
        if needs_auth {
            tracing::debug!("Master wants authentication before PING: {reply}");
        }
        tracing::info!("Master replied to PING, replication can continue...");
        Ok(Announcing {
            conn: self.conn,
            timeout: self.timeout,
        })
    }
}

impl Announcing {
    /// Pipelines AUTH, REPLCONF listening-port, REPLCONF ip-address and
    /// REPLCONF capa, reads their replies in order, then sends PSYNC for
    /// `position` (or `PSYNC ? -1` without one).
    pub async fn announce(
        mut self,
        me: &Announce,
        position: Option<MasterPosition>,
    ) -> Result<AwaitingPsyncReply, LinkError> {
        let mut out = Vec::new();
        if let Some((user, pass)) = &me.auth {
            match user {
                Some(u) => out.extend(super::conn::encode_command(&[
                    b"AUTH",
                    u.as_bytes(),
                    pass.as_bytes(),
                ])),
                None => out.extend(super::conn::encode_command(&[b"AUTH", pass.as_bytes()])),
            }
        }
        let port = me.listening_port.to_string();
        out.extend(super::conn::encode_command(&[
            b"REPLCONF",
            b"listening-port",
            port.as_bytes(),
        ]));
        if let Some(ip) = &me.ip {
            out.extend(super::conn::encode_command(&[
                b"REPLCONF",
                b"ip-address",
                ip.as_bytes(),
            ]));
        }
        out.extend(super::conn::encode_command(&[
            b"REPLCONF",
            b"capa",
            b"eof",
            b"capa",
            b"psync2",
        ]));
        self.conn.send_raw(&out).await?;

        if me.auth.is_some() {
            let reply = self.conn.read_reply(self.timeout).await?;
            if let Some(err) = reply.strip_prefix('-') {
                return Err(LinkError::AuthRefused(err.to_string()));
            }
        }
        // Errors to REPLCONF are not fatal: older masters, relays and
        // keepers may not know an option.
        let mut asked = vec!["listening-port"];
        if me.ip.is_some() {
            asked.push("ip-address");
        }
        asked.push("capa");
        for option in asked {
            let reply = self.conn.read_reply(self.timeout).await?;
            if let Some(err) = reply.strip_prefix('-') {
                tracing::info!(
                    "(Non critical) Master does not understand REPLCONF {option}: {err}"
                );
            }
        }

        match &position {
            Some(p) => {
                let next = (p.offset + 1).to_string();
                tracing::info!(
                    "Trying a partial resynchronization (request {}:{}).",
                    p.replid,
                    next
                );
                let mut psync: Vec<&[u8]> = vec![b"PSYNC", p.replid.as_bytes(), next.as_bytes()];
                if me.failover {
                    psync.push(b"FAILOVER");
                }
                self.conn.send(&psync).await?;
            }
            None => {
                tracing::info!("Partial resynchronization not possible (no cached master)");
                let mut psync: Vec<&[u8]> = vec![b"PSYNC", b"?", b"-1"];
                if me.failover {
                    psync.push(b"FAILOVER");
                }
                self.conn.send(&psync).await?;
            }
        }
        Ok(AwaitingPsyncReply {
            conn: self.conn,
            timeout: self.timeout,
            asked: position,
        })
    }
}

impl AwaitingPsyncReply {
    /// Reads the PSYNC reply (skipping keep-alive newlines).
    pub async fn outcome(mut self) -> Result<PsyncOutcome, LinkError> {
        let reply = self.conn.read_reply(self.timeout).await?;
        if let Some(rest) = reply.strip_prefix("+FULLRESYNC") {
            let mut words = rest.split_whitespace();
            let replid = words.next().unwrap_or_default();
            let offset = words.next().and_then(|o| o.parse::<u64>().ok());
            let (replid, offset) = match offset {
                Some(o) if replid.len() == 40 => (replid.to_string(), o),
                _ => {
                    tracing::warn!("Master replied with wrong +FULLRESYNC syntax.");
                    (String::new(), offset.unwrap_or(0))
                }
            };
            tracing::info!("Full resync from master: {replid}:{offset}");
            return Ok(PsyncOutcome::Full(FullSync::new(
                self.conn,
                replid,
                offset,
                self.timeout,
            )));
        }
        if let Some(rest) = reply.strip_prefix("+CONTINUE") {
            tracing::info!("Successful partial resynchronization with master.");
            // `+CONTINUE [<replid>]`; an XPipe keeper may add its offset
            // after the id, which Redis's parser would not take for an id.
            let id = rest.split_whitespace().next().unwrap_or_default();
            let new_replid = (id.len() == 40
                && self.asked.as_ref().is_some_and(|a| a.replid != id))
            .then(|| id.to_string());
            if let Some(id) = &new_replid {
                tracing::info!("Master replication ID changed to {id}");
            }
            tracing::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
            return Ok(PsyncOutcome::Partial(Continued {
                conn: self.conn,
                new_replid,
            }));
        }
        if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
            tracing::info!(
                "Master is currently unable to PSYNC but should be in the future: {reply}"
            );
            return Ok(PsyncOutcome::TryLater(reply));
        }
        if reply.starts_with("-ERR") {
            tracing::info!("Master does not support PSYNC or is in error state (reply: {reply})");
        } else {
            tracing::warn!("Unexpected reply to PSYNC from master: {reply}");
        }
        Ok(PsyncOutcome::NoPsync(SyncFallback {
            conn: self.conn,
            timeout: self.timeout,
        }))
    }
}

impl SyncFallback {
    /// Asks with the pre-PSYNC `SYNC`: the RDB follows with no
    /// `+FULLRESYNC`, so no replication id or offset is known; the data is
    /// given a fresh id at offset 0.
    pub async fn sync(mut self) -> Result<FullSync, LinkError> {
        tracing::info!("Retrying with SYNC...");
        self.conn.send_raw(b"SYNC\r\n").await?;
        let replid: String = (0..40)
            .map(|_| format!("{:x}", rand::random::<u8>() & 0xf))
            .collect();
        Ok(FullSync::new(self.conn, replid, 0, self.timeout))
    }
}
