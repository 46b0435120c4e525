//! Deployment alarms on a manual clock: `deploymentConfiguration.alarms`
//! echoed by DescribeServices, `POST /_emulator/alarms` standing in for
//! CloudWatch, an alarm in ALARM failing a deployment in progress (with and
//! without rollback), and no effect when disabled or OK; the alarms' status
//! in DescribeServiceDeployments.

use aws_sdk_ecs::types::{DeploymentAlarms, DeploymentConfiguration, ServiceDeployment, ServiceDeploymentStatus};
use reqwest::Method;
use serde_json::json;

use crate::circuit_breaker::create_service;
use crate::support::{admin, advance, assert_error, events, register_fargate, service, service_tasks, start};

fn watching(names: &[&str], enable: bool, rollback: bool) -> DeploymentConfiguration {
    let mut alarms = DeploymentAlarms::builder().enable(enable).rollback(rollback);
    for name in names {
        alarms = alarms.alarm_names(*name);
    }
    DeploymentConfiguration::builder().alarms(alarms.build().unwrap()).build()
}

async fn set_alarm(endpoint: &str, name: &str, state: &str) -> serde_json::Value {
    let (status, body) = admin(endpoint, Method::POST, "alarms", json!({ "alarmName": name, "state": state })).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn describe_deployment(client: &aws_sdk_ecs::Client, arn: &str) -> ServiceDeployment {
    client.describe_service_deployments().service_deployment_arns(arn).send().await.unwrap().service_deployments()[0]
        .clone()
}

fn alarm_status(d: &ServiceDeployment) -> &str {
    d.alarms().and_then(|a| a.status()).map(|s| s.as_str()).unwrap_or("-")
}

/// A service `web` on revision 1 (2 tasks, completed), then UpdateService to
/// revision 2; returns the completed and the new deployment ids.
async fn roll_out_revision_2(
    emulator: &ecs_bridge::emulator::RunningEmulator,
    client: &aws_sdk_ecs::Client,
    config: DeploymentConfiguration,
) -> (String, String) {
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(client, "web").await;
    register_fargate(client, "web").await;
    create_service(client, "web:1", 2, config).await;
    advance(emulator, 10.0).await;
    let s = service(client, "c", "web").await;
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    let completed = s.deployments()[0].id().unwrap().to_owned();
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    let new = service(client, "c", "web").await.deployments()[0].id().unwrap().to_owned();
    assert_ne!(new, completed);
    (completed, new)
}

#[tokio::test]
async fn an_alarm_in_alarm_fails_the_deployment_and_rolls_back() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    let (completed, failing) =
        roll_out_revision_2(&emulator, &client, watching(&["high-5xx", "latency"], true, true)).await;
    let s = service(&client, "c", "web").await;
    let alarms = s.deployment_configuration().unwrap().alarms().expect("alarms echoed");
    assert_eq!(alarms.alarm_names(), ["high-5xx", "latency"]);
    assert!(alarms.enable() && alarms.rollback());
    let failing_arn = s.current_service_deployment().unwrap().to_owned();
    // Its tasks RUNNING (at 2 s), not yet healthy: the old ones still serve.
    advance(&emulator, 2.5).await;
    assert_eq!(service(&client, "c", "web").await.deployments()[0].running_count(), 2);
    let d = describe_deployment(&client, &failing_arn).await;
    assert_eq!(alarm_status(&d), "MONITORING");
    assert!(d.alarms().unwrap().triggered_alarm_names().is_empty());

    let answer = set_alarm(&endpoint, "high-5xx", "ALARM").await;
    assert_eq!(answer["servicesChecked"], 1);
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 2, "{:#?}", s.deployments());
    let (back, failed) = (&s.deployments()[0], &s.deployments()[1]);
    assert_eq!((back.id(), back.status()), (Some(completed.as_str()), Some("PRIMARY")));
    assert_eq!(back.rollout_state().map(|r| r.as_str()), Some("IN_PROGRESS"));
    assert_eq!(
        back.rollout_state_reason(),
        Some(format!("ECS deployment alarms: rolling back to deploymentId {completed}.").as_str())
    );
    assert_eq!((failed.id(), failed.status()), (Some(failing.as_str()), Some("ACTIVE")));
    assert_eq!(failed.rollout_state().map(|r| r.as_str()), Some("FAILED"));
    assert_eq!(failed.rollout_state_reason(), Some("ECS deployment alarms: alarm detected (high-5xx)."));
    assert_eq!(failed.failed_tasks(), 0, "an alarm is not a task failure");
    let ev = events(&s);
    let failed_at = ev
        .iter()
        .position(|e| *e == format!("(service web) (deployment {failing}) deployment failed: alarm detected."))
        .unwrap_or_else(|| panic!("no failure event: {ev:?}"));
    assert_eq!(ev[failed_at - 1], format!("(service web) rolling back to deployment {completed}."), "{ev:?}");

    // The alarm stays in ALARM; the rollback is not failed by it.
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1, "{:#?}", s.deployments());
    assert_eq!(s.deployments()[0].id(), Some(completed.as_str()));
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert!(s.task_definition().unwrap().ends_with(":1"), "back on revision 1");
    assert_eq!(s.running_count(), 2);
    assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
    assert!(
        service_tasks(&client, "c", "web", "RUNNING")
            .await
            .iter()
            .all(|t| t.task_definition_arn().unwrap().ends_with(":1"))
    );

    let listed = client.list_service_deployments().cluster("c").service("web").send().await.unwrap();
    let brief =
        listed.service_deployments().iter().find(|b| b.service_deployment_arn() == Some(failing_arn.as_str())).unwrap();
    assert_eq!(brief.status(), Some(&ServiceDeploymentStatus::RollbackSuccessful));
    assert_eq!(brief.status_reason(), Some("ECS deployment alarms: alarm detected (high-5xx)."));
    let d = describe_deployment(&client, &failing_arn).await;
    let a = d.alarms().unwrap();
    assert_eq!(alarm_status(&d), "TRIGGERED");
    assert_eq!(a.alarm_names(), ["high-5xx", "latency"]);
    assert_eq!(a.triggered_alarm_names(), ["high-5xx"]);
    assert_eq!(d.deployment_circuit_breaker().unwrap().status().map(|s| s.as_str()), Some("DISABLED"));
    assert_eq!(d.rollback().unwrap().reason(), Some("ECS deployment alarms: alarm detected (high-5xx)."));
    let back = describe_deployment(&client, s.current_service_deployment().unwrap()).await;
    assert_eq!(alarm_status(&back), "MONITORING_COMPLETE");

    let (_, listed) = admin(&endpoint, Method::GET, "alarms", json!({})).await;
    assert_eq!(listed["alarms"], json!([{ "alarmName": "high-5xx", "state": "ALARM" }]));
}

