//! Application Auto Scaling on the emulator's port (`X-Amz-Target:
//! AnyScaleFrontendService.<Operation>`, JSON 1.1) for ECS services
//! (namespace `ecs`, dimension `ecs:service:DesiredCount`, resource ids
//! `service/<cluster>/<service>`): scalable targets, scaling policies
//! (target tracking and step scaling), scheduled actions, scaling
//! activities and tags, with the service's errors (`ValidationException`,
//! `ObjectNotFoundException`, `LimitExceededException`,
//! `InvalidNextTokenException`, `ResourceNotFoundException`,
//! `TooManyTagsException`) written `{"__type", "Message"}`.
//!
//! Each handler parses, checks and writes the records
//! ([`crate::emulator::state::scaling`]); what the policies and schedules do
//! over time is [`crate::emulator::sim::autoscaling`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::schedule;
use crate::emulator::sim::autoscaling::{PERIOD_MILLIS, clamp_to_capacity, next_run_of};
use crate::emulator::state::Store;
use crate::emulator::state::ids::{hex32, uuid};
use crate::emulator::state::records::Timestamp;
use crate::emulator::state::scaling::{
    Alarm, DIMENSION, NAMESPACE, ScalableTarget, ScalingChange, ScalingPolicy, ScheduledAction, StepScaling,
    SuspendedState, TargetTracking, service_of,
};
use crate::emulator::state::{lock, read};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// The model's service namespaces (only `ecs` has resources here).
const NAMESPACES: &[&str] = &[
    "ecs",
    "elasticmapreduce",
    "ec2",
    "appstream",
    "dynamodb",
    "rds",
    "sagemaker",
    "custom-resource",
    "comprehend",
    "lambda",
    "cassandra",
    "kafka",
    "elasticache",
    "neptune",
    "workspaces",
];
/// The predefined metrics of an ECS service.
const ECS_METRICS: &[&str] =
    &["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"];
/// Application Auto Scaling's quota of scaling policies per target.
const MAX_POLICIES: usize = 50;
/// Application Auto Scaling's quota of scheduled actions per target.
const MAX_SCHEDULED_ACTIONS: usize = 200;
/// Tags per scalable target.
const MAX_TAGS: usize = 50;

fn invalid(message: impl Into<String>) -> EcsError {
    EcsError::new(ErrorKind::ValidationException, message)
}

/// A required member that was absent, in AWS's validation wording.
fn required<T>(value: Option<T>, member: &str) -> EcsResult<T> {
    value.ok_or_else(|| EcsError::null_member(ErrorKind::ValidationException, member))
}

fn enum_check(value: &str, member: &str, allowed: &[&str]) -> EcsResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(EcsError::not_in_enum(ErrorKind::ValidationException, value, member, allowed))
    }
}

fn no_target(resource_id: &str) -> EcsError {
    EcsError::new(
        ErrorKind::ObjectNotFoundException,
        format!(
            "No scalable target registered for service namespace: {NAMESPACE}, resource ID: {resource_id}, scalable dimension: {DIMENSION}"
        ),
    )
}

/// The namespace member, checked against the model's enum.
fn namespace(value: Option<String>) -> EcsResult<String> {
    let ns = required(value, "serviceNamespace")?;
    enum_check(&ns, "serviceNamespace", NAMESPACES)?;
    Ok(ns)
}

/// The target a request names: namespace `ecs`, ECS's dimension and a
/// `service/<cluster>/<service>` resource id.
fn target_key(ns: Option<String>, resource_id: Option<String>, dimension: Option<String>) -> EcsResult<String> {
    let ns = namespace(ns)?;
    let resource_id = required(resource_id, "resourceId")?;
    let dimension = required(dimension, "scalableDimension")?;
    if ns != NAMESPACE {
        return Err(invalid(format!(
            "Unsupported service namespace: {ns}. This emulator scales ECS services only (service namespace ecs)."
        )));
    }
    if dimension != DIMENSION {
        return Err(invalid(format!("Unsupported scalable dimension {dimension} for service namespace {NAMESPACE}.")));
    }
    if service_of(&resource_id).is_none() {
        return Err(invalid(format!(
            "Unsupported resource ID: {resource_id}. An ECS resource ID has the form service/<cluster-name>/<service-name>."
        )));
    }
    Ok(resource_id)
}

