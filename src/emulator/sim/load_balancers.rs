//! Load balancing of service tasks: the targets a task gets in its service's
//! target groups (one per `loadBalancers` entry with a `targetGroupArn`),
//! the events ECS logs as they are registered, drain and are deregistered,
//! the ELB verdict that gets a task replaced, and the view of every target
//! group that `GET /_emulator/target-groups` shows.
//!
//! A target's life follows its task ([`crate::emulator::sim::progress`]): registered when
//! the task enters ACTIVATING (`initial`), `healthy` once its health checks
//! pass (`Timings::target_healthy` after RUNNING, see
//! [`crate::emulator::sim::health::target_plan`]) or `unhealthy` when a failure rule makes
//! them fail, `draining` in DEACTIVATING and deregistered when the task
//! moves on to STOPPING. A task with targets counts as healthy for
//! deployments only while all of them are healthy.
//!
//! Classic Load Balancers (`loadBalancerName` without a target group) are
//! accepted and shown but not simulated.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::emulator::state::records::*;
use crate::emulator::state::{ClusterState, Store, lock};

/// The targets a new task of a service with `load_balancers` gets, not
/// registered yet.
pub fn targets(load_balancers: &[LoadBalancer]) -> Vec<Target> {
    load_balancers
        .iter()
        .filter_map(|lb| {
            Some(Target {
                target_group_arn: lb.target_group_arn.clone()?,
                container_name: lb.container_name.clone()?,
                container_port: lb.container_port?,
                state: TargetState::NotRegistered,
                failure_code: None,
            })
        })
        .collect()
}

/// Gives newly launched service tasks their targets.
pub fn attach(state: &mut ClusterState, task_ids: &[String], load_balancers: &[LoadBalancer]) {
    if load_balancers.is_empty() {
        return;
    }
    for id in task_ids {
        if let Some(mut t) = state.tasks.get_mut(id) {
            t.targets = targets(load_balancers);
        }
    }
}

/// The first target of a task that failed its health checks.
pub fn failed_target(entry: &TaskEntry) -> Option<&Target> {
    entry.targets.iter().find(|t| t.state == TargetState::Unhealthy)
}

/// The port the load balancer sends traffic to: the host port bound to the
/// container port (bridge and host networking), else the container port.
pub fn target_port(entry: &TaskEntry, target: &Target) -> i32 {
    entry
        .task
        .containers
        .iter()
        .filter(|c| *c.name == *target.container_name)
        .flat_map(|c| &c.network_bindings)
        .find(|b| b.get("containerPort").and_then(Value::as_i64) == Some(i64::from(target.container_port)))
        .and_then(|b| b.get("hostPort").and_then(Value::as_i64))
        .and_then(|p| i32::try_from(p).ok())
        .unwrap_or(target.container_port)
}

/// The stoppedReason of a task replaced for failing ELB health checks, in
/// ECS's words.
pub fn stopped_reason(target: &Target) -> String {
    format!("Task failed ELB health checks in (target-group {})", target.target_group_arn)
}

/// The event logged when a task is replaced for failing ELB health checks.
pub fn unhealthy_event(service: &str, port: i32, target: &Target) -> String {
    format!(
        "(service {service}) (port {port}) is unhealthy in (target-group {}) due to (reason Health checks failed with these codes: [{}]).",
        target.target_group_arn,
        target.failure_code.unwrap_or(500)
    )
}

/// How many of `task_ids`' targets are in each target group, in ARN order.
fn per_target_group(state: &ClusterState, task_ids: &[String]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for t in task_ids.iter().filter_map(|id| state.tasks.get(id)) {
        for target in &t.targets {
            *counts.entry(target.target_group_arn.clone()).or_default() += 1;
        }
    }
    counts
}

