//! Translation between the resource specs, the SDK's shapes and the seam's
//! domain types.
//!
//! The EcsTaskDefinition spec uses ECS's own field names, so the mapping is one
//! to one: every field the spec sets is sent, nothing is invented, and an empty
//! list is sent as absent (ECS treats both alike, and so does the spec hash).
//! Enums cross as their wire names, the same strings ECS's JSON uses.

use std::collections::BTreeMap;
use std::collections::HashMap;

use aws_sdk_ecs::types as sdk;
use aws_sdk_ecs::types::{Cluster, Tag, TaskDefinition};
use serde::Serialize;

use aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput;

use super::error::EcsError;
use super::operations::{ClusterConfig, ClusterState, RevisionStatus, StrategyItem, Tags, TaskDefinitionRevision};
use crate::api::cluster::EcsClusterSpec;
use crate::api::task_definition as api;

/// A spec the SDK cannot express (a required member missing): the same kind
/// of problem as an ECS validation error, caught before the call.
#[derive(Debug, thiserror::Error)]
#[error("the task definition cannot be sent to ECS: {0}")]
pub struct MappingError(String);

impl From<aws_sdk_ecs::error::BuildError> for MappingError {
    fn from(err: aws_sdk_ecs::error::BuildError) -> Self {
        Self(err.to_string())
    }
}

/// The string serde writes for a unit enum variant (ECS's wire name).
fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn map_of(entries: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!entries.is_empty()).then(|| entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}

fn key_value(pair: &api::KeyValuePair) -> sdk::KeyValuePair {
    sdk::KeyValuePair::builder().name(&pair.name).value(&pair.value).build()
}

fn secret(secret: &api::Secret) -> Result<sdk::Secret, MappingError> {
    Ok(sdk::Secret::builder().name(&secret.name).value_from(&secret.value_from).build()?)
}

fn port_mapping(port: &api::PortMapping) -> sdk::PortMapping {
    sdk::PortMapping::builder()
        .container_port(port.container_port)
        .set_host_port(port.host_port)
        .protocol(sdk::TransportProtocol::from(wire(&port.protocol).as_str()))
        .set_name(port.name.clone())
        .set_app_protocol(port.app_protocol.map(|p| sdk::ApplicationProtocol::from(wire(&p).as_str())))
        .build()
}

fn health_check(check: &api::HealthCheck) -> Result<sdk::HealthCheck, MappingError> {
    Ok(sdk::HealthCheck::builder()
        .set_command(Some(check.command.clone()))
        .set_interval(check.interval)
        .set_timeout(check.timeout)
        .set_retries(check.retries)
        .set_start_period(check.start_period)
        .build()?)
}

fn log_configuration(log: &api::LogConfiguration) -> Result<sdk::LogConfiguration, MappingError> {
    Ok(sdk::LogConfiguration::builder()
        .log_driver(sdk::LogDriver::from(wire(&log.log_driver).as_str()))
        .set_options(map_of(&log.options))
        .set_secret_options(non_empty(log.secret_options.iter().map(secret).collect::<Result<_, _>>()?))
        .build()?)
}

fn linux_parameters(params: &api::LinuxParameters) -> sdk::LinuxParameters {
    sdk::LinuxParameters::builder()
        .set_init_process_enabled(params.init_process_enabled)
        .set_shared_memory_size(params.shared_memory_size)
        .set_capabilities(params.capabilities.as_ref().map(|c| {
            sdk::KernelCapabilities::builder()
                .set_add(non_empty(c.add.clone()))
                .set_drop(non_empty(c.drop.clone()))
                .build()
        }))
        .build()
}

