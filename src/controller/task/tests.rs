//! The EcsTask engine against the in-memory ECS fake: each reconcile's status is
//! fed to the next, as the API server would hand it back, so whole lives of an
//! EcsTask (and crashes in them) play out without a cluster.

use k8s_openapi::jiff::Timestamp;

use super::plan::Policy;
use super::sync::{self, AFTER_RUN_TASK, Resolution, Subject, TaskOutcome};
use crate::api::conditions::{find_condition, is_true};
use crate::api::task::{AttemptResult, COMPLETE, EcsTaskSpec, EcsTaskStatus, FAILED, TaskPhase};
use crate::controller::outcome::Next;
use crate::ecs::EcsError;
use crate::ecs::task_fake::FakeTasks;

const UID: &str = "0f9d7c4e-2b1a-4c3d-9e8f-123456789abc";

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

fn spec(extra: serde_json::Value) -> EcsTaskSpec {
    let mut base = serde_json::json!({"taskDefinition": "job", "cluster": "batch"});
    if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    serde_json::from_value(base).unwrap()
}

fn fake() -> FakeTasks {
    let ecs = FakeTasks::default();
    ecs.register("job", 3, &["app"]);
    ecs
}

async fn step(ecs: &FakeTasks, spec: &EcsTaskSpec, status: &EcsTaskStatus, now: Timestamp) -> TaskOutcome {
    let subject =
        Subject { namespace: "ns", name: "migrate", uid: UID, generation: Some(1), spec, status: status.clone() };
    sync::apply(ecs, now, subject, Resolution::Resolved("job".into()), &Policy::default()).await
}

/// Reconciles once and keeps the status, as the API server would.
async fn advance(ecs: &FakeTasks, spec: &EcsTaskSpec, status: &mut EcsTaskStatus, now: Timestamp) -> TaskOutcome {
    let out = step(ecs, spec, status, now).await;
    *status = out.outcome.status.clone();
    out
}

fn only_task(ecs: &FakeTasks) -> String {
    let tasks = ecs.tasks();
    assert_eq!(tasks.len(), 1, "{tasks:#?}");
    tasks[0].arn.clone()
}

#[tokio::test]
async fn a_task_is_pinned_then_started_then_completes_with_its_exit_code() {
    let ecs = fake();
    let spec = spec(serde_json::json!({}));
    let mut status = EcsTaskStatus::default();
    let out = advance(&ecs, &spec, &mut status, at(0)).await;
    assert!(matches!(out.outcome.next, Next::After(d) if d.is_zero()), "straight on to RunTask");
    assert!(status.task_definition_arn.as_deref().is_some_and(|a| a.ends_with("job:3")));
    assert_eq!(status.essential_containers, ["app"]);
    assert_eq!(ecs.count("RunTask"), 0, "the revision is recorded before anything runs");

    let out = advance(&ecs, &spec, &mut status, at(1)).await;
    assert_eq!(ecs.count("RunTask"), 1);
    assert_eq!(status.attempts[0].client_token, format!("{UID}-1"));
    assert_eq!(status.phase, Some(TaskPhase::Running));
    assert!(out.outcome.notices.iter().any(|n| n.reason == "Started"));
    let arn = only_task(&ecs);

    ecs.run(&arn, at(3));
    let out = advance(&ecs, &spec, &mut status, at(4)).await;
    assert!(matches!(out.outcome.next, Next::After(d) if d == Policy::default().poll), "polled while running");
    assert_eq!(out.outcome.notices.iter().map(|n| n.reason).collect::<Vec<_>>(), ["TaskRunning"]);

    ecs.exit(&arn, 0, at(9));
    let out = advance(&ecs, &spec, &mut status, at(10)).await;
    assert!(is_true(&status.conditions, COMPLETE));
    assert!(!is_true(&status.conditions, FAILED));
    assert_eq!((status.phase, status.exit_code), (Some(TaskPhase::Succeeded), Some(0)));
    assert_eq!(status.attempts[0].result, Some(AttemptResult::Succeeded));
    let reasons: Vec<&str> = out.outcome.notices.iter().map(|n| n.reason).collect();
    assert_eq!(reasons, ["TaskStopped", "Completed"]);
    assert!(matches!(out.outcome.next, Next::AwaitChange), "a finished task is not polled");

    ecs.forget_calls();
    let out = advance(&ecs, &spec, &mut status, at(20)).await;
    assert!(out.outcome.notices.is_empty(), "nothing is told twice");
    assert_eq!(ecs.count("DescribeTasks") + ecs.count("RunTask"), 0, "a finished task costs no ECS call");
}

