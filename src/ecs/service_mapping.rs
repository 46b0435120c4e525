//! Translation of services between the EcsService types and the SDK's shapes.
//!
//! Both directions use ECS's field names, so each function is a field-for-field
//! copy; enums cross as their wire names. What ECS reports back is mapped into
//! the spec's own types so that drift detection compares like with like.

use aws_sdk_ecs::types as sdk;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::EcsError;
use super::mapping::tags_from_sdk;
use super::service::{ServiceDescription, ServiceEventRecord};
use crate::api::CapacityProviderStrategyItem;
use crate::api::service::{
    AwsVpcConfiguration, Deployment, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, LoadBalancer,
    NetworkConfiguration, PlacementConstraint, PlacementStrategy, RolloutState, ServiceRegistry,
};

/// The string serde writes for a unit enum variant (ECS's wire name).
pub fn wire<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// The enum variant whose wire name is `name`; `None` for a value this build does not know.
pub fn from_wire<T: DeserializeOwned>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

fn invalid(operation: &'static str, err: impl std::fmt::Display) -> EcsError {
    EcsError::Rejected { operation, code: "InvalidParameterException".to_owned(), message: err.to_string() }
}

pub fn network_to_sdk(
    network: &NetworkConfiguration,
    operation: &'static str,
) -> Result<sdk::NetworkConfiguration, EcsError> {
    let vpc = &network.awsvpc_configuration;
    let awsvpc = sdk::AwsVpcConfiguration::builder()
        .set_subnets(Some(vpc.subnets.clone()))
        .set_security_groups((!vpc.security_groups.is_empty()).then(|| vpc.security_groups.clone()))
        .set_assign_public_ip(vpc.assign_public_ip.map(|a| sdk::AssignPublicIp::from(wire(&a).as_str())))
        .build()
        .map_err(|e| invalid(operation, e))?;
    Ok(sdk::NetworkConfiguration::builder().awsvpc_configuration(awsvpc).build())
}

pub fn deployment_configuration_to_sdk(
    config: &DeploymentConfiguration,
    operation: &'static str,
) -> Result<sdk::DeploymentConfiguration, EcsError> {
    let breaker = config
        .deployment_circuit_breaker
        .as_ref()
        .map(|b| sdk::DeploymentCircuitBreaker::builder().enable(b.enable).rollback(b.rollback).build());
    let alarms = match &config.alarms {
        Some(a) => Some(
            sdk::DeploymentAlarms::builder()
                .set_alarm_names(Some(a.alarm_names.clone()))
                .enable(a.enable)
                .rollback(a.rollback)
                .build()
                .map_err(|e| invalid(operation, e))?,
        ),
        None => None,
    };
    Ok(sdk::DeploymentConfiguration::builder()
        .set_maximum_percent(config.maximum_percent)
        .set_minimum_healthy_percent(config.minimum_healthy_percent)
        .set_deployment_circuit_breaker(breaker)
        .set_alarms(alarms)
        .build())
}

pub fn strategy_to_sdk(
    items: &[CapacityProviderStrategyItem],
    operation: &'static str,
) -> Result<Vec<sdk::CapacityProviderStrategyItem>, EcsError> {
    items
        .iter()
        .map(|item| {
            sdk::CapacityProviderStrategyItem::builder()
                .capacity_provider(&item.capacity_provider)
                .set_weight(item.weight)
                .set_base(item.base)
                .build()
                .map_err(|e| invalid(operation, e))
        })
        .collect()
}

pub fn load_balancers_to_sdk(lbs: &[LoadBalancer]) -> Vec<sdk::LoadBalancer> {
    lbs.iter()
        .map(|lb| {
            sdk::LoadBalancer::builder()
                .set_target_group_arn(lb.target_group_arn.clone())
                .set_load_balancer_name(lb.load_balancer_name.clone())
                .container_name(&lb.container_name)
                .container_port(lb.container_port)
                .build()
        })
        .collect()
}

pub fn registries_to_sdk(registries: &[ServiceRegistry]) -> Vec<sdk::ServiceRegistry> {
    registries
        .iter()
        .map(|r| {
            sdk::ServiceRegistry::builder()
                .registry_arn(&r.registry_arn)
                .set_port(r.port)
                .set_container_name(r.container_name.clone())
                .set_container_port(r.container_port)
                .build()
        })
        .collect()
}

pub fn constraints_to_sdk(constraints: &[PlacementConstraint]) -> Vec<sdk::PlacementConstraint> {
    constraints
        .iter()
        .map(|c| {
            sdk::PlacementConstraint::builder()
                .r#type(sdk::PlacementConstraintType::from(wire(&c.type_).as_str()))
                .set_expression(c.expression.clone())
                .build()
        })
        .collect()
}

pub fn strategies_to_sdk(strategies: &[PlacementStrategy]) -> Vec<sdk::PlacementStrategy> {
    strategies
        .iter()
        .map(|s| {
            sdk::PlacementStrategy::builder()
                .r#type(sdk::PlacementStrategyType::from(wire(&s.type_).as_str()))
                .set_field(s.field.clone())
                .build()
        })
        .collect()
}

