//! What UpdateService must change to make ECS match the spec, field by field, and
//! which fields the operator applied (so that removing one from the spec resets it).
//! Also how task definition references compare, which every topic needs.

use crate::api::CapacityProviderStrategyItem;
use crate::api::service::{
    AssignPublicIp, DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, EcsServiceSpec,
    NetworkConfiguration, SchedulingStrategy, SpecField,
};
use crate::ecs::parse_task_definition_ref;
use crate::ecs::service::{ServiceDescription, ServiceUpdate};
use crate::ecs::service_mapping::wire;

/// The Fargate platform version ECS uses when a service names none.
pub const DEFAULT_PLATFORM_VERSION: &str = "LATEST";

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
    // With autoScaling the count is the autoscaler's: the spec's only started the service.
    if spec.scheduling_strategy == SchedulingStrategy::Replica
        && spec.auto_scaling.is_none()
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
        spec.deployment_configuration.as_deref(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::RolloutState;
    use crate::controller::service::plan::fixtures::{TD1, TD2, deployment, service, spec};

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
        observed.deployment_configuration = full.deployment_configuration.as_deref().cloned();
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
}
