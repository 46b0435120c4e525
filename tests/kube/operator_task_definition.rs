//! EcsTaskDefinition end to end: the real API server, the controller in this
//! process, and the ECS emulator over HTTP with the real SDK client.

use std::time::Duration;

use aws_sdk_ecs::types::{TaskDefinitionField, TaskDefinitionStatus};
use ecs_bridge::api::{EcsService, EcsTaskDefinition};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::operator::{Harness, apply, condition, events, until_gone, writes_between};
use crate::support::{self, poll_until};

fn nginx(name: &str, image: &str, extra: Value) -> Value {
    let mut spec = json!({
        "networkMode": "bridge",
        "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{
            "name": "web",
            "image": image,
            "memory": 256,
            "cpu": 128,
            "essential": true,
            "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
            "environment": [{"name": "MODE", "value": "production"}],
            "command": ["nginx", "-g", "daemon off;"],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 10, "retries": 3},
            "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}}
        }],
        "tags": [{"key": "team", "value": "web"}]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": spec,
    })
}

/// Waits until the object is Ready on revision `revision` for its current generation.
async fn ready_on(api: &Api<EcsTaskDefinition>, name: &str, revision: i32) -> EcsTaskDefinition {
    poll_until(&format!("{name} is Ready on revision {revision}"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        let ready = condition(&status.conditions, "Ready");
        let current = status.observed_generation == obj.metadata.generation;
        match (&ready, status.revision) {
            (Some((s, _, _)), Some(r)) if s == "True" && r == revision && current => Ok(obj),
            _ => Err(format!("status: {status:?}")),
        }
    })
    .await
}

async fn revision_status(ecs: &aws_sdk_ecs::Client, reference: &str) -> TaskDefinitionStatus {
    ecs.describe_task_definition()
        .task_definition(reference)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describe {reference}: {e:?}"))
        .task_definition
        .and_then(|t| t.status)
        .expect("a status")
}

/// Every revision number of `family` in ECS, ACTIVE and INACTIVE.
async fn listed(ecs: &aws_sdk_ecs::Client, family: &str, status: TaskDefinitionStatus) -> Vec<String> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(status.clone())
            .set_next_token(token)
            .send()
            .await
            .expect("list task definitions");
        arns.extend(page.task_definition_arns.unwrap_or_default());
        token = page.next_token;
        if token.is_none() {
            return arns;
        }
    }
}

