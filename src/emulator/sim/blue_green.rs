//! ECS's built-in blue/green, linear and canary deployments
//! (`deploymentConfiguration.strategy` BLUE_GREEN, LINEAR, CANARY;
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html>).
//!
//! A new deployment of such a service (green) walks through ECS's lifecycle
//! stages while the previous one (blue) keeps all its tasks: RECONCILE_SERVICE,
//! PRE_SCALE_UP, SCALE_UP (green launched at full size, whatever
//! `maximumPercent`; the stage ends when every green task is healthy),
//! POST_SCALE_UP, TEST_TRAFFIC_SHIFT (test traffic to green),
//! POST_TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT (PRE_PRODUCTION_TRAFFIC_SHIFT
//! hooks first, then production traffic moves: all at once for BLUE_GREEN;
//! `stepPercent` every `stepBakeTimeInMinutes` for LINEAR; `canaryPercent`,
//! then the rest after `canaryBakeTimeInMinutes` for CANARY),
//! POST_PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME (`bakeTimeInMinutes`, both
//! revisions running), CLEAN_UP (blue's tasks stop; the deployment then
//! completes as a rolling one does).
//!
//! Each stage's `lifecycleHooks` run when it starts and the deployment waits
//! at that stage until every one has succeeded. No Lambda runs here: an
//! AWS_LAMBDA hook is IN_PROGRESS until its verdict is given through
//! `POST /_emulator/lifecycle-hooks` (what the function would return as
//! `hookStatus`); a PAUSE hook is AWAITING_ACTION until
//! ContinueServiceDeployment. A hook that fails (or times out with the
//! ROLLBACK action) fails the deployment and rolls back to blue, as the
//! circuit breaker does; so do the breaker and the deployment alarms, and
//! StopServiceDeployment. A rollback is instant for traffic: blue never
//! stopped, so the rolled-back-to deployment only has to stop green.
//!
//! A service's first deployment has no blue and rolls out as ROLLING does.

use serde::Deserialize;
use serde_json::Value;

use crate::emulator::sim::circuit_breaker::{Trip, fail_primary};
use crate::emulator::sim::health::is_healthy;
use crate::emulator::sim::pass::{Pass, is_live};
use crate::emulator::state::ClusterState;
use crate::emulator::state::ids::uuid;
use crate::emulator::state::records::*;
use crate::emulator::state::task_id::TaskId;
use crate::emulator::wire::error::{EcsError, EcsResult};

const MINUTE: i64 = 60_000;

/// The phases a deployment walks through: the lifecycle stage it shows and
/// the hook stage whose hooks run in it. PRODUCTION_TRAFFIC_SHIFT is two
/// phases: its PRE_ hooks, then the shift with its own hooks.
const PHASES: &[(&str, Option<&str>)] = &[
    ("RECONCILE_SERVICE", Some("RECONCILE_SERVICE")),
    ("PRE_SCALE_UP", Some("PRE_SCALE_UP")),
    ("SCALE_UP", None),
    ("POST_SCALE_UP", Some("POST_SCALE_UP")),
    ("TEST_TRAFFIC_SHIFT", Some("TEST_TRAFFIC_SHIFT")),
    ("POST_TEST_TRAFFIC_SHIFT", Some("POST_TEST_TRAFFIC_SHIFT")),
    ("PRODUCTION_TRAFFIC_SHIFT", Some("PRE_PRODUCTION_TRAFFIC_SHIFT")),
    ("PRODUCTION_TRAFFIC_SHIFT", Some("PRODUCTION_TRAFFIC_SHIFT")),
    ("POST_PRODUCTION_TRAFFIC_SHIFT", Some("POST_PRODUCTION_TRAFFIC_SHIFT")),
    ("BAKE_TIME", None),
    ("CLEAN_UP", None),
];
const SCALE_UP: usize = 2;
const TEST_SHIFT: usize = 4;
const PRODUCTION_SHIFT: usize = 7;
const BAKE_TIME: usize = 9;
const CLEAN_UP: usize = 10;

