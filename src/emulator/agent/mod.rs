//! The Docker runtime's agent: what the ECS container agent does on an
//! instance, for every task of the emulator. The scheduler decides as it
//! always does; the agent watches the tasks and makes the containers follow:
//! a task waiting in PENDING gets its images pulled and its containers
//! started ([`spec`]), a task in STOPPING has its containers sent SIGTERM and
//! SIGKILL after `stopTimeout`, a STOPPED or forgotten task's containers are
//! removed. What the containers do comes back as facts ([`report`]). Every
//! container can read its task's metadata ([`metadata`]).
//!
//! It polls the store (every [`POLL`]) rather than hooking every write:
//! the store stays free of async work, and a task the agent missed (a crash,
//! a restart) is picked up on the next look. It looks at every
//! (account, region) partition; a task's ARN says which one reports about
//! it go to.

pub mod metadata;
pub mod report;
pub mod spec;
pub mod usage;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::emulator::docker::{Engine, Health, LABEL_OWNER, Network};
use crate::emulator::state::partitions::Partition;
use crate::emulator::state::usage::TaskUsage;
use crate::emulator::state::{Partitions, Store, lock, read};
use metadata::Metadata;
use report::{LaunchFailure, Started, Verdict};
use spec::{Condition, Placement, PlannedContainer, TaskPlan};

/// How often the agent looks at the tasks.
pub const POLL: Duration = Duration::from_millis(200);
/// How long a shutdown waits for the launches under way to give up (one
/// Engine call each, at most).
const LAUNCH_WIND_DOWN: Duration = Duration::from_secs(10);
/// How long a container waits for its `dependsOn` (ECS's default
/// `startTimeout` is 3 minutes).
const DEPENDENCY_TIMEOUT: Duration = Duration::from_secs(180);

/// A running container the agent watches, and whose task it is.
#[derive(Clone, Debug)]
struct Running {
    task_arn: String,
    cluster: String,
    task_id: String,
    name: String,
    id: String,
}

/// Containers the agent started, by task ARN.
#[derive(Clone, Debug)]
struct Tracked {
    cluster: String,
    task_id: String,
    /// `(container name, container id, stop timeout)`.
    containers: Vec<(String, String, Duration)>,
    /// Docker volumes made for this task alone, removed with it.
    volumes: Vec<String>,
    stopping: bool,
}

/// The agent of one emulator.
#[derive(Debug)]
pub struct Agent {
    engine: Engine,
    /// This emulator's id, on every container it starts (`docker ps
    /// --filter label=dev.ecs-bridge.emulator=<id>`).
    owner: String,
    /// Where bridge-mode ports are published.
    publish_ip: String,
    tracked: Mutex<HashMap<String, Tracked>>,
    /// Tasks whose containers are being pulled and started.
    launching: Mutex<HashSet<String>>,
    /// The task metadata endpoint the containers are told of.
    metadata: Metadata,
    /// Set at shutdown: no container starts after it.
    closed: AtomicBool,
}

/// A task's launch under way, in [`Agent::launching`] until it is dropped.
struct Launching<'a> {
    agent: &'a Agent,
    arn: String,
}

impl Drop for Launching<'_> {
    fn drop(&mut self) {
        lock(&self.agent.launching).remove(&self.arn);
    }
}

