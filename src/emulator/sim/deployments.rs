//! The service scheduler's decisions for one service: ECS's rolling update.
//! It starts PRIMARY tasks up to the desired count within `maximumPercent`,
//! stops tasks of replaced deployments while the healthy tasks stay at or
//! above `minimumHealthyPercent`, replaces tasks that stopped or failed their
//! health checks, scales in, drops drained deployments, and keeps the
//! counters, rollout state, circuit breaker, back-off and events in step.
//!
//! [`reconcile`] runs after every write that touches a service or its tasks,
//! and on every scheduler tick in which one of its tasks changed (with what
//! they did, as [`TaskFacts`]). DAEMON services are placed per instance by
//! [`crate::emulator::sim::daemon`].

use crate::emulator::rules::placement::scale_in_order;
use crate::emulator::sim::circuit_breaker;
use crate::emulator::sim::events::{self as events, add_event};
use crate::emulator::sim::health;
use crate::emulator::sim::load_balancers;
use crate::emulator::sim::pass::{Pass, Stops, on_leaving_instance};
use crate::emulator::state::ids::deployment_id;
use crate::emulator::state::records::*;
use crate::emulator::state::task_id::TaskId;
use crate::emulator::state::task_summary::TaskSummary;
use crate::emulator::state::{Change, Changes, ClusterState, Store};

/// Failed starts in a row before the scheduler backs off.
const BACKOFF_AFTER: u32 = 3;
/// The longest back-off between launch attempts (ECS: 15 minutes).
const MAX_BACKOFF_MILLIS: i64 = 15 * 60 * 1000;

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

/// What a service's tasks did during a scheduler tick, by deployment id.
#[derive(Clone, Debug, Default)]
pub struct TaskFacts {
    /// Stopped before reaching RUNNING, for a reason of their own.
    pub failed_to_start: Vec<String>,
    /// Reached RUNNING.
    pub started: Vec<String>,
    /// Started to count as healthy.
    pub became_healthy: Vec<String>,
    /// Task ids whose load-balancer targets were registered.
    pub targets_registered: Vec<String>,
    /// Task ids whose load-balancer targets began draining.
    pub targets_draining: Vec<String>,
    /// Task ids whose load-balancer targets were deregistered.
    pub targets_deregistered: Vec<String>,
}

/// The ids of a service's tasks that are not STOPPED.
/// Scaling is not a deployment: the PRIMARY deployment's desired count
/// follows the service's, and the rollout state stays as it is.
pub fn follow_desired_count(service: &mut Service, now: Timestamp) {
    if let Some(d) = service.deployments.iter_mut().find(|d| d.status == "PRIMARY")
        && d.desired_count != service.desired_count
    {
        d.desired_count = service.desired_count;
        d.updated_at = now;
    }
}

/// Sets an ACTIVE REPLICA service's desired count the way UpdateService
/// does when it is given only `desiredCount` (what Application Auto
/// Scaling calls), then lets the service converge. Returns the count it
/// had, or `None` when the service is missing, not ACTIVE or a DAEMON.
pub fn set_desired_count(
    store: &Store,
    state: &mut ClusterState,
    name: &str,
    desired: i64,
    changes: &mut Changes,
) -> Option<i64> {
    let entry = state.services.get_mut(name)?;
    if entry.service.status != "ACTIVE" || entry.service.scheduling_strategy == "DAEMON" {
        return None;
    }
    let before = entry.service.desired_count;
    entry.service.desired_count = desired;
    follow_desired_count(&mut entry.service, store.now());
    reconcile(store, state, name, changes);
    Some(before)
}

pub fn live_tasks(state: &ClusterState, name: &str) -> Vec<TaskId> {
    state.tasks.live_of(name)
}

/// Brings one service's tasks and deployments in line with its configuration.
pub fn reconcile(store: &Store, state: &mut ClusterState, name: &str, changes: &mut Changes) {
    let live = live_tasks(state, name);
    reconcile_with(store, state, name, live, &TaskFacts::default(), changes);
}

/// Reconciles every ACTIVE or DRAINING service of a cluster (after container
/// instances change, for DAEMON services and stranded tasks).
pub fn reconcile_all(store: &Store, state: &mut ClusterState, changes: &mut Changes) {
    let names: Vec<String> = state
        .services
        .values()
        .filter(|e| e.service.status != "INACTIVE")
        .map(|e| e.service.service_name.clone())
        .collect();
    for name in names {
        reconcile(store, state, &name, changes);
    }
}

