//! What a service's deployments need right now: starting PRIMARY tasks up to
//! the desired count within `maximumPercent`, stopping tasks of replaced
//! deployments and surplus tasks, dropping finished deployments, keeping the
//! counters, rollout state and events in step.
//!
//! [`reconcile`] runs after every write that touches a service or its tasks.
//! It is the seam for part 2's scheduler, which will call it on every tick and
//! add health, the circuit breaker and back-off; in part 1 no task reaches
//! RUNNING, so a rollout completes only when its desired count is 0.

use std::collections::HashMap;

use super::lifecycle::{LaunchChoice, LaunchOutcome, TaskLaunch, is_pending, launch, request_stop, settle};
use super::state::ids::{deployment_id, uuid};
use super::state::records::*;
use super::state::{Change, Changes, ClusterState, Store, read};
use super::placement::Constraints;
use super::task_definitions::resolve;

/// Events kept per service, newest first.
const MAX_EVENTS: usize = 100;
/// A repeated event message is suppressed for this long.
const EVENT_REPEAT_MILLIS: i64 = 6 * 60 * 60 * 1000;

/// A new PRIMARY deployment snapshotting the service's current configuration.
pub fn new_deployment(service: &Service, now: Timestamp) -> Deployment {
    let id = deployment_id();
    Deployment {
        rollout_state_reason: Some(format!("ECS deployment {id} in progress.")),
        id,
        status: "PRIMARY".into(),
        task_definition: service.task_definition.clone().unwrap_or_default(),
        desired_count: service.desired_count,
        pending_count: 0,
        running_count: 0,
        failed_tasks: 0,
        created_at: now,
        updated_at: now,
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        launch_type: service.launch_type.clone(),
        platform_version: service.platform_version.clone(),
        platform_family: None,
        network_configuration: service.network_configuration.clone(),
        rollout_state: Some("IN_PROGRESS".into()),
        service_connect_configuration: None,
        volume_configurations: None,
        vpc_lattice_configurations: None,
    }
}

/// Makes `deployment` the PRIMARY one; the previous PRIMARY keeps its tasks
/// as ACTIVE with a desired count of 0.
pub fn start_deployment(service: &mut Service, deployment: Deployment) {
    for d in &mut service.deployments {
        if d.status == "PRIMARY" {
            d.status = "ACTIVE".into();
            d.desired_count = 0;
            d.updated_at = deployment.created_at;
        }
    }
    service.deployments.insert(0, deployment);
}

/// Adds an event (newest first, at most 100), unless the newest event says
/// the same thing and is less than 6 hours old.
pub fn add_event(service: &mut Service, now: Timestamp, message: String) {
    if let Some(newest) = service.events.first()
        && newest.message == message && now.0 - newest.created_at.0 < EVENT_REPEAT_MILLIS {
            return;
        }
    service.events.insert(0, ServiceEvent { id: uuid(), created_at: now, message });
    service.events.truncate(MAX_EVENTS);
}

fn is_live(t: &TaskEntry) -> bool {
    !t.is_stopped()
}

