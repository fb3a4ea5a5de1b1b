//! The decisions over many situations. Each test builds an observation of a
//! group (`Group`), decides, and asserts the exact actions.

use std::collections::BTreeMap;
use std::time::Duration;

use super::*;
use crate::crd::Mode;
use crate::info::{Endpoint, NodeState, Role};

fn ep(i: u32) -> Endpoint {
    Endpoint::new(format!("s-{i}.s-headless.ns.svc"), 6379)
}

fn name(i: u32) -> String {
    format!("s-{i}")
}

fn master(offset: i64, replicas: u32) -> Option<NodeState> {
    Some(NodeState {
        role: Role::Master,
        master: None,
        link_up: false,
        sync_in_progress: false,
        loading: false,
        offset,
        connected_replicas: replicas,
    })
}

fn replica_of(m: u32, offset: i64) -> Option<NodeState> {
    Some(NodeState {
        role: Role::Replica,
        master: Some(ep(m)),
        link_up: true,
        sync_in_progress: false,
        loading: false,
        offset,
        connected_replicas: 0,
    })
}

fn pod(i: u32, node: Option<NodeState>) -> PodView {
    let label = node.as_ref().map(|n| n.role.label().to_string());
    PodView {
        name: name(i),
        ordinal: i,
        endpoint: ep(i),
        ready: node.as_ref().is_some_and(|n| n.in_sync()),
        outdated: false,
        terminating: false,
        role_label: label,
        node,
        config: BTreeMap::new(),
    }
}

/// A healthy group of `n`: s-0 master at offset 100, the rest in sync.
fn healthy(n: u32) -> Observed {
    let mut pods = vec![pod(0, master(100, n - 1))];
    pods.extend((1..n).map(|i| pod(i, replica_of(0, 100))));
    Observed {
        mode: Mode::Sentinel,
        desired_replicas: n,
        statefulset_replicas: n,
        pods,
        external_master: None,
        sentinel: None,
        master_missing_for: None,
        failover_timeout: Duration::from_secs(30),
        hot_config: BTreeMap::new(),
    }
}

fn with_sentinels(mut obs: Observed, masters: &[Option<u32>]) -> Observed {
    obs.sentinel = Some(SentinelView {
        sentinels: masters
            .iter()
            .enumerate()
            .map(|(i, m)| SentinelSeen {
                endpoint: Endpoint::new(format!("sent-{i}"), 26379),
                master: m.map(ep),
            })
            .collect(),
    });
    obs
}

#[test]
fn a_healthy_group_needs_nothing_and_is_ready() {
    let d = decide(&healthy(3));
    assert_eq!(d.actions, vec![]);
    assert_eq!(d.health, Health::Ready);
    assert_eq!(d.master.as_deref(), Some("s-0"));
    assert!(!d.master_missing);
}

#[test]
fn a_fresh_group_of_masters_bootstraps_pod_0_as_master() {
    let mut obs = healthy(3);
    for p in &mut obs.pods {
        p.node = master(0, 0);
        p.role_label = None;
    }
    let d = decide(&obs);
    assert_eq!(d.master.as_deref(), Some("s-0"));
    assert_eq!(
        d.actions,
        vec![
            Action::ReplicaOf {
                pod: name(1),
                master: ep(0)
            },
            Action::ReplicaOf {
                pod: name(2),
                master: ep(0)
            },
            Action::Label {
                pod: name(0),
                role: Role::Master
            },
            Action::Label {
                pod: name(1),
                role: Role::Replica
            },
            Action::Label {
                pod: name(2),
                role: Role::Replica
            },
        ]
    );
    assert_eq!(d.health, Health::Progressing);
}

#[test]
fn two_masters_keep_the_one_replicas_follow() {
    // s-2 came back as a master (split brain); s-1 follows s-0.
    let mut obs = healthy(3);
    obs.pods[2].node = master(500, 0);
    obs.pods[2].role_label = Some("master".into());
    let d = decide(&obs);
    assert_eq!(d.master.as_deref(), Some("s-0"));
    assert_eq!(
        d.actions,
        vec![
            Action::ReplicaOf {
                pod: name(2),
                master: ep(0)
            },
            Action::Label {
                pod: name(2),
                role: Role::Replica
            },
        ]
    );
}

