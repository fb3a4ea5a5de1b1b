//! The control loop: for each StrataCluster, apply the objects its spec
//! implies, observe the group, decide, carry the actions out, and write the
//! status. Runs on every change of the resource or its StatefulSet, and
//! every few seconds besides, since a node's replication state changes
//! without any Kubernetes event. `status` (pure) turns a decision into the
//! status subresource.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::chrono::{DateTime, SecondsFormat, Utc};
use kube::runtime::controller::{Action as Requeue, Controller};
use kube::runtime::watcher;
use kube::{Api, Client};

use crate::crd::{Condition, NodeStatus, StrataCluster, StrataClusterStatus};
use crate::decide::{decide, Action, Decision, Health, Observed};
use crate::error::ReconcileError;
use crate::info::{Endpoint, Role};
use crate::kubeapi::Kube;
use crate::node::Nodes;
use crate::observe::observe;
use crate::resources::Names;

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
}

/// Runs the controller until the process is stopped.
pub async fn run(client: Client) {
    let clusters = Api::<StrataCluster>::all(client.clone());
    let statefulsets = Api::<StatefulSet>::all(client.clone());
    Controller::new(clusters, watcher::Config::default())
        .owns(statefulsets, watcher::Config::default())
        .shutdown_on_signal()
        .run(reconcile, error_policy, Arc::new(Context { client }))
        .for_each(|r| async move {
            match r {
                Ok((obj, _)) => tracing::debug!("reconciled {}", obj.name),
                Err(e) => tracing::warn!("reconcile failed: {e}"),
            }
        })
        .await;
}

fn error_policy(_c: Arc<StrataCluster>, e: &ReconcileError, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!("{e}");
    Requeue::requeue(Duration::from_secs(10))
}

async fn reconcile(c: Arc<StrataCluster>, ctx: Arc<Context>) -> Result<Requeue, ReconcileError> {
    reconcile_with((*c).clone(), ctx.client.clone()).await
}

/// One reconcile pass of `c` through `client` (the mock-client tests call
/// it directly).
pub(crate) async fn reconcile_with(
    c: StrataCluster,
    client: Client,
) -> Result<Requeue, ReconcileError> {
    let names = Names::of(&c)?;
    let kube = Kube::new(client, &names.namespace);
    let sts = kube.statefulset(&names.cluster).await?;
    let current = sts
        .as_ref()
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.replicas)
        .unwrap_or(c.spec.replicas)
        .max(0) as u32;
    kube.apply_desired(&c, current).await?;
    let password = match &c.spec.auth {
        Some(r) => kube.secret(r).await?,
        None => None,
    };
    let nodes = Nodes::new(password);
    let now = Utc::now();
    let obs = observe(&kube, &nodes, &c, &names, sts.as_ref(), now).await?;
    let decision = decide(&obs);
    for action in &decision.actions {
        tracing::info!(cluster = %names.cluster, "{action:?}");
        if let Err(e) = execute(action, &c, &names, &obs, &kube, &nodes).await {
            // Later passes retry; one failed step must not block the rest.
            tracing::warn!(cluster = %names.cluster, "{action:?} failed: {e}");
        }
    }
    kube.patch_status(&names.cluster, &status(&c, &obs, &decision, now))
        .await?;
    let again = if decision.health == Health::Ready && decision.actions.is_empty() {
        30
    } else {
        5
    };
    Ok(Requeue::requeue(Duration::from_secs(again)))
}

fn endpoint_of<'a>(obs: &'a Observed, pod: &str) -> Result<&'a Endpoint, ReconcileError> {
    obs.pods
        .iter()
        .find(|p| p.name == pod)
        .map(|p| &p.endpoint)
        .ok_or(ReconcileError::Missing("pod"))
}

