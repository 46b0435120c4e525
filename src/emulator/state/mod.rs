//! The emulator's state: ECS records held in memory, organised so that one
//! cluster's traffic never waits on another's.
//!
//! Layout: a map of clusters (read-locked only to find a cluster) where each
//! cluster is its own `Mutex<ClusterState>` holding that cluster's services,
//! tasks, container instances and RunTask tokens; task definitions, which are
//! account-wide, sit in one `RwLock`. Every lock is a `std::sync` lock taken and
//! released inside synchronous code, so none is ever held across an `.await`.
//! Writes describe themselves as [`Change`]s, which the persistence layer
//! journals while the cluster lock is still held, so the journal's order per
//! cluster is the order in which the writes happened.

pub mod ids;
pub mod records;
pub mod task_table;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde::{Deserialize, Serialize};

use super::clock::Clock;
use super::error::{EcsError, EcsResult};
use super::failure_rules::FailureRule;
use super::persistence::Journal;
use super::timings::Timings;
use ids::{Arns, SharedRng, cluster_name_of};
use records::*;
pub use task_table::{TaskMut, TaskTable};

/// Takes a mutex even if a previous holder panicked: a panic in one request
/// must not wedge the emulator (the data it guards is plain records).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
pub fn read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
pub fn write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

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
    /// No STOPPED task or RunTask token expires before this instant, so
    /// purging can skip the scan until then (not persisted: `None` scans).
    #[serde(skip)]
    pub purge_due: Option<Timestamp>,
    /// The private addresses handed out to awsvpc tasks (a cache: rebuilt
    /// from the tasks when `None`, see [`super::awsvpc::Addresses`]).
    #[serde(skip)]
    pub addresses: Option<super::awsvpc::Addresses>,
}

