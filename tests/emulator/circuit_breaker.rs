//! Failing tasks on a manual clock: the failure rules (environment variables
//! and the admin endpoint), the deployment circuit breaker with and without
//! rollback, back-off, health-check replacement, killing a task.

use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration, HealthCheck, LaunchType};

use crate::support::{
    admin, advance, awsvpc, events, nginx_builder, register_fargate, register_fargate_env, service, service_tasks,
    start,
};

fn breaker(rollback: bool) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(rollback).build())
        .build()
}

/// Creates Fargate service `web` in cluster `c` (also used by the alarms tests).
pub async fn create_service(client: &aws_sdk_ecs::Client, td: &str, desired: i32, config: DeploymentConfiguration) {
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(td)
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn failure_rules_on_the_task_definition() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate_env(&client, "crash", &[("ECS_EMULATOR_EXIT_CODE", "3")]).await;
    register_fargate_env(&client, "later", &[("ECS_EMULATOR_EXIT_CODE", "42"), ("ECS_EMULATOR_EXIT_AFTER", "10")])
        .await;
    register_fargate_env(&client, "nopull", &[("ECS_EMULATOR_CANNOT_PULL", "true")]).await;
    let run = |family: &'static str| {
        let client = client.clone();
        async move {
            client
                .run_task()
                .cluster("c")
                .task_definition(family)
                .launch_type(LaunchType::Fargate)
                .network_configuration(awsvpc())
                .send()
                .await
                .unwrap()
                .tasks()[0]
                .task_arn()
                .unwrap()
                .to_owned()
        }
    };
    let (crash, later, nopull) = (run("crash").await, run("later").await, run("nopull").await);
    advance(&emulator, 5.0).await;
    let described =
        client.describe_tasks().cluster("c").tasks(&crash).tasks(&later).tasks(&nopull).send().await.unwrap();
    let by_arn = |arn: &str| described.tasks().iter().find(|t| t.task_arn() == Some(arn)).unwrap().clone();
    let t = by_arn(&crash);
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(t.stopped_reason(), Some("Essential container in task exited"));
    assert_eq!(t.containers()[0].exit_code(), Some(3));
    assert!(t.started_at().is_none(), "never reached RUNNING");
    let t = by_arn(&nopull);
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(t.stopped_reason().unwrap().starts_with("CannotPullContainerError:"), "{:?}", t.stopped_reason());
    let t = by_arn(&later);
    assert_eq!(t.last_status(), Some("RUNNING"));
    // Exits 10 s after RUNNING (RUNNING at 2 s).
    advance(&emulator, 8.0).await;
    let t = client.describe_tasks().cluster("c").tasks(&later).send().await.unwrap().tasks()[0].clone();
    assert_eq!(t.desired_status(), Some("STOPPED"));
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(t.containers()[0].exit_code(), Some(42));
    assert_eq!(t.stopping_at().unwrap().as_secs_f64() - t.started_at().unwrap().as_secs_f64(), 10.0);
}

#[tokio::test]
async fn failure_rules_through_the_admin_endpoint() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    let endpoint = emulator.endpoint();
    let (status, rule) = admin(
        &endpoint,
        reqwest::Method::POST,
        "failure-rules",
        serde_json::json!({ "family": "web", "cannotPull": true }),
    )
    .await;
    assert_eq!(status, 200, "{rule}");
    assert!(rule["id"].as_str().is_some_and(|id| !id.is_empty()));
    let (status, _) =
        admin(&endpoint, reqwest::Method::POST, "failure-rules", serde_json::json!({ "family": "web" })).await;
    assert_eq!(status, 400, "a rule needs an effect");
    let (status, _) = admin(
        &endpoint,
        reqwest::Method::POST,
        "failure-rules",
        serde_json::json!({ "famly": "web", "cannotPull": true }),
    )
    .await;
    assert_eq!(status, 400, "unknown fields are refused");
    let (_, listed) = admin(&endpoint, reqwest::Method::GET, "failure-rules", serde_json::json!({})).await;
    assert_eq!(listed["rules"].as_array().unwrap().len(), 1);

    let run = || {
        client
            .run_task()
            .cluster("c")
            .task_definition("web")
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
            .send()
    };
    let doomed = run().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    let (_, removed) = admin(&endpoint, reqwest::Method::DELETE, "failure-rules", serde_json::json!({})).await;
    assert_eq!(removed["removed"], 1);
    let fine = run().await.unwrap().tasks()[0].task_arn().unwrap().to_owned();
    advance(&emulator, 5.0).await;
    let described = client.describe_tasks().cluster("c").tasks(&doomed).tasks(&fine).send().await.unwrap();
    let status = |arn: &str| {
        described.tasks().iter().find(|t| t.task_arn() == Some(arn)).unwrap().last_status().unwrap().to_owned()
    };
    assert_eq!(status(&doomed), "STOPPED", "rules apply to tasks created while they are in force");
    assert_eq!(status(&fine), "RUNNING");
}

