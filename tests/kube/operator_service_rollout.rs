//! EcsService rollouts against the emulator's scheduler on a manual clock:
//! nothing moves in ECS until a test advances time, so each rollout state
//! (in progress, completed, failed and rolled back) can be seen and checked
//! on any machine. Fargate tasks, so no container instances are needed.

use std::collections::BTreeSet;
use std::future::Future;
use std::time::Duration;

use ecs_bridge::api::EcsService;
use ecs_bridge::emulator::EmulatorConfig;
use kube::api::Api;
use serde_json::{Value, json};

use crate::operator::{apply, condition, events};
use crate::operator_service::{ServiceHarness, all_events_mirrored_once, condition_is};
use crate::support::{self, poll_until};

/// A Fargate task definition; `env` lands in the container's environment
/// (where the emulator's failure variables go).
pub fn fargate_task_definition(name: &str, image: &str, env: Value) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "app", "image": image, "essential": true, "environment": env}]
        }
    })
}

pub fn fargate_service(name: &str, spec: Value) -> Value {
    let mut full = json!({
        "cluster": crate::operator_service::CLUSTER,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]}},
    });
    if let (Some(full), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        full.extend(extra.clone());
    }
    json!({"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsService", "metadata": {"name": name}, "spec": full})
}

async fn manual_harness(prefix: &str) -> ServiceHarness {
    let ns = support::namespace(prefix).await;
    let emulator = ecs_bridge::emulator::spawn(EmulatorConfig::manual()).await.expect("the emulator starts");
    ServiceHarness::with_emulator(ns, emulator, Duration::from_secs(300)).await
}

/// Advances the emulator's clock a step at a time, giving the controller (which
/// polls rollouts every second of real time) a moment after each, until `check` holds.
pub async fn advance_until<T, F, Fut>(h: &ServiceHarness, what: &str, step: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut last = String::new();
    for _ in 0..150 {
        h.emulator.advance(step).expect("a manual clock");
        tokio::time::sleep(Duration::from_millis(400)).await;
        match check().await {
            Ok(value) => return value,
            Err(why) => last = why,
        }
    }
    panic!("{what} did not happen while the clock advanced; last: {last}");
}

fn revision(obj: &EcsService) -> Option<i32> {
    obj.status.as_ref().and_then(|s| s.task_definition_revision)
}

async fn ready_on(api: &Api<EcsService>, name: &str, rev: i32, running: i32) -> Result<EcsService, String> {
    let obj = api.get(name).await.map_err(|e| e.to_string())?;
    let status = obj.status.clone().unwrap_or_default();
    let ready = condition(&status.conditions, "Ready");
    let current =
        status.conditions.iter().any(|c| c.type_ == "Ready" && c.observed_generation == obj.metadata.generation);
    match ready {
        Some((s, _, _))
            if s == "True" && current && revision(&obj) == Some(rev) && status.running_count == Some(running) =>
        {
            Ok(obj)
        }
        _ => Err(format!("{status:#?}")),
    }
}

/// The deployment IDs ECS reports for the service, all it ever had (their
/// `startedBy` on tasks would do too): counted from the rollout metric.
fn started(h: &ServiceHarness) -> u64 {
    h.controller().metrics().services().rollout_count("started")
}

#[tokio::test]
async fn create_rolls_out_and_is_ready_with_every_task_running() {
    let h = manual_harness("svc-rollout-create").await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    apply(&api, "web", fargate_service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 2}))).await;

    // The clock stands still: the first deployment is in progress.
    let obj = condition_is(&api, "web", "Progressing", "True", "RolloutInProgress").await;
    let status = obj.status.unwrap();
    assert_eq!(condition(&status.conditions, "Ready").map(|c| c.1), Some("RolloutInProgress".to_owned()));
    assert_eq!(status.desired_count, Some(2));
    assert_eq!(status.running_count, Some(0));

    let obj =
        advance_until(&h, "web Ready with 2 tasks running", Duration::from_secs(1), || ready_on(&api, "web", 1, 2))
            .await;
    let status = obj.status.unwrap();
    assert_eq!(status.deployments.len(), 1);
    assert_eq!(condition(&status.conditions, "Progressing").map(|c| c.1), Some("RolloutComplete".to_owned()));
    let mirrored = all_events_mirrored_once(&h, "web").await;
    assert!(mirrored.iter().any(|n| n.contains("has started 2 tasks")), "{mirrored:#?}");
    assert!(mirrored.iter().any(|n| n.contains("has reached a steady state")), "{mirrored:#?}");
    let service = h.ecs_service("web").await;
    assert_eq!((service.running_count(), service.desired_count()), (2, 2));
    h.stop().await;
}

