//! Property-based fuzzing of the request path: random targets and bodies
//! (bytes, arbitrary JSON, and near-valid inputs built from ECS member names)
//! never panic, never answer 500, and always produce a well-formed ECS
//! success or error. The cargo-fuzz target in `fuzz/` drives the same entry
//! point with coverage guidance.

use axum::http::{HeaderMap, HeaderValue};
use ecs_bridge::emulator::{App, OPERATIONS, UNSUPPORTED_OPERATIONS, handle};
use ecs_bridge::emulator::{EmulatorConfig, build_app};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde_json::{Value, json};

const MEMBERS: &[&str] = &[
    "cluster",
    "clusterName",
    "clusters",
    "services",
    "service",
    "serviceName",
    "taskDefinition",
    "family",
    "containerDefinitions",
    "name",
    "image",
    "memory",
    "memoryReservation",
    "cpu",
    "essential",
    "portMappings",
    "containerPort",
    "hostPort",
    "protocol",
    "networkMode",
    "requiresCompatibilities",
    "desiredCount",
    "launchType",
    "capacityProviderStrategy",
    "networkConfiguration",
    "awsvpcConfiguration",
    "subnets",
    "count",
    "clientToken",
    "tasks",
    "task",
    "include",
    "maxResults",
    "nextToken",
    "status",
    "sort",
    "familyPrefix",
    "tags",
    "key",
    "value",
    "tagKeys",
    "resourceArn",
    "containerInstances",
    "containerInstance",
    "attributes",
    "targetId",
    "targetType",
    "filter",
    "force",
    "startedBy",
    "group",
    "overrides",
    "deploymentConfiguration",
    "maximumPercent",
    "placementConstraints",
    "type",
    "expression",
    "dependsOn",
    "containerName",
    "condition",
    "healthCheck",
    "command",
    "taskDefinitions",
    "totalResources",
    "integerValue",
    "settings",
    "desiredStatus",
    "schedulingStrategy",
];

fn app() -> std::sync::Arc<App> {
    let app = build_app(&EmulatorConfig::default()).expect("app");
    // Some state for random requests to run into.
    for (op, body) in [
        ("CreateCluster", json!({})),
        ("CreateCluster", json!({"clusterName": "c", "capacityProviders": ["FARGATE"]})),
        (
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128, "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}),
        ),
        (
            "RegisterTaskDefinition",
            json!({"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "web", "image": "nginx"}]}),
        ),
        ("RegisterContainerInstance", json!({"cluster": "default"})),
        ("CreateService", json!({"serviceName": "s", "taskDefinition": "web", "desiredCount": 1})),
    ] {
        let (status, body) = call(&app, op, body.to_string().as_bytes());
        assert_eq!(status, 200, "{op}: {body}");
    }
    app
}

fn call(app: &App, op: &str, body: &[u8]) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&format!("AmazonEC2ContainerServiceV20141113.{op}")) {
        headers.insert("x-amz-target", v);
    }
    handle(app, &headers, body)
}

pub fn check(status: u16, body: &Value) -> Result<(), TestCaseError> {
    prop_assert!(status == 200 || status == 400, "status {status}: {body}");
    prop_assert!(body.is_object(), "body is not an object: {body}");
    if status == 400 {
        let shape = body["__type"].as_str().unwrap_or_default();
        prop_assert!(shape.ends_with("Exception"), "bad __type: {body}");
        prop_assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {body}");
    }
    Ok(())
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1000i64..70000).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9:/_ .*=!~-]{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "web",
            "web:1",
            "fg",
            "c",
            "default",
            "s",
            "FARGATE",
            "EC2",
            "awsvpc",
            "bridge",
            "TAGS",
            "ACTIVE",
            "DESC",
            "arn:aws:ecs:us-east-1:000000000000:cluster/c"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(MEMBERS), inner), 0..8)
                .prop_map(|kvs| Value::Object(kvs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

fn operation() -> impl Strategy<Value = String> {
    let known: Vec<String> = OPERATIONS
        .iter()
        .map(|(n, _)| (*n).to_owned())
        .chain(UNSUPPORTED_OPERATIONS.iter().map(|n| (*n).to_owned()))
        .collect();
    prop_oneof![
        8 => prop::sample::select(known),
        1 => "[A-Za-z]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn structured_json_never_breaks_the_server(op in operation(), body in any_json()) {
        let app = APP.with(|a| a.clone());
        let (status, response) = call(&app, &op, body.to_string().as_bytes());
        check(status, &response)?;
    }

    #[test]
    fn arbitrary_bytes_never_break_the_server(op in operation(), body in prop::collection::vec(any::<u8>(), 0..256)) {
        let app = APP.with(|a| a.clone());
        let (status, response) = call(&app, &op, &body);
        check(status, &response)?;
    }

    #[test]
    fn arbitrary_targets_never_break_the_server(target in ".{0,80}", body in "\\PC{0,64}") {
        let app = APP.with(|a| a.clone());
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&target) {
            headers.insert("x-amz-target", v);
        }
        let (status, response) = handle(&app, &headers, body.as_bytes());
        check(status, &response)?;
    }
}

thread_local! {
    /// One app per test thread, shared by its cases, so state accumulates
    /// across random requests like on a long-running server.
    static APP: std::sync::Arc<App> = app();
}

#[tokio::test]
async fn fuzzed_requests_over_http_get_ecs_answers() {
    let (emulator, _client) = crate::support::start().await;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (operation(), any_json());
    let mut cases = Vec::new();
    for _ in 0..200 {
        cases.push(strategy.new_tree(&mut runner).unwrap().current());
    }
    for (op, body) in cases {
        let (status, response) =
            crate::support::raw(&emulator.endpoint(), Some(&crate::support::target(&op)), &body.to_string()).await;
        assert!(status == 200 || status == 400, "{op} {body}: {status} {response}");
    }
    // Still healthy afterwards.
    let health = reqwest::get(format!("{}/_emulator/health", emulator.endpoint())).await.unwrap();
    assert_eq!(health.status(), 200);
}
