//! Where a task can go: the resources a task needs, what a container
//! instance has left, and the choice among instances that fit.
//!
//! Placement follows ECS: candidates are ACTIVE instances of the launch type;
//! those short of CPU, memory or host ports, or outside a `memberOf` or
//! `distinctInstance` constraint, drop out (binding); then the strategies
//! (binpack, spread, random) pick among the rest in order, the first deciding
//! and later ones breaking its ties, and a random pick settles what is left.
//! Services default to spreading over availability zones, then instances;
//! RunTask defaults to random.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::emulator::rules::query::{Expr, parse};
use crate::emulator::rules::validation::{parse_task_cpu, parse_task_memory};
use crate::emulator::state::ClusterState;
use crate::emulator::state::ids::random_index;
use crate::emulator::state::records::*;
use crate::emulator::wire::error::EcsResult;

/// What one task of `td` holds on an instance.
pub fn reservation(td: &TaskDefinition) -> Reservation {
    let cpu = td
        .cpu
        .as_deref()
        .and_then(parse_task_cpu)
        .unwrap_or_else(|| td.container_definitions.iter().map(|c| i64::from(c.cpu)).sum());
    let memory = td.memory.as_deref().and_then(parse_task_memory).unwrap_or_else(|| {
        td.container_definitions.iter().map(|c| i64::from(c.memory_reservation.or(c.memory).unwrap_or(0))).sum()
    });
    let mut reservation = Reservation { cpu, memory, ..Default::default() };
    if matches!(td.effective_network_mode(), "bridge" | "host") {
        for pm in td.container_definitions.iter().flat_map(|c| &c.port_mappings) {
            if let Some(port) = pm.host_port.filter(|p| *p > 0) {
                if pm.protocol.as_deref() == Some("udp") {
                    reservation.udp_ports.push(port);
                } else {
                    reservation.tcp_ports.push(port);
                }
            }
        }
    }
    reservation
}

fn integer_resource(resources: &[Resource], name: &str) -> i64 {
    resources
        .iter()
        .find(|r| r.name.as_deref() == Some(name))
        .and_then(|r| r.integer_value.or(r.long_value).or(r.double_value.map(|d| d as i64)))
        .unwrap_or(0)
}

fn port_set(resources: &[Resource], name: &str) -> Vec<String> {
    resources
        .iter()
        .find(|r| r.name.as_deref() == Some(name))
        .and_then(|r| r.string_set_value.clone())
        .unwrap_or_default()
}

/// The sum of reservations of the non-STOPPED tasks on an instance.
pub fn used_on(state: &ClusterState, instance_id: &str) -> Reservation {
    let mut used = Reservation::default();
    for t in state.tasks.values() {
        if t.container_instance_id.as_deref() == Some(instance_id) && !t.is_stopped() {
            used.cpu += t.reservation.cpu;
            used.memory += t.reservation.memory;
            used.tcp_ports.extend(&t.reservation.tcp_ports);
            used.udp_ports.extend(&t.reservation.udp_ports);
        }
    }
    used
}

/// `remainingResources`: registered minus what non-STOPPED tasks hold.
pub fn remaining_resources(instance: &ContainerInstance, used: &Reservation) -> Vec<Resource> {
    let registered = &instance.registered_resources;
    let mut remaining = Vec::new();
    for r in registered {
        let mut r = r.clone();
        match r.name.as_deref() {
            Some("CPU") => r.integer_value = Some(integer_resource(registered, "CPU") - used.cpu),
            Some("MEMORY") => r.integer_value = Some(integer_resource(registered, "MEMORY") - used.memory),
            Some(name @ ("PORTS" | "PORTS_UDP")) => {
                let mut ports = port_set(registered, name);
                let extra = if name == "PORTS" { &used.tcp_ports } else { &used.udp_ports };
                ports.extend(extra.iter().map(i32::to_string));
                r.string_set_value = Some(ports);
            }
            _ => {}
        }
        remaining.push(r);
    }
    remaining
}

