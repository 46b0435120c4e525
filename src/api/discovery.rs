//! `EcsService.spec.serviceDiscovery`: a Cloud Map service the operator creates and
//! owns for the ECS service, wired into its `serviceRegistries`, and what the status
//! reports of it.
//!
//! Cloud Map cannot rename a service or move it to another namespace, so the whole
//! field is immutable once set (a CEL rule says so); it may be added to a running
//! EcsService but not removed (delete the object, or create a new one).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Cloud Map service of the ECS service's tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self == oldSelf",
        "message": "serviceDiscovery is immutable: Cloud Map cannot rename or move a service; create a new EcsService instead"
    },
    {
        "rule": "has(self.namespaceName) != has(self.namespaceId)",
        "message": "set exactly one of serviceDiscovery.namespaceName and serviceDiscovery.namespaceId"
    },
    {
        "rule": "!has(self.dnsRecords) || !self.dnsRecords.exists(r, r.type == 'SRV') || has(self.port) || has(self.containerPort)",
        "message": "an SRV record needs a port: set serviceDiscovery.port (awsvpc) or containerName and containerPort (bridge, host)"
    },
    {
        "rule": "has(self.containerName) == has(self.containerPort)",
        "message": "serviceDiscovery.containerName and containerPort go together"
    },
    {
        "rule": "!has(self.port) || !has(self.containerPort)",
        "message": "serviceDiscovery.port and containerPort are mutually exclusive"
    }
]))]
pub struct ServiceDiscovery {
    /// The Cloud Map namespace by name (e.g. `internal.local`); it must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub namespace_name: Option<String>,
    /// The Cloud Map namespace by ID (`ns-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub namespace_id: Option<String>,
    /// The Cloud Map service name (default: the ECS service name). Tasks are found as
    /// `<name>.<namespace>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 127), regex(pattern = r"^[a-zA-Z0-9_]([a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_])?$"))]
    pub name: Option<String>,
    /// The DNS records Route 53 answers for each task (DNS namespaces only; leave empty
    /// for an HTTP namespace).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 2), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub dns_records: Vec<DnsRecord>,
    /// Lets ECS report the tasks' health to Cloud Map (a task unhealthy in ECS is
    /// unhealthy in Cloud Map).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_custom_config: Option<HealthCheckCustomConfig>,
    /// The port registered for each task (awsvpc), for SRV records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i32>,
    /// The container whose port is registered (bridge and host networking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    pub container_name: Option<String>,
    /// The container port registered (bridge and host networking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub container_port: Option<i32>,
}

/// A DNS record type Cloud Map creates for ECS tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DnsRecordType {
    /// The task's IPv4 address.
    A,
    /// The task's address and port.
    #[serde(rename = "SRV")]
    Srv,
}

impl DnsRecordType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::Srv => "SRV",
        }
    }
}

/// One DNS record of the Cloud Map service.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    #[serde(rename = "type")]
    pub type_: DnsRecordType,
    /// Seconds resolvers cache the record (default 60).
    #[serde(default = "default_ttl")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub ttl: i64,
}

fn default_ttl() -> i64 {
    60
}

/// Cloud Map's custom health check: ECS reports the status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckCustomConfig {
    /// Deprecated by Cloud Map (always 1): accepted for compatibility, not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub failure_threshold: Option<i32>,
}

/// What the status reports of the Cloud Map service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDiscoveryStatus {
    /// The namespace's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace_id: Option<String>,
    /// The Cloud Map service's ID (`srv-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
    /// Its ARN, the ECS service's `serviceRegistries[0].registryArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_arn: Option<String>,
    /// How many instances (tasks) are registered in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_count: Option<i32>,
}
