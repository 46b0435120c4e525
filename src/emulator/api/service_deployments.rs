//! Service deployments and revisions (ListServiceDeployments,
//! DescribeServiceDeployments, DescribeServiceRevisions): each entry of a
//! service's `deployments[]` is one service deployment and one service
//! revision (its configuration snapshot), both named after the deployment's
//! digits. The scheduler keeps the last [`HISTORY`] deployments of each
//! service, so they stay describable after they leave `deployments[]`.
//!
//! Status: IN_PROGRESS while rolling out; SUCCESSFUL once COMPLETED; a
//! deployment the circuit breaker or an alarm failed is
//! ROLLBACK_IN_PROGRESS, then ROLLBACK_SUCCESSFUL once the rollback target
//! completes, or STOPPED when there is no rollback; one replaced before it
//! completed is STOPPED. Full objects carry the breaker's and the alarms'
//! monitor status (TRIGGERED, MONITORING, MONITORING_COMPLETE,
//! DISABLED; alarms only when configured).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::sim::blue_green::{self, Verdict, stage_name};
use crate::emulator::sim::circuit_breaker::{self, Trip, fail_primary};
use crate::emulator::sim::deployments::reconcile;
use crate::emulator::sim::history::{deployment_arn, revision_arn, status};
use crate::emulator::state::ids::{Arns, service_name_of};
use crate::emulator::state::records::*;
use crate::emulator::state::{ClusterState, Store, lock, read};
use crate::emulator::wire::codec::{parse, to_value};
use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind, required};
use crate::emulator::wire::pagination::{PageRequest, list_response};

struct Named<'a> {
    arns: &'a Arns,
    cluster: &'a str,
    service: &'a ServiceEntry,
}

