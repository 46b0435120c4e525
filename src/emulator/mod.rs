//! The ECS emulator: Amazon ECS's JSON 1.1 API served over HTTP, so the
//! unmodified AWS SDKs and CLI work against it (any SigV4 signature is
//! accepted). `ecs-bridge emulator` runs it as a process; [`spawn`] embeds it
//! in tests and dev mode on an ephemeral loopback port.
//!
//! The code stands in floors, and a file imports only its own folder and the
//! floors below it (a test, `tests/delivery/floors.rs`, keeps it so):
//!
//! ```text
//! mod.rs    this facade: configuration, spawn/run, the router, the ticker
//! console/  /_emulator/console/: the pages that draw the state for people
//! admin/    the /_emulator/ endpoints that tests and people steer it with
//! server/   POST /: target header to a served service's handler (api::SERVICES), faults, throttling, stats
//! api/      one file per family of operations (ECS, Logs, Auto Scaling); api/mod.rs names them all
//! agent/    the Docker runtime: makes containers follow the tasks, reports what they do
//! sim/      the living ECS: the tick, task lifecycle, deployments, breaker, events
//! rules/    ECS's pure rules: validation, the query language, placement, zones
//! state/    records, the store and its locks, the journal, ids
//! wire/     the JSON 1.1 codec, the CBOR and query bridges, the services' error shapes and dialects, pagination
//! docker/   the Docker Engine client the agent drives (knows nothing of ECS)
//! clock.rs, timings.rs   time and how long each simulated phase takes
//! fuzzing.rs   the fuzz targets' checks (beside this facade: it drives the server)
//! ```

mod admin;
mod agent;
mod api;
pub mod clock;
mod console;
mod docker;
#[doc(hidden)]
pub mod fuzzing;
mod rules;
mod server;
mod sim;
mod state;
mod timings;
mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use agent::Agent;
use clock::{Clock, SystemClock};
use docker::{DockerError, Engine};
use state::ids::Arns;
pub use state::journal::Fsync;
use state::journal::{COMPACT_AFTER_BYTES, Journal, PersistenceError};
use state::partitions::Partition;
use state::{Partitions, Store};

pub use api::{OPERATIONS, UNSUPPORTED_OPERATIONS};
pub use server::auth::Credentials;
pub use server::listener::Limits;
pub use server::listener::serve as serve_router;
pub use server::{App, handle, handle_target};
pub use sim::chaos::kill_task;
pub use sim::scheduler::{AdvanceReport, ClockError, TickReport, advance, next_due, tick, tick_all};
pub use timings::Timings;

/// Which clock the scheduler runs on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ClockMode {
    /// The wall clock; a background ticker does the work as it falls due.
    #[default]
    Real,
    /// Time stands still until `POST /_emulator/clock/advance`.
    Manual,
}

/// What runs the tasks' containers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RuntimeMode {
    /// No containers: each phase takes its simulated time (deterministic;
    /// works with the manual clock).
    #[default]
    Simulated,
    /// Real containers on the Docker Engine at `DOCKER_HOST` (or the local
    /// socket), under the same scheduler.
    Docker,
}