#[tokio::test]
async fn create_registers_revision_one_with_exactly_the_spec() {
    let h = Harness::start("td-create").await;
    let api = h.task_definitions();
    apply(&api, "web", nginx("web", "nginx:1.27", json!({}))).await;
    let obj = ready_on(&api, "web", 1).await;
    let status = obj.status.clone().unwrap();
    assert_eq!(status.family.as_deref(), Some("web"));
    assert_eq!(status.spec_hash, Some(ecs_bridge::api::spec_hash(&obj.spec)));
    let (synced, reason, _) = condition(&status.conditions, "Synced").unwrap();
    assert_eq!((synced.as_str(), reason.as_str()), ("True", "Synced"));
    assert!(obj.metadata.finalizers.unwrap_or_default().contains(&"ecs-bridge.dev/task-definition".to_owned()));

    let described = h
        .ecs
        .describe_task_definition()
        .task_definition(status.task_definition_arn.as_deref().unwrap())
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .expect("describe");
    let td = described.task_definition.clone().unwrap();
    assert_eq!(td.family(), Some("web"));
    assert_eq!(td.revision(), 1);
    assert_eq!(td.network_mode().map(|m| m.as_str()), Some("bridge"));
    assert_eq!(td.requires_compatibilities().iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["EC2"]);
    assert_eq!(td.container_definitions().len(), 1);
    let c = &td.container_definitions()[0];
    assert_eq!((c.name(), c.image(), c.memory(), c.cpu()), (Some("web"), Some("nginx:1.27"), Some(256), 128));
    assert_eq!(c.essential(), Some(true));
    assert_eq!(c.port_mappings()[0].container_port(), Some(80));
    assert_eq!(c.environment()[0].name(), Some("MODE"));
    assert_eq!(c.environment()[0].value(), Some("production"));
    assert_eq!(c.command(), ["nginx", "-g", "daemon off;"]);
    let check = c.health_check().unwrap();
    assert_eq!((check.interval(), check.retries()), (Some(10), Some(3)));
    let log = c.log_configuration().unwrap();
    assert_eq!(log.log_driver().as_str(), "json-file");
    assert_eq!(log.options().unwrap().get("max-size").map(String::as_str), Some("10m"));
    let tags: std::collections::BTreeMap<_, _> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
        .collect();
    assert_eq!(tags.get("team").map(String::as_str), Some("web"));
    assert_eq!(tags.get("ecs-bridge.dev/owner-uid"), obj.metadata.uid.as_ref());
    assert_eq!(tags.get("ecs-bridge.dev/owner"), Some(&format!("{}/web", h.ns.name)));
    assert_eq!(tags.get("ecs-bridge.dev/spec-hash"), status.spec_hash.as_ref());

    let seen = poll_until("a Registered event", || async {
        let seen = events(&h.ns.client, &h.ns.name, "web").await;
        if seen.iter().any(|(t, r, n)| t == "Normal" && r == "Registered" && n == "Registered revision 1") {
            Ok(seen)
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;
    assert!(!seen.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn only_spec_changes_register_revisions() {
    let mut h = Harness::start("td-changes").await;
    let api = h.task_definitions();
    apply(&api, "web", nginx("web", "nginx:1.27", json!({}))).await;
    ready_on(&api, "web", 1).await;

    // A label-only change: generation stays, nothing reaches ECS.
    let before = h.ecs_requests();
    api.patch("web", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"tier": "frontend"}}})))
        .await
        .expect("label patch");
    // A restart reconciles every object once: the hash matches, so still no write.
    h.restart_controller().await;
    poll_until("the restarted controller looked at the object", || async {
        let described = h.ecs_requests().get("DescribeTaskDefinition").copied().unwrap_or(0);
        let before_described = before.get("DescribeTaskDefinition").copied().unwrap_or(0);
        if described > before_described { Ok(()) } else { Err("no DescribeTaskDefinition yet".to_owned()) }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(writes_between(&before, &h.ecs_requests()), Default::default(), "no ECS write");
    assert_eq!(api.get("web").await.unwrap().status.unwrap().revision, Some(1));

    // A spec change: exactly one new revision.
    let before = h.ecs_requests();
    apply(&api, "web", nginx("web", "nginx:1.28", json!({}))).await;
    let obj = ready_on(&api, "web", 2).await;
    let writes = writes_between(&before, &h.ecs_requests());
    assert_eq!(writes.get("RegisterTaskDefinition"), Some(&1), "writes: {writes:?}");
    let status = obj.status.unwrap();
    assert_eq!(status.revisions.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(revision_status(&h.ecs, "web:1").await, TaskDefinitionStatus::Active);
    h.stop().await;
}

#[tokio::test]
async fn revision_history_limit_keeps_revisions_in_use() {
    let h = Harness::start("td-history").await;
    let api = h.task_definitions();
    apply(&api, "web", nginx("web", "app:1", json!({"revisionHistoryLimit": 1}))).await;
    ready_on(&api, "web", 1).await;

    // An EcsService that runs revision 1, by its ARN: its status says so.
    // (Its status is the controller's alone: each write puts all of it in
    // place, so the test cannot simply write that field itself.)
    let arn_1 = api.get("web").await.unwrap().status.unwrap().task_definition_arn.unwrap();
    h.ecs.create_cluster().cluster_name("default").send().await.expect("the cluster is created");
    let services: Api<EcsService> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    apply(
        &services,
        "web",
        json!({
            "apiVersion": "ecs-bridge.dev/v1alpha1",
            "kind": "EcsService",
            "metadata": {"name": "web"},
            "spec": {"cluster": "default", "taskDefinition": arn_1, "desiredCount": 0, "launchType": "EC2"},
        }),
    )
    .await;
    poll_until("the EcsService runs revision 1", || async {
        let status = services.get("web").await.map_err(|e| e.to_string())?.status.unwrap_or_default();
        match status.task_definition_arn {
            Some(arn) if arn == arn_1 => Ok(()),
            other => Err(format!("taskDefinitionArn {other:?}")),
        }
    })
    .await;

    for (revision, image) in [(2, "app:2"), (3, "app:3"), (4, "app:4")] {
        apply(&api, "web", nginx("web", image, json!({"revisionHistoryLimit": 1}))).await;
        ready_on(&api, "web", revision).await;
    }
    assert_eq!(revision_status(&h.ecs, "web:1").await, TaskDefinitionStatus::Active, "in use");
    assert_eq!(revision_status(&h.ecs, "web:2").await, TaskDefinitionStatus::Inactive);
    assert_eq!(revision_status(&h.ecs, "web:3").await, TaskDefinitionStatus::Active, "within the limit");
    assert_eq!(revision_status(&h.ecs, "web:4").await, TaskDefinitionStatus::Active, "current");
    let status = api.get("web").await.unwrap().status.unwrap();
    assert_eq!(status.revisions.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 3, 4]);
    poll_until("a Deregistered event", || async {
        let seen = events(&h.ns.client, &h.ns.name, "web").await;
        if seen.iter().any(|(_, r, n)| r == "Deregistered" && n == "Deregistered revision 2") {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn delete_and_retain_policies() {
    let h = Harness::start("td-delete").await;
    let api = h.task_definitions();
    apply(&api, "gone", nginx("gone", "app:1", json!({}))).await;
    ready_on(&api, "gone", 1).await;
    apply(&api, "gone", nginx("gone", "app:2", json!({}))).await;
    ready_on(&api, "gone", 2).await;
    apply(&api, "kept", nginx("kept", "app:1", json!({"deletionPolicy": "Retain"}))).await;
    ready_on(&api, "kept", 1).await;

    api.delete("gone", &DeleteParams::default()).await.expect("delete");
    api.delete("kept", &DeleteParams::default()).await.expect("delete");
    until_gone(&api, "gone").await;
    until_gone(&api, "kept").await;

    assert!(listed(&h.ecs, "gone", TaskDefinitionStatus::Active).await.is_empty());
    assert!(listed(&h.ecs, "gone", TaskDefinitionStatus::Inactive).await.is_empty(), "deleted, not just deregistered");
    for reference in ["gone:1", "gone:2"] {
        let status = h.ecs.describe_task_definition().task_definition(reference).send().await;
        if let Ok(found) = status {
            assert_eq!(
                found.task_definition.and_then(|t| t.status),
                Some(TaskDefinitionStatus::DeleteInProgress),
                "{reference}"
            );
        }
    }
    assert_eq!(revision_status(&h.ecs, "kept:1").await, TaskDefinitionStatus::Active, "retained");
    h.stop().await;
}

#[tokio::test]
async fn a_spec_ecs_rejects_is_reported_and_not_retried() {
    let mut h = Harness::start("td-invalid").await;
    let api = h.task_definitions();
    // Passes the schema, but ECS refuses a container bigger than its task.
    let invalid = nginx("bad", "app:1", json!({"memory": "128"}));
    apply(&api, "bad", invalid).await;
    let message = "The 'memory' setting for container is greater than for the task.";
    poll_until("Ready=False InvalidSpec with ECS's message", || async {
        let obj = api.get("bad").await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        match condition(&status.conditions, "Ready") {
            Some((s, r, m)) if s == "False" && r == "InvalidSpec" && m == message => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    poll_until("a Warning event with ECS's message", || async {
        let seen = events(&h.ns.client, &h.ns.name, "bad").await;
        let expected = format!("ECS rejected the task definition: {message}");
        if seen.iter().any(|(t, r, n)| t == "Warning" && r == "InvalidSpec" && *n == expected) {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;

    // No further ECS calls while the spec is unchanged: not on a label change,
    // not after a restart.
    let before = h.ecs_requests();
    api.patch("bad", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"touched": "yes"}}})))
        .await
        .expect("label patch");
    h.restart_controller().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = h.ecs_requests();
    for (operation, count) in &after {
        if operation == "ListClusters" {
            continue; // the restarted controller's start-up check
        }
        assert_eq!(before.get(operation), Some(count), "{operation} was called again");
    }

    // Fixing the spec recovers.
    apply(&api, "bad", nginx("bad", "app:1", json!({"memory": "512"}))).await;
    ready_on(&api, "bad", 1).await;
    h.stop().await;
}

#[tokio::test]
async fn metrics_endpoint_counts_ecs_calls() {
    let h = Harness::start("td-metrics").await;
    let api = h.task_definitions();
    apply(&api, "web", nginx("web", "nginx:1", json!({}))).await;
    ready_on(&api, "web", 1).await;
    let addr = h.controller().metrics_addr();
    let (status, body) = crate::operator::http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    for series in [
        "ecs_bridge_ecs_calls_total{operation=\"RegisterTaskDefinition\",outcome=\"success\"} 1",
        "ecs_bridge_ecs_calls_total{operation=\"ListClusters\",outcome=\"success\"} 1",
        "ecs_bridge_reconciles_total{kind=\"EcsTaskDefinition\",result=\"success\"}",
        "ecs_bridge_reconcile_duration_seconds_count{kind=\"EcsTaskDefinition\"}",
        "ecs_bridge_leader 1",
        "ecs_bridge_queue_depth{kind=\"EcsTaskDefinition\"}",
    ] {
        assert!(body.contains(series), "missing {series} in\n{body}");
    }
    assert_eq!(crate::operator::http_get(addr, "/healthz").await, (200, "ok".to_owned()));
    assert_eq!(crate::operator::http_get(addr, "/readyz").await, (200, "ok".to_owned()));
    h.stop().await;
}

#[tokio::test]
async fn start_up_fails_clearly_when_ecs_does_not_answer() {
    let ns = support::namespace("td-no-ecs").await;
    // A port with nothing behind it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let metrics = ecs_bridge::controller::Metrics::new();
    let ecs = ecs_bridge::ecs::SdkEcs::for_endpoint(&endpoint, crate::operator::REGION, 1, metrics.ecs().clone()).await;
    let result =
        ecs_bridge::controller::start(crate::operator::config(&ns.name, "lonely"), ns.client.clone(), ecs, metrics)
            .await;
    let err = match result {
        Ok(_) => panic!("start must fail without ECS"),
        Err(err) => support::error_chain(&err),
    };
    assert!(err.contains("ECS endpoint does not answer"), "{err}");
}

#[tokio::test]
async fn an_unreachable_ecs_backs_off_and_converges_once_it_returns() {
    let ns = support::namespace("td-outage").await;
    let state = tempfile::tempdir().expect("a state dir");
    let emulator_config =
        ecs_bridge::emulator::EmulatorConfig { state_dir: Some(state.path().to_path_buf()), ..Default::default() };
    let emulator = ecs_bridge::emulator::spawn(emulator_config.clone()).await.expect("emulator");
    let endpoint = emulator.endpoint();
    let controller =
        crate::operator::start_controller(crate::operator::config(&ns.name, "replica-a"), ns.client.clone(), &endpoint)
            .await;
    let api: Api<EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&api, "web", nginx("web", "app:1", json!({}))).await;
    ready_on(&api, "web", 1).await;

    // ECS goes away; the spec changes meanwhile.
    let addr = emulator.addr();
    emulator.shutdown().await.expect("the emulator stops");
    apply(&api, "web", nginx("web", "app:2", json!({}))).await;
    poll_until("Synced=False EcsUnavailable", || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        match condition(&obj.status.unwrap_or_default().conditions, "Synced") {
            Some((s, r, _)) if s == "False" && r == "EcsUnavailable" => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let metrics = controller.metrics().clone();
    poll_until("several retries, each after a back-off", || async {
        let text = metrics.encode();
        let retries = text
            .lines()
            .find(|l| l.starts_with("ecs_bridge_retry_delay_seconds_count{kind=\"EcsTaskDefinition\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .unwrap_or(0);
        if retries >= 3 { Ok(()) } else { Err(format!("{retries} retries so far")) }
    })
    .await;
    let text = metrics.encode();
    assert!(
        text.contains("ecs_bridge_reconcile_errors_total{kind=\"EcsTaskDefinition\",reason=\"ecs_unavailable\"}"),
        "{text}"
    );
    assert!(text.contains("outcome=\"unavailable\""), "{text}");
    poll_until("a Warning event", || async {
        let seen = events(&ns.client, &ns.name, "web").await;
        if seen.iter().any(|(t, r, _)| t == "Warning" && r == "EcsUnavailable") {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    })
    .await;

    // ECS is back (same address, same state): the next retry converges.
    let back = ecs_bridge::emulator::spawn(ecs_bridge::emulator::EmulatorConfig { listen: addr, ..emulator_config })
        .await
        .expect("the emulator restarts on the same port");
    let obj = ready_on(&api, "web", 2).await;
    let (synced, _, _) = condition(&obj.status.unwrap().conditions, "Synced").unwrap();
    assert_eq!(synced, "True");
    assert_eq!(
        revision_status(&crate::operator::ecs_client(&back.endpoint()), "web:1").await,
        TaskDefinitionStatus::Active
    );
    controller.shutdown().await;
}

/// The emulator throttles every RegisterTaskDefinition (ECS's `ThrottlingException`,
/// injected through its fault endpoint): the object reports `Synced=False,
/// reason=Throttled`, the back-off shows in the metrics, and once the throttling
/// lifts it converges on exactly one revision.
#[tokio::test]
async fn injected_throttling_backs_off_then_converges_on_one_revision() {
    let h = Harness::start("td-throttle").await;
    let http = reqwest::Client::new();
    let faults = format!("{}/_emulator/faults", h.emulator.endpoint());
    let added = http
        .post(&faults)
        .json(&json!({"operation": "RegisterTaskDefinition", "kind": "throttle"}))
        .send()
        .await
        .expect("POST /_emulator/faults");
    assert!(added.status().is_success(), "fault rule refused: {}", added.text().await.unwrap_or_default());

    let api = h.task_definitions();
    apply(&api, "throttled", nginx("throttled", "nginx:1.27", json!({}))).await;
    poll_until("throttled reports Synced=False reason Throttled", || async {
        let obj = api.get("throttled").await.map_err(|e| e.to_string())?;
        let status = obj.status.unwrap_or_default();
        match condition(&status.conditions, "Synced") {
            Some((s, reason, _)) if s == "False" && reason == "Throttled" => Ok(()),
            other => Err(format!("Synced: {other:?}")),
        }
    })
    .await;
    let throttled_errors = || async {
        let (_, body) = crate::operator::http_get(h.controller().metrics_addr(), "/metrics").await;
        body.lines()
            .find(|l| {
                l.starts_with("ecs_bridge_reconcile_errors_total{")
                    && l.contains("EcsTaskDefinition")
                    && l.contains("ecs_throttled")
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    poll_until("the metrics count throttled reconciles, retried with back-off", || async {
        let n = throttled_errors().await;
        if n >= 2.0 { Ok(()) } else { Err(format!("{n} throttled reconciles so far")) }
    })
    .await;
    let throttled_calls = h.ecs_requests().get("RegisterTaskDefinition").copied().unwrap_or(0);

    // Lift the throttling: the object converges, registering exactly once.
    let removed = http.delete(&faults).send().await.expect("DELETE /_emulator/faults");
    assert!(removed.status().is_success());
    ready_on(&api, "throttled", 1).await;
    let active = listed(&h.ecs, "throttled", TaskDefinitionStatus::Active).await;
    assert_eq!(active.len(), 1, "one revision, no duplicate from the retries: {active:?}");
    let calls = h.ecs_requests().get("RegisterTaskDefinition").copied().unwrap_or(0);
    assert!(calls > throttled_calls, "the register went through after the throttling lifted");
    assert!(
        throttled_calls < 50,
        "back-off keeps the throttled calls few ({throttled_calls}), it does not hot-loop ECS"
    );
    h.stop().await;
}
