//! `EcsTaskDefinition`: ECS's RegisterTaskDefinition input as a Kubernetes object.
//!
//! The spec is the request body in ECS's own field names; the operator registers a
//! new revision whenever the spec's hash changes (computed by the `spec_hash` module,
//! which builds on this one) and records what it registered in the status. Rules ECS
//! would reject at registration time are checked here, at `kubectl apply`, as CEL
//! rules and schema bounds.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{DeletionPolicy, Tag};

/// How many superseded revisions the operator keeps ACTIVE when the spec does not say.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 10;

/// The desired state of an ECS task definition family: ECS's
/// `RegisterTaskDefinition` request, plus how many old revisions to keep and what to
/// do in ECS when the object is deleted.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs-bridge.dev",
    version = "v1alpha1",
    kind = "EcsTaskDefinition",
    namespaced,
    status = "EcsTaskDefinitionStatus",
    derive = "PartialEq",
    shortname = "ecstd",
    category = "ecs",
    doc = "An Amazon ECS task definition family. Each change of the spec registers a new revision; the status names the current one.",
    printcolumn(name = "Family", type_ = "string", json_path = ".status.family", description = "The ECS task definition family"),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.revision", description = "The current revision"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.taskDefinitionArn", priority = 1),
    validation = (
        "(has(self.spec.family) ? self.spec.family : self.metadata.name) == (has(oldSelf.spec.family) ? oldSelf.spec.family : oldSelf.metadata.name)",
        "spec.family is immutable (it defaults to metadata.name): create a new EcsTaskDefinition for another family"
    ),
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "size(self.containerDefinitions) >= 1",
        "message": "containerDefinitions needs at least one container"
    },
    {
        "rule": "self.containerDefinitions.all(c, self.containerDefinitions.exists_one(d, d.name == c.name))",
        "message": "container names must be unique within containerDefinitions"
    },
    {
        "rule": "self.containerDefinitions.exists(c, !has(c.essential) || c.essential)",
        "message": "at least one container must be essential (essential: true, the default)"
    },
    {
        "rule": "!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || (has(self.networkMode) && self.networkMode == 'awsvpc')",
        "message": "requiresCompatibilities FARGATE needs networkMode: awsvpc"
    },
    {
        "rule": "!has(self.requiresCompatibilities) || !('FARGATE' in self.requiresCompatibilities) || (has(self.cpu) && has(self.memory) && ((self.cpu == '256' && self.memory in ['512', '1024', '2048']) || (self.cpu == '512' && int(self.memory) >= 1024 && int(self.memory) <= 4096 && int(self.memory) % 1024 == 0) || (self.cpu == '1024' && int(self.memory) >= 2048 && int(self.memory) <= 8192 && int(self.memory) % 1024 == 0) || (self.cpu == '2048' && int(self.memory) >= 4096 && int(self.memory) <= 16384 && int(self.memory) % 1024 == 0) || (self.cpu == '4096' && int(self.memory) >= 8192 && int(self.memory) <= 30720 && int(self.memory) % 1024 == 0) || (self.cpu == '8192' && int(self.memory) >= 16384 && int(self.memory) <= 61440 && int(self.memory) % 4096 == 0) || (self.cpu == '16384' && int(self.memory) >= 32768 && int(self.memory) <= 122880 && int(self.memory) % 8192 == 0)))",
        "message": "requiresCompatibilities FARGATE needs task cpu and memory (MiB) as a Fargate pair: cpu 256 takes memory 512, 1024 or 2048; 512 takes 1024-4096 and 1024 takes 2048-8192 and 2048 takes 4096-16384 and 4096 takes 8192-30720, in steps of 1024; 8192 takes 16384-61440 in steps of 4096; 16384 takes 32768-122880 in steps of 8192"
    },
    {
        "rule": "!has(self.networkMode) || !(self.networkMode in ['awsvpc', 'host']) || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || p.hostPort == p.containerPort))",
        "message": "with networkMode awsvpc or host, every portMappings hostPort must equal its containerPort or be omitted"
    },
    {
        "rule": "!has(self.networkMode) || self.networkMode != 'none' || self.containerDefinitions.all(c, !has(c.portMappings) || size(c.portMappings) == 0)",
        "message": "networkMode none has no network: remove the portMappings"
    },
    {
        "rule": "has(self.memory) || self.containerDefinitions.all(c, has(c.memory) || has(c.memoryReservation))",
        "message": "without task-level memory, every container needs memory or memoryReservation (MiB)"
    },
    {
        "rule": "self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, self.containerDefinitions.exists(x, x.name == d.containerName)))",
        "message": "dependsOn containerName must name a container of this task definition"
    }
]))]
pub struct EcsTaskDefinitionSpec {
    /// The task definition family: 1–255 letters, digits, `-` and `_`. Defaults to the
    /// object's name. Immutable: ECS has no rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub family: Option<String>,

