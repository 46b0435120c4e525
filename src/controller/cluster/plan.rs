//! Pure decisions for an EcsCluster: what to change in ECS given the spec and
//! what ECS describes.

use std::collections::{BTreeMap, BTreeSet};

use crate::ecs::{ClusterConfig, ClusterState, StrategyItem, Tags};

/// The ECS writes that bring a cluster in line with its spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterChanges {
    /// The cluster does not exist (or is INACTIVE): create it with everything.
    pub create: bool,
    /// Settings whose value differs (ECS has no "unset": absent ones are left alone).
    pub settings: BTreeMap<String, String>,
    /// New providers and default strategy, when they differ (ECS replaces both at once).
    pub capacity: Option<(Vec<String>, Vec<StrategyItem>)>,
    /// Tags to add or change.
    pub tags: Tags,
    /// Tag keys to remove: applied by the operator before, gone from the spec.
    pub untag: Vec<String>,
}

impl ClusterChanges {
    pub fn is_empty(&self) -> bool {
        !self.create
            && self.settings.is_empty()
            && self.capacity.is_none()
            && self.tags.is_empty()
            && self.untag.is_empty()
    }
}

fn strategy_set(items: &[StrategyItem]) -> BTreeSet<(String, i32, i32)> {
    items.iter().map(|i| (i.capacity_provider.clone(), i.weight, i.base)).collect()
}

/// What to change. Capacity providers are managed only when the spec names
/// some (or a strategy): a spec that leaves them out leaves them to whoever
/// manages them (ECS keeps them otherwise, and clearing a cluster's providers
/// under running services would break them). Tags are added or changed;
/// only those in `applied_tags` (the status's record of the spec tags the
/// operator put there) that the spec dropped are removed, never others'.
pub fn changes(desired: &ClusterConfig, applied_tags: &[String], observed: Option<&ClusterState>) -> ClusterChanges {
    let Some(observed) = observed.filter(|o| o.status != "INACTIVE") else {
        return ClusterChanges { create: true, ..ClusterChanges::default() };
    };
    let settings = desired
        .settings
        .iter()
        .filter(|(name, value)| observed.settings.get(*name) != Some(*value))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let manages_capacity = !desired.capacity_providers.is_empty() || !desired.default_strategy.is_empty();
    let providers_differ = desired.capacity_providers.iter().collect::<BTreeSet<_>>()
        != observed.capacity_providers.iter().collect::<BTreeSet<_>>();
    let strategy_differs = strategy_set(&desired.default_strategy) != strategy_set(&observed.default_strategy);
    let capacity = (manages_capacity && (providers_differ || strategy_differs))
        .then(|| (desired.capacity_providers.clone(), desired.default_strategy.clone()));
    let tags = desired
        .tags
        .iter()
        .filter(|(k, v)| observed.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ClusterChanges {
        create: false,
        settings,
        capacity,
        tags,
        untag: crate::controller::tags::stale(applied_tags, &desired.tags, &observed.tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> ClusterConfig {
        ClusterConfig {
            name: "prod".to_owned(),
            settings: [("containerInsights".to_owned(), "enabled".to_owned())].into(),
            capacity_providers: vec!["FARGATE".to_owned(), "FARGATE_SPOT".to_owned()],
            default_strategy: vec![StrategyItem { capacity_provider: "FARGATE".to_owned(), weight: 1, base: 0 }],
            tags: [("team".to_owned(), "a".to_owned())].into(),
        }
    }

    fn observed_like(config: &ClusterConfig) -> ClusterState {
        ClusterState {
            arn: "arn:aws:ecs:us-east-1:123456789012:cluster/prod".to_owned(),
            name: config.name.clone(),
            status: "ACTIVE".to_owned(),
            settings: config.settings.clone(),
            capacity_providers: config.capacity_providers.iter().rev().cloned().collect(),
            default_strategy: config.default_strategy.clone(),
            tags: config.tags.clone(),
            ..ClusterState::default()
        }
    }

    #[test]
    fn a_missing_or_inactive_cluster_is_created() {
        assert!(changes(&desired(), &[], None).create);
        let mut gone = observed_like(&desired());
        gone.status = "INACTIVE".to_owned();
        assert!(changes(&desired(), &[], Some(&gone)).create);
    }

    #[test]
    fn a_matching_cluster_needs_nothing_whatever_the_order() {
        let want = desired();
        assert!(changes(&want, &[], Some(&observed_like(&want))).is_empty());
    }

    #[test]
    fn only_differing_settings_and_tags_are_sent() {
        let want = desired();
        let mut seen = observed_like(&want);
        seen.settings.insert("containerInsights".to_owned(), "disabled".to_owned());
        seen.tags.insert("team".to_owned(), "b".to_owned());
        seen.tags.insert("other".to_owned(), "kept".to_owned());
        let plan = changes(&want, &[], Some(&seen));
        assert_eq!(plan.settings.get("containerInsights").map(String::as_str), Some("enabled"));
        assert_eq!(plan.tags.len(), 1);
        assert!(plan.capacity.is_none());
    }

    #[test]
    fn capacity_changes_replace_both_lists() {
        let want = desired();
        let mut seen = observed_like(&want);
        seen.default_strategy[0].weight = 3;
        let plan = changes(&want, &[], Some(&seen));
        assert_eq!(plan.capacity, Some((want.capacity_providers.clone(), want.default_strategy.clone())));
    }

    #[test]
    fn only_tags_the_operator_applied_are_removed() {
        let mut want = desired();
        want.tags.clear();
        let mut seen = observed_like(&desired());
        seen.tags.insert("added-by-hand".to_owned(), "x".to_owned());
        let applied = vec!["team".to_owned()];
        let plan = changes(&want, &applied, Some(&seen));
        assert_eq!(plan.untag, vec!["team".to_owned()]);
        assert!(!plan.is_empty());
        assert!(changes(&want, &[], Some(&seen)).is_empty(), "without a record nothing is removed");
        seen.tags.remove("team");
        assert!(changes(&want, &applied, Some(&seen)).is_empty(), "already gone: nothing to ask");
    }

    #[test]
    fn providers_absent_from_the_spec_are_left_alone() {
        let mut want = desired();
        want.capacity_providers.clear();
        want.default_strategy.clear();
        let seen = observed_like(&desired());
        assert!(changes(&want, &[], Some(&seen)).capacity.is_none());
    }
}
