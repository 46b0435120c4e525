//! [`DiscoveryApi`] over the real `aws-sdk-servicediscovery` client (see [`SdkEcs`]).

use aws_sdk_servicediscovery::types::{
    DnsConfig, FilterCondition, HealthCheckCustomConfig, NamespaceFilter, NamespaceFilterName, RecordType,
    RoutingPolicy, ServiceFilter, ServiceFilterName,
};

use super::discovery::{CloudMapService, CloudMapServiceCreate, DiscoveryApi};
use super::error::{EcsError, EcsErrorKind};
use super::sdk::{SdkEcs, keep};

fn unbuildable(operation: &'static str, err: aws_sdk_servicediscovery::error::BuildError) -> EcsError {
    EcsError::Rejected { operation, code: "InvalidInput".to_owned(), message: err.to_string() }
}

fn service_from_sdk(s: &aws_sdk_servicediscovery::types::Service) -> CloudMapService {
    CloudMapService {
        id: s.id().unwrap_or_default().to_owned(),
        arn: s.arn().unwrap_or_default().to_owned(),
        name: s.name().unwrap_or_default().to_owned(),
        namespace_id: s.namespace_id().unwrap_or_default().to_owned(),
        creator_request_id: s.creator_request_id().map(str::to_owned),
    }
}

fn missing_service(operation: &'static str) -> EcsError {
    EcsError::Other {
        operation,
        code: "MissingService".to_owned(),
        message: "the answer carried no service".to_owned(),
    }
}

impl DiscoveryApi for SdkEcs {
    async fn namespace_id_by_name(&self, name: &str) -> Result<Option<String>, EcsError> {
        const OP: &str = "servicediscovery:ListNamespaces";
        let filter = NamespaceFilter::builder()
            .name(NamespaceFilterName::Name)
            .values(name)
            .condition(FilterCondition::Eq)
            .build()
            .map_err(|e| unbuildable(OP, e))?;
        let mut token = None;
        loop {
            let request = self.discovery.list_namespaces().filters(filter.clone()).set_next_token(token).send();
            let out = self.call(OP, request, keep).await?;
            if let Some(found) = out.namespaces().iter().find(|n| n.name() == Some(name)) {
                return Ok(found.id().map(str::to_owned));
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(None);
            }
        }
    }

    async fn find_service(&self, namespace_id: &str, name: &str) -> Result<Option<CloudMapService>, EcsError> {
        const OP: &str = "servicediscovery:ListServices";
        let filter = ServiceFilter::builder()
            .name(ServiceFilterName::NamespaceId)
            .values(namespace_id)
            .condition(FilterCondition::Eq)
            .build()
            .map_err(|e| unbuildable(OP, e))?;
        let mut token = None;
        let id = loop {
            let request = self.discovery.list_services().filters(filter.clone()).set_next_token(token).send();
            let out = self.call(OP, request, keep).await?;
            if let Some(found) = out.services().iter().find(|s| s.name() == Some(name)) {
                break found.id().unwrap_or_default().to_owned();
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(None);
            }
        };
        // The summary has no CreatorRequestId, the mark of ownership.
        let got = self.call("servicediscovery:GetService", self.discovery.get_service().id(&id).send(), keep).await;
        match got {
            Ok(out) => out
                .service()
                .map(service_from_sdk)
                .map(Some)
                .ok_or_else(|| missing_service("servicediscovery:GetService")),
            Err(err) if err.kind() == EcsErrorKind::NotFound => Ok(None),
            Err(err) => Err(err),
        }
    }

    async fn create_service(&self, input: &CloudMapServiceCreate) -> Result<CloudMapService, EcsError> {
        const OP: &str = "servicediscovery:CreateService";
        let mut request = self
            .discovery
            .create_service()
            .name(&input.name)
            .namespace_id(&input.namespace_id)
            .creator_request_id(&input.creator_request_id)
            // FailureThreshold is deprecated by Cloud Map (always 1): not sent.
            .set_health_check_custom_config(
                input.health_check_custom_config.as_ref().map(|_| HealthCheckCustomConfig::builder().build()),
            );
        if !input.dns_records.is_empty() {
            let records = input
                .dns_records
                .iter()
                .map(|r| {
                    aws_sdk_servicediscovery::types::DnsRecord::builder()
                        .r#type(RecordType::from(r.type_.as_str()))
                        .ttl(r.ttl)
                        .build()
                        .map_err(|e| unbuildable(OP, e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let dns = DnsConfig::builder()
                .routing_policy(RoutingPolicy::Multivalue)
                .set_dns_records(Some(records))
                .build()
                .map_err(|e| unbuildable(OP, e))?;
            request = request.dns_config(dns);
        }
        let out = self.call(OP, request.send(), keep).await?;
        out.service().map(service_from_sdk).ok_or_else(|| missing_service(OP))
    }

    async fn delete_service(&self, id: &str) -> Result<(), EcsError> {
        match self.call("servicediscovery:DeleteService", self.discovery.delete_service().id(id).send(), keep).await {
            Ok(_) => Ok(()),
            Err(err) if err.kind() == EcsErrorKind::NotFound => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn count_instances(&self, service_id: &str) -> Result<i32, EcsError> {
        let mut count = 0usize;
        let mut token = None;
        loop {
            let request = self.discovery.list_instances().service_id(service_id).set_next_token(token).send();
            let out = self.call("servicediscovery:ListInstances", request, keep).await?;
            count += out.instances().len();
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                return Ok(i32::try_from(count).unwrap_or(i32::MAX));
            }
        }
    }
}
