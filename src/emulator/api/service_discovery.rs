//! AWS Cloud Map on the emulator's port (`X-Amz-Target:
//! Route53AutoNaming_v20170314.<Operation>`, JSON 1.1, the protocol both
//! `aws-sdk-servicediscovery` and the AWS CLI speak): namespaces (private
//! DNS, public DNS, HTTP), services, instances, their health, discovery,
//! the operations the asynchronous calls answer with, and tags, with the
//! service's errors (`InvalidInput`, `NamespaceNotFound`, `ServiceNotFound`,
//! `InstanceNotFound`, `OperationNotFound`, `NamespaceAlreadyExists`,
//! `ServiceAlreadyExists`, `ResourceInUse`, `DuplicateRequest`,
//! `CustomHealthNotFound`, `ResourceNotFoundException`,
//! `TooManyTagsException`) written `{"__type", "Message"}`.
//!
//! There is no Route 53 behind it: a DNS namespace gets a hosted zone id
//! but no records are served, and Route 53 health checks
//! (`HealthCheckConfig`) are kept but not run (their instances report
//! HEALTHY). Asynchronous operations succeed at once.
//!
//! What ECS registers here for its services' tasks is
//! [`crate::emulator::sim::service_discovery`].

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::sim::service_discovery::{health_of, revision};
use crate::emulator::state::Store;
use crate::emulator::state::discovery::{
    CloudMapService, Discovery, DiscoveryChange, Instance, Namespace, Operation, operation_id, resource_id,
};
use crate::emulator::state::ids::hex32;
use crate::emulator::state::read;
use crate::emulator::wire::codec::parse;
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// Tags per resource.
const MAX_TAGS: usize = 50;
/// Attributes per instance.
const MAX_ATTRIBUTES: usize = 30;

fn invalid(message: impl Into<String>) -> EcsError {
    EcsError::new(ErrorKind::InvalidInput, message)
}

/// A required member that was absent, in AWS's validation wording.
fn required<T>(value: Option<T>, member: &str) -> EcsResult<T> {
    value.ok_or_else(|| EcsError::null_member(ErrorKind::InvalidInput, member))
}

fn enum_check(value: &str, member: &str, allowed: &[&str]) -> EcsResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(EcsError::not_in_enum(ErrorKind::InvalidInput, value, member, allowed))
    }
}

fn namespace_not_found(id: &str) -> EcsError {
    EcsError::new(ErrorKind::NamespaceNotFound, format!("Namespace not found: {id}"))
}

fn service_not_found(id: &str) -> EcsError {
    EcsError::new(ErrorKind::ServiceNotFound, format!("Service not found: {id}"))
}

fn instance_not_found(id: &str) -> EcsError {
    EcsError::new(ErrorKind::InstanceNotFound, format!("Instance not found: {id}"))
}

