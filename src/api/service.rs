//! `EcsService`: an ECS service as a Kubernetes object.
//!
//! The spec is CreateService/UpdateService's input in ECS's field names, with two
//! Kubernetes additions: `taskDefinitionRef` (follow an EcsTaskDefinition's current
//! revision) and `forceNewDeploymentToken` (change it to redeploy, like `kubectl
//! rollout restart`). `desiredCount` is optional so an autoscaler can own it; the scale
//! subresource maps to it, so `kubectl scale` works.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{CapacityProviderStrategyItem, DeletionPolicy, Tag};
use super::discovery::{ServiceDiscovery, ServiceDiscoveryStatus};
use super::scaling::{AutoScaling, AutoScalingStatus};

/// The cluster ECS uses when a request names none.
pub const DEFAULT_CLUSTER: &str = "default";

fn default_cluster() -> String {
    DEFAULT_CLUSTER.to_owned()
}

/// The desired state of an ECS service.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "ecs-bridge.dev",
    version = "v1alpha1",
    kind = "EcsService",
    namespaced,
    status = "EcsServiceStatus",
    derive = "PartialEq",
    shortname = "ecssvc",
    category = "ecs",
    doc = "An Amazon ECS service: keeps desiredCount tasks of a task definition running in a cluster and rolls out changes as ECS deployments.",
    scale(spec_replicas_path = ".spec.desiredCount", status_replicas_path = ".status.runningCount"),
    printcolumn(name = "Cluster", type_ = "string", json_path = ".spec.cluster", description = "The ECS cluster"),
    printcolumn(name = "Desired", type_ = "integer", json_path = ".status.desiredCount", description = "Tasks ECS aims to run"),
    printcolumn(name = "Running", type_ = "integer", json_path = ".status.runningCount", description = "Tasks RUNNING in ECS"),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.taskDefinitionRevision", description = "Task definition revision of the primary deployment"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Rollout", type_ = "string", json_path = ".status.deployments[?(@.status==\"PRIMARY\")].rolloutState", priority = 1),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.serviceArn", priority = 1),
    validation = (
        "(has(self.spec.serviceName) ? self.spec.serviceName : self.metadata.name) == (has(oldSelf.spec.serviceName) ? oldSelf.spec.serviceName : oldSelf.metadata.name)",
        "spec.serviceName is immutable (it defaults to metadata.name): ECS cannot rename a service; create a new EcsService instead"
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
    },
    // What a DAEMON service may not have, as one rule: the API server looks a
    // field up in a CEL rule by building a map of all the spec's properties
    // (two dozen), once per lookup and per rule, on every write of the object
    // (status writes too). Five rules that each began with the same
    // `schedulingStrategy` lookup cost a REPLICA service five of those; one
    // costs it one. The message is the first constraint the spec breaks, in
    // the order the five rules had (the static one stands in should the
    // expression fail).
    {
        "rule": "self.schedulingStrategy != 'DAEMON' || (!((has(self.launchType) && self.launchType == 'FARGATE') || (has(self.capacityProviderStrategy) && self.capacityProviderStrategy.exists(i, i.capacityProvider == 'FARGATE' || i.capacityProvider == 'FARGATE_SPOT'))) && !(has(self.deploymentConfiguration) && has(self.deploymentConfiguration.maximumPercent) && self.deploymentConfiguration.maximumPercent > 100) && !has(self.placementStrategy) && !has(self.desiredCount) && !has(self.autoScaling))",
        "messageExpression": "((has(self.launchType) && self.launchType == 'FARGATE') || (has(self.capacityProviderStrategy) && self.capacityProviderStrategy.exists(i, i.capacityProvider == 'FARGATE' || i.capacityProvider == 'FARGATE_SPOT'))) ? 'schedulingStrategy DAEMON does not run on Fargate: use REPLICA or the EC2 launch type' : (has(self.deploymentConfiguration) && has(self.deploymentConfiguration.maximumPercent) && self.deploymentConfiguration.maximumPercent > 100) ? 'schedulingStrategy DAEMON does not support deploymentConfiguration.maximumPercent above 100' : has(self.placementStrategy) ? 'schedulingStrategy DAEMON does not take a placementStrategy: remove it' : has(self.desiredCount) ? 'schedulingStrategy DAEMON runs one task per instance: remove desiredCount' : 'schedulingStrategy DAEMON runs one task per instance: autoScaling needs a REPLICA service'",
        "message": "schedulingStrategy DAEMON does not run on Fargate and takes no placementStrategy, desiredCount, autoScaling or deploymentConfiguration.maximumPercent above 100"
    },
    {
        "rule": "!has(self.autoScaling) || !has(self.desiredCount) || (self.desiredCount >= self.autoScaling.minCapacity && self.desiredCount <= self.autoScaling.maxCapacity)",
        "message": "with autoScaling, desiredCount is only the count a new service starts with: it must lie within autoScaling.minCapacity and maxCapacity"
    },
    {
        "rule": "!has(self.serviceDiscovery) || !has(self.serviceRegistries) || size(self.serviceRegistries) == 0",
        "message": "serviceDiscovery fills the service's registry: remove serviceRegistries"
    },
    // Here rather than on the object: a rule on the object reaches the spec
    // through two more lookups (`self.spec`, `oldSelf.spec`), on every write.
    {
        "rule": "!has(oldSelf.serviceDiscovery) || has(self.serviceDiscovery)",
        "message": "spec.serviceDiscovery cannot be removed: its Cloud Map service goes with the object; create a new EcsService instead"
    }
]))]
pub struct EcsServiceSpec {
    /// The cluster to run in: a cluster name or full cluster ARN (default `default`).
    /// Immutable: ECS cannot move a service between clusters.
    #[serde(default = "default_cluster")]
    #[schemars(
        length(min = 1, max = 2048),
        extend("x-kubernetes-validations" = [
            {
                "rule": "self == oldSelf",
                "message": "cluster is immutable: ECS cannot move a service; create a new EcsService in the other cluster"
            }
        ])
    )]
    pub cluster: String,

    /// The ECS service name: 1–255 letters, digits, `-` and `_`, unique in the cluster.
    /// Defaults to the object's name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub service_name: Option<String>,

    /// An EcsTaskDefinition in this namespace. The service follows its current revision:
    /// each new revision rolls out as a new deployment. Exclusive with `taskDefinition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_ref: Option<TaskDefinitionRef>,

    /// A task definition managed outside this cluster: `family` (latest ACTIVE revision
    /// at the time of each update), `family:revision` or a full ARN. Exclusive with
    /// `taskDefinitionRef`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2048))]
    pub task_definition: Option<String>,

    /// How many tasks to keep running. Optional: when unset, the operator creates the
    /// service with 1 task (0 is allowed too) and never sets the count again, so an
    /// autoscaler (Application Auto Scaling, or `kubectl scale`) can own it. Not used by
    /// DAEMON services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub desired_count: Option<i32>,

    /// Where tasks run: `EC2`, `FARGATE` or `EXTERNAL`. Exclusive with
    /// `capacityProviderStrategy`; with neither, the cluster's default strategy applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,

    /// How tasks spread over capacity providers (e.g. FARGATE and FARGATE_SPOT).
    /// Exclusive with `launchType`.
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

    /// The VPC subnets and security groups of the tasks' network interfaces; required
    /// for task definitions with networkMode `awsvpc` (so for every Fargate service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,

    /// Load balancer target groups that receive the tasks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "atomic"))]
    pub load_balancers: Vec<LoadBalancer>,

    /// Cloud Map service registries the tasks are registered in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 1), extend("x-kubernetes-list-type" = "atomic"))]
    pub service_registries: Vec<ServiceRegistry>,

    // Boxed, like the other large optional parts below: every EcsService sits in
    // the controller's cache, most set none of them, and unset a box costs a pointer
    // instead of the part's whole size (see `tests::the_cached_object_stays_small`).
    /// How many tasks may run and must stay healthy during a deployment, and the
    /// deployment circuit breaker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<Box<DeploymentConfiguration>>,

    /// Rules every placement must satisfy (EC2 and EXTERNAL only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), extend("x-kubernetes-list-type" = "atomic"))]
    pub placement_constraints: Vec<PlacementConstraint>,

    /// How tasks are spread or packed over instances, in order of precedence (EC2 and
    /// EXTERNAL only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "atomic"))]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,

    /// `REPLICA` (default: keep desiredCount tasks) or `DAEMON` (one task per active
    /// instance; not on Fargate). Immutable.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-validations" = [
        {
            "rule": "self == oldSelf",
            "message": "schedulingStrategy is immutable: create a new EcsService to switch between REPLICA and DAEMON"
        }
    ]))]
    pub scheduling_strategy: SchedulingStrategy,

    /// Seconds after a task starts during which failing load balancer, Cloud Map or
    /// container health checks are ignored (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub health_check_grace_period_seconds: Option<i32>,

    /// Enables ECS Exec (`aws ecs execute-command`) into the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,

    /// Adds ECS's managed tags (`aws:ecs:clusterName`, `aws:ecs:serviceName`) to tasks.
    #[serde(default, rename = "enableECSManagedTags", skip_serializing_if = "Option::is_none")]
    pub enable_ecs_managed_tags: Option<bool>,

    /// Copies tags onto tasks at launch from the `SERVICE` or the `TASK_DEFINITION`
    /// (default `NONE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<PropagateTags>,

    /// Tags on the ECS service (at most 50).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["key"]))]
    pub tags: Vec<Tag>,

    /// Any string; changing it starts a new deployment of the same task definition
    /// (UpdateService with forceNewDeployment), like `kubectl rollout restart`. A
    /// timestamp is a good value. Not sent to ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub force_new_deployment_token: Option<String>,

    // Boxed: see `deployment_configuration`.
    /// Application Auto Scaling of the desired count. When set, the count belongs to
    /// the autoscaler: `desiredCount` only starts a new service and is never enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<Box<AutoScaling>>,

    // Boxed: see `deployment_configuration`.
    /// A Cloud Map service the operator creates for the tasks and puts into the
    /// service's `serviceRegistries`. Immutable once set; exclusive with `serviceRegistries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_discovery: Option<Box<ServiceDiscovery>>,

    /// What deleting this object does in ECS: `Delete` (default) scales the service to
    /// 0 and deletes it, with its scalable target and Cloud Map service; `Retain` leaves
    /// them all. Not sent to ECS.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// A reference to an EcsTaskDefinition in the same namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionRef {
    /// The EcsTaskDefinition's `metadata.name`.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A launch type a service can name directly (FARGATE_SPOT and MANAGED_INSTANCES are
