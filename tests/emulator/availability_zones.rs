//! Availability zones of awsvpc/Fargate tasks on a manual clock: each task's
//! ENI in one of the given subnets (zone from the subnet id: `-az-<letter>`
//! names it), a service's tasks balanced over the zones on scale-out, scale-in
//! and replacement, RunTask's `count` spread too, the ENI attachment's details
//! and statuses through the lifecycle, unique private addresses (also across
//! a restart with `--state-dir`), and the same choices under the same
//! `--seed`.

use std::collections::{BTreeMap, HashSet};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{AvailabilityZoneRebalancing, AwsVpcConfiguration, NetworkConfiguration, Task};
use ecs_bridge::emulator::EmulatorConfig;
use reqwest::Method;
use serde_json::json;

use crate::support::{
    admin, advance, client as client_for, fargate_service, fargate_task, nginx, register_fargate, register_instance,
    service, service_tasks, start, start_with,
};

const ZONED: [&str; 3] = ["subnet-0aa-az-a", "subnet-0bb-az-b", "subnet-0cc-az-c"];

fn vpc(subnets: &[&str]) -> NetworkConfiguration {
    let mut config = AwsVpcConfiguration::builder().security_groups("sg-0123456789abcdef0");
    for s in subnets {
        config = config.subnets(*s);
    }
    NetworkConfiguration::builder().awsvpc_configuration(config.build().expect("awsvpc configuration")).build()
}

/// A detail of the task's ENI attachment.
fn detail<'a>(task: &'a Task, name: &str) -> Option<&'a str> {
    let eni = task.attachments().iter().find(|a| a.r#type() == Some("ElasticNetworkInterface"))?;
    eni.details().iter().find(|d| d.name() == Some(name))?.value()
}

fn attachment_status(task: &Task) -> &str {
    task.attachments()[0].status().unwrap_or_default()
}

/// Tasks per availability zone.
fn per_zone(tasks: &[Task]) -> BTreeMap<String, usize> {
    let mut by = BTreeMap::new();
    for t in tasks {
        *by.entry(t.availability_zone().unwrap_or("-").to_owned()).or_default() += 1;
    }
    by
}

fn zones(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(z, n)| (format!("us-east-1{z}"), *n)).collect()
}

/// RUNNING tasks the service still wants.
async fn running(client: &Client, name: &str) -> Vec<Task> {
    service_tasks(client, "c", name, "RUNNING")
        .await
        .into_iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .collect()
}

/// Every task is in the zone its subnet names.
#[track_caller]
fn assert_zone_of_subnet(tasks: &[Task]) {
    for t in tasks {
        let subnet = detail(t, "subnetId").expect("subnetId");
        let letter = subnet.rsplit("-az-").next().unwrap();
        assert_eq!(t.availability_zone(), Some(format!("us-east-1{letter}").as_str()), "{subnet}");
    }
}

async fn zoned_service(client: &Client, count: i32) {
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(client, "web").await;
    fargate_service(client, "c", "web", "web")
        .network_configuration(vpc(&ZONED))
        .desired_count(count)
        .send()
        .await
        .unwrap();
}

async fn scale(client: &Client, count: i32) {
    client.update_service().cluster("c").service("web").desired_count(count).send().await.unwrap();
}

#[tokio::test]
async fn six_tasks_over_three_subnets_run_two_per_zone() {
    let (emulator, client) = start().await;
    zoned_service(&client, 6).await;
    advance(&emulator, 30.0).await;
    let tasks = running(&client, "web").await;
    assert_eq!(per_zone(&tasks), zones(&[("a", 2), ("b", 2), ("c", 2)]));
    assert_zone_of_subnet(&tasks);
    let s = service(&client, "c", "web").await;
    assert_eq!(s.availability_zone_rebalancing(), Some(&AvailabilityZoneRebalancing::Enabled), "ECS's default");

    // Scale-out keeps the balance: 6 → 9 is one more in each zone.
    scale(&client, 9).await;
    advance(&emulator, 30.0).await;
    assert_eq!(per_zone(&running(&client, "web").await), zones(&[("a", 3), ("b", 3), ("c", 3)]));
}