#[tokio::test]
async fn without_rollback_an_alarm_already_in_alarm_fails_the_deployment_and_old_tasks_keep_serving() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    let answer = set_alarm(&endpoint, "high-5xx", "ALARM").await;
    assert_eq!(answer["servicesChecked"], 0);
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    register_fargate(&client, "web").await;
    // Watching from the start: the first deployment fails at once and has
    // nothing to roll back to.
    create_service(&client, "web:1", 2, watching(&["high-5xx"], true, false)).await;
    let s = service(&client, "c", "web").await;
    let first = &s.deployments()[0];
    assert_eq!(first.rollout_state().map(|r| r.as_str()), Some("FAILED"));
    assert_eq!(
        events(&s)[0],
        format!("(service web) (deployment {}) deployment failed: alarm detected.", first.id().unwrap())
    );
    advance(&emulator, 30.0).await;
    assert!(service_tasks(&client, "c", "web", "RUNNING").await.is_empty(), "a FAILED deployment launches nothing");

    // Once the alarm is OK, a new deployment completes; then one that meets
    // the alarm fails and stays PRIMARY while the old tasks keep serving.
    set_alarm(&endpoint, "high-5xx", "OK").await;
    client.update_service().cluster("c").service("web").force_new_deployment(true).send().await.unwrap();
    advance(&emulator, 30.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"), "{:?}", events(&s));
    set_alarm(&endpoint, "high-5xx", "ALARM").await;
    client.update_service().cluster("c").service("web").task_definition("web:2").send().await.unwrap();
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 2, "{:#?}", s.deployments());
    let (primary, old) = (&s.deployments()[0], &s.deployments()[1]);
    assert_eq!((primary.status(), primary.rollout_state().map(|r| r.as_str())), (Some("PRIMARY"), Some("FAILED")));
    assert_eq!((old.status(), old.running_count()), (Some("ACTIVE"), 2));
    assert!(!events(&s).iter().any(|e| e.contains("rolling back")));
    let running = service_tasks(&client, "c", "web", "RUNNING").await;
    assert!(running.iter().all(|t| t.task_definition_arn().unwrap().ends_with(":1")), "no revision-2 task started");
    let d = describe_deployment(&client, s.current_service_deployment().unwrap()).await;
    assert_eq!(d.status(), Some(&ServiceDeploymentStatus::Stopped));
    assert_eq!(alarm_status(&d), "TRIGGERED");
}

