//! The records the emulator keeps, in ECS's own JSON shapes (lowerCamel member
//! names, optionals omitted), so one serde definition serves the wire, the
//! debug dump and the persistence journal alike.
//!
//! Members that drive behaviour are typed; members ECS only stores and echoes
//! are kept as raw JSON (`Value`) so every field of the model round-trips.
//! Fields that exist only for the emulator live beside the ECS shape in an
//! `*Entry` wrapper, never inside it, so they cannot leak onto the wire.

use std::cell::Cell;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

thread_local! {
    static SHOW_TAGS: Cell<bool> = const { Cell::new(true) };
}

/// Serializes with resource tags shown or hidden. ECS's Describe calls show
/// tags only with `include: ["TAGS"]`; hiding them while serializing (instead
/// of copying records without them) keeps responses allocation-light. Records
/// serialize with their tags everywhere else (journal, dump), and a guard
/// restores that even if serialization panics.
pub fn with_tags_shown<R>(show: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SHOW_TAGS.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SHOW_TAGS.with(|s| s.replace(show)));
    f()
}

fn tags_hidden(tags: &[Tag]) -> bool {
    tags.is_empty() || !SHOW_TAGS.with(Cell::get)
}

/// A status word of a task or container (`RUNNING`, `STOPPED`, `HEALTHY`,
/// ...) or a launch type. The words ECS uses are kept as `&'static str`, so
/// reading one reads no heap memory: the scheduler reads a few of them for
/// every task of a service on each of its passes, and with tens of
/// thousands of tasks a `String`'s heap bytes were a cache miss each time
/// (the rollout's cost per task grew with the fleet). Any other word is kept
/// as it came.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Word(std::borrow::Cow<'static, str>);

/// The words kept without an allocation.
const KNOWN_WORDS: &[&str] = &[
    "PROVISIONING",
    "PENDING",
    "ACTIVATING",
    "RUNNING",
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
    "DELETED",
    "HEALTHY",
    "UNHEALTHY",
    "UNKNOWN",
    "FARGATE",
    "EC2",
    "EXTERNAL",
    "MANAGED_INSTANCES",
    "ATTACHING",
    "ATTACHED",
    "DETACHING",
    "ElasticNetworkInterface",
];

impl Word {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Word {
    fn from(word: &str) -> Self {
        match KNOWN_WORDS.iter().find(|known| **known == word) {
            Some(known) => Word(std::borrow::Cow::Borrowed(known)),
            None => Word(std::borrow::Cow::Owned(word.to_owned())),
        }
    }
}

impl From<String> for Word {
    fn from(word: String) -> Self {
        match KNOWN_WORDS.iter().find(|known| **known == word) {
            Some(known) => Word(std::borrow::Cow::Borrowed(known)),
            None => Word(std::borrow::Cow::Owned(word)),
        }
    }
}

impl From<&String> for Word {
    fn from(word: &String) -> Self {
        Word::from(word.as_str())
    }
}

impl From<Word> for String {
    fn from(word: Word) -> Self {
        word.0.into_owned()
    }
}

impl std::ops::Deref for Word {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for Word {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Word {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Word {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Word> for &str {
    fn eq(&self, other: &Word) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Word> for str {
    fn eq(&self, other: &Word) -> bool {
        *self == *other.0
    }
}

impl std::fmt::Debug for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Word {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Word {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Word::from)
    }
}

/// `Option<Arc<str>>` as an optional string. (serde's `rc` feature does the
/// same for every `Arc`, but turning it on rebuilds every crate that uses
/// serde.)
mod shared_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Arc<str>>, s: S) -> Result<S::Ok, S::Error> {
        value.as_deref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Arc<str>>, D::Error> {
        Option::<String>::deserialize(d).map(|value| value.map(Arc::from))
    }
}

/// A list that keeps its first item in the record that holds it, and only
/// a second and later ones on the heap. A task has one container and at most
/// one attachment in most task definitions, and the scheduler reads or
/// writes both at almost every step: in a `Vec` each was a heap block of its
/// own, placed wherever the allocator had room, a trip of its own from a
/// record that is already in the cache (the task table's slab, on huge
/// pages), and two allocations per task.
pub type FirstInline<T> = smallvec::SmallVec<[T; 1]>;

/// [`FirstInline`] as a JSON array. (`smallvec`'s own `serde` feature would
/// do the same, but turning it on rebuilds every crate that uses `smallvec`,
/// the AWS SDKs among them.)
mod first_inline {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::FirstInline;

