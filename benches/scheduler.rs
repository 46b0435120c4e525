//! Scheduler load benchmark: N services × M tasks on a manual clock, run
//! through their whole lifecycle (PROVISIONING → RUNNING, healthy, steady),
//! then a rolling deployment of every service, timing each scheduler tick.
//! Prints, per fleet size, the time per tick when nothing is due (it should
//! not grow with the fleet: due tasks come from an index), the busiest tick, and the total tick time of start-up and of
//! the rollout, with the time per task, to show how ticks grow with tasks.
//! Each size runs `BENCH_REPEATS` (3) times, the sizes interleaved so that
//! a busy moment of the machine does not fall on one size only; the summary
//! gives each size's median time per task and, for the rollout, the ratio
//! of the largest size's to the smallest's (1.0 is linear).
//!
//!     cargo bench --bench scheduler
//!     BENCH_TASKS=1000,10000 BENCH_REPEATS=5 cargo bench --bench scheduler
//!     BENCH_TASKS=1000,10000,20000 BENCH_TASKS_PER_SERVICE=100 cargo bench --bench scheduler
//!     BENCH_TICKS=1 BENCH_TASKS=1000,10000 cargo bench --bench scheduler   # and each busy tick
//!
//! In-process, no HTTP: requests go through the same request path
//! (`handle_target`) and ticks are timed directly.
//!
//! After the rollout it also prints what the console's count timeline costs
//! each service: samples and markers kept, and its bytes against the whole
//! service entry's (what each journaled write of the service carries).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ecs_bridge::emulator::clock::{Clock, ManualClock};
use ecs_bridge::emulator::{App, TickReport, handle_target};
use ecs_bridge::emulator::{EmulatorConfig, build_app};
use serde_json::{Value, json};

fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

fn call(app: &App, op: &str, body: Value) -> Value {
    let target = format!("AmazonEC2ContainerServiceV20141113.{op}");
    let (status, out) = handle_target(app, Some(&target), body.to_string().as_bytes());
    assert_eq!(status, 200, "{op}: {out}");
    out
}

/// Tick timings over one phase.
#[derive(Default)]
struct Phase {
    ticks: usize,
    total: Duration,
    busiest: Duration,
    /// Each tick that did something: its time and what it did.
    busy: Vec<(usize, Duration, TickReport)>,
}

impl Phase {
    fn add(&mut self, d: Duration) {
        self.ticks += 1;
        self.total += d;
        self.busiest = self.busiest.max(d);
    }

    fn add_tick(&mut self, d: Duration, report: TickReport) {
        if report.tasks + report.services > 0 {
            self.busy.push((self.ticks, d, report));
        }
        self.add(d);
    }

