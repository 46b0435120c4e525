//! Delivery checks that need no API server: the kind config, the Helm chart
//! rendered by the real `helm`, and the chart's copy of the CRDs.
//!
//! `helm` comes from `ECS_BRIDGE_K8S_BIN` (set by `.ci/run`, built by
//! `tests/control-plane/install.sh`) or `PATH`.

mod chart;
mod kind_config;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (where Cargo.toml is).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Finds a tool the install script builds, preferring its cache directory.
pub fn tool(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("ECS_BRIDGE_K8S_BIN") {
        let candidate = Path::new(&dir).join(name);
        if candidate.is_file() {
            return candidate;
        }
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| {
        panic!("`{name}` is not installed: run tests/control-plane/install.sh and put the directory it prints on PATH (or in ECS_BRIDGE_K8S_BIN); .ci/run does both")
    })
}

/// Runs a command, returning stdout; panics with stderr when it fails.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
