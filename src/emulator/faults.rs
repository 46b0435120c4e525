//! Fault injection for testing a client's reliability: ECS's throttling
//! (token buckets, [`super::throttling`]) and injected `ThrottlingException`,
//! `ServerException` and latency per operation at a rate (seeded), plus
//! killing a task's essential container or a whole container instance.

use serde_json::Value;

use super::deployments::reconcile;
use super::error::{EcsError, EcsResult};
use super::lifecycle::{request_stop, settle, stop_at_once};
use super::progress::ESSENTIAL_EXITED;
use super::protocol::to_value;
use super::state::{Change, Store, lock};

/// Makes a task's essential containers exit with `exit_code`, as if the
/// process had died: the task stops with `EssentialContainerExited` and its
/// service replaces it.
pub fn kill_task(store: &Store, cluster: Option<&str>, id: &str, exit_code: i32) -> EcsResult<Value> {
    let cell = store.find_cluster(cluster)?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let now = store.now();
    let name = state.name().to_owned();
    let mut task = state.tasks.get_mut(id).ok_or_else(|| EcsError::invalid("The referenced task was not found."))?;
    if task.is_stopped() || task.task.desired_status == "STOPPED" {
        return Err(EcsError::invalid("The task is already stopping or stopped."));
    }
    let essential: Vec<String> = {
        let registry = super::state::read(&store.task_definitions);
        let td = super::task_definitions::resolve(&registry, &task.task.task_definition_arn);
        task.task
            .containers
            .iter()
            .filter(|c| {
                td.as_ref().is_none_or(|td| {
                    td.task_definition.container_definitions.iter().any(|d| d.name() == c.name && d.is_essential())
                })
            })
            .map(|c| c.name.clone())
            .collect()
    };
    for c in &mut task.task.containers {
        if essential.contains(&c.name) && c.last_status != "STOPPED" {
            c.last_status = "STOPPED".into();
            c.exit_code = Some(exit_code);
        }
    }
    request_stop(&mut task, now, "EssentialContainerExited", ESSENTIAL_EXITED);
    settle(&mut task, now);
    let service = task.service_name.clone();
    let entry = super::state::records::TaskEntry::clone(&task);
    // Re-files the task in the indexes before the service looks at it.
    drop(task);
    let mut changes = store.changes();
    changes.push(|| Change::PutTask { cluster: name.clone(), entry: entry.clone() });
    if let Some(service) = service {
        reconcile(store, &mut state, &service, &mut changes);
    }
    store.persist(changes)?;
    to_value(&entry.task)
}

/// What an injected fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// `ThrottlingException: Rate exceeded` (HTTP 400).
    Throttle,
    /// `ServerException` (HTTP 500), which SDKs retry.
    ServerError,
    /// The answer comes `latencyMillis` later.
    Latency,
}

/// A fault rule (`POST /_emulator/faults`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default)]
    pub id: String,
    /// The ECS operation (e.g. `DescribeServices`); absent or `*` for all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub kind: FaultKind,
    /// The share of matching requests hit, 0–1 (default 1); drawn from the
    /// emulator's generator, so a `--seed` makes the pattern repeatable.
    #[serde(default = "always")]
    pub rate: f64,
    /// Hit only this many requests, then the rule retires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_millis: Option<u64>,
}

fn always() -> f64 {
    1.0
}

impl FaultRule {
    fn applies_to(&self, operation: &str) -> bool {
        self.operation.as_deref().is_none_or(|o| o == "*" || o == operation) && self.count != Some(0)
    }
}

/// The faults in force: rules and, when enabled, ECS's token buckets.
#[derive(Debug, Default)]
pub struct Faults {
    rules: std::sync::Mutex<Vec<FaultRule>>,
    buckets: std::sync::Mutex<Option<super::throttling::Buckets>>,
}

