//! Simulated EC2 capacity (`--ec2-capacity N`): every new cluster starts
//! with N container instances, as if an Auto Scaling group had registered
//! them, so EC2 tasks and services (and DAEMON services) run out of the box.
//! Each is an `m5.large` (2 vCPU = 2048 CPU units, 7680 MiB), spread over
//! the region's zones `a`, `b` and `c` in turn.

use crate::emulator::sim::instances::{Registration, register};
use crate::emulator::state::records::Resource;
use crate::emulator::state::{Store, lock};
use crate::emulator::wire::error::EcsResult;

pub const INSTANCE_TYPE: &str = "m5.large";
pub const CPU_UNITS: i64 = 2048;
pub const MEMORY_MIB: i64 = 7680;
/// Host ports the ECS agent reserves (TCP).
const AGENT_PORTS: [&str; 5] = ["22", "2375", "2376", "51678", "51679"];

/// A resource as the agent reports it: only the member of its type.
fn resource(name: &str, integer: Option<i64>, ports: Option<Vec<String>>) -> Resource {
    let r#type = if ports.is_some() { "STRINGSET" } else { "INTEGER" };
    Resource {
        name: Some(name.into()),
        r#type: Some(r#type.into()),
        double_value: None,
        long_value: None,
        integer_value: integer,
        string_set_value: ports,
    }
}

/// What one simulated instance brings: an `m5.large` in zone `a`, `b` or
/// `c` of the region by `index`.
pub fn simulated_instance(region: &str, index: u64) -> Registration {
    let zone = ["a", "b", "c"][(index % 3) as usize];
    Registration {
        existing: None,
        availability_zone: format!("{region}{zone}"),
        instance_type: INSTANCE_TYPE.into(),
        ec2_instance_id: None,
        attributes: Vec::new(),
        resources: vec![
            resource("CPU", Some(CPU_UNITS), None),
            resource("MEMORY", Some(MEMORY_MIB), None),
            resource("PORTS", None, Some(AGENT_PORTS.map(str::to_owned).to_vec())),
            resource("PORTS_UDP", None, Some(Vec::new())),
        ],
        version_info: None,
        platform_devices: None,
        tags: Vec::new(),
    }
}

/// Registers `count` simulated instances in `cluster`.
pub fn provision(store: &Store, cluster: &str, count: u32) -> EcsResult<()> {
    let cell = store.find_cluster(Some(cluster))?;
    let mut state = lock(&cell);
    state.ensure_active()?;
    let mut changes = store.changes();
    for i in 0..count {
        register(store, &mut state, simulated_instance(&store.arns.region, u64::from(i)), &mut changes);
    }
    store.persist(changes)
}