#[test]
fn two_masters_without_followers_keep_the_one_with_more_data() {
    let mut obs = healthy(2);
    obs.pods[0].node = master(10, 0);
    obs.pods[1].node = master(90, 0);
    let d = decide(&obs);
    assert_eq!(d.master.as_deref(), Some("s-1"));
    assert!(d.actions.contains(&Action::ReplicaOf {
        pod: name(0),
        master: ep(1)
    }));
}

#[test]
fn no_master_without_sentinel_waits_for_the_failover_timeout() {
    let mut obs = healthy(3);
    obs.pods[0].node = None;
    obs.master_missing_for = Some(Duration::from_secs(10));
    let d = decide(&obs);
    assert!(d.master_missing);
    assert_eq!(d.health, Health::Degraded);
    assert!(!d
        .actions
        .iter()
        .any(|a| matches!(a, Action::Promote { .. } | Action::ReplicaOf { .. })));
}

#[test]
fn no_master_without_sentinel_promotes_the_replica_with_the_highest_offset() {
    let mut obs = healthy(4);
    obs.pods[0].node = None;
    obs.pods[1].node = replica_of(0, 80);
    obs.pods[2].node = replica_of(0, 95);
    obs.pods[3].node = replica_of(0, 95);
    obs.master_missing_for = Some(Duration::from_secs(31));
    let d = decide(&obs);
    assert!(d.master_missing);
    // Highest offset; s-2 over s-3 on the tie (lower ordinal).
    assert_eq!(d.actions[0], Action::Promote { pod: name(2) });
    assert_eq!(d.reason, "Promoting");
}

#[test]
fn after_a_promotion_the_others_follow_the_new_master() {
    let mut obs = healthy(3);
    obs.pods[0].node = None;
    obs.pods[2].node = master(95, 0);
    let d = decide(&obs);
    assert_eq!(d.master.as_deref(), Some("s-2"));
    assert!(d.actions.contains(&Action::ReplicaOf {
        pod: name(1),
        master: ep(2)
    }));
    assert!(d.actions.contains(&Action::Label {
        pod: name(2),
        role: Role::Master
    }));
    // The unreachable old master loses its master label.
    assert!(d.actions.contains(&Action::Label {
        pod: name(0),
        role: Role::Replica
    }));
}

#[test]
fn a_loading_replica_is_never_promoted() {
    let mut obs = healthy(3);
    obs.pods[0].node = None;
    obs.pods[1].node = replica_of(0, 200).map(|mut n| {
        n.loading = true;
        n
    });
    obs.pods[2].node = replica_of(0, 50);
    obs.master_missing_for = Some(Duration::from_secs(60));
    let d = decide(&obs);
    assert_eq!(d.actions[0], Action::Promote { pod: name(2) });
}

#[test]
fn with_sentinel_the_operator_leaves_failover_to_sentinel() {
    let mut obs = with_sentinels(healthy(3), &[Some(0), Some(0), Some(0)]);
    obs.pods[0].node = None;
    obs.master_missing_for = Some(Duration::from_secs(600));
    let d = decide(&obs);
    assert!(d.master_missing);
    assert!(!d
        .actions
        .iter()
        .any(|a| matches!(a, Action::Promote { .. } | Action::ReplicaOf { .. })));
    assert_eq!(d.reason, "MasterDown");
}

