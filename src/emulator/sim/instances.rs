//! Container instances joining a cluster: what RegisterContainerInstance and
//! the simulated EC2 capacity ([`crate::emulator::sim::capacity`]) share. A
//! new instance gets ECS's built-in attributes (zone, instance type, OS,
//! architecture), and DAEMON services start a task on it at once.

use serde_json::{Value, json};

use crate::emulator::sim::deployments::reconcile_all;
use crate::emulator::state::ids::{ec2_instance_id, hex32};
use crate::emulator::state::records::*;
use crate::emulator::state::{Change, Changes, ClusterState, Store};

/// What an instance brings when it registers.
pub struct Registration {
    /// The id of an instance of the cluster that registers again (the
    /// agent's re-registration): same instance, new resources.
    pub existing: Option<String>,
    pub availability_zone: String,
    pub instance_type: String,
    /// The EC2 instance id, when its identity document names one.
    pub ec2_instance_id: Option<String>,
    /// Custom attributes; one with a built-in attribute's name replaces it.
    pub attributes: Vec<Attribute>,
    pub resources: Vec<Resource>,
    pub version_info: Option<Value>,
    pub platform_devices: Option<Value>,
    pub tags: Vec<Tag>,
}

fn attribute(name: &str, value: String) -> Attribute {
    Attribute { name: name.into(), value: Some(value), target_type: None, target_id: None }
}

/// Registers an instance in `state` (whose status the caller checked) and
/// lets every service react; returns the instance's id.
pub fn register(store: &Store, state: &mut ClusterState, registration: Registration, changes: &mut Changes) -> String {
    let Registration { existing, availability_zone, instance_type, resources, version_info, tags, .. } = registration;
    let mut attributes = vec![
        attribute("ecs.availability-zone", availability_zone.clone()),
        attribute("ecs.instance-type", instance_type),
        attribute("ecs.os-type", "linux".into()),
        attribute("ecs.cpu-architecture", "x86_64".into()),
    ];
    for given in registration.attributes {
        attributes.retain(|a| a.name != given.name);
        attributes.push(Attribute { target_type: None, target_id: None, ..given });
    }
    let cluster = state.name().to_owned();
    let now = store.now();
    let entry = match existing.as_deref().and_then(|id| state.container_instances.get(id)) {
        Some(current) => {
            let mut entry = current.clone();
            entry.instance.registered_resources = resources;
            entry.instance.attributes = attributes;
            entry.instance.version += 1;
            entry.instance.status = "ACTIVE".into();
            entry.instance.agent_connected = true;
            if version_info.is_some() {
                entry.instance.version_info = version_info;
            }
            entry
        }
        None => {
            let id = hex32();
            ContainerInstanceEntry {
                instance: ContainerInstance {
                    container_instance_arn: store.arns.container_instance(&cluster, &id),
                    ec2_instance_id: registration.ec2_instance_id.unwrap_or_else(ec2_instance_id),
                    capacity_provider_name: None,
                    version: 1,
                    version_info: Some(version_info.unwrap_or_else(|| {
                        json!({ "agentVersion": "1.90.0", "agentHash": "emulator", "dockerVersion": "DockerVersion: 25.0.0" })
                    })),
                    remaining_resources: Vec::new(),
                    registered_resources: resources,
                    status: "ACTIVE".into(),
                    status_reason: None,
                    agent_connected: true,
                    running_tasks_count: 0,
                    pending_tasks_count: 0,
                    attributes,
                    registered_at: now,
                    attachments: Vec::new(),
                    tags,
                    platform_devices: registration.platform_devices,
                },
                availability_zone: Some(availability_zone),
            }
        }
    };
    let id = entry.id().to_owned();
    state.container_instances.insert(id.clone(), entry.clone());
    changes.push(|| Change::PutContainerInstance { cluster: cluster.clone(), entry });
    // DAEMON services start a task on every new instance.
    reconcile_all(store, state, changes);
    id
}