#[tokio::test]
async fn two_subnets_in_one_zone_share_its_half() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    let subnets = ["subnet-1-az-a", "subnet-2-az-a", "subnet-3-az-b"];
    fargate_service(&client, "c", "web", "web")
        .network_configuration(vpc(&subnets))
        .desired_count(4)
        .send()
        .await
        .unwrap();
    advance(&emulator, 30.0).await;
    let tasks = running(&client, "web").await;
    assert_eq!(per_zone(&tasks), zones(&[("a", 2), ("b", 2)]), "balanced over zones, not subnets");
    let mut per_subnet: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &tasks {
        *per_subnet.entry(detail(t, "subnetId").unwrap()).or_default() += 1;
    }
    assert_eq!(per_subnet, BTreeMap::from([("subnet-1-az-a", 1), ("subnet-2-az-a", 1), ("subnet-3-az-b", 2)]));
}

#[tokio::test]
async fn scale_in_takes_from_the_zone_with_the_most() {
    let (emulator, client) = start().await;
    zoned_service(&client, 9).await;
    advance(&emulator, 30.0).await;
    for (count, each) in [(6, 2), (3, 1)] {
        scale(&client, count).await;
        advance(&emulator, 30.0).await;
        let tasks = running(&client, "web").await;
        assert_eq!(per_zone(&tasks), zones(&[("a", each), ("b", each), ("c", each)]), "scaled in to {count}");
    }
    // From 3 (1 per zone) to 2 and up to 5: never two apart.
    scale(&client, 2).await;
    advance(&emulator, 30.0).await;
    scale(&client, 5).await;
    advance(&emulator, 30.0).await;
    let counts: Vec<usize> = per_zone(&running(&client, "web").await).into_values().collect();
    assert_eq!(counts.iter().sum::<usize>(), 5);
    assert_eq!(counts.len(), 3, "{counts:?}");
    assert!(counts.iter().max().unwrap() - counts.iter().min().unwrap() <= 1, "{counts:?}");
}

#[tokio::test]
async fn scaling_in_tasks_still_starting_keeps_the_zones_balanced() {
    let (emulator, client) = start().await;
    zoned_service(&client, 9).await;
    // Still PROVISIONING: they go first, but from the fullest zones.
    advance(&emulator, 0.1).await;
    scale(&client, 3).await;
    advance(&emulator, 30.0).await;
    assert_eq!(per_zone(&running(&client, "web").await), zones(&[("a", 1), ("b", 1), ("c", 1)]));
    assert_eq!(service_tasks(&client, "c", "web", "STOPPED").await.len(), 6);
}

#[tokio::test]
async fn a_replaced_task_goes_to_the_zone_missing_one() {
    let (emulator, client) = start().await;
    zoned_service(&client, 6).await;
    advance(&emulator, 30.0).await;
    let before = running(&client, "web").await;
    for zone in ["b", "c", "a"] {
        let current = running(&client, "web").await;
        let victim = current.iter().find(|t| t.availability_zone() == Some(&format!("us-east-1{zone}"))).unwrap();
        let arn = victim.task_arn().unwrap().to_owned();
        let (status, body) =
            admin(&emulator.endpoint(), Method::POST, "tasks/kill", json!({ "cluster": "c", "task": arn })).await;
        assert_eq!(status, 200, "{body}");
        advance(&emulator, 30.0).await;
        let after = running(&client, "web").await;
        let old: HashSet<&str> = current.iter().filter_map(|t| t.task_arn()).collect();
        let new: Vec<&Task> = after.iter().filter(|t| !old.contains(t.task_arn().unwrap())).collect();
        assert_eq!(new.len(), 1, "one replacement for {arn}");
        assert_eq!(new[0].availability_zone(), Some(format!("us-east-1{zone}").as_str()), "the replacement's zone");
        assert_eq!(per_zone(&after), zones(&[("a", 2), ("b", 2), ("c", 2)]));
    }
    assert_eq!(before.len(), 6);
}

