//! Fargate Spot on a manual clock: a service's tasks split over FARGATE and
//! FARGATE_SPOT by the strategy's base and weights, and Spot interruptions
//! through `POST /_emulator/spot/interrupt` (two-minute warning, then
//! stopCode `SpotInterruption`, and the service's replacement).

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{CapacityProviderStrategyItem, LaunchType, Task};
use reqwest::Method;
use serde_json::json;

use crate::support::{admin, advance, awsvpc, events, register_fargate, service, service_tasks, start};

fn item(provider: &str, base: i32, weight: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder().capacity_provider(provider).base(base).weight(weight).build().unwrap()
}

async fn spot_cluster(client: &aws_sdk_ecs::Client) {
    client
        .create_cluster()
        .cluster_name("c")
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .send()
        .await
        .unwrap();
}

/// Running tasks per capacity provider.
fn split(tasks: &[Task]) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for t in tasks.iter().filter(|t| t.last_status() == Some("RUNNING") && t.desired_status() == Some("RUNNING")) {
        *by.entry(t.capacity_provider_name().unwrap_or("-").to_owned()).or_default() += 1;
    }
    by
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

async fn describe(client: &aws_sdk_ecs::Client, arn: &str) -> Task {
    client.describe_tasks().cluster("c").tasks(arn).send().await.unwrap().tasks()[0].clone()
}

#[tokio::test]
async fn a_spot_interruption_stops_the_task_after_two_minutes_and_the_service_replaces_it_on_spot() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    spot_cluster(&client).await;
    register_fargate(&client, "web").await;
    // Base 1 on FARGATE, the rest 1:1: 5 tasks ⇒ FARGATE 1 + 2, FARGATE_SPOT 2.
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(5)
        .capacity_provider_strategy(item("FARGATE", 1, 1))
        .capacity_provider_strategy(item("FARGATE_SPOT", 0, 1))
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    advance(&emulator, 30.0).await;
    let tasks = service_tasks(&client, "c", "web", "RUNNING").await;
    assert_eq!(split(&tasks), counts(&[("FARGATE", 3), ("FARGATE_SPOT", 2)]));
    assert!(
        tasks.iter().all(|t| t.launch_type() == Some(&LaunchType::Fargate)),
        "Spot tasks report launch type FARGATE"
    );
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments()[0].rollout_state().map(|r| r.as_str()), Some("COMPLETED"));

    // Only Spot tasks can be interrupted.
    let on_demand = tasks.iter().find(|t| t.capacity_provider_name() == Some("FARGATE")).unwrap().task_arn().unwrap();
    let (status, body) =
        admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c", "task": on_demand })).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("not on FARGATE_SPOT"), "{body}");

    let victim = tasks
        .iter()
        .find(|t| t.capacity_provider_name() == Some("FARGATE_SPOT"))
        .unwrap()
        .task_arn()
        .unwrap()
        .to_owned();
    let (status, body) =
        admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c", "task": victim })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tasks"][0]["taskArn"], victim.as_str());

    // The warning: told to stop, still RUNNING; a replacement is on its way.
    let t = describe(&client, &victim).await;
    assert_eq!((t.last_status(), t.desired_status()), (Some("RUNNING"), Some("STOPPED")));
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("SpotInterruption"));
    assert_eq!(t.stopped_reason(), Some("Your Spot Task was interrupted."));
    let s = service(&client, "c", "web").await;
    let started = events(&s)
        .into_iter()
        .find(|e| e.contains("has started 1 tasks"))
        .unwrap_or_else(|| panic!("{:?}", events(&s)));
    let replacement = started.split("(task ").nth(1).unwrap().trim_end_matches(").").to_owned();
    assert_ne!(replacement, id(&victim));

    advance(&emulator, 119.0).await;
    let t = describe(&client, &victim).await;
    assert_eq!(t.last_status(), Some("RUNNING"), "not stopped before the two-minute warning is over");
    assert!(t.stopped_at().is_none());

    advance(&emulator, 6.0).await;
    let t = describe(&client, &victim).await;
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert_eq!(t.stop_code().map(|c| c.as_str()), Some("SpotInterruption"));
    assert_eq!(t.stopped_reason(), Some("Your Spot Task was interrupted."));
    let warned = t.stopping_at().unwrap().as_secs_f64();
    let stopped = t.stopped_at().unwrap().as_secs_f64();
    assert!(stopped - warned >= 120.0, "stopped {} s after the warning", stopped - warned);

    // The replacement follows the strategy (the interrupted task no longer
    // counts): back on FARGATE_SPOT.
    let tasks = service_tasks(&client, "c", "web", "RUNNING").await;
    assert_eq!(split(&tasks), counts(&[("FARGATE", 3), ("FARGATE_SPOT", 2)]));
    let new = tasks.iter().find(|t| id(t.task_arn().unwrap()) == replacement).expect("the replacement runs");
    assert_eq!(new.capacity_provider_name(), Some("FARGATE_SPOT"));
    let s = service(&client, "c", "web").await;
    assert_eq!((s.running_count(), s.pending_count()), (5, 0));
    let d = &s.deployments()[0];
    assert_eq!(d.failed_tasks(), 0, "an interruption is not a circuit-breaker failure");
    assert_eq!(d.rollout_state().map(|r| r.as_str()), Some("COMPLETED"));
    assert_eq!(events(&s)[0], "(service web) has reached a steady state.");
}