/// Command-line arguments of `ecs-bridge emulator`.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to serve ECS's API on.
    #[arg(long, default_value = "127.0.0.1:4566", env = "ECS_BRIDGE_EMULATOR_LISTEN")]
    pub listen: SocketAddr,
    /// Keep state in this directory so it survives restarts (and kill -9).
    /// Without it, state lives in memory only.
    #[arg(long, env = "ECS_BRIDGE_EMULATOR_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Region of unsigned requests (a signed request's region is its
    /// credential scope's).
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Account of requests whose access key id is not a 12-digit account
    /// id (a 12-digit key selects that account).
    #[arg(long, default_value = "000000000000")]
    pub account_id: String,
    /// `real`: tasks move on by themselves; `manual`: time moves only when
    /// `POST /_emulator/clock/advance` says so (deterministic tests).
    #[arg(long, value_enum, default_value_t = ClockMode::Real)]
    pub clock: ClockMode,
    /// Seed for every id and random choice (placement, fault rates), so a run
    /// is reproducible; random when absent.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds from a task's creation to RUNNING (split over PROVISIONING,
    /// PENDING and ACTIVATING).
    #[arg(long, default_value_t = 2.0)]
    pub task_start_seconds: f64,
    /// Seconds from a stop request to STOPPED (DEACTIVATING, STOPPING,
    /// DEPROVISIONING).
    #[arg(long, default_value_t = 1.0)]
    pub task_stop_seconds: f64,
    /// Seconds a RUNNING task without health checks must run to count as
    /// healthy for deployments (ECS: 40).
    #[arg(long, default_value_t = 3.0)]
    pub task_healthy_seconds: f64,
    /// Seconds after RUNNING at which a service task's load-balancer
    /// targets pass their health checks (services with `loadBalancers`
    /// count a task as healthy only then).
    #[arg(long, default_value_t = 3.0)]
    pub target_healthy_seconds: f64,
    /// Simulated EC2 instances (m5.large) every new cluster starts with, so
    /// EC2 tasks and services run without registering instances.
    #[arg(long, default_value_t = 0)]
    pub ec2_capacity: u32,
    /// Throttle requests with ECS's token buckets per API category
    /// (`ThrottlingException: Rate exceeded`); also switchable at run time
    /// with `POST /_emulator/throttling`.
    #[arg(long)]
    pub throttling: bool,
    /// Container health checks run this often; 0 uses each definition's
    /// `interval` (default 30 s), as ECS does.
    #[arg(long, default_value_t = 1.0)]
    pub health_check_interval_seconds: f64,
    /// Seconds a STOPPED task stays visible (ECS: at least an hour). Lower it
    /// to bound memory when something churns through many tasks.
    #[arg(long, default_value_t = 3600)]
    pub stopped_task_retention_secs: u64,
    /// `simulated`: tasks run nowhere; `docker`: each task's containers run
    /// on Docker (the real clock only).
    #[arg(long, value_enum, default_value_t = RuntimeMode::Simulated, env = "ECS_BRIDGE_EMULATOR_RUNTIME")]
    pub runtime: RuntimeMode,
    /// With `--runtime docker`: leave the containers running on shutdown.
    #[arg(long)]
    pub keep_containers: bool,
    /// With `--runtime docker`: the host address bridge-mode ports are
    /// published on (ECS publishes on 0.0.0.0; loopback keeps tasks private).
    #[arg(long, default_value = "127.0.0.1")]
    pub publish_ip: String,
    /// Require every request to be signed (SigV4) with this access key, and
    /// the admin endpoints to carry it too (or HTTP Basic key:secret).
    #[arg(long, env = "ECS_BRIDGE_EMULATOR_ACCESS_KEY_ID", requires = "secret_access_key")]
    pub access_key_id: Option<String>,
    /// With `--state-dir`: `never` (the page cache: `kill -9` loses nothing,
    /// a power loss may), `batch` (to disk within 50 ms), `always` (to disk
    /// before each write is acknowledged).
    #[arg(long, value_enum, default_value_t = Fsync::Never, env = "ECS_BRIDGE_EMULATOR_FSYNC")]
    pub fsync: Fsync,
    /// The secret of `--access-key-id`.
    #[arg(long, env = "ECS_BRIDGE_EMULATOR_SECRET_ACCESS_KEY", requires = "access_key_id", hide_env_values = true)]
    pub secret_access_key: Option<String>,
    /// The largest request body served (bytes); larger ones are refused
    /// with `SerializationException` before they are read.
    #[arg(long, default_value_t = Limits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Seconds a client may take to send a request's headers; also how
    /// long an idle keep-alive connection stays open.
    #[arg(long, default_value_t = Limits::default().header_timeout.as_secs())]
    pub header_timeout_secs: u64,
    /// Seconds a client may take to send a request's body
    /// (`RequestTimeoutException`, HTTP 408, past it).
    #[arg(long, default_value_t = Limits::default().body_timeout.as_secs())]
    pub body_timeout_secs: u64,
    /// Connections served at once; more wait in the accept backlog.
    #[arg(long, default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
}

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub state_dir: Option<PathBuf>,
    pub region: String,
    pub account_id: String,
    /// The time source; a [`clock::ManualClock`] turns the background ticker
    /// off (advance it with [`RunningEmulator::advance`] or the admin
    /// endpoint).
    pub clock: Arc<dyn Clock>,
    /// How long STOPPED tasks stay visible before they are forgotten.
    pub stopped_task_retention: std::time::Duration,
    /// How long each simulated phase takes.
    pub timings: Timings,
    /// Seed for ids and random choices; `None` for fresh randomness.
    pub seed: Option<u64>,
    /// How often the background ticker runs on the real clock.
    pub tick_interval: std::time::Duration,
    /// Simulated EC2 instances every new cluster starts with.
    pub ec2_capacity: u32,
    /// ECS's token-bucket throttling from the start.
    pub throttling: bool,
    /// What runs the tasks' containers.
    pub runtime: RuntimeMode,
    /// Docker: leave containers running on shutdown.
    pub keep_containers: bool,
    /// Docker: where bridge-mode ports are published.
    pub publish_ip: String,
    /// The access key every request must be signed with; `None` accepts
    /// anyone (loopback development).
    pub credentials: Option<Credentials>,
    /// With `state_dir`: when the journal is flushed to disk.
    pub fsync: Fsync,
    /// What one client may cost: body size, header and body time,
    /// connections at once.
    pub limits: Limits,
}

