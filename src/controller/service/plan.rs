//! Pure decisions about one EcsService: what UpdateService must change (and
//! whether that is drift), who owns a service found in ECS, what its
//! deployments mean for the conditions, which ECS events are new, and what
//! the rollout metrics count. No I/O, so every rule has a fast test.

use std::collections::HashSet;

use crate::api::CapacityProviderStrategyItem;
use crate::api::conditions::{DEGRADED, PROGRESSING, READY};
use crate::api::service::{
    AssignPublicIp, Deployment, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, EcsServiceSpec,
    NetworkConfiguration, RolloutState, SchedulingStrategy, SpecField,
};
use crate::controller::status::Judgement;
use crate::ecs::service::{ServiceDescription, ServiceEventRecord, ServiceUpdate};
use crate::ecs::service_mapping::wire;
use crate::ecs::{Tags, parse_task_definition_ref};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

pub use crate::controller::task_definition::plan::{OWNER_TAG, OWNER_UID_TAG};

/// The annotation that lets an object take over a service that already exists
/// in ECS and was not created by it.
pub const ADOPT_ANNOTATION: &str = "ecs-bridge.dev/adopt";

/// The desired count of a new service whose spec leaves the count to an autoscaler.
pub const DEFAULT_DESIRED_COUNT: i32 = 1;

/// The Fargate platform version ECS uses when a service names none.
pub const DEFAULT_PLATFORM_VERSION: &str = "LATEST";

/// Condition reasons of the EcsService.
pub mod reason {
    pub use crate::controller::status::reason::*;
    /// Ready: one COMPLETED deployment with runningCount = desiredCount.
    pub const STEADY: &str = "Steady";
    /// Ready=False / Progressing: a deployment is rolling out.
    pub const ROLLOUT_IN_PROGRESS: &str = "RolloutInProgress";
    /// Progressing=False: the last deployment completed.
    pub const ROLLOUT_COMPLETE: &str = "RolloutComplete";
    /// Progressing: the circuit breaker is rolling back.
    pub const ROLLING_BACK: &str = "RollingBack";
    /// Degraded/Ready=False: the deployment of the spec's revision failed.
    pub const DEPLOYMENT_FAILED: &str = "DeploymentFailed";
    /// Degraded/Ready=False: the circuit breaker rolled back to the previous deployment.
    pub const ROLLED_BACK: &str = "RolledBack";
    /// Degraded: tasks of the rolling deployment fail to start.
    pub const TASKS_FAILING: &str = "TasksFailing";
    /// Degraded=False.
    pub const HEALTHY: &str = "Healthy";
    /// Ready=False: a service of that name exists in ECS and is not this object's.
    pub const ALREADY_EXISTS: &str = "AlreadyExists";
    /// The referenced EcsTaskDefinition does not exist.
    pub const TASK_DEFINITION_NOT_FOUND: &str = "TaskDefinitionNotFound";
    /// The referenced EcsTaskDefinition has no ready revision yet.
    pub const TASK_DEFINITION_NOT_READY: &str = "TaskDefinitionNotReady";
    /// The ECS cluster does not exist.
    pub const CLUSTER_NOT_FOUND: &str = "ClusterNotFound";
    /// A service of that name is still DRAINING in ECS.
    pub const DRAINING: &str = "Draining";
    /// ECS is being asked for a redeploy.
    pub const REDEPLOYING: &str = "Redeploying";
}

/// Whether the service's tags say `uid`'s object created (or adopted) it.
pub fn is_owned_by(tags: &Tags, uid: &str) -> bool {
    tags.get(OWNER_UID_TAG).is_some_and(|v| v == uid)
}

/// The tags of the service: the spec's, plus the ownership tags (which win).
pub fn service_tags(spec_tags: &Tags, uid: &str, namespace: &str, name: &str) -> Tags {
    let mut tags = spec_tags.clone();
    let mut owner = format!("{namespace}/{name}");
    owner.truncate(256);
    tags.insert(OWNER_UID_TAG.to_owned(), uid.to_owned());
    tags.insert(OWNER_TAG.to_owned(), owner);
    tags
}

