//! The controller as a process: killed right after RegisterTaskDefinition and
//! restarted; two replicas behind one Lease; SIGTERM.

use ecs_bridge::api::EcsTaskDefinition;
use ecs_bridge::controller::failpoint;
use kube::api::Api;
use serde_json::json;

use crate::operator::{
    ControllerProcess, apply, condition, config, ecs_client, emulator, lease, requests, start_controller,
};
use crate::support::{self, poll_until};

fn task_definition(name: &str, image: &str) -> serde_json::Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {"containerDefinitions": [{"name": "app", "image": image, "memory": 128}]},
    })
}

async fn ready_revision(api: &Api<EcsTaskDefinition>, name: &str) -> i32 {
    poll_until(&format!("{name} is Ready"), || async {
        let obj = api.get(name).await.map_err(|e| e.to_string())?;
        let status = obj.status.clone().unwrap_or_default();
        match (condition(&status.conditions, "Ready"), status.revision) {
            (Some((s, _, _)), Some(revision)) if s == "True" => Ok(revision),
            _ => Err(format!("{status:?}")),
        }
    })
    .await
}

async fn revisions_in_ecs(ecs: &aws_sdk_ecs::Client, family: &str) -> Vec<String> {
    ecs.list_task_definitions()
        .family_prefix(family)
        .send()
        .await
        .expect("list")
        .task_definition_arns
        .unwrap_or_default()
}

#[tokio::test]
async fn killed_after_register_and_restarted_makes_no_duplicate() {
    let ns = support::namespace("rt-crash").await;
    let emulator = emulator().await;
    let ecs = ecs_client(&emulator.endpoint());
    let api: Api<EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(&api, "web", task_definition("web", "nginx:1")).await;

    let mut crashing = ControllerProcess::start(
        &ns.name,
        &emulator.endpoint(),
        &[],
        &[(failpoint::ENV, ecs_bridge::controller::task_definition::sync::AFTER_REGISTER)],
    );
    let exit = crashing.exited().await;
    assert!(!exit.success(), "the process died at the failpoint: {exit:?}\n{}", crashing.log());
    assert!(crashing.log().contains("failpoint after-register reached"), "{}", crashing.log());
    assert_eq!(revisions_in_ecs(&ecs, "web").await.len(), 1, "the revision was registered");
    let status = api.get("web").await.unwrap().status.unwrap_or_default();
    assert_eq!(status.revision, None, "the crash came before the status write");

    let mut restarted = ControllerProcess::start(&ns.name, &emulator.endpoint(), &["--log-format", "json"], &[]);
    assert_eq!(ready_revision(&api, "web").await, 1);
    assert_eq!(revisions_in_ecs(&ecs, "web").await.len(), 1, "no duplicate revision");
    assert_eq!(requests(&emulator).get("RegisterTaskDefinition"), Some(&1));

    // JSON logs, and the reconcile's lines carry the object's key in their span.
    let key = format!("{}/web", ns.name);
    let log = restarted.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["span"]["object"] == key.as_str() && l["fields"]["reason"] == "Adopted"),
        "no Adopted line in the span of {key}:\n{log}"
    );

    restarted.terminate();
    let exit = restarted.exited().await;
    assert!(exit.success(), "SIGTERM is a clean shutdown: {exit:?}\n{}", restarted.log());
    assert!(restarted.log().contains("released the lease"), "{}", restarted.log());
}

#[tokio::test]
async fn only_the_leader_writes_and_a_standby_takes_over() {
    let ns = support::namespace("rt-leader").await;
    let emulator = emulator().await;
    let api: Api<EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);

    let mut config_a = config(&ns.name, "replica-a");
    config_a.leader_election = Some(lease(&ns.name, "replica-a"));
    let mut config_b = config(&ns.name, "replica-b");
    config_b.leader_election = Some(lease(&ns.name, "replica-b"));
    let a = start_controller(config_a, ns.client.clone(), &emulator.endpoint()).await;
    let b = start_controller(config_b, support::client().await, &emulator.endpoint()).await;

    poll_until("exactly one leader", || async {
        match (a.is_leader(), b.is_leader()) {
            (true, false) | (false, true) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (leader, standby) = if a.is_leader() { (a, b) } else { (b, a) };

    apply(&api, "first", task_definition("first", "app:1")).await;
    ready_revision(&api, "first").await;
    let writes = |m: &ecs_bridge::controller::Metrics| m.ecs().count("RegisterTaskDefinition", "success");
    assert_eq!(writes(leader.metrics()), 1);
    assert_eq!(writes(standby.metrics()), 0, "the standby wrote nothing");
    assert!(!standby.is_leader());

    // The leader dies without releasing the Lease; the standby takes over once it expires.
    leader.abort();
    poll_until("the standby leads", || async { if standby.is_leader() { Ok(()) } else { Err("not yet".to_owned()) } })
        .await;
    apply(&api, "second", task_definition("second", "app:1")).await;
    ready_revision(&api, "second").await;
    assert_eq!(writes(standby.metrics()), 1);
    standby.shutdown().await;
}
