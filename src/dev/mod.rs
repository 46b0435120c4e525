//! `ecs-bridge dev`: everything a person needs to try the operator on one machine, in one
//! process. It finds a Kubernetes API server ([`cluster`]: the current kubeconfig's, else a
//! local control plane, building its binaries on first use), makes sure the CRDs are there
//! ([`crds`]), serves the ECS emulator with a `default` cluster ([`emulator`]), runs the
//! controller against both, tells the person what to type ([`access`]), and stops it all,
//! in reverse order, on Ctrl-C or SIGTERM.

mod access;
mod cluster;
mod crds;
mod emulator;
mod install;

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::control_plane::ControlPlaneError;
use crate::controller::{self, ControllerConfig, ControllerHandle, Metrics};
use crate::ecs::SdkEcs;

pub use cluster::{Cluster, start_local_control_plane};

/// Command-line arguments of `ecs-bridge dev`.
#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    /// Always start a throwaway local control plane (etcd + kube-apiserver, built by
    /// tests/control-plane/install.sh on first use), even if the current kubeconfig reaches
    /// a cluster. Everything it stores is removed on exit.
    #[arg(long)]
    pub local_control_plane: bool,

    /// Also install the CustomResourceDefinitions of this directory of YAML files (the
    /// operator's own CRDs are built in and installed when missing).
    #[arg(long)]
    pub crds_dir: Option<PathBuf>,

    /// Address the embedded ECS emulator serves on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:4566")]
    pub emulator_listen: SocketAddr,

    /// Region of the emulator's ARNs and of the printed AWS CLI line.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,

    /// Simulated EC2 instances (m5.large, over three zones) every new emulator cluster
    /// starts with, so EC2 services such as examples/bridge-ec2.yaml get their tasks placed.
    #[arg(long, default_value_t = 3)]
    pub ec2_capacity: u32,

    /// Reconcile objects of this namespace only (default: all namespaces).
    #[arg(long)]
    pub namespace: Option<String>,

    /// What runs the tasks' containers: `docker` (real containers on the Docker Engine at
    /// DOCKER_HOST or the local socket), `simulated` (no containers), or `auto`: Docker
    /// when an engine answers, else simulated.
    #[arg(long, value_enum, default_value_t = DevRuntime::Auto)]
    pub runtime: DevRuntime,

    /// Address of the controller's `/metrics`, `/healthz` and `/readyz` (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub metrics_addr: SocketAddr,
}

/// Dev mode's choice of task runtime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum DevRuntime {
    #[default]
    Auto,
    Docker,
    Simulated,
}

/// Why dev mode could not run.
#[derive(Debug, thiserror::Error)]
pub enum DevError {
    #[error("the CRD directory {0} does not exist")]
    CrdsDirMissing(PathBuf),
    #[error(
        "the control-plane binaries are not built, and the script that builds them \
         (tests/control-plane/install.sh) is not here: run `ecs-bridge dev` from the \
         repository root, or run the script from there once"
    )]
    InstallScriptMissing,
    #[error("building the control-plane binaries with {script} failed ({status}); its output is above")]
    InstallFailed { script: PathBuf, status: String },
    #[error("cannot run the control-plane install script {script}")]
    InstallSpawn {
        script: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start the local control plane")]
    ControlPlane(#[from] ControlPlaneError),
    #[error("cannot install the CustomResourceDefinitions (may your Kubernetes user create them?)")]
    Crds(#[source] ControlPlaneError),
    #[error("cannot check which CustomResourceDefinitions are installed")]
    CrdLookup(#[source] kube::Error),
    #[error(
        "the ECS emulator cannot listen on {addr}: is another emulator (or LocalStack) running? \
         Pass --emulator-listen 127.0.0.1:<port>"
    )]
    EmulatorListen {
        addr: SocketAddr,
        #[source]
        source: crate::emulator::EmulatorError,
    },
    #[error("the ECS emulator did not start")]
    Emulator(#[source] crate::emulator::EmulatorError),
    #[error("cannot create the `default` ECS cluster in the emulator at {endpoint}: {message}")]
    DefaultCluster { endpoint: String, message: String },
    #[error("the controller did not start")]
    Controller(#[from] controller::StartError),
    #[error("cannot listen for Ctrl-C and SIGTERM")]
    Signals(#[source] std::io::Error),
}

/// Runs dev mode until Ctrl-C or SIGTERM, then stops everything it started.
pub async fn run(args: DevArgs) -> Result<(), DevError> {
    crate::tls::install_tls_provider();
    if let Some(dir) = &args.crds_dir
        && !dir.is_dir()
    {
        return Err(DevError::CrdsDirMissing(dir.clone()));
    }
    // Listen before starting anything, so a signal during start-up is not lost (or fatal:
    // the default action would leave a local control plane to its watchdog).
    let mut signals = crate::shutdown::Signals::listen().map_err(DevError::Signals)?;
    let started = tokio::select! {
        started = start(&args) => started?,
        signal = signals.received() => {
            // Dropping the unfinished start-up kills whatever it had started.
            eprintln!("dev: {} during start-up; stopped", signal.as_typed());
            return Ok(());
        }
    };
    access::print(&args, &started);

    let signal = signals.received().await;
    eprintln!("dev: {}: stopping", signal.as_typed());
    started.stop().await;
    Ok(())
}

/// Everything dev mode runs, in start order.
struct Running {
    cluster: Cluster,
    crds: crds::CrdReport,
    emulator: crate::emulator::RunningEmulator,
    controller: ControllerHandle,
}

async fn start(args: &DevArgs) -> Result<Running, DevError> {
    let cluster = cluster::connect(args).await?;
    // Logging starts once the API server is up: kube's client logs every refused /readyz
    // poll of a starting server as an error, which would only alarm the person.
    controller::telemetry::init(controller::LogFormat::Text);
    let client = cluster.client().clone();
    let crds = crds::ensure(&client, args.crds_dir.as_deref()).await?;
    let emulator = emulator::start(args).await?;
    let endpoint = emulator.endpoint();
    emulator::create_default_cluster(&endpoint, &args.region).await?;

    let metrics = Metrics::new();
    // ECS, Application Auto Scaling and Cloud Map: the emulator serves all three.
    let ecs = SdkEcs::for_endpoint(&endpoint, &args.region, 3, metrics.ecs().clone()).await;
    let mut config = ControllerConfig::new(format!("ecs-bridge-dev-{}", std::process::id()));
    config.namespace = args.namespace.clone();
    config.metrics_addr = args.metrics_addr;
    let controller = controller::start(config, client, ecs, metrics).await?;
    Ok(Running { cluster, crds, emulator, controller })
}

impl Running {
    /// Stops in reverse start order: the controller first (so it writes nothing to a
    /// vanishing emulator or API server), then the emulator, then the control plane.
    async fn stop(self) {
        self.controller.shutdown().await;
        println!("Controller stopped.");
        if let Err(err) = self.emulator.shutdown().await {
            eprintln!("dev: the emulator stopped with an error: {err}");
        }
        println!("Emulator stopped.");
        self.cluster.stop().await;
    }
}
