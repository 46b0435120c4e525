//! The AWS query protocol (form-encoded `Action=<Op>&Version=<date>&…`
//! requests, XML answers and errors), bridged to the JSON shapes the
//! handlers read and write, so an operation is written once for every
//! protocol.
//!
//! Requests: `A.member.2.B=x` becomes `{"A": [_, {"B": "x"}]}`; every
//! scalar stays text (the form has no types), which the handlers' lenient
//! members ([`lenient`]) accept beside JSON's numbers. Answers: the JSON
//! object is written as XML, lists as `<member>` items, the members a
//! service names as timestamps in ISO 8601.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// A query request: its action, its version and its members as JSON.
#[derive(Debug)]
pub struct QueryRequest {
    pub action: Option<String>,
    pub version: Option<String>,
    pub input: Value,
}

/// One member path's value while the form is read.
#[derive(Debug)]
enum Node {
    Text(String),
    Members(BTreeMap<String, Node>),
    Items(BTreeMap<u64, Node>),
}

/// Reads a form-encoded body.
pub fn parse(body: &[u8]) -> EcsResult<QueryRequest> {
    let mut root = BTreeMap::new();
    let (mut action, mut version) = (None, None);
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "Action" => action = Some(value.into_owned()),
            "Version" => version = Some(value.into_owned()),
            _ => {
                let path: Vec<&str> = key.split('.').collect();
                insert(&mut root, &path, value.into_owned())
                    .map_err(|why| invalid_query(format!("The parameter {key} is not valid: {why}.")))?;
            }
        }
    }
    Ok(QueryRequest { action, version, input: to_json(Node::Members(root)) })
}

fn invalid_query(message: String) -> EcsError {
    EcsError::new(ErrorKind::SerializationException, message)
}

fn insert(members: &mut BTreeMap<String, Node>, path: &[&str], value: String) -> Result<(), &'static str> {
    let [name, rest @ ..] = path else { return Err("empty name") };
    if rest.is_empty() {
        members.insert((*name).to_owned(), Node::Text(value));
        return Ok(());
    }
    let slot = members.entry((*name).to_owned()).or_insert_with(|| Node::Members(BTreeMap::new()));
    place(slot, rest, value)
}

/// Puts `value` at `path` below `slot`; `member.N` is the N-th list item.
fn place(slot: &mut Node, path: &[&str], value: String) -> Result<(), &'static str> {
    if let ["member", index, rest @ ..] = path {
        let index: u64 = index.parse().map_err(|_| "a list index is not a number")?;
        if index == 0 {
            return Err("list indexes start at 1");
        }
        if let Node::Members(m) = slot
            && m.is_empty()
        {
            *slot = Node::Items(BTreeMap::new());
        }
        let Node::Items(items) = slot else { return Err("a member is both a list and a structure") };
        if rest.is_empty() {
            items.insert(index, Node::Text(value));
            return Ok(());
        }
        let item = items.entry(index).or_insert_with(|| Node::Members(BTreeMap::new()));
        return place(item, rest, value);
    }
    let Node::Members(members) = slot else { return Err("a member is both a list and a structure") };
    insert(members, path, value)
}

fn to_json(node: Node) -> Value {
    match node {
        Node::Text(s) => Value::String(s),
        Node::Members(m) => Value::Object(m.into_iter().map(|(k, v)| (k, to_json(v))).collect::<Map<_, _>>()),
        Node::Items(items) => Value::Array(items.into_values().map(to_json).collect()),
    }
}

