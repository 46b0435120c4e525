//! The verdict of a reconcile: what ECS reports written into the status, the four
//! conditions judged (Ready, Synced, Progressing, Degraded), the notices of failures, and
//! when to look again. Pure: `sync` hands it what ECS answered.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::drift::{short_task_definition, task_definition_matches};
use super::reason;
use super::rollout::{self, Rollout, is_stable, progress_message};
use crate::api::conditions::{ConditionStatus, DEGRADED, PROGRESSING, READY, SYNCED, new_condition, set_condition};
use crate::api::service::EcsServiceStatus;
use crate::controller::context::Notice;
use crate::controller::outcome::{Next, Outcome};
use crate::controller::service::metrics::RolloutCounts;
use crate::controller::status::{Judgement, condition_reason, failure_reason, stored_time};
use crate::ecs::service::{ServiceDescription, ServiceEventRecord};
use crate::ecs::{EcsError, EcsErrorKind, parse_task_definition_ref};

/// How often to look again.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// While a rollout, creation or deletion is settling.
    pub rollout_poll: Duration,
    /// In steady state, for a service the fleet's batched resync does not
    /// cover (see [`resynced_by_fleet`]): its safety net.
    pub steady: Duration,
}

/// Whether the fleet's batched resync looks at a service whose status is
/// `status` (it exists in ECS and no rollout is in progress; one being deleted
/// is not reconciled by `apply`): its steady state needs no timer of its own.
pub fn resynced_by_fleet(status: &EcsServiceStatus) -> bool {
    status.service_arn.is_some() && !crate::api::conditions::is_true(&status.conditions, PROGRESSING)
}

/// What a reconcile decided.
#[derive(Debug)]
pub struct ServiceOutcome {
    pub outcome: Outcome<EcsServiceStatus>,
    /// ECS service events not yet mirrored, oldest first.
    pub ecs_events: Vec<ServiceEventRecord>,
    pub rollouts: RolloutCounts,
    /// Whether this reconcile changed the service in ECS.
    pub wrote: bool,
}

impl ServiceOutcome {
    pub fn plain(outcome: Outcome<EcsServiceStatus>) -> Self {
        Self { outcome, ecs_events: Vec::new(), rollouts: RolloutCounts::default(), wrote: false }
    }
}

/// Whether ECS matches the spec after the writes: `Err` says why not, with the error
/// to retry on (`None`: wait for a change instead).
pub type Synced = Result<(), (Judgement, Option<EcsError>)>;

/// A reconcile's writes, done: what [`report`] judges.
#[derive(Debug)]
pub struct Applied {
    /// The status with the reconcile's bookkeeping (records, watermark, memory of failures).
    pub status: EcsServiceStatus,
    /// The service as ECS last answered.
    pub service: ServiceDescription,
    /// ECS events not yet mirrored, oldest first, of the newest list ECS answered with.
    pub new_events: Vec<ServiceEventRecord>,
    pub synced: Synced,
    /// The notices of the writes, in the order they happened.
    pub notices: Vec<Notice>,
    pub wrote: bool,
    /// A redeploy was just recorded as pending: look again soon to ask for it.
    pub redeploy_recorded: bool,
}

pub fn set(conditions: &mut Vec<Condition>, type_: &str, j: Judgement, generation: Option<i64>, now: &Time) {
    set_condition(conditions, new_condition(type_, j.status, j.reason, j.message, generation, now.clone()));
}

/// The conditions of an object that cannot proceed yet (missing reference,
/// a foreign service, a draining one): Ready and Synced say why; Progressing
/// and Degraded keep what they said.
pub fn waiting(
    mut status: EcsServiceStatus,
    generation: Option<i64>,
    why: Judgement,
    next: Next,
    now: &Time,
) -> ServiceOutcome {
    let warn = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r) != Some(why.reason);
    set(&mut status.conditions, READY, why.clone(), generation, now);
    set(&mut status.conditions, SYNCED, why.clone(), generation, now);
    let mut notices = Vec::new();
    // Draining and a task definition still registering pass by themselves: no Warning.
    if warn && why.reason != reason::DRAINING && why.reason != reason::TASK_DEFINITION_NOT_READY {
        notices.push(Notice::warning(why.reason, "Reconcile", why.message));
    }
    ServiceOutcome::plain(Outcome::new(status, notices, next))
}

