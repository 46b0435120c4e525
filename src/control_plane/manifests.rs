//! Kubernetes manifests as YAML streams: splitting them into objects and applying them with
//! server-side apply, resolving each kind through API discovery (so custom resources work
//! as soon as their CRD is served).

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersion;
use kube::discovery::Scope;
use serde::Deserialize;

use super::ControlPlaneError;

/// Field manager for objects applied through [`apply_yaml`].
pub const FIELD_MANAGER: &str = "ecs-bridge-apply";

/// One object of a YAML stream, with the fields needed to address it.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    /// Position of its document in the stream, from 1 (empty documents count), for messages.
    pub document: usize,
    /// The whole object, as sent to the API server.
    pub body: serde_json::Value,
}

/// Splits a multi-document YAML stream into objects; empty documents are skipped.
/// `source_name` (a file name, say) only appears in error messages.
pub fn parse(source_name: &str, yaml: &str) -> Result<Vec<Manifest>, ControlPlaneError> {
    let mut manifests = Vec::new();
    for (i, document) in serde_yaml::Deserializer::from_str(yaml).enumerate() {
        let index = i + 1;
        let body = serde_json::Value::deserialize(document).map_err(|source| ControlPlaneError::Yaml {
            source_name: source_name.to_string(),
            index,
            source,
        })?;
        if body.is_null() {
            continue;
        }
        let bad = |problem: &str| ControlPlaneError::BadDocument {
            source_name: source_name.to_string(),
            index,
            problem: problem.to_string(),
        };
        let field = |pointer: &str| body.pointer(pointer).and_then(|v| v.as_str()).map(str::to_string);
        let api_version = field("/apiVersion").ok_or_else(|| bad("has no apiVersion"))?;
        let kind = field("/kind").ok_or_else(|| bad("has no kind"))?;
        let name = field("/metadata/name").ok_or_else(|| bad("has no metadata.name"))?;
        let namespace = field("/metadata/namespace");
        manifests.push(Manifest { api_version, kind, name, namespace, document: index, body });
    }
    Ok(manifests)
}

/// Applies every object of a YAML stream (server-side apply, forcing conflicts) and returns
/// them as the server stored them. Namespaced objects without a namespace go to `namespace`,
/// or the client's default namespace when that is `None`.
pub async fn apply_yaml(
    client: &kube::Client,
    namespace: Option<&str>,
    yaml: &str,
) -> Result<Vec<DynamicObject>, ControlPlaneError> {
    let mut applied = Vec::new();
    for manifest in parse("YAML", yaml)? {
        applied.push(apply(client, namespace, &manifest).await?);
    }
    Ok(applied)
}

/// Applies one object; see [`apply_yaml`].
pub async fn apply(
    client: &kube::Client,
    namespace: Option<&str>,
    manifest: &Manifest,
) -> Result<DynamicObject, ControlPlaneError> {
    let unknown = |source| ControlPlaneError::UnknownKind {
        api_version: manifest.api_version.clone(),
        kind: manifest.kind.clone(),
        source,
    };
    let gvk = manifest
        .api_version
        .parse::<GroupVersion>()
        .map_err(|e| ControlPlaneError::InvalidApiVersion {
            api_version: manifest.api_version.clone(),
            reason: e.to_string(),
        })?
        .with_kind(&manifest.kind);
    let (resource, capabilities) = kube::discovery::pinned_kind(client, &gvk).await.map_err(unknown)?;
    let api: Api<DynamicObject> = match (capabilities.scope, manifest.namespace.as_deref().or(namespace)) {
        (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
        (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
        (Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), &resource),
    };
    api.patch(&manifest.name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&manifest.body))
        .await
        .map_err(|source| ControlPlaneError::Apply { kind: manifest.kind.clone(), name: manifest.name.clone(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_splits_into_objects_and_skips_empty_documents() {
        let yaml = "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: ns\n\
                    ---\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: { name: b }\n";
        let manifests = parse("stream", yaml).expect("parse");
        let summary: Vec<_> = manifests
            .iter()
            .map(|m| (m.api_version.as_str(), m.kind.as_str(), m.name.as_str(), m.namespace.as_deref()))
            .collect();
        assert_eq!(summary, [("v1", "ConfigMap", "a", Some("ns")), ("apps/v1", "Deployment", "b", None)]);
        assert_eq!(manifests[1].body["metadata"]["name"], "b");
    }

    #[test]
    fn an_object_without_a_name_is_refused_with_its_position() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\napiVersion: v1\nkind: ConfigMap\n";
        match parse("file.yaml", yaml) {
            Err(ControlPlaneError::BadDocument { source_name, index, problem }) => {
                assert_eq!((source_name.as_str(), index), ("file.yaml", 2));
                assert!(problem.contains("metadata.name"), "{problem}");
            }
            other => panic!("expected a BadDocument error, got {other:?}"),
        }
    }

    #[test]
    fn invalid_yaml_is_refused_with_its_position() {
        let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n---\nkind: [unclosed\n";
        assert!(matches!(parse("f", yaml), Err(ControlPlaneError::Yaml { index: 2, .. })));
    }
}
