//! [`EcsTaskApi`] over the real `aws-sdk-ecs` client (see [`SdkEcs`]).

use aws_sdk_ecs::types::{DesiredStatus, LaunchType, PropagateTags, Tag};

use super::error::EcsError;
use super::operations::{BatchFailure, Tags};
use super::sdk::{SdkEcs, keep};
use super::service_mapping::{constraints_to_sdk, network_to_sdk, strategies_to_sdk, strategy_to_sdk, wire};
use super::task::{DescribedTasks, EcsTaskApi, Launched, TaskDefinitionContainers, TaskRun};
use super::task_mapping::{containers_from_sdk, overrides_to_sdk, task_from_sdk};

fn sdk_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

/// DescribeTaskDefinition answers an unknown revision with a ClientException
/// ("Unable to describe task definition."), not a NotFound shape.
fn unknown_revision_is_not_found(err: EcsError) -> EcsError {
    match err {
        EcsError::Rejected { operation, code, message } if code == "ClientException" => {
            EcsError::NotFound { operation, code, message }
        }
        other => other,
    }
}

impl EcsTaskApi for SdkEcs {
    async fn task_definition_containers(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinitionContainers>, EcsError> {
        const OP: &str = "DescribeTaskDefinition";
        let request = self.client.describe_task_definition().task_definition(task_definition);
        match self.call(OP, request.send(), unknown_revision_is_not_found).await {
            Ok(output) => output.task_definition.as_ref().map(|d| containers_from_sdk(d, OP)).transpose(),
            Err(EcsError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    async fn run_task(&self, input: &TaskRun) -> Result<Launched, EcsError> {
        const OP: &str = "RunTask";
        let spec = &input.spec;
        let mut request = self
            .client
            .run_task()
            .cluster(&input.cluster)
            .task_definition(&input.task_definition)
            .count(spec.count)
            .client_token(&input.client_token)
            .started_by(&input.started_by)
            .set_launch_type(spec.launch_type.map(|l| LaunchType::from(wire(&l).as_str())))
            .set_platform_version(spec.platform_version.clone())
            .set_group(spec.group.clone())
            .set_enable_execute_command(spec.enable_execute_command)
            .set_enable_ecs_managed_tags(spec.enable_ecs_managed_tags)
            .set_propagate_tags(spec.propagate_tags.map(|p| PropagateTags::from(wire(&p).as_str())));
        if let Some(items) = &spec.capacity_provider_strategy {
            request = request.set_capacity_provider_strategy(Some(strategy_to_sdk(items, OP)?));
        }
        if let Some(network) = &spec.network_configuration {
            request = request.network_configuration(network_to_sdk(network, OP)?);
        }
        if let Some(overrides) = &spec.overrides {
            request = request.overrides(overrides_to_sdk(overrides));
        }
        if !spec.placement_constraints.is_empty() {
            request = request.set_placement_constraints(Some(constraints_to_sdk(&spec.placement_constraints)));
        }
        if !spec.placement_strategy.is_empty() {
            request = request.set_placement_strategy(Some(strategies_to_sdk(&spec.placement_strategy)));
        }
        if !input.tags.is_empty() {
            request = request.set_tags(Some(sdk_tags(&input.tags)));
        }
        let output = self.call(OP, request.send(), keep).await?;
        Ok(Launched {
            tasks: output.tasks().iter().map(task_from_sdk).collect(),
            failures: output
                .failures()
                .iter()
                .map(|f| BatchFailure {
                    arn: f.arn().map(str::to_owned),
                    reason: f.reason().unwrap_or_default().to_owned(),
                    detail: f.detail().map(str::to_owned),
                })
                .collect(),
        })
    }

    async fn describe_tasks(&self, cluster: &str, arns: &[String]) -> Result<DescribedTasks, EcsError> {
        let request = self.client.describe_tasks().cluster(cluster).set_tasks(Some(arns.to_vec()));
        let output = self.call("DescribeTasks", request.send(), keep).await?;
        Ok(DescribedTasks {
            tasks: output.tasks().iter().map(task_from_sdk).collect(),
            missing: output
                .failures()
                .iter()
                .filter(|f| f.reason() == Some("MISSING"))
                .filter_map(|f| f.arn().map(str::to_owned))
                .collect(),
        })
    }

    async fn stop_task(&self, cluster: &str, arn: &str, reason: &str) -> Result<(), EcsError> {
        let reason: String = reason.chars().take(255).collect();
        let request = self.client.stop_task().cluster(cluster).task(arn).reason(reason);
        self.call("StopTask", request.send(), keep).await.map(|_| ())
    }

    async fn list_running_tasks(&self, cluster: &str, started_by: &str) -> Result<Vec<String>, EcsError> {
        let request = self
            .client
            .list_tasks()
            .cluster(cluster)
            .started_by(started_by)
            .desired_status(DesiredStatus::Running)
            .max_results(100);
        let output = self.call("ListTasks", request.send(), keep).await?;
        Ok(output.task_arns.unwrap_or_default())
    }
}