/// capacity providers, used through `capacityProviderStrategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum LaunchType {
    /// EC2 container instances registered to the cluster.
    #[serde(rename = "EC2")]
    Ec2,
    /// AWS Fargate.
    #[serde(rename = "FARGATE")]
    Fargate,
    /// ECS Anywhere instances.
    #[serde(rename = "EXTERNAL")]
    External,
}

/// How a service schedules tasks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SchedulingStrategy {
    /// Keep `desiredCount` tasks running.
    #[default]
    Replica,
    /// One task on each active container instance.
    Daemon,
}

/// Which tags a service copies onto its tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PropagateTags {
    /// The task definition's tags.
    TaskDefinition,
    /// The service's tags.
    Service,
    /// None (ECS's default).
    None,
}

/// The network of awsvpc tasks (ECS `NetworkConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    /// The subnets, security groups and public IP setting of the tasks' interfaces.
    pub awsvpc_configuration: AwsVpcConfiguration,
}

/// Subnets and security groups of awsvpc tasks (ECS `AwsVpcConfiguration`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    /// Subnet IDs (1–16, all in one VPC), e.g. `subnet-0123456789abcdef0`. Fargate
    /// spreads tasks over their Availability Zones.
    #[schemars(length(min = 1, max = 16), extend("x-kubernetes-list-type" = "set"))]
    pub subnets: Vec<String>,
    /// Security group IDs (up to 5); the VPC's default group when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5), extend("x-kubernetes-list-type" = "set"))]
    pub security_groups: Vec<String>,
    /// Gives each task a public IP (`ENABLED`), needed on Fargate in a public subnet
    /// without a NAT gateway to pull images. Default `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<AssignPublicIp>,
}