    pub fn serialize<T: Serialize, S: Serializer>(value: &FirstInline<T>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(value)
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<FirstInline<T>, D::Error> {
        // Collected rather than `from_vec`, which keeps the `Vec`'s heap
        // block whenever it has room for more than one item.
        Vec::<T>::deserialize(d).map(|items| items.into_iter().collect())
    }
}

/// `Arc<str>` as a string, for the strings the tasks of one launch share
/// (see `shared_str`).
mod arc_str {
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<str>, D::Error> {
        String::deserialize(d).map(Arc::from)
    }
}

/// A record that code can read a snapshot of for a while without copying
/// it: cloning shares it, and changing it (through `DerefMut`) copies it
/// only while a snapshot is held. A service's reconcile reads its service
/// throughout while it changes the cluster's tasks; copying the whole
/// service (its deployments, configuration and events) for that was a fifth
/// of an UpdateService.
#[derive(Clone, Default, PartialEq)]
pub struct Shared<T>(Arc<T>);

impl<T> Shared<T> {
    pub fn new(value: T) -> Self {
        Self(Arc::new(value))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Clone> std::ops::DerefMut for Shared<T> {
    fn deref_mut(&mut self) -> &mut T {
        Arc::make_mut(&mut self.0)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Shared<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Shared<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self::new)
    }
}

/// An instant, kept as epoch milliseconds and sent as ECS does: epoch seconds
/// as a JSON number with a millisecond fraction (`1480952611.84`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 1000.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        Ok(Self((secs * 1000.0).round() as i64))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// One of a task's attachments (its elastic network interface, for
/// `awsvpc`). Typed rather than JSON: every step of an awsvpc task reads its
/// type or writes its status, and as JSON each of those was a walk over
/// keys on the heap, cold in a large fleet; here both are [`Word`]s. The
/// fields are in the order a JSON object's keys were written in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAttachment {
    #[serde(default)]
    pub details: Vec<KeyValuePair>,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub status: Word,
    #[serde(rename = "type", default)]
    pub kind: Word,
}

impl TaskAttachment {
    /// A detail's value, by name (`subnetId`, `privateIPv4Address`, ...).
    pub fn detail(&self, name: &str) -> Option<&str> {
        self.details.iter().find(|d| d.name.as_deref() == Some(name))?.value.as_deref()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSetting {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    #[serde(default)]
    pub capacity_provider: String,
    #[serde(default)]
    pub weight: i32,
    #[serde(default)]
    pub base: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

/// `{name, value?, targetType?, targetId?}`: a container-instance attribute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attribute {
    #[serde(default)]
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
}

/// One entry of a batch call's `failures[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    pub arn: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

// ---------------------------------------------------------------- clusters

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Value>,
    pub status: String,
    pub registered_container_instances_count: i64,
    pub running_tasks_count: i64,
    pub pending_tasks_count: i64,
    pub active_services_count: i64,
    #[serde(default)]
    pub statistics: Vec<KeyValuePair>,
    /// ECS omits `tags` from a cluster that has none (and from
    /// DescribeClusters unless `include: ["TAGS"]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub settings: Vec<ClusterSetting>,
    #[serde(default)]
    pub capacity_providers: Vec<String>,
    #[serde(default)]
    pub default_capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachments_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_connect_defaults: Option<Value>,
}

// ---------------------------------------------------------- task definitions

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port_range: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    #[serde(default)]
    pub container_name: String,
    #[serde(default)]
    pub condition: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default)]
    pub command: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_volume: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A container definition: the members the rules look at are typed, the rest
/// of the model's members ride along in `other`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default)]
    pub cpu: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<ContainerDependency>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default)]
    pub environment: Vec<Value>,
    #[serde(default)]
    pub mount_points: Vec<MountPoint>,
    #[serde(default)]
    pub volumes_from: Vec<Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl ContainerDefinition {
    /// `essential` absent means true.
    pub fn is_essential(&self) -> bool {
        self.essential.unwrap_or(true)
    }
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub task_definition_arn: String,
    pub container_definitions: Vec<ContainerDefinition>,
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    pub revision: u32,
    #[serde(default)]
    pub volumes: Vec<Value>,
    pub status: String,
    #[serde(default)]
    pub requires_attributes: Vec<Value>,
    #[serde(default)]
    pub placement_constraints: Vec<Value>,
    #[serde(default)]
    pub compatibilities: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requires_compatibilities: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_accelerators: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_configuration: Option<Value>,
    pub registered_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deregistered_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_requested_at: Option<Timestamp>,
    pub registered_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_fault_injection: Option<bool>,
}

impl TaskDefinition {
    /// The network mode in effect (`bridge` when none was given).
    pub fn effective_network_mode(&self) -> &str {
        self.network_mode.as_deref().unwrap_or("bridge")
    }
    pub fn supports(&self, compatibility: &str) -> bool {
        self.compatibilities.iter().any(|c| c == compatibility)
    }
}

/// A registered revision and its tags (tags travel beside the shape in ECS's
/// responses).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionEntry {
    pub task_definition: TaskDefinition,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

// ---------------------------------------------------------------- services

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: String,
    pub status: String,
    pub task_definition: String,
    pub desired_count: i64,
    pub pending_count: i64,
    pub running_count: i64,
    pub failed_tasks: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_configurations: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_lattice_configurations: Option<Value>,
}

/// One service event, with its JSON text written once, when it is made.
///
/// DescribeServices and UpdateService answer with the service's last 100
/// events (about 13 KB); writing them out again for every answer (escaping
/// every message) was the largest part of those requests. An event never
/// changes once made, and its fields are read through methods, so the text
/// cannot go stale. Records serialize only through `serde_json` (answers,
/// journal, dump, `to_value`), which writes the kept text as it is.
#[derive(Clone, Debug)]
pub struct ServiceEvent {
    id: String,
    created_at: Timestamp,
    message: String,
    json: Option<Box<serde_json::value::RawValue>>,
}

/// A service event's members, as ECS sends them.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceEventFields<S> {
    id: S,
    created_at: Timestamp,
    message: S,
}