/// The XML answer of `action`: `<ActionResponse><ActionResult>…` with
/// the request id.
pub fn answer(action: &str, xmlns: &str, output: &Value, timestamps: &[&str], request_id: &str) -> String {
    let mut xml = format!("<{action}Response xmlns=\"{xmlns}\"><{action}Result>");
    if let Value::Object(members) = output {
        for (name, value) in members {
            element(&mut xml, name, value, timestamps.contains(&name.as_str()), timestamps);
        }
    }
    let _ = write!(
        xml,
        "</{action}Result><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    );
    xml
}

fn element(xml: &mut String, name: &str, value: &Value, timestamp: bool, timestamps: &[&str]) {
    if value.is_null() {
        return;
    }
    let _ = write!(xml, "<{name}>");
    match value {
        Value::Null => {}
        Value::Bool(b) => xml.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if timestamp => xml.push_str(&iso8601(n.as_f64().unwrap_or_default())),
        Value::Number(n) => {
            let _ = write!(xml, "{n}");
        }
        Value::String(s) => escape(xml, s),
        Value::Array(items) => {
            for item in items {
                element(xml, "member", item, timestamp, timestamps);
            }
        }
        Value::Object(members) => {
            for (k, v) in members {
                element(xml, k, v, timestamps.contains(&k.as_str()), timestamps);
            }
        }
    }
    let _ = write!(xml, "</{name}>");
}

/// Epoch seconds as `2024-05-01T12:00:00.000Z`.
fn iso8601(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round() as i64;
    jiff::Timestamp::from_millisecond(millis)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

fn escape(xml: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '<' => xml.push_str("&lt;"),
            '>' => xml.push_str("&gt;"),
            '&' => xml.push_str("&amp;"),
            '"' => xml.push_str("&quot;"),
            '\'' => xml.push_str("&apos;"),
            c => xml.push(c),
        }
    }
}

/// The XML error: `<ErrorResponse><Error><Type>Sender</Type><Code>…`.
pub fn error(xmlns: &str, err: &EcsError, request_id: &str) -> (u16, String) {
    let (code, sender) = query_error(err.kind);
    let status = if sender { 400 } else { 500 };
    let mut xml = format!("<ErrorResponse xmlns=\"{xmlns}\"><Error><Type>");
    xml.push_str(if sender { "Sender" } else { "Receiver" });
    let _ = write!(xml, "</Type><Code>{code}</Code><Message>");
    escape(&mut xml, &err.message);
    let _ = write!(xml, "</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>");
    (status, xml)
}

/// The `x-amzn-query-error` header of a JSON or CBOR error from a service
/// that is `awsQueryCompatible`: `<Code>;Sender` (or `;Receiver`), the code
/// its query clients know the error by.
pub fn compatible_header(kind: ErrorKind) -> String {
    let (code, sender) = query_error(kind);
    format!("{code};{}", if sender { "Sender" } else { "Receiver" })
}

/// An error's query code (the model's `awsQueryError` code where it
/// differs from the shape name) and whether the caller is at fault.
pub fn query_error(kind: ErrorKind) -> (&'static str, bool) {
    match kind {
        ErrorKind::InvalidParameterValueException => ("InvalidParameterValue", true),
        ErrorKind::MissingRequiredParameterException => ("MissingParameter", true),
        ErrorKind::InvalidParameterCombinationException => ("InvalidParameterCombination", true),
        ErrorKind::InternalServiceFault => ("InternalServiceError", false),
        ErrorKind::SerializationException => ("MalformedQueryString", true),
        ErrorKind::ThrottlingException => ("Throttling", true),
        ErrorKind::UnknownOperationException => ("InvalidAction", true),
        other => (other.shape_name(), other.http_status() < 500),
    }
}

