//! EcsTask end to end: the real API server, the controller in this process (or as
//! the binary, for the crash), and the ECS emulator's scheduler on its real clock
//! (short phases). The emulator's simulated runtime runs no command, so a task's
//! end is given by its failure variables, through RunTask's overrides:
//! `ECS_EMULATOR_EXIT_CODE=<n>` with `ECS_EMULATOR_EXIT_AFTER=<s>` exits n that
//! long after RUNNING (0 is a successful one-shot job), without `EXIT_AFTER` it
//! exits while starting.

use std::time::Duration;

use aws_sdk_ecs::types::DesiredStatus;
use ecs_bridge::api::task::{AttemptResult, TaskPhase};
use ecs_bridge::api::{EcsTask, EcsTaskDefinition};
use ecs_bridge::controller::ControllerHandle;
use ecs_bridge::controller::task::plan::Policy;
use ecs_bridge::emulator::RunningEmulator;
use kube::api::{Api, DeleteParams};
use serde_json::{Value, json};

use ecs_bridge::controller::RetryPolicy;

use crate::operator::{
    ControllerProcess, apply, condition, config, ecs_client, emulator, events, requests, start_controller, until_gone,
};
use crate::operator_service_rollout::fargate_task_definition;
use crate::support::{self, TestNamespace, kubectl, poll_until, run_ok};

const CLUSTER: &str = "batch";

struct TaskHarness {
    ns: TestNamespace,
    emulator: RunningEmulator,
    ecs: aws_sdk_ecs::Client,
    controller: Option<ControllerHandle>,
}

impl TaskHarness {
    async fn start(prefix: &str) -> Self {
        let ns = support::namespace(prefix).await;
        let emulator = emulator().await;
        let ecs = ecs_client(&emulator.endpoint());
        ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("the cluster is created");
        let mut config = config(&ns.name, "replica-a");
        // Brisk polls and a back-off of seconds, not Job's minutes.
        config.task = Policy {
            poll: Duration::from_millis(500),
            backoff: RetryPolicy { base: Duration::from_secs(1), max: Duration::from_secs(4) },
        };
        let controller = start_controller(config, ns.client.clone(), &emulator.endpoint()).await;
        Self { ns, emulator, ecs, controller: Some(controller) }
    }

    fn tasks(&self) -> Api<EcsTask> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    fn task_definitions(&self) -> Api<EcsTaskDefinition> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    async fn stop(mut self) {
        if let Some(controller) = self.controller.take() {
            controller.shutdown().await;
        }
    }
}

/// An EcsTask on Fargate in the test cluster; `spec` is merged over the defaults.
fn ecs_task(name: &str, spec: Value) -> Value {
    let mut full = json!({
        "cluster": CLUSTER,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0aaaaaaaaaaaaaaa1"]}},
    });
    if let (Some(full), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        full.extend(extra.clone());
    }
    json!({"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsTask", "metadata": {"name": name}, "spec": full})
}

/// Overrides that make container `app` exit with `code`, `after` seconds after
/// RUNNING (or while starting).
fn exits(code: i32, after: Option<f64>) -> Value {
    let mut env = vec![json!({"name": "ECS_EMULATOR_EXIT_CODE", "value": code.to_string()})];
    if let Some(after) = after {
        env.push(json!({"name": "ECS_EMULATOR_EXIT_AFTER", "value": after.to_string()}));
    }
    json!({"containerOverrides": [{"name": "app", "environment": env}]})
}

/// Waits until condition `type_` is True.
async fn until_condition(api: &Api<EcsTask>, name: &str, type_: &str) -> EcsTask {
    poll_until(&format!("{name} has {type_}=True"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        match condition(&status.conditions, type_) {
            Some((s, _, _)) if s == "True" => Ok(obj),
            _ => Err(format!("{status:#?}")),
        }
    })
    .await
}

/// Every task of the object in ECS (running or stopped), found by its `startedBy`.
async fn ecs_tasks(ecs: &aws_sdk_ecs::Client, uid: &str) -> Vec<aws_sdk_ecs::types::Task> {
    let mut arns = Vec::new();
    for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let listed = ecs
            .list_tasks()
            .cluster(CLUSTER)
            .started_by(format!("ecs-bridge/{uid}"))
            .desired_status(desired)
            .send()
            .await
            .expect("ListTasks");
        arns.extend(listed.task_arns.unwrap_or_default());
    }
    if arns.is_empty() {
        return Vec::new();
    }
    ecs.describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(arns))
        .send()
        .await
        .expect("DescribeTasks")
        .tasks
        .unwrap_or_default()
}

