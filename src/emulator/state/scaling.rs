//! Application Auto Scaling's records: the scalable targets (ECS services'
//! desired counts), their scaling policies and scheduled actions, and the
//! scaling activities recorded when something changed. Account-wide, under
//! one lock ([`crate::emulator::state::Store::scaling`]); every write is a
//! [`ScalingChange`], journaled with the rest of the state under
//! `--state-dir`.
//!
//! The policy and schedule configurations are kept in the API's own shapes
//! (PascalCase, optionals left out), so what Describe answers is exactly
//! what was put, and the simulation reads the same typed fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emulator::state::records::Timestamp;

/// The only service namespace served: ECS.
pub const NAMESPACE: &str = "ecs";
/// The only scalable dimension of ECS: a service's desired count.
pub const DIMENSION: &str = "ecs:service:DesiredCount";
/// Activities kept per scalable target (AWS keeps six weeks of them).
pub const MAX_ACTIVITIES: usize = 500;

/// Which kinds of scaling are suspended on a target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SuspendedState {
    #[serde(default)]
    pub dynamic_scaling_in_suspended: bool,
    #[serde(default)]
    pub dynamic_scaling_out_suspended: bool,
    #[serde(default)]
    pub scheduled_scaling_suspended: bool,
}

/// `PredefinedMetricSpecification`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PredefinedMetric {
    pub predefined_metric_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

/// `TargetTrackingScalingPolicyConfiguration`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetTracking {
    pub target_value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetric>,
    /// Kept and shown, but no metric source feeds it yet: a policy on a
    /// customized metric never acts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

/// One `StepAdjustment`: bounds relative to the alarm's threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepAdjustment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    pub scaling_adjustment: i64,
}

/// `StepScalingPolicyConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepScaling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_adjustments: Option<Vec<StepAdjustment>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_adjustment_magnitude: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_aggregation_type: Option<String>,
}

/// A CloudWatch alarm a policy owns (target tracking makes two).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Alarm {
    pub alarm_name: String,
    #[serde(rename = "AlarmARN")]
    pub alarm_arn: String,
}

/// What the simulation remembers of a target tracking policy between
/// evaluations: its alarms' consecutive breaching datapoints and when it
/// last scaled, for the cooldowns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Watch {
    /// When the next one-minute datapoint is evaluated.
    pub next_evaluation: Option<Timestamp>,
    /// Consecutive datapoints above the target (AlarmHigh).
    pub above: u32,
    /// Consecutive datapoints below 90 % of the target (AlarmLow).
    pub below: u32,
    pub last_scale_out: Option<Timestamp>,
    pub last_scale_in: Option<Timestamp>,
    /// The latest datapoint (what the alarms saw last).
    #[serde(default)]
    pub last_value: Option<f64>,
}

/// One scaling policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPolicy {
    pub name: String,
    pub arn: String,
    /// `TargetTrackingScaling` or `StepScaling`.
    pub policy_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking: Option<TargetTracking>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_scaling: Option<StepScaling>,
    #[serde(default)]
    pub alarms: Vec<Alarm>,
    pub created: Timestamp,
    #[serde(default)]
    pub watch: Watch,
}

/// One scheduled action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledAction {
    pub name: String,
    pub arn: String,
    /// `at(...)`, `rate(...)` or `cron(...)`, as given.
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<i64>,
    pub created: Timestamp,
    /// When it runs next; `None` once a one-time action has run or the
    /// schedule has ended.
    #[serde(default)]
    pub next_run: Option<Timestamp>,
}

/// One scalable target: an ECS service's desired count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTarget {
    /// `service/<cluster>/<service>`.
    pub resource_id: String,
    pub arn: String,
    pub min_capacity: i64,
    pub max_capacity: i64,
    pub role_arn: String,
    #[serde(default)]
    pub suspended: SuspendedState,
    pub created: Timestamp,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub policies: BTreeMap<String, ScalingPolicy>,
    #[serde(default)]
    pub scheduled_actions: BTreeMap<String, ScheduledAction>,
}

impl ScalableTarget {
    /// The cluster and service names of `service/<cluster>/<service>`.
    pub fn service(&self) -> Option<(&str, &str)> {
        service_of(&self.resource_id)
    }
}

/// The cluster and service of an ECS resource id, `service/<c>/<s>`.
pub fn service_of(resource_id: &str) -> Option<(&str, &str)> {
    let rest = resource_id.strip_prefix("service/")?;
    let (cluster, service) = rest.split_once('/')?;
    (!cluster.is_empty() && !service.is_empty() && !service.contains('/')).then_some((cluster, service))
}

/// One scaling activity, in the API's shape.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Activity {
    pub activity_id: String,
    pub service_namespace: String,
    pub resource_id: String,
    pub scalable_dimension: String,
    pub description: String,
    pub cause: String,
    pub start_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    pub status_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

/// Every scalable target of the account and their activities.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scaling {
    /// By resource id.
    pub targets: BTreeMap<String, ScalableTarget>,
    /// By resource id, oldest first; kept after the target is deregistered,
    /// as AWS keeps them.
    pub activities: BTreeMap<String, Vec<Activity>>,
}

/// One write to the scaling records, as the journal keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
pub enum ScalingChange {
    /// A target written whole (with its policies and scheduled actions).
    PutTarget {
        target: ScalableTarget,
    },
    #[serde(rename_all = "camelCase")]
    DeleteTarget {
        resource_id: String,
    },
    Activity {
        activity: Activity,
    },
}

impl Scaling {
    /// Applies one change (a write, or the journal's replay of it).
    pub fn apply(&mut self, change: ScalingChange) {
        match change {
            ScalingChange::PutTarget { target } => {
                self.targets.insert(target.resource_id.clone(), target);
            }
            ScalingChange::DeleteTarget { resource_id } => {
                self.targets.remove(&resource_id);
            }
            ScalingChange::Activity { activity } => {
                let list = self.activities.entry(activity.resource_id.clone()).or_default();
                // Replay may see an activity the snapshot already holds
                // (the journal's compaction overlaps): keep it once.
                if list.iter().rev().any(|a| a.activity_id == activity.activity_id) {
                    return;
                }
                list.push(activity);
                if list.len() > MAX_ACTIVITIES {
                    let extra = list.len() - MAX_ACTIVITIES;
                    list.drain(..extra);
                }
            }
        }
    }

    /// The target whose ARN this is.
    pub fn target_by_arn(&self, arn: &str) -> Option<&ScalableTarget> {
        self.targets.values().find(|t| t.arn == arn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaying_an_activity_keeps_it_once() {
        let activity = Activity {
            activity_id: "a".into(),
            service_namespace: NAMESPACE.into(),
            resource_id: "service/c/s".into(),
            scalable_dimension: DIMENSION.into(),
            description: "Setting desired count to 2.".into(),
            cause: "test".into(),
            start_time: Timestamp(1),
            end_time: None,
            status_code: "Successful".into(),
            status_message: None,
        };
        let mut scaling = Scaling::default();
        scaling.apply(ScalingChange::Activity { activity: activity.clone() });
        scaling.apply(ScalingChange::Activity { activity });
        assert_eq!(scaling.activities["service/c/s"].len(), 1);
    }

    #[test]
    fn resource_ids_name_a_cluster_and_a_service() {
        assert_eq!(service_of("service/demo/web"), Some(("demo", "web")));
        assert_eq!(service_of("service/demo"), None);
        assert_eq!(service_of("service//web"), None);
        assert_eq!(service_of("service/demo/web/x"), None);
        assert_eq!(service_of("table/t"), None);
    }
}