/// An SDK timestamp as a Kubernetes one.
pub fn time_from_sdk(at: &aws_sdk_ecs::primitives::DateTime) -> Option<Time> {
    timestamp_from_sdk(at).map(Time)
}

pub fn timestamp_from_sdk(at: &aws_sdk_ecs::primitives::DateTime) -> Option<Timestamp> {
    Timestamp::new(at.secs(), i32::try_from(at.subsec_nanos()).unwrap_or(0)).ok()
}

fn network_from_sdk(network: &sdk::NetworkConfiguration) -> Option<NetworkConfiguration> {
    let vpc = network.awsvpc_configuration()?;
    Some(NetworkConfiguration {
        awsvpc_configuration: AwsVpcConfiguration {
            subnets: vpc.subnets().to_vec(),
            security_groups: vpc.security_groups().to_vec(),
            assign_public_ip: vpc.assign_public_ip().and_then(|a| from_wire(a.as_str())),
        },
    })
}

fn deployment_configuration_from_sdk(config: &sdk::DeploymentConfiguration) -> DeploymentConfiguration {
    DeploymentConfiguration {
        maximum_percent: config.maximum_percent(),
        minimum_healthy_percent: config.minimum_healthy_percent(),
        deployment_circuit_breaker: config
            .deployment_circuit_breaker()
            .map(|b| DeploymentCircuitBreaker { enable: b.enable(), rollback: b.rollback() }),
        alarms: config.alarms().map(|a| DeploymentAlarms {
            alarm_names: a.alarm_names().to_vec(),
            enable: a.enable(),
            rollback: a.rollback(),
        }),
    }
}

fn deployment_from_sdk(d: &sdk::Deployment) -> Deployment {
    Deployment {
        id: d.id().unwrap_or_default().to_owned(),
        status: d.status().map(str::to_owned),
        task_definition: d.task_definition().map(str::to_owned),
        desired_count: Some(d.desired_count()),
        pending_count: Some(d.pending_count()),
        running_count: Some(d.running_count()),
        failed_tasks: Some(d.failed_tasks()),
        rollout_state: d.rollout_state().and_then(|s| from_wire::<RolloutState>(s.as_str())),
        rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
        launch_type: d.launch_type().map(|l| l.as_str().to_owned()),
        platform_version: d.platform_version().map(str::to_owned),
        created_at: d.created_at().and_then(time_from_sdk),
        updated_at: d.updated_at().and_then(time_from_sdk),
    }
}

