//! `EcsCluster`: an ECS cluster as a Kubernetes object.
//!
//! The spec is CreateCluster's input (name, settings, capacity providers, default
//! strategy, tags); the status carries ECS's ARN, status and task/service counts.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CapacityProviderStrategyItem, DeletionPolicy, Tag};

/// The desired state of an ECS cluster.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs-bridge.dev",
    version = "v1alpha1",
    kind = "EcsCluster",
    namespaced,
    status = "EcsClusterStatus",
    derive = "PartialEq",
    shortname = "ecscl",
    category = "ecs",
    doc = "An Amazon ECS cluster: a namespace for services and tasks, with its capacity providers and settings.",
    printcolumn(name = "Cluster", type_ = "string", json_path = ".status.clusterName", description = "The ECS cluster name"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status", description = "ECS's status of the cluster"),
    printcolumn(name = "Services", type_ = "integer", json_path = ".status.activeServicesCount"),
    printcolumn(name = "Running", type_ = "integer", json_path = ".status.runningTasksCount"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.clusterArn", priority = 1),
    validation = (
        "(has(self.spec.clusterName) ? self.spec.clusterName : self.metadata.name) == (has(oldSelf.spec.clusterName) ? oldSelf.spec.clusterName : oldSelf.metadata.name)",
        "spec.clusterName is immutable (it defaults to metadata.name): ECS cannot rename a cluster; create a new EcsCluster instead"
    ),
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.defaultCapacityProviderStrategy) || self.defaultCapacityProviderStrategy.all(i, has(self.capacityProviders) && i.capacityProvider in self.capacityProviders)",
        "message": "every defaultCapacityProviderStrategy provider must be listed in capacityProviders"
    }
]))]
pub struct EcsClusterSpec {
    /// The ECS cluster name: 1–255 letters, digits, `-` and `_`. Defaults to the
    /// object's name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub cluster_name: Option<String>,

    /// Cluster settings; ECS has one, `containerInsights`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub settings: Vec<ClusterSetting>,

    /// Capacity providers associated with the cluster (short names such as `FARGATE`,
    /// `FARGATE_SPOT` or an Auto Scaling group provider). ECS replaces the whole list on
    /// every change, so list every provider the services use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 10),
        inner(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$")),
        extend("x-kubernetes-list-type" = "set")
    )]
    pub capacity_providers: Vec<String>,

    /// The strategy for services and tasks that name neither a launch type nor a
    /// strategy. Its providers must be in `capacityProviders`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 20),
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["capacityProvider"],
            "x-kubernetes-validations" = [
                {
                    "rule": "self.filter(i, has(i.base) && i.base > 0).size() <= 1",
                    "message": "only one defaultCapacityProviderStrategy item may set a base greater than 0"
                }
            ]
        )
    )]
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,

    /// Tags on the ECS cluster (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// What deleting this object does in ECS: `Delete` (default) deletes the cluster,
    /// which ECS refuses while services or instances remain; `Retain` leaves it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// A cluster setting (ECS `ClusterSetting`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSetting {
    /// The setting; ECS has only `containerInsights`.
    pub name: ClusterSettingName,
    /// For containerInsights: `enhanced`, `enabled` or `disabled` (the account default
    /// applies when unset).
    pub value: ContainerInsights,
}

/// The name of a cluster setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ClusterSettingName {
    /// CloudWatch Container Insights.
    #[serde(rename = "containerInsights")]
    ContainerInsights,
}

/// A Container Insights level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ContainerInsights {
    /// Container Insights with enhanced observability.
    Enhanced,
    /// Container Insights.
    Enabled,
    /// Off.
    Disabled,
}

/// What the operator observed in ECS. Nothing here is ever copied into `spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (the cluster is ACTIVE with the spec's settings) and `Synced` (the last
    /// reconcile succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The ECS cluster name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// The ECS cluster ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    /// ECS's status: `ACTIVE`, `PROVISIONING`, `DEPROVISIONING`, `FAILED` or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Container instances registered (ACTIVE or DRAINING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_container_instances_count: Option<i32>,
    /// Tasks in the RUNNING state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_tasks_count: Option<i32>,
    /// Tasks in the PENDING state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_tasks_count: Option<i32>,
    /// ACTIVE services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_services_count: Option<i32>,
    /// The keys of the spec's tags this operator has put on the cluster, recorded after
    /// each successful apply. A key listed here that the spec no longer has is removed
    /// from ECS (UntagResource); tags added outside the operator are never listed, so
    /// never removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub applied_tags: Vec<String>,
}

impl EcsCluster {
    /// The ECS cluster name: `spec.clusterName`, or the object's name when unset.
    pub fn cluster_name(&self) -> String {
        self.spec.cluster_name.clone().unwrap_or_else(|| self.name_any())
    }

    /// Whether the status describes the current spec.
    pub fn is_observed(&self) -> bool {
        let generation = self.metadata.generation;
        generation.is_some() && self.status.as_ref().and_then(|s| s.observed_generation) == generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_name_defaults_to_the_object_name() {
        let spec: EcsClusterSpec = serde_json::from_value(serde_json::json!({})).unwrap();
        let cluster = EcsCluster::new("demo", spec.clone());
        assert_eq!(cluster.cluster_name(), "demo");
        let named = EcsCluster::new("demo", EcsClusterSpec { cluster_name: Some("prod".into()), ..spec });
        assert_eq!(named.cluster_name(), "prod");
        assert_eq!(named.spec.deletion_policy, DeletionPolicy::Delete);
    }

    #[test]
    fn ecs_field_names_round_trip() {
        let json = serde_json::json!({
            "settings": [{"name": "containerInsights", "value": "enhanced"}],
            "capacityProviders": ["FARGATE"],
            "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 2}],
            "tags": [{"key": "team", "value": ""}],
            "deletionPolicy": "Retain"
        });
        let spec: EcsClusterSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.settings[0].value, ContainerInsights::Enhanced);
        assert_eq!(serde_json::to_value(&spec).unwrap(), json);
    }
}
