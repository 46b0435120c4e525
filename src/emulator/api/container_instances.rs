//! Container-instance operations: RegisterContainerInstance,
//! DeregisterContainerInstance, DescribeContainerInstances,
//! ListContainerInstances, UpdateContainerInstancesState.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::placement::{remaining_resources, used_on};
use crate::emulator::rules::validation::check_tags;
use crate::emulator::sim::deployments::reconcile_all;
use crate::emulator::sim::instances::{Registration, register};
use crate::emulator::sim::lifecycle::{is_pending, request_stop, settle};
use crate::emulator::state::ids::id_of;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, ClusterState, Store, lock};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

/// Host ports the ECS agent reserves (TCP).
const AGENT_PORTS: &[&str] = &["22", "2375", "2376", "51678", "51679"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterInput {
    cluster: Option<String>,
    instance_identity_document: Option<String>,
    #[allow(dead_code)]
    instance_identity_document_signature: Option<String>,
    total_resources: Option<Vec<Resource>>,
    version_info: Option<Value>,
    container_instance_arn: Option<String>,
    attributes: Option<Vec<Attribute>>,
    platform_devices: Option<Value>,
    tags: Option<Vec<Tag>>,
}

fn integer(name: &str, value: i64) -> Resource {
    Resource {
        name: Some(name.into()),
        r#type: Some("INTEGER".into()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(value),
        string_set_value: None,
    }
}

fn string_set(name: &str, values: Vec<String>) -> Resource {
    Resource {
        name: Some(name.into()),
        r#type: Some("STRINGSET".into()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(0),
        string_set_value: Some(values),
    }
}

/// What an instance registers when the agent sends no `totalResources`:
/// the spec's example instance (2048 CPU units, 3768 MiB).
fn default_resources() -> Vec<Resource> {
    vec![
        integer("CPU", 2048),
        integer("MEMORY", 3768),
        string_set("PORTS", AGENT_PORTS.iter().map(|p| (*p).to_owned()).collect()),
        string_set("PORTS_UDP", Vec::new()),
    ]
}

/// A container instance as ECS shows it: counters and remaining resources
/// computed from the tasks on it; tags only when asked for.
pub fn render(state: &ClusterState, entry: &ContainerInstanceEntry, with_tags: bool) -> EcsResult<Value> {
    let mut instance = entry.instance.clone();
    let used = used_on(state, entry.id());
    instance.remaining_resources = remaining_resources(&instance, &used);
    let on_it = state.tasks.values().filter(|t| t.container_instance_id.as_deref() == Some(entry.id()));
    let (mut running, mut pending) = (0, 0);
    for t in on_it {
        if t.task.desired_status == "RUNNING" && !t.is_stopped() {
            running += 1;
        }
        if is_pending(&t.task) {
            pending += 1;
        }
    }
    instance.running_tasks_count = running;
    instance.pending_tasks_count = pending;
    if !with_tags {
        instance.tags.clear();
    }
    to_value(&instance)
}

pub fn register_container_instance(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: RegisterInput = parse(body)?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let document: Value = match &input.instance_identity_document {
        Some(doc) => serde_json::from_str(doc)
            .map_err(|_| EcsError::invalid("instanceIdentityDocument is not a valid JSON document."))?,
        None => json!({}),
    };
    let doc_str = |key: &str| document.get(key).and_then(Value::as_str).map(str::to_owned);
    let registration = Registration {
        existing: None,
        availability_zone: doc_str("availabilityZone").unwrap_or_else(|| format!("{}a", store.arns.region)),
        instance_type: doc_str("instanceType").unwrap_or_else(|| "t3.medium".into()),
        ec2_instance_id: doc_str("instanceId"),
        attributes: input.attributes.unwrap_or_default(),
        resources: input.total_resources.filter(|r| !r.is_empty()).unwrap_or_else(default_resources),
        version_info: input.version_info,
        platform_devices: input.platform_devices,
        tags,
    };

    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let existing =
        input.container_instance_arn.as_deref().map(id_of).filter(|id| state.container_instances.contains_key(*id));
    let registration = Registration { existing: existing.map(str::to_owned), ..registration };
    let mut changes = store.changes();
    let id = register(store, &mut state, registration, &mut changes);
    store.persist(changes)?;
    let entry = &state.container_instances[&id];
    Ok(json!({ "containerInstance": render(&state, entry, true)? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeregisterInput {
    cluster: Option<String>,
    container_instance: Option<String>,
    force: Option<bool>,
}

pub fn deregister_container_instance(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeregisterInput = parse(body)?;
    let reference = required(input.container_instance, "containerInstance")?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let id = id_of(&reference).to_owned();
    let cluster = state.name().to_owned();
    let Some(entry) = state.container_instances.get(&id).filter(|e| e.instance.status != "INACTIVE") else {
        return Err(EcsError::invalid("The referenced container instance was not found."));
    };
    let busy: Vec<String> = state
        .tasks
        .iter()
        .filter(|(_, t)| t.container_instance_id.as_deref() == Some(&id) && t.task.desired_status == "RUNNING")
        .map(|(k, _)| k.to_owned())
        .collect();
    if !busy.is_empty() && !input.force.unwrap_or(false) {
        return Err(EcsError::invalid(
            "Found running tasks on the instance. Use force to deregister it; its tasks will be orphaned.",
        ));
    }
    let mut entry = entry.clone();
    entry.instance.status = "INACTIVE".into();
    entry.instance.agent_connected = false;
    entry.instance.version += 1;
    let now = store.now();
    let mut changes = store.changes();
    for task_id in busy {
        if let Some(mut t) = state.tasks.get_mut(&task_id) {
            request_stop(&mut t, now, "UserInitiated", "Container instance deregistration forced by user");
            settle(&mut t, now);
            let snapshot = t.clone();
            changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: snapshot });
        }
    }
    state.container_instances.insert(id.clone(), entry.clone());
    changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry });
    // Service tasks that were on it are replaced elsewhere.
    reconcile_all(store, &mut state, &mut changes);
    store.persist(changes)?;
    Ok(json!({ "containerInstance": render(&state, &state.container_instances[&id], false)? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    cluster: Option<String>,
    container_instances: Option<Vec<String>>,
    include: Option<Vec<String>>,
}

pub fn describe_container_instances(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeInput = parse(body)?;
    let references = required(input.container_instances, "containerInstances")?;
    if references.is_empty() || references.len() > 100 {
        return Err(EcsError::invalid("containerInstances can have between 1 and 100 items."));
    }
    let with_tags = input.include.unwrap_or_default().iter().any(|i| i == "TAGS");
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let mut instances = Vec::new();
    let mut failures = Vec::new();
    for reference in &references {
        match state.container_instances.get(id_of(reference)) {
            Some(entry) => instances.push(render(&state, entry, with_tags)?),
            None => failures.push(Failure {
                arn: if reference.starts_with("arn:") {
                    reference.clone()
                } else {
                    store.arns.container_instance(state.name(), reference)
                },
                reason: "MISSING".into(),
                detail: None,
            }),
        }
    }
    Ok(json!({ "containerInstances": instances, "failures": failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    cluster: Option<String>,
    filter: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    status: Option<String>,
}

pub fn list_container_instances(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    if let Some(s) = &input.status
        && !matches!(s.as_str(), "ACTIVE" | "DRAINING" | "REGISTERING" | "DEREGISTERING" | "REGISTRATION_FAILED")
    {
        return Err(EcsError::invalid(format!("Invalid status '{s}'.")));
    }
    let filter = match &input.filter {
        Some(expr) => Some(crate::emulator::rules::query::parse(expr)?),
        None => None,
    };
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let mut items: Vec<(String, Value)> = state
        .container_instances
        .values()
        .filter(|e| match &input.status {
            Some(s) => &e.instance.status == s,
            None => matches!(e.instance.status.as_str(), "ACTIVE" | "DRAINING"),
        })
        .filter(|e| filter.as_ref().is_none_or(|f| f.matches(&state, e)))
        .map(|e| (e.instance.container_instance_arn.clone(), Value::String(e.instance.container_instance_arn.clone())))
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (arns, next) = page.take(items);
    Ok(list_response("containerInstanceArns", arns, next))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateStateInput {
    cluster: Option<String>,
    container_instances: Option<Vec<String>>,
    status: Option<String>,
}

pub fn update_container_instances_state(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateStateInput = parse(body)?;
    let references = required(input.container_instances, "containerInstances")?;
    let status = required(input.status, "status")?;
    if references.is_empty() || references.len() > 10 {
        return Err(EcsError::invalid("containerInstances can have between 1 and 10 items."));
    }
    if status != "ACTIVE" && status != "DRAINING" {
        return Err(EcsError::invalid(format!(
            "Container instances can only be set to ACTIVE or DRAINING, not {status}."
        )));
    }
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let cluster = state.name().to_owned();
    let mut changes = store.changes();
    let mut updated = Vec::new();
    let mut failures = Vec::new();
    for reference in &references {
        let id = id_of(reference).to_owned();
        match state.container_instances.get_mut(&id) {
            Some(entry) if matches!(entry.instance.status.as_str(), "ACTIVE" | "DRAINING") => {
                if entry.instance.status != status {
                    entry.instance.status = status.clone();
                    entry.instance.version += 1;
                    let snapshot = entry.clone();
                    changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry: snapshot });
                }
                updated.push(id);
            }
            Some(entry) => failures.push(Failure {
                arn: entry.instance.container_instance_arn.clone(),
                reason: "INACTIVE".into(),
                detail: None,
            }),
            None => failures.push(Failure { arn: reference.clone(), reason: "MISSING".into(), detail: None }),
        }
    }
    reconcile_all(store, &mut state, &mut changes);
    store.persist(changes)?;
    let instances: EcsResult<Vec<Value>> =
        updated.iter().map(|id| render(&state, &state.container_instances[id], false)).collect();
    Ok(json!({ "containerInstances": instances?, "failures": failures }))
}
