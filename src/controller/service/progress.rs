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
//! A new object's first status waits the same way ([`ProgressWrites::hold_first`]):
//! right after CreateService it says only "rolling out", and a service of a
//! few tasks is often Ready by the next poll or the one after, so writing it
//! cost a status write (a quarter of the API server's work for a new one-task
//! service) that the Ready one replaces seconds later. It is kept here, and
//! the next reconciles start from it, until the status is more than that (a
//! condition flips, the rollout ends) or [`PROGRESS_EVERY`] has passed. The
//! ECS events of the service wait with it (the caller mirrors them only
//! right before a status that records the watermark is written). Only a
//! status that holds nothing a crash could not rebuild from ECS may wait: no
//! event watermark, no pending or confirmed redeploy, no Cloud Map service or
//! scalable target.
//!
//! Nothing here is needed for correctness: a held-back status is what ECS
//! still reports at the next poll, and the record of the last write is only
//! memory (after a restart the first change is written). A first status lost
//! in a restart is the crash the ownership tags are for: the next reconcile
//! finds the service by them, as after a crash right after CreateService.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::plan;
use crate::api::EcsServiceStatus;
use crate::api::conditions::{PROGRESSING, is_true};

/// The longest a rollout's progress waits for a status write.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// When each object rolling out last had its status written, and the first
/// statuses of new objects that wait to be written.
#[derive(Default)]
pub struct ProgressWrites {
    written: Mutex<HashMap<String, Instant>>,
    unwritten: Mutex<HashMap<String, Unwritten>>,
}

/// A new object's first status, not written yet.
struct Unwritten {
    uid: String,
    status: EcsServiceStatus,
}

