//! The first start of the local control plane: its binaries (etcd, kube-apiserver, kubectl,
//! helm) are built from their Go modules by the repository's install script, which takes
//! minutes once and is instant when cached. The person sees the script's own progress and a
//! heartbeat from us, never a silent wait.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::control_plane::{Binaries, ControlPlaneError};

use super::DevError;

/// The script, relative to the repository root.
const SCRIPT: &str = "tests/control-plane/install.sh";

/// How often to say we are still building (go build itself is silent for minutes).
const HEARTBEAT: Duration = Duration::from_secs(30);

/// The cached binaries, built first if any is missing.
pub async fn ensure_binaries() -> Result<Binaries, DevError> {
    match Binaries::locate() {
        Ok(binaries) => return Ok(binaries),
        Err(ControlPlaneError::BinariesMissing { .. }) => {}
        Err(other) => return Err(other.into()),
    }
    let script = find_script().ok_or(DevError::InstallScriptMissing)?;
    eprintln!(
        "dev: first start: building the local control plane (etcd, kube-apiserver, kubectl, helm) \
         from their Go modules with {}. This takes several minutes once; later starts use the cache.",
        script.display()
    );
    let started = Instant::now();
    let mut child = tokio::process::Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        // The script's last stdout line is the binary directory, which we find ourselves;
        // its progress goes to stderr, which the person sees as it comes.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        // A group of its own, so that stopping dev mode mid-build also stops the `go`
        // processes the script started (see `BuildGroup`).
        .process_group(0)
        .spawn()
        .map_err(|source| DevError::InstallSpawn { script: script.clone(), source })?;
    let mut group = BuildGroup(child.id());
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    let status = loop {
        tokio::select! {
            status = child.wait() => break status.map_err(|source| DevError::InstallSpawn {
                script: script.clone(),
                source,
            })?,
            _ = heartbeat.tick() => eprintln!(
                "dev: still building the control-plane binaries ({}s so far)",
                started.elapsed().as_secs()
            ),
        }
    };
    group.0 = None;
    if !status.success() {
        return Err(DevError::InstallFailed { script, status: status.to_string() });
    }
    eprintln!("dev: control-plane binaries built in {}s", started.elapsed().as_secs());
    Ok(Binaries::locate()?)
}

/// The script in the current directory's checkout, else in the checkout this binary was
/// built from (`cargo run` from anywhere in it).
fn find_script() -> Option<PathBuf> {
    [PathBuf::from(SCRIPT), PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SCRIPT)]
        .into_iter()
        .find(|candidate| candidate.is_file())
}

/// The install script's process group while it runs. Dropped early (dev mode stopped by a
/// signal during the build), it terminates the whole group: the script and its `go` builds.
struct BuildGroup(Option<u32>);

impl Drop for BuildGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.and_then(|id| libc::pid_t::try_from(id).ok()) {
            // SAFETY: kill(2) on the process group we created; it has no memory effects.
            unsafe { libc::kill(-pgid, libc::SIGTERM) };
        }
    }
}
