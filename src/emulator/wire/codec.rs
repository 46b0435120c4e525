//! AWS JSON 1.1 bodies: decoding a request into an operation's typed input
//! (naming the member that is wrong) and encoding its output.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::emulator::wire::error::{EcsError, EcsResult, ErrorKind};

/// A serialized success body. Hot operations serialize their records
/// straight into it; the others build a `Value` first.
#[derive(Debug)]
pub struct Reply(pub Vec<u8>);

thread_local! {
    /// Where this thread writes answers before copying them out.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Reply {
    /// Writes the answer into a buffer this thread keeps, then copies it out
    /// at its size: one allocation and one copy, where a fresh buffer grew
    /// by doubling (seven reallocations and copies for the 14 KB answer of a
    /// service with its 100 events).
    pub fn of<T: serde::Serialize + ?Sized>(value: &T) -> EcsResult<Self> {
        let encode = |buffer: &mut Vec<u8>| {
            buffer.clear();
            serde_json::to_writer(&mut *buffer, value)
                .map(|()| Reply(buffer.as_slice().to_vec()))
                .map_err(|e| EcsError::server(format!("could not encode the response: {e}")))
        };
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut buffer) => {
                let reply = encode(&mut buffer);
                // A rare huge answer does not stay with the thread.
                if buffer.capacity() > MAX_SCRATCH {
                    *buffer = Vec::new();
                }
                reply
            }
            Err(_) => encode(&mut Vec::new()),
        })
    }
}

/// The largest buffer a thread keeps between answers.
const MAX_SCRATCH: usize = 1 << 20;

impl From<Value> for Reply {
    fn from(value: Value) -> Self {
        Reply(serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec()))
    }
}

/// Decodes a request body into an operation's input. An empty body is `{}`.
/// Errors name the problem and, for a wrong member, its path.
///
/// A body is read once as it is, and only a body that fails is read again
/// with its path tracked for the message: tracking the path of every member
/// cost a well-formed request about as much as reading it.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> EcsResult<T> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
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