/// A MaxResults member: 1 to `max` (default `default`).
fn max_results(value: Option<i64>, default: usize, max: usize) -> EcsResult<usize> {
    match value {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {max}"
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
                .ok_or_else(|| invalid("The NextToken is not valid."))?,
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

/// A successful asynchronous operation on `targets`.
fn operation(store: &Store, kind: &str, targets: &[(&str, &str)]) -> Operation {
    Operation {
        id: operation_id(),
        kind: kind.to_owned(),
        status: "SUCCESS".to_owned(),
        created: store.now(),
        targets: targets.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

fn operation_reply(op: &Operation) -> Value {
    json!({ "OperationId": op.id })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    key: Option<String>,
    value: Option<String>,
}

/// A `TagList`, checked: keys 1–128 characters, values up to 256, at most 50.
fn tag_list(tags: Option<Vec<TagInput>>, arn: &str) -> EcsResult<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for tag in tags.unwrap_or_default() {
        let key = required(tag.key, "tags.member.key")?;
        let value = required(tag.value, "tags.member.value")?;
        if key.is_empty() || key.chars().count() > 128 || value.chars().count() > 256 {
            return Err(invalid(format!("Tag {key} does not satisfy the length constraints of a tag.")));
        }
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    check_tag_count(&out, arn)?;
    Ok(out)
}

fn check_tag_count(tags: &[(String, String)], arn: &str) -> EcsResult<()> {
    if tags.len() > MAX_TAGS {
        return Err(EcsError::new(ErrorKind::TooManyTagsException, format!("Too many tags on resource {arn}"))
            .with_member("ResourceName", arn));
    }
    Ok(())
}

fn tags_json(tags: &[(String, String)]) -> Value {
    Value::Array(tags.iter().map(|(k, v)| json!({ "Key": k, "Value": v })).collect())
}

// ---------------------------------------------------------------- namespaces

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateNamespaceInput {
    name: Option<String>,
    creator_request_id: Option<String>,
    description: Option<String>,
    vpc: Option<String>,
    tags: Option<Vec<TagInput>>,
    properties: Option<Value>,
}

/// The SOA TTL of `Properties.DnsProperties.SOA.TTL`, when given.
fn soa_ttl(properties: Option<&Value>) -> EcsResult<Option<i64>> {
    let Some(soa) = properties.and_then(|p| p.get("DnsProperties")).and_then(|d| d.get("SOA")) else {
        return Ok(None);
    };
    match soa.get("TTL").and_then(Value::as_i64) {
        Some(ttl) if (0..=2_147_483_647).contains(&ttl) => Ok(Some(ttl)),
        Some(ttl) => Err(invalid(format!("The SOA TTL {ttl} is out of range."))),
        None => Err(invalid(
            "1 validation error detected: Value null at 'properties.dnsProperties.sOA.tTL' failed to satisfy constraint: Member must not be null",
        )),
    }
}

/// Whether `name` is a DNS name as Route 53 takes it (labels of letters,
/// digits and hyphens, not starting or ending with one, a trailing dot
/// allowed).
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

fn create_namespace(store: &Store, body: &[u8], kind: &str) -> EcsResult<Value> {
    let input: CreateNamespaceInput = parse(body)?;
    let name = required(input.name, "name")?;
    let max_len = if kind == "HTTP" { 1024 } else { 253 };
    let printable = !name.is_empty() && name.len() <= max_len && name.bytes().all(|b| (b'!'..=b'~').contains(&b));
    if !printable || name.starts_with("arn:") || (kind != "HTTP" && !is_dns_name(&name)) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must be a valid {} namespace name",
            if kind == "HTTP" { "HTTP" } else { "DNS" }
        )));
    }
    let vpc = if kind == "DNS_PRIVATE" { Some(required(input.vpc, "vpc")?) } else { None };
    let ttl = if kind == "HTTP" { None } else { soa_ttl(input.properties.as_ref())?.or(Some(15)) };
    let id = resource_id("ns");
    let arn = format!("arn:aws:servicediscovery:{}:{}:namespace/{id}", store.arns.region, store.arns.account_id);
    let tags = tag_list(input.tags, &arn)?;
    store.change_discovery(|records| {
        if let Some(existing) = records.namespace_named(&name) {
            if input.creator_request_id.is_some() && existing.creator_request_id == input.creator_request_id {
                // A retry: the operation that created it.
                let previous = records
                    .operations
                    .values()
                    .find(|op| op.kind == "CREATE_NAMESPACE" && op.targets.get("NAMESPACE") == Some(&existing.id));
                if let Some(op) = previous {
                    return Ok((operation_reply(op), Vec::new()));
                }
                let op = operation(store, "CREATE_NAMESPACE", &[("NAMESPACE", &existing.id)]);
                return Ok((operation_reply(&op), vec![DiscoveryChange::PutOperation { operation: op }]));
            }
            return Err(EcsError::new(
                ErrorKind::NamespaceAlreadyExists,
                format!("Namespace with name {name} already exists: {}", existing.id),
            )
            .with_member("NamespaceId", existing.id.clone())
            .with_member("CreatorRequestId", existing.creator_request_id.clone().unwrap_or_default()));
        }
        if let Some(request) = &input.creator_request_id
            && let Some(other) = records.namespaces.values().find(|ns| ns.creator_request_id.as_ref() == Some(request))
        {
            let previous = records
                .operations
                .values()
                .find(|op| op.kind == "CREATE_NAMESPACE" && op.targets.get("NAMESPACE") == Some(&other.id))
                .map(|op| op.id.clone())
                .unwrap_or_default();
            return Err(EcsError::new(
                ErrorKind::DuplicateRequest,
                format!("The CreatorRequestId {request} was already used to create namespace {}", other.id),
            )
            .with_member("DuplicateOperationId", previous));
        }
        let namespace = Namespace {
            id: id.clone(),
            arn: arn.clone(),
            name: name.clone(),
            kind: kind.to_owned(),
            description: input.description.clone(),
            creator_request_id: input.creator_request_id.clone(),
            vpc: vpc.clone(),
            hosted_zone_id: (kind != "HTTP").then(|| format!("Z{}", hex32()[..20].to_ascii_uppercase())),
            soa_ttl: ttl,
            created: store.now(),
        };
        let op = operation(store, "CREATE_NAMESPACE", &[("NAMESPACE", &id)]);
        let mut changes = vec![DiscoveryChange::PutNamespace { namespace }];
        if !tags.is_empty() {
            changes.push(DiscoveryChange::PutTags { arn: arn.clone(), tags: tags.clone() });
        }
        let reply = operation_reply(&op);
        changes.push(DiscoveryChange::PutOperation { operation: op });
        Ok((reply, changes))
    })
}

pub fn create_private_dns_namespace(store: &Store, body: &[u8]) -> EcsResult<Value> {
    create_namespace(store, body, "DNS_PRIVATE")
}

pub fn create_public_dns_namespace(store: &Store, body: &[u8]) -> EcsResult<Value> {
    create_namespace(store, body, "DNS_PUBLIC")
}

pub fn create_http_namespace(store: &Store, body: &[u8]) -> EcsResult<Value> {
    create_namespace(store, body, "HTTP")
}