impl Default for EmulatorConfig {
    /// An in-memory emulator on an ephemeral loopback port, on the real clock
    /// with short phases.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: None,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            clock: Arc::new(SystemClock),
            stopped_task_retention: std::time::Duration::from_millis(
                state::DEFAULT_STOPPED_TASK_RETENTION_MILLIS as u64,
            ),
            timings: Timings::default(),
            seed: None,
            tick_interval: std::time::Duration::from_millis(100),
            ec2_capacity: 0,
            throttling: false,
            runtime: RuntimeMode::Simulated,
            keep_containers: false,
            publish_ip: "127.0.0.1".into(),
            credentials: None,
            fsync: Fsync::Never,
            limits: Limits::default(),
        }
    }
}

impl EmulatorConfig {
    /// The default configuration on a manual clock starting now: nothing
    /// moves until the test advances time.
    pub fn manual() -> Self {
        Self { clock: Arc::new(clock::ManualClock::starting_now()), ..Self::default() }
    }
}

impl From<EmulatorArgs> for EmulatorConfig {
    fn from(args: EmulatorArgs) -> Self {
        let clock: Arc<dyn Clock> = match args.clock {
            ClockMode::Real => Arc::new(SystemClock),
            ClockMode::Manual => Arc::new(clock::ManualClock::starting_now()),
        };
        let interval = (args.health_check_interval_seconds > 0.0).then_some(args.health_check_interval_seconds);
        let mut timings =
            Timings::from_seconds(args.task_start_seconds, args.task_stop_seconds, args.task_healthy_seconds, interval);
        timings.target_healthy = (args.target_healthy_seconds.max(0.0) * 1000.0).round() as i64;
        Self {
            listen: args.listen,
            state_dir: args.state_dir,
            region: args.region,
            account_id: args.account_id,
            clock,
            stopped_task_retention: std::time::Duration::from_secs(args.stopped_task_retention_secs),
            timings,
            seed: args.seed,
            ec2_capacity: args.ec2_capacity,
            throttling: args.throttling,
            runtime: args.runtime,
            keep_containers: args.keep_containers,
            publish_ip: args.publish_ip,
            credentials: args
                .access_key_id
                .zip(args.secret_access_key)
                .map(|(access_key_id, secret_access_key)| Credentials { access_key_id, secret_access_key }),
            fsync: args.fsync,
            limits: Limits {
                max_body_bytes: args.max_body_bytes,
                header_timeout: Duration::from_secs(args.header_timeout_secs.max(1)),
                body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
                max_connections: args.max_connections.max(1),
            },
            ..Self::default()
        }
    }
}

