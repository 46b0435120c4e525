//! ECS's deployment circuit breaker: counting a deployment's failed tasks,
//! the threshold at which it fails, and the rollback to the last deployment
//! that completed.
//!
//! A failure is a task of an IN_PROGRESS deployment that stops before
//! reaching RUNNING for a reason of its own, or that is replaced after
//! failing its health checks. `failedTasks` counts them in a row: a task of
//! the deployment turning healthy resets it (unless `resetOnHealthyTask` is
//! false). The threshold is `thresholdConfiguration` when given, else ECS's
//! default `clamp(ceil(0.5 × desired), 3, 200)`. At the threshold the
//! deployment is FAILED and launches no more tasks; with `rollback`, the
//! last COMPLETED deployment becomes PRIMARY again (same id, IN_PROGRESS)
//! and the failed one drains. Deployment alarms (`crate::emulator::sim::alarms`) fail and
//! roll back through the same [`fail_primary`].

use serde_json::Value;

use crate::emulator::state::records::*;

pub const FAILED_REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";

/// The breaker of a service, when enabled.
pub fn enabled(service: &Service) -> Option<&DeploymentCircuitBreaker> {
    service.deployment_configuration.deployment_circuit_breaker.as_ref().filter(|b| b.enable)
}

/// Failures that fail a deployment of `desired` tasks.
pub fn threshold(breaker: &DeploymentCircuitBreaker, desired: i64) -> i64 {
    let config = breaker.other.get("thresholdConfiguration");
    let kind = config.and_then(|c| c.get("type")).and_then(Value::as_str).unwrap_or("BOUNDED_PERCENT");
    let value = config.and_then(|c| c.get("value")).and_then(Value::as_f64);
    let percent = |p: f64| (p * desired as f64 / 100.0).ceil() as i64;
    match kind {
        "COUNT" => value.map_or(3, |v| v as i64).max(1),
        "UNBOUNDED_PERCENT" => percent(value.unwrap_or(50.0)).max(1),
        _ => percent(value.unwrap_or(50.0)).clamp(3, 200),
    }
}

fn resets_on_healthy(breaker: Option<&DeploymentCircuitBreaker>) -> bool {
    breaker.and_then(|b| b.other.get("resetOnHealthyTask")).and_then(Value::as_bool).unwrap_or(true)
}

/// Counts a failed task of deployment `id` (only while it is IN_PROGRESS).
pub fn record_failure(service: &mut Service, id: &str, now: Timestamp) {
    if let Some(d) =
        service.deployments.iter_mut().find(|d| d.id == id && d.rollout_state.as_deref() == Some("IN_PROGRESS"))
    {
        d.failed_tasks += 1;
        d.updated_at = now;
    }
}

/// A task of deployment `id` turned healthy.
pub fn record_healthy(service: &mut Service, id: &str, now: Timestamp) {
    if !resets_on_healthy(enabled(service)) {
        return;
    }
    if let Some(d) = service.deployments.iter_mut().find(|d| d.id == id && d.failed_tasks > 0) {
        d.failed_tasks = 0;
        d.updated_at = now;
    }
}

/// Fails the PRIMARY deployment when its failures reach the threshold and,
/// with `rollback`, rolls back. Returns whether the breaker tripped.
pub fn check(entry: &mut ServiceEntry, now: Timestamp, events: &mut Vec<String>) -> bool {
    let service = &entry.service;
    let Some(breaker) = enabled(service).cloned() else { return false };
    let limit = threshold(&breaker, service.desired_count);
    let tripped = service
        .deployments
        .iter()
        .any(|d| d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS") && d.failed_tasks >= limit);
    if !tripped {
        return false;
    }
    let trip = Trip {
        reason: FAILED_REASON.into(),
        cause: "tasks failed to start",
        rollback: breaker.rollback,
        by: "ECS deployment circuit breaker",
    };
    fail_primary(entry, now, &trip, events)
}

/// Why a deployment fails: the circuit breaker here, or the deployment
/// alarms (`crate::emulator::sim::alarms`), which share the failure and rollback path.
pub struct Trip<'a> {
    /// The FAILED deployment's `rolloutStateReason`.
    pub reason: String,
    /// The event's tail: `(service S) (deployment ecs-svc/N) deployment failed: <cause>.`
    pub cause: &'a str,
    /// Roll back to the last COMPLETED deployment.
    pub rollback: bool,
    /// Who rolls back, for the rollback target's `rolloutStateReason`:
    /// `<by>: rolling back to deploymentId ecs-svc/N.`
    pub by: &'a str,
}

