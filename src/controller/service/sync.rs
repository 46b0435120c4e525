//! Brings ECS in line with one EcsService, through the [`EcsServiceApi`]
//! seam only: it returns the new status, the notices and the ECS events to
//! mirror, and the caller writes them. Every step first looks at what ECS
//! has, so a crash at any line is repaired by the next reconcile: a service
//! created but not recorded is found by its ownership tags, an update
//! applied but not recorded shows as "nothing to change", and a redeploy is
//! recorded as pending before it is asked for.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::plan::{self, RolloutCounts, reason};
use crate::api::DeletionPolicy;
use crate::api::conditions::{ConditionStatus, DEGRADED, PROGRESSING, READY, SYNCED, new_condition, set_condition};
use crate::api::service::{EcsServiceSpec, EcsServiceStatus, PendingRedeploy, SchedulingStrategy};
use crate::controller::context::Notice;
use crate::controller::failpoint;
use crate::controller::outcome::{Next, Outcome};
use crate::controller::status::{Judgement, condition_reason, failure_reason};
use crate::controller::tags;
use crate::ecs::mapping::tags_of;
use crate::ecs::service::{DRAINING, EcsServiceApi, ServiceCreate, ServiceDescription, ServiceEventRecord};
use crate::ecs::{EcsError, EcsErrorKind, parse_task_definition_ref};

/// The failpoint right after a successful CreateService, before the status
/// records the service: the window the ownership tags exist for.
pub const AFTER_CREATE: &str = "after-create-service";
/// The failpoint right after a successful UpdateService, before the status
/// records what was applied (`appliedFields`).
pub const AFTER_UPDATE: &str = "after-update-service";
/// The failpoint right after a successful UntagResource, before the status
/// records the tags now applied (`appliedTags`).
pub const AFTER_UNTAG: &str = "after-untag-service";

/// The object being reconciled, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub generation: Option<i64>,
    pub service_name: String,
    pub spec: &'a EcsServiceSpec,
    pub status: EcsServiceStatus,
    /// The object carries the adoption annotation.
    pub adopt: bool,
}

/// The task definition to run, as resolved from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskDefinition {
    /// A revision ARN (from a reference) or the spec's own string.
    Resolved(String),
    /// `taskDefinitionRef` names an object that does not exist.
    NotFound(String),
    /// The referenced object has no ready revision; the message says why.
    NotReady(String),
}

/// How often to look again.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// While a rollout, creation or deletion is settling.
    pub rollout_poll: Duration,
    /// In steady state: a safety net behind the fleet's batched resync.
    pub steady: Duration,
}

/// What a reconcile decided.
#[derive(Debug)]
pub struct ServiceOutcome {
    pub outcome: Outcome<EcsServiceStatus>,
    /// ECS service events not yet mirrored, oldest first.
    pub ecs_events: Vec<ServiceEventRecord>,
    pub rollouts: RolloutCounts,
    /// Whether this reconcile changed the service in ECS.
    pub wrote: bool,
}

impl ServiceOutcome {
    fn plain(outcome: Outcome<EcsServiceStatus>) -> Self {
        Self { outcome, ecs_events: Vec::new(), rollouts: RolloutCounts::default(), wrote: false }
    }
}

/// Describes one service; `None` when ECS reports it MISSING.
pub async fn describe_one<E: EcsServiceApi>(
    ecs: &E,
    cluster: &str,
    name: &str,
) -> Result<Option<ServiceDescription>, EcsError> {
    let described = ecs.describe_services(cluster, &[name.to_owned()], true).await?;
    Ok(described.services.into_iter().find(|s| s.name == name))
}

fn set(
    conditions: &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    type_: &str,
    j: Judgement,
    generation: Option<i64>,
    now: &Time,
) {
    set_condition(conditions, new_condition(type_, j.status, j.reason, j.message, generation, now.clone()));
}

/// The conditions of an object that cannot proceed yet (missing reference,
/// a foreign service, a draining one): Ready and Synced say why; Progressing
/// and Degraded keep what they said.
fn waiting(
    mut status: EcsServiceStatus,
    subject: &Subject<'_>,
    why: Judgement,
    notices: Vec<Notice>,
    next: Next,
    now: &Time,
) -> ServiceOutcome {
    let warn = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r) != Some(why.reason);
    set(&mut status.conditions, READY, why.clone(), subject.generation, now);
    set(&mut status.conditions, SYNCED, why.clone(), subject.generation, now);
    let mut notices = notices;
    // Draining and a task definition still registering pass by themselves: no Warning.
    if warn && why.reason != reason::DRAINING && why.reason != reason::TASK_DEFINITION_NOT_READY {
        notices.push(Notice::warning(why.reason, "Reconcile", why.message));
    }
    ServiceOutcome::plain(Outcome::new(status, notices, next))
}