pub const SERVER_ERROR_MESSAGE: &str = "We encountered an internal error. Please try again.";

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        lock(&self.rules).push(rule);
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        lock(&self.rules).clone()
    }

    /// Removes one rule (or all); returns how many went.
    pub fn remove(&self, id: Option<&str>) -> usize {
        let mut rules = lock(&self.rules);
        let before = rules.len();
        match id {
            Some(id) => rules.retain(|r| r.id != id),
            None => rules.clear(),
        }
        before - rules.len()
    }

    pub fn set_throttling(&self, enabled: bool) {
        let mut buckets = lock(&self.buckets);
        match (enabled, buckets.is_some()) {
            (true, false) => *buckets = Some(super::throttling::Buckets::default()),
            (false, _) => *buckets = None,
            _ => {}
        }
    }

    pub fn throttling(&self) -> bool {
        lock(&self.buckets).is_some()
    }

    /// The error an operation gets instead of being served, if any. Call it
    /// with the emulator's generator in scope (`with_rng`).
    pub fn check(&self, operation: &str, now_millis: i64) -> Option<EcsError> {
        if let Some(buckets) = lock(&self.buckets).as_mut()
            && !buckets.take(operation, now_millis)
        {
            return Some(EcsError::new(super::error::ErrorKind::ThrottlingException, "Rate exceeded"));
        }
        let mut rules = lock(&self.rules);
        for rule in rules.iter_mut().filter(|r| r.kind != FaultKind::Latency && r.applies_to(operation)) {
            if super::state::ids::random_unit() >= rule.rate {
                continue;
            }
            if let Some(n) = &mut rule.count {
                *n -= 1;
            }
            return Some(match rule.kind {
                FaultKind::Throttle => EcsError::new(super::error::ErrorKind::ThrottlingException, "Rate exceeded"),
                _ => EcsError::server(SERVER_ERROR_MESSAGE),
            });
        }
        None
    }

    /// Extra latency for an operation, if a latency rule hits it.
    pub fn latency(&self, operation: &str) -> Option<std::time::Duration> {
        let mut rules = lock(&self.rules);
        let rule = rules.iter_mut().find(|r| {
            r.kind == FaultKind::Latency && r.applies_to(operation) && super::state::ids::random_unit() < r.rate
        })?;
        if let Some(n) = &mut rule.count {
            *n -= 1;
        }
        Some(std::time::Duration::from_millis(rule.latency_millis.unwrap_or(0)))
    }
}

/// Simulates the loss of a container instance's host (EC2 instance
/// terminated): the instance turns INACTIVE with its agent disconnected and
/// its tasks stop (`InfrastructureHealth`); services start replacements on
/// other instances.
pub fn kill_instance(store: &Store, cluster: Option<&str>, id: &str) -> EcsResult<Value> {
    let cell = store.find_cluster(cluster)?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let now = store.now();
    let name = state.name().to_owned();
    let Some(entry) = state.container_instances.get_mut(id).filter(|e| e.instance.status != "INACTIVE") else {
        return Err(EcsError::invalid("The referenced container instance was not found."));
    };
    entry.instance.status = "INACTIVE".into();
    entry.instance.agent_connected = false;
    entry.instance.version += 1;
    let ec2 = entry.instance.ec2_instance_id.clone();
    let instance = entry.clone();
    let mut changes = store.changes();
    changes.push(|| Change::PutContainerInstance { cluster: name.clone(), entry: instance.clone() });
    let reason = format!("Host EC2 (instance {ec2}) stopped/terminated.");
    let on_it: Vec<String> = state
        .tasks
        .iter()
        .filter(|(_, t)| t.container_instance_id.as_deref() == Some(id) && !t.is_stopped())
        .map(|(k, _)| k.clone())
        .collect();
    for task_id in &on_it {
        if let Some(mut t) = state.tasks.get_mut(task_id) {
            request_stop(&mut t, now, "InfrastructureHealth", &reason);
            stop_at_once(&mut t, now);
            let entry = t.clone();
            changes.push(|| Change::PutTask { cluster: name.clone(), entry });
        }
    }
    super::services::reconcile_all(store, &mut state, &mut changes);
    store.persist(changes)?;
    to_value(&instance.instance)
}
