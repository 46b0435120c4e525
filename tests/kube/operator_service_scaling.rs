//! An EcsService's `autoScaling` and `serviceDiscovery` end to end: the real API
//! server, the controller in this process, and the emulator's ECS, Application Auto
//! Scaling and Cloud Map over HTTP on a manual clock (the load comes from
//! `POST /_emulator/metrics`, time from advancing the clock).

use std::time::Duration;

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use ecs_bridge::api::EcsService;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::operator::{ControllerProcess, REGION, apply, events, until_gone};
use crate::operator_service::{CLUSTER, ServiceHarness};
use crate::operator_service_rollout::{advance_until, fargate_service, fargate_task_definition};
use crate::support::{self, poll_until};

/// A manual-clock emulator and a controller that resyncs every two seconds, so that it
/// sees the autoscaler's counts and the registered tasks soon after they change.
async fn harness(prefix: &str) -> ServiceHarness {
    let ns = support::namespace(prefix).await;
    let emulator =
        ecs_bridge::emulator::spawn(ecs_bridge::emulator::EmulatorConfig::manual()).await.expect("the emulator starts");
    ServiceHarness::with_emulator(ns, emulator, Duration::from_secs(2)).await
}

async fn scaling_client(h: &ServiceHarness) -> aws_sdk_applicationautoscaling::Client {
    aws_sdk_applicationautoscaling::Client::new(
        &ecs_bridge::ecs::emulator_config(&h.emulator.endpoint(), REGION, 1).await,
    )
}

async fn discovery_client(h: &ServiceHarness) -> aws_sdk_servicediscovery::Client {
    aws_sdk_servicediscovery::Client::new(&ecs_bridge::ecs::emulator_config(&h.emulator.endpoint(), REGION, 1).await)
}

/// The policy names Application Auto Scaling holds for the service `name`, sorted.
async fn policies(aas: &aws_sdk_applicationautoscaling::Client, name: &str) -> Vec<String> {
    let mut names: Vec<String> = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(format!("service/{CLUSTER}/{name}"))
        .send()
        .await
        .expect("describe policies")
        .scaling_policies()
        .iter()
        .map(|p| p.policy_name().to_owned())
        .collect();
    names.sort();
    names
}

async fn scalable_targets(aas: &aws_sdk_applicationautoscaling::Client) -> usize {
    aas.describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .expect("describe targets")
        .scalable_targets()
        .len()
}

async fn set_cpu(h: &ServiceHarness, name: &str, cpu: u32) {
    let response = reqwest::Client::new()
        .post(format!("{}/_emulator/metrics", h.emulator.endpoint()))
        .json(&json!({"cluster": CLUSTER, "service": name, "cpu": cpu}))
        .send()
        .await
        .expect("set the load");
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.text().await);
}

fn scaled_spec(step: bool) -> Value {
    let mut scaling = json!({
        "minCapacity": 1,
        "maxCapacity": 6,
        "targetTracking": [{
            "policyName": "cpu", "predefinedMetricType": "ECSServiceAverageCPUUtilization",
            "targetValue": 50.0, "scaleOutCooldown": 60, "scaleInCooldown": 60
        }]
    });
    if step {
        scaling["stepScaling"] = json!([{
            "policyName": "burst", "adjustmentType": "ChangeInCapacity",
            "stepAdjustments": [{"metricIntervalLowerBound": 0.0, "scalingAdjustment": 2}]
        }]);
    }
    json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 2, "autoScaling": scaling})
}

fn auto_scaling(obj: &EcsService) -> ecs_bridge::api::scaling::AutoScalingStatus {
    obj.status.as_ref().and_then(|s| s.auto_scaling.as_deref().cloned()).unwrap_or_default()
}

