//! ECS's side of Cloud Map: each task of a service with
//! `serviceRegistries` is an instance of each registry's Cloud Map service
//! while it is RUNNING and meant to keep running, with the attributes ECS
//! writes (`AWS_INSTANCE_IPV4`, `AWS_INSTANCE_PORT` when the registry
//! names a port, `AVAILABILITY_ZONE`, `REGION`, `ECS_CLUSTER_NAME`,
//! `ECS_SERVICE_NAME`, `ECS_TASK_DEFINITION_FAMILY`, `EC2_INSTANCE_ID` on
//! EC2); its custom health follows the task's health status; it is
//! deregistered as soon as the task is told to stop or stops.
//!
//! Rather than hooking every transition, [`sync`] compares what a
//! cluster's tasks say with what Cloud Map holds and writes the difference,
//! once per scheduler tick and cluster (after the tasks moved): the
//! simulation's tasks change only in ticks, and a sync that finds nothing
//! to do writes nothing, so the journal sees one change per registration.
//! Also how Cloud Map is put right after a restart or a reset.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde_json::Value;

use crate::emulator::state::addresses::{held_address, stable_hash};
use crate::emulator::state::discovery::{CloudMapService, Discovery, DiscoveryChange, EcsOwner, Instance, Registry};
use crate::emulator::state::ids::TaskDefinitionRef;
use crate::emulator::state::records::{ServiceEntry, TaskEntry};
use crate::emulator::state::{ClusterState, Store};

/// What an instance answers for its health: its custom status under a
/// custom health check, HEALTHY under a Route 53 check (not run here),
/// UNKNOWN without any.
pub fn health_of(service: &CloudMapService, instance: &Instance) -> &'static str {
    match instance.custom_health.as_deref() {
        Some("UNHEALTHY") => "UNHEALTHY",
        Some(_) => "HEALTHY",
        None if service.health_check_config.is_some() => "HEALTHY",
        None => "UNKNOWN",
    }
}

/// `InstancesRevision`: a number that changes whenever a service's
/// instances or their health change (a hash of both, never negative).
pub fn revision(records: &Discovery, service_id: &str) -> i64 {
    let Some(service) = records.service(service_id) else { return 0 };
    let text: String = records
        .instances_of(service_id)
        .map(|i| format!("{}|{:?}|{};", i.id, i.attributes, health_of(service, i)))
        .collect();
    (stable_hash(&text) >> 1) as i64
}

/// The address a bridge- or host-mode task is reached at: its container
/// instance's. The emulator's EC2 instances have no address of their own,
/// so one is derived from the instance id, stable across restarts, in
/// 172.31.0.0/16 (away from the awsvpc tasks' 10.0.0.0/16).
pub fn instance_address(ec2_instance_id: &str) -> Ipv4Addr {
    let h = stable_hash(ec2_instance_id);
    Ipv4Addr::new(172, 31, (h >> 8) as u8, ((h as u8) % 253) + 1)
}

/// The port a registry names for a task: its `port`, else the host port
/// bound to its container port (bridge and host), else that container port.
fn port_of(entry: &TaskEntry, registry: &Registry) -> Option<i64> {
    if let Some(port) = registry.port {
        return Some(port);
    }
    let container_port = registry.container_port?;
    let bound = entry
        .task
        .containers
        .iter()
        .filter(|c| registry.container_name.as_deref().is_none_or(|n| n == &*c.name))
        .flat_map(|c| &c.network_bindings)
        .find(|b| b.get("containerPort").and_then(Value::as_i64) == Some(container_port))
        .and_then(|b| b.get("hostPort").and_then(Value::as_i64));
    Some(bound.unwrap_or(container_port))
}

/// The attributes ECS writes for one task in one registry.
pub fn attributes(
    store: &Store,
    state: &ClusterState,
    service: &str,
    entry: &TaskEntry,
    registry: &Registry,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let instance = entry.container_instance_id.as_deref().and_then(|id| state.container_instances.get(id));
    let address = held_address(entry).or_else(|| instance.map(|i| instance_address(&i.instance.ec2_instance_id)));
    if let Some(ip) = address {
        out.insert("AWS_INSTANCE_IPV4".to_owned(), ip.to_string());
    }
    if let Some(port) = port_of(entry, registry) {
        out.insert("AWS_INSTANCE_PORT".to_owned(), port.to_string());
    }
    let zone = entry.task.availability_zone.clone().or_else(|| instance.and_then(|i| i.availability_zone.clone()));
    if let Some(zone) = zone {
        out.insert("AVAILABILITY_ZONE".to_owned(), zone);
    }
    out.insert("REGION".to_owned(), store.arns.region.clone());
    out.insert("ECS_CLUSTER_NAME".to_owned(), state.name().to_owned());
    out.insert("ECS_SERVICE_NAME".to_owned(), service.to_owned());
    if let Some(td) = TaskDefinitionRef::parse(&entry.task.task_definition_arn) {
        out.insert("ECS_TASK_DEFINITION_FAMILY".to_owned(), td.family().to_owned());
    }
    if let Some(i) = instance {
        out.insert("EC2_INSTANCE_ID".to_owned(), i.instance.ec2_instance_id.clone());
    }
    out
}

