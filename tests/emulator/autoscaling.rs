//! Application Auto Scaling on the emulator's port, driven with
//! `aws-sdk-applicationautoscaling` and the AWS CLI on a manual clock:
//! scalable targets, target tracking moving a service's desired count with
//! the load `POST /_emulator/metrics` sets, cooldowns, DisableScaleIn,
//! suspended scaling, scheduled actions, step scaling, activities, error
//! shapes and `--state-dir`.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTargetAction,
    ServiceNamespace, StepAdjustment, StepScalingPolicyConfiguration, SuspendedState,
    TargetTrackingScalingPolicyConfiguration,
};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, spawn};
use serde_json::{Value, json};

use crate::cli::aws;
use crate::support::{
    admin, advance, assert_error, autoscaling_client, client, fargate_service, raw, register_fargate, service, start,
    start_with,
};

const RID: &str = "service/demo/web";

/// A `demo` cluster with a RUNNING Fargate service `web` of `desired` tasks.
async fn web_service(emulator: &RunningEmulator, ecs: &aws_sdk_ecs::Client, desired: i32) {
    ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    register_fargate(ecs, "web").await;
    fargate_service(ecs, "demo", "web", "web").desired_count(desired).send().await.unwrap();
    advance(emulator, 5.0).await;
}

async fn desired(ecs: &aws_sdk_ecs::Client) -> i32 {
    service(ecs, "demo", "web").await.desired_count()
}

async fn register(aas: &Client, min: i32, max: i32) -> String {
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .min_capacity(min)
        .max_capacity(max)
        .send()
        .await
        .expect("register scalable target")
        .scalable_target_arn()
        .expect("arn")
        .to_owned()
}

fn cpu_tracking(target: f64, out_cooldown: i32, in_cooldown: i32) -> TargetTrackingScalingPolicyConfiguration {
    TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                .build()
                .unwrap(),
        )
        .scale_out_cooldown(out_cooldown)
        .scale_in_cooldown(in_cooldown)
        .build()
        .unwrap()
}

async fn put_tracking(
    aas: &Client,
    name: &str,
    config: TargetTrackingScalingPolicyConfiguration,
) -> aws_sdk_applicationautoscaling::operation::put_scaling_policy::PutScalingPolicyOutput {
    aas.put_scaling_policy()
        .policy_name(name)
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(config)
        .send()
        .await
        .expect("put target tracking policy")
}

async fn load(emulator: &RunningEmulator, body: Value) -> Value {
    let (status, answer) = admin(&emulator.endpoint(), reqwest::Method::POST, "metrics", body).await;
    assert_eq!(status, 200, "set load: {answer}");
    answer
}

/// (Description, Cause, StatusCode), newest first.
async fn activities(aas: &Client) -> Vec<(String, String, String)> {
    aas.describe_scaling_activities()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(RID)
        .send()
        .await
        .unwrap()
        .scaling_activities()
        .iter()
        .map(|a| (a.description().to_owned(), a.cause().to_owned(), a.status_code().as_str().to_owned()))
        .collect()
}

