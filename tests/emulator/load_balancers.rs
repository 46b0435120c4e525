//! Services behind a load balancer on a manual clock: targets registered,
//! healthy, draining and deregistered with ECS's events; deployments that
//! wait for healthy targets; tasks replaced for failing ELB health checks
//! (with the exact stop reason), held off by the health-check grace period;
//! the circuit breaker tripping on ELB failures; bridge targets on their
//! host port; and CreateService's checks of `loadBalancers`.

use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration, HealthCheck, LaunchType, LoadBalancer};
use ecs_bridge::emulator::EmulatorConfig;
use serde_json::{Value, json};

use crate::support::{
    admin, advance, assert_error, awsvpc, events, nginx_builder, register_bridge, register_fargate,
    register_fargate_container, service, service_tasks, start, start_with,
};

const TG: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef";

fn load_balancer(container: &str, port: i32) -> LoadBalancer {
    LoadBalancer::builder().target_group_arn(TG).container_name(container).container_port(port).build()
}

/// Creates Fargate service `name` in cluster `c` behind [`TG`].
async fn create_service(
    client: &aws_sdk_ecs::Client,
    name: &str,
    td: &str,
    desired: i32,
    grace_seconds: Option<i32>,
    config: DeploymentConfiguration,
) {
    client
        .create_service()
        .cluster("c")
        .service_name(name)
        .task_definition(td)
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc())
        .load_balancers(load_balancer("web", 80))
        .set_health_check_grace_period_seconds(grace_seconds)
        .deployment_configuration(config)
        .send()
        .await
        .expect("create service");
}

