//! The Kubernetes objects a `StrataCluster` implies, built as pure functions
//! of the spec: the configuration (ConfigMap), the Services (headless for
//! pod DNS names, client, master-only), the StatefulSet, the
//! PodDisruptionBudget, and for the per-group sentinel layout the sentinels'
//! Service and StatefulSet. The controller applies them server-side; tests
//! check their shape without a cluster.
//!
//! The StatefulSet uses `OnDelete` updates: the operator, not the
//! StatefulSet controller, decides when a pod restarts (replicas first, in
//! sync, master after a hand-over). Its pod template carries a hash of the
//! *cold* configuration only, so a hot change (CONFIG SET) restarts nothing.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::crd::{Engine, SentinelLayout, StrataCluster};
use crate::error::ReconcileError;
use crate::info::Endpoint;

pub const REDIS_PORT: u16 = 6379;
pub const SENTINEL_PORT: u16 = 26379;
pub const DEFAULT_IMAGE: &str = "registry.example.com/strata/strata:0.1.0";
pub const ROLE_LABEL: &str = "strata.io/role";
pub const RESTART_HASH: &str = "strata.io/restart-hash";

/// Directives strata-server reads only at start (Immutable in its
/// directive table, src/config/directives.rs): changing one restarts nodes.
/// Every other directive is applied with CONFIG SET.
pub fn is_cold(directive: &str) -> bool {
    const COLD: &[&str] = &[
        "engine",
        "metrics-port",
        "worker-threads",
        "io-threads",
        "databases",
        "bind",
        "port",
        "dir",
        "logfile",
        "daemonize",
        "supervised",
        "pidfile",
        "unixsocket",
        "tcp-backlog",
        "syslog-enabled",
        "always-show-logo",
    ];
    COLD.contains(&directive) || directive.starts_with("rocksdb.") || directive.starts_with("pmem")
}

/// Names of everything the cluster owns, derived from its name.
#[derive(Debug, Clone)]
pub struct Names {
    pub cluster: String,
    pub namespace: String,
}

impl Names {
    pub fn of(c: &StrataCluster) -> Result<Names, ReconcileError> {
        Ok(Names {
            cluster: c.name_any(),
            namespace: c.namespace().ok_or(ReconcileError::Missing("namespace"))?,
        })
    }
    pub fn headless(&self) -> String {
        format!("{}-headless", self.cluster)
    }
    pub fn master_service(&self) -> String {
        format!("{}-master", self.cluster)
    }
    pub fn config(&self) -> String {
        format!("{}-config", self.cluster)
    }
    pub fn sentinel(&self) -> String {
        format!("{}-sentinel", self.cluster)
    }
    /// The name sentinels monitor the group under (unique in a shared
    /// sentinel group).
    pub fn monitor(&self) -> String {
        format!("{}-{}", self.namespace, self.cluster)
    }
    pub fn pod(&self, ordinal: u32) -> String {
        format!("{}-{ordinal}", self.cluster)
    }
    /// A pod's stable DNS name and port.
    pub fn pod_endpoint(&self, ordinal: u32) -> Endpoint {
        Endpoint::new(
            format!(
                "{}.{}.{}.svc.cluster.local",
                self.pod(ordinal),
                self.headless(),
                self.namespace
            ),
            REDIS_PORT,
        )
    }
    /// The DNS name resolving to every sentinel of the group.
    pub fn sentinel_host(&self, c: &StrataCluster) -> Option<String> {
        let s = c.spec.sentinel.as_ref()?;
        match (s.layout, &s.shared) {
            (SentinelLayout::Shared, Some(shared)) => Some(shared.host.clone()),
            (SentinelLayout::Shared, None) => None,
            (SentinelLayout::PerGroup, _) => Some(format!(
                "{}.{}.svc.cluster.local",
                self.sentinel(),
                self.namespace
            )),
        }
    }
}

/// The selector labels of the group's pods.
pub fn selector(names: &Names) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "strata".to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            names.cluster.clone(),
        ),
    ])
}

fn labels(names: &Names, component: &str) -> Value {
    json!({
        "app.kubernetes.io/name": if component == "sentinel" { "strata-sentinel" } else { "strata" },
        "app.kubernetes.io/instance": names.cluster,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "strata-operator",
    })
}