impl ClusterState {
    pub fn new(cluster: Cluster) -> Self {
        Self {
            cluster,
            services: BTreeMap::new(),
            tasks: TaskTable::default(),
            container_instances: BTreeMap::new(),
            run_task_tokens: HashMap::new(),
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

    /// The cluster with its live counters filled in.
    pub fn cluster_with_counts(&self) -> Cluster {
        let mut cluster = self.cluster.clone();
        cluster.active_services_count = self.services.values().filter(|s| s.service.status == "ACTIVE").count() as i64;
        cluster.running_tasks_count = self.tasks.values().filter(|t| t.task.last_status == "RUNNING").count() as i64;
        cluster.pending_tasks_count = self.tasks.values().filter(|t| t.task.last_status == "PENDING").count() as i64;
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
}

/// A write, as the journal records it. Records are stored whole, so replay is
/// "last write wins" per record and needs no clock or id generator.
///
/// Variants differ in size (a whole service or task against a name): changes
/// are built only with a journal, live until the write is persisted, and
/// most are the large kinds, so boxing them would add an allocation each.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "camelCase")]
#[allow(clippy::large_enum_variant)]
pub enum Change {
    /// Everything dropped (admin reset).
    Reset,
    /// A cluster (re)created: replaces the cluster and all its contents.
    NewCluster {
        cluster: Cluster,
    },
    PutCluster {
        cluster: Cluster,
    },
    PutService {
        cluster: String,
        entry: ServiceEntry,
    },
    PutTask {
        cluster: String,
        entry: TaskEntry,
    },
    PutContainerInstance {
        cluster: String,
        entry: ContainerInstanceEntry,
    },
    PutRunTaskToken {
        cluster: String,
        token: String,
        record: RunTaskToken,
    },
    /// A STOPPED task past its retention, gone from every listing.
    DeleteTask {
        cluster: String,
        id: String,
    },
    DeleteRunTaskToken {
        cluster: String,
        token: String,
    },
    PutTaskDefinition {
        entry: TaskDefinitionEntry,
    },
}

/// The whole state as plain data: the admin dump and the snapshot file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateDump {
    pub clusters: Vec<ClusterState>,
    pub task_definitions: TaskDefinitions,
}

/// Changes a write collects while it holds its locks; cloning records for the
/// journal is skipped entirely when nothing is persisted.
pub struct Changes {
    enabled: bool,
    pub list: Vec<Change>,
}

impl Changes {
    pub fn push(&mut self, make: impl FnOnce() -> Change) {
        if self.enabled {
            self.list.push(make());
        }
    }
}

/// ECS keeps STOPPED tasks visible for at least an hour.
pub const DEFAULT_STOPPED_TASK_RETENTION_MILLIS: i64 = 60 * 60 * 1000;

/// The emulator's state and identity.
#[derive(Debug)]
pub struct Store {
    pub arns: Arns,
    pub clock: Arc<dyn Clock>,
    clusters: RwLock<HashMap<String, Arc<Mutex<ClusterState>>>>,
    pub task_definitions: RwLock<TaskDefinitions>,
    journal: Option<Journal>,
    /// How long STOPPED tasks (and RunTask tokens) stay visible; ECS keeps
    /// stopped tasks for at least an hour.
    pub stopped_task_retention_millis: i64,
    /// How long each simulated phase takes.
    pub timings: Timings,
    /// Failure rules added through the admin endpoint.
    pub failure_rules: RwLock<Vec<FailureRule>>,
    /// CloudWatch alarm states for deployment alarms, set through the admin
    /// endpoint.
    pub alarms: super::alarms::AlarmStates,
    /// The generator of every id and random choice, when started with a seed.
    pub rng: Option<SharedRng>,
    /// Simulated EC2 instances each new cluster starts with.
    pub ec2_capacity: u32,
}

impl Store {
    pub fn new(arns: Arns, clock: Arc<dyn Clock>, journal: Option<Journal>) -> Self {
        Self {
            arns,
            clock,
            clusters: RwLock::new(HashMap::new()),
            task_definitions: RwLock::new(TaskDefinitions::default()),
            journal,
            stopped_task_retention_millis: DEFAULT_STOPPED_TASK_RETENTION_MILLIS,
            timings: Timings::default(),
            failure_rules: RwLock::new(Vec::new()),
            alarms: super::alarms::AlarmStates::default(),
            rng: None,
            ec2_capacity: 0,
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.clock.now_millis())
    }

    pub fn changes(&self) -> Changes {
        Changes { enabled: self.journal.is_some(), list: Vec::new() }
    }

    /// Makes `changes` durable before the write is acknowledged. Call it while
    /// still holding the lock that guarded the write.
    pub fn persist(&self, changes: Changes) -> EcsResult<()> {
        match &self.journal {
            Some(journal) if !changes.list.is_empty() => {
                journal.append(&changes.list).map_err(|e| EcsError::server(format!("could not persist the write: {e}")))
            }
            _ => Ok(()),
        }
    }

    /// The cluster of that name or ARN, whatever its status.
    pub fn cluster(&self, reference: &str) -> Option<Arc<Mutex<ClusterState>>> {
        read(&self.clusters).get(cluster_name_of(reference)).cloned()
    }

    /// The cluster a request names (`default` when it names none); unknown
    /// clusters are `ClusterNotFoundException`. Status is checked by the caller
    /// under the cluster's lock.
    pub fn find_cluster(&self, reference: Option<&str>) -> EcsResult<Arc<Mutex<ClusterState>>> {
        self.cluster(reference.unwrap_or("default")).ok_or_else(EcsError::cluster_not_found)
    }

    /// Replaces (or adds) a cluster wholesale.
    pub fn insert_cluster(&self, state: ClusterState) -> Arc<Mutex<ClusterState>> {
        let name = state.name().to_owned();
        let cell = Arc::new(Mutex::new(state));
        write(&self.clusters).insert(name, cell.clone());
        cell
    }

    /// All clusters, sorted by name.
    pub fn all_clusters(&self) -> Vec<(String, Arc<Mutex<ClusterState>>)> {
        let mut all: Vec<_> = read(&self.clusters).iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Runs `f` with the clusters map write-locked: only for whole-cluster
    /// creation, which must not race with another creation of the same name.
    pub fn with_clusters_map<R>(&self, f: impl FnOnce(&mut HashMap<String, Arc<Mutex<ClusterState>>>) -> R) -> R {
        f(&mut write(&self.clusters))
    }

    pub fn dump(&self) -> StateDump {
        let clusters = self.all_clusters().into_iter().map(|(_, c)| lock(&c).clone()).collect();
        StateDump { clusters, task_definitions: read(&self.task_definitions).clone() }
    }

    /// Replaces the whole state (startup load, reset).
    pub fn load(&self, dump: StateDump) {
        let map = dump.clusters.into_iter().map(|c| (c.name().to_owned(), Arc::new(Mutex::new(c)))).collect();
        *write(&self.clusters) = map;
        *write(&self.task_definitions) = dump.task_definitions;
    }

    /// Drops everything, durably.
    pub fn reset(&self) -> EcsResult<()> {
        let mut map = write(&self.clusters);
        let mut tds = write(&self.task_definitions);
        map.clear();
        *tds = TaskDefinitions::default();
        let mut changes = self.changes();
        changes.push(|| Change::Reset);
        self.persist(changes)
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// Folds the journal into a new snapshot (no-op without `--state-dir`).
    /// Takes every lock in turn, so never call it while holding one.
    pub fn compact(&self) -> std::io::Result<()> {
        match &self.journal {
            Some(journal) => journal.compact(|| self.dump()),
            None => Ok(()),
        }
    }
}

impl StateDump {
    /// Applies one journaled change (startup replay).
    pub fn apply(&mut self, change: Change) {
        let find = |clusters: &mut Vec<ClusterState>, name: &str| clusters.iter().position(|c| c.name() == name);
        match change {
            Change::Reset => *self = StateDump::default(),
            Change::NewCluster { cluster } => {
                let name = cluster.cluster_name.clone();
                match find(&mut self.clusters, &name) {
                    Some(i) => self.clusters[i] = ClusterState::new(cluster),
                    None => self.clusters.push(ClusterState::new(cluster)),
                }
            }
            Change::PutCluster { cluster } => {
                let name = cluster.cluster_name.clone();
                match find(&mut self.clusters, &name) {
                    Some(i) => self.clusters[i].cluster = cluster,
                    None => self.clusters.push(ClusterState::new(cluster)),
                }
            }
            Change::PutService { cluster, entry } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    let name = entry.service.service_name.clone();
                    self.clusters[i].services.insert(name, entry);
                }
            }
            Change::PutTask { cluster, entry } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    self.clusters[i].tasks.insert(entry.id().to_owned(), entry);
                }
            }
            Change::PutContainerInstance { cluster, entry } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    self.clusters[i].container_instances.insert(entry.id().to_owned(), entry);
                }
            }
            Change::PutRunTaskToken { cluster, token, record } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    self.clusters[i].run_task_tokens.insert(token, record);
                }
            }
            Change::DeleteTask { cluster, id } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    self.clusters[i].tasks.remove(&id);
                }
            }
            Change::DeleteRunTaskToken { cluster, token } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    self.clusters[i].run_task_tokens.remove(&token);
                }
            }
            Change::PutTaskDefinition { entry } => self.task_definitions.put(entry),
        }
    }
}