/// What the load balancers did with a service's tasks during one tick, as
/// ECS's events: targets registered, tasks draining, targets deregistered.
pub fn events(
    state: &ClusterState,
    service: &str,
    registered: &[String],
    draining: &[String],
    deregistered: &[String],
) -> Vec<String> {
    let mut messages = Vec::new();
    for (arn, n) in per_target_group(state, registered) {
        messages.push(format!("(service {service}) registered {n} targets in (target-group {arn})"));
    }
    if !draining.is_empty() {
        messages.push(format!("(service {service}) has begun draining connections on {} tasks.", draining.len()));
    }
    for (arn, n) in per_target_group(state, deregistered) {
        messages.push(format!("(service {service}) deregistered {n} targets in (target-group {arn})"));
    }
    messages
}

/// ELB's `TargetHealth` of a target: state, reason code, description.
fn target_health(target: &Target) -> Value {
    match target.state {
        TargetState::Initial => json!({
            "state": "initial", "reason": "Elb.RegistrationInProgress",
            "description": "Target registration is in progress",
        }),
        TargetState::Healthy => json!({ "state": "healthy" }),
        TargetState::Unhealthy => json!({
            "state": "unhealthy", "reason": "Target.ResponseCodeMismatch",
            "description": format!("Health checks failed with these codes: [{}]", target.failure_code.unwrap_or(500)),
        }),
        TargetState::Draining => json!({
            "state": "draining", "reason": "Target.DeregistrationInProgress",
            "description": "Target deregistration is in progress",
        }),
        TargetState::NotRegistered | TargetState::Deregistered => json!({ "state": "unused" }),
    }
}

/// Every target group with a registered target, and its targets with their
/// health: `{"targetGroups": [{"targetGroupArn", "targets": [...]}]}`.
pub fn snapshot(store: &Store) -> Value {
    let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (cluster, cell) in store.all_clusters() {
        let state = lock(&cell);
        for t in state.tasks.values() {
            let registered = t
                .targets
                .iter()
                .filter(|target| !matches!(target.state, TargetState::NotRegistered | TargetState::Deregistered));
            for target in registered {
                groups.entry(target.target_group_arn.clone()).or_default().push(json!({
                    "cluster": cluster,
                    "service": t.service_name.as_deref(),
                    "taskArn": t.task.task_arn,
                    "containerName": target.container_name,
                    "containerPort": target.container_port,
                    "port": target_port(t, target),
                    "targetHealth": target_health(target),
                }));
            }
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(arn, mut targets)| {
            targets.sort_by(|a, b| a["taskArn"].as_str().cmp(&b["taskArn"].as_str()));
            json!({ "targetGroupArn": arn, "targets": targets })
        })
        .collect();
    json!({ "targetGroups": groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lb(tg: Option<&str>, name: &str, port: i32) -> LoadBalancer {
        LoadBalancer {
            target_group_arn: tg.map(str::to_owned),
            load_balancer_name: tg.is_none().then(|| "classic".to_owned()),
            container_name: Some(name.into()),
            container_port: Some(port),
        }
    }

    #[test]
    fn one_target_per_target_group_entry() {
        let targets =
            targets(&[lb(Some("arn:tg/a"), "web", 80), lb(None, "web", 80), lb(Some("arn:tg/b"), "admin", 9000)]);
        assert_eq!(targets.len(), 2, "a classic load balancer gets no target: {targets:?}");
        assert_eq!((targets[1].target_group_arn.as_str(), targets[1].container_port), ("arn:tg/b", 9000));
        assert!(targets.iter().all(|t| t.state == TargetState::NotRegistered));
    }

    #[test]
    fn ecs_wording() {
        let target = Target {
            target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/0a".into(),
            container_name: "web".into(),
            container_port: 80,
            state: TargetState::Unhealthy,
            failure_code: Some(502),
        };
        assert_eq!(
            unhealthy_event("s", 80, &target),
            "(service s) (port 80) is unhealthy in (target-group arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/0a) due to (reason Health checks failed with these codes: [502])."
        );
        assert_eq!(
            stopped_reason(&target),
            "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/0a)"
        );
        assert_eq!(target_health(&target)["description"], "Health checks failed with these codes: [502]");
    }
}
