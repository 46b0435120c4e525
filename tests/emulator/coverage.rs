//! Every operation of ECS's model is served. The model's list comes from
//! the `aws-sdk-ecs` crate this project builds against (each of its
//! `src/operation/*.rs` names its operation as ECS's wire does, in
//! `Metadata::new("DescribeClusters", "ECS")`), so upgrading the SDK brings
//! the model's new operations into this test without an edit.
//!
//! The unserved set must be exactly `UNSUPPORTED_OPERATIONS` (each
//! answering `UnsupportedFeatureException`), so an operation can be neither
//! lost nor silently left out, and [`no_operation_of_the_model_is_unsupported`]
//! holds that list empty: an SDK upgrade that brings new operations fails
//! here until they are served.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use ecs_bridge::emulator::{OPERATIONS, UNSUPPORTED_OPERATIONS};

use crate::support::{raw, start, target};

/// The `src/` directory of the `aws-sdk-ecs` this build resolved, from
/// `cargo metadata`.
pub fn sdk_source() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
    let manifest = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "aws-sdk-ecs")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("aws-sdk-ecs is a dependency");
    PathBuf::from(manifest).parent().expect("crate directory").join("src")
}

/// ECS's operations, as the SDK's model names them.
fn model_operations() -> BTreeSet<String> {
    let dir = sdk_source().join("operation");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("operation module");
        let name = text
            .split("Metadata::new(")
            .nth(1)
            .and_then(|rest| rest.split('"').nth(1))
            .unwrap_or_else(|| panic!("{} names no operation", path.display()));
        found.insert(name.to_owned());
    }
    assert!(found.len() > 80, "the model lists {} operations: {found:?}", found.len());
    found
}

fn served() -> BTreeSet<String> {
    OPERATIONS.iter().map(|(name, _)| (*name).to_owned()).collect()
}

fn unsupported() -> BTreeSet<String> {
    UNSUPPORTED_OPERATIONS.iter().map(|name| (*name).to_owned()).collect()
}

#[tokio::test]
async fn every_operation_of_the_model_is_served_or_listed_unsupported() {
    let model = model_operations();
    let served = served();
    let invented: Vec<_> = served.difference(&model).collect();
    assert!(invented.is_empty(), "served but not in ECS's model: {invented:?}");
    let unserved: BTreeSet<String> = model.difference(&served).cloned().collect();
    let unsupported = unsupported();
    let unlisted: Vec<_> = unserved.difference(&unsupported).collect();
    let stale: Vec<_> = unsupported.difference(&unserved).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "not served and not in UNSUPPORTED_OPERATIONS: {unlisted:?}; in UNSUPPORTED_OPERATIONS but served or not in the model: {stale:?}"
    );

    // Over HTTP: every served operation reaches its handler (whatever it
    // thinks of an empty body), every other one is refused as unsupported.
    let (emulator, _) = start().await;
    for name in &model {
        let (_, body) = raw(&emulator.endpoint(), Some(&target(name)), "{}").await;
        let kind = body["__type"].as_str().unwrap_or_default();
        assert_ne!(kind, "UnknownOperationException", "{name}: {body}");
        if served.contains(name) {
            assert_ne!(kind, "UnsupportedFeatureException", "{name} is served: {body}");
        } else {
            assert_eq!(kind, "UnsupportedFeatureException", "{name}: {body}");
        }
    }
}

#[test]
fn no_operation_of_the_model_is_unsupported() {
    let unserved: Vec<String> = model_operations().difference(&served()).cloned().collect();
    assert!(unserved.is_empty(), "{} operations of ECS's model are not served: {unserved:?}", unserved.len());
    assert!(UNSUPPORTED_OPERATIONS.is_empty(), "UNSUPPORTED_OPERATIONS still lists {UNSUPPORTED_OPERATIONS:?}");
}
