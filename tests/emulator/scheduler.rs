//! The scheduler on a manual clock: task lifecycle phase by phase, the
//! clock endpoints, scaling a service up and down, counts that agree with
//! DescribeTasks, STOPPED-task expiry.

use aws_sdk_ecs::types::DesiredStatus;

use crate::support::{
    admin, advance, events, fargate_service, fargate_task, register_fargate, service, service_tasks, start, start_real,
};

#[tokio::test]
async fn a_task_goes_through_every_phase_at_its_time() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    let task = fargate_task(&client, "c", "fg").started_by("me").send().await.unwrap().tasks()[0].clone();
    let arn = task.task_arn().unwrap().to_owned();
    let created = task.created_at().unwrap().as_secs_f64();
    let describe =
        || async { client.describe_tasks().cluster("c").tasks(&arn).send().await.unwrap().tasks()[0].clone() };
    // Default short phases: PROVISIONING 0.5 s, PENDING 1 s, ACTIVATING 0.5 s.
    let mut seen = vec![describe().await.last_status().unwrap().to_owned()];
    for _ in 0..5 {
        advance(&emulator, 0.5).await;
        seen.push(describe().await.last_status().unwrap().to_owned());
    }
    assert_eq!(seen, ["PROVISIONING", "PENDING", "PENDING", "ACTIVATING", "RUNNING", "RUNNING"]);
    let t = describe().await;
    assert_eq!(t.pull_started_at().unwrap().as_secs_f64() - created, 0.5);
    assert_eq!(t.pull_stopped_at().unwrap().as_secs_f64() - created, 1.5);
    assert_eq!(t.started_at().unwrap().as_secs_f64() - created, 2.0);
    assert_eq!(t.connectivity().map(|c| c.as_str()), Some("CONNECTED"));
    assert_eq!(t.containers()[0].last_status(), Some("RUNNING"));
    assert_eq!(t.containers()[0].health_status().map(|h| h.as_str()), Some("UNKNOWN"), "no health check");
    assert_eq!(t.attachments()[0].status(), Some("ATTACHED"));
    assert_eq!(t.started_by(), Some("me"));
    assert_eq!(t.group(), Some("family:fg"));
    assert!(t.version() > task.version());

    client.stop_task().cluster("c").task(&arn).reason("done").send().await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        advance(&emulator, 0.25).await;
        seen.push(describe().await.last_status().unwrap().to_owned());
    }
    // DEACTIVATING 0.25 s, STOPPING 0.5 s, DEPROVISIONING 0.25 s.
    assert_eq!(seen, ["STOPPING", "STOPPING", "DEPROVISIONING", "STOPPED"]);
    let t = describe().await;
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(t.stopped_reason(), Some("done"));
    assert_eq!(t.containers()[0].exit_code(), Some(0));
    assert_eq!(t.containers()[0].last_status(), Some("STOPPED"));
    assert_eq!(t.attachments()[0].status(), Some("DELETED"));
    let (stopping, stopped) = (t.stopping_at().unwrap().as_secs_f64(), t.stopped_at().unwrap().as_secs_f64());
    assert_eq!(stopped - stopping, 1.0);
    assert_eq!(t.execution_stopped_at().unwrap().as_secs_f64() - stopping, 0.75);
}

