//! ECS Managed Daemons at work: exactly one task of a daemon's current
//! revision on every ACTIVE EC2 container instance of its capacity
//! providers. On each tick (and right after a daemon's write) every daemon
//! converges: its tasks on instances it no longer targets are stopped, and
//! those of an older revision as `drainPercent` allows (that share of the
//! instances, at least one, being replaced at a time: an old task
//! stopping or a new one not RUNNING yet); an instance with no daemon task
//! left gets one; a
//! deployment is SUCCESSFUL once every instance runs the target revision
//! (a delete's once no task is left, and the daemon is gone with it).
//!
//! Which instances: those whose `capacityProviderName` is one of the
//! daemon's providers, and those registered without a provider (the
//! emulator's `--ec2-capacity` instances and RegisterContainerInstance's),
//! which stand in for Managed Instances here.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::emulator::rules::placement::{Constraints, serves};
use crate::emulator::sim::lifecycle::{LaunchChoice, LaunchDefinition, TaskLaunch, launch, request_stop};
use crate::emulator::state::daemons::{Daemon, DaemonChange, DaemonDeployment, DaemonTaskDefinition, Daemons};
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Changes, ClusterState, Store, lock};

/// The task group of a daemon's tasks.
pub fn group(daemon: &Daemon) -> String {
    format!("daemon:{}", daemon.daemon_name)
}

/// The `startedBy` of a revision's tasks: `ecs-daemon/` and the revision's id.
pub fn started_by(revision_arn: &str) -> String {
    format!("ecs-daemon/{}", revision_arn.rsplit('/').next().unwrap_or_default())
}

/// The name in a capacity provider reference (name or ARN).
fn provider_name(reference: &str) -> &str {
    reference.rsplit_once("capacity-provider/").map_or(reference, |(_, name)| name)
}

/// The daemon's target instances by id, each with the provider ARN it is
/// counted under (an instance without a provider under the first one).
pub fn targets(state: &ClusterState, daemon: &Daemon) -> BTreeMap<String, String> {
    let Some(first) = daemon.capacity_provider_arns.first() else { return BTreeMap::new() };
    state
        .container_instances
        .values()
        .filter(|i| i.instance.status == "ACTIVE" && serves(i, "EC2"))
        .filter_map(|i| match &i.instance.capacity_provider_name {
            None => Some((i.id().to_owned(), first.clone())),
            Some(p) => daemon
                .capacity_provider_arns
                .iter()
                .find(|a| provider_name(a) == p)
                .map(|a| (i.id().to_owned(), a.clone())),
        })
        .collect()
}

/// A daemon's tasks that are not STOPPED yet, by id.
fn live_tasks<'a>(state: &'a ClusterState, daemon: &Daemon) -> Vec<&'a TaskEntry> {
    let group = group(daemon);
    state.tasks.values().filter(|t| t.task.group == group && !t.is_stopped()).collect()
}

/// Per provider ARN: (instances running the revision's task, target
/// instances without it).
pub fn counts(state: &ClusterState, daemon: &Daemon, revision_arn: &str) -> BTreeMap<String, (i32, i32)> {
    let by = started_by(revision_arn);
    let mut out: BTreeMap<String, (i32, i32)> =
        daemon.capacity_provider_arns.iter().map(|a| (a.clone(), (0, 0))).collect();
    let tasks = live_tasks(state, daemon);
    for (instance, provider) in targets(state, daemon) {
        let running = tasks.iter().any(|t| {
            t.container_instance_id.as_deref() == Some(instance.as_str())
                && t.task.started_by.as_deref() == Some(by.as_str())
                && t.task.last_status == "RUNNING"
        });
        let entry = out.entry(provider).or_default();
        if running { entry.0 += 1 } else { entry.1 += 1 }
    }
    out
}