impl ServiceEvent {
    pub fn new(id: String, created_at: Timestamp, message: String) -> Self {
        let json = serde_json::value::to_raw_value(&ServiceEventFields { id: &id, created_at, message: &message }).ok();
        Self { id, created_at, message, json }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl PartialEq for ServiceEvent {
    fn eq(&self, other: &Self) -> bool {
        (&self.id, self.created_at, &self.message) == (&other.id, other.created_at, &other.message)
    }
}

impl Serialize for ServiceEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.json {
            Some(json) => json.serialize(s),
            None => {
                ServiceEventFields { id: &self.id, created_at: self.created_at, message: &self.message }.serialize(s)
            }
        }
    }
}

impl<'de> Deserialize<'de> for ServiceEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fields = ServiceEventFields::<String>::deserialize(d)?;
        Ok(Self::new(fields.id, fields.created_at, fields.message))
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// CloudWatch alarms that fail a deployment when one goes into ALARM (see
/// `alarms`). ECS requires all three members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    pub alarm_names: Vec<String>,
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_group_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStrategy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub service_registries: Vec<Value>,
    pub status: String,
    pub desired_count: i64,
    pub running_count: i64,
    pub pending_count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,
    pub deployment_configuration: DeploymentConfiguration,
    /// The task sets of an EXTERNAL or CODE_DEPLOY service (absent for
    /// services ECS deploys itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_sets: Option<Vec<TaskSet>>,
    #[serde(default)]
    pub deployments: Vec<Deployment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub events: Vec<ServiceEvent>,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_service_deployment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_service_revisions: Option<Vec<Value>>,
    #[serde(default)]
    pub placement_constraints: Vec<PlacementConstraint>,
    #[serde(default)]
    pub placement_strategy: Vec<PlacementStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i32>,
    pub scheduling_strategy: String,
    pub deployment_controller: Value,
    #[serde(default, skip_serializing_if = "tags_hidden")]
    pub tags: Vec<Tag>,
    pub created_by: String,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    pub enable_execute_command: bool,
    pub availability_zone_rebalancing: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_management_type: Option<String>,
}