#[tokio::test]
async fn a_new_revision_progresses_then_is_ready_on_it() {
    let h = manual_harness("svc-rollout-update").await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    apply(&api, "web", fargate_service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 2}))).await;
    advance_until(&h, "revision 1 Ready", Duration::from_secs(1), || ready_on(&api, "web", 1, 2)).await;
    let before = started(&h);

    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:2", json!([]))).await;
    let obj = poll_until("a rollout of revision 2 in progress", || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        let progressing = condition(&status.conditions, "Progressing").map(|c| c.0);
        (progressing.as_deref() == Some("True") && revision(&obj) == Some(2))
            .then_some(obj)
            .ok_or(format!("{status:#?}"))
    })
    .await;
    let status = obj.status.unwrap();
    assert_eq!(condition(&status.conditions, "Ready").map(|c| c.0), Some("False".to_owned()));
    let revisions: BTreeSet<String> = status
        .deployments
        .iter()
        .filter_map(|d| d.task_definition.clone())
        .map(|arn| arn.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(revisions, ["web:1".to_owned(), "web:2".to_owned()].into(), "both revisions show as in use");

    advance_until(&h, "revision 2 Ready", Duration::from_secs(1), || ready_on(&api, "web", 2, 2)).await;
    assert_eq!(started(&h) - before, 1, "one deployment for one revision");
    assert!(h.controller().metrics().services().rollout_count("completed") >= 2);
    all_events_mirrored_once(&h, "web").await;
    h.stop().await;
}

#[tokio::test]
async fn failing_tasks_trip_the_circuit_breaker_and_the_service_rolls_back() {
    let h = manual_harness("svc-rollout-breaker").await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    apply(
        &api,
        "web",
        fargate_service(
            "web",
            json!({
                "taskDefinitionRef": {"name": "web"}, "desiredCount": 2,
                "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}
            }),
        ),
    )
    .await;
    advance_until(&h, "revision 1 Ready", Duration::from_secs(1), || ready_on(&api, "web", 1, 2)).await;
    let updates_before = h.ecs_requests().get("UpdateService").copied().unwrap_or(0);

    // Revision 2's container exits while starting: every task fails.
    apply(
        &h.task_definitions(),
        "web",
        fargate_task_definition("web", "nginx:2", json!([{"name": "ECS_EMULATOR_EXIT_CODE", "value": "1"}])),
    )
    .await;
    let obj = advance_until(&h, "web Degraded", Duration::from_secs(2), || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let conditions = obj.status.clone().unwrap_or_default().conditions;
        match condition(&conditions, "Degraded") {
            Some((s, r, _)) if s == "True" && r == "RolledBack" => Ok(obj),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (_, _, message) = condition(&obj.status.clone().unwrap().conditions, "Degraded").unwrap();
    assert!(message.contains("tasks failed to start"), "ECS's reason: {message}");

    // The rollback settles on revision 1; the service stays Degraded, not Ready,
    // and revision 2 is not pushed again.
    let obj = advance_until(&h, "back on revision 1", Duration::from_secs(2), || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        (revision(&obj) == Some(1) && status.deployments.len() == 1 && status.running_count == Some(2))
            .then_some(obj)
            .ok_or(format!("{status:#?}"))
    })
    .await;
    let status = obj.status.unwrap();
    assert_eq!(
        condition(&status.conditions, "Ready").map(|c| (c.0, c.1)),
        Some(("False".to_owned(), "RolledBack".to_owned()))
    );
    assert_eq!(condition(&status.conditions, "Degraded").map(|c| c.0), Some("True".to_owned()));
    for _ in 0..5 {
        h.emulator.advance(Duration::from_secs(5)).expect("advance");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let updates = h.ecs_requests().get("UpdateService").copied().unwrap_or(0) - updates_before;
    assert_eq!(updates, 1, "one UpdateService to revision 2, none after the rollback");
    let seen = events(&h.ns.client, &h.ns.name, "web").await;
    for reason in ["DeploymentFailed", "RollingBack"] {
        assert!(seen.iter().any(|(t, r, _)| t == "Warning" && r == reason), "a Warning {reason}: {seen:#?}");
    }
    all_events_mirrored_once(&h, "web").await;
    assert!(h.controller().metrics().services().rollout_count("failed") >= 1);
    assert_eq!(h.controller().metrics().services().count("Degraded"), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_restart_mid_rollout_finishes_it_without_an_extra_deployment_or_event() {
    let mut h = manual_harness("svc-rollout-restart").await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    apply(&api, "web", fargate_service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 3}))).await;
    advance_until(&h, "revision 1 Ready", Duration::from_secs(1), || ready_on(&api, "web", 1, 3)).await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:2", json!([]))).await;
    condition_is(&api, "web", "Progressing", "True", "RolloutInProgress").await;
    // Part of the way: new tasks started, none healthy yet.
    h.emulator.advance(Duration::from_secs(2)).expect("advance");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mid = api.get("web").await.unwrap().status.unwrap();
    assert_eq!(mid.deployments.len(), 2, "mid-rollout: {mid:#?}");

    h.restart_controller().await;
    let obj =
        advance_until(&h, "revision 2 Ready after the restart", Duration::from_secs(1), || ready_on(&api, "web", 2, 3))
            .await;
    let deployments: BTreeSet<String> = obj.status.unwrap().deployments.iter().map(|d| d.id.clone()).collect();
    assert!(
        mid.deployments.iter().any(|d| deployments.contains(&d.id)),
        "the rollout in progress is the one that completed"
    );
    assert_eq!(h.ecs_requests().get("UpdateService").copied().unwrap_or(0), 1, "no extra deployment");
    all_events_mirrored_once(&h, "web").await;
    h.stop().await;
}

#[tokio::test]
async fn kubectl_scale_changes_the_running_tasks() {
    let h = manual_harness("svc-rollout-scale").await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    apply(&api, "web", fargate_service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 1}))).await;
    advance_until(&h, "1 task", Duration::from_secs(1), || ready_on(&api, "web", 1, 1)).await;
    support::run_ok(support::kubectl(&h.ns.name).args(["scale", "ecsservice/web", "--replicas=3"]));
    let obj = advance_until(&h, "3 tasks", Duration::from_secs(1), || ready_on(&api, "web", 1, 3)).await;
    assert_eq!(obj.status.unwrap().deployments.len(), 1, "scaling is not a deployment");
    let replicas = support::run_ok(support::kubectl(&h.ns.name).args([
        "get",
        "ecsservice/web",
        "--subresource=scale",
        "-o",
        "jsonpath={.status.replicas}",
    ]));
    assert_eq!(replicas.trim(), "3", "the scale subresource reports the running count");
    h.stop().await;
}

