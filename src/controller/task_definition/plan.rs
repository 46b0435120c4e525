//! Pure decisions about an EcsTaskDefinition's revisions: which tags mark
//! ownership, which superseded revisions go, whether a spec must wait for a
//! change. No I/O, so every rule has a fast test.

use std::collections::HashSet;

use crate::api::task_definition::{EcsTaskDefinitionSpec, OwnedRevision};
use crate::ecs::Tags;
use crate::ecs::readback::{canonical, user_tags};

/// The object's UID: what makes a revision "ours" (a name can be reused by
/// a new object, a UID cannot).
pub const OWNER_UID_TAG: &str = "ecs-bridge.dev/owner-uid";
/// `namespace/name`, for people reading the tags in the AWS console.
pub const OWNER_TAG: &str = "ecs-bridge.dev/owner";
/// The spec hash the revision was registered from; what adoption looks for.
pub const SPEC_HASH_TAG: &str = "ecs-bridge.dev/spec-hash";

/// ECS's limit on a tag value.
const TAG_VALUE_MAX: usize = 256;

/// The tags of a new revision: the spec's own, plus the ownership tags
/// (which win over a user tag with the same key).
pub fn revision_tags(spec_tags: &Tags, uid: &str, namespace: &str, name: &str, spec_hash: &str) -> Tags {
    let mut tags = spec_tags.clone();
    let mut owner = format!("{namespace}/{name}");
    if owner.len() > TAG_VALUE_MAX {
        owner.truncate(TAG_VALUE_MAX);
    }
    tags.insert(OWNER_UID_TAG.to_owned(), uid.to_owned());
    tags.insert(OWNER_TAG.to_owned(), owner);
    tags.insert(SPEC_HASH_TAG.to_owned(), spec_hash.to_owned());
    tags
}

/// Whether a revision's tags say this object registered it.
pub fn is_owned_by(tags: &Tags, uid: &str) -> bool {
    tags.get(OWNER_UID_TAG).is_some_and(|v| v == uid)
}

pub use crate::controller::status::rejected_this_generation;

/// What of a spec a revision holds: the spec in canonical form (ECS's defaults left
/// out), its tags as a person writes them, without the operator's own fields.
pub fn content(spec: &EcsTaskDefinitionSpec) -> EcsTaskDefinitionSpec {
    let mut content = canonical(spec);
    content.tags = user_tags(&crate::ecs::mapping::tags_of(&content.tags));
    content.family = None;
    content.revision_history_limit = None;
    content.deletion_policy = Default::default();
    content
}

/// Whether a revision ECS describes (`registered`, read back as a spec) is what
/// registering `wanted` would make: what lets an object adopt a revision it did not
/// register, and what `ecs-bridge diff` reports as "no change".
pub fn same_content(registered: &EcsTaskDefinitionSpec, wanted: &EcsTaskDefinitionSpec) -> bool {
    content(registered) == content(wanted)
}

/// The superseded revisions to deregister: all but the newest `keep` of the
/// revisions other than the current one, never one that is in use.
///
/// `in_use` holds `family:revision` keys.
pub fn revisions_to_deregister<'a>(
    owned: &'a [OwnedRevision],
    current: Option<i32>,
    keep: usize,
    family: &str,
    in_use: &HashSet<String>,
) -> Vec<&'a OwnedRevision> {
    let mut superseded: Vec<&OwnedRevision> = owned.iter().filter(|r| Some(r.revision) != current).collect();
    superseded.sort_by_key(|r| std::cmp::Reverse(r.revision));
    superseded.into_iter().skip(keep).filter(|r| !in_use.contains(&format!("{family}:{}", r.revision))).collect()
}

/// Records a revision as owned, keeping the list sorted oldest first and
/// free of duplicates.
pub fn remember(owned: &mut Vec<OwnedRevision>, revision: OwnedRevision) {
    match owned.iter_mut().find(|r| r.revision == revision.revision) {
        Some(existing) => {
            if existing.spec_hash.is_none() {
                existing.spec_hash = revision.spec_hash;
            }
        }
        None => {
            owned.push(revision);
            owned.sort_by_key(|r| r.revision);
        }
    }
}

