//! The node-level actions the controller carries out, over `resp`: read a
//! node's state (INFO), make it a replica (REPLICAOF host port), promote it
//! (REPLICAOF NO ONE), hand mastership over (FAILOVER TO, then wait for the
//! roles to swap), apply hot directives (CONFIG SET) and keep sentinels'
//! monitors right. Tested against real strata-server processes (node_tests).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::NodeError;
use crate::info::{parse_info, Endpoint, NodeState, Role};
use crate::resp::{Conn, Reply};

/// How the operator reaches nodes: password and time limits.
#[derive(Debug, Clone)]
pub struct Nodes {
    pub password: Option<String>,
    pub timeout: Duration,
}

impl Nodes {
    pub fn new(password: Option<String>) -> Nodes {
        Nodes {
            password,
            timeout: Duration::from_secs(3),
        }
    }

    async fn conn(&self, at: &Endpoint) -> Result<Conn, NodeError> {
        Conn::open(&at.host, at.port, self.password.as_deref(), self.timeout).await
    }

    /// INFO, parsed.
    pub async fn state(&self, at: &Endpoint) -> Result<NodeState, NodeError> {
        let mut c = self.conn(at).await?;
        let reply = c.ok(&["INFO"]).await?;
        let text = reply.as_text().ok_or_else(|| NodeError::Protocol {
            addr: at.to_string(),
            what: "INFO did not return text".to_string(),
        })?;
        parse_info(&text).map_err(|e| NodeError::Protocol {
            addr: at.to_string(),
            what: e.to_string(),
        })
    }

    /// ROLE's first element.
    pub async fn role(&self, at: &Endpoint) -> Result<Role, NodeError> {
        let mut c = self.conn(at).await?;
        let reply = c.ok(&["ROLE"]).await?;
        let first = match &reply {
            Reply::Array(items) => items.first().and_then(Reply::as_text),
            _ => None,
        };
        match first.as_deref() {
            Some("master") => Ok(Role::Master),
            Some("slave") => Ok(Role::Replica),
            other => Err(NodeError::Protocol {
                addr: at.to_string(),
                what: format!("ROLE answered {other:?}"),
            }),
        }
    }

    /// `REPLICAOF host port`.
    pub async fn replicaof(&self, at: &Endpoint, master: &Endpoint) -> Result<(), NodeError> {
        let port = master.port.to_string();
        self.conn(at)
            .await?
            .ok(&["REPLICAOF", &master.host, &port])
            .await
            .map(drop)
    }

    /// `REPLICAOF NO ONE`.
    pub async fn promote(&self, at: &Endpoint) -> Result<(), NodeError> {
        self.conn(at)
            .await?
            .ok(&["REPLICAOF", "NO", "ONE"])
            .await
            .map(drop)
    }

    /// `FAILOVER TO host port TIMEOUT ms` on the master, then waits until
    /// the target says master and the old master says replica.
    pub async fn hand_over(
        &self,
        master: &Endpoint,
        to: &Endpoint,
        within: Duration,
    ) -> Result<(), NodeError> {
        let port = to.port.to_string();
        let ms = within.as_millis().to_string();
        self.conn(master)
            .await?
            .ok(&["FAILOVER", "TO", &to.host, &port, "TIMEOUT", &ms])
            .await?;
        let deadline = tokio::time::Instant::now() + within + Duration::from_secs(2);
        loop {
            let swapped = matches!(self.role(to).await, Ok(Role::Master))
                && matches!(self.role(master).await, Ok(Role::Replica));
            if swapped {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(NodeError::Timeout {
                    addr: master.to_string(),
                    millis: within.as_millis() as u64,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `CONFIG GET` of each name (missing names are left out).
    pub async fn config_get(
        &self,
        at: &Endpoint,
        names: &[&str],
    ) -> Result<BTreeMap<String, String>, NodeError> {
        let mut c = self.conn(at).await?;
        let mut out = BTreeMap::new();
        for name in names {
            if let Reply::Array(items) = c.ok(&["CONFIG", "GET", name]).await? {
                for pair in items.chunks(2) {
                    if let [k, v] = pair {
                        if let (Some(k), Some(v)) = (k.as_text(), v.as_text()) {
                            out.insert(k, v);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// `CONFIG SET name value ...` (all or nothing, as the server does it).
    pub async fn config_set(
        &self,
        at: &Endpoint,
        pairs: &[(String, String)],
    ) -> Result<(), NodeError> {
        let mut args = vec!["CONFIG", "SET"];
        for (k, v) in pairs {
            args.push(k);
            args.push(v);
        }
        self.conn(at).await?.ok(&args).await.map(drop)
    }

    /// The master a sentinel names for `name`; `None` when it does not
    /// monitor it.
    pub async fn sentinel_master(
        &self,
        sentinel: &Endpoint,
        name: &str,
    ) -> Result<Option<Endpoint>, NodeError> {
        let mut c = Conn::open(&sentinel.host, sentinel.port, None, self.timeout).await?;
        match c
            .call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name])
            .await?
        {
            Reply::Array(items) => match items.as_slice() {
                [h, p] => {
                    let host = h.as_text().unwrap_or_default();
                    let port = p.as_text().and_then(|p| p.parse().ok());
                    match port {
                        Some(port) if !host.is_empty() => Ok(Some(Endpoint::new(host, port))),
                        _ => Err(NodeError::Protocol {
                            addr: sentinel.to_string(),
                            what: "bad master address".to_string(),
                        }),
                    }
                }
                _ => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// Replaces the sentinel's monitor of `name` with one of `master`.
    pub async fn sentinel_monitor(
        &self,
        sentinel: &Endpoint,
        name: &str,
        master: &Endpoint,
        quorum: u32,
        down_after_ms: u64,
    ) -> Result<(), NodeError> {
        let mut c = Conn::open(&sentinel.host, sentinel.port, None, self.timeout).await?;
        // REMOVE fails when there is no monitor yet; that is fine.
        let _ = c.call(&["SENTINEL", "REMOVE", name]).await?;
        let port = master.port.to_string();
        let q = quorum.to_string();
        c.ok(&["SENTINEL", "MONITOR", name, &master.host, &port, &q])
            .await?;
        let down = down_after_ms.to_string();
        c.ok(&["SENTINEL", "SET", name, "down-after-milliseconds", &down])
            .await?;
        if let Some(pw) = self.password.as_deref().filter(|p| !p.is_empty()) {
            c.ok(&["SENTINEL", "SET", name, "auth-pass", pw]).await?;
        }
        Ok(())
    }

    /// `SENTINEL FAILOVER name`.
    pub async fn sentinel_failover(
        &self,
        sentinel: &Endpoint,
        name: &str,
    ) -> Result<(), NodeError> {
        let mut c = Conn::open(&sentinel.host, sentinel.port, None, self.timeout).await?;
        c.ok(&["SENTINEL", "FAILOVER", name]).await.map(drop)
    }
}
