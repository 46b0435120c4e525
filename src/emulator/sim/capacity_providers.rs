//! Auto Scaling group capacity providers at work: the simulated group
//! behind each provider, and cluster auto scaling.
//!
//! A provider's instances are simulated `m5.large`s
//! ([`crate::emulator::sim::capacity`]) registered in the one cluster the
//! provider is associated with, each showing the provider as its
//! `capacityProviderName`. The group starts empty and only managed scaling
//! changes its size. On every tick, for each provider of each cluster:
//! 1. tasks waiting in PROVISIONING for the provider go on its instances
//!    where they fit;
//! 2. with managed scaling ENABLED, M (instances running a task other than
//!    a daemon's, plus the new instances the waiting tasks need) and N
//!    (instances running) give `CapacityProviderReservation`
//!    ([`crate::emulator::rules::capacity_providers`]); above the target the
//!    group grows by the step (instances register at once; no further
//!    scale-out within `instanceWarmupPeriod`) and the waiting tasks are
//!    placed; under the target for 15 minutes it removes idle instances
//!    down to the desired size.
//!
//! Everything is a function of the store and the clock, so the manual
//! clock makes it deterministic. Lock order: the providers' lock, then
//! each cluster's.

use std::collections::HashSet;

use crate::emulator::rules::capacity_providers::{
    SCALE_IN_AFTER_MILLIS, instances_for, reservation, scale_in_count, scale_out_step,
};
use crate::emulator::rules::placement::{Constraints, Placement, Usage, place, service_default_strategy};
use crate::emulator::rules::validation::{BUILTIN_CAPACITY_PROVIDERS, check_capacity_provider_strategy};
use crate::emulator::sim::capacity::{CPU_UNITS, MEMORY_MIB, simulated_instance};
use crate::emulator::sim::instances::register;
use crate::emulator::sim::lifecycle::{is_waiting_for_capacity, stop_at_once};
use crate::emulator::state::capacity_providers::{CapacityProviders, ProviderEntry};
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Changes, ClusterState, Store, lock, read, write};
use crate::emulator::wire::error::{EcsError, EcsResult};

/// How long a DeleteCapacityProvider stays DELETE_IN_PROGRESS: until the
/// next tick.
const DELETE_AFTER_MILLIS: i64 = 0;

/// The active cluster a provider is associated with, other than `except`.
/// Takes each cluster's lock in turn: the caller holds none.
pub fn cluster_of(store: &Store, provider: &str, except: Option<&str>) -> Option<String> {
    store.all_clusters().into_iter().find_map(|(name, cell)| {
        if except == Some(name.as_str()) {
            return None;
        }
        let state = lock(&cell);
        (state.is_active() && state.cluster.capacity_providers.iter().any(|p| p == provider)).then_some(name)
    })
}

/// The rules for a cluster's provider list and default strategy
/// (CreateCluster, PutClusterCapacityProviders): every provider exists
/// (FARGATE and FARGATE_SPOT always do), an Auto Scaling group provider is
/// associated with no other cluster, and the strategy names only listed
/// providers. Takes cluster locks in turn: the caller holds none, and holds
/// the providers' lock so no association changes meanwhile.
pub fn check_cluster_providers(
    store: &Store,
    records: &CapacityProviders,
    cluster: &str,
    providers: &[String],
    strategy: &[CapacityProviderStrategyItem],
) -> EcsResult<()> {
    for p in providers {
        if BUILTIN_CAPACITY_PROVIDERS.contains(&p.as_str()) {
            continue;
        }
        if !records.by_name.get(p).is_some_and(ProviderEntry::is_usable) {
            return Err(EcsError::invalid(format!(
                "The specified capacity provider '{p}' does not exist. Specify a valid capacity provider and try again."
            )));
        }
        if let Some(other) = cluster_of(store, p, Some(cluster)) {
            return Err(EcsError::invalid(format!(
                "The specified capacity provider '{p}' is already associated with cluster '{other}'. An Auto Scaling group capacity provider can be associated with only one cluster."
            )));
        }
    }
    check_capacity_provider_strategy(strategy)?;
    if strategy.iter().any(|i| !providers.contains(&i.capacity_provider)) {
        return Err(EcsError::invalid(
            "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.",
        ));
    }
    Ok(())
}

