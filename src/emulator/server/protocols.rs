//! The protocols besides AWS JSON at `POST /`, for the services whose
//! models list them ([`crate::emulator::api::PROTOCOLS`]): Smithy RPC v2
//! CBOR at `POST /service/<Service>/operation/<Operation>` and the query
//! protocol (a form-encoded `POST /` without `X-Amz-Target`). Both bridge
//! their bodies to JSON ([`crate::emulator::wire::cbor`],
//! [`crate::emulator::wire::query`]); the server's routes (`serve_cbor`,
//! the query branch of `serve_ecs`) run the same handlers, counters and
//! faults as JSON on them and hand the outcome back here to answer. Also
//! the JSON answers' own headers: a service's JSON version, and the query
//! error code of an `awsQueryCompatible` service.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use crate::emulator::api::{Operation, PROTOCOLS};
use crate::emulator::state::ids::uuid;
use crate::emulator::wire::codec::Reply;
use crate::emulator::wire::error::{Dialect, EcsError, ErrorKind};
use crate::emulator::wire::protocols::{CBOR_CONTENT_TYPE, Protocols, Query, XML_CONTENT_TYPE};
use crate::emulator::wire::query::QueryRequest;
use crate::emulator::wire::{cbor, query};

/// What running an operation came to: its answer, or the error in the
/// dialect to write it in.
pub type Outcome = Result<Reply, (Dialect, EcsError)>;

/// The protocols of the service `op` belongs to.
fn of(op: &Operation) -> Option<&'static Protocols> {
    PROTOCOLS.iter().find(|p| p.target_prefix == op.service.target_prefix)
}

/// Sets a JSON answer's content type to its service's JSON version and,
/// for an error of an `awsQueryCompatible` service, `x-amzn-query-error`.
pub fn json_headers(op: Operation, error: Option<ErrorKind>, response: &mut Response) {
    let Some(protocols) = of(&op) else { return };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(protocols.json_content_type));
    if protocols.query_compatible {
        query_error_header(error, headers);
    }
}

fn query_error_header(error: Option<ErrorKind>, headers: &mut HeaderMap) {
    if let Some(value) = error.and_then(|kind| HeaderValue::from_str(&query::compatible_header(kind)).ok()) {
        headers.insert("x-amzn-query-error", value);
    }
}

/// The service served over CBOR as `service` (the path's `<Service>`).
pub fn cbor_service(service: &str) -> Option<&'static Protocols> {
    PROTOCOLS.iter().find(|p| p.cbor_service == Some(service))
}

/// The answer to a CBOR request for a service that is not served so.
pub fn cbor_unknown_service(service: &str) -> Response {
    let err = EcsError::new(
        ErrorKind::UnknownOperationException,
        format!("No service named '{service}' is served over Smithy RPC v2 CBOR."),
    );
    cbor_error(404, Dialect::ECS, &err, None)
}

/// Answers a CBOR request to `protocols`' service: `body` (or why it could
/// not be read) is decoded to JSON and given to `run`; a body that is not
/// CBOR is an error in `dialect`, the operation's.
pub fn cbor_reply(
    protocols: &Protocols,
    dialect: Dialect,
    body: Result<&[u8], EcsError>,
    run: impl FnOnce(&[u8]) -> Outcome,
) -> Response {
    let result = body
        .and_then(cbor::decode)
        .map_err(|err| (dialect, err))
        .and_then(|input| run(&serde_json::to_vec(&input).unwrap_or_default()));
    match result {
        Ok(reply) => {
            let output: Value = serde_json::from_slice(&reply.0).unwrap_or_else(|_| Value::Object(Default::default()));
            cbor_response(200, cbor::encode(&output, protocols.timestamps))
        }
        Err((dialect, err)) => {
            let kind = if err.kind == ErrorKind::ServerException { dialect.internal } else { err.kind };
            let compatible = protocols.query_compatible.then_some(kind);
            let (status, _) = dialect.render(&err);
            cbor_error(status, dialect, &err, compatible)
        }
    }
}

