//! ECS's built-in blue/green, linear and canary deployments on a manual
//! clock: green at full size beside blue, lifecycle hooks (Lambda verdicts
//! through the admin endpoint, PAUSE hooks through
//! ContinueServiceDeployment), traffic shifting, bake time, clean-up; a hook
//! that rejects the deployment and the rollback to blue; StopServiceDeployment
//! rolling back a rolling deployment; the errors.

use aws_sdk_ecs::types::{
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookAction, DeploymentLifecycleHookStage,
    DeploymentLifecycleHookTargetType, DeploymentStrategy, LinearConfiguration, ServiceDeployment,
};
use serde_json::json;

use crate::cli::aws_ecs;
use crate::support::{
    admin, advance, assert_error, events, fargate_service, register_fargate, service, service_tasks, start,
};

const CHECK: &str = "arn:aws:lambda:us-east-1:000000000000:function:check";

fn lambda_hook(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .hook_target_arn(CHECK)
        .role_arn("arn:aws:iam::000000000000:role/ecs-hooks")
        .lifecycle_stages(stage)
        .build()
}

/// A fresh emulator with cluster `c`, two revisions of family `web` (blue,
/// green) and service `web` running 2 tasks of blue under `config`, its
/// first deployment completed.
async fn steady_service(
    config: DeploymentConfiguration,
) -> (ecs_bridge::emulator::RunningEmulator, aws_sdk_ecs::Client, String, String) {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let blue = register_fargate(&client, "web").await;
    let green = register_fargate(&client, "web").await;
    fargate_service(&client, "c", "web", &blue).desired_count(2).deployment_configuration(config).send().await.unwrap();
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(
        s.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("COMPLETED"),
        "a first deployment rolls out"
    );
    (emulator, client, blue, green)
}

/// The service's newest deployment, described.
async fn newest(client: &aws_sdk_ecs::Client) -> ServiceDeployment {
    let listed = client.list_service_deployments().cluster("c").service("web").send().await.unwrap();
    let arn = listed.service_deployments()[0].service_deployment_arn().unwrap().to_owned();
    client.describe_service_deployments().service_deployment_arns(arn).send().await.unwrap().service_deployments()[0]
        .clone()
}

fn stage(d: &ServiceDeployment) -> &str {
    d.lifecycle_stage().map_or("", |s| s.as_str())
}

/// The task definitions of the service's RUNNING-desired tasks.
async fn running_definitions(client: &aws_sdk_ecs::Client) -> Vec<String> {
    let mut tds: Vec<String> = service_tasks(client, "c", "web", "RUNNING")
        .await
        .iter()
        .map(|t| t.task_definition_arn().unwrap_or_default().to_owned())
        .collect();
    tds.sort();
    tds
}

#[tokio::test]
async fn blue_green_deployment_with_a_hook_and_bake_time_completes() {
    let config = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(5)
        .lifecycle_hooks(lambda_hook(DeploymentLifecycleHookStage::PostTestTrafficShift))
        .build();
    let (emulator, client, blue, green) = steady_service(config).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployment_configuration().unwrap().strategy(), Some(&DeploymentStrategy::BlueGreen));
    assert_eq!(s.deployment_configuration().unwrap().bake_time_in_minutes(), Some(5));

    client.update_service().cluster("c").service("web").task_definition(&green).send().await.unwrap();
    advance(&emulator, 30.0).await;
    // Green runs at full size beside blue, and waits for the hook.
    let s = service(&client, "c", "web").await;
    assert_eq!(s.running_count(), 4, "blue keeps its tasks while green scales up");
    let d = newest(&client).await;
    assert_eq!(d.status().map(|s| s.as_str()), Some("IN_PROGRESS"));
    assert_eq!(stage(&d), "POST_TEST_TRAFFIC_SHIFT");
    let hook = &d.lifecycle_hook_details()[0];
    assert_eq!(hook.target_arn(), Some(CHECK));
    assert_eq!(hook.status().map(|s| s.as_str()), Some("IN_PROGRESS"));
    let target = d.target_service_revision().unwrap();
    assert_eq!(target.requested_test_traffic_weight(), Some(100.0));
    assert_eq!(target.requested_production_traffic_weight(), Some(0.0));
    advance(&emulator, 600.0).await;
    assert_eq!(stage(&newest(&client).await), "POST_TEST_TRAFFIC_SHIFT", "no verdict, no progress");

    let endpoint = emulator.endpoint();
    let verdict = json!({ "cluster": "c", "service": "web", "hookStatus": "SUCCEEDED" });
    let (status, body) = admin(&endpoint, reqwest::Method::POST, "lifecycle-hooks", verdict.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hooks"][0]["status"], "SUCCEEDED");
    let (status, _) = admin(&endpoint, reqwest::Method::POST, "lifecycle-hooks", verdict).await;
    assert_eq!(status, 409, "no hook waits any more");

    // Production traffic moved at once; both revisions run through the bake.
    let d = newest(&client).await;
    assert_eq!(stage(&d), "BAKE_TIME");
    assert_eq!(d.target_service_revision().unwrap().requested_production_traffic_weight(), Some(100.0));
    assert_eq!(d.source_service_revisions()[0].requested_production_traffic_weight(), Some(0.0));
    advance(&emulator, 4.0 * 60.0).await;
    assert_eq!(stage(&newest(&client).await), "BAKE_TIME");
    let both = vec![blue.clone(), blue, green.clone(), green.clone()];
    assert_eq!(running_definitions(&client).await, both, "both revisions run through the bake");

    advance(&emulator, 70.0).await;
    let d = newest(&client).await;
    assert_eq!(stage(&d), "CLEAN_UP");
    assert_eq!(d.status().map(|s| s.as_str()), Some("SUCCESSFUL"), "{d:?}");
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.deployments().len()), (2, 1));
    assert_eq!(running_definitions(&client).await, vec![green.clone(), green]);
}