/// A clone of `value` with the part `part` picks left empty, and `value`
/// as it was: the part is taken out for the clone and put back, so it is
/// never copied (for working copies that do not need a large list).
fn clone_without<T: Clone, P: Default>(value: &mut T, part: fn(&mut T) -> &mut P) -> T {
    let taken = std::mem::take(part(value));
    let copy = value.clone();
    *part(value) = taken;
    copy
}

impl Service {
    /// A working copy of the service without its events (up to 100), for
    /// code that reads or edits the rest while the service itself keeps them:
    /// copying the events made every UpdateService and reconcile pay for them.
    pub fn copy_without_events(&mut self) -> Service {
        clone_without(self, |s| &mut s.events)
    }
}

/// A task set's size as a share of the service's desired count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    #[serde(default)]
    pub value: f64,
    #[serde(default = "percent")]
    pub unit: String,
}

fn percent() -> String {
    "PERCENT".into()
}

/// One task set of a service whose deployments an external controller
/// drives (EXTERNAL or CODE_DEPLOY): a template for tasks and how many of
/// the service's desired count it runs. Its `id` is what its tasks carry as
/// `startedBy`, as a deployment's id is for ECS-controlled services.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSet {
    pub id: String,
    pub task_set_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// PRIMARY, ACTIVE or DRAINING.
    pub status: String,
    pub task_definition: String,
    pub computed_desired_count: i64,
    pub pending_count: i64,
    pub running_count: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub service_registries: Vec<Value>,
    pub scale: Scale,
    /// STEADY_STATE or STABILIZING.
    pub stability_status: String,
    pub stability_status_at: Timestamp,
    #[serde(default, skip_serializing_if = "tags_hidden")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fargate_ephemeral_storage: Option<Value>,
}

/// A service and what the emulator needs beside ECS's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEntry {
    pub service: Shared<Service>,
    /// Canonical form of the CreateService request that made it, for the
    /// "same request returns the same service" rule.
    pub create_fingerprint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// Request members ECS accepts but shows on no response shape
    /// (gatewayConnectors, monitoring): kept, and visible in the state dump.
    #[serde(default)]
    pub stored_inputs: Map<String, Value>,
    /// The scheduler's bookkeeping for this service.
    #[serde(default)]
    pub scheduling: ServiceScheduling,
    /// CreateTaskSet's client tokens and the task set each one created, so a
    /// retried request answers the same task set.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub task_set_tokens: std::collections::BTreeMap<String, String>,
    /// Counts over time and what happened to the rollouts, for the console.
    #[serde(default, skip_serializing_if = "super::timeline::Timeline::is_empty")]
    pub timeline: super::timeline::Timeline,
}

/// What the service scheduler remembers about a service between ticks.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceScheduling {
    /// The service was in a steady state at the last reconcile (so "has
    /// reached a steady state" is logged once per arrival).
    #[serde(default)]
    pub steady: bool,
    /// The newest deployment that completed: the circuit breaker's rollback
    /// target, kept after it leaves `deployments`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_completed: Option<Deployment>,
    /// Tasks of deployment `backoff_for` that failed to start in a row
    /// (ECS's service throttle logic); a new deployment starts afresh.
    #[serde(default)]
    pub start_failures: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_for: Option<String>,
    /// No task is launched before this time (back-off after start failures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_after: Option<Timestamp>,
    /// Tasks stopped for failing health checks and not yet replaced (the
    /// next "has started" event says how many were replaced).
    #[serde(default)]
    pub unhealthy_replaced: i64,
    /// When the service wants another look without any task changing (a
    /// task could not be placed, a back-off ends, a task turns healthy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    /// The latest deployments, newest first (service deployments and
    /// revisions, see `service_deployments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<DeploymentRecord>,
    /// Where the blue/green, linear or canary deployment under way stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleProgress>,
}