#[test]
fn sentinels_choice_is_followed_and_lost_monitors_are_repaired() {
    // Sentinel promoted s-1; one sentinel restarted empty, one points at
    // an address that is no pod of the group.
    let mut obs = healthy(3);
    obs.pods[0].node = replica_of(1, 100);
    obs.pods[1].node = master(100, 1);
    obs.pods[2].node = replica_of(0, 100);
    obs = with_sentinels(obs, &[Some(1), None, Some(1)]);
    if let Some(s) = obs.sentinel.as_mut() {
        s.sentinels.push(SentinelSeen {
            endpoint: Endpoint::new("sent-3", 26379),
            master: Some(Endpoint::new("10.0.0.9", 6379)),
        });
    }
    let d = decide(&obs);
    assert_eq!(d.master.as_deref(), Some("s-1"));
    assert_eq!(
        d.actions,
        vec![
            Action::ReplicaOf {
                pod: name(2),
                master: ep(1)
            },
            Action::Label {
                pod: name(0),
                role: Role::Replica
            },
            Action::Label {
                pod: name(1),
                role: Role::Master
            },
            Action::Monitor {
                sentinel: Endpoint::new("sent-1", 26379),
                master: ep(1)
            },
            Action::Monitor {
                sentinel: Endpoint::new("sent-3", 26379),
                master: ep(1)
            },
        ]
    );
}

#[test]
fn sentinel_naming_a_replica_means_a_failover_in_flight() {
    let obs = with_sentinels(healthy(3), &[Some(1), Some(1), Some(1)]);
    let d = decide(&obs);
    assert_eq!(d.reason, "SentinelFailingOver");
    assert!(d.actions.is_empty());
}

#[test]
fn a_lagging_replica_keeps_the_group_progressing_and_blocks_restarts() {
    let mut obs = healthy(3);
    obs.pods[2].node = replica_of(0, 40).map(|mut n| {
        n.sync_in_progress = true;
        n.link_up = false;
        n
    });
    obs.pods[2].ready = false;
    obs.pods[1].outdated = true;
    let d = decide(&obs);
    assert!(d.actions.is_empty());
    assert_eq!(d.health, Health::Progressing);
    assert_eq!(d.reason, "WaitingForSync");
}

#[test]
fn scale_up_happens_at_once() {
    let mut obs = healthy(3);
    obs.desired_replicas = 5;
    let d = decide(&obs);
    assert_eq!(d.actions, vec![Action::Scale { replicas: 5 }]);
}

#[test]
fn scale_down_of_replicas_only() {
    let mut obs = healthy(5);
    obs.desired_replicas = 3;
    let d = decide(&obs);
    assert_eq!(d.actions, vec![Action::Scale { replicas: 3 }]);
}

#[test]
fn scale_down_of_the_master_hands_over_first() {
    // s-3 is master (after a failover); scaling to 2 would remove it.
    let mut obs = healthy(4);
    obs.pods[0].node = replica_of(3, 100);
    obs.pods[1].node = replica_of(3, 90);
    obs.pods[2].node = replica_of(3, 100);
    obs.pods[3].node = master(100, 3);
    obs.pods[0].role_label = Some("replica".into());
    obs.pods[3].role_label = Some("master".into());
    obs.desired_replicas = 2;
    let d = decide(&obs);
    // Only s-0 and s-1 survive; s-0 has the higher offset.
    assert_eq!(
        d.actions,
        vec![Action::HandOver {
            from: name(3),
            to: name(0)
        }]
    );
    assert_eq!(d.reason, "HandingOver");
}

#[test]
fn scale_down_waits_while_a_replica_syncs() {
    let mut obs = healthy(3);
    obs.pods[1].ready = false;
    obs.desired_replicas = 2;
    let d = decide(&obs);
    assert!(d.actions.is_empty());
    assert_eq!(d.reason, "WaitingForSync");
}

#[test]
fn a_hot_config_change_is_a_config_set_on_every_node_that_differs() {
    let mut obs = healthy(3);
    obs.hot_config.insert("maxclients".into(), "5000".into());
    obs.hot_config
        .insert("client-query-buffer-limit".into(), "1gb".into());
    for p in &mut obs.pods {
        p.config
            .insert("client-query-buffer-limit".into(), "1073741824".into());
        p.config.insert("maxclients".into(), "10000".into());
    }
    obs.pods[1]
        .config
        .insert("maxclients".into(), "5000".into());
    let d = decide(&obs);
    let set = |i| Action::ConfigSet {
        pod: name(i),
        pairs: vec![("maxclients".into(), "5000".into())],
    };
    assert_eq!(d.actions, vec![set(0), set(2)]);
}

