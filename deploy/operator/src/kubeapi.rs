//! Every request the operator makes to the Kubernetes API, in one place:
//! server-side apply of the objects `resources` builds, reading the
//! StatefulSet and pods, scaling, role labels, pod deletion (restarts), the
//! status subresource and the auth Secret. Kept thin so the mock-client
//! tests (kubeapi_tests) can assert the exact requests one reconcile sends.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::json;

use crate::crd::{SecretKeyRef, StrataCluster, StrataClusterStatus};
use crate::error::ReconcileError;
use crate::info::Role;
use crate::resources::{self, Names, ROLE_LABEL};

pub const FIELD_MANAGER: &str = "strata-operator";

/// The API, scoped to one cluster's namespace.
#[derive(Clone)]
pub struct Kube {
    client: Client,
    namespace: String,
}

impl Kube {
    pub fn new(client: Client, namespace: impl Into<String>) -> Kube {
        Kube {
            client,
            namespace: namespace.into(),
        }
    }

    fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>,
    {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// Server-side apply, owned by the operator's field manager.
    pub async fn apply<K>(&self, obj: &K) -> Result<(), ReconcileError>
    where
        K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
            + Serialize
            + DeserializeOwned
            + Clone
            + Debug,
    {
        let name = obj
            .meta()
            .name
            .clone()
            .ok_or(ReconcileError::Missing("name"))?;
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        self.api::<K>()
            .patch(&name, &pp, &Patch::Apply(obj))
            .await?;
        Ok(())
    }

    /// Applies everything the spec implies; the StatefulSet keeps
    /// `replicas` pods (scaling is a decision of its own).
    pub async fn apply_desired(
        &self,
        c: &StrataCluster,
        replicas: u32,
    ) -> Result<(), ReconcileError> {
        let names = Names::of(c)?;
        self.apply(&resources::config_map(c, &names)?).await?;
        for svc in resources::services(c, &names)? {
            self.apply(&svc).await?;
        }
        self.apply(&resources::pdb(c, &names)?).await?;
        self.apply(&resources::statefulset(c, &names, replicas)?)
            .await?;
        if let Some((svc, sts)) = resources::sentinel(c, &names)? {
            self.apply(&svc).await?;
            self.apply(&sts).await?;
        }
        if c.spec.metrics.enabled && c.spec.metrics.service_monitor {
            self.apply_service_monitor(c, &names).await?;
        }
        Ok(())
    }

    async fn apply_service_monitor(
        &self,
        c: &StrataCluster,
        names: &Names,
    ) -> Result<(), ReconcileError> {
        let gvk = GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor");
        let ar = ApiResource::from_gvk(&gvk);
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.namespace, &ar);
        let owner = c.controller_owner_ref(&());
        let obj = json!({
            "apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": {"name": names.cluster, "namespace": names.namespace,
                         "ownerReferences": owner.map(|o| vec![o]).unwrap_or_default()},
            "spec": {"selector": {"matchLabels": resources::selector(names)},
                     "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}]},
        });
        let pp = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(&names.cluster, &pp, &Patch::Apply(&obj)).await?;
        Ok(())
    }

    pub async fn statefulset(&self, name: &str) -> Result<Option<StatefulSet>, ReconcileError> {
        Ok(self.api::<StatefulSet>().get_opt(name).await?)
    }

    /// The group's pods (by the selector labels).
    pub async fn pods(&self, names: &Names) -> Result<Vec<Pod>, ReconcileError> {
        let selector = resources::selector(names)
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let list = self
            .api::<Pod>()
            .list(&ListParams::default().labels(&selector))
            .await?;
        Ok(list.items)
    }

    pub async fn scale(&self, statefulset: &str, replicas: u32) -> Result<(), ReconcileError> {
        let patch = json!({"spec": {"replicas": replicas}});
        self.api::<StatefulSet>()
            .patch(statefulset, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    pub async fn label(&self, pod: &str, role: Role) -> Result<(), ReconcileError> {
        let patch = json!({"metadata": {"labels": {ROLE_LABEL: role.label()}}});
        self.api::<Pod>()
            .patch(pod, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// Deletes a pod; the StatefulSet recreates it at its update revision.
    pub async fn restart(&self, pod: &str) -> Result<(), ReconcileError> {
        self.api::<Pod>()
            .delete(pod, &DeleteParams::default())
            .await?;
        Ok(())
    }

    pub async fn patch_status(
        &self,
        cluster: &str,
        status: &StrataClusterStatus,
    ) -> Result<(), ReconcileError> {
        let patch = json!({ "status": status });
        self.api::<StrataCluster>()
            .patch_status(cluster, &PatchParams::default(), &Patch::Merge(&patch))
            .await?;
        Ok(())
    }

    /// A Secret's value as text (`None` when the key is absent).
    pub async fn secret(&self, r: &SecretKeyRef) -> Result<Option<String>, ReconcileError> {
        let secret = self.api::<Secret>().get(&r.name).await?;
        Ok(secret
            .data
            .and_then(|d| d.get(&r.key).cloned())
            .map(|b| String::from_utf8_lossy(&b.0).into_owned()))
    }
}