/// Back-off, breaker counts and resets from what the tasks did.
fn note_facts(entry: &mut ServiceEntry, facts: &TaskFacts, now: Timestamp, base_delay: i64, events: &mut Vec<String>) {
    let primary = entry.service.deployments.iter().find(|d| d.status == "PRIMARY").map(|d| d.id.clone());
    let scheduling = &mut entry.scheduling;
    if scheduling.backoff_for != primary {
        scheduling.backoff_for = primary.clone();
        scheduling.start_failures = 0;
        scheduling.launch_after = None;
    }
    for id in &facts.failed_to_start {
        circuit_breaker::record_failure(&mut entry.service, id, now);
        if Some(id) == primary.as_ref() {
            let scheduling = &mut entry.scheduling;
            scheduling.start_failures += 1;
            if scheduling.start_failures >= BACKOFF_AFTER {
                let doublings = (scheduling.start_failures - BACKOFF_AFTER).min(20);
                let delay = base_delay.saturating_mul(1 << doublings).min(MAX_BACKOFF_MILLIS);
                scheduling.launch_after = Some(Timestamp(now.0 + delay));
                events.push(events::unable_to_start_consistently(&entry.service.service_name));
            }
        }
    }
    for id in &facts.started {
        if Some(id) == primary.as_ref() {
            entry.scheduling.start_failures = 0;
            entry.scheduling.launch_after = None;
        }
    }
    for id in &facts.became_healthy {
        circuit_breaker::record_healthy(&mut entry.service, id, now);
    }
}

