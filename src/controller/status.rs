//! Status bookkeeping shared by the reconcilers: the condition reasons, how an
//! ECS failure reads in a condition, and the status write.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::{Api, Patch, PatchParams, ValidationDirective};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::conditions::{ConditionStatus, READY, SYNCED, new_condition, set_condition};
use crate::ecs::{EcsError, EcsErrorKind};

/// The field manager of every status the controller writes.
pub const FIELD_MANAGER: &str = "ecs-bridge-controller";

/// Machine-readable condition reasons.
pub mod reason {
    /// Ready: the spec's revision is registered and ACTIVE.
    pub const REGISTERED: &str = "Registered";
    /// Ready: the cluster is ACTIVE.
    pub const ACTIVE: &str = "Active";
    /// Ready: ECS is still creating the cluster's resources.
    pub const PROVISIONING: &str = "Provisioning";
    /// Synced: the last reconcile applied the spec.
    pub const SYNCED: &str = "Synced";
    /// ECS rejected the spec; nothing happens until the spec changes.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// ECS throttled the calls; retrying with back-off.
    pub const THROTTLED: &str = "Throttled";
    /// ECS was unreachable or failed (5xx, timeouts); retrying with back-off.
    pub const ECS_UNAVAILABLE: &str = "EcsUnavailable";
    /// ECS refused the operation for now (e.g. a cluster that still has services).
    pub const BLOCKED: &str = "Blocked";
    /// Any other ECS failure (credentials, permissions, unexpected answers).
    pub const ECS_ERROR: &str = "EcsError";
    /// Deletion is in progress.
    pub const DELETING: &str = "Deleting";
}

/// The condition reason for an ECS failure.
pub fn failure_reason(err: &EcsError) -> &'static str {
    match err.kind() {
        EcsErrorKind::Rejected => reason::INVALID_SPEC,
        EcsErrorKind::Throttled => reason::THROTTLED,
        EcsErrorKind::Unavailable => reason::ECS_UNAVAILABLE,
        EcsErrorKind::Conflict => reason::BLOCKED,
        EcsErrorKind::NotFound | EcsErrorKind::Other => reason::ECS_ERROR,
    }
}

/// One condition's new value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    pub status: ConditionStatus,
    pub reason: &'static str,
    pub message: String,
}

impl Judgement {
    pub fn yes(reason: &'static str, message: impl Into<String>) -> Self {
        Self { status: ConditionStatus::True, reason, message: message.into() }
    }

    pub fn no(reason: &'static str, message: impl Into<String>) -> Self {
        Self { status: ConditionStatus::False, reason, message: message.into() }
    }
}

/// Sets `Ready` and `Synced`; transition times move only when a status flips.
pub fn set_ready_and_synced(
    conditions: &mut Vec<Condition>,
    ready: Judgement,
    synced: Judgement,
    generation: Option<i64>,
    now: &Time,
) {
    for (type_, judgement) in [(READY, ready), (SYNCED, synced)] {
        set_condition(
            conditions,
            new_condition(type_, judgement.status, judgement.reason, judgement.message, generation, now.clone()),
        );
    }
}

/// Whether ECS already rejected this generation's spec: then the reconciler
/// makes no ECS call until `metadata.generation` changes.
pub fn rejected_this_generation(conditions: &[Condition], generation: Option<i64>) -> bool {
    generation.is_some()
        && conditions.iter().any(|c| {
            c.type_ == READY
                && c.reason == reason::INVALID_SPEC
                && c.status == "False"
                && c.observed_generation == generation
        })
}

/// The condition of `type_`'s reason and message, if present.
pub fn condition_reason<'a>(conditions: &'a [Condition], type_: &str) -> Option<(&'a str, &'a str)> {
    conditions.iter().find(|c| c.type_ == type_).map(|c| (c.reason.as_str(), c.message.as_str()))
}

