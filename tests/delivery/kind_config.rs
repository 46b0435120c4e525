//! `kind-config.yaml` parses as kind's own v1alpha4 `Cluster` (decoded strictly by
//! kind's Go types in `tests/kind-config`) and maps the emulator's NodePort to the
//! host port the README uses.

use crate::{repo, run_ok};
use std::process::Command;

#[test]
fn kind_config_is_a_kind_cluster_that_exposes_the_emulator() {
    let out = run_ok(
        Command::new("go")
            .args(["run", ".", "../../kind-config.yaml"])
            .current_dir(repo().join("tests/kind-config"))
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod"),
    );
    let cluster: serde_json::Value = serde_json::from_str(out.trim()).expect("kind-config prints JSON");
    let values: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo().join("charts/ecs-bridge/values.yaml")).unwrap()).unwrap();
    let node_port = values["emulator"]["service"]["nodePort"].as_u64().expect("emulator.service.nodePort");

    let mappings: Vec<(u64, u64)> = cluster["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .flat_map(|n| n["extraPortMappings"].as_array().cloned().unwrap_or_default())
        .map(|m| (m["containerPort"].as_u64().unwrap_or(0), m["hostPort"].as_u64().unwrap_or(0)))
        .collect();
    assert!(
        mappings.contains(&(node_port, 4566)),
        "kind-config.yaml must map the emulator NodePort {node_port} to host port 4566, has {mappings:?}"
    );
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains("kind-config.yaml") && readme.contains("localhost:4566"),
        "the README's kind walk-through uses kind-config.yaml and localhost:4566"
    );
}