/// `Namespace` (and, without `CreatorRequestId`, `NamespaceSummary`).
fn namespace_json(store: &Store, records: &Discovery, ns: &Namespace, full: bool) -> Value {
    let dns = match (&ns.hosted_zone_id, ns.soa_ttl) {
        (Some(zone), Some(ttl)) => json!({ "HostedZoneId": zone, "SOA": { "TTL": ttl } }),
        (Some(zone), None) => json!({ "HostedZoneId": zone }),
        _ => json!({}),
    };
    let mut out = json!({
        "Id": ns.id,
        "Arn": ns.arn,
        "ResourceOwner": store.arns.account_id,
        "Name": ns.name,
        "Type": ns.kind,
        "ServiceCount": records.service_count(&ns.id),
        "Properties": { "DnsProperties": dns, "HttpProperties": { "HttpName": ns.name } },
        "CreateDate": ns.created,
    });
    if let Some(d) = &ns.description {
        out["Description"] = json!(d);
    }
    if full && let Some(c) = &ns.creator_request_id {
        out["CreatorRequestId"] = json!(c);
    }
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IdInput {
    id: Option<String>,
}

pub fn get_namespace(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: IdInput = parse(body)?;
    let id = required(input.id, "id")?;
    let records = read(&store.discovery);
    let ns = records.namespace(&id).ok_or_else(|| namespace_not_found(&id))?;
    Ok(json!({ "Namespace": namespace_json(store, &records, ns, true) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    name: Option<String>,
    values: Option<Vec<String>>,
    condition: Option<String>,
}

/// A filter's name, values and condition, checked against the names and
/// conditions the operation allows.
fn filter_parts(filter: Filter, names: &[&str], conditions: &[&str]) -> EcsResult<(String, Vec<String>, String)> {
    let name = required(filter.name, "filters.member.name")?;
    enum_check(&name, "filters.member.name", names)?;
    let values = required(filter.values, "filters.member.values")?;
    let condition = filter.condition.unwrap_or_else(|| "EQ".to_owned());
    enum_check(&condition, "filters.member.condition", &["EQ", "IN", "BETWEEN", "BEGINS_WITH"])?;
    if !conditions.contains(&condition.as_str()) {
        return Err(invalid(format!("The condition {condition} is not supported for filter {name}.")));
    }
    if values.is_empty() || (condition == "EQ" && values.len() != 1) {
        return Err(invalid(format!("Filter {name} with condition {condition} needs exactly one value.")));
    }
    Ok((name, values, condition))
}

fn matches(value: &str, values: &[String], condition: &str) -> bool {
    match condition {
        "BEGINS_WITH" => values.iter().any(|v| value.starts_with(v.as_str())),
        _ => values.iter().any(|v| v == value),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInput {
    next_token: Option<String>,
    max_results: Option<i64>,
    filters: Option<Vec<Filter>>,
}

pub fn list_namespaces(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let max = max_results(input.max_results, 100, 100)?;
    let mut filters = Vec::new();
    for f in input.filters.unwrap_or_default() {
        filters.push(filter_parts(f, &["TYPE", "NAME", "HTTP_NAME", "RESOURCE_OWNER"], &["EQ", "IN", "BEGINS_WITH"])?);
    }
    let records = read(&store.discovery);
    let items: Vec<(String, Value)> = records
        .namespaces
        .values()
        .filter(|ns| {
            filters.iter().all(|(name, values, condition)| {
                let value = match name.as_str() {
                    "TYPE" => ns.kind.as_str(),
                    "NAME" | "HTTP_NAME" => ns.name.as_str(),
                    _ => store.arns.account_id.as_str(),
                };
                matches(value, values, condition)
            })
        })
        .map(|ns| (ns.id.clone(), namespace_json(store, &records, ns, false)))
        .collect();
    let (namespaces, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "Namespaces": namespaces }), next))
}

pub fn delete_namespace(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: IdInput = parse(body)?;
    let id = required(input.id, "id")?;
    store.change_discovery(|records| {
        let ns = records.namespace(&id).ok_or_else(|| namespace_not_found(&id))?;
        if records.service_count(&ns.id) > 0 {
            return Err(EcsError::new(
                ErrorKind::ResourceInUse,
                format!("Namespace {} has associated services; delete them before deleting the namespace.", ns.id),
            ));
        }
        let op = operation(store, "DELETE_NAMESPACE", &[("NAMESPACE", &ns.id)]);
        let reply = operation_reply(&op);
        Ok((
            reply,
            vec![
                DiscoveryChange::DeleteNamespace { id: ns.id.clone() },
                DiscoveryChange::PutOperation { operation: op },
            ],
        ))
    })
}

// ---------------------------------------------------------------- operations

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetOperationInput {
    operation_id: Option<String>,
}

pub fn get_operation(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: GetOperationInput = parse(body)?;
    let id = required(input.operation_id, "operationId")?;
    let records = read(&store.discovery);
    let op = records
        .operations
        .get(&id)
        .ok_or_else(|| EcsError::new(ErrorKind::OperationNotFound, format!("Operation not found: {id}")))?;
    Ok(json!({ "Operation": {
        "Id": op.id,
        "OwnerAccount": store.arns.account_id,
        "Type": op.kind,
        "Status": op.status,
        "CreateDate": op.created,
        "UpdateDate": op.created,
        "Targets": op.targets,
    }}))
}

pub fn list_operations(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let max = max_results(input.max_results, 100, 100)?;
    let mut filters = Vec::new();
    for f in input.filters.unwrap_or_default() {
        filters.push(filter_parts(
            f,
            &["NAMESPACE_ID", "SERVICE_ID", "STATUS", "TYPE", "UPDATE_DATE"],
            &["EQ", "IN", "BETWEEN"],
        )?);
    }
    let records = read(&store.discovery);
    let mut ops: Vec<&Operation> = records
        .operations
        .values()
        .filter(|op| {
            filters.iter().all(|(name, values, condition)| match name.as_str() {
                "NAMESPACE_ID" => op.targets.get("NAMESPACE").is_some_and(|v| matches(v, values, condition)),
                "SERVICE_ID" => op.targets.get("SERVICE").is_some_and(|v| matches(v, values, condition)),
                "STATUS" => matches(&op.status, values, condition),
                "TYPE" => matches(&op.kind, values, condition),
                _ => {
                    let bound =
                        |i: usize| values.get(i).and_then(|v| v.parse::<f64>().ok()).map(|s| (s * 1000.0) as i64);
                    let at = op.created.0;
                    bound(0).is_none_or(|lo| at >= lo) && bound(1).is_none_or(|hi| at <= hi)
                }
            })
        })
        .collect();
    ops.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let items: Vec<(String, Value)> = ops
        .iter()
        .map(|op| (format!("{:020}-{}", op.created.0, op.id), json!({ "Id": op.id, "Status": op.status })))
        .collect();
    let (operations, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "Operations": operations }), next))
}

