//! Deterministic task failures that a user controls, so a controller's
//! handling of crashing, unhealthy or unpullable tasks (and ECS's circuit
//! breaker) can be tested. A task's fate is decided when it is created.
//!
//! On a container definition's `environment` (or in RunTask's
//! `overrides.containerOverrides[].environment`):
//!
//! | Variable | Effect |
//! |---|---|
//! | `ECS_EMULATOR_EXIT_CODE=<n>` | the container exits with code `n`; without `ECS_EMULATOR_EXIT_AFTER` it exits while starting, so the task goes PENDING → STOPPED (`EssentialContainerExited`) without reaching RUNNING |
//! | `ECS_EMULATOR_EXIT_AFTER=<seconds>` | the container exits that long after the task is RUNNING (code from `ECS_EMULATOR_EXIT_CODE`, default 1) |
//! | `ECS_EMULATOR_FAIL_HEALTHCHECK_AFTER=<seconds>` | the container's health check fails from that long after RUNNING; it turns UNHEALTHY after `retries` (default 3) failed checks in a row. A container without a `healthCheck` gets one with ECS's defaults |
//! | `ECS_EMULATOR_CANNOT_PULL=true` | the image cannot be pulled: the task stops from PENDING with `TaskFailedToStart` and `CannotPullContainerError` |
//! | `ECS_EMULATOR_FAIL_TARGET_HEALTHCHECK_AFTER=<seconds>` | the load balancer's health checks of the container's targets fail from that long after RUNNING (status code from `ECS_EMULATOR_TARGET_STATUS_CODE`, default 500); a service replaces the task once its health-check grace period is over (see `load_balancers`) |
//!
//! The same effects can be given without touching the task definition by
//! the admin endpoint `POST /_emulator/failure-rules` (see [`FailureRule`], kept in the state),
//! matching tasks by cluster, service, family, container name or image.

use serde_json::Value;

use crate::emulator::state::failure_rules::{FailureRule, TaskContext};
use crate::emulator::state::records::*;

pub const EXIT_CODE: &str = "ECS_EMULATOR_EXIT_CODE";
pub const EXIT_AFTER: &str = "ECS_EMULATOR_EXIT_AFTER";
pub const FAIL_HEALTHCHECK_AFTER: &str = "ECS_EMULATOR_FAIL_HEALTHCHECK_AFTER";
pub const CANNOT_PULL: &str = "ECS_EMULATOR_CANNOT_PULL";
pub const FAIL_TARGET_HEALTHCHECK_AFTER: &str = "ECS_EMULATOR_FAIL_TARGET_HEALTHCHECK_AFTER";
pub const TARGET_STATUS_CODE: &str = "ECS_EMULATOR_TARGET_STATUS_CODE";

fn millis(seconds: f64) -> i64 {
    (seconds.max(0.0) * 1000.0).round() as i64
}

/// The `name=value` pairs of an `environment` list.
fn env_pairs(list: &[Value]) -> impl Iterator<Item = (&str, &str)> {
    list.iter().filter_map(|kv| Some((kv.get("name")?.as_str()?, kv.get("value")?.as_str()?)))
}

/// The environment of one container: the definition's, then the overrides'.
fn environment<'a>(container: &'a ContainerDefinition, overrides: Option<&'a Value>) -> Vec<(&'a str, &'a str)> {
    let mut env: Vec<(&str, &str)> = env_pairs(&container.environment).collect();
    let overridden = overrides
        .and_then(|o| o.get("containerOverrides"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|o| o.get("name").and_then(Value::as_str) == container.name.as_deref())
        .filter_map(|o| o.get("environment").and_then(Value::as_array));
    for list in overridden {
        for (k, v) in env_pairs(list) {
            env.retain(|(name, _)| *name != k);
            env.push((k, v));
        }
    }
    env
}

fn from_environment(container: &ContainerDefinition, overrides: Option<&Value>) -> Fate {
    let mut fate = Fate { container: container.name().to_owned(), ..Fate::default() };
    for (name, value) in environment(container, overrides) {
        let value = value.trim();
        match name {
            EXIT_CODE => fate.exit_code = value.parse().ok(),
            EXIT_AFTER => fate.exit_after = value.parse::<f64>().ok().map(millis),
            FAIL_HEALTHCHECK_AFTER => fate.unhealthy_after = value.parse::<f64>().ok().map(millis),
            CANNOT_PULL => fate.cannot_pull = matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
            FAIL_TARGET_HEALTHCHECK_AFTER => fate.target_unhealthy_after = value.parse::<f64>().ok().map(millis),
            TARGET_STATUS_CODE => fate.target_status_code = value.parse().ok(),
            _ => {}
        }
    }
    fate
}

fn apply(fate: &mut Fate, rule: &FailureRule) {
    if rule.exit_code.is_some() {
        fate.exit_code = rule.exit_code;
    }
    if let Some(s) = rule.exit_after_seconds {
        fate.exit_after = Some(millis(s));
    }
    if let Some(s) = rule.fail_health_check_after_seconds {
        fate.unhealthy_after = Some(millis(s));
    }
    fate.cannot_pull |= rule.cannot_pull;
    if let Some(s) = rule.fail_target_health_check_after_seconds {
        fate.target_unhealthy_after = Some(millis(s));
    } else if rule.fail_target_health_check {
        fate.target_unhealthy_after = Some(0);
    }
    if rule.status_code.is_some() {
        fate.target_status_code = rule.status_code;
    }
}

