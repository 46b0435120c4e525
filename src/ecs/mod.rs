//! The seam to Amazon ECS: the few operations the reconcilers need, as three traits,
//! [`EcsApi`] (task definitions and clusters), [`EcsServiceApi`] (services) and
//! [`EcsTaskApi`] (one-off tasks), plus [`EcsCapacityProviderApi`] (capacity providers).
//!
//! Reconcilers depend on the traits, never on the SDK client, so their unit
//! tests run against in-memory fakes and their integration tests against the
//! real `aws-sdk-ecs` client talking HTTP to the emulator (or to real ECS).
//! [`SdkEcs`] is that real client, and [`client_for_endpoint`] the SDK client for
//! an emulator; [`mapping`], [`service_mapping`] and [`task_mapping`] turn resource specs into SDK
//! inputs; [`EcsError`] classifies failures once, here, at the edge. The files
//! below this one import each other, never this one, which only re-exports.

pub mod capacity_provider;
#[cfg(test)]
mod capacity_provider_fake;
mod capacity_provider_sdk;
mod error;
#[cfg(test)]
pub mod fake;
pub mod mapping;
mod metrics;
mod operations;
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
pub use error::{EcsError, EcsErrorKind};
pub use metrics::{EcsCallLabels, EcsCallMetrics};
pub use operations::{
    BatchFailure, ClusterConfig, ClusterState, EcsApi, Page, RevisionFilter, RevisionStatus, StrategyItem, Tags,
    TaskDefinitionRevision, WRITE_OPERATIONS, parse_task_definition_ref,
};
pub use sdk::{EMULATOR_ACCESS_KEY_ID, EMULATOR_SECRET_ACCESS_KEY, EcsSettings, SdkEcs, client_for_endpoint};
pub use service::{EcsServiceApi, ServiceDescription};
pub use task::{EcsTaskApi, TaskDescription};
