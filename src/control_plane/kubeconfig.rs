//! The kubeconfig of a local control plane, and clients built from it. The file names the
//! certificate files by absolute path, so kubectl, helm and kube-rs all read the same file.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::{ControlPlaneError, pki::Pki};
use crate::tls::install_tls_provider;

/// Name of the cluster, user and context in the kubeconfig.
pub const CONTEXT: &str = "ecs-bridge-local";

/// Writes a kubeconfig for `server` authenticating as the admin user of `pki`.
pub fn write(path: &Path, server: &str, pki: &Pki) -> Result<(), ControlPlaneError> {
    let p = |path: &Path| serde_json::Value::String(path.display().to_string());
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{
            "name": CONTEXT,
            "cluster": { "server": server, "certificate-authority": p(&pki.ca_cert) },
        }],
        "users": [{
            "name": "admin",
            "user": { "client-certificate": p(&pki.admin_cert), "client-key": p(&pki.admin_key) },
        }],
        "contexts": [{
            "name": CONTEXT,
            "context": { "cluster": CONTEXT, "user": "admin", "namespace": "default" },
        }],
        "current-context": CONTEXT,
    });
    let yaml = serde_yaml::to_string(&config)
        .map_err(|e| ControlPlaneError::io("cannot render the kubeconfig", std::io::Error::other(e)))?;
    std::fs::write(path, yaml).map_err(|e| ControlPlaneError::io(format!("cannot write {}", path.display()), e))
}

/// Loads the client configuration from a kubeconfig file (its current context).
pub async fn load_config(path: &Path) -> Result<kube::Config, ControlPlaneError> {
    let error = |source| ControlPlaneError::Kubeconfig { path: path.to_path_buf(), source };
    let kubeconfig = Kubeconfig::read_from(path).map_err(error)?;
    kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.map_err(error)
}

/// A client for the kubeconfig's current context.
///
/// A `kube::Client` runs its connection on the tokio runtime that built it, so code running
/// on another runtime (each `#[tokio::test]` has its own) must build its own client.
pub async fn client(path: &Path) -> Result<kube::Client, ControlPlaneError> {
    client_from(load_config(path).await?)
}

/// Builds a client from a (possibly adjusted, e.g. impersonating) configuration.
pub fn client_from(config: kube::Config) -> Result<kube::Client, ControlPlaneError> {
    install_tls_provider();
    let server = config.cluster_url.to_string();
    kube::Client::try_from(config).map_err(|source| ControlPlaneError::Client { server, source })
}
