//! Application Auto Scaling acting on ECS services, in the scheduler's tick
//! (so on the manual clock every step happens at its own time, the same on
//! any machine): scheduled actions change a target's min/max at their time,
//! target tracking policies read the service's utilisation
//! ([`crate::emulator::sim::utilisation`]) once a minute and scale through
//! their alarms, step scaling policies apply their steps when their alarm
//! fires ([`trigger_step`]). Every change of a desired count goes through
//! [`crate::emulator::sim::deployments::set_desired_count`], the path
//! UpdateService takes, and is recorded as a scaling activity.
//!
//! ## The alarms target tracking makes, and how they are mirrored
//!
//! For an ECS service AWS creates two CloudWatch alarms per target
//! tracking policy, on one-minute datapoints of the service's average:
//! `AlarmHigh`, in ALARM after **3 consecutive datapoints above the
//! target** (3 of 3 minutes), and `AlarmLow`, in ALARM after **15
//! consecutive datapoints below 90 % of the target** (15 of 15 minutes):
//! AWS scales out fast and in slowly. Here each policy evaluates one
//! datapoint per minute from its creation; a missing datapoint (no load
//! set, or no RUNNING task) resets both counts, as CloudWatch's missing
//! data leaves an alarm short of its datapoints. While an alarm is in
//! ALARM it invokes its policy at every evaluation (CloudWatch repeats an
//! Auto Scaling action while the alarm stays in ALARM):
//!
//! - scale-out: `ceil(current × metric / target)` clamped to [min, max],
//!   when larger than the current desired count, unless dynamic scale-out
//!   is suspended or the policy's `ScaleOutCooldown` (default 300 s) since
//!   its last scale-out has not passed;
//! - scale-in: the same formula when smaller, unless `DisableScaleIn`,
//!   dynamic scale-in is suspended, or the `ScaleInCooldown` (default
//!   300 s) since the last scale-in has not passed. With several target
//!   tracking policies, AWS scales in only when all of them would (those
//!   with `DisableScaleIn` do not vote), to the largest capacity any asks
//!   for, and scales out to the largest capacity any asks for.

use crate::emulator::rules::scaling::{clamp, step_capacity, tracking_capacity};
use crate::emulator::rules::schedule;
use crate::emulator::sim::deployments::set_desired_count;
use crate::emulator::sim::utilisation::{Utilisation, source};
use crate::emulator::state::ids::uuid;
use crate::emulator::state::loads::Metric;
use crate::emulator::state::records::Timestamp;
use crate::emulator::state::scaling::{
    Activity, DIMENSION, NAMESPACE, ScalableTarget, ScalingChange, ScalingPolicy, TargetTracking,
};
use crate::emulator::state::{Changes, Store, lock, read};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// One datapoint per minute.
pub const PERIOD_MILLIS: i64 = 60_000;
/// Datapoints above the target that put AlarmHigh in ALARM.
pub const HIGH_DATAPOINTS: u32 = 3;
/// Datapoints below [`LOW_FRACTION`] of the target that put AlarmLow in ALARM.
pub const LOW_DATAPOINTS: u32 = 15;
/// AlarmLow's threshold as a share of the target.
pub const LOW_FRACTION: f64 = 0.9;
/// ECS's default target tracking cooldowns, seconds.
pub const DEFAULT_COOLDOWN_SECONDS: i64 = 300;

/// The metric a target tracking policy follows, if one feeds it.
fn metric_of(config: &TargetTracking) -> Option<Metric> {
    match config.predefined_metric_specification.as_ref()?.predefined_metric_type.as_str() {
        "ECSServiceAverageCPUUtilization" => Some(Metric::Cpu),
        "ECSServiceAverageMemoryUtilization" => Some(Metric::Memory),
        "ALBRequestCountPerTarget" => Some(Metric::RequestCountPerTarget),
        _ => None,
    }
}

/// The activity recorded for a desired count set to `desired`.
fn desired_activity(resource_id: &str, desired: i64, cause: String, now: Timestamp) -> Activity {
    Activity {
        activity_id: uuid(),
        service_namespace: NAMESPACE.into(),
        resource_id: resource_id.to_owned(),
        scalable_dimension: DIMENSION.into(),
        description: format!("Setting desired count to {desired}."),
        cause,
        start_time: now,
        end_time: Some(now),
        status_code: "Successful".into(),
        status_message: Some(format!(
            "Successfully set desired count to {desired}. Change successfully fulfilled by ecs."
        )),
    }
}