    /// The containers of the task: 1 to 10, names unique, at least one essential.
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub container_definitions: Vec<ContainerDefinition>,

    /// Task-level CPU in CPU units (1024 = 1 vCPU), as an integer string such as "256".
    /// Required on Fargate, where cpu and memory must form a pair from ECS's table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[1-9][0-9]{0,6}$"))]
    pub cpu: Option<String>,

    /// Task-level memory in MiB, as an integer string such as "512". Required on
    /// Fargate; on EC2, when absent, every container must set memory or memoryReservation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[1-9][0-9]{0,6}$"))]
    pub memory: Option<String>,

    /// The Docker networking mode of the containers. ECS's default is `bridge` on
    /// Linux EC2 instances; Fargate requires `awsvpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<NetworkMode>,

    /// The launch types the definition is validated against (`EC2`, `FARGATE`,
    /// `EXTERNAL`, `MANAGED_INSTANCES`). `FARGATE` adds Fargate's rules: awsvpc and a
    /// valid cpu/memory pair.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 4), extend("x-kubernetes-list-type" = "set"))]
    pub requires_compatibilities: Vec<Compatibility>,

    /// ARN of the IAM role that the ECS agent uses to pull images and fetch secrets
    /// (needed for private ECR images, awslogs and `secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub execution_role_arn: Option<String>,

    /// ARN of the IAM role the task's containers assume to call AWS APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub task_role_arn: Option<String>,

    /// Data volumes the containers can mount (`mountPoints[].sourceVolume`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub volumes: Vec<Volume>,

    /// The operating system and CPU architecture the task needs (Fargate and ECS
    /// Anywhere use it to pick a platform).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,

    /// Ephemeral storage for the task on Fargate, in GiB (21–200; ECS default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,

    /// Placement constraints for tasks of this definition (EC2 and EXTERNAL only; only
    /// `memberOf` is allowed here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub placement_constraints: Vec<TaskDefinitionPlacementConstraint>,

    /// The process namespace the containers use (`host` or `task`). Fargate allows
    /// only `task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<PidMode>,

    /// The IPC namespace the containers use (`host`, `task` or `none`; not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<IpcMode>,

    /// Tags for every revision the operator registers (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// How many superseded revisions the operator keeps ACTIVE; older revisions it
    /// registered are deregistered so the family does not grow without bound (default 10).
    /// Not sent to ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub revision_history_limit: Option<i32>,

    /// What deleting this object does in ECS: `Delete` (default) deregisters every
    /// revision the operator registered; `Retain` leaves them ACTIVE. Not sent to ECS.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// One container of the task (ECS `ContainerDefinition`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "!has(self.memory) || !has(self.memoryReservation) || self.memory > self.memoryReservation",
        "message": "container memory (the hard limit) must be greater than memoryReservation (the soft limit)"
    },
    {
        "rule": "!has(self.dependsOn) || self.dependsOn.all(d, d.containerName != self.name)",
        "message": "a container cannot depend on itself: remove its own name from dependsOn"
    }
]))]
pub struct ContainerDefinition {
    /// The container's name: 1–255 letters, digits, `-` and `_`, unique in the task.
    /// Other containers refer to it in `dependsOn`, `links` and `volumesFrom`, and load
    /// balancers in `loadBalancers[].containerName`.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub name: String,

