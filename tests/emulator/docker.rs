//! The Docker runtime against the real engine: tasks are containers, their
//! lifecycle comes from what the containers do. Needs `dockerd` and the test
//! image `tests/docker/image.sh` builds (`.ci/run` does both); without them
//! these tests fail saying so, they never pass silently.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{
    ContainerDefinition, ContainerOverride, DesiredStatus, KeyValuePair, LaunchType, PortMapping, Task, TaskOverride,
};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, RuntimeMode};

use crate::support::start_with;

const IMAGE: &str = "ecs-bridge-test/busybox:1";

/// Runs `docker` with `args`, returning stdout; panics with how to fix a
/// missing engine or image.
fn docker(args: &[&str]) -> String {
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
async fn start() -> (RunningEmulator, Client) {
    docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let config = EmulatorConfig { runtime: RuntimeMode::Docker, ec2_capacity: 2, ..EmulatorConfig::default() };
    let (emulator, client) = start_with(config).await;
    client.create_cluster().cluster_name("c").send().await.expect("cluster");
    (emulator, client)
}

fn container(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder().name(name).image(IMAGE).memory(64).essential(true)
}

/// busybox's httpd serving the image's /www on port 8080.
fn web_server() -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    container("web").command("httpd").command("-f").command("-p").command("8080").command("-h").command("/www")
}

async fn register(client: &Client, family: &str, containers: Vec<ContainerDefinition>) -> String {
    let mut request =
        client.register_task_definition().family(family).network_mode(aws_sdk_ecs::types::NetworkMode::Bridge);
    for c in containers {
        request = request.container_definitions(c);
    }
    request.send().await.expect("register").task_definition.and_then(|t| t.task_definition_arn).expect("arn")
}

async fn describe(client: &Client, arn: &str) -> Task {
    let out = client.describe_tasks().cluster("c").tasks(arn).send().await.expect("describe");
    out.tasks().first().cloned().expect("the task")
}

