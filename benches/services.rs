//! Fleet benchmark of the EcsService controller: a real API server, the ECS
//! emulator (in this process, real-time clock) and the controller binary as a
//! child process. It creates BENCH_SERVICES EcsServices and prints
//!
//! - the time until all are Ready (created, rolled out, runningCount = desiredCount);
//! - the ECS calls per service per steady-state resync (batched DescribeServices);
//! - the controller's peak and current resident memory (now: its heap and stacks
//!   apart from the pages of its binary);
//! - the API server's writes and reads by verb and resource, and the CPU time the
//!   API server, etcd, the controller and the bench (with the emulator) used per
//!   service, from the first apply to Ready.
//!
//! ```text
//! cargo bench --bench services                       # 1,000 services, 1 task each
//! BENCH_SERVICES=10000 BENCH_DESIRED=0 cargo bench --bench services
//! ```
//!
//! Knobs: BENCH_SERVICES (1000), BENCH_DESIRED (tasks per service, 1),
//! BENCH_RESYNC_SECS (the controller's resync, 20), BENCH_RESYNCS (steady-state
//! resyncs measured, 3), BENCH_CONCURRENCY (the controller's, 16),
//! BENCH_TIMEOUT_SECS (give up waiting for Ready, 900), BENCH_LOG (the
//! controller's RUST_LOG, `warn`; its log goes to $TMPDIR/ecs-bridge-bench-controller.log),
//! BENCH_PROBE_WRITES (ConfigMaps created, 32 at a time, before the fleet, to
//! measure the API server's own write ceiling on this machine; 2000, 0 = none),
//! BENCH_CONTROLLER_BIN (another build of the controller to run, e.g. one kept
//! from before a change; default: this build's `ecs-bridge`), BENCH_CRDS_DIR (the
//! CRDs to install, e.g. those of the code before; default: this tree's `crds/`).
//! Needs the test control plane (tests/control-plane/install.sh). Not a timed
//! test: it reports figures.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ecs_bridge::api::EcsService;
use ecs_bridge::control_plane::{ControlPlane, StartOptions};
use ecs_bridge::emulator::{EmulatorConfig, RunningEmulator, spawn};
use futures::StreamExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

const NAMESPACE: &str = "bench";
const CLUSTER: &str = "bench";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A process's resident memory, from `/proc/PID/status`, in KiB.
struct Memory {
    /// `VmHWM`: the peak.
    peak: u64,
    /// `VmRSS`: now.
    now: u64,
    /// `RssAnon`: the heap and stacks, now.
    anonymous: u64,
    /// `RssFile`: pages of files mapped in, now (the binary's code and data).
    file: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |kib: u64| kib as f64 / 1024.0;
        write!(
            f,
            "peak {:.1} MiB, now {:.1} MiB ({:.1} MiB anonymous, {:.1} MiB file-backed)",
            mib(self.peak),
            mib(self.now),
            mib(self.anonymous),
            mib(self.file)
        )
    }
}

fn memory(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Memory { peak: field("VmHWM:"), now: field("VmRSS:"), anonymous: field("RssAnon:"), file: field("RssFile:") }
}

/// CPU seconds (user + system) a process has used so far, from `/proc`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces), from the 3rd on.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are the 14th and 15th fields; clock ticks are 100 per second on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

struct Controller {
    child: Child,
    metrics: String,
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_controller(kubeconfig: &Path, endpoint: &str, resync: u64, concurrency: u64) -> Controller {
    let port = free_port();
    let log = std::fs::File::create(std::env::temp_dir().join("ecs-bridge-bench-controller.log")).expect("log file");
    let binary = std::env::var("BENCH_CONTROLLER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_ecs-bridge").to_owned());
    let child = Command::new(binary)
        .arg("controller")
        .args(["--namespace", NAMESPACE])
        .args(["--ecs-endpoint", endpoint])
        .args(["--region", "us-east-1"])
        .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
        .args(["--leader-elect", "false"])
        .args(["--resync-seconds", &resync.to_string()])
        .args(["--concurrency", &concurrency.to_string()])
        .args(["--rollout-poll-seconds", "2"])
        .env("KUBECONFIG", kubeconfig)
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
        .env("RUST_LOG", std::env::var("BENCH_LOG").unwrap_or_else(|_| "warn".to_owned()))
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the controller binary starts");
    Controller { child, metrics: format!("http://127.0.0.1:{port}/metrics") }
}

