//! Reading manifests as `kubectl apply -f` does: files, directories (their
//! `.yaml`, `.yml` and `.json` files, in name order), `-` for stdin; several YAML
//! documents per file. Objects of other kinds (a ConfigMap beside an EcsService)
//! are skipped; a document that is not valid YAML, or an ecs-bridge object that
//! does not match its schema, is an error that names the file and the document.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::api::{EcsCluster, EcsService, EcsTaskDefinition, GROUP};

/// One ecs-bridge object from the input.
#[derive(Debug, Clone)]
pub enum Manifest {
    Cluster(Box<EcsCluster>),
    TaskDefinition(Box<EcsTaskDefinition>),
    Service(Box<EcsService>),
}

/// A manifest and where it came from (`path#document`), for messages.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: String,
    pub manifest: Manifest,
}

/// Why the input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{source_name}: not a valid manifest: {message}")]
    Invalid { source_name: String, message: String },
}

/// Reads every ecs-bridge object in `inputs`, in order.
pub fn load(inputs: &[String]) -> Result<Vec<Loaded>, LoadError> {
    let mut loaded = Vec::new();
    for input in inputs {
        if input == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| LoadError::Read { path: "stdin".to_owned(), source })?;
            loaded.extend(parse("stdin", &text)?);
            continue;
        }
        for path in files(Path::new(input))? {
            let text = std::fs::read_to_string(&path)
                .map_err(|source| LoadError::Read { path: path.display().to_string(), source })?;
            loaded.extend(parse(&path.display().to_string(), &text)?);
        }
    }
    Ok(loaded)
}

/// `path` itself, or the manifest files under it, sorted.
fn files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let read_err = |source| LoadError::Read { path: path.display().to_string(), source };
    if !path.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(path).map_err(read_err)? {
        let entry_path = entry.map_err(read_err)?.path();
        if entry_path.is_dir() {
            found.extend(files(&entry_path)?);
        } else if entry_path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            found.push(entry_path);
        }
    }
    found.sort();
    Ok(found)
}

/// The ecs-bridge objects of one file's YAML documents.
pub fn parse(source: &str, text: &str) -> Result<Vec<Loaded>, LoadError> {
    let mut loaded = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let source_name = format!("{source}#{}", index + 1);
        let invalid = |message: String| LoadError::Invalid { source_name: source_name.clone(), message };
        let value = serde_json::Value::deserialize(document).map_err(|e| invalid(e.to_string()))?;
        if value.is_null() {
            continue;
        }
        let api_version = value.get("apiVersion").and_then(|v| v.as_str()).unwrap_or_default();
        let kind = value.get("kind").and_then(|v| v.as_str()).unwrap_or_default();
        if api_version.split('/').next() != Some(GROUP) {
            if api_version.is_empty() || kind.is_empty() {
                return Err(invalid("apiVersion and kind are required".to_owned()));
            }
            continue;
        }
        let manifest = match kind {
            "EcsCluster" => Manifest::Cluster(Box::new(typed(value).map_err(invalid)?)),
            "EcsTaskDefinition" => Manifest::TaskDefinition(Box::new(typed(value).map_err(invalid)?)),
            "EcsService" => Manifest::Service(Box::new(typed(value).map_err(invalid)?)),
            _ => continue,
        };
        loaded.push(Loaded { source: source_name, manifest });
    }
    Ok(loaded)
}

fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| format!("{}: {}", e.path(), e.inner()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_document_and_skips_other_kinds() {
        let text = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
---
apiVersion: ecs-bridge.dev/v1alpha1
kind: EcsTaskDefinition
metadata: {name: web}
spec:
  containerDefinitions: [{name: app, image: nginx, memory: 64}]
---
apiVersion: ecs-bridge.dev/v1alpha1
kind: EcsService
metadata: {name: web}
spec: {cluster: demo, taskDefinitionRef: {name: web}, desiredCount: 2}
";
        let loaded = parse("a.yaml", text).expect("valid");
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[0].source, "a.yaml#2");
        assert!(matches!(&loaded[1].manifest, Manifest::Service(s) if s.spec.desired_count == Some(2)));
    }

    #[test]
    fn a_malformed_document_names_its_place() {
        let bad_yaml = parse("b.yaml", "apiVersion: [unclosed").expect_err("not YAML");
        assert!(bad_yaml.to_string().starts_with("b.yaml#1: not a valid manifest"), "{bad_yaml}");
        let bad_field = "apiVersion: ecs-bridge.dev/v1alpha1\nkind: EcsService\nmetadata: {name: web}\nspec: {desiredCount: many}\n";
        let err = parse("c.yaml", bad_field).expect_err("schema");
        assert!(err.to_string().contains("spec.desiredCount"), "{err}");
    }
}