#[tokio::test]
async fn disabled_alarms_and_alarms_in_ok_let_the_deployment_complete() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    set_alarm(&endpoint, "high-5xx", "ALARM").await;
    set_alarm(&endpoint, "latency", "OK").await;
    let (_, new) = roll_out_revision_2(&emulator, &client, watching(&["high-5xx"], false, true)).await;
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.deployments()[0].id(), Some(new.as_str()));
    assert_eq!(
        s.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("COMPLETED"),
        "disabled alarms have no effect"
    );
    let d = describe_deployment(&client, s.current_service_deployment().unwrap()).await;
    assert_eq!(alarm_status(&d), "DISABLED");
    assert_eq!(d.status(), Some(&ServiceDeploymentStatus::Successful));

    // Enabled, watching alarms in OK (or never set): the rollout completes.
    client
        .update_service()
        .cluster("c")
        .service("web")
        .deployment_configuration(watching(&["latency", "never-set"], true, true))
        .force_new_deployment(true)
        .send()
        .await
        .unwrap();
    let arn = service(&client, "c", "web").await.current_service_deployment().unwrap().to_owned();
    advance(&emulator, 1.0).await;
    assert_eq!(alarm_status(&describe_deployment(&client, &arn).await), "MONITORING");
    let answer = set_alarm(&endpoint, "unwatched", "ALARM").await;
    assert_eq!(answer["servicesChecked"], 0, "nobody watches it");
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert!(!events(&s).iter().any(|e| e.contains("alarm detected")), "{:?}", events(&s));
    let d = describe_deployment(&client, &arn).await;
    assert_eq!(alarm_status(&d), "MONITORING_COMPLETE");
    assert!(d.alarms().unwrap().triggered_alarm_names().is_empty());

    // Enabled alarms need a name; the admin endpoint checks its input.
    let empty = DeploymentConfiguration::builder()
        .alarms(
            DeploymentAlarms::builder().set_alarm_names(Some(Vec::new())).enable(true).rollback(false).build().unwrap(),
        )
        .build();
    assert_error(
        client.update_service().cluster("c").service("web").deployment_configuration(empty).send().await,
        "InvalidParameterException",
        None,
    );
    let (status, _) = admin(&endpoint, Method::POST, "alarms", json!({ "alarmName": "x", "state": "RED" })).await;
    assert_eq!(status, 400);
    let (status, _) = admin(&endpoint, Method::POST, "alarms", json!({ "state": "OK" })).await;
    assert_eq!(status, 400);
}