/// A service as the reconciler sees it; `with_tags` says whether the call asked for tags.
pub fn service_from_sdk(service: &sdk::Service, with_tags: bool) -> ServiceDescription {
    ServiceDescription {
        arn: service.service_arn().unwrap_or_default().to_owned(),
        name: service.service_name().unwrap_or_default().to_owned(),
        cluster_arn: service.cluster_arn().unwrap_or_default().to_owned(),
        status: service.status().unwrap_or_default().to_owned(),
        desired_count: service.desired_count(),
        running_count: service.running_count(),
        pending_count: service.pending_count(),
        task_definition: service.task_definition().map(str::to_owned),
        launch_type: service.launch_type().map(|l| l.as_str().to_owned()),
        capacity_provider_strategy: service
            .capacity_provider_strategy()
            .iter()
            .map(|item| CapacityProviderStrategyItem {
                capacity_provider: item.capacity_provider().to_owned(),
                weight: Some(item.weight()),
                base: Some(item.base()),
            })
            .collect(),
        platform_version: service.platform_version().map(str::to_owned),
        network_configuration: service.network_configuration().and_then(network_from_sdk),
        deployment_configuration: service.deployment_configuration().map(deployment_configuration_from_sdk),
        load_balancers: service
            .load_balancers()
            .iter()
            .map(|lb| LoadBalancer {
                target_group_arn: lb.target_group_arn().map(str::to_owned),
                load_balancer_name: lb.load_balancer_name().map(str::to_owned),
                container_name: lb.container_name().unwrap_or_default().to_owned(),
                container_port: lb.container_port().unwrap_or_default(),
            })
            .collect(),
        service_registries: service
            .service_registries()
            .iter()
            .map(|r| ServiceRegistry {
                registry_arn: r.registry_arn().unwrap_or_default().to_owned(),
                port: r.port(),
                container_name: r.container_name().map(str::to_owned),
                container_port: r.container_port(),
            })
            .collect(),
        placement_constraints: service
            .placement_constraints()
            .iter()
            .filter_map(|c| {
                Some(PlacementConstraint {
                    type_: from_wire(c.r#type()?.as_str())?,
                    expression: c.expression().map(str::to_owned),
                })
            })
            .collect(),
        placement_strategy: service
            .placement_strategy()
            .iter()
            .filter_map(|s| {
                Some(PlacementStrategy { type_: from_wire(s.r#type()?.as_str())?, field: s.field().map(str::to_owned) })
            })
            .collect(),
        health_check_grace_period_seconds: service.health_check_grace_period_seconds(),
        enable_execute_command: service.enable_execute_command(),
        enable_ecs_managed_tags: service.enable_ecs_managed_tags(),
        propagate_tags: service.propagate_tags().map(|p| p.as_str().to_owned()),
        scheduling_strategy: service.scheduling_strategy().map(|s| s.as_str().to_owned()),
        deployments: service.deployments().iter().map(deployment_from_sdk).collect(),
        events: service
            .events()
            .iter()
            .filter_map(|e| {
                Some(ServiceEventRecord {
                    id: e.id()?.to_owned(),
                    created_at: e.created_at().and_then(timestamp_from_sdk)?,
                    message: e.message().unwrap_or_default().to_owned(),
                })
            })
            .collect(),
        tags: with_tags.then(|| tags_from_sdk(service.tags())),
    }
}

/// The service name in a DescribeServices failure's ARN (`…:service/<cluster>/<name>`
/// or the short `…:service/<name>`).
pub fn service_name_from_arn(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::{AssignPublicIp, PlacementConstraintType, PlacementStrategyType};

    #[test]
    fn network_configuration_round_trips() {
        let network = NetworkConfiguration {
            awsvpc_configuration: AwsVpcConfiguration {
                subnets: vec!["subnet-1".into(), "subnet-2".into()],
                security_groups: vec!["sg-1".into()],
                assign_public_ip: Some(AssignPublicIp::Enabled),
            },
        };
        let sdk = network_to_sdk(&network, "CreateService").unwrap();
        assert_eq!(sdk.awsvpc_configuration().unwrap().assign_public_ip(), Some(&sdk::AssignPublicIp::Enabled));
        assert_eq!(network_from_sdk(&sdk), Some(network));
    }

    #[test]
    fn deployment_configuration_round_trips() {
        let config = DeploymentConfiguration {
            maximum_percent: Some(150),
            minimum_healthy_percent: Some(50),
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker { enable: true, rollback: true }),
            alarms: Some(DeploymentAlarms { alarm_names: vec!["high-5xx".into()], enable: true, rollback: false }),
        };
        let sdk = deployment_configuration_to_sdk(&config, "UpdateService").unwrap();
        assert_eq!(deployment_configuration_from_sdk(&sdk), config);
    }

    #[test]
    fn placement_enums_cross_as_wire_names() {
        let constraints = constraints_to_sdk(&[PlacementConstraint {
            type_: PlacementConstraintType::MemberOf,
            expression: Some("attribute:ecs.instance-type =~ t3.*".into()),
        }]);
        assert_eq!(constraints[0].r#type(), Some(&sdk::PlacementConstraintType::MemberOf));
        let strategies = strategies_to_sdk(&[PlacementStrategy {
            type_: PlacementStrategyType::Binpack,
            field: Some("memory".into()),
        }]);
        assert_eq!(strategies[0].r#type(), Some(&sdk::PlacementStrategyType::Binpack));
        assert_eq!(from_wire::<PlacementStrategyType>("spread"), Some(PlacementStrategyType::Spread));
        assert_eq!(from_wire::<PlacementStrategyType>("sideways"), None);
    }

    #[test]
    fn a_described_service_keeps_deployments_events_and_tags() {
        let at = aws_sdk_ecs::primitives::DateTime::from_secs(1_800_000_000);
        let service = sdk::Service::builder()
            .service_arn("arn:aws:ecs:us-east-1:000000000000:service/prod/web")
            .service_name("web")
            .status("ACTIVE")
            .desired_count(3)
            .running_count(2)
            .task_definition("arn:aws:ecs:us-east-1:000000000000:task-definition/web:4")
            .deployments(
                sdk::Deployment::builder()
                    .id("ecs-svc/123")
                    .status("PRIMARY")
                    .running_count(2)
                    .desired_count(3)
                    .rollout_state(sdk::DeploymentRolloutState::InProgress)
                    .created_at(at)
                    .build(),
            )
            .events(
                sdk::ServiceEvent::builder()
                    .id("e-1")
                    .created_at(at)
                    .message("(service web) has started 1 tasks: (task abc).")
                    .build(),
            )
            .tags(sdk::Tag::builder().key("team").value("payments").build())
            .build();
        let described = service_from_sdk(&service, true);
        assert_eq!(described.primary().map(|d| d.id.as_str()), Some("ecs-svc/123"));
        assert_eq!(described.deployments[0].rollout_state, Some(RolloutState::InProgress));
        assert_eq!(described.events[0].created_at.as_second(), 1_800_000_000);
        assert_eq!(described.tags.unwrap().get("team").map(String::as_str), Some("payments"));
        assert_eq!(service_from_sdk(&service, false).tags, None);
        assert_eq!(service_name_from_arn("arn:aws:ecs:r:a:service/prod/web"), "web");
    }
}
