//! The resource API against the real API server: the examples apply, every validation
//! rule rejects what it should with its message, immutable fields stay put, and the
//! scale subresource, printer columns and `kubectl explain` work.

use std::path::{Path, PathBuf};

use ecs_bridge::api::{EcsCapacityProvider, EcsCluster, EcsService, EcsTask, EcsTaskDefinition};
use kube::CustomResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use serde_json::{Value, json};

use crate::support::{self, kubectl, namespace, run_ok};

const MANAGER: &str = "crds-test";

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn api_for(client: &kube::Client, ns: &str, resource: &ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, resource)
}

fn resource_of(object: &Value) -> ApiResource {
    match object["kind"].as_str() {
        Some("EcsTaskDefinition") => EcsTaskDefinition::api_resource(),
        Some("EcsService") => EcsService::api_resource(),
        Some("EcsCluster") => EcsCluster::api_resource(),
        Some("EcsTask") => EcsTask::api_resource(),
        Some("EcsCapacityProvider") => EcsCapacityProvider::api_resource(),
        other => panic!("not one of our kinds: {other:?}"),
    }
}

/// Server-side applies one object; returns the server's error text on rejection.
async fn apply(client: &kube::Client, ns: &str, object: &Value) -> Result<DynamicObject, String> {
    let resource = resource_of(object);
    let name = object["metadata"]["name"].as_str().expect("metadata.name");
    let dynamic: DynamicObject = serde_json::from_value(object.clone()).expect("a DynamicObject");
    api_for(client, ns, &resource)
        .patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&dynamic))
        .await
        .map_err(|e| support::error_chain(&e))
}

/// Creates one object with POST (not apply), the path `kubectl create` takes.
async fn create(client: &kube::Client, ns: &str, object: &Value) -> Result<DynamicObject, String> {
    let resource = resource_of(object);
    let dynamic: DynamicObject = serde_json::from_value(object.clone()).expect("a DynamicObject");
    api_for(client, ns, &resource).create(&PostParams::default(), &dynamic).await.map_err(|e| support::error_chain(&e))
}

// ---- valid starting points; each invalid case changes one thing ----

fn fargate_task_definition(name: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {"name": "web", "image": "nginx:1.27", "portMappings": [{"containerPort": 80}]}
            ]
        }
    })
}

fn ec2_task_definition(name: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTaskDefinition",
        "metadata": {"name": name},
        "spec": {
            "networkMode": "bridge",
            "containerDefinitions": [
                {"name": "web", "image": "httpd:2.4", "memory": 256, "portMappings": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "busybox", "memory": 64, "essential": false}
            ]
        }
    })
}

fn fargate_service(name: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": name},
        "spec": {
            "cluster": "demo",
            "taskDefinitionRef": {"name": "web"},
            "desiredCount": 2,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}
        }
    })
}

fn ec2_service(name: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsService",
        "metadata": {"name": name},
        "spec": {
            "cluster": "demo",
            "taskDefinition": "web:3",
            "desiredCount": 2,
            "launchType": "EC2"
        }
    })
}

fn cluster(name: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsCluster",
        "metadata": {"name": name},
        "spec": {
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]
        }
    })
}

fn ecs_task(name: &str) -> Value {
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTask",
        "metadata": {"name": name},
        "spec": {
            "cluster": "demo",
            "taskDefinitionRef": {"name": "web"},
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}},
            "overrides": {"containerOverrides": [{"name": "web", "command": ["./migrate"]}]},
            "backoffLimit": 2
        }
    })
}

fn tags(count: usize) -> Value {
    Value::Array((0..count).map(|i| json!({"key": format!("k{i}"), "value": "v"})).collect())
}

/// One invalid manifest: a valid base with one change, and the text the API server's
/// rejection must contain.
struct Case {
    rule: &'static str,
    object: Value,
    message: &'static str,
}

fn case(rule: &'static str, mut object: Value, change: impl FnOnce(&mut Value), message: &'static str) -> Case {
    change(&mut object["spec"]);
    Case { rule, object, message }
}