/// The activity recorded when a scheduled action sets min and max.
fn capacity_activity(resource_id: &str, min: i64, max: i64, cause: String, now: Timestamp) -> Activity {
    Activity {
        activity_id: uuid(),
        service_namespace: NAMESPACE.into(),
        resource_id: resource_id.to_owned(),
        scalable_dimension: DIMENSION.into(),
        description: format!("Setting min capacity to {min} and max capacity to {max}"),
        cause,
        start_time: now,
        end_time: Some(now),
        status_code: "Successful".into(),
        status_message: Some(format!("Successfully set min capacity to {min} and max capacity to {max}")),
    }
}

/// The service's desired and running counts, if it is there and ACTIVE.
fn counts(store: &Store, target: &ScalableTarget) -> Option<(i64, i64)> {
    let (cluster, service) = target.service()?;
    let cell = store.cluster(cluster)?;
    let state = lock(&cell);
    let entry = state.services.get(service).filter(|e| e.service.status == "ACTIVE")?;
    Some((entry.service.desired_count, entry.service.running_count))
}

/// Sets the target's service to `desired` (through UpdateService's path)
/// and returns the activity to record; `None` when the service is not
/// there to scale or already has that count.
pub fn scale_service(
    store: &Store,
    target: &ScalableTarget,
    desired: i64,
    cause: String,
    changes: &mut Changes,
) -> Option<Activity> {
    let (cluster, service) = target.service()?;
    let cell = store.cluster(cluster)?;
    let mut state = lock(&cell);
    if state.services.get(service)?.service.desired_count == desired {
        return None;
    }
    set_desired_count(store, &mut state, service, desired, changes)?;
    Some(desired_activity(&target.resource_id, desired, cause, store.now()))
}

/// What RegisterScalableTarget does to the current desired count: a
/// count outside the new [min, max] is moved inside at once, as AWS does.
pub fn clamp_to_capacity(store: &Store, target: &ScalableTarget, changes: &mut Changes) -> Option<Activity> {
    let (desired, _) = counts(store, target)?;
    let clamped = clamp(desired, target.min_capacity, target.max_capacity);
    let cause = if clamped > desired {
        format!("minimum capacity was set to {}", target.min_capacity)
    } else {
        format!("maximum capacity was set to {}", target.max_capacity)
    };
    (clamped != desired).then(|| scale_service(store, target, clamped, cause, changes)).flatten()
}

/// Does the scaling due at the clock's current time; returns how many
/// activities were recorded.
pub fn tick(store: &Store) -> usize {
    let now = store.now();
    // Most ticks have nothing due: look before taking the write lock.
    if next_due(store).is_none_or(|at| at > now) {
        return 0;
    }
    let result = store.change_scaling(|records, changes| {
        let mut out = Vec::new();
        for target in records.targets.values() {
            let mut target = target.clone();
            let mut activities = Vec::new();
            let ran = run_scheduled(store, &mut target, now, changes, &mut activities);
            let evaluated = track(store, &mut target, now, changes, &mut activities);
            if ran || evaluated {
                out.push(ScalingChange::PutTarget { target });
            }
            out.extend(activities.into_iter().map(|activity| ScalingChange::Activity { activity }));
        }
        let recorded = out.iter().filter(|c| matches!(c, ScalingChange::Activity { .. })).count();
        Ok((recorded, out))
    });
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "could not persist the autoscaler's changes");
        0
    })
}

/// Runs the scheduled actions due by `now`, each at its own time, oldest
/// first; returns whether any was due.
fn run_scheduled(
    store: &Store,
    target: &mut ScalableTarget,
    now: Timestamp,
    changes: &mut Changes,
    activities: &mut Vec<Activity>,
) -> bool {
    let mut any = false;
    loop {
        let due = target
            .scheduled_actions
            .values()
            .filter_map(|a| a.next_run.filter(|at| *at <= now).map(|at| (at, a.name.clone())))
            .min();
        let Some((at, name)) = due else { return any };
        any = true;
        let Some(action) = target.scheduled_actions.get_mut(&name) else { return any };
        action.next_run = next_run_of(action, at.0);
        let (min, max) = (action.min_capacity, action.max_capacity);
        if target.suspended.scheduled_scaling_suspended {
            continue;
        }
        let new_min = min.unwrap_or(target.min_capacity);
        let new_max = max.unwrap_or(target.max_capacity);
        if new_min > new_max {
            continue;
        }
        target.min_capacity = new_min;
        target.max_capacity = new_max;
        let cause = format!("scheduled action name {name} was triggered");
        activities.push(capacity_activity(&target.resource_id, new_min, new_max, cause.clone(), now));
        if let Some((desired, _)) = counts(store, target) {
            let clamped = clamp(desired, new_min, new_max);
            if clamped != desired
                && let Some(activity) = scale_service(store, target, clamped, cause, changes)
            {
                activities.push(activity);
            }
        }
    }
}

