//! The ECS engine of the EcsService reconciler against the in-memory fake:
//! each test drives `sync::apply`/`sync::delete` the way the controller does
//! (status fed back between reconciles) and checks ECS's calls and state.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::plan::{self, OWNER_UID_TAG, ServiceOutcome, Subject, TaskDefinition, Timing, reason};
use super::sync;
use crate::api::EcsService;
use crate::api::conditions::{DEGRADED, PROGRESSING, READY, SYNCED, find_condition};
use crate::controller::outcome::Next;
use crate::ecs::EcsError;
use crate::ecs::Tags;
use crate::ecs::service_fake::FakeServices;

const TD1: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:1";
const TD2: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";
const UID: &str = "uid-web";

const TIMING: Timing = Timing { rollout_poll: Duration::from_secs(5), steady: Duration::from_secs(600) };

fn now() -> Time {
    Time(Timestamp::from_second(1_900_000_000).unwrap())
}

fn object(spec: serde_json::Value) -> EcsService {
    let mut svc = EcsService::new("web", serde_json::from_value(spec).expect("valid spec"));
    svc.metadata.namespace = Some("prod".into());
    svc.metadata.uid = Some(UID.into());
    svc.metadata.generation = Some(1);
    svc
}

fn subject(obj: &EcsService) -> Subject<'_> {
    Subject {
        namespace: "prod",
        name: "web",
        uid: UID,
        generation: obj.metadata.generation,
        service_name: obj.service_name(),
        spec: &obj.spec,
        status: obj.status.clone().unwrap_or_default(),
        adopt: false,
    }
}

/// One reconcile, its status kept on the object as the API server would.
async fn reconcile(ecs: &FakeServices, obj: &mut EcsService, td: &str) -> ServiceOutcome {
    let out = sync::apply(ecs, now(), subject(obj), TaskDefinition::Resolved(td.into()), None, TIMING).await;
    obj.status = Some(out.outcome.status.clone());
    out
}

fn condition(obj: &EcsService, type_: &str) -> (String, String) {
    let c = find_condition(&obj.status.as_ref().unwrap().conditions, type_).unwrap_or_else(|| panic!("no {type_}"));
    (c.status.clone(), c.reason.clone())
}

fn is(obj: &EcsService, type_: &str, status: &str, why: &str) -> bool {
    condition(obj, type_) == (status.to_owned(), why.to_owned())
}

/// Marks the events as published, as the controller does after mirroring them.
fn published(obj: &mut EcsService, out: &ServiceOutcome) {
    if let Some(last) = out.ecs_events.last() {
        let status = obj.status.as_mut().unwrap();
        status.last_event_id = Some(last.id.clone());
        status.last_event_time = Some(Time(last.created_at));
    }
}

#[tokio::test]
async fn creates_a_tagged_service_and_reports_its_rollout_until_ready() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web", "cluster": "prod"}));
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices", "CreateService"]);
    assert!(out.wrote);
    let created = ecs.service("prod", "web").expect("created");
    assert_eq!(created.desired_count, plan::DEFAULT_DESIRED_COUNT, "an unset count starts at 1");
    assert_eq!(created.tags.unwrap().get(OWNER_UID_TAG).map(String::as_str), Some(UID));
    assert!(is(&obj, PROGRESSING, "True", reason::ROLLOUT_IN_PROGRESS));
    assert!(is(&obj, READY, "False", reason::ROLLOUT_IN_PROGRESS));
    assert!(is(&obj, SYNCED, "True", reason::SYNCED));
    assert!(matches!(out.outcome.next, Next::After(d) if d == TIMING.rollout_poll), "polls briskly");
    assert_eq!(out.outcome.notices[0].reason, "Created");
    assert_eq!(out.rollouts.started, 1);

    ecs.complete_rollout("prod", "web");
    ecs.forget_calls();
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices"], "no write once ECS matches");
    assert!(is(&obj, READY, "True", reason::STEADY));
    assert!(is(&obj, PROGRESSING, "False", reason::ROLLOUT_COMPLETE));
    assert!(is(&obj, DEGRADED, "False", reason::HEALTHY));
    assert!(matches!(out.outcome.next, Next::Fleet), "settled: the fleet's resync looks again");
    assert_eq!(out.rollouts.completed, 1);
    let status = obj.status.as_ref().unwrap();
    assert_eq!((status.running_count, status.desired_count), (Some(1), Some(1)));
    assert_eq!(status.task_definition_arn.as_deref(), Some(TD1));
    assert_eq!(status.task_definition_revision, Some(1));
    let messages: Vec<&str> = out.ecs_events.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        vec!["(service web) (deployment ecs-svc/1) deployment completed.", "(service web) has reached a steady state."],
        "new ECS events, oldest first"
    );
    published(&mut obj, &out);
    let again = reconcile(&ecs, &mut obj, TD1).await;
    assert!(again.ecs_events.is_empty(), "an event is mirrored once");
    assert_eq!(again.rollouts, plan::RolloutCounts::default());
}

