//! [`EcsCapacityProviderApi`] for the in-memory [`FakeEcs`]: providers with
//! ECS's defaults filled in, and ECS's refusal to delete one that a cluster
//! lists (HTTP 200, `updateStatus: DELETE_FAILED`).

use super::capacity_provider::{EcsCapacityProviderApi, GroupSettings, ProviderConfig, ProviderState, ScalingSettings};
use super::error::EcsError;
use super::fake::FakeEcs;

fn or<T: Clone>(given: &Option<T>, current: &Option<T>) -> Option<T> {
    given.clone().or_else(|| current.clone())
}

/// `given` over `current`, as UpdateCapacityProvider merges.
fn merged(given: &GroupSettings, current: &GroupSettings) -> GroupSettings {
    let scaling = match (&given.managed_scaling, &current.managed_scaling) {
        (Some(g), Some(c)) => Some(ScalingSettings {
            status: or(&g.status, &c.status),
            target_capacity: or(&g.target_capacity, &c.target_capacity),
            minimum_scaling_step_size: or(&g.minimum_scaling_step_size, &c.minimum_scaling_step_size),
            maximum_scaling_step_size: or(&g.maximum_scaling_step_size, &c.maximum_scaling_step_size),
            instance_warmup_period: or(&g.instance_warmup_period, &c.instance_warmup_period),
        }),
        (g, c) => or(g, c),
    };
    GroupSettings {
        managed_scaling: scaling,
        managed_termination_protection: or(
            &given.managed_termination_protection,
            &current.managed_termination_protection,
        ),
        managed_draining: or(&given.managed_draining, &current.managed_draining),
    }
}

fn ecs_defaults() -> GroupSettings {
    GroupSettings {
        managed_scaling: Some(ScalingSettings {
            status: Some("DISABLED".to_owned()),
            target_capacity: Some(100),
            minimum_scaling_step_size: Some(1),
            maximum_scaling_step_size: Some(10_000),
            instance_warmup_period: Some(300),
        }),
        managed_termination_protection: Some("DISABLED".to_owned()),
        managed_draining: Some("ENABLED".to_owned()),
    }
}

fn missing(operation: &'static str) -> EcsError {
    EcsError::NotFound {
        operation,
        code: "ClientException".to_owned(),
        message: "The specified capacity provider does not exist.".to_owned(),
    }
}

impl FakeEcs {
    pub fn provider(&self, name: &str) -> Option<ProviderState> {
        self.lock().providers.get(name).cloned()
    }
}

impl EcsCapacityProviderApi for FakeEcs {
    async fn describe_capacity_provider(&self, name: &str) -> Result<Option<ProviderState>, EcsError> {
        let state = self.enter("DescribeCapacityProviders")?;
        Ok(state.providers.get(name).cloned())
    }

    async fn create_capacity_provider(&self, config: &ProviderConfig) -> Result<ProviderState, EcsError> {
        let mut state = self.enter("CreateCapacityProvider")?;
        if state.providers.get(&config.name).is_some_and(|p| p.status == "ACTIVE") {
            return Err(EcsError::from_code(
                "CreateCapacityProvider",
                "ClientException",
                "The specified capacity provider already exists.".to_owned(),
                Some(400),
            ));
        }
        let provider = ProviderState {
            arn: format!("arn:aws:ecs:us-east-1:123456789012:capacity-provider/{}", config.name),
            name: config.name.clone(),
            status: "ACTIVE".to_owned(),
            update_status: None,
            update_status_reason: None,
            auto_scaling_group_arn: Some(config.auto_scaling_group_arn.clone()),
            group: merged(&config.group, &ecs_defaults()),
            tags: config.tags.clone(),
        };
        state.providers.insert(config.name.clone(), provider.clone());
        Ok(provider)
    }

    async fn update_capacity_provider(&self, name: &str, group: &GroupSettings) -> Result<ProviderState, EcsError> {
        let mut state = self.enter("UpdateCapacityProvider")?;
        let provider = state
            .providers
            .get_mut(name)
            .filter(|p| p.status == "ACTIVE")
            .ok_or_else(|| missing("UpdateCapacityProvider"))?;
        provider.group = merged(group, &provider.group);
        provider.update_status = Some("UPDATE_COMPLETE".to_owned());
        Ok(provider.clone())
    }

    async fn delete_capacity_provider(&self, name: &str) -> Result<ProviderState, EcsError> {
        let mut state = self.enter("DeleteCapacityProvider")?;
        let user = state
            .clusters
            .values()
            .find(|c| c.status == "ACTIVE" && c.capacity_providers.iter().any(|p| p == name))
            .map(|c| c.name.clone());
        let provider = state
            .providers
            .get_mut(name)
            .filter(|p| p.status == "ACTIVE")
            .ok_or_else(|| missing("DeleteCapacityProvider"))?;
        match user {
            Some(cluster) => {
                provider.update_status = Some("DELETE_FAILED".to_owned());
                provider.update_status_reason = Some(format!(
                    "The capacity provider cannot be deleted because it is associated with cluster: {cluster}."
                ));
            }
            None => {
                provider.status = "INACTIVE".to_owned();
                provider.update_status = Some("DELETE_COMPLETE".to_owned());
                provider.update_status_reason = None;
            }
        }
        Ok(provider.clone())
    }
}
