//! Where the control-plane binaries live: the versions the project pins and the cache
//! directory `tests/control-plane/install.sh` builds them into. The two must agree; a test
//! checks that this module and the script name the same directory.

use std::path::{Path, PathBuf};

use super::ControlPlaneError;

/// Kubernetes version of kube-apiserver and kubectl; matches k8s-openapi's `v1_37` feature.
pub const K8S_VERSION: &str = "v1.37.2";
/// etcd version kube-apiserver is run against.
pub const ETCD_VERSION: &str = "v3.6.16";
/// Helm version built for the chart's tests.
pub const HELM_VERSION: &str = "v3.22.0";

/// Overrides the binary directory (holding `etcd`, `kube-apiserver`, `kubectl`, `helm`).
pub const BIN_DIR_ENV: &str = "ECS_BRIDGE_K8S_BIN";
/// Overrides the cache root (default `$XDG_CACHE_HOME/ecs-bridge`, else `~/.cache/ecs-bridge`).
pub const CACHE_ENV: &str = "ECS_BRIDGE_CACHE";

/// Paths of the binaries the control plane runs, plus the matching kubectl and helm for
/// people and tests (the machine's own kubectl may be outside the server's version skew).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    pub dir: PathBuf,
    pub etcd: PathBuf,
    pub kube_apiserver: PathBuf,
    pub kubectl: PathBuf,
    /// Present only when the install script built it; the control plane does not need it.
    pub helm: Option<PathBuf>,
}

impl Binaries {
    /// Finds the binaries: `$ECS_BRIDGE_K8S_BIN` if set, else the versioned cache directory.
    /// Fails, saying how to build them, if any of etcd, kube-apiserver or kubectl is missing.
    pub fn locate() -> Result<Binaries, ControlPlaneError> {
        let dir = match std::env::var_os(BIN_DIR_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => default_bin_dir()?,
        };
        Binaries::in_dir(&dir)
    }

    /// Uses the binaries in `dir`, checking the required ones are there.
    pub fn in_dir(dir: &Path) -> Result<Binaries, ControlPlaneError> {
        let missing: Vec<&str> =
            ["etcd", "kube-apiserver", "kubectl"].into_iter().filter(|name| !is_executable(&dir.join(name))).collect();
        if !missing.is_empty() {
            return Err(ControlPlaneError::BinariesMissing {
                dir: dir.to_path_buf(),
                missing: format!("missing: {}", missing.join(", ")),
            });
        }
        let helm = dir.join("helm");
        Ok(Binaries {
            dir: dir.to_path_buf(),
            etcd: dir.join("etcd"),
            kube_apiserver: dir.join("kube-apiserver"),
            kubectl: dir.join("kubectl"),
            helm: is_executable(&helm).then_some(helm),
        })
    }
}

/// The directory the install script fills, keyed by every pinned version so that a version
/// bump never runs stale binaries.
pub fn default_bin_dir() -> Result<PathBuf, ControlPlaneError> {
    Ok(cache_root()?.join("bin").join(format!("k8s-{K8S_VERSION}-etcd-{ETCD_VERSION}-helm-{HELM_VERSION}")))
}

fn cache_root() -> Result<PathBuf, ControlPlaneError> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(root) = non_empty(CACHE_ENV) {
        return Ok(root);
    }
    if let Some(xdg) = non_empty("XDG_CACHE_HOME") {
        return Ok(xdg.join("ecs-bridge"));
    }
    non_empty("HOME").map(|home| home.join(".cache").join("ecs-bridge")).ok_or(ControlPlaneError::NoCacheDir)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
