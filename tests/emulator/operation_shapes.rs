//! Property test of every ECS operation against its own input shape: the
//! members each operation's model names (read from the `aws-sdk-ecs` source
//! this build resolved: its schema members, struct fields and enum values),
//! filled with values of the right type and, now and then, the wrong one;
//! besides, wrong shapes altogether (not an object, unknown members, deep
//! nesting). Sequences of such requests run against one emulator, reusing
//! the ARNs earlier answers named, and:
//! - every answer is a success or an ECS error (400, a `__type` ending in
//!   `Exception`, a message), never a 500;
//! - a minute of simulated time then passes without a panic;
//! - afterwards the state is consistent: each cluster's task and service
//!   counts are what its tasks and services show; each service's running
//!   and pending counts are those of the tasks its deployments and task sets
//!   started, and each of its live tasks belongs to exactly one of them;
//!   every task's task definition describes, and a live EC2 task's
//!   container instance is registered in its cluster.
//!
//! Runs in-process through the same request path as HTTP (`handle_target`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use ecs_bridge::emulator::{App, EmulatorConfig, OPERATIONS, advance, build_app, handle_target};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// What a member holds, as the model says.
#[derive(Clone, Debug)]
enum Kind {
    /// Text; an enum's values when it is one.
    Text(Vec<String>),
    Integer,
    Double,
    Boolean,
    Timestamp,
    Structure(String),
    List(Box<Kind>),
    Map,
    /// A document or blob: anything.
    Any,
}

#[derive(Clone, Debug)]
struct Member {
    name: String,
    kind: Kind,
}

/// The structures of the ECS model (operation inputs included), by name.
struct Model {
    structures: BTreeMap<String, Vec<Member>>,
}

/// `deploymentConfiguration` and `deployment_configuration` meet here.
fn normalized(name: &str) -> String {
    name.trim_start_matches("r#").replace('_', "").to_lowercase()
}

/// The quoted strings of `text`, in order.
fn quoted(text: &str) -> impl Iterator<Item = &str> {
    text.split('"').skip(1).step_by(2)
}

/// A Rust field type's element kind: `Vec<crate::types::X>` → X's kind.
fn rust_kind(rust: &str, enums: &BTreeMap<String, Vec<String>>, structs: &BTreeSet<String>) -> Kind {
    let inner = rust.rsplit("crate::types::").next().unwrap_or(rust);
    let name: String = inner.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if rust.contains("crate::types::") {
        if structs.contains(&name) {
            return Kind::Structure(name);
        }
        return Kind::Text(enums.get(&name).cloned().unwrap_or_default());
    }
    if rust.contains("HashMap") {
        Kind::Map
    } else if rust.contains("i32") || rust.contains("i64") {
        Kind::Integer
    } else if rust.contains("f64") || rust.contains("f32") {
        Kind::Double
    } else if rust.contains("bool") {
        Kind::Boolean
    } else if rust.contains("DateTime") {
        Kind::Timestamp
    } else if rust.contains("String") {
        Kind::Text(Vec::new())
    } else {
        Kind::Any
    }
}

