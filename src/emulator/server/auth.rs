//! Who may call the emulator. Without credentials (the default, for loopback
//! development) anyone may, and any signature is accepted. With an access
//! key configured, every request must carry a valid Signature Version 4
//! signature by that key, checked as AWS checks it (the region and service
//! come from the request's own credential scope, so ECS, CloudWatch Logs and
//! the other services on this port verify alike), or it gets AWS's answer:
//! `MissingAuthenticationTokenException` without a signature,
//! `UnrecognizedClientException` for another key,
//! `InvalidSignatureException` for a signature that does not match or a
//! request outside AWS's 15-minute clock skew. The admin endpoints take the
//! same signature, or HTTP Basic with the key and secret (`curl -u
//! KEY:SECRET`), and answer 401/403 otherwise: they can reset everything
//! (`/_emulator/health` alone stays open, for probes).
//!
//! Not covered: presigned URLs (query-string signatures) and session tokens,
//! which no ECS client sends to this port.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use k8s_openapi::jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::body::{BodyRefusal, read_body};
use super::listener::Limits;

/// The one access key the emulator accepts.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("access_key_id", &self.access_key_id).finish_non_exhaustive()
    }
}

/// What the middleware checks requests against.
#[derive(Debug)]
pub struct Guard {
    pub credentials: Credentials,
    /// Bodies are read whole to hash them, within these limits.
    pub limits: Limits,
}

/// How far a request's time may be from the emulator's, as AWS allows.
const SKEW: Duration = Duration::from_secs(15 * 60);

/// Why a request is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
    #[error("Signature expired: {at} is now earlier than {earliest} ({now} - 15 min.)")]
    Expired { at: String, earliest: String, now: String },
    #[error("Signature not yet current: {at} is still later than {latest} ({now} + 15 min.)")]
    Early { at: String, latest: String, now: String },
    #[error("{0}")]
    Malformed(String),
}

impl Refusal {
    /// AWS's error type for the refusal.
    pub fn shape(&self) -> &'static str {
        match self {
            Self::Missing => "MissingAuthenticationTokenException",
            Self::UnknownKey => "UnrecognizedClientException",
            Self::Mismatch | Self::Expired { .. } | Self::Early { .. } => "InvalidSignatureException",
            Self::Malformed(_) => "IncompleteSignatureException",
        }
    }
}

/// The parts of a request a signature covers.
pub struct Signed<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The `Authorization: AWS4-HMAC-SHA256 …` header's fields.
struct Authorization<'a> {
    key: &'a str,
    /// `date/region/service/aws4_request`.
    scope: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<Authorization<'_>, Refusal> {
    let malformed = |what: &str| Refusal::Malformed(format!("Authorization header requires '{what}' parameter."));
    let rest = value.strip_prefix("AWS4-HMAC-SHA256").ok_or(Refusal::Missing)?.trim_start();
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',').map(str::trim) {
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let credential = credential.ok_or_else(|| malformed("Credential"))?;
    let signed = signed.ok_or_else(|| malformed("SignedHeaders"))?;
    let signature = signature.ok_or_else(|| malformed("Signature"))?;
    let (key, scope) = credential.split_once('/').ok_or_else(|| malformed("Credential"))?;
    let parts: Vec<&str> = scope.split('/').collect();
    let [date, region, service, "aws4_request"] = parts[..] else {
        return Err(Refusal::Malformed(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            parts.get(1).unwrap_or(&"")
        )));
    };
    Ok(Authorization { key, scope, date, region, service, signed_headers: signed.split(';').collect(), signature })
}

/// Checks a request's SigV4 signature against `credentials` at `now`.
pub fn verify(credentials: &Credentials, request: &Signed, now: SystemTime) -> Result<(), Refusal> {
    let value = request.headers.get(header::AUTHORIZATION).ok_or(Refusal::Missing)?;
    let auth = parse_authorization(value.to_str().map_err(|_| Refusal::Missing)?)?;
    if auth.key != credentials.access_key_id {
        return Err(Refusal::UnknownKey);
    }
    let text = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
    let amz_date = text("x-amz-date").ok_or_else(|| {
        Refusal::Malformed(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.".into(),
        )
    })?;
    let at = parse_amz_date(amz_date).ok_or_else(|| Refusal::Malformed(format!("Invalid X-Amz-Date: {amz_date}")))?;
    check_skew(amz_date, at, now)?;
    if !amz_date.starts_with(auth.date) || auth.date.len() != 8 {
        return Err(Refusal::Mismatch);
    }
    let canonical = canonical_request(request, &auth.signed_headers).ok_or(Refusal::Mismatch)?;
    let to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}", auth.scope, hex::encode(Sha256::digest(canonical)));
    let key = aws_sigv4::sign::v4::generate_signing_key(&credentials.secret_access_key, at, auth.region, auth.service);
    let expected = aws_sigv4::sign::v4::calculate_signature(key, to_sign.as_bytes());
    if constant_time_eq(expected.as_bytes(), auth.signature.as_bytes()) { Ok(()) } else { Err(Refusal::Mismatch) }
}

