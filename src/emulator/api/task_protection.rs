//! Task scale-in protection: UpdateTaskProtection, GetTaskProtection.
//!
//! Only a service's tasks can be protected (a standalone task is
//! `TASK_NOT_VALID`, as the API reference says). Protection lasts
//! `expiresInMinutes` (default 120, at most 2880) on the emulator's clock, so
//! the manual clock can let it run out; while it lasts, lowering the
//! service's desired count never picks the task (see `sim::deployments`).
//! Turning protection off lets the service finish a scale-in it had to
//! leave undone, at once.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::emulator::sim::deployments::reconcile;
use crate::emulator::state::ids::id_of;
use crate::emulator::state::records::{Failure, Timestamp};
use crate::emulator::state::{Change, ClusterState, Store, lock};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, required};

/// ECS's default protection period, in minutes.
const DEFAULT_MINUTES: i32 = 120;
/// The longest protection ECS grants (48 hours), in minutes.
const MAX_MINUTES: i32 = 2880;

/// ECS's `ProtectedTask` shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProtectedTask {
    task_arn: String,
    protection_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration_date: Option<Timestamp>,
}

/// A task the request names, or why it cannot be protected.
enum Lookup {
    /// A live task of a service: its id and ARN.
    Service {
        id: String,
        arn: String,
    },
    Refused(Failure),
}

fn look_up(store: &Store, state: &ClusterState, reference: &str) -> Lookup {
    let id = id_of(reference);
    let Some(entry) = state.tasks.get(id) else {
        let arn = if reference.starts_with("arn:") { reference.to_owned() } else { store.arns.task(state.name(), id) };
        return Lookup::Refused(Failure { arn, reason: "MISSING".into(), detail: None });
    };
    let arn = entry.task.task_arn.clone();
    if entry.service_name.is_none() {
        let detail = Some("Task protection is only supported for tasks that belong to an ECS service.".into());
        return Lookup::Refused(Failure { arn, reason: "TASK_NOT_VALID".into(), detail });
    }
    if entry.task.desired_status != "RUNNING" {
        let detail = Some("The task is stopping or stopped.".into());
        return Lookup::Refused(Failure { arn, reason: "TASK_NOT_VALID".into(), detail });
    }
    Lookup::Service { id: id.to_owned(), arn }
}

fn shown(state: &ClusterState, id: &str, arn: String, now: Timestamp) -> ProtectedTask {
    let until = state.protected_until(id, now);
    ProtectedTask { task_arn: arn, protection_enabled: until.is_some(), expiration_date: until }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    cluster: Option<String>,
    tasks: Option<Vec<String>>,
    protection_enabled: Option<bool>,
    expires_in_minutes: Option<i32>,
}

pub fn update_task_protection(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateInput = parse(body)?;
    let cluster = required(input.cluster, "cluster")?;
    let references = required(input.tasks, "tasks")?;
    let enabled = required(input.protection_enabled, "protectionEnabled")?;
    if references.is_empty() || references.len() > 10 {
        return Err(EcsError::invalid("tasks must contain between 1 and 10 task IDs or ARNs."));
    }
    let minutes = input.expires_in_minutes.unwrap_or(DEFAULT_MINUTES);
    if enabled && !(1..=MAX_MINUTES).contains(&minutes) {
        return Err(EcsError::invalid(format!(
            "expiresInMinutes must be between 1 and {MAX_MINUTES} (48 hours), got {minutes}."
        )));
    }
    let cell = store.find_cluster(Some(&cluster))?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let now = store.now();
    let name = state.name().to_owned();
    let mut changes = store.changes();
    // Entries of tasks that are gone, stopping or past their expiry protect
    // nothing: they go with the next write.
    let stale: Vec<String> =
        state.task_protection.keys().filter(|id| state.protected_until(id, now).is_none()).cloned().collect();
    for id in stale {
        state.task_protection.remove(&id);
        changes.push(|| Change::PutTaskProtection { cluster: name.clone(), id, expires_at: None });
    }
    let expires_at = enabled.then(|| Timestamp(now.0 + i64::from(minutes) * 60_000));
    let mut protected = Vec::new();
    let mut failures = Vec::new();
    let mut services = Vec::new();
    for reference in &references {
        let (id, arn) = match look_up(store, &state, reference) {
            Lookup::Service { id, arn } => (id, arn),
            Lookup::Refused(failure) => {
                failures.push(failure);
                continue;
            }
        };
        match expires_at {
            Some(at) => state.task_protection.insert(id.clone(), at),
            None => state.task_protection.remove(&id),
        };
        changes.push(|| Change::PutTaskProtection { cluster: name.clone(), id: id.clone(), expires_at });
        if let Some(service) = state.tasks.get(&id).and_then(|t| t.service_name.clone()) {
            services.push(service);
        }
        protected.push(shown(&state, &id, arn, now));
    }
    if !enabled {
        // A scale-in held back by these tasks can go on now.
        services.sort();
        services.dedup();
        for service in services {
            reconcile(store, &mut state, &service, &mut changes);
        }
    }
    store.persist(changes)?;
    Ok(json!({ "protectedTasks": to_value(&protected)?, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetInput {
    cluster: Option<String>,
    tasks: Option<Vec<String>>,
}

/// The protection of the named tasks. Without `tasks` (ECS documents no
/// answer for that case) it lists the cluster's tasks that are protected.
pub fn get_task_protection(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GetInput = parse(body)?;
    let cluster = required(input.cluster, "cluster")?;
    if input.tasks.as_ref().is_some_and(|t| t.len() > 100) {
        return Err(EcsError::invalid("tasks can contain at most 100 task IDs or ARNs."));
    }
    let cell = store.find_cluster(Some(&cluster))?;
    let state = lock(&cell);
    state.ensure_active()?;
    let now = store.now();
    let references = input.tasks.unwrap_or_else(|| {
        state.task_protection.keys().filter(|id| state.protected_until(id, now).is_some()).cloned().collect()
    });
    let mut protected = Vec::new();
    let mut failures = Vec::new();
    for reference in &references {
        match look_up(store, &state, reference) {
            Lookup::Service { id, arn } => protected.push(shown(&state, &id, arn, now)),
            Lookup::Refused(failure) => failures.push(failure),
        }
    }
    Ok(json!({ "protectedTasks": to_value(&protected)?, "failures": failures }))
}
