//! Load benchmark of the ECS emulator: concurrent clients drive a mixed ECS
//! workload over loopback HTTP against an in-process emulator and report
//! requests per second, p50/p99 latency per operation class, and the
//! process's resident memory over the run.
//!
//!     cargo bench --bench emulator
//!     BENCH_SECONDS=60 BENCH_CLIENTS=64 BENCH_CLUSTERS=8 cargo bench --bench emulator
//!
//! Workload per client, cycling over the clusters (one write in five):
//! reads — DescribeServices, ListTasks, DescribeTasks, DescribeTaskDefinition,
//! DescribeClusters, ListClusters; writes — RunTask + StopTask (task churn),
//! UpdateService (scale 2 ↔ 3, which starts and stops tasks), TagResource.
//! Stopped tasks are forgotten after BENCH_RETENTION_SECS (default 5), so a
//! long run shows whether memory stays flat under churn.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ecs_bridge::emulator::{EmulatorConfig, spawn};
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Clone)]
struct Ecs {
    http: reqwest::Client,
    url: String,
}

impl Ecs {
    /// Sends one request; the body is parsed only when the caller needs it
    /// (`parse`), as a real client that ignores most of a response would.
    async fn send(&self, op: &str, body: String, parse: bool) -> Result<Value, String> {
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("AmazonEC2ContainerServiceV20141113.{op}"))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{op}: {e}"))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| format!("{op}: {e}"))?;
        if status != 200 {
            return Err(format!("{op}: {status} {}", String::from_utf8_lossy(&bytes)));
        }
        if !parse {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{op}: {e}"))
    }

    async fn call(&self, op: &str, body: String) -> Result<Value, String> {
        self.send(op, body, false).await
    }

    async fn call_parsed(&self, op: &str, body: String) -> Result<Value, String> {
        self.send(op, body, true).await
    }
}

const AWSVPC: &str =
    r#"{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}"#;

