//! The Cloud Map operations of the seam: what the EcsService reconciler asks of the
//! Cloud Map service it owns for an ECS service's tasks.
//!
//! A trait of its own ([`DiscoveryApi`]), like [`EcsServiceApi`](super::service::EcsServiceApi):
//! the reconciler's unit tests fake it, the integration tests use the real client. The
//! operator never calls DiscoverInstances (whose model sends it to a `data-` host).

use std::future::Future;

use super::error::EcsError;
use crate::api::discovery::{DnsRecord, HealthCheckCustomConfig};

/// A Cloud Map service as the reconciler needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloudMapService {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub namespace_id: String,
    /// The idempotency token it was created with: the operator's mark of ownership.
    pub creator_request_id: Option<String>,
}

/// CreateService's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudMapServiceCreate {
    pub name: String,
    pub namespace_id: String,
    /// Empty: no DnsConfig (an HTTP namespace).
    pub dns_records: Vec<DnsRecord>,
    pub health_check_custom_config: Option<HealthCheckCustomConfig>,
    pub creator_request_id: String,
}

/// The Cloud Map operations the EcsService reconciler uses; each method is one call (or
/// one paged listing), counted in the metrics.
pub trait DiscoveryApi: Send + Sync + 'static {
    /// The ID of the namespace called `name`; `None` when there is none.
    fn namespace_id_by_name(&self, name: &str) -> impl Future<Output = Result<Option<String>, EcsError>> + Send;

    /// The service called `name` in the namespace, `None` when there is none.
    fn find_service(
        &self,
        namespace_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<CloudMapService>, EcsError>> + Send;

    fn create_service(
        &self,
        input: &CloudMapServiceCreate,
    ) -> impl Future<Output = Result<CloudMapService, EcsError>> + Send;

    /// Deletes the service; one already gone is no error. Refused (a conflict) while
    /// instances are registered.
    fn delete_service(&self, id: &str) -> impl Future<Output = Result<(), EcsError>> + Send;

    /// How many instances are registered in the service.
    fn count_instances(&self, service_id: &str) -> impl Future<Output = Result<i32, EcsError>> + Send;
}
