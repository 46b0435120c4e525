//! The bottom floor: how ECS's JSON 1.1 looks on the wire, its error shapes
//! and its pagination. Imports nothing else of the emulator.

pub mod codec;
pub mod error;
pub mod pagination;
