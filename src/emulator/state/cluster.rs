//! One cluster's records, and the account's task definitions by family.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::emulator::state::addresses::Addresses;
use crate::emulator::state::ids::TaskDefinitionRef;
use crate::emulator::state::records::*;
use crate::emulator::state::task_table::TaskTable;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// A RunTask `clientToken` and what it produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskToken {
    pub fingerprint: String,
    pub task_arns: Vec<String>,
    /// When the token was first used; tokens expire with their tasks.
    #[serde(default = "epoch")]
    pub created_at: Timestamp,
}

fn epoch() -> Timestamp {
    Timestamp(0)
}

/// One cluster and everything that lives in it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterState {
    pub cluster: Cluster,
    /// By service name. INACTIVE services stay (DescribeServices shows them).
    #[serde(default)]
    pub services: BTreeMap<String, ServiceEntry>,
    /// By task id, indexed by due time and service (see [`TaskTable`]).
    #[serde(default)]
    pub tasks: TaskTable,
    /// By container-instance id.
    #[serde(default)]
    pub container_instances: BTreeMap<String, ContainerInstanceEntry>,
    #[serde(default)]
    pub run_task_tokens: HashMap<String, RunTaskToken>,
    /// Service tasks protected from scale-in (UpdateTaskProtection), by task
    /// id, until when. Kept beside the tasks rather than on them because
    /// ECS's task shape has no such member; an expired or stale entry
    /// protects nothing (see [`ClusterState::protected_until`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub task_protection: BTreeMap<String, Timestamp>,
    /// No STOPPED task or RunTask token expires before this instant, so
    /// purging can skip the scan until then (not persisted: `None` scans).
    #[serde(skip)]
    pub purge_due: Option<Timestamp>,
    /// The private addresses handed out to awsvpc tasks (a cache: rebuilt
    /// from the tasks when `None`, see [`Addresses`]).
    #[serde(skip)]
    pub addresses: Option<Addresses>,
}

impl ClusterState {
    pub fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            services: BTreeMap::new(),
            tasks: TaskTable::default(),
            container_instances: BTreeMap::new(),
            run_task_tokens: HashMap::new(),
            task_protection: BTreeMap::new(),
            purge_due: None,
            addresses: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.cluster.cluster_name
    }

    pub fn is_active(&self) -> bool {
        self.cluster.status == "ACTIVE"
    }

    /// Every operation but Describe on an INACTIVE cluster gets this.
    pub fn ensure_active(&self) -> EcsResult<()> {
        if self.is_active() { Ok(()) } else { Err(EcsError::cluster_inactive()) }
    }

    /// Until when task `id` is protected from scale-in, if it is at `now`
    /// (protection ends on the emulator's clock, and only a live task can
    /// hold it).
    pub fn protected_until(&self, id: &str, now: Timestamp) -> Option<Timestamp> {
        let until = *self.task_protection.get(id)?;
        let live = self.tasks.get(id).is_some_and(|t| t.task.desired_status == "RUNNING");
        (until > now && live).then_some(until)
    }

    /// The cluster with its live counters filled in.
    pub fn cluster_with_counts(&self) -> Cluster {
        let mut cluster = self.cluster.clone();
        cluster.active_services_count = self.services.values().filter(|s| s.service.status == "ACTIVE").count() as i64;
        let counts = self.tasks.counts();
        cluster.running_tasks_count = counts.running.iter().sum::<usize>() as i64;
        cluster.pending_tasks_count = counts.pending.iter().sum::<usize>() as i64;
        cluster.registered_container_instances_count = self
            .container_instances
            .values()
            .filter(|i| matches!(i.instance.status.as_str(), "ACTIVE" | "DRAINING"))
            .count() as i64;
        cluster
    }
}

/// One task-definition family: its revisions and the highest number ever
/// handed out (kept even when revisions are gone, so numbers are never reused).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Family {
    pub last_revision: u32,
    #[serde(with = "shared_entries")]
    pub revisions: BTreeMap<u32, Arc<TaskDefinitionEntry>>,
}

/// Serde for revisions held in `Arc`s (shared with in-flight requests so
/// resolving a task definition never copies it).
mod shared_entries {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(map: &BTreeMap<u32, Arc<TaskDefinitionEntry>>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (k, &**v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<u32, Arc<TaskDefinitionEntry>>, D::Error> {
        let plain = BTreeMap::<u32, TaskDefinitionEntry>::deserialize(d)?;
        Ok(plain.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

/// All task definitions of the account, by family.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskDefinitions {
    pub families: BTreeMap<String, Family>,
}

impl TaskDefinitions {
    pub fn put(&mut self, entry: TaskDefinitionEntry) {
        let td = &entry.task_definition;
        let family = self.families.entry(td.family.clone()).or_default();
        family.last_revision = family.last_revision.max(td.revision);
        family.revisions.insert(td.revision, Arc::new(entry));
    }

    /// Looks a reference up: a bare family is its latest ACTIVE revision,
    /// `family:N` and ARNs are exactly that revision, whatever its status.
    pub fn resolve(&self, reference: &str) -> Option<Arc<TaskDefinitionEntry>> {
        let parsed = TaskDefinitionRef::parse(reference)?;
        let family = self.families.get(parsed.family())?;
        match parsed {
            TaskDefinitionRef::Family(_) => {
                family.revisions.values().rev().find(|e| e.task_definition.status == "ACTIVE").cloned()
            }
            TaskDefinitionRef::Revision(_, rev) => family.revisions.get(&rev).cloned(),
        }
    }

    /// Resolves a reference for launching tasks or services, which need an
    /// ACTIVE revision. ECS answers a missing or inactive one with a
    /// ClientException from CreateService/UpdateService and an
    /// InvalidParameterException from RunTask, so the caller picks `kind`.
    pub fn resolve_active(&self, reference: &str, kind: ErrorKind) -> EcsResult<Arc<TaskDefinitionEntry>> {
        let entry = self.resolve(reference).ok_or_else(|| EcsError::new(kind, "TaskDefinition not found."))?;
        if entry.task_definition.status != "ACTIVE" {
            return Err(EcsError::new(kind, "TaskDefinition is inactive"));
        }
        Ok(entry)
    }
}
