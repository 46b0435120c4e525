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
pub mod capacity_providers;
pub mod change;
pub mod cluster;
pub mod daemons;
pub mod discovery;
pub mod failure_rules;
pub mod gateways;
pub mod ids;
pub mod journal;
pub mod loads;
pub mod locks;
pub mod logs;
pub mod metrics;
pub mod partitions;
pub mod records;
pub mod scaling;
pub mod secrets;
pub mod tagged;
pub mod task_id;
pub mod task_slab;
pub mod task_summary;
pub mod task_table;
pub mod timeline;
pub mod usage;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use crate::emulator::clock::Clock;
use crate::emulator::timings::Timings;
use crate::emulator::wire::error::{EcsError, EcsResult};
use account_settings::AccountSettings;
use alarms::AlarmStates;
use failure_rules::FailureRule;
use ids::{Arns, SharedRng, cluster_name_of};
use journal::Journal;
use partitions::Partition;
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

/// The state and identity of one account in one region (a partition: see
/// [`partitions`]). Settings (the clock, the journal, timings, the id
/// generator...) are shared by every partition: a field added here that
/// is a setting rather than state must be copied in [`Store::sibling`].
#[derive(Debug)]
pub struct Store {
    pub arns: Arns,
    pub clock: Arc<dyn Clock>,
    clusters: RwLock<HashMap<String, Arc<Mutex<ClusterState>>>>,
    pub task_definitions: RwLock<TaskDefinitions>,
    /// Account settings (account-wide, like task definitions).
    pub account_settings: RwLock<AccountSettings>,
    /// Shared by every partition; each record names its partition.
    journal: Option<Arc<Journal>>,
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
    /// The account's capacity providers and their simulated groups. Lock
    /// order: this lock before any cluster's.
    pub capacity_providers: RwLock<capacity_providers::CapacityProviders>,
    /// ECS Managed Daemons' records; written through [`Store::change_daemons`].
    /// Lock order: this lock before any cluster's.
    pub daemons: RwLock<daemons::Daemons>,
    /// Gateways and Express gateway services; written through
    /// [`Store::change_gateways`]. Lock order: any cluster's lock before this
    /// one; the clusters' map is looked in under it.
    pub gateways: RwLock<gateways::Gateways>,
}

impl Store {
    pub fn new(arns: Arns, clock: Arc<dyn Clock>, journal: Option<Arc<Journal>>) -> Self {
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
            capacity_providers: RwLock::new(capacity_providers::CapacityProviders::default()),
            daemons: RwLock::new(daemons::Daemons::default()),
            gateways: RwLock::new(gateways::Gateways::default()),
        }
    }

    /// A write to one family of records kept under its own lock: `plan`
    /// looks at them (under the write lock, which it may use to take
    /// cluster locks after it) and says what to change or why not; its
    /// changes, wrapped by `journal`, and any other `changes` it collected,
    /// are applied and journaled before the lock is let go.
    fn change_records<T, C: Clone, R>(
        &self,
        lock: &RwLock<T>,
        apply: fn(&mut T, C),
        journal: fn(Vec<C>) -> Change,
        plan: impl FnOnce(&T, &mut Changes) -> EcsResult<(R, Vec<C>)>,
    ) -> EcsResult<R> {
        let mut records = write(lock);
        let mut changes = self.changes();
        let (result, list) = plan(&records, &mut changes)?;
        if !list.is_empty() {
            let journaled = list.clone();
            changes.push(|| journal(journaled));
        }
        list.into_iter().for_each(|c| apply(&mut records, c));
        self.persist(changes)?;
        Ok(result)
    }

    /// A write to the daemon records (see [`Store::change_records`]); the
    /// scheduler's daemon pass collects the tasks it starts and stops in
    /// the same journal entry.
    pub fn change_daemons<R>(
        &self,
        plan: impl FnOnce(&daemons::Daemons, &mut Changes) -> EcsResult<(R, Vec<daemons::DaemonChange>)>,
    ) -> EcsResult<R> {
        self.change_records(&self.daemons, daemons::Daemons::apply, |changes| Change::Daemons { changes }, plan)
    }

    /// A write to the gateway records (see [`Store::change_records`]).
    pub fn change_gateways<R>(
        &self,
        plan: impl FnOnce(&gateways::Gateways) -> EcsResult<(R, Vec<gateways::GatewayChange>)>,
    ) -> EcsResult<R> {
        let journal = |changes| Change::Gateways { changes };
        self.change_records(&self.gateways, gateways::Gateways::apply, journal, |records, _| plan(records))
    }

    /// Applies `edit` (None: reads) to the tags of the daemon, daemon task
    /// definition, gateway or Express service `arn` names, durably, and
    /// returns them; None when it names none of these kinds (a service ARN
    /// is taken here only when an Express service has it).
    pub fn tags_beside_clusters(
        &self,
        arn: &str,
        edit: Option<tagged::TagEdit<'_>>,
    ) -> Option<EcsResult<Vec<records::Tag>>> {
        match Arns::resource_of(arn)?.split('/').next()? {
            "daemon" | "daemon-task-definition" => Some(self.change_daemons(|r, _| r.tagged(arn, edit))),
            "gateway" => Some(self.change_gateways(|r| r.tagged(arn, edit))),
            "service" if read(&self.gateways).express_services.contains_key(arn) => {
                Some(self.change_gateways(|r| r.tagged(arn, edit)))
            }
            _ => None,
        }
    }

    /// An empty store for another partition, with this one's settings.
    pub fn sibling(&self, arns: Arns) -> Self {
        Self {
            stopped_task_retention_millis: self.stopped_task_retention_millis,
            timings: self.timings.clone(),
            rng: self.rng.clone(),
            ec2_capacity: self.ec2_capacity,
            runtime: self.runtime,
            ..Self::new(arns, self.clock.clone(), self.journal.clone())
        }
    }

    /// The account and region this store holds.
    pub fn partition(&self) -> Partition {
        Partition::new(&self.arns.account_id, &self.arns.region)
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
            Some(journal) if !changes.list.is_empty() => journal
                .append(&self.partition(), &changes.list)
                .map_err(|e| EcsError::server(format!("could not persist the write: {e}"))),
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
            capacity_providers: read(&self.capacity_providers).clone(),
            daemons: read(&self.daemons).clone(),
            gateways: read(&self.gateways).clone(),
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
        *write(&self.capacity_providers) = dump.capacity_providers;
        *write(&self.daemons) = dump.daemons;
        *write(&self.gateways) = dump.gateways;
    }

    /// Drops everything, durably.
    pub fn reset(&self) -> EcsResult<()> {
        let mut providers = write(&self.capacity_providers);
        // The daemons' and gateways' locks come before the clusters' map,
        // which their writes look clusters up in.
        let mut daemons = write(&self.daemons);
        let mut gateways = write(&self.gateways);
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
        *providers = capacity_providers::CapacityProviders::default();
        *daemons = daemons::Daemons::default();
        *gateways = gateways::Gateways::default();
        self.loads.clear();
        self.metrics.clear();
        self.usage.clear();
        let mut changes = self.changes();
        changes.push(|| Change::Reset);
        self.persist(changes)
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_deref()
    }
}

