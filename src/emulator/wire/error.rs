//! ECS's error vocabulary: the modeled exception shapes, their HTTP status and
//! the JSON body ECS sends (`{"__type": ..., "message": ...}`).
//!
//! Operation code returns [`EcsError`]; only the protocol layer turns it into a
//! response, so every failure path produces a well-formed ECS error.

use serde_json::{Value, json};

/// The exception shapes this emulator raises. Names are ECS's shape names, so
/// the SDKs map them to their typed errors.
// The shared `Exception` suffix is ECS's own naming, sent as `__type`.
#[allow(clippy::enum_variant_names)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    ClientException,
    InvalidParameterException,
    ServerException,
    ClusterNotFoundException,
    ServiceNotFoundException,
    ServiceNotActiveException,
    ClusterContainsServicesException,
    ClusterContainsTasksException,
    ClusterContainsContainerInstancesException,
    ConflictException,
    LimitExceededException,
    AttributeLimitExceededException,
    ResourceNotFoundException,
    /// CloudWatch Logs: the log group or stream exists already.
    ResourceAlreadyExistsException,
    TargetNotFoundException,
    UnsupportedFeatureException,
    /// UpdateContainerAgent: the agent already runs the latest version.
    NoUpdateAvailableException,
    /// UpdateContainerAgent: the agent reported no version to update from.
    MissingVersionException,
    /// Not modeled by ECS; what AWS JSON services answer for an unknown target.
    UnknownOperationException,
    /// Not modeled by ECS; what AWS JSON services answer for a body that is not
    /// valid JSON or has a member of the wrong type.
    SerializationException,
    ThrottlingException,
    /// Not modeled by ECS; what AWS's front ends answer (HTTP 408) when a
    /// client stalls while sending a request.
    RequestTimeoutException,
    /// Application Auto Scaling: the request breaks a rule of the API.
    ValidationException,
    /// Application Auto Scaling: the scalable target, policy or scheduled
    /// action named does not exist.
    ObjectNotFoundException,
    /// Application Auto Scaling: another update of the same target is in
    /// progress (a fault, HTTP 500).
    ConcurrentUpdateException,
    /// Application Auto Scaling's internal error (a fault, HTTP 500).
    InternalServiceException,
    /// Application Auto Scaling could not reach the resource or its alarms.
    FailedResourceAccessException,
    /// Application Auto Scaling: a NextToken it did not hand out.
    InvalidNextTokenException,
    /// Application Auto Scaling: more than 50 tags on a resource.
    TooManyTagsException,
    /// Cloud Map: a request member breaks the model's rules.
    InvalidInput,
    NamespaceNotFound,
    /// Cloud Map: the service named does not exist (ECS's is
    /// `ServiceNotFoundException`).
    ServiceNotFound,
    InstanceNotFound,
    OperationNotFound,
    NamespaceAlreadyExists,
    ServiceAlreadyExists,
    /// Cloud Map: the namespace holds services, or the service instances.
    ResourceInUse,
    /// Cloud Map: the same CreatorRequestId was used for another request.
    DuplicateRequest,
    /// Cloud Map: the service has no custom health check.
    CustomHealthNotFound,
    ResourceLimitExceeded,
    /// PutClusterCapacityProviders: a capacity provider to remove is in use.
    ResourceInUseException,
}

impl ErrorKind {
    /// The shape name sent as `__type`.
    pub fn shape_name(self) -> &'static str {
        match self {
            Self::ClientException => "ClientException",
            Self::InvalidParameterException => "InvalidParameterException",
            Self::ServerException => "ServerException",
            Self::ClusterNotFoundException => "ClusterNotFoundException",
            Self::ServiceNotFoundException => "ServiceNotFoundException",
            Self::ServiceNotActiveException => "ServiceNotActiveException",
            Self::ClusterContainsServicesException => "ClusterContainsServicesException",
            Self::ClusterContainsTasksException => "ClusterContainsTasksException",
            Self::ClusterContainsContainerInstancesException => "ClusterContainsContainerInstancesException",
            Self::ConflictException => "ConflictException",
            Self::LimitExceededException => "LimitExceededException",
            Self::AttributeLimitExceededException => "AttributeLimitExceededException",
            Self::ResourceNotFoundException => "ResourceNotFoundException",
            Self::ResourceAlreadyExistsException => "ResourceAlreadyExistsException",
            Self::TargetNotFoundException => "TargetNotFoundException",
            Self::UnsupportedFeatureException => "UnsupportedFeatureException",
            Self::NoUpdateAvailableException => "NoUpdateAvailableException",
            Self::MissingVersionException => "MissingVersionException",
            Self::UnknownOperationException => "UnknownOperationException",
            Self::SerializationException => "SerializationException",
            Self::ThrottlingException => "ThrottlingException",
            Self::RequestTimeoutException => "RequestTimeoutException",
            Self::ValidationException => "ValidationException",
            Self::ObjectNotFoundException => "ObjectNotFoundException",
            Self::ConcurrentUpdateException => "ConcurrentUpdateException",
            Self::InternalServiceException => "InternalServiceException",
            Self::FailedResourceAccessException => "FailedResourceAccessException",
            Self::InvalidNextTokenException => "InvalidNextTokenException",
            Self::TooManyTagsException => "TooManyTagsException",
            Self::InvalidInput => "InvalidInput",
            Self::NamespaceNotFound => "NamespaceNotFound",
            Self::ServiceNotFound => "ServiceNotFound",
            Self::InstanceNotFound => "InstanceNotFound",
            Self::OperationNotFound => "OperationNotFound",
            Self::NamespaceAlreadyExists => "NamespaceAlreadyExists",
            Self::ServiceAlreadyExists => "ServiceAlreadyExists",
            Self::ResourceInUse => "ResourceInUse",
            Self::DuplicateRequest => "DuplicateRequest",
            Self::CustomHealthNotFound => "CustomHealthNotFound",
            Self::ResourceLimitExceeded => "ResourceLimitExceeded",
            Self::ResourceInUseException => "ResourceInUseException",
        }
    }

    /// ECS sends 400 for every exception except `ServerException` (its only
    /// `fault` shape); SDKs retry 500s, so nothing else may use it. The
    /// other services' faults (Application Auto Scaling's
    /// `InternalServiceException` and `ConcurrentUpdateException`) are 500
    /// as their models say.
    pub fn http_status(self) -> u16 {
        match self {
            Self::ServerException | Self::InternalServiceException | Self::ConcurrentUpdateException => 500,
            Self::RequestTimeoutException => 408,
            _ => 400,
        }
    }
}