fn uid_of(obj: &EcsTask) -> String {
    obj.metadata.uid.clone().expect("a uid")
}

/// How many Events of `reason` the object has.
async fn event_count(h: &TaskHarness, name: &str, reason: &str) -> usize {
    events(&h.ns.client, &h.ns.name, name).await.iter().filter(|(_, r, _)| r == reason).count()
}

#[tokio::test]
async fn an_ecs_task_runs_to_complete_with_its_exit_code() {
    let h = TaskHarness::start("task-complete").await;
    apply(&h.task_definitions(), "job", fargate_task_definition("job", "busybox", json!([]))).await;
    apply(
        &h.tasks(),
        "job",
        ecs_task("job", json!({"taskDefinitionRef": {"name": "job"}, "overrides": exits(0, Some(1.0))})),
    )
    .await;

    // `kubectl wait` is how a pipeline waits for a Job; it works the same here.
    let namespace = h.ns.name.clone();
    let waited = tokio::task::spawn_blocking(move || {
        run_ok(kubectl(&namespace).args(["wait", "--for=condition=Complete", "ecstask/job", "--timeout=90s"]))
    })
    .await
    .expect("kubectl wait ran");
    assert!(waited.contains("condition met"), "{waited}");

    let obj = h.tasks().get("job").await.expect("get");
    let status = obj.status.clone().expect("a status");
    assert_eq!(status.phase, Some(TaskPhase::Succeeded));
    assert_eq!(status.exit_code, Some(0));
    assert_eq!(status.attempt_count, 1);
    assert_eq!(condition(&status.conditions, "Failed").map(|c| c.0), Some("False".to_owned()));
    assert!(status.task_definition_arn.as_deref().is_some_and(|a| a.ends_with("task-definition/job:1")), "{status:#?}");
    let attempt = &status.attempts[0];
    assert_eq!(attempt.client_token, format!("{}-1", uid_of(&obj)));
    assert_eq!(attempt.result, Some(AttemptResult::Succeeded));
    let record = &attempt.tasks[0];
    assert_eq!(record.last_status, "STOPPED");
    assert_eq!(record.stop_code.as_deref(), Some("EssentialContainerExited"));
    assert_eq!(record.containers[0].exit_code, Some(0));
    assert!(record.started_at.is_some() && record.stopped_at.is_some());

    // ECS agrees: one task, stopped, exit code 0.
    let in_ecs = ecs_tasks(&h.ecs, &uid_of(&obj)).await;
    assert_eq!(in_ecs.len(), 1);
    assert_eq!(in_ecs[0].task_arn.as_deref(), Some(record.task_arn.as_str()));
    assert_eq!(in_ecs[0].containers()[0].exit_code(), Some(0));

    // Each state change is one Event, and a restart does not repeat them.
    for reason in ["Started", "TaskRunning", "TaskStopped", "Completed"] {
        poll_until(&format!("one {reason} event"), || async {
            match event_count(&h, "job", reason).await {
                1 => Ok(()),
                n => Err(format!("{n} events")),
            }
        })
        .await;
    }
    let table = run_ok(kubectl(&h.ns.name).args(["get", "ecstask", "job"]));
    assert!(
        table.lines().nth(1).is_some_and(|l| l.split_whitespace().take(4).eq(["job", "Succeeded", "0", "1"])),
        "{table}"
    );
    let mut h = h;
    if let Some(old) = h.controller.take() {
        old.shutdown().await;
    }
    let before = requests(&h.emulator);
    let restarted =
        start_controller(config(&h.ns.name, "replica-b"), h.ns.client.clone(), &h.emulator.endpoint()).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for reason in ["Started", "TaskRunning", "TaskStopped", "Completed"] {
        assert_eq!(event_count(&h, "job", reason).await, 1, "{reason} after the restart");
    }
    let after = requests(&h.emulator);
    for op in ["RunTask", "DescribeTasks", "StopTask"] {
        assert_eq!(before.get(op), after.get(op), "a finished EcsTask costs no {op}");
    }
    restarted.shutdown().await;
    h.stop().await;
}

