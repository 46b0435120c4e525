//! Makes sure the operator's CustomResourceDefinitions are served before the controller
//! starts. They come from the binary itself (`ecs_bridge::api::crds()`), so dev mode needs no
//! files; CRDs already on the cluster are left alone, as someone else may manage them.

use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;

use crate::control_plane::crds as install;

use super::DevError;

/// What [`ensure`] found and did, by CRD name.
#[derive(Debug, Default)]
pub struct CrdReport {
    pub installed: Vec<String>,
    pub present: Vec<String>,
}

/// Installs the operator's CRDs that are missing (and every CRD of `extra_dir`), waiting
/// until they are Established.
pub async fn ensure(client: &kube::Client, extra_dir: Option<&Path>) -> Result<CrdReport, DevError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut report = CrdReport::default();
    let mut missing = String::new();
    let mut missing_names = Vec::new();
    for crd in crate::api::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        if api.get_opt(&name).await.map_err(DevError::CrdLookup)?.is_some() {
            report.present.push(name);
        } else {
            missing.push_str("---\n");
            missing.push_str(&crate::api::crds::crd_yaml(&crd));
            missing_names.push(name);
        }
    }
    if !missing_names.is_empty() {
        report.installed =
            install::install_from_yaml(client, "ecs-bridge's built-in CRDs", &missing).await.map_err(DevError::Crds)?;
    }
    // Present ones may still be establishing (a cluster someone just set up).
    install::wait_established(client, &report.present).await.map_err(DevError::Crds)?;
    if let Some(dir) = extra_dir {
        report.installed.extend(install::install_from_dir(client, dir).await.map_err(DevError::Crds)?);
    }
    Ok(report)
}
