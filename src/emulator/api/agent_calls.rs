//! The ECS agent's own calls: DiscoverPollEndpoint, SubmitTaskStateChange,
//! SubmitContainerStateChange, SubmitAttachmentStateChanges and
//! UpdateContainerAgent, answered as ECS answers them for the instances the
//! emulator simulates.
//!
//! The emulator's scheduler (or its Docker runtime) owns every task's
//! state, so a submitted state change is checked (the cluster, the task, the
//! container must exist) and acknowledged, never applied: an outside agent
//! cannot move a simulated task.
//!
//! UpdateContainerAgent: a simulated agent registers with a version (the
//! emulator's instances report `agentVersion` 1.90.0 unless registration
//! says otherwise) and is, by construction, the newest agent there is, so ECS's
//! answer is `NoUpdateAvailableException`. An instance registered with a
//! `versionInfo` that names no `agentVersion` gives ECS nothing to update
//! from: `MissingVersionException`, as for a custom agent on a
//! non-ECS-optimized AMI.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::state::ids::id_of;
use crate::emulator::state::{ClusterState, Store, lock};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};

/// What every Submit* call answers when it accepts a report.
fn accepted() -> Value {
    json!({ "acknowledgment": "ACCEPT" })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DiscoverInput {
    #[allow(dead_code)]
    container_instance: Option<String>,
    #[allow(dead_code)]
    cluster: Option<String>,
}

/// The endpoints ECS gives an agent in this region (ECS's host names; the
/// number in them picks a backend cell, and any is as good as another here).
pub fn discover_poll_endpoint(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let _: DiscoverInput = parse(body)?;
    let region = &store.arns.region;
    Ok(json!({
        "endpoint": format!("https://ecs-a-1.{region}.amazonaws.com/"),
        "telemetryEndpoint": format!("https://ecs-t-1.{region}.amazonaws.com/"),
        "serviceConnectEndpoint": format!("https://ecs-sc.{region}.api.aws"),
    }))
}

/// Checks that `task` is a task of the cluster; returns its id.
fn known_task<'a>(state: &ClusterState, task: &'a str) -> EcsResult<&'a str> {
    let id = id_of(task);
    if state.tasks.get(id).is_none() {
        return Err(EcsError::invalid("The referenced task was not found."));
    }
    Ok(id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskStateChangeInput {
    cluster: Option<String>,
    task: Option<String>,
    #[allow(dead_code)]
    status: Option<String>,
    #[allow(dead_code)]
    reason: Option<String>,
    #[allow(dead_code)]
    containers: Option<Vec<Value>>,
    attachments: Option<Vec<AttachmentStateChange>>,
    #[allow(dead_code)]
    managed_agents: Option<Vec<Value>>,
    #[allow(dead_code)]
    pull_started_at: Option<Value>,
    #[allow(dead_code)]
    pull_stopped_at: Option<Value>,
    #[allow(dead_code)]
    execution_stopped_at: Option<Value>,
}

pub fn submit_task_state_change(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TaskStateChangeInput = parse(body)?;
    check_attachments(input.attachments.as_deref().unwrap_or_default())?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    if let Some(task) = &input.task {
        known_task(&state, task)?;
    }
    Ok(accepted())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStateChangeInput {
    cluster: Option<String>,
    task: Option<String>,
    container_name: Option<String>,
    #[allow(dead_code)]
    runtime_id: Option<String>,
    #[allow(dead_code)]
    status: Option<String>,
    #[allow(dead_code)]
    exit_code: Option<i32>,
    #[allow(dead_code)]
    reason: Option<String>,
    #[allow(dead_code)]
    network_bindings: Option<Vec<Value>>,
}

pub fn submit_container_state_change(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ContainerStateChangeInput = parse(body)?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    if let Some(task) = &input.task {
        let id = known_task(&state, task)?;
        if let Some(name) = &input.container_name
            && !state.tasks.get(id).is_some_and(|t| t.task.containers.iter().any(|c| *c.name == **name))
        {
            return Err(EcsError::invalid(format!("The task has no container named '{name}'.")));
        }
    }
    Ok(accepted())
}

/// `{attachmentArn, status}`, both required by ECS's model.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentStateChange {
    attachment_arn: Option<String>,
    status: Option<String>,
}

fn check_attachments(attachments: &[AttachmentStateChange]) -> EcsResult<()> {
    for a in attachments {
        required(a.attachment_arn.as_deref(), "attachmentArn")?;
        required(a.status.as_deref(), "status")?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentStateChangesInput {
    cluster: Option<String>,
    attachments: Option<Vec<AttachmentStateChange>>,
}

pub fn submit_attachment_state_changes(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: AttachmentStateChangesInput = parse(body)?;
    let attachments = required(input.attachments, "attachments")?;
    check_attachments(&attachments)?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    lock(&cell).ensure_active()?;
    Ok(accepted())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateAgentInput {
    cluster: Option<String>,
    container_instance: Option<String>,
}

pub fn update_container_agent(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateAgentInput = parse(body)?;
    let reference = required(input.container_instance, "containerInstance")?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let entry = state
        .container_instances
        .get(id_of(&reference))
        .filter(|e| e.instance.status != "INACTIVE")
        .ok_or_else(|| EcsError::invalid("The referenced container instance was not found."))?;
    let version = entry.instance.version_info.as_ref().and_then(|v| v.get("agentVersion")).and_then(Value::as_str);
    match version {
        Some(_) => Err(EcsError::new(
            ErrorKind::NoUpdateAvailableException,
            "There is no update available for your container agent.",
        )),
        None => Err(EcsError::new(
            ErrorKind::MissingVersionException,
            "Amazon ECS cannot determine the version of the container agent on this container instance.",
        )),
    }
}
