//! The account's Auto Scaling group capacity providers (account-wide, like
//! task definitions), each with the simulated group behind it. ECS's
//! built-ins, FARGATE and FARGATE_SPOT, are not stored: they exist in every
//! account and never change.
//!
//! Lock order: this lock before any cluster's (an association is checked
//! against every cluster while it is held).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::emulator::state::records::{Tag, Timestamp};

/// ECS's `ManagedScaling`, with ECS's defaults filled in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedScaling {
    pub status: String,
    pub target_capacity: i32,
    pub minimum_scaling_step_size: i32,
    pub maximum_scaling_step_size: i32,
    pub instance_warmup_period: i32,
}

impl ManagedScaling {
    pub fn enabled(&self) -> bool {
        self.status == "ENABLED"
    }
}

impl Default for ManagedScaling {
    fn default() -> Self {
        Self {
            status: "DISABLED".into(),
            target_capacity: 100,
            minimum_scaling_step_size: 1,
            maximum_scaling_step_size: 10_000,
            instance_warmup_period: 300,
        }
    }
}

/// ECS's `AutoScalingGroupProvider`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingGroupProvider {
    pub auto_scaling_group_arn: String,
    pub managed_scaling: ManagedScaling,
    pub managed_termination_protection: String,
    pub managed_draining: String,
}

/// ECS's `CapacityProvider` shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProvider {
    pub capacity_provider_arn: String,
    pub name: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scaling_group_provider: Option<AutoScalingGroupProvider>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    pub r#type: String,
}

/// The simulated Auto Scaling group's memory between ticks: when it last
/// scaled out (no other scale-out inside the warm-up period) and since when
/// the reservation has been under the target (scale-in waits for a run of
/// low datapoints).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_scale_out: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below_target_since: Option<Timestamp>,
    /// When a DeleteCapacityProvider in progress completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_at: Option<Timestamp>,
    /// The last `CapacityProviderReservation` computed (percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reservation: Option<f64>,
    /// Instances launched so far (spreads new ones over the zones).
    #[serde(default)]
    pub launched: u64,
    /// When the scheduler must next look at this provider (not persisted:
    /// the first tick after a restart recomputes it).
    #[serde(skip)]
    pub wake_at: Option<Timestamp>,
}

/// One provider and its group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderEntry {
    pub provider: CapacityProvider,
    #[serde(default)]
    pub group: GroupState,
}

impl ProviderEntry {
    pub fn name(&self) -> &str {
        &self.provider.name
    }

    pub fn is_active(&self) -> bool {
        self.provider.status == "ACTIVE"
    }

    /// Active and not on its way out (DeleteCapacityProvider in progress).
    pub fn is_usable(&self) -> bool {
        self.is_active() && self.group.delete_at.is_none()
    }

    pub fn asg(&self) -> Option<&AutoScalingGroupProvider> {
        self.provider.auto_scaling_group_provider.as_ref()
    }
}

/// Every capacity provider of the account, by name (INACTIVE ones stay
/// until the name is used again).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityProviders {
    pub by_name: BTreeMap<String, ProviderEntry>,
}

impl CapacityProviders {
    pub fn put(&mut self, entry: ProviderEntry) {
        self.by_name.insert(entry.provider.name.clone(), entry);
    }

    /// The provider a name or ARN (`…:capacity-provider/<name>`) refers to.
    pub fn get(&self, reference: &str) -> Option<&ProviderEntry> {
        self.by_name.get(name_of(reference))
    }
}

/// The name in a capacity provider ARN, or the reference itself.
pub fn name_of(reference: &str) -> &str {
    match reference.split_once(":capacity-provider/") {
        Some((_, name)) if reference.starts_with("arn:") => name,
        _ => reference,
    }
}
