//! Task set operations for services with the EXTERNAL or CODE_DEPLOY
//! deployment controller: CreateTaskSet, DescribeTaskSets, UpdateTaskSet,
//! UpdateServicePrimaryTaskSet, DeleteTaskSet. The scheduler keeps each set
//! at its computed count ([`crate::emulator::sim::task_sets`]); these
//! handlers change the sets and let the service converge at once. On a
//! CODE_DEPLOY service they stand for the calls CodeDeploy makes.

use std::sync::MutexGuard;

use serde::{Deserialize, Serialize};

use crate::emulator::rules::service_registries::check_service_registries;
use crate::emulator::rules::validation::{check_enum, check_launch, check_load_balancers, check_network, check_tags};
use crate::emulator::sim::deployments::reconcile;
use crate::emulator::sim::task_sets::{
    MAX_TASK_SETS, computed_count, make_primary, names, task_set_arn, uses_task_sets,
};
use crate::emulator::state::ids::{deployment_id, service_name_of};
use crate::emulator::state::records::*;
use crate::emulator::state::{ClusterState, Store, lock, read};
use crate::emulator::wire::codec::{Reply, parse};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};

const NOT_EXTERNAL: &str =
    "Amazon ECS only supports task set management on services configured to use external deployment controllers.";

fn task_set_not_found() -> EcsError {
    EcsError::new(ErrorKind::TaskSetNotFoundException, "The specified task set does not exist.")
}

/// A scale ECS accepts: PERCENT, 0 to 100.
fn check_scale(scale: &Scale) -> EcsResult<()> {
    check_enum(Some(&scale.unit), &["PERCENT"], "scale.unit")?;
    if !(0.0..=100.0).contains(&scale.value) {
        return Err(EcsError::invalid("scale.value must be between 0 and 100."));
    }
    Ok(())
}

/// The ACTIVE service `reference` of a locked cluster, if task sets manage it.
fn task_set_service<'a>(state: &'a mut ClusterState, reference: &str) -> EcsResult<&'a mut ServiceEntry> {
    state.ensure_active()?;
    let entry = state.services.get_mut(service_name_of(reference)).ok_or_else(EcsError::service_not_found)?;
    if entry.service.status != "ACTIVE" {
        return Err(EcsError::new(ErrorKind::ServiceNotActiveException, "Service was not ACTIVE."));
    }
    if !uses_task_sets(&entry.service) {
        return Err(EcsError::invalid(NOT_EXTERNAL));
    }
    Ok(entry)
}

fn find_set<'a>(service: &'a mut Service, reference: &str) -> EcsResult<&'a mut TaskSet> {
    service.task_sets.iter_mut().flatten().find(|s| names(s, reference)).ok_or_else(task_set_not_found)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskSetOut<'a> {
    task_set: &'a TaskSet,
}

