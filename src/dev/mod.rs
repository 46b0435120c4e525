//! `ecs-bridge dev`: everything a person needs to try the operator on one machine. So far
//! it runs a local control plane (`--local-control-plane`) and hands it over through a
//! kubeconfig; the ECS emulator and the controller join it in the same process later, each
//! started after [`start_local_control_plane`] and stopped before it.

mod signals;

use std::path::{Path, PathBuf};

use crate::control_plane::{ControlPlane, ControlPlaneError, StartOptions};

/// Command-line arguments of `ecs-bridge dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Start a throwaway etcd + kube-apiserver (built by tests/control-plane/install.sh) and
    /// print the kubeconfig to reach it; everything is removed on exit.
    #[arg(long)]
    pub local_control_plane: bool,

    /// Directory of CustomResourceDefinition YAML files to install into the local control plane.
    #[arg(long, default_value = "crds")]
    pub crds_dir: PathBuf,
}

/// Why dev mode could not run.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error(
        "dev mode needs --local-control-plane (running against an existing cluster is not supported yet)"
    )]
    NoControlPlane,
    #[error(
        "the CRD directory {0} does not exist: run from the repository root or pass --crds-dir"
    )]
    CrdsDirMissing(PathBuf),
    #[error("cannot start the local control plane")]
    ControlPlane(#[from] ControlPlaneError),
    #[error("cannot listen for Ctrl-C and SIGTERM")]
    Signals(#[source] std::io::Error),
}

/// Runs dev mode until Ctrl-C or SIGTERM, then stops everything it started.
pub async fn run(args: DevArgs) -> Result<(), DevError> {
    if !args.local_control_plane {
        return Err(DevError::NoControlPlane);
    }
    // Listen before starting anything, so a signal during start-up is not lost (or fatal:
    // the default action would leave the servers to the watchdog).
    let mut signals = signals::Shutdown::listen().map_err(DevError::Signals)?;
    let control_plane = tokio::select! {
        started = start_local_control_plane(&args.crds_dir) => started?,
        signal = signals.received() => {
            // Dropping the unfinished start-up kills whatever it had started.
            eprintln!("dev: {signal} during start-up; stopped");
            return Ok(());
        }
    };
    print_access(&control_plane);

    let signal = signals.received().await;
    eprintln!("dev: {signal}: stopping the control plane");
    // Stopping waits for the processes to exit; keep that off the async worker threads.
    let stopped = tokio::task::spawn_blocking(move || control_plane.stop()).await;
    if stopped.is_err() {
        eprintln!("dev: stopping the control plane panicked; the watchdog removes what is left");
    }
    println!("Control plane stopped.");
    Ok(())
}

/// Starts the local control plane with the CRDs of `crds_dir` installed.
pub async fn start_local_control_plane(crds_dir: &Path) -> Result<ControlPlane, DevError> {
    if !crds_dir.is_dir() {
        return Err(DevError::CrdsDirMissing(crds_dir.to_path_buf()));
    }
    let options = StartOptions {
        crds_dir: Some(crds_dir.to_path_buf()),
        ..StartOptions::default()
    };
    Ok(ControlPlane::start(options).await?)
}

/// Tells the person how to reach the control plane. The `kubeconfig:` line is also read by
/// the dev-mode test, and the PIDs let it check nothing is left running.
fn print_access(control_plane: &ControlPlane) {
    let kubeconfig = control_plane.kubeconfig_path().display();
    let kubectl = control_plane.binaries().kubectl.display();
    let (etcd_pid, apiserver_pid) = control_plane.pids();
    println!("Local control plane is up: {}", control_plane.server_url());
    println!("  kubeconfig: {kubeconfig}");
    println!("  processes:  kube-apiserver pid {apiserver_pid}, etcd pid {etcd_pid}");
    println!(
        "  CRDs:       {}",
        if control_plane.crds().is_empty() {
            "none".to_string()
        } else {
            control_plane.crds().join(", ")
        }
    );
    println!("Try it (this kubectl matches the server's version):");
    println!("  {kubectl} --kubeconfig {kubeconfig} get ns");
    println!("or: export KUBECONFIG={kubeconfig}");
    println!("Press Ctrl-C to stop.");
}