    /// With `BENCH_TICKS` set: the ticks that took at least 2% of the
    /// phase, with the time per task they moved (where a phase's cost per
    /// task grows with the fleet, this shows which ticks grow).
    fn print_busy(&self, name: &str, tasks: usize) {
        if std::env::var_os("BENCH_TICKS").is_none() {
            return;
        }
        for (i, d, r) in self.busy.iter().filter(|(_, d, _)| d.as_secs_f64() >= self.total.as_secs_f64() * 0.02) {
            println!(
                "{:>7} {name} tick {i:>4}: {:>8.2} ms, {:>6} tasks moved, {:>4} services ({:.2} us per task moved, {:.1}% of the phase)",
                tasks,
                ms(*d),
                r.tasks,
                r.services,
                ms(*d) * 1000.0 / r.tasks.max(1) as f64,
                100.0 * d.as_secs_f64() / self.total.as_secs_f64(),
            );
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Fleet {
    app: Arc<App>,
    clock: Arc<ManualClock>,
    services: usize,
}

impl Fleet {
    fn new(tasks: usize, per_service: usize) -> Self {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let config = EmulatorConfig { clock: clock.clone(), seed: Some(1), ..EmulatorConfig::default() };
        let app = build_app(&config).expect("emulator state");
        call(&app, "CreateCluster", json!({ "clusterName": "bench" }));
        for _ in 0..2 {
            call(
                &app,
                "RegisterTaskDefinition",
                json!({
                    "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                    "cpu": "256", "memory": "512",
                    "containerDefinitions": [{ "name": "web", "image": "nginx" }],
                }),
            );
        }
        let services = tasks.div_ceil(per_service);
        for s in 0..services {
            let desired = per_service.min(tasks - s * per_service);
            call(
                &app,
                "CreateService",
                json!({
                    "cluster": "bench", "serviceName": format!("svc-{s}"), "taskDefinition": "web:1",
                    "desiredCount": desired, "launchType": "FARGATE",
                    "networkConfiguration": { "awsvpcConfiguration": { "subnets": ["subnet-1"] } },
                }),
            );
        }
        Self { app, clock, services }
    }

    /// Ticks every `step` until nothing is due within `horizon`.
    fn run(&self, step: i64, horizon: i64) -> Phase {
        let mut phase = Phase::default();
        let end = self.clock.now_millis() + horizon;
        while self.clock.now_millis() < end {
            self.clock.set_millis(self.clock.now_millis() + step);
            let started = Instant::now();
            let report = ecs_bridge::emulator::tick(&self.app.store);
            phase.add_tick(started.elapsed(), report);
            if ecs_bridge::emulator::next_due(&self.app.store).is_none() {
                break;
            }
        }
        phase
    }

    fn running(&self) -> i64 {
        let out = call(&self.app, "DescribeClusters", json!({ "clusters": ["bench"] }));
        out["clusters"][0]["runningTasksCount"].as_i64().unwrap_or(0)
    }

    fn steady_services(&self) -> usize {
        (0..self.services)
            .filter(|s| {
                let out = call(
                    &self.app,
                    "DescribeServices",
                    json!({ "cluster": "bench", "services": [format!("svc-{s}")] }),
                );
                let svc = &out["services"][0];
                svc["deployments"].as_array().is_some_and(|d| d.len() == 1)
                    && svc["runningCount"] == svc["desiredCount"]
            })
            .count()
    }
}

/// One size's run: start-up and rollout tick time per task (µs).
struct Run {
    startup_per_task: f64,
    rollout_per_task: f64,
}

fn run_size(tasks: usize, per_service: usize) -> Run {
    let created = Instant::now();
    let fleet = Fleet::new(tasks, per_service);
    let create = created.elapsed();
    let startup = fleet.run(250, 60_000);
    let running = fleet.running();
    // Nothing due: each tick only looks at the indexes.
    let mut idle = Phase::default();
    for _ in 0..20 {
        fleet.clock.set_millis(fleet.clock.now_millis() + 250);
        let started = Instant::now();
        ecs_bridge::emulator::tick(&fleet.app.store);
        idle.add(started.elapsed());
    }
    // A rolling deployment of every service (200/100: all new tasks, then the old ones stop).
    for s in 0..fleet.services {
        call(
            &fleet.app,
            "UpdateService",
            json!({ "cluster": "bench", "service": format!("svc-{s}"), "taskDefinition": "web:2" }),
        );
    }
    let rollout = fleet.run(250, 120_000);
    let steady = fleet.steady_services();
    let idle_avg = idle.total / idle.ticks.max(1) as u32;
    let per_task = |d: Duration| ms(d) * 1000.0 / tasks as f64;
    println!(
        "{:>7} {:>8} | {:>9.3} {:>12.3} | {:>7} {:>10.1} {:>10.2} {:>9.1} | {:>7} {:>10.1} {:>10.2} {:>9.1} | {:>10}",
        tasks,
        fleet.services,
        ms(idle_avg),
        ms(idle_avg) * 1000.0 / tasks as f64,
        startup.ticks,
        ms(startup.total),
        ms(startup.busiest),
        per_task(startup.total),
        rollout.ticks,
        ms(rollout.total),
        ms(rollout.busiest),
        per_task(rollout.total),
        format!("{running}/{}", tasks) + if steady == fleet.services { "" } else { " UNSTEADY" },
    );
    startup.print_busy("start-up", tasks);
    rollout.print_busy("rollout", tasks);
    let cost = fleet.timeline_cost();
    println!(
        "{:>7} timeline per service: {:.1} samples, {:.1} markers, {:.0} of {:.0} bytes of the service entry ({:.1}%)",
        "",
        cost.samples,
        cost.markers,
        cost.bytes,
        cost.entry_bytes,
        100.0 * cost.bytes / cost.entry_bytes.max(1.0),
    );
    eprintln!("  (creating {tasks} tasks in {} services took {:.1} ms)", fleet.services, ms(create));
    Run { startup_per_task: per_task(startup.total), rollout_per_task: per_task(rollout.total) }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    let sizes = env_list("BENCH_TASKS", &[1_000, 2_500, 5_000, 10_000]);
    let per_service = env_list("BENCH_TASKS_PER_SERVICE", &[50])[0].max(1);
    let repeats = env_list("BENCH_REPEATS", &[3])[0].max(1);
    println!(
        "scheduler benchmark: N services x {per_service} tasks, manual clock, ticks every 250 ms of simulated time, {repeats} runs per size"
    );
    println!(
        "{:>7} {:>8} | {:>9} {:>12} | {:>7} {:>10} {:>10} {:>9} | {:>7} {:>10} {:>10} {:>9} | {:>10}",
        "tasks",
        "services",
        "idle ms",
        "idle us/task",
        "startup",
        "total ms",
        "busiest",
        "us/task",
        "rollout",
        "total ms",
        "busiest",
        "us/task",
        "ok"
    );
    let mut runs: Vec<Vec<Run>> = sizes.iter().map(|_| Vec::new()).collect();
    for _ in 0..repeats {
        for (i, &tasks) in sizes.iter().enumerate() {
            runs[i].push(run_size(tasks, per_service));
        }
    }
    println!("\nmedian of {repeats} runs, tick time per task:");
    println!("{:>7} | {:>16} | {:>16}", "tasks", "start-up us/task", "rollout us/task");
    let mut rollout = Vec::new();
    for (tasks, runs) in sizes.iter().zip(runs) {
        let startup = median(runs.iter().map(|r| r.startup_per_task).collect());
        let roll = median(runs.iter().map(|r| r.rollout_per_task).collect());
        println!("{tasks:>7} | {startup:>16.1} | {roll:>16.1}");
        rollout.push((*tasks, roll));
    }
    if let (Some(first), Some(last)) = (rollout.first(), rollout.last())
        && rollout.len() > 1
    {
        println!(
            "rollout cost per task at {} tasks / at {} tasks: {:.1} / {:.1} us = {:.2}x",
            last.0,
            first.0,
            last.1,
            first.1,
            last.1 / first.1.max(f64::EPSILON)
        );
    }
}

/// Averages per service of the console's count timeline.
struct TimelineCost {
    samples: f64,
    markers: f64,
    bytes: f64,
    entry_bytes: f64,
}

impl Fleet {
    fn timeline_cost(&self) -> TimelineCost {
        let dump = serde_json::to_value(self.app.store.dump()).expect("state dump");
        let entries: Vec<&Value> = dump["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["services"].as_object().into_iter().flat_map(|m| m.values()))
            .collect();
        let n = entries.len().max(1) as f64;
        let count =
            |key: &str| entries.iter().map(|e| e["timeline"][key].as_array().map_or(0, Vec::len)).sum::<usize>();
        let bytes = |v: &Value| serde_json::to_vec(v).map_or(0, |b| b.len());
        let timeline_bytes: usize = entries.iter().map(|e| bytes(&e["timeline"])).sum();
        TimelineCost {
            samples: count("samples") as f64 / n,
            markers: count("markers") as f64 / n,
            bytes: timeline_bytes as f64 / n,
            entry_bytes: entries.iter().map(|e| bytes(e)).sum::<usize>() as f64 / n,
        }
    }
}