/// Why `instance` cannot take a task needing `need` on top of what its tasks
/// already hold (`used`), as a `failures[].reason`.
pub fn misfit_with(instance: &ContainerInstanceEntry, used: &Reservation, need: &Reservation) -> Option<&'static str> {
    let registered = &instance.instance.registered_resources;
    if integer_resource(registered, "CPU") - used.cpu < need.cpu {
        return Some("RESOURCE:CPU");
    }
    if integer_resource(registered, "MEMORY") - used.memory < need.memory {
        return Some("RESOURCE:MEMORY");
    }
    let taken = |name: &str, in_use: &[i32]| -> HashSet<i32> {
        port_set(registered, name).iter().filter_map(|p| p.parse().ok()).chain(in_use.iter().copied()).collect()
    };
    if !need.tcp_ports.is_empty() {
        let tcp = taken("PORTS", &used.tcp_ports);
        if need.tcp_ports.iter().any(|p| tcp.contains(p)) {
            return Some("RESOURCE:PORTS");
        }
    }
    if !need.udp_ports.is_empty() {
        let udp = taken("PORTS_UDP", &used.udp_ports);
        if need.udp_ports.iter().any(|p| udp.contains(p)) {
            return Some("RESOURCE:PORTS_UDP");
        }
    }
    if !instance.instance.agent_connected {
        return Some("AGENT");
    }
    None
}

/// What the non-STOPPED tasks of a cluster hold on each instance, and how
/// many tasks of each group run there: built once per launch (one pass over
/// the tasks) and updated as tasks are placed, so placing N tasks costs
/// N × instances, not N × instances × tasks.
#[derive(Debug, Default)]
pub struct Usage {
    by_instance: HashMap<String, Reservation>,
    /// group → instance id → tasks.
    groups: HashMap<String, HashMap<String, usize>>,
}

impl Usage {
    pub fn of(state: &ClusterState) -> Self {
        let mut usage = Self::default();
        for t in state.tasks.values() {
            if let (Some(instance), false) = (&t.container_instance_id, t.is_stopped()) {
                usage.add(instance, &t.reservation, &t.task.group);
            }
        }
        usage
    }

    pub fn add(&mut self, instance: &str, need: &Reservation, group: &str) {
        let used = self.by_instance.entry(instance.to_owned()).or_default();
        used.cpu += need.cpu;
        used.memory += need.memory;
        used.tcp_ports.extend(&need.tcp_ports);
        used.udp_ports.extend(&need.udp_ports);
        *self.groups.entry(group.to_owned()).or_default().entry(instance.to_owned()).or_default() += 1;
    }

    pub fn used(&self, instance: &str) -> Reservation {
        self.by_instance.get(instance).cloned().unwrap_or_default()
    }

    /// Tasks of `group` on `instance`.
    pub fn group_on(&self, group: &str, instance: &str) -> usize {
        self.groups.get(group).and_then(|g| g.get(instance)).copied().unwrap_or(0)
    }
}

/// Whether an instance serves the launch type: EXTERNAL instances are the
/// ones registered with `ecs.capability.external`.
pub fn serves(instance: &ContainerInstanceEntry, launch_type: &str) -> bool {
    let external = instance.instance.attributes.iter().any(|a| a.name == "ecs.capability.external");
    (launch_type == "EXTERNAL") == external
}

/// The binding placement rules of one launch: the request's or service's
/// constraints plus the task definition's `memberOf` ones.
#[derive(Clone, Debug, Default)]
pub struct Constraints {
    pub distinct_instance: bool,
    pub member_of: Vec<Expr>,
}