#[tokio::test]
async fn target_tracking_scales_out_when_the_load_rises_and_in_after_fifteen_quiet_minutes() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    register(&aas, 1, 10).await;
    let put = put_tracking(&aas, "cpu-tt", cpu_tracking(50.0, 60, 120)).await;
    assert!(put.policy_arn().contains(":scalingPolicy:"), "{}", put.policy_arn());
    assert!(put.policy_arn().ends_with(":resource/ecs/service/demo/web:policyName/cpu-tt"), "{}", put.policy_arn());
    let alarms: Vec<&str> = put.alarms().iter().map(|a| a.alarm_name()).collect();
    assert_eq!(alarms.len(), 2);
    assert!(alarms[0].starts_with("TargetTracking-service/demo/web-AlarmHigh-"), "{alarms:?}");
    assert!(alarms[1].starts_with("TargetTracking-service/demo/web-AlarmLow-"), "{alarms:?}");
    assert!(put.alarms()[0].alarm_arn().starts_with("arn:aws:cloudwatch:us-east-1:000000000000:alarm:"));

    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 90 })).await;
    // One datapoint a minute; AlarmHigh needs three above the target.
    advance(&emulator, 150.0).await;
    assert_eq!(desired(&ecs).await, 2, "two datapoints are not enough");
    advance(&emulator, 30.0).await;
    assert_eq!(desired(&ecs).await, 4, "ceil(2 × 90 / 50)");
    let seen = activities(&aas).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "Setting desired count to 4.");
    assert_eq!(seen[0].1, format!("monitor alarm {} in state ALARM triggered policy cpu-tt", alarms[0]));
    assert_eq!(seen[0].2, "Successful");
    // The deployment follows, as it does for UpdateService.
    let svc = service(&ecs, "demo", "web").await;
    assert_eq!(svc.deployments()[0].desired_count(), 4);
    advance(&emulator, 5.0).await;
    assert_eq!(service(&ecs, "demo", "web").await.running_count(), 4);

    // The load falls: AlarmLow needs 15 datapoints below 90 % of the target.
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 20 })).await;
    advance(&emulator, 14.0 * 60.0).await;
    assert_eq!(desired(&ecs).await, 4, "fourteen quiet minutes are not enough");
    advance(&emulator, 60.0).await;
    assert_eq!(desired(&ecs).await, 2, "ceil(4 × 20 / 50)");
    let seen = activities(&aas).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "Setting desired count to 2.");
    assert_eq!(seen[0].1, format!("monitor alarm {} in state ALARM triggered policy cpu-tt", alarms[1]));
    let full = aas.describe_scaling_activities().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    let newest = &full.scaling_activities()[0];
    assert_eq!(
        newest.status_message(),
        Some("Successfully set desired count to 2. Change successfully fulfilled by ecs.")
    );
    assert!(newest.end_time().is_some() && newest.activity_id().len() == 36);
    // A scale-in then waits its cooldown (120 s) while the load stays low.
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 5 })).await;
    advance(&emulator, 60.0).await;
    assert_eq!(desired(&ecs).await, 2, "cooling down");
    advance(&emulator, 60.0).await;
    assert_eq!(desired(&ecs).await, 1, "ceil(2 × 5 / 50), after the cooldown");
}

#[tokio::test]
async fn scale_out_waits_its_cooldown_and_stops_at_max_capacity() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    register(&aas, 1, 10).await;
    put_tracking(&aas, "cpu-tt", cpu_tracking(50.0, 300, 300)).await;
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 90 })).await;
    advance(&emulator, 180.0).await;
    assert_eq!(desired(&ecs).await, 4);
    advance(&emulator, 290.0).await;
    assert_eq!(desired(&ecs).await, 4, "inside ScaleOutCooldown");
    advance(&emulator, 20.0).await;
    assert_eq!(desired(&ecs).await, 8, "ceil(4 × 1.8) once the cooldown is over");
    advance(&emulator, 300.0).await;
    assert_eq!(desired(&ecs).await, 10, "clamped to MaxCapacity");
    advance(&emulator, 600.0).await;
    assert_eq!(desired(&ecs).await, 10);
    assert_eq!(activities(&aas).await.len(), 3);
}

#[tokio::test]
async fn disable_scale_in_keeps_the_count_and_a_curve_drives_the_load() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 3).await;
    register(&aas, 1, 10).await;
    let config = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(50.0)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::EcsServiceAverageMemoryUtilization)
                .build()
                .unwrap(),
        )
        .disable_scale_in(true)
        .build()
        .unwrap();
    put_tracking(&aas, "mem-tt", config).await;
    // Low for 20 minutes, then high.
    let answer = load(
        &emulator,
        json!({ "cluster": "demo", "service": "web", "curve": [{ "at": 0, "memory": 10 }, { "at": 1200, "memory": 80 }] }),
    )
    .await;
    assert_eq!(answer["loads"][0]["metric"], "memory");
    assert_eq!(answer["loads"][0]["value"], 10.0);
    advance(&emulator, 1200.0).await;
    assert_eq!(desired(&ecs).await, 3, "DisableScaleIn: a low load never scales in");
    assert!(activities(&aas).await.is_empty());
    advance(&emulator, 180.0).await;
    assert_eq!(desired(&ecs).await, 5, "ceil(3 × 80 / 50) when the curve rises");
    let (_, body) = admin(&emulator.endpoint(), reqwest::Method::GET, "metrics", json!({})).await;
    assert_eq!(body["loads"][0]["value"], 80.0);
}