/// Brings one service's tasks and deployments in line with its configuration.
pub fn reconcile(store: &Store, state: &mut ClusterState, name: &str, changes: &mut Changes) {
    let Some(entry) = state.services.get(name) else { return };
    let service = entry.service.clone();
    super::lifecycle::purge_expired(store, state, changes);
    let now = store.now();
    let cluster = state.name().to_owned();
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY").cloned();
    let primary_id = primary.as_ref().map(|d| d.id.clone()).unwrap_or_default();
    let reason = format!("Scaling activity initiated by (deployment {primary_id})");
    let mut touched: Vec<String> = Vec::new();
    let mut events: Vec<String> = Vec::new();
    let active = service.status == "ACTIVE";

    // Tasks of replaced deployments that are not running yet can go at once:
    // they do not count as healthy, so stopping them never breaks
    // minimumHealthyPercent. A draining service stops everything.
    let mut stopped_pending = 0;
    for (id, t) in state.tasks.iter_mut() {
        if t.service_name.as_deref() != Some(name) || !is_live(t) || t.task.desired_status == "STOPPED" {
            continue;
        }
        let not_running = t.task.last_status != "RUNNING";
        let replaced = t.task.started_by.as_deref() != Some(primary_id.as_str()) && not_running;
        // Service tasks not yet running on a DRAINING (or gone) instance stop
        // at once and are started elsewhere.
        let instance_leaving = t.container_instance_id.as_ref().is_some_and(|id| {
            state.container_instances.get(id).is_none_or(|i| i.instance.status != "ACTIVE")
        }) && not_running;
        if !active || replaced || instance_leaving {
            request_stop(t, now, "ServiceSchedulerInitiated", &reason);
            if settle(t, now) {
                stopped_pending += 1;
            }
            touched.push(id.clone());
        }
    }

    if active
        && let Some(primary) = &primary {
            let launched = if service.scheduling_strategy == "DAEMON" {
                launch_daemon(store, state, &service, primary, &mut events)
            } else {
                scale_replica(store, state, &service, primary, &reason, &mut touched, &mut events, &mut stopped_pending)
            };
            touched.extend(launched);
        }
    if stopped_pending > 0 {
        events.push(format!("(service {name}) stopped {stopped_pending} pending tasks."));
    }

    // Counters, finished deployments, rollout state.
    let tasks: Vec<&TaskEntry> = state.tasks.values().filter(|t| t.service_name.as_deref() == Some(name)).collect();
    let Some(entry) = state.services.get_mut(name) else { return };
    let service = &mut entry.service;
    let counts = |deployment: &str| {
        let mine = tasks.iter().filter(|t| t.task.started_by.as_deref() == Some(deployment) && is_live(t));
        let (mut running, mut pending, mut live) = (0, 0, 0);
        for t in mine {
            live += 1;
            if t.task.last_status == "RUNNING" {
                running += 1;
            } else if is_pending(&t.task) {
                pending += 1;
            }
        }
        (running, pending, live)
    };
    service.deployments.retain(|d| d.status == "PRIMARY" || counts(&d.id).2 > 0);
    let (mut running, mut pending) = (0, 0);
    for d in &mut service.deployments {
        let (r, p, _) = counts(&d.id);
        if (d.running_count, d.pending_count) != (r, p) {
            d.running_count = r;
            d.pending_count = p;
            d.updated_at = now;
        }
        running += r;
        pending += p;
    }
    service.running_count = running;
    service.pending_count = pending;
    for message in events {
        add_event(service, now, message);
    }
    if service.status == "ACTIVE" && service.deployments.len() == 1 {
        let d = &mut service.deployments[0];
        if d.rollout_state.as_deref() == Some("IN_PROGRESS") && d.running_count == d.desired_count && d.pending_count == 0 {
            d.rollout_state = Some("COMPLETED".into());
            d.rollout_state_reason = Some(format!("ECS deployment {} completed.", d.id));
            d.updated_at = now;
            let done = format!("(service {name}) (deployment {}) deployment completed.", d.id);
            add_event(service, now, done);
            add_event(service, now, format!("(service {name}) has reached a steady state."));
        }
    }
    if service.status == "DRAINING" && !tasks.iter().any(|t| is_live(t)) {
        service.status = "INACTIVE".into();
    }
    let snapshot = entry.clone();
    changes.push(|| Change::PutService { cluster: cluster.clone(), entry: snapshot });
    for id in touched {
        if let Some(t) = state.tasks.get(&id) {
            changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: t.clone() });
        }
    }
}

/// The launch choice a service's tasks use.
pub fn launch_choice(service: &Service, cluster: &Cluster) -> LaunchChoice {
    match (&service.launch_type, &service.capacity_provider_strategy) {
        (Some(t), _) => LaunchChoice::LaunchType(t.clone()),
        (None, Some(s)) if !s.is_empty() => LaunchChoice::Strategy(s.clone()),
        _ if !cluster.default_capacity_provider_strategy.is_empty() => {
            LaunchChoice::Strategy(cluster.default_capacity_provider_strategy.clone())
        }
        _ => LaunchChoice::LaunchType("EC2".into()),
    }
}

fn template<'a>(service: &'a Service, primary: &Deployment, td: &'a TaskDefinitionEntry, cluster: &str) -> TaskLaunch<'a> {
    let mut tags = Vec::new();
    if service.enable_ecs_managed_tags {
        tags.push(Tag { key: "aws:ecs:clusterName".into(), value: cluster.to_owned() });
        tags.push(Tag { key: "aws:ecs:serviceName".into(), value: service.service_name.clone() });
    }
    match service.propagate_tags.as_str() {
        "SERVICE" => tags.extend(service.tags.iter().cloned()),
        "TASK_DEFINITION" => tags.extend(td.tags.iter().cloned()),
        _ => {}
    }
    TaskLaunch {
        td,
        target: super::lifecycle::LaunchTarget::LaunchType(String::new()),
        network_configuration: service.network_configuration.as_ref(),
        platform_version: service.platform_version.as_deref(),
        group: format!("service:{}", service.service_name),
        started_by: Some(primary.id.clone()),
        overrides: None,
        tags,
        enable_execute_command: service.enable_execute_command,
        service_name: Some(service.service_name.clone()),
    }
}

fn placement_event(name: &str, outcome: &LaunchOutcome) -> Option<String> {
    if outcome.no_instances {
        return Some(format!(
            "(service {name}) was unable to place a task because no container instance met all of its requirements. Reason: No Container Instances were found in your cluster. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
        ));
    }
    let failure = outcome.failures.first()?;
    let instance = failure.arn.rsplit('/').next().unwrap_or_default();
    let what = match failure.reason.as_str() {
        "RESOURCE:CPU" => "has insufficient CPU units available".to_owned(),
        "RESOURCE:MEMORY" => "has insufficient memory available".to_owned(),
        "RESOURCE:PORTS" | "RESOURCE:PORTS_UDP" => "is already using a port required by your task".to_owned(),
        other => format!("encountered error \"{other}\""),
    };
    Some(format!(
        "(service {name}) was unable to place a task because no container instance met all of its requirements. The closest matching container-instance {instance} {what}. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
    ))
}

