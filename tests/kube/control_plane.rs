//! The control plane itself: that it is a real API server enforcing what the operator relies
//! on (CEL validation, the status subresource, finalizers, RBAC with impersonation), that
//! kubectl works against it, that CRDs load from a directory, and that `ecs-bridge dev
//! --local-control-plane` hands one to a person and cleans up after itself.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use ecs_bridge::control_plane::{self, Binaries, ControlPlaneError};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams,
};

use crate::support;

/// A namespaced kind with a CEL rule on its spec and a status subresource.
const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.tests.ecs-bridge.dev
spec:
  group: tests.ecs-bridge.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [replicas, maxReplicas]
              properties:
                replicas: { type: integer, minimum: 0 }
                maxReplicas: { type: integer, minimum: 0 }
              x-kubernetes-validations:
                - rule: "self.replicas <= self.maxReplicas"
                  message: "replicas must not exceed maxReplicas"
            status:
              type: object
              properties:
                ready: { type: integer }
"#;

async fn widgets(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    // Installing is idempotent (server-side apply), so every test that needs the kind
    // installs it and none depends on another having run first.
    control_plane::crds::install_from_yaml(client, "WIDGET_CRD", WIDGET_CRD)
        .await
        .unwrap_or_else(|e| panic!("cannot install the Widget CRD: {}", support::error_chain(&e)));
    let gvk = GroupVersionKind::gvk("tests.ecs-bridge.dev", "v1", "Widget");
    Api::namespaced_with(client.clone(), namespace, &ApiResource::from_gvk_with_plural(&gvk, "widgets"))
}

fn widget(name: &str, replicas: i64, max_replicas: i64) -> DynamicObject {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "tests.ecs-bridge.dev/v1",
        "kind": "Widget",
        "metadata": { "name": name },
        "spec": { "replicas": replicas, "maxReplicas": max_replicas },
    }))
    .expect("a Widget literal")
}

fn api_status(error: kube::Error) -> Box<kube::core::Status> {
    match error {
        kube::Error::Api(status) => status,
        other => panic!("expected a refusal from the API server, got: {}", support::error_chain(&other)),
    }
}

#[tokio::test]
async fn a_cel_rule_rejects_an_invalid_object_with_its_message() {
    let ns = support::namespace("cel-rule").await;
    let api = widgets(&ns.client, &ns.name).await;

    let refused = api
        .create(&PostParams::default(), &widget("too-many", 5, 3))
        .await
        .expect_err("a Widget with replicas above maxReplicas must be rejected");
    let status = api_status(refused);
    assert_eq!(status.code, 422, "unexpected refusal: {status:?}");
    assert!(
        status.message.contains("replicas must not exceed maxReplicas"),
        "the refusal does not carry the rule's message: {}",
        status.message
    );
    assert!(api.get_opt("too-many").await.expect("get").is_none(), "the invalid Widget was stored");

    api.create(&PostParams::default(), &widget("fine", 2, 3)).await.expect("a valid Widget is accepted");
}

#[tokio::test]
async fn status_updates_keep_the_generation_and_spec_changes_bump_it() {
    let ns = support::namespace("generation").await;
    let api = widgets(&ns.client, &ns.name).await;
    let created = api.create(&PostParams::default(), &widget("w", 1, 5)).await.expect("create");
    assert_eq!(created.metadata.generation, Some(1));

    let status_patch = serde_json::json!({
        "apiVersion": "tests.ecs-bridge.dev/v1",
        "kind": "Widget",
        "status": { "ready": 1 },
    });
    let after_status = api
        .patch_status("w", &PatchParams::apply("status-writer").force(), &Patch::Apply(&status_patch))
        .await
        .expect("status update through the subresource");
    assert_eq!(after_status.data["status"]["ready"], 1);
    assert_eq!(after_status.metadata.generation, Some(1), "a status update bumped the generation");

    // The main resource ignores status, and a write that changes nothing keeps the generation.
    let status_on_main = serde_json::json!({ "status": { "ready": 7 } });
    let ignored = api.patch("w", &PatchParams::default(), &Patch::Merge(&status_on_main)).await.expect("merge patch");
    assert_eq!(ignored.data["status"]["ready"], 1, "status was written through the main resource");
    assert_eq!(ignored.metadata.generation, Some(1));

    let spec_change = serde_json::json!({ "spec": { "replicas": 3 } });
    let after_spec = api.patch("w", &PatchParams::default(), &Patch::Merge(&spec_change)).await.expect("spec change");
    assert_eq!(after_spec.data["spec"]["replicas"], 3);
    assert_eq!(after_spec.metadata.generation, Some(2), "a spec change did not bump the generation");
    assert_eq!(after_spec.data["status"]["ready"], 1, "a spec change lost the status");
}

