//! Task records and their state changes on request: building a new task as
//! ECS shows it at creation (PROVISIONING for awsvpc, PENDING otherwise,
//! desiredStatus RUNNING, its fate from the failure rules and the time of
//! its first change), asking a task to stop, finishing the stop of a task
//! that never started, launching tasks onto instances, and forgetting
//! expired STOPPED tasks. Timed changes belong to [`crate::emulator::sim::progress`].

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::emulator::rules::awsvpc::{self, Eni, Spread};
use crate::emulator::sim::fates::fates;
use crate::emulator::state::addresses::Addresses;
use crate::emulator::state::failure_rules::TaskContext;
use crate::emulator::state::ids::{hex32, uuid};
use crate::emulator::state::records::*;
use crate::emulator::state::{Runtime, Store};

/// How a task is launched: a launch type or a capacity provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaunchTarget {
    LaunchType(String),
    CapacityProvider(String),
}

impl LaunchTarget {
    /// FARGATE, or a Fargate capacity provider.
    pub fn is_fargate(&self) -> bool {
        match self {
            Self::LaunchType(t) => t == "FARGATE",
            Self::CapacityProvider(p) => p == "FARGATE" || p == "FARGATE_SPOT",
        }
    }

    /// The launch type tasks report.
    pub fn launch_type(&self) -> String {
        match self {
            Self::LaunchType(t) => t.clone(),
            Self::CapacityProvider(_) if self.is_fargate() => "FARGATE".into(),
            Self::CapacityProvider(_) => "EC2".into(),
        }
    }
}

/// Picks the capacity provider for the next task: the provider with a `base`
/// until it holds that many, then the one furthest below its weight share.
pub fn pick_provider(strategy: &[CapacityProviderStrategyItem], placed: &HashMap<String, i64>) -> String {
    let count = |name: &str| placed.get(name).copied().unwrap_or(0);
    if let Some(item) = strategy.iter().find(|i| i.base > 0 && count(&i.capacity_provider) < i64::from(i.base)) {
        return item.capacity_provider.clone();
    }
    // Beyond base, the provider whose next task keeps it closest to its
    // weight share: smallest (tasks beyond base + 1) / weight.
    strategy
        .iter()
        .filter(|i| i.weight > 0)
        .min_by(|a, b| {
            let load = |i: &CapacityProviderStrategyItem| {
                let extra = (count(&i.capacity_provider) - i64::from(i.base.max(0))).max(0);
                (extra + 1) as f64 / f64::from(i.weight)
            };
            load(a).total_cmp(&load(b)).then_with(|| b.weight.cmp(&a.weight))
        })
        .map(|i| i.capacity_provider.clone())
        .unwrap_or_default()
}

/// The task definition a launch makes tasks of, with the strings those tasks
/// share: its ARN and its containers' names, one copy for all of them
/// rather than one per task. A tick reads both for each starting or running
/// task it steps (to find the definition, and each container's definition
/// in it); copied per task they were heap reads at random, cold in a fleet
/// of tens of thousands of tasks, where shared ones stay in the cache.
#[derive(Clone)]
pub struct LaunchDefinition<'a> {
    entry: &'a TaskDefinitionEntry,
    arn: Arc<str>,
    /// In the order of the definition's containers.
    container_names: Arc<[Arc<str>]>,
}

impl<'a> LaunchDefinition<'a> {
    pub fn new(entry: &'a TaskDefinitionEntry) -> Self {
        let td = &entry.task_definition;
        let container_names = td.container_definitions.iter().map(|c| Arc::from(c.name())).collect();
        Self { entry, arn: td.task_definition_arn.as_str().into(), container_names }
    }
}

impl std::ops::Deref for LaunchDefinition<'_> {
    type Target = TaskDefinitionEntry;

    fn deref(&self) -> &TaskDefinitionEntry {
        self.entry
    }
}

/// Everything needed to create one task.
pub struct TaskLaunch<'a> {
    pub td: LaunchDefinition<'a>,
    pub target: LaunchTarget,
    pub network_configuration: Option<&'a NetworkConfiguration>,
    pub platform_version: Option<&'a str>,
    pub group: String,
    pub started_by: Option<std::sync::Arc<str>>,
    pub overrides: Option<Value>,
    pub tags: Vec<Tag>,
    pub enable_execute_command: bool,
    pub service_name: Option<std::sync::Arc<str>>,
}

/// The platform version `LATEST` resolves to on Fargate.
pub const LATEST_FARGATE_PLATFORM: &str = "1.4.0";