#[tokio::test]
async fn the_circuit_breaker_rolls_back_to_the_last_completed_deployment() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let good = register_fargate(&client, "web").await;
    register_fargate_env(&client, "web", &[("ECS_EMULATOR_EXIT_CODE", "1")]).await;
    create_service(&client, "web:1", 2, breaker(true)).await;
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    let completed = s.deployments()[0].id().unwrap().to_owned();
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));

    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    let failing = service(&client, "c", "web").await.deployments()[0].id().unwrap().to_owned();
    // Threshold for 2 tasks: max(3, ceil(0.5 × 2)) = 3 failures. The first
    // two fail at 1.5 s (end of PENDING), their replacements at 3 s.
    advance(&emulator, 1.5).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments()[0].failed_tasks(), 2, "both first tasks failed to start");
    advance(&emulator, 30.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1, "{:?}", s.deployments());
    let d = &s.deployments()[0];
    assert_eq!(d.id(), Some(completed.as_str()), "the rollback target keeps its id");
    assert_eq!(d.task_definition(), Some(good.as_str()));
    assert_eq!(s.task_definition(), Some(good.as_str()), "the service is back on revision 1");
    assert_eq!(d.rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert_eq!(s.running_count(), 2);
    let ev = events(&s);
    let failed_at = ev
        .iter()
        .position(|e| *e == format!("(service web) (deployment {failing}) deployment failed: tasks failed to start."))
        .unwrap_or_else(|| panic!("no failure event: {ev:?}"));
    assert_eq!(ev[failed_at - 1], format!("(service web) rolling back to deployment {completed}."), "{ev:?}");
    assert_eq!(ev[0], "(service web) has reached a steady state.");
    assert_eq!(ev[1], format!("(service web) (deployment {completed}) deployment completed."));
    // The old tasks kept serving: no task of revision 1 was ever stopped.
    let stopped = service_tasks(&client, "c", "web", "STOPPED").await;
    assert_eq!(stopped.len(), 4);
    assert!(stopped.iter().all(|t| t.task_definition_arn().unwrap().ends_with(":2")));
}

#[tokio::test]
async fn a_failing_first_deployment_fails_and_launches_no_more() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate_env(&client, "web", &[("ECS_EMULATOR_CANNOT_PULL", "true")]).await;
    create_service(&client, "web", 1, breaker(true)).await;
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    let d = &s.deployments()[0];
    // The first deployment has nothing to roll back to: it fails and stalls.
    assert_eq!(d.rollout_state().map(|r| r.as_str()), Some("FAILED"));
    assert_eq!(d.rollout_state_reason(), Some("ECS deployment circuit breaker: tasks failed to start."));
    assert_eq!(d.failed_tasks(), 3);
    assert_eq!(
        events(&s)[0],
        format!("(service web) (deployment {}) deployment failed: tasks failed to start.", d.id().unwrap())
    );
    assert_eq!(service_tasks(&client, "c", "web", "STOPPED").await.len(), 3);
    advance(&emulator, 600.0).await;
    assert_eq!(service_tasks(&client, "c", "web", "STOPPED").await.len(), 3, "no launches after FAILED");
    assert!(service_tasks(&client, "c", "web", "RUNNING").await.is_empty());
}

