//! What ECS said about an EcsTask's tasks, folded into its status records, and
//! the Events each change deserves.
//!
//! An Event is decided by comparing what ECS reports with what the status last
//! recorded, never with anything kept in memory: the record is written with the
//! Events it caused, so a restarted controller compares against the same record
//! and does not publish them again.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use crate::api::task::{Attempt, ContainerRecord, EcsTaskStatus, LaunchFailure, TaskPhase, TaskRecord};
use crate::controller::context::Notice;
use crate::ecs::task::{DescribedTasks, Launched, TaskDescription};

use super::plan::task_id;
use super::verdict::{describe_stop, task_succeeded};

/// How long after RunTask a task ECS does not describe is still believed to exist:
/// ECS's reads are eventually consistent, so a task just started can be MISSING for
/// a moment. Past this, MISSING means gone (ECS forgets stopped tasks after an hour).
pub const MISSING_GRACE_SECONDS: i64 = 60;

fn record_of(task: &TaskDescription) -> TaskRecord {
    TaskRecord {
        task_arn: task.arn.clone(),
        last_status: task.last_status.clone(),
        desired_status: task.desired_status.clone(),
        stop_code: task.stop_code.clone(),
        stopped_reason: task.stopped_reason.clone(),
        started_at: task.started_at.map(Time),
        stopped_at: task.stopped_at.map(Time),
        containers: task
            .containers
            .iter()
            .map(|c| ContainerRecord {
                name: c.name.clone(),
                last_status: c.last_status.clone(),
                exit_code: c.exit_code,
                reason: c.reason.clone(),
            })
            .collect(),
    }
}

/// The notices for a task moving from `before` (absent: never recorded) to `after`.
fn transitions(before: Option<&TaskRecord>, after: &TaskRecord, attempt: i32, essential: &[String]) -> Vec<Notice> {
    let id = task_id(&after.task_arn);
    let mut notices = Vec::new();
    if after.started_at.is_some() && before.is_none_or(|b| b.started_at.is_none()) {
        notices.push(Notice::normal(
            "TaskRunning",
            "DescribeTasks",
            format!("Task {id} (attempt {attempt}) is RUNNING"),
        ));
    }
    if after.is_stopped() && before.is_none_or(|b| !b.is_stopped()) {
        let text = format!("Task {id} (attempt {attempt}) stopped: {}", describe_stop(after, essential));
        notices.push(if task_succeeded(after, essential) {
            Notice::normal("TaskStopped", "DescribeTasks", text)
        } else {
            Notice::warning("TaskFailed", "DescribeTasks", text)
        });
    }
    notices
}

/// Records a RunTask answer as attempt `number`, with the notices for it.
pub fn record_launch(
    status: &mut EcsTaskStatus,
    number: i32,
    client_token: String,
    launched: &Launched,
    now: Timestamp,
) -> Vec<Notice> {
    let essential = status.essential_containers.clone();
    let mut attempt = Attempt {
        attempt: number,
        client_token,
        launched_at: Some(Time(now)),
        tasks: Vec::new(),
        failures: launched
            .failures
            .iter()
            .map(|f| LaunchFailure { reason: f.reason.clone(), detail: f.detail.clone() })
            .collect(),
        result: None,
        message: None,
        finished_at: None,
    };
    let mut notices = Vec::new();
    if !launched.tasks.is_empty() {
        let ids: Vec<&str> = launched.tasks.iter().map(|t| task_id(&t.arn)).collect();
        notices.push(Notice::normal(
            "Started",
            "RunTask",
            format!("Attempt {number}: started task {}", ids.join(", ")),
        ));
    }
    for task in &launched.tasks {
        let record = record_of(task);
        notices.extend(transitions(None, &record, number, &essential));
        attempt.tasks.push(record);
    }
    if !attempt.failures.is_empty() {
        let reasons: Vec<&str> = attempt.failures.iter().map(|f| f.reason.as_str()).collect();
        notices.push(Notice::warning(
            "RunTaskFailed",
            "RunTask",
            format!("Attempt {number}: ECS could not place {} task(s): {}", reasons.len(), reasons.join(", ")),
        ));
    }
    status.start_time.get_or_insert(Time(now));
    status.attempt_count = status.attempt_count.max(number);
    status.phase = Some(TaskPhase::Running);
    status.attempts.retain(|a| a.attempt != number);
    status.attempts.push(attempt);
    notices
}