/// Whether awsvpc tasks get a public IP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum AssignPublicIp {
    /// Yes.
    Enabled,
    /// No (the default).
    Disabled,
}

/// A load balancer target for the service's tasks (ECS `LoadBalancer`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// The ARN of an ALB or NLB target group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub target_group_arn: Option<String>,
    /// The name of a Classic Load Balancer (instead of a target group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub load_balancer_name: Option<String>,
    /// The container (from the task definition) that receives the traffic.
    #[schemars(length(min = 1, max = 255))]
    pub container_name: String,
    /// The container port (from its portMappings) that receives the traffic.
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: i32,
}

/// A Cloud Map registry for the service's tasks (ECS `ServiceRegistry`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    /// The ARN of the Cloud Map service.
    #[schemars(length(min = 1, max = 2048))]
    pub registry_arn: String,
    /// The port for SRV records (awsvpc tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i32>,
    /// The container whose port goes into SRV records (bridge and host modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// The container port for SRV records (bridge and host modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub container_port: Option<i32>,
}

/// How a rolling deployment proceeds (ECS `DeploymentConfiguration`).
///
/// With desired count D, ECS keeps at most floor(D × maximumPercent / 100) tasks
/// running or pending and at least ceil(D × minimumHealthyPercent / 100) healthy ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    /// Upper limit on RUNNING and PENDING tasks during a deployment, as a percentage of
    /// desiredCount, rounded down (100 or more; default 200 for REPLICA, 100 for DAEMON).
    /// 200 starts a full new set before stopping the old one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 2147483647))]
    pub maximum_percent: Option<i32>,
    /// Lower limit on healthy RUNNING tasks during a deployment, as a percentage of
    /// desiredCount, rounded up (0–100; default 100 for REPLICA, 0 for DAEMON). Below
    /// 100, ECS may stop old tasks before new ones are up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub minimum_healthy_percent: Option<i32>,
    /// Fails a deployment whose tasks keep failing to start or to become healthy, and
    /// optionally rolls back to the last completed deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// CloudWatch alarms that fail the deployment when they go into ALARM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
}

