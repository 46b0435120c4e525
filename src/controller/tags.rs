//! Which tags the operator may take off an ECS resource: only the keys it
//! recorded as applied from the spec (`status.appliedTags`) that the spec no
//! longer has. Tags added outside the operator were never recorded, and the
//! ownership tags are never recorded, so neither is ever removed.

use crate::controller::task_definition::plan::{OWNER_TAG, OWNER_UID_TAG};
use crate::ecs::Tags;

fn is_ownership(key: &str) -> bool {
    key == OWNER_TAG || key == OWNER_UID_TAG
}

/// The record to write after the spec's tags were applied: its keys, sorted,
/// without the ownership tags (which the operator sets whatever the spec says).
pub fn applied_keys(spec_tags: &Tags) -> Vec<String> {
    spec_tags.keys().filter(|k| !is_ownership(k)).cloned().collect()
}

/// The keys to remove with UntagResource: recorded as applied, gone from the
/// spec, still on the resource. Removing them again after a crash is
/// harmless, and once they are gone from `actual` nothing is asked twice.
pub fn stale(applied: &[String], spec_tags: &Tags, actual: &Tags) -> Vec<String> {
    let mut keys: Vec<String> = applied
        .iter()
        .filter(|k| !is_ownership(k) && !spec_tags.contains_key(*k) && actual.contains_key(*k))
        .cloned()
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn only_recorded_keys_gone_from_the_spec_are_removed() {
        let spec = tags(&[("team", "a")]);
        let actual = tags(&[("team", "a"), ("cost-center", "42"), ("added-by-hand", "x"), (OWNER_UID_TAG, "u")]);
        let applied = vec!["team".to_owned(), "cost-center".to_owned()];
        assert_eq!(stale(&applied, &spec, &actual), vec!["cost-center".to_owned()]);
    }

    #[test]
    fn ownership_tags_are_never_recorded_nor_removed() {
        let spec = tags(&[("team", "a"), (OWNER_TAG, "forged")]);
        assert_eq!(applied_keys(&spec), vec!["team".to_owned()]);
        let actual = tags(&[(OWNER_TAG, "ns/web"), (OWNER_UID_TAG, "u")]);
        let applied = vec![OWNER_TAG.to_owned(), OWNER_UID_TAG.to_owned()];
        assert!(stale(&applied, &Tags::new(), &actual).is_empty());
    }

    #[test]
    fn a_key_already_gone_is_not_asked_for_again() {
        let applied = vec!["old".to_owned()];
        assert!(stale(&applied, &Tags::new(), &Tags::new()).is_empty());
        assert!(stale(&[], &Tags::new(), &tags(&[("old", "1")])).is_empty(), "no record, no removal");
    }
}
