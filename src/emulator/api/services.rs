//! Service operations: CreateService, DescribeServices, ListServices,
//! UpdateService, DeleteService.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::emulator::rules::service_registries::check_service_registries;
use crate::emulator::rules::validation::{
    check_enum, check_launch, check_launch_compatibility, check_load_balancers, check_network,
    check_placement_constraints, check_placement_strategy, check_tags,
};
use crate::emulator::sim::deployments::{follow_desired_count, new_deployment, reconcile, start_deployment};
use crate::emulator::sim::task_sets::task_set_arn;
use crate::emulator::state::ids::{is_valid_name, service_name_of};
use crate::emulator::state::records::with_tags_shown;
use crate::emulator::state::records::*;
use crate::emulator::state::{Store, lock, read};
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_reply};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateServiceInput {
    cluster: Option<String>,
    service_name: Option<String>,
    task_definition: Option<String>,
    availability_zone_rebalancing: Option<String>,
    load_balancers: Option<Vec<LoadBalancer>>,
    service_registries: Option<Vec<Value>>,
    desired_count: Option<i32>,
    client_token: Option<String>,
    launch_type: Option<String>,
    capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    platform_version: Option<String>,
    role: Option<String>,
    deployment_configuration: Option<DeploymentConfiguration>,
    placement_constraints: Option<Vec<PlacementConstraint>>,
    placement_strategy: Option<Vec<PlacementStrategy>>,
    network_configuration: Option<NetworkConfiguration>,
    health_check_grace_period_seconds: Option<i32>,
    scheduling_strategy: Option<String>,
    deployment_controller: Option<Value>,
    tags: Option<Vec<Tag>>,
    enable_ecs_managed_tags: Option<bool>,
    propagate_tags: Option<String>,
    enable_execute_command: Option<bool>,
    service_connect_configuration: Option<Value>,
    volume_configurations: Option<Value>,
    vpc_lattice_configurations: Option<Value>,
    gateway_connectors: Option<Value>,
    monitoring: Option<Value>,
}

/// The request with what does not identify it (token, cluster spelling)
/// removed, in a canonical form (serde_json maps are sorted).
fn fingerprint(body: &[u8]) -> String {
    let mut value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(obj) = value.as_object_mut() {
        obj.remove("clientToken");
        obj.remove("cluster");
    }
    value.to_string()
}

/// Defaults ECS fills into a deployment configuration.
fn deployment_configuration(
    given: Option<DeploymentConfiguration>,
    daemon: bool,
) -> EcsResult<DeploymentConfiguration> {
    let mut config = given.unwrap_or(DeploymentConfiguration {
        deployment_circuit_breaker: None,
        maximum_percent: None,
        minimum_healthy_percent: None,
        alarms: None,
        other: Map::new(),
    });
    let max = *config.maximum_percent.get_or_insert(if daemon { 100 } else { 200 });
    let min = *config.minimum_healthy_percent.get_or_insert(if daemon { 0 } else { 100 });
    if daemon && max > 100 {
        return Err(EcsError::invalid(
            "The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again",
        ));
    }
    if !(0..=100).contains(&min) {
        return Err(EcsError::invalid("minimumHealthyPercent must be between 0 and 100."));
    }
    if max < 100 && !daemon && max < min {
        return Err(EcsError::invalid("maximumPercent must be greater than or equal to minimumHealthyPercent."));
    }
    if let Some(alarms) = &config.alarms {
        crate::emulator::sim::alarms::validate(alarms)?;
    }
    crate::emulator::sim::blue_green::validate(&config)?;
    if !daemon {
        config.deployment_circuit_breaker.get_or_insert(DeploymentCircuitBreaker {
            enable: false,
            rollback: false,
            other: Map::new(),
        });
    }
    Ok(config)
}

/// `assignPublicIp` defaults to DISABLED, as ECS shows it.
fn with_defaults(nc: Option<NetworkConfiguration>) -> Option<NetworkConfiguration> {
    nc.map(|mut nc| {
        if let Some(vpc) = &mut nc.awsvpc_configuration {
            vpc.assign_public_ip.get_or_insert_with(|| "DISABLED".into());
        }
        nc
    })
}

fn role_arn(store: &Store, role: Option<String>) -> Option<String> {
    role.map(|r| if r.starts_with("arn:") { r } else { format!("arn:aws:iam::{}:role/{r}", store.arns.account_id) })
}

