//! Express gateway services: CreateExpressGatewayService,
//! UpdateExpressGatewayService, DeleteExpressGatewayService,
//! DescribeExpressGatewayService.
//!
//! An Express service is kept as configured, with ECS's defaults (256 CPU
//! units, 512 MiB, X86_64, health check path `/ping`, container port 80,
//! one to ten tasks scaled on CPU at 60 %) and a public ingress endpoint
//! `<name>-<id>.ecs.<region>.on.aws`. Each update makes a new service
//! revision that becomes the active configuration at once; a delete
//! leaves it DRAINING for [`DRAIN_MILLIS`], then INACTIVE. What ECS builds
//! for it (the service's tasks, the load balancer, certificate, target
//! groups and scaling policies) is not simulated: the README says so.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::emulator::rules::validation::{check_enum, check_tags};
use crate::emulator::state::gateways::{ExpressService, GatewayChange, Gateways, settled};
use crate::emulator::state::ids::{deployment_id, hex32, is_valid_name};
use crate::emulator::state::records::{Tag, Timestamp};
use crate::emulator::state::{Store, lock, read};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};

/// How long a deleted Express service drains here.
pub const DRAIN_MILLIS: i64 = 5_000;

/// The members of a configuration, as CreateExpressGatewayService and
/// UpdateExpressGatewayService carry them.
const CONFIGURATION_MEMBERS: &[&str] = &[
    "executionRoleArn",
    "taskRoleArn",
    "taskDefinitionArn",
    "cpu",
    "memory",
    "cpuArchitecture",
    "networkConfiguration",
    "healthCheckPath",
    "primaryContainer",
    "scalingTarget",
];

fn check_configuration(members: &Map<String, Value>) -> EcsResult<()> {
    let text = |name: &str| members.get(name).and_then(Value::as_str);
    check_enum(text("cpuArchitecture"), &["X86_64", "ARM64"], "cpuArchitecture")?;
    if let Some(container) = members.get("primaryContainer") {
        if container.get("image").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(EcsError::missing("primaryContainer.image"));
        }
        if let Some(port) = container.get("containerPort").and_then(Value::as_i64)
            && !(1..=65535).contains(&port)
        {
            return Err(EcsError::invalid("containerPort must be between 1 and 65535."));
        }
    }
    if let Some(scaling) = members.get("scalingTarget") {
        let metric = scaling.get("autoScalingMetric").and_then(Value::as_str);
        check_enum(metric, &["AVERAGE_CPU", "AVERAGE_MEMORY", "REQUEST_COUNT_PER_TARGET"], "autoScalingMetric")?;
        let min = scaling.get("minTaskCount").and_then(Value::as_i64);
        let max = scaling.get("maxTaskCount").and_then(Value::as_i64);
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(EcsError::invalid("minTaskCount must not be greater than maxTaskCount."));
        }
    }
    Ok(())
}

/// A new service revision: `changes` over `base` (or ECS's defaults).
fn revision(
    store: &Store,
    cluster: &str,
    name: &str,
    base: Option<&Value>,
    changes: &Map<String, Value>,
    now: Timestamp,
) -> Value {
    let mut config = base.and_then(Value::as_object).cloned().unwrap_or_else(|| {
        let mut defaults = Map::new();
        defaults.insert("cpu".into(), json!("256"));
        defaults.insert("memory".into(), json!("512"));
        defaults.insert("cpuArchitecture".into(), json!("X86_64"));
        defaults.insert("healthCheckPath".into(), json!("/ping"));
        defaults.insert(
            "scalingTarget".into(),
            json!({ "minTaskCount": 1, "maxTaskCount": 10, "autoScalingMetric": "AVERAGE_CPU", "autoScalingTargetValue": 60 }),
        );
        let endpoint = format!("{name}-{}.ecs.{}.on.aws", &hex32()[..8], store.arns.region);
        defaults.insert("ingressPaths".into(), json!([{ "accessType": "PUBLIC", "endpoint": endpoint }]));
        defaults
    });
    for (key, value) in changes {
        config.insert(key.clone(), value.clone());
    }
    if let Some(container) = config.get_mut("primaryContainer").and_then(Value::as_object_mut) {
        container.entry("containerPort").or_insert(json!(80));
    }
    let id = deployment_id();
    let digits = id.rsplit('/').next().unwrap_or_default();
    config.insert(
        "serviceRevisionArn".into(),
        json!(store.arns.resource(&format!("service-revision/{cluster}/{name}/{digits}"))),
    );
    config.insert("createdAt".into(), json!(now));
    Value::Object(config)
}

/// The configuration members of a request body.
fn configuration_of(body: &Value) -> Map<String, Value> {
    CONFIGURATION_MEMBERS
        .iter()
        .filter_map(|m| body.get(*m).filter(|v| !v.is_null()).map(|v| ((*m).to_owned(), v.clone())))
        .collect()
}

/// ECS's `ECSExpressGatewayService` shape.
fn render(service: &ExpressService, now: Timestamp, with_tags: bool) -> Value {
    let mut shape = json!({
        "cluster": service.cluster_arn,
        "serviceName": service.service_name,
        "serviceArn": service.service_arn,
        "infrastructureRoleArn": service.infrastructure_role_arn,
        "status": { "statusCode": status(service, now) },
        "currentDeployment": service.current_deployment,
        "activeConfigurations": [service.configuration],
        "createdAt": service.created_at,
        "updatedAt": service.updated_at,
    });
    if with_tags {
        shape["tags"] = json!(service.tags);
    }
    shape
}

