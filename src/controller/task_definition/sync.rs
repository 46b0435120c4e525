//! Brings ECS in line with one EcsTaskDefinition, through the [`EcsApi`]
//! seam only: it returns the new status and the events, and the caller
//! writes them. This is the part that must survive a crash at any line, so
//! every step first looks at what ECS already has.

use std::collections::HashSet;

use crate::api::spec_hash;
use crate::api::task_definition::{EcsTaskDefinition, EcsTaskDefinitionSpec, EcsTaskDefinitionStatus, OwnedRevision};
use crate::api::{DeletionPolicy, conditions::SYNCED};
use crate::controller::context::{Clock, Notice};
use crate::controller::error::ReconcileError;
use crate::controller::failpoint;
use crate::controller::outcome::{Next, Outcome};
use crate::controller::status::{Judgement, condition_reason, failure_reason, reason, set_ready_and_synced};
use crate::ecs::{EcsApi, EcsError, EcsErrorKind, RevisionFilter, RevisionStatus, TaskDefinitionRevision, mapping};

use super::plan;
use crate::controller::service::plan::{ADOPT_ANNOTATION, asks_for_adoption};
use kube::ResourceExt;

/// The object being reconciled, as the engine needs it.
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub generation: Option<i64>,
    pub family: String,
    pub spec: &'a EcsTaskDefinitionSpec,
    pub status: EcsTaskDefinitionStatus,
    /// The object carries the adoption annotation: it may take over the family's
    /// latest revision when that runs exactly the spec.
    pub adopt: bool,
}

impl<'a> Subject<'a> {
    pub fn of(obj: &'a EcsTaskDefinition) -> Result<Self, ReconcileError> {
        Ok(Self {
            namespace: obj.metadata.namespace.as_deref().ok_or(ReconcileError::MissingField("namespace"))?,
            name: obj.metadata.name.as_deref().ok_or(ReconcileError::MissingField("name"))?,
            uid: obj.metadata.uid.as_deref().ok_or(ReconcileError::MissingField("uid"))?,
            generation: obj.metadata.generation,
            family: obj.family(),
            spec: &obj.spec,
            status: obj.status.clone().unwrap_or_default(),
            adopt: asks_for_adoption(obj.annotations().get(ADOPT_ANNOTATION).map(String::as_str)),
        })
    }
}

/// The failpoint right after a successful RegisterTaskDefinition, before the
/// status records it: the window adoption exists for.
pub const AFTER_REGISTER: &str = "after-register";

/// Makes the spec's revision current and trims the history.
pub async fn apply<E: EcsApi>(
    ecs: &E,
    clock: &dyn Clock,
    subject: Subject<'_>,
    in_use: &HashSet<String>,
) -> Outcome<EcsTaskDefinitionStatus> {
    let now = clock.now_time();
    let hash = spec_hash(subject.spec);
    let mut status = subject.status.clone();
    status.family = Some(subject.family.clone());

    if plan::rejected_this_generation(&status.conditions, subject.generation) {
        return Outcome::new(status, Vec::new(), Next::AwaitChange);
    }

    let tags =
        plan::revision_tags(&mapping::tags_of(&subject.spec.tags), subject.uid, subject.namespace, subject.name, &hash);
    let input = match mapping::register_input(subject.spec, &subject.family, &tags) {
        Ok(input) => input,
        Err(err) => return rejected(status, &subject, err.to_string(), now),
    };

    // Registered earlier for this very spec: a failure to confirm it (say, a
    // throttled describe at resync) does not make the object un-Ready.
    let registered_before = status.spec_hash.as_deref() == Some(hash.as_str()) && status.task_definition_arn.is_some();
    let mut notices = Vec::new();
    if let Err(err) = ensure_current(ecs, &mut status, &subject, &hash, input, &now, &mut notices).await {
        if err.kind() == EcsErrorKind::Rejected && err.operation() == "RegisterTaskDefinition" {
            return rejected(status, &subject, err.ecs_message().to_owned(), now);
        }
        let registered = registered_before && status.spec_hash.as_deref() == Some(hash.as_str());
        return failed(status, &subject, err, registered, notices, now);
    }

    let keep = usize::try_from(subject.spec.revision_history_limit()).unwrap_or(0);
    if let Err(err) = deregister_superseded(ecs, &mut status, &subject.family, keep, in_use, &mut notices).await {
        return failed(status, &subject, err, true, notices, now);
    }

    let revision = status.revision.unwrap_or_default();
    set_ready_and_synced(
        &mut status.conditions,
        Judgement::yes(
            reason::REGISTERED,
            format!("Revision {revision} of family {} is registered and ACTIVE", subject.family),
        ),
        Judgement::yes(reason::SYNCED, "ECS matches the spec"),
        subject.generation,
        &now,
    );
    status.observed_generation = subject.generation;
    Outcome::new(status, notices, Next::Resync)
}

