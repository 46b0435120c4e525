//! The operator on real containers: an EcsService applied to the real API
//! server, reconciled into the emulator on the Docker runtime, whose task is a
//! container answering HTTP on its published port. Needs `dockerd` and the
//! image `tests/docker/image.sh` builds (`.ci/run` provides both).

use std::time::Duration;

use ecs_bridge::emulator::{EmulatorConfig, RuntimeMode};
use serde_json::json;

use crate::operator::apply;
use crate::operator_service::{CLUSTER, ServiceHarness, ready_where, service};
use crate::support::{self, poll_until};

#[tokio::test]
async fn an_ecs_service_applied_to_kubernetes_answers_http_from_a_real_container() {
    let config = EmulatorConfig { runtime: RuntimeMode::Docker, ec2_capacity: 1, ..EmulatorConfig::default() };
    let emulator = ecs_bridge::emulator::spawn(config)
        .await
        .expect("the Docker runtime needs dockerd: start it with `dockerd &` (.ci/run does)");
    let ns = support::namespace("docker-web").await;
    let h = ServiceHarness::with_emulator(ns, emulator, Duration::from_secs(300)).await;
    let td = json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": "web"},
        "spec": {
            "networkMode": "bridge",
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [{
                "name": "web",
                "image": "ecs-bridge-test/busybox:2",
                "memory": 64,
                "essential": true,
                "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
                "portMappings": [{"containerPort": 8080}]
            }]
        }
    });
    apply(&h.task_definitions(), "web", td).await;
    let api = h.services();
    apply(&api, "web", service("web", json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 1}))).await;
    ready_where(&api, "web", "one task running", |o| o.status.as_ref().and_then(|s| s.running_count) == Some(1)).await;

    let tasks = h.ecs.list_tasks().cluster(CLUSTER).service_name("web").send().await.expect("list");
    let described = h
        .ecs
        .describe_tasks()
        .cluster(CLUSTER)
        .set_tasks(Some(tasks.task_arns().to_vec()))
        .send()
        .await
        .expect("describe");
    let container = &described.tasks()[0].containers()[0];
    assert!(container.runtime_id().is_some(), "a real container: {container:?}");
    let port = container.network_bindings()[0].host_port().expect("a published port");
    let body = poll_until("the container answers HTTP", || async move {
        reqwest::get(format!("http://127.0.0.1:{port}/")).await?.text().await
    })
    .await;
    assert_eq!(body.trim(), "hello from ecs-bridge");
    h.stop().await;
}
