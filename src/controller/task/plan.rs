//! The EcsTask's next step, decided from its spec and status alone: pin the task
//! definition, start an attempt, wait (for tasks, for a back-off, for a deadline or
//! a time to live), stop tasks, delete the object, or nothing ever again.
//!
//! Crash safety rests on two facts decided here. An attempt's RunTask `clientToken`
//! is a function of the object's UID and the attempt's number, and the number is
//! one more than the attempts recorded: a controller that dies after RunTask but
//! before writing the attempt asks again with the same token, and ECS answers with
//! the tasks it already started. And the task definition is fixed in the status
//! before the first RunTask, so that repeated request is the same request (ECS
//! refuses a token reused with other parameters).

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use crate::api::conditions::is_true;
use crate::api::task::{AttemptResult, COMPLETE, EcsTaskSpec, EcsTaskStatus, FAILED};
use crate::controller::backoff::RetryPolicy;
use crate::controller::task_definition::plan::{OWNER_TAG, OWNER_UID_TAG};
use crate::ecs::Tags;

/// How long an RunTask `clientToken` may be (ECS's limit).
const CLIENT_TOKEN_MAX: usize = 64;

/// The EcsTask reconciler's timings.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How often tasks are described while they run.
    pub poll: Duration,
    /// The back-off between a failed attempt and the next: doubling from `base` up
    /// to `max`, without jitter (a Job's 10 s · 2ⁿ up to 6 minutes by default).
    pub backoff: RetryPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(3),
            backoff: RetryPolicy { base: Duration::from_secs(10), max: Duration::from_secs(360) },
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Resolve the task definition and record it; nothing runs yet.
    Pin,
    /// Start attempt `attempt` (from 1) with its token.
    Launch { attempt: i32 },
    /// Stop these tasks: the EcsTask failed (deadline) while they still run.
    Stop { arns: Vec<String> },
    /// Nothing to ask ECS now; look again after this long (tasks still running, a
    /// back-off, a deadline, a time to live).
    Wait(Duration),
    /// The time to live after finishing is over: delete the object.
    Delete,
    /// Finished, nothing left in ECS to watch: look again only if the object changes.
    Done,
}

/// RunTask's `clientToken` for attempt `attempt`: `<uid>-<attempt>` (a UID is 36
/// characters, so this stays within ECS's 64).
pub fn client_token(uid: &str, attempt: i32) -> String {
    let mut token = format!("{uid}-{attempt}");
    token.truncate(CLIENT_TOKEN_MAX);
    token
}

/// RunTask's `startedBy`: how ListTasks finds every task of the object, even one
/// whose attempt the status never recorded.
pub fn started_by(uid: &str) -> String {
    format!("ecs-bridge/{uid}")
}

/// The tasks' tags: the spec's own, plus the ownership tags (which win over a user
/// tag with the same key), so the console shows which object started a task.
pub fn task_tags(spec_tags: &Tags, uid: &str, namespace: &str, name: &str) -> Tags {
    let mut tags = spec_tags.clone();
    let mut owner = format!("{namespace}/{name}");
    owner.truncate(256);
    tags.insert(OWNER_UID_TAG.to_owned(), uid.to_owned());
    tags.insert(OWNER_TAG.to_owned(), owner);
    tags
}

/// The short task id (the ARN's last segment), as the ECS console shows it.
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Whether the EcsTask has finished for good.
pub fn is_finished(status: &EcsTaskStatus) -> bool {
    is_true(&status.conditions, COMPLETE) || is_true(&status.conditions, FAILED)
}

/// How many attempts failed.
pub fn failed_attempts(status: &EcsTaskStatus) -> i32 {
    status.attempts.iter().filter(|a| a.result == Some(AttemptResult::Failed)).count() as i32
}

/// The ARNs of recorded tasks not yet seen STOPPED.
pub fn unstopped(status: &EcsTaskStatus) -> Vec<String> {
    status.attempts.iter().flat_map(|a| &a.tasks).filter(|t| !t.is_stopped()).map(|t| t.task_arn.clone()).collect()
}

/// The back-off before the attempt after the `failed`-th failure (1-based).
pub fn retry_delay(policy: &Policy, failed: i32) -> Duration {
    let exponent = u32::try_from(failed.saturating_sub(1)).unwrap_or(0);
    policy.backoff.delay(exponent, 1.0)
}

