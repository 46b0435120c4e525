//! Brings ECS in line with one EcsService, through the [`EcsServiceApi`] seam only:
//! it asks ECS for what [`plan`] decided (one [`plan::ServiceChanges`] value for a
//! service that exists) and returns the new status, the notices and the ECS events to
//! mirror; the caller writes them. Every step first looks at what ECS has, so a crash
//! at any line is repaired by the next reconcile: a service created but not recorded
//! is found by its ownership tags, an update applied but not recorded shows as
//! "nothing to change", and a redeploy is recorded as pending before it is asked for.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::plan::ownership::{self, Ownership};
use super::plan::verdict::{self, Applied, ServiceOutcome, Synced, Timing};
use super::plan::{self, Decision, ServiceChanges, Subject, TagChanges, TaskDefinition, reason, redeploy};
use crate::api::DeletionPolicy;
use crate::api::service::SchedulingStrategy;
use crate::controller::context::Notice;
use crate::controller::failpoint;
use crate::controller::outcome::{Next, Outcome};
use crate::controller::status::Judgement;
use crate::ecs::service::{DRAINING, EcsServiceApi, ServiceDescription};
use crate::ecs::{EcsError, EcsErrorKind};

/// The failpoint right after a successful CreateService, before the status
/// records the service: the window the ownership tags exist for.
pub const AFTER_CREATE: &str = "after-create-service";
/// The failpoint right after a successful UpdateService, before the status
/// records what was applied (`appliedFields`).
pub const AFTER_UPDATE: &str = "after-update-service";
/// The failpoint right after a successful UntagResource, before the status
/// records the tags now applied (`appliedTags`).
pub const AFTER_UNTAG: &str = "after-untag-service";

/// Describes one service; `None` when ECS reports it MISSING.
pub async fn describe_one<E: EcsServiceApi>(
    ecs: &E,
    cluster: &str,
    name: &str,
) -> Result<Option<ServiceDescription>, EcsError> {
    let described = ecs.describe_services(cluster, &[name.to_owned()], true).await?;
    Ok(described.services.into_iter().find(|s| s.name == name))
}

/// Makes the ECS service what the spec asks for and reports its rollout.
pub async fn apply<E: EcsServiceApi>(
    ecs: &E,
    now: Time,
    subject: Subject<'_>,
    task_definition: TaskDefinition,
    cached: Option<Option<ServiceDescription>>,
    timing: Timing,
) -> ServiceOutcome {
    let (wanted, td_problem) = task_definition.wanted(subject.namespace);
    let observed = match cached {
        Some(observed) => observed,
        None => match describe_one(ecs, &subject.spec.cluster, &subject.service_name).await {
            Ok(observed) => observed,
            Err(err) => return verdict::failed(subject.status.clone(), subject.generation, err, &now),
        },
    };
    match observed {
        None => create(ecs, now, subject, wanted, td_problem, timing).await,
        Some(service) if service.status == crate::ecs::service::INACTIVE => {
            create(ecs, now, subject, wanted, td_problem, timing).await
        }
        Some(service) if service.status == DRAINING => verdict::waiting(
            subject.status.clone(),
            subject.generation,
            Judgement::no(
                reason::DRAINING,
                format!(
                    "ECS service {} is still DRAINING after a deletion; it can be created again once it is INACTIVE",
                    subject.service_name
                ),
            ),
            Next::After(timing.rollout_poll),
            &now,
        ),
        Some(service) => match plan::decide(&subject, wanted.as_deref(), &service) {
            Decision::Leave(why) => {
                verdict::waiting(subject.status.clone(), subject.generation, why, Next::AwaitChange, &now)
            }
            Decision::Converge(changes) => {
                let applied = match update(ecs, &subject, *changes, service, td_problem).await {
                    Ok(applied) => applied,
                    Err(err) => return verdict::failed(subject.status.clone(), subject.generation, err, &now),
                };
                verdict::report(applied, subject.generation, wanted.as_deref(), &now, timing)
            }
        },
    }
}

async fn create<E: EcsServiceApi>(
    ecs: &E,
    now: Time,
    subject: Subject<'_>,
    wanted: Option<String>,
    td_problem: Option<Judgement>,
    timing: Timing,
) -> ServiceOutcome {
    let Some(task_definition) = wanted.clone() else {
        let why = td_problem.unwrap_or_else(|| Judgement::no(reason::TASK_DEFINITION_NOT_READY, "No task definition"));
        return verdict::waiting(subject.status.clone(), subject.generation, why, Next::AwaitChange, &now);
    };
    let input = plan::create_input(&subject, task_definition);
    match ecs.create_service(&input).await {
        Ok(service) => {
            failpoint::hit(AFTER_CREATE);
            let (status, notice) = plan::created(&subject, &input, &service);
            let new_events = plan::rollout::unseen(&service, &status);
            let applied = Applied {
                status,
                service,
                new_events,
                synced: Ok(()),
                notices: vec![notice],
                wrote: true,
                redeploy_recorded: false,
            };
            verdict::report(applied, subject.generation, wanted.as_deref(), &now, timing)
        }
        Err(err) if err.kind() == EcsErrorKind::Rejected => {
            verdict::create_rejected(subject.status.clone(), subject.generation, &err, &now)
        }
        Err(err) => verdict::failed(subject.status.clone(), subject.generation, err, &now),
    }
}