/// Why the emulator could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("could not listen on {addr}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("could not load the state directory")]
    State(#[from] PersistenceError),
    #[error("the HTTP server failed")]
    Serve(#[source] std::io::Error),
    #[error("the Docker runtime needs the real clock (containers do not wait for a manual one)")]
    DockerNeedsRealClock,
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("could not keep the Docker runtime's owner id in the state directory")]
    Owner(#[source] std::io::Error),
    #[error("could not listen for SIGINT and SIGTERM")]
    Signals(#[source] std::io::Error),
    #[error("the server task ended abnormally")]
    Join(#[from] tokio::task::JoinError),
}

/// The HTTP routes: ECS and the other JSON and query services at `POST /`,
/// Smithy RPC v2 CBOR at `POST /service/…`, admin under `/_emulator/` (the
/// console under `/_emulator/console/`), all behind
/// the signature check when credentials are configured.
pub fn router(app: Arc<App>) -> Router {
    let guard = app.guard.clone();
    let router = Router::new()
        .route("/", post(server::serve_ecs))
        .route("/service/{service}/operation/{operation}", post(server::serve_cbor))
        .merge(admin::routes())
        .merge(console::routes())
        .fallback(server::fallback)
        .with_state(app);
    match guard {
        Some(guard) => router.layer(axum::middleware::from_fn_with_state(guard, server::auth::check)),
        None => router,
    }
}

/// The null baseline for benchmarks: the emulator's HTTP stack (serve it
/// with [`serve_router`], the emulator's listener) answering every
/// `POST /` with `body` once the request's JSON is read and parsed, with
/// no ECS behind it. The emulator's requests per second over the
/// baseline's, in one run, is its cost beyond the stack's.
pub fn baseline_router(body: Vec<u8>, limits: Limits) -> Router {
    let fixed = Arc::new(server::Fixed { limits, body });
    Router::new().route("/", post(server::serve_fixed)).fallback(server::fallback).with_state(fixed)
}

/// Builds the shared state, loading `state_dir` when given.
pub fn build_app(config: &EmulatorConfig) -> Result<Arc<App>, EmulatorError> {
    let arns = Arns::new(&config.region, &config.account_id);
    let default = Partition::new(&config.account_id, &config.region);
    let (dumps, journal) = match &config.state_dir {
        Some(dir) => {
            let (dumps, journal) = Journal::open(dir, config.fsync, &default)?;
            (Some(dumps), Some(Arc::new(journal)))
        }
        None => (None, None),
    };
    let mut store = Store::new(arns, config.clock.clone(), journal);
    store.stopped_task_retention_millis = i64::try_from(config.stopped_task_retention.as_millis()).unwrap_or(i64::MAX);
    store.timings = config.timings.clone();
    store.rng = config.seed.map(state::ids::seeded);
    store.ec2_capacity = config.ec2_capacity;
    store.runtime = match config.runtime {
        RuntimeMode::Simulated => state::Runtime::Simulated,
        RuntimeMode::Docker => state::Runtime::Docker,
    };
    let partitions = Partitions::new(store);
    if let Some(dumps) = dumps {
        partitions.load(dumps);
    }
    let faults = server::faults::Faults::default();
    faults.set_throttling(config.throttling);
    let guard = config
        .credentials
        .clone()
        .map(|credentials| Arc::new(server::auth::Guard { credentials, limits: config.limits }));
    let store = partitions.default_store().clone();
    Ok(Arc::new(App {
        store,
        partitions,
        stats: server::stats::Stats::default(),
        faults,
        guard,
        limits: config.limits,
    }))
}

/// Runs one fuzz input through `check` (one of [`fuzzing::TARGETS`]) on a
/// fresh in-memory emulator: a fixed seed, a manual clock at
/// [`fuzzing::START_MILLIS`], two simulated EC2 instances per cluster.
#[doc(hidden)]
pub fn fuzz(check: fuzzing::Check, data: &[u8]) -> fuzzing::Checked {
    let config = EmulatorConfig {
        seed: Some(7),
        ec2_capacity: 2,
        clock: Arc::new(clock::ManualClock::new(fuzzing::START_MILLIS)),
        ..EmulatorConfig::default()
    };
    let app = build_app(&config).map_err(|e| fuzzing::Finding(format!("the emulator does not start: {e}")))?;
    check(&app, data)
}

/// An emulator serving in the background of this process. Dropping it stops
/// the server.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<std::io::Result<()>>>,
    /// The Docker runtime's agent, whose containers go with the emulator
    /// unless `keep_containers`.
    agent: Option<Arc<Agent>>,
    keep_containers: bool,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, for an SDK's endpoint override.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The console's address, for a browser.
    pub fn console_url(&self) -> String {
        format!("{}{}/", self.endpoint(), console::ROOT)
    }

    /// The default partition's state (`account_id` in `region`), for
    /// in-process inspection.
    pub fn store(&self) -> &Store {
        &self.app.store
    }

    /// Folds the journal into a new snapshot of every partition (what the
    /// background compaction does), on the caller's thread.
    pub fn compact(&self) -> std::io::Result<()> {
        self.app.partitions.compact()
    }

    /// Moves a manual clock forward, doing the scheduler's work due on the
    /// way (same as `POST /_emulator/clock/advance`).
    pub fn advance(&self, by: std::time::Duration) -> Result<AdvanceReport, ClockError> {
        advance(&self.app.partitions, i64::try_from(by.as_millis()).unwrap_or(i64::MAX))
    }

    /// Does the work due at the current time in every partition (same as
    /// `POST /_emulator/tick`).
    pub fn tick(&self) -> TickReport {
        tick_all(&self.app.partitions)
    }

    /// Requests served per operation (same as `GET /_emulator/stats`).
    pub fn stats(&self) -> serde_json::Map<String, serde_json::Value> {
        self.app.stats.snapshot()
    }

    /// Stops serving and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) -> Result<(), EmulatorError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = match self.server.take() {
            Some(server) => server.await?.map_err(EmulatorError::Serve),
            None => Ok(()),
        };
        if let Some(agent) = self.agent.take()
            && !self.keep_containers
        {
            agent.remove_all().await;
        }
        served
    }

    /// With the Docker runtime, the label on this emulator's containers
    /// (`dev.ecs-bridge.emulator=<id>`).
    pub fn container_owner(&self) -> Option<&str> {
        self.agent.as_deref().map(Agent::owner)
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Dropped without `shutdown`: the containers still go, on a runtime
        // of their own (this may run inside one that is ending).
        if let Some(agent) = self.agent.take()
            && !self.keep_containers
        {
            agent.close();
            let owner = agent.owner().to_owned();
            let cleanup = std::thread::spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                runtime.block_on(Agent::remove_owned(&owner));
            });
            let _ = cleanup.join();
        }
    }
}