#[tokio::test]
async fn a_spec_change_is_applied_and_outside_changes_are_reverted_with_an_event() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web", "desiredCount": 2}));
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD1).await;

    // The user scales to 3: a new generation, a plain update.
    obj.spec.desired_count = Some(3);
    obj.metadata.generation = Some(2);
    ecs.forget_calls();
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices", "UpdateService"]);
    assert_eq!(ecs.service("default", "web").unwrap().desired_count, 3);
    let reasons: Vec<&str> = out.outcome.notices.iter().map(|n| n.reason).collect();
    assert_eq!(reasons, vec!["Updated"]);

    // Someone scales it to 5 in the console: reverted, and said so.
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.edit("default", "web", |s| s.desired_count = 5);
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.service("default", "web").unwrap().desired_count, 3);
    let drift = out.outcome.notices.iter().find(|n| n.reason == "DriftReverted").expect("a drift event");
    assert!(drift.warning);
    assert!(drift.message.contains("desiredCount 5 → 3"), "{}", drift.message);

    // A task definition changed outside is drift too.
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.edit("default", "web", |s| s.task_definition = Some(TD2.into()));
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.service("default", "web").unwrap().task_definition.as_deref(), Some(TD1));
    assert!(
        out.outcome
            .notices
            .iter()
            .any(|n| n.reason == "DriftReverted" && n.message.contains("taskDefinition web:2 → web:1"))
    );
}

#[tokio::test]
async fn fields_and_tags_removed_from_the_spec_are_reset_and_others_are_left() {
    use crate::api::service::SpecField;
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({
        "taskDefinition": "web", "desiredCount": 0,
        "placementConstraints": [{"type": "distinctInstance"}],
        "healthCheckGracePeriodSeconds": 30,
        "tags": [{"key": "team", "value": "a"}, {"key": "cost", "value": "1"}]
    }));
    reconcile(&ecs, &mut obj, TD1).await;
    let status = obj.status.clone().unwrap();
    assert_eq!(status.applied_fields, vec![SpecField::PlacementConstraints, SpecField::HealthCheckGracePeriodSeconds]);
    assert_eq!(status.applied_tags, vec!["cost".to_owned(), "team".to_owned()]);
    // Set by someone else: never recorded, so never reset.
    ecs.edit("default", "web", |s| {
        s.enable_execute_command = true;
        s.desired_count = 4;
        s.tags.get_or_insert_with(Tags::new).insert("by-hand".into(), "x".into());
    });

    obj.spec =
        serde_json::from_value(serde_json::json!({"taskDefinition": "web", "tags": [{"key": "team", "value": "a"}]}))
            .unwrap();
    obj.metadata.generation = Some(2);
    ecs.forget_calls();
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices", "UpdateService", "UntagResource"]);
    let service = ecs.service("default", "web").unwrap();
    assert!(service.placement_constraints.is_empty());
    assert_eq!(service.health_check_grace_period_seconds, Some(0));
    assert!(service.enable_execute_command, "not the operator's to reset");
    assert_eq!(service.desired_count, 4, "an unset count is the autoscaler's");
    let tags = service.tags.unwrap();
    assert!(!tags.contains_key("cost"));
    assert_eq!(tags.get("by-hand").map(String::as_str), Some("x"), "a tag added outside stays");
    assert_eq!(tags.get(OWNER_UID_TAG).map(String::as_str), Some(UID), "the ownership tag stays");
    let status = obj.status.clone().unwrap();
    assert!(status.applied_fields.is_empty());
    assert_eq!(status.applied_tags, vec!["team".to_owned()]);
    let reasons: Vec<&str> = out.outcome.notices.iter().map(|n| n.reason).collect();
    assert_eq!(reasons, vec!["Updated", "Untagged"]);

    ecs.forget_calls();
    reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices"], "nothing more to do");
}