fn started_event(name: &str, ids: &[String]) -> String {
    let list: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
    format!("(service {name}) has started {} tasks: {}.", ids.len(), list.join(" "))
}

#[allow(clippy::too_many_arguments)]
fn scale_replica(
    store: &Store,
    state: &mut ClusterState,
    service: &Service,
    primary: &Deployment,
    reason: &str,
    touched: &mut Vec<String>,
    events: &mut Vec<String>,
    stopped_pending: &mut usize,
) -> Vec<String> {
    let name = service.service_name.as_str();
    let desired = service.desired_count;
    let max_percent = i64::from(service.deployment_configuration.maximum_percent.unwrap_or(200));
    let max_tasks = desired * max_percent / 100;
    let mine = |t: &&TaskEntry| t.service_name.as_deref() == Some(name) && is_live(t);
    let counted = state.tasks.values().filter(mine).count() as i64;
    let mut primary_live: Vec<(Timestamp, String)> = state
        .tasks
        .iter()
        .filter(|(_, t)| mine(t) && t.task.started_by.as_deref() == Some(primary.id.as_str()) && t.task.desired_status == "RUNNING")
        .map(|(id, t)| (t.task.created_at, id.clone()))
        .collect();
    let live = primary_live.len() as i64;
    let now = store.now();
    if live > desired {
        // Surplus: stop the newest first (they have done the least work).
        primary_live.sort();
        for (_, id) in primary_live.iter().rev().take((live - desired) as usize) {
            if let Some(t) = state.tasks.get_mut(id) {
                request_stop(t, now, "ServiceSchedulerInitiated", reason);
                if settle(t, now) {
                    *stopped_pending += 1;
                }
                touched.push(id.clone());
            }
        }
        return Vec::new();
    }
    let start = (desired - live).min(max_tasks - counted);
    if start <= 0 {
        return Vec::new();
    }
    let Some(td) = resolve(&read(&store.task_definitions), &primary.task_definition) else {
        return Vec::new();
    };
    let cluster = state.name().to_owned();
    let choice = launch_choice(service, &state.cluster);
    let placed = providers_in_use(state, name);
    // Constraints were checked when the service was created or updated.
    let constraints = Constraints::new(&service.placement_constraints, &td.task_definition).unwrap_or_default();
    let outcome = launch(store, state, &template(service, primary, &td, &cluster), &choice, start as usize, placed, &constraints, None);
    if !outcome.task_ids.is_empty() {
        events.push(started_event(name, &outcome.task_ids));
    }
    events.extend(placement_event(name, &outcome));
    outcome.task_ids
}

fn providers_in_use(state: &ClusterState, name: &str) -> HashMap<String, i64> {
    let mut placed = HashMap::new();
    for t in state.tasks.values() {
        if t.service_name.as_deref() == Some(name) && is_live(t)
            && let Some(p) = &t.task.capacity_provider_name {
                *placed.entry(p.clone()).or_default() += 1;
            }
    }
    placed
}

/// DAEMON services run one task on every ACTIVE instance of their launch type.
fn launch_daemon(
    store: &Store,
    state: &mut ClusterState,
    service: &Service,
    primary: &Deployment,
    events: &mut Vec<String>,
) -> Vec<String> {
    let name = service.service_name.as_str();
    let launch_type = service.launch_type.clone().unwrap_or_else(|| "EC2".into());
    let wanted: Vec<String> = state
        .container_instances
        .values()
        .filter(|i| i.instance.status == "ACTIVE" && super::placement::serves(i, &launch_type))
        .filter(|i| {
            !state.tasks.values().any(|t| {
                t.service_name.as_deref() == Some(name) && is_live(t) && t.container_instance_id.as_deref() == Some(i.id())
            })
        })
        .map(|i| i.id().to_owned())
        .collect();
    let Some(td) = resolve(&read(&store.task_definitions), &primary.task_definition) else {
        return Vec::new();
    };
    let cluster = state.name().to_owned();
    let template = template(service, primary, &td, &cluster);
    let mut started = Vec::new();
    for instance in wanted {
        let outcome = launch(
            store,
            state,
            &template,
            &LaunchChoice::LaunchType(launch_type.clone()),
            1,
            HashMap::new(),
            &Constraints::default(),
            Some(&instance),
        );
        events.extend(placement_event(name, &outcome));
        started.extend(outcome.task_ids);
    }
    if !started.is_empty() {
        events.push(started_event(name, &started));
    }
    let daemon_count = state
        .container_instances
        .values()
        .filter(|i| i.instance.status == "ACTIVE" && super::placement::serves(i, &launch_type))
        .count() as i64;
    if let Some(entry) = state.services.get_mut(name) {
        entry.service.desired_count = daemon_count;
        if let Some(d) = entry.service.deployments.iter_mut().find(|d| d.status == "PRIMARY") {
            d.desired_count = daemon_count;
        }
    }
    started
}