fn meta(c: &StrataCluster, names: &Names, name: String, component: &str) -> Value {
    let owner = c.controller_owner_ref(&()).map(|o| {
        json!([{
            "apiVersion": o.api_version, "kind": o.kind, "name": o.name, "uid": o.uid,
            "controller": true, "blockOwnerDeletion": true,
        }])
    });
    json!({
        "name": name,
        "namespace": names.namespace,
        "labels": labels(names, component),
        "ownerReferences": owner.unwrap_or(json!([])),
    })
}

fn typed<T: DeserializeOwned>(what: &'static str, v: Value) -> Result<T, ReconcileError> {
    serde_json::from_value(v).map_err(|source| ReconcileError::Serialize { what, source })
}

/// The strata.conf the pods start with: the user's ConfigMap (included),
/// then the engine, metrics and the spec's directives.
pub fn strata_conf(c: &StrataCluster) -> String {
    let mut out = String::from("# Written by strata-operator from the StrataCluster spec.\n");
    if c.spec.config_map.is_some() {
        out.push_str("include /etc/strata-user/strata.conf\n");
    }
    out.push_str(&format!("engine {}\n", c.spec.engine.directive()));
    if c.spec.engine == Engine::Pmem {
        out.push_str("pmem-path /pmem\n");
    }
    if c.spec.metrics.enabled {
        out.push_str(&format!("metrics-port {}\n", c.spec.metrics.port));
    }
    for (k, v) in &c.spec.config {
        out.push_str(&format!("{k} {}\n", quote(v)));
    }
    out
}

fn quote(v: &str) -> String {
    if !v.is_empty() && !v.contains(|ch: char| ch.is_whitespace() || ch == '"' || ch == '\\') {
        return v.to_string();
    }
    format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The spec's directives that CONFIG SET applies.
pub fn hot_config(c: &StrataCluster) -> BTreeMap<String, String> {
    c.spec
        .config
        .iter()
        .filter(|(k, _)| !is_cold(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A hash of everything that needs a restart to take effect.
pub fn restart_hash(c: &StrataCluster) -> String {
    let mut h = DefaultHasher::new();
    c.spec.engine.directive().hash(&mut h);
    c.spec.metrics.enabled.hash(&mut h);
    c.spec.metrics.port.hash(&mut h);
    c.spec.config_map.hash(&mut h);
    for (k, v) in c.spec.config.iter().filter(|(k, _)| is_cold(k)) {
        (k, v).hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

pub fn config_map(c: &StrataCluster, names: &Names) -> Result<ConfigMap, ReconcileError> {
    typed(
        "ConfigMap",
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": meta(c, names, names.config(), "config"),
            "data": { "strata.conf": strata_conf(c) },
        }),
    )
}

pub fn services(c: &StrataCluster, names: &Names) -> Result<Vec<Service>, ReconcileError> {
    let sel = selector(names);
    let mut master_sel = sel.clone();
    master_sel.insert(ROLE_LABEL.to_string(), "master".to_string());
    let redis = json!({"name": "redis", "port": REDIS_PORT, "targetPort": "redis"});
    let mut headless_ports = vec![redis.clone()];
    if c.spec.metrics.enabled {
        headless_ports
            .push(json!({"name": "metrics", "port": c.spec.metrics.port, "targetPort": "metrics"}));
    }
    let svc = |name: String, component: &str, spec: Value| {
        typed::<Service>(
            "Service",
            json!({"apiVersion": "v1", "kind": "Service",
                   "metadata": meta(c, names, name, component), "spec": spec}),
        )
    };
    Ok(vec![
        svc(
            names.headless(),
            "server",
            json!({"clusterIP": "None", "publishNotReadyAddresses": true,
                   "selector": sel, "ports": headless_ports}),
        )?,
        svc(
            names.cluster.clone(),
            "server",
            json!({"type": "ClusterIP", "selector": sel, "ports": [redis]}),
        )?,
        svc(
            names.master_service(),
            "server",
            json!({"type": "ClusterIP", "selector": master_sel, "ports": [redis]}),
        )?,
    ])
}

pub fn pdb(c: &StrataCluster, names: &Names) -> Result<PodDisruptionBudget, ReconcileError> {
    typed(
        "PodDisruptionBudget",
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
               "metadata": meta(c, names, names.cluster.clone(), "server"),
               "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector(names)}}}),
    )
}

/// A Secret key mounted as the file `<dir>/password` (files, not
/// environment variables: the value stays out of the process environment),
/// plus the variable that names the file for the pod's scripts.
fn secret_file(
    volume: &str,
    dir: &str,
    env: &str,
    r: &crate::crd::SecretKeyRef,
) -> (Value, Value, Value) {
    (
        json!({"name": volume, "secret": {"secretName": r.name,
               "items": [{"key": r.key, "path": "password"}], "defaultMode": 0o440}}),
        json!({"name": volume, "mountPath": dir, "readOnly": true}),
        json!({"name": env, "value": format!("{dir}/password")}),
    )
}

fn security_context() -> Value {
    json!({"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
           "capabilities": {"drop": ["ALL"]}})
}

fn pod_security() -> Value {
    json!({"runAsNonRoot": true, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001,
           "seccompProfile": {"type": "RuntimeDefault"}})
}

fn spread(labels: &BTreeMap<String, String>) -> (Value, Value) {
    (
        json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
            "weight": 100,
            "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": labels}}}]}}),
        json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": labels}}]),
    )
}