/// Makes `status` point at an ACTIVE revision registered from `hash`:
/// the one it already names, one registered earlier, or a new one.
async fn ensure_current<E: EcsApi>(
    ecs: &E,
    status: &mut EcsTaskDefinitionStatus,
    subject: &Subject<'_>,
    hash: &str,
    input: crate::ecs::RegisterTaskDefinitionInput,
    now: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
    notices: &mut Vec<Notice>,
) -> Result<(), EcsError> {
    // 1. Steady state: the recorded revision is this spec's and still ACTIVE.
    if status.spec_hash.as_deref() == Some(hash)
        && let Some(arn) = status.task_definition_arn.clone()
    {
        match ecs.describe_task_definition(&arn).await? {
            Some(revision) if revision.status == RevisionStatus::Active => return Ok(()),
            _ => {
                tracing::info!(%arn, "the current revision is no longer ACTIVE in ECS");
                if let Some(number) = status.revision {
                    forget(status, number);
                }
            }
        }
    }

    // 2. A revision this object registered earlier for the same spec (a revert).
    let earlier: Vec<OwnedRevision> =
        status.revisions.iter().rev().filter(|r| r.spec_hash.as_deref() == Some(hash)).cloned().collect();
    for candidate in earlier {
        match ecs.describe_task_definition(&candidate.task_definition_arn).await? {
            Some(revision) if revision.status == RevisionStatus::Active => {
                make_current(status, &revision, hash, None);
                notices.push(Notice::normal(
                    "Adopted",
                    "DescribeTaskDefinition",
                    format!("Using revision {} again: it was registered for this same spec", revision.revision),
                ));
                return Ok(());
            }
            _ => forget(status, candidate.revision),
        }
    }

    // 3. A revision registered by a reconcile that died before saving status.
    let newest_known = plan::newest_known(&status.revisions, status.revision);
    if let Some(revision) = scan_unrecorded(ecs, status, subject, hash, newest_known).await? {
        make_current(status, &revision, hash, None);
        notices.push(Notice::normal(
            "Adopted",
            "ListTaskDefinitions",
            format!("Adopted revision {}, registered earlier for this spec but not yet recorded", revision.revision),
        ));
        return Ok(());
    }

    // 4. The object asks to adopt what ECS has (`ecs-bridge import` writes it so): the
    // family's latest ACTIVE revision, when it is exactly what registering would make.
    if subject.adopt
        && let Some(found) = ecs.describe_task_definition_content(&subject.family).await?
        && found.revision.status == RevisionStatus::Active
        && plan::same_content(&found.spec, subject.spec)
    {
        make_current(status, &found.revision, hash, None);
        notices.push(Notice::normal(
            "Adopted",
            "DescribeTaskDefinition",
            format!(
                "Adopted revision {}: it runs exactly the spec (annotation {ADOPT_ANNOTATION})",
                found.revision.revision
            ),
        ));
        return Ok(());
    }

    // 5. Nothing to reuse: register.
    let revision = ecs.register_task_definition(input).await?;
    failpoint::hit(AFTER_REGISTER);
    make_current(status, &revision, hash, Some(now.clone()));
    notices.push(Notice::normal(
        "Registered",
        "RegisterTaskDefinition",
        format!("Registered revision {}", revision.revision),
    ));
    Ok(())
}

