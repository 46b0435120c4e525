//! The way back from ECS to a spec: a registered task definition as the
//! EcsTaskDefinition spec that would register it ([`task_definition_spec`]), and
//! the spec with ECS's defaults left out ([`canonical`]), so that what ECS
//! describes and what a person writes compare equal when they mean the same.
//!
//! `ecs-bridge import` writes the canonical form (the YAML a person would
//! write); `ecs-bridge diff` and the controller's adoption compare canonical
//! forms. ECS fills defaults in what it describes (`essential: true`, container
//! `cpu: 0`, a `hostPort` equal to the `containerPort` under awsvpc, `tcp`),
//! and a spec may spell them out or not: both are brought to "left out".

use std::collections::BTreeMap;
use std::collections::HashMap;

use aws_sdk_ecs::types as sdk;
use serde::de::DeserializeOwned;

use serde_json::json;

use super::mapping::tags_from_sdk;
use super::operations::{ClusterState, Tags};
use super::service::ServiceDescription;
use crate::api::cluster::EcsClusterSpec;
use crate::api::service::{AssignPublicIp, DeploymentConfiguration, EcsServiceSpec};
use crate::api::task_definition as api;

/// The Fargate platform version ECS uses when a service names none.
const DEFAULT_PLATFORM_VERSION: &str = "LATEST";

/// A value ECS described that the spec cannot express (an enum value this build
/// does not know, such as a new log driver).
#[derive(Debug, thiserror::Error)]
#[error("ECS describes {field} = {value:?}, which the spec cannot express")]
pub struct ReadbackError {
    pub field: &'static str,
    pub value: String,
}

/// The spec's enum for ECS's wire name (the same strings the spec's YAML uses).
fn from_wire<T: DeserializeOwned>(field: &'static str, value: &str) -> Result<T, ReadbackError> {
    serde_json::from_value(serde_json::Value::String(value.to_owned()))
        .map_err(|_| ReadbackError { field, value: value.to_owned() })
}

fn opt_wire<T: DeserializeOwned>(field: &'static str, value: Option<&str>) -> Result<Option<T>, ReadbackError> {
    value.map(|v| from_wire(field, v)).transpose()
}