/// The hook stages `lifecycleStages` may name.
const HOOK_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// The FAILED deployment's event tail and who rolls back.
pub const HOOK_CAUSE: &str = "lifecycle hook failed";
pub const HOOK_BY: &str = "ECS deployment lifecycle hook";

/// The lifecycle stage a deployment shows for its phase.
pub fn stage_name(progress: &LifecycleProgress) -> &'static str {
    PHASES.get(progress.phase).map_or("CLEAN_UP", |p| p.0)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Timeout {
    timeout_in_minutes: Option<i64>,
    action: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Hook {
    target_type: Option<String>,
    hook_target_arn: Option<String>,
    #[serde(default)]
    lifecycle_stages: Vec<String>,
    timeout_configuration: Option<Timeout>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Linear {
    step_percent: Option<f64>,
    step_bake_time_in_minutes: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Canary {
    canary_percent: Option<f64>,
    canary_bake_time_in_minutes: Option<i64>,
}

/// A service's blue/green, linear or canary settings, ECS's defaults filled in.
#[derive(Clone, Debug)]
struct Strategy {
    bake_millis: i64,
    /// First share of production traffic, what each step adds (LINEAR), and
    /// the wait between steps.
    first_percent: f64,
    step_percent: f64,
    step_millis: i64,
    hooks: Vec<Hook>,
}

fn member<T: serde::de::DeserializeOwned + Default>(config: &DeploymentConfiguration, name: &str) -> EcsResult<T> {
    match config.other.get(name) {
        None | Some(Value::Null) => Ok(T::default()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| EcsError::invalid(format!("Invalid deploymentConfiguration.{name}: {e}"))),
    }
}

fn strategy_of(config: &DeploymentConfiguration) -> EcsResult<Option<Strategy>> {
    let kind = config.other.get("strategy").and_then(Value::as_str).unwrap_or("ROLLING");
    let hooks: Vec<Hook> = member(config, "lifecycleHooks")?;
    let linear: Linear = member(config, "linearConfiguration")?;
    let canary: Canary = member(config, "canaryConfiguration")?;
    let bake = config.other.get("bakeTimeInMinutes").and_then(Value::as_i64).unwrap_or(0);
    let (first, step, wait) = match kind {
        "ROLLING" => return Ok(None),
        "LINEAR" => {
            let step = linear.step_percent.unwrap_or(10.0);
            (step, step, linear.step_bake_time_in_minutes.unwrap_or(6))
        }
        "CANARY" => (canary.canary_percent.unwrap_or(5.0), 100.0, canary.canary_bake_time_in_minutes.unwrap_or(10)),
        _ => (100.0, 100.0, 0),
    };
    Ok(Some(Strategy {
        bake_millis: bake * MINUTE,
        first_percent: first,
        step_percent: step,
        step_millis: wait * MINUTE,
        hooks,
    }))
}

fn in_range(value: Option<f64>, low: f64, high: f64) -> bool {
    value.is_none_or(|v| (low..=high).contains(&v))
}

/// CreateService / UpdateService rules for the strategy members.
pub fn validate(config: &DeploymentConfiguration) -> EcsResult<()> {
    if let Some(kind) = config.other.get("strategy") {
        let allowed = ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"];
        if !kind.as_str().is_some_and(|k| allowed.contains(&k)) {
            return Err(EcsError::invalid(format!(
                "Invalid deploymentConfiguration.strategy {kind}: use one of {}.",
                allowed.join(", ")
            )));
        }
    }
    let minutes = |v: Option<i64>| v.is_none_or(|m| (0..=1440).contains(&m));
    if !minutes(config.other.get("bakeTimeInMinutes").and_then(Value::as_i64)) {
        return Err(EcsError::invalid("bakeTimeInMinutes must be between 0 and 1440."));
    }
    let linear: Linear = member(config, "linearConfiguration")?;
    if !in_range(linear.step_percent, 3.0, 100.0) || !minutes(linear.step_bake_time_in_minutes) {
        return Err(EcsError::invalid(
            "linearConfiguration.stepPercent must be between 3.0 and 100.0 and stepBakeTimeInMinutes between 0 and 1440.",
        ));
    }
    let canary: Canary = member(config, "canaryConfiguration")?;
    if !in_range(canary.canary_percent, 0.1, 100.0) || !minutes(canary.canary_bake_time_in_minutes) {
        return Err(EcsError::invalid(
            "canaryConfiguration.canaryPercent must be between 0.1 and 100.0 and canaryBakeTimeInMinutes between 0 and 1440.",
        ));
    }
    let hooks: Vec<Hook> = member(config, "lifecycleHooks")?;
    for hook in &hooks {
        let kind = hook.target_type.as_deref().unwrap_or("AWS_LAMBDA");
        if kind != "AWS_LAMBDA" && kind != "PAUSE" {
            return Err(EcsError::invalid(format!(
                "Invalid lifecycle hook targetType {kind}: use AWS_LAMBDA or PAUSE."
            )));
        }
        if kind == "AWS_LAMBDA" && hook.hook_target_arn.is_none() {
            return Err(EcsError::invalid("hookTargetArn is required for an AWS_LAMBDA lifecycle hook."));
        }
        if hook.lifecycle_stages.is_empty() {
            return Err(EcsError::invalid("A lifecycle hook must name at least one lifecycle stage."));
        }
        if let Some(bad) = hook.lifecycle_stages.iter().find(|s| !HOOK_STAGES.contains(&s.as_str())) {
            return Err(EcsError::invalid(format!(
                "Invalid lifecycle stage {bad}: use one of {}.",
                HOOK_STAGES.join(", ")
            )));
        }
        if let Some(t) = &hook.timeout_configuration
            && t.action.as_deref().is_some_and(|a| a != "CONTINUE" && a != "ROLLBACK")
        {
            return Err(EcsError::invalid("timeoutConfiguration.action must be CONTINUE or ROLLBACK."));
        }
    }
    Ok(())
}

/// Whether the PRIMARY deployment goes through the lifecycle stages: the
/// service uses a blue/green-like strategy, the deployment is IN_PROGRESS
/// and not a rollback, and a previous deployment (blue) still runs.
pub fn applies(service: &Service, scheduling: &ServiceScheduling, primary: &Deployment) -> bool {
    if primary.rollout_state.as_deref() != Some("IN_PROGRESS")
        || !strategy_of(&service.deployment_configuration).is_ok_and(|s| s.is_some())
    {
        return false;
    }
    if scheduling.lifecycle.as_ref().is_some_and(|p| p.deployment == primary.id) {
        return true;
    }
    let rollback = scheduling.last_completed.as_ref().is_some_and(|c| c.id == primary.id);
    !rollback && service.deployments.len() > 1
}

/// The hooks of `strategy` that run in phase `phase`, started at `now`.
fn start_hooks(strategy: &Strategy, phase: usize, now: Timestamp) -> Vec<HookRun> {
    let Some(stage) = PHASES.get(phase).and_then(|p| p.1) else { return Vec::new() };
    strategy
        .hooks
        .iter()
        .filter(|h| h.lifecycle_stages.iter().any(|s| s == stage))
        .map(|h| {
            let pause = h.target_type.as_deref() == Some("PAUSE");
            let timeout = h.timeout_configuration.clone().unwrap_or_default();
            HookRun {
                hook_id: uuid(),
                target_type: if pause { "PAUSE" } else { "AWS_LAMBDA" }.into(),
                target_arn: if pause { None } else { h.hook_target_arn.clone() },
                stage: stage.into(),
                status: if pause { "AWAITING_ACTION" } else { "IN_PROGRESS" }.into(),
                expires_at: timeout.timeout_in_minutes.map(|m| Timestamp(now.0 + m * MINUTE)),
                timeout_action: timeout.timeout_in_minutes.map(|_| timeout.action.unwrap_or_else(|| "ROLLBACK".into())),
            }
        })
        .collect()
}

fn enter(progress: &mut LifecycleProgress, strategy: &Strategy, phase: usize, now: Timestamp) {
    progress.phase = phase;
    progress.phase_started_at = now;
    progress.hooks = start_hooks(strategy, phase, now);
}

fn waiting(hook: &HookRun) -> bool {
    hook.status == "IN_PROGRESS" || hook.status == "AWAITING_ACTION"
}

fn passed(hook: &HookRun) -> bool {
    hook.status == "SUCCEEDED" || (hook.status == "TIMED_OUT" && hook.timeout_action.as_deref() == Some("CONTINUE"))
}

impl Pass<'_> {
    /// One step of a blue/green, linear or canary deployment: green kept at
    /// full size from SCALE_UP on, blue untouched until CLEAN_UP, and the
    /// phases advanced as far as their work and hooks allow.
    pub fn blue_green(&mut self, state: &mut ClusterState, live: &[TaskId]) {
        let Ok(Some(strategy)) = strategy_of(&self.service.deployment_configuration) else { return };
        let now = self.now;
        let green = self.primary.id.clone();
        let mut progress = match self.scheduling.lifecycle.take() {
            Some(p) if p.deployment == green => p,
            _ => {
                let mut p = LifecycleProgress {
                    deployment: green.clone(),
                    phase: 0,
                    phase_started_at: now,
                    hooks: Vec::new(),
                    test_weight: 0.0,
                    production_weight: 0.0,
                    next_shift_at: None,
                };
                enter(&mut p, &strategy, 0, now);
                p
            }
        };
        let desired = self.service.desired_count;
        let running = |state: &ClusterState, id: &str| {
            state.tasks.get(id).is_some_and(|t| is_live(t) && t.task.desired_status == "RUNNING")
        };
        loop {
            let phase = progress.phase;
            let greens: Vec<String> = live
                .iter()
                .map(TaskId::as_str)
                .chain(self.started.iter().map(String::as_str))
                .filter(|id| running(state, id) && state.tasks[*id].task.started_by.as_deref() == Some(green.as_str()))
                .map(str::to_owned)
                .collect();
            if phase >= SCALE_UP && (greens.len() as i64) < desired && self.may_launch() {
                self.launch(state, (desired - greens.len() as i64) as usize, None);
            }
            let done = match phase {
                SCALE_UP => {
                    greens.len() as i64 >= desired
                        && greens.iter().all(|id| state.tasks.get(id).is_some_and(|t| is_healthy(t, now)))
                }
                TEST_SHIFT => {
                    progress.test_weight = 100.0;
                    true
                }
                PRODUCTION_SHIFT => self.shift(&mut progress, &strategy),
                BAKE_TIME => {
                    let ends = Timestamp(progress.phase_started_at.0 + strategy.bake_millis);
                    if now < ends {
                        self.wake_at(ends);
                    }
                    now >= ends
                }
                CLEAN_UP => {
                    let blues: Vec<String> = live
                        .iter()
                        .filter(|id| {
                            running(state, id) && state.tasks[*id].task.started_by.as_deref() != Some(green.as_str())
                        })
                        .map(|id| id.to_string())
                        .collect();
                    for id in &blues {
                        self.stops.stop(state, id, now, self.reason);
                    }
                    false
                }
                _ => true,
            };
            for hook in progress.hooks.iter().filter(|h| waiting(h)) {
                if let Some(at) = hook.expires_at {
                    self.wake_at(at);
                }
            }
            let hooks_passed = progress.hooks.iter().all(passed);
            if !(done && hooks_passed) || phase >= CLEAN_UP {
                break;
            }
            enter(&mut progress, &strategy, phase + 1, now);
        }
        self.scheduling.lifecycle = Some(progress);
    }

    fn wake_at(&mut self, at: Timestamp) {
        *self.retry_at = Some(self.retry_at.map_or(at, |r| r.min(at)));
    }

    /// Production traffic to green, per the strategy; whether all of it is.
    fn shift(&mut self, progress: &mut LifecycleProgress, strategy: &Strategy) -> bool {
        let now = self.now;
        if progress.production_weight <= 0.0 {
            progress.production_weight = strategy.first_percent.min(100.0);
            progress.next_shift_at = Some(Timestamp(now.0 + strategy.step_millis));
        }
        while progress.production_weight < 100.0 {
            match progress.next_shift_at {
                Some(at) if at <= now => {
                    progress.production_weight = (progress.production_weight + strategy.step_percent).min(100.0);
                    progress.next_shift_at = Some(Timestamp(at.0 + strategy.step_millis));
                }
                Some(at) => {
                    self.wake_at(at);
                    return false;
                }
                None => return false,
            }
        }
        progress.next_shift_at = None;
        true
    }
}

/// Before a service's pass: times out hooks past their `expiresAt` and fails
/// (with rollback) a deployment whose hook failed. Returns whether it did.
pub fn check(entry: &mut ServiceEntry, now: Timestamp, events: &mut Vec<String>) -> bool {
    let primary = entry.service.deployments.iter().find(|d| d.status == "PRIMARY").map(|d| d.id.clone());
    let Some(progress) = entry.scheduling.lifecycle.as_mut() else { return false };
    if primary.as_deref() != Some(progress.deployment.as_str()) {
        return false;
    }
    for hook in progress.hooks.iter_mut().filter(|h| waiting(h)) {
        if hook.expires_at.is_some_and(|at| at <= now) {
            hook.status = "TIMED_OUT".into();
        }
    }
    let Some(failed) = progress.hooks.iter().find(|h| !waiting(h) && !passed(h)).cloned() else { return false };
    let name = failed.target_arn.clone().unwrap_or_else(|| format!("PAUSE hook {}", failed.hook_id));
    let trip = Trip {
        reason: format!("{HOOK_BY}: {name} returned {} at stage {}.", failed.status, failed.stage),
        cause: HOOK_CAUSE,
        rollback: true,
        by: HOOK_BY,
    };
    super::history::sync(entry, now);
    note(entry);
    fail_primary(entry, now, &trip, events)
}

/// Copies the lifecycle progress onto its deployment's history record.
pub fn note(entry: &mut ServiceEntry) {
    let Some(progress) = &entry.scheduling.lifecycle else { return };
    if let Some(record) = entry.scheduling.history.iter_mut().find(|r| r.deployment.id == progress.deployment) {
        record.lifecycle = Some(progress.clone());
    }
}

/// Why a hook verdict could not be given.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    #[error("no deployment of this service is waiting at a lifecycle hook")]
    NothingWaiting,
    #[error("no waiting {0} hook matches")]
    NoMatch(&'static str),
    #[error(transparent)]
    Ecs(#[from] EcsError),
}

/// A verdict on waiting lifecycle hooks.
pub struct Verdict<'a> {
    pub service: &'a str,
    /// The deployment id (any deployment of the service when `None`).
    pub deployment: Option<&'a str>,
    /// AWS_LAMBDA (the admin endpoint) or PAUSE (ContinueServiceDeployment).
    pub kind: &'static str,
    /// A hook id or target ARN (every waiting hook of `kind` when `None`).
    pub hook: Option<&'a str>,
    pub succeeded: bool,
}

/// Gives `verdict` to the matching waiting hooks; the caller then lets the
/// service converge. Returns the hooks decided.
pub fn decide(state: &mut ClusterState, verdict: &Verdict) -> Result<Vec<HookRun>, VerdictError> {
    let Verdict { service, deployment, kind, hook, succeeded } = *verdict;
    let entry = state.services.get_mut(service).ok_or(VerdictError::NothingWaiting)?;
    let progress = entry
        .scheduling
        .lifecycle
        .as_mut()
        .filter(|p| deployment.is_none_or(|d| d == p.deployment))
        .ok_or(VerdictError::NothingWaiting)?;
    let mut decided = Vec::new();
    for run in progress.hooks.iter_mut().filter(|h| waiting(h) && h.target_type == kind) {
        if hook.is_none_or(|h| h == run.hook_id || Some(h) == run.target_arn.as_deref()) {
            run.status = if succeeded { "SUCCEEDED" } else { "FAILED" }.into();
            decided.push(run.clone());
        }
    }
    if decided.is_empty() {
        return Err(VerdictError::NoMatch(kind));
    }
    Ok(decided)
}