#[tokio::test]
async fn an_ecs_task_fails_after_its_backoff_limit() {
    let h = TaskHarness::start("task-backoff").await;
    // A task definition managed outside Kubernetes, named by family.
    h.ecs
        .register_task_definition()
        .family("flaky")
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(aws_sdk_ecs::types::ContainerDefinition::builder().name("app").image("busybox").build())
        .send()
        .await
        .expect("registered");
    apply(
        &h.tasks(),
        "flaky",
        ecs_task("flaky", json!({"taskDefinition": "flaky", "backoffLimit": 2, "overrides": exits(3, None)})),
    )
    .await;

    let obj = until_condition(&h.tasks(), "flaky", "Failed").await;
    let status = obj.status.clone().expect("a status");
    let failed = condition(&status.conditions, "Failed").expect("Failed");
    assert_eq!(failed.1, "BackoffLimitExceeded", "{failed:?}");
    assert!(failed.2.contains("app exited with code 3"), "{failed:?}");
    assert_eq!(condition(&status.conditions, "Complete").map(|c| c.0), Some("False".to_owned()));
    assert_eq!((status.phase, status.exit_code, status.attempt_count), (Some(TaskPhase::Failed), Some(3), 3));
    let tokens: Vec<&str> = status.attempts.iter().map(|a| a.client_token.as_str()).collect();
    let uid = uid_of(&obj);
    assert_eq!(tokens, [format!("{uid}-1"), format!("{uid}-2"), format!("{uid}-3")]);
    assert!(status.attempts.iter().all(|a| a.result == Some(AttemptResult::Failed)));
    // The back-off: each attempt starts after the previous one failed, later each time.
    let launched: Vec<i64> =
        status.attempts.iter().map(|a| a.launched_at.as_ref().expect("launched").0.as_second()).collect();
    let finished: Vec<i64> =
        status.attempts.iter().map(|a| a.finished_at.as_ref().expect("finished").0.as_second()).collect();
    assert!(launched[1] > finished[0] && launched[2] >= finished[1] + 2, "{launched:?} {finished:?}");

    // Exactly three tasks, one per attempt, and nothing more afterwards.
    assert_eq!(ecs_tasks(&h.ecs, &uid).await.len(), 3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(ecs_tasks(&h.ecs, &uid).await.len(), 3, "no attempt after Failed");
    assert_eq!(event_count(&h, "flaky", "AttemptFailed").await, 2);
    assert_eq!(event_count(&h, "flaky", "BackoffLimitExceeded").await, 1);
    h.stop().await;
}

#[tokio::test]
async fn active_deadline_seconds_stops_the_task_and_the_ttl_deletes_it() {
    let h = TaskHarness::start("task-deadline").await;
    apply(&h.task_definitions(), "long", fargate_task_definition("long", "busybox", json!([]))).await;
    apply(
        &h.tasks(),
        "long",
        ecs_task(
            "long",
            json!({
                "taskDefinitionRef": {"name": "long"},
                "overrides": exits(0, Some(600.0)),
                "activeDeadlineSeconds": 4,
                "ttlSecondsAfterFinished": 6
            }),
        ),
    )
    .await;
    let obj = until_condition(&h.tasks(), "long", "Failed").await;
    let uid = uid_of(&obj);
    let failed = condition(&obj.status.clone().unwrap_or_default().conditions, "Failed").expect("Failed");
    assert_eq!(failed.1, "DeadlineExceeded", "{failed:?}");

    // ECS stopped it, for the reason the operator gave.
    let stopped = poll_until("ECS stopped the task", || async {
        let tasks = ecs_tasks(&h.ecs, &uid).await;
        match tasks.as_slice() {
            [task] if task.last_status() == Some("STOPPED") => Ok(task.clone()),
            other => Err(format!("{other:#?}")),
        }
    })
    .await;
    assert_eq!(stopped.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert!(stopped.stopped_reason().is_some_and(|r| r.contains("activeDeadlineSeconds (4s) exceeded")), "{stopped:?}");
    // The status follows the task to STOPPED, then the time to live deletes the object.
    until_gone(&h.tasks(), "long").await;
    assert_eq!(event_count(&h, "long", "DeadlineExceeded").await, 1);
    h.stop().await;
}

#[tokio::test]
async fn deleting_stops_the_tasks_or_leaves_them_by_policy() {
    let h = TaskHarness::start("task-delete").await;
    apply(&h.task_definitions(), "worker", fargate_task_definition("worker", "busybox", json!([]))).await;
    for (name, policy) in [("stopped", "Delete"), ("kept", "Retain")] {
        let spec = json!({"taskDefinitionRef": {"name": "worker"}, "overrides": exits(0, Some(600.0)), "deletionPolicy": policy});
        apply(&h.tasks(), name, ecs_task(name, spec)).await;
    }
    let mut uids = Vec::new();
    for name in ["stopped", "kept"] {
        let obj = poll_until(&format!("{name}'s task is RUNNING"), || async {
            let obj = h.tasks().get(name).await.map_err(|e| e.to_string())?;
            let running = obj.status.as_ref().and_then(|s| s.attempts.first()).and_then(|a| a.tasks.first());
            match running {
                Some(t) if t.last_status == "RUNNING" => Ok(obj),
                _ => Err(format!("{:#?}", obj.status)),
            }
        })
        .await;
        uids.push(uid_of(&obj));
        h.tasks().delete(name, &DeleteParams::default()).await.expect("delete");
    }
    for name in ["stopped", "kept"] {
        until_gone(&h.tasks(), name).await;
    }
    let stopped = ecs_tasks(&h.ecs, &uids[0]).await;
    assert_eq!(stopped.len(), 1);
    assert_eq!(stopped[0].desired_status(), Some("STOPPED"), "deletionPolicy Delete stops the task");
    assert!(stopped[0].stopped_reason().is_some_and(|r| r.contains("deleted (deletionPolicy: Delete)")));
    let kept = ecs_tasks(&h.ecs, &uids[1]).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].desired_status(), kept[0].last_status()),
        (Some("RUNNING"), Some("RUNNING")),
        "deletionPolicy Retain leaves it running"
    );
    h.stop().await;
}

