//! [`EcsServiceApi`] over the real `aws-sdk-ecs` client (see [`SdkEcs`]).

use aws_sdk_ecs::types::{LaunchType, PropagateTags, SchedulingStrategy, ServiceField, Tag};

use super::error::EcsError;
use super::operations::{EcsApi, Tags};
use super::sdk::{SdkEcs, keep};
use super::service::{DescribedServices, EcsServiceApi, ServiceCreate, ServiceDescription, ServiceUpdate};
use super::service_mapping::{
    constraints_to_sdk, deployment_configuration_to_sdk, load_balancers_to_sdk, network_to_sdk, registries_to_sdk,
    service_from_sdk, service_name_from_arn, strategies_to_sdk, strategy_to_sdk, wire,
};

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

fn missing_service(operation: &'static str) -> EcsError {
    EcsError::Other {
        operation,
        code: "MissingService".to_owned(),
        message: "the answer carried no service".to_owned(),
    }
}

/// CreateService's refusals that are about ECS's state, not the request: a
/// same-named service still draining, or one created concurrently with
/// another request. Both can succeed later, so they are conflicts.
fn create_conflicts(err: EcsError) -> EcsError {
    match err {
        EcsError::Rejected { operation, code, message }
            if message.contains("still Draining") || message.contains("not idempotent") =>
        {
            EcsError::Conflict { operation, code, message }
        }
        other => other,
    }
}

impl EcsServiceApi for SdkEcs {
    async fn create_service(&self, input: &ServiceCreate) -> Result<ServiceDescription, EcsError> {
        const OP: &str = "CreateService";
        let spec = &input.spec;
        let mut request = self
            .client
            .create_service()
            .cluster(&input.cluster)
            .service_name(&input.name)
            .task_definition(&input.task_definition)
            .set_desired_count(input.desired_count)
            .set_launch_type(spec.launch_type.map(|l| LaunchType::from(wire(&l).as_str())))
            .set_platform_version(spec.platform_version.clone())
            .scheduling_strategy(SchedulingStrategy::from(wire(&spec.scheduling_strategy).as_str()))
            .set_health_check_grace_period_seconds(spec.health_check_grace_period_seconds)
            .set_enable_execute_command(spec.enable_execute_command)
            .set_enable_ecs_managed_tags(spec.enable_ecs_managed_tags)
            .set_propagate_tags(spec.propagate_tags.map(|p| PropagateTags::from(wire(&p).as_str())));
        if let Some(items) = &spec.capacity_provider_strategy {
            request = request.set_capacity_provider_strategy(Some(strategy_to_sdk(items, OP)?));
        }
        if let Some(network) = &spec.network_configuration {
            request = request.network_configuration(network_to_sdk(network, OP)?);
        }
        if let Some(config) = &spec.deployment_configuration {
            request = request.deployment_configuration(deployment_configuration_to_sdk(config, OP)?);
        }
        if !spec.load_balancers.is_empty() {
            request = request.set_load_balancers(Some(load_balancers_to_sdk(&spec.load_balancers)));
        }
        if !spec.service_registries.is_empty() {
            request = request.set_service_registries(Some(registries_to_sdk(&spec.service_registries)));
        }
        if !spec.placement_constraints.is_empty() {
            request = request.set_placement_constraints(Some(constraints_to_sdk(&spec.placement_constraints)));
        }
        if let Some(strategies) = &spec.placement_strategy {
            request = request.set_placement_strategy(Some(strategies_to_sdk(strategies)));
        }
        if !input.tags.is_empty() {
            request = request.set_tags(Some(sdk_tags(&input.tags)));
        }
        let output = self.call(OP, request.send(), create_conflicts).await?;
        let service = output.service.as_ref().ok_or_else(|| missing_service(OP))?;
        let mut described = service_from_sdk(service, false);
        // CreateService tags the service with what it was given.
        described.tags = Some(input.tags.clone());
        Ok(described)
    }

    async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        update: &ServiceUpdate,
    ) -> Result<ServiceDescription, EcsError> {
        const OP: &str = "UpdateService";
        let mut request = self
            .client
            .update_service()
            .cluster(cluster)
            .service(name)
            .set_desired_count(update.desired_count)
            .set_task_definition(update.task_definition.clone())
            .set_platform_version(update.platform_version.clone())
            .set_health_check_grace_period_seconds(update.health_check_grace_period_seconds)
            .set_enable_execute_command(update.enable_execute_command)
            .set_enable_ecs_managed_tags(update.enable_ecs_managed_tags)
            .set_propagate_tags(update.propagate_tags.as_deref().map(PropagateTags::from));
        if update.force_new_deployment {
            request = request.force_new_deployment(true);
        }
        if let Some(items) = &update.capacity_provider_strategy {
            request = request.set_capacity_provider_strategy(Some(strategy_to_sdk(items, OP)?));
        }
        if let Some(network) = &update.network_configuration {
            request = request.network_configuration(network_to_sdk(network, OP)?);
        }
        if let Some(config) = &update.deployment_configuration {
            request = request.deployment_configuration(deployment_configuration_to_sdk(config, OP)?);
        }
        if let Some(lbs) = &update.load_balancers {
            request = request.set_load_balancers(Some(load_balancers_to_sdk(lbs)));
        }
        if let Some(registries) = &update.service_registries {
            request = request.set_service_registries(Some(registries_to_sdk(registries)));
        }
        if let Some(constraints) = &update.placement_constraints {
            request = request.set_placement_constraints(Some(constraints_to_sdk(constraints)));
        }
        if let Some(strategies) = &update.placement_strategy {
            request = request.set_placement_strategy(Some(strategies_to_sdk(strategies)));
        }
        let output = self.call(OP, request.send(), keep).await?;
        let service = output.service.as_ref().ok_or_else(|| missing_service(OP))?;
        Ok(service_from_sdk(service, false))
    }

    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
        with_tags: bool,
    ) -> Result<DescribedServices, EcsError> {
        let mut request = self.client.describe_services().cluster(cluster).set_services(Some(names.to_vec()));
        if with_tags {
            request = request.include(ServiceField::Tags);
        }
        let output = self.call("DescribeServices", request.send(), keep).await?;
        Ok(DescribedServices {
            services: output.services().iter().map(|s| service_from_sdk(s, with_tags)).collect(),
            missing: output
                .failures()
                .iter()
                .filter(|f| f.reason() == Some("MISSING"))
                .filter_map(|f| f.arn().map(|arn| service_name_from_arn(arn).to_owned()))
                .collect(),
        })
    }

    async fn delete_service(&self, cluster: &str, name: &str, force: bool) -> Result<ServiceDescription, EcsError> {
        const OP: &str = "DeleteService";
        let request = self.client.delete_service().cluster(cluster).service(name).force(force);
        let output = self.call(OP, request.send(), keep).await?;
        let service = output.service.as_ref().ok_or_else(|| missing_service(OP))?;
        Ok(service_from_sdk(service, false))
    }

    // A service's tags are a resource's tags: the same two calls as the
    // EcsApi seam's.
    async fn tag_service(&self, arn: &str, tags: &Tags) -> Result<(), EcsError> {
        EcsApi::tag_resource(self, arn, tags).await
    }

    async fn untag_service(&self, arn: &str, keys: &[String]) -> Result<(), EcsError> {
        EcsApi::untag_resource(self, arn, keys).await
    }
}
