//! The emulator's state: ECS records held in memory, organised so that one
//! cluster's traffic never waits on another's.
//!
//! Layout: a map of clusters (read-locked only to find a cluster) where each
//! cluster is its own `Mutex<ClusterState>` holding that cluster's services,
//! tasks, container instances and RunTask tokens; task definitions, which are
//! account-wide, sit in one `RwLock`. Every lock is a `std::sync` lock taken and
//! released inside synchronous code, so none is ever held across an `.await`.
//! Writes describe themselves as [`Change`]s, which the [`journal`]
//! appends while the cluster lock is still held, so the journal's order per
//! cluster is the order in which the writes happened.

pub mod account_settings;
pub mod addresses;
pub mod alarms;
pub mod change;
pub mod cluster;
pub mod discovery;
pub mod failure_rules;
pub mod ids;
pub mod journal;
pub mod loads;
pub mod locks;
pub mod logs;
pub mod metrics;
pub mod records;
pub mod scaling;
pub mod secrets;
pub mod task_table;
pub mod usage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use crate::emulator::clock::Clock;
use crate::emulator::timings::Timings;
use crate::emulator::wire::error::{EcsError, EcsResult};
use account_settings::AccountSettings;
use alarms::AlarmStates;
use failure_rules::FailureRule;
use ids::{Arns, SharedRng, cluster_name_of};
use journal::Journal;
use records::*;

pub use change::{Change, Changes, StateDump};
pub use cluster::{ClusterState, RunTaskToken, TaskDefinitions};
pub use locks::{lock, read, write};

/// What runs a task's containers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Runtime {
    /// Nothing: each phase takes its simulated time (deterministic, works on
    /// the manual clock).
    #[default]
    Simulated,
    /// Docker containers: the phases that need containers (the image pull
    /// and start, the stop) wait for the agent to report them.
    Docker,
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
    /// Account settings (account-wide, like task definitions).
    pub account_settings: RwLock<AccountSettings>,
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
    pub alarms: AlarmStates,
    /// The generator of every id and random choice, when started with a seed.
    pub rng: Option<SharedRng>,
    /// Simulated EC2 instances each new cluster starts with.
    pub ec2_capacity: u32,
    /// What runs the tasks' containers.
    pub runtime: Runtime,
    /// CloudWatch Logs' groups, streams and events; written through
    /// [`Store::change_logs`].
    pub logs: RwLock<logs::Logs>,
    /// The values `secrets[].valueFrom` resolves to; written through
    /// [`Store::put_secret`].
    pub secrets: RwLock<secrets::Secrets>,
    /// Application Auto Scaling's targets, policies, scheduled actions and
    /// activities; written through [`Store::change_scaling`]. Lock order:
    /// this lock before any cluster's.
    pub scaling: RwLock<scaling::Scaling>,
    /// The load tests put on services' simulated tasks.
    pub loads: loads::Loads,
    /// CloudWatch's minutes (ECS's utilisation, sampled once a minute).
    pub metrics: metrics::Metrics,
    /// What the Docker runtime's tasks use, as the agent measured it.
    pub usage: usage::Usage,
    /// Cloud Map's namespaces, services and instances; written through
    /// [`Store::change_discovery`]. Lock order: any cluster's lock before
    /// this one.
    pub discovery: RwLock<discovery::Discovery>,
}

impl Store {
    pub fn new(arns: Arns, clock: Arc<dyn Clock>, journal: Option<Journal>) -> Self {
        Self {
            arns,
            clock,
            clusters: RwLock::new(HashMap::new()),
            task_definitions: RwLock::new(TaskDefinitions::default()),
            account_settings: RwLock::new(AccountSettings::default()),
            journal,
            stopped_task_retention_millis: DEFAULT_STOPPED_TASK_RETENTION_MILLIS,
            timings: Timings::default(),
            failure_rules: RwLock::new(Vec::new()),
            alarms: AlarmStates::default(),
            rng: None,
            ec2_capacity: 0,
            runtime: Runtime::Simulated,
            logs: RwLock::new(logs::Logs::default()),
            secrets: RwLock::new(secrets::Secrets::default()),
            scaling: RwLock::new(scaling::Scaling::default()),
            loads: loads::Loads::default(),
            metrics: metrics::Metrics::default(),
            usage: usage::Usage::default(),
            discovery: RwLock::new(discovery::Discovery::default()),
        }
    }