/// The deployment circuit breaker (ECS `DeploymentCircuitBreaker`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    /// Turns the breaker on: after a threshold of failed tasks (half the desired count,
    /// at least 3 and at most 200) the deployment becomes FAILED.
    pub enable: bool,
    /// Rolls a FAILED deployment back to the last COMPLETED one.
    pub rollback: bool,
}

/// CloudWatch alarms watched during deployments (ECS `DeploymentAlarms`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    /// The alarm names.
    #[schemars(length(min = 1, max = 10), extend("x-kubernetes-list-type" = "set"))]
    pub alarm_names: Vec<String>,
    /// Whether to watch the alarms.
    pub enable: bool,
    /// Rolls back when an alarm fires.
    pub rollback: bool,
}

/// A placement rule (ECS `PlacementConstraint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.type == 'memberOf' ? has(self.expression) : !has(self.expression)",
        "message": "placement constraint memberOf needs an expression and distinctInstance takes none"
    }
]))]
pub struct PlacementConstraint {
    /// `distinctInstance` (no two tasks of the service on one instance) or `memberOf`
    /// (only instances matching `expression`).
    #[serde(rename = "type")]
    pub type_: PlacementConstraintType,
    /// A cluster query language expression, for `memberOf`, e.g.
    /// `attribute:ecs.availability-zone in [us-east-1a, us-east-1b]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2000))]
    pub expression: Option<String>,
}

/// A placement constraint type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PlacementConstraintType {
    /// At most one task of the service per instance.
    #[serde(rename = "distinctInstance")]
    DistinctInstance,
    /// Only instances matching the expression.
    #[serde(rename = "memberOf")]
    MemberOf,
}

/// A placement strategy (ECS `PlacementStrategy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.type == 'random' ? !has(self.field) : has(self.field)",
        "message": "placement strategy binpack needs field cpu or memory, spread needs field instanceId, host or attribute:<name>, random takes no field"
    }
]))]
pub struct PlacementStrategy {
    /// `binpack` (fewest instances), `spread` (evenly over a field's values) or `random`.
    #[serde(rename = "type")]
    pub type_: PlacementStrategyType,
    /// For binpack: `cpu` or `memory`. For spread: `instanceId` (or `host`) or an
    /// attribute such as `attribute:ecs.availability-zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub field: Option<String>,
}

