//! Cluster operations: CreateCluster, DescribeClusters, ListClusters,
//! UpdateCluster, UpdateClusterSettings, DeleteCluster.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::rules::account_settings::{effective, root_principal, setting};
use crate::emulator::rules::validation::check_tags;
use crate::emulator::sim::capacity_providers::check_cluster_providers;
use crate::emulator::state::ids::is_valid_name;
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, ClusterState, Store, lock, read, write};
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, required};
use crate::emulator::wire::pagination::{PageRequest, list_reply};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateClusterInput {
    cluster_name: Option<String>,
    tags: Option<Vec<Tag>>,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<Value>,
    capacity_providers: Option<Vec<String>>,
    default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    service_connect_defaults: Option<Value>,
}

fn check_settings(settings: &[ClusterSetting]) -> EcsResult<()> {
    for s in settings {
        if s.name.as_deref() != Some("containerInsights") {
            return Err(EcsError::invalid(format!(
                "Invalid cluster setting name {:?}: the only setting is containerInsights.",
                s.name.as_deref().unwrap_or_default()
            )));
        }
        if !matches!(s.value.as_deref(), Some("enhanced" | "enabled" | "disabled")) {
            return Err(EcsError::invalid("containerInsights must be enhanced, enabled or disabled."));
        }
    }
    Ok(())
}

/// Settings merged by name: later values replace earlier ones.
fn merge_settings(current: &mut Vec<ClusterSetting>, updates: Vec<ClusterSetting>) {
    for update in updates {
        match current.iter_mut().find(|s| s.name == update.name) {
            Some(existing) => existing.value = update.value,
            None => current.push(update),
        }
    }
}

