//! `EcsTask`: one ECS `RunTask`, run to completion like a Kubernetes Job.
//!
//! The spec is RunTask's input in ECS's field names, plus what a Job user expects:
//! `backoffLimit` (new tasks after a failed attempt), `activeDeadlineSeconds`,
//! `ttlSecondsAfterFinished` and a `deletionPolicy`. The whole spec is immutable once
//! created, as a Job's template is: a task that has run cannot be "updated", and an
//! edit that silently did nothing would be worse than a refusal.
//!
//! The status is the record the controller's crash safety rests on: each attempt's
//! RunTask `clientToken` is derived from the object's UID and the attempt's number,
//! and the number is the count of attempts recorded here, so a controller that dies
//! between RunTask and the status write asks again with the same token and ECS
//! answers with the task it already started.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CapacityProviderStrategyItem, DeletionPolicy, Tag};
use super::service::{
    DEFAULT_CLUSTER, LaunchType, NetworkConfiguration, PlacementConstraint, PlacementStrategy, TaskDefinitionRef,
};
use super::task_definition::KeyValuePair;

/// The condition of a task that finished successfully: every task of an attempt
/// stopped with exit code 0 in all its essential containers.
pub const COMPLETE: &str = "Complete";
/// The condition of a task that will not run again: `backoffLimit` failed attempts
/// too many, `activeDeadlineSeconds` exceeded, or a RunTask ECS refuses.
pub const FAILED: &str = "Failed";

fn default_cluster() -> String {
    DEFAULT_CLUSTER.to_owned()
}

fn default_count() -> i32 {
    1
}

/// A one-off ECS task (RunTask), run to completion with retries, a deadline and a
/// time to live, like a Kubernetes Job.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs-bridge.dev",
    version = "v1alpha1",
    kind = "EcsTask",
    namespaced,
    status = "EcsTaskStatus",
    derive = "PartialEq",
    shortname = "ecstask",
    category = "ecs",
    doc = "A one-off Amazon ECS task (RunTask) run to completion: retried up to backoffLimit times, stopped at activeDeadlineSeconds, like a Kubernetes Job.",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase", description = "Pending, Running, BackingOff, Succeeded or Failed"),
    printcolumn(name = "Exit Code", type_ = "integer", json_path = ".status.exitCode", description = "The last finished attempt's exit code (its first non-zero one)"),
    printcolumn(name = "Attempts", type_ = "integer", json_path = ".status.attemptCount", description = "RunTask attempts so far"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Task Definition", type_ = "string", json_path = ".status.taskDefinitionArn", priority = 1),
    validation = (
        "self.spec == oldSelf.spec",
        "an EcsTask's spec is immutable once created, like a Job's template: delete the EcsTask and create a new one to run something else"
    ),
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.taskDefinitionRef) != has(self.taskDefinition)",
        "message": "set exactly one of taskDefinitionRef (an EcsTaskDefinition in this namespace) and taskDefinition (family, family:revision or ARN)"
    },
    {
        "rule": "!has(self.launchType) || !has(self.capacityProviderStrategy)",
        "message": "launchType and capacityProviderStrategy are mutually exclusive: remove one of them"
    },
    {
        "rule": "has(self.networkConfiguration) || !((has(self.launchType) && self.launchType == 'FARGATE') || (has(self.capacityProviderStrategy) && self.capacityProviderStrategy.exists(i, i.capacityProvider == 'FARGATE' || i.capacityProvider == 'FARGATE_SPOT')))",
        "message": "Fargate tasks use awsvpc networking: set networkConfiguration.awsvpcConfiguration with subnets"
    }
]))]
pub struct EcsTaskSpec {
    /// The cluster to run in: a cluster name (an EcsCluster's `clusterName`, or one
    /// managed elsewhere) or a full cluster ARN (default `default`).
    #[serde(default = "default_cluster")]
    #[schemars(length(min = 1, max = 2048))]
    pub cluster: String,

    /// An EcsTaskDefinition in this namespace: the task runs the revision that object
    /// has registered when the EcsTask starts, and every retry runs that same revision.
    /// Exclusive with `taskDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_ref: Option<TaskDefinitionRef>,

    /// A task definition managed outside this cluster: `family` (its latest ACTIVE
    /// revision when the EcsTask starts), `family:revision` or a full ARN. Exclusive
    /// with `taskDefinitionRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub task_definition: Option<String>,

    /// How many tasks each attempt starts (1–10, ECS's limit per RunTask). An attempt
    /// succeeds when all of them do.
    #[serde(default = "default_count")]
    #[schemars(range(min = 1, max = 10))]
    pub count: i32,

    /// Where the task runs: `EC2`, `FARGATE` or `EXTERNAL`. Exclusive with
    /// `capacityProviderStrategy`; with neither, the cluster's default strategy applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,