fn container(c: &api::ContainerDefinition) -> Result<sdk::ContainerDefinition, MappingError> {
    Ok(sdk::ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .set_cpu(c.cpu)
        .set_memory(c.memory)
        .set_memory_reservation(c.memory_reservation)
        .set_essential(c.essential)
        .set_port_mappings(non_empty(c.port_mappings.iter().map(port_mapping).collect()))
        .set_environment(non_empty(c.environment.iter().map(key_value).collect()))
        .set_environment_files(non_empty(
            c.environment_files
                .iter()
                .map(|f| {
                    sdk::EnvironmentFile::builder()
                        .value(&f.value)
                        .r#type(sdk::EnvironmentFileType::from(wire(&f.type_).as_str()))
                        .build()
                })
                .collect::<Result<_, _>>()?,
        ))
        .set_secrets(non_empty(c.secrets.iter().map(secret).collect::<Result<_, _>>()?))
        .set_command(non_empty(c.command.clone()))
        .set_entry_point(non_empty(c.entry_point.clone()))
        .set_working_directory(c.working_directory.clone())
        .set_user(c.user.clone())
        .set_health_check(c.health_check.as_ref().map(health_check).transpose()?)
        .set_log_configuration(c.log_configuration.as_ref().map(log_configuration).transpose()?)
        .set_depends_on(non_empty(
            c.depends_on
                .iter()
                .map(|d| {
                    sdk::ContainerDependency::builder()
                        .container_name(&d.container_name)
                        .condition(sdk::ContainerCondition::from(wire(&d.condition).as_str()))
                        .build()
                })
                .collect::<Result<_, _>>()?,
        ))
        .set_ulimits(non_empty(
            c.ulimits
                .iter()
                .map(|u| {
                    sdk::Ulimit::builder()
                        .name(sdk::UlimitName::from(u.name.as_str()))
                        .soft_limit(u.soft_limit)
                        .hard_limit(u.hard_limit)
                        .build()
                })
                .collect::<Result<_, _>>()?,
        ))
        .set_mount_points(non_empty(
            c.mount_points
                .iter()
                .map(|m| {
                    sdk::MountPoint::builder()
                        .source_volume(&m.source_volume)
                        .container_path(&m.container_path)
                        .set_read_only(m.read_only)
                        .build()
                })
                .collect(),
        ))
        .set_volumes_from(non_empty(
            c.volumes_from
                .iter()
                .map(|v| {
                    sdk::VolumeFrom::builder().source_container(&v.source_container).set_read_only(v.read_only).build()
                })
                .collect(),
        ))
        .set_links(non_empty(c.links.clone()))
        .set_readonly_root_filesystem(c.readonly_root_filesystem)
        .set_privileged(c.privileged)
        .set_start_timeout(c.start_timeout)
        .set_stop_timeout(c.stop_timeout)
        .set_docker_labels(map_of(&c.docker_labels))
        .set_repository_credentials(
            c.repository_credentials
                .as_ref()
                .map(|r| sdk::RepositoryCredentials::builder().credentials_parameter(&r.credentials_parameter).build())
                .transpose()?,
        )
        .set_linux_parameters(c.linux_parameters.as_ref().map(linux_parameters))
        .build())
}

fn volume(v: &api::Volume) -> Result<sdk::Volume, MappingError> {
    let docker = v.docker_volume_configuration.as_ref().map(|d| {
        sdk::DockerVolumeConfiguration::builder()
            .set_scope(d.scope.map(|s| sdk::Scope::from(wire(&s).as_str())))
            .set_autoprovision(d.autoprovision)
            .set_driver(d.driver.clone())
            .set_driver_opts(map_of(&d.driver_opts))
            .set_labels(map_of(&d.labels))
            .build()
    });
    let efs = v
        .efs_volume_configuration
        .as_ref()
        .map(|e| {
            sdk::EfsVolumeConfiguration::builder()
                .file_system_id(&e.file_system_id)
                .set_root_directory(e.root_directory.clone())
                .set_transit_encryption(
                    e.transit_encryption.map(|t| sdk::EfsTransitEncryption::from(wire(&t).as_str())),
                )
                .set_transit_encryption_port(e.transit_encryption_port)
                .set_authorization_config(e.authorization_config.as_ref().map(|a| {
                    sdk::EfsAuthorizationConfig::builder()
                        .set_access_point_id(a.access_point_id.clone())
                        .set_iam(a.iam.map(|i| sdk::EfsAuthorizationConfigIam::from(wire(&i).as_str())))
                        .build()
                }))
                .build()
        })
        .transpose()?;
    Ok(sdk::Volume::builder()
        .name(&v.name)
        .set_host(
            v.host
                .as_ref()
                .map(|h| sdk::HostVolumeProperties::builder().set_source_path(h.source_path.clone()).build()),
        )
        .set_docker_volume_configuration(docker)
        .set_efs_volume_configuration(efs)
        .set_configured_at_launch(v.configured_at_launch)
        .build())
}

