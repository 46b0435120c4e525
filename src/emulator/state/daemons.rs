//! ECS Managed Daemons' records: daemon task definitions (account-wide,
//! by family and revision), daemons (by ARN, each in one cluster), the
//! revisions a daemon's configuration went through and the deployments that
//! rolled them out. Every write is a [`DaemonChange`], journaled whole.
//!
//! A daemon's tasks are ordinary task records in its cluster (the scheduler
//! moves them like any other); these records only say what should run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emulator::state::records::{ContainerDefinition, Tag, Timestamp};
use crate::emulator::state::tagged::{TagEdit, edited, not_found};
use crate::emulator::wire::error::EcsResult;

/// A registered daemon task definition, in ECS's `DaemonTaskDefinition`
/// shape (tags travel beside it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonTaskDefinition {
    pub daemon_task_definition_arn: String,
    pub family: String,
    pub revision: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// ACTIVE, DELETE_IN_PROGRESS (asked to be deleted while a daemon still
    /// uses it) or DELETED.
    pub status: String,
    pub registered_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_requested_at: Option<Timestamp>,
    pub registered_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// Journaled with the record; not a member of ECS's shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

/// A daemon: where it runs and which revision is current.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Daemon {
    pub daemon_arn: String,
    pub daemon_name: String,
    /// The cluster's name (its lock is found by it).
    pub cluster: String,
    pub cluster_arn: String,
    /// ACTIVE or DELETE_IN_PROGRESS.
    pub status: String,
    pub capacity_provider_arns: Vec<String>,
    pub current_revision_arn: String,
    pub deployment_arn: String,
    pub deployment_configuration: Value,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// CreateDaemon's idempotency token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
}

/// A snapshot of a daemon's configuration, in ECS's `DaemonRevision` shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonRevision {
    pub daemon_revision_arn: String,
    pub cluster_arn: String,
    pub daemon_arn: String,
    pub daemon_task_definition_arn: String,
    pub created_at: Timestamp,
    pub container_images: Vec<Value>,
    pub propagate_tags: String,
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: bool,
    pub enable_execute_command: bool,
    pub critical: bool,
}

/// A rollout of one revision onto the daemon's instances (or, for a
/// delete, of none: it drains them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonDeployment {
    pub daemon_deployment_arn: String,
    pub daemon_arn: String,
    pub cluster: String,
    pub cluster_arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOPPED, ...
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// None when the deployment drains the daemon (DeleteDaemon).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_revision_arn: Option<String>,
    #[serde(default)]
    pub source_revision_arns: Vec<String>,
    pub deployment_configuration: Value,
    pub created_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// How many deployments there were before this one: orders those
    /// created at the same instant.
    #[serde(default)]
    pub serial: u64,
}

/// All daemon records.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Daemons {
    /// By family, then revision.
    pub task_definitions: BTreeMap<String, BTreeMap<u32, DaemonTaskDefinition>>,
    pub daemons: BTreeMap<String, Daemon>,
    pub revisions: BTreeMap<String, DaemonRevision>,
    pub deployments: BTreeMap<String, DaemonDeployment>,
}

/// One write to the daemon records.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum DaemonChange {
    PutTaskDefinition {
        definition: DaemonTaskDefinition,
    },
    PutDaemon {
        daemon: Daemon,
    },
    /// A daemon whose delete finished: gone from every listing.
    RemoveDaemon {
        arn: String,
    },
    PutRevision {
        revision: DaemonRevision,
    },
    PutDeployment {
        deployment: DaemonDeployment,
    },
}

impl Daemons {
    pub fn apply(&mut self, change: DaemonChange) {
        match change {
            DaemonChange::PutTaskDefinition { definition } => {
                self.task_definitions
                    .entry(definition.family.clone())
                    .or_default()
                    .insert(definition.revision, definition);
            }
            DaemonChange::PutDaemon { daemon } => {
                self.daemons.insert(daemon.daemon_arn.clone(), daemon);
            }
            DaemonChange::RemoveDaemon { arn } => {
                self.daemons.remove(&arn);
            }
            DaemonChange::PutRevision { revision } => {
                self.revisions.insert(revision.daemon_revision_arn.clone(), revision);
            }
            DaemonChange::PutDeployment { deployment } => {
                self.deployments.insert(deployment.daemon_deployment_arn.clone(), deployment);
            }
        }
    }

    /// The revision a reference names: `family:revision`, the full ARN,
    /// or (with `latest_of_family`) a bare family for its latest ACTIVE
    /// revision.
    pub fn task_definition(&self, reference: &str, latest_of_family: bool) -> Option<&DaemonTaskDefinition> {
        let body = reference.rsplit_once(":daemon-task-definition/").map_or(reference, |(_, body)| body);
        match body.rsplit_once(':') {
            Some((family, revision)) => {
                let revision: u32 = revision.parse().ok()?;
                self.task_definitions.get(family)?.get(&revision)
            }
            None if latest_of_family => self.task_definitions.get(body)?.values().rev().find(|d| d.status == "ACTIVE"),
            None => None,
        }
    }

