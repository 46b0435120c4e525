//! The EcsCapacityProvider engine against the in-memory fake.

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::sync::{self, DELETE_REFUSED, Subject};
use crate::api::EcsCapacityProvider;
use crate::api::capacity_provider::EcsCapacityProviderStatus;
use crate::api::conditions::{READY, SYNCED, find_condition};
use crate::controller::context::FixedClock;
use crate::controller::outcome::Next;
use crate::controller::status::reason;
use crate::ecs::EcsApi;
use crate::ecs::fake::FakeEcs;

fn clock() -> FixedClock {
    FixedClock(Timestamp::from_second(1_800_000_000).unwrap())
}

fn object(spec: serde_json::Value, status: Option<&EcsCapacityProviderStatus>) -> EcsCapacityProvider {
    let mut obj: EcsCapacityProvider = serde_json::from_value(json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsCapacityProvider",
        "metadata": {"name": "spark", "namespace": "data", "uid": "u-1", "generation": 1},
        "spec": spec,
    }))
    .expect("valid object");
    obj.status = status.cloned();
    obj
}

fn spec(target: i32) -> serde_json::Value {
    json!({
        "autoScalingGroupArn": "spark-workers",
        "managedScaling": {"status": "ENABLED", "targetCapacity": target},
        "tags": [{"key": "team", "value": "data"}],
    })
}

#[tokio::test]
async fn creates_once_then_updates_only_what_differs() {
    let ecs = FakeEcs::default();
    let first = sync::apply(&ecs, &clock(), Subject::of(&object(spec(90), None)).unwrap()).await;
    assert!(matches!(first.next, Next::Resync));
    let provider = ecs.provider("spark").expect("created");
    assert_eq!(first.status.capacity_provider_arn.as_deref(), Some(provider.arn.as_str()));
    let ready = find_condition(&first.status.conditions, READY).unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("True", reason::ACTIVE));
    assert_eq!(first.status.applied_tags, ["team"]);

    ecs.forget_calls();
    let again = sync::apply(&ecs, &clock(), Subject::of(&object(spec(90), Some(&first.status))).unwrap()).await;
    assert_eq!(ecs.calls(), ["DescribeCapacityProviders"], "ECS's defaults are no difference");
    assert!(again.notices.is_empty());

    sync::apply(&ecs, &clock(), Subject::of(&object(spec(70), Some(&first.status))).unwrap()).await;
    assert_eq!(ecs.count("UpdateCapacityProvider"), 1);
    let scaling = ecs.provider("spark").unwrap().group.managed_scaling.unwrap();
    assert_eq!((scaling.target_capacity, scaling.instance_warmup_period), (Some(70), Some(300)));
}

#[tokio::test]
async fn a_refused_delete_is_a_condition_warned_once_then_the_delete_completes() {
    let ecs = FakeEcs::default();
    let created = sync::apply(&ecs, &clock(), Subject::of(&object(spec(90), None)).unwrap()).await.status;
    let mut cluster = crate::ecs::ClusterConfig { name: "batch".to_owned(), ..Default::default() };
    cluster.capacity_providers = vec!["spark".to_owned()];
    ecs.create_cluster(&cluster).await.expect("cluster");

    let refused = sync::delete(&ecs, &clock(), Subject::of(&object(spec(90), Some(&created))).unwrap()).await;
    assert!(matches!(refused.next, Next::Retry(_)), "back-off, not a requeue loop");
    let ready = find_condition(&refused.status.conditions, READY).unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", DELETE_REFUSED));
    assert!(ready.message.contains("associated with cluster: batch"), "{}", ready.message);
    assert_eq!(find_condition(&refused.status.conditions, SYNCED).unwrap().reason, reason::BLOCKED);
    assert_eq!(refused.status.update_status.as_deref(), Some("DELETE_FAILED"));
    assert_eq!(refused.notices.len(), 1);

    let again = sync::delete(&ecs, &clock(), Subject::of(&object(spec(90), Some(&refused.status))).unwrap()).await;
    assert!(again.notices.is_empty(), "the warning is not repeated");

    ecs.edit_cluster("batch", |c| c.capacity_providers.clear());
    let done = sync::delete(&ecs, &clock(), Subject::of(&object(spec(90), Some(&refused.status))).unwrap()).await;
    assert!(matches!(done.next, Next::AwaitChange));
    assert_eq!(ecs.provider("spark").unwrap().status, "INACTIVE");
    let gone = sync::delete(&ecs, &clock(), Subject::of(&object(spec(90), None)).unwrap()).await;
    assert!(matches!(gone.next, Next::AwaitChange), "already deleted: done");
}

#[tokio::test]
async fn retain_leaves_the_provider() {
    let ecs = FakeEcs::default();
    let mut retained = spec(90);
    retained["deletionPolicy"] = json!("Retain");
    sync::apply(&ecs, &clock(), Subject::of(&object(retained.clone(), None)).unwrap()).await;
    ecs.forget_calls();
    let outcome = sync::delete(&ecs, &clock(), Subject::of(&object(retained, None)).unwrap()).await;
    assert!(matches!(outcome.next, Next::AwaitChange));
    assert!(ecs.calls().is_empty());
    assert_eq!(ecs.provider("spark").unwrap().status, "ACTIVE");
}