fn read_model() -> Model {
    let source = crate::coverage::sdk_source();
    let mut files = Vec::new();
    let mut push_dir = |dir: &Path, filter: &dyn Fn(&str) -> bool| {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            if path.is_file() && filter(&name) {
                files.push(std::fs::read_to_string(&path).expect("model source"));
            }
        }
    };
    push_dir(&source.join("types"), &|n| n.starts_with('_') && n.ends_with(".rs"));
    for entry in std::fs::read_dir(source.join("operation")).expect("operation directory") {
        let dir = entry.expect("directory entry").path();
        if dir.is_dir() {
            push_dir(&dir, &|n| n.ends_with("_input.rs"));
        }
    }
    // Enums: `"EC2" => LaunchType::Ec2,` in their `From<&str>`.
    let mut enums: BTreeMap<String, Vec<String>> = BTreeMap::new();
    // Struct fields: struct → normalized field → Rust type.
    let mut fields: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for text in &files {
        for block in text.split("\npub enum ").skip(1) {
            let name: String = block.chars().take_while(|c| c.is_alphanumeric()).collect();
            let arrow = format!(" => {name}::");
            let values = text
                .lines()
                .filter(|l| l.contains(&arrow) && l.trim_start().starts_with('"'))
                .filter_map(|l| quoted(l).next().map(str::to_owned))
                .collect();
            enums.insert(name, values);
        }
        for block in text.split("\npub struct ").skip(1) {
            let name: String = block.chars().take_while(|c| c.is_alphanumeric()).collect();
            let body = block.split("\n}").next().unwrap_or_default();
            let members = body
                .lines()
                .filter_map(|l| l.trim().strip_prefix("pub "))
                .filter_map(|l| l.split_once(": "))
                .map(|(field, rust)| (normalized(field), rust.trim_end_matches(',').to_owned()))
                .collect();
            fields.insert(name, members);
        }
    }
    let struct_names: BTreeSet<String> = fields.keys().cloned().collect();
    let mut structures: BTreeMap<String, Vec<Member>> =
        struct_names.iter().map(|name| (name.clone(), Vec::new())).collect();
    for text in &files {
        for schema in text.split("Schema::new_member(").skip(1) {
            let Some(id) = quoted(schema).next() else { continue };
            let Some((owner, _)) = id.rsplit('#').next().and_then(|s| s.split_once('$')) else { continue };
            let Some(after) = schema.split("ShapeType::").nth(1) else { continue };
            let shape: String = after.chars().take_while(|c| c.is_alphanumeric()).collect();
            let Some(name) = quoted(after).next() else { continue };
            let Some(rust) = fields.get(owner).and_then(|f| f.get(&normalized(name))) else { continue };
            let element = rust_kind(rust, &enums, &struct_names);
            let kind = match shape.as_str() {
                "List" | "Set" => Kind::List(Box::new(element)),
                "Map" => Kind::Map,
                "Structure" | "Union" => element,
                "Integer" | "Long" | "Short" | "Byte" => Kind::Integer,
                "Double" | "Float" => Kind::Double,
                "Boolean" => Kind::Boolean,
                "Timestamp" => Kind::Timestamp,
                "String" | "Enum" => element,
                _ => Kind::Any,
            };
            structures.entry(owner.to_owned()).or_default().push(Member { name: name.to_owned(), kind });
        }
    }
    Model { structures }
}

fn model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(read_model)
}

/// A small deterministic generator: each request is built from one seed, so
/// proptest shrinks a failing sequence by dropping requests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// Names and values worth reusing: the seeded state's, and every ARN an
/// answer has named so far.
struct Pool {
    texts: Vec<String>,
}

impl Pool {
    fn new() -> Self {
        let texts = [
            "c",
            "default",
            "web",
            "web:1",
            "fg",
            "fg:1",
            "s",
            "nginx",
            "256",
            "512",
            "subnet-00000001",
            "sg-00000001",
            "attribute:ecs.availability-zone",
            "arn:aws:ecs:us-east-1:000000000000:cluster/c",
            "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
            "",
        ];
        Self { texts: texts.iter().map(|s| (*s).to_owned()).collect() }
    }

    /// Keeps the ARNs an answer names (up to a bound).
    fn learn(&mut self, answer: &Value) {
        match answer {
            Value::String(s) if s.starts_with("arn:aws:ecs:") && self.texts.len() < 400 && !self.texts.contains(s) => {
                self.texts.push(s.clone());
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn(v)),
            Value::Object(members) => members.values().for_each(|v| self.learn(v)),
            _ => {}
        }
    }
}

fn text(rng: &mut Rng, pool: &Pool, values: &[String]) -> Value {
    Value::String(match rng.below(10) {
        0 => "€".repeat(rng.below(800)),
        1 => "x".repeat(rng.below(3000)),
        2 | 3 => pool.texts[rng.below(pool.texts.len())].clone(),
        _ => rng.pick(values).cloned().unwrap_or_else(|| pool.texts[rng.below(pool.texts.len())].clone()),
    })
}

