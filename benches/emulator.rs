//! Load benchmark of the ECS emulator beside a null baseline: the same HTTP
//! stack (the emulator's listener, router and response path) answering a
//! fixed 3 KB JSON body once it has parsed the request's JSON, and nothing
//! of ECS. Both serve the same mix from the same load generator in one
//! run, in alternating rounds, so the ratio of the emulator's requests per
//! second to the baseline's is its own cost, whatever else loads the machine.
//!
//!     cargo bench --bench emulator
//!     BENCH_SECONDS=10 BENCH_ROUNDS=2 cargo bench --bench emulator
//!
//! One load-generator thread (a current-thread runtime on the main thread)
//! keeps `BENCH_CLIENTS` (32) connections busy, one request at a time each;
//! both servers run on their own runtime of `BENCH_SERVER_THREADS` (2)
//! threads. Each round serves the baseline for `BENCH_SECONDS` (10), then
//! the emulator as long; `BENCH_ROUNDS` (2) rounds.
//!
//! The mix, in equal parts, cycling over `BENCH_CLUSTERS` (8) clusters of
//! one service each: DescribeServices, ListServices, DescribeTaskDefinition,
//! ListTaskDefinitions, DescribeClusters, ListTasks, UpdateService (desired
//! count 2 ↔ 3, which starts and stops tasks) and TagResource. Stopped
//! tasks are forgotten after `BENCH_RETENTION_SECS` (5), so memory stays
//! flat under the churn. Last, the same mix runs for
//! `BENCH_DIRECT_SECONDS` (5; 0 skips it) straight through the request
//! path on one thread, without HTTP.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ecs_bridge::emulator::{EmulatorConfig, Limits, baseline_router, serve_router, spawn};
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
    /// Sends one request; returns the answer's size, and the answer parsed
    /// when `parse` (as a real client that ignores most answers would).
    async fn send(&self, op: &str, body: String, parse: bool) -> Result<(usize, Value), String> {
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
            return Ok((bytes.len(), Value::Null));
        }
        serde_json::from_slice(&bytes).map(|v| (bytes.len(), v)).map_err(|e| format!("{op}: {e}"))
    }
}

const AWSVPC: &str =
    r#"{"awsvpcConfiguration":{"subnets":["subnet-0123456789abcdef0"],"securityGroups":["sg-0123456789abcdef0"]}}"#;

fn task_definition() -> String {
    json!({
        "family": "bench", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{
            "name": "web", "image": "nginx", "portMappings": [{"containerPort": 80}],
            "environment": [{"name": "MODE", "value": "bench"}],
        }]
    })
    .to_string()
}

fn create_service(c: u64) -> String {
    format!(
        r#"{{"cluster":"bench-{c}","serviceName":"svc","taskDefinition":"bench","desiredCount":2,"launchType":"FARGATE","networkConfiguration":{AWSVPC}}}"#
    )
}

/// Two revisions of one task definition and `clusters` clusters of one
/// service each.
async fn setup(ecs: &Ecs, clusters: u64) -> Result<(), String> {
    for _ in 0..2 {
        ecs.send("RegisterTaskDefinition", task_definition(), false).await?;
    }
    for c in 0..clusters {
        ecs.send("CreateCluster", json!({ "clusterName": format!("bench-{c}") }).to_string(), false).await?;
        ecs.send("CreateService", create_service(c), false).await?;
    }
    Ok(())
}

