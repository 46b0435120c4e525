//! Deployment alarms (<https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html>):
//! `deploymentConfiguration.alarms
//! {alarmNames, enable, rollback}`, and the alarm states that stand in for
//! CloudWatch (`/_emulator/alarms`, the test hook).
//!
//! While a service's PRIMARY deployment is IN_PROGRESS and its alarms are
//! enabled, any named alarm in ALARM fails it: rolloutState FAILED, event
//! `(service S) (deployment ecs-svc/N) deployment failed: alarm detected.`
//! (the wording ECS writes), and with `rollback` the circuit breaker's rollback to the last
//! COMPLETED deployment ([`crate::emulator::sim::circuit_breaker::fail_primary`]). A
//! rollback under way is not watched (the alarm that caused it is usually
//! still in ALARM while the metric recovers). ECS also watches during a
//! bake time after the rollout; the emulator does not model the bake time.
//!
//! ECS's wording of the FAILED `rolloutStateReason` is unconfirmed; the
//! emulator says `ECS deployment alarms: alarm detected (<names in ALARM>).`
//! and, on the rollback target, `ECS deployment alarms: rolling back to
//! deploymentId ecs-svc/N.`, after the breaker's known wording.
//!
//! Alarm states live in memory only (like failure rules): they are not
//! journaled with `--state-dir`, and `/_emulator/reset` clears them.

use crate::emulator::sim::circuit_breaker::{Trip, fail_primary};
use crate::emulator::state::alarms::AlarmStates;
use crate::emulator::state::records::*;
use crate::emulator::wire::error::{EcsError, EcsResult};

/// The FAILED deployment's event tail.
pub const CAUSE: &str = "alarm detected";
/// Who rolls back, in the rollback target's `rolloutStateReason`.
pub const BY: &str = "ECS deployment alarms";

/// The FAILED deployment's `rolloutStateReason` [Unconf].
pub fn failed_reason(triggered: &[String]) -> String {
    format!("{BY}: alarm detected ({}).", triggered.join(", "))
}

/// CreateService / UpdateService rules for `deploymentConfiguration.alarms`.
pub fn validate(alarms: &DeploymentAlarms) -> EcsResult<()> {
    if alarms.enable && alarms.alarm_names.is_empty() {
        return Err(EcsError::invalid(
            "deploymentConfiguration.alarms.alarmNames must name at least one alarm when enable is true.",
        ));
    }
    if let Some(bad) = alarms.alarm_names.iter().find(|n| n.is_empty() || n.chars().count() > 255) {
        return Err(EcsError::invalid(format!("Invalid alarm name '{bad}': alarm names have 1 to 255 characters.")));
    }
    Ok(())
}

/// A service's deployment alarms, when enabled.
pub fn enabled(service: &Service) -> Option<&DeploymentAlarms> {
    service.deployment_configuration.alarms.as_ref().filter(|a| a.enable && !a.alarm_names.is_empty())
}

/// Whether deployment `id` is a rollback under way.
fn is_rollback(entry: &ServiceEntry, id: &str) -> bool {
    entry.scheduling.history.iter().any(|r| r.rollback_to.as_deref() == Some(id))
}

/// Fails the PRIMARY deployment (and rolls back, if asked) when one of its
/// service's enabled alarms is in ALARM. Returns whether it did.
pub fn check(entry: &mut ServiceEntry, states: &AlarmStates, now: Timestamp, events: &mut Vec<String>) -> bool {
    let Some(alarms) = enabled(&entry.service).cloned() else { return false };
    let Some(primary) = entry
        .service
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS"))
        .map(|d| d.id.clone())
    else {
        return false;
    };
    if is_rollback(entry, &primary) {
        return false;
    }
    let triggered = states.in_alarm(&alarms.alarm_names);
    if triggered.is_empty() {
        return false;
    }
    // The history must hold the deployment before the rollback is noted in it.
    super::history::sync(entry, now);
    if let Some(record) = entry.scheduling.history.iter_mut().find(|r| r.deployment.id == primary) {
        record.triggered_alarms = triggered.clone();
    }
    let trip = Trip { reason: failed_reason(&triggered), cause: CAUSE, rollback: alarms.rollback, by: BY };
    fail_primary(entry, now, &trip, events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::state::alarms::AlarmState;

    #[test]
    fn only_named_alarms_in_alarm_count() {
        let states = AlarmStates::default();
        states.set("a", AlarmState::Alarm);
        states.set("b", AlarmState::Ok);
        states.set("c", AlarmState::InsufficientData);
        let names = ["c".to_owned(), "b".to_owned(), "a".to_owned(), "never-set".to_owned()];
        assert_eq!(states.in_alarm(&names), vec!["a".to_owned()]);
        states.set("a", AlarmState::Ok);
        assert!(states.in_alarm(&names).is_empty());
    }

    #[test]
    fn enabled_alarms_need_a_name() {
        let alarms = |names: &[&str], enable| DeploymentAlarms {
            alarm_names: names.iter().map(|n| (*n).to_owned()).collect(),
            enable,
            rollback: true,
        };
        assert!(validate(&alarms(&[], true)).is_err());
        assert!(validate(&alarms(&[], false)).is_ok());
        assert!(validate(&alarms(&[""], false)).is_err());
        assert!(validate(&alarms(&["high-5xx"], true)).is_ok());
    }
}
