//! Capacity provider operations: CreateCapacityProvider,
//! DescribeCapacityProviders, UpdateCapacityProvider,
//! DeleteCapacityProvider and PutClusterCapacityProviders. Auto Scaling
//! group providers are stored; FARGATE and FARGATE_SPOT are ECS's
//! built-ins, described but never changed. What a provider's group does is
//! [`crate::emulator::sim::capacity_providers`]'.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::emulator::rules::capacity_providers::{
    AutoScalingGroupInput, check_name, new_group_provider, updated_group_provider,
};
use crate::emulator::rules::validation::{BUILTIN_CAPACITY_PROVIDERS, check_tags};
use crate::emulator::sim::capacity_providers::{begin_delete, check_cluster_providers, cluster_of, in_use};
use crate::emulator::state::capacity_providers::{
    CapacityProvider, CapacityProviders, GroupState, ProviderEntry, name_of,
};
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Store, lock, write};
use crate::emulator::wire::codec::{Reply, parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::PageRequest;

fn not_found() -> EcsError {
    EcsError::client("The specified capacity provider does not exist. Specify a valid name or ARN and try again.")
}

fn reserved(verb: &str) -> EcsError {
    EcsError::invalid(format!("The FARGATE and FARGATE_SPOT capacity providers are reserved and can't be {verb}."))
}

/// A built-in Fargate provider as ECS describes it.
fn builtin(store: &Store, name: &str) -> CapacityProvider {
    CapacityProvider {
        capacity_provider_arn: store.arns.capacity_provider(name),
        name: name.to_owned(),
        status: "ACTIVE".into(),
        auto_scaling_group_provider: None,
        update_status: None,
        update_status_reason: None,
        tags: Vec::new(),
        r#type: name.to_owned(),
    }
}

fn reply(provider: &CapacityProvider) -> EcsResult<Value> {
    Ok(json!({ "capacityProvider": to_value(provider)? }))
}

/// Journals the provider, then keeps it (under the caller's write lock) and
/// answers it.
fn save(store: &Store, records: &mut CapacityProviders, entry: ProviderEntry) -> EcsResult<Value> {
    let mut changes = store.changes();
    changes.push(|| Change::PutCapacityProvider { entry: entry.clone() });
    store.persist(changes)?;
    let value = reply(&entry.provider)?;
    records.put(entry);
    Ok(value)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    name: Option<String>,
    cluster: Option<String>,
    auto_scaling_group_provider: Option<AutoScalingGroupInput>,
    managed_instances_provider: Option<Value>,
    tags: Option<Vec<Tag>>,
}

pub fn create_capacity_provider(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: CreateInput = parse(body)?;
    let name = required(input.name, "name")?;
    check_name(&name)?;
    if input.managed_instances_provider.is_some() {
        return Err(EcsError::new(
            ErrorKind::UnsupportedFeatureException,
            "Amazon ECS Managed Instances capacity providers are not simulated by this emulator.",
        ));
    }
    if input.cluster.is_some() {
        return Err(EcsError::invalid(
            "The cluster parameter is only valid for Amazon ECS Managed Instances capacity providers.",
        ));
    }
    let group = new_group_provider(required(input.auto_scaling_group_provider, "autoScalingGroupProvider")?)?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let mut records = write(&store.capacity_providers);
    if records.by_name.get(&name).is_some_and(ProviderEntry::is_active) {
        return Err(EcsError::client(
            "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.",
        ));
    }
    let taken = records
        .by_name
        .values()
        .any(|e| e.is_active() && e.asg().is_some_and(|a| a.auto_scaling_group_arn == group.auto_scaling_group_arn));
    if taken {
        return Err(EcsError::client(
            "The specified Auto Scaling group ARN is already being used by another capacity provider. Specify a unique Auto Scaling group ARN and try again.",
        ));
    }
    let entry = ProviderEntry {
        provider: CapacityProvider {
            capacity_provider_arn: store.arns.capacity_provider(&name),
            name,
            status: "ACTIVE".into(),
            auto_scaling_group_provider: Some(group),
            update_status: None,
            update_status_reason: None,
            tags,
            r#type: "EC2_AUTOSCALING".into(),
        },
        group: GroupState::default(),
    };
    save(store, &mut records, entry)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeInput {
    capacity_providers: Option<Vec<String>>,
    cluster: Option<String>,
    include: Option<Vec<String>>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DescribeOut {
    capacity_providers: Vec<CapacityProvider>,
    failures: Vec<Failure>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub fn describe_capacity_providers(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: DescribeInput = parse(body)?;
    let include = input.include.unwrap_or_default();
    if let Some(bad) = include.iter().find(|i| i.as_str() != "TAGS") {
        return Err(EcsError::invalid(format!("Invalid include value '{bad}'.")));
    }
    let show_tags = !include.is_empty();
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 10, 10)?;
    // Only the providers of that cluster, when one is named.
    let of_cluster = match &input.cluster {
        Some(c) => {
            let cell = store.find_cluster(Some(c))?;
            let providers = lock(&cell).cluster.capacity_providers.clone();
            Some(providers)
        }
        None => None,
    };
    let records = crate::emulator::state::read(&store.capacity_providers);
    let mut failures = Vec::new();
    // Keyed so that the built-ins come first, then the others by name.
    let mut found: Vec<(String, CapacityProvider)> = Vec::new();
    match input.capacity_providers.filter(|names| !names.is_empty()) {
        Some(names) => {
            if names.len() > 100 {
                return Err(EcsError::invalid("At most 100 capacity providers can be described at once."));
            }
            for reference in &names {
                let name = name_of(reference);
                if BUILTIN_CAPACITY_PROVIDERS.contains(&name) {
                    found.push((format!("0{name}"), builtin(store, name)));
                } else if let Some(entry) = records.by_name.get(name) {
                    found.push((format!("1{name}"), entry.provider.clone()));
                } else {
                    let arn = if reference.starts_with("arn:") {
                        reference.clone()
                    } else {
                        store.arns.capacity_provider(name)
                    };
                    failures.push(Failure { arn, reason: "MISSING".into(), detail: None });
                }
            }
        }
        None => {
            for name in BUILTIN_CAPACITY_PROVIDERS {
                found.push((format!("0{name}"), builtin(store, name)));
            }
            let active = records.by_name.values().filter(|e| e.is_active());
            found.extend(active.map(|e| (format!("1{}", e.name()), e.provider.clone())));
        }
    }
    if let Some(listed) = &of_cluster {
        found.retain(|(_, p)| listed.contains(&p.name));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|a, b| a.0 == b.0);
    let (mut capacity_providers, next_token) = page.take(found);
    if !show_tags {
        capacity_providers.iter_mut().for_each(|p| p.tags.clear());
    }
    Reply::of(&DescribeOut { capacity_providers, failures, next_token })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    name: Option<String>,
    auto_scaling_group_provider: Option<AutoScalingGroupInput>,
    managed_instances_provider: Option<Value>,
}

pub fn update_capacity_provider(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateInput = parse(body)?;
    let reference = required(input.name, "name")?;
    let name = name_of(&reference).to_owned();
    if BUILTIN_CAPACITY_PROVIDERS.contains(&name.as_str()) {
        return Err(reserved("updated"));
    }
    if input.managed_instances_provider.is_some() {
        return Err(EcsError::new(
            ErrorKind::UnsupportedFeatureException,
            "Amazon ECS Managed Instances capacity providers are not simulated by this emulator.",
        ));
    }
    let given = required(input.auto_scaling_group_provider, "autoScalingGroupProvider")?;
    let mut records = write(&store.capacity_providers);
    let entry = records.by_name.get(&name).filter(|e| e.is_usable()).ok_or_else(not_found)?;
    let current = entry.asg().ok_or_else(not_found)?;
    let mut entry = entry.clone();
    entry.provider.auto_scaling_group_provider = Some(updated_group_provider(given, current)?);
    entry.provider.update_status = Some("UPDATE_COMPLETE".into());
    entry.provider.update_status_reason = None;
    save(store, &mut records, entry)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteInput {
    capacity_provider: Option<String>,
}

/// ECS answers a delete while the provider is associated with a cluster
/// with the provider, `updateStatus: DELETE_FAILED` and the reason, not an
/// error; otherwise the provider is DELETE_IN_PROGRESS until the next tick
/// makes it INACTIVE (DELETE_COMPLETE).
pub fn delete_capacity_provider(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeleteInput = parse(body)?;
    let reference = required(input.capacity_provider, "capacityProvider")?;
    let name = name_of(&reference).to_owned();
    if BUILTIN_CAPACITY_PROVIDERS.contains(&name.as_str()) {
        return Err(reserved("deleted"));
    }
    let mut records = write(&store.capacity_providers);
    let mut entry = records.by_name.get(&name).filter(|e| e.is_active()).ok_or_else(not_found)?.clone();
    if entry.group.delete_at.is_some() {
        return reply(&entry.provider);
    }
    match cluster_of(store, &name, None) {
        Some(cluster) => {
            entry.provider.update_status = Some("DELETE_FAILED".into());
            entry.provider.update_status_reason = Some(format!(
                "The capacity provider cannot be deleted because it is associated with cluster: {cluster}. Remove the capacity provider from the cluster and try again."
            ));
        }
        None => begin_delete(&mut entry, store.now()),
    }
    save(store, &mut records, entry)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutClusterInput {
    cluster: Option<String>,
    capacity_providers: Option<Vec<String>>,
    default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
}

pub fn put_cluster_capacity_providers(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: PutClusterInput = parse(body)?;
    let reference = required(input.cluster, "cluster")?;
    let providers = required(input.capacity_providers, "capacityProviders")?;
    let strategy = required(input.default_capacity_provider_strategy, "defaultCapacityProviderStrategy")?;
    // Held throughout, so no other association changes meanwhile.
    let records = write(&store.capacity_providers);
    let cell = store.find_cluster(Some(&reference))?;
    let name = lock(&cell).name().to_owned();
    check_cluster_providers(store, &records, &name, &providers, &strategy)?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let mut removed = state.cluster.capacity_providers.iter().filter(|p| !providers.contains(p));
    if removed.any(|p| in_use(&state, p)) {
        return Err(EcsError::new(
            ErrorKind::ResourceInUseException,
            "The specified capacity provider is in use and cannot be removed.",
        ));
    }
    state.cluster.capacity_providers = providers;
    state.cluster.default_capacity_provider_strategy = strategy;
    let mut changes = store.changes();
    changes.push(|| Change::PutCluster { cluster: state.cluster.clone() });
    store.persist(changes)?;
    Ok(json!({ "cluster": to_value(&state.cluster_with_counts())? }))
}
