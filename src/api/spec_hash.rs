//! The canonical hash of an EcsTaskDefinition spec.
//!
//! Task definitions are immutable in ECS: any change means registering a new revision.
//! The operator decides whether the spec changed by comparing this hash with the one
//! in `status.specHash`, so the hash must change exactly when what ECS would register
//! changes: it covers the RegisterTaskDefinition fields and leaves out the
//! operator-only ones (`revisionHistoryLimit`, `deletionPolicy`), and it does not
//! depend on the order of JSON object keys or on absent-versus-empty lists.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::task_definition::EcsTaskDefinitionSpec;

/// Spec fields that steer the operator but are never sent to ECS.
const OPERATOR_ONLY_FIELDS: [&str; 2] = ["revisionHistoryLimit", "deletionPolicy"];

/// The prefix that names the hash function, so a later change of scheme is visible.
const PREFIX: &str = "sha256:";

/// `sha256:<hex>` of the canonical JSON of the ECS-relevant fields of `spec`.
pub fn spec_hash(spec: &EcsTaskDefinitionSpec) -> String {
    // Serializing a plain struct of strings, numbers, maps and enums cannot fail.
    let mut value = serde_json::to_value(spec).expect("EcsTaskDefinitionSpec serializes to JSON");
    if let Value::Object(map) = &mut value {
        for field in OPERATOR_ONLY_FIELDS {
            map.remove(field);
        }
    }
    let mut canonical = String::new();
    write_canonical(&prune_empty(value).unwrap_or(Value::Null), &mut canonical);
    format!("{PREFIX}{}", hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// Drops nulls, empty arrays and empty objects, recursively: ECS treats an absent
/// list and an empty one alike, and so must the hash (a user who writes
/// `environment: []` has not changed the task definition).
fn prune_empty(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter_map(prune_empty).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Object(map) => {
            let map: serde_json::Map<String, Value> =
                map.into_iter().filter_map(|(k, v)| prune_empty(v).map(|v| (k, v))).collect();
            (!map.is_empty()).then_some(Value::Object(map))
        }
        other => Some(other),
    }
}

/// Writes JSON with object keys sorted and no whitespace. serde_json's own order
/// depends on a crate feature (`preserve_order`) any dependency may switch on, so the
/// order is fixed here instead.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::common::DeletionPolicy;
    use proptest::prelude::*;

    fn spec_from(json: Value) -> EcsTaskDefinitionSpec {
        serde_json::from_value(json).expect("valid spec")
    }

    fn nginx() -> Value {
        serde_json::json!({
            "family": "web",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{
                "name": "nginx",
                "image": "nginx:1.27",
                "portMappings": [{"containerPort": 80}],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "us-east-1"}}
            }]
        })
    }

    #[test]
    fn hash_is_prefixed_hex_sha256() {
        let hash = spec_hash(&spec_from(nginx()));
        let hex_part = hash.strip_prefix("sha256:").expect("prefixed");
        assert_eq!(hex_part.len(), 64);
        assert!(hex_part.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn operator_only_fields_do_not_change_the_hash() {
        let base = spec_from(nginx());
        let mut changed = base.clone();
        changed.revision_history_limit = Some(3);
        changed.deletion_policy = DeletionPolicy::Retain;
        assert_eq!(spec_hash(&base), spec_hash(&changed));
    }

    #[test]
    fn ecs_fields_change_the_hash() {
        let base = spec_from(nginx());
        let mut image = base.clone();
        image.container_definitions[0].image = "nginx:1.28".into();
        let mut memory = base.clone();
        memory.memory = Some("1024".into());
        let mut tags = base.clone();
        tags.tags.push(crate::api::common::Tag { key: "team".into(), value: "web".into() });
        let hashes = [spec_hash(&base), spec_hash(&image), spec_hash(&memory), spec_hash(&tags)];
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                assert_ne!(hashes[i], hashes[j], "specs {i} and {j} must hash differently");
            }
        }
    }

    #[test]
    fn empty_lists_hash_like_absent_ones() {
        let mut with_empty = nginx();
        with_empty["volumes"] = serde_json::json!([]);
        with_empty["containerDefinitions"][0]["command"] = serde_json::json!([]);
        with_empty["containerDefinitions"][0]["dockerLabels"] = serde_json::json!({});
        assert_eq!(spec_hash(&spec_from(nginx())), spec_hash(&spec_from(with_empty)));
    }

    #[test]
    fn the_canonical_form_and_hash_of_a_known_spec_are_pinned() {
        // Pinned so that a change to the canonical form (which would make the operator
        // register a new revision for every existing object) cannot slip in unnoticed.
        let spec = spec_from(serde_json::json!({
            "containerDefinitions": [{"name": "app", "image": "busybox", "memory": 128}]
        }));
        let mut value = serde_json::to_value(&spec).unwrap();
        value.as_object_mut().unwrap().remove("deletionPolicy");
        let mut canonical = String::new();
        write_canonical(&prune_empty(value).unwrap(), &mut canonical);
        assert_eq!(canonical, r#"{"containerDefinitions":[{"image":"busybox","memory":128,"name":"app"}]}"#);
        assert_eq!(spec_hash(&spec), "sha256:ce0510c0b1d025cd9c087bc1a6cfa7bc27c27f5975940870b5a55d81f51a4530");
    }

    /// JSON text of `value` with every object's keys in sorted order rotated left by
    /// `rotation`, so the same document can be written in many key orders.
    fn text_with_rotated_keys(value: &Value, rotation: usize) -> String {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                if !keys.is_empty() {
                    let n = rotation % keys.len();
                    keys.rotate_left(n);
                }
                let fields: Vec<String> = keys
                    .into_iter()
                    .map(|k| format!("{}:{}", Value::String(k.clone()), text_with_rotated_keys(&map[k], rotation)))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(|v| text_with_rotated_keys(v, rotation)).collect();
                format!("[{}]", items.join(","))
            }
            scalar => scalar.to_string(),
        }
    }

    proptest! {
        #[test]
        fn hash_ignores_key_order(rotation in 0usize..16) {
            let text = text_with_rotated_keys(&nginx(), rotation);
            let a = spec_from(nginx());
            let b: EcsTaskDefinitionSpec = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(spec_hash(&a), spec_hash(&b));
        }

        #[test]
        fn distinct_images_give_distinct_hashes(a in "[a-z]{1,12}(:[0-9]{1,3})?", b in "[a-z]{1,12}(:[0-9]{1,3})?") {
            let mut first = spec_from(nginx());
            first.container_definitions[0].image = a.clone();
            let mut second = spec_from(nginx());
            second.container_definitions[0].image = b.clone();
            prop_assert_eq!(spec_hash(&first) == spec_hash(&second), a == b);
        }

        #[test]
        fn canonical_form_is_valid_json_equal_to_the_input(rotation in 0usize..16) {
            let value: Value = serde_json::from_str(&text_with_rotated_keys(&nginx(), rotation)).unwrap();
            let mut text = String::new();
            write_canonical(&value, &mut text);
            let parsed: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&parsed, &value);
            let mut positions = Vec::new();
            let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
            keys.sort();
            for key in keys {
                positions.push(text.find(&format!("\"{key}\":")).unwrap());
            }
            prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "keys are written sorted: {}", text);
        }
    }
}