impl ServiceScheduling {
    /// A working copy of the bookkeeping without its history (up to twenty
    /// deployment records, each a deployment with its configuration), for a
    /// pass, which neither reads nor writes it, while the service keeps it:
    /// a whole copy per service per tick was most of a reconcile's
    /// allocations. (As [`Service::copy_without_events`].)
    pub fn copy_without_history(&mut self) -> ServiceScheduling {
        clone_without(self, |s| &mut s.history)
    }
}

/// A blue/green (or linear, canary) deployment's way through ECS's
/// lifecycle stages (see `blue_green`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleProgress {
    /// The green deployment's id.
    pub deployment: String,
    /// Its index in the list of phases `blue_green` walks through.
    pub phase: usize,
    pub phase_started_at: Timestamp,
    /// The lifecycle hooks run in the current phase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hooks: Vec<HookRun>,
    /// Percent of test and production traffic on green.
    #[serde(default)]
    pub test_weight: f64,
    #[serde(default)]
    pub production_weight: f64,
    /// When the next linear or canary step shifts more traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_shift_at: Option<Timestamp>,
}

/// One lifecycle hook at one stage: DescribeServiceDeployments'
/// `lifecycleHookDetails` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRun {
    pub hook_id: String,
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
    /// The hook stage it runs for (`lifecycleStages` entry).
    #[serde(default)]
    pub stage: String,
    /// IN_PROGRESS (a Lambda), AWAITING_ACTION (a pause), SUCCEEDED,
    /// FAILED or TIMED_OUT.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_action: Option<String>,
}

/// One deployment as ListServiceDeployments and DescribeServiceDeployments
/// show it, kept after it leaves `deployments[]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentRecord {
    /// Its latest state (status INACTIVE once it left `deployments[]`).
    pub deployment: Deployment,
    /// The deployments it replaced, as they were when it started.
    #[serde(default)]
    pub sources: Vec<SourceRevision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<DeploymentConfiguration>,
    #[serde(default)]
    pub load_balancers: Vec<LoadBalancer>,
    #[serde(default)]
    pub service_registries: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The deployment the circuit breaker or an alarm rolled back to, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_at: Option<Timestamp>,
    /// The deployment alarms that were in ALARM when they failed it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggered_alarms: Vec<String>,
    /// A blue/green, linear or canary deployment's last state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleProgress>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceRevision {
    pub id: String,
    pub requested: i64,
    pub running: i64,
    pub pending: i64,
}

// ------------------------------------------------------------------- tasks

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub container_arn: String,
    pub task_arn: String,
    /// Shared with the same container of the other tasks one launch makes:
    /// a step of a starting or running task finds the container's definition
    /// by it, and a copy per task was a cold read of the heap in a large
    /// fleet (see `started_by`).
    #[serde(with = "arc_str")]
    pub name: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub last_status: Word,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub network_bindings: Vec<Value>,
    #[serde(default)]
    pub network_interfaces: Vec<Value>,
    pub health_status: Word,
    pub cpu: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<String>,
    /// The Docker container's id, with the Docker runtime (ECS shows the
    /// agent's container id here too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    /// Shared by the tasks one launch makes, for the same reason as the
    /// containers' names: a tick looks each starting task's definition up by it.
    #[serde(with = "arc_str")]
    pub task_definition_arn: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_instance_arn: Option<String>,
    pub overrides: Value,
    pub last_status: Word,
    pub desired_status: Word,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(with = "first_inline")]
    pub containers: FirstInline<Container>,
    /// Shared by the tasks one deployment launches: the scheduler compares
    /// it for every task of a service on each pass, and one shared string
    /// stays in the cache where a copy per task did not.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "shared_str")]
    pub started_by: Option<Arc<str>>,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connectivity_at: Option<Timestamp>,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_stopped_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
    pub group: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<Word>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_family: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
    #[serde(default, with = "first_inline")]
    pub attachments: FirstInline<TaskAttachment>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    pub health_status: Word,
    #[serde(default, skip_serializing_if = "tags_hidden")]
    pub tags: Vec<Tag>,
    pub enable_execute_command: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inference_accelerators: Option<Value>,
}

