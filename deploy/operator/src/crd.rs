//! The `StrataCluster` custom resource: what a user declares (spec) and what
//! the operator reports back (status). The CRD YAML is generated from these
//! types (`strata-operator --print-crd`, checked in as `deploy/operator/manifests/crd.yaml`)
//! so the schema the API server enforces and the operator's view can never
//! drift apart.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, ResourceRequirements};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A replicated Strata group: one master, its replicas, optionally the
/// sentinels that fail it over.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "strata.io",
    version = "v1alpha1",
    kind = "StrataCluster",
    plural = "strataclusters",
    shortname = "strata",
    namespaced,
    status = "StrataClusterStatus",
    printcolumn = r#"{"name":"Mode","type":"string","jsonPath":".spec.mode"}"#,
    printcolumn = r#"{"name":"Replicas","type":"integer","jsonPath":".spec.replicas"}"#,
    printcolumn = r#"{"name":"Master","type":"string","jsonPath":".status.master"}"#,
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct StrataClusterSpec {
    /// How the group is organised. `sentinel`: one master and replicas.
    /// `cluster` is reserved for Redis Cluster mode (a later release).
    #[serde(default)]
    pub mode: Mode,
    /// Nodes in the group, master included.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 99))]
    pub replicas: i32,
    /// Container image of strata-server (also runs redis-sentinel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Storage engine: `rocksdb` (SSD) or `pmem` (persistent memory).
    #[serde(default)]
    pub engine: Engine,
    /// The data volume of every node.
    #[serde(default)]
    pub storage: Storage,
    /// The DAX volume for `engine: pmem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pmem: Option<PmemVolume>,
    /// CPU and memory of the strata container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// A ConfigMap holding a `strata.conf` key: the base configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// Directives applied on top of the base configuration. Changes are
    /// applied with CONFIG SET where the server allows it, else by a rolling
    /// restart (replicas first, one at a time, only while in sync).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, String>,
    /// The password clients, replicas and sentinels use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SecretKeyRef>,
    /// Failover by redis-sentinel. Without it, the operator promotes the
    /// replica with the highest offset after `failoverTimeoutSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel: Option<SentinelSpec>,
    /// Every node replicates from this master (in another datacenter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_master: Option<ExternalMaster>,
    /// Scheduling; the default spreads nodes over hosts and zones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// The Prometheus endpoint.
    #[serde(default)]
    pub metrics: Metrics,
    /// Without sentinel: how long the master may be gone before the
    /// operator promotes a replica.
    #[serde(default = "default_failover_timeout")]
    #[schemars(range(min = 1))]
    pub failover_timeout_seconds: u32,
}

fn default_replicas() -> i32 {
    3
}

fn default_failover_timeout() -> u32 {
    30
}

/// The group's organisation.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// One master, replicas, optional sentinel.
    #[default]
    Sentinel,
    /// Redis Cluster (reserved: needs cluster support in the server).
    Cluster,
}

/// The storage engine (`engine` directive).
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Engine {
    #[default]
    Rocksdb,
    Pmem,
}

impl Engine {
    /// The value of the `engine` directive.
    pub fn directive(self) -> &'static str {
        match self {
            Engine::Rocksdb => "rocksdb",
            Engine::Pmem => "pmem",
        }
    }
}

/// One PersistentVolumeClaim per node.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// StorageClass of the claims (the cluster default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Size of each claim, e.g. `100Gi`.
    #[serde(default = "default_size")]
    pub size: String,
    /// Keep the claims when the StrataCluster is deleted (default true:
    /// data outlives the resource).
    #[serde(default = "default_true")]
    pub keep_after_delete: bool,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            storage_class_name: None,
            size: default_size(),
            keep_after_delete: true,
        }
    }
}

fn default_size() -> String {
    "20Gi".to_string()
}

fn default_true() -> bool {
    true
}

/// Where persistent memory is mounted on the nodes.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PmemVolume {
    /// A directory on a DAX-mounted filesystem of the node; each pod uses a
    /// subdirectory named after itself.
    pub host_path: String,
    /// Node labels selecting machines with persistent memory.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,
}

/// A key of a Secret in the cluster's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    #[serde(default = "default_password_key")]
    pub key: String,
}

fn default_password_key() -> String {
    "password".to_string()
}

