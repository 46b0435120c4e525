//! ECS Managed Daemons: CreateDaemon, UpdateDaemon, DeleteDaemon,
//! DescribeDaemon, ListDaemons, DescribeDaemonDeployments,
//! ListDaemonDeployments, DescribeDaemonRevisions.
//!
//! Each create or update snapshots the daemon's configuration as a new
//! revision and starts a deployment of it (the one in progress before is
//! STOPPED); a delete starts a deployment that drains every task. The
//! deployments then run in [`crate::emulator::sim::managed_daemons`], which
//! is asked to act at once so the answer's tasks already exist.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::emulator::rules::validation::{check_enum, check_tags};
use crate::emulator::sim::managed_daemons::{converge_now, counts};
use crate::emulator::state::daemons::{Daemon, DaemonChange, DaemonDeployment, DaemonRevision, Daemons};
use crate::emulator::state::ids::{deployment_id, is_valid_name};
use crate::emulator::state::records::{Failure, Tag, Timestamp};
use crate::emulator::state::{ClusterState, Store, lock, read};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

/// The cluster named in a daemon ARN (`…:daemon/<cluster>/<name>`).
fn cluster_in(daemon_arn: &str) -> Option<&str> {
    daemon_arn.rsplit_once(":daemon/").and_then(|(_, rest)| rest.split('/').next())
}

/// Why a daemon ARN names no daemon: its cluster is unknown
/// (ClusterNotFoundException) or the daemon is (DaemonNotFoundException).
fn daemon_not_found(store: &Store, arn: &str) -> EcsError {
    match cluster_in(arn) {
        Some(cluster) if store.cluster(cluster).is_none() => EcsError::cluster_not_found(),
        _ => EcsError::new(ErrorKind::DaemonNotFoundException, "Daemon not found."),
    }
}

fn daemon_not_active() -> EcsError {
    EcsError::new(ErrorKind::DaemonNotActiveException, "Daemon is not active.")
}

/// The configuration a revision snapshots, as the request gave it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Settings {
    daemon_task_definition_arn: Option<String>,
    capacity_provider_arns: Option<Vec<String>>,
    deployment_configuration: Option<Value>,
    propagate_tags: Option<String>,
    #[serde(rename = "enableECSManagedTags")]
    enable_ecs_managed_tags: Option<bool>,
    enable_execute_command: Option<bool>,
    critical: Option<bool>,
}

/// Checks what both CreateDaemon and UpdateDaemon may carry.
fn check_settings(settings: &Settings) -> EcsResult<()> {
    check_enum(settings.propagate_tags.as_deref(), &["DAEMON", "NONE"], "propagateTags")?;
    if let Some(providers) = &settings.capacity_provider_arns {
        if providers.is_empty() {
            return Err(EcsError::invalid("capacityProviderArns must contain at least one capacity provider."));
        }
        for p in providers {
            let name = p.rsplit_once("capacity-provider/").map_or(p.as_str(), |(_, n)| n);
            if name == "FARGATE" || name == "FARGATE_SPOT" || !is_valid_name(name) {
                return Err(EcsError::invalid(format!(
                    "The capacity provider '{p}' is not valid. Daemons are only supported for Amazon ECS Managed Instances capacity providers."
                )));
            }
        }
    }
    if let Some(config) = &settings.deployment_configuration {
        if let Some(drain) = config.get("drainPercent").and_then(Value::as_f64)
            && !(0.0..=100.0).contains(&drain)
        {
            return Err(EcsError::invalid("drainPercent must be between 0.0 and 100.0."));
        }
        if let Some(bake) = config.get("bakeTimeInMinutes").and_then(Value::as_i64)
            && !(0..=1440).contains(&bake)
        {
            return Err(EcsError::invalid("bakeTimeInMinutes must be between 0 and 1440."));
        }
    }
    Ok(())
}

/// The deployment configuration with ECS's defaults filled in.
fn deployment_configuration(given: Option<Value>) -> Value {
    let mut config = given.and_then(|v| v.as_object().cloned()).unwrap_or_default();
    config.entry("drainPercent").or_insert(json!(25.0));
    config.entry("bakeTimeInMinutes").or_insert(json!(0));
    Value::Object(config)
}

