//! EcsService end to end: the real API server, the controller in this
//! process (or as the binary), and the ECS emulator over HTTP with the real
//! SDK client. These tests need no task to reach RUNNING: services run 0
//! tasks (their deployments complete at once) or are checked for what the
//! operator asks of ECS. The rollout tests that need the emulator's
//! scheduler live in `operator_service_rollout.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::types::ServiceField;
use ecs_bridge::api::{EcsService, EcsTaskDefinition};
use ecs_bridge::controller::ControllerHandle;
use ecs_bridge::emulator::RunningEmulator;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::operator::{
    ControllerProcess, apply, condition, config, ecs_client, emulator, events, requests, start_controller, until_gone,
};
use crate::support::{self, TestNamespace, poll_until};

pub const CLUSTER: &str = "apps";

/// Namespace, emulator with a cluster, and a controller that resyncs every
/// `resync` and polls rollouts every second.
pub struct ServiceHarness {
    pub ns: TestNamespace,
    pub emulator: RunningEmulator,
    pub ecs: aws_sdk_ecs::Client,
    pub controller: Option<ControllerHandle>,
    pub resync: Duration,
}

impl ServiceHarness {
    pub async fn start(prefix: &str, resync: Duration) -> Self {
        let ns = support::namespace(prefix).await;
        let emulator = emulator().await;
        Self::with_emulator(ns, emulator, resync).await
    }

    pub async fn with_emulator(ns: TestNamespace, emulator: RunningEmulator, resync: Duration) -> Self {
        let ecs = ecs_client(&emulator.endpoint());
        ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("the cluster is created");
        let mut harness = Self { ns, emulator, ecs, controller: None, resync };
        harness.controller = Some(harness.new_controller().await);
        harness
    }

    async fn new_controller(&self) -> ControllerHandle {
        let mut config = config(&self.ns.name, "replica-a");
        config.resync = self.resync;
        config.rollout_poll = Duration::from_secs(1);
        start_controller(config, self.ns.client.clone(), &self.emulator.endpoint()).await
    }

    pub fn controller(&self) -> &ControllerHandle {
        self.controller.as_ref().expect("the controller runs")
    }

    pub async fn restart_controller(&mut self) {
        if let Some(old) = self.controller.take() {
            old.shutdown().await;
        }
        self.controller = Some(self.new_controller().await);
    }

    pub async fn stop(mut self) {
        if let Some(controller) = self.controller.take() {
            controller.shutdown().await;
        }
    }

    pub fn services(&self) -> Api<EcsService> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    pub fn task_definitions(&self) -> Api<EcsTaskDefinition> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    pub fn ecs_requests(&self) -> BTreeMap<String, u64> {
        requests(&self.emulator)
    }

    /// The service as ECS describes it, with tags.
    pub async fn ecs_service(&self, name: &str) -> aws_sdk_ecs::types::Service {
        self.ecs
            .describe_services()
            .cluster(CLUSTER)
            .services(name)
            .include(ServiceField::Tags)
            .send()
            .await
            .unwrap_or_else(|e| panic!("describe {name}: {e:?}"))
            .services
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("ECS has no service {name}"))
    }
}

/// An EC2 task definition (bridge networking) for family `name`.
pub fn task_definition(name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "networkMode": "bridge",
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [{"name": "app", "image": image, "memory": 128, "essential": true}]
        }
    })
}

/// An EcsService in the test cluster; `spec` is merged over the defaults.
pub fn service(name: &str, spec: Value) -> Value {
    let mut full = json!({"cluster": CLUSTER, "launchType": "EC2"});
    if let (Some(full), Some(extra)) = (full.as_object_mut(), spec.as_object()) {
        full.extend(extra.clone());
    }
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": name},
        "spec": full,
    })
}

/// Waits until `name` is Ready for its current generation and `check` holds.
pub async fn ready_where(
    api: &Api<EcsService>,
    name: &str,
    what: &str,
    check: impl Fn(&EcsService) -> bool,
) -> EcsService {
    poll_until(&format!("{name} is Ready ({what})"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        let ready = condition(&status.conditions, "Ready");
        let current = ready.is_some()
            && status.conditions.iter().find(|c| c.type_ == "Ready").and_then(|c| c.observed_generation)
                == obj.metadata.generation;
        match ready {
            Some((s, _, _)) if s == "True" && current && check(&obj) => Ok(obj),
            _ => Err(format!("generation {:?}, status: {status:#?}", obj.metadata.generation)),
        }
    })
    .await
}