fn integer(rng: &mut Rng) -> Value {
    let extremes = [0, 1, 2, 3, 10, 100, -1, i64::from(i32::MAX), i64::from(i32::MIN), i64::MAX, i64::MIN];
    if rng.chance(60) { json!(rng.below(12) as i64) } else { json!(extremes[rng.below(extremes.len())]) }
}

/// A value of the wrong type for `kind` (or, rarely, the right one).
fn wrong(rng: &mut Rng, kind: &Kind) -> Value {
    let options =
        [json!(null), json!(true), json!(-7), json!(1.5e300), json!("seven"), json!([1, "a"]), json!({"a": 1})];
    let chosen = options[rng.below(options.len())].clone();
    match (kind, &chosen) {
        (Kind::Text(_), Value::String(_)) => json!(3),
        _ => chosen,
    }
}

/// A value of `kind`: right-typed, except one time in `wrong_in`
/// (`usize::MAX`: never).
fn value(rng: &mut Rng, pool: &Pool, kind: &Kind, depth: usize, wrong_in: usize) -> Value {
    if rng.below(wrong_in) == 0 {
        return wrong(rng, kind);
    }
    match kind {
        Kind::Text(values) => text(rng, pool, values),
        Kind::Integer => integer(rng),
        Kind::Double => json!([0.0, 0.5, 99.9, -1.0, 1e12][rng.below(5)]),
        Kind::Boolean => json!(rng.chance(50)),
        Kind::Timestamp => json!([0, 1_700_000_000, -1, 4_000_000_000_i64][rng.below(4)]),
        Kind::Map => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                let key = text(rng, pool, &[]).as_str().unwrap_or_default().chars().take(40).collect();
                map.insert(key, text(rng, pool, &[]));
            }
            Value::Object(map)
        }
        Kind::List(element) if depth < 6 => {
            Value::Array((0..rng.below(4)).map(|_| value(rng, pool, element, depth + 1, wrong_in)).collect())
        }
        Kind::Structure(name) if depth < 6 => structure(rng, pool, name, depth + 1, wrong_in),
        Kind::List(_) | Kind::Structure(_) => json!([]),
        Kind::Any => wrong(rng, kind),
    }
}

/// An object of `name`'s members, each present at random.
fn structure(rng: &mut Rng, pool: &Pool, name: &str, depth: usize, wrong_in: usize) -> Value {
    let mut object = Map::new();
    for member in model().structures.get(name).map(Vec::as_slice).unwrap_or_default() {
        if rng.chance(if depth == 0 { 80 } else { 50 }) {
            object.insert(member.name.clone(), value(rng, pool, &member.kind, depth, wrong_in));
        }
    }
    Value::Object(object)
}

/// A request body for `op`: of its shape (right types mostly, or any
/// types), or of a wrong shape altogether.
fn body(rng: &mut Rng, pool: &Pool, op: &str) -> Value {
    let input = format!("{op}Input");
    match rng.below(20) {
        0..=9 => structure(rng, pool, &input, 0, usize::MAX),
        10..=13 => structure(rng, pool, &input, 0, 12),
        14..=15 => structure(rng, pool, &input, 0, 2),
        16 => json!([structure(rng, pool, &input, 0, 12)]),
        17 => wrong(rng, &Kind::Any),
        18 => {
            let mut nested = json!({});
            for depth in 0..rng.below(200) {
                nested = if depth % 2 == 0 { json!({ "cluster": nested }) } else { json!([nested]) };
            }
            nested
        }
        _ => {
            let mut object = structure(rng, pool, &input, 0, 12);
            object["unknownMember"] = json!("x");
            object
        }
    }
}

