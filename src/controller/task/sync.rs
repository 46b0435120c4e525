//! Runs one EcsTask through the [`EcsTaskApi`] seam: looks at its tasks, lets
//! [`verdict`] judge them and [`plan`] pick the next step, and takes that step.
//! The caller writes the status and the Events.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::api::DeletionPolicy;
use crate::api::conditions::SYNCED;
use crate::api::task::{EcsTaskSpec, EcsTaskStatus, TaskPhase};
use crate::controller::context::Notice;
use crate::controller::failpoint;
use crate::controller::outcome::{Next, Outcome};
use crate::controller::status::{condition_reason, failure_reason, reason as common_reason};
use crate::ecs::task::{DESCRIBE_TASKS_BATCH, EcsTaskApi, TaskRun};
use crate::ecs::{EcsError, EcsErrorKind, mapping};

use super::observe::{record_described, record_launch};
use super::plan::{self, Policy, Step, client_token, started_by, task_id, task_tags, unstopped};
use super::verdict::{Timing, fail_rejected, in_progress, judge, synced};

/// The failpoint right after RunTask answered, before anything is recorded: the
/// crash the `clientToken` makes harmless.
pub const AFTER_RUN_TASK: &str = "after-run-task";

/// How soon to look again while the task definition is not there yet (the
/// EcsTaskDefinition watch usually triggers sooner).
const TASK_DEFINITION_WAIT: Duration = Duration::from_secs(10);

/// Condition reasons of the steps here.
pub mod reason {
    /// Synced: the referenced EcsTaskDefinition has no revision for its spec yet.
    pub const TASK_DEFINITION_NOT_READY: &str = "TaskDefinitionNotReady";
    /// Synced: ECS knows no task definition by that name.
    pub const TASK_DEFINITION_NOT_FOUND: &str = "TaskDefinitionNotFound";
}

/// The spec's task definition, as far as the Kubernetes side can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// What to hand DescribeTaskDefinition: the spec's string, or the referenced
    /// EcsTaskDefinition's current revision ARN.
    Resolved(String),
    /// The referenced EcsTaskDefinition is missing or not ready, and why.
    Waiting(String),
}

/// The object being reconciled, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub generation: Option<i64>,
    pub spec: &'a EcsTaskSpec,
    pub status: EcsTaskStatus,
}

/// A reconcile's result; `delete` asks the caller to delete the object once the
/// status is written (its time to live ran out).
#[derive(Debug)]
pub struct TaskOutcome {
    pub outcome: Outcome<EcsTaskStatus>,
    pub delete: bool,
}

impl TaskOutcome {
    fn new(status: EcsTaskStatus, notices: Vec<Notice>, next: Next) -> Self {
        Self { outcome: Outcome::new(status, notices, next), delete: false }
    }
}

/// The Kubernetes-side description of where the EcsTask is, for the conditions.
fn progress(status: &mut EcsTaskStatus, at: &Timing) {
    let (phase, message) = match status.attempts.last() {
        None => (TaskPhase::Pending, "No task started yet".to_owned()),
        Some(last) if last.result.is_none() => {
            let states: Vec<String> =
                last.tasks.iter().map(|t| format!("{} {}", task_id(&t.task_arn), t.last_status)).collect();
            (TaskPhase::Running, format!("Attempt {}: {}", last.attempt, states.join(", ")))
        }
        Some(last) => (
            TaskPhase::BackingOff,
            format!(
                "Attempt {} failed: {}; the next starts after the back-off",
                last.attempt,
                last.message.as_deref().unwrap_or("no reason recorded")
            ),
        ),
    };
    in_progress(status, phase, message, at);
}

/// An ECS call failed: `Synced=False` with the reason (an Event when it changes),
/// and a retry with the object's back-off.
fn ecs_failed(mut status: EcsTaskStatus, mut notices: Vec<Notice>, err: EcsError, at: &Timing) -> TaskOutcome {
    let why = failure_reason(&err);
    let previous = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r.to_owned());
    synced(&mut status, false, why, err.to_string(), at);
    progress(&mut status, at);
    if previous.as_deref() != Some(why) {
        notices.push(Notice::warning(why, err.operation(), err.to_string()));
    }
    TaskOutcome::new(status, notices, Next::Retry(err.into()))
}

