//! An in-memory [`EcsServiceApi`] for the EcsService reconciler's unit tests:
//! ECS's service rules as far as the reconciler relies on them (names unique
//! per cluster among ACTIVE and DRAINING services, deployments started by
//! the fields that start them, DRAINING on delete), a log of every call,
//! scripted failures, and hooks to play the scheduler (finish or fail a
//! rollout, log an event, change a service behind the operator's back).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use k8s_openapi::jiff::Timestamp;

use super::error::EcsError;
use super::operations::Tags;
use super::service::{
    ACTIVE, DESCRIBE_BATCH, DRAINING, DescribedServices, EcsServiceApi, INACTIVE, ServiceCreate, ServiceDescription,
    ServiceEventRecord, ServiceUpdate,
};
use crate::api::service::{Deployment, DeploymentConfiguration, RolloutState};

const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:123456789012";

#[derive(Default)]
struct State {
    /// By (cluster, name).
    services: BTreeMap<(String, String), ServiceDescription>,
    calls: Vec<&'static str>,
    failures: HashMap<&'static str, VecDeque<EcsError>>,
    next_id: u64,
}

/// The fake.
#[derive(Default)]
pub struct FakeServices {
    state: Mutex<State>,
}

fn cluster_name(cluster: &str) -> String {
    cluster.rsplit('/').next().unwrap_or(cluster).to_owned()
}

fn invalid(operation: &'static str, message: &str) -> EcsError {
    EcsError::from_code(operation, "InvalidParameterException", message.to_owned(), Some(400))
}

fn not_found(operation: &'static str) -> EcsError {
    EcsError::from_code(operation, "ServiceNotFoundException", "Service not found.".to_owned(), Some(400))
}

impl FakeServices {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enter(&self, operation: &'static str) -> Result<std::sync::MutexGuard<'_, State>, EcsError> {
        let mut state = self.lock();
        state.calls.push(operation);
        if let Some(err) = state.failures.get_mut(operation).and_then(VecDeque::pop_front) {
            return Err(err);
        }
        Ok(state)
    }

    /// Makes the next call of `operation` fail with `error`.
    pub fn fail_next(&self, operation: &'static str, error: EcsError) {
        self.lock().failures.entry(operation).or_default().push_back(error);
    }

    pub fn calls(&self) -> Vec<&'static str> {
        self.lock().calls.clone()
    }

    pub fn count(&self, operation: &str) -> usize {
        self.lock().calls.iter().filter(|c| **c == operation).count()
    }

    pub fn forget_calls(&self) {
        self.lock().calls.clear();
    }

    pub fn service(&self, cluster: &str, name: &str) -> Option<ServiceDescription> {
        self.lock().services.get(&(cluster_name(cluster), name.to_owned())).cloned()
    }

    /// Changes a service as someone else would (console, CLI, the scheduler).
    pub fn edit(&self, cluster: &str, name: &str, edit: impl FnOnce(&mut ServiceDescription)) {
        if let Some(service) = self.lock().services.get_mut(&(cluster_name(cluster), name.to_owned())) {
            edit(service);
        }
    }

    /// Creates a service as another tool would, with `tags`.
    pub fn create_foreign(&self, cluster: &str, name: &str, task_definition: &str, tags: Tags) {
        let mut state = self.lock();
        let mut service = Self::new_service(&mut state, cluster, name, task_definition, 1);
        service.tags = Some(tags);
        state.services.insert((cluster_name(cluster), name.to_owned()), service);
    }

