//! The fuzzers' entry points (`fuzz/fuzz_targets/*.rs`), shared with the
//! stable test that replays what they found (`tests/emulator/fuzz_regressions.rs`),
//! so a finding is checked by the same code that found it. Each takes the raw
//! fuzz input, drives one parser of the emulator through the path a real
//! request takes, and names what went wrong: a 5xx (a handler's panic is
//! caught by the server and answered 500, so it counts), or an answer that is
//! not a well-formed AWS success or error. A panic outside a handler (the
//! simulation's tick after the requests) is not caught: it fails the caller.
//!
//! Every input runs on a fresh emulator ([`crate::emulator::fuzz`] makes it:
//! a fixed seed, a manual clock at [`START_MILLIS`]), so a finding
//! reproduces from its file alone.

use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::api::{Operation, PROTOCOLS, all_operations};
use super::server::{App, cbor_answer, handle_target, operation_named, query_answer, query_operation};
use super::sim::scheduler::advance;
use super::wire::cbor;

/// What a fuzz input made the emulator do wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Finding(pub String);

/// The result of one fuzz input.
pub type Checked = Result<(), Finding>;

/// A target's check of one input, on a fresh emulator.
pub type Check = fn(&App, &[u8]) -> Checked;

/// A fuzz target: its name (the file under `fuzz/fuzz_targets/`) and its check.
pub type Target = (&'static str, Check);

/// Every fuzz target, by name.
pub const TARGETS: &[Target] = &[
    ("request", request),
    ("cluster_query", cluster_query),
    ("task_definition", task_definition),
    ("cbor", cbor_request),
    ("query_protocol", query_protocol),
];

fn finding(what: impl Into<String>) -> Finding {
    Finding(what.into())
}

/// When every fuzzed emulator starts (2023-11-14T22:13:20Z), so a finding
/// that depends on the date reproduces too.
pub const START_MILLIS: i64 = 1_700_000_000_000;

/// Gives the fresh emulator (see [`crate::emulator::fuzz`]) a little ECS
/// state for requests to run into.
fn seed(app: &App) {
    for (op, body) in [
        ("CreateCluster", json!({})),
        ("CreateCluster", json!({"clusterName": "c", "capacityProviders": ["FARGATE"]})),
        (
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128,
                "portMappings": [{"containerPort": 80, "hostPort": 8080}]}]}),
        ),
        (
            "RegisterTaskDefinition",
            json!({"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                "memory": "512", "containerDefinitions": [{"name": "web", "image": "nginx"}]}),
        ),
        ("CreateService", json!({"serviceName": "s", "taskDefinition": "web", "desiredCount": 1})),
    ] {
        let (status, out) = ecs(app, op, &body);
        assert_eq!(status, 200, "seeding {op}: {out}");
    }
}

fn ecs(app: &App, op: &str, body: &Value) -> (u16, Value) {
    handle_target(app, Some(&format!("AmazonEC2ContainerServiceV20141113.{op}")), body.to_string().as_bytes())
}

/// A JSON answer is a 2xx or 4xx object; an error names its type and says why.
fn check_json(what: &str, status: u16, body: &Value, ecs: bool) -> Checked {
    if !(200..500).contains(&status) {
        return Err(finding(format!("{what}: status {status}: {body}")));
    }
    if !body.is_object() {
        return Err(finding(format!("{what}: the answer is not an object: {body}")));
    }
    if status >= 300 {
        let kind = body["__type"].as_str().unwrap_or_default();
        let message = body["message"].as_str().or(body["Message"].as_str()).unwrap_or_default();
        if kind.is_empty() || message.is_empty() || (ecs && !kind.ends_with("Exception")) {
            return Err(finding(format!("{what}: a malformed error: {status} {body}")));
        }
    }
    Ok(())
}

/// Moves the simulation on a minute, tick by tick: whatever the requests
/// left behind must not break it.
fn run_the_clock(app: &App) -> Checked {
    for _ in 0..3 {
        advance(&app.partitions, 20_000).map_err(|e| finding(format!("advance: {e}")))?;
    }
    Ok(())
}