/// Which daemon a revision is of.
struct Owner<'a> {
    arn: &'a str,
    cluster: &'a str,
    name: &'a str,
}

/// A new revision of the daemon with `settings` over `base`'s.
fn new_revision(
    store: &Store,
    records: &Daemons,
    owner: Owner<'_>,
    settings: &Settings,
    base: Option<&DaemonRevision>,
    now: Timestamp,
) -> EcsResult<DaemonRevision> {
    let Owner { arn: daemon_arn, cluster, name } = owner;
    let td_arn = match (&settings.daemon_task_definition_arn, base) {
        (Some(arn), _) => arn.clone(),
        (None, Some(base)) => base.daemon_task_definition_arn.clone(),
        (None, None) => return Err(EcsError::missing("daemonTaskDefinitionArn")),
    };
    let definition = records.task_definition(&td_arn, true).filter(|d| d.status == "ACTIVE").ok_or_else(|| {
        EcsError::invalid(format!("The daemon task definition '{td_arn}' does not exist or is not ACTIVE."))
    })?;
    let images = definition
        .container_definitions
        .iter()
        .map(|c| json!({ "containerName": c.name(), "image": c.image }))
        .collect();
    let id = deployment_id();
    let digits = id.rsplit('/').next().unwrap_or_default();
    Ok(DaemonRevision {
        daemon_revision_arn: store.arns.resource(&format!("daemon-revision/{cluster}/{name}/{digits}")),
        cluster_arn: store.arns.cluster(cluster),
        daemon_arn: daemon_arn.to_owned(),
        daemon_task_definition_arn: definition.daemon_task_definition_arn.clone(),
        created_at: now,
        container_images: images,
        propagate_tags: settings
            .propagate_tags
            .clone()
            .or_else(|| base.map(|b| b.propagate_tags.clone()))
            .unwrap_or_else(|| "NONE".into()),
        enable_ecs_managed_tags: settings
            .enable_ecs_managed_tags
            .or(base.map(|b| b.enable_ecs_managed_tags))
            .unwrap_or(false),
        enable_execute_command: settings
            .enable_execute_command
            .or(base.map(|b| b.enable_execute_command))
            .unwrap_or(false),
        critical: settings.critical.or(base.map(|b| b.critical)).unwrap_or(false),
    })
}

