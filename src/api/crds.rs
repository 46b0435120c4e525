//! The CustomResourceDefinitions as objects and as YAML, and the check that the
//! committed `crds/` directory matches them.
//!
//! `crds/` is what the Helm chart and users install, so it must never drift from the
//! Rust types: a unit test regenerates it in memory and fails when the files differ.
//! Regenerate with `ECS_BRIDGE_WRITE_CRDS=1 cargo test --lib api::crds`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{CustomResourceDefinition, JSONSchemaProps};
use kube::CustomResourceExt;
use serde_json::Value;

use super::capacity_provider::EcsCapacityProvider;
use super::cluster::EcsCluster;
use super::service::EcsService;
use super::task::EcsTask;
use super::task_definition::EcsTaskDefinition;

/// All CRDs of the API, in install order (task definitions before the services and
/// tasks that reference them).
pub fn crds() -> Vec<CustomResourceDefinition> {
    let mut crds = vec![
        EcsTaskDefinition::crd(),
        EcsService::crd(),
        EcsCluster::crd(),
        EcsTask::crd(),
        EcsCapacityProvider::crd(),
    ];
    for crd in &mut crds {
        for version in &mut crd.spec.versions {
            if let Some(schema) = version.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) {
                reflow_descriptions(schema);
            }
        }
    }
    crds
}

/// Joins the hard-wrapped lines of doc comments into paragraphs.
///
/// Doc comments are wrapped at ~90 columns for the source; `kubectl explain` wraps
/// again at the terminal's width, and kept line breaks would leave ragged half-lines.
/// Blank lines (paragraph breaks) survive.
fn reflow_descriptions(schema: &mut JSONSchemaProps) {
    // JSONSchemaProps nests schemas in many fields (properties, items, additionalProperties,
    // allOf...); editing its JSON form reaches all of them with one walk.
    let Ok(mut value) = serde_json::to_value(&*schema) else {
        return;
    };
    reflow_value(&mut value);
    if let Ok(reflowed) = serde_json::from_value(value) {
        *schema = reflowed;
    }
}

fn reflow_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match child {
                    Value::String(text) if key == "description" => *text = reflow(text),
                    _ => reflow_value(child),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(reflow_value),
        _ => {}
    }
}

