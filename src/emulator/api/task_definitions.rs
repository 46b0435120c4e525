//! Task-definition operations: RegisterTaskDefinition, DescribeTaskDefinition,
//! ListTaskDefinitions, ListTaskDefinitionFamilies, DeregisterTaskDefinition,
//! DeleteTaskDefinitions.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::validation::{MAX_TASK_DEFINITION_BYTES, check_task_definition, tag_problem};
use crate::emulator::state::ids::TaskDefinitionRef;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Store, read, write};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

/// ECS's cap on revisions per family, deregistered ones included.
const MAX_REVISIONS: u32 = 1_000_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterInput {
    family: Option<String>,
    task_role_arn: Option<String>,
    execution_role_arn: Option<String>,
    network_mode: Option<String>,
    container_definitions: Option<Vec<ContainerDefinition>>,
    volumes: Option<Vec<Value>>,
    placement_constraints: Option<Vec<Value>>,
    requires_compatibilities: Option<Vec<String>>,
    cpu: Option<String>,
    memory: Option<String>,
    tags: Option<Vec<Tag>>,
    pid_mode: Option<String>,
    ipc_mode: Option<String>,
    proxy_configuration: Option<Value>,
    inference_accelerators: Option<Value>,
    ephemeral_storage: Option<Value>,
    runtime_platform: Option<Value>,
    enable_fault_injection: Option<bool>,
}