/// When a scheduled action runs after one run at `after` (millis).
pub fn next_run_of(action: &crate::emulator::state::scaling::ScheduledAction, after: i64) -> Option<Timestamp> {
    let parsed = schedule::parse(&action.schedule).ok()?;
    let zone = schedule::zone(action.timezone.as_deref()).ok()?;
    schedule::next_run(
        &parsed,
        &zone,
        action.start_time.map(|t| t.0),
        action.end_time.map(|t| t.0),
        action.created.0,
        after,
    )
    .map(Timestamp)
}

/// A policy's wish after its latest datapoint.
struct Wish {
    policy: String,
    capacity: i64,
    alarm: String,
}

/// Evaluates the target tracking policies due by `now` and scales when
/// their alarms say so; returns whether any was evaluated.
fn track(
    store: &Store,
    target: &mut ScalableTarget,
    now: Timestamp,
    changes: &mut Changes,
    activities: &mut Vec<Activity>,
) -> bool {
    let due: Vec<String> = target
        .policies
        .values()
        .filter(|p| p.target_tracking.is_some() && p.watch.next_evaluation.is_some_and(|at| at <= now))
        .map(|p| p.name.clone())
        .collect();
    if due.is_empty() {
        return false;
    }
    let service = target.service().map(|(c, s)| (c.to_owned(), s.to_owned()));
    let counts = counts(store, target);
    let utilisation = source(store);
    for name in &due {
        let Some(policy) = target.policies.get_mut(name) else { continue };
        let Some(config) = policy.target_tracking.clone() else { continue };
        // Far behind (the real clock after a restart): the datapoints
        // missed are not made up; evaluation resumes now.
        if let Some(at) = policy.watch.next_evaluation
            && now.0 - at.0 > i64::from(LOW_DATAPOINTS) * PERIOD_MILLIS
        {
            policy.watch.next_evaluation = Some(now);
            (policy.watch.above, policy.watch.below) = (0, 0);
        }
        while let Some(at) = policy.watch.next_evaluation.filter(|at| *at <= now) {
            let value = match (&service, counts, metric_of(&config)) {
                (Some((cluster, svc)), Some((_, running)), Some(metric)) if running > 0 => {
                    utilisation.service_average(cluster, svc, metric, at)
                }
                _ => None,
            };
            let watch = &mut policy.watch;
            match value {
                Some(v) => {
                    watch.above = if v > config.target_value { watch.above.saturating_add(1) } else { 0 };
                    watch.below =
                        if v < config.target_value * LOW_FRACTION { watch.below.saturating_add(1) } else { 0 };
                }
                None => (watch.above, watch.below) = (0, 0),
            }
            watch.next_evaluation = Some(Timestamp(at.0 + PERIOD_MILLIS));
            watch.last_value = value;
        }
    }
    let Some((current, _)) = counts else { return true };
    let (min, max) = (target.min_capacity, target.max_capacity);
    let cooled = |last: Option<Timestamp>, seconds: Option<i64>| {
        last.is_none_or(|t| now.0 >= t.0 + seconds.unwrap_or(DEFAULT_COOLDOWN_SECONDS) * 1000)
    };
    let tracking: Vec<&ScalingPolicy> = target.policies.values().filter(|p| p.target_tracking.is_some()).collect();
    let wish = |p: &ScalingPolicy, alarm: &str| {
        let config = p.target_tracking.as_ref()?;
        let capacity = clamp(tracking_capacity(current, p.watch.last_value?, config.target_value), min, max);
        let alarm = p.alarms.iter().find(|a| a.alarm_name.contains(alarm))?.alarm_name.clone();
        Some(Wish { policy: p.name.clone(), capacity, alarm })
    };
    let outs: Vec<Wish> = tracking
        .iter()
        .filter(|p| p.watch.above >= HIGH_DATAPOINTS)
        .filter(|p| cooled(p.watch.last_scale_out, p.target_tracking.as_ref().and_then(|c| c.scale_out_cooldown)))
        .filter_map(|p| wish(p, "-AlarmHigh-"))
        .filter(|w| w.capacity > current)
        .collect();
    let decision = if !outs.is_empty() {
        if target.suspended.dynamic_scaling_out_suspended {
            None
        } else {
            outs.into_iter().max_by_key(|w| w.capacity).map(|w| (w, true))
        }
    } else {
        let voters: Vec<&&ScalingPolicy> = tracking
            .iter()
            .filter(|p| p.target_tracking.as_ref().is_some_and(|c| c.disable_scale_in != Some(true)))
            .collect();
        let ins: Vec<Wish> = voters
            .iter()
            .filter(|p| p.watch.below >= LOW_DATAPOINTS)
            .filter(|p| cooled(p.watch.last_scale_in, p.target_tracking.as_ref().and_then(|c| c.scale_in_cooldown)))
            .filter_map(|p| wish(p, "-AlarmLow-"))
            .filter(|w| w.capacity < current)
            .collect();
        if voters.is_empty() || ins.len() != voters.len() || target.suspended.dynamic_scaling_in_suspended {
            None
        } else {
            ins.into_iter().max_by_key(|w| w.capacity).map(|w| (w, false))
        }
    };
    if let Some((wish, out)) = decision {
        let cause = format!("monitor alarm {} in state ALARM triggered policy {}", wish.alarm, wish.policy);
        if let Some(activity) = scale_service(store, target, wish.capacity, cause, changes) {
            activities.push(activity);
            if let Some(p) = target.policies.get_mut(&wish.policy) {
                if out {
                    p.watch.last_scale_out = Some(now);
                } else {
                    p.watch.last_scale_in = Some(now);
                }
            }
        }
    }
    true
}