impl Agent {
    /// `main` is the emulator's own address: the metadata endpoint takes its
    /// port on the Docker gateways.
    pub fn new(engine: Engine, owner: String, publish_ip: String, main: SocketAddr) -> Arc<Self> {
        Arc::new(Self {
            metadata: Metadata::new(engine.clone(), main),
            engine,
            owner,
            publish_ip,
            tracked: Mutex::new(HashMap::new()),
            launching: Mutex::new(HashSet::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// The task metadata endpoint's routes, for the emulator's own listener
    /// (which answers for the gateways when it listens on every address).
    pub fn metadata_routes<S: AsRef<Partitions> + Send + Sync + 'static>(&self, app: Weak<S>) -> axum::Router {
        metadata::routes(app, self.engine.clone())
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Takes over the containers of the tasks a previous run of this emulator
    /// left (`--state-dir`): running ones are watched again, exited ones
    /// report their exit, missing ones stop their task; containers no task
    /// holds any more are removed.
    pub async fn adopt<S: AsRef<Partitions> + Send + Sync + 'static>(self: &Arc<Self>, app: &Arc<S>) {
        let mut found: Vec<(TaskPlan, Vec<(String, String)>)> = Vec::new();
        for store in (**app).as_ref().all() {
            let registry = read(&store.task_definitions);
            // Daemon tasks run daemon task definitions (this lock before any cluster's).
            let daemons = read(&store.daemons);
            let secrets = read(&store.secrets);
            let placement = Placement {
                publish_ip: &self.publish_ip,
                owner: &self.owner,
                timings: &store.timings,
                secrets: &secrets,
            };
            for (cluster, cell) in store.all_clusters() {
                let state = lock(&cell);
                for (_, entry) in state.tasks.iter().filter(|(_, t)| !t.is_stopped()) {
                    let ids: Vec<(String, String)> = entry
                        .task
                        .containers
                        .iter()
                        .filter_map(|c| Some((c.name.to_string(), c.runtime_id.clone()?)))
                        .collect();
                    let td_arn = &entry.task.task_definition_arn;
                    let Some(td) = registry.resolve(td_arn).or_else(|| daemons.entry(td_arn)) else { continue };
                    if !ids.is_empty() {
                        found.push((spec::plan(&cluster, entry, &td.task_definition, &placement), ids));
                    }
                }
            }
        }
        let mut held = HashSet::new();
        let weak = Arc::downgrade(app);
        for (plan, ids) in found {
            // The endpoint the adopted containers were told of listens again.
            if let Some(network) = plan.containers.first().and_then(|c| metadata_network(&c.spec.network)) {
                self.metadata.endpoint(&weak, &network).await;
            }
            let mut containers = Vec::new();
            for (name, id) in ids {
                held.insert(id.clone());
                let timeout = plan
                    .containers
                    .iter()
                    .find(|c| c.name == name)
                    .map_or(spec::DEFAULT_STOP_TIMEOUT, |c| c.stop_timeout);
                containers.push((name.clone(), id.clone(), timeout));
                match self.engine.exit_status(&id).await {
                    Ok((true, _)) => self.follow(&Arc::downgrade(app), &plan, name, id),
                    Ok((false, code)) => {
                        let code = code.and_then(|c| i32::try_from(c).ok()).unwrap_or(0);
                        report::exited(&store_of(app, &plan.task_arn), &plan.cluster, &plan.task_id, &name, code);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, container = %id, task = %plan.task_arn, "a task's container is gone");
                        report::gone(&store_of(app, &plan.task_arn), &plan.cluster, &plan.task_id, &name);
                    }
                }
            }
            let tracked = Tracked {
                cluster: plan.cluster.clone(),
                task_id: plan.task_id.clone(),
                containers,
                volumes: task_volumes(&plan),
                stopping: false,
            };
            lock(&self.tracked).insert(plan.task_arn.clone(), tracked);
        }
        let ours = self.engine.labelled(LABEL_OWNER, &self.owner).await.unwrap_or_default();
        for id in ours.iter().filter(|id| !held.contains(*id)) {
            let _ = self.engine.remove(id).await;
        }
    }

    /// Looks at the tasks until the emulator is dropped.
    pub async fn run<S: AsRef<Partitions> + Send + Sync + 'static>(self: Arc<Self>, app: Weak<S>) {
        tokio::spawn(self.clone().measure(app.clone()));
        let mut interval = tokio::time::interval(POLL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let Some(strong) = app.upgrade() else { return };
            let work = self.look((*strong).as_ref());
            drop(strong);
            for plan in work.launches {
                tokio::spawn(self.clone().launch(app.clone(), plan));
            }
            for (arn, tracked) in work.stops {
                tokio::spawn(self.clone().stop(app.clone(), arn, tracked));
            }
            for tracked in work.removals {
                let agent = self.clone();
                tokio::spawn(async move { agent.remove(&tracked).await });
            }
        }
    }

    /// Measures the RUNNING tasks' containers every [`usage::EVERY`] until
    /// the emulator is dropped ([`usage`]); each partition's store gets the
    /// figures of its own tasks.
    async fn measure<S: AsRef<Partitions> + Send + Sync + 'static>(self: Arc<Self>, app: Weak<S>) {
        let mut interval = tokio::time::interval(usage::EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            let Some(strong) = app.upgrade() else { return };
            let tasks = self.running_tasks(&strong);
            drop(strong);
            let measured = futures::future::join_all(tasks.into_iter().map(|task| {
                let engine = self.engine.clone();
                async move {
                    let stats = futures::future::join_all(task.ids.iter().map(|id| engine.stats(id))).await;
                    let stats: Vec<serde_json::Value> = stats.into_iter().filter_map(Result::ok).collect();
                    let (cpu, memory) = usage::utilisation(&stats, task.cpu, task.memory)?;
                    Some((task.partition, task.key, TaskUsage { service: task.service, cpu, memory }))
                }
            }))
            .await;
            let measured: Vec<_> = measured.into_iter().flatten().collect();
            let Some(strong) = app.upgrade() else { return };
            let partitions: &Partitions = (*strong).as_ref();
            for store in partitions.all() {
                let partition = store.partition();
                let mine = measured
                    .iter()
                    .filter(|(p, _, _)| *p == partition)
                    .map(|(_, key, usage)| (key.clone(), usage.clone()))
                    .collect();
                store.usage.replace(mine);
            }
        }
    }

