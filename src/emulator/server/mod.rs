//! The HTTP front of the emulator: `POST /` with the operation in
//! `X-Amz-Target` (AWS JSON 1.1), resolved through the table of services
//! ([`crate::emulator::api::SERVICES`]) to a handler, with request faults
//! and ECS's throttling ([`faults`]) checked first, per-operation counters
//! ([`stats`]), and every outcome, a panic included, turned into a
//! well-formed response in the called service's error dialect.

pub mod auth;
pub mod body;
pub mod faults;
pub mod listener;
pub mod stats;
pub mod throttling;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::emulator::api::{Operation, SERVICES, Unresolved, resolve};
use crate::emulator::state::Store;
use crate::emulator::state::ids::{uuid, with_rng};
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::error::{Dialect, EcsError, ErrorKind};
use faults::Faults;
use listener::Limits;
use stats::Stats;

/// The JSON 1.1 content type every served service answers with.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Shared by every request.
#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub stats: Stats,
    /// Injected faults and ECS's throttling, checked before each operation.
    pub faults: Faults,
    /// With credentials configured, the signature every request must carry.
    pub guard: Option<Arc<auth::Guard>>,
    /// What one client may cost (body size and time; the listener holds the
    /// connection bounds).
    pub limits: Limits,
}

impl AsRef<Store> for App {
    fn as_ref(&self) -> &Store {
        &self.store
    }
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

/// Serves one request body into a status and JSON body bytes; never
/// panics (a panic becomes the service's internal error).
pub fn serve(app: &App, headers: &HeaderMap, body: &[u8]) -> (u16, Vec<u8>) {
    let result = with_rng(app.store.rng.as_ref(), || {
        let op = operation(headers)?;
        let fail = |err| (op.service.dialect, err);
        app.stats.count(op.index);
        if let Some(fault) = app.faults.check(app.stats.name(op.index), app.store.now().0) {
            return Err(fail(fault));
        }
        catch_unwind(AssertUnwindSafe(|| (op.handler)(&app.store, body)))
            .unwrap_or_else(|_| Err(EcsError::server("Internal error while serving the request.")))
            .map_err(fail)
    });
    match result {
        Ok(reply) => (200, reply.0),
        Err((dialect, err)) => {
            let (status, body) = dialect.render(&err);
            (status, Reply::from(body).0)
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
    let operation = headers.get("x-amz-target").and_then(|t| t.to_str().ok()).and_then(|t| resolve(t).ok());
    let delay =
        operation.and_then(|op| with_rng(app.store.rng.as_ref(), || app.faults.latency(app.stats.name(op.index))));
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let (status, bytes) = match body::read_body(request_body, &app.limits).await {
        Ok(bytes) => serve(&app, &headers, &bytes),
        Err(refusal) => {
            let err = refusal.error();
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