#[tokio::test]
async fn suspended_dynamic_scaling_does_not_act_until_resumed() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    let suspend = |out: bool| {
        aas.register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(RID)
            .min_capacity(1)
            .max_capacity(10)
            .suspended_state(SuspendedState::builder().dynamic_scaling_out_suspended(out).build())
            .send()
    };
    suspend(true).await.unwrap();
    put_tracking(&aas, "cpu-tt", cpu_tracking(50.0, 60, 60)).await;
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 90 })).await;
    advance(&emulator, 600.0).await;
    assert_eq!(desired(&ecs).await, 2, "scale-out suspended");
    let targets = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    let state = targets.scalable_targets()[0].suspended_state().unwrap();
    assert_eq!(state.dynamic_scaling_out_suspended(), Some(true));
    assert_eq!(state.dynamic_scaling_in_suspended(), Some(false));
    // Re-registering updates the target in place.
    suspend(false).await.unwrap();
    advance(&emulator, 60.0).await;
    assert_eq!(desired(&ecs).await, 4, "resumed: the alarm still in ALARM scales out at the next datapoint");
}

#[tokio::test]
async fn registering_clamps_the_desired_count_at_once() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    let arn = register(&aas, 3, 10).await;
    assert!(arn.starts_with("arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/"), "{arn}");
    assert_eq!(desired(&ecs).await, 3, "raised to MinCapacity");
    register(&aas, 1, 2).await;
    assert_eq!(desired(&ecs).await, 2, "lowered to MaxCapacity");
    let seen = activities(&aas).await;
    assert_eq!(seen[0].0, "Setting desired count to 2.");
    assert_eq!(seen[0].1, "maximum capacity was set to 2");
    assert_eq!(seen[1].0, "Setting desired count to 3.");
    assert_eq!(seen[1].1, "minimum capacity was set to 3");
    let targets = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    let t = &targets.scalable_targets()[0];
    assert_eq!((t.min_capacity(), t.max_capacity(), t.resource_id()), (1, 2, RID));
    assert!(t.role_arn().ends_with("AWSServiceRoleForApplicationAutoScaling_ECSService"), "{}", t.role_arn());
}

#[tokio::test]
async fn a_scheduled_action_sets_min_and_max_at_its_time() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    register(&aas, 1, 10).await;
    let now = emulator.store().clock.now_millis();
    let at = jiff::Timestamp::from_millisecond(now + 10 * 60_000).unwrap().strftime("%Y-%m-%dT%H:%M:%S").to_string();
    aas.put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .scheduled_action_name("morning")
        .schedule(format!("at({at})"))
        .scalable_target_action(ScalableTargetAction::builder().min_capacity(5).max_capacity(8).build())
        .send()
        .await
        .unwrap();
    // A recurring one in a time zone, described as put.
    aas.put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .scheduled_action_name("nightly")
        .schedule("cron(0 22 ? * MON-FRI *)")
        .timezone("Europe/Paris")
        .start_time(aws_sdk_applicationautoscaling::primitives::DateTime::from_millis(now + 2 * 86_400_000))
        .scalable_target_action(ScalableTargetAction::builder().max_capacity(6).build())
        .send()
        .await
        .unwrap();
    let described = aas.describe_scheduled_actions().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    let names: Vec<&str> = described.scheduled_actions().iter().map(|a| a.scheduled_action_name()).collect();
    assert_eq!(names, ["morning", "nightly"]);
    let nightly = &described.scheduled_actions()[1];
    assert_eq!(nightly.timezone(), Some("Europe/Paris"));
    assert_eq!(nightly.scalable_target_action().unwrap().max_capacity(), Some(6));
    assert!(nightly.scheduled_action_arn().contains(":scheduledAction:"));

    advance(&emulator, 9.0 * 60.0).await;
    assert_eq!(desired(&ecs).await, 2);
    advance(&emulator, 60.0).await;
    assert_eq!(desired(&ecs).await, 5, "raised to the new MinCapacity at its time");
    let seen = activities(&aas).await;
    assert_eq!(seen[0].0, "Setting desired count to 5.");
    assert_eq!(seen[1].0, "Setting min capacity to 5 and max capacity to 8");
    assert_eq!(seen[1].1, "scheduled action name morning was triggered");
    let t = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    assert_eq!((t.scalable_targets()[0].min_capacity(), t.scalable_targets()[0].max_capacity()), (5, 8));

    aas.delete_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .scheduled_action_name("nightly")
        .send()
        .await
        .unwrap();
    let left = aas.describe_scheduled_actions().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    assert_eq!(left.scheduled_actions().len(), 1);
}