/// The targets of [`TG`] as `GET /_emulator/target-groups` shows them.
async fn targets(endpoint: &str) -> Vec<Value> {
    let (status, body) = admin(endpoint, reqwest::Method::GET, "target-groups", json!({})).await;
    assert_eq!(status, 200, "{body}");
    let groups = body["targetGroups"].as_array().cloned().unwrap_or_default();
    groups
        .iter()
        .find(|g| g["targetGroupArn"] == TG)
        .map(|g| g["targets"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

fn states(targets: &[Value]) -> Vec<String> {
    targets.iter().map(|t| t["targetHealth"]["state"].as_str().unwrap_or_default().to_owned()).collect()
}

fn rollout(s: &aws_sdk_ecs::types::Service) -> Option<String> {
    s.deployments()[0].rollout_state().map(|r| r.as_str().to_owned())
}

async fn add_rule(endpoint: &str, rule: Value) {
    let (status, body) = admin(endpoint, reqwest::Method::POST, "failure-rules", rule).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn deployments_wait_for_healthy_targets_and_old_tasks_drain() {
    let mut config = EmulatorConfig::manual();
    config.timings.target_healthy = 20_000;
    let (emulator, client) = start_with(config).await;
    let endpoint = emulator.endpoint();
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    create_service(&client, "web", "web", 2, None, DeploymentConfiguration::builder().build()).await;

    // ACTIVATING at 1.5 s: both targets registered; RUNNING at 2 s.
    advance(&emulator, 2.0).await;
    let s = service(&client, "c", "web").await;
    let ev = events(&s);
    assert!(ev.contains(&format!("(service web) registered 2 targets in (target-group {TG})")), "{ev:?}");
    let registered = targets(&endpoint).await;
    assert_eq!(states(&registered), ["initial", "initial"]);
    assert_eq!(registered[0]["port"], 80);
    assert_eq!(registered[0]["service"], "web");

    // Without a load balancer the tasks would count as healthy at 5 s; with
    // one, only when their targets are healthy (RUNNING + 20 s).
    advance(&emulator, 19.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.running_count(), 2);
    assert_eq!(rollout(&s).as_deref(), Some("IN_PROGRESS"), "{:?}", events(&s));
    advance(&emulator, 1.5).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(rollout(&s).as_deref(), Some("COMPLETED"), "{:?}", events(&s));
    assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
    assert_eq!(states(&targets(&endpoint).await), ["healthy", "healthy"]);

    // A new deployment (100/200): the old tasks stay until the new targets
    // are healthy, then drain and are deregistered.
    let old: Vec<String> =
        service_tasks(&client, "c", "web", "RUNNING").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    client.update_service().cluster("c").service("web").force_new_deployment(true).send().await.unwrap();
    advance(&emulator, 15.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!((s.deployments().len(), s.running_count()), (2, 4), "{:?}", events(&s));
    let running: Vec<String> =
        service_tasks(&client, "c", "web", "RUNNING").await.iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    assert!(old.iter().all(|arn| running.contains(arn)), "no old task stopped before the new targets are healthy");
    assert_eq!(states(&targets(&endpoint).await).iter().filter(|s| *s == "healthy").count(), 2);

    advance(&emulator, 7.5).await;
    let draining = targets(&endpoint).await;
    let old_states: Vec<&str> = draining
        .iter()
        .filter(|t| old.iter().any(|arn| t["taskArn"] == arn.as_str()))
        .map(|t| t["targetHealth"]["state"].as_str().unwrap())
        .collect();
    assert!(old_states.is_empty() || old_states.iter().all(|s| *s == "draining"), "{draining:?}");
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1, "{:?}", events(&s));
    assert_eq!(rollout(&s).as_deref(), Some("COMPLETED"));
    let ev = events(&s);
    let draining_at = ev
        .iter()
        .position(|e| e == "(service web) has begun draining connections on 2 tasks.")
        .unwrap_or_else(|| panic!("{ev:?}"));
    let deregistered_at = ev
        .iter()
        .position(|e| *e == format!("(service web) deregistered 2 targets in (target-group {TG})"))
        .unwrap_or_else(|| panic!("{ev:?}"));
    let stopped_at = ev
        .iter()
        .position(|e| e.starts_with("(service web) has stopped 2 running tasks:"))
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert!(
        deregistered_at < draining_at && draining_at < stopped_at,
        "newest first: deregistered, draining, stopped: {ev:?}"
    );
    let now = targets(&endpoint).await;
    assert_eq!(states(&now), ["healthy", "healthy"]);
    assert!(now.iter().all(|t| !old.iter().any(|arn| t["taskArn"] == arn.as_str())), "old targets are gone: {now:?}");
}

#[tokio::test]
async fn a_task_failing_elb_health_checks_is_replaced() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    add_rule(&endpoint, json!({ "family": "web", "failTargetHealthCheck": true, "statusCode": 500 })).await;
    create_service(&client, "web", "web", 1, None, DeploymentConfiguration::builder().build()).await;
    let first = service_tasks(&client, "c", "web", "RUNNING").await[0].task_arn().unwrap().to_owned();

    // RUNNING at 2 s; the target's checks fail from the start, so it is
    // unhealthy 3 s later (`target_healthy` of the short timings).
    advance(&emulator, 4.5).await;
    assert_eq!(states(&targets(&endpoint).await), ["initial"]);
    let t = client.describe_tasks().cluster("c").tasks(&first).send().await.unwrap().tasks()[0].clone();
    assert_eq!(t.desired_status(), Some("RUNNING"));
    advance(&emulator, 0.5).await;
    let t = client.describe_tasks().cluster("c").tasks(&first).send().await.unwrap().tasks()[0].clone();
    assert_eq!(t.desired_status(), Some("STOPPED"));
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("ServiceSchedulerInitiated"));
    assert_eq!(t.stopped_reason(), Some(format!("Task failed ELB health checks in (target-group {TG})").as_str()));
    assert_eq!(t.health_status().map(|h| h.as_str()), Some("UNKNOWN"), "ELB verdicts are not the task's healthStatus");

    let s = service(&client, "c", "web").await;
    let ev = events(&s);
    let id = first.rsplit('/').next().unwrap();
    let unhealthy = format!(
        "(service web) (port 80) is unhealthy in (target-group {TG}) due to (reason Health checks failed with these codes: [500])."
    );
    let unhealthy_at = ev.iter().position(|e| *e == unhealthy).unwrap_or_else(|| panic!("{ev:?}"));
    assert!(ev[..unhealthy_at].contains(&format!("(service web) has stopped 1 running tasks: (task {id}).")), "{ev:?}");
    let replaced = ev
        .iter()
        .find(|e| e.ends_with("Amazon ECS replaced 1 tasks due to an unhealthy status."))
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert!(replaced.starts_with("(service web) has started 1 tasks: (task "), "{replaced}");
    let replacement = service_tasks(&client, "c", "web", "RUNNING").await;
    assert_eq!(replacement.len(), 1);
    assert_ne!(replacement[0].task_arn(), Some(first.as_str()));

    advance(&emulator, 2.0).await;
    let ev = events(&service(&client, "c", "web").await);
    assert!(ev.contains(&"(service web) has begun draining connections on 1 tasks.".to_owned()), "{ev:?}");
    assert!(ev.contains(&format!("(service web) deregistered 1 targets in (target-group {TG})")), "{ev:?}");
    // Without a circuit breaker the service keeps replacing (failures after
    // RUNNING do not back off): more stopped tasks with the same reason.
    advance(&emulator, 20.0).await;
    let stopped = service_tasks(&client, "c", "web", "STOPPED").await;
    assert!(stopped.len() >= 3, "{} stopped", stopped.len());
    let reason = format!("Task failed ELB health checks in (target-group {TG})");
    assert!(stopped.iter().all(|t| t.stopped_reason() == Some(reason.as_str())));
    assert!(!events(&service(&client, "c", "web").await).iter().any(|e| e.contains("unable to consistently start")));
}

#[tokio::test]
async fn the_grace_period_holds_off_unhealthy_verdicts() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    // A family whose container health check fails from 1 s after RUNNING
    // (checks every second, 2 retries: UNHEALTHY at RUNNING + 2 s).
    let check = HealthCheck::builder()
        .command("CMD-SHELL")
        .command("curl -f localhost")
        .interval(5)
        .retries(2)
        .build()
        .unwrap();
    let failing_check = nginx_builder(None).health_check(check).environment(
        aws_sdk_ecs::types::KeyValuePair::builder().name("ECS_EMULATOR_FAIL_HEALTHCHECK_AFTER").value("1").build(),
    );
    register_fargate_container(&client, "checked", failing_check.build()).await;
    add_rule(&endpoint, json!({ "service": "elb", "failTargetHealthCheck": true })).await;
    create_service(&client, "elb", "web", 1, Some(20), DeploymentConfiguration::builder().build()).await;
    create_service(&client, "check", "checked", 1, Some(20), DeploymentConfiguration::builder().build()).await;
    let elb = service_tasks(&client, "c", "elb", "RUNNING").await[0].clone();
    let checked = service_tasks(&client, "c", "check", "RUNNING").await[0].clone();

    // Both are judged unhealthy by 5 s, but the grace period runs until
    // startedAt (2 s) + 20 s: nothing is replaced, nothing counts as healthy.
    advance(&emulator, 21.5).await;
    assert_eq!(states(&targets(&endpoint).await).iter().filter(|s| *s == "unhealthy").count(), 1);
    for (name, task) in [("elb", &elb), ("check", &checked)] {
        let t = client.describe_tasks().cluster("c").tasks(task.task_arn().unwrap()).send().await.unwrap().tasks()[0]
            .clone();
        assert_eq!(t.desired_status(), Some("RUNNING"), "{name} is left alone during the grace period");
        let s = service(&client, "c", name).await;
        assert_eq!(rollout(&s).as_deref(), Some("IN_PROGRESS"), "{name}: an unhealthy task is not healthy");
        assert!(
            !events(&s).iter().any(|e| e.contains("unhealthy") || e.contains("failed container health checks")),
            "{:?}",
            events(&s)
        );
    }
    let t = client.describe_tasks().cluster("c").tasks(checked.task_arn().unwrap()).send().await.unwrap().tasks()[0]
        .clone();
    assert_eq!(t.health_status().map(|h| h.as_str()), Some("UNHEALTHY"), "the verdict shows, it is only not acted on");

    // After it, both are replaced.
    advance(&emulator, 1.0).await;
    for (name, task, reason) in [
        ("elb", &elb, format!("Task failed ELB health checks in (target-group {TG})")),
        ("check", &checked, "Task failed container health checks".to_owned()),
    ] {
        let t = client.describe_tasks().cluster("c").tasks(task.task_arn().unwrap()).send().await.unwrap().tasks()[0]
            .clone();
        assert_eq!(t.desired_status(), Some("STOPPED"), "{name}");
        assert_eq!(t.stopped_reason(), Some(reason.as_str()), "{name}");
        let started = t.started_at().unwrap().as_secs_f64();
        let stopping = t.stopping_at().unwrap().as_secs_f64();
        assert_eq!(stopping - started, 20.0, "{name}: replaced exactly when the grace period ends");
        let ev = events(&service(&client, "c", name).await);
        assert!(
            ev.iter().any(|e| e.contains("Amazon ECS replaced 1 tasks due to an unhealthy status.")),
            "{name}: {ev:?}"
        );
    }
}

#[tokio::test]
async fn the_circuit_breaker_trips_on_elb_failures_and_rolls_back() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let good = register_fargate(&client, "web").await;
    register_fargate_container(&client, "web", nginx_builder(None).image("nginx:broken").build()).await;
    add_rule(&endpoint, json!({ "image": "nginx:broken", "failTargetHealthCheck": true, "statusCode": 502 })).await;
    let breaker = DeploymentConfiguration::builder()
        .deployment_circuit_breaker(DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
        .build();
    create_service(&client, "web", "web:1", 2, None, breaker).await;
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(rollout(&s).as_deref(), Some("COMPLETED"));
    let completed = s.deployments()[0].id().unwrap().to_owned();

    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    let failing = service(&client, "c", "web").await.deployments()[0].id().unwrap().to_owned();
    // The new tasks reach RUNNING (stage 2) and fail ELB checks 3 s later:
    // 2 failures; threshold max(3, ceil(0.5 × 2)) = 3 needs one more round.
    advance(&emulator, 5.0).await;
    let s = service(&client, "c", "web").await;
    let new = s.deployments().iter().find(|d| d.id() == Some(failing.as_str())).unwrap();
    assert_eq!((new.failed_tasks(), new.rollout_state().map(|r| r.as_str())), (2, Some("IN_PROGRESS")));
    advance(&emulator, 40.0).await;
    let s = service(&client, "c", "web").await;
    let ev = events(&s);
    assert_eq!(s.deployments().len(), 1, "{:?} {ev:?}", s.deployments());
    assert_eq!(s.deployments()[0].id(), Some(completed.as_str()), "rolled back to the completed deployment");
    assert_eq!(s.task_definition(), Some(good.as_str()));
    assert_eq!(rollout(&s).as_deref(), Some("COMPLETED"));
    let failed_at = ev
        .iter()
        .position(|e| *e == format!("(service web) (deployment {failing}) deployment failed: tasks failed to start."))
        .unwrap_or_else(|| panic!("{ev:?}"));
    assert_eq!(ev[failed_at - 1], format!("(service web) rolling back to deployment {completed}."));
    let unhealthy = format!(
        "(service web) (port 80) is unhealthy in (target-group {TG}) due to (reason Health checks failed with these codes: [502])."
    );
    assert!(ev[failed_at..].contains(&unhealthy), "{ev:?}");
    // Only revision 2's tasks were stopped, each for failing ELB checks; the
    // old tasks kept serving behind healthy targets.
    let stopped = service_tasks(&client, "c", "web", "STOPPED").await;
    assert!(stopped.len() >= 3, "{}", stopped.len());
    assert!(stopped.iter().all(|t| t.task_definition_arn().unwrap().ends_with(":2")));
    let reason = format!("Task failed ELB health checks in (target-group {TG})");
    assert!(stopped.iter().all(|t| t.stopped_reason() == Some(reason.as_str())), "{stopped:?}");
    assert_eq!(states(&targets(&endpoint).await), ["healthy", "healthy"]);
}

#[tokio::test]
async fn load_balancers_must_name_a_container_port_of_the_task_definition() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    let create = |lb: LoadBalancer| {
        client
            .create_service()
            .cluster("c")
            .service_name("web")
            .task_definition("web")
            .desired_count(1)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc())
            .load_balancers(lb)
            .send()
    };
    assert_error(
        create(load_balancer("api", 80)).await,
        "InvalidParameterException",
        Some("The container api does not exist in the task definition."),
    );
    assert_error(
        create(load_balancer("web", 8080)).await,
        "InvalidParameterException",
        Some("The container web did not have a container port 8080 defined."),
    );
    create(load_balancer("web", 80)).await.expect("a container port of the definition is fine");
    assert_error(
        client.update_service().cluster("c").service("web").load_balancers(load_balancer("web", 81)).send().await,
        "InvalidParameterException",
        Some("The container web did not have a container port 81 defined."),
    );
    let s = service(&client, "c", "web").await;
    assert_eq!(s.load_balancers().len(), 1);
    assert_eq!(s.load_balancers()[0].target_group_arn(), Some(TG));
}

