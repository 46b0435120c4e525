//! Brings ECS in line with one EcsCapacityProvider through the
//! [`EcsCapacityProviderApi`] seam (tags through [`EcsApi`]) and reports what
//! DescribeCapacityProviders says; the caller writes status and events.

use crate::api::DeletionPolicy;
use crate::api::capacity_provider::{EcsCapacityProvider, EcsCapacityProviderSpec, EcsCapacityProviderStatus};
use crate::api::conditions::READY;
use crate::controller::context::{Clock, Notice};
use crate::controller::error::ReconcileError;
use crate::controller::outcome::{Next, Outcome, failed_apply};
use crate::controller::status::{
    Judgement, condition_reason, failure_reason, reason, rejected_this_generation, set_ready_and_synced,
};
use crate::ecs::capacity_provider::{EcsCapacityProviderApi, ProviderState, provider_config};
use crate::ecs::{EcsApi, EcsError, EcsErrorKind};

use super::plan;

/// Ready's reason while ECS refuses to delete the provider because a cluster
/// still lists it.
pub const DELETE_REFUSED: &str = "DeleteRefused";

/// The object being reconciled, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub name: String,
    pub generation: Option<i64>,
    pub spec: &'a EcsCapacityProviderSpec,
    pub status: EcsCapacityProviderStatus,
}

impl<'a> Subject<'a> {
    pub fn of(obj: &'a EcsCapacityProvider) -> Result<Self, ReconcileError> {
        if obj.metadata.name.is_none() {
            return Err(ReconcileError::MissingField("name"));
        }
        Ok(Self {
            name: obj.provider_name(),
            generation: obj.metadata.generation,
            spec: &obj.spec,
            status: obj.status.clone().unwrap_or_default(),
        })
    }
}

fn report(status: &mut EcsCapacityProviderStatus, state: &ProviderState) {
    status.name = Some(state.name.clone());
    status.capacity_provider_arn = Some(state.arn.clone());
    status.status = Some(state.status.clone());
    status.update_status = state.update_status.clone();
    status.update_status_reason = state.update_status_reason.clone();
}

/// Creates or updates the provider and reports what ECS says about it.
pub async fn apply<E: EcsApi + EcsCapacityProviderApi>(
    ecs: &E,
    clock: &dyn Clock,
    subject: Subject<'_>,
) -> Outcome<EcsCapacityProviderStatus> {
    let now = clock.now_time();
    let mut status = subject.status.clone();
    if rejected_this_generation(&status.conditions, subject.generation) {
        return Outcome::new(status, Vec::new(), Next::AwaitChange);
    }
    let mut notices = Vec::new();
    let state = match converge(ecs, &subject, &mut notices).await {
        Ok(state) => state,
        Err(err) => {
            let active = Judgement::yes(reason::ACTIVE, format!("Capacity provider {} is ACTIVE", subject.name));
            let failed =
                failed_apply(&mut status.conditions, subject.generation, &now, err, active, "capacity provider");
            if failed.observed {
                status.observed_generation = subject.generation;
            }
            notices.extend(failed.notices);
            return Outcome::new(status, notices, failed.next);
        }
    };
    report(&mut status, &state);
    status.applied_tags = crate::controller::tags::applied_keys(&crate::ecs::mapping::tags_of(&subject.spec.tags));
    let ready = if state.status == "ACTIVE" {
        Judgement::yes(reason::ACTIVE, format!("Capacity provider {} is ACTIVE", state.name))
    } else {
        Judgement::no(reason::PROVISIONING, format!("ECS reports the capacity provider as {}", state.status))
    };
    set_ready_and_synced(
        &mut status.conditions,
        ready,
        Judgement::yes(reason::SYNCED, "ECS matches the spec"),
        subject.generation,
        &now,
    );
    status.observed_generation = subject.generation;
    Outcome::new(status, notices, Next::Resync)
}

