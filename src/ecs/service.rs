//! The ECS service operations of the seam: what the EcsService reconciler
//! asks of ECS (create, update, describe in batches, delete, tag, untag) and what it
//! gets back, in the resource types' own shapes so that drift is a plain
//! comparison with the spec.
//!
//! A trait of its own ([`EcsServiceApi`]) rather than more methods on
//! [`EcsApi`](super::operations::EcsApi): the service reconciler's unit tests use a fake
//! that knows services only, and the two halves evolve independently.

use std::future::Future;

use k8s_openapi::jiff::Timestamp;

use super::error::EcsError;
use super::operations::Tags;
use crate::api::CapacityProviderStrategyItem;
use crate::api::service::{
    Deployment, DeploymentConfiguration, EcsServiceSpec, LoadBalancer, NetworkConfiguration, PlacementConstraint,
    PlacementStrategy, ServiceRegistry,
};

/// ECS's lifecycle of a service: ACTIVE → DRAINING (tasks stopping after
/// DeleteService) → INACTIVE.
pub const ACTIVE: &str = "ACTIVE";
pub const DRAINING: &str = "DRAINING";
pub const INACTIVE: &str = "INACTIVE";

/// DescribeServices takes at most this many services per call.
pub const DESCRIBE_BATCH: usize = 10;

/// One entry of a service's event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEventRecord {
    pub id: String,
    pub created_at: Timestamp,
    pub message: String,
}

/// A service as DescribeServices (or a write's answer) reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceDescription {
    pub arn: String,
    pub name: String,
    pub cluster_arn: String,
    /// ACTIVE, DRAINING or INACTIVE.
    pub status: String,
    pub desired_count: i32,
    pub running_count: i32,
    pub pending_count: i32,
    pub task_definition: Option<String>,
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub deployment_configuration: Option<DeploymentConfiguration>,
    pub load_balancers: Vec<LoadBalancer>,
    pub service_registries: Vec<ServiceRegistry>,
    pub placement_constraints: Vec<PlacementConstraint>,
    pub placement_strategy: Vec<PlacementStrategy>,
    pub health_check_grace_period_seconds: Option<i32>,
    pub enable_execute_command: bool,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: Option<String>,
    pub scheduling_strategy: Option<String>,
    /// Newest (PRIMARY) first, as ECS lists them.
    pub deployments: Vec<Deployment>,
    /// Newest first, at most 100 (ECS's window).
    pub events: Vec<ServiceEventRecord>,
    /// `None` when the call did not ask for tags.
    pub tags: Option<Tags>,
}

impl ServiceDescription {
    pub fn is_active(&self) -> bool {
        self.status == ACTIVE
    }

    /// The PRIMARY (newest) deployment.
    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.status.as_deref() == Some("PRIMARY")).or_else(|| self.deployments.first())
    }
}

/// The answer to one DescribeServices call: the services found, and the
/// names ECS reported MISSING.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribedServices {
    pub services: Vec<ServiceDescription>,
    pub missing: Vec<String>,
}

/// CreateService's input: the spec (ECS's field names), with what the
/// operator resolved for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCreate {
    pub cluster: String,
    pub name: String,
    /// The revision ARN (or `family`, `family:revision`) to run.
    pub task_definition: String,
    /// The spec's count, or the operator's default when the spec leaves it to an autoscaler.
    pub desired_count: Option<i32>,
    /// The spec's tags plus the ownership tags.
    pub tags: Tags,
    pub spec: EcsServiceSpec,
}

/// UpdateService's input: only the fields that must change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceUpdate {
    pub desired_count: Option<i32>,
    pub task_definition: Option<String>,
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<NetworkConfiguration>,
    pub deployment_configuration: Option<DeploymentConfiguration>,
    pub load_balancers: Option<Vec<LoadBalancer>>,
    pub service_registries: Option<Vec<ServiceRegistry>>,
    pub placement_constraints: Option<Vec<PlacementConstraint>>,
    pub placement_strategy: Option<Vec<PlacementStrategy>>,
    pub health_check_grace_period_seconds: Option<i32>,
    pub enable_execute_command: Option<bool>,
    pub enable_ecs_managed_tags: Option<bool>,
    pub propagate_tags: Option<String>,
    pub force_new_deployment: bool,
}

impl ServiceUpdate {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The ECS service operations the EcsService reconciler uses; each method is
/// one ECS call, counted in the metrics.
pub trait EcsServiceApi: Send + Sync + 'static {
    fn create_service(
        &self,
        input: &ServiceCreate,
    ) -> impl Future<Output = Result<ServiceDescription, EcsError>> + Send;

    fn update_service(
        &self,
        cluster: &str,
        name: &str,
        update: &ServiceUpdate,
    ) -> impl Future<Output = Result<ServiceDescription, EcsError>> + Send;

    /// Describes up to [`DESCRIBE_BATCH`] services of one cluster, with their
    /// tags when `with_tags`.
    fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
        with_tags: bool,
    ) -> impl Future<Output = Result<DescribedServices, EcsError>> + Send;

    /// DeleteService; `force` deletes a service still scaled above 0.
    fn delete_service(
        &self,
        cluster: &str,
        name: &str,
        force: bool,
    ) -> impl Future<Output = Result<ServiceDescription, EcsError>> + Send;

    /// TagResource on a service ARN (merges).
    fn tag_service(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// UntagResource on a service ARN: removes `keys` (absent keys are no error,
    /// so a repeated removal after a crash is harmless).
    fn untag_service(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<(), EcsError>> + Send;
}
