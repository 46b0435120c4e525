//! What a service's deployments and its ECS events say about the rollout: in progress,
//! failed, rolled back; whether the service is stable; how soon to look again; and which
//! ECS events are new since the last reconcile.

use std::collections::HashSet;

use super::drift::short_task_definition;
use super::reason;
use crate::api::service::{Deployment, EcsServiceStatus, RolloutState};
use crate::controller::service::metrics::RolloutCounts;
use crate::controller::status::Judgement;
use crate::ecs::service::{ServiceDescription, ServiceEventRecord};

/// What the deployments say about the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub progressing: Judgement,
    pub degraded: Judgement,
    /// A deployment failed (by ECS's state or its events): its task
    /// definition, not to be rolled out again for the same spec.
    pub failed_task_definition: Option<String>,
}

/// Reads the rollout from ECS's deployments and the events new since the
/// last reconcile. `known` are the deployments the status recorded, to tell
/// which task definition a failure event is about.
pub fn rollout(observed: &ServiceDescription, new_events: &[ServiceEventRecord], known: &[Deployment]) -> Rollout {
    let primary = observed.primary();
    let primary_state = primary.and_then(|d| d.rollout_state);
    let rolling_back = primary_state == Some(RolloutState::InProgress)
        && primary.and_then(|d| d.rollout_state_reason.as_deref()).is_some_and(|r| r.contains("rolling back"));
    let failed = observed.deployments.iter().find(|d| d.rollout_state == Some(RolloutState::Failed));

    let progressing = match primary_state {
        Some(RolloutState::InProgress) if rolling_back => Judgement::yes(
            reason::ROLLING_BACK,
            primary.and_then(|d| d.rollout_state_reason.clone()).unwrap_or_default(),
        ),
        Some(RolloutState::InProgress) => Judgement::yes(reason::ROLLOUT_IN_PROGRESS, progress_message(observed)),
        Some(RolloutState::Failed) => Judgement::no(
            reason::DEPLOYMENT_FAILED,
            primary.and_then(|d| d.rollout_state_reason.clone()).unwrap_or_default(),
        ),
        _ => Judgement::no(reason::ROLLOUT_COMPLETE, "No deployment in progress"),
    };

    // ECS's own words: the failure, then the rollback, as its events say them.
    let failed_event = new_events.iter().rev().find(|e| e.message.contains("deployment failed"));
    let rollback_event = new_events.iter().rev().find(|e| e.message.contains("rolling back to deployment"));
    let failure_event = failed_event.or(rollback_event);
    let failure_message =
        [failed_event, rollback_event].into_iter().flatten().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
    let (degraded, failed_task_definition) = if let Some(failed) = failed {
        let why =
            failed.rollout_state_reason.clone().unwrap_or_else(|| format!("ECS deployment {} failed.", failed.id));
        let is_primary = primary.is_some_and(|p| p.id == failed.id);
        let judgement = if is_primary && !rolling_back {
            Judgement::yes(reason::DEPLOYMENT_FAILED, why)
        } else {
            Judgement::yes(reason::ROLLED_BACK, format!("{why} Rolling back to the previous deployment."))
        };
        (judgement, failed.task_definition.clone())
    } else if let Some(event) = failure_event {
        // The failed deployment already left the list: its id is in the event,
        // its task definition in what the status recorded.
        let task_definition = known
            .iter()
            .find(|d| event.message.contains(&format!("(deployment {})", d.id)))
            .and_then(|d| d.task_definition.clone())
            .or_else(|| {
                known
                    .iter()
                    .find(|d| d.status.as_deref() == Some("PRIMARY"))
                    .and_then(|d| d.task_definition.clone())
                    .filter(|td| Some(td) != observed.task_definition.as_ref())
            });
        let why = if rollback_event.is_some() { reason::ROLLED_BACK } else { reason::DEPLOYMENT_FAILED };
        (Judgement::yes(why, failure_message), task_definition)
    } else if let Some(p) = primary
        && primary_state == Some(RolloutState::InProgress)
        && p.failed_tasks.unwrap_or(0) > 0
    {
        (
            Judgement::yes(
                reason::TASKS_FAILING,
                format!(
                    "{} task(s) of deployment {} failed to start or became unhealthy",
                    p.failed_tasks.unwrap_or(0),
                    p.id
                ),
            ),
            None,
        )
    } else {
        (Judgement::no(reason::HEALTHY, "No failed deployment"), None)
    };
    Rollout { progressing, degraded, failed_task_definition }
}

pub(super) fn progress_message(observed: &ServiceDescription) -> String {
    let primary = observed.primary();
    format!(
        "ECS deployment {} of {}: {} of {} task(s) running, {} pending; {} deployment(s)",
        primary.map(|d| d.id.as_str()).unwrap_or("?"),
        primary.and_then(|d| d.task_definition.as_deref()).map(short_task_definition).unwrap_or_default(),
        primary.and_then(|d| d.running_count).unwrap_or(observed.running_count),
        observed.desired_count,
        observed.pending_count,
        observed.deployments.len()
    )
}