#[tokio::test]
async fn the_autoscaler_owns_the_desired_count_and_the_spec_owns_the_policies() {
    let mut h = harness("svc-scaling").await;
    let aas = scaling_client(&h).await;
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    apply(&api, "web", fargate_service("web", scaled_spec(true))).await;

    let obj = poll_until("the scalable target and both policies are in the status", || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let scaling = auto_scaling(&obj);
        match scaling.scalable_target_arn {
            Some(_) if scaling.policies.len() == 2 => Ok(obj),
            _ => Err(format!("{scaling:#?}")),
        }
    })
    .await;
    let scaling = auto_scaling(&obj);
    assert_eq!(scaling.resource_id.as_deref(), Some("service/apps/web"));
    assert!(scaling.policies.iter().all(|p| p.policy_arn.contains(":scalingPolicy:")), "{scaling:#?}");
    assert_eq!(policies(&aas, "web").await, vec!["burst", "cpu"]);
    assert_eq!(h.ecs_service("web").await.desired_count(), 2, "desiredCount started the service");

    // The load rises: three minutes above the target scale out to ceil(2 × 90 / 50).
    set_cpu(&h, "web", 90).await;
    let updates_before = h.ecs_requests().get("UpdateService").copied().unwrap_or(0);
    let obj = advance_until(&h, "the status shows the autoscaler's count", Duration::from_secs(60), || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let desired = obj.status.as_ref().and_then(|s| s.desired_count);
        let seen = auto_scaling(&obj).last_activities;
        if desired == Some(4) && !seen.is_empty() { Ok(obj) } else { Err(format!("{desired:?} {seen:#?}")) }
    })
    .await;
    assert_eq!(auto_scaling(&obj).last_activities[0].description, "Setting desired count to 4.");
    // The operator lets the count be: a few more reconciles, no UpdateService, still 4.
    set_cpu(&h, "web", 50).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(h.ecs_service("web").await.desired_count(), 4, "never reverted to the spec's 2");
    let updates_after = h.ecs_requests().get("UpdateService").copied().unwrap_or(0);
    assert_eq!(updates_after, updates_before, "the operator sent no UpdateService");
    let activity_events: Vec<String> = events(&h.ns.client, &h.ns.name, "web")
        .await
        .into_iter()
        .filter(|(_, reason, _)| reason == "ScalingActivity")
        .map(|(_, _, note)| note)
        .collect();
    assert_eq!(
        activity_events.iter().filter(|n| n.starts_with("Setting desired count to 4.")).count(),
        1,
        "each activity once: {activity_events:#?}"
    );
    // A restarted controller publishes it no second time (the status holds the watermark).
    h.restart_controller().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let again = events(&h.ns.client, &h.ns.name, "web").await;
    assert_eq!(
        again.iter().filter(|(_, r, n)| r == "ScalingActivity" && n.starts_with("Setting desired count to 4.")).count(),
        1,
        "{again:#?}"
    );

    // A policy dropped from the spec is deleted.
    apply(&api, "web", fargate_service("web", scaled_spec(false))).await;
    poll_until("the step policy is gone", || async {
        let held = policies(&aas, "web").await;
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let listed: Vec<String> = auto_scaling(&obj).policies.into_iter().map(|p| p.policy_name).collect();
        if held == ["cpu"] && listed == ["cpu"] { Ok(()) } else { Err(format!("{held:?} {listed:?}")) }
    })
    .await;
    let seen = events(&h.ns.client, &h.ns.name, "web").await;
    assert!(seen.iter().any(|(_, r, n)| r == "ScalingPolicyRemoved" && n.contains("burst")), "{seen:#?}");

    // Deleting the object deregisters the target.
    assert_eq!(scalable_targets(&aas).await, 1);
    api.delete("web", &DeleteParams::default()).await.expect("delete");
    until_gone(&api, "web").await;
    assert_eq!(scalable_targets(&aas).await, 0, "the scalable target went with the object");
    h.stop().await;
}

