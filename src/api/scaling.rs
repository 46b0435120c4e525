//! `EcsService.spec.autoScaling`: the service's Application Auto Scaling, in its own
//! field names (RegisterScalableTarget, PutScalingPolicy, PutScheduledAction), and what
//! the status reports of it.
//!
//! With `autoScaling` set the desired count belongs to the autoscaler: `desiredCount`
//! is then only the count a new service starts with, and the operator never sets it
//! again (see the CEL rules on `EcsServiceSpec`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The service's scalable target (dimension `ecs:service:DesiredCount`) and what moves it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "self.minCapacity <= self.maxCapacity",
        "message": "autoScaling.minCapacity must not exceed maxCapacity"
    },
    {
        "rule": "!has(self.targetTracking) || !has(self.stepScaling) || self.targetTracking.all(t, !self.stepScaling.exists(s, s.policyName == t.policyName))",
        "message": "a policyName is used by both targetTracking and stepScaling: policy names are unique per scalable target"
    }
]))]
pub struct AutoScaling {
    /// The fewest tasks the autoscaler may set.
    #[schemars(range(min = 0, max = 100000))]
    pub min_capacity: i32,
    /// The most tasks the autoscaler may set.
    #[schemars(range(min = 0, max = 100000))]
    pub max_capacity: i32,
    /// Target tracking policies: keep a metric near its target value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["policyName"]))]
    pub target_tracking: Vec<TargetTrackingPolicy>,
    /// Step scaling policies: adjust the count by steps when their CloudWatch alarm fires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50), extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["policyName"]))]
    pub step_scaling: Vec<StepScalingPolicy>,
    /// Scheduled changes of minCapacity/maxCapacity.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 200),
        extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["scheduledActionName"])
    )]
    pub scheduled_actions: Vec<ScheduledAction>,
    /// Which kinds of scaling are paused (RegisterScalableTarget's `SuspendedState`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended: Option<SuspendedState>,
}

/// A predefined metric of ECS services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PredefinedMetric {
    /// The service's average CPU utilisation, in percent.
    #[serde(rename = "ECSServiceAverageCPUUtilization")]
    Cpu,
    /// The service's average memory utilisation, in percent.
    #[serde(rename = "ECSServiceAverageMemoryUtilization")]
    Memory,
    /// Requests per target of an ALB target group (needs `resourceLabel`).
    #[serde(rename = "ALBRequestCountPerTarget")]
    AlbRequestCountPerTarget,
}

impl PredefinedMetric {
    /// Application Auto Scaling's name of the metric.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "ECSServiceAverageCPUUtilization",
            Self::Memory => "ECSServiceAverageMemoryUtilization",
            Self::AlbRequestCountPerTarget => "ALBRequestCountPerTarget",
        }
    }
}

/// A target tracking scaling policy on a predefined metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "(self.predefinedMetricType == 'ALBRequestCountPerTarget') == has(self.resourceLabel)",
        "message": "resourceLabel (app/<alb>/<id>/targetgroup/<tg>/<id>) is required for ALBRequestCountPerTarget and only for it"
    },
    {
        "rule": "self.targetValue > 0.0",
        "message": "targetValue must be greater than 0"
    }
]))]
pub struct TargetTrackingPolicy {
    /// The policy's name, unique on the service.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[^:/]+$"))]
    pub policy_name: String,
    /// The metric to track.
    pub predefined_metric_type: PredefinedMetric,
    /// The ALB target group, for `ALBRequestCountPerTarget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1023))]
    pub resource_label: Option<String>,
    /// The value to keep the metric at (percent for CPU and memory).
    pub target_value: f64,
    /// Seconds after a scale-in before the next scale-in (AWS's default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_in_cooldown: Option<i32>,
    /// Seconds after a scale-out before the next scale-out (AWS's default 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_out_cooldown: Option<i32>,
    /// Only scale out, never in (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

/// How a step changes the count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum AdjustmentType {
    ChangeInCapacity,
    PercentChangeInCapacity,
    ExactCapacity,
}

/// How the alarm's datapoints are aggregated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum MetricAggregationType {
    Average,
    Minimum,
    Maximum,
}

/// A step scaling policy; its CloudWatch alarm is created separately and names the
/// policy's ARN (in `status.autoScaling.policies`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepScalingPolicy {
    /// The policy's name, unique on the service.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[^:/]+$"))]
    pub policy_name: String,
    /// How `scalingAdjustment` is read.
    pub adjustment_type: AdjustmentType,
    /// The steps, by the breach's distance from the alarm threshold.
    #[schemars(length(min = 1, max = 20), extend("x-kubernetes-list-type" = "atomic"))]
    pub step_adjustments: Vec<StepAdjustment>,
    /// Seconds to wait after an activity before the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub cooldown: Option<i32>,
    /// How the alarm's metric is aggregated (AWS's default `Average`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<MetricAggregationType>,
    /// The smallest change a `PercentChangeInCapacity` step makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_adjustment_magnitude: Option<i32>,
}