    /// A write to Cloud Map's records: `plan` looks at them (under their
    /// write lock) and says what to change or why not; the changes are
    /// applied and journaled before the lock is let go.
    pub fn change_discovery<R>(
        &self,
        plan: impl FnOnce(&discovery::Discovery) -> EcsResult<(R, Vec<discovery::DiscoveryChange>)>,
    ) -> EcsResult<R> {
        let mut records = write(&self.discovery);
        let (result, list) = plan(&records)?;
        let mut changes = self.changes();
        if !list.is_empty() {
            let journaled = list.clone();
            changes.push(|| Change::Discovery { changes: journaled });
        }
        for change in list {
            records.apply(change);
        }
        self.persist(changes)?;
        Ok(result)
    }

    /// A write to the scaling records: `plan` looks at them (under their
    /// write lock, which it may use to take cluster locks after it) and
    /// says what to change or why not; the changes, and any other
    /// `changes` it collected (a service's new desired count), are applied
    /// and journaled before the lock is let go.
    pub fn change_scaling<R>(
        &self,
        plan: impl FnOnce(&scaling::Scaling, &mut Changes) -> EcsResult<(R, Vec<scaling::ScalingChange>)>,
    ) -> EcsResult<R> {
        let mut records = write(&self.scaling);
        let mut changes = self.changes();
        let (result, list) = plan(&records, &mut changes)?;
        if !list.is_empty() {
            let journaled = list.clone();
            changes.push(|| Change::Scaling { changes: journaled });
        }
        for change in list {
            records.apply(change);
        }
        self.persist(changes)?;
        Ok(result)
    }

    /// A write to the logs: `plan` looks at them (under their write lock)
    /// and says what to change or why not; the changes are applied and
    /// journaled before the lock is let go.
    pub fn change_logs<R>(
        &self,
        plan: impl FnOnce(&logs::Logs) -> EcsResult<(R, Vec<logs::LogChange>)>,
    ) -> EcsResult<R> {
        let mut logs = write(&self.logs);
        let (result, list) = plan(&logs)?;
        let mut changes = self.changes();
        if !list.is_empty() {
            let journaled = list.clone();
            changes.push(|| Change::Logs { changes: journaled });
        }
        for change in list {
            logs.apply(change);
        }
        self.persist(changes)?;
        Ok(result)
    }

    /// Puts a secret value in, durably.
    pub fn put_secret(&self, value_from: &str, value: &str) -> EcsResult<()> {
        let mut secrets = write(&self.secrets);
        secrets.put(value_from, value);
        let mut changes = self.changes();
        changes.push(|| Change::PutSecret { value_from: value_from.to_owned(), value: value.to_owned() });
        self.persist(changes)
    }

    pub fn now(&self) -> Timestamp {
        Timestamp(self.clock.now_millis())
    }

    pub fn changes(&self) -> Changes {
        Changes::new(self.journal.is_some())
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
        StateDump {
            clusters,
            task_definitions: read(&self.task_definitions).clone(),
            logs: read(&self.logs).clone(),
            secrets: read(&self.secrets).clone(),
            account_settings: read(&self.account_settings).clone(),
            scaling: read(&self.scaling).clone(),
            discovery: read(&self.discovery).clone(),
        }
    }

    /// Replaces the whole state (startup load, reset).
    pub fn load(&self, dump: StateDump) {
        let map = dump.clusters.into_iter().map(|c| (c.name().to_owned(), Arc::new(Mutex::new(c)))).collect();
        *write(&self.clusters) = map;
        *write(&self.task_definitions) = dump.task_definitions;
        *write(&self.logs) = dump.logs;
        *write(&self.secrets) = dump.secrets;
        *write(&self.account_settings) = dump.account_settings;
        *write(&self.scaling) = dump.scaling;
        *write(&self.discovery) = dump.discovery;
    }

    /// Drops everything, durably.
    pub fn reset(&self) -> EcsResult<()> {
        let mut scaling = write(&self.scaling);
        let mut map = write(&self.clusters);
        let mut tds = write(&self.task_definitions);
        let mut settings = write(&self.account_settings);
        map.clear();
        *tds = TaskDefinitions::default();
        *write(&self.logs) = logs::Logs::default();
        *write(&self.secrets) = secrets::Secrets::default();
        *settings = AccountSettings::default();
        *scaling = scaling::Scaling::default();
        *write(&self.discovery) = discovery::Discovery::default();
        self.loads.clear();
        self.metrics.clear();
        self.usage.clear();
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
