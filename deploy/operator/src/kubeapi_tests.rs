//! The Kubernetes requests of one reconcile, with kube's mock client
//! (tower-test): each test drives `Kube` against a fake API server that
//! asserts method, path, query and body of every request, in order, and
//! answers like the API server would.

use http::{Request, Response};
use kube::client::Body;
use kube::Client;
use serde_json::{json, Value};

use crate::crd::{StrataCluster, StrataClusterSpec, StrataClusterStatus};
use crate::info::Role;
use crate::kubeapi::Kube;

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

fn mock() -> (Kube, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Kube::new(Client::new(service, "shop"), "shop"), handle)
}

/// One expected request; answers with the body it was sent (apply and
/// patch return the object).
async fn expect(handle: &mut Handle, method: &str, path: &str, query: Option<&str>) -> Value {
    let (req, send) = handle.next_request().await.expect("a request");
    assert_eq!(req.method().as_str(), method, "method of {}", req.uri());
    assert_eq!(req.uri().path(), path);
    if let Some(q) = query {
        // kube orders (and may lead with '&') the parameters; compare sets.
        let set = |s: &str| {
            let mut v: Vec<String> = s
                .split('&')
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect();
            v.sort();
            v
        };
        assert_eq!(
            set(req.uri().query().unwrap_or_default()),
            set(q),
            "query of {}",
            req.uri()
        );
    }
    let bytes = req.into_body().collect_bytes().await.expect("body");
    let body: Value = if bytes.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    let mut answer = body.clone();
    if answer.get("apiVersion").is_none() {
        // A merge patch or a delete: answer with an object of the kind the
        // path names, as the API server does.
        let (api_version, kind) = if path.contains("/statefulsets/") {
            ("apps/v1", "StatefulSet")
        } else if path.contains("/strataclusters/") {
            ("strata.io/v1alpha1", "StrataCluster")
        } else {
            ("v1", "Pod")
        };
        answer = json!({"apiVersion": api_version, "kind": kind,
                        "metadata": {"name": "x"}, "spec": {}});
    }
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(&answer).expect("JSON")))
            .expect("response"),
    );
    body
}

fn cluster(spec: &str) -> StrataCluster {
    let spec: StrataClusterSpec = serde_yaml::from_str(spec).expect("spec");
    let mut c = StrataCluster::new("cache", spec);
    c.metadata.namespace = Some("shop".into());
    c.metadata.uid = Some("uid-1".into());
    c
}

const APPLY: &str = "&fieldManager=strata-operator&force=true";

#[tokio::test]
async fn applying_a_sentinel_group_sends_one_server_side_apply_per_object() {
    let (kube, mut handle) = mock();
    let c = cluster("replicas: 3\nsentinel: {replicas: 3, quorum: 2}\n");
    let task = tokio::spawn(async move { kube.apply_desired(&c, 3).await });
    let q = APPLY;
    let cm = expect(
        &mut handle,
        "PATCH",
        "/api/v1/namespaces/shop/configmaps/cache-config",
        Some(q),
    )
    .await;
    assert!(cm["data"]["strata.conf"]
        .as_str()
        .is_some_and(|s| s.contains("engine rocksdb")));
    for svc in ["cache-headless", "cache", "cache-master"] {
        let body = expect(
            &mut handle,
            "PATCH",
            &format!("/api/v1/namespaces/shop/services/{svc}"),
            Some(q),
        )
        .await;
        assert_eq!(body["metadata"]["ownerReferences"][0]["name"], "cache");
    }
    expect(
        &mut handle,
        "PATCH",
        "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/cache",
        Some(q),
    )
    .await;
    let sts = expect(
        &mut handle,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/statefulsets/cache",
        Some(q),
    )
    .await;
    assert_eq!(sts["spec"]["replicas"], 3);
    assert_eq!(sts["spec"]["updateStrategy"]["type"], "OnDelete");
    expect(
        &mut handle,
        "PATCH",
        "/api/v1/namespaces/shop/services/cache-sentinel",
        Some(q),
    )
    .await;
    let sent = expect(
        &mut handle,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/statefulsets/cache-sentinel",
        Some(q),
    )
    .await;
    assert_eq!(
        sent["spec"]["template"]["spec"]["containers"][0]["command"][0],
        "strata-sentinel-start"
    );
    task.await.expect("task").expect("apply succeeds");
}

