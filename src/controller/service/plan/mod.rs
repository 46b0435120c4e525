//! Pure decisions about one EcsService, one topic a file:
//! - [`ownership`]: whose a service found in ECS is, and adopting one;
//! - [`drift`]: what UpdateService must change, and which fields the operator applied;
//! - [`redeploy`]: the `forceNewDeploymentToken` state machine;
//! - [`rollout`]: what the deployments and ECS's events say, and which events are new;
//! - [`verdict`]: what ECS reports written into the status, the conditions judged;
//! - [`scaling`] and [`discovery`]: `spec.autoScaling` against Application Auto Scaling,
//!   `spec.serviceDiscovery`'s Cloud Map service; [`step`]: their failures in the status.
//!
//! [`decide`] puts them together: for a service that exists, everything this reconcile
//! will ask of ECS, as one [`ServiceChanges`] value that `sync` executes. No I/O, so
//! every rule has a fast test. The files import one another downwards only (verdict →
//! rollout → drift); none imports this one.

pub mod discovery;
pub mod drift;
#[cfg(test)]
mod fixtures;
pub mod ownership;
pub mod reason;
pub mod redeploy;
pub mod rollout;
pub mod scaling;
pub mod step;
pub mod subject;
pub mod verdict;

use crate::api::service::{EcsServiceStatus, SchedulingStrategy};
use crate::controller::context::Notice;
use crate::controller::status::Judgement;
use crate::controller::tags;
use crate::ecs::Tags;
use crate::ecs::mapping::tags_of;
use crate::ecs::service::{ServiceCreate, ServiceDescription, ServiceEventRecord, ServiceUpdate};

pub use crate::controller::service::metrics::RolloutCounts;
pub use drift::{
    DEFAULT_PLATFORM_VERSION, applied_fields, changes, record_applied, short_task_definition, task_definition_matches,
};
pub use ownership::{ADOPT_ANNOTATION, OWNER_TAG, OWNER_UID_TAG, asks_for_adoption, missing_tags, service_tags};
pub use rollout::{new_events, same_deployments};
pub use subject::{Subject, TaskDefinition};
pub use verdict::{ServiceOutcome, Timing, condition_flags};

use ownership::{Adoption, Ownership};

/// The desired count of a new service whose spec leaves the count to an autoscaler.
pub const DEFAULT_DESIRED_COUNT: i32 = 1;

/// What one reconcile asks of ECS for a service that exists, in the order `sync` asks
/// it: adopt, update, tag.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceChanges {
    /// The status with this reconcile's bookkeeping done: the adoption, the redeploy
    /// record, the memory of a failed task definition.
    pub status: EcsServiceStatus,
    /// Take the service over first (TagResource with the ownership tags).
    pub adopt: Option<Adoption>,
    /// UpdateService's input; empty: no call.
    pub update: ServiceUpdate,
    /// The notices once UpdateService succeeded: what changed, and what was drift.
    pub updated: Vec<Notice>,
    /// The tags to add and remove once the update went through; `None` when ECS did not
    /// report the service's tags.
    pub tags: Option<TagChanges>,
    /// The ECS events not yet mirrored, oldest first, of the list DescribeServices
    /// gave (`sync` takes UpdateService's instead when it answers with one).
    pub new_events: Vec<ServiceEventRecord>,
    /// A redeploy was recorded as pending (asked for on the next reconcile).
    pub redeploy_recorded: bool,
}

/// Tags to add and remove: add what the spec (and ownership) asks for; remove only
/// what the operator applied before and the spec dropped, never others' tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChanges {
    pub add: Tags,
    pub remove: Vec<String>,
    /// `status.appliedTags` once both went through.
    pub applied: Vec<String>,
}

impl TagChanges {
    /// The notice once `remove` is gone from ECS.
    pub fn untagged(&self) -> Notice {
        Notice::normal(
            "Untagged",
            "UntagResource",
            format!("Removed tags no longer in the spec: {}", self.remove.join(", ")),
        )
    }
}

/// What a reconcile does with a service that exists in ECS.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Not this object's service: touch nothing, say why.
    Leave(Judgement),
    Converge(Box<ServiceChanges>),
}

