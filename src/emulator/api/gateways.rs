//! Gateways: CreateGateway, UpdateGateway, DeleteGateway, DescribeGateway,
//! ListGateways, DescribeGatewayResources, DescribeGatewayRoute,
//! ListGatewayRoutes, AssociateGatewayWithCluster,
//! DisassociateGatewayFromCluster, ListGatewayClusterAssociations.
//!
//! A gateway is kept as configured, with ECS's defaults (internet-facing,
//! HTTPS on 443, at most 10 load balancers, `defensive` desync mitigation,
//! deletion protection on) and its status: ACTIVE when created,
//! UPDATE_IN_PROGRESS for [`UPDATE_MILLIS`] after an update, then
//! UPDATE_COMPLETE; DELETED after a delete. No load balancer is made: a
//! gateway has no routes (no service here connects to one), so it has
//! allocated no load balancer and lists no route.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::emulator::rules::validation::{check_enum, check_tags};
use crate::emulator::state::gateways::{Association, Gateway, GatewayChange, Gateways, association_key, settled};
use crate::emulator::state::records::{Tag, Timestamp};
use crate::emulator::state::{Store, lock, read};
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

/// How long an update of a gateway's load balancers takes here.
pub const UPDATE_MILLIS: i64 = 5_000;

fn gateway_not_found() -> EcsError {
    EcsError::new(ErrorKind::GatewayNotFoundException, "Gateway not found.")
}

/// The gateway a reference names that is not DELETED.
fn live_gateway<'a>(records: &'a Gateways, reference: &str) -> EcsResult<&'a Gateway> {
    records.gateway(reference).filter(|g| g.status != "DELETED").ok_or_else(gateway_not_found)
}

/// The status shown now.
fn status(gateway: &Gateway, now: Timestamp) -> String {
    settled(&gateway.status, gateway.settles_at, now, "UPDATE_COMPLETE")
}

/// `hostSharedAlb` as ECS describes it: the request's settings over the
/// defaults, plus the count of load balancers allocated (none).
fn described_configuration(given: &Map<String, Value>) -> Value {
    let mut alb = given.clone();
    alb.entry("scheme").or_insert(json!("internet-facing"));
    alb.entry("port").or_insert(json!(443));
    alb.entry("protocol").or_insert(json!("HTTPS"));
    alb.entry("maxAlbCount").or_insert(json!(10));
    alb.entry("httpDesync").or_insert(json!("defensive"));
    alb.insert("currentAlbCount".into(), json!(0));
    json!({ "hostSharedAlb": alb })
}

/// Checks a `hostSharedAlb` configuration (create or update).
fn check_alb(alb: &Map<String, Value>) -> EcsResult<()> {
    let text = |name: &str| alb.get(name).and_then(Value::as_str);
    check_enum(text("scheme"), &["internet-facing", "internal"], "scheme")?;
    check_enum(text("protocol"), &["HTTPS"], "protocol")?;
    check_enum(text("httpDesync"), &["defensive", "monitor", "strictest"], "httpDesync")?;
    if let Some(port) = alb.get("port").and_then(Value::as_i64)
        && port != 443
    {
        return Err(EcsError::invalid("The gateway supports only HTTPS at port 443."));
    }
    if let Some(count) = alb.get("maxAlbCount").and_then(Value::as_i64)
        && !(1..=100).contains(&count)
    {
        return Err(EcsError::invalid("maxAlbCount must be between 1 and 100."));
    }
    let ip = alb.get("networkConfiguration").and_then(|n| n.get("ipAddressType")).and_then(Value::as_str);
    check_enum(ip, &["ipv4", "dualstack", "dualstack-without-public-ipv4"], "ipAddressType")
}

/// The one configuration variant a request carries, `hostSharedAlb`.
fn host_shared_alb(configuration: &Value) -> EcsResult<Map<String, Value>> {
    let variants = configuration.as_object().map(Map::len).unwrap_or(0);
    match configuration.get("hostSharedAlb").and_then(Value::as_object) {
        Some(alb) if variants == 1 => Ok(alb.clone()),
        _ => Err(EcsError::invalid("Exactly one gateway configuration must be set: hostSharedAlb.")),
    }
}

