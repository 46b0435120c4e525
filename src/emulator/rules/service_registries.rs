//! ECS's checks of a service's `serviceRegistries` against the Cloud Map
//! service each names and the task definition: one registry, an ARN of a
//! Cloud Map service that exists, a port exactly when its DNS records
//! need one (SRV), and a container that is in the task definition. The
//! wordings ECS is known to use are kept ("The format of the supplied
//! service registry ARN is invalid", "A port was provided but is not
//! required by the specified service registry").

use serde_json::Value;

use crate::emulator::state::discovery::{Discovery, Registry};
use crate::emulator::state::records::TaskDefinition;
use crate::emulator::wire::error::{EcsError, EcsResult};

/// Whether an ARN has the shape of a Cloud Map service's.
fn is_service_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "servicediscovery"
        && parts[5].strip_prefix("service/srv-").is_some_and(|id| !id.is_empty())
}

pub fn check_service_registries(registries: &[Value], records: &Discovery, td: &TaskDefinition) -> EcsResult<()> {
    if registries.len() > 1 {
        return Err(EcsError::invalid("Only one service registry can be specified for a service."));
    }
    for value in registries {
        let registry = Registry::from_value(value).ok_or_else(|| EcsError::missing("serviceRegistries.registryArn"))?;
        let arn = &registry.registry_arn;
        if !is_service_arn(arn) {
            return Err(EcsError::invalid(format!(
                "The format of the supplied service registry ARN is invalid: {arn}."
            )));
        }
        let service = records
            .service(arn)
            .ok_or_else(|| EcsError::invalid(format!("The service registry {arn} does not exist.")))?;
        if records.namespaces.get(&service.namespace_id).is_some_and(|ns| ns.kind == "DNS_PUBLIC") {
            return Err(EcsError::invalid("Service discovery does not support public DNS namespaces."));
        }
        let srv = service
            .dns_config
            .as_ref()
            .and_then(|d| d.get("DnsRecords"))
            .and_then(Value::as_array)
            .is_some_and(|records| records.iter().any(|r| r.get("Type").and_then(Value::as_str) == Some("SRV")));
        let port_given = registry.port.is_some() || registry.container_port.is_some();
        if port_given && !srv && service.dns_config.is_some() {
            return Err(EcsError::invalid(
                "A port was provided but is not required by the specified service registry.",
            ));
        }
        if srv && !port_given {
            return Err(EcsError::invalid(
                "The specified service registry has an SRV record: a port, or a containerName and containerPort, is required.",
            ));
        }
        if registry.container_port.is_some() != registry.container_name.is_some() {
            return Err(EcsError::invalid("containerName and containerPort must be specified together."));
        }
        if let (Some(name), Some(port)) = (&registry.container_name, registry.container_port) {
            let Some(container) = td.container_definitions.iter().find(|c| c.name() == name) else {
                return Err(EcsError::invalid(format!("The container {name} does not exist in the task definition.")));
            };
            if !container.port_mappings.iter().any(|pm| pm.container_port.map(i64::from) == Some(port)) {
                return Err(EcsError::invalid(format!(
                    "The container {name} did not have a container port {port} defined."
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_arns_only() {
        assert!(is_service_arn("arn:aws:servicediscovery:us-east-1:000000000000:service/srv-abc"));
        assert!(!is_service_arn("arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-abc"));
        assert!(!is_service_arn("srv-abc"));
    }
}