pub async fn ready(api: &Api<EcsService>, name: &str) -> EcsService {
    ready_where(api, name, "as it is", |_| true).await
}

/// Waits until the object's condition `type_` has `reason`.
pub async fn condition_is(api: &Api<EcsService>, name: &str, type_: &str, status: &str, reason: &str) -> EcsService {
    poll_until(&format!("{name} has {type_}={status} ({reason})"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let conditions = obj.status.clone().unwrap_or_default().conditions;
        match condition(&conditions, type_) {
            Some((s, r, _)) if s == status && r == reason => Ok(obj),
            other => Err(format!("{type_}: {other:?}; all: {conditions:#?}")),
        }
    })
    .await
}

/// The ECS service events of `name`, oldest first.
pub async fn ecs_events(h: &ServiceHarness, name: &str) -> Vec<String> {
    let mut messages: Vec<String> =
        h.ecs_service(name).await.events.unwrap_or_default().into_iter().filter_map(|e| e.message).collect();
    messages.reverse();
    messages
}

/// The Kubernetes Events mirrored from ECS for object `name`: notes, sorted.
pub async fn mirrored(client: &kube::Client, namespace: &str, name: &str) -> Vec<String> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let mut notes: Vec<String> = api
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .filter(|e| e.action.as_deref() == Some("EcsServiceEvent"))
        .filter_map(|e| e.note)
        .collect();
    notes.sort();
    notes
}

/// Waits until every ECS event of `name` is mirrored, each exactly once.
pub async fn all_events_mirrored_once(h: &ServiceHarness, name: &str) -> Vec<String> {
    poll_until(&format!("the ECS events of {name} are mirrored once each"), || async {
        let mut wanted = ecs_events(h, name).await;
        wanted.sort();
        let seen = mirrored(&h.ns.client, &h.ns.name, name).await;
        if !wanted.is_empty() && seen == wanted {
            Ok(seen)
        } else {
            Err(format!("ECS: {wanted:#?}\nKubernetes: {seen:#?}"))
        }
    })
    .await
}

fn delta(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>, op: &str) -> u64 {
    after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0)
}

fn tag(service: &aws_sdk_ecs::types::Service, key: &str) -> Option<String> {
    service.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value().map(str::to_owned))
}

#[tokio::test]
async fn a_service_follows_its_task_definition_and_reports_ready() {
    let h = ServiceHarness::start("svc-follow", Duration::from_secs(300)).await;
    apply(&h.task_definitions(), "web", task_definition("web", "nginx:1.27")).await;
    let api = h.services();
    apply(&api, "web", service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0}))).await;
    let obj = ready_where(&api, "web", "on revision 1", |o| {
        o.status.as_ref().and_then(|s| s.task_definition_revision) == Some(1)
    })
    .await;
    let status = obj.status.clone().unwrap();
    assert_eq!((status.desired_count, status.running_count), (Some(0), Some(0)));
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
    assert_eq!(status.deployments.len(), 1);
    assert_eq!(condition(&status.conditions, "Synced").map(|c| c.0), Some("True".to_owned()));
    assert_eq!(condition(&status.conditions, "Progressing").map(|c| c.1), Some("RolloutComplete".to_owned()));
    assert_eq!(condition(&status.conditions, "Degraded").map(|c| c.0), Some("False".to_owned()));

    // ECS holds what the spec says, tagged as this object's.
    let ecs = h.ecs_service("web").await;
    assert_eq!(ecs.service_arn(), status.service_arn.as_deref());
    assert!(ecs.task_definition().unwrap_or_default().ends_with("task-definition/web:1"));
    assert_eq!(tag(&ecs, "ecs-bridge.dev/owner-uid"), obj.metadata.uid);
    assert_eq!(tag(&ecs, "ecs-bridge.dev/owner"), Some(format!("{}/web", h.ns.name)));

    // kubectl wait works on the condition.
    let out = support::kubectl(&h.ns.name)
        .args(["wait", "--for=condition=Ready", "ecsservice/web", "--timeout=60s"])
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "kubectl wait: {}", String::from_utf8_lossy(&out.stderr));

    // A new revision of the task definition rolls the service to it, through the watch
    // (the resync is 5 minutes away).
    let before = h.ecs_requests();
    apply(&h.task_definitions(), "web", task_definition("web", "nginx:1.28")).await;
    let obj = ready_where(&api, "web", "on revision 2", |o| {
        o.status.as_ref().and_then(|s| s.task_definition_revision) == Some(2)
    })
    .await;
    let after = h.ecs_requests();
    assert_eq!(delta(&before, &after, "UpdateService"), 1, "one UpdateService for one new revision");
    assert_eq!(delta(&before, &after, "CreateService"), 0);
    let ecs = h.ecs_service("web").await;
    assert!(ecs.task_definition().unwrap_or_default().ends_with("task-definition/web:2"));
    assert_eq!(obj.status.unwrap().deployments.len(), 1, "the new deployment replaced the old one");

    let seen = events(&h.ns.client, &h.ns.name, "web").await;
    assert!(seen.iter().any(|(t, r, _)| t == "Normal" && r == "Created"), "{seen:#?}");
    assert!(seen.iter().any(|(_, r, n)| r == "Updated" && n.contains("taskDefinition web:1 → web:2")), "{seen:#?}");
    // Each ECS event (two deployments completed, two steady states) shows exactly once.
    let mirrored = all_events_mirrored_once(&h, "web").await;
    assert_eq!(mirrored.iter().filter(|n| n.contains("has reached a steady state")).count(), 2);
    let metrics = h.controller().metrics().services();
    assert!(metrics.rollout_count("started") >= 2);
    assert!(metrics.rollout_count("completed") >= 2);
    assert_eq!(metrics.count("Ready"), 1);
    h.stop().await;
}

