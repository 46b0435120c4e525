//! Coverage-guided fuzzing of the Smithy RPC v2 CBOR protocol (CloudWatch, Cloud Map): the first
//! byte picks the operation, the rest is its CBOR body; the decoder must also round-trip.
//! The check is `ecs_bridge::emulator::fuzzing::cbor_request`, which the stable test
//! `tests/emulator/fuzz_regressions.rs` also runs on every saved finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = ecs_bridge::emulator::fuzz(ecs_bridge::emulator::fuzzing::cbor_request, data) {
        panic!("{finding}");
    }
});
