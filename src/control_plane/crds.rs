//! Installing CustomResourceDefinitions: from a directory of YAML files (the repository's
//! `crds/`) or a YAML stream, with server-side apply, then waiting until the API server
//! serves them (condition Established), so callers can use the new kinds at once.

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};

use super::ControlPlaneError;
use super::manifests::{self, Manifest};

/// Field manager for CRDs installed here.
pub const FIELD_MANAGER: &str = "ecs-bridge-control-plane";

const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(60);

/// Installs the CRDs of every `*.yaml` / `*.yml` file in `dir` (multi-document files are
/// fine, an empty directory installs nothing) and returns their names once Established.
pub async fn install_from_dir(client: &kube::Client, dir: &Path) -> Result<Vec<String>, ControlPlaneError> {
    let read_error = |e| ControlPlaneError::io(format!("cannot read the CRD directory {}", dir.display()), e);
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_error)? {
        let path = entry.map_err(read_error)?.path();
        let is_yaml = path.extension().is_some_and(|ext| ext == "yaml" || ext == "yml");
        if is_yaml && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    let mut crds = Vec::new();
    for file in &files {
        let yaml = std::fs::read_to_string(file)
            .map_err(|e| ControlPlaneError::io(format!("cannot read {}", file.display()), e))?;
        crds.extend(crd_manifests(&file.display().to_string(), &yaml)?);
    }
    install(client, &crds).await
}

/// Installs the CRDs of a YAML stream (for example `ecs_bridge::api::crds_yaml()`).
pub async fn install_from_yaml(
    client: &kube::Client,
    source_name: &str,
    yaml: &str,
) -> Result<Vec<String>, ControlPlaneError> {
    install(client, &crd_manifests(source_name, yaml)?).await
}

/// Waits until every named CRD has the condition Established=True.
pub async fn wait_established(client: &kube::Client, names: &[String]) -> Result<(), ControlPlaneError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let start = Instant::now();
    for name in names {
        loop {
            let conditions = match api.get_opt(name).await {
                Ok(Some(crd)) => crd.status.and_then(|s| s.conditions).unwrap_or_default(),
                Ok(None) | Err(_) => Vec::new(),
            };
            if conditions.iter().any(|c| c.type_ == "Established" && c.status == "True") {
                break;
            }
            if start.elapsed() > ESTABLISH_TIMEOUT {
                let conditions = conditions
                    .iter()
                    .map(|c| format!("{}={} {}", c.type_, c.status, c.message.as_deref().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(ControlPlaneError::CrdNotEstablished {
                    name: name.clone(),
                    waited: ESTABLISH_TIMEOUT,
                    conditions,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

fn crd_manifests(source_name: &str, yaml: &str) -> Result<Vec<Manifest>, ControlPlaneError> {
    let manifests = manifests::parse(source_name, yaml)?;
    if let Some(other) = manifests.iter().find(|m| m.kind != "CustomResourceDefinition") {
        return Err(ControlPlaneError::NotACrd {
            source_name: source_name.to_string(),
            index: other.document,
            kind: other.kind.clone(),
        });
    }
    Ok(manifests)
}

async fn install(client: &kube::Client, crds: &[Manifest]) -> Result<Vec<String>, ControlPlaneError> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(FIELD_MANAGER).force();
    for crd in crds {
        api.patch(&crd.name, &params, &Patch::Apply(&crd.body)).await.map_err(|source| ControlPlaneError::Apply {
            kind: crd.kind.clone(),
            name: crd.name.clone(),
            source,
        })?;
    }
    let names: Vec<String> = crds.iter().map(|crd| crd.name.clone()).collect();
    wait_established(client, &names).await?;
    Ok(names)
}
