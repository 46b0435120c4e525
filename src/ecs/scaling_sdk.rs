//! [`ScalingApi`] over the real `aws-sdk-applicationautoscaling` client (see [`SdkEcs`]),
//! and the mapping between its shapes and the spec's.

use aws_sdk_applicationautoscaling::error::BuildError;
use aws_sdk_applicationautoscaling::types as sdk;
use aws_sdk_applicationautoscaling::types::{PolicyType, ScalableDimension, ServiceNamespace};

use super::error::EcsError;
use super::scaling::{
    ObservedAction, PolicyConfig, ScalableTarget, ScalingActivity, ScalingApi, ScalingPolicy, TargetRegistration,
};
use super::sdk::{SdkEcs, keep};
use super::service_mapping::timestamp_from_sdk;
use crate::api::scaling::{
    AdjustmentType, MetricAggregationType, PredefinedMetric, ScheduledAction, StepAdjustment, StepScalingPolicy,
    TargetTrackingPolicy,
};

const NAMESPACE: ServiceNamespace = ServiceNamespace::Ecs;
const DIMENSION: ScalableDimension = ScalableDimension::EcsServiceDesiredCount;

/// A request the SDK refused to build (a required member missing): the spec's fault.
fn unbuildable(operation: &'static str, err: BuildError) -> EcsError {
    EcsError::Rejected { operation, code: "ValidationException".to_owned(), message: err.to_string() }
}