/// Request `n` of client `worker`'s mix: (operation, body).
fn request(n: u64, worker: u64, clusters: u64) -> (&'static str, String) {
    let cluster = format!("bench-{}", (n / 8 + worker) % clusters);
    match n % 8 {
        0 => ("DescribeServices", format!(r#"{{"cluster":"{cluster}","services":["svc"]}}"#)),
        1 => ("ListServices", format!(r#"{{"cluster":"{cluster}"}}"#)),
        2 => ("DescribeTaskDefinition", r#"{"taskDefinition":"bench"}"#.to_owned()),
        3 => ("ListTaskDefinitions", r#"{"familyPrefix":"bench"}"#.to_owned()),
        4 => ("DescribeClusters", format!(r#"{{"clusters":["{cluster}"],"include":["STATISTICS"]}}"#)),
        5 => ("ListTasks", format!(r#"{{"cluster":"{cluster}"}}"#)),
        6 => {
            let count = 2 + (n / 8) % 2;
            ("UpdateService", format!(r#"{{"cluster":"{cluster}","service":"svc","desiredCount":{count}}}"#))
        }
        _ => {
            let arn = format!("arn:aws:ecs:us-east-1:000000000000:cluster/{cluster}");
            ("TagResource", format!(r#"{{"resourceArn":"{arn}","tags":[{{"key":"k{}","value":"v{n}"}}]}}"#, n % 7))
        }
    }
}

/// A valid JSON document of about `size` bytes, shaped like a describe answer.
fn fixed_answer(size: usize) -> Vec<u8> {
    let mut services = Vec::new();
    let mut i = 0;
    while json!({ "services": services, "failures": [] }).to_string().len() < size {
        services.push(json!({
            "serviceArn": format!("arn:aws:ecs:us-east-1:000000000000:service/bench-0/svc-{i}"),
            "serviceName": format!("svc-{i}"), "status": "ACTIVE", "desiredCount": 2, "runningCount": 2,
        }));
        i += 1;
    }
    json!({ "services": services, "failures": [] }).to_string().into_bytes()
}

/// What one server served in one or more runs of the load.
#[derive(Default)]
struct Served {
    seconds: f64,
    errors: u64,
    /// Per operation: latencies (µs) and answer bytes.
    latencies: BTreeMap<&'static str, Vec<u32>>,
    bytes: BTreeMap<&'static str, u64>,
}

impl Served {
    fn requests(&self) -> usize {
        self.latencies.values().map(Vec::len).sum()
    }

    fn per_second(&self) -> f64 {
        self.requests() as f64 / self.seconds.max(f64::EPSILON)
    }

    fn add(&mut self, other: Served) {
        self.seconds += other.seconds;
        self.errors += other.errors;
        for (op, mut v) in other.latencies {
            self.latencies.entry(op).or_default().append(&mut v);
        }
        for (op, b) in other.bytes {
            *self.bytes.entry(op).or_default() += b;
        }
    }
}

/// `clients` concurrent clients on this thread drive the mix against `ecs`
/// for `seconds`.
async fn load(ecs: &Ecs, clients: u64, clusters: u64, seconds: u64) -> Served {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for worker in 0..clients {
        let ecs = ecs.clone();
        let stop = stop.clone();
        let errors = errors.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies: BTreeMap<&'static str, Vec<u32>> = BTreeMap::new();
            let mut bytes: BTreeMap<&'static str, u64> = BTreeMap::new();
            let mut n = worker * 3;
            while !stop.load(Ordering::Relaxed) {
                let (op, body) = request(n, worker, clusters);
                let t0 = Instant::now();
                match ecs.send(op, body, false).await {
                    Ok((size, _)) => {
                        let micros = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                        latencies.entry(op).or_default().push(micros);
                        *bytes.entry(op).or_default() += size as u64;
                    }
                    Err(e) => {
                        if errors.fetch_add(1, Ordering::Relaxed) < 5 {
                            eprintln!("error: {e}");
                        }
                    }
                }
                n += 1;
            }
            (latencies, bytes)
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut served = Served::default();
    for h in handles {
        let (latencies, bytes) = h.await.expect("client");
        served.add(Served { latencies, bytes, ..Served::default() });
    }
    served.seconds = started.elapsed().as_secs_f64();
    served.errors = errors.load(Ordering::Relaxed);
    served
}

/// The emulator's own cost: the same mix through the request path
/// (`handle_target`) on one thread, without HTTP or a client.
fn direct(seconds: u64, clusters: u64, retention: u64) -> (u64, f64) {
    use ecs_bridge::emulator::handle_target;
    let app = ecs_bridge::emulator::build_app(&EmulatorConfig {
        stopped_task_retention: Duration::from_secs(retention),
        ..EmulatorConfig::default()
    })
    .expect("app");
    let call = |op: &str, body: &str| {
        handle_target(&app, Some(&format!("AmazonEC2ContainerServiceV20141113.{op}")), body.as_bytes())
    };
    for _ in 0..2 {
        call("RegisterTaskDefinition", &task_definition());
    }
    for c in 0..clusters {
        call("CreateCluster", &format!(r#"{{"clusterName":"bench-{c}"}}"#));
        call("CreateService", &create_service(c));
    }
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        let (op, body) = request(n, 0, clusters);
        let (status, out) = call(op, &body);
        assert_eq!(status, 200, "{op}: {out}");
        n += 1;
        if n.is_multiple_of(4096) {
            ecs_bridge::emulator::tick(&app.store);
        }
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

fn print_table(label: &str, served: &mut Served) {
    println!(
        "\n{label}\n{:<24} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "operation", "requests", "req/s", "p50 ms", "p99 ms", "bytes/ans"
    );
    for (op, v) in &mut served.latencies {
        v.sort_unstable();
        let bytes = served.bytes.get(op).copied().unwrap_or(0) / v.len().max(1) as u64;
        println!(
            "{:<24} {:>10} {:>10.0} {:>10.3} {:>10.3} {:>10}",
            op,
            v.len(),
            v.len() as f64 / served.seconds,
            percentile(v, 0.50),
            percentile(v, 0.99),
            bytes
        );
    }
    println!("{:<24} {:>10} {:>10.0}   errors: {}", "TOTAL", served.requests(), served.per_second(), served.errors);
}

fn main() {
    let seconds = env_or("BENCH_SECONDS", 10);
    let rounds = env_or("BENCH_ROUNDS", 2);
    let clients = env_or("BENCH_CLIENTS", 32);
    let clusters = env_or("BENCH_CLUSTERS", 8).max(1);
    let server_threads = env_or("BENCH_SERVER_THREADS", 2).max(1) as usize;
    let retention = env_or("BENCH_RETENTION_SECS", 5);
    let direct_seconds = env_or("BENCH_DIRECT_SECONDS", 5);
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_threads)
        .thread_name("server")
        .enable_all()
        .build()
        .expect("server runtime");
    let fixed = fixed_answer(3 * 1024);
    let fixed_len = fixed.len();
    let (emulator, baseline) = servers.block_on(async {
        let config =
            EmulatorConfig { stopped_task_retention: Duration::from_secs(retention), ..EmulatorConfig::default() };
        let emulator = spawn(config).await.expect("emulator");
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind");
        let baseline = listener.local_addr().expect("baseline address");
        let limits = Limits::default();
        tokio::spawn(serve_router(listener, baseline_router(fixed, limits), limits, std::future::pending()));
        (emulator, baseline)
    });
    let generator = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("load runtime");
    generator.block_on(async {
        let http = reqwest::Client::builder().pool_max_idle_per_host(clients as usize).build().expect("http client");
        let to_emulator = Ecs { http: http.clone(), url: format!("{}/", emulator.endpoint()) };
        let to_baseline = Ecs { http, url: format!("http://{baseline}/") };
        setup(&to_emulator, clusters).await.expect("setup");
        println!(
            "emulator bench: {clients} connections from one load-generator thread, servers on {server_threads} threads, \
             {clusters} clusters, {rounds} rounds of {seconds}s per server, retention {retention}s; \
             baseline answers {fixed_len} bytes"
        );
        let rss_start = rss_kib();
        let (mut base_all, mut emu_all) = (Served::default(), Served::default());
        for round in 1..=rounds {
            let base = load(&to_baseline, clients, clusters, seconds).await;
            let emu = load(&to_emulator, clients, clusters, seconds).await;
            println!(
                "round {round}: baseline {:.0} req/s, emulator {:.0} req/s, ratio {:.2}",
                base.per_second(),
                emu.per_second(),
                emu.per_second() / base.per_second().max(f64::EPSILON)
            );
            base_all.add(base);
            emu_all.add(emu);
        }
        if rounds > 0 {
            print_table("null baseline (same HTTP stack, parses the JSON, fixed answer)", &mut base_all);
            print_table("emulator", &mut emu_all);
            println!(
                "\nemulator / baseline: {:.0} / {:.0} req/s = {:.2}",
                emu_all.per_second(),
                base_all.per_second(),
                emu_all.per_second() / base_all.per_second().max(f64::EPSILON)
            );
            println!("RSS KiB (whole process): start {rss_start}, end {}", rss_kib());
        }
    });
    if direct_seconds > 0 {
        let (requests, elapsed) = direct(direct_seconds, clusters, retention);
        println!(
            "request path alone (same mix, one thread, no HTTP): {requests} requests in {elapsed:.1}s = {:.0} req/s",
            requests as f64 / elapsed
        );
    }
    let dump = emulator.store().dump();
    let tasks: usize = dump.clusters.iter().map(|c| c.tasks.len()).sum();
    println!("tasks held at the end: {tasks}");
    servers.block_on(emulator.shutdown()).expect("shutdown");
}
