//! Services on real containers: tasks that answer HTTP, rolling updates
//! within the deployment's percentages, and the circuit breaker.

use std::time::Duration;

use aws_sdk_ecs::types::{LaunchType, PortMapping};

use super::*;

#[tokio::test]
async fn a_bridge_service_answers_http_on_its_host_ports_and_its_containers_are_ecs() {
    let (emulator, client) = start().await;
    let web = web_server().port_mappings(PortMapping::builder().container_port(8080).build()).build();
    let td = register(&client, "web", vec![web]).await;
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&td)
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    let listed = client.list_tasks().cluster("c").service_name("web").send().await.expect("list");
    assert_eq!(listed.task_arns().len(), 2);
    let mut ports = Vec::new();
    for arn in listed.task_arns() {
        let task = wait_for(&client, arn, Duration::from_secs(60), is("RUNNING")).await;
        let c = &task.containers()[0];
        let id = c.runtime_id().expect("runtimeId is the container's id");
        let binding = &c.network_bindings()[0];
        assert_eq!(binding.container_port(), Some(8080));
        assert_eq!(binding.bind_ip(), Some("127.0.0.1"));
        let port = binding.host_port().expect("a host port from the ephemeral range");
        ports.push(port);
        let body = reqwest::get(format!("http://127.0.0.1:{port}/")).await.expect("http").text().await.expect("body");
        assert_eq!(body.trim(), "hello from ecs-bridge");
        // Labelled as the ECS agent labels its containers.
        let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", id]);
        let labels: serde_json::Value = serde_json::from_str(&labels).expect("labels");
        assert_eq!(labels["com.amazonaws.ecs.task-arn"], arn.as_str());
        assert_eq!(labels["com.amazonaws.ecs.cluster"], "c");
        assert_eq!(labels["com.amazonaws.ecs.container-name"], "web");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-family"], "web");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-version"], "1");
    }
    assert_ne!(ports[0], ports[1], "each task has its own host port");
    assert_eq!(owned_containers(&emulator).len(), 2);
    emulator.shutdown().await.expect("shutdown");
}

/// The running containers of service tasks in cluster `c` that the service
/// still wants (their task's `desiredStatus` is RUNNING), by task definition
/// revision; and of those, how many belong to RUNNING tasks. Containers come
/// from `docker ps`, so the counts are of real processes.
async fn live_by_revision(client: &aws_sdk_ecs::Client, family: &str) -> (Vec<(String, String)>, usize, usize) {
    let out = docker(&[
        "ps",
        "--filter",
        "label=com.amazonaws.ecs.cluster=c",
        "--filter",
        &format!("label=com.amazonaws.ecs.task-definition-family={family}"),
        "--format",
        r#"{{.Label "com.amazonaws.ecs.task-arn"}} {{.Label "com.amazonaws.ecs.task-definition-version"}}"#,
    ]);
    let containers: Vec<(String, String)> =
        out.lines().filter_map(|l| l.split_once(' ').map(|(a, r)| (a.to_owned(), r.to_owned()))).collect();
    if containers.is_empty() {
        return (containers, 0, 0);
    }
    let arns: Vec<String> = containers.iter().map(|(a, _)| a.clone()).collect();
    let tasks = client.describe_tasks().cluster("c").set_tasks(Some(arns)).send().await.expect("describe tasks");
    let wanted: Vec<&aws_sdk_ecs::types::Task> =
        tasks.tasks().iter().filter(|t| t.desired_status() == Some("RUNNING")).collect();
    let running = wanted.iter().filter(|t| t.last_status() == Some("RUNNING")).count();
    let live = containers.iter().filter(|(a, _)| wanted.iter().any(|t| t.task_arn() == Some(a))).cloned().collect();
    (live, wanted.len(), running)
}

async fn service_state(client: &aws_sdk_ecs::Client) -> aws_sdk_ecs::types::Service {
    let out = client.describe_services().cluster("c").services("web").send().await.expect("describe services");
    out.services()[0].clone()
}

fn events(service: &aws_sdk_ecs::types::Service) -> Vec<String> {
    service.events().iter().filter_map(|e| e.message().map(str::to_owned)).collect()
}

/// Creates service `web` (desired 4) on revision 1 of the web server, waits
/// until it is steady, then updates it to revision 2 with `min`/`max`
/// percent, sampling the real containers until the rollout completes; the
/// largest number of wanted tasks and the smallest number of running ones
/// seen.
async fn roll(min: i32, max: i32) -> (usize, usize) {
    let (emulator, client) = start().await;
    let family = format!("roll-{min}-{max}");
    let web = || web_server().port_mappings(PortMapping::builder().container_port(8080).build());
    let v1 = register(&client, &family, vec![web().build()]).await;
    let config = aws_sdk_ecs::types::DeploymentConfiguration::builder()
        .minimum_healthy_percent(min)
        .maximum_percent(max)
        .build();
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&v1)
        .desired_count(4)
        .launch_type(LaunchType::Ec2)
        .deployment_configuration(config)
        .send()
        .await
        .expect("service");
    let steady = |s: &aws_sdk_ecs::types::Service| {
        s.deployments().len() == 1 && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
    };
    let start = std::time::Instant::now();
    while !steady(&service_state(&client).await) {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "revision 1 never steady: {:#?}",
            service_state(&client).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (live, _, _) = live_by_revision(&client, &family).await;
    assert_eq!(live.len(), 4, "four real containers of revision 1: {live:?}");

    // A new revision (a different environment) and the rolling update.
    let v2 = register(&client, &family, vec![web().environment(kv("VERSION", "2")).build()]).await;
    client.update_service().cluster("c").service("web").task_definition(&v2).send().await.expect("update");
    let (mut most, mut fewest) = (0, usize::MAX);
    let start = std::time::Instant::now();
    loop {
        let (live, wanted, running) = live_by_revision(&client, &family).await;
        most = most.max(wanted);
        fewest = fewest.min(running);
        let service = service_state(&client).await;
        if steady(&service) && live.len() == 4 && live.iter().all(|(_, r)| r == "2") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "rollout not done: {live:?} {service:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let service = service_state(&client).await;
    let events = events(&service);
    assert!(events.iter().any(|e| e.contains("has reached a steady state")), "{events:#?}");
    assert!(events.iter().any(|e| e.contains("has started 1 tasks") || e.contains("has started")), "{events:#?}");
    assert!(events.iter().any(|e| e.contains("has stopped")), "{events:#?}");
    assert_eq!(service.running_count(), 4);
    // Revision 1's containers are gone from the engine.
    let old = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=com.amazonaws.ecs.task-definition-family={family}"),
        "--filter",
        "label=com.amazonaws.ecs.task-definition-version=1",
    ]);
    let start = std::time::Instant::now();
    let mut old = old;
    while !old.trim().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(30), "revision 1 containers still run: {old}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        old = docker(&[
            "ps",
            "-q",
            "--filter",
            "label=com.amazonaws.ecs.task-definition-version=1",
            "--filter",
            &format!("label=com.amazonaws.ecs.task-definition-family={family}"),
        ]);
    }
    emulator.shutdown().await.expect("shutdown");
    (most, fewest)
}

