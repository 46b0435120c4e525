//! The one error type of a reconcile, with a stable label for metrics and a
//! verdict on whether retrying can help.

use crate::ecs::{EcsError, EcsErrorKind};

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Ecs(#[from] EcsError),
    #[error("Kubernetes API call failed: {0}")]
    Kube(#[from] kube::Error),
    #[error("finalizer handling failed: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<ReconcileError>>),
    #[error("the object has no {0}")]
    MissingField(&'static str),
    #[error("the EcsService cache did not become ready, so revisions in use are unknown")]
    ServicesCacheNotReady,
    #[error("could not serialize the status: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl ReconcileError {
    /// The `reason` label of `ecs_bridge_reconcile_errors_total`.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Ecs(err) => match err.kind() {
                EcsErrorKind::Rejected => "ecs_rejected",
                EcsErrorKind::NotFound => "ecs_not_found",
                EcsErrorKind::Throttled => "ecs_throttled",
                EcsErrorKind::Unavailable => "ecs_unavailable",
                EcsErrorKind::Conflict => "ecs_conflict",
                EcsErrorKind::Other => "ecs_error",
            },
            Self::Kube(_) => "kube_api",
            Self::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e) | kube::runtime::finalizer::Error::CleanupFailed(e) => {
                    e.metric_label()
                }
                _ => "finalizer",
            },
            Self::MissingField(_) => "invalid_object",
            Self::ServicesCacheNotReady => "cache_not_ready",
            Self::Serialize(_) => "serialize",
        }
    }
}
