//! The operations of every AWS service served on the emulator's port, one
//! file per family. Each handler parses its input
//! ([`crate::emulator::wire`]), takes the locks it needs ([`crate::emulator::state`]),
//! checks the service's rules ([`crate::emulator::rules`]), lets the simulation act
//! ([`crate::emulator::sim`]) and renders the answer. Handlers never call one
//! another: this file is the only one that names them all, in [`SERVICES`]:
//! one entry per service (its `X-Amz-Target` prefix, its operations, its
//! error dialect), so serving another service is a table entry.

mod account_settings;
mod agent_calls;
mod attributes;
mod autoscaling;
mod capacity_providers;
mod cloudwatch;
mod clusters;
mod container_instances;
mod daemon_task_definitions;
mod daemons;
mod execute_command;
mod express_services;
mod gateways;
mod logs;
mod namespaces;
mod service_deployments;
mod service_discovery;
mod services;
mod tags;
mod task_definitions;
mod task_protection;
mod task_sets;
mod tasks;

use crate::emulator::state::Store;
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::error::{Dialect, EcsResult};
use crate::emulator::wire::protocols::{Protocols, Query};

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
    ("StopServiceDeployment", value_op!(service_deployments::stop_service_deployment)),
    ("ContinueServiceDeployment", value_op!(service_deployments::continue_service_deployment)),
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
    ("CreateCapacityProvider", value_op!(capacity_providers::create_capacity_provider)),
    ("DescribeCapacityProviders", capacity_providers::describe_capacity_providers),
    ("UpdateCapacityProvider", value_op!(capacity_providers::update_capacity_provider)),
    ("DeleteCapacityProvider", value_op!(capacity_providers::delete_capacity_provider)),
    ("PutClusterCapacityProviders", value_op!(capacity_providers::put_cluster_capacity_providers)),
    ("CreateTaskSet", task_sets::create_task_set),
    ("DescribeTaskSets", task_sets::describe_task_sets),
    ("UpdateTaskSet", task_sets::update_task_set),
    ("UpdateServicePrimaryTaskSet", task_sets::update_service_primary_task_set),
    ("DeleteTaskSet", task_sets::delete_task_set),
    ("RegisterDaemonTaskDefinition", value_op!(daemon_task_definitions::register_daemon_task_definition)),
    ("DescribeDaemonTaskDefinition", value_op!(daemon_task_definitions::describe_daemon_task_definition)),
    ("ListDaemonTaskDefinitions", value_op!(daemon_task_definitions::list_daemon_task_definitions)),
    ("DeleteDaemonTaskDefinition", value_op!(daemon_task_definitions::delete_daemon_task_definition)),
    ("CreateDaemon", value_op!(daemons::create_daemon)),
    ("UpdateDaemon", value_op!(daemons::update_daemon)),
    ("DeleteDaemon", value_op!(daemons::delete_daemon)),
    ("DescribeDaemon", value_op!(daemons::describe_daemon)),
    ("ListDaemons", value_op!(daemons::list_daemons)),
    ("DescribeDaemonDeployments", value_op!(daemons::describe_daemon_deployments)),
    ("ListDaemonDeployments", value_op!(daemons::list_daemon_deployments)),
    ("DescribeDaemonRevisions", value_op!(daemons::describe_daemon_revisions)),
    ("CreateExpressGatewayService", value_op!(express_services::create_express_gateway_service)),
    ("UpdateExpressGatewayService", value_op!(express_services::update_express_gateway_service)),
    ("DeleteExpressGatewayService", value_op!(express_services::delete_express_gateway_service)),
    ("DescribeExpressGatewayService", value_op!(express_services::describe_express_gateway_service)),
    ("CreateGateway", value_op!(gateways::create_gateway)),
    ("UpdateGateway", value_op!(gateways::update_gateway)),
    ("DeleteGateway", value_op!(gateways::delete_gateway)),
    ("DescribeGateway", value_op!(gateways::describe_gateway)),
    ("ListGateways", value_op!(gateways::list_gateways)),
    ("DescribeGatewayResources", value_op!(gateways::describe_gateway_resources)),
    ("DescribeGatewayRoute", value_op!(gateways::describe_gateway_route)),
    ("ListGatewayRoutes", value_op!(gateways::list_gateway_routes)),
    ("AssociateGatewayWithCluster", value_op!(gateways::associate_gateway_with_cluster)),
    ("DisassociateGatewayFromCluster", value_op!(gateways::disassociate_gateway_from_cluster)),
    ("ListGatewayClusterAssociations", value_op!(gateways::list_gateway_cluster_associations)),
    ("ExecuteCommand", value_op!(execute_command::execute_command)),
];