/// Whether a provider is in use in the cluster: a task of it not yet
/// STOPPED, or a live service whose strategy names it.
pub fn in_use(state: &ClusterState, provider: &str) -> bool {
    let tasks =
        state.tasks.values().any(|t| !t.is_stopped() && t.task.capacity_provider_name.as_deref() == Some(provider));
    let services = state.services.values().any(|s| {
        s.service.status != "INACTIVE"
            && s.service.capacity_provider_strategy.iter().flatten().any(|i| i.capacity_provider == provider)
    });
    tasks || services
}

/// Marks a provider as being deleted; the tick completes it.
pub fn begin_delete(entry: &mut ProviderEntry, now: Timestamp) {
    entry.provider.update_status = Some("DELETE_IN_PROGRESS".into());
    entry.provider.update_status_reason = None;
    entry.group.delete_at = Some(Timestamp(now.0 + DELETE_AFTER_MILLIS));
}

/// The providers' work due now: deletions complete, and every Auto Scaling
/// group provider of every active cluster places its waiting tasks and
/// scales its group.
pub fn tick(store: &Store) {
    let mut records = write(&store.capacity_providers);
    if records.by_name.is_empty() {
        return;
    }
    let now = store.now();
    let mut changes = store.changes();
    for entry in records.by_name.values_mut() {
        if entry.group.delete_at.is_some_and(|at| at <= now) {
            entry.group = Default::default();
            entry.provider.status = "INACTIVE".into();
            entry.provider.update_status = Some("DELETE_COMPLETE".into());
            let journaled = entry.clone();
            changes.push(|| Change::PutCapacityProvider { entry: journaled });
        }
    }
    for (_, cell) in store.all_clusters() {
        let mut state = lock(&cell);
        if !state.is_active() {
            continue;
        }
        let mut cluster_changes = store.changes();
        for name in state.cluster.capacity_providers.clone() {
            let Some(entry) = records.by_name.get_mut(&name).filter(|e| e.is_active() && e.asg().is_some()) else {
                continue;
            };
            if scale(store, &mut state, entry, now, &mut cluster_changes) {
                let journaled = entry.clone();
                changes.push(|| Change::PutCapacityProvider { entry: journaled });
            }
        }
        if let Err(e) = store.persist(cluster_changes) {
            tracing::warn!(error = %e, "could not persist the capacity providers' changes to a cluster");
        }
    }
    if let Err(e) = store.persist(changes) {
        tracing::warn!(error = %e, "could not persist the capacity providers' changes");
    }
}

/// The earliest time a provider has work: a deletion to complete, a
/// warm-up or a low-reservation run to end.
pub fn next_due(store: &Store) -> Option<Timestamp> {
    read(&store.capacity_providers).by_name.values().filter_map(|e| e.group.delete_at.or(e.group.wake_at)).min()
}