/// A failure before anything could be applied: Ready and Synced say why, and
/// the object backs off.
pub fn failed(mut status: EcsServiceStatus, generation: Option<i64>, err: EcsError, now: &Time) -> ServiceOutcome {
    let why = if err.kind() == EcsErrorKind::NotFound && err.operation() == "DescribeServices" {
        reason::CLUSTER_NOT_FOUND
    } else {
        failure_reason(&err)
    };
    let message = err.to_string();
    let previous = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r.to_owned());
    set(&mut status.conditions, SYNCED, Judgement::no(why, message.clone()), generation, now);
    if !crate::api::conditions::is_true(&status.conditions, READY) || status.service_arn.is_none() {
        set(&mut status.conditions, READY, Judgement::no(why, message.clone()), generation, now);
    }
    let mut notices = Vec::new();
    if previous.as_deref() != Some(why) {
        notices.push(Notice::warning(why, err.operation(), message));
    }
    ServiceOutcome::plain(Outcome::new(status, notices, Next::Retry(err.into())))
}

/// ECS rejected CreateService: the spec is invalid until it changes.
pub fn create_rejected(
    mut status: EcsServiceStatus,
    generation: Option<i64>,
    err: &EcsError,
    now: &Time,
) -> ServiceOutcome {
    let message = err.ecs_message().to_owned();
    let previous = condition_reason(&status.conditions, SYNCED).map(|(r, m)| (r.to_owned(), m.to_owned()));
    set(&mut status.conditions, READY, Judgement::no(reason::INVALID_SPEC, message.clone()), generation, now);
    set(&mut status.conditions, SYNCED, Judgement::no(reason::INVALID_SPEC, message.clone()), generation, now);
    status.observed_generation = generation;
    let mut notices = Vec::new();
    if previous != Some((reason::INVALID_SPEC.to_owned(), message.clone())) {
        notices.push(Notice::warning(
            reason::INVALID_SPEC,
            "CreateService",
            format!("ECS rejected the service: {message}"),
        ));
    }
    ServiceOutcome::plain(Outcome::new(status, notices, Next::AwaitChange))
}

/// Why a write failed, as [`Synced`] holds it: a rejection waits for a change of the
/// spec, anything else is retried.
pub fn write_failed(
    conditions: &[Condition],
    err: EcsError,
    notices: &mut Vec<Notice>,
) -> (Judgement, Option<EcsError>) {
    if err.kind() == EcsErrorKind::Rejected {
        let message = err.ecs_message().to_owned();
        let previous = condition_reason(conditions, SYNCED).map(|(r, m)| (r.to_owned(), m.to_owned()));
        if previous != Some((reason::INVALID_SPEC.to_owned(), message.clone())) {
            notices.push(Notice::warning(
                reason::INVALID_SPEC,
                "UpdateService",
                format!("ECS rejected the update: {message}"),
            ));
        }
        (Judgement::no(reason::INVALID_SPEC, message), None)
    } else {
        retried(err)
    }
}

/// A failure to retry with back-off.
pub fn retried(err: EcsError) -> (Judgement, Option<EcsError>) {
    (Judgement::no(failure_reason(&err), err.to_string()), Some(err))
}

