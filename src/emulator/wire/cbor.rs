//! Smithy RPC v2 CBOR bodies, bridged to the JSON shapes the handlers
//! read and write, so an operation is written once for every protocol.
//!
//! Requests: a CBOR map becomes the JSON object an AWS JSON client would
//! have sent: a timestamp (tag 1) becomes its epoch seconds, a blob its
//! base64 text, as AWS JSON writes them. Answers: the handler's JSON goes
//! back to CBOR, with the members a service names as timestamps tagged 1
//! (AWS JSON writes them as bare epoch seconds, which a CBOR client
//! refuses), whole numbers as integers and fractions as doubles.

use base64::Engine;
use minicbor::data::{IanaTag, Tag, Type};
use minicbor::{Decoder, Encoder};
use serde_json::{Map, Number, Value};

use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// How deep a request may nest (CloudWatch's deepest input is five levels).
const MAX_DEPTH: usize = 64;

fn malformed(message: impl std::fmt::Display) -> EcsError {
    EcsError::new(ErrorKind::SerializationException, format!("Request body is not valid CBOR: {message}"))
}

/// Decodes a request body into JSON; an empty body is `{}`.
pub fn decode(body: &[u8]) -> EcsResult<Value> {
    if body.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let mut decoder = Decoder::new(body);
    let value = item(&mut decoder, 0)?;
    if decoder.position() != body.len() {
        return Err(malformed("trailing data after the body"));
    }
    Ok(value)
}