#[tokio::test]
async fn without_rollback_the_failed_deployment_stays_primary_and_old_tasks_keep_serving() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    register_fargate_env(&client, "web", &[("ECS_EMULATOR_EXIT_CODE", "1")]).await;
    create_service(&client, "web:1", 2, breaker(false)).await;
    advance(&emulator, 10.0).await;
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 2, "{:#?}", (s.deployments(), events(&s)));
    let (primary, old) = (&s.deployments()[0], &s.deployments()[1]);
    assert_eq!((primary.status(), primary.rollout_state().map(|r| r.as_str())), (Some("PRIMARY"), Some("FAILED")));
    assert_eq!((old.status(), old.running_count()), (Some("ACTIVE"), 2));
    assert_eq!(s.running_count(), 2);
    assert!(!events(&s).iter().any(|e| e.contains("rolling back")));
}

#[tokio::test]
async fn without_a_breaker_failing_tasks_back_off() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate_env(&client, "web", &[("ECS_EMULATOR_EXIT_CODE", "1")]).await;
    create_service(&client, "web", 1, DeploymentConfiguration::builder().build()).await;
    advance(&emulator, 120.0).await;
    let s = service(&client, "c", "web").await;
    let ev = events(&s);
    assert!(ev.contains(&"(service web) is unable to consistently start tasks successfully.".to_owned()), "{ev:?}");
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("IN_PROGRESS"));
    // Without back-off a task would fail every second (120 in 2 minutes).
    let attempts = service_tasks(&client, "c", "web", "STOPPED").await.len();
    assert!((4..20).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn tasks_failing_health_checks_are_replaced() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let check = HealthCheck::builder()
        .command("CMD-SHELL")
        .command("curl -f localhost")
        .interval(5)
        .retries(2)
        .build()
        .unwrap();
    client
        .register_task_definition()
        .family("web")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            nginx_builder(None)
                .health_check(check)
                .environment(
                    aws_sdk_ecs::types::KeyValuePair::builder()
                        .name("ECS_EMULATOR_FAIL_HEALTHCHECK_AFTER")
                        .value("5")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    create_service(&client, "web", 1, DeploymentConfiguration::builder().build()).await;
    // RUNNING at 2 s; checks every second (short timings): healthy at 3 s.
    advance(&emulator, 3.0).await;
    let first = service_tasks(&client, "c", "web", "RUNNING").await[0].clone();
    assert_eq!(first.health_status().map(|h| h.as_str()), Some("HEALTHY"));
    assert_eq!(first.containers()[0].health_status().map(|h| h.as_str()), Some("HEALTHY"));
    // Failing from 5 s after start, 2 retries: UNHEALTHY at 2 + 6 s.
    advance(&emulator, 5.0).await;
    let s = service(&client, "c", "web").await;
    let ev = events(&s);
    let id = first.task_arn().unwrap().rsplit('/').next().unwrap();
    assert!(ev.contains(&format!("(service web) (task {id}) failed container health checks.")), "{ev:?}");
    let replaced = ev
        .iter()
        .find(|e| e.contains("Amazon ECS replaced 1 tasks due to an unhealthy status."))
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert!(replaced.starts_with("(service web) has started 1 tasks: (task "), "{replaced}");
    let old =
        client.describe_tasks().cluster("c").tasks(first.task_arn().unwrap()).send().await.unwrap().tasks()[0].clone();
    assert_eq!(old.health_status().map(|h| h.as_str()), Some("UNHEALTHY"));
    assert_eq!(old.desired_status(), Some("STOPPED"));
    assert_eq!(old.stop_code().map(|c| c.as_str()), Some("ServiceSchedulerInitiated"));
    assert_eq!(old.stopped_reason(), Some("Task failed container health checks"));
}

#[tokio::test]
async fn a_killed_service_task_is_replaced() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    create_service(&client, "web", 2, DeploymentConfiguration::builder().build()).await;
    advance(&emulator, 10.0).await;
    let victim = service_tasks(&client, "c", "web", "RUNNING").await[0].task_arn().unwrap().to_owned();
    let (status, body) = admin(
        &emulator.endpoint(),
        reqwest::Method::POST,
        "tasks/kill",
        serde_json::json!({ "cluster": "c", "task": victim }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["task"]["stopCode"], "EssentialContainerExited");
    assert_eq!(body["task"]["containers"][0]["exitCode"], 137);
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.running_count(), 2);
    let live = service_tasks(&client, "c", "web", "RUNNING").await;
    assert!(live.iter().all(|t| t.task_arn() != Some(victim.as_str())));
    let (status, _) = admin(
        &emulator.endpoint(),
        reqwest::Method::POST,
        "tasks/kill",
        serde_json::json!({ "cluster": "c", "task": victim }),
    )
    .await;
    assert_eq!(status, 400, "a stopped task cannot be killed again");
}

