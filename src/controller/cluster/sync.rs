//! Brings ECS in line with one EcsCluster through the [`EcsApi`] seam and
//! reports ECS's counts; the caller writes status and events.

use std::time::Duration;

use crate::api::DeletionPolicy;
use crate::api::cluster::{EcsCluster, EcsClusterSpec, EcsClusterStatus};
use crate::api::conditions::SYNCED;
use crate::controller::context::{Clock, Notice};
use crate::controller::error::ReconcileError;
use crate::controller::outcome::{Next, Outcome, failed_apply};
use crate::controller::status::{
    Judgement, condition_reason, failure_reason, reason, rejected_this_generation, set_ready_and_synced,
};
use crate::ecs::{ClusterState, EcsApi, EcsError, EcsErrorKind, mapping};

use super::plan;

/// How soon to look again while ECS provisions a cluster.
const PROVISIONING_POLL: Duration = Duration::from_secs(10);

/// The object being reconciled, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub name: String,
    pub generation: Option<i64>,
    pub spec: &'a EcsClusterSpec,
    pub status: EcsClusterStatus,
}

impl<'a> Subject<'a> {
    pub fn of(obj: &'a EcsCluster) -> Result<Self, ReconcileError> {
        if obj.metadata.name.is_none() {
            return Err(ReconcileError::MissingField("name"));
        }
        Ok(Self {
            name: obj.cluster_name(),
            generation: obj.metadata.generation,
            spec: &obj.spec,
            status: obj.status.clone().unwrap_or_default(),
        })
    }
}

fn report(status: &mut EcsClusterStatus, state: &ClusterState) {
    status.cluster_name = Some(state.name.clone());
    status.cluster_arn = Some(state.arn.clone());
    status.status = Some(state.status.clone());
    status.active_services_count = Some(state.active_services);
    status.running_tasks_count = Some(state.running_tasks);
    status.pending_tasks_count = Some(state.pending_tasks);
    status.registered_container_instances_count = Some(state.registered_container_instances);
}

/// Creates or updates the cluster and reports what ECS says about it.
pub async fn apply<E: EcsApi>(ecs: &E, clock: &dyn Clock, subject: Subject<'_>) -> Outcome<EcsClusterStatus> {
    let now = clock.now_time();
    let mut status = subject.status.clone();
    if rejected_this_generation(&status.conditions, subject.generation) {
        return Outcome::new(status, Vec::new(), Next::AwaitChange);
    }
    let mut notices = Vec::new();
    let state = match converge(ecs, &subject, &mut notices).await {
        Ok(state) => state,
        Err(err) => {
            let active = Judgement::yes(reason::ACTIVE, format!("Cluster {} is ACTIVE", subject.name));
            let failed = failed_apply(&mut status.conditions, subject.generation, &now, err, active, "cluster");
            if failed.observed {
                status.observed_generation = subject.generation;
            }
            notices.extend(failed.notices);
            return Outcome::new(status, notices, failed.next);
        }
    };
    report(&mut status, &state);
    status.applied_tags = crate::controller::tags::applied_keys(&mapping::tags_of(&subject.spec.tags));
    let active = state.status == "ACTIVE";
    let ready = if active {
        Judgement::yes(reason::ACTIVE, format!("Cluster {} is ACTIVE", state.name))
    } else {
        Judgement::no(reason::PROVISIONING, format!("ECS reports the cluster as {}", state.status))
    };
    set_ready_and_synced(
        &mut status.conditions,
        ready,
        Judgement::yes(reason::SYNCED, "ECS matches the spec"),
        subject.generation,
        &now,
    );
    status.observed_generation = subject.generation;
    let next = if active { Next::Resync } else { Next::After(PROVISIONING_POLL) };
    Outcome::new(status, notices, next)
}

async fn converge<E: EcsApi>(
    ecs: &E,
    subject: &Subject<'_>,
    notices: &mut Vec<Notice>,
) -> Result<ClusterState, EcsError> {
    let desired = mapping::cluster_config(subject.spec, &subject.name);
    let observed = ecs.describe_cluster(&subject.name).await?;
    let changes = plan::changes(&desired, &subject.status.applied_tags, observed.as_ref());
    let observed = match observed {
        Some(observed) if !changes.create => observed,
        _ => {
            let state = ecs.create_cluster(&desired).await?;
            notices.push(Notice::normal("Created", "CreateCluster", format!("Created ECS cluster {}", state.name)));
            return Ok(state);
        }
    };
    if changes.is_empty() {
        return Ok(observed);
    }
    if !changes.settings.is_empty() {
        ecs.update_cluster_settings(&subject.name, &changes.settings).await?;
        notices.push(Notice::normal(
            "Updated",
            "UpdateClusterSettings",
            format!("Set {}", changes.settings.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")),
        ));
    }
    if let Some((providers, strategy)) = &changes.capacity {
        ecs.put_cluster_capacity_providers(&subject.name, providers, strategy).await?;
        notices.push(Notice::normal(
            "Updated",
            "PutClusterCapacityProviders",
            format!("Set capacity providers to [{}]", providers.join(", ")),
        ));
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
    Ok(ecs.describe_cluster(&subject.name).await?.unwrap_or(observed))
}

/// Runs the deletion policy; ECS refuses to delete a cluster that still has
/// services, tasks or instances, and then the object waits (with back-off).
pub async fn delete<E: EcsApi>(ecs: &E, clock: &dyn Clock, subject: Subject<'_>) -> Outcome<EcsClusterStatus> {
    let mut status = subject.status.clone();
    if subject.spec.deletion_policy == DeletionPolicy::Retain {
        let notice = Notice::normal(
            "Retained",
            "Delete",
            format!("Left ECS cluster {} in place (deletionPolicy: Retain)", subject.name),
        );
        return Outcome::new(status, vec![notice], Next::AwaitChange);
    }
    match ecs.delete_cluster(&subject.name).await {
        Ok(()) => {
            let notice = Notice::normal("Deleted", "DeleteCluster", format!("Deleted ECS cluster {}", subject.name));
            Outcome::new(status, vec![notice], Next::AwaitChange)
        }
        Err(err) if err.kind() == EcsErrorKind::NotFound => Outcome::new(status, Vec::new(), Next::AwaitChange),
        Err(err) => {
            let now = clock.now_time();
            let why = failure_reason(&err);
            let previous = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r.to_owned());
            let message = format!("Deleting the cluster: {}", err.ecs_message());
            set_ready_and_synced(
                &mut status.conditions,
                Judgement::no(reason::DELETING, "The object is being deleted"),
                Judgement::no(why, message.clone()),
                subject.generation,
                &now,
            );
            let notices = if previous.as_deref() != Some(why) {
                vec![Notice::warning(why, "DeleteCluster", message)]
            } else {
                Vec::new()
            };
            Outcome::new(status, notices, Next::Retry(err.into()))
        }
    }
}