#[tokio::test]
async fn a_missing_reference_waits_and_the_service_follows_once_it_exists() {
    let h = ServiceHarness::start("svc-missing-ref", Duration::from_secs(300)).await;
    let api = h.services();
    apply(&api, "api", service("api", json!({"taskDefinitionRef": {"name": "api"}, "desiredCount": 0}))).await;
    condition_is(&api, "api", "Ready", "False", "TaskDefinitionNotFound").await;
    assert_eq!(h.ecs_requests().get("CreateService"), None, "nothing is created without a task definition");
    poll_until("a Warning event names the missing reference", || async {
        let seen = events(&h.ns.client, &h.ns.name, "api").await;
        seen.iter()
            .find(|(t, r, n)| t == "Warning" && r == "TaskDefinitionNotFound" && n.contains("EcsTaskDefinition api"))
            .cloned()
            .ok_or(format!("{seen:#?}"))
    })
    .await;

    apply(&h.task_definitions(), "api", task_definition("api", "api:1")).await;
    ready(&api, "api").await;
    assert_eq!(h.ecs_requests().get("CreateService"), Some(&1));
    h.stop().await;
}

#[tokio::test]
async fn scale_subresource_and_redeploy_token_drive_ecs() {
    let h = ServiceHarness::start("svc-scale", Duration::from_secs(300)).await;
    // A task definition registered outside the operator, named by family.
    h.ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("app").image("nginx").memory(128).build(),
        )
        .send()
        .await
        .expect("register");
    let api = h.services();
    apply(&api, "web", service("web", json!({"taskDefinition": "web", "desiredCount": 0}))).await;
    let obj = ready(&api, "web").await;
    let first_primary = obj.status.unwrap().deployments[0].id.clone();

    // kubectl scale writes spec.desiredCount through the scale subresource.
    support::run_ok(support::kubectl(&h.ns.name).args(["scale", "ecsservice/web", "--replicas=3"]));
    poll_until("ECS desires 3 tasks", || async {
        let service = h.ecs_service("web").await;
        (service.desired_count() == 3).then_some(()).ok_or(format!("desired {}", service.desired_count()))
    })
    .await;
    let obj = api.get("web").await.unwrap();
    assert_eq!(obj.spec.desired_count, Some(3));
    poll_until("the status reports 3 desired", || async {
        let status = api.get("web").await.map_err(|e| e.to_string())?.status.unwrap_or_default();
        (status.desired_count == Some(3)).then_some(()).ok_or(format!("{status:?}"))
    })
    .await;
    let scale = support::run_ok(support::kubectl(&h.ns.name).args([
        "get",
        "ecsservice/web",
        "--subresource=scale",
        "-o",
        "jsonpath={.spec.replicas}",
    ]));
    assert_eq!(scale.trim(), "3");
    support::run_ok(support::kubectl(&h.ns.name).args(["scale", "ecsservice/web", "--replicas=0"]));
    let obj =
        ready_where(&api, "web", "back at 0", |o| o.status.as_ref().and_then(|s| s.desired_count) == Some(0)).await;
    let primary = obj.status.unwrap().deployments[0].id.clone();
    assert_eq!(primary, first_primary, "scaling does not start a deployment");

    // A new token starts exactly one new deployment of the same task definition.
    let before = h.ecs_requests();
    api.patch(
        "web",
        &PatchParams::apply("tests").force(),
        &Patch::Apply(service(
            "web",
            json!({"taskDefinition": "web", "desiredCount": 0, "forceNewDeploymentToken": "2026-01-01T00:00:00Z"}),
        )),
    )
    .await
    .expect("patch token");
    let obj = ready_where(&api, "web", "redeployed", |o| {
        o.status.as_ref().and_then(|s| s.force_new_deployment_token.as_deref()) == Some("2026-01-01T00:00:00Z")
    })
    .await;
    let status = obj.status.unwrap();
    assert_ne!(status.deployments[0].id, first_primary, "a new deployment");
    assert!(status.task_definition_arn.unwrap().ends_with("task-definition/web:1"), "same task definition");
    assert!(status.pending_redeploy.is_none());
    // Nothing more happens on later reconciles (the brisk poll runs every second).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = h.ecs_requests();
    assert_eq!(delta(&before, &after, "UpdateService"), 1, "exactly one forced UpdateService");
    let seen = events(&h.ns.client, &h.ns.name, "web").await;
    assert_eq!(seen.iter().filter(|(_, r, _)| r == "Redeployed").count(), 1, "{seen:#?}");
    h.stop().await;
}

