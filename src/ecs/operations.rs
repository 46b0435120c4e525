//! The ECS operations the task-definition and cluster reconcilers use ([`EcsApi`]), the
//! values they pass and get back, and the two ECS naming rules every layer needs (tags,
//! task definition references). The EcsService's operations are in the `service` module.

use std::collections::BTreeMap;
use std::future::Future;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;

use super::error::EcsError;
use crate::api::task_definition::EcsTaskDefinitionSpec;

/// Tags as ECS stores them: unique keys, case-sensitive.
pub type Tags = BTreeMap<String, String>;

/// One revision of a task definition, as far as the reconcilers care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionRevision {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub status: RevisionStatus,
    pub tags: Tags,
}

/// A revision and what it runs, as the spec that registers it (in
/// [`canonical`](super::readback::canonical) form).
#[derive(Debug, Clone, PartialEq)]
pub struct RevisionContent {
    pub revision: TaskDefinitionRevision,
    pub spec: EcsTaskDefinitionSpec,
}

/// ECS's task definition lifecycle: ACTIVE → INACTIVE → DELETE_IN_PROGRESS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevisionStatus {
    Active,
    Inactive,
    DeleteInProgress,
    /// A status this build does not know; treated as "not usable".
    Other(String),
}

impl RevisionStatus {
    pub fn parse(s: &str) -> Self {
        match s {
            "ACTIVE" => Self::Active,
            "INACTIVE" => Self::Inactive,
            "DELETE_IN_PROGRESS" => Self::DeleteInProgress,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// Which revisions a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionFilter {
    Active,
    Inactive,
}

/// One page of a paginated listing; `next_token` is `None` on the last page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// A per-item failure of a batch call (ECS answers 200 with `failures[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchFailure {
    pub arn: Option<String>,
    pub reason: String,
    pub detail: Option<String>,
}

/// One item of a capacity provider strategy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrategyItem {
    pub capacity_provider: String,
    pub weight: i32,
    pub base: i32,
}

/// The cluster configuration the operator manages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterConfig {
    pub name: String,
    /// Cluster settings by name (e.g. `containerInsights` → `enabled`).
    pub settings: BTreeMap<String, String>,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Vec<StrategyItem>,
    pub tags: Tags,
}

/// A cluster as ECS describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClusterState {
    pub arn: String,
    pub name: String,
    /// ACTIVE, PROVISIONING, DEPROVISIONING, FAILED or INACTIVE.
    pub status: String,
    pub settings: BTreeMap<String, String>,
    pub capacity_providers: Vec<String>,
    pub default_strategy: Vec<StrategyItem>,
    pub tags: Tags,
    pub active_services: i32,
    pub running_tasks: i32,
    pub pending_tasks: i32,
    pub registered_container_instances: i32,
}

/// The [`EcsApi`] operations that change ECS: what "no ECS write" counts. (The service's
/// writes, CreateService, UpdateService and DeleteService, are the `service` module's.)
pub const WRITE_OPERATIONS: [&str; 9] = [
    "RegisterTaskDefinition",
    "DeregisterTaskDefinition",
    "DeleteTaskDefinitions",
    "CreateCluster",
    "UpdateClusterSettings",
    "PutClusterCapacityProviders",
    "TagResource",
    "UntagResource",
    "DeleteCluster",
];

/// The ECS operations the reconcilers use.
///
/// Every method is one ECS call (or, for listings, one page), so that callers
/// control pagination and every call is visible in the metrics.
pub trait EcsApi: Send + Sync + 'static {
    /// Answers when ECS is reachable and the credentials work (ListClusters, one result).
    fn ping(&self) -> impl Future<Output = Result<(), EcsError>> + Send;

    fn register_task_definition(
        &self,
        input: RegisterTaskDefinitionInput,
    ) -> impl Future<Output = Result<TaskDefinitionRevision, EcsError>> + Send;

    /// Describes a revision with its tags; `None` when ECS does not know it.
    fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<Option<TaskDefinitionRevision>, EcsError>> + Send;

    /// Describes a revision with its tags and content; `None` when ECS does not know it.
    /// A bare family names its latest ACTIVE revision, as in ECS.
    fn describe_task_definition_content(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<Option<RevisionContent>, EcsError>> + Send;

    /// One page of the ARNs of `family`'s revisions (that family exactly, not
    /// the prefix ECS matches), newest first.
    fn list_task_definitions(
        &self,
        family: &str,
        filter: RevisionFilter,
        next_token: Option<String>,
    ) -> impl Future<Output = Result<Page<String>, EcsError>> + Send;

    fn deregister_task_definition(&self, arn: &str) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// Deletes up to 10 INACTIVE revisions; returns ECS's per-item failures.
    fn delete_task_definitions(
        &self,
        arns: &[String],
    ) -> impl Future<Output = Result<Vec<BatchFailure>, EcsError>> + Send;

    /// Describes a cluster with settings and tags; `None` when ECS does not know it.
    fn describe_cluster(&self, name: &str) -> impl Future<Output = Result<Option<ClusterState>, EcsError>> + Send;

    fn create_cluster(&self, config: &ClusterConfig) -> impl Future<Output = Result<ClusterState, EcsError>> + Send;

    fn update_cluster_settings(
        &self,
        name: &str,
        settings: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// Replaces both the providers and the default strategy (ECS has no partial update).
    fn put_cluster_capacity_providers(
        &self,
        name: &str,
        providers: &[String],
        strategy: &[StrategyItem],
    ) -> impl Future<Output = Result<(), EcsError>> + Send;

    fn tag_resource(&self, arn: &str, tags: &Tags) -> impl Future<Output = Result<(), EcsError>> + Send;

    fn untag_resource(&self, arn: &str, keys: &[String]) -> impl Future<Output = Result<(), EcsError>> + Send;

    fn delete_cluster(&self, name: &str) -> impl Future<Output = Result<(), EcsError>> + Send;
}

/// Splits `arn:aws:ecs:R:A:task-definition/<family>:<revision>` (or
/// `<family>:<revision>`) into family and revision.
pub fn parse_task_definition_ref(reference: &str) -> Option<(&str, i32)> {
    let tail = reference.rsplit_once("task-definition/").map_or(reference, |(_, t)| t);
    let (family, revision) = tail.rsplit_once(':')?;
    if family.is_empty() || family.contains('/') {
        return None;
    }
    Some((family, revision.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_revision_arns() {
        assert_eq!(
            parse_task_definition_ref("arn:aws:ecs:us-east-1:123456789012:task-definition/web-api:12"),
            Some(("web-api", 12))
        );
        assert_eq!(parse_task_definition_ref("web:3"), Some(("web", 3)));
        assert_eq!(parse_task_definition_ref("web"), None);
        assert_eq!(parse_task_definition_ref("arn:aws:ecs:r:a:task-definition/web:x"), None);
    }
}
