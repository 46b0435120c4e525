//! Coverage-guided fuzzing of RegisterTaskDefinition's validation: the input is its body; what
//! registers must describe back, run and live through a minute of simulated time.
//! The check is `ecs_bridge::emulator::fuzzing::task_definition`, which the stable test
//! `tests/emulator/fuzz_regressions.rs` also runs on every saved finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = ecs_bridge::emulator::fuzz(ecs_bridge::emulator::fuzzing::task_definition, data) {
        panic!("{finding}");
    }
});
