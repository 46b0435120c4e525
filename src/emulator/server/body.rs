//! Reading a request body within the listener's [`Limits`]: at most
//! `max_body_bytes`, within `body_timeout`. Both the service handler and the
//! signature check read bodies whole (the signature covers the body's
//! hash), so both read them here.

use axum::body::{Body, Bytes};

use super::listener::Limits;
use crate::emulator::wire::error::{EcsError, ErrorKind};

/// Why a body was not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyRefusal {
    #[error("Request body could not be read or exceeds {0} bytes.")]
    TooLarge(usize),
    #[error("Request body was not received within {0} seconds.")]
    TooSlow(u64),
}

impl BodyRefusal {
    /// The refusal as an AWS error: a body too large (or cut off) is one the
    /// service cannot deserialize; a slow one times out, as AWS's front
    /// ends answer a client that stalls (HTTP 408).
    pub fn error(&self) -> EcsError {
        let kind = match self {
            Self::TooLarge(_) => ErrorKind::SerializationException,
            Self::TooSlow(_) => ErrorKind::RequestTimeoutException,
        };
        EcsError::new(kind, self.to_string())
    }
}

/// The whole body, or why not.
pub async fn read_body(body: Body, limits: &Limits) -> Result<Bytes, BodyRefusal> {
    match tokio::time::timeout(limits.body_timeout, axum::body::to_bytes(body, limits.max_body_bytes)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(BodyRefusal::TooLarge(limits.max_body_bytes)),
        Err(_) => Err(BodyRefusal::TooSlow(limits.body_timeout.as_secs())),
    }
}
