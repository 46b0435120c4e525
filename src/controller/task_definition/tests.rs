//! The EcsTaskDefinition engine against the in-memory ECS: every rule of the
//! reconciler, without a network.

use std::collections::HashSet;

use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use super::plan::{OWNER_UID_TAG, SPEC_HASH_TAG};
use super::sync::{self, Subject};
use crate::api::conditions::{READY, SYNCED, find_condition};
use crate::api::{EcsTaskDefinition, EcsTaskDefinitionStatus, spec_hash};
use crate::controller::context::FixedClock;
use crate::controller::outcome::{Next, Outcome};
use crate::controller::status::reason;
use crate::ecs::fake::FakeEcs;
use crate::ecs::{EcsError, RevisionStatus};

const UID: &str = "2f1c3a4e-0000-4000-8000-000000000001";

fn clock() -> FixedClock {
    FixedClock(Timestamp::from_second(1_800_000_000).unwrap())
}

fn object(image: &str, generation: i64, extra: serde_json::Value) -> EcsTaskDefinition {
    let mut spec = json!({
        "containerDefinitions": [{"name": "web", "image": image, "memory": 256, "portMappings": [{"containerPort": 80}]}],
        "networkMode": "bridge",
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": "web", "namespace": "prod", "uid": UID, "generation": generation},
        "spec": spec,
    }))
    .expect("valid object")
}

fn with_status(mut obj: EcsTaskDefinition, status: &EcsTaskDefinitionStatus) -> EcsTaskDefinition {
    obj.status = Some(status.clone());
    obj
}

async fn apply(ecs: &FakeEcs, obj: &EcsTaskDefinition) -> Outcome<EcsTaskDefinitionStatus> {
    apply_in_use(ecs, obj, &HashSet::new()).await
}

async fn apply_in_use(
    ecs: &FakeEcs,
    obj: &EcsTaskDefinition,
    in_use: &HashSet<String>,
) -> Outcome<EcsTaskDefinitionStatus> {
    sync::apply(ecs, &clock(), Subject::of(obj).unwrap(), in_use).await
}

fn reason_of(status: &EcsTaskDefinitionStatus, type_: &str) -> (String, String) {
    let c = find_condition(&status.conditions, type_).expect("condition present");
    (c.status.clone(), c.reason.clone())
}

fn throttled(op: &'static str) -> EcsError {
    EcsError::from_code(op, "ThrottlingException", "Rate exceeded".to_owned(), Some(400))
}

#[tokio::test]
async fn a_new_object_registers_revision_one_with_ownership_tags() {
    let ecs = FakeEcs::default();
    let obj = object("nginx:1.27", 1, json!({}));
    let outcome = apply(&ecs, &obj).await;
    assert!(matches!(outcome.next, Next::Resync));
    let status = outcome.status;
    assert_eq!(status.revision, Some(1));
    assert_eq!(status.family.as_deref(), Some("web"));
    assert_eq!(status.spec_hash, Some(spec_hash(&obj.spec)));
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(reason_of(&status, READY), ("True".into(), reason::REGISTERED.into()));
    assert_eq!(reason_of(&status, SYNCED), ("True".into(), reason::SYNCED.into()));
    assert_eq!(outcome.notices.len(), 1);
    assert_eq!(outcome.notices[0].message, "Registered revision 1");

    let stored = ecs.revisions("web");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].revision.tags.get(OWNER_UID_TAG).map(String::as_str), Some(UID));
    assert_eq!(stored[0].revision.tags.get(SPEC_HASH_TAG), status.spec_hash.as_ref());
    let container = &stored[0].input.container_definitions.as_ref().unwrap()[0];
    assert_eq!(container.image(), Some("nginx:1.27"));
    assert_eq!(container.memory(), Some(256));
}

#[tokio::test]
async fn an_unchanged_spec_makes_no_ecs_write() {
    let ecs = FakeEcs::default();
    let first = apply(&ecs, &object("nginx:1.27", 1, json!({}))).await.status;
    ecs.forget_calls();
    let again = apply(&ecs, &with_status(object("nginx:1.27", 1, json!({})), &first)).await;
    assert_eq!(ecs.writes(), 0, "calls: {:?}", ecs.calls());
    assert_eq!(ecs.calls(), vec!["DescribeTaskDefinition"]);
    assert_eq!(again.status, first, "status does not change when nothing changed");
    assert!(again.notices.is_empty());
}

