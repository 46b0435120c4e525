//! ECS's operations, one file per family. Each handler parses its input
//! ([`crate::emulator::wire`]), takes the locks it needs ([`crate::emulator::state`]),
//! checks ECS's rules ([`crate::emulator::rules`]), lets the simulation act
//! ([`crate::emulator::sim`]) and renders ECS's answer. Handlers never call one
//! another: this file is the only one that names them all.

mod account_settings;
mod agent_calls;
mod attributes;
mod clusters;
mod container_instances;
mod logs;
mod namespaces;
mod service_deployments;
mod services;
mod tags;
mod task_definitions;
mod task_protection;
mod tasks;

use crate::emulator::state::Store;
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::error::EcsResult;

/// One operation: the store and the raw body in, ECS's answer out.
pub type Handler = fn(&Store, &[u8]) -> EcsResult<Reply>;

/// Adapts an operation that answers with a `Value`.
macro_rules! value_op {
    ($f:path) => {
        |store: &Store, body: &[u8]| $f(store, body).map(Reply::from)
    };
}

/// Every operation this emulator serves, by ECS's operation name.
pub const OPERATIONS: &[(&str, Handler)] = &[
    ("CreateCluster", value_op!(clusters::create_cluster)),
    ("DescribeClusters", clusters::describe_clusters),
    ("ListClusters", clusters::list_clusters),
    ("UpdateCluster", value_op!(clusters::update_cluster)),
    ("UpdateClusterSettings", value_op!(clusters::update_cluster_settings)),
    ("DeleteCluster", value_op!(clusters::delete_cluster)),
    ("RegisterTaskDefinition", value_op!(task_definitions::register_task_definition)),
    ("DescribeTaskDefinition", task_definitions::describe_task_definition),
    ("ListTaskDefinitions", value_op!(task_definitions::list_task_definitions)),
    ("ListTaskDefinitionFamilies", value_op!(task_definitions::list_task_definition_families)),
    ("DeregisterTaskDefinition", value_op!(task_definitions::deregister_task_definition)),
    ("DeleteTaskDefinitions", value_op!(task_definitions::delete_task_definitions)),
    ("CreateService", value_op!(services::create_service)),
    ("DescribeServices", services::describe_services),
    ("ListServices", services::list_services),
    ("UpdateService", services::update_service),
    ("DeleteService", value_op!(services::delete_service)),
    ("ListServiceDeployments", value_op!(service_deployments::list_service_deployments)),
    ("DescribeServiceDeployments", value_op!(service_deployments::describe_service_deployments)),
    ("DescribeServiceRevisions", value_op!(service_deployments::describe_service_revisions)),
    ("RunTask", tasks::run_task),
    ("StartTask", value_op!(tasks::start_task)),
    ("StopTask", tasks::stop_task),
    ("DescribeTasks", tasks::describe_tasks),
    ("ListTasks", tasks::list_tasks),
    ("RegisterContainerInstance", value_op!(container_instances::register_container_instance)),
    ("DeregisterContainerInstance", value_op!(container_instances::deregister_container_instance)),
    ("DescribeContainerInstances", value_op!(container_instances::describe_container_instances)),
    ("ListContainerInstances", value_op!(container_instances::list_container_instances)),
    ("UpdateContainerInstancesState", value_op!(container_instances::update_container_instances_state)),
    ("PutAttributes", value_op!(attributes::put_attributes)),
    ("ListAttributes", value_op!(attributes::list_attributes)),
    ("DeleteAttributes", value_op!(attributes::delete_attributes)),
    ("TagResource", value_op!(tags::tag_resource)),
    ("UntagResource", value_op!(tags::untag_resource)),
    ("ListTagsForResource", value_op!(tags::list_tags_for_resource)),
    ("PutAccountSetting", value_op!(account_settings::put_account_setting)),
    ("PutAccountSettingDefault", value_op!(account_settings::put_account_setting_default)),
    ("ListAccountSettings", account_settings::list_account_settings),
    ("DeleteAccountSetting", value_op!(account_settings::delete_account_setting)),
    ("UpdateTaskProtection", value_op!(task_protection::update_task_protection)),
    ("GetTaskProtection", value_op!(task_protection::get_task_protection)),
    ("ListServicesByNamespace", namespaces::list_services_by_namespace),
    ("DiscoverPollEndpoint", value_op!(agent_calls::discover_poll_endpoint)),
    ("SubmitTaskStateChange", value_op!(agent_calls::submit_task_state_change)),
    ("SubmitContainerStateChange", value_op!(agent_calls::submit_container_state_change)),
    ("SubmitAttachmentStateChanges", value_op!(agent_calls::submit_attachment_state_changes)),
    ("UpdateContainerAgent", value_op!(agent_calls::update_container_agent)),
];

