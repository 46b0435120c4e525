//! `ecs-bridge dev` as a person uses it: the binary as a child process, its printed lines
//! followed to the letter (kubectl with the printed kubeconfig, the real AWS SDK against the
//! printed emulator endpoint), then SIGTERM, after which nothing it started may be left.
//!
//! Two ways in: a local control plane of its own (`--local-control-plane`), and the cluster
//! of the current kubeconfig (here: this test binary's shared API server, one namespace).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use ecs_bridge::api::{EcsCluster, EcsTaskDefinition};
use ecs_bridge::control_plane::{self, Binaries};
use kube::api::Api;
use serde_json::json;

use crate::operator::{apply, condition, ecs_client};
use crate::support::{self, poll_until};

/// What dev mode printed about itself before "Press Ctrl-C".
#[derive(Debug)]
struct Summary {
    cluster: String,
    kubeconfig: Option<PathBuf>,
    pids: Vec<u32>,
    emulator: String,
    crds: String,
}

/// `ecs-bridge dev` as a child, its output in files (a pipe nobody reads would stall it).
struct DevProcess {
    child: Child,
    stdout: tempfile::NamedTempFile,
    stderr: tempfile::NamedTempFile,
}

impl DevProcess {
    fn start(args: &[&str], kubeconfig: &Path) -> DevProcess {
        Self::start_with(args, kubeconfig, &[])
    }

