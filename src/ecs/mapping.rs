//! Translation between the SDK's shapes and the seam's domain types.

use aws_sdk_ecs::types::{Cluster, Tag, TaskDefinition};

use super::{ClusterState, EcsError, RevisionStatus, StrategyItem, Tags, TaskDefinitionRevision};

/// Tags as a map (ECS guarantees unique keys; a tag without a key is dropped).
pub fn tags_from_sdk(tags: &[Tag]) -> Tags {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned())))
        .collect()
}

/// The revision ECS returned, with the tags that came beside it.
pub fn revision_from_sdk(
    definition: &TaskDefinition,
    tags: &[Tag],
    operation: &'static str,
) -> Result<TaskDefinitionRevision, EcsError> {
    let arn = definition.task_definition_arn().ok_or_else(|| EcsError::Other {
        operation,
        code: "MissingTaskDefinitionArn".to_owned(),
        message: "the task definition in the answer has no ARN".to_owned(),
    })?;
    let family = match definition.family() {
        Some(f) => f.to_owned(),
        None => super::parse_task_definition_ref(arn)
            .map(|(f, _)| f.to_owned())
            .unwrap_or_default(),
    };
    Ok(TaskDefinitionRevision {
        arn: arn.to_owned(),
        family,
        revision: definition.revision(),
        status: RevisionStatus::parse(definition.status().map(|s| s.as_str()).unwrap_or("ACTIVE")),
        tags: tags_from_sdk(tags),
    })
}

pub fn cluster_from_sdk(cluster: &Cluster) -> ClusterState {
    ClusterState {
        arn: cluster.cluster_arn().unwrap_or_default().to_owned(),
        name: cluster.cluster_name().unwrap_or_default().to_owned(),
        status: cluster.status().unwrap_or_default().to_owned(),
        settings: cluster
            .settings()
            .iter()
            .filter_map(|s| Some((s.name()?.as_str().to_owned(), s.value()?.to_owned())))
            .collect(),
        capacity_providers: cluster.capacity_providers().to_vec(),
        default_strategy: cluster
            .default_capacity_provider_strategy()
            .iter()
            .map(|item| StrategyItem {
                capacity_provider: item.capacity_provider().to_owned(),
                weight: item.weight(),
                base: item.base(),
            })
            .collect(),
        tags: tags_from_sdk(cluster.tags()),
        active_services: cluster.active_services_count(),
        running_tasks: cluster.running_tasks_count(),
        pending_tasks: cluster.pending_tasks_count(),
        registered_container_instances: cluster.registered_container_instances_count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName, TaskDefinitionStatus};

    #[test]
    fn revision_keeps_identity_status_and_tags() {
        let definition = TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:4")
            .revision(4)
            .status(TaskDefinitionStatus::Inactive)
            .build();
        let tags = [Tag::builder().key("ecs-bridge.dev/spec-hash").value("abc").build()];
        let revision = revision_from_sdk(&definition, &tags, "DescribeTaskDefinition").unwrap();
        assert_eq!(revision.family, "web");
        assert_eq!(revision.revision, 4);
        assert_eq!(revision.status, RevisionStatus::Inactive);
        assert_eq!(revision.tags.get("ecs-bridge.dev/spec-hash").map(String::as_str), Some("abc"));
    }

    #[test]
    fn revision_without_arn_is_an_error() {
        let definition = TaskDefinition::builder().revision(1).build();
        assert!(revision_from_sdk(&definition, &[], "RegisterTaskDefinition").is_err());
    }

    #[test]
    fn cluster_counts_and_settings() {
        let cluster = Cluster::builder()
            .cluster_arn("arn:aws:ecs:us-east-1:123456789012:cluster/prod")
            .cluster_name("prod")
            .status("ACTIVE")
            .running_tasks_count(3)
            .active_services_count(2)
            .settings(
                ClusterSetting::builder()
                    .name(ClusterSettingName::ContainerInsights)
                    .value("enabled")
                    .build(),
            )
            .build();
        let state = cluster_from_sdk(&cluster);
        assert_eq!(state.running_tasks, 3);
        assert_eq!(state.active_services, 2);
        assert_eq!(state.settings.get("containerInsights").map(String::as_str), Some("enabled"));
    }
}