/// Builds a new task record as ECS shows it right after creation.
pub fn new_task(
    store: &Store,
    cluster: &str,
    id: &str,
    launch: &TaskLaunch,
    instance: Option<&ContainerInstanceEntry>,
    eni: Option<&Eni>,
    reservation: Reservation,
) -> TaskEntry {
    let td = &launch.td.task_definition;
    let task_arn = store.arns.task(cluster, id);
    let now = store.now();
    let awsvpc = td.effective_network_mode() == "awsvpc";
    let (attachment, interface) = match eni {
        Some(eni) if awsvpc => {
            let (attachment, interface) = awsvpc::attachment(&store.arns.region, eni);
            (Some(attachment), interface)
        }
        Some(_) => (None, None),
        // No subnet to put it in (not reachable through the API, which
        // requires one): an ENI without details, as before it is attached.
        None if awsvpc => (
            Some(TaskAttachment {
                id: uuid(),
                kind: awsvpc::ENI.into(),
                status: "ATTACHING".into(),
                details: Vec::new(),
            }),
            None,
        ),
        None => (None, None),
    };
    let containers = td
        .container_definitions
        .iter()
        .zip(launch.td.container_names.iter())
        .map(|(c, name)| Container {
            container_arn: store.arns.container(cluster, id, &uuid()),
            task_arn: task_arn.clone(),
            name: name.clone(),
            image: c.image.clone(),
            last_status: "PENDING".into(),
            exit_code: None,
            reason: None,
            network_bindings: Vec::new(),
            network_interfaces: interface.iter().cloned().collect(),
            health_status: "UNKNOWN".into(),
            cpu: c.cpu.to_string(),
            memory: c.memory.map(|m| m.to_string()),
            memory_reservation: c.memory_reservation.map(|m| m.to_string()),
            runtime_id: None,
        })
        .collect();
    let overrides = launch.overrides.clone().unwrap_or_else(|| {
        let names: Vec<Value> = td.container_definitions.iter().map(|c| json!({ "name": c.name() })).collect();
        json!({ "containerOverrides": names, "inferenceAcceleratorOverrides": [] })
    });
    let fargate = launch.target.is_fargate();
    // On an instance the task is in the instance's zone; on Fargate in its
    // ENI's subnet's zone.
    let availability_zone = match instance {
        Some(i) => i.availability_zone.clone(),
        None => eni.map(|e| e.availability_zone.clone()),
    };
    let platform_version = fargate.then(|| match launch.platform_version {
        None | Some("LATEST") => LATEST_FARGATE_PLATFORM.to_owned(),
        Some(v) => v.to_owned(),
    });
    let task = Task {
        task_arn,
        cluster_arn: store.arns.cluster(cluster),
        task_definition_arn: launch.td.arn.clone(),
        container_instance_arn: instance.map(|i| i.instance.container_instance_arn.clone()),
        overrides,
        last_status: if awsvpc { "PROVISIONING" } else { "PENDING" }.into(),
        desired_status: "RUNNING".into(),
        cpu: td.cpu.clone(),
        memory: td.memory.clone(),
        containers,
        started_by: launch.started_by.clone(),
        version: 1,
        stop_code: None,
        stopped_reason: None,
        connectivity: None,
        connectivity_at: None,
        created_at: now,
        pull_started_at: None,
        pull_stopped_at: None,
        started_at: None,
        stopping_at: None,
        execution_stopped_at: None,
        stopped_at: None,
        group: launch.group.clone(),
        launch_type: Some(launch.target.launch_type().into()),
        capacity_provider_name: match &launch.target {
            LaunchTarget::CapacityProvider(p) => Some(p.clone()),
            LaunchTarget::LaunchType(_) => None,
        },
        platform_version,
        platform_family: fargate.then(|| "Linux".to_owned()),
        availability_zone,
        attachments: attachment.into_iter().collect(),
        attributes: Vec::new(),
        health_status: "UNKNOWN".into(),
        tags: launch.tags.clone(),
        enable_execute_command: launch.enable_execute_command,
        ephemeral_storage: td.ephemeral_storage.clone(),
        inference_accelerators: td.inference_accelerators.clone(),
    };
    let fates = {
        let rules = crate::emulator::state::read(&store.failure_rules);
        let context = TaskContext { cluster, service: launch.service_name.as_deref(), family: &td.family };
        fates(td, launch.overrides.as_ref(), &rules, &context)
    };
    let first_change = if awsvpc { store.timings.provision } else { store.timings.pull };
    TaskEntry {
        task,
        service_name: launch.service_name.clone(),
        container_instance_id: instance.map(|i| i.id().to_owned()),
        reservation,
        // With Docker, a task without an ENI waits in PENDING for the agent.
        due: (awsvpc || store.runtime == Runtime::Simulated).then_some(Timestamp(now.0 + first_change)),
        fates,
        healthy_at: None,
        spot_warning_until: None,
        targets: Vec::new(),
    }
}