    /// The image to run: `repository:tag`, `repository@digest` or a full registry path
    /// such as `123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.4`.
    #[schemars(length(min = 1, max = 1024))]
    pub image: String,

    /// CPU units reserved for the container (1024 = 1 vCPU). Must fit in the task's cpu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 196608))]
    pub cpu: Option<i32>,

    /// Hard memory limit in MiB: the container is killed above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 6, max = 2147483647))]
    pub memory: Option<i32>,

    /// Soft memory limit in MiB: what the scheduler reserves on the instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 6, max = 2147483647))]
    pub memory_reservation: Option<i32>,

    /// Whether the task stops when this container stops (ECS default true). At least
    /// one container must be essential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,

    /// Ports the container listens on. One container port cannot be mapped twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["containerPort"]))]
    pub port_mappings: Vec<PortMapping>,

    /// Environment variables (plain text; use `secrets` for sensitive values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub environment: Vec<KeyValuePair>,

    /// Files in S3 with environment variables (`VARIABLE=VALUE` lines).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub environment_files: Vec<EnvironmentFile>,

    /// Environment variables read at start from Secrets Manager or SSM Parameter Store
    /// (needs `executionRoleArn`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1000), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub secrets: Vec<Secret>,

    /// Overrides the image's CMD.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub command: Vec<String>,

    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub entry_point: Vec<String>,

    /// The working directory for `command`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,

    /// The user to run as (`user`, `user:group`, `uid`, `uid:gid`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,

    /// A container health check (Docker HEALTHCHECK). Only health checks declared here
    /// count for the task's health; `dependsOn` condition `HEALTHY` needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,

    /// Where the container's logs go (e.g. `awslogs` to CloudWatch Logs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,

    /// Containers that must reach a condition before this one starts (and stop after it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["containerName"]))]
    pub depends_on: Vec<ContainerDependency>,

    /// Resource limits (`ulimit`) for the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub ulimits: Vec<Ulimit>,

    /// Task volumes mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["containerPath"]))]
    pub mount_points: Vec<MountPoint>,

    /// Other containers of the task whose volumes this one mounts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["sourceContainer"]))]
    pub volumes_from: Vec<VolumeFrom>,

    /// Legacy links to other containers (`name:alias`), bridge mode only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub links: Vec<String>,

    /// Mounts the root filesystem read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,

    /// Runs the container privileged (EC2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,

    /// Seconds to wait for `dependsOn` conditions before giving up on starting this
    /// container (Fargate: 2–120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub start_timeout: Option<i32>,

    /// Seconds between SIGTERM and SIGKILL when the container stops (default 30;
    /// Fargate: 2–120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub stop_timeout: Option<i32>,

    /// Docker labels on the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,

    /// Credentials for a private registry outside ECR (a Secrets Manager secret ARN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,

    /// Linux-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
}

/// A container port exposed by the task (ECS `PortMapping`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// The port the container listens on.
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: i32,
    /// The instance port. `bridge` mode: omit it (or 0) for a dynamic port from the
    /// ephemeral range, which is what lets several tasks share an instance. `awsvpc` and
    /// `host` modes: omit it or set it equal to `containerPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub host_port: Option<i32>,
    /// `tcp` (default) or `udp`.
    #[serde(default)]
    pub protocol: TransportProtocol,
    /// A name for the mapping (1–64 lowercase letters, digits, `_` and `-`), used by
    /// Service Connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[a-z0-9_-]+$"))]
    pub name: Option<String>,
    /// The application protocol, for Service Connect: `http`, `http2` or `grpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
}

/// The transport protocol of a port mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportProtocol {
    /// TCP (the default).
    #[default]
    Tcp,
    /// UDP.
    Udp,
}

/// The application protocol of a port mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppProtocol {
    /// HTTP/1.1.
    Http,
    /// HTTP/2.
    Http2,
    /// gRPC.
    Grpc,
}