/// Lets the service converge, persists, and answers the set with id `id`.
fn settle_and_answer(store: &Store, mut state: MutexGuard<'_, ClusterState>, name: &str, id: &str) -> EcsResult<Reply> {
    let mut changes = store.changes();
    reconcile(store, &mut state, name, &mut changes);
    store.persist(changes)?;
    let set = state.services[name].service.task_sets.iter().flatten().find(|s| s.id == id);
    // A set deleted while it had no task leaves at once; ECS still answers
    // it, DRAINING.
    match set {
        Some(set) => Reply::of(&TaskSetOut { task_set: set }),
        None => Err(task_set_not_found()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTaskSetInput {
    service: Option<String>,
    cluster: Option<String>,
    external_id: Option<String>,
    task_definition: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    load_balancers: Option<Vec<LoadBalancer>>,
    service_registries: Option<Vec<serde_json::Value>>,
    launch_type: Option<String>,
    capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    platform_version: Option<String>,
    scale: Option<Scale>,
    client_token: Option<String>,
    tags: Option<Vec<Tag>>,
}

pub fn create_task_set(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: CreateTaskSetInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let td_ref = required(input.task_definition, "taskDefinition")?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let name = service_name_of(&reference).to_owned();
    // The task definition and the rest of the request are checked before
    // the cluster is locked, as CreateService does.
    let td = read(&store.task_definitions).resolve_active(&td_ref, ErrorKind::ClientException)?;
    let td_record = &td.task_definition;
    let scale = input.scale.unwrap_or(Scale { value: 100.0, unit: "PERCENT".into() });
    check_scale(&scale)?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let network = input.network_configuration.map(|mut nc| {
        if let Some(vpc) = &mut nc.awsvpc_configuration {
            vpc.assign_public_ip.get_or_insert_with(|| "DISABLED".into());
        }
        nc
    });
    check_network(td_record, network.as_ref())?;
    let load_balancers = input.load_balancers.unwrap_or_default();
    check_load_balancers(&load_balancers, td_record)?;
    let registries = input.service_registries.unwrap_or_default();
    check_service_registries(&registries, &read(&store.discovery), td_record)?;
    let mut state = lock(&cell);
    let cluster = state.name().to_owned();
    let cluster_record = state.cluster.clone();
    let entry = task_set_service(&mut state, &reference)?;
    if let Some(id) = input.client_token.as_ref().and_then(|t| entry.task_set_tokens.get(t)).cloned() {
        let set = find_set(&mut entry.service, &id)?;
        return Reply::of(&TaskSetOut { task_set: set });
    }
    check_launch(
        &cluster_record,
        input.launch_type.as_deref(),
        input.capacity_provider_strategy.as_deref(),
        td_record,
    )?;
    let service = &entry.service;
    let sets = service.task_sets.as_deref().unwrap_or_default();
    if sets.len() >= MAX_TASK_SETS {
        return Err(EcsError::invalid(format!(
            "{} deployments exist on the service. Unable to create new TaskSet since this exceeds the maximum limit.",
            sets.len()
        )));
    }
    let cps = input.capacity_provider_strategy.filter(|s| !s.is_empty());
    let (launch_type, cps) = match (input.launch_type, cps) {
        (Some(t), _) => (Some(t), None),
        (None, Some(s)) => (None, Some(s)),
        (None, None) => (service.launch_type.clone(), service.capacity_provider_strategy.clone()),
    };
    let fargate = launch_type.as_deref() == Some("FARGATE") || cps.is_some();
    let platform_version = match input.platform_version {
        Some(v) => Some(v),
        None if fargate => Some("LATEST".into()),
        None => None,
    };
    let now = store.now();
    let id = deployment_id();
    let set = TaskSet {
        task_set_arn: task_set_arn(&store.arns, &cluster, &name, &id),
        id: id.clone(),
        service_arn: service.service_arn.clone(),
        cluster_arn: service.cluster_arn.clone(),
        started_by: None,
        external_id: input.external_id,
        status: "ACTIVE".into(),
        task_definition: td_record.task_definition_arn.clone(),
        computed_desired_count: computed_count(service.desired_count, &scale),
        pending_count: 0,
        running_count: 0,
        created_at: now,
        updated_at: now,
        launch_type,
        capacity_provider_strategy: cps,
        platform_version,
        platform_family: None,
        network_configuration: network,
        load_balancers,
        service_registries: registries,
        scale,
        stability_status: "STABILIZING".into(),
        stability_status_at: now,
        tags,
        fargate_ephemeral_storage: None,
    };
    entry.service.task_sets.get_or_insert_with(Vec::new).push(set);
    if let Some(token) = input.client_token {
        entry.task_set_tokens.insert(token, id.clone());
    }
    settle_and_answer(store, state, &name, &id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTaskSetsInput {
    cluster: Option<String>,
    service: Option<String>,
    task_sets: Option<Vec<String>>,
    include: Option<Vec<String>>,
}

#[derive(Serialize)]
struct DescribeTaskSetsOut<'a> {
    #[serde(rename = "taskSets")]
    task_sets: Vec<&'a TaskSet>,
    failures: Vec<Failure>,
}

pub fn describe_task_sets(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: DescribeTaskSetsInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let with_tags = input.include.unwrap_or_default().iter().any(|i| i == "TAGS");
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    let entry = task_set_service(&mut state, &reference)?;
    let sets = entry.service.task_sets.as_deref().unwrap_or_default();
    let (task_sets, failures) = match input.task_sets {
        None => (sets.iter().collect(), Vec::new()),
        Some(wanted) => {
            let mut found = Vec::new();
            let mut failures = Vec::new();
            for r in wanted {
                match sets.iter().find(|s| names(s, &r)) {
                    Some(set) => found.push(set),
                    None => failures.push(Failure { arn: r, reason: "MISSING".into(), detail: None }),
                }
            }
            (found, failures)
        }
    };
    with_tags_shown(with_tags, || Reply::of(&DescribeTaskSetsOut { task_sets, failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateTaskSetInput {
    cluster: Option<String>,
    service: Option<String>,
    task_set: Option<String>,
    scale: Option<Scale>,
}

pub fn update_task_set(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: UpdateTaskSetInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let set_ref = required(input.task_set, "taskSet")?;
    let scale = required(input.scale, "scale")?;
    check_scale(&scale)?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    let entry = task_set_service(&mut state, &reference)?;
    let name = entry.service.service_name.clone();
    let now = store.now();
    let set = find_set(&mut entry.service, &set_ref)?;
    if set.status == "DRAINING" {
        return Err(EcsError::invalid("The specified task set is draining and cannot be updated."));
    }
    set.scale = scale;
    set.updated_at = now;
    let id = set.id.clone();
    settle_and_answer(store, state, &name, &id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdatePrimaryInput {
    cluster: Option<String>,
    service: Option<String>,
    primary_task_set: Option<String>,
}

pub fn update_service_primary_task_set(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: UpdatePrimaryInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let set_ref = required(input.primary_task_set, "primaryTaskSet")?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    let entry = task_set_service(&mut state, &reference)?;
    let name = entry.service.service_name.clone();
    let set = find_set(&mut entry.service, &set_ref)?;
    if set.status == "DRAINING" {
        return Err(EcsError::invalid("A draining task set cannot be made the primary task set."));
    }
    let id = set.id.clone();
    make_primary(&mut entry.service, &id, store.now());
    settle_and_answer(store, state, &name, &id)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteTaskSetInput {
    cluster: Option<String>,
    service: Option<String>,
    task_set: Option<String>,
    force: Option<bool>,
}

pub fn delete_task_set(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: DeleteTaskSetInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let set_ref = required(input.task_set, "taskSet")?;
    let force = input.force.unwrap_or(false);
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    let entry = task_set_service(&mut state, &reference)?;
    let name = entry.service.service_name.clone();
    let desired = entry.service.desired_count;
    let now = store.now();
    let set = find_set(&mut entry.service, &set_ref)?;
    if !force && set.status == "PRIMARY" {
        return Err(EcsError::invalid(
            "Unable to delete the primary task set of a service. Make another task set primary, or use force.",
        ));
    }
    if !force && computed_count(desired, &set.scale) > 0 && set.status != "DRAINING" {
        return Err(EcsError::invalid("The task set cannot be deleted while it is scaled above 0. Use force."));
    }
    set.status = "DRAINING".into();
    set.updated_at = now;
    let answer = set.clone();
    let mut changes = store.changes();
    reconcile(store, &mut state, &name, &mut changes);
    store.persist(changes)?;
    // The set leaves the service once its tasks stopped; the answer shows
    // it DRAINING, as ECS does.
    let set = state.services[&name].service.task_sets.iter().flatten().find(|s| s.id == answer.id);
    Reply::of(&TaskSetOut { task_set: set.unwrap_or(&answer) })
}
