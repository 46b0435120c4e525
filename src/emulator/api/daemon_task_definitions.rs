//! Daemon task definitions: RegisterDaemonTaskDefinition,
//! DescribeDaemonTaskDefinition, ListDaemonTaskDefinitions,
//! DeleteDaemonTaskDefinition.
//!
//! A daemon task definition is checked by the rules of an EC2 task
//! definition with its containers (names, images, sizes, volumes), since a
//! daemon task runs as one. Revisions count up per family; a deleted
//! revision keeps its number. Deleting a revision a daemon still runs puts
//! it in DELETE_IN_PROGRESS; it becomes DELETED once no daemon uses it.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::validation::{check_enum, check_tags, check_task_definition};
use crate::emulator::state::Store;
use crate::emulator::state::daemons::{DaemonChange, DaemonTaskDefinition};
use crate::emulator::state::records::{ContainerDefinition, Tag};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

/// The namespace modes a daemon task takes.
const NAMESPACE_MODES: &[&str] = &["none", "shared"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterInput {
    family: Option<String>,
    task_role_arn: Option<String>,
    execution_role_arn: Option<String>,
    container_definitions: Option<Vec<ContainerDefinition>>,
    cpu: Option<String>,
    memory: Option<String>,
    volumes: Option<Vec<Value>>,
    tags: Option<Vec<Tag>>,
    pid_mode: Option<String>,
    ipc_mode: Option<String>,
}

pub fn register_daemon_task_definition(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: RegisterInput = parse(body)?;
    let family = required(input.family, "family")?;
    let containers = required(input.container_definitions, "containerDefinitions")?;
    if containers.is_empty() {
        return Err(EcsError::client("Container list cannot be empty."));
    }
    check_enum(input.pid_mode.as_deref(), NAMESPACE_MODES, "pidMode")?;
    check_enum(input.ipc_mode.as_deref(), NAMESPACE_MODES, "ipcMode")?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let now = store.now();
    store.change_daemons(|records, _| {
        let revision = records.task_definitions.get(&family).and_then(|r| r.keys().next_back()).map_or(1, |r| r + 1);
        let mut definition = DaemonTaskDefinition {
            daemon_task_definition_arn: store.arns.resource(&format!("daemon-task-definition/{family}:{revision}")),
            family: family.clone(),
            revision,
            task_role_arn: input.task_role_arn,
            execution_role_arn: input.execution_role_arn,
            container_definitions: containers,
            volumes: input.volumes.unwrap_or_default(),
            cpu: input.cpu,
            memory: input.memory,
            status: "ACTIVE".into(),
            registered_at: now,
            delete_requested_at: None,
            registered_by: store.arns.registered_by(),
            pid_mode: input.pid_mode,
            ipc_mode: input.ipc_mode,
            tags,
        };
        // Checked as the task definition its tasks run, and kept as
        // normalised there (sizes in units, container defaults).
        let mut checked = definition.as_task_definition();
        check_task_definition(&mut checked)?;
        definition.container_definitions = checked.container_definitions;
        definition.cpu = checked.cpu;
        definition.memory = checked.memory;
        let arn = definition.daemon_task_definition_arn.clone();
        Ok((json!({ "daemonTaskDefinitionArn": arn }), vec![DaemonChange::PutTaskDefinition { definition }]))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    daemon_task_definition: Option<String>,
}

fn not_found() -> EcsError {
    EcsError::client("Unable to describe daemon task definition.")
}

pub fn describe_daemon_task_definition(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeInput = parse(body)?;
    let reference = required(input.daemon_task_definition, "daemonTaskDefinition")?;
    let records = crate::emulator::state::read(&store.daemons);
    let definition = records.task_definition(&reference, true).ok_or_else(not_found)?;
    let mut shape = to_value(definition)?;
    if let Some(shape) = shape.as_object_mut() {
        shape.remove("tags");
    }
    Ok(json!({ "daemonTaskDefinition": shape }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    family_prefix: Option<String>,
    family: Option<String>,
    revision: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

pub fn list_daemon_task_definitions(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    check_enum(input.revision.as_deref(), &["LAST_REGISTERED"], "revision")?;
    check_enum(input.status.as_deref(), &["ACTIVE", "DELETE_IN_PROGRESS", "ALL"], "status")?;
    check_enum(input.sort.as_deref(), &["ASC", "DESC"], "sort")?;
    let mut page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    page.descending = input.sort.as_deref() == Some("DESC");
    let status = input.status.unwrap_or_else(|| "ACTIVE".into());
    let last_only = input.revision.is_some();
    let records = crate::emulator::state::read(&store.daemons);
    let mut items: Vec<(String, Value)> = Vec::new();
    for (family, revisions) in &records.task_definitions {
        if input.family.as_ref().is_some_and(|f| f != family)
            || input.family_prefix.as_ref().is_some_and(|p| !family.starts_with(p.as_str()))
        {
            continue;
        }
        let mut shown = revisions.values().filter(|d| status == "ALL" || d.status == status);
        let shown: Vec<&DaemonTaskDefinition> =
            if last_only { shown.next_back().into_iter().collect() } else { shown.collect() };
        for d in shown {
            let summary = json!({
                "arn": d.daemon_task_definition_arn,
                "registeredAt": d.registered_at,
                "registeredBy": d.registered_by,
                "deleteRequestedAt": d.delete_requested_at,
                "status": d.status,
            });
            items.push((format!("{family}:{:010}", d.revision), without_nulls(summary)));
        }
    }
    if page.descending {
        items.reverse();
    }
    let (items, next) = page.take(items);
    Ok(list_response("daemonTaskDefinitions", items, next))
}

/// The object without its null members (ECS omits absent optionals).
fn without_nulls(mut value: Value) -> Value {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    value
}

pub fn delete_daemon_task_definition(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeInput = parse(body)?;
    let reference = required(input.daemon_task_definition, "daemonTaskDefinition")?;
    let now = store.now();
    store.change_daemons(|records, _| {
        let body = reference.rsplit_once(":daemon-task-definition/").map_or(reference.as_str(), |(_, b)| b);
        if !body.contains(':') {
            return Err(EcsError::client(
                "The daemon task definition must be given as family:revision or as its full ARN.",
            ));
        }
        let definition = records.task_definition(&reference, false).ok_or_else(not_found)?;
        if definition.status != "ACTIVE" {
            return Err(EcsError::client(format!(
                "The daemon task definition is already {}.",
                definition.status.replace('_', " ").to_lowercase()
            )));
        }
        let in_use = records.task_definition_in_use(&definition.daemon_task_definition_arn);
        let deleted = DaemonTaskDefinition {
            status: if in_use { "DELETE_IN_PROGRESS" } else { "DELETED" }.into(),
            delete_requested_at: Some(now),
            ..definition.clone()
        };
        let arn = deleted.daemon_task_definition_arn.clone();
        Ok((json!({ "daemonTaskDefinitionArn": arn }), vec![DaemonChange::PutTaskDefinition { definition: deleted }]))
    })
}