/// When `activeDeadlineSeconds` runs out, if set and the EcsTask has started.
pub fn deadline(spec: &EcsTaskSpec, status: &EcsTaskStatus) -> Option<Timestamp> {
    let seconds = spec.active_deadline_seconds?;
    let start = status.start_time.as_ref()?.0;
    Timestamp::from_second(start.as_second().saturating_add(seconds)).ok()
}

fn until(now: Timestamp, at: Timestamp) -> Duration {
    Duration::from_millis(u64::try_from(at.as_millisecond() - now.as_millisecond()).unwrap_or(0))
}

/// The wait, cut short by the deadline (so that it is noticed when it passes).
fn wait_within_deadline(spec: &EcsTaskSpec, status: &EcsTaskStatus, now: Timestamp, wait: Duration) -> Step {
    let wait = match deadline(spec, status) {
        Some(at) => wait.min(until(now, at) + Duration::from_millis(100)),
        None => wait,
    };
    Step::Wait(wait)
}

/// The next step. [`super::verdict::judge`] has already turned what the records
/// show into results and conditions.
pub fn next(spec: &EcsTaskSpec, status: &EcsTaskStatus, now: Timestamp, policy: &Policy) -> Step {
    if status.task_definition_arn.is_none() {
        return if is_finished(status) { Step::Done } else { Step::Pin };
    }
    if is_finished(status) {
        let running: Vec<&crate::api::task::TaskRecord> =
            status.attempts.iter().flat_map(|a| &a.tasks).filter(|t| !t.is_stopped()).collect();
        if !running.is_empty() {
            let to_stop: Vec<String> = running
                .iter()
                .filter(|t| is_true(&status.conditions, FAILED) && t.desired_status.as_deref() != Some("STOPPED"))
                .map(|t| t.task_arn.clone())
                .collect();
            return if to_stop.is_empty() { Step::Wait(policy.poll) } else { Step::Stop { arns: to_stop } };
        }
        let Some(ttl) = spec.ttl_seconds_after_finished else { return Step::Done };
        let Some(finished) = status.completion_time.as_ref() else { return Step::Done };
        let Ok(expires) = Timestamp::from_second(finished.0.as_second().saturating_add(ttl)) else {
            return Step::Done;
        };
        return if now >= expires { Step::Delete } else { Step::Wait(until(now, expires)) };
    }
    match status.attempts.last() {
        None => Step::Launch { attempt: 1 },
        Some(last) if last.result.is_none() => wait_within_deadline(spec, status, now, policy.poll),
        Some(last) => {
            let finished = last.finished_at.as_ref().map_or(now, |t| t.0);
            let delay = retry_delay(policy, failed_attempts(status));
            let at = Timestamp::from_millisecond(
                finished.as_millisecond().saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)),
            )
            .unwrap_or(now);
            if now >= at {
                Step::Launch { attempt: last.attempt + 1 }
            } else {
                wait_within_deadline(spec, status, now, until(now, at))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{ConditionStatus, new_condition};
    use crate::api::task::{Attempt, TaskRecord};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).unwrap()
    }

    fn spec(extra: serde_json::Value) -> EcsTaskSpec {
        let mut base = serde_json::json!({"taskDefinition": "job"});
        if let (Some(b), Some(e)) = (base.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        serde_json::from_value(base).unwrap()
    }

    fn task(last: &str, desired: &str) -> TaskRecord {
        TaskRecord {
            task_arn: "arn:t/c/1".into(),
            last_status: last.into(),
            desired_status: Some(desired.into()),
            stop_code: None,
            stopped_reason: None,
            started_at: None,
            stopped_at: None,
            containers: Vec::new(),
        }
    }

    fn attempt(number: i32, result: Option<AttemptResult>, finished: Option<i64>, tasks: Vec<TaskRecord>) -> Attempt {
        Attempt {
            attempt: number,
            client_token: client_token("uid", number),
            launched_at: Some(Time(at(0))),
            tasks,
            failures: Vec::new(),
            result,
            message: None,
            finished_at: finished.map(|s| Time(at(s))),
        }
    }

    fn pinned(attempts: Vec<Attempt>) -> EcsTaskStatus {
        EcsTaskStatus {
            task_definition_arn: Some("arn:td/job:1".into()),
            start_time: Some(Time(at(0))),
            attempts,
            ..Default::default()
        }
    }

    fn finished(status: &mut EcsTaskStatus, type_: &str, when: i64) {
        status.conditions.push(new_condition(type_, ConditionStatus::True, "X", "", Some(1), Time(at(when))));
        status.completion_time = Some(Time(at(when)));
    }

    #[test]
    fn tokens_are_the_uid_and_the_attempt_within_ecs_limit() {
        let uid = "0f9d7c4e-2b1a-4c3d-9e8f-123456789abc";
        assert_eq!(client_token(uid, 1), format!("{uid}-1"));
        assert_eq!(client_token(uid, 1), client_token(uid, 1), "deterministic");
        assert_ne!(client_token(uid, 1), client_token(uid, 2));
        assert!(client_token(uid, i32::MAX).len() <= 64);
        assert!(started_by(uid).len() <= 128);
    }

    #[test]
    fn the_task_definition_is_pinned_before_anything_runs() {
        assert_eq!(next(&spec(serde_json::json!({})), &EcsTaskStatus::default(), at(0), &Policy::default()), Step::Pin);
        assert_eq!(
            next(&spec(serde_json::json!({})), &pinned(Vec::new()), at(0), &Policy::default()),
            Step::Launch { attempt: 1 }
        );
    }

    #[test]
    fn running_tasks_are_polled_not_hot_looped() {
        let status = pinned(vec![attempt(1, None, None, vec![task("RUNNING", "RUNNING")])]);
        assert_eq!(
            next(&spec(serde_json::json!({})), &status, at(5), &Policy::default()),
            Step::Wait(Duration::from_secs(3))
        );
        // A deadline 1 s away shortens the wait.
        let short = spec(serde_json::json!({"activeDeadlineSeconds": 6}));
        assert_eq!(next(&short, &status, at(5), &Policy::default()), Step::Wait(Duration::from_millis(1100)));
    }

    #[test]
    fn a_failed_attempt_is_retried_after_a_doubling_back_off() {
        let policy = Policy::default();
        assert_eq!(retry_delay(&policy, 1), Duration::from_secs(10));
        assert_eq!(retry_delay(&policy, 2), Duration::from_secs(20));
        assert_eq!(retry_delay(&policy, 7), Duration::from_secs(360), "capped at six minutes");
        let one_failed = pinned(vec![attempt(1, Some(AttemptResult::Failed), Some(100), Vec::new())]);
        let spec = spec(serde_json::json!({"backoffLimit": 3}));
        assert_eq!(next(&spec, &one_failed, at(104), &policy), Step::Wait(Duration::from_secs(6)));
        assert_eq!(next(&spec, &one_failed, at(110), &policy), Step::Launch { attempt: 2 });
        let two_failed = pinned(vec![
            attempt(1, Some(AttemptResult::Failed), Some(100), Vec::new()),
            attempt(2, Some(AttemptResult::Failed), Some(120), Vec::new()),
        ]);
        assert_eq!(next(&spec, &two_failed, at(130), &policy), Step::Wait(Duration::from_secs(10)));
        assert_eq!(next(&spec, &two_failed, at(140), &policy), Step::Launch { attempt: 3 });
    }

    #[test]
    fn a_failed_task_stops_what_still_runs_once() {
        let mut status = pinned(vec![attempt(1, None, None, vec![task("RUNNING", "RUNNING")])]);
        finished(&mut status, FAILED, 50);
        let plain = spec(serde_json::json!({}));
        assert_eq!(next(&plain, &status, at(50), &Policy::default()), Step::Stop { arns: vec!["arn:t/c/1".into()] });
        status.attempts[0].tasks[0].desired_status = Some("STOPPED".into());
        assert_eq!(next(&plain, &status, at(51), &Policy::default()), Step::Wait(Duration::from_secs(3)), "stopping");
        status.attempts[0].tasks[0].last_status = "STOPPED".into();
        assert_eq!(next(&plain, &status, at(52), &Policy::default()), Step::Done);
    }

    #[test]
    fn a_finished_task_with_a_ttl_deletes_itself_when_it_runs_out() {
        let mut status =
            pinned(vec![attempt(1, Some(AttemptResult::Succeeded), Some(100), vec![task("STOPPED", "STOPPED")])]);
        finished(&mut status, COMPLETE, 100);
        let ttl = spec(serde_json::json!({"ttlSecondsAfterFinished": 30}));
        assert_eq!(next(&ttl, &status, at(110), &Policy::default()), Step::Wait(Duration::from_secs(20)));
        assert_eq!(next(&ttl, &status, at(130), &Policy::default()), Step::Delete);
        assert_eq!(next(&spec(serde_json::json!({})), &status, at(130), &Policy::default()), Step::Done);
    }
}
