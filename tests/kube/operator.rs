//! Plumbing for the operator's integration tests: an ECS emulator over real
//! HTTP, the real `aws-sdk-ecs` client, the real API server (from `support`),
//! and the controller running in this process or as the binary.

#![allow(dead_code)] // each operator test module uses its own subset

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ecs_bridge::api::{EcsCluster, EcsTaskDefinition};
use ecs_bridge::controller::{self, ControllerConfig, ControllerHandle, LeaseSettings, Metrics, RetryPolicy};
use ecs_bridge::ecs::SdkEcs;
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator};
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};

use crate::support::{self, TestNamespace};

pub const REGION: &str = "us-east-1";

/// A fresh in-memory emulator on a loopback port.
pub async fn emulator() -> RunningEmulator {
    ecs_bridge::emulator::spawn(EmulatorConfig::default()).await.expect("the emulator starts")
}

/// The SDK client the tests use to look at ECS, with static credentials and
/// no retries (an error shows up as itself).
pub fn ecs_client(endpoint: &str) -> aws_sdk_ecs::Client {
    ecs_bridge::ecs::client_for_endpoint(endpoint, REGION, 1)
}

/// The controller's configuration for a test: one namespace, fast back-off.
pub fn config(namespace: &str, identity: &str) -> ControllerConfig {
    let mut config = ControllerConfig::new(identity);
    config.namespace = Some(namespace.to_owned());
    config.retry = RetryPolicy { base: Duration::from_millis(200), max: Duration::from_secs(5) };
    config.shutdown_grace = Duration::from_secs(10);
    config
}

/// Lease settings short enough for a takeover within a test's patience.
pub fn lease(namespace: &str, identity: &str) -> LeaseSettings {
    LeaseSettings {
        name: "ecs-bridge-controller".to_owned(),
        namespace: namespace.to_owned(),
        identity: identity.to_owned(),
        lease_duration: Duration::from_secs(4),
        renew_deadline: Duration::from_secs(3),
        retry_period: Duration::from_millis(500),
    }
}

/// Starts a controller in this process, talking HTTP to `endpoint`.
pub async fn start_controller(config: ControllerConfig, client: kube::Client, endpoint: &str) -> ControllerHandle {
    let metrics = Metrics::new();
    let ecs = SdkEcs::for_endpoint(endpoint, REGION, 1, metrics.ecs().clone()).await;
    controller::start(config, client, ecs, metrics)
        .await
        .unwrap_or_else(|e| panic!("the controller starts: {}", support::error_chain(&e)))
}

/// Emulator, namespace and a running in-process controller.
pub struct Harness {
    pub ns: TestNamespace,
    pub emulator: RunningEmulator,
    pub ecs: aws_sdk_ecs::Client,
    pub controller: Option<ControllerHandle>,
}

impl Harness {
    pub async fn start(prefix: &str) -> Self {
        let ns = support::namespace(prefix).await;
        let emulator = emulator().await;
        let ecs = ecs_client(&emulator.endpoint());
        let controller = start_controller(config(&ns.name, "replica-a"), ns.client.clone(), &emulator.endpoint()).await;
        Self { ns, emulator, ecs, controller: Some(controller) }
    }

    pub fn controller(&self) -> &ControllerHandle {
        self.controller.as_ref().expect("the controller runs")
    }

    /// Stops the controller gracefully and starts a new one (a restart).
    pub async fn restart_controller(&mut self) {
        if let Some(old) = self.controller.take() {
            old.shutdown().await;
        }
        self.controller = Some(
            start_controller(config(&self.ns.name, "replica-a"), self.ns.client.clone(), &self.emulator.endpoint())
                .await,
        );
    }

    pub async fn stop(mut self) {
        if let Some(controller) = self.controller.take() {
            controller.shutdown().await;
        }
    }

    pub fn task_definitions(&self) -> Api<EcsTaskDefinition> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    pub fn clusters(&self) -> Api<EcsCluster> {
        Api::namespaced(self.ns.client.clone(), &self.ns.name)
    }

    /// Requests the emulator served, per operation.
    pub fn ecs_requests(&self) -> BTreeMap<String, u64> {
        requests(&self.emulator)
    }
}

