//! Task operations: RunTask, StartTask, StopTask, DescribeTasks, ListTasks.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::validation::{
    check_launch, check_launch_compatibility, check_network, check_placement_constraints, check_placement_strategy,
    check_tags,
};
use crate::emulator::sim::deployments::reconcile;
use crate::emulator::sim::lifecycle::{LaunchChoice, LaunchDefinition, LaunchTarget, TaskLaunch, request_stop, settle};
use crate::emulator::state::ids::{TaskDefinitionRef, id_of, service_name_of};
use crate::emulator::state::records::with_tags_shown;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, ClusterState, RunTaskToken, Store, lock, read};
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_reply};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunTaskInput {
    capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    cluster: Option<String>,
    count: Option<i32>,
    enable_ecs_managed_tags: Option<bool>,
    enable_execute_command: Option<bool>,
    group: Option<String>,
    launch_type: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    overrides: Option<Value>,
    placement_constraints: Option<Vec<PlacementConstraint>>,
    placement_strategy: Option<Vec<PlacementStrategy>>,
    platform_version: Option<String>,
    propagate_tags: Option<String>,
    #[allow(dead_code)]
    reference_id: Option<String>,
    started_by: Option<String>,
    tags: Option<Vec<Tag>>,
    task_definition: Option<String>,
    client_token: Option<String>,
    #[allow(dead_code)]
    volume_configurations: Option<Value>,
}

/// Rules shared by RunTask and StartTask for the members they have in common.
fn check_common(
    group: Option<&str>,
    started_by: Option<&str>,
    overrides: Option<&Value>,
    propagate_tags: Option<&str>,
    tags: &[Tag],
) -> EcsResult<()> {
    if group.is_some_and(|g| g.is_empty() || g.len() > 255) {
        return Err(EcsError::invalid("group must be 1 to 255 characters."));
    }
    if let Some(s) = started_by {
        let ok = s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'/');
        if !ok {
            return Err(EcsError::invalid(
                "startedBy can be up to 128 letters (uppercase and lowercase), numbers, hyphens, underscores, and forward slashes.",
            ));
        }
    }
    if overrides.is_some_and(|o| o.to_string().len() > 8192) {
        return Err(EcsError::invalid("Task overrides can be at most 8192 characters of JSON."));
    }
    match propagate_tags {
        None | Some("TASK_DEFINITION" | "NONE") => {}
        Some("SERVICE") => {
            return Err(EcsError::invalid("The propagateTags value SERVICE is only valid for service tasks."));
        }
        Some(other) => return Err(EcsError::invalid(format!("Invalid propagateTags '{other}'."))),
    }
    check_tags(tags)
}

/// Tags a standalone task starts with.
fn task_tags(
    cluster: &str,
    managed: bool,
    propagate: Option<&str>,
    td: &TaskDefinitionEntry,
    given: Vec<Tag>,
) -> Vec<Tag> {
    let mut tags = Vec::new();
    if managed {
        tags.push(Tag { key: "aws:ecs:clusterName".into(), value: cluster.to_owned() });
    }
    if propagate == Some("TASK_DEFINITION") {
        tags.extend(td.tags.iter().filter(|t| !given.iter().any(|g| g.key == t.key)).cloned());
    }
    tags.extend(given);
    tags
}

/// The request without its token, canonical (serde_json maps are sorted).
fn fingerprint(body: &[u8]) -> String {
    let mut value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("clientToken");
    }
    value.to_string()
}

#[derive(serde::Serialize)]
struct TasksOut<'a> {
    tasks: Vec<&'a Task>,
    failures: Vec<Failure>,
}

#[derive(serde::Serialize)]
struct TaskOut<'a> {
    task: &'a Task,
}

/// `{tasks, failures}` for tasks of `state`, tags shown when asked for.
fn tasks_reply(state: &ClusterState, ids: &[String], failures: Vec<Failure>, with_tags: bool) -> EcsResult<Reply> {
    let tasks = ids.iter().filter_map(|id| state.tasks.get(id)).map(|t| &t.task).collect();
    with_tags_shown(with_tags, || Reply::of(&TasksOut { tasks, failures }))
}

fn task_values(state: &ClusterState, ids: &[String], with_tags: bool) -> EcsResult<Vec<Value>> {
    ids.iter().filter_map(|id| state.tasks.get(id)).map(|t| render(&t.task, with_tags)).collect()
}

