//! Delivery checks that need no API server: the kind config, the Helm chart
//! rendered by the real `helm`, and the chart's copy of the CRDs.
//!
//! `helm` is the one `tests/control-plane/install.sh` builds.

mod chart;
mod floors;
mod kind_config;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root (where Cargo.toml is).
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Finds `helm` where the install script builds it (the same lookup the
/// control plane uses: `ECS_BRIDGE_K8S_BIN`, else the versioned cache).
pub fn helm() -> PathBuf {
    ecs_bridge::control_plane::Binaries::locate()
        .ok()
        .and_then(|b| b.helm)
        .unwrap_or_else(|| panic!("`helm` is not installed: run tests/control-plane/install.sh (.ci/run does)"))
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