#[tokio::test]
async fn service_discovery_creates_the_cloud_map_service_and_counts_its_instances() {
    let h = harness("svc-discovery").await;
    let cloud_map = discovery_client(&h).await;
    let namespace = cloud_map
        .create_private_dns_namespace()
        .name("internal.local")
        .vpc("vpc-0123456789abcdef0")
        .send()
        .await
        .expect("namespace");
    assert!(namespace.operation_id().is_some());
    apply(&h.task_definitions(), "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let api = h.services();
    let spec = json!({
        "taskDefinitionRef": {"name": "web"}, "desiredCount": 2,
        "serviceDiscovery": {"namespaceName": "internal.local", "dnsRecords": [{"type": "A", "ttl": 10}]}
    });
    apply(&api, "web", fargate_service("web", spec)).await;

    let obj = advance_until(&h, "both tasks are registered", Duration::from_secs(5), || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let found = obj.status.as_ref().and_then(|s| s.service_discovery.clone()).unwrap_or_default();
        if found.instance_count == Some(2) { Ok(obj) } else { Err(format!("{found:#?}")) }
    })
    .await;
    let found = obj.status.and_then(|s| s.service_discovery).unwrap_or_default();
    let arn = found.service_arn.expect("the Cloud Map service's ARN");
    let registries: Vec<String> = h
        .ecs_service("web")
        .await
        .service_registries()
        .iter()
        .filter_map(|r| r.registry_arn().map(str::to_owned))
        .collect();
    assert_eq!(registries, vec![arn.clone()], "the ECS service is wired to it");
    let listed = cloud_map.list_services().send().await.expect("list services");
    let names: Vec<&str> = listed.services().iter().filter_map(|s| s.name()).collect();
    assert_eq!(names, vec!["web"], "one Cloud Map service");
    let service_id = found.service_id.expect("its ID");
    let instances = cloud_map.list_instances().service_id(&service_id).send().await.expect("instances");
    assert_eq!(instances.instances().len(), 2);

    // Deleting the object deletes the ECS service, then (its tasks gone) the Cloud Map one.
    api.delete("web", &DeleteParams::default()).await.expect("delete");
    advance_until(&h, "the object is gone", Duration::from_secs(5), || async {
        match api.get_opt("web").await {
            Ok(None) => Ok(()),
            other => Err(format!("{:?}", other.map(|o| o.map(|o| o.status)))),
        }
    })
    .await;
    let left = cloud_map.list_services().send().await.expect("list services");
    assert!(left.services().is_empty(), "{left:?}");
    h.stop().await;
}

#[tokio::test]
async fn the_api_server_rejects_what_cannot_be_combined() {
    let h = ServiceHarness::start("svc-scaling-cel", Duration::from_secs(300)).await;
    let api: Api<EcsService> = h.services();
    let cases = [
        (
            json!({"taskDefinition": "web", "desiredCount": 9, "autoScaling": {"minCapacity": 1, "maxCapacity": 4}}),
            "it must lie within autoScaling.minCapacity and maxCapacity",
        ),
        (
            json!({"taskDefinition": "web", "autoScaling": {"minCapacity": 5, "maxCapacity": 4}}),
            "autoScaling.minCapacity must not exceed maxCapacity",
        ),
        (
            json!({"taskDefinition": "web", "schedulingStrategy": "DAEMON", "autoScaling": {"minCapacity": 1, "maxCapacity": 4}}),
            "autoScaling needs a REPLICA service",
        ),
        (
            json!({"taskDefinition": "web", "autoScaling": {"minCapacity": 1, "maxCapacity": 4, "targetTracking": [
                {"policyName": "alb", "predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": 100.0}
            ]}}),
            "resourceLabel (app/<alb>/<id>/targetgroup/<tg>/<id>) is required for ALBRequestCountPerTarget",
        ),
        (
            json!({"taskDefinition": "web",
                "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/srv-1"}],
                "serviceDiscovery": {"namespaceId": "ns-1"}}),
            "serviceDiscovery fills the service's registry: remove serviceRegistries",
        ),
        (
            json!({"taskDefinition": "web", "serviceDiscovery": {"namespaceId": "ns-1", "dnsRecords": [{"type": "SRV"}]}}),
            "an SRV record needs a port",
        ),
    ];
    for (spec, message) in cases {
        let object: EcsService = serde_json::from_value(crate::operator_service::service("bad", spec.clone()))
            .expect("the test's object reads");
        let err = api.create(&PostParams::default(), &object).await.expect_err("rejected at apply time");
        assert!(err.to_string().contains(message), "{spec}: {err}");
    }

    // The example kept out of `kubectl apply -f examples/` (it needs a namespace) applies.
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/real-ecs/service-discovery.yaml");
    let text = std::fs::read_to_string(&example).expect("the example reads");
    let object: Value = serde_yaml::from_str(&text).expect("the example is YAML");
    apply(&api, "orders", object).await;

    // serviceDiscovery is immutable and cannot be removed.
    let ok = json!({"taskDefinition": "web", "desiredCount": 0, "serviceDiscovery": {"namespaceId": "ns-1"}});
    apply(&api, "kept", crate::operator_service::service("kept", ok)).await;
    for (spec, message) in [
        (
            json!({"taskDefinition": "web", "desiredCount": 0, "serviceDiscovery": {"namespaceId": "ns-2"}}),
            "serviceDiscovery is immutable",
        ),
        (json!({"taskDefinition": "web", "desiredCount": 0}), "spec.serviceDiscovery cannot be removed"),
    ] {
        // Server-side apply, as `kubectl apply --server-side`: no resourceVersion to race
        // the controller's status writes.
        let object = crate::operator_service::service("kept", spec);
        let err = api
            .patch("kept", &PatchParams::apply("tests").force(), &Patch::Apply(&object))
            .await
            .expect_err("rejected");
        assert!(err.to_string().contains(message), "{err}");
    }
    h.stop().await;
}

