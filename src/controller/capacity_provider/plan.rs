//! Pure decisions for an EcsCapacityProvider: what to change in ECS given the
//! spec and what ECS describes.

use crate::ecs::Tags;
use crate::ecs::capacity_provider::{GroupSettings, ProviderConfig, ProviderState, ScalingSettings};

/// The ECS writes that bring a capacity provider in line with its spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderChanges {
    /// The provider does not exist (or is INACTIVE): create it with everything.
    pub create: bool,
    /// The group settings to send with UpdateCapacityProvider, when some differ.
    pub update: Option<GroupSettings>,
    /// Tags to add or change.
    pub tags: Tags,
    /// Tag keys to remove: applied by the operator before, gone from the spec.
    pub untag: Vec<String>,
}

impl ProviderChanges {
    pub fn is_empty(&self) -> bool {
        !self.create && self.update.is_none() && self.tags.is_empty() && self.untag.is_empty()
    }
}

/// Whether a member the spec sets differs from ECS's; members the spec
/// leaves out are ECS's to choose (its defaults), never a difference.
fn differs<T: PartialEq>(desired: &Option<T>, observed: &Option<T>) -> bool {
    desired.as_ref().is_some_and(|d| observed.as_ref() != Some(d))
}

fn scaling_differs(desired: &ScalingSettings, observed: Option<&ScalingSettings>) -> bool {
    let observed = observed.cloned().unwrap_or_default();
    differs(&desired.status, &observed.status)
        || differs(&desired.target_capacity, &observed.target_capacity)
        || differs(&desired.minimum_scaling_step_size, &observed.minimum_scaling_step_size)
        || differs(&desired.maximum_scaling_step_size, &observed.maximum_scaling_step_size)
        || differs(&desired.instance_warmup_period, &observed.instance_warmup_period)
}

/// What to change. UpdateCapacityProvider keeps the members it is not given,
/// so only the spec's differing members are sent (managed scaling as the
/// spec's whole block, since ECS validates its step sizes together).
pub fn changes(desired: &ProviderConfig, applied_tags: &[String], observed: Option<&ProviderState>) -> ProviderChanges {
    let Some(observed) = observed.filter(|o| o.status != "INACTIVE") else {
        return ProviderChanges { create: true, ..ProviderChanges::default() };
    };
    let want = &desired.group;
    let seen = &observed.group;
    let update = GroupSettings {
        managed_scaling: want
            .managed_scaling
            .clone()
            .filter(|scaling| scaling_differs(scaling, seen.managed_scaling.as_ref())),
        managed_termination_protection: want
            .managed_termination_protection
            .clone()
            .filter(|_| differs(&want.managed_termination_protection, &seen.managed_termination_protection)),
        managed_draining: want
            .managed_draining
            .clone()
            .filter(|_| differs(&want.managed_draining, &seen.managed_draining)),
    };
    let tags = desired
        .tags
        .iter()
        .filter(|(k, v)| observed.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ProviderChanges {
        create: false,
        update: (!update.is_empty()).then_some(update),
        tags,
        untag: crate::controller::tags::stale(applied_tags, &desired.tags, &observed.tags),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> ProviderConfig {
        ProviderConfig {
            name: "spark".to_owned(),
            auto_scaling_group_arn: "asg".to_owned(),
            group: GroupSettings {
                managed_scaling: Some(ScalingSettings {
                    status: Some("ENABLED".to_owned()),
                    target_capacity: Some(90),
                    ..ScalingSettings::default()
                }),
                managed_termination_protection: None,
                managed_draining: Some("DISABLED".to_owned()),
            },
            tags: [("team".to_owned(), "data".to_owned())].into(),
        }
    }

    /// As ECS describes a provider created from `desired()`: every member
    /// set, defaults included.
    fn observed() -> ProviderState {
        ProviderState {
            arn: "arn:aws:ecs:us-east-1:123456789012:capacity-provider/spark".to_owned(),
            name: "spark".to_owned(),
            status: "ACTIVE".to_owned(),
            auto_scaling_group_arn: Some("asg".to_owned()),
            group: GroupSettings {
                managed_scaling: Some(ScalingSettings {
                    status: Some("ENABLED".to_owned()),
                    target_capacity: Some(90),
                    minimum_scaling_step_size: Some(1),
                    maximum_scaling_step_size: Some(10000),
                    instance_warmup_period: Some(300),
                }),
                managed_termination_protection: Some("DISABLED".to_owned()),
                managed_draining: Some("DISABLED".to_owned()),
            },
            tags: [("team".to_owned(), "data".to_owned())].into(),
            ..ProviderState::default()
        }
    }

    #[test]
    fn a_missing_or_inactive_provider_is_created() {
        assert!(changes(&desired(), &[], None).create);
        let gone = ProviderState { status: "INACTIVE".to_owned(), ..observed() };
        assert!(changes(&desired(), &[], Some(&gone)).create);
    }

    #[test]
    fn ecs_defaults_for_members_the_spec_leaves_out_are_no_difference() {
        assert!(changes(&desired(), &[], Some(&observed())).is_empty());
    }

    #[test]
    fn only_differing_members_are_updated() {
        let mut seen = observed();
        if let Some(scaling) = seen.group.managed_scaling.as_mut() {
            scaling.target_capacity = Some(100);
        }
        seen.group.managed_draining = Some("ENABLED".to_owned());
        let update = changes(&desired(), &[], Some(&seen)).update.expect("an update");
        assert_eq!(update.managed_scaling, desired().group.managed_scaling);
        assert_eq!(update.managed_draining.as_deref(), Some("DISABLED"));
        assert_eq!(update.managed_termination_protection, None);
    }

    #[test]
    fn only_tags_the_operator_applied_are_removed() {
        let mut seen = observed();
        seen.tags.insert("old".to_owned(), "x".to_owned());
        seen.tags.insert("theirs".to_owned(), "y".to_owned());
        let plan = changes(&desired(), &["team".to_owned(), "old".to_owned()], Some(&seen));
        assert_eq!(plan.untag, ["old"]);
        assert!(plan.tags.is_empty() && plan.update.is_none());
    }
}