#[tokio::test]
async fn drift_is_reverted_at_the_next_resync_with_an_event() {
    let h = ServiceHarness::start("svc-drift", Duration::from_secs(2)).await;
    apply(&h.task_definitions(), "web", task_definition("web", "nginx:1")).await;
    apply(&h.task_definitions(), "web-old", task_definition("web-old", "nginx:0")).await;
    let api = h.services();
    apply(
        &api,
        "web",
        service(
            "web",
            json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0,
            "deploymentConfiguration": {"maximumPercent": 150, "minimumHealthyPercent": 50}}),
        ),
    )
    .await;
    ready(&api, "web").await;

    // Changed in ECS behind the operator's back.
    h.ecs
        .update_service()
        .cluster(CLUSTER)
        .service("web")
        .desired_count(2)
        .task_definition("web-old")
        .deployment_configuration(
            aws_sdk_ecs::types::DeploymentConfiguration::builder()
                .maximum_percent(200)
                .minimum_healthy_percent(100)
                .build(),
        )
        .send()
        .await
        .expect("outside update");

    poll_until("ECS is changed back", || async {
        let s = h.ecs_service("web").await;
        let config = s.deployment_configuration().cloned();
        let back = s.desired_count() == 0
            && s.task_definition().unwrap_or_default().ends_with("task-definition/web:1")
            && config.as_ref().and_then(|c| c.maximum_percent()) == Some(150)
            && config.as_ref().and_then(|c| c.minimum_healthy_percent()) == Some(50);
        back.then_some(()).ok_or(format!("{s:?}"))
    })
    .await;
    let drift = poll_until("a DriftReverted event", || async {
        let seen = events(&h.ns.client, &h.ns.name, "web").await;
        seen.into_iter().find(|(t, r, _)| t == "Warning" && r == "DriftReverted").ok_or("none yet".to_owned())
    })
    .await;
    for field in ["desiredCount 2 → 0", "taskDefinition web-old:1 → web:1", "deploymentConfiguration"] {
        assert!(drift.2.contains(field), "{field} in {}", drift.2);
    }
    ready(&api, "web").await;
    h.stop().await;
}

