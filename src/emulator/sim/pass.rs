//! One pass of the service scheduler over a service: what the replica
//! rolling update ([`crate::emulator::sim::deployments`]) and the daemon
//! scheduler ([`crate::emulator::sim::daemon`]) share: launching PRIMARY
//! tasks from the deployment's template, asking tasks to stop, and the
//! back-off that holds launches.

use std::collections::HashMap;

use crate::emulator::rules::placement::{Constraints, service_default_strategy};
use crate::emulator::sim::events;
use crate::emulator::sim::lifecycle::{
    LaunchChoice, LaunchDefinition, LaunchOutcome, LaunchTarget, TaskLaunch, launch, request_stop, settle,
};
use crate::emulator::sim::load_balancers;
use crate::emulator::state::records::*;
use crate::emulator::state::{ClusterState, Store, read};

/// Whether a task still counts (it is not STOPPED).
pub fn is_live(t: &TaskEntry) -> bool {
    !t.is_stopped()
}

/// Stops requested in one pass, for the events and the journal.
#[derive(Default)]
pub struct Stops {
    pub running: Vec<String>,
    pub pending: usize,
    pub touched: Vec<String>,
}

impl Stops {
    /// Asks a task to stop for the scheduler; tasks that never started stop
    /// at once.
    pub fn stop(&mut self, state: &mut ClusterState, id: &str, now: Timestamp, reason: &str) {
        let Some(mut t) = state.tasks.get_mut(id) else { return };
        if !request_stop(&mut t, now, "ServiceSchedulerInitiated", reason) {
            return;
        }
        if settle(&mut t, now) {
            self.pending += 1;
        } else {
            self.running.push(id.to_owned());
        }
        self.touched.push(id.to_owned());
    }
}

/// Whether a task sits on an instance that is no longer ACTIVE.
pub fn on_leaving_instance(state: &ClusterState, t: &TaskEntry) -> bool {
    t.container_instance_id
        .as_ref()
        .is_some_and(|id| state.container_instances.get(id).is_none_or(|i| i.instance.status != "ACTIVE"))
}

/// One reconcile of a service that has a PRIMARY deployment.
pub struct Pass<'a> {
    pub store: &'a Store,
    pub service: &'a Service,
    pub primary: &'a Deployment,
    pub scheduling: &'a mut ServiceScheduling,
    pub reason: &'a str,
    pub now: Timestamp,
    pub stops: &'a mut Stops,
    pub started: &'a mut Vec<String>,
    pub messages: &'a mut Vec<String>,
    pub retry_at: &'a mut Option<Timestamp>,
}

impl Pass<'_> {
    /// The same pass launching from another template and deployment (a task
    /// set's, see `task_sets`).
    pub fn for_template<'b>(&'b mut self, service: &'b Service, primary: &'b Deployment) -> Pass<'b> {
        Pass {
            store: self.store,
            service,
            primary,
            scheduling: &mut *self.scheduling,
            reason: self.reason,
            now: self.now,
            stops: &mut *self.stops,
            started: &mut *self.started,
            messages: &mut *self.messages,
            retry_at: &mut *self.retry_at,
        }
    }

    pub fn name(&self) -> &str {
        &self.service.service_name
    }

    /// Whether new PRIMARY tasks may be launched now (not FAILED, no back-off).
    pub fn may_launch(&mut self) -> bool {
        if self.primary.rollout_state.as_deref() == Some("FAILED") {
            return false;
        }
        match self.scheduling.launch_after {
            Some(at) if at > self.now => {
                *self.retry_at = Some(at);
                false
            }
            _ => true,
        }
    }

    /// Launches up to `count` PRIMARY tasks (on `instance` when given) and
    /// logs what happened.
    pub fn launch(&mut self, state: &mut ClusterState, count: usize, instance: Option<&str>) -> Vec<String> {
        let Some(td) = read(&self.store.task_definitions).resolve(&self.primary.task_definition) else {
            return Vec::new();
        };
        let cluster = state.name().to_owned();
        let choice = launch_choice(self.service, &state.cluster);
        let placed = match &choice {
            LaunchChoice::Strategy(_) => providers_in_use(state, self.name(), &self.primary.id),
            LaunchChoice::LaunchType(_) => HashMap::new(),
        };
        // Constraints were checked when the service was created or updated.
        let constraints =
            Constraints::new(&self.service.placement_constraints, &td.task_definition).unwrap_or_default();
        let strategies = if self.service.placement_strategy.is_empty() {
            service_default_strategy()
        } else {
            self.service.placement_strategy.clone()
        };
        let template = template(self.service, self.primary, &td, &cluster);
        let outcome: LaunchOutcome =
            launch(self.store, state, &template, &choice, count, placed, &constraints, &strategies, instance);
        load_balancers::attach(state, &outcome.task_ids, &self.service.load_balancers);
        if !outcome.task_ids.is_empty() {
            let replaced = self.scheduling.unhealthy_replaced.min(outcome.task_ids.len() as i64);
            self.scheduling.unhealthy_replaced -= replaced;
            self.messages.push(events::started(self.name(), &outcome.task_ids, replaced));
        }
        if let Some(message) = events::unplaced(self.name(), &outcome) {
            self.messages.push(message);
            *self.retry_at = Some(Timestamp(self.now.0 + self.store.timings.placement_retry));
        }
        self.started.extend(outcome.task_ids.iter().cloned());
        outcome.task_ids
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

fn template<'a>(
    service: &'a Service,
    primary: &Deployment,
    td: &'a TaskDefinitionEntry,
    cluster: &str,
) -> TaskLaunch<'a> {
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
        td: LaunchDefinition::new(td),
        target: LaunchTarget::LaunchType(String::new()),
        network_configuration: service.network_configuration.as_ref(),
        platform_version: service.platform_version.as_deref(),
        group: format!("service:{}", service.service_name),
        started_by: Some(primary.id.as_str().into()),
        overrides: None,
        tags,
        enable_execute_command: service.enable_execute_command,
        service_name: Some(service.service_name.as_str().into()),
    }
}

/// Tasks per capacity provider that the PRIMARY deployment keeps: the
/// strategy's base and weights split the deployment's desired count, so
/// tasks on their way out (asked to stop, interrupted Spot tasks in their
/// warning, older deployments' tasks) must not count, or their replacements
/// would go to the wrong provider.
fn providers_in_use(state: &ClusterState, name: &str, primary: &str) -> HashMap<String, i64> {
    let mut placed = HashMap::new();
    for t in state.tasks.live_of(name).iter().filter_map(|id| state.tasks.get(id)) {
        if t.task.desired_status == "RUNNING"
            && t.task.started_by.as_deref() == Some(primary)
            && let Some(p) = &t.task.capacity_provider_name
        {
            *placed.entry(p.clone()).or_default() += 1;
        }
    }
    placed
}
