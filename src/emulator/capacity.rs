//! Simulated EC2 capacity (`--ec2-capacity N`): every new cluster starts
//! with N container instances, as if an Auto Scaling group had registered
//! them, so EC2 tasks and services (and DAEMON services) run out of the box.
//! Each is an `m5.large` (2 vCPU = 2048 CPU units, 7680 MiB), spread over
//! the region's zones `a`, `b` and `c` in turn.

use serde_json::json;

use super::container_instances::register_container_instance;
use super::error::EcsResult;
use super::state::Store;

pub const INSTANCE_TYPE: &str = "m5.large";
pub const CPU_UNITS: i64 = 2048;
pub const MEMORY_MIB: i64 = 7680;

/// Registers `count` simulated instances in `cluster`.
pub fn provision(store: &Store, cluster: &str, count: u32) -> EcsResult<()> {
    for i in 0..count {
        let zone = ["a", "b", "c"][i as usize % 3];
        let document = json!({
            "availabilityZone": format!("{}{zone}", store.arns.region),
            "instanceType": INSTANCE_TYPE,
            "region": store.arns.region,
        });
        let body = json!({
            "cluster": cluster,
            "instanceIdentityDocument": document.to_string(),
            "totalResources": [
                { "name": "CPU", "type": "INTEGER", "integerValue": CPU_UNITS },
                { "name": "MEMORY", "type": "INTEGER", "integerValue": MEMORY_MIB },
                { "name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"] },
                { "name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": [] },
            ],
        });
        register_container_instance(store, body.to_string().as_bytes())?;
    }
    Ok(())
}