/// Whether a Describe call can find anything: `false` for a valid
/// namespace (or dimension) that holds nothing here.
fn describe_filter(ns: Option<String>, dimension: Option<&str>) -> EcsResult<bool> {
    let ns = namespace(ns)?;
    if let Some(d) = dimension
        && d.is_empty()
    {
        return Err(invalid("The scalable dimension must not be empty."));
    }
    Ok(ns == NAMESPACE && dimension.is_none_or(|d| d == DIMENSION))
}

/// MaxResults: 1 to 50 (default 50).
fn max_results(value: Option<i64>) -> EcsResult<usize> {
    match value {
        None => Ok(50),
        Some(n) if (1..=50).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50"
        ))),
    }
}

/// One page of keyed items; tokens are the hex of the last key returned.
fn page<T>(items: Vec<(String, T)>, max: usize, token: Option<&str>) -> EcsResult<(Vec<T>, Option<String>)> {
    let after = match token {
        None | Some("") => None,
        Some(t) => Some(
            hex::decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| EcsError::new(ErrorKind::InvalidNextTokenException, "Invalid NextToken"))?,
        ),
    };
    let mut rest: Vec<(String, T)> = items.into_iter().filter(|(k, _)| after.as_ref().is_none_or(|a| k > a)).collect();
    let more = rest.len() > max;
    rest.truncate(max);
    let next = if more { rest.last().map(|(k, _)| hex::encode(k)) } else { None };
    Ok((rest.into_iter().map(|(_, v)| v).collect(), next))
}

fn with_next(mut body: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        body["NextToken"] = json!(token);
    }
    body
}

fn capacity(value: Option<i64>, member: &str) -> EcsResult<Option<i64>> {
    match value {
        Some(n) if n < 0 => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to 0"
        ))),
        other => Ok(other),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterInput {
    service_namespace: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    min_capacity: Option<i64>,
    max_capacity: Option<i64>,
    #[serde(rename = "RoleARN")]
    role_arn: Option<String>,
    suspended_state: Option<SuspendedState>,
    tags: Option<BTreeMap<String, String>>,
}

fn target_arn(store: &Store) -> String {
    let id = hex32();
    format!(
        "arn:aws:application-autoscaling:{}:{}:scalable-target/0ec{}",
        store.arns.region,
        store.arns.account_id,
        &id[..29]
    )
}

fn check_tags(tags: &BTreeMap<String, String>) -> EcsResult<()> {
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(invalid(format!(
                "Invalid tag: key '{k}' must have 1 to 128 characters and its value at most 256."
            )));
        }
        if k.starts_with("aws:") {
            return Err(invalid(format!("Tag keys starting with 'aws:' are reserved: {k}")));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(EcsError::new(
            ErrorKind::TooManyTagsException,
            format!("A scalable target can have at most {MAX_TAGS} tags."),
        ));
    }
    Ok(())
}

