//! The scheduler's clock work. A tick moves every task whose next change is
//! due ([`crate::emulator::sim::progress`]), then reconciles the services whose tasks
//! changed or that asked for another look ([`crate::emulator::sim::deployments`]), and
//! forgets expired STOPPED tasks.
//!
//! On the real clock a background ticker ticks a few times a second. On a
//! manual clock nothing happens until [`advance`] (`POST
//! /_emulator/clock/advance`), which moves time from one due change to the
//! next and ticks at each, so every change happens at exactly its time and a
//! test gets the same result on any machine, without sleeping.
//!
//! Every (account, region) partition ticks: [`tick_all`] and [`advance`]
//! go over them all, one after another, on the one clock they share.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::emulator::clock::Clock;
use crate::emulator::sim::deployments::{TaskFacts, reconcile_with};
use crate::emulator::sim::progress::{Outcome, advance as advance_task, needs_definition};
use crate::emulator::state::ids::with_rng;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, ClusterState, Partitions, Store, TaskDefinitions, lock, read};

/// What one tick did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TickReport {
    /// Tasks that changed.
    pub tasks: usize,
    /// Services reconciled.
    pub services: usize,
}

impl std::ops::AddAssign for TickReport {
    fn add_assign(&mut self, other: Self) {
        self.tasks += other.tasks;
        self.services += other.services;
    }
}

/// Does the work due at the clock's current time in every cluster.
pub fn tick(store: &Store) -> TickReport {
    with_rng(store.rng.as_ref(), || {
        let mut report = TickReport::default();
        for (_, cell) in store.all_clusters() {
            let mut state = lock(&cell);
            if state.is_active() {
                report += tick_cluster(store, &mut state);
            }
        }
        // After the tasks moved: the autoscaler reads the services as they
        // now are, and a count it sets is acted on in this same tick.
        super::autoscaling::tick(store);
        // Then the capacity providers place the tasks that wait for an
        // instance and scale their groups for them.
        super::capacity_providers::tick(store);
        // Daemons place their tasks on the instances as they now are.
        super::managed_daemons::tick(store);
        super::metrics::sample(store);
        report
    })
}

/// Does the work due at the clock's current time in every partition.
pub fn tick_all(partitions: &Partitions) -> TickReport {
    let mut report = TickReport::default();
    for store in partitions.all() {
        report += tick(&store);
    }
    report
}

/// The earliest time at which something is due in any partition.
fn next_due_all(partitions: &Partitions) -> Option<Timestamp> {
    partitions.all().iter().filter_map(|store| next_due(store)).min()
}

/// How many due tasks ahead of the one it steps a tick asks for records:
/// far enough for a record to arrive from memory while the tasks between
/// are stepped (a step is a microsecond or two), near enough that it is
/// still in the cache when its turn comes. The parts outside a record are
/// asked for half as far ahead, once its record (which points to them) is in.
const PREFETCH_AHEAD: usize = 8;

/// Task definitions by ARN, looked up once per tick.
struct Definitions<'a> {
    registry: &'a TaskDefinitions,
    cache: HashMap<String, Option<Arc<TaskDefinitionEntry>>>,
}

impl Definitions<'_> {
    fn get(&mut self, arn: &str) -> Option<Arc<TaskDefinitionEntry>> {
        if let Some(known) = self.cache.get(arn) {
            return known.clone();
        }
        let resolved = self.registry.resolve(arn);
        self.cache.insert(arn.to_owned(), resolved.clone());
        resolved
    }
}