/// Decides everything a reconcile asks of an existing `service`, given the task
/// definition the spec resolves to (`wanted`, `None` when it does not resolve yet).
pub fn decide(subject: &Subject<'_>, wanted: Option<&str>, service: &ServiceDescription) -> Decision {
    let mut status = subject.status.clone();
    let token = subject.spec.force_new_deployment_token.as_ref();
    let spec_tags = tags_of(&subject.spec.tags);
    // An object that adopts a service owns it by its annotation (and its status), not
    // by tags: adopting leaves ECS as it was, so `ecs-bridge import` round-trips with
    // no ECS write. A service the operator created carries the ownership tags.
    let tagged = service.tags.as_ref().is_some_and(|t| ownership::is_owned_by(t, subject.uid));
    let wanted_tags = if subject.adopt && !tagged {
        spec_tags.clone()
    } else {
        service_tags(&spec_tags, subject.uid, subject.namespace, subject.name)
    };
    let mut actual_tags = service.tags.clone();
    let adopt = match ownership::ownership(subject, service) {
        Ownership::Ours => None,
        Ownership::Foreign => return Decision::Leave(ownership::foreign(subject, service)),
        Ownership::Adopt => {
            let actual = actual_tags.get_or_insert_with(Default::default);
            let missing = missing_tags(&wanted_tags, actual);
            actual.extend(wanted_tags.clone());
            Some(ownership::adopt(&mut status, token, service, missing))
        }
    };

    let redeploy = redeploy::advance(&mut status, token, service.primary().map(|d| d.id.as_str()));

    // The events new since the last reconcile: they tell the rollout now and
    // are mirrored as Events after.
    let fresh = rollout::unseen(service, &status);
    // A failure ECS reports now (a FAILED deployment, a rollback, or their
    // events) must be known before deciding what to push: the rollback put
    // the old revision back, and pushing the spec's again would loop.
    if !redeploy.force
        && let Some(td) = rollout::rollout(service, &fresh, &status.deployments).failed_task_definition
    {
        status.failed_task_definition = Some(td);
    }
    // A task definition whose deployment failed is not rolled out again by
    // itself; a different one clears the memory of that failure.
    if wanted.is_some() && status.failed_task_definition.is_some() && wanted != status.failed_task_definition.as_deref()
    {
        status.failed_task_definition = None;
    }
    let blocked = !redeploy.force && wanted.is_some() && wanted == status.failed_task_definition.as_deref();
    let td_for_update = if blocked { None } else { wanted };

    let (mut update, lines) = changes(subject.spec, &status.applied_fields, td_for_update, service);
    update.force_new_deployment = redeploy.force;
    let updated =
        if update.is_empty() { Vec::new() } else { update_notices(subject, &status, &update, service, &lines) };

    let tags = actual_tags.map(|actual| TagChanges {
        add: missing_tags(&wanted_tags, &actual),
        remove: tags::stale(&status.applied_tags, &spec_tags, &actual),
        applied: tags::applied_keys(&spec_tags),
    });
    Decision::Converge(Box::new(ServiceChanges {
        status,
        adopt,
        update,
        updated,
        tags,
        new_events: fresh,
        redeploy_recorded: redeploy.recorded,
    }))
}

/// The notices of a successful UpdateService: a change of a spec already applied is
/// drift (someone changed ECS), except a new revision of a referenced task definition.
fn update_notices(
    subject: &Subject<'_>,
    status: &EcsServiceStatus,
    update: &ServiceUpdate,
    service: &ServiceDescription,
    lines: &[String],
) -> Vec<Notice> {
    let observed_generation = status.observed_generation.is_some() && status.observed_generation == subject.generation;
    let follows_reference = update.task_definition.is_some() && service.task_definition == status.task_definition_arn;
    let drift: Vec<&String> =
        lines.iter().filter(|l| !(follows_reference && l.starts_with("taskDefinition"))).collect();
    let mut notices = Vec::new();
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
    notices
}

/// The count a new service starts with: the spec's, else autoScaling's minCapacity (what
/// the autoscaler would clamp it to at once), else [`DEFAULT_DESIRED_COUNT`].
fn initial_desired_count(spec: &crate::api::EcsServiceSpec) -> i32 {
    spec.desired_count.or_else(|| spec.auto_scaling.as_ref().map(|a| a.min_capacity)).unwrap_or(DEFAULT_DESIRED_COUNT)
}

/// CreateService's input for the spec, running `task_definition`.
pub fn create_input(subject: &Subject<'_>, task_definition: String) -> ServiceCreate {
    let replica = subject.spec.scheduling_strategy == SchedulingStrategy::Replica;
    ServiceCreate {
        cluster: subject.spec.cluster.clone(),
        name: subject.service_name.clone(),
        task_definition,
        desired_count: replica.then(|| initial_desired_count(subject.spec)),
        tags: service_tags(&tags_of(&subject.spec.tags), subject.uid, subject.namespace, subject.name),
        spec: subject.spec.clone(),
    }
}

