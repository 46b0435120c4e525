//! Brings Application Auto Scaling in line with `spec.autoScaling`, through the
//! [`ScalingApi`] seam only: it asks for what [`plan::scaling`] decided and reports the
//! target, its policies and the new scaling activities (as notices, each once: the
//! status's `lastActivityId` is the watermark). Every run first looks at what
//! Application Auto Scaling holds, so a crash at any line is repaired by the next.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::plan::ServiceOutcome;
use super::plan::scaling::{self, ObservedScaling};
use super::plan::step;
use crate::api::DeletionPolicy;
use crate::api::scaling::AutoScalingStatus;
use crate::api::service::EcsServiceSpec;
use crate::controller::context::Notice;
use crate::controller::outcome::Next;
use crate::ecs::EcsError;
use crate::ecs::scaling::ScalingApi;

/// What one run did: the status to write (`None`: no autoscaling), its notices, and the
/// error that stopped it (the status then keeps what it said before).
#[derive(Debug)]
pub struct ScalingOutcome {
    pub status: Option<AutoScalingStatus>,
    pub notices: Vec<Notice>,
    pub error: Option<EcsError>,
}

async fn observe<S: ScalingApi>(api: &S, resource_id: &str) -> Result<ObservedScaling, EcsError> {
    let target = api.describe_scalable_target(resource_id).await?;
    if target.is_none() {
        return Ok(ObservedScaling::default());
    }
    let policies = api.describe_scaling_policies(resource_id).await?;
    let actions = api.describe_scheduled_actions(resource_id).await?;
    Ok(ObservedScaling { target, policies, actions })
}

/// Registers, puts and deletes what the spec asks; deregisters a target the operator
/// registered once the spec drops `autoScaling`.
pub async fn converge<S: ScalingApi>(
    api: &S,
    spec: &EcsServiceSpec,
    service_name: &str,
    previous: Option<&AutoScalingStatus>,
) -> ScalingOutcome {
    let resource_id = scaling::resource_id(&spec.cluster, service_name);
    let mut notices = Vec::new();
    let result = match &spec.auto_scaling {
        None => match previous {
            Some(_) => api.deregister_scalable_target(&resource_id).await.map(|()| {
                notices.push(deregistered(&resource_id));
                None
            }),
            None => Ok(None),
        },
        Some(wanted) => apply(api, wanted, &resource_id, previous, &mut notices).await.map(Some),
    };
    match result {
        Ok(status) => ScalingOutcome { status, notices, error: None },
        Err(err) => ScalingOutcome { status: previous.cloned(), notices, error: Some(err) },
    }
}

async fn apply<S: ScalingApi>(
    api: &S,
    wanted: &crate::api::scaling::AutoScaling,
    resource_id: &str,
    previous: Option<&AutoScalingStatus>,
    notices: &mut Vec<Notice>,
) -> Result<AutoScalingStatus, EcsError> {
    let applied = previous.and_then(|p| p.applied_capacity).map(|c| [c.min_capacity, c.max_capacity]);
    let mut observed = observe(api, resource_id).await?;
    let changes = scaling::changes(resource_id, wanted, applied, &observed);
    if !changes.is_empty() {
        if let Some(target) = &changes.register {
            api.register_scalable_target(target).await?;
        }
        for policy in &changes.put_policies {
            api.put_scaling_policy(resource_id, policy).await?;
        }
        for name in &changes.delete_policies {
            api.delete_scaling_policy(resource_id, name).await?;
        }
        for action in &changes.put_actions {
            api.put_scheduled_action(resource_id, action).await?;
        }
        for name in &changes.delete_actions {
            api.delete_scheduled_action(resource_id, name).await?;
        }
        notices.extend(scaling::notices(&changes));
        observed = observe(api, resource_id).await?;
    }
    let activities = api.describe_scaling_activities(resource_id).await?;
    let last_seen = previous.and_then(|p| p.last_activity_id.as_deref());
    notices.extend(scaling::new_activities(&activities, last_seen).into_iter().map(scaling::activity_notice));
    Ok(scaling::status(
        resource_id,
        observed.target.as_ref(),
        &observed.policies,
        &observed.actions,
        &activities,
        Some([wanted.min_capacity, wanted.max_capacity]),
    ))
}

/// Runs [`converge`] once the ECS service's own sync went through (scaling needs the
/// service), and folds its result into `out`.
pub async fn follow<S: ScalingApi>(
    api: &S,
    out: &mut ServiceOutcome,
    spec: &EcsServiceSpec,
    service_name: &str,
    previous: Option<&AutoScalingStatus>,
    generation: Option<i64>,
    now: &Time,
) {
    let synced = !matches!(out.outcome.next, Next::Retry(_) | Next::AwaitChange);
    if out.outcome.status.service_arn.is_none() || !synced {
        return;
    }
    let scaled = converge(api, spec, service_name, previous).await;
    out.outcome.status.auto_scaling = scaled.status.map(Box::new);
    out.outcome.notices.extend(scaled.notices);
    if let Some(err) = scaled.error {
        step::failed(out, "autoScaling", err, generation, now);
    }
}