/// What every pod of the group (node or sentinel) is told about itself
/// and the group: its name and namespace (downward API), the Services, and
/// the name sentinels monitor the group under.
fn group_env(names: &Names) -> Vec<Value> {
    vec![
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}),
        json!({"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}),
        json!({"name": "STRATA_HEADLESS_SERVICE", "value": names.headless()}),
        json!({"name": "STRATA_MASTER_SERVICE", "value": names.master_service()}),
        json!({"name": "STRATA_MASTER_NAME", "value": names.monitor()}),
    ]
}

/// The group's StatefulSet with `replicas` pods (the controller passes the
/// current count: scaling is a decision, not part of the apply).
pub fn statefulset(
    c: &StrataCluster,
    names: &Names,
    replicas: u32,
) -> Result<StatefulSet, ReconcileError> {
    let spec = &c.spec;
    let sel = selector(names);
    let image = spec
        .image
        .clone()
        .unwrap_or_else(|| DEFAULT_IMAGE.to_string());
    let mut env = group_env(names);
    env.push(json!({"name": "STRATA_CONF", "value": "/etc/strata/strata.conf"}));
    let mut secret_volumes = Vec::new();
    let mut secret_mounts = Vec::new();
    if let Some(auth) = &spec.auth {
        let (v, m, e) = secret_file("auth", "/etc/strata-auth", "STRATA_PASSWORD_FILE", auth);
        secret_volumes.push(v);
        secret_mounts.push(m);
        env.push(e);
    }
    if let Some(ext) = &spec.external_master {
        env.push(json!({"name": "EXTERNAL_MASTER_HOST", "value": ext.host}));
        env.push(json!({"name": "EXTERNAL_MASTER_PORT", "value": ext.port.to_string()}));
        if let Some(a) = &ext.auth {
            let (v, m, e) = secret_file(
                "external-auth",
                "/etc/strata-external-auth",
                "EXTERNAL_MASTER_PASSWORD_FILE",
                a,
            );
            secret_volumes.push(v);
            secret_mounts.push(m);
            env.push(e);
        }
    } else if let Some(host) = names.sentinel_host(c) {
        env.push(json!({"name": "SENTINEL_HOST", "value": host}));
        if let Some(shared) = spec.sentinel.as_ref().and_then(|s| s.shared.as_ref()) {
            env.push(json!({"name": "SENTINEL_PORT", "value": shared.port.to_string()}));
        }
    }
    let mut ports = vec![json!({"name": "redis", "containerPort": REDIS_PORT})];
    if spec.metrics.enabled {
        ports.push(json!({"name": "metrics", "containerPort": spec.metrics.port}));
    }
    let mut mounts = vec![
        json!({"name": "data", "mountPath": "/data"}),
        json!({"name": "config", "mountPath": "/etc/strata", "readOnly": true}),
        json!({"name": "tmp", "mountPath": "/tmp"}),
    ];
    let mut volumes = vec![
        json!({"name": "config", "configMap": {"name": names.config()}}),
        json!({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}),
    ];
    mounts.extend(secret_mounts);
    volumes.extend(secret_volumes);
    if let Some(user) = &spec.config_map {
        mounts.push(
            json!({"name": "user-config", "mountPath": "/etc/strata-user", "readOnly": true}),
        );
        volumes.push(json!({"name": "user-config", "configMap": {"name": user}}));
    }
    let mut node_selector = json!({});
    if spec.engine == Engine::Pmem {
        let (path, sel) = spec
            .pmem
            .as_ref()
            .map(|p| (p.host_path.clone(), p.node_selector.clone()))
            .unwrap_or_else(|| ("/mnt/pmem0/strata".to_string(), BTreeMap::new()));
        mounts.push(json!({"name": "pmem", "mountPath": "/pmem", "subPathExpr": "$(POD_NAME)"}));
        volumes
            .push(json!({"name": "pmem", "hostPath": {"path": path, "type": "DirectoryOrCreate"}}));
        node_selector = json!(sel);
    }
    let probe = |kind: &str, period: u32, failures: u32| {
        json!({"exec": {"command": ["strata-probe", kind]}, "periodSeconds": period,
               "timeoutSeconds": 5, "failureThreshold": failures})
    };
    let (anti, topology) = spread(&sel);
    let affinity = match &spec.affinity {
        Some(a) => serde_json::to_value(a).map_err(|source| ReconcileError::Serialize {
            what: "affinity",
            source,
        })?,
        None => anti,
    };
    let resources = match &spec.resources {
        Some(r) => serde_json::to_value(r).map_err(|source| ReconcileError::Serialize {
            what: "resources",
            source,
        })?,
        None => json!({"requests": {"cpu": "500m", "memory": "1Gi"},
                       "limits": {"cpu": "2", "memory": "2Gi"}}),
    };
    let mut claim = json!({"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": spec.storage.size}}}});
    if let Some(class) = &spec.storage.storage_class_name {
        claim["spec"]["storageClassName"] = json!(class);
    }
    let when_deleted = if spec.storage.keep_after_delete {
        "Retain"
    } else {
        "Delete"
    };
    let mut pod_labels = labels(names, "server");
    if let (Some(obj), Value::Object(extra)) = (pod_labels.as_object_mut(), json!(sel)) {
        obj.extend(extra);
    }
    typed(
        "StatefulSet",
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta(c, names, names.cluster.clone(), "server"),
            "spec": {
                "serviceName": names.headless(),
                "replicas": replicas,
                "podManagementPolicy": "Parallel",
                "updateStrategy": {"type": "OnDelete"},
                "persistentVolumeClaimRetentionPolicy": {"whenDeleted": when_deleted, "whenScaled": "Retain"},
                "selector": {"matchLabels": sel},
                "template": {
                    "metadata": {"labels": pod_labels,
                                 "annotations": {RESTART_HASH: restart_hash(c)}},
                    "spec": {
                        "terminationGracePeriodSeconds": 60,
                        "securityContext": pod_security(),
                        "automountServiceAccountToken": false,
                        "affinity": affinity,
                        "topologySpreadConstraints": topology,
                        "nodeSelector": node_selector,
                        "containers": [{
                            "name": "strata",
                            "image": image,
                            "imagePullPolicy": "Always",
                            "command": ["strata-start"],
                            "env": env,
                            "ports": ports,
                            "startupProbe": probe("live", 5, 120),
                            "livenessProbe": probe("live", 10, 6),
                            "readinessProbe": probe("ready", 5, 2),
                            "lifecycle": {"preStop": {"exec": {"command": ["strata-prestop"]}}},
                            "resources": resources,
                            "securityContext": security_context(),
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    }
                },
                "volumeClaimTemplates": [claim],
            }
        }),
    )
}