    /// Plays the scheduler: the PRIMARY deployment reaches its desired count
    /// and completes, the others drain away, and ECS logs it.
    pub fn complete_rollout(&self, cluster: &str, name: &str) {
        self.edit(cluster, name, |service| {
            service.deployments.truncate(1);
            let desired = service.desired_count;
            if let Some(primary) = service.deployments.first_mut() {
                primary.running_count = Some(desired);
                primary.pending_count = Some(0);
                primary.rollout_state = Some(RolloutState::Completed);
                primary.rollout_state_reason = Some(format!("ECS deployment {} completed.", primary.id));
            }
            service.running_count = desired;
            service.pending_count = 0;
            let id = service.deployments.first().map(|d| d.id.clone()).unwrap_or_default();
            let sname = service.name.clone();
            push_event(service, format!("(service {sname}) (deployment {id}) deployment completed."));
            push_event(service, format!("(service {sname}) has reached a steady state."));
        });
    }

    /// Plays the circuit breaker: the PRIMARY deployment fails; with
    /// `rollback` the previous deployment becomes PRIMARY again.
    pub fn fail_rollout(&self, cluster: &str, name: &str, rollback: bool) {
        self.edit(cluster, name, |service| {
            let sname = service.name.clone();
            let Some(primary) = service.deployments.first_mut() else { return };
            primary.rollout_state = Some(RolloutState::Failed);
            primary.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
            primary.failed_tasks = Some(3);
            let failed_id = primary.id.clone();
            push_event(
                service,
                format!("(service {sname}) (deployment {failed_id}) deployment failed: tasks failed to start."),
            );
            if rollback && service.deployments.len() > 1 {
                let mut previous = service.deployments.remove(1);
                let mut failed = service.deployments.remove(0);
                failed.status = Some("ACTIVE".into());
                previous.status = Some("PRIMARY".into());
                previous.rollout_state = Some(RolloutState::InProgress);
                previous.rollout_state_reason =
                    Some(format!("ECS deployment circuit breaker: rolling back to deploymentId {}.", previous.id));
                service.task_definition = previous.task_definition.clone();
                let previous_id = previous.id.clone();
                service.deployments = vec![previous, failed];
                push_event(service, format!("(service {sname}) rolling back to deployment {previous_id}."));
            }
        });
    }

    fn new_service(
        state: &mut State,
        cluster: &str,
        name: &str,
        task_definition: &str,
        desired: i32,
    ) -> ServiceDescription {
        let cluster = cluster_name(cluster);
        let mut service = ServiceDescription {
            arn: format!("{ARN_PREFIX}:service/{cluster}/{name}"),
            name: name.to_owned(),
            cluster_arn: format!("{ARN_PREFIX}:cluster/{cluster}"),
            status: ACTIVE.to_owned(),
            desired_count: desired,
            task_definition: Some(task_definition.to_owned()),
            deployment_configuration: Some(DeploymentConfiguration {
                maximum_percent: Some(200),
                minimum_healthy_percent: Some(100),
                deployment_circuit_breaker: None,
                alarms: None,
            }),
            tags: Some(Tags::new()),
            ..ServiceDescription::default()
        };
        start_deployment(state, &mut service);
        service
    }
}

fn push_event(service: &mut ServiceDescription, message: String) {
    let n = service.events.len();
    service.events.insert(
        0,
        ServiceEventRecord {
            id: format!("{}-event-{n}", service.name),
            created_at: Timestamp::from_second(1_800_000_000 + n as i64).unwrap_or(Timestamp::UNIX_EPOCH),
            message,
        },
    );
    service.events.truncate(100);
}

fn start_deployment(state: &mut State, service: &mut ServiceDescription) {
    state.next_id += 1;
    for d in &mut service.deployments {
        d.status = Some("ACTIVE".into());
        d.desired_count = Some(0);
    }
    let id = format!("ecs-svc/{}", state.next_id);
    let completed = service.desired_count == 0;
    service.deployments.insert(
        0,
        Deployment {
            id: id.clone(),
            status: Some("PRIMARY".into()),
            task_definition: service.task_definition.clone(),
            desired_count: Some(service.desired_count),
            pending_count: Some(0),
            running_count: Some(0),
            failed_tasks: Some(0),
            rollout_state: Some(if completed { RolloutState::Completed } else { RolloutState::InProgress }),
            rollout_state_reason: Some(format!("ECS deployment {id} in progress.")),
            launch_type: service.launch_type.clone(),
            platform_version: None,
            created_at: None,
            updated_at: None,
        },
    );
    if completed {
        service.deployments.truncate(1);
    }
}

