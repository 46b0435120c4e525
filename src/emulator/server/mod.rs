//! The HTTP front of the emulator: `POST /` with the operation in
//! `X-Amz-Target` (AWS JSON 1.1), resolved through the table of services
//! ([`crate::emulator::api::SERVICES`]) to a handler, with request faults
//! and ECS's throttling ([`faults`]) checked first, per-operation counters
//! ([`stats`]), and every outcome, a panic included, turned into a
//! well-formed response in the called service's error dialect.
//!
//! Each request is served by the store of its partition ([`partition_of`]):
//! the region of its SigV4 credential scope and, when the access key id is
//! twelve digits, that account; the defaults (`--region`,
//! `--account-id`) otherwise. ECS requests naming an ECS ARN of another
//! partition are refused first ([`crate::emulator::rules::arn_scope`]).

pub mod auth;
pub mod body;
pub mod faults;
pub mod listener;
pub mod protocols;
pub mod stats;
pub mod throttling;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::emulator::api::ECS_TARGET_PREFIX;
use crate::emulator::api::{Operation, SERVICES, Unresolved, resolve};
use crate::emulator::rules::arn_scope;
use crate::emulator::state::ids::{uuid, with_rng};
use crate::emulator::state::partitions::{Partition, is_account_id, is_region};
use crate::emulator::state::{Partitions, Store};
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::error::{Dialect, EcsError, ErrorKind};
use crate::emulator::wire::protocols::Protocols;
use faults::Faults;
use listener::Limits;
use protocols::QueryCall;
use stats::Stats;

/// The JSON 1.1 content type every served service answers with.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Shared by every request.
#[derive(Debug)]
pub struct App {
    /// The default partition's store (`--account-id` in `--region`): what
    /// unsigned requests and the admin endpoints without
    /// `?region=&account=` see. It is also in [`Self::partitions`].
    pub store: Arc<Store>,
    /// Every (account, region) partition's store.
    pub partitions: Partitions,
    pub stats: Stats,
    /// Injected faults and ECS's throttling, checked before each operation.
    pub faults: Faults,
    /// With credentials configured, the signature every request must carry.
    pub guard: Option<Arc<auth::Guard>>,
    /// What one client may cost (body size and time; the listener holds the
    /// connection bounds).
    pub limits: Limits,
}

impl AsRef<Partitions> for App {
    fn as_ref(&self) -> &Partitions {
        &self.partitions
    }
}

/// The partition a request is in: its credential scope's region (when it
/// is a region's name) and, when its access key id is twelve digits, that
/// account (as LocalStack and moto read it); the defaults for the rest and
/// for unsigned requests. With `--access-key-id`, only that key passes the
/// signature check, so a twelve-digit configured key is both the key and
/// the account.
pub fn partition_of(partitions: &Partitions, headers: &HeaderMap) -> Partition {
    let mut partition = partitions.default_partition();
    if let Some((key, region)) = auth::caller(headers) {
        if is_account_id(key) {
            key.clone_into(&mut partition.account);
        }
        if is_region(region) {
            region.clone_into(&mut partition.region);
        }
    }
    partition
}

/// Resolves the target header to an operation; an error comes with the
/// dialect to write it in (the named service's, else ECS's).
fn operation(headers: &HeaderMap) -> Result<Operation, (Dialect, EcsError)> {
    let unknown = |message: String| (Dialect::ECS, EcsError::new(ErrorKind::UnknownOperationException, message));
    let target = headers
        .get("x-amz-target")
        .ok_or_else(|| unknown("Missing X-Amz-Target header.".into()))?
        .to_str()
        .map_err(|_| unknown("X-Amz-Target is not valid text.".into()))?;
    operation_named(target)
}

