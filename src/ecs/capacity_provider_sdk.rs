//! [`EcsCapacityProviderApi`] over the real `aws-sdk-ecs` client (see [`SdkEcs`]).

use aws_sdk_ecs::types::{
    AutoScalingGroupProvider, AutoScalingGroupProviderUpdate, CapacityProvider, CapacityProviderField, ManagedDraining,
    ManagedScaling, ManagedScalingStatus, ManagedTerminationProtection, Tag,
};

use super::capacity_provider::{EcsCapacityProviderApi, GroupSettings, ProviderConfig, ProviderState, ScalingSettings};
use super::error::EcsError;
use super::mapping::tags_from_sdk;
use super::sdk::{SdkEcs, keep};

fn scaling_to_sdk(scaling: &ScalingSettings) -> ManagedScaling {
    ManagedScaling::builder()
        .set_status(scaling.status.as_deref().map(ManagedScalingStatus::from))
        .set_target_capacity(scaling.target_capacity)
        .set_minimum_scaling_step_size(scaling.minimum_scaling_step_size)
        .set_maximum_scaling_step_size(scaling.maximum_scaling_step_size)
        .set_instance_warmup_period(scaling.instance_warmup_period)
        .build()
}

fn scaling_from_sdk(scaling: &ManagedScaling) -> ScalingSettings {
    ScalingSettings {
        status: scaling.status().map(|s| s.as_str().to_owned()),
        target_capacity: scaling.target_capacity(),
        minimum_scaling_step_size: scaling.minimum_scaling_step_size(),
        maximum_scaling_step_size: scaling.maximum_scaling_step_size(),
        instance_warmup_period: scaling.instance_warmup_period(),
    }
}

fn provider_from_sdk(provider: &CapacityProvider) -> ProviderState {
    let group = provider.auto_scaling_group_provider();
    ProviderState {
        arn: provider.capacity_provider_arn().unwrap_or_default().to_owned(),
        name: provider.name().unwrap_or_default().to_owned(),
        status: provider.status().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        update_status: provider.update_status().map(|s| s.as_str().to_owned()),
        update_status_reason: provider.update_status_reason().map(str::to_owned),
        auto_scaling_group_arn: group.map(|g| g.auto_scaling_group_arn().to_owned()),
        group: GroupSettings {
            managed_scaling: group.and_then(|g| g.managed_scaling()).map(scaling_from_sdk),
            managed_termination_protection: group
                .and_then(|g| g.managed_termination_protection())
                .map(|p| p.as_str().to_owned()),
            managed_draining: group.and_then(|g| g.managed_draining()).map(|d| d.as_str().to_owned()),
        },
        tags: tags_from_sdk(provider.tags()),
    }
}

/// ECS answers an unknown (or deleted) provider with a ClientException ("The
/// specified capacity provider does not exist"), not a NotFound shape.
fn unknown_provider_is_not_found(err: EcsError) -> EcsError {
    match err {
        EcsError::Rejected { operation, code, message } if message.contains("does not exist") => {
            EcsError::NotFound { operation, code, message }
        }
        other => other,
    }
}

fn answered(operation: &'static str, provider: Option<&CapacityProvider>) -> Result<ProviderState, EcsError> {
    provider.map(provider_from_sdk).ok_or_else(|| EcsError::Other {
        operation,
        code: "MissingCapacityProvider".to_owned(),
        message: "ECS answered without the capacity provider".to_owned(),
    })
}

impl EcsCapacityProviderApi for SdkEcs {
    async fn describe_capacity_provider(&self, name: &str) -> Result<Option<ProviderState>, EcsError> {
        let request =
            self.client.describe_capacity_providers().capacity_providers(name).include(CapacityProviderField::Tags);
        let output = self.call("DescribeCapacityProviders", request.send(), keep).await?;
        Ok(output.capacity_providers().iter().find(|p| p.name() == Some(name)).map(provider_from_sdk))
    }

    async fn create_capacity_provider(&self, config: &ProviderConfig) -> Result<ProviderState, EcsError> {
        const OP: &str = "CreateCapacityProvider";
        let group = AutoScalingGroupProvider::builder()
            .auto_scaling_group_arn(&config.auto_scaling_group_arn)
            .set_managed_scaling(config.group.managed_scaling.as_ref().map(scaling_to_sdk))
            .set_managed_termination_protection(
                config.group.managed_termination_protection.as_deref().map(ManagedTerminationProtection::from),
            )
            .set_managed_draining(config.group.managed_draining.as_deref().map(ManagedDraining::from))
            .build()
            .map_err(|e| EcsError::Rejected {
                operation: OP,
                code: "InvalidParameter".to_owned(),
                message: e.to_string(),
            })?;
        let tags: Vec<Tag> = config.tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let request = self
            .client
            .create_capacity_provider()
            .name(&config.name)
            .auto_scaling_group_provider(group)
            .set_tags((!tags.is_empty()).then_some(tags));
        let output = self.call(OP, request.send(), keep).await?;
        answered(OP, output.capacity_provider())
    }

    async fn update_capacity_provider(&self, name: &str, group: &GroupSettings) -> Result<ProviderState, EcsError> {
        const OP: &str = "UpdateCapacityProvider";
        let update = AutoScalingGroupProviderUpdate::builder()
            .set_managed_scaling(group.managed_scaling.as_ref().map(scaling_to_sdk))
            .set_managed_termination_protection(
                group.managed_termination_protection.as_deref().map(ManagedTerminationProtection::from),
            )
            .set_managed_draining(group.managed_draining.as_deref().map(ManagedDraining::from))
            .build();
        let request = self.client.update_capacity_provider().name(name).auto_scaling_group_provider(update);
        let output = self.call(OP, request.send(), unknown_provider_is_not_found).await?;
        answered(OP, output.capacity_provider())
    }

    async fn delete_capacity_provider(&self, name: &str) -> Result<ProviderState, EcsError> {
        const OP: &str = "DeleteCapacityProvider";
        let request = self.client.delete_capacity_provider().capacity_provider(name);
        let output = self.call(OP, request.send(), unknown_provider_is_not_found).await?;
        answered(OP, output.capacity_provider())
    }
}