/// One provider's turn in one cluster; whether its record changed.
fn scale(
    store: &Store,
    state: &mut ClusterState,
    entry: &mut ProviderEntry,
    now: Timestamp,
    changes: &mut Changes,
) -> bool {
    let name = entry.name().to_owned();
    let Some(scaling) = entry.asg().map(|a| a.managed_scaling.clone()) else { return false };
    place_waiting(store, state, &name, now, changes);
    let before = entry.group.clone();
    entry.group.wake_at = None;
    if !scaling.enabled() {
        entry.group.below_target_since = None;
        entry.group.reservation = None;
        return entry.group != before;
    }
    let (needed, running) = needs(state, &name);
    let warm_until =
        entry.group.last_scale_out.map(|at| Timestamp(at.0 + i64::from(scaling.instance_warmup_period) * 1000));
    let step = scale_out_step(needed, running, &scaling);
    let target = f64::from(scaling.target_capacity);
    if step > 0 {
        entry.group.below_target_since = None;
        if warm_until.is_none_or(|until| until <= now) {
            launch_instances(store, state, entry, step, changes);
            entry.group.last_scale_out = Some(now);
            place_waiting(store, state, &name, now, changes);
        }
    } else if reservation(needed, running) < target {
        let since = *entry.group.below_target_since.get_or_insert(now);
        if now.0 - since.0 >= SCALE_IN_AFTER_MILLIS {
            remove_idle(store, state, &name, scale_in_count(needed, running, scaling.target_capacity), changes);
            entry.group.below_target_since = None;
        }
    } else {
        entry.group.below_target_since = None;
    }
    let (needed, running) = needs(state, &name);
    entry.group.reservation = Some(reservation(needed, running));
    // What the scheduler must come back for: the end of the warm-up when
    // tasks still wait, the end of a low run.
    let warm_until =
        entry.group.last_scale_out.map(|at| Timestamp(at.0 + i64::from(scaling.instance_warmup_period) * 1000));
    if scale_out_step(needed, running, &scaling) > 0 {
        entry.group.wake_at = warm_until.filter(|until| *until > now);
    }
    if let Some(since) = entry.group.below_target_since {
        let end = Timestamp(since.0 + SCALE_IN_AFTER_MILLIS);
        entry.group.wake_at = Some(entry.group.wake_at.map_or(end, |w| w.min(end)));
    }
    let mut persisted = entry.group.clone();
    persisted.wake_at = before.wake_at;
    persisted != before
}

/// Whether the task belongs to a DAEMON service (its instance still
/// counts as idle, as ECS's reservation ignores daemon tasks).
fn is_daemon_task(state: &ClusterState, task: &TaskEntry) -> bool {
    task.service_name
        .as_deref()
        .and_then(|s| state.services.get(s))
        .is_some_and(|s| s.service.scheduling_strategy == "DAEMON")
}

/// The provider's instances that are ACTIVE or DRAINING (the group's
/// running instances), and those of them running a task other than a
/// daemon's.
fn instances(state: &ClusterState, provider: &str) -> (Vec<String>, HashSet<String>) {
    let running: Vec<String> = state
        .container_instances
        .values()
        .filter(|i| i.instance.capacity_provider_name.as_deref() == Some(provider))
        .filter(|i| matches!(i.instance.status.as_str(), "ACTIVE" | "DRAINING"))
        .map(|i| i.id().to_owned())
        .collect();
    let busy = state
        .tasks
        .values()
        .filter(|t| !t.is_stopped() && !is_daemon_task(state, t))
        .filter_map(|t| t.container_instance_id.clone())
        .filter(|id| running.contains(id))
        .collect();
    (running, busy)
}

/// M and N: instances needed (busy ones plus the new ones the waiting
/// tasks need) and instances running.
fn needs(state: &ClusterState, provider: &str) -> (u64, u64) {
    let (running, busy) = instances(state, provider);
    let waiting: Vec<&Reservation> = state
        .tasks
        .values()
        .filter(|t| is_waiting_for_capacity(t) && t.task.capacity_provider_name.as_deref() == Some(provider))
        .map(|t| &t.reservation)
        .collect();
    (busy.len() as u64 + instances_for(&waiting, (CPU_UNITS, MEMORY_MIB)), running.len() as u64)
}

/// Registers `count` new instances of the provider's group in the cluster.
fn launch_instances(
    store: &Store,
    state: &mut ClusterState,
    entry: &mut ProviderEntry,
    count: u64,
    changes: &mut Changes,
) {
    let cluster = state.name().to_owned();
    for _ in 0..count {
        let registration = simulated_instance(&store.arns.region, entry.group.launched);
        entry.group.launched += 1;
        let id = register(store, state, registration, changes);
        if let Some(instance) = state.container_instances.get_mut(&id) {
            instance.instance.capacity_provider_name = Some(entry.name().to_owned());
            let journaled = instance.clone();
            changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry: journaled });
        }
    }
}

