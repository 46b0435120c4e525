//! EcsCluster end to end: the real API server, the controller in this
//! process, the ECS emulator over HTTP.

use aws_sdk_ecs::types::{ClusterField, ContainerDefinition, LaunchType};
use ecs_bridge::api::EcsCluster;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};

use crate::operator::{Harness, apply, condition, events, until_gone};
use crate::support::poll_until;

fn cluster(name: &str, insights: &str, extra: Value) -> Value {
    let mut spec = json!({
        "settings": [{"name": "containerInsights", "value": insights}],
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 1}],
        "tags": [{"key": "team", "value": "platform"}],
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": name}, "spec": spec})
}

async fn ready(api: &Api<EcsCluster>, name: &str) -> EcsCluster {
    poll_until(&format!("{name} is Ready for its generation"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        match condition(&status.conditions, "Ready") {
            Some((s, _, _)) if s == "True" && status.observed_generation == obj.metadata.generation => Ok(obj),
            _ => Err(format!("{status:?}")),
        }
    })
    .await
}

async fn described(ecs: &aws_sdk_ecs::Client, name: &str) -> aws_sdk_ecs::types::Cluster {
    ecs.describe_clusters()
        .clusters(name)
        .include(ClusterField::Settings)
        .include(ClusterField::Tags)
        .send()
        .await
        .expect("describe clusters")
        .clusters
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("the cluster exists")
}