/// A name/value pair (ECS `KeyValuePair`), used for environment variables.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    /// The variable's name.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// The variable's value.
    #[serde(default)]
    #[schemars(length(max = 32768))]
    pub value: String,
}

/// A file of environment variables in S3 (ECS `EnvironmentFile`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFile {
    /// The S3 object ARN of the `.env` file.
    #[schemars(length(min = 1, max = 2048))]
    pub value: String,
    /// The file type; ECS supports only `s3`.
    #[serde(rename = "type")]
    pub type_: EnvironmentFileType,
}

/// Where an environment file is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentFileType {
    /// Amazon S3.
    S3,
}

/// An environment variable or log option read from a secret store (ECS `Secret`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    /// The variable (or log option) name.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// The ARN (or, in the same Region, the name) of the Secrets Manager secret or SSM
    /// parameter; a Secrets Manager ARN may end in `:json-key:version-stage:version-id`.
    #[schemars(length(min = 1, max = 2048))]
    pub value_from: String,
}

/// A container health check (ECS `HealthCheck`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// The command: `["CMD", "executable", "arg"...]` to run it directly or
    /// `["CMD-SHELL", "curl -f http://localhost/ || exit 1"]` to run it in a shell. Exit
    /// code 0 means healthy.
    #[schemars(
        length(min = 1, max = 64),
        extend(
            "x-kubernetes-list-type" = "atomic",
            "x-kubernetes-validations" = [
                {
                    "rule": "self[0] == 'CMD' || self[0] == 'CMD-SHELL'",
                    "message": "healthCheck.command must start with CMD (run directly) or CMD-SHELL (run in a shell)"
                }
            ]
        )
    )]
    pub command: Vec<String>,
    /// Seconds between checks (5–300, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 300))]
    pub interval: Option<i32>,
    /// Seconds before a check counts as failed (2–60, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 60))]
    pub timeout: Option<i32>,
    /// Consecutive failures before the container is unhealthy (1–10, default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub retries: Option<i32>,
    /// Seconds after start during which failures do not count (0–300, default off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 300))]
    pub start_period: Option<i32>,
}

/// Where a container's logs go (ECS `LogConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// The log driver. Fargate supports `awslogs`, `splunk` and `awsfirelens`.
    pub log_driver: LogDriver,
    /// Options for the driver, e.g. `awslogs-group`, `awslogs-region`,
    /// `awslogs-stream-prefix` for `awslogs`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Driver options read from a secret store.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub secret_options: Vec<Secret>,
}

/// A Docker log driver ECS supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LogDriver {
    /// CloudWatch Logs.
    #[serde(rename = "awslogs")]
    Awslogs,
    /// FireLens (Fluent Bit or Fluentd sidecar).
    #[serde(rename = "awsfirelens")]
    Awsfirelens,
    /// Splunk HTTP Event Collector.
    #[serde(rename = "splunk")]
    Splunk,
    /// Fluentd.
    #[serde(rename = "fluentd")]
    Fluentd,
    /// Graylog Extended Log Format.
    #[serde(rename = "gelf")]
    Gelf,
    /// JSON files on the instance.
    #[serde(rename = "json-file")]
    JsonFile,
    /// systemd journal.
    #[serde(rename = "journald")]
    Journald,
    /// syslog.
    #[serde(rename = "syslog")]
    Syslog,
}

/// A startup dependency on another container (ECS `ContainerDependency`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    /// The name of the container depended on; it must be in this task definition.
    #[schemars(length(min = 1, max = 255))]
    pub container_name: String,
    /// What the other container must reach: `START`, `COMPLETE`, `SUCCESS` (exit 0)
    /// or `HEALTHY` (needs its `healthCheck`).
    pub condition: DependencyCondition,
}

/// The state a depended-on container must reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependencyCondition {
    /// It has started.
    Start,
    /// It has run to completion (any exit code); not allowed on an essential container.
    Complete,
    /// It has exited 0; not allowed on an essential container.
    Success,
    /// Its health check passed.
    Healthy,
}