/// Describes by name first, so a controller killed between CreateCapacityProvider
/// and its status write finds the provider and never creates it twice.
async fn converge<E: EcsApi + EcsCapacityProviderApi>(
    ecs: &E,
    subject: &Subject<'_>,
    notices: &mut Vec<Notice>,
) -> Result<ProviderState, EcsError> {
    let desired = provider_config(subject.spec, &subject.name);
    let observed = ecs.describe_capacity_provider(&subject.name).await?;
    let changes = plan::changes(&desired, &subject.status.applied_tags, observed.as_ref());
    let observed = match observed {
        Some(observed) if !changes.create => observed,
        _ => {
            let state = ecs.create_capacity_provider(&desired).await?;
            let message = format!("Created ECS capacity provider {}", state.name);
            notices.push(Notice::normal("Created", "CreateCapacityProvider", message));
            return Ok(state);
        }
    };
    if changes.is_empty() {
        return Ok(observed);
    }
    if let Some(update) = &changes.update {
        ecs.update_capacity_provider(&subject.name, update).await?;
        notices.push(Notice::normal("Updated", "UpdateCapacityProvider", "Updated the Auto Scaling group settings"));
    }
    if !changes.tags.is_empty() {
        ecs.tag_resource(&observed.arn, &changes.tags).await?;
    }
    if !changes.untag.is_empty() {
        ecs.untag_resource(&observed.arn, &changes.untag).await?;
        notices.push(Notice::normal(
            "Untagged",
            "UntagResource",
            format!("Removed tags no longer in the spec: {}", changes.untag.join(", ")),
        ));
    }
    Ok(ecs.describe_capacity_provider(&subject.name).await?.unwrap_or(observed))
}

/// Runs the deletion policy. ECS refuses to delete a provider that a cluster
/// still lists, answering with `updateStatus: DELETE_FAILED` and a reason:
/// then Ready turns False with reason [`DELETE_REFUSED`] and ECS's reason, the
/// Warning is published once, and the object retries with its back-off (and
/// when an EcsCluster changes, see the module above).
pub async fn delete<E: EcsCapacityProviderApi>(
    ecs: &E,
    clock: &dyn Clock,
    subject: Subject<'_>,
) -> Outcome<EcsCapacityProviderStatus> {
    let mut status = subject.status.clone();
    if subject.spec.deletion_policy == DeletionPolicy::Retain {
        let notice = Notice::normal(
            "Retained",
            "Delete",
            format!("Left ECS capacity provider {} in place (deletionPolicy: Retain)", subject.name),
        );
        return Outcome::new(status, vec![notice], Next::AwaitChange);
    }
    let now = clock.now_time();
    let previous = condition_reason(&status.conditions, READY).map(|(r, _)| r.to_owned());
    let refusal = match ecs.delete_capacity_provider(&subject.name).await {
        Ok(state) if state.delete_failed() => {
            report(&mut status, &state);
            let why = state.update_status_reason.clone().unwrap_or_else(|| "ECS refused the delete".to_owned());
            EcsError::Conflict { operation: "DeleteCapacityProvider", code: "DELETE_FAILED".to_owned(), message: why }
        }
        Ok(_) => {
            let notice = Notice::normal(
                "Deleted",
                "DeleteCapacityProvider",
                format!("Deleted ECS capacity provider {}", subject.name),
            );
            return Outcome::new(status, vec![notice], Next::AwaitChange);
        }
        Err(err) if err.kind() == EcsErrorKind::NotFound => return Outcome::new(status, Vec::new(), Next::AwaitChange),
        Err(err) => err,
    };
    let refused = refusal.kind() == EcsErrorKind::Conflict;
    let why = if refused { DELETE_REFUSED } else { failure_reason(&refusal) };
    let message = format!("Deleting the capacity provider: {}", refusal.ecs_message());
    set_ready_and_synced(
        &mut status.conditions,
        Judgement::no(why, message.clone()),
        Judgement::no(if refused { reason::BLOCKED } else { why }, message.clone()),
        subject.generation,
        &now,
    );
    let notices = if previous.as_deref() != Some(why) {
        vec![Notice::warning(why, "DeleteCapacityProvider", message)]
    } else {
        Vec::new()
    };
    Outcome::new(status, notices, Next::Retry(refusal.into()))
}