/// [`reconcile`] given the service's live task ids and what its tasks did.
pub fn reconcile_with(
    store: &Store,
    state: &mut ClusterState,
    name: &str,
    mut live: Vec<TaskId>,
    facts: &TaskFacts,
    changes: &mut Changes,
) {
    if !state.services.contains_key(name) {
        return;
    }
    super::lifecycle::purge_expired(store, state, changes);
    let now = store.now();
    let mut messages: Vec<String> = load_balancers::events(
        state,
        name,
        &facts.targets_registered,
        &facts.targets_draining,
        &facts.targets_deregistered,
    );
    if let Some(entry) = state.services.get_mut(name) {
        note_facts(entry, facts, now, store.timings.placement_retry, &mut messages);
        if !circuit_breaker::check(entry, now, &mut messages)
            && !super::alarms::check(entry, &store.alarms, now, &mut messages)
        {
            super::blue_green::check(entry, now, &mut messages);
        }
    }
    // The pass reads a snapshot of the service while it changes the tasks
    // (shared, not copied: the service changes only after the pass, in
    // `finish`, once the snapshot is gone).
    let Some(entry) = state.services.get_mut(name) else { return };
    let service = entry.service.clone();
    let mut scheduling = entry.scheduling.copy_without_history();
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY");
    let primary_id = primary.map(|d| d.id.clone()).unwrap_or_default();
    let reason = format!("Scaling activity initiated by (deployment {primary_id})");
    let mut stops = Stops::default();
    let mut started: Vec<String> = Vec::new();
    let mut retry_at: Option<Timestamp> = None;
    // When an unhealthy task's grace period ends (the service looks again).
    let mut grace_retry: Option<Timestamp> = None;
    let active = service.status == "ACTIVE";
    let daemon = service.scheduling_strategy == "DAEMON";
    let external = super::task_sets::uses_task_sets(&service);

    if !active {
        // A draining service stops everything.
        for id in &live {
            stops.stop(state, id, now, &reason);
        }
    } else {
        // Tasks that failed their container or load-balancer health checks
        // are replaced, once the health-check grace period is over. (The
        // passes read each task's summary from the table's index of the
        // service's live tasks; a record only when the summary says there
        // is something to do with the task.)
        for id in &live {
            let Some(s) = state.tasks.live_summary(name, id) else { continue };
            if s.desired_status() != "RUNNING" || !s.judged_unhealthy() {
                continue;
            }
            let t = &state.tasks[id];
            let grace_ends = health::grace_ends(t, service.health_check_grace_period_seconds);
            if grace_ends > now {
                grace_retry = Some(grace_retry.map_or(grace_ends, |r: Timestamp| r.min(grace_ends)));
                continue;
            }
            let deployment = t.task.started_by.clone().unwrap_or_default();
            let reason = match load_balancers::failed_target(t).filter(|_| t.task.health_status != "UNHEALTHY") {
                Some(target) => {
                    messages.push(load_balancers::unhealthy_event(
                        name,
                        load_balancers::target_port(t, target),
                        target,
                    ));
                    load_balancers::stopped_reason(target)
                }
                None => {
                    messages.push(events::failed_health_checks(name, id));
                    "Task failed container health checks".to_owned()
                }
            };
            stops.stop(state, id, now, &reason);
            scheduling.unhealthy_replaced += 1;
            if let Some(entry) = state.services.get_mut(name) {
                circuit_breaker::record_failure(&mut entry.service, &deployment, now);
            }
        }
        if external {
            super::task_sets::stop_strays(&service, state, &live, &mut stops, now, &reason);
        }
        // Tasks of replaced deployments that are not running yet go at once:
        // they are not healthy, so stopping them never breaks
        // minimumHealthyPercent. So do service tasks not yet running on an
        // instance that is leaving (and every daemon task there).
        for id in live.iter().filter(|_| !external) {
            let Some(s) = state.tasks.live_summary(name, id) else { continue };
            if s.desired_status() == "STOPPED" {
                continue;
            }
            let not_running = !s.is_running();
            let replaced = s.started_by() != Some(primary_id.as_str());
            let leaving = s.on_instance() && on_leaving_instance(state, &state.tasks[id]);
            if (not_running && (replaced || leaving)) || (daemon && leaving) {
                stops.stop(state, id, now, &reason);
            }
        }
        // A task-set service has no deployment: its pass carries its lead
        // set's, and each set launches through its own.
        let lead = if external { super::task_sets::lead(&service) } else { None };
        let carried = if external { lead.as_ref() } else { primary };
        if let Some(primary) = carried {
            let mut pass = Pass {
                store,
                service: &service,
                primary,
                scheduling: &mut scheduling,
                reason: &reason,
                now,
                stops: &mut stops,
                started: &mut started,
                messages: &mut messages,
                retry_at: &mut retry_at,
            };
            if external {
                super::task_sets::schedule(&mut pass, state, &live);
            } else if daemon {
                super::daemon::schedule(&mut pass, state, &live);
            } else if super::blue_green::applies(&service, pass.scheduling, primary) {
                pass.blue_green(state, &live);
            } else {
                pass.roll(state, &live);
            }
        }
    }
    if let Some(at) = grace_retry {
        retry_at = Some(retry_at.map_or(at, |r| r.min(at)));
    }
    if !stops.running.is_empty() {
        messages.push(events::stopped_running(name, &stops.running));
    }
    if stops.pending > 0 {
        messages.push(events::stopped_pending(name, stops.pending));
    }
    live.extend(started.iter().map(TaskId::from));
    live.retain(|id| state.tasks.live_summary(name, id).is_some());
    let desired_count =
        if daemon && active { super::daemon::desired_count(store, state, &service) } else { service.desired_count };
    // The snapshot goes before `finish` changes the service, so nothing is copied.
    drop(service);
    finish(state, name, &live, desired_count, scheduling, messages, retry_at, now);
    let cluster = state.name().to_owned();
    if let Some(entry) = state.services.get_mut(name) {
        super::history::sync(entry, now);
        super::blue_green::note(entry);
        let primary = entry.service.deployments.iter().find(|d| d.status == "PRIMARY");
        entry.service.current_service_deployment =
            primary.map(|d| super::history::deployment_arn(&store.arns, &cluster, name, &d.id));
    }

    changes.push(|| Change::PutService { cluster: cluster.clone(), entry: state.services[name].clone() });
    for id in stops.touched.iter().chain(&started) {
        if let Some(t) = state.tasks.get(id) {
            changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: t.clone() });
        }
    }
}