fn kv(name: &str, value: &str) -> aws_sdk_ecs::types::KeyValuePair {
    aws_sdk_ecs::types::KeyValuePair::builder().name(name).value(value).build()
}

#[tokio::test]
async fn a_rolling_update_200_100_replaces_real_containers_without_dropping_below_desired() {
    let (most, fewest) = roll(100, 200).await;
    assert!(most <= 8, "never more than 200% of 4 tasks: {most}");
    assert!(most > 4, "the new tasks started before the old ones stopped: {most}");
    assert!(fewest >= 4, "never fewer than 100% of 4 running: {fewest}");
}

#[tokio::test]
async fn a_rolling_update_100_50_stops_old_containers_first_and_never_exceeds_desired() {
    let (most, fewest) = roll(50, 100).await;
    assert!(most <= 4, "never more than 100% of 4 tasks: {most}");
    assert!(fewest >= 2, "never fewer than 50% of 4 running: {fewest}");
    assert!(fewest < 4, "old tasks stopped before new ones started: {fewest}");
}

#[tokio::test]
async fn a_container_that_exits_non_zero_trips_the_circuit_breaker_and_rolls_back() {
    let (emulator, client) = start().await;
    let good = register(&client, "web", vec![web_server().build()]).await;
    let breaker = aws_sdk_ecs::types::DeploymentCircuitBreaker::builder().enable(true).rollback(true).build();
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&good)
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .deployment_configuration(
            aws_sdk_ecs::types::DeploymentConfiguration::builder().deployment_circuit_breaker(breaker).build(),
        )
        .send()
        .await
        .expect("service");
    let completed = |s: &aws_sdk_ecs::types::Service, td: &str| {
        s.deployments().iter().any(|d| {
            d.status() == Some("PRIMARY")
                && d.task_definition() == Some(td)
                && d.rollout_state().map(|r| r.as_str()) == Some("COMPLETED")
        })
    };
    let start = std::time::Instant::now();
    while !completed(&service_state(&client).await, &good) {
        assert!(start.elapsed() < Duration::from_secs(90), "revision 1 never completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Revision 2's container exits with code 1 as soon as it starts.
    let crash = container("web").command("sh").command("-c").command("echo starting; exit 1").build();
    let bad = register(&client, "web", vec![crash]).await;
    client.update_service().cluster("c").service("web").task_definition(&bad).send().await.expect("update");
    let start = std::time::Instant::now();
    let service = loop {
        let service = service_state(&client).await;
        // The failed deployment leaves the list once the rollback is done;
        // its trace is the event.
        let failed = events(&service).iter().any(|e| e.contains("deployment failed: tasks failed to start"));
        if failed && completed(&service, &good) && service.running_count() == 2 {
            break service;
        }
        assert!(start.elapsed() < Duration::from_secs(180), "no rollback: {service:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let events = events(&service);
    assert!(events.iter().any(|e| e.contains("rolling back to deployment")), "{events:#?}");
    // The failed tasks carry the real exit code and ECS's reason.
    let stopped = client
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .expect("list stopped");
    let tasks = client.describe_tasks().cluster("c").set_tasks(Some(stopped.task_arns().to_vec())).send().await;
    let tasks = tasks.expect("describe stopped");
    // (Revision 2's tasks still starting when the rollback came were stopped
    // by the scheduler, without an exit of their own.)
    let crashed: Vec<_> = tasks
        .tasks()
        .iter()
        .filter(|t| t.task_definition_arn() == Some(bad.as_str()))
        .filter(|t| t.stop_code().map(|c| c.as_str()) == Some("EssentialContainerExited"))
        .collect();
    assert!(crashed.len() >= 3, "the breaker's threshold is 3 failed tasks: {crashed:#?}");
    for t in crashed {
        assert_eq!(t.containers()[0].exit_code(), Some(1), "{t:#?}");
        assert_eq!(t.stopped_reason(), Some("Essential container in task exited"));
        assert!(t.started_at().is_none(), "a task whose container exits at once never ran");
    }
    // What runs afterwards is revision 1, for real.
    let (live, _, _) = live_by_revision(&client, "web").await;
    assert!(live.iter().all(|(_, r)| r == "1"), "{live:?}");
    emulator.shutdown().await.expect("shutdown");
}