#[tokio::test]
async fn run_task_count_spreads_and_the_eni_goes_through_its_lifecycle() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "job").await;
    let out = fargate_task(&client, "c", "job").network_configuration(vpc(&ZONED)).count(3).send().await.unwrap();
    let tasks = out.tasks().to_vec();
    assert_eq!(per_zone(&tasks), zones(&[("a", 1), ("b", 1), ("c", 1)]), "RunTask's count spreads over the zones");
    assert_zone_of_subnet(&tasks);
    for t in &tasks {
        assert_eq!(t.last_status(), Some("PROVISIONING"));
        assert_eq!(attachment_status(t), "ATTACHING");
        let ip = detail(t, "privateIPv4Address").expect("private address");
        let octets: Vec<u8> = ip.split('.').map(|o| o.parse().unwrap()).collect();
        assert_eq!(&octets[..2], [10, 0], "{ip}");
        assert_eq!(detail(t, "privateDnsName"), Some(format!("ip-{}.ec2.internal", ip.replace('.', "-")).as_str()));
        let eni = detail(t, "networkInterfaceId").unwrap();
        assert!(eni.starts_with("eni-") && eni.len() == 21, "{eni}");
        let mac = detail(t, "macAddress").unwrap();
        assert_eq!(mac.split(':').count(), 6, "{mac}");
        let interface = &t.containers()[0].network_interfaces()[0];
        assert_eq!(interface.private_ipv4_address(), Some(ip));
        assert_eq!(interface.attachment_id(), t.attachments()[0].id());
    }
    let ips: HashSet<&str> = tasks.iter().filter_map(|t| detail(t, "privateIPv4Address")).collect();
    assert_eq!(ips.len(), 3, "unique addresses");
    let arns: Vec<String> = tasks.iter().filter_map(|t| t.task_arn().map(str::to_owned)).collect();
    let describe = || async {
        client.describe_tasks().cluster("c").set_tasks(Some(arns.clone())).send().await.unwrap().tasks().to_vec()
    };

    advance(&emulator, 0.5).await;
    for t in describe().await {
        assert_eq!((t.last_status(), attachment_status(&t)), (Some("PENDING"), "ATTACHED"));
    }
    advance(&emulator, 5.0).await;
    for t in describe().await {
        assert_eq!((t.last_status(), attachment_status(&t)), (Some("RUNNING"), "ATTACHED"));
    }
    client.stop_task().cluster("c").task(&arns[0]).send().await.unwrap();
    // DEACTIVATING 0.25 s, STOPPING 0.5 s, then DEPROVISIONING detaches.
    advance(&emulator, 0.75).await;
    let t = &describe().await[0];
    assert_eq!((t.last_status(), attachment_status(t)), (Some("DEPROVISIONING"), "DETACHING"));
    advance(&emulator, 1.0).await;
    let stopped = describe().await.into_iter().find(|t| t.task_arn() == Some(arns[0].as_str())).unwrap();
    assert_eq!((stopped.last_status(), attachment_status(&stopped)), (Some("STOPPED"), "DELETED"));
    assert_eq!(
        detail(&stopped, "privateIPv4Address"),
        detail(&tasks[0], "privateIPv4Address"),
        "a stopped task still shows its ENI"
    );
}

#[tokio::test]
async fn private_addresses_are_unique_in_the_cluster() {
    let (emulator, client) = start().await;
    zoned_service(&client, 10).await;
    // RunTask in the same subnets, and one subnet of the cluster alone.
    fargate_task(&client, "c", "web").network_configuration(vpc(&ZONED)).count(10).send().await.unwrap();
    fargate_task(&client, "c", "web").network_configuration(vpc(&ZONED[..1])).count(10).send().await.unwrap();
    advance(&emulator, 30.0).await;
    let arns = client.list_tasks().cluster("c").send().await.unwrap().task_arns().to_vec();
    assert_eq!(arns.len(), 30);
    let mut ips = HashSet::new();
    for chunk in arns.chunks(100) {
        let tasks = client.describe_tasks().cluster("c").set_tasks(Some(chunk.to_vec())).send().await.unwrap();
        for t in tasks.tasks() {
            let ip = detail(t, "privateIPv4Address").expect("address").to_owned();
            assert!(ips.insert(ip.clone()), "{ip} given twice");
        }
    }
    assert_eq!(ips.len(), 30);
}

/// What the emulator chose for each task, in creation order.
async fn choices(seed: u64) -> Vec<(String, String, String, String, String, String)> {
    let (emulator, client) = start_with(EmulatorConfig { seed: Some(seed), ..EmulatorConfig::manual() }).await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "web").await;
    // Hashed subnet ids, and more tasks than zones, so ties are broken.
    let subnets = [
        "subnet-0123456789abcdef0",
        "subnet-0fedcba9876543210",
        "subnet-00000000000000001",
        "subnet-0aaaaaaaaaaaaaaaa",
    ];
    fargate_service(&client, "c", "web", "web")
        .network_configuration(vpc(&subnets))
        .desired_count(5)
        .send()
        .await
        .unwrap();
    fargate_task(&client, "c", "web").network_configuration(vpc(&subnets)).count(4).send().await.unwrap();
    advance(&emulator, 30.0).await;
    let arns = client.list_tasks().cluster("c").send().await.unwrap().task_arns().to_vec();
    let tasks = client.describe_tasks().cluster("c").set_tasks(Some(arns)).send().await.unwrap().tasks().to_vec();
    let mut seen: Vec<_> = tasks
        .iter()
        .map(|t| {
            let d = |name: &str| detail(t, name).unwrap_or_default().to_owned();
            (
                t.task_arn().unwrap().to_owned(),
                t.availability_zone().unwrap_or_default().to_owned(),
                d("subnetId"),
                d("privateIPv4Address"),
                d("networkInterfaceId"),
                d("macAddress"),
            )
        })
        .collect();
    seen.sort();
    // A subnet is always in the same zone.
    let mut zone_of = BTreeMap::new();
    for (_, zone, subnet, ..) in &seen {
        assert_eq!(zone_of.entry(subnet.clone()).or_insert_with(|| zone.clone()), zone, "{subnet}");
    }
    seen
}

