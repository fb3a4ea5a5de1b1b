//! Who is master and who follows whom. Picks the group's master (the
//! external master; else sentinel's choice; else the one master the nodes
//! report, or the best of several; else, without sentinel and after the
//! failover timeout, the replica with the highest offset), then repoints
//! every other node at it, keeps the role labels the master-only Service
//! selects on, and gives sentinels that lost the group a monitor again.

use std::collections::BTreeMap;

use super::{best_replica, Action, Observed, PodView};
use crate::info::{Endpoint, Role};

/// The master the group should follow.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Master {
    Pod { name: String, endpoint: Endpoint },
    External(Endpoint),
}

impl Master {
    pub(super) fn endpoint(&self) -> &Endpoint {
        match self {
            Master::Pod { endpoint, .. } | Master::External(endpoint) => endpoint,
        }
    }

    fn pod(&self) -> Option<&str> {
        match self {
            Master::Pod { name, .. } => Some(name),
            Master::External(_) => None,
        }
    }
}

/// The topology part of a decision.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Topology {
    pub actions: Vec<Action>,
    pub master: Option<Master>,
    pub master_missing: bool,
    /// Why the group has no usable master, when it has none.
    pub problem: Option<(&'static str, String)>,
}

pub(super) fn plan(obs: &Observed) -> Topology {
    let mut t = match choose_master(obs) {
        Choice::Master(m) => Topology {
            actions: Vec::new(),
            master: Some(m),
            master_missing: false,
            problem: None,
        },
        Choice::None {
            reason,
            message,
            promote,
        } => Topology {
            actions: promote
                .map(|pod| Action::Promote { pod })
                .into_iter()
                .collect(),
            master: None,
            master_missing: true,
            problem: Some((reason, message)),
        },
    };
    if let Some(master) = t.master.clone() {
        follow(obs, &master, &mut t.actions);
        labels(obs, Some(&master), &mut t.actions);
        monitors(obs, &master, &mut t.actions);
    } else {
        // No master: only take the label off nodes that no longer say
        // master, so the master-only Service has no stale endpoint.
        labels(obs, None, &mut t.actions);
    }
    t
}

enum Choice {
    Master(Master),
    None {
        reason: &'static str,
        message: String,
        promote: Option<String>,
    },
}

