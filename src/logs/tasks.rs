//! From an object's tasks to the log streams to read: which tasks (a
//! service's running and recently stopped ones, or the ARNs an EcsTask
//! recorded), their task definitions' `awslogs` settings, and the stream
//! names the awslogs driver writes, `<prefix>/<container>/<task-id>`.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{DesiredStatus, LogDriver};

/// Why ECS could not tell which tasks or streams there are.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct EcsReadError {
    operation: &'static str,
    message: String,
}

fn ecs_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    operation: &'static str,
) -> impl FnOnce(aws_sdk_ecs::error::SdkError<E>) -> EcsReadError {
    move |err| EcsReadError {
        operation,
        message: match err.message() {
            Some(message) => format!("{}: {message}", err.code().unwrap_or("error")),
            None => aws_sdk_ecs::error::DisplayErrorContext(&err).to_string(),
        },
    }
}

/// Where one container of a task definition sends its output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLog {
    pub name: String,
    /// `None` when the container does not use the awslogs driver (or has no
    /// stream prefix, whose stream is named by a container ID ECS does not report).
    pub awslogs: Option<Awslogs>,
}

/// A container's awslogs options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Awslogs {
    pub group: String,
    pub prefix: String,
    pub region: Option<String>,
}

/// One stream to read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogStream {
    /// `task-id/container`, the prefix of its lines.
    pub source: String,
    pub group: String,
    pub name: String,
    pub region: Option<String>,
}

/// A task, as far as its logs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRef {
    pub arn: String,
    pub task_definition: Option<String>,
}

/// The task ID, the last part of a task ARN (`arn:…:task/cluster/ID`).
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The streams of `task` for its containers (only `only`, when given), and
/// the containers that have none.
pub fn streams_of(task: &TaskRef, containers: &[ContainerLog], only: Option<&str>) -> (Vec<LogStream>, Vec<String>) {
    let id = task_id(&task.arn);
    let mut streams = Vec::new();
    let mut without = Vec::new();
    for container in containers.iter().filter(|c| only.is_none_or(|o| o == c.name)) {
        match &container.awslogs {
            Some(log) => streams.push(LogStream {
                source: format!("{id}/{}", container.name),
                group: log.group.clone(),
                name: format!("{}/{}/{id}", log.prefix, container.name),
                region: log.region.clone(),
            }),
            None => without.push(container.name.clone()),
        }
    }
    (streams, without)
}

/// The tasks of an ECS service that ECS still knows: running, and stopped
/// (ECS keeps those for about an hour), running first.
pub async fn service_tasks(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Result<Vec<String>, EcsReadError> {
    let mut arns = Vec::new();
    for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
        let mut token = None;
        loop {
            let page = ecs
                .list_tasks()
                .cluster(cluster)
                .service_name(service)
                .desired_status(status.clone())
                .set_next_token(token)
                .send()
                .await
                .map_err(ecs_error("ListTasks"))?;
            arns.extend(page.task_arns.unwrap_or_default());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
    }
    Ok(arns)
}

/// The tasks behind `arns`, with their task definitions; an ARN ECS has
/// forgotten keeps `fallback` as its task definition (an EcsTask's status
/// records the revision it ran).
pub async fn describe(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    arns: &[String],
    fallback: Option<&str>,
) -> Result<Vec<TaskRef>, EcsReadError> {
    let mut known = BTreeMap::new();
    for chunk in arns.chunks(100) {
        let out = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(ecs_error("DescribeTasks"))?;
        for task in out.tasks.unwrap_or_default() {
            if let Some(arn) = task.task_arn {
                known.insert(arn, task.task_definition_arn);
            }
        }
    }
    Ok(arns
        .iter()
        .map(|arn| TaskRef {
            arn: arn.clone(),
            task_definition: known.get(arn).cloned().flatten().or_else(|| fallback.map(str::to_owned)),
        })
        .collect())
}

/// A task definition's containers and their awslogs settings.
pub async fn containers(ecs: &aws_sdk_ecs::Client, task_definition: &str) -> Result<Vec<ContainerLog>, EcsReadError> {
    let out = ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .map_err(ecs_error("DescribeTaskDefinition"))?;
    let definitions = out.task_definition.map(|td| td.container_definitions.unwrap_or_default()).unwrap_or_default();
    Ok(definitions
        .into_iter()
        .map(|c| {
            let awslogs = c.log_configuration.filter(|l| l.log_driver == LogDriver::Awslogs).and_then(|l| {
                let options = l.options.unwrap_or_default();
                Some(Awslogs {
                    group: options.get("awslogs-group")?.clone(),
                    prefix: options.get("awslogs-stream-prefix")?.clone(),
                    region: options.get("awslogs-region").cloned(),
                })
            });
            ContainerLog { name: c.name.unwrap_or_default(), awslogs }
        })
        .collect())
}

/// The container names of all `definitions`, to check `-c` against.
pub fn container_names<'a>(definitions: impl IntoIterator<Item = &'a Vec<ContainerLog>>) -> BTreeSet<String> {
    definitions.into_iter().flatten().map(|c| c.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn awslogs_streams_are_prefix_container_task_id_and_others_are_reported() {
        let task = TaskRef {
            arn: "arn:aws:ecs:us-east-1:123456789012:task/apps/0123456789abcdef".to_owned(),
            task_definition: Some("web:1".to_owned()),
        };
        let log = Awslogs { group: "/ecs/web".to_owned(), prefix: "ecs".to_owned(), region: None };
        let containers = vec![
            ContainerLog { name: "app".to_owned(), awslogs: Some(log) },
            ContainerLog { name: "proxy".to_owned(), awslogs: None },
        ];
        let (streams, without) = streams_of(&task, &containers, None);
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].name, "ecs/app/0123456789abcdef");
        assert_eq!(streams[0].source, "0123456789abcdef/app");
        assert_eq!(without, ["proxy"]);
        let (streams, without) = streams_of(&task, &containers, Some("proxy"));
        assert!(streams.is_empty());
        assert_eq!(without, ["proxy"]);
    }
}