/// Asks ECS for `changes`: adopt, update, tag, each only once the one before went
/// through. `Err` is a failed adoption (nothing else was asked).
async fn update<E: EcsServiceApi>(
    ecs: &E,
    subject: &Subject<'_>,
    changes: ServiceChanges,
    mut service: ServiceDescription,
    td_problem: Option<Judgement>,
) -> Result<Applied, EcsError> {
    let ServiceChanges { mut status, adopt, update, updated, tags, mut new_events, redeploy_recorded } = changes;
    let mut notices = Vec::new();
    let mut wrote = false;
    if let Some(adoption) = adopt {
        if !adoption.tags.is_empty() {
            ecs.tag_service(&service.arn, &adoption.tags).await?;
        }
        notices.push(adoption.notice);
        wrote = true;
    }
    let mut synced: Synced = Ok(());
    if !update.is_empty() {
        match ecs.update_service(&subject.spec.cluster, &subject.service_name, &update).await {
            Ok(answer) => {
                failpoint::hit(AFTER_UPDATE);
                wrote = true;
                notices.extend(updated);
                if update.force_new_deployment {
                    let token = subject.spec.force_new_deployment_token.as_ref();
                    notices.push(redeploy::confirm(&mut status, token, &answer));
                }
                // ECS may log while it updates (a deployment of no tasks completes at
                // once): an answer with events is the newer list.
                if !answer.events.is_empty() {
                    new_events = plan::rollout::unseen(&answer, &status);
                }
                service = answer;
            }
            Err(err) => synced = Err(verdict::write_failed(&status.conditions, err, &mut notices)),
        }
    }
    status.applied_fields = plan::record_applied(subject.spec, &status.applied_fields, synced.is_ok());
    if synced.is_ok()
        && let Some(tags) = tags
    {
        match retag(ecs, &service.arn, &tags, &mut notices, &mut wrote).await {
            Ok(()) => status.applied_tags = tags.applied,
            Err(err) => synced = Err(verdict::retried(err)),
        }
    }
    if synced.is_ok()
        && let Some(problem) = td_problem
    {
        synced = Err((problem, None));
    }
    Ok(Applied { status, service, new_events, synced, notices, wrote, redeploy_recorded })
}

/// TagResource, then UntagResource, each when there is something to ask.
async fn retag<E: EcsServiceApi>(
    ecs: &E,
    arn: &str,
    tags: &TagChanges,
    notices: &mut Vec<Notice>,
    wrote: &mut bool,
) -> Result<(), EcsError> {
    if !tags.add.is_empty() {
        ecs.tag_service(arn, &tags.add).await?;
        *wrote = true;
    }
    if !tags.remove.is_empty() {
        ecs.untag_service(arn, &tags.remove).await?;
        failpoint::hit(AFTER_UNTAG);
        *wrote = true;
        notices.push(tags.untagged());
    }
    Ok(())
}

/// Runs the deletion policy. `Delete` scales the service to 0 and deletes it
/// (force), then releases the object once ECS reports it DRAINING or
/// INACTIVE; a service this object never owned is left alone.
pub async fn delete<E: EcsServiceApi>(ecs: &E, now: Time, subject: Subject<'_>) -> ServiceOutcome {
    let status = subject.status.clone();
    if subject.spec.deletion_policy == DeletionPolicy::Retain {
        let notice = Notice::normal(
            "Retained",
            "Delete",
            format!("Left ECS service {} running (deletionPolicy: Retain)", subject.service_name),
        );
        return ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::AwaitChange));
    }
    let cluster = subject.spec.cluster.as_str();
    let service = match describe_one(ecs, cluster, &subject.service_name).await {
        Ok(service) => service,
        // No cluster, no service: nothing left to delete.
        Err(err) if err.kind() == EcsErrorKind::NotFound => None,
        Err(err) => return verdict::deletion_failed(status, subject.generation, err, &now),
    };
    let Some(service) = service.filter(|s| s.is_active()) else {
        let notice =
            Notice::normal("Deleted", "DeleteService", format!("ECS service {} is deleted", subject.service_name));
        return ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::AwaitChange));
    };
    if ownership::ownership(&subject, &service) != Ownership::Ours {
        let notice = Notice::normal(
            "NotDeleted",
            "Delete",
            format!("Left ECS service {}: it was not created or adopted by this object", subject.service_name),
        );
        return ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::AwaitChange));
    }
    if service.desired_count > 0 && subject.spec.scheduling_strategy == SchedulingStrategy::Replica {
        let scale_down = crate::ecs::service::ServiceUpdate { desired_count: Some(0), ..Default::default() };
        match ecs.update_service(cluster, &subject.service_name, &scale_down).await {
            Ok(_) => {}
            Err(err) if err.kind() == EcsErrorKind::NotFound => {}
            Err(err) => return verdict::deletion_failed(status, subject.generation, err, &now),
        }
    }
    match ecs.delete_service(cluster, &subject.service_name, true).await {
        Ok(deleted) if !deleted.is_active() => {
            let notice = Notice::normal(
                "Deleted",
                "DeleteService",
                format!("Deleted ECS service {} (now {})", subject.service_name, deleted.status),
            );
            ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::AwaitChange))
        }
        Ok(still) => {
            // Only an error keeps the finalizer: ask again with back-off.
            let err = EcsError::Conflict {
                operation: "DeleteService",
                code: "StillActive".to_owned(),
                message: format!("ECS still reports the service {} after DeleteService", still.status),
            };
            let mut out = ServiceOutcome::plain(Outcome::new(status, Vec::new(), Next::Retry(err.into())));
            out.wrote = true;
            out
        }
        Err(err) if err.kind() == EcsErrorKind::NotFound => {
            ServiceOutcome::plain(Outcome::new(status, Vec::new(), Next::AwaitChange))
        }
        Err(err) => verdict::deletion_failed(status, subject.generation, err, &now),
    }
}