    fn start_with(args: &[&str], kubeconfig: &Path, env: &[(&str, &Path)]) -> DevProcess {
        let stdout = tempfile::NamedTempFile::new().expect("temp file");
        let stderr = tempfile::NamedTempFile::new().expect("temp file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"));
        command
            .arg("dev")
            // The examples' images are not pullable here: these tests are about dev mode,
            // not containers (tests/emulator/docker.rs runs those).
            .args(["--runtime", "simulated"])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("RUST_LOG", "info")
            // Dev mode must not need the person's AWS set-up: no credentials, no region.
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_REGION")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_ENDPOINT_URL_ECS")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(stdout.reopen().expect("reopen"))
            .stderr(stderr.reopen().expect("reopen"));
        for (key, value) in env {
            command.env(key, value);
        }
        // If the test binary is killed, Drop never runs: have the kernel send dev mode a
        // SIGTERM when this thread goes, so it stops what it started.
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
        let child = command.spawn().expect("start ecs-bridge dev");
        DevProcess { child, stdout, stderr }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.stdout.path()).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap_or_default()
    }

    /// Waits for the summary, failing early if dev mode exits instead.
    async fn summary(&mut self) -> Summary {
        let text = poll_until("dev mode prints its summary", || {
            let exited = self.child.try_wait().ok().flatten();
            let (stdout, stderr) = (self.stdout(), self.stderr());
            async move {
                if let Some(status) = exited {
                    panic!("dev mode exited with {status}\nstdout:\n{stdout}\nstderr:\n{stderr}");
                }
                if stdout.contains("Press Ctrl-C") {
                    Ok(stdout)
                } else {
                    Err(format!("stdout so far:\n{stdout}\nstderr:\n{stderr}"))
                }
            }
        })
        .await;
        let field = |name: &str| text.lines().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()));
        let pids = field("processes:")
            .map(|rest| rest.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect())
            .unwrap_or_default();
        Summary {
            cluster: field("cluster:").unwrap_or_else(|| panic!("no cluster line:\n{text}")),
            kubeconfig: field("kubeconfig:").map(PathBuf::from),
            pids,
            emulator: field("emulator:")
                .and_then(|e| e.split_whitespace().next().map(str::to_owned))
                .unwrap_or_else(|| panic!("no emulator line:\n{text}")),
            crds: field("CRDs:").unwrap_or_default(),
        }
    }

    /// SIGTERM, then the exit status (polled, so a hung shutdown fails the test).
    async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = i32::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) with the PID of our own child, not yet reaped.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0, "SIGTERM delivered");
        poll_until("dev mode exits after SIGTERM", || {
            let status = self.child.try_wait();
            let stderr = self.stderr();
            async move {
                match status {
                    Ok(Some(status)) => Ok(status),
                    Ok(None) => Err(format!("still running; stderr:\n{stderr}")),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The kubectl built next to the server, with a kubeconfig.
fn kubectl(kubeconfig: &Path) -> Command {
    let binaries = Binaries::locate().unwrap_or_else(|e| panic!("{}", support::error_chain(&e)));
    let mut command = Command::new(binaries.kubectl);
    command.arg("--kubeconfig").arg(kubeconfig);
    command
}

/// Whether something accepts TCP connections at `http://host:port`.
fn listening(endpoint: &str) -> bool {
    let addr = endpoint.trim_start_matches("http://");
    std::net::TcpStream::connect(addr).is_ok()
}

#[tokio::test]
async fn dev_mode_on_its_own_control_plane_runs_the_examples_then_stops_everything() {
    let mut dev = DevProcess::start(
        &["--local-control-plane", "--emulator-listen", "127.0.0.1:0"],
        // A kubeconfig that reaches nothing, as on a machine without a cluster.
        Path::new("/nonexistent/kubeconfig"),
    );
    let summary = dev.summary().await;
    let kubeconfig = summary.kubeconfig.clone().unwrap_or_else(|| panic!("no kubeconfig line: {summary:?}"));
    assert!(summary.cluster.contains("local control plane"), "{summary:?}");
    assert_eq!(summary.pids.len(), 2, "kube-apiserver's and etcd's PIDs: {summary:?}");
    for crd in ["ecstaskdefinitions", "ecsservices", "ecsclusters"] {
        assert!(summary.crds.contains(&format!("{crd}.ecs-bridge.dev")), "dev mode installs the CRDs: {summary:?}");
    }
    let ecs = ecs_client(&summary.emulator);
    let clusters = ecs.list_clusters().send().await.expect("ListClusters");
    assert!(
        clusters.cluster_arns().iter().any(|a| a.ends_with(":cluster/default")),
        "dev mode creates the default cluster: {clusters:?}"
    );

    // The first thing a person tries, as printed (from the repository root).
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    support::run_ok(kubectl(&kubeconfig).arg("apply").arg("-f").arg(&examples));
    support::run_ok(kubectl(&kubeconfig).args([
        "wait",
        "--for=condition=Ready",
        "ecstaskdefinitions,ecsclusters,ecscapacityproviders",
        "--all",
        "--timeout=120s",
    ]));
    support::run_ok(kubectl(&kubeconfig).args([
        "wait",
        "--for=condition=Ready",
        "ecsservices",
        "--all",
        "--timeout=120s",
    ]));

    // The one-off example runs to Complete, as its comment says to wait for it.
    support::run_ok(kubectl(&kubeconfig).args([
        "wait",
        "--for=condition=Complete",
        "ecstask/migrate",
        "--timeout=120s",
    ]));

    // What Ready claims is what ECS holds.
    let client =
        control_plane::kubeconfig::client(&kubeconfig).await.unwrap_or_else(|e| panic!("{}", support::error_chain(&e)));
    let task_definitions: Api<EcsTaskDefinition> = Api::namespaced(client.clone(), "default");
    let nginx = task_definitions.get("nginx").await.expect("the nginx example");
    let status = nginx.status.expect("status");
    let arn = status.task_definition_arn.expect("a revision ARN in the status");
    let described =
        ecs.describe_task_definition().task_definition(&arn).send().await.expect("the emulator knows the revision");
    let described = described.task_definition().expect("a task definition");
    assert_eq!(described.family(), Some("nginx"));
    assert_eq!(Some(described.revision()), status.revision);
    let demo: Api<EcsCluster> = Api::namespaced(client, "default");
    let demo = demo.get("demo").await.expect("the cluster example");
    let ready = condition(&demo.status.expect("status").conditions, "Ready");
    assert_eq!(ready.map(|(s, _, _)| s).as_deref(), Some("True"));
    let clusters = ecs.describe_clusters().clusters("demo").send().await.expect("DescribeClusters");
    assert_eq!(clusters.clusters().first().and_then(|c| c.status()), Some("ACTIVE"), "{clusters:?}");

    // Ready services run their desired count in ECS, each on the revision its
    // EcsTaskDefinition registered; the EC2 one on the simulated instances, spread over the
    // zones as its placement strategy asks.
    let described = ecs
        .describe_services()
        .cluster("demo")
        .services("nginx")
        .services("api")
        .services("web-bridge")
        .send()
        .await
        .expect("DescribeServices");
    assert_eq!(described.services().len(), 3, "{described:?}");
    for service in described.services() {
        let name = service.service_name().unwrap_or_default();
        assert_eq!(service.status(), Some("ACTIVE"), "{service:?}");
        assert!(service.desired_count() > 0, "{service:?}");
        assert_eq!(service.running_count(), service.desired_count(), "{service:?}");
        // Each example names its task definition family after its service.
        assert!(
            service.task_definition().is_some_and(|td| td.ends_with(&format!("task-definition/{name}:1"))),
            "{service:?}"
        );
    }
    let listed = ecs.list_tasks().cluster("demo").service_name("web-bridge").send().await.expect("ListTasks");
    let tasks = ecs
        .describe_tasks()
        .cluster("demo")
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .expect("DescribeTasks");
    let zones: std::collections::BTreeSet<&str> = tasks
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .filter_map(|t| t.availability_zone())
        .collect();
    assert_eq!(zones.len(), 3, "one running task per zone: {tasks:?}");

    let status = dev.terminate().await;
    let stdout = dev.stdout();
    assert!(status.success(), "dev mode exited with {status}; stderr:\n{}", dev.stderr());
    for line in ["Controller stopped.", "Emulator stopped.", "Control plane stopped."] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    for pid in &summary.pids {
        assert!(!control_plane::is_alive(*pid), "process {pid} outlived dev mode");
    }
    assert!(!kubeconfig.exists(), "the control plane's data directory outlived dev mode");
    assert!(!listening(&summary.emulator), "the emulator still listens");
}

#[tokio::test]
async fn dev_mode_uses_the_cluster_of_the_current_kubeconfig_and_leaves_it_running() {
    let ns = support::namespace("dev-existing").await;
    let mut dev =
        DevProcess::start(&["--namespace", &ns.name, "--emulator-listen", "127.0.0.1:0"], support::kubeconfig());
    let summary = dev.summary().await;
    assert!(summary.kubeconfig.is_none() && summary.pids.is_empty(), "no control plane of its own: {summary:?}");
    assert!(
        summary.crds.contains("already there") && !summary.crds.contains("installed"),
        "the shared server has the CRDs, dev mode leaves them alone: {summary:?}"
    );
    let server = control_plane::kubeconfig::load_config(support::kubeconfig())
        .await
        .expect("kubeconfig")
        .cluster_url
        .to_string();
    assert!(summary.cluster.starts_with(server.trim_end_matches('/')), "{summary:?} is not {server}");

    let clusters: Api<EcsCluster> = Api::namespaced(ns.client.clone(), &ns.name);
    apply(
        &clusters,
        "edge",
        json!({
            "apiVersion": "ecs-bridge.dev/v1alpha1",
            "kind": "EcsCluster",
            "metadata": {"name": "edge"},
            "spec": {"clusterName": format!("{}-edge", ns.name)},
        }),
    )
    .await;
    poll_until("the EcsCluster is Ready", || async {
        let obj = clusters.get("edge").await.map_err(|e| e.to_string())?;
        let ready = condition(&obj.status.clone().unwrap_or_default().conditions, "Ready");
        match ready {
            Some((s, _, _)) if s == "True" => Ok(()),
            other => Err(format!("Ready: {other:?}")),
        }
    })
    .await;
    let described = ecs_client(&summary.emulator)
        .describe_clusters()
        .clusters(format!("{}-edge", ns.name))
        .send()
        .await
        .expect("DescribeClusters");
    assert_eq!(described.clusters().first().and_then(|c| c.status()), Some("ACTIVE"), "{described:?}");

    let status = dev.terminate().await;
    assert!(status.success(), "dev mode exited with {status}; stderr:\n{}", dev.stderr());
    let stdout = dev.stdout();
    assert!(stdout.contains("Controller stopped."), "{stdout}");
    assert!(!stdout.contains("Control plane stopped."), "{stdout}");
    // The cluster it used is still there, with the object (and the finalizer dev mode's
    // controller put on it: nothing deletes behind the person's back).
    let edge = clusters.get("edge").await.expect("the API server still answers");
    assert!(edge.metadata.finalizers.is_some_and(|f| !f.is_empty()));
}

#[tokio::test]
async fn a_first_start_runs_the_install_script_in_view_and_reports_its_failure() {
    // No cached binaries and no Go toolchain: the script starts, says why it cannot build,
    // and dev mode passes that on instead of waiting silently or starting half a system.
    let empty = tempfile::tempdir().expect("temp dir");
    let mut dev = DevProcess::start_with(
        &["--local-control-plane", "--emulator-listen", "127.0.0.1:0"],
        Path::new("/nonexistent/kubeconfig"),
        &[(control_plane::binaries::BIN_DIR_ENV, empty.path()), ("PATH", Path::new("/usr/bin:/bin"))],
    );
    let status = poll_until("dev mode gives up", || {
        let status = dev.child.try_wait();
        async move {
            match status {
                Ok(Some(status)) => Ok(status),
                Ok(None) => Err("still running".to_owned()),
                Err(e) => Err(e.to_string()),
            }
        }
    })
    .await;
    let stderr = dev.stderr();
    assert!(!status.success(), "dev mode cannot run without binaries; stderr:\n{stderr}");
    for expected in [
        "dev: first start: building the local control plane",
        // The script's own words, passed through as they come.
        "control-plane: error: the Go toolchain ('go') is not on PATH",
        "building the control-plane binaries with tests/control-plane/install.sh failed",
    ] {
        assert!(stderr.contains(expected), "no {expected:?} in:\n{stderr}");
    }
    assert!(!dev.stdout().contains("Press Ctrl-C"), "{}", dev.stdout());
}
