//! A restarted emulator (`--state-dir`) and the containers it left.

use std::process::Command;
use std::time::Duration;

use aws_sdk_ecs::types::PortMapping;

use super::*;

#[tokio::test]
async fn after_kill_9_a_restarted_emulator_adopts_its_running_containers() {
    docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, endpoint) = start_child(dir.path());
    let client = crate::support::client(&endpoint);
    client.create_cluster().cluster_name("c").send().await.expect("cluster");
    let web = web_server().port_mappings(PortMapping::builder().container_port(8080).build()).build();
    let td = register(&client, "web", vec![web]).await;
    let kept = run(&client, &td, None).await;
    let lost = run(&client, &td, None).await;
    let running = wait_for(&client, &kept, Duration::from_secs(60), is("RUNNING")).await;
    let lost_task = wait_for(&client, &lost, Duration::from_secs(60), is("RUNNING")).await;
    let id = running.containers()[0].runtime_id().expect("runtime id").to_owned();
    let port = running.containers()[0].network_bindings()[0].host_port().expect("port");

    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    assert_eq!(docker(&["inspect", "--format", "{{.State.Running}}", &id]).trim(), "true", "the container outlives it");
    // One container goes while the emulator is down.
    docker(&["rm", "-f", lost_task.containers()[0].runtime_id().expect("id")]);

    let (mut child, endpoint) = start_child(dir.path());
    let client = crate::support::client(&endpoint);
    let task = describe(&client, &kept).await;
    assert_eq!(task.last_status(), Some("RUNNING"));
    assert_eq!(task.containers()[0].runtime_id(), Some(id.as_str()), "the same container, adopted");
    let body = reqwest::get(format!("http://127.0.0.1:{port}/")).await.expect("http").text().await.expect("body");
    assert_eq!(body.trim(), "hello from ecs-bridge");
    let gone = wait_for(&client, &lost, Duration::from_secs(30), is("STOPPED")).await;
    let reason = gone.containers()[0].reason().unwrap_or_default().to_owned();
    assert!(reason.contains("The container is gone"), "{reason}");
    // The adopted container stops as any other.
    client.stop_task().cluster("c").task(&kept).send().await.expect("stop");
    wait_for(&client, &kept, Duration::from_secs(60), is("STOPPED")).await;

    // SIGTERM: a clean stop removes this emulator's containers.
    let owner = std::fs::read_to_string(dir.path().join("docker-owner")).expect("owner file");
    Command::new("kill").arg(child.id().to_string()).status().expect("kill -TERM");
    child.wait().expect("exits");
    let left = docker(&["ps", "-aq", "--filter", &format!("label=dev.ecs-bridge.emulator={}", owner.trim())]);
    assert!(left.trim().is_empty(), "containers left: {left}");
}
