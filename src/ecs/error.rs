//! Typed ECS failures: what a reconciler needs to decide between "tell the
//! user and wait for a new spec", "back off and retry", and "the thing is gone".
//!
//! The AWS SDK reports errors as a code string plus an HTTP status; this module
//! turns that into one of a few kinds once, at the edge, so that no reconciler
//! ever matches on ECS's exception names.

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

/// A failed call to ECS, classified by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    /// ECS refused the request as invalid (`ClientException`,
    /// `InvalidParameterException`, ...): retrying the same input cannot help.
    #[error("ECS rejected {operation}: {message} ({code})")]
    Rejected { operation: &'static str, code: String, message: String },
    /// The resource the call names does not exist (or is no longer active).
    #[error("{operation}: {message} ({code})")]
    NotFound { operation: &'static str, code: String, message: String },
    /// ECS throttled the call (after the SDK's own retries).
    #[error("ECS throttled {operation}: {message}")]
    Throttled { operation: &'static str, message: String },
    /// ECS could not be reached, timed out, or answered with a server error.
    #[error("ECS is unavailable for {operation}: {message}")]
    Unavailable { operation: &'static str, message: String },
    /// The request is valid but conflicts with ECS's current state (for
    /// example a cluster that still has services): it may succeed later.
    #[error("ECS refused {operation} for now: {message} ({code})")]
    Conflict { operation: &'static str, code: String, message: String },
    /// Anything else: credentials, permissions, an unexpected answer.
    #[error("{operation} failed: {message} ({code})")]
    Other { operation: &'static str, code: String, message: String },
}

/// What kind of failure an [`EcsError`] is, for metrics and decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcsErrorKind {
    Rejected,
    NotFound,
    Throttled,
    Unavailable,
    Conflict,
    Other,
}

impl EcsErrorKind {
    /// The `outcome` label of the ECS call counter.
    pub fn label(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::NotFound => "not_found",
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
            Self::Conflict => "conflict",
            Self::Other => "error",
        }
    }
}

impl EcsError {
    pub fn kind(&self) -> EcsErrorKind {
        match self {
            Self::Rejected { .. } => EcsErrorKind::Rejected,
            Self::NotFound { .. } => EcsErrorKind::NotFound,
            Self::Throttled { .. } => EcsErrorKind::Throttled,
            Self::Unavailable { .. } => EcsErrorKind::Unavailable,
            Self::Conflict { .. } => EcsErrorKind::Conflict,
            Self::Other { .. } => EcsErrorKind::Other,
        }
    }

    /// ECS's own message, without our wrapping: what a user should read.
    pub fn ecs_message(&self) -> &str {
        match self {
            Self::Rejected { message, .. }
            | Self::NotFound { message, .. }
            | Self::Throttled { message, .. }
            | Self::Unavailable { message, .. }
            | Self::Conflict { message, .. }
            | Self::Other { message, .. } => message,
        }
    }

    /// The operation that failed.
    pub fn operation(&self) -> &'static str {
        match self {
            Self::Rejected { operation, .. }
            | Self::NotFound { operation, .. }
            | Self::Throttled { operation, .. }
            | Self::Unavailable { operation, .. }
            | Self::Conflict { operation, .. }
            | Self::Other { operation, .. } => operation,
        }
    }

    /// Whether retrying the same call later can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind(),
            EcsErrorKind::Throttled | EcsErrorKind::Unavailable | EcsErrorKind::Conflict | EcsErrorKind::Other
        )
    }

    /// Classifies an ECS error code (the exception's shape name) and HTTP status.
    ///
    /// Kept apart from the SDK types so that the table is unit-tested directly.
    pub fn from_code(operation: &'static str, code: &str, message: String, http_status: Option<u16>) -> Self {
        let code_owned = code.to_owned();
        match code {
            "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded" => {
                Self::Throttled { operation, message }
            }
            "ServerException" | "ServiceUnavailable" | "ServiceUnavailableException" | "InternalFailure" => {
                Self::Unavailable { operation, message }
            }
            "ClientException"
            | "InvalidParameterException"
            | "PlatformUnknownException"
            | "PlatformTaskDefinitionIncompatibilityException"
            | "UnsupportedFeatureException"
            | "LimitExceededException"
            // Application Auto Scaling's and Cloud Map's refusals of the input.
            | "ValidationException"
            | "InvalidInput" => Self::Rejected { operation, code: code_owned, message },
            "ClusterNotFoundException"
            | "ServiceNotFoundException"
            | "ResourceNotFoundException"
            | "TaskSetNotFoundException"
            | "TargetNotFoundException"
            | "ObjectNotFoundException"
            | "NamespaceNotFound"
            | "ServiceNotFound" => Self::NotFound { operation, code: code_owned, message },
            "ClusterContainsServicesException"
            | "ClusterContainsTasksException"
            | "ClusterContainsContainerInstancesException"
            | "ClusterContainsCapacityProviderException"
            | "ResourceInUseException"
            | "UpdateInProgressException"
            | "ServiceNotActiveException"
            | "ConflictException"
            | "ConcurrentUpdateException"
            | "ResourceInUse"
            | "DuplicateRequest"
            | "ServiceAlreadyExists" => Self::Conflict { operation, code: code_owned, message },
            _ if http_status.is_some_and(|s| s >= 500) => Self::Unavailable { operation, message },
            _ if code.contains("Throttl") => Self::Throttled { operation, message },
            _ => Self::Other { operation, code: code_owned, message },
        }
    }

    /// Classifies an SDK error. Transport failures (no answer, a timeout, an
    /// unreadable answer) count as unavailability: ECS may well be fine, but
    /// all we can do is try again later.
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        match &err {
            SdkError::ServiceError(ctx) => {
                let service = ctx.err();
                let code = service.code().unwrap_or("UnknownError");
                let message = service
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP {}", status.unwrap_or_default()));
                Self::from_code(operation, code, message, status)
            }
            SdkError::TimeoutError(_) => Self::Unavailable { operation, message: "the call timed out".to_owned() },
            SdkError::DispatchFailure(_) => Self::Unavailable {
                operation,
                message: format!("could not send the request: {}", aws_sdk_ecs::error::DisplayErrorContext(&err)),
            },
            SdkError::ResponseError(_) => Self::Unavailable {
                operation,
                message: format!(
                    "unreadable response{}: {}",
                    status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(),
                    aws_sdk_ecs::error::DisplayErrorContext(&err)
                ),
            },
            _ => Self::Other {
                operation,
                code: "ClientSideError".to_owned(),
                message: aws_sdk_ecs::error::DisplayErrorContext(&err).to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(code: &str, status: Option<u16>) -> EcsErrorKind {
        EcsError::from_code("Op", code, "m".to_owned(), status).kind()
    }

    #[test]
    fn validation_errors_are_rejections() {
        assert_eq!(kind("ClientException", Some(400)), EcsErrorKind::Rejected);
        assert_eq!(kind("InvalidParameterException", Some(400)), EcsErrorKind::Rejected);
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert_eq!(kind("ThrottlingException", Some(400)), EcsErrorKind::Throttled);
        assert_eq!(kind("ServerException", Some(500)), EcsErrorKind::Unavailable);
        assert_eq!(kind("SomethingNew", Some(503)), EcsErrorKind::Unavailable);
        assert!(EcsError::from_code("Op", "ThrottlingException", "x".into(), None).is_transient());
        assert!(!EcsError::from_code("Op", "ClientException", "x".into(), None).is_transient());
    }

    #[test]
    fn missing_resources_and_busy_clusters() {
        assert_eq!(kind("ClusterNotFoundException", Some(400)), EcsErrorKind::NotFound);
        assert_eq!(kind("ClusterContainsServicesException", Some(400)), EcsErrorKind::Conflict);
        assert_eq!(kind("AccessDeniedException", Some(400)), EcsErrorKind::Other);
    }

    #[test]
    fn keeps_ecs_message_verbatim() {
        let err = EcsError::from_code(
            "RegisterTaskDefinition",
            "ClientException",
            "Container.image should not be null or empty.".to_owned(),
            Some(400),
        );
        assert_eq!(err.ecs_message(), "Container.image should not be null or empty.");
        assert_eq!(err.operation(), "RegisterTaskDefinition");
        assert!(err.to_string().contains("Container.image should not be null or empty."));
    }
}
