//! Fault injection through the admin endpoints: throttling one operation or
//! all, server errors at a (seeded) rate, added latency, and ECS's own token
//! buckets refilling on the emulator's clock.

use std::time::{Duration, Instant};

use ecs_bridge::emulator::EmulatorConfig;
use reqwest::Method;
use serde_json::json;

use crate::support::{admin, advance, assert_error, start, start_with};

#[tokio::test]
async fn throttle_one_operation_a_number_of_times() {
    let (emulator, client) = start().await;
    client.create_cluster().cluster_name("c").send().await.unwrap();
    let (status, rule) = admin(
        &emulator.endpoint(),
        Method::POST,
        "faults",
        json!({ "operation": "DescribeClusters", "kind": "throttle", "count": 2 }),
    )
    .await;
    assert_eq!(status, 200, "{rule}");
    for _ in 0..2 {
        assert_error(
            client.describe_clusters().clusters("c").send().await,
            "ThrottlingException",
            Some("Rate exceeded"),
        );
    }
    client.describe_clusters().clusters("c").send().await.expect("the rule retired after two hits");
    client.list_clusters().send().await.expect("other operations are untouched");
    let (_, listed) = admin(&emulator.endpoint(), Method::GET, "faults", json!({})).await;
    assert_eq!(listed["rules"][0]["count"], 0);
    assert_eq!(listed["throttling"], false);
    // Requests that were refused still count in the stats.
    assert_eq!(emulator.stats()["DescribeClusters"], 3);
}

#[tokio::test]
async fn server_errors_on_every_operation_until_removed() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    let (status, _) = admin(&endpoint, Method::POST, "faults", json!({ "kind": "serverError" })).await;
    assert_eq!(status, 200);
    let err = client.list_clusters().send().await.unwrap_err();
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_error(client.create_cluster().cluster_name("c").send().await, "ServerException", None);
    let (_, removed) = admin(&endpoint, Method::DELETE, "faults", json!({})).await;
    assert_eq!(removed["removed"], 1);
    client.create_cluster().cluster_name("c").send().await.unwrap();
    // Bad rules are refused.
    for bad in [
        json!({ "kind": "explode" }),
        json!({ "kind": "throttle", "rate": 2 }),
        json!({ "kind": "throttle", "operation": "NoSuchOperation" }),
        json!({ "kind": "latency" }),
    ] {
        let (status, _) = admin(&endpoint, Method::POST, "faults", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
}

#[tokio::test]
async fn a_rate_hits_the_same_requests_with_the_same_seed() {
    async fn pattern(seed: u64) -> Vec<bool> {
        let (emulator, client) = start_with(EmulatorConfig { seed: Some(seed), ..EmulatorConfig::manual() }).await;
        admin(
            &emulator.endpoint(),
            Method::POST,
            "faults",
            json!({ "operation": "ListClusters", "kind": "throttle", "rate": 0.5 }),
        )
        .await;
        let mut hits = Vec::new();
        for _ in 0..40 {
            hits.push(client.list_clusters().send().await.is_err());
        }
        hits
    }
    let first = pattern(11).await;
    assert_eq!(first, pattern(11).await);
    let hit = first.iter().filter(|h| **h).count();
    assert!((8..=32).contains(&hit), "about half of 40 requests: {hit}");
}

#[tokio::test]
async fn latency_is_added_to_matching_operations() {
    let (emulator, client) = start().await;
    admin(
        &emulator.endpoint(),
        Method::POST,
        "faults",
        json!({ "operation": "ListClusters", "kind": "latency", "latencyMillis": 400 }),
    )
    .await;
    let started = Instant::now();
    client.list_clusters().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
}

#[tokio::test]
async fn ecs_token_buckets_refill_on_the_emulator_clock() {
    let (emulator, client) = start().await;
    let (status, _) = admin(&emulator.endpoint(), Method::POST, "throttling", json!({ "enabled": true })).await;
    assert_eq!(status, 200);
    // Cluster modify: a burst of 20, one more per second.
    for i in 0..20 {
        client
            .create_cluster()
            .cluster_name(format!("c{i}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e:?}"));
    }
    assert_error(
        client.create_cluster().cluster_name("late").send().await,
        "ThrottlingException",
        Some("Rate exceeded"),
    );
    assert_error(client.delete_cluster().cluster("c0").send().await, "ThrottlingException", Some("Rate exceeded"));
    client.describe_clusters().clusters("c0").send().await.expect("cluster reads have their own bucket");
    advance(&emulator, 1.0).await;
    client.create_cluster().cluster_name("late").send().await.expect("a token came back after a second");
    assert_error(client.create_cluster().cluster_name("later").send().await, "ThrottlingException", None);
    admin(&emulator.endpoint(), Method::POST, "throttling", json!({ "enabled": false })).await;
    client.create_cluster().cluster_name("later").send().await.unwrap();
}
