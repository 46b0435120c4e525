//! ExecuteCommand: the checks ECS makes before it opens a Session Manager
//! session into a container, and its answer for a valid target.
//!
//! No Session Manager stream is served: the answer's `session` names a
//! session the emulator made up (a `streamUrl` in Session Manager's format
//! and an opaque token), so a client that only calls the API sees ECS's
//! answer, and the Session Manager plugin, which would connect to the
//! stream, cannot.

use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::state::ids::{hex32, id_of};
use crate::emulator::state::{Store, lock};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};

/// ECS's answer when the task was not run with `enableExecuteCommand` or
/// its execute-command agent is not running (the task is not RUNNING).
pub const NOT_ENABLED: &str = "The execute command failed because execute command was not enabled when the task was run or the execute command agent isn't running. Wait and try the request again or run a new task with execute command enabled and try again.";

/// ECS's answer when the container's agent cannot be reached.
pub const NOT_CONNECTED: &str = "The execute command failed due to an internal error. Try again later.";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    cluster: Option<String>,
    container: Option<String>,
    command: Option<String>,
    interactive: Option<bool>,
    task: Option<String>,
}

pub fn execute_command(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: Input = parse(body)?;
    let command = required(input.command, "command")?;
    let interactive = required(input.interactive, "interactive")?;
    let task = required(input.task, "task")?;
    if command.is_empty() {
        return Err(EcsError::invalid("The command cannot be empty."));
    }
    if !interactive {
        return Err(EcsError::invalid("Interactive is the only mode supported currently."));
    }
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let entry = state
        .tasks
        .get(id_of(&task))
        .ok_or_else(|| EcsError::invalid(format!("The task '{task}' was not found in the cluster.")))?;
    let t = &entry.task;
    if !t.enable_execute_command || t.last_status != "RUNNING" {
        return Err(EcsError::invalid(NOT_ENABLED));
    }
    let container = match (&input.container, t.containers.as_slice()) {
        (None, [only]) => only,
        (None, _) => {
            return Err(EcsError::invalid(
                "The task has more than one container: specify the container to execute the command on.",
            ));
        }
        (Some(name), all) => all
            .iter()
            .find(|c| *c.name == **name)
            .ok_or_else(|| EcsError::invalid(format!("The container '{name}' was not found in the task.")))?,
    };
    if container.last_status != "RUNNING" {
        return Err(EcsError::new(ErrorKind::TargetNotConnectedException, NOT_CONNECTED));
    }
    let session_id = format!("ecs-execute-command-{}", &hex32()[..17]);
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{}{}{}", hex32(), hex32(), hex32()));
    Ok(json!({
        "clusterArn": t.cluster_arn,
        "containerArn": container.container_arn,
        "containerName": &*container.name,
        "interactive": true,
        "session": {
            "sessionId": session_id,
            "streamUrl": format!(
                "wss://ssmmessages.{}.amazonaws.com/v1/data-channel/{session_id}?role=publish_subscribe&cell-number=AAEAAQ",
                store.arns.region
            ),
            "tokenValue": token,
        },
        "taskArn": t.task_arn,
    }))
}