/// Every (account, region) partition's store, the default one made at
/// start. Each partition is a whole [`Store`] (ECS, CloudWatch Logs,
/// Application Auto Scaling and Cloud Map records), made the first time a
/// request names it, so every handler keeps working on one `&Store` and
/// never learns that others exist. What the partitions share (the clock,
/// the journal, the id generator, the timings) is copied from the default
/// partition's store ([`Store::sibling`]).
#[derive(Debug)]
pub struct Partitions {
    default: Arc<Store>,
    stores: RwLock<BTreeMap<Partition, Arc<Store>>>,
}

impl Partitions {
    /// Starts with `default` (whose identity is `--account-id` in
    /// `--region`); every other partition is made from it on first use.
    pub fn new(default: Store) -> Self {
        let default = Arc::new(default);
        let key = default.partition();
        Self { stores: RwLock::new(BTreeMap::from([(key, default.clone())])), default }
    }

    /// The partition of unsigned requests and of the admin endpoints
    /// without `?region=&account=`.
    pub fn default_store(&self) -> &Arc<Store> {
        &self.default
    }

    pub fn default_partition(&self) -> Partition {
        self.default.partition()
    }

    /// The store of `partition`, made (empty) if it has none yet.
    pub fn get(&self, partition: &Partition) -> Arc<Store> {
        if let Some(store) = read(&self.stores).get(partition) {
            return store.clone();
        }
        write(&self.stores)
            .entry(partition.clone())
            .or_insert_with(|| Arc::new(self.default.sibling(Arns::new(&partition.region, &partition.account))))
            .clone()
    }

    /// The store of `partition` only if it exists (for look-ups that must
    /// not make one, such as the agent's).
    pub fn existing(&self, partition: &Partition) -> Option<Arc<Store>> {
        read(&self.stores).get(partition).cloned()
    }

    /// Every partition's store, in (account, region) order.
    pub fn all(&self) -> Vec<Arc<Store>> {
        read(&self.stores).values().cloned().collect()
    }

    /// Every partition's state, for the snapshot.
    pub fn dump(&self) -> BTreeMap<Partition, StateDump> {
        self.all().into_iter().map(|store| (store.partition(), store.dump())).collect()
    }

    /// Loads each partition's state (startup).
    pub fn load(&self, dumps: BTreeMap<Partition, StateDump>) {
        for (partition, dump) in dumps {
            self.get(&partition).load(dump);
        }
    }

    /// Folds the journal into a new snapshot of every partition (no-op
    /// without `--state-dir`). Never call it while holding a state lock.
    pub fn compact(&self) -> std::io::Result<()> {
        match self.default.journal() {
            Some(journal) => journal.compact(|| self.dump()),
            None => Ok(()),
        }
    }
}