/// Resolves `<Prefix>.<Operation>` (a target header, or what another
/// protocol names the same way) to an operation.
pub fn operation_named(target: &str) -> Result<Operation, (Dialect, EcsError)> {
    let unknown = |message: String| (Dialect::ECS, EcsError::new(ErrorKind::UnknownOperationException, message));
    resolve(target).map_err(|why| match why {
        Unresolved::UnknownTarget => {
            let expected: Vec<String> = SERVICES.iter().map(|s| format!("'{}<Operation>'", s.target_prefix)).collect();
            unknown(format!("Unknown target '{target}': expected one of {}.", expected.join(", ")))
        }
        Unresolved::UnknownOperation(service) => {
            let name = &target[service.target_prefix.len()..];
            (
                service.dialect,
                EcsError::new(ErrorKind::UnknownOperationException, format!("Unknown operation '{name}'.")),
            )
        }
        Unresolved::Unsupported(service) => {
            let name = &target[service.target_prefix.len()..];
            (
                service.dialect,
                EcsError::new(
                    ErrorKind::UnsupportedFeatureException,
                    format!("The operation {name} is not supported by this emulator."),
                ),
            )
        }
    })
}

/// Runs a resolved operation on a JSON body: its counter, the faults in
/// force, the handler (a panic becomes the service's internal error).
pub fn run(
    app: &App,
    headers: &HeaderMap,
    op: Result<Operation, (Dialect, EcsError)>,
    body: &[u8],
) -> Result<Reply, (Dialect, EcsError)> {
    with_rng(app.store.rng.as_ref(), || {
        let op = op?;
        let fail = |err| (op.service.dialect, err);
        app.stats.count(op.index);
        if let Some(fault) = app.faults.check(app.stats.name(op.index), app.store.now().0) {
            return Err(fail(fault));
        }
        let partition = partition_of(&app.partitions, headers);
        if op.service.target_prefix == ECS_TARGET_PREFIX {
            arn_scope::check(body, &partition, op.name).map_err(fail)?;
        }
        let store = app.partitions.get(&partition);
        catch_unwind(AssertUnwindSafe(|| (op.handler)(&store, body)))
            .unwrap_or_else(|_| Err(EcsError::server("Internal error while serving the request.")))
            .map_err(fail)
    })
}

/// Waits out an injected latency fault on `op`, if one is in force.
pub async fn injected_latency(app: &App, op: Option<Operation>) {
    let delay = op.and_then(|op| with_rng(app.store.rng.as_ref(), || app.faults.latency(app.stats.name(op.index))));
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
}

/// Serves one request body into a status and JSON body bytes; never
/// panics (a panic becomes the service's internal error).
pub fn serve(app: &App, headers: &HeaderMap, body: &[u8]) -> (u16, Vec<u8>) {
    let (status, bytes, _) = serve_parts(app, headers, body);
    (status, bytes)
}

/// [`serve`], with the kind of the error answered, if one was.
fn serve_parts(app: &App, headers: &HeaderMap, body: &[u8]) -> (u16, Vec<u8>, Option<ErrorKind>) {
    match run(app, headers, operation(headers), body) {
        Ok(reply) => (200, reply.0, None),
        Err((dialect, err)) => {
            let (status, body) = dialect.render(&err);
            let kind = if err.kind == ErrorKind::ServerException { dialect.internal } else { err.kind };
            (status, Reply::from(body).0, Some(kind))
        }
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
    request_body: Body,
) -> Response {
    if protocols::is_query(&headers) {
        return serve_query(&app, &headers, request_body).await;
    }
    let operation = headers.get("x-amz-target").and_then(|t| t.to_str().ok()).and_then(|t| resolve(t).ok());
    injected_latency(&app, operation).await;
    let (status, bytes, kind) = match read(&app, request_body).await {
        Ok(bytes) => serve_parts(&app, &headers, &bytes),
        Err(err) => (err.kind.http_status(), Reply::from(err.body()).0, Some(err.kind)),
    };
    let mut response = bytes_response(status, bytes);
    if let Some(op) = operation {
        protocols::json_headers(op, kind, &mut response);
    }
    response
}

/// What the null baseline answers, and within which limits it reads.
#[derive(Debug)]
pub struct Fixed {
    pub limits: Limits,
    pub body: Vec<u8>,
}

/// The null baseline's `POST /` (`crate::emulator::baseline_router`): the
/// body read within the limits and parsed as JSON, then a fixed answer
/// through the same response path as [`serve_ecs`]'s, and nothing of ECS
/// (no operation, counter, lock or record). Benchmarks serve it beside the
/// emulator to read the emulator's throughput as a share of what the HTTP
/// stack alone serves on the same machine at the same moment.
pub async fn serve_fixed(
    axum::extract::State(fixed): axum::extract::State<Arc<Fixed>>,
    request_body: Body,
) -> Response {
    let read = body::read_body(request_body, &fixed.limits).await.map_err(|refusal| refusal.error());
    let parsed = read.and_then(|bytes| {
        serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| EcsError::new(ErrorKind::SerializationException, format!("Request body is not JSON: {e}")))
    });
    match parsed {
        Ok(_) => bytes_response(200, fixed.body.clone()),
        Err(err) => bytes_response(err.kind.http_status(), Reply::from(err.body()).0),
    }
}