fn status(service: &ExpressService, now: Timestamp) -> String {
    settled(&service.status, service.settles_at, now, "INACTIVE")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    execution_role_arn: Option<String>,
    infrastructure_role_arn: Option<String>,
    service_name: Option<String>,
    cluster: Option<String>,
    primary_container: Option<Value>,
    tags: Option<Vec<Tag>>,
}

pub fn create_express_gateway_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let raw: Value = parse(body)?;
    let input: CreateInput = parse(body)?;
    required(input.execution_role_arn, "executionRoleArn")?;
    let role = required(input.infrastructure_role_arn, "infrastructureRoleArn")?;
    required(input.primary_container, "primaryContainer")?;
    let changes = configuration_of(&raw);
    check_configuration(&changes)?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let name = input.service_name.unwrap_or_else(|| format!("express-{}", &hex32()[..12]));
    if !is_valid_name(&name) {
        return Err(EcsError::invalid(
            "Service name can be up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
        ));
    }
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let cluster = state.name().to_owned();
    if state.services.get(&name).is_some_and(|s| s.service.status != "INACTIVE") {
        return Err(EcsError::invalid("Creation of service was not idempotent."));
    }
    let now = store.now();
    let service_arn = store.arns.service(&cluster, &name);
    store.change_gateways(|records| {
        if records.express_services.get(&service_arn).is_some_and(|s| status(s, now) != "INACTIVE") {
            return Err(EcsError::invalid("Creation of service was not idempotent."));
        }
        let service = ExpressService {
            service_arn: service_arn.clone(),
            service_name: name.clone(),
            cluster: cluster.clone(),
            cluster_arn: store.arns.cluster(&cluster),
            infrastructure_role_arn: role,
            status: "ACTIVE".into(),
            settles_at: None,
            current_deployment: deployment_id(),
            configuration: revision(store, &cluster, &name, None, &changes, now),
            tags,
            created_at: now,
            updated_at: now,
        };
        let answer = json!({ "service": render(&service, now, true) });
        Ok((answer, vec![GatewayChange::PutExpressService { service }]))
    })
}

/// The Express service an ARN names (ServiceNotFoundException).
fn service_of<'a>(records: &'a Gateways, store: &Store, arn: &str) -> EcsResult<&'a ExpressService> {
    if let Some(service) = records.express_services.get(arn) {
        // Its cluster must still exist.
        store.find_cluster(Some(&service.cluster))?;
        return Ok(service);
    }
    Err(EcsError::service_not_found())
}

/// An Express service that is ACTIVE (ServiceNotActiveException).
fn active_service<'a>(
    records: &'a Gateways,
    store: &Store,
    arn: &str,
    now: Timestamp,
) -> EcsResult<&'a ExpressService> {
    let service = service_of(records, store, arn)?;
    if status(service, now) != "ACTIVE" {
        return Err(EcsError::new(ErrorKind::ServiceNotActiveException, "Service was not ACTIVE."));
    }
    Ok(service)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceInput {
    service_arn: Option<String>,
    include: Option<Vec<String>>,
}

pub fn update_express_gateway_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let raw: Value = parse(body)?;
    let input: ServiceInput = parse(body)?;
    let arn = required(input.service_arn, "serviceArn")?;
    let changes = configuration_of(&raw);
    check_configuration(&changes)?;
    let now = store.now();
    store.change_gateways(|records| {
        let mut service = active_service(records, store, &arn, now)?.clone();
        service.configuration =
            revision(store, &service.cluster, &service.service_name, Some(&service.configuration), &changes, now);
        service.current_deployment = deployment_id();
        service.updated_at = now;
        let answer = json!({ "service": {
            "serviceArn": service.service_arn,
            "cluster": service.cluster_arn,
            "serviceName": service.service_name,
            "status": { "statusCode": "ACTIVE" },
            "targetConfiguration": service.configuration,
            "createdAt": service.created_at,
            "updatedAt": service.updated_at,
        }});
        Ok((answer, vec![GatewayChange::PutExpressService { service }]))
    })
}

pub fn delete_express_gateway_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ServiceInput = parse(body)?;
    let arn = required(input.service_arn, "serviceArn")?;
    let now = store.now();
    store.change_gateways(|records| {
        let mut service = active_service(records, store, &arn, now)?.clone();
        service.status = "DRAINING".into();
        service.settles_at = Some(Timestamp(now.0 + DRAIN_MILLIS));
        service.updated_at = now;
        let answer = json!({ "service": render(&service, now, false) });
        Ok((answer, vec![GatewayChange::PutExpressService { service }]))
    })
}

pub fn describe_express_gateway_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ServiceInput = parse(body)?;
    let arn = required(input.service_arn, "serviceArn")?;
    for include in input.include.iter().flatten() {
        check_enum(Some(include), &["TAGS"], "include")?;
    }
    let with_tags = input.include.iter().flatten().any(|i| i == "TAGS");
    let records = read(&store.gateways);
    let service = records
        .express_services
        .get(&arn)
        .ok_or_else(|| EcsError::new(ErrorKind::ResourceNotFoundException, "The Express service was not found."))?;
    store.find_cluster(Some(&service.cluster))?;
    Ok(json!({ "service": render(service, store.now(), with_tags) }))
}