#[tokio::test]
async fn bridge_targets_use_the_host_port() {
    let config = EmulatorConfig { ec2_capacity: 1, ..EmulatorConfig::manual() };
    let (emulator, client) = start_with(config).await;
    let endpoint = emulator.endpoint();
    client.create_cluster().cluster_name("c").send().await.unwrap();
    // Container port 80 published on host port 8080.
    register_bridge(&client, "web").await;
    add_rule(&endpoint, json!({ "family": "web", "failTargetHealthCheckAfterSeconds": 10, "statusCode": 503 })).await;
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .load_balancers(load_balancer("web", 80))
        .send()
        .await
        .expect("create service");
    // Bridge tasks start in 1.5 s; healthy 3 s later, failing from 10 s
    // after RUNNING, unhealthy 3 s after that.
    advance(&emulator, 5.0).await;
    let healthy = targets(&endpoint).await;
    assert_eq!(states(&healthy), ["healthy"]);
    assert_eq!((healthy[0]["containerPort"].as_i64(), healthy[0]["port"].as_i64()), (Some(80), Some(8080)));
    assert_eq!(rollout(&service(&client, "c", "web").await).as_deref(), Some("COMPLETED"));
    advance(&emulator, 10.0).await;
    let ev = events(&service(&client, "c", "web").await);
    let unhealthy = format!(
        "(service web) (port 8080) is unhealthy in (target-group {TG}) due to (reason Health checks failed with these codes: [503])."
    );
    assert!(ev.contains(&unhealthy), "{ev:?}");
}

#[tokio::test]
async fn targets_survive_a_restart_with_a_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let (emulator, client) = start_with(config.clone()).await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    create_service(&client, "web", "web", 1, None, DeploymentConfiguration::builder().build()).await;
    advance(&emulator, 10.0).await;
    let before = targets(&emulator.endpoint()).await;
    assert_eq!(states(&before), ["healthy"]);
    emulator.shutdown().await.unwrap();

    // Same state directory, same manual clock.
    let (emulator, client) = start_with(config).await;
    assert_eq!(targets(&emulator.endpoint()).await, before);
    let task = before[0]["taskArn"].as_str().unwrap();
    client.stop_task().cluster("c").task(task).send().await.unwrap();
    advance(&emulator, 5.0).await;
    let ev = events(&service(&client, "c", "web").await);
    assert!(ev.contains(&format!("(service web) deregistered 1 targets in (target-group {TG})")), "{ev:?}");
}