/// Looks at the family's ACTIVE revisions newer than any the status knows,
/// records those this object owns, and returns the newest one carrying `hash`.
async fn scan_unrecorded<E: EcsApi>(
    ecs: &E,
    status: &mut EcsTaskDefinitionStatus,
    subject: &Subject<'_>,
    hash: &str,
    newest_known: i32,
) -> Result<Option<TaskDefinitionRevision>, EcsError> {
    let mut adoptable = None;
    let mut token = None;
    'pages: loop {
        let page = ecs.list_task_definitions(&subject.family, RevisionFilter::Active, token).await?;
        for arn in page.items {
            let Some((_, number)) = crate::ecs::parse_task_definition_ref(&arn) else {
                continue;
            };
            if number <= newest_known {
                break 'pages;
            }
            let Some(revision) = ecs.describe_task_definition(&arn).await? else {
                continue;
            };
            if !plan::is_owned_by(&revision.tags, subject.uid) {
                continue;
            }
            let revision_hash = revision.tags.get(plan::SPEC_HASH_TAG).cloned();
            plan::remember(
                &mut status.revisions,
                OwnedRevision {
                    revision: revision.revision,
                    task_definition_arn: revision.arn.clone(),
                    spec_hash: revision_hash.clone(),
                    registered_at: None,
                },
            );
            if adoptable.is_none()
                && revision_hash.as_deref() == Some(hash)
                && revision.status == RevisionStatus::Active
            {
                adoptable = Some(revision);
            }
        }
        token = page.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(adoptable)
}

/// Deregisters the superseded revisions beyond the history limit that no
/// EcsService uses.
async fn deregister_superseded<E: EcsApi>(
    ecs: &E,
    status: &mut EcsTaskDefinitionStatus,
    family: &str,
    keep: usize,
    in_use: &HashSet<String>,
    notices: &mut Vec<Notice>,
) -> Result<(), EcsError> {
    let doomed: Vec<OwnedRevision> =
        plan::revisions_to_deregister(&status.revisions, status.revision, keep, family, in_use)
            .into_iter()
            .cloned()
            .collect();
    for revision in doomed {
        match ecs.deregister_task_definition(&revision.task_definition_arn).await {
            Ok(()) => {
                notices.push(Notice::normal(
                    "Deregistered",
                    "DeregisterTaskDefinition",
                    format!("Deregistered revision {}", revision.revision),
                ));
            }
            // Deregistered or deleted outside the operator: fine, unless ECS
            // still lists it as ACTIVE.
            Err(err) if matches!(err.kind(), EcsErrorKind::Rejected | EcsErrorKind::NotFound) => {
                if let Some(seen) = ecs.describe_task_definition(&revision.task_definition_arn).await?
                    && seen.status == RevisionStatus::Active
                {
                    return Err(err);
                }
            }
            Err(err) => return Err(err),
        }
        forget(status, revision.revision);
    }
    Ok(())
}

fn make_current(
    status: &mut EcsTaskDefinitionStatus,
    revision: &TaskDefinitionRevision,
    hash: &str,
    registered_at: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
) {
    status.revision = Some(revision.revision);
    status.task_definition_arn = Some(revision.arn.clone());
    status.spec_hash = Some(hash.to_owned());
    plan::remember(
        &mut status.revisions,
        OwnedRevision {
            revision: revision.revision,
            task_definition_arn: revision.arn.clone(),
            spec_hash: Some(hash.to_owned()),
            registered_at,
        },
    );
}

fn forget(status: &mut EcsTaskDefinitionStatus, revision: i32) {
    status.revisions.retain(|r| r.revision != revision);
}