impl Constraints {
    pub fn new(given: &[PlacementConstraint], td: &TaskDefinition) -> EcsResult<Self> {
        let mut constraints = Self::default();
        let from_td = td
            .placement_constraints
            .iter()
            .map(|c| (c.get("type").and_then(Value::as_str), c.get("expression").and_then(Value::as_str)));
        let given = given.iter().map(|c| (c.r#type.as_deref(), c.expression.as_deref()));
        for (kind, expression) in given.chain(from_td) {
            match (kind, expression) {
                (Some("distinctInstance"), _) => constraints.distinct_instance = true,
                (Some("memberOf"), Some(e)) => constraints.member_of.push(parse(e)?),
                _ => {}
            }
        }
        Ok(constraints)
    }
}

/// Outcome of placing one task.
pub enum Placement {
    On(String),
    /// No instance fits: the closest instance's ARN and the reason.
    Failed {
        arn: String,
        reason: String,
    },
    /// The cluster has no instance at all for this launch type.
    NoInstances,
}

/// The strategies services use when they name none: spread over
/// availability zones, then over instances.
pub fn service_default_strategy() -> Vec<PlacementStrategy> {
    vec![
        PlacementStrategy { r#type: Some("spread".into()), field: Some("attribute:ecs.availability-zone".into()) },
        PlacementStrategy { r#type: Some("spread".into()), field: Some("instanceId".into()) },
    ]
}

/// The value an instance has for a spread field (`instanceId`/`host` or
/// `attribute:<name>`); instances without the attribute share the `None`
/// value.
fn spread_value(instance: &ContainerInstanceEntry, field: &str) -> Option<String> {
    if field.eq_ignore_ascii_case("instanceId") || field.eq_ignore_ascii_case("host") {
        return Some(instance.id().to_owned());
    }
    let name = field.strip_prefix("attribute:")?;
    instance.instance.attributes.iter().find(|a| a.name == name).map(|a| a.value.clone().unwrap_or_default())
}

fn remaining(instance: &ContainerInstanceEntry, used: &Reservation, field: &str) -> i64 {
    let registered = &instance.instance.registered_resources;
    if field.eq_ignore_ascii_case("memory") {
        integer_resource(registered, "MEMORY") - used.memory
    } else {
        integer_resource(registered, "CPU") - used.cpu
    }
}

/// Keeps the instances that minimise `key`.
fn keep_min<K: Ord>(
    fits: Vec<&ContainerInstanceEntry>,
    key: impl Fn(&ContainerInstanceEntry) -> K,
) -> Vec<&ContainerInstanceEntry> {
    let Some(best) = fits.iter().map(|i| key(i)).min() else { return fits };
    fits.into_iter().filter(|i| key(i) == best).collect()
}

/// Applies the strategies in order to the instances that fit; the first
/// decides, later ones break ties, a random pick settles the rest.
fn choose<'a>(
    candidates: &[&'a ContainerInstanceEntry],
    mut fits: Vec<&'a ContainerInstanceEntry>,
    usage: &Usage,
    group: &str,
    strategies: &[PlacementStrategy],
) -> &'a ContainerInstanceEntry {
    for strategy in strategies {
        if fits.len() <= 1 {
            break;
        }
        let field = strategy.field.as_deref().unwrap_or_default();
        fits = match strategy.r#type.as_deref() {
            Some("binpack") => keep_min(fits, |i| remaining(i, &usage.used(i.id()), field)),
            Some("spread") => {
                // Tasks of the group per value, over every candidate instance.
                let mut per_value: HashMap<Option<String>, usize> = HashMap::new();
                for i in candidates {
                    *per_value.entry(spread_value(i, field)).or_default() += usage.group_on(group, i.id());
                }
                keep_min(fits, |i| per_value.get(&spread_value(i, field)).copied().unwrap_or(0))
            }
            Some("random") => {
                let pick = fits[random_index() % fits.len()];
                vec![pick]
            }
            _ => fits,
        };
    }
    fits[random_index() % fits.len()]
}

/// Picks an ACTIVE instance of the launch type that fits `need` and the
/// constraints (`distinctInstance` applies to `group`), by the strategies;
/// a task of a capacity provider goes only on that provider's instances.
#[allow(clippy::too_many_arguments)]
pub fn place(
    state: &ClusterState,
    usage: &Usage,
    launch_type: &str,
    provider: Option<&str>,
    need: &Reservation,
    group: &str,
    constraints: &Constraints,
    strategies: &[PlacementStrategy],
) -> Placement {
    let candidates: Vec<&ContainerInstanceEntry> = state
        .container_instances
        .values()
        .filter(|i| i.instance.status == "ACTIVE" && serves(i, launch_type))
        .filter(|i| provider.is_none_or(|p| i.instance.capacity_provider_name.as_deref() == Some(p)))
        .collect();
    if candidates.is_empty() {
        return Placement::NoInstances;
    }
    let mut first_failure = None;
    let mut fits = Vec::new();
    for instance in &candidates {
        let outside = constraints.member_of.iter().any(|e| !e.matches(state, instance));
        let reason = outside.then_some("MemberOf placement constraint unsatisfied.");
        let reason = reason.or_else(|| misfit_with(instance, &usage.used(instance.id()), need)).or_else(|| {
            let taken = constraints.distinct_instance && usage.group_on(group, instance.id()) > 0;
            taken.then_some("DistinctInstance placement constraint unsatisfied.")
        });
        match reason {
            None => fits.push(*instance),
            Some(reason) => {
                if first_failure.is_none() {
                    first_failure = Some((instance.instance.container_instance_arn.clone(), reason));
                }
            }
        }
    }
    if fits.is_empty() {
        let (arn, reason) = first_failure.unwrap_or_default();
        return Placement::Failed { arn, reason: reason.to_owned() };
    }
    Placement::On(choose(&candidates, fits, usage, group, strategies).id().to_owned())
}

/// Orders a service's tasks for scale-in by its strategies: spread takes
/// from the value with the most tasks, binpack from the instance with the
/// most left (so instances empty out); without a strategy (Fargate, or the
/// default) from the availability zone with the most tasks, those not yet
/// RUNNING first; the newest go first among equals. Returns task ids, first
/// to stop first.
pub fn scale_in_order(state: &ClusterState, ids: &[String], strategies: &[PlacementStrategy]) -> Vec<String> {
    let mut left: Vec<String> = ids.to_vec();
    // Newest first as the base order.
    left.sort_by(|a, b| {
        let (ta, tb) = (&state.tasks[a].task, &state.tasks[b].task);
        tb.created_at.cmp(&ta.created_at).then_with(|| b.cmp(a))
    });
    let mut order = Vec::new();
    let strategy = strategies.first();
    let binpack = strategy.is_some_and(|s| s.r#type.as_deref() == Some("binpack"));
    let mut usage = if binpack { Usage::of(state) } else { Usage::default() };
    while !left.is_empty() {
        let instance_of =
            |id: &String| state.tasks[id].container_instance_id.as_ref().and_then(|i| state.container_instances.get(i));
        let pick = match strategy.and_then(|s| s.r#type.as_deref()) {
            Some("spread") => {
                let field = strategy.and_then(|s| s.field.as_deref()).unwrap_or_default();
                let mut per_value: HashMap<Option<String>, usize> = HashMap::new();
                for id in &left {
                    *per_value.entry(instance_of(id).and_then(|i| spread_value(i, field))).or_default() += 1;
                }
                left.iter().position(|id| {
                    let v = instance_of(id).and_then(|i| spread_value(i, field));
                    per_value.get(&v) == per_value.values().max()
                })
            }
            Some("binpack") => {
                let field = strategy.and_then(|s| s.field.as_deref()).unwrap_or_default();
                let most_left =
                    |id: &String| instance_of(id).map(|i| remaining(i, &usage.used(i.id()), field)).unwrap_or(i64::MIN);
                let best = left.iter().map(most_left).max();
                left.iter().position(|id| Some(most_left(id)) == best)
            }
            // No strategy (every Fargate service, and EC2 services on the
            // default one): from the availability zone with the most tasks,
            // those not yet RUNNING there first.
            None => {
                let zone = |id: &String| state.tasks[id].task.availability_zone.as_deref();
                let mut per_zone: HashMap<Option<&str>, usize> = HashMap::new();
                for id in &left {
                    *per_zone.entry(zone(id)).or_default() += 1;
                }
                let most = per_zone.values().max().copied();
                let in_most = |id: &String| per_zone.get(&zone(id)).copied() == most;
                left.iter()
                    .position(|id| in_most(id) && state.tasks[id].task.last_status != "RUNNING")
                    .or_else(|| left.iter().position(in_most))
            }
            _ => Some(0),
        };
        let id = left.remove(pick.unwrap_or(0));
        if let Some(instance) = &state.tasks[&id].container_instance_id {
            // Freed: later binpack picks see the instance with more left.
            let freed = &state.tasks[&id].reservation;
            if let Some(used) = usage.by_instance.get_mut(instance) {
                used.cpu -= freed.cpu;
                used.memory -= freed.memory;
            }
        }
        order.push(id);
    }
    order
}
