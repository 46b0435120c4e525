//! The EcsCluster engine against the in-memory ECS.

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::sync::{self, Subject};
use crate::api::EcsCluster;
use crate::api::cluster::EcsClusterStatus;
use crate::api::conditions::{READY, SYNCED, find_condition};
use crate::controller::context::FixedClock;
use crate::controller::outcome::Next;
use crate::controller::status::reason;
use crate::ecs::fake::FakeEcs;

fn clock() -> FixedClock {
    FixedClock(Timestamp::from_second(1_800_000_000).unwrap())
}

fn object(spec: serde_json::Value, status: Option<&EcsClusterStatus>) -> EcsCluster {
    let mut obj: EcsCluster = serde_json::from_value(json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsCluster",
        "metadata": {"name": "prod", "namespace": "infra", "uid": "u-1", "generation": 1},
        "spec": spec,
    }))
    .expect("valid object");
    obj.status = status.cloned();
    obj
}

fn spec() -> serde_json::Value {
    json!({
        "settings": [{"name": "containerInsights", "value": "enabled"}],
        "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
        "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
        "tags": [{"key": "team", "value": "platform"}],
    })
}

#[tokio::test]
async fn creates_the_cluster_and_reports_it() {
    let ecs = FakeEcs::default();
    let outcome = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), None)).unwrap()).await;
    assert!(matches!(outcome.next, Next::Resync));
    let cluster = ecs.cluster("prod").expect("created");
    assert_eq!(cluster.settings.get("containerInsights").map(String::as_str), Some("enabled"));
    assert_eq!(cluster.capacity_providers, vec!["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(cluster.tags.get("team").map(String::as_str), Some("platform"));
    let status = outcome.status;
    assert_eq!(status.cluster_arn.as_deref(), Some(cluster.arn.as_str()));
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
    assert_eq!(status.running_tasks_count, Some(0));
    let ready = find_condition(&status.conditions, READY).unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", reason::ACTIVE));
    assert_eq!(outcome.notices[0].reason, "Created");
}

#[tokio::test]
async fn a_matching_cluster_gets_no_write_and_its_counts_are_reported() {
    let ecs = FakeEcs::default();
    let first = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), None)).unwrap()).await.status;
    ecs.edit_cluster("prod", |c| {
        c.running_tasks = 4;
        c.active_services = 2;
    });
    ecs.forget_calls();
    let again = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), Some(&first))).unwrap()).await;
    assert_eq!(ecs.writes(), 0, "calls: {:?}", ecs.calls());
    assert_eq!(again.status.running_tasks_count, Some(4));
    assert_eq!(again.status.active_services_count, Some(2));
    assert_eq!(
        find_condition(&again.status.conditions, READY).unwrap().last_transition_time,
        find_condition(&first.conditions, READY).unwrap().last_transition_time
    );
}

#[tokio::test]
async fn drifted_settings_and_providers_are_put_back() {
    let ecs = FakeEcs::default();
    let first = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), None)).unwrap()).await.status;
    ecs.edit_cluster("prod", |c| {
        c.settings.insert("containerInsights".to_owned(), "disabled".to_owned());
        c.capacity_providers = vec!["FARGATE".to_owned()];
    });
    let outcome = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), Some(&first))).unwrap()).await;
    assert_eq!(ecs.count("UpdateClusterSettings"), 1);
    assert_eq!(ecs.count("PutClusterCapacityProviders"), 1);
    let cluster = ecs.cluster("prod").unwrap();
    assert_eq!(cluster.settings.get("containerInsights").map(String::as_str), Some("enabled"));
    assert_eq!(cluster.capacity_providers, vec!["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(outcome.notices.len(), 2);
}

#[tokio::test]
async fn deletion_waits_while_ecs_refuses_then_completes() {
    let ecs = FakeEcs::default();
    let first = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), None)).unwrap()).await.status;
    ecs.edit_cluster("prod", |c| c.active_services = 1);
    let blocked = sync::delete(&ecs, &clock(), Subject::of(&object(spec(), Some(&first))).unwrap()).await;
    assert!(matches!(blocked.next, Next::Retry(_)));
    let synced = find_condition(&blocked.status.conditions, SYNCED).unwrap();
    assert_eq!(synced.reason, reason::BLOCKED);
    assert!(synced.message.contains("Services are active"));
    assert_eq!(blocked.notices.len(), 1);

    let blocked_again =
        sync::delete(&ecs, &clock(), Subject::of(&object(spec(), Some(&blocked.status))).unwrap()).await;
    assert!(blocked_again.notices.is_empty(), "the warning is not repeated");

    ecs.edit_cluster("prod", |c| c.active_services = 0);
    let done = sync::delete(&ecs, &clock(), Subject::of(&object(spec(), Some(&blocked.status))).unwrap()).await;
    assert!(matches!(done.next, Next::AwaitChange));
    assert_eq!(ecs.cluster("prod").unwrap().status, "INACTIVE");

    // Already gone: finishes cleanly.
    let gone = sync::delete(&ecs, &clock(), Subject::of(&object(spec(), None)).unwrap()).await;
    assert!(matches!(gone.next, Next::AwaitChange));
}

#[tokio::test]
async fn retain_leaves_the_cluster() {
    let ecs = FakeEcs::default();
    let mut retained_spec = spec();
    retained_spec["deletionPolicy"] = json!("Retain");
    sync::apply(&ecs, &clock(), Subject::of(&object(retained_spec.clone(), None)).unwrap()).await;
    ecs.forget_calls();
    let outcome = sync::delete(&ecs, &clock(), Subject::of(&object(retained_spec, None)).unwrap()).await;
    assert!(matches!(outcome.next, Next::AwaitChange));
    assert!(ecs.calls().is_empty());
    assert_eq!(ecs.cluster("prod").unwrap().status, "ACTIVE");
}

#[tokio::test]
async fn a_transient_failure_keeps_a_ready_cluster_ready() {
    let ecs = FakeEcs::default();
    let first = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), None)).unwrap()).await.status;
    ecs.fail_next(
        "DescribeClusters",
        crate::ecs::EcsError::from_code("DescribeClusters", "ServerException", "boom".to_owned(), Some(500)),
    );
    let outcome = sync::apply(&ecs, &clock(), Subject::of(&object(spec(), Some(&first))).unwrap()).await;
    assert!(matches!(outcome.next, Next::Retry(_)));
    assert_eq!(find_condition(&outcome.status.conditions, READY).unwrap().status, "True");
    let synced = find_condition(&outcome.status.conditions, SYNCED).unwrap();
    assert_eq!((synced.status.as_str(), synced.reason.as_str()), ("False", reason::ECS_UNAVAILABLE));
}