impl ProgressWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.written.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_unwritten(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unwritten>> {
        self.unwritten.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The first status of the object `key` (of `uid`) that waits to be
    /// written: what its reconciles start from while it has none stored.
    pub fn unwritten(&self, key: &str, uid: &str) -> Option<EcsServiceStatus> {
        self.lock_unwritten().get(key).filter(|u| u.uid == uid).map(|u| u.status.clone())
    }

    /// Whether `status`, the first of the object `key` (of `uid`, which has
    /// no status stored), may wait instead of being written now: it only
    /// says a rollout began, holds nothing a crash could not rebuild from
    /// ECS, and the object's first status has waited less than
    /// [`PROGRESS_EVERY`]. If so it is kept (see [`Self::unwritten`]).
    pub fn hold_first(&self, key: &str, uid: &str, status: &EcsServiceStatus) -> bool {
        self.hold_first_at(key, uid, status, Instant::now(), PROGRESS_EVERY)
    }

    fn hold_first_at(&self, key: &str, uid: &str, status: &EcsServiceStatus, now: Instant, every: Duration) -> bool {
        let mut unwritten = self.lock_unwritten();
        let mut written = self.lock();
        let same_object = unwritten.get(key).is_some_and(|u| u.uid == uid);
        let since = match written.get(key) {
            Some(at) if same_object => *at,
            _ => now,
        };
        if !may_wait_unwritten(status) || now.saturating_duration_since(since) >= every {
            unwritten.remove(key);
            return false;
        }
        written.insert(key.to_owned(), since);
        unwritten.insert(key.to_owned(), Unwritten { uid: uid.to_owned(), status: status.clone() });
        true
    }

    /// Forgets a first status that waited, once the object has one stored.
    pub fn stored(&self, key: &str) {
        self.lock_unwritten().remove(key);
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
        self.stored(key);
        if is_true(&status.conditions, PROGRESSING) {
            self.lock().insert(key.to_owned(), now);
        } else {
            self.lock().remove(key);
        }
    }

    /// Forgets a deleted object.
    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
        self.stored(key);
    }

    /// How many objects are remembered (those rolling out, and those whose
    /// first status waits).
    pub fn len(&self) -> usize {
        let rolling_out = self.lock().len();
        rolling_out.max(self.lock_unwritten().len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a new object's first status may wait unwritten: a rollout in
/// progress and in sync, nothing failed, and no record a crash could not
/// rebuild from ECS (the event watermark, a redeploy, a Cloud Map service, a
/// scalable target).
fn may_wait_unwritten(status: &EcsServiceStatus) -> bool {
    use crate::api::conditions::{DEGRADED, READY, SYNCED};
    is_true(&status.conditions, PROGRESSING)
        && is_true(&status.conditions, SYNCED)
        && !is_true(&status.conditions, READY)
        && !is_true(&status.conditions, DEGRADED)
        && status.last_event_id.is_none()
        && status.last_event_time.is_none()
        && status.pending_redeploy.is_none()
        && status.force_new_deployment_token.is_none()
        && status.failed_task_definition.is_none()
        && status.service_discovery.is_none()
        && status.auto_scaling.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{ConditionStatus, READY, SYNCED, new_condition, set_condition};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn status(progressing: bool, running: i32, message: &str) -> EcsServiceStatus {
        let mut status = EcsServiceStatus { running_count: Some(running), ..Default::default() };
        for (type_, value) in [(READY, !progressing), (PROGRESSING, progressing)] {
            with_condition(&mut status, type_, value, if value { "Yes" } else { "No" }, message);
        }
        status
    }

    /// Sets one condition of generation 1, at the epoch.
    fn with_condition(status: &mut EcsServiceStatus, type_: &str, value: bool, reason: &str, message: &str) {
        let at = Time(Timestamp::UNIX_EPOCH);
        set_condition(
            &mut status.conditions,
            new_condition(type_, ConditionStatus::from(value), reason, message, Some(1), at),
        );
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

    /// A status as right after CreateService: rolling out, in sync.
    fn created() -> EcsServiceStatus {
        let mut status = status(true, 0, "0 of 1 running");
        with_condition(&mut status, SYNCED, true, "Synced", "ECS matches the spec");
        status
    }

    #[test]
    fn a_new_objects_first_status_waits_until_it_is_more_than_a_rollout_begun() {
        let writes = ProgressWrites::default();
        let every = Duration::from_secs(10);
        let t0 = Instant::now();
        let first = created();
        assert!(writes.hold_first_at("ns/web", "uid-1", &first, t0, every));
        assert_eq!(writes.unwritten("ns/web", "uid-1"), Some(first.clone()));
        assert_eq!(writes.unwritten("ns/web", "uid-2"), None, "another object of the same name");
        assert!(writes.hold_first_at("ns/web", "uid-1", &first, t0 + Duration::from_secs(2), every));
        let mut moved = first.clone();
        moved.running_count = Some(1);
        assert!(
            writes.hold_back_at("ns/web", Some(&first), &moved, t0 + Duration::from_secs(2), every),
            "its progress waits like a written one's"
        );
        assert!(
            !writes.hold_first_at("ns/web", "uid-1", &first, t0 + every, every),
            "written once it has waited the interval"
        );
        assert_eq!(writes.unwritten("ns/web", "uid-1"), None);

        assert!(writes.hold_first_at("ns/other", "uid-3", &first, t0, every));
        writes.writing_at("ns/other", &status(false, 1, "1 of 1 running"), t0 + Duration::from_secs(4));
        assert_eq!(writes.unwritten("ns/other", "uid-3"), None, "written: nothing waits any more");
        assert!(writes.hold_first_at("ns/gone", "uid-4", &first, t0, every));
        writes.forget("ns/gone");
        assert_eq!(writes.unwritten("ns/gone", "uid-4"), None);
    }

    #[test]
    fn a_first_status_with_anything_a_crash_would_lose_is_written_at_once() {
        let writes = ProgressWrites::default();
        let every = Duration::from_secs(10);
        let t0 = Instant::now();
        let mut watermark = created();
        watermark.last_event_id = Some("event-1".to_owned());
        let mut redeploy = created();
        redeploy.force_new_deployment_token = Some("1".to_owned());
        let mut ready = status(false, 1, "1 of 1 running");
        ready.conditions.extend(created().conditions.into_iter().filter(|c| c.type_ == SYNCED));
        let mut unsynced = created();
        set_condition(
            &mut unsynced.conditions,
            new_condition(
                SYNCED,
                ConditionStatus::False,
                "Throttled",
                "slow down",
                Some(1),
                Time(Timestamp::UNIX_EPOCH),
            ),
        );
        for status in [watermark, redeploy, ready, unsynced] {
            assert!(!writes.hold_first_at("ns/web", "uid-1", &status, t0, every), "{status:?}");
        }
        assert!(writes.is_empty());
    }
}
