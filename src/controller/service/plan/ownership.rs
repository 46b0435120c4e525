//! Whose service a service found in ECS is: the tags that say an object created (or
//! adopted) it, the annotation that lets an object take over one it did not create, and
//! the bookkeeping of an adoption.

use super::subject::Subject;
use crate::api::service::EcsServiceStatus;
use crate::controller::context::Notice;
use crate::controller::status::Judgement;
use crate::ecs::Tags;
use crate::ecs::service::ServiceDescription;

use super::reason;

pub use crate::controller::task_definition::plan::{OWNER_TAG, OWNER_UID_TAG};

/// The annotation that lets an object take over a service that already exists
/// in ECS and was not created by it.
pub const ADOPT_ANNOTATION: &str = "ecs-bridge.dev/adopt";

/// Whether the service's tags say `uid`'s object created (or adopted) it.
pub fn is_owned_by(tags: &Tags, uid: &str) -> bool {
    tags.get(OWNER_UID_TAG).is_some_and(|v| v == uid)
}

/// The tags of the service: the spec's, plus the ownership tags (which win).
pub fn service_tags(spec_tags: &Tags, uid: &str, namespace: &str, name: &str) -> Tags {
    let mut tags = spec_tags.clone();
    let mut owner = format!("{namespace}/{name}");
    owner.truncate(256);
    tags.insert(OWNER_UID_TAG.to_owned(), uid.to_owned());
    tags.insert(OWNER_TAG.to_owned(), owner);
    tags
}

/// The tags `wanted` has that `actual` lacks or holds with another value.
pub fn missing_tags(wanted: &Tags, actual: &Tags) -> Tags {
    wanted.iter().filter(|(k, v)| actual.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Whether an annotation value asks for adoption.
pub fn asks_for_adoption(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Whose service it is: ours (tags or status say so), adoptable, or foreign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    Ours,
    Adopt,
    Foreign,
}

pub fn ownership(subject: &Subject<'_>, service: &ServiceDescription) -> Ownership {
    let tagged = service.tags.as_ref().is_some_and(|t| is_owned_by(t, subject.uid));
    if tagged || subject.status.service_arn.as_deref() == Some(service.arn.as_str()) {
        Ownership::Ours
    } else if subject.adopt {
        Ownership::Adopt
    } else {
        Ownership::Foreign
    }
}

/// Why a foreign service is left alone, and how to take it over.
pub fn foreign(subject: &Subject<'_>, service: &ServiceDescription) -> Judgement {
    Judgement::no(
        reason::ALREADY_EXISTS,
        format!(
            "ECS service {} already exists in cluster {} and was not created by this object; annotate the object with {}=true to adopt it",
            service.name, subject.spec.cluster, ADOPT_ANNOTATION
        ),
    )
}

/// Taking over a service: the spec's tags it lacks (none: no TagResource) and the notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub tags: Tags,
    pub notice: Notice,
}

/// Adopts `service` with the `tags` of the object: the running deployment stands for the
/// token the object has now, and the events logged before the adoption are the old
/// owner's, so the watermark moves past them.
pub fn adopt(
    status: &mut EcsServiceStatus,
    token: Option<&String>,
    service: &ServiceDescription,
    tags: Tags,
) -> Adoption {
    status.force_new_deployment_token = token.cloned();
    status.pending_redeploy = None;
    if let Some(newest) = service.events.first() {
        status.last_event_id = Some(newest.id.clone());
        status.last_event_time = Some(crate::controller::status::stored_time(newest.created_at));
    }
    let notice = Notice::normal(
        "Adopted",
        "TagResource",
        format!("Adopted the existing ECS service {} (annotation {})", service.name, ADOPT_ANNOTATION),
    );
    Adoption { tags, notice }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_tags_win_and_missing_tags_are_found() {
        let user: Tags = [("team".to_owned(), "a".to_owned()), (OWNER_UID_TAG.to_owned(), "forged".to_owned())].into();
        let tags = service_tags(&user, "uid-1", "prod", "web");
        assert!(is_owned_by(&tags, "uid-1"));
        assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("prod/web"));
        let actual: Tags = [("team".to_owned(), "a".to_owned())].into();
        let missing = missing_tags(&tags, &actual);
        assert_eq!(missing.len(), 2);
        assert!(!missing.contains_key("team"));
        assert!(asks_for_adoption(Some("true")));
        assert!(!asks_for_adoption(Some("no")));
        assert!(!asks_for_adoption(None));
    }
}
