//! Task scale-in protection: UpdateTaskProtection and GetTaskProtection,
//! their failures and rules, and a service's scale-in that leaves protected
//! tasks running until their protection ends or is turned off.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::ProtectedTask;

use crate::cli::aws_ecs;
use crate::support::{
    advance, arn, assert_error, fargate_service, fargate_task, register_fargate, service, service_tasks, start,
};

/// A Fargate service of `count` RUNNING tasks in cluster `c`; their ARNs.
async fn running_service(emulator: &ecs_bridge::emulator::RunningEmulator, client: &Client, count: i32) -> Vec<String> {
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(client, "web").await;
    fargate_service(client, "c", "svc", "web").desired_count(count).send().await.unwrap();
    advance(emulator, 10.0).await;
    let tasks = service_tasks(client, "c", "svc", "RUNNING").await;
    assert_eq!(tasks.len(), count as usize);
    assert!(tasks.iter().all(|t| t.last_status() == Some("RUNNING")));
    tasks.iter().map(|t| t.task_arn().unwrap().to_owned()).collect()
}

async fn protection(client: &Client, tasks: &[String]) -> Vec<ProtectedTask> {
    let out = client.get_task_protection().cluster("c").set_tasks(Some(tasks.to_vec())).send().await.unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.protected_tasks().to_vec()
}

fn enabled(p: &[ProtectedTask], arn: &str) -> bool {
    p.iter().find(|t| t.task_arn() == Some(arn)).expect("task listed").protection_enabled()
}

async fn running_arns(client: &Client) -> Vec<String> {
    service_tasks(client, "c", "svc", "RUNNING").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn scale_in_spares_protected_tasks_until_their_protection_ends() {
    let (emulator, client) = start().await;
    let tasks = running_service(&emulator, &client, 3).await;
    let (guarded, free) = (&tasks[..2], &tasks[2]);
    let out = client
        .update_task_protection()
        .cluster("c")
        .set_tasks(Some(guarded.to_vec()))
        .protection_enabled(true)
        .expires_in_minutes(10)
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty());
    assert_eq!(out.protected_tasks().len(), 2);
    let now = emulator.store().now().0 as f64 / 1000.0;
    for p in out.protected_tasks() {
        assert!(p.protection_enabled());
        let expires = p.expiration_date().expect("an expiry").as_secs_f64();
        assert!((expires - (now + 600.0)).abs() < 1.0, "ten minutes from now: {expires} vs {now}");
    }
    let shown = protection(&client, &tasks).await;
    assert!(enabled(&shown, &guarded[0]) && enabled(&shown, &guarded[1]) && !enabled(&shown, free));
    assert!(shown.iter().find(|p| p.task_arn() == Some(free.as_str())).unwrap().expiration_date().is_none());

    // Down to one: only the unprotected task can go, so two stay.
    client.update_service().cluster("c").service("svc").desired_count(1).send().await.unwrap();
    advance(&emulator, 5.0).await;
    let mut left = running_arns(&client).await;
    left.sort();
    let mut expected = guarded.to_vec();
    expected.sort();
    assert_eq!(left, expected, "the protected tasks keep running");
    assert_eq!(service(&client, "c", "svc").await.running_count(), 2);

    // Still protected after nine minutes...
    advance(&emulator, 540.0).await;
    assert_eq!(running_arns(&client).await.len(), 2);
    // ...and when ten have passed the protection is gone and the scale-in
    // completes, without anything else happening to the service.
    advance(&emulator, 70.0).await;
    let left = running_arns(&client).await;
    assert_eq!(left.len(), 1);
    assert!(guarded.contains(&left[0]));
    let shown = protection(&client, &left).await;
    assert!(!shown[0].protection_enabled() && shown[0].expiration_date().is_none(), "{shown:?}");
    assert_eq!(service(&client, "c", "svc").await.running_count(), 1);
}

#[tokio::test]
async fn turning_protection_off_lets_a_held_scale_in_go_on() {
    let (emulator, client) = start().await;
    let tasks = running_service(&emulator, &client, 2).await;
    // The default protection is two hours.
    let out = client
        .update_task_protection()
        .cluster("c")
        .set_tasks(Some(tasks.clone()))
        .protection_enabled(true)
        .send()
        .await
        .unwrap();
    let now = emulator.store().now().0 as f64 / 1000.0;
    let expires = out.protected_tasks()[0].expiration_date().unwrap().as_secs_f64();
    assert!((expires - (now + 7200.0)).abs() < 1.0, "{expires} vs {now}");
    client.update_service().cluster("c").service("svc").desired_count(0).send().await.unwrap();
    advance(&emulator, 5.0).await;
    assert_eq!(running_arns(&client).await.len(), 2, "both are protected");

    let out =
        client.update_task_protection().cluster("c").tasks(&tasks[0]).protection_enabled(false).send().await.unwrap();
    assert!(!out.protected_tasks()[0].protection_enabled());
    advance(&emulator, 5.0).await;
    assert_eq!(running_arns(&client).await, vec![tasks[1].clone()], "only the unprotected one went");
}