fn tick_cluster(store: &Store, state: &mut ClusterState) -> TickReport {
    let now = store.now();
    let mut changes = store.changes();
    let mut report = TickReport::default();
    let cluster = state.name().to_owned();
    // Keyed by the service name the service's tasks share (no copy per task).
    let mut facts: HashMap<Arc<str>, TaskFacts> = HashMap::new();
    let mut wake: HashSet<Arc<str>> = HashSet::new();
    {
        let registry = read(&store.task_definitions);
        let mut definitions = Definitions { registry: &registry, cache: HashMap::new() };
        let due = state.tasks.due_by(now);
        for (i, (id, slot)) in due.iter().enumerate() {
            // With tens of thousands of tasks the records are not in the
            // cache: ask for the ones a few steps ahead while this one moves.
            if let Some((_, ahead)) = due.get(i + PREFETCH_AHEAD) {
                state.tasks.prefetch(*ahead);
            }
            if let Some((_, ahead)) = due.get(i + PREFETCH_AHEAD / 2) {
                state.tasks.prefetch_parts(*ahead);
            }
            let Some(mut entry) = state.tasks.get_mut_at(id, *slot) else { continue };
            let td = needs_definition(&entry).then(|| definitions.get(&entry.task.task_definition_arn)).flatten();
            let outcomes =
                advance_task(&mut entry, td.as_ref().map(|td| &td.task_definition), now, &store.timings, store.runtime);
            report.tasks += 1;
            changes.push(|| Change::PutTask { cluster: cluster.clone(), entry: TaskEntry::clone(&entry) });
            let Some(service) = &entry.service_name else { continue };
            wake.insert(service.clone());
            let deployment = || entry.task.started_by.as_deref().unwrap_or_default().to_owned();
            let service_facts = facts.entry(service.clone()).or_default();
            for outcome in outcomes {
                match outcome {
                    Outcome::Started => service_facts.started.push(deployment()),
                    Outcome::FailedToStart => service_facts.failed_to_start.push(deployment()),
                    Outcome::BecameHealthy => service_facts.became_healthy.push(deployment()),
                    Outcome::TargetsRegistered => service_facts.targets_registered.push(id.to_string()),
                    Outcome::TargetsDraining => service_facts.targets_draining.push(id.to_string()),
                    Outcome::TargetsDeregistered => service_facts.targets_deregistered.push(id.to_string()),
                    Outcome::TurnedUnhealthy | Outcome::TargetTurnedUnhealthy | Outcome::Exited | Outcome::Stopped => {}
                }
            }
        }
    }
    for entry in state.services.values() {
        if entry.service.status != "INACTIVE" && entry.scheduling.retry_at.is_some_and(|at| at <= now) {
            wake.insert(entry.service.service_name.as_str().into());
        }
    }
    if !wake.is_empty() {
        let mut names: Vec<Arc<str>> = wake.into_iter().collect();
        names.sort();
        for name in names {
            let name: &str = &name;
            if state.services.get(name).is_none_or(|e| e.service.status == "INACTIVE") {
                continue;
            }
            let tasks = state.tasks.live_of(name);
            let service_facts = facts.remove(name).unwrap_or_default();
            reconcile_with(store, state, name, tasks, &service_facts, &mut changes);
            report.services += 1;
        }
    }
    super::lifecycle::purge_expired(store, state, &mut changes);
    // After the tasks moved and the services acted: Cloud Map holds the
    // tasks that are RUNNING now.
    super::service_discovery::sync(store, state);
    debug_assert!(state.tasks.index_is_consistent(), "the task indexes drifted from the task table");
    if let Err(e) = store.persist(changes) {
        tracing::warn!(error = %e, cluster = %cluster, "could not persist the scheduler's changes");
    }
    report
}

/// The earliest time at which something is due in any cluster: a task's
/// next change, a service's retry, a STOPPED task's expiry, the
/// autoscaler's next datapoint or scheduled action, or CloudWatch's next
/// minute.
pub fn next_due(store: &Store) -> Option<Timestamp> {
    let retention = store.stopped_task_retention_millis;
    let mut next: Option<Timestamp> = None;
    let mut consider = |t: Timestamp| next = Some(next.map_or(t, |n| n.min(t)));
    for (_, cell) in store.all_clusters() {
        let state = lock(&cell);
        if !state.is_active() {
            continue;
        }
        if let Some(due) = state.tasks.next_due() {
            consider(due);
        }
        if let Some(stopped) = state.tasks.earliest_stop() {
            consider(Timestamp(stopped.0.saturating_add(retention).saturating_add(1)));
        }
        for s in state.services.values() {
            if s.service.status != "INACTIVE"
                && let Some(at) = s.scheduling.retry_at
            {
                consider(at);
            }
        }
    }
    if let Some(at) = super::autoscaling::next_due(store) {
        consider(at);
    }
    if let Some(at) = super::capacity_providers::next_due(store) {
        consider(at);
    }
    if let Some(at) = super::metrics::next_due(store) {
        consider(at);
    }
    next
}

/// Why the clock cannot be advanced.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("the emulator runs on the real clock; start it with a manual clock (`--clock manual`) to advance time")]
    NotManual,
    #[error("time can only move forward")]
    Backwards,
}

/// What [`advance`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvanceReport {
    /// The clock after advancing (epoch milliseconds).
    pub now_millis: i64,
    /// Ticks run (one per distinct due time, plus the final one).
    pub ticks: usize,
    #[serde(flatten)]
    pub work: TickReport,
}

/// Ticks run per advance at most, in case something keeps asking for
/// another look at the same instant.
const MAX_TICKS: usize = 1_000_000;

/// Moves a manual clock forward by `millis`, doing all the work due on the
/// way, in every partition, at the time it is due.
pub fn advance(partitions: &Partitions, millis: i64) -> Result<AdvanceReport, ClockError> {
    let clock = partitions.default_store().clock.manual().ok_or(ClockError::NotManual)?;
    if millis < 0 {
        return Err(ClockError::Backwards);
    }
    let target = clock.now_millis().saturating_add(millis);
    let mut report = AdvanceReport::default();
    loop {
        report.work += tick_all(partitions);
        report.ticks += 1;
        let now = clock.now_millis();
        match next_due_all(partitions) {
            Some(due) if due.0 <= target && report.ticks < MAX_TICKS => clock.set_millis(due.0.max(now + 1)),
            _ => break,
        }
    }
    if clock.now_millis() < target {
        clock.set_millis(target);
        report.work += tick_all(partitions);
        report.ticks += 1;
    }
    report.now_millis = clock.now_millis();
    Ok(report)
}
