//! `spec.serviceDiscovery`: the Cloud Map service the operator owns for the ECS
//! service, and how it reaches ECS. Pure; `service::discovery` asks Cloud Map.
//!
//! Ownership is Cloud Map's own idempotency token: the operator creates the service with
//! `CreatorRequestId` = [`creator_request_id`] (from the object's UID) and, before any
//! CreateService, looks the name up in the namespace, so a crash between the create
//! and the status write finds the same service instead of making a second (Cloud Map
//! refuses a duplicate name anyway). A same-named service it did not create is used
//! only with the adoption annotation, as for ECS services.

use crate::api::discovery::{ServiceDiscovery, ServiceDiscoveryStatus};
use crate::api::service::{EcsServiceSpec, ServiceRegistry};
use crate::ecs::discovery::{CloudMapService, CloudMapServiceCreate};

/// The `CreatorRequestId` of the Cloud Map service of the object `uid`.
pub fn creator_request_id(uid: &str) -> String {
    format!("ecs-bridge-{uid}")
}

/// The Cloud Map service name: the spec's, or the ECS service name.
pub fn service_name(discovery: &ServiceDiscovery, ecs_service_name: &str) -> String {
    discovery.name.clone().unwrap_or_else(|| ecs_service_name.to_owned())
}

/// Whether a Cloud Map service found by name may be used by the object `uid`.
pub fn usable(found: &CloudMapService, uid: &str, adopt: bool) -> bool {
    adopt || found.creator_request_id.as_deref() == Some(creator_request_id(uid).as_str())
}

/// CreateService's input.
pub fn create_input(
    discovery: &ServiceDiscovery,
    name: String,
    namespace_id: String,
    uid: &str,
) -> CloudMapServiceCreate {
    CloudMapServiceCreate {
        name,
        namespace_id,
        dns_records: discovery.dns_records.clone(),
        health_check_custom_config: discovery.health_check_custom_config.clone(),
        creator_request_id: creator_request_id(uid),
    }
}

/// The spec as ECS must see it: its one registry is the Cloud Map service `arn`.
pub fn with_registry(spec: &EcsServiceSpec, discovery: &ServiceDiscovery, arn: &str) -> EcsServiceSpec {
    let mut spec = spec.clone();
    spec.service_registries = vec![ServiceRegistry {
        registry_arn: arn.to_owned(),
        port: discovery.port,
        container_name: discovery.container_name.clone(),
        container_port: discovery.container_port,
    }];
    spec
}

/// The spec as the last reconcile sent it to ECS: wired to the Cloud Map service the
/// status records (the spec itself when there is none).
pub fn as_sent<'a>(
    spec: &'a EcsServiceSpec,
    recorded: Option<&ServiceDiscoveryStatus>,
) -> std::borrow::Cow<'a, EcsServiceSpec> {
    match (&spec.service_discovery, recorded.and_then(|r| r.service_arn.as_deref())) {
        (Some(discovery), Some(arn)) => std::borrow::Cow::Owned(with_registry(spec, discovery, arn)),
        _ => std::borrow::Cow::Borrowed(spec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(json: serde_json::Value) -> ServiceDiscovery {
        serde_json::from_value(json).expect("valid serviceDiscovery")
    }

    #[test]
    fn the_service_is_ours_by_its_creator_request_id_or_by_adoption() {
        let mine = CloudMapService { creator_request_id: Some(creator_request_id("uid-1")), ..Default::default() };
        let other = CloudMapService { creator_request_id: Some("someone".into()), ..Default::default() };
        assert!(usable(&mine, "uid-1", false));
        assert!(!usable(&other, "uid-1", false));
        assert!(!usable(&mine, "uid-2", false), "a re-created object is another owner");
        assert!(usable(&other, "uid-1", true));
        assert!(creator_request_id("0c5b7a4e-1f7e-4b7a-9b1e-3f0d2c1a9e77").len() <= 64, "Cloud Map's limit");
    }

    #[test]
    fn the_registry_carries_the_arn_and_the_port() {
        let d = discovery(serde_json::json!({
            "namespaceName": "internal.local",
            "dnsRecords": [{"type": "SRV", "ttl": 10}],
            "port": 8080
        }));
        assert_eq!(service_name(&d, "web"), "web");
        let spec: EcsServiceSpec = serde_json::from_value(serde_json::json!({"taskDefinition": "web"})).unwrap();
        let wired = with_registry(&spec, &d, "arn:aws:servicediscovery:us-east-1:1:service/srv-1");
        assert_eq!(wired.service_registries.len(), 1);
        assert_eq!(wired.service_registries[0].registry_arn, "arn:aws:servicediscovery:us-east-1:1:service/srv-1");
        assert_eq!(wired.service_registries[0].port, Some(8080));
        let input = create_input(&d, "web".into(), "ns-1".into(), "uid-1");
        assert_eq!(input.dns_records[0].ttl, 10);
        assert_eq!(input.creator_request_id, "ecs-bridge-uid-1");
    }

    #[test]
    fn a_record_without_a_ttl_gets_sixty_seconds() {
        let d = discovery(serde_json::json!({"namespaceId": "ns-1", "dnsRecords": [{"type": "A"}]}));
        assert_eq!(d.dns_records[0].ttl, 60);
    }
}
