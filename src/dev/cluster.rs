//! Which Kubernetes API server dev mode uses: the one the current kubeconfig reaches, or,
//! when there is none (or `--local-control-plane` asks for it), a throwaway local control
//! plane that lives exactly as long as dev mode.

use std::time::Duration;

use crate::control_plane::{ControlPlane, StartOptions};

use super::{DevArgs, DevError, install};

/// How long the current kubeconfig's cluster gets to answer a version request. Short: a
/// person is waiting, and a cluster that slow is not one to try things on.
const REACH_TIMEOUT: Duration = Duration::from_secs(5);

/// The API server dev mode runs against.
pub enum Cluster {
    /// A cluster someone else runs, reached through the current kubeconfig context; dev
    /// mode leaves it as it found it, apart from CRDs it installed.
    Existing { client: kube::Client, server_url: String, context: Option<String> },
    /// The local control plane dev mode started.
    Local(Box<ControlPlane>),
}

impl Cluster {
    pub fn client(&self) -> &kube::Client {
        match self {
            Cluster::Existing { client, .. } => client,
            Cluster::Local(control_plane) => control_plane.client(),
        }
    }

    pub fn server_url(&self) -> &str {
        match self {
            Cluster::Existing { server_url, .. } => server_url,
            Cluster::Local(control_plane) => control_plane.server_url(),
        }
    }

    /// Stops the local control plane (waiting for both servers to exit); an existing
    /// cluster is left running.
    pub async fn stop(self) {
        match self {
            Cluster::Existing { .. } => {}
            Cluster::Local(control_plane) => {
                // Stopping waits for the processes to exit; keep that off the async workers.
                let stopped = tokio::task::spawn_blocking(move || control_plane.stop()).await;
                if stopped.is_err() {
                    eprintln!("dev: stopping the control plane panicked; its watchdog removes what is left");
                }
                println!("Control plane stopped.");
            }
        }
    }
}

/// Picks the cluster as described in the module docs.
pub async fn connect(args: &DevArgs) -> Result<Cluster, DevError> {
    if !args.local_control_plane {
        match current_kubeconfig().await {
            Ok(cluster) => {
                eprintln!("dev: using the cluster of the current kubeconfig ({})", cluster.server_url());
                return Ok(cluster);
            }
            Err(why) => {
                eprintln!("dev: the current kubeconfig reaches no cluster ({why}); starting a local control plane")
            }
        }
    }
    Ok(Cluster::Local(Box::new(start_local_control_plane().await?)))
}

/// Starts the local control plane, building its binaries first if they are not cached.
pub async fn start_local_control_plane() -> Result<ControlPlane, DevError> {
    let binaries = install::ensure_binaries().await?;
    let options = StartOptions { binaries: Some(binaries), ..StartOptions::default() };
    Ok(ControlPlane::start(options).await?)
}

/// The cluster of the current kubeconfig context (or the in-cluster configuration), if it
/// answers a cheap request in time; otherwise why not, in a few words.
async fn current_kubeconfig() -> Result<Cluster, String> {
    let config = kube::Config::infer().await.map_err(|e| e.to_string())?;
    let server_url = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| e.to_string())?;
    match tokio::time::timeout(REACH_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(format!("{server_url}: {e}")),
        Err(_) => {
            return Err(format!("{server_url} did not answer within {REACH_TIMEOUT:?}"));
        }
    }
    let context = kube::config::Kubeconfig::read().ok().and_then(|k| k.current_context);
    Ok(Cluster::Existing { client, server_url, context })
}