/// The `X-Amz-Target` prefix of CloudWatch Logs (API 2014-03-28).
pub const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";

/// The CloudWatch Logs operations served on the same port.
pub const LOGS_OPERATIONS: &[(&str, Handler)] = &[
    ("CreateLogGroup", value_op!(logs::create_log_group)),
    ("DeleteLogGroup", value_op!(logs::delete_log_group)),
    ("DescribeLogGroups", value_op!(logs::describe_log_groups)),
    ("CreateLogStream", value_op!(logs::create_log_stream)),
    ("DescribeLogStreams", value_op!(logs::describe_log_streams)),
    ("PutLogEvents", value_op!(logs::put_log_events)),
    ("GetLogEvents", value_op!(logs::get_log_events)),
    ("FilterLogEvents", value_op!(logs::filter_log_events)),
];

/// Operation `index` of [`OPERATIONS`] followed by [`LOGS_OPERATIONS`] (the
/// numbering the request counters use).
pub fn operation_at(index: usize) -> (&'static str, Handler) {
    OPERATIONS.get(index).copied().unwrap_or_else(|| LOGS_OPERATIONS[index - OPERATIONS.len()])
}

/// Every operation served, ECS's then CloudWatch Logs'.
pub fn all_operations() -> impl Iterator<Item = &'static (&'static str, Handler)> {
    OPERATIONS.iter().chain(LOGS_OPERATIONS)
}

/// ECS operations that exist in the model but that this emulator does not
/// implement: they get `UnsupportedFeatureException`, never a silent success.
pub const UNSUPPORTED_OPERATIONS: &[&str] = &[
    "AssociateGatewayWithCluster",
    "ContinueServiceDeployment",
    "CreateCapacityProvider",
    "CreateDaemon",
    "CreateExpressGatewayService",
    "CreateGateway",
    "CreateTaskSet",
    "DeleteCapacityProvider",
    "DeleteDaemon",
    "DeleteDaemonTaskDefinition",
    "DeleteExpressGatewayService",
    "DeleteGateway",
    "DeleteTaskSet",
    "DescribeCapacityProviders",
    "DescribeDaemon",
    "DescribeDaemonDeployments",
    "DescribeDaemonRevisions",
    "DescribeDaemonTaskDefinition",
    "DescribeExpressGatewayService",
    "DescribeGateway",
    "DescribeGatewayResources",
    "DescribeGatewayRoute",
    "DescribeTaskSets",
    "DisassociateGatewayFromCluster",
    "ExecuteCommand",
    "ListDaemonDeployments",
    "ListDaemonTaskDefinitions",
    "ListDaemons",
    "ListGatewayClusterAssociations",
    "ListGatewayRoutes",
    "ListGateways",
    "PutClusterCapacityProviders",
    "RegisterDaemonTaskDefinition",
    "StopServiceDeployment",
    "UpdateCapacityProvider",
    "UpdateDaemon",
    "UpdateExpressGatewayService",
    "UpdateGateway",
    "UpdateServicePrimaryTaskSet",
    "UpdateTaskSet",
];