fn item(d: &mut Decoder<'_>, depth: usize) -> EcsResult<Value> {
    if depth > MAX_DEPTH {
        return Err(malformed("nested too deeply"));
    }
    let kind = d.datatype().map_err(malformed)?;
    Ok(match kind {
        Type::Bool => Value::Bool(d.bool().map_err(malformed)?),
        Type::Null | Type::Undefined => {
            d.skip().map_err(malformed)?;
            Value::Null
        }
        Type::U8 | Type::U16 | Type::U32 | Type::U64 => Value::from(d.u64().map_err(malformed)?),
        Type::I8 | Type::I16 | Type::I32 | Type::I64 => Value::from(d.i64().map_err(malformed)?),
        Type::Int => {
            let n = d.int().map_err(malformed)?;
            Value::from(i64::try_from(n).map_err(|_| malformed("integer out of range"))?)
        }
        Type::F16 | Type::F32 | Type::F64 => {
            let f = d.f64().map_err(malformed)?;
            Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        Type::String | Type::StringIndef => {
            let mut text = String::new();
            for chunk in d.str_iter().map_err(malformed)? {
                text.push_str(chunk.map_err(malformed)?);
            }
            Value::String(text)
        }
        Type::Bytes | Type::BytesIndef => {
            let mut bytes = Vec::new();
            for chunk in d.bytes_iter().map_err(malformed)? {
                bytes.extend_from_slice(chunk.map_err(malformed)?);
            }
            Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Type::Array | Type::ArrayIndef => {
            let len = d.array().map_err(malformed)?;
            let mut items = Vec::new();
            each(d, len, |d| {
                items.push(item(d, depth + 1)?);
                Ok(())
            })?;
            Value::Array(items)
        }
        Type::Map | Type::MapIndef => {
            let len = d.map().map_err(malformed)?;
            let mut members = Map::new();
            each(d, len, |d| {
                let Value::String(key) = item(d, depth + 1)? else {
                    return Err(malformed("a map key is not text"));
                };
                let value = item(d, depth + 1)?;
                members.insert(key, value);
                Ok(())
            })?;
            Value::Object(members)
        }
        // A timestamp is epoch seconds in JSON; other tags wrap their value.
        Type::Tag => {
            d.tag().map_err(malformed)?;
            item(d, depth + 1)?
        }
        other => return Err(malformed(format!("unexpected {other}"))),
    })
}

/// Calls `f` for each element of a definite (`Some(n)`) or indefinite
/// (`None`, ended by a break) array or map.
fn each(d: &mut Decoder<'_>, len: Option<u64>, mut f: impl FnMut(&mut Decoder<'_>) -> EcsResult<()>) -> EcsResult<()> {
    match len {
        Some(n) => (0..n).try_for_each(|_| f(d)),
        None => loop {
            if d.datatype().map_err(malformed)? == Type::Break {
                return d.skip().map_err(malformed);
            }
            f(d)?;
        },
    }
}

/// Encodes an answer: `timestamps` names the members whose values (or
/// list items) are timestamps in epoch seconds. Nulls are left out.
pub fn encode(value: &Value, timestamps: &[&str]) -> Vec<u8> {
    let mut encoder = Encoder::new(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = write(&mut encoder, value, false, timestamps);
    encoder.into_writer()
}

type Written = Result<(), minicbor::encode::Error<std::convert::Infallible>>;

fn write(e: &mut Encoder<Vec<u8>>, value: &Value, timestamp: bool, timestamps: &[&str]) -> Written {
    match value {
        Value::Null => {
            e.null()?;
        }
        Value::Bool(b) => {
            e.bool(*b)?;
        }
        Value::Number(n) => {
            if timestamp {
                e.tag(Tag::from(IanaTag::Timestamp))?;
            }
            if let Some(i) = n.as_i64() {
                e.i64(i)?;
            } else if let Some(u) = n.as_u64() {
                e.u64(u)?;
            } else {
                e.f64(n.as_f64().unwrap_or(f64::NAN))?;
            }
        }
        Value::String(s) => {
            e.str(s)?;
        }
        Value::Array(items) => {
            e.array(items.len() as u64)?;
            for v in items {
                write(e, v, timestamp, timestamps)?;
            }
        }
        Value::Object(members) => {
            let present: Vec<(&String, &Value)> = members.iter().filter(|(_, v)| !v.is_null()).collect();
            e.map(present.len() as u64)?;
            for (k, v) in present {
                e.str(k)?;
                write(e, v, timestamps.contains(&k.as_str()), timestamps)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_round_trip_with_tagged_timestamps() {
        let value = json!({"Label": "CPUUtilization", "Datapoints": [{"Timestamp": 1700000040.0, "Average": 50.0, "SampleCount": 2.0}], "Skip": null});
        let bytes = encode(&value, &["Timestamp"]);
        let mut d = Decoder::new(&bytes);
        assert_eq!(d.map().unwrap(), Some(2), "the null member is left out");
        let back = decode(&bytes).unwrap();
        assert_eq!(
            back,
            json!({"Label": "CPUUtilization", "Datapoints": [{"Timestamp": 1700000040.0, "Average": 50.0, "SampleCount": 2.0}]})
        );
        let tag = bytes.windows(2).any(|w| w == [0xc1, 0xfb]);
        assert!(tag, "the timestamp is tag 1 over a double");
    }

    #[test]
    fn requests_decode_indefinite_items_blobs_and_timestamps() {
        let mut e = Encoder::new(Vec::new());
        e.begin_map().unwrap();
        e.str("StartTime").unwrap().tag(Tag::from(IanaTag::Timestamp)).unwrap().i64(1_700_000_000).unwrap();
        e.str("Blob").unwrap().bytes(b"hi").unwrap();
        e.str("List").unwrap().begin_array().unwrap().str("a").unwrap().u8(7).unwrap().end().unwrap();
        e.end().unwrap();
        let value = decode(&e.into_writer()).unwrap();
        assert_eq!(value, json!({"StartTime": 1_700_000_000, "Blob": "aGk=", "List": ["a", 7]}));
    }

    #[test]
    fn bad_bodies_are_serialization_errors() {
        for body in [&[0xa1, 0x01, 0x02][..], &[0xff], &[0xa1, 0x61, b'a'], &[0x01, 0x02]] {
            let err = decode(body).unwrap_err();
            assert_eq!(err.kind, ErrorKind::SerializationException, "{body:?}");
        }
    }
}