fn check_skew(amz_date: &str, at: SystemTime, now: SystemTime) -> Result<(), Refusal> {
    let format =
        |t: SystemTime| Timestamp::try_from(t).map(|t| t.strftime("%Y%m%dT%H%M%SZ").to_string()).unwrap_or_default();
    if at + SKEW < now {
        return Err(Refusal::Expired { at: amz_date.into(), earliest: format(now - SKEW), now: format(now) });
    }
    if at > now + SKEW {
        return Err(Refusal::Early { at: amz_date.into(), latest: format(now + SKEW), now: format(now) });
    }
    Ok(())
}

/// `20261203T120000Z` as a time.
fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let parsed = Timestamp::strptime("%Y%m%dT%H%M%S%#z", text.replace('Z', "+0000")).ok()?;
    Some(SystemTime::from(parsed))
}

/// SigV4's canonical request; `None` when a signed header is missing.
fn canonical_request(request: &Signed, signed_headers: &[&str]) -> Option<String> {
    let mut headers = String::new();
    for name in signed_headers {
        let values: Vec<String> = request
            .headers
            .get_all(*name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return None;
        }
        headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let payload = match request.headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok()) {
        Some(hash) => hash.to_owned(),
        None => hex::encode(Sha256::digest(request.body)),
    };
    // Every service but S3 encodes the (already encoded) path once more.
    let path = if request.path.is_empty() { "/".to_owned() } else { encode(request.path, false) };
    Some(format!(
        "{}\n{path}\n{}\n{headers}\n{}\n{payload}",
        request.method,
        canonical_query(request.query),
        signed_headers.join(";")
    ))
}

/// The query's pairs decoded, encoded as SigV4 wants and sorted.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k), true), encode(&decode(v), true))
        })
        .collect();
    pairs.sort();
    pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// RFC 3986 encoding of all but the unreserved characters (and `/` unless
/// `slash` is set).
fn encode(text: &str, slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (b == b'/' && !slash) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HTTP Basic with the key and secret, for people at the admin endpoints.
fn basic_matches(credentials: &Credentials, headers: &HeaderMap) -> Option<bool> {
    use base64::Engine as _;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let expected = format!("{}:{}", credentials.access_key_id, credentials.secret_access_key);
    Some(constant_time_eq(&decoded, expected.as_bytes()))
}

/// The middleware: every request signed, or refused as AWS refuses it.
pub async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes: Bytes = match read_body(body, &guard.limits).await {
        Ok(bytes) => bytes,
        Err(refusal) => {
            let status = match refusal {
                BodyRefusal::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                BodyRefusal::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            };
            return aws_error(status, refusal.error().kind.shape_name(), &refusal.to_string());
        }
    };
    // Probes (a kubelet's) carry no credentials, and health tells nothing.
    if parts.uri.path() == "/_emulator/health" {
        return next.run(Request::from_parts(parts, Body::from(bytes))).await;
    }
    let admin = parts.uri.path().starts_with("/_emulator");
    if admin && let Some(matches) = basic_matches(&guard.credentials, &parts.headers) {
        if !matches {
            return (StatusCode::FORBIDDEN, "wrong credentials for the emulator's admin endpoints\n").into_response();
        }
    } else {
        let signed = Signed {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &bytes,
        };
        if let Err(refusal) = verify(&guard.credentials, &signed, SystemTime::now()) {
            tracing::debug!(%refusal, path = parts.uri.path(), "refused an unsigned or badly signed request");
            if admin {
                let status = if refusal == Refusal::Missing { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
                let mut response = (status, format!("{refusal}\n")).into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"ecs-bridge emulator\""));
                return response;
            }
            let status = if refusal == Refusal::Missing { StatusCode::FORBIDDEN } else { StatusCode::BAD_REQUEST };
            return aws_error(status, refusal.shape(), &refusal.to_string());
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn aws_error(status: StatusCode, shape: &str, message: &str) -> Response {
    let body = serde_json::json!({ "__type": shape, "message": message }).to_string();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-amz-json-1.1"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials { access_key_id: "AKIDEXAMPLE".into(), secret_access_key: "secret".into() }
    }

    #[test]
    fn encoding_keeps_unreserved_and_encodes_the_rest() {
        assert_eq!(encode("a-b_c.d~e/f g", false), "a-b_c.d~e/f%20g");
        assert_eq!(encode("a/b", true), "a%2Fb");
        assert_eq!(canonical_query("b=2&a=x%20y&a=1"), "a=1&a=x%20y&b=2");
        assert_eq!(decode("x%2Fy%zz"), "x/y%zz");
    }

    #[test]
    fn a_request_without_authorization_is_missing_its_token() {
        let headers = HeaderMap::new();
        let request = Signed { method: "POST", path: "/", query: "", headers: &headers, body: b"{}" };
        assert_eq!(verify(&creds(), &request, SystemTime::now()), Err(Refusal::Missing));
    }

    #[test]
    fn an_old_signature_is_expired_with_awss_wording() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20200101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00",
            ),
        );
        headers.insert("x-amz-date", HeaderValue::from_static("20200101T000000Z"));
        let request = Signed { method: "POST", path: "/", query: "", headers: &headers, body: b"{}" };
        let refusal = verify(&creds(), &request, SystemTime::now()).unwrap_err();
        assert_eq!(refusal.shape(), "InvalidSignatureException");
        assert!(
            refusal.to_string().starts_with("Signature expired: 20200101T000000Z is now earlier than "),
            "{refusal}"
        );
    }
}
