//! Removing things from a spec (GitOps: the field or tag is gone from the
//! manifest) removes them from ECS, but only what the operator applied
//! itself (`status.appliedFields`, `status.appliedTags`): what someone else
//! set in ECS stays. The real API server, the controller (in this process or
//! as the binary, for the crash) and the emulator over HTTP.

use std::time::Duration;

use aws_sdk_ecs::types::{ClusterField, Tag};
use ecs_bridge::api::service::SpecField;
use ecs_bridge::api::{EcsCluster, EcsService};
use kube::api::Api;
use serde_json::{Value, json};

use crate::operator::{ControllerProcess, apply, condition, ecs_client, emulator, events, requests};
use crate::operator_service::{CLUSTER, ServiceHarness, service};
use crate::support::{self, poll_until};

/// An EC2 task definition whose container listens on port 80 (a load balancer needs it).
fn web_task_definition() -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": "web"},
        "spec": {
            "networkMode": "bridge",
            "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128, "essential": true,
                "portMappings": [{"containerPort": 80}]}]
        }
    })
}

const TARGET_GROUP: &str = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef";

/// A spec with every kind of field that UpdateService can take away again.
fn full_spec(extra: Value) -> Value {
    let mut spec = json!({
        "taskDefinitionRef": {"name": "web"},
        "loadBalancers": [{"targetGroupArn": TARGET_GROUP, "containerName": "app", "containerPort": 80}],
        "placementConstraints": [{"type": "distinctInstance"}],
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "healthCheckGracePeriodSeconds": 60,
        "deploymentConfiguration": {"alarms": {"alarmNames": ["web-5xx"], "enable": true, "rollback": true}},
        "tags": [{"key": "team", "value": "web"}, {"key": "cost-center", "value": "42"}]
    });
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    spec
}

/// What is left after the removal: the reference and one tag.
fn trimmed_spec(extra: Value) -> Value {
    let mut spec = json!({"taskDefinitionRef": {"name": "web"}, "tags": [{"key": "team", "value": "web"}]});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    spec
}

/// Waits until the last reconcile applied the object's current generation and `check` holds.
async fn synced_where(
    api: &Api<EcsService>,
    name: &str,
    what: &str,
    check: impl Fn(&EcsService) -> bool,
) -> EcsService {
    poll_until(&format!("{name} is Synced ({what})"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        let synced = condition(&status.conditions, "Synced").map(|c| c.0);
        if synced.as_deref() == Some("True") && status.observed_generation == obj.metadata.generation && check(&obj) {
            Ok(obj)
        } else {
            Err(format!("generation {:?}, status: {status:#?}", obj.metadata.generation))
        }
    })
    .await
}

fn applied_fields(obj: &EcsService) -> Vec<SpecField> {
    obj.status.as_ref().map(|s| s.applied_fields.clone()).unwrap_or_default()
}

fn tag_keys(tags: &[Tag]) -> Vec<String> {
    let mut keys: Vec<String> = tags.iter().filter_map(|t| t.key().map(str::to_owned)).collect();
    keys.sort();
    keys
}

/// What the removal must leave in ECS: no load balancer, no placement rules, no alarms,
/// no grace period.
fn cleared(service: &aws_sdk_ecs::types::Service) -> Result<(), String> {
    let alarms_on = service
        .deployment_configuration()
        .and_then(|c| c.alarms())
        .is_some_and(|a| a.enable() || a.rollback() || !a.alarm_names().is_empty());
    let clear = service.load_balancers().is_empty()
        && service.placement_constraints().is_empty()
        && service.placement_strategy().is_empty()
        && service.health_check_grace_period_seconds().unwrap_or(0) == 0
        && !alarms_on;
    clear.then_some(()).ok_or_else(|| format!("{service:#?}"))
}