// ---------------------------------------------------------------- services

/// Whether `name` fits the model's service-name pattern: 1–127
/// characters in dot-separated labels of letters, digits, `-` and `_`
/// (no label starting or ending with `-`).
fn is_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DnsRecordInput {
    r#type: Option<String>,
    #[serde(rename = "TTL")]
    ttl: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DnsConfigInput {
    namespace_id: Option<String>,
    routing_policy: Option<String>,
    dns_records: Option<Vec<DnsRecordInput>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HealthCheckInput {
    r#type: Option<String>,
    resource_path: Option<String>,
    failure_threshold: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CustomHealthInput {
    failure_threshold: Option<i64>,
}

/// `DnsRecords`, checked: types from the model's enum, TTLs 0 to 2^31−1,
/// a CNAME alone, each type once.
fn dns_records(records: Option<Vec<DnsRecordInput>>, member: &str) -> EcsResult<Vec<Value>> {
    let records = required(records, member)?;
    if records.is_empty() {
        return Err(invalid(format!("{member} must contain at least one record.")));
    }
    let mut out: Vec<Value> = Vec::new();
    let mut types: Vec<String> = Vec::new();
    for record in records {
        let kind = required(record.r#type, &format!("{member}.member.type"))?;
        enum_check(&kind, &format!("{member}.member.type"), &["SRV", "A", "AAAA", "CNAME"])?;
        let ttl = required(record.ttl, &format!("{member}.member.tTL"))?;
        if !(0..=2_147_483_647).contains(&ttl) {
            return Err(invalid(format!("The TTL {ttl} of the {kind} record is out of range.")));
        }
        if types.contains(&kind) {
            return Err(invalid(format!("DnsRecords contains more than one {kind} record.")));
        }
        types.push(kind.clone());
        out.push(json!({ "Type": kind, "TTL": ttl }));
    }
    if types.iter().any(|t| t == "CNAME") && types.len() > 1 {
        return Err(invalid("A CNAME record cannot be combined with other record types."));
    }
    Ok(out)
}

fn health_check(input: HealthCheckInput) -> EcsResult<Value> {
    let kind = required(input.r#type, "healthCheckConfig.type")?;
    enum_check(&kind, "healthCheckConfig.type", &["HTTP", "HTTPS", "TCP"])?;
    let threshold = failure_threshold(input.failure_threshold)?;
    let mut out = json!({ "Type": kind, "FailureThreshold": threshold });
    match (input.resource_path, kind.as_str()) {
        (Some(_), "TCP") => return Err(invalid("A TCP health check cannot have a ResourcePath.")),
        (Some(path), _) => out["ResourcePath"] = json!(path),
        (None, "TCP") => {}
        (None, _) => out["ResourcePath"] = json!("/"),
    }
    Ok(out)
}

fn failure_threshold(value: Option<i64>) -> EcsResult<i64> {
    match value {
        None => Ok(1),
        Some(n) if (1..=10).contains(&n) => Ok(n),
        Some(n) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'failureThreshold' failed to satisfy constraint: Member must have value between 1 and 10"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateServiceInput {
    name: Option<String>,
    namespace_id: Option<String>,
    creator_request_id: Option<String>,
    description: Option<String>,
    dns_config: Option<DnsConfigInput>,
    health_check_config: Option<HealthCheckInput>,
    health_check_custom_config: Option<CustomHealthInput>,
    tags: Option<Vec<TagInput>>,
    r#type: Option<String>,
}

pub fn create_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: CreateServiceInput = parse(body)?;
    let name = required(input.name, "name")?;
    if !is_service_name(&name) {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy the service name pattern"
        )));
    }
    if let Some(kind) = &input.r#type {
        enum_check(kind, "type", &["HTTP"])?;
        if input.dns_config.is_some() {
            return Err(invalid("A service of type HTTP cannot have a DnsConfig."));
        }
    }
    let namespace_ref = input
        .namespace_id
        .clone()
        .or_else(|| input.dns_config.as_ref().and_then(|d| d.namespace_id.clone()))
        .ok_or_else(|| invalid("NamespaceId is required."))?;
    if input.health_check_config.is_some() && input.health_check_custom_config.is_some() {
        return Err(invalid("HealthCheckConfig and HealthCheckCustomConfig cannot both be specified."));
    }
    let custom = match input.health_check_custom_config {
        Some(c) => Some(match c.failure_threshold {
            Some(n) => json!({ "FailureThreshold": failure_threshold(Some(n))? }),
            None => json!({}),
        }),
        None => None,
    };
    let health = input.health_check_config.map(health_check).transpose()?;
    let dns = match input.dns_config {
        Some(d) => {
            let routing = d.routing_policy.unwrap_or_else(|| "MULTIVALUE".to_owned());
            enum_check(&routing, "dnsConfig.routingPolicy", &["MULTIVALUE", "WEIGHTED"])?;
            let records = dns_records(d.dns_records, "dnsConfig.dnsRecords")?;
            if routing == "MULTIVALUE" && records.iter().any(|r| r["Type"] == "CNAME") {
                return Err(invalid("A CNAME record requires the WEIGHTED routing policy."));
            }
            Some((routing, records))
        }
        None => None,
    };
    let id = resource_id("srv");
    let arn = format!("arn:aws:servicediscovery:{}:{}:service/{id}", store.arns.region, store.arns.account_id);
    let tags = tag_list(input.tags, &arn)?;
    store.change_discovery(|records| {
        let ns = records.namespace(&namespace_ref).ok_or_else(|| namespace_not_found(&namespace_ref))?;
        if ns.kind == "HTTP" && dns.is_some() {
            return Err(invalid(format!(
                "Namespace {} is an HTTP namespace: a service in it cannot have a DnsConfig.",
                ns.id
            )));
        }
        if health.is_some() && ns.kind != "DNS_PUBLIC" {
            return Err(invalid("HealthCheckConfig is valid only for services in public DNS namespaces."));
        }
        if let Some(existing) = records.services.values().find(|s| s.namespace_id == ns.id && s.name == name) {
            return Err(EcsError::new(
                ErrorKind::ServiceAlreadyExists,
                format!("Service with name {name} already exists in namespace {}: {}", ns.id, existing.id),
            )
            .with_member("ServiceId", existing.id.clone())
            .with_member("ServiceArn", existing.arn.clone())
            .with_member("CreatorRequestId", existing.creator_request_id.clone().unwrap_or_default()));
        }
        let dns_config = dns
            .as_ref()
            .map(|(routing, records)| json!({ "NamespaceId": ns.id, "RoutingPolicy": routing, "DnsRecords": records }));
        let kind = if dns_config.is_some() { "DNS_HTTP" } else { "HTTP" };
        let service = CloudMapService {
            id: id.clone(),
            arn: arn.clone(),
            name: name.clone(),
            namespace_id: ns.id.clone(),
            kind: kind.to_owned(),
            description: input.description.clone(),
            dns_config,
            health_check_config: health.clone(),
            health_check_custom_config: custom.clone(),
            creator_request_id: input.creator_request_id.clone(),
            created: store.now(),
        };
        let reply = json!({ "Service": service_json(store, records, &service, true) });
        let mut changes = vec![DiscoveryChange::PutService { service }];
        if !tags.is_empty() {
            changes.push(DiscoveryChange::PutTags { arn: arn.clone(), tags: tags.clone() });
        }
        Ok((reply, changes))
    })
}

/// `Service` (and, without `CreatorRequestId`, `ServiceSummary`).
fn service_json(store: &Store, records: &Discovery, service: &CloudMapService, full: bool) -> Value {
    let mut out = json!({
        "Id": service.id,
        "Arn": service.arn,
        "ResourceOwner": store.arns.account_id,
        "Name": service.name,
        "NamespaceId": service.namespace_id,
        "Type": service.kind,
        "InstanceCount": records.instances_of(&service.id).count(),
        "CreateDate": service.created,
        "CreatedByAccount": store.arns.account_id,
    });
    if !full {
        out.as_object_mut().map(|o| o.remove("NamespaceId"));
    }
    for (member, value) in [
        ("Description", service.description.as_ref().map(|d| json!(d))),
        ("DnsConfig", service.dns_config.clone()),
        ("HealthCheckConfig", service.health_check_config.clone()),
        ("HealthCheckCustomConfig", service.health_check_custom_config.clone()),
        ("CreatorRequestId", service.creator_request_id.as_ref().filter(|_| full).map(|c| json!(c))),
    ] {
        if let Some(value) = value {
            out[member] = value;
        }
    }
    out
}

pub fn get_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: IdInput = parse(body)?;
    let id = required(input.id, "id")?;
    let records = read(&store.discovery);
    let service = records.service(&id).ok_or_else(|| service_not_found(&id))?;
    Ok(json!({ "Service": service_json(store, &records, service, true) }))
}