#[tokio::test]
async fn a_new_deployment_splits_its_own_tasks_by_base_and_weight() {
    let (emulator, client) = start().await;
    spot_cluster(&client).await;
    register_fargate(&client, "web").await;
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(4)
        .capacity_provider_strategy(item("FARGATE", 2, 0))
        .capacity_provider_strategy(item("FARGATE_SPOT", 0, 1))
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    advance(&emulator, 30.0).await;
    // Weight 0 beyond its base: FARGATE holds exactly 2.
    assert_eq!(
        split(&service_tasks(&client, "c", "web", "RUNNING").await),
        counts(&[("FARGATE", 2), ("FARGATE_SPOT", 2)])
    );

    // A rollout: the new deployment's tasks split afresh, whatever the old
    // deployment's tasks still run on.
    client.update_service().cluster("c").service("web").force_new_deployment(true).send().await.unwrap();
    advance(&emulator, 60.0).await;
    let s = service(&client, "c", "web").await;
    assert_eq!(s.deployments().len(), 1, "{:?}", events(&s));
    let tasks = service_tasks(&client, "c", "web", "RUNNING").await;
    assert!(tasks.iter().all(|t| t.started_by() == s.deployments()[0].id()));
    assert_eq!(split(&tasks), counts(&[("FARGATE", 2), ("FARGATE_SPOT", 2)]));

    // Scaling out: only Spot gets more.
    client.update_service().cluster("c").service("web").desired_count(7).send().await.unwrap();
    advance(&emulator, 30.0).await;
    assert_eq!(
        split(&service_tasks(&client, "c", "web", "RUNNING").await),
        counts(&[("FARGATE", 2), ("FARGATE_SPOT", 5)])
    );
}

#[tokio::test]
async fn interrupting_by_count_with_a_custom_warning() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    spot_cluster(&client).await;
    register_fargate(&client, "job").await;
    let (status, body) = admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c" })).await;
    assert_eq!(status, 400, "no Spot task yet: {body}");
    let run = client
        .run_task()
        .cluster("c")
        .task_definition("job")
        .count(3)
        .capacity_provider_strategy(item("FARGATE_SPOT", 0, 1))
        .network_configuration(awsvpc())
        .send()
        .await
        .unwrap();
    let arns: Vec<String> = run.tasks().iter().map(|t| t.task_arn().unwrap().to_owned()).collect();
    let (status, body) =
        admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c", "task": arns[0] })).await;
    assert_eq!(status, 400, "a task still starting cannot be interrupted: {body}");
    assert!(body["message"].as_str().unwrap().contains("only RUNNING"), "{body}");
    let (status, _) =
        admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c", "task": arns[0], "count": 1 })).await;
    assert_eq!(status, 400, "task and count together");
    advance(&emulator, 10.0).await;

    let (status, body) =
        admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c", "count": 2, "warningSeconds": 30 }))
            .await;
    assert_eq!(status, 200, "{body}");
    let hit: Vec<String> =
        body["tasks"].as_array().unwrap().iter().map(|t| t["taskArn"].as_str().unwrap().to_owned()).collect();
    assert_eq!(hit.len(), 2);
    advance(&emulator, 29.0).await;
    for arn in &hit {
        assert_eq!(describe(&client, arn).await.last_status(), Some("RUNNING"));
    }
    advance(&emulator, 5.0).await;
    for arn in &arns {
        let t = describe(&client, arn).await;
        if hit.contains(arn) {
            assert_eq!(t.last_status(), Some("STOPPED"));
            assert_eq!(t.stop_code().map(|c| c.as_str()), Some("SpotInterruption"));
        } else {
            assert_eq!(t.last_status(), Some("RUNNING"), "one Spot task was spared");
        }
    }
    let (status, body) =
        admin(&endpoint, Method::POST, "spot/interrupt", json!({ "cluster": "c", "task": hit[0] })).await;
    assert_eq!(status, 400, "already stopped: {body}");
    let listed = client.list_tasks().cluster("c").send().await.unwrap();
    assert_eq!(listed.task_arns().len(), 1, "standalone tasks are not replaced");
}
