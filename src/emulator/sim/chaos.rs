//! What the admin endpoints do to the simulation, standing in for the
//! accidents of a real fleet: a task's essential container dying, a host
//! lost, a CloudWatch alarm going off. Each acts under the cluster's lock and
//! lets the affected services react at once, as ECS would.

use serde_json::Value;

use crate::emulator::sim::alarms;
use crate::emulator::sim::blue_green;
use crate::emulator::sim::deployments::{reconcile, reconcile_all};
use crate::emulator::sim::lifecycle::{request_stop, settle, stop_at_once};
use crate::emulator::sim::progress::ESSENTIAL_EXITED;
use crate::emulator::state::alarms::AlarmState;
use crate::emulator::state::records::{HookRun, TaskEntry};
use crate::emulator::state::{Change, Store, lock, read};
use crate::emulator::wire::codec::to_value;
use crate::emulator::wire::error::{EcsError, EcsResult};

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
    let essential: Vec<std::sync::Arc<str>> = {
        let registry = read(&store.task_definitions);
        let td = registry.resolve(&task.task.task_definition_arn);
        task.task
            .containers
            .iter()
            .filter(|c| {
                td.as_ref().is_none_or(|td| {
                    td.task_definition.container_definitions.iter().any(|d| d.name() == &*c.name && d.is_essential())
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
    let entry = TaskEntry::clone(&task);
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
        .map(|(k, _)| k.to_owned())
        .collect();
    for task_id in &on_it {
        if let Some(mut t) = state.tasks.get_mut(task_id) {
            request_stop(&mut t, now, "InfrastructureHealth", &reason);
            stop_at_once(&mut t, now);
            let entry = t.clone();
            changes.push(|| Change::PutTask { cluster: name.clone(), entry });
        }
    }
    reconcile_all(store, &mut state, &mut changes);
    store.persist(changes)?;
    to_value(&instance.instance)
}

/// Sets an alarm's state and, when it goes into ALARM, has every service
/// watching it look at once. Returns how many services were looked at.
pub fn set_alarm_state(store: &Store, name: &str, state: AlarmState) -> EcsResult<usize> {
    store.alarms.set(name, state);
    if state != AlarmState::Alarm {
        return Ok(0);
    }
    let mut looked = 0;
    for (_, cell) in store.all_clusters() {
        let mut cluster = lock(&cell);
        if !cluster.is_active() {
            continue;
        }
        let watching: Vec<String> = cluster
            .services
            .values()
            .filter(|e| {
                e.service.status == "ACTIVE"
                    && alarms::enabled(&e.service).is_some_and(|a| a.alarm_names.iter().any(|n| n == name))
            })
            .map(|e| e.service.service_name.clone())
            .collect();
        let mut changes = store.changes();
        for service in &watching {
            reconcile(store, &mut cluster, service, &mut changes);
            looked += 1;
        }
        store.persist(changes)?;
    }
    Ok(looked)
}

/// What a Lambda hook function would return as `hookStatus`, given through
/// `POST /_emulator/lifecycle-hooks` to the AWS_LAMBDA hooks that `service`
/// waits at (those matching `hook`, an id or function ARN, when given).
pub fn lambda_verdict(
    store: &Store,
    cluster: Option<&str>,
    service: &str,
    hook: Option<&str>,
    succeeded: bool,
) -> Result<Vec<HookRun>, blue_green::VerdictError> {
    let cell = store.find_cluster(cluster)?;
    let mut state = lock(&cell);
    let mut changes = store.changes();
    let verdict = blue_green::Verdict { service, deployment: None, kind: "AWS_LAMBDA", hook, succeeded };
    let decided = blue_green::decide(&mut state, &verdict)?;
    reconcile(store, &mut state, service, &mut changes);
    store.persist(changes)?;
    Ok(decided)
}
