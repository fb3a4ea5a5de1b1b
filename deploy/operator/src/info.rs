//! What a node says about itself: INFO's replication and persistence fields
//! parsed into a `NodeState`, the unit the reconcile decisions reason about.
//! Parsing is pure, so every shape of INFO (master, replica syncing, replica
//! loading, garbage) is unit-tested without a server.

use std::fmt;

/// A node's address as other nodes and sentinels know it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
}

impl Endpoint {
    pub fn new(host: impl Into<String>, port: u16) -> Endpoint {
        Endpoint {
            host: host.into(),
            port,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Master or replica (INFO's `role:master` / `role:slave`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Master,
    Replica,
}

impl Role {
    /// The value of the `strata.io/role` pod label.
    pub fn label(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Replica => "replica",
        }
    }
}

/// One node's replication state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeState {
    pub role: Role,
    /// A replica's master (`master_host`, `master_port`).
    pub master: Option<Endpoint>,
    /// A replica's `master_link_status:up`.
    pub link_up: bool,
    /// A replica's `master_sync_in_progress:1` (initial sync running).
    pub sync_in_progress: bool,
    /// `loading:1`: still loading its dataset.
    pub loading: bool,
    /// `master_repl_offset` of a master, `slave_repl_offset` of a replica.
    pub offset: i64,
    /// A master's `connected_slaves`.
    pub connected_replicas: u32,
}

impl NodeState {
    /// A replica that serves up-to-date data: loaded, link up, sync done.
    pub fn in_sync(&self) -> bool {
        !self.loading
            && match self.role {
                Role::Master => true,
                Role::Replica => self.link_up && !self.sync_in_progress,
            }
    }

    /// A replica following `master`.
    pub fn follows(&self, master: &Endpoint) -> bool {
        self.role == Role::Replica && self.master.as_ref() == Some(master)
    }
}

/// Why an INFO text could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InfoError {
    #[error("INFO has no role field")]
    NoRole,
    #[error("INFO field {field} has a bad value {value:?}")]
    BadValue { field: &'static str, value: String },
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let line = line.trim_end_matches('\r');
        line.strip_prefix(name)?.strip_prefix(':')
    })
}

fn number<T: std::str::FromStr>(info: &str, name: &'static str) -> Result<Option<T>, InfoError> {
    match field(info, name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| InfoError::BadValue {
            field: name,
            value: v.to_string(),
        }),
    }
}

/// Parses INFO's text (all sections or `replication` + `persistence`).
pub fn parse_info(info: &str) -> Result<NodeState, InfoError> {
    let role = match field(info, "role") {
        Some("master") => Role::Master,
        Some("slave") => Role::Replica,
        Some(other) => {
            return Err(InfoError::BadValue {
                field: "role",
                value: other.to_string(),
            })
        }
        None => return Err(InfoError::NoRole),
    };
    let loading = number::<u8>(info, "loading")?.unwrap_or(0) != 0;
    let state = match role {
        Role::Master => NodeState {
            role,
            master: None,
            link_up: false,
            sync_in_progress: false,
            loading,
            offset: number(info, "master_repl_offset")?.unwrap_or(0),
            connected_replicas: number(info, "connected_slaves")?.unwrap_or(0),
        },
        Role::Replica => {
            let host = field(info, "master_host").unwrap_or("").to_string();
            let port = number::<u16>(info, "master_port")?.unwrap_or(0);
            NodeState {
                role,
                master: (!host.is_empty()).then(|| Endpoint::new(host, port)),
                link_up: field(info, "master_link_status") == Some("up"),
                sync_in_progress: number::<u8>(info, "master_sync_in_progress")?.unwrap_or(0) != 0,
                loading,
                offset: number(info, "slave_repl_offset")?.unwrap_or(0),
                connected_replicas: number(info, "connected_slaves")?.unwrap_or(0),
            }
        }
    };
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "# Persistence\r\nloading:0\r\n# Replication\r\nrole:master\r\n\
        connected_slaves:2\r\nslave0:ip=strata-1.h,port=6379,state=online,offset=90,lag=0\r\n\
        master_replid:abc\r\nmaster_repl_offset:120\r\n";

    #[test]
    fn a_master_with_replicas() {
        let s = parse_info(MASTER).expect("parses");
        assert_eq!(s.role, Role::Master);
        assert_eq!(s.offset, 120);
        assert_eq!(s.connected_replicas, 2);
        assert!(s.in_sync());
        assert_eq!(s.master, None);
    }

    #[test]
    fn a_replica_in_sync_and_one_still_syncing() {
        let up = "loading:0\nrole:slave\nmaster_host:strata-0.h\nmaster_port:6379\n\
            master_link_status:up\nmaster_sync_in_progress:0\nslave_repl_offset:118\n";
        let s = parse_info(up).expect("parses");
        assert_eq!(s.role, Role::Replica);
        assert_eq!(s.master, Some(Endpoint::new("strata-0.h", 6379)));
        assert_eq!(s.offset, 118);
        assert!(s.in_sync());
        assert!(s.follows(&Endpoint::new("strata-0.h", 6379)));
        assert!(!s.follows(&Endpoint::new("strata-1.h", 6379)));

        let syncing = up
            .replace("link_status:up", "link_status:down")
            .replace("in_progress:0", "in_progress:1");
        let s = parse_info(&syncing).expect("parses");
        assert!(s.sync_in_progress);
        assert!(!s.in_sync());
    }

    #[test]
    fn a_loading_node_is_not_in_sync() {
        let s = parse_info(&MASTER.replace("loading:0", "loading:1")).expect("parses");
        assert!(s.loading);
        assert!(!s.in_sync());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert_eq!(parse_info(""), Err(InfoError::NoRole));
        assert!(parse_info("role:sentinel\n").is_err());
        assert!(parse_info("role:master\nmaster_repl_offset:lots\n").is_err());
        assert!(parse_info("role:slave\nmaster_port:99999\n").is_err());
    }
}