/// One step: between the bounds (relative to the alarm threshold), change by
/// `scalingAdjustment`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepAdjustment {
    /// The breach's lower bound, above the threshold (none: minus infinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    /// The breach's upper bound, above the threshold (none: infinity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    /// Tasks to add (negative: remove), percent, or the exact count, by `adjustmentType`.
    pub scaling_adjustment: i32,
}

/// A scheduled change of the capacity bounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {
        "rule": "has(self.minCapacity) || has(self.maxCapacity)",
        "message": "a scheduled action sets minCapacity, maxCapacity or both"
    },
    {
        "rule": "!has(self.minCapacity) || !has(self.maxCapacity) || self.minCapacity <= self.maxCapacity",
        "message": "a scheduled action's minCapacity must not exceed its maxCapacity"
    }
]))]
pub struct ScheduledAction {
    /// The action's name, unique on the service.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[^:/|]+$"))]
    pub scheduled_action_name: String,
    /// `at(yyyy-mm-ddThh:mm:ss)`, `rate(value unit)` or `cron(fields)`.
    #[schemars(length(min = 1, max = 1600), regex(pattern = r"^(at|rate|cron)\(.+\)$"))]
    pub schedule: String,
    /// An IANA time zone for `at` and `cron` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1600))]
    pub timezone: Option<String>,
    /// The new minCapacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub min_capacity: Option<i32>,
    /// The new maxCapacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub max_capacity: Option<i32>,
}

/// Which scaling is paused (each default false).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspendedState {
    /// No scale-in by policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_in_suspended: Option<bool>,
    /// No scale-out by policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_out_suspended: Option<bool>,
    /// No scheduled actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_scaling_suspended: Option<bool>,
}

impl SuspendedState {
    /// The three flags, unset read as false (AWS's default).
    pub fn flags(&self) -> [bool; 3] {
        [
            self.dynamic_scaling_in_suspended.unwrap_or(false),
            self.dynamic_scaling_out_suspended.unwrap_or(false),
            self.scheduled_scaling_suspended.unwrap_or(false),
        ]
    }
}

/// What the status reports of the service's Application Auto Scaling.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoScalingStatus {
    /// The scalable target's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_target_arn: Option<String>,
    /// `service/<cluster>/<service>`, the target's resource ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The target's current minCapacity (scheduled actions move the bounds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<i32>,
    /// The target's current maxCapacity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<i32>,
    /// The spec's bounds last registered. The target's bounds are registered again only
    /// when the spec's differ from these (or, without scheduled actions, from the
    /// target's), so that a scheduled action's bounds are not undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_capacity: Option<Capacity>,
    /// The policies on the target, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["policyName"]))]
    pub policies: Vec<PolicyStatus>,
    /// The scheduled actions on the target, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["scheduledActionName"]))]
    pub scheduled_actions: Vec<ScheduledActionStatus>,
    /// The newest scaling activities, newest first (at most
    /// [`AutoScalingStatus::RECENT_ACTIVITIES`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "atomic"))]
    pub last_activities: Vec<ScalingActivityStatus>,
    /// The newest activity already published as a Kubernetes Event, so that each is
    /// published once, also across restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_id: Option<String>,
}

/// A pair of capacity bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    /// The fewest tasks.
    pub min_capacity: i32,
    /// The most tasks.
    pub max_capacity: i32,
}

impl AutoScalingStatus {
    /// How many activities the status keeps.
    pub const RECENT_ACTIVITIES: usize = 5;
}

/// A scaling policy as Application Auto Scaling holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// The policy's name.
    pub policy_name: String,
    /// `TargetTrackingScaling` or `StepScaling`.
    pub policy_type: String,
    /// Its ARN (a step policy's CloudWatch alarm names it as its action).
    #[serde(rename = "policyARN")]
    pub policy_arn: String,
}

/// A scheduled action as Application Auto Scaling holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledActionStatus {
    /// The action's name.
    pub scheduled_action_name: String,
    /// Its ARN.
    #[serde(rename = "scheduledActionARN")]
    pub scheduled_action_arn: String,
}

/// One scaling activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingActivityStatus {
    /// Application Auto Scaling's ID of the activity.
    pub activity_id: String,
    /// e.g. `Setting desired count to 4.`
    pub description: String,
    /// What triggered it (an alarm and policy, a scheduled action).
    pub cause: String,
    /// `Successful`, `Failed`, `InProgress`, ...
    pub status_code: String,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
}