pub fn register_task_definition(store: &Store, body: &[u8]) -> EcsResult<Value> {
    if body.len() > MAX_TASK_DEFINITION_BYTES {
        return Err(EcsError::client(format!(
            "Task definition size exceeds the maximum of {MAX_TASK_DEFINITION_BYTES} bytes."
        )));
    }
    let input: RegisterInput = parse(body)?;
    let family = required(input.family, "family")?;
    let containers = required(input.container_definitions, "containerDefinitions")?;
    let tags = input.tags.unwrap_or_default();
    if let Some(problem) = tag_problem(&tags) {
        return Err(EcsError::client(problem));
    }
    let placement_constraints = input.placement_constraints.unwrap_or_default();
    if placement_constraints.len() > 10 {
        return Err(EcsError::client("At most 10 placement constraints can be specified."));
    }
    for c in &placement_constraints {
        if c.get("type").and_then(Value::as_str) != Some("memberOf") {
            return Err(EcsError::client("Task definition placement constraints must be of type memberOf."));
        }
    }
    let mut td = TaskDefinition {
        task_definition_arn: String::new(),
        container_definitions: containers,
        family,
        task_role_arn: input.task_role_arn,
        execution_role_arn: input.execution_role_arn,
        network_mode: input.network_mode,
        revision: 0,
        volumes: input.volumes.unwrap_or_default(),
        status: "ACTIVE".into(),
        requires_attributes: Vec::new(),
        placement_constraints,
        compatibilities: Vec::new(),
        runtime_platform: input.runtime_platform,
        requires_compatibilities: input.requires_compatibilities,
        cpu: input.cpu,
        memory: input.memory,
        inference_accelerators: input.inference_accelerators,
        pid_mode: input.pid_mode,
        ipc_mode: input.ipc_mode,
        proxy_configuration: input.proxy_configuration,
        registered_at: store.now(),
        deregistered_at: None,
        delete_requested_at: None,
        registered_by: store.arns.registered_by(),
        ephemeral_storage: input.ephemeral_storage,
        enable_fault_injection: input.enable_fault_injection,
    };
    check_task_definition(&mut td)?;

    let mut registry = write(&store.task_definitions);
    let last = registry.families.get(&td.family).map_or(0, |f| f.last_revision);
    if last >= MAX_REVISIONS {
        return Err(EcsError::new(
            ErrorKind::LimitExceededException,
            format!("The family {} has reached the limit of {MAX_REVISIONS} revisions.", td.family),
        ));
    }
    td.revision = last + 1;
    td.task_definition_arn = store.arns.task_definition(&td.family, td.revision);
    let entry = TaskDefinitionEntry { task_definition: td, tags };
    let mut changes = store.changes();
    changes.push(|| Change::PutTaskDefinition { entry: entry.clone() });
    store.persist(changes)?;
    let response = json!({
        "taskDefinition": to_value(&entry.task_definition)?,
        "tags": to_value(&entry.tags)?,
    });
    registry.put(entry);
    Ok(response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    task_definition: Option<String>,
    include: Option<Vec<String>>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeOut<'a> {
    task_definition: &'a TaskDefinition,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<&'a [Tag]>,
}

pub fn describe_task_definition(store: &Store, body: &[u8]) -> EcsResult<crate::emulator::wire::codec::Reply> {
    let input: DescribeInput = parse(body)?;
    let reference = required(input.task_definition, "taskDefinition")?;
    let entry = read(&store.task_definitions)
        .resolve(&reference)
        .ok_or_else(|| EcsError::client("Unable to describe task definition."))?;
    let with_tags = input.include.unwrap_or_default().iter().any(|i| i == "TAGS");
    crate::emulator::wire::codec::Reply::of(&DescribeOut {
        task_definition: &entry.task_definition,
        tags: with_tags.then_some(entry.tags.as_slice()),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

/// A pagination key that sorts like (family, revision).
fn revision_key(family: &str, revision: u32) -> String {
    format!("{family}\u{1}{revision:010}")
}

pub fn list_task_definitions(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let status = input.status.unwrap_or_else(|| "ACTIVE".into());
    if !matches!(status.as_str(), "ACTIVE" | "INACTIVE" | "DELETE_IN_PROGRESS") {
        return Err(EcsError::invalid(format!("Invalid status '{status}'.")));
    }
    let descending = match input.sort.as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => return Err(EcsError::invalid(format!("Invalid sort '{other}': use ASC or DESC."))),
    };
    let mut page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    page.descending = descending;
    let registry = read(&store.task_definitions);
    // familyPrefix is an exact family match in ECS, despite its name.
    let families: Vec<_> = match &input.family_prefix {
        Some(f) => registry.families.get_key_value(f).into_iter().collect(),
        None => registry.families.iter().collect(),
    };
    let mut items: Vec<(String, Value)> = families
        .into_iter()
        .flat_map(|(name, family)| {
            family.revisions.values().filter(|e| e.task_definition.status == status).map(move |e| {
                let td = &e.task_definition;
                (revision_key(name, td.revision), Value::String(td.task_definition_arn.clone()))
            })
        })
        .collect();
    if descending {
        items.reverse();
    }
    let (arns, next) = page.take(items);
    Ok(list_response("taskDefinitionArns", arns, next))
}

pub fn list_task_definition_families(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let status = input.status.unwrap_or_else(|| "ALL".into());
    if !matches!(status.as_str(), "ALL" | "ACTIVE" | "INACTIVE") {
        return Err(EcsError::invalid(format!("Invalid status '{status}'.")));
    }
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    let prefix = input.family_prefix.unwrap_or_default();
    let registry = read(&store.task_definitions);
    let items = registry.families.iter().filter(|(name, _)| name.starts_with(&prefix)).filter_map(|(name, family)| {
        let statuses: Vec<&str> = family.revisions.values().map(|e| e.task_definition.status.as_str()).collect();
        let has_active = statuses.contains(&"ACTIVE");
        let listed = statuses.iter().any(|s| *s != "DELETE_IN_PROGRESS");
        let keep = match status.as_str() {
            "ACTIVE" => has_active,
            "INACTIVE" => listed && !has_active,
            _ => listed,
        };
        keep.then(|| (name.clone(), Value::String(name.clone())))
    });
    let (families, next) = page.take(items.collect::<Vec<_>>());
    Ok(list_response("families", families, next))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeregisterInput {
    task_definition: Option<String>,
}

pub fn deregister_task_definition(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeregisterInput = parse(body)?;
    let reference = required(input.task_definition, "taskDefinition")?;
    let Some(TaskDefinitionRef::Revision(family, revision)) = TaskDefinitionRef::parse(&reference) else {
        return Err(EcsError::client("A task definition revision is required: use family:revision or the full ARN."));
    };
    let mut registry = write(&store.task_definitions);
    let entry = registry
        .families
        .get(&family)
        .and_then(|f| f.revisions.get(&revision))
        .ok_or_else(|| EcsError::client("The specified task definition does not exist."))?;
    let mut entry = TaskDefinitionEntry::clone(entry);
    match entry.task_definition.status.as_str() {
        "ACTIVE" => {
            entry.task_definition.status = "INACTIVE".into();
            entry.task_definition.deregistered_at = Some(store.now());
            let mut changes = store.changes();
            changes.push(|| Change::PutTaskDefinition { entry: entry.clone() });
            store.persist(changes)?;
        }
        "INACTIVE" => {}
        _ => return Err(EcsError::client("The specified task definition is being deleted.")),
    }
    let response = json!({ "taskDefinition": to_value(&entry.task_definition)? });
    registry.put(entry);
    Ok(response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    task_definitions: Option<Vec<String>>,
}

pub fn delete_task_definitions(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeleteInput = parse(body)?;
    let references = required(input.task_definitions, "taskDefinitions")?;
    if references.is_empty() || references.len() > 10 {
        return Err(EcsError::invalid("Between 1 and 10 task definitions can be deleted at once."));
    }
    let mut registry = write(&store.task_definitions);
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    let mut changes = store.changes();
    let now = store.now();
    for reference in references {
        let fail = |reason: &str| Failure { arn: reference.clone(), reason: reason.into(), detail: None };
        let Some(TaskDefinitionRef::Revision(family, revision)) = TaskDefinitionRef::parse(&reference) else {
            failures.push(fail("The specified task definition identifier is invalid. Specify a valid name or ARN and revision and try again."));
            continue;
        };
        let Some(existing) = registry.families.get(&family).and_then(|f| f.revisions.get(&revision)) else {
            failures.push(fail("The specified task definition does not exist. Specify a valid account, family, revision and try again."));
            continue;
        };
        let mut entry = TaskDefinitionEntry::clone(existing);
        match entry.task_definition.status.as_str() {
            "ACTIVE" => {
                failures.push(fail("The specified task definition is still in ACTIVE status. Please deregister the target and try again."));
                continue;
            }
            "INACTIVE" => {
                entry.task_definition.status = "DELETE_IN_PROGRESS".into();
                entry.task_definition.delete_requested_at = Some(now);
                changes.push(|| Change::PutTaskDefinition { entry: entry.clone() });
            }
            _ => {}
        }
        deleted.push(to_value(&entry.task_definition)?);
        registry.put(entry);
    }
    store.persist(changes)?;
    Ok(json!({ "taskDefinitions": deleted, "failures": failures }))
}