/// A task as ECS shows it: tags only when asked for.
fn render(task: &Task, with_tags: bool) -> EcsResult<Value> {
    let mut value = to_value(task)?;
    if let Some(obj) = value.as_object_mut() {
        if with_tags {
            obj.insert("tags".into(), to_value(&task.tags)?);
        } else {
            obj.remove("tags");
        }
    }
    Ok(value)
}

pub fn run_task(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: RunTaskInput = parse(body)?;
    let td_ref = required(input.task_definition, "taskDefinition")?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(EcsError::invalid("count must be between 1 and 10."));
    }
    if let Some(token) = &input.client_token
        && (token.is_empty() || token.len() > 64 || !token.bytes().all(|b| (33..=126).contains(&b)))
    {
        return Err(EcsError::invalid("clientToken must be 1 to 64 printable ASCII characters."));
    }
    let tags = input.tags.unwrap_or_default();
    check_common(
        input.group.as_deref(),
        input.started_by.as_deref(),
        input.overrides.as_ref(),
        input.propagate_tags.as_deref(),
        &tags,
    )?;
    let constraints = input.placement_constraints.unwrap_or_default();
    check_placement_constraints(&constraints)?;
    let strategies = input.placement_strategy.unwrap_or_default();
    check_placement_strategy(&strategies)?;
    let td = read(&store.task_definitions).resolve_active(&td_ref, ErrorKind::InvalidParameterException)?;
    let td_record = &td.task_definition;
    check_launch_compatibility(input.launch_type.as_deref(), input.capacity_provider_strategy.as_deref(), td_record)?;
    check_network(td_record, input.network_configuration.as_ref())?;

    let mut state = lock(&cell);
    state.ensure_active()?;
    let fingerprint = fingerprint(body);
    if let Some(token) = &input.client_token
        && let Some(previous) = state.run_task_tokens.get(token)
    {
        if previous.fingerprint != fingerprint {
            return Err(EcsError::conflict(
                "The specified client token has already been used with different parameters.",
                previous.task_arns.clone(),
            ));
        }
        let ids: Vec<String> = previous.task_arns.iter().map(|a| id_of(a).to_owned()).collect();
        return tasks_reply(&state, &ids, Vec::new(), false);
    }
    check_launch(&state.cluster, input.launch_type.as_deref(), input.capacity_provider_strategy.as_deref(), td_record)?;
    let choice = match (input.launch_type, input.capacity_provider_strategy.filter(|s| !s.is_empty())) {
        (Some(t), _) => LaunchChoice::LaunchType(t),
        (None, Some(s)) => LaunchChoice::Strategy(s),
        (None, None) if !state.cluster.default_capacity_provider_strategy.is_empty() => {
            LaunchChoice::Strategy(state.cluster.default_capacity_provider_strategy.clone())
        }
        (None, None) => LaunchChoice::LaunchType("EC2".into()),
    };
    let cluster = state.name().to_owned();
    let template = TaskLaunch {
        td: LaunchDefinition::new(&td),
        target: LaunchTarget::LaunchType(String::new()),
        network_configuration: input.network_configuration.as_ref(),
        platform_version: input.platform_version.as_deref(),
        group: input.group.unwrap_or_else(|| format!("family:{}", td_record.family)),
        started_by: input.started_by.map(Into::into),
        overrides: input.overrides,
        tags: task_tags(
            &cluster,
            input.enable_ecs_managed_tags.unwrap_or(false),
            input.propagate_tags.as_deref(),
            &td,
            tags,
        ),
        enable_execute_command: input.enable_execute_command.unwrap_or(false),
        service_name: None,
    };
    let constraints = crate::emulator::rules::placement::Constraints::new(&constraints, td_record)?;
    let outcome = crate::emulator::sim::lifecycle::launch(
        store,
        &mut state,
        &template,
        &choice,
        count as usize,
        HashMap::new(),
        &constraints,
        &strategies,
        None,
    );
    if outcome.no_instances && outcome.task_ids.is_empty() {
        return Err(EcsError::invalid("No Container Instances were found in your cluster."));
    }
    let mut changes = store.changes();
    crate::emulator::sim::lifecycle::purge_expired(store, &mut state, &mut changes);
    for id in &outcome.task_ids {
        let entry = &state.tasks[id];
        changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: entry.clone() });
    }
    let arns: Vec<String> = outcome.task_ids.iter().map(|id| state.tasks[id].task.task_arn.clone()).collect();
    if let Some(token) = input.client_token {
        let record = RunTaskToken { fingerprint, task_arns: arns, created_at: store.now() };
        changes.push(|| Change::PutRunTaskToken {
            cluster: cluster.clone(),
            token: token.clone(),
            record: record.clone(),
        });
        state.run_task_tokens.insert(token, record);
    }
    store.persist(changes)?;
    tasks_reply(&state, &outcome.task_ids, outcome.failures, false)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartTaskInput {
    cluster: Option<String>,
    container_instances: Option<Vec<String>>,
    enable_ecs_managed_tags: Option<bool>,
    enable_execute_command: Option<bool>,
    group: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    overrides: Option<Value>,
    propagate_tags: Option<String>,
    #[allow(dead_code)]
    reference_id: Option<String>,
    started_by: Option<String>,
    tags: Option<Vec<Tag>>,
    task_definition: Option<String>,
    #[allow(dead_code)]
    volume_configurations: Option<Value>,
}