fn app() -> Arc<App> {
    let config = EmulatorConfig { seed: Some(11), ec2_capacity: 2, ..EmulatorConfig::manual() };
    let app = build_app(&config).expect("emulator state");
    for (op, body) in [
        ("CreateCluster", json!({})),
        ("CreateCluster", json!({"clusterName": "c", "capacityProviders": ["FARGATE"]})),
        (
            "RegisterTaskDefinition",
            json!({"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 128}]}),
        ),
        (
            "RegisterTaskDefinition",
            json!({"family": "fg", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
                "memory": "512", "containerDefinitions": [{"name": "web", "image": "nginx"}]}),
        ),
        ("CreateService", json!({"serviceName": "s", "taskDefinition": "web", "desiredCount": 2})),
        ("RunTask", json!({"taskDefinition": "web", "count": 1})),
    ] {
        let (status, out) = ecs(&app, op, &body);
        assert_eq!(status, 200, "{op}: {out}");
    }
    app
}

fn ecs(app: &App, op: &str, body: &Value) -> (u16, Value) {
    handle_target(app, Some(&format!("AmazonEC2ContainerServiceV20141113.{op}")), body.to_string().as_bytes())
}

/// A call the checks rely on: it must succeed.
fn must(app: &App, op: &str, body: Value) -> Result<Value, TestCaseError> {
    let (status, out) = ecs(app, op, &body);
    prop_assert_eq!(status, 200, "{} {}: {}", op, body, out);
    Ok(out)
}

/// A success or an ECS error (the request path fuzz test's check), named.
fn check_answer(op: &str, body: &Value, status: u16, out: &Value) -> Result<(), TestCaseError> {
    crate::fuzz::check(status, out).map_err(|e| TestCaseError::fail(format!("{op} {body}: {e}")))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// Every task of `cluster` still listed (running or stopped), described.
fn tasks_of(app: &App, cluster: &str, filter: &Value) -> Result<Vec<Value>, TestCaseError> {
    let mut arns = Vec::new();
    for desired in ["RUNNING", "STOPPED"] {
        let mut request = json!({"cluster": cluster, "desiredStatus": desired, "maxResults": 100});
        if let (Some(r), Some(f)) = (request.as_object_mut(), filter.as_object()) {
            r.extend(f.clone());
        }
        arns.extend(strings(&must(app, "ListTasks", request)?["taskArns"]));
    }
    let mut tasks = Vec::new();
    for chunk in arns.chunks(100) {
        tasks.extend(
            must(app, "DescribeTasks", json!({"cluster": cluster, "tasks": chunk}))?["tasks"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    Ok(tasks)
}

fn is_pending(task: &Value) -> bool {
    matches!(task["lastStatus"].as_str(), Some("PROVISIONING" | "PENDING" | "ACTIVATING"))
}

/// The state's invariants, checked through the API.
fn check_state(app: &App) -> Result<(), TestCaseError> {
    let clusters = strings(&must(app, "ListClusters", json!({"maxResults": 100}))?["clusterArns"]);
    let described = must(app, "DescribeClusters", json!({"clusters": clusters}))?;
    for cluster in described["clusters"].as_array().cloned().unwrap_or_default() {
        let arn = cluster["clusterArn"].as_str().unwrap_or_default().to_owned();
        let tasks = tasks_of(app, &arn, &json!({}))?;
        let count = |status: &str| tasks.iter().filter(|t| t["lastStatus"] == status).count() as i64;
        prop_assert_eq!(cluster["runningTasksCount"].as_i64(), Some(count("RUNNING")), "{}", arn);
        prop_assert_eq!(cluster["pendingTasksCount"].as_i64(), Some(count("PENDING")), "{}", arn);
        let instances = strings(
            &must(app, "ListContainerInstances", json!({"cluster": arn, "maxResults": 100}))?["containerInstanceArns"],
        );
        for task in &tasks {
            prop_assert_eq!(&task["clusterArn"], &json!(arn));
            let definition = task["taskDefinitionArn"].as_str().unwrap_or_default();
            must(app, "DescribeTaskDefinition", json!({"taskDefinition": definition}))?;
            if let Some(instance) = task["containerInstanceArn"].as_str()
                && task["lastStatus"] != "STOPPED"
            {
                prop_assert!(instances.iter().any(|i| i == instance), "task {} on unknown {instance}", task["taskArn"]);
            }
        }
        let services = strings(&must(app, "ListServices", json!({"cluster": arn, "maxResults": 100}))?["serviceArns"]);
        prop_assert_eq!(cluster["activeServicesCount"].as_i64(), Some(services.len() as i64), "{}", arn);
        for chunk in services.chunks(10) {
            let described = must(app, "DescribeServices", json!({"cluster": arn, "services": chunk}))?;
            for service in described["services"].as_array().cloned().unwrap_or_default() {
                check_service(app, &arn, &service)?;
            }
        }
    }
    Ok(())
}

fn check_service(app: &App, cluster: &str, service: &Value) -> Result<(), TestCaseError> {
    let name = service["serviceName"].as_str().unwrap_or_default();
    let owners: Vec<Value> = ["deployments", "taskSets"]
        .iter()
        .flat_map(|k| service[*k].as_array().cloned().unwrap_or_default())
        .map(|o| o["id"].clone())
        .collect();
    let live: Vec<Value> = tasks_of(app, cluster, &json!({"serviceName": name}))?
        .into_iter()
        .filter(|t| t["lastStatus"] != "STOPPED")
        .collect();
    for task in &live {
        let mine = owners.iter().filter(|o| **o == task["startedBy"]).count();
        prop_assert_eq!(mine, 1, "{} task {} started by {} of {:?}", name, task["taskArn"], task["startedBy"], owners);
    }
    let running = live.iter().filter(|t| t["lastStatus"] == "RUNNING").count() as i64;
    let pending = live.iter().filter(|t| is_pending(t)).count() as i64;
    prop_assert_eq!(
        (service["runningCount"].as_i64(), service["pendingCount"].as_i64()),
        (Some(running), Some(pending)),
        "service {}",
        name
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_operation_of_its_own_shape_gets_an_ecs_answer_and_the_state_holds(
        requests in prop::collection::vec((0..OPERATIONS.len(), any::<u64>()), 1..60),
    ) {
        let app = app();
        let mut pool = Pool::new();
        for (index, seed) in requests {
            let op = OPERATIONS[index].0;
            let body = body(&mut Rng(seed), &pool, op);
            let (status, out) = ecs(&app, op, &body);
            check_answer(op, &body, status, &out)?;
            pool.learn(&out);
        }
        for _ in 0..3 {
            advance(&app.partitions, 20_000).expect("manual clock");
        }
        check_state(&app)?;
    }
}

/// Every operation, on its own, gets requests of its shape: no operation is
/// left out of the sequences by chance, and the model is read for each.
#[test]
fn each_operation_answers_its_own_shapes() {
    let app = app();
    let mut pool = Pool::new();
    let mut failures = Vec::new();
    for (op, _) in OPERATIONS {
        assert!(model().structures.contains_key(&format!("{op}Input")), "the model has no input for {op}");
        for seed in 0..6u64 {
            let body = body(&mut Rng(seed ^ op.len() as u64), &pool, op);
            let (status, out) = ecs(&app, op, &body);
            if let Err(e) = check_answer(op, &body, status, &out) {
                failures.push(e.to_string());
            }
            pool.learn(&out);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    advance(&app.partitions, 60_000).expect("manual clock");
    if let Err(e) = check_state(&app) {
        panic!("{e}");
    }
}

/// The model is read as the SDK has it: members, their types, nested
/// structures and enum values (else the requests above would be shapeless).
#[test]
fn the_model_is_read_with_members_types_and_enums() {
    let members = |owner: &str| model().structures.get(owner).cloned().unwrap_or_default();
    let member = |owner: &str, name: &str| {
        members(owner).into_iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{owner}.{name}"))
    };
    assert!(members("CreateServiceInput").len() > 20, "{:?}", members("CreateServiceInput"));
    assert!(matches!(member("CreateServiceInput", "desiredCount").kind, Kind::Integer));
    assert!(
        matches!(&member("CreateServiceInput", "launchType").kind, Kind::Text(v) if v.contains(&"FARGATE".to_owned()))
    );
    assert!(
        matches!(&member("CreateServiceInput", "deploymentConfiguration").kind, Kind::Structure(s) if s == "DeploymentConfiguration")
    );
    assert!(matches!(&member("RegisterTaskDefinitionInput", "containerDefinitions").kind,
        Kind::List(e) if matches!(&**e, Kind::Structure(s) if s == "ContainerDefinition")));
    assert!(matches!(member("DeploymentConfiguration", "maximumPercent").kind, Kind::Integer));
    assert!(matches!(member("ContainerDefinition", "essential").kind, Kind::Boolean));
}