/// Whether two deployment lists say the same (ids, states and counts): the
/// timestamps are left out, as the status stores them to the second and ECS
/// to the millisecond.
pub fn same_deployments(a: &[Deployment], b: &[Deployment]) -> bool {
    let key = |d: &Deployment| {
        (
            d.id.clone(),
            d.status.clone(),
            d.task_definition.clone(),
            d.desired_count,
            d.pending_count,
            d.running_count,
            d.failed_tasks,
            d.rollout_state,
            d.rollout_state_reason.clone(),
        )
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// `aws ecs wait services-stable`'s test: one deployment, runningCount =
/// desiredCount; plus, as ECS deployments report it, that deployment COMPLETED.
pub fn is_stable(observed: &ServiceDescription) -> bool {
    observed.is_active()
        && observed.deployments.len() <= 1
        && observed.primary().is_none_or(|d| d.rollout_state.is_none_or(|s| s == RolloutState::Completed))
        && observed.running_count == observed.desired_count
}

/// The longest wait between polls of a rollout in progress.
pub const MAX_ROLLOUT_POLL: std::time::Duration = std::time::Duration::from_secs(60);

/// How soon to look at a rollout again: briskly at first, then less often
/// the longer it runs (a tenth of its age, at most a minute), so a rollout
/// stuck for hours does not cost a call every few seconds.
pub fn rollout_poll(brisk: std::time::Duration, age: std::time::Duration) -> std::time::Duration {
    brisk.max((age / 10).min(MAX_ROLLOUT_POLL))
}

/// Whether the controller should poll the service briskly rather than wait
/// for the fleet's batched resync.
pub fn is_settling(observed: &ServiceDescription) -> bool {
    !observed.is_active() || !is_stable(observed)
}

/// The events of `service` not yet mirrored by the object whose status is `status`
/// (its watermark), oldest first.
pub fn unseen(service: &ServiceDescription, status: &EcsServiceStatus) -> Vec<ServiceEventRecord> {
    new_events(&service.events, status.last_event_id.as_deref(), status.last_event_time.as_ref().map(|t| t.0))
        .into_iter()
        .cloned()
        .collect()
}

/// The ECS events not yet published, oldest first. `last_id` is the newest
/// event published before; when it has left ECS's window of 100, events at
/// or after `last_time` count as new (the Event names dedupe the overlap).
pub fn new_events<'a>(
    events: &'a [ServiceEventRecord],
    last_id: Option<&str>,
    last_time: Option<k8s_openapi::jiff::Timestamp>,
) -> Vec<&'a ServiceEventRecord> {
    let fresh: Vec<&ServiceEventRecord> = match last_id.and_then(|id| events.iter().position(|e| e.id == id)) {
        Some(index) => events[..index].iter().collect(),
        None => match last_time {
            Some(time) => events
                .iter()
                .filter(|e| e.created_at.as_second() >= time.as_second())
                .filter(|e| Some(e.id.as_str()) != last_id)
                .collect(),
            None => events.iter().collect(),
        },
    };
    fresh.into_iter().rev().collect()
}

/// Rollouts that started, completed and failed between two observations of a service's
/// deployments.
pub fn rollout_transitions(before: &[Deployment], after: &[Deployment]) -> RolloutCounts {
    let known: HashSet<&str> = before.iter().map(|d| d.id.as_str()).collect();
    let mut counts = RolloutCounts::default();
    for deployment in after {
        let previous = before.iter().find(|d| d.id == deployment.id).and_then(|d| d.rollout_state);
        let is_new = !known.contains(deployment.id.as_str());
        if is_new && deployment.status.as_deref() == Some("PRIMARY") {
            counts.started += 1;
        }
        match deployment.rollout_state {
            Some(RolloutState::Completed) if previous != Some(RolloutState::Completed) => counts.completed += 1,
            Some(RolloutState::Failed) if previous != Some(RolloutState::Failed) => counts.failed += 1,
            _ => {}
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::service::plan::fixtures::{TD1, TD2, deployment, event, service};
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn failing_tasks_degrade_a_rolling_deployment() {
        let mut rolling = deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress);
        rolling.failed_tasks = Some(2);
        let observed = service(TD2, vec![rolling]);
        let r = rollout(&observed, &[], &[]);
        assert_eq!(r.degraded.reason, reason::TASKS_FAILING);
        assert_eq!(r.failed_task_definition, None, "not failed yet");
    }

    #[test]
    fn a_long_rollout_is_polled_less_often() {
        use std::time::Duration;
        let brisk = Duration::from_secs(5);
        assert_eq!(rollout_poll(brisk, Duration::ZERO), brisk);
        assert_eq!(rollout_poll(brisk, Duration::from_secs(30)), brisk);
        assert_eq!(rollout_poll(brisk, Duration::from_secs(200)), Duration::from_secs(20));
        assert_eq!(rollout_poll(brisk, Duration::from_secs(3 * 3600)), MAX_ROLLOUT_POLL);
    }

    #[test]
    fn new_events_are_those_after_the_last_published_oldest_first() {
        let events = vec![event("e3", 30, "c"), event("e2", 20, "b"), event("e1", 10, "a")];
        let ids = |list: Vec<&ServiceEventRecord>| list.into_iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(new_events(&events, None, None)), vec!["e1", "e2", "e3"]);
        assert_eq!(ids(new_events(&events, Some("e2"), None)), vec!["e3"]);
        assert!(new_events(&events, Some("e3"), None).is_empty());
        // The last published event left the window: fall back to its time.
        let last = Timestamp::from_second(20).ok();
        assert_eq!(ids(new_events(&events, Some("e0"), last)), vec!["e2", "e3"]);
    }

    #[test]
    fn rollout_transitions_count_each_once() {
        let before = vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)];
        let after = vec![
            deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress),
            deployment("ecs-svc/1", "ACTIVE", TD1, RolloutState::Completed),
        ];
        assert_eq!(rollout_transitions(&before, &after), RolloutCounts { started: 1, completed: 0, failed: 0 });
        let done = vec![deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Completed)];
        assert_eq!(rollout_transitions(&after, &done), RolloutCounts { started: 0, completed: 1, failed: 0 });
        assert_eq!(rollout_transitions(&done, &done), RolloutCounts::default());
        let failed = vec![deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Failed)];
        assert_eq!(rollout_transitions(&after, &failed), RolloutCounts { started: 0, completed: 0, failed: 1 });
    }
}