pub fn create_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: CreateServiceInput = parse(body)?;
    let name = required(input.service_name, "serviceName")?;
    // An unknown cluster is reported before anything about the request.
    let cell = store.find_cluster(input.cluster.as_deref())?;
    if !is_valid_name(&name) {
        return Err(EcsError::invalid(
            "Service name can be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.",
        ));
    }
    if let Some(token) = &input.client_token
        && (token.is_empty() || token.len() > 36 || !token.bytes().all(|b| (33..=126).contains(&b)))
    {
        return Err(EcsError::invalid("clientToken must be 1 to 36 printable ASCII characters."));
    }
    let scheduling = input.scheduling_strategy.clone().unwrap_or_else(|| "REPLICA".into());
    check_enum(Some(&scheduling), &["REPLICA", "DAEMON"], "schedulingStrategy")?;
    let daemon = scheduling == "DAEMON";
    let controller = input.deployment_controller.clone().unwrap_or_else(|| json!({ "type": "ECS" }));
    let controller_type = controller.get("type").and_then(Value::as_str).unwrap_or("ECS").to_owned();
    check_enum(Some(&controller_type), &["ECS", "CODE_DEPLOY", "EXTERNAL"], "deploymentController.type")?;
    let desired = match (daemon, input.desired_count) {
        (true, _) => 0,
        (false, Some(n)) if n >= 0 => i64::from(n),
        (false, Some(_)) => return Err(EcsError::invalid("desiredCount must be 0 or greater.")),
        (false, None) => {
            return Err(EcsError::invalid("desiredCount is required for the REPLICA scheduling strategy."));
        }
    };
    check_enum(input.propagate_tags.as_deref(), &["TASK_DEFINITION", "SERVICE", "NONE"], "propagateTags")?;
    check_enum(
        input.availability_zone_rebalancing.as_deref(),
        &["ENABLED", "DISABLED"],
        "availabilityZoneRebalancing",
    )?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let constraints = input.placement_constraints.unwrap_or_default();
    check_placement_constraints(&constraints)?;
    let strategy = input.placement_strategy.unwrap_or_default();
    check_placement_strategy(&strategy)?;
    if daemon && !strategy.is_empty() {
        return Err(EcsError::invalid("Placement strategies are not supported with the DAEMON scheduling strategy."));
    }
    let config = deployment_configuration(input.deployment_configuration, daemon)?;
    // An EXTERNAL service takes its task definition from its task sets.
    let td = match (input.task_definition, controller_type.as_str()) {
        (Some(td), _) => Some(read(&store.task_definitions).resolve_active(&td, ErrorKind::ClientException)?),
        (None, "EXTERNAL") => None,
        (None, _) => return Err(EcsError::missing("taskDefinition")),
    };
    let td_record = td.as_ref().map(|td| &td.task_definition);
    if let Some(td_record) = td_record {
        check_launch_compatibility(
            input.launch_type.as_deref(),
            input.capacity_provider_strategy.as_deref(),
            td_record,
        )?;
    }
    let load_balancers = input.load_balancers.unwrap_or_default();
    let registries = input.service_registries.unwrap_or_default();
    if let Some(td_record) = td_record {
        check_load_balancers(&load_balancers, td_record)?;
        check_network(td_record, input.network_configuration.as_ref())?;
        check_service_registries(&registries, &read(&store.discovery), td_record)?;
    }

    let mut state = lock(&cell);
    state.ensure_active()?;
    if let Some(td_record) = td_record {
        check_launch(
            &state.cluster,
            input.launch_type.as_deref(),
            input.capacity_provider_strategy.as_deref(),
            td_record,
        )?;
    }
    let cps = input.capacity_provider_strategy.filter(|s| !s.is_empty());
    let launch_type = match (&input.launch_type, &cps) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(_)) => None,
        (None, None) if state.cluster.default_capacity_provider_strategy.is_empty() => Some("EC2".into()),
        (None, None) => None,
    };
    let cps = cps.or_else(|| launch_type.is_none().then(|| state.cluster.default_capacity_provider_strategy.clone()));
    if daemon && launch_type.as_deref() != Some("EC2") && launch_type.as_deref() != Some("EXTERNAL") {
        return Err(EcsError::invalid(
            "The DAEMON scheduling strategy is only supported with the EC2 and EXTERNAL launch types.",
        ));
    }
    let fargate = launch_type.as_deref() == Some("FARGATE") || cps.is_some();
    let fingerprint = fingerprint(body);

    if let Some(existing) = state.services.get(&name) {
        match existing.service.status.as_str() {
            "ACTIVE" if existing.create_fingerprint == fingerprint => {
                return Ok(json!({ "service": to_value(&existing.service)? }));
            }
            "ACTIVE" => return Err(EcsError::invalid("Creation of service was not idempotent.")),
            "DRAINING" => return Err(EcsError::invalid("Unable to Start a service that is still Draining.")),
            _ => {}
        }
    }
    let now = store.now();
    let cluster_name = state.name().to_owned();
    let mut service = Service {
        service_arn: store.arns.service(&cluster_name, &name),
        service_name: name.clone(),
        cluster_arn: state.cluster.cluster_arn.clone(),
        load_balancers,
        service_registries: registries,
        status: "ACTIVE".into(),
        desired_count: desired,
        running_count: 0,
        pending_count: 0,
        launch_type,
        capacity_provider_strategy: cps,
        platform_version: if fargate {
            Some(input.platform_version.unwrap_or_else(|| "LATEST".into()))
        } else {
            input.platform_version
        },
        platform_family: None,
        task_definition: td_record.map(|td| td.task_definition_arn.clone()),
        deployment_configuration: config,
        task_sets: (controller_type != "ECS").then(Vec::new),
        deployments: Vec::new(),
        role_arn: role_arn(store, input.role),
        events: Vec::new(),
        created_at: now,
        current_service_deployment: None,
        current_service_revisions: None,
        placement_constraints: constraints,
        placement_strategy: strategy,
        network_configuration: with_defaults(input.network_configuration),
        health_check_grace_period_seconds: Some(input.health_check_grace_period_seconds.unwrap_or(0)),
        scheduling_strategy: scheduling,
        deployment_controller: controller,
        tags,
        created_by: store.arns.registered_by(),
        enable_ecs_managed_tags: input.enable_ecs_managed_tags.unwrap_or(false),
        propagate_tags: input.propagate_tags.unwrap_or_else(|| "NONE".into()),
        enable_execute_command: input.enable_execute_command.unwrap_or(false),
        availability_zone_rebalancing: input.availability_zone_rebalancing.unwrap_or_else(|| "ENABLED".into()),
        resource_management_type: None,
    };
    match controller_type.as_str() {
        // CODE_DEPLOY starts the service with a PRIMARY task set at 100 %;
        // EXTERNAL runs nothing until a task set is created.
        "CODE_DEPLOY" => {
            let set = first_task_set(store, &service, &cluster_name, now);
            service.task_sets = Some(vec![set]);
        }
        "EXTERNAL" => {}
        _ => {
            let mut deployment = new_deployment(&service, now);
            deployment.service_connect_configuration = input.service_connect_configuration;
            deployment.volume_configurations = input.volume_configurations;
            deployment.vpc_lattice_configurations = input.vpc_lattice_configurations;
            start_deployment(&mut service, deployment);
        }
    }
    let mut stored_inputs = Map::new();
    if let Some(v) = input.gateway_connectors {
        stored_inputs.insert("gatewayConnectors".into(), v);
    }
    if let Some(v) = input.monitoring {
        stored_inputs.insert("monitoring".into(), v);
    }
    state.services.insert(
        name.clone(),
        ServiceEntry {
            service: Shared::new(service),
            create_fingerprint: fingerprint,
            client_token: input.client_token,
            stored_inputs,
            scheduling: Default::default(),
            task_set_tokens: Default::default(),
            timeline: Default::default(),
        },
    );
    let mut changes = store.changes();
    reconcile(store, &mut state, &name, &mut changes);
    store.persist(changes)?;
    let service = &state.services[&name].service;
    Ok(json!({ "service": to_value(service)? }))
}