#[tokio::test]
async fn a_crash_before_the_record_is_written_still_converges() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({
        "taskDefinition": "web", "desiredCount": 0,
        "placementStrategy": [{"type": "binpack", "field": "memory"}],
        "tags": [{"key": "cost", "value": "1"}]
    }));
    reconcile(&ecs, &mut obj, TD1).await;
    let recorded = obj.status.clone();
    obj.spec = serde_json::from_value(serde_json::json!({"taskDefinition": "web", "desiredCount": 0})).unwrap();
    obj.metadata.generation = Some(2);
    reconcile(&ecs, &mut obj, TD1).await;
    assert!(ecs.service("default", "web").unwrap().placement_strategy.is_empty());
    // The status write was lost: the next reconcile sees the old record.
    obj.status = recorded;
    ecs.forget_calls();
    reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices"], "ECS already has the defaults: nothing is sent again");
    let status = obj.status.clone().unwrap();
    assert!(status.applied_fields.is_empty() && status.applied_tags.is_empty(), "{status:?}");
}

#[tokio::test]
async fn a_new_revision_of_the_reference_rolls_out_without_a_drift_event() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 2}));
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD1).await;
    assert!(is(&obj, READY, "True", reason::STEADY));

    let out = reconcile(&ecs, &mut obj, TD2).await;
    let service = ecs.service("default", "web").unwrap();
    assert_eq!(service.task_definition.as_deref(), Some(TD2));
    assert_eq!(service.deployments.len(), 2, "a new deployment rolls");
    assert!(out.outcome.notices.iter().all(|n| n.reason != "DriftReverted"));
    assert!(is(&obj, PROGRESSING, "True", reason::ROLLOUT_IN_PROGRESS));
    assert!(is(&obj, READY, "False", reason::ROLLOUT_IN_PROGRESS));
    let status = obj.status.as_ref().unwrap();
    let in_status: Vec<_> = status.deployments.iter().filter_map(|d| d.task_definition.as_deref()).collect();
    assert_eq!(in_status, vec![TD2, TD1], "both revisions show as in use while rolling");
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD2).await;
    assert!(is(&obj, READY, "True", reason::STEADY));
}

#[tokio::test]
async fn an_unset_desired_count_is_left_to_an_autoscaler() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web"}));
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.edit("default", "web", |s| s.desired_count = 7);
    ecs.forget_calls();
    reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.count("UpdateService"), 0);
    assert_eq!(ecs.service("default", "web").unwrap().desired_count, 7);
}

#[tokio::test]
async fn a_foreign_service_is_adopted_only_when_asked() {
    let ecs = FakeServices::default();
    let foreign: Tags = [("team".to_owned(), "legacy".to_owned())].into();
    ecs.create_foreign("default", "web", TD1, foreign);
    let mut obj = object(serde_json::json!({"taskDefinition": "web", "desiredCount": 2}));
    ecs.forget_calls();
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices"], "no takeover");
    assert!(is(&obj, READY, "False", reason::ALREADY_EXISTS));
    assert!(matches!(out.outcome.next, Next::AwaitChange));
    assert!(out.outcome.notices.iter().any(|n| n.warning && n.reason == reason::ALREADY_EXISTS));
    assert_eq!(ecs.service("default", "web").unwrap().desired_count, 1);

    let mut asking = subject(&obj);
    asking.adopt = true;
    let out = sync::apply(&ecs, now(), asking, TaskDefinition::Resolved(TD1.into()), None, TIMING).await;
    obj.status = Some(out.outcome.status.clone());
    let service = ecs.service("default", "web").unwrap();
    assert_eq!(service.tags.as_ref().unwrap().get(OWNER_UID_TAG), None, "owned by the annotation, not by tags");
    assert_eq!(ecs.count("TagResource"), 0, "adopting writes nothing the spec does not ask for");
    assert_eq!(service.tags.as_ref().unwrap().get("team").map(String::as_str), Some("legacy"), "other tags stay");
    assert_eq!(service.desired_count, 2, "the spec applies once adopted");
    assert!(out.outcome.notices.iter().any(|n| n.reason == "Adopted"));
    // Once adopted the status says whose it is; without the annotation the
    // ownership tags go on, as on a service the operator created.
    ecs.forget_calls();
    reconcile(&ecs, &mut obj, TD1).await;
    assert!(!is(&obj, READY, "False", reason::ALREADY_EXISTS));
    let service = ecs.service("default", "web").unwrap();
    assert_eq!(service.tags.as_ref().unwrap().get(OWNER_UID_TAG).map(String::as_str), Some(UID));
}