/// A resource limit (ECS `Ulimit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    /// The limit: `core`, `cpu`, `data`, `fsize`, `locks`, `memlock`, `msgqueue`,
    /// `nice`, `nofile`, `nproc`, `rss`, `rtprio`, `rttime`, `sigpending` or `stack`.
    #[schemars(regex(
        pattern = r"^(core|cpu|data|fsize|locks|memlock|msgqueue|nice|nofile|nproc|rss|rtprio|rttime|sigpending|stack)$"
    ))]
    pub name: String,
    /// The soft limit.
    pub soft_limit: i32,
    /// The hard limit.
    pub hard_limit: i32,
}

/// A task volume mounted into a container (ECS `MountPoint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    /// The name of a volume in `volumes`.
    #[schemars(length(min = 1, max = 255))]
    pub source_volume: String,
    /// Where the volume appears in the container.
    #[schemars(length(min = 1, max = 4096))]
    pub container_path: String,
    /// Mounts it read-only (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Volumes of another container mounted into this one (ECS `VolumeFrom`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    /// The other container's name.
    #[schemars(length(min = 1, max = 255))]
    pub source_container: String,
    /// Mounts them read-only (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Private registry credentials (ECS `RepositoryCredentials`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryCredentials {
    /// The ARN of the Secrets Manager secret with the registry credentials.
    #[schemars(length(min = 1, max = 2048))]
    pub credentials_parameter: String,
}

/// Linux-specific container options (a subset of ECS `LinuxParameters`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    /// Runs an init process (PID 1) that reaps zombies and forwards signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// Size of `/dev/shm` in MiB (not on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub shared_memory_size: Option<i32>,
    /// Linux capabilities added to or dropped from Docker's default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
}

/// Linux capabilities to add or drop (ECS `KernelCapabilities`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    /// Capabilities to add, e.g. `SYS_PTRACE` (Fargate allows only `SYS_PTRACE`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), extend("x-kubernetes-list-type" = "set"))]
    pub add: Vec<String>,
    /// Capabilities to drop, e.g. `ALL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), extend("x-kubernetes-list-type" = "set"))]
    pub drop: Vec<String>,
}

/// The Docker networking mode of a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Docker bridge network with (usually dynamic) host ports; the EC2 default.
    Bridge,
    /// The instance's network namespace; `hostPort` equals `containerPort`.
    Host,
    /// An elastic network interface per task; required on Fargate; the service needs
    /// `networkConfiguration`.
    Awsvpc,
    /// No external network.
    None,
}

/// A launch type a task definition is validated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compatibility {
    /// EC2 container instances.
    #[serde(rename = "EC2")]
    Ec2,
    /// AWS Fargate.
    Fargate,
    /// ECS Anywhere instances.
    External,
    /// ECS Managed Instances.
    ManagedInstances,
}

/// A data volume of the task (ECS `Volume`). Set at most one of `host`,
/// `dockerVolumeConfiguration` and `efsVolumeConfiguration`; none gives a Docker
/// volume that lives as long as the task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "[has(self.host), has(self.dockerVolumeConfiguration), has(self.efsVolumeConfiguration)].filter(x, x).size() <= 1",
        "message": "a volume takes at most one of host, dockerVolumeConfiguration and efsVolumeConfiguration"
    }
]))]
pub struct Volume {
    /// The volume's name, referenced by `mountPoints[].sourceVolume`.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub name: String,
    /// A bind mount of a path on the instance (EC2 and EXTERNAL only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolumeProperties>,
    /// A Docker volume managed by a volume driver (EC2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
    /// An Amazon EFS file system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// Whether the volume is configured when a service or task is launched instead of here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
}

/// A bind mount of an instance path (ECS `HostVolumeProperties`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    /// The path on the instance; when absent, Docker picks one and it does not outlive
    /// the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// A Docker volume (ECS `DockerVolumeConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DockerVolumeConfiguration {
    /// `task` (removed with the task) or `shared` (outlives it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<DockerVolumeScope>,
    /// Creates a `shared` volume if it does not exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    /// The volume driver (default `local`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Options passed to the driver.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Labels on the volume.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The lifetime of a Docker volume.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DockerVolumeScope {
    /// Removed when the task stops.
    Task,
    /// Persists after the task stops.
    Shared,
}