/// The PRIMARY task set a CODE_DEPLOY service starts with: the service's
/// own template at 100 %.
fn first_task_set(store: &Store, service: &Service, cluster: &str, now: Timestamp) -> TaskSet {
    let id = crate::emulator::state::ids::deployment_id();
    TaskSet {
        task_set_arn: task_set_arn(&store.arns, cluster, &service.service_name, &id),
        id,
        service_arn: service.service_arn.clone(),
        cluster_arn: service.cluster_arn.clone(),
        started_by: None,
        external_id: None,
        status: "PRIMARY".into(),
        task_definition: service.task_definition.clone().unwrap_or_default(),
        computed_desired_count: service.desired_count,
        pending_count: 0,
        running_count: 0,
        created_at: now,
        updated_at: now,
        launch_type: service.launch_type.clone(),
        capacity_provider_strategy: service.capacity_provider_strategy.clone(),
        platform_version: service.platform_version.clone(),
        platform_family: None,
        network_configuration: service.network_configuration.clone(),
        load_balancers: service.load_balancers.clone(),
        service_registries: service.service_registries.clone(),
        scale: Scale { value: 100.0, unit: "PERCENT".into() },
        stability_status: "STABILIZING".into(),
        stability_status_at: now,
        tags: Vec::new(),
        fargate_ephemeral_storage: None,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeServicesInput {
    cluster: Option<String>,
    services: Option<Vec<String>>,
    include: Option<Vec<String>>,
}

/// A service as DescribeServices shows it (tags only when asked).
fn render(service: &Service, with_tags: bool) -> EcsResult<Value> {
    let mut value = to_value(service)?;
    if let Some(obj) = value.as_object_mut() {
        if with_tags {
            obj.insert("tags".into(), to_value(&service.tags)?);
        } else {
            obj.remove("tags");
        }
    }
    Ok(value)
}

#[derive(serde::Serialize)]
struct DescribeServicesOut<'a> {
    services: Vec<&'a Service>,
    failures: Vec<Failure>,
}

#[derive(serde::Serialize)]
struct ServiceOut<'a> {
    service: &'a Service,
}

