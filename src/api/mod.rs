//! The custom resource types (group `ecs-bridge.dev`, version `v1alpha1`).

/// All CRDs as a multi-document YAML stream.
pub fn crds_yaml() -> String {
    String::new()
}