#[tokio::test]
async fn protection_failures_and_rules() {
    let (emulator, client) = start().await;
    let tasks = running_service(&emulator, &client, 1).await;
    let standalone = fargate_task(&client, "c", "web").send().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    let ghost = "0123456789abcdef0123456789abcdef";
    let out = client
        .update_task_protection()
        .cluster("c")
        .tasks(&tasks[0])
        .tasks(&standalone)
        .tasks(ghost)
        .protection_enabled(true)
        .send()
        .await
        .unwrap();
    assert_eq!(out.protected_tasks().len(), 1);
    let reasons: Vec<(&str, &str)> =
        out.failures().iter().map(|f| (f.arn().unwrap_or_default(), f.reason().unwrap_or_default())).collect();
    let ghost_arn = arn(&format!("task/c/{ghost}"));
    assert_eq!(reasons, [(standalone.as_str(), "TASK_NOT_VALID"), (ghost_arn.as_str(), "MISSING")]);
    let got = client.get_task_protection().cluster("c").tasks(ghost).tasks(&standalone).send().await.unwrap();
    assert!(got.protected_tasks().is_empty());
    assert_eq!(got.failures().len(), 2);
    // Without `tasks`: the protected ones.
    let all = client.get_task_protection().cluster("c").send().await.unwrap();
    assert_eq!(all.protected_tasks().len(), 1);
    assert_eq!(all.protected_tasks()[0].task_arn(), Some(tasks[0].as_str()));

    let update = || client.update_task_protection().cluster("c").tasks(&tasks[0]).protection_enabled(true);
    assert_error(update().expires_in_minutes(0).send().await, "InvalidParameterException", None);
    assert_error(update().expires_in_minutes(2881).send().await, "InvalidParameterException", None);
    update().expires_in_minutes(2880).send().await.unwrap();
    let eleven: Vec<String> = (0..11).map(|i| format!("{i:032x}")).collect();
    assert_error(
        client.update_task_protection().cluster("c").set_tasks(Some(eleven)).protection_enabled(true).send().await,
        "InvalidParameterException",
        None,
    );
    assert_error(
        client.update_task_protection().cluster("ghost").tasks(&tasks[0]).protection_enabled(true).send().await,
        "ClusterNotFoundException",
        Some("Cluster not found."),
    );
    assert_error(client.get_task_protection().cluster("ghost").send().await, "ClusterNotFoundException", None);
}

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_protection_with_the_aws_cli() {
    let (emulator, client) = start().await;
    let tasks = running_service(&emulator, &client, 1).await;
    let endpoint = emulator.endpoint();
    let out = aws_ecs(
        &endpoint,
        &[
            "update-task-protection",
            "--cluster",
            "c",
            "--tasks",
            &tasks[0],
            "--protection-enabled",
            "--expires-in-minutes",
            "300",
        ],
    )
    .expect("update-task-protection");
    assert_eq!(out["protectedTasks"][0]["protectionEnabled"], true);
    assert!(out["protectedTasks"][0]["expirationDate"].is_number(), "{out}");
    assert_eq!(out["failures"], serde_json::json!([]));
    let out = aws_ecs(&endpoint, &["get-task-protection", "--cluster", "c", "--tasks", &tasks[0]]).expect("get");
    assert_eq!(out["protectedTasks"][0]["taskArn"], tasks[0].as_str());
    assert_eq!(out["protectedTasks"][0]["protectionEnabled"], true);
    let out = aws_ecs(
        &endpoint,
        &["update-task-protection", "--cluster", "c", "--tasks", &tasks[0], "--no-protection-enabled"],
    )
    .expect("disable");
    assert_eq!(out["protectedTasks"][0]["protectionEnabled"], false);
    assert!(out["protectedTasks"][0].get("expirationDate").is_none(), "{out}");
}

#[tokio::test]
async fn protection_survives_a_restart_with_a_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = ecs_bridge::emulator::EmulatorConfig {
        state_dir: Some(dir.path().to_owned()),
        ..ecs_bridge::emulator::EmulatorConfig::manual()
    };
    let emulator = ecs_bridge::emulator::spawn(config.clone()).await.unwrap();
    let client = crate::support::client(&emulator.endpoint());
    let tasks = running_service(&emulator, &client, 2).await;
    client
        .update_task_protection()
        .cluster("c")
        .tasks(&tasks[0])
        .protection_enabled(true)
        .expires_in_minutes(60)
        .send()
        .await
        .unwrap();
    emulator.shutdown().await.unwrap();

    let emulator = ecs_bridge::emulator::spawn(config).await.unwrap();
    let client = crate::support::client(&emulator.endpoint());
    let shown = protection(&client, &tasks).await;
    assert!(enabled(&shown, &tasks[0]) && !enabled(&shown, &tasks[1]), "{shown:?}");
    // And it still holds off a scale-in.
    client.update_service().cluster("c").service("svc").desired_count(0).send().await.unwrap();
    advance(&emulator, 5.0).await;
    assert_eq!(running_arns(&client).await, vec![tasks[0].clone()]);
}