/// The RegisterTaskDefinition request for `spec` in `family`, with `tags`
/// (the spec's own plus the operator's ownership tags) attached.
pub fn register_input(
    spec: &api::EcsTaskDefinitionSpec,
    family: &str,
    tags: &Tags,
) -> Result<RegisterTaskDefinitionInput, MappingError> {
    let containers = spec.container_definitions.iter().map(container).collect::<Result<Vec<_>, _>>()?;
    let volumes = spec.volumes.iter().map(volume).collect::<Result<Vec<_>, _>>()?;
    Ok(RegisterTaskDefinitionInput::builder()
        .family(family)
        .set_container_definitions(Some(containers))
        .set_cpu(spec.cpu.clone())
        .set_memory(spec.memory.clone())
        .set_network_mode(spec.network_mode.map(|m| sdk::NetworkMode::from(wire(&m).as_str())))
        .set_requires_compatibilities(non_empty(
            spec.requires_compatibilities.iter().map(|c| sdk::Compatibility::from(wire(c).as_str())).collect(),
        ))
        .set_execution_role_arn(spec.execution_role_arn.clone())
        .set_task_role_arn(spec.task_role_arn.clone())
        .set_volumes(non_empty(volumes))
        .set_runtime_platform(spec.runtime_platform.as_ref().map(|p| {
            sdk::RuntimePlatform::builder()
                .set_cpu_architecture(p.cpu_architecture.map(|a| sdk::CpuArchitecture::from(wire(&a).as_str())))
                .set_operating_system_family(p.operating_system_family.as_deref().map(sdk::OsFamily::from))
                .build()
        }))
        .set_ephemeral_storage(
            spec.ephemeral_storage
                .as_ref()
                .map(|e| sdk::EphemeralStorage::builder().size_in_gib(e.size_in_gib).build()),
        )
        .set_placement_constraints(non_empty(
            spec.placement_constraints
                .iter()
                .map(|p| {
                    sdk::TaskDefinitionPlacementConstraint::builder()
                        .r#type(sdk::TaskDefinitionPlacementConstraintType::from(wire(&p.type_).as_str()))
                        .expression(&p.expression)
                        .build()
                })
                .collect(),
        ))
        .set_pid_mode(spec.pid_mode.map(|m| sdk::PidMode::from(wire(&m).as_str())))
        .set_ipc_mode(spec.ipc_mode.map(|m| sdk::IpcMode::from(wire(&m).as_str())))
        .set_tags(non_empty(tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()))
        .build()?)
}

/// The spec's tags as a map (the schema keeps keys unique).
pub fn tags_of(tags: &[crate::api::Tag]) -> Tags {
    tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
}

/// The cluster configuration an EcsCluster spec asks for.
pub fn cluster_config(spec: &EcsClusterSpec, name: &str) -> ClusterConfig {
    ClusterConfig {
        name: name.to_owned(),
        settings: spec.settings.iter().map(|s| (wire(&s.name), wire(&s.value))).collect(),
        capacity_providers: spec.capacity_providers.clone(),
        default_strategy: spec
            .default_capacity_provider_strategy
            .iter()
            .map(|item| StrategyItem {
                capacity_provider: item.capacity_provider.clone(),
                weight: item.weight.unwrap_or(0),
                base: item.base.unwrap_or(0),
            })
            .collect(),
        tags: tags_of(&spec.tags),
    }
}