#[tokio::test]
async fn operator_only_fields_do_not_register_a_revision() {
    let ecs = FakeEcs::default();
    let first = apply(&ecs, &object("nginx:1.27", 1, json!({}))).await.status;
    let changed = object("nginx:1.27", 2, json!({"revisionHistoryLimit": 3, "deletionPolicy": "Retain"}));
    let outcome = apply(&ecs, &with_status(changed, &first)).await;
    assert_eq!(ecs.count("RegisterTaskDefinition"), 1);
    assert_eq!(outcome.status.revision, Some(1));
    assert_eq!(outcome.status.observed_generation, Some(2));
}

#[tokio::test]
async fn a_spec_change_registers_the_next_revision() {
    let ecs = FakeEcs::default();
    let first = apply(&ecs, &object("nginx:1.27", 1, json!({}))).await.status;
    let second = apply(&ecs, &with_status(object("nginx:1.28", 2, json!({})), &first)).await.status;
    assert_eq!(second.revision, Some(2));
    assert_eq!(second.revisions.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(ecs.count("RegisterTaskDefinition"), 2);
}

#[tokio::test]
async fn reverting_the_spec_reuses_the_earlier_revision() {
    let ecs = FakeEcs::default();
    let a = apply(&ecs, &object("nginx:1.27", 1, json!({}))).await.status;
    let b = apply(&ecs, &with_status(object("nginx:1.28", 2, json!({})), &a)).await.status;
    let back = apply(&ecs, &with_status(object("nginx:1.27", 3, json!({})), &b)).await;
    assert_eq!(back.status.revision, Some(1));
    assert_eq!(ecs.count("RegisterTaskDefinition"), 2);
    assert!(back.notices[0].message.contains("revision 1 again"));
}

#[tokio::test]
async fn a_crash_before_the_status_write_adopts_instead_of_registering_twice() {
    let ecs = FakeEcs::default();
    let obj = object("nginx:1.27", 1, json!({}));
    // The first reconcile registered, then died: its status was never written.
    let _lost = apply(&ecs, &obj).await;
    let outcome = apply(&ecs, &obj).await;
    assert_eq!(ecs.count("RegisterTaskDefinition"), 1, "no duplicate revision");
    assert_eq!(outcome.status.revision, Some(1));
    assert_eq!(outcome.notices[0].reason, "Adopted");
}

#[tokio::test]
async fn a_revision_orphaned_by_a_crash_is_recorded_and_later_cleaned_up() {
    let ecs = FakeEcs::default();
    let first = apply(&ecs, &object("nginx:1.27", 1, json!({}))).await.status;
    // Revision 2 registered for image 1.28, crash before the status write...
    let _lost = apply(&ecs, &with_status(object("nginx:1.28", 2, json!({})), &first)).await;
    // ...and the spec moved on to 1.29 meanwhile.
    let third =
        apply(&ecs, &with_status(object("nginx:1.29", 3, json!({"revisionHistoryLimit": 0})), &first)).await.status;
    assert_eq!(third.revision, Some(3));
    let stored = ecs.revisions("web");
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[1].revision.status, RevisionStatus::Inactive, "the orphan was deregistered");
    assert_eq!(stored[0].revision.status, RevisionStatus::Inactive);
    assert_eq!(third.revisions.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![3]);
}

#[tokio::test]
async fn history_keeps_the_limit_and_never_drops_a_revision_in_use() {
    let ecs = FakeEcs::default();
    let limit = json!({"revisionHistoryLimit": 1});
    let mut status = EcsTaskDefinitionStatus::default();
    for (generation, image) in (1..).zip(["a:1", "a:2", "a:3", "a:4"]) {
        let obj = with_status(object(image, generation, limit.clone()), &status);
        let in_use: HashSet<String> = ["web:1".to_owned()].into();
        status = apply_in_use(&ecs, &obj, &in_use).await.status;
    }
    let states: Vec<_> = ecs.revisions("web").into_iter().map(|r| r.revision.status).collect();
    assert_eq!(
        states,
        vec![
            RevisionStatus::Active,   // 1: in use by a service
            RevisionStatus::Inactive, // 2: beyond the limit
            RevisionStatus::Active,   // 3: the one kept superseded revision
            RevisionStatus::Active,   // 4: current
        ]
    );
    assert_eq!(status.revisions.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 3, 4]);
}

