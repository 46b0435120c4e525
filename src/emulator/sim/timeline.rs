//! Keeps a service's count timeline (`state::timeline`) in step with its
//! deployments: [`record`] runs wherever the deployment history is synced
//! (after each reconcile of the service), so a sample is taken exactly when
//! a count or state changed; [`note_spot`] is the Spot interruption hook.
//!
//! Markers are read from the deployment history rather than hooked into
//! the breaker: a deployment that failed and drained within one pass is
//! gone from `deployments[]` but not from the history, which also says
//! whether alarms failed it and where it rolled back to.

use crate::emulator::state::records::*;
use crate::emulator::state::timeline::{Marker, MarkerKind, Sample, Timeline};

fn sample_of(d: &Deployment, now: Timestamp) -> Sample {
    Sample {
        at: now.0,
        deployment: d.id.clone(),
        status: d.status.clone(),
        running: d.running_count,
        pending: d.pending_count,
        desired: d.desired_count,
        rollout_state: d.rollout_state.clone(),
        failed_tasks: d.failed_tasks,
    }
}

/// Samples every deployment whose counts or states changed since the last
/// call, closes the lanes of deployments that left, and marks failures and
/// rollbacks the history newly shows.
pub fn record(entry: &mut ServiceEntry, now: Timestamp) {
    let timeline = &mut entry.timeline;
    let deployments = &entry.service.deployments;
    let history = &entry.scheduling.history;
    for d in deployments {
        let sample = sample_of(d, now);
        match timeline.open.iter_mut().find(|o| o.deployment == d.id) {
            Some(open) if !open.differs(&sample) => {}
            Some(open) => {
                *open = sample.clone();
                timeline.push_sample(sample);
            }
            None => {
                timeline.open.push(sample.clone());
                timeline.push_sample(sample);
            }
        }
    }
    if timeline.open.len() > deployments.len() {
        close_lanes(timeline, deployments, history, now);
    }
    mark_failures(timeline, deployments, history, now);
}

/// A deployment that left `deployments[]` ends at zero, INACTIVE, in the
/// rollout state the history last saw.
fn close_lanes(timeline: &mut Timeline, deployments: &[Deployment], history: &[DeploymentRecord], now: Timestamp) {
    let (still, gone): (Vec<Sample>, Vec<Sample>) =
        std::mem::take(&mut timeline.open).into_iter().partition(|o| deployments.iter().any(|d| d.id == o.deployment));
    timeline.open = still;
    for last in gone {
        let rollout_state = history
            .iter()
            .find(|r| r.deployment.id == last.deployment)
            .and_then(|r| r.deployment.rollout_state.clone())
            .or(last.rollout_state);
        timeline.push_sample(Sample {
            at: now.0,
            status: "INACTIVE".into(),
            running: 0,
            pending: 0,
            desired: 0,
            rollout_state,
            ..last
        });
    }
}

fn mark_failures(timeline: &mut Timeline, deployments: &[Deployment], history: &[DeploymentRecord], now: Timestamp) {
    // Oldest first, so markers keep the order things happened in.
    for record in history.iter().rev() {
        let d = &record.deployment;
        if d.rollout_state.as_deref() == Some("FAILED") {
            let kind = if record.triggered_alarms.is_empty() { MarkerKind::CircuitBreaker } else { MarkerKind::Alarm };
            if !timeline.has_marker(kind, &d.id) {
                timeline.push_marker(Marker {
                    at: now.0,
                    kind,
                    deployment: d.id.clone(),
                    to: None,
                    reason: d.rollout_state_reason.clone().unwrap_or_else(|| "deployment failed".into()),
                    task: None,
                });
            }
        }
        if let Some(target) = &record.rollback_to
            && !timeline.has_marker(MarkerKind::Rollback, &d.id)
        {
            // The target's reason says who rolls back: "ECS deployment
            // circuit breaker: rolling back to deploymentId ecs-svc/N."
            let reason = deployments
                .iter()
                .chain(history.iter().map(|r| &r.deployment))
                .find(|t| &t.id == target)
                .and_then(|t| t.rollout_state_reason.clone())
                .unwrap_or_else(|| format!("rolling back to deploymentId {target}."));
            timeline.push_marker(Marker {
                at: record.rollback_at.unwrap_or(now).0,
                kind: MarkerKind::Rollback,
                deployment: d.id.clone(),
                to: Some(target.clone()),
                reason,
                task: None,
            });
        }
    }
}