#[tokio::test]
async fn a_finalizer_holds_a_deleted_object_until_it_is_removed() {
    let ns = support::namespace("finalizer").await;
    let api = widgets(&ns.client, &ns.name).await;
    let mut held = widget("held", 1, 1);
    held.metadata.finalizers = Some(vec!["tests.ecs-bridge.dev/hold".to_string()]);
    api.create(&PostParams::default(), &held).await.expect("create");

    api.delete("held", &DeleteParams::default()).await.expect("delete is accepted");
    let terminating = api.get("held").await.expect("the finalizer keeps the Widget");
    assert!(terminating.metadata.deletion_timestamp.is_some(), "no deletionTimestamp on a deleted object");

    let release = serde_json::json!({ "metadata": { "finalizers": null } });
    api.patch("held", &PatchParams::default(), &Patch::Merge(&release)).await.expect("remove the finalizer");
    support::poll_until("the released Widget is gone", || async {
        match api.get_opt("held").await {
            Ok(None) => Ok(()),
            Ok(Some(w)) => Err(format!("still there, finalizers {:?}", w.metadata.finalizers)),
            Err(e) => Err(support::error_chain(&e)),
        }
    })
    .await;
}

#[tokio::test]
async fn an_impersonated_service_account_is_denied_until_rbac_grants_it() {
    let ns = support::namespace("rbac").await;
    let robot = format!("system:serviceaccount:{}:robot", ns.name);
    let groups = ["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{}", ns.name)];
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    let as_robot = support::client_as(&robot, &groups).await;
    let robot_configmaps: Api<ConfigMap> = Api::namespaced(as_robot, &ns.name);

    let denied = robot_configmaps.list(&ListParams::default()).await.expect_err("no role grants the robot anything");
    let status = api_status(denied);
    assert_eq!(status.code, 403, "unexpected refusal: {status:?}");
    assert!(status.message.contains(&robot), "the refusal does not name the impersonated user: {}", status.message);

    let can_i = support::kubectl(&ns.name)
        .args(["auth", "can-i", "list", "configmaps", "--as", &robot])
        .output()
        .expect("run kubectl auth can-i");
    assert_eq!(String::from_utf8_lossy(&can_i.stdout).trim(), "no");

    // The same request goes through once a Role allows it: the denial was RBAC's doing.
    let grant = format!(
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{ name: read-configmaps }}
rules:
  - {{ apiGroups: [""], resources: [configmaps], verbs: [get, list] }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{ name: robot-reads-configmaps }}
roleRef: {{ apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-configmaps }}
subjects:
  - {{ kind: ServiceAccount, name: robot, namespace: {ns} }}
"#,
        ns = ns.name
    );
    support::apply_yaml(&ns.client, &ns.name, &grant).await;
    support::poll_until("the RoleBinding lets the robot list configmaps", || async {
        robot_configmaps.list(&ListParams::default()).await.map_err(|e| support::error_chain(&e))
    })
    .await;
}

#[tokio::test]
async fn kubectl_lists_namespaces_with_the_kubeconfig() {
    let ns = support::namespace("kubectl").await;
    let mut get_ns = Command::new(&support::binaries().kubectl);
    get_ns.arg("--kubeconfig").arg(support::kubeconfig()).args(["get", "ns", "-o", "name"]);
    let listed = support::run_ok(&mut get_ns);
    for expected in ["namespace/default", "namespace/kube-system", &format!("namespace/{}", ns.name)] {
        assert!(listed.lines().any(|line| line == expected), "{expected} missing from:\n{listed}");
    }
}

#[tokio::test]
async fn crds_load_from_a_directory_of_multi_document_files() {
    let client = support::client().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let crd = |plural: &str, kind: &str| {
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
             metadata: {{ name: {plural}.dir.tests.ecs-bridge.dev }}\n\
             spec:\n  group: dir.tests.ecs-bridge.dev\n  scope: Cluster\n  names: {{ plural: {plural}, kind: {kind} }}\n\
             \x20 versions:\n  - name: v1\n    served: true\n    storage: true\n\
             \x20   schema: {{ openAPIV3Schema: {{ type: object, x-kubernetes-preserve-unknown-fields: true }} }}\n"
        )
    };
    let stream =
        format!("# two kinds in one file\n---\n{}---\n{}---\n", crd("gadgets", "Gadget"), crd("gizmos", "Gizmo"));
    std::fs::write(dir.path().join("kinds.yaml"), stream).expect("write");
    std::fs::write(dir.path().join("README.txt"), "not YAML, and not read").expect("write");

    let installed = control_plane::crds::install_from_dir(&client, dir.path())
        .await
        .unwrap_or_else(|e| panic!("install: {}", support::error_chain(&e)));
    assert_eq!(installed, ["gadgets.dir.tests.ecs-bridge.dev", "gizmos.dir.tests.ecs-bridge.dev"]);
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in &installed {
        let conditions = crds.get(name).await.expect("get CRD").status.and_then(|s| s.conditions).unwrap_or_default();
        assert!(
            conditions.iter().any(|c| c.type_ == "Established" && c.status == "True"),
            "{name} returned before it was Established: {conditions:?}"
        );
    }
    // The new kinds are served right away.
    support::apply_yaml(
        &client,
        "default",
        "apiVersion: dir.tests.ecs-bridge.dev/v1\nkind: Gadget\nmetadata: { name: g1 }\n",
    )
    .await;

    let empty = tempfile::tempdir().expect("temp dir");
    let none = control_plane::crds::install_from_dir(&client, empty.path()).await.expect("an empty directory is fine");
    assert!(none.is_empty());

    let wrong = tempfile::tempdir().expect("temp dir");
    std::fs::write(wrong.path().join("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: x }\n")
        .expect("write");
    match control_plane::crds::install_from_dir(&client, wrong.path()).await {
        Err(ControlPlaneError::NotACrd { kind, .. }) => assert_eq!(kind, "ConfigMap"),
        other => panic!("a ConfigMap in the CRD directory must be refused, got {other:?}"),
    }
}

