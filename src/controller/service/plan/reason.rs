//! The reasons of the EcsService's conditions, beyond those all kinds share.

pub use crate::controller::status::reason::*;
/// Ready: one COMPLETED deployment with runningCount = desiredCount.
pub const STEADY: &str = "Steady";
/// Ready=False / Progressing: a deployment is rolling out.
pub const ROLLOUT_IN_PROGRESS: &str = "RolloutInProgress";
/// Progressing=False: the last deployment completed.
pub const ROLLOUT_COMPLETE: &str = "RolloutComplete";
/// Progressing: the circuit breaker is rolling back.
pub const ROLLING_BACK: &str = "RollingBack";
/// Degraded/Ready=False: the deployment of the spec's revision failed.
pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";
/// Degraded/Ready=False: the circuit breaker rolled back to the previous deployment.
pub const ROLLED_BACK: &str = "RolledBack";
/// Degraded: tasks of the rolling deployment fail to start.
pub const TASKS_FAILING: &str = "TasksFailing";
/// Degraded=False.
pub const HEALTHY: &str = "Healthy";
/// Ready=False: a service of that name exists in ECS and is not this object's.
pub const ALREADY_EXISTS: &str = "AlreadyExists";
/// The referenced EcsTaskDefinition does not exist.
pub const TASK_DEFINITION_NOT_FOUND: &str = "TaskDefinitionNotFound";
/// The referenced EcsTaskDefinition has no ready revision yet.
pub const TASK_DEFINITION_NOT_READY: &str = "TaskDefinitionNotReady";
/// The ECS cluster does not exist.
pub const CLUSTER_NOT_FOUND: &str = "ClusterNotFound";
/// A service of that name is still DRAINING in ECS.
pub const DRAINING: &str = "Draining";
/// ECS is being asked for a redeploy.
pub const REDEPLOYING: &str = "Redeploying";