impl Named<'_> {
    fn name(&self) -> &str {
        &self.service.service.service_name
    }

    fn summary(&self, id: &str, requested: i64, running: i64, pending: i64) -> Value {
        json!({
            "arn": revision_arn(self.arns, self.cluster, self.name(), id),
            "requestedTaskCount": requested,
            "runningTaskCount": running,
            "pendingTaskCount": pending,
        })
    }

    fn brief(&self, record: &DeploymentRecord) -> Value {
        let d = &record.deployment;
        let (status, reason) = status(record, &self.service.scheduling.history);
        let mut v = json!({
            "serviceDeploymentArn": deployment_arn(self.arns, self.cluster, self.name(), &d.id),
            "serviceArn": self.service.service.service_arn,
            "clusterArn": self.service.service.cluster_arn,
            "startedAt": d.created_at,
            "createdAt": d.created_at,
            "targetServiceRevisionArn": revision_arn(self.arns, self.cluster, self.name(), &d.id),
            "status": status,
        });
        if let Some(at) = record.finished_at {
            v["finishedAt"] = json!(at);
        }
        if let Some(reason) = reason {
            v["statusReason"] = json!(reason);
        }
        v
    }

    fn full(&self, record: &DeploymentRecord) -> EcsResult<Value> {
        let d = &record.deployment;
        let mut v = self.brief(record);
        let obj = v.as_object_mut().expect("an object");
        obj.remove("targetServiceRevisionArn");
        obj.insert("updatedAt".into(), json!(d.updated_at));
        obj.insert(
            "targetServiceRevision".into(),
            self.summary(&d.id, d.desired_count, d.running_count, d.pending_count),
        );
        let sources: Vec<Value> =
            record.sources.iter().map(|s| self.summary(&s.id, s.requested, s.running, s.pending)).collect();
        obj.insert("sourceServiceRevisions".into(), json!(sources));
        if let Some(config) = &record.configuration {
            obj.insert("deploymentConfiguration".into(), to_value(config)?);
            let by_alarm = !record.triggered_alarms.is_empty();
            let breaker = config.deployment_circuit_breaker.as_ref().filter(|b| b.enable);
            let breaker_status = match (breaker, d.rollout_state.as_deref()) {
                (None, _) => "DISABLED",
                (Some(_), Some("FAILED")) if !by_alarm => "TRIGGERED",
                (Some(_), Some("IN_PROGRESS")) => "MONITORING",
                (Some(_), _) => "MONITORING_COMPLETE",
            };
            let threshold = breaker
                .map_or(0, |b| circuit_breaker::threshold(b, d.desired_count.max(self.service.service.desired_count)));
            obj.insert(
                "deploymentCircuitBreaker".into(),
                json!({ "status": breaker_status, "failureCount": d.failed_tasks, "threshold": threshold }),
            );
            if let Some(alarms) = &config.alarms {
                let alarms_status = match (alarms.enable, d.rollout_state.as_deref()) {
                    (false, _) => "DISABLED",
                    (true, _) if by_alarm => "TRIGGERED",
                    (true, Some("IN_PROGRESS")) => "MONITORING",
                    (true, _) => "MONITORING_COMPLETE",
                };
                obj.insert(
                    "alarms".into(),
                    json!({
                        "status": alarms_status,
                        "alarmNames": alarms.alarm_names,
                        "triggeredAlarmNames": record.triggered_alarms,
                    }),
                );
            }
        }
        if let Some(progress) = &record.lifecycle {
            obj.insert("lifecycleStage".into(), json!(stage_name(progress)));
            if !progress.hooks.is_empty() {
                let hooks: Vec<Value> = progress
                    .hooks
                    .iter()
                    .map(|h| {
                        let mut v = json!({ "hookId": h.hook_id, "targetType": h.target_type, "status": h.status });
                        if let Some(arn) = &h.target_arn {
                            v["targetArn"] = json!(arn);
                        }
                        if let Some(at) = h.expires_at {
                            v["expiresAt"] = json!(at);
                        }
                        if let Some(action) = &h.timeout_action {
                            v["timeoutAction"] = json!(action);
                        }
                        v
                    })
                    .collect();
                obj.insert("lifecycleHookDetails".into(), json!(hooks));
            }
            if let Some(target) = obj.get_mut("targetServiceRevision") {
                target["requestedProductionTrafficWeight"] = json!(progress.production_weight);
                target["requestedTestTrafficWeight"] = json!(progress.test_weight);
            }
            if let Some(Value::Array(sources)) = obj.get_mut("sourceServiceRevisions") {
                for source in sources {
                    source["requestedProductionTrafficWeight"] = json!(100.0 - progress.production_weight);
                    source["requestedTestTrafficWeight"] = json!(100.0 - progress.test_weight);
                }
            }
        }
        if let (Some(target), Some(at)) = (&record.rollback_to, record.rollback_at) {
            obj.insert(
                "rollback".into(),
                json!({
                    "reason": d.rollout_state_reason.as_deref().unwrap_or(circuit_breaker::FAILED_REASON),
                    "startedAt": at,
                    "serviceRevisionArn": revision_arn(self.arns, self.cluster, self.name(), target),
                }),
            );
        }
        Ok(v)
    }

    fn revision(&self, record: &DeploymentRecord, store: &Store) -> EcsResult<Value> {
        let d = &record.deployment;
        let images: Vec<Value> = read(&store.task_definitions)
            .resolve(&d.task_definition)
            .map(|td| {
                td.task_definition
                    .container_definitions
                    .iter()
                    .map(|c| json!({ "containerName": c.name(), "image": c.image.clone().unwrap_or_default() }))
                    .collect()
            })
            .unwrap_or_default();
        let mut v = json!({
            "serviceRevisionArn": revision_arn(self.arns, self.cluster, self.name(), &d.id),
            "serviceArn": self.service.service.service_arn,
            "clusterArn": self.service.service.cluster_arn,
            "taskDefinition": d.task_definition,
            "loadBalancers": to_value(&record.load_balancers)?,
            "serviceRegistries": record.service_registries,
            "containerImages": images,
            "guardDutyEnabled": false,
            "createdAt": d.created_at,
        });
        let obj = v.as_object_mut().expect("an object");
        let optional = [
            ("launchType", d.launch_type.as_ref().map(to_value).transpose()?),
            ("capacityProviderStrategy", d.capacity_provider_strategy.as_ref().map(to_value).transpose()?),
            ("platformVersion", d.platform_version.as_ref().map(to_value).transpose()?),
            ("platformFamily", d.platform_family.as_ref().map(to_value).transpose()?),
            ("networkConfiguration", d.network_configuration.as_ref().map(to_value).transpose()?),
            ("serviceConnectConfiguration", d.service_connect_configuration.clone()),
            ("volumeConfigurations", d.volume_configurations.clone()),
            ("vpcLatticeConfigurations", d.vpc_lattice_configurations.clone()),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                obj.insert(key.into(), value);
            }
        }
        Ok(v)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatedAtFilter {
    before: Option<f64>,
    after: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInput {
    service: Option<String>,
    cluster: Option<String>,
    status: Option<Vec<String>>,
    created_at: Option<CreatedAtFilter>,
    next_token: Option<String>,
    max_results: Option<i32>,
}

pub fn list_service_deployments(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ListInput = parse(body)?;
    let reference = required(input.service, "service")?;
    let mut page = PageRequest::new(input.max_results, input.next_token.as_deref(), 20, 100)?;
    page.descending = true;
    let cell = store.find_cluster(input.cluster.as_deref())?;
    let state = lock(&cell);
    state.ensure_active()?;
    let entry = state.services.get(service_name_of(&reference)).ok_or_else(EcsError::service_not_found)?;
    let named = Named { arns: &store.arns, cluster: state.name(), service: entry };
    let millis = |s: f64| (s * 1000.0).round() as i64;
    let mut items: Vec<(String, Value)> = entry
        .scheduling
        .history
        .iter()
        .filter(|r| {
            let created = r.deployment.created_at.0;
            input.created_at.as_ref().is_none_or(|f| {
                f.before.is_none_or(|b| created < millis(b)) && f.after.is_none_or(|a| created > millis(a))
            })
        })
        .map(|r| (format!("{:016}{}", r.deployment.created_at.0, r.deployment.id), named.brief(r)))
        .filter(|(_, b)| input.status.as_ref().is_none_or(|s| s.iter().any(|s| b["status"] == s.as_str())))
        .collect();
    items.sort_by(|a, b| b.0.cmp(&a.0));
    let (briefs, next) = page.take(items);
    Ok(list_response("serviceDeployments", briefs, next))
}

/// The cluster, service and deployment id an ARN of `kind` names.
fn parse_arn<'a>(arn: &'a str, kind: &str) -> Option<(&'a str, &'a str, String)> {
    let resource = Arns::resource_of(arn)?.strip_prefix(kind)?.strip_prefix('/')?;
    let mut parts = resource.splitn(3, '/');
    let (cluster, service, digits) = (parts.next()?, parts.next()?, parts.next()?);
    Some((cluster, service, format!("ecs-svc/{digits}")))
}