pub fn requests(emulator: &RunningEmulator) -> BTreeMap<String, u64> {
    emulator.stats().into_iter().filter_map(|(op, n)| Some((op, n.as_u64()?))).collect()
}

/// The environment of the `ecs-bridge` binary's AWS clients in a test: static
/// credentials, and nothing from the machine (instance metadata, config files).
pub const BINARY_AWS_ENV: [(&str, &str); 5] = [
    ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
    ("AWS_SECRET_ACCESS_KEY", "test-secret"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials"),
];

/// Endpoints from the machine's environment, which `--ecs-endpoint` replaces in a test.
pub const BINARY_AWS_ENV_REMOVED: [&str; 2] = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECS"];

/// How many write requests `after` has beyond `before`.
pub fn writes_between(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    ecs_bridge::ecs::WRITE_OPERATIONS
        .iter()
        .filter_map(|op| {
            let delta = after.get(*op).copied().unwrap_or(0) - before.get(*op).copied().unwrap_or(0);
            (delta > 0).then(|| (op.to_string(), delta))
        })
        .collect()
}

/// Server-side applies an object from JSON (the way `kubectl apply --server-side` would).
pub async fn apply<K>(api: &Api<K>, name: &str, object: serde_json::Value)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.patch(name, &PatchParams::apply("tests").force(), &Patch::Apply(&object))
        .await
        .unwrap_or_else(|e| panic!("apply {name}: {}", support::error_chain(&e)));
}

/// A condition's (status, reason, message), if present.
pub fn condition(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String, String)> {
    conditions.iter().find(|c| c.type_ == type_).map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Events regarding `name` in `namespace`, as (type, reason, note).
pub async fn events(client: &kube::Client, namespace: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    api.list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("list events: {}", support::error_chain(&e)))
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| (e.type_.unwrap_or_default(), e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
        .collect()
}

/// Polls until the object exists no more.
pub async fn until_gone<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    support::poll_until(&format!("{name} is deleted"), || async {
        match api.get_opt(name).await {
            Ok(None) => Ok(()),
            Ok(Some(_)) => Err("still there".to_owned()),
            Err(e) => Err(e.to_string()),
        }
    })
    .await
}

/// `GET http://<addr><path>` → (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The `ecs-bridge controller` binary as a child process, its log in a file
/// (a pipe nobody reads would fill up and stall it).
pub struct ControllerProcess {
    pub child: Child,
    log: tempfile::NamedTempFile,
}

impl ControllerProcess {
    /// Starts the binary, pointed at the test API server and `endpoint`.
    pub fn start(namespace: &str, endpoint: &str, extra_args: &[&str], extra_env: &[(&str, &str)]) -> Self {
        let log = tempfile::NamedTempFile::new().expect("a log file");
        let stderr = log.reopen().expect("the log file reopens");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"));
        command
            .arg("controller")
            .args(["--namespace", namespace])
            .args(["--ecs-endpoint", endpoint])
            .args(["--region", REGION])
            .args(["--metrics-addr", "127.0.0.1:0"])
            .args(["--lease-namespace", namespace])
            .args(["--lease-duration-seconds", "4"])
            .args(["--renew-deadline-seconds", "3"])
            .args(["--retry-period-seconds", "1"])
            .args(extra_args)
            .env("KUBECONFIG", support::kubeconfig())
            .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", Path::new("/nonexistent/aws-config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", Path::new("/nonexistent/aws-credentials"))
            .env("RUST_LOG", "info")
            .env_remove("AWS_ENDPOINT_URL_ECS")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove(controller::failpoint::ENV)
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr));
        for (key, value) in extra_env {
            command.env(key, value);
        }
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start the controller binary: {e}"));
        Self { child, log }
    }

    /// What the process logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) with the PID of our own child and a valid signal number.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "SIGTERM delivered");
    }

    /// Waits (polling) for the process to exit.
    pub async fn exited(&mut self) -> std::process::ExitStatus {
        let child = &mut self.child;
        let log = self.log.path().to_path_buf();
        support::poll_until("the controller process exits", || {
            let status = child.try_wait();
            let log = log.clone();
            async move {
                match status {
                    Ok(Some(status)) => Ok(status),
                    Ok(None) => {
                        Err(format!("still running; log:\n{}", std::fs::read_to_string(log).unwrap_or_default()))
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await
    }
}

impl Drop for ControllerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
