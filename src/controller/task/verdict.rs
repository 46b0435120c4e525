//! When a task succeeded, when an attempt is over, and when the whole EcsTask is:
//! the pure rules behind `Complete` and `Failed`.
//!
//! A task succeeded when ECS stopped it because its essential containers exited
//! (`EssentialContainerExited`, or no stop code) and every essential container
//! exited with 0. Anything else is a failure: a non-zero or missing exit code, a
//! task that failed to start, one stopped by someone (`UserInitiated`) or by AWS
//! (`SpotInterruption`): the work was not seen to finish. Exit codes of
//! non-essential containers do not count, since ECS stops those with a signal when
//! the essential one ends.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::{ConditionStatus, SYNCED, new_condition, set_condition};
use crate::api::task::{Attempt, AttemptResult, COMPLETE, EcsTaskSpec, EcsTaskStatus, FAILED, TaskPhase, TaskRecord};
use crate::controller::context::Notice;

use super::plan::{Policy, deadline, failed_attempts, is_finished, retry_delay, task_id};

/// Condition reasons of the EcsTask kind.
pub mod reason {
    /// Complete: an attempt succeeded.
    pub const COMPLETED: &str = "Completed";
    /// Failed: more failed attempts than `backoffLimit` allows.
    pub const BACKOFF_LIMIT_EXCEEDED: &str = "BackoffLimitExceeded";
    /// Failed: `activeDeadlineSeconds` passed.
    pub const DEADLINE_EXCEEDED: &str = "DeadlineExceeded";
    /// Waiting for the task definition; nothing started.
    pub const PENDING: &str = "Pending";
    /// An attempt's tasks are in ECS.
    pub const RUNNING: &str = "Running";
    /// Waiting out the back-off before the next attempt.
    pub const BACKING_OFF: &str = "BackingOff";
}

/// The exit code of `container` in `task`, if it reported one.
fn exit_code(task: &TaskRecord, container: &str) -> Option<i32> {
    task.containers.iter().find(|c| c.name == container).and_then(|c| c.exit_code)
}

/// The containers whose exit codes count: the essential ones, or every container
/// when the revision named none (it always names one; this keeps the rule total).
fn counted<'a>(task: &'a TaskRecord, essential: &'a [String]) -> Vec<&'a str> {
    if essential.is_empty() {
        task.containers.iter().map(|c| c.name.as_str()).collect()
    } else {
        essential.iter().map(String::as_str).collect()
    }
}

/// Whether a STOPPED task did its work (see the module's rule).
pub fn task_succeeded(task: &TaskRecord, essential: &[String]) -> bool {
    let stopped_by_exit = matches!(task.stop_code.as_deref(), None | Some("EssentialContainerExited"));
    let names = counted(task, essential);
    task.is_stopped()
        && stopped_by_exit
        && !names.is_empty()
        && names.iter().all(|name| exit_code(task, name) == Some(0))
}

/// How a stopped task ended, in a phrase for Events and messages.
pub fn describe_stop(task: &TaskRecord, essential: &[String]) -> String {
    let codes: Vec<String> = counted(task, essential)
        .into_iter()
        .map(|name| match exit_code(task, name) {
            Some(code) => format!("{name} exited with code {code}"),
            None => format!("{name} has no exit code"),
        })
        .collect();
    let mut text = codes.join(", ");
    let why = [task.stop_code.as_deref(), task.stopped_reason.as_deref()].into_iter().flatten().collect::<Vec<_>>();
    if !why.is_empty() {
        text.push_str(&format!(" ({})", why.join(": ")));
    }
    let reasons: Vec<&str> = task.containers.iter().filter_map(|c| c.reason.as_deref()).collect();
    if !reasons.is_empty() {
        text.push_str(&format!("; {}", reasons.join("; ")));
    }
    text
}

