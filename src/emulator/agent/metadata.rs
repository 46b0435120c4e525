//! The task metadata endpoint, versions 4 and 3: what an application or a
//! sidecar in a task reads at `$ECS_CONTAINER_METADATA_URI_V4` (and
//! `…/task`, `…/stats`, `…/task/stats`) about itself, in ECS's shapes.
//!
//! ECS serves it at the link-local 169.254.170.2 through the agent; here a
//! container reaches the host at its Docker network's gateway, so the
//! endpoint listens on each gateway the agent's containers use, on the
//! emulator's own port when it is free there (so a container re-adopted
//! after a restart on the same port finds its endpoint again). A container's
//! URI names its task and container (`/v4/<task id>/<container name>`); the
//! documents are built from the store at each request, so they follow the
//! task.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use k8s_openapi::jiff::Timestamp as Instant;
use serde_json::{Map, Value, json};

use super::spec;
use crate::emulator::docker::{Engine, Inspected};
use crate::emulator::rules::awsvpc::private_dns_name;
use crate::emulator::state::addresses::eni_of;
use crate::emulator::state::records::{Container, TaskDefinition, TaskEntry, Timestamp};
use crate::emulator::state::{Partitions, Store, lock, read};

/// The labels the agent puts on a task's containers (see [`spec`]).
const TASK_ARN_LABEL: &str = "com.amazonaws.ecs.task-arn";
const CONTAINER_NAME_LABEL: &str = "com.amazonaws.ecs.container-name";

/// The endpoint's listeners and what their documents read.
#[derive(Debug)]
pub struct Metadata {
    engine: Engine,
    /// The emulator's own listener: its port is tried first on every gateway.
    main: SocketAddr,
    /// Where the endpoint answers, by gateway.
    listeners: tokio::sync::Mutex<HashMap<IpAddr, u16>>,
    /// The listeners' tasks, ended with the agent.
    serving: Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Drop for Metadata {
    fn drop(&mut self) {
        for handle in lock(&self.serving).drain(..) {
            handle.abort();
        }
    }
}

impl Metadata {
    pub fn new(engine: Engine, main: SocketAddr) -> Self {
        Self { engine, main, listeners: tokio::sync::Mutex::new(HashMap::new()), serving: Mutex::new(Vec::new()) }
    }

    /// `http://<gateway>:<port>` for containers on the Docker network
    /// `network`, listening there first if need be; `None` when the network
    /// has no IPv4 gateway or nothing can listen on it.
    pub async fn endpoint<S: AsRef<Partitions> + Send + Sync + 'static>(
        &self,
        app: &Weak<S>,
        network: &str,
    ) -> Option<String> {
        let gateway = match self.engine.gateway(network).await {
            Ok(Some(ip)) => ip,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, %network, "no gateway for the task metadata endpoint");
                return None;
            }
        };
        let mut listeners = self.listeners.lock().await;
        if let Some(port) = listeners.get(&gateway) {
            return Some(format!("http://{gateway}:{port}"));
        }
        let port = self.listen(app, gateway).await?;
        listeners.insert(gateway, port);
        Some(format!("http://{gateway}:{port}"))
    }

    /// Serves the endpoint on `gateway`: on the emulator's port when free,
    /// else (the emulator listening on every address) through the main
    /// listener, else on a port of its own.
    async fn listen<S: AsRef<Partitions> + Send + Sync + 'static>(
        &self,
        app: &Weak<S>,
        gateway: IpAddr,
    ) -> Option<u16> {
        let listener = match tokio::net::TcpListener::bind((gateway, self.main.port())).await {
            Ok(listener) => listener,
            Err(_) if self.main.ip().is_unspecified() => return Some(self.main.port()),
            Err(_) => match tokio::net::TcpListener::bind((gateway, 0)).await {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::warn!(error = %e, %gateway, "cannot serve the task metadata endpoint");
                    return None;
                }
            },
        };
        let port = listener.local_addr().ok()?.port();
        let router = routes(app.clone(), self.engine.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::warn!(error = %e, "the task metadata endpoint stopped");
            }
        });
        lock(&self.serving).push(task.abort_handle());
        Some(port)
    }
}

