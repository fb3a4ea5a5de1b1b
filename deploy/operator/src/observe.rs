//! Collecting the observation `decide` works on: the StatefulSet and its
//! pods from the API, each pod's replication state and hot directives from
//! the node itself, and what every sentinel monitors. The conversion of one
//! pod (`pod_view`) is pure and unit-tested; the gathering is thin glue.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::chrono::{DateTime, Utc};
use kube::ResourceExt;

use crate::crd::StrataCluster;
use crate::decide::{Observed, PodView, SentinelSeen, SentinelView};
use crate::error::ReconcileError;
use crate::info::{Endpoint, NodeState};
use crate::kubeapi::Kube;
use crate::node::Nodes;
use crate::resources::{self, Names, ROLE_LABEL};

/// One pod as `decide` sees it; `None` for a pod that is not one of the
/// group's ordinals.
pub fn pod_view(
    pod: &Pod,
    names: &Names,
    update_revision: Option<&str>,
    node: Option<NodeState>,
    config: BTreeMap<String, String>,
) -> Option<PodView> {
    let name = pod.name_any();
    let ordinal: u32 = name
        .strip_prefix(&format!("{}-", names.cluster))?
        .parse()
        .ok()?;
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let revision = pod
        .labels()
        .get("controller-revision-hash")
        .map(String::as_str);
    let outdated = matches!((revision, update_revision), (Some(a), Some(b)) if a != b);
    Some(PodView {
        endpoint: names.pod_endpoint(ordinal),
        name,
        ordinal,
        ready,
        outdated,
        terminating: pod.metadata.deletion_timestamp.is_some(),
        role_label: pod.labels().get(ROLE_LABEL).cloned(),
        node,
        config,
    })
}

/// How long the master has been missing, from the status' timestamp.
pub fn missing_for(c: &StrataCluster, now: DateTime<Utc>) -> Option<Duration> {
    let since = c.status.as_ref()?.master_lost_since.as_ref()?;
    let since = DateTime::parse_from_rfc3339(since).ok()?;
    (now - since.with_timezone(&Utc)).to_std().ok()
}

/// Gathers the observation of one cluster.
pub async fn observe(
    kube: &Kube,
    nodes: &Nodes,
    c: &StrataCluster,
    names: &Names,
    sts: Option<&StatefulSet>,
    now: DateTime<Utc>,
) -> Result<Observed, ReconcileError> {
    let update_revision = sts
        .and_then(|s| s.status.as_ref())
        .and_then(|s| s.update_revision.clone());
    let statefulset_replicas = sts
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(c.spec.replicas)
        .max(0) as u32;
    let hot = resources::hot_config(c);
    let hot_names: Vec<&str> = hot.keys().map(String::as_str).collect();
    let mut pods = Vec::new();
    for pod in kube.pods(names).await? {
        let Some(mut view) = pod_view(
            &pod,
            names,
            update_revision.as_deref(),
            None,
            BTreeMap::new(),
        ) else {
            continue;
        };
        if !view.terminating {
            match nodes.state(&view.endpoint).await {
                Ok(state) => view.node = Some(state),
                Err(e) => tracing::info!(pod = %view.name, "node does not answer: {e}"),
            }
            if view.node.is_some() && !hot_names.is_empty() {
                view.config = nodes
                    .config_get(&view.endpoint, &hot_names)
                    .await
                    .unwrap_or_default();
            }
        }
        pods.push(view);
    }
    pods.sort_by_key(|p| p.ordinal);
    let sentinel = match (names.sentinel_host(c), c.spec.external_master.is_none()) {
        (Some(host), true) => Some(sentinels(nodes, c, names, &host).await),
        _ => None,
    };
    Ok(Observed {
        mode: c.spec.mode,
        desired_replicas: c.spec.replicas.max(0) as u32,
        statefulset_replicas,
        pods,
        external_master: c
            .spec
            .external_master
            .as_ref()
            .map(|e| Endpoint::new(e.host.clone(), e.port)),
        sentinel,
        master_missing_for: missing_for(c, now),
        failover_timeout: Duration::from_secs(c.spec.failover_timeout_seconds.into()),
        hot_config: hot,
    })
}

/// Every sentinel behind `host` (a headless Service resolves to all of
/// them) and the master each names for the group.
async fn sentinels(nodes: &Nodes, c: &StrataCluster, names: &Names, host: &str) -> SentinelView {
    let port = c
        .spec
        .sentinel
        .as_ref()
        .and_then(|s| s.shared.as_ref())
        .map_or(resources::SENTINEL_PORT, |s| s.port);
    let addrs: Vec<_> = match tokio::net::lookup_host((host, port)).await {
        Ok(a) => a.collect(),
        Err(e) => {
            tracing::info!("sentinels at {host}: {e}");
            Vec::new()
        }
    };
    let mut seen = Vec::new();
    for addr in addrs {
        let endpoint = Endpoint::new(addr.ip().to_string(), addr.port());
        match nodes.sentinel_master(&endpoint, &names.monitor()).await {
            Ok(master) => seen.push(SentinelSeen { endpoint, master }),
            Err(e) => tracing::info!("sentinel {endpoint}: {e}"),
        }
    }
    SentinelView { sentinels: seen }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Names {
        Names {
            cluster: "cache".into(),
            namespace: "shop".into(),
        }
    }

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).expect("a pod")
    }

    #[test]
    fn a_ready_current_master_pod() {
        let p = pod(json!({"metadata": {"name": "cache-2", "labels": {
                "controller-revision-hash": "r2", "strata.io/role": "master"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}}));
        let v = pod_view(&p, &names(), Some("r2"), None, BTreeMap::new()).expect("a group pod");
        assert_eq!(v.ordinal, 2);
        assert_eq!(
            v.endpoint.host,
            "cache-2.cache-headless.shop.svc.cluster.local"
        );
        assert!(v.ready && !v.outdated && !v.terminating);
        assert_eq!(v.role_label.as_deref(), Some("master"));
    }

    #[test]
    fn an_old_revision_is_outdated_and_deletion_is_terminating() {
        let p = pod(json!({"metadata": {"name": "cache-0",
                "deletionTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"controller-revision-hash": "r1"}}}));
        let v = pod_view(&p, &names(), Some("r2"), None, BTreeMap::new()).expect("a group pod");
        assert!(v.outdated && v.terminating && !v.ready);
    }

    #[test]
    fn foreign_pods_are_ignored() {
        for name in ["cache-sentinel-0", "other-0", "cache-x"] {
            let p = pod(json!({"metadata": {"name": name}}));
            assert!(
                pod_view(&p, &names(), None, None, BTreeMap::new()).is_none(),
                "{name}"
            );
        }
    }

    #[test]
    fn the_failover_clock_reads_the_status() {
        let mut c = StrataCluster::new("cache", serde_json::from_str("{}").expect("spec"));
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(missing_for(&c, now), None);
        c.status = Some(crate::crd::StrataClusterStatus {
            master_lost_since: Some("2026-01-01T00:00:15Z".into()),
            ..Default::default()
        });
        assert_eq!(missing_for(&c, now), Some(Duration::from_secs(45)));
    }
}
