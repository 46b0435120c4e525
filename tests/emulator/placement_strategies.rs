//! Placement on EC2 instances: strategies (binpack, spread, random) in order,
//! the service default (spread over zones, then instances), constraints,
//! unplaceable tasks with ECS's failures and events, scale-in by strategy,
//! simulated capacity (`--ec2-capacity`), DAEMON services, a lost host.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    ContainerDefinition, LaunchType, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
    PlacementStrategyType, Resource, SchedulingStrategy,
};
use ecs_bridge::emulator::EmulatorConfig;

use crate::support::{admin, advance, events, register_bridge, service, service_tasks, start, start_with};

/// Registers an instance in `zone` with `cpu` units and `memory` MiB.
async fn instance(client: &aws_sdk_ecs::Client, zone: &str, cpu: i32, memory: i32) -> String {
    client
        .register_container_instance()
        .cluster("c")
        .instance_identity_document(format!(r#"{{"availabilityZone":"{zone}","instanceType":"m5.large"}}"#))
        .total_resources(Resource::builder().name("CPU").r#type("INTEGER").integer_value(cpu).build())
        .total_resources(Resource::builder().name("MEMORY").r#type("INTEGER").integer_value(memory).build())
        .send()
        .await
        .unwrap()
        .container_instance
        .unwrap()
        .container_instance_arn
        .unwrap()
}

/// A bridge-mode family of one 128-CPU, 256-MiB container without ports.
async fn small(client: &aws_sdk_ecs::Client, family: &str) {
    client
        .register_task_definition()
        .family(family)
        .container_definitions(ContainerDefinition::builder().name("app").image("busybox").cpu(128).memory(256).build())
        .send()
        .await
        .unwrap();
}

fn strategy(kind: PlacementStrategyType, field: Option<&str>) -> PlacementStrategy {
    let mut s = PlacementStrategy::builder().r#type(kind);
    if let Some(f) = field {
        s = s.field(f);
    }
    s.build()
}

/// Tasks per instance ARN.
fn spread(tasks: &[aws_sdk_ecs::types::Task]) -> BTreeMap<String, usize> {
    let mut per = BTreeMap::new();
    for t in tasks {
        *per.entry(t.container_instance_arn().unwrap().to_owned()).or_default() += 1;
    }
    per
}

async fn setup() -> (ecs_bridge::emulator::RunningEmulator, aws_sdk_ecs::Client) {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    small(&client, "app").await;
    (emulator, client)
}

#[tokio::test]
async fn binpack_fills_the_fullest_instance_first() {
    let (_emulator, client) = setup().await;
    let a = instance(&client, "us-east-1a", 4096, 1024).await;
    let b = instance(&client, "us-east-1a", 4096, 2048).await;
    instance(&client, "us-east-1a", 4096, 4096).await;
    let out = client
        .run_task()
        .cluster("c")
        .task_definition("app")
        .count(6)
        .placement_strategy(strategy(PlacementStrategyType::Binpack, Some("memory")))
        .send()
        .await
        .unwrap();
    let on: Vec<&str> = out.tasks().iter().map(|t| t.container_instance_arn().unwrap()).collect();
    assert_eq!(on, [a.as_str(), &a, &a, &a, &b, &b], "1024 MiB fits four 256-MiB tasks, then the 2048 one");
}

#[tokio::test]
async fn spread_by_instance_and_by_attribute() {
    let (_emulator, client) = setup().await;
    let a = instance(&client, "us-east-1a", 4096, 8192).await;
    let b = instance(&client, "us-east-1a", 4096, 8192).await;
    let c = instance(&client, "us-east-1b", 4096, 8192).await;
    let out = client
        .run_task()
        .cluster("c")
        .task_definition("app")
        .count(6)
        .placement_strategy(strategy(PlacementStrategyType::Spread, Some("instanceId")))
        .send()
        .await
        .unwrap();
    assert_eq!(spread(out.tasks()).values().copied().collect::<Vec<_>>(), [2, 2, 2]);
    // Spread over zones first, then binpack within: zone b's single
    // instance takes half, zone a's tasks pack onto one instance.
    let out = client
        .run_task()
        .cluster("c")
        .task_definition("app")
        .group("zones")
        .count(4)
        .placement_strategy(strategy(PlacementStrategyType::Spread, Some("attribute:ecs.availability-zone")))
        .placement_strategy(strategy(PlacementStrategyType::Binpack, Some("cpu")))
        .send()
        .await
        .unwrap();
    let per = spread(out.tasks());
    assert_eq!(per.get(&c), Some(&2), "{per:?}");
    assert_eq!(per.get(&a).copied().unwrap_or(0) + per.get(&b).copied().unwrap_or(0), 2);
    assert_eq!(per.len(), 2, "binpack keeps zone a's tasks together: {per:?}");
}

#[tokio::test]
async fn services_spread_over_zones_then_instances_and_scale_in_keeps_the_balance() {
    let (emulator, client) = setup().await;
    let a1 = instance(&client, "us-east-1a", 4096, 8192).await;
    let a2 = instance(&client, "us-east-1a", 4096, 8192).await;
    let b = instance(&client, "us-east-1b", 4096, 8192).await;
    client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition("app")
        .desired_count(4)
        .send()
        .await
        .unwrap();
    let per = spread(&service_tasks(&client, "c", "s", "RUNNING").await);
    assert_eq!((per[&a1], per[&a2], per[&b]), (1, 1, 2), "two per zone, one per instance in zone a");
    advance(&emulator, 10.0).await;
    client
        .update_service()
        .cluster("c")
        .service("s")
        .desired_count(8)
        .placement_strategy(strategy(PlacementStrategyType::Spread, Some("instanceId")))
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let per = spread(&service_tasks(&client, "c", "s", "RUNNING").await);
    assert_eq!(per.values().copied().collect::<Vec<_>>().iter().sum::<usize>(), 8);
    assert!(per.values().all(|n| (2..=3).contains(n)), "{per:?}");
    client.update_service().cluster("c").service("s").desired_count(3).send().await.unwrap();
    let per = spread(&service_tasks(&client, "c", "s", "RUNNING").await);
    assert_eq!(per.values().copied().collect::<Vec<_>>(), [1, 1, 1], "scale-in takes from the fullest instances");
}

#[tokio::test]
async fn random_placement_repeats_with_the_same_seed() {
    async fn placements(seed: u64) -> Vec<usize> {
        let config = EmulatorConfig { seed: Some(seed), ..EmulatorConfig::manual() };
        let (_emulator, client) = start_with(config).await;
        client.create_cluster().cluster_name("c").send().await.unwrap();
        small(&client, "app").await;
        let mut instances = Vec::new();
        for _ in 0..4 {
            instances.push(instance(&client, "us-east-1a", 4096, 8192).await);
        }
        let out = client
            .run_task()
            .cluster("c")
            .task_definition("app")
            .count(10)
            .placement_strategy(strategy(PlacementStrategyType::Random, None))
            .send()
            .await
            .unwrap();
        out.tasks()
            .iter()
            .map(|t| instances.iter().position(|i| Some(i.as_str()) == t.container_instance_arn()).unwrap())
            .collect()
    }
    let first = placements(7).await;
    assert_eq!(first, placements(7).await);
    let distinct: std::collections::HashSet<_> = first.iter().collect();
    assert!(distinct.len() > 1, "random placement uses more than one instance: {first:?}");
}

#[tokio::test]
async fn constraints_bind_and_unplaceable_service_tasks_wait_with_an_event() {
    let (emulator, client) = setup().await;
    instance(&client, "us-east-1a", 4096, 8192).await;
    instance(&client, "us-east-1b", 4096, 8192).await;
    let distinct = PlacementConstraint::builder().r#type(PlacementConstraintType::DistinctInstance).build();
    client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition("app")
        .desired_count(3)
        .placement_constraints(distinct)
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "s").await;
    assert_eq!(s.running_count(), 2);
    let ev = events(&s);
    assert!(
        ev.iter().any(|e| e.starts_with("(service s) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance ")),
        "{ev:?}"
    );
    // A new instance lets the third task in.
    let c = instance(&client, "us-east-1c", 4096, 8192).await;
    advance(&emulator, 10.0).await;
    let tasks = service_tasks(&client, "c", "s", "RUNNING").await;
    assert_eq!(tasks.len(), 3);
    assert_eq!(spread(&tasks).get(&c), Some(&1));
    assert_eq!(events(&service(&client, "c", "s").await)[0], "(service s) has reached a steady state.");

    // memberOf on RunTask: only zone b.
    let member_of = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression("attribute:ecs.availability-zone == us-east-1b")
        .build();
    let out = client
        .run_task()
        .cluster("c")
        .task_definition("app")
        .count(3)
        .placement_constraints(member_of)
        .send()
        .await
        .unwrap();
    let zones: std::collections::HashSet<_> =
        out.tasks().iter().map(|t| t.availability_zone().unwrap().to_owned()).collect();
    assert_eq!(zones, ["us-east-1b".to_owned()].into());
}

#[tokio::test]
async fn run_task_reports_what_does_not_fit() {
    let (_emulator, client) = setup().await;
    let a = instance(&client, "us-east-1a", 1024, 2048).await;
    client
        .register_task_definition()
        .family("big")
        .container_definitions(
            ContainerDefinition::builder().name("app").image("busybox").cpu(2048).memory(256).build(),
        )
        .send()
        .await
        .unwrap();
    let out = client.run_task().cluster("c").task_definition("big").send().await.unwrap();
    assert!(out.tasks().is_empty());
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:CPU"));
    assert_eq!(out.failures()[0].arn(), Some(a.as_str()));
    register_bridge(&client, "ported").await; // host port 8080
    let out = client.run_task().cluster("c").task_definition("ported").count(2).send().await.unwrap();
    assert_eq!(out.tasks().len(), 1);
    assert_eq!(out.failures()[0].reason(), Some("RESOURCE:PORTS"));
}

#[tokio::test]
async fn simulated_ec2_capacity_runs_ec2_services_out_of_the_box() {
    let config = EmulatorConfig { ec2_capacity: 3, ..EmulatorConfig::manual() };
    let (emulator, client) = start_with(config).await;
    let cluster = client.create_cluster().cluster_name("c").send().await.unwrap().cluster.unwrap();
    assert_eq!(cluster.registered_container_instances_count(), 3);
    small(&client, "app").await;
    client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition("app")
        .desired_count(3)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let tasks = service_tasks(&client, "c", "s", "RUNNING").await;
    let zones: std::collections::BTreeSet<_> =
        tasks.iter().map(|t| t.availability_zone().unwrap().to_owned()).collect();
    assert_eq!(zones.into_iter().collect::<Vec<_>>(), ["us-east-1a", "us-east-1b", "us-east-1c"]);
    assert!(tasks.iter().all(|t| t.last_status() == Some("RUNNING")));
}

#[tokio::test]
async fn daemon_services_follow_the_instances() {
    let (emulator, client) = setup().await;
    let a = instance(&client, "us-east-1a", 4096, 8192).await;
    instance(&client, "us-east-1b", 4096, 8192).await;
    small(&client, "app").await; // revision 2
    client
        .create_service()
        .cluster("c")
        .service_name("d")
        .task_definition("app:1")
        .scheduling_strategy(SchedulingStrategy::Daemon)
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "d").await;
    assert_eq!((s.desired_count(), s.running_count()), (2, 2));
    assert_eq!(events(&s)[0], "(service d) has reached a steady state.");
    let c = instance(&client, "us-east-1c", 4096, 8192).await;
    advance(&emulator, 10.0).await;
    let tasks = service_tasks(&client, "c", "d", "RUNNING").await;
    assert_eq!(spread(&tasks).values().copied().collect::<Vec<_>>(), [1, 1, 1]);
    assert_eq!(spread(&tasks).get(&c), Some(&1));
    // Draining an instance stops its daemon task.
    client
        .update_container_instances_state()
        .cluster("c")
        .container_instances(&a)
        .status(aws_sdk_ecs::types::ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let s = service(&client, "c", "d").await;
    assert_eq!((s.desired_count(), s.running_count()), (2, 2));
    assert!(!spread(&service_tasks(&client, "c", "d", "RUNNING").await).contains_key(&a));
    // A new revision replaces the task on each instance (minimumHealthyPercent 0).
    client.update_service().cluster("c").service("d").task_definition("app:2").send().await.unwrap();
    advance(&emulator, 20.0).await;
    let s = service(&client, "c", "d").await;
    assert_eq!((s.deployments().len(), s.running_count()), (1, 2));
    assert!(s.deployments()[0].task_definition().unwrap().ends_with("app:2"));
    let config = s.deployment_configuration().unwrap();
    assert_eq!((config.maximum_percent(), config.minimum_healthy_percent()), (Some(100), Some(0)));
}

#[tokio::test]
async fn a_lost_host_stops_its_tasks_and_the_service_moves_them() {
    let (emulator, client) = setup().await;
    let a = instance(&client, "us-east-1a", 4096, 8192).await;
    let b = instance(&client, "us-east-1b", 4096, 8192).await;
    client
        .create_service()
        .cluster("c")
        .service_name("s")
        .task_definition("app")
        .desired_count(2)
        .send()
        .await
        .unwrap();
    advance(&emulator, 10.0).await;
    let on_a: Vec<String> = service_tasks(&client, "c", "s", "RUNNING")
        .await
        .iter()
        .filter(|t| t.container_instance_arn() == Some(a.as_str()))
        .map(|t| t.task_arn().unwrap().to_owned())
        .collect();
    assert_eq!(on_a.len(), 1);
    let (status, body) = admin(
        &emulator.endpoint(),
        reqwest::Method::POST,
        "container-instances/kill",
        serde_json::json!({ "cluster": "c", "containerInstance": a }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["containerInstance"]["status"], "INACTIVE");
    let gone = client.describe_tasks().cluster("c").tasks(&on_a[0]).send().await.unwrap().tasks()[0].clone();
    assert_eq!(gone.last_status(), Some("STOPPED"));
    assert_eq!(gone.stop_code().map(|c| c.as_str()), Some("InfrastructureHealth"));
    assert!(gone.stopped_reason().unwrap().starts_with("Host EC2 (instance i-"), "{:?}", gone.stopped_reason());
    advance(&emulator, 10.0).await;
    let tasks = service_tasks(&client, "c", "s", "RUNNING").await;
    assert_eq!(spread(&tasks).get(&b), Some(&2));
    assert_eq!(service(&client, "c", "s").await.running_count(), 2);
}