#[tokio::test]
async fn the_clock_endpoints() {
    let (emulator, _client) = start().await;
    let (status, clock) = admin(&emulator.endpoint(), reqwest::Method::GET, "clock", serde_json::json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(clock["mode"], "manual");
    let before = clock["nowMillis"].as_i64().unwrap();
    let report = advance(&emulator, 90.0).await;
    assert_eq!(report["nowMillis"].as_i64().unwrap(), before + 90_000);
    let (status, _) =
        admin(&emulator.endpoint(), reqwest::Method::POST, "clock/advance", serde_json::json!({ "seconds": -1 })).await;
    assert_eq!(status, 400);
    let (status, _) = admin(&emulator.endpoint(), reqwest::Method::POST, "clock/advance", serde_json::json!({})).await;
    assert_eq!(status, 400);

    let (real, _client) = start_real().await;
    let (status, body) =
        admin(&real.endpoint(), reqwest::Method::POST, "clock/advance", serde_json::json!({ "seconds": 1 })).await;
    assert_eq!(status, 409, "{body}");
    let (_, clock) = admin(&real.endpoint(), reqwest::Method::GET, "clock", serde_json::json!({})).await;
    assert_eq!(clock["mode"], "real");
}

/// Counts on the service and its deployments equal what DescribeTasks shows.
async fn assert_counts_agree(client: &aws_sdk_ecs::Client, cluster: &str, name: &str) {
    let s = service(client, cluster, name).await;
    let tasks = service_tasks(client, cluster, name, "RUNNING").await;
    let running = tasks.iter().filter(|t| t.last_status() == Some("RUNNING")).count() as i32;
    let pending =
        tasks.iter().filter(|t| matches!(t.last_status(), Some("PROVISIONING" | "PENDING" | "ACTIVATING"))).count()
            as i32;
    assert_eq!((s.running_count(), s.pending_count()), (running, pending), "service counts vs DescribeTasks");
    for d in s.deployments() {
        let mine: Vec<_> = tasks.iter().filter(|t| t.started_by() == d.id()).collect();
        let running = mine.iter().filter(|t| t.last_status() == Some("RUNNING")).count() as i32;
        assert_eq!(d.running_count(), running, "deployment {:?} running", d.id());
    }
}

#[tokio::test]
async fn a_service_scales_up_and_down() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    fargate_service(&client, "c", "web", "web").desired_count(3).send().await.unwrap();
    assert_counts_agree(&client, "c", "web").await;
    advance(&emulator, 2.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.pending_count()), (3, 0));
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("IN_PROGRESS"), "not healthy yet");
    assert_counts_agree(&client, "c", "web").await;
    // Healthy after 3 s of RUNNING: the rollout completes.
    advance(&emulator, 3.0).await;
    let s = service(&client, "c", "web").await;
    let deployment = s.deployments()[0].id().unwrap().to_owned();
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert_eq!(
        s.deployments()[0].rollout_state_reason(),
        Some(format!("ECS deployment {deployment} completed.").as_str())
    );
    let ev = events(&s);
    assert_eq!(ev[0], "(service web) has reached a steady state.");
    assert_eq!(ev[1], format!("(service web) (deployment {deployment}) deployment completed."));
    assert!(ev[2].starts_with("(service web) has started 3 tasks: (task "), "{ev:?}");
    assert_eq!(s.events()[0].created_at(), s.events()[1].created_at());

    // Scale in to 1: two tasks stop, no new deployment.
    client.update_service().cluster("c").service("web").desired_count(1).send().await.unwrap();
    let stopping = service_tasks(&client, "c", "web", "STOPPED").await;
    assert_eq!(stopping.len(), 2);
    for t in &stopping {
        assert_eq!(t.stop_code().map(|c| c.as_str()), Some("ServiceSchedulerInitiated"));
        assert_eq!(
            t.stopped_reason(),
            Some(format!("Scaling activity initiated by (deployment {deployment})").as_str())
        );
    }
    let s = service(&client, "c", "web").await;
    assert!(events(&s)[0].starts_with("(service web) has stopped 2 running tasks: (task "), "{:?}", events(&s));
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.deployments()[0].id(), Some(deployment.as_str()));
    advance(&emulator, 1.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.desired_count(), s.running_count()), (1, 1));
    assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
    let stopped = service_tasks(&client, "c", "web", "STOPPED").await;
    assert!(stopped.iter().all(|t| t.last_status() == Some("STOPPED")));

    // Scale out to 4 and settle again.
    client.update_service().cluster("c").service("web").desired_count(4).send().await.unwrap();
    assert_counts_agree(&client, "c", "web").await;
    advance(&emulator, 5.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.pending_count()), (4, 0));
    assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
    assert_counts_agree(&client, "c", "web").await;
}

#[tokio::test]
async fn stopped_service_tasks_are_replaced() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    fargate_service(&client, "c", "web", "web").desired_count(2).send().await.unwrap();
    advance(&emulator, 10.0).await;
    let victim = service_tasks(&client, "c", "web", "RUNNING").await[0].task_arn().unwrap().to_owned();
    client.stop_task().cluster("c").task(&victim).send().await.unwrap();
    // The replacement starts at once (maximumPercent 200 leaves room).
    let live = service_tasks(&client, "c", "web", "RUNNING").await;
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|t| t.task_arn() != Some(victim.as_str())));
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.running_count(), 2);
    assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
}

#[tokio::test]
async fn stopped_tasks_expire_after_the_retention() {
    let config = ecs_bridge::emulator::EmulatorConfig {
        stopped_task_retention: std::time::Duration::from_secs(600),
        ..ecs_bridge::emulator::EmulatorConfig::manual()
    };
    let (emulator, client) = crate::support::start_with(config).await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "fg").await;
    let arn = fargate_task(&client, "c", "fg").send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    advance(&emulator, 5.0).await;
    client.stop_task().cluster("c").task(&arn).send().await.unwrap();
    advance(&emulator, 2.0).await;
    let listed = client.list_tasks().cluster("c").desired_status(DesiredStatus::Stopped).send().await.unwrap();
    assert_eq!(listed.task_arns(), std::slice::from_ref(&arn));
    // Still there just before the retention ends (stopped 1 s after the stop).
    advance(&emulator, 598.0).await;
    let seen = client.describe_tasks().cluster("c").tasks(&arn).send().await.unwrap();
    assert_eq!(seen.tasks()[0].last_status(), Some("STOPPED"));
    // Gone right after, with no request needed to trigger it.
    advance(&emulator, 1.5).await;
    let gone = client.describe_tasks().cluster("c").tasks(&arn).send().await.unwrap();
    assert!(gone.tasks().is_empty());
    assert_eq!(gone.failures()[0].reason(), Some("MISSING"));
    let listed = client.list_tasks().cluster("c").desired_status(DesiredStatus::Stopped).send().await.unwrap();
    assert!(listed.task_arns().is_empty());
}

#[tokio::test]
async fn the_real_clock_runs_tasks_by_itself() {
    let (_emulator, client) = start_real().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    fargate_service(&client, "c", "web", "web").desired_count(2).send().await.unwrap();
    // Polls with a generous deadline (the defaults need about 5 s).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let s = service(&client, "c", "web").await;
        if s.running_count() == 2 && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED") {
            assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "service never settled: {s:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
