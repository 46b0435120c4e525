//! Test support for everything that needs a real Kubernetes API server.
//!
//! One control plane (etcd + kube-apiserver, see `ecs_bridge::control_plane`) is started per
//! test binary, lazily by the first test that asks for it, with the repository's `crds/`
//! installed. Tests run in parallel; each gets its own namespace. The servers are stopped
//! by a watchdog once the test binary has exited, even after panics.
//!
//! Interface, for the test modules of this binary:
//! - `namespace("prefix").await -> TestNamespace { name, client }`: a fresh namespace
//!   (`prefix-N`) and an admin `kube::Client` bound to the calling test's runtime. Every
//!   `#[tokio::test]` has its own runtime and a client only works on the runtime that built
//!   it, so always take clients from here, never share one between tests. Namespaces are
//!   not deleted: no controller-manager runs to finalize them.
//! - `client().await`: another admin client for the current runtime.
//! - `client_as(user, groups).await`: a client impersonating `user` (for example
//!   `system:serviceaccount:<ns>:<name>`) with extra `groups`, for RBAC checks.
//! - `kubeconfig() -> &Path`, `binaries() -> &Binaries` (etcd, kube-apiserver, the matching
//!   kubectl, helm if built).
//! - `kubectl(ns) -> Command` and `helm(ns) -> Command`: the cache's binaries with
//!   `--kubeconfig` and `--namespace` set; add the rest of the arguments.
//!   `run_ok(cmd) -> String` runs one and returns its stdout, panicking with its stderr.
//! - `apply_yaml(&client, ns, yaml).await -> Vec<DynamicObject>`: server-side apply of a
//!   YAML stream; panics with the server's message.
//! - `poll_until(what, || async { ... Ok(value) or Err(why_not) }).await -> value`: retries
//!   every 100 ms for up to `POLL_TIMEOUT`, then panics with `what` and the last `why_not`.
//!   Use it for anything that happens asynchronously; never assert on elapsed time.
//! - `error_chain(&err) -> String`: an error with all its sources, for messages.

#![allow(dead_code)] // each test module uses its own subset

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ecs_bridge::control_plane::{self, Binaries, ControlPlane, StartOptions};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, PostParams};

/// How long `poll_until` waits: generous, as two loaded cores can be slow.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(90);

/// What the tests need to know about the shared control plane. The `ControlPlane` handle
/// itself stays on the thread that started it (see `start_shared`).
struct Shared {
    kubeconfig: PathBuf,
    binaries: Binaries,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

fn shared() -> &'static Shared {
    match SHARED.get_or_init(start_shared) {
        Ok(shared) => shared,
        Err(message) => panic!("the test control plane did not start: {message}"),
    }
}

/// Starts the control plane on a dedicated thread with its own runtime: the calling test's
/// runtime cannot block on another future, and ends with the test. The thread then parks
/// for the life of the binary, keeping the handle (and its data directory) alive; the
/// handle's watchdog stops the servers after the binary exits, since statics are never
/// dropped.
fn start_shared() -> Result<Shared, String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("control-plane".into()).spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                return drop(sender.send(Err(format!("cannot build a tokio runtime: {e}"))));
            }
        };
        let crds = Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
        let options = StartOptions { crds_dir: crds.is_dir().then_some(crds), ..StartOptions::default() };
        match runtime.block_on(ControlPlane::start(options)) {
            Ok(control_plane) => {
                report_ready(&control_plane);
                let shared = Shared {
                    kubeconfig: control_plane.kubeconfig_path().to_path_buf(),
                    binaries: control_plane.binaries().clone(),
                };
                let _ = sender.send(Ok(shared));
                let _keep = (runtime, control_plane);
                loop {
                    std::thread::park();
                }
            }
            Err(e) => drop(sender.send(Err(error_chain(&e)))),
        }
    });
    spawned.map_err(|e| format!("cannot spawn the control-plane thread: {e}"))?;
    receiver.recv().map_err(|_| "the control-plane thread ended without an answer".to_string())?
}

/// Prints how long the binary waited for a ready server. Written straight to stderr so the
/// test harness's output capture does not hide it.
fn report_ready(control_plane: &ControlPlane) {
    let since_binary_start = process_age()
        .map(|age| format!("; handed to the tests {:.1}s after the test binary started", age.as_secs_f64()))
        .unwrap_or_default();
    let _ = writeln!(
        std::io::stderr(),
        "test control plane: API server ready in {:.1}s, {} CRD(s) established{since_binary_start} (kubeconfig {})",
        control_plane.ready_after().as_secs_f64(),
        control_plane.crds().len(),
        control_plane.kubeconfig_path().display()
    );
}