/// Fails the PRIMARY deployment if it is IN_PROGRESS (it launches no more
/// tasks) and, with `trip.rollback`, makes the last COMPLETED deployment
/// PRIMARY again; logs the events. Returns whether it failed one.
pub fn fail_primary(entry: &mut ServiceEntry, now: Timestamp, trip: &Trip, events: &mut Vec<String>) -> bool {
    let service = &mut entry.service;
    let name = service.service_name.clone();
    let Some(primary) = service
        .deployments
        .iter_mut()
        .find(|d| d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS"))
    else {
        return false;
    };
    primary.rollout_state = Some("FAILED".into());
    primary.rollout_state_reason = Some(trip.reason.clone());
    primary.updated_at = now;
    let failed_id = primary.id.clone();
    events.push(format!("(service {name}) (deployment {failed_id}) deployment failed: {}.", trip.cause));
    if !trip.rollback {
        return true;
    }
    // No COMPLETED deployment to go back to (the first deployment, or the
    // rollback target itself failing): the service stalls.
    let Some(target) = entry.scheduling.last_completed.clone().filter(|t| t.id != failed_id) else {
        return true;
    };
    let target_id = target.id.clone();
    rollback(entry, &failed_id, target, trip.by, now);
    super::history::note_rollback(entry, &failed_id, &target_id, now);
    events.push(format!("(service {name}) rolling back to deployment {}.", entry.service.deployments[0].id));
    true
}

fn rollback(entry: &mut ServiceEntry, failed_id: &str, target: Deployment, by: &str, now: Timestamp) {
    let service = &mut entry.service;
    let desired = service.desired_count;
    for d in &mut service.deployments {
        if d.id == failed_id {
            d.status = "ACTIVE".into();
            d.desired_count = 0;
        }
    }
    let reason = format!("{by}: rolling back to deploymentId {}.", target.id);
    let mut back = match service.deployments.iter().position(|d| d.id == target.id) {
        Some(i) => service.deployments.remove(i),
        None => Deployment { running_count: 0, pending_count: 0, ..target },
    };
    back.status = "PRIMARY".into();
    back.desired_count = desired;
    back.failed_tasks = 0;
    back.rollout_state = Some("IN_PROGRESS".into());
    back.rollout_state_reason = Some(reason);
    back.updated_at = now;
    service.task_definition = Some(back.task_definition.clone());
    service.network_configuration = back.network_configuration.clone();
    service.platform_version = back.platform_version.clone();
    service.launch_type = back.launch_type.clone();
    service.capacity_provider_strategy = back.capacity_provider_strategy.clone();
    service.deployments.insert(0, back);
    entry.scheduling.start_failures = 0;
    entry.scheduling.launch_after = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, json};

    fn breaker(other: Value) -> DeploymentCircuitBreaker {
        DeploymentCircuitBreaker {
            enable: true,
            rollback: true,
            other: other.as_object().cloned().unwrap_or_else(Map::new),
        }
    }

    #[test]
    fn default_threshold_is_half_the_desired_count_within_3_and_200() {
        let b = breaker(json!({}));
        for (desired, want) in [(0, 3), (1, 3), (4, 3), (6, 3), (7, 4), (25, 13), (400, 200), (800, 200)] {
            assert_eq!(threshold(&b, desired), want, "desired {desired}");
        }
    }

    #[test]
    fn threshold_configuration() {
        assert_eq!(threshold(&breaker(json!({"thresholdConfiguration": {"type": "COUNT", "value": 5}})), 100), 5);
        assert_eq!(
            threshold(&breaker(json!({"thresholdConfiguration": {"type": "UNBOUNDED_PERCENT", "value": 10}})), 1000),
            100
        );
        assert_eq!(
            threshold(&breaker(json!({"thresholdConfiguration": {"type": "BOUNDED_PERCENT", "value": 100}})), 1000),
            200
        );
    }
}