    /// The RUNNING tasks whose containers this agent runs, with what their
    /// utilisation is measured against.
    fn running_tasks<S: AsRef<Partitions>>(&self, app: &Arc<S>) -> Vec<Measured> {
        let tracked: Vec<(String, Tracked)> =
            lock(&self.tracked).iter().map(|(arn, t)| (arn.clone(), t.clone())).collect();
        let mut out = Vec::new();
        for (arn, t) in tracked.into_iter().filter(|(_, t)| !t.stopping) {
            let store = store_of(app, &arn);
            let Some(cell) = store.cluster(&t.cluster) else { continue };
            let state = lock(&cell);
            let Some(entry) = state.tasks.get(&t.task_id).filter(|e| e.task.last_status == "RUNNING") else { continue };
            let size = |task: Option<&String>, reserved: i64| {
                task.and_then(|v| v.parse::<f64>().ok()).unwrap_or(reserved as f64)
            };
            out.push(Measured {
                partition: store.partition(),
                key: (t.cluster.clone(), t.task_id.clone()),
                service: entry.service_name.as_deref().map(str::to_owned),
                cpu: size(entry.task.cpu.as_ref(), entry.reservation.cpu),
                memory: size(entry.task.memory.as_ref(), entry.reservation.memory),
                ids: t.containers.iter().map(|(_, id, _)| id.clone()).collect(),
            });
        }
        out
    }

    /// What needs doing, from one pass over every partition's tasks under
    /// their locks.
    fn look(&self, partitions: &Partitions) -> Work {
        let mut work = Work::default();
        let mut seen = HashSet::new();
        let mut tracked = lock(&self.tracked);
        let mut launching = lock(&self.launching);
        for store in partitions.all() {
            self.look_in(&store, &mut work, &mut seen, &mut tracked, &mut launching);
        }
        // Tasks purged, reset or in a deleted cluster.
        let gone: Vec<String> = tracked.keys().filter(|arn| !seen.contains(*arn)).cloned().collect();
        for arn in gone {
            if let Some(t) = tracked.remove(&arn) {
                work.removals.push(t);
            }
        }
        work
    }

    /// [`Self::look`] in one partition.
    fn look_in(
        &self,
        store: &Store,
        work: &mut Work,
        seen: &mut HashSet<String>,
        tracked: &mut HashMap<String, Tracked>,
        launching: &mut HashSet<String>,
    ) {
        let registry = read(&store.task_definitions);
        let daemons = read(&store.daemons);
        let secrets = read(&store.secrets);
        let placement =
            Placement { publish_ip: &self.publish_ip, owner: &self.owner, timings: &store.timings, secrets: &secrets };
        for (cluster, cell) in store.all_clusters() {
            let state = lock(&cell);
            for (_, entry) in state.tasks.iter() {
                let arn = &entry.task.task_arn;
                seen.insert(arn.clone());
                let status = entry.task.last_status.as_str();
                let waiting = status == "PENDING"
                    && entry.task.desired_status == "RUNNING"
                    && entry.task.pull_stopped_at.is_none()
                    && entry.task.containers.iter().all(|c| c.runtime_id.is_none());
                if waiting && !launching.contains(arn) && !tracked.contains_key(arn) {
                    let td_arn = &entry.task.task_definition_arn;
                    if let Some(td) = registry.resolve(td_arn).or_else(|| daemons.entry(td_arn)) {
                        launching.insert(arn.clone());
                        work.launches.push(spec::plan(&cluster, entry, &td.task_definition, &placement));
                    }
                } else if status == "STOPPING"
                    && let Some(t) = tracked.get_mut(arn).filter(|t| !t.stopping)
                {
                    t.stopping = true;
                    work.stops.push((arn.clone(), t.clone()));
                } else if status == "STOPPED"
                    && let Some(t) = tracked.remove(arn)
                {
                    work.removals.push(t);
                }
            }
        }
    }