/// A Spot task of the service's deployment `deployment` was interrupted.
pub fn note_spot(entry: &mut ServiceEntry, deployment: &str, task: &str, reason: &str, now: Timestamp) {
    entry.timeline.push_marker(Marker {
        at: now.0,
        kind: MarkerKind::SpotInterruption,
        deployment: deployment.to_owned(),
        to: None,
        reason: reason.to_owned(),
        task: Some(task.to_owned()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(id: &str, status: &str, running: i64, desired: i64, rollout: &str) -> Deployment {
        serde_json::from_value(json!({
            "id": id, "status": status, "taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
            "desiredCount": desired, "pendingCount": 0, "runningCount": running, "failedTasks": 0,
            "createdAt": 1.0, "updatedAt": 1.0, "rolloutState": rollout,
        }))
        .expect("a deployment")
    }

    fn entry(deployments: Vec<Deployment>) -> ServiceEntry {
        serde_json::from_value(json!({
            "service": {
                "serviceArn": "arn:aws:ecs:us-east-1:000000000000:service/c/web", "serviceName": "web",
                "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/c", "status": "ACTIVE",
                "desiredCount": 2, "runningCount": 0, "pendingCount": 0, "deploymentConfiguration": {},
                "deployments": deployments, "events": [], "createdAt": 1.0, "schedulingStrategy": "REPLICA",
                "deploymentController": {"type": "ECS"}, "createdBy": "x", "enableEcsManagedTags": false,
                "propagateTags": "NONE", "enableExecuteCommand": false, "availabilityZoneRebalancing": "DISABLED",
            },
            "createFingerprint": "",
        }))
        .expect("a service entry")
    }

    #[test]
    fn a_sample_is_taken_only_when_something_changed() {
        let mut e = entry(vec![deployment("ecs-svc/1", "PRIMARY", 0, 2, "IN_PROGRESS")]);
        record(&mut e, Timestamp(1_000));
        record(&mut e, Timestamp(2_000));
        assert_eq!(e.timeline.samples.len(), 1, "no change, no sample");
        e.service.deployments[0].running_count = 2;
        record(&mut e, Timestamp(3_000));
        let last = e.timeline.samples.back().expect("a sample");
        assert_eq!((last.at, last.running, last.desired), (3_000, 2, 2));
        assert_eq!(e.timeline.samples.len(), 2);
    }

    #[test]
    fn a_deployment_that_leaves_closes_its_lane_at_zero() {
        let mut e = entry(vec![
            deployment("ecs-svc/2", "PRIMARY", 1, 2, "IN_PROGRESS"),
            deployment("ecs-svc/1", "ACTIVE", 1, 2, "COMPLETED"),
        ]);
        record(&mut e, Timestamp(1_000));
        e.service.deployments.truncate(1);
        record(&mut e, Timestamp(2_000));
        let closed = e.timeline.samples.back().expect("a closing sample");
        assert_eq!(closed.deployment, "ecs-svc/1");
        assert_eq!((closed.at, closed.status.as_str(), closed.running, closed.desired), (2_000, "INACTIVE", 0, 0));
        assert_eq!(e.timeline.open.len(), 1);
        assert_eq!(e.timeline.samples.len(), 3);
    }

    #[test]
    fn a_failure_and_its_rollback_are_marked_once_with_ecss_reasons() {
        let mut failed = deployment("ecs-svc/2", "ACTIVE", 0, 0, "FAILED");
        failed.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let mut back = deployment("ecs-svc/1", "PRIMARY", 2, 2, "IN_PROGRESS");
        back.rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        let mut e = entry(vec![back, failed]);
        crate::emulator::sim::history::sync(&mut e, Timestamp(5_000));
        crate::emulator::sim::history::note_rollback(&mut e, "ecs-svc/2", "ecs-svc/1", Timestamp(5_000));
        record(&mut e, Timestamp(5_000));
        record(&mut e, Timestamp(6_000));
        let kinds: Vec<_> = e.timeline.markers.iter().map(|m| (m.kind, m.deployment.as_str())).collect();
        assert_eq!(kinds, [(MarkerKind::CircuitBreaker, "ecs-svc/2"), (MarkerKind::Rollback, "ecs-svc/2")]);
        assert_eq!(e.timeline.markers[0].reason, "ECS deployment circuit breaker: tasks failed to start.");
        assert_eq!(e.timeline.markers[1].to.as_deref(), Some("ecs-svc/1"));
        assert_eq!(
            e.timeline.markers[1].reason,
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1."
        );
    }
}