/// `POST /service/<Service>/operation/<Operation>`: Smithy RPC v2 CBOR
/// for the services whose models list it ([`protocols`]).
pub async fn serve_cbor(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    axum::extract::Path((service, name)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    request_body: Body,
) -> Response {
    let Some(served) = protocols::cbor_service(&service) else { return protocols::cbor_unknown_service(&service) };
    let op = operation_named(&format!("{}{name}", served.target_prefix));
    injected_latency(&app, op.as_ref().ok().copied()).await;
    let bytes = read(&app, request_body).await;
    cbor_answer(&app, &headers, served, op, bytes.as_deref().map_err(EcsError::clone))
}

/// The answer to a CBOR request for `served` whose body is read (or
/// refused): [`serve_cbor`] after its latency fault, and the fuzzers.
pub fn cbor_answer(
    app: &App,
    headers: &HeaderMap,
    served: &Protocols,
    op: Result<Operation, (Dialect, EcsError)>,
    body: Result<&[u8], EcsError>,
) -> Response {
    let dialect = op.as_ref().map_or(Dialect::ECS, |op| op.service.dialect);
    protocols::cbor_reply(served, dialect, body, |input| run(app, headers, op, input))
}

/// A query-protocol request (a form post without a target), answered in XML.
async fn serve_query(app: &App, headers: &HeaderMap, request_body: Body) -> Response {
    let bytes = read(app, request_body).await;
    let (call, op) = match query_operation(bytes.as_deref().map_err(EcsError::clone)) {
        Ok(read) => read,
        Err(response) => return *response,
    };
    injected_latency(app, op.as_ref().ok().copied()).await;
    query_answer(app, headers, &call, op)
}

/// What a query request's body calls, or its XML error at once.
pub type QueryOperation = (QueryCall, Result<Operation, (Dialect, EcsError)>);

/// Reads a query request's body (or its refusal) into the call and the
/// operation it names.
pub fn query_operation(body: Result<&[u8], EcsError>) -> Result<QueryOperation, Box<Response>> {
    let call = protocols::query_call(body)?;
    let op = operation_named(&call.target).map_err(|e| protocols::invalid_action(&call, e));
    Ok((call, op))
}

/// Runs a read query request and answers it in XML: [`serve_query`] after
/// its latency fault, and the fuzzers.
pub fn query_answer(
    app: &App,
    headers: &HeaderMap,
    call: &QueryCall,
    op: Result<Operation, (Dialect, EcsError)>,
) -> Response {
    let input = serde_json::to_vec(&call.request.input).unwrap_or_default();
    protocols::query_reply(call, run(app, headers, op, &input))
}

/// A request's body within the listener's limits, or the refusal as an
/// AWS error.
async fn read(app: &App, request_body: Body) -> Result<axum::body::Bytes, EcsError> {
    body::read_body(request_body, &app.limits).await.map_err(|refusal| refusal.error())
}

/// A JSON 1.1 response with a request id, as ECS sends.
pub fn json_response(status: u16, value: &Value) -> Response {
    bytes_response(status, Reply::from(value.clone()).0)
}

/// A response with the JSON 1.1 content type and a request id.
pub fn bytes_response(status: u16, bytes: Vec<u8>) -> Response {
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
