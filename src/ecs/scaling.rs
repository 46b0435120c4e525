//! The Application Auto Scaling operations of the seam: what the EcsService
//! reconciler asks of the service's scalable target (namespace `ecs`, dimension
//! `ecs:service:DesiredCount`), in the spec's own types so that drift is a plain
//! comparison.
//!
//! A trait of its own ([`ScalingApi`]), like [`EcsServiceApi`](super::service::EcsServiceApi):
//! the reconciler's unit tests fake it, the integration tests use the real client.

use std::future::Future;

use k8s_openapi::jiff::Timestamp;

use super::error::EcsError;
use crate::api::scaling::{ScheduledAction, StepScalingPolicy, SuspendedState, TargetTrackingPolicy};

/// The service's scalable target as Application Auto Scaling reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScalableTarget {
    pub arn: Option<String>,
    pub min_capacity: i32,
    pub max_capacity: i32,
    /// (dynamic in, dynamic out, scheduled), as [`SuspendedState::flags`].
    pub suspended: [bool; 3],
}

/// RegisterScalableTarget's input.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRegistration {
    pub resource_id: String,
    pub min_capacity: i32,
    pub max_capacity: i32,
    pub suspended: SuspendedState,
}

/// A policy's configuration, in the spec's types (the name inside).
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyConfig {
    TargetTracking(TargetTrackingPolicy),
    StepScaling(StepScalingPolicy),
}

impl PolicyConfig {
    pub fn name(&self) -> &str {
        match self {
            Self::TargetTracking(p) => &p.policy_name,
            Self::StepScaling(p) => &p.policy_name,
        }
    }

    /// Application Auto Scaling's `PolicyType`.
    pub fn policy_type(&self) -> &'static str {
        match self {
            Self::TargetTracking(_) => "TargetTrackingScaling",
            Self::StepScaling(_) => "StepScaling",
        }
    }
}

/// A policy on the target.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPolicy {
    pub name: String,
    pub arn: String,
    pub policy_type: String,
    /// `None` when the policy is something the spec cannot express (a customized
    /// metric, a predictive policy): never equal to a spec's policy.
    pub config: Option<PolicyConfig>,
}

/// A scheduled action on the target.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedAction {
    pub arn: String,
    pub action: ScheduledAction,
}

/// One scaling activity.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingActivity {
    pub id: String,
    pub description: String,
    pub cause: String,
    pub status_code: String,
    pub start_time: Option<Timestamp>,
}

/// The Application Auto Scaling operations the EcsService reconciler uses; each method
/// is one call (or one paged listing), counted in the metrics.
pub trait ScalingApi: Send + Sync + 'static {
    /// The target of `resource_id`, `None` when none is registered.
    fn describe_scalable_target(
        &self,
        resource_id: &str,
    ) -> impl Future<Output = Result<Option<ScalableTarget>, EcsError>> + Send;

    /// Registers or updates the target; answers its ARN.
    fn register_scalable_target(
        &self,
        input: &TargetRegistration,
    ) -> impl Future<Output = Result<String, EcsError>> + Send;

    /// Deregisters the target (its policies and scheduled actions go with it).
    fn deregister_scalable_target(&self, resource_id: &str) -> impl Future<Output = Result<(), EcsError>> + Send;

    fn describe_scaling_policies(
        &self,
        resource_id: &str,
    ) -> impl Future<Output = Result<Vec<ScalingPolicy>, EcsError>> + Send;

    /// Creates or replaces a policy; answers its ARN.
    fn put_scaling_policy(
        &self,
        resource_id: &str,
        policy: &PolicyConfig,
    ) -> impl Future<Output = Result<String, EcsError>> + Send;

    fn delete_scaling_policy(&self, resource_id: &str, name: &str)
    -> impl Future<Output = Result<(), EcsError>> + Send;

    fn describe_scheduled_actions(
        &self,
        resource_id: &str,
    ) -> impl Future<Output = Result<Vec<ObservedAction>, EcsError>> + Send;

    /// Creates or replaces a scheduled action.
    fn put_scheduled_action(
        &self,
        resource_id: &str,
        action: &ScheduledAction,
    ) -> impl Future<Output = Result<(), EcsError>> + Send;

    fn delete_scheduled_action(
        &self,
        resource_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// The newest activities of the target (one page), newest first.
    fn describe_scaling_activities(
        &self,
        resource_id: &str,
    ) -> impl Future<Output = Result<Vec<ScalingActivity>, EcsError>> + Send;
}