/// The highest revision number the status knows about: revisions above it
/// may have been registered by a reconcile that crashed before saving status.
pub fn newest_known(owned: &[OwnedRevision], current: Option<i32>) -> i32 {
    owned.iter().map(|r| r.revision).chain(current).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::{ConditionStatus, READY, new_condition};
    use crate::controller::status::reason;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    fn owned(revision: i32) -> OwnedRevision {
        OwnedRevision {
            revision,
            task_definition_arn: format!("arn:aws:ecs:us-east-1:123456789012:task-definition/web:{revision}"),
            spec_hash: None,
            registered_at: None,
        }
    }

    fn numbers(list: Vec<&OwnedRevision>) -> Vec<i32> {
        list.into_iter().map(|r| r.revision).collect()
    }

    #[test]
    fn keeps_the_newest_superseded_revisions_and_the_current_one() {
        let revisions: Vec<_> = (1..=6).map(owned).collect();
        let none = HashSet::new();
        assert_eq!(numbers(revisions_to_deregister(&revisions, Some(6), 2, "web", &none)), vec![3, 2, 1]);
        assert_eq!(numbers(revisions_to_deregister(&revisions, Some(6), 0, "web", &none)), vec![5, 4, 3, 2, 1]);
        assert!(revisions_to_deregister(&revisions, Some(6), 10, "web", &none).is_empty());
    }

    #[test]
    fn the_current_revision_is_kept_even_when_it_is_not_the_newest() {
        // A spec reverted to an older revision's content adopts that revision.
        let revisions: Vec<_> = (1..=4).map(owned).collect();
        assert_eq!(numbers(revisions_to_deregister(&revisions, Some(1), 1, "web", &HashSet::new())), vec![3, 2]);
    }

    #[test]
    fn a_revision_in_use_is_never_deregistered() {
        let revisions: Vec<_> = (1..=5).map(owned).collect();
        let in_use: HashSet<String> = ["web:2".to_owned(), "other:1".to_owned()].into();
        assert_eq!(numbers(revisions_to_deregister(&revisions, Some(5), 1, "web", &in_use)), vec![3, 1]);
    }

    #[test]
    fn ownership_tags_win_over_user_tags() {
        let user: Tags =
            [("team".to_owned(), "payments".to_owned()), (OWNER_UID_TAG.to_owned(), "forged".to_owned())].into();
        let tags = revision_tags(&user, "uid-1", "prod", "web", "sha256:ab");
        assert_eq!(tags.get("team").map(String::as_str), Some("payments"));
        assert!(is_owned_by(&tags, "uid-1"));
        assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("prod/web"));
        assert_eq!(tags.get(SPEC_HASH_TAG).map(String::as_str), Some("sha256:ab"));
        assert!(!is_owned_by(&tags, "uid-2"));
    }

    #[test]
    fn an_overlong_owner_is_cut_to_ecs_limit() {
        let name = "n".repeat(253);
        let tags = revision_tags(&Tags::new(), "u", &"s".repeat(63), &name, "h");
        assert_eq!(tags.get(OWNER_TAG).map(String::len), Some(256));
    }

    #[test]
    fn invalid_spec_waits_only_for_its_own_generation() {
        let now = Time(Timestamp::from_second(1).unwrap());
        let conditions = vec![new_condition(READY, ConditionStatus::False, reason::INVALID_SPEC, "bad", Some(3), now)];
        assert!(rejected_this_generation(&conditions, Some(3)));
        assert!(!rejected_this_generation(&conditions, Some(4)));
        assert!(!rejected_this_generation(&[], Some(3)));
    }

    #[test]
    fn content_ignores_ecs_defaults_and_the_operators_own_fields() {
        let spec = |json| serde_json::from_value::<EcsTaskDefinitionSpec>(json).unwrap();
        let written = spec(serde_json::json!({
            "family": "web", "revisionHistoryLimit": 3, "deletionPolicy": "Retain",
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 64}],
            "tags": [{"key": "team", "value": "a"}]
        }));
        let described = spec(serde_json::json!({
            "family": "web",
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 64, "essential": true, "cpu": 0}],
            "tags": [{"key": "team", "value": "a"}, {"key": "ecs-bridge.dev/owner-uid", "value": "u"}]
        }));
        assert!(same_content(&described, &written));
        let retagged = spec(serde_json::json!({
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 64}],
            "tags": [{"key": "team", "value": "b"}]
        }));
        assert!(!same_content(&described, &retagged), "tags are part of a revision");
    }

    #[test]
    fn remembered_revisions_stay_sorted_and_unique() {
        let mut list = vec![owned(2)];
        remember(&mut list, owned(5));
        remember(&mut list, owned(1));
        let mut again = owned(5);
        again.spec_hash = Some("h".to_owned());
        remember(&mut list, again);
        assert_eq!(list.iter().map(|r| r.revision).collect::<Vec<_>>(), vec![1, 2, 5]);
        assert_eq!(list[2].spec_hash.as_deref(), Some("h"));
        assert_eq!(newest_known(&list, Some(3)), 5);
        assert_eq!(newest_known(&[], None), 0);
    }
}