pub fn register_scalable_target(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: RegisterInput = parse(body)?;
    let resource_id = target_key(input.service_namespace, input.resource_id, input.scalable_dimension)?;
    let min = capacity(input.min_capacity, "minCapacity")?;
    let max = capacity(input.max_capacity, "maxCapacity")?;
    if let Some(tags) = &input.tags {
        check_tags(tags)?;
    }
    let now = store.now();
    store.change_scaling(|records, changes| {
        let (cluster, service) = service_of(&resource_id).ok_or_else(|| no_target(&resource_id))?;
        let exists = store.cluster(cluster).is_some_and(|cell| {
            let state = lock(&cell);
            state.is_active() && state.services.get(service).is_some_and(|e| e.service.status == "ACTIVE")
        });
        if !exists {
            return Err(invalid(format!("ECS service doesn't exist: {resource_id}")));
        }
        let mut target = match records.targets.get(&resource_id) {
            Some(t) => t.clone(),
            None => {
                let (Some(min), Some(max)) = (min, max) else {
                    return Err(invalid(
                        "MinCapacity and MaxCapacity are required to register a new scalable target.",
                    ));
                };
                ScalableTarget {
                    resource_id: resource_id.clone(),
                    arn: target_arn(store),
                    min_capacity: min,
                    max_capacity: max,
                    role_arn: format!(
                        "arn:aws:iam::{}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
                        store.arns.account_id
                    ),
                    suspended: SuspendedState::default(),
                    created: now,
                    tags: input.tags.clone().unwrap_or_default(),
                    policies: BTreeMap::new(),
                    scheduled_actions: BTreeMap::new(),
                }
            }
        };
        target.min_capacity = min.unwrap_or(target.min_capacity);
        target.max_capacity = max.unwrap_or(target.max_capacity);
        if target.max_capacity < target.min_capacity {
            return Err(invalid("Maximum capacity cannot be less than minimum capacity"));
        }
        if let Some(role) = &input.role_arn {
            target.role_arn = role.clone();
        }
        if let Some(suspended) = input.suspended_state {
            target.suspended = suspended;
        }
        let mut list = Vec::new();
        if let Some(activity) = clamp_to_capacity(store, &target, changes) {
            list.push(ScalingChange::Activity { activity });
        }
        let arn = target.arn.clone();
        list.insert(0, ScalingChange::PutTarget { target });
        Ok((json!({ "ScalableTargetARN": arn }), list))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeTargetsInput {
    service_namespace: Option<String>,
    resource_ids: Option<Vec<String>>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

fn render_target(t: &ScalableTarget) -> Value {
    json!({
        "ServiceNamespace": NAMESPACE,
        "ResourceId": t.resource_id,
        "ScalableDimension": DIMENSION,
        "MinCapacity": t.min_capacity,
        "MaxCapacity": t.max_capacity,
        "RoleARN": t.role_arn,
        "CreationTime": t.created,
        "SuspendedState": t.suspended,
        "ScalableTargetARN": t.arn,
    })
}

pub fn describe_scalable_targets(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeTargetsInput = parse(body)?;
    let max = max_results(input.max_results)?;
    if input.resource_ids.as_ref().is_some_and(|ids| ids.len() > 50) {
        return Err(invalid("At most 50 resource IDs can be given."));
    }
    if !describe_filter(input.service_namespace, input.scalable_dimension.as_deref())? {
        return Ok(json!({ "ScalableTargets": [] }));
    };
    let records = read(&store.scaling);
    let items: Vec<(String, Value)> = records
        .targets
        .values()
        .filter(|t| input.resource_ids.as_ref().is_none_or(|ids| ids.is_empty() || ids.contains(&t.resource_id)))
        .map(|t| (t.resource_id.clone(), render_target(t)))
        .collect();
    let (targets, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "ScalableTargets": targets }), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetInput {
    service_namespace: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
}

/// Removes the target with its policies and scheduled actions (AWS deletes
/// them with it); its activities stay, as AWS keeps them.
pub fn deregister_scalable_target(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TargetInput = parse(body)?;
    let resource_id = target_key(input.service_namespace, input.resource_id, input.scalable_dimension)?;
    store.change_scaling(|records, _| {
        records.targets.get(&resource_id).ok_or_else(|| no_target(&resource_id))?;
        Ok((json!({}), vec![ScalingChange::DeleteTarget { resource_id: resource_id.clone() }]))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutPolicyInput {
    policy_name: Option<String>,
    service_namespace: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    policy_type: Option<String>,
    step_scaling_policy_configuration: Option<StepScaling>,
    target_tracking_scaling_policy_configuration: Option<TargetTracking>,
    predictive_scaling_policy_configuration: Option<Value>,
}

fn check_name(name: &str, member: &str) -> EcsResult<()> {
    let len = name.chars().count();
    if !(1..=256).contains(&len) || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must have length between 1 and 256 and hold printable characters"
        )));
    }
    Ok(())
}

fn check_cooldown(value: Option<i64>, member: &str) -> EcsResult<()> {
    match value {
        Some(n) if !(0..=31_536_000).contains(&n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have value between 0 and 31536000"
        ))),
        _ => Ok(()),
    }
}

fn check_target_tracking(config: &TargetTracking) -> EcsResult<()> {
    if !(config.target_value.is_finite() && config.target_value >= 8.515920e-109 && config.target_value <= 6.174034e307)
    {
        return Err(invalid(format!(
            "1 validation error detected: Value '{}' at 'targetTrackingScalingPolicyConfiguration.targetValue' failed to satisfy constraint: Member must have value between 8.515920e-109 and 6.174034e+307",
            config.target_value
        )));
    }
    match (&config.predefined_metric_specification, &config.customized_metric_specification) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(invalid(
                "Exactly one of PredefinedMetricSpecification and CustomizedMetricSpecification must be specified.",
            ));
        }
        (Some(p), None) => {
            if !ECS_METRICS.contains(&p.predefined_metric_type.as_str()) {
                return Err(invalid(format!(
                    "Unsupported metric type {} for service namespace {NAMESPACE}. Use one of: {}.",
                    p.predefined_metric_type,
                    ECS_METRICS.join(", ")
                )));
            }
            if p.predefined_metric_type == "ALBRequestCountPerTarget" && p.resource_label.is_none() {
                return Err(invalid("ResourceLabel is required for predefined metric type ALBRequestCountPerTarget."));
            }
        }
        (None, Some(_)) => {}
    }
    check_cooldown(config.scale_out_cooldown, "targetTrackingScalingPolicyConfiguration.scaleOutCooldown")?;
    check_cooldown(config.scale_in_cooldown, "targetTrackingScalingPolicyConfiguration.scaleInCooldown")
}