/// Tags as a map (ECS guarantees unique keys; a tag without a key is dropped).
pub fn tags_from_sdk(tags: &[Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
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
        None => super::operations::parse_task_definition_ref(arn).map(|(f, _)| f.to_owned()).unwrap_or_default(),
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

    fn spec(json: serde_json::Value) -> api::EcsTaskDefinitionSpec {
        serde_json::from_value(json).expect("valid spec")
    }

    #[test]
    fn register_input_carries_exactly_the_spec() {
        let spec = spec(serde_json::json!({
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "ephemeralStorage": {"sizeInGiB": 30},
            "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED"}}],
            "containerDefinitions": [{
                "name": "app",
                "image": "nginx:1.27",
                "essential": true,
                "portMappings": [{"containerPort": 80, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
                "environment": [{"name": "MODE", "value": "prod"}],
                "secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/token"}],
                "command": ["nginx", "-g", "daemon off;"],
                "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"], "interval": 10},
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "web"}},
                "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
                "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
                "mountPoints": [{"sourceVolume": "data", "containerPath": "/data", "readOnly": true}],
                "dockerLabels": {"a": "b"},
                "linuxParameters": {"initProcessEnabled": true, "capabilities": {"add": ["NET_ADMIN"]}}
            }, {"name": "init", "image": "busybox", "essential": false}]
        }));
        let tags: Tags = [("k".to_owned(), "v".to_owned())].into();
        let input = register_input(&spec, "web", &tags).unwrap();
        assert_eq!(input.family(), Some("web"));
        assert_eq!(input.network_mode().map(|m| m.as_str()), Some("awsvpc"));
        assert_eq!(input.requires_compatibilities()[0].as_str(), "FARGATE");
        assert_eq!((input.cpu(), input.memory()), (Some("256"), Some("512")));
        assert_eq!(input.runtime_platform().unwrap().cpu_architecture().unwrap().as_str(), "ARM64");
        assert_eq!(input.ephemeral_storage().unwrap().size_in_gib(), 30);
        let efs = input.volumes()[0].efs_volume_configuration().unwrap();
        assert_eq!(efs.file_system_id(), "fs-1");
        assert_eq!(efs.transit_encryption().unwrap().as_str(), "ENABLED");
        assert_eq!(input.tags()[0].key(), Some("k"));

        let app = &input.container_definitions()[0];
        assert_eq!(app.name(), Some("app"));
        assert_eq!(app.essential(), Some(true));
        let port = &app.port_mappings()[0];
        assert_eq!((port.container_port(), port.host_port()), (Some(80), None));
        assert_eq!(port.protocol().unwrap().as_str(), "tcp");
        assert_eq!(port.app_protocol().unwrap().as_str(), "http");
        assert_eq!(app.environment()[0].value(), Some("prod"));
        assert_eq!(app.secrets()[0].value_from(), "arn:aws:ssm:us-east-1:123456789012:parameter/token");
        assert_eq!(app.command(), ["nginx", "-g", "daemon off;"]);
        assert_eq!(app.health_check().unwrap().interval(), Some(10));
        let log = app.log_configuration().unwrap();
        assert_eq!(log.log_driver().as_str(), "awslogs");
        assert_eq!(log.options().unwrap().get("awslogs-group").map(String::as_str), Some("web"));
        assert_eq!(app.depends_on()[0].condition().as_str(), "SUCCESS");
        assert_eq!(app.ulimits()[0].name().as_str(), "nofile");
        assert_eq!(app.mount_points()[0].read_only(), Some(true));
        assert_eq!(app.docker_labels().unwrap().get("a").map(String::as_str), Some("b"));
        let linux = app.linux_parameters().unwrap();
        assert_eq!(linux.init_process_enabled(), Some(true));
        assert_eq!(linux.capabilities().unwrap().add(), ["NET_ADMIN"]);

        let init = &input.container_definitions()[1];
        assert!(init.port_mappings().is_empty() && init.environment().is_empty());
        assert_eq!(init.essential(), Some(false));
        assert!(init.memory().is_none(), "nothing is invented");
    }

    #[test]
    fn cluster_config_uses_ecs_names_and_defaults() {
        let spec: EcsClusterSpec = serde_json::from_value(serde_json::json!({
            "settings": [{"name": "containerInsights", "value": "enhanced"}],
            "capacityProviders": ["FARGATE"],
            "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "base": 1}],
        }))
        .unwrap();
        let config = cluster_config(&spec, "prod");
        assert_eq!(config.settings.get("containerInsights").map(String::as_str), Some("enhanced"));
        assert_eq!(config.default_strategy[0].weight, 0);
        assert_eq!(config.default_strategy[0].base, 1);
    }

    #[test]
    fn cluster_counts_and_settings() {
        let cluster = Cluster::builder()
            .cluster_arn("arn:aws:ecs:us-east-1:123456789012:cluster/prod")
            .cluster_name("prod")
            .status("ACTIVE")
            .running_tasks_count(3)
            .active_services_count(2)
            .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("enabled").build())
            .build();
        let state = cluster_from_sdk(&cluster);
        assert_eq!(state.running_tasks, 3);
        assert_eq!(state.active_services, 2);
        assert_eq!(state.settings.get("containerInsights").map(String::as_str), Some("enabled"));
    }
}
