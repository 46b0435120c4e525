//! EcsCapacityProvider end to end: the real API server, the controller in this
//! process, the ECS emulator over HTTP. A provider is created and updated, a
//! cluster uses it, its deletion is refused while the cluster lists it (a
//! condition, and a bounded number of DeleteCapacityProvider calls), and
//! completes once the cluster drops it. Plus the CEL rules at apply time.

use std::time::Duration;

use aws_sdk_ecs::types::{CapacityProvider, CapacityProviderField};
use ecs_bridge::api::{EcsCapacityProvider, EcsCluster};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::operator::{Harness, apply, condition, events, until_gone};
use crate::support::{self, poll_until};

const GROUP_ARN: &str = "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:0d1b5c3c-0000-4000-8000-000000000000:autoScalingGroupName/spark-workers";

fn provider(name: &str, target: i32) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCapacityProvider", "metadata": {"name": name},
        "spec": {
            "autoScalingGroupArn": GROUP_ARN,
            "managedScaling": {"status": "ENABLED", "targetCapacity": target, "minimumScalingStepSize": 1,
                               "maximumScalingStepSize": 10, "instanceWarmupPeriod": 120},
            "managedTerminationProtection": "ENABLED",
            "tags": [{"key": "team", "value": "data"}],
        }
    })
}

fn cluster(name: &str, providers: &[&str]) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": name},
        "spec": {
            "capacityProviders": providers,
            "defaultCapacityProviderStrategy": [{"capacityProvider": providers[0], "weight": 1}],
        }
    })
}

async fn described(ecs: &aws_sdk_ecs::Client, name: &str) -> Option<CapacityProvider> {
    ecs.describe_capacity_providers()
        .capacity_providers(name)
        .include(CapacityProviderField::Tags)
        .send()
        .await
        .expect("describe capacity providers")
        .capacity_providers
        .unwrap_or_default()
        .into_iter()
        .next()
}

fn target_of(provider: &CapacityProvider) -> Option<i32> {
    provider.auto_scaling_group_provider()?.managed_scaling()?.target_capacity()
}

async fn ready<K>(api: &Api<K>, name: &str) -> K
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    poll_until(&format!("{name} is Ready for its generation"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let value = serde_json::to_value(&obj).map_err(|e| e.to_string())?;
        let generation = &value["metadata"]["generation"];
        let status = &value["status"];
        let is_ready = status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Ready" && c["status"] == "True");
        if is_ready && &status["observedGeneration"] == generation { Ok(obj) } else { Err(status.to_string()) }
    })
    .await
}

fn deletes(h: &Harness) -> u64 {
    h.ecs_requests().get("DeleteCapacityProvider").copied().unwrap_or(0)
}

#[tokio::test]
async fn create_use_refused_delete_then_delete() {
    let h = Harness::start("cp-life").await;
    let providers: Api<EcsCapacityProvider> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    let clusters: Api<EcsCluster> = h.clusters();

    apply(&providers, "spark", provider("spark", 90)).await;
    let obj = ready(&providers, "spark").await;
    let status = obj.status.expect("a status");
    let ecs = described(&h.ecs, "spark").await.expect("ECS has the provider");
    assert_eq!(status.capacity_provider_arn.as_deref(), ecs.capacity_provider_arn());
    assert!(status.capacity_provider_arn.as_deref().is_some_and(|a| a.ends_with(":capacity-provider/spark")));
    assert_eq!(status.status.as_deref(), Some("ACTIVE"));
    assert_eq!(target_of(&ecs), Some(90));
    let group = ecs.auto_scaling_group_provider().expect("a group provider");
    assert_eq!(group.auto_scaling_group_arn(), GROUP_ARN);
    assert_eq!(group.managed_termination_protection().map(|p| p.as_str()), Some("ENABLED"));
    assert_eq!(ecs.tags()[0].key(), Some("team"));

    // A spec change reaches ECS through UpdateCapacityProvider.
    apply(&providers, "spark", provider("spark", 80)).await;
    ready(&providers, "spark").await;
    assert_eq!(target_of(&described(&h.ecs, "spark").await.expect("still there")), Some(80));

    // A cluster uses it by name, its tasks' default.
    apply(&clusters, "batch", cluster("batch", &["spark", "FARGATE"])).await;
    ready(&clusters, "batch").await;
    let in_ecs = h.ecs.describe_clusters().clusters("batch").send().await.expect("describe clusters");
    assert_eq!(in_ecs.clusters()[0].capacity_providers(), ["spark", "FARGATE"]);

    // Deleting it while the cluster lists it: refused, reported, not hammered.
    providers.delete("spark", &DeleteParams::default()).await.expect("delete");
    poll_until("the refused deletion is a condition with ECS's reason", || async {
        let obj = providers.get("spark").await.map_err(|e| e.to_string())?;
        let status = obj.status.unwrap_or_default();
        match condition(&status.conditions, "Ready") {
            Some((s, r, m)) if s == "False" && r == "DeleteRefused" && m.contains("associated with cluster: batch") => {
                Ok(())
            }
            other => Err(format!("{other:?} / {:?}", status.update_status)),
        }
    })
    .await;
    assert_eq!(
        providers.get("spark").await.expect("held by its finalizer").status.unwrap().update_status.as_deref(),
        Some("DELETE_FAILED")
    );
    let before = deletes(&h);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let during = deletes(&h) - before;
    // The test back-off (0.2 s doubling to 5 s) allows at most 8 retries in 10 s;
    // a requeue loop would make hundreds.
    assert!((1..=8).contains(&during), "{during} DeleteCapacityProvider calls in 10 s");
    let refusals = events(&h.ns.client, &h.ns.name, "spark").await;
    let warned = refusals.iter().filter(|(t, r, _)| t == "Warning" && r == "DeleteRefused").count();
    assert_eq!(warned, 1, "one Warning, not one per retry: {refusals:?}");
    assert!(described(&h.ecs, "spark").await.is_some_and(|p| p.status().map(|s| s.as_str()) == Some("ACTIVE")));

    // The cluster drops it: the deletion completes and the object goes away.
    apply(&clusters, "batch", cluster("batch", &["FARGATE"])).await;
    until_gone(&providers, "spark").await;
    let gone = described(&h.ecs, "spark").await.expect("ECS still describes a deleted provider");
    let update = gone.update_status().map(|s| s.as_str().to_owned());
    assert!(
        gone.status().map(|s| s.as_str()) == Some("INACTIVE")
            || matches!(update.as_deref(), Some("DELETE_IN_PROGRESS" | "DELETE_COMPLETE")),
        "{gone:?}"
    );
    h.stop().await;
}

