//! The awsvpc network of tasks: which availability zone a subnet is in,
//! which subnet and private address a new task's elastic network interface
//! (ENI) gets, and the ENI attachment ECS shows on the task.
//!
//! The emulator has no VPC to ask, so a subnet's zone follows from its id
//! and needs no setup:
//! - an id ending in `-az-<letter>` (`subnet-web-az-b`) is in zone
//!   `<region><letter>` (`us-east-1b`): a test or demo picks zones by name;
//! - any other id (`subnet-0123456789abcdef0`) is in zone `a`, `b` or `c`
//!   of the region by a stable hash (FNV-1a) of the id, the same on every
//!   run and machine.
//!
//! Each subnet has a /20 block of `10.0.0.0/16` picked by the same hash; a
//! task gets the block's next free address (from `.4`, as AWS reserves the
//! first four; round-robin, see [`crate::emulator::state::addresses::Addresses`]), unique among the tasks of
//! its cluster that are not STOPPED (the search moves on through the /16
//! when the block is full).
//!
//! Like ECS, a service's Fargate tasks are balanced over the zones of its
//! subnets: each new task goes to the zone with the fewest running tasks of
//! the same group (the service's, or the RunTask group), then to that zone's
//! subnet with the fewest, a (seeded) random pick settling ties. A task on a
//! container instance (EC2 awsvpc) takes a subnet in the instance's zone.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use serde_json::{Value, json};

pub use crate::emulator::state::addresses::ENI;
use crate::emulator::state::addresses::{block_start, eni_of, stable_hash};
use crate::emulator::state::ids::{random_index, random_u128, uuid};
use crate::emulator::state::records::{KeyValuePair, TaskAttachment, TaskEntry};

/// The zone letters ids without an `-az-<letter>` suffix are hashed onto.
const ZONES: [char; 3] = ['a', 'b', 'c'];

/// The availability zone of `subnet` in `region` (see the module doc).
pub fn availability_zone(region: &str, subnet: &str) -> String {
    let named = subnet
        .rsplit_once("-az-")
        .map(|(_, letter)| letter)
        .filter(|l| l.len() == 1 && l.bytes().all(|b| b.is_ascii_lowercase()));
    match named {
        Some(letter) => format!("{region}{letter}"),
        None => format!("{region}{}", ZONES[(stable_hash(subnet) % ZONES.len() as u64) as usize]),
    }
}

/// The subnet's CIDR block, e.g. `10.0.48.0/20`.
pub fn cidr_block(subnet: &str) -> String {
    format!("{}/20", Ipv4Addr::from(block_start(subnet)))
}

/// The private DNS name EC2 gives an address in `region`.
pub fn private_dns_name(region: &str, ip: Ipv4Addr) -> String {
    let host = format!("ip-{}", ip.to_string().replace('.', "-"));
    if region == "us-east-1" { format!("{host}.ec2.internal") } else { format!("{host}.{region}.compute.internal") }
}

/// Where a new task's ENI goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Eni {
    pub subnet_id: String,
    pub availability_zone: String,
    /// `None` only when every address of the /16 is taken in the cluster.
    pub private_ip: Option<Ipv4Addr>,
}

/// The ENI attachment of a new task (status ATTACHING: the interface exists
/// and is being attached while the task is PROVISIONING), and the
/// `networkInterfaces` entry its containers show.
pub fn attachment(region: &str, eni: &Eni) -> (TaskAttachment, Option<Value>) {
    let id = uuid();
    let bits = random_u128();
    let interface_id = format!("eni-{:017x}", bits & ((1u128 << 68) - 1));
    // A locally administered unicast MAC, as EC2's `0a:…` / `02:…` ones.
    let mac = {
        let b = (bits >> 68).to_be_bytes();
        format!("0a:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[11], b[12], b[13], b[14], b[15])
    };
    let detail = |name: &str, value: String| KeyValuePair { name: Some(name.to_owned()), value: Some(value) };
    let mut details = vec![
        detail("subnetId", eni.subnet_id.clone()),
        detail("networkInterfaceId", interface_id),
        detail("macAddress", mac),
    ];
    let mut interface = None;
    if let Some(ip) = eni.private_ip {
        details.push(detail("privateDnsName", private_dns_name(region, ip)));
        details.push(detail("privateIPv4Address", ip.to_string()));
        interface = Some(json!({ "attachmentId": id, "privateIpv4Address": ip.to_string() }));
    }
    (TaskAttachment { details, id, status: "ATTACHING".into(), kind: ENI.into() }, interface)
}

/// Where a group's running tasks are, by zone and subnet: what a launch
/// balances over. Built per launch from the tasks it is given and updated as
/// tasks are placed.
#[derive(Debug, Default)]
pub struct Spread {
    per_zone: HashMap<String, usize>,
    per_subnet: HashMap<String, usize>,
}

impl Spread {
    /// The spread of the running (desired RUNNING, not STOPPED) tasks of
    /// `group` among `tasks`.
    pub fn of<'a>(tasks: impl IntoIterator<Item = &'a TaskEntry>, group: &str) -> Self {
        let mut spread = Self::default();
        for t in tasks {
            if t.is_stopped() || t.task.group != group || t.task.desired_status != "RUNNING" {
                continue;
            }
            if let Some(zone) = &t.task.availability_zone {
                *spread.per_zone.entry(zone.clone()).or_default() += 1;
            }
            if let Some(subnet) = eni_of(t).and_then(|a| a.detail("subnetId")) {
                *spread.per_subnet.entry(subnet.to_owned()).or_default() += 1;
            }
        }
        spread
    }

    /// Picks the subnet for the next task of the group among `subnets` (in
    /// `zone` when the task is on an instance there) and counts it: the zone
    /// with the fewest tasks, then its subnet with the fewest, a random pick
    /// among equals. Returns (subnet, zone); `None` without subnets.
    pub fn place(&mut self, region: &str, subnets: &[String], zone: Option<&str>) -> Option<(String, String)> {
        let mut options = options(region, subnets);
        if let Some(zone) = zone
            && options.iter().any(|(_, z)| z == zone)
        {
            options.retain(|(_, z)| z == zone);
        }
        let load = |(s, z): &(String, String)| {
            (self.per_zone.get(z).copied().unwrap_or(0), self.per_subnet.get(s).copied().unwrap_or(0))
        };
        let best = options.iter().map(load).min()?;
        let fewest: Vec<&(String, String)> = options.iter().filter(|o| load(o) == best).collect();
        let (subnet, zone) = fewest[random_index() % fewest.len()].clone();
        *self.per_zone.entry(zone.clone()).or_default() += 1;
        *self.per_subnet.entry(subnet.clone()).or_default() += 1;
        Some((subnet, zone))
    }
}