pub fn start_task(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: StartTaskInput = parse(body)?;
    let instances = required(input.container_instances, "containerInstances")?;
    let td_ref = required(input.task_definition, "taskDefinition")?;
    if instances.is_empty() || instances.len() > 10 {
        return Err(EcsError::invalid("containerInstances can have between 1 and 10 items."));
    }
    let tags = input.tags.unwrap_or_default();
    check_common(
        input.group.as_deref(),
        input.started_by.as_deref(),
        input.overrides.as_ref(),
        input.propagate_tags.as_deref(),
        &tags,
    )?;
    // An unknown cluster is reported before anything about the task
    // definition, as ECS does.
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let td = read(&store.task_definitions).resolve_active(&td_ref, ErrorKind::InvalidParameterException)?;
    check_network(&td.task_definition, input.network_configuration.as_ref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let cluster = state.name().to_owned();
    let template = TaskLaunch {
        td: LaunchDefinition::new(&td),
        target: LaunchTarget::LaunchType(String::new()),
        network_configuration: input.network_configuration.as_ref(),
        platform_version: None,
        group: input.group.unwrap_or_else(|| format!("family:{}", td.task_definition.family)),
        started_by: input.started_by.map(Into::into),
        overrides: input.overrides,
        tags: task_tags(
            &cluster,
            input.enable_ecs_managed_tags.unwrap_or(false),
            input.propagate_tags.as_deref(),
            &td,
            tags,
        ),
        enable_execute_command: input.enable_execute_command.unwrap_or(false),
        service_name: None,
    };
    let mut task_ids = Vec::new();
    let mut failures = Vec::new();
    for reference in &instances {
        let id = id_of(reference);
        let launch_type = match state.container_instances.get(id) {
            Some(i) if crate::emulator::rules::placement::serves(i, "EXTERNAL") => "EXTERNAL",
            _ => "EC2",
        };
        let outcome = crate::emulator::sim::lifecycle::launch(
            store,
            &mut state,
            &template,
            &LaunchChoice::LaunchType(launch_type.into()),
            1,
            HashMap::new(),
            &crate::emulator::rules::placement::Constraints::default(),
            &[],
            Some(id),
        );
        task_ids.extend(outcome.task_ids);
        failures.extend(outcome.failures.into_iter().map(|mut f| {
            if f.reason == "MISSING" {
                f.arn = reference.clone();
            }
            f
        }));
    }
    let mut changes = store.changes();
    for id in &task_ids {
        let entry = &state.tasks[id];
        changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: entry.clone() });
    }
    store.persist(changes)?;
    Ok(json!({ "tasks": task_values(&state, &task_ids, false)?, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopTaskInput {
    cluster: Option<String>,
    task: Option<String>,
    reason: Option<String>,
}

pub fn stop_task(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: StopTaskInput = parse(body)?;
    let reference = required(input.task, "task")?;
    if input.reason.as_ref().is_some_and(|r| r.len() > 255) {
        return Err(EcsError::invalid("reason can be at most 255 characters."));
    }
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let id = id_of(&reference).to_owned();
    let now = store.now();
    let cluster = state.name().to_owned();
    let mut task = state.tasks.get_mut(&id).ok_or_else(|| EcsError::invalid("The referenced task was not found."))?;
    let reason = input.reason.unwrap_or_else(|| "Task stopped by user".into());
    let mut changes = store.changes();
    if !request_stop(&mut task, now, "UserInitiated", &reason) {
        return with_tags_shown(false, || Reply::of(&TaskOut { task: &task.task }));
    }
    // ECS answers before the task's lastStatus moves.
    let response = with_tags_shown(false, || Reply::of(&TaskOut { task: &task.task }))?;
    settle(&mut task, now);
    let service = task.service_name.clone();
    let entry = TaskEntry::clone(&task);
    // Re-files the task in the indexes before the service looks at it.
    drop(task);
    changes.push(|| Change::PutTask { cluster: cluster.clone(), entry });
    if let Some(service) = service {
        reconcile(store, &mut state, &service, &mut changes);
    }
    store.persist(changes)?;
    Ok(response)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTasksInput {
    cluster: Option<String>,
    tasks: Option<Vec<String>>,
    include: Option<Vec<String>>,
}

pub fn describe_tasks(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: DescribeTasksInput = parse(body)?;
    let references = required(input.tasks, "tasks")?;
    if references.is_empty() {
        return Err(EcsError::invalid("Tasks cannot be empty."));
    }
    if references.len() > 100 {
        return Err(EcsError::invalid("At most 100 tasks can be described at once."));
    }
    let with_tags = input.include.unwrap_or_default().iter().any(|i| i == "TAGS");
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for reference in &references {
        match state.tasks.get(id_of(reference)) {
            Some(t) => tasks.push(&t.task),
            None => failures.push(Failure {
                arn: if reference.starts_with("arn:") {
                    reference.clone()
                } else {
                    store.arns.task(state.name(), reference)
                },
                reason: "MISSING".into(),
                detail: None,
            }),
        }
    }
    with_tags_shown(with_tags, || Reply::of(&TasksOut { tasks, failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTasksInput {
    cluster: Option<String>,
    container_instance: Option<String>,
    family: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    started_by: Option<String>,
    service_name: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<String>,
}

pub fn list_tasks(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: ListTasksInput = parse(body)?;
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    if input.started_by.is_some()
        && (input.container_instance.is_some() || input.family.is_some() || input.service_name.is_some())
    {
        return Err(EcsError::invalid("startedBy must be the only filter when it is specified."));
    }
    let desired = input.desired_status.unwrap_or_else(|| "RUNNING".into());
    if !matches!(desired.as_str(), "RUNNING" | "PENDING" | "STOPPED") {
        return Err(EcsError::invalid(format!("Invalid desiredStatus '{desired}'.")));
    }
    let family = match &input.family {
        Some(f) => Some(
            TaskDefinitionRef::parse(f)
                .map(|r| r.family().to_owned())
                .ok_or_else(|| EcsError::invalid(format!("Invalid family '{f}'.")))?,
        ),
        None => None,
    };
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let service = match &input.service_name {
        Some(s) => {
            let name = service_name_of(s);
            if !state.services.contains_key(name) {
                return Err(EcsError::service_not_found());
            }
            Some(name.to_owned())
        }
        None => None,
    };
    let instance = input.container_instance.as_deref().map(id_of);
    let family_prefix = family.map(|f| format!(":task-definition/{f}:"));
    // Tasks are keyed by id, and ARNs differ only by id, so id order is ARN order.
    // RUNNING and PENDING come from the index of tasks desired RUNNING, not
    // a walk over the hour of STOPPED tasks the table keeps.
    let candidates: Box<dyn Iterator<Item = (&str, &TaskEntry)>> = match desired.as_str() {
        "STOPPED" => Box::new(state.tasks.iter()),
        _ => Box::new(state.tasks.desired_running()),
    };
    let items = candidates
        .filter(|(_, t)| match desired.as_str() {
            "PENDING" => t.task.desired_status == "RUNNING" && crate::emulator::sim::lifecycle::is_pending(&t.task),
            d => t.task.desired_status == d,
        })
        .filter(|(_, t)| service.is_none() || t.service_name.as_deref() == service.as_deref())
        .filter(|(_, t)| instance.is_none() || t.container_instance_id.as_deref() == instance)
        .filter(|(_, t)| family_prefix.as_ref().is_none_or(|p| t.task.task_definition_arn.contains(p.as_str())))
        .filter(|(_, t)| input.started_by.is_none() || t.task.started_by.as_deref() == input.started_by.as_deref())
        .filter(|(_, t)| input.launch_type.is_none() || t.task.launch_type.as_deref() == input.launch_type.as_deref())
        .map(|(id, t)| (id, t.task.task_arn.as_str()));
    let (arns, next) = page.take(items);
    list_reply("taskArns", &arns, next)
}