    /// Pulls the images and starts the containers of one task. Whatever it
    /// started goes again when the task, the emulator or the agent is gone
    /// by the time it is done, so no container outlives a shutdown.
    async fn launch<S: AsRef<Partitions> + Send + Sync + 'static>(self: Arc<Self>, app: Weak<S>, mut plan: TaskPlan) {
        let _launching = Launching { agent: &self, arn: plan.task_arn.clone() };
        let Some(strong) = app.upgrade() else { return };
        let store = store_of(&strong, &plan.task_arn);
        let pull_started = store.now();
        let groups = log_groups(&store, &plan);
        drop(store);
        drop(strong);
        let result = match groups {
            Err(failure) => Err((failure, Vec::new())),
            Ok(()) => self.start_all(&app, &mut plan).await,
        };
        let strong = app.upgrade().filter(|_| !self.closed.load(Ordering::SeqCst));
        match (result, strong) {
            (Ok(started), Some(strong)) => {
                let store = store_of(&strong, &plan.task_arn);
                let verdict = report::started(&store, &plan.cluster, &plan.task_id, pull_started, &started);
                let tracked = Tracked {
                    cluster: plan.cluster.clone(),
                    task_id: plan.task_id.clone(),
                    containers: started
                        .iter()
                        .map(|s| {
                            let timeout = plan
                                .containers
                                .iter()
                                .find(|c| c.name == s.name)
                                .map_or(spec::DEFAULT_STOP_TIMEOUT, |c| c.stop_timeout);
                            (s.name.clone(), s.id.clone(), timeout)
                        })
                        .collect(),
                    volumes: task_volumes(&plan),
                    stopping: false,
                };
                drop((store, strong));
                if verdict == Verdict::Discard {
                    self.remove(&tracked).await;
                    return;
                }
                lock(&self.tracked).insert(plan.task_arn.clone(), tracked.clone());
                for (name, id, _) in tracked.containers {
                    self.follow(&app, &plan, name, id);
                }
            }
            (result, strong) => {
                let started = match result {
                    Ok(started) => started,
                    Err((failure, started)) => {
                        if let Some(strong) = &strong {
                            report::failed(
                                &store_of(strong, &plan.task_arn),
                                &plan.cluster,
                                &plan.task_id,
                                pull_started,
                                &failure,
                            );
                        }
                        started
                    }
                };
                drop(strong);
                for s in started {
                    let _ = self.engine.remove(&s.id).await;
                }
                for volume in task_volumes(&plan) {
                    let _ = self.engine.remove_volume(&volume).await;
                }
            }
        }
    }

    /// Pulls every image, then starts the containers in definition order;
    /// on failure, what failed and what had started.
    async fn start_all<S: AsRef<Partitions> + Send + Sync + 'static>(
        &self,
        app: &Weak<S>,
        plan: &mut TaskPlan,
    ) -> Result<Vec<Started>, (LaunchFailure, Vec<Started>)> {
        if let Some((container, reason)) = plan.unmet.clone() {
            return Err((LaunchFailure::Init { container, reason }, Vec::new()));
        }
        for c in &plan.containers {
            if let Err(message) = self.engine.ensure_image(&c.spec.image).await {
                tracing::info!(image = %c.spec.image, %message, "image pull failed");
                return Err((LaunchFailure::Pull { container: c.name.clone() }, Vec::new()));
            }
        }
        for v in &plan.volumes {
            if let Err(e) = self.engine.ensure_volume(&v.name, v.labels.clone()).await {
                let container = plan.containers.first().map(|c| c.name.clone()).unwrap_or_default();
                let reason = format!("CannotCreateVolumeError: {e}");
                return Err((LaunchFailure::Init { container, reason }, Vec::new()));
            }
        }
        // Every container of the task is on the first one's network
        // (awsvpc shares its namespace), so one endpoint serves them all.
        let network = plan.containers.first().and_then(|c| metadata_network(&c.spec.network));
        if let Some(Network::Named(name)) = plan.containers.first().map(|c| &c.spec.network)
            && let Err(e) = self.engine.network(name).await
        {
            let container = plan.containers.first().map(|c| c.name.clone()).unwrap_or_default();
            let failure = LaunchFailure::Start { container, message: e.to_string() };
            return Err((failure, Vec::new()));
        }
        let endpoint = match &network {
            Some(network) => self.metadata.endpoint(app, network).await,
            None => None,
        };
        let mut started: Vec<Started> = Vec::new();
        for i in start_order(&plan.containers) {
            let c = &mut plan.containers[i];
            if self.closed.load(Ordering::SeqCst) {
                let failure =
                    LaunchFailure::Start { container: c.name.clone(), message: "the emulator stopped".into() };
                return Err((failure, started));
            }
            if let (Network::SharedWith(with), Some(first)) = (&mut c.spec.network, started.first()) {
                with.clone_from(&first.id);
            }
            if let Some(base) = &endpoint {
                let path = format!("{}/{}", plan.task_id, c.name);
                c.spec.env.push(format!("ECS_CONTAINER_METADATA_URI_V4={base}/v4/{path}"));
                c.spec.env.push(format!("ECS_CONTAINER_METADATA_URI={base}/v3/{path}"));
            }
            for (dependency, condition) in &c.depends_on {
                let Some(on) = started.iter().find(|s| &s.name == dependency) else { continue };
                if let Err(message) = self.meet(&on.id, *condition, dependency).await {
                    let failure = LaunchFailure::Start { container: c.name.clone(), message };
                    return Err((failure, started));
                }
            }
            match self.engine.run(&c.spec).await {
                Ok(id) => {
                    let bindings = self.engine.bindings(&id).await.unwrap_or_default();
                    // Under awsvpc the first container holds the task's
                    // namespace, and its address is the task's.
                    let address = match &c.spec.network {
                        Network::Named(name) => self.engine.address(&id, name).await.ok().flatten(),
                        _ => None,
                    };
                    started.push(Started { name: c.name.clone(), id, bindings, address });
                }
                Err(e) => {
                    let failure = LaunchFailure::Start { container: c.name.clone(), message: e.to_string() };
                    return Err((failure, started));
                }
            }
        }
        Ok(started)
    }

    /// Watches a running container of `plan`: its exit, its health when it
    /// has a check, its output when it logs to CloudWatch.
    fn follow<S: AsRef<Partitions> + Send + Sync + 'static>(
        self: &Arc<Self>,
        app: &Weak<S>,
        plan: &TaskPlan,
        name: String,
        id: String,
    ) {
        let planned = plan.containers.iter().find(|c| c.name == name);
        if let Some(logs) = planned.and_then(|c| c.awslogs.clone()) {
            let (agent, app, id) = (self.clone(), app.clone(), id.clone());
            // A re-adopted container's output starts from its beginning:
            // the lines already in the stream are not written twice.
            let task_arn = plan.task_arn.clone();
            let skip = app
                .upgrade()
                .map_or(0, |strong| read(&store_of(&strong, &task_arn).logs).event_count(&logs.group, &logs.stream));
            tokio::spawn(async move {
                agent
                    .engine
                    .follow_output(&id, skip, |lines| {
                        let Some(strong) = app.upgrade() else { return };
                        let store = store_of(&strong, &task_arn);
                        let now = store.now();
                        let lines = lines.into_iter().map(|l| (now.0, l)).collect();
                        // The group was checked at launch; one deleted since loses the lines.
                        let written = store.change_logs(|all| {
                            let changes = all.append(&logs.group, &logs.stream, logs.create_group, lines, now);
                            Ok(((), changes.unwrap_or_default()))
                        });
                        if let Err(e) = written {
                            tracing::warn!(error = %e, group = %logs.group, "could not keep a container's log lines");
                        }
                    })
                    .await;
            });
        }
        let running = Running {
            task_arn: plan.task_arn.clone(),
            cluster: plan.cluster.clone(),
            task_id: plan.task_id.clone(),
            name,
            id,
        };
        if planned.is_some_and(|c| c.spec.health.is_some()) {
            tokio::spawn(self.clone().watch_health(app.clone(), running.clone()));
        }
        tokio::spawn(self.clone().watch(app.clone(), running));
    }

    /// Waits until the started container `id` meets `condition`; the
    /// reason when it never will.
    async fn meet(&self, id: &str, condition: Condition, name: &str) -> Result<(), String> {
        let deadline = tokio::time::Instant::now() + DEPENDENCY_TIMEOUT;
        loop {
            let (running, exit) = self.engine.exit_status(id).await.map_err(|e| e.to_string())?;
            let met = match condition {
                Condition::Start => return Ok(()),
                Condition::Complete => exit.is_some(),
                Condition::Success if exit.is_some_and(|c| c != 0) => {
                    return Err(format!("dependency {name} exited with code {}, not 0", exit.unwrap_or_default()));
                }
                Condition::Success => exit == Some(0),
                Condition::Healthy => match self.engine.health(id).await.map_err(|e| e.to_string())? {
                    Some(Health::Healthy) => true,
                    Some(Health::Unhealthy) => return Err(format!("dependency {name} is unhealthy")),
                    _ if !running => return Err(format!("dependency {name} exited before it was healthy")),
                    _ => false,
                },
            };
            if met {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(format!("dependency {name} did not meet its condition in {DEPENDENCY_TIMEOUT:?}"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Reports the engine's health verdicts on a container, as they change,
    /// until it exits.
    async fn watch_health<S: AsRef<Partitions> + Send + Sync + 'static>(self: Arc<Self>, app: Weak<S>, c: Running) {
        let mut last = None;
        loop {
            tokio::time::sleep(POLL).await;
            let Ok(Some(health)) = self.engine.health(&c.id).await else { return };
            if last != Some(health) {
                last = Some(health);
                let Some(strong) = app.upgrade() else { return };
                report::health(&store_of(&strong, &c.task_arn), &c.cluster, &c.task_id, &c.name, health);
            }
        }
    }

    /// Reports the container's exit when it comes.
    async fn watch<S: AsRef<Partitions> + Send + Sync + 'static>(self: Arc<Self>, app: Weak<S>, c: Running) {
        let code = match self.engine.wait(&c.id).await {
            Ok(code) => code,
            Err(e) => {
                tracing::debug!(error = %e, container = %c.id, "wait ended without an exit code");
                return;
            }
        };
        let Some(strong) = app.upgrade() else { return };
        let code = i32::try_from(code).unwrap_or(i32::MAX);
        report::exited(&store_of(&strong, &c.task_arn), &c.cluster, &c.task_id, &c.name, code);
    }

    /// SIGTERM to every container of a stopping task, SIGKILL after its
    /// `stopTimeout`; their exits are reported by [`Self::watch`].
    async fn stop<S: AsRef<Partitions> + Send + Sync + 'static>(
        self: Arc<Self>,
        app: Weak<S>,
        arn: String,
        tracked: Tracked,
    ) {
        let stops = tracked.containers.iter().map(|(_, id, timeout)| self.engine.stop(id, *timeout));
        for (result, (name, id, _)) in futures::future::join_all(stops).await.into_iter().zip(&tracked.containers) {
            if let Err(e) = result {
                tracing::warn!(error = %e, task = %arn, container = %name, "could not stop the container");
                // Report what the engine says, so the task does not wait forever.
                let code = self.engine.exit_status(id).await.ok().and_then(|(_, code)| code).unwrap_or(137);
                if let Some(strong) = app.upgrade() {
                    let store = store_of(&strong, &arn);
                    report::exited(
                        &store,
                        &tracked.cluster,
                        &tracked.task_id,
                        name,
                        i32::try_from(code).unwrap_or(137),
                    );
                }
            }
        }
    }

    async fn remove(&self, tracked: &Tracked) {
        for (name, id, _) in &tracked.containers {
            if let Err(e) = self.engine.remove(id).await {
                tracing::warn!(error = %e, container = %name, "could not remove the container");
            }
        }
        for volume in &tracked.volumes {
            if let Err(e) = self.engine.remove_volume(volume).await {
                tracing::warn!(error = %e, %volume, "could not remove the task's volume");
            }
        }
    }

    /// Removes every container this emulator started (shutdown), once the
    /// launches under way have given up (they remove what they started).
    pub async fn remove_all(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + LAUNCH_WIND_DOWN;
        while !lock(&self.launching).is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        remove_labelled(&self.engine, &self.owner).await;
        lock(&self.tracked).clear();
    }

    /// Stops launching: what launches later finish removes itself (an
    /// emulator dropped without `shutdown`).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// [`Self::remove_all`] on a new connection (from a runtime of its own).
    pub async fn remove_owned(owner: &str) {
        match Engine::connect().await {
            Ok(engine) => remove_labelled(&engine, owner).await,
            Err(e) => tracing::warn!(error = %e, "could not remove the emulator's containers"),
        }
    }
}

/// Checks (or, with `awslogs-create-group`, creates) the log groups of the
/// task's awslogs containers, as the ECS agent does before it starts them.
fn log_groups(store: &Store, plan: &TaskPlan) -> Result<(), LaunchFailure> {
    for c in &plan.containers {
        let Some(awslogs) = &c.awslogs else { continue };
        let made = store.change_logs(|logs| {
            let changes = logs.append(&awslogs.group, &awslogs.stream, awslogs.create_group, Vec::new(), store.now());
            Ok((changes.is_ok(), changes.unwrap_or_default()))
        });
        match made {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, group = %awslogs.group, "could not create the log stream");
                continue;
            }
        }
        let reason = "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1".to_owned();
        return Err(LaunchFailure::Init { container: c.name.clone(), reason });
    }
    Ok(())
}