/// An EFS volume (ECS `EFSVolumeConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    /// The EFS file system ID, e.g. `fs-12345678`.
    #[schemars(length(min = 1, max = 128))]
    pub file_system_id: String,
    /// The directory of the file system to mount (default `/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// Encrypts traffic to EFS (`ENABLED`/`DISABLED`); required with IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<EnabledDisabled>,
    /// The port for encrypted traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub transit_encryption_port: Option<i32>,
    /// EFS access point and IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

/// EFS authorization (ECS `EFSAuthorizationConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    /// The EFS access point ID; `rootDirectory` must then be absent or `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Whether to use the task role for EFS IAM authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<EnabledDisabled>,
}

/// ECS's two-valued switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EnabledDisabled {
    /// On.
    Enabled,
    /// Off.
    Disabled,
}

/// The platform a task needs (ECS `RuntimePlatform`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    /// `X86_64` or `ARM64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<CpuArchitecture>,
    /// `LINUX` or a Windows Server family such as `WINDOWS_SERVER_2022_CORE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(LINUX|WINDOWS_SERVER_[A-Z0-9_]+)$"))]
    pub operating_system_family: Option<String>,
}

/// A CPU architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum CpuArchitecture {
    /// 64-bit x86.
    #[serde(rename = "X86_64")]
    X86_64,
    /// 64-bit ARM (Graviton).
    #[serde(rename = "ARM64")]
    Arm64,
}

/// Fargate ephemeral storage (ECS `EphemeralStorage`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralStorage {
    /// Size in GiB, 21–200.
    #[serde(rename = "sizeInGiB")]
    #[schemars(range(min = 21, max = 200))]
    pub size_in_gib: i32,
}

/// A placement constraint inside a task definition (ECS
/// `TaskDefinitionPlacementConstraint`): only `memberOf` is allowed here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionPlacementConstraint {
    /// Always `memberOf`.
    #[serde(rename = "type")]
    pub type_: TaskDefinitionPlacementConstraintType,
    /// A cluster query language expression, e.g.
    /// `attribute:ecs.instance-type =~ t3.*`.
    #[schemars(length(min = 1, max = 2000))]
    pub expression: String,
}

/// The one placement constraint type a task definition may carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TaskDefinitionPlacementConstraintType {
    /// Place only on instances that match `expression`.
    #[serde(rename = "memberOf")]
    MemberOf,
}

/// The process namespace mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PidMode {
    /// Share the instance's PID namespace.
    Host,
    /// Share one namespace among the task's containers.
    Task,
}

/// The IPC namespace mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IpcMode {
    /// Share the instance's IPC namespace.
    Host,
    /// Share one namespace among the task's containers.
    Task,
    /// Private IPC namespaces.
    None,
}

/// What the operator observed and registered. Nothing here is ever copied into `spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsTaskDefinitionStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (the current revision is registered and ACTIVE) and `Synced` (the last
    /// reconcile succeeded; its message carries ECS's error otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The family the revisions were registered in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The current revision: the one registered for the current spec, which services
    /// with a `taskDefinitionRef` follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i32>,
    /// The ARN of the current revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// The hash of the spec the current revision was registered from; a spec whose hash
    /// differs needs a new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Every revision this object registered and has not yet deregistered, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["revision"]))]
    pub revisions: Vec<OwnedRevision>,
}

/// A revision registered by the operator for this object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnedRevision {
    /// The revision number.
    pub revision: i32,
    /// Its ARN.
    pub task_definition_arn: String,
    /// The hash of the spec it was registered from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// When ECS registered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<Time>,
}

impl EcsTaskDefinitionSpec {
    /// How many superseded revisions to keep ACTIVE.
    pub fn revision_history_limit(&self) -> i32 {
        self.revision_history_limit.unwrap_or(DEFAULT_REVISION_HISTORY_LIMIT)
    }

