//! The operator's error types: one enum per boundary (a node's RESP
//! connection, the Kubernetes API), so callers can tell "this node is down"
//! from "the API refused" and react differently.

use thiserror::Error;

/// Talking to one Strata (or sentinel) node.
#[derive(Debug, Error)]
pub enum NodeError {
    #[error("cannot reach {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr}: {source}")]
    Io {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{addr}: timed out after {millis} ms")]
    Timeout { addr: String, millis: u64 },
    #[error("{addr}: malformed reply: {what}")]
    Protocol { addr: String, what: String },
    #[error("{addr}: {command} failed: {message}")]
    Command {
        addr: String,
        command: String,
        message: String,
    },
}

/// A reconcile pass.
#[derive(Debug, Error)]
pub enum ReconcileError {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("node: {0}")]
    Node(#[from] NodeError),
    #[error("serializing {what}: {source}")]
    Serialize {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the StrataCluster has no {0}")]
    Missing(&'static str),
}
