//! The bottom floor: how the served services look on the wire (AWS JSON,
//! Smithy RPC v2 CBOR and query bodies), their error shapes and their
//! pagination. Imports nothing else of the emulator.

pub mod cbor;
pub mod codec;
pub mod error;
pub mod pagination;
pub mod protocols;
pub mod query;
