//! Changes to a healthy group: scaling, hot configuration, restarts. Each
//! waits until the topology is settled (one master, every node following
//! it), and the risky ones (scale-down, restarts) wait until every node is
//! in sync, then move one step per pass:
//! - scale up at once (a new pod is Ready only after its sync);
//! - scale down only when the master survives it, else hand over first;
//! - hot directives by CONFIG SET on every node that differs;
//! - restarts (the StatefulSet's revision changed: cold directives, image,
//!   resources) replicas first, highest ordinal first, one at a time; the
//!   master last, after handing over to an in-sync replica.

use super::topology::{Master, Topology};
use super::{best_replica, Action, Decision, Health, Observed};
use crate::info::Role;

pub(super) fn plan(obs: &Observed, topo: Topology) -> Decision {
    let master_name = topo.master.as_ref().map(|m| match m {
        Master::Pod { name, .. } => name.clone(),
        Master::External(ep) => ep.to_string(),
    });
    let mut actions = topo.actions;

    // Scaling up never waits: missing pods are missing capacity.
    if obs.desired_replicas > obs.statefulset_replicas {
        actions.push(Action::Scale {
            replicas: obs.desired_replicas,
        });
    }
    let decision = |actions: Vec<Action>, health, reason, message: String| Decision {
        actions,
        master: master_name.clone(),
        master_missing: topo.master_missing,
        health,
        reason,
        message,
    };
    if let Some((reason, message)) = topo.problem {
        return decision(actions, Health::Degraded, reason, message);
    }
    let Some(master) = topo.master.as_ref() else {
        return decision(actions, Health::Degraded, "NoMaster", String::new());
    };
    if !actions.is_empty() {
        let n = actions.len();
        return decision(
            actions,
            Health::Progressing,
            "Repairing",
            format!("{n} repairs to the replication topology"),
        );
    }
    let unreachable: Vec<&str> = obs
        .pods
        .iter()
        .filter(|p| p.reachable().is_none())
        .map(|p| p.name.as_str())
        .collect();
    let syncing: Vec<&str> = obs
        .pods
        .iter()
        .filter(|p| p.reachable().is_some_and(|n| !n.in_sync()) || !p.ready)
        .map(|p| p.name.as_str())
        .collect();
    let settled = unreachable.is_empty() && syncing.is_empty();

    // Hot directives: safe any time the node answers.
    for p in &obs.pods {
        if p.reachable().is_none() {
            continue;
        }
        let pairs: Vec<(String, String)> = obs
            .hot_config
            .iter()
            .filter(|(k, v)| p.config.get(*k).map(|c| normalize(c)) != Some(normalize(v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !pairs.is_empty() {
            actions.push(Action::ConfigSet {
                pod: p.name.clone(),
                pairs,
            });
        }
    }

    let master_pod = match master {
        Master::Pod { name, .. } => Some(name.as_str()),
        Master::External(_) => None,
    };
    if obs.desired_replicas < obs.statefulset_replicas {
        if !settled {
            return decision(
                actions,
                Health::Progressing,
                "WaitingForSync",
                format!(
                    "scale-down waits for {}",
                    unreachable
                        .iter()
                        .chain(&syncing)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let doomed_master = obs
            .pods
            .iter()
            .find(|p| Some(p.name.as_str()) == master_pod && p.ordinal >= obs.desired_replicas);
        if let Some(m) = doomed_master {
            return match best_replica(&obs.pods, obs.desired_replicas, &m.name) {
                Some(to) => {
                    actions.push(Action::HandOver {
                        from: m.name.clone(),
                        to: to.name.clone(),
                    });
                    decision(
                        actions,
                        Health::Progressing,
                        "HandingOver",
                        format!("{} hands over to {} before scale-down", m.name, to.name),
                    )
                }
                None => decision(
                    actions,
                    Health::Degraded,
                    "NoHandOverTarget",
                    format!(
                        "scale-down would remove master {}; no replica to take over",
                        m.name
                    ),
                ),
            };
        }
        actions.push(Action::Scale {
            replicas: obs.desired_replicas,
        });
        return decision(
            actions,
            Health::Progressing,
            "ScalingDown",
            format!("to {} nodes", obs.desired_replicas),
        );
    }

    let outdated: Vec<_> = obs.pods.iter().filter(|p| p.outdated).collect();
    if !outdated.is_empty() {
        if !settled {
            return decision(
                actions,
                Health::Progressing,
                "WaitingForSync",
                "rolling restart waits until every node is in sync".to_string(),
            );
        }
        let replica = outdated
            .iter()
            .filter(|p| Some(p.name.as_str()) != master_pod)
            .max_by_key(|p| p.ordinal);
        match replica {
            Some(p) => actions.push(Action::Restart {
                pod: p.name.clone(),
            }),
            None => {
                // Only the master is outdated: hand over first, restart it
                // on a later pass as a replica; alone, restart it.
                let m = outdated[0];
                match best_replica(&obs.pods, u32::MAX, &m.name) {
                    Some(to) => actions.push(Action::HandOver {
                        from: m.name.clone(),
                        to: to.name.clone(),
                    }),
                    None => actions.push(Action::Restart {
                        pod: m.name.clone(),
                    }),
                }
            }
        }
        return decision(
            actions,
            Health::Progressing,
            "RollingRestart",
            format!("{} nodes to restart", outdated.len()),
        );
    }

    let missing = obs.desired_replicas as usize > obs.pods.len();
    if !actions.is_empty() || missing || !settled {
        let why = if !unreachable.is_empty() {
            format!("not answering: {}", unreachable.join(", "))
        } else if !syncing.is_empty() {
            format!("syncing: {}", syncing.join(", "))
        } else if missing {
            format!("{} of {} nodes exist", obs.pods.len(), obs.desired_replicas)
        } else {
            "applying configuration".to_string()
        };
        let health = if unreachable.is_empty() {
            Health::Progressing
        } else {
            Health::Degraded
        };
        return decision(actions, health, "Progressing", why);
    }
    let role = match master {
        Master::Pod { .. } => Role::Master.label(),
        Master::External(_) => "external master",
    };
    decision(
        actions,
        Health::Ready,
        "AllInSync",
        format!(
            "{} nodes in sync with the {role} {}",
            obs.pods.len(),
            master_name.clone().unwrap_or_default()
        ),
    )
}

/// A directive's value as CONFIG GET prints it: memory units in bytes,
/// booleans and enums lowercase, so `1gb` and `1073741824` compare equal.
pub(crate) fn normalize(value: &str) -> String {
    let v = value.trim().to_ascii_lowercase();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let mult: u64 = match unit {
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return v,
    };
    match num.parse::<u64>() {
        Ok(n) => n.saturating_mul(mult).to_string(),
        Err(_) => v,
    }
}
