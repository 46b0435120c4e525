//! The seam to Amazon ECS: the few operations the reconcilers need, as three traits,
//! [`EcsApi`] (task definitions and clusters), [`EcsServiceApi`] (services) and
//! [`EcsTaskApi`] (one-off tasks), plus [`EcsCapacityProviderApi`] (capacity providers);
//! and, for an EcsService's `autoScaling` and `serviceDiscovery`, two more:
//! [`ScalingApi`] (Application Auto Scaling) and [`DiscoveryApi`] (Cloud Map).
//!
//! Reconcilers depend on the traits, never on the SDK client, so their unit
//! tests run against in-memory fakes and their integration tests against the
//! real `aws-sdk-ecs` client talking HTTP to the emulator (or to real ECS).
//! [`SdkEcs`] is that real client, and [`client_for_endpoint`] the SDK client for
//! an emulator; [`mapping`], [`service_mapping`] and [`task_mapping`] turn resource specs into SDK
//! inputs; [`EcsError`] classifies failures once, here, at the edge. The files
//! below this one import each other, never this one, which only re-exports.
//! [`readback`] turns what ECS describes back into specs, ECS's defaults left out
//! (for `ecs-bridge import`, `ecs-bridge diff` and adoption).

pub mod capacity_provider;
#[cfg(test)]
mod capacity_provider_fake;
mod capacity_provider_sdk;
pub mod discovery;
mod discovery_sdk;
mod error;
#[cfg(test)]
pub mod fake;
pub mod mapping;
mod metrics;
mod operations;
pub mod readback;
pub mod scaling;
#[cfg(test)]
pub mod scaling_fake;
mod scaling_sdk;
mod sdk;
pub mod service;
#[cfg(test)]
pub mod service_fake;
pub mod service_mapping;
mod service_sdk;
pub mod task;
#[cfg(test)]
pub mod task_fake;
pub mod task_mapping;
mod task_sdk;

pub use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;
pub use capacity_provider::{EcsCapacityProviderApi, ProviderState};
pub use discovery::DiscoveryApi;
pub use error::{EcsError, EcsErrorKind};
pub use metrics::{EcsCallLabels, EcsCallMetrics};
pub use operations::{
    BatchFailure, ClusterConfig, ClusterState, EcsApi, Page, RevisionContent, RevisionFilter, RevisionStatus,
    StrategyItem, Tags, TaskDefinitionRevision, WRITE_OPERATIONS, parse_task_definition_ref,
};
pub use scaling::ScalingApi;
pub use sdk::{
    EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, EcsSettings, SdkEcs, client_for_endpoint, emulator_config,
};
pub use service::{EcsServiceApi, ServiceDescription};
pub use task::{EcsTaskApi, TaskDescription};