#[tokio::test]
async fn a_failed_lifecycle_hook_rolls_back_to_blue() {
    let config = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::BlueGreen)
        .bake_time_in_minutes(1)
        .lifecycle_hooks(lambda_hook(DeploymentLifecycleHookStage::PostScaleUp))
        .build();
    let (emulator, client, blue, green) = steady_service(config).await;
    client.update_service().cluster("c").service("web").task_definition(&green).send().await.unwrap();
    advance(&emulator, 30.0).await;
    let d = newest(&client).await;
    assert_eq!(stage(&d), "POST_SCALE_UP");
    let hook_id = d.lifecycle_hook_details()[0].hook_id().unwrap().to_owned();

    let (status, body) = admin(
        &emulator.endpoint(),
        reqwest::Method::POST,
        "lifecycle-hooks",
        json!({ "cluster": "c", "service": "web", "hookId": hook_id, "hookStatus": "FAILED" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let s = service(&client, "c", "web").await;
    assert_eq!(s.task_definition(), Some(blue.as_str()), "the service is back on blue");
    assert!(events(&s).iter().any(|e| e.ends_with("deployment failed: lifecycle hook failed.")), "{:?}", events(&s));
    let failed = newest(&client).await;
    assert_eq!(failed.status().map(|s| s.as_str()), Some("ROLLBACK_IN_PROGRESS"));
    assert_eq!(stage(&failed), "POST_SCALE_UP");
    assert_eq!(failed.lifecycle_hook_details()[0].status().map(|s| s.as_str()), Some("FAILED"));
    let rollback = failed.rollback().expect("a rollback");
    assert!(rollback.reason().unwrap().contains("returned FAILED at stage POST_SCALE_UP"), "{rollback:?}");

    advance(&emulator, 30.0).await;
    let failed = client
        .describe_service_deployments()
        .service_deployment_arns(failed.service_deployment_arn().unwrap())
        .send()
        .await
        .unwrap()
        .service_deployments()[0]
        .clone();
    assert_eq!(failed.status().map(|s| s.as_str()), Some("ROLLBACK_SUCCESSFUL"));
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.deployments().len()), (2, 1));
    assert_eq!(running_definitions(&client).await, vec![blue.clone(), blue]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linear_deployment_paused_by_a_hook_continues() {
    let pause = DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(DeploymentLifecycleHookStage::PreProductionTrafficShift)
        .build();
    let config = DeploymentConfiguration::builder()
        .strategy(DeploymentStrategy::Linear)
        .bake_time_in_minutes(0)
        .linear_configuration(LinearConfiguration::builder().step_percent(50.0).step_bake_time_in_minutes(2).build())
        .lifecycle_hooks(pause)
        .build();
    let (emulator, client, blue, green) = steady_service(config).await;
    client.update_service().cluster("c").service("web").task_definition(&green).send().await.unwrap();
    advance(&emulator, 30.0).await;
    let d = newest(&client).await;
    assert_eq!(stage(&d), "PRODUCTION_TRAFFIC_SHIFT");
    let hook = &d.lifecycle_hook_details()[0];
    assert_eq!(hook.status().map(|s| s.as_str()), Some("AWAITING_ACTION"));
    assert_eq!(hook.target_type().map(|t| t.as_str()), Some("PAUSE"));
    let hook_id = hook.hook_id().unwrap().to_owned();
    let arn = d.service_deployment_arn().unwrap().to_owned();
    let both = vec![blue.clone(), blue, green.clone(), green.clone()];
    assert_eq!(running_definitions(&client).await, both, "paused with both revisions at full size");

    assert_error(
        client.continue_service_deployment().service_deployment_arn(&arn).hook_id("nope").send().await,
        "InvalidParameterException",
        Some("The lifecycle hook nope is not awaiting action."),
    );
    let endpoint = emulator.endpoint();
    let args = [
        "continue-service-deployment".to_owned(),
        "--service-deployment-arn".into(),
        arn.clone(),
        "--hook-id".into(),
        hook_id,
        "--action".into(),
        DeploymentLifecycleHookAction::Continue.as_str().into(),
    ];
    let out =
        tokio::task::spawn_blocking(move || aws_ecs(&endpoint, &args.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap()
            .expect("continue-service-deployment");
    assert_eq!(out["serviceDeploymentArn"], arn.as_str());

    // Half the traffic now, the rest after one step bake.
    let d = newest(&client).await;
    assert_eq!(stage(&d), "PRODUCTION_TRAFFIC_SHIFT");
    assert_eq!(d.target_service_revision().unwrap().requested_production_traffic_weight(), Some(50.0));
    advance(&emulator, 119.0).await;
    assert_eq!(
        newest(&client).await.target_service_revision().unwrap().requested_production_traffic_weight(),
        Some(50.0)
    );
    advance(&emulator, 1.0).await;
    let d = newest(&client).await;
    assert_eq!(d.target_service_revision().unwrap().requested_production_traffic_weight(), Some(100.0));
    advance(&emulator, 30.0).await;
    let d = newest(&client).await;
    assert_eq!(d.status().map(|s| s.as_str()), Some("SUCCESSFUL"));
    assert_eq!(running_definitions(&client).await, vec![green.clone(), green]);
}

#[tokio::test]
async fn stop_service_deployment_rolls_back_a_rolling_deployment() {
    let (emulator, client, v1, v2) = steady_service(DeploymentConfiguration::builder().build()).await;
    let first = newest(&client).await.service_deployment_arn().unwrap().to_owned();
    client.update_service().cluster("c").service("web").task_definition(&v2).send().await.unwrap();
    // v2's tasks run but are not healthy yet: v1's stay (minimumHealthyPercent 100).
    advance(&emulator, 4.0).await;
    let arn = newest(&client).await.service_deployment_arn().unwrap().to_owned();
    assert_ne!(arn, first);

    assert_error(
        client.stop_service_deployment().service_deployment_arn(&first).send().await,
        "ConflictException",
        Some("The service deployment is not in progress and cannot be stopped."),
    );
    assert_error(
        client.stop_service_deployment().service_deployment_arn(arn.replace("/web/", "/nope/")).send().await,
        "ServiceDeploymentNotFoundException",
        Some("The service deployment does not exist."),
    );
    assert_error(
        client
            .stop_service_deployment()
            .service_deployment_arn(&arn)
            .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Abort)
            .send()
            .await,
        "InvalidParameterException",
        Some("Invalid stopType ABORT: the valid value is ROLLBACK."),
    );
    let stopped = client.stop_service_deployment().service_deployment_arn(&arn).send().await.unwrap();
    assert_eq!(stopped.service_deployment_arn(), Some(arn.as_str()));
    let s = service(&client, "c", "web").await;
    assert_eq!(s.task_definition(), Some(v1.as_str()));
    let d = newest(&client).await;
    assert_eq!(d.status().map(|s| s.as_str()), Some("ROLLBACK_IN_PROGRESS"));
    assert_eq!(d.status_reason(), Some("Service deployment stopped by StopServiceDeployment."));
    assert!(d.lifecycle_stage().is_none(), "a rolling deployment has no lifecycle stage");
    assert_error(client.stop_service_deployment().service_deployment_arn(&arn).send().await, "ConflictException", None);

    advance(&emulator, 30.0).await;
    let d =
        client.describe_service_deployments().service_deployment_arns(&arn).send().await.unwrap().service_deployments()
            [0]
        .clone();
    assert_eq!(d.status().map(|s| s.as_str()), Some("ROLLBACK_SUCCESSFUL"));
    assert_eq!(running_definitions(&client).await, vec![v1.clone(), v1]);
}

#[tokio::test]
async fn blue_green_configuration_errors() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let td = register_fargate(&client, "web").await;
    let create = |config: DeploymentConfiguration| {
        fargate_service(&client, "c", "web", &td).desired_count(1).deployment_configuration(config).send()
    };
    assert_error(
        create(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(1441)
                .build(),
        )
        .await,
        "InvalidParameterException",
        Some("bakeTimeInMinutes must be between 0 and 1440."),
    );
    assert_error(
        create(
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::Linear)
                .linear_configuration(LinearConfiguration::builder().step_percent(1.0).build())
                .build(),
        )
        .await,
        "InvalidParameterException",
        None,
    );
    let no_arn = DeploymentLifecycleHook::builder().lifecycle_stages(DeploymentLifecycleHookStage::PreScaleUp).build();
    assert_error(
        create(
            DeploymentConfiguration::builder().strategy(DeploymentStrategy::BlueGreen).lifecycle_hooks(no_arn).build(),
        )
        .await,
        "InvalidParameterException",
        Some("hookTargetArn is required for an AWS_LAMBDA lifecycle hook."),
    );
}