/// A placement strategy type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlacementStrategyType {
    /// Place on the instance with the least of `field` left.
    Binpack,
    /// Spread evenly over the values of `field`.
    Spread,
    /// Place randomly.
    Random,
}

/// What the operator observed in ECS. Nothing here is ever copied into `spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsServiceStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (the primary deployment completed with runningCount = desiredCount),
    /// `Progressing` (a deployment is in progress), `Degraded` (a deployment failed or
    /// tasks keep failing) and `Synced` (the last reconcile succeeded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The ECS service ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    /// The ARN of the cluster the service runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    /// ECS's status of the service: `ACTIVE`, `DRAINING` or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The desired count in ECS (set by this spec, an autoscaler or ECS itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    /// Tasks in the RUNNING state; the scale subresource's replica count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_count: Option<i32>,
    /// Tasks in the PENDING state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i32>,
    /// The task definition ARN of the primary deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// The revision in `taskDefinitionArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_revision: Option<i32>,
    /// The service's deployments, newest (PRIMARY) first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub deployments: Vec<Deployment>,
    /// The `forceNewDeploymentToken` the operator last acted on; a spec token that
    /// differs starts a new deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_new_deployment_token: Option<String>,
    // Boxed: see `EcsServiceSpec::deployment_configuration`.
    /// A redeploy the operator asked ECS for but has not yet seen start: recorded before
    /// the call, so that a restart in between neither loses nor repeats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_redeploy: Option<Box<PendingRedeploy>>,
    /// The ID of the newest ECS service event already published as a Kubernetes Event,
    /// so that a restarted controller does not publish it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_id: Option<String>,
    /// When ECS logged the event in `lastEventId` (used when that event has already
    /// dropped out of ECS's 100 most recent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_time: Option<Time>,
    /// The task definition of the last deployment that FAILED (circuit breaker or
    /// alarms). The operator does not roll it out again by itself: a new revision or a
    /// new `forceNewDeploymentToken` retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_task_definition: Option<String>,
    /// The optional spec fields this operator has applied to ECS, recorded after each
    /// successful apply. A field listed here that the spec no longer sets is reset in
    /// ECS (empty list, or ECS's default) and then dropped from the list; a field never
    /// listed (set in ECS by someone else) is left alone. `desiredCount` and
    /// `networkConfiguration` are never listed: removing them hands them over (to an
    /// autoscaler; ECS cannot unset a network) instead of resetting them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub applied_fields: Vec<SpecField>,
    /// The keys of the spec's tags this operator has put on the service, recorded after
    /// each successful apply. A key listed here that the spec no longer has is removed
    /// from ECS (UntagResource); tags added outside the operator are never listed, so
    /// never removed. The ownership tags are not listed: they always stay.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub applied_tags: Vec<String>,
    // Boxed: see `EcsServiceSpec::deployment_configuration`.
    /// The service's scalable target, policies and latest scaling activities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_scaling: Option<Box<AutoScalingStatus>>,
    // Boxed: see `EcsServiceSpec::deployment_configuration`.
    /// The Cloud Map service and how many tasks are registered in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_discovery: Option<Box<ServiceDiscoveryStatus>>,
}