fn choose_master(obs: &Observed) -> Choice {
    if let Some(ext) = &obs.external_master {
        return Choice::Master(Master::External(ext.clone()));
    }
    let as_master = |p: &PodView| Master::Pod {
        name: p.name.clone(),
        endpoint: p.endpoint.clone(),
    };
    // Sentinel's choice wins when it names one of our pods: sentinel owns
    // failover, the operator does not fight it.
    let sentinel_choice = obs.sentinel.as_ref().and_then(|s| {
        let mut votes: BTreeMap<&Endpoint, usize> = BTreeMap::new();
        for seen in &s.sentinels {
            if let Some(m) = &seen.master {
                *votes.entry(m).or_default() += 1;
            }
        }
        let most = votes.values().copied().max()?;
        let leaders: Vec<_> = votes.iter().filter(|(_, v)| **v == most).collect();
        if leaders.len() != 1 {
            return None;
        }
        let ep = leaders[0].0;
        obs.pods.iter().find(|p| &p.endpoint == *ep)
    });
    if let Some(pod) = sentinel_choice {
        return match pod.reachable().map(|n| n.role) {
            Some(Role::Master) => Choice::Master(as_master(pod)),
            Some(Role::Replica) => Choice::None {
                reason: "SentinelFailingOver",
                message: format!("sentinel names {} but it is still a replica", pod.name),
                promote: None,
            },
            None => Choice::None {
                reason: "MasterDown",
                message: format!("master {} does not answer; sentinel fails over", pod.name),
                promote: None,
            },
        };
    }
    let masters: Vec<&PodView> = obs
        .pods
        .iter()
        .filter(|p| p.reachable().is_some_and(|n| n.role == Role::Master))
        .collect();
    if let Some(best) = masters.iter().max_by(|a, b| {
        // Several masters (a fresh group, a split brain): keep the one
        // replicas follow, then the one with the most data, then pod 0.
        let followers = |p: &PodView| {
            obs.pods
                .iter()
                .filter(|q| q.reachable().is_some_and(|n| n.follows(&p.endpoint)))
                .count()
        };
        let key = |p: &PodView| (followers(p), p.node.as_ref().map_or(0, |n| n.offset));
        key(a).cmp(&key(b)).then(b.ordinal.cmp(&a.ordinal))
    }) {
        return Choice::Master(as_master(best));
    }
    if obs.pods.iter().all(|p| p.reachable().is_none()) {
        return Choice::None {
            reason: "NoNodeAnswers",
            message: "no node of the group answers".to_string(),
            promote: None,
        };
    }
    // Replicas without a master. Sentinel, when it monitors the group,
    // fails over by itself; otherwise the operator promotes after the
    // failover timeout.
    let sentinel_monitors = obs
        .sentinel
        .as_ref()
        .is_some_and(|s| s.sentinels.iter().any(|x| x.master.is_some()));
    if sentinel_monitors {
        return Choice::None {
            reason: "MasterDown",
            message: "no master answers; waiting for sentinel's failover".to_string(),
            promote: None,
        };
    }
    let waited = obs.master_missing_for.unwrap_or_default();
    if waited < obs.failover_timeout {
        return Choice::None {
            reason: "MasterDown",
            message: format!(
                "no master answers for {}s; promoting a replica after {}s",
                waited.as_secs(),
                obs.failover_timeout.as_secs()
            ),
            promote: None,
        };
    }
    match best_replica(&obs.pods, u32::MAX, "") {
        Some(p) => Choice::None {
            reason: "Promoting",
            message: format!(
                "no master for {}s: promoting {}, the replica with the highest offset",
                waited.as_secs(),
                p.name
            ),
            promote: Some(p.name.clone()),
        },
        None => Choice::None {
            reason: "NoCandidate",
            message: "no master and no loaded replica to promote".to_string(),
            promote: None,
        },
    }
}

/// Every reachable node other than the master replicates from it.
fn follow(obs: &Observed, master: &Master, actions: &mut Vec<Action>) {
    let ep = master.endpoint();
    for p in &obs.pods {
        if Some(p.name.as_str()) == master.pod() {
            continue;
        }
        if let Some(n) = p.reachable() {
            // A second master during a sentinel failover is sentinel's to
            // fix; without sentinel (or when sentinel agrees) repoint it.
            if !n.follows(ep) {
                actions.push(Action::ReplicaOf {
                    pod: p.name.clone(),
                    master: ep.clone(),
                });
            }
        }
    }
}

/// `strata.io/role=master` on the master pod only.
fn labels(obs: &Observed, master: Option<&Master>, actions: &mut Vec<Action>) {
    for p in &obs.pods {
        let is_master = master.and_then(|m| m.pod()) == Some(p.name.as_str())
            && p.reachable().is_some_and(|n| n.role == Role::Master);
        let want = if is_master {
            Role::Master
        } else {
            Role::Replica
        };
        if master.is_none()
            && (p.role_label.is_none() || p.reachable().is_some_and(|n| n.role == Role::Master))
        {
            // No master chosen (e.g. sentinel mid-failover): leave a node
            // that still says master as it is.
            continue;
        }
        if p.role_label.as_deref() != Some(want.label()) {
            actions.push(Action::Label {
                pod: p.name.clone(),
                role: want,
            });
        }
    }
}

/// A sentinel that does not monitor the group, or monitors an address that
/// is none of its pods, is given the current master.
fn monitors(obs: &Observed, master: &Master, actions: &mut Vec<Action>) {
    let (Some(s), Master::Pod { endpoint, .. }) = (&obs.sentinel, master) else {
        return;
    };
    for seen in &s.sentinels {
        let knows_a_pod = seen
            .master
            .as_ref()
            .is_some_and(|m| obs.pods.iter().any(|p| &p.endpoint == m));
        if !knows_a_pod {
            actions.push(Action::Monitor {
                sentinel: seen.endpoint.clone(),
                master: endpoint.clone(),
            });
        }
    }
}
