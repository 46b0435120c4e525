//! Deployment alarms (spec §7.5): `deploymentConfiguration.alarms
//! {alarmNames, enable, rollback}`, and the alarm states that stand in for
//! CloudWatch (`/_emulator/alarms`, the test hook).
//!
//! While a service's PRIMARY deployment is IN_PROGRESS and its alarms are
//! enabled, any named alarm in ALARM fails it: rolloutState FAILED, event
//! `(service S) (deployment ecs-svc/N) deployment failed: alarm detected.`
//! [Obs], and with `rollback` the circuit breaker's rollback to the last
//! COMPLETED deployment ([`super::circuit_breaker::fail_primary`]). A
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

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use super::circuit_breaker::{Trip, fail_primary};
use super::error::{EcsError, EcsResult};
use super::state::records::*;
use super::state::{Store, lock, read, write};

/// The FAILED deployment's event tail.
pub const CAUSE: &str = "alarm detected";
/// Who rolls back, in the rollback target's `rolloutStateReason`.
pub const BY: &str = "ECS deployment alarms";

/// The FAILED deployment's `rolloutStateReason` [Unconf].
pub fn failed_reason(triggered: &[String]) -> String {
    format!("{BY}: alarm detected ({}).", triggered.join(", "))
}

/// A CloudWatch alarm's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// Alarm states by name, as set through `POST /_emulator/alarms`; an alarm
/// never set is not in ALARM.
#[derive(Debug, Default)]
pub struct AlarmStates(RwLock<BTreeMap<String, AlarmState>>);

impl AlarmStates {
    pub fn set(&self, name: &str, state: AlarmState) {
        write(&self.0).insert(name.to_owned(), state);
    }

    pub fn all(&self) -> BTreeMap<String, AlarmState> {
        read(&self.0).clone()
    }

    pub fn clear(&self) {
        write(&self.0).clear();
    }

    /// Those of `names` in ALARM, in the given order.
    pub fn in_alarm(&self, names: &[String]) -> Vec<String> {
        let states = read(&self.0);
        names.iter().filter(|n| states.get(*n) == Some(&AlarmState::Alarm)).cloned().collect()
    }
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
    super::service_deployments::sync(entry, now);
    if let Some(record) = entry.scheduling.history.iter_mut().find(|r| r.deployment.id == primary) {
        record.triggered_alarms = triggered.clone();
    }
    let trip = Trip { reason: failed_reason(&triggered), cause: CAUSE, rollback: alarms.rollback, by: BY };
    fail_primary(entry, now, &trip, events)
}

/// Sets an alarm's state and, when it goes into ALARM, has every service
/// watching it look at once. Returns how many services were looked at.
pub fn set_state(store: &Store, name: &str, state: AlarmState) -> EcsResult<usize> {
    store.alarms.set(name, state);
    if state != AlarmState::Alarm {
        return Ok(0);
    }
    let mut looked = 0;
    for (_, cell) in store.all_clusters() {
        let mut cluster = lock(&cell);
        if !cluster.is_active() {
            continue;
        }
        let watching: Vec<String> = cluster
            .services
            .values()
            .filter(|e| {
                e.service.status == "ACTIVE"
                    && enabled(&e.service).is_some_and(|a| a.alarm_names.iter().any(|n| n == name))
            })
            .map(|e| e.service.service_name.clone())
            .collect();
        let mut changes = store.changes();
        for service in &watching {
            super::deployments::reconcile(store, &mut cluster, service, &mut changes);
            looked += 1;
        }
        store.persist(changes)?;
    }
    Ok(looked)
}

#[cfg(test)]
mod tests {
    use super::*;

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