    /// How the tasks spread over capacity providers (e.g. FARGATE_SPOT). Exclusive with
    /// `launchType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 20),
        extend(
            "x-kubernetes-list-type" = "map",
            "x-kubernetes-list-map-keys" = ["capacityProvider"],
            "x-kubernetes-validations" = [
                {
                    "rule": "self.filter(i, has(i.base) && i.base > 0).size() <= 1",
                    "message": "only one capacityProviderStrategy item may set a base greater than 0"
                }
            ]
        )
    )]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,

    /// The Fargate platform version (default `LATEST`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub platform_version: Option<String>,

    /// The VPC subnets and security groups of the task's network interface; required
    /// for task definitions with networkMode `awsvpc` (so on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,

    /// Changes to the task definition for this run: per-container command, environment,
    /// cpu and memory, and the task's cpu and memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overrides: Option<TaskOverride>,

    /// Rules every placement must satisfy (EC2 and EXTERNAL only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub placement_constraints: Vec<PlacementConstraint>,

    /// How the tasks are spread or packed over instances, in order of precedence (EC2
    /// and EXTERNAL only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "atomic"))]
    pub placement_strategy: Vec<PlacementStrategy>,

    /// The task group, e.g. `migrations` (ECS's default is `family:<family>`); tasks of a
    /// group can be spread apart by placement strategies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub group: Option<String>,

    /// Tags on the tasks (at most 50, with the operator's two ownership tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 48), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// Copies the task definition's tags onto the tasks (`TASK_DEFINITION`); default
    /// `NONE`. (`SERVICE` exists only for service tasks.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<TaskPropagateTags>,

    /// Adds ECS's managed tag `aws:ecs:clusterName` to the tasks.
    #[serde(default, rename = "enableECSManagedTags", skip_serializing_if = "Option::is_none")]
    pub enable_ecs_managed_tags: Option<bool>,

    /// Enables ECS Exec (`aws ecs execute-command`) into the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,

    /// How many failed attempts are retried, each with new tasks, after a back-off of
    /// 10 s doubling up to 6 minutes (a Job's curve). Default 0: RunTask runs a task
    /// once, and a one-off task is often not safe to repeat (a migration, a payment
    /// batch), so retries are something to ask for. Not sent to ECS.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub backoff_limit: i32,

    /// Seconds from the first RunTask after which the EcsTask fails with reason
    /// `DeadlineExceeded` and its running tasks are stopped (StopTask), whatever the
    /// attempt. Not sent to ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 31536000))]
    pub active_deadline_seconds: Option<i64>,

    /// Seconds after the EcsTask finished (Complete or Failed) after which the object
    /// deletes itself (with its deletion policy). Unset: it stays. Not sent to ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 31536000))]
    pub ttl_seconds_after_finished: Option<i64>,

    /// What deleting this object does in ECS: `Delete` (default) stops its tasks that
    /// still run (StopTask); `Retain` leaves them running. The same names as the other
    /// kinds' policies. Not sent to ECS.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Which tags standalone tasks copy at launch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskPropagateTags {
    /// The task definition's tags.
    TaskDefinition,
    /// None (ECS's default).
    None,
}

/// RunTask's `overrides` (ECS `TaskOverride`), the parts a one-off run changes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    /// Changes per container, by the container definition's name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub container_overrides: Vec<ContainerOverride>,
    /// The task's CPU units, e.g. `"512"` (on Fargate, a valid cpu/memory pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16))]
    pub cpu: Option<String>,
    /// The task's memory in MiB, e.g. `"1024"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16))]
    pub memory: Option<String>,
}

/// One container's changes for this run (ECS `ContainerOverride`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    /// The container definition's name.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Replaces the container's command.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(max = 8192)), extend("x-kubernetes-list-type" = "atomic"))]
    pub command: Vec<String>,
    /// Variables added to (or replacing those of) the container's environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub environment: Vec<KeyValuePair>,
    /// The container's CPU units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 196608))]
    pub cpu: Option<i32>,
    /// The container's hard memory limit in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 6, max = 2097152))]
    pub memory: Option<i32>,
}

/// Where an EcsTask is in its life, for `kubectl get` (the conditions are what to
/// wait on).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TaskPhase {
    /// Not started yet: resolving the task definition, or waiting for it.
    Pending,
    /// An attempt's tasks are in ECS and not all stopped.
    Running,
    /// An attempt failed; the next one starts after the back-off.
    BackingOff,
    /// An attempt succeeded (`Complete=True`).
    Succeeded,
    /// No more attempts (`Failed=True`).
    Failed,
}

