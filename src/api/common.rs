//! Pieces shared by the three kinds: tags, the deletion policy, capacity provider
//! strategies and the name pattern ECS uses for families, services and clusters.
//!
//! Every type here mirrors an ECS API shape field for field (camelCase, ECS's names),
//! so a user who knows `aws ecs create-service --cli-input-json` can read the CRDs.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API group of every ecs-bridge kind.
pub const GROUP: &str = "ecs-bridge.dev";
/// The one served and stored version.
pub const VERSION: &str = "v1alpha1";

/// One AWS resource tag, as ECS takes it (`{key, value}`).
///
/// ECS rules (API model): key 1–128 characters, value 0–256, both from
/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`; the `aws:` prefix is reserved for AWS in any case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!self.key.matches('^[aA][wW][sS]:')",
        "message": "tag keys starting with 'aws:' are reserved for AWS: choose another key"
    }
]))]
pub struct Tag {
    /// The tag key: 1–128 letters, digits, spaces and `_ . : / = + - @`. Keys are
    /// case-sensitive and unique per resource; the `aws:` prefix is reserved.
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"))]
    pub key: String,
    /// The tag value: 0–256 letters, digits, spaces and `_ . : / = + - @`.
    #[serde(default)]
    #[schemars(length(max = 256), regex(pattern = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"))]
    pub value: String,
}

/// What happens in ECS when the Kubernetes object is deleted.
///
/// `Delete` is the default because an object that leaves things running in ECS after
/// `kubectl delete` surprises more people than one that cleans up; `Retain` exists for
/// moving ownership of an ECS resource out of Kubernetes without downtime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete (or, for task definitions, deregister) the ECS resource.
    #[default]
    Delete,
    /// Leave the ECS resource as it is; only the Kubernetes object goes away.
    Retain,
}

/// One item of a capacity provider strategy (`CapacityProviderStrategyItem` in ECS).
///
/// ECS places the `base` tasks on the provider that has a base, then splits the rest
/// in proportion to `weight`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    /// Short name of the capacity provider, e.g. `FARGATE`, `FARGATE_SPOT` or an Auto
    /// Scaling group provider's name. It must be associated with the cluster.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub capacity_provider: String,
    /// Relative share of the tasks beyond `base` that go to this provider (0–1000,
    /// ECS default 0). A provider with weight 0 gets no tasks beyond its base.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub weight: Option<i32>,
    /// How many tasks, at least, run on this provider (0–100000, ECS default 0). Only one
    /// item of a strategy may set a base greater than 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub base: Option<i32>,
}