/// The endpoint's routes, for the gateways' listeners and the emulator's own.
pub fn routes<S: AsRef<Partitions> + Send + Sync + 'static>(app: Weak<S>, engine: Engine) -> Router {
    let context = Arc::new(Context { app, engine });
    Router::new()
        .route("/{version}/{task}/{container}", get(answer::<S>))
        .route("/{version}/{task}/{container}/{*rest}", get(answer_rest::<S>))
        .with_state(context)
}

struct Context<S> {
    app: Weak<S>,
    engine: Engine,
}

/// Which document a path asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Document {
    Container,
    Task,
    ContainerStats,
    TaskStats,
}

/// The endpoint's version: 4 carries the networks, log options, ARNs and
/// launch type that 3 lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    V3,
    V4,
}

async fn answer<S: AsRef<Partitions> + Send + Sync + 'static>(
    State(context): State<Arc<Context<S>>>,
    Path((version, task, container)): Path<(String, String, String)>,
) -> Response {
    respond(&context, &version, &task, &container, "").await
}

async fn answer_rest<S: AsRef<Partitions> + Send + Sync + 'static>(
    State(context): State<Arc<Context<S>>>,
    Path((version, task, container, rest)): Path<(String, String, String, String)>,
) -> Response {
    respond(&context, &version, &task, &container, &rest).await
}