/// Asks a task to stop; returns false when it had already been asked.
/// ECS deletes a task's tags when it is stopped.
pub fn request_stop(task: &mut TaskEntry, now: Timestamp, stop_code: &str, reason: &str) -> bool {
    if task.task.desired_status == "STOPPED" {
        return false;
    }
    task.task.desired_status = "STOPPED".into();
    task.task.stop_code = Some(stop_code.to_owned());
    task.task.stopped_reason = Some(reason.to_owned());
    task.task.stopping_at = Some(now);
    task.task.tags.clear();
    task.task.version += 1;
    // The scheduler takes it from here (DEACTIVATING → ... → STOPPED).
    task.due = Some(now);
    true
}

/// Finishes the stop of a task that never started: with no container to
/// signal, it goes straight to STOPPED, as ECS does within seconds. Returns
/// whether the task changed.
pub fn settle(task: &mut TaskEntry, now: Timestamp) -> bool {
    let never_started = matches!(task.task.last_status.as_str(), "PROVISIONING" | "PENDING");
    if task.task.desired_status != "STOPPED" || !never_started {
        return false;
    }
    mark_stopped(task, now);
    true
}

/// Stops a task at once whatever its state, as when its host is gone (its
/// load-balancer targets go with it, without draining).
pub fn stop_at_once(task: &mut TaskEntry, now: Timestamp) {
    if task.is_stopped() {
        return;
    }
    for target in &mut task.targets {
        target.state = TargetState::Deregistered;
    }
    task.task.desired_status = "STOPPED".into();
    task.task.stopping_at.get_or_insert(now);
    mark_stopped(task, now);
}

/// The task is STOPPED as of `now`: its containers stopped, its ENI deleted,
/// nothing more due.
fn mark_stopped(task: &mut TaskEntry, now: Timestamp) {
    task.task.last_status = "STOPPED".into();
    task.task.execution_stopped_at = Some(now);
    task.task.stopped_at = Some(now);
    task.due = None;
    for c in &mut task.task.containers {
        c.last_status = "STOPPED".into();
    }
    task.task.set_attachments_status("DELETED");
    task.task.version += 1;
}

/// Counts toward a service's or cluster's pending tasks.
pub fn is_pending(task: &Task) -> bool {
    is_pending_status(&task.last_status)
}

/// How the launch target of each new task is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaunchChoice {
    LaunchType(String),
    Strategy(Vec<CapacityProviderStrategyItem>),
}

/// What a launch produced: task ids added to the cluster, per-task failures,
/// and whether the cluster had no instance at all for an EC2/EXTERNAL launch.
#[derive(Debug, Default)]
pub struct LaunchOutcome {
    pub task_ids: Vec<String>,
    pub failures: Vec<Failure>,
    pub no_instances: bool,
}

