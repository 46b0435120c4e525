//! The protocols besides AWS JSON at `POST /`, for the services whose
//! models list them ([`crate::emulator::api::PROTOCOLS`]): Smithy RPC v2
//! CBOR at `POST /service/<Service>/operation/<Operation>` and the query
//! protocol (a form-encoded `POST /` without `X-Amz-Target`). Both bridge
//! their bodies to JSON ([`crate::emulator::wire::cbor`],
//! [`crate::emulator::wire::query`]) and run the same handlers, counters
//! and faults as JSON ([`super::run`]). Also the JSON answers' own
//! headers: a service's JSON version, and the query error code of an
//! `awsQueryCompatible` service.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use serde_json::Value;

use super::{App, MAX_BODY_BYTES, bytes_response, injected_latency, operation_named, run, too_large};
use crate::emulator::api::{Operation, PROTOCOLS};
use crate::emulator::state::ids::uuid;
use crate::emulator::wire::error::{Dialect, EcsError, ErrorKind};
use crate::emulator::wire::protocols::{CBOR_CONTENT_TYPE, Protocols, XML_CONTENT_TYPE};
use crate::emulator::wire::{cbor, query};

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

/// `POST /service/<Service>/operation/<Operation>` (Smithy RPC v2 CBOR).
pub async fn serve_cbor(
    State(app): State<Arc<App>>,
    Path((service, name)): Path<(String, String)>,
    body: Body,
) -> Response {
    let Some(protocols) = PROTOCOLS.iter().find(|p| p.cbor_service == Some(service.as_str())) else {
        let err = EcsError::new(
            ErrorKind::UnknownOperationException,
            format!("No service named '{service}' is served over Smithy RPC v2 CBOR."),
        );
        return cbor_error(404, Dialect::ECS, &err, None);
    };
    let op = operation_named(&format!("{}{name}", protocols.target_prefix));
    injected_latency(&app, op.as_ref().ok().copied()).await;
    let result = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Err(_) => Err((Dialect::ECS, too_large())),
        Ok(bytes) => match cbor::decode(&bytes) {
            Ok(input) => run(&app, op, &serde_json::to_vec(&input).unwrap_or_default()),
            Err(err) => Err((op.map_or(Dialect::ECS, |op| op.service.dialect), err)),
        },
    };
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
    let mut response = bytes_response(status, bytes);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CBOR_CONTENT_TYPE));
    headers.insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    response
}

/// A query request: a form body and no target header.
pub fn is_query(headers: &HeaderMap) -> bool {
    !headers.contains_key("x-amz-target")
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// A query request, `Action=<Operation>&Version=<date>&…`, answered in
/// XML.
pub async fn serve_query(app: &App, body: Body) -> Response {
    // Where the request names no service, errors take the first one's namespace.
    let fallback_xmlns = PROTOCOLS.iter().find_map(|p| p.query).map_or("", |q| q.xmlns);
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return xml_error(fallback_xmlns, &too_large()),
    };
    let request = match query::parse(&bytes) {
        Ok(request) => request,
        Err(err) => return xml_error(fallback_xmlns, &err),
    };
    let Some(version) = request.version.as_deref() else {
        let err = EcsError::new(ErrorKind::MissingRequiredParameterException, "The parameter Version is required.");
        return xml_error(fallback_xmlns, &err);
    };
    let Some((protocols, form)) =
        PROTOCOLS.iter().find_map(|p| p.query.filter(|q| q.version == version).map(|q| (p, q)))
    else {
        let err = EcsError::new(
            ErrorKind::UnknownOperationException,
            format!("No service with API version '{version}' is served over the query protocol."),
        );
        return xml_error(fallback_xmlns, &err);
    };
    let Some(action) = request.action.as_deref() else {
        let err = EcsError::new(ErrorKind::MissingRequiredParameterException, "The parameter Action is required.");
        return xml_error(form.xmlns, &err);
    };
    let op = operation_named(&format!("{}{action}", protocols.target_prefix)).map_err(|(dialect, err)| {
        if err.kind == ErrorKind::UnknownOperationException {
            let message = format!("The action {action} is not valid for this web service.");
            (dialect, EcsError::new(ErrorKind::UnknownOperationException, message))
        } else {
            (dialect, err)
        }
    });
    injected_latency(app, op.as_ref().ok().copied()).await;
    match run(app, op, &serde_json::to_vec(&request.input).unwrap_or_default()) {
        Ok(reply) => {
            let output: Value = serde_json::from_slice(&reply.0).unwrap_or_else(|_| Value::Object(Default::default()));
            let request_id = uuid();
            xml_response(
                200,
                query::answer(action, form.xmlns, &output, protocols.timestamps, &request_id),
                &request_id,
            )
        }
        Err((dialect, mut err)) => {
            if err.kind == ErrorKind::ServerException {
                err.kind = dialect.internal;
            }
            xml_error(form.xmlns, &err)
        }
    }
}

fn xml_error(xmlns: &str, err: &EcsError) -> Response {
    let request_id = uuid();
    let (status, xml) = query::error(xmlns, err, &request_id);
    xml_response(status, xml, &request_id)
}

fn xml_response(status: u16, xml: String, request_id: &str) -> Response {
    let mut response = bytes_response(status, xml.into_bytes());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(XML_CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}
