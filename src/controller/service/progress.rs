//! How often a rollout's progress alone reaches the API server.
//!
//! While a rollout runs, every brisk poll sees its task counts move (PENDING,
//! then RUNNING, per deployment), and each move used to be a status write.
//! A status write of an EcsService is the API server's dearest request here
//! (decode, schema and CEL validation, managed fields, encode, etcd, every
//! watcher): in the fleet benchmark they took half of its CPU, and it was
//! the API server's CPU that bounded how fast objects were created. So a
//! status that differs from the one written only in progress
//! ([`plan::verdict::only_progress`]) waits until the object's last status
//! write is [`PROGRESS_EVERY`] old; anything else (a condition flipping, a
//! new deployment, a published event, the end of the rollout) is written at
//! once, as before. The counts a user sees during a rollout are then at most
//! that old; the status at its end is exact.
//!
//! Nothing here is needed for correctness: a held-back status is what ECS
//! still reports at the next poll, and the record of the last write is only
//! memory (after a restart the first change is written).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::plan;
use crate::api::EcsServiceStatus;
use crate::api::conditions::{PROGRESSING, is_true};

/// The longest a rollout's progress waits for a status write.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// When each object rolling out last had its status written.
#[derive(Default)]
pub struct ProgressWrites {
    written: Mutex<HashMap<String, Instant>>,
}

impl ProgressWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `next` may wait instead of replacing `current` (what the
    /// object's status holds): it is only progress, and this object's status
    /// was written less than `every` ago.
    pub fn hold_back(&self, key: &str, current: Option<&EcsServiceStatus>, next: &EcsServiceStatus) -> bool {
        self.hold_back_at(key, current, next, Instant::now(), PROGRESS_EVERY)
    }

    fn hold_back_at(
        &self,
        key: &str,
        current: Option<&EcsServiceStatus>,
        next: &EcsServiceStatus,
        now: Instant,
        every: Duration,
    ) -> bool {
        let Some(current) = current else { return false };
        plan::verdict::only_progress(current, next)
            && self.lock().get(key).is_some_and(|at| now.saturating_duration_since(*at) < every)
    }

    /// Records that `status` is being written now. Only objects rolling out
    /// are remembered: a fleet at rest holds nothing here.
    pub fn writing(&self, key: &str, status: &EcsServiceStatus) {
        self.writing_at(key, status, Instant::now());
    }

    fn writing_at(&self, key: &str, status: &EcsServiceStatus, now: Instant) {
        if is_true(&status.conditions, PROGRESSING) {
            self.lock().insert(key.to_owned(), now);
        } else {
            self.lock().remove(key);
        }
    }

    /// Forgets a deleted object.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// How many objects are remembered (those rolling out).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{ConditionStatus, READY, new_condition, set_condition};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn status(progressing: bool, running: i32, message: &str) -> EcsServiceStatus {
        let mut status = EcsServiceStatus { running_count: Some(running), ..Default::default() };
        let at = Time(Timestamp::UNIX_EPOCH);
        for (type_, value) in [(READY, !progressing), (PROGRESSING, progressing)] {
            let reason = if value { "Yes" } else { "No" };
            set_condition(
                &mut status.conditions,
                new_condition(type_, ConditionStatus::from(value), reason, message, Some(1), at.clone()),
            );
        }
        status
    }

    #[test]
    fn progress_waits_for_the_interval_and_everything_else_is_written() {
        let writes = ProgressWrites::default();
        let every = Duration::from_secs(10);
        let t0 = Instant::now();
        let started = status(true, 0, "0 of 2 running");
        let moved = status(true, 1, "1 of 2 running");
        assert!(!writes.hold_back_at("ns/web", Some(&started), &moved, t0, every), "no write remembered yet");

        writes.writing_at("ns/web", &started, t0);
        assert_eq!(writes.len(), 1);
        assert!(writes.hold_back_at("ns/web", Some(&started), &moved, t0 + Duration::from_secs(2), every));
        assert!(!writes.hold_back_at("ns/other", Some(&started), &moved, t0 + Duration::from_secs(2), every));
        assert!(
            !writes.hold_back_at("ns/web", Some(&started), &moved, t0 + every, every),
            "the counts are written once the last write is `every` old"
        );
        let ready = status(false, 2, "2 of 2 running");
        assert!(
            !writes.hold_back_at("ns/web", Some(&started), &ready, t0 + Duration::from_secs(2), every),
            "the end of the rollout is written at once"
        );
        assert!(!writes.hold_back_at("ns/web", None, &moved, t0, every), "an object with no status gets one");

        writes.writing_at("ns/web", &ready, t0 + Duration::from_secs(3));
        assert!(writes.is_empty(), "an object at rest is not remembered");
        writes.writing_at("ns/web", &started, t0);
        writes.forget("ns/web");
        assert!(writes.is_empty());
    }
}