#[tokio::test]
async fn fields_removed_from_the_spec_are_reset_and_others_are_left() {
    let h = ServiceHarness::start("svc-rm-fields", Duration::from_secs(2)).await;
    apply(&h.task_definitions(), "web", web_task_definition()).await;
    let api = h.services();
    // No desiredCount: created with 1, then owned by "an autoscaler".
    apply(&api, "web", service("web", full_spec(json!({})))).await;
    let obj = synced_where(&api, "web", "everything applied", |o| !applied_fields(o).is_empty()).await;
    assert_eq!(
        applied_fields(&obj),
        vec![
            SpecField::LoadBalancers,
            SpecField::PlacementConstraints,
            SpecField::PlacementStrategy,
            SpecField::HealthCheckGracePeriodSeconds,
            SpecField::DeploymentAlarms,
        ],
        "the record names what the operator applied"
    );
    let ecs = h.ecs_service("web").await;
    assert_eq!(ecs.load_balancers().len(), 1);
    assert_eq!(ecs.health_check_grace_period_seconds(), Some(60));
    assert!(ecs.deployment_configuration().and_then(|c| c.alarms()).is_some_and(|a| a.enable()));

    // Outside the operator: the autoscaler scales to 0, someone turns on ECS Exec.
    h.ecs
        .update_service()
        .cluster(CLUSTER)
        .service("web")
        .desired_count(0)
        .enable_execute_command(true)
        .send()
        .await
        .expect("outside update");

    apply(&api, "web", service("web", trimmed_spec(json!({})))).await;
    let obj = synced_where(&api, "web", "the removal applied", |o| applied_fields(o).is_empty()).await;
    let ecs = poll_until("ECS no longer has the removed fields", || async {
        let s = h.ecs_service("web").await;
        cleared(&s).map(|()| s)
    })
    .await;
    assert_eq!(ecs.desired_count(), 0, "the count the spec leaves unset is not reset");
    assert!(ecs.enable_execute_command(), "a field the operator never applied is left as ECS has it");
    assert_eq!(
        obj.status.as_ref().map(|s| s.applied_tags.clone()),
        Some(vec!["team".to_owned()]),
        "only the spec's remaining tag is recorded"
    );
    // The Event is published after the status write: wait for it too.
    poll_until("the Updated event naming the reset", || async {
        let seen = events(&h.ns.client, &h.ns.name, "web").await;
        seen.iter()
            .any(|(t, r, n)| {
                t == "Normal" && r == "Updated" && n.contains("loadBalancers reset (removed from the spec)")
            })
            .then_some(())
            .ok_or(format!("{seen:#?}"))
    })
    .await;

    // Later resyncs leave it all alone: nothing more is written.
    let before = h.ecs_requests();
    let metrics = h.controller().metrics().services().clone();
    let target = metrics.resync_count() + 2;
    poll_until("two more resyncs", || async {
        (metrics.resync_count() >= target).then_some(()).ok_or("waiting".to_owned())
    })
    .await;
    let after = h.ecs_requests();
    for op in ["UpdateService", "TagResource", "UntagResource"] {
        assert_eq!(after.get(op), before.get(op), "{op} after the removal converged");
    }
    assert!(h.ecs_service("web").await.enable_execute_command());
    h.stop().await;
}

#[tokio::test]
async fn tags_removed_from_the_spec_leave_the_service_and_the_cluster_but_others_stay() {
    let h = ServiceHarness::start("svc-rm-tags", Duration::from_secs(2)).await;
    apply(&h.task_definitions(), "web", web_task_definition()).await;
    let api = h.services();
    let tags = json!([{"key": "team", "value": "web"}, {"key": "cost-center", "value": "42"}]);
    apply(&api, "web", service("web", trimmed_spec(json!({"desiredCount": 0, "tags": tags})))).await;
    let clusters: Api<EcsCluster> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    let cluster = |tags: Value| json!({"apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": "tagged"}, "spec": {"tags": tags}});
    apply(
        &clusters,
        "tagged",
        cluster(json!([{"key": "team", "value": "platform"}, {"key": "cost-center", "value": "7"}])),
    )
    .await;

    let obj = synced_where(&api, "web", "tags recorded", |o| {
        o.status.as_ref().is_some_and(|s| s.applied_tags == ["cost-center", "team"])
    })
    .await;
    let cluster_arn = poll_until("the cluster records its tags", || async {
        let obj = clusters.get("tagged").await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        match (&status.cluster_arn, status.applied_tags == ["cost-center", "team"]) {
            (Some(arn), true) => Ok(arn.clone()),
            _ => Err(format!("{status:?}")),
        }
    })
    .await;
    let service_arn = obj.status.and_then(|s| s.service_arn).expect("the service ARN");

    // Tags added outside the operator.
    for arn in [&service_arn, &cluster_arn] {
        h.ecs
            .tag_resource()
            .resource_arn(arn)
            .tags(Tag::builder().key("added-by-hand").value("yes").build())
            .send()
            .await
            .expect("outside tag");
    }

    apply(&api, "web", service("web", trimmed_spec(json!({"desiredCount": 0})))).await;
    apply(&clusters, "tagged", cluster(json!([{"key": "team", "value": "platform"}]))).await;

    let service_tags = poll_until("cost-center leaves the service", || async {
        let keys = tag_keys(h.ecs_service("web").await.tags());
        (!keys.contains(&"cost-center".to_owned())).then(|| keys.clone()).ok_or(format!("{keys:?}"))
    })
    .await;
    assert_eq!(
        service_tags,
        vec!["added-by-hand", "ecs-bridge.dev/owner", "ecs-bridge.dev/owner-uid", "team"],
        "the outside tag and the ownership tags stay"
    );
    let cluster_tags = poll_until("cost-center leaves the cluster", || async {
        let described = h
            .ecs
            .describe_clusters()
            .clusters("tagged")
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let keys = tag_keys(described.clusters().first().map(|c| c.tags()).unwrap_or_default());
        (!keys.contains(&"cost-center".to_owned())).then(|| keys.clone()).ok_or(format!("{keys:?}"))
    })
    .await;
    assert_eq!(cluster_tags, vec!["added-by-hand", "team"]);
    synced_where(&api, "web", "one tag recorded", |o| o.status.as_ref().is_some_and(|s| s.applied_tags == ["team"]))
        .await;
    poll_until("the cluster records one tag", || async {
        let status = clusters.get("tagged").await.map_err(|e| e.to_string())?.status.unwrap_or_default();
        (status.applied_tags == ["team"]).then_some(()).ok_or(format!("{status:?}"))
    })
    .await;
    // The Event is published after the status write: wait for it too.
    poll_until("the cluster's Untagged event", || async {
        let seen = events(&h.ns.client, &h.ns.name, "tagged").await;
        seen.iter()
            .any(|(_, r, n)| r == "Untagged" && n.contains("cost-center"))
            .then_some(())
            .ok_or(format!("{seen:#?}"))
    })
    .await;
    h.stop().await;
}