/// An optional EcsService spec field that UpdateService can reset, by its spec path
/// (see `EcsServiceStatus.appliedFields`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub enum SpecField {
    /// Reset to `[]` (the cluster's default strategy).
    #[serde(rename = "capacityProviderStrategy")]
    CapacityProviderStrategy,
    /// Reset to `LATEST` (Fargate only).
    #[serde(rename = "platformVersion")]
    PlatformVersion,
    /// Reset to `[]`.
    #[serde(rename = "loadBalancers")]
    LoadBalancers,
    /// Reset to `[]`.
    #[serde(rename = "serviceRegistries")]
    ServiceRegistries,
    /// Reset to `[]`.
    #[serde(rename = "placementConstraints")]
    PlacementConstraints,
    /// Reset to `[]`.
    #[serde(rename = "placementStrategy")]
    PlacementStrategy,
    /// Reset to 0.
    #[serde(rename = "healthCheckGracePeriodSeconds")]
    HealthCheckGracePeriodSeconds,
    /// Reset to `false`.
    #[serde(rename = "enableExecuteCommand")]
    EnableExecuteCommand,
    /// Reset to `false`.
    #[serde(rename = "enableECSManagedTags")]
    EnableEcsManagedTags,
    /// Reset to `NONE`.
    #[serde(rename = "propagateTags")]
    PropagateTags,
    /// Reset to 200 (100 for DAEMON).
    #[serde(rename = "deploymentConfiguration.maximumPercent")]
    MaximumPercent,
    /// Reset to 100 (0 for DAEMON).
    #[serde(rename = "deploymentConfiguration.minimumHealthyPercent")]
    MinimumHealthyPercent,
    /// Reset to off (`enable: false, rollback: false`).
    #[serde(rename = "deploymentConfiguration.deploymentCircuitBreaker")]
    DeploymentCircuitBreaker,
    /// Reset to no alarms (`alarmNames: [], enable: false, rollback: false`).
    #[serde(rename = "deploymentConfiguration.alarms")]
    DeploymentAlarms,
    /// A value written by a newer version of the operator: ignored, so that the
    /// object still reads.
    #[serde(other)]
    #[schemars(skip)]
    Unknown,
}

/// A forced redeploy in flight (see `EcsServiceStatus.pendingRedeploy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingRedeploy {
    /// The `forceNewDeploymentToken` being acted on.
    pub token: String,
    /// The PRIMARY deployment before the redeploy; a different PRIMARY means it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_primary: Option<String>,
}

/// One ECS deployment of the service, as DescribeServices reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// The deployment ID (`ecs-svc/...`).
    pub id: String,
    /// `PRIMARY` (newest), `ACTIVE` (older, still has tasks) or `INACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The task definition ARN it deploys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    /// Tasks it should run (0 once replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    /// Its PENDING tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i32>,
    /// Its RUNNING tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_count: Option<i32>,
    /// Tasks that failed to start or became unhealthy (counted by the circuit breaker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_tasks: Option<i32>,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<RolloutState>,
    /// ECS's explanation of the rollout state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    /// The launch type its tasks use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    /// The Fargate platform version its tasks use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// When ECS created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When ECS last updated it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Time>,
}

/// The rollout state of a deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    /// Tasks are being replaced.
    InProgress,
    /// The deployment reached its desired count with healthy tasks.
    Completed,
    /// The circuit breaker or an alarm failed it.
    Failed,
}

impl EcsService {
    /// The ECS service name: `spec.serviceName`, or the object's name when unset.
    pub fn service_name(&self) -> String {
        self.spec.service_name.clone().unwrap_or_else(|| self.name_any())
    }

    /// The primary (newest) deployment, if ECS reported one.
    pub fn primary_deployment(&self) -> Option<&Deployment> {
        self.status.as_ref()?.deployments.iter().find(|d| d.status.as_deref() == Some("PRIMARY"))
    }

    /// Whether the status describes the current spec.
    pub fn is_observed(&self) -> bool {
        let generation = self.metadata.generation;
        generation.is_some() && self.status.as_ref().and_then(|s| s.observed_generation) == generation
    }

    /// Whether the spec asks for a redeploy the operator has not acted on yet.
    pub fn wants_forced_deployment(&self) -> bool {
        match &self.spec.force_new_deployment_token {
            None => false,
            Some(token) => self.status.as_ref().and_then(|s| s.force_new_deployment_token.as_ref()) != Some(token),
        }
    }
}