impl Pass<'_> {
    /// ECS's rolling update for a REPLICA service
    /// (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-ecs.html>).
    fn roll(&mut self, state: &mut ClusterState, live: &[TaskId]) {
        let desired = self.service.desired_count;
        let config = &self.service.deployment_configuration;
        let max_percent = i64::from(config.maximum_percent.unwrap_or(200));
        let min_percent = i64::from(config.minimum_healthy_percent.unwrap_or(100));
        let max_tasks = desired * max_percent / 100;
        let min_healthy = (desired * min_percent + 99) / 100;
        let now = self.now;
        let name = self.service.service_name.as_str();
        let still = |state: &ClusterState, id: &TaskId| {
            state.tasks.live_summary(name, id).is_some_and(|s| s.desired_status() == "RUNNING")
        };
        // One look at each task's summary sorts it.
        let (mut primary_tasks, mut old_tasks): (Vec<TaskId>, Vec<TaskId>) = (Vec::new(), Vec::new());
        for id in live {
            let Some(s) = state.tasks.live_summary(name, id).filter(|s| s.desired_status() == "RUNNING") else {
                continue;
            };
            let primary = s.started_by() == Some(self.primary.id.as_str())
                && !(s.on_instance() && on_leaving_instance(state, &state.tasks[id]));
            if primary { &mut primary_tasks } else { &mut old_tasks }.push(id.clone());
        }

        // Scale-in: surplus PRIMARY tasks go, those not yet running first.
        let mut keep = primary_tasks.clone();
        if primary_tasks.len() as i64 > desired {
            let surplus = primary_tasks.len() - desired.max(0) as usize;
            let primary_tasks: Vec<String> = primary_tasks.iter().map(|id| id.to_string()).collect();
            let strategies = &self.service.placement_strategy;
            let order = if strategies.is_empty() {
                // Zones stay balanced, tasks not yet running going first
                // within a zone.
                scale_in_order(state, &primary_tasks, strategies)
            } else {
                let (waiting, running): (Vec<String>, Vec<String>) =
                    primary_tasks.iter().cloned().partition(|id| state.tasks[id].task.last_status != "RUNNING");
                let mut order = waiting;
                order.extend(scale_in_order(state, &running, strategies));
                order
            };
            // Protected tasks (UpdateTaskProtection) are never chosen while
            // their protection lasts: the surplus waits, and the service
            // looks again when the first protection ends.
            let (order, protected): (Vec<String>, Vec<String>) =
                order.into_iter().partition(|id| state.protected_until(id, now).is_none());
            if order.len() < surplus
                && let Some(ends) = protected.iter().filter_map(|id| state.protected_until(id, now)).min()
            {
                *self.retry_at = Some(self.retry_at.map_or(ends, |r| r.min(ends)));
            }
            for id in order.iter().take(surplus) {
                self.stops.stop(state, id, now, self.reason);
            }
            keep = order.iter().skip(surplus).chain(&protected).map(TaskId::from).collect();
        }

        // Start PRIMARY tasks within maximumPercent.
        let counted = live.iter().filter(|id| state.tasks.live_summary(name, id).is_some()).count() as i64;
        let want = desired - keep.len() as i64;
        let room = max_tasks - counted;
        let mut launched = 0;
        if want > 0 && room > 0 && self.may_launch() {
            launched = self.launch(state, want.min(room) as usize, None).len();
        }

        // Stop old tasks while the healthy ones stay at or above
        // minimumHealthyPercent: unhealthy (or not yet healthy) first.
        let healthy_now =
            |state: &ClusterState, id: &TaskId| state.tasks.live_summary(name, id).is_some_and(|s| s.is_healthy(now));
        let mut healthy = live.iter().filter(|id| healthy_now(state, id)).count() as i64;
        let mut old: Vec<TaskId> = old_tasks.into_iter().filter(|id| still(state, id)).collect();
        // One lookup per task, not one per comparison (ids make keys unique,
        // so the order is the same).
        old.sort_by_cached_key(|id| {
            let s = state.tasks.live_summary(name, id);
            (s.is_some_and(|s| s.is_healthy(now)), s.map(TaskSummary::created_at), id.clone())
        });
        let mut stopped_old = 0;
        let mut blocked = false;
        for id in &old {
            let healthy_task = healthy_now(state, id);
            if healthy_task && healthy - 1 < min_healthy {
                blocked = true;
                continue;
            }
            if healthy_task {
                healthy -= 1;
            }
            self.stops.stop(state, id, now, self.reason);
            stopped_old += 1;
        }

        // Nothing can move while old tasks remain and nothing is on its way
        // (100/100, or a single task with maximumPercent below 200 and
        // minimumHealthyPercent 100): ECS says so in an event.
        let in_transit = live.iter().any(|id| {
            state.tasks.live_summary(name, id).is_some_and(|s| {
                !s.is_running()
                    || s.desired_status() == "STOPPED"
                    || (s.healthy_at().is_none() && !s.judged_unhealthy())
            })
        });
        let failed = self.primary.rollout_state.as_deref() == Some("FAILED");
        if blocked && launched == 0 && stopped_old == 0 && want > 0 && room <= 0 && !in_transit && !failed {
            self.messages.push(events::deployment_configuration_blocks(self.name()));
        }
    }
}