/// Creates `object`; the API server's refusal, if any.
async fn create_error(api: &Api<EcsCapacityProvider>, object: Value) -> Option<String> {
    let obj: EcsCapacityProvider = serde_json::from_value(object).expect("an EcsCapacityProvider");
    api.create(&Default::default(), &obj).await.err().map(|e| support::error_chain(&e))
}

#[tokio::test]
async fn cel_rules_reject_bad_providers_at_apply_time() {
    let ns = support::namespace("cp-cel").await;
    let api: Api<EcsCapacityProvider> = Api::namespaced(ns.client.clone(), &ns.name);
    let cases = [
        ("target 0", json!({"managedScaling": {"targetCapacity": 0}}), "targetCapacity"),
        (
            "min above max",
            json!({"managedScaling": {"minimumScalingStepSize": 5, "maximumScalingStepSize": 2}}),
            "minimumScalingStepSize must not exceed maximumScalingStepSize",
        ),
        (
            "protection without scaling",
            json!({"managedTerminationProtection": "ENABLED"}),
            "managedTerminationProtection ENABLED requires managedScaling.status ENABLED",
        ),
        ("reserved prefix", json!({"name": "ecs-workers"}), "cannot start with aws, ecs or fargate"),
    ];
    for (i, (what, extra, message)) in cases.into_iter().enumerate() {
        let mut object = provider(&format!("bad-{i}"), 50);
        object["spec"].as_object_mut().expect("spec").remove("managedTerminationProtection");
        object["spec"].as_object_mut().expect("spec").remove("managedScaling");
        for (k, v) in extra.as_object().expect("extra") {
            object["spec"][k] = v.clone();
        }
        let error = create_error(&api, object).await.unwrap_or_else(|| panic!("{what}: accepted"));
        assert!(error.contains(message), "{what}: {error}");
    }

    // The group is immutable.
    apply(&api, "ok", provider("ok", 50)).await;
    let moved = json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsCapacityProvider", "metadata": {"name": "ok"},
        "spec": {"autoScalingGroupArn": "another-group"}
    });
    let error = api
        .patch("ok", &PatchParams::apply("tests").force(), &Patch::Apply(&moved))
        .await
        .expect_err("a new group must be refused");
    assert!(support::error_chain(&error).contains("spec.autoScalingGroupArn is immutable"), "{error}");
}

/// A cluster applied before its provider (as `kubectl apply -f examples/` may
/// order them): ECS refuses the unknown provider, the EcsCluster retries,
/// and becomes Ready once the provider exists.
#[tokio::test]
async fn a_cluster_applied_before_its_provider_waits_for_it() {
    let h = Harness::start("cp-order").await;
    let providers: Api<EcsCapacityProvider> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    let clusters: Api<EcsCluster> = h.clusters();
    apply(&clusters, "early", cluster("early", &["late"])).await;
    poll_until("the unknown provider is a temporary refusal", || async {
        let obj = clusters.get("early").await.map_err(|e| e.to_string())?;
        match condition(&obj.status.unwrap_or_default().conditions, "Synced") {
            Some((s, r, m)) if s == "False" && r == "Blocked" && m.contains("does not exist") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    apply(&providers, "late", provider("late", 100)).await;
    ready(&clusters, "early").await;
    let in_ecs = h.ecs.describe_clusters().clusters("early").send().await.expect("describe clusters");
    assert_eq!(in_ecs.clusters()[0].capacity_providers(), ["late"]);
    h.stop().await;
}
