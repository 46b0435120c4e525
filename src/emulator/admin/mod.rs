//! Admin endpoints outside ECS's namespace, under `/_emulator/`: what tests
//! and operators use to look at and steer the emulator. Bodies are JSON;
//! errors are `{"message": ...}` with status 400 (bad request) or 409 (not
//! possible in this mode).
//!
//! Partitions: the state is kept per (account, region). An endpoint that
//! acts on state acts on the partition its query names, `?region=&account=`,
//! each defaulting to `--region` and `--account-id` ([`scope`]); the clock,
//! ticks, stats, faults and throttling are the whole emulator's.
//!
//! | Endpoint | What it does |
//! |---|---|
//! | `GET /_emulator/health` | `{status, region, accountId, persistent, partitions: [{account, region}]}` (the default partition, and every partition made so far) |
//! | `POST /_emulator/reset` | drops every resource, failure rule, fault rule and alarm state (durably with `--state-dir`), in every partition (or only the one `?region=&account=` names); counters and throttling are kept |
//! | `GET /_emulator/state` | the partition's whole state as JSON, for debugging |
//! | `GET /_emulator/stats` | `{operation: requests}` since start or the last stats reset |
//! | `POST /_emulator/stats/reset` | zeroes the counters |
//! | `GET /_emulator/clock` | `{mode: "real"\|"manual", nowMillis}` |
//! | `POST /_emulator/clock/advance` | manual clock only: `{"seconds": 12.5}` or `{"millis": 12500}` moves time forward and does all the scheduler's work due on the way, each change at its own time; answers `{nowMillis, ticks, tasks, services}` |
//! | `POST /_emulator/tick` | does the work due at the current time (any clock) |
//! | `GET /_emulator/failure-rules` | the failure rules in force |
//! | `POST /_emulator/failure-rules` | adds a rule (see `failure_rules::FailureRule`): e.g. `{"family": "web", "exitCode": 1}`, `{"service": "api", "failHealthCheckAfterSeconds": 10}`, `{"image": "bad:tag", "cannotPull": true}`, `{"family": "web", "failTargetHealthCheck": true, "statusCode": 500}` (the load balancer's health checks of the tasks' targets fail; `failTargetHealthCheckAfterSeconds` delays it); applies to tasks created afterwards; answers the rule with its `id` |
//! | `DELETE /_emulator/failure-rules` | removes every rule (`?id=<id>` removes one) |
//! | `GET /_emulator/target-groups` | every target group with registered targets: `{"targetGroups": [{"targetGroupArn", "targets": [{"cluster", "service", "taskArn", "containerName", "containerPort", "port", "targetHealth": {"state": "initial"\|"healthy"\|"unhealthy"\|"draining", "reason"?, "description"?}}]}]}` |
//! | `POST /_emulator/tasks/kill` | `{"cluster"?, "task", "exitCode"?}`: the task's essential container exits (default 137); a service replaces the task |
//! | `POST /_emulator/container-instances/kill` | `{"cluster"?, "containerInstance"}`: the instance's host is gone: INACTIVE, agent disconnected, its tasks STOPPED (`InfrastructureHealth`), services reschedule |
//! | `POST /_emulator/spot/interrupt` | `{"cluster"?, "task"? \| "count"?, "warningSeconds"?}`: a Fargate Spot interruption of that task, or of the `count` oldest (default 1) RUNNING `FARGATE_SPOT` tasks of the cluster: each is told to stop at once (desiredStatus STOPPED, stopCode `SpotInterruption`, stoppedReason `Your Spot Task was interrupted.`) and its service starts a replacement by its capacity provider strategy, but the task keeps RUNNING through the warning (default 120 s, ECS's) before it stops; a task not on `FARGATE_SPOT` or not RUNNING is a 400; answers `{tasks, stopsAt}` |
//! | `GET /_emulator/alarms` | `{alarms: [{alarmName, state}]}`: the CloudWatch alarm states set so far (an alarm never set is not in ALARM) |
//! | `POST /_emulator/alarms` | `{"alarmName": "high-5xx", "state": "ALARM"\|"OK"\|"INSUFFICIENT_DATA"}`: stands in for CloudWatch for deployment alarms (`deploymentConfiguration.alarms`): while a service's deployment is IN_PROGRESS with its alarms enabled, a named alarm in ALARM fails it (`deployment failed: alarm detected.`) and, with `rollback`, rolls back as the circuit breaker does; services watching the alarm look at once; in memory only, cleared by reset; answers `{alarmName, state, servicesChecked}` |
//! | `GET /_emulator/secrets` | `{secrets: [{valueFrom}]}`: the references a value was put under (never the values) |
//! | `POST /_emulator/secrets` | `{"valueFrom": "arn:aws:secretsmanager:…:secret:db-AbCdEf" \| "arn:aws:ssm:…:parameter/name" \| "/name", "value": "…"}`: stands in for Secrets Manager and SSM Parameter Store: the Docker runtime resolves a container's `secrets[].valueFrom` from these (a Secrets Manager reference with `:json-key::` picks one key of a JSON value; an SSM parameter by name or ARN); an unknown reference fails the task with ECS's `ResourceInitializationError`; durable with `--state-dir`, cleared by reset |
//! | `GET /_emulator/faults` | `{rules, throttling}` |
//! | `POST /_emulator/faults` | adds a fault rule (see `faults::FaultRule`): `{"operation"?: "DescribeServices" (absent or "*": all), "kind": "throttle"\|"serverError"\|"latency", "rate"?: 0.2, "count"?: 3, "latencyMillis"?: 500}`; answers the rule with its `id` |
//! | `DELETE /_emulator/faults` | removes every fault rule (`?id=<id>` removes one) |
//! | `GET /_emulator/subnets?ids=subnet-a,subnet-b` | `{subnets: [{subnetId, availabilityZone, cidrBlock}]}`: where the emulator puts awsvpc tasks' ENIs, with no setup: a subnet id ending in `-az-<letter>` is in `<region><letter>`, any other in zone a, b or c by a stable hash of the id (see `awsvpc`) |
//! | `POST /_emulator/metrics` | `{"cluster"?: "demo" (default "default"), "service": "web", "cpu"?: 90, "memory"?: 40, "requestCountPerTarget"?: 1200, "curve"?: [{"at": 0, "cpu": 30}, {"at": 300, "cpu": 85}]}`: the load on a service's simulated tasks, as CloudWatch's service averages (percent; requests per target per minute): a value from now on, or a step curve of points `at` seconds from now (each holds until the next, the last one forever); each metric given replaces that metric's load. Application Auto Scaling's target tracking reads it once a minute, and CloudWatch's `AWS/ECS` metrics are sampled from it at each minute boundary (each RUNNING task of the service carries it). In memory only, cleared by reset; answers the service's loads |
//! | `GET /_emulator/metrics` | `{loads: [{cluster, service, metric: "cpu"\|"memory"\|"requestCountPerTarget", sinceMillis, points: [{at, value}], value}]}`: every load set, with its `value` now (absent before the first point) |
//! | `POST /_emulator/autoscaling/alarm` | `{"resourceId": "service/demo/web", "policyName": "step-out", "breach"?: 12.5, "alarmName"?: "cpu-high"}`: stands in for the CloudWatch alarm that invokes a step scaling policy: the alarm is in ALARM with the metric `breach` past its threshold (metric − threshold; default 0), so the step holding it is applied, within min/max, the policy's `Cooldown` and `SuspendedState`; answers `{desiredCount, activity, reason}` |
//! | `POST /_emulator/lifecycle-hooks` | `{"cluster"?, "service": "web", "hookId"?: "<hook id or Lambda ARN>", "hookStatus": "SUCCEEDED"\|"FAILED"}`: stands in for the Lambda functions of a blue/green, linear or canary deployment's AWS_LAMBDA lifecycle hooks (`deploymentConfiguration.lifecycleHooks`): the deployment waits at a stage until each of its hooks succeeded; FAILED rolls it back. Applies to the matching hooks (all when no `hookId`) the service's deployment waits at; 409 when none waits; answers `{hooks}` |
//! | `GET /_emulator/console/` | the console: HTML pages that draw the state for people, a service's deployments on a timeline (see `crate::emulator::console`, served beside these routes) |
//! | `POST /_emulator/throttling` | `{"enabled": true}`: ECS's token buckets per API category (as `--throttling`) |

