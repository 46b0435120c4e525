//! Services, deployments and events for the plan's unit tests.

use k8s_openapi::jiff::Timestamp;

use crate::api::service::{
    Deployment, DeploymentCircuitBreaker, DeploymentConfiguration, EcsServiceSpec, RolloutState,
};
use crate::ecs::service::{ServiceDescription, ServiceEventRecord};

pub const TD1: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:1";
pub const TD2: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";

pub fn spec(json: serde_json::Value) -> EcsServiceSpec {
    serde_json::from_value(json).expect("valid spec")
}

pub fn deployment(id: &str, status: &str, td: &str, state: RolloutState) -> Deployment {
    Deployment {
        id: id.into(),
        status: Some(status.into()),
        task_definition: Some(td.into()),
        desired_count: Some(2),
        pending_count: Some(0),
        running_count: Some(2),
        failed_tasks: Some(0),
        rollout_state: Some(state),
        rollout_state_reason: None,
        launch_type: None,
        platform_version: None,
        created_at: None,
        updated_at: None,
    }
}

pub fn service(td: &str, deployments: Vec<Deployment>) -> ServiceDescription {
    ServiceDescription {
        arn: "arn:aws:ecs:us-east-1:1:service/default/web".into(),
        name: "web".into(),
        status: "ACTIVE".into(),
        desired_count: 2,
        running_count: 2,
        task_definition: Some(td.into()),
        deployment_configuration: Some(DeploymentConfiguration {
            maximum_percent: Some(200),
            minimum_healthy_percent: Some(100),
            deployment_circuit_breaker: Some(DeploymentCircuitBreaker { enable: false, rollback: false }),
            alarms: None,
        }),
        deployments,
        ..ServiceDescription::default()
    }
}

pub fn event(id: &str, second: i64, message: &str) -> ServiceEventRecord {
    ServiceEventRecord { id: id.into(), created_at: Timestamp::from_second(second).unwrap(), message: message.into() }
}
