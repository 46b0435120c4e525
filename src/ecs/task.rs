//! The ECS task operations of the seam: what the EcsTask reconciler asks of ECS
//! (RunTask, DescribeTasks, StopTask, ListTasks, and the one DescribeTaskDefinition
//! that fixes the revision) and what it gets back, in plain shapes.
//!
//! A trait of its own ([`EcsTaskApi`]), as the services have theirs: the task
//! reconciler's unit tests use a fake that knows tasks only.

use std::future::Future;

use k8s_openapi::jiff::Timestamp;

use super::error::EcsError;
use super::operations::{BatchFailure, Tags};
use crate::api::task::EcsTaskSpec;

/// DescribeTasks takes at most this many tasks per call.
pub const DESCRIBE_TASKS_BATCH: usize = 100;

/// A task definition revision as far as a one-off run cares: which revision it is
/// (so every attempt runs the same one) and which containers decide success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionContainers {
    pub arn: String,
    /// The containers marked essential (ECS's default), in definition order.
    pub essential: Vec<String>,
}

/// RunTask's input: the spec (ECS's field names), with what the operator decided
/// for it. Everything here is a function of the object, so asking again for the
/// same attempt sends the same request (ECS refuses a reused token otherwise).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    pub cluster: String,
    /// The fixed revision ARN.
    pub task_definition: String,
    /// `<object UID>-<attempt>`: ECS starts nothing new for a token it has seen.
    pub client_token: String,
    /// `ecs-bridge/<object UID>`: what ListTasks finds the object's tasks by.
    pub started_by: String,
    /// The spec's tags plus the ownership tags.
    pub tags: Tags,
    pub spec: EcsTaskSpec,
}

/// One container of a described task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerDescription {
    pub name: String,
    pub last_status: Option<String>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// A task as DescribeTasks (or RunTask) reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskDescription {
    pub arn: String,
    pub last_status: String,
    pub desired_status: Option<String>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub started_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    pub containers: Vec<ContainerDescription>,
}

/// RunTask's answer: the tasks started (or, for a token seen before, the tasks it
/// started then) and the ones it could not place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Launched {
    pub tasks: Vec<TaskDescription>,
    pub failures: Vec<BatchFailure>,
}

/// DescribeTasks' answer: the tasks found, and the ARNs ECS reported MISSING
/// (unknown, or stopped longer ago than ECS keeps them).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DescribedTasks {
    pub tasks: Vec<TaskDescription>,
    pub missing: Vec<String>,
}

/// The ECS task operations the EcsTask reconciler uses; each method is one ECS
/// call, counted in the metrics.
pub trait EcsTaskApi: Send + Sync + 'static {
    /// DescribeTaskDefinition: the revision `task_definition` names (a family names its
    /// latest ACTIVE one) and its essential containers; `None` when ECS does not know it.
    fn task_definition_containers(
        &self,
        task_definition: &str,
    ) -> impl Future<Output = Result<Option<TaskDefinitionContainers>, EcsError>> + Send;

    fn run_task(&self, input: &TaskRun) -> impl Future<Output = Result<Launched, EcsError>> + Send;

    /// Describes up to [`DESCRIBE_TASKS_BATCH`] tasks of one cluster.
    fn describe_tasks(
        &self,
        cluster: &str,
        arns: &[String],
    ) -> impl Future<Output = Result<DescribedTasks, EcsError>> + Send;

    /// StopTask with `reason` (at most 255 characters). Stopping a stopped task is no
    /// error, so a repeat after a crash is harmless.
    fn stop_task(&self, cluster: &str, arn: &str, reason: &str) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// The ARNs of the cluster's tasks started by `started_by` that are not being
    /// stopped (desiredStatus RUNNING): one page, up to 100, which is more than an
    /// EcsTask ever runs at once.
    fn list_running_tasks(
        &self,
        cluster: &str,
        started_by: &str,
    ) -> impl Future<Output = Result<Vec<String>, EcsError>> + Send;
}