/// The `X-Amz-Target` prefix of ECS's API version 2014-11-13.
pub const ECS_TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";

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

/// The `X-Amz-Target` prefix of Application Auto Scaling (API 2016-02-06).
pub const AUTOSCALING_TARGET_PREFIX: &str = "AnyScaleFrontendService.";

/// The Application Auto Scaling operations served on the same port (for
/// the `ecs` namespace).
pub const AUTOSCALING_OPERATIONS: &[(&str, Handler)] = &[
    ("RegisterScalableTarget", value_op!(autoscaling::register_scalable_target)),
    ("DescribeScalableTargets", value_op!(autoscaling::describe_scalable_targets)),
    ("DeregisterScalableTarget", value_op!(autoscaling::deregister_scalable_target)),
    ("PutScalingPolicy", value_op!(autoscaling::put_scaling_policy)),
    ("DescribeScalingPolicies", value_op!(autoscaling::describe_scaling_policies)),
    ("DeleteScalingPolicy", value_op!(autoscaling::delete_scaling_policy)),
    ("PutScheduledAction", value_op!(autoscaling::put_scheduled_action)),
    ("DescribeScheduledActions", value_op!(autoscaling::describe_scheduled_actions)),
    ("DeleteScheduledAction", value_op!(autoscaling::delete_scheduled_action)),
    ("DescribeScalingActivities", value_op!(autoscaling::describe_scaling_activities)),
    ("TagResource", value_op!(autoscaling::tag_resource)),
    ("UntagResource", value_op!(autoscaling::untag_resource)),
    ("ListTagsForResource", value_op!(autoscaling::list_tags_for_resource)),
];

/// The `X-Amz-Target` prefix of AWS Cloud Map (API 2017-03-14).
pub const CLOUD_MAP_TARGET_PREFIX: &str = "Route53AutoNaming_v20170314.";

/// The Cloud Map operations served on the same port.
pub const CLOUD_MAP_OPERATIONS: &[(&str, Handler)] = &[
    ("CreatePrivateDnsNamespace", value_op!(service_discovery::create_private_dns_namespace)),
    ("CreatePublicDnsNamespace", value_op!(service_discovery::create_public_dns_namespace)),
    ("CreateHttpNamespace", value_op!(service_discovery::create_http_namespace)),
    ("GetNamespace", value_op!(service_discovery::get_namespace)),
    ("ListNamespaces", value_op!(service_discovery::list_namespaces)),
    ("DeleteNamespace", value_op!(service_discovery::delete_namespace)),
    ("GetOperation", value_op!(service_discovery::get_operation)),
    ("ListOperations", value_op!(service_discovery::list_operations)),
    ("CreateService", value_op!(service_discovery::create_service)),
    ("GetService", value_op!(service_discovery::get_service)),
    ("ListServices", value_op!(service_discovery::list_services)),
    ("UpdateService", value_op!(service_discovery::update_service)),
    ("DeleteService", value_op!(service_discovery::delete_service)),
    ("RegisterInstance", value_op!(service_discovery::register_instance)),
    ("DeregisterInstance", value_op!(service_discovery::deregister_instance)),
    ("GetInstance", value_op!(service_discovery::get_instance)),
    ("ListInstances", value_op!(service_discovery::list_instances)),
    ("GetInstancesHealthStatus", value_op!(service_discovery::get_instances_health_status)),
    ("UpdateInstanceCustomHealthStatus", value_op!(service_discovery::update_instance_custom_health_status)),
    ("DiscoverInstances", value_op!(service_discovery::discover_instances)),
    ("DiscoverInstancesRevision", value_op!(service_discovery::discover_instances_revision)),
    ("TagResource", value_op!(service_discovery::tag_resource)),
    ("UntagResource", value_op!(service_discovery::untag_resource)),
    ("ListTagsForResource", value_op!(service_discovery::list_tags_for_resource)),
];