#[tokio::test]
async fn an_existing_service_is_adopted_only_when_asked() {
    let h = ServiceHarness::start("svc-adopt", Duration::from_secs(300)).await;
    apply(&h.task_definitions(), "legacy", task_definition("legacy", "legacy:1")).await;
    poll_until("revision 1 of legacy exists", || async {
        h.ecs
            .describe_task_definition()
            .task_definition("legacy:1")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    })
    .await;
    h.ecs
        .create_service()
        .cluster(CLUSTER)
        .service_name("legacy")
        .task_definition("legacy")
        .desired_count(0)
        .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
        .tags(aws_sdk_ecs::types::Tag::builder().key("team").value("old").build())
        .send()
        .await
        .expect("a service made by someone else");

    let api = h.services();
    let before = h.ecs_requests();
    apply(
        &api,
        "legacy",
        service(
            "legacy",
            json!({"taskDefinitionRef": {"name": "legacy"}, "desiredCount": 0, "healthCheckGracePeriodSeconds": 30}),
        ),
    )
    .await;
    let obj = condition_is(&api, "legacy", "Ready", "False", "AlreadyExists").await;
    assert!(obj.status.unwrap().service_arn.is_none());
    let seen = events(&h.ns.client, &h.ns.name, "legacy").await;
    assert!(seen.iter().any(|(t, r, _)| t == "Warning" && r == "AlreadyExists"), "{seen:#?}");
    let after = h.ecs_requests();
    for op in ["CreateService", "UpdateService", "TagResource", "DeleteService"] {
        assert_eq!(delta(&before, &after, op), 0, "{op}: the service is not touched");
    }

    // The annotation hands it over.
    api.patch(
        "legacy",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"ecs-bridge.dev/adopt": "true"}}})),
    )
    .await
    .expect("annotate");
    let obj = ready(&api, "legacy").await;
    let ecs = h.ecs_service("legacy").await;
    assert!(obj.metadata.uid.is_some());
    assert_eq!(tag(&ecs, "ecs-bridge.dev/owner-uid"), None, "owned by the annotation: ECS keeps its tags");
    assert_eq!(tag(&ecs, "team"), Some("old".to_owned()), "its other tags stay");
    assert_eq!(delta(&before, &h.ecs_requests(), "TagResource"), 0, "adopting puts no tag on");
    assert_eq!(ecs.health_check_grace_period_seconds(), Some(30), "the spec applies once adopted");
    assert_eq!(h.ecs_requests().get("CreateService"), Some(&1), "only the original creation");
    let seen = events(&h.ns.client, &h.ns.name, "legacy").await;
    assert!(seen.iter().any(|(_, r, _)| r == "Adopted"), "{seen:#?}");
    h.stop().await;
}

#[tokio::test]
async fn delete_removes_the_service_and_retain_leaves_it() {
    let h = ServiceHarness::start("svc-delete", Duration::from_secs(300)).await;
    apply(&h.task_definitions(), "web", task_definition("web", "nginx")).await;
    let api = h.services();
    apply(&api, "gone", service("gone", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0}))).await;
    apply(
        &api,
        "kept",
        service("kept", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0, "deletionPolicy": "Retain"})),
    )
    .await;
    ready(&api, "gone").await;
    ready(&api, "kept").await;

    api.delete("gone", &DeleteParams::default()).await.expect("delete");
    api.delete("kept", &DeleteParams::default()).await.expect("delete");
    until_gone(&api, "gone").await;
    until_gone(&api, "kept").await;
    let gone = h.ecs_service("gone").await;
    assert!(matches!(gone.status(), Some("DRAINING" | "INACTIVE")), "{:?}", gone.status());
    let kept = h.ecs_service("kept").await;
    assert_eq!(kept.status(), Some("ACTIVE"));
    let seen = events(&h.ns.client, &h.ns.name, "kept").await;
    assert!(seen.iter().any(|(_, r, _)| r == "Retained"), "{seen:#?}");
    h.stop().await;
}

