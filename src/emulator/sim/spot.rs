//! Fargate Spot interruptions (`POST /_emulator/spot/interrupt`), the test
//! hook standing in for AWS reclaiming Spot capacity.
//!
//! As in ECS, the warning comes first: the task is told to stop at once
//! (desiredStatus STOPPED, stopCode `SpotInterruption`, stoppedReason `Your
//! Spot Task was interrupted.`, SIGTERM), so its service starts a
//! replacement right away, following its capacity provider strategy; the
//! task itself keeps RUNNING through the two-minute warning
//! ([`crate::emulator::timings::Timings::spot_warning`]) and only then goes through
//! DEACTIVATING → ... → STOPPED. Interruptions happen after RUNNING, so
//! they are not circuit-breaker failures and cause no back-off.

use serde_json::{Value, json};

use crate::emulator::sim::deployments::reconcile;
use crate::emulator::sim::lifecycle::request_stop;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Store, lock};
use crate::emulator::wire::codec::to_value;
use crate::emulator::wire::error::{EcsError, EcsResult};

pub const STOP_CODE: &str = "SpotInterruption";
pub const STOPPED_REASON: &str = "Your Spot Task was interrupted.";
pub const PROVIDER: &str = "FARGATE_SPOT";

/// Which tasks to interrupt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// This task (id or ARN's id), which must be a RUNNING Spot task.
    Task(String),
    /// The oldest `n` RUNNING Spot tasks of the cluster.
    Count(usize),
}

fn interruptible(t: &TaskEntry) -> bool {
    t.task.capacity_provider_name.as_deref() == Some(PROVIDER)
        && t.task.last_status == "RUNNING"
        && t.task.desired_status == "RUNNING"
}

/// What a task runs on, for error messages.
fn runs_on(t: &TaskEntry) -> String {
    match (&t.task.capacity_provider_name, &t.task.launch_type) {
        (Some(p), _) => format!("capacity provider {p}"),
        (None, Some(l)) => format!("launch type {l}"),
        (None, None) => "no capacity provider".into(),
    }
}

/// Warns the chosen Spot tasks of `cluster` and has their services replace
/// them; they stop `warning_millis` later. Answers the tasks as
/// DescribeTasks would show them now.
pub fn interrupt(store: &Store, cluster: Option<&str>, target: &Target, warning_millis: i64) -> EcsResult<Value> {
    let cell = store.find_cluster(cluster)?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let now = store.now();
    let name = state.name().to_owned();
    let ids: Vec<String> = match target {
        Target::Task(id) => {
            let t = state.tasks.get(id).ok_or_else(|| EcsError::invalid("The referenced task was not found."))?;
            if t.task.capacity_provider_name.as_deref() != Some(PROVIDER) {
                return Err(EcsError::invalid(format!(
                    "Task {id} runs on {}, not on FARGATE_SPOT: only Fargate Spot tasks can be interrupted.",
                    runs_on(t)
                )));
            }
            if !interruptible(t) {
                return Err(EcsError::invalid(format!(
                    "Task {id} is {} (desired {}): only RUNNING Fargate Spot tasks can be interrupted.",
                    t.task.last_status, t.task.desired_status
                )));
            }
            vec![id.clone()]
        }
        Target::Count(n) => {
            let mut candidates: Vec<(&str, &TaskEntry)> =
                state.tasks.iter().filter(|(_, t)| interruptible(t)).collect();
            if candidates.is_empty() {
                return Err(EcsError::invalid(format!(
                    "Cluster {name} has no RUNNING FARGATE_SPOT task to interrupt."
                )));
            }
            candidates.sort_by(|a, b| (a.1.task.created_at, a.0).cmp(&(b.1.task.created_at, b.0)));
            candidates.into_iter().take(*n).map(|(id, _)| id.to_owned()).collect()
        }
    };
    let until = Timestamp(now.0.saturating_add(warning_millis.max(0)));
    let mut changes = store.changes();
    let mut services: Vec<String> = Vec::new();
    let mut interrupted: Vec<(String, String, String)> = Vec::new();
    for id in &ids {
        let Some(mut t) = state.tasks.get_mut(id) else { continue };
        request_stop(&mut t, now, STOP_CODE, STOPPED_REASON);
        t.spot_warning_until = Some(until);
        t.due = Some(until);
        let entry = t.clone();
        changes.push(|| Change::PutTask { cluster: name.clone(), entry: entry.clone() });
        if let Some(service) = &t.service_name {
            interrupted.push((
                service.to_string(),
                t.task.started_by.as_deref().unwrap_or_default().to_owned(),
                id.clone(),
            ));
            if !services.iter().any(|s| **s == **service) {
                services.push(service.to_string());
            }
        }
    }
    for (service, deployment, task) in &interrupted {
        if let Some(entry) = state.services.get_mut(service) {
            super::timeline::note_spot(entry, deployment, task, STOPPED_REASON, now);
        }
    }
    for service in &services {
        reconcile(store, &mut state, service, &mut changes);
    }
    let tasks = ids
        .iter()
        .filter_map(|id| state.tasks.get(id))
        .map(|t| to_value(&t.task))
        .collect::<EcsResult<Vec<Value>>>()?;
    store.persist(changes)?;
    Ok(json!({ "tasks": tasks, "stopsAt": until }))
}
