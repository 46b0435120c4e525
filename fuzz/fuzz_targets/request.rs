//! Coverage-guided fuzzing of the AWS JSON request path of every served service: NUL-separated
//! requests (first byte: the operation) on a fresh emulator, then a minute of simulated time.
//! The check is `ecs_bridge::emulator::fuzzing::request`, which the stable test
//! `tests/emulator/fuzz_regressions.rs` also runs on every saved finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = ecs_bridge::emulator::fuzz(ecs_bridge::emulator::fuzzing::request, data) {
        panic!("{finding}");
    }
});