/// A deployment from `source` (the daemon's current revision) to `target`
/// (None: drain), which stops the one in progress.
fn new_deployment(
    store: &Store,
    records: &Daemons,
    daemon: &Daemon,
    target: Option<&str>,
    now: Timestamp,
) -> (DaemonDeployment, Vec<DaemonChange>) {
    let id = deployment_id();
    let digits = id.rsplit('/').next().unwrap_or_default();
    let deployment = DaemonDeployment {
        daemon_deployment_arn: store
            .arns
            .resource(&format!("daemon-deployment/{}/{}/{digits}", daemon.cluster, daemon.daemon_name)),
        daemon_arn: daemon.daemon_arn.clone(),
        cluster: daemon.cluster.clone(),
        cluster_arn: daemon.cluster_arn.clone(),
        status: "IN_PROGRESS".into(),
        status_reason: None,
        target_revision_arn: target.map(str::to_owned),
        source_revision_arns: if daemon.current_revision_arn.is_empty() || target == Some(&daemon.current_revision_arn)
        {
            Vec::new()
        } else {
            vec![daemon.current_revision_arn.clone()]
        },
        deployment_configuration: daemon.deployment_configuration.clone(),
        created_at: now,
        started_at: Some(now),
        stopped_at: None,
        finished_at: None,
        serial: records.deployments.len() as u64,
    };
    let mut changes = Vec::new();
    if let Some(previous) = records.deployments.get(&daemon.deployment_arn).filter(|d| d.status == "IN_PROGRESS") {
        changes.push(DaemonChange::PutDeployment {
            deployment: DaemonDeployment {
                status: "STOPPED".into(),
                status_reason: Some("Superseded by a newer daemon deployment.".into()),
                stopped_at: Some(now),
                ..previous.clone()
            },
        });
    }
    (deployment, changes)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateInput {
    daemon_name: Option<String>,
    cluster_arn: Option<String>,
    tags: Option<Vec<Tag>>,
    client_token: Option<String>,
    #[serde(flatten)]
    settings: Settings,
}

fn write_answer(daemon: &Daemon, with_updated: bool) -> Value {
    let mut answer = json!({
        "daemonArn": daemon.daemon_arn,
        "status": daemon.status,
        "createdAt": daemon.created_at,
        "deploymentArn": daemon.deployment_arn,
    });
    if with_updated {
        answer["updatedAt"] = json!(daemon.updated_at);
    }
    answer
}

pub fn create_daemon(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: CreateInput = parse(body)?;
    let name = required(input.daemon_name, "daemonName")?;
    if !is_valid_name(&name) {
        return Err(EcsError::invalid(
            "Daemon name can be up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.",
        ));
    }
    required(input.settings.daemon_task_definition_arn.as_ref(), "daemonTaskDefinitionArn")?;
    required(input.settings.capacity_provider_arns.as_ref(), "capacityProviderArns")?;
    check_settings(&input.settings)?;
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    if input.client_token.as_ref().is_some_and(|t| t.is_empty() || t.len() > 36) {
        return Err(EcsError::invalid("clientToken can be up to 36 ASCII characters."));
    }
    let cell = store.find_cluster(input.cluster_arn.as_deref())?;
    let cluster = {
        let state = lock(&cell);
        state.ensure_active()?;
        state.name().to_owned()
    };
    let now = store.now();
    let answer = store.change_daemons(|records, _| {
        let daemon_arn = store.arns.resource(&format!("daemon/{cluster}/{name}"));
        if let Some(existing) = records.daemons.get(&daemon_arn) {
            if existing.client_token.is_some() && existing.client_token == input.client_token {
                return Ok((write_answer(existing, false), Vec::new()));
            }
            return Err(EcsError::invalid(format!("A daemon named '{name}' already exists in the cluster.")));
        }
        let owner = Owner { arn: &daemon_arn, cluster: &cluster, name: &name };
        let revision = new_revision(store, records, owner, &input.settings, None, now)?;
        let mut daemon = Daemon {
            daemon_arn: daemon_arn.clone(),
            daemon_name: name.clone(),
            cluster: cluster.clone(),
            cluster_arn: store.arns.cluster(&cluster),
            status: "ACTIVE".into(),
            capacity_provider_arns: input.settings.capacity_provider_arns.clone().unwrap_or_default(),
            current_revision_arn: String::new(),
            deployment_arn: String::new(),
            deployment_configuration: deployment_configuration(input.settings.deployment_configuration.clone()),
            created_at: now,
            updated_at: now,
            tags: tags.clone(),
            client_token: input.client_token.clone(),
        };
        let (deployment, mut changes) =
            new_deployment(store, records, &daemon, Some(&revision.daemon_revision_arn), now);
        daemon.current_revision_arn = revision.daemon_revision_arn.clone();
        daemon.deployment_arn = deployment.daemon_deployment_arn.clone();
        let answer = write_answer(&daemon, false);
        changes.push(DaemonChange::PutRevision { revision });
        changes.push(DaemonChange::PutDeployment { deployment });
        changes.push(DaemonChange::PutDaemon { daemon });
        Ok((answer, changes))
    })?;
    converge_now(store, &cluster);
    Ok(answer)
}

/// The daemon an ARN names, and that it is ACTIVE.
fn active_daemon<'a>(store: &Store, records: &'a Daemons, arn: &str) -> EcsResult<&'a Daemon> {
    let daemon = records.daemons.get(arn).ok_or_else(|| daemon_not_found(store, arn))?;
    if daemon.status != "ACTIVE" {
        return Err(daemon_not_active());
    }
    Ok(daemon)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateInput {
    daemon_arn: Option<String>,
    #[serde(flatten)]
    settings: Settings,
}

