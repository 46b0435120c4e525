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

#[tokio::test]
async fn a_readopted_containers_log_lines_are_kept_once_each_across_kill_9() {
    docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, endpoint) = start_child(dir.path());
    let client = crate::support::client(&endpoint);
    client.create_cluster().cluster_name("c").send().await.expect("cluster");
    let options = std::collections::HashMap::from([
        ("awslogs-group".to_owned(), "/ecs/ticker".to_owned()),
        ("awslogs-region".to_owned(), "us-east-1".to_owned()),
        ("awslogs-stream-prefix".to_owned(), "t".to_owned()),
        ("awslogs-create-group".to_owned(), "true".to_owned()),
    ]);
    let logging = aws_sdk_ecs::types::LogConfiguration::builder()
        .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
        .set_options(Some(options))
        .build()
        .expect("log configuration");
    let ticker = container("ticker")
        .command("sh")
        .command("-c")
        .command("i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done")
        .log_configuration(logging)
        .build();
    let td = register(&client, "ticker", vec![ticker]).await;
    let arn = run(&client, &td, None).await;
    wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let stream = format!("t/ticker/{}", arn.rsplit('/').next().expect("task id"));
    let lines = |endpoint: String, stream: String| async move {
        let logs = crate::support::logs_client(&endpoint);
        let got = logs.get_log_events().log_group_name("/ecs/ticker").log_stream_name(stream).start_from_head(true);
        let got = got.send().await.expect("get-log-events");
        got.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect::<Vec<_>>()
    };
    let start = std::time::Instant::now();
    while lines(endpoint.clone(), stream.clone()).await.len() < 5 {
        assert!(start.elapsed() < Duration::from_secs(30), "no log lines");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    // Lines written while no emulator runs are caught up on re-adoption.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut child, endpoint) = start_child(dir.path());
    let start = std::time::Instant::now();
    let seen = loop {
        let seen = lines(endpoint.clone(), stream.clone()).await;
        if seen.len() >= 20 {
            break seen;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "the log stopped: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let expected: Vec<String> = (1..=seen.len()).map(|i| format!("tick {i}")).collect();
    assert_eq!(seen, expected, "every line once, in order, none lost to the restart");
    Command::new("kill").arg(child.id().to_string()).status().expect("kill -TERM");
    child.wait().expect("exits");
}
