//! Container health checks and task health, simulated on the clock, and
//! what counts as a healthy task for deployments.
//!
//! A container with a `healthCheck` is UNKNOWN until its first check, one
//! `interval` after the task is RUNNING, and HEALTHY from then on, unless a
//! failure rule makes its checks fail from some point: it turns UNHEALTHY
//! after `retries` failed checks in a row (never before `startPeriod`). A
//! task's `healthStatus` comes from its essential containers that have a
//! check (any UNHEALTHY ⇒ UNHEALTHY, else any UNKNOWN ⇒ UNKNOWN, else
//! HEALTHY); without any it stays UNKNOWN. For deployments a task is healthy
//! once RUNNING and either HEALTHY or, with no checks, RUNNING for
//! `healthy_after` (ECS: 40 s); a task with load-balancer targets also
//! needs every target healthy (and without container checks, only that).
//!
//! Load-balancer targets follow the same kind of plan ([`target_plan`]):
//! healthy `target_healthy` after RUNNING, or, when a failure rule makes
//! their checks fail from some point, unhealthy `target_healthy` after that
//! (never healthy when the checks fail before they first pass).
//!
//! Unhealthy verdicts (container or target) only take effect once the
//! service's `healthCheckGracePeriodSeconds` after the task's start are over
//! ([`grace_ends`]); until then the task is simply not healthy.

use crate::emulator::state::records::*;
use crate::emulator::state::task_summary::TaskSummary;
use crate::emulator::timings::Timings;

/// When one container's health changes, relative to the task's start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPlan {
    /// First passing check (absent when the first check already fails).
    pub healthy_at: Option<i64>,
    /// The check that makes it UNHEALTHY.
    pub unhealthy_at: Option<i64>,
}

/// The health plan of a container definition, or `None` without a check
/// (a failure rule on health gives it ECS's default check).
pub fn plan(def: &ContainerDefinition, fate: Option<&Fate>, timings: &Timings) -> Option<HealthPlan> {
    let failing = fate.and_then(|f| f.unhealthy_after);
    let check = def.health_check.as_ref();
    if check.is_none() && failing.is_none() {
        return None;
    }
    let interval = timings.check_interval(check.and_then(|c| c.interval));
    let retries = i64::from(check.and_then(|c| c.retries).unwrap_or(3).max(1));
    let start_period = i64::from(check.and_then(|c| c.start_period).unwrap_or(0).max(0)) * 1000;
    // Checks run at k × interval, k = 1, 2, ...
    let first_failing = failing.map(|after| (after + interval - 1).div_euclid(interval).max(1));
    let healthy_at = match first_failing {
        Some(1) => None,
        _ => Some(interval),
    };
    let unhealthy_at = first_failing.map(|k| ((k + retries - 1) * interval).max(start_period));
    Some(HealthPlan { healthy_at, unhealthy_at })
}

impl HealthPlan {
    /// The container's health `elapsed` milliseconds after RUNNING.
    pub fn status_at(&self, elapsed: i64) -> &'static str {
        if self.unhealthy_at.is_some_and(|t| elapsed >= t) {
            "UNHEALTHY"
        } else if self.healthy_at.is_some_and(|t| elapsed >= t) {
            "HEALTHY"
        } else {
            "UNKNOWN"
        }
    }

    /// The next change strictly after `elapsed`.
    pub fn next_change(&self, elapsed: i64) -> Option<i64> {
        [self.healthy_at, self.unhealthy_at].into_iter().flatten().filter(|t| *t > elapsed).min()
    }
}

/// A task's health from its essential containers that have a check.
pub fn task_health<'a>(statuses: impl Iterator<Item = &'a str>) -> &'static str {
    let mut any = false;
    let mut unknown = false;
    for s in statuses {
        any = true;
        match s {
            "UNHEALTHY" => return "UNHEALTHY",
            "HEALTHY" => {}
            _ => unknown = true,
        }
    }
    if any && !unknown { "HEALTHY" } else { "UNKNOWN" }
}

/// The health plan of a load-balancer target, relative to the task's
/// start: healthy `target_healthy` after RUNNING; with checks failing from
/// `after` (a fate), unhealthy at `after + target_healthy`, and never
/// healthy when they fail before first passing.
pub fn target_plan(fate: Option<&Fate>, timings: &Timings) -> HealthPlan {
    let pass = timings.target_healthy.max(0);
    match fate.and_then(|f| f.target_unhealthy_after) {
        None => HealthPlan { healthy_at: Some(pass), unhealthy_at: None },
        Some(after) => {
            let after = after.max(0);
            HealthPlan { healthy_at: (after >= pass).then_some(pass), unhealthy_at: Some(after + pass) }
        }
    }
}