/// Folds a DescribeTasks answer into the records; MISSING tasks past the grace
/// period are recorded as stopped (their exit codes unknown, so failed).
pub fn record_described(status: &mut EcsTaskStatus, described: &DescribedTasks, now: Timestamp) -> Vec<Notice> {
    let essential = status.essential_containers.clone();
    let mut notices = Vec::new();
    for attempt in &mut status.attempts {
        let number = attempt.attempt;
        let launched_ms = attempt.launched_at.as_ref().map_or(0, |t| t.0.as_millisecond());
        for record in attempt.tasks.iter_mut().filter(|t| !t.is_stopped()) {
            if let Some(task) = described.tasks.iter().find(|t| t.arn == record.task_arn) {
                let after = record_of(task);
                notices.extend(transitions(Some(record), &after, number, &essential));
                *record = after;
            } else if described.missing.contains(&record.task_arn)
                && now.as_millisecond() - launched_ms > MISSING_GRACE_SECONDS * 1000
            {
                let mut after = record.clone();
                after.last_status = "STOPPED".into();
                after.stopped_reason = Some("ECS no longer describes the task (MISSING)".into());
                after.stopped_at = Some(Time(now));
                notices.extend(transitions(Some(record), &after, number, &essential));
                *record = after;
            }
        }
    }
    notices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::task::plan::unstopped;
    use crate::ecs::task::ContainerDescription;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn task(arn: &str, last: &str) -> TaskDescription {
        TaskDescription {
            arn: arn.into(),
            last_status: last.into(),
            desired_status: Some("RUNNING".into()),
            containers: vec![ContainerDescription { name: "app".into(), ..Default::default() }],
            ..Default::default()
        }
    }

    fn launched_status() -> EcsTaskStatus {
        let mut status = EcsTaskStatus { essential_containers: vec!["app".into()], ..Default::default() };
        let launched = Launched { tasks: vec![task("arn:t/c/1", "PROVISIONING")], failures: Vec::new() };
        let notices = record_launch(&mut status, 1, "uid-1".into(), &launched, at(100));
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(notices[0].message, "Attempt 1: started task 1");
        status
    }

    #[test]
    fn each_transition_is_told_once() {
        let mut status = launched_status();
        assert_eq!(status.start_time, Some(Time(at(100))));
        let mut running = task("arn:t/c/1", "RUNNING");
        running.started_at = Some(at(103));
        let described = DescribedTasks { tasks: vec![running.clone()], missing: Vec::new() };
        let first = record_described(&mut status, &described, at(104));
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].reason, "TaskRunning");
        assert!(record_described(&mut status, &described, at(105)).is_empty(), "already recorded");
        let mut stopped = running;
        stopped.last_status = "STOPPED".into();
        stopped.stop_code = Some("EssentialContainerExited".into());
        stopped.containers[0].exit_code = Some(0);
        let described = DescribedTasks { tasks: vec![stopped], missing: Vec::new() };
        let notices = record_described(&mut status, &described, at(110));
        assert_eq!(notices.len(), 1);
        assert_eq!((notices[0].reason, notices[0].warning), ("TaskStopped", false));
        assert!(unstopped(&status).is_empty());
        assert!(record_described(&mut status, &described, at(111)).is_empty());
    }

    #[test]
    fn a_missing_task_is_believed_until_the_grace_period_ends() {
        let mut status = launched_status();
        let described = DescribedTasks { tasks: Vec::new(), missing: vec!["arn:t/c/1".into()] };
        assert!(record_described(&mut status, &described, at(130)).is_empty());
        assert_eq!(unstopped(&status).len(), 1);
        let notices = record_described(&mut status, &described, at(100 + MISSING_GRACE_SECONDS + 1));
        assert_eq!((notices[0].reason, notices[0].warning), ("TaskFailed", true));
        assert!(unstopped(&status).is_empty());
    }

    #[test]
    fn placement_failures_are_recorded_and_told() {
        let mut status = EcsTaskStatus::default();
        let launched = Launched {
            tasks: Vec::new(),
            failures: vec![crate::ecs::BatchFailure { arn: None, reason: "RESOURCE:MEMORY".into(), detail: None }],
        };
        let notices = record_launch(&mut status, 1, "uid-1".into(), &launched, at(1));
        assert_eq!(notices[0].reason, "RunTaskFailed");
        assert!(status.attempts[0].all_stopped());
        assert_eq!(status.attempts[0].failures[0].reason, "RESOURCE:MEMORY");
    }
}