#[tokio::test]
async fn a_service_created_before_a_crash_is_recognised_by_its_tags() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web", "desiredCount": 1}));
    reconcile(&ecs, &mut obj, TD1).await;
    // The status write was lost.
    obj.status = None;
    ecs.forget_calls();
    reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.count("CreateService"), 0, "no second service");
    assert_eq!(ecs.count("UpdateService"), 0);
    assert!(obj.status.as_ref().unwrap().service_arn.is_some());
}

#[tokio::test]
async fn a_redeploy_is_recorded_first_and_happens_exactly_once() {
    let ecs = FakeServices::default();
    let mut obj =
        object(serde_json::json!({"taskDefinition": "web", "desiredCount": 1, "forceNewDeploymentToken": "a"}));
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.count("UpdateService"), 0, "the creation's deployment carries the first token");

    obj.spec.force_new_deployment_token = Some("b".into());
    obj.metadata.generation = Some(2);
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.count("UpdateService"), 0, "first the intent is recorded");
    let pending = obj.status.as_ref().unwrap().pending_redeploy.clone().expect("pending");
    assert_eq!(pending.token, "b");
    assert!(matches!(out.outcome.next, Next::After(d) if d < Duration::from_secs(1)));

    // The controller "crashes" after UpdateService: the status keeps the pending record.
    let before_update = obj.status.clone();
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.count("UpdateService"), 1);
    assert!(out.outcome.notices.iter().any(|n| n.reason == "Redeployed"));
    assert_eq!(ecs.service("default", "web").unwrap().deployments.len(), 2);
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.force_new_deployment_token.as_deref(), Some("b"), "confirmed by ECS's answer");
    assert!(status.pending_redeploy.is_none());
    obj.status = before_update;
    reconcile(&ecs, &mut obj, TD1).await;
    assert_eq!(ecs.count("UpdateService"), 1, "the new PRIMARY shows the redeploy happened");
    let status = obj.status.as_ref().unwrap();
    assert_eq!(status.force_new_deployment_token.as_deref(), Some("b"));
    assert!(status.pending_redeploy.is_none());
    assert!(!obj.wants_forced_deployment());
}