/// Advances the EcsTask one step.
pub async fn apply<E: EcsTaskApi>(
    ecs: &E,
    now: Timestamp,
    subject: Subject<'_>,
    resolution: Resolution,
    policy: &Policy,
) -> TaskOutcome {
    let at = Timing { now, generation: subject.generation };
    let spec = subject.spec;
    let mut status = subject.status.clone();
    status.observed_generation = subject.generation;
    let mut notices = Vec::new();

    let watched = unstopped(&status);
    if !watched.is_empty() {
        let batch = &watched[..watched.len().min(DESCRIBE_TASKS_BATCH)];
        match ecs.describe_tasks(&spec.cluster, batch).await {
            Ok(described) => notices.extend(record_described(&mut status, &described, now)),
            Err(err) => return ecs_failed(status, notices, err, &at),
        }
    }
    notices.extend(judge(spec, &mut status, policy, &at));

    let next = match plan::next(spec, &status, now, policy) {
        Step::Pin => return pin(ecs, status, notices, resolution, &at).await,
        Step::Launch { attempt } => return launch(ecs, &subject, status, notices, attempt, policy, &at).await,
        Step::Stop { arns } => {
            let reason = format!(
                "EcsTask {}/{}: activeDeadlineSeconds ({}s) exceeded",
                subject.namespace,
                subject.name,
                spec.active_deadline_seconds.unwrap_or_default()
            );
            if let Err(err) = stop_all(ecs, &spec.cluster, &arns, &reason).await {
                return ecs_failed(status, notices, err, &at);
            }
            let ids: Vec<&str> = arns.iter().map(|a| task_id(a)).collect();
            notices.push(Notice::warning(
                "Stopping",
                "StopTask",
                format!("Stopping task {}: {reason}", ids.join(", ")),
            ));
            Next::After(policy.poll)
        }
        Step::Wait(delay) => Next::After(delay),
        Step::Delete => {
            synced(&mut status, true, common_reason::SYNCED, "ECS answered".to_owned(), &at);
            return TaskOutcome { outcome: Outcome::new(status, notices, Next::AwaitChange), delete: true };
        }
        Step::Done => Next::AwaitChange,
    };
    synced(&mut status, true, common_reason::SYNCED, "ECS answered".to_owned(), &at);
    progress(&mut status, &at);
    TaskOutcome::new(status, notices, next)
}

/// Fixes the revision every attempt will run, and records it before any RunTask.
async fn pin<E: EcsTaskApi>(
    ecs: &E,
    mut status: EcsTaskStatus,
    notices: Vec<Notice>,
    resolution: Resolution,
    at: &Timing,
) -> TaskOutcome {
    let wanted = match resolution {
        Resolution::Resolved(wanted) => wanted,
        Resolution::Waiting(why) => {
            synced(&mut status, false, reason::TASK_DEFINITION_NOT_READY, why, at);
            progress(&mut status, at);
            return TaskOutcome::new(status, notices, Next::After(TASK_DEFINITION_WAIT));
        }
    };
    match ecs.task_definition_containers(&wanted).await {
        Ok(Some(found)) => {
            status.task_definition_arn = Some(found.arn.clone());
            status.essential_containers = found.essential;
            synced(&mut status, true, common_reason::SYNCED, format!("Runs {}", found.arn), at);
            progress(&mut status, at);
            // Written first, then the next reconcile starts the task with it.
            TaskOutcome::new(status, notices, Next::After(Duration::ZERO))
        }
        Ok(None) => {
            synced(
                &mut status,
                false,
                reason::TASK_DEFINITION_NOT_FOUND,
                format!("ECS has no ACTIVE task definition {wanted}"),
                at,
            );
            progress(&mut status, at);
            TaskOutcome::new(status, notices, Next::After(TASK_DEFINITION_WAIT))
        }
        Err(err) => ecs_failed(status, notices, err, at),
    }
}