#[tokio::test]
async fn the_standby_finishes_a_rollout_when_the_leader_dies() {
    use crate::operator::{config, ecs_client, lease, start_controller};
    let ns = support::namespace("svc-rollout-ha").await;
    let emulator = ecs_bridge::emulator::spawn(EmulatorConfig::manual()).await.expect("the emulator starts");
    ecs_client(&emulator.endpoint())
        .create_cluster()
        .cluster_name(crate::operator_service::CLUSTER)
        .send()
        .await
        .expect("cluster");
    let replica = |identity: &str| {
        let mut c = config(&ns.name, identity);
        c.leader_election = Some(lease(&ns.name, identity));
        c.rollout_poll = Duration::from_secs(1);
        c
    };
    let leader = start_controller(replica("replica-a"), ns.client.clone(), &emulator.endpoint()).await;
    poll_until("replica-a leads", || async { leader.is_leader().then_some(()).ok_or("not yet".to_owned()) }).await;
    let standby = start_controller(replica("replica-b"), ns.client.clone(), &emulator.endpoint()).await;

    let tds: Api<ecs_bridge::api::EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    let api: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&tds, "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    apply(&api, "web", fargate_service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 2}))).await;
    condition_is(&api, "web", "Progressing", "True", "RolloutInProgress").await;
    assert!(!standby.is_leader(), "one leader at a time");
    assert_eq!(standby.metrics().reconcile_count("EcsService", "success"), 0, "the standby has not written");

    // The leader dies without releasing the Lease; the standby takes over once it expires.
    leader.abort();
    poll_until("replica-b leads", || async { standby.is_leader().then_some(()).ok_or("not yet".to_owned()) }).await;
    let mut ready = None;
    for _ in 0..100 {
        emulator.advance(Duration::from_secs(1)).expect("advance");
        tokio::time::sleep(Duration::from_millis(400)).await;
        if let Ok(obj) = ready_on(&api, "web", 1, 2).await {
            ready = Some(obj);
            break;
        }
    }
    let obj = ready.expect("the standby finishes the rollout");
    assert_eq!(obj.status.unwrap().deployments.len(), 1);
    assert!(standby.metrics().reconcile_count("EcsService", "success") > 0);
    let creates = crate::operator::requests(&emulator).get("CreateService").copied();
    assert_eq!(creates, Some(1), "one service, created once");
    standby.shutdown().await;
}