#[tokio::test]
async fn a_restart_replays_no_event_and_starts_no_deployment() {
    let mut h = ServiceHarness::start("svc-restart", Duration::from_secs(2)).await;
    apply(&h.task_definitions(), "web", task_definition("web", "nginx")).await;
    let api = h.services();
    apply(&api, "web", service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0}))).await;
    let obj = ready(&api, "web").await;
    let mirrored_before = all_events_mirrored_once(&h, "web").await;
    let deployment = obj.status.unwrap().deployments[0].id.clone();

    let before = h.ecs_requests();
    h.restart_controller().await;
    // Wait until the new controller has resynced the service at least twice.
    poll_until("the restarted controller resyncs", || async {
        let n = h.controller().metrics().services().resync_count();
        (n >= 2).then_some(()).ok_or(format!("{n} resyncs"))
    })
    .await;
    let after = h.ecs_requests();
    for op in ["CreateService", "UpdateService", "DeleteService", "TagResource"] {
        assert_eq!(delta(&before, &after, op), 0, "{op} after a restart");
    }
    assert_eq!(mirrored(&h.ns.client, &h.ns.name, "web").await, mirrored_before, "no event twice");
    let obj = ready(&api, "web").await;
    assert_eq!(obj.status.unwrap().deployments[0].id, deployment);
    h.stop().await;
}

#[tokio::test]
async fn steady_state_resync_batches_describe_calls() {
    const SERVICES: usize = 25;
    let h = ServiceHarness::start("svc-batch", Duration::from_secs(2)).await;
    apply(&h.task_definitions(), "web", task_definition("web", "nginx")).await;
    let api = h.services();
    for i in 0..SERVICES {
        let name = format!("web-{i:02}");
        apply(&api, &name, service(&name, json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0}))).await;
    }
    for i in 0..SERVICES {
        ready(&api, &format!("web-{i:02}")).await;
    }
    let metrics = h.controller().metrics().services().clone();
    // Let the fleet settle (brisk polls end once every service is stable).
    let settled = metrics.resync_count() + 2;
    poll_until("two resyncs pass", || async {
        (metrics.resync_count() >= settled).then_some(()).ok_or("waiting".to_owned())
    })
    .await;

    let rounds_before = metrics.resync_count();
    let before = h.ecs_requests();
    let target = rounds_before + 4;
    poll_until("four more resyncs", || async {
        (metrics.resync_count() >= target).then_some(()).ok_or("waiting".to_owned())
    })
    .await;
    let after = h.ecs_requests();
    let rounds = metrics.resync_count() - rounds_before;
    let describes = delta(&before, &after, "DescribeServices");
    // A round in flight at either end may add its calls: count one round more.
    let per_service_per_resync = describes as f64 / (SERVICES as f64 * (rounds + 1) as f64);
    assert!(
        per_service_per_resync <= 0.2,
        "{describes} DescribeServices over {rounds} resyncs of {SERVICES} services = {per_service_per_resync:.3} per service per resync"
    );
    assert!(describes >= 3 * rounds, "every resync describes every service ({describes} calls, {rounds} rounds)");
    for op in ["CreateService", "UpdateService", "TagResource", "ListServices"] {
        assert_eq!(delta(&before, &after, op), 0, "{op} in steady state");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_crash_right_after_create_service_leaves_one_service() {
    let ns = support::namespace("svc-crash").await;
    let emulator = emulator().await;
    let ecs = ecs_client(&emulator.endpoint());
    ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("cluster");
    ecs.register_task_definition()
        .family("web")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder().name("app").image("nginx").memory(128).build(),
        )
        .send()
        .await
        .expect("register");
    let api: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&api, "web", service("web", json!({"taskDefinition": "web", "desiredCount": 0}))).await;

    let mut crashing = ControllerProcess::start(
        &ns.name,
        &emulator.endpoint(),
        &["--rollout-poll-seconds", "1"],
        &[(ecs_bridge::controller::failpoint::ENV, ecs_bridge::controller::service::sync::AFTER_CREATE)],
    );
    let exit = crashing.exited().await;
    assert!(!exit.success(), "the failpoint aborts the process: {exit:?}\n{}", crashing.log());
    assert_eq!(requests(&emulator).get("CreateService"), Some(&1));
    let obj = api.get("web").await.expect("get");
    assert!(obj.status.as_ref().and_then(|s| s.service_arn.as_ref()).is_none(), "the crash came before the status");

    let restarted = ControllerProcess::start(&ns.name, &emulator.endpoint(), &["--rollout-poll-seconds", "1"], &[]);
    let obj = ready(&api, "web").await;
    assert_eq!(requests(&emulator).get("CreateService"), Some(&1), "recognised by its tags, not created again");
    assert!(obj.status.unwrap().service_arn.is_some());
    let listed = ecs.list_services().cluster(CLUSTER).send().await.expect("list").service_arns.unwrap_or_default();
    assert_eq!(listed.len(), 1);
    drop(restarted);
}