#[test]
fn the_install_script_and_the_library_agree_on_the_binary_directory() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/control-plane/install.sh");
    let located = Binaries::locate().unwrap_or_else(|e| panic!("{}", support::error_chain(&e)));
    // The binaries are there (the line above checked), so the script only prints the path.
    let printed = support::run_ok(Command::new("bash").arg(&script));
    assert_eq!(printed.lines().last().map(Path::new), Some(located.dir.as_path()));
}

/// Kills the dev process if the test fails half-way; its watchdog then removes the servers.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn dev_mode_serves_kubectl_until_sigterm_then_stops_both_servers() {
    let crds = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        crds.path().join("doohickeys.yaml"),
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n\
         metadata: { name: doohickeys.dev.tests.ecs-bridge.dev }\n\
         spec:\n  group: dev.tests.ecs-bridge.dev\n  scope: Namespaced\n  names: { plural: doohickeys, kind: Doohickey }\n\
         \x20 versions:\n  - name: v1\n    served: true\n    storage: true\n\
         \x20   schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }\n",
    )
    .expect("write");
    let stderr = tempfile::NamedTempFile::new().expect("temp file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"));
    command
        // Any free port: 4566 may be taken by a person's own `ecs-bridge dev`.
        .args([
            "dev",
            "--runtime",
            "simulated",
            "--local-control-plane",
            "--emulator-listen",
            "127.0.0.1:0",
            "--crds-dir",
        ])
        .arg(crds.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().expect("reopen"));
    // If the test binary itself is killed, KillOnDrop never runs: have the kernel send dev
    // mode a SIGTERM when this (test) thread goes, so it stops its servers. The thread
    // outlives the child in every other case, as KillOnDrop reaps it first.
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let mut dev = KillOnDrop(command.spawn().expect("start ecs-bridge dev"));
    let dev_stderr = || std::fs::read_to_string(stderr.path()).unwrap_or_default();

    let mut lines = BufReader::new(dev.0.stdout.take().expect("piped stdout")).lines();
    let (mut kubeconfig, mut pids) = (None, None);
    for line in lines.by_ref() {
        let line = line.expect("read dev output");
        let line = line.trim();
        if let Some(path) = line.strip_prefix("kubeconfig:") {
            kubeconfig = Some(path.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("processes:") {
            let numbers: Vec<u32> = rest.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
            pids = Some(numbers);
        } else if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let (Some(kubeconfig), Some(pids)) = (kubeconfig, pids) else {
        panic!("dev mode did not print its kubeconfig and PIDs; stderr:\n{}", dev_stderr());
    };
    assert_eq!(pids.len(), 2, "expected the API server's and etcd's PIDs, got {pids:?}");

    let kubectl = Binaries::locate().expect("binaries").kubectl;
    let listed = support::run_ok(Command::new(&kubectl).args(["--kubeconfig", &kubeconfig, "get", "ns", "-o", "name"]));
    assert!(listed.lines().any(|l| l == "namespace/default"), "kubectl get ns printed:\n{listed}");
    support::run_ok(Command::new(&kubectl).args([
        "--kubeconfig",
        &kubeconfig,
        "get",
        "crd",
        "doohickeys.dev.tests.ecs-bridge.dev",
    ]));

    // SAFETY: signals our own child, not yet reaped.
    unsafe { libc::kill(dev.0.id() as libc::pid_t, libc::SIGTERM) };
    let status = dev.0.wait().expect("wait for dev mode");
    assert!(status.success(), "dev mode exited with {status}; stderr:\n{}", dev_stderr());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("Control plane stopped.")), "no stop message; stdout: {rest:?}");
    // Dev mode reaps both servers before it exits (the watchdog would take a second longer).
    for pid in pids {
        assert!(!control_plane::is_alive(pid), "process {pid} outlived dev mode");
    }
    assert!(!Path::new(&kubeconfig).exists(), "the data directory outlived dev mode");
}