#[tokio::test]
async fn the_same_seed_makes_the_same_choices() {
    let first = choices(42).await;
    assert_eq!(first.len(), 9);
    assert_eq!(first, choices(42).await);
}

#[tokio::test]
async fn the_admin_endpoint_says_where_a_subnet_is() {
    let (emulator, client) = start().await;
    let hashed = "subnet-0123456789abcdef0";
    let (status, body) =
        admin(&emulator.endpoint(), Method::GET, &format!("subnets?ids=subnet-0aa-az-b,{hashed}"), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["subnets"][0]["availabilityZone"], "us-east-1b");
    let zone = body["subnets"][1]["availabilityZone"].as_str().unwrap().to_owned();
    assert!(["us-east-1a", "us-east-1b", "us-east-1c"].contains(&zone.as_str()), "{body}");
    // The block is a /20 of 10.0.0.0/16.
    let cidr = body["subnets"][1]["cidrBlock"].as_str().unwrap().to_owned();
    let (network, bits) = cidr.split_once('/').unwrap();
    assert_eq!(bits, "20");
    let network: std::net::Ipv4Addr = network.parse().unwrap();
    assert_eq!(u32::from(network) & 0xffff_0fff, u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)), "{cidr}");

    // Tasks in that subnet are where the endpoint says, in its block.
    client.create_cluster().cluster_name("c").send().await.unwrap();
    register_fargate(&client, "job").await;
    let out = fargate_task(&client, "c", "job").network_configuration(vpc(&[hashed])).count(2).send().await.unwrap();
    for t in out.tasks() {
        assert_eq!(t.availability_zone(), Some(zone.as_str()));
        let ip: std::net::Ipv4Addr = detail(t, "privateIPv4Address").unwrap().parse().unwrap();
        assert_eq!(u32::from(ip) & !0xfff, u32::from(network), "{ip} in {cidr}");
    }
}

#[tokio::test]
async fn an_awsvpc_task_on_an_instance_takes_a_subnet_in_the_instance_zone() {
    let (_emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    client
        .register_task_definition()
        .family("ec2")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .container_definitions(nginx(None))
        .send()
        .await
        .unwrap();
    // The instance is in us-east-1b.
    register_instance(&client, "c").await;
    let out = client
        .run_task()
        .cluster("c")
        .task_definition("ec2")
        .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
        .network_configuration(vpc(&ZONED))
        .send()
        .await
        .unwrap();
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    let t = &out.tasks()[0];
    assert_eq!(t.availability_zone(), Some("us-east-1b"));
    assert_eq!(detail(t, "subnetId"), Some("subnet-0bb-az-b"));
    assert!(detail(t, "privateIPv4Address").is_some());
}

#[tokio::test]
async fn addresses_stay_unique_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig { state_dir: Some(dir.path().to_owned()), ..EmulatorConfig::manual() };
    let mut ips: Vec<String> = Vec::new();
    for round in 0..2 {
        let emulator = ecs_bridge::emulator::spawn(config.clone()).await.unwrap();
        let client = client_for(&emulator.endpoint());
        if round == 0 {
            client.create_cluster().cluster_name("c").send().await.unwrap();
            register_fargate(&client, "job").await;
        }
        let out =
            fargate_task(&client, "c", "job").network_configuration(vpc(&ZONED[..1])).count(5).send().await.unwrap();
        ips.extend(out.tasks().iter().map(|t| detail(t, "privateIPv4Address").unwrap().to_owned()));
        emulator.shutdown().await.unwrap();
    }
    let distinct: HashSet<&String> = ips.iter().collect();
    assert_eq!(distinct.len(), 10, "the restarted emulator knows the addresses in use: {ips:?}");
}
