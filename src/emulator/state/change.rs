//! Writes as data: each write to the store describes itself as [`Change`]s,
//! which the journal appends and startup replays onto a [`StateDump`].

use serde::{Deserialize, Serialize};

use crate::emulator::state::account_settings::AccountSettings;
use crate::emulator::state::capacity_providers::{CapacityProviders, ProviderEntry};
use crate::emulator::state::cluster::{ClusterState, RunTaskToken, TaskDefinitions};
use crate::emulator::state::daemons::{DaemonChange, Daemons};
use crate::emulator::state::discovery::{Discovery, DiscoveryChange};
use crate::emulator::state::gateways::{GatewayChange, Gateways};
use crate::emulator::state::logs::{LogChange, Logs};
use crate::emulator::state::records::*;
use crate::emulator::state::scaling::{Scaling, ScalingChange};
use crate::emulator::state::secrets::Secrets;

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
    /// Writes to CloudWatch Logs.
    Logs {
        changes: Vec<LogChange>,
    },
    /// A secret value put in through the admin endpoint.
    #[serde(rename_all = "camelCase")]
    PutSecret {
        value_from: String,
        value: String,
    },
    /// A principal's account setting set (the root user's: the default).
    PutAccountSetting {
        principal: String,
        name: String,
        value: String,
    },
    DeleteAccountSetting {
        principal: String,
        name: String,
    },
    /// A task's scale-in protection set (until `expires_at`) or cleared.
    PutTaskProtection {
        cluster: String,
        id: String,
        expires_at: Option<Timestamp>,
    },
    /// Writes to Application Auto Scaling's records.
    Scaling {
        changes: Vec<ScalingChange>,
    },
    /// Writes to Cloud Map's records.
    Discovery {
        changes: Vec<DiscoveryChange>,
    },
    /// A capacity provider created, updated, deleted or its group scaled.
    PutCapacityProvider {
        entry: ProviderEntry,
    },
    /// Writes to ECS Managed Daemons' records.
    Daemons {
        changes: Vec<DaemonChange>,
    },
    /// Writes to gateways and Express gateway services.
    Gateways {
        changes: Vec<GatewayChange>,
    },
}

/// The whole state as plain data: the admin dump and the snapshot file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StateDump {
    pub clusters: Vec<ClusterState>,
    pub task_definitions: TaskDefinitions,
    /// Absent in snapshots written before logs were kept.
    #[serde(default)]
    pub logs: Logs,
    #[serde(default)]
    pub secrets: Secrets,
    #[serde(default)]
    pub account_settings: AccountSettings,
    /// Absent in snapshots written before Application Auto Scaling was served.
    #[serde(default)]
    pub scaling: Scaling,
    /// Absent in snapshots written before Cloud Map was served.
    #[serde(default)]
    pub discovery: Discovery,
    /// Absent in snapshots written before capacity providers were served.
    #[serde(default)]
    pub capacity_providers: CapacityProviders,
    /// Absent in snapshots written before daemons were served.
    #[serde(default)]
    pub daemons: Daemons,
    /// Absent in snapshots written before gateways were served.
    #[serde(default)]
    pub gateways: Gateways,
}

/// Changes a write collects while it holds its locks; cloning records for the
/// journal is skipped entirely when nothing is persisted.
pub struct Changes {
    enabled: bool,
    pub list: Vec<Change>,
}

impl Changes {
    /// Collects changes only when `enabled` (a journal is kept).
    pub fn new(enabled: bool) -> Self {
        Self { enabled, list: Vec::new() }
    }

    pub fn push(&mut self, make: impl FnOnce() -> Change) {
        if self.enabled {
            self.list.push(make());
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
                    self.clusters[i].task_protection.remove(&id);
                }
            }
            Change::DeleteRunTaskToken { cluster, token } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    self.clusters[i].run_task_tokens.remove(&token);
                }
            }
            Change::PutTaskDefinition { entry } => self.task_definitions.put(entry),
            Change::Logs { changes } => changes.into_iter().for_each(|c| self.logs.apply(c)),
            Change::PutSecret { value_from, value } => self.secrets.put(&value_from, &value),
            Change::PutAccountSetting { principal, name, value } => {
                self.account_settings.put(&principal, &name, &value);
            }
            Change::DeleteAccountSetting { principal, name } => {
                self.account_settings.delete(&principal, &name);
            }
            Change::Scaling { changes } => changes.into_iter().for_each(|c| self.scaling.apply(c)),
            Change::Discovery { changes } => changes.into_iter().for_each(|c| self.discovery.apply(c)),
            Change::PutCapacityProvider { entry } => self.capacity_providers.put(entry),
            Change::Daemons { changes } => changes.into_iter().for_each(|c| self.daemons.apply(c)),
            Change::Gateways { changes } => changes.into_iter().for_each(|c| self.gateways.apply(c)),
            Change::PutTaskProtection { cluster, id, expires_at } => {
                if let Some(i) = find(&mut self.clusters, &cluster) {
                    match expires_at {
                        Some(at) => self.clusters[i].task_protection.insert(id, at),
                        None => self.clusters[i].task_protection.remove(&id),
                    };
                }
            }
        }
    }
}