/// A failure before anything could be applied: Ready and Synced say why, and
/// the object backs off.
fn failed(mut status: EcsServiceStatus, subject: &Subject<'_>, err: EcsError, now: &Time) -> ServiceOutcome {
    let why = if err.kind() == EcsErrorKind::NotFound && err.operation() == "DescribeServices" {
        reason::CLUSTER_NOT_FOUND
    } else {
        failure_reason(&err)
    };
    let message = err.to_string();
    let previous = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r.to_owned());
    set(&mut status.conditions, SYNCED, Judgement::no(why, message.clone()), subject.generation, now);
    if !crate::api::conditions::is_true(&status.conditions, READY) || status.service_arn.is_none() {
        set(&mut status.conditions, READY, Judgement::no(why, message.clone()), subject.generation, now);
    }
    let mut notices = Vec::new();
    if previous.as_deref() != Some(why) {
        notices.push(Notice::warning(why, err.operation(), message));
    }
    ServiceOutcome::plain(Outcome::new(status, notices, Next::Retry(err.into())))
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
    let status = subject.status.clone();
    let cluster = subject.spec.cluster.as_str();
    let (wanted, td_problem) = match &task_definition {
        TaskDefinition::Resolved(td) => (Some(td.clone()), None),
        TaskDefinition::NotFound(name) => (
            None,
            Some(Judgement::no(
                reason::TASK_DEFINITION_NOT_FOUND,
                format!("EcsTaskDefinition {name} does not exist in namespace {}", subject.namespace),
            )),
        ),
        TaskDefinition::NotReady(message) => {
            (None, Some(Judgement::no(reason::TASK_DEFINITION_NOT_READY, message.clone())))
        }
    };

    let observed = match cached {
        Some(observed) => observed,
        None => match describe_one(ecs, cluster, &subject.service_name).await {
            Ok(observed) => observed,
            Err(err) => return failed(status, &subject, err, &now),
        },
    };

    match observed {
        None => create(ecs, now, subject, wanted, td_problem, timing).await,
        Some(service) if service.status == crate::ecs::service::INACTIVE => {
            create(ecs, now, subject, wanted, td_problem, timing).await
        }
        Some(service) if service.status == DRAINING => waiting(
            status,
            &subject,
            Judgement::no(
                reason::DRAINING,
                format!(
                    "ECS service {} is still DRAINING after a deletion; it can be created again once it is INACTIVE",
                    subject.service_name
                ),
            ),
            Vec::new(),
            Next::After(timing.rollout_poll),
            &now,
        ),
        Some(service) => update(ecs, now, subject, wanted, td_problem, service, timing).await,
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
    let mut status = subject.status.clone();
    let Some(task_definition) = wanted.clone() else {
        let why = td_problem.unwrap_or_else(|| Judgement::no(reason::TASK_DEFINITION_NOT_READY, "No task definition"));
        return waiting(status, &subject, why, Vec::new(), Next::AwaitChange, &now);
    };
    let replica = subject.spec.scheduling_strategy == SchedulingStrategy::Replica;
    let input = ServiceCreate {
        cluster: subject.spec.cluster.clone(),
        name: subject.service_name.clone(),
        task_definition,
        desired_count: replica.then(|| subject.spec.desired_count.unwrap_or(plan::DEFAULT_DESIRED_COUNT)),
        tags: plan::service_tags(&tags_of(&subject.spec.tags), subject.uid, subject.namespace, subject.name),
        spec: subject.spec.clone(),
    };
    let mut notices = Vec::new();
    let recreated = status.service_arn.is_some();
    match ecs.create_service(&input).await {
        Ok(service) => {
            failpoint::hit(AFTER_CREATE);
            notices.push(Notice::normal(
                "Created",
                "CreateService",
                format!(
                    "{} ECS service {} in cluster {} with {}{}",
                    if recreated { "Re-created the" } else { "Created" },
                    service.name,
                    subject.spec.cluster,
                    plan::short_task_definition(service.task_definition.as_deref().unwrap_or_default()),
                    input.desired_count.map(|n| format!(", {n} task(s)")).unwrap_or_default()
                ),
            ));
            // The first deployment carries the spec as it is, token included.
            status.force_new_deployment_token = subject.spec.force_new_deployment_token.clone();
            status.pending_redeploy = None;
            status.failed_task_definition = None;
            status.last_event_id = None;
            status.last_event_time = None;
            status.deployments.clear();
            status.applied_fields = plan::applied_fields(subject.spec);
            status.applied_tags = tags::applied_keys(&tags_of(&subject.spec.tags));
            let subject = Subject { status, ..subject };
            let mut out = report(subject, service, wanted.as_deref(), Ok(()), notices, &now, timing);
            out.wrote = true;
            out
        }
        Err(err) if err.kind() == EcsErrorKind::Rejected => {
            let message = err.ecs_message().to_owned();
            let previous = condition_reason(&status.conditions, SYNCED).map(|(r, m)| (r.to_owned(), m.to_owned()));
            set(
                &mut status.conditions,
                READY,
                Judgement::no(reason::INVALID_SPEC, message.clone()),
                subject.generation,
                &now,
            );
            set(
                &mut status.conditions,
                SYNCED,
                Judgement::no(reason::INVALID_SPEC, message.clone()),
                subject.generation,
                &now,
            );
            status.observed_generation = subject.generation;
            if previous != Some((reason::INVALID_SPEC.to_owned(), message.clone())) {
                notices.push(Notice::warning(
                    reason::INVALID_SPEC,
                    "CreateService",
                    format!("ECS rejected the service: {message}"),
                ));
            }
            ServiceOutcome::plain(Outcome::new(status, notices, Next::AwaitChange))
        }
        Err(err) => failed(status, &subject, err, &now),
    }
}