/// The status and the notice after CreateService made `service` from `input`: a new
/// service starts every record afresh.
pub fn created(
    subject: &Subject<'_>,
    input: &ServiceCreate,
    service: &ServiceDescription,
) -> (EcsServiceStatus, Notice) {
    let mut status = subject.status.clone();
    let recreated = status.service_arn.is_some();
    let notice = Notice::normal(
        "Created",
        "CreateService",
        format!(
            "{} ECS service {} in cluster {} with {}{}",
            if recreated { "Re-created the" } else { "Created" },
            service.name,
            subject.spec.cluster,
            short_task_definition(service.task_definition.as_deref().unwrap_or_default()),
            input.desired_count.map(|n| format!(", {n} task(s)")).unwrap_or_default()
        ),
    );
    // The first deployment carries the spec as it is, token included.
    status.force_new_deployment_token = subject.spec.force_new_deployment_token.clone();
    status.pending_redeploy = None;
    status.failed_task_definition = None;
    status.last_event_id = None;
    status.last_event_time = None;
    status.deployments.clear();
    status.applied_fields = applied_fields(subject.spec);
    status.applied_tags = tags::applied_keys(&tags_of(&subject.spec.tags));
    (status, notice)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::RolloutState;
    use fixtures::{TD1, TD2, deployment, service, spec};

    fn subject<'a>(
        spec: &'a crate::api::service::EcsServiceSpec,
        status: EcsServiceStatus,
        adopt: bool,
    ) -> Subject<'a> {
        Subject {
            namespace: "prod",
            name: "web",
            uid: "uid-web",
            generation: Some(2),
            service_name: "web".into(),
            spec,
            status,
            adopt,
        }
    }

    fn converge(decision: Decision) -> ServiceChanges {
        match decision {
            Decision::Converge(changes) => *changes,
            Decision::Leave(why) => panic!("left alone: {why:?}"),
        }
    }

    #[test]
    fn a_foreign_service_is_left_alone_unless_the_object_asks_to_adopt_it() {
        let wanted = spec(serde_json::json!({"taskDefinition": "web", "tags": [{"key": "team", "value": "a"}]}));
        let mut foreign = service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]);
        foreign.tags = Some(Tags::new());
        let left = decide(&subject(&wanted, EcsServiceStatus::default(), false), Some(TD1), &foreign);
        assert!(matches!(left, Decision::Leave(ref why) if why.reason == reason::ALREADY_EXISTS), "{left:?}");

        let changes = converge(decide(&subject(&wanted, EcsServiceStatus::default(), true), Some(TD1), &foreign));
        let adoption = changes.adopt.expect("adopted");
        assert!(!ownership::is_owned_by(&adoption.tags, "uid-web"), "owned by the annotation, not by tags");
        assert_eq!(adoption.tags, [("team".to_owned(), "a".to_owned())].into(), "only the spec's missing tags");
        assert_eq!(changes.tags.map(|t| t.add), Some(Tags::new()), "the adoption put every tag on");

        let mut tagged_alike = foreign.clone();
        tagged_alike.tags = Some([("team".to_owned(), "a".to_owned())].into());
        let changes = converge(decide(&subject(&wanted, EcsServiceStatus::default(), true), Some(TD1), &tagged_alike));
        assert_eq!(changes.adopt.map(|a| a.tags), Some(Tags::new()), "nothing to write: no TagResource");
        assert_eq!(changes.tags.map(|t| t.add), Some(Tags::new()));
    }

    #[test]
    fn a_change_made_in_ecs_is_reverted_and_said_once() {
        let wanted = spec(serde_json::json!({"taskDefinition": "web", "desiredCount": 2}));
        let mut scaled = service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]);
        scaled.desired_count = 5;
        let status = EcsServiceStatus {
            service_arn: Some(scaled.arn.clone()),
            observed_generation: Some(2),
            ..EcsServiceStatus::default()
        };
        let changes = converge(decide(&subject(&wanted, status, false), Some(TD1), &scaled));
        assert_eq!(changes.update.desired_count, Some(2));
        let reasons: Vec<&str> = changes.updated.iter().map(|n| n.reason).collect();
        assert_eq!(reasons, vec!["DriftReverted"]);
        assert!(changes.tags.is_none(), "ECS did not report the tags");
    }

    #[test]
    fn a_failed_revision_is_not_pushed_again() {
        let wanted = spec(serde_json::json!({"taskDefinition": "web"}));
        let mut failed = deployment("ecs-svc/2", "ACTIVE", TD2, RolloutState::Failed);
        failed.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let back = deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::InProgress);
        let observed = service(TD1, vec![back, failed]);
        let status = EcsServiceStatus { service_arn: Some(observed.arn.clone()), ..EcsServiceStatus::default() };
        let changes = converge(decide(&subject(&wanted, status, false), Some(TD2), &observed));
        assert_eq!(changes.status.failed_task_definition.as_deref(), Some(TD2));
        assert_eq!(changes.update.task_definition, None, "the rollback stands");
    }
}
