//! What a served service looks like on the wire beyond AWS JSON at
//! `POST /`: the JSON version it answers with, whether it also speaks
//! Smithy RPC v2 CBOR ([`super::cbor`]) or the query protocol
//! ([`super::query`]), and the facts those need that JSON does not (which
//! members are timestamps, the XML namespace, the query error codes).
//! One row per service, next to the service table in `api/`.

/// The query protocol of a service.
#[derive(Debug, Clone, Copy)]
pub struct Query {
    /// The `Version` its requests carry (its API version).
    pub version: &'static str,
    /// The XML namespace of its answers.
    pub xmlns: &'static str,
}

/// How one service is reached, besides the `X-Amz-Target` JSON every
/// service has.
#[derive(Debug, Clone, Copy)]
pub struct Protocols {
    /// The service's `X-Amz-Target` prefix (its row in the service table).
    pub target_prefix: &'static str,
    /// The content type its JSON answers carry (`application/x-amz-json-1.0`
    /// or `-1.1`, its model's `jsonVersion`).
    pub json_content_type: &'static str,
    /// Smithy RPC v2 CBOR: the service's name in
    /// `POST /service/<name>/operation/<Operation>`.
    pub cbor_service: Option<&'static str>,
    /// The query protocol, when its model lists it.
    pub query: Option<Query>,
    /// The model's `awsQueryCompatible`: JSON and CBOR errors carry
    /// `x-amzn-query-error: <Code>;Sender`, the code the SDKs match on.
    pub query_compatible: bool,
    /// The members that are timestamps in its answers (a CBOR tag, ISO
    /// 8601 in XML; JSON writes epoch seconds).
    pub timestamps: &'static [&'static str],
}

/// The content type of Smithy RPC v2 CBOR bodies.
pub const CBOR_CONTENT_TYPE: &str = "application/cbor";
/// The content type of query answers.
pub const XML_CONTENT_TYPE: &str = "text/xml";
