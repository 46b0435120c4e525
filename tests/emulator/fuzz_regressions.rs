//! Every input the fuzzers ever failed on (`fuzz/regressions/<target>/`),
//! replayed through the same check that found it
//! (`ecs_bridge::emulator::fuzzing`), on stable, in every `cargo test`: a
//! fix reverted fails here. The committed corpora (`fuzz/corpus/<target>/`)
//! are replayed too, so what the fuzzers once covered keeps passing.

use std::path::{Path, PathBuf};

use ecs_bridge::emulator::fuzz;
use ecs_bridge::emulator::fuzzing::TARGETS;

fn fuzz_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind)
}

/// The files under `fuzz/<kind>/<target>/`, by target (none when absent).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("directory entry").path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

/// Runs every input of `kind` through its target's check; returns how many ran.
fn replay(kind: &str) -> usize {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (target, check) in TARGETS {
        for path in inputs(kind, target) {
            let data = std::fs::read(&path).expect("input file");
            ran += 1;
            if let Err(finding) = fuzz(*check, &data) {
                failures.push(format!("{}: {finding}", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {ran} inputs fail:\n{}", failures.len(), failures.join("\n"));
    ran
}

#[test]
fn every_saved_fuzz_finding_is_answered_properly() {
    // The directories exist for every target, so a mistyped one shows up.
    for (target, _) in TARGETS {
        assert!(fuzz_dir("corpus").join(target).is_dir(), "fuzz/corpus/{target} is missing");
    }
    replay("regressions");
}

#[test]
fn the_fuzz_corpora_still_pass() {
    let ran = replay("corpus");
    assert!(ran >= TARGETS.len(), "only {ran} corpus inputs");
}