pub fn list_services(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let max = max_results(input.max_results, 100, 100)?;
    let mut filters = Vec::new();
    for f in input.filters.unwrap_or_default() {
        filters.push(filter_parts(f, &["NAMESPACE_ID", "RESOURCE_OWNER"], &["EQ", "IN"])?);
    }
    let records = read(&store.discovery);
    let items: Vec<(String, Value)> = records
        .services
        .values()
        .filter(|s| {
            filters.iter().all(|(name, values, condition)| match name.as_str() {
                "NAMESPACE_ID" => matches(&s.namespace_id, values, condition),
                _ => matches(&store.arns.account_id, values, condition),
            })
        })
        .map(|s| (s.id.clone(), service_json(store, &records, s, false)))
        .collect();
    let (services, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "Services": services }), next))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DnsConfigChangeInput {
    dns_records: Option<Vec<DnsRecordInput>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceChangeInput {
    description: Option<String>,
    dns_config: Option<DnsConfigChangeInput>,
    health_check_config: Option<HealthCheckInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateServiceInput {
    id: Option<String>,
    service: Option<ServiceChangeInput>,
}

pub fn update_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateServiceInput = parse(body)?;
    let id = required(input.id, "id")?;
    let change = required(input.service, "service")?;
    let records_change =
        change.dns_config.map(|d| dns_records(d.dns_records, "service.dnsConfig.dnsRecords")).transpose()?;
    let health = change.health_check_config.map(health_check).transpose()?;
    store.change_discovery(|records| {
        let mut service = records.service(&id).ok_or_else(|| service_not_found(&id))?.clone();
        if let Some(new_records) = records_change {
            let Some(dns) = service.dns_config.as_mut() else {
                return Err(invalid(format!("Service {} has no DnsConfig to update.", service.id)));
            };
            dns["DnsRecords"] = Value::Array(new_records);
        }
        if let Some(health) = health {
            if service.health_check_custom_config.is_some() {
                return Err(invalid("A service with HealthCheckCustomConfig cannot get a HealthCheckConfig."));
            }
            service.health_check_config = Some(health);
        }
        if let Some(d) = change.description {
            service.description = Some(d);
        }
        let op = operation(store, "UPDATE_SERVICE", &[("SERVICE", &service.id)]);
        let reply = operation_reply(&op);
        Ok((reply, vec![DiscoveryChange::PutService { service }, DiscoveryChange::PutOperation { operation: op }]))
    })
}

pub fn delete_service(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: IdInput = parse(body)?;
    let id = required(input.id, "id")?;
    store.change_discovery(|records| {
        let service = records.service(&id).ok_or_else(|| service_not_found(&id))?;
        if records.instances_of(&service.id).next().is_some() {
            return Err(EcsError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Service {} has registered instances; deregister them before deleting the service.",
                    service.id
                ),
            ));
        }
        Ok((json!({}), vec![DiscoveryChange::DeleteService { id: service.id.clone() }]))
    })
}

