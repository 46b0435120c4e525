//! `spec.autoScaling` against what Application Auto Scaling holds: what to register,
//! put and delete, the status that reports it, and which scaling activities are new.
//! Pure; `service::autoscale` asks for what is decided here.
//!
//! The operator owns the whole scalable target of its service: a policy or scheduled
//! action the spec does not list is deleted. The target's bounds are registered when
//! the spec's change; without scheduled actions a bound changed outside is changed back,
//! with scheduled actions it is theirs to move until the spec's bounds change again.

use crate::api::scaling::{
    AutoScaling, AutoScalingStatus, Capacity, PolicyStatus, ScalingActivityStatus, ScheduledAction,
    ScheduledActionStatus, StepScalingPolicy, TargetTrackingPolicy,
};
use crate::controller::context::Notice;
use crate::ecs::scaling::{
    ObservedAction, PolicyConfig, ScalableTarget, ScalingActivity, ScalingPolicy, TargetRegistration,
};

/// The scalable target's resource ID, `service/<cluster>/<service>`; `cluster` may be
/// a name or an ARN (`arn:aws:ecs:<region>:<account>:cluster/<name>`).
pub fn resource_id(cluster: &str, service: &str) -> String {
    let name = cluster.rsplit_once(":cluster/").map_or(cluster, |(_, name)| name);
    format!("service/{name}/{service}")
}

/// What Application Auto Scaling holds for the service.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservedScaling {
    pub target: Option<ScalableTarget>,
    pub policies: Vec<ScalingPolicy>,
    pub actions: Vec<ObservedAction>,
}

/// What one reconcile asks of Application Auto Scaling, in the order it is asked:
/// register the target, then put and delete policies and scheduled actions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScalingChanges {
    pub register: Option<TargetRegistration>,
    pub put_policies: Vec<PolicyConfig>,
    pub delete_policies: Vec<String>,
    pub put_actions: Vec<ScheduledAction>,
    pub delete_actions: Vec<String>,
}

impl ScalingChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The spec's policies, target tracking first.
pub fn spec_policies(spec: &AutoScaling) -> Vec<PolicyConfig> {
    spec.target_tracking
        .iter()
        .cloned()
        .map(PolicyConfig::TargetTracking)
        .chain(spec.step_scaling.iter().cloned().map(PolicyConfig::StepScaling))
        .collect()
}

/// Whether `set` (the spec's optional field) holds in `actual`: unset is AWS's default,
/// whatever it reports.
fn holds<T: PartialEq>(set: &Option<T>, actual: &Option<T>) -> bool {
    set.is_none() || set == actual
}

fn target_tracking_matches(want: &TargetTrackingPolicy, have: &TargetTrackingPolicy) -> bool {
    want.predefined_metric_type == have.predefined_metric_type
        && want.resource_label == have.resource_label
        && want.target_value == have.target_value
        && holds(&want.scale_in_cooldown, &have.scale_in_cooldown)
        && holds(&want.scale_out_cooldown, &have.scale_out_cooldown)
        && want.disable_scale_in.unwrap_or(false) == have.disable_scale_in.unwrap_or(false)
}

fn step_scaling_matches(want: &StepScalingPolicy, have: &StepScalingPolicy) -> bool {
    want.adjustment_type == have.adjustment_type
        && want.step_adjustments == have.step_adjustments
        && holds(&want.cooldown, &have.cooldown)
        && holds(&want.metric_aggregation_type, &have.metric_aggregation_type)
        && holds(&want.min_adjustment_magnitude, &have.min_adjustment_magnitude)
}

/// Whether the policy Application Auto Scaling holds is the spec's.
pub fn policy_matches(want: &PolicyConfig, have: &ScalingPolicy) -> bool {
    match (want, &have.config) {
        (PolicyConfig::TargetTracking(w), Some(PolicyConfig::TargetTracking(h))) => target_tracking_matches(w, h),
        (PolicyConfig::StepScaling(w), Some(PolicyConfig::StepScaling(h))) => step_scaling_matches(w, h),
        _ => false,
    }
}