impl EcsServiceApi for FakeServices {
    async fn create_service(&self, input: &ServiceCreate) -> Result<ServiceDescription, EcsError> {
        const OP: &str = "CreateService";
        let mut state = self.enter(OP)?;
        let key = (cluster_name(&input.cluster), input.name.clone());
        match state.services.get(&key).map(|s| s.status.as_str()) {
            Some(ACTIVE) => {
                return Err(EcsError::Conflict {
                    operation: OP,
                    code: "InvalidParameterException".into(),
                    message: "Creation of service was not idempotent.".into(),
                });
            }
            Some(DRAINING) => {
                return Err(EcsError::Conflict {
                    operation: OP,
                    code: "InvalidParameterException".into(),
                    message: "Unable to Start a service that is still Draining.".into(),
                });
            }
            _ => {}
        }
        if input.task_definition.contains("missing") {
            return Err(EcsError::from_code(OP, "ClientException", "TaskDefinition not found.".into(), Some(400)));
        }
        let desired = input.desired_count.unwrap_or(0);
        let mut service = Self::new_service(&mut state, &input.cluster, &input.name, &input.task_definition, desired);
        if let Some(config) = &input.spec.deployment_configuration {
            service.deployment_configuration = Some(config.as_ref().clone());
        }
        service.network_configuration = input.spec.network_configuration.clone();
        let spec = &input.spec;
        service.capacity_provider_strategy = spec.capacity_provider_strategy.clone().unwrap_or_default();
        service.platform_version = spec.platform_version.clone();
        service.load_balancers = spec.load_balancers.clone();
        service.service_registries = spec.service_registries.clone();
        service.placement_constraints = spec.placement_constraints.clone();
        service.placement_strategy = spec.placement_strategy.clone().unwrap_or_default();
        service.health_check_grace_period_seconds = spec.health_check_grace_period_seconds;
        service.enable_execute_command = spec.enable_execute_command.unwrap_or(false);
        service.enable_ecs_managed_tags = spec.enable_ecs_managed_tags.unwrap_or(false);
        service.propagate_tags = spec.propagate_tags.as_ref().map(crate::ecs::service_mapping::wire);
        service.tags = Some(input.tags.clone());
        state.services.insert(key, service.clone());
        Ok(service)
    }