#[tokio::test]
async fn a_crash_between_run_task_and_the_status_write_starts_no_second_task() {
    let ecs = fake();
    let spec = spec(serde_json::json!({}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    // The controller dies right after RunTask (at AFTER_RUN_TASK): its status is lost.
    let _ = AFTER_RUN_TASK;
    let lost = step(&ecs, &spec, &status, at(1)).await;
    assert_eq!(lost.outcome.status.attempts.len(), 1);
    // The restarted controller sees the status from before, and asks again.
    let out = advance(&ecs, &spec, &mut status, at(5)).await;
    assert_eq!(ecs.count("RunTask"), 2);
    let arn = only_task(&ecs);
    assert_eq!(status.attempts.len(), 1);
    assert_eq!(status.attempts[0].tasks[0].task_arn, arn, "the same task, found by its token");
    assert!(matches!(out.outcome.next, Next::After(_)));
}

#[tokio::test]
async fn failed_attempts_back_off_and_fail_past_the_backoff_limit() {
    let ecs = fake();
    let spec = spec(serde_json::json!({"backoffLimit": 1}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    advance(&ecs, &spec, &mut status, at(0)).await;
    let first = only_task(&ecs);
    ecs.exit(&first, 3, at(5));
    let out = advance(&ecs, &spec, &mut status, at(6)).await;
    assert_eq!(status.phase, Some(TaskPhase::BackingOff));
    assert_eq!(status.exit_code, Some(3));
    assert!(out.outcome.notices.iter().any(|n| n.reason == "AttemptFailed" && n.message.contains("code 3")));
    assert!(matches!(out.outcome.next, Next::After(d) if d.as_secs() == 10), "{:?}", out.outcome.next);
    assert!(!is_true(&status.conditions, FAILED));

    advance(&ecs, &spec, &mut status, at(10)).await;
    assert_eq!(ecs.count("RunTask"), 1, "not before the back-off is over");
    advance(&ecs, &spec, &mut status, at(16)).await;
    assert_eq!(ecs.count("RunTask"), 2);
    assert_eq!(status.attempts[1].client_token, format!("{UID}-2"));
    let second = status.attempts[1].tasks[0].task_arn.clone();
    assert_ne!(second, first);
    ecs.exit(&second, 4, at(20));
    let out = advance(&ecs, &spec, &mut status, at(21)).await;
    let failed = find_condition(&status.conditions, FAILED).unwrap();
    assert_eq!((failed.status.as_str(), failed.reason.as_str()), ("True", "BackoffLimitExceeded"));
    assert_eq!((status.phase, status.exit_code), (Some(TaskPhase::Failed), Some(4)));
    assert!(out.outcome.notices.iter().any(|n| n.reason == "BackoffLimitExceeded" && n.warning));
    advance(&ecs, &spec, &mut status, at(500)).await;
    assert_eq!(ecs.count("RunTask"), 2, "no attempt after failing");
}

#[tokio::test]
async fn the_deadline_fails_the_task_and_stops_what_runs() {
    let ecs = fake();
    let spec = spec(serde_json::json!({"activeDeadlineSeconds": 30}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    advance(&ecs, &spec, &mut status, at(0)).await;
    let arn = only_task(&ecs);
    ecs.run(&arn, at(2));
    let out = advance(&ecs, &spec, &mut status, at(28)).await;
    assert!(matches!(out.outcome.next, Next::After(d) if d.as_millis() <= 2100), "woken at the deadline");
    let out = advance(&ecs, &spec, &mut status, at(31)).await;
    let failed = find_condition(&status.conditions, FAILED).unwrap();
    assert_eq!((failed.status.as_str(), failed.reason.as_str()), ("True", "DeadlineExceeded"));
    assert_eq!(ecs.count("StopTask"), 1);
    assert!(ecs.tasks()[0].stopped_reason.as_deref().is_some_and(|r| r.contains("activeDeadlineSeconds")));
    assert!(matches!(out.outcome.next, Next::After(_)), "it watches the task stop");
    advance(&ecs, &spec, &mut status, at(33)).await;
    assert_eq!(ecs.count("StopTask"), 1, "asked once: the task is being stopped");
}

#[tokio::test]
async fn a_run_task_ecs_refuses_fails_the_task_for_good() {
    let ecs = fake();
    let spec = spec(serde_json::json!({}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    ecs.fail_next(
        "RunTask",
        EcsError::from_code(
            "RunTask",
            "InvalidParameterException",
            "Network Configuration must be provided".into(),
            None,
        ),
    );
    let out = advance(&ecs, &spec, &mut status, at(1)).await;
    let failed = find_condition(&status.conditions, FAILED).unwrap();
    assert_eq!(failed.reason, "InvalidSpec");
    assert!(failed.message.contains("Network Configuration"));
    assert!(matches!(out.outcome.next, Next::AwaitChange));
}

#[tokio::test]
async fn a_throttled_call_is_retried_without_a_new_attempt() {
    let ecs = fake();
    let spec = spec(serde_json::json!({}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    ecs.fail_next("RunTask", EcsError::from_code("RunTask", "ThrottlingException", "Rate exceeded".into(), None));
    let out = advance(&ecs, &spec, &mut status, at(1)).await;
    assert!(matches!(out.outcome.next, Next::Retry(_)));
    assert!(status.attempts.is_empty());
    let synced = find_condition(&status.conditions, "Synced").unwrap();
    assert_eq!((synced.status.as_str(), synced.reason.as_str()), ("False", "Throttled"));
    advance(&ecs, &spec, &mut status, at(2)).await;
    assert_eq!(status.attempts.len(), 1);
    assert_eq!(status.attempts[0].attempt, 1, "the retry is the same attempt");
}

#[tokio::test]
async fn an_unplaceable_attempt_fails_at_once() {
    let ecs = fake();
    let spec = spec(serde_json::json!({"backoffLimit": 2}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    ecs.next_run_unplaceable("RESOURCE:MEMORY");
    let out = advance(&ecs, &spec, &mut status, at(1)).await;
    assert_eq!(status.attempts[0].result, Some(AttemptResult::Failed));
    assert_eq!(status.phase, Some(TaskPhase::BackingOff));
    assert!(out.outcome.notices.iter().any(|n| n.reason == "RunTaskFailed"));
}

#[tokio::test]
async fn a_task_waiting_for_its_definition_starts_nothing() {
    let ecs = fake();
    let spec = spec(serde_json::json!({}));
    let subject = Subject {
        namespace: "ns",
        name: "migrate",
        uid: UID,
        generation: Some(1),
        spec: &spec,
        status: EcsTaskStatus::default(),
    };
    let waiting = Resolution::Waiting("EcsTaskDefinition job does not exist".into());
    let out = sync::apply(&ecs, at(0), subject, waiting, &Policy::default()).await;
    let synced = find_condition(&out.outcome.status.conditions, "Synced").unwrap();
    assert_eq!(synced.reason, "TaskDefinitionNotReady");
    assert_eq!(out.outcome.status.phase, Some(TaskPhase::Pending));
    assert_eq!(ecs.count("DescribeTaskDefinition") + ecs.count("RunTask"), 0);
}

#[tokio::test]
async fn deleting_stops_running_tasks_unless_retained() {
    for (policy, stops) in [("Delete", 1), ("Retain", 0)] {
        let ecs = fake();
        let spec = spec(serde_json::json!({"deletionPolicy": policy}));
        let mut status = EcsTaskStatus::default();
        advance(&ecs, &spec, &mut status, at(0)).await;
        advance(&ecs, &spec, &mut status, at(1)).await;
        let subject = Subject { namespace: "ns", name: "migrate", uid: UID, generation: Some(2), spec: &spec, status };
        let out = sync::delete(&ecs, at(2), subject).await;
        assert_eq!(ecs.count("StopTask"), stops, "{policy}");
        assert!(matches!(out.next, Next::AwaitChange));
        if stops == 1 {
            assert_eq!(ecs.tasks()[0].desired_status.as_deref(), Some("STOPPED"));
        }
    }
}

#[tokio::test]
async fn deleting_finds_a_task_the_status_never_recorded() {
    let ecs = fake();
    let spec = spec(serde_json::json!({}));
    let mut status = EcsTaskStatus::default();
    advance(&ecs, &spec, &mut status, at(0)).await;
    // RunTask happened, the status write did not (a crash).
    step(&ecs, &spec, &status, at(1)).await;
    let subject = Subject { namespace: "ns", name: "migrate", uid: UID, generation: Some(2), spec: &spec, status };
    sync::delete(&ecs, at(2), subject).await;
    assert_eq!(ecs.count("ListTasks"), 1);
    assert_eq!(ecs.count("StopTask"), 1);
}