/// One paragraph per blank-line-separated block, its lines joined with spaces.
fn reflow(text: &str) -> String {
    text.split("\n\n")
        .map(|paragraph| paragraph.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// One CRD as a YAML document (without the `---` separator).
pub fn crd_yaml(crd: &CustomResourceDefinition) -> String {
    // A CRD built from our own types is plain data; failing to serialize it is a bug.
    serde_yaml::to_string(crd).expect("a CustomResourceDefinition serializes to YAML")
}

/// All CRDs as a multi-document YAML stream, what `ecs-bridge crds` prints.
pub fn crds_yaml() -> String {
    crds().iter().map(|crd| format!("---\n{}", crd_yaml(crd))).collect()
}

/// The file name of a CRD in `crds/`: its full name, e.g.
/// `ecsservices.ecs-bridge.dev.yaml`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn crds_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds")
    }

    /// Fails when `crds/` differs from the types; with `ECS_BRIDGE_WRITE_CRDS=1` it
    /// rewrites the directory instead.
    #[test]
    fn committed_crds_are_up_to_date() {
        let dir = crds_dir();
        let expected: Vec<(String, String)> = crds().iter().map(|c| (crd_file_name(c), crd_yaml(c))).collect();
        if std::env::var_os("ECS_BRIDGE_WRITE_CRDS").is_some() {
            std::fs::create_dir_all(&dir).expect("create crds/");
            for entry in std::fs::read_dir(&dir).expect("read crds/") {
                let path = entry.expect("dir entry").path();
                if path.extension().is_some_and(|e| e == "yaml") {
                    std::fs::remove_file(&path).expect("remove old CRD file");
                }
            }
            for (name, yaml) in &expected {
                std::fs::write(dir.join(name), yaml).expect("write CRD file");
            }
        }
        let regenerate = "regenerate with: ECS_BRIDGE_WRITE_CRDS=1 cargo test --lib api::crds";
        let mut committed: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("crds/ is missing ({e}); {regenerate}"))
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".yaml"))
            .collect();
        committed.sort();
        let mut wanted: Vec<String> = expected.iter().map(|(n, _)| n.clone()).collect();
        wanted.sort();
        assert_eq!(committed, wanted, "crds/ holds other files than the CRDs; {regenerate}");
        for (name, yaml) in &expected {
            let on_disk = std::fs::read_to_string(dir.join(name)).expect("read CRD file");
            assert!(on_disk == *yaml, "crds/{name} is stale: it differs from the Rust types; {regenerate}");
        }
    }

    #[test]
    fn every_crd_is_namespaced_in_the_ecs_category_with_status() {
        for crd in crds() {
            let name = crd.metadata.name.clone().unwrap();
            assert!(name.ends_with(".ecs-bridge.dev"), "{name}");
            assert_eq!(crd.spec.scope, "Namespaced", "{name}");
            assert_eq!(crd.spec.names.categories.as_deref(), Some(&["ecs".to_owned()][..]), "{name}");
            assert!(crd.spec.names.short_names.as_ref().is_some_and(|s| !s.is_empty()), "{name}");
            let version = &crd.spec.versions[0];
            assert_eq!(version.name, "v1alpha1");
            assert!(
                version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(),
                "{name} has a status subresource"
            );
        }
    }

    #[test]
    fn the_service_scales_through_desired_count() {
        let crd = EcsService::crd();
        let scale = crd.spec.versions[0].subresources.as_ref().unwrap().scale.as_ref().expect("scale subresource");
        assert_eq!(scale.spec_replicas_path, ".spec.desiredCount");
        assert_eq!(scale.status_replicas_path, ".status.runningCount");
    }

    #[test]
    fn reflow_joins_lines_and_keeps_paragraphs() {
        assert_eq!(reflow("one\ntwo\n\nthree\n  four"), "one two\n\nthree four");
        assert_eq!(reflow("single"), "single");
    }

    #[test]
    fn descriptions_have_no_hard_wraps() {
        let yaml = serde_json::to_string(&crds()).unwrap();
        let schema: Value = serde_json::from_str(&yaml).unwrap();
        fn check(value: &Value) {
            match value {
                Value::Object(map) => {
                    for (key, child) in map {
                        if let (true, Value::String(text)) = (key == "description", child) {
                            let without_paragraphs = text.replace("\n\n", "");
                            assert!(!without_paragraphs.contains('\n'), "hard-wrapped description: {text:?}");
                        } else {
                            check(child);
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(check),
                _ => {}
            }
        }
        check(&schema);
    }

    /// Walks every schema node of every CRD, with its JSON path.
    fn for_each_schema(visit: &mut dyn FnMut(&str, &Value)) {
        fn walk(path: &str, node: &Value, visit: &mut dyn FnMut(&str, &Value)) {
            visit(path, node);
            if let Some(properties) = node.get("properties").and_then(Value::as_object) {
                for (name, child) in properties {
                    walk(&format!("{path}.{name}"), child, visit);
                }
            }
            if let Some(items) = node.get("items") {
                walk(&format!("{path}[]"), items, visit);
            }
            if let Some(values) = node.get("additionalProperties").filter(|v| v.is_object()) {
                walk(&format!("{path}{{}}"), values, visit);
            }
        }
        for crd in crds() {
            let kind = crd.spec.names.kind.clone();
            let schema = serde_json::to_value(&crd.spec.versions[0].schema).unwrap();
            walk(&kind, &schema["openAPIV3Schema"], visit);
        }
    }

    /// `kubectl explain` is only as good as the descriptions: every field has one.
    #[test]
    fn every_field_is_documented() {
        let mut undocumented = Vec::new();
        let mut fields = 0;
        for_each_schema(&mut |path, node| {
            fields += 1;
            let documented = node.get("description").and_then(Value::as_str).is_some_and(|d| !d.trim().is_empty());
            // List items and map values are described by their field.
            if !documented && !path.ends_with("[]") && !path.ends_with("{}") {
                undocumented.push(path.to_owned());
            }
        });
        assert!(fields > 200, "the walk reaches every field ({fields} visited)");
        assert!(undocumented.is_empty(), "fields without a description: {undocumented:#?}");
    }

    /// A CEL rule without a message makes the API server answer "failed rule: <CEL>",
    /// which tells a user nothing about what to fix.
    #[test]
    fn every_cel_rule_has_a_message() {
        let mut rules = 0;
        for_each_schema(&mut |path, node| {
            for rule in node.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten() {
                rules += 1;
                let message = rule.get("message").and_then(Value::as_str).unwrap_or_default();
                assert!(
                    !message.is_empty() && !message.contains('\n'),
                    "{path}: rule {} needs a one-line message",
                    rule["rule"]
                );
            }
        });
        assert!(rules >= 25, "the rules of issue 6 are all there ({rules} found)");
    }

    /// Immutable fields are guarded by transition rules (the ones that use `oldSelf`).
    #[test]
    fn immutable_fields_have_transition_rules() {
        let mut transition_rules = Vec::new();
        for_each_schema(&mut |path, node| {
            for rule in node.get("x-kubernetes-validations").and_then(Value::as_array).into_iter().flatten() {
                let text = rule["rule"].as_str().unwrap_or_default();
                if text.contains("oldSelf") {
                    transition_rules.push(format!("{path}: {text}"));
                }
            }
        });
        for field in [
            "EcsService.spec.cluster:",
            "EcsService.spec.schedulingStrategy:",
            "self.spec.serviceName",
            "self.spec.family",
            "self.spec.clusterName",
            "EcsTask: self.spec == oldSelf.spec",
            "self.spec.name",
            "self.autoScalingGroupArn == oldSelf.autoScalingGroupArn",
        ] {
            assert!(
                transition_rules.iter().any(|r| r.contains(field)),
                "no transition rule for {field}: {transition_rules:#?}"
            );
        }
    }

    /// Lists that two managers may edit (server-side apply) are maps keyed by name.
    #[test]
    fn keyed_lists_merge_by_name() {
        let mut keys = std::collections::BTreeMap::new();
        for_each_schema(&mut |path, node| {
            if node.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
                keys.insert(path.to_owned(), node["x-kubernetes-list-map-keys"].clone());
            }
        });
        for (path, key) in [
            ("EcsTaskDefinition.spec.containerDefinitions", json!(["name"])),
            ("EcsTaskDefinition.spec.containerDefinitions[].environment", json!(["name"])),
            ("EcsTaskDefinition.spec.containerDefinitions[].secrets", json!(["name"])),
            ("EcsTaskDefinition.spec.containerDefinitions[].portMappings", json!(["containerPort"])),
            ("EcsService.spec.tags", json!(["key"])),
            ("EcsService.status.conditions", json!(["type"])),
        ] {
            assert_eq!(keys.get(path), Some(&key), "{path}");
        }
    }

    #[test]
    fn the_yaml_stream_holds_every_crd() {
        let yaml = crds_yaml();
        assert_eq!(yaml.matches("---\n").count(), 5);
        for kind in ["EcsTaskDefinition", "EcsService", "EcsCluster", "EcsTask", "EcsCapacityProvider"] {
            assert!(yaml.contains(&format!("kind: {kind}\n")), "{kind} missing");
        }
    }
}