#[tokio::test]
async fn an_ecs_rejection_is_reported_once_and_not_retried() {
    let ecs = FakeEcs::default();
    let obj = object("", 4, json!({}));
    let outcome = apply(&ecs, &obj).await;
    assert!(matches!(outcome.next, Next::AwaitChange));
    let status = outcome.status;
    let ready = find_condition(&status.conditions, READY).unwrap();
    assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", reason::INVALID_SPEC));
    assert_eq!(ready.message, "Container.image should not be null or empty.");
    assert_eq!(ready.observed_generation, Some(4));
    assert!(outcome.notices[0].warning);
    assert_eq!(
        outcome.notices[0].message,
        "ECS rejected the task definition: Container.image should not be null or empty."
    );

    ecs.forget_calls();
    let again = apply(&ecs, &with_status(object("", 4, json!({})), &status)).await;
    assert!(ecs.calls().is_empty(), "no ECS call while the spec is unchanged: {:?}", ecs.calls());
    assert!(again.notices.is_empty());
    assert!(matches!(again.next, Next::AwaitChange));

    let fixed = apply(&ecs, &with_status(object("nginx:1", 5, json!({})), &status)).await;
    assert_eq!(fixed.status.revision, Some(1));
    assert_eq!(reason_of(&fixed.status, READY), ("True".into(), reason::REGISTERED.into()));
}

#[tokio::test]
async fn throttling_is_reported_and_retried() {
    let ecs = FakeEcs::default();
    ecs.fail_next("RegisterTaskDefinition", throttled("RegisterTaskDefinition"));
    let obj = object("nginx:1", 1, json!({}));
    let outcome = apply(&ecs, &obj).await;
    assert!(matches!(outcome.next, Next::Retry(_)));
    assert_eq!(reason_of(&outcome.status, READY), ("False".into(), reason::THROTTLED.into()));
    assert_eq!(reason_of(&outcome.status, SYNCED), ("False".into(), reason::THROTTLED.into()));
    assert_eq!(outcome.status.observed_generation, None);
    assert_eq!(outcome.notices.len(), 1, "one warning on the transition");

    let retried = apply(&ecs, &with_status(obj, &outcome.status)).await;
    assert!(matches!(retried.next, Next::Resync));
    assert_eq!(retried.status.revision, Some(1));
    assert_eq!(ecs.count("RegisterTaskDefinition"), 2);
    let ready = find_condition(&retried.status.conditions, READY).unwrap();
    assert_eq!(ready.status, "True");
}

#[tokio::test]
async fn a_revision_deregistered_outside_is_replaced() {
    let ecs = FakeEcs::default();
    let first = apply(&ecs, &object("nginx:1", 1, json!({}))).await.status;
    use crate::ecs::EcsApi;
    ecs.deregister_task_definition(first.task_definition_arn.as_deref().unwrap()).await.unwrap();
    let healed = apply(&ecs, &with_status(object("nginx:1", 1, json!({})), &first)).await.status;
    assert_eq!(healed.revision, Some(2));
}

#[tokio::test]
async fn delete_removes_every_owned_revision_across_pages_and_nothing_else() {
    let ecs = FakeEcs::default();
    let foreign = ecs.register_foreign("web", [("team".to_owned(), "other".to_owned())].into());
    let mut status = EcsTaskDefinitionStatus::default();
    for generation in 1..=8 {
        let obj =
            with_status(object(&format!("img:{generation}"), generation, json!({"revisionHistoryLimit": 2})), &status);
        status = apply(&ecs, &obj).await.status;
    }
    let obj = with_status(object("img:8", 8, json!({"revisionHistoryLimit": 2})), &status);
    let outcome = sync::delete(&ecs, &clock(), Subject::of(&obj).unwrap()).await;
    assert!(matches!(outcome.next, Next::AwaitChange));
    assert!(outcome.notices[0].message.contains("Deregistered 3 and deleted 8"));
    for stored in ecs.revisions("web") {
        if stored.revision.arn == foreign.arn {
            assert_eq!(stored.revision.status, RevisionStatus::Active, "a foreign revision is untouched");
        } else {
            assert!(stored.deleted, "revision {} deleted", stored.revision.revision);
        }
    }
    // Running the cleanup again (a retry after a crash) finds nothing left to do.
    ecs.forget_calls();
    let again = sync::delete(&ecs, &clock(), Subject::of(&obj).unwrap()).await;
    assert!(matches!(again.next, Next::AwaitChange));
    assert_eq!(ecs.writes(), 0);
}

#[tokio::test]
async fn delete_resumes_after_throttling() {
    let ecs = FakeEcs::default();
    let status = apply(&ecs, &object("img:1", 1, json!({}))).await.status;
    let obj = with_status(object("img:1", 1, json!({})), &status);
    ecs.fail_next("DeleteTaskDefinitions", throttled("DeleteTaskDefinitions"));
    let failed = sync::delete(&ecs, &clock(), Subject::of(&obj).unwrap()).await;
    assert!(matches!(failed.next, Next::Retry(_)));
    let done = sync::delete(&ecs, &clock(), Subject::of(&with_status(obj, &failed.status)).unwrap()).await;
    assert!(matches!(done.next, Next::AwaitChange));
    assert!(ecs.revisions("web").iter().all(|r| r.deleted));
}