/// Deleting what is already gone is done: a repeat after a crash is harmless.
fn gone_is_done(result: Result<(), EcsError>) -> Result<(), EcsError> {
    match result {
        Err(err) if err.kind() == super::error::EcsErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn target_tracking_to_sdk(
    p: &TargetTrackingPolicy,
    operation: &'static str,
) -> Result<sdk::TargetTrackingScalingPolicyConfiguration, EcsError> {
    let metric = sdk::PredefinedMetricSpecification::builder()
        .predefined_metric_type(sdk::MetricType::from(p.predefined_metric_type.as_str()))
        .set_resource_label(p.resource_label.clone())
        .build()
        .map_err(|e| unbuildable(operation, e))?;
    sdk::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(p.target_value)
        .predefined_metric_specification(metric)
        .set_scale_in_cooldown(p.scale_in_cooldown)
        .set_scale_out_cooldown(p.scale_out_cooldown)
        .set_disable_scale_in(p.disable_scale_in)
        .build()
        .map_err(|e| unbuildable(operation, e))
}

fn step_scaling_to_sdk(
    p: &StepScalingPolicy,
    operation: &'static str,
) -> Result<sdk::StepScalingPolicyConfiguration, EcsError> {
    let steps = p
        .step_adjustments
        .iter()
        .map(|s| {
            sdk::StepAdjustment::builder()
                .set_metric_interval_lower_bound(s.metric_interval_lower_bound)
                .set_metric_interval_upper_bound(s.metric_interval_upper_bound)
                .scaling_adjustment(s.scaling_adjustment)
                .build()
                .map_err(|e| unbuildable(operation, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let adjustment = match p.adjustment_type {
        AdjustmentType::ChangeInCapacity => sdk::AdjustmentType::ChangeInCapacity,
        AdjustmentType::PercentChangeInCapacity => sdk::AdjustmentType::PercentChangeInCapacity,
        AdjustmentType::ExactCapacity => sdk::AdjustmentType::ExactCapacity,
    };
    let aggregation = p.metric_aggregation_type.map(|a| match a {
        MetricAggregationType::Average => sdk::MetricAggregationType::Average,
        MetricAggregationType::Minimum => sdk::MetricAggregationType::Minimum,
        MetricAggregationType::Maximum => sdk::MetricAggregationType::Maximum,
    });
    Ok(sdk::StepScalingPolicyConfiguration::builder()
        .adjustment_type(adjustment)
        .set_step_adjustments(Some(steps))
        .set_cooldown(p.cooldown)
        .set_metric_aggregation_type(aggregation)
        .set_min_adjustment_magnitude(p.min_adjustment_magnitude)
        .build())
}

fn target_tracking_from_sdk(name: &str, c: &sdk::TargetTrackingScalingPolicyConfiguration) -> Option<PolicyConfig> {
    let metric = c.predefined_metric_specification()?;
    let predefined_metric_type = match metric.predefined_metric_type().as_str() {
        "ECSServiceAverageCPUUtilization" => PredefinedMetric::Cpu,
        "ECSServiceAverageMemoryUtilization" => PredefinedMetric::Memory,
        "ALBRequestCountPerTarget" => PredefinedMetric::AlbRequestCountPerTarget,
        _ => return None,
    };
    Some(PolicyConfig::TargetTracking(TargetTrackingPolicy {
        policy_name: name.to_owned(),
        predefined_metric_type,
        resource_label: metric.resource_label().map(str::to_owned),
        target_value: c.target_value(),
        scale_in_cooldown: c.scale_in_cooldown(),
        scale_out_cooldown: c.scale_out_cooldown(),
        disable_scale_in: c.disable_scale_in(),
    }))
}

fn step_scaling_from_sdk(name: &str, c: &sdk::StepScalingPolicyConfiguration) -> Option<PolicyConfig> {
    let adjustment_type = match c.adjustment_type()?.as_str() {
        "ChangeInCapacity" => AdjustmentType::ChangeInCapacity,
        "PercentChangeInCapacity" => AdjustmentType::PercentChangeInCapacity,
        "ExactCapacity" => AdjustmentType::ExactCapacity,
        _ => return None,
    };
    let metric_aggregation_type = match c.metric_aggregation_type().map(|a| a.as_str()) {
        None => None,
        Some("Average") => Some(MetricAggregationType::Average),
        Some("Minimum") => Some(MetricAggregationType::Minimum),
        Some("Maximum") => Some(MetricAggregationType::Maximum),
        Some(_) => return None,
    };
    Some(PolicyConfig::StepScaling(StepScalingPolicy {
        policy_name: name.to_owned(),
        adjustment_type,
        step_adjustments: c
            .step_adjustments()
            .iter()
            .map(|s| StepAdjustment {
                metric_interval_lower_bound: s.metric_interval_lower_bound(),
                metric_interval_upper_bound: s.metric_interval_upper_bound(),
                scaling_adjustment: s.scaling_adjustment(),
            })
            .collect(),
        cooldown: c.cooldown(),
        metric_aggregation_type,
        min_adjustment_magnitude: c.min_adjustment_magnitude(),
    }))
}

fn policy_from_sdk(p: &sdk::ScalingPolicy) -> ScalingPolicy {
    let name = p.policy_name();
    let config = match p.policy_type() {
        PolicyType::TargetTrackingScaling => {
            p.target_tracking_scaling_policy_configuration().and_then(|c| target_tracking_from_sdk(name, c))
        }
        PolicyType::StepScaling => p.step_scaling_policy_configuration().and_then(|c| step_scaling_from_sdk(name, c)),
        _ => None,
    };
    ScalingPolicy {
        name: name.to_owned(),
        arn: p.policy_arn().to_owned(),
        policy_type: p.policy_type().as_str().to_owned(),
        config,
    }
}

fn action_from_sdk(a: &sdk::ScheduledAction) -> ObservedAction {
    let bounds = a.scalable_target_action();
    ObservedAction {
        arn: a.scheduled_action_arn().to_owned(),
        action: ScheduledAction {
            scheduled_action_name: a.scheduled_action_name().to_owned(),
            schedule: a.schedule().to_owned(),
            timezone: a.timezone().map(str::to_owned),
            min_capacity: bounds.and_then(|b| b.min_capacity()),
            max_capacity: bounds.and_then(|b| b.max_capacity()),
        },
    }
}

impl ScalingApi for SdkEcs {
    async fn describe_scalable_target(&self, resource_id: &str) -> Result<Option<ScalableTarget>, EcsError> {
        let request = self
            .scaling
            .describe_scalable_targets()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_ids(resource_id)
            .send();
        let out = self.call("DescribeScalableTargets", request, keep).await?;
        Ok(out.scalable_targets().iter().find(|t| t.resource_id() == resource_id).map(|t| {
            let s = t.suspended_state();
            ScalableTarget {
                arn: t.scalable_target_arn().map(str::to_owned),
                min_capacity: t.min_capacity(),
                max_capacity: t.max_capacity(),
                suspended: [
                    s.and_then(|s| s.dynamic_scaling_in_suspended()).unwrap_or(false),
                    s.and_then(|s| s.dynamic_scaling_out_suspended()).unwrap_or(false),
                    s.and_then(|s| s.scheduled_scaling_suspended()).unwrap_or(false),
                ],
            }
        }))
    }

    async fn register_scalable_target(&self, input: &TargetRegistration) -> Result<String, EcsError> {
        let [scale_in, scale_out, scheduled] = input.suspended.flags();
        let suspended = sdk::SuspendedState::builder()
            .dynamic_scaling_in_suspended(scale_in)
            .dynamic_scaling_out_suspended(scale_out)
            .scheduled_scaling_suspended(scheduled)
            .build();
        let request = self
            .scaling
            .register_scalable_target()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(&input.resource_id)
            .min_capacity(input.min_capacity)
            .max_capacity(input.max_capacity)
            .suspended_state(suspended)
            .send();
        let out = self.call("RegisterScalableTarget", request, keep).await?;
        Ok(out.scalable_target_arn().unwrap_or_default().to_owned())
    }

    async fn deregister_scalable_target(&self, resource_id: &str) -> Result<(), EcsError> {
        let request = self
            .scaling
            .deregister_scalable_target()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .send();
        gone_is_done(self.call("DeregisterScalableTarget", request, keep).await.map(|_| ()))
    }

    async fn describe_scaling_policies(&self, resource_id: &str) -> Result<Vec<ScalingPolicy>, EcsError> {
        let mut policies = Vec::new();
        let mut token = None;
        loop {
            let request = self
                .scaling
                .describe_scaling_policies()
                .service_namespace(NAMESPACE)
                .scalable_dimension(DIMENSION)
                .resource_id(resource_id)
                .set_next_token(token)
                .send();
            let out = self.call("DescribeScalingPolicies", request, keep).await?;
            policies.extend(out.scaling_policies().iter().map(policy_from_sdk));
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(policies);
            }
        }
    }

    async fn put_scaling_policy(&self, resource_id: &str, policy: &PolicyConfig) -> Result<String, EcsError> {
        const OP: &str = "PutScalingPolicy";
        let mut request = self
            .scaling
            .put_scaling_policy()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .policy_name(policy.name())
            .policy_type(PolicyType::from(policy.policy_type()));
        request = match policy {
            PolicyConfig::TargetTracking(p) => {
                request.target_tracking_scaling_policy_configuration(target_tracking_to_sdk(p, OP)?)
            }
            PolicyConfig::StepScaling(p) => request.step_scaling_policy_configuration(step_scaling_to_sdk(p, OP)?),
        };
        let out = self.call(OP, request.send(), keep).await?;
        Ok(out.policy_arn().to_owned())
    }

    async fn delete_scaling_policy(&self, resource_id: &str, name: &str) -> Result<(), EcsError> {
        let request = self
            .scaling
            .delete_scaling_policy()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .policy_name(name)
            .send();
        gone_is_done(self.call("DeleteScalingPolicy", request, keep).await.map(|_| ()))
    }

    async fn describe_scheduled_actions(&self, resource_id: &str) -> Result<Vec<ObservedAction>, EcsError> {
        let mut actions = Vec::new();
        let mut token = None;
        loop {
            let request = self
                .scaling
                .describe_scheduled_actions()
                .service_namespace(NAMESPACE)
                .scalable_dimension(DIMENSION)
                .resource_id(resource_id)
                .set_next_token(token)
                .send();
            let out = self.call("DescribeScheduledActions", request, keep).await?;
            actions.extend(out.scheduled_actions().iter().map(action_from_sdk));
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(actions);
            }
        }
    }

    async fn put_scheduled_action(&self, resource_id: &str, action: &ScheduledAction) -> Result<(), EcsError> {
        let bounds = sdk::ScalableTargetAction::builder()
            .set_min_capacity(action.min_capacity)
            .set_max_capacity(action.max_capacity)
            .build();
        let request = self
            .scaling
            .put_scheduled_action()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .scheduled_action_name(&action.scheduled_action_name)
            .schedule(&action.schedule)
            .set_timezone(action.timezone.clone())
            .scalable_target_action(bounds)
            .send();
        self.call("PutScheduledAction", request, keep).await.map(|_| ())
    }

    async fn delete_scheduled_action(&self, resource_id: &str, name: &str) -> Result<(), EcsError> {
        let request = self
            .scaling
            .delete_scheduled_action()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .scheduled_action_name(name)
            .send();
        gone_is_done(self.call("DeleteScheduledAction", request, keep).await.map(|_| ()))
    }

    async fn describe_scaling_activities(&self, resource_id: &str) -> Result<Vec<ScalingActivity>, EcsError> {
        let request = self
            .scaling
            .describe_scaling_activities()
            .service_namespace(NAMESPACE)
            .scalable_dimension(DIMENSION)
            .resource_id(resource_id)
            .send();
        let out = self.call("DescribeScalingActivities", request, keep).await?;
        Ok(out
            .scaling_activities()
            .iter()
            .map(|a| ScalingActivity {
                id: a.activity_id().to_owned(),
                description: a.description().to_owned(),
                cause: a.cause().to_owned(),
                status_code: a.status_code().as_str().to_owned(),
                start_time: timestamp_from_sdk(a.start_time()),
            })
            .collect())
    }
}