pub fn describe_services(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: DescribeServicesInput = parse(body)?;
    let names = required(input.services, "services")?;
    if names.is_empty() || names.len() > 10 {
        return Err(EcsError::invalid("services can have between 1 and 10 items."));
    }
    let with_tags = input.include.unwrap_or_default().iter().any(|i| i == "TAGS");
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for reference in &names {
        let name = service_name_of(reference);
        match state.services.get(name) {
            Some(entry) => services.push(&*entry.service),
            None => failures.push(Failure {
                arn: store.arns.service(state.name(), name),
                reason: "MISSING".into(),
                detail: None,
            }),
        }
    }
    with_tags_shown(with_tags, || Reply::of(&DescribeServicesOut { services, failures }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListServicesInput {
    cluster: Option<String>,
    next_token: Option<String>,
    max_results: Option<i32>,
    launch_type: Option<String>,
    scheduling_strategy: Option<String>,
    resource_management_type: Option<String>,
}

pub fn list_services(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: ListServicesInput = parse(body)?;
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 10, 100)?;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let items: Vec<(&str, &str)> = state
        .services
        .values()
        .map(|e| &e.service)
        .filter(|s| s.status == "ACTIVE")
        .filter(|s| input.launch_type.as_ref().is_none_or(|t| s.launch_type.as_ref() == Some(t)))
        .filter(|s| input.scheduling_strategy.as_ref().is_none_or(|t| &s.scheduling_strategy == t))
        .filter(|s| {
            input
                .resource_management_type
                .as_ref()
                .is_none_or(|t| s.resource_management_type.as_deref().unwrap_or("CUSTOMER") == t)
        })
        .map(|s| (s.service_name.as_str(), s.service_arn.as_str()))
        .collect();
    let (arns, next) = page.take(items);
    list_reply("serviceArns", &arns, next)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateServiceInput {
    cluster: Option<String>,
    service: Option<String>,
    desired_count: Option<i32>,
    task_definition: Option<String>,
    capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    deployment_configuration: Option<DeploymentConfiguration>,
    availability_zone_rebalancing: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    placement_constraints: Option<Vec<PlacementConstraint>>,
    placement_strategy: Option<Vec<PlacementStrategy>>,
    platform_version: Option<String>,
    force_new_deployment: Option<bool>,
    health_check_grace_period_seconds: Option<i32>,
    deployment_controller: Option<Value>,
    enable_execute_command: Option<bool>,
    enable_ecs_managed_tags: Option<bool>,
    load_balancers: Option<Vec<LoadBalancer>>,
    propagate_tags: Option<String>,
    service_registries: Option<Vec<Value>>,
    service_connect_configuration: Option<Value>,
    volume_configurations: Option<Value>,
    vpc_lattice_configurations: Option<Value>,
    gateway_connectors: Option<Value>,
    monitoring: Option<Value>,
}

pub fn update_service(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: UpdateServiceInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let name = service_name_of(&reference).to_owned();
    if input.desired_count.is_some_and(|n| n < 0) {
        return Err(EcsError::invalid("desiredCount must be 0 or greater."));
    }
    check_enum(input.propagate_tags.as_deref(), &["TASK_DEFINITION", "SERVICE", "NONE"], "propagateTags")?;
    check_enum(
        input.availability_zone_rebalancing.as_deref(),
        &["ENABLED", "DISABLED"],
        "availabilityZoneRebalancing",
    )?;
    if let Some(c) = &input.placement_constraints {
        check_placement_constraints(c)?;
    }
    if let Some(s) = &input.placement_strategy {
        check_placement_strategy(s)?;
    }
    // An unknown cluster is reported before an unknown task definition; a
    // new task definition is resolved before taking the cluster lock.
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let new_td = match &input.task_definition {
        Some(r) => Some(read(&store.task_definitions).resolve_active(r, ErrorKind::ClientException)?),
        None => None,
    };
    let mut state = lock(&cell);
    state.ensure_active()?;
    let entry = state.services.get(&name).ok_or_else(EcsError::service_not_found)?;
    if entry.service.status != "ACTIVE" {
        return Err(EcsError::new(ErrorKind::ServiceNotActiveException, "Service was not ACTIVE."));
    }
    let controller =
        entry.service.deployment_controller.get("type").and_then(Value::as_str).unwrap_or("ECS").to_owned();
    let deploys = input.task_definition.is_some()
        || input.network_configuration.is_some()
        || input.platform_version.is_some()
        || input.force_new_deployment == Some(true)
        || input.load_balancers.is_some()
        || input.service_registries.is_some()
        || input.capacity_provider_strategy.is_some();
    if controller != "ECS" && deploys {
        // CODE_DEPLOY and EXTERNAL services only take scaling, deployment
        // configuration, placement, grace period and tag settings here.
        let how = if controller == "CODE_DEPLOY" {
            "Use AWS CodeDeploy to trigger a new deployment."
        } else {
            "Use task sets to deploy."
        };
        return Err(EcsError::invalid(format!(
            "Unable to update task definition on services with a {controller} deployment controller. {how}"
        )));
    }
    let mut stored_inputs = entry.stored_inputs.clone();
    // Nothing here adds an event: they go back with the copy below.
    let mut service = state
        .services
        .get_mut(&name)
        .map(|entry| entry.service.copy_without_events())
        .ok_or_else(EcsError::service_not_found)?;
    let daemon = service.scheduling_strategy == "DAEMON";
    let td = match (&new_td, &service.task_definition) {
        (Some(td), _) => Some(td.clone()),
        // An EXTERNAL service without a primary task set has none.
        (None, None) if controller != "ECS" => None,
        (None, current) => Some(
            read(&store.task_definitions)
                .resolve(current.as_deref().unwrap_or_default())
                .ok_or_else(|| EcsError::client("Unable to describe task definition."))?,
        ),
    };
    let td_record = td.as_ref().map(|td| &td.task_definition);
    // Only ECS-controlled services change template here (see `deploys`).
    let template = || td_record.ok_or_else(|| EcsError::client("Unable to describe task definition."));
    let mut redeploy = input.force_new_deployment.unwrap_or(false);

    if let Some(new_td) = &new_td
        && service.task_definition.as_deref() != Some(&new_td.task_definition.task_definition_arn)
    {
        service.task_definition = Some(new_td.task_definition.task_definition_arn.clone());
        redeploy = true;
    }
    if let Some(n) = input.desired_count
        && !daemon
    {
        service.desired_count = i64::from(n);
    }
    if let Some(strategy) = input.capacity_provider_strategy {
        if strategy.is_empty() {
            service.capacity_provider_strategy = None;
            if service.launch_type.is_none() && state.cluster.default_capacity_provider_strategy.is_empty() {
                service.launch_type = Some("EC2".into());
            }
        } else {
            check_launch(&state.cluster, None, Some(&strategy), template()?)?;
            service.launch_type = None;
            service.capacity_provider_strategy = Some(strategy);
        }
    } else if let Some(t) = &service.launch_type
        && td_record.is_some_and(|td| !td.supports(t))
    {
        return Err(EcsError::invalid(format!("Task definition does not support launch_type {t}.")));
    }
    if let Some(config) = input.deployment_configuration {
        service.deployment_configuration = deployment_configuration(Some(config), daemon)?;
    }
    if let Some(v) = input.availability_zone_rebalancing {
        service.availability_zone_rebalancing = v;
    }
    if let Some(nc) = input.network_configuration {
        let nc = with_defaults(Some(nc));
        if nc != service.network_configuration {
            service.network_configuration = nc;
            redeploy = true;
        }
    }
    if let Some(td_record) = td_record {
        check_network(td_record, service.network_configuration.as_ref())?;
    }
    if let Some(c) = input.placement_constraints {
        service.placement_constraints = c;
    }
    if let Some(s) = input.placement_strategy {
        service.placement_strategy = s;
    }
    if let Some(v) = input.platform_version
        && service.platform_version.as_deref() != Some(&v)
    {
        service.platform_version = Some(v);
        redeploy = true;
    }
    if let Some(v) = input.health_check_grace_period_seconds {
        service.health_check_grace_period_seconds = Some(v);
    }
    if let Some(v) = input.deployment_controller {
        service.deployment_controller = v;
    }
    if let Some(v) = input.enable_execute_command {
        service.enable_execute_command = v;
    }
    if let Some(v) = input.enable_ecs_managed_tags {
        service.enable_ecs_managed_tags = v;
    }
    if let Some(v) = input.propagate_tags {
        service.propagate_tags = v;
    }
    if let Some(lbs) = input.load_balancers {
        check_load_balancers(&lbs, template()?)?;
        if lbs != service.load_balancers {
            service.load_balancers = lbs;
            redeploy = true;
        }
    }
    if let Some(regs) = &input.service_registries {
        check_service_registries(regs, &read(&store.discovery), template()?)?;
    }
    if let Some(regs) = input.service_registries
        && regs != service.service_registries
    {
        service.service_registries = regs;
        redeploy = true;
    }
    let primary = service.deployments.iter().find(|d| d.status == "PRIMARY").cloned();
    let mut extras = [
        (input.service_connect_configuration, primary.as_ref().and_then(|d| d.service_connect_configuration.clone())),
        (input.volume_configurations, primary.as_ref().and_then(|d| d.volume_configurations.clone())),
        (input.vpc_lattice_configurations, primary.as_ref().and_then(|d| d.vpc_lattice_configurations.clone())),
    ];
    for (given, current) in &mut extras {
        if given.is_some() && *given != *current {
            redeploy = true;
        }
        if given.is_none() {
            *given = current.clone();
        }
    }
    if let Some(v) = input.gateway_connectors {
        stored_inputs.insert("gatewayConnectors".into(), v);
    }
    if let Some(v) = input.monitoring {
        stored_inputs.insert("monitoring".into(), v);
    }
    let now = store.now();
    if redeploy {
        let mut deployment = new_deployment(&service, now);
        let [(scc, _), (vol, _), (lattice, _)] = extras;
        deployment.service_connect_configuration = scc;
        deployment.volume_configurations = vol;
        deployment.vpc_lattice_configurations = lattice;
        start_deployment(&mut service, deployment);
    } else {
        follow_desired_count(&mut service, now);
        if let Some(d) = service.deployments.iter_mut().find(|d| d.status == "PRIMARY") {
            d.capacity_provider_strategy = service.capacity_provider_strategy.clone();
            d.launch_type = service.launch_type.clone();
        }
    }
    if let Some(entry) = state.services.get_mut(&name) {
        service.events = std::mem::take(&mut entry.service.events);
        entry.service = Shared::new(service);
        entry.stored_inputs = stored_inputs;
    }
    let mut changes = store.changes();
    reconcile(store, &mut state, &name, &mut changes);
    store.persist(changes)?;
    with_tags_shown(false, || Reply::of(&ServiceOut { service: &state.services[&name].service }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteServiceInput {
    cluster: Option<String>,
    service: Option<String>,
    force: Option<bool>,
}

pub fn delete_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeleteServiceInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let name = service_name_of(&reference).to_owned();
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let entry = state.services.get_mut(&name).ok_or_else(EcsError::service_not_found)?;
    if entry.service.status != "ACTIVE" {
        return Ok(json!({ "service": render(&entry.service, false)? }));
    }
    let service = &mut entry.service;
    if service.scheduling_strategy == "REPLICA" && service.desired_count > 0 && !input.force.unwrap_or(false) {
        return Err(EcsError::invalid("The service cannot be stopped while it is scaled above 0."));
    }
    service.desired_count = 0;
    for d in &mut service.deployments {
        d.desired_count = 0;
    }
    for set in service.task_sets.iter_mut().flatten() {
        set.status = "DRAINING".into();
    }
    service.status = "DRAINING".into();
    let response = render(service, false)?;
    let mut changes = store.changes();
    reconcile(store, &mut state, &name, &mut changes);
    store.persist(changes)?;
    Ok(json!({ "service": response }))
}