/// Healthy for a deployment's `minimumHealthyPercent` and completion (the
/// rule is [`TaskSummary::is_healthy`], which the scheduler reads from the
/// task table's index).
pub fn is_healthy(entry: &TaskEntry, now: Timestamp) -> bool {
    TaskSummary::of(entry).is_healthy(now)
}

/// From when a service acts on unhealthy verdicts about a task: its
/// `healthCheckGracePeriodSeconds` after the task started (ECS ignores
/// failing container and load-balancer checks until then).
pub fn grace_ends(entry: &TaskEntry, grace_period_seconds: Option<i32>) -> Timestamp {
    let started = entry.task.started_at.unwrap_or(entry.task.created_at);
    Timestamp(started.0.saturating_add(i64::from(grace_period_seconds.unwrap_or(0).max(0)) * 1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(check: Option<HealthCheck>) -> ContainerDefinition {
        ContainerDefinition { name: Some("app".into()), health_check: check, ..Default::default() }
    }

    fn check(interval: i32, retries: i32) -> HealthCheck {
        HealthCheck {
            command: vec!["CMD".into()],
            interval: Some(interval),
            timeout: None,
            retries: Some(retries),
            start_period: None,
        }
    }

    #[test]
    fn checks_pass_after_one_interval() {
        let ecs = Timings::ecs();
        let p = plan(&def(Some(check(10, 3))), None, &ecs).unwrap();
        assert_eq!(p, HealthPlan { healthy_at: Some(10_000), unhealthy_at: None });
        assert_eq!(p.status_at(9_999), "UNKNOWN");
        assert_eq!(p.status_at(10_000), "HEALTHY");
        assert_eq!(plan(&def(None), None, &ecs), None);
    }

    #[test]
    fn failing_checks_turn_unhealthy_after_retries() {
        let ecs = Timings::ecs();
        let fate = Fate { unhealthy_after: Some(25_000), ..Fate::default() };
        // Checks at 10, 20, 30, 40, 50 s: 30 s is the first failure, 50 s the third.
        let p = plan(&def(Some(check(10, 3))), Some(&fate), &ecs).unwrap();
        assert_eq!(p, HealthPlan { healthy_at: Some(10_000), unhealthy_at: Some(50_000) });
        assert_eq!(p.next_change(10_000), Some(50_000));
        // Failing from the start: never healthy. No check defined: ECS's defaults (30 s, 3).
        let early = Fate { unhealthy_after: Some(0), ..Fate::default() };
        let p = plan(&def(None), Some(&early), &ecs).unwrap();
        assert_eq!(p, HealthPlan { healthy_at: None, unhealthy_at: Some(90_000) });
    }

    #[test]
    fn targets_turn_healthy_or_fail() {
        let mut t = Timings::ecs();
        t.target_healthy = 10_000;
        assert_eq!(target_plan(None, &t), HealthPlan { healthy_at: Some(10_000), unhealthy_at: None });
        let from_start = Fate { target_unhealthy_after: Some(0), ..Fate::default() };
        assert_eq!(target_plan(Some(&from_start), &t), HealthPlan { healthy_at: None, unhealthy_at: Some(10_000) });
        let later = Fate { target_unhealthy_after: Some(25_000), ..Fate::default() };
        let p = target_plan(Some(&later), &t);
        assert_eq!(p, HealthPlan { healthy_at: Some(10_000), unhealthy_at: Some(35_000) });
        assert_eq!(p.status_at(34_999), "HEALTHY");
        assert_eq!(p.status_at(35_000), "UNHEALTHY");
    }

    #[test]
    fn task_health_aggregates_essential_checks() {
        assert_eq!(task_health(["HEALTHY", "HEALTHY"].into_iter()), "HEALTHY");
        assert_eq!(task_health(["HEALTHY", "UNKNOWN"].into_iter()), "UNKNOWN");
        assert_eq!(task_health(["UNKNOWN", "UNHEALTHY"].into_iter()), "UNHEALTHY");
        assert_eq!(task_health(std::iter::empty()), "UNKNOWN");
    }
}