/// The redis-sentinel group watching this cluster.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentinelSpec {
    /// `perGroup`: the operator runs sentinels for this cluster alone.
    /// `shared`: an existing sentinel group (`shared`) watches many clusters.
    #[serde(default)]
    pub layout: SentinelLayout,
    /// Sentinels to run (perGroup).
    #[serde(default = "default_sentinels")]
    #[schemars(range(min = 1, max = 9))]
    pub replicas: i32,
    /// Sentinels that must agree the master is down.
    #[serde(default = "default_quorum")]
    #[schemars(range(min = 1))]
    pub quorum: u32,
    /// `down-after-milliseconds` of the monitor.
    #[serde(default = "default_down_after")]
    pub down_after_milliseconds: u64,
    /// The shared sentinel group (layout `shared`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<SharedSentinels>,
}

fn default_sentinels() -> i32 {
    3
}

fn default_quorum() -> u32 {
    2
}

fn default_down_after() -> u64 {
    5000
}

/// Which sentinels watch the group.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SentinelLayout {
    #[default]
    PerGroup,
    Shared,
}

/// An existing sentinel group, addressed through one DNS name that resolves
/// to every sentinel (a headless Service).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedSentinels {
    pub host: String,
    #[serde(default = "default_sentinel_port")]
    pub port: u16,
}

fn default_sentinel_port() -> u16 {
    26379
}

/// A master outside this group (another datacenter).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalMaster {
    pub host: String,
    #[serde(default = "default_redis_port")]
    pub port: u16,
    /// The external master's password (`masterauth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<SecretKeyRef>,
}

fn default_redis_port() -> u16 {
    6379
}

/// Prometheus metrics (`metrics-port`).
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metrics {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_metrics_port")]
    pub port: u16,
    /// Create a Prometheus Operator ServiceMonitor.
    #[serde(default)]
    pub service_monitor: bool,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            enabled: true,
            port: default_metrics_port(),
            service_monitor: false,
        }
    }
}

fn default_metrics_port() -> u16 {
    9121
}

/// What the operator last saw and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrataClusterStatus {
    /// The spec generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The current master's pod (or `host:port` of the external master).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// When the operator first saw the group without a master (RFC 3339),
    /// the start of `failoverTimeoutSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master_lost_since: Option<String>,
    /// Every node's role and replication offset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<NodeStatus>,
    /// `Ready`, `Progressing`, `Degraded` conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// One node as last observed.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub pod: String,
    /// `master`, `replica` or `unknown` (unreachable).
    pub role: String,
    /// `master_repl_offset` (master) or `slave_repl_offset` (replica).
    #[serde(default)]
    pub offset: i64,
    /// Replica: link up and initial sync done.
    #[serde(default)]
    pub in_sync: bool,
}

/// A status condition, as Kubernetes conventions describe it.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The CRD as YAML, exactly as checked in at `deploy/operator/manifests/crd.yaml`.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt;
    let yaml = serde_yaml::to_string(&StrataCluster::crd())?;
    Ok(format!(
        "# Generated by `strata-operator --print-crd` from deploy/operator/src/crd.rs; do not edit.\n{yaml}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_crd_equals_the_generated_one() {
        let generated = crd_yaml().expect("CRD serializes");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/manifests/crd.yaml");
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "deploy/operator/manifests/crd.yaml is stale: run `cargo run -p strata-operator -- --print-crd > deploy/operator/manifests/crd.yaml`"
        );
    }

    #[test]
    fn a_minimal_spec_takes_the_documented_defaults() {
        let spec: StrataClusterSpec = serde_json::from_str("{}").expect("empty spec parses");
        assert_eq!(spec.mode, Mode::Sentinel);
        assert_eq!(spec.replicas, 3);
        assert_eq!(spec.engine, Engine::Rocksdb);
        assert_eq!(spec.storage.size, "20Gi");
        assert!(spec.storage.keep_after_delete);
        assert!(spec.metrics.enabled);
        assert_eq!(spec.metrics.port, 9121);
        assert_eq!(spec.failover_timeout_seconds, 30);
        assert!(spec.sentinel.is_none());
    }

    #[test]
    fn the_schema_has_a_status_subresource_and_rejects_unknown_modes() {
        use kube::CustomResourceExt;
        let crd = StrataCluster::crd();
        let version = &crd.spec.versions[0];
        assert!(version
            .subresources
            .as_ref()
            .and_then(|s| s.status.as_ref())
            .is_some());
        let bad: Result<StrataClusterSpec, _> = serde_json::from_str(r#"{"mode":"ring"}"#);
        assert!(bad.is_err());
    }
}