fn check_step_scaling(config: &StepScaling) -> EcsResult<()> {
    let kind = config
        .adjustment_type
        .as_deref()
        .ok_or_else(|| invalid("AdjustmentType is required for a step scaling policy."))?;
    enum_check(
        kind,
        "stepScalingPolicyConfiguration.adjustmentType",
        &["ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"],
    )?;
    let steps = config.step_adjustments.as_deref().unwrap_or_default();
    if steps.is_empty() {
        return Err(invalid("At least one step adjustment is required for a step scaling policy."));
    }
    let mut intervals: Vec<(f64, f64)> = Vec::new();
    for s in steps {
        let lower = s.metric_interval_lower_bound.unwrap_or(f64::NEG_INFINITY);
        let upper = s.metric_interval_upper_bound.unwrap_or(f64::INFINITY);
        if lower.is_nan() || upper.is_nan() || lower >= upper {
            return Err(invalid("Step adjustment lower bound must be less than its upper bound."));
        }
        intervals.push((lower, upper));
    }
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    if intervals.windows(2).any(|w| w[1].0 < w[0].1) {
        return Err(invalid("Step adjustments must not overlap."));
    }
    if config.min_adjustment_magnitude.is_some() && kind != "PercentChangeInCapacity" {
        return Err(invalid(
            "MinAdjustmentMagnitude may only be specified with AdjustmentType PercentChangeInCapacity.",
        ));
    }
    if config.min_adjustment_magnitude.is_some_and(|m| m < 1) {
        return Err(invalid("MinAdjustmentMagnitude must be at least 1."));
    }
    if let Some(kind) = &config.metric_aggregation_type {
        enum_check(kind, "stepScalingPolicyConfiguration.metricAggregationType", &["Average", "Minimum", "Maximum"])?;
    }
    check_cooldown(config.cooldown, "stepScalingPolicyConfiguration.cooldown")
}

fn alarm(store: &Store, name: String) -> Alarm {
    let arn = format!("arn:aws:cloudwatch:{}:{}:alarm:{name}", store.arns.region, store.arns.account_id);
    Alarm { alarm_name: name, alarm_arn: arn }
}