fn deregistered(resource_id: &str) -> Notice {
    Notice::normal(
        "ScalableTargetDeregistered",
        "DeregisterScalableTarget",
        format!("Deregistered the scalable target {resource_id} with its policies and scheduled actions"),
    )
}

/// On deletion (policy `Delete`): deregisters the target, before the ECS service goes.
pub async fn release<S: ScalingApi>(
    api: &S,
    spec: &EcsServiceSpec,
    service_name: &str,
    previous: Option<&AutoScalingStatus>,
) -> Result<Option<Notice>, EcsError> {
    if spec.deletion_policy == DeletionPolicy::Retain || (spec.auto_scaling.is_none() && previous.is_none()) {
        return Ok(None);
    }
    let resource_id = scaling::resource_id(&spec.cluster, service_name);
    api.deregister_scalable_target(&resource_id).await?;
    Ok(Some(deregistered(&resource_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::scaling_fake::FakeAutoScaling;

    fn spec(json: serde_json::Value) -> EcsServiceSpec {
        serde_json::from_value(json).expect("valid spec")
    }

    fn scaled() -> EcsServiceSpec {
        spec(serde_json::json!({
            "cluster": "demo", "taskDefinition": "web", "desiredCount": 2,
            "autoScaling": {
                "minCapacity": 1, "maxCapacity": 6,
                "targetTracking": [{"policyName": "cpu", "predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 50.0}],
                "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 22 * * ? *)", "maxCapacity": 2}]
            }
        }))
    }

    fn writes(api: &FakeAutoScaling) -> Vec<&'static str> {
        api.calls().into_iter().filter(|c| !c.starts_with("Describe")).collect()
    }

    #[tokio::test]
    async fn the_first_run_sets_everything_up_and_the_next_asks_nothing() {
        let api = FakeAutoScaling::default();
        let first = converge(&api, &scaled(), "web", None).await;
        assert!(first.error.is_none(), "{:?}", first.error);
        assert_eq!(writes(&api), vec!["RegisterScalableTarget", "PutScalingPolicy", "PutScheduledAction"]);
        let status = first.status.expect("a status");
        assert_eq!(status.scalable_target_arn.as_deref(), Some("arn:target/service/demo/web"));
        assert_eq!(status.policies[0].policy_arn, "arn:policy/service/demo/web/cpu");
        assert_eq!(status.scheduled_actions.len(), 1);

        let again = converge(&api, &scaled(), "web", Some(&status)).await;
        assert_eq!(writes(&api).len(), 3, "nothing more to write");
        assert!(again.notices.is_empty(), "{:?}", again.notices);
        assert_eq!(again.status.as_ref(), Some(&status));
    }

    #[tokio::test]
    async fn each_scaling_activity_becomes_one_notice() {
        let api = FakeAutoScaling::default();
        let status = converge(&api, &scaled(), "web", None).await.status;
        api.scaled("a-1", 4);
        let out = converge(&api, &scaled(), "web", status.as_ref()).await;
        let seen: Vec<&str> =
            out.notices.iter().filter(|n| n.reason == "ScalingActivity").map(|n| n.message.as_str()).collect();
        assert_eq!(seen.len(), 1);
        assert!(seen[0].starts_with("Setting desired count to 4."), "{seen:?}");
        api.scaled("a-2", 6);
        let out = converge(&api, &scaled(), "web", out.status.as_ref()).await;
        let seen: Vec<&str> = out.notices.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(seen.len(), 1, "only the new one: {seen:?}");
        assert_eq!(out.status.and_then(|s| s.last_activity_id).as_deref(), Some("a-2"));
    }

    #[tokio::test]
    async fn dropping_auto_scaling_deregisters_and_retain_keeps_the_target_on_deletion() {
        let api = FakeAutoScaling::default();
        let status = converge(&api, &scaled(), "web", None).await.status;
        let plain = spec(serde_json::json!({"cluster": "demo", "taskDefinition": "web"}));
        let out = converge(&api, &plain, "web", status.as_ref()).await;
        assert_eq!(out.status, None);
        assert_eq!(out.notices.iter().map(|n| n.reason).collect::<Vec<_>>(), vec!["ScalableTargetDeregistered"]);
        assert_eq!(api.describe_scalable_target("service/demo/web").await.ok().flatten(), None);

        let status = converge(&api, &scaled(), "web", None).await.status;
        let mut retained = scaled();
        retained.deletion_policy = DeletionPolicy::Retain;
        assert_eq!(release(&api, &retained, "web", status.as_ref()).await.ok().flatten(), None);
        assert!(api.describe_scalable_target("service/demo/web").await.ok().flatten().is_some());
        let notice = release(&api, &scaled(), "web", status.as_ref()).await.expect("released");
        assert_eq!(notice.map(|n| n.reason), Some("ScalableTargetDeregistered"));
        assert_eq!(api.describe_scalable_target("service/demo/web").await.ok().flatten(), None);
    }
}