/// The `X-Amz-Target` prefix of CloudWatch (API 2010-08-01).
pub const CLOUDWATCH_TARGET_PREFIX: &str = "GraniteServiceVersion20100801.";

/// The CloudWatch operations served on the same port (metrics only).
pub const CLOUDWATCH_OPERATIONS: &[(&str, Handler)] = &[
    ("GetMetricStatistics", value_op!(cloudwatch::get_metric_statistics)),
    ("GetMetricData", value_op!(cloudwatch::get_metric_data)),
    ("ListMetrics", value_op!(cloudwatch::list_metrics)),
    ("PutMetricData", value_op!(cloudwatch::put_metric_data)),
];

/// How the services are reached besides AWS JSON 1.1 at `POST /`: one
/// row per service whose model lists more (or another JSON version).
pub const PROTOCOLS: &[Protocols] = &[
    Protocols {
        target_prefix: CLOUDWATCH_TARGET_PREFIX,
        json_content_type: "application/x-amz-json-1.0",
        cbor_service: Some("GraniteServiceVersion20100801"),
        query: Some(Query { version: "2010-08-01", xmlns: "http://monitoring.amazonaws.com/doc/2010-08-01/" }),
        query_compatible: true,
        timestamps: &["Timestamp", "Timestamps"],
    },
    Protocols {
        target_prefix: CLOUD_MAP_TARGET_PREFIX,
        json_content_type: "application/x-amz-json-1.1",
        cbor_service: Some("Route53AutoNaming_v20170314"),
        query: None,
        query_compatible: false,
        timestamps: &["CreateDate", "UpdateDate"],
    },
];

/// One AWS service on the emulator's port.
#[derive(Debug)]
pub struct Service {
    /// What `X-Amz-Target` starts with (`<Prefix>.<Operation>`).
    pub target_prefix: &'static str,
    pub operations: &'static [(&'static str, Handler)],
    /// Operations of the service's model that are not served: they answer
    /// `UnsupportedFeatureException`, never a silent success.
    pub unsupported: &'static [&'static str],
    /// How the service writes its errors.
    pub dialect: Dialect,
    /// Whether request counters and fault rules name an operation by its
    /// full target (`AnyScaleFrontendService.TagResource`) rather than its
    /// bare name. ECS's and Logs' names are disjoint and have always been
    /// bare; later services are qualified, as their names clash with ECS's.
    pub qualified_names: bool,
}

impl Service {
    /// The name counters and fault rules use for operation `name`.
    pub fn counter_name(&self, name: &str) -> String {
        if self.qualified_names { format!("{}{name}", self.target_prefix) } else { name.to_owned() }
    }
}

/// Every service served, ECS first. Operations are numbered across the
/// table in this order (the numbering the request counters use).
pub const SERVICES: &[Service] = &[
    Service {
        target_prefix: ECS_TARGET_PREFIX,
        operations: OPERATIONS,
        unsupported: UNSUPPORTED_OPERATIONS,
        dialect: Dialect::ECS,
        qualified_names: false,
    },
    Service {
        target_prefix: LOGS_TARGET_PREFIX,
        operations: LOGS_OPERATIONS,
        unsupported: &[],
        dialect: Dialect::ECS,
        qualified_names: false,
    },
    Service {
        target_prefix: AUTOSCALING_TARGET_PREFIX,
        operations: AUTOSCALING_OPERATIONS,
        unsupported: &["GetPredictiveScalingForecast"],
        dialect: Dialect::AUTOSCALING,
        qualified_names: true,
    },
    Service {
        target_prefix: CLOUD_MAP_TARGET_PREFIX,
        operations: CLOUD_MAP_OPERATIONS,
        unsupported: &[
            "DeleteServiceAttributes",
            "GetServiceAttributes",
            "UpdateHttpNamespace",
            "UpdatePrivateDnsNamespace",
            "UpdatePublicDnsNamespace",
            "UpdateServiceAttributes",
        ],
        dialect: Dialect::CLOUD_MAP,
        qualified_names: true,
    },
    Service {
        target_prefix: CLOUDWATCH_TARGET_PREFIX,
        operations: CLOUDWATCH_OPERATIONS,
        unsupported: CLOUDWATCH_UNSUPPORTED,
        dialect: Dialect::CLOUDWATCH,
        qualified_names: true,
    },
];