fn sorted(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn secret(s: &sdk::Secret) -> api::Secret {
    api::Secret { name: s.name().to_owned(), value_from: s.value_from().to_owned() }
}

fn port_mapping(p: &sdk::PortMapping) -> Result<api::PortMapping, ReadbackError> {
    Ok(api::PortMapping {
        container_port: p.container_port().unwrap_or_default(),
        host_port: p.host_port(),
        protocol: opt_wire("portMappings.protocol", p.protocol().map(|x| x.as_str()))?.unwrap_or_default(),
        name: p.name().map(str::to_owned),
        app_protocol: opt_wire("portMappings.appProtocol", p.app_protocol().map(|x| x.as_str()))?,
    })
}

fn log_configuration(l: &sdk::LogConfiguration) -> Result<api::LogConfiguration, ReadbackError> {
    Ok(api::LogConfiguration {
        log_driver: from_wire("logConfiguration.logDriver", l.log_driver().as_str())?,
        options: sorted(l.options()),
        secret_options: l.secret_options().iter().map(secret).collect(),
    })
}

fn container(c: &sdk::ContainerDefinition) -> Result<api::ContainerDefinition, ReadbackError> {
    Ok(api::ContainerDefinition {
        name: c.name().unwrap_or_default().to_owned(),
        image: c.image().unwrap_or_default().to_owned(),
        cpu: Some(c.cpu()),
        memory: c.memory(),
        memory_reservation: c.memory_reservation(),
        essential: c.essential(),
        port_mappings: c.port_mappings().iter().map(port_mapping).collect::<Result<_, _>>()?,
        environment: c
            .environment()
            .iter()
            .map(|e| api::KeyValuePair {
                name: e.name().unwrap_or_default().to_owned(),
                value: e.value().unwrap_or_default().to_owned(),
            })
            .collect(),
        environment_files: c
            .environment_files()
            .iter()
            .map(|f| {
                Ok(api::EnvironmentFile {
                    value: f.value().to_owned(),
                    type_: from_wire("environmentFiles.type", f.r#type().as_str())?,
                })
            })
            .collect::<Result<_, _>>()?,
        secrets: c.secrets().iter().map(secret).collect(),
        command: c.command().to_vec(),
        entry_point: c.entry_point().to_vec(),
        working_directory: c.working_directory().map(str::to_owned),
        user: c.user().map(str::to_owned),
        health_check: c.health_check().map(|h| api::HealthCheck {
            command: h.command().to_vec(),
            interval: h.interval(),
            timeout: h.timeout(),
            retries: h.retries(),
            start_period: h.start_period(),
        }),
        log_configuration: c.log_configuration().map(log_configuration).transpose()?,
        depends_on: c
            .depends_on()
            .iter()
            .map(|d| {
                Ok(api::ContainerDependency {
                    container_name: d.container_name().to_owned(),
                    condition: from_wire("dependsOn.condition", d.condition().as_str())?,
                })
            })
            .collect::<Result<_, _>>()?,
        ulimits: c
            .ulimits()
            .iter()
            .map(|u| api::Ulimit {
                name: u.name().as_str().to_owned(),
                soft_limit: u.soft_limit(),
                hard_limit: u.hard_limit(),
            })
            .collect(),
        mount_points: c
            .mount_points()
            .iter()
            .map(|m| api::MountPoint {
                source_volume: m.source_volume().unwrap_or_default().to_owned(),
                container_path: m.container_path().unwrap_or_default().to_owned(),
                read_only: m.read_only(),
            })
            .collect(),
        volumes_from: c
            .volumes_from()
            .iter()
            .map(|v| api::VolumeFrom {
                source_container: v.source_container().unwrap_or_default().to_owned(),
                read_only: v.read_only(),
            })
            .collect(),
        links: c.links().to_vec(),
        readonly_root_filesystem: c.readonly_root_filesystem(),
        privileged: c.privileged(),
        start_timeout: c.start_timeout(),
        stop_timeout: c.stop_timeout(),
        docker_labels: sorted(c.docker_labels()),
        repository_credentials: c
            .repository_credentials()
            .map(|r| api::RepositoryCredentials { credentials_parameter: r.credentials_parameter().to_owned() }),
        linux_parameters: c.linux_parameters().map(|l| api::LinuxParameters {
            init_process_enabled: l.init_process_enabled(),
            shared_memory_size: l.shared_memory_size(),
            capabilities: l
                .capabilities()
                .map(|k| api::KernelCapabilities { add: k.add().to_vec(), drop: k.drop().to_vec() }),
        }),
    })
}

fn volume(v: &sdk::Volume) -> Result<api::Volume, ReadbackError> {
    Ok(api::Volume {
        name: v.name().unwrap_or_default().to_owned(),
        host: v.host().map(|h| api::HostVolumeProperties { source_path: h.source_path().map(str::to_owned) }),
        docker_volume_configuration: v
            .docker_volume_configuration()
            .map(|d| {
                Ok::<_, ReadbackError>(api::DockerVolumeConfiguration {
                    scope: opt_wire("dockerVolumeConfiguration.scope", d.scope().map(|s| s.as_str()))?,
                    autoprovision: d.autoprovision(),
                    driver: d.driver().map(str::to_owned),
                    driver_opts: sorted(d.driver_opts()),
                    labels: sorted(d.labels()),
                })
            })
            .transpose()?,
        efs_volume_configuration: v
            .efs_volume_configuration()
            .map(|e| {
                Ok::<_, ReadbackError>(api::EfsVolumeConfiguration {
                    file_system_id: e.file_system_id().to_owned(),
                    root_directory: e.root_directory().map(str::to_owned),
                    transit_encryption: opt_wire("transitEncryption", e.transit_encryption().map(|t| t.as_str()))?,
                    transit_encryption_port: e.transit_encryption_port(),
                    authorization_config: e
                        .authorization_config()
                        .map(|a| {
                            Ok::<_, ReadbackError>(api::EfsAuthorizationConfig {
                                access_point_id: a.access_point_id().map(str::to_owned),
                                iam: opt_wire("authorizationConfig.iam", a.iam().map(|i| i.as_str()))?,
                            })
                        })
                        .transpose()?,
                })
            })
            .transpose()?,
        configured_at_launch: v.configured_at_launch(),
    })
}

/// The spec that registers `definition` (with `tags`), in [`canonical`] form.
/// The operator's own tags (`ecs-bridge.dev/…`) and AWS's (`aws:…`) are left out:
/// nobody writes them in a spec.
pub fn task_definition_spec(
    definition: &sdk::TaskDefinition,
    tags: &[sdk::Tag],
) -> Result<api::EcsTaskDefinitionSpec, ReadbackError> {
    let spec = api::EcsTaskDefinitionSpec {
        family: definition.family().map(str::to_owned),
        container_definitions: definition.container_definitions().iter().map(container).collect::<Result<_, _>>()?,
        cpu: definition.cpu().map(str::to_owned),
        memory: definition.memory().map(str::to_owned),
        network_mode: opt_wire("networkMode", definition.network_mode().map(|m| m.as_str()))?,
        requires_compatibilities: definition
            .requires_compatibilities()
            .iter()
            .map(|c| from_wire("requiresCompatibilities", c.as_str()))
            .collect::<Result<_, _>>()?,
        execution_role_arn: definition.execution_role_arn().map(str::to_owned),
        task_role_arn: definition.task_role_arn().map(str::to_owned),
        volumes: definition.volumes().iter().map(volume).collect::<Result<_, _>>()?,
        runtime_platform: definition
            .runtime_platform()
            .map(|p| {
                Ok::<_, ReadbackError>(api::RuntimePlatform {
                    cpu_architecture: opt_wire("cpuArchitecture", p.cpu_architecture().map(|a| a.as_str()))?,
                    operating_system_family: p.operating_system_family().map(|f| f.as_str().to_owned()),
                })
            })
            .transpose()?,
        ephemeral_storage: definition
            .ephemeral_storage()
            .map(|e| api::EphemeralStorage { size_in_gib: e.size_in_gib() }),
        placement_constraints: definition
            .placement_constraints()
            .iter()
            .map(|p| {
                Ok(api::TaskDefinitionPlacementConstraint {
                    type_: from_wire("placementConstraints.type", p.r#type().map(|t| t.as_str()).unwrap_or_default())?,
                    expression: p.expression().unwrap_or_default().to_owned(),
                })
            })
            .collect::<Result<_, _>>()?,
        pid_mode: opt_wire("pidMode", definition.pid_mode().map(|m| m.as_str()))?,
        ipc_mode: opt_wire("ipcMode", definition.ipc_mode().map(|m| m.as_str()))?,
        tags: user_tags(&tags_from_sdk(tags)),
        revision_history_limit: None,
        deletion_policy: Default::default(),
    };
    Ok(canonical(&spec))
}

/// Tags a person wrote: without the operator's (`ecs-bridge.dev/`) and AWS's (`aws:`).
pub fn user_tags(tags: &Tags) -> Vec<crate::api::Tag> {
    tags.iter()
        .filter(|(k, _)| !k.starts_with("ecs-bridge.dev/") && !k.starts_with("aws:"))
        .map(|(k, v)| crate::api::Tag { key: k.clone(), value: v.clone() })
        .collect()
}

/// `spec` with every value that only restates ECS's default left out: what ECS
/// describes and what a person writes compare equal when they mean the same.
pub fn canonical(spec: &api::EcsTaskDefinitionSpec) -> api::EcsTaskDefinitionSpec {
    let mut spec = spec.clone();
    let mode = spec.network_mode;
    if mode == Some(api::NetworkMode::Bridge) {
        spec.network_mode = None;
    }
    for c in &mut spec.container_definitions {
        if c.essential == Some(true) {
            c.essential = None;
        }
        if c.cpu == Some(0) {
            c.cpu = None;
        }
        for p in &mut c.port_mappings {
            let same_as_container = matches!(mode, Some(api::NetworkMode::Awsvpc | api::NetworkMode::Host))
                && p.host_port == Some(p.container_port);
            if same_as_container || p.host_port == Some(0) {
                p.host_port = None;
            }
        }
        for m in &mut c.mount_points {
            if m.read_only == Some(false) {
                m.read_only = None;
            }
        }
        for v in &mut c.volumes_from {
            if v.read_only == Some(false) {
                v.read_only = None;
            }
        }
        if c.linux_parameters.as_ref().is_some_and(|l| {
            l.init_process_enabled.is_none()
                && l.shared_memory_size.is_none()
                && l.capabilities.as_ref().is_none_or(|k| k.add.is_empty() && k.drop.is_empty())
        }) {
            c.linux_parameters = None;
        }
    }
    for v in &mut spec.volumes {
        if v.host.as_ref().is_some_and(|h| h.source_path.is_none())
            && v.docker_volume_configuration.is_none()
            && v.efs_volume_configuration.is_none()
        {
            // `host: {}` is ECS's way of saying "a Docker-managed volume", as is no field.
            v.host = None;
        }
        if v.configured_at_launch == Some(false) {
            v.configured_at_launch = None;
        }
    }
    spec.tags.sort_by(|a, b| a.key.cmp(&b.key));
    spec
}

/// The EcsService spec that makes ECS keep `service` as it is, in `cluster`, running
/// the EcsTaskDefinition named `task_definition_ref` (ECS's defaults left out). Built
/// as JSON and read as a spec, so fields the spec gains later default as they should.
pub fn service_spec(
    cluster: &str,
    service: &ServiceDescription,
    task_definition_ref: &str,
) -> Result<EcsServiceSpec, ReadbackError> {
    let daemon = service.scheduling_strategy.as_deref() == Some("DAEMON");
    let mut spec = serde_json::Map::new();
    let mut put = |key: &str, value: serde_json::Value| {
        spec.insert(key.to_owned(), value);
    };
    put("cluster", json!(cluster));
    put("taskDefinitionRef", json!({"name": task_definition_ref}));
    if daemon {
        put("schedulingStrategy", json!("DAEMON"));
    } else {
        put("desiredCount", json!(service.desired_count));
    }
    if service.capacity_provider_strategy.is_empty() {
        if let Some(launch_type) = &service.launch_type {
            put("launchType", json!(launch_type));
        }
    } else {
        put("capacityProviderStrategy", to_json(&service.capacity_provider_strategy));
    }
    if let Some(version) = service.platform_version.as_deref().filter(|v| *v != DEFAULT_PLATFORM_VERSION) {
        put("platformVersion", json!(version));
    }
    if let Some(network) = &service.network_configuration {
        let mut network = network.clone();
        if network.awsvpc_configuration.assign_public_ip == Some(AssignPublicIp::Disabled) {
            network.awsvpc_configuration.assign_public_ip = None;
        }
        put("networkConfiguration", to_json(&network));
    }
    if let Some(config) = service.deployment_configuration.as_ref().and_then(|c| deployment_configuration(c, daemon)) {
        put("deploymentConfiguration", to_json(&config));
    }
    for (key, empty, value) in [
        ("loadBalancers", service.load_balancers.is_empty(), to_json(&service.load_balancers)),
        ("serviceRegistries", service.service_registries.is_empty(), to_json(&service.service_registries)),
        ("placementConstraints", service.placement_constraints.is_empty(), to_json(&service.placement_constraints)),
        ("placementStrategy", service.placement_strategy.is_empty(), to_json(&service.placement_strategy)),
    ] {
        if !empty {
            put(key, value);
        }
    }
    if let Some(grace) = service.health_check_grace_period_seconds.filter(|g| *g != 0) {
        put("healthCheckGracePeriodSeconds", json!(grace));
    }
    if service.enable_execute_command {
        put("enableExecuteCommand", json!(true));
    }
    if service.enable_ecs_managed_tags {
        put("enableECSManagedTags", json!(true));
    }
    if let Some(propagate) = service.propagate_tags.as_deref().filter(|p| *p != "NONE") {
        put("propagateTags", json!(propagate));
    }
    let tags = user_tags(&service.tags.clone().unwrap_or_default());
    if !tags.is_empty() {
        put("tags", to_json(&tags));
    }
    serde_json::from_value(serde_json::Value::Object(spec))
        .map_err(|e| ReadbackError { field: "service", value: e.to_string() })
}

/// A deployment configuration without the values that are ECS's defaults; `None`
/// when nothing is left.
fn deployment_configuration(config: &DeploymentConfiguration, daemon: bool) -> Option<DeploymentConfiguration> {
    let (max, min) = if daemon { (100, 0) } else { (200, 100) };
    let config = DeploymentConfiguration {
        maximum_percent: config.maximum_percent.filter(|p| *p != max),
        minimum_healthy_percent: config.minimum_healthy_percent.filter(|p| *p != min),
        deployment_circuit_breaker: config.deployment_circuit_breaker.clone().filter(|b| b.enable || b.rollback),
        alarms: config.alarms.clone().filter(|a| a.enable || a.rollback || !a.alarm_names.is_empty()),
    };
    let empty = config.maximum_percent.is_none()
        && config.minimum_healthy_percent.is_none()
        && config.deployment_circuit_breaker.is_none()
        && config.alarms.is_none();
    (!empty).then_some(config)
}

/// The EcsCluster spec that keeps `cluster` as it is (ECS's defaults left out:
/// Container Insights `disabled`).
pub fn cluster_spec(cluster: &ClusterState) -> Result<EcsClusterSpec, ReadbackError> {
    let mut spec = serde_json::Map::new();
    let settings: Vec<serde_json::Value> = cluster
        .settings
        .iter()
        .filter(|(name, value)| !(name.as_str() == "containerInsights" && value.as_str() == "disabled"))
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    if !settings.is_empty() {
        spec.insert("settings".to_owned(), json!(settings));
    }
    if !cluster.capacity_providers.is_empty() {
        spec.insert("capacityProviders".to_owned(), json!(cluster.capacity_providers));
    }
    let strategy: Vec<serde_json::Value> = cluster
        .default_strategy
        .iter()
        .map(|item| {
            let mut entry = json!({"capacityProvider": item.capacity_provider});
            if item.weight != 0 {
                entry["weight"] = json!(item.weight);
            }
            if item.base != 0 {
                entry["base"] = json!(item.base);
            }
            entry
        })
        .collect();
    if !strategy.is_empty() {
        spec.insert("defaultCapacityProviderStrategy".to_owned(), json!(strategy));
    }
    let tags = user_tags(&cluster.tags);
    if !tags.is_empty() {
        spec.insert("tags".to_owned(), to_json(&tags));
    }
    serde_json::from_value(serde_json::Value::Object(spec))
        .map_err(|e| ReadbackError { field: "cluster", value: e.to_string() })
}

fn to_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::mapping::register_input;

    fn spec(json: serde_json::Value) -> api::EcsTaskDefinitionSpec {
        serde_json::from_value(json).expect("valid spec")
    }

    /// What ECS describes for `input`, with the defaults it fills in.
    fn described(spec: &api::EcsTaskDefinitionSpec) -> sdk::TaskDefinition {
        let input = register_input(spec, "web", &Default::default()).expect("maps");
        let containers = input
            .container_definitions()
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.essential.get_or_insert(true);
                for p in c.port_mappings.iter_mut().flatten() {
                    p.host_port.get_or_insert(p.container_port.unwrap_or_default());
                    p.protocol.get_or_insert(sdk::TransportProtocol::Tcp);
                }
                c
            })
            .collect();
        sdk::TaskDefinition::builder()
            .family("web")
            .set_container_definitions(Some(containers))
            .set_network_mode(input.network_mode().cloned())
            .set_cpu(input.cpu().map(str::to_owned))
            .set_memory(input.memory().map(str::to_owned))
            .set_requires_compatibilities(Some(input.requires_compatibilities().to_vec()))
            .set_volumes(Some(input.volumes().to_vec()))
            .build()
    }

    #[test]
    fn what_ecs_describes_reads_back_as_the_spec_that_registered_it() {
        let written = spec(serde_json::json!({
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "volumes": [{"name": "scratch"}],
            "containerDefinitions": [{
                "name": "app",
                "image": "nginx:1.27",
                "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 80}],
                "environment": [{"name": "MODE", "value": "prod"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "web"}},
                "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp", "readOnly": false}]
            }],
            "tags": [{"key": "team", "value": "a"}]
        }));
        let tags = [
            sdk::Tag::builder().key("team").value("a").build(),
            sdk::Tag::builder().key("ecs-bridge.dev/owner-uid").value("u").build(),
        ];
        let back = task_definition_spec(&described(&written), &tags).expect("reads back");
        assert_eq!(back, canonical(&written));
        let app = &back.container_definitions[0];
        assert_eq!((app.essential, app.cpu, app.port_mappings[0].host_port), (None, None, None), "defaults left out");
        assert_eq!(back.tags.len(), 1, "the operator's tags are not the user's");
    }

    #[test]
    fn a_value_the_spec_cannot_express_is_an_error_not_a_guess() {
        let definition = sdk::TaskDefinition::builder()
            .family("web")
            .container_definitions(
                sdk::ContainerDefinition::builder()
                    .name("app")
                    .image("x")
                    .log_configuration(
                        sdk::LogConfiguration::builder()
                            .log_driver(sdk::LogDriver::from("carrier-pigeon"))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .build();
        let err = task_definition_spec(&definition, &[]).expect_err("unknown driver");
        assert_eq!(err.value, "carrier-pigeon");
    }

    #[test]
    fn canonical_forms_of_the_same_meaning_are_equal() {
        let terse = spec(serde_json::json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64}]}));
        let verbose = spec(serde_json::json!({
            "networkMode": "bridge",
            "containerDefinitions": [{"name": "a", "image": "x", "memory": 64, "essential": true, "cpu": 0}]
        }));
        assert_eq!(canonical(&terse), canonical(&verbose));
        let other = spec(
            serde_json::json!({"containerDefinitions": [{"name": "a", "image": "x", "memory": 64, "essential": false}]}),
        );
        assert_ne!(canonical(&terse), canonical(&other));
    }

    #[test]
    fn a_service_reads_back_without_ecs_defaults() {
        let service = ServiceDescription {
            name: "web".to_owned(),
            desired_count: 2,
            launch_type: Some("EC2".to_owned()),
            platform_version: Some("LATEST".to_owned()),
            deployment_configuration: Some(DeploymentConfiguration {
                maximum_percent: Some(200),
                minimum_healthy_percent: Some(50),
                deployment_circuit_breaker: Some(crate::api::service::DeploymentCircuitBreaker {
                    enable: false,
                    rollback: false,
                }),
                alarms: None,
            }),
            health_check_grace_period_seconds: Some(0),
            propagate_tags: Some("NONE".to_owned()),
            scheduling_strategy: Some("REPLICA".to_owned()),
            tags: Some(
                [("team".to_owned(), "a".to_owned()), ("aws:cloudformation:stack-name".to_owned(), "x".to_owned())]
                    .into(),
            ),
            ..ServiceDescription::default()
        };
        let spec = service_spec("demo", &service, "web").expect("reads back");
        let mut json = serde_json::to_value(&spec).expect("serializes");
        json.as_object_mut().map(|o| o.remove("deletionPolicy"));
        assert_eq!(
            json,
            json!({
                "cluster": "demo",
                "taskDefinitionRef": {"name": "web"},
                "desiredCount": 2,
                "launchType": "EC2",
                "deploymentConfiguration": {"minimumHealthyPercent": 50},
                "schedulingStrategy": "REPLICA",
                "tags": [{"key": "team", "value": "a"}]
            })
        );
    }

    #[test]
    fn a_cluster_reads_back_without_ecs_defaults() {
        let state = ClusterState {
            name: "demo".to_owned(),
            settings: [("containerInsights".to_owned(), "disabled".to_owned())].into(),
            default_strategy: vec![crate::ecs::operations::StrategyItem {
                capacity_provider: "FARGATE".to_owned(),
                weight: 1,
                base: 0,
            }],
            capacity_providers: vec!["FARGATE".to_owned()],
            tags: [("ecs-bridge.dev/owner".to_owned(), "x".to_owned())].into(),
            ..ClusterState::default()
        };
        let spec = cluster_spec(&state).expect("reads back");
        assert!(spec.settings.is_empty() && spec.tags.is_empty());
        assert_eq!(spec.default_capacity_provider_strategy[0].weight, Some(1));
        assert_eq!(spec.default_capacity_provider_strategy[0].base, None);
    }
}