/// Polls the task until `done` says so, or panics after `within`.
async fn wait_for(client: &Client, arn: &str, within: Duration, done: impl Fn(&Task) -> bool) -> Task {
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

async fn run(client: &Client, td: &str, overrides: Option<TaskOverride>) -> String {
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

fn is(status: &str) -> impl Fn(&Task) -> bool + '_ {
    move |t| t.last_status() == Some(status)
}

fn owned_containers(emulator: &RunningEmulator) -> Vec<String> {
    let owner = emulator.container_owner().expect("the Docker runtime has an owner label");
    let filter = format!("label=dev.ecs-bridge.emulator={owner}");
    docker(&["ps", "-aq", "--filter", &filter]).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn a_bridge_service_answers_http_on_its_host_ports_and_its_containers_are_ecs() {
    let (emulator, client) = start().await;
    let web = web_server().port_mappings(PortMapping::builder().container_port(8080).build()).build();
    let td = register(&client, "web", vec![web]).await;
    client
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition(&td)
        .desired_count(2)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    let listed = client.list_tasks().cluster("c").service_name("web").send().await.expect("list");
    assert_eq!(listed.task_arns().len(), 2);
    let mut ports = Vec::new();
    for arn in listed.task_arns() {
        let task = wait_for(&client, arn, Duration::from_secs(60), is("RUNNING")).await;
        let c = &task.containers()[0];
        let id = c.runtime_id().expect("runtimeId is the container's id");
        let binding = &c.network_bindings()[0];
        assert_eq!(binding.container_port(), Some(8080));
        assert_eq!(binding.bind_ip(), Some("127.0.0.1"));
        let port = binding.host_port().expect("a host port from the ephemeral range");
        ports.push(port);
        let body = reqwest::get(format!("http://127.0.0.1:{port}/")).await.expect("http").text().await.expect("body");
        assert_eq!(body.trim(), "hello from ecs-bridge");
        // Labelled as the ECS agent labels its containers.
        let labels = docker(&["inspect", "--format", "{{json .Config.Labels}}", id]);
        let labels: serde_json::Value = serde_json::from_str(&labels).expect("labels");
        assert_eq!(labels["com.amazonaws.ecs.task-arn"], arn.as_str());
        assert_eq!(labels["com.amazonaws.ecs.cluster"], "c");
        assert_eq!(labels["com.amazonaws.ecs.container-name"], "web");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-family"], "web");
        assert_eq!(labels["com.amazonaws.ecs.task-definition-version"], "1");
    }
    assert_ne!(ports[0], ports[1], "each task has its own host port");
    assert_eq!(owned_containers(&emulator).len(), 2);
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_job_reports_its_real_exit_code_and_ecs_stop_reason() {
    let (emulator, client) = start().await;
    let job = container("job").command("sh").command("-c").command("echo working; sleep 1; exit 3").build();
    let td = register(&client, "job", vec![job]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(3));
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("EssentialContainerExited"));
    assert_eq!(task.stopped_reason(), Some("Essential container in task exited"));
    assert!(task.started_at().is_some(), "it ran");
    assert!(task.pull_started_at().is_some() && task.pull_stopped_at().is_some());

    // Overrides reach the container: a command and an environment variable.
    let overrides = TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name("job")
                .command("sh")
                .command("-c")
                .command("exit $CODE")
                .environment(KeyValuePair::builder().name("CODE").value("7").build())
                .build(),
        )
        .build();
    let arn = run(&client, &td, Some(overrides)).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(7));
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn stop_task_sends_sigterm_then_sigkill_after_stop_timeout() {
    let (emulator, client) = start().await;
    // One container ends on SIGTERM (with a code of its own); the other
    // ignores it and is killed.
    let polite = container("polite")
        .command("sh")
        .command("-c")
        .command("trap 'exit 5' TERM; while true; do sleep 1; done")
        .essential(false)
        .build();
    let stubborn = container("stubborn")
        .command("sh")
        .command("-c")
        .command("trap '' TERM; while true; do sleep 1; done")
        .stop_timeout(2)
        .build();
    let td = register(&client, "stoppers", vec![polite, stubborn]).await;
    let arn = run(&client, &td, None).await;
    wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let asked = Instant::now();
    client.stop_task().cluster("c").task(&arn).reason("done here").send().await.expect("stop");
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    let took = asked.elapsed();
    let code = |name: &str| task.containers().iter().find(|c| c.name() == Some(name)).and_then(|c| c.exit_code());
    assert_eq!(code("polite"), Some(5), "SIGTERM came first, and the container handled it");
    assert_eq!(code("stubborn"), Some(137), "SIGKILL after the stop timeout (128 + 9)");
    assert!(took >= Duration::from_secs(2), "waited for the stop timeout: {took:?}");
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("UserInitiated"));
    assert_eq!(task.stopped_reason(), Some("done here"));
    assert_eq!(task.desired_status(), Some(DesiredStatus::Stopped.as_str()));
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn an_image_that_cannot_be_pulled_fails_the_task_as_ecs_does() {
    let (emulator, client) = start().await;
    // A registry that refuses at once: nothing leaves the machine.
    let bad = ContainerDefinition::builder().name("app").image("127.0.0.1:9/nowhere/app:1").memory(64).build();
    let td = register(&client, "unpullable", vec![bad]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(task.started_at().is_none(), "it never ran");
    assert!(owned_containers(&emulator).is_empty(), "no container was made");
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn no_container_outlives_its_task_or_its_emulator() {
    let (emulator, client) = start().await;
    let sleeper = container("sleeper").command("sleep").command("600").build();
    let td = register(&client, "sleepers", vec![sleeper]).await;
    let first = run(&client, &td, None).await;
    let second = run(&client, &td, None).await;
    for arn in [&first, &second] {
        wait_for(&client, arn, Duration::from_secs(60), is("RUNNING")).await;
    }
    assert_eq!(owned_containers(&emulator).len(), 2);
    // A stopped task's container is removed.
    client.stop_task().cluster("c").task(&first).send().await.expect("stop");
    wait_for(&client, &first, Duration::from_secs(60), is("STOPPED")).await;
    let start = Instant::now();
    while owned_containers(&emulator).len() != 1 {
        assert!(start.elapsed() < Duration::from_secs(20), "the stopped task's container stayed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Dropping the emulator (no shutdown) removes the rest.
    let owner = emulator.container_owner().expect("owner").to_owned();
    drop(emulator);
    let left = docker(&["ps", "-aq", "--filter", &format!("label=dev.ecs-bridge.emulator={owner}")]);
    assert!(left.trim().is_empty(), "containers left behind: {left}");
}

#[tokio::test]
async fn the_health_check_runs_in_the_container_and_a_failing_one_replaces_the_task() {
    let (emulator, client) = start().await;
    let check = |command: &str| {
        aws_sdk_ecs::types::HealthCheck::builder()
            .command("CMD-SHELL")
            .command(command)
            .interval(5)
            .retries(2)
            .build()
            .expect("health check")
    };
    let web = |command: &str| web_server().health_check(check(command)).build();
    // A check that asks the server inside the container: HEALTHY.
    let good = register(&client, "checked", vec![web("wget -q -O /dev/null http://127.0.0.1:8080/")]).await;
    let arn = run(&client, &good, None).await;
    let task =
        wait_for(&client, &arn, Duration::from_secs(60), |t| t.health_status().map(|h| h.as_str()) == Some("HEALTHY"))
            .await;
    assert_eq!(task.containers()[0].health_status().map(|h| h.as_str()), Some("HEALTHY"));

    // A check that fails: the service's task turns UNHEALTHY and is replaced.
    let bad = register(&client, "failing", vec![web("exit 1")]).await;
    client
        .create_service()
        .cluster("c")
        .service_name("failing")
        .task_definition(&bad)
        .desired_count(1)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    let first =
        client.list_tasks().cluster("c").service_name("failing").send().await.expect("list").task_arns()[0].clone();
    let task = wait_for(&client, &first, Duration::from_secs(90), is("STOPPED")).await;
    assert_eq!(task.health_status().map(|h| h.as_str()), Some("UNHEALTHY"));
    assert_eq!(task.stopped_reason(), Some("Task failed container health checks"));
    let service = client.describe_services().cluster("c").services("failing").send().await.expect("describe");
    let events: Vec<&str> = service.services()[0].events().iter().filter_map(|e| e.message()).collect();
    assert!(events.iter().any(|m| m.contains("failed container health checks")), "{events:#?}");
    emulator.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn depends_on_starts_a_container_after_its_dependency_succeeds() {
    let (emulator, client) = start().await;
    let dependency = |name: &str, condition: aws_sdk_ecs::types::ContainerCondition| {
        aws_sdk_ecs::types::ContainerDependency::builder().container_name(name).condition(condition).build().unwrap()
    };
    let init = |code: u8| {
        container("init").essential(false).command("sh").command("-c").command(format!("sleep 1; exit {code}")).build()
    };
    let app = container("app")
        .command("sleep")
        .command("600")
        .depends_on(dependency("init", aws_sdk_ecs::types::ContainerCondition::Success))
        .build();
    // The app is defined first but starts only once init has exited 0.
    let td = register(&client, "ordered", vec![app.clone(), init(0)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("RUNNING")).await;
    let id = |name: &str| {
        let c = task.containers().iter().find(|c| c.name() == Some(name)).expect("container");
        c.runtime_id().expect("runtime id").to_owned()
    };
    let init_finished = docker(&["inspect", "--format", "{{.State.FinishedAt}}", &id("init")]);
    let app_started = docker(&["inspect", "--format", "{{.State.StartedAt}}", &id("app")]);
    assert!(
        app_started.trim() >= init_finished.trim(),
        "app started {app_started} before init finished {init_finished}"
    );
    let task = wait_for(&client, &arn, Duration::from_secs(30), |t| {
        t.containers().iter().any(|c| c.name() == Some("init") && c.exit_code() == Some(0))
    })
    .await;
    assert_eq!(task.last_status(), Some("RUNNING"), "a non-essential init container that is done stops nothing");

    // An init container that fails: the app never starts and the task stops.
    let td = register(&client, "ordered-bad", vec![app, init(1)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert!(task.started_at().is_none(), "never RUNNING: {task:#?}");
    let app = task.containers().iter().find(|c| c.name() == Some("app")).expect("app");
    assert!(app.reason().unwrap_or_default().contains("dependency init exited with code 1"), "{app:?}");
    emulator.shutdown().await.expect("shutdown");
}

/// The built binary on the Docker runtime with `--state-dir`; its endpoint.
fn start_child(state_dir: &std::path::Path) -> (std::process::Child, String) {
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

#[tokio::test]
async fn after_kill_9_a_restarted_emulator_adopts_its_running_containers() {
    docker(&["image", "inspect", "--format", "{{.Id}}", IMAGE]);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, endpoint) = start_child(dir.path());
    let client = crate::support::client(&endpoint);
    client.create_cluster().cluster_name("c").send().await.expect("cluster");
    let web = web_server().port_mappings(PortMapping::builder().container_port(8080).build()).build();
    let td = register(&client, "web", vec![web]).await;
    let kept = run(&client, &td, None).await;
    let lost = run(&client, &td, None).await;
    let running = wait_for(&client, &kept, Duration::from_secs(60), is("RUNNING")).await;
    let lost_task = wait_for(&client, &lost, Duration::from_secs(60), is("RUNNING")).await;
    let id = running.containers()[0].runtime_id().expect("runtime id").to_owned();
    let port = running.containers()[0].network_bindings()[0].host_port().expect("port");

    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    assert_eq!(docker(&["inspect", "--format", "{{.State.Running}}", &id]).trim(), "true", "the container outlives it");
    // One container goes while the emulator is down.
    docker(&["rm", "-f", lost_task.containers()[0].runtime_id().expect("id")]);

    let (mut child, endpoint) = start_child(dir.path());
    let client = crate::support::client(&endpoint);
    let task = describe(&client, &kept).await;
    assert_eq!(task.last_status(), Some("RUNNING"));
    assert_eq!(task.containers()[0].runtime_id(), Some(id.as_str()), "the same container, adopted");
    let body = reqwest::get(format!("http://127.0.0.1:{port}/")).await.expect("http").text().await.expect("body");
    assert_eq!(body.trim(), "hello from ecs-bridge");
    let gone = wait_for(&client, &lost, Duration::from_secs(30), is("STOPPED")).await;
    let reason = gone.containers()[0].reason().unwrap_or_default().to_owned();
    assert!(reason.contains("The container is gone"), "{reason}");
    // The adopted container stops as any other.
    client.stop_task().cluster("c").task(&kept).send().await.expect("stop");
    wait_for(&client, &kept, Duration::from_secs(60), is("STOPPED")).await;

    // SIGTERM: a clean stop removes this emulator's containers.
    let owner = std::fs::read_to_string(dir.path().join("docker-owner")).expect("owner file");
    Command::new("kill").arg(child.id().to_string()).status().expect("kill -TERM");
    child.wait().expect("exits");
    let left = docker(&["ps", "-aq", "--filter", &format!("label=dev.ecs-bridge.emulator={}", owner.trim())]);
    assert!(left.trim().is_empty(), "containers left: {left}");
}

/// Runs `aws logs <args>` against the emulator; (success, stdout, stderr).
fn aws_logs(endpoint: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("aws")
        .arg("logs")
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", "us-east-1", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", "dev")
        .env("AWS_SECRET_ACCESS_KEY", "dev")
        .env("AWS_PAGER", "")
        .output()
        .expect("the AWS CLI (`aws`) is on PATH (.ci/run installs it)");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

// Multi-threaded: the AWS CLI blocks this test's thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awslogs_writes_a_jobs_output_to_cloudwatch_logs_read_with_the_aws_cli() {
    let (emulator, client) = start().await;
    let endpoint = emulator.endpoint();
    let logging = |group: &str, create: bool| {
        let mut options = std::collections::HashMap::from([
            ("awslogs-group".to_owned(), group.to_owned()),
            ("awslogs-region".to_owned(), "us-east-1".to_owned()),
            ("awslogs-stream-prefix".to_owned(), "jobs".to_owned()),
        ]);
        if create {
            options.insert("awslogs-create-group".to_owned(), "true".to_owned());
        }
        aws_sdk_ecs::types::LogConfiguration::builder()
            .log_driver(aws_sdk_ecs::types::LogDriver::Awslogs)
            .set_options(Some(options))
            .build()
            .expect("log configuration")
    };
    let job = |group: &str, create: bool| {
        container("job")
            .command("sh")
            .command("-c")
            .command("echo line one; echo line two; echo oops >&2; sleep 1")
            .log_configuration(logging(group, create))
            .build()
    };
    let td = register(&client, "logged", vec![job("/ecs/jobs", true)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.containers()[0].exit_code(), Some(0));
    let task_id = arn.rsplit('/').next().expect("task id");
    let stream = format!("jobs/job/{task_id}");
    let (ok, out, err) = aws_logs(
        &endpoint,
        &["get-log-events", "--log-group-name", "/ecs/jobs", "--log-stream-name", &stream, "--start-from-head"],
    );
    assert!(ok, "{err}");
    let events: serde_json::Value = serde_json::from_str(&out).expect("json");
    let mut messages: Vec<&str> =
        events["events"].as_array().expect("events").iter().filter_map(|e| e["message"].as_str()).collect();
    messages.sort_unstable();
    assert_eq!(messages, ["line one", "line two", "oops"], "stdout and stderr, line by line");
    let (ok, out, err) =
        aws_logs(&endpoint, &["filter-log-events", "--log-group-name", "/ecs/jobs", "--filter-pattern", "two"]);
    assert!(ok, "{err}");
    assert!(out.contains("line two") && !out.contains("line one"), "{out}");
    let (ok, out, _) = aws_logs(&endpoint, &["describe-log-streams", "--log-group-name", "/ecs/jobs"]);
    assert!(ok && out.contains(&stream), "{out}");

    // Without the group and without awslogs-create-group, the task fails as ECS fails it.
    let td = register(&client, "unlogged", vec![job("/ecs/missing", false)]).await;
    let arn = run(&client, &td, None).await;
    let task = wait_for(&client, &arn, Duration::from_secs(60), is("STOPPED")).await;
    assert_eq!(task.stop_code().map(|c| c.as_str()), Some("TaskFailedToStart"));
    assert!(task.stopped_reason().unwrap_or_default().starts_with("ResourceInitializationError"), "{task:?}");

    // The Logs API's own errors, through the CLI.
    let (ok, _, err) = aws_logs(&endpoint, &["create-log-group", "--log-group-name", "/ecs/jobs"]);
    assert!(!ok && err.contains("ResourceAlreadyExistsException"), "{err}");
    let (ok, _, err) = aws_logs(
        &endpoint,
        &["get-log-events", "--log-group-name", "/ecs/jobs", "--log-stream-name", "no/such/stream"],
    );
    assert!(!ok && err.contains("ResourceNotFoundException"), "{err}");
    emulator.shutdown().await.expect("shutdown");
}