/// The per-group sentinels: a headless Service and a StatefulSet; `None`
/// for the shared layout, no sentinel, or an external master.
pub fn sentinel(
    c: &StrataCluster,
    names: &Names,
) -> Result<Option<(Service, StatefulSet)>, ReconcileError> {
    let Some(s) = c.spec.sentinel.as_ref() else {
        return Ok(None);
    };
    if s.layout != SentinelLayout::PerGroup || c.spec.external_master.is_some() {
        return Ok(None);
    }
    let mut sel = selector(names);
    sel.insert("app.kubernetes.io/name".into(), "strata-sentinel".into());
    let svc = typed(
        "Service",
        json!({"apiVersion": "v1", "kind": "Service",
               "metadata": meta(c, names, names.sentinel(), "sentinel"),
               "spec": {"clusterIP": "None", "publishNotReadyAddresses": true, "selector": sel,
                        "ports": [{"name": "sentinel", "port": SENTINEL_PORT, "targetPort": "sentinel"}]}}),
    )?;
    let mut env = group_env(names);
    env.extend([
        json!({"name": "SENTINEL_HEADLESS_SERVICE", "value": names.sentinel()}),
        json!({"name": "STRATA_STATEFULSET", "value": names.cluster}),
        json!({"name": "SENTINEL_QUORUM", "value": s.quorum.to_string()}),
        json!({"name": "SENTINEL_DOWN_AFTER_MS", "value": s.down_after_milliseconds.to_string()}),
    ]);
    let mut mounts = vec![json!({"name": "state", "mountPath": "/sentinel"})];
    let mut volumes = vec![json!({"name": "state", "emptyDir": {"sizeLimit": "16Mi"}})];
    if let Some(auth) = &c.spec.auth {
        let (v, m, e) = secret_file("auth", "/etc/strata-auth", "STRATA_PASSWORD_FILE", auth);
        volumes.push(v);
        mounts.push(m);
        env.push(e);
    }
    let ping = json!({"exec": {"command": ["redis-cli", "-p", SENTINEL_PORT.to_string(), "PING"]},
                      "periodSeconds": 10});
    let (anti, _) = spread(&sel);
    let mut pod_labels = labels(names, "sentinel");
    if let (Some(obj), Value::Object(extra)) = (pod_labels.as_object_mut(), json!(sel)) {
        obj.extend(extra);
    }
    let sts = typed(
        "StatefulSet",
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": meta(c, names, names.sentinel(), "sentinel"),
            "spec": {
                "serviceName": names.sentinel(),
                "replicas": s.replicas,
                "podManagementPolicy": "Parallel",
                "selector": {"matchLabels": sel},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "securityContext": pod_security(),
                        "automountServiceAccountToken": false,
                        "affinity": anti,
                        "containers": [{
                            "name": "sentinel",
                            "image": c.spec.image.clone().unwrap_or_else(|| DEFAULT_IMAGE.to_string()),
                            "imagePullPolicy": "Always",
                            "command": ["strata-sentinel-start"],
                            "env": env,
                            "ports": [{"name": "sentinel", "containerPort": SENTINEL_PORT}],
                            "livenessProbe": ping,
                            "readinessProbe": ping,
                            "resources": {"requests": {"cpu": "50m", "memory": "32Mi"},
                                          "limits": {"cpu": "200m", "memory": "128Mi"}},
                            "securityContext": security_context(),
                            "volumeMounts": mounts,
                        }],
                        "volumes": volumes,
                    }
                }
            }
        }),
    )?;
    Ok(Some((svc, sts)))
}