/// The distinct subnets with their zones, sorted (so a seeded random pick
/// does not depend on the request's order).
fn options(region: &str, subnets: &[String]) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> =
        subnets.iter().map(|s| (s.clone(), availability_zone(region, s))).collect();
    options.sort();
    options.dedup();
    options
}

/// Whether placing a task in `subnets` is a choice at all (more than one
/// subnet): a launch only needs the group's [`Spread`] then.
pub fn is_choice(subnets: &[String]) -> bool {
    subnets.iter().any(|s| s != &subnets[0])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn zones_come_from_the_id() {
        assert_eq!(availability_zone("us-east-1", "subnet-web-az-b"), "us-east-1b");
        assert_eq!(availability_zone("eu-west-1", "subnet-1-az-f"), "eu-west-1f");
        // Not a one-letter suffix: hashed.
        let zone = availability_zone("us-east-1", "subnet-az-bb");
        assert!(["us-east-1a", "us-east-1b", "us-east-1c"].contains(&zone.as_str()), "{zone}");
        // Stable: the same id is always in the same zone, and ids spread.
        let zones: HashSet<String> =
            (0..30).map(|i| availability_zone("us-east-1", &format!("subnet-{i:017x}"))).collect();
        assert_eq!(zones.len(), 3, "{zones:?}");
        assert_eq!(
            availability_zone("us-east-1", "subnet-0123456789abcdef0"),
            availability_zone("us-east-1", "subnet-0123456789abcdef0")
        );
        // Pinned, so a change of hash is a visible change of behaviour.
        assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn dns_names_follow_ec2() {
        let ip = Ipv4Addr::new(10, 0, 1, 23);
        assert_eq!(private_dns_name("us-east-1", ip), "ip-10-0-1-23.ec2.internal");
        assert_eq!(private_dns_name("eu-west-1", ip), "ip-10-0-1-23.eu-west-1.compute.internal");
    }

    fn subnets(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tasks_balance_over_zones_then_subnets() {
        let mut spread = Spread::default();
        let subnets = subnets(&["subnet-1-az-a", "subnet-2-az-a", "subnet-3-az-b"]);
        let placed: Vec<(String, String)> = (0..8).map(|_| spread.place("r-", &subnets, None).unwrap()).collect();
        let count = |f: &dyn Fn(&(String, String)) -> bool| placed.iter().filter(|p| f(p)).count();
        assert_eq!(count(&|(_, z)| z == "r-a"), 4);
        assert_eq!(count(&|(_, z)| z == "r-b"), 4);
        assert_eq!(count(&|(s, _)| s == "subnet-1-az-a"), 2);
        assert_eq!(count(&|(s, _)| s == "subnet-2-az-a"), 2);
        assert!(is_choice(&subnets));
        assert!(!is_choice(&subnets[..1]));
        assert!(!is_choice(&[]));
    }

    #[test]
    fn a_task_on_an_instance_takes_a_subnet_in_its_zone() {
        let mut spread = Spread::default();
        let subnets = subnets(&["subnet-1-az-a", "subnet-3-az-b"]);
        for _ in 0..3 {
            assert_eq!(spread.place("r-", &subnets, Some("r-b")).unwrap().0, "subnet-3-az-b");
        }
        // A zone none of the subnets is in: any subnet.
        assert!(spread.place("r-", &subnets, Some("r-z")).is_some());
        assert_eq!(spread.place("r-", &[], None), None);
    }

    #[test]
    fn attachments_carry_every_detail() {
        let eni = Eni {
            subnet_id: "subnet-1-az-a".into(),
            availability_zone: "us-east-1a".into(),
            private_ip: Some(Ipv4Addr::new(10, 0, 0, 4)),
        };
        let (a, interface) = attachment("us-east-1", &eni);
        assert_eq!(a.kind, ENI);
        assert_eq!(a.status, "ATTACHING");
        assert_eq!(a.detail("subnetId"), Some("subnet-1-az-a"));
        assert_eq!(a.detail("privateIPv4Address"), Some("10.0.0.4"));
        assert_eq!(a.detail("privateDnsName"), Some("ip-10-0-0-4.ec2.internal"));
        assert!(a.detail("networkInterfaceId").unwrap().len() == "eni-".len() + 17);
        let mac = a.detail("macAddress").unwrap();
        assert_eq!(mac.len(), 17);
        assert!(mac.starts_with("0a:"));
        let interface = interface.unwrap();
        assert_eq!(interface["attachmentId"], a.id.as_str());
        assert_eq!(interface["privateIpv4Address"], "10.0.0.4");
    }
}