/// The Ready judgement for a service that exists and whose spec was applied.
pub fn readiness(observed: &ServiceDescription, rollout: &Rollout, wanted: Option<&str>) -> Judgement {
    if rollout.degraded.status == crate::api::conditions::ConditionStatus::True
        && matches!(rollout.degraded.reason, reason::DEPLOYMENT_FAILED | reason::ROLLED_BACK)
    {
        return Judgement::no(rollout.degraded.reason, rollout.degraded.message.clone());
    }
    let on_wanted = match (wanted, observed.task_definition.as_deref()) {
        (Some(w), Some(o)) => task_definition_matches(w, o),
        (Some(_), None) => false,
        (None, _) => true,
    };
    if is_stable(observed) && on_wanted {
        let primary = observed.primary();
        return Judgement::yes(
            reason::STEADY,
            format!(
                "ECS deployment {} completed: {} of {} task(s) running ({})",
                primary.map(|d| d.id.as_str()).unwrap_or("?"),
                observed.running_count,
                observed.desired_count,
                observed.task_definition.as_deref().map(short_task_definition).unwrap_or_default()
            ),
        );
    }
    Judgement::no(reason::ROLLOUT_IN_PROGRESS, progress_message(observed))
}

/// Writes what ECS reports into the status and judges the conditions.
pub fn report(
    applied: Applied,
    generation: Option<i64>,
    wanted: Option<&str>,
    now: &Time,
    timing: Timing,
) -> ServiceOutcome {
    let Applied {
        mut status,
        service,
        new_events: ecs_events,
        synced: sync_result,
        mut notices,
        wrote,
        redeploy_recorded,
    } = applied;

    let mut rollout = rollout::rollout(&service, &ecs_events, &status.deployments);
    if let Some(td) = &rollout.failed_task_definition {
        status.failed_task_definition = Some(td.clone());
    }
    // Remembered failure: the rollback settled (the failed deployment left the
    // list) but the service still is not on the revision the spec wants.
    let failed_before = status.failed_task_definition.clone();
    if rollout.degraded.status != ConditionStatus::True
        && let (Some(failed), Some(wanted)) = (&failed_before, wanted)
        && task_definition_matches(wanted, failed)
        && !service.task_definition.as_deref().is_some_and(|current| task_definition_matches(failed, current))
    {
        let message = status
            .conditions
            .iter()
            .find(|c| c.type_ == DEGRADED && c.status == "True")
            .map(|c| c.message.clone())
            .unwrap_or_else(|| {
                format!(
                    "The deployment of {} failed and ECS rolled back to {}; set a new forceNewDeploymentToken or change the task definition to retry",
                    short_task_definition(failed),
                    short_task_definition(service.task_definition.as_deref().unwrap_or_default())
                )
            });
        rollout.degraded = Judgement::yes(reason::ROLLED_BACK, message);
    }
    let mut rollouts = rollout::rollout_transitions(&status.deployments, &service.deployments);
    // A deployment that failed and drained between two looks is known by its event only.
    if rollouts.failed == 0 && ecs_events.iter().any(|e| e.message.contains("deployment failed")) {
        rollouts.failed = 1;
    }

    status.service_arn = Some(service.arn.clone());
    status.cluster_arn = (!service.cluster_arn.is_empty()).then(|| service.cluster_arn.clone());
    status.status = Some(service.status.clone());
    status.desired_count = Some(service.desired_count);
    status.running_count = Some(service.running_count);
    status.pending_count = Some(service.pending_count);
    status.task_definition_arn = service.task_definition.clone();
    status.task_definition_revision =
        service.task_definition.as_deref().and_then(parse_task_definition_ref).map(|(_, revision)| revision);
    status.deployments = service.deployments.iter().map(stored_deployment).collect();

    let previous_degraded = condition_reason(&status.conditions, DEGRADED).map(|(r, m)| (r.to_owned(), m.to_owned()));
    let (ready, synced, retry) = match sync_result {
        Ok(()) => (readiness(&service, &rollout, wanted), Judgement::yes(reason::SYNCED, "ECS matches the spec"), None),
        Err((why, err)) => {
            let ready = if why.reason == reason::INVALID_SPEC || wanted.is_none() {
                why.clone()
            } else {
                readiness(&service, &rollout, wanted)
            };
            (ready, why, err)
        }
    };
    if retry.is_some()
        && condition_reason(&status.conditions, SYNCED).map(|(r, _)| r) != Some(synced.reason)
        && let Some(err) = &retry
    {
        notices.push(Notice::warning(synced.reason, err.operation(), synced.message.clone()));
    }
    let settling = rollout::is_settling(&service);
    set(&mut status.conditions, READY, ready, generation, now);
    set(&mut status.conditions, SYNCED, synced, generation, now);
    set(&mut status.conditions, PROGRESSING, rollout.progressing, generation, now);
    let degraded_now = (rollout.degraded.reason.to_owned(), rollout.degraded.message.clone());
    let degraded_is_true = rollout.degraded.status == ConditionStatus::True;
    set(&mut status.conditions, DEGRADED, rollout.degraded, generation, now);
    if degraded_is_true && previous_degraded.as_ref() != Some(&degraded_now) {
        tracing::info!(reason = %degraded_now.0, message = %degraded_now.1, "service degraded");
    }
    status.observed_generation = generation;

    let mut next = match retry {
        Some(err) => Next::Retry(err.into()),
        None if settling => {
            Next::After(rollout::rollout_poll(timing.rollout_poll, rollout_age(&status.conditions, now)))
        }
        None if resynced_by_fleet(&status) => Next::Fleet,
        None => Next::After(timing.steady),
    };
    if redeploy_recorded && matches!(next, Next::After(_) | Next::Resync | Next::AwaitChange | Next::Fleet) {
        next = Next::After(Duration::from_millis(500));
    }
    ServiceOutcome { outcome: Outcome::new(status, notices, next), ecs_events, rollouts, wrote }
}