/// Whether the scheduled action Application Auto Scaling holds is the spec's.
pub fn action_matches(want: &ScheduledAction, have: &ScheduledAction) -> bool {
    want.schedule == have.schedule
        && holds(&want.timezone, &have.timezone)
        && want.min_capacity == have.min_capacity
        && want.max_capacity == have.max_capacity
}

/// Everything to ask so that the target is the spec's. `applied` is the spec's bounds
/// last registered (`status.autoScaling.appliedCapacity`).
pub fn changes(
    resource_id: &str,
    spec: &AutoScaling,
    applied: Option<[i32; 2]>,
    observed: &ObservedScaling,
) -> ScalingChanges {
    let bounds = [spec.min_capacity, spec.max_capacity];
    let suspended = spec.suspended.clone().unwrap_or_default();
    let register = match &observed.target {
        None => true,
        Some(target) => {
            let moved_outside =
                spec.scheduled_actions.is_empty() && [target.min_capacity, target.max_capacity] != bounds;
            applied != Some(bounds) || moved_outside || target.suspended != suspended.flags()
        }
    };
    let wanted = spec_policies(spec);
    let put_policies = wanted
        .iter()
        .filter(|w| !observed.policies.iter().any(|h| h.name == w.name() && policy_matches(w, h)))
        .cloned()
        .collect();
    let delete_policies = observed
        .policies
        .iter()
        .filter(|h| !wanted.iter().any(|w| w.name() == h.name))
        .map(|h| h.name.clone())
        .collect();
    let put_actions = spec
        .scheduled_actions
        .iter()
        .filter(|w| {
            !observed
                .actions
                .iter()
                .any(|h| h.action.scheduled_action_name == w.scheduled_action_name && action_matches(w, &h.action))
        })
        .cloned()
        .collect();
    let delete_actions = observed
        .actions
        .iter()
        .filter(|h| !spec.scheduled_actions.iter().any(|w| w.scheduled_action_name == h.action.scheduled_action_name))
        .map(|h| h.action.scheduled_action_name.clone())
        .collect();
    ScalingChanges {
        register: register.then(|| TargetRegistration {
            resource_id: resource_id.to_owned(),
            min_capacity: spec.min_capacity,
            max_capacity: spec.max_capacity,
            suspended,
        }),
        put_policies,
        delete_policies,
        put_actions,
        delete_actions,
    }
}

/// The notices of changes that went through.
pub fn notices(changes: &ScalingChanges) -> Vec<Notice> {
    let mut notices = Vec::new();
    if let Some(target) = &changes.register {
        notices.push(Notice::normal(
            "ScalableTargetRegistered",
            "RegisterScalableTarget",
            format!(
                "Registered the scalable target {} with minCapacity {} and maxCapacity {}",
                target.resource_id, target.min_capacity, target.max_capacity
            ),
        ));
    }
    let mut line = |reason, action, what: &str, names: Vec<&str>| {
        if !names.is_empty() {
            notices.push(Notice::normal(reason, action, format!("{what}: {}", names.join(", "))));
        }
    };
    line(
        "ScalingPolicyApplied",
        "PutScalingPolicy",
        "Applied scaling policies",
        changes.put_policies.iter().map(PolicyConfig::name).collect(),
    );
    line(
        "ScalingPolicyRemoved",
        "DeleteScalingPolicy",
        "Removed scaling policies no longer in the spec",
        changes.delete_policies.iter().map(String::as_str).collect(),
    );
    line(
        "ScheduledActionApplied",
        "PutScheduledAction",
        "Applied scheduled actions",
        changes.put_actions.iter().map(|a| a.scheduled_action_name.as_str()).collect(),
    );
    line(
        "ScheduledActionRemoved",
        "DeleteScheduledAction",
        "Removed scheduled actions no longer in the spec",
        changes.delete_actions.iter().map(String::as_str).collect(),
    );
    notices
}