/// Ticks on the real clock until the emulator is dropped.
async fn run_ticker(app: Weak<App>, every: Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(app) = app.upgrade() else { return };
        tick_all(&app.partitions);
    }
}

/// Compacts the journal whenever it has grown past
/// [`COMPACT_AFTER_BYTES`], off the request path; ends with the
/// emulator.
async fn compact_in_background(app: Weak<App>) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let Some(app) = app.upgrade() else { return };
        let big = app.store.journal().is_some_and(|j| j.len() > COMPACT_AFTER_BYTES);
        if big {
            let result = tokio::task::spawn_blocking(move || app.partitions.compact()).await;
            if let Ok(Err(e)) | Err(e) = result.map_err(std::io::Error::other) {
                tracing::warn!(error = %e, "journal compaction failed; will retry");
            }
        }
    }
}

/// `--fsync batch`: flushes the journal every [`state::journal::BATCH_INTERVAL`]
/// while the emulator lives (on a blocking thread: `fdatasync` can take long).
async fn flush_in_background(app: Weak<App>) {
    let mut interval = tokio::time::interval(state::journal::BATCH_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(app) = app.upgrade() else { return };
        let result =
            tokio::task::spawn_blocking(move || app.store.journal().map_or(Ok(()), Journal::flush_batch)).await;
        if let Ok(Err(e)) | Err(e) = result.map_err(std::io::Error::other) {
            tracing::warn!(error = %e, "journal flush failed; will retry");
        }
    }
}