/// What the operator observed in ECS, and the record of what it asked for.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Complete` (an attempt succeeded), `Failed` (no more attempts; reasons
    /// `BackoffLimitExceeded`, `DeadlineExceeded`, `InvalidSpec`) and `Synced` (the last
    /// reconcile reached ECS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// Pending, Running, BackingOff, Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<TaskPhase>,
    /// The task definition revision every attempt runs, fixed before the first RunTask
    /// so that a retry (or a repeated RunTask after a crash) asks for the same thing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// The revision's essential containers: their exit codes decide success.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub essential_containers: Vec<String>,
    /// When the first attempt was started; `activeDeadlineSeconds` counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the EcsTask became Complete or Failed; `ttlSecondsAfterFinished` counts
    /// from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// The essential containers' exit code of the last finished attempt: its first
    /// non-zero one, else 0 (absent while none has finished, or when no container
    /// reported one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// How many attempts have been started (the printer column).
    #[serde(default)]
    pub attempt_count: i32,
    /// Every attempt, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["attempt"]))]
    pub attempts: Vec<Attempt>,
}

/// One RunTask and the tasks it started.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The attempt's number, from 1.
    pub attempt: i32,
    /// RunTask's `clientToken`: `<object UID>-<attempt>`, the same whenever this attempt
    /// is asked for again.
    pub client_token: String,
    /// When the RunTask was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launched_at: Option<Time>,
    /// The tasks ECS started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["taskArn"]))]
    pub tasks: Vec<TaskRecord>,
    /// Tasks ECS could not place, as RunTask's `failures` report them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub failures: Vec<LaunchFailure>,
    /// `Succeeded` or `Failed` once every task stopped; absent while they run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<AttemptResult>,
    /// Why the attempt failed, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the operator saw the last task stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Time>,
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AttemptResult {
    /// Every task stopped with exit code 0 in all its essential containers.
    Succeeded,
    /// A task failed (non-zero exit code, failed to start, stopped by someone) or could
    /// not be placed.
    Failed,
}

/// One task as DescribeTasks last showed it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskRecord {
    /// The task ARN.
    pub task_arn: String,
    /// ECS's `lastStatus`: PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING,
    /// STOPPING, DEPROVISIONING or STOPPED.
    pub last_status: String,
    /// ECS's `desiredStatus`: RUNNING, or STOPPED once it is being stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_status: Option<String>,
    /// Why it stopped: `EssentialContainerExited`, `TaskFailedToStart`, `UserInitiated`,
    /// `SpotInterruption`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// ECS's sentence about the stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// When it reached RUNNING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    /// When it reached STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Time>,
    /// Its containers' states.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub containers: Vec<ContainerRecord>,
}

/// One container of a task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRecord {
    /// The container's name.
    pub name: String,
    /// PENDING, RUNNING or STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// Its exit code, once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ECS's reason for a stopped container (e.g. `CannotPullContainerError: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A task RunTask could not start (ECS `Failure`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LaunchFailure {
    /// ECS's reason, e.g. `RESOURCE:MEMORY`.
    pub reason: String,
    /// ECS's detail, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl TaskRecord {
    /// Whether ECS reports the task STOPPED.
    pub fn is_stopped(&self) -> bool {
        self.last_status == "STOPPED"
    }
}

impl Attempt {
    /// Whether every task of the attempt is STOPPED (vacuously so for an attempt that
    /// placed none).
    pub fn all_stopped(&self) -> bool {
        self.tasks.iter().all(TaskRecord::is_stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_single_run_in_the_default_cluster() {
        let spec: EcsTaskSpec = serde_json::from_value(serde_json::json!({"taskDefinition": "migrate"})).unwrap();
        assert_eq!(spec.cluster, DEFAULT_CLUSTER);
        assert_eq!(spec.count, 1);
        assert_eq!(spec.backoff_limit, 0, "one attempt unless retries are asked for");
        assert_eq!(spec.deletion_policy, DeletionPolicy::Delete);
    }

    #[test]
    fn ecs_field_names_round_trip() {
        let json = serde_json::json!({
            "cluster": "batch",
            "taskDefinitionRef": {"name": "migrate"},
            "count": 2,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"]}},
            "overrides": {
                "containerOverrides": [{"name": "app", "command": ["./migrate", "up"], "environment": [{"name": "A", "value": "1"}], "cpu": 128, "memory": 256}],
                "cpu": "512", "memory": "1024"
            },
            "group": "migrations",
            "propagateTags": "TASK_DEFINITION",
            "enableECSManagedTags": true,
            "enableExecuteCommand": false,
            "backoffLimit": 3,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 60,
            "deletionPolicy": "Retain"
        });
        let spec: EcsTaskSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.overrides.as_ref().unwrap().container_overrides[0].command, ["./migrate", "up"]);
        assert_eq!(serde_json::to_value(&spec).unwrap(), json);
    }

    #[test]
    fn an_attempt_without_tasks_counts_as_stopped() {
        let attempt = Attempt {
            attempt: 1,
            client_token: "u-1".into(),
            launched_at: None,
            tasks: Vec::new(),
            failures: vec![LaunchFailure { reason: "RESOURCE:MEMORY".into(), detail: None }],
            result: None,
            message: None,
            finished_at: None,
        };
        assert!(attempt.all_stopped());
    }
}
