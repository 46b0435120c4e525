//! `ecs-bridge logs` on real containers: an EcsService and an EcsTask applied
//! to the real API server, run by the emulator on the Docker runtime, whose
//! containers' output the awslogs driver ships to the emulator's CloudWatch
//! Logs; the built binary reads it back. Needs `dockerd` and the image
//! `tests/docker/image.sh` builds.
//!
//! The binary runs through `tokio::process`: the emulator serves from this
//! test's runtime, so a blocking wait for the child would starve it.

use std::process::{Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use ecs_bridge::api::EcsTask;
use ecs_bridge::emulator::{EmulatorConfig, RuntimeMode};
use kube::api::Api;
use serde_json::{Value, json};

use crate::operator::{BINARY_AWS_ENV, BINARY_AWS_ENV_REMOVED, REGION, apply, condition};
use crate::operator_service::{CLUSTER, ServiceHarness, ready_where, service};
use crate::support::{self, poll_until};

const GROUP: &str = "/ecs/echo";

fn awslogs() -> Value {
    json!({"logDriver": "awslogs", "options": {
        "awslogs-group": GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "ecs", "awslogs-create-group": "true",
    }})
}

/// Containers `app` and `side` echo lines then sleep (or exit, for a
/// one-off task); `quiet` logs nowhere.
fn echo_definition(name: &str, then: &str) -> Value {
    let container = |cname: &str, log: Option<Value>| {
        let mut c = json!({
            "name": cname, "image": "ecs-bridge-test/busybox:2", "memory": 32, "essential": cname == "app",
            "command": ["sh", "-c", format!("echo {cname}-one; echo {cname}-two; {then}")],
        });
        if let Some(log) = log {
            c["logConfiguration"] = log;
        }
        c
    };
    json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsTaskDefinition", "metadata": {"name": name},
        "spec": {
            "networkMode": "bridge", "requiresCompatibilities": ["EC2"],
            "containerDefinitions": [container("app", Some(awslogs())), container("side", Some(awslogs())), container("quiet", None)],
        }
    })
}

async fn docker_harness(prefix: &str) -> ServiceHarness {
    let config = EmulatorConfig { runtime: RuntimeMode::Docker, ec2_capacity: 2, ..EmulatorConfig::default() };
    let emulator = ecs_bridge::emulator::spawn(config)
        .await
        .expect("the Docker runtime needs dockerd: start it with `dockerd &` (.ci/run does)");
    ServiceHarness::with_emulator(support::namespace(prefix).await, emulator, Duration::from_secs(300)).await
}

fn logs_command(h: &ServiceHarness, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ecs-bridge"));
    command
        .arg("logs")
        .args(args)
        .args(["-n", &h.ns.name, "--ecs-endpoint", &h.emulator.endpoint(), "--region", REGION])
        .env("KUBECONFIG", support::kubeconfig())
        .envs(BINARY_AWS_ENV);
    for name in BINARY_AWS_ENV_REMOVED {
        command.env_remove(name);
    }
    command
}