fn cbor_error(status: u16, dialect: Dialect, err: &EcsError, query_compatible: Option<ErrorKind>) -> Response {
    let (_, body) = dialect.render(err);
    let mut response = cbor_response(status, cbor::encode(&body, &[]));
    query_error_header(query_compatible, response.headers_mut());
    response
}

fn cbor_response(status: u16, bytes: Vec<u8>) -> Response {
    let mut response = respond(status, bytes, CBOR_CONTENT_TYPE, &uuid());
    response.headers_mut().insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    response
}

fn respond(status: u16, bytes: Vec<u8>, content_type: &'static str, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// A query request: a form body and no target header (checked first, so
/// the form post is not taken for JSON).
pub fn is_query(headers: &HeaderMap) -> bool {
    !headers.contains_key("x-amz-target")
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A query request, read: the service it is for and the operation's
/// `<Prefix>.<Operation>` target.
#[derive(Debug)]
pub struct QueryCall {
    pub request: QueryRequest,
    pub protocols: &'static Protocols,
    pub form: Query,
    pub action: String,
    pub target: String,
}

/// Reads a query request (`Action=<Operation>&Version=<date>&…`); an
/// unreadable one gets its XML error at once.
pub fn query_call(body: Result<&[u8], EcsError>) -> Result<QueryCall, Box<Response>> {
    // Where the request names no service, errors take the first one's namespace.
    let fallback_xmlns = PROTOCOLS.iter().find_map(|p| p.query).map_or("", |q| q.xmlns);
    let request = body.and_then(query::parse).map_err(|err| Box::new(xml_error(fallback_xmlns, &err)))?;
    let Some(version) = request.version.clone() else {
        let err = EcsError::new(ErrorKind::MissingRequiredParameterException, "The parameter Version is required.");
        return Err(Box::new(xml_error(fallback_xmlns, &err)));
    };
    let Some((protocols, form)) =
        PROTOCOLS.iter().find_map(|p| p.query.filter(|q| q.version == version).map(|q| (p, q)))
    else {
        let err = EcsError::new(
            ErrorKind::UnknownOperationException,
            format!("No service with API version '{version}' is served over the query protocol."),
        );
        return Err(Box::new(xml_error(fallback_xmlns, &err)));
    };
    let Some(action) = request.action.clone() else {
        let err = EcsError::new(ErrorKind::MissingRequiredParameterException, "The parameter Action is required.");
        return Err(Box::new(xml_error(form.xmlns, &err)));
    };
    let target = format!("{}{action}", protocols.target_prefix);
    Ok(QueryCall { request, protocols, form, action, target })
}

/// The query protocol's wording for an operation the service lacks.
pub fn invalid_action(call: &QueryCall, (dialect, err): (Dialect, EcsError)) -> (Dialect, EcsError) {
    if err.kind != ErrorKind::UnknownOperationException {
        return (dialect, err);
    }
    let message = format!("The action {} is not valid for this web service.", call.action);
    (dialect, EcsError::new(ErrorKind::UnknownOperationException, message))
}

/// Answers a query request in XML.
pub fn query_reply(call: &QueryCall, outcome: Outcome) -> Response {
    match outcome {
        Ok(reply) => {
            let output: Value = serde_json::from_slice(&reply.0).unwrap_or_else(|_| Value::Object(Default::default()));
            let request_id = uuid();
            let xml = query::answer(&call.action, call.form.xmlns, &output, call.protocols.timestamps, &request_id);
            xml_response(200, xml, &request_id)
        }
        Err((dialect, mut err)) => {
            if err.kind == ErrorKind::ServerException {
                err.kind = dialect.internal;
            }
            xml_error(call.form.xmlns, &err)
        }
    }
}

fn xml_error(xmlns: &str, err: &EcsError) -> Response {
    let request_id = uuid();
    let (status, xml) = query::error(xmlns, err, &request_id);
    xml_response(status, xml, &request_id)
}

fn xml_response(status: u16, xml: String, request_id: &str) -> Response {
    respond(status, xml.into_bytes(), XML_CONTENT_TYPE, request_id)
}