/// A counter or gauge from the controller's `/metrics`, summed over label sets
/// (`name` may include labels: `services{condition="Ready"}`, or the first of
/// them: `reconciles_total{kind="EcsService"`).
async fn metric(http: &reqwest::Client, url: &str, name: &str) -> Option<f64> {
    let text = http.get(url).send().await.ok()?.text().await.ok()?;
    let follows: &[char] = if name.ends_with('}') {
        &[' ']
    } else if name.contains('{') {
        &[',', '}']
    } else {
        &[' ', '{']
    };
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(follows))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

fn requests(emulator: &RunningEmulator) -> BTreeMap<String, u64> {
    emulator.stats().into_iter().filter_map(|(op, n)| Some((op, n.as_u64()?))).collect()
}

fn is_ready(service: &EcsService) -> bool {
    let Some(status) = &service.status else { return false };
    status
        .conditions
        .iter()
        .any(|c| c.type_ == "Ready" && c.status == "True" && c.observed_generation == service.metadata.generation)
}

/// Creates `writes` ConfigMaps, 32 at a time, and returns the rate: what the
/// API server and etcd manage here before any controller adds its load.
async fn write_ceiling(client: &kube::Client, writes: usize) -> f64 {
    use k8s_openapi::api::core::v1::ConfigMap;
    let namespace = "bench-probe";
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap())
        .await
        .expect("the probe's namespace");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    let started = Instant::now();
    let created = futures::stream::iter(0..writes)
        .map(|i| {
            let api = api.clone();
            async move {
                let map: ConfigMap = serde_json::from_value(json!({
                    "metadata": {"name": format!("probe-{i:05}")},
                    "data": {"key": "value"}
                }))
                .expect("a ConfigMap");
                api.create(&PostParams::default(), &map).await.is_ok()
            }
        })
        .buffer_unordered(32)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    created as f64 / started.elapsed().as_secs_f64()
}

/// The API server's finished requests, by `verb resource[/subresource]`, from
/// its own `/metrics`: what the fleet cost the API server, whoever sent it.
/// `writing` picks those that wrote (`POST`, `PATCH`, `APPLY`, `PUT`,
/// `DELETE`), else those that read (`GET`, `LIST`, `WATCH`).
async fn apiserver_requests(client: &kube::Client, writing: bool) -> BTreeMap<String, f64> {
    let request = http::Request::get("/metrics").body(Vec::new()).expect("a request");
    let Ok(text) = client.request_text(request).await else { return BTreeMap::new() };
    let mut writes = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
        let label = |name: &str| {
            let start = line.find(&format!("{name}=\""))? + name.len() + 2;
            line[start..].split('"').next()
        };
        let verb = label("verb").unwrap_or_default();
        let wrote = matches!(verb, "POST" | "PATCH" | "APPLY" | "PUT" | "DELETE");
        if wrote != writing || verb.is_empty() {
            continue;
        }
        let resource = label("resource").unwrap_or_default();
        let key = match label("subresource").unwrap_or_default() {
            "" => format!("{verb} {resource}"),
            sub => format!("{verb} {resource}/{sub}"),
        };
        let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
        *writes.entry(key).or_default() += value;
    }
    writes
}

/// What moved between two [`apiserver_requests`], largest first.
fn requests_between(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>) -> (f64, Vec<(String, f64)>) {
    let mut moved: Vec<(String, f64)> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .collect();
    moved.sort_by(|a, b| b.1.total_cmp(&a.1));
    (moved.iter().map(|(_, d)| d).sum(), moved)
}