/// Whose service it is: ours (tags or status say so), adoptable, or foreign.
enum Ownership {
    Ours,
    Adopt,
    Foreign,
}

fn ownership(subject: &Subject<'_>, service: &ServiceDescription) -> Ownership {
    let tagged = service.tags.as_ref().is_some_and(|t| plan::is_owned_by(t, subject.uid));
    if tagged || subject.status.service_arn.as_deref() == Some(service.arn.as_str()) {
        Ownership::Ours
    } else if subject.adopt {
        Ownership::Adopt
    } else {
        Ownership::Foreign
    }
}

async fn update<E: EcsServiceApi>(
    ecs: &E,
    now: Time,
    subject: Subject<'_>,
    wanted: Option<String>,
    td_problem: Option<Judgement>,
    mut service: ServiceDescription,
    timing: Timing,
) -> ServiceOutcome {
    let mut status = subject.status.clone();
    let mut notices = Vec::new();
    let mut wrote = false;
    let mut sync_result: Result<(), (Judgement, Option<EcsError>)> = Ok(());
    let token = subject.spec.force_new_deployment_token.clone();

    match ownership(&subject, &service) {
        Ownership::Ours => {}
        Ownership::Foreign => {
            return waiting(
                status,
                &subject,
                Judgement::no(
                    reason::ALREADY_EXISTS,
                    format!(
                        "ECS service {} already exists in cluster {} and was not created by this object; annotate the object with {}=true to adopt it",
                        service.name,
                        subject.spec.cluster,
                        plan::ADOPT_ANNOTATION
                    ),
                ),
                Vec::new(),
                Next::AwaitChange,
                &now,
            );
        }
        Ownership::Adopt => {
            let tags = plan::service_tags(&tags_of(&subject.spec.tags), subject.uid, subject.namespace, subject.name);
            if let Err(err) = ecs.tag_service(&service.arn, &tags).await {
                return failed(status, &subject, err, &now);
            }
            service.tags.get_or_insert_with(Default::default).extend(tags);
            notices.push(Notice::normal(
                "Adopted",
                "TagResource",
                format!("Adopted the existing ECS service {} (annotation {})", service.name, plan::ADOPT_ANNOTATION),
            ));
            // The running deployment stands for the token the object has now.
            status.force_new_deployment_token = token.clone();
            status.pending_redeploy = None;
            // Events logged before the adoption are the old owner's.
            if let Some(newest) = service.events.first() {
                status.last_event_id = Some(newest.id.clone());
                status.last_event_time = Some(Time(newest.created_at));
            }
            wrote = true;
        }
    }

    // A redeploy: recorded as pending first (this reconcile), asked for on
    // the next one, confirmed when a new PRIMARY appears.
    let mut force = false;
    let mut redeploy_requeue = false;
    if let Some(pending) = status.pending_redeploy.clone() {
        if Some(&pending.token) != token.as_ref() {
            status.pending_redeploy = None;
        } else if service.primary().map(|d| d.id.clone()) != pending.previous_primary {
            status.force_new_deployment_token = Some(pending.token);
            status.pending_redeploy = None;
        } else {
            force = true;
        }
    }
    if status.pending_redeploy.is_none()
        && let Some(token) = &token
        && status.force_new_deployment_token.as_ref() != Some(token)
    {
        status.pending_redeploy =
            Some(PendingRedeploy { token: token.clone(), previous_primary: service.primary().map(|d| d.id.clone()) });
        status.failed_task_definition = None;
        redeploy_requeue = true;
    }

    // A failure ECS reports now (a FAILED deployment, a rollback, or their
    // events) must be known before deciding what to push: the rollback put
    // the old revision back, and pushing the spec's again would loop.
    if !force {
        let unseen = plan::new_events(
            &service.events,
            status.last_event_id.as_deref(),
            status.last_event_time.as_ref().map(|t| t.0),
        )
        .into_iter()
        .cloned()
        .collect::<Vec<_>>();
        if let Some(td) = plan::rollout(&service, &unseen, &status.deployments).failed_task_definition {
            status.failed_task_definition = Some(td);
        }
    }
    // A task definition whose deployment failed is not rolled out again by
    // itself; a different one clears the memory of that failure.
    if wanted.is_some() && status.failed_task_definition.is_some() && wanted != status.failed_task_definition {
        status.failed_task_definition = None;
    }
    let blocked = !force && wanted.is_some() && wanted == status.failed_task_definition;
    let td_for_update = if blocked { None } else { wanted.as_deref() };

    let (mut changes, lines) = plan::changes(subject.spec, &status.applied_fields, td_for_update, &service);
    changes.force_new_deployment = force;
    let mut applied_ok = true;
    if !changes.is_empty() {
        let observed_generation =
            status.observed_generation.is_some() && status.observed_generation == subject.generation;
        let follows_reference =
            changes.task_definition.is_some() && service.task_definition == status.task_definition_arn;
        let drift: Vec<&String> =
            lines.iter().filter(|l| !(follows_reference && l.starts_with("taskDefinition"))).collect();
        match ecs.update_service(&subject.spec.cluster, &subject.service_name, &changes).await {
            Ok(mut updated) => {
                failpoint::hit(AFTER_UPDATE);
                wrote = true;
                updated.tags = service.tags.take();
                // The answer to a write does not carry the events: keep the ones seen.
                if updated.events.is_empty() {
                    updated.events = std::mem::take(&mut service.events);
                }
                service = updated;
                if observed_generation && !drift.is_empty() {
                    notices.push(Notice::warning(
                        "DriftReverted",
                        "UpdateService",
                        format!(
                            "Changed back what was changed in ECS outside the operator: {}",
                            drift.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                if !(lines.is_empty() || observed_generation && drift.len() == lines.len()) {
                    notices.push(Notice::normal(
                        "Updated",
                        "UpdateService",
                        format!("Updated the ECS service: {}", lines.join(", ")),
                    ));
                }
                if force {
                    // ECS's answer confirms it; the pending record only covers a crash before here.
                    status.force_new_deployment_token = token.clone();
                    status.pending_redeploy = None;
                    notices.push(Notice::normal(
                        "Redeployed",
                        "UpdateService",
                        format!(
                            "Started a new deployment {} of the same task definition (forceNewDeploymentToken)",
                            service.primary().map(|d| d.id.as_str()).unwrap_or("?")
                        ),
                    ));
                }
            }
            Err(err) if err.kind() == EcsErrorKind::Rejected => {
                applied_ok = false;
                let message = err.ecs_message().to_owned();
                let previous = condition_reason(&status.conditions, SYNCED).map(|(r, m)| (r.to_owned(), m.to_owned()));
                if previous != Some((reason::INVALID_SPEC.to_owned(), message.clone())) {
                    notices.push(Notice::warning(
                        reason::INVALID_SPEC,
                        "UpdateService",
                        format!("ECS rejected the update: {message}"),
                    ));
                }
                sync_result = Err((Judgement::no(reason::INVALID_SPEC, message), None));
            }
            Err(err) => {
                applied_ok = false;
                let why = failure_reason(&err);
                sync_result = Err((Judgement::no(why, err.to_string()), Some(err)));
            }
        }
    }
    status.applied_fields = plan::record_applied(subject.spec, &status.applied_fields, applied_ok);

    // Tags: add what the spec (and ownership) asks for; remove only what the
    // operator applied before and the spec dropped, never others' tags.
    if sync_result.is_ok()
        && let Some(actual) = service.tags.clone()
    {
        let spec_tags = tags_of(&subject.spec.tags);
        let wanted_tags = plan::service_tags(&spec_tags, subject.uid, subject.namespace, subject.name);
        let missing = plan::missing_tags(&wanted_tags, &actual);
        let stale = tags::stale(&status.applied_tags, &spec_tags, &actual);
        let mut tagged = Ok(());
        if !missing.is_empty() {
            tagged = ecs.tag_service(&service.arn, &missing).await;
            if tagged.is_ok() {
                wrote = true;
                service.tags.get_or_insert_with(Default::default).extend(missing);
            }
        }
        if tagged.is_ok() && !stale.is_empty() {
            tagged = ecs.untag_service(&service.arn, &stale).await;
            if tagged.is_ok() {
                failpoint::hit(AFTER_UNTAG);
                wrote = true;
                if let Some(tags) = service.tags.as_mut() {
                    tags.retain(|k, _| !stale.contains(k));
                }
                notices.push(Notice::normal(
                    "Untagged",
                    "UntagResource",
                    format!("Removed tags no longer in the spec: {}", stale.join(", ")),
                ));
            }
        }
        match tagged {
            Ok(()) => status.applied_tags = tags::applied_keys(&spec_tags),
            Err(err) => {
                let why = failure_reason(&err);
                sync_result = Err((Judgement::no(why, err.to_string()), Some(err)));
            }
        }
    }

    if sync_result.is_ok()
        && let Some(problem) = td_problem
    {
        sync_result = Err((problem, None));
    }

    let subject = Subject { status, ..subject };
    let mut out = report(subject, service, wanted.as_deref(), sync_result, notices, &now, timing);
    out.wrote = wrote;
    if redeploy_requeue && matches!(out.outcome.next, Next::After(_) | Next::Resync | Next::AwaitChange) {
        out.outcome.next = Next::After(Duration::from_millis(500));
    }
    out
}

/// Writes what ECS reports into the status and judges the conditions.
fn report(
    subject: Subject<'_>,
    service: ServiceDescription,
    wanted: Option<&str>,
    sync_result: Result<(), (Judgement, Option<EcsError>)>,
    mut notices: Vec<Notice>,
    now: &Time,
    timing: Timing,
) -> ServiceOutcome {
    let mut status = subject.status.clone();
    let generation = subject.generation;
    let ecs_events: Vec<ServiceEventRecord> = plan::new_events(
        &service.events,
        status.last_event_id.as_deref(),
        status.last_event_time.as_ref().map(|t| t.0),
    )
    .into_iter()
    .cloned()
    .collect();

    let mut rollout = plan::rollout(&service, &ecs_events, &status.deployments);
    if let Some(td) = &rollout.failed_task_definition {
        status.failed_task_definition = Some(td.clone());
    }
    // Remembered failure: the rollback settled (the failed deployment left the
    // list) but the service still is not on the revision the spec wants.
    let failed_before = status.failed_task_definition.clone();
    if rollout.degraded.status != ConditionStatus::True
        && let (Some(failed), Some(wanted)) = (&failed_before, wanted)
        && plan::task_definition_matches(wanted, failed)
        && !service.task_definition.as_deref().is_some_and(|current| plan::task_definition_matches(failed, current))
    {
        let message = status
            .conditions
            .iter()
            .find(|c| c.type_ == DEGRADED && c.status == "True")
            .map(|c| c.message.clone())
            .unwrap_or_else(|| {
                format!(
                    "The deployment of {} failed and ECS rolled back to {}; set a new forceNewDeploymentToken or change the task definition to retry",
                    plan::short_task_definition(failed),
                    plan::short_task_definition(service.task_definition.as_deref().unwrap_or_default())
                )
            });
        rollout.degraded = Judgement::yes(reason::ROLLED_BACK, message);
    }
    let mut rollouts = plan::rollout_transitions(&status.deployments, &service.deployments);
    // A deployment that failed and drained between two looks is known by its event only.
    if rollouts.failed == 0 && ecs_events.iter().any(|e| e.message.contains("deployment failed")) {
        rollouts.failed = 1;
    }

    status.service_arn = Some(service.arn.clone());
    status.cluster_arn = (!service.cluster_arn.is_empty()).then(|| service.cluster_arn.clone());
    status.status = Some(service.status.clone());
    status.desired_count = Some(service.desired_count);
    status.running_count = Some(service.running_count);
    status.pending_count = Some(service.pending_count);
    status.task_definition_arn = service.task_definition.clone();
    status.task_definition_revision =
        service.task_definition.as_deref().and_then(parse_task_definition_ref).map(|(_, revision)| revision);
    status.deployments = service.deployments.clone();

    let previous_degraded = condition_reason(&status.conditions, DEGRADED).map(|(r, m)| (r.to_owned(), m.to_owned()));
    let (ready, synced, retry) = match sync_result {
        Ok(()) => {
            (plan::readiness(&service, &rollout, wanted), Judgement::yes(reason::SYNCED, "ECS matches the spec"), None)
        }
        Err((why, err)) => {
            let ready = if why.reason == reason::INVALID_SPEC || wanted.is_none() {
                why.clone()
            } else {
                plan::readiness(&service, &rollout, wanted)
            };
            (ready, why, err)
        }
    };
    if retry.is_some()
        && condition_reason(&status.conditions, SYNCED).map(|(r, _)| r) != Some(synced.reason)
        && let Some(err) = &retry
    {
        notices.push(Notice::warning(synced.reason, err.operation(), synced.message.clone()));
    }
    let settling = plan::is_settling(&service);
    set(&mut status.conditions, READY, ready, generation, now);
    set(&mut status.conditions, SYNCED, synced, generation, now);
    set(&mut status.conditions, PROGRESSING, rollout.progressing, generation, now);
    let degraded_now = (rollout.degraded.reason.to_owned(), rollout.degraded.message.clone());
    let degraded_is_true = rollout.degraded.status == ConditionStatus::True;
    set(&mut status.conditions, DEGRADED, rollout.degraded, generation, now);
    if degraded_is_true && previous_degraded.as_ref() != Some(&degraded_now) {
        tracing::info!(reason = %degraded_now.0, message = %degraded_now.1, "service degraded");
    }
    status.observed_generation = generation;

    let next = match retry {
        Some(err) => Next::Retry(err.into()),
        None if settling => Next::After(plan::rollout_poll(timing.rollout_poll, rollout_age(&status.conditions, now))),
        None => Next::After(timing.steady),
    };
    ServiceOutcome { outcome: Outcome::new(status, notices, next), ecs_events, rollouts, wrote: false }
}

/// How long the current rollout has been going on, by the Progressing
/// condition's transition time (which moves only when it flips).
fn rollout_age(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition], now: &Time) -> Duration {
    conditions
        .iter()
        .find(|c| c.type_ == PROGRESSING && c.status == "True")
        .and_then(|c| now.0.duration_since(c.last_transition_time.0).try_into().ok())
        .unwrap_or_default()
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
        Err(err) => return deletion_failed(status, &subject, err, &now),
    };
    let Some(service) = service.filter(|s| s.is_active()) else {
        let notice =
            Notice::normal("Deleted", "DeleteService", format!("ECS service {} is deleted", subject.service_name));
        return ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::AwaitChange));
    };
    if matches!(ownership(&subject, &service), Ownership::Foreign | Ownership::Adopt) {
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
            Err(err) => return deletion_failed(status, &subject, err, &now),
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
        Err(err) => deletion_failed(status, &subject, err, &now),
    }
}

fn deletion_failed(mut status: EcsServiceStatus, subject: &Subject<'_>, err: EcsError, now: &Time) -> ServiceOutcome {
    let why = failure_reason(&err);
    let message = format!("Deleting the service: {err}");
    set(
        &mut status.conditions,
        READY,
        Judgement::no(reason::DELETING, "The object is being deleted"),
        subject.generation,
        now,
    );
    set(&mut status.conditions, SYNCED, Judgement::no(why, message.clone()), subject.generation, now);
    let notice = Notice::warning(why, err.operation(), message);
    ServiceOutcome::plain(Outcome::new(status, vec![notice], Next::Retry(err.into())))
}