/// The containers in an order that starts each after its `dependsOn`,
/// otherwise in definition order (a dependency loop, refused by
/// RegisterTaskDefinition, would start the rest in definition order).
fn start_order(containers: &[PlannedContainer]) -> Vec<usize> {
    let mut order: Vec<usize> = Vec::new();
    while order.len() < containers.len() {
        let ready = (0..containers.len()).find(|i| {
            !order.contains(i)
                && containers[*i].depends_on.iter().all(|(d, _)| {
                    order.iter().any(|o| &containers[*o].name == d) || containers.iter().all(|c| &c.name != d)
                })
        });
        match ready {
            Some(i) => order.push(i),
            None => order.extend((0..containers.len()).filter(|i| !order.contains(i)).collect::<Vec<_>>()),
        }
    }
    order
}

/// The Docker network whose gateway a container reaches the metadata
/// endpoint on: its own, or docker0's for host-network containers (whose
/// stack holds that address too); none without a network.
fn metadata_network(network: &Network) -> Option<String> {
    match network {
        Network::Bridge { .. } | Network::Host => Some("bridge".to_owned()),
        Network::Named(name) => Some(name.clone()),
        Network::None | Network::SharedWith(_) => None,
    }
}

/// Removes the containers, then the task-scoped volumes, of emulator `owner`.
async fn remove_labelled(engine: &Engine, owner: &str) {
    let ids = engine.labelled(LABEL_OWNER, owner).await.unwrap_or_default();
    futures::future::join_all(ids.iter().map(|id| engine.remove(id))).await;
    let volumes = engine.labelled_volumes(LABEL_OWNER, owner).await.unwrap_or_default();
    futures::future::join_all(volumes.iter().map(|v| engine.remove_volume(v))).await;
}

/// The volumes made for `plan`'s task alone.
fn task_volumes(plan: &TaskPlan) -> Vec<String> {
    plan.volumes.iter().filter(|v| v.task_scoped).map(|v| v.name.clone()).collect()
}

/// The store of a task's partition (its ARN says which); the default
/// partition's for an ARN that names none.
fn store_of<S: AsRef<Partitions>>(app: &Arc<S>, task_arn: &str) -> Arc<Store> {
    let partitions: &Partitions = (**app).as_ref();
    Partition::of_arn(task_arn)
        .and_then(|p| partitions.existing(&p))
        .unwrap_or_else(|| partitions.default_store().clone())
}

/// A RUNNING task to measure: its partition, `(cluster, task id)`, its
/// service, the CPU units and MiB its utilisation is a share of, and its
/// containers' ids.
struct Measured {
    partition: Partition,
    key: (String, String),
    service: Option<String>,
    cpu: f64,
    memory: f64,
    ids: Vec<String>,
}

/// One pass's work.
#[derive(Default)]
struct Work {
    launches: Vec<TaskPlan>,
    stops: Vec<(String, Tracked)>,
    removals: Vec<Tracked>,
}
