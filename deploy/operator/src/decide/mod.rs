//! The reconcile decisions as pure functions: what the operator observed
//! (pods, what each node says about its replication, what the sentinels
//! monitor, how long the master has been missing) in, the list of actions to
//! take out. No I/O happens here, so every situation (no master, two
//! masters, a lagging replica, scaling down the master, a config change, a
//! cross-datacenter group) is a unit test, and the controller only carries
//! actions out. Level-based: the same observation always yields the same
//! actions, and a pass that finds nothing to fix yields none.
//!
//! The mode decides the shape: `sentinel` (master and replicas) is
//! `topology` + `rollout`; `cluster` mode will add its own planner beside
//! them (slots, proxy) without changing the observation/action contract.

mod rollout;
mod topology;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::crd::Mode;
use crate::info::{Endpoint, NodeState, Role};

/// One pod of the group as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct PodView {
    pub name: String,
    pub ordinal: u32,
    /// How nodes and sentinels reach it (pod DNS name and port).
    pub endpoint: Endpoint,
    /// Kubernetes' Ready condition.
    pub ready: bool,
    /// Its revision is not the StatefulSet's update revision (restart due).
    pub outdated: bool,
    /// Being deleted.
    pub terminating: bool,
    /// The `strata.io/role` label.
    pub role_label: Option<String>,
    /// What the node said; `None` when it did not answer.
    pub node: Option<NodeState>,
    /// CONFIG GET of the hot directives the spec sets.
    pub config: BTreeMap<String, String>,
}

impl PodView {
    fn reachable(&self) -> Option<&NodeState> {
        if self.terminating {
            None
        } else {
            self.node.as_ref()
        }
    }
}

/// What one sentinel monitors under the group's name.
#[derive(Debug, Clone, PartialEq)]
pub struct SentinelSeen {
    pub endpoint: Endpoint,
    /// `None`: reachable, but it does not monitor the group.
    pub master: Option<Endpoint>,
}

/// The sentinels of the group (only reachable ones are listed).
#[derive(Debug, Clone, PartialEq)]
pub struct SentinelView {
    pub sentinels: Vec<SentinelSeen>,
}

/// Everything a decision depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    pub mode: Mode,
    pub desired_replicas: u32,
    /// The StatefulSet's current `spec.replicas`.
    pub statefulset_replicas: u32,
    pub pods: Vec<PodView>,
    /// The cross-datacenter master every node follows.
    pub external_master: Option<Endpoint>,
    pub sentinel: Option<SentinelView>,
    /// How long the operator has seen no master (from the status).
    pub master_missing_for: Option<Duration>,
    pub failover_timeout: Duration,
    /// Hot directives of the spec and their desired values.
    pub hot_config: BTreeMap<String, String>,
}

/// One step for the controller to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Set the StatefulSet's replicas.
    Scale { replicas: u32 },
    /// `REPLICAOF NO ONE` on a pod (no sentinel, master gone too long).
    Promote { pod: String },
    /// `REPLICAOF host port` on a pod.
    ReplicaOf { pod: String, master: Endpoint },
    /// `FAILOVER TO` from the master pod to a replica pod (or SENTINEL
    /// FAILOVER when sentinel watches the group).
    HandOver { from: String, to: String },
    /// Set the pod's `strata.io/role` label.
    Label { pod: String, role: Role },
    /// `SENTINEL MONITOR` (after REMOVE) on one sentinel.
    Monitor {
        sentinel: Endpoint,
        master: Endpoint,
    },
    /// `CONFIG SET` of hot directives on one pod.
    ConfigSet {
        pod: String,
        pairs: Vec<(String, String)>,
    },
    /// Delete the pod so the StatefulSet recreates it at the new revision.
    Restart { pod: String },
}

/// The health the status reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// One master, every node in sync and current.
    Ready,
    /// Working towards the spec (actions pending, nodes syncing).
    Progressing,
    /// No usable master, or nodes that do not answer.
    Degraded,
}

/// The outcome of one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub actions: Vec<Action>,
    /// The master: a pod's name, or the external master's address.
    pub master: Option<String>,
    /// True while the group has no master (starts the failover clock).
    pub master_missing: bool,
    pub health: Health,
    /// A short CamelCase reason and a sentence, for the conditions.
    pub reason: &'static str,
    pub message: String,
}

/// Decides what to do about the observed group.
pub fn decide(obs: &Observed) -> Decision {
    match obs.mode {
        Mode::Sentinel => {
            let topo = topology::plan(obs);
            rollout::plan(obs, topo)
        }
        Mode::Cluster => Decision {
            actions: Vec::new(),
            master: None,
            master_missing: false,
            health: Health::Degraded,
            reason: "ModeNotSupported",
            message: "cluster mode needs Redis Cluster support in strata-server; \
                      use mode: sentinel"
                .to_string(),
        },
    }
}

/// The replica a master hands over to, or a failover promotes: reachable,
/// loaded and in sync, highest offset, lowest ordinal on ties; only pods
/// below `below` (the ordinals that survive a scale-down) qualify.
fn best_replica<'a>(pods: &'a [PodView], below: u32, exclude: &str) -> Option<&'a PodView> {
    pods.iter()
        .filter(|p| p.ordinal < below && p.name != exclude)
        .filter(|p| {
            p.reachable()
                .is_some_and(|n| n.role == Role::Replica && !n.loading)
        })
        .max_by(|a, b| {
            let (na, nb) = (a.node.as_ref(), b.node.as_ref());
            let key = |n: Option<&NodeState>| n.map(|n| (n.in_sync(), n.offset));
            key(na).cmp(&key(nb)).then(b.ordinal.cmp(&a.ordinal))
        })
}