/// Time since this process started, from /proc (Linux).
fn process_age() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 22 (starttime, in clock ticks since boot); the command name in field 2 may
    // contain spaces, so count from the closing parenthesis.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = after_name.split(' ').nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime").ok()?.split(' ').next()?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks_per_second > 0.0).then(|| Duration::from_secs_f64((uptime - start_ticks / ticks_per_second).max(0.0)))
}

/// A namespace of its own for one test, and an admin client for the test's runtime.
pub struct TestNamespace {
    pub name: String,
    pub client: kube::Client,
}

/// Creates a fresh namespace named after `prefix`; see the module docs.
pub async fn namespace(prefix: &str) -> TestNamespace {
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    let mut base: String =
        prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(50).collect();
    base = base.trim_matches('-').to_string();
    if base.is_empty() {
        base = "test".to_string();
    }
    let name = format!("{base}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let client = client().await;
    let namespace: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": name },
    }))
    .expect("a namespace literal");
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap_or_else(|e| panic!("cannot create namespace {name}: {}", error_chain(&e)));
    TestNamespace { name, client }
}

/// An admin client bound to the current tokio runtime.
pub async fn client() -> kube::Client {
    control_plane::kubeconfig::client(kubeconfig())
        .await
        .unwrap_or_else(|e| panic!("cannot build a client: {}", error_chain(&e)))
}

/// A client that impersonates `user` (and `groups`): requests are authorized as that user.
pub async fn client_as(user: &str, groups: &[&str]) -> kube::Client {
    let mut config = control_plane::kubeconfig::load_config(kubeconfig())
        .await
        .unwrap_or_else(|e| panic!("cannot load the kubeconfig: {}", error_chain(&e)));
    config.auth_info.impersonate = Some(user.to_string());
    if !groups.is_empty() {
        config.auth_info.impersonate_groups = Some(groups.iter().map(|g| g.to_string()).collect());
    }
    control_plane::kubeconfig::client_from(config)
        .unwrap_or_else(|e| panic!("cannot build a client as {user}: {}", error_chain(&e)))
}

/// The shared control plane's kubeconfig (admin user).
pub fn kubeconfig() -> &'static Path {
    &shared().kubeconfig
}

/// The binaries the shared control plane runs, with the matching kubectl and helm.
pub fn binaries() -> &'static Binaries {
    &shared().binaries
}

/// `kubectl --kubeconfig <shared> --namespace <ns>`, using the kubectl that matches the
/// server's version (the machine's own may be outside the supported skew).
pub fn kubectl(namespace: &str) -> Command {
    let mut command = Command::new(&binaries().kubectl);
    command.arg("--kubeconfig").arg(kubeconfig()).arg("--namespace").arg(namespace);
    command
}

/// `helm --kubeconfig <shared> --namespace <ns>`; panics if the install script did not
/// build helm.
pub fn helm(namespace: &str) -> Command {
    let helm = binaries().helm.as_ref().unwrap_or_else(|| {
        panic!("helm is missing from {}: run tests/control-plane/install.sh", binaries().dir.display())
    });
    let mut command = Command::new(helm);
    command.arg("--kubeconfig").arg(kubeconfig()).arg("--namespace").arg(namespace);
    command
}

/// Runs a command to completion; returns its stdout, or panics with its stderr.
pub fn run_ok(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        panic!(
            "{command:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    stdout
}

/// Server-side applies a YAML stream; namespaced objects without a namespace go to `namespace`.
pub async fn apply_yaml(client: &kube::Client, namespace: &str, yaml: &str) -> Vec<DynamicObject> {
    control_plane::manifests::apply_yaml(client, Some(namespace), yaml)
        .await
        .unwrap_or_else(|e| panic!("apply failed: {}", error_chain(&e)))
}

/// Polls `check` until it returns `Ok`; see the module docs.
pub async fn poll_until<T, E, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let deadline = Instant::now() + POLL_TIMEOUT;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(why_not) if Instant::now() > deadline => {
                panic!("timed out after {POLL_TIMEOUT:?} waiting until {what}; last: {why_not}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// An error and all its sources, on one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
