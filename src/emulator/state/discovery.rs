//! Cloud Map's records: namespaces, services, their instances, the
//! operations the asynchronous calls answer with, and tags. Account-wide,
//! under one lock ([`crate::emulator::state::Store::discovery`]); every
//! write is a [`DiscoveryChange`], journaled with the rest of the state
//! under `--state-dir`.
//!
//! Lock order: a cluster's lock before this one (the simulation registers
//! a cluster's tasks while it holds that cluster), never the other way.
//!
//! The DNS and health check configurations are kept in the API's own
//! shapes (PascalCase, optionals left out), so what Get answers is exactly
//! what was put.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emulator::state::ids::random_u128;
use crate::emulator::state::records::Timestamp;

/// Operations kept (the oldest are forgotten first): every registration
/// makes one, and AWS keeps them only for a while too.
pub const MAX_OPERATIONS: usize = 1000;

/// One namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    pub id: String,
    pub arn: String,
    pub name: String,
    /// `DNS_PRIVATE`, `DNS_PUBLIC` or `HTTP`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    /// The VPC of a private DNS namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    /// The Route 53 hosted zone of a DNS namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_zone_id: Option<String>,
    /// The SOA record's TTL of a DNS namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soa_ttl: Option<i64>,
    pub created: Timestamp,
}

/// One Cloud Map service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudMapService {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub namespace_id: String,
    /// `HTTP`, `DNS_HTTP` or `DNS`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_custom_config: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    pub created: Timestamp,
}

impl CloudMapService {
    /// Whether the service's instances report a custom health status.
    pub fn has_custom_health(&self) -> bool {
        self.health_check_custom_config.is_some()
    }
}

/// Who registered an instance: ECS, for a service's task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcsOwner {
    pub cluster: String,
    pub service: String,
}

/// One registered instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub id: String,
    pub attributes: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_request_id: Option<String>,
    /// `HEALTHY` or `UNHEALTHY` under a custom health check; `None`
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_health: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs: Option<EcsOwner>,
}

/// One asynchronous operation (it succeeds at once here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub id: String,
    /// `CREATE_NAMESPACE`, `DELETE_NAMESPACE`, `UPDATE_SERVICE`,
    /// `REGISTER_INSTANCE`, `DEREGISTER_INSTANCE`, …
    pub kind: String,
    pub status: String,
    pub created: Timestamp,
    /// `NAMESPACE`, `SERVICE`, `INSTANCE` to their ids.
    pub targets: BTreeMap<String, String>,
}

/// Cloud Map's records, account-wide.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Discovery {
    #[serde(default)]
    pub namespaces: BTreeMap<String, Namespace>,
    #[serde(default)]
    pub services: BTreeMap<String, CloudMapService>,
    /// Instances by service id, then instance id.
    #[serde(default)]
    pub instances: BTreeMap<String, BTreeMap<String, Instance>>,
    #[serde(default)]
    pub operations: BTreeMap<String, Operation>,
    /// Tags by resource ARN, in the order they were put.
    #[serde(default)]
    pub tags: BTreeMap<String, Vec<(String, String)>>,
}

/// One write to the records.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum DiscoveryChange {
    PutNamespace {
        namespace: Namespace,
    },
    /// A namespace and its tags gone.
    DeleteNamespace {
        id: String,
    },
    PutService {
        service: CloudMapService,
    },
    /// A service, its instances and its tags gone.
    DeleteService {
        id: String,
    },
    #[serde(rename_all = "camelCase")]
    PutInstance {
        service_id: String,
        instance: Instance,
    },
    #[serde(rename_all = "camelCase")]
    DeleteInstance {
        service_id: String,
        id: String,
    },
    PutOperation {
        operation: Operation,
    },
    PutTags {
        arn: String,
        tags: Vec<(String, String)>,
    },
}

impl Discovery {
    pub fn apply(&mut self, change: DiscoveryChange) {
        match change {
            DiscoveryChange::PutNamespace { namespace } => {
                self.namespaces.insert(namespace.id.clone(), namespace);
            }
            DiscoveryChange::DeleteNamespace { id } => {
                if let Some(ns) = self.namespaces.remove(&id) {
                    self.tags.remove(&ns.arn);
                }
            }
            DiscoveryChange::PutService { service } => {
                self.services.insert(service.id.clone(), service);
            }
            DiscoveryChange::DeleteService { id } => {
                if let Some(service) = self.services.remove(&id) {
                    self.tags.remove(&service.arn);
                }
                self.instances.remove(&id);
            }
            DiscoveryChange::PutInstance { service_id, instance } => {
                self.instances.entry(service_id).or_default().insert(instance.id.clone(), instance);
            }
            DiscoveryChange::DeleteInstance { service_id, id } => {
                if let Some(instances) = self.instances.get_mut(&service_id) {
                    instances.remove(&id);
                    if instances.is_empty() {
                        self.instances.remove(&service_id);
                    }
                }
            }
            DiscoveryChange::PutOperation { operation } => {
                self.operations.insert(operation.id.clone(), operation);
                while self.operations.len() > MAX_OPERATIONS {
                    let oldest =
                        self.operations.values().min_by_key(|o| (o.created, o.id.clone())).map(|o| o.id.clone());
                    match oldest {
                        Some(id) => self.operations.remove(&id),
                        None => break,
                    };
                }
            }
            DiscoveryChange::PutTags { arn, tags } => {
                if tags.is_empty() {
                    self.tags.remove(&arn);
                } else {
                    self.tags.insert(arn, tags);
                }
            }
        }
    }