/// Every object the operator applies for `c`, as multi-document YAML
/// (`strata-operator --render cluster.yaml`; CI validates the output against
/// the Kubernetes schemas). The ServiceMonitor is left out: it needs the
/// Prometheus Operator's CRD.
pub fn render(c: &StrataCluster) -> Result<String, ReconcileError> {
    let names = Names::of(c)?;
    let yaml = |what: &'static str, v: Result<Value, serde_json::Error>| {
        let v = v.map_err(|source| ReconcileError::Serialize { what, source })?;
        serde_yaml::to_string(&v).map_err(|e| ReconcileError::Serialize {
            what,
            source: serde_json::Error::io(std::io::Error::other(e.to_string())),
        })
    };
    let mut docs = vec![yaml(
        "ConfigMap",
        serde_json::to_value(config_map(c, &names)?),
    )?];
    for svc in services(c, &names)? {
        docs.push(yaml("Service", serde_json::to_value(svc))?);
    }
    docs.push(yaml(
        "PodDisruptionBudget",
        serde_json::to_value(pdb(c, &names)?),
    )?);
    let replicas = c.spec.replicas.max(0) as u32;
    docs.push(yaml(
        "StatefulSet",
        serde_json::to_value(statefulset(c, &names, replicas)?),
    )?);
    if let Some((svc, sts)) = sentinel(c, &names)? {
        docs.push(yaml("Service", serde_json::to_value(svc))?);
        docs.push(yaml("StatefulSet", serde_json::to_value(sts))?);
    }
    Ok(docs.join("---\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::StrataClusterSpec;

    fn cluster(spec: &str) -> StrataCluster {
        let spec: StrataClusterSpec = serde_yaml::from_str(spec).expect("spec parses");
        let mut c = StrataCluster::new("cache", spec);
        c.metadata.namespace = Some("shop".into());
        c.metadata.uid = Some("uid-1".into());
        c
    }

    #[test]
    fn the_statefulset_is_owned_updated_on_delete_and_spread() {
        let c = cluster(
            "replicas: 3\nstorage: {size: 50Gi, storageClassName: ssd, keepAfterDelete: false}\n",
        );
        let names = Names::of(&c).expect("names");
        let sts = statefulset(&c, &names, 3).expect("builds");
        let v = serde_json::to_value(&sts).expect("json");
        assert_eq!(v["metadata"]["ownerReferences"][0]["uid"], "uid-1");
        assert_eq!(v["spec"]["updateStrategy"]["type"], "OnDelete");
        assert_eq!(v["spec"]["serviceName"], "cache-headless");
        assert_eq!(
            v["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"],
            "Delete"
        );
        let claim = &v["spec"]["volumeClaimTemplates"][0]["spec"];
        assert_eq!(claim["storageClassName"], "ssd");
        assert_eq!(claim["resources"]["requests"]["storage"], "50Gi");
        let pod = &v["spec"]["template"]["spec"];
        assert!(pod["affinity"]["podAntiAffinity"].is_object());
        assert_eq!(
            pod["containers"][0]["readinessProbe"]["exec"]["command"][1],
            "ready"
        );
        assert_eq!(
            pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][0],
            "strata-prestop"
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    }

    #[test]
    fn a_hot_directive_does_not_change_the_restart_hash_a_cold_one_does() {
        let base = cluster("config: {maxclients: '100'}\n");
        let hot = cluster("config: {maxclients: '200'}\n");
        let cold = cluster("config: {maxclients: '100', rocksdb.block-cache-size: 2gb}\n");
        assert_eq!(restart_hash(&base), restart_hash(&hot));
        assert_ne!(restart_hash(&base), restart_hash(&cold));
        assert_eq!(
            hot_config(&cold),
            BTreeMap::from([("maxclients".to_string(), "100".to_string())])
        );
    }

    #[test]
    fn the_config_names_engine_metrics_and_quotes_values() {
        let c = cluster(
            "engine: pmem\nconfigMap: mine\nconfig: {requirepass-file: 'a b', notify-keyspace-events: ''}\n",
        );
        let conf = strata_conf(&c);
        assert!(conf.contains("include /etc/strata-user/strata.conf\n"));
        assert!(conf.contains("engine pmem\npmem-path /pmem\n"));
        assert!(conf.contains("metrics-port 9121\n"));
        assert!(conf.contains("requirepass-file \"a b\"\n"));
        assert!(conf.contains("notify-keyspace-events \"\"\n"));
    }

    #[test]
    fn the_master_service_selects_the_role_label() {
        let c = cluster("{}");
        let names = Names::of(&c).expect("names");
        let svcs = services(&c, &names).expect("builds");
        let master = serde_json::to_value(&svcs[2]).expect("json");
        assert_eq!(master["metadata"]["name"], "cache-master");
        assert_eq!(master["spec"]["selector"][ROLE_LABEL], "master");
        let headless = serde_json::to_value(&svcs[0]).expect("json");
        assert_eq!(headless["spec"]["clusterIP"], "None");
        assert_eq!(headless["spec"]["ports"][1]["name"], "metrics");
    }

    #[test]
    fn sentinels_only_for_the_per_group_layout() {
        let per = cluster("sentinel: {replicas: 3, quorum: 2}\n");
        let names = Names::of(&per).expect("names");
        let (_, sts) = sentinel(&per, &names)
            .expect("builds")
            .expect("per-group sentinels");
        assert_eq!(sts.spec.as_ref().and_then(|s| s.replicas), Some(3));
        let shared = cluster("sentinel: {layout: shared, shared: {host: sentinels.infra}}\n");
        assert!(sentinel(&shared, &names).expect("builds").is_none());
        assert_eq!(
            names.sentinel_host(&shared).as_deref(),
            Some("sentinels.infra")
        );
        let ext = cluster("sentinel: {}\nexternalMaster: {host: redis.dc1, auth: {name: dc1}}\n");
        assert!(sentinel(&ext, &names).expect("builds").is_none());
        let sts = statefulset(&ext, &names, 3).expect("builds");
        let env = serde_json::to_value(&sts).expect("json")["spec"]["template"]["spec"]
            ["containers"][0]["env"]
            .to_string();
        assert!(env.contains("EXTERNAL_MASTER_HOST"));
        assert!(
            !env.contains("secretKeyRef"),
            "passwords are files, not variables"
        );
        assert!(!env.contains("SENTINEL_HOST"));
    }
}