async fn respond<S: AsRef<Partitions> + Send + Sync + 'static>(
    context: &Context<S>,
    version: &str,
    task: &str,
    container: &str,
    rest: &str,
) -> Response {
    let version = match version {
        "v4" => Version::V4,
        "v3" => Version::V3,
        _ => return not_found(),
    };
    let document = match rest.trim_end_matches('/') {
        "" => Document::Container,
        "task" => Document::Task,
        "stats" => Document::ContainerStats,
        "task/stats" => Document::TaskStats,
        _ => return not_found(),
    };
    let found = context.app.upgrade().and_then(|app| {
        let partitions: &Partitions = (*app).as_ref();
        partitions.all().iter().find_map(|store| TaskView::find(store, task))
    });
    let Some(view) = found else {
        return not_found();
    };
    if !view.entry.task.containers.iter().any(|c| *c.name == *container) {
        return not_found();
    }
    // The engine's own account of the task's containers: a container asks
    // as soon as it starts, before the agent has reported it to the store.
    let ids = context
        .engine
        .labelled_by(TASK_ARN_LABEL, &view.entry.task.task_arn, CONTAINER_NAME_LABEL)
        .await
        .unwrap_or_default();
    match document {
        Document::ContainerStats => {
            let Some(id) = ids.get(container) else { return Json(Value::Object(Map::new())).into_response() };
            Json(context.engine.stats(id).await.unwrap_or(Value::Null)).into_response()
        }
        Document::TaskStats => {
            let mut all = Map::new();
            for c in &view.entry.task.containers {
                let Some(id) = ids.get(&*c.name) else { continue };
                all.insert(id.clone(), context.engine.stats(id).await.unwrap_or(Value::Null));
            }
            Json(Value::Object(all)).into_response()
        }
        Document::Container | Document::Task => {
            let mut engine = HashMap::new();
            for (name, id) in &ids {
                if let Ok(inspected) = context.engine.inspect(id).await {
                    engine.insert(name.clone(), (id.clone(), inspected));
                }
            }
            let first = view.entry.task.containers.first().map(|c| &*c.name).unwrap_or_default();
            let address = engine.get(first).and_then(|(_, i)| i.addresses.get(&format!("ecs-bridge-{}", view.cluster)));
            let address = address.map(ToString::to_string);
            let doc = |c: &Container| view.container(version, c, engine.get(&*c.name), address.as_deref());
            if document == Document::Container {
                let own = view.entry.task.containers.iter().find(|c| *c.name == *container);
                return Json(own.map(doc).unwrap_or(Value::Null)).into_response();
            }
            let containers = view.entry.task.containers.iter().map(doc).collect();
            Json(view.task(version, containers)).into_response()
        }
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such task or container\n").into_response()
}

/// A task, copied out of the store with what its documents need.
struct TaskView {
    cluster: String,
    region: String,
    entry: TaskEntry,
    definition: Option<TaskDefinition>,
}

impl TaskView {
    fn find(store: &Store, task_id: &str) -> Option<Self> {
        let registry = read(&store.task_definitions);
        let daemons = read(&store.daemons);
        store.all_clusters().into_iter().find_map(|(cluster, cell)| {
            let state = lock(&cell);
            let entry = state.tasks.get(task_id)?.clone();
            let arn = &entry.task.task_definition_arn;
            let definition = registry.resolve(arn).or_else(|| daemons.entry(arn)).map(|e| e.task_definition.clone());
            Some(Self { cluster, region: store.arns.region.clone(), entry, definition })
        })
    }

    fn network_mode(&self) -> &str {
        self.definition.as_ref().map_or("bridge", TaskDefinition::effective_network_mode)
    }

    /// The container document (`${ECS_CONTAINER_METADATA_URI_V4}`).
    /// `engine` is the container's id and what the engine says of it; under
    /// awsvpc `address` is the task's, from the engine too.
    fn container(
        &self,
        version: Version,
        c: &Container,
        engine: Option<&(String, Inspected)>,
        address: Option<&str>,
    ) -> Value {
        let inspected = engine.map(|(_, i)| i);
        let task = &self.entry.task;
        let def =
            self.definition.as_ref().and_then(|td| td.container_definitions.iter().find(|d| d.name() == &*c.name));
        let mut doc = Map::new();
        let id = engine.map(|(id, _)| id.clone()).or_else(|| c.runtime_id.clone());
        doc.insert("DockerId".into(), json!(id.unwrap_or_default()));
        doc.insert("Name".into(), json!(&*c.name));
        if let Some(td) = &self.definition {
            doc.insert("DockerName".into(), json!(spec::container_name(td, &c.name, self.entry.id())));
        }
        doc.insert("Image".into(), json!(c.image.clone().unwrap_or_default()));
        if let Some(image_id) = inspected.map(|i| i.image_id.clone()) {
            doc.insert("ImageID".into(), json!(image_id));
        }
        let ports: Vec<Value> = c
            .network_bindings
            .iter()
            .map(|b| {
                json!({
                    "ContainerPort": b.get("containerPort"),
                    "Protocol": b.get("protocol"),
                    "HostPort": b.get("hostPort"),
                    "HostIp": b.get("bindIP"),
                })
            })
            .collect();
        if !ports.is_empty() {
            doc.insert("Ports".into(), Value::Array(ports));
        }
        if let Some(td) = &self.definition {
            doc.insert(
                "Labels".into(),
                json!({
                    "com.amazonaws.ecs.cluster": self.cluster,
                    "com.amazonaws.ecs.container-name": &*c.name,
                    "com.amazonaws.ecs.task-arn": task.task_arn,
                    "com.amazonaws.ecs.task-definition-family": td.family,
                    "com.amazonaws.ecs.task-definition-version": td.revision.to_string(),
                }),
            );
        }
        doc.insert("DesiredStatus".into(), json!(task.desired_status));
        // Running in the engine before the agent's report reaches the task.
        let known = match (&*c.last_status, inspected) {
            ("PENDING", Some(i)) if i.running => "RUNNING",
            (status, _) => status,
        };
        doc.insert("KnownStatus".into(), json!(known));
        let mut limits = Map::new();
        limits.insert("CPU".into(), json!(def.map_or(0, |d| d.cpu)));
        if let Some(memory) = def.and_then(|d| d.memory) {
            limits.insert("Memory".into(), json!(memory));
        }
        doc.insert("Limits".into(), Value::Object(limits));
        if let Some(i) = inspected {
            doc.insert("CreatedAt".into(), json!(i.created));
            if let Some(started) = &i.started {
                doc.insert("StartedAt".into(), json!(started));
            }
            if let Some(finished) = &i.finished {
                doc.insert("FinishedAt".into(), json!(finished));
            }
        }
        if let Some(code) = c.exit_code {
            doc.insert("ExitCode".into(), json!(code));
        }
        doc.insert("Type".into(), json!("NORMAL"));
        if c.health_status != "UNKNOWN" {
            doc.insert("Health".into(), json!({ "status": c.health_status }));
        }
        if version == Version::V4 {
            doc.insert("ContainerARN".into(), json!(c.container_arn));
            if let Some(config) = def.and_then(|d| d.other.get("logConfiguration")) {
                doc.insert("LogDriver".into(), config.get("logDriver").cloned().unwrap_or(Value::Null));
                let mut options = config.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
                if let Some(prefix) = options.get("awslogs-stream-prefix").and_then(Value::as_str) {
                    let stream = format!("{prefix}/{}/{}", c.name, self.entry.id());
                    options.insert("awslogs-stream".into(), json!(stream));
                }
                doc.insert("LogOptions".into(), Value::Object(options));
            }
        }
        if let Some(networks) = self.networks(version, inspected, address) {
            doc.insert("Networks".into(), networks);
        }
        Value::Object(doc)
    }

    /// The container's networks: the task's ENI under awsvpc, the Docker
    /// bridge address in bridge mode, nothing in host and none mode.
    fn networks(&self, version: Version, inspected: Option<&Inspected>, address: Option<&str>) -> Option<Value> {
        let mode = self.network_mode();
        let mut network = Map::new();
        network.insert("NetworkMode".into(), json!(mode));
        match mode {
            "awsvpc" => {
                let eni = eni_of(&self.entry)?;
                let ip = address.or_else(|| eni.detail("privateIPv4Address"))?;
                network.insert("IPv4Addresses".into(), json!([ip]));
                if version == Version::V4 {
                    network.insert("AttachmentIndex".into(), json!(0));
                    if let Some(mac) = eni.detail("macAddress") {
                        network.insert("MACAddress".into(), json!(mac));
                    }
                    if let Ok(ip) = ip.parse() {
                        network.insert("PrivateDNSName".into(), json!(private_dns_name(&self.region, ip)));
                    }
                }
            }
            "bridge" => {
                let ip = inspected?.addresses.get("bridge")?;
                network.insert("IPv4Addresses".into(), json!([ip.to_string()]));
            }
            _ => return None,
        }
        Some(json!([network]))
    }

    /// The task document (`${ECS_CONTAINER_METADATA_URI_V4}/task`).
    fn task(&self, version: Version, containers: Vec<Value>) -> Value {
        let task = &self.entry.task;
        let mut doc = Map::new();
        doc.insert("Cluster".into(), json!(self.cluster));
        doc.insert("TaskARN".into(), json!(task.task_arn));
        if let Some(td) = &self.definition {
            doc.insert("Family".into(), json!(td.family));
            doc.insert("Revision".into(), json!(td.revision.to_string()));
        }
        doc.insert("DesiredStatus".into(), json!(task.desired_status));
        doc.insert("KnownStatus".into(), json!(task.last_status));
        let mut limits = Map::new();
        if let Some(cpu) = task.cpu.as_deref().and_then(|c| c.parse::<f64>().ok()) {
            limits.insert("CPU".into(), json!(cpu / 1024.0));
        }
        if let Some(memory) = task.memory.as_deref().and_then(|m| m.parse::<i64>().ok()) {
            limits.insert("Memory".into(), json!(memory));
        }
        if !limits.is_empty() {
            doc.insert("Limits".into(), Value::Object(limits));
        }
        for (key, at) in [("PullStartedAt", task.pull_started_at), ("PullStoppedAt", task.pull_stopped_at)] {
            if let Some(at) = at {
                doc.insert(key.into(), json!(rfc3339(at)));
            }
        }
        if let Some(at) = task.execution_stopped_at {
            doc.insert("ExecutionStoppedAt".into(), json!(rfc3339(at)));
        }
        if let Some(zone) = &task.availability_zone {
            doc.insert("AvailabilityZone".into(), json!(zone));
        }
        if version == Version::V4 {
            if let Some(service) = &self.entry.service_name {
                doc.insert("ServiceName".into(), json!(&**service));
            }
            if let Some(launch_type) = &task.launch_type {
                doc.insert("LaunchType".into(), json!(launch_type));
            }
            doc.insert(
                "ClockDrift".into(),
                json!({ "ClockErrorBound": 0.5, "ReferenceTimestamp": rfc3339(task.created_at), "ClockSynchronizationStatus": "SYNCHRONIZED" }),
            );
        }
        doc.insert("Containers".into(), Value::Array(containers));
        Value::Object(doc)
    }
}

fn rfc3339(at: Timestamp) -> String {
    Instant::from_millisecond(at.0).map(|t| t.to_string()).unwrap_or_default()
}