// ---------------------------------------------------------------- instances

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterInput {
    service_id: Option<String>,
    instance_id: Option<String>,
    creator_request_id: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
}

/// The attributes a service's DNS records need (`AWS_INSTANCE_IPV4` for
/// an A record, …), and the attribute limits.
pub fn check_attributes(service: &CloudMapService, attributes: &BTreeMap<String, String>) -> EcsResult<()> {
    if attributes.len() > MAX_ATTRIBUTES {
        return Err(invalid(format!("An instance can have at most {MAX_ATTRIBUTES} attributes.")));
    }
    if let Some((k, _)) = attributes.iter().find(|(k, v)| k.is_empty() || k.len() > 255 || v.len() > 1024) {
        return Err(invalid(format!("Attribute {k} does not satisfy the length constraints.")));
    }
    let types: Vec<&str> = service
        .dns_config
        .as_ref()
        .and_then(|d| d.get("DnsRecords"))
        .and_then(Value::as_array)
        .map(|records| records.iter().filter_map(|r| r.get("Type").and_then(Value::as_str)).collect())
        .unwrap_or_default();
    let has = |key: &str| attributes.contains_key(key);
    for (record, needed) in [
        ("A", "AWS_INSTANCE_IPV4"),
        ("AAAA", "AWS_INSTANCE_IPV6"),
        ("SRV", "AWS_INSTANCE_PORT"),
        ("CNAME", "AWS_INSTANCE_CNAME"),
    ] {
        if types.contains(&record) && !has(needed) && !(record == "A" && has("AWS_ALIAS_DNS_NAME")) {
            return Err(invalid(format!("Attribute {needed} is required for a service with a {record} record.")));
        }
    }
    if let Some(ip) = attributes.get("AWS_INSTANCE_IPV4")
        && ip.parse::<std::net::Ipv4Addr>().is_err()
    {
        return Err(invalid(format!("AWS_INSTANCE_IPV4 {ip} is not a valid IPv4 address.")));
    }
    if let Some(port) = attributes.get("AWS_INSTANCE_PORT")
        && port.parse::<u16>().is_err()
    {
        return Err(invalid(format!("AWS_INSTANCE_PORT {port} is not a valid port.")));
    }
    if let Some(init) = attributes.get("AWS_INIT_HEALTH_STATUS") {
        enum_check(init, "attributes.AWS_INIT_HEALTH_STATUS", &["HEALTHY", "UNHEALTHY"])?;
    }
    Ok(())
}

