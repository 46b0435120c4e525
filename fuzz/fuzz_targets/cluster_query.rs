//! Coverage-guided fuzzing of the cluster query language: the input is a ListContainerInstances
//! `filter` and a RunTask `memberOf` expression.
//! The check is `ecs_bridge::emulator::fuzzing::cluster_query`, which the stable test
//! `tests/emulator/fuzz_regressions.rs` also runs on every saved finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = ecs_bridge::emulator::fuzz(ecs_bridge::emulator::fuzzing::cluster_query, data) {
        panic!("{finding}");
    }
});
