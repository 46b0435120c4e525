//! Translation of one-off tasks between the EcsTask types and the SDK's shapes:
//! the overrides going out, tasks and containers coming back. Field for field, in
//! ECS's names.

use aws_sdk_ecs::types as sdk;

use super::error::EcsError;
use super::service_mapping::timestamp_from_sdk;
use super::task::{ContainerDescription, TaskDefinitionContainers, TaskDescription};
use crate::api::task::{ContainerOverride, TaskOverride};

fn env_to_sdk(container: &ContainerOverride) -> Option<Vec<sdk::KeyValuePair>> {
    (!container.environment.is_empty()).then(|| {
        container
            .environment
            .iter()
            .map(|kv| sdk::KeyValuePair::builder().name(&kv.name).value(&kv.value).build())
            .collect()
    })
}

/// RunTask's `overrides`.
pub fn overrides_to_sdk(overrides: &TaskOverride) -> sdk::TaskOverride {
    let containers = overrides
        .container_overrides
        .iter()
        .map(|c| {
            sdk::ContainerOverride::builder()
                .name(&c.name)
                .set_command((!c.command.is_empty()).then(|| c.command.clone()))
                .set_environment(env_to_sdk(c))
                .set_cpu(c.cpu)
                .set_memory(c.memory)
                .build()
        })
        .collect::<Vec<_>>();
    sdk::TaskOverride::builder()
        .set_container_overrides((!containers.is_empty()).then_some(containers))
        .set_cpu(overrides.cpu.clone())
        .set_memory(overrides.memory.clone())
        .build()
}

/// A task as the reconciler reads it.
pub fn task_from_sdk(task: &sdk::Task) -> TaskDescription {
    TaskDescription {
        arn: task.task_arn().unwrap_or_default().to_owned(),
        last_status: task.last_status().unwrap_or_default().to_owned(),
        desired_status: task.desired_status().map(str::to_owned),
        stop_code: task.stop_code().map(|c| c.as_str().to_owned()),
        stopped_reason: task.stopped_reason().map(str::to_owned),
        started_at: task.started_at().and_then(timestamp_from_sdk),
        stopped_at: task.stopped_at().and_then(timestamp_from_sdk),
        containers: task
            .containers()
            .iter()
            .map(|c| ContainerDescription {
                name: c.name().unwrap_or_default().to_owned(),
                last_status: c.last_status().map(str::to_owned),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_owned),
            })
            .collect(),
    }
}

/// A revision's ARN and essential containers (`essential` defaults to true in ECS).
pub fn containers_from_sdk(
    definition: &sdk::TaskDefinition,
    operation: &'static str,
) -> Result<TaskDefinitionContainers, EcsError> {
    let arn = definition.task_definition_arn().ok_or_else(|| EcsError::Other {
        operation,
        code: "MissingTaskDefinitionArn".to_owned(),
        message: "the task definition in the answer has no ARN".to_owned(),
    })?;
    let essential = definition
        .container_definitions()
        .iter()
        .filter(|c| c.essential().unwrap_or(true))
        .filter_map(|c| c.name().map(str::to_owned))
        .collect();
    Ok(TaskDefinitionContainers { arn: arn.to_owned(), essential })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::task_definition::KeyValuePair;

    #[test]
    fn overrides_carry_only_what_is_set() {
        let overrides = TaskOverride {
            container_overrides: vec![ContainerOverride {
                name: "app".into(),
                command: vec!["./migrate".into()],
                environment: vec![KeyValuePair { name: "A".into(), value: "1".into() }],
                cpu: None,
                memory: Some(256),
            }],
            cpu: None,
            memory: Some("1024".into()),
        };
        let sdk = overrides_to_sdk(&overrides);
        let container = &sdk.container_overrides()[0];
        assert_eq!(container.name(), Some("app"));
        assert_eq!(container.command(), ["./migrate"]);
        assert_eq!(container.environment()[0].value(), Some("1"));
        assert_eq!((container.cpu(), container.memory()), (None, Some(256)));
        assert_eq!((sdk.cpu(), sdk.memory()), (None, Some("1024")));
        assert!(overrides_to_sdk(&TaskOverride::default()).container_overrides.is_none());
    }

    #[test]
    fn a_stopped_task_keeps_its_codes_and_exit_codes() {
        let task = sdk::Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:1:task/c/abc")
            .last_status("STOPPED")
            .desired_status("STOPPED")
            .stop_code(sdk::TaskStopCode::EssentialContainerExited)
            .stopped_reason("Essential container in task exited")
            .containers(sdk::Container::builder().name("app").exit_code(3).last_status("STOPPED").build())
            .build();
        let described = task_from_sdk(&task);
        assert_eq!(described.stop_code.as_deref(), Some("EssentialContainerExited"));
        assert_eq!(described.containers[0].exit_code, Some(3));
        assert_eq!(described.desired_status.as_deref(), Some("STOPPED"));
    }

    #[test]
    fn containers_are_essential_unless_marked_otherwise() {
        let definition = sdk::TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:us-east-1:1:task-definition/job:3")
            .container_definitions(sdk::ContainerDefinition::builder().name("app").build())
            .container_definitions(sdk::ContainerDefinition::builder().name("sidecar").essential(false).build())
            .build();
        let containers = containers_from_sdk(&definition, "DescribeTaskDefinition").unwrap();
        assert_eq!(containers.essential, ["app"]);
        assert!(containers.arn.ends_with("job:3"));
    }
}