/// Deserializers for members that JSON sends typed and the query protocol
/// sends as text (numbers, booleans, timestamps).
pub mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Int(i64),
        Float(f64),
        Bool(bool),
        Text(String),
    }

    /// An integer, or its decimal text.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Option::<Scalar>::deserialize(d)? {
            None => Ok(None),
            Some(Scalar::Int(i)) => Ok(Some(i)),
            Some(Scalar::Text(t)) => {
                t.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{t}' is not an integer")))
            }
            Some(Scalar::Float(f)) => Err(D::Error::custom(format!("{f} is not an integer"))),
            Some(Scalar::Bool(b)) => Err(D::Error::custom(format!("{b} is not an integer"))),
        }
    }

    /// A number, or its decimal text.
    pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        match Option::<Scalar>::deserialize(d)? {
            None => Ok(None),
            Some(Scalar::Int(i)) => Ok(Some(i as f64)),
            Some(Scalar::Float(f)) => Ok(Some(f)),
            Some(Scalar::Text(t)) => {
                t.trim().parse().map(Some).map_err(|_| D::Error::custom(format!("'{t}' is not a number")))
            }
            Some(Scalar::Bool(b)) => Err(D::Error::custom(format!("{b} is not a number"))),
        }
    }

    /// A boolean, or `true`/`false` as text.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<Scalar>::deserialize(d)? {
            None => Ok(None),
            Some(Scalar::Bool(b)) => Ok(Some(b)),
            Some(Scalar::Text(t)) if t.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Scalar::Text(t)) if t.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(D::Error::custom("not a boolean")),
        }
    }

    /// A timestamp as epoch milliseconds: epoch seconds (JSON, CBOR), or
    /// ISO 8601 text or epoch seconds as text (query).
    pub fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        let seconds = |s: f64| {
            if s.is_finite() && s.abs() < 1e13 {
                Ok(Some((s * 1000.0).round() as i64))
            } else {
                Err(D::Error::custom(format!("{s} is not a time")))
            }
        };
        match Option::<Scalar>::deserialize(d)? {
            None => Ok(None),
            Some(Scalar::Int(i)) => seconds(i as f64),
            Some(Scalar::Float(f)) => seconds(f),
            Some(Scalar::Text(t)) => match t.trim().parse::<f64>() {
                Ok(s) => seconds(s),
                Err(_) => t
                    .trim()
                    .parse::<jiff::Timestamp>()
                    .map(|ts| Some(ts.as_millisecond()))
                    .map_err(|_| D::Error::custom(format!("'{t}' is not an ISO 8601 time"))),
            },
            Some(Scalar::Bool(b)) => Err(D::Error::custom(format!("{b} is not a time"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forms_become_json_with_lists() {
        let body = b"Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FECS&Statistics.member.1=Average\
&Statistics.member.2=Maximum&Dimensions.member.2.Name=ServiceName&Dimensions.member.2.Value=web\
&Dimensions.member.1.Name=ClusterName&Dimensions.member.1.Value=demo&Period=60";
        let request = parse(body).unwrap();
        assert_eq!(request.action.as_deref(), Some("GetMetricStatistics"));
        assert_eq!(request.version.as_deref(), Some("2010-08-01"));
        assert_eq!(
            request.input,
            json!({
                "Namespace": "AWS/ECS",
                "Period": "60",
                "Statistics": ["Average", "Maximum"],
                "Dimensions": [{"Name": "ClusterName", "Value": "demo"}, {"Name": "ServiceName", "Value": "web"}],
            })
        );
    }

    #[test]
    fn contradictory_forms_are_refused() {
        assert!(parse(b"A.member.1=x&A.B=y").is_err());
        assert!(parse(b"A.member.0=x").is_err());
        assert!(parse(b"A.member.x=x").is_err());
    }

    #[test]
    fn answers_are_xml_with_members_and_iso_times() {
        let output = json!({"Label": "a<b", "Datapoints": [{"Timestamp": 1700000040.0, "Average": 50.0}]});
        let xml = answer("GetMetricStatistics", "urn:x", &output, &["Timestamp"], "rid");
        assert_eq!(
            xml,
            "<GetMetricStatisticsResponse xmlns=\"urn:x\"><GetMetricStatisticsResult><Datapoints><member>\
<Average>50.0</Average><Timestamp>2023-11-14T22:14:00.000Z</Timestamp></member></Datapoints><Label>a&lt;b</Label>\
</GetMetricStatisticsResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetMetricStatisticsResponse>"
        );
    }

    #[test]
    fn errors_carry_the_query_code() {
        let err = EcsError::new(ErrorKind::MissingRequiredParameterException, "The parameter Period is required.");
        let (status, xml) = error("urn:x", &err, "rid");
        assert_eq!(status, 400);
        assert!(xml.contains(
            "<Type>Sender</Type><Code>MissingParameter</Code><Message>The parameter Period is required.</Message>"
        ));
        assert_eq!(compatible_header(ErrorKind::InternalServiceFault), "InternalServiceError;Receiver");
    }
}