#[tokio::test]
async fn step_scaling_applies_the_step_holding_the_breach() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    register(&aas, 1, 10).await;
    let step = |lower: f64, upper: Option<f64>, n: i32| {
        StepAdjustment::builder()
            .metric_interval_lower_bound(lower)
            .set_metric_interval_upper_bound(upper)
            .scaling_adjustment(n)
            .build()
            .unwrap()
    };
    let put = aas
        .put_scaling_policy()
        .policy_name("step-out")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .policy_type(PolicyType::StepScaling)
        .step_scaling_policy_configuration(
            StepScalingPolicyConfiguration::builder()
                .adjustment_type(AdjustmentType::ChangeInCapacity)
                .step_adjustments(step(0.0, Some(10.0), 1))
                .step_adjustments(step(10.0, None, 3))
                .cooldown(60)
                .metric_aggregation_type(aws_sdk_applicationautoscaling::types::MetricAggregationType::Average)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(put.alarms().is_empty(), "step scaling's alarms are the user's own");
    let endpoint = emulator.endpoint();
    let fire = |breach: f64| {
        admin(
            &endpoint,
            reqwest::Method::POST,
            "autoscaling/alarm",
            json!({ "resourceId": RID, "policyName": "step-out", "breach": breach, "alarmName": "cpu-high" }),
        )
    };
    let (status, answer) = fire(15.0).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["desiredCount"], 5);
    assert_eq!(desired(&ecs).await, 5);
    let (_, answer) = fire(5.0).await;
    assert_eq!(answer["reason"], "the policy's cooldown is in effect");
    advance(&emulator, 61.0).await;
    let (_, answer) = fire(5.0).await;
    assert_eq!(answer["desiredCount"], 6);
    let seen = activities(&aas).await;
    assert_eq!(seen[0].1, "monitor alarm cpu-high in state ALARM triggered policy step-out");
    let policies = aas.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    let config = policies.scaling_policies()[0].step_scaling_policy_configuration().unwrap();
    assert_eq!(config.step_adjustments().len(), 2);
    assert_eq!(config.cooldown(), Some(60));
}

#[tokio::test]
async fn deregistering_removes_the_policies_and_scheduled_actions() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    register(&aas, 1, 10).await;
    put_tracking(&aas, "cpu-tt", cpu_tracking(50.0, 60, 60)).await;
    let deregister = || {
        aas.deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .resource_id(RID)
            .send()
    };
    deregister().await.unwrap();
    assert_error(
        deregister().await,
        "ObjectNotFoundException",
        Some(
            "No scalable target registered for service namespace: ecs, resource ID: service/demo/web, scalable dimension: ecs:service:DesiredCount",
        ),
    );
    register(&aas, 1, 10).await;
    let policies = aas.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    assert!(policies.scaling_policies().is_empty(), "the policy went with its target");
    // Another namespace is valid and holds nothing here.
    let other = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Dynamodb).send().await.unwrap();
    assert!(other.scalable_targets().is_empty());
}

#[tokio::test]
async fn pages_and_tags() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 1).await;
    fargate_service(&ecs, "demo", "api", "web").desired_count(1).send().await.unwrap();
    let arn = register(&aas, 1, 10).await;
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/demo/api")
        .min_capacity(1)
        .max_capacity(3)
        .tags("team", "blue")
        .send()
        .await
        .unwrap();
    let first =
        aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).max_results(1).send().await.unwrap();
    assert_eq!(first.scalable_targets()[0].resource_id(), "service/demo/api");
    let token = first.next_token().expect("a next page").to_owned();
    let second = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .max_results(1)
        .next_token(token)
        .send()
        .await
        .unwrap();
    assert_eq!(second.scalable_targets()[0].resource_id(), RID);
    assert_eq!(second.next_token(), None);

    aas.tag_resource().resource_arn(&arn).tags("env", "dev").tags("owner", "me").send().await.unwrap();
    aas.untag_resource().resource_arn(&arn).tag_keys("owner").send().await.unwrap();
    let tags = aas.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().get("env").map(String::as_str), Some("dev"));
    assert_eq!(tags.tags().unwrap().len(), 1);
    let unknown =
        "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/0ecffffffffffffffffffffffffffff";
    assert_error(aas.list_tags_for_resource().resource_arn(unknown).send().await, "ResourceNotFoundException", None);
}