    /// The task definition a daemon task runs, by the daemon task
    /// definition's ARN (for the agent, which starts its containers).
    pub fn entry(&self, arn: &str) -> Option<std::sync::Arc<crate::emulator::state::records::TaskDefinitionEntry>> {
        let definition = self.task_definition(arn, false)?;
        let task_definition = definition.as_task_definition();
        Some(std::sync::Arc::new(crate::emulator::state::records::TaskDefinitionEntry {
            task_definition,
            tags: Vec::new(),
        }))
    }

    /// The tags of the daemon or daemon task definition `arn` names, after
    /// `edit`, and the write that keeps them.
    pub fn tagged(&self, arn: &str, edit: Option<TagEdit<'_>>) -> EcsResult<(Vec<Tag>, Vec<DaemonChange>)> {
        if let Some(daemon) = self.daemons.get(arn) {
            let (tags, changed) = edited(daemon.tags.clone(), edit)?;
            let daemon = Daemon { tags: tags.clone(), ..daemon.clone() };
            return Ok((tags, if changed { vec![DaemonChange::PutDaemon { daemon }] } else { Vec::new() }));
        }
        let definition = self.task_definition(arn, false).filter(|d| d.daemon_task_definition_arn == arn);
        let definition = definition.ok_or_else(not_found)?;
        let (tags, changed) = edited(definition.tags.clone(), edit)?;
        let definition = DaemonTaskDefinition { tags: tags.clone(), ..definition.clone() };
        Ok((tags, if changed { vec![DaemonChange::PutTaskDefinition { definition }] } else { Vec::new() }))
    }

    /// Daemons of `cluster` (by name), in ARN order.
    pub fn of_cluster<'a>(&'a self, cluster: &'a str) -> impl Iterator<Item = &'a Daemon> + 'a {
        self.daemons.values().filter(move |d| d.cluster == cluster)
    }

    /// Whether a daemon that is not being deleted uses `arn` (a daemon
    /// task definition) in its current revision.
    pub fn task_definition_in_use(&self, arn: &str) -> bool {
        self.daemons
            .values()
            .any(|d| self.revisions.get(&d.current_revision_arn).is_some_and(|r| r.daemon_task_definition_arn == arn))
    }
}

impl DaemonTaskDefinition {
    /// The task definition a daemon task runs: an EC2 task definition in
    /// bridge mode with this one's containers, so the scheduler, the
    /// placement's resource check and DescribeTasks treat a daemon task
    /// like any other (its ARN is the daemon task definition's).
    pub fn as_task_definition(&self) -> crate::emulator::state::records::TaskDefinition {
        crate::emulator::state::records::TaskDefinition {
            task_definition_arn: self.daemon_task_definition_arn.clone(),
            container_definitions: self.container_definitions.clone(),
            family: self.family.clone(),
            task_role_arn: self.task_role_arn.clone(),
            execution_role_arn: self.execution_role_arn.clone(),
            network_mode: None,
            revision: self.revision,
            volumes: self.volumes.clone(),
            status: "ACTIVE".into(),
            requires_attributes: Vec::new(),
            placement_constraints: Vec::new(),
            compatibilities: vec!["EC2".into()],
            runtime_platform: None,
            requires_compatibilities: Some(vec!["EC2".into()]),
            cpu: self.cpu.clone(),
            memory: self.memory.clone(),
            inference_accelerators: None,
            pid_mode: None,
            ipc_mode: None,
            proxy_configuration: None,
            registered_at: self.registered_at,
            deregistered_at: None,
            delete_requested_at: None,
            registered_by: self.registered_by.clone(),
            ephemeral_storage: None,
            enable_fault_injection: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(family: &str, revision: u32, status: &str) -> DaemonTaskDefinition {
        DaemonTaskDefinition {
            daemon_task_definition_arn: format!("arn:aws:ecs:us-east-1:1:daemon-task-definition/{family}:{revision}"),
            family: family.into(),
            revision,
            task_role_arn: None,
            execution_role_arn: None,
            container_definitions: Vec::new(),
            volumes: Vec::new(),
            cpu: None,
            memory: None,
            status: status.into(),
            registered_at: Timestamp(0),
            delete_requested_at: None,
            registered_by: String::new(),
            pid_mode: None,
            ipc_mode: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn references_name_a_revision_by_family_revision_or_arn() {
        let mut records = Daemons::default();
        for d in [definition("agent", 1, "ACTIVE"), definition("agent", 2, "ACTIVE"), definition("agent", 3, "DELETED")]
        {
            records.apply(DaemonChange::PutTaskDefinition { definition: d });
        }
        let revision = |r: &str, latest| records.task_definition(r, latest).map(|d| d.revision);
        assert_eq!(revision("agent", true), Some(2), "the latest ACTIVE one");
        assert_eq!(revision("agent", false), None, "a bare family only where allowed");
        assert_eq!(revision("agent:3", false), Some(3));
        assert_eq!(revision("arn:aws:ecs:us-east-1:1:daemon-task-definition/agent:1", false), Some(1));
        assert_eq!(revision("agent:x", true), None);
        assert_eq!(revision("other", true), None);
    }
}
