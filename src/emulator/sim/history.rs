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
                record.deployment = d.clone();
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