#[tokio::test]
async fn a_crash_right_after_creating_the_cloud_map_service_leaves_one() {
    let ns = support::namespace("svc-discovery-crash").await;
    let emulator = crate::operator::emulator().await;
    let endpoint = emulator.endpoint();
    let ecs = crate::operator::ecs_client(&endpoint);
    ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("cluster");
    let config = ecs_bridge::ecs::emulator_config(&endpoint, REGION, 1).await;
    let cloud_map = aws_sdk_servicediscovery::Client::new(&config);
    cloud_map.create_http_namespace().name("apps").send().await.expect("namespace");
    let api: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    let tds: Api<ecs_bridge::api::EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&tds, "web", fargate_task_definition("web", "nginx:1", json!([]))).await;
    let spec =
        json!({"taskDefinitionRef": {"name": "web"}, "desiredCount": 0, "serviceDiscovery": {"namespaceName": "apps"}});
    apply(&api, "web", fargate_service("web", spec)).await;
    let names = || async {
        let listed = cloud_map.list_services().send().await.expect("list services");
        listed.services().iter().filter_map(|s| s.name().map(str::to_owned)).collect::<Vec<_>>()
    };

    let mut crashing = ControllerProcess::start(
        &ns.name,
        &endpoint,
        &["--rollout-poll-seconds", "1"],
        &[(ecs_bridge::controller::failpoint::ENV, ecs_bridge::controller::service::discovery::AFTER_CREATE)],
    );
    let exit = crashing.exited().await;
    assert!(!exit.success(), "the failpoint aborts the process: {exit:?}\n{}", crashing.log());
    assert_eq!(names().await, vec!["web"]);
    let obj = api.get("web").await.expect("get");
    assert!(obj.status.as_ref().and_then(|s| s.service_discovery.as_ref()).is_none(), "crashed before the status");

    let restarted = ControllerProcess::start(&ns.name, &endpoint, &["--rollout-poll-seconds", "1"], &[]);
    let (arn, registries) = poll_until("the ECS service is wired to the Cloud Map service", || async {
        let obj = api.get("web").await.map_err(|e| e.to_string())?;
        let arn = obj.status.and_then(|s| s.service_discovery).and_then(|d| d.service_arn);
        let described =
            ecs.describe_services().cluster(CLUSTER).services("web").send().await.map_err(|e| e.to_string())?;
        let registries: Vec<String> = described
            .services()
            .iter()
            .flat_map(|s| s.service_registries().iter().filter_map(|r| r.registry_arn().map(str::to_owned)))
            .collect();
        match arn {
            Some(arn) if !registries.is_empty() => Ok((arn, registries)),
            other => Err(format!("status {other:?}, ECS {registries:?}")),
        }
    })
    .await;
    assert_eq!(names().await, vec!["web"], "found by name, not created again");
    assert_eq!(registries, vec![arn]);
    drop(restarted);
}
