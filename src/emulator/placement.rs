//! Where a task can go: the resources a task needs, what a container
//! instance has left, and the choice among instances that fit.
//!
//! Part 1 places by resources (CPU, memory, static host ports), the
//! `distinctInstance` and `memberOf` constraints and random choice, which is
//! RunTask's default strategy. Part 2 adds the strategies (binpack, spread)
//! and the service scheduler's defaults here.

use std::collections::HashSet;

use serde_json::Value;

use super::error::EcsResult;
use super::query::{Expr, parse};
use super::state::ClusterState;
use super::state::records::*;
use super::validation::{parse_task_cpu, parse_task_memory};

/// What one task of `td` holds on an instance.
pub fn reservation(td: &TaskDefinition) -> Reservation {
    let cpu = td.cpu.as_deref().and_then(parse_task_cpu).unwrap_or_else(|| {
        td.container_definitions.iter().map(|c| i64::from(c.cpu)).sum()
    });
    let memory = td.memory.as_deref().and_then(parse_task_memory).unwrap_or_else(|| {
        td.container_definitions
            .iter()
            .map(|c| i64::from(c.memory_reservation.or(c.memory).unwrap_or(0)))
            .sum()
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
            Some("MEMORY") => {
                r.integer_value = Some(integer_resource(registered, "MEMORY") - used.memory)
            }
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

/// Why `instance` cannot take a task needing `need`, as a `failures[].reason`.
pub fn misfit(state: &ClusterState, instance: &ContainerInstanceEntry, need: &Reservation) -> Option<&'static str> {
    let used = used_on(state, instance.id());
    let registered = &instance.instance.registered_resources;
    if integer_resource(registered, "CPU") - used.cpu < need.cpu {
        return Some("RESOURCE:CPU");
    }
    if integer_resource(registered, "MEMORY") - used.memory < need.memory {
        return Some("RESOURCE:MEMORY");
    }
    let taken = |name: &str, in_use: &[i32]| -> HashSet<i32> {
        port_set(registered, name)
            .iter()
            .filter_map(|p| p.parse().ok())
            .chain(in_use.iter().copied())
            .collect()
    };
    let tcp = taken("PORTS", &used.tcp_ports);
    if need.tcp_ports.iter().any(|p| tcp.contains(p)) {
        return Some("RESOURCE:PORTS");
    }
    let udp = taken("PORTS_UDP", &used.udp_ports);
    if need.udp_ports.iter().any(|p| udp.contains(p)) {
        return Some("RESOURCE:PORTS_UDP");
    }
    if !instance.instance.agent_connected {
        return Some("AGENT");
    }
    None
}

/// Whether an instance serves the launch type: EXTERNAL instances are the
/// ones registered with `ecs.capability.external`.
pub fn serves(instance: &ContainerInstanceEntry, launch_type: &str) -> bool {
    let external = instance
        .instance
        .attributes
        .iter()
        .any(|a| a.name == "ecs.capability.external");
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
        let from_td = td.placement_constraints.iter().map(|c| {
            (c.get("type").and_then(Value::as_str), c.get("expression").and_then(Value::as_str))
        });
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
    Failed { arn: String, reason: String },
    /// The cluster has no instance at all for this launch type.
    NoInstances,
}

/// Picks an ACTIVE instance that fits `need` (random among those that do),
/// honouring the constraints (`distinctInstance` applies to `group`).
pub fn place(
    state: &ClusterState,
    launch_type: &str,
    need: &Reservation,
    group: &str,
    constraints: &Constraints,
    roll: usize,
) -> Placement {
    let candidates: Vec<&ContainerInstanceEntry> = state
        .container_instances
        .values()
        .filter(|i| i.instance.status == "ACTIVE" && serves(i, launch_type))
        .collect();
    if candidates.is_empty() {
        return Placement::NoInstances;
    }
    let mut first_failure = None;
    let mut fits = Vec::new();
    for instance in &candidates {
        let outside = constraints.member_of.iter().any(|e| !e.matches(state, instance));
        let reason = outside.then_some("MemberOf placement constraint unsatisfied.");
        let reason = reason.or_else(|| misfit(state, instance, need)).or_else(|| {
            let taken = constraints.distinct_instance
                && state.tasks.values().any(|t| {
                    !t.is_stopped()
                        && t.task.group == group
                        && t.container_instance_id.as_deref() == Some(instance.id())
                });
            taken.then_some("DistinctInstance placement constraint unsatisfied.")
        });
        match reason {
            None => fits.push(instance.id().to_owned()),
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
    Placement::On(fits[roll % fits.len()].clone())
}
