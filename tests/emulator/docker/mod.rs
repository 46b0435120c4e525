//! The Docker runtime against the real engine: tasks are containers, their
//! lifecycle comes from what the containers do. Needs `dockerd` and the test
//! image `tests/docker/image.sh` builds (`.ci/run` does both); without them
//! these tests fail saying so, they never pass silently.
//!
//! This file holds the helpers; each neighbour one subject: single tasks
//! ([`tasks`]), services and rollouts ([`rollouts`]), restarts
//! ([`restarts`]), CloudWatch Logs ([`logs`]), the task definition's
//! secrets, volumes and limits ([`definitions`]), network modes and the
//! task metadata endpoint ([`networks`]).

mod definitions;
mod logs;
mod networks;
mod restarts;
mod rollouts;
mod tasks;
mod utilisation;

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType, Task, TaskOverride};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, RuntimeMode};

use crate::support::start_with;

pub const IMAGE: &str = "ecs-bridge-test/busybox:2";

/// Runs `docker` with `args`, returning stdout; panics with how to fix a
/// missing engine or image.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the docker CLI is not installed ({e}): apt-get install docker.io"));
    assert!(
        out.status.success(),
        "docker {args:?} failed: {} (is dockerd running? start it with `dockerd &`; the test image comes from tests/docker/image.sh)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An emulator on the Docker runtime with simulated EC2 capacity, and a
/// cluster `c`.
pub async fn start() -> (RunningEmulator, Client) {
    docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let config = EmulatorConfig { runtime: RuntimeMode::Docker, ec2_capacity: 2, ..EmulatorConfig::default() };
    let (emulator, client) = start_with(config).await;
    client.create_cluster().cluster_name("c").send().await.expect("cluster");
    (emulator, client)
}

pub fn container(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder().name(name).image(IMAGE).memory(64).essential(true)
}

/// busybox's httpd serving the image's /www on port 8080.
pub fn web_server() -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    container("web").command("httpd").command("-f").command("-p").command("8080").command("-h").command("/www")
}

pub async fn register(client: &Client, family: &str, containers: Vec<ContainerDefinition>) -> String {
    let mut request =
        client.register_task_definition().family(family).network_mode(aws_sdk_ecs::types::NetworkMode::Bridge);
    for c in containers {
        request = request.container_definitions(c);
    }
    request.send().await.expect("register").task_definition.and_then(|t| t.task_definition_arn).expect("arn")
}

pub async fn describe(client: &Client, arn: &str) -> Task {
    let out = client.describe_tasks().cluster("c").tasks(arn).send().await.expect("describe");
    out.tasks().first().cloned().expect("the task")
}

/// Polls the task until `done` says so, or panics after `within`.
pub async fn wait_for(client: &Client, arn: &str, within: Duration, done: impl Fn(&Task) -> bool) -> Task {
    let start = Instant::now();
    loop {
        let task = describe(client, arn).await;
        if done(&task) {
            return task;
        }
        assert!(start.elapsed() < within, "task not there after {within:?}: {task:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn run(client: &Client, td: &str, overrides: Option<TaskOverride>) -> String {
    let out = client
        .run_task()
        .cluster("c")
        .task_definition(td)
        .launch_type(LaunchType::Ec2)
        .set_overrides(overrides)
        .send()
        .await
        .expect("run task");
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.tasks()[0].task_arn().expect("arn").to_owned()
}

pub fn is(status: &str) -> impl Fn(&Task) -> bool + '_ {
    move |t| t.last_status() == Some(status)
}

pub fn owned_containers(emulator: &RunningEmulator) -> Vec<String> {
    let owner = emulator.container_owner().expect("the Docker runtime has an owner label");
    let filter = format!("label=dev.ecs-bridge.emulator={owner}");
    docker(&["ps", "-aq", "--filter", &filter]).lines().map(str::to_owned).collect()
}

/// The built binary on the Docker runtime with `--state-dir`; its endpoint.
pub fn start_child(state_dir: &std::path::Path) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"))
        .args(["emulator", "--runtime", "docker", "--ec2-capacity", "1", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start ecs-bridge emulator");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("listening line");
    let endpoint = line.trim().rsplit(' ').next().filter(|e| e.starts_with("http://")).expect("endpoint").to_owned();
    (child, endpoint)
}

/// Runs `aws logs <args>` against the emulator; (success, stdout, stderr).
pub fn aws_logs(endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let out = crate::cli::aws("logs", endpoint, args);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}
