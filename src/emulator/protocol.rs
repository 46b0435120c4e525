//! ECS's wire protocol (AWS JSON 1.1): `POST /` with the operation in
//! `X-Amz-Target`, JSON in and out, errors as `{"__type", "message"}`.
//!
//! This module owns routing from the target header to an operation, decoding
//! of request bodies into typed inputs (naming the member that is wrong), the
//! per-operation request counters, and turning every outcome, including a
//! panic, into a well-formed ECS response.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{EcsError, EcsResult, ErrorKind};
use super::state::Store;
use super::state::ids::{uuid, with_rng};
use super::{attributes, clusters, container_instances, service_deployments, services, tags, task_definitions, tasks};

/// The `X-Amz-Target` prefix of ECS's API version 2014-11-13.
pub const TARGET_PREFIX: &str = "AmazonEC2ContainerServiceV20141113.";
/// ECS's JSON content type.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// Request bodies above this are refused unread: ECS's largest inputs (a
/// 64 KiB task definition) fit many times over, and it bounds memory per request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A serialized success body. Hot operations serialize their records
/// straight into it; the others build a `Value` first.
#[derive(Debug)]
pub struct Reply(pub Vec<u8>);

impl Reply {
    pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> EcsResult<Self> {
        serde_json::to_vec(value)
            .map(Reply)
            .map_err(|e| EcsError::server(format!("could not encode the response: {e}")))
    }
}

impl From<Value> for Reply {
    fn from(value: Value) -> Self {
        Reply(serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec()))
    }
}

type Handler = fn(&Store, &[u8]) -> EcsResult<Reply>;

/// Adapts an operation that answers with a `Value`.
macro_rules! value_op {
    ($f:path) => {
        |store: &Store, body: &[u8]| $f(store, body).map(Reply::from)
    };
}

/// Every operation this emulator serves, by ECS's operation name.
pub const OPERATIONS: &[(&str, Handler)] = &[
    ("CreateCluster", value_op!(clusters::create_cluster)),
    ("DescribeClusters", clusters::describe_clusters),
    ("ListClusters", clusters::list_clusters),
    ("UpdateCluster", value_op!(clusters::update_cluster)),
    ("UpdateClusterSettings", value_op!(clusters::update_cluster_settings)),
    ("DeleteCluster", value_op!(clusters::delete_cluster)),
    ("RegisterTaskDefinition", value_op!(task_definitions::register_task_definition)),
    ("DescribeTaskDefinition", task_definitions::describe_task_definition),
    ("ListTaskDefinitions", value_op!(task_definitions::list_task_definitions)),
    ("ListTaskDefinitionFamilies", value_op!(task_definitions::list_task_definition_families)),
    ("DeregisterTaskDefinition", value_op!(task_definitions::deregister_task_definition)),
    ("DeleteTaskDefinitions", value_op!(task_definitions::delete_task_definitions)),
    ("CreateService", value_op!(services::create_service)),
    ("DescribeServices", services::describe_services),
    ("ListServices", services::list_services),
    ("UpdateService", services::update_service),
    ("DeleteService", value_op!(services::delete_service)),
    ("ListServiceDeployments", value_op!(service_deployments::list_service_deployments)),
    ("DescribeServiceDeployments", value_op!(service_deployments::describe_service_deployments)),
    ("DescribeServiceRevisions", value_op!(service_deployments::describe_service_revisions)),
    ("RunTask", tasks::run_task),
    ("StartTask", value_op!(tasks::start_task)),
    ("StopTask", tasks::stop_task),
    ("DescribeTasks", tasks::describe_tasks),
    ("ListTasks", tasks::list_tasks),
    ("RegisterContainerInstance", value_op!(container_instances::register_container_instance)),
    ("DeregisterContainerInstance", value_op!(container_instances::deregister_container_instance)),
    ("DescribeContainerInstances", value_op!(container_instances::describe_container_instances)),
    ("ListContainerInstances", value_op!(container_instances::list_container_instances)),
    ("UpdateContainerInstancesState", value_op!(container_instances::update_container_instances_state)),
    ("PutAttributes", value_op!(attributes::put_attributes)),
    ("ListAttributes", value_op!(attributes::list_attributes)),
    ("DeleteAttributes", value_op!(attributes::delete_attributes)),
    ("TagResource", value_op!(tags::tag_resource)),
    ("UntagResource", value_op!(tags::untag_resource)),
    ("ListTagsForResource", value_op!(tags::list_tags_for_resource)),
];

