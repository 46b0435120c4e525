//! What the agent saw its containers do, written into the task as the
//! simulation's own facts (the ECS agent's SubmitTaskStateChange, in effect):
//! a pull that failed is the `cannotPull` fate, a container that exited is an
//! exit fate at the moment it exited, so [`crate::emulator::sim::progress`]
//! moves the task on, and the scheduler and circuit breaker judge it, exactly
//! as they judge the simulated failure rules. Each report sets `due` to now,
//! so the next tick acts on it.

use std::net::Ipv4Addr;

use serde_json::{Value, json};

use crate::emulator::docker::{Binding, Health};
use crate::emulator::rules::awsvpc::private_dns_name;
use crate::emulator::state::addresses::ENI;
use crate::emulator::state::records::{Fate, TaskEntry, Timestamp};
use crate::emulator::state::{Change, Store, lock};

/// Whether the task still wants the containers the agent reports on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Keep,
    /// The task is gone or stopping before it ran: remove them.
    Discard,
}

/// A container the agent started: its name in the task, its id, its ports,
/// and under awsvpc its address (the task's, for the first container).
pub struct Started {
    pub name: String,
    pub id: String,
    pub bindings: Vec<Binding>,
    pub address: Option<Ipv4Addr>,
}

/// Why a task's containers could not start.
pub enum LaunchFailure {
    /// The image could not be pulled.
    Pull { container: String },
    /// The engine refused to create or start the container.
    Start { container: String, message: String },
    /// What the container needs is missing (its log group): ECS's
    /// `ResourceInitializationError`.
    Init { container: String, reason: String },
}

/// Applies `f` to a task of `cluster` and journals it; `None` when the task
/// (or its cluster) is gone.
fn with_task<R>(
    store: &Store,
    cluster: &str,
    task_id: &str,
    f: impl FnOnce(&mut TaskEntry, Timestamp) -> R,
) -> Option<R> {
    let cell = store.cluster(cluster)?;
    let mut state = lock(&cell);
    let now = store.now();
    let name = state.name().to_owned();
    let mut task = state.tasks.get_mut(task_id)?;
    let result = f(&mut task, now);
    let entry = TaskEntry::clone(&task);
    drop(task);
    let mut changes = store.changes();
    changes.push(|| Change::PutTask { cluster: name, entry });
    if let Err(e) = store.persist(changes) {
        tracing::warn!(error = %e, task = task_id, "could not persist the agent's report");
    }
    Some(result)
}

fn waiting_to_start(entry: &TaskEntry) -> bool {
    entry.task.last_status == "PENDING" && entry.task.desired_status == "RUNNING"
}

/// The images are pulled and the containers run: the task may move on to
/// ACTIVATING and RUNNING.
pub fn started(
    store: &Store,
    cluster: &str,
    task_id: &str,
    pull_started: Timestamp,
    containers: &[Started],
) -> Verdict {
    with_task(store, cluster, task_id, |entry, now| {
        if !waiting_to_start(entry) {
            return Verdict::Discard;
        }
        entry.task.pull_started_at = Some(pull_started);
        for c in &mut entry.task.containers {
            let Some(run) = containers.iter().find(|s| *s.name == *c.name) else { continue };
            c.runtime_id = Some(run.id.clone());
            c.network_bindings = run
                .bindings
                .iter()
                .map(|b| {
                    json!({
                        "bindIP": b.host_ip,
                        "containerPort": b.container_port,
                        "hostPort": b.host_port,
                        "protocol": b.protocol,
                    })
                })
                .collect();
        }
        if let Some(ip) = containers.iter().find_map(|s| s.address) {
            real_address(entry, ip, &store.arns.region);
        }
        entry.due = Some(now);
        Verdict::Keep
    })
    .unwrap_or(Verdict::Discard)
}

/// An awsvpc task's ENI takes the address its containers really have on
/// the cluster's Docker network, where the simulation gave one from the
/// subnet: the attachment's `privateIPv4Address` and `privateDnsName`, and
/// each container's `networkInterfaces`.
fn real_address(entry: &mut TaskEntry, ip: Ipv4Addr, region: &str) {
    let Some(eni) = entry.task.attachments.iter_mut().find(|a| a.kind == ENI) else {
        return;
    };
    for d in &mut eni.details {
        let value = match d.name.as_deref() {
            Some("privateIPv4Address") => ip.to_string(),
            Some("privateDnsName") => private_dns_name(region, ip),
            _ => continue,
        };
        d.value = Some(value);
    }
    for c in &mut entry.task.containers {
        for interface in &mut c.network_interfaces {
            interface["privateIpv4Address"] = Value::String(ip.to_string());
        }
    }
}