/// The activities newer than the watermark `last_seen`, oldest first; all of the page
/// when the watermark is not in it (first look, or it dropped out).
pub fn new_activities<'a>(activities: &'a [ScalingActivity], last_seen: Option<&str>) -> Vec<&'a ScalingActivity> {
    let newer = match last_seen.and_then(|id| activities.iter().position(|a| a.id == id)) {
        Some(at) => &activities[..at],
        None => activities,
    };
    newer.iter().rev().collect()
}

/// A scaling activity as a Kubernetes Event: Warning when it failed.
pub fn activity_notice(activity: &ScalingActivity) -> Notice {
    let message = format!("{} Cause: {} ({})", activity.description, activity.cause, activity.status_code);
    if activity.status_code == "Failed" {
        Notice::warning("ScalingActivityFailed", "ApplicationAutoScaling", message)
    } else {
        Notice::normal("ScalingActivity", "ApplicationAutoScaling", message)
    }
}

/// The status after a reconcile: the target, policies and actions as they now are,
/// the latest activities, the watermark past every activity seen.
pub fn status(
    resource_id: &str,
    target: Option<&ScalableTarget>,
    policies: &[ScalingPolicy],
    actions: &[ObservedAction],
    activities: &[ScalingActivity],
    applied: Option<[i32; 2]>,
) -> AutoScalingStatus {
    AutoScalingStatus {
        scalable_target_arn: target.and_then(|t| t.arn.clone()),
        resource_id: Some(resource_id.to_owned()),
        min_capacity: target.map(|t| t.min_capacity),
        max_capacity: target.map(|t| t.max_capacity),
        applied_capacity: applied.map(|[min_capacity, max_capacity]| Capacity { min_capacity, max_capacity }),
        policies: policies
            .iter()
            .map(|p| PolicyStatus {
                policy_name: p.name.clone(),
                policy_type: p.policy_type.clone(),
                policy_arn: p.arn.clone(),
            })
            .collect(),
        scheduled_actions: actions
            .iter()
            .map(|a| ScheduledActionStatus {
                scheduled_action_name: a.action.scheduled_action_name.clone(),
                scheduled_action_arn: a.arn.clone(),
            })
            .collect(),
        last_activities: activities
            .iter()
            .take(AutoScalingStatus::RECENT_ACTIVITIES)
            .map(|a| ScalingActivityStatus {
                activity_id: a.id.clone(),
                description: a.description.clone(),
                cause: a.cause.clone(),
                status_code: a.status_code.clone(),
                start_time: a.start_time.map(crate::controller::status::stored_time),
            })
            .collect(),
        last_activity_id: activities.first().map(|a| a.id.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::scaling::PredefinedMetric;
    use crate::api::service::EcsServiceSpec;

    fn spec(json: serde_json::Value) -> AutoScaling {
        serde_json::from_value(json).expect("valid autoScaling")
    }

    fn cpu(name: &str, target: f64) -> TargetTrackingPolicy {
        TargetTrackingPolicy {
            policy_name: name.into(),
            predefined_metric_type: PredefinedMetric::Cpu,
            resource_label: None,
            target_value: target,
            scale_in_cooldown: None,
            scale_out_cooldown: None,
            disable_scale_in: None,
        }
    }

    fn observed_policy(p: TargetTrackingPolicy) -> ScalingPolicy {
        ScalingPolicy {
            name: p.policy_name.clone(),
            arn: format!("arn:policy/{}", p.policy_name),
            policy_type: "TargetTrackingScaling".into(),
            config: Some(PolicyConfig::TargetTracking(p)),
        }
    }

    fn target(min: i32, max: i32) -> ScalableTarget {
        ScalableTarget { arn: Some("arn:target".into()), min_capacity: min, max_capacity: max, suspended: [false; 3] }
    }

    const RID: &str = "service/demo/web";

    #[test]
    fn the_resource_id_takes_the_cluster_name_from_an_arn() {
        assert_eq!(resource_id("demo", "web"), RID);
        assert_eq!(resource_id("arn:aws:ecs:us-east-1:123456789012:cluster/demo", "web"), RID);
    }

    #[test]
    fn a_new_target_is_registered_with_every_policy_and_action() {
        let wanted = spec(serde_json::json!({
            "minCapacity": 1, "maxCapacity": 10,
            "targetTracking": [{"policyName": "cpu", "predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 50.0}],
            "stepScaling": [{"policyName": "burst", "adjustmentType": "ChangeInCapacity", "stepAdjustments": [{"metricIntervalLowerBound": 0.0, "scalingAdjustment": 2}]}],
            "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 22 * * ? *)", "maxCapacity": 2}]
        }));
        let out = changes(RID, &wanted, None, &ObservedScaling::default());
        let register = out.register.expect("registered");
        assert_eq!((register.min_capacity, register.max_capacity), (1, 10));
        let names: Vec<&str> = out.put_policies.iter().map(PolicyConfig::name).collect();
        assert_eq!(names, vec!["cpu", "burst"]);
        assert_eq!(out.put_actions.len(), 1);
        assert!(out.delete_policies.is_empty() && out.delete_actions.is_empty());
    }

    #[test]
    fn what_aws_holds_as_the_spec_says_asks_nothing_and_aws_defaults_count_as_unset() {
        let wanted = spec(serde_json::json!({
            "minCapacity": 1, "maxCapacity": 10,
            "targetTracking": [{"policyName": "cpu", "predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 50.0}]
        }));
        let mut held = cpu("cpu", 50.0);
        held.scale_in_cooldown = Some(300);
        held.disable_scale_in = Some(false);
        let observed =
            ObservedScaling { target: Some(target(1, 10)), policies: vec![observed_policy(held)], actions: vec![] };
        assert!(changes(RID, &wanted, Some([1, 10]), &observed).is_empty());
    }

    #[test]
    fn a_changed_policy_is_put_again_and_one_the_spec_dropped_is_deleted() {
        let wanted = spec(serde_json::json!({
            "minCapacity": 1, "maxCapacity": 10,
            "targetTracking": [{"policyName": "cpu", "predefinedMetricType": "ECSServiceAverageCPUUtilization", "targetValue": 60.0}]
        }));
        let observed = ObservedScaling {
            target: Some(target(1, 10)),
            policies: vec![observed_policy(cpu("cpu", 50.0)), observed_policy(cpu("old", 70.0))],
            actions: vec![],
        };
        let out = changes(RID, &wanted, Some([1, 10]), &observed);
        assert_eq!(out.register, None);
        assert_eq!(out.put_policies.iter().map(PolicyConfig::name).collect::<Vec<_>>(), vec!["cpu"]);
        assert_eq!(out.delete_policies, vec!["old".to_owned()]);
        let reasons: Vec<&str> = notices(&out).iter().map(|n| n.reason).collect();
        assert_eq!(reasons, vec!["ScalingPolicyApplied", "ScalingPolicyRemoved"]);
    }

    #[test]
    fn bounds_moved_by_a_scheduled_action_stay_until_the_spec_changes_them() {
        let wanted = spec(serde_json::json!({
            "minCapacity": 1, "maxCapacity": 10,
            "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 22 * * ? *)", "maxCapacity": 2}]
        }));
        let night = ObservedAction { arn: "arn:action/night".into(), action: wanted.scheduled_actions[0].clone() };
        let observed = ObservedScaling { target: Some(target(1, 2)), policies: vec![], actions: vec![night] };
        assert!(changes(RID, &wanted, Some([1, 10]), &observed).is_empty(), "the night's max stands");
        let raised = AutoScaling { max_capacity: 20, ..wanted.clone() };
        assert!(changes(RID, &raised, Some([1, 10]), &observed).register.is_some(), "a new spec bound applies");

        let plain = AutoScaling { scheduled_actions: vec![], ..wanted };
        let out = changes(RID, &plain, Some([1, 10]), &ObservedScaling { actions: vec![], ..observed });
        assert!(out.register.is_some(), "without scheduled actions a bound moved outside is changed back");
    }

    #[test]
    fn suspension_is_registered_when_it_changes() {
        let wanted = spec(
            serde_json::json!({"minCapacity": 1, "maxCapacity": 3, "suspended": {"dynamicScalingInSuspended": true}}),
        );
        let observed = ObservedScaling { target: Some(target(1, 3)), ..Default::default() };
        let out = changes(RID, &wanted, Some([1, 3]), &observed);
        assert_eq!(out.register.map(|r| r.suspended.flags()), Some([true, false, false]));
    }

    #[test]
    fn with_auto_scaling_the_spec_desired_count_is_never_pushed_back() {
        use crate::api::service::RolloutState;
        use crate::controller::service::plan::fixtures::{TD1, deployment, service, spec as service_spec};
        let wanted = service_spec(serde_json::json!({
            "taskDefinition": "web", "desiredCount": 2, "autoScaling": {"minCapacity": 1, "maxCapacity": 6}
        }));
        let mut scaled = service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]);
        scaled.desired_count = 5;
        let (update, lines) = super::super::changes(&wanted, &[], Some(TD1), &scaled);
        assert_eq!(update.desired_count, None, "{lines:?}");
        let manual = EcsServiceSpec { auto_scaling: None, ..wanted };
        assert_eq!(super::super::changes(&manual, &[], Some(TD1), &scaled).0.desired_count, Some(2));
    }

    #[test]
    fn a_new_service_without_a_count_starts_at_min_capacity() {
        use crate::controller::service::plan::fixtures::spec as service_spec;
        use crate::controller::service::plan::{Subject, create_input};
        let scaled = service_spec(
            serde_json::json!({"taskDefinition": "web", "autoScaling": {"minCapacity": 3, "maxCapacity": 6}}),
        );
        fn subject(spec: &EcsServiceSpec) -> Subject<'_> {
            Subject {
                namespace: "prod",
                name: "web",
                uid: "uid-web",
                generation: Some(1),
                service_name: "web".into(),
                spec,
                status: Default::default(),
                adopt: false,
            }
        }
        assert_eq!(create_input(&subject(&scaled), "web".into()).desired_count, Some(3));
        let counted = EcsServiceSpec { desired_count: Some(4), ..scaled.clone() };
        assert_eq!(create_input(&subject(&counted), "web".into()).desired_count, Some(4));
        let plain = EcsServiceSpec { auto_scaling: None, ..scaled };
        assert_eq!(create_input(&subject(&plain), "web".into()).desired_count, Some(1));
    }

    fn activity(id: &str, status: &str) -> ScalingActivity {
        ScalingActivity {
            id: id.into(),
            description: format!("Setting desired count to {id}."),
            cause: "monitor alarm A in state ALARM triggered policy cpu".into(),
            status_code: status.into(),
            start_time: None,
        }
    }

    #[test]
    fn activities_newer_than_the_watermark_come_oldest_first_each_once() {
        let page = vec![activity("3", "Successful"), activity("2", "Failed"), activity("1", "Successful")];
        let ids = |v: Vec<&ScalingActivity>| v.into_iter().map(|a| a.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(new_activities(&page, Some("1"))), vec!["2", "3"]);
        assert_eq!(ids(new_activities(&page, Some("3"))), Vec::<String>::new());
        assert_eq!(ids(new_activities(&page, None)), vec!["1", "2", "3"]);
        assert_eq!(ids(new_activities(&page, Some("gone"))), vec!["1", "2", "3"]);
        assert!(activity_notice(&page[1]).warning);
        assert_eq!(activity_notice(&page[0]).reason, "ScalingActivity");
        let status = status(RID, Some(&target(1, 4)), &[], &[], &page, Some([1, 4]));
        assert_eq!(status.last_activity_id.as_deref(), Some("3"));
        assert_eq!(status.last_activities.len(), 3);
    }
}