/// ECS operations that exist in the model but that this emulator does not
/// implement: they get `UnsupportedFeatureException`, never a silent success.
pub const UNSUPPORTED_OPERATIONS: &[&str] = &[
    "AssociateGatewayWithCluster",
    "ContinueServiceDeployment",
    "CreateCapacityProvider",
    "CreateDaemon",
    "CreateExpressGatewayService",
    "CreateGateway",
    "CreateTaskSet",
    "DeleteAccountSetting",
    "DeleteCapacityProvider",
    "DeleteDaemon",
    "DeleteDaemonTaskDefinition",
    "DeleteExpressGatewayService",
    "DeleteGateway",
    "DeleteTaskSet",
    "DescribeCapacityProviders",
    "DescribeDaemon",
    "DescribeDaemonDeployments",
    "DescribeDaemonRevisions",
    "DescribeDaemonTaskDefinition",
    "DescribeExpressGatewayService",
    "DescribeGateway",
    "DescribeGatewayResources",
    "DescribeGatewayRoute",
    "DescribeTaskSets",
    "DisassociateGatewayFromCluster",
    "DiscoverPollEndpoint",
    "ExecuteCommand",
    "GetTaskProtection",
    "ListAccountSettings",
    "ListDaemonDeployments",
    "ListDaemonTaskDefinitions",
    "ListDaemons",
    "ListGatewayClusterAssociations",
    "ListGatewayRoutes",
    "ListGateways",
    "ListServicesByNamespace",
    "PutAccountSetting",
    "PutAccountSettingDefault",
    "PutClusterCapacityProviders",
    "RegisterDaemonTaskDefinition",
    "StopServiceDeployment",
    "SubmitAttachmentStateChanges",
    "SubmitContainerStateChange",
    "SubmitTaskStateChange",
    "UpdateCapacityProvider",
    "UpdateContainerAgent",
    "UpdateDaemon",
    "UpdateExpressGatewayService",
    "UpdateGateway",
    "UpdateServicePrimaryTaskSet",
    "UpdateTaskProtection",
    "UpdateTaskSet",
];

/// Requests served per operation (successes and ECS errors alike).
#[derive(Debug)]
pub struct Stats {
    counts: Vec<AtomicU64>,
}

impl Default for Stats {
    fn default() -> Self {
        Self { counts: OPERATIONS.iter().map(|_| AtomicU64::new(0)).collect() }
    }
}

impl Stats {
    fn count(&self, index: usize) {
        self.counts[index].fetch_add(1, Ordering::Relaxed);
    }

    /// `{operation: count}` for every operation called at least once.
    pub fn snapshot(&self) -> serde_json::Map<String, Value> {
        OPERATIONS
            .iter()
            .zip(&self.counts)
            .filter_map(|((name, _), n)| {
                let n = n.load(Ordering::Relaxed);
                (n > 0).then(|| ((*name).to_owned(), Value::from(n)))
            })
            .collect()
    }

    pub fn clear(&self) {
        for n in &self.counts {
            n.store(0, Ordering::Relaxed);
        }
    }
}

/// Shared by every request.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub stats: Stats,
    /// Injected faults and ECS's throttling, checked before each operation.
    pub faults: super::faults::Faults,
}

/// Resolves the target header to an operation index.
fn operation(headers: &HeaderMap) -> Result<usize, EcsError> {
    let target = headers
        .get("x-amz-target")
        .ok_or_else(|| EcsError::new(ErrorKind::UnknownOperationException, "Missing X-Amz-Target header."))?
        .to_str()
        .map_err(|_| EcsError::new(ErrorKind::UnknownOperationException, "X-Amz-Target is not valid text."))?;
    let name = target.strip_prefix(TARGET_PREFIX).ok_or_else(|| {
        EcsError::new(
            ErrorKind::UnknownOperationException,
            format!("Unknown target '{target}': expected '{TARGET_PREFIX}<Operation>'."),
        )
    })?;
    if let Some(index) = OPERATIONS.iter().position(|(n, _)| *n == name) {
        return Ok(index);
    }
    if UNSUPPORTED_OPERATIONS.contains(&name) {
        return Err(EcsError::new(
            ErrorKind::UnsupportedFeatureException,
            format!("The operation {name} is not supported by this emulator."),
        ));
    }
    Err(EcsError::new(ErrorKind::UnknownOperationException, format!("Unknown operation '{name}'.")))
}