    /// A namespace by id or ARN.
    pub fn namespace(&self, reference: &str) -> Option<&Namespace> {
        self.namespaces.get(last_segment(reference)).filter(|ns| ns.id == reference || ns.arn == reference)
    }

    /// A namespace by name.
    pub fn namespace_named(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.values().find(|ns| ns.name == name)
    }

    /// A service by id or ARN.
    pub fn service(&self, reference: &str) -> Option<&CloudMapService> {
        self.services.get(last_segment(reference)).filter(|s| s.id == reference || s.arn == reference)
    }

    /// The instances of a service.
    pub fn instances_of(&self, service_id: &str) -> impl Iterator<Item = &Instance> {
        self.instances.get(service_id).into_iter().flat_map(|m| m.values())
    }

    pub fn instance(&self, service_id: &str, id: &str) -> Option<&Instance> {
        self.instances.get(service_id)?.get(id)
    }

    /// How many services a namespace holds.
    pub fn service_count(&self, namespace_id: &str) -> usize {
        self.services.values().filter(|s| s.namespace_id == namespace_id).count()
    }
}

/// One `serviceRegistries` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registry {
    pub registry_arn: String,
    pub port: Option<i64>,
    pub container_name: Option<String>,
    pub container_port: Option<i64>,
}

impl Registry {
    pub fn from_value(value: &Value) -> Option<Self> {
        Some(Self {
            registry_arn: value.get("registryArn")?.as_str()?.to_owned(),
            port: value.get("port").and_then(Value::as_i64),
            container_name: value.get("containerName").and_then(Value::as_str).map(str::to_owned),
            container_port: value.get("containerPort").and_then(Value::as_i64),
        })
    }
}

fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// Cloud Map's resource ids: a prefix and 16 lowercase letters and digits
/// (`ns-…`, `srv-…`).
pub fn resource_id(prefix: &str) -> String {
    format!("{prefix}-{}", base36(random_u128(), 16))
}

/// An operation id: 32 lowercase letters and digits, a dash and 8 more, as
/// AWS writes them.
pub fn operation_id() -> String {
    format!("{}-{}", base36(random_u128(), 32), base36(random_u128(), 8))
}

fn base36(mut n: u128, len: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..len)
        .map(|_| {
            let d = DIGITS[(n % 36) as usize] as char;
            n /= 36;
            if n == 0 {
                n = random_u128();
            }
            d
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(id: &str) -> Namespace {
        Namespace {
            id: id.into(),
            arn: format!("arn:aws:servicediscovery:us-east-1:1:namespace/{id}"),
            name: "local".into(),
            kind: "HTTP".into(),
            description: None,
            creator_request_id: None,
            vpc: None,
            hosted_zone_id: None,
            soa_ttl: None,
            created: Timestamp(0),
        }
    }

    #[test]
    fn ids_have_aws_shapes() {
        let id = resource_id("ns");
        assert!(id.starts_with("ns-") && id.len() == 19, "{id}");
        assert!(id[3..].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        let op = operation_id();
        assert_eq!(op.len(), 41, "{op}");
    }

    #[test]
    fn lookups_take_an_id_or_its_arn_only() {
        let mut d = Discovery::default();
        d.apply(DiscoveryChange::PutNamespace { namespace: ns("ns-a") });
        assert!(d.namespace("ns-a").is_some());
        assert!(d.namespace("arn:aws:servicediscovery:us-east-1:1:namespace/ns-a").is_some());
        assert!(d.namespace("something/ns-a").is_none());
        d.apply(DiscoveryChange::PutTags { arn: ns("ns-a").arn, tags: vec![("k".into(), "v".into())] });
        d.apply(DiscoveryChange::DeleteNamespace { id: "ns-a".into() });
        assert!(d.namespaces.is_empty() && d.tags.is_empty());
    }

    #[test]
    fn old_operations_are_forgotten() {
        let mut d = Discovery::default();
        for i in 0..MAX_OPERATIONS + 5 {
            let operation = Operation {
                id: format!("op{i:05}"),
                kind: "REGISTER_INSTANCE".into(),
                status: "SUCCESS".into(),
                created: Timestamp(i as i64),
                targets: BTreeMap::new(),
            };
            d.apply(DiscoveryChange::PutOperation { operation });
        }
        assert_eq!(d.operations.len(), MAX_OPERATIONS);
        assert!(!d.operations.contains_key("op00000") && d.operations.contains_key("op01004"));
    }
}