    /// Whether the definition asks for Fargate.
    pub fn requires_fargate(&self) -> bool {
        self.requires_compatibilities.contains(&Compatibility::Fargate)
    }

    /// The container of that name.
    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.container_definitions.iter().find(|c| c.name == name)
    }
}

impl ContainerDefinition {
    /// ECS's default for an absent `essential` is true.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
}

impl EcsTaskDefinition {
    /// The ECS family: `spec.family`, or the object's name when unset.
    pub fn family(&self) -> String {
        self.spec.family.clone().unwrap_or_else(|| self.name_any())
    }

    /// The current revision's ARN, once registered.
    pub fn current_arn(&self) -> Option<&str> {
        self.status.as_ref()?.task_definition_arn.as_deref()
    }

    /// The current revision number, once registered.
    pub fn current_revision(&self) -> Option<i32> {
        self.status.as_ref()?.revision
    }

    /// Whether the status describes the current spec (no change waiting to be registered).
    pub fn is_observed(&self) -> bool {
        let generation = self.metadata.generation;
        generation.is_some() && self.status.as_ref().and_then(|s| s.observed_generation) == generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(name: &str, spec: serde_json::Value) -> EcsTaskDefinition {
        EcsTaskDefinition::new(name, serde_json::from_value(spec).expect("valid spec"))
    }

    #[test]
    fn family_defaults_to_the_object_name() {
        let unnamed = definition("web", serde_json::json!({"containerDefinitions": [{"name": "a", "image": "x"}]}));
        assert_eq!(unnamed.family(), "web");
        let named = definition(
            "web",
            serde_json::json!({"family": "shop-web", "containerDefinitions": [{"name": "a", "image": "x"}]}),
        );
        assert_eq!(named.family(), "shop-web");
    }

    #[test]
    fn ecs_defaults_apply_to_absent_fields() {
        let td = definition(
            "web",
            serde_json::json!({
                "requiresCompatibilities": ["FARGATE"],
                "containerDefinitions": [{"name": "a", "image": "x", "portMappings": [{"containerPort": 80}]}, {"name": "b", "image": "y", "essential": false}]
            }),
        );
        assert!(td.spec.requires_fargate());
        assert!(td.spec.container("a").unwrap().is_essential());
        assert!(!td.spec.container("b").unwrap().is_essential());
        assert!(td.spec.container("c").is_none());
        assert_eq!(td.spec.container_definitions[0].port_mappings[0].protocol, TransportProtocol::Tcp);
        assert_eq!(td.spec.revision_history_limit(), DEFAULT_REVISION_HISTORY_LIMIT);
        assert_eq!(td.spec.deletion_policy, DeletionPolicy::Delete);
        assert_eq!(td.current_revision(), None);
        assert_eq!(td.current_arn(), None);
    }

    #[test]
    fn observed_means_the_status_describes_this_generation() {
        let mut td = definition("web", serde_json::json!({"containerDefinitions": [{"name": "a", "image": "x"}]}));
        td.metadata.generation = Some(2);
        assert!(!td.is_observed());
        td.status = Some(EcsTaskDefinitionStatus { observed_generation: Some(1), ..Default::default() });
        assert!(!td.is_observed());
        td.status.as_mut().unwrap().observed_generation = Some(2);
        assert!(td.is_observed());
    }

    #[test]
    fn ecs_field_names_round_trip() {
        let json = serde_json::json!({
            "containerDefinitions": [{"name": "a", "image": "x", "memoryReservation": 64, "readonlyRootFilesystem": true}],
            "ephemeralStorage": {"sizeInGiB": 30},
            "requiresCompatibilities": ["EC2", "MANAGED_INSTANCES"],
            "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED"}}],
            "deletionPolicy": "Retain"
        });
        let spec: EcsTaskDefinitionSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.ephemeral_storage.as_ref().unwrap().size_in_gib, 30);
        assert_eq!(spec.requires_compatibilities, [Compatibility::Ec2, Compatibility::ManagedInstances]);
        assert_eq!(serde_json::to_value(&spec).unwrap(), json);
    }
}
