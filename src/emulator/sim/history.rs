//! The deployment history the scheduler keeps per service: every entry of
//! `deployments[]` is recorded when it appears, with the revisions it
//! replaced, and marked finished when it leaves, so a deployment stays
//! describable (ListServiceDeployments, DescribeServiceDeployments) after
//! ECS drops it from the service.

use crate::emulator::state::ids::Arns;
use crate::emulator::state::records::*;

/// Deployments remembered per service.
pub const HISTORY: usize = 20;

pub fn digits(id: &str) -> &str {
    id.strip_prefix("ecs-svc/").unwrap_or(id)
}

pub fn deployment_arn(arns: &Arns, cluster: &str, service: &str, id: &str) -> String {
    format!("arn:aws:ecs:{}:{}:service-deployment/{cluster}/{service}/{}", arns.region, arns.account_id, digits(id))
}

pub fn revision_arn(arns: &Arns, cluster: &str, service: &str, id: &str) -> String {
    format!("arn:aws:ecs:{}:{}:service-revision/{cluster}/{service}/{}", arns.region, arns.account_id, digits(id))
}

/// Brings the history in line with `deployments[]` (called by the scheduler
/// after every reconcile of the service).
pub fn sync(entry: &mut ServiceEntry, now: Timestamp) {
    let service = &entry.service;
    let history = &mut entry.scheduling.history;
    for d in &service.deployments {
        match history.iter_mut().find(|r| r.deployment.id == d.id) {
            Some(record) => {
                refresh(&mut record.deployment, d);
                record.finished_at = None;
            }
            None => {
                let sources = service
                    .deployments
                    .iter()
                    .filter(|o| o.id != d.id)
                    .map(|o| SourceRevision {
                        id: o.id.clone(),
                        running: o.running_count,
                        pending: o.pending_count,
                        requested: o.desired_count,
                    })
                    .collect();
                history.insert(
                    0,
                    DeploymentRecord {
                        deployment: d.clone(),
                        sources,
                        configuration: Some(service.deployment_configuration.clone()),
                        load_balancers: service.load_balancers.clone(),
                        service_registries: service.service_registries.clone(),
                        finished_at: None,
                        rollback_to: None,
                        rollback_at: None,
                        triggered_alarms: Vec::new(),
                        lifecycle: None,
                    },
                );
            }
        }
    }
    for record in history.iter_mut() {
        let listed = service.deployments.iter().any(|d| d.id == record.deployment.id);
        if !listed && record.finished_at.is_none() {
            record.finished_at = Some(now);
            record.deployment.status = "INACTIVE".into();
        }
        if record.deployment.rollout_state.as_deref() == Some("COMPLETED") && record.finished_at.is_none() {
            record.finished_at = Some(record.deployment.updated_at);
        }
    }
    history.truncate(HISTORY);
    super::timeline::record(entry, now);
}

/// Brings a record's copy of a deployment up to date. A reconcile syncs
/// before and after it counts the tasks, and between two syncs a
/// deployment's counts and times change, seldom the rest: field by field,
/// only what differs is copied, where a whole copy cost a dozen
/// allocations per sync.
fn refresh(to: &mut Deployment, from: &Deployment) {
    fn field<T: Clone + PartialEq>(to: &mut T, from: &T) {
        if to != from {
            to.clone_from(from);
        }
    }
    let Deployment {
        id,
        status,
        task_definition,
        desired_count,
        pending_count,
        running_count,
        failed_tasks,
        created_at,
        updated_at,
        capacity_provider_strategy,
        launch_type,
        platform_version,
        platform_family,
        network_configuration,
        rollout_state,
        rollout_state_reason,
        service_connect_configuration,
        volume_configurations,
        vpc_lattice_configurations,
    } = from;
    field(&mut to.id, id);
    field(&mut to.status, status);
    field(&mut to.task_definition, task_definition);
    field(&mut to.desired_count, desired_count);
    field(&mut to.pending_count, pending_count);
    field(&mut to.running_count, running_count);
    field(&mut to.failed_tasks, failed_tasks);
    field(&mut to.created_at, created_at);
    field(&mut to.updated_at, updated_at);
    field(&mut to.capacity_provider_strategy, capacity_provider_strategy);
    field(&mut to.launch_type, launch_type);
    field(&mut to.platform_version, platform_version);
    field(&mut to.platform_family, platform_family);
    field(&mut to.network_configuration, network_configuration);
    field(&mut to.rollout_state, rollout_state);
    field(&mut to.rollout_state_reason, rollout_state_reason);
    field(&mut to.service_connect_configuration, service_connect_configuration);
    field(&mut to.volume_configurations, volume_configurations);
    field(&mut to.vpc_lattice_configurations, vpc_lattice_configurations);
}

/// Notes that the breaker rolled `failed` back to `target`.
pub fn note_rollback(entry: &mut ServiceEntry, failed: &str, target: &str, now: Timestamp) {
    if let Some(record) = entry.scheduling.history.iter_mut().find(|r| r.deployment.id == failed) {
        record.rollback_to = Some(target.to_owned());
        record.rollback_at = Some(now);
    }
}

/// What ListServiceDeployments shows as a deployment's status, and why.
pub fn status(record: &DeploymentRecord, history: &[DeploymentRecord]) -> (&'static str, Option<String>) {
    let d = &record.deployment;
    match d.rollout_state.as_deref() {
        Some("COMPLETED") => ("SUCCESSFUL", None),
        Some("FAILED") => match &record.rollback_to {
            Some(target) => {
                let done = history
                    .iter()
                    .any(|r| &r.deployment.id == target && r.deployment.rollout_state.as_deref() == Some("COMPLETED"));
                let status = if done { "ROLLBACK_SUCCESSFUL" } else { "ROLLBACK_IN_PROGRESS" };
                (status, d.rollout_state_reason.clone())
            }
            None => ("STOPPED", d.rollout_state_reason.clone()),
        },
        _ if record.finished_at.is_some() => ("STOPPED", Some("A newer deployment replaced it.".into())),
        _ => ("IN_PROGRESS", None),
    }
}
