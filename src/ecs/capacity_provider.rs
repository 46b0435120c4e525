//! The capacity provider operations of the seam: what the EcsCapacityProvider
//! reconciler asks of ECS (Create/Describe/Update/DeleteCapacityProvider) and
//! what it gets back, in plain shapes. Tags go through [`super::EcsApi`]'s
//! TagResource and UntagResource, as for clusters.

use std::future::Future;

use super::error::EcsError;
use super::operations::Tags;
use crate::api::capacity_provider::EcsCapacityProviderSpec;

/// Managed scaling members; `None` is "not set" (ECS keeps its value).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScalingSettings {
    pub status: Option<String>,
    pub target_capacity: Option<i32>,
    pub minimum_scaling_step_size: Option<i32>,
    pub maximum_scaling_step_size: Option<i32>,
    pub instance_warmup_period: Option<i32>,
}

/// The group settings UpdateCapacityProvider can change; `None` members are
/// left as ECS has them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSettings {
    pub managed_scaling: Option<ScalingSettings>,
    pub managed_termination_protection: Option<String>,
    pub managed_draining: Option<String>,
}

impl GroupSettings {
    pub fn is_empty(&self) -> bool {
        self.managed_scaling.is_none()
            && self.managed_termination_protection.is_none()
            && self.managed_draining.is_none()
    }
}

/// What an EcsCapacityProvider asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderConfig {
    pub name: String,
    pub auto_scaling_group_arn: String,
    pub group: GroupSettings,
    pub tags: Tags,
}

/// A capacity provider as DescribeCapacityProviders reports it (with its tags).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProviderState {
    pub arn: String,
    pub name: String,
    pub status: String,
    pub update_status: Option<String>,
    pub update_status_reason: Option<String>,
    pub auto_scaling_group_arn: Option<String>,
    /// Every member set: ECS reports its values, defaults included.
    pub group: GroupSettings,
    pub tags: Tags,
}

impl ProviderState {
    /// ECS refused the last DeleteCapacityProvider (it answers a delete of a
    /// provider a cluster still lists with HTTP 200 and this update status).
    pub fn delete_failed(&self) -> bool {
        self.update_status.as_deref() == Some("DELETE_FAILED")
    }

    /// Deleted, or being deleted.
    pub fn is_gone(&self) -> bool {
        self.status == "INACTIVE"
            || matches!(self.update_status.as_deref(), Some("DELETE_IN_PROGRESS" | "DELETE_COMPLETE"))
    }
}

/// The ECS capacity provider operations; each method is one ECS call.
pub trait EcsCapacityProviderApi: Send + Sync + 'static {
    /// DescribeCapacityProviders of one name, tags included; `None` when ECS
    /// does not know it.
    fn describe_capacity_provider(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Option<ProviderState>, EcsError>> + Send;

    fn create_capacity_provider(
        &self,
        config: &ProviderConfig,
    ) -> impl Future<Output = Result<ProviderState, EcsError>> + Send;

    fn update_capacity_provider(
        &self,
        name: &str,
        group: &GroupSettings,
    ) -> impl Future<Output = Result<ProviderState, EcsError>> + Send;

    /// DeleteCapacityProvider. ECS answers a refused delete (a cluster still
    /// lists the provider) with the provider and `updateStatus: DELETE_FAILED`,
    /// not an error: see [`ProviderState::delete_failed`].
    fn delete_capacity_provider(&self, name: &str) -> impl Future<Output = Result<ProviderState, EcsError>> + Send;
}

/// The provider an EcsCapacityProvider spec asks for, named `name`.
pub fn provider_config(spec: &EcsCapacityProviderSpec, name: &str) -> ProviderConfig {
    ProviderConfig {
        name: name.to_owned(),
        auto_scaling_group_arn: spec.auto_scaling_group_arn.clone(),
        group: GroupSettings {
            managed_scaling: spec.managed_scaling.as_ref().map(|m| ScalingSettings {
                status: m.status.map(|s| s.as_str().to_owned()),
                target_capacity: m.target_capacity,
                minimum_scaling_step_size: m.minimum_scaling_step_size,
                maximum_scaling_step_size: m.maximum_scaling_step_size,
                instance_warmup_period: m.instance_warmup_period,
            }),
            managed_termination_protection: spec.managed_termination_protection.map(|t| t.as_str().to_owned()),
            managed_draining: spec.managed_draining.map(|t| t.as_str().to_owned()),
        },
        tags: super::mapping::tags_of(&spec.tags),
    }
}