/// The attempt's exit code for `status.exitCode`: its first non-zero essential exit
/// code, else 0 when any was reported.
fn attempt_exit_code(attempt: &Attempt, essential: &[String]) -> Option<i32> {
    let codes: Vec<i32> = attempt
        .tasks
        .iter()
        .flat_map(|t| counted(t, essential).into_iter().filter_map(move |name| exit_code(t, name)))
        .collect();
    codes.iter().copied().find(|c| *c != 0).or_else(|| codes.first().copied())
}

/// An attempt's result once every task stopped, with the reason for a failure.
fn attempt_verdict(attempt: &Attempt, essential: &[String]) -> (AttemptResult, Option<String>) {
    if let Some(failure) = attempt.failures.first() {
        let detail = failure.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
        return (AttemptResult::Failed, Some(format!("ECS could not place a task: {}{detail}", failure.reason)));
    }
    match attempt.tasks.iter().find(|t| !task_succeeded(t, essential)) {
        None => (AttemptResult::Succeeded, None),
        Some(task) => (
            AttemptResult::Failed,
            Some(format!("task {}: {}", task_id(&task.task_arn), describe_stop(task, essential))),
        ),
    }
}

fn set(status: &mut EcsTaskStatus, type_: &str, value: ConditionStatus, reason: &str, message: String, at: &Timing) {
    set_condition(&mut status.conditions, new_condition(type_, value, reason, message, at.generation, Time(at.now)));
}

/// The moment and generation a verdict is written for.
pub struct Timing {
    pub now: Timestamp,
    pub generation: Option<i64>,
}

/// Finishes the EcsTask: `Complete` or `Failed`, with the reason and the Event.
fn finish(status: &mut EcsTaskStatus, success: bool, why: &'static str, message: String, at: &Timing) -> Notice {
    status.completion_time.get_or_insert(Time(at.now));
    status.phase = Some(if success { TaskPhase::Succeeded } else { TaskPhase::Failed });
    let (complete, failed) = if success {
        (ConditionStatus::True, ConditionStatus::False)
    } else {
        (ConditionStatus::False, ConditionStatus::True)
    };
    set(status, COMPLETE, complete, why, message.clone(), at);
    set(status, FAILED, failed, why, message.clone(), at);
    if success { Notice::normal(why, "Complete", message) } else { Notice::warning(why, "Fail", message) }
}

/// Fails the EcsTask for good because ECS refuses its RunTask: the spec is
/// immutable, so the same request would be refused again.
pub fn fail_rejected(status: &mut EcsTaskStatus, message: String, at: &Timing) -> Notice {
    finish(status, false, crate::controller::status::reason::INVALID_SPEC, message, at)
}

/// Sets `Complete=False` and `Failed=False` for an EcsTask still on its way.
pub fn in_progress(status: &mut EcsTaskStatus, phase: TaskPhase, message: String, at: &Timing) {
    if is_finished(status) {
        return;
    }
    let why = match phase {
        TaskPhase::Pending => reason::PENDING,
        TaskPhase::BackingOff => reason::BACKING_OFF,
        _ => reason::RUNNING,
    };
    status.phase = Some(phase);
    set(status, COMPLETE, ConditionStatus::False, why, message.clone(), at);
    set(status, FAILED, ConditionStatus::False, why, message, at);
}

/// Sets `Synced`.
pub fn synced(status: &mut EcsTaskStatus, ok: bool, why: &str, message: String, at: &Timing) {
    set(status, SYNCED, ConditionStatus::from(ok), why, message, at);
}