/// Whether a task belongs in Cloud Map: RUNNING and not told to stop.
fn registered(entry: &TaskEntry) -> bool {
    entry.task.last_status == "RUNNING" && entry.task.desired_status == "RUNNING"
}

/// The instance a task should be, in one registry (health only under a
/// custom health check: UNHEALTHY when the task's health is).
fn desired_instance(
    cloud_map: &CloudMapService,
    id: String,
    attributes: BTreeMap<String, String>,
    owner: &EcsOwner,
    entry: &TaskEntry,
) -> Instance {
    let custom_health = cloud_map
        .has_custom_health()
        .then(|| if entry.task.health_status == "UNHEALTHY" { "UNHEALTHY" } else { "HEALTHY" }.to_owned());
    Instance { id, attributes, creator_request_id: None, custom_health, ecs: Some(owner.clone()) }
}

/// The changes that bring one ECS service's instances in line with its
/// tasks.
fn plan_service(
    store: &Store,
    state: &ClusterState,
    entry: &ServiceEntry,
    records: &Discovery,
    changes: &mut Vec<DiscoveryChange>,
) {
    let name = &entry.service.service_name;
    let owner = EcsOwner { cluster: state.name().to_owned(), service: name.clone() };
    let tasks: Vec<&TaskEntry> =
        state.tasks.live_of(name).iter().filter_map(|id| state.tasks.get(id)).filter(|t| registered(t)).collect();
    let registries: Vec<Registry> = entry.service.service_registries.iter().filter_map(Registry::from_value).collect();
    for registry in &registries {
        let Some(cloud_map) = records.service(&registry.registry_arn) else { continue };
        let mut wanted: BTreeMap<String, Instance> = BTreeMap::new();
        for t in &tasks {
            let id = t.id().to_owned();
            let attributes = attributes(store, state, name, t, registry);
            wanted.insert(id.clone(), desired_instance(cloud_map, id, attributes, &owner, t));
        }
        for existing in records.instances_of(&cloud_map.id).filter(|i| i.ecs.as_ref() == Some(&owner)) {
            if !wanted.contains_key(&existing.id) {
                changes.push(DiscoveryChange::DeleteInstance {
                    service_id: cloud_map.id.clone(),
                    id: existing.id.clone(),
                });
            }
        }
        for (id, instance) in wanted {
            if records.instance(&cloud_map.id, &id) != Some(&instance) {
                changes.push(DiscoveryChange::PutInstance { service_id: cloud_map.id.clone(), instance });
            }
        }
    }
    // Registries the service no longer names (an update dropped them).
    for (service_id, instances) in &records.instances {
        let named = registries.iter().any(|r| records.service(&r.registry_arn).is_some_and(|s| s.id == *service_id));
        if named {
            continue;
        }
        for i in instances.values().filter(|i| i.ecs.as_ref() == Some(&owner)) {
            changes.push(DiscoveryChange::DeleteInstance { service_id: service_id.clone(), id: i.id.clone() });
        }
    }
}

/// Brings Cloud Map in line with one cluster's service tasks. Called with
/// the cluster's lock held (the lock order: cluster, then Cloud Map).
pub fn sync(store: &Store, state: &ClusterState) {
    let cluster = state.name();
    let owns_any = |records: &Discovery| {
        records
            .instances
            .values()
            .flat_map(|m| m.values())
            .any(|i| i.ecs.as_ref().is_some_and(|o| o.cluster == cluster))
    };
    let with_registries = state.services.values().any(|e| !e.service.service_registries.is_empty());
    if !with_registries && !owns_any(&crate::emulator::state::read(&store.discovery)) {
        return;
    }
    let result = store.change_discovery(|records| {
        let mut changes = Vec::new();
        for entry in state.services.values() {
            plan_service(store, state, entry, records, &mut changes);
        }
        // Instances of services this cluster no longer has.
        for (service_id, instances) in &records.instances {
            for i in instances.values() {
                if let Some(owner) = i.ecs.as_ref().filter(|o| o.cluster == cluster)
                    && !state.services.contains_key(&owner.service)
                {
                    changes.push(DiscoveryChange::DeleteInstance { service_id: service_id.clone(), id: i.id.clone() });
                }
            }
        }
        Ok(((), changes))
    });
    if let Err(e) = result {
        tracing::warn!(error = %e, cluster = %cluster, "could not persist Cloud Map registrations");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registries_parse_from_ecs_shape() {
        let r = Registry::from_value(&json!({ "registryArn": "arn:x", "containerName": "web", "containerPort": 80 }));
        assert_eq!(
            r,
            Some(Registry {
                registry_arn: "arn:x".into(),
                port: None,
                container_name: Some("web".into()),
                container_port: Some(80)
            })
        );
        assert_eq!(Registry::from_value(&json!({ "port": 80 })), None);
    }

    #[test]
    fn container_instance_addresses_are_stable_and_private() {
        let a = instance_address("i-0123456789abcdef0");
        assert_eq!(a, instance_address("i-0123456789abcdef0"));
        assert_eq!(a.octets()[..2], [172, 31]);
        assert!(a.octets()[3] >= 1 && a.octets()[3] <= 253);
    }
}