pub mod scope;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::emulator::server::faults::{FaultKind, FaultRule};
use crate::emulator::server::{App, json_response};
use crate::emulator::sim::scheduler::{ClockError, advance, tick_all as run_tick};
use crate::emulator::state::failure_rules::FailureRule;
use crate::emulator::state::ids::{id_of, uuid, with_rng};
use crate::emulator::state::loads::{Load, Metric};
use crate::emulator::state::{Store, read, write};
use scope::{Scoped, ScopedOrAll};

/// The admin routes, each next to its handler below.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/_emulator/health", get(health))
        .route("/_emulator/reset", post(reset))
        .route("/_emulator/state", get(state))
        .route("/_emulator/stats", get(stats))
        .route("/_emulator/stats/reset", post(reset_stats))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance_clock))
        .route("/_emulator/tick", post(tick))
        .route("/_emulator/failure-rules", get(failure_rules).post(add_failure_rule).delete(delete_failure_rules))
        .route("/_emulator/tasks/kill", post(kill_task))
        .route("/_emulator/target-groups", get(target_groups))
        .route("/_emulator/container-instances/kill", post(kill_instance))
        .route("/_emulator/spot/interrupt", post(interrupt_spot))
        .route("/_emulator/alarms", get(alarms).post(set_alarm))
        .route("/_emulator/secrets", get(secrets).post(put_secret))
        .route("/_emulator/faults", get(faults).post(add_fault).delete(delete_faults))
        .route("/_emulator/throttling", post(set_throttling))
        .route("/_emulator/metrics", get(loads).post(set_load))
        .route("/_emulator/autoscaling/alarm", post(step_alarm))
        .route("/_emulator/subnets", get(subnets))
        .route("/_emulator/lifecycle-hooks", post(lifecycle_hook_verdict))
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    json_response(400, &json!({ "message": message.to_string() }))
}