#[tokio::test]
async fn bad_input_gets_the_services_error_shapes() {
    let (emulator, ecs) = start().await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 1).await;
    let result = aas
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id("service/demo/nope")
        .min_capacity(1)
        .max_capacity(2)
        .send()
        .await;
    assert_error(result, "ValidationException", Some("ECS service doesn't exist: service/demo/nope"));
    let result = aas
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .min_capacity(5)
        .max_capacity(2)
        .send()
        .await;
    assert_error(result, "ValidationException", Some("Maximum capacity cannot be less than minimum capacity"));
    let result = aas
        .put_scaling_policy()
        .policy_name("p")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(cpu_tracking(50.0, 60, 60))
        .send()
        .await;
    assert_error(result, "ObjectNotFoundException", None);
    register(&aas, 1, 10).await;
    let result = aas
        .delete_scaling_policy()
        .policy_name("nope")
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .send()
        .await;
    assert_error(
        result,
        "ObjectNotFoundException",
        Some(
            "No scaling policy found for service namespace: ecs, resource ID: service/demo/web, scalable dimension: ecs:service:DesiredCount, policy name: nope",
        ),
    );
    let result = aas
        .put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .scheduled_action_name("s")
        .schedule("cron(0 12 * * * *)")
        .scalable_target_action(ScalableTargetAction::builder().min_capacity(1).build())
        .send()
        .await;
    assert_error(result, "ValidationException", None);
    let result = aas
        .put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .scheduled_action_name("s")
        .schedule("rate(5 minutes)")
        .send()
        .await;
    assert_error(
        result,
        "ValidationException",
        Some("At least one of minimum capacity and maximum capacity should be provided"),
    );
    let result = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).next_token("zz").send().await;
    assert_error(result, "InvalidNextTokenException", None);

    // On the wire: `__type` and `Message`, as the service's model has them.
    let endpoint = emulator.endpoint();
    let target = |op: &str| format!("AnyScaleFrontendService.{op}");
    let (status, body) = raw(&endpoint, Some(&target("RegisterScalableTarget")), r#"{"ServiceNamespace":"ecs"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "ValidationException");
    assert_eq!(
        body["Message"],
        "1 validation error detected: Value null at 'resourceId' failed to satisfy constraint: Member must not be null"
    );
    let (_, body) = raw(&endpoint, Some(&target("DescribeScalableTargets")), r#"{"ServiceNamespace":"moon"}"#).await;
    assert_eq!(body["__type"], "ValidationException");
    assert!(body["Message"].as_str().unwrap().contains("Member must satisfy enum value set"), "{body}");
    let (status, body) = raw(&endpoint, Some(&target("DescribeScalableTargets")), "{not json").await;
    assert_eq!((status, body["__type"].as_str()), (400, Some("SerializationException")));
    let (_, body) = raw(&endpoint, Some(&target("FlyToTheMoon")), "{}").await;
    assert_eq!(body["__type"], "UnknownOperationException");
    assert!(body["Message"].as_str().unwrap().contains("FlyToTheMoon"));
    let (_, body) = raw(&endpoint, Some(&target("GetPredictiveScalingForecast")), "{}").await;
    assert_eq!(body["__type"], "UnsupportedFeatureException");
    // Counters name the service's operations by their full target (its
    // names clash with ECS's TagResource and the like).
    let stats = emulator.stats();
    assert!(stats.contains_key("AnyScaleFrontendService.RegisterScalableTarget"), "{stats:?}");
    let arn = "arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/0ecffff";
    let (status, body) =
        raw(&endpoint, Some(&target("ListTagsForResource")), &json!({ "ResourceARN": arn }).to_string()).await;
    assert_eq!((status, body["__type"].as_str()), (404, Some("ResourceNotFoundException")), "as the model says");
    assert!(!stats.contains_key("RegisterScalableTarget"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_commands_as_aws_documents_them() {
    let (emulator, ecs) = start().await;
    let endpoint = emulator.endpoint();
    web_service(&emulator, &ecs, 2).await;
    let run = |args: &[&str]| {
        let out = aws("application-autoscaling", &endpoint, args);
        assert!(out.status.success(), "aws {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if stdout.trim().is_empty() { Value::Null } else { serde_json::from_str(&stdout).expect("JSON output") }
    };
    let registered = run(&[
        "register-scalable-target",
        "--service-namespace",
        "ecs",
        "--scalable-dimension",
        "ecs:service:DesiredCount",
        "--resource-id",
        "service/demo/web",
        "--min-capacity",
        "1",
        "--max-capacity",
        "10",
    ]);
    assert!(registered["ScalableTargetARN"].as_str().unwrap().contains(":scalable-target/"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(
        &file,
        r#"{
    "TargetValue": 75.0,
    "PredefinedMetricSpecification": {
        "PredefinedMetricType": "ECSServiceAverageCPUUtilization"
    },
    "ScaleOutCooldown": 60,
    "ScaleInCooldown": 60
}"#,
    )
    .unwrap();
    let config = format!("file://{}", file.display());
    let put = run(&[
        "put-scaling-policy",
        "--service-namespace",
        "ecs",
        "--scalable-dimension",
        "ecs:service:DesiredCount",
        "--resource-id",
        "service/demo/web",
        "--policy-name",
        "cpu75-target-tracking-scaling-policy",
        "--policy-type",
        "TargetTrackingScaling",
        "--target-tracking-scaling-policy-configuration",
        &config,
    ]);
    assert_eq!(put["Alarms"].as_array().unwrap().len(), 2);
    let policies = run(&["describe-scaling-policies", "--service-namespace", "ecs"]);
    let policy = &policies["ScalingPolicies"][0];
    assert_eq!(policy["PolicyName"], "cpu75-target-tracking-scaling-policy");
    assert_eq!(policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 75.0);
    assert_eq!(policy["TargetTrackingScalingPolicyConfiguration"]["ScaleOutCooldown"], 60);

    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 95 })).await;
    advance(&emulator, 180.0).await;
    let activities = run(&[
        "describe-scaling-activities",
        "--service-namespace",
        "ecs",
        "--scalable-dimension",
        "ecs:service:DesiredCount",
        "--resource-id",
        "service/demo/web",
    ]);
    let newest = &activities["ScalingActivities"][0];
    assert_eq!(newest["Description"], "Setting desired count to 3.", "ceil(2 × 95 / 75): {activities}");
    assert_eq!(newest["StatusCode"], "Successful");
    assert!(newest["Cause"].as_str().unwrap().ends_with("triggered policy cpu75-target-tracking-scaling-policy"));
    assert_eq!(desired(&ecs).await, 3);

    let out = aws(
        "application-autoscaling",
        &endpoint,
        &[
            "delete-scaling-policy",
            "--service-namespace",
            "ecs",
            "--scalable-dimension",
            "ecs:service:DesiredCount",
            "--resource-id",
            "service/demo/web",
            "--policy-name",
            "nope",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(ObjectNotFoundException)") && stderr.contains("policy name: nope"), "{stderr}");
}

#[tokio::test]
async fn scaling_survives_a_restart_with_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let (emulator, ecs) = start_with(config.clone()).await;
    let aas = autoscaling_client(&emulator.endpoint());
    web_service(&emulator, &ecs, 2).await;
    let arn = register(&aas, 1, 10).await;
    aas.tag_resource().resource_arn(&arn).tags("env", "dev").send().await.unwrap();
    let put = put_tracking(&aas, "cpu-tt", cpu_tracking(50.0, 60, 60)).await;
    aas.put_scheduled_action()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .resource_id(RID)
        .scheduled_action_name("weekly")
        .schedule("rate(7 days)")
        .scalable_target_action(ScalableTargetAction::builder().max_capacity(9).build())
        .send()
        .await
        .unwrap();
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 90 })).await;
    advance(&emulator, 180.0).await;
    assert_eq!(desired(&ecs).await, 4);
    emulator.shutdown().await.unwrap();

    let emulator = spawn(config).await.unwrap();
    let ecs = client(&emulator.endpoint());
    let aas = autoscaling_client(&emulator.endpoint());
    assert_eq!(desired(&ecs).await, 4);
    let targets = aas.describe_scalable_targets().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    assert_eq!(targets.scalable_targets()[0].scalable_target_arn(), Some(arn.as_str()));
    let policies = aas.describe_scaling_policies().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    assert_eq!(policies.scaling_policies()[0].policy_arn(), put.policy_arn());
    assert_eq!(policies.scaling_policies()[0].alarms().len(), 2);
    let actions = aas.describe_scheduled_actions().service_namespace(ServiceNamespace::Ecs).send().await.unwrap();
    assert_eq!(actions.scheduled_actions()[0].schedule(), "rate(7 days)");
    let tags = aas.list_tags_for_resource().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().get("env").map(String::as_str), Some("dev"));
    let kept = activities(&aas).await;
    assert_eq!(kept.len(), 1, "the activity is kept: {kept:?}");
    // The load is a test's input, not AWS state: it is set again, and the
    // policy acts on from where it was: its next datapoint, out of its cooldown.
    load(&emulator, json!({ "cluster": "demo", "service": "web", "cpu": 90 })).await;
    advance(&emulator, 60.0).await;
    assert_eq!(desired(&ecs).await, 8);
}