/// The crash the clientToken is for: the controller binary aborts right after
/// RunTask answered, before the attempt is in the status; the restarted one asks
/// RunTask again with the same token and ECS answers with the same task.
#[tokio::test]
async fn a_controller_killed_right_after_run_task_starts_no_second_task() {
    let ns = support::namespace("task-crash").await;
    let emulator = emulator().await;
    let ecs = ecs_client(&emulator.endpoint());
    ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("the cluster is created");
    let tasks: Api<EcsTask> = Api::namespaced(ns.client.clone(), &ns.name);
    let task_definitions: Api<EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&task_definitions, "once", fargate_task_definition("once", "busybox", json!([]))).await;
    apply(
        &tasks,
        "once",
        ecs_task("once", json!({"taskDefinitionRef": {"name": "once"}, "overrides": exits(0, Some(2.0))})),
    )
    .await;

    let failpoint = ecs_bridge::controller::task::sync::AFTER_RUN_TASK;
    let mut crashing = ControllerProcess::start(
        &ns.name,
        &emulator.endpoint(),
        &["--task-poll-seconds", "1"],
        &[(ecs_bridge::controller::failpoint::ENV, failpoint)],
    );
    let exit = crashing.exited().await;
    assert!(!exit.success(), "the failpoint aborts the process: {exit:?}\n{}", crashing.log());
    assert!(crashing.log().contains("failpoint after-run-task reached"), "{}", crashing.log());
    let obj = tasks.get("once").await.expect("get");
    let uid = uid_of(&obj);
    assert!(obj.status.as_ref().is_some_and(|s| s.attempts.is_empty()), "the attempt never reached the status");
    assert_eq!(ecs_tasks(&ecs, &uid).await.len(), 1, "RunTask did start the task");

    let restarted = ControllerProcess::start(&ns.name, &emulator.endpoint(), &["--task-poll-seconds", "1"], &[]);
    let done = until_condition(&tasks, "once", "Complete").await;
    let status = done.status.clone().expect("a status");
    let in_ecs = ecs_tasks(&ecs, &uid).await;
    assert_eq!(in_ecs.len(), 1, "one task only: {in_ecs:#?}");
    assert_eq!(status.attempts.len(), 1);
    assert_eq!(status.attempts[0].tasks[0].task_arn, in_ecs[0].task_arn().unwrap_or_default());
    assert_eq!(requests(&emulator).get("RunTask"), Some(&2), "asked twice, started once");
    drop(restarted);
}