/// Starts attempt `attempt`: RunTask with the attempt's token, then the record.
async fn launch<E: EcsTaskApi>(
    ecs: &E,
    subject: &Subject<'_>,
    mut status: EcsTaskStatus,
    mut notices: Vec<Notice>,
    attempt: i32,
    policy: &Policy,
    at: &Timing,
) -> TaskOutcome {
    let Some(task_definition) = status.task_definition_arn.clone() else {
        return TaskOutcome::new(status, notices, Next::After(Duration::ZERO));
    };
    let token = client_token(subject.uid, attempt);
    let input = TaskRun {
        cluster: subject.spec.cluster.clone(),
        task_definition,
        client_token: token.clone(),
        started_by: started_by(subject.uid),
        tags: task_tags(&mapping::tags_of(&subject.spec.tags), subject.uid, subject.namespace, subject.name),
        spec: subject.spec.clone(),
    };
    match ecs.run_task(&input).await {
        Ok(launched) => {
            failpoint::hit(AFTER_RUN_TASK);
            notices.extend(record_launch(&mut status, attempt, token, &launched, at.now));
            // An attempt that placed nothing is over at once.
            notices.extend(judge(subject.spec, &mut status, policy, at));
            synced(&mut status, true, common_reason::SYNCED, "ECS answered".to_owned(), at);
            progress(&mut status, at);
            let next = match plan::next(subject.spec, &status, at.now, policy) {
                Step::Wait(delay) => Next::After(delay.min(policy.poll)),
                _ => Next::After(policy.poll),
            };
            TaskOutcome::new(status, notices, next)
        }
        Err(err) if err.kind() == EcsErrorKind::Rejected => {
            let message = format!("ECS refuses to run the task: {}", err.ecs_message());
            notices.push(fail_rejected(&mut status, message.clone(), at));
            synced(&mut status, false, common_reason::INVALID_SPEC, message, at);
            TaskOutcome::new(status, notices, Next::AwaitChange)
        }
        Err(err) => ecs_failed(status, notices, err, at),
    }
}

/// StopTask for each task; one ECS no longer knows is already gone.
async fn stop_all<E: EcsTaskApi>(ecs: &E, cluster: &str, arns: &[String], reason: &str) -> Result<(), EcsError> {
    for arn in arns {
        match ecs.stop_task(cluster, arn, reason).await {
            Ok(()) => {}
            Err(err) if matches!(err.kind(), EcsErrorKind::NotFound | EcsErrorKind::Rejected) => {
                tracing::debug!(task = %arn, error = %err, "the task to stop is gone");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Runs the deletion policy: `Delete` stops every task of the object that still
/// runs, found through the status and through ListTasks by `startedBy` (which also
/// finds a task whose attempt a crash kept out of the status); `Retain` leaves them.
pub async fn delete<E: EcsTaskApi>(ecs: &E, now: Timestamp, subject: Subject<'_>) -> Outcome<EcsTaskStatus> {
    let at = Timing { now, generation: subject.generation };
    let mut status = subject.status.clone();
    let recorded: Vec<String> = status
        .attempts
        .iter()
        .flat_map(|a| &a.tasks)
        .filter(|t| !t.is_stopped() && t.desired_status.as_deref() != Some("STOPPED"))
        .map(|t| t.task_arn.clone())
        .collect();
    if subject.spec.deletion_policy == DeletionPolicy::Retain {
        let notices = if recorded.is_empty() {
            Vec::new()
        } else {
            vec![Notice::normal(
                "Retained",
                "Delete",
                format!("Left {} task(s) running (deletionPolicy: Retain)", recorded.len()),
            )]
        };
        return Outcome::new(status, notices, Next::AwaitChange);
    }
    if status.task_definition_arn.is_none() {
        // Nothing was ever started: the revision is fixed before the first RunTask.
        return Outcome::new(status, Vec::new(), Next::AwaitChange);
    }
    let mut arns = recorded;
    match ecs.list_running_tasks(&subject.spec.cluster, &started_by(subject.uid)).await {
        Ok(listed) => arns.extend(listed),
        Err(err) if err.kind() == EcsErrorKind::NotFound => {}
        Err(err) => {
            let outcome = ecs_failed(status, Vec::new(), err, &at);
            return outcome.outcome;
        }
    }
    arns.sort();
    arns.dedup();
    let reason = format!("EcsTask {}/{} deleted (deletionPolicy: Delete)", subject.namespace, subject.name);
    if let Err(err) = stop_all(ecs, &subject.spec.cluster, &arns, &reason).await {
        return ecs_failed(status, Vec::new(), err, &at).outcome;
    }
    let notices = if arns.is_empty() {
        Vec::new()
    } else {
        let ids: Vec<&str> = arns.iter().map(|a| task_id(a)).collect();
        vec![Notice::normal("Stopped", "StopTask", format!("Stopped task {}: {reason}", ids.join(", ")))]
    };
    synced(&mut status, true, common_reason::DELETING, "The object is being deleted".to_owned(), &at);
    Outcome::new(status, notices, Next::AwaitChange)
}