#[tokio::test]
async fn a_crash_between_the_reset_and_the_status_write_converges() {
    let ns = support::namespace("svc-rm-crash").await;
    let emulator = emulator().await;
    let ecs = ecs_client(&emulator.endpoint());
    ecs.create_cluster().cluster_name(CLUSTER).send().await.expect("cluster");
    let api: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(
        &Api::<ecs_bridge::api::EcsTaskDefinition>::namespaced(ns.client.clone(), &ns.name),
        "web",
        web_task_definition(),
    )
    .await;
    apply(&api, "web", service("web", full_spec(json!({"desiredCount": 0})))).await;
    let args = ["--rollout-poll-seconds", "1"];

    let mut first = ControllerProcess::start(&ns.name, &emulator.endpoint(), &args, &[]);
    synced_where(&api, "web", "everything applied", |o| applied_fields(o).contains(&SpecField::LoadBalancers)).await;
    first.terminate();
    first.exited().await;

    apply(&api, "web", service("web", trimmed_spec(json!({"desiredCount": 0})))).await;
    let before = requests(&emulator);
    let mut crashing = ControllerProcess::start(
        &ns.name,
        &emulator.endpoint(),
        &args,
        &[(ecs_bridge::controller::failpoint::ENV, ecs_bridge::controller::service::sync::AFTER_UPDATE)],
    );
    let exit = crashing.exited().await;
    assert!(!exit.success(), "the failpoint aborts the process: {exit:?}\n{}", crashing.log());
    assert!(crashing.log().contains("failpoint after-update-service reached"), "{}", crashing.log());
    let service = describe(&ecs, "web").await;
    cleared(&service).expect("UpdateService reset the fields before the crash");
    assert!(tag_keys(service.tags()).contains(&"cost-center".to_owned()), "the crash came before the untag");
    let obj = api.get("web").await.expect("get");
    assert!(applied_fields(&obj).contains(&SpecField::LoadBalancers), "the crash came before the status write");

    let restarted = ControllerProcess::start(&ns.name, &emulator.endpoint(), &args, &[]);
    let obj = synced_where(&api, "web", "the removal recorded", |o| applied_fields(o).is_empty()).await;
    assert_eq!(obj.status.map(|s| s.applied_tags), Some(vec!["team".to_owned()]));
    let service = describe(&ecs, "web").await;
    cleared(&service).expect("still cleared");
    assert!(!tag_keys(service.tags()).contains(&"cost-center".to_owned()), "the restarted controller removed the tag");
    let after = requests(&emulator);
    let delta = |op: &str| after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
    assert_eq!(delta("UpdateService"), 1, "the reset is not sent again: ECS already has the defaults");
    assert_eq!(delta("UntagResource"), 1);
    drop(restarted);
}

async fn describe(ecs: &aws_sdk_ecs::Client, name: &str) -> aws_sdk_ecs::types::Service {
    ecs.describe_services()
        .cluster(CLUSTER)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .expect("describe")
        .services
        .unwrap_or_default()
        .into_iter()
        .next()
        .expect("the service exists")
}