#[test]
fn a_cold_change_restarts_replicas_first_highest_ordinal_first() {
    let mut obs = healthy(3);
    for p in &mut obs.pods {
        p.outdated = true;
    }
    let d = decide(&obs);
    assert_eq!(d.actions, vec![Action::Restart { pod: name(2) }]);
    obs.pods[2].outdated = false;
    let d = decide(&obs);
    assert_eq!(d.actions, vec![Action::Restart { pod: name(1) }]);
}

#[test]
fn the_master_restarts_last_after_a_hand_over() {
    let mut obs = healthy(3);
    obs.pods[0].outdated = true;
    obs.pods[1].node = replica_of(0, 99);
    let d = decide(&obs);
    assert_eq!(
        d.actions,
        vec![Action::HandOver {
            from: name(0),
            to: name(2)
        }]
    );
}

#[test]
fn a_single_node_restarts_without_a_hand_over() {
    let mut obs = healthy(1);
    obs.pods[0].outdated = true;
    let d = decide(&obs);
    assert_eq!(d.actions, vec![Action::Restart { pod: name(0) }]);
}

#[test]
fn an_external_master_is_followed_by_every_node_pod_0_included() {
    let mut obs = healthy(3);
    let ext = Endpoint::new("redis.dc1.example.com", 6379);
    obs.external_master = Some(ext.clone());
    let d = decide(&obs);
    assert_eq!(d.master.as_deref(), Some("redis.dc1.example.com:6379"));
    assert_eq!(
        d.actions[..3],
        [
            Action::ReplicaOf {
                pod: name(0),
                master: ext.clone()
            },
            Action::ReplicaOf {
                pod: name(1),
                master: ext.clone()
            },
            Action::ReplicaOf {
                pod: name(2),
                master: ext.clone()
            },
        ]
    );
    assert!(d.actions.contains(&Action::Label {
        pod: name(0),
        role: Role::Replica
    }));
    // Once they follow it, nothing more, and no promotion ever happens.
    for p in &mut obs.pods {
        p.node = p.node.take().map(|mut n| {
            n.role = Role::Replica;
            n.master = Some(ext.clone());
            n.link_up = true;
            n
        });
        p.role_label = Some("replica".into());
    }
    let d = decide(&obs);
    assert_eq!(d.actions, vec![]);
    assert_eq!(d.health, Health::Ready);
}

#[test]
fn nothing_answers_is_degraded_without_actions() {
    let mut obs = healthy(3);
    for p in &mut obs.pods {
        p.node = None;
    }
    obs.master_missing_for = Some(Duration::from_secs(999));
    let d = decide(&obs);
    assert_eq!(d.reason, "NoNodeAnswers");
    assert_eq!(d.health, Health::Degraded);
    assert!(d.actions.iter().all(|a| matches!(a, Action::Label { .. })));
}

#[test]
fn a_terminating_master_counts_as_gone() {
    let mut obs = healthy(3);
    obs.pods[0].terminating = true;
    let d = decide(&obs);
    assert!(d.master_missing);
}

#[test]
fn cluster_mode_is_reported_not_acted_on() {
    let mut obs = healthy(3);
    obs.mode = Mode::Cluster;
    let d = decide(&obs);
    assert!(d.actions.is_empty());
    assert_eq!(d.reason, "ModeNotSupported");
}

#[test]
fn decisions_are_level_based() {
    let mut obs = healthy(3);
    obs.pods[2].node = master(7, 0);
    assert_eq!(decide(&obs), decide(&obs));
}

#[test]
fn memory_values_compare_in_bytes() {
    use super::rollout::normalize;
    assert_eq!(normalize("1gb"), "1073741824");
    assert_eq!(normalize("64MB"), normalize("67108864"));
    assert_eq!(normalize("1k"), "1000");
    assert_eq!(normalize("Yes"), "yes");
    assert_eq!(normalize("allkeys-lru"), "allkeys-lru");
}