#[tokio::test]
async fn create_update_and_report_counts() {
    let h = Harness::start("cl-create").await;
    let api = h.clusters();
    apply(&api, "prod", cluster("prod", "enabled", json!({}))).await;
    let obj = ready(&api, "prod").await;
    let status = obj.status.unwrap();
    let ecs = described(&h.ecs, "prod").await;
    assert_eq!(status.cluster_arn.as_deref(), ecs.cluster_arn());
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
    assert_eq!(status.active_services_count, Some(0));
    assert_eq!(ecs.settings()[0].value(), Some("enabled"));
    assert_eq!(ecs.capacity_providers(), ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(ecs.default_capacity_provider_strategy()[0].base(), 1);
    assert_eq!(ecs.tags()[0].key(), Some("team"));

    apply(&api, "prod", cluster("prod", "disabled", json!({}))).await;
    ready(&api, "prod").await;
    assert_eq!(described(&h.ecs, "prod").await.settings()[0].value(), Some("disabled"));
    poll_until("Created and Updated events", || async {
        let seen = events(&h.ns.client, &h.ns.name, "prod").await;
        let has = |reason: &str| seen.iter().any(|(_, r, _)| r == reason);
        if has("Created") && has("Updated") { Ok(()) } else { Err(format!("{seen:?}")) }
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn delete_waits_for_services_and_retain_keeps_the_cluster() {
    let h = Harness::start("cl-delete").await;
    let api = h.clusters();
    apply(&api, "busy", cluster("busy", "enabled", json!({}))).await;
    apply(&api, "kept", cluster("kept", "enabled", json!({"deletionPolicy": "Retain"}))).await;
    ready(&api, "busy").await;
    ready(&api, "kept").await;

    // A service in the cluster, created outside the operator.
    h.ecs
        .register_task_definition()
        .family("sleeper")
        .container_definitions(ContainerDefinition::builder().name("s").image("busybox").memory(64).build())
        .send()
        .await
        .expect("register");
    h.ecs
        .create_service()
        .cluster("busy")
        .service_name("svc")
        .task_definition("sleeper")
        .launch_type(LaunchType::Ec2)
        .desired_count(0)
        .send()
        .await
        .expect("create service");

    api.delete("busy", &DeleteParams::default()).await.expect("delete");
    poll_until("deletion is blocked, and says why", || async {
        let obj = api.get("busy").await.map_err(|e| e.to_string())?;
        match condition(&obj.status.unwrap_or_default().conditions, "Synced") {
            Some((s, r, m)) if s == "False" && r == "Blocked" && m.contains("Services are active") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    poll_until("a Warning event", || async {
        let seen = events(&h.ns.client, &h.ns.name, "busy").await;
        if seen.iter().any(|(t, r, _)| t == "Warning" && r == "Blocked") { Ok(()) } else { Err(format!("{seen:?}")) }
    })
    .await;

    h.ecs.delete_service().cluster("busy").service("svc").force(true).send().await.expect("delete service");
    until_gone(&api, "busy").await;
    assert_eq!(described(&h.ecs, "busy").await.status(), Some("INACTIVE"));

    api.delete("kept", &DeleteParams::default()).await.expect("delete");
    until_gone(&api, "kept").await;
    assert_eq!(described(&h.ecs, "kept").await.status(), Some("ACTIVE"));
    h.stop().await;
}

/// The EcsCluster's counts and ECS's, as (active services, running, pending,
/// registered instances).
type Counts = (Option<i32>, Option<i32>, Option<i32>, Option<i32>);

fn counts_of(obj: &EcsCluster) -> Counts {
    let s = obj.status.clone().unwrap_or_default();
    (s.active_services_count, s.running_tasks_count, s.pending_tasks_count, s.registered_container_instances_count)
}

fn ecs_counts(c: &aws_sdk_ecs::types::Cluster) -> Counts {
    (
        Some(c.active_services_count()),
        Some(c.running_tasks_count()),
        Some(c.pending_tasks_count()),
        Some(c.registered_container_instances_count()),
    )
}

/// Polls, for at most `deadline` (far below the 300 s resync, so only the
/// services' changes can have moved the counts), until the EcsCluster's
/// counts equal DescribeClusters' and ECS runs `running` tasks.
async fn counts_follow(h: &Harness, api: &Api<EcsCluster>, name: &str, running: i32, deadline: std::time::Duration) {
    let started = std::time::Instant::now();
    let mut last = String::new();
    while started.elapsed() < deadline {
        let obj = api.get(name).await.expect("get the cluster");
        let ecs = ecs_counts(&described(&h.ecs, name).await);
        if counts_of(&obj) == ecs && ecs.1 == Some(running) && ecs.2 == Some(0) {
            return;
        }
        last = format!("EcsCluster {:?}, ECS {ecs:?}", counts_of(&obj));
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    panic!("the counts of {name} did not follow ECS to {running} running tasks within {deadline:?}: {last}");
}

#[tokio::test]
async fn counts_follow_the_clusters_services_within_seconds_without_polling_ecs() {
    use std::time::Duration;
    let h = Harness::start("cl-counts").await;
    let api = h.clusters();
    apply(&api, "apps", cluster("apps", "enabled", json!({}))).await;
    ready(&api, "apps").await;
    let td = json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsTaskDefinition", "metadata": {"name": "web"},
        "spec": {
            "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": "nginx", "essential": true}]
        }
    });
    apply(&h.task_definitions(), "web", td).await;
    let service = |count: i32| {
        json!({
            "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsService", "metadata": {"name": "web"},
            "spec": {
                "cluster": "apps", "launchType": "FARGATE", "taskDefinitionRef": {"name": "web"}, "desiredCount": count,
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0aaaaaaaaaaaaaaa1"]}},
            }
        })
    };
    let services: Api<ecs_bridge::api::EcsService> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    apply(&services, "web", service(1)).await;
    // The resync is 300 s: 30 s is room for a loaded machine, and still
    // proves the services' changes moved the counts.
    counts_follow(&h, &api, "apps", 1, Duration::from_secs(30)).await;
    assert_eq!(counts_of(&api.get("apps").await.expect("get")).0, Some(1), "one active service");

    apply(&services, "web", service(3)).await;
    counts_follow(&h, &api, "apps", 3, Duration::from_secs(30)).await;

    // At rest, nothing asks ECS about the cluster: no poll loop, no hot loop.
    // (The service's rollout may still settle for a moment: one look allowed.)
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = h.ecs_requests();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = h.ecs_requests();
    let calls =
        after.get("DescribeClusters").copied().unwrap_or(0) - before.get("DescribeClusters").copied().unwrap_or(0);
    assert!(calls <= 1, "{calls} DescribeClusters calls in 10 quiet seconds");

    apply(&services, "web", service(0)).await;
    counts_follow(&h, &api, "apps", 0, Duration::from_secs(30)).await;
    h.stop().await;
}