fn describe(
    store: &Store,
    arns: Vec<String>,
    kind: &str,
    member: &str,
    render: impl Fn(&Named, &DeploymentRecord) -> EcsResult<Value>,
) -> EcsResult<Value> {
    if arns.is_empty() || arns.len() > 20 {
        return Err(EcsError::invalid(format!("{member} can have between 1 and 20 items.")));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in arns {
        let hit = parse_arn(&arn, kind).and_then(|(cluster, service, id)| {
            let cell = store.cluster(cluster)?;
            let state: std::sync::MutexGuard<'_, ClusterState> = lock(&cell);
            let entry = state.services.get(service)?;
            let record = entry.scheduling.history.iter().find(|r| r.deployment.id == id)?;
            let named = Named { arns: &store.arns, cluster, service: entry };
            Some(render(&named, record))
        });
        match hit {
            Some(value) => found.push(value?),
            None => failures.push(json!({ "arn": arn, "reason": "MISSING" })),
        }
    }
    let mut out = serde_json::Map::new();
    out.insert(member.into(), json!(found));
    out.insert("failures".into(), json!(failures));
    Ok(Value::Object(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeDeploymentsInput {
    service_deployment_arns: Option<Vec<String>>,
}

pub fn describe_service_deployments(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeDeploymentsInput = parse(body)?;
    let arns = required(input.service_deployment_arns, "serviceDeploymentArns")?;
    describe(store, arns, "service-deployment", "serviceDeployments", |named, record| named.full(record))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeRevisionsInput {
    service_revision_arns: Option<Vec<String>>,
}

pub fn describe_service_revisions(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: DescribeRevisionsInput = parse(body)?;
    let arns = required(input.service_revision_arns, "serviceRevisionArns")?;
    describe(store, arns, "service-revision", "serviceRevisions", |named, record| named.revision(record, store))
}

fn deployment_not_found() -> EcsError {
    EcsError::new(ErrorKind::ServiceDeploymentNotFoundException, "The service deployment does not exist.")
}

/// The cluster, service and deployment id of a service deployment ARN that
/// names a deployment the emulator remembers.
fn known_deployment(
    store: &Store,
    arn: &str,
) -> EcsResult<(std::sync::Arc<std::sync::Mutex<ClusterState>>, String, String)> {
    let (cluster, service, id) = parse_arn(arn, "service-deployment")
        .ok_or_else(|| EcsError::invalid(format!("Invalid service deployment ARN: {arn}")))?;
    let cell = store.cluster(cluster).ok_or_else(deployment_not_found)?;
    let known =
        lock(&cell).services.get(service).is_some_and(|e| e.scheduling.history.iter().any(|r| r.deployment.id == id));
    if !known {
        return Err(deployment_not_found());
    }
    Ok((cell.clone(), service.to_owned(), id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopInput {
    service_deployment_arn: Option<String>,
    stop_type: Option<String>,
}

/// StopServiceDeployment: the deployment fails and, with ROLLBACK (the only
/// stop type ECS documents), the service rolls back to the deployment that
/// last completed, as the circuit breaker does; rolling and blue/green
/// deployments alike.
pub fn stop_service_deployment(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: StopInput = parse(body)?;
    let arn = required(input.service_deployment_arn, "serviceDeploymentArn")?;
    let stop_type = input.stop_type.unwrap_or_else(|| "ROLLBACK".into());
    if stop_type != "ROLLBACK" {
        return Err(EcsError::invalid(format!("Invalid stopType {stop_type}: the valid value is ROLLBACK.")));
    }
    let (cell, service, id) = known_deployment(store, &arn)?;
    let mut state = lock(&cell);
    let now = store.now();
    let mut events = Vec::new();
    let entry = state.services.get_mut(&service).ok_or_else(deployment_not_found)?;
    let in_progress = entry
        .service
        .deployments
        .iter()
        .any(|d| d.id == id && d.status == "PRIMARY" && d.rollout_state.as_deref() == Some("IN_PROGRESS"));
    let rolling_back = entry.scheduling.history.iter().any(|r| r.rollback_to.as_deref() == Some(id.as_str()));
    if !in_progress || rolling_back {
        return Err(EcsError::conflict("The service deployment is not in progress and cannot be stopped.", vec![arn]));
    }
    let trip = Trip {
        reason: "Service deployment stopped by StopServiceDeployment.".into(),
        cause: "stopped by request",
        rollback: true,
        by: "StopServiceDeployment",
    };
    fail_primary(entry, now, &trip, &mut events);
    for message in events {
        crate::emulator::sim::events::add_event(&mut entry.service, now, message);
    }
    let mut changes = store.changes();
    reconcile(store, &mut state, &service, &mut changes);
    store.persist(changes)?;
    Ok(json!({ "serviceDeploymentArn": arn }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContinueInput {
    service_deployment_arn: Option<String>,
    hook_id: Option<String>,
    action: Option<String>,
}

/// ContinueServiceDeployment: the verdict on a PAUSE lifecycle hook the
/// deployment waits at: CONTINUE goes on to the next stage, ROLLBACK rolls
/// back to blue.
pub fn continue_service_deployment(store: &Store, body: &[u8]) -> EcsResult<Value> {
    let input: ContinueInput = parse(body)?;
    let arn = required(input.service_deployment_arn, "serviceDeploymentArn")?;
    let hook = required(input.hook_id, "hookId")?;
    let action = input.action.unwrap_or_else(|| "CONTINUE".into());
    if action != "CONTINUE" && action != "ROLLBACK" {
        return Err(EcsError::invalid(format!("Invalid action {action}: use CONTINUE or ROLLBACK.")));
    }
    let (cell, service, id) = known_deployment(store, &arn)?;
    let mut state = lock(&cell);
    let mut changes = store.changes();
    let verdict = Verdict {
        service: &service,
        deployment: Some(&id),
        kind: "PAUSE",
        hook: Some(&hook),
        succeeded: action == "CONTINUE",
    };
    blue_green::decide(&mut state, &verdict)
        .map_err(|_| EcsError::invalid(format!("The lifecycle hook {hook} is not awaiting action.")))?;
    reconcile(store, &mut state, &service, &mut changes);
    store.persist(changes)?;
    Ok(json!({ "serviceDeploymentArn": arn }))
}