#[tokio::test]
async fn a_rolled_back_deployment_is_degraded_and_not_retried_by_itself() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({
        "taskDefinitionRef": {"name": "web"}, "desiredCount": 2,
        "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}
    }));
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.complete_rollout("default", "web");
    reconcile(&ecs, &mut obj, TD1).await;
    reconcile(&ecs, &mut obj, TD2).await;
    ecs.fail_rollout("default", "web", true);
    let out = reconcile(&ecs, &mut obj, TD2).await;
    assert!(is(&obj, DEGRADED, "True", reason::ROLLED_BACK));
    assert!(is(&obj, READY, "False", reason::ROLLED_BACK));
    assert!(is(&obj, PROGRESSING, "True", reason::ROLLING_BACK));
    assert_eq!(out.rollouts.failed, 1);
    assert!(out.ecs_events.iter().any(|e| e.message.contains("deployment failed")));
    published(&mut obj, &out);
    assert_eq!(obj.status.as_ref().unwrap().failed_task_definition.as_deref(), Some(TD2));

    // The rollback settles on revision 1: still degraded, and revision 2 is not pushed again.
    ecs.complete_rollout("default", "web");
    ecs.forget_calls();
    let out = reconcile(&ecs, &mut obj, TD2).await;
    published(&mut obj, &out);
    let out = reconcile(&ecs, &mut obj, TD2).await;
    assert_eq!(ecs.count("UpdateService"), 0);
    assert_eq!(ecs.service("default", "web").unwrap().task_definition.as_deref(), Some(TD1));
    assert!(is(&obj, DEGRADED, "True", reason::ROLLED_BACK));
    assert!(is(&obj, READY, "False", reason::ROLLED_BACK));
    assert!(matches!(out.outcome.next, Next::Fleet), "settled: the fleet's resync looks again");

    // A new revision is a new chance.
    const TD3: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:3";
    reconcile(&ecs, &mut obj, TD3).await;
    assert_eq!(ecs.service("default", "web").unwrap().task_definition.as_deref(), Some(TD3));
    assert_eq!(obj.status.as_ref().unwrap().failed_task_definition, None);
}

#[tokio::test]
async fn rejections_wait_for_a_new_spec_and_transient_errors_retry() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web"}));
    ecs.fail_next(
        "CreateService",
        EcsError::from_code("CreateService", "InvalidParameterException", "Bad subnet.".into(), Some(400)),
    );
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert!(is(&obj, READY, "False", reason::INVALID_SPEC));
    assert!(matches!(out.outcome.next, Next::AwaitChange));
    assert!(out.outcome.notices.iter().any(|n| n.warning && n.message.contains("Bad subnet.")));

    ecs.fail_next(
        "DescribeServices",
        EcsError::from_code("DescribeServices", "ThrottlingException", "Rate exceeded".into(), Some(400)),
    );
    let out = reconcile(&ecs, &mut obj, TD1).await;
    assert!(is(&obj, SYNCED, "False", reason::THROTTLED));
    assert!(matches!(out.outcome.next, Next::Retry(_)));
    reconcile(&ecs, &mut obj, TD1).await;
    assert!(ecs.service("default", "web").is_some(), "converges once the throttling lifts");
}

#[tokio::test]
async fn a_missing_reference_waits_without_touching_ecs() {
    let ecs = FakeServices::default();
    let obj = object(serde_json::json!({"taskDefinitionRef": {"name": "web"}}));
    let out = sync::apply(&ecs, now(), subject(&obj), TaskDefinition::NotFound("web".into()), None, TIMING).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices"]);
    let ready = find_condition(&out.outcome.status.conditions, READY).unwrap();
    assert_eq!(ready.reason, reason::TASK_DEFINITION_NOT_FOUND);
    assert!(matches!(out.outcome.next, Next::AwaitChange));
}

#[tokio::test]
async fn a_cached_observation_saves_the_describe() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web", "desiredCount": 0}));
    reconcile(&ecs, &mut obj, TD1).await;
    let observed = ecs.service("default", "web");
    ecs.forget_calls();
    let out =
        sync::apply(&ecs, now(), subject(&obj), TaskDefinition::Resolved(TD1.into()), Some(observed), TIMING).await;
    assert!(ecs.calls().is_empty(), "{:?}", ecs.calls());
    let ready = find_condition(&out.outcome.status.conditions, READY).unwrap();
    assert_eq!(ready.status, "True");
}

