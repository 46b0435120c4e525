//! The one error type of the control plane: every variant names the step that failed and
//! carries what a person needs to fix it (the missing file, the server's own log tail).

use std::path::PathBuf;
use std::time::Duration;

/// Why the local control plane could not be started, used or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ControlPlaneError {
    #[error(
        "the control-plane binaries are missing from {dir} ({missing}); \
         build them with `tests/control-plane/install.sh` (a few minutes the first time), \
         or point ECS_BRIDGE_K8S_BIN at a directory holding etcd, kube-apiserver and kubectl"
    )]
    BinariesMissing { dir: PathBuf, missing: String },

    #[error("cannot locate the cache directory: neither ECS_BRIDGE_CACHE, XDG_CACHE_HOME nor HOME is set")]
    NoCacheDir,

    #[error("`{tool}` is needed to {purpose} but could not be run")]
    ToolMissing {
        tool: &'static str,
        purpose: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("openssl failed to {step}: {stderr}")]
    Openssl { step: String, stderr: String },

    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("could not start {name} ({program})")]
    Spawn {
        name: &'static str,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{name} exited during start-up ({status}); the end of its log ({log}):\n{log_tail}")]
    ExitedEarly { name: &'static str, status: String, log: PathBuf, log_tail: String },

    #[error(
        "kube-apiserver did not report ready within {waited:?} (last answer: {last}); \
         the end of its log ({log}):\n{log_tail}"
    )]
    NotReady { waited: Duration, last: String, log: PathBuf, log_tail: String },

    #[error("cannot load the kubeconfig {path}")]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },

    #[error("cannot build a Kubernetes client for {server}")]
    Client {
        server: String,
        #[source]
        source: kube::Error,
    },

    #[error("{source_name}: document {index} is not valid YAML")]
    Yaml {
        source_name: String,
        index: usize,
        #[source]
        source: serde_yaml::Error,
    },

    #[error("{source_name}: document {index} {problem}")]
    BadDocument { source_name: String, index: usize, problem: String },

    #[error(
        "{source_name}: document {index} is a {kind}; only CustomResourceDefinitions are installed from a CRD directory"
    )]
    NotACrd { source_name: String, index: usize, kind: String },

    #[error("apiVersion {api_version:?} is not valid: {reason}")]
    InvalidApiVersion { api_version: String, reason: String },

    #[error("the API server does not serve {api_version} {kind}")]
    UnknownKind {
        api_version: String,
        kind: String,
        #[source]
        source: kube::Error,
    },

    #[error("server-side apply of {kind} {name} was rejected")]
    Apply {
        kind: String,
        name: String,
        #[source]
        source: kube::Error,
    },

    #[error("CustomResourceDefinition {name} was not Established within {waited:?} (conditions: {conditions})")]
    CrdNotEstablished { name: String, waited: Duration, conditions: String },
}

impl ControlPlaneError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ControlPlaneError::Io { context: context.into(), source }
    }

    /// True when the failure was a port race: a "free" port was taken between the time it
    /// was picked and the time a server bound it. Start-up retries on fresh ports then.
    pub(crate) fn is_port_race(&self) -> bool {
        matches!(self, ControlPlaneError::ExitedEarly { log_tail, .. }
            if log_tail.contains("address already in use"))
    }
}
