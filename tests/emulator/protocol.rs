//! The wire protocol itself: targets, error shapes, malformed input, admin
//! endpoints, request counters.

use crate::support::{raw, start, target};
use serde_json::json;

#[tokio::test]
async fn success_has_ecs_content_type_and_request_id() {
    let (emulator, _client) = start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/", emulator.endpoint()))
        .header("x-amz-target", target("ListClusters"))
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-amz-json-1.1");
    let id = response.headers()["x-amzn-requestid"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "clusterArns": [] }), "no null nextToken on the last page");
}

#[tokio::test]
async fn unknown_and_missing_targets_are_named() {
    let (emulator, _client) = start().await;
    let endpoint = emulator.endpoint();
    let (status, body) = raw(&endpoint, Some(&target("FlyToTheMoon")), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
    assert!(body["message"].as_str().unwrap().contains("FlyToTheMoon"));

    let (status, body) = raw(&endpoint, None, "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");

    let (status, body) = raw(&endpoint, Some("DynamoDB_20120810.ListTables"), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn unimplemented_operations_say_so_and_never_succeed() {
    // Every operation of ECS's model is served (tests/emulator/coverage.rs);
    // the other services on the port still have a few that are not, and
    // those say so in their service's dialect.
    let (emulator, _client) = start().await;
    let (status, body) =
        raw(&emulator.endpoint(), Some("AnyScaleFrontendService.GetPredictiveScalingForecast"), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "UnsupportedFeatureException");
    assert!(body["Message"].as_str().unwrap().contains("not supported by this emulator"), "{body}");
}

#[tokio::test]
async fn malformed_bodies_get_serialization_errors_naming_the_problem() {
    let (emulator, _client) = start().await;
    let endpoint = emulator.endpoint();
    let (status, body) = raw(&endpoint, Some(&target("CreateCluster")), "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");

    let (status, body) = raw(&endpoint, Some(&target("CreateCluster")), r#"{"clusterName": 42}"#).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");
    assert!(body["message"].as_str().unwrap().contains("clusterName"), "{body}");

    let (status, body) = raw(
        &endpoint,
        Some(&target("RegisterTaskDefinition")),
        r#"{"family":"x","containerDefinitions":[{"name":"a","image":"b","memory":"lots"}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");
    assert!(body["message"].as_str().unwrap().contains("containerDefinitions[0].memory"), "{body}");

    let (status, body) = raw(&endpoint, Some(&target("ListClusters")), "[1,2]").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");

    let (status, body) = raw(&endpoint, Some(&target("ListClusters")), "{} trailing").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");

    // An empty body is an empty input.
    let (status, _) = raw(&endpoint, Some(&target("ListClusters")), "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn missing_required_members_are_named() {
    let (emulator, _client) = start().await;
    let (status, body) = raw(&emulator.endpoint(), Some(&target("DeleteCluster")), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
    assert!(body["message"].as_str().unwrap().contains("'cluster'"), "{body}");

    let (status, body) = raw(&emulator.endpoint(), Some(&target("RegisterTaskDefinition")), r#"{"family":"f"}"#).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("containerDefinitions"), "{body}");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let (emulator, _client) = start().await;
    let huge = format!(r#"{{"clusterName":"{}"}}"#, "a".repeat(2 * 1024 * 1024));
    let (status, body) = raw(&emulator.endpoint(), Some(&target("CreateCluster")), &huge).await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "SerializationException");
}

#[tokio::test]
async fn other_paths_answer_json_404() {
    let (emulator, _client) = start().await;
    let response = reqwest::get(format!("{}/nope", emulator.endpoint())).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "UnknownOperationException");
}

#[tokio::test]
async fn admin_health_state_reset_and_stats() {
    let (emulator, client) = start().await;
    let base = emulator.endpoint();
    let http = reqwest::Client::new();
    let health: serde_json::Value =
        http.get(format!("{base}/_emulator/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["accountId"], "000000000000");

    client.create_cluster().cluster_name("one").send().await.unwrap();
    client.create_cluster().cluster_name("two").send().await.unwrap();
    client.list_clusters().send().await.unwrap();

    let stats: serde_json::Value =
        http.get(format!("{base}/_emulator/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["CreateCluster"], 2);
    assert_eq!(stats["ListClusters"], 1);
    assert!(stats.get("DeleteCluster").is_none());
    assert_eq!(emulator.stats()["CreateCluster"], 2);

    let dump: serde_json::Value =
        http.get(format!("{base}/_emulator/state")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        dump["clusters"].as_array().unwrap().iter().map(|c| c["cluster"]["clusterName"].as_str().unwrap()).collect();
    assert_eq!(names, ["one", "two"]);

    let reset = http.post(format!("{base}/_emulator/reset")).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    let clusters = client.list_clusters().send().await.unwrap();
    assert!(clusters.cluster_arns().is_empty());

    http.post(format!("{base}/_emulator/stats/reset")).send().await.unwrap();
    let stats: serde_json::Value =
        http.get(format!("{base}/_emulator/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats, json!({}));
}