#[tokio::test]
async fn labels_scaling_restarts_and_status_are_the_expected_patches() {
    let (kube, mut handle) = mock();
    let task = tokio::spawn(async move {
        kube.label("cache-1", Role::Master).await?;
        kube.scale("cache", 5).await?;
        kube.restart("cache-2").await?;
        let status = StrataClusterStatus {
            observed_generation: Some(4),
            master: Some("cache-1".into()),
            ..Default::default()
        };
        kube.patch_status("cache", &status).await
    });
    let label = expect(
        &mut handle,
        "PATCH",
        "/api/v1/namespaces/shop/pods/cache-1",
        None,
    )
    .await;
    assert_eq!(
        label,
        json!({"metadata": {"labels": {"strata.io/role": "master"}}})
    );
    let scale = expect(
        &mut handle,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/statefulsets/cache",
        None,
    )
    .await;
    assert_eq!(scale, json!({"spec": {"replicas": 5}}));
    expect(
        &mut handle,
        "DELETE",
        "/api/v1/namespaces/shop/pods/cache-2",
        None,
    )
    .await;
    let status = expect(
        &mut handle,
        "PATCH",
        "/apis/strata.io/v1alpha1/namespaces/shop/strataclusters/cache/status",
        None,
    )
    .await;
    assert_eq!(status["status"]["observedGeneration"], 4);
    assert_eq!(status["status"]["master"], "cache-1");
    task.await.expect("task").expect("requests succeed");
}

#[tokio::test]
async fn pods_are_listed_by_the_groups_selector() {
    let (kube, mut handle) = mock();
    let c = cluster("{}");
    let task = tokio::spawn(async move {
        let names = crate::resources::Names::of(&c)?;
        kube.pods(&names).await
    });
    let (req, send) = handle.next_request().await.expect("a request");
    assert_eq!(req.method().as_str(), "GET");
    assert_eq!(req.uri().path(), "/api/v1/namespaces/shop/pods");
    let query = req.uri().query().unwrap_or_default().to_string();
    assert!(
        query.contains("labelSelector=app.kubernetes.io%2Finstance%3Dcache%2Capp.kubernetes.io%2Fname%3Dstrata"),
        "{query}"
    );
    let list = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {},
                      "items": [{"metadata": {"name": "cache-0"}}]});
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(&list).expect("JSON")))
            .expect("response"),
    );
    let pods = task.await.expect("task").expect("list succeeds");
    assert_eq!(pods.len(), 1);
}

/// One whole reconcile of a new StrataCluster (no StatefulSet yet, no pods
/// yet): read the StatefulSet, apply every object with the spec's replica
/// count, list the pods, and write a status that says no node answers.
#[tokio::test]
async fn one_reconcile_of_a_new_cluster_sends_these_requests_in_order() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "shop");
    let mut c = cluster("replicas: 3\n");
    c.metadata.generation = Some(1);
    let task = tokio::spawn(crate::controller::reconcile_with(c, client));

    let (req, send) = handle.next_request().await.expect("a request");
    assert_eq!(req.method().as_str(), "GET");
    assert_eq!(
        req.uri().path(),
        "/apis/apps/v1/namespaces/shop/statefulsets/cache"
    );
    let not_found = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                           "reason": "NotFound", "code": 404, "message": "not found"});
    send.send_response(
        Response::builder()
            .status(404)
            .body(Body::from(serde_json::to_vec(&not_found).expect("JSON")))
            .expect("response"),
    );
    for path in [
        "/api/v1/namespaces/shop/configmaps/cache-config",
        "/api/v1/namespaces/shop/services/cache-headless",
        "/api/v1/namespaces/shop/services/cache",
        "/api/v1/namespaces/shop/services/cache-master",
        "/apis/policy/v1/namespaces/shop/poddisruptionbudgets/cache",
    ] {
        expect(&mut handle, "PATCH", path, Some(APPLY)).await;
    }
    let sts = expect(
        &mut handle,
        "PATCH",
        "/apis/apps/v1/namespaces/shop/statefulsets/cache",
        Some(APPLY),
    )
    .await;
    assert_eq!(
        sts["spec"]["replicas"], 3,
        "a new StatefulSet gets spec.replicas"
    );

    let (req, send) = handle.next_request().await.expect("a request");
    assert_eq!(req.uri().path(), "/api/v1/namespaces/shop/pods");
    let empty = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": []});
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(&empty).expect("JSON")))
            .expect("response"),
    );

    let status = expect(
        &mut handle,
        "PATCH",
        "/apis/strata.io/v1alpha1/namespaces/shop/strataclusters/cache/status",
        None,
    )
    .await;
    let status = &status["status"];
    assert_eq!(status["observedGeneration"], 1);
    assert!(status["masterLostSince"].is_string(), "{status}");
    let degraded = status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Degraded"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "NoNodeAnswers");
    let requeue = task.await.expect("task").expect("reconcile succeeds");
    assert_eq!(
        requeue,
        kube::runtime::controller::Action::requeue(std::time::Duration::from_secs(5))
    );
}