/// The label value of this emulator's containers: kept in the state
/// directory, so a restarted emulator knows its containers, else new.
fn container_owner(state_dir: Option<&std::path::Path>) -> std::io::Result<String> {
    let Some(dir) = state_dir else { return Ok(state::ids::uuid()) };
    let path = dir.join("docker-owner");
    match std::fs::read_to_string(&path) {
        Ok(owner) if !owner.trim().is_empty() => Ok(owner.trim().to_owned()),
        _ => {
            let owner = state::ids::uuid();
            std::fs::create_dir_all(dir)?;
            std::fs::write(&path, &owner)?;
            Ok(owner)
        }
    }
}

/// Starts an emulator in this process (by default on `127.0.0.1:0`).
pub async fn spawn(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
    let engine = match config.runtime {
        RuntimeMode::Docker if config.clock.manual().is_some() => return Err(EmulatorError::DockerNeedsRealClock),
        RuntimeMode::Docker => Some(Engine::connect().await?),
        RuntimeMode::Simulated => None,
    };
    let app = build_app(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| EmulatorError::Bind { addr: config.listen, source })?;
    let addr = listener.local_addr().map_err(|source| EmulatorError::Bind { addr: config.listen, source })?;
    let (tx, rx) = oneshot::channel::<()>();
    if let Some(journal) = app.store.journal() {
        if journal.fsync() == Fsync::Batch {
            tokio::spawn(flush_in_background(Arc::downgrade(&app)));
        }
        tokio::spawn(compact_in_background(Arc::downgrade(&app)));
    }
    if app.store.clock.manual().is_none() {
        tokio::spawn(run_ticker(Arc::downgrade(&app), config.tick_interval));
    }
    let agent = match engine {
        Some(engine) => {
            let owner = container_owner(config.state_dir.as_deref()).map_err(EmulatorError::Owner)?;
            let agent = Agent::new(engine, owner, config.publish_ip.clone(), addr);
            agent.adopt(&app).await;
            tokio::spawn(agent.clone().run(Arc::downgrade(&app)));
            Some(agent)
        }
        None => None,
    };
    let mut router = router(app.clone());
    // Listening on every address, this listener is the gateways' too, and
    // so serves the task metadata endpoint.
    if let Some(agent) = agent.as_ref().filter(|_| addr.ip().is_unspecified()) {
        router = router.merge(agent.metadata_routes(Arc::downgrade(&app)));
    }
    let limits = config.limits;
    let server = tokio::spawn(async move {
        server::listener::serve(listener, router, limits, async move {
            let _ = rx.await;
        })
        .await
    });
    Ok(RunningEmulator {
        addr,
        app,
        shutdown: Some(tx),
        server: Some(server),
        agent,
        keep_containers: config.keep_containers,
    })
}