/// The served JSON targets of every service (ECS, Logs, Auto Scaling,
/// Cloud Map, CloudWatch's JSON 1.0).
fn json_targets() -> Vec<String> {
    all_operations().map(|op| format!("{}{}", op.service.target_prefix, op.name)).collect()
}

/// `request`: the input is requests separated by NUL bytes; each one's first
/// byte picks a served operation of any service (or, one value in 256, takes
/// the body's start as the target), the rest is its body. They run in order
/// on one emulator, then the clock runs.
pub fn request(app: &App, data: &[u8]) -> Checked {
    seed(app);
    let targets = json_targets();
    for (n, part) in data.split(|b| *b == 0).enumerate().take(16) {
        let Some((&selector, body)) = part.split_first() else { continue };
        let target = match targets.get(usize::from(selector) % (targets.len() + 1)) {
            Some(target) => target.clone(),
            None => String::from_utf8_lossy(body.get(..body.len().min(60)).unwrap_or_default()).into_owned(),
        };
        let (status, out) = handle_target(app, Some(&target), body);
        let is_ecs = target.starts_with("AmazonEC2ContainerServiceV20141113.");
        check_json(&format!("request {n} ({target})"), status, &out, is_ecs)?;
    }
    run_the_clock(app)?;
    let (status, out) = ecs(app, "ListClusters", &json!({}));
    check_json("ListClusters after the clock ran", status, &out, true)
}

/// `cluster_query`: the input (as text) is a cluster query language
/// expression, given as ListContainerInstances' `filter` on a cluster of
/// instances with attributes and a running task, and as a `memberOf`
/// constraint of RunTask. A bad expression is an InvalidParameterException.
pub fn cluster_query(app: &App, data: &[u8]) -> Checked {
    seed(app);
    let text = String::from_utf8_lossy(data);
    let (status, out) = ecs(
        app,
        "PutAttributes",
        &json!({"cluster": "default", "attributes": [
            {"name": "color", "value": "blue", "targetType": "container-instance", "targetId": first_instance(app)?},
            {"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": first_instance(app)?}
        ]}),
    );
    check_json("PutAttributes", status, &out, true)?;
    let (status, out) = ecs(app, "ListContainerInstances", &json!({"cluster": "default", "filter": text}));
    check_query_answer("ListContainerInstances", status, &out)?;
    let (status, out) = ecs(
        app,
        "RunTask",
        &json!({"taskDefinition": "web", "placementConstraints": [{"type": "memberOf", "expression": text}]}),
    );
    check_json("RunTask memberOf", status, &out, true)?;
    run_the_clock(app)
}

fn first_instance(app: &App) -> Result<String, Finding> {
    let (status, out) = ecs(app, "ListContainerInstances", &json!({"cluster": "default"}));
    check_json("ListContainerInstances", status, &out, true)?;
    out["containerInstanceArns"][0].as_str().map(str::to_owned).ok_or_else(|| finding("no container instance"))
}

fn check_query_answer(what: &str, status: u16, out: &Value) -> Checked {
    check_json(what, status, out, true)?;
    if status != 200 && out["__type"] != "InvalidParameterException" {
        return Err(finding(format!("{what}: a bad expression is not an InvalidParameterException: {out}")));
    }
    Ok(())
}

/// `task_definition`: the input is a RegisterTaskDefinition body. What is
/// registered must describe back, run (on EC2, or Fargate when it asks for
/// it) and live through a minute of simulated time.
pub fn task_definition(app: &App, data: &[u8]) -> Checked {
    seed(app);
    let target = "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition";
    let (status, out) = handle_target(app, Some(target), data);
    check_json("RegisterTaskDefinition", status, &out, true)?;
    let Some(arn) = out["taskDefinition"]["taskDefinitionArn"].as_str() else {
        return if status == 200 { Err(finding(format!("registered without an ARN: {out}"))) } else { Ok(()) };
    };
    let (status, described) = ecs(app, "DescribeTaskDefinition", &json!({"taskDefinition": arn}));
    check_json("DescribeTaskDefinition", status, &described, true)?;
    if status != 200 {
        return Err(finding(format!("a registered task definition does not describe: {described}")));
    }
    let fargate =
        out["taskDefinition"]["requiresCompatibilities"].as_array().is_some_and(|c| c.contains(&json!("FARGATE")));
    let run = if fargate {
        json!({"cluster": "c", "taskDefinition": arn, "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-00000001"]}}})
    } else {
        json!({"taskDefinition": arn, "count": 2})
    };
    let (status, ran) = ecs(app, "RunTask", &run);
    check_json("RunTask", status, &ran, true)?;
    run_the_clock(app)?;
    let (status, out) = ecs(app, "DeregisterTaskDefinition", &json!({"taskDefinition": arn}));
    check_json("DeregisterTaskDefinition", status, &out, true)
}