pub fn put_scaling_policy(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: PutPolicyInput = parse(body)?;
    let name = required(input.policy_name, "policyName")?;
    check_name(&name, "policyName")?;
    let resource_id = target_key(input.service_namespace, input.resource_id, input.scalable_dimension)?;
    let policy_type = input.policy_type.unwrap_or_else(|| "StepScaling".into());
    enum_check(&policy_type, "policyType", &["StepScaling", "TargetTrackingScaling", "PredictiveScaling"])?;
    let (target_tracking, step_scaling) = match policy_type.as_str() {
        "TargetTrackingScaling" => {
            let config = input.target_tracking_scaling_policy_configuration.ok_or_else(|| {
                invalid(
                    "TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling.",
                )
            })?;
            check_target_tracking(&config)?;
            (Some(config), None)
        }
        "StepScaling" => {
            let config = input.step_scaling_policy_configuration.ok_or_else(|| {
                invalid("StepScalingPolicyConfiguration is required for a policy of type StepScaling.")
            })?;
            check_step_scaling(&config)?;
            (None, Some(config))
        }
        _ => {
            let _ = input.predictive_scaling_policy_configuration;
            return Err(invalid("Predictive scaling policies are not supported by this emulator."));
        }
    };
    let now = store.now();
    store.change_scaling(|records, _| {
        let mut target = records.targets.get(&resource_id).cloned().ok_or_else(|| no_target(&resource_id))?;
        let existing = target.policies.get(&name).cloned();
        if existing.is_none() && target.policies.len() >= MAX_POLICIES {
            return Err(EcsError::new(
                ErrorKind::LimitExceededException,
                format!("A scalable target can have at most {MAX_POLICIES} scaling policies."),
            ));
        }
        let tracking = target_tracking.is_some();
        let alarms = match &existing {
            Some(p) if tracking && p.target_tracking.is_some() => p.alarms.clone(),
            _ if tracking => {
                let id = uuid();
                vec![
                    alarm(store, format!("TargetTracking-{resource_id}-AlarmHigh-{id}")),
                    alarm(store, format!("TargetTracking-{resource_id}-AlarmLow-{}", uuid())),
                ]
            }
            _ => Vec::new(),
        };
        let mut watch = existing.as_ref().map(|p| p.watch).unwrap_or_default();
        if tracking && watch.next_evaluation.is_none() {
            watch.next_evaluation = Some(Timestamp(now.0 + PERIOD_MILLIS));
        }
        if !tracking {
            watch.next_evaluation = None;
        }
        let policy = ScalingPolicy {
            arn: existing.as_ref().map(|p| p.arn.clone()).unwrap_or_else(|| {
                format!(
                    "arn:aws:autoscaling:{}:{}:scalingPolicy:{}:resource/{NAMESPACE}/{resource_id}:policyName/{name}",
                    store.arns.region,
                    store.arns.account_id,
                    uuid()
                )
            }),
            name: name.clone(),
            policy_type: policy_type.clone(),
            target_tracking: target_tracking.clone(),
            step_scaling: step_scaling.clone(),
            alarms,
            created: existing.as_ref().map_or(now, |p| p.created),
            watch,
        };
        let mut out = json!({ "PolicyARN": policy.arn });
        if tracking {
            out["Alarms"] = json!(policy.alarms);
        }
        target.policies.insert(name.clone(), policy);
        Ok((out, vec![ScalingChange::PutTarget { target }]))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeListInput {
    policy_names: Option<Vec<String>>,
    scheduled_action_names: Option<Vec<String>>,
    service_namespace: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[allow(dead_code)]
    include_not_scaled_activities: Option<bool>,
}

fn render_policy(t: &ScalableTarget, p: &ScalingPolicy) -> Value {
    let mut out = json!({
        "PolicyARN": p.arn,
        "PolicyName": p.name,
        "ServiceNamespace": NAMESPACE,
        "ResourceId": t.resource_id,
        "ScalableDimension": DIMENSION,
        "PolicyType": p.policy_type,
        "Alarms": p.alarms,
        "CreationTime": p.created,
    });
    if let Some(c) = &p.target_tracking {
        out["TargetTrackingScalingPolicyConfiguration"] = json!(c);
    }
    if let Some(c) = &p.step_scaling {
        out["StepScalingPolicyConfiguration"] = json!(c);
    }
    out
}

/// The targets a Describe call looks at, in resource id order.
fn targets_of<'a>(
    targets: &'a BTreeMap<String, ScalableTarget>,
    resource_id: Option<&'a str>,
) -> impl Iterator<Item = &'a ScalableTarget> + 'a {
    targets.values().filter(move |t| resource_id.is_none_or(|r| r == t.resource_id))
}

fn names_filter(names: &Option<Vec<String>>, name: &str) -> bool {
    names.as_ref().is_none_or(|n| n.is_empty() || n.iter().any(|x| x == name))
}

pub fn describe_scaling_policies(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeListInput = parse(body)?;
    let max = max_results(input.max_results)?;
    if !describe_filter(input.service_namespace, input.scalable_dimension.as_deref())? {
        return Ok(json!({ "ScalingPolicies": [] }));
    };
    let records = read(&store.scaling);
    let items: Vec<(String, Value)> = targets_of(&records.targets, input.resource_id.as_deref())
        .flat_map(|t| {
            let names = &input.policy_names;
            t.policies
                .values()
                .filter(move |p| names_filter(names, &p.name))
                .map(move |p| (format!("{}\u{1}{}", t.resource_id, p.name), render_policy(t, p)))
        })
        .collect();
    let (policies, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "ScalingPolicies": policies }), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeletePolicyInput {
    policy_name: Option<String>,
    service_namespace: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
}

pub fn delete_scaling_policy(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeletePolicyInput = parse(body)?;
    let name = required(input.policy_name, "policyName")?;
    let resource_id = target_key(input.service_namespace, input.resource_id, input.scalable_dimension)?;
    store.change_scaling(|records, _| {
        let not_found = || {
            EcsError::new(
                ErrorKind::ObjectNotFoundException,
                format!(
                    "No scaling policy found for service namespace: {NAMESPACE}, resource ID: {resource_id}, scalable dimension: {DIMENSION}, policy name: {name}"
                ),
            )
        };
        let mut target = records.targets.get(&resource_id).cloned().ok_or_else(not_found)?;
        target.policies.remove(&name).ok_or_else(not_found)?;
        Ok((json!({}), vec![ScalingChange::PutTarget { target }]))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetAction {
    min_capacity: Option<i64>,
    max_capacity: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutScheduledInput {
    service_namespace: Option<String>,
    schedule: Option<String>,
    timezone: Option<String>,
    scheduled_action_name: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    start_time: Option<Timestamp>,
    end_time: Option<Timestamp>,
    scalable_target_action: Option<TargetAction>,
}

/// Scheduled action names: 1 to 256 characters, no `:`, `/` or `|`, no
/// control characters, no leading or trailing spaces.
fn check_action_name(name: &str) -> EcsResult<()> {
    let bad = name.is_empty()
        || name.chars().count() > 256
        || name.starts_with(' ')
        || name.ends_with(' ')
        || name.chars().any(|c| c.is_control() || ":/|".contains(c));
    if bad {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'scheduledActionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!((^[ ]+.*)|(.*([\\u0000-\\u001f]|[\\u007f-\\u009f]|[:/|])+.*)|(.*[ ]+$))).+"
        )));
    }
    Ok(())
}

pub fn put_scheduled_action(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: PutScheduledInput = parse(body)?;
    let name = required(input.scheduled_action_name, "scheduledActionName")?;
    check_action_name(&name)?;
    let resource_id = target_key(input.service_namespace, input.resource_id, input.scalable_dimension)?;
    if let Some(s) = &input.schedule {
        schedule::parse(s).map_err(|e| invalid(e.to_string()))?;
    }
    schedule::zone(input.timezone.as_deref()).map_err(|e| invalid(e.to_string()))?;
    let action = input.scalable_target_action.unwrap_or(TargetAction { min_capacity: None, max_capacity: None });
    let min = capacity(action.min_capacity, "scalableTargetAction.minCapacity")?;
    let max = capacity(action.max_capacity, "scalableTargetAction.maxCapacity")?;
    if let (Some(min), Some(max)) = (min, max)
        && max < min
    {
        return Err(invalid("Maximum capacity cannot be less than minimum capacity"));
    }
    if let (Some(start), Some(end)) = (input.start_time, input.end_time)
        && end.0 <= start.0
    {
        return Err(invalid("The end time must be after the start time."));
    }
    let now = store.now();
    store.change_scaling(|records, _| {
        let mut target = records.targets.get(&resource_id).cloned().ok_or_else(|| no_target(&resource_id))?;
        let existing = target.scheduled_actions.get(&name).cloned();
        if existing.is_none() && target.scheduled_actions.len() >= MAX_SCHEDULED_ACTIONS {
            return Err(EcsError::new(
                ErrorKind::LimitExceededException,
                format!("A scalable target can have at most {MAX_SCHEDULED_ACTIONS} scheduled actions."),
            ));
        }
        let mut record = match existing {
            Some(a) => a,
            None => ScheduledAction {
                name: name.clone(),
                arn: format!(
                    "arn:aws:autoscaling:{}:{}:scheduledAction:{}:resource/{NAMESPACE}/{resource_id}:scheduledActionName/{name}",
                    store.arns.region,
                    store.arns.account_id,
                    uuid()
                ),
                schedule: input.schedule.clone().ok_or_else(|| invalid("Schedule is required for a new scheduled action."))?,
                timezone: None,
                start_time: None,
                end_time: None,
                min_capacity: None,
                max_capacity: None,
                created: now,
                next_run: None,
            },
        };
        if let Some(s) = &input.schedule {
            record.schedule = s.clone();
        }
        if input.timezone.is_some() {
            record.timezone = input.timezone.clone();
        }
        if input.start_time.is_some() {
            record.start_time = input.start_time;
        }
        if input.end_time.is_some() {
            record.end_time = input.end_time;
        }
        if min.is_some() || max.is_some() {
            record.min_capacity = min;
            record.max_capacity = max;
        }
        if record.min_capacity.is_none() && record.max_capacity.is_none() {
            return Err(invalid("At least one of minimum capacity and maximum capacity should be provided"));
        }
        // A time already here runs at the next tick.
        record.next_run = next_run_of(&record, now.0 - 1);
        target.scheduled_actions.insert(name.clone(), record);
        Ok((json!({}), vec![ScalingChange::PutTarget { target }]))
    })
}

fn render_action(t: &ScalableTarget, a: &ScheduledAction) -> Value {
    let mut action = serde_json::Map::new();
    if let Some(n) = a.min_capacity {
        action.insert("MinCapacity".into(), json!(n));
    }
    if let Some(n) = a.max_capacity {
        action.insert("MaxCapacity".into(), json!(n));
    }
    let mut out = json!({
        "ScheduledActionName": a.name,
        "ScheduledActionARN": a.arn,
        "ServiceNamespace": NAMESPACE,
        "Schedule": a.schedule,
        "ResourceId": t.resource_id,
        "ScalableDimension": DIMENSION,
        "ScalableTargetAction": action,
        "CreationTime": a.created,
    });
    if let Some(tz) = &a.timezone {
        out["Timezone"] = json!(tz);
    }
    if let Some(at) = a.start_time {
        out["StartTime"] = json!(at);
    }
    if let Some(at) = a.end_time {
        out["EndTime"] = json!(at);
    }
    out
}

pub fn describe_scheduled_actions(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeListInput = parse(body)?;
    let max = max_results(input.max_results)?;
    if !describe_filter(input.service_namespace, input.scalable_dimension.as_deref())? {
        return Ok(json!({ "ScheduledActions": [] }));
    };
    let records = read(&store.scaling);
    let items: Vec<(String, Value)> = targets_of(&records.targets, input.resource_id.as_deref())
        .flat_map(|t| {
            let names = &input.scheduled_action_names;
            t.scheduled_actions
                .values()
                .filter(move |a| names_filter(names, &a.name))
                .map(move |a| (format!("{}\u{1}{}", t.resource_id, a.name), render_action(t, a)))
        })
        .collect();
    let (actions, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "ScheduledActions": actions }), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteScheduledInput {
    service_namespace: Option<String>,
    scheduled_action_name: Option<String>,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
}

pub fn delete_scheduled_action(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeleteScheduledInput = parse(body)?;
    let name = required(input.scheduled_action_name, "scheduledActionName")?;
    let resource_id = target_key(input.service_namespace, input.resource_id, input.scalable_dimension)?;
    store.change_scaling(|records, _| {
        let not_found = || {
            EcsError::new(
                ErrorKind::ObjectNotFoundException,
                format!(
                    "No scheduled action found for service namespace: {NAMESPACE}, resource ID: {resource_id}, scalable dimension: {DIMENSION}, scheduled action name: {name}"
                ),
            )
        };
        let mut target = records.targets.get(&resource_id).cloned().ok_or_else(not_found)?;
        target.scheduled_actions.remove(&name).ok_or_else(not_found)?;
        Ok((json!({}), vec![ScalingChange::PutTarget { target }]))
    })
}

/// Newest first; tokens are the index of the next activity.
pub fn describe_scaling_activities(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeListInput = parse(body)?;
    let max = max_results(input.max_results)?;
    if !describe_filter(input.service_namespace, input.scalable_dimension.as_deref())? {
        return Ok(json!({ "ScalingActivities": [] }));
    };
    let start = match input.next_token.as_deref() {
        None | Some("") => 0,
        Some(t) => {
            t.parse::<usize>().map_err(|_| EcsError::new(ErrorKind::InvalidNextTokenException, "Invalid NextToken"))?
        }
    };
    let records = read(&store.scaling);
    let mut all: Vec<&crate::emulator::state::scaling::Activity> = records
        .activities
        .iter()
        .filter(|(rid, _)| input.resource_id.as_deref().is_none_or(|r| r == rid.as_str()))
        .flat_map(|(_, list)| list.iter())
        .collect();
    // Newest first; of two at the same instant, the one recorded later.
    all.reverse();
    all.sort_by_key(|a| std::cmp::Reverse(a.start_time.0));
    let activities: Vec<Value> = all.iter().skip(start).take(max).map(|a| json!(a)).collect();
    let next = (start + max < all.len()).then(|| (start + max).to_string());
    Ok(with_next(json!({ "ScalingActivities": activities }), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: Option<String>,
    tags: Option<BTreeMap<String, String>>,
    tag_keys: Option<Vec<String>>,
}

/// The target a tagging call names; a malformed ARN is a validation
/// error, an unknown one `ResourceNotFoundException`.
fn tagged<'a>(records: &'a crate::emulator::state::scaling::Scaling, arn: &str) -> EcsResult<&'a ScalableTarget> {
    let id = arn.split_once(":scalable-target/").map(|(_, id)| id);
    let well_formed = arn.starts_with("arn:")
        && arn.contains(":application-autoscaling:")
        && id.is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !well_formed {
        return Err(invalid(format!(
            "1 validation error detected: Value '{arn}' at 'resourceARN' failed to satisfy constraint: Member must satisfy regular expression pattern: ^arn:.+:application-autoscaling:.+:[0-9]+:scalable-target\\/[a-zA-Z0-9-]+$"
        )));
    }
    records
        .target_by_arn(arn)
        .ok_or_else(|| EcsError::new(ErrorKind::ResourceNotFoundException, format!("Resource not found: {arn}")))
}

pub fn tag_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceARN")?;
    let tags = required(input.tags, "tags")?;
    store.change_scaling(|records, _| {
        let mut target = tagged(records, &arn)?.clone();
        target.tags.extend(tags);
        check_tags(&target.tags)?;
        Ok((json!({}), vec![ScalingChange::PutTarget { target }]))
    })
}

pub fn untag_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceARN")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    store.change_scaling(|records, _| {
        let mut target = tagged(records, &arn)?.clone();
        for key in &keys {
            target.tags.remove(key);
        }
        Ok((json!({}), vec![ScalingChange::PutTarget { target }]))
    })
}

pub fn list_tags_for_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceARN")?;
    let records = read(&store.scaling);
    let target = tagged(&records, &arn)?;
    Ok(json!({ "Tags": target.tags }))
}