/// CloudWatch's operations other than the metric reads and writes.
const CLOUDWATCH_UNSUPPORTED: &[&str] = &[
    "DeleteAlarmMuteRule",
    "DeleteAlarms",
    "DeleteAnomalyDetector",
    "DeleteDashboards",
    "DeleteInsightRules",
    "DeleteMetricStream",
    "DescribeAlarmContributors",
    "DescribeAlarmHistory",
    "DescribeAlarms",
    "DescribeAlarmsForMetric",
    "DescribeAnomalyDetectors",
    "DescribeInsightRules",
    "DisableAlarmActions",
    "DisableInsightRules",
    "EnableAlarmActions",
    "EnableInsightRules",
    "GetAlarmMuteRule",
    "GetDashboard",
    "GetInsightRuleReport",
    "GetMetricStream",
    "GetMetricWidgetImage",
    "GetOTelEnrichment",
    "ListAlarmMuteRules",
    "ListDashboards",
    "ListManagedInsightRules",
    "ListMetricStreams",
    "ListTagsForResource",
    "PutAlarmMuteRule",
    "PutAnomalyDetector",
    "PutCompositeAlarm",
    "PutDashboard",
    "PutInsightRule",
    "PutManagedInsightRules",
    "PutMetricAlarm",
    "PutMetricStream",
    "SetAlarmState",
    "StartMetricStreams",
    "StartOTelEnrichment",
    "StopMetricStreams",
    "StopOTelEnrichment",
    "TagResource",
    "UntagResource",
];

/// One operation resolved from the table.
#[derive(Clone, Copy, Debug)]
pub struct Operation {
    pub service: &'static Service,
    pub name: &'static str,
    pub handler: Handler,
    /// Its number across [`SERVICES`].
    pub index: usize,
}

/// Every operation served, numbered across [`SERVICES`].
pub fn all_operations() -> impl Iterator<Item = Operation> {
    SERVICES
        .iter()
        .flat_map(|service| service.operations.iter().map(move |(name, handler)| (service, *name, *handler)))
        .enumerate()
        .map(|(index, (service, name, handler))| Operation { service, name, handler, index })
}

/// The names counters and fault rules use, in operation order.
pub fn counter_names() -> Vec<String> {
    all_operations().map(|op| op.service.counter_name(op.name)).collect()
}

/// Why a target names no operation that is served.
#[derive(Debug, Clone, Copy)]
pub enum Unresolved {
    /// No service has this prefix.
    UnknownTarget,
    /// The service is known; the operation is not in its model.
    UnknownOperation(&'static Service),
    /// The operation is in the service's model but not served.
    Unsupported(&'static Service),
}

/// The operation an `X-Amz-Target` names.
pub fn resolve(target: &str) -> Result<Operation, Unresolved> {
    let service = SERVICES.iter().find(|s| target.starts_with(s.target_prefix)).ok_or(Unresolved::UnknownTarget)?;
    let name = &target[service.target_prefix.len()..];
    if let Some(op) = all_operations().find(|op| std::ptr::eq(op.service, service) && op.name == name) {
        return Ok(op);
    }
    if service.unsupported.contains(&name) {
        return Err(Unresolved::Unsupported(service));
    }
    Err(Unresolved::UnknownOperation(service))
}

/// ECS operations that exist in the model but that this emulator does not
/// implement: they get `UnsupportedFeatureException`, never a silent success.
pub const UNSUPPORTED_OPERATIONS: &[&str] = &[];