async fn setup(ecs: &Ecs, clusters: u64) -> Result<Vec<String>, String> {
    ecs.call(
        "RegisterTaskDefinition",
        json!({
            "family": "bench", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}]}]
        })
        .to_string(),
    )
    .await?;
    let mut tasks = Vec::new();
    for c in 0..clusters {
        ecs.call("CreateCluster", json!({ "clusterName": format!("bench-{c}") }).to_string()).await?;
        ecs.call(
            "CreateService",
            format!(r#"{{"cluster":"bench-{c}","serviceName":"svc","taskDefinition":"bench","desiredCount":2,"launchType":"FARGATE","networkConfiguration":{AWSVPC}}}"#),
        )
        .await?;
        let out = ecs
            .call_parsed(
                "RunTask",
                format!(r#"{{"cluster":"bench-{c}","taskDefinition":"bench","launchType":"FARGATE","networkConfiguration":{AWSVPC}}}"#),
            )
            .await?;
        tasks.push(out["tasks"][0]["taskArn"].as_str().unwrap_or_default().to_owned());
    }
    Ok(tasks)
}

/// One request of the mix: (operation, class, body).
fn request(n: u64, worker: u64, clusters: u64, last_task: &str) -> (&'static str, &'static str, String) {
    let c = (n + worker) % clusters;
    let cluster = format!("bench-{c}");
    let task_cluster = last_task.split('/').nth(1).unwrap_or("bench-0");
    match n % 20 {
        0..=4 => {
            ("DescribeServices", "read:DescribeServices", format!(r#"{{"cluster":"{cluster}","services":["svc"]}}"#))
        }
        5..=8 => ("ListTasks", "read:ListTasks", format!(r#"{{"cluster":"{cluster}"}}"#)),
        9..=11 => (
            "DescribeTasks",
            "read:DescribeTasks",
            format!(r#"{{"cluster":"{task_cluster}","tasks":["{last_task}"]}}"#),
        ),
        12 | 13 => {
            ("DescribeTaskDefinition", "read:DescribeTaskDefinition", r#"{"taskDefinition":"bench"}"#.to_owned())
        }
        14 => (
            "DescribeClusters",
            "read:DescribeClusters",
            format!(r#"{{"clusters":["{cluster}"],"include":["STATISTICS"]}}"#),
        ),
        15 => ("ListClusters", "read:ListClusters", "{}".to_owned()),
        16 => (
            "RunTask",
            "write:RunTask",
            format!(
                r#"{{"cluster":"{cluster}","taskDefinition":"bench","launchType":"FARGATE","networkConfiguration":{AWSVPC},"clientToken":"w{worker}-{n}"}}"#
            ),
        ),
        17 => ("StopTask", "write:StopTask", format!(r#"{{"cluster":"{task_cluster}","task":"{last_task}"}}"#)),
        18 => {
            let count = 2 + (n / 20) % 2;
            (
                "UpdateService",
                "write:UpdateService",
                format!(r#"{{"cluster":"{cluster}","service":"svc","desiredCount":{count}}}"#),
            )
        }
        _ => {
            let arn = format!("arn:aws:ecs:us-east-1:000000000000:cluster/{cluster}");
            (
                "TagResource",
                "write:TagResource",
                format!(r#"{{"resourceArn":"{arn}","tags":[{{"key":"k{}","value":"v{n}"}}]}}"#, n % 7),
            )
        }
    }
}

/// One request of the mix over HTTP; returns its class name.
async fn step(ecs: &Ecs, n: u64, worker: u64, clusters: u64, last_task: &mut String) -> Result<&'static str, String> {
    let (op, class, body) = request(n, worker, clusters, last_task);
    if op == "RunTask" {
        let out = ecs.call_parsed(op, body).await?;
        if let Some(arn) = out["tasks"][0]["taskArn"].as_str() {
            *last_task = arn.to_owned();
        }
    } else {
        ecs.call(op, body).await?;
    }
    Ok(class)
}

/// The emulator's own cost: the same mix through the request path
/// (`protocol::serve`) on one thread, without HTTP or a client.
fn direct(seconds: u64, clusters: u64, retention: u64, seeds: &[String]) -> (u64, f64) {
    use ecs_bridge::emulator::handle_target;
    let app = ecs_bridge::emulator::build_app(&EmulatorConfig {
        stopped_task_retention: Duration::from_secs(retention),
        ..EmulatorConfig::default()
    })
    .expect("app");
    let call = |op: &str, body: &str| {
        handle_target(&app, Some(&format!("AmazonEC2ContainerServiceV20141113.{op}")), body.as_bytes())
    };
    call(
        "RegisterTaskDefinition",
        &json!({
            "family": "bench", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}]}]
        })
        .to_string(),
    );
    for c in 0..clusters {
        call("CreateCluster", &format!(r#"{{"clusterName":"bench-{c}"}}"#));
        call(
            "CreateService",
            &format!(
                r#"{{"cluster":"bench-{c}","serviceName":"svc","taskDefinition":"bench","desiredCount":2,"launchType":"FARGATE","networkConfiguration":{AWSVPC}}}"#
            ),
        );
    }
    let mut last_task = seeds.first().cloned().unwrap_or_default();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let (op, _, body) = request(n, 0, clusters, &last_task);
        let (status, out) = call(op, &body);
        assert!(status == 200 || op == "DescribeTasks" || op == "StopTask", "{op}: {status} {out}");
        if let Some(arn) = out["tasks"][0]["taskArn"].as_str().filter(|_| op == "RunTask") {
            last_task = arn.to_owned();
        }
        n += 1;
    }
    (n, started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx]) / 1000.0
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 20);
    let clients = env_or("BENCH_CLIENTS", 32);
    let clusters = env_or("BENCH_CLUSTERS", 8).max(1);
    let workers = env_or("BENCH_WORKER_THREADS", 2) as usize;
    let retention = env_or("BENCH_RETENTION_SECS", 5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let config = EmulatorConfig {
            stopped_task_retention: Duration::from_secs(retention),
            ..EmulatorConfig::default()
        };
        let emulator = spawn(config).await.expect("emulator");
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(clients as usize)
            .build()
            .expect("http client");
        let ecs = Ecs { http, url: format!("{}/", emulator.endpoint()) };
        let seeds = setup(&ecs, clusters).await.expect("setup");
        println!(
            "emulator bench: {clients} clients, {clusters} clusters, {seconds}s, {workers} runtime threads (client and server share them), retention {retention}s"
        );
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(AtomicU64::new(0));
        let rss_start = rss_kib();
        let sampler = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    samples.push(rss_kib());
                }
                samples
            })
        };
        let started = Instant::now();
        let mut handles = Vec::new();
        for worker in 0..clients {
            let ecs = ecs.clone();
            let stop = stop.clone();
            let errors = errors.clone();
            let mut last_task = seeds[(worker % clusters) as usize].clone();
            handles.push(tokio::spawn(async move {
                let mut latencies: BTreeMap<&'static str, Vec<u32>> = BTreeMap::new();
                let mut n = worker * 7;
                while !stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    match step(&ecs, n, worker, clusters, &mut last_task).await {
                        Ok(class) => {
                            let micros = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                            latencies.entry(class).or_default().push(micros);
                        }
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                                eprintln!("error: {e}");
                            }
                        }
                    }
                    n += 1;
                }
                latencies
            }));
        }
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
        let direct_seconds = env_or("BENCH_DIRECT_SECONDS", 5);
        let mut all: BTreeMap<&'static str, Vec<u32>> = BTreeMap::new();
        for h in handles {
            for (class, mut v) in h.await.expect("worker") {
                all.entry(class).or_default().append(&mut v);
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        let samples = sampler.await.expect("sampler");
        let total: usize = all.values().map(Vec::len).sum();
        println!("\n{:<30} {:>10} {:>10} {:>10} {:>10}", "operation", "requests", "req/s", "p50 ms", "p99 ms");
        let mut reads = Vec::new();
        let mut writes = Vec::new();
        for (class, v) in &mut all {
            v.sort_unstable();
            println!(
                "{:<30} {:>10} {:>10.0} {:>10.3} {:>10.3}",
                class,
                v.len(),
                v.len() as f64 / elapsed,
                percentile(v, 0.50),
                percentile(v, 0.99)
            );
            if class.starts_with("read") { reads.extend_from_slice(v) } else { writes.extend_from_slice(v) }
        }
        for (label, v) in [("all reads", &mut reads), ("all writes", &mut writes)] {
            v.sort_unstable();
            println!("{:<30} {:>10} {:>10.0} {:>10.3} {:>10.3}", label, v.len(), v.len() as f64 / elapsed, percentile(v, 0.5), percentile(v, 0.99));
        }
        println!("{:<30} {:>10} {:>10.0}", "TOTAL", total, total as f64 / elapsed);
        println!("errors: {}", errors.load(Ordering::Relaxed));
        let mid = samples.get(samples.len() / 2).copied().unwrap_or(0);
        let end = samples.last().copied().unwrap_or(0);
        let peak = samples.iter().copied().max().unwrap_or(0);
        println!("RSS KiB: start {rss_start}, middle {mid}, end {end}, peak {peak} (samples every 1s: {samples:?})");
        let seeds_for_direct = seeds.clone();
        let (direct_requests, direct_elapsed) =
            tokio::task::spawn_blocking(move || direct(direct_seconds, clusters, retention, &seeds_for_direct))
                .await
                .expect("direct run");
        println!(
            "request path alone (same mix, one thread, no HTTP): {direct_requests} requests in {direct_elapsed:.1}s = {:.0} req/s per core",
            direct_requests as f64 / direct_elapsed
        );
        let dump = emulator.store().dump();
        let tasks: usize = dump.clusters.iter().map(|c| c.tasks.len()).sum();
        println!("tasks held at the end: {tasks}");
        emulator.shutdown().await.expect("shutdown");
    });
}