/// What a step policy's alarm firing did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StepOutcome {
    /// The desired count asked for (clamped), when a step held the breach.
    pub desired_count: Option<i64>,
    /// The activity recorded, when the count changed.
    pub activity: Option<Activity>,
    /// Why nothing changed, when nothing did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A step scaling policy's alarm in ALARM with the metric `breach` past
/// its threshold (metric − threshold), standing in for the CloudWatch
/// alarm that would invoke it (`POST /_emulator/autoscaling/alarm`): the
/// step holding the breach is applied, clamped to [min, max], unless the
/// policy's `Cooldown` since its last scaling has not passed or that
/// direction of dynamic scaling is suspended.
pub fn trigger_step(
    store: &Store,
    resource_id: &str,
    policy_name: &str,
    breach: f64,
    alarm_name: &str,
) -> EcsResult<StepOutcome> {
    let now = store.now();
    store.change_scaling(|records, changes| {
        let missing = || EcsError::new(ErrorKind::ObjectNotFoundException, "No such scalable target or policy.");
        let mut target = records.targets.get(resource_id).cloned().ok_or_else(missing)?;
        let policy = target.policies.get(policy_name).ok_or_else(missing)?;
        let config = policy
            .step_scaling
            .clone()
            .ok_or_else(|| EcsError::new(ErrorKind::ValidationException, "The policy is not a step scaling policy."))?;
        let quiet = |reason: &str, desired| {
            Ok((StepOutcome { desired_count: desired, activity: None, reason: Some(reason.into()) }, Vec::new()))
        };
        let Some((current, _)) = counts(store, &target) else {
            return quiet("the service is not ACTIVE", None);
        };
        let Some(wanted) = step_capacity(&config, current, breach) else {
            return quiet("no step adjustment holds the breach", None);
        };
        let desired = clamp(wanted, target.min_capacity, target.max_capacity);
        let last = policy.watch.last_scale_out.max(policy.watch.last_scale_in);
        let cooldown = config.cooldown.unwrap_or(0) * 1000;
        if last.is_some_and(|t| now.0 < t.0 + cooldown) {
            return quiet("the policy's cooldown is in effect", Some(desired));
        }
        let suspended = if desired > current {
            target.suspended.dynamic_scaling_out_suspended
        } else {
            target.suspended.dynamic_scaling_in_suspended
        };
        if suspended {
            return quiet("dynamic scaling is suspended", Some(desired));
        }
        let cause = format!("monitor alarm {alarm_name} in state ALARM triggered policy {policy_name}");
        let Some(activity) = scale_service(store, &target, desired, cause, changes) else {
            return quiet("the desired count is already there", Some(desired));
        };
        if let Some(p) = target.policies.get_mut(policy_name) {
            if desired > current {
                p.watch.last_scale_out = Some(now);
            } else {
                p.watch.last_scale_in = Some(now);
            }
        }
        let list = vec![ScalingChange::PutTarget { target }, ScalingChange::Activity { activity: activity.clone() }];
        Ok((StepOutcome { desired_count: Some(desired), activity: Some(activity), reason: None }, list))
    })
}

/// The earliest time the autoscaler has something to do: a policy's next
/// datapoint or a scheduled action's next run.
pub fn next_due(store: &Store) -> Option<Timestamp> {
    let records = read(&store.scaling);
    records
        .targets
        .values()
        .flat_map(|t| {
            let policies =
                t.policies.values().filter(|p| p.target_tracking.is_some()).filter_map(|p| p.watch.next_evaluation);
            let actions = t.scheduled_actions.values().filter_map(|a| a.next_run);
            policies.chain(actions)
        })
        .min()
}