/// Serves until Ctrl-C or SIGTERM. Prints the endpoint on stdout once
/// listening, so a parent process can wait for it.
pub async fn run(args: EmulatorArgs) -> Result<(), EmulatorError> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    // Listening before serving, so a signal that comes early is not lost.
    let mut signals = crate::shutdown::Signals::listen().map_err(EmulatorError::Signals)?;
    let emulator = spawn(args.into()).await?;
    println!("ecs-bridge emulator listening on {}", emulator.endpoint());
    // On stderr: a parent may stop reading stdout after the first line.
    tracing::info!(endpoint = %emulator.endpoint(), console = %emulator.console_url(), "ECS emulator serving");
    let signal = signals.received().await;
    tracing::info!(signal = signal.name(), "shutting down");
    emulator.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        emulator: EmulatorArgs,
    }

    #[test]
    fn target_health_time_comes_from_its_flag() {
        let config = EmulatorConfig::from(Cli::parse_from(["emulator", "--target-healthy-seconds", "7.5"]).emulator);
        assert_eq!(config.timings.target_healthy, 7_500);
        let config = EmulatorConfig::from(Cli::parse_from(["emulator"]).emulator);
        assert_eq!(config.timings.target_healthy, 3_000, "short on the real clock by default");
    }

    #[test]
    fn fsync_and_limits_come_from_their_flags() {
        let args = [
            "emulator",
            "--fsync",
            "always",
            "--max-body-bytes",
            "4096",
            "--header-timeout-secs",
            "2",
            "--body-timeout-secs",
            "3",
            "--max-connections",
            "7",
        ];
        let config = EmulatorConfig::from(Cli::parse_from(args).emulator);
        assert_eq!(config.fsync, Fsync::Always);
        assert_eq!(
            config.limits,
            Limits {
                max_body_bytes: 4096,
                header_timeout: Duration::from_secs(2),
                body_timeout: Duration::from_secs(3),
                max_connections: 7,
            }
        );
        let config = EmulatorConfig::from(Cli::parse_from(["emulator"]).emulator);
        assert_eq!((config.fsync, config.limits), (Fsync::Never, Limits::default()));
    }

    fn call(app: &App, op: &str, body: serde_json::Value) -> serde_json::Value {
        let target = format!("AmazonEC2ContainerServiceV20141113.{op}");
        let (status, out) = handle_target(app, Some(&target), body.to_string().as_bytes());
        assert_eq!(status, 200, "{op}: {out}");
        out
    }

    /// The tasks one launch makes share their definition's ARN and their
    /// containers' names (the scheduler reads both at each step, and one
    /// shared copy stays in the cache), keep their one container and one
    /// attachment in their records, and still read back as ECS shows them,
    /// also through the journal's JSON.
    #[test]
    fn the_tasks_of_one_launch_share_their_definitions_strings() {
        let app = build_app(&EmulatorConfig::default()).expect("emulator");
        call(&app, "CreateCluster", serde_json::json!({ "clusterName": "c" }));
        call(
            &app,
            "RegisterTaskDefinition",
            serde_json::json!({
                "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "containerDefinitions": [{ "name": "web", "image": "nginx" }],
            }),
        );
        let out = call(
            &app,
            "RunTask",
            serde_json::json!({
                "cluster": "c", "taskDefinition": "web", "count": 3, "launchType": "FARGATE",
                "networkConfiguration": { "awsvpcConfiguration": { "subnets": ["subnet-1"] } },
            }),
        );
        assert_eq!(out["tasks"][0]["containers"][0]["name"], "web");
        assert_eq!(out["tasks"][0]["taskDefinitionArn"], "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1");
        let cell = app.store.cluster("c").expect("cluster");
        let state = state::lock(&cell);
        let tasks: Vec<&state::records::TaskEntry> = state.tasks.iter().map(|(_, t)| t).collect();
        assert_eq!(tasks.len(), 3);
        for t in &tasks {
            assert!(Arc::ptr_eq(&t.task.task_definition_arn, &tasks[0].task.task_definition_arn));
            assert!(Arc::ptr_eq(&t.task.containers[0].name, &tasks[0].task.containers[0].name));
            assert!(!t.task.containers.spilled() && !t.task.attachments.spilled(), "kept in the record");
            assert_eq!(t.task.attachments.len(), 1);
            let json = serde_json::to_value(&t.task).expect("task as JSON");
            assert_eq!(json["containers"][0]["name"], "web");
            assert_eq!(json["attachments"][0]["type"], "ElasticNetworkInterface");
            let back: state::records::Task = serde_json::from_value(json).expect("task from JSON");
            assert_eq!(back, t.task);
            assert!(!back.containers.spilled() && !back.attachments.spilled(), "read back into the record");
        }
    }
}