/// Serves one ECS request body into a status and JSON body bytes; never
/// panics (a panic becomes ServerException).
pub fn serve(app: &App, headers: &HeaderMap, body: &[u8]) -> (u16, Vec<u8>) {
    let result = with_rng(app.store.rng.as_ref(), || {
        operation(headers).and_then(|index| {
            app.stats.count(index);
            let (name, handler) = OPERATIONS[index];
            if let Some(fault) = app.faults.check(name, app.store.now().0) {
                return Err(fault);
            }
            catch_unwind(AssertUnwindSafe(|| handler(&app.store, body)))
                .unwrap_or_else(|_| Err(EcsError::server("Internal error while serving the request.")))
        })
    });
    match result {
        Ok(reply) => (200, reply.0),
        Err(err) => (err.kind.http_status(), Reply::from(err.body()).0),
    }
}

/// [`serve`] with the body parsed back into JSON (for tests and fuzzing).
pub fn handle(app: &App, headers: &HeaderMap, body: &[u8]) -> (u16, Value) {
    let (status, bytes) = serve(app, headers, body);
    let value = serde_json::from_slice(&bytes).unwrap_or_else(
        |e| serde_json::json!({ "__type": "ServerException", "message": format!("response is not JSON: {e}") }),
    );
    (status, value)
}

/// [`handle`] with the target given as text (what fuzzers and benchmarks
/// hold); a target that is not a valid header value counts as missing.
pub fn handle_target(app: &App, target: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut headers = HeaderMap::new();
    if let Some(value) = target.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("x-amz-target", value);
    }
    handle(app, &headers, body)
}

/// The axum handler for `POST /`.
pub async fn serve_ecs(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let operation =
        headers.get("x-amz-target").and_then(|t| t.to_str().ok()).and_then(|t| t.strip_prefix(TARGET_PREFIX));
    let delay = operation.and_then(|op| with_rng(app.store.rng.as_ref(), || app.faults.latency(op)));
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let (status, bytes) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => serve(&app, &headers, &bytes),
        Err(_) => {
            let err = EcsError::new(
                ErrorKind::SerializationException,
                format!("Request body could not be read or exceeds {MAX_BODY_BYTES} bytes."),
            );
            (err.kind.http_status(), Reply::from(err.body()).0)
        }
    };
    bytes_response(status, bytes)
}

/// A JSON 1.1 response with a request id, as ECS sends.
pub fn json_response(status: u16, value: &Value) -> Response {
    bytes_response(status, Reply::from(value.clone()).0)
}

fn bytes_response(status: u16, bytes: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&uuid()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// Anything that is not `POST /` or an admin endpoint.
pub async fn fallback() -> Response {
    let err = EcsError::new(
        ErrorKind::UnknownOperationException,
        "ECS is served at POST / with an X-Amz-Target header; admin endpoints are under /_emulator/.",
    );
    json_response(404, &err.body())
}

/// Decodes a request body into an operation's input. An empty body is `{}`.
/// Errors name the problem and, for a wrong member, its path.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> EcsResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_data() && path != "." {
            format!("Invalid value for member '{path}': {inner}")
        } else {
            format!("Request body is not a valid request: {inner}")
        };
        EcsError::new(ErrorKind::SerializationException, message)
    })?;
    de.end().map_err(|e| {
        EcsError::new(ErrorKind::SerializationException, format!("Trailing data after the JSON body: {e}"))
    })?;
    Ok(value)
}

/// Serializes an operation's output.
pub fn to_value<T: serde::Serialize>(value: &T) -> EcsResult<Value> {
    serde_json::to_value(value).map_err(|e| EcsError::server(format!("could not encode the response: {e}")))
}