/// `value` without its objects' null members, at any depth.
fn without_null_members(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, without_null_members(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_null_members).collect()),
        other => other,
    }
}

/// The operations served over Smithy RPC v2 CBOR, with their service's path name.
fn cbor_operations() -> Vec<(&'static str, Operation)> {
    all_operations()
        .filter_map(|op| {
            let service = PROTOCOLS.iter().find(|p| p.target_prefix == op.service.target_prefix)?.cbor_service?;
            Some((service, op))
        })
        .collect()
}

/// An answer's status and body.
fn parts(response: Response) -> Result<(u16, Vec<u8>), Finding> {
    let status = response.status().as_u16();
    let body = futures::executor::block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .map_err(|e| finding(format!("the answer's body: {e}")))?;
    Ok((status, body.to_vec()))
}

/// `cbor`: the first byte picks a CBOR-served operation (or a missing
/// one), the rest is its CBOR body. The answer is CBOR, a success or an
/// error with its type; and what the decoder reads, encoded again, reads
/// the same.
pub fn cbor_request(app: &App, data: &[u8]) -> Checked {
    let Some((&selector, body)) = data.split_first() else { return Ok(()) };
    if let Ok(value) = cbor::decode(body) {
        // Answers leave null members out (so does JSON's reading of a request).
        let value = without_null_members(value);
        let again = cbor::decode(&cbor::encode(&value, &[]));
        if again.as_ref().ok() != Some(&value) {
            return Err(finding(format!("CBOR does not round-trip: {value} became {again:?}")));
        }
    }
    seed(app);
    let operations = cbor_operations();
    let (service, name) = match operations.get(usize::from(selector) % (operations.len() + 1)) {
        Some((service, op)) => (*service, op.name.to_owned()),
        None => ("GraniteServiceVersion20100801", "NoSuchOperation".to_owned()),
    };
    let Some(served) = PROTOCOLS.iter().find(|p| p.cbor_service == Some(service)) else {
        return Err(finding(format!("{service} is not served over CBOR")));
    };
    let op = operation_named(&format!("{}{name}", served.target_prefix));
    let (status, bytes) = parts(cbor_answer(app, &HeaderMap::new(), served, op, Ok(body)))?;
    let answer = cbor::decode(&bytes).map_err(|e| finding(format!("{name}: the answer is not CBOR: {e}")))?;
    check_json(&format!("CBOR {service}.{name}"), status, &answer, false)
}

/// `query_protocol`: the input is a form-encoded query-protocol body
/// (`Action=…&Version=…&…`). The answer is XML: a result, or an
/// `<ErrorResponse>` with a code and a message.
pub fn query_protocol(app: &App, data: &[u8]) -> Checked {
    seed(app);
    let response = match query_operation(Ok(data)) {
        Ok((call, op)) => query_answer(app, &HeaderMap::new(), &call, op),
        Err(response) => *response,
    };
    let (status, bytes) = parts(response)?;
    let xml = String::from_utf8(bytes).map_err(|e| finding(format!("the answer is not UTF-8: {e}")))?;
    if !(200..500).contains(&status) {
        return Err(finding(format!("status {status}: {xml}")));
    }
    if !xml.starts_with("<?xml") && !xml.starts_with('<') {
        return Err(finding(format!("the answer is not XML: {xml}")));
    }
    if status >= 300 && !(xml.contains("<Code>") && xml.contains("<Message>")) {
        return Err(finding(format!("a malformed error: {status} {xml}")));
    }
    Ok(())
}