async fn count_ready(api: &Api<EcsService>) -> (usize, usize) {
    match api.list(&ListParams::default()).await {
        Ok(list) => (list.items.iter().filter(|s| is_ready(s)).count(), list.items.len()),
        Err(_) => (0, 0),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    ecs_bridge::tls::install_tls_provider();
    let services = env_or("BENCH_SERVICES", 1000) as usize;
    let desired = env_or("BENCH_DESIRED", 1) as i32;
    let resync = env_or("BENCH_RESYNC_SECS", 20);
    let resyncs = env_or("BENCH_RESYNCS", 3);
    let concurrency = env_or("BENCH_CONCURRENCY", 16);
    let timeout = Duration::from_secs(env_or("BENCH_TIMEOUT_SECS", 900));

    let crds = std::env::var_os("BENCH_CRDS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("crds"));
    let control_plane = ControlPlane::start(StartOptions { crds_dir: Some(crds), ..StartOptions::default() })
        .await
        .unwrap_or_else(|e| panic!("the control plane starts (run tests/control-plane/install.sh): {e}"));
    let client = control_plane.new_client().await.expect("a client");
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &serde_json::from_value(json!({"metadata": {"name": NAMESPACE}})).unwrap())
        .await
        .expect("the namespace");

    let probe = env_or("BENCH_PROBE_WRITES", 2000) as usize;
    if probe > 0 {
        let rate = write_ceiling(&client, probe).await;
        println!("API server write ceiling: {rate:.0} creates/s ({probe} ConfigMaps, 32 in flight, no controller)");
    }

    let emulator = spawn(EmulatorConfig::default()).await.expect("the emulator starts");
    let endpoint = emulator.endpoint();
    let http = reqwest::Client::new();
    let ecs = |op: &str, body: serde_json::Value| {
        http.post(&endpoint)
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("AmazonEC2ContainerServiceV20141113.{op}"))
            .body(body.to_string())
            .send()
    };
    ecs("CreateCluster", json!({"clusterName": CLUSTER})).await.expect("CreateCluster");

    let controller = start_controller(control_plane.kubeconfig_path(), &endpoint, resync, concurrency);
    let pid = controller.child.id();
    println!(
        "services: {services} x {desired} task(s), Fargate; controller resync {resync}s, concurrency {concurrency}"
    );

    let tds: Api<ecs_bridge::api::EcsTaskDefinition> = Api::namespaced(client.clone(), NAMESPACE);
    tds.patch(
        "app",
        &PatchParams::apply("bench"),
        &Patch::Apply(json!({
            "apiVersion": "ecs-bridge.dev/v1alpha1",
            "kind": "EcsTaskDefinition",
            "metadata": {"name": "app"},
            "spec": {
                "requiresCompatibilities": ["FARGATE"], "networkMode": "awsvpc", "cpu": "256", "memory": "512",
                "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1.27", "essential": true}]
            }
        })),
    )
    .await
    .expect("the task definition object");

    let api: Api<EcsService> = Api::namespaced(client.clone(), NAMESPACE);
    let writes_before = apiserver_requests(&client, true).await;
    let reads_before = apiserver_requests(&client, false).await;
    let (etcd_pid, apiserver_pid) = control_plane.pids();
    let cpu_pids =
        [("API server", apiserver_pid), ("etcd", etcd_pid), ("controller", pid), ("bench", std::process::id())];
    let cpu_before: Vec<f64> = cpu_pids.iter().map(|(_, p)| cpu_seconds(*p)).collect();
    let started = Instant::now();
    let created = futures::stream::iter(0..services)
        .map(|i| {
            let api = api.clone();
            async move {
                let name = format!("svc-{i:05}");
                let object = json!({
                    "apiVersion": "ecs-bridge.dev/v1alpha1",
                    "kind": "EcsService",
                    "metadata": {"name": name},
                    "spec": {
                        "cluster": CLUSTER, "taskDefinitionRef": {"name": "app"}, "desiredCount": desired,
                        "launchType": "FARGATE",
                        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0bench0000000001"]}}
                    }
                });
                api.patch(&name, &PatchParams::apply("bench"), &Patch::Apply(object)).await.is_ok()
            }
        })
        .buffer_unordered(32)
        .filter(|ok| futures::future::ready(*ok))
        .count()
        .await;
    let applied_after = started.elapsed();
    println!("applied {created} EcsServices in {:.1}s", applied_after.as_secs_f64());

    // Progress from the controller's own gauge (listing every object each second
    // would load the API server more than the controller does); one list confirms.
    let mut last_report = Instant::now();
    let all_ready = loop {
        let ready = metric(&http, &controller.metrics, "ecs_bridge_services{condition=\"Ready\"}").await.unwrap_or(0.0)
            as usize;
        if ready >= services {
            let (listed_ready, total) = count_ready(&api).await;
            if listed_ready == services && total == services {
                break Some(started.elapsed());
            }
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            println!("  {:.0}s: {ready} of {services} Ready", started.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        if started.elapsed() > timeout {
            println!("gave up after {:.0}s: {ready} of {services} Ready", timeout.as_secs_f64());
            break None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let fleet_elapsed = started.elapsed().as_secs_f64();
    if let Some(after) = all_ready {
        println!(
            "all {services} Ready {:.1}s after the first apply ({:.0} objects/s created to Ready)",
            after.as_secs_f64(),
            services as f64 / after.as_secs_f64()
        );
    }
    let cpu_used: Vec<String> = cpu_pids
        .iter()
        .zip(&cpu_before)
        .map(|((name, p), before)| {
            let used = cpu_seconds(*p) - before;
            format!("{name} {used:.1}s = {:.2} ms per service", 1000.0 * used / services as f64)
        })
        .collect();
    println!("CPU from the first apply to Ready: {}", cpu_used.join(", "));
    let (writes, by_kind) = requests_between(&writes_before, &apiserver_requests(&client, true).await);
    println!(
        "API server writes from the first apply to Ready: {writes:.0} = {:.1} per service, {:.0} writes/s ({})",
        writes / services as f64,
        writes / fleet_elapsed,
        by_kind.iter().map(|(k, d)| format!("{k} {d:.0}")).collect::<Vec<_>>().join(", ")
    );
    let (reads, by_kind) = requests_between(&reads_before, &apiserver_requests(&client, false).await);
    println!(
        "API server reads from the first apply to Ready: {reads:.0} = {:.2} per service ({})",
        reads / services as f64,
        by_kind.iter().map(|(k, d)| format!("{k} {d:.0}")).collect::<Vec<_>>().join(", ")
    );
    let reconciles = metric(&http, &controller.metrics, "ecs_bridge_reconciles_total{kind=\"EcsService\"").await;
    let reconcile_sum =
        metric(&http, &controller.metrics, "ecs_bridge_reconcile_duration_seconds_sum{kind=\"EcsService\"}").await;
    if let (Some(n), Some(sum)) = (reconciles, reconcile_sum) {
        println!(
            "EcsService reconciles: {n:.0} = {:.1} per service, {:.0} ms each on average ({:.1} in flight on average)",
            n / services as f64,
            1000.0 * sum / n.max(1.0),
            sum / fleet_elapsed
        );
    }
    let ecs_calls = requests(&emulator);
    println!(
        "ECS calls to Ready: {}",
        ecs_calls.iter().map(|(op, n)| format!("{op} {n}")).collect::<Vec<_>>().join(", ")
    );
    println!("controller memory at {services} objects: {}", memory(pid));

    // Steady state: brisk polls have ended once every rollout completed; measure whole resyncs.
    let resync_metric = "ecs_bridge_service_resyncs_total";
    let wait_resyncs = |target: f64| {
        let http = http.clone();
        let url = controller.metrics.clone();
        async move {
            loop {
                if metric(&http, &url, resync_metric).await.unwrap_or(0.0) >= target {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let now = metric(&http, &controller.metrics, resync_metric).await.unwrap_or(0.0);
    wait_resyncs(now + 1.0).await;
    let rounds_before = metric(&http, &controller.metrics, resync_metric).await.unwrap_or(0.0);
    let before = requests(&emulator);
    wait_resyncs(rounds_before + resyncs as f64).await;
    let after = requests(&emulator);
    let rounds = metric(&http, &controller.metrics, resync_metric).await.unwrap_or(0.0) - rounds_before;
    let mut total = 0;
    let mut by_op = Vec::new();
    for (op, n) in &after {
        let delta = n - before.get(op).copied().unwrap_or(0);
        if delta > 0 {
            total += delta;
            by_op.push(format!("{op} {delta}"));
        }
    }
    println!(
        "steady state: {total} ECS calls over {rounds:.0} resyncs of {services} services = {:.3} calls per service per resync ({})",
        total as f64 / (rounds.max(1.0) * services as f64),
        by_op.join(", ")
    );
    println!("controller memory after the resyncs: {}", memory(pid));
    drop(controller);
    control_plane.stop();
}