/// Judges what the records now show: a finished attempt gets its result (and the
/// EcsTask completes, fails or backs off), and a passed deadline fails the EcsTask.
pub fn judge(spec: &EcsTaskSpec, status: &mut EcsTaskStatus, policy: &Policy, at: &Timing) -> Vec<Notice> {
    let mut notices = Vec::new();
    if is_finished(status) {
        return notices;
    }
    let essential = status.essential_containers.clone();
    let Some(last) = status.attempts.last_mut() else { return notices };
    if last.result.is_none() && last.all_stopped() {
        let (result, message) = attempt_verdict(last, &essential);
        last.result = Some(result);
        last.message = message.clone();
        last.finished_at = Some(Time(at.now));
        let number = last.attempt;
        let exit_code = attempt_exit_code(last, &essential);
        status.exit_code = exit_code.or(status.exit_code);
        let failed = failed_attempts(status);
        let message = message.unwrap_or_default();
        if result == AttemptResult::Succeeded {
            let count = status.attempts.last().map_or(0, |a| a.tasks.len());
            notices.push(finish(
                status,
                true,
                reason::COMPLETED,
                format!("Attempt {number} succeeded: {count} task(s) exited with code 0"),
                at,
            ));
        } else if failed > spec.backoff_limit {
            notices.push(finish(
                status,
                false,
                reason::BACKOFF_LIMIT_EXCEEDED,
                format!(
                    "{failed} failed attempt(s), more than backoffLimit {} allows; last: {message}",
                    spec.backoff_limit
                ),
                at,
            ));
        } else {
            let delay = retry_delay(policy, failed);
            let text =
                format!("Attempt {number} failed: {message}; attempt {} starts in {}s", number + 1, delay.as_secs());
            notices.push(Notice::warning("AttemptFailed", "DescribeTasks", text.clone()));
            in_progress(status, TaskPhase::BackingOff, text, at);
        }
    }
    if let (false, Some(deadline)) = (is_finished(status), deadline(spec, status))
        && at.now >= deadline
    {
        let seconds = spec.active_deadline_seconds.unwrap_or_default();
        notices.push(finish(
            status,
            false,
            reason::DEADLINE_EXCEEDED,
            format!("The EcsTask ran longer than activeDeadlineSeconds ({seconds}s); its running tasks are stopped"),
            at,
        ));
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::task::ContainerRecord;

    fn stopped(code: Option<i32>, stop_code: &str) -> TaskRecord {
        TaskRecord {
            task_arn: "arn:t/c/abc".into(),
            last_status: "STOPPED".into(),
            desired_status: Some("STOPPED".into()),
            stop_code: Some(stop_code.into()),
            stopped_reason: Some("Essential container in task exited".into()),
            started_at: None,
            stopped_at: None,
            containers: vec![
                ContainerRecord { name: "app".into(), last_status: None, exit_code: code, reason: None },
                ContainerRecord { name: "sidecar".into(), last_status: None, exit_code: Some(137), reason: None },
            ],
        }
    }

    #[test]
    fn only_essential_exit_codes_count() {
        let essential = vec!["app".to_owned()];
        assert!(task_succeeded(&stopped(Some(0), "EssentialContainerExited"), &essential));
        assert!(!task_succeeded(&stopped(Some(3), "EssentialContainerExited"), &essential));
        assert!(!task_succeeded(&stopped(None, "TaskFailedToStart"), &essential));
        assert!(!task_succeeded(&stopped(Some(0), "UserInitiated"), &essential), "stopped by someone: not done");
        assert!(!task_succeeded(&stopped(Some(0), "EssentialContainerExited"), &[]), "without a list, all count");
        let mut running = stopped(Some(0), "EssentialContainerExited");
        running.last_status = "RUNNING".into();
        assert!(!task_succeeded(&running, &essential));
    }

    #[test]
    fn the_stop_reads_as_a_sentence() {
        let text = describe_stop(&stopped(Some(3), "EssentialContainerExited"), &["app".to_owned()]);
        assert_eq!(text, "app exited with code 3 (EssentialContainerExited: Essential container in task exited)");
    }

    #[test]
    fn the_first_non_zero_exit_code_is_the_attempts() {
        let attempt = Attempt {
            attempt: 1,
            client_token: "u-1".into(),
            launched_at: None,
            tasks: vec![stopped(Some(0), "EssentialContainerExited"), stopped(Some(2), "EssentialContainerExited")],
            failures: Vec::new(),
            result: None,
            message: None,
            finished_at: None,
        };
        assert_eq!(attempt_exit_code(&attempt, &["app".to_owned()]), Some(2));
        assert_eq!(attempt_verdict(&attempt, &["app".to_owned()]).0, AttemptResult::Failed);
    }
}