/// A deployment as the status stores it: ECS's times in whole seconds, as the
/// API server keeps them, so that an unchanged deployment compares equal to
/// the one read back and no status is written for nothing.
pub fn stored_deployment(deployment: &crate::api::service::Deployment) -> crate::api::service::Deployment {
    let mut deployment = deployment.clone();
    deployment.created_at = deployment.created_at.map(|t| stored_time(t.0));
    deployment.updated_at = deployment.updated_at.map(|t| stored_time(t.0));
    deployment
}

/// How long the current rollout has been going on, by the Progressing
/// condition's transition time (which moves only when it flips).
fn rollout_age(conditions: &[Condition], now: &Time) -> Duration {
    conditions
        .iter()
        .find(|c| c.type_ == PROGRESSING && c.status == "True")
        .and_then(|c| now.0.duration_since(c.last_transition_time.0).try_into().ok())
        .unwrap_or_default()
}

/// A deletion that failed: Ready says the object is going, Synced why it is not gone.
pub fn deletion_failed(
    mut status: EcsServiceStatus,
    generation: Option<i64>,
    err: EcsError,
    now: &Time,
) -> ServiceOutcome {
    let why = failure_reason(&err);
    let message = format!("Deleting the service: {err}");
    set(&mut status.conditions, READY, Judgement::no(reason::DELETING, "The object is being deleted"), generation, now);
    set(&mut status.conditions, SYNCED, Judgement::no(why, message.clone()), generation, now);
    let notice = Notice::warning(why, err.operation(), message);
    ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::Retry(err.into())))
}

/// Whether `next` differs from `current` only in a rollout's progress: both
/// say Progressing, and apart from the task counts (the service's and each
/// deployment's, with the deployments' `updatedAt` and the conditions'
/// messages that quote them) they are equal: no condition flipped or changed
/// its reason, no deployment came or went or changed its rollout state, no
/// event was published, nothing was recorded. Such a status may wait (see
/// `service::progress`); anything else is written at once.
pub fn only_progress(current: &EcsServiceStatus, next: &EcsServiceStatus) -> bool {
    use crate::api::conditions::is_true;
    is_true(&current.conditions, PROGRESSING)
        && is_true(&next.conditions, PROGRESSING)
        && current != next
        && without_progress(current) == without_progress(next)
}