impl EcsServiceSpec {
    /// Whether the tasks run on Fargate (by launch type or by a Fargate capacity provider).
    pub fn uses_fargate(&self) -> bool {
        self.launch_type == Some(LaunchType::Fargate)
            || self
                .capacity_provider_strategy
                .iter()
                .flatten()
                .any(|item| item.capacity_provider == "FARGATE" || item.capacity_provider == "FARGATE_SPOT")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(name: &str, spec: serde_json::Value) -> EcsService {
        EcsService::new(name, serde_json::from_value(spec).expect("valid spec"))
    }

    /// The controller caches every EcsService (1.66 KB each before the large
    /// optional parts were boxed): a new inline field of some size shows here.
    #[test]
    fn the_cached_object_stays_small() {
        assert!(std::mem::size_of::<EcsService>() <= 1_150, "{} bytes", std::mem::size_of::<EcsService>());
    }

    #[test]
    fn service_name_and_cluster_default_like_ecs() {
        let svc = service("web", serde_json::json!({"taskDefinition": "web"}));
        assert_eq!(svc.service_name(), "web");
        assert_eq!(svc.spec.cluster, DEFAULT_CLUSTER);
        assert_eq!(svc.spec.scheduling_strategy, SchedulingStrategy::Replica);
        assert_eq!(svc.spec.desired_count, None);
        let named =
            service("web", serde_json::json!({"taskDefinition": "web", "serviceName": "web-v2", "cluster": "prod"}));
        assert_eq!(named.service_name(), "web-v2");
        assert_eq!(named.spec.cluster, "prod");
    }

    #[test]
    fn fargate_by_launch_type_or_capacity_provider() {
        let by_launch_type = service("a", serde_json::json!({"taskDefinition": "t", "launchType": "FARGATE"}));
        let by_spot = service(
            "b",
            serde_json::json!({"taskDefinition": "t", "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT"}]}),
        );
        let on_ec2 = service("c", serde_json::json!({"taskDefinition": "t", "launchType": "EC2"}));
        let by_asg = service(
            "d",
            serde_json::json!({"taskDefinition": "t", "capacityProviderStrategy": [{"capacityProvider": "my-asg"}]}),
        );
        assert!(by_launch_type.spec.uses_fargate());
        assert!(by_spot.spec.uses_fargate());
        assert!(!on_ec2.spec.uses_fargate());
        assert!(!by_asg.spec.uses_fargate());
    }

    #[test]
    fn a_changed_token_asks_for_a_forced_deployment_once() {
        let mut svc = service("web", serde_json::json!({"taskDefinition": "web"}));
        assert!(!svc.wants_forced_deployment(), "no token, nothing to force");
        svc.spec.force_new_deployment_token = Some("1".into());
        assert!(svc.wants_forced_deployment());
        svc.status = Some(EcsServiceStatus { force_new_deployment_token: Some("1".into()), ..Default::default() });
        assert!(!svc.wants_forced_deployment(), "already acted on");
        svc.spec.force_new_deployment_token = Some("2".into());
        assert!(svc.wants_forced_deployment());
    }

    #[test]
    fn the_primary_deployment_is_found_by_status() {
        let mut svc = service("web", serde_json::json!({"taskDefinition": "web"}));
        assert!(svc.primary_deployment().is_none());
        let deployments: Vec<Deployment> = serde_json::from_value(serde_json::json!([
            {"id": "ecs-svc/2", "status": "ACTIVE", "rolloutState": "COMPLETED"},
            {"id": "ecs-svc/3", "status": "PRIMARY", "rolloutState": "IN_PROGRESS", "createdAt": "2026-11-27T10:00:00Z"}
        ]))
        .unwrap();
        svc.status = Some(EcsServiceStatus { deployments, ..Default::default() });
        let primary = svc.primary_deployment().unwrap();
        assert_eq!(primary.id, "ecs-svc/3");
        assert_eq!(primary.rollout_state, Some(RolloutState::InProgress));
    }

    #[test]
    fn ecs_field_names_round_trip() {
        let json = serde_json::json!({
            "cluster": "default",
            "taskDefinitionRef": {"name": "web"},
            "enableECSManagedTags": true,
            "propagateTags": "TASK_DEFINITION",
            "schedulingStrategy": "REPLICA",
            "deletionPolicy": "Delete",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"], "assignPublicIp": "ENABLED"}},
            "placementConstraints": [{"type": "distinctInstance"}],
            "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
            "deploymentConfiguration": {"maximumPercent": 150, "deploymentCircuitBreaker": {"enable": true, "rollback": false}}
        });
        let spec: EcsServiceSpec = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(spec.enable_ecs_managed_tags, Some(true));
        assert_eq!(serde_json::to_value(&spec).unwrap(), json);
    }
}