/// A time as the API server stores it: whole seconds (`metav1.Time`
/// serializes as RFC 3339 without fractions). A time from ECS (milliseconds)
/// goes into a status through this, so that the status read back from the
/// API server equals the one computed again from the same ECS answer.
pub fn stored_time(at: k8s_openapi::jiff::Timestamp) -> Time {
    Time(k8s_openapi::jiff::Timestamp::from_second(at.as_second()).unwrap_or(at))
}

/// Whether `status` would store exactly what `current` holds: compared as
/// the JSON the API server gets, so a difference it would not keep (a time's
/// fraction of a second) is no difference.
fn same_as_stored<S: Serialize + PartialEq>(current: Option<&S>, status: &S) -> bool {
    let Some(current) = current else { return false };
    current == status
        || matches!(
            (serde_json::to_value(current), serde_json::to_value(status)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// The status write: a JSON patch that puts `status` in place whole
/// (`add` replaces a member that exists). The controller is the only writer
/// of its kinds' status, and writes all of it each time, so this stores what
/// a forced server-side apply of the same status stores, fields it no longer
/// sets dropped included. It costs the API server less: server-side apply
/// reads its body through a YAML parser, twice under the default field
/// validation, and merges it field by field, where this patch touches one
/// member of the object (measured in `benches/apiserver_write_cost.py`).
fn status_patch<S: Serialize>(status: &S) -> Result<Patch<()>, serde_json::Error> {
    let operations = serde_json::json!([{"op": "add", "path": "/status", "value": status}]);
    Ok(Patch::Json(serde_json::from_value(operations)?))
}

/// The parameters of every status write: the controller's field manager, and
/// no field validation. The body is the controller's own typed status, and
/// the warnings validation would send back are read by no one (the client
/// does not surface them), so it would be the API server's work for nothing.
fn status_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        field_validation: Some(ValidationDirective::Ignore),
        ..PatchParams::default()
    }
}

/// Writes `status` through the status subresource (see [`status_patch`]),
/// unless the API server holds it already as `current` (a no-op write still
/// costs a round trip and the API server's work on the whole object).
pub async fn apply_status<K, S>(api: &Api<K>, name: &str, current: Option<&S>, status: &S) -> Result<bool, kube::Error>
where
    K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if same_as_stored(current, status) {
        return Ok(false);
    }
    let patch = status_patch(status).map_err(kube::Error::SerdeError)?;
    api.patch_status(name, &status_params(), &patch).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    #[test]
    fn a_status_write_puts_the_whole_status_in_place() {
        let status = serde_json::json!({"observedGeneration": 2, "conditions": [{"type": "Ready"}]});
        let Patch::Json(patch) = status_patch(&status).expect("a patch") else { panic!("a JSON patch") };
        assert_eq!(
            serde_json::to_value(&patch).expect("serializes"),
            serde_json::json!([{"op": "add", "path": "/status", "value": status}]),
            "one add of the whole status: it replaces what is there, so a field no longer set is dropped"
        );
        let params = status_params();
        assert_eq!(params.field_manager.as_deref(), Some(FIELD_MANAGER));
        assert!(matches!(params.field_validation, Some(ValidationDirective::Ignore)));
    }

    #[test]
    fn a_status_that_differs_only_below_a_second_is_already_stored() {
        let at = Timestamp::from_millisecond(1_800_000_000_250).expect("a time");
        let computed = Some(Time(at));
        let stored: Option<Time> =
            serde_json::from_value(serde_json::to_value(&computed).expect("serializes")).expect("reads back");
        assert_ne!(stored, computed, "the API server keeps whole seconds");
        assert!(same_as_stored(Some(&stored), &computed), "no write for a fraction of a second");
        assert_eq!(Some(stored_time(at)), stored);
        let later = Some(Time(Timestamp::from_second(1_800_000_001).expect("a time")));
        assert!(!same_as_stored(Some(&stored), &later));
        assert!(!same_as_stored(None, &computed), "no status yet: write one");
    }
}