/// `status` less what a rollout's progress moves (see [`only_progress`]).
fn without_progress(status: &EcsServiceStatus) -> EcsServiceStatus {
    let mut status = status.clone();
    status.running_count = None;
    status.pending_count = None;
    for condition in &mut status.conditions {
        condition.message.clear();
    }
    for deployment in &mut status.deployments {
        deployment.running_count = None;
        deployment.pending_count = None;
        deployment.updated_at = None;
    }
    status
}

/// The conditions' current values, for the fleet gauge: (Ready, Progressing, Degraded).
pub fn condition_flags(conditions: &[Condition]) -> [bool; 3] {
    use crate::api::conditions::is_true;
    [is_true(conditions, READY), is_true(conditions, PROGRESSING), is_true(conditions, DEGRADED)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::RolloutState;
    use crate::controller::service::plan::fixtures::{TD1, TD2, deployment, event, service};
    use crate::controller::service::plan::rollout::{is_settling, rollout};

    #[test]
    fn the_fleet_resyncs_the_services_that_exist_and_are_not_rolling_out() {
        let mut status = EcsServiceStatus::default();
        assert!(!resynced_by_fleet(&status), "not created yet");
        status.service_arn = Some("arn:aws:ecs:us-east-1:1:service/prod/web".into());
        assert!(resynced_by_fleet(&status));
        let epoch = Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        set_condition(&mut status.conditions, new_condition(PROGRESSING, ConditionStatus::True, "r", "", None, epoch));
        assert!(!resynced_by_fleet(&status), "a rollout in progress polls on its own");
    }

    #[test]
    fn ready_is_services_stable_on_the_wanted_revision() {
        let steady = service(TD2, vec![deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Completed)]);
        let r = rollout(&steady, &[], &[]);
        assert_eq!(readiness(&steady, &r, Some(TD2)).status, ConditionStatus::True);
        assert_eq!(r.progressing.status, ConditionStatus::False);
        assert_eq!(r.degraded.status, ConditionStatus::False);
        assert_eq!(readiness(&steady, &r, Some(TD1)).status, ConditionStatus::False, "not on the wanted revision");

        let mut short = steady.clone();
        short.running_count = 1;
        assert_eq!(readiness(&short, &rollout(&short, &[], &[]), Some(TD2)).status, ConditionStatus::False);

        let rolling = service(
            TD2,
            vec![
                deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress),
                deployment("ecs-svc/1", "ACTIVE", TD1, RolloutState::Completed),
            ],
        );
        let r = rollout(&rolling, &[], &[]);
        assert_eq!(r.progressing.status, ConditionStatus::True);
        assert_eq!(r.progressing.reason, reason::ROLLOUT_IN_PROGRESS);
        let ready = readiness(&rolling, &r, Some(TD2));
        assert_eq!((ready.status, ready.reason), (ConditionStatus::False, reason::ROLLOUT_IN_PROGRESS));
        assert!(is_settling(&rolling));
        assert!(!is_settling(&steady));
    }

    #[test]
    fn a_failed_primary_is_degraded_with_ecs_reason() {
        let mut failed = deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Failed);
        failed.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let observed = service(TD2, vec![failed, deployment("ecs-svc/1", "ACTIVE", TD1, RolloutState::Completed)]);
        let r = rollout(&observed, &[], &[]);
        assert_eq!(r.degraded.status, ConditionStatus::True);
        assert_eq!(r.degraded.reason, reason::DEPLOYMENT_FAILED);
        assert_eq!(r.degraded.message, "ECS deployment circuit breaker: tasks failed to start.");
        assert_eq!(r.failed_task_definition.as_deref(), Some(TD2));
        assert_eq!(readiness(&observed, &r, Some(TD2)).reason, reason::DEPLOYMENT_FAILED);
    }

    #[test]
    fn a_rollback_is_degraded_while_it_runs_and_after_it_settles() {
        let mut back = deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::InProgress);
        back.rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        let mut failed = deployment("ecs-svc/2", "ACTIVE", TD2, RolloutState::Failed);
        failed.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let observed = service(TD1, vec![back, failed]);
        let r = rollout(&observed, &[], &[]);
        assert_eq!(r.degraded.reason, reason::ROLLED_BACK);
        assert_eq!(r.progressing.reason, reason::ROLLING_BACK);
        assert_eq!(r.failed_task_definition.as_deref(), Some(TD2));

        // Settled: the failed deployment is gone; only its event tells.
        let settled = service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]);
        let events = [
            event("e9", 10, "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
            event("e10", 10, "(service web) rolling back to deployment ecs-svc/1."),
        ];
        let known = [deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress)];
        let r = rollout(&settled, &events, &known);
        assert_eq!(r.degraded.reason, reason::ROLLED_BACK);
        assert_eq!(
            r.degraded.message,
            "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start. (service web) rolling back to deployment ecs-svc/1."
        );
        assert_eq!(r.failed_task_definition.as_deref(), Some(TD2));
        assert_eq!(readiness(&settled, &r, Some(TD2)).status, ConditionStatus::False);
    }

    /// The status `report` writes for `observed`, after `before`.
    fn reported(
        before: &EcsServiceStatus,
        observed: ServiceDescription,
        events: Vec<ServiceEventRecord>,
    ) -> EcsServiceStatus {
        let applied = Applied {
            status: before.clone(),
            service: observed,
            new_events: events,
            synced: Ok(()),
            notices: Vec::new(),
            wrote: false,
            redeploy_recorded: false,
        };
        let now = Time(k8s_openapi::jiff::Timestamp::from_second(1_800_000_000).unwrap());
        let timing = Timing { rollout_poll: Duration::from_secs(5), steady: Duration::from_secs(300) };
        report(applied, Some(1), Some(TD1), &now, timing).outcome.status
    }

    fn rolling(running: i32, pending: i32) -> ServiceDescription {
        let mut primary = deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::InProgress);
        (primary.running_count, primary.pending_count) = (Some(running), Some(pending));
        // ECS's times have milliseconds; the API server keeps seconds.
        let ms = 1_800_000_000_000 + i64::from(running) * 1_250;
        primary.updated_at = Some(Time(k8s_openapi::jiff::Timestamp::from_millisecond(ms).unwrap()));
        let mut observed = service(TD1, vec![primary]);
        (observed.running_count, observed.pending_count) = (running, pending);
        observed
    }

    #[test]
    fn only_the_counts_of_a_rollout_in_progress_are_progress() {
        let started = reported(&EcsServiceStatus::default(), rolling(0, 2), Vec::new());
        let read_back: EcsServiceStatus = serde_json::from_value(serde_json::to_value(&started).unwrap()).unwrap();
        assert_eq!(read_back, started, "the status holds ECS's times as the API server stores them");
        assert_eq!(reported(&read_back, rolling(0, 2), Vec::new()), started, "the same look, the same status");
        assert!(!only_progress(&EcsServiceStatus::default(), &started), "the first status is more than progress");
        assert!(!only_progress(&started, &started), "nothing changed: nothing to hold back");

        let moved = reported(&started, rolling(1, 1), Vec::new());
        assert_ne!(moved.running_count, started.running_count);
        assert!(only_progress(&started, &moved), "counts and the messages quoting them");

        let mut scaled = rolling(1, 1);
        scaled.desired_count = 3;
        assert!(!only_progress(&started, &reported(&started, scaled, Vec::new())), "a new desired count");

        let mut told = reported(&started, rolling(1, 1), Vec::new());
        // What `finish` records once it published an ECS event.
        told.last_event_id = Some("e1".into());
        assert!(!only_progress(&started, &told), "a published event moves the watermark");

        let mut failing = rolling(1, 1);
        failing.deployments[0].failed_tasks = Some(1);
        assert!(!only_progress(&started, &reported(&started, failing, Vec::new())), "failed tasks");

        let done = reported(
            &started,
            service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]),
            Vec::new(),
        );
        assert!(crate::api::conditions::is_true(&done.conditions, READY));
        assert!(!only_progress(&started, &done), "the end of the rollout");
    }
}
