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