#[tokio::test]
async fn retain_leaves_ecs_untouched_and_a_missing_family_deletes_cleanly() {
    let ecs = FakeEcs::default();
    let status = apply(&ecs, &object("img:1", 1, json!({"deletionPolicy": "Retain"}))).await.status;
    ecs.forget_calls();
    let obj = with_status(object("img:1", 1, json!({"deletionPolicy": "Retain"})), &status);
    let retained = sync::delete(&ecs, &clock(), Subject::of(&obj).unwrap()).await;
    assert!(matches!(retained.next, Next::AwaitChange));
    assert!(ecs.calls().is_empty());
    assert_eq!(ecs.revisions("web")[0].revision.status, RevisionStatus::Active);

    let empty = FakeEcs::default();
    let nothing = sync::delete(&empty, &clock(), Subject::of(&object("img:1", 1, json!({}))).unwrap()).await;
    assert!(matches!(nothing.next, Next::AwaitChange));
    assert_eq!(empty.writes(), 0);
}

#[tokio::test]
async fn a_throttled_check_at_resync_keeps_ready() {
    let ecs = FakeEcs::default();
    let first = apply(&ecs, &object("nginx:1", 1, json!({}))).await.status;
    ecs.fail_next("DescribeTaskDefinition", throttled("DescribeTaskDefinition"));
    let outcome = apply(&ecs, &with_status(object("nginx:1", 1, json!({})), &first)).await;
    assert!(matches!(outcome.next, Next::Retry(_)));
    assert_eq!(reason_of(&outcome.status, READY), ("True".into(), reason::REGISTERED.into()));
    assert_eq!(reason_of(&outcome.status, SYNCED), ("False".into(), reason::THROTTLED.into()));
    assert_eq!(ecs.writes(), 1, "only the first registration");
}

fn annotated(mut obj: EcsTaskDefinition) -> EcsTaskDefinition {
    obj.metadata.annotations = Some([("ecs-bridge.dev/adopt".to_owned(), "true".to_owned())].into());
    obj
}

/// A revision registered by someone else (no ownership tags) from `obj`'s spec.
async fn registered_elsewhere(ecs: &FakeEcs, obj: &EcsTaskDefinition) {
    use crate::ecs::EcsApi;
    let input = crate::ecs::mapping::register_input(&obj.spec, "web", &Default::default()).expect("maps");
    ecs.register_task_definition(input).await.expect("registered");
}

#[tokio::test]
async fn the_adopt_annotation_takes_over_a_revision_that_runs_exactly_the_spec() {
    let ecs = FakeEcs::default();
    registered_elsewhere(&ecs, &object("nginx:1.27", 1, json!({}))).await;
    ecs.forget_calls();
    // The spec spells out what ECS defaults: still the same content.
    let verbose = json!({"containerDefinitions": [{"name": "web", "image": "nginx:1.27", "memory": 256, "essential": true, "cpu": 0, "portMappings": [{"containerPort": 80, "protocol": "tcp"}]}]});
    let outcome = apply(&ecs, &annotated(object("nginx:1.27", 1, verbose))).await;
    assert_eq!(ecs.writes(), 0, "calls: {:?}", ecs.calls());
    assert_eq!(outcome.status.revision, Some(1));
    assert_eq!(reason_of(&outcome.status, READY), ("True".into(), reason::REGISTERED.into()));
    assert_eq!(outcome.notices.iter().map(|n| n.reason).collect::<Vec<_>>(), vec!["Adopted"]);

    // Another image under the annotation is not the same content: a new revision.
    let outcome = apply(&ecs, &annotated(object("nginx:1.28", 2, json!({})))).await;
    assert_eq!(outcome.status.revision, Some(2));
    assert_eq!(ecs.count("RegisterTaskDefinition"), 1);
}

#[tokio::test]
async fn without_the_annotation_a_revision_registered_elsewhere_is_not_adopted() {
    let ecs = FakeEcs::default();
    registered_elsewhere(&ecs, &object("nginx:1.27", 1, json!({}))).await;
    let outcome = apply(&ecs, &object("nginx:1.27", 1, json!({}))).await;
    assert_eq!(outcome.status.revision, Some(2), "registered its own");
    assert_eq!(ecs.count("RegisterTaskDefinition"), 2);
}