/// Terminates up to `count` idle instances of the group, oldest first:
/// only instances without tasks (other than daemons') are ever chosen, so
/// managed termination protection, which protects the others, always
/// holds. Their daemon tasks stop with them.
fn remove_idle(store: &Store, state: &mut ClusterState, provider: &str, count: u64, changes: &mut Changes) {
    let (running, busy) = instances(state, provider);
    let mut idle: Vec<(Timestamp, String)> = running
        .into_iter()
        .filter(|id| !busy.contains(id))
        .filter_map(|id| state.container_instances.get(&id).map(|i| (i.instance.registered_at, id)))
        .collect();
    idle.sort();
    let cluster = state.name().to_owned();
    let now = store.now();
    for (_, id) in idle.into_iter().take(usize::try_from(count).unwrap_or(usize::MAX)) {
        let on_it: Vec<String> = state
            .tasks
            .values()
            .filter(|t| !t.is_stopped() && t.container_instance_id.as_deref() == Some(id.as_str()))
            .map(|t| t.id().to_owned())
            .collect();
        for task_id in on_it {
            if let Some(mut task) = state.tasks.get_mut(&task_id) {
                stop_at_once(&mut task, now);
                let journaled = TaskEntry::clone(&task);
                changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: journaled });
            }
        }
        if let Some(instance) = state.container_instances.get_mut(&id) {
            instance.instance.status = "INACTIVE".into();
            instance.instance.agent_connected = false;
            instance.instance.version += 1;
            let journaled = instance.clone();
            changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry: journaled });
        }
    }
}

/// Puts the provider's waiting tasks, oldest first, on its instances where
/// they fit (by their service's placement rules); a placed task goes on
/// from PROVISIONING at once.
fn place_waiting(store: &Store, state: &mut ClusterState, provider: &str, now: Timestamp, changes: &mut Changes) {
    let mut waiting: Vec<(Timestamp, String)> = state
        .tasks
        .values()
        .filter(|t| is_waiting_for_capacity(t) && t.task.capacity_provider_name.as_deref() == Some(provider))
        .map(|t| (t.task.created_at, t.id().to_owned()))
        .collect();
    if waiting.is_empty() {
        return;
    }
    waiting.sort();
    let cluster = state.name().to_owned();
    let mut usage = Usage::of(state);
    let registry = read(&store.task_definitions);
    for (_, id) in waiting {
        let Some(task) = state.tasks.get(&id) else { continue };
        let service = task.service_name.as_deref().and_then(|s| state.services.get(s)).map(|s| &s.service);
        let td = registry.resolve(&task.task.task_definition_arn);
        let constraints = match (service, &td) {
            (Some(s), Some(td)) => Constraints::new(&s.placement_constraints, &td.task_definition).unwrap_or_default(),
            _ => Constraints::default(),
        };
        let strategies = match service {
            Some(s) if !s.placement_strategy.is_empty() => s.placement_strategy.clone(),
            Some(_) => service_default_strategy(),
            None => Vec::new(),
        };
        let (need, group) = (task.reservation.clone(), task.task.group.clone());
        let Placement::On(instance_id) =
            place(state, &usage, "EC2", Some(provider), &need, &group, &constraints, &strategies)
        else {
            continue;
        };
        usage.add(&instance_id, &need, &group);
        let Some(instance) = state.container_instances.get(&instance_id) else { continue };
        let (arn, zone) = (instance.instance.container_instance_arn.clone(), instance.availability_zone.clone());
        if let Some(mut task) = state.tasks.get_mut(&id) {
            task.container_instance_id = Some(instance_id);
            task.task.container_instance_arn = Some(arn);
            if task.task.availability_zone.is_none() {
                task.task.availability_zone = zone;
            }
            task.task.version += 1;
            task.due = Some(now);
            let journaled = TaskEntry::clone(&task);
            changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: journaled });
        }
    }
}
