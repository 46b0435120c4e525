//! The custom resource types (group `ecs-bridge.dev`, version `v1alpha1`): what users
//! write, what `kubectl explain` shows and what the API server validates at apply time.
//!
//! Types only, plus the pure helpers other layers need about them (spec hash, name
//! defaults, condition bookkeeping). No I/O: the controller and the ECS mapping live
//! elsewhere and depend on this module, never the other way round.

pub mod capacity_provider;
pub mod cluster;
pub mod common;
pub mod conditions;
pub mod crds;
pub mod discovery;
pub mod scaling;
pub mod service;
pub mod spec_hash;
pub mod task;
pub mod task_definition;

pub use capacity_provider::{EcsCapacityProvider, EcsCapacityProviderSpec, EcsCapacityProviderStatus};
pub use cluster::{EcsCluster, EcsClusterSpec, EcsClusterStatus};
pub use common::{CapacityProviderStrategyItem, DeletionPolicy, GROUP, Tag, VERSION};
pub use crds::{crds, crds_yaml};
pub use service::{EcsService, EcsServiceSpec, EcsServiceStatus};
pub use spec_hash::spec_hash;
pub use task::{EcsTask, EcsTaskSpec, EcsTaskStatus};
pub use task_definition::{EcsTaskDefinition, EcsTaskDefinitionSpec, EcsTaskDefinitionStatus};