async fn execute(
    action: &Action,
    c: &StrataCluster,
    names: &Names,
    obs: &Observed,
    kube: &Kube,
    nodes: &Nodes,
) -> Result<(), ReconcileError> {
    match action {
        Action::Scale { replicas } => kube.scale(&names.cluster, *replicas).await,
        Action::Promote { pod } => Ok(nodes.promote(endpoint_of(obs, pod)?).await?),
        Action::ReplicaOf { pod, master } => {
            Ok(nodes.replicaof(endpoint_of(obs, pod)?, master).await?)
        }
        Action::Label { pod, role } => kube.label(pod, *role).await,
        Action::ConfigSet { pod, pairs } => {
            Ok(nodes.config_set(endpoint_of(obs, pod)?, pairs).await?)
        }
        Action::Restart { pod } => kube.restart(pod).await,
        Action::Monitor { sentinel, master } => {
            let s = c.spec.sentinel.as_ref();
            Ok(nodes
                .sentinel_monitor(
                    sentinel,
                    &names.monitor(),
                    master,
                    s.map_or(2, |s| s.quorum),
                    s.map_or(5000, |s| s.down_after_milliseconds),
                )
                .await?)
        }
        Action::HandOver { from, to } => {
            let (from_ep, to_ep) = (endpoint_of(obs, from)?, endpoint_of(obs, to)?);
            let within = Duration::from_secs(30);
            match obs.sentinel.as_ref().and_then(|s| s.sentinels.first()) {
                // Sentinel owns failover: make `to` its only candidate
                // (replica-priority 0 elsewhere), then ask it.
                Some(sentinel) => {
                    let others: Vec<&Endpoint> = obs
                        .pods
                        .iter()
                        .filter(|p| p.name != *to && p.name != *from && p.node.is_some())
                        .map(|p| &p.endpoint)
                        .collect();
                    let prio = |v: &str| vec![("replica-priority".to_string(), v.to_string())];
                    for ep in &others {
                        nodes.config_set(ep, &prio("0")).await?;
                    }
                    let result = async {
                        nodes
                            .sentinel_failover(&sentinel.endpoint, &names.monitor())
                            .await?;
                        let deadline = tokio::time::Instant::now() + within;
                        while tokio::time::Instant::now() < deadline {
                            if matches!(nodes.role(to_ep).await, Ok(Role::Master)) {
                                return Ok(());
                            }
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                        Err(crate::error::NodeError::Timeout {
                            addr: to_ep.to_string(),
                            millis: within.as_millis() as u64,
                        })
                    }
                    .await;
                    for ep in &others {
                        let _ = nodes.config_set(ep, &prio("100")).await;
                    }
                    Ok(result?)
                }
                None => Ok(nodes.hand_over(from_ep, to_ep, within).await?),
            }
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The status a decision implies. Conditions keep their transition time
/// while their status does not change; the failover clock starts when the
/// master goes missing and stops when there is one again.
pub fn status(
    c: &StrataCluster,
    obs: &Observed,
    d: &Decision,
    now: DateTime<Utc>,
) -> StrataClusterStatus {
    let previous = c.status.clone().unwrap_or_default();
    let generation = c.metadata.generation;
    let nodes = obs
        .pods
        .iter()
        .map(|p| NodeStatus {
            pod: p.name.clone(),
            role: p
                .node
                .as_ref()
                .map_or("unknown", |n| n.role.label())
                .to_string(),
            offset: p.node.as_ref().map_or(0, |n| n.offset),
            in_sync: p.node.as_ref().is_some_and(|n| n.in_sync()),
        })
        .collect();
    let truth = |b: bool| if b { "True" } else { "False" };
    let wanted = [
        ("Ready", d.health == Health::Ready),
        ("Progressing", d.health == Health::Progressing),
        ("Degraded", d.health == Health::Degraded),
    ];
    let conditions = wanted
        .iter()
        .map(|(type_, on)| {
            let status = truth(*on).to_string();
            let since = previous
                .conditions
                .iter()
                .find(|c| c.type_ == *type_ && c.status == status)
                .and_then(|c| c.last_transition_time.clone())
                .unwrap_or_else(|| rfc3339(now));
            Condition {
                type_: type_.to_string(),
                status,
                reason: d.reason.to_string(),
                message: d.message.clone(),
                last_transition_time: Some(since),
                observed_generation: generation,
            }
        })
        .collect();
    let master_lost_since = if d.master_missing {
        previous.master_lost_since.or_else(|| Some(rfc3339(now)))
    } else {
        None
    };
    StrataClusterStatus {
        observed_generation: generation,
        master: d.master.clone(),
        master_lost_since,
        nodes,
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Mode;
    use std::collections::BTreeMap;

    fn decision(health: Health, missing: bool) -> Decision {
        Decision {
            actions: Vec::new(),
            master: (!missing).then(|| "cache-0".to_string()),
            master_missing: missing,
            health,
            reason: "R",
            message: "m".into(),
        }
    }

    fn observed() -> Observed {
        Observed {
            mode: Mode::Sentinel,
            desired_replicas: 1,
            statefulset_replicas: 1,
            pods: Vec::new(),
            external_master: None,
            sentinel: None,
            master_missing_for: None,
            failover_timeout: Duration::from_secs(30),
            hot_config: BTreeMap::new(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn the_failover_clock_starts_once_and_stops_with_a_master() {
        let mut c = StrataCluster::new("cache", serde_json::from_str("{}").expect("spec"));
        c.metadata.generation = Some(7);
        let s1 = status(
            &c,
            &observed(),
            &decision(Health::Degraded, true),
            at("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            s1.master_lost_since.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        assert_eq!(s1.observed_generation, Some(7));
        c.status = Some(s1);
        let s2 = status(
            &c,
            &observed(),
            &decision(Health::Degraded, true),
            at("2026-01-01T00:00:20Z"),
        );
        assert_eq!(
            s2.master_lost_since.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        // Degraded=True did not change: its transition time stays.
        let degraded = s2
            .conditions
            .iter()
            .find(|c| c.type_ == "Degraded")
            .expect("condition");
        assert_eq!(degraded.status, "True");
        assert_eq!(
            degraded.last_transition_time.as_deref(),
            Some("2026-01-01T00:00:00Z")
        );
        c.status = Some(s2);
        let s3 = status(
            &c,
            &observed(),
            &decision(Health::Ready, false),
            at("2026-01-01T00:01:00Z"),
        );
        assert_eq!(s3.master_lost_since, None);
        assert_eq!(s3.master.as_deref(), Some("cache-0"));
        let ready = s3
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .expect("condition");
        assert_eq!(ready.status, "True");
        assert_eq!(
            ready.last_transition_time.as_deref(),
            Some("2026-01-01T00:01:00Z")
        );
    }
}