fn invalid_cases() -> Vec<Case> {
    let td = fargate_task_definition;
    let ec2td = ec2_task_definition;
    let svc = fargate_service;
    let ec2svc = ec2_service;
    vec![
        // EcsTaskDefinition
        case(
            "fargate needs awsvpc",
            td("fargate-bridge"),
            |s| s["networkMode"] = json!("bridge"),
            "requiresCompatibilities FARGATE needs networkMode: awsvpc",
        ),
        case(
            "fargate needs a network mode at all",
            td("fargate-no-mode"),
            |s| {
                s.as_object_mut().unwrap().remove("networkMode");
            },
            "requiresCompatibilities FARGATE needs networkMode: awsvpc",
        ),
        case(
            "fargate cpu/memory pair",
            td("fargate-pair"),
            |s| s["memory"] = json!("4096"),
            "requiresCompatibilities FARGATE needs task cpu and memory (MiB) as a Fargate pair",
        ),
        case(
            "fargate memory step",
            td("fargate-step"),
            |s| {
                s["cpu"] = json!("1024");
                s["memory"] = json!("2500");
            },
            "requiresCompatibilities FARGATE needs task cpu and memory (MiB) as a Fargate pair",
        ),
        case(
            "fargate needs task cpu",
            td("fargate-no-cpu"),
            |s| {
                s.as_object_mut().unwrap().remove("cpu");
            },
            "requiresCompatibilities FARGATE needs task cpu and memory (MiB) as a Fargate pair",
        ),
        case(
            "task cpu is an integer string",
            td("cpu-vcpu"),
            |s| s["cpu"] = json!("1 vCPU"),
            "spec.cpu: Invalid value",
        ),
        case(
            "at least one container",
            td("no-containers"),
            |s| s["containerDefinitions"] = json!([]),
            "containerDefinitions needs at least one container",
        ),
        case(
            "at most ten containers",
            td("eleven-containers"),
            |s| {
                s["containerDefinitions"] =
                    Value::Array((0..11).map(|i| json!({"name": format!("c{i}"), "image": "busybox"})).collect());
            },
            "must have at most 10 items",
        ),
        case(
            "unique container names (apply)",
            td("duplicate-names"),
            |s| {
                s["containerDefinitions"] = json!([{"name": "web", "image": "a"}, {"name": "web", "image": "b"}]);
            },
            "duplicate entries for key [name=\"web\"]",
        ),
        case(
            "at least one essential container",
            td("nothing-essential"),
            |s| s["containerDefinitions"][0]["essential"] = json!(false),
            "at least one container must be essential",
        ),
        case(
            "awsvpc hostPort equals containerPort",
            td("awsvpc-hostport"),
            |s| s["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(8080),
            "with networkMode awsvpc or host, every portMappings hostPort must equal its containerPort or be omitted",
        ),
        case(
            "host hostPort equals containerPort",
            ec2td("host-hostport"),
            |s| {
                s["networkMode"] = json!("host");
                s["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(81);
            },
            "with networkMode awsvpc or host, every portMappings hostPort must equal its containerPort or be omitted",
        ),
        case(
            "no port mappings without a network",
            ec2td("none-ports"),
            |s| s["networkMode"] = json!("none"),
            "networkMode none has no network: remove the portMappings",
        ),
        case(
            "container memory without task memory",
            ec2td("no-memory"),
            |s| {
                s["containerDefinitions"][1].as_object_mut().unwrap().remove("memory");
            },
            "without task-level memory, every container needs memory or memoryReservation (MiB)",
        ),
        case(
            "memory above memoryReservation",
            ec2td("reservation-too-big"),
            |s| s["containerDefinitions"][0]["memoryReservation"] = json!(512),
            "container memory (the hard limit) must be greater than memoryReservation (the soft limit)",
        ),
        case(
            "dependsOn names a container",
            ec2td("depends-on-ghost"),
            |s| s["containerDefinitions"][0]["dependsOn"] = json!([{"containerName": "ghost", "condition": "START"}]),
            "dependsOn containerName must name a container of this task definition",
        ),
        case(
            "dependsOn not on itself",
            ec2td("depends-on-self"),
            |s| s["containerDefinitions"][0]["dependsOn"] = json!([{"containerName": "web", "condition": "START"}]),
            "a container cannot depend on itself",
        ),
        case(
            "health check command form",
            ec2td("bad-health-check"),
            |s| s["containerDefinitions"][0]["healthCheck"] = json!({"command": ["curl", "-f", "http://localhost/"]}),
            "healthCheck.command must start with CMD (run directly) or CMD-SHELL (run in a shell)",
        ),
        case(
            "health check interval bounds",
            ec2td("health-check-interval"),
            |s| s["containerDefinitions"][0]["healthCheck"] = json!({"command": ["CMD", "true"], "interval": 1}),
            "should be greater than or equal to 5",
        ),
        case(
            "one volume source",
            ec2td("two-volume-sources"),
            |s| s["volumes"] = json!([{"name": "data", "host": {"sourcePath": "/data"}, "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]),
            "a volume takes at most one of host, dockerVolumeConfiguration and efsVolumeConfiguration",
        ),
        case(
            "container port range",
            ec2td("port-zero"),
            |s| s["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!(0),
            "should be greater than or equal to 1",
        ),
        case(
            "network mode enum",
            ec2td("overlay"),
            |s| s["networkMode"] = json!("overlay"),
            "Unsupported value: \"overlay\"",
        ),
        case(
            "task definition tag count",
            ec2td("too-many-tags"),
            |s| s["tags"] = tags(51),
            "must have at most 50 items",
        ),
        case(
            "tag key length",
            ec2td("long-tag-key"),
            |s| s["tags"] = json!([{"key": "k".repeat(129), "value": "v"}]),
            "may not be more than 128",
        ),
        case(
            "tag value length",
            ec2td("long-tag-value"),
            |s| s["tags"] = json!([{"key": "k", "value": "v".repeat(257)}]),
            "may not be more than 256",
        ),
        case(
            "tag characters",
            ec2td("tag-chars"),
            |s| s["tags"] = json!([{"key": "team!", "value": "v"}]),
            "spec.tags[0].key: Invalid value",
        ),
        case(
            "aws: tag prefix reserved",
            ec2td("aws-tag"),
            |s| s["tags"] = json!([{"key": "AWS:owner", "value": "me"}]),
            "tag keys starting with 'aws:' are reserved for AWS: choose another key",
        ),
        case(
            "family pattern",
            ec2td("family-dots"),
            |s| s["family"] = json!("my.family"),
            "spec.family: Invalid value",
        ),
        // EcsService
        case(
            "exactly one task definition source: both",
            svc("both-sources"),
            |s| s["taskDefinition"] = json!("web:1"),
            "set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) and taskDefinition (family, family:revision or ARN)",
        ),
        case(
            "exactly one task definition source: neither",
            svc("no-source"),
            |s| {
                s.as_object_mut().unwrap().remove("taskDefinitionRef");
            },
            "set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) and taskDefinition (family, family:revision or ARN)",
        ),
        case(
            "launchType excludes capacityProviderStrategy",
            svc("both-launch"),
            |s| s["capacityProviderStrategy"] = json!([{"capacityProvider": "FARGATE", "weight": 1}]),
            "launchType and capacityProviderStrategy are mutually exclusive: remove one of them",
        ),
        case(
            "fargate launch type needs networkConfiguration",
            svc("fargate-no-network"),
            |s| {
                s.as_object_mut().unwrap().remove("networkConfiguration");
            },
            "Fargate tasks use awsvpc networking: set networkConfiguration.awsvpcConfiguration with subnets",
        ),
        case(
            "fargate spot strategy needs networkConfiguration",
            svc("spot-no-network"),
            |s| {
                let spec = s.as_object_mut().unwrap();
                spec.remove("networkConfiguration");
                spec.remove("launchType");
                spec.insert(
                    "capacityProviderStrategy".into(),
                    json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1}]),
                );
            },
            "Fargate tasks use awsvpc networking: set networkConfiguration.awsvpcConfiguration with subnets",
        ),
        case(
            "awsvpc needs subnets",
            svc("no-subnets"),
            |s| s["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = json!([]),
            "should have at least 1 items",
        ),
        case(
            "maximumPercent at least 100",
            ec2svc("max-percent"),
            |s| s["deploymentConfiguration"] = json!({"maximumPercent": 50}),
            "spec.deploymentConfiguration.maximumPercent: Invalid value: 50: spec.deploymentConfiguration.maximumPercent in body should be greater than or equal to 100",
        ),
        case(
            "minimumHealthyPercent at most 100",
            ec2svc("min-percent"),
            |s| s["deploymentConfiguration"] = json!({"minimumHealthyPercent": 150}),
            "spec.deploymentConfiguration.minimumHealthyPercent in body should be less than or equal to 100",
        ),
        case(
            "minimumHealthyPercent not negative",
            ec2svc("min-negative"),
            |s| s["deploymentConfiguration"] = json!({"minimumHealthyPercent": -1}),
            "spec.deploymentConfiguration.minimumHealthyPercent in body should be greater than or equal to 0",
        ),
        case(
            "circuit breaker fields",
            ec2svc("breaker"),
            |s| s["deploymentConfiguration"] = json!({"deploymentCircuitBreaker": {"enable": true}}),
            "spec.deploymentConfiguration.deploymentCircuitBreaker.rollback: Required value",
        ),
        case(
            "desiredCount not negative",
            ec2svc("negative-count"),
            |s| s["desiredCount"] = json!(-1),
            "spec.desiredCount in body should be greater than or equal to 0",
        ),
        case(
            "DAEMON not on Fargate",
            svc("daemon-fargate"),
            |s| {
                s["schedulingStrategy"] = json!("DAEMON");
                s.as_object_mut().unwrap().remove("desiredCount");
            },
            "schedulingStrategy DAEMON does not run on Fargate: use REPLICA or the EC2 launch type",
        ),
        case(
            "DAEMON maximumPercent",
            ec2svc("daemon-max"),
            |s| {
                s["schedulingStrategy"] = json!("DAEMON");
                s.as_object_mut().unwrap().remove("desiredCount");
                s["deploymentConfiguration"] = json!({"maximumPercent": 200});
            },
            "schedulingStrategy DAEMON does not support deploymentConfiguration.maximumPercent above 100",
        ),
        case(
            "DAEMON placement strategy",
            ec2svc("daemon-strategy"),
            |s| {
                s["schedulingStrategy"] = json!("DAEMON");
                s.as_object_mut().unwrap().remove("desiredCount");
                s["placementStrategy"] = json!([{"type": "random"}]);
            },
            "schedulingStrategy DAEMON does not take a placementStrategy: remove it",
        ),
        case(
            "DAEMON desired count",
            ec2svc("daemon-count"),
            |s| s["schedulingStrategy"] = json!("DAEMON"),
            "schedulingStrategy DAEMON runs one task per instance: remove desiredCount",
        ),
        case(
            "one base in a strategy",
            svc("two-bases"),
            |s| {
                s.as_object_mut().unwrap().remove("launchType");
                s["capacityProviderStrategy"] = json!([
                    {"capacityProvider": "FARGATE", "base": 1, "weight": 1},
                    {"capacityProvider": "FARGATE_SPOT", "base": 2, "weight": 1}
                ]);
            },
            "only one capacityProviderStrategy item may set a base greater than 0",
        ),
        case(
            "strategy weight bounds",
            svc("heavy"),
            |s| {
                s.as_object_mut().unwrap().remove("launchType");
                s["capacityProviderStrategy"] = json!([{"capacityProvider": "FARGATE", "weight": 1001}]);
            },
            "should be less than or equal to 1000",
        ),
        case(
            "memberOf needs an expression",
            ec2svc("member-of"),
            |s| s["placementConstraints"] = json!([{"type": "memberOf"}]),
            "placement constraint memberOf needs an expression and distinctInstance takes none",
        ),
        case(
            "random strategy takes no field",
            ec2svc("random-field"),
            |s| s["placementStrategy"] = json!([{"type": "random", "field": "cpu"}]),
            "placement strategy binpack needs field cpu or memory, spread needs field instanceId, host or attribute:<name>, random takes no field",
        ),
        case(
            "service name pattern",
            ec2svc("service-name"),
            |s| s["serviceName"] = json!("web service"),
            "spec.serviceName: Invalid value",
        ),
        case(
            "launch type enum",
            ec2svc("spot-launch"),
            |s| s["launchType"] = json!("FARGATE_SPOT"),
            "Unsupported value: \"FARGATE_SPOT\"",
        ),
        case("service tag count", ec2svc("service-tags"), |s| s["tags"] = tags(51), "must have at most 50 items"),
        case(
            "service aws: tag",
            ec2svc("service-aws-tag"),
            |s| s["tags"] = json!([{"key": "aws:cloudformation:stack-name", "value": "x"}]),
            "tag keys starting with 'aws:' are reserved for AWS: choose another key",
        ),
        // EcsCluster
        case(
            "default strategy providers associated",
            cluster("unassociated"),
            |s| s["defaultCapacityProviderStrategy"] = json!([{"capacityProvider": "my-asg", "weight": 1}]),
            "every defaultCapacityProviderStrategy provider must be listed in capacityProviders",
        ),
        case(
            "one base in the default strategy",
            cluster("cluster-bases"),
            |s| {
                s["defaultCapacityProviderStrategy"] = json!([
                    {"capacityProvider": "FARGATE", "base": 1}, {"capacityProvider": "FARGATE_SPOT", "base": 1}
                ])
            },
            "only one defaultCapacityProviderStrategy item may set a base greater than 0",
        ),
        case(
            "container insights values",
            cluster("insights"),
            |s| s["settings"] = json!([{"name": "containerInsights", "value": "on"}]),
            "Unsupported value: \"on\"",
        ),
        case("cluster tag count", cluster("cluster-tags"), |s| s["tags"] = tags(51), "must have at most 50 items"),
        // EcsTask
        case(
            "task: both task definitions",
            ecs_task("task-both"),
            |s| s["taskDefinition"] = json!("web:3"),
            "set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) and taskDefinition",
        ),
        case(
            "task: no task definition",
            ecs_task("task-neither"),
            |s| {
                s.as_object_mut().unwrap().remove("taskDefinitionRef");
            },
            "set exactly one of taskDefinitionRef",
        ),
        case(
            "task: launch type and strategy",
            ecs_task("task-launch"),
            |s| s["capacityProviderStrategy"] = json!([{"capacityProvider": "FARGATE_SPOT"}]),
            "launchType and capacityProviderStrategy are mutually exclusive",
        ),
        case(
            "task: fargate needs a network",
            ecs_task("task-network"),
            |s| {
                s.as_object_mut().unwrap().remove("networkConfiguration");
            },
            "Fargate tasks use awsvpc networking",
        ),
        case(
            "task: count above ECS's 10",
            ecs_task("task-count"),
            |s| s["count"] = json!(11),
            "should be less than or equal to 10",
        ),
        case(
            "task: count of 0",
            ecs_task("task-zero"),
            |s| s["count"] = json!(0),
            "should be greater than or equal to 1",
        ),
        case(
            "task: negative backoffLimit",
            ecs_task("task-backoff"),
            |s| s["backoffLimit"] = json!(-1),
            "should be greater than or equal to 0",
        ),
        case(
            "task: SERVICE tags are for services",
            ecs_task("task-propagate"),
            |s| s["propagateTags"] = json!("SERVICE"),
            "Unsupported value: \"SERVICE\"",
        ),
    ]
}

#[tokio::test]
async fn every_rule_rejects_its_invalid_manifest_with_its_message() {
    let ns = namespace("crds-invalid").await;
    let mut failures = Vec::new();
    for case in invalid_cases() {
        match apply(&ns.client, &ns.name, &case.object).await {
            Ok(_) => failures.push(format!("{}: accepted, but must be rejected", case.rule)),
            Err(error) if !error.contains(case.message) => {
                failures.push(format!("{}: rejected without {:?}; the server said: {error}", case.rule, case.message))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{} rule(s) misbehaved:\n{}", failures.len(), failures.join("\n"));
}

/// The bases of the invalid cases are valid: otherwise a case could pass for a reason
/// other than its own rule.
#[tokio::test]
async fn the_valid_bases_are_accepted() {
    let ns = namespace("crds-valid").await;
    for object in [
        fargate_task_definition("web"),
        ec2_task_definition("web-ec2"),
        fargate_service("web"),
        ec2_service("web-ec2"),
        cluster("demo"),
        ecs_task("migrate"),
    ] {
        apply(&ns.client, &ns.name, &object)
            .await
            .unwrap_or_else(|e| panic!("{} rejected: {e}", object["metadata"]["name"]));
    }
}

/// Apply stops duplicate container names before validation (the list is keyed by name);
/// a plain create reaches the CEL rule and its message.
#[tokio::test]
async fn duplicate_container_names_are_rejected_on_create_too() {
    let ns = namespace("crds-duplicates").await;
    let mut object = fargate_task_definition("duplicates");
    object["spec"]["containerDefinitions"] = json!([{"name": "web", "image": "a"}, {"name": "web", "image": "b"}]);
    let error = create(&ns.client, &ns.name, &object).await.expect_err("duplicate names must be rejected");
    assert!(error.contains("container names must be unique within containerDefinitions"), "{error}");
}

#[tokio::test]
async fn every_example_applies_server_side() {
    let ns = namespace("crds-examples").await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 4, "the four ECS overview cases at least: {files:?}");
    for file in &files {
        let out =
            run_ok(kubectl(&ns.name).args(["apply", "--server-side", "--field-manager", MANAGER, "-f"]).arg(file));
        assert!(out.contains("serverside-applied"), "{}: {out}", file.display());
    }
    // Everything the examples declare is there, with the names they give.
    let listed = run_ok(kubectl(&ns.name).args(["get", "ecs", "-o", "name"]));
    for expected in [
        "ecscluster.ecs-bridge.dev/demo",
        "ecstaskdefinition.ecs-bridge.dev/nginx",
        "ecsservice.ecs-bridge.dev/nginx",
        "ecstaskdefinition.ecs-bridge.dev/web-bridge",
        "ecsservice.ecs-bridge.dev/web-bridge",
        "ecsservice.ecs-bridge.dev/api",
        "ecstaskdefinition.ecs-bridge.dev/migrate",
        "ecstask.ecs-bridge.dev/migrate",
        "ecscapacityprovider.ecs-bridge.dev/spark",
        "ecscluster.ecs-bridge.dev/batch",
    ] {
        assert!(listed.lines().any(|l| l == expected), "{expected} missing from `kubectl get ecs`:\n{listed}");
    }
    // The examples round-trip through the Rust types the operator uses.
    let services: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    let nginx = services.get("nginx").await.expect("nginx service");
    assert_eq!(nginx.service_name(), "nginx");
    assert_eq!(nginx.spec.desired_count, Some(2));
    let api = services.get("api").await.expect("api service");
    assert_eq!(api.spec.desired_count, None, "the autoscaled example leaves desiredCount unset");
    let task_definitions: Api<EcsTaskDefinition> = Api::namespaced(ns.client.clone(), &ns.name);
    let web_bridge = task_definitions.get("web-bridge").await.expect("web-bridge task definition");
    assert_eq!(web_bridge.family(), "web-bridge");
    assert_eq!(web_bridge.spec.container_definitions[0].port_mappings[0].host_port, None, "dynamic host port");
}

/// Applies `object`, then `changed`; returns the update's error.
async fn update_error(client: &kube::Client, ns: &str, object: &Value, changed: &Value) -> Option<String> {
    apply(client, ns, object).await.unwrap_or_else(|e| panic!("initial apply rejected: {e}"));
    apply(client, ns, changed).await.err()
}

#[tokio::test]
async fn immutable_fields_reject_changes() {
    let ns = namespace("crds-immutable").await;
    let client = &ns.client;
    let mut failures = Vec::new();
    let mut expect = |what: &str, error: Option<String>, message: &str| match error {
        None => failures.push(format!("{what}: change accepted")),
        Some(e) if !e.contains(message) => failures.push(format!("{what}: {e}")),
        Some(_) => {}
    };

    let service = ec2_service("svc-name");
    let mut renamed = service.clone();
    renamed["spec"]["serviceName"] = json!("other-name");
    expect(
        "serviceName",
        update_error(client, &ns.name, &service, &renamed).await,
        "spec.serviceName is immutable (it defaults to metadata.name)",
    );

    let service = ec2_service("svc-cluster");
    let mut moved = service.clone();
    moved["spec"]["cluster"] = json!("other-cluster");
    expect("cluster", update_error(client, &ns.name, &service, &moved).await, "cluster is immutable");

    let service = ec2_service("svc-strategy");
    let mut daemon = service.clone();
    daemon["spec"]["schedulingStrategy"] = json!("DAEMON");
    daemon["spec"].as_object_mut().unwrap().remove("desiredCount");
    expect(
        "schedulingStrategy",
        update_error(client, &ns.name, &service, &daemon).await,
        "schedulingStrategy is immutable",
    );

    let task_definition = ec2_task_definition("td-family");
    let mut refamilied = task_definition.clone();
    refamilied["spec"]["family"] = json!("another-family");
    expect("family", update_error(client, &ns.name, &task_definition, &refamilied).await, "spec.family is immutable");

    let ecs_cluster = cluster("cl-name");
    let mut renamed_cluster = ecs_cluster.clone();
    renamed_cluster["spec"]["clusterName"] = json!("another");
    expect(
        "clusterName",
        update_error(client, &ns.name, &ecs_cluster, &renamed_cluster).await,
        "spec.clusterName is immutable",
    );

    // An EcsTask's whole spec is immutable, like a Job's template.
    let task = ecs_task("task-immutable");
    for (field, value) in [("backoffLimit", json!(5)), ("cluster", json!("elsewhere")), ("count", json!(2))] {
        let mut changed = task.clone();
        changed["spec"][field] = value;
        expect(
            &format!("EcsTask {field}"),
            update_error(client, &ns.name, &task, &changed).await,
            "an EcsTask's spec is immutable once created",
        );
    }
    let mut same = task.clone();
    same["metadata"]["labels"] = json!({"team": "data"});
    assert!(apply(client, &ns.name, &same).await.is_ok(), "metadata stays editable");

    assert!(failures.is_empty(), "immutable fields misbehaved:\n{}", failures.join("\n"));
}

/// Spelling out the default (the object's name) is not a change, and mutable fields do
/// change: the immutability rules are not blanket `self == oldSelf` on the spec.
#[tokio::test]
async fn spelling_out_a_default_name_and_changing_mutable_fields_is_allowed() {
    let ns = namespace("crds-mutable").await;
    let service = ec2_service("explicit");
    apply(&ns.client, &ns.name, &service).await.expect("create");
    let mut changed = service.clone();
    changed["spec"]["serviceName"] = json!("explicit");
    changed["spec"]["desiredCount"] = json!(5);
    changed["spec"]["taskDefinition"] = json!("web:4");
    changed["spec"]["forceNewDeploymentToken"] = json!("2026-11-27T10:00:00Z");
    let updated = apply(&ns.client, &ns.name, &changed).await.expect("update accepted");
    assert_eq!(updated.data["spec"]["desiredCount"], json!(5));

    let task_definition = ec2_task_definition("explicit-family");
    apply(&ns.client, &ns.name, &task_definition).await.expect("create");
    let mut changed = task_definition.clone();
    changed["spec"]["family"] = json!("explicit-family");
    changed["spec"]["containerDefinitions"][0]["image"] = json!("httpd:2.5");
    apply(&ns.client, &ns.name, &changed).await.expect("family spelled out, image changed");
}

#[tokio::test]
async fn kubectl_scale_sets_desired_count() {
    let ns = namespace("crds-scale").await;
    let mut service = ec2_service("scaled");
    service["spec"].as_object_mut().unwrap().remove("desiredCount");
    apply(&ns.client, &ns.name, &service).await.expect("create without desiredCount");
    run_ok(kubectl(&ns.name).args(["scale", "ecsservice/scaled", "--replicas=3"]));
    let services: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    let scaled = services.get("scaled").await.expect("get");
    assert_eq!(scaled.spec.desired_count, Some(3));
    run_ok(kubectl(&ns.name).args(["scale", "ecsservice/scaled", "--replicas=0"]));
    assert_eq!(services.get("scaled").await.expect("get").spec.desired_count, Some(0));
}

#[tokio::test]
async fn kubectl_get_shows_the_printer_columns() {
    let ns = namespace("crds-columns").await;
    apply(&ns.client, &ns.name, &fargate_service("shown")).await.expect("create");
    // Fill the status the way the operator will, through the status subresource.
    let services: Api<EcsService> = Api::namespaced(ns.client.clone(), &ns.name);
    let status = json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsService",
        "status": {
            "desiredCount": 2,
            "runningCount": 1,
            "taskDefinitionRevision": 7,
            "conditions": [{
                "type": "Ready", "status": "False", "reason": "DeploymentInProgress",
                "message": "1 of 2 tasks running", "lastTransitionTime": "2026-11-27T10:00:00Z"
            }]
        }
    });
    services
        .patch_status("shown", &PatchParams::apply("crds-test-status").force(), &Patch::Apply(&status))
        .await
        .expect("status patch");

    let table = run_ok(kubectl(&ns.name).args(["get", "ecsservices"]));
    let header: Vec<&str> = table.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["NAME", "CLUSTER", "DESIRED", "RUNNING", "REVISION", "READY", "AGE"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).expect("a row").split_whitespace().collect();
    assert_eq!(&row[..6], ["shown", "demo", "2", "1", "7", "False"], "{table}");

    apply(&ns.client, &ns.name, &fargate_task_definition("web")).await.expect("task definition");
    let table = run_ok(kubectl(&ns.name).args(["get", "ecstaskdefinitions"]));
    let header: Vec<&str> = table.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["NAME", "FAMILY", "REVISION", "READY", "AGE"], "{table}");

    apply(&ns.client, &ns.name, &cluster("demo")).await.expect("cluster");
    let table = run_ok(kubectl(&ns.name).args(["get", "ecsclusters"]));
    let header: Vec<&str> = table.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["NAME", "CLUSTER", "STATUS", "SERVICES", "RUNNING", "READY", "AGE"], "{table}");

    apply(&ns.client, &ns.name, &ecs_task("migrate")).await.expect("task");
    let tasks: Api<EcsTask> = Api::namespaced(ns.client.clone(), &ns.name);
    let status = json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1",
        "kind": "EcsTask",
        "status": {"phase": "Failed", "exitCode": 3, "attemptCount": 3}
    });
    tasks
        .patch_status("migrate", &PatchParams::apply("crds-test-status").force(), &Patch::Apply(&status))
        .await
        .expect("status patch");
    let table = run_ok(kubectl(&ns.name).args(["get", "ecstasks"]));
    let header: Vec<&str> = table.lines().next().expect("header").split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATUS", "EXIT", "CODE", "ATTEMPTS", "AGE"], "{table}");
    let row: Vec<&str> = table.lines().nth(1).expect("a row").split_whitespace().collect();
    assert_eq!(&row[..4], ["migrate", "Failed", "3", "3"], "{table}");

    // Short names and the `ecs` category reach the same objects.
    let by_short_name = run_ok(kubectl(&ns.name).args(["get", "ecssvc,ecstd,ecscl,ecstask", "-o", "name"]));
    assert_eq!(by_short_name.lines().count(), 4, "{by_short_name}");
}

#[tokio::test]
async fn kubectl_explain_shows_the_descriptions() {
    let ns = namespace("crds-explain").await;
    let explained = run_ok(kubectl(&ns.name).args(["explain", "ecsservice.spec.deploymentConfiguration"]));
    for text in [
        "How many tasks may run and must stay healthy during a deployment",
        "maximumPercent",
        "Upper limit on RUNNING and PENDING tasks during a deployment",
        "deploymentCircuitBreaker",
    ] {
        assert!(explained.contains(text), "missing {text:?} in:\n{explained}");
    }
    let explained = run_ok(
        kubectl(&ns.name).args(["explain", "ecstaskdefinition.spec.containerDefinitions.portMappings.hostPort"]),
    );
    assert!(explained.contains("dynamic port"), "{explained}");
    let explained = run_ok(kubectl(&ns.name).args(["explain", "ecscluster"]));
    assert!(explained.contains("An Amazon ECS cluster"), "{explained}");
}