/// ECS (or the mapping) rejected this generation's spec: say so once, and
/// wait for the spec to change.
fn rejected(
    mut status: EcsTaskDefinitionStatus,
    subject: &Subject<'_>,
    message: String,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Outcome<EcsTaskDefinitionStatus> {
    set_ready_and_synced(
        &mut status.conditions,
        Judgement::no(reason::INVALID_SPEC, message.clone()),
        Judgement::no(reason::INVALID_SPEC, message.clone()),
        subject.generation,
        &now,
    );
    status.observed_generation = subject.generation;
    let notice = Notice::warning(
        reason::INVALID_SPEC,
        "RegisterTaskDefinition",
        format!("ECS rejected the task definition: {message}"),
    );
    Outcome::new(status, vec![notice], Next::AwaitChange)
}

/// A transient (or unexpected) failure: report it in the conditions and
/// retry with back-off. `registered` says whether the spec's revision is in
/// place (then `Ready` stays true and only `Synced` turns false).
fn failed(
    mut status: EcsTaskDefinitionStatus,
    subject: &Subject<'_>,
    err: EcsError,
    registered: bool,
    mut notices: Vec<Notice>,
    now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> Outcome<EcsTaskDefinitionStatus> {
    let why = failure_reason(&err);
    let message = err.to_string();
    let previous = condition_reason(&status.conditions, SYNCED).map(|(r, _)| r.to_owned());
    let ready = if registered {
        Judgement::yes(
            reason::REGISTERED,
            format!(
                "Revision {} of family {} is registered and ACTIVE",
                status.revision.unwrap_or_default(),
                subject.family
            ),
        )
    } else {
        Judgement::no(why, message.clone())
    };
    set_ready_and_synced(&mut status.conditions, ready, Judgement::no(why, message.clone()), subject.generation, &now);
    if previous.as_deref() != Some(why) {
        notices.push(Notice::warning(why, err.operation(), message));
    }
    Outcome::new(status, notices, Next::Retry(err.into()))
}

/// Runs the deletion policy. `Delete` deregisters every ACTIVE revision the
/// object owns, then deletes every owned INACTIVE one; ECS is the record
/// (ownership tags), so a retry after a crash resumes where it stopped.
pub async fn delete<E: EcsApi>(ecs: &E, clock: &dyn Clock, subject: Subject<'_>) -> Outcome<EcsTaskDefinitionStatus> {
    let mut status = subject.status.clone();
    match subject.spec.deletion_policy {
        DeletionPolicy::Retain => {
            let notice = Notice::normal(
                "Retained",
                "Delete",
                format!("Left the revisions of family {} in ECS (deletionPolicy: Retain)", subject.family),
            );
            Outcome::new(status, vec![notice], Next::AwaitChange)
        }
        DeletionPolicy::Delete => match purge(ecs, &status, &subject).await {
            Ok((deregistered, deleted)) => {
                let notice = Notice::normal(
                    "Deleted",
                    "DeleteTaskDefinitions",
                    format!(
                        "Deregistered {deregistered} and deleted {deleted} revision(s) of family {}",
                        subject.family
                    ),
                );
                status.revisions.clear();
                Outcome::new(status, vec![notice], Next::AwaitChange)
            }
            Err(err) => {
                let now = clock.now_time();
                let why = failure_reason(&err);
                let message = format!("Deleting the revisions: {err}");
                set_ready_and_synced(
                    &mut status.conditions,
                    Judgement::no(reason::DELETING, "The object is being deleted"),
                    Judgement::no(why, message.clone()),
                    subject.generation,
                    &now,
                );
                let notice = Notice::warning(why, err.operation(), message);
                Outcome::new(status, vec![notice], Next::Retry(err.into()))
            }
        },
    }
}

/// Every ARN of `family` with `filter`, across all pages.
async fn list_all<E: EcsApi>(ecs: &E, family: &str, filter: RevisionFilter) -> Result<Vec<String>, EcsError> {
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let page = ecs.list_task_definitions(family, filter, token).await?;
        arns.extend(page.items);
        token = page.next_token;
        if token.is_none() {
            return Ok(arns);
        }
    }
}

async fn purge<E: EcsApi>(
    ecs: &E,
    status: &EcsTaskDefinitionStatus,
    subject: &Subject<'_>,
) -> Result<(usize, usize), EcsError> {
    let known: HashSet<&str> = status.revisions.iter().map(|r| r.task_definition_arn.as_str()).collect();
    let owns = async |arn: &str| -> Result<bool, EcsError> {
        if known.contains(arn) {
            return Ok(true);
        }
        Ok(ecs.describe_task_definition(arn).await?.is_some_and(|r| plan::is_owned_by(&r.tags, subject.uid)))
    };

    // Collect first, then act: deregistering shifts ECS's pages under a token.
    let active = list_all(ecs, &subject.family, RevisionFilter::Active).await?;
    let mut inactive_owned: Vec<String> = Vec::new();
    let mut deregistered = 0;
    for arn in active {
        if !owns(&arn).await? {
            continue;
        }
        match ecs.deregister_task_definition(&arn).await {
            Ok(()) => deregistered += 1,
            Err(err) if matches!(err.kind(), EcsErrorKind::Rejected | EcsErrorKind::NotFound) => {}
            Err(err) => return Err(err),
        }
        inactive_owned.push(arn);
    }
    let just_deregistered: HashSet<String> = inactive_owned.iter().cloned().collect();
    for arn in list_all(ecs, &subject.family, RevisionFilter::Inactive).await? {
        if !just_deregistered.contains(&arn) && owns(&arn).await? {
            inactive_owned.push(arn);
        }
    }
    for batch in inactive_owned.chunks(10) {
        for failure in ecs.delete_task_definitions(batch).await? {
            tracing::warn!(
                arn = failure.arn.as_deref().unwrap_or_default(),
                reason = %failure.reason,
                detail = failure.detail.as_deref().unwrap_or_default(),
                "ECS did not delete a revision"
            );
        }
    }
    Ok((deregistered, inactive_owned.len()))
}