#[tokio::test]
async fn service_deployments_and_revisions_tell_the_rollback_story() {
    use aws_sdk_ecs::types::ServiceDeploymentStatus;
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    register_fargate_env(&client, "web", &[("ECS_EMULATOR_EXIT_CODE", "1")]).await;
    create_service(&client, "web:1", 2, breaker(true)).await;
    advance(&emulator, 10.0).await;
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    advance(&emulator, 30.0).await;
    let s = service(&client, "c", "web").await;
    let good = s.deployments()[0].id().unwrap().rsplit('/').next().unwrap().to_owned();

    let listed = client.list_service_deployments().cluster("c").service("web").send().await.unwrap();
    let briefs = listed.service_deployments();
    assert_eq!(briefs.len(), 2);
    let (failed, completed) = (&briefs[0], &briefs[1]);
    assert_eq!(failed.status(), Some(&ServiceDeploymentStatus::RollbackSuccessful), "{briefs:#?}");
    assert_eq!(failed.status_reason(), Some("ECS deployment circuit breaker: tasks failed to start."));
    assert_eq!(completed.status(), Some(&ServiceDeploymentStatus::Successful));
    assert_eq!(completed.service_deployment_arn(), s.current_service_deployment());
    assert!(completed.service_deployment_arn().unwrap().ends_with(&format!(":service-deployment/c/web/{good}")));
    let only_failed = client
        .list_service_deployments()
        .cluster("c")
        .service("web")
        .status(ServiceDeploymentStatus::RollbackSuccessful)
        .send()
        .await
        .unwrap();
    assert_eq!(only_failed.service_deployments().len(), 1);

    let described = client
        .describe_service_deployments()
        .service_deployment_arns(failed.service_deployment_arn().unwrap())
        .service_deployment_arns(format!("{}9", failed.service_deployment_arn().unwrap()))
        .send()
        .await
        .unwrap();
    let d = &described.service_deployments()[0];
    let breaker = d.deployment_circuit_breaker().unwrap();
    assert_eq!(breaker.status().map(|s| s.as_str()), Some("TRIGGERED"));
    assert_eq!(breaker.threshold(), 3);
    assert!(breaker.failure_count() >= 3);
    let rollback = d.rollback().unwrap();
    assert_eq!(rollback.service_revision_arn(), Some(completed.target_service_revision_arn().unwrap()));
    assert_eq!(d.source_service_revisions()[0].arn(), completed.target_service_revision_arn());
    assert_eq!(d.source_service_revisions()[0].running_task_count(), 2);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    let revisions = client
        .describe_service_revisions()
        .service_revision_arns(failed.target_service_revision_arn().unwrap())
        .send()
        .await
        .unwrap();
    let r = &revisions.service_revisions()[0];
    assert!(r.task_definition().unwrap().ends_with("task-definition/web:2"));
    assert_eq!(r.launch_type(), Some(&LaunchType::Fargate));
    assert_eq!(r.container_images()[0].image(), Some("nginx:latest"));
    assert!(r.network_configuration().is_some());
}
