//! `EcsCapacityProvider`: an ECS Auto Scaling group capacity provider as a
//! Kubernetes object.
//!
//! The spec is CreateCapacityProvider's input (name, the group, managed scaling,
//! termination protection and draining, tags); the status carries what
//! DescribeCapacityProviders reports. EcsClusters name the provider in their
//! `capacityProviders` and strategies by its ECS name.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DeletionPolicy, Tag};

/// The desired state of an Auto Scaling group capacity provider.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs-bridge.dev",
    version = "v1alpha1",
    kind = "EcsCapacityProvider",
    namespaced,
    status = "EcsCapacityProviderStatus",
    derive = "PartialEq",
    shortname = "ecscp",
    category = "ecs",
    doc = "An Amazon ECS capacity provider backed by an EC2 Auto Scaling group, with managed scaling, termination protection and draining.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".status.name", description = "The ECS capacity provider name"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status", description = "ECS's status of the provider"),
    printcolumn(name = "Update", type_ = "string", json_path = ".status.updateStatus", description = "ECS's status of the last update or delete"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.capacityProviderArn", priority = 1),
    validation = (
        "(has(self.spec.name) ? self.spec.name : self.metadata.name) == (has(oldSelf.spec.name) ? oldSelf.spec.name : oldSelf.metadata.name)",
        "spec.name is immutable (it defaults to metadata.name): ECS cannot rename a capacity provider; create a new EcsCapacityProvider instead"
    ),
    validation = (
        "!(has(self.spec.name) ? self.spec.name : self.metadata.name).lowerAscii().matches('^(aws|ecs|fargate)')",
        "a capacity provider name cannot start with aws, ecs or fargate (set spec.name)"
    ),
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.autoScalingGroupArn == oldSelf.autoScalingGroupArn",
        "message": "spec.autoScalingGroupArn is immutable: ECS cannot move a capacity provider to another group"
    },
    {
        "rule": "!has(self.managedTerminationProtection) || self.managedTerminationProtection == 'DISABLED' || (has(self.managedScaling) && has(self.managedScaling.status) && self.managedScaling.status == 'ENABLED')",
        "message": "managedTerminationProtection ENABLED requires managedScaling.status ENABLED"
    }
]))]
pub struct EcsCapacityProviderSpec {
    /// The ECS capacity provider name: 1–255 letters, digits, `-` and `_`, not starting
    /// with `aws`, `ecs` or `fargate`. Defaults to the object's name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub name: Option<String>,

    /// The Auto Scaling group: its ARN (or name). One group backs at most one capacity
    /// provider. Immutable.
    #[schemars(length(min = 1, max = 1600))]
    pub auto_scaling_group_arn: String,

    /// Whether ECS scales the group for the tasks of this provider, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_scaling: Option<ManagedScaling>,

    /// Whether ECS protects instances that run tasks from scale-in (`ENABLED` requires
    /// managed scaling). ECS default: `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_termination_protection: Option<Toggle>,

    /// Whether ECS drains an instance's tasks before the group terminates it. ECS
    /// default: `ENABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_draining: Option<Toggle>,

    /// Tags on the capacity provider (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// What deleting this object does in ECS: `Delete` (default) deletes the provider,
    /// which ECS refuses while a cluster still lists it; `Retain` leaves it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// `ENABLED` or `DISABLED`, as ECS spells its switches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Toggle {
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

impl Toggle {
    /// ECS's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "ENABLED",
            Self::Disabled => "DISABLED",
        }
    }
}

/// Managed scaling (ECS `ManagedScaling`). Members left out keep ECS's values
/// (for a new provider ECS's defaults: target 100, steps 1 to 10000, warm-up 300 s).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.minimumScalingStepSize) || !has(self.maximumScalingStepSize) || self.minimumScalingStepSize <= self.maximumScalingStepSize",
        "message": "minimumScalingStepSize must not exceed maximumScalingStepSize"
    }
]))]
pub struct ManagedScaling {
    /// Whether managed scaling is on. ECS default: `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Toggle>,
    /// The share of the group's capacity the tasks should use, in percent (1–100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub target_capacity: Option<i32>,
    /// The fewest instances one scale-out adds (1–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub minimum_scaling_step_size: Option<i32>,
    /// The most instances one scale-out adds (1–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub maximum_scaling_step_size: Option<i32>,
    /// Seconds a new instance takes before it counts towards the group's metrics
    /// (0–10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    pub instance_warmup_period: Option<i32>,
}

/// What the operator observed in ECS. Nothing here is ever copied into `spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsCapacityProviderStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (the provider is ACTIVE with the spec's settings; while deletion is
    /// refused, False with reason `DeleteRefused`) and `Synced` (the last reconcile
    /// succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The ECS capacity provider name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The ECS capacity provider ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_arn: Option<String>,
    /// ECS's status: `ACTIVE` or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// ECS's status of the last update or delete, e.g. `UPDATE_COMPLETE` or
    /// `DELETE_FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_status: Option<String>,
    /// ECS's reason for `updateStatus`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_status_reason: Option<String>,
    /// The keys of the spec's tags this operator has put on the provider (see
    /// EcsCluster's `appliedTags`): only these are ever removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub applied_tags: Vec<String>,
}

impl EcsCapacityProvider {
    /// The ECS capacity provider name: `spec.name`, or the object's name when unset.
    pub fn provider_name(&self) -> String {
        self.spec.name.clone().unwrap_or_else(|| self.name_any())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecs_field_names_round_trip_and_the_name_defaults() {
        let json = serde_json::json!({
            "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/g",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 90, "minimumScalingStepSize": 1,
                               "maximumScalingStepSize": 5, "instanceWarmupPeriod": 60},
            "managedTerminationProtection": "ENABLED",
            "managedDraining": "DISABLED",
            "tags": [{"key": "team", "value": "data"}],
            "deletionPolicy": "Retain"
        });
        let spec: EcsCapacityProviderSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.managed_draining, Some(Toggle::Disabled));
        assert_eq!(serde_json::to_value(&spec).unwrap(), json);
        assert_eq!(EcsCapacityProvider::new("spark", spec.clone()).provider_name(), "spark");
        let named = EcsCapacityProvider::new("spark", EcsCapacityProviderSpec { name: Some("cp".into()), ..spec });
        assert_eq!(named.provider_name(), "cp");
    }
}
