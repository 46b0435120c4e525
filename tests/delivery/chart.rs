//! The Helm chart, rendered by the real `helm`: lint, default and non-default
//! values, the values schema, and the chart's CRDs kept identical to `crds/`.

use crate::{helm, repo, run_ok};
use serde_yaml::Value;
use std::process::Command;

fn chart() -> String {
    repo().join("charts/ecs-bridge").display().to_string()
}

/// Renders the chart with `--set` overrides into its objects.
fn render(sets: &[&str]) -> Vec<Value> {
    let mut cmd = Command::new(helm());
    cmd.args(["template", "demo", &chart(), "--namespace", "ecs-system", "--include-crds", "--kube-version", "1.37.2"]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = run_ok(&mut cmd);
    serde_yaml::Deserializer::from_str(&out)
        .filter_map(|doc| Value::deserialize(doc).ok())
        .filter(|v| !v.is_null())
        .collect()
}

use serde::Deserialize;

fn find<'a>(objs: &'a [Value], kind: &str, name: &str) -> Option<&'a Value> {
    objs.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
}

fn kinds(objs: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = objs
        .iter()
        .map(|o| format!("{}/{}", o["kind"].as_str().unwrap_or("?"), o["metadata"]["name"].as_str().unwrap_or("?")))
        .collect();
    k.sort();
    k
}

fn controller_args(objs: &[Value]) -> Vec<String> {
    let dep = find(objs, "Deployment", "demo-ecs-bridge-controller").expect("controller Deployment");
    dep["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn chart_lints_with_default_and_non_default_values() {
    run_ok(Command::new(helm()).args(["lint", "--strict", &chart()]));
    run_ok(Command::new(helm()).args([
        "lint",
        "--strict",
        &chart(),
        "--set",
        "emulator.enabled=false,controller.watchNamespace=team-a,metrics.serviceMonitor.enabled=true",
    ]));
}

#[test]
fn default_values_render_controller_emulator_rbac_and_crds() {
    let objs = render(&[]);
    let all = kinds(&objs);
    for expected in [
        "ClusterRole/demo-ecs-bridge",
        "ClusterRoleBinding/demo-ecs-bridge",
        "Role/demo-ecs-bridge-leader-election",
        "RoleBinding/demo-ecs-bridge-leader-election",
        "ServiceAccount/demo-ecs-bridge",
        "Deployment/demo-ecs-bridge-controller",
        "Deployment/demo-ecs-bridge-emulator",
        "Service/demo-ecs-bridge-emulator",
        "Service/demo-ecs-bridge-metrics",
    ] {
        assert!(all.contains(&expected.to_string()), "missing {expected} in {all:?}");
    }
    let crds = objs.iter().filter(|o| o["kind"] == "CustomResourceDefinition").count();
    assert_eq!(crds, std::fs::read_dir(repo().join("crds")).unwrap().count(), "every CRD of crds/ is in the chart");

    let dep = find(&objs, "Deployment", "demo-ecs-bridge-controller").unwrap();
    assert_eq!(dep["spec"]["replicas"].as_u64(), Some(2), "two replicas with leader election");
    let pod = &dep["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let sc = &pod["containers"][0]["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert!(pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz");

    let args = controller_args(&objs);
    assert!(
        args.contains(&"--ecs-endpoint=http://demo-ecs-bridge-emulator.ecs-system.svc:4566".to_string()),
        "the controller drives the in-cluster emulator by default: {args:?}"
    );
    let svc = find(&objs, "Service", "demo-ecs-bridge-emulator").unwrap();
    assert_eq!(svc["spec"]["ports"][0]["nodePort"].as_u64(), Some(30566));
}

#[test]
fn real_ecs_values_drop_the_emulator_and_scope_rbac() {
    let objs = render(&[
        "emulator.enabled=false",
        "controller.watchNamespace=team-a",
        "metrics.serviceMonitor.enabled=true",
        "aws.region=eu-west-1",
        "serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/ecs-bridge",
    ]);
    let all = kinds(&objs);
    assert!(!all.iter().any(|k| k.contains("emulator")), "no emulator for real ECS: {all:?}");
    assert!(find(&objs, "ClusterRole", "demo-ecs-bridge").is_none(), "a watched namespace needs no ClusterRole");
    let role = find(&objs, "Role", "demo-ecs-bridge").expect("namespaced Role");
    assert_eq!(role["metadata"]["namespace"], "team-a");
    assert!(find(&objs, "ServiceMonitor", "demo-ecs-bridge").is_some());

    let args = controller_args(&objs);
    assert!(args.contains(&"--namespace=team-a".to_string()), "{args:?}");
    assert!(args.contains(&"--region=eu-west-1".to_string()), "{args:?}");
    assert!(!args.iter().any(|a| a.starts_with("--ecs-endpoint")), "real ECS uses the default endpoint: {args:?}");
    let sa = find(&objs, "ServiceAccount", "demo-ecs-bridge").unwrap();
    assert_eq!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"],
        "arn:aws:iam::123456789012:role/ecs-bridge"
    );
    let dep = find(&objs, "Deployment", "demo-ecs-bridge-controller").unwrap();
    let env = dep["spec"]["template"]["spec"]["containers"][0]["env"].as_sequence().unwrap();
    assert!(
        !env.iter().any(|e| e["name"] == "AWS_ACCESS_KEY_ID"),
        "real ECS takes credentials from the default chain (IRSA), never static ones"
    );
}

#[test]
fn values_schema_rejects_bad_values() {
    for bad in ["controller.logFormat=xml", "emulator.accountId=42", "controller.replicas=-1", "nosuchkey=1"] {
        let out = Command::new(helm())
            .args(["template", "demo", &chart(), "--kube-version", "1.37.2", "--set", bad])
            .output()
            .unwrap();
        assert!(!out.status.success(), "helm accepted bad value {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("values don't meet the specifications of the schema"), "{bad}: {err}");
    }
}

#[test]
fn chart_crds_are_the_generated_crds() {
    let dir = repo().join("crds");
    let chart_dir = repo().join("charts/ecs-bridge/crds");
    let names = |d: &std::path::Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap_or_else(|e| panic!("{}: {e}", d.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert!(!names(&dir).is_empty(), "crds/ is empty");
    assert_eq!(names(&dir), names(&chart_dir), "charts/ecs-bridge/crds must hold exactly the files of crds/");
    for f in names(&dir) {
        assert_eq!(
            std::fs::read_to_string(dir.join(&f)).unwrap(),
            std::fs::read_to_string(chart_dir.join(&f)).unwrap(),
            "charts/ecs-bridge/crds/{f} differs from crds/{f}: copy crds/* into the chart"
        );
    }
}
