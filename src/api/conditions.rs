//! The status conditions every kind reports, and the one rule for updating them.
//!
//! Conditions use Kubernetes' own `metav1.Condition` (type, status, reason, message,
//! lastTransitionTime, observedGeneration) so `kubectl wait --for=condition=Ready`,
//! Argo CD and Flux health checks understand them without custom code.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The object's ECS resource exists and is what the spec asks for (for a service:
/// the deployment completed and the running count reached the desired count).
pub const READY: &str = "Ready";
/// A change is being rolled out (an ECS deployment is IN_PROGRESS).
pub const PROGRESSING: &str = "Progressing";
/// Something needs attention: a failed deployment, a circuit breaker trip, tasks that
/// keep failing to start.
pub const DEGRADED: &str = "Degraded";
/// The last reconcile pushed the spec to ECS without error. `False` carries the ECS
/// error (or the invalid reference) in its message.
pub const SYNCED: &str = "Synced";

/// The value of a condition's `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// The string Kubernetes expects in `condition.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value { ConditionStatus::True } else { ConditionStatus::False }
    }
}

/// Builds a condition observed now for `generation`.
pub fn new_condition(
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_owned(),
        status: status.as_str().to_owned(),
        reason: reason.to_owned(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: now,
    }
}

/// Inserts or replaces the condition of `new.type_` in `conditions`.
///
/// `lastTransitionTime` only moves when `status` changes: that is what makes it useful
/// ("Ready since when?") and keeps status patches from changing on every reconcile.
/// Returns whether anything changed, so a caller can skip a no-op status write.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) => {
            if existing.status == new.status {
                new.last_transition_time = existing.last_transition_time.clone();
            }
            if *existing == new {
                false
            } else {
                *existing = new;
                true
            }
        }
        None => {
            conditions.push(new);
            true
        }
    }
}

/// The condition of `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid timestamp"))
    }

    #[test]
    fn same_status_keeps_the_transition_time() {
        let mut conditions = vec![new_condition(READY, ConditionStatus::False, "Pending", "waiting", Some(1), at(100))];
        let changed = set_condition(
            &mut conditions,
            new_condition(READY, ConditionStatus::False, "Pending", "still waiting", Some(2), at(200)),
        );
        assert!(changed, "message and generation changed");
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, at(100));
        assert_eq!(conditions[0].message, "still waiting");
        assert_eq!(conditions[0].observed_generation, Some(2));
    }

    #[test]
    fn a_status_change_moves_the_transition_time() {
        let mut conditions = vec![new_condition(READY, ConditionStatus::False, "Pending", "", Some(1), at(100))];
        set_condition(&mut conditions, new_condition(READY, ConditionStatus::True, "Steady", "", Some(1), at(200)));
        assert_eq!(conditions[0].last_transition_time, at(200));
        assert!(is_true(&conditions, READY));
    }

    #[test]
    fn an_identical_condition_is_not_a_change() {
        let mut conditions = vec![new_condition(SYNCED, ConditionStatus::True, "Synced", "ok", Some(3), at(100))];
        let changed = set_condition(
            &mut conditions,
            new_condition(SYNCED, ConditionStatus::True, "Synced", "ok", Some(3), at(999)),
        );
        assert!(!changed);
        assert_eq!(conditions[0].last_transition_time, at(100));
    }

    #[test]
    fn a_new_type_is_appended() {
        let mut conditions = vec![new_condition(READY, ConditionStatus::True, "Steady", "", None, at(1))];
        assert!(set_condition(
            &mut conditions,
            new_condition(DEGRADED, ConditionStatus::False, "Healthy", "", None, at(2))
        ));
        assert_eq!(conditions.len(), 2);
        assert!(!is_true(&conditions, DEGRADED));
        assert!(find_condition(&conditions, PROGRESSING).is_none());
    }
}
