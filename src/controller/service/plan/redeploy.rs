//! The `forceNewDeploymentToken` state machine. A new token is recorded as pending first
//! (this reconcile, with the PRIMARY deployment it should replace), asked for on the
//! next one (UpdateService with forceNewDeployment), and confirmed when ECS answers or a
//! new PRIMARY appears. So a crash between asking and recording never asks twice: the
//! pending record and the new PRIMARY tell.

use crate::api::service::{EcsServiceStatus, PendingRedeploy};
use crate::controller::context::Notice;
use crate::ecs::service::ServiceDescription;

/// What the record says this reconcile does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Redeploy {
    /// Ask ECS for a new deployment now.
    pub force: bool,
    /// The redeploy was just recorded as pending: look again soon to ask for it.
    pub recorded: bool,
}

/// Advances the record in `status` for the spec's `token` and the service's current
/// PRIMARY deployment. A recorded new token also clears the memory of a failed task
/// definition: the person asked for another try.
pub fn advance(status: &mut EcsServiceStatus, token: Option<&String>, primary: Option<&str>) -> Redeploy {
    let mut redeploy = Redeploy::default();
    if let Some(pending) = status.pending_redeploy.clone() {
        if Some(&pending.token) != token {
            status.pending_redeploy = None;
        } else if primary.map(str::to_owned) != pending.previous_primary {
            status.force_new_deployment_token = Some(pending.token);
            status.pending_redeploy = None;
        } else {
            redeploy.force = true;
        }
    }
    if status.pending_redeploy.is_none()
        && let Some(token) = token
        && status.force_new_deployment_token.as_ref() != Some(token)
    {
        status.pending_redeploy =
            Some(Box::new(PendingRedeploy { token: token.clone(), previous_primary: primary.map(str::to_owned) }));
        status.failed_task_definition = None;
        redeploy.recorded = true;
    }
    redeploy
}

/// After UpdateService asked for the redeploy: ECS's answer confirms it (the pending
/// record only covers a crash before here).
pub fn confirm(status: &mut EcsServiceStatus, token: Option<&String>, answer: &ServiceDescription) -> Notice {
    status.force_new_deployment_token = token.cloned();
    status.pending_redeploy = None;
    Notice::normal(
        "Redeployed",
        "UpdateService",
        format!(
            "Started a new deployment {} of the same task definition (forceNewDeploymentToken)",
            answer.primary().map(|d| d.id.as_str()).unwrap_or("?")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(token: Option<&str>, pending: Option<(&str, Option<&str>)>) -> EcsServiceStatus {
        EcsServiceStatus {
            force_new_deployment_token: token.map(str::to_owned),
            pending_redeploy: pending.map(|(token, previous)| {
                Box::new(PendingRedeploy { token: token.to_owned(), previous_primary: previous.map(str::to_owned) })
            }),
            failed_task_definition: Some("web:2".to_owned()),
            ..EcsServiceStatus::default()
        }
    }

    #[test]
    fn a_new_token_is_recorded_then_asked_for_then_confirmed() {
        let token = "t2".to_owned();
        let mut s = status(Some("t1"), None);
        assert_eq!(advance(&mut s, Some(&token), Some("ecs-svc/1")), Redeploy { force: false, recorded: true });
        assert_eq!(s.failed_task_definition, None, "a new try forgets the failure");
        assert_eq!(advance(&mut s, Some(&token), Some("ecs-svc/1")), Redeploy { force: true, recorded: false });
        // The deployment started but the answer was lost: the new PRIMARY confirms it.
        assert_eq!(advance(&mut s, Some(&token), Some("ecs-svc/2")), Redeploy::default());
        assert_eq!((s.force_new_deployment_token.as_deref(), s.pending_redeploy.is_none()), (Some("t2"), true));
    }

    #[test]
    fn a_token_changed_again_while_pending_starts_over() {
        let token = "t3".to_owned();
        let mut s = status(Some("t1"), Some(("t2", Some("ecs-svc/1"))));
        assert_eq!(advance(&mut s, Some(&token), Some("ecs-svc/1")), Redeploy { force: false, recorded: true });
        assert_eq!(s.pending_redeploy.as_ref().map(|p| p.token.as_str()), Some("t3"));
        let mut unchanged = status(Some("t1"), None);
        assert_eq!(advance(&mut unchanged, Some(&"t1".to_owned()), None), Redeploy::default());
        assert_eq!(advance(&mut unchanged, None, None), Redeploy::default());
    }
}
