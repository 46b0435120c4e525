//! Coverage-guided fuzzing of the AWS query protocol (CloudWatch's form-encoded bodies, XML answers).
//! The check is `ecs_bridge::emulator::fuzzing::query_protocol`, which the stable test
//! `tests/emulator/fuzz_regressions.rs` also runs on every saved finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = ecs_bridge::emulator::fuzz(ecs_bridge::emulator::fuzzing::query_protocol, data) {
        panic!("{finding}");
    }
});