pub fn register_instance(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: RegisterInput = parse(body)?;
    let service_id = required(input.service_id, "serviceId")?;
    let instance_id = required(input.instance_id, "instanceId")?;
    let attributes = required(input.attributes, "attributes")?;
    let valid_id = !instance_id.is_empty()
        && instance_id.len() <= 64
        && instance_id.chars().all(|c| c.is_ascii_alphanumeric() || "_/:.@-".contains(c));
    if !valid_id {
        return Err(invalid(format!(
            "1 validation error detected: Value '{instance_id}' at 'instanceId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[0-9a-zA-Z_/:.@-]+$"
        )));
    }
    store.change_discovery(|records| {
        let service = records.service(&service_id).ok_or_else(|| service_not_found(&service_id))?;
        check_attributes(service, &attributes)?;
        let previous = records.instance(&service.id, &instance_id);
        if previous.is_some_and(|p| p.ecs.is_some()) {
            return Err(EcsError::new(
                ErrorKind::ResourceInUse,
                format!("Instance {instance_id} is managed by Amazon ECS and cannot be changed."),
            ));
        }
        let custom_health = service.has_custom_health().then(|| {
            attributes
                .get("AWS_INIT_HEALTH_STATUS")
                .cloned()
                .or_else(|| previous.and_then(|p| p.custom_health.clone()))
                .unwrap_or_else(|| "HEALTHY".to_owned())
        });
        let instance = Instance {
            id: instance_id.clone(),
            attributes: attributes.clone(),
            creator_request_id: input.creator_request_id.clone(),
            custom_health,
            ecs: None,
        };
        let op = operation(store, "REGISTER_INSTANCE", &[("SERVICE", &service.id), ("INSTANCE", &instance_id)]);
        let reply = operation_reply(&op);
        Ok((
            reply,
            vec![
                DiscoveryChange::PutInstance { service_id: service.id.clone(), instance },
                DiscoveryChange::PutOperation { operation: op },
            ],
        ))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceInput {
    service_id: Option<String>,
    instance_id: Option<String>,
    status: Option<String>,
}

pub fn deregister_instance(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: InstanceInput = parse(body)?;
    let service_id = required(input.service_id, "serviceId")?;
    let instance_id = required(input.instance_id, "instanceId")?;
    store.change_discovery(|records| {
        let service = records.service(&service_id).ok_or_else(|| service_not_found(&service_id))?;
        let instance = records.instance(&service.id, &instance_id).ok_or_else(|| instance_not_found(&instance_id))?;
        if instance.ecs.is_some() {
            return Err(EcsError::new(
                ErrorKind::ResourceInUse,
                format!("Instance {instance_id} is managed by Amazon ECS and is deregistered when its task stops."),
            ));
        }
        let op = operation(store, "DEREGISTER_INSTANCE", &[("SERVICE", &service.id), ("INSTANCE", &instance_id)]);
        let reply = operation_reply(&op);
        Ok((
            reply,
            vec![
                DiscoveryChange::DeleteInstance { service_id: service.id.clone(), id: instance_id.clone() },
                DiscoveryChange::PutOperation { operation: op },
            ],
        ))
    })
}

pub fn get_instance(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: InstanceInput = parse(body)?;
    let service_id = required(input.service_id, "serviceId")?;
    let instance_id = required(input.instance_id, "instanceId")?;
    let records = read(&store.discovery);
    let service = records.service(&service_id).ok_or_else(|| service_not_found(&service_id))?;
    let instance = records.instance(&service.id, &instance_id).ok_or_else(|| instance_not_found(&instance_id))?;
    let mut out = json!({
        "Id": instance.id,
        "Attributes": instance.attributes,
        "CreatedByAccount": store.arns.account_id,
    });
    if let Some(c) = &instance.creator_request_id {
        out["CreatorRequestId"] = json!(c);
    }
    Ok(json!({ "ResourceOwner": store.arns.account_id, "Instance": out }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListInstancesInput {
    service_id: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    instances: Option<Vec<String>>,
}

pub fn list_instances(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInstancesInput = parse(body)?;
    let service_id = required(input.service_id, "serviceId")?;
    let max = max_results(input.max_results, 100, 100)?;
    let records = read(&store.discovery);
    let service = records.service(&service_id).ok_or_else(|| service_not_found(&service_id))?;
    let items: Vec<(String, Value)> = records
        .instances_of(&service.id)
        .map(|i| {
            (i.id.clone(), json!({ "Id": i.id, "Attributes": i.attributes, "CreatedByAccount": store.arns.account_id }))
        })
        .collect();
    let (instances, next) = page(items, max, input.next_token.as_deref())?;
    Ok(with_next(json!({ "ResourceOwner": store.arns.account_id, "Instances": instances }), next))
}

pub fn get_instances_health_status(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInstancesInput = parse(body)?;
    let service_id = required(input.service_id, "serviceId")?;
    let max = max_results(input.max_results, 100, 100)?;
    let records = read(&store.discovery);
    let service = records.service(&service_id).ok_or_else(|| service_not_found(&service_id))?;
    let mut items: Vec<(String, (String, &'static str))> = Vec::new();
    match &input.instances {
        Some(ids) => {
            for id in ids {
                let instance = records.instance(&service.id, id).ok_or_else(|| instance_not_found(id))?;
                items.push((id.clone(), (id.clone(), health_of(service, instance))));
            }
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items.dedup_by(|a, b| a.0 == b.0);
        }
        None => {
            items = records
                .instances_of(&service.id)
                .map(|i| (i.id.clone(), (i.id.clone(), health_of(service, i))))
                .collect();
        }
    }
    let (statuses, next) = page(items, max, input.next_token.as_deref())?;
    let status: serde_json::Map<String, Value> = statuses.into_iter().map(|(id, h)| (id, json!(h))).collect();
    Ok(with_next(json!({ "Status": status }), next))
}

pub fn update_instance_custom_health_status(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: InstanceInput = parse(body)?;
    let service_id = required(input.service_id, "serviceId")?;
    let instance_id = required(input.instance_id, "instanceId")?;
    let status = required(input.status, "status")?;
    enum_check(&status, "status", &["HEALTHY", "UNHEALTHY"])?;
    store.change_discovery(|records| {
        let service = records.service(&service_id).ok_or_else(|| service_not_found(&service_id))?;
        let mut instance =
            records.instance(&service.id, &instance_id).ok_or_else(|| instance_not_found(&instance_id))?.clone();
        if !service.has_custom_health() {
            return Err(EcsError::new(
                ErrorKind::CustomHealthNotFound,
                format!("Service {} does not have a custom health check configured.", service.id),
            ));
        }
        if instance.custom_health.as_deref() == Some(status.as_str()) {
            return Ok((json!({}), Vec::new()));
        }
        instance.custom_health = Some(status.clone());
        Ok((json!({}), vec![DiscoveryChange::PutInstance { service_id: service.id.clone(), instance }]))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DiscoverInput {
    namespace_name: Option<String>,
    service_name: Option<String>,
    max_results: Option<i64>,
    query_parameters: Option<BTreeMap<String, String>>,
    optional_parameters: Option<BTreeMap<String, String>>,
    health_status: Option<String>,
}

/// The service `DiscoverInstances` names, by namespace and service name.
fn discovered<'a>(records: &'a Discovery, namespace: &str, service: &str) -> EcsResult<&'a CloudMapService> {
    let ns = records.namespace_named(namespace).ok_or_else(|| namespace_not_found(namespace))?;
    records
        .services
        .values()
        .find(|s| s.namespace_id == ns.id && s.name == service)
        .ok_or_else(|| service_not_found(service))
}

pub fn discover_instances(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DiscoverInput = parse(body)?;
    let namespace = required(input.namespace_name, "namespaceName")?;
    let service_name = required(input.service_name, "serviceName")?;
    let max = max_results(input.max_results, 100, 1000)?;
    let filter = input.health_status.unwrap_or_else(|| "HEALTHY".to_owned());
    enum_check(&filter, "healthStatus", &["HEALTHY", "UNHEALTHY", "ALL", "HEALTHY_OR_ELSE_ALL"])?;
    let records = read(&store.discovery);
    let service = discovered(&records, &namespace, &service_name)?;
    let has_all =
        |i: &Instance, params: &BTreeMap<String, String>| params.iter().all(|(k, v)| i.attributes.get(k) == Some(v));
    let query = input.query_parameters.unwrap_or_default();
    let mut found: Vec<(&Instance, &'static str)> =
        records.instances_of(&service.id).filter(|i| has_all(i, &query)).map(|i| (i, health_of(service, i))).collect();
    // UNKNOWN (no health check) counts as healthy, as Cloud Map answers it.
    let healthy = |h: &str| h != "UNHEALTHY";
    found = match filter.as_str() {
        "HEALTHY" => found.into_iter().filter(|(_, h)| healthy(h)).collect(),
        "UNHEALTHY" => found.into_iter().filter(|(_, h)| !healthy(h)).collect(),
        "HEALTHY_OR_ELSE_ALL" if found.iter().any(|(_, h)| healthy(h)) => {
            found.into_iter().filter(|(_, h)| healthy(h)).collect()
        }
        _ => found,
    };
    if let Some(optional) = input.optional_parameters.filter(|o| !o.is_empty())
        && found.iter().any(|(i, _)| has_all(i, &optional))
    {
        found.retain(|(i, _)| has_all(i, &optional));
    }
    let instances: Vec<Value> = found
        .iter()
        .take(max)
        .map(|(i, h)| {
            json!({
                "InstanceId": i.id,
                "NamespaceName": namespace,
                "ServiceName": service.name,
                "HealthStatus": h,
                "Attributes": i.attributes,
            })
        })
        .collect();
    Ok(json!({ "Instances": instances, "InstancesRevision": revision(&records, &service.id) }))
}

pub fn discover_instances_revision(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DiscoverInput = parse(body)?;
    let namespace = required(input.namespace_name, "namespaceName")?;
    let service_name = required(input.service_name, "serviceName")?;
    let records = read(&store.discovery);
    let service = discovered(&records, &namespace, &service_name)?;
    Ok(json!({ "InstancesRevision": revision(&records, &service.id) }))
}

// ---------------------------------------------------------------- tags

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: Option<String>,
    tags: Option<Vec<TagInput>>,
    tag_keys: Option<Vec<String>>,
}

/// The namespace or service a tagging call names.
fn tagged(records: &Discovery, arn: &str) -> EcsResult<()> {
    if !arn.starts_with("arn:") || !arn.contains(":servicediscovery:") {
        return Err(invalid(format!(
            "1 validation error detected: Value '{arn}' at 'resourceARN' failed to satisfy constraint: Member must be a Cloud Map resource ARN"
        )));
    }
    let known = records.namespaces.values().any(|n| n.arn == arn) || records.services.values().any(|s| s.arn == arn);
    if known {
        Ok(())
    } else {
        Err(EcsError::new(ErrorKind::ResourceNotFoundException, format!("Resource not found: {arn}")))
    }
}

pub fn tag_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagResourceInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceARN")?;
    let new = tag_list(Some(required(input.tags, "tags")?), &arn)?;
    store.change_discovery(|records| {
        tagged(records, &arn)?;
        let mut tags = records.tags.get(&arn).cloned().unwrap_or_default();
        for (k, v) in new {
            match tags.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v,
                None => tags.push((k, v)),
            }
        }
        check_tag_count(&tags, &arn)?;
        Ok((json!({}), vec![DiscoveryChange::PutTags { arn: arn.clone(), tags }]))
    })
}

pub fn untag_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagResourceInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceARN")?;
    let keys = required(input.tag_keys, "tagKeys")?;
    store.change_discovery(|records| {
        tagged(records, &arn)?;
        let mut tags = records.tags.get(&arn).cloned().unwrap_or_default();
        tags.retain(|(k, _)| !keys.contains(k));
        Ok((json!({}), vec![DiscoveryChange::PutTags { arn: arn.clone(), tags }]))
    })
}

pub fn list_tags_for_resource(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: TagResourceInput = parse(body)?;
    let arn = required(input.resource_arn, "resourceARN")?;
    let records = read(&store.discovery);
    tagged(&records, &arn)?;
    Ok(json!({ "Tags": tags_json(records.tags.get(&arn).map(Vec::as_slice).unwrap_or_default()) }))
}