/// ECS's `Gateway` shape.
fn render(gateway: &Gateway, now: Timestamp) -> Value {
    json!({
        "gatewayArn": gateway.gateway_arn,
        "name": gateway.name,
        "status": status(gateway, now),
        "infrastructureRoleArn": gateway.infrastructure_role_arn,
        "deletionProtection": gateway.deletion_protection,
        "configuration": gateway.configuration,
        "accessType": gateway.access_type,
        "propagateTags": gateway.propagate_tags,
        "tags": gateway.tags,
        "createdAt": gateway.created_at,
        "updatedAt": gateway.updated_at,
    })
}

fn short_answer(gateway: &Gateway, status: &str) -> Value {
    json!({ "gatewayArn": gateway.gateway_arn, "name": gateway.name, "status": status })
}

/// The answer of a write that puts `gateway`, and the write.
fn put(gateway: Gateway) -> (Value, Vec<GatewayChange>) {
    (short_answer(&gateway, &gateway.status), vec![GatewayChange::PutGateway { gateway }])
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    infrastructure_role_arn: Option<String>,
    client_token: Option<String>,
    deletion_protection: Option<bool>,
    configuration: Option<Value>,
    tags: Option<Vec<Tag>>,
    propagate_tags: Option<String>,
}

pub fn create_gateway(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: CreateInput = parse(body)?;
    let name = required(input.name, "name")?;
    let role = required(input.infrastructure_role_arn, "infrastructureRoleArn")?;
    let configuration = required(input.configuration, "configuration")?;
    if name.is_empty() || name.len() > 255 {
        return Err(EcsError::invalid("The gateway name must be between 1 and 255 characters."));
    }
    let alb = host_shared_alb(&configuration)?;
    check_alb(&alb)?;
    check_enum(input.propagate_tags.as_deref(), &["GATEWAY", "NONE"], "propagateTags")?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let now = store.now();
    store.change_gateways(|records| {
        if let Some(existing) = records.gateway(&name).filter(|g| g.status != "DELETED") {
            if existing.client_token.is_some() && existing.client_token == input.client_token {
                return Ok((short_answer(existing, &status(existing, now)), Vec::new()));
            }
            return Err(EcsError::invalid(format!("A gateway named '{name}' already exists.")));
        }
        let internal = alb.get("scheme").and_then(Value::as_str) == Some("internal");
        // A name may be used again once its gateway is deleted: the ARN
        // then carries the time, as ECS's ARNs of re-created resources differ.
        let taken = records.gateways.values().any(|g| g.name == name);
        let arn = if taken {
            store.arns.resource(&format!("gateway/{name}-{}", now.0))
        } else {
            store.arns.resource(&format!("gateway/{name}"))
        };
        let gateway = Gateway {
            gateway_arn: arn,
            name: name.clone(),
            status: "ACTIVE".into(),
            settles_at: None,
            infrastructure_role_arn: role,
            deletion_protection: input.deletion_protection.unwrap_or(true),
            configuration: described_configuration(&alb),
            access_type: if internal { "PRIVATE" } else { "PUBLIC" }.into(),
            propagate_tags: input.propagate_tags.unwrap_or_else(|| "GATEWAY".into()),
            tags,
            client_token: input.client_token,
            created_at: now,
            updated_at: now,
        };
        Ok(put(gateway))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    gateway: Option<String>,
    infrastructure_role_arn: Option<String>,
    deletion_protection: Option<bool>,
    configuration: Option<Value>,
    propagate_tags: Option<String>,
}

pub fn update_gateway(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateInput = parse(body)?;
    let reference = required(input.gateway, "gateway")?;
    check_enum(input.propagate_tags.as_deref(), &["GATEWAY", "NONE"], "propagateTags")?;
    let alb = input.configuration.as_ref().map(host_shared_alb).transpose()?;
    if let Some(alb) = &alb {
        check_alb(alb)?;
    }
    let now = store.now();
    store.change_gateways(|records| {
        let mut gateway = live_gateway(records, &reference)?.clone();
        if status(&gateway, now) == "UPDATE_IN_PROGRESS" {
            return Err(EcsError::invalid("An update of the gateway is already in progress."));
        }
        if let Some(role) = input.infrastructure_role_arn {
            gateway.infrastructure_role_arn = role;
        }
        if let Some(protection) = input.deletion_protection {
            gateway.deletion_protection = protection;
        }
        if let Some(propagate) = input.propagate_tags {
            gateway.propagate_tags = propagate;
        }
        if let Some(changes) = alb {
            let mut merged = gateway.configuration["hostSharedAlb"].as_object().cloned().unwrap_or_default();
            for (key, value) in changes {
                if key == "networkConfiguration" {
                    // Only the inbound security group is mutable.
                    let network = merged.entry("networkConfiguration").or_insert_with(|| json!({}));
                    if let (Some(network), Some(update)) = (network.as_object_mut(), value.as_object()) {
                        network.extend(update.clone());
                    }
                } else {
                    merged.insert(key, value);
                }
            }
            gateway.configuration = described_configuration(&merged);
        }
        gateway.status = "UPDATE_IN_PROGRESS".into();
        gateway.settles_at = Some(Timestamp(now.0 + UPDATE_MILLIS));
        gateway.updated_at = now;
        Ok(put(gateway))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GatewayInput {
    gateway: Option<String>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

pub fn delete_gateway(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GatewayInput = parse(body)?;
    let reference = required(input.gateway, "gateway")?;
    let now = store.now();
    store.change_gateways(|records| {
        let gateway = live_gateway(records, &reference)?;
        if gateway.deletion_protection {
            return Err(EcsError::invalid(
                "The gateway has deletion protection enabled. Disable deletion protection with UpdateGateway before you delete it.",
            ));
        }
        if records.associations.values().any(|a| a.gateway_arn == gateway.gateway_arn) {
            return Err(EcsError::invalid(
                "The gateway is associated with one or more clusters. Disassociate it from every cluster before you delete it.",
            ));
        }
        Ok(put(Gateway { status: "DELETED".into(), settles_at: None, updated_at: now, ..gateway.clone() }))
    })
}

pub fn describe_gateway(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GatewayInput = parse(body)?;
    let reference = required(input.gateway, "gateway")?;
    let records = read(&store.gateways);
    let gateway = records.gateway(&reference).ok_or_else(gateway_not_found)?;
    Ok(json!({ "gateway": render(gateway, store.now()) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    names: Option<Vec<String>>,
    status: Option<Vec<String>>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

/// The statuses a gateway can be in.
const STATUSES: &[&str] = &["ACTIVE", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED", "DELETED"];

pub fn list_gateways(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    if input.names.as_ref().is_some_and(|n| n.len() > 10) {
        return Err(EcsError::invalid("names can contain at most 10 gateway names."));
    }
    for s in input.status.iter().flatten() {
        check_enum(Some(s), STATUSES, "status")?;
    }
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    let now = store.now();
    let records = read(&store.gateways);
    let items = records.gateways.values().filter_map(|g| {
        let status = status(g, now);
        let wanted = input.names.as_ref().is_none_or(|n| n.contains(&g.name))
            && match &input.status {
                Some(statuses) => statuses.contains(&status),
                // Deleted gateways only when asked for.
                None => status != "DELETED",
            };
        wanted.then(|| {
            let summary =
                json!({ "gatewayArn": g.gateway_arn, "name": g.name, "status": status, "createdAt": g.created_at });
            (g.gateway_arn.clone(), summary)
        })
    });
    let (items, next) = page.take(items);
    Ok(list_response("gateways", items, next))
}

pub fn describe_gateway_resources(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GatewayInput = parse(body)?;
    let reference = required(input.gateway, "gateway")?;
    PageRequest::new(input.max_results, input.next_token.as_deref(), 10, 20)?;
    let records = read(&store.gateways);
    let gateway = live_gateway(&records, &reference)?;
    Ok(json!({ "gatewayResources": {
        "gatewayArn": gateway.gateway_arn,
        "resources": { "hostSharedAlb": [] },
    }}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RouteInput {
    gateway_route_arn: Option<String>,
}

pub fn describe_gateway_route(_store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: RouteInput = parse(body)?;
    let arn = required(input.gateway_route_arn, "gatewayRouteArn")?;
    Err(EcsError::new(ErrorKind::ResourceNotFoundException, format!("The gateway route '{arn}' was not found.")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListRoutesInput {
    gateway: Option<String>,
    status: Option<Vec<String>>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

/// The statuses a gateway route can be in.
const ROUTE_STATUSES: &[&str] = &[
    "ACTIVE",
    "CREATE_IN_PROGRESS",
    "CREATE_FAILED",
    "UPDATE_IN_PROGRESS",
    "UPDATE_FAILED",
    "DELETE_IN_PROGRESS",
    "DELETE_FAILED",
];

pub fn list_gateway_routes(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListRoutesInput = parse(body)?;
    for s in input.status.iter().flatten() {
        check_enum(Some(s), ROUTE_STATUSES, "status")?;
    }
    PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    if let Some(reference) = &input.gateway {
        live_gateway(&read(&store.gateways), reference)?;
    }
    Ok(list_response("gatewayRoutes", Vec::new(), None))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssociationInput {
    gateway: Option<String>,
    cluster: Option<String>,
}

/// The cluster's ARN, when it exists and is ACTIVE.
fn cluster_arn(store: &Store, reference: &str) -> EcsResult<String> {
    let cell = store.find_cluster(Some(reference))?;
    let state = lock(&cell);
    state.ensure_active()?;
    Ok(state.cluster.cluster_arn.clone())
}

pub fn associate_gateway_with_cluster(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: AssociationInput = parse(body)?;
    let gateway = required(input.gateway, "gateway")?;
    let cluster = required(input.cluster, "cluster")?;
    let cluster_arn = cluster_arn(store, &cluster)?;
    store.change_gateways(|records| {
        let gateway_arn = live_gateway(records, &gateway)?.gateway_arn.clone();
        let association = Association { gateway_arn, cluster_arn, status: "ACTIVE".into() };
        let answer = json!({
            "gatewayArn": association.gateway_arn,
            "clusterArn": association.cluster_arn,
            "status": association.status,
        });
        let exists =
            records.associations.contains_key(&association_key(&association.gateway_arn, &association.cluster_arn));
        let changes = if exists { Vec::new() } else { vec![GatewayChange::PutAssociation { association }] };
        Ok((answer, changes))
    })
}

pub fn disassociate_gateway_from_cluster(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: AssociationInput = parse(body)?;
    let gateway = required(input.gateway, "gateway")?;
    let cluster = required(input.cluster, "cluster")?;
    let cluster_arn = cluster_arn(store, &cluster)?;
    store.change_gateways(|records| {
        let gateway_arn = live_gateway(records, &gateway)?.gateway_arn.clone();
        if !records.associations.contains_key(&association_key(&gateway_arn, &cluster_arn)) {
            return Err(EcsError::new(
                ErrorKind::ResourceNotFoundException,
                "The gateway is not associated with the cluster.",
            ));
        }
        // No route uses the association, so it goes at once; the answer
        // says DISASSOCIATING, as ECS's does.
        let answer = json!({ "gatewayArn": gateway_arn, "clusterArn": cluster_arn, "status": "DISASSOCIATING" });
        Ok((answer, vec![GatewayChange::RemoveAssociation { gateway_arn, cluster_arn }]))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListAssociationsInput {
    gateway: Option<String>,
    cluster: Option<String>,
    status: Option<Vec<String>>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

pub fn list_gateway_cluster_associations(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListAssociationsInput = parse(body)?;
    for s in input.status.iter().flatten() {
        check_enum(Some(s), &["ACTIVE", "DISASSOCIATING", "INACTIVE"], "status")?;
    }
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    let records = read(&store.gateways);
    let gateway_arn = input.gateway.as_ref().map(|r| records.gateway(r).map_or(r.clone(), |g| g.gateway_arn.clone()));
    let cluster = input.cluster.as_deref().map(|c| store.arns.cluster(crate::emulator::state::ids::cluster_name_of(c)));
    let items = records.associations.iter().filter_map(|(key, a)| {
        let wanted = gateway_arn.as_ref().is_none_or(|g| g == &a.gateway_arn)
            && cluster.as_ref().is_none_or(|c| c == &a.cluster_arn)
            && input.status.as_ref().is_none_or(|s| s.contains(&a.status));
        wanted.then(|| {
            let summary = json!({ "gatewayArn": a.gateway_arn, "clusterArn": a.cluster_arn, "status": a.status });
            (key.clone(), summary)
        })
    });
    let (items, next) = page.take(items);
    Ok(list_response("gatewayClusterAssociations", items, next))
}