    async fn update_service(
        &self,
        cluster: &str,
        name: &str,
        update: &ServiceUpdate,
    ) -> Result<ServiceDescription, EcsError> {
        const OP: &str = "UpdateService";
        let mut state = self.enter(OP)?;
        let key = (cluster_name(cluster), name.to_owned());
        let mut service = state.services.get(&key).cloned().ok_or_else(|| not_found(OP))?;
        if service.status != ACTIVE {
            return Err(EcsError::from_code(
                OP,
                "ServiceNotActiveException",
                "Service was not ACTIVE.".into(),
                Some(400),
            ));
        }
        if update.desired_count.is_some_and(|n| n < 0) {
            return Err(invalid(OP, "desiredCount must be 0 or greater."));
        }
        let mut redeploy = update.force_new_deployment;
        if let Some(td) = &update.task_definition {
            if td.contains("missing") {
                return Err(EcsError::from_code(OP, "ClientException", "TaskDefinition not found.".into(), Some(400)));
            }
            if service.task_definition.as_deref() != Some(td) {
                service.task_definition = Some(td.clone());
                redeploy = true;
            }
        }
        if let Some(n) = update.desired_count {
            service.desired_count = n;
            if let Some(primary) = service.deployments.first_mut() {
                primary.desired_count = Some(n);
            }
        }
        if let Some(config) = &update.deployment_configuration {
            service.deployment_configuration = Some(config.clone());
        }
        if let Some(network) = &update.network_configuration
            && service.network_configuration.as_ref() != Some(network)
        {
            service.network_configuration = Some(network.clone());
            redeploy = true;
        }
        if let Some(v) = update.health_check_grace_period_seconds {
            service.health_check_grace_period_seconds = Some(v);
        }
        if let Some(items) = &update.capacity_provider_strategy {
            redeploy |= *items != service.capacity_provider_strategy;
            service.capacity_provider_strategy = items.clone();
        }
        if let Some(v) = &update.platform_version {
            redeploy |= service.platform_version.as_ref() != Some(v);
            service.platform_version = Some(v.clone());
        }
        if let Some(lbs) = &update.load_balancers {
            redeploy |= *lbs != service.load_balancers;
            service.load_balancers = lbs.clone();
        }
        if let Some(registries) = &update.service_registries {
            redeploy |= *registries != service.service_registries;
            service.service_registries = registries.clone();
        }
        if let Some(c) = &update.placement_constraints {
            service.placement_constraints = c.clone();
        }
        if let Some(s) = &update.placement_strategy {
            service.placement_strategy = s.clone();
        }
        if let Some(v) = update.enable_execute_command {
            service.enable_execute_command = v;
        }
        if let Some(v) = update.enable_ecs_managed_tags {
            service.enable_ecs_managed_tags = v;
        }
        if let Some(v) = &update.propagate_tags {
            service.propagate_tags = Some(v.clone());
        }
        if redeploy {
            start_deployment(&mut state, &mut service);
        }
        state.services.insert(key, service.clone());
        let mut answer = service;
        answer.tags = None;
        Ok(answer)
    }

    async fn describe_services(
        &self,
        cluster: &str,
        names: &[String],
        with_tags: bool,
    ) -> Result<DescribedServices, EcsError> {
        let state = self.enter("DescribeServices")?;
        if names.is_empty() || names.len() > DESCRIBE_BATCH {
            return Err(invalid("DescribeServices", "services can have between 1 and 10 items."));
        }
        let cluster = cluster_name(cluster);
        let mut described = DescribedServices::default();
        for name in names {
            match state.services.get(&(cluster.clone(), name.clone())) {
                Some(service) => {
                    let mut service = service.clone();
                    if !with_tags {
                        service.tags = None;
                    }
                    described.services.push(service);
                }
                None => described.missing.push(name.clone()),
            }
        }
        Ok(described)
    }

    async fn delete_service(&self, cluster: &str, name: &str, force: bool) -> Result<ServiceDescription, EcsError> {
        const OP: &str = "DeleteService";
        let mut state = self.enter(OP)?;
        let service = state.services.get_mut(&(cluster_name(cluster), name.to_owned())).ok_or_else(|| not_found(OP))?;
        if service.status == ACTIVE {
            if service.desired_count > 0 && !force {
                return Err(invalid(OP, "The service cannot be stopped while it is scaled above 0."));
            }
            service.desired_count = 0;
            service.status = if service.running_count > 0 { DRAINING } else { INACTIVE }.to_owned();
        }
        let mut answer = service.clone();
        answer.tags = None;
        Ok(answer)
    }

    async fn tag_service(&self, arn: &str, tags: &Tags) -> Result<(), EcsError> {
        let mut state = self.enter("TagResource")?;
        let service = state.services.values_mut().find(|s| s.arn == arn).ok_or_else(|| not_found("TagResource"))?;
        service.tags.get_or_insert_with(Tags::new).extend(tags.clone());
        Ok(())
    }

    async fn untag_service(&self, arn: &str, keys: &[String]) -> Result<(), EcsError> {
        let mut state = self.enter("UntagResource")?;
        let service = state.services.values_mut().find(|s| s.arn == arn).ok_or_else(|| not_found("UntagResource"))?;
        if let Some(tags) = service.tags.as_mut() {
            for key in keys {
                tags.remove(key);
            }
        }
        Ok(())
    }
}