/// Counters, drained deployments, rollout completion, steady state, events.
#[allow(clippy::too_many_arguments)]
fn finish(
    state: &mut ClusterState,
    name: &str,
    live: &[TaskId],
    desired_count: i64,
    scheduling: ServiceScheduling,
    messages: Vec<String>,
    retry_at: Option<Timestamp>,
    now: Timestamp,
) {
    let tasks: Vec<&TaskSummary> = live.iter().filter_map(|id| state.tasks.live_summary(name, id)).collect();
    let Some(entry) = state.services.get_mut(name) else { return };
    // The pass worked on a copy of the bookkeeping (all but the history,
    // which it does not read); the history sees every deployment's last
    // state before drained ones leave the list.
    let history = std::mem::take(&mut entry.scheduling.history);
    entry.scheduling = ServiceScheduling { history, ..scheduling };
    super::history::sync(entry, now);
    let scheduling = &mut entry.scheduling;
    let service: &mut Service = &mut entry.service;
    if service.scheduling_strategy == "DAEMON" && service.status == "ACTIVE" {
        service.desired_count = desired_count;
    }
    let counts = |deployment: &str| {
        let (mut running, mut pending, mut live) = (0, 0, 0);
        for t in tasks.iter().filter(|t| t.started_by() == Some(deployment)) {
            live += 1;
            if t.is_running() {
                running += 1;
            } else if t.is_pending() {
                pending += 1;
            }
        }
        (running, pending, live)
    };
    service.deployments.retain(|d| d.status == "PRIMARY" || counts(&d.id).2 > 0);
    let (mut running, mut pending) = (0, 0);
    for d in &mut service.deployments {
        let (r, p, _) = counts(&d.id);
        if d.status == "PRIMARY" && d.desired_count != service.desired_count {
            d.desired_count = service.desired_count;
            d.updated_at = now;
        }
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
    super::task_sets::tally(service, &tasks, now);
    for message in messages {
        add_event(service, now, message);
    }

    let all_healthy = tasks.iter().all(|t| t.is_healthy(now));
    let settled = service.status == "ACTIVE"
        && service.deployments.len() == 1
        && tasks.len() as i64 == service.desired_count
        && all_healthy;
    let mut completed = false;
    if settled {
        let d = &mut service.deployments[0];
        if d.rollout_state.as_deref() == Some("IN_PROGRESS") {
            d.rollout_state = Some("COMPLETED".into());
            d.rollout_state_reason = Some(format!("ECS deployment {} completed.", d.id));
            d.failed_tasks = 0;
            d.updated_at = now;
            let done = events::deployment_completed(name, &d.id);
            scheduling.last_completed = Some(d.clone());
            add_event(service, now, done);
            completed = true;
        }
    }
    let steady = settled && service.deployments[0].rollout_state.as_deref() == Some("COMPLETED");
    let mut retry_at = retry_at;
    if steady {
        // A completed deployment always ends in a steady state.
        if !scheduling.steady || completed {
            add_event(service, now, events::steady_state(name));
        } else if service.events.first().is_some_and(|e| e.message() == events::steady_state(name)) {
            // Re-logged about every 6 hours while nothing else happens.
            add_event(service, now, events::steady_state(name));
        }
        if let Some(newest) = service.events.first() {
            let relog = Timestamp(newest.created_at().0 + events::EVENT_REPEAT_MILLIS);
            retry_at = Some(retry_at.map_or(relog, |r| r.min(relog)));
        }
    }
    scheduling.steady = steady;
    scheduling.retry_at = retry_at;
    if service.status == "DRAINING" && tasks.is_empty() {
        service.status = "INACTIVE".into();
    }
}