#[tokio::test]
async fn delete_scales_to_zero_deletes_and_leaves_foreign_services() {
    let ecs = FakeServices::default();
    let mut obj = object(serde_json::json!({"taskDefinition": "web", "desiredCount": 2}));
    reconcile(&ecs, &mut obj, TD1).await;
    ecs.complete_rollout("default", "web");
    ecs.forget_calls();
    let out = sync::delete(&ecs, now(), subject(&obj)).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices", "UpdateService", "DeleteService"]);
    assert!(matches!(out.outcome.next, Next::AwaitChange), "released once DRAINING");
    let deleted = ecs.service("default", "web").unwrap();
    assert_eq!((deleted.status.as_str(), deleted.desired_count), ("DRAINING", 0));
    // Again: nothing left to do.
    ecs.forget_calls();
    sync::delete(&ecs, now(), subject(&obj)).await;
    assert_eq!(ecs.calls(), vec!["DescribeServices"]);

    let ecs = FakeServices::default();
    ecs.create_foreign("default", "web", TD1, Tags::new());
    let stranger = object(serde_json::json!({"taskDefinition": "web"}));
    let out = sync::delete(&ecs, now(), subject(&stranger)).await;
    assert_eq!(ecs.count("DeleteService"), 0);
    assert_eq!(out.outcome.notices[0].reason, "NotDeleted");

    let ecs = FakeServices::default();
    let mut kept = object(serde_json::json!({"taskDefinition": "web", "deletionPolicy": "Retain"}));
    reconcile(&ecs, &mut kept, TD1).await;
    ecs.forget_calls();
    sync::delete(&ecs, now(), subject(&kept)).await;
    assert!(ecs.calls().is_empty());
}

mod fleet_skip {
    use super::*;
    use crate::api::EcsTaskDefinition;
    use crate::controller::service::{fleet, needs_reconcile};
    use crate::ecs::service::ServiceEventRecord;
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;

    fn task_definitions() -> kube::runtime::reflector::Store<EcsTaskDefinition> {
        let (store, mut writer) = reflector::store::<EcsTaskDefinition>();
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
        store
    }

    /// A Ready service and what ECS says about it, in agreement.
    async fn settled() -> (FakeServices, EcsService) {
        let ecs = FakeServices::default();
        let mut obj = object(serde_json::json!({"taskDefinition": TD1, "desiredCount": 2}));
        reconcile(&ecs, &mut obj, TD1).await;
        ecs.complete_rollout("default", "web");
        let out = reconcile(&ecs, &mut obj, TD1).await;
        published(&mut obj, &out);
        (ecs, obj)
    }

    #[tokio::test]
    async fn an_observation_that_matches_the_status_needs_no_reconcile() {
        let (ecs, obj) = settled().await;
        let tds = task_definitions();
        let observed = ecs.service("default", "web");
        assert!(!needs_reconcile(&obj, observed.as_ref(), &tds));

        let mut scaled = observed.clone().unwrap();
        scaled.desired_count = 5;
        assert!(needs_reconcile(&obj, Some(&scaled), &tds), "drift or a new count");
        let mut evented = observed.clone().unwrap();
        evented.events.insert(
            0,
            ServiceEventRecord {
                id: "new".into(),
                created_at: Timestamp::from_second(1_900_000_000).unwrap(),
                message: "(service web) has started 1 tasks: (task x).".into(),
            },
        );
        assert!(needs_reconcile(&obj, Some(&evented), &tds), "an event to mirror");
        assert!(needs_reconcile(&obj, None, &tds), "MISSING in ECS");
        let mut untagged = observed.clone().unwrap();
        untagged.tags = Some(Tags::new());
        assert!(needs_reconcile(&obj, Some(&untagged), &tds), "ownership tags to restore");
        let mut redeploy = obj.clone();
        redeploy.spec.force_new_deployment_token = Some("now".into());
        assert!(needs_reconcile(&redeploy, observed.as_ref(), &tds));
    }

    #[tokio::test]
    async fn only_new_events_are_kept_for_the_reconcile() {
        let (ecs, obj) = settled().await;
        let mut observed = ecs.service("default", "web").unwrap();
        let old = observed.events.len();
        assert!(old > 0);
        fleet::keep_new_events(&mut observed, &obj);
        assert!(observed.events.is_empty(), "all {old} were published");
        ecs.edit("default", "web", |s| {
            s.events.insert(
                0,
                ServiceEventRecord {
                    id: "fresh".into(),
                    created_at: Timestamp::from_second(1_900_000_100).unwrap(),
                    message: "m".into(),
                },
            )
        });
        let mut observed = ecs.service("default", "web").unwrap();
        fleet::keep_new_events(&mut observed, &obj);
        assert_eq!(observed.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["fresh"]);
    }
}