/// Creates up to `count` tasks in `state`: Fargate tasks always fit; EC2 and
/// EXTERNAL tasks are placed on a container instance by the constraints and
/// strategies (`on_instance` forces one, as StartTask does) or fail with
/// ECS's `failures[].reason`.
#[allow(clippy::too_many_arguments)]
pub fn launch(
    store: &Store,
    state: &mut crate::emulator::state::ClusterState,
    template: &TaskLaunch,
    choice: &LaunchChoice,
    count: usize,
    mut placed: HashMap<String, i64>,
    constraints: &crate::emulator::rules::placement::Constraints,
    strategies: &[PlacementStrategy],
    on_instance: Option<&str>,
) -> LaunchOutcome {
    use crate::emulator::rules::placement::{Placement, Usage, misfit_with, place, reservation};
    let mut outcome = LaunchOutcome::default();
    let need = reservation(&template.td.task_definition);
    let cluster = state.name().to_owned();
    // What instances hold is only needed for EC2 and EXTERNAL tasks; Fargate
    // launches skip the scan of every task in the cluster.
    let mut usage: Option<Usage> = None;
    // awsvpc tasks get an ENI in one of the subnets, balanced over their
    // zones by where the group's tasks are (looked at only when there is a
    // choice to make; a standalone group needs a scan of the cluster).
    let subnets: &[String] = template
        .network_configuration
        .and_then(|nc| nc.awsvpc_configuration.as_ref())
        .map_or(&[], |vpc| vpc.subnets.as_slice());
    let awsvpc = template.td.task_definition.effective_network_mode() == "awsvpc";
    let mut spread = (awsvpc && !subnets.is_empty()).then(|| match &template.service_name {
        _ if !awsvpc::is_choice(subnets) => Spread::default(),
        // A service's tasks come from the task table's index.
        Some(service) => {
            let live = state.tasks.live_of(service);
            Spread::of(live.iter().filter_map(|id| state.tasks.get(id)), &template.group)
        }
        None => Spread::of(state.tasks.values(), &template.group),
    });
    for _ in 0..count {
        let target = match choice {
            LaunchChoice::LaunchType(t) => LaunchTarget::LaunchType(t.clone()),
            LaunchChoice::Strategy(items) => LaunchTarget::CapacityProvider(pick_provider(items, &placed)),
        };
        let instance_id = if target.is_fargate() {
            None
        } else if let Some(id) = on_instance {
            let Some(instance) = state.container_instances.get(id) else {
                outcome.failures.push(Failure { arn: id.to_owned(), reason: "MISSING".into(), detail: None });
                continue;
            };
            if instance.instance.status != "ACTIVE" {
                outcome.failures.push(Failure {
                    arn: instance.instance.container_instance_arn.clone(),
                    reason: "INACTIVE".into(),
                    detail: None,
                });
                continue;
            }
            let used = usage.get_or_insert_with(|| Usage::of(state)).used(id);
            if let Some(reason) = misfit_with(instance, &used, &need) {
                outcome.failures.push(Failure {
                    arn: instance.instance.container_instance_arn.clone(),
                    reason: reason.into(),
                    detail: None,
                });
                continue;
            }
            Some(id.to_owned())
        } else {
            let launch_type = target.launch_type();
            let provider = match &target {
                LaunchTarget::CapacityProvider(p) => Some(p.as_str()),
                LaunchTarget::LaunchType(_) => None,
            };
            let usage = usage.get_or_insert_with(|| Usage::of(state));
            match place(state, usage, &launch_type, provider, &need, &template.group, constraints, strategies) {
                Placement::On(id) => Some(id),
                // A capacity provider's task that fits no instance of its
                // group waits in PROVISIONING for the group to grow, as
                // ECS does (see `sim::capacity_providers`).
                Placement::Failed { .. } | Placement::NoInstances if provider.is_some() => None,
                Placement::Failed { arn, reason } => {
                    outcome.failures.push(Failure { arn, reason, detail: None });
                    continue;
                }
                Placement::NoInstances => {
                    outcome.no_instances = true;
                    break;
                }
            }
        };
        let launch = TaskLaunch {
            td: template.td.clone(),
            target: target.clone(),
            network_configuration: template.network_configuration,
            platform_version: template.platform_version,
            group: template.group.clone(),
            started_by: template.started_by.clone(),
            overrides: template.overrides.clone(),
            tags: template.tags.clone(),
            enable_execute_command: template.enable_execute_command,
            service_name: template.service_name.clone(),
        };
        let instance = instance_id.as_deref().and_then(|id| state.container_instances.get(id));
        let zone = instance.and_then(|i| i.availability_zone.as_deref());
        let task_id = hex32();
        let eni = spread.as_mut().and_then(|s| s.place(&store.arns.region, subnets, zone)).map(|(subnet_id, zone)| {
            let tasks = &state.tasks;
            let book = state.addresses.get_or_insert_with(|| Addresses::of(tasks.iter()));
            let private_ip = book.allocate(&subnet_id, &task_id, |id| tasks.get(id).is_some_and(|t| !t.is_stopped()));
            Eni { subnet_id, availability_zone: zone, private_ip }
        });
        let mut entry = new_task(store, &cluster, &task_id, &launch, instance, eni.as_ref(), need.clone());
        if instance.is_none() && !target.is_fargate() {
            wait_for_capacity(&mut entry);
        }
        if let LaunchTarget::CapacityProvider(p) = &target {
            *placed.entry(p.clone()).or_default() += 1;
        }
        let id = entry.id().to_owned();
        if let (Some(instance), Some(usage)) = (&instance_id, &mut usage) {
            usage.add(instance, &need, &template.group);
        }
        state.tasks.insert(id.clone(), entry);
        outcome.task_ids.push(id);
    }
    outcome
}

/// A capacity provider's task with no instance to go on: PROVISIONING,
/// with nothing timed, until the provider places it on an instance of its
/// group ([`is_waiting_for_capacity`]).
fn wait_for_capacity(entry: &mut TaskEntry) {
    entry.task.last_status = "PROVISIONING".into();
    entry.due = None;
}