pub fn create_cluster(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: CreateClusterInput = parse(body)?;
    let name = input.cluster_name.unwrap_or_else(|| "default".to_owned());
    if !is_valid_name(&name) {
        return Err(EcsError::invalid(
            "Cluster name can be up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.",
        ));
    }
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    // A cluster that names no containerInsights value gets the account's
    // (PutAccountSetting / PutAccountSettingDefault), as in ECS.
    let insights = {
        let account = &store.arns.account_id;
        effective(&read(&store.account_settings), setting("containerInsights")?, &root_principal(account), account)
    };
    let mut settings = vec![ClusterSetting { name: Some("containerInsights".into()), value: Some(insights) }];
    let given_settings = input.settings.unwrap_or_default();
    check_settings(&given_settings)?;
    merge_settings(&mut settings, given_settings);
    let providers = input.capacity_providers.unwrap_or_default();
    let strategy = input.default_capacity_provider_strategy.unwrap_or_default();
    // Held until the cluster exists, so no other association changes meanwhile.
    let records = write(&store.capacity_providers);
    check_cluster_providers(store, &records, &name, &providers, &strategy)?;

    let cluster = Cluster {
        cluster_arn: store.arns.cluster(&name),
        cluster_name: name.clone(),
        configuration: input.configuration,
        status: "ACTIVE".into(),
        registered_container_instances_count: 0,
        running_tasks_count: 0,
        pending_tasks_count: 0,
        active_services_count: 0,
        statistics: Vec::new(),
        tags,
        settings,
        capacity_providers: providers,
        default_capacity_provider_strategy: strategy,
        attachments: Vec::new(),
        attachments_status: None,
        service_connect_defaults: input.service_connect_defaults,
    };
    let created = store.with_clusters_map(|map| {
        if let Some(existing) = map.get(&name) {
            let existing = lock(existing);
            if existing.is_active() {
                // CreateCluster on an ACTIVE name returns that cluster.
                return Ok(Err(json!({ "cluster": to_value(&existing.cluster_with_counts())? })));
            }
        }
        let mut changes = store.changes();
        changes.push(|| Change::NewCluster { cluster: cluster.clone() });
        store.persist(changes)?;
        let value = json!({ "cluster": to_value(&cluster)? });
        map.insert(name.clone(), std::sync::Arc::new(std::sync::Mutex::new(ClusterState::new(cluster))));
        Ok(Ok(value))
    })?;
    drop(records);
    match created {
        Err(existing) => Ok(existing),
        Ok(value) if store.ec2_capacity == 0 => Ok(value),
        Ok(_) => {
            crate::emulator::sim::capacity::provision(store, &name, store.ec2_capacity)?;
            let cell = store.find_cluster(Some(&name))?;
            let state = lock(&cell);
            Ok(json!({ "cluster": to_value(&state.cluster_with_counts())? }))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeClustersInput {
    clusters: Option<Vec<String>>,
    include: Option<Vec<String>>,
}

/// The cluster as DescribeClusters shows it: optional parts only when asked.
pub fn render_cluster(state: &ClusterState, include: &[String]) -> Cluster {
    let has = |what: &str| include.iter().any(|i| i == what);
    let mut cluster = state.cluster_with_counts();
    if !has("TAGS") {
        cluster.tags.clear();
    }
    if !has("SETTINGS") {
        cluster.settings.clear();
    }
    if !has("CONFIGURATIONS") {
        cluster.configuration = None;
    }
    if !has("ATTACHMENTS") {
        cluster.attachments.clear();
    }
    if has("STATISTICS") {
        cluster.statistics = statistics(state);
    }
    cluster
}

fn statistics(state: &ClusterState) -> Vec<KeyValuePair> {
    // From the task table's counters: no walk over the tasks.
    let counts = state.tasks.counts();
    let count_tasks = |status: &str, fargate: bool| {
        let by_launch = if status == "RUNNING" { counts.running } else { counts.pending };
        by_launch[usize::from(fargate)]
    };
    let count_services = |status: &str, fargate: bool| {
        state
            .services
            .values()
            .filter(|s| s.service.status == status)
            .filter(|s| (s.service.launch_type.as_deref() == Some("FARGATE")) == fargate)
            .count()
    };
    let pairs = [
        ("runningEC2TasksCount", count_tasks("RUNNING", false)),
        ("runningFargateTasksCount", count_tasks("RUNNING", true)),
        ("pendingEC2TasksCount", count_tasks("PENDING", false)),
        ("pendingFargateTasksCount", count_tasks("PENDING", true)),
        ("activeEC2ServiceCount", count_services("ACTIVE", false)),
        ("activeFargateServiceCount", count_services("ACTIVE", true)),
        ("drainingEC2ServiceCount", count_services("DRAINING", false)),
        ("drainingFargateServiceCount", count_services("DRAINING", true)),
    ];
    pairs.into_iter().map(|(name, n)| KeyValuePair { name: Some(name.into()), value: Some(n.to_string()) }).collect()
}

#[derive(serde::Serialize)]
struct DescribeClustersOut {
    clusters: Vec<Cluster>,
    failures: Vec<Failure>,
}

pub fn describe_clusters(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: DescribeClustersInput = parse(body)?;
    let include = input.include.unwrap_or_default();
    for i in &include {
        if !matches!(i.as_str(), "ATTACHMENTS" | "CONFIGURATIONS" | "SETTINGS" | "STATISTICS" | "TAGS") {
            return Err(EcsError::invalid(format!("Invalid include value '{i}'.")));
        }
    }
    let names = input.clusters.unwrap_or_else(|| vec!["default".into()]);
    if names.len() > 100 {
        return Err(EcsError::invalid("At most 100 clusters can be described at once."));
    }
    let mut clusters = Vec::new();
    let mut failures = Vec::new();
    for reference in &names {
        match store.cluster(reference) {
            Some(cell) => clusters.push(render_cluster(&lock(&cell), &include)),
            None => failures.push(Failure {
                arn: if reference.starts_with("arn:") { reference.clone() } else { store.arns.cluster(reference) },
                reason: "MISSING".into(),
                detail: None,
            }),
        }
    }
    Reply::of(&DescribeClustersOut { clusters, failures })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    next_token: Option<String>,
    max_results: Option<i32>,
}

pub fn list_clusters(store: &Store, body: &[u8]) -> EcsResult<Reply> {
    let input: ListInput = parse(body)?;
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    let active = store.all_clusters().into_iter().filter_map(|(_, cell)| {
        let state = lock(&cell);
        state.is_active().then(|| (state.cluster.cluster_arn.clone(), state.cluster.cluster_arn.clone()))
    });
    let mut active: Vec<_> = active.collect();
    active.sort();
    let (arns, next) = page.take(active);
    list_reply("clusterArns", &arns, next)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateClusterInput {
    cluster: Option<String>,
    settings: Option<Vec<ClusterSetting>>,
    configuration: Option<Value>,
    service_connect_defaults: Option<Value>,
}

pub fn update_cluster(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateClusterInput = parse(body)?;
    let reference = required(input.cluster, "cluster")?;
    let settings = input.settings.unwrap_or_default();
    check_settings(&settings)?;
    let cell = store.find_cluster(Some(&reference))?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    merge_settings(&mut state.cluster.settings, settings);
    if let Some(configuration) = input.configuration {
        state.cluster.configuration = Some(configuration);
    }
    if let Some(defaults) = input.service_connect_defaults {
        state.cluster.service_connect_defaults = Some(defaults);
    }
    let mut changes = store.changes();
    changes.push(|| Change::PutCluster { cluster: state.cluster.clone() });
    store.persist(changes)?;
    Ok(json!({ "cluster": to_value(&state.cluster_with_counts())? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateClusterSettingsInput {
    cluster: Option<String>,
    settings: Option<Vec<ClusterSetting>>,
}

pub fn update_cluster_settings(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateClusterSettingsInput = parse(body)?;
    let reference = required(input.cluster, "cluster")?;
    let settings = required(input.settings, "settings")?;
    check_settings(&settings)?;
    let cell = store.find_cluster(Some(&reference))?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    merge_settings(&mut state.cluster.settings, settings);
    let mut changes = store.changes();
    changes.push(|| Change::PutCluster { cluster: state.cluster.clone() });
    store.persist(changes)?;
    Ok(json!({ "cluster": to_value(&state.cluster_with_counts())? }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteClusterInput {
    cluster: Option<String>,
}

pub fn delete_cluster(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DeleteClusterInput = parse(body)?;
    let reference = required(input.cluster, "cluster")?;
    let cell = store.find_cluster(Some(&reference))?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    if state.services.values().any(|s| s.service.status != "INACTIVE") {
        return Err(EcsError::new(
            crate::emulator::wire::error::ErrorKind::ClusterContainsServicesException,
            "The Cluster cannot be deleted while Services are active.",
        ));
    }
    if state.tasks.values().any(|t| !t.is_stopped()) {
        return Err(EcsError::new(
            crate::emulator::wire::error::ErrorKind::ClusterContainsTasksException,
            "The Cluster cannot be deleted while Tasks are active.",
        ));
    }
    if state.container_instances.values().any(|i| matches!(i.instance.status.as_str(), "ACTIVE" | "DRAINING")) {
        return Err(EcsError::new(
            crate::emulator::wire::error::ErrorKind::ClusterContainsContainerInstancesException,
            "The Cluster cannot be deleted while Container Instances are active or draining.",
        ));
    }
    state.cluster.status = "INACTIVE".into();
    let mut changes = store.changes();
    changes.push(|| Change::PutCluster { cluster: state.cluster.clone() });
    store.persist(changes)?;
    Ok(json!({ "cluster": to_value(&state.cluster_with_counts())? }))
}