/// The task could not start: it stops from PENDING as ECS stops it.
pub fn failed(store: &Store, cluster: &str, task_id: &str, pull_started: Timestamp, failure: &LaunchFailure) {
    with_task(store, cluster, task_id, |entry, now| {
        if !waiting_to_start(entry) {
            return;
        }
        entry.task.pull_started_at = Some(pull_started);
        let (container, fate) = match failure {
            LaunchFailure::Pull { container } => (container, Fate { cannot_pull: true, ..fate_for(container) }),
            LaunchFailure::Start { container, message } => {
                let reason = format!("CannotStartContainerError: {message}");
                if let Some(c) = entry.task.containers.iter_mut().find(|c| *c.name == **container) {
                    c.reason = Some(reason.clone());
                }
                (container, Fate { start_failure: Some(reason), ..fate_for(container) })
            }
            LaunchFailure::Init { container, reason } => {
                (container, Fate { start_failure: Some(reason.clone()), ..fate_for(container) })
            }
        };
        entry.fates.retain(|f| &f.container != container);
        entry.fates.push(fate);
        entry.due = Some(now);
    });
}

fn fate_for(container: &str) -> Fate {
    Fate { container: container.to_owned(), ..Fate::default() }
}

/// The engine judged a container's health check: the container's
/// `healthStatus`, from which the lifecycle derives the task's.
pub fn health(store: &Store, cluster: &str, task_id: &str, container: &str, health: Health) {
    with_task(store, cluster, task_id, |entry, now| {
        let status = match health {
            Health::Starting => "UNKNOWN",
            Health::Healthy => "HEALTHY",
            Health::Unhealthy => "UNHEALTHY",
        };
        if let Some(c) = entry.task.containers.iter_mut().find(|c| *c.name == *container && c.last_status != "STOPPED")
        {
            c.health_status = status.into();
        }
        if entry.task.last_status == "RUNNING" {
            entry.due = Some(now);
        }
    });
}

/// A container of the task is gone (removed while the emulator was down):
/// it counts as killed, with the reason.
pub fn gone(store: &Store, cluster: &str, task_id: &str, container: &str) {
    with_task(store, cluster, task_id, |entry, _| {
        if let Some(c) = entry.task.containers.iter_mut().find(|c| *c.name == *container) {
            c.reason = Some("The container is gone: it was removed while the emulator was not running.".into());
        }
    });
    exited(store, cluster, task_id, container, 137);
}

/// A container exited with `code`. While the task is stopping that is the
/// stop going through; otherwise the container died, and the task's
/// lifecycle decides what that means (an essential container stops it).
pub fn exited(store: &Store, cluster: &str, task_id: &str, container: &str, code: i32) {
    with_task(store, cluster, task_id, |entry, now| {
        if entry.task.desired_status == "STOPPED" || entry.is_stopped() {
            if let Some(c) = entry.task.containers.iter_mut().find(|c| *c.name == *container) {
                if c.last_status != "STOPPED" {
                    c.last_status = "STOPPED".into();
                }
                c.exit_code.get_or_insert(code);
            }
            let all_stopped = entry.task.containers.iter().all(|c| c.last_status == "STOPPED");
            if all_stopped && entry.task.last_status == "STOPPING" {
                entry.due = Some(now);
            }
            return;
        }
        // Before the task ran, an exit is a failed start (no `exit_after`);
        // after, it is an exit at this moment of the task's run.
        let exit_after = entry.task.started_at.map(|at| (now.0 - at.0).max(0));
        entry.fates.retain(|f| f.container != container);
        entry.fates.push(Fate { exit_code: Some(code), exit_after, ..fate_for(container) });
        if matches!(entry.task.last_status.as_str(), "ACTIVATING" | "RUNNING") {
            entry.due = Some(now);
        }
    });
}
