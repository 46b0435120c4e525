//! Fault injection for testing a client's reliability: killing a task's
//! essential container (and, later in this module, instances, throttling,
//! server errors and latency).

use serde_json::Value;

use super::deployments::reconcile;
use super::error::{EcsError, EcsResult};
use super::lifecycle::{request_stop, settle};
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
    let task = state.tasks.get_mut(id).ok_or_else(|| EcsError::invalid("The referenced task was not found."))?;
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
    request_stop(task, now, "EssentialContainerExited", ESSENTIAL_EXITED);
    settle(task, now);
    let service = task.service_name.clone();
    let entry = task.clone();
    let mut changes = store.changes();
    changes.push(|| Change::PutTask { cluster: name.clone(), entry: entry.clone() });
    if let Some(service) = service {
        reconcile(store, &mut state, &service, &mut changes);
    }
    store.persist(changes)?;
    to_value(&entry.task)
}