/// One ECS error: a shape and a human message, plus `resourceIds` for
/// `ConflictException` and the other members a shape models (Cloud Map's
/// `NamespaceAlreadyExists` names the namespace that exists).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.shape_name())]
pub struct EcsError {
    pub kind: ErrorKind,
    pub message: String,
    pub resource_ids: Vec<String>,
    /// More members of the error shape, written beside the message.
    pub members: Vec<(&'static str, String)>,
}

impl EcsError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), resource_ids: Vec::new(), members: Vec::new() }
    }

    /// The error with one more member of its shape.
    pub fn with_member(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.members.push((name, value.into()));
        self
    }

    pub fn client(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ClientException, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameterException, message)
    }

    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServerException, message)
    }

    /// A required member that was absent, in the wording of AWS's request
    /// validation (Application Auto Scaling, Cloud Map), as `kind`.
    pub fn null_member(kind: ErrorKind, member: &str) -> Self {
        Self::new(
            kind,
            format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ),
        )
    }

    /// A value outside its enum, in the same wording, as `kind`.
    pub fn not_in_enum(kind: ErrorKind, value: &str, member: &str, allowed: &[&str]) -> Self {
        Self::new(
            kind,
            format!(
                "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        )
    }

    pub fn cluster_not_found() -> Self {
        Self::new(ErrorKind::ClusterNotFoundException, "Cluster not found.")
    }

    pub fn cluster_inactive() -> Self {
        Self::new(ErrorKind::ClusterNotFoundException, "The referenced cluster was inactive.")
    }

    pub fn service_not_found() -> Self {
        Self::new(ErrorKind::ServiceNotFoundException, "Service not found.")
    }

    pub fn conflict(message: impl Into<String>, resource_ids: Vec<String>) -> Self {
        Self { kind: ErrorKind::ConflictException, message: message.into(), resource_ids, members: Vec::new() }
    }

    /// A required request member that was absent.
    pub fn missing(member: &str) -> Self {
        Self::invalid(format!("Missing required parameter '{member}'."))
    }

    /// The JSON body ECS sends for this error.
    pub fn body(&self) -> Value {
        let mut body = json!({ "__type": self.kind.shape_name(), "message": self.message });
        if self.kind == ErrorKind::ConflictException {
            body["resourceIds"] = json!(self.resource_ids);
        }
        body
    }
}

/// How one AWS service writes its errors: which member carries the text
/// and what its internal failure is called. ECS and CloudWatch Logs write
/// `{"__type", "message"}` and call a failure `ServerException`;
/// Application Auto Scaling writes `{"__type", "Message"}` (its model's
/// member name) and calls it `InternalServiceException`. Handlers raise
/// [`EcsError`] whatever the service; the server renders it in the dialect
/// of the service that was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    pub message_member: &'static str,
    pub internal: ErrorKind,
    /// The status of `ResourceNotFoundException` (Application Auto
    /// Scaling's model says 404; ECS and Logs send 400).
    pub not_found_status: u16,
}

impl Dialect {
    /// ECS's (and CloudWatch Logs') way.
    pub const ECS: Dialect =
        Dialect { message_member: "message", internal: ErrorKind::ServerException, not_found_status: 400 };
    /// Application Auto Scaling's way.
    pub const AUTOSCALING: Dialect =
        Dialect { message_member: "Message", internal: ErrorKind::InternalServiceException, not_found_status: 404 };
    /// Cloud Map's way: `{"__type", "Message"}`, every error 400 (its
    /// model has no fault shape, so an internal failure keeps ECS's
    /// unmodeled `ServerException` name, which SDKs treat as a 500 to retry).
    pub const CLOUD_MAP: Dialect =
        Dialect { message_member: "Message", internal: ErrorKind::ServerException, not_found_status: 400 };

    /// The status and body of `err` as this service sends it. A failure
    /// raised as ECS's `ServerException` (a panic, an injected fault, a
    /// journal that could not be written) takes this service's name for it.
    pub fn render(&self, err: &EcsError) -> (u16, Value) {
        if *self == Self::ECS {
            return (err.kind.http_status(), err.body());
        }
        let kind = if err.kind == ErrorKind::ServerException { self.internal } else { err.kind };
        let mut body = serde_json::Map::new();
        body.insert("__type".into(), Value::from(kind.shape_name()));
        body.insert(self.message_member.into(), Value::from(err.message.as_str()));
        for (name, value) in &err.members {
            body.insert((*name).into(), Value::from(value.as_str()));
        }
        let status =
            if kind == ErrorKind::ResourceNotFoundException { self.not_found_status } else { kind.http_status() };
        (status, Value::Object(body))
    }
}

/// Result of an ECS operation.
pub type EcsResult<T> = Result<T, EcsError>;

/// Returns `value` or the "missing required parameter" error naming `member`.
pub fn required<T>(value: Option<T>, member: &str) -> EcsResult<T> {
    value.ok_or_else(|| EcsError::missing(member))
}
