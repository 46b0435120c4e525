//! The operator: reconciles EcsTaskDefinition, EcsCluster, EcsService, EcsTask
//! and EcsCapacityProvider objects into ECS.
//!
//! Layout: one module per kind ([`task_definition`], [`cluster`], [`service`],
//! [`task`], [`capacity_provider`]), each
//! split into pure decisions (`plan`), the ECS engine (`sync`) and the Kubernetes
//! glue (`mod`); EcsService adds the fleet's batched resync and the mirroring of
//! ECS's service events. Around them the shared runtime: [`runtime`] wires the HTTP
//! endpoints, [`leader`] election and the reconcilers; [`context`] is what every
//! reconcile gets, [`outcome`] writes what it decided, [`backoff`] and [`metrics`]
//! serve all kinds. [`run`] is `ecs-bridge controller`; [`start`] runs the same
//! controller inside another process (tests, dev mode).

pub mod backoff;
pub mod cache;
pub mod capacity_provider;
pub mod cluster;
pub mod context;
pub mod error;
pub mod failpoint;
pub mod finalize;
mod http;
pub mod leader;
pub mod metrics;
pub mod outcome;
pub mod runtime;
pub mod service;
pub mod startup;
pub mod status;
pub mod tags;
pub mod task;
pub mod task_definition;
pub mod telemetry;

use std::net::SocketAddr;
use std::time::Duration;

pub use backoff::RetryPolicy;
pub use context::{Clock, FixedClock, SystemClock};
pub use error::ReconcileError;
pub use leader::LeaseSettings;
pub use metrics::Metrics;
pub use runtime::{ControllerConfig, ControllerHandle, StartError, start};
pub use telemetry::LogFormat;

use crate::ecs::{EcsSettings, SdkEcs};

/// `ecs-bridge controller`: run the operator.
#[derive(Debug, Clone, clap::Args)]
pub struct ControllerArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "ECS_BRIDGE_NAMESPACE")]
    pub namespace: Option<String>,

    /// ECS endpoint URL, e.g. the emulator's `http://127.0.0.1:4566`; Application Auto
    /// Scaling and Cloud Map are called there too. Default: `AWS_ENDPOINT_URL_ECS` if
    /// set, else ECS's regional endpoint (and theirs).
    #[arg(long)]
    pub ecs_endpoint: Option<String>,

    /// AWS region (default: aws-config's chain: AWS_REGION, profile, IMDS).
    #[arg(long)]
    pub region: Option<String>,

    /// Reconciles in flight per kind.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,

    /// Seconds between reconciles of a healthy object (drift, ECS's counts).
    #[arg(long, default_value_t = 300)]
    pub resync_seconds: u64,

    /// Seconds between polls of an ECS service while its rollout is in progress.
    #[arg(long, default_value_t = 5)]
    pub rollout_poll_seconds: u64,

    /// Seconds between looks at an EcsTask's tasks while they run.
    #[arg(long, default_value_t = 3)]
    pub task_poll_seconds: u64,

    /// Attempts per ECS call, the first included (the SDK's standard retries).
    #[arg(long, default_value_t = 3)]
    pub ecs_max_attempts: u32,

    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,

    /// Log line format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Elect a leader through a Lease, so that several replicas can run and
    /// only one writes. Set to false for a single replica without a Lease.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,

    /// Name of the Lease.
    #[arg(long, default_value = "ecs-bridge-controller")]
    pub lease_name: String,

    /// Namespace of the Lease (default: `POD_NAMESPACE`, else `default`).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,

    /// Seconds a Lease stays valid without renewal.
    #[arg(long, default_value_t = 15)]
    pub lease_duration_seconds: u64,

    /// Seconds the leader keeps trying to renew before it steps down (< lease duration).
    #[arg(long, default_value_t = 10)]
    pub renew_deadline_seconds: u64,

    /// Seconds between attempts to acquire or renew the Lease.
    #[arg(long, default_value_t = 2)]
    pub retry_period_seconds: u64,

    /// This replica's identity in the Lease and in events (default: `POD_NAME`, else host name and PID).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
}

/// Why `ecs-bridge controller` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    #[error("invalid flags: {0}")]
    InvalidFlags(String),
    #[error("cannot build a Kubernetes client (kubeconfig or in-cluster config): {0}")]
    KubeClient(#[source] kube::Error),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("cannot listen for termination signals: {0}")]
    Signals(#[source] std::io::Error),
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ecs-bridge".to_owned());
    format!("{host}-{}", std::process::id())
}

impl ControllerArgs {
    /// The runtime configuration these flags describe.
    pub fn config(&self) -> Result<ControllerConfig, ControllerError> {
        if self.concurrency == 0 {
            return Err(ControllerError::InvalidFlags("--concurrency must be at least 1".to_owned()));
        }
        if self.resync_seconds == 0 {
            return Err(ControllerError::InvalidFlags("--resync-seconds must be at least 1".to_owned()));
        }
        let identity = self.identity.clone().unwrap_or_else(default_identity);
        let leader_election = if self.leader_elect {
            if self.renew_deadline_seconds >= self.lease_duration_seconds || self.retry_period_seconds == 0 {
                return Err(ControllerError::InvalidFlags(
                    "--renew-deadline-seconds must be shorter than --lease-duration-seconds, and --retry-period-seconds at least 1"
                        .to_owned(),
                ));
            }
            Some(LeaseSettings {
                name: self.lease_name.clone(),
                namespace: self.lease_namespace.clone().unwrap_or_else(|| "default".to_owned()),
                identity: identity.clone(),
                lease_duration: Duration::from_secs(self.lease_duration_seconds),
                renew_deadline: Duration::from_secs(self.renew_deadline_seconds),
                retry_period: Duration::from_secs(self.retry_period_seconds),
            })
        } else {
            None
        };
        Ok(ControllerConfig {
            namespace: self.namespace.clone(),
            concurrency: self.concurrency,
            resync: Duration::from_secs(self.resync_seconds),
            metrics_addr: self.metrics_addr,
            leader_election,
            identity,
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(20),
            rollout_poll: Duration::from_secs(self.rollout_poll_seconds.max(1)),
            task: task::plan::Policy {
                poll: Duration::from_secs(self.task_poll_seconds.max(1)),
                ..task::plan::Policy::default()
            },
        })
    }

    /// How to reach ECS.
    pub fn ecs_settings(&self) -> EcsSettings {
        EcsSettings {
            region: self.region.clone(),
            endpoint: self.ecs_endpoint.clone(),
            max_attempts: self.ecs_max_attempts,
            ..EcsSettings::default()
        }
    }
}

/// Runs the controller until SIGTERM/SIGINT.
pub async fn run(args: ControllerArgs) -> Result<(), ControllerError> {
    telemetry::init(args.log_format);
    let config = args.config()?;
    // rustls is linked with two crypto back-ends (kube's ring, the AWS SDK's
    // aws-lc-rs) and refuses to guess; pick one before the first TLS client.
    crate::tls::install_tls_provider();
    let client = kube::Client::try_default().await.map_err(ControllerError::KubeClient)?;
    let metrics = Metrics::new();
    let ecs = SdkEcs::connect(&args.ecs_settings(), metrics.ecs().clone()).await;
    let handle = start(config, client, ecs, metrics).await?;
    tracing::info!(endpoints = %handle.metrics_addr(), "controller running");
    let mut signals = crate::shutdown::Signals::listen().map_err(ControllerError::Signals)?;
    let signal = signals.received().await;
    tracing::info!("{}: shutting down", signal.name());
    handle.shutdown().await;
    tracing::info!("controller stopped");
    Ok(())
}