/// The tags `wanted` has that `actual` lacks or holds with another value.
pub fn missing_tags(wanted: &Tags, actual: &Tags) -> Tags {
    wanted.iter().filter(|(k, v)| actual.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// Whether an annotation value asks for adoption.
pub fn asks_for_adoption(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Whether the service runs what `wanted` names: an ARN exactly, a
/// `family:revision` by family and number, a bare `family` by family (ECS
/// resolves it to the latest ACTIVE revision at update time only).
pub fn task_definition_matches(wanted: &str, observed: &str) -> bool {
    if wanted == observed {
        return true;
    }
    let observed_parts = parse_task_definition_ref(observed);
    if wanted.starts_with("arn:") {
        return false;
    }
    match (parse_task_definition_ref(wanted), observed_parts) {
        (Some(w), Some(o)) => w == o,
        (None, Some((family, _))) => family == wanted,
        _ => false,
    }
}

/// A short name for a task definition in messages: `family:revision`.
pub fn short_task_definition(reference: &str) -> String {
    match parse_task_definition_ref(reference) {
        Some((family, revision)) => format!("{family}:{revision}"),
        None => reference.to_owned(),
    }
}

fn normalized_strategy(items: &[CapacityProviderStrategyItem]) -> Vec<(String, i32, i32)> {
    let mut items: Vec<_> =
        items.iter().map(|i| (i.capacity_provider.clone(), i.weight.unwrap_or(0), i.base.unwrap_or(0))).collect();
    items.sort();
    items
}

fn normalized_network(network: &NetworkConfiguration) -> (Vec<String>, Vec<String>, AssignPublicIp) {
    let vpc = &network.awsvpc_configuration;
    let mut subnets = vpc.subnets.clone();
    subnets.sort();
    let mut groups = vpc.security_groups.clone();
    groups.sort();
    (subnets, groups, vpc.assign_public_ip.unwrap_or(AssignPublicIp::Disabled))
}

fn network_matches(wanted: &NetworkConfiguration, observed: Option<&NetworkConfiguration>) -> bool {
    let Some(observed) = observed else { return false };
    let (ws, wg, wp) = normalized_network(wanted);
    let (os, og, op) = normalized_network(observed);
    // No security groups in the spec means "the VPC's default", which ECS may fill in.
    ws == os && wp == op && (wg.is_empty() || wg == og)
}

/// The optional fields `spec` sets that UpdateService can reset: what the
/// status records as applied (`appliedFields`) after a successful apply, so
/// that removing one from the spec later resets it in ECS.
pub fn applied_fields(spec: &EcsServiceSpec) -> Vec<SpecField> {
    let config = spec.deployment_configuration.as_ref();
    let set = [
        (spec.capacity_provider_strategy.is_some(), SpecField::CapacityProviderStrategy),
        (spec.platform_version.is_some(), SpecField::PlatformVersion),
        (!spec.load_balancers.is_empty(), SpecField::LoadBalancers),
        (!spec.service_registries.is_empty(), SpecField::ServiceRegistries),
        (!spec.placement_constraints.is_empty(), SpecField::PlacementConstraints),
        (spec.placement_strategy.is_some(), SpecField::PlacementStrategy),
        (spec.health_check_grace_period_seconds.is_some(), SpecField::HealthCheckGracePeriodSeconds),
        (spec.enable_execute_command.is_some(), SpecField::EnableExecuteCommand),
        (spec.enable_ecs_managed_tags.is_some(), SpecField::EnableEcsManagedTags),
        (spec.propagate_tags.is_some(), SpecField::PropagateTags),
        (config.is_some_and(|c| c.maximum_percent.is_some()), SpecField::MaximumPercent),
        (config.is_some_and(|c| c.minimum_healthy_percent.is_some()), SpecField::MinimumHealthyPercent),
        (config.is_some_and(|c| c.deployment_circuit_breaker.is_some()), SpecField::DeploymentCircuitBreaker),
        (config.is_some_and(|c| c.alarms.is_some()), SpecField::DeploymentAlarms),
    ];
    let mut fields: Vec<SpecField> = set.into_iter().filter(|(is_set, _)| *is_set).map(|(_, f)| f).collect();
    fields.sort();
    fields
}

/// The fields to reset: applied by the operator earlier, no longer in the spec.
pub fn removed_fields(spec: &EcsServiceSpec, applied: &[SpecField]) -> Vec<SpecField> {
    let now = applied_fields(spec);
    let mut removed: Vec<SpecField> =
        applied.iter().filter(|f| **f != SpecField::Unknown && !now.contains(f)).copied().collect();
    removed.sort();
    removed.dedup();
    removed
}

/// ECS's value of an unset maximumPercent / minimumHealthyPercent.
fn default_percents(daemon: bool) -> (i32, i32) {
    if daemon { (100, 0) } else { (200, 100) }
}

/// No alarms: what a reset sends, and how ECS reports alarms that are off.
fn no_alarms() -> DeploymentAlarms {
    DeploymentAlarms { alarm_names: Vec::new(), enable: false, rollback: false }
}

/// The observed deployment configuration with the spec's fields laid over
/// it, and the fields in `removed` set back to ECS's defaults, or `None`
/// when ECS already has all that. The merge matters: UpdateService replaces
/// the whole structure, so sending only the spec's fields would reset the
/// others (including those someone else set) to ECS's defaults.
fn deployment_configuration_change(
    wanted: Option<&DeploymentConfiguration>,
    removed: &[SpecField],
    daemon: bool,
    observed: Option<&DeploymentConfiguration>,
) -> Option<DeploymentConfiguration> {
    let off = DeploymentCircuitBreaker { enable: false, rollback: false };
    let reset = |f: SpecField| removed.contains(&f);
    let (default_max, default_min) = default_percents(daemon);
    let current = observed.cloned().unwrap_or(DeploymentConfiguration {
        maximum_percent: None,
        minimum_healthy_percent: None,
        deployment_circuit_breaker: None,
        alarms: None,
    });
    let mut merged = current.clone();
    let mut differs = false;
    let max = wanted.and_then(|w| w.maximum_percent).or(reset(SpecField::MaximumPercent).then_some(default_max));
    if let Some(max) = max
        && current.maximum_percent.unwrap_or(default_max) != max
    {
        merged.maximum_percent = Some(max);
        differs = true;
    }
    let min = wanted
        .and_then(|w| w.minimum_healthy_percent)
        .or(reset(SpecField::MinimumHealthyPercent).then_some(default_min));
    if let Some(min) = min
        && current.minimum_healthy_percent.unwrap_or(default_min) != min
    {
        merged.minimum_healthy_percent = Some(min);
        differs = true;
    }
    let breaker = wanted
        .and_then(|w| w.deployment_circuit_breaker.clone())
        .or(reset(SpecField::DeploymentCircuitBreaker).then(|| off.clone()));
    if let Some(breaker) = breaker
        && current.deployment_circuit_breaker.as_ref().unwrap_or(&off) != &breaker
    {
        merged.deployment_circuit_breaker = Some(breaker);
        differs = true;
    }
    if let Some(alarms) = wanted.and_then(|w| w.alarms.as_ref()) {
        if current.alarms.as_ref() != Some(alarms) {
            merged.alarms = Some(alarms.clone());
            differs = true;
        }
    } else if reset(SpecField::DeploymentAlarms) && current.alarms.as_ref().is_some_and(|a| *a != no_alarms()) {
        merged.alarms = Some(no_alarms());
        differs = true;
    }
    differs.then_some(merged)
}

fn same_items<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

fn reset_line(field: &str) -> String {
    format!("{field} reset (removed from the spec)")
}

/// What UpdateService must send to make ECS match the spec, and a line per
/// field saying what changes (`desiredCount 5 → 3`), for events.
///
/// What the spec sets is compared with ECS. What it does not set is left
/// alone (an unset `desiredCount` belongs to an autoscaler, an unset list to
/// whoever set it in ECS), except the fields in `applied` (the status's
/// record of what the operator applied before): those the spec no longer
/// sets are reset to ECS's defaults. The reset is decided by comparison with
/// ECS, so repeating it after a crash asks for nothing twice.
/// `task_definition` is the resolved revision (or reference) to run, `None`
/// to leave it alone.
pub fn changes(
    spec: &EcsServiceSpec,
    applied: &[SpecField],
    task_definition: Option<&str>,
    observed: &ServiceDescription,
) -> (ServiceUpdate, Vec<String>) {
    let removed = removed_fields(spec, applied);
    let reset = |f: SpecField| removed.contains(&f);
    let daemon = spec.scheduling_strategy == SchedulingStrategy::Daemon;
    let mut update = ServiceUpdate::default();
    let mut lines = Vec::new();
    if spec.scheduling_strategy == SchedulingStrategy::Replica
        && let Some(count) = spec.desired_count
        && observed.desired_count != count
    {
        update.desired_count = Some(count);
        lines.push(format!("desiredCount {} → {count}", observed.desired_count));
    }
    if let Some(wanted) = task_definition {
        let current = observed.task_definition.as_deref().unwrap_or_default();
        if !task_definition_matches(wanted, current) {
            update.task_definition = Some(wanted.to_owned());
            lines.push(format!(
                "taskDefinition {} → {}",
                short_task_definition(current),
                short_task_definition(wanted)
            ));
        }
    }
    if let Some(items) = &spec.capacity_provider_strategy {
        if normalized_strategy(items) != normalized_strategy(&observed.capacity_provider_strategy) {
            update.capacity_provider_strategy = Some(items.clone());
            lines.push("capacityProviderStrategy".to_owned());
        }
    } else if reset(SpecField::CapacityProviderStrategy) && !observed.capacity_provider_strategy.is_empty() {
        update.capacity_provider_strategy = Some(Vec::new());
        lines.push(reset_line("capacityProviderStrategy"));
    }
    if let Some(version) = &spec.platform_version {
        if observed.platform_version.as_ref() != Some(version) {
            update.platform_version = Some(version.clone());
            lines.push(format!(
                "platformVersion {} → {version}",
                observed.platform_version.as_deref().unwrap_or("(none)")
            ));
        }
    } else if reset(SpecField::PlatformVersion)
        && let Some(current) = observed.platform_version.as_deref()
        && current != DEFAULT_PLATFORM_VERSION
    {
        update.platform_version = Some(DEFAULT_PLATFORM_VERSION.to_owned());
        lines.push(format!("platformVersion {current} → {DEFAULT_PLATFORM_VERSION} (removed from the spec)"));
    }
    if let Some(network) = &spec.network_configuration
        && !network_matches(network, observed.network_configuration.as_ref())
    {
        update.network_configuration = Some(network.clone());
        lines.push("networkConfiguration".to_owned());
    }
    if let Some(merged) = deployment_configuration_change(
        spec.deployment_configuration.as_ref(),
        &removed,
        daemon,
        observed.deployment_configuration.as_ref(),
    ) {
        update.deployment_configuration = Some(merged);
        lines.push("deploymentConfiguration".to_owned());
    }
    if !spec.load_balancers.is_empty() {
        if !same_items(&spec.load_balancers, &observed.load_balancers) {
            update.load_balancers = Some(spec.load_balancers.clone());
            lines.push("loadBalancers".to_owned());
        }
    } else if reset(SpecField::LoadBalancers) && !observed.load_balancers.is_empty() {
        update.load_balancers = Some(Vec::new());
        lines.push(reset_line("loadBalancers"));
    }
    if !spec.service_registries.is_empty() {
        if !same_items(&spec.service_registries, &observed.service_registries) {
            update.service_registries = Some(spec.service_registries.clone());
            lines.push("serviceRegistries".to_owned());
        }
    } else if reset(SpecField::ServiceRegistries) && !observed.service_registries.is_empty() {
        update.service_registries = Some(Vec::new());
        lines.push(reset_line("serviceRegistries"));
    }
    if !spec.placement_constraints.is_empty() {
        if !same_items(&spec.placement_constraints, &observed.placement_constraints) {
            update.placement_constraints = Some(spec.placement_constraints.clone());
            lines.push("placementConstraints".to_owned());
        }
    } else if reset(SpecField::PlacementConstraints) && !observed.placement_constraints.is_empty() {
        update.placement_constraints = Some(Vec::new());
        lines.push(reset_line("placementConstraints"));
    }
    if let Some(strategy) = &spec.placement_strategy {
        if *strategy != observed.placement_strategy {
            update.placement_strategy = Some(strategy.clone());
            lines.push("placementStrategy".to_owned());
        }
    } else if reset(SpecField::PlacementStrategy) && !observed.placement_strategy.is_empty() {
        update.placement_strategy = Some(Vec::new());
        lines.push(reset_line("placementStrategy"));
    }
    let current_grace = observed.health_check_grace_period_seconds.unwrap_or(0);
    let grace = spec.health_check_grace_period_seconds.or(reset(SpecField::HealthCheckGracePeriodSeconds).then_some(0));
    if let Some(grace) = grace
        && current_grace != grace
    {
        update.health_check_grace_period_seconds = Some(grace);
        lines.push(format!("healthCheckGracePeriodSeconds {current_grace} → {grace}"));
    }
    let exec = spec.enable_execute_command.or(reset(SpecField::EnableExecuteCommand).then_some(false));
    if let Some(enable) = exec
        && observed.enable_execute_command != enable
    {
        update.enable_execute_command = Some(enable);
        lines.push(format!("enableExecuteCommand {} → {enable}", observed.enable_execute_command));
    }
    let managed_tags = spec.enable_ecs_managed_tags.or(reset(SpecField::EnableEcsManagedTags).then_some(false));
    if let Some(enable) = managed_tags
        && observed.enable_ecs_managed_tags != enable
    {
        update.enable_ecs_managed_tags = Some(enable);
        lines.push(format!("enableECSManagedTags {} → {enable}", observed.enable_ecs_managed_tags));
    }
    let propagate = match &spec.propagate_tags {
        Some(propagate) => Some(wire(propagate)),
        None => reset(SpecField::PropagateTags).then(|| "NONE".to_owned()),
    };
    if let Some(wanted) = propagate {
        let current = observed.propagate_tags.as_deref().unwrap_or("NONE");
        if wanted != current {
            lines.push(format!("propagateTags {current} → {wanted}"));
            update.propagate_tags = Some(wanted);
        }
    }
    (update, lines)
}

/// What the status records as applied after a reconcile: the fields the spec
/// sets once the apply succeeded (the reset ones are gone from ECS then), and
/// the previous record otherwise (a failed reset is tried again).
pub fn record_applied(spec: &EcsServiceSpec, previous: &[SpecField], applied_ok: bool) -> Vec<SpecField> {
    if applied_ok {
        applied_fields(spec)
    } else {
        // A value this build does not know would not pass the CRD's enum.
        previous.iter().copied().filter(|f| *f != SpecField::Unknown).collect()
    }
}

/// What the deployments say about the rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollout {
    pub progressing: Judgement,
    pub degraded: Judgement,
    /// A deployment failed (by ECS's state or its events): its task
    /// definition, not to be rolled out again for the same spec.
    pub failed_task_definition: Option<String>,
}

/// Reads the rollout from ECS's deployments and the events new since the
/// last reconcile. `known` are the deployments the status recorded, to tell
/// which task definition a failure event is about.
pub fn rollout(observed: &ServiceDescription, new_events: &[ServiceEventRecord], known: &[Deployment]) -> Rollout {
    let primary = observed.primary();
    let primary_state = primary.and_then(|d| d.rollout_state);
    let rolling_back = primary_state == Some(RolloutState::InProgress)
        && primary.and_then(|d| d.rollout_state_reason.as_deref()).is_some_and(|r| r.contains("rolling back"));
    let failed = observed.deployments.iter().find(|d| d.rollout_state == Some(RolloutState::Failed));

    let progressing = match primary_state {
        Some(RolloutState::InProgress) if rolling_back => Judgement::yes(
            reason::ROLLING_BACK,
            primary.and_then(|d| d.rollout_state_reason.clone()).unwrap_or_default(),
        ),
        Some(RolloutState::InProgress) => Judgement::yes(reason::ROLLOUT_IN_PROGRESS, progress_message(observed)),
        Some(RolloutState::Failed) => Judgement::no(
            reason::DEPLOYMENT_FAILED,
            primary.and_then(|d| d.rollout_state_reason.clone()).unwrap_or_default(),
        ),
        _ => Judgement::no(reason::ROLLOUT_COMPLETE, "No deployment in progress"),
    };

    // ECS's own words: the failure, then the rollback, as its events say them.
    let failed_event = new_events.iter().rev().find(|e| e.message.contains("deployment failed"));
    let rollback_event = new_events.iter().rev().find(|e| e.message.contains("rolling back to deployment"));
    let failure_event = failed_event.or(rollback_event);
    let failure_message =
        [failed_event, rollback_event].into_iter().flatten().map(|e| e.message.as_str()).collect::<Vec<_>>().join(" ");
    let (degraded, failed_task_definition) = if let Some(failed) = failed {
        let why =
            failed.rollout_state_reason.clone().unwrap_or_else(|| format!("ECS deployment {} failed.", failed.id));
        let is_primary = primary.is_some_and(|p| p.id == failed.id);
        let judgement = if is_primary && !rolling_back {
            Judgement::yes(reason::DEPLOYMENT_FAILED, why)
        } else {
            Judgement::yes(reason::ROLLED_BACK, format!("{why} Rolling back to the previous deployment."))
        };
        (judgement, failed.task_definition.clone())
    } else if let Some(event) = failure_event {
        // The failed deployment already left the list: its id is in the event,
        // its task definition in what the status recorded.
        let task_definition = known
            .iter()
            .find(|d| event.message.contains(&format!("(deployment {})", d.id)))
            .and_then(|d| d.task_definition.clone())
            .or_else(|| {
                known
                    .iter()
                    .find(|d| d.status.as_deref() == Some("PRIMARY"))
                    .and_then(|d| d.task_definition.clone())
                    .filter(|td| Some(td) != observed.task_definition.as_ref())
            });
        let why = if rollback_event.is_some() { reason::ROLLED_BACK } else { reason::DEPLOYMENT_FAILED };
        (Judgement::yes(why, failure_message), task_definition)
    } else if let Some(p) = primary
        && primary_state == Some(RolloutState::InProgress)
        && p.failed_tasks.unwrap_or(0) > 0
    {
        (
            Judgement::yes(
                reason::TASKS_FAILING,
                format!(
                    "{} task(s) of deployment {} failed to start or became unhealthy",
                    p.failed_tasks.unwrap_or(0),
                    p.id
                ),
            ),
            None,
        )
    } else {
        (Judgement::no(reason::HEALTHY, "No failed deployment"), None)
    };
    Rollout { progressing, degraded, failed_task_definition }
}

fn progress_message(observed: &ServiceDescription) -> String {
    let primary = observed.primary();
    format!(
        "ECS deployment {} of {}: {} of {} task(s) running, {} pending; {} deployment(s)",
        primary.map(|d| d.id.as_str()).unwrap_or("?"),
        primary.and_then(|d| d.task_definition.as_deref()).map(short_task_definition).unwrap_or_default(),
        primary.and_then(|d| d.running_count).unwrap_or(observed.running_count),
        observed.desired_count,
        observed.pending_count,
        observed.deployments.len()
    )
}

/// Whether two deployment lists say the same (ids, states and counts): the
/// timestamps are left out, as the status stores them to the second and ECS
/// to the millisecond.
pub fn same_deployments(a: &[Deployment], b: &[Deployment]) -> bool {
    let key = |d: &Deployment| {
        (
            d.id.clone(),
            d.status.clone(),
            d.task_definition.clone(),
            d.desired_count,
            d.pending_count,
            d.running_count,
            d.failed_tasks,
            d.rollout_state,
            d.rollout_state_reason.clone(),
        )
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

/// `aws ecs wait services-stable`'s test: one deployment, runningCount =
/// desiredCount; plus, as ECS deployments report it, that deployment COMPLETED.
pub fn is_stable(observed: &ServiceDescription) -> bool {
    observed.is_active()
        && observed.deployments.len() <= 1
        && observed.primary().is_none_or(|d| d.rollout_state.is_none_or(|s| s == RolloutState::Completed))
        && observed.running_count == observed.desired_count
}

/// The Ready judgement for a service that exists and whose spec was applied.
pub fn readiness(observed: &ServiceDescription, rollout: &Rollout, wanted: Option<&str>) -> Judgement {
    if rollout.degraded.status == crate::api::conditions::ConditionStatus::True
        && matches!(rollout.degraded.reason, reason::DEPLOYMENT_FAILED | reason::ROLLED_BACK)
    {
        return Judgement::no(rollout.degraded.reason, rollout.degraded.message.clone());
    }
    let on_wanted = match (wanted, observed.task_definition.as_deref()) {
        (Some(w), Some(o)) => task_definition_matches(w, o),
        (Some(_), None) => false,
        (None, _) => true,
    };
    if is_stable(observed) && on_wanted {
        let primary = observed.primary();
        return Judgement::yes(
            reason::STEADY,
            format!(
                "ECS deployment {} completed: {} of {} task(s) running ({})",
                primary.map(|d| d.id.as_str()).unwrap_or("?"),
                observed.running_count,
                observed.desired_count,
                observed.task_definition.as_deref().map(short_task_definition).unwrap_or_default()
            ),
        );
    }
    Judgement::no(reason::ROLLOUT_IN_PROGRESS, progress_message(observed))
}

/// The longest wait between polls of a rollout in progress.
pub const MAX_ROLLOUT_POLL: std::time::Duration = std::time::Duration::from_secs(60);

/// How soon to look at a rollout again: briskly at first, then less often
/// the longer it runs (a tenth of its age, at most a minute), so a rollout
/// stuck for hours does not cost a call every few seconds.
pub fn rollout_poll(brisk: std::time::Duration, age: std::time::Duration) -> std::time::Duration {
    brisk.max((age / 10).min(MAX_ROLLOUT_POLL))
}

/// Whether the controller should poll the service briskly rather than wait
/// for the fleet's batched resync.
pub fn is_settling(observed: &ServiceDescription) -> bool {
    !observed.is_active() || !is_stable(observed)
}

/// The ECS events not yet published, oldest first. `last_id` is the newest
/// event published before; when it has left ECS's window of 100, events at
/// or after `last_time` count as new (the Event names dedupe the overlap).
pub fn new_events<'a>(
    events: &'a [ServiceEventRecord],
    last_id: Option<&str>,
    last_time: Option<k8s_openapi::jiff::Timestamp>,
) -> Vec<&'a ServiceEventRecord> {
    let fresh: Vec<&ServiceEventRecord> = match last_id.and_then(|id| events.iter().position(|e| e.id == id)) {
        Some(index) => events[..index].iter().collect(),
        None => match last_time {
            Some(time) => events
                .iter()
                .filter(|e| e.created_at.as_second() >= time.as_second())
                .filter(|e| Some(e.id.as_str()) != last_id)
                .collect(),
            None => events.iter().collect(),
        },
    };
    fresh.into_iter().rev().collect()
}

/// A Kubernetes Event's reason for an ECS event message, and whether it is a warning.
pub fn event_reason(message: &str) -> (&'static str, bool) {
    const RULES: &[(&str, &str, bool)] = &[
        ("deployment failed", "DeploymentFailed", true),
        ("rolling back to deployment", "RollingBack", true),
        ("deployment completed", "DeploymentCompleted", false),
        ("has reached a steady state", "SteadyState", false),
        ("unable to consistently start tasks", "TasksFailing", true),
        ("was unable to place a task", "PlacementFailed", true),
        ("was unable to stop or start tasks", "DeploymentBlocked", true),
        ("failed container health checks", "Unhealthy", true),
        ("is unhealthy in", "Unhealthy", true),
        ("are being throttled", "Throttled", true),
        ("has started", "TasksStarted", false),
        ("has stopped", "TasksStopped", false),
        ("stopped", "TasksStopped", false),
        ("registered", "TargetsRegistered", false),
        ("draining", "Draining", false),
    ];
    RULES
        .iter()
        .find(|(needle, _, _)| message.contains(needle))
        .map(|(_, reason, warning)| (*reason, *warning))
        .unwrap_or(("EcsServiceEvent", false))
}

/// Rollouts that started, completed and failed between two observations of
/// a service's deployments (for the fleet metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RolloutCounts {
    pub started: u64,
    pub completed: u64,
    pub failed: u64,
}

pub fn rollout_transitions(before: &[Deployment], after: &[Deployment]) -> RolloutCounts {
    let known: HashSet<&str> = before.iter().map(|d| d.id.as_str()).collect();
    let mut counts = RolloutCounts::default();
    for deployment in after {
        let previous = before.iter().find(|d| d.id == deployment.id).and_then(|d| d.rollout_state);
        let is_new = !known.contains(deployment.id.as_str());
        if is_new && deployment.status.as_deref() == Some("PRIMARY") {
            counts.started += 1;
        }
        match deployment.rollout_state {
            Some(RolloutState::Completed) if previous != Some(RolloutState::Completed) => counts.completed += 1,
            Some(RolloutState::Failed) if previous != Some(RolloutState::Failed) => counts.failed += 1,
            _ => {}
        }
    }
    counts
}

/// The conditions' current values, for the fleet gauge: (Ready, Progressing, Degraded).
pub fn condition_flags(conditions: &[Condition]) -> [bool; 3] {
    use crate::api::conditions::is_true;
    [is_true(conditions, READY), is_true(conditions, PROGRESSING), is_true(conditions, DEGRADED)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::conditions::ConditionStatus;
    use k8s_openapi::jiff::Timestamp;

    const TD1: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:1";
    const TD2: &str = "arn:aws:ecs:us-east-1:1:task-definition/web:2";

    fn spec(json: serde_json::Value) -> EcsServiceSpec {
        serde_json::from_value(json).expect("valid spec")
    }

    fn deployment(id: &str, status: &str, td: &str, state: RolloutState) -> Deployment {
        Deployment {
            id: id.into(),
            status: Some(status.into()),
            task_definition: Some(td.into()),
            desired_count: Some(2),
            pending_count: Some(0),
            running_count: Some(2),
            failed_tasks: Some(0),
            rollout_state: Some(state),
            rollout_state_reason: None,
            launch_type: None,
            platform_version: None,
            created_at: None,
            updated_at: None,
        }
    }

    fn service(td: &str, deployments: Vec<Deployment>) -> ServiceDescription {
        ServiceDescription {
            arn: "arn:aws:ecs:us-east-1:1:service/default/web".into(),
            name: "web".into(),
            status: "ACTIVE".into(),
            desired_count: 2,
            running_count: 2,
            task_definition: Some(td.into()),
            deployment_configuration: Some(DeploymentConfiguration {
                maximum_percent: Some(200),
                minimum_healthy_percent: Some(100),
                deployment_circuit_breaker: Some(DeploymentCircuitBreaker { enable: false, rollback: false }),
                alarms: None,
            }),
            deployments,
            ..ServiceDescription::default()
        }
    }

    fn event(id: &str, second: i64, message: &str) -> ServiceEventRecord {
        ServiceEventRecord {
            id: id.into(),
            created_at: Timestamp::from_second(second).unwrap(),
            message: message.into(),
        }
    }

    #[test]
    fn task_definitions_match_by_arn_revision_or_family() {
        assert!(task_definition_matches(TD1, TD1));
        assert!(!task_definition_matches(TD2, TD1));
        assert!(task_definition_matches("web:1", TD1));
        assert!(!task_definition_matches("web:2", TD1));
        assert!(task_definition_matches("web", TD1), "a family follows whatever revision ECS resolved");
        assert!(!task_definition_matches("api", TD1));
        assert_eq!(short_task_definition(TD2), "web:2");
    }

    #[test]
    fn only_fields_the_spec_sets_are_changed() {
        let observed = service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]);
        let (update, lines) = changes(&spec(serde_json::json!({"taskDefinition": "web"})), &[], Some(TD1), &observed);
        assert!(update.is_empty(), "nothing set differs: {lines:?}");

        let (update, lines) =
            changes(&spec(serde_json::json!({"taskDefinition": "web", "desiredCount": 3})), &[], Some(TD2), &observed);
        assert_eq!(update.desired_count, Some(3));
        assert_eq!(update.task_definition.as_deref(), Some(TD2));
        assert_eq!(lines, vec!["desiredCount 2 → 3".to_owned(), "taskDefinition web:1 → web:2".to_owned()]);
        assert!(!update.force_new_deployment);
    }

    #[test]
    fn an_unset_desired_count_is_left_to_the_autoscaler() {
        let mut observed = service(TD1, vec![]);
        observed.desired_count = 17;
        let (update, _) = changes(&spec(serde_json::json!({"taskDefinition": "web"})), &[], Some(TD1), &observed);
        assert_eq!(update.desired_count, None);
        let daemon = spec(serde_json::json!({"taskDefinition": "web", "schedulingStrategy": "DAEMON"}));
        assert_eq!(changes(&daemon, &[], Some(TD1), &observed).0.desired_count, None);
    }

    #[test]
    fn deployment_configuration_is_merged_over_what_ecs_has() {
        let observed = service(TD1, vec![]);
        let wanted = spec(serde_json::json!({
            "taskDefinition": "web",
            "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true}}
        }));
        let (update, _) = changes(&wanted, &[], None, &observed);
        let merged = update.deployment_configuration.expect("the breaker differs");
        assert_eq!(merged.maximum_percent, Some(200), "ECS's other values are kept");
        assert_eq!(merged.minimum_healthy_percent, Some(100));
        assert_eq!(merged.deployment_circuit_breaker, Some(DeploymentCircuitBreaker { enable: true, rollback: true }));

        let mut converged = observed.clone();
        converged.deployment_configuration = Some(merged);
        assert!(changes(&wanted, &[], None, &converged).0.is_empty(), "no change once ECS has it");
    }

    fn full_spec() -> EcsServiceSpec {
        spec(serde_json::json!({
            "taskDefinition": "web",
            "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "app", "containerPort": 80}],
            "serviceRegistries": [{"registryArn": "arn:sd"}],
            "placementConstraints": [{"type": "distinctInstance"}],
            "placementStrategy": [{"type": "spread", "field": "instanceId"}],
            "healthCheckGracePeriodSeconds": 30,
            "enableExecuteCommand": true,
            "enableECSManagedTags": true,
            "propagateTags": "SERVICE",
            "deploymentConfiguration": {
                "maximumPercent": 150, "minimumHealthyPercent": 50,
                "deploymentCircuitBreaker": {"enable": true, "rollback": true},
                "alarms": {"alarmNames": ["high-5xx"], "enable": true, "rollback": true}
            }
        }))
    }

    /// ECS after the full spec was applied.
    fn applied_service() -> ServiceDescription {
        let full = full_spec();
        let mut observed = service(TD1, vec![]);
        observed.load_balancers = full.load_balancers.clone();
        observed.service_registries = full.service_registries.clone();
        observed.placement_constraints = full.placement_constraints.clone();
        observed.placement_strategy = full.placement_strategy.clone().unwrap();
        observed.health_check_grace_period_seconds = Some(30);
        observed.enable_execute_command = true;
        observed.enable_ecs_managed_tags = true;
        observed.propagate_tags = Some("SERVICE".into());
        observed.deployment_configuration = full.deployment_configuration.clone();
        observed
    }

    #[test]
    fn the_record_lists_what_the_spec_sets_and_never_the_count_or_network() {
        let fields = applied_fields(&full_spec());
        assert_eq!(fields.len(), 12, "{fields:?}");
        assert!(fields.windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
        let minimal = spec(serde_json::json!({"taskDefinition": "web", "desiredCount": 3,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["a"]}}}));
        assert!(
            applied_fields(&minimal).is_empty(),
            "desiredCount and networkConfiguration are handed over, not reset"
        );
        let json = serde_json::to_value(&fields).unwrap();
        assert!(json.as_array().unwrap().contains(&serde_json::json!("deploymentConfiguration.alarms")));
        let unknown: Vec<SpecField> =
            serde_json::from_value(serde_json::json!(["loadBalancers", "somethingNewer"])).unwrap();
        assert_eq!(unknown, vec![SpecField::LoadBalancers, SpecField::Unknown]);
        assert_eq!(
            record_applied(&minimal, &unknown, false),
            vec![SpecField::LoadBalancers],
            "unknown values are dropped"
        );
    }

    #[test]
    fn fields_removed_from_the_spec_are_reset_only_when_the_operator_applied_them() {
        let observed = applied_service();
        let bare = spec(serde_json::json!({"taskDefinition": "web"}));
        // Never applied by the operator (no record): whoever set them owns them.
        assert!(changes(&bare, &[], None, &observed).0.is_empty());

        let applied = applied_fields(&full_spec());
        assert!(changes(&full_spec(), &applied, None, &observed).0.is_empty(), "nothing to do while the spec has them");
        let (update, lines) = changes(&bare, &applied, None, &observed);
        assert_eq!(update.load_balancers, Some(vec![]));
        assert_eq!(update.service_registries, Some(vec![]));
        assert_eq!(update.placement_constraints, Some(vec![]));
        assert_eq!(update.placement_strategy, Some(vec![]));
        assert_eq!(update.health_check_grace_period_seconds, Some(0));
        assert_eq!(update.enable_execute_command, Some(false));
        assert_eq!(update.enable_ecs_managed_tags, Some(false));
        assert_eq!(update.propagate_tags.as_deref(), Some("NONE"));
        assert_eq!(update.desired_count, None);
        let config = update.deployment_configuration.expect("the configuration is reset");
        assert_eq!(config.maximum_percent, Some(200));
        assert_eq!(config.minimum_healthy_percent, Some(100));
        assert_eq!(
            config.deployment_circuit_breaker,
            Some(DeploymentCircuitBreaker { enable: false, rollback: false })
        );
        assert_eq!(config.alarms, Some(no_alarms()));
        assert!(lines.contains(&"loadBalancers reset (removed from the spec)".to_owned()), "{lines:?}");
        assert!(lines.contains(&"healthCheckGracePeriodSeconds 30 → 0".to_owned()), "{lines:?}");
    }

    #[test]
    fn a_reset_is_idempotent_once_ecs_has_the_defaults() {
        let bare = spec(serde_json::json!({"taskDefinition": "web"}));
        let applied = applied_fields(&full_spec());
        let mut reset = service(TD1, vec![]);
        reset.deployment_configuration.as_mut().unwrap().alarms = Some(no_alarms());
        reset.propagate_tags = Some("NONE".into());
        reset.health_check_grace_period_seconds = Some(0);
        assert!(
            changes(&bare, &applied, None, &reset).0.is_empty(),
            "a crash before the record was written asks for nothing more"
        );
    }

    #[test]
    fn a_partial_removal_keeps_the_rest_and_what_others_set() {
        let applied = vec![SpecField::DeploymentAlarms, SpecField::MaximumPercent, SpecField::PlacementStrategy];
        let mut observed = applied_service();
        observed.deployment_configuration.as_mut().unwrap().minimum_healthy_percent = Some(75);
        // The spec keeps maximumPercent and drops the alarms and the placement strategy.
        let wanted =
            spec(serde_json::json!({"taskDefinition": "web", "deploymentConfiguration": {"maximumPercent": 150}}));
        let (update, _) = changes(&wanted, &applied, None, &observed);
        let config = update.deployment_configuration.expect("alarms are reset");
        assert_eq!(config.maximum_percent, Some(150));
        assert_eq!(config.minimum_healthy_percent, Some(75), "not the operator's: left as ECS has it");
        assert_eq!(config.alarms, Some(no_alarms()));
        assert_eq!(update.placement_strategy, Some(vec![]));
        assert_eq!(update.load_balancers, None, "not in the record");
    }

    #[test]
    fn daemon_defaults_and_platform_and_capacity_resets() {
        let mut observed = service(TD1, vec![]);
        observed.deployment_configuration = Some(DeploymentConfiguration {
            maximum_percent: Some(100),
            minimum_healthy_percent: Some(50),
            deployment_circuit_breaker: None,
            alarms: None,
        });
        let daemon = spec(serde_json::json!({"taskDefinition": "web", "schedulingStrategy": "DAEMON"}));
        let applied = [SpecField::MaximumPercent, SpecField::MinimumHealthyPercent];
        let config = changes(&daemon, &applied, None, &observed).0.deployment_configuration.expect("reset");
        assert_eq!((config.maximum_percent, config.minimum_healthy_percent), (Some(100), Some(0)));

        observed.platform_version = Some("1.4.0".into());
        observed.capacity_provider_strategy = vec![CapacityProviderStrategyItem {
            capacity_provider: "FARGATE_SPOT".into(),
            weight: Some(1),
            base: Some(0),
        }];
        let bare = spec(serde_json::json!({"taskDefinition": "web"}));
        let applied = [SpecField::PlatformVersion, SpecField::CapacityProviderStrategy];
        let (update, _) = changes(&bare, &applied, None, &observed);
        assert_eq!(update.platform_version.as_deref(), Some(DEFAULT_PLATFORM_VERSION));
        assert_eq!(update.capacity_provider_strategy, Some(vec![]));
    }

    #[test]
    fn a_failed_apply_keeps_the_old_record_so_the_reset_is_tried_again() {
        let bare = spec(serde_json::json!({"taskDefinition": "web", "healthCheckGracePeriodSeconds": 5}));
        let previous = applied_fields(&full_spec());
        assert_eq!(record_applied(&bare, &previous, false), previous);
        assert_eq!(record_applied(&bare, &previous, true), vec![SpecField::HealthCheckGracePeriodSeconds]);
    }

    #[test]
    fn network_defaults_and_order_are_not_drift() {
        let mut observed = service(TD1, vec![]);
        observed.network_configuration = Some(serde_json::from_value(serde_json::json!({
            "awsvpcConfiguration": {"subnets": ["b", "a"], "securityGroups": ["sg-default"], "assignPublicIp": "DISABLED"}
        })).unwrap());
        let same = spec(
            serde_json::json!({"taskDefinition": "web", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["a", "b"]}}}),
        );
        assert!(changes(&same, &[], None, &observed).0.is_empty());
        let public = spec(
            serde_json::json!({"taskDefinition": "web", "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["a", "b"], "assignPublicIp": "ENABLED"}}}),
        );
        assert!(changes(&public, &[], None, &observed).0.network_configuration.is_some());
    }

    #[test]
    fn ready_is_services_stable_on_the_wanted_revision() {
        let steady = service(TD2, vec![deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Completed)]);
        let r = rollout(&steady, &[], &[]);
        assert_eq!(readiness(&steady, &r, Some(TD2)).status, ConditionStatus::True);
        assert_eq!(r.progressing.status, ConditionStatus::False);
        assert_eq!(r.degraded.status, ConditionStatus::False);
        assert_eq!(readiness(&steady, &r, Some(TD1)).status, ConditionStatus::False, "not on the wanted revision");

        let mut short = steady.clone();
        short.running_count = 1;
        assert_eq!(readiness(&short, &rollout(&short, &[], &[]), Some(TD2)).status, ConditionStatus::False);

        let rolling = service(
            TD2,
            vec![
                deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress),
                deployment("ecs-svc/1", "ACTIVE", TD1, RolloutState::Completed),
            ],
        );
        let r = rollout(&rolling, &[], &[]);
        assert_eq!(r.progressing.status, ConditionStatus::True);
        assert_eq!(r.progressing.reason, reason::ROLLOUT_IN_PROGRESS);
        let ready = readiness(&rolling, &r, Some(TD2));
        assert_eq!((ready.status, ready.reason), (ConditionStatus::False, reason::ROLLOUT_IN_PROGRESS));
        assert!(is_settling(&rolling));
        assert!(!is_settling(&steady));
    }

    #[test]
    fn a_failed_primary_is_degraded_with_ecs_reason() {
        let mut failed = deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Failed);
        failed.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let observed = service(TD2, vec![failed, deployment("ecs-svc/1", "ACTIVE", TD1, RolloutState::Completed)]);
        let r = rollout(&observed, &[], &[]);
        assert_eq!(r.degraded.status, ConditionStatus::True);
        assert_eq!(r.degraded.reason, reason::DEPLOYMENT_FAILED);
        assert_eq!(r.degraded.message, "ECS deployment circuit breaker: tasks failed to start.");
        assert_eq!(r.failed_task_definition.as_deref(), Some(TD2));
        assert_eq!(readiness(&observed, &r, Some(TD2)).reason, reason::DEPLOYMENT_FAILED);
    }

    #[test]
    fn a_rollback_is_degraded_while_it_runs_and_after_it_settles() {
        let mut back = deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::InProgress);
        back.rollout_state_reason =
            Some("ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1.".into());
        let mut failed = deployment("ecs-svc/2", "ACTIVE", TD2, RolloutState::Failed);
        failed.rollout_state_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        let observed = service(TD1, vec![back, failed]);
        let r = rollout(&observed, &[], &[]);
        assert_eq!(r.degraded.reason, reason::ROLLED_BACK);
        assert_eq!(r.progressing.reason, reason::ROLLING_BACK);
        assert_eq!(r.failed_task_definition.as_deref(), Some(TD2));

        // Settled: the failed deployment is gone; only its event tells.
        let settled = service(TD1, vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)]);
        let events = [
            event("e9", 10, "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
            event("e10", 10, "(service web) rolling back to deployment ecs-svc/1."),
        ];
        let known = [deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress)];
        let r = rollout(&settled, &events, &known);
        assert_eq!(r.degraded.reason, reason::ROLLED_BACK);
        assert_eq!(
            r.degraded.message,
            "(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start. (service web) rolling back to deployment ecs-svc/1."
        );
        assert_eq!(r.failed_task_definition.as_deref(), Some(TD2));
        assert_eq!(readiness(&settled, &r, Some(TD2)).status, ConditionStatus::False);
    }

    #[test]
    fn failing_tasks_degrade_a_rolling_deployment() {
        let mut rolling = deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress);
        rolling.failed_tasks = Some(2);
        let observed = service(TD2, vec![rolling]);
        let r = rollout(&observed, &[], &[]);
        assert_eq!(r.degraded.reason, reason::TASKS_FAILING);
        assert_eq!(r.failed_task_definition, None, "not failed yet");
    }

    #[test]
    fn a_long_rollout_is_polled_less_often() {
        use std::time::Duration;
        let brisk = Duration::from_secs(5);
        assert_eq!(rollout_poll(brisk, Duration::ZERO), brisk);
        assert_eq!(rollout_poll(brisk, Duration::from_secs(30)), brisk);
        assert_eq!(rollout_poll(brisk, Duration::from_secs(200)), Duration::from_secs(20));
        assert_eq!(rollout_poll(brisk, Duration::from_secs(3 * 3600)), MAX_ROLLOUT_POLL);
    }

    #[test]
    fn new_events_are_those_after_the_last_published_oldest_first() {
        let events = vec![event("e3", 30, "c"), event("e2", 20, "b"), event("e1", 10, "a")];
        let ids = |list: Vec<&ServiceEventRecord>| list.into_iter().map(|e| e.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(new_events(&events, None, None)), vec!["e1", "e2", "e3"]);
        assert_eq!(ids(new_events(&events, Some("e2"), None)), vec!["e3"]);
        assert!(new_events(&events, Some("e3"), None).is_empty());
        // The last published event left the window: fall back to its time.
        let last = Timestamp::from_second(20).ok();
        assert_eq!(ids(new_events(&events, Some("e0"), last)), vec!["e2", "e3"]);
    }

    #[test]
    fn event_reasons_mark_failures_as_warnings() {
        assert_eq!(
            event_reason("(service web) (deployment ecs-svc/2) deployment failed: tasks failed to start."),
            ("DeploymentFailed", true)
        );
        assert_eq!(event_reason("(service web) has reached a steady state."), ("SteadyState", false));
        assert_eq!(event_reason("(service web) has started 2 tasks: (task a) (task b)."), ("TasksStarted", false));
        assert_eq!(event_reason("(service web) rolling back to deployment ecs-svc/1."), ("RollingBack", true));
        assert_eq!(event_reason("(service web) something new."), ("EcsServiceEvent", false));
    }

    #[test]
    fn rollout_transitions_count_each_once() {
        let before = vec![deployment("ecs-svc/1", "PRIMARY", TD1, RolloutState::Completed)];
        let after = vec![
            deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::InProgress),
            deployment("ecs-svc/1", "ACTIVE", TD1, RolloutState::Completed),
        ];
        assert_eq!(rollout_transitions(&before, &after), RolloutCounts { started: 1, completed: 0, failed: 0 });
        let done = vec![deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Completed)];
        assert_eq!(rollout_transitions(&after, &done), RolloutCounts { started: 0, completed: 1, failed: 0 });
        assert_eq!(rollout_transitions(&done, &done), RolloutCounts::default());
        let failed = vec![deployment("ecs-svc/2", "PRIMARY", TD2, RolloutState::Failed)];
        assert_eq!(rollout_transitions(&after, &failed), RolloutCounts { started: 0, completed: 0, failed: 1 });
    }

    #[test]
    fn ownership_tags_win_and_missing_tags_are_found() {
        let user: Tags = [("team".to_owned(), "a".to_owned()), (OWNER_UID_TAG.to_owned(), "forged".to_owned())].into();
        let tags = service_tags(&user, "uid-1", "prod", "web");
        assert!(is_owned_by(&tags, "uid-1"));
        assert_eq!(tags.get(OWNER_TAG).map(String::as_str), Some("prod/web"));
        let actual: Tags = [("team".to_owned(), "a".to_owned())].into();
        let missing = missing_tags(&tags, &actual);
        assert_eq!(missing.len(), 2);
        assert!(!missing.contains_key("team"));
        assert!(asks_for_adoption(Some("true")));
        assert!(!asks_for_adoption(Some("no")));
        assert!(!asks_for_adoption(None));
    }
}