fn is_ordinary(fate: &Fate) -> bool {
    !fate.cannot_pull
        && fate.exit_code.is_none()
        && fate.exit_after.is_none()
        && fate.unhealthy_after.is_none()
        && fate.target_unhealthy_after.is_none()
}

/// The fates of a new task's containers (only those with a rule).
pub fn fates(td: &TaskDefinition, overrides: Option<&Value>, rules: &[FailureRule], task: &TaskContext) -> Vec<Fate> {
    td.container_definitions
        .iter()
        .map(|c| {
            let mut fate = from_environment(c, overrides);
            for rule in rules.iter().filter(|r| r.matches(task, c)) {
                apply(&mut fate, rule);
            }
            if fate.exit_after.is_some() && fate.exit_code.is_none() {
                fate.exit_code = Some(1);
            }
            fate
        })
        .filter(|f| !is_ordinary(f))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container(name: &str, env: Value) -> ContainerDefinition {
        serde_json::from_value(json!({ "name": name, "image": "busybox", "environment": env })).unwrap()
    }

    fn td(containers: Vec<ContainerDefinition>) -> TaskDefinition {
        let mut v = json!({
            "taskDefinitionArn": "arn", "containerDefinitions": [], "family": "web", "revision": 1,
            "status": "ACTIVE", "registeredAt": 0, "registeredBy": "me"
        });
        v["containerDefinitions"] = serde_json::to_value(containers).unwrap();
        serde_json::from_value(v).unwrap()
    }

    const CTX: TaskContext<'static> = TaskContext { cluster: "c", service: Some("s"), family: "web" };

    #[test]
    fn environment_variables_decide_the_fate() {
        let td = td(vec![
            container("ok", json!([])),
            container("crash", json!([{ "name": EXIT_CODE, "value": "3" }, { "name": EXIT_AFTER, "value": "2.5" }])),
            container("sick", json!([{ "name": FAIL_HEALTHCHECK_AFTER, "value": "10" }])),
        ]);
        let fates = fates(&td, None, &[], &CTX);
        assert_eq!(fates.len(), 2, "{fates:?}");
        assert_eq!(
            fates[0],
            Fate { container: "crash".into(), exit_code: Some(3), exit_after: Some(2500), ..Fate::default() }
        );
        assert_eq!(fates[1].unhealthy_after, Some(10_000));
    }

    #[test]
    fn overrides_and_admin_rules_apply() {
        let td = td(vec![container("app", json!([{ "name": EXIT_CODE, "value": "3" }]))]);
        let overrides =
            json!({ "containerOverrides": [{ "name": "app", "environment": [{ "name": EXIT_CODE, "value": "7" }] }] });
        assert_eq!(fates(&td, Some(&overrides), &[], &CTX)[0].exit_code, Some(7));
        let rule = FailureRule { family: Some("web".into()), cannot_pull: true, ..FailureRule::default() };
        assert!(fates(&td, None, std::slice::from_ref(&rule), &CTX)[0].cannot_pull);
        let other = FailureRule { service: Some("other".into()), cannot_pull: true, ..FailureRule::default() };
        assert!(!fates(&td, None, &[other], &CTX)[0].cannot_pull);
        // A delayed exit without a code exits with 1.
        let later = FailureRule { exit_after_seconds: Some(1.0), ..FailureRule::default() };
        let plain = self::td(vec![container("app", json!([]))]);
        assert_eq!(fates(&plain, None, &[later], &CTX)[0].exit_code, Some(1));
    }

    #[test]
    fn target_health_check_failures() {
        let plain = td(vec![container("app", json!([]))]);
        let rule = FailureRule {
            family: Some("web".into()),
            fail_target_health_check: true,
            status_code: Some(502),
            ..FailureRule::default()
        };
        assert!(rule.has_effect());
        let fate = &fates(&plain, None, &[rule], &CTX)[0];
        assert_eq!((fate.target_unhealthy_after, fate.target_status_code), (Some(0), Some(502)));
        let later = FailureRule { fail_target_health_check_after_seconds: Some(7.5), ..FailureRule::default() };
        assert_eq!(fates(&plain, None, &[later], &CTX)[0].target_unhealthy_after, Some(7_500));
        let by_env = td(vec![container(
            "app",
            json!([{ "name": FAIL_TARGET_HEALTHCHECK_AFTER, "value": "3" }, { "name": TARGET_STATUS_CODE, "value": "404" }]),
        )]);
        let fate = &fates(&by_env, None, &[], &CTX)[0];
        assert_eq!((fate.target_unhealthy_after, fate.target_status_code), (Some(3_000), Some(404)));
        let rule: FailureRule =
            serde_json::from_value(json!({ "family": "web", "failTargetHealthCheck": true, "statusCode": 500 }))
                .unwrap();
        assert_eq!(rule.status_code, Some(500));
    }
}