/// A task that waits in PROVISIONING for an instance of its capacity
/// provider's group.
pub fn is_waiting_for_capacity(entry: &TaskEntry) -> bool {
    entry.container_instance_id.is_none()
        && entry.task.last_status == "PROVISIONING"
        && entry.task.desired_status == "RUNNING"
        && entry.task.capacity_provider_name.as_deref().is_some_and(|p| p != "FARGATE" && p != "FARGATE_SPOT")
}

/// Forgets STOPPED tasks stopped longer ago than the retention, and RunTask
/// tokens as old, so a long-running emulator's memory stays flat under task
/// churn (ECS drops stopped tasks after about an hour).
///
/// Called on every scheduler tick and every write that creates tasks, so it
/// must be cheap when nothing expires: expired tasks come from the task
/// table's stop-time index, and a pass records in `ClusterState::purge_due`
/// the earliest instant anything can expire, so calls before it return at
/// once. That bound holds without tracking where tasks stop: whatever stops
/// or is created later does so at or after the pass, so it cannot expire
/// before `pass time + retention`.
pub fn purge_expired(
    store: &Store,
    state: &mut crate::emulator::state::ClusterState,
    changes: &mut crate::emulator::state::Changes,
) {
    let now = store.now();
    if state.purge_due.is_some_and(|due| now < due) {
        return;
    }
    let retention = store.stopped_task_retention_millis;
    let horizon = now.0 - retention;
    // The first instant at which something stamped `at` is past the retention.
    let expiry = |at: Timestamp| Timestamp(at.0.saturating_add(retention).saturating_add(1));
    let mut due = expiry(now);
    let cluster = state.name().to_owned();
    for id in state.tasks.stopped_before(Timestamp(horizon)) {
        state.tasks.remove(&id);
        // Its protection goes with it (replaying DeleteTask drops it too).
        state.task_protection.remove(id.as_str());
        changes.push(|| crate::emulator::state::Change::DeleteTask { cluster: cluster.clone(), id: id.to_string() });
    }
    if let Some(at) = state.tasks.earliest_stop() {
        due = due.min(expiry(at));
    }
    let mut tokens: Vec<String> = Vec::new();
    for (token, t) in &state.run_task_tokens {
        if t.created_at.0 < horizon {
            tokens.push(token.clone());
        } else {
            due = due.min(expiry(t.created_at));
        }
    }
    for token in tokens {
        state.run_task_tokens.remove(&token);
        changes.push(|| crate::emulator::state::Change::DeleteRunTaskToken { cluster: cluster.clone(), token });
    }
    state.purge_due = Some(due);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, base: i32, weight: i32) -> CapacityProviderStrategyItem {
        CapacityProviderStrategyItem { capacity_provider: name.into(), base, weight }
    }

    /// The providers of `n` tasks placed one after another.
    fn split(strategy: &[CapacityProviderStrategyItem], n: usize) -> HashMap<String, i64> {
        let mut placed = HashMap::new();
        for _ in 0..n {
            *placed.entry(pick_provider(strategy, &placed)).or_default() += 1;
        }
        placed
    }

    #[test]
    fn weights_split_tasks_in_proportion() {
        // ECS's documented example: A weight 1, B weight 4 ⇒ 1 of every 5 on A.
        let strategy = [item("A", 0, 1), item("B", 0, 4)];
        let placed = split(&strategy, 10);
        assert_eq!((placed["A"], placed["B"]), (2, 8));
        let placed = split(&strategy, 5);
        assert_eq!((placed["A"], placed["B"]), (1, 4));
    }

    #[test]
    fn base_tasks_go_first_then_the_rest_by_weight() {
        let strategy = [item("FARGATE", 2, 1), item("FARGATE_SPOT", 0, 3)];
        let mut placed = HashMap::new();
        let mut order = Vec::new();
        for _ in 0..6 {
            let p = pick_provider(&strategy, &placed);
            *placed.entry(p.clone()).or_default() += 1;
            order.push(p);
        }
        assert_eq!(&order[..2], ["FARGATE", "FARGATE"], "base first");
        // The 4 beyond base split 1:3.
        assert_eq!((placed["FARGATE"], placed["FARGATE_SPOT"]), (3, 3));
    }

    #[test]
    fn weight_zero_gets_nothing_beyond_base() {
        let strategy = [item("FARGATE", 1, 0), item("FARGATE_SPOT", 0, 1)];
        let placed = split(&strategy, 4);
        assert_eq!((placed["FARGATE"], placed["FARGATE_SPOT"]), (1, 3));
    }
}
