//! `ecs-bridge import` and `ecs-bridge diff`, the built binary against the emulator
//! and the real API server: a cluster, a task definition and two services made with
//! the AWS CLI are imported, the YAML applied back with kubectl, and the controller
//! adopts everything without one ECS write (the emulator's request counts say so);
//! `diff` then finds nothing, finds exactly the fields a changed manifest changes,
//! and fails with exit 2 on a malformed one.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use ecs_bridge::api::{EcsCluster, EcsTaskDefinition};
use kube::api::Api;
use serde_json::Value;

use crate::operator::{BINARY_AWS_ENV, BINARY_AWS_ENV_REMOVED, REGION, condition, events, writes_between};
use crate::operator_service::{ServiceHarness, ready};
use crate::support::{self, poll_until};

const SHOP: &str = "shop";

/// `aws ecs <args>` against the emulator; the JSON it prints. Blocking: the tests
/// run on a multi-threaded runtime so the in-process emulator keeps answering.
fn aws_ecs(endpoint: &str, args: &[&str]) -> Value {
    let out = Command::new("aws")
        .arg("ecs")
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", REGION, "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "dev")
        .env("AWS_SECRET_ACCESS_KEY", "dev")
        .env("AWS_PAGER", "")
        .output()
        .unwrap_or_else(|e| panic!("the AWS CLI (`aws`) is not on PATH ({e}): see README, Development"));
    assert!(out.status.success(), "aws ecs {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// The `ecs-bridge` binary with test credentials and no ambient AWS configuration.
fn ecs_bridge(h: &ServiceHarness, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"));
    command.args(args).args(["--ecs-endpoint", &h.emulator.endpoint(), "--region", REGION]).envs(BINARY_AWS_ENV);
    for name in BINARY_AWS_ENV_REMOVED {
        command.env_remove(name);
    }
    command
}

fn run(mut command: Command, stdin: Option<&str>) -> Output {
    command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().expect("the command runs");
    if let Some(input) = stdin {
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("the command ends")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The ECS writes between two request counts: the task definition and cluster
/// writes ([`writes_between`]) and the service's.
fn all_writes(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    let mut writes = writes_between(before, after);
    for op in ["CreateService", "UpdateService", "DeleteService", "RunTask", "StopTask"] {
        let delta = after.get(op).copied().unwrap_or(0) - before.get(op).copied().unwrap_or(0);
        if delta > 0 {
            writes.insert(op.to_owned(), delta);
        }
    }
    writes
}

/// A cluster with a setting and a tag, one Fargate task definition, two services
/// running it.
fn build_shop_with_the_cli(endpoint: &str) {
    aws_ecs(
        endpoint,
        &[
            "create-cluster",
            "--cluster-name",
            SHOP,
            "--settings",
            "name=containerInsights,value=enabled",
            "--tags",
            "key=team,value=shop",
        ],
    );
    let containers = r#"[{"name": "app", "image": "shop/web:1", "memory": 64, "essential": true,
        "portMappings": [{"containerPort": 8080}],
        "environment": [{"name": "MODE", "value": "prod"}]}]"#;
    aws_ecs(
        endpoint,
        &[
            "register-task-definition",
            "--family",
            "shop-web",
            "--network-mode",
            "awsvpc",
            "--requires-compatibilities",
            "FARGATE",
            "--cpu",
            "256",
            "--memory",
            "512",
            "--container-definitions",
            containers,
            "--tags",
            "key=team,value=shop",
        ],
    );
    for (name, count) in [("web", "2"), ("worker", "1")] {
        aws_ecs(
            endpoint,
            &[
                "create-service",
                "--cluster",
                SHOP,
                "--service-name",
                name,
                "--task-definition",
                "shop-web",
                "--desired-count",
                count,
                "--launch-type",
                "FARGATE",
                "--network-configuration",
                "awsvpcConfiguration={subnets=[subnet-0aaaaaaaaaaaaaaa1],assignPublicIp=DISABLED}",
                "--deployment-configuration",
                "deploymentCircuitBreaker={enable=true,rollback=true}",
                "--tags",
                &format!("key=role,value={name}"),
            ],
        );
    }
}

/// The objects and field paths `diff` printed, from its `--- Kind ns/name: …` headers
/// and indented `path:` lines.
fn reported(stdout: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut object = String::new();
    for line in stdout.lines() {
        if let Some(header) = line.strip_prefix("--- ") {
            object = header.split(':').next().unwrap_or_default().to_owned();
        } else if let Some(path) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':')) {
            found.insert((object.clone(), path.to_owned()));
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imported_manifests_are_adopted_without_an_ecs_write_and_diff_sees_exactly_the_changes() {
    let h = ServiceHarness::start("import", Duration::from_secs(300)).await;
    let endpoint = h.emulator.endpoint();
    tokio::task::block_in_place(|| build_shop_with_the_cli(&endpoint));

    let import = tokio::task::block_in_place(|| run(ecs_bridge(&h, &["import", "--cluster", SHOP]), None));
    assert!(import.status.success(), "import failed: {}", text(&import.stderr));
    let yaml = text(&import.stdout);
    assert_eq!(yaml.matches("kind: EcsCluster").count(), 1, "{yaml}");
    assert_eq!(yaml.matches("kind: EcsTaskDefinition").count(), 1, "{yaml}");
    assert_eq!(yaml.matches("kind: EcsService").count(), 2, "{yaml}");
    assert_eq!(yaml.matches("ecs-bridge.dev/adopt: 'true'").count(), 4, "{yaml}");
    for default in ["essential", "hostPort", "protocol", "maximumPercent", "REPLICA", "DISABLED", "LATEST", "disabled"]
    {
        assert!(!yaml.contains(default), "ECS's default {default} is left out:\n{yaml}");
    }
    assert!(yaml.contains("containerInsights") && yaml.contains("rollback: true"), "{yaml}");

    // Applied back with kubectl: everything Ready and adopted, no ECS write.
    let before = h.ecs_requests();
    let applied = tokio::task::block_in_place(|| {
        run(
            {
                let mut kubectl = support::kubectl(&h.ns.name);
                kubectl.args(["apply", "-f", "-"]);
                kubectl
            },
            Some(&yaml),
        )
    });
    assert!(applied.status.success(), "kubectl apply: {}", text(&applied.stderr));
    let clusters: Api<EcsCluster> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    let definitions: Api<EcsTaskDefinition> = h.task_definitions();
    poll_until("the EcsCluster and EcsTaskDefinition are Ready", || async {
        let cluster = clusters.get(SHOP).await.map_err(|e| e.to_string())?;
        let definition = definitions.get("shop-web").await.map_err(|e| e.to_string())?;
        let ready = |conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]| {
            condition(conditions, "Ready").is_some_and(|(s, _, _)| s == "True")
        };
        let cluster_ready = ready(&cluster.status.clone().unwrap_or_default().conditions);
        let definition_ready = ready(&definition.status.clone().unwrap_or_default().conditions);
        if cluster_ready && definition_ready { Ok(()) } else { Err(format!("{cluster:?}\n{definition:?}")) }
    })
    .await;
    for name in ["web", "worker"] {
        ready(&h.services(), name).await;
        let seen = events(&h.ns.client, &h.ns.name, name).await;
        assert!(seen.iter().any(|(_, r, _)| r == "Adopted"), "{name}: {seen:#?}");
    }
    let definition = definitions.get("shop-web").await.expect("the EcsTaskDefinition");
    assert_eq!(definition.status.unwrap_or_default().revision, Some(1), "revision 1 adopted, none registered");
    assert!(events(&h.ns.client, &h.ns.name, "shop-web").await.iter().any(|(_, r, _)| r == "Adopted"));
    assert_eq!(all_writes(&before, &h.ecs_requests()), Default::default(), "no ECS write");

    // diff: nothing for what was applied, exit 0.
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("shop.yaml");
    std::fs::write(&file, &yaml).expect("write the manifests");
    let file_arg = file.display().to_string();
    let same = tokio::task::block_in_place(|| run(ecs_bridge(&h, &["diff", "-f", &file_arg]), None));
    assert_eq!(same.status.code(), Some(0), "stdout:\n{}\nstderr:\n{}", text(&same.stdout), text(&same.stderr));
    assert_eq!(text(&same.stdout), "");

    // A new image, another count, a cluster setting and a service tag: exactly those
    // fields, and the revision the services would move to; from stdin this time.
    let changed = yaml
        .replace("image: shop/web:1", "image: shop/web:2")
        .replace("desiredCount: 2", "desiredCount: 3")
        .replace("value: enabled", "value: enhanced")
        .replace("value: web\n", "value: frontend\n");
    assert_ne!(changed.matches("frontend").count(), 0, "{yaml}");
    let before_diff = h.ecs_requests();
    let out = tokio::task::block_in_place(|| run(ecs_bridge(&h, &["diff", "-f", "-"]), Some(&changed)));
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{}", text(&out.stderr));
    let ns = "default";
    let expected: BTreeSet<(String, String)> = [
        (format!("EcsCluster {ns}/shop"), "settings[containerInsights]"),
        (format!("EcsTaskDefinition {ns}/shop-web"), "containerDefinitions[app].image"),
        (format!("EcsService {ns}/web"), "tags[role]"),
        (format!("EcsService {ns}/web"), "desiredCount"),
        (format!("EcsService {ns}/web"), "taskDefinition"),
        (format!("EcsService {ns}/worker"), "taskDefinition"),
    ]
    .into_iter()
    .map(|(o, p)| (o, p.to_owned()))
    .collect();
    assert_eq!(reported(&stdout), expected, "{stdout}");
    assert!(stdout.contains("-   shop/web:1\n+   shop/web:2\n"), "{stdout}");
    assert!(stdout.contains("-   2\n+   3\n"), "{stdout}");
    assert!(stdout.contains("-   shop-web:1\n+   shop-web:2\n"), "{stdout}");
    assert!(stdout.contains("-   enabled\n+   enhanced\n"), "{stdout}");
    assert!(stdout.contains("-   web\n+   frontend\n"), "{stdout}");
    assert_eq!(all_writes(&before_diff, &h.ecs_requests()), Default::default(), "diff only reads");

    // A malformed manifest: exit 2, with the document named.
    let bad =
        "apiVersion: ecs-bridge.dev/v1alpha1\nkind: EcsService\nmetadata: {name: web}\nspec: {desiredCount: many}\n";
    let out = tokio::task::block_in_place(|| run(ecs_bridge(&h, &["diff", "-f", "-"]), Some(bad)));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("stdin#1"), "{}", text(&out.stderr));
    h.stop().await;
}
