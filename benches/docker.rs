//! The Docker runtime's cost, against the real engine: the time from RunTask
//! to RUNNING for one container, and for every task of a service of
//! BENCH_TASKS (default 50), with the emulator's resident memory before and
//! with them running. Needs `dockerd` and the image `tests/docker/image.sh`
//! builds.
//!
//!     cargo bench --bench docker
//!     BENCH_TASKS=100 cargo bench --bench docker

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ContainerDefinition, LaunchType, NetworkMode};
use ecs_bridge::emulator::{EmulatorConfig, RuntimeMode, spawn};

const IMAGE: &str = "ecs-bridge-test/busybox:2";

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// How many of `arns` are RUNNING.
async fn running(client: &Client, arns: &[String]) -> usize {
    let mut n = 0;
    for chunk in arns.chunks(100) {
        let out =
            client.describe_tasks().cluster("bench").set_tasks(Some(chunk.to_vec())).send().await.expect("describe");
        n += out.tasks().iter().filter(|t| t.last_status() == Some("RUNNING")).count();
    }
    n
}

async fn until_running(client: &Client, arns: &[String]) -> Duration {
    let start = Instant::now();
    while running(client, arns).await < arns.len() {
        assert!(start.elapsed() < Duration::from_secs(300), "tasks not RUNNING after 5 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let tasks: i32 = std::env::var("BENCH_TASKS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    // Simulated m5.large instances: 7,680 MiB each, 32 MiB a task.
    let capacity = (tasks as u32 * 32).div_ceil(7000) + 1;
    let config = EmulatorConfig { runtime: RuntimeMode::Docker, ec2_capacity: capacity, ..EmulatorConfig::default() };
    let emulator = spawn(config).await.expect("the Docker runtime needs dockerd (and tests/docker/image.sh)");
    let client = ecs_bridge::ecs::client_for_endpoint(&emulator.endpoint(), "us-east-1", 1);
    client.create_cluster().cluster_name("bench").send().await.expect("cluster");
    let sleeper =
        ContainerDefinition::builder().name("sleeper").image(IMAGE).memory(32).command("sleep").command("3600").build();
    let td = client
        .register_task_definition()
        .family("bench")
        .network_mode(NetworkMode::Bridge)
        .container_definitions(sleeper)
        .send()
        .await
        .expect("register")
        .task_definition
        .and_then(|t| t.task_definition_arn)
        .expect("arn");
    let idle = rss_kib();

    let started = Instant::now();
    let one = client.run_task().cluster("bench").task_definition(&td).launch_type(LaunchType::Ec2).send().await;
    let arn = one.expect("run task").tasks()[0].task_arn().expect("arn").to_owned();
    until_running(&client, std::slice::from_ref(&arn)).await;
    let single = started.elapsed();
    client.stop_task().cluster("bench").task(&arn).send().await.expect("stop");

    let started = Instant::now();
    client
        .create_service()
        .cluster("bench")
        .service_name("bench")
        .task_definition(&td)
        .desired_count(tasks)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .expect("service");
    let listed = client.list_tasks().cluster("bench").service_name("bench").max_results(100).send().await;
    let arns = listed.expect("list").task_arns().to_vec();
    until_running(&client, &arns).await;
    let all = started.elapsed();
    let loaded = rss_kib();

    println!("docker runtime, one real container: RunTask -> RUNNING in {:.2} s", single.as_secs_f64());
    println!(
        "docker runtime, a service of {tasks}: CreateService -> all {} tasks RUNNING in {:.2} s ({:.1} tasks/s)",
        arns.len(),
        all.as_secs_f64(),
        arns.len() as f64 / all.as_secs_f64()
    );
    println!("emulator resident memory: {idle} KiB idle, {loaded} KiB with {} containers running", arns.len());
    emulator.shutdown().await.expect("shutdown");
}