/// Converges every daemon of every active cluster (the scheduler's tick).
pub fn tick(store: &Store) {
    let idle = {
        let records = crate::emulator::state::read(&store.daemons);
        records.daemons.is_empty() && released(&records).is_empty()
    };
    if !idle {
        converge_in(store, None);
    }
}

/// Converges the daemons of `cluster` at once, after a write to the daemon
/// records (so CreateDaemon's tasks exist when it answers, as a service's
/// do after CreateService).
pub fn converge_now(store: &Store, cluster: &str) {
    converge_in(store, Some(cluster));
}

fn converge_in(store: &Store, only: Option<&str>) {
    let result = store.change_daemons(|records, changes| {
        let clusters: BTreeSet<&str> =
            records.daemons.values().map(|d| d.cluster.as_str()).filter(|c| only.is_none_or(|o| o == *c)).collect();
        let mut out = Vec::new();
        for cluster in clusters {
            let Some(cell) = store.cluster(cluster) else { continue };
            let mut state = lock(&cell);
            if state.is_active() {
                out.extend(converge_cluster(store, records, &mut state, changes));
            }
        }
        out.extend(released(records).into_iter().map(|definition| DaemonChange::PutTaskDefinition { definition }));
        Ok(((), out))
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not persist the daemons' changes");
    }
}

/// Daemon task definitions whose delete waited for the daemons using them
/// and that none uses any more: DELETED now.
fn released(records: &Daemons) -> Vec<DaemonTaskDefinition> {
    records
        .task_definitions
        .values()
        .flat_map(|revisions| revisions.values())
        .filter(|d| d.status == "DELETE_IN_PROGRESS" && !records.task_definition_in_use(&d.daemon_task_definition_arn))
        .map(|d| DaemonTaskDefinition { status: "DELETED".into(), ..d.clone() })
        .collect()
}

/// Converges the daemons of one cluster, whose lock the caller holds under
/// the daemons' write lock; returns the changes to the daemon records.
fn converge_cluster(
    store: &Store,
    records: &Daemons,
    state: &mut ClusterState,
    changes: &mut Changes,
) -> Vec<DaemonChange> {
    let cluster = state.name().to_owned();
    let daemons: Vec<&Daemon> = records.of_cluster(&cluster).collect();
    let mut out = Vec::new();
    for daemon in daemons {
        out.extend(converge(store, records, daemon, state, changes));
    }
    out
}

fn converge(
    store: &Store,
    records: &Daemons,
    daemon: &Daemon,
    state: &mut ClusterState,
    changes: &mut Changes,
) -> Vec<DaemonChange> {
    let now = store.now();
    let cluster = state.name().to_owned();
    let active = daemon.status == "ACTIVE";
    let revision = records.revisions.get(&daemon.current_revision_arn).filter(|_| active);
    let targets = if active { targets(state, daemon) } else { BTreeMap::new() };
    let current = revision.map(|r| started_by(&r.daemon_revision_arn));

    // Stop what should not run: tasks off the targets or a second task on
    // an instance at once; tasks of another revision as the drain allows.
    let live = live_tasks(state, daemon);
    let mut kept: HashMap<String, String> = HashMap::new();
    for t in &live {
        let instance = t.container_instance_id.clone().unwrap_or_default();
        if targets.contains_key(&instance)
            && t.task.started_by.as_deref() == current.as_deref()
            && t.task.desired_status == "RUNNING"
        {
            kept.entry(instance).or_insert_with(|| t.id().to_owned());
        }
    }
    let mut to_stop = Vec::new();
    let mut to_replace: BTreeMap<String, String> = BTreeMap::new();
    for t in &live {
        let instance = t.container_instance_id.clone().unwrap_or_default();
        if t.task.desired_status != "RUNNING" || kept.get(&instance).is_some_and(|k| k == t.id()) {
            continue;
        }
        if targets.contains_key(&instance) && !kept.contains_key(&instance) && !to_replace.contains_key(&instance) {
            to_replace.insert(instance, t.id().to_owned());
        } else {
            to_stop.push(t.id().to_owned());
        }
    }
    // Instances being replaced: an old task stopping, or the new one not
    // RUNNING yet. At most `drainPercent` of the instances (at least one)
    // are at a time.
    let in_flight = targets
        .keys()
        .filter(|i| {
            live.iter().any(|t| {
                t.container_instance_id.as_deref() == Some(i.as_str())
                    && (t.task.desired_status != "RUNNING"
                        || (t.task.started_by.as_deref() == current.as_deref() && t.task.last_status != "RUNNING"))
            })
        })
        .count();
    let drain = daemon.deployment_configuration.get("drainPercent").and_then(serde_json::Value::as_f64).unwrap_or(25.0);
    let cap = ((targets.len() as f64 * drain / 100.0).ceil() as usize).max(1);
    to_stop.extend(to_replace.into_values().take(cap.saturating_sub(in_flight)));
    let reason = if active { "Daemon deployment replaced the task" } else { "Daemon is being deleted" };
    for id in to_stop {
        if let Some(mut entry) = state.tasks.get_mut(&id) {
            request_stop(&mut entry, now, "ServiceSchedulerInitiated", reason);
            changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: TaskEntry::clone(&entry) });
        }
    }

    // Start one task on each target instance that holds none (an old one
    // still stopping keeps its instance until it is STOPPED).
    if let (Some(revision), Some(by)) = (revision, &current) {
        let definition = records.task_definition(&revision.daemon_task_definition_arn, false);
        let busy: Vec<String> =
            live_tasks(state, daemon).iter().filter_map(|t| t.container_instance_id.clone()).collect();
        if let Some(definition) = definition {
            let td =
                Arc::new(TaskDefinitionEntry { task_definition: definition.as_task_definition(), tags: Vec::new() });
            let template = TaskLaunch {
                td: LaunchDefinition::new(&td),
                target: crate::emulator::sim::lifecycle::LaunchTarget::LaunchType("EC2".into()),
                network_configuration: None,
                platform_version: None,
                group: group(daemon),
                started_by: Some(by.as_str().into()),
                overrides: None,
                tags: if revision.propagate_tags == "DAEMON" { daemon.tags.clone() } else { Vec::new() },
                enable_execute_command: revision.enable_execute_command,
                service_name: None,
            };
            let choice = LaunchChoice::LaunchType("EC2".into());
            for instance in targets.keys().filter(|i| !busy.contains(i)) {
                let outcome = launch(
                    store,
                    state,
                    &template,
                    &choice,
                    1,
                    HashMap::new(),
                    &Constraints::default(),
                    &[],
                    Some(instance),
                );
                for id in outcome.task_ids {
                    if let Some(entry) = state.tasks.get(&id) {
                        changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: entry.clone() });
                    }
                }
            }
        }
    }

    // The latest deployment's progress.
    let Some(deployment) = records.deployments.get(&daemon.deployment_arn) else { return Vec::new() };
    if deployment.status != "IN_PROGRESS" {
        return Vec::new();
    }
    let live = live_tasks(state, daemon);
    let done = match &current {
        None => live.is_empty(),
        Some(by) => {
            live.iter().all(|t| t.task.started_by.as_deref() == Some(by.as_str()))
                && targets.keys().all(|i| {
                    live.iter().any(|t| {
                        t.container_instance_id.as_deref() == Some(i.as_str()) && t.task.last_status == "RUNNING"
                    })
                })
        }
    };
    if !done {
        return Vec::new();
    }
    let finished = DaemonDeployment {
        status: "SUCCESSFUL".into(),
        status_reason: None,
        finished_at: Some(now),
        ..deployment.clone()
    };
    let mut out = vec![DaemonChange::PutDeployment { deployment: finished }];
    if !active {
        out.push(DaemonChange::RemoveDaemon { arn: daemon.daemon_arn.clone() });
    }
    out
}