/// A response is the error: handlers answer it as is.
#[allow(clippy::result_large_err)]
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| bad_request(format!("invalid request body: {e}")))
}

/// `GET /_emulator/health`
pub async fn health(State(app): State<Arc<App>>) -> Response {
    json_response(
        200,
        &json!({
            "status": "ok",
            "region": app.store.arns.region,
            "accountId": app.store.arns.account_id,
            "persistent": app.store.journal().is_some(),
            "partitions": app.partitions.all().iter().map(|s| s.partition()).collect::<Vec<_>>(),
        }),
    )
}

/// `POST /_emulator/reset`: drops every resource (durably, with
/// `--state-dir`) and every failure rule, in every partition or in the one
/// `?region=&account=` names. Counters are kept; see [`reset_stats`].
pub async fn reset(State(app): State<Arc<App>>, ScopedOrAll(stores): ScopedOrAll) -> Response {
    app.faults.remove(None);
    for store in stores {
        write(&store.failure_rules).clear();
        write(&store.logs).groups.clear();
        store.alarms.clear();
        if let Err(err) = store.reset() {
            return json_response(err.kind.http_status(), &err.body());
        }
    }
    json_response(200, &json!({ "reset": true }))
}

/// `GET /_emulator/state`: the whole state as JSON, for debugging.
pub async fn state(Scoped(store): Scoped) -> Response {
    match serde_json::to_value(store.dump()) {
        Ok(dump) => json_response(200, &dump),
        Err(e) => json_response(500, &json!({ "message": e.to_string() })),
    }
}