/// What a task holds on its container instance while it is not STOPPED.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reservation {
    pub cpu: i64,
    pub memory: i64,
    #[serde(default)]
    pub tcp_ports: Vec<i32>,
    #[serde(default)]
    pub udp_ports: Vec<i32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEntry {
    pub task: Task,
    /// The owning service's name for service tasks, shared by the tasks
    /// one launch makes (read for every re-filing of a task; see `started_by`).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "shared_str")]
    pub service_name: Option<Arc<str>>,
    /// The container-instance id, when placed on one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_instance_id: Option<String>,
    pub reservation: Reservation,
    /// When the scheduler must next look at this task (a phase ends, a
    /// health-check verdict or a simulated exit is due); `None` when nothing
    /// about it is timed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Timestamp>,
    /// What the task's containers are set to do, from the failure rules in
    /// force when it was created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fates: Vec<Fate>,
    /// From when the task counts as healthy for deployments (RUNNING long
    /// enough, or its health checks passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_at: Option<Timestamp>,
    /// A Fargate Spot interruption warned the task (SIGTERM): it keeps
    /// RUNNING until then, as ECS gives it the two-minute warning, and only
    /// then goes through DEACTIVATING → STOPPED (see `spot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_warning_until: Option<Timestamp>,
    /// The task's targets in its service's target groups (one per
    /// `loadBalancers` entry when it was launched; see `load_balancers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<Target>,
}

/// One target of a service task in a load balancer's target group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
    pub state: TargetState,
    /// The HTTP status code the failing health checks get.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_code: Option<u16>,
}

/// A target's state, in ELB's words (`initial`, `healthy`, `unhealthy`,
/// `draining`), plus the times before registration and after
/// deregistration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetState {
    /// Not registered yet (the task has not reached ACTIVATING).
    NotRegistered,
    Initial,
    Healthy,
    Unhealthy,
    Draining,
    Deregistered,
}

/// What one container of a task is set to do, decided when the task is
/// created by the failure rules (see `failure_rules`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fate {
    pub container: String,
    /// Its image cannot be pulled: the task fails to start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cannot_pull: bool,
    /// It exits with this code...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ...this many milliseconds after the task is RUNNING (`None`: while it
    /// starts, so the task never reaches RUNNING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_after: Option<i64>,
    /// Its health check fails from this many milliseconds after RUNNING.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_after: Option<i64>,
    /// Load-balancer health checks of its targets fail from this many
    /// milliseconds after RUNNING...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_unhealthy_after: Option<i64>,
    /// ...with this HTTP status code (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_status_code: Option<u16>,
    /// It cannot start, for this reason (the task stops from PENDING with
    /// `TaskFailedToStart`): what the Docker runtime reports when the engine
    /// refuses a container or its log group is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_failure: Option<String>,
}

/// Whether a task's last status is on the way to RUNNING (what counts
/// toward a service's or cluster's pending tasks).
pub fn is_pending_status(last_status: &str) -> bool {
    matches!(last_status, "PROVISIONING" | "PENDING" | "ACTIVATING")
}

impl Task {
    /// Sets the status of every attachment (its ENI moving with the task).
    pub fn set_attachments_status(&mut self, status: &str) {
        for a in &mut self.attachments {
            a.status = status.into();
        }
    }
}

impl TaskEntry {
    pub fn id(&self) -> &str {
        self.task.task_arn.rsplit('/').next().unwrap_or_default()
    }
    pub fn is_stopped(&self) -> bool {
        self.task.last_status == "STOPPED"
    }
}

// ----------------------------------------------------- container instances

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub double_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integer_value: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_set_value: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstance {
    pub container_instance_arn: String,
    pub ec2_instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<String>,
    pub version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_info: Option<Value>,
    pub remaining_resources: Vec<Resource>,
    pub registered_resources: Vec<Resource>,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub agent_connected: bool,
    pub running_tasks_count: i64,
    pub pending_tasks_count: i64,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    pub registered_at: Timestamp,
    #[serde(default)]
    pub attachments: Vec<Value>,
    #[serde(default, skip_serializing_if = "tags_hidden")]
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_devices: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstanceEntry {
    pub instance: ContainerInstance,
    /// Availability zone from the identity document or attributes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

impl ContainerInstanceEntry {
    pub fn id(&self) -> &str {
        self.instance.container_instance_arn.rsplit('/').next().unwrap_or_default()
    }
}