pub fn update_daemon(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: UpdateInput = parse(body)?;
    let arn = required(input.daemon_arn, "daemonArn")?;
    check_settings(&input.settings)?;
    let now = store.now();
    let (answer, cluster) = store.change_daemons(|records, _| {
        let daemon = active_daemon(store, records, &arn)?;
        let base = records.revisions.get(&daemon.current_revision_arn);
        let owner = Owner { arn: &daemon.daemon_arn, cluster: &daemon.cluster, name: &daemon.daemon_name };
        let revision = new_revision(store, records, owner, &input.settings, base, now)?;
        let mut updated = daemon.clone();
        if let Some(providers) = &input.settings.capacity_provider_arns {
            updated.capacity_provider_arns = providers.clone();
        }
        if let Some(config) = &input.settings.deployment_configuration {
            updated.deployment_configuration = deployment_configuration(Some(config.clone()));
        }
        let (deployment, mut changes) =
            new_deployment(store, records, &updated, Some(&revision.daemon_revision_arn), now);
        updated.current_revision_arn = revision.daemon_revision_arn.clone();
        updated.deployment_arn = deployment.daemon_deployment_arn.clone();
        updated.updated_at = now;
        let answer = write_answer(&updated, true);
        let cluster = updated.cluster.clone();
        changes.push(DaemonChange::PutRevision { revision });
        changes.push(DaemonChange::PutDeployment { deployment });
        changes.push(DaemonChange::PutDaemon { daemon: updated });
        Ok(((answer, cluster), changes))
    })?;
    converge_now(store, &cluster);
    Ok(answer)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DaemonInput {
    daemon_arn: Option<String>,
}

pub fn delete_daemon(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DaemonInput = parse(body)?;
    let arn = required(input.daemon_arn, "daemonArn")?;
    let now = store.now();
    let (answer, cluster) = store.change_daemons(|records, _| {
        let daemon = active_daemon(store, records, &arn)?;
        let mut deleting = daemon.clone();
        let (deployment, mut changes) = new_deployment(store, records, &deleting, None, now);
        deleting.status = "DELETE_IN_PROGRESS".into();
        deleting.deployment_arn = deployment.daemon_deployment_arn.clone();
        deleting.updated_at = now;
        let answer = write_answer(&deleting, true);
        let cluster = deleting.cluster.clone();
        changes.push(DaemonChange::PutDeployment { deployment });
        changes.push(DaemonChange::PutDaemon { daemon: deleting });
        Ok(((answer, cluster), changes))
    })?;
    converge_now(store, &cluster);
    Ok(answer)
}

/// The cluster a daemon runs in, locked, when it is still there.
fn with_cluster<R>(store: &Store, cluster: &str, f: impl FnOnce(Option<&ClusterState>) -> R) -> R {
    match store.cluster(cluster) {
        Some(cell) => f(Some(&lock(&cell))),
        None => f(None),
    }
}

/// ECS's `DaemonRevisionDetail` of `revision_arn` in `daemon`.
fn revision_detail(state: Option<&ClusterState>, daemon: &Daemon, revision_arn: &str) -> Value {
    let counts = state.map(|s| counts(s, daemon, revision_arn)).unwrap_or_default();
    let providers: Vec<Value> = counts
        .iter()
        .map(|(arn, (running, without))| json!({ "arn": arn, "runningCount": running, "withoutDaemonCount": without }))
        .collect();
    json!({
        "arn": revision_arn,
        "capacityProviders": providers,
        "totalRunningCount": counts.values().map(|c| c.0).sum::<i32>(),
        "totalWithoutDaemonCount": counts.values().map(|c| c.1).sum::<i32>(),
    })
}

pub fn describe_daemon(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DaemonInput = parse(body)?;
    let arn = required(input.daemon_arn, "daemonArn")?;
    let records = read(&store.daemons);
    let daemon = records.daemons.get(&arn).ok_or_else(|| daemon_not_found(store, &arn))?;
    let mut revisions = vec![daemon.current_revision_arn.clone()];
    if let Some(d) = records.deployments.get(&daemon.deployment_arn).filter(|d| d.status == "IN_PROGRESS") {
        revisions.extend(d.source_revision_arns.iter().filter(|r| !revisions.contains(r)).cloned().collect::<Vec<_>>());
    }
    let current: Vec<Value> = with_cluster(store, &daemon.cluster, |state| {
        revisions.iter().map(|r| revision_detail(state, daemon, r)).collect()
    });
    Ok(json!({ "daemon": {
        "daemonArn": daemon.daemon_arn,
        "clusterArn": daemon.cluster_arn,
        "status": daemon.status,
        "currentRevisions": current,
        "deploymentArn": daemon.deployment_arn,
        "createdAt": daemon.created_at,
        "updatedAt": daemon.updated_at,
    }}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    cluster_arn: Option<String>,
    capacity_provider_arns: Option<Vec<String>>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

pub fn list_daemons(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let page = PageRequest::new(input.max_results, input.next_token.as_deref(), 100, 100)?;
    let cell = store.find_cluster(input.cluster_arn.as_deref())?;
    let cluster = lock(&cell).name().to_owned();
    let records = read(&store.daemons);
    let items = records
        .of_cluster(&cluster)
        .filter(|d| {
            input
                .capacity_provider_arns
                .as_ref()
                .is_none_or(|wanted| wanted.iter().any(|p| d.capacity_provider_arns.contains(p)))
        })
        .map(|d| {
            let summary = json!({
                "daemonArn": d.daemon_arn,
                "status": d.status,
                "createdAt": d.created_at,
                "updatedAt": d.updated_at,
            });
            (d.daemon_arn.clone(), summary)
        });
    let (items, next) = page.take(items);
    Ok(list_response("daemonSummariesList", items, next))
}

/// ECS's `DaemonDeploymentRevisionDetail`: instance counts of one revision.
fn deployment_revision(state: Option<&ClusterState>, daemon: Option<&Daemon>, revision_arn: &str) -> Value {
    let counts = match (state, daemon) {
        (Some(state), Some(daemon)) => counts(state, daemon, revision_arn),
        _ => Default::default(),
    };
    let providers: Vec<Value> = counts
        .iter()
        .map(|(arn, (running, without))| {
            json!({
                "arn": arn,
                "runningInstanceCount": running,
                "withoutDaemonInstanceCount": without,
                "drainingInstanceCount": 0,
            })
        })
        .collect();
    json!({
        "arn": revision_arn,
        "capacityProviders": providers,
        "totalRunningInstanceCount": counts.values().map(|c| c.0).sum::<i32>(),
        "totalWithoutDaemonInstanceCount": counts.values().map(|c| c.1).sum::<i32>(),
        "totalDrainingInstanceCount": 0,
    })
}

/// ECS's `DaemonDeployment` shape.
fn full_deployment(store: &Store, records: &Daemons, d: &DaemonDeployment) -> EcsResult<Value> {
    let daemon = records.daemons.get(&d.daemon_arn);
    let alarms = d.deployment_configuration.get("alarms");
    let alarm_names = alarms.and_then(|a| a.get("alarmNames")).cloned().unwrap_or_else(|| json!([]));
    let alarms_on = alarms.and_then(|a| a.get("enable")).and_then(Value::as_bool).unwrap_or(false);
    let (target, sources) = with_cluster(store, &d.cluster, |state| {
        let target = d.target_revision_arn.as_deref().map(|r| deployment_revision(state, daemon, r));
        let sources: Vec<Value> =
            d.source_revision_arns.iter().map(|r| deployment_revision(state, daemon, r)).collect();
        (target, sources)
    });
    let mut shape = Map::new();
    shape.insert("daemonDeploymentArn".into(), json!(d.daemon_deployment_arn));
    shape.insert("clusterArn".into(), json!(d.cluster_arn));
    shape.insert("status".into(), json!(d.status));
    if let Some(reason) = &d.status_reason {
        shape.insert("statusReason".into(), json!(reason));
    }
    if let Some(target) = target {
        shape.insert("targetDaemonRevision".into(), target);
    }
    shape.insert("sourceDaemonRevisions".into(), json!(sources));
    shape.insert("circuitBreaker".into(), json!({ "failureCount": 0, "status": "DISABLED", "threshold": 0 }));
    shape.insert(
        "alarms".into(),
        json!({ "status": if alarms_on { "MONITORING" } else { "DISABLED" }, "alarmNames": alarm_names }),
    );
    shape.insert("deploymentConfiguration".into(), d.deployment_configuration.clone());
    for (name, at) in [
        ("createdAt", Some(d.created_at)),
        ("startedAt", d.started_at),
        ("stoppedAt", d.stopped_at),
        ("finishedAt", d.finished_at),
    ] {
        if let Some(at) = at {
            shape.insert(name.into(), to_value(&at)?);
        }
    }
    Ok(Value::Object(shape))
}

/// A Describe call's answer: `member` (each of 1 to 20 ARNs that
/// `render` finds) and `failures` (MISSING for the others).
fn describe_each(
    body: &[u8],
    input_member: &str,
    member: &str,
    render: impl Fn(&str) -> EcsResult<Option<Value>>,
) -> EcsResult<Value> {
    let input: Map<String, Value> = parse(body)?;
    let arns: Vec<String> = match input.get(input_member) {
        None | Some(Value::Null) => return Err(EcsError::missing(input_member)),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|_| EcsError::invalid(format!("{input_member} must be a list of ARNs.")))?,
    };
    if arns.is_empty() || arns.len() > 20 {
        return Err(EcsError::invalid(format!("{input_member} must contain between 1 and 20 ARNs.")));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &arns {
        match render(arn)? {
            Some(shape) => found.push(shape),
            None => failures.push(Failure { arn: arn.clone(), reason: "MISSING".into(), detail: None }),
        }
    }
    Ok(json!({ member: found, "failures": to_value(&failures)? }))
}

pub fn describe_daemon_deployments(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let records = read(&store.daemons);
    describe_each(body, "daemonDeploymentArns", "daemonDeployments", |arn| {
        records.deployments.get(arn).map(|d| full_deployment(store, &records, d)).transpose()
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListDeploymentsInput {
    daemon_arn: Option<String>,
    status: Option<Vec<String>>,
    created_at: Option<CreatedAt>,
    max_results: Option<i32>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
struct CreatedAt {
    before: Option<Timestamp>,
    after: Option<Timestamp>,
}

/// The statuses a daemon deployment can be in.
const DEPLOYMENT_STATUSES: &[&str] = &[
    "PENDING",
    "IN_PROGRESS",
    "SUCCESSFUL",
    "STOPPED",
    "STOP_REQUESTED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
];

pub fn list_daemon_deployments(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListDeploymentsInput = parse(body)?;
    let daemon_arn = required(input.daemon_arn, "daemonArn")?;
    if !daemon_arn.contains(":daemon/") {
        return Err(EcsError::invalid(format!("'{daemon_arn}' is not a daemon ARN.")));
    }
    for status in input.status.iter().flatten() {
        check_enum(Some(status), DEPLOYMENT_STATUSES, "status")?;
    }
    let mut page = PageRequest::new(input.max_results, input.next_token.as_deref(), 20, 100)?;
    page.descending = true;
    // The cluster in the ARN must exist, as for every daemon call.
    store.find_cluster(Some(cluster_in(&daemon_arn).unwrap_or_default()))?;
    let records = read(&store.daemons);
    let mut items: Vec<(String, Value)> = records
        .deployments
        .values()
        .filter(|d| d.daemon_arn == daemon_arn)
        .filter(|d| input.status.as_ref().is_none_or(|s| s.contains(&d.status)))
        .filter(|d| {
            input
                .created_at
                .as_ref()
                .is_none_or(|c| c.before.is_none_or(|b| d.created_at < b) && c.after.is_none_or(|a| d.created_at > a))
        })
        .map(|d| {
            let mut summary = json!({
                "daemonDeploymentArn": d.daemon_deployment_arn,
                "daemonArn": d.daemon_arn,
                "clusterArn": d.cluster_arn,
                "status": d.status,
                "createdAt": d.created_at,
            });
            let optional = [
                ("statusReason", d.status_reason.as_ref().map(|r| json!(r))),
                ("targetDaemonRevisionArn", d.target_revision_arn.as_ref().map(|r| json!(r))),
                ("startedAt", d.started_at.map(|t| json!(t))),
                ("stoppedAt", d.stopped_at.map(|t| json!(t))),
                ("finishedAt", d.finished_at.map(|t| json!(t))),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    summary[name] = value;
                }
            }
            (format!("{:015}|{:010}", d.created_at.0, d.serial), summary)
        })
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0));
    let (items, next) = page.take(items);
    Ok(list_response("daemonDeployments", items, next))
}

pub fn describe_daemon_revisions(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let records = read(&store.daemons);
    describe_each(body, "daemonRevisionArns", "daemonRevisions", |arn| {
        records.revisions.get(arn).map(to_value).transpose()
    })
}