/// `GET /_emulator/stats`: `{operation: requests}` since start or last reset.
pub async fn stats(State(app): State<Arc<App>>) -> Response {
    json_response(200, &serde_json::Value::Object(app.stats.snapshot()))
}

/// `POST /_emulator/stats/reset`: zeroes the counters.
pub async fn reset_stats(State(app): State<Arc<App>>) -> Response {
    app.stats.clear();
    json_response(200, &json!({ "reset": true }))
}

/// `GET /_emulator/clock`
pub async fn clock(State(app): State<Arc<App>>) -> Response {
    let mode = if app.store.clock.manual().is_some() { "manual" } else { "real" };
    json_response(200, &json!({ "mode": mode, "nowMillis": app.store.clock.now_millis() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceInput {
    seconds: Option<f64>,
    millis: Option<i64>,
}

/// `POST /_emulator/clock/advance`
pub async fn advance_clock(State(app): State<Arc<App>>, bytes: Bytes) -> Response {
    let input: AdvanceInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let millis = match (input.seconds, input.millis) {
        (Some(s), None) if s.is_finite() => (s * 1000.0).round() as i64,
        (None, Some(ms)) => ms,
        _ => return bad_request("give exactly one of \"seconds\" or \"millis\""),
    };
    let app2 = app.clone();
    let result = tokio::task::spawn_blocking(move || advance(&app2.partitions, millis)).await;
    match result {
        Ok(Ok(report)) => json_response(200, &serde_json::to_value(report).unwrap_or(Value::Null)),
        Ok(Err(e @ ClockError::NotManual)) => json_response(409, &json!({ "message": e.to_string() })),
        Ok(Err(e)) => bad_request(e),
        Err(e) => json_response(500, &json!({ "message": e.to_string() })),
    }
}

/// `POST /_emulator/tick`
pub async fn tick(State(app): State<Arc<App>>) -> Response {
    let report = run_tick(&app.partitions);
    json_response(200, &serde_json::to_value(report).unwrap_or(Value::Null))
}

/// `GET /_emulator/failure-rules`
pub async fn failure_rules(Scoped(store): Scoped) -> Response {
    let rules = read(&store.failure_rules).clone();
    json_response(200, &json!({ "rules": rules }))
}

/// `POST /_emulator/failure-rules`
pub async fn add_failure_rule(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let mut rule: FailureRule = match body(&bytes) {
        Ok(rule) => rule,
        Err(response) => return response,
    };
    if !rule.has_effect() {
        return bad_request(
            "a rule needs an effect: exitCode, exitAfterSeconds, failHealthCheckAfterSeconds, cannotPull, failTargetHealthCheck or failTargetHealthCheckAfterSeconds",
        );
    }
    rule.id = with_rng(store.rng.as_ref(), uuid);
    write(&store.failure_rules).push(rule.clone());
    json_response(200, &serde_json::to_value(rule).unwrap_or(Value::Null))
}

#[derive(Deserialize)]
pub struct RuleQuery {
    id: Option<String>,
}

/// `DELETE /_emulator/failure-rules[?id=...]`
pub async fn delete_failure_rules(Scoped(store): Scoped, Query(query): Query<RuleQuery>) -> Response {
    let mut rules = write(&store.failure_rules);
    let before = rules.len();
    match &query.id {
        Some(id) => rules.retain(|r| &r.id != id),
        None => rules.clear(),
    }
    json_response(200, &json!({ "removed": before - rules.len() }))
}

/// `GET /_emulator/target-groups`
pub async fn target_groups(Scoped(store): Scoped) -> Response {
    json_response(200, &crate::emulator::sim::load_balancers::snapshot(&store))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KillTaskInput {
    cluster: Option<String>,
    task: String,
    exit_code: Option<i32>,
}

/// `POST /_emulator/tasks/kill`
pub async fn kill_task(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: KillTaskInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let store: &Store = &store;
    let result = with_rng(store.rng.as_ref(), || {
        crate::emulator::sim::chaos::kill_task(
            store,
            input.cluster.as_deref(),
            id_of(&input.task),
            input.exit_code.unwrap_or(137),
        )
    });
    match result {
        Ok(task) => json_response(200, &json!({ "task": task })),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KillInstanceInput {
    cluster: Option<String>,
    container_instance: String,
}

/// `POST /_emulator/container-instances/kill`
pub async fn kill_instance(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: KillInstanceInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let store: &Store = &store;
    let result = with_rng(store.rng.as_ref(), || {
        crate::emulator::sim::chaos::kill_instance(store, input.cluster.as_deref(), id_of(&input.container_instance))
    });
    match result {
        Ok(instance) => json_response(200, &json!({ "containerInstance": instance })),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SpotInterruptInput {
    cluster: Option<String>,
    task: Option<String>,
    count: Option<usize>,
    warning_seconds: Option<f64>,
}

/// `POST /_emulator/spot/interrupt`
pub async fn interrupt_spot(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: SpotInterruptInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let target = match (input.task, input.count) {
        (Some(_), Some(_)) => return bad_request("give \"task\" or \"count\", not both"),
        (Some(task), None) => crate::emulator::sim::spot::Target::Task(id_of(&task).to_owned()),
        (None, Some(0)) => return bad_request("count must be at least 1"),
        (None, count) => crate::emulator::sim::spot::Target::Count(count.unwrap_or(1)),
    };
    let warning = match input.warning_seconds {
        None => store.timings.spot_warning,
        Some(s) if s.is_finite() && s >= 0.0 => (s * 1000.0).round() as i64,
        Some(_) => return bad_request("warningSeconds must be a number of seconds, 0 or more"),
    };
    let store: &Store = &store;
    let result = with_rng(store.rng.as_ref(), || {
        crate::emulator::sim::spot::interrupt(store, input.cluster.as_deref(), &target, warning)
    });
    match result {
        Ok(answer) => json_response(200, &answer),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

/// `GET /_emulator/alarms`
pub async fn alarms(Scoped(store): Scoped) -> Response {
    let alarms: Vec<Value> =
        store.alarms.all().into_iter().map(|(name, state)| json!({ "alarmName": name, "state": state })).collect();
    json_response(200, &json!({ "alarms": alarms }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AlarmInput {
    alarm_name: String,
    state: crate::emulator::state::alarms::AlarmState,
}

/// `POST /_emulator/alarms`
pub async fn set_alarm(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: AlarmInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    if input.alarm_name.is_empty() || input.alarm_name.chars().count() > 255 {
        return bad_request("alarmName must have 1 to 255 characters");
    }
    let store: &Store = &store;
    let result = with_rng(store.rng.as_ref(), || {
        crate::emulator::sim::chaos::set_alarm_state(store, &input.alarm_name, input.state)
    });
    match result {
        Ok(checked) => json_response(
            200,
            &json!({ "alarmName": input.alarm_name, "state": input.state, "servicesChecked": checked }),
        ),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

/// `GET /_emulator/secrets`
pub async fn secrets(Scoped(store): Scoped) -> Response {
    let list: Vec<Value> =
        read(&store.secrets).values.keys().map(|value_from| json!({ "valueFrom": value_from })).collect();
    json_response(200, &json!({ "secrets": list }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SecretInput {
    value_from: String,
    value: String,
}

/// `POST /_emulator/secrets`
pub async fn put_secret(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: SecretInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    if input.value_from.is_empty() || input.value_from.len() > 2048 {
        return bad_request("valueFrom must have 1 to 2048 characters");
    }
    // Secrets Manager's limit on a secret's value.
    if input.value.len() > 65_536 {
        return bad_request("value must have at most 65536 bytes");
    }
    match store.put_secret(&input.value_from, &input.value) {
        Ok(()) => json_response(200, &json!({ "valueFrom": input.value_from })),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

/// `GET /_emulator/faults`
pub async fn faults(State(app): State<Arc<App>>) -> Response {
    json_response(200, &json!({ "rules": app.faults.rules(), "throttling": app.faults.throttling() }))
}

/// `POST /_emulator/faults`
pub async fn add_fault(State(app): State<Arc<App>>, bytes: Bytes) -> Response {
    let mut rule: FaultRule = match body(&bytes) {
        Ok(rule) => rule,
        Err(response) => return response,
    };
    if !(0.0..=1.0).contains(&rule.rate) {
        return bad_request("rate must be between 0 and 1");
    }
    if let Some(op) = rule.operation.as_deref()
        && op != "*"
        && !crate::emulator::api::counter_names().iter().any(|name| name == op)
    {
        return bad_request(format!("unknown operation {op:?}"));
    }
    if rule.kind == FaultKind::Latency && rule.latency_millis.is_none() {
        return bad_request("a latency rule needs latencyMillis");
    }
    rule.id = with_rng(app.store.rng.as_ref(), uuid);
    app.faults.add(rule.clone());
    json_response(200, &serde_json::to_value(rule).unwrap_or(Value::Null))
}

/// `DELETE /_emulator/faults[?id=...]`
pub async fn delete_faults(State(app): State<Arc<App>>, Query(query): Query<RuleQuery>) -> Response {
    json_response(200, &json!({ "removed": app.faults.remove(query.id.as_deref()) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottlingInput {
    enabled: bool,
}

/// `POST /_emulator/throttling`
pub async fn set_throttling(State(app): State<Arc<App>>, bytes: Bytes) -> Response {
    let input: ThrottlingInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    app.faults.set_throttling(input.enabled);
    json_response(200, &json!({ "throttling": input.enabled }))
}

/// `region` and `account` may be in the query too ([`Scoped`]).
#[derive(Deserialize)]
pub struct SubnetQuery {
    /// Comma-separated subnet ids.
    #[serde(default)]
    ids: String,
}

/// `GET /_emulator/subnets?ids=...`: each subnet's zone and block, as the
/// emulator derives them from the id.
pub async fn subnets(Scoped(store): Scoped, Query(query): Query<SubnetQuery>) -> Response {
    let region = &store.arns.region;
    let subnets: Vec<Value> = query
        .ids
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| {
            json!({
                "subnetId": id,
                "availabilityZone": crate::emulator::rules::awsvpc::availability_zone(region, id),
                "cidrBlock": crate::emulator::rules::awsvpc::cidr_block(id),
            })
        })
        .collect();
    json_response(200, &json!({ "subnets": subnets }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoadPoint {
    at: f64,
    cpu: Option<f64>,
    memory: Option<f64>,
    request_count_per_target: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LoadInput {
    cluster: Option<String>,
    service: String,
    cpu: Option<f64>,
    memory: Option<f64>,
    request_count_per_target: Option<f64>,
    #[serde(default)]
    curve: Vec<LoadPoint>,
}

fn render_loads(store: &Store, only: Option<(&str, &str)>) -> Value {
    let now = store.now();
    let list: Vec<Value> = store
        .loads
        .all()
        .into_iter()
        .filter(|((c, s), _)| only.is_none_or(|(oc, os)| oc == c && os == s))
        .flat_map(|((cluster, service), metrics)| {
            metrics.into_iter().map(move |(metric, load)| {
                let points: Vec<Value> =
                    load.points.iter().map(|(at, v)| json!({ "at": *at as f64 / 1000.0, "value": v })).collect();
                let mut out = json!({
                    "cluster": cluster, "service": service, "metric": metric,
                    "sinceMillis": load.since.0, "points": points,
                });
                if let Some(v) = load.at(now) {
                    out["value"] = json!(v);
                }
                out
            })
        })
        .collect();
    json!({ "loads": list })
}

/// `GET /_emulator/metrics`
pub async fn loads(Scoped(store): Scoped) -> Response {
    json_response(200, &render_loads(&store, None))
}

/// `POST /_emulator/metrics`
pub async fn set_load(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: LoadInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let cluster = input.cluster.unwrap_or_else(|| "default".into());
    if input.service.is_empty() {
        return bad_request("service must name a service");
    }
    let now = store.now();
    let mut by_metric: std::collections::BTreeMap<Metric, Vec<(i64, f64)>> = Default::default();
    for (metric, value) in [
        (Metric::Cpu, input.cpu),
        (Metric::Memory, input.memory),
        (Metric::RequestCountPerTarget, input.request_count_per_target),
    ] {
        if let Some(v) = value {
            by_metric.entry(metric).or_default().push((0, v));
        }
    }
    for point in &input.curve {
        if !point.at.is_finite() || point.at < 0.0 {
            return bad_request("a curve point's \"at\" must be a number of seconds, 0 or more");
        }
        let at = (point.at * 1000.0).round() as i64;
        for (metric, value) in [
            (Metric::Cpu, point.cpu),
            (Metric::Memory, point.memory),
            (Metric::RequestCountPerTarget, point.request_count_per_target),
        ] {
            if let Some(v) = value {
                by_metric.entry(metric).or_default().push((at, v));
            }
        }
    }
    if by_metric.is_empty() {
        return bad_request("give a load: cpu, memory, requestCountPerTarget or a curve of them");
    }
    for (metric, mut points) in by_metric {
        if points.iter().any(|(_, v)| !v.is_finite() || *v < 0.0) {
            return bad_request("loads must be numbers, 0 or more");
        }
        points.sort_by_key(|(at, _)| *at);
        store.loads.set(&cluster, &input.service, metric, Load { since: now, points });
    }
    json_response(200, &render_loads(&store, Some((&cluster, &input.service))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StepAlarmInput {
    resource_id: String,
    policy_name: String,
    breach: Option<f64>,
    alarm_name: Option<String>,
}

/// `POST /_emulator/autoscaling/alarm`
pub async fn step_alarm(Scoped(store): Scoped, bytes: Bytes) -> Response {
    let input: StepAlarmInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let breach = input.breach.unwrap_or(0.0);
    if !breach.is_finite() {
        return bad_request("breach must be a number");
    }
    let alarm = input.alarm_name.unwrap_or_else(|| format!("{}-alarm", input.policy_name));
    let store: &Store = &store;
    let result = with_rng(store.rng.as_ref(), || {
        crate::emulator::sim::autoscaling::trigger_step(store, &input.resource_id, &input.policy_name, breach, &alarm)
    });
    match result {
        Ok(outcome) => json_response(200, &serde_json::to_value(outcome).unwrap_or(Value::Null)),
        Err(err) => json_response(err.kind.http_status(), &err.body()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HookVerdictInput {
    cluster: Option<String>,
    service: String,
    hook_id: Option<String>,
    hook_status: String,
}

/// `POST /_emulator/lifecycle-hooks`
pub async fn lifecycle_hook_verdict(State(app): State<Arc<App>>, bytes: Bytes) -> Response {
    use crate::emulator::sim::blue_green::VerdictError;
    use crate::emulator::sim::chaos::lambda_verdict;
    let input: HookVerdictInput = match body(&bytes) {
        Ok(input) => input,
        Err(response) => return response,
    };
    let succeeded = match input.hook_status.as_str() {
        "SUCCEEDED" => true,
        "FAILED" => false,
        other => return bad_request(format!("hookStatus must be SUCCEEDED or FAILED, not {other:?}")),
    };
    let store = &app.store;
    let service = crate::emulator::state::ids::service_name_of(&input.service);
    let result = with_rng(store.rng.as_ref(), || {
        lambda_verdict(store, input.cluster.as_deref(), service, input.hook_id.as_deref(), succeeded)
    });
    match result {
        Ok(hooks) => json_response(200, &json!({ "hooks": hooks })),
        Err(VerdictError::Ecs(err)) => json_response(err.kind.http_status(), &err.body()),
        Err(err) => json_response(409, &json!({ "message": err.to_string() })),
    }
}