async fn logs(h: &ServiceHarness, args: &[&str]) -> Output {
    logs_command(h, args).output().await.expect("the binary runs")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

/// The events of the stream, for waiting until the driver shipped them.
async fn shipped(h: &ServiceHarness, stream: &str, want: usize) {
    let client = logs_client(h);
    poll_until(&format!("{want} events in {stream}"), || async {
        let out = client
            .get_log_events()
            .log_group_name(GROUP)
            .log_stream_name(stream)
            .start_from_head(true)
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let n = out.events().len();
        if n >= want { Ok(()) } else { Err(format!("{n} events")) }
    })
    .await;
}

fn logs_client(h: &ServiceHarness) -> aws_sdk_cloudwatchlogs::Client {
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(h.emulator.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("dev", "dev", None, None, "tests"))
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

async fn put(h: &ServiceHarness, stream: &str, timestamp_ms: i64, message: &str) {
    let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
        .timestamp(timestamp_ms)
        .message(message)
        .build()
        .expect("an event");
    logs_client(h)
        .put_log_events()
        .log_group_name(GROUP)
        .log_stream_name(stream)
        .log_events(event)
        .send()
        .await
        .expect("PutLogEvents");
}

fn now_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970");
    i64::try_from(now.as_millis()).expect("fits")
}

#[tokio::test]
async fn logs_of_a_service_are_prefixed_filtered_by_container_and_since_and_followed() {
    let h = docker_harness("logs-svc").await;
    apply(&h.task_definitions(), "echo", echo_definition("echo", "sleep 3600")).await;
    let api = h.services();
    apply(&api, "echo", service("echo", json!({"taskDefinitionRef": {"name": "echo"}, "desiredCount": 1}))).await;
    ready_where(&api, "echo", "one task running", |o| o.status.as_ref().and_then(|s| s.running_count) == Some(1)).await;
    let listed = h.ecs.list_tasks().cluster(CLUSTER).service_name("echo").send().await.expect("ListTasks");
    let id = listed.task_arns()[0].rsplit('/').next().expect("a task id").to_owned();
    shipped(&h, &format!("ecs/app/{id}"), 2).await;
    shipped(&h, &format!("ecs/side/{id}"), 2).await;
    // An old line (as if written two hours ago), for --since to leave out.
    put(&h, &format!("ecs/app/{id}"), now_ms() - 2 * 3600 * 1000, "app-ancient").await;

    let all = logs(&h, &["ecsservice/echo"]).await;
    assert!(all.status.success(), "{}", String::from_utf8_lossy(&all.stderr));
    let lines = stdout_lines(&all);
    for want in ["app-one", "app-two", "side-one", "side-two", "app-ancient"] {
        let source = want.split('-').next().unwrap_or_default();
        let line = format!("[{id}/{source}] {want}");
        assert!(lines.contains(&line), "{line:?} in {lines:#?}");
    }
    assert_eq!(lines.first().map(String::as_str), Some(format!("[{id}/app] app-ancient").as_str()), "oldest first");
    let position = |l: &str| lines.iter().position(|x| x.ends_with(l)).unwrap_or(usize::MAX);
    assert!(position("app-one") < position("app-two") && position("side-one") < position("side-two"));
    let stderr = String::from_utf8_lossy(&all.stderr);
    assert!(stderr.contains("container quiet") && stderr.contains("awslogs"), "{stderr}");

    let app = stdout_lines(&logs(&h, &["ecsservice/echo", "-c", "app", "--since", "10m"]).await);
    assert_eq!(app, [format!("[{id}/app] app-one"), format!("[{id}/app] app-two")]);

    let missing = logs(&h, &["ecsservice/echo", "-c", "nope"]).await;
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no container named \"nope\""));

    // -f: a line written after the start shows up, then the process is stopped.
    let mut follow = logs_command(&h, &["ecssvc/echo", "-f", "-c", "side", "--since", "1h"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let mut lines = BufReader::new(follow.stdout.take().expect("piped stdout")).lines();
    let mut next = async || -> Option<String> {
        tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.ok()?.ok()?
    };
    let first = next().await.expect("the first line");
    assert_eq!(first, format!("[{id}/side] side-one"));
    put(&h, &format!("ecs/side/{id}"), now_ms(), "side-later").await;
    let later = format!("[{id}/side] side-later");
    let mut seen = vec![first];
    while !seen.contains(&later) {
        seen.push(next().await.unwrap_or_else(|| panic!("{later:?} after {seen:?}")));
    }
    follow.kill().await.expect("stop -f");

    let unknown = logs(&h, &["ecsservice/absent"]).await;
    assert!(!unknown.status.success());
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(stderr.contains(&format!("ecsservice/absent not found in namespace {}", h.ns.name)), "{stderr}");
    h.stop().await;
}

#[tokio::test]
async fn logs_of_a_one_off_task_after_it_completed() {
    let h = docker_harness("logs-task").await;
    apply(&h.task_definitions(), "once", echo_definition("once", "true")).await;
    let api: Api<EcsTask> = Api::namespaced(h.ns.client.clone(), &h.ns.name);
    let task = json!({
        "apiVersion": "ecs-bridge.dev/v1alpha1", "kind": "EcsTask", "metadata": {"name": "once"},
        "spec": {"cluster": CLUSTER, "launchType": "EC2", "taskDefinitionRef": {"name": "once"}},
    });
    apply(&api, "once", task).await;
    let done = poll_until("the EcsTask completes", || async {
        let obj = api.get("once").await.map_err(|e| e.to_string())?;
        match condition(&obj.status.clone().unwrap_or_default().conditions, "Complete") {
            Some((s, _, _)) if s == "True" => Ok(obj),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let arn = done.status.unwrap_or_default().attempts[0].tasks[0].task_arn.clone();
    let id = arn.rsplit('/').next().expect("a task id").to_owned();
    shipped(&h, &format!("ecs/app/{id}"), 2).await;

    let out = logs(&h, &["ecstask/once", "-c", "app"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout_lines(&out), [format!("[{id}/app] app-one"), format!("[{id}/app] app-two")]);
    let gone = logs(&h, &["ecstask/never"]).await;
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("ecstask/never not found"));
    h.stop().await;
}
